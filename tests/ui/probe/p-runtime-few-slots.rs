use metrics_runtime::{Histogram, Metrics};
#[derive(Metrics)]
pub struct AppMetrics {
    /// A.
    #[metric(unit = "seconds")]
    a_seconds: Histogram<(), 5>,
}
fn main() { let m = AppMetrics::new(); m.a_seconds.record(1.0); }
