use metrics_runtime::{timed, Counter, Gauge};

static CALLS: Counter = Counter::new();
static LEVEL: Gauge = Gauge::new();

#[timed(CALLS)]
fn counted() {}

#[timed(LEVEL)]
async fn gauged() {}

fn main() {
    counted();
    let _ = gauged();
}
