//! Label types and schemas for `peers.rs`: ours, and each peer's equivalent of the same labels.
//!
//! Every label is one fieldless enum that carries the derives of all the libraries that take
//! typed labels (ours: [`Tag`]; measured: [`FixedCardinalityLabel`]; prometheus-client: a
//! hand-written [`EncodeLabelValue`], its derive cannot rename variants), so that the benches
//! feed every library the same precomputed sequence. The label *sets* differ per library (each
//! has its own derive) and are defined below, one per library and workload.

use std::fmt::Write as _;

use measured::{CounterVec, FixedCardinalityLabel, LabelGroup, MetricGroup};
use metrics_runtime::{Tag, TagSet};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_static_metric::make_static_metric;

/// A label enum with its value strings, for every library at once.
macro_rules! label_enum {
    ($(#[$doc:meta])* $name:ident, $tag:literal { $($variant:ident => $value:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Tag, FixedCardinalityLabel, Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[tag(name = $tag)]
        pub(crate) enum $name {
            $(
                #[tag(value = $value)]
                #[label(rename = $value)]
                $variant,
            )+
        }

        impl EncodeLabelValue for $name {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
                encoder.write_str(Tag::as_str(*self))
            }
        }
    };
}

label_enum! {
    /// HTTP method, the first tag of the tagged counter: 4 values.
    Method, "method" { Get => "GET", Post => "POST", Put => "PUT", Delete => "DELETE" }
}

label_enum! {
    /// Status class, the second tag of the tagged counter: 3 values.
    Status, "status" { Success => "2xx", ClientError => "4xx", ServerError => "5xx" }
}

label_enum! {
    /// Request handler, the first tag of the 1000-series family: 40 values.
    Handler, "handler" {
        H00 => "/api/v1/users", H01 => "/api/v1/users/:id", H02 => "/api/v1/users/:id/orders",
        H03 => "/api/v1/users/:id/sessions", H04 => "/api/v1/orders", H05 => "/api/v1/orders/:id",
        H06 => "/api/v1/orders/:id/items", H07 => "/api/v1/orders/:id/refunds", H08 => "/api/v1/products",
        H09 => "/api/v1/products/:id", H10 => "/api/v1/products/:id/reviews", H11 => "/api/v1/products/:id/stock",
        H12 => "/api/v1/carts", H13 => "/api/v1/carts/:id", H14 => "/api/v1/carts/:id/items",
        H15 => "/api/v1/checkout", H16 => "/api/v1/payments", H17 => "/api/v1/payments/:id",
        H18 => "/api/v1/shipments", H19 => "/api/v1/shipments/:id", H20 => "/api/v1/invoices",
        H21 => "/api/v1/invoices/:id", H22 => "/api/v1/coupons", H23 => "/api/v1/coupons/:code",
        H24 => "/api/v1/search", H25 => "/api/v1/recommendations", H26 => "/api/v1/categories",
        H27 => "/api/v1/categories/:id", H28 => "/api/v1/wishlists", H29 => "/api/v1/wishlists/:id",
        H30 => "/api/v1/addresses", H31 => "/api/v1/addresses/:id", H32 => "/api/v1/notifications",
        H33 => "/api/v1/webhooks", H34 => "/api/v1/auth/login", H35 => "/api/v1/auth/logout",
        H36 => "/api/v1/auth/refresh", H37 => "/healthz", H38 => "/readyz", H39 => "/metrics",
    }
}

label_enum! {
    /// Response status code, the second tag of the 1000-series family: 25 values.
    Code, "code" {
        C200 => "200", C201 => "201", C202 => "202", C204 => "204", C206 => "206",
        C301 => "301", C302 => "302", C304 => "304", C307 => "307", C308 => "308",
        C400 => "400", C401 => "401", C403 => "403", C404 => "404", C405 => "405",
        C409 => "409", C410 => "410", C413 => "413", C415 => "415", C422 => "422",
        C429 => "429", C500 => "500", C502 => "502", C503 => "503", C504 => "504",
    }
}

// ---------------------------------------------------------------------------------------------
// Ours.

/// The tag set of the tagged counter: 4 x 3 = 12 series.
#[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Http {
    pub(crate) method: Method,
    pub(crate) status: Status,
}

/// The tag set of the render family: 40 x 25 = 1000 series.
#[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) handler: Handler,
    pub(crate) code: Code,
}

/// Our schemas.
/// rust-prometheus holding the 1000-series family of `render_1000` (handler x code), with
/// `values` in `Route` index order.
pub(crate) fn prometheus_render_registry(routes: &[Route], values: &[u64]) -> prometheus::Registry {
    let registry = prometheus::Registry::new();
    let vec = prometheus::IntCounterVec::new(
        prometheus::Opts::new("bench_requests_total", "Requests served, by handler and status code."),
        &["handler", "code"],
    )
    .expect("valid names");
    registry.register(Box::new(vec.clone())).expect("registered once");
    for (r, &v) in routes.iter().zip(values) {
        vec.with_label_values(&[r.handler.as_str(), r.code.as_str()]).inc_by(v);
    }
    registry
}

pub(crate) mod ours {
    use super::{Http, Route};
    use metrics_runtime::exemplar::Exemplars;
    use metrics_runtime::{Counter, Histogram, Metrics, NativeHistogram, Summary};

    /// One metric per recording bench, as an application would declare them.
    #[derive(Metrics)]
    #[metrics(namespace = "peer")]
    pub(crate) struct PeerMetrics {
        /// Untagged counter for `counter_inc`.
        pub(crate) ops_total: Counter,
        /// Untagged counter shared by the threads of `contended_2`.
        pub(crate) contended_total: Counter,
        /// Tagged counter for `counter_inc_tagged`.
        pub(crate) requests_total: Counter<Http>,
        /// Histogram with the default buckets for `histogram_record`.
        #[metric(unit = "seconds")]
        pub(crate) latency_seconds: Histogram,
        /// Summary for `summary_record`.
        #[metric(unit = "seconds")]
        pub(crate) checkout_seconds: Summary,
        /// Native histogram (schema 3) for `native_record`.
        #[metric(unit = "seconds")]
        pub(crate) native_seconds: NativeHistogram,
        /// Classic histogram with exemplars for `native_record`.
        #[metric(unit = "seconds")]
        pub(crate) traced_seconds: Exemplars<Histogram>,
        /// Native histogram with exemplars for `native_record`.
        #[metric(unit = "seconds")]
        pub(crate) traced_native_seconds: Exemplars<NativeHistogram>,
    }

    /// The 1000-series counter family of `render_1000`.
    #[derive(Metrics)]
    #[metrics(namespace = "bench")]
    pub(crate) struct RenderMetrics {
        /// Requests served, by handler and status code.
        pub(crate) requests_total: Counter<Route>,
    }
}

// ---------------------------------------------------------------------------------------------
// measured: label groups over the shared enums; dense storage (cardinality <= 1024).

/// measured's label group for the tagged counter.
#[derive(LabelGroup, Clone, Copy)]
#[label(set = MeasuredHttpSet)]
pub(crate) struct MeasuredHttp {
    pub(crate) method: Method,
    pub(crate) status: Status,
}

/// measured's label group for the render family.
#[derive(LabelGroup, Clone, Copy)]
#[label(set = MeasuredRouteSet)]
pub(crate) struct MeasuredRoute {
    pub(crate) handler: Handler,
    pub(crate) code: Code,
}

/// measured's metric group for the render family.
#[derive(MetricGroup)]
#[metric(new())]
pub(crate) struct MeasuredRender {
    /// Requests served, by handler and status code.
    pub(crate) bench_requests_total: CounterVec<MeasuredRouteSet>,
}

// ---------------------------------------------------------------------------------------------
// prometheus-client: label sets over the shared enums.

/// prometheus-client's label set for the tagged counter.
#[derive(EncodeLabelSet, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PcHttp {
    pub(crate) method: Method,
    pub(crate) status: Status,
}

/// prometheus-client's label set for the render family.
#[derive(EncodeLabelSet, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PcRoute {
    pub(crate) handler: Handler,
    pub(crate) code: Code,
}

// ---------------------------------------------------------------------------------------------
// prometheus-static-metric: the same 4 x 3 labels, as its macro spells them. Its parser only
// recognises a struct item by peeking one or two tokens ahead, so `pub(crate) struct` is taken
// for a `label_enum` and the macro panics ("expected identifier"): plain `pub` it is.

make_static_metric! {
    pub label_enum StaticMethod {
        get: "GET",
        post: "POST",
        put: "PUT",
        delete: "DELETE",
    }

    pub label_enum StaticStatus {
        success: "2xx",
        client_error: "4xx",
        server_error: "5xx",
    }

    pub struct StaticHttp: IntCounter {
        "method" => StaticMethod,
        "status" => StaticStatus,
    }
}

impl Http {
    /// The same combination as prometheus-static-metric's label enums.
    pub(crate) fn to_static(self) -> (StaticMethod, StaticStatus) {
        let method = match self.method {
            Method::Get => StaticMethod::get,
            Method::Post => StaticMethod::post,
            Method::Put => StaticMethod::put,
            Method::Delete => StaticMethod::delete,
        };
        let status = match self.status {
            Status::Success => StaticStatus::success,
            Status::ClientError => StaticStatus::client_error,
            Status::ServerError => StaticStatus::server_error,
        };
        (method, status)
    }
}

/// The OpenTelemetry SDK's manual reader, shared with the meter provider that owns a handle to
/// it (`push_encode.rs`, `efficiency.rs`).
#[derive(Debug, Clone)]
#[allow(dead_code)] // not used by every bench that includes this module
pub(crate) struct SharedReader(pub(crate) std::sync::Arc<opentelemetry_sdk::metrics::ManualReader>);

impl opentelemetry_sdk::metrics::reader::MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: std::sync::Weak<opentelemetry_sdk::metrics::Pipeline>) {
        self.0.register_pipeline(pipeline);
    }
    fn collect(
        &self,
        rm: &mut opentelemetry_sdk::metrics::data::ResourceMetrics,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: std::time::Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self, kind: opentelemetry_sdk::metrics::InstrumentKind) -> opentelemetry_sdk::metrics::Temporality {
        self.0.temporality(kind)
    }
}

/// Gzip at the fastest level (flate2), as both sides of the push benches compress.
#[allow(dead_code)] // not used by every bench that includes this module
pub(crate) fn gzip(body: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
    gz.write_all(body).expect("write to a Vec");
    gz.finish().expect("finish into a Vec")
}

/// The 1000-series counter family in the OpenTelemetry SDK: a `u64_counter` with one attribute
/// set per route, each added its value (`push_encode.rs`, `efficiency.rs`).
#[allow(dead_code)] // not used by every bench that includes this module
pub(crate) fn otel_counter(provider: &opentelemetry_sdk::metrics::SdkMeterProvider, routes: &[Route], values: &[u64]) {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry::KeyValue;
    let counter = provider
        .meter("bench")
        .u64_counter("bench_requests_total")
        .with_description("Requests served, by handler and status code.")
        .build();
    for (r, &v) in routes.iter().zip(values) {
        counter.add(v, &[KeyValue::new("handler", r.handler.as_str()), KeyValue::new("code", r.code.as_str())]);
    }
}
