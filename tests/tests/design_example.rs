//! The README example (the shop schema), as written, works end to end.

mod common;

use common::{Http, Method, ShopMetrics, Status};

pub static METRICS: ShopMetrics = ShopMetrics::new();

#[test]
fn design_example_records_and_renders() {
    METRICS.requests_total.with(Http { method: Method::Get, status: Status::Success }).inc();
    METRICS.inflight_requests.inc();
    METRICS.request_duration_seconds.with(Method::Post).record(0.012);
    METRICS.checkout_seconds.record(0.2);
    let p99: Option<f64> = METRICS.checkout_seconds.percentile(0.99);
    assert_eq!(p99, Some(0.2));
    let text: String = METRICS.render_prometheus();

    let expected_head = "\
# HELP shop_requests_total Requests served, by method and status class.
# TYPE shop_requests_total counter
shop_requests_total{method=\"GET\",status=\"2xx\"} 1
shop_requests_total{method=\"GET\",status=\"4xx\"} 0
";
    assert!(text.starts_with(expected_head), "{text}");
    // Every series of every tagged metric is present from the start, zero included.
    assert_eq!(text.lines().filter(|l| l.starts_with("shop_requests_total{")).count(), 12);
    assert_eq!(text.lines().filter(|l| l.starts_with("shop_request_duration_seconds_bucket{")).count(), 4 * 7);
    assert!(text.contains("# TYPE shop_inflight_requests gauge\nshop_inflight_requests 1.0\n"));
    assert!(text.contains("shop_request_duration_seconds_bucket{method=\"POST\",le=\"0.01\"} 0\n"));
    assert!(text.contains("shop_request_duration_seconds_bucket{method=\"POST\",le=\"0.05\"} 1\n"));
    assert!(text.contains("shop_request_duration_seconds_bucket{method=\"POST\",le=\"+Inf\"} 1\n"));
    assert!(text.contains("shop_request_duration_seconds_sum{method=\"POST\"} 0.012\n"));
    assert!(text.contains("shop_request_duration_seconds_count{method=\"POST\"} 1\n"));
    assert!(text.contains("shop_request_duration_seconds_count{method=\"GET\"} 0\n"));
    assert!(text.contains("# TYPE shop_checkout_seconds summary\n"));
    assert!(text.contains("shop_checkout_seconds{quantile=\"0.99\"} 0.2\n"));
    assert!(text.contains("shop_checkout_seconds_count 1\n"));
    assert!(text.ends_with('\n'));
}

#[test]
fn default_and_new_agree() {
    let a = ShopMetrics::default();
    let b = ShopMetrics::new();
    assert_eq!(a.render_prometheus(), b.render_prometheus());
    a.inflight_requests.set(3.0);
    assert_ne!(a.render_prometheus(), b.render_prometheus());
}

#[test]
fn metric_names_are_listed() {
    use metrics_runtime::Metrics;
    let names: Vec<&str> = METRICS.descriptors().iter().map(|d| d.name).collect();
    assert_eq!(
        names,
        ["shop_requests_total", "shop_inflight_requests", "shop_request_duration_seconds", "shop_checkout_seconds"]
    );
    let families: Vec<&str> = METRICS.descriptors().iter().map(|d| d.family).collect();
    assert_eq!(families[0], "shop_requests");
    assert_eq!(METRICS.descriptors()[2].unit, "seconds");
}
