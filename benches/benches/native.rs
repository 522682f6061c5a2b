//! Native histograms and exemplars beside the classic histogram and the peers that have them,
//! and the protobuf exposition beside rust-prometheus' protobuf encoder.
//!
//! - `native_record/*`: one record of the `histogram_record` value sequence (values over all
//!   11 default buckets) into: `floor_branchless` (the classic floor of `benches/peers.rs`: a
//!   branch-free bucket count and one `fetch_add`, no sum), `ours_classic` (`Histogram`),
//!   `ours_native` (`NativeHistogram`, schema 3), `ours_classic_exemplar` and
//!   `ours_native_exemplar` (the same through `Exemplars`, one `trace_id` exemplar per
//!   record), `prometheus_client_exemplar` (`HistogramWithExemplars::observe` with a trace
//!   label set), and `metrics_native_drained` (`metrics-exporter-prometheus` with a native
//!   histogram configured for the metric: the append plus the upkeep that folds the values
//!   into its native buckets, amortised).
//! - `exemplar_contended_2/*`: two threads recording with exemplars into one series (time per
//!   record per thread).
//! - `render_protobuf_1000/*`: the 1000-series counter family of `render_1000` as
//!   length-delimited protobuf `MetricFamily` messages into a reused buffer: ours
//!   (`ProtobufWriter`), prometheus (`Registry::gather` + `ProtobufEncoder`).

// The peers' shared declarations (`benches/peers.rs`); this bench uses a few of them.
#[allow(dead_code)]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use benches::{counter_values, rotating, threads, value_sequence, BOUNDS, VALUE_MASK};
use criterion::{criterion_group, criterion_main, Criterion};
use metrics_exporter_prometheus::{Matcher, NativeHistogramConfig, PrometheusBuilder};
use metrics_runtime::expose::ProtobufWriter;
use metrics_runtime::{Metrics, TagSet};
use prometheus_client::encoding::EncodeLabelSet;
use support::ours::{PeerMetrics, RenderMetrics};
use support::Route;

static OURS: PeerMetrics = PeerMetrics::new();
static OURS_RENDER: RenderMetrics = RenderMetrics::new();
static FLOOR_BUCKETS: [std::sync::atomic::AtomicU64; 12] = [const { std::sync::atomic::AtomicU64::new(0) }; 12];

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TraceLabel {
    trace_id: String,
}

fn native_record(c: &mut Criterion) {
    let values = value_sequence();
    let mut g = c.benchmark_group("native_record");

    g.bench_function("floor_branchless", |b| {
        rotating(b, &values, |&v| {
            let bucket = black_box(&BOUNDS).iter().map(|b| usize::from(v > *b)).sum::<usize>();
            black_box(&FLOOR_BUCKETS)[bucket].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })
    });
    g.bench_function("ours_classic", |b| {
        rotating(b, &values, |&v| {
            black_box(&OURS).latency_seconds.record(v);
        })
    });
    g.bench_function("ours_native", |b| {
        rotating(b, &values, |&v| {
            black_box(&OURS).native_seconds.record(v);
        })
    });
    g.bench_function("ours_classic_exemplar", |b| {
        rotating(b, &values, |&v| {
            let _ = black_box(&OURS).traced_seconds.with(()).record_with_exemplar(v, &[("trace_id", TRACE)]);
        })
    });
    g.bench_function("ours_native_exemplar", |b| {
        rotating(b, &values, |&v| {
            let _ = black_box(&OURS).traced_native_seconds.with(()).record_with_exemplar(v, &[("trace_id", TRACE)]);
        })
    });

    // The label set is built per record, as a caller with a new trace id per request must.
    let histogram = prometheus_client::metrics::exemplar::HistogramWithExemplars::<TraceLabel>::new(BOUNDS.into_iter());
    g.bench_function("prometheus_client_exemplar", |b| {
        rotating(b, &values, |&v| {
            black_box(&histogram).observe(v, Some(TraceLabel { trace_id: TRACE.to_owned() }), None);
        })
    });

    // metrics-exporter-prometheus: the metric configured as a native histogram (schema 3 is a
    // bucket factor of 2^(1/8)); `record` appends, the upkeep folds into the native buckets.
    let config = NativeHistogramConfig::new(2f64.powf(1.0 / 8.0), 160, 2.938_735_877_055_719e-39).expect("valid");
    let recorder = PrometheusBuilder::new()
        .set_native_histogram_for_metric(Matcher::Full("native_seconds".to_owned()), config)
        .build_recorder();
    let handle = recorder.handle();
    let histogram = metrics::with_local_recorder(&recorder, || metrics::histogram!("native_seconds"));
    g.bench_function("metrics_native_drained", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            let mut left = iters;
            let mut i = 0usize;
            while left > 0 {
                let n = left.min(1 << 16);
                let t0 = Instant::now();
                for _ in 0..n {
                    black_box(&histogram).record(values[i & VALUE_MASK]);
                    i += 1;
                }
                handle.run_upkeep();
                elapsed += t0.elapsed();
                left -= n;
            }
            elapsed
        })
    });
    g.finish();
}

/// Two threads recording with exemplars into one series, each its own rotating values (time
/// per record per thread): ours never waits (a busy exemplar slot is skipped), the peer's
/// write lock serialises them.
fn exemplar_contended_2(c: &mut Criterion) {
    let values = value_sequence();
    let mut g = c.benchmark_group("exemplar_contended_2");
    g.warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(6));
    let next =
        |i: &std::sync::atomic::AtomicUsize| values[i.fetch_add(1, std::sync::atomic::Ordering::Relaxed) & VALUE_MASK];
    thread_local!(static I: std::sync::atomic::AtomicUsize = const { std::sync::atomic::AtomicUsize::new(0) });
    g.bench_function("ours_classic_exemplar", |b| {
        threads::<2>(b, || {
            let v = I.with(next);
            let _ = black_box(&OURS).traced_seconds.with(()).record_with_exemplar(v, &[("trace_id", TRACE)]);
        })
    });
    let histogram = prometheus_client::metrics::exemplar::HistogramWithExemplars::<TraceLabel>::new(BOUNDS.into_iter());
    g.bench_function("prometheus_client_exemplar", |b| {
        threads::<2>(b, || {
            let v = I.with(next);
            black_box(&histogram).observe(v, Some(TraceLabel { trace_id: TRACE.to_owned() }), None);
        })
    });
    g.finish();
}

fn render_protobuf_1000(c: &mut Criterion) {
    let routes: Vec<Route> = (0..Route::CARDINALITY).map(|s| Route::from_index(s).expect("in range")).collect();
    let values = counter_values(Route::CARDINALITY);
    let mut g = c.benchmark_group("render_protobuf_1000");

    for (r, &v) in routes.iter().zip(&values) {
        OURS_RENDER.requests_total.with(*r).add(v);
    }
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    OURS_RENDER.visit(&mut ProtobufWriter::new(&mut buf));
    let ours_len = buf.len();
    g.bench_function("ours", |b| {
        b.iter(|| {
            buf.clear();
            OURS_RENDER.visit(&mut ProtobufWriter::new(&mut buf));
            black_box(&buf);
        })
    });

    let registry = support::prometheus_render_registry(&routes, &values);
    buf.clear();
    prometheus::Encoder::encode(&prometheus::ProtobufEncoder::new(), &registry.gather(), &mut buf).expect("encode");
    // The same family, within the size of the created timestamps ours adds per series.
    assert!(buf.len() <= ours_len && ours_len < buf.len() + 16 * 1000, "{} vs {ours_len}", buf.len());
    g.bench_function("prometheus", |b| {
        b.iter(|| {
            buf.clear();
            let families = registry.gather();
            prometheus::Encoder::encode(&prometheus::ProtobufEncoder::new(), &families, &mut buf).expect("encode");
            black_box(&buf);
        })
    });
    g.finish();
}

criterion_group!(benches, native_record, exemplar_contended_2, render_protobuf_1000);
criterion_main!(benches);
