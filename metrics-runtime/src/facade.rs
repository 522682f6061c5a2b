//! A bridge from the `metrics` facade (feature `metrics-facade`): a [`metrics::Recorder`] that
//! routes `counter!`, `gauge!` and `histogram!` into a [`BoundedRegistry`], so that libraries
//! instrumented with the facade (HTTP clients, database pools, runtimes) are served on the same
//! endpoint as the derived structs, under the same name rules, caps and overflow.
//!
//! - **Names**: the facade's name with every character a Prometheus name cannot hold turned
//!   into `_` (`http.client.requests` becomes `http_client_requests`), the unit of its
//!   `describe_*` as a suffix when the name lacks it (`_seconds`, `_bytes`, `_ratio`...), and
//!   `_total` after a counter's; then the registry's name rules, as for any run-time metric. A
//!   name the rules refuse, one that a derived struct already exposes
//!   ([`FacadeRecorder::reserve`]), or one registered before with another kind or other label
//!   names, gets a no-op handle, and the refusal is counted in `metrics_facade_refused_total`.
//! - **Labels**: the key's labels, sorted by name (so that call sites giving them in another
//!   order are one series); values go through the registry's caps (the overflow series past
//!   them).
//! - **HELP**: the `describe_*` text when it came before the first use, else
//!   `Recorded through the metrics facade.`
//! - **Histograms**: classic histograms with [`FacadeConfig::buckets`].
//!
//! Every handle keeps its series (the registry does not evict a series a handle holds), as
//! `metrics`' own exporters keep theirs.
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
//! use metrics_runtime::facade::{FacadeConfig, FacadeRecorder};
//! use metrics_runtime::{Counter, Metrics, Registry};
//!
//! #[derive(Metrics)]
//! #[metrics(namespace = "shop")]
//! struct Shop {
//!     /// Orders placed.
//!     orders_total: Counter,
//! }
//! static SHOP: Shop = Shop::new();
//!
//! let dynamic = Arc::new(BoundedRegistry::new(BoundedConfig::default()));
//! let recorder = FacadeRecorder::new(Arc::clone(&dynamic), FacadeConfig::default());
//! recorder.reserve(&SHOP); // the facade may not reuse these names
//! let mut registry = Registry::new();
//! registry.register(&SHOP).unwrap();
//! registry.register_arc(dynamic).unwrap();
//! registry.register_arc(recorder.stats()).unwrap();
//!
//! // What a library does (here with a local recorder; `metrics::set_global_recorder` installs
//! // it for the whole process).
//! metrics::with_local_recorder(&recorder, || {
//!     metrics::describe_counter!("http.client.requests", "Requests sent, by method.");
//!     metrics::counter!("http.client.requests", "method" => "GET").increment(3);
//!     metrics::counter!("shop_orders_total").increment(1); // a derived struct's name: refused
//! });
//! let text = registry.render_prometheus();
//! assert!(text.contains("# HELP http_client_requests_total Requests sent, by method.\n"));
//! assert!(text.contains("http_client_requests_total{method=\"GET\"} 3\n"));
//! assert!(text.contains("shop_orders_total 0\n"));
//! assert!(text.contains("metrics_facade_refused_total{reason=\"reserved_name\"} 1\n"));
//! ```

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{Arc, Mutex, RwLock};

use metrics::{CounterFn, GaugeFn, HistogramFn, Key, KeyName, Metadata, SharedString, Unit};

use crate::dynamic::{BoundedRegistry, DynCounterSeries, DynGauge, DynHistogram, DynamicError};
use crate::{Counter, MetricKind, Metrics, Tag};

/// The settings of a [`FacadeRecorder`].
///
/// # Examples
///
/// ```
/// use metrics_runtime::facade::FacadeConfig;
///
/// assert_eq!(FacadeConfig::default().buckets.len(), 11);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FacadeConfig {
    /// The bucket bounds of every facade histogram. Default: the Prometheus clients' default
    /// buckets, 5 ms to 10 s.
    pub buckets: Vec<f64>,
}

impl Default for FacadeConfig {
    fn default() -> Self {
        Self { buckets: vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0] }
    }
}

/// Why a facade registration got a no-op handle: the `reason` label of
/// `metrics_facade_refused_total`.
#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[tag(name = "reason", rename_all = "snake_case")]
pub enum RefuseReason {
    /// A derived struct exposes the name ([`FacadeRecorder::reserve`]).
    ReservedName,
    /// The registry refused the name, the label names or the family (name rules, caps).
    Invalid,
    /// The name was registered before with another kind or other label names, or one of its
    /// exposed names is another metric's (a gauge `x` beside a counter `x_total`).
    Conflict,
}

/// The facade bridge's own metrics.
#[derive(Metrics)]
#[metrics(namespace = "metrics_facade")]
pub struct FacadeStats {
    /// Registrations through the `metrics` facade that got a no-op handle, by reason.
    pub refused_total: Counter<RefuseReason>,
}

impl std::fmt::Debug for FacadeStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FacadeStats").field("refused", &self.refused_total.total()).finish()
    }
}

/// Passes on the hash a [`Key`] computed once (its `Hash` writes that one `u64`).
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached for `Key` (it writes its hash with `write_u64`); kept total and cheap.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0 ^ u64::from_le_bytes(word)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
}

type KeyMap<V> = HashMap<Key, V, BuildHasherDefault<PreHashed>>;

/// Handles by key, in shards chosen by the key's hash: a lookup takes one shard's read lock.
struct Shards<V> {
    shards: Box<[RwLock<KeyMap<V>>]>,
}

impl<V: Clone> Shards<V> {
    fn new() -> Self {
        let n = std::thread::available_parallelism().map_or(4, |n| n.get()).next_power_of_two() * 4;
        Self { shards: (0..n).map(|_| RwLock::new(KeyMap::default())).collect() }
    }

    fn shard(&self, key: &Key) -> &RwLock<KeyMap<V>> {
        let mut h = PreHashed::default();
        key.hash(&mut h);
        // The high bits: the map inside uses the low ones.
        &self.shards[(h.finish() >> 40) as usize & (self.shards.len() - 1)]
    }

    fn get_or(&self, key: &Key, make: impl FnOnce() -> V) -> V {
        let shard = self.shard(key);
        if let Some(v) = shard.read().unwrap_or_else(|p| p.into_inner()).get(key) {
            return v.clone();
        }
        let mut map = shard.write().unwrap_or_else(|p| p.into_inner());
        map.entry(key.clone()).or_insert_with(make).clone()
    }
}

/// A family made for a facade name: its kind and label names, for conflicts.
#[derive(Clone)]
enum Family {
    Counter(crate::dynamic::DynCounter, Vec<String>),
    Gauge(DynGauge, Vec<String>),
    Histogram(DynHistogram, Vec<String>),
}

struct Inner {
    registry: Arc<BoundedRegistry>,
    config: FacadeConfig,
    reserved: RwLock<HashSet<String>>,
    descriptions: Mutex<HashMap<String, (Option<Unit>, String)>>,
    families: Mutex<HashMap<String, Family>>,
    counters: Shards<Option<Arc<FacadeCounter>>>,
    gauges: Shards<Option<Arc<FacadeGauge>>>,
    histograms: Shards<Option<Arc<FacadeHistogram>>>,
    stats: Arc<FacadeStats>,
}

/// A [`metrics::Recorder`] into a [`BoundedRegistry`] (see [the module](self)).
#[derive(Clone)]
pub struct FacadeRecorder {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FacadeRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FacadeRecorder").field("registry", &self.inner.registry).finish_non_exhaustive()
    }
}

impl FacadeRecorder {
    /// A recorder whose metrics go into `registry` (register the registry in the
    /// [`Registry`](crate::Registry) the endpoint serves).
    pub fn new(registry: Arc<BoundedRegistry>, config: FacadeConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                registry,
                config,
                reserved: RwLock::new(HashSet::new()),
                descriptions: Mutex::new(HashMap::new()),
                families: Mutex::new(HashMap::new()),
                counters: Shards::new(),
                gauges: Shards::new(),
                histograms: Shards::new(),
                stats: Arc::new(FacadeStats::new()),
            }),
        }
    }

    /// Refuses to the facade every name that `metrics` exposes (each sample name: a histogram's
    /// `_bucket`, `_sum` and `_count` too): a library cannot shadow a derived struct's metric.
    pub fn reserve(&self, metrics: &dyn Metrics) {
        let mut reserved = self.inner.reserved.write().unwrap_or_else(|p| p.into_inner());
        for d in metrics.descriptors() {
            for name in d.kind.exposed_names(d.name) {
                reserved.insert(name);
            }
        }
    }

    /// The bridge's own metrics (`metrics_facade_refused_total`), to register beside the
    /// registry.
    pub fn stats(&self) -> Arc<FacadeStats> {
        Arc::clone(&self.inner.stats)
    }

    /// Installs this recorder as the process's `metrics` recorder.
    ///
    /// # Errors
    ///
    /// When a recorder is installed already.
    pub fn install(self) -> Result<(), metrics::SetRecorderError<Self>> {
        metrics::set_global_recorder(self)
    }
}

/// The exposed name of a facade name: invalid characters to `_`, the unit suffix, `_total`.
fn exposed_name(name: &str, unit: Option<Unit>, counter: bool) -> String {
    let mut out: String = name
        .chars()
        .enumerate()
        .map(
            |(i, c)| {
                if c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()) {
                    c
                } else {
                    '_'
                }
            },
        )
        .collect();
    if counter {
        if let Some(base) = out.strip_suffix("_total") {
            out = base.to_owned();
        }
    }
    let suffix = match unit {
        Some(Unit::Seconds) => "seconds",
        Some(Unit::Milliseconds) => "milliseconds",
        Some(Unit::Microseconds) => "microseconds",
        Some(Unit::Nanoseconds) => "nanoseconds",
        Some(Unit::Bytes) => "bytes",
        Some(Unit::Percent) => "percent",
        _ => "",
    };
    if !suffix.is_empty() && !out.ends_with(&format!("_{suffix}")) {
        out.push('_');
        out.push_str(suffix);
    }
    if counter {
        out.push_str("_total");
    }
    out
}

/// A key's label names and values, sorted by name.
fn sorted_labels(key: &Key) -> (Vec<String>, Vec<String>) {
    let mut labels: Vec<(&str, &str)> = key.labels().map(|l| (l.key(), l.value())).collect();
    labels.sort_by(|a, b| a.0.cmp(b.0));
    labels.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).unzip()
}

/// At most this many labels per facade series (values are passed on the stack).
const MAX_LABELS: usize = 16;

impl Inner {
    fn refuse(&self, reason: RefuseReason) {
        self.stats.refused_total.with(reason).inc();
    }

    /// The family for `key` of kind `kind` (a counter, gauge or histogram), made on first use.
    fn family(&self, key: &Key, kind: MetricKind) -> Option<(Family, Vec<String>)> {
        let (names, values) = sorted_labels(key);
        if names.len() > MAX_LABELS {
            self.refuse(RefuseReason::Invalid);
            return None;
        }
        let (unit, help) = self
            .descriptions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key.name())
            .cloned()
            .unwrap_or((None, String::new()));
        let name = exposed_name(key.name(), unit, kind == MetricKind::Counter);
        if self.reserved.read().unwrap_or_else(|p| p.into_inner()).contains(&name) {
            self.refuse(RefuseReason::ReservedName);
            return None;
        }
        let help = if help.trim().is_empty() { "Recorded through the metrics facade.".to_owned() } else { help };
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(family) = families.get(&name) {
            let same = match (family, kind) {
                (Family::Counter(_, n), MetricKind::Counter)
                | (Family::Gauge(_, n), MetricKind::Gauge)
                | (Family::Histogram(_, n), MetricKind::Histogram) => *n == names,
                _ => false,
            };
            if !same {
                self.refuse(RefuseReason::Conflict);
                return None;
            }
            return Some((family.clone(), values));
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let made = match kind {
            MetricKind::Counter => self.registry.counter(&name, &help, &refs).map(|f| Family::Counter(f, names)),
            MetricKind::Gauge => self.registry.gauge(&name, &help, &refs).map(|f| Family::Gauge(f, names)),
            _ => {
                self.registry.histogram(&name, &help, &refs, &self.config.buckets).map(|f| Family::Histogram(f, names))
            }
        };
        match made {
            Ok(family) => {
                families.insert(name, family.clone());
                Some((family, values))
            }
            Err(DynamicError::DuplicateName { .. }) => {
                self.refuse(RefuseReason::Conflict);
                None
            }
            Err(_) => {
                self.refuse(RefuseReason::Invalid);
                None
            }
        }
    }
}

/// Label values on the stack.
fn with_values<R>(values: &[String], f: impl FnOnce(&[&str]) -> R) -> R {
    let mut refs = [""; MAX_LABELS];
    for (slot, v) in refs.iter_mut().zip(values) {
        *slot = v;
    }
    f(&refs[..values.len()])
}

/// A facade counter: one series of the registry.
struct FacadeCounter(DynCounterSeries);

impl CounterFn for FacadeCounter {
    fn increment(&self, value: u64) {
        self.0.add(value);
    }

    fn absolute(&self, value: u64) {
        // A counter only goes up: raise it to `value` if it is below.
        let now = self.0.get();
        if value > now {
            self.0.add(value - now);
        }
    }
}

/// A facade gauge: a family and the series' label values.
struct FacadeGauge(DynGauge, Vec<String>);

impl GaugeFn for FacadeGauge {
    fn increment(&self, value: f64) {
        let _ = with_values(&self.1, |v| self.0.add(v, value));
    }

    fn decrement(&self, value: f64) {
        let _ = with_values(&self.1, |v| self.0.add(v, -value));
    }

    fn set(&self, value: f64) {
        let _ = with_values(&self.1, |v| self.0.set(v, value));
    }
}

/// A facade histogram: a family and the series' label values.
struct FacadeHistogram(DynHistogram, Vec<String>);

impl HistogramFn for FacadeHistogram {
    fn record(&self, value: f64) {
        let _ = with_values(&self.1, |v| self.0.record(v, value));
    }
}

impl metrics::Recorder for FacadeRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> metrics::Counter {
        let inner = &self.inner;
        let handle = inner.counters.get_or(key, || {
            let (Family::Counter(family, _), values) = inner.family(key, MetricKind::Counter)? else { return None };
            let series = with_values(&values, |v| family.with(v)).ok()?;
            Some(Arc::new(FacadeCounter(series)))
        });
        handle.map_or_else(metrics::Counter::noop, metrics::Counter::from_arc)
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> metrics::Gauge {
        let inner = &self.inner;
        let handle = inner.gauges.get_or(key, || {
            let (Family::Gauge(family, _), values) = inner.family(key, MetricKind::Gauge)? else { return None };
            Some(Arc::new(FacadeGauge(family, values)))
        });
        handle.map_or_else(metrics::Gauge::noop, metrics::Gauge::from_arc)
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> metrics::Histogram {
        let inner = &self.inner;
        let handle = inner.histograms.get_or(key, || {
            let (Family::Histogram(family, _), values) = inner.family(key, MetricKind::Histogram)? else { return None };
            Some(Arc::new(FacadeHistogram(family, values)))
        });
        handle.map_or_else(metrics::Histogram::noop, metrics::Histogram::from_arc)
    }
}

impl FacadeRecorder {
    fn describe(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        let mut descriptions = self.inner.descriptions.lock().unwrap_or_else(|p| p.into_inner());
        descriptions.insert(key.as_str().to_owned(), (unit, description.into_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_prometheus_names() {
        assert_eq!(exposed_name("http.client.requests", None, true), "http_client_requests_total");
        assert_eq!(exposed_name("jobs_total", None, true), "jobs_total");
        assert_eq!(exposed_name("db.query", Some(Unit::Seconds), false), "db_query_seconds");
        assert_eq!(exposed_name("db_query_seconds", Some(Unit::Seconds), false), "db_query_seconds");
        assert_eq!(exposed_name("sent", Some(Unit::Bytes), true), "sent_bytes_total");
        assert_eq!(exposed_name("9lives-x", None, false), "_lives_x");
    }
}
