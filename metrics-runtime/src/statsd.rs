//! StatsD / DogStatsD push over UDP on tokio (feature `statsd`).
//!
//! A [`StatsdExporter`] is a tokio task that, every `flush_interval`, reads the metrics of a
//! [`Source`] (a [`Registry`](crate::Registry) or `#[derive(Metrics)]` structs) and the records
//! queued in an [`AsyncMetricsBatcher`], and sends what changed since the last flush as StatsD
//! lines packed into datagrams of at most `max_datagram_bytes` (default 1432). A flush with
//! nothing new sends nothing. Every push goes through a [`MetricCircuitBreaker`].
//!
//! Recording is untouched: counters, gauges and histograms are still one atomic operation, and
//! the exporter reads them from its own task. [`AsyncMetricsBatcher::record`] is a few atomic
//! operations on a fixed ring, never a lock, an allocation or a system call.
//!
//! # What is sent
//!
//! | metric | line |
//! | --- | --- |
//! | counter | the increase since the last flush: `shop_requests_total:3\|c\|#method:GET,status:2xx` |
//! | gauge | the value, when it changed: `shop_inflight_requests:7\|g` (a negative value is sent as `:0\|g` then `:-2.5\|g`, since a leading `-` means "subtract" to StatsD) |
//! | histogram | see below; by default `name:bucket_bound\|ms\|@rate` per bucket that grew |
//! | summary | count and sum increases: `name.count:5\|c`, `name.sum:1.25\|c` |
//! | batcher record | `name:value\|ms` (or `h`, `d`, `c`, `g`), `\|@rate` when it stands for several events |
//!
//! Tags become DogStatsD tags (`|#k:v,..`) or name suffixes ([`TagStyle`]). Names keep their
//! exposition spelling, with `:` (StatsD's value separator) turned into `_` and the configured
//! prefix in front.
//!
//! Values are committed per datagram: a counter increase, gauge value or bucket count counts as
//! sent only once the datagram that carries it was sent without error. What a failed send or an
//! open breaker held back is sent by a later flush, as one larger delta: while the target is
//! down, no state grows, and when it is back, its totals are exact again.
//!
//! # Histograms and summaries
//!
//! StatsD has no bucketed type, so a histogram cannot be sent as is. [`HistogramMode`] chooses
//! what to give up:
//!
//! - `Timings` (the default), `Histograms`, `Distributions`: each bucket whose count grew by `n`
//!   since the last flush becomes one record at the bucket's upper bound with sample rate
//!   `1/n` (`lat_seconds:50|ms|@0.25`: four records of at most 50 ms). The server's count is
//!   exact and its percentiles are right to the bucket, as Prometheus' `histogram_quantile`
//!   is. But StatsD servers compute sum, mean, min and max from the values as sent, not
//!   weighted by the rate, so those are wrong; and records of the `+Inf` bucket are sent at
//!   the largest finite bound, below their true values. Timings are in milliseconds, so a
//!   histogram whose unit is `seconds` has its bounds multiplied by 1000.
//! - `CountSum`: `name.count` and `name.sum` counters with the exact increases, and no
//!   distribution.
//!
//! A summary's quantiles come from its own t-digest over its own window; they cannot be
//! combined with other instances' and are not pushed. Its count and sum are, as counters
//! ([`SummaryMode`]). For server-side percentiles, push the individual records through the
//! batcher (`StatsdKey::timing`), next to or instead of the summary.
//!
//! # Backpressure
//!
//! The batcher holds at most `capacity` records (fixed at construction). A record that finds it
//! full is handled by the [`BackpressurePolicy`]: refused (`DropNewest`), let in by evicting the
//! oldest (`DropOldest`), or merged into a record of the same series (`Coalesce`), which keeps
//! the count exact through `|@rate`. Everything lost is counted in
//! [`StatsdStats::dropped_total`], by policy.
//!
//! # Failures
//!
//! The socket is connected, so an ICMP "port unreachable" from a host with nothing listening
//! makes the send (or the socket error read right after it) fail with `ECONNREFUSED`; a send
//! that does not finish within `send_timeout` fails too. `failure_threshold` failed flushes in a
//! row open the breaker; while it is open, flushes read nothing and send nothing, and the batcher
//! keeps its fixed capacity, applying its policy. After `cool_down`, the next flush with
//! something to send is the half-open probe: the metrics' lines alone (an empty datagram when
//! there are none), so that a failed probe loses no batcher record; if it goes through, the
//! flush goes on with the records and the breaker closes. A host that is down without
//! answering at all cannot be detected with UDP: the datagrams are simply lost.
//!
//! On loopback the error is known before `send` returns. Across a network it arrives a round
//! trip later: the flush after it sees it and fails, but the datagram it belonged to was
//! counted as sent.
//!
//! # What "sent" means
//!
//! UDP has no acknowledgement: a datagram counted in [`StatsdStats`] as sent was handed to the
//! kernel, not received. A receiver that cannot keep up (its socket buffer full, as during a
//! burst of many flushes or a large flush into a slow StatsD server) loses datagrams that this
//! side counts as sent: a burst of hundreds of thousands of records sent as fast as possible
//! at a Node.js `statsd` with the default socket buffer can lose most of them, every one
//! counted as sent. Nothing on this side can
//! see that loss. What the exporter guarantees is that every record is either in a datagram
//! the kernel accepted or counted as dropped. To lose less: keep flushes small and regular
//! (`flush_interval`, `max_datagram_bytes`), coalesce (`BackpressurePolicy::Coalesce`), and give
//! the receiver a larger socket buffer (`net.core.rmem_max` and its own setting); for delivery
//! that is acknowledged, scrape over HTTP instead.
//!
//! # Own metrics
//!
//! [`StatsdStats`] counts records dropped, coalesced, sent and lost, datagrams, bytes, send
//! errors, flushes by result and the breaker state. Register [`StatsdExporter::stats`] in a
//! [`Registry`](crate::Registry) to scrape them; the exporter also pushes them with its flushes.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use metrics_runtime::statsd::{
//!     BackpressurePolicy, BatcherConfig, StatsdConfig, StatsdExporter, StatsdKey,
//! };
//! use metrics_runtime::{Counter, Metrics, Tag};
//!
//! #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
//! #[tag(name = "region", rename_all = "lowercase")]
//! enum Region { Eu, Us }
//!
//! #[derive(Metrics)]
//! #[metrics(namespace = "shop")]
//! struct Shop {
//!     /// Orders placed.
//!     orders_total: Counter<Region>,
//! }
//! static SHOP: Shop = Shop::new();
//! static CHECKOUT_MS: StatsdKey<Region> = StatsdKey::timing("shop.checkout");
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! # let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
//! let config = StatsdConfig {
//!     target: server.local_addr().unwrap(), // 127.0.0.1:8125 by default
//!     flush_interval: Duration::from_secs(10),
//!     batcher: BatcherConfig { policy: BackpressurePolicy::Coalesce, ..BatcherConfig::default() },
//!     ..StatsdConfig::default()
//! };
//! let exporter = StatsdExporter::start(&SHOP, config).await.unwrap();
//! let batcher = exporter.batcher().clone();
//!
//! SHOP.orders_total.with(Region::Eu).inc();
//! batcher.record(&CHECKOUT_MS, Region::Eu, 31.0);
//!
//! let report = exporter.flush().await;
//! assert_eq!((report.lines, report.records, report.datagrams), (1, 1, 1));
//! let mut buf = [0u8; 1500];
//! let n = server.recv(&mut buf).await.unwrap();
//! let datagram = std::str::from_utf8(&buf[..n]).unwrap();
//! // The metrics, the records, then the exporter's own metrics (`statsd_*`).
//! assert!(datagram.starts_with("shop_orders_total:1|c|#region:eu\nshop.checkout:31|ms|#region:eu\nstatsd_"));
//! exporter.shutdown().await;
//! # });
//! ```

mod batcher;
mod exporter;
mod lines;
mod ring;
mod stats;

pub use crate::push::{BreakerConfig, BreakerState, MetricCircuitBreaker, Source};
pub use batcher::{AsyncMetricsBatcher, BackpressurePolicy, BatcherConfig, RecordKind, StatsdKey};
pub use exporter::{FlushReport, StatsdConfig, StatsdExporter};
pub use lines::{HistogramMode, SummaryMode, TagStyle};
pub use stats::{FlushResult, StatsdStats};
