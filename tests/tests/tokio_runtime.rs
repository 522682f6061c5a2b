//! Tokio runtime metrics agree with what the runtime is doing: workers, alive tasks (tasks
//! parked on a channel), busy time that grows under work, parks; promtool and the strict
//! OpenMetrics parser accept them.

use std::sync::Arc;
use std::time::Duration;

use metrics_runtime::tokio_metrics::TokioMetrics;
use metrics_runtime::Registry;
use tests::{parse_openmetrics_strict, promtool_check};

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

/// Waits (at most 5 s) until `series` reads `want`: a task that ended leaves the count a moment
/// after its `JoinHandle` resolves.
fn eventually(registry: &Registry, series: &str, want: f64) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let text = registry.render_prometheus();
        if value(&text, series) == want || std::time::Instant::now() > deadline {
            assert_eq!(value(&text, series), want, "{series}");
            return text;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn tokio_metrics_follow_the_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut registry = Registry::new();
    registry.register_arc(Arc::new(TokioMetrics::new(runtime.handle().clone()))).unwrap();

    let before = registry.render_prometheus();
    assert_eq!(value(&before, "tokio_workers"), 2.0);
    assert_eq!(value(&before, "tokio_alive_tasks"), 0.0);

    // 50 tasks waiting on a channel are alive; so is none once they are released.
    let (tx, rx) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let mut rx = rx.clone();
            runtime.spawn(async move {
                let _ = rx.wait_for(|go| *go).await;
            })
        })
        .collect();
    // Some busy work on the workers.
    let work: Vec<_> = (0..4)
        .map(|_| {
            runtime.spawn(async {
                let start = std::time::Instant::now();
                let mut x = 0u64;
                while start.elapsed() < Duration::from_millis(100) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                }
                x
            })
        })
        .collect();
    for w in work {
        runtime.block_on(w).unwrap();
    }
    eventually(&registry, "tokio_alive_tasks", 50.0);
    // A worker hands its busy time and parks to the runtime's metrics when it parks: wait
    // (bounded, 5 s) for the workers to have parked after the work.
    let sum =
        |text: &str, metric: &str| -> f64 { (0..2).map(|w| value(text, &format!("{metric}{{worker=\"{w}\"}}"))).sum() };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let (busy, parks) = loop {
        let text = registry.render_prometheus();
        let (busy, parks) = (sum(&text, "tokio_worker_busy_seconds_total"), sum(&text, "tokio_worker_parks_total"));
        if (busy >= 0.3 && parks >= 1.0) || std::time::Instant::now() > deadline {
            break (busy, parks);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(busy >= 0.3, "4 x 100 ms of work on 2 workers: {busy} s busy");
    assert!(parks >= 1.0, "{parks}");

    tx.send(true).unwrap();
    for t in tasks {
        runtime.block_on(t).unwrap();
    }
    let after = eventually(&registry, "tokio_alive_tasks", 0.0);

    promtool_check(&after).expect("promtool accepts the tokio metrics");
    let om = registry.render_openmetrics();
    let samples = parse_openmetrics_strict(&om);
    assert!(samples.iter().any(|s| s["name"] == "tokio_worker_parks_total"), "{om}");
}
