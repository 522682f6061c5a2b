//! Exemplars on counters, classic and native histogram buckets: the strict OpenMetrics parser
//! reads them back, the protobuf body carries them, Prometheus text never shows them, and a
//! real Prometheus with exemplar storage returns them from `/api/v1/query_exemplars`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_runtime::exemplar::Exemplars;
use metrics_runtime::expose::ProtobufWriter;
use metrics_runtime::http::{serve, ServerConfig};
use metrics_runtime::{Counter, Histogram, Metrics, NativeHistogram, Registry, Tag};
use tests::{decode_protobuf, parse_openmetrics_strict, promtool_check, PrometheusServer};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(rename_all = "lowercase")]
enum Route {
    Browse,
    Search,
}

#[derive(Metrics)]
#[metrics(namespace = "ex")]
struct Traced {
    /// Requests, by route.
    requests_total: Exemplars<Counter<Route>>,
    /// Request time, by route.
    #[metric(unit = "seconds", buckets = [0.1, 0.5, 1.0])]
    request_seconds: Exemplars<Histogram<Route>>,
    /// Payload sizes.
    #[metric(unit = "bytes")]
    payload_bytes: Exemplars<NativeHistogram>,
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn traced() -> &'static Traced {
    let m: &'static Traced = Box::leak(Box::new(Traced::new()));
    let labels = [("trace_id", TRACE), ("span_id", "00f067aa0ba902b7")];
    m.requests_total.with(Route::Browse).inc_with_exemplar(&labels).unwrap();
    m.requests_total.with(Route::Search).inc(); // no exemplar
    m.request_seconds.with(Route::Browse).record_with_exemplar(0.3, &labels).unwrap();
    m.request_seconds.with(Route::Browse).record(0.05);
    m.payload_bytes.with(()).record_with_exemplar(1500.0, &[("trace_id", TRACE)]).unwrap();
    // Too long for OpenMetrics: the value is recorded, the exemplar refused.
    assert!(m
        .request_seconds
        .with(Route::Search)
        .record_with_exemplar(2.0, &[("trace_id", &"x".repeat(200))])
        .is_err());
    m
}

#[test]
fn text_formats() {
    let m = traced();
    let om = m.render_openmetrics();
    let samples = parse_openmetrics_strict(&om);
    let with: Vec<&serde_json::Value> = samples.iter().filter(|s| !s["exemplar"].is_null()).collect();
    let find =
        |name: &str| with.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no exemplar on {name}:\n{om}"));
    let counter = find("ex_requests_total");
    assert_eq!(counter["labels"]["route"], "browse");
    assert_eq!(counter["exemplar"]["labels"]["trace_id"], TRACE);
    assert_eq!(counter["exemplar"]["value"], 1.0);
    let bucket = find("ex_request_seconds_bucket");
    assert_eq!(bucket["labels"]["le"], "0.5");
    assert_eq!(bucket["exemplar"]["value"], 0.3);
    assert!(bucket["exemplar"]["timestamp"].as_f64().unwrap() > 1.6e9);
    let native = find("ex_payload_bytes_bucket");
    assert_eq!(native["exemplar"]["value"], 1500.0);
    assert_eq!(with.len(), 3, "{om}");
    assert_eq!(m.request_seconds.with(Route::Search).count(), 1);
    // Prometheus text 0.0.4 has no exemplars.
    let text = m.render_prometheus();
    assert!(!text.contains("trace_id"), "{text}");
    promtool_check(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
}

#[test]
fn protobuf_carries_exemplars() {
    let m = traced();
    let mut body = Vec::new();
    m.visit(&mut ProtobufWriter::new(&mut body));
    let families = decode_protobuf(&body);
    let counter = families[0].metric[0].counter.as_ref().unwrap();
    let e = counter.exemplar.as_ref().unwrap();
    assert_eq!((e.label[0].name(), e.label[0].value()), ("trace_id", TRACE));
    assert!(families[0].metric[1].counter.as_ref().unwrap().exemplar.is_none());
    let buckets = &families[1].metric[0].histogram.as_ref().unwrap().bucket;
    assert_eq!(buckets[1].exemplar.as_ref().unwrap().value(), 0.3);
    let native = families[2].metric[0].histogram.as_ref().unwrap();
    assert_eq!(native.exemplars.len(), 1);
    assert!(native.exemplars[0].timestamp.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_stores_the_exemplars() {
    let m = traced();
    let mut registry = Registry::new();
    registry.register(m).unwrap();
    let config = ServerConfig { addr: "127.0.0.1:0".parse().unwrap(), ..ServerConfig::default() };
    let server = serve(Arc::new(registry), config).await.unwrap();
    let target = server.local_addr().to_string();
    let result = tokio::task::spawn_blocking(move || {
        let prom = PrometheusServer::start_with(&[target], &["exemplar-storage"]);
        prom.wait_for_targets_up(1, Duration::from_secs(60));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
            let (start, end) = ((now - 600).to_string(), (now + 60).to_string());
            let answer = prom
                .api(
                    "/api/v1/query_exemplars",
                    &[("query", "ex_request_seconds_bucket"), ("start", &start), ("end", &end)],
                )
                .unwrap();
            let found = answer["data"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s["exemplars"].as_array().cloned().unwrap_or_default());
            let traces: Vec<String> =
                found.map(|e| e["labels"]["trace_id"].as_str().unwrap_or("").to_owned()).collect();
            if traces.iter().any(|t| t == TRACE) {
                break;
            }
            assert!(Instant::now() < deadline, "no exemplar stored: {answer}");
            std::thread::sleep(Duration::from_millis(500));
        }
        assert!(prom.log().lines().all(|l| !l.contains("level=error")), "{}", prom.log());
    })
    .await;
    server.shutdown().await;
    result.unwrap();
}
