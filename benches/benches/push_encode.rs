//! What one push costs to build: the 1000-series counter family of `render_1000` (handler x
//! code) read and encoded into the request body of each push protocol, compressed as it is
//! sent, beside the peers that have the protocol.
//!
//! Bench IDs (`push_encode_1000/<protocol>/<library>`):
//!
//! - `otlp_protobuf/ours`: `OtlpEncoder` (a read of the struct into the generated OTLP types,
//!   prost encoding); `otlp_protobuf/opentelemetry_sdk`: the OpenTelemetry SDK's path to the same
//!   body: a `ManualReader` collect of a `u64_counter` with the same 1000 attribute sets, the
//!   `opentelemetry-proto` conversion to `ExportMetricsServiceRequest`, prost encoding;
//!   `otlp_protobuf/metrics_lib`: metrics-lib's `OtlpExporter::render_protobuf` (hand-written
//!   encoder, no transport) of a registry holding the same 1000 counter series;
//! - `otlp_protobuf_gzip/{ours,opentelemetry_sdk,metrics_lib}`: the same, gzip-compressed (flate2, fastest
//!   level, for both);
//! - `otlp_json/{ours,metrics_lib}`: OTLP/JSON (metrics-lib: `OtlpExporter::render_json`);
//! - `remote_write_snappy/ours`: a snappy-compressed `WriteRequest` (no Rust peer ships remote
//!   write);
//! - `pushgateway_text/{ours,prometheus}`: the Prometheus text body of a Pushgateway push: ours
//!   (`PrometheusWriter` over the source), rust-prometheus (`Registry::gather` and
//!   `TextEncoder`, what its `push_metrics` sends).

#[allow(dead_code)]
mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;

use benches::counter_values;
use criterion::{criterion_group, criterion_main, Criterion};
use metrics_runtime::expose::PrometheusWriter;
use metrics_runtime::push::otlp::{Compression, OtlpConfig, OtlpEncoder, OtlpProtocol};
use metrics_runtime::push::remote_write::{RemoteWriteConfig, RemoteWriteEncoder};
use metrics_runtime::push::Source;
use metrics_runtime::{Tag, TagSet};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use prost::Message as _;
use support::ours::RenderMetrics;
use support::Route;
use support::{gzip, SharedReader};

static OURS: RenderMetrics = RenderMetrics::new();

fn push_encode(c: &mut Criterion) {
    let routes: Vec<Route> = (0..Route::CARDINALITY).map(|s| Route::from_index(s).expect("in range")).collect();
    let values = counter_values(Route::CARDINALITY);
    for (r, &v) in routes.iter().zip(&values) {
        OURS.requests_total.with(*r).add(v);
    }
    let source = Source::from(&OURS);
    let url = "http://127.0.0.1:4318/v1/metrics";
    let mut g = c.benchmark_group("push_encode_1000");

    // The OpenTelemetry SDK, holding the same 1000 series.
    let reader = SharedReader(Arc::new(ManualReader::builder().build()));
    let provider = SdkMeterProvider::builder().with_reader(reader.clone()).build();
    support::otel_counter(&provider, &routes, &values);
    let mut rm = ResourceMetrics::default();
    let sdk_body = |rm: &mut ResourceMetrics| {
        reader.collect(rm).expect("collect");
        ExportMetricsServiceRequest::from(&*rm).encode_to_vec()
    };
    let theirs = sdk_body(&mut rm);

    // metrics-lib, holding the same 1000 series.
    let ml_registry = metrics_lib::Registry::new();
    for (r, &v) in routes.iter().zip(&values) {
        let labels = metrics_lib::LabelSet::from([("handler", r.handler.as_str()), ("code", r.code.as_str())]);
        ml_registry.counter_with("bench_requests_total", &labels).add(v);
    }
    let ml = metrics_lib::exporters::otlp::OtlpExporter::new("bench");
    assert!(ml.render_protobuf(&ml_registry).len() > 1000 * 20);

    for (id, compression) in [("otlp_protobuf", Compression::None), ("otlp_protobuf_gzip", Compression::Gzip)] {
        let mut config = OtlpConfig::new(url).expect("url");
        config.compression = compression;
        let mut encoder = OtlpEncoder::new(&config);
        let (body, points) = encoder.encode(&source, SystemTime::now());
        assert_eq!(points, 1000);
        if compression == Compression::None {
            // The same data points; ours carries a few more resource attributes.
            assert!(body.len().abs_diff(theirs.len()) < theirs.len() / 10, "{} vs {}", body.len(), theirs.len());
        }
        g.bench_function(format!("{id}/ours"), |b| {
            b.iter(|| black_box(encoder.encode(&source, SystemTime::now())));
        });
        g.bench_function(format!("{id}/opentelemetry_sdk"), |b| {
            b.iter(|| {
                let body = sdk_body(&mut rm);
                black_box(if compression == Compression::Gzip { gzip(&body) } else { body })
            });
        });
        g.bench_function(format!("{id}/metrics_lib"), |b| {
            b.iter(|| {
                let body = ml.render_protobuf(&ml_registry);
                black_box(if compression == Compression::Gzip { gzip(&body) } else { body })
            });
        });
    }

    let mut config = OtlpConfig::new(url).expect("url");
    config.protocol = OtlpProtocol::HttpJson;
    let mut encoder = OtlpEncoder::new(&config);
    g.bench_function("otlp_json/ours", |b| b.iter(|| black_box(encoder.encode(&source, SystemTime::now()))));
    g.bench_function("otlp_json/metrics_lib", |b| b.iter(|| black_box(ml.render_json(&ml_registry).expect("json"))));

    let config = RemoteWriteConfig::new("http://127.0.0.1:9090/api/v1/write").expect("url");
    let mut encoder = RemoteWriteEncoder::new(&config).expect("config");
    assert_eq!(encoder.encode(&source, SystemTime::now()).1, 1000);
    g.bench_function("remote_write_snappy/ours", |b| b.iter(|| black_box(encoder.encode(&source, SystemTime::now()))));

    let mut text = String::with_capacity(1 << 16);
    g.bench_function("pushgateway_text/ours", |b| {
        b.iter(|| {
            text.clear();
            source.visit(&mut PrometheusWriter::new(&mut text));
            black_box(text.as_bytes().to_vec())
        })
    });
    let registry = support::prometheus_render_registry(&routes, &values);
    let mut buf = Vec::with_capacity(1 << 16);
    g.bench_function("pushgateway_text/prometheus", |b| {
        b.iter(|| {
            buf.clear();
            prometheus::Encoder::encode(&prometheus::TextEncoder::new(), &registry.gather(), &mut buf).expect("encode");
            black_box(buf.clone())
        })
    });
    g.finish();
}

criterion_group!(benches, push_encode);
criterion_main!(benches);
