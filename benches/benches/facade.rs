//! The `metrics` facade through our recorder (`facade::FacadeRecorder` into a
//! `BoundedRegistry`) beside metrics-exporter-prometheus' recorder, in one run: what a library
//! instrumented with `metrics::counter!` costs under each exporter.
//!
//! Bench IDs (`facade/<path>/<recorder>`), each recorder installed as the thread's local
//! recorder around the whole measurement (`metrics::with_local_recorder`):
//!
//! - `counter_unlabeled`: `metrics::counter!("bench_jobs_total").increment(1)`: the macro
//!   registers (looks up) the key at every call, then increments;
//! - `counter_labeled`: `metrics::counter!("bench_requests_total", "method" => M, "status" => S)`
//!   with (M, S) rotating through 8 pseudo-random combinations;
//! - `counter_cached`: a `metrics::Counter` handle registered once, then `increment(1)`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use metrics_exporter_prometheus::PrometheusBuilder;
use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
use metrics_runtime::facade::{FacadeConfig, FacadeRecorder};
use metrics_runtime::Metrics;

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const STATUSES: [&str; 2] = ["200", "500"];

fn run(c: &mut Criterion, id: &str, recorder: &dyn metrics::Recorder) {
    let mut g = c.benchmark_group("facade");
    metrics::with_local_recorder(recorder, || {
        g.bench_function(format!("counter_unlabeled/{id}"), |b| {
            b.iter(|| metrics::counter!("bench_jobs_total").increment(black_box(1)))
        });
        let mut i = 0usize;
        g.bench_function(format!("counter_labeled/{id}"), |b| {
            b.iter(|| {
                i = i.wrapping_add(0x9E37) & 0xFFFF;
                let (m, s) = (METHODS[i & 3], STATUSES[(i >> 2) & 1]);
                metrics::counter!("bench_requests_total", "method" => m, "status" => s).increment(1);
            })
        });
        let cached = metrics::counter!("bench_cached_total");
        g.bench_function(format!("counter_cached/{id}"), |b| b.iter(|| cached.increment(black_box(1))));
    });
    g.finish();
}

fn facade(c: &mut Criterion) {
    let dynamic = Arc::new(BoundedRegistry::new(BoundedConfig::default()));
    let ours = FacadeRecorder::new(Arc::clone(&dynamic), FacadeConfig::default());
    run(c, "ours", &ours);
    let text = dynamic.render_prometheus();
    assert!(text.contains("bench_jobs_total "), "{text}");
    assert!(text.contains("bench_requests_total{method=\"GET\",status=\"200\"}"), "{text}");

    let theirs = PrometheusBuilder::new().build_recorder();
    let handle = theirs.handle();
    run(c, "metrics_exporter_prometheus", &theirs);
    assert!(handle.render().contains("bench_jobs_total "));
}

criterion_group!(benches, facade);
criterion_main!(benches);
