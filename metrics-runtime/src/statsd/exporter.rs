//! The push task: reads the metrics and the batcher at each flush and sends StatsD datagrams.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::group::Metrics;

use super::batcher::{AsyncMetricsBatcher, BatcherConfig};
use super::lines::{
    global_tags, HistogramMode, LineFormat, Lines, SummaryMode, TagStyle, PART_OWN, PART_REGISTRY, PART_STRUCTS,
};
use super::stats::{FlushResult, StatsdStats};
use crate::push::driver::{Activity, Commands};
use crate::push::{BreakerConfig, BreakerState, MetricCircuitBreaker, Source};

/// The settings of a [`StatsdExporter`]. The defaults push to `127.0.0.1:8125` every second.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use metrics_runtime::statsd::{StatsdConfig, StatsdExporter};
/// use metrics_runtime::{Counter, Metrics};
///
/// #[derive(Metrics)]
/// struct Jobs {
///     /// Jobs run.
///     jobs_total: Counter,
/// }
/// static JOBS: Jobs = Jobs::new();
///
/// # async fn recv(server: &tokio::net::UdpSocket) -> String {
/// #     let mut buf = [0u8; 65536];
/// #     let n = tokio::time::timeout(std::time::Duration::from_secs(5), server.recv(&mut buf)).await.unwrap().unwrap();
/// #     String::from_utf8(buf[..n].to_vec()).unwrap()
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(); // a StatsD server
/// let config = StatsdConfig {
///     target: server.local_addr().unwrap(),
///     flush_interval: Duration::from_secs(10),
///     prefix: "worker.".to_owned(),
///     global_tags: vec![("env".to_owned(), "prod".to_owned())],
///     push_own_stats: false,
///     ..StatsdConfig::default()
/// };
/// let exporter = StatsdExporter::start(&JOBS, config).await.unwrap();
/// JOBS.jobs_total.add(5);
/// exporter.flush().await;
/// assert_eq!(recv(&server).await, "worker.jobs_total:5|c|#env:prod");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct StatsdConfig {
    /// The StatsD server. Default `127.0.0.1:8125`.
    pub target: SocketAddr,
    /// Time between two flushes. Default 1 s.
    pub flush_interval: Duration,
    /// Largest datagram payload: lines are packed up to this size. Default 1432 bytes (an
    /// Ethernet MTU of 1500 less IPv6 and UDP headers, with room for tunnels); raise it to
    /// 8932 on jumbo frames or up to 65 000 on loopback. A line longer than this is sent
    /// alone.
    pub max_datagram_bytes: usize,
    /// Prepended to every metric name of the pushed structs and the batcher keys
    /// (`"myapp."`). Default empty.
    pub prefix: String,
    /// Tags added to every line (DogStatsD style only), as `(name, value)` pairs.
    pub global_tags: Vec<(String, String)>,
    /// How tags are written. Default DogStatsD `|#k:v`.
    pub tag_style: TagStyle,
    /// How histograms are pushed. Default reconstructed timings.
    pub histograms: HistogramMode,
    /// How summaries are pushed. Default count and sum counters.
    pub summaries: SummaryMode,
    /// A send that takes longer (a full socket buffer) fails. Default 100 ms.
    pub send_timeout: Duration,
    /// The circuit breaker of the push path.
    pub breaker: BreakerConfig,
    /// The batcher created by [`StatsdExporter::start`].
    pub batcher: BatcherConfig,
    /// Whether to push the exporter's own [`StatsdStats`] too. They ride along with flushes
    /// that send something else, so that they never keep an idle exporter sending. Default
    /// true.
    pub push_own_stats: bool,
    /// Least time between two runs of [`Metrics::maintain`] on the sources (a
    /// `BoundedRegistry` evicts its idle series then), which the exporter runs after a flush's
    /// read, never during it. Default 60 s.
    pub maintenance_interval: Duration,
}

impl Default for StatsdConfig {
    fn default() -> Self {
        Self {
            target: SocketAddr::from(([127, 0, 0, 1], 8125)),
            flush_interval: Duration::from_secs(1),
            max_datagram_bytes: 1432,
            prefix: String::new(),
            global_tags: Vec::new(),
            tag_style: TagStyle::DogStatsd,
            histograms: HistogramMode::Timings,
            summaries: SummaryMode::CountSum,
            send_timeout: Duration::from_millis(100),
            breaker: BreakerConfig::default(),
            batcher: BatcherConfig::default(),
            push_own_stats: true,
            maintenance_interval: Duration::from_secs(60),
        }
    }
}

/// What one flush did.
///
/// # Examples
///
/// ```
/// use metrics_runtime::statsd::{FlushReport, FlushResult, StatsdConfig, StatsdExporter, StatsdKey};
/// use metrics_runtime::{Counter, Metrics};
///
/// #[derive(Metrics)]
/// struct Jobs {
///     /// Jobs run.
///     jobs_total: Counter,
/// }
/// static JOBS: Jobs = Jobs::new();
/// static JOB_MS: StatsdKey = StatsdKey::timing("jobs.run");
///
/// # async fn recv(server: &tokio::net::UdpSocket) -> String {
/// #     let mut buf = [0u8; 65536];
/// #     let n = tokio::time::timeout(std::time::Duration::from_secs(5), server.recv(&mut buf)).await.unwrap().unwrap();
/// #     String::from_utf8(buf[..n].to_vec()).unwrap()
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(); // a StatsD server
/// let config = StatsdConfig { target: server.local_addr().unwrap(), push_own_stats: false, ..StatsdConfig::default() };
/// let exporter = StatsdExporter::start(&JOBS, config).await.unwrap();
/// JOBS.jobs_total.inc();
/// exporter.batcher().record(&JOB_MS, (), 12.0);
/// let report: FlushReport = exporter.flush().await;
/// let datagram = recv(&server).await;
/// assert_eq!(datagram, "jobs_total:1|c\njobs.run:12|ms");
/// assert_eq!(
///     report,
///     FlushReport { result: FlushResult::Sent, lines: 1, records: 1, datagrams: 1, bytes: datagram.len() }
/// );
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushReport {
    /// How it ended.
    pub result: FlushResult,
    /// Metric series lines prepared (a negative gauge counts once for its two lines).
    pub lines: usize,
    /// Batcher records sent.
    pub records: usize,
    /// Datagrams sent.
    pub datagrams: usize,
    /// Payload bytes sent.
    pub bytes: usize,
}

impl FlushReport {
    fn new(result: FlushResult) -> Self {
        Self { result, lines: 0, records: 0, datagrams: 0, bytes: 0 }
    }
}

enum Command {
    Flush(oneshot::Sender<FlushReport>),
    Shutdown(oneshot::Sender<FlushReport>),
}

/// A StatsD / DogStatsD push exporter: a tokio task that, every `flush_interval`, reads its
/// [`Source`] and its [`AsyncMetricsBatcher`] and sends what changed over UDP, behind a
/// [`MetricCircuitBreaker`].
///
/// See the [module documentation](super) for what is sent.
///
/// Dropping the exporter stops the task after one last flush; [`shutdown`](Self::shutdown)
/// does the same and waits for it.
///
/// # Examples
///
/// ```
/// use metrics_runtime::statsd::{StatsdConfig, StatsdExporter, StatsdKey};
/// use metrics_runtime::{Counter, Metrics};
///
/// #[derive(Metrics)]
/// #[metrics(namespace = "shop")]
/// struct Shop {
///     /// Orders placed.
///     orders_total: Counter,
/// }
/// static SHOP: Shop = Shop::new();
/// static CHECKOUT_MS: StatsdKey = StatsdKey::timing("shop.checkout");
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
/// let config = StatsdConfig { target: server.local_addr().unwrap(), ..StatsdConfig::default() };
/// let exporter = StatsdExporter::start(&SHOP, config).await.unwrap();
///
/// SHOP.orders_total.add(3);
/// exporter.batcher().record(&CHECKOUT_MS, (), 12.5);
/// exporter.shutdown().await; // one last flush
///
/// let mut buf = [0u8; 1500];
/// let n = server.recv(&mut buf).await.unwrap();
/// let datagram = std::str::from_utf8(&buf[..n]).unwrap();
/// assert!(datagram.starts_with("shop_orders_total:3|c\nshop.checkout:12.5|ms"), "{datagram}");
/// # });
/// ```
pub struct StatsdExporter {
    local_addr: SocketAddr,
    batcher: AsyncMetricsBatcher,
    breaker: Arc<MetricCircuitBreaker>,
    commands: Commands<Command>,
    task: tokio::task::JoinHandle<()>,
}

impl StatsdExporter {
    /// Binds a UDP socket, connects it to `config.target` and starts the push task, with a new
    /// batcher configured by `config.batcher`. The socket and the task are the push thread's
    /// (see [`push`](crate::push)): any executor may await this.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use metrics_runtime::statsd::{StatsdConfig, StatsdExporter};
    /// use metrics_runtime::{Counter, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    /// static JOBS: Jobs = Jobs::new();
    ///
    /// # async fn recv(server: &tokio::net::UdpSocket) -> String {
    /// #     let mut buf = [0u8; 65536];
    /// #     let n = tokio::time::timeout(std::time::Duration::from_secs(5), server.recv(&mut buf)).await.unwrap().unwrap();
    /// #     String::from_utf8(buf[..n].to_vec()).unwrap()
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(); // a StatsD server
    /// let config = StatsdConfig { target: server.local_addr().unwrap(), push_own_stats: false, ..StatsdConfig::default() };
    /// // A `#[derive(Metrics)]` static, a `Registry` or a `Source` combining them.
    /// let exporter = StatsdExporter::start(&JOBS, config.clone()).await.unwrap();
    /// let idle = StatsdExporter::start(Arc::new(Registry::new()), config).await.unwrap();
    /// JOBS.jobs_total.add(2);
    /// exporter.flush().await;
    /// assert_eq!(recv(&server).await, "jobs_total:2|c");
    /// assert_eq!(idle.flush().await.lines, 0);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// The error of binding or connecting the socket.
    ///
    pub async fn start(source: impl Into<Source>, config: StatsdConfig) -> io::Result<Self> {
        let batcher = AsyncMetricsBatcher::new(config.batcher);
        Self::start_with_batcher(source, batcher, config).await
    }

    /// As [`start`](Self::start), draining an existing batcher (whose records may already be
    /// queued). Only one exporter should drain a batcher.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{AsyncMetricsBatcher, BatcherConfig, Source, StatsdConfig, StatsdExporter, StatsdKey};
    ///
    /// static BOOT_MS: StatsdKey = StatsdKey::timing("app.boot");
    ///
    /// # async fn recv(server: &tokio::net::UdpSocket) -> String {
    /// #     let mut buf = [0u8; 65536];
    /// #     let n = tokio::time::timeout(std::time::Duration::from_secs(5), server.recv(&mut buf)).await.unwrap().unwrap();
    /// #     String::from_utf8(buf[..n].to_vec()).unwrap()
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(); // a StatsD server
    /// // Recording starts before the exporter exists (say, while configuration loads).
    /// let batcher = AsyncMetricsBatcher::new(BatcherConfig::default());
    /// batcher.record(&BOOT_MS, (), 420.0);
    ///
    /// let config = StatsdConfig { target: server.local_addr().unwrap(), push_own_stats: false, ..StatsdConfig::default() };
    /// let exporter = StatsdExporter::start_with_batcher(Source::new(), batcher.clone(), config).await.unwrap();
    /// exporter.flush().await;
    /// assert_eq!(recv(&server).await, "app.boot:420|ms");
    /// assert!(batcher.is_empty());
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// The error of binding or connecting the socket.
    ///
    pub async fn start_with_batcher(
        source: impl Into<Source>,
        batcher: AsyncMetricsBatcher,
        config: StatsdConfig,
    ) -> io::Result<Self> {
        let target = config.target;
        let bind = match target {
            SocketAddr::V4(a) if a.ip().is_loopback() => SocketAddr::from((*a.ip(), 0)),
            SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            SocketAddr::V6(a) if a.ip().is_loopback() => SocketAddr::from((*a.ip(), 0)),
            SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
        };
        let breaker = Arc::new(MetricCircuitBreaker::new(config.breaker));
        let (commands, rx) = mpsc::channel(4);
        let source = source.into();
        let (bound, bound_rx) = oneshot::channel();
        let flusher_breaker = Arc::clone(&breaker);
        let flusher_batcher = batcher.clone();
        // The socket is the push thread's, as is the task (see `push`'s module docs).
        let task = crate::push::driver::spawn(async move {
            let socket = match bind_connected(bind, target).await {
                Ok(socket) => socket,
                Err(e) => {
                    let _ = bound.send(Err(e));
                    return;
                }
            };
            let _ = bound.send(socket.local_addr());
            Flusher::new(source, flusher_batcher, flusher_breaker, socket, config).run(rx).await;
        });
        let local_addr = bound_rx.await.map_err(|_| io::Error::other("the push thread stopped"))??;
        Ok(Self { local_addr, batcher, breaker, commands: Commands::new(commands), task })
    }

    /// The batcher whose records this exporter pushes. Clone it to record from anywhere.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{Source, StatsdConfig, StatsdExporter, StatsdKey};
    ///
    /// static RETRIES: StatsdKey = StatsdKey::count("client.retries");
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
    /// let batcher = exporter.batcher().clone(); // for another thread or task
    /// std::thread::spawn(move || batcher.record(&RETRIES, (), 2.0)).join().unwrap();
    /// exporter.flush().await;
    /// assert_eq!(recv(&server).await, "client.retries:2|c");
    /// # });
    /// ```
    pub fn batcher(&self) -> &AsyncMetricsBatcher {
        &self.batcher
    }

    /// The exporter's and its batcher's own metrics.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{FlushResult, StatsdConfig, StatsdExporter};
    /// use metrics_runtime::{Counter, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    /// static JOBS: Jobs = Jobs::new();
    ///
    /// # async fn recv(server: &tokio::net::UdpSocket) -> String {
    /// #     let mut buf = [0u8; 65536];
    /// #     let n = tokio::time::timeout(std::time::Duration::from_secs(5), server.recv(&mut buf)).await.unwrap().unwrap();
    /// #     String::from_utf8(buf[..n].to_vec()).unwrap()
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(); // a StatsD server
    /// let config = StatsdConfig { target: server.local_addr().unwrap(), push_own_stats: false, ..StatsdConfig::default() };
    /// let exporter = StatsdExporter::start(&JOBS, config).await.unwrap();
    /// JOBS.jobs_total.inc();
    /// exporter.flush().await;
    /// let datagram = recv(&server).await;
    /// let stats = exporter.stats();
    /// assert_eq!(stats.datagrams_sent_total.get(), 1);
    /// assert_eq!(stats.sent_bytes_total.get(), datagram.len() as u64);
    /// assert_eq!(stats.flushes_total.with(FlushResult::Sent).get(), 1);
    /// # });
    /// ```
    pub fn stats(&self) -> &Arc<StatsdStats> {
        self.batcher.stats()
    }

    /// The circuit breaker of the push path.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{BreakerConfig, BreakerState, StatsdConfig, StatsdExporter};
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
    /// assert_eq!(exporter.breaker().state(), BreakerState::Closed);
    /// JOBS.jobs_total.inc();
    /// exporter.flush().await; // refused
    /// assert_eq!(exporter.breaker().state(), BreakerState::Open);
    /// assert_eq!(exporter.breaker().times_opened(), 1);
    /// # });
    /// ```
    pub fn breaker(&self) -> &Arc<MetricCircuitBreaker> {
        &self.breaker
    }

    /// The local address of the sending socket.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{Source, StatsdConfig, StatsdExporter};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(); // a StatsD server
    /// let config = StatsdConfig { target: server.local_addr().unwrap(), ..StatsdConfig::default() };
    /// let exporter = StatsdExporter::start(Source::new(), config).await.unwrap();
    /// assert!(exporter.local_addr().ip().is_loopback()); // a loopback target is sent to from loopback
    /// assert_ne!(exporter.local_addr().port(), 0);
    /// # });
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Flushes now (as the timer would) and returns what the flush did. The timer keeps its
    /// schedule.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{FlushResult, StatsdConfig, StatsdExporter};
    /// use metrics_runtime::{Gauge, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Queue {
    ///     /// Jobs waiting.
    ///     queue_depth: Gauge,
    /// }
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
    /// let exporter = StatsdExporter::start(&QUEUE, config).await.unwrap();
    /// QUEUE.queue_depth.set(7.0);
    /// assert_eq!(exporter.flush().await.result, FlushResult::Sent);
    /// assert_eq!(recv(&server).await, "queue_depth:7|g");
    /// // Only what changed is sent: a second flush has nothing to do.
    /// assert_eq!(exporter.flush().await.result, FlushResult::Unchanged);
    /// # });
    /// ```
    pub async fn flush(&self) -> FlushReport {
        let (reply, rx) = oneshot::channel();
        if self.commands.send(Command::Flush(reply)).await.is_err() {
            return FlushReport::new(FlushResult::Failed);
        }
        rx.await.unwrap_or_else(|_| FlushReport::new(FlushResult::Failed))
    }

    /// Flushes one last time, stops the task and waits for it; returns the last flush's
    /// report. The last flush obeys the breaker like any other.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{FlushResult, StatsdConfig, StatsdExporter};
    /// use metrics_runtime::{Counter, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    /// static JOBS: Jobs = Jobs::new();
    ///
    /// # async fn recv(server: &tokio::net::UdpSocket) -> String {
    /// #     let mut buf = [0u8; 65536];
    /// #     let n = tokio::time::timeout(std::time::Duration::from_secs(5), server.recv(&mut buf)).await.unwrap().unwrap();
    /// #     String::from_utf8(buf[..n].to_vec()).unwrap()
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(); // a StatsD server
    /// let config = StatsdConfig { target: server.local_addr().unwrap(), push_own_stats: false, ..StatsdConfig::default() };
    /// let exporter = StatsdExporter::start(&JOBS, config).await.unwrap();
    /// JOBS.jobs_total.add(9);
    /// let last = exporter.shutdown().await; // nothing recorded before shutdown is lost
    /// assert_eq!(last.result, FlushResult::Sent);
    /// assert_eq!(recv(&server).await, "jobs_total:9|c");
    /// # });
    /// ```
    pub async fn shutdown(self) -> FlushReport {
        let (reply, rx) = oneshot::channel();
        let report = if self.commands.send(Command::Shutdown(reply)).await.is_ok() {
            rx.await.unwrap_or_else(|_| FlushReport::new(FlushResult::Failed))
        } else {
            FlushReport::new(FlushResult::Failed)
        };
        let _ = self.task.await;
        report
    }
}

impl fmt::Debug for StatsdExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatsdExporter")
            .field("local_addr", &self.local_addr)
            .field("batcher", &self.batcher)
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

/// The state of the push task.
struct Flusher {
    config: StatsdConfig,
    format: LineFormat,
    source: Source,
    batcher: AsyncMetricsBatcher,
    stats: Arc<StatsdStats>,
    breaker: Arc<MetricCircuitBreaker>,
    socket: UdpSocket,
    /// Reused buffers: the lines of a flush, the datagram being packed, one record's line.
    lines: Lines,
    datagram: String,
    record_line: String,
    /// `breaker.times_opened()` at the last flush.
    opened_seen: u64,
    /// Records dropped by the batcher, records lost, datagrams sent and send errors, as last
    /// added to `PUSH_STATS`.
    reported: [u64; 4],
    /// The first unit of `lines` that holds the exporter's own metrics.
    own_from: usize,
    /// When the sources' maintenance last ran.
    last_maintenance: Option<std::time::Instant>,
}

/// A datagram being packed.
struct Packer {
    datagram: String,
    /// Batcher records in `datagram`.
    records: usize,
    /// Units `..units` are packed (sent or in `datagram`).
    units: usize,
    /// The next commit of `lines` to apply.
    commits: usize,
    max: usize,
}

impl Packer {
    /// Whether a line of `len` bytes fits in the datagram. A line longer than the limit fits in
    /// an empty datagram: it is sent alone.
    fn fits(&self, len: usize) -> bool {
        self.datagram.is_empty() || self.datagram.len() + 1 + len <= self.max
    }

    fn push(&mut self, line: &str) {
        if !self.datagram.is_empty() {
            self.datagram.push('\n');
        }
        self.datagram.push_str(line);
    }
}

impl Flusher {
    fn new(
        source: Source,
        batcher: AsyncMetricsBatcher,
        breaker: Arc<MetricCircuitBreaker>,
        socket: UdpSocket,
        config: StatsdConfig,
    ) -> Self {
        Flusher {
            format: LineFormat {
                prefix: config.prefix.clone(),
                tag_style: config.tag_style,
                global_tags: global_tags(&config.global_tags),
                histograms: config.histograms,
                summaries: config.summaries,
            },
            source,
            stats: Arc::clone(batcher.stats()),
            batcher,
            breaker,
            socket,
            config,
            lines: Lines::default(),
            datagram: String::new(),
            record_line: String::new(),
            opened_seen: 0,
            reported: [0; 4],
            own_from: 0,
            last_maintenance: None,
        }
    }
}

/// A UDP socket bound to `bind` and connected to `target`.
async fn bind_connected(bind: SocketAddr, target: SocketAddr) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(bind).await?;
    socket.connect(target).await?;
    Ok(socket)
}

impl Flusher {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let activity = Activity::new();
        // The flush interval, stretched by the energy policy (see `energy`).
        let period = |config: &StatsdConfig| {
            let factor = crate::energy::refresh_if_stale().interval_factor;
            config.flush_interval.max(Duration::from_millis(1)).saturating_mul(factor)
        };
        // On the process's push schedule: with the HTTP exporters at the same interval, one
        // wakeup serves them all.
        let first = period(&self.config);
        let mut next = crate::push::next_tick(std::time::Instant::now() + first, first);
        loop {
            activity.waiting(tokio::time::Instant::from_std(next));
            tokio::select! {
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(next)) => {
                    activity.busy();
                    self.flush().await;
                    // The next tick after now: a flush that overran skips ticks rather than
                    // bunching them.
                    next = crate::push::next_tick(std::time::Instant::now(), period(&self.config));
                }
                command = commands.recv() => {
                    activity.busy();
                    match command {
                        Some(Command::Flush(reply)) => {
                            let report = self.flush().await;
                            let _ = reply.send(report);
                        }
                        Some(Command::Shutdown(reply)) => {
                            let report = self.flush().await;
                            let _ = reply.send(report);
                            return;
                        }
                        None => {
                            self.flush().await;
                            return;
                        }
                    }
                }
            }
        }
    }

    async fn flush(&mut self) -> FlushReport {
        let report = self.flush_inner().await;
        self.stats.flushes_total.with(report.result).inc();
        self.stats.queue_length.set(self.batcher.len() as f64);
        self.stats.breaker_state.set(f64::from(self.breaker.state().as_number()));
        let opened = self.breaker.times_opened();
        self.stats.breaker_opened_total.add(opened.wrapping_sub(self.opened_seen));
        self.opened_seen = opened;
        self.report_push_stats(&report);
        report
    }

    /// The pipeline's own metrics (`push_*{exporter="statsd"}`), the same as every other push
    /// exporter's: points read and sent (metric lines and batcher records), points dropped (by
    /// the batcher's backpressure policy as `queue_full`, records in a datagram that failed to
    /// send as `send_failed`), datagrams by outcome, the breaker and the interval.
    fn report_push_stats(&mut self, report: &FlushReport) {
        use crate::push::{DropReason, ExporterDrop, ExporterKind, ExporterOutcome, RequestOutcome, PUSH_STATS};
        let kind = ExporterKind::Statsd;
        let now = [
            self.stats.dropped(),
            self.stats.records_lost_total.get(),
            self.stats.datagrams_sent_total.get(),
            self.stats.send_errors_total.get(),
        ];
        let delta: [u64; 4] = std::array::from_fn(|i| now[i].wrapping_sub(self.reported[i]));
        self.reported = now;
        let read = (report.lines + report.records) as u64;
        PUSH_STATS.points_queued_total.with(kind).add(read + delta[0]);
        if report.result == FlushResult::Sent {
            PUSH_STATS.points_sent_total.with(kind).add(read);
        }
        let dropped = |reason, n| PUSH_STATS.points_dropped_total.with(ExporterDrop { exporter: kind, reason }).add(n);
        dropped(DropReason::QueueFull, delta[0]);
        dropped(DropReason::SendFailed, delta[1]);
        let outcome = |outcome, n| PUSH_STATS.requests_total.with(ExporterOutcome { exporter: kind, outcome }).add(n);
        outcome(RequestOutcome::Success, delta[2]);
        outcome(RequestOutcome::Error, delta[3]);
        PUSH_STATS.breaker_state.with(kind).set(f64::from(self.breaker.state().as_number()));
        let interval = self.config.flush_interval.saturating_mul(crate::energy::interval_factor());
        PUSH_STATS.interval_seconds.with(kind).set(interval.as_secs_f64());
        PUSH_STATS.queue_batches.with(kind).set(self.batcher.len() as f64);
    }

    async fn flush_inner(&mut self) -> FlushReport {
        // While the breaker is open and cooling down, do nothing at all: no read, no send.
        if !self.breaker.would_allow() {
            return FlushReport::new(FlushResult::BreakerOpen);
        }
        self.lines.clear();
        // Pure reads through the read protocol: no snapshot is built.
        if let Some(registry) = &self.source.registry {
            self.lines.diff_visit(PART_REGISTRY, &self.format, |v| registry.visit(v));
        }
        if !self.source.structs.is_empty() {
            // The structs' metrics, one after the other, are read as one part.
            let structs = &self.source.structs;
            self.lines.diff_visit(PART_STRUCTS, &self.format, |v| {
                for entry in structs {
                    entry.get().visit(v);
                }
            });
        }
        // Maintenance after the reads, at most once per `maintenance_interval` (a
        // `BoundedRegistry` evicts its idle series then, never during a read).
        if self.last_maintenance.is_none_or(|t| t.elapsed() >= self.config.maintenance_interval) {
            self.source.maintain();
            self.last_maintenance = Some(std::time::Instant::now());
        }
        let lines = self.lines.units();
        if lines == 0 && self.batcher.is_empty() {
            return FlushReport::new(FlushResult::Unchanged);
        }
        if !self.breaker.try_acquire() {
            return FlushReport::new(FlushResult::BreakerOpen);
        }
        self.own_from = self.lines.units();
        if self.config.push_own_stats {
            let stats = &self.stats;
            self.lines.diff_visit(PART_OWN, &self.format, |v| stats.visit(v));
        }
        let mut report = FlushReport::new(FlushResult::Sent);
        report.lines = lines;
        if self.send(&mut report).await {
            self.breaker.record_success();
        } else {
            self.breaker.record_failure();
            report.result = FlushResult::Failed;
        }
        report
    }

    /// Sends the lines, then the batcher's records, packed into datagrams. Stops at the first
    /// failed send; returns whether every send succeeded.
    async fn send(&mut self, report: &mut FlushReport) -> bool {
        // An error left by the last flush: an ICMP "port unreachable" that arrived after it.
        if !matches!(self.socket.take_error(), Ok(None)) {
            self.stats.send_errors_total.inc();
            return false;
        }
        let mut datagram = std::mem::take(&mut self.datagram);
        datagram.clear();
        let mut packer =
            Packer { datagram, records: 0, units: 0, commits: 0, max: self.config.max_datagram_bytes.max(1) };
        // A half-open probe is the metrics' lines alone (or an empty datagram): records, which a
        // failed send loses, are only taken once it went through.
        let probe = self.breaker.state() == BreakerState::HalfOpen;
        // The metrics' lines, the batcher's records, then the exporter's own lines.
        let ok = self.send_units(&mut packer, 0..self.own_from, report).await
            && (!probe || self.send_probe(&mut packer, report).await)
            && self.send_records(&mut packer, report).await
            && self.send_units(&mut packer, self.own_from..self.lines.units(), report).await
            && self.send_packed(&mut packer, report).await;
        self.datagram = packer.datagram;
        ok
    }

    async fn send_units(&mut self, packer: &mut Packer, units: Range<usize>, report: &mut FlushReport) -> bool {
        for i in units {
            if !packer.fits(self.lines.unit(i).len()) && !self.send_packed(packer, report).await {
                return false;
            }
            packer.push(self.lines.unit(i));
            packer.units = i + 1;
        }
        true
    }

    /// Takes the batcher's records: at most what it can hold, so that producers faster than
    /// the network cannot keep one flush going.
    async fn send_records(&mut self, packer: &mut Packer, report: &mut FlushReport) -> bool {
        let mut line = std::mem::take(&mut self.record_line);
        let mut cursor = 0;
        let limit = self.batcher.capacity() + self.batcher.coalesce_slots();
        let mut ok = true;
        for _ in 0..limit {
            let Some(record) = self.batcher.take(&mut cursor) else {
                break;
            };
            line.clear();
            self.format.record_line(&mut line, &record);
            if !packer.fits(line.len()) && !self.send_packed(packer, report).await {
                // The record in hand is lost with the datagram.
                self.stats.records_lost_total.inc();
                ok = false;
                break;
            }
            packer.push(&line);
            packer.records += 1;
        }
        self.record_line = line;
        ok
    }

    /// Sends what is packed now, or an empty datagram when nothing is.
    async fn send_probe(&mut self, packer: &mut Packer, report: &mut FlushReport) -> bool {
        if packer.datagram.is_empty() {
            self.send_datagram("", 0, report).await
        } else {
            self.send_packed(packer, report).await
        }
    }

    /// Sends the packed datagram, if any; on success remembers the values it carried.
    async fn send_packed(&mut self, packer: &mut Packer, report: &mut FlushReport) -> bool {
        if packer.datagram.is_empty() {
            return true;
        }
        if !self.send_datagram(&packer.datagram, packer.records, report).await {
            return false;
        }
        self.lines.apply_commits(packer.units, &mut packer.commits);
        packer.datagram.clear();
        packer.records = 0;
        true
    }

    /// Sends one datagram carrying `records` batcher records; counts the outcome.
    async fn send_datagram(&self, payload: &str, records: usize, report: &mut FlushReport) -> bool {
        let sent = tokio::time::timeout(self.config.send_timeout, self.socket.send(payload.as_bytes())).await;
        // On a connected socket, an ICMP "port unreachable" for this datagram is usually
        // already recorded when `send` returns (always on loopback): read it now.
        let ok = matches!(sent, Ok(Ok(n)) if n == payload.len()) && matches!(self.socket.take_error(), Ok(None));
        if ok {
            self.stats.datagrams_sent_total.inc();
            self.stats.sent_bytes_total.add(payload.len() as u64);
            self.stats.records_sent_total.add(records as u64);
            report.datagrams += 1;
            report.bytes += payload.len();
            report.records += records;
        } else {
            self.stats.send_errors_total.inc();
            self.stats.records_lost_total.add(records as u64);
        }
        ok
    }
}
