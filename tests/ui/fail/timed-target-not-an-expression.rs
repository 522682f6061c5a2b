use metrics_runtime::{timed, Histogram};

static LATENCY: Histogram = Histogram::new();

#[timed(LATENCY +)]
fn trailing_operator() {}

#[timed(,)]
fn lone_comma() {}

fn main() {
    trailing_operator();
    lone_comma();
}
