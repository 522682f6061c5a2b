use metrics_runtime::{timed, Histogram};

static LATENCY: Histogram = Histogram::new();

#[timed(LATENCY)]
const fn answer() -> u32 {
    42
}

fn main() {
    let _ = answer();
}
