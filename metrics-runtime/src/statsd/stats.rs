//! The exporter's own metrics: what it sent, dropped and refused, as a `#[derive(Metrics)]`
//! struct that exports like any other.

use crate::{Counter, Gauge, Metrics, Tag};

use super::batcher::BackpressurePolicy;

/// How a flush ended, the `result` tag of `statsd_flushes_total`.
///
/// # Examples
///
/// ```
/// use metrics_runtime::statsd::{BreakerConfig, FlushResult, StatsdConfig, StatsdExporter};
/// use metrics_runtime::{Counter, Metrics};
///
/// #[derive(Metrics)]
/// struct Jobs {
///     /// Jobs run.
///     jobs_total: Counter,
/// }
/// static JOBS: Jobs = Jobs::new();
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // An address nothing listens on: bound, then closed at once.
/// let dead = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
/// let config = StatsdConfig {
///     target: dead,
///     breaker: BreakerConfig { failure_threshold: 1, ..BreakerConfig::default() },
///     ..StatsdConfig::default()
/// };
/// let exporter = StatsdExporter::start(&JOBS, config).await.unwrap();
/// assert_eq!(exporter.flush().await.result, FlushResult::Unchanged); // nothing to send
///
/// JOBS.jobs_total.inc();
/// assert_eq!(exporter.flush().await.result, FlushResult::Failed); // refused: the breaker opens
/// assert_eq!(exporter.flush().await.result, FlushResult::BreakerOpen);
/// assert_eq!(exporter.stats().flushes_total.with(FlushResult::Failed).get(), 1);
/// # });
/// ```
#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[tag(name = "result", rename_all = "snake_case")]
pub enum FlushResult {
    /// Every datagram of the flush was sent.
    Sent,
    /// Nothing changed since the last flush: nothing was sent.
    Unchanged,
    /// The circuit breaker was open: the network was skipped and nothing was read.
    BreakerOpen,
    /// A send failed (refused, timed out): the flush stopped there and the breaker counted a
    /// failure. Counter values not sent are sent by a later flush.
    Failed,
}

/// The metrics of a StatsD exporter and its batcher.
///
/// Shared as an `Arc` by the [`AsyncMetricsBatcher`](super::AsyncMetricsBatcher) that owns it
/// and the [`StatsdExporter`](super::StatsdExporter) that drains it. Register it in a
/// [`Registry`](crate::Registry) with `register_arc` to scrape it; the exporter also pushes it
/// (see [`StatsdConfig::push_own_stats`](super::StatsdConfig::push_own_stats)). All values are
/// counted with relaxed atomics; the batcher's counters are only touched when a record
/// overflows the queue.
///
/// # Examples
///
/// ```
/// use metrics_runtime::statsd::{AsyncMetricsBatcher, BackpressurePolicy, BatcherConfig, StatsdKey};
/// use metrics_runtime::Metrics;
///
/// static EVENTS: StatsdKey = StatsdKey::count("app.events");
///
/// let batcher = AsyncMetricsBatcher::new(BatcherConfig { capacity: 2, policy: BackpressurePolicy::DropOldest, ..BatcherConfig::default() });
/// for _ in 0..5 {
///     batcher.record(&EVENTS, (), 1.0);
/// }
/// let stats = batcher.stats();
/// assert_eq!(stats.dropped_total.with(BackpressurePolicy::DropOldest).get(), 3);
/// assert!(stats.render_prometheus().contains("statsd_dropped_total{policy=\"drop_oldest\"} 3\n"));
/// ```
#[derive(Metrics)]
#[metrics(namespace = "statsd")]
pub struct StatsdStats {
    /// Records the batcher dropped, by its backpressure policy: new records refused by
    /// drop_newest, old records evicted by drop_oldest, and records coalesce could not merge.
    pub dropped_total: Counter<BackpressurePolicy>,
    /// Records merged into a queued record of the same series because the queue was full; their
    /// count survives as the merged record's sample rate.
    pub coalesced_total: Counter,
    /// Records refused because their value was NaN or infinite.
    pub invalid_total: Counter,
    /// Records taken from the batcher and sent.
    pub records_sent_total: Counter,
    /// Records taken from the batcher whose datagram failed to send.
    pub records_lost_total: Counter,
    /// Records waiting in the batcher, read at each flush.
    pub queue_length: Gauge,
    /// Datagrams sent.
    pub datagrams_sent_total: Counter,
    /// Payload bytes sent.
    #[metric(unit = "bytes")]
    pub sent_bytes_total: Counter,
    /// Sends that failed: refused by the target (ICMP port unreachable), timed out, or any
    /// other socket error.
    pub send_errors_total: Counter,
    /// Flushes, by result.
    pub flushes_total: Counter<FlushResult>,
    /// The circuit breaker state after the last flush: 0 closed, 1 open, 2 half-open.
    pub breaker_state: Gauge,
    /// Times the circuit breaker opened.
    pub breaker_opened_total: Counter,
}

impl StatsdStats {
    /// The sum of [`dropped_total`](Self::dropped_total) over its policies.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{AsyncMetricsBatcher, BatcherConfig, StatsdKey};
    ///
    /// static EVENTS: StatsdKey = StatsdKey::count("app.events");
    ///
    /// let batcher = AsyncMetricsBatcher::new(BatcherConfig { capacity: 2, ..BatcherConfig::default() });
    /// for _ in 0..10 {
    ///     batcher.record(&EVENTS, (), 1.0);
    /// }
    /// assert_eq!(batcher.stats().dropped(), 8);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped_total.total()
    }
}

impl std::fmt::Debug for StatsdStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatsdStats")
            .field("dropped", &self.dropped())
            .field("coalesced", &self.coalesced_total.get())
            .field("records_sent", &self.records_sent_total.get())
            .field("datagrams_sent", &self.datagrams_sent_total.get())
            .field("send_errors", &self.send_errors_total.get())
            .finish_non_exhaustive()
    }
}
