//! Compile-time checked metric schemas with static atomic storage.
//!
//! Declare metrics once, as a struct. `#[derive(Metrics)]` checks at compile time what a
//! Prometheus or OpenMetrics scraper would reject or a linter would flag (names, tags, units,
//! suffixes, collisions, cardinality) and lays out every series in fixed, statically allocated
//! atomic storage: recording is an array index plus a relaxed atomic, with no hashing, no lock
//! and no allocation.
//!
//! ```
//! use metrics_runtime::{Counter, Gauge, Histogram, Metrics, Summary, Tag, TagSet};
//!
//! #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
//! #[tag(name = "method", rename_all = "UPPERCASE")]
//! pub enum Method { Get, Post, Put, Delete }
//!
//! #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
//! pub enum Status {
//!     #[tag(value = "2xx")] Success,
//!     #[tag(value = "4xx")] ClientError,
//!     #[tag(value = "5xx")] ServerError,
//! }
//!
//! #[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
//! pub struct Http { pub method: Method, pub status: Status }
//!
//! #[derive(Metrics)]
//! #[metrics(namespace = "shop")]
//! pub struct ShopMetrics {
//!     /// Requests served, by method and status class.
//!     requests_total: Counter<Http>,
//!     /// Requests being served right now.
//!     inflight_requests: Gauge,
//!     /// Time to serve a request.
//!     #[metric(unit = "seconds", buckets = [0.005, 0.01, 0.05, 0.1, 0.5, 1.0])]
//!     request_duration_seconds: Histogram<Method>,
//!     /// Checkout latency quantiles over the last minute.
//!     #[metric(unit = "seconds", quantiles = [0.5, 0.9, 0.99, 0.999], window_secs = 60)]
//!     checkout_seconds: Summary,
//! }
//!
//! pub static METRICS: ShopMetrics = ShopMetrics::new();
//!
//! METRICS.requests_total.with(Http { method: Method::Get, status: Status::Success }).inc();
//! METRICS.inflight_requests.inc();
//! METRICS.request_duration_seconds.with(Method::Post).record(0.012);
//! METRICS.checkout_seconds.record(0.2);
//! let p99: Option<f64> = METRICS.checkout_seconds.percentile(0.99);
//! assert_eq!(p99, Some(0.2));
//! let text: String = METRICS.render_prometheus();
//! assert!(text.contains("shop_requests_total{method=\"GET\",status=\"2xx\"} 1\n"));
//! assert!(text.contains("shop_requests_total{method=\"PUT\",status=\"5xx\"} 0\n"));
//! assert!(text.contains("shop_request_duration_seconds_bucket{method=\"POST\",le=\"0.05\"} 1\n"));
//! ```
//!
//! # Tags
//!
//! A tag is a fieldless enum deriving [`Tag`]; a tag set is a struct of tags deriving
//! [`TagSet`], a single tag, or `()`. Every combination is one series, allocated up front and
//! exported from the first scrape, zero included. Dynamic input is parsed once, with typed
//! errors: `Method::from_str("GET")`, `Http::from_pairs(&[("method", "GET"), ("status", "2xx")])`.
//!
//! # Metric types
//!
//! - [`Counter`]: `inc`, `add`, `get`; one `AtomicU64` per series.
//! - [`Gauge`]: an `f64` per series: `set`, `add`, `sub`, `inc`, `dec`, `get`.
//! - [`Histogram`]: fixed buckets (the Prometheus defaults unless `buckets = [..]`), lock-free
//!   record, `percentile` estimated from the buckets.
//! - [`Summary`]: t-digest quantiles over a sliding window, lock-free record, bounded memory.
//!
//! # What does not compile
//!
//! Metric names outside `[a-zA-Z_:][a-zA-Z0-9_:]*` or starting with `__`; counters not ending in
//! `_total`; a `unit` the name does not end with; non-base units (`milliseconds`: use
//! `seconds`); names whose series collide; gauges, histograms and summaries ending in a reserved
//! suffix; invalid, reserved (`le` on histograms, `quantile` on summaries) or duplicate tag
//! names; empty or duplicate tag values; non-finite or unordered buckets; quantiles outside
//! (0, 1); more series than `max_series` (default 10 000); a missing HELP; an unknown attribute
//! key; an unsupported field type; a generic struct. Each is an error on the offending token,
//! and all errors of an item are reported together.
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod cell;
mod counter;
mod dynamic;
mod encode;
mod gauge;
mod group;
mod histogram;
#[cfg(feature = "http")]
pub mod http;
mod registry;
mod sharded;
mod summary;
mod tag;
mod timer;

// The derives name `::metrics_runtime`; this makes that path work inside the crate too.
extern crate self as metrics_runtime;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use cell::{ConstInit, SeriesArray};
pub use counter::{Counter, CounterSeries};
pub use dynamic::{
    BoundedConfig, BoundedRegistry, DynCounter, DynCounterSeries, DynGauge, DynHistogram, DynamicError, OVERFLOW_VALUE,
};
pub use encode::{
    negotiate, process_start_time, push_f64, push_json_str, push_u64, Encoder, Format, MetricDesc, MetricKind,
};
pub use gauge::{Gauge, GaugeSeries};
pub use group::Metrics;
pub use histogram::{Histogram, HistogramHandle, HistogramSeries, DEFAULT_BUCKETS};
/// Times a function into a Histogram or Summary on every exit path; see the crate docs.
pub use metrics_derive::timed;
pub use metrics_derive::{Metrics, Tag, TagSet};
pub use registry::{Registry, RegistryError};
pub use sharded::{LocalBatch, ShardedCounter, ShardedSeries, SHARDS};
pub use summary::{
    series_heap_bound, Summary, SummaryConfig, SummaryHandle, SummarySeries, SummarySnapshot, BUFFER_SLOTS,
    DEFAULT_COMPRESSION, STAGED_VALUES, SUB_WINDOWS,
};
pub use tag::{ParseTagError, Tag, TagSet, TagSetError};
pub use timer::{Outcome, OutcomeFn, RecordDuration, Timed, TimedExt, Timer, ToOutcome};
