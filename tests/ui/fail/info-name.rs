use metrics_runtime::{Info, Metrics};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Build of the binary.
    build: Info,
}

fn main() {}
