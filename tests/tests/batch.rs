//! `MetricBatch`: coalesced updates are exact once applied, invisible before, bounded in what a
//! read can miss, and exact under concurrent batches on the same series.

use std::sync::atomic::{AtomicBool, Ordering};

use metrics_runtime::{Counter, Gauge, Histogram, MetricBatch, Metrics, Outcome};

#[derive(Metrics)]
struct Work {
    /// Jobs done, by outcome.
    jobs_total: Counter<Outcome>,
    /// Jobs waiting.
    queued: Gauge,
    /// Job time.
    #[metric(unit = "seconds", buckets = [0.1, 1.0])]
    job_seconds: Histogram,
}

#[test]
fn updates_apply_exactly_and_only_when_applied() {
    static WORK: Work = Work::new();
    let mut batch = MetricBatch::new();
    for i in 0..10 {
        batch.inc(WORK.jobs_total.with(Outcome::Ok));
        if i % 5 == 0 {
            batch.add(WORK.jobs_total.with(Outcome::Error), 2);
        }
        batch.gauge_add(WORK.queued.with(()), 1.0);
        batch.record(WORK.job_seconds.with(()), 0.05 * f64::from(i));
    }
    batch.record(WORK.job_seconds.with(()), f64::NAN); // invalid: counted at once
    assert_eq!(batch.pending(), 10 * 3 + 2);
    assert_eq!(WORK.jobs_total.total(), 0);
    assert_eq!(WORK.queued.get(), 0.0);
    assert_eq!(WORK.job_seconds.count(), 0);
    assert_eq!(WORK.job_seconds.invalid(), 1);

    batch.apply();
    assert_eq!(batch.pending(), 0);
    assert_eq!(WORK.jobs_total.with(Outcome::Ok).get(), 10);
    assert_eq!(WORK.jobs_total.with(Outcome::Error).get(), 4);
    assert_eq!(WORK.queued.get(), 10.0);
    assert_eq!(WORK.job_seconds.count(), 10);
    let counts: Vec<u64> = WORK.job_seconds.series()[0].bucket_counts(WORK.job_seconds.bounds()).collect();
    assert_eq!(counts, [3, 7, 0]); // 0.0, 0.05 and 0.1 at or below 0.1; 0.15 .. 0.45 below 1.0
    assert!((WORK.job_seconds.sum() - 2.25).abs() < 1e-9);

    // A set wins over what came before it; adds after it add to it.
    batch.gauge_add(WORK.queued.with(()), 5.0);
    batch.set(WORK.queued.with(()), 3.0);
    batch.gauge_add(WORK.queued.with(()), -1.0);
    batch.apply();
    assert_eq!(WORK.queued.get(), 2.0);
    // Applying an empty batch changes nothing.
    batch.apply();
    assert_eq!(WORK.queued.get(), 2.0);
}

#[test]
fn a_negative_record_marks_the_histogram_as_it_would_directly() {
    static WORK: Work = Work::new();
    let mut batch = MetricBatch::new();
    batch.record(WORK.job_seconds.with(()), -0.5);
    drop(batch);
    assert_eq!(WORK.job_seconds.count(), 1);
    // OpenMetrics leaves out the `_sum` of a histogram that saw a negative value.
    let text = {
        let mut out = String::new();
        WORK.write_openmetrics(&mut out);
        out
    };
    assert!(!text.contains("job_seconds_sum"), "{text}");
}

#[test]
fn a_read_misses_fewer_than_max_updates_per_batch() {
    static WORK: Work = Work::new();
    let mut batch = MetricBatch::with_max_updates(16);
    for n in 1..=1000u64 {
        batch.inc(WORK.jobs_total.with(Outcome::Ok));
        let seen = WORK.jobs_total.with(Outcome::Ok).get();
        assert!(seen <= n && n - seen < 16, "after {n} updates a read sees {seen}");
    }
    drop(batch);
    assert_eq!(WORK.jobs_total.with(Outcome::Ok).get(), 1000);
}

#[test]
fn concurrent_batches_on_the_same_series_are_exact() {
    static WORK: Work = Work::new();
    const THREADS: u64 = 4;
    const UNITS: u64 = 50_000;
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        // A reader all along: totals never go down.
        let reader = s.spawn(|| {
            let mut last = 0;
            while !stop.load(Ordering::Relaxed) {
                let now = WORK.jobs_total.with(Outcome::Ok).get();
                assert!(now >= last);
                last = now;
            }
        });
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    let mut batch = MetricBatch::with_max_updates(64 + t as usize);
                    for i in 0..UNITS {
                        batch.inc(WORK.jobs_total.with(Outcome::Ok));
                        batch.gauge_add(WORK.queued.with(()), 1.0);
                        batch.record(WORK.job_seconds.with(()), if i % 2 == 0 { 0.05 } else { 5.0 });
                        if i % 100 == 99 {
                            batch.apply();
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        reader.join().unwrap();
    });
    assert_eq!(WORK.jobs_total.with(Outcome::Ok).get(), THREADS * UNITS);
    assert_eq!(WORK.queued.get(), (THREADS * UNITS) as f64);
    let counts: Vec<u64> = WORK.job_seconds.series()[0].bucket_counts(WORK.job_seconds.bounds()).collect();
    assert_eq!(counts, [THREADS * UNITS / 2, 0, THREADS * UNITS / 2]);
    assert!((WORK.job_seconds.sum() - (THREADS * UNITS / 2) as f64 * 5.05).abs() < 1e-3);
}
