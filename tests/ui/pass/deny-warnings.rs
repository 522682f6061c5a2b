// The generated code adds no warnings of its own.
#![deny(warnings)]

use metrics_runtime::{Counter, Gauge, Histogram, Metrics, Summary, Tag, TagSet};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(rename_all = "lowercase")]
enum Kind {
    Small,
    Large,
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Error,
}

#[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
struct Job {
    kind: Kind,
    outcome: Outcome,
}

#[derive(Metrics)]
#[metrics(namespace = "worker")]
struct WorkerMetrics {
    /// Jobs finished.
    jobs_total: Counter<Job>,
    /// Jobs queued.
    queued_jobs: Gauge<Kind>,
    /// Job run time.
    #[metric(unit = "seconds", buckets = [0.1, 1.0, 10.0])]
    job_duration_seconds: Histogram<Kind>,
    /// Time in queue.
    #[metric(unit = "seconds", quantiles = [0.5, 0.99])]
    queue_seconds: Summary,
}

static METRICS: WorkerMetrics = WorkerMetrics::new();

fn main() {
    METRICS.jobs_total.with(Job { kind: Kind::Large, outcome: Outcome::Error }).inc();
    METRICS.queued_jobs.with(Kind::Small).inc();
    METRICS.job_duration_seconds.with(Kind::Large).record(2.0);
    METRICS.queue_seconds.record(0.1);
    let text = METRICS.render_prometheus();
    assert!(text.contains("worker_jobs_total{kind=\"large\",outcome=\"error\"} 1\n"), "{text}");
}
