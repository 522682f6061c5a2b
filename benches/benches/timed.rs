//! `#[timed]` overhead: empty sync and async fns with and without the attribute, beside manual
//! `Instant` timing into the same histogram, and into a target that records nothing (the
//! timer's own cost); the clocks it could use, read once and twice; and a histogram's plain
//! record beside a timer's, with durations in one bucket and spread over nine.
//!
//! Printed first: the timed calls against the two clock reads in alternating slices (100,000
//! calls of one, then as many of the other, the order swapped every pair; 201 pairs; the
//! median and quartiles of the pairs' ratios). This machine's speed drifts by up to 2x over
//! minutes, more than the gap measured; a pair's slices are milliseconds apart, so the drift
//! cancels out of its ratio. Beside them, the same fns with nothing of a timer but the two
//! reads (for the async fn, its start held across the `.await`, and polled out of line as the
//! timed fn's poll is): the floor of any timer of each.
//!
//! `cargo bench -p benches --bench timed` (`TIMED_BENCH_ONLY=paired` prints only the paired
//! table).

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use benches::paired;
use criterion::{criterion_group, Criterion};
use metrics_runtime::{timed, Histogram, Outcome, RecordDuration};

static PLAIN_H: Histogram = Histogram::new();
static TIMED_H: Histogram = Histogram::new();
static MANUAL_H: Histogram = Histogram::new();

/// The empty sync fn, untimed.
#[inline(never)]
fn sync_plain(x: u64) -> u64 {
    black_box(x)
}

/// The same fn under `#[timed]`.
#[timed(TIMED_H)]
#[inline(never)]
fn sync_timed(x: u64) -> u64 {
    black_box(x)
}

/// A target that records nothing: what the timer costs by itself.
struct Nothing;

impl RecordDuration for Nothing {
    #[inline(always)]
    fn record_seconds(&self, seconds: f64, _: Outcome) {
        black_box(seconds);
    }
}

static NOTHING: Nothing = Nothing;

/// The empty sync fn under `#[timed]`, into a target that records nothing.
#[timed(NOTHING)]
#[inline(never)]
fn sync_timed_nothing(x: u64) -> u64 {
    black_box(x)
}

/// The empty async fn, untimed.
#[inline(never)]
async fn async_plain(x: u64) -> u64 {
    black_box(x)
}

/// The same async fn under `#[timed]`.
#[timed(TIMED_H)]
#[inline(never)]
async fn async_timed(x: u64) -> u64 {
    black_box(x)
}

/// The async fn with nothing of a timer but its two raw clock reads, the start held across the
/// body's `.await` as `#[timed]` holds it: what any timer of an async fn costs at least.
#[inline(never)]
async fn async_reads_only(x: u64, clock: &quanta::Clock) -> u64 {
    let start = clock.raw();
    let v = async move { black_box(x) }.await;
    black_box(clock.raw().wrapping_sub(start));
    v
}

/// The same for the sync fn.
#[inline(never)]
fn sync_reads_only(x: u64, clock: &quanta::Clock) -> u64 {
    let start = clock.raw();
    let v = black_box(x);
    black_box(clock.raw().wrapping_sub(start));
    v
}

/// A waker that does nothing: the futures here complete on their first poll.
struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// [`now_or_never`] in a call of its own.
#[inline(never)]
fn now_or_never_out_of_line<F: Future>(cx: &mut Context<'_>, f: F) -> F::Output {
    now_or_never(cx, f)
}

/// Polls a future that completes at once, with no runtime in the way.
#[inline(always)]
fn now_or_never<F: Future>(cx: &mut Context<'_>, f: F) -> F::Output {
    match pin!(f).poll(cx) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the benched futures never wait"),
    }
}

fn bench(c: &mut Criterion) {
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);

    let mut g = c.benchmark_group("timed/sync_empty");
    g.bench_function("plain", |b| b.iter(|| sync_plain(black_box(1))));
    g.bench_function("timed", |b| b.iter(|| sync_timed(black_box(1))));
    g.bench_function("timed_into_nothing", |b| b.iter(|| sync_timed_nothing(black_box(1))));
    g.bench_function("manual_instant", |b| {
        b.iter(|| {
            let start = Instant::now();
            let v = sync_plain(black_box(1));
            MANUAL_H.record(start.elapsed().as_secs_f64());
            v
        })
    });
    g.finish();

    let mut g = c.benchmark_group("timed/async_empty");
    g.bench_function("plain", |b| b.iter(|| now_or_never(&mut cx, async_plain(black_box(1)))));
    g.bench_function("timed", |b| b.iter(|| now_or_never(&mut cx, async_timed(black_box(1)))));
    g.bench_function("manual_instant", |b| {
        b.iter(|| {
            let start = Instant::now();
            let v = now_or_never(&mut cx, async_plain(black_box(1)));
            MANUAL_H.record(start.elapsed().as_secs_f64());
            v
        })
    });
    g.finish();

    let mut g = c.benchmark_group("clock");
    g.bench_function("instant_now", |b| b.iter(Instant::now));
    g.bench_function("instant_elapsed", |b| {
        let start = Instant::now();
        b.iter(|| start.elapsed())
    });
    let clock = quanta::Clock::new();
    g.bench_function("quanta_now", |b| b.iter(|| clock.now()));
    g.bench_function("quanta_raw", |b| b.iter(|| clock.raw()));
    g.bench_function("quanta_raw_twice", |b| b.iter(|| two_reads(&clock)));
    // What `Timer` uses: the global, lazily calibrated clock.
    g.bench_function("quanta_instant_now", |b| b.iter(quanta::Instant::now));
    g.finish();

    // The record a timer makes (a scan of the bounds from the lowest, into the thread's
    // stripe) beside the plain record (a branch-free count, a compare-and-swap of shared
    // cells): durations all in the lowest bucket, and spread log-uniformly over 1 ms-1 s
    // (nine of the default buckets), so that the scan's last branch mispredicts.
    let spread = spread_durations();
    let mut g = c.benchmark_group("timed/histogram_record");
    let h = RECORD_H.with(());
    for (name, timed) in [("record", false), ("record_timed", true)] {
        g.bench_function(format!("{name}/one_bucket"), |b| {
            b.iter(|| if timed { h.record_timed(black_box(0.000_1)) } else { h.record(black_box(0.000_1)) })
        });
        g.bench_function(format!("{name}/spread"), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % spread.len();
                if timed {
                    h.record_timed(black_box(spread[i]))
                } else {
                    h.record(black_box(spread[i]))
                }
            })
        });
    }
    g.finish();

    black_box((PLAIN_H.count(), TIMED_H.count(), MANUAL_H.count(), RECORD_H.count()));
}

static RECORD_H: Histogram = Histogram::new();

/// 1,024 durations log-uniform over 1 ms-1 s, in a fixed pseudo-random order.
fn spread_durations() -> Vec<f64> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    (0..1024)
        .map(|_| {
            // xorshift64: uniform in [0, 1), then 10^(-3 + 3u).
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            10f64.powf(-3.0 + 3.0 * u)
        })
        .collect()
}

/// What a timed call reads: two raw readings and their difference.
#[inline(always)]
fn two_reads(clock: &quanta::Clock) -> u64 {
    let start = clock.raw();
    clock.raw().wrapping_sub(start)
}

/// Calls a slice times.
const SLICE: usize = 100_000;
/// Pairs of slices (odd: the median is one pair's ratio).
const PAIRS: usize = 201;

/// The time of one slice of `call`.
#[inline(always)]
fn slice<R>(mut call: impl FnMut() -> R) -> f64 {
    let t0 = Instant::now();
    for _ in 0..SLICE {
        black_box(call());
    }
    t0.elapsed().as_nanos() as f64
}

/// Each timed call against the two clock reads, in alternating slices.
fn paired_table() {
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let clock = quanta::Clock::new();
    let mut reads = || two_reads(&clock);
    println!("\n## `#[timed]` ÷ its two clock reads (`quanta_raw_twice`), in alternating slices");
    println!("({PAIRS} pairs of {SLICE}-call slices, the order swapped every pair; median and quartiles of the pairs' ratios)\n");
    println!("| call | ÷ two reads (median) | quartiles | call, ns (median) | two reads, ns (median) |");
    println!("|---|---:|---:|---:|---:|");
    macro_rules! pair {
        ($name:expr, $call:expr) => {{
            let p = paired(PAIRS, || slice($call), || slice(&mut reads));
            let [low, median, high] = p.ratio;
            let (call, two) = (p.first / SLICE as f64, p.second / SLICE as f64);
            println!("| {} | {median:.2} | {low:.2}-{high:.2} | {call:.1} | {two:.1} |", $name);
        }};
    }
    pair!("sync empty fn, `#[timed]`", || sync_timed(black_box(1)));
    pair!("async empty fn, `#[timed]`", || now_or_never(&mut cx, async_timed(black_box(1))));
    pair!("sync empty fn, `#[timed]` into nothing", || sync_timed_nothing(black_box(1)));
    pair!("sync empty fn, untimed", || sync_plain(black_box(1)));
    pair!("sync empty fn, its two reads alone", || sync_reads_only(black_box(1), &clock));
    pair!("async empty fn, its two reads alone (start held across the `.await`)", || {
        now_or_never(&mut cx, async_reads_only(black_box(1), &clock))
    });
    pair!("the same, polled out of line (as the `#[timed]` fn's poll is)", || {
        now_or_never_out_of_line(&mut cx, async_reads_only(black_box(1), &clock))
    });
    println!();
}

criterion_group!(benches, bench);

fn main() {
    paired_table();
    if std::env::var("TIMED_BENCH_ONLY").is_ok_and(|only| only == "paired") {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
