//! Generates the runtime crate's protobuf types from the official `.proto` files under `proto/`
//! with `prost-build`, parsing them with `protox` (no `protoc` needed):
//!
//! - `io/prometheus/client/metrics.proto` (the Prometheus exposition) into
//!   `metrics-runtime/src/expose/proto/`;
//! - `prompb/remote.proto` and `prompb/types.proto` (Prometheus remote write 1.0) and the
//!   OpenTelemetry metrics protos (`opentelemetry/proto/...`) into `metrics-runtime/src/push/proto/`.
//!
//! The OTLP messages also derive `serde::Serialize` with the OTLP/JSON mapping: lowerCamelCase
//! names, 64-bit integers as decimal strings, trace and span ids as hex, enums as numbers, and
//! the `oneof` fields flattened into their message.

use std::path::Path;

const M: &str = ".opentelemetry.proto.metrics.v1";
/// OTLP fields holding 64-bit integers, written as decimal strings (the protobuf JSON mapping).
const U64_FIELDS: &[&str] = &[
    "NumberDataPoint.start_time_unix_nano",
    "NumberDataPoint.time_unix_nano",
    "HistogramDataPoint.start_time_unix_nano",
    "HistogramDataPoint.time_unix_nano",
    "HistogramDataPoint.count",
    "ExponentialHistogramDataPoint.start_time_unix_nano",
    "ExponentialHistogramDataPoint.time_unix_nano",
    "ExponentialHistogramDataPoint.count",
    "ExponentialHistogramDataPoint.zero_count",
    "SummaryDataPoint.start_time_unix_nano",
    "SummaryDataPoint.time_unix_nano",
    "SummaryDataPoint.count",
    "Exemplar.time_unix_nano",
];
const U64_LISTS: &[&str] = &["HistogramDataPoint.bucket_counts", "ExponentialHistogramDataPoint.Buckets.bucket_counts"];
const I64_FIELDS: &[&str] = &["NumberDataPoint.value.as_int", "Exemplar.value.as_int"];
const HEX_FIELDS: &[&str] = &["Exemplar.trace_id", "Exemplar.span_id"];
const ONEOFS: &[&str] = &[
    ".opentelemetry.proto.metrics.v1.Metric.data",
    ".opentelemetry.proto.metrics.v1.NumberDataPoint.value",
    ".opentelemetry.proto.metrics.v1.Exemplar.value",
    ".opentelemetry.proto.common.v1.AnyValue.value",
];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let protos = root.join("proto");

    let out = root.join("metrics-runtime/src/expose/proto");
    std::fs::create_dir_all(&out).expect("create the output directory");
    let descriptors = protox::compile(["io/prometheus/client/metrics.proto"], [&protos]).expect("parse the .proto files");
    prost_build::Config::new().out_dir(&out).compile_fds(descriptors).expect("generate the Rust types");

    let out = root.join("metrics-runtime/src/push/proto");
    std::fs::create_dir_all(&out).expect("create the output directory");
    let descriptors = protox::compile(
        ["remote.proto", "opentelemetry/proto/collector/metrics/v1/metrics_service.proto"],
        [protos.join("prompb"), protos.clone()],
    )
    .expect("parse the .proto files");
    let mut config = prost_build::Config::new();
    config.out_dir(&out);
    config.type_attribute(".opentelemetry", "#[derive(serde::Serialize)]");
    config.message_attribute(".opentelemetry", "#[serde(rename_all = \"camelCase\")]");
    config.enum_attribute(".opentelemetry", "#[serde(rename_all = \"camelCase\")]");
    let path = |field: &str| format!("{M}.{field}");
    for field in U64_FIELDS {
        config.field_attribute(path(field), "#[serde(serialize_with = \"crate::push::json::u64_string\")]");
    }
    for field in U64_LISTS {
        config.field_attribute(path(field), "#[serde(serialize_with = \"crate::push::json::u64_strings\")]");
    }
    for field in I64_FIELDS {
        config.field_attribute(path(field), "#[serde(serialize_with = \"crate::push::json::i64_string\")]");
    }
    for field in HEX_FIELDS {
        config.field_attribute(path(field), "#[serde(serialize_with = \"crate::push::json::hex\")]");
    }
    config.field_attribute(
        ".opentelemetry.proto.common.v1.AnyValue.value.int_value",
        "#[serde(serialize_with = \"crate::push::json::i64_string\")]",
    );
    for oneof in ONEOFS {
        config.field_attribute(oneof, "#[serde(flatten)]");
    }
    config.compile_fds(descriptors).expect("generate the Rust types");

    // A `oneof`'s attributes also reach its variants (prost-build matches paths by prefix):
    // `flatten` belongs on the message's field only, so drop it from the variants (indented
    // deeper, inside the `oneof` enum's module).
    for entry in std::fs::read_dir(&out).expect("read the output directory") {
        let path = entry.expect("an output file").path();
        let text = std::fs::read_to_string(&path).expect("read a generated file");
        let fixed: String = text
            .lines()
            .filter(|line| line.trim() != "#[serde(flatten)]" || line.len() - line.trim_start().len() <= 4)
            .map(|line| format!("{line}\n"))
            .collect();
        std::fs::write(&path, fixed).expect("write a generated file");
    }
}
