//! Constant labels, from `#[metrics(labels(..))]` and from `Registry::set_labels`, on every
//! series in every format (promtool, the strict OpenMetrics parser, JSON, protobuf) and push
//! path (remote write, OTLP, Pushgateway text); a series label of the same name wins; a
//! collision with a registered metric's label is refused.

use std::time::SystemTime;

use metrics_runtime::push::otlp::{OtlpConfig, OtlpEncoder};
use metrics_runtime::push::proto::prometheus::WriteRequest;
use metrics_runtime::push::remote_write::{RemoteWriteConfig, RemoteWriteEncoder};
use metrics_runtime::push::Source;
use metrics_runtime::{Counter, Format, Gauge, Histogram, Metrics, Registry, RegistryError, Tag};
use prost::Message;
use tests::{decode_protobuf, parse_openmetrics_strict, promtool_check};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "method", rename_all = "UPPERCASE")]
enum Method {
    Get,
    Post,
}

#[derive(Metrics)]
#[metrics(namespace = "shop", labels(service = "checkout", tier = "web \"1\""))]
struct Shop {
    /// Requests served, by method.
    requests_total: Counter<Method>,
    /// Carts open.
    open_carts: Gauge,
    /// Time to serve a request.
    #[metric(unit = "seconds", buckets = [0.1])]
    request_duration_seconds: Histogram,
}

static SHOP: Shop = Shop::new();

#[derive(Metrics)]
#[metrics(namespace = "zone")]
struct Zoned {
    /// Work done, by region (a series label named like the registry's constant one).
    work_total: Counter<Region>,
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "region", rename_all = "lowercase")]
enum Region {
    Eu,
}

static ZONED: Zoned = Zoned::new();

#[test]
fn compile_time_labels_are_on_every_series_of_every_format_and_push() {
    SHOP.requests_total.with(Method::Get).add(3);
    SHOP.open_carts.set(2.0);
    SHOP.request_duration_seconds.record(0.05);

    let text = SHOP.render_prometheus();
    promtool_check(&text).expect("promtool accepts constant labels");
    assert!(
        text.contains("shop_requests_total{service=\"checkout\",tier=\"web \\\"1\\\"\",method=\"GET\"} 3\n"),
        "{text}"
    );
    assert!(text.contains("shop_open_carts{service=\"checkout\",tier=\"web \\\"1\\\"\"} 2.0\n"), "{text}");
    assert!(
        text.contains(
            "shop_request_duration_seconds_bucket{service=\"checkout\",tier=\"web \\\"1\\\"\",le=\"0.1\"} 1\n"
        ),
        "{text}"
    );

    let om = SHOP.render_openmetrics();
    for sample in parse_openmetrics_strict(&om) {
        assert_eq!(sample["labels"]["service"], "checkout", "{sample}");
        assert_eq!(sample["labels"]["tier"], "web \"1\"", "{sample}");
    }
    let json: serde_json::Value = serde_json::from_str(&SHOP.render_json()).unwrap();
    assert!(json.to_string().contains(r#""service":"checkout""#), "{json}");

    let mut registry = Registry::new();
    registry.register(&SHOP).unwrap();
    let mut body = Vec::new();
    registry.write_body(Format::Protobuf, &mut body);
    for family in decode_protobuf(&body) {
        for metric in &family.metric {
            assert!(metric.label.iter().any(|l| l.name() == "service" && l.value() == "checkout"), "{family:?}");
        }
    }

    let source = Source::from(&SHOP);
    let mut rw =
        RemoteWriteEncoder::new(&RemoteWriteConfig::new("http://127.0.0.1:9090/api/v1/write").unwrap()).unwrap();
    let (compressed, _) = rw.encode(&source, SystemTime::now());
    let request =
        WriteRequest::decode(snap::raw::Decoder::new().decompress_vec(&compressed).unwrap().as_slice()).unwrap();
    assert!(request.timeseries.iter().all(|t| t.labels.iter().any(|l| l.name == "service" && l.value == "checkout")));
    let mut otlp = OtlpEncoder::new(&OtlpConfig::new("http://127.0.0.1:4318/v1/metrics").unwrap());
    let (body, points) = otlp.encode(&source, SystemTime::now());
    assert_eq!(points, 4);
    let request = metrics_runtime::push::proto::opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest::decode(body.as_slice()).unwrap();
    let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
    assert_eq!(metrics.len(), 3);
    let json = serde_json::to_string(&request).unwrap();
    assert_eq!(json.matches(r#"{"key":"service","value":{"stringValue":"checkout"}}"#).count(), 4, "{json}");
}

#[test]
fn run_time_labels_are_added_and_checked() {
    ZONED.work_total.with(Region::Eu).inc();
    let mut registry = Registry::new();
    registry.register(&ZONED).unwrap();
    let err = registry.set_labels(&[("region", "us")]).unwrap_err();
    assert_eq!(err, RegistryError::LabelCollision { label: "region".into(), metric: "zone_work_total".into() });
    assert!(matches!(registry.set_labels(&[("a", "1"), ("a", "2")]), Err(RegistryError::InvalidLabel { .. })));
    assert!(matches!(registry.set_labels(&[("le", "1")]), Err(RegistryError::InvalidLabel { .. })));

    registry.set_labels(&[("instance", "host-1:9898"), ("env", "prod")]).unwrap();
    let text = registry.render_prometheus();
    promtool_check(&text).unwrap();
    assert!(text.contains("zone_work_total{instance=\"host-1:9898\",env=\"prod\",region=\"eu\"} 1\n"), "{text}");
    // Registered after: checked too.
    let mut late = Registry::new();
    late.set_labels(&[("region", "us")]).unwrap();
    assert!(matches!(late.register(&ZONED), Err(RegistryError::LabelCollision { .. })));
    // A run-time family made after the labels were set, with a label of the same name: the
    // series label wins, once.
    let dynamic = std::sync::Arc::new(metrics_runtime::dynamic::BoundedRegistry::new(Default::default()));
    let mut shadow = Registry::new();
    shadow.register_arc(dynamic.clone()).unwrap();
    shadow.set_labels(&[("region", "global"), ("env", "prod")]).unwrap();
    let jobs = dynamic.counter("tenant_jobs_total", "Jobs, by region.", &["region"]).unwrap();
    jobs.inc(&["ap"]).unwrap();
    let text = shadow.render_prometheus();
    assert!(text.contains("tenant_jobs_total{env=\"prod\",region=\"ap\"} 1\n"), "{text}");
    promtool_check(&text).unwrap();
    // The compile-time labels and the registry's together.
    let mut both = Registry::new();
    both.register(&SHOP).unwrap();
    both.set_labels(&[("env", "prod")]).unwrap();
    let text = both.render_openmetrics();
    for sample in parse_openmetrics_strict(&text) {
        assert_eq!(
            (sample["labels"]["env"].as_str(), sample["labels"]["service"].as_str()),
            (Some("prod"), Some("checkout"))
        );
    }
}

/// The push paths that read the text exposition or the visitor directly: a StatsD datagram
/// carries the constant labels as DogStatsD tags, and a real Pushgateway stores them.
#[test]
fn statsd_and_the_pushgateway_carry_the_constant_labels() {
    use metrics_runtime::push::pushgateway::{self, PushgatewayConfig};
    use metrics_runtime::statsd::{StatsdConfig, StatsdExporter};

    #[derive(Metrics)]
    #[metrics(namespace = "labeled", labels(service = "billing"))]
    struct Labeled {
        /// Invoices sent.
        invoices_total: Counter,
    }
    static LABELED: Labeled = Labeled::new();
    LABELED.invoices_total.add(2);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let datagram = runtime.block_on(async {
        let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let config =
            StatsdConfig { target: server.local_addr().unwrap(), push_own_stats: false, ..StatsdConfig::default() };
        let exporter = StatsdExporter::start(&LABELED, config).await.unwrap();
        exporter.flush().await;
        let mut buf = [0u8; 1500];
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), server.recv(&mut buf)).await.unwrap().unwrap();
        exporter.shutdown().await;
        String::from_utf8(buf[..n].to_vec()).unwrap()
    });
    assert_eq!(datagram, "labeled_invoices_total:2|c|#service:billing");

    let gateway = tests::Pushgateway::start();
    let exporter = pushgateway::start(&LABELED, PushgatewayConfig::new(&gateway.url, "billing_job").unwrap()).unwrap();
    assert_eq!(runtime.block_on(exporter.flush()).last_status, Some(200));
    let text = gateway.scrape();
    assert!(text.contains(r#"labeled_invoices_total{instance="",job="billing_job",service="billing"} 2"#), "{text}");
    runtime.block_on(exporter.shutdown());
}
