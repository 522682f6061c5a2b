//! Pushing: one pipeline that every push exporter shares (feature `push`).
//!
//! Pull (`/metrics`) serves a scraper; short-lived jobs, functions, edge devices and
//! OpenTelemetry shops push instead. Every push exporter is the same pipeline around its own
//! encoder:
//!
//! 1. **A periodic, pure read.** Every `interval`, on a schedule shared by every exporter of the
//!    process (so that exporters with the same interval wake it once, together), the
//!    exporter's task visits the [`Source`] (compile-time
//!    structs and a [`Registry`](crate::Registry)) with the exporter's encoder, a
//!    [`Visitor`](crate::Visitor) of the read protocol, and turns the read into one batch (a
//!    request body and the number of points it carries). Reading changes nothing; recording
//!    threads never wait for the exporter, which only loads the atomics they write.
//! 2. **A bounded send queue.** Batches wait in a queue of at most
//!    [`PushConfig::max_queued_batches`]; one request is in flight at a time, oldest batch first.
//! 3. **Retries.** A failed request (connection refused or reset, timeout, or a status the
//!    protocol calls retryable: 429 always, 5xx as the protocol says) is retried with
//!    exponential backoff and jitter ([`Backoff`]); a `Retry-After` header is honoured (seconds
//!    or an HTTP date, capped by [`Backoff::max_retry_after`]). Any other 4xx is never retried:
//!    the batch is dropped and its points counted as `rejected`.
//! 4. **A circuit breaker** ([`MetricCircuitBreaker`]): after `failure_threshold` failed requests
//!    in a row, no request is made for `cool_down`; then one probe.
//! 5. **Load shedding** ([`BackpressureConfig`]), in this order: when a read finds the queue
//!    full, the oldest batch is dropped (its points counted as `queue_full`); and since the
//!    receiver then takes batches slower than they come, the interval doubles too (up to
//!    `max_widen` times the configured one), halving back once the queue is short and requests
//!    are fast again.
//!
//! Every point is either delivered, waiting in the queue, or counted as dropped with its
//! reason, in the exporter's [`PushTotals`] and in [`PUSH_STATS`], the pipeline's own metrics
//! (`push_*`, tagged by exporter), which a registry can export like any other struct.
//! Cumulative protocols (OTLP by default, remote write, Pushgateway) lose no totals with a
//! dropped batch: the next batch carries them. A delta protocol (OTLP with
//! [`Temporality::Delta`](otlp::Temporality)) does lose what a dropped batch held, and counts it.
//!
//! **The push thread.** Every exporter's task, socket and connection lives on one thread of the
//! library's own (`metrics-push`, started with the first exporter), in a current-thread tokio
//! runtime that runs only while an exporter has something in progress. When every exporter is
//! waiting (for its next read or a retry), the thread parks until the earliest of those
//! instants: an idle process wakes once per shared tick, at that instant, plus once per answer
//! that arrives. A tokio timer would wake its runtime at each level of its timer wheel (three
//! times for a 10 s interval), and exporters on the application's multi-thread runtime would
//! wake other workers as their I/O completes. The application's runtime is not used: an
//! exporter pushes on time however busy it is, and push work never takes one of its workers.
//! The methods of the exporters (`flush`, `shutdown`) are async and may be awaited from any
//! executor.
//!
//! The exporters: [`otlp`] (feature `otlp`), [`remote_write`] (feature `remote-write`),
//! [`pushgateway`] (feature `pushgateway`); and [`statsd`](crate::statsd) (feature `statsd`),
//! which reads the same [`Source`], guards its target with the same [`MetricCircuitBreaker`]
//! and counts what it read, sent and dropped in the same [`PUSH_STATS`]
//! (`exporter="statsd"`), but sends from its own flush loop: UDP gives no answer to queue or
//! retry on, so its flush sends at once, a failed datagram's counter deltas go with the next
//! flush, and its shedding is its batcher's backpressure policy.

mod breaker;
#[cfg(any(feature = "push-http", feature = "statsd"))]
pub(crate) mod driver;
mod source;
mod stats;

#[cfg(feature = "push-http")]
mod client;
#[cfg(feature = "push-http")]
mod pipeline;

#[cfg(feature = "otlp")]
mod json;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "pushgateway")]
pub mod pushgateway;
#[cfg(feature = "remote-write")]
pub mod remote_write;

pub use breaker::{BreakerConfig, BreakerState, MetricCircuitBreaker};
pub use source::Source;
pub use stats::{
    DropReason, ExporterDrop, ExporterKind, ExporterOutcome, PushStats, PushTotals, RequestOutcome, PUSH_STATS,
};

#[cfg(feature = "push-http")]
pub use client::PushError;
#[cfg(feature = "push-http")]
pub use pipeline::{Backoff, BackpressureConfig, PushConfig, PushExporter, PushReport};

/// The first multiple of `interval` on the process's push schedule (counted from the first
/// exporter's start) after `now`: every exporter reads on this schedule, so exporters with the
/// same interval (or multiples of it) wake the process once, together, rather than each at its
/// own phase.
#[cfg(any(feature = "push-http", feature = "statsd"))]
pub(crate) fn next_tick(now: std::time::Instant, interval: std::time::Duration) -> std::time::Instant {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let epoch = *EPOCH.get_or_init(std::time::Instant::now);
    let step = interval.as_nanos().max(1);
    let k = now.saturating_duration_since(epoch).as_nanos() / step + 1;
    epoch + std::time::Duration::from_nanos(u64::try_from(k * step).unwrap_or(u64::MAX))
}

/// Protocol types generated by `prost-build` from the official schemas in the repository's
/// `proto/` (`scripts/protogen` regenerates them): Prometheus remote write 1.0 (`prometheus`)
/// and OTLP metrics (`opentelemetry`).
#[allow(missing_docs, clippy::all, rust_2018_idioms, rustdoc::all)]
pub mod proto {
    /// Prometheus remote write 1.0: `WriteRequest`, `TimeSeries`, `Sample`, `Histogram`.
    #[cfg(feature = "remote-write")]
    pub mod prometheus {
        include!("proto/prometheus.rs");
    }
    /// OTLP metrics, resource and common types.
    #[cfg(feature = "otlp")]
    pub mod opentelemetry {
        pub mod proto {
            pub mod common {
                pub mod v1 {
                    include!("proto/opentelemetry.proto.common.v1.rs");
                }
            }
            pub mod resource {
                pub mod v1 {
                    include!("proto/opentelemetry.proto.resource.v1.rs");
                }
            }
            pub mod metrics {
                pub mod v1 {
                    include!("proto/opentelemetry.proto.metrics.v1.rs");
                }
            }
            pub mod collector {
                pub mod metrics {
                    pub mod v1 {
                        include!("proto/opentelemetry.proto.collector.metrics.v1.rs");
                    }
                }
            }
        }
    }
}
