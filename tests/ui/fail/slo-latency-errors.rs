use metrics_runtime::{Counter, Gauge, Histogram, Metrics, NativeHistogram, Outcome};

#[derive(Metrics)]
pub struct AppMetrics {
    /// Time to serve a request.
    #[metric(unit = "seconds", buckets = [0.1, 0.5, 1.0], slo(latency = "300ms", target = 0.99))]
    not_a_bound_seconds: Histogram,
    /// Time to serve a request.
    #[metric(unit = "seconds", slo(latency = "p99 < 250ms", target = 0.999))]
    implied_target_seconds: Histogram,
    /// Bytes read.
    #[metric(unit = "bytes", buckets = [1024.0], slo(latency = "1s", target = 0.9))]
    read_bytes: Histogram,
    /// Time to serve a request, native.
    #[metric(unit = "seconds", slo(latency = "100ms", target = 0.99))]
    native_seconds: NativeHistogram,
    /// Requests served.
    #[metric(slo(latency = "250ms", target = 0.99))]
    requests_total: Counter<Outcome>,
    /// Time to serve a request.
    #[metric(unit = "seconds", slo(latency = "250ms"))]
    no_target_seconds: Histogram,
    /// Time to serve a request.
    #[metric(unit = "seconds", slo(latency = "250ms", target = 99.9))]
    percent_target_seconds: Histogram,
    /// Time to serve a request.
    #[metric(unit = "seconds", slo(target = 0.99))]
    no_objective_seconds: Histogram,
    /// Time to serve a request.
    #[metric(unit = "seconds", slo(latency = "250ms", errors = "outcome=error", target = 0.99))]
    both_seconds: Histogram<Outcome>,
    /// Time to serve a request.
    #[metric(unit = "seconds", slo(latency = "250ms", target = 0.99, budget = 1))]
    unknown_key_seconds: Histogram,
    /// Open connections.
    #[metric(slo(errors = "outcome=error", target = 0.99))]
    connections: Gauge<Outcome>,
    /// Requests served.
    #[metric(slo(errors = "outcome=error", target = 0.99))]
    untagged_total: Counter,
    /// Requests served.
    #[metric(slo(errors = "outcome", target = 0.99))]
    selector_total: Counter<Outcome>,
    /// Requests served.
    #[metric(slo(errors = "outcome=error", target = 0.99, name = "Bad-Name"))]
    named_total: Counter<Outcome>,
    /// Checkouts, by outcome.
    #[metric(slo(errors = "outcome=error", target = 0.99, name = "checkout_availability"))]
    checkouts_total: Counter<Outcome>,
    /// Payments, by outcome.
    #[metric(slo(errors = "outcome=error", target = 0.99, name = "checkout_availability"))]
    payments_total: Counter<Outcome>,
}

fn main() {}
