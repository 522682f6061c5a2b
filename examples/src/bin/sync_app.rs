//! A synchronous program: std threads only, no async runtime. Counters, a drop-guard timer
//! (`start_timer`), a per-thread `LocalBatch` for a very hot counter, and the OpenMetrics
//! exposition printed at the end.
//!
//! `cargo run -p examples --bin sync_app`

use std::thread;
use std::time::Duration;

use metrics_runtime::{Counter, Gauge, Histogram, LocalBatch, Metrics, RecordDuration, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "kind", rename_all = "lowercase")]
enum Kind {
    Small,
    Large,
}

#[derive(Metrics)]
#[metrics(namespace = "indexer")]
struct IndexerMetrics {
    /// Files indexed, by size class.
    files_total: Counter<Kind>,
    /// Bytes read: counted per thread, published in batches.
    #[metric(unit = "bytes")]
    read_bytes_total: Counter,
    /// Threads indexing right now.
    busy_threads: Gauge,
    /// Time to index one file.
    #[metric(unit = "seconds", buckets = [0.0001, 0.0005, 0.001, 0.005, 0.01])]
    file_duration_seconds: Histogram<Kind>,
    /// Time for the whole run.
    #[metric(unit = "seconds", buckets = [0.01, 0.1, 1.0, 10.0])]
    run_duration_seconds: Histogram,
}

static METRICS: IndexerMetrics = IndexerMetrics::new();

fn index_file(size: usize, bytes_read: &mut LocalBatch<'_>) {
    let kind = if size > 2_000 { Kind::Large } else { Kind::Small };
    // Records the elapsed seconds into the `kind` series when dropped.
    let _timer = METRICS.file_duration_seconds.with(kind).start_timer();
    for _ in 0..size / 100 {
        bytes_read.add(100); // a local add; one atomic add per 64 KiB
    }
    thread::sleep(Duration::from_micros(size as u64 / 10));
    METRICS.files_total.with(kind).inc();
}

fn main() {
    let run = METRICS.run_duration_seconds.start_timer();
    thread::scope(|s| {
        for t in 0..4 {
            s.spawn(move || {
                METRICS.busy_threads.inc();
                let mut bytes_read = LocalBatch::new(METRICS.read_bytes_total.with(()), 64 * 1024);
                for file in 0..25 {
                    index_file(500 + (t * 25 + file) * 37 % 4_000, &mut bytes_read);
                }
                drop(bytes_read); // publishes what is pending
                METRICS.busy_threads.dec();
            });
        }
    });
    let elapsed = run.stop();
    eprintln!("indexed {} files in {elapsed:?}", METRICS.files_total.total());
    print!("{}", METRICS.render_openmetrics());
}
