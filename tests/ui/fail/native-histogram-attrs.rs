use metrics_runtime::{Counter, Metrics, NativeHistogram};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Out of Prometheus' range.
    #[metric(schema = 9)]
    too_fine_seconds: NativeHistogram,
    /// Not an integer.
    #[metric(schema = 1.5)]
    half_schema_seconds: NativeHistogram,
    /// A negative zero threshold.
    #[metric(zero_threshold = -1.0)]
    below_zero_seconds: NativeHistogram,
    /// More buckets than the type's slots.
    #[metric(max_buckets = 400)]
    wide_seconds: NativeHistogram,
    /// Native settings on a counter.
    #[metric(schema = 2)]
    requests_total: Counter,
    /// Classic buckets on a native histogram.
    #[metric(buckets = [0.1, 1.0])]
    mixed_seconds: NativeHistogram,
}

fn main() {}
