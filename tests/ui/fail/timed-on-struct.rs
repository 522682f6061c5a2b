use metrics_runtime::{timed, Histogram};

static LATENCY: Histogram = Histogram::new();

#[timed(LATENCY)]
struct NotAFunction;

fn main() {}
