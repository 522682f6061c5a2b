//! A real Prometheus server scrapes the HTTP exporter serving the conformance schema: the
//! target is up with no scrape error, and the query API returns the recorded values.

use std::sync::Arc;
use std::time::Duration;

use metrics_runtime::http::{serve, ServerConfig};
use metrics_runtime::Registry;
use tests::conformance::{populated, Awkward, Conformance, Region, Req};
use tests::PrometheusServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_exporter() {
    let metrics: &'static Conformance = Box::leak(Box::new(populated()));
    let mut registry = Registry::new();
    registry.register(metrics).unwrap();
    let config = ServerConfig { addr: "127.0.0.1:0".parse().unwrap(), ..ServerConfig::default() };
    let server = serve(Arc::new(registry), config).await.unwrap();
    let target = server.local_addr().to_string();

    let result = tokio::task::spawn_blocking(move || {
        let prom = PrometheusServer::start(&[target]);
        let targets = prom.wait_for_targets_up(1, Duration::from_secs(60));
        let t = &targets["data"]["activeTargets"][0];
        assert_eq!(t["lastError"], "", "{t}");

        let wait = Duration::from_secs(30);
        assert_eq!(prom.query_value(r#"conf_requests_total{path="say \"hi\"",region="eu"}"#, wait), 3.0);
        assert_eq!(prom.query_value(r#"conf_requests_total{path="grüße/東京 🚀",region="us"}"#, wait), 1.0);
        assert_eq!(prom.query_value(r#"conf_requests_total{path="two\nlines",region="eu"}"#, wait), 0.0);
        assert_eq!(prom.query_value(r#"conf_requests_total{path="C:\\temp\\",region="eu"}"#, wait), 0.0);
        assert_eq!(prom.query_value("conf_sent_bytes_total", wait), 1_000_000_007.0);
        assert_eq!(prom.query_value(r#"conf_queue_depth{region="us"}"#, wait), -2.5);
        assert_eq!(prom.query_value("conf_temperature_celsius", wait), 21.25);
        assert_eq!(prom.query_value(r#"conf_latency_seconds_bucket{path="two\nlines",le="0.01"}"#, wait), 1.0);
        assert_eq!(prom.query_value(r#"conf_latency_seconds_count{path="two\nlines"}"#, wait), 2.0);
        assert_eq!(prom.query_value(r#"conf_checkout_seconds_count{region="eu"}"#, wait), 100.0);
        let p50 = prom.query_value(r#"conf_checkout_seconds{region="eu",quantile="0.5"}"#, wait);
        assert!((p50 - 49.5).abs() <= 1.0, "{p50}");
        // Live values: a later scrape sees a later increment.
        metrics.requests_total.with(Req { path: Awkward::Backslash, region: Region::Us }).add(41);
        let deadline = std::time::Instant::now() + wait;
        loop {
            let v = prom.query_value(r#"conf_requests_total{path="C:\\temp\\",region="us"}"#, wait);
            if v == 41.0 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "increment never scraped: {v}");
            std::thread::sleep(Duration::from_millis(300));
        }
        // Scrapes were OpenMetrics (what Prometheus asks for), with no error.
        let targets = prom.api("/api/v1/targets", &[]).unwrap();
        assert_eq!(targets["data"]["activeTargets"][0]["lastError"], "");
        assert!(prom.log().lines().all(|l| !l.contains("level=error")), "{}", prom.log());
    })
    .await;
    server.shutdown().await;
    result.unwrap();
}
