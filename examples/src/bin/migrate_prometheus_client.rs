//! The migration guide's app (docs/MIGRATING.md) with `prometheus-client`.
//!
//! `cargo run -p examples --bin migrate_prometheus_client`

use std::time::Instant;

use examples::{route, status_class, REQUESTS};
use prometheus_client::encoding::{text::encode, EncodeLabelSet};
use prometheus_client::metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram};
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: String,
}

struct AppMetrics {
    requests: Family<RequestLabels, Counter>,
    inflight: Gauge,
    duration: Family<MethodLabels, Histogram>,
}

impl AppMetrics {
    fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            requests: Family::default(),
            inflight: Gauge::default(),
            duration: Family::new_with_constructor(|| Histogram::new([0.005, 0.01, 0.05, 0.1, 0.5, 1.0])),
        };
        // Registration appends `_total` to counter names, the unit (`_seconds`) to names
        // registered with one, and `.` to HELP texts.
        registry.register("app_requests", "Requests served, by method and status class", metrics.requests.clone());
        registry.register("app_inflight_requests", "Requests being served right now", metrics.inflight.clone());
        registry.register_with_unit(
            "app_request_duration",
            "Time to serve a request",
            Unit::Seconds,
            metrics.duration.clone(),
        );
        metrics
    }
}

fn handle(metrics: &AppMetrics, method: &str, path: &str) -> u16 {
    metrics.inflight.inc();
    let start = Instant::now();
    let status = route(method, path);
    let labels = RequestLabels { method: method.to_owned(), status: status_class(status) };
    metrics.requests.get_or_create(&labels).inc();
    metrics.duration.get_or_create(&MethodLabels { method: method.to_owned() }).observe(start.elapsed().as_secs_f64());
    metrics.inflight.dec();
    status
}

fn main() {
    let mut registry = Registry::default();
    let metrics = AppMetrics::register(&mut registry);
    for (method, path) in REQUESTS {
        handle(&metrics, method, path);
    }
    // What `GET /metrics` would answer (OpenMetrics text, ending in `# EOF`).
    let mut text = String::new();
    encode(&mut text, &registry).expect("writing to a String");
    print!("{text}");
}
