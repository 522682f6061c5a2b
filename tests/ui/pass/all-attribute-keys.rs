// Every attribute key the derives accept, each used once.
use metrics_runtime::{Counter, Gauge, Histogram, Metrics, Summary, Tag, TagSet};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "http_method", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Method {
    Get,
    PostForm,
    #[tag(value = "other")]
    Other,
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    EuWest,
    UsEast,
}

#[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    #[tag(name = "cloud_region")]
    pub region: Region,
}

#[derive(Metrics)]
#[metrics(namespace = "api")]
pub struct ApiMetrics {
    #[metric(name = "calls_total", help = "Calls \\ handled.", max_series = 6)]
    requests: Counter<Route>,
    /// Bytes held in the cache.
    #[metric(unit = "bytes")]
    cache_bytes: Gauge,
    /// Response body sizes.
    #[metric(unit = "bytes", buckets = [64.0, 1024.0, 65536.0])]
    response_size_bytes: Histogram<Method>,
    /// Queue wait.
    #[metric(unit = "seconds", quantiles = [0.25, 0.75], window_secs = 30)]
    queue_wait_seconds: Summary,
}

static METRICS: ApiMetrics = ApiMetrics::new();

fn main() {
    METRICS.requests.with(Route { method: Method::PostForm, region: Region::UsEast }).add(3);
    METRICS.cache_bytes.set(512.0);
    METRICS.response_size_bytes.with(Method::Get).record(100.0);
    METRICS.queue_wait_seconds.record(0.5);

    assert_eq!(Method::NAME, "http_method");
    assert_eq!(Method::VALUES, &["GET", "POST_FORM", "other"]);
    assert_eq!(<Route as TagSet>::NAMES, &["method", "cloud_region"]);
    let descs = METRICS.descriptors();
    let names: Vec<&str> = descs.iter().map(|d| d.name).collect();
    assert_eq!(names, [
        "api_calls_total",
        "api_cache_bytes",
        "api_response_size_bytes",
        "api_queue_wait_seconds",
    ]);
    assert_eq!(descs[0].help, "Calls \\ handled."); // as written
    assert_eq!(descs[0].help_text, "Calls \\\\ handled."); // escaped for Prometheus text
    let units: Vec<&str> = descs.iter().map(|d| d.unit).collect();
    assert_eq!(units, ["", "bytes", "bytes", "seconds"]);
    assert_eq!(METRICS.queue_wait_seconds.config().window_secs, 30);
    assert_eq!(METRICS.queue_wait_seconds.config().quantiles, &[0.25, 0.75]);
    assert_eq!(METRICS.response_size_bytes.bounds(), &[64.0, 1024.0, 65536.0]);

    let text = METRICS.render_prometheus();
    assert!(text.contains("# HELP api_calls_total Calls \\\\ handled.\n"), "{text}");
    assert!(text.contains("api_calls_total{method=\"POST_FORM\",cloud_region=\"us_east\"} 3\n"), "{text}");
    assert!(text.contains("api_calls_total{method=\"other\",cloud_region=\"eu_west\"} 0\n"), "{text}");
    assert!(text.contains("api_response_size_bytes_bucket{http_method=\"GET\",le=\"1024.0\"} 1\n"), "{text}");
    assert!(text.contains("api_queue_wait_seconds{quantile=\"0.75\"}"), "{text}");
}
