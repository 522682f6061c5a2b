//! Exact totals under threads: counters on one series and across tagged series, gauges.

mod common;

use common::{all_http, Http, ShopMetrics};
use metrics_runtime::{Counter, Gauge};

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
