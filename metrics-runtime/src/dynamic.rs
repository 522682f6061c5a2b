//! Metrics only known at run time, kept bounded: [`BoundedRegistry`].
//!
//! Names and labels are checked by the same rules as `#[derive(Metrics)]` (the `metrics-rules`
//! crate); label values are strings checked at run time. Every family has a series cap, the
//! registry a total cap and a creation rate limit; what does not fit is recorded into the
//! family's overflow series (every label `__overflow__`) and counted, never dropped.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use crate::expose::push_json_str;
use crate::group::Metrics;
use crate::histogram::{atomic_f64_add, bucket_index, read_buckets, BucketCell};
use crate::read::{BoundTexts, HistogramRead, Labels, MetricDesc, MetricKind, Series as ReadSeries, Visitor};

/// The label value of overflow series.
///
/// # Examples
///
/// ```
/// use metrics_runtime::Metrics;
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, OVERFLOW_VALUE};
///
/// let registry = BoundedRegistry::new(BoundedConfig { max_series_per_family: 1, ..BoundedConfig::default() });
/// let logins = registry.counter("tenant_logins_total", "Logins, by tenant and region.", &["tenant", "region"]).unwrap();
/// logins.inc(&["acme", "eu"]).unwrap();
/// logins.inc(&["globex", "us"]).unwrap(); // over the cap
/// let overflow = format!("tenant_logins_total{{tenant=\"{OVERFLOW_VALUE}\",region=\"{OVERFLOW_VALUE}\"}} 1\n");
/// assert!(registry.render_prometheus().contains(&overflow));
/// ```
pub const OVERFLOW_VALUE: &str = "__overflow__";

/// Limits of a [`BoundedRegistry`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
///
/// let config = BoundedConfig {
///     max_series_per_family: 100,
///     max_series_total: 1_000,
///     max_new_series_per_sec: 50,
///     idle_timeout: Some(Duration::from_secs(600)),
///     ..BoundedConfig::default()
/// };
/// assert_eq!(config.max_families, 256); // the default
/// let registry = BoundedRegistry::new(config);
/// assert_eq!(registry.series_count(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct BoundedConfig {
    /// Series per family, overflow series excluded. Default 1 000.
    pub max_series_per_family: usize,
    /// Series over all families, overflow series excluded. Default 10 000.
    pub max_series_total: usize,
    /// Families. Default 256.
    pub max_families: usize,
    /// New series per second, over the registry (a token bucket with a burst of the same
    /// size). Default 1 000.
    pub max_new_series_per_sec: u32,
    /// Series with no update for this long are removed by the maintenance step
    /// ([`BoundedRegistry::maintain`]; never by a read). Make it longer than every reader's
    /// interval, so that each has read a series' last value before it goes. Removals are
    /// counted. `None` (the default) keeps every series.
    pub idle_timeout: Option<Duration>,
    /// What a new series does at a series cap: go to the overflow series (the default), or
    /// take the place of the least recently updated series of its family.
    pub eviction: Eviction,
}

/// What a [`BoundedRegistry`] does with a new series once a series cap is reached.
///
/// # Examples
///
/// ```
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, Eviction};
/// use metrics_runtime::Metrics;
///
/// let config = BoundedConfig { max_series_per_family: 3, eviction: Eviction::LeastRecentlyUsed, ..BoundedConfig::default() };
/// let registry = BoundedRegistry::new(config);
/// let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
/// for i in 0..20 {
///     registry.maintain(); // a scrape, say: a new period of "recently updated"
///     hits.inc(&["hot"]).unwrap(); // used in every period
///     hits.inc(&[&format!("cold-{i}")]).unwrap(); // used once each
/// }
/// let text = registry.render_prometheus();
/// assert!(text.contains("tenant_hits_total{tenant=\"hot\"} 20\n"), "{text}");
/// assert!(text.contains("tenant_hits_total{tenant=\"cold-19\"} 1\n"));
/// assert_eq!(registry.series_count(), 3);
/// assert_eq!(hits.overflowed(), 0); // evicted instead
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Eviction {
    /// New series past a cap go to the family's overflow series (`__overflow__`), counted.
    #[default]
    Overflow,
    /// A new series past a cap takes the place of a series of its family not updated
    /// recently, chosen by the CLOCK algorithm (an LRU approximation that costs the record path
    /// nothing: each update already sets the series' "updated" bit). "Recently" is since the
    /// last [`maintain`](BoundedRegistry::maintain) (the HTTP server and the exporters run it
    /// after each read) or since the CLOCK hand last passed the series: the hand skips a series
    /// updated since then, clearing its bit (a second chance), and evicts the first one not
    /// updated; among series all updated since the last maintenance, the oldest goes first. A
    /// series whose handle the application holds is never evicted; when every series is held,
    /// the new series goes to the overflow series. Evictions are counted in
    /// `evicted_series_total`.
    LeastRecentlyUsed,
}

impl Default for BoundedConfig {
    fn default() -> Self {
        Self {
            max_series_per_family: 1_000,
            max_series_total: 10_000,
            max_families: 256,
            max_new_series_per_sec: 1_000,
            idle_timeout: None,
            eviction: Eviction::Overflow,
        }
    }
}

/// What a [`BoundedRegistry`] refused, and why.
///
/// # Examples
///
/// ```
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, DynamicError};
///
/// let registry = BoundedRegistry::new(BoundedConfig { max_families: 2, ..BoundedConfig::default() });
/// let err = registry.counter("jobs", "Jobs run.", &[]).unwrap_err();
/// assert!(matches!(err, DynamicError::InvalidName { .. })); // a counter must end in `_total`
/// assert!(matches!(registry.gauge("queue_depth", " ", &[]), Err(DynamicError::MissingHelp { .. })));
/// assert!(matches!(registry.gauge("queue_depth", "Jobs waiting.", &["le-vel"]), Err(DynamicError::InvalidLabelName { .. })));
/// let buckets = registry.histogram("job_seconds", "Job time.", &[], &[1.0, 0.5]);
/// assert!(matches!(buckets, Err(DynamicError::InvalidBuckets { .. })));
///
/// let jobs = registry.counter("jobs_total", "Jobs run.", &["queue"]).unwrap();
/// assert_eq!(jobs.inc(&["fast", "eu"]), Err(DynamicError::LabelCount { expected: 1, given: 2 }));
/// assert!(matches!(jobs.inc(&[""]), Err(DynamicError::InvalidLabelValue { .. })));
/// assert_eq!(
///     registry.gauge("jobs", "Jobs.", &[]).unwrap_err(), // `jobs` is the counter's family name
///     DynamicError::DuplicateName { name: "jobs".into() }
/// );
///
/// let times = registry.histogram("job_seconds", "Job time.", &[], &[0.5, 1.0]).unwrap();
/// assert!(matches!(times.record(&[], f64::NAN), Err(DynamicError::InvalidValue { .. })));
/// let err = registry.gauge("workers", "Workers.", &[]).unwrap_err();
/// assert_eq!(err.to_string(), "the registry already holds its limit of 2 families; raise `max_families`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DynamicError {
    /// The metric name breaks a naming rule; the message says which and what to do.
    InvalidName {
        /// The name.
        name: String,
        /// The rule's message.
        reason: String,
    },
    /// A label name breaks a naming rule, or repeats.
    InvalidLabelName {
        /// The label name.
        name: String,
        /// The rule's message.
        reason: String,
    },
    /// A label value is not acceptable (empty, too long, or the reserved `__overflow__`);
    /// nothing was recorded.
    InvalidLabelValue {
        /// The label it was given for.
        label: String,
        /// The rule's message.
        reason: String,
    },
    /// A recorded value is NaN or infinite; nothing was recorded.
    InvalidValue {
        /// The rule's message.
        reason: String,
    },
    /// The number of label values differs from the family's label names.
    LabelCount {
        /// Label names of the family.
        expected: usize,
        /// Values given.
        given: usize,
    },
    /// The HELP text is empty.
    MissingHelp {
        /// The metric name.
        name: String,
    },
    /// The HELP text is longer than [`MAX_HELP_BYTES`](metrics_rules::MAX_HELP_BYTES).
    InvalidHelp {
        /// The metric name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A histogram's buckets are empty, not finite, or not strictly increasing.
    InvalidBuckets {
        /// What is wrong.
        reason: String,
    },
    /// The name is already used (by another family, or one of its series names collides).
    DuplicateName {
        /// The colliding name.
        name: String,
    },
    /// The registry already holds `max_families` families.
    TooManyFamilies {
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for DynamicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidName { reason, .. } => f.write_str(reason),
            Self::InvalidLabelName { reason, .. } => f.write_str(reason),
            Self::InvalidLabelValue { label, reason } => write!(f, "label `{label}`: {reason}"),
            Self::InvalidValue { reason } => f.write_str(reason),
            Self::LabelCount { expected, given } => {
                write!(f, "{given} label values given; this family has {expected} labels")
            }
            Self::MissingHelp { name } => write!(f, "metric `{name}` has no HELP text; say what it measures"),
            Self::InvalidHelp { name, reason } => write!(f, "metric `{name}`: {reason}; shorten it"),
            Self::InvalidBuckets { reason } => f.write_str(reason),
            Self::DuplicateName { name } => write!(f, "metric name `{name}` is already used; choose another"),
            Self::TooManyFamilies { limit } => {
                write!(f, "the registry already holds its limit of {limit} families; raise `max_families`")
            }
        }
    }
}

impl std::error::Error for DynamicError {}

/// Storage of one series: one cell for counters and gauges; buckets and the sum for histograms.
struct Series {
    /// The raw label values.
    values: Box<[Box<str>]>,
    /// `a="x",b="y"`, escaped once at creation.
    text: Box<str>,
    /// The value of a counter or a gauge; for a histogram, a flag set once a negative value was
    /// recorded.
    cells: Box<[AtomicU64]>,
    /// A histogram's buckets (count and sum of each); empty for other kinds.
    buckets: Box<[BucketCell]>,
    /// Set by every update, cleared by the maintenance step (for eviction).
    dirty: AtomicBool,
    /// Registry clock (ms since its creation) of the last maintenance that found the series
    /// updated, or of the series' creation.
    last_active_ms: AtomicU64,
    /// Registry clock of the series' creation: its start time (OpenMetrics `_created`).
    created_ms: u64,
}

impl Series {
    /// Whether the series' label values are `values`, value by value.
    fn has_values(&self, values: &[&str]) -> bool {
        self.values.iter().map(|v| &**v).eq(values.iter().copied())
    }

    fn heap_bytes(&self) -> usize {
        size_of::<Self>()
            + self.values.iter().map(|v| v.len() + size_of::<Box<str>>()).sum::<usize>()
            + self.text.len()
            + self.cells.len() * 8
            + self.buckets.len() * size_of::<BucketCell>()
    }
}

struct SeriesLabels<'a> {
    names: &'a [Box<str>],
    series: &'a Series,
}

impl Labels for SeriesLabels<'_> {
    fn len(&self) -> usize {
        self.names.len()
    }

    fn write_text(&self, out: &mut String) {
        out.push_str(&self.series.text);
    }

    fn write_json(&self, out: &mut String) {
        for (i, (name, value)) in self.names.iter().zip(self.series.values.iter()).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(name);
            out.push_str("\":\"");
            push_json_str(out, value);
            out.push('"');
        }
    }

    fn pairs(&self, f: &mut dyn FnMut(&str, &str)) {
        for (name, value) in self.names.iter().zip(self.series.values.iter()) {
            f(name, value);
        }
    }
}

/// Text of a family's descriptor, owned by the family (freed with the registry).
struct DescText {
    name: Box<str>,
    family: Box<str>,
    help: Box<str>,
    help_text: Box<str>,
    help_om: Box<str>,
    help_json: Box<str>,
}

struct Family {
    text: DescText,
    kind: MetricKind,
    label_names: Box<[Box<str>]>,
    bounds: Box<[f64]>,
    le: Box<[Box<str>]>,
    /// Random per family, so that label values cannot be chosen to collide.
    seed: u64,
    /// Series by the hash of their label values (already a hash: not hashed again);
    /// collisions chained and compared value by value.
    series: RwLock<HashMap<u64, Vec<Arc<Series>>, BuildHasherDefault<IdHasher>>>,
    count: AtomicUsize,
    overflow: Arc<Series>,
    /// Records that went to the overflow series.
    overflowed: AtomicU64,
    /// With [`Eviction::LeastRecentlyUsed`]: the series in the order the CLOCK hand visits
    /// them (weak: the queue does not keep a series), touched only under the `series` write
    /// lock.
    clock: Mutex<VecDeque<Weak<Series>>>,
    /// Set by [`BoundedRegistry::remove_family`]: handles left over create no series (they
    /// update the family's overflow series, which nothing reads).
    removed: AtomicBool,
}

impl Family {
    /// The descriptor, borrowing the family's text.
    fn desc(&self) -> MetricDesc<'_> {
        let t = &self.text;
        MetricDesc {
            name: &t.name,
            family: &t.family,
            kind: self.kind,
            help: &t.help,
            help_text: &t.help_text,
            help_om: &t.help_om,
            help_json: &t.help_json,
            unit: "",
            prefixes: &crate::read::PrefixTable::EMPTY,
            shape: &crate::read::MetricShape::EMPTY,
        }
    }

    /// Heap held by the family's own text and bounds.
    fn text_bytes(&self) -> usize {
        let t = &self.text;
        t.name.len()
            + t.family.len()
            + t.help.len()
            + t.help_om.len()
            + t.help_json.len()
            + self.label_names.iter().map(|l| l.len() + size_of::<Box<str>>()).sum::<usize>()
            + self.bounds.len() * 8
            + self.le.iter().map(|l| l.len() + size_of::<Box<str>>()).sum::<usize>()
    }

    /// The number of buckets of a series (the bounds and `+Inf` for a histogram).
    fn buckets(&self) -> usize {
        match self.kind {
            MetricKind::Counter | MetricKind::Gauge => 0,
            MetricKind::Histogram => self.bounds.len() + 1,
            MetricKind::Summary | MetricKind::Info => unreachable!("not offered at run time"),
        }
    }

    fn new_series(&self, values: &[&str]) -> Series {
        let mut text = String::new();
        crate::expose::push_label_text(&mut text, self.label_names.iter().map(|n| &**n).zip(values.iter().copied()));
        Series {
            values: values.iter().map(|v| Box::<str>::from(*v)).collect(),
            text: text.into_boxed_str(),
            cells: Box::new([AtomicU64::new(0)]),
            buckets: (0..self.buckets()).map(|_| BucketCell::INIT).collect(),
            dirty: AtomicBool::new(false),
            last_active_ms: AtomicU64::new(0),
            created_ms: 0,
        }
    }

    /// The series with these label values in `map`, comparing values along the hash's chain.
    fn find<'m>(
        map: &'m HashMap<u64, Vec<Arc<Series>>, BuildHasherDefault<IdHasher>>,
        hash: u64,
        values: &[&str],
    ) -> Option<&'m Arc<Series>> {
        map.get(&hash)?.iter().find(|s| s.has_values(values))
    }

    /// Takes the series of `values` (of `hash`) out of the map.
    fn take(
        map: &mut HashMap<u64, Vec<Arc<Series>>, BuildHasherDefault<IdHasher>>,
        hash: u64,
        values: &[&str],
    ) -> Option<Arc<Series>> {
        let chain = map.get_mut(&hash)?;
        let at = chain.iter().position(|s| s.has_values(values))?;
        let series = chain.swap_remove(at);
        if chain.is_empty() {
            map.remove(&hash);
        }
        Some(series)
    }

    /// The CLOCK sweep of [`Eviction::LeastRecentlyUsed`]: removes the first series the hand
    /// finds neither updated since it last passed nor held by a handle, giving updated ones a
    /// second chance. At most two turns of the queue; `false` when nothing could go.
    fn evict_one(&self, map: &mut HashMap<u64, Vec<Arc<Series>>, BuildHasherDefault<IdHasher>>, now_ms: u64) -> bool {
        let mut clock = self.clock.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..2 * clock.len() {
            let Some(weak) = clock.pop_front() else { return false };
            let Some(series) = weak.upgrade() else { continue }; // removed otherwise: forget it
                                                                 // The map's reference and ours: more means the application holds a handle.
            let held = Arc::strong_count(&series) > 2;
            if held || series.dirty.swap(false, Relaxed) {
                series.last_active_ms.store(now_ms, Relaxed);
                clock.push_back(weak);
                continue;
            }
            let values: Vec<&str> = series.values.iter().map(|v| &**v).collect();
            let hash = hash_values(self.seed, &values);
            if Family::take(map, hash, &values).is_some() {
                self.count.fetch_sub(1, Relaxed);
                return true;
            }
        }
        false
    }
}

/// Shared state of the registry that families need when they create series.
struct Shared {
    config: BoundedConfig,
    total: AtomicUsize,
    start: Instant,
    /// `start` in seconds since the Unix epoch.
    start_unix: f64,
    /// Token bucket of series creation: (tokens, last refill).
    bucket: Mutex<(f64, Instant)>,
    /// Records that went to an overflow series because of the rate limit.
    rate_limited: AtomicU64,
    evicted: AtomicU64,
    rejected: AtomicU64,
}

impl Shared {
    fn take_token(&self) -> bool {
        let rate = f64::from(self.config.max_new_series_per_sec);
        let mut bucket = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(bucket.1).as_secs_f64() * rate;
        bucket.0 = (bucket.0 + refill).min(rate.max(1.0));
        bucket.1 = now;
        if bucket.0 >= 1.0 {
            bucket.0 -= 1.0;
            true
        } else {
            false
        }
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }
}

/// A registry of metric families created at run time, bounded in series, families and
/// creation rate.
///
/// # Examples
///
/// ```
/// use metrics_runtime::Metrics;
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
///
/// let registry = BoundedRegistry::new(BoundedConfig { max_series_per_family: 2, ..Default::default() });
/// let hits = registry.counter("tenant_hits_total", "Hits by tenant.", &["tenant"]).unwrap();
/// hits.inc(&["acme"]).unwrap();
/// hits.inc(&["globex"]).unwrap();
/// hits.inc(&["initech"]).unwrap(); // past the cap: goes to the overflow series
/// assert!(hits.inc(&[""]).is_err()); // empty label values are refused
/// let text = registry.render_prometheus();
/// assert!(text.contains("tenant_hits_total{tenant=\"acme\"} 1\n"));
/// assert!(text.contains("tenant_hits_total{tenant=\"__overflow__\"} 1\n"));
/// assert_eq!(hits.overflowed(), 1);
/// assert!(registry.counter("bad-name_total", "x", &[]).is_err());
/// ```
pub struct BoundedRegistry {
    shared: Arc<Shared>,
    families: RwLock<Vec<Arc<Family>>>,
    names: Mutex<HashSet<String>>,
    own: OwnMetrics,
}

/// The registry's own counters, exported with its families.
#[derive(crate::Metrics)]
#[metrics(namespace = "metrics_runtime_dynamic")]
struct OwnMetrics {
    /// Records that went to an overflow series because a series cap was reached.
    overflow_records_total: crate::Counter,
    /// Records that went to an overflow series because of the series creation rate limit.
    rate_limited_records_total: crate::Counter,
    /// Idle series removed by maintenance.
    evicted_series_total: crate::Counter,
    /// Updates refused for an invalid label value (nothing recorded).
    rejected_updates_total: crate::Counter,
    /// Series held, overflow series excluded.
    series: crate::Gauge,
    /// Heap held by the registry's series, in bytes (an estimate of the map overhead included).
    #[metric(unit = "bytes")]
    memory_bytes: crate::Gauge,
}

impl BoundedRegistry {
    /// An empty registry with these limits.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// assert_eq!(registry.series_count(), 0);
    /// // Its own metrics are exported from the start.
    /// assert!(registry.render_prometheus().contains("metrics_runtime_dynamic_overflow_records_total 0\n"));
    /// ```
    pub fn new(config: BoundedConfig) -> Self {
        let rate = f64::from(config.max_new_series_per_sec).max(1.0);
        let shared = Shared {
            config,
            total: AtomicUsize::new(0),
            start: Instant::now(),
            start_unix: crate::read::now_unix(),
            bucket: Mutex::new((rate, Instant::now())),
            rate_limited: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        };
        let mut names = HashSet::new();
        for d in OwnMetrics::new().descriptors() {
            names.extend(d.kind.exposed_names(d.name));
        }
        Self {
            shared: Arc::new(shared),
            families: RwLock::new(Vec::new()),
            names: Mutex::new(names),
            own: OwnMetrics::new(),
        }
    }

    /// Refuses the names another source already exposes (for example a [`Registry`](crate::Registry)
    /// of derived structs that renders beside this one).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics};
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, DynamicError};
    ///
    /// #[derive(Metrics)]
    /// struct App {
    ///     /// Requests served.
    ///     requests_total: Counter,
    /// }
    /// static APP: App = App::new();
    ///
    /// let dynamic = BoundedRegistry::new(BoundedConfig::default());
    /// let taken: Vec<String> = APP.descriptors().iter().flat_map(|d| d.kind.exposed_names(d.name)).collect();
    /// dynamic.reserve_names(taken.iter().map(String::as_str));
    /// let err = dynamic.counter("requests_total", "Requests.", &["tenant"]).unwrap_err();
    /// assert_eq!(err, DynamicError::DuplicateName { name: "requests_total".into() });
    /// ```
    pub fn reserve_names<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        let mut set = self.names.lock().unwrap_or_else(|p| p.into_inner());
        set.extend(names.into_iter().map(str::to_owned));
    }

    fn family(
        &self,
        kind: MetricKind,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> Result<Arc<Family>, DynamicError> {
        let too_long = |what: &str, text: &str, limit| metrics_rules::check_length(what, text, limit);
        too_long("the metric name", name, metrics_rules::MAX_NAME_BYTES)
            .map_err(|reason| DynamicError::InvalidName { name: name.chars().take(64).collect(), reason })?;
        metrics_rules::check_metric(kind, name, name)
            .map_err(|reason| DynamicError::InvalidName { name: name.to_owned(), reason })?;
        if help.trim().is_empty() {
            return Err(DynamicError::MissingHelp { name: name.to_owned() });
        }
        too_long("the HELP text", help.trim(), metrics_rules::MAX_HELP_BYTES)
            .map_err(|reason| DynamicError::InvalidHelp { name: name.to_owned(), reason })?;
        for (i, label) in labels.iter().enumerate() {
            too_long("the label name", label, metrics_rules::MAX_NAME_BYTES)
                .map_err(|reason| DynamicError::InvalidLabelName { name: label.chars().take(64).collect(), reason })?;
            metrics_rules::check_label_name(label)
                .map_err(|reason| DynamicError::InvalidLabelName { name: (*label).to_owned(), reason })?;
            if labels[..i].contains(label) {
                return Err(DynamicError::InvalidLabelName {
                    name: (*label).to_owned(),
                    reason: format!("label `{label}` is given twice"),
                });
            }
        }
        if kind == MetricKind::Histogram {
            if buckets.is_empty() {
                return Err(DynamicError::InvalidBuckets {
                    reason: "buckets are empty; give at least one bound".into(),
                });
            }
            if buckets.iter().any(|b| !b.is_finite()) || buckets.windows(2).any(|w| w[0] >= w[1]) {
                return Err(DynamicError::InvalidBuckets {
                    reason: "buckets must be finite and strictly increasing".into(),
                });
            }
        }
        let mut families = self.families.write().unwrap_or_else(|p| p.into_inner());
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let exposed = kind.exposed_names(name);
        if let Some(taken) = exposed.iter().find(|n| names.contains(*n)) {
            return Err(DynamicError::DuplicateName { name: taken.clone() });
        }
        if families.len() >= self.shared.config.max_families {
            return Err(DynamicError::TooManyFamilies { limit: self.shared.config.max_families });
        }
        names.extend(exposed);
        let family_name = kind.family_name(name);
        let text = DescText {
            name: name.into(),
            family: family_name.into(),
            help: help.trim().into(),
            help_text: metrics_rules::escape_help(help.trim()).into(),
            help_om: metrics_rules::escape_help_om(help.trim()).into(),
            help_json: metrics_rules::escape_json(help.trim()).into(),
        };
        let mut family = Family {
            text,
            kind,
            label_names: labels.iter().map(|l| Box::<str>::from(*l)).collect(),
            bounds: buckets.into(),
            le: buckets.iter().map(|b| metrics_rules::float_text(*b).into_boxed_str()).collect(),
            seed: std::collections::hash_map::RandomState::new().hash_one(0u64),
            series: RwLock::new(HashMap::default()),
            count: AtomicUsize::new(0),
            overflow: Arc::new(Series {
                values: Box::new([]),
                text: Box::from(""),
                cells: Box::new([]),
                buckets: Box::new([]),
                dirty: AtomicBool::new(false),
                last_active_ms: AtomicU64::new(0),
                created_ms: 0,
            }),
            overflowed: AtomicU64::new(0),
            clock: Mutex::new(VecDeque::new()),
            removed: AtomicBool::new(false),
        };
        let overflow_values = vec![OVERFLOW_VALUE; labels.len()];
        family.overflow = Arc::new(family.new_series(&overflow_values));
        let family = Arc::new(family);
        families.push(Arc::clone(&family));
        Ok(family)
    }

    /// Creates a counter family; its name must end in `_total`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let events = registry.counter("queue_events_total", "Events, by queue.", &["queue"]).unwrap();
    /// events.add(&["billing"], 3).unwrap();
    /// assert!(registry.render_prometheus().contains("queue_events_total{queue=\"billing\"} 3\n"));
    /// assert!(registry.counter("queue_events", "Events.", &[]).is_err()); // no `_total`
    /// ```
    ///
    /// # Errors
    ///
    /// [`DynamicError`] for a name or label name that breaks the rules, an empty HELP, a name
    /// already used, or too many families.
    pub fn counter(&self, name: &str, help: &str, labels: &[&str]) -> Result<DynCounter, DynamicError> {
        Ok(DynCounter(Handle {
            family: self.family(MetricKind::Counter, name, help, labels, &[])?,
            shared: Arc::clone(&self.shared),
        }))
    }

    /// Creates a gauge family.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let depth = registry.gauge("queue_depth", "Jobs waiting, by queue.", &["queue"]).unwrap();
    /// depth.set(&["billing"], 12.0).unwrap();
    /// assert!(registry.render_prometheus().contains("queue_depth{queue=\"billing\"} 12.0\n"));
    /// ```
    ///
    /// # Errors
    ///
    /// As [`BoundedRegistry::counter`].
    pub fn gauge(&self, name: &str, help: &str, labels: &[&str]) -> Result<DynGauge, DynamicError> {
        Ok(DynGauge(Handle {
            family: self.family(MetricKind::Gauge, name, help, labels, &[])?,
            shared: Arc::clone(&self.shared),
        }))
    }

    /// Creates a histogram family with the given bucket bounds.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let sizes = registry.histogram("upload_bytes", "Upload sizes, by tenant.", &["tenant"], &[1e3, 1e6]).unwrap();
    /// sizes.record(&["acme"], 5e5).unwrap();
    /// let text = registry.render_prometheus();
    /// assert!(text.contains("upload_bytes_bucket{tenant=\"acme\",le=\"1000.0\"} 0\n"));
    /// assert!(text.contains("upload_bytes_count{tenant=\"acme\"} 1\n"));
    /// assert!(registry.histogram("download_bytes", "Download sizes.", &[], &[]).is_err()); // no buckets
    /// ```
    ///
    /// # Errors
    ///
    /// As [`BoundedRegistry::counter`], and [`DynamicError::InvalidBuckets`].
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> Result<DynHistogram, DynamicError> {
        let family = self.family(MetricKind::Histogram, name, help, labels, buckets)?;
        Ok(DynHistogram(Handle { family, shared: Arc::clone(&self.shared) }))
    }

    /// Series held, overflow series excluded.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig { max_series_per_family: 2, ..BoundedConfig::default() });
    /// let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    /// for tenant in ["a", "b", "c", "a"] {
    ///     hits.inc(&[tenant]).unwrap();
    /// }
    /// assert_eq!(registry.series_count(), 2); // `c` went to the overflow series, which is not counted
    /// ```
    pub fn series_count(&self) -> usize {
        self.shared.total.load(Relaxed)
    }

    /// Heap held by the families (their names, HELP, label names and bounds), their series
    /// and maps, in bytes. All of it is freed when the registry is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    /// hits.inc(&["acme"]).unwrap();
    /// let one = registry.memory_bytes();
    /// for i in 0..100 {
    ///     hits.inc(&[&format!("tenant-{i}")]).unwrap();
    /// }
    /// assert!(registry.memory_bytes() > one);
    /// ```
    ///
    /// # Performance
    ///
    /// Takes every family's read lock and walks its series: for scrapes and diagnostics.
    pub fn memory_bytes(&self) -> usize {
        let families = self.families.read().unwrap_or_else(|p| p.into_inner());
        families
            .iter()
            .map(|f| {
                let map = f.series.read().unwrap_or_else(|p| p.into_inner());
                let entries: usize = map.values().map(|v| v.iter().map(|s| s.heap_bytes()).sum::<usize>()).sum();
                let chains: usize = map.values().map(|v| v.capacity() * size_of::<Arc<Series>>()).sum();
                // hashbrown: one control byte per bucket plus the entry.
                let table = map.capacity() * (size_of::<(u64, Vec<Arc<Series>>)>() + 1);
                entries + chains + table + f.overflow.heap_bytes() + size_of::<Family>() + f.text_bytes()
            })
            .sum::<usize>()
            + families.capacity() * size_of::<Arc<Family>>()
    }

    /// Removes the family `name` and all its series; whether there was one. Its names are free
    /// again (a family of another kind or labels may take them). Handles to it still work, but
    /// what they record is no longer read.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    /// use metrics_runtime::Metrics;
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let jobs = registry.counter("tenant_jobs_total", "Jobs, by tenant.", &["tenant"]).unwrap();
    /// jobs.inc(&["acme"]).unwrap();
    /// assert!(registry.remove_family("tenant_jobs_total"));
    /// assert_eq!(registry.series_count(), 0);
    /// assert!(!registry.render_prometheus().contains("tenant_jobs"));
    /// // The name is free again, for another kind too.
    /// assert!(registry.gauge("tenant_jobs", "Jobs waiting, by tenant.", &["tenant"]).is_ok());
    /// ```
    pub fn remove_family(&self, name: &str) -> bool {
        let mut families = self.families.write().unwrap_or_else(|p| p.into_inner());
        let Some(at) = families.iter().position(|f| &*f.text.name == name) else { return false };
        let family = families.remove(at);
        family.removed.store(true, Relaxed);
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        for exposed in family.kind.exposed_names(name) {
            names.remove(&exposed);
        }
        let map = family.series.read().unwrap_or_else(|p| p.into_inner());
        self.shared.total.fetch_sub(map.values().map(Vec::len).sum::<usize>(), Relaxed);
        true
    }

    /// The maintenance step: removes the series that no update reached for `idle_timeout`.
    ///
    /// Each call notes which series were updated since the previous call; a series not
    /// updated across calls spanning at least `idle_timeout` is removed (and counted in
    /// `evicted_series_total`), unless the application still holds a handle to it. Reads
    /// (scrapes, snapshots, pushes) never remove anything: run this on a schedule of your own,
    /// or let the HTTP server ([`Registry::maintain`](crate::Registry::maintain), after each
    /// render) and the exporters (after each flush) run it. Choose an `idle_timeout` longer
    /// than every reader's interval, so that each has read a series' last value before it goes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry =
    ///     BoundedRegistry::new(BoundedConfig { idle_timeout: Some(Duration::from_millis(20)), ..BoundedConfig::default() });
    /// let jobs = registry.counter("tenant_jobs_total", "Jobs, by tenant.", &["tenant"]).unwrap();
    /// jobs.inc(&["acme"]).unwrap();
    /// registry.maintain(); // updated since the last call: kept
    /// assert_eq!(registry.series_count(), 1);
    /// assert!(registry.render_prometheus().contains("tenant_jobs_total{tenant=\"acme\"} 1\n"));
    /// std::thread::sleep(Duration::from_millis(30));
    /// registry.maintain(); // no update for longer than the timeout
    /// assert_eq!(registry.series_count(), 0);
    /// ```
    ///
    /// # Performance
    ///
    /// Takes each family's write lock in turn. Without an `idle_timeout` it removes nothing;
    /// with [`Eviction::LeastRecentlyUsed`] it then only clears each series' "updated" bit,
    /// under the read locks.
    pub fn maintain(&self) {
        let now = self.shared.now_ms();
        let Some(timeout) = self.shared.config.idle_timeout else {
            // No idle eviction; for LRU, a new period of "recently updated" starts.
            if self.shared.config.eviction == Eviction::LeastRecentlyUsed {
                let families = self.families.read().unwrap_or_else(|p| p.into_inner());
                for f in families.iter() {
                    let map = f.series.read().unwrap_or_else(|p| p.into_inner());
                    for s in map.values().flatten() {
                        if s.dirty.swap(false, Relaxed) {
                            s.last_active_ms.store(now, Relaxed);
                        }
                    }
                }
            }
            return;
        };
        let timeout = timeout.as_millis() as u64;
        let families = self.families.read().unwrap_or_else(|p| p.into_inner());
        for f in families.iter() {
            let mut map = f.series.write().unwrap_or_else(|p| p.into_inner());
            let mut removed = 0usize;
            map.retain(|_, chain| {
                chain.retain(|s| {
                    if s.dirty.swap(false, Relaxed) {
                        s.last_active_ms.store(now, Relaxed);
                        return true;
                    }
                    let idle = now.saturating_sub(s.last_active_ms.load(Relaxed)) >= timeout;
                    // A handle still held by the application keeps the series: its updates
                    // must not go to a series that no read will ever see.
                    let keep = !idle || Arc::strong_count(s) > 1;
                    removed += usize::from(!keep);
                    keep
                });
                !chain.is_empty()
            });
            if removed > 0 {
                f.count.fetch_sub(removed, Relaxed);
                self.shared.total.fetch_sub(removed, Relaxed);
                self.shared.evicted.fetch_add(removed as u64, Relaxed);
                f.clock.lock().unwrap_or_else(|p| p.into_inner()).retain(|w| w.strong_count() > 0);
            }
        }
    }
}

impl fmt::Debug for BoundedRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedRegistry")
            .field("config", &self.shared.config)
            .field("series", &self.series_count())
            .finish()
    }
}

impl Metrics for BoundedRegistry {
    /// Only the registry's own metrics: families are created at run time and check their names
    /// against each other (and [`BoundedRegistry::reserve_names`]) when created.
    fn descriptors(&self) -> &'static [MetricDesc<'static>] {
        self.own.descriptors()
    }

    fn heap_bytes(&self) -> usize {
        BoundedRegistry::memory_bytes(self)
    }

    fn visit(&self, visitor: &mut dyn Visitor) {
        let families: Vec<Arc<Family>> = self.families.read().unwrap_or_else(|p| p.into_inner()).clone();
        let start = self.shared.start_unix;
        for f in &families {
            let desc = f.desc();
            visitor.begin_metric(&desc);
            let map = f.series.read().unwrap_or_else(|p| p.into_inner());
            let overflow = f.overflowed.load(Relaxed) > 0;
            let series = map.values().flatten().map(|s| &**s).chain(overflow.then_some(&*f.overflow));
            for (index, s) in series.enumerate() {
                let labels = SeriesLabels { names: &f.label_names, series: s };
                let at = ReadSeries { index, labels: &labels, created: start + s.created_ms as f64 / 1000.0 };
                match f.kind {
                    MetricKind::Counter => visitor.counter(&desc, at, s.cells[0].load(Relaxed)),
                    MetricKind::Gauge => visitor.gauge(&desc, at, f64::from_bits(s.cells[0].load(Relaxed))),
                    MetricKind::Histogram => {
                        let n = f.bounds.len() + 1;
                        let mut counts = vec![0; n];
                        let sum = read_buckets(&s.buckets[..n], &mut counts);
                        let negative = s.cells[0].load(Relaxed) != 0 || f.bounds.first().is_some_and(|b| *b < 0.0);
                        let read = HistogramRead {
                            bounds: &f.bounds,
                            le: BoundTexts::Owned(&f.le),
                            counts: &counts,
                            sum,
                            negative,
                            exemplars: &[],
                        };
                        visitor.histogram(&desc, at, &read);
                    }
                    MetricKind::Summary | MetricKind::Info => unreachable!("not offered at run time"),
                }
            }
            drop(map);
            visitor.end_metric(&desc);
        }
        // The registry's own metrics, computed for this read (nothing is stored).
        let overflowed: u64 = families.iter().map(|f| f.overflowed.load(Relaxed)).sum();
        let rate_limited = self.shared.rate_limited.load(Relaxed);
        let counters = [
            overflowed.saturating_sub(rate_limited),
            rate_limited,
            self.shared.evicted.load(Relaxed),
            self.shared.rejected.load(Relaxed),
        ];
        let gauges = [self.series_count() as f64, self.memory_bytes() as f64];
        let created = crate::read::process_start_time();
        let labels = crate::read::StaticLabels::<()>::new(0);
        for (i, desc) in self.own.descriptors().iter().enumerate() {
            visitor.begin_metric(desc);
            let at = ReadSeries { index: 0, labels: &labels, created };
            match counters.get(i) {
                Some(value) => visitor.counter(desc, at, *value),
                None => visitor.gauge(desc, at, gauges[i - counters.len()]),
            }
            visitor.end_metric(desc);
        }
    }

    fn maintain(&self) {
        BoundedRegistry::maintain(self);
    }
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed with it; fold anything else in so it stays correct.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A fast seeded hash of label values (word at a time, multiply-rotate, FxHash-style, then a
/// final avalanche). Not cryptographic: the per-family random seed keeps values from being
/// chosen to collide, and a chain is bounded by the series cap in any case.
#[inline]
fn hash_values(seed: u64, values: &[&str]) -> u64 {
    const K: u64 = 0x517C_C1B7_2722_0A95;
    let mut h = seed ^ values.len() as u64;
    for v in values {
        let bytes = v.as_bytes();
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h.rotate_left(5) ^ w).wrapping_mul(K);
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        // The length separates values, so `["ab", "c"]` and `["a", "bc"]` differ.
        h = (h.rotate_left(5) ^ u64::from_le_bytes(tail)).wrapping_mul(K);
        h = (h.rotate_left(5) ^ bytes.len() as u64).wrapping_mul(K);
    }
    // Avalanche (murmur3's finaliser), so that low bits depend on every input bit.
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h
}

/// Marks a series updated since its last export; reads first, so that a hot series does not
/// write the flag's cache line on every update.
#[inline(always)]
fn mark_dirty(s: &Series) {
    if !s.dirty.load(Relaxed) {
        s.dirty.store(true, Relaxed);
    }
}

/// What dynamic handles share.
#[derive(Clone)]
struct Handle {
    family: Arc<Family>,
    shared: Arc<Shared>,
}

impl Handle {
    /// The series for `values`: found, created (within the caps and rate), or the overflow
    /// series.
    fn series(&self, values: &[&str]) -> Result<Arc<Series>, DynamicError> {
        self.update(values, Arc::clone)
    }

    /// Runs `f` on the series for `values` (found, created, or the overflow series). An
    /// existing series is updated under the read lock, with no reference count traffic.
    #[inline]
    fn update<R>(&self, values: &[&str], f: impl FnOnce(&Arc<Series>) -> R) -> Result<R, DynamicError> {
        let fam = &*self.family;
        if values.len() != fam.label_names.len() {
            self.shared.rejected.fetch_add(1, Relaxed);
            return Err(DynamicError::LabelCount { expected: fam.label_names.len(), given: values.len() });
        }
        let hash = hash_values(fam.seed, values);
        {
            let map = fam.series.read().unwrap_or_else(|p| p.into_inner());
            if let Some(s) = Family::find(&map, hash, values) {
                return Ok(f(s));
            }
        }
        self.create(values, hash).map(|s| f(&s))
    }

    #[cold]
    fn create(&self, values: &[&str], hash: u64) -> Result<Arc<Series>, DynamicError> {
        let f = &*self.family;
        for (label, value) in f.label_names.iter().zip(values) {
            let reserved = || {
                format!("label value `{OVERFLOW_VALUE}` is reserved for the family's overflow series; choose another")
            };
            let checked = metrics_rules::check_label_value(value).and_then(|()| {
                if *value == OVERFLOW_VALUE {
                    Err(reserved())
                } else {
                    Ok(())
                }
            });
            if let Err(reason) = checked {
                self.shared.rejected.fetch_add(1, Relaxed);
                return Err(DynamicError::InvalidLabelValue { label: label.to_string(), reason });
            }
        }
        let mut map = f.series.write().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = Family::find(&map, hash, values) {
            return Ok(Arc::clone(s));
        }
        if f.removed.load(Relaxed) {
            return Ok(Arc::clone(&f.overflow));
        }
        let config = &self.shared.config;
        let full = || {
            f.count.load(Relaxed) >= config.max_series_per_family
                || self.shared.total.load(Relaxed) >= config.max_series_total
        };
        if full() {
            let lru = config.eviction == Eviction::LeastRecentlyUsed;
            if lru && f.evict_one(&mut map, self.shared.now_ms()) {
                self.shared.total.fetch_sub(1, Relaxed);
                self.shared.evicted.fetch_add(1, Relaxed);
            }
            if full() {
                f.overflowed.fetch_add(1, Relaxed);
                return Ok(Arc::clone(&f.overflow));
            }
        }
        if !self.shared.take_token() {
            f.overflowed.fetch_add(1, Relaxed);
            self.shared.rate_limited.fetch_add(1, Relaxed);
            return Ok(Arc::clone(&f.overflow));
        }
        let now = self.shared.now_ms();
        let series = Arc::new(Series { created_ms: now, ..f.new_series(values) });
        series.last_active_ms.store(now, Relaxed);
        map.entry(hash).or_default().push(Arc::clone(&series));
        if config.eviction == Eviction::LeastRecentlyUsed {
            f.clock.lock().unwrap_or_else(|p| p.into_inner()).push_back(Arc::downgrade(&series));
        }
        f.count.fetch_add(1, Relaxed);
        self.shared.total.fetch_add(1, Relaxed);
        Ok(series)
    }

    /// Removes the series of `values`; whether there was one. A handle to it still works, but
    /// what it records is no longer read.
    fn remove(&self, values: &[&str]) -> bool {
        let f = &*self.family;
        if values.len() != f.label_names.len() {
            return false;
        }
        let hash = hash_values(f.seed, values);
        let mut map = f.series.write().unwrap_or_else(|p| p.into_inner());
        let removed = Family::take(&mut map, hash, values).is_some();
        if removed {
            f.count.fetch_sub(1, Relaxed);
            self.shared.total.fetch_sub(1, Relaxed);
        }
        removed
    }

    fn overflowed(&self) -> u64 {
        self.family.overflowed.load(Relaxed)
    }
}

/// A counter family of a [`BoundedRegistry`].
///
/// # Examples
///
/// ```
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
///
/// let registry = BoundedRegistry::new(BoundedConfig::default());
/// let requests = registry.counter("tenant_requests_total", "Requests, by tenant.", &["tenant"]).unwrap();
/// let for_worker = requests.clone(); // handles share the family
/// for_worker.inc(&["acme"]).unwrap();
/// requests.add(&["acme"], 2).unwrap();
/// assert_eq!(requests.total(), 3);
/// ```
#[derive(Clone)]
pub struct DynCounter(Handle);

/// One series of a [`DynCounter`] (possibly the overflow series), to update without a lookup.
///
/// # Examples
///
/// ```
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, DynCounterSeries};
///
/// let registry = BoundedRegistry::new(BoundedConfig::default());
/// let requests = registry.counter("tenant_requests_total", "Requests, by tenant.", &["tenant"]).unwrap();
/// let acme: DynCounterSeries = requests.with(&["acme"]).unwrap(); // one lookup
/// for _ in 0..10 {
///     acme.inc(); // no hashing, no lock
/// }
/// assert_eq!(acme.get(), 10);
/// assert_eq!(requests.total(), 10);
/// ```
#[derive(Clone)]
pub struct DynCounterSeries(Arc<Series>);

impl DynCounter {
    /// Removes the series of `values` (the Prometheus clients' `DeleteLabelValues`); whether
    /// there was one. It is no longer exposed, and a new update of the same values starts a
    /// new series (its `_created` anew). A handle to the removed series still works, but what
    /// it records is no longer read. The overflow series cannot be removed.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    /// use metrics_runtime::Metrics;
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let f = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    /// f.inc(&["acme"]).unwrap();
    /// assert!(f.remove(&["acme"]));
    /// assert!(!f.remove(&["acme"])); // gone already
    /// assert_eq!(registry.series_count(), 0);
    /// assert!(!registry.render_prometheus().contains("acme"));
    /// ```
    pub fn remove(&self, values: &[&str]) -> bool {
        self.0.remove(values)
    }

    /// The series for `values` (one per label, in order).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, DynamicError};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let bytes = registry.counter("tenant_bytes_total", "Bytes, by tenant and direction.", &["tenant", "direction"]).unwrap();
    /// let acme_in = bytes.with(&["acme", "in"]).unwrap();
    /// acme_in.add(512);
    /// assert_eq!(bytes.with(&["acme", "in"]).unwrap().get(), 512); // the same series
    /// assert_eq!(bytes.with(&["acme"]).unwrap_err(), DynamicError::LabelCount { expected: 2, given: 1 });
    /// ```
    ///
    /// # Errors
    ///
    /// [`DynamicError::LabelCount`] or [`DynamicError::InvalidLabelValue`]; nothing is recorded.
    ///
    /// # Performance
    ///
    /// A hash of the values and a read lock to find the series; creating one takes the write lock and allocates.
    pub fn with(&self, values: &[&str]) -> Result<DynCounterSeries, DynamicError> {
        self.0.series(values).map(DynCounterSeries)
    }

    /// Adds one to the series for `values`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let logins = registry.counter("tenant_logins_total", "Logins, by tenant.", &["tenant"]).unwrap();
    /// logins.inc(&["acme"]).unwrap();
    /// logins.inc(&["acme"]).unwrap();
    /// assert_eq!(logins.with(&["acme"]).unwrap().get(), 2);
    /// assert!(logins.inc(&[""]).is_err()); // nothing recorded
    /// assert_eq!(logins.total(), 2);
    /// ```
    ///
    /// # Errors
    ///
    /// As [`DynCounter::with`].
    ///
    /// # Performance
    ///
    /// As [`DynCounter::with`]; keep a [`DynCounterSeries`] for hot paths.
    pub fn inc(&self, values: &[&str]) -> Result<(), DynamicError> {
        self.add(values, 1)
    }

    /// Adds `n` to the series for `values`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let bytes = registry.counter("tenant_bytes_total", "Bytes, by tenant.", &["tenant"]).unwrap();
    /// bytes.add(&["acme"], 1500).unwrap();
    /// bytes.add(&["globex"], 500).unwrap();
    /// assert_eq!(bytes.total(), 2000);
    /// ```
    ///
    /// # Errors
    ///
    /// As [`DynCounter::with`].
    ///
    /// # Performance
    ///
    /// As [`DynCounter::with`].
    pub fn add(&self, values: &[&str], n: u64) -> Result<(), DynamicError> {
        self.0.update(values, |s| {
            s.cells[0].fetch_add(n, Relaxed);
            mark_dirty(s);
        })
    }

    /// Records that went to the overflow series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig { max_series_per_family: 1, ..BoundedConfig::default() });
    /// let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    /// hits.inc(&["acme"]).unwrap();
    /// hits.inc(&["globex"]).unwrap();
    /// hits.add(&["initech"], 5).unwrap();
    /// assert_eq!(hits.overflowed(), 2); // records, not increments
    /// ```
    pub fn overflowed(&self) -> u64 {
        self.0.overflowed()
    }

    /// The sum over every series, overflow included.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig { max_series_per_family: 1, ..BoundedConfig::default() });
    /// let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    /// hits.add(&["acme"], 2).unwrap();
    /// hits.add(&["globex"], 3).unwrap(); // overflow
    /// assert_eq!(hits.total(), 5);
    /// ```
    ///
    /// # Performance
    ///
    /// Takes the family's read lock and reads every series.
    pub fn total(&self) -> u64 {
        let f = &self.0.family;
        let map = f.series.read().unwrap_or_else(|p| p.into_inner());
        map.values().flatten().map(|s| s.cells[0].load(Relaxed)).sum::<u64>() + f.overflow.cells[0].load(Relaxed)
    }
}

impl DynCounterSeries {
    /// Adds one.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let errors = registry.counter("tenant_errors_total", "Errors, by tenant.", &["tenant"]).unwrap();
    /// let acme = errors.with(&["acme"]).unwrap();
    /// acme.inc();
    /// assert_eq!(acme.get(), 1);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed atomic add and one relaxed store; never allocates.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let bytes = registry.counter("tenant_bytes_total", "Bytes, by tenant.", &["tenant"]).unwrap();
    /// let acme = bytes.with(&["acme"]).unwrap();
    /// acme.add(4096);
    /// acme.add(1024);
    /// assert_eq!(acme.get(), 5120);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed atomic add and one relaxed store; never allocates.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.cells[0].fetch_add(n, Relaxed);
        self.0.dirty.store(true, Relaxed);
    }

    /// The current count.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let jobs = registry.counter("tenant_jobs_total", "Jobs, by tenant.", &["tenant"]).unwrap();
    /// jobs.add(&["acme"], 7).unwrap();
    /// assert_eq!(jobs.with(&["acme"]).unwrap().get(), 7);
    /// ```
    pub fn get(&self) -> u64 {
        self.0.cells[0].load(Relaxed)
    }
}

/// A gauge family of a [`BoundedRegistry`].
///
/// # Examples
///
/// ```
/// use metrics_runtime::Metrics;
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
///
/// let registry = BoundedRegistry::new(BoundedConfig::default());
/// let depth = registry.gauge("queue_depth", "Jobs waiting, by queue.", &["queue"]).unwrap();
/// depth.set(&["billing"], 4.0).unwrap();
/// depth.add(&["billing"], -1.0).unwrap();
/// assert!(registry.render_prometheus().contains("queue_depth{queue=\"billing\"} 3.0\n"));
/// ```
#[derive(Clone)]
pub struct DynGauge(Handle);

impl DynGauge {
    /// Removes the series of `values` (the Prometheus clients' `DeleteLabelValues`); whether
    /// there was one. It is no longer exposed, and a new update of the same values starts a
    /// new series (its `_created` anew). A handle to the removed series still works, but what
    /// it records is no longer read. The overflow series cannot be removed.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    /// use metrics_runtime::Metrics;
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let f = registry.gauge("tenant_queue_depth", "Depth, by tenant.", &["tenant"]).unwrap();
    /// f.set(&["acme"], 3.0).unwrap();
    /// assert!(f.remove(&["acme"]));
    /// assert!(!f.remove(&["acme"])); // gone already
    /// assert_eq!(registry.series_count(), 0);
    /// assert!(!registry.render_prometheus().contains("acme"));
    /// ```
    pub fn remove(&self, values: &[&str]) -> bool {
        self.0.remove(values)
    }

    /// Sets the series for `values`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let temperature = registry.gauge("room_temperature_celsius", "Temperature, by room.", &["room"]).unwrap();
    /// temperature.set(&["lab"], 21.5).unwrap();
    /// temperature.set(&["lab"], 22.0).unwrap(); // the last value wins
    /// assert!(registry.render_prometheus().contains("room_temperature_celsius{room=\"lab\"} 22.0\n"));
    /// assert!(temperature.set(&[], 1.0).is_err()); // one value per label
    /// ```
    ///
    /// # Errors
    ///
    /// [`DynamicError::LabelCount`] or [`DynamicError::InvalidLabelValue`]; nothing is recorded.
    ///
    /// # Performance
    ///
    /// As [`DynCounter::with`].
    pub fn set(&self, values: &[&str], value: f64) -> Result<(), DynamicError> {
        self.0.update(values, |s| {
            s.cells[0].store(value.to_bits(), Relaxed);
            mark_dirty(s);
        })
    }

    /// Adds `delta` to the series for `values`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let inflight = registry.gauge("tenant_inflight_requests", "Requests in flight, by tenant.", &["tenant"]).unwrap();
    /// inflight.add(&["acme"], 1.0).unwrap();
    /// inflight.add(&["acme"], 1.0).unwrap();
    /// inflight.add(&["acme"], -1.0).unwrap();
    /// assert!(registry.render_prometheus().contains("tenant_inflight_requests{tenant=\"acme\"} 1.0\n"));
    /// ```
    ///
    /// # Errors
    ///
    /// As [`DynGauge::set`].
    ///
    /// # Performance
    ///
    /// As [`DynCounter::with`], plus a compare-and-swap loop.
    pub fn add(&self, values: &[&str], delta: f64) -> Result<(), DynamicError> {
        self.0.update(values, |s| {
            atomic_f64_add(&s.cells[0], delta);
            mark_dirty(s);
        })
    }

    /// Records that went to the overflow series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig { max_series_per_family: 1, ..BoundedConfig::default() });
    /// let depth = registry.gauge("queue_depth", "Jobs waiting, by queue.", &["queue"]).unwrap();
    /// depth.set(&["billing"], 1.0).unwrap();
    /// depth.set(&["email"], 2.0).unwrap(); // over the cap
    /// assert_eq!(depth.overflowed(), 1);
    /// ```
    pub fn overflowed(&self) -> u64 {
        self.0.overflowed()
    }
}

/// A histogram family of a [`BoundedRegistry`].
///
/// # Examples
///
/// ```
/// use metrics_runtime::Metrics;
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
///
/// let registry = BoundedRegistry::new(BoundedConfig::default());
/// let latency = registry.histogram("tenant_request_seconds", "Request time, by tenant.", &["tenant"], &[0.1, 1.0]).unwrap();
/// latency.record(&["acme"], 0.05).unwrap();
/// latency.record(&["acme"], 0.5).unwrap();
/// let text = registry.render_prometheus();
/// assert!(text.contains("tenant_request_seconds_bucket{tenant=\"acme\",le=\"0.1\"} 1\n"));
/// assert!(text.contains("tenant_request_seconds_count{tenant=\"acme\"} 2\n"));
/// ```
#[derive(Clone)]
pub struct DynHistogram(Handle);

impl DynHistogram {
    /// Removes the series of `values` (the Prometheus clients' `DeleteLabelValues`); whether
    /// there was one. It is no longer exposed, and a new update of the same values starts a
    /// new series (its `_created` anew). A handle to the removed series still works, but what
    /// it records is no longer read. The overflow series cannot be removed.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    /// use metrics_runtime::Metrics;
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let f = registry.histogram("tenant_job_seconds", "Job time, by tenant.", &["tenant"], &[1.0]).unwrap();
    /// f.record(&["acme"], 0.5).unwrap();
    /// assert!(f.remove(&["acme"]));
    /// assert!(!f.remove(&["acme"])); // gone already
    /// assert_eq!(registry.series_count(), 0);
    /// assert!(!registry.render_prometheus().contains("acme"));
    /// ```
    pub fn remove(&self, values: &[&str]) -> bool {
        self.0.remove(values)
    }

    /// Records `value` into the series for `values`. NaN and infinite values are refused
    /// (and counted in `rejected_updates_total`).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, DynamicError};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let sizes = registry.histogram("upload_bytes", "Upload sizes, by tenant.", &["tenant"], &[1e3, 1e6]).unwrap();
    /// sizes.record(&["acme"], 2e3).unwrap();
    /// let err = sizes.record(&["acme"], f64::INFINITY).unwrap_err();
    /// assert!(matches!(err, DynamicError::InvalidValue { .. }));
    /// assert!(registry.render_prometheus().contains("upload_bytes_sum{tenant=\"acme\"} 2000.0\n"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`DynamicError::InvalidValue`], [`DynamicError::LabelCount`] or
    /// [`DynamicError::InvalidLabelValue`]; nothing is recorded.
    ///
    /// # Performance
    ///
    /// As [`DynCounter::with`], plus a count of the bounds below the value and one 16-byte
    /// compare-and-swap of the bucket's count and sum.
    pub fn record(&self, values: &[&str], value: f64) -> Result<(), DynamicError> {
        if !value.is_finite() {
            self.0.shared.rejected.fetch_add(1, Relaxed);
            return Err(DynamicError::InvalidValue { reason: "NaN and infinite values are not recorded".into() });
        }
        let bounds = &self.0.family.bounds;
        self.0.update(values, |s| {
            let i = bucket_index(bounds, value);
            s.buckets[i].add(1, value);
            if value < 0.0 {
                s.cells[0].store(1, Relaxed);
            }
            mark_dirty(s);
        })
    }

    /// Records that went to the overflow series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig { max_series_total: 1, ..BoundedConfig::default() });
    /// let sizes = registry.histogram("upload_bytes", "Upload sizes, by tenant.", &["tenant"], &[1e3]).unwrap();
    /// sizes.record(&["acme"], 10.0).unwrap();
    /// sizes.record(&["globex"], 10.0).unwrap(); // over the registry's total cap
    /// assert_eq!(sizes.overflowed(), 1);
    /// ```
    pub fn overflowed(&self) -> u64 {
        self.0.overflowed()
    }
}

macro_rules! debug_family {
    ($($t:ty),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t)).field("name", &self.0.family.text.name).finish()
            }
        }
    )*};
}
debug_family!(DynCounter, DynGauge, DynHistogram);

impl fmt::Debug for DynCounterSeries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynCounterSeries").field("labels", &self.0.text).field("value", &self.get()).finish()
    }
}
