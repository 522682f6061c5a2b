//! Exact totals under threads: counters on one series and across tagged series, gauges.

mod common;

use common::{all_http, Http, ShopMetrics};
use metrics_runtime::{Counter, Gauge, Histogram};

const THREADS: usize = 4;
const PER_THREAD: u64 = 1_000_000;

#[test]
fn counter_one_series_is_exact_under_4_threads() {
    static HITS: Counter = Counter::new();
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..PER_THREAD {
                    HITS.inc();
                }
            });
        }
    });
    assert_eq!(HITS.get(), THREADS as u64 * PER_THREAD);
}

#[test]
fn tagged_counter_is_exact_per_series_under_4_threads() {
    static M: ShopMetrics = ShopMetrics::new();
    let combos: Vec<Http> = all_http();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let combos = &combos;
            s.spawn(move || {
                // Each thread walks the 12 series from its own offset; 1M increments in all.
                for i in 0..PER_THREAD as usize {
                    M.requests_total.with(combos[(i + t * 5) % combos.len()]).inc();
                }
            });
        }
    });
    assert_eq!(M.requests_total.total(), THREADS as u64 * PER_THREAD);
    for (t_idx, tags) in combos.iter().enumerate() {
        // Series i receives, from each thread, the count of i' in 0..PER_THREAD with
        // (i' + offset) % 12 == t_idx.
        let expected: u64 = (0..THREADS)
            .map(|t| {
                let first = (t_idx + combos.len() - (t * 5) % combos.len()) % combos.len();
                let n = PER_THREAD as usize;
                if first >= n {
                    0
                } else {
                    ((n - 1 - first) / combos.len() + 1) as u64
                }
            })
            .sum();
        assert_eq!(M.requests_total.with(*tags).get(), expected, "series {tags:?}");
    }
}

#[test]
fn gauge_add_sub_under_threads_is_exact() {
    static LEVEL: Gauge = Gauge::new();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            s.spawn(move || {
                for i in 0..250_000u32 {
                    if (i + t as u32) % 2 == 0 {
                        LEVEL.add(2.0);
                    } else {
                        LEVEL.sub(1.0);
                    }
                    LEVEL.inc();
                    LEVEL.dec();
                }
            });
        }
    });
    // Per thread: 125_000 adds of 2 and 125_000 subs of 1 -> +125_000; 4 threads.
    assert_eq!(LEVEL.get(), 500_000.0);
    LEVEL.set(-3.5);
    assert_eq!(LEVEL.get(), -3.5);
}

#[test]
fn histogram_counts_are_exact_under_threads() {
    static M: ShopMetrics = ShopMetrics::new();
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for i in 0..100_000u32 {
                    M.request_duration_seconds.with(common::Method::Get).record(if i % 2 == 0 { 0.001 } else { 0.75 });
                }
            });
        }
    });
    let h = M.request_duration_seconds.with(common::Method::Get);
    assert_eq!(h.count(), 400_000);
    let cumulative: Vec<u64> = h.cumulative().collect();
    assert_eq!(cumulative, vec![200_000, 200_000, 200_000, 200_000, 200_000, 400_000, 400_000]);
    assert!((h.sum() - (200_000.0 * 0.001 + 200_000.0 * 0.75)).abs() < 1e-6);
}

/// Timers record into per-thread stripes: 12 threads at once (8 own a stripe, 4 share the
/// series' cells), in three waves (the stripes of exited threads go to new ones, which carry
/// on from their counts), plus records from the test thread: every record counted once, in
/// its bucket and in the sum.
#[test]
fn timed_records_are_exact_under_threads_that_come_and_go() {
    use metrics_runtime::RecordDuration;
    static H: Histogram<(), 3> = Histogram::with_bounds(&[0.1, 1.0], &["0.1", "1.0"]);
    const WAVES: u64 = 3;
    const WAVE_THREADS: u64 = 12;
    const RECORDS: u64 = 20_000;
    for _ in 0..WAVES {
        std::thread::scope(|s| {
            for t in 0..WAVE_THREADS {
                s.spawn(move || {
                    for i in 0..RECORDS {
                        // A quarter in each finite bucket, half above 1.0; plain records too.
                        let v = [0.0625, 0.5, 2.0, 4.0][((i + t) % 4) as usize];
                        if i % 16 == 0 {
                            H.record(v);
                        } else {
                            H.record_seconds(v, metrics_runtime::Outcome::Ok);
                        }
                    }
                });
            }
        });
    }
    H.with(()).record_timed(0.5);
    let total = WAVES * WAVE_THREADS * RECORDS + 1;
    let quarter = WAVES * WAVE_THREADS * RECORDS / 4;
    assert_eq!(H.with(()).cumulative().collect::<Vec<_>>(), [quarter, 2 * quarter + 1, total]);
    let sum = quarter as f64 * (0.0625 + 0.5 + 2.0 + 4.0) + 0.5;
    assert_eq!(H.sum(), sum, "every value is a multiple of 1/16: the sum is exact");
    // One block of 8 stripes, each 40 bytes (a sequence number, the sum, 3 counts) on a
    // 128-byte line pair of its own.
    assert_eq!(H.heap_bytes(), 8 * 128);
}

/// A read while timers record sees each record in both the counts and the sum or in neither:
/// with one value, 0.5, the sum is always half the count, and counts never go down.
#[test]
fn a_read_during_timed_records_sees_counts_and_sum_agree() {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    static H: Histogram<(), 3> = Histogram::with_bounds(&[0.1, 1.0], &["0.1", "1.0"]);
    static DONE: AtomicBool = AtomicBool::new(false);
    let reads = std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                for _ in 0..300_000 {
                    H.with(()).record_timed(0.5);
                }
            });
        }
        let reader = s.spawn(|| {
            let (mut reads, mut last) = (0u64, 0u64);
            while !DONE.load(Relaxed) || reads == 0 {
                let (counts, sum) = H.series()[0].read(H.bounds());
                let count: u64 = counts.iter().sum();
                assert_eq!(sum, count as f64 * 0.5, "a record in the count but not the sum, or back");
                assert!(count >= last, "the count went down: {last} then {count}");
                last = count;
                reads += 1;
            }
            reads
        });
        // The reader stops once every record is in (it has read during the writes).
        while H.count() < 900_000 {
            std::thread::yield_now();
        }
        DONE.store(true, Relaxed);
        reader.join().expect("reader")
    });
    assert!(reads > 0);
    assert_eq!(H.count(), 900_000);
    assert_eq!(H.sum(), 450_000.0);
}
