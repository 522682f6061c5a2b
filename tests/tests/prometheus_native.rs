//! A real Prometheus (native histograms enabled) scrapes three instances over the protobuf
//! format and stores their `NativeHistogram` as native histograms; `histogram_quantile` over
//! `sum(rate(..))` of the three agrees with the exact quantile of the values recorded within
//! the schema's relative error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_runtime::http::{serve, ServerConfig};
use metrics_runtime::{Metrics, NativeHistogram, Registry};
use tests::PrometheusServer;

#[derive(Metrics)]
#[metrics(namespace = "fleet")]
struct Instance {
    /// Request time.
    #[metric(unit = "seconds")]
    request_seconds: NativeHistogram,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_stores_native_histograms_of_three_instances() {
    let mut servers = Vec::new();
    let mut instances: Vec<&'static Instance> = Vec::new();
    for _ in 0..3 {
        let instance: &'static Instance = Box::leak(Box::new(Instance::new()));
        let mut registry = Registry::new();
        registry.register(instance).unwrap();
        let config = ServerConfig { addr: "127.0.0.1:0".parse().unwrap(), ..ServerConfig::default() };
        servers.push(serve(Arc::new(registry), config).await.unwrap());
        instances.push(instance);
    }
    let targets: Vec<String> = servers.iter().map(|s| s.local_addr().to_string()).collect();

    let result = tokio::task::spawn_blocking(move || {
        let prom = PrometheusServer::start_with(&targets, &["native-histograms"]);
        let up = prom.wait_for_targets_up(3, Duration::from_secs(60));
        for t in up["data"]["activeTargets"].as_array().unwrap() {
            assert_eq!(t["lastError"], "", "{t}");
        }
        // Let every target be scraped empty once, then record: instance `i` records the
        // milliseconds `ms` in `1..=3000` with `ms % 3 == i`, so together they hold 1 ms ..= 3 s
        // evenly, each a third of it (with different buckets: the sum is a real merge), and
        // Prometheus' per-series rate extrapolation, which weighs the instances slightly
        // differently, cannot move the quantiles.
        std::thread::sleep(Duration::from_millis(2500));
        for ms in 1..=3000usize {
            instances[ms % 3].request_seconds.record(ms as f64 / 1000.0);
        }
        // Every instance's recorded values scraped: the rates below then cover all three.
        let deadline = Instant::now() + Duration::from_secs(30);
        while prom.query_value("histogram_count(sum(fleet_request_seconds))", Duration::from_secs(10)) != 3000.0 {
            assert!(Instant::now() < deadline, "the three instances' records were never all scraped");
            std::thread::sleep(Duration::from_millis(300));
        }
        // Schema 3: a bucket spans a factor of 2^(1/8), so any estimate inside the right bucket
        // is within 9.05% of the truth.
        let bound = 2f64.powf(1.0 / 8.0) - 1.0;
        for (q, exact) in [(0.5, 1.5), (0.9, 2.7), (0.99, 2.97)] {
            let query = format!("histogram_quantile({q}, sum(rate(fleet_request_seconds[20s])))");
            let deadline = Instant::now() + Duration::from_secs(30);
            let got = loop {
                let v = prom.query_value(&query, Duration::from_secs(10));
                if v.is_finite() && v > 0.0 {
                    break v;
                }
                assert!(Instant::now() < deadline, "{query} gave {v}");
                std::thread::sleep(Duration::from_millis(500));
            };
            let error = (got - exact).abs() / exact;
            println!("{query} = {got} (exact {exact}, relative error {error:.4})");
            assert!(error <= bound, "{query} = {got}, exact {exact}: error {error} above {bound}");
        }
        // Stored as native histograms: the instant vector holds `histogram` samples, and no
        // classic `_bucket` series exists.
        let answer = prom.api("/api/v1/query", &[("query", "fleet_request_seconds")]).unwrap();
        let result = answer["data"]["result"].as_array().unwrap();
        assert_eq!(result.len(), 3, "{answer}");
        for series in result {
            assert!(series.get("histogram").is_some(), "not a native histogram: {series}");
            assert_eq!(series["histogram"][1]["count"], "1000", "{series}");
        }
        let classic = prom.api("/api/v1/query", &[("query", "fleet_request_seconds_bucket")]).unwrap();
        assert_eq!(classic["data"]["result"].as_array().unwrap().len(), 0, "{classic}");
        assert!(prom.log().lines().all(|l| !l.contains("level=error")), "{}", prom.log());
    })
    .await;
    for server in servers {
        server.shutdown().await;
    }
    result.unwrap();
}
