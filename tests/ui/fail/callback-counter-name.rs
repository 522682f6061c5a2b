use metrics_runtime::{CallbackCounter, CallbackGauge, Metrics};

#[derive(Metrics)]
pub struct Pool {
    /// Connections opened, counted by the pool library.
    opened: CallbackCounter,
    /// Connections waiting.
    waiting_total: CallbackGauge,
}

fn main() {}
