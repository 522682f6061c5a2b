use metrics_runtime::timed;

#[timed]
fn work() {}

fn main() {
    work();
}
