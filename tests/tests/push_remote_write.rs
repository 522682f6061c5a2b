//! Prometheus remote write 1.0 into a real Prometheus (`--web.enable-remote-write-receiver`):
//! the totals queried back are exact, native histograms arrive as native samples, and an outage
//! of the receiver is survived with every buffered sample delivered in order.

use std::time::Duration;

use metrics_runtime::push::remote_write::{self, RemoteWriteConfig};
use metrics_runtime::push::{Backoff, BreakerConfig, PushConfig};
use metrics_runtime::{Counter, Gauge, Histogram, Metrics, NativeHistogram, Tag};
use tests::{free_port, PrometheusServer};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "shard", rename_all = "lowercase")]
enum Shard {
    A,
    B,
}

#[derive(Metrics)]
#[metrics(namespace = "rw")]
struct Import {
    /// Rows imported, by shard.
    rows_total: Counter<Shard>,
    /// Batches waiting.
    queue_depth: Gauge,
    /// Time per batch.
    #[metric(unit = "seconds", buckets = [0.1, 1.0])]
    batch_duration_seconds: Histogram,
    /// Time per step.
    #[metric(unit = "seconds")]
    step_duration_seconds: NativeHistogram,
}

static IMPORT: Import = Import::new();

fn fast(interval_ms: u64) -> PushConfig {
    PushConfig {
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_secs(5),
        backoff: Backoff { initial: Duration::from_millis(50), max: Duration::from_millis(200), ..Backoff::default() },
        breaker: BreakerConfig { failure_threshold: 3, cool_down: Duration::from_millis(100) },
        ..PushConfig::default()
    }
}

#[test]
fn totals_arrive_exactly_and_native_histograms_natively() {
    let prometheus = PrometheusServer::remote_write_receiver(free_port(), &["native-histograms"]);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _guard = runtime.enter();

    IMPORT.rows_total.with(Shard::A).add(7);
    IMPORT.rows_total.with(Shard::B).add(1_000_003);
    IMPORT.queue_depth.set(2.5);
    for v in [0.05, 0.5, 3.0] {
        IMPORT.batch_duration_seconds.record(v);
    }
    for i in 1..=100 {
        IMPORT.step_duration_seconds.record(f64::from(i) / 1000.0);
    }

    let mut config = RemoteWriteConfig::new(&prometheus.remote_write_url()).expect("url");
    config.push = fast(60_000); // only the explicit flushes below
    config.labels.push(("instance".into(), "importer-1".into()));
    config.native_histograms = true;
    let exporter = remote_write::start(&IMPORT, config).expect("start");

    let report = runtime.block_on(exporter.flush());
    assert_eq!(report.last_status, Some(204), "{:?} {:?}\n{}", report, exporter.last_error(), prometheus.log());
    // 2 counter series + 1 gauge + 3 buckets, sum and count + 1 native sample.
    assert_eq!(report.points_sent, 9);

    let wait = Duration::from_secs(20);
    assert_eq!(prometheus.query_value(r#"rw_rows_total{shard="a",instance="importer-1"}"#, wait), 7.0);
    assert_eq!(prometheus.query_value(r#"rw_rows_total{shard="b"}"#, wait), 1_000_003.0);
    assert_eq!(prometheus.query_value("rw_queue_depth", wait), 2.5);
    assert_eq!(prometheus.query_value(r#"rw_batch_duration_seconds_bucket{le="0.1"}"#, wait), 1.0);
    assert_eq!(prometheus.query_value(r#"rw_batch_duration_seconds_bucket{le="+Inf"}"#, wait), 3.0);
    assert_eq!(prometheus.query_value("rw_batch_duration_seconds_count", wait), 3.0);
    assert_eq!(prometheus.query_value("rw_batch_duration_seconds_sum", wait), 3.55);
    // The native histogram is one native series: no `_bucket` series of its own.
    assert_eq!(prometheus.query_value("histogram_count(rw_step_duration_seconds)", wait), 100.0);
    let sum = prometheus.query_value("histogram_sum(rw_step_duration_seconds)", wait);
    assert!((sum - 5.05).abs() < 1e-9, "{sum}");
    let p50 = prometheus.query_value("histogram_quantile(0.5, rw_step_duration_seconds)", wait);
    assert!((p50 - 0.050).abs() / 0.050 < 0.1, "p50 {p50}");
    let buckets = prometheus.api("/api/v1/series", &[("match[]", "rw_step_duration_seconds_bucket")]).expect("api");
    assert_eq!(buckets["data"].as_array().map(Vec::len), Some(0), "{buckets}");

    // A second push carries the new totals (cumulative: nothing to add up).
    IMPORT.rows_total.with(Shard::A).add(5);
    let report = runtime.block_on(exporter.flush());
    assert_eq!(report.last_status, Some(204));
    let deadline = std::time::Instant::now() + wait;
    while prometheus.query_value(r#"rw_rows_total{shard="a"}"#, wait) != 12.0 {
        assert!(std::time::Instant::now() < deadline, "the second push never showed");
        std::thread::sleep(Duration::from_millis(100));
    }
    let totals = exporter.totals();
    assert_eq!((totals.queued, totals.sent, totals.dropped(), totals.waiting), (18, 18, 0, 0));
    runtime.block_on(exporter.shutdown());
}

#[derive(Metrics)]
#[metrics(namespace = "rw_outage")]
struct Outage {
    /// Events seen.
    events_total: Counter,
}

static OUTAGE: Outage = Outage::new();

#[test]
fn an_outage_is_survived_with_every_buffered_sample_delivered_in_order() {
    let port = free_port();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _guard = runtime.enter();
    let mut config = RemoteWriteConfig::new(&format!("http://127.0.0.1:{port}/api/v1/write")).expect("url");
    config.push = PushConfig { max_queued_batches: 100, ..fast(100) };
    config.push.backpressure.max_widen = 1; // keep the interval, to count the batches
    let exporter = remote_write::start(&OUTAGE, config).expect("start");

    // Two seconds with nothing listening: a batch every 100 ms, each with its own sample.
    for _ in 0..20 {
        OUTAGE.events_total.inc();
        std::thread::sleep(Duration::from_millis(100));
    }
    let during = exporter.totals();
    assert!(during.queued >= 10, "{during:?}");
    assert_eq!(during.sent, 0, "{during:?}");
    assert!(during.requests_failed >= 3, "{during:?}");
    assert!(exporter.last_error().is_some());

    let prometheus = PrometheusServer::remote_write_receiver(port, &[]);
    // The queue drains once the receiver is back.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let totals = loop {
        let t = exporter.totals();
        if t.waiting == 0 && t.sent >= during.queued {
            break t;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not drained: {t:?} {:?}\n{}",
            exporter.last_error(),
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    runtime.block_on(exporter.shutdown());
    assert_eq!(totals.dropped(), 0, "{totals:?}");
    assert_eq!(totals.queued, totals.sent + totals.dropped() + totals.waiting, "{totals:?}");
    // Every batch was one sample of the one series: Prometheus holds them all, in order (an
    // out-of-order sample would have been refused), the last one the final total.
    let wait = Duration::from_secs(20);
    let stored = prometheus.query_value("count_over_time(rw_outage_events_total[10m])", wait);
    assert!(
        stored >= totals.sent as f64 - 1.0 && stored <= totals.sent as f64 + 2.0,
        "stored {stored}, sent {totals:?}"
    );
    let last = prometheus.query_value("rw_outage_events_total", wait);
    assert_eq!(last, OUTAGE.events_total.get() as f64);
    eprintln!("during the outage: {during:?}; after: {totals:?}; samples stored: {stored}");
    let increasing = prometheus.query_value("resets(rw_outage_events_total[10m])", wait);
    assert_eq!(increasing, 0.0);
}
