use metrics_runtime::{timed, Histogram};

static LATENCY: Histogram = Histogram::new();

trait Service {
    #[timed(LATENCY)]
    fn call(&self);
}

fn main() {}
