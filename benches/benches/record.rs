//! Recording cost of each metric type, beside the raw-atomic floor it is meant to approach.
//!
//! Bench IDs are `group/function[/variant]`:
//!
//! - `floor/*`: hand-written code on plain atomics, the best a metrics library can do;
//! - `counter/*`, `gauge/*`, `histogram/*`, `summary/*`: the same operation through
//!   `metrics_runtime`, to be read against the floor named in each bench's comment.
//!
//! Inputs that vary (tag combinations, recorded values) come from sequences precomputed outside
//! the timed loop and read through a rotating, masked index, so that neither branch prediction
//! on a constant input nor the generator itself is measured. The floors read their own
//! sequences the same way.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use benches::{boxed, index_sequence, rotating, value_sequence, BOUNDS, TAG_SEQ_LEN};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use metrics_runtime::{Tag, TagSet, DEFAULT_BUCKETS};
use schema::BenchMetrics;

/// HTTP method, the first tag of [`Http`]: 4 values.
#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "method", rename_all = "UPPERCASE")]
enum Method {
    Get,
    Post,
    Put,
    Delete,
}

/// Status class, the second tag of [`Http`]: 3 values.
#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    #[tag(value = "2xx")]
    Success,
    #[tag(value = "4xx")]
    ClientError,
    #[tag(value = "5xx")]
    ServerError,
}

/// The tag set of the tagged counter: 4 x 3 = 12 series.
#[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
struct Http {
    method: Method,
    status: Status,
}

/// The metrics under test, in their own module only to scope the lint allowance below.
// `#[derive(Metrics)]` emits `if let Some(_) = first_duplicate(..)` spanned on each field's
// type, which trips `clippy::redundant_pattern_matching` in user code. To be fixed in
// metrics-derive; `allow` rather than `expect`, so the fix does not break this file.
#[allow(clippy::redundant_pattern_matching)]
mod schema {
    use super::Http;
    use metrics_runtime::{Counter, Gauge, Histogram, Metrics, Summary};

    /// One metric per bench, as an application would declare them.
    #[derive(Metrics)]
    #[metrics(namespace = "bench")]
    pub(crate) struct BenchMetrics {
        /// Untagged counter for `counter/inc`.
        pub(crate) ops_total: Counter,
        /// Untagged counter shared by the threads of `counter/inc/contended_2`.
        pub(crate) contended_total: Counter,
        /// Tagged counter for `counter/inc_tagged`.
        pub(crate) requests_total: Counter<Http>,
        /// Gauge for `gauge/set`.
        pub(crate) level: Gauge,
        /// Histogram with the default buckets for `histogram/record`.
        #[metric(unit = "seconds")]
        pub(crate) latency_seconds: Histogram,
        /// Summary for `summary/record`.
        #[metric(unit = "seconds")]
        pub(crate) checkout_seconds: Summary,
    }
}

/// The instance every `metrics_runtime` bench records into.
static METRICS: BenchMetrics = BenchMetrics::new();

/// Floor for `counter/inc`: one plain atomic.
static FLOOR_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Floor for `counter/inc_tagged`: one plain atomic per tag combination.
static FLOOR_SERIES: [AtomicU64; 12] = [const { AtomicU64::new(0) }; 12];

/// Floor for `gauge/set`: one plain atomic holding `f64` bits.
static FLOOR_GAUGE: AtomicU64 = AtomicU64::new(0);

/// Floor for `histogram/record`: one plain atomic per bucket (11 bounds plus `+Inf`).
static FLOOR_BUCKETS: [AtomicU64; 12] = [const { AtomicU64::new(0) }; 12];

/// Pseudo-random tag combinations, uniform over the 12 series (the shared index sequence).
fn tag_sequence() -> Box<[Http; TAG_SEQ_LEN]> {
    let idx = index_sequence(Http::CARDINALITY);
    boxed(|i| Http::from_index(idx[i]).expect("index below cardinality"))
}

/// Floors: raw atomics with no library in between.
fn floor(c: &mut Criterion) {
    assert_eq!(BOUNDS, DEFAULT_BUCKETS, "the floor must search the same bounds");
    let tags = tag_sequence();
    // One byte per slot, so that the floor reads the least memory of all.
    let slots: Box<[u8; TAG_SEQ_LEN]> = boxed(|i| u8::try_from(tags[i].index()).expect("12 slots"));
    let values = value_sequence();
    let mut g = c.benchmark_group("floor");

    // One relaxed `fetch_add` on a static: the floor of `counter/inc`.
    g.bench_function("atomic_fetch_add", |b| {
        b.iter(|| {
            black_box(&FLOOR_COUNTER).fetch_add(1, Relaxed);
        })
    });

    // The rotating read of a precomputed slot sequence plus one `fetch_add` on a 12-slot
    // array: the floor of `counter/inc_tagged`, with the cost of reading the sequence included.
    g.bench_function("atomic_fetch_add_rotating", |b| {
        rotating(b, &slots, |&slot| {
            let slot = usize::from(slot);
            black_box(&FLOOR_SERIES)[slot].fetch_add(1, Relaxed);
        })
    });

    // One relaxed store of `f64` bits: the floor of `gauge/set`.
    g.bench_function("atomic_store", |b| {
        b.iter(|| {
            black_box(&FLOOR_GAUGE).store(black_box(1.5f64).to_bits(), Relaxed);
        })
    });

    // A hand-written linear search of the 11 default bounds plus one `fetch_add` on the
    // bucket, over the same rotating values as `histogram/record`: the floor named in the
    // issue. It does not update a sum, which `histogram/record` does.
    g.bench_function("bucket_search_add", |b| {
        rotating(b, &values, |&v| {
            let bounds = black_box(&BOUNDS);
            let mut bucket = 0;
            while bucket < bounds.len() && v > bounds[bucket] {
                bucket += 1;
            }
            black_box(&FLOOR_BUCKETS)[bucket].fetch_add(1, Relaxed);
        })
    });

    g.finish();
}

/// Counters: untagged, tagged through the lookup path, and contended.
fn counter(c: &mut Criterion) {
    let tags = tag_sequence();
    let mut g = c.benchmark_group("counter");

    // `.inc()` on an untagged counter field of a static `#[derive(Metrics)]` struct.
    g.bench_function("inc", |b| b.iter(|| black_box(&METRICS).ops_total.inc()));

    // `.with(tags).inc()` on a `Counter<Http>`, the tags rotating through a pseudo-random
    // sequence: the index arithmetic and lookup on every call, no cached handle.
    g.bench_function("inc_tagged", |b| {
        rotating(b, &tags, |&t| {
            black_box(&METRICS).requests_total.with(t).inc();
        })
    });

    // Two threads incrementing the same untagged counter (one cache line bouncing between
    // cores). Each thread does `iters` increments; the time returned is the longer of the two
    // threads' own elapsed times, measured from a shared barrier so that thread start-up is
    // excluded. Criterion divides it by `iters`, so the result is the time per increment *per
    // thread* (wall-clock latency of one increment under contention); the combined throughput
    // is two increments per that time.
    g.bench_function(BenchmarkId::new("inc", "contended_2"), |b| {
        b.iter_custom(|iters| {
            let start = Barrier::new(2);
            std::thread::scope(|s| {
                let workers: Vec<_> = (0..2)
                    .map(|_| {
                        s.spawn(|| {
                            let counter = &black_box(&METRICS).contended_total;
                            start.wait();
                            let t0 = Instant::now();
                            for _ in 0..iters {
                                black_box(counter).inc();
                            }
                            t0.elapsed()
                        })
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().expect("bench thread panicked")).max().unwrap_or(Duration::ZERO)
            })
        })
    });

    g.finish();
}

/// Gauges.
fn gauge(c: &mut Criterion) {
    let mut g = c.benchmark_group("gauge");

    // `.set(v)` on an untagged gauge; floor: `floor/atomic_store`.
    g.bench_function("set", |b| b.iter(|| black_box(&METRICS).level.set(black_box(1.5))));

    g.finish();
}

/// Histograms.
fn histogram(c: &mut Criterion) {
    let values = value_sequence();
    let mut g = c.benchmark_group("histogram");

    // `.record(v)` with the default buckets, values rotating over all 12 buckets: bucket
    // search, bucket add and the compare-and-swap on the sum. Floor: `floor/bucket_search_add`.
    g.bench_function("record", |b| {
        rotating(b, &values, |&v| {
            black_box(&METRICS).latency_seconds.record(v);
        })
    });

    g.finish();
}

/// Summaries.
fn summary(c: &mut Criterion) {
    let values = value_sequence();
    let mut g = c.benchmark_group("summary");

    // `.record(v)` with rotating values: amortised cost, including the lock-protected drain
    // into the staging buckets every 128 records and the merge of the buckets into the t-digest
    // every 32,768 values. Each sample runs millions of records, so every sample holds dozens
    // of merges.
    g.bench_function("record", |b| {
        rotating(b, &values, |&v| {
            black_box(&METRICS).checkout_seconds.record(v);
        })
    });

    g.finish();
}

criterion_group!(benches, floor, counter, gauge, histogram, summary);
criterion_main!(benches);
