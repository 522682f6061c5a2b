//! The push pipeline's own metrics: what each exporter queued, sent and dropped.

#[cfg(feature = "push-http")]
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::{Counter, Gauge, Histogram, Metrics, Tag, TagSet};

/// Which exporter a pipeline metric is about: the `exporter` label of `push_*`.
#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[tag(name = "exporter", rename_all = "snake_case")]
pub enum ExporterKind {
    /// OTLP/HTTP.
    Otlp,
    /// Prometheus remote write.
    RemoteWrite,
    /// A Pushgateway.
    Pushgateway,
    /// StatsD / DogStatsD over UDP.
    Statsd,
}

/// Why points were dropped: the `reason` label of `push_points_dropped_total`.
#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[tag(name = "reason", rename_all = "snake_case")]
pub enum DropReason {
    /// The send queue was full: its oldest batch made room for the newest.
    QueueFull,
    /// The receiver refused the batch with a status that must not be retried (a 4xx other than
    /// 429).
    Rejected,
    /// The receiver took the batch but reported some of its points as rejected (OTLP partial
    /// success).
    PartialSuccess,
    /// The exporter shut down with the batch still unsent.
    Shutdown,
    /// Sent in a datagram that failed to send (StatsD batcher records; a metric's delta is
    /// sent again by a later flush instead).
    SendFailed,
}

/// How a request ended: the `outcome` label of `push_requests_total`.
#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[tag(name = "outcome", rename_all = "snake_case")]
pub enum RequestOutcome {
    /// A 2xx answer.
    Success,
    /// An answer the protocol retries (429, and the 5xx it retries).
    Retryable,
    /// An answer that is never retried (other 4xx, and the 5xx the protocol does not retry).
    Rejected,
    /// No answer: refused or reset connection, or a timeout.
    Error,
}

/// An exporter and a drop reason.
#[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExporterDrop {
    /// The exporter.
    pub exporter: ExporterKind,
    /// Why.
    pub reason: DropReason,
}

/// An exporter and a request outcome.
#[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExporterOutcome {
    /// The exporter.
    pub exporter: ExporterKind,
    /// How the request ended.
    pub outcome: RequestOutcome,
}

/// The metrics of every push pipeline of the process, by exporter: register [`PUSH_STATS`] in
/// the [`Registry`](crate::Registry) that `/metrics` serves, or push it along with the rest.
/// Only the pipelines' tasks write them.
///
/// # Examples
///
/// ```
/// use metrics_runtime::push::{ExporterKind, PUSH_STATS};
/// use metrics_runtime::Metrics;
///
/// let text = PUSH_STATS.render_prometheus();
/// assert!(text.contains("# TYPE push_points_sent_total counter\n"));
/// assert!(text.contains("push_queue_batches{exporter=\"remote_write\"}"));
/// let _sent = PUSH_STATS.points_sent_total.with(ExporterKind::Otlp).get();
/// ```
#[derive(Metrics)]
#[metrics(namespace = "push")]
pub struct PushStats {
    /// Points (samples, data points) read and queued for sending, by exporter.
    pub points_queued_total: Counter<ExporterKind>,
    /// Points the receiver accepted, by exporter.
    pub points_sent_total: Counter<ExporterKind>,
    /// Points dropped, by exporter and reason.
    pub points_dropped_total: Counter<ExporterDrop>,
    /// Requests made, by exporter and outcome.
    pub requests_total: Counter<ExporterOutcome>,
    /// Requests that were retries of a failed one, by exporter.
    pub retries_total: Counter<ExporterKind>,
    /// Batches waiting in the send queue, by exporter (StatsD: records waiting in its batcher).
    pub queue_batches: Gauge<ExporterKind>,
    /// The interval in force, widened under backpressure or by the energy policy, by exporter.
    #[metric(unit = "seconds")]
    pub interval_seconds: Gauge<ExporterKind>,
    /// The circuit breaker: 0 closed, 1 open, 2 half-open, by exporter.
    pub breaker_state: Gauge<ExporterKind>,
    /// How long requests took, answered or not, by exporter.
    #[metric(unit = "seconds", buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])]
    pub request_duration_seconds: Histogram<ExporterKind>,
}

/// The pipeline metrics of the process.
pub static PUSH_STATS: PushStats = PushStats::new();

impl std::fmt::Debug for PushStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushStats").finish_non_exhaustive()
    }
}

/// One exporter's own totals (where [`PUSH_STATS`] adds up every exporter of a kind).
///
/// The invariant the pipeline keeps: `queued == sent + dropped() + waiting`, where `waiting` is
/// the points of the batches still queued or in flight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushTotals {
    /// Points read into batches.
    pub queued: u64,
    /// Points the receiver accepted.
    pub sent: u64,
    /// Points dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Points in batches the receiver refused for good.
    pub dropped_rejected: u64,
    /// Points the receiver reported rejected within an accepted batch.
    pub dropped_partial: u64,
    /// Points still unsent at shutdown.
    pub dropped_shutdown: u64,
    /// Points in batches still queued or in flight.
    pub waiting: u64,
    /// Requests answered with a 2xx.
    pub requests_ok: u64,
    /// Requests that failed (any other answer, or none).
    pub requests_failed: u64,
    /// Retries.
    pub retries: u64,
}

impl PushTotals {
    /// Every point dropped, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full + self.dropped_rejected + self.dropped_partial + self.dropped_shutdown
    }
}

/// The atomics behind [`PushTotals`] (the HTTP exporters' pipeline).
#[cfg(feature = "push-http")]
#[derive(Debug, Default)]
pub(crate) struct Totals {
    pub(crate) queued: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) dropped: [AtomicU64; 4],
    pub(crate) waiting: AtomicU64,
    pub(crate) requests_ok: AtomicU64,
    pub(crate) requests_failed: AtomicU64,
    pub(crate) retries: AtomicU64,
}

#[cfg(feature = "push-http")]
impl Totals {
    pub(crate) fn read(&self) -> PushTotals {
        PushTotals {
            queued: self.queued.load(Relaxed),
            sent: self.sent.load(Relaxed),
            dropped_queue_full: self.dropped[0].load(Relaxed),
            dropped_rejected: self.dropped[1].load(Relaxed),
            dropped_partial: self.dropped[2].load(Relaxed),
            dropped_shutdown: self.dropped[3].load(Relaxed),
            waiting: self.waiting.load(Relaxed),
            requests_ok: self.requests_ok.load(Relaxed),
            requests_failed: self.requests_failed.load(Relaxed),
            retries: self.retries.load(Relaxed),
        }
    }

    pub(crate) fn drop_points(&self, kind: ExporterKind, reason: DropReason, points: u64) {
        let i = match reason {
            DropReason::QueueFull => 0,
            DropReason::Rejected => 1,
            DropReason::PartialSuccess => 2,
            DropReason::Shutdown | DropReason::SendFailed => 3,
        };
        self.dropped[i].fetch_add(points, Relaxed);
        PUSH_STATS.points_dropped_total.with(ExporterDrop { exporter: kind, reason }).add(points);
    }
}
