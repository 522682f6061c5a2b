// 20 bucket bounds fill a `Histogram<T, 21>` exactly: one slot per bound plus `+Inf`.
use metrics_runtime::{Histogram, Metrics, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(rename_all = "lowercase")]
pub enum Op {
    Read,
    Write,
}

#[derive(Metrics)]
pub struct DiskMetrics {
    /// Time to complete a disk operation.
    #[metric(
        unit = "seconds",
        buckets = [
            0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.01,
            0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 1.0,
        ]
    )]
    op_duration_seconds: Histogram<Op, 21>,
    /// The same with no tags.
    #[metric(
        unit = "seconds",
        buckets = [
            1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0,
            11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0,
        ]
    )]
    flush_duration_seconds: Histogram<(), 21>,
}

static METRICS: DiskMetrics = DiskMetrics::new();

fn main() {
    METRICS.op_duration_seconds.with(Op::Write).record(0.0095);
    METRICS.op_duration_seconds.with(Op::Write).record(5.0);
    METRICS.flush_duration_seconds.record(19.5);
    assert_eq!(METRICS.op_duration_seconds.bounds().len(), 20);
    assert_eq!(METRICS.op_duration_seconds.with(Op::Write).count(), 2);
    assert_eq!(METRICS.op_duration_seconds.with(Op::Read).count(), 0);

    let text = METRICS.render_prometheus();
    assert!(text.contains("op_duration_seconds_bucket{op=\"write\",le=\"0.009\"} 0\n"), "{text}");
    assert!(text.contains("op_duration_seconds_bucket{op=\"write\",le=\"0.01\"} 1\n"), "{text}");
    assert!(text.contains("op_duration_seconds_bucket{op=\"write\",le=\"1.0\"} 1\n"), "{text}");
    assert!(text.contains("op_duration_seconds_bucket{op=\"write\",le=\"+Inf\"} 2\n"), "{text}");
    assert!(text.contains("flush_duration_seconds_bucket{le=\"19.0\"} 0\n"), "{text}");
    assert!(text.contains("flush_duration_seconds_bucket{le=\"20.0\"} 1\n"), "{text}");
    assert_eq!(text.matches("flush_duration_seconds_bucket{").count(), 21, "{text}");
}
