use metrics_runtime::{Counter, Histogram, Metrics, Outcome, Tag};

#[derive(Tag, Clone, Copy)]
#[tag(rename_all = "lowercase")]
enum Status {
    Ok,
    Failed,
}

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests served, by status.
    #[metric(slo(errors = "outcome=error", target = 0.99))]
    requests_total: Counter<Status>,
    /// Checkouts, by outcome.
    #[metric(slo(errors = "outcome=timeout", target = 0.99))]
    checkouts_total: Counter<Outcome>,
    /// Time to check out, by outcome.
    #[metric(unit = "seconds", slo(errors = "outcome=error|panicked", target = 0.99, name = "checkout_availability"))]
    checkout_seconds: Histogram<Outcome>,
}

fn main() {}
