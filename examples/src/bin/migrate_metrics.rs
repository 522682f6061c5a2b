//! The migration guide's app (docs/MIGRATING.md) with `metrics` and
//! `metrics-exporter-prometheus`.
//!
//! `cargo run -p examples --bin migrate_metrics`

use std::time::Instant;

use examples::{route, status_class, REQUESTS};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

fn install() -> PrometheusHandle {
    let handle = PrometheusBuilder::new()
        // Without this, `histogram!` is exported as a summary.
        .set_buckets_for_metric(
            Matcher::Full("app_request_duration_seconds".to_owned()),
            &[0.005, 0.01, 0.05, 0.1, 0.5, 1.0],
        )
        .expect("buckets are not empty")
        .install_recorder()
        .expect("no other recorder is installed");
    describe_counter!("app_requests_total", "Requests served, by method and status class.");
    describe_gauge!("app_inflight_requests", "Requests being served right now.");
    describe_histogram!("app_request_duration_seconds", "Time to serve a request.");
    handle
}

fn handle(method: &str, path: &str) -> u16 {
    gauge!("app_inflight_requests").increment(1.0);
    let start = Instant::now();
    let status = route(method, path);
    counter!("app_requests_total", "method" => method.to_owned(), "status" => status_class(status)).increment(1);
    histogram!("app_request_duration_seconds", "method" => method.to_owned()).record(start.elapsed().as_secs_f64());
    gauge!("app_inflight_requests").decrement(1.0);
    status
}

fn main() {
    let exporter = install();
    for (method, path) in REQUESTS {
        handle(method, path);
    }
    // What `GET /metrics` would answer.
    print!("{}", exporter.render());
}
