//! Process metrics with the Prometheus Go client's names and meanings, read from `/proc` at
//! scrape time (feature `process`, Linux): nothing runs between scrapes.

use crate::desc::plain_desc as desc;
use crate::desc::{MetricDesc, MetricKind};
use crate::group::Metrics;
use crate::read::{process_start_time, Series, StaticLabels, Visitor};

/// The process metrics every dashboard starts from: `process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_open_fds`,
/// `process_max_fds`, `process_start_time_seconds`, `process_threads`, as the Prometheus Go
/// client names and computes them.
///
/// Each scrape reads `/proc/self/stat`, `/proc/self/status`, `/proc/self/limits` and lists
/// `/proc/self/fd`; nothing is sampled in the background. On a system without `/proc` (not
/// Linux), a metric that cannot be read is left out of the exposition.
///
/// # Examples
///
/// ```
/// use metrics_runtime::process::ProcessMetrics;
/// use metrics_runtime::{Metrics, Registry};
///
/// let mut registry = Registry::new();
/// registry.register(&ProcessMetrics).unwrap();
/// let text = registry.render_prometheus();
/// # #[cfg(target_os = "linux")]
/// assert!(text.contains("# TYPE process_cpu_seconds_total counter\n"));
/// # #[cfg(target_os = "linux")]
/// assert!(text.contains("\nprocess_threads "));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessMetrics;

static DESCRIPTORS: [MetricDesc<'static>; 7] = [
    desc(
        "process_cpu_seconds_total",
        "process_cpu_seconds",
        MetricKind::Counter,
        "Total user and system CPU time spent in seconds.",
        "seconds",
    ),
    desc("process_open_fds", "process_open_fds", MetricKind::Gauge, "Number of open file descriptors.", ""),
    desc("process_max_fds", "process_max_fds", MetricKind::Gauge, "Maximum number of open file descriptors.", ""),
    desc(
        "process_virtual_memory_bytes",
        "process_virtual_memory_bytes",
        MetricKind::Gauge,
        "Virtual memory size in bytes.",
        "bytes",
    ),
    desc(
        "process_resident_memory_bytes",
        "process_resident_memory_bytes",
        MetricKind::Gauge,
        "Resident memory size in bytes.",
        "bytes",
    ),
    desc(
        "process_start_time_seconds",
        "process_start_time_seconds",
        MetricKind::Gauge,
        "Start time of the process since unix epoch in seconds.",
        "seconds",
    ),
    desc("process_threads", "process_threads", MetricKind::Gauge, "Number of OS threads in the process.", ""),
];

/// One read of `/proc/self`.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ProcessRead {
    /// User plus system CPU seconds.
    pub cpu_seconds: Option<f64>,
    /// Open file descriptors.
    pub open_fds: Option<f64>,
    /// The soft limit on open file descriptors.
    pub max_fds: Option<f64>,
    /// Virtual memory size, bytes.
    pub virtual_bytes: Option<f64>,
    /// Resident set size, bytes.
    pub resident_bytes: Option<f64>,
    /// Process start, seconds since the Unix epoch.
    pub start_time: Option<f64>,
    /// OS threads.
    pub threads: Option<f64>,
}

impl ProcessRead {
    /// Reads the process' figures now.
    pub fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        // The fields after the `)` that closes field 2 (the command, which may hold spaces).
        let fields: Vec<&str> = stat
            .as_deref()
            .and_then(|s| s.rfind(')').map(|i| &s[i + 1..]))
            .map_or_else(Vec::new, |s| s.split_whitespace().collect());
        // Field n (1-based, as in proc(5)) is at index n - 3.
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        // utime (14) and stime (15) are in clock ticks: USER_HZ, 100 on every Linux
        // architecture the standard library supports.
        let cpu_seconds = field(14).zip(field(15)).map(|(u, s)| (u + s) / 100.0);
        let status = std::fs::read_to_string("/proc/self/status").ok();
        let kib = |key: &str| {
            status.as_deref()?.lines().find_map(|l| l.strip_prefix(key))?.split_whitespace().next()?.parse::<f64>().ok()
        };
        let limits = std::fs::read_to_string("/proc/self/limits").ok();
        let max_fds = limits.as_deref().and_then(|l| {
            let line = l.lines().find(|l| l.starts_with("Max open files"))?;
            line["Max open files".len()..].split_whitespace().next()?.parse::<f64>().ok()
        });
        let open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as f64);
        Self {
            cpu_seconds,
            open_fds,
            max_fds,
            // vsize (23) is in bytes; VmRSS is in KiB (the Go client multiplies `rss` pages by
            // the page size: the same figure).
            virtual_bytes: field(23),
            resident_bytes: kib("VmRSS:").map(|k| k * 1024.0),
            start_time: stat.is_some().then(process_start_time),
            threads: kib("Threads:"),
        }
    }
}

impl Metrics for ProcessMetrics {
    fn descriptors(&self) -> &'static [MetricDesc<'static>] {
        &DESCRIPTORS
    }

    fn visit(&self, visitor: &mut dyn Visitor) {
        let read = ProcessRead::now();
        let values = [
            read.cpu_seconds,
            read.open_fds,
            read.max_fds,
            read.virtual_bytes,
            read.resident_bytes,
            read.start_time,
            read.threads,
        ];
        let created = process_start_time();
        let labels = StaticLabels::<()>::new(0);
        for (desc, value) in DESCRIPTORS.iter().zip(values) {
            let Some(value) = value else { continue };
            visitor.begin_metric(desc);
            let series = Series { index: 0, labels: &labels, created };
            match desc.kind {
                MetricKind::Counter => visitor.counter_f64(desc, series, value),
                _ => visitor.gauge(desc, series, value),
            }
            visitor.end_metric(desc);
        }
    }
}
