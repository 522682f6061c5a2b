//! Tokio runtime metrics (feature `tokio-metrics`): what tokio's stable `RuntimeMetrics` gives,
//! read at scrape time only.
//!
//! | metric | from |
//! | --- | --- |
//! | `tokio_workers` | `num_workers()` |
//! | `tokio_alive_tasks` | `num_alive_tasks()` |
//! | `tokio_global_queue_depth` | `global_queue_depth()` |
//! | `tokio_worker_busy_seconds_total{worker}` | `worker_total_busy_duration(worker)` |
//! | `tokio_worker_parks_total{worker}` | `worker_park_count(worker)` |
//! | `tokio_worker_park_unparks_total{worker}` | `worker_park_unpark_count(worker)` |
//!
//! The per-worker counters need 64-bit atomics (every 64-bit target). Tokio's other metrics
//! (poll and schedule histograms, steal counts, blocking threads) exist only with
//! `--cfg tokio_unstable` and are not read.
//!
//! # Examples
//!
//! ```
//! use metrics_runtime::tokio_metrics::TokioMetrics;
//! use metrics_runtime::Registry;
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let mut registry = Registry::new();
//! registry.register_arc(std::sync::Arc::new(TokioMetrics::new(runtime.handle().clone()))).unwrap();
//! let text = registry.render_prometheus();
//! assert!(text.contains("tokio_workers 1.0\n"), "{text}"); // a current-thread runtime: one
//! assert!(text.contains("tokio_worker_parks_total{worker=\"0\"} "));
//! ```

use tokio::runtime::Handle;

use crate::desc::plain_desc as desc;
use crate::desc::{MetricDesc, MetricKind, MetricShape};
use crate::group::Metrics;
use crate::read::{process_start_time, Labels, Series, StaticLabels, Visitor};

/// The metrics of one tokio runtime, read from its handle at each scrape.
#[derive(Debug, Clone)]
pub struct TokioMetrics {
    handle: Handle,
}

impl TokioMetrics {
    /// The metrics of the runtime behind `handle` (`Handle::current()` inside it).
    pub fn new(handle: Handle) -> Self {
        Self { handle }
    }
}

/// The per-worker counters' `worker` label, whose values are the runtime's worker indexes.
static PER_WORKER: MetricShape<'static> =
    MetricShape { labels: &["worker"], label_values: &[&[]], ..MetricShape::EMPTY };

/// A per-worker counter's descriptor.
const fn per_worker(
    name: &'static str,
    family: &'static str,
    help: &'static str,
    unit: &'static str,
) -> MetricDesc<'static> {
    MetricDesc { shape: &PER_WORKER, ..desc(name, family, MetricKind::Counter, help, unit) }
}

static DESCRIPTORS: [MetricDesc<'static>; 6] = [
    desc("tokio_workers", "tokio_workers", MetricKind::Gauge, "Worker threads of the tokio runtime.", ""),
    desc("tokio_alive_tasks", "tokio_alive_tasks", MetricKind::Gauge, "Tasks alive in the tokio runtime.", ""),
    desc(
        "tokio_global_queue_depth",
        "tokio_global_queue_depth",
        MetricKind::Gauge,
        "Tasks waiting in the tokio runtime's global queue.",
        "",
    ),
    per_worker(
        "tokio_worker_busy_seconds_total",
        "tokio_worker_busy_seconds",
        "Time each tokio worker spent busy, by worker.",
        "seconds",
    ),
    per_worker("tokio_worker_parks_total", "tokio_worker_parks", "Times each tokio worker parked, by worker.", ""),
    per_worker(
        "tokio_worker_park_unparks_total",
        "tokio_worker_park_unparks",
        "Times each tokio worker parked or unparked, by worker.",
        "",
    ),
];

/// `worker="<index>"`.
struct Worker {
    text: String,
}

impl Labels for Worker {
    fn len(&self) -> usize {
        1
    }

    fn pairs(&self, f: &mut dyn FnMut(&str, &str)) {
        f("worker", &self.text);
    }

    fn write_text(&self, out: &mut String) {
        out.push_str("worker=\"");
        out.push_str(&self.text);
        out.push('"');
    }
}

impl Metrics for TokioMetrics {
    fn descriptors(&self) -> &'static [MetricDesc<'static>] {
        &DESCRIPTORS
    }

    fn visit(&self, visitor: &mut dyn Visitor) {
        let m = self.handle.metrics();
        let created = process_start_time();
        let none = StaticLabels::<()>::new(0);
        let gauges = [m.num_workers(), m.num_alive_tasks(), m.global_queue_depth()];
        for (desc, value) in DESCRIPTORS.iter().zip(gauges) {
            visitor.begin_metric(desc);
            visitor.gauge(desc, Series { index: 0, labels: &none, created }, value as f64);
            visitor.end_metric(desc);
        }
        #[cfg(target_has_atomic = "64")]
        {
            let workers: Vec<Worker> = (0..m.num_workers()).map(|w| Worker { text: w.to_string() }).collect();
            let per_worker: [&dyn Fn(usize) -> f64; 3] =
                [&|w| m.worker_total_busy_duration(w).as_secs_f64(), &|w| m.worker_park_count(w) as f64, &|w| {
                    m.worker_park_unpark_count(w) as f64
                }];
            for (desc, read) in DESCRIPTORS[3..].iter().zip(per_worker) {
                visitor.begin_metric(desc);
                for (w, labels) in workers.iter().enumerate() {
                    let series = Series { index: w, labels, created };
                    if desc.unit == "seconds" {
                        visitor.counter_f64(desc, series, read(w));
                    } else {
                        visitor.counter(desc, series, read(w) as u64);
                    }
                }
                visitor.end_metric(desc);
            }
        }
    }
}
