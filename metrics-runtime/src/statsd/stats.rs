//! The exporter's own metrics: what it sent, dropped and refused, as a `#[derive(Metrics)]`
//! struct that exports like any other.

use crate::{Counter, Gauge, Metrics, Tag};

use super::batcher::BackpressurePolicy;

/// How a flush ended, the `result` tag of `statsd_flushes_total`.
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
