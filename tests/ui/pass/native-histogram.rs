use metrics_runtime::{Metrics, NativeHistogram, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

#[derive(Metrics)]
#[metrics(namespace = "shop")]
pub struct ShopMetrics {
    /// Time to serve a request.
    #[metric(unit = "seconds", schema = -2, zero_threshold = 0.0001, max_buckets = 300)]
    request_duration_seconds: NativeHistogram<Method, 300>,
    /// Sizes, default settings.
    size_bytes: NativeHistogram,
}

pub static METRICS: ShopMetrics = ShopMetrics::new();

fn main() {
    METRICS.request_duration_seconds.with(Method::Get).record(0.2);
    METRICS.size_bytes.record(512.0);
    assert_eq!(METRICS.request_duration_seconds.config().schema, -2);
    assert_eq!(METRICS.request_duration_seconds.with(Method::Post).read().count, 0);
    assert!(METRICS.render_openmetrics().ends_with("# EOF\n"));
}
