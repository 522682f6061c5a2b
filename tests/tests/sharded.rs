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

#[test]
fn owned_stripes_pass_between_threads_and_extra_threads_share() {
    // Waves of threads: each wave's threads claim the owned stripes the previous wave released
    // on exit, and continue from the values it left; 20 threads at once are more than the 8
    // owned stripes, so 12 of them add to the shared ones. Nothing may be lost either way.
    static HOT: ShardedCounter = ShardedCounter::new();
    let mut expected = 0u64;
    for wave in 0..5u64 {
        let threads = if wave % 2 == 0 { 8 } else { 20 };
        std::thread::scope(|s| {
            for t in 0..threads {
                s.spawn(move || {
                    for _ in 0..20_000 {
                        HOT.inc();
                    }
                    HOT.add(t);
                });
            }
        });
        expected += threads * 20_000 + (0..threads).sum::<u64>();
        assert_eq!(HOT.get(), expected, "after wave {wave}");
    }
    // A thread-local destructor that counts after this thread's stripe was released still
    // counts (on a shared stripe).
    struct CountOnExit;
    impl Drop for CountOnExit {
        fn drop(&mut self) {
            HOT.add(7);
        }
    }
    thread_local! {
        static GUARD: CountOnExit = const { CountOnExit };
    }
    std::thread::spawn(|| {
        HOT.inc();
        GUARD.with(|_| ());
    })
    .join()
    .expect("thread");
    assert_eq!(HOT.get(), expected + 8);
}
