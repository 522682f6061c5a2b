//! Run-time label lookup: our `BoundedRegistry` beside prometheus' `with_label_values` and
//! `metrics`' `counter!` with labels, on 100 route values known only at run time, rotating.
//!
//! `cargo bench -p benches --bench dynamic`

use std::hint::black_box;
use std::sync::OnceLock;

use benches::{index_sequence, rotating};
use criterion::{criterion_group, criterion_main, Criterion};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};

/// Distinct label values: route names, as a service would see them.
const ROUTES: usize = 100;
fn routes() -> Vec<String> {
    (0..ROUTES).map(|i| format!("/api/v1/resource_{i}")).collect()
}

/// The `metrics` recorder (metrics-exporter-prometheus), installed once.
fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).expect("one recorder per process");
        handle
    })
}

fn bench(c: &mut Criterion) {
    let routes = routes();
    let seq = index_sequence(ROUTES);
    let mut g = c.benchmark_group("dynamic_lookup");

    // Ours: hash the values with the family's hasher, read-lock the map, compare, add.
    let registry = BoundedRegistry::new(BoundedConfig::default());
    let hits = registry.counter("route_hits_total", "Hits by route.", &["route"]).expect("valid");
    for r in &routes {
        hits.inc(&[r]).expect("valid value");
    }
    g.bench_function("ours_bounded_registry", |b| {
        rotating(b, &seq, |&k| {
            let r = routes[k].as_str();
            black_box(&hits).inc(&[r]).expect("valid value");
        })
    });

    // prometheus: `with_label_values` hashes, read-locks, clones an `Arc`.
    let vec = prometheus::IntCounterVec::new(prometheus::Opts::new("route_hits_total", "Hits by route."), &["route"])
        .expect("valid names");
    g.bench_function("prometheus_with_label_values", |b| {
        rotating(b, &seq, |&k| {
            let r = routes[k].as_str();
            black_box(&vec).with_label_values(&[r]).inc();
        })
    });

    // metrics: `counter!` with a run-time label builds a `Key` (allocating the owned label
    // value), hashes it and looks it up in the exporter's registry.
    metrics_handle();
    g.bench_function("metrics_counter_macro", |b| {
        rotating(b, &seq, |&k| {
            let r = routes[k].clone();
            metrics::counter!("route_hits_total", "route" => r).increment(1);
        })
    });
    g.finish();
    assert!(hits.total() > 0);
}

criterion_group!(benches, bench);
criterion_main!(benches);
