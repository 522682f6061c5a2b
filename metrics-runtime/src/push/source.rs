//! What a push exporter reads: `#[derive(Metrics)]` structs and a [`Registry`].

use std::fmt;
use std::sync::Arc;

use crate::group::Metrics;
use crate::registry::{Entry, Registry};
use crate::Visitor;

/// The metrics an exporter reads at each flush: a [`Registry`], `#[derive(Metrics)]` structs,
/// or both; or nothing, to push only the batcher's records.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use metrics_runtime::push::Source;
/// use metrics_runtime::{Counter, Metrics, Registry};
///
/// #[derive(Metrics)]
/// struct Jobs {
///     /// Jobs done.
///     jobs_total: Counter,
/// }
/// static JOBS: Jobs = Jobs::new();
///
/// let from_struct = Source::from(&JOBS);
/// let from_registry = Source::from(Arc::new(Registry::new()));
/// let both = Source::new().with(&JOBS).with_registry(Arc::new(Registry::new()));
/// # let _ = (from_struct, from_registry, both);
/// ```
#[derive(Default)]
pub struct Source {
    pub(crate) registry: Option<Arc<Registry>>,
    pub(crate) structs: Vec<Entry>,
}

impl Source {
    /// Nothing to read: the exporter pushes the batcher's records only.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::push::Source;
    /// use metrics_runtime::statsd::{StatsdConfig, StatsdExporter, StatsdKey};
    ///
    /// static LOGIN_MS: StatsdKey = StatsdKey::timing("auth.login");
    ///
    /// # async fn recv(server: &tokio::net::UdpSocket) -> String {
    /// #     let mut buf = [0u8; 65536];
    /// #     let n = tokio::time::timeout(std::time::Duration::from_secs(5), server.recv(&mut buf)).await.unwrap().unwrap();
    /// #     String::from_utf8(buf[..n].to_vec()).unwrap()
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(); // a StatsD server
    /// let config = StatsdConfig { target: server.local_addr().unwrap(), push_own_stats: false, ..StatsdConfig::default() };
    /// let exporter = StatsdExporter::start(Source::new(), config).await.unwrap();
    /// exporter.batcher().record(&LOGIN_MS, (), 85.0);
    /// exporter.flush().await;
    /// assert_eq!(recv(&server).await, "auth.login:85|ms");
    /// # });
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a struct that lives for the whole program.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::push::Source;
    /// use metrics_runtime::statsd::{StatsdConfig, StatsdExporter};
    /// use metrics_runtime::{Counter, Gauge, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    ///
    /// #[derive(Metrics)]
    /// struct Queue {
    ///     /// Jobs waiting.
    ///     queue_depth: Gauge,
    /// }
    /// static JOBS: Jobs = Jobs::new();
    /// static QUEUE: Queue = Queue::new();
    ///
    /// # async fn recv(server: &tokio::net::UdpSocket) -> String {
    /// #     let mut buf = [0u8; 65536];
    /// #     let n = tokio::time::timeout(std::time::Duration::from_secs(5), server.recv(&mut buf)).await.unwrap().unwrap();
    /// #     String::from_utf8(buf[..n].to_vec()).unwrap()
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(); // a StatsD server
    /// let config = StatsdConfig { target: server.local_addr().unwrap(), push_own_stats: false, ..StatsdConfig::default() };
    /// let exporter = StatsdExporter::start(Source::new().with(&JOBS).with(&QUEUE), config).await.unwrap();
    /// JOBS.jobs_total.inc();
    /// QUEUE.queue_depth.set(4.0);
    /// exporter.flush().await;
    /// assert_eq!(recv(&server).await, "jobs_total:1|c\nqueue_depth:4|g");
    /// # });
    /// ```
    pub fn with(mut self, metrics: &'static dyn Metrics) -> Self {
        self.structs.push(Entry::Static(metrics));
        self
    }

    /// Adds a shared struct.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use metrics_runtime::push::Source;
    /// use metrics_runtime::statsd::{StatsdConfig, StatsdExporter};
    /// use metrics_runtime::{Gauge, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Pool {
    ///     /// Open connections.
    ///     connections: Gauge,
    /// }
    ///
    /// # async fn recv(server: &tokio::net::UdpSocket) -> String {
    /// #     let mut buf = [0u8; 65536];
    /// #     let n = tokio::time::timeout(std::time::Duration::from_secs(5), server.recv(&mut buf)).await.unwrap().unwrap();
    /// #     String::from_utf8(buf[..n].to_vec()).unwrap()
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(); // a StatsD server
    /// let pool = Arc::new(Pool::new()); // made at run time, shared with the code that records
    /// let config = StatsdConfig { target: server.local_addr().unwrap(), push_own_stats: false, ..StatsdConfig::default() };
    /// let source = Source::new().with_arc(Arc::clone(&pool) as Arc<dyn Metrics>);
    /// let exporter = StatsdExporter::start(source, config).await.unwrap();
    /// pool.connections.set(-2.5);
    /// exporter.flush().await;
    /// // A leading `-` means "subtract" to StatsD: a negative gauge is set to 0 first.
    /// assert_eq!(recv(&server).await, "connections:0|g\nconnections:-2.5|g");
    /// # });
    /// ```
    pub fn with_arc(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.structs.push(Entry::Shared(metrics));
        self
    }

    /// Reads a registry (replacing one added before).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use metrics_runtime::push::Source;
    /// use metrics_runtime::statsd::{StatsdConfig, StatsdExporter};
    /// use metrics_runtime::{Counter, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "mail")]
    /// struct Mail {
    ///     /// Messages sent.
    ///     sent_total: Counter,
    /// }
    /// static MAIL: Mail = Mail::new();
    ///
    /// # async fn recv(server: &tokio::net::UdpSocket) -> String {
    /// #     let mut buf = [0u8; 65536];
    /// #     let n = tokio::time::timeout(std::time::Duration::from_secs(5), server.recv(&mut buf)).await.unwrap().unwrap();
    /// #     String::from_utf8(buf[..n].to_vec()).unwrap()
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(); // a StatsD server
    /// let mut registry = Registry::new();
    /// registry.register(&MAIL).unwrap();
    /// let config = StatsdConfig { target: server.local_addr().unwrap(), push_own_stats: false, ..StatsdConfig::default() };
    /// let exporter = StatsdExporter::start(Source::new().with_registry(Arc::new(registry)), config).await.unwrap();
    /// MAIL.sent_total.add(3);
    /// exporter.flush().await;
    /// assert_eq!(recv(&server).await, "mail_sent_total:3|c");
    /// # });
    /// ```
    pub fn with_registry(mut self, registry: Arc<Registry>) -> Self {
        self.registry = Some(registry);
        self
    }
}

impl<M: Metrics> From<&'static M> for Source {
    fn from(metrics: &'static M) -> Self {
        Source::new().with(metrics)
    }
}

impl From<Arc<Registry>> for Source {
    fn from(registry: Arc<Registry>) -> Self {
        Source::new().with_registry(registry)
    }
}

impl From<Registry> for Source {
    fn from(registry: Registry) -> Self {
        Source::new().with_registry(Arc::new(registry))
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source").field("registry", &self.registry).field("structs", &self.structs.len()).finish()
    }
}

impl Source {
    /// Hands every series to `visitor`: the registry's, then each struct's, in the order added.
    /// A pure read, like every visit.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::push::Source;
    /// use metrics_runtime::{Counter, MetricDesc, Metrics, Series, Visitor};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs done.
    ///     jobs_total: Counter,
    /// }
    /// static JOBS: Jobs = Jobs::new();
    ///
    /// struct Sum(u64);
    /// impl Visitor for Sum {
    ///     fn counter(&mut self, _: &MetricDesc<'_>, _: Series<'_>, value: u64) {
    ///         self.0 += value;
    ///     }
    /// }
    /// JOBS.jobs_total.add(4);
    /// let mut sum = Sum(0);
    /// Source::from(&JOBS).visit(&mut sum);
    /// assert_eq!(sum.0, 4);
    /// ```
    pub fn visit(&self, visitor: &mut dyn Visitor) {
        if let Some(registry) = &self.registry {
            registry.visit(visitor);
        }
        for entry in &self.structs {
            entry.get().visit(visitor);
        }
    }

    /// Runs [`Metrics::maintain`] on everything read (a
    /// [`BoundedRegistry`](crate::dynamic::BoundedRegistry) evicts its idle series).
    #[cfg(any(feature = "push-http", feature = "statsd"))]
    pub(crate) fn maintain(&self) {
        if let Some(registry) = &self.registry {
            registry.maintain();
        }
        for entry in &self.structs {
            entry.get().maintain();
        }
    }
}

/// An encoder kept from read to read writes what a fresh one writes, while series come and go.
#[cfg(all(test, any(feature = "otlp", feature = "remote-write")))]
pub(crate) fn reuse_rounds(mut check: impl FnMut(&Source, std::time::SystemTime)) {
    use crate::dynamic::{BoundedConfig, BoundedRegistry};
    use std::sync::Arc;
    use std::time::SystemTime;
    let dynamic = Arc::new(BoundedRegistry::new(BoundedConfig {
        idle_timeout: Some(std::time::Duration::ZERO),
        ..Default::default()
    }));
    let hits = dynamic.counter("hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    let mut registry = crate::Registry::new();
    registry.register_arc(dynamic.clone()).unwrap();
    let source = Source::new().with_registry(Arc::new(registry));
    let at = |s: u64| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000 + s);
    for t in ["a", "b", "c"] {
        hits.inc(&[t]).unwrap();
    }
    check(&source, at(0));
    // `a` and `c` go idle and are evicted; `d` comes.
    source.maintain();
    hits.inc(&["b"]).unwrap();
    source.maintain();
    hits.inc(&["d"]).unwrap();
    check(&source, at(1));
    // A new family in front of nothing, a gauge beside.
    let depth = dynamic.gauge("queue_depth", "Depth, by queue.", &["queue"]).unwrap();
    depth.set(&["q1"], 3.0).unwrap();
    let sizes = dynamic.histogram("item_size_bytes", "Sizes, by kind.", &["kind"], &[10.0, 100.0]).unwrap();
    sizes.record(&["small"], 5.0).unwrap();
    hits.inc(&["a"]).unwrap();
    check(&source, at(2));
    sizes.record(&["large"], 500.0).unwrap();
    check(&source, at(3));
    check(&source, at(4));
}
