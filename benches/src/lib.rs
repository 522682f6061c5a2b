//! Benches live in `benches/benches/`; this library holds the inputs they share, so that every
//! library under test (ours, the raw-atomic floors and the peers) sees the same sequences.
//!
//! Inputs that vary (tag combinations, recorded values) are precomputed outside the timed loop
//! and read through a rotating, masked index (`seq[i & MASK]`), so that neither branch
//! prediction on a constant input nor the generator itself is measured.

/// Length of a tag sequence. Some lookups branch on the tags (`prometheus-static-metric`'s
/// `match` compiles to a jump table), and a modern branch predictor learns a 1024-long sequence
/// almost completely, which makes such a lookup look branch-free. 64 Ki pseudo-random tags keep
/// it honest, as for [`VALUE_SEQ_LEN`]; the sequence is read in order, so prefetching keeps the
/// read itself cheap for every library.
pub const TAG_SEQ_LEN: usize = 1 << 16;

/// Length of a value sequence. A bucket search branches on the value, and a modern branch
/// predictor learns a 1024-long sequence almost completely (the search then looks free); 64 Ki
/// uniformly spread values keep it honest: about one misprediction per record, as for truly
/// random values. Real latencies are usually more predictable than that: this is a worst case.
pub const VALUE_SEQ_LEN: usize = 1 << 16;

/// Wraps an index into the value sequence, for loops that [`rotating`] does not run (several
/// threads, or custom timing). Masking at the read (`seq[i & MASK]`) lets the compiler drop the
/// bounds check on the sequence.
pub const VALUE_MASK: usize = VALUE_SEQ_LEN - 1;

/// The 11 Prometheus default bucket bounds (the Go client's `DefBuckets`), for hand-written
/// bucket searches and for configuring the peers.
pub const BOUNDS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Times `f` on the elements of `seq` in turn, wrapping around: the loop of every bench whose
/// input varies, so that each library and each floor reads its inputs the same way
/// (`seq[i & (N - 1)]`, the index kept across criterion's iterations, the read included in the
/// time).
#[inline(always)]
pub fn rotating<T, R, const N: usize>(b: &mut criterion::Bencher<'_>, seq: &[T; N], mut f: impl FnMut(&T) -> R) {
    const { assert!(N.is_power_of_two(), "the mask needs a power-of-two length") };
    let mut i = 0usize;
    b.iter(|| {
        let v = &seq[i & (N - 1)];
        i = i.wrapping_add(1);
        f(v)
    });
}

/// A deterministic xorshift64 generator: same inputs on every run, no dependency.
#[derive(Debug, Clone)]
pub struct XorShift(pub u64);

impl XorShift {
    /// The next pseudo-random 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A pseudo-random value in `0..n`.
    pub fn below(&mut self, n: u64) -> usize {
        // `n` is tiny, so the modulo bias is negligible for a benchmark input.
        (self.next_u64() % n) as usize
    }

    /// A pseudo-random value in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A boxed fixed-size array built on the heap (the value sequence is too big for the stack).
pub fn boxed<T, const N: usize>(f: impl FnMut(usize) -> T) -> Box<[T; N]> {
    let v: Vec<T> = (0..N).map(f).collect();
    match v.into_boxed_slice().try_into() {
        Ok(array) => array,
        Err(_) => unreachable!("the iterator yields exactly N items"),
    }
}

/// Pseudo-random series indices in `0..cardinality`, uniform: the tag sequence of the tagged
/// benches, which each library maps to its own label type.
pub fn index_sequence(cardinality: usize) -> Box<[usize; TAG_SEQ_LEN]> {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    boxed(|_| rng.below(cardinality as u64))
}

/// Pseudo-random values spread uniformly over the 12 buckets of [`BOUNDS`] (`+Inf` included):
/// a bucket is drawn first, then a value inside it, so every bucket gets about 1/12 of them.
pub fn value_sequence() -> Box<[f64; VALUE_SEQ_LEN]> {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    boxed(|_| {
        let bucket = rng.below(BOUNDS.len() as u64 + 1);
        let lower = if bucket == 0 { 0.0 } else { BOUNDS[bucket - 1] };
        let upper = BOUNDS.get(bucket).copied().unwrap_or(2.0 * BOUNDS[10]);
        // In (lower, upper]: exactly the values this bucket holds.
        upper - (upper - lower) * rng.unit()
    })
}

/// `n` counter values of varied magnitude (1 to 12 digits), the same for every library that
/// renders them.
pub fn counter_values(n: usize) -> Vec<u64> {
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    (0..n)
        .map(|_| {
            let digits = 1 + rng.below(12) as u32;
            rng.next_u64() % 10u64.pow(digits)
        })
        .collect()
}

/// `THREADS` worker threads live for the whole bench function, so that they are already
/// spread over the cores when a sample starts (threads spawned per sample began on their
/// parent's core and made the numbers swing). For each sample each does `iters` increments
/// from a shared start; the time returned is the longest of their own elapsed times.
/// Criterion divides it by `iters`: the wall-clock time of one increment per thread; the
/// combined throughput is `THREADS` increments per that time. One thread in the same harness
/// gives the single-thread throughput to compare with.
pub fn threads<const THREADS: usize>(b: &mut criterion::Bencher<'_>, inc: impl Fn() + Sync) {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::sync::Barrier;
    use std::time::{Duration, Instant};

    let start = Barrier::new(THREADS + 1);
    let done = Barrier::new(THREADS + 1);
    let iters = AtomicU64::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let elapsed: [AtomicU64; THREADS] = [const { AtomicU64::new(0) }; THREADS];
    std::thread::scope(|s| {
        for e in &elapsed {
            let (start, done, iters, stop, inc) = (&start, &done, &iters, &stop, &inc);
            s.spawn(move || loop {
                start.wait();
                if stop.load(Relaxed) {
                    break;
                }
                let n = iters.load(Relaxed);
                let t0 = Instant::now();
                for _ in 0..n {
                    inc();
                }
                e.store(u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX), Relaxed);
                done.wait();
            });
        }
        b.iter_custom(|n| {
            iters.store(n, Relaxed);
            start.wait();
            done.wait();
            Duration::from_nanos(elapsed.iter().map(|e| e.load(Relaxed)).max().unwrap_or(0))
        });
        stop.store(true, Relaxed);
        start.wait();
    });
}

/// Two loops timed in alternating slices (see [`paired`]).
#[derive(Debug, Clone, Copy)]
pub struct Paired {
    /// The pairs' ratios (first ÷ second): lower quartile, median, upper quartile.
    pub ratio: [f64; 3],
    /// The median slice of the first loop, ns.
    pub first: f64,
    /// The median slice of the second loop, ns.
    pub second: f64,
}

/// Times `first` and `second` (each runs one slice and returns its ns) in turn, `pairs` pairs
/// after 4 of warm-up, the order swapped every pair. This machine's speed drifts by up to 2x
/// over minutes, more than the gaps the benches measure; a pair's two slices are milliseconds
/// apart, so the drift cancels out of its ratio.
pub fn paired(pairs: usize, mut first: impl FnMut() -> f64, mut second: impl FnMut() -> f64) -> Paired {
    let mut runs = Vec::with_capacity(pairs);
    for i in 0..pairs + 4 {
        let (a, b) = if i % 2 == 0 {
            let a = first();
            (a, second())
        } else {
            let b = second();
            (first(), b)
        };
        if i >= 4 {
            runs.push((a / b, a, b));
        }
    }
    // Quartile `q` (1 to 3) of one column.
    let quartile = |column: fn(&(f64, f64, f64)) -> f64, q: usize| {
        let mut v: Vec<f64> = runs.iter().map(column).collect();
        v.sort_by(f64::total_cmp);
        v[q * (v.len() - 1) / 4]
    };
    Paired { ratio: [1, 2, 3].map(|q| quartile(|r| r.0, q)), first: quartile(|r| r.1, 2), second: quartile(|r| r.2, 2) }
}
