use metrics_runtime::{timed, Histogram};

static LATENCY: Histogram = Histogram::new();

#[timed(LATENCY)]
fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = input.parse()?;
    Ok(n + "one")
}

fn main() {
    let _ = parse("1");
}
