// The README example (the shop schema), as written.
use metrics_runtime::{Counter, Gauge, Histogram, Metrics, Summary, Tag, TagSet};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "method", rename_all = "UPPERCASE")]    // tag name defaults to the enum name in snake_case
pub enum Method { Get, Post, Put, Delete }

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    #[tag(value = "2xx")] Success,
    #[tag(value = "4xx")] ClientError,
    #[tag(value = "5xx")] ServerError,
}

#[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Http { pub method: Method, pub status: Status }   // tag names = field names

#[derive(Metrics)]
#[metrics(namespace = "shop")]                      // optional prefix: `shop_`
pub struct ShopMetrics {
    /// Requests served, by method and status class.
    requests_total: Counter<Http>,                  // name defaults to the field name
    /// Requests being served right now.
    inflight_requests: Gauge,
    /// Time to serve a request.
    #[metric(unit = "seconds", buckets = [0.005, 0.01, 0.05, 0.1, 0.5, 1.0])]
    request_duration_seconds: Histogram<Method>,
    /// Checkout latency quantiles over the last minute.
    #[metric(unit = "seconds", quantiles = [0.5, 0.9, 0.99, 0.999], window_secs = 60)]
    checkout_seconds: Summary,
}

pub static METRICS: ShopMetrics = ShopMetrics::new();   // `new` is a `const fn`: no lazy init, no heap

pub struct Cart(pub u32);
pub struct Receipt(pub u32);
#[derive(Debug)]
pub struct CheckoutError;

#[metrics_runtime::timed(METRICS.checkout_seconds)]
async fn checkout(cart: Cart) -> Result<Receipt, CheckoutError> {
    if cart.0 == 0 {
        return Err(CheckoutError);
    }
    Ok(Receipt(cart.0))
}

fn main() {
    let _unpolled = checkout(Cart(1)); // an async fn records when polled, not when called
    METRICS.requests_total.with(Http { method: Method::Get, status: Status::Success }).inc();
    METRICS.inflight_requests.inc();
    METRICS.request_duration_seconds.with(Method::Post).record(0.012);
    METRICS.checkout_seconds.record(0.2);
    let p99: Option<f64> = METRICS.checkout_seconds.percentile(0.99);
    let text: String = METRICS.render_prometheus();

    assert_eq!(p99, Some(0.2));
    assert!(text.contains("# HELP shop_requests_total Requests served, by method and status class.\n"));
    assert!(text.contains("# TYPE shop_requests_total counter\n"));
    assert!(text.contains("shop_requests_total{method=\"GET\",status=\"2xx\"} 1\n"));
    assert!(text.contains("shop_requests_total{method=\"DELETE\",status=\"5xx\"} 0\n"));
    assert!(text.contains("shop_inflight_requests 1.0\n"), "{text}");
    assert!(text.contains("shop_request_duration_seconds_bucket{method=\"POST\",le=\"0.05\"} 1\n"));
    assert!(text.contains("shop_request_duration_seconds_bucket{method=\"POST\",le=\"+Inf\"} 1\n"));
    assert!(text.contains("shop_request_duration_seconds_count{method=\"GET\"} 0\n"));
    assert!(text.contains("# TYPE shop_checkout_seconds summary\n"));
    assert!(text.contains("shop_checkout_seconds_count 1\n"));
}
