//! Compile-time checked metric schemas with static atomic storage.
//!
//! Declare metrics once, as a struct. `#[derive(Metrics)]` checks at compile time what a
//! Prometheus or OpenMetrics scraper would reject or a linter would flag (names, tags, units,
//! suffixes, collisions, cardinality) and lays out every series in fixed, statically allocated
//! atomic storage: recording is an array index plus a relaxed atomic, with no hashing, no lock
//! and no allocation.
//!
//! This page is the user guide: [Quick start](#quick-start), [Tags and dynamic
//! input](#tags-and-dynamic-input), [Metric types](#metric-types), [Timing](#timing),
//! [Exposition](#exposition), [Run-time metrics](#run-time-metrics),
//! [Contention](#contention), [Memory](#memory), [Compile-time rules](#compile-time-rules),
//! [Feature flags](#feature-flags). Runnable programs are in the repository's `examples/`
//! package (`quickstart`, `demo`, `axum_app`, `tokio_app`, `sync_app`); `docs/MIGRATING.md`
//! maps `metrics`, `prometheus` and `prometheus-client` code to this crate.
//!
//! The crate reads as an outline. At the root: the derives and [`timed`], the metric types
//! ([`Counter`], [`ShardedCounter`], [`Gauge`], [`Histogram`], [`Summary`], their series and
//! the [`Family`] they share), tags, [`Metrics`] and [`Registry`], and the read protocol that
//! every way out is built on ([`Visitor`], [`MetricDesc`], [`Series`], [`HistogramRead`],
//! [`SummaryRead`]). In modules: [`expose`] (the Prometheus text, OpenMetrics and JSON writers,
//! [`negotiate`](expose::negotiate)), [`dynamic`] (metrics known only at run time),
//! [`sampling`], [`window`] (sliding windows and clocks), [`snapshot`] (plain-data reads),
//! and behind features `http`, `push` (with `otlp`, `remote-write`, `pushgateway`), `statsd`,
//! `process`, `tokio_metrics` and `facade`.
//!
//! # Quick start
//!
//! Tags are enums, tag sets are structs of tags, and a metrics struct names each metric once;
//! its doc comments are the HELP texts. `new` is a `const fn`, so the struct lives in a
//! `static` with no registration and no lazy initialisation.
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
//! # Tags and dynamic input
//!
//! A tag is a fieldless enum deriving [`Tag`]: the enum is the label, each variant one value
//! (`#[tag(name = "..")]` sets the label name, by default the enum's name in snake case;
//! `rename_all` or `#[tag(value = "..")]` spell the values). A tag set is a struct of tags
//! deriving [`TagSet`], a single tag, or `()`. Each combination of values is one series, at an
//! index computed from the variants: [`Counter::with`] is arithmetic, not a lookup. Every
//! series exists from the start and is exported from the first scrape, zero included.
//!
//! Input that arrives as strings (an HTTP method, a `(name, value)` list) is parsed once, with
//! [`str::parse`] (the derive implements [`FromStr`](core::str::FromStr)) or
//! [`TagSet::from_pairs`]. Errors name the allowed values; what to record instead is the
//! caller's choice, so input never creates series.
//!
//! ```
//! use metrics_runtime::{Tag, TagSet, TagSetError};
//!
//! #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
//! #[tag(name = "method", rename_all = "UPPERCASE")]
//! enum Method { Get, Post, #[tag(value = "other")] Other }
//!
//! #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
//! enum Status { #[tag(value = "2xx")] Success, #[tag(value = "5xx")] ServerError }
//!
//! #[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
//! struct Http { method: Method, status: Status }
//!
//! assert_eq!(Method::VALUES, ["GET", "POST", "other"]);
//! assert_eq!(Status::NAME, "status");
//! assert_eq!(Http::CARDINALITY, 6);
//!
//! let method: Method = "POST".parse().unwrap();
//! assert_eq!(method, Method::Post);
//! let err = "PATCH".parse::<Method>().unwrap_err();
//! assert_eq!(err.to_string(), "`PATCH` is not a value of tag `method`; expected one of `GET`, `POST`, `other`");
//! assert_eq!("PATCH".parse().unwrap_or(Method::Other), Method::Other);
//!
//! let tags = Http::from_pairs(&[("status", "5xx"), ("method", "GET")]).unwrap();
//! assert_eq!(tags, Http { method: Method::Get, status: Status::ServerError });
//! assert_eq!(Http::from_pairs(&[("method", "GET")]), Err(TagSetError::MissingTag { name: "status" }));
//! ```
//!
//! # Metric types
//!
//! Each takes a tag set as its type parameter (`()` by default) and `with(tags)` selects a
//! series; without tags the methods are on the metric itself.
//!
//! - [`Counter`]: `inc`, `add(u64)`, `get`, `total`; one `AtomicU64` per series, relaxed adds.
//! - [`Gauge`]: an `f64` per series: `set`, `add`, `sub`, `inc`, `dec`, `get`.
//! - [`Histogram`]: fixed buckets (`buckets = [..]`, the Prometheus [`DEFAULT_BUCKETS`]
//!   otherwise), exposed as `_bucket{le}`, `_sum`, `_count`; lock-free `record`; `percentile`
//!   estimated from the buckets, within the width of the bucket that holds the quantile (when
//!   that is not the `+Inf` bucket).
//! - [`Summary`]: t-digest quantiles (`quantiles = [..]`) over a sliding window
//!   (`window_secs`), `record` an atomic add and a store (one in 128 takes the series lock, see
//!   [`Summary`]), bounded memory; exposed as a Prometheus summary. Values must be
//!   non-negative.
//! - [`ShardedCounter`]: a counter striped over cache lines, for a few very hot series (see
//!   [Contention](#contention)).
//!
//! NaN and infinite values are not recorded into histograms and summaries (they would poison
//! `_sum`); they are counted by `invalid()`.
//!
//! ```
//! use metrics_runtime::{Counter, Gauge, Histogram, Metrics, Summary};
//!
//! #[derive(Metrics)]
//! struct Jobs {
//!     /// Jobs run.
//!     jobs_total: Counter,
//!     /// Jobs waiting.
//!     queue_depth: Gauge,
//!     /// Time to run a job.
//!     #[metric(unit = "seconds", buckets = [0.1, 0.5, 1.0])]
//!     job_duration_seconds: Histogram,
//!     /// Job run time quantiles over the last five minutes.
//!     #[metric(unit = "seconds", quantiles = [0.5, 0.99], window_secs = 300)]
//!     job_latency_seconds: Summary,
//! }
//!
//! static JOBS: Jobs = Jobs::new();
//!
//! JOBS.jobs_total.add(3);
//! JOBS.queue_depth.set(7.0);
//! JOBS.queue_depth.dec();
//! for seconds in [0.2, 0.3, 0.7] {
//!     JOBS.job_duration_seconds.record(seconds);
//!     JOBS.job_latency_seconds.record(seconds);
//! }
//! JOBS.job_duration_seconds.record(f64::NAN);
//!
//! assert_eq!(JOBS.jobs_total.get(), 3);
//! assert_eq!(JOBS.queue_depth.get(), 6.0);
//! assert_eq!(JOBS.job_duration_seconds.count(), 3);
//! assert_eq!(JOBS.job_duration_seconds.invalid(), 1);
//! let p50 = JOBS.job_duration_seconds.percentile(0.5).unwrap();
//! assert!(p50 > 0.1 && p50 <= 0.5); // in the bucket that holds it
//! assert_eq!(JOBS.job_latency_seconds.percentile(0.5), Some(0.3));
//!
//! let text = JOBS.render_prometheus();
//! assert!(text.contains("job_duration_seconds_bucket{le=\"0.5\"} 2\n"));
//! assert!(text.contains("job_latency_seconds{quantile=\"0.99\"} "));
//! ```
//!
//! # Timing
//!
//! Histograms and summaries record durations in seconds, three ways:
//!
//! - `#[timed(METRIC)]` on a function (sync or `async`, free or a method): records on every exit
//!   path, early returns, `?` and panics included, and, for an `async fn`, when the future is
//!   dropped before completion.
//! - [`TimedExt::timed`] on any future, [`TimedExt::timed_result`] for one returning `Result`.
//! - [`RecordDuration::start_timer`] (or `.with(tags).start_timer()`): a [`Timer`] guard that
//!   records when dropped; [`Timer::stop`] records early, [`Timer::discard`] not at all.
//!
//! A target tagged by [`Outcome`] (`Histogram<Outcome>`) records each call under `ok`, `error`
//! (an `Err` returned), `cancelled` (a future dropped) or `panicked`. The target must be a
//! histogram or summary, or one series of one: anything else is a compile error.
//!
//! ```
//! use metrics_runtime::{timed, Histogram, Metrics, Outcome, RecordDuration, TimedExt};
//!
//! #[derive(Metrics)]
//! struct Db {
//!     /// Query time, by outcome.
//!     #[metric(unit = "seconds")]
//!     query_seconds: Histogram<Outcome>,
//!     /// Time to open a connection.
//!     #[metric(unit = "seconds")]
//!     connect_seconds: Histogram,
//! }
//!
//! static DB: Db = Db::new();
//!
//! #[timed(DB.query_seconds)]
//! fn query(sql: &str) -> Result<u64, String> {
//!     if sql.is_empty() {
//!         return Err("empty query".to_owned());
//!     }
//!     Ok(1)
//! }
//!
//! #[timed(DB.query_seconds)]
//! async fn query_async(rows: u64) -> Result<u64, String> {
//!     Ok(rows)
//! }
//!
//! assert_eq!(query("SELECT 1"), Ok(1));
//! assert!(query("").is_err());
//!
//! {
//!     let _timer = DB.connect_seconds.start_timer();
//!     // ... connect ...
//! } // recorded here
//! assert_eq!(DB.connect_seconds.count(), 1);
//!
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! rt.block_on(async {
//!     assert_eq!(query_async(3).await, Ok(3));
//!     assert_eq!(async { 7 }.timed(&DB.query_seconds).await, 7);
//!     // Dropped before it completes: recorded as `cancelled`.
//!     let stuck = std::future::pending::<()>().timed(&DB.query_seconds);
//!     tokio::select! {
//!         biased;
//!         () = stuck => unreachable!(),
//!         () = async {} => {}
//!     }
//! });
//!
//! assert_eq!(DB.query_seconds.with(Outcome::Ok).count(), 3);
//! assert_eq!(DB.query_seconds.with(Outcome::Error).count(), 1);
//! assert_eq!(DB.query_seconds.with(Outcome::Cancelled).count(), 1);
//! ```
//!
//! # Exposition
//!
//! A metrics struct renders itself ([`Metrics`] is implemented by the derive):
//!
//! - Prometheus text 0.0.4: `render_prometheus()`, or `write_prometheus(&mut String)` to reuse a
//!   buffer;
//! - OpenMetrics 1.0 text: `render_openmetrics()`: counters as family `x` with samples
//!   `x_total` and `x_created`, `# UNIT` lines, `# EOF`;
//! - JSON: `render_json()`.
//!
//! Names, HELP (escaped per format) and label pairs are formatted at compile time, so rendering
//! is copying plus number formatting. A [`Registry`] renders several structs as one exposition
//! and refuses a struct whose names collide with one already registered. [`negotiate`](expose::negotiate) picks
//! the [`Format`] from an `Accept` header (OpenMetrics when the header prefers it, as
//! Prometheus' does; Prometheus text otherwise), and [`Format::content_type`] is the matching
//! `Content-Type`.
//!
//! ```
//! use metrics_runtime::{Counter, Format, Gauge, Metrics, Registry};
//! use metrics_runtime::expose::negotiate;
//!
//! #[derive(Metrics)]
//! #[metrics(namespace = "api")]
//! struct Api {
//!     /// Calls served.
//!     calls_total: Counter,
//! }
//!
//! #[derive(Metrics)]
//! #[metrics(namespace = "pool")]
//! struct Pool {
//!     /// Open connections.
//!     connections: Gauge,
//! }
//!
//! static API: Api = Api::new();
//! static POOL: Pool = Pool::new();
//!
//! API.calls_total.inc();
//! assert_eq!(
//!     API.render_prometheus(),
//!     "# HELP api_calls_total Calls served.\n# TYPE api_calls_total counter\napi_calls_total 1\n"
//! );
//!
//! let mut registry = Registry::new();
//! registry.register(&API).unwrap();
//! registry.register(&POOL).unwrap();
//! assert!(registry.register(&API).is_err()); // `api_calls_total` is already exposed
//!
//! let format = negotiate(Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"));
//! assert_eq!(format, Format::OpenMetrics);
//! let text = registry.render(format);
//! assert!(text.contains("# TYPE api_calls counter\n"));
//! assert!(text.contains("api_calls_total 1\n"));
//! assert!(text.contains("pool_connections 0.0\n"));
//! assert!(text.ends_with("# EOF\n"));
//! assert!(registry.render_json().starts_with("{\"metrics\":["));
//! ```
//!
//! With the `http` feature, `http::serve` runs a `/metrics` endpoint on tokio and hyper
//! (bounded connections, header timeouts, graceful shutdown, content negotiation and gzip), and
//! `http::respond` answers one request, for mounting in an axum or hyper router:
//!
//! ```
//! # #[cfg(feature = "http")]
//! # async fn run(registry: metrics_runtime::Registry) -> std::io::Result<()> {
//! use std::sync::Arc;
//!
//! use metrics_runtime::http::{serve, ServerConfig};
//!
//! let server = serve(Arc::new(registry), ServerConfig::default()).await?; // 127.0.0.1:9898/metrics
//! println!("metrics at http://{}/metrics", server.local_addr());
//! // ... run the application ...
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Run-time metrics
//!
//! Metrics whose names or label values are only known at run time (per tenant, per queue,
//! loaded from configuration) go in a [`BoundedRegistry`](dynamic::BoundedRegistry). It applies the naming rules of the
//! derive when a family is created, and bounds what input can cost: a series cap per family and
//! in total, a family cap, and a limit on new series per second. What does not fit is recorded
//! into the family's overflow series (every label [`OVERFLOW_VALUE`](dynamic::OVERFLOW_VALUE)) and counted, never
//! dropped. Unlike the derived metrics, it hashes and locks to find a series; a
//! [`DynCounterSeries`](dynamic::DynCounterSeries) handle skips the lookup.
//!
//! ```
//! use metrics_runtime::Metrics;
//! use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, DynamicError};
//!
//! let registry = BoundedRegistry::new(BoundedConfig { max_series_per_family: 2, ..BoundedConfig::default() });
//! let requests = registry.counter("tenant_requests_total", "Requests, by tenant.", &["tenant"]).unwrap();
//! requests.inc(&["acme"]).unwrap();
//! let acme = requests.with(&["acme"]).unwrap(); // a handle: no lookup from here on
//! acme.add(2);
//! assert_eq!(acme.get(), 3);
//! requests.inc(&["globex"]).unwrap();
//! requests.inc(&["initech"]).unwrap(); // a third tenant: over the cap
//! assert_eq!(requests.overflowed(), 1);
//!
//! let sizes = registry.histogram("upload_size_bytes", "Upload sizes.", &["tenant"], &[1e3, 1e6]).unwrap();
//! sizes.record(&["acme"], 5e5).unwrap();
//!
//! // The derive's rules, checked at run time.
//! let err = registry.counter("tenant_errors", "Errors, by tenant.", &["tenant"]).unwrap_err();
//! assert!(matches!(err, DynamicError::InvalidName { .. }));
//!
//! let text = registry.render_prometheus();
//! assert!(text.contains("tenant_requests_total{tenant=\"acme\"} 3\n"));
//! assert!(text.contains("tenant_requests_total{tenant=\"__overflow__\"} 1\n"));
//! assert!(text.contains("upload_size_bytes_bucket{tenant=\"acme\",le=\"1000000.0\"} 1\n"));
//! ```
//!
//! # Contention
//!
//! A counter series is one `AtomicU64`; when many threads add to the same series at once, that
//! cache line moves between cores. Two remedies, both exported like a [`Counter`]:
//!
//! - [`ShardedCounter`] as the field type: each series is [`SHARDS`] stripes on separate cache
//!   lines, summed when read; up to 8 threads at once each own a stripe and add to it without
//!   a locked instruction. 1.5 KiB per series instead of 8 bytes: for a few hot series.
//! - [`LocalBatch`]: a thread counts in a local variable and publishes to a counter series every
//!   `bound` increments and when dropped. A scrape misses at most `bound - 1` increments per
//!   live batch.
//!
//! ```
//! use metrics_runtime::{Counter, LocalBatch, Metrics, ShardedCounter};
//!
//! #[derive(Metrics)]
//! struct Net {
//!     /// Packets received, on every core.
//!     packets_total: ShardedCounter,
//!     /// Bytes received.
//!     #[metric(unit = "bytes")]
//!     received_bytes_total: Counter,
//! }
//!
//! static NET: Net = Net::new();
//!
//! std::thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| {
//!             let mut bytes = LocalBatch::new(NET.received_bytes_total.with(()), 1 << 20);
//!             for _ in 0..1000 {
//!                 NET.packets_total.inc();
//!                 bytes.add(1500);
//!             }
//!         }); // `bytes` is dropped here and publishes what is pending
//!     }
//! });
//! assert_eq!(NET.packets_total.get(), 4000);
//! assert_eq!(NET.received_bytes_total.get(), 6_000_000);
//! assert!(NET.render_prometheus().contains("packets_total 4000\n"));
//! ```
//!
//! # Sampling
//!
//! An [`AdaptiveSampler`](sampling::AdaptiveSampler) keeps one record in N and records it with weight N, so `_count` and
//! `_sum` stay unbiased; N is fixed, follows a target rate, or adapts to load with hysteresis.
//! Metrics without a sampler pay nothing.
//!
//! ```
//! use metrics_runtime::Histogram;
//! use metrics_runtime::sampling::AdaptiveSampler;
//!
//! static LATENCY: Histogram = Histogram::new();
//! static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(10);
//! for i in 0..1000 {
//!     SAMPLER.record(&LATENCY, f64::from(i % 7) / 100.0);
//! }
//! assert_eq!(LATENCY.count(), 1000); // 100 kept, each counted 10 times
//! assert_eq!(SAMPLER.kept(), 100);
//! ```
//!
//! # Aggregation and windows
//!
//! Sums over a tag dimension are one pass over the series array; `snapshot()` returns plain
//! data (serde with the `serde` feature); windows are fixed rings read lazily, with no
//! background thread and an injectable clock.
//!
//! ```
//! use metrics_runtime::{Counter, Tag, TagSet};
//! use metrics_runtime::window::{ManualClock, WindowedCounter};
//!
//! #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
//! #[tag(rename_all = "UPPERCASE")]
//! enum Method { Get, Post }
//!
//! #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
//! enum Status { #[tag(value = "2xx")] Ok, #[tag(value = "5xx")] Error }
//!
//! #[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
//! struct Http { method: Method, status: Status }
//!
//! let requests: Counter<Http> = Counter::new();
//! requests.with(Http { method: Method::Get, status: Status::Ok }).add(3);
//! requests.with(Http { method: Method::Get, status: Status::Error }).inc();
//! requests.with(Http { method: Method::Post, status: Status::Ok }).add(2);
//! let by_method = requests.sum_by_label("method").unwrap();
//! assert_eq!(by_method, vec![("GET", 4), ("POST", 2)]);
//! assert_eq!(requests.total(), 6);
//!
//! let clock = ManualClock::new();
//! let rate: WindowedCounter<60, &ManualClock> = WindowedCounter::with_clock(std::time::Duration::from_secs(1), &clock);
//! rate.add(120);
//! clock.advance(std::time::Duration::from_secs(1));
//! assert_eq!(rate.rate_per_sec(std::time::Duration::from_secs(2)), 60.0);
//! ```
//!
//! # Memory
//!
//! Counters, gauges and histograms live inline in the struct, sized by their types: 8 bytes per
//! counter or gauge series; `B * 16 + 16` bytes per histogram series (`B` bucket slots, 16 by
//! default, each a count and a sum in one 16-byte atomic word, plus a flag). Summaries add heap for their staging buffers and t-digests, at most
//! [`series_heap_bound`] bytes per series whatever the record rate. [`Metrics::memory_bytes`]
//! reports the total: `size_of_val` plus [`Metrics::heap_bytes`]. The product of a metric's tag
//! value counts is checked against `max_series` at compile time (see below).
//!
//! ```
//! use metrics_runtime::{series_heap_bound, Counter, Histogram, Metrics, Summary, Tag, DEFAULT_COMPRESSION};
//!
//! #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
//! #[tag(rename_all = "lowercase")]
//! enum Shard { A, B, C, D }
//!
//! #[derive(Metrics)]
//! struct Store {
//!     /// Reads, by shard.
//!     reads_total: Counter<Shard>,
//!     /// Read time, by shard.
//!     #[metric(unit = "seconds")]
//!     read_seconds: Histogram<Shard>,
//!     /// Write time quantiles.
//!     #[metric(unit = "seconds")]
//!     write_seconds: Summary,
//! }
//!
//! assert_eq!(std::mem::size_of::<Counter<Shard>>(), 4 * 8);
//!
//! let store = Store::new();
//! for _ in 0..10_000 {
//!     store.write_seconds.record(0.01);
//! }
//! let inline = std::mem::size_of::<Store>();
//! assert_eq!(store.memory_bytes(), inline + store.heap_bytes());
//! assert!(store.heap_bytes() <= series_heap_bound(DEFAULT_COMPRESSION));
//! ```
//!
//! # Compile-time rules
//!
//! Metric names outside `[a-zA-Z_][a-zA-Z0-9_]*` (`:` is reserved for recording rules) or
//! starting with `__`; counters not ending in `_total`; a `unit` the name does not end with;
//! non-base units (`milliseconds`: use `seconds`); names whose series collide; gauges,
//! histograms and summaries ending in a reserved suffix; invalid, reserved (`le` and
//! `quantile`, on every metric type, so that a metric can change type without a rename) or
//! duplicate tag names; empty or duplicate tag values; non-finite or unordered buckets; quantiles outside
//! (0, 1); more series than `max_series` (default 10 000); a missing HELP; an unknown attribute
//! key; an unsupported field type; a generic struct. Each is an error on the offending token,
//! and all errors of an item are reported together. In short: what `promtool check metrics`
//! would flag in the output does not compile.
//!
//! ```compile_fail
//! use metrics_runtime::{Counter, Metrics};
//!
//! #[derive(Metrics)]
//! struct App {
//!     /// Requests served.
//!     requests: Counter, // error: counter `requests` must end in `_total`; rename it to `requests_total`
//! }
//! ```
//!
//! # Feature flags
//!
//! None is enabled by default:
//!
//! ```toml
//! [dependencies]
//! metrics-runtime = { version = "0.1", features = ["http"] }
//! ```
//!
//! - `http`: the `http` module: `http::serve` and `http::respond`, a `/metrics` endpoint on
//!   tokio and hyper 1.x with content negotiation and gzip.
//! - `otlp`, `remote-write`, `pushgateway`: the `push` module's exporters (OTLP/HTTP,
//!   Prometheus remote write 1.0, the Pushgateway) on one push pipeline (bounded queue,
//!   retries with backoff, circuit breaker, load shedding); `push` alone gives only the
//!   pieces every exporter shares (`push::Source`, the circuit breaker, `PUSH_STATS`).
//! - `statsd`: the `statsd` module: StatsD / DogStatsD push over UDP on tokio, with a bounded
//!   batcher and a circuit breaker.
//! - `tokio-metrics`: the `tokio_metrics` module: a tokio runtime's stable metrics at scrape
//!   time.
//! - `metrics-facade`: the `facade` module: a `metrics::Recorder` into a `BoundedRegistry`.
//! - `protobuf`: `Format::Protobuf` and `expose::ProtobufWriter`, the Prometheus protobuf
//!   format that carries native histograms (prost types generated from the official schema).
//! - `process`: the `process` module: `process_*` metrics read from `/proc` at scrape time.
//! - `serde`: `Serialize` and `Deserialize` for `Snapshot` and the types in it.
//! - `catalog`: the `catalog` module: a JSON and Markdown catalog of every metric, Prometheus
//!   recording and burn-rate alerting rules, and a Grafana dashboard, from the schema.
//! - `tls`: the `tls` module: rustls for the `/metrics` server (`ServerConfig::tls`) and the
//!   HTTP push exporters (`https://` URLs, `PushConfig::tls`).
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod aggregate;
mod batch;
mod callback;
#[cfg(feature = "catalog")]
pub mod catalog;
mod cell;
mod clock;
mod const_labels;
mod counter;
mod desc;
pub mod dynamic;
pub mod energy;
pub mod exemplar;
pub mod expose;
#[cfg(feature = "metrics-facade")]
pub mod facade;
mod family;
mod gauge;
mod group;
mod histogram;
#[cfg(feature = "http")]
pub mod http;
mod info;
mod native;
#[cfg(feature = "process")]
pub mod process;
#[cfg(feature = "push")]
pub mod push;
mod read;
mod registry;
pub mod sampling;
mod sharded;
pub mod snapshot;
#[cfg(feature = "statsd")]
pub mod statsd;
mod summary;
mod tag;
mod timer;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(feature = "tokio-metrics")]
pub mod tokio_metrics;
pub mod window;

// The derives name `::metrics_runtime`; this makes that path work inside the crate too.
extern crate self as metrics_runtime;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use batch::MetricBatch;
pub use callback::{CallbackCounter, CallbackError, CallbackGauge};
pub use cell::{ConstInit, SeriesArray};
pub use counter::{Counter, CounterSeries};
pub use expose::Format;
pub use family::{Count, Family, SeriesCell};
pub use gauge::{Gauge, GaugeSeries};
pub use group::Metrics;
pub use histogram::{Histogram, HistogramHandle, HistogramSeries, DEFAULT_BUCKETS};
pub use info::{Info, InfoError, RUSTC_VERSION};
/// Times a function into a Histogram or Summary on every exit path; see the crate docs.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{timed, Histogram, Outcome};
///
/// static PARSE_SECONDS: Histogram<Outcome> = Histogram::new();
///
/// #[timed(PARSE_SECONDS)]
/// fn parse_port(text: &str) -> Result<u16, String> {
///     let port: u16 = text.parse().map_err(|_| format!("`{text}` is not a port"))?; // timed too
///     Ok(port)
/// }
///
/// assert_eq!(parse_port("8080"), Ok(8080));
/// assert!(parse_port("http").is_err());
/// assert_eq!(PARSE_SECONDS.with(Outcome::Ok).count(), 1);
/// assert_eq!(PARSE_SECONDS.with(Outcome::Error).count(), 1);
/// ```
pub use metrics_derive::timed;
pub use metrics_derive::{Metrics, Tag, TagSet};
pub use native::{
    NativeConfig, NativeHandle, NativeHistogram, NativeRead, NativeSeries, DEFAULT_NATIVE_MAX_BUCKETS,
    DEFAULT_NATIVE_SCHEMA, DEFAULT_NATIVE_SLOTS, DEFAULT_NATIVE_ZERO_THRESHOLD,
};
pub use read::{
    process_start_time, BoundTexts, HistogramRead, Labels, MetricDesc, MetricKind, MetricShape, NativeShape, Objective,
    PrefixTable, Series, Slo, SummaryRead, Visitor,
};
pub use registry::{Registry, RegistryError};
pub use sharded::{LocalBatch, ShardedCounter, ShardedSeries, SHARDS};
pub use snapshot::MetricsExt;
pub use summary::{
    series_heap_bound, Summary, SummaryConfig, SummaryHandle, SummarySeries, SummarySnapshot, BUFFER_SLOTS,
    DEFAULT_COMPRESSION, STAGED_VALUES, STAGE_PAGES, STAGE_SUB_BUCKETS, SUB_WINDOWS, SUMMARY_MAX_VALUE,
};
pub use tag::{ParseTagError, Tag, TagSet, TagSetError};
pub use timer::{Outcome, OutcomeFn, RecordDuration, Timed, TimedExt, Timer, ToOutcome};
