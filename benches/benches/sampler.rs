//! Recording cost with an `AdaptiveSampler` on and off.
//!
//! Bench IDs are `group/function`:
//!
//! - `histogram_record/*`, `summary_record/*`: `unsampled` is the metric's own `record`;
//!   `sampled_1_in_10` and `sampled_1_in_100` go through a fixed sampler (the decision for every
//!   record, a weighted record for one in N); `sampled_target_1k_per_sec` through an adaptive
//!   sampler reading the clock once per 1024 records (under this load it settles at its cap,
//!   N = 65 536, so it measures the decision plus the adaptation check);
//! - `sampler/*`: the decision alone (`sample`), beside `floor_atomic_fetch_add`, the one
//!   relaxed atomic add it is built on;
//! - `histogram_record_contended_2/*`: two threads on one histogram, unsampled, 1 in 10, and
//!   through `record_timed` (what timers use: a stripe per thread).
//!
//! Values come from a precomputed 64 Ki sequence read through a rotating, masked index
//! (`seq[i & MASK]`), spread uniformly over the 12 default buckets (the same sequence as
//! `histogram/record` in `record.rs`), so that neither a constant input nor the generator is
//! measured.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use benches::{rotating, value_sequence, BOUNDS, VALUE_MASK};
use criterion::{criterion_group, criterion_main, Criterion};
use metrics_runtime::sampling::AdaptiveSampler;
use metrics_runtime::{Histogram, Summary, DEFAULT_BUCKETS};

static HIST_UNSAMPLED: Histogram = Histogram::new();
static HIST_10: Histogram = Histogram::new();
static HIST_100: Histogram = Histogram::new();
static HIST_TARGET: Histogram = Histogram::new();
static SUMMARY_UNSAMPLED: Summary = Summary::new();
static SUMMARY_10: Summary = Summary::new();
static SUMMARY_100: Summary = Summary::new();
static SUMMARY_TARGET: Summary = Summary::new();

/// One sampler per sampled metric, as the sampler docs advise.
static HIST_SAMPLER_10: AdaptiveSampler = AdaptiveSampler::fixed(10);
static HIST_SAMPLER_100: AdaptiveSampler = AdaptiveSampler::fixed(100);
static HIST_SAMPLER_TARGET: AdaptiveSampler = AdaptiveSampler::target_per_sec(1_000);
static SUMMARY_SAMPLER_10: AdaptiveSampler = AdaptiveSampler::fixed(10);
static SUMMARY_SAMPLER_100: AdaptiveSampler = AdaptiveSampler::fixed(100);
static SUMMARY_SAMPLER_TARGET: AdaptiveSampler = AdaptiveSampler::target_per_sec(1_000);
static DECIDE_10: AdaptiveSampler = AdaptiveSampler::fixed(10);
static FLOOR: AtomicU64 = AtomicU64::new(0);
static CONTENDED: Histogram = Histogram::new();
static CONTENDED_10: Histogram = Histogram::new();
static CONTENDED_TIMED: Histogram = Histogram::new();
static CONTENDED_SAMPLER_10: AdaptiveSampler = AdaptiveSampler::fixed(10);

/// `group/unsampled` through the metric's own `record`, then each sampler on its own metric.
fn bench_group<M: metrics_runtime::sampling::RecordWeighted + Sync>(
    c: &mut Criterion,
    group: &str,
    unsampled: impl Fn(f64),
    sampled: [(&str, &'static AdaptiveSampler, &'static M); 3],
) {
    assert_eq!(BOUNDS, DEFAULT_BUCKETS, "the values must spread over the histograms' buckets");
    let values = value_sequence();
    let mut g = c.benchmark_group(group);
    g.bench_function("unsampled", |b| {
        rotating(b, &values, |&v| {
            unsampled(v);
        })
    });
    for (name, sampler, metric) in sampled {
        g.bench_function(name, |b| {
            rotating(b, &values, |&v| {
                black_box(sampler).record(black_box(metric), v);
            })
        });
    }
    g.finish();
}

fn histogram(c: &mut Criterion) {
    bench_group(
        c,
        "histogram_record",
        |v| black_box(&HIST_UNSAMPLED).record(v),
        [
            ("sampled_1_in_10", &HIST_SAMPLER_10, &HIST_10),
            ("sampled_1_in_100", &HIST_SAMPLER_100, &HIST_100),
            ("sampled_target_1k_per_sec", &HIST_SAMPLER_TARGET, &HIST_TARGET),
        ],
    );
}

fn summary(c: &mut Criterion) {
    bench_group(
        c,
        "summary_record",
        |v| black_box(&SUMMARY_UNSAMPLED).record(v),
        [
            ("sampled_1_in_10", &SUMMARY_SAMPLER_10, &SUMMARY_10),
            ("sampled_1_in_100", &SUMMARY_SAMPLER_100, &SUMMARY_100),
            ("sampled_target_1k_per_sec", &SUMMARY_SAMPLER_TARGET, &SUMMARY_TARGET),
        ],
    );
}

/// The decision alone, beside the atomic add it is built on.
fn decision(c: &mut Criterion) {
    let mut g = c.benchmark_group("sampler");
    g.bench_function("floor_atomic_fetch_add", |b| b.iter(|| black_box(&FLOOR).fetch_add(1, Relaxed)));
    // The weight escapes only for kept records, as in real use: a `black_box` on every result
    // would store it each time and serialize the next atomic add behind the whole decision.
    g.bench_function("sample_1_in_10", |b| {
        b.iter(|| {
            if let Some(weight) = black_box(&DECIDE_10).sample() {
                black_box(weight);
            }
        })
    });
    g.finish();
}

/// Two threads recording into one histogram: the unsampled histogram bounces its bucket and
/// sum lines between cores; the sampled one bounces the sampler's counter line on every
/// record and the histogram's lines on one record in ten. Each thread does `iters` records;
/// the time returned is the slower thread's, from a shared barrier (as `counter/inc/contended_2`
/// in `record.rs`), so the result is the time per record per thread.
fn contended(c: &mut Criterion) {
    assert_eq!(BOUNDS, DEFAULT_BUCKETS, "the values must spread over the histograms' buckets");
    let values = value_sequence();
    let mut g = c.benchmark_group("histogram_record_contended_2");
    let run = |iters: u64, record: &(dyn Fn(f64) + Sync)| {
        let start = Barrier::new(2);
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..2)
                .map(|t| {
                    let (start, values) = (&start, &values);
                    s.spawn(move || {
                        start.wait();
                        let t0 = Instant::now();
                        for i in 0..iters as usize {
                            record(values[(i + t * 4096) & VALUE_MASK]);
                        }
                        t0.elapsed()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().expect("bench thread panicked")).max().unwrap_or(Duration::ZERO)
        })
    };
    g.bench_function("unsampled", |b| b.iter_custom(|iters| run(iters, &|v| black_box(&CONTENDED).record(v))));
    g.bench_function("sampled_1_in_10", |b| {
        b.iter_custom(|iters| run(iters, &|v| black_box(&CONTENDED_SAMPLER_10).record(black_box(&CONTENDED_10), v)))
    });
    // What timers record through: each thread into its own stripe of the series.
    g.bench_function("timed_record", |b| {
        b.iter_custom(|iters| run(iters, &|v| black_box(&CONTENDED_TIMED).with(()).record_timed(v)))
    });
    g.finish();
}

criterion_group!(benches, histogram, summary, decision, contended);
criterion_main!(benches);
