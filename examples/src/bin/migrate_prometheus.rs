//! The migration guide's app (docs/MIGRATING.md) with `prometheus`.
//!
//! `cargo run -p examples --bin migrate_prometheus`

use std::sync::LazyLock;

use examples::{route, status_class, REQUESTS};
use prometheus::{
    register_histogram_vec, register_int_counter_vec, register_int_gauge, HistogramVec, IntCounterVec, IntGauge,
    TextEncoder,
};

static REQUESTS_TOTAL: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "app_requests_total",
        "Requests served, by method and status class.",
        &["method", "status"]
    )
    .expect("a valid name, registered once")
});
static INFLIGHT: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!("app_inflight_requests", "Requests being served right now.")
        .expect("a valid name, registered once")
});
static DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "app_request_duration_seconds",
        "Time to serve a request.",
        &["method"],
        vec![0.005, 0.01, 0.05, 0.1, 0.5, 1.0]
    )
    .expect("a valid name, registered once")
});

fn handle(method: &str, path: &str) -> u16 {
    INFLIGHT.inc();
    let timer = DURATION.with_label_values(&[method]).start_timer();
    let status = route(method, path);
    REQUESTS_TOTAL.with_label_values(&[method, status_class(status)]).inc();
    timer.observe_duration();
    INFLIGHT.dec();
    status
}

fn main() {
    for (method, path) in REQUESTS {
        handle(method, path);
    }
    // What `GET /metrics` would answer.
    let text = TextEncoder::new().encode_to_string(&prometheus::gather()).expect("text encoding");
    print!("{text}");
}
