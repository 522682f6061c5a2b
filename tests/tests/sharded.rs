//! Sharded counters: exact under threads, exposed exactly like counters.

mod common;

use common::{Method, METHODS};
use metrics_runtime::{Counter, LocalBatch, Metrics, ShardedCounter};

#[derive(Metrics)]
struct Hot {
    /// Requests, striped against contention.
    requests_total: ShardedCounter<Method>,
    /// The same, unstriped.
    plain_total: Counter<Method>,
}

#[test]
fn sharded_counter_is_exact_and_exported_like_a_counter() {
    static HOT: Hot = Hot::new();
    std::thread::scope(|s| {
        for t in 0..4 {
            s.spawn(move || {
                for i in 0..250_000usize {
                    let m = METHODS[(i + t) % 4];
                    HOT.requests_total.with(m).inc();
                    HOT.plain_total.with(m).inc();
                }
            });
        }
    });
    assert_eq!(HOT.requests_total.total(), 1_000_000);
    for m in METHODS {
        assert_eq!(HOT.requests_total.with(m).get(), 250_000);
    }
    let text = HOT.render_prometheus();
    let sharded: Vec<&str> = text.lines().filter(|l| l.starts_with("requests_total{")).collect();
    let plain: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("plain_total{"))
        .map(|l| l.replacen("plain_total", "requests_total", 1))
        .collect();
    assert_eq!(sharded, plain);
    assert!(text.contains("# TYPE requests_total counter\n"));
    tests::promtool_check(&text).unwrap();
}

#[test]
fn local_batches_publish_everything() {
    static EVENTS: Counter = Counter::new();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let mut batch = LocalBatch::new(EVENTS.with(()), 100);
                for _ in 0..100_001 {
                    batch.inc();
                }
                assert_eq!(batch.pending(), 1);
            });
        }
    });
    assert_eq!(EVENTS.get(), 400_004);
}
