//! A registry that renders several metric structs together.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::encode::{Encoder, Format};
use crate::group::Metrics;

enum Entry {
    Static(&'static dyn Metrics),
    Shared(Arc<dyn Metrics>),
}

impl Entry {
    fn get(&self) -> &dyn Metrics {
        match self {
            Entry::Static(m) => *m,
            Entry::Shared(m) => m.as_ref(),
        }
    }
}

/// Several `#[derive(Metrics)]` structs rendered as one exposition.
///
/// Registration refuses a struct that would expose a name another registered struct already
/// exposes (the same metric name, or colliding series such as a histogram `x` and a gauge
/// `x_count`), so a scrape never sees a family twice.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Gauge, Metrics, Registry};
///
/// #[derive(Metrics)]
/// #[metrics(namespace = "db")]
/// struct Db {
///     /// Queries run.
///     queries_total: Counter,
/// }
///
/// #[derive(Metrics)]
/// #[metrics(namespace = "cache")]
/// struct Cache {
///     /// Entries held.
///     entries: Gauge,
/// }
///
/// static DB: Db = Db::new();
/// static CACHE: Cache = Cache::new();
///
/// let mut registry = Registry::new();
/// registry.register(&DB).unwrap();
/// registry.register(&CACHE).unwrap();
/// assert!(registry.register(&DB).is_err()); // `db_queries_total` is already registered
///
/// DB.queries_total.inc();
/// let text = registry.render_openmetrics();
/// assert!(text.contains("db_queries_total 1\n"));
/// assert!(text.ends_with("# EOF\n"));
/// ```
#[derive(Default)]
pub struct Registry {
    entries: Vec<Entry>,
    names: HashMap<String, (String, usize)>,
    /// The memory gauge, if exported (also registered as an entry).
    own_memory: Option<Arc<OwnMemory>>,
}

/// The library's own memory, as a metric.
#[derive(crate::Metrics)]
#[metrics(namespace = "metrics_runtime")]
struct OwnMemory {
    /// Memory held by the metrics of this registry (inline storage and heap), in bytes.
    #[metric(unit = "bytes")]
    memory_bytes: crate::Gauge,
}

/// Why [`Registry::register`] refused a struct.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryError {
    /// A name the struct exposes is already exposed by a registered struct; rename one of the
    /// metrics (or give the structs different namespaces).
    DuplicateName {
        /// The colliding exposed name.
        name: String,
        /// The metric of the new struct that exposes it.
        metric: String,
        /// The already registered metric that exposes it.
        existing: String,
    },
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::DuplicateName { name, metric, existing } => write!(
                f,
                "metric `{metric}` exposes `{name}`, which registered metric `{existing}` already exposes; rename one of them or use another namespace"
            ),
        }
    }
}

impl std::error::Error for RegistryError {}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a struct that lives for the whole program (a `static`).
    ///
    /// # Errors
    ///
    /// [`RegistryError::DuplicateName`] if one of its exposed names is already registered;
    /// the registry is then unchanged.
    pub fn register(&mut self, metrics: &'static dyn Metrics) -> Result<(), RegistryError> {
        self.add(Entry::Static(metrics))
    }

    /// Registers a shared struct.
    ///
    /// # Errors
    ///
    /// As [`Registry::register`].
    pub fn register_arc(&mut self, metrics: Arc<dyn Metrics>) -> Result<(), RegistryError> {
        self.add(Entry::Shared(metrics))
    }

    fn add(&mut self, entry: Entry) -> Result<(), RegistryError> {
        let index = self.entries.len();
        let mut new_names: Vec<(String, String)> = Vec::new();
        for d in entry.get().descriptors() {
            for exposed in d.kind.exposed_names(d.name) {
                if let Some((existing, _)) = self.names.get(&exposed) {
                    return Err(RegistryError::DuplicateName {
                        name: exposed,
                        metric: d.name.to_owned(),
                        existing: existing.clone(),
                    });
                }
                new_names.push((exposed, d.name.to_owned()));
            }
        }
        for (exposed, metric) in new_names {
            self.names.insert(exposed, (metric, index));
        }
        self.entries.push(entry);
        Ok(())
    }

    /// The number of registered structs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Memory held by the registered metrics ([`Metrics::memory_bytes`] of each) and by the
    /// registry's own tables, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs done.
    ///     jobs_total: Counter,
    /// }
    /// static JOBS: Jobs = Jobs::new();
    /// let mut registry = Registry::new();
    /// registry.register(&JOBS).unwrap();
    /// assert!(registry.memory_bytes() >= JOBS.memory_bytes());
    /// ```
    pub fn memory_bytes(&self) -> usize {
        let metrics: usize = self.entries.iter().map(|e| e.get().memory_bytes()).sum();
        let names: usize = self.names.iter().map(|(k, (v, _))| k.capacity() + v.capacity()).sum();
        let table = self.names.capacity() * (size_of::<(String, (String, usize))>() + 1);
        metrics + names + table + self.entries.capacity() * size_of::<Entry>() + size_of::<Self>()
    }

    /// Adds to the exposition a gauge of the memory this library holds for the registered
    /// metrics, `metrics_runtime_memory_bytes`, updated at every render.
    ///
    /// # Errors
    ///
    /// [`RegistryError::DuplicateName`] if that name is already registered.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Registry;
    ///
    /// let mut registry = Registry::new();
    /// registry.export_own_memory().unwrap();
    /// assert!(registry.render_prometheus().contains("metrics_runtime_memory_bytes "));
    /// ```
    pub fn export_own_memory(&mut self) -> Result<(), RegistryError> {
        let own = Arc::new(OwnMemory::new());
        self.add(Entry::Shared(Arc::clone(&own) as Arc<dyn Metrics>))?;
        self.own_memory = Some(own);
        Ok(())
    }

    /// Appends the complete exposition of every registered struct in `format` to `out`.
    ///
    /// With a reused buffer (`out.clear()` between scrapes) this allocates nothing once the
    /// buffer has grown to the exposition's size, except for summaries' quantile snapshots.
    pub fn write(&self, format: Format, out: &mut String) {
        let mut e = Encoder::new(out, format);
        e.begin();
        self.encode_all(&mut e);
        e.finish();
    }

    /// Encodes every registered struct into `e`.
    pub(crate) fn encode_all(&self, e: &mut Encoder<'_>) {
        if let Some(own) = &self.own_memory {
            own.memory_bytes.set(self.memory_bytes() as f64);
        }
        for entry in &self.entries {
            entry.get().encode(e);
        }
    }

    /// The complete exposition in `format`.
    pub fn render(&self, format: Format) -> String {
        let mut out = String::new();
        self.write(format, &mut out);
        out
    }

    /// The Prometheus text format (0.0.4) exposition.
    pub fn render_prometheus(&self) -> String {
        self.render(Format::Prometheus)
    }

    /// The OpenMetrics 1.0 exposition, ending with `# EOF`.
    pub fn render_openmetrics(&self) -> String {
        self.render(Format::OpenMetrics)
    }

    /// The JSON document (see [`Metrics::write_json`]).
    pub fn render_json(&self) -> String {
        self.render(Format::Json)
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> =
            self.entries.iter().flat_map(|e| e.get().descriptors().iter().map(|d| d.name)).collect();
        names.sort_unstable();
        f.debug_struct("Registry").field("metrics", &names).finish()
    }
}
