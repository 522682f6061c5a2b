//! The `metrics` facade bridge: a library that knows only `metrics::counter!`, `gauge!` and
//! `histogram!` shows up on our `/metrics` (a real HTTP server, promtool-clean), beside a
//! derived struct whose names it may not take; under concurrent writers, nothing is lost.

use std::sync::Arc;
use std::time::Duration;

use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
use metrics_runtime::facade::{FacadeConfig, FacadeRecorder, RefuseReason};
use metrics_runtime::http::{serve, ServerConfig};
use metrics_runtime::{Counter, Metrics, Registry};
use tests::promtool_check;

/// A library instrumented with the facade only.
mod http_client {
    pub fn init() {
        metrics::describe_counter!("http.client.requests", "Requests sent, by method and status.");
        metrics::describe_histogram!("http.client.duration", metrics::Unit::Seconds, "Time to an answer.");
        metrics::describe_gauge!("http.client.pool.idle", "Idle pooled connections.");
    }

    pub fn request(method: &'static str, status: u16, seconds: f64) {
        // Labels in either order are one series.
        if status % 2 == 0 {
            metrics::counter!("http.client.requests", "method" => method, "status" => status.to_string()).increment(1);
        } else {
            metrics::counter!("http.client.requests", "status" => status.to_string(), "method" => method).increment(1);
        }
        metrics::histogram!("http.client.duration", "method" => method).record(seconds);
        metrics::gauge!("http.client.pool.idle").increment(1.0);
    }
}

#[derive(Metrics)]
#[metrics(namespace = "app")]
struct App {
    /// Jobs run.
    jobs_total: Counter,
}

static APP: App = App::new();

#[test]
fn a_facade_only_library_is_served_beside_the_derived_structs() {
    let dynamic = Arc::new(BoundedRegistry::new(BoundedConfig::default()));
    let recorder = FacadeRecorder::new(Arc::clone(&dynamic), FacadeConfig::default());
    recorder.reserve(&APP);
    let stats = recorder.stats();
    let mut registry = Registry::new();
    registry.register(&APP).unwrap();
    registry.register_arc(dynamic).unwrap();
    registry.register_arc(stats.clone()).unwrap();
    recorder.install().expect("the only recorder of this test binary");

    http_client::init();
    // Four threads through the facade at once.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..1000u32 {
                    let status = if i % 10 == 0 { 503 } else { 200 + (t % 2) * 2 };
                    http_client::request(if t < 2 { "GET" } else { "POST" }, status as u16, f64::from(i) / 10_000.0);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    APP.jobs_total.inc();
    // What a library may not do: shadow a derived metric, or reuse a name with another kind.
    metrics::counter!("app_jobs_total").increment(100);
    metrics::gauge!("http.client.requests").set(1.0);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(serve(
            Arc::new(registry),
            ServerConfig { addr: "127.0.0.1:0".parse().unwrap(), ..ServerConfig::default() },
        ))
        .unwrap();
    let text = ureq::get(&format!("http://{}/metrics", server.local_addr()))
        .timeout(Duration::from_secs(5))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    promtool_check(&text).expect("promtool accepts the facade's metrics");
    let line = |prefix: &str| {
        text.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix} in\n{text}")).to_owned()
    };
    assert_eq!(
        line("# HELP http_client_requests_total"),
        "# HELP http_client_requests_total Requests sent, by method and status."
    );
    assert_eq!(
        line(r#"http_client_requests_total{method="GET",status="200"}"#),
        r#"http_client_requests_total{method="GET",status="200"} 900"#
    );
    assert_eq!(
        line(r#"http_client_requests_total{method="GET",status="202"}"#),
        r#"http_client_requests_total{method="GET",status="202"} 900"#
    );
    assert_eq!(
        line(r#"http_client_requests_total{method="POST",status="503"}"#),
        r#"http_client_requests_total{method="POST",status="503"} 200"#
    );
    assert_eq!(
        line(r#"http_client_duration_seconds_count{method="POST"}"#),
        r#"http_client_duration_seconds_count{method="POST"} 2000"#
    );
    // i / 10000 <= 0.05 for i in 0..=500: 501 values per thread, two GET threads.
    assert_eq!(
        line(r#"http_client_duration_seconds_bucket{method="GET",le="0.05"}"#),
        r#"http_client_duration_seconds_bucket{method="GET",le="0.05"} 1002"#
    );
    assert_eq!(line("http_client_pool_idle "), "http_client_pool_idle 4000.0");
    assert_eq!(line("app_jobs_total "), "app_jobs_total 1");
    assert_eq!(stats.refused_total.with(RefuseReason::ReservedName).get(), 1);
    assert_eq!(stats.refused_total.with(RefuseReason::Conflict).get(), 1);
    runtime.block_on(server.shutdown());
}
