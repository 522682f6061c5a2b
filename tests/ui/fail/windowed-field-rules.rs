use metrics_runtime::window::{WindowedCounter, WindowedHistogram};
use metrics_runtime::Metrics;

#[derive(Metrics)]
pub struct Api {
    /// A rate: a gauge, so no `_total`.
    requests_total: WindowedCounter,
    /// Quantiles over a window.
    #[metric(unit = "seconds", buckets = [0.1])]
    latency_seconds: WindowedHistogram,
}

fn main() {}
