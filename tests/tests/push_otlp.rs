//! OTLP/HTTP export into a receiver that decodes with the official `opentelemetry-proto`
//! Python package (`tests/otlp_receiver.py`): protobuf, and JSON with gzip through the strict
//! protobuf JSON parser; the data model checked request after request: monotonic cumulative
//! sums that never decrease with stable start times, histogram bucket counts that add up to
//! the count, native histograms as exponential histograms, summaries, exemplars with their
//! trace ids, resource and scope; delta temporality whose deltas add up to the totals.

use std::time::Duration;

use metrics_runtime::exemplar::Exemplars;
use metrics_runtime::push::otlp::{self, Compression, OtlpConfig, OtlpProtocol, Temporality};
use metrics_runtime::push::PushConfig;
use metrics_runtime::{Counter, Gauge, Histogram, Metrics, NativeHistogram, Summary, Tag};
use serde_json::Value;
use tests::OtlpReceiver;

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "region", rename_all = "lowercase")]
enum Region {
    Eu,
    Us,
}

#[derive(Metrics)]
#[metrics(namespace = "otlp")]
struct Shop {
    /// Orders placed, by region.
    orders_total: Exemplars<Counter<Region>>,
    /// Carts open.
    open_carts: Gauge,
    /// Checkout time.
    #[metric(unit = "seconds", buckets = [0.1, 0.5, 1.0])]
    checkout_duration_seconds: Histogram,
    /// Payment time.
    #[metric(unit = "seconds")]
    payment_duration_seconds: NativeHistogram,
    /// Basket sizes.
    #[metric(unit = "bytes")]
    basket_size_bytes: Summary,
}

static SHOP: Shop = Shop::new();

const WAIT: Duration = Duration::from_secs(20);

fn config(url: &str) -> OtlpConfig {
    let mut config = OtlpConfig::new(url).expect("url");
    config.push = PushConfig { interval: Duration::from_secs(3600), ..PushConfig::default() };
    config.resource.push(("service.name".into(), "checkout-test".into()));
    config
}

fn metrics(request: &Value) -> Vec<Value> {
    let rm = &request["request"]["resource_metrics"];
    assert_eq!(rm.as_array().map(Vec::len), Some(1), "{request}");
    rm[0]["scope_metrics"][0]["metrics"].as_array().cloned().unwrap_or_default()
}

fn metric<'a>(metrics: &'a [Value], name: &str) -> &'a Value {
    metrics.iter().find(|m| m["name"] == name).unwrap_or_else(|| panic!("no {name} in {metrics:?}"))
}

fn int(v: &Value) -> u64 {
    // The protobuf JSON mapping writes 64-bit integers as strings, and leaves zeros out.
    match v {
        Value::Null => 0,
        Value::String(s) => s.parse().expect("an integer"),
        other => other.as_u64().expect("an integer"),
    }
}

fn point_by_region<'a>(sum: &'a Value, region: &str) -> &'a Value {
    sum["data_points"]
        .as_array()
        .expect("points")
        .iter()
        .find(|p| p["attributes"][0]["value"]["string_value"] == region)
        .expect("a point of the region")
}

#[test]
fn cumulative_protobuf_keeps_the_data_model_request_after_request() {
    let receiver = OtlpReceiver::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _guard = runtime.enter();
    let exporter = otlp::start(&SHOP, config(&receiver.url)).expect("start");

    let mut expected_eu = 0u64;
    for round in 0..3u64 {
        SHOP.orders_total.with(Region::Eu).add(round + 1);
        expected_eu += round + 1;
        SHOP.orders_total
            .with(Region::Us)
            .inc_with_exemplar(&[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")])
            .expect("exemplar");
        SHOP.open_carts.set(round as f64);
        SHOP.checkout_duration_seconds.record(0.05 * (round + 1) as f64);
        SHOP.checkout_duration_seconds.record(2.0);
        for i in 1..=10 {
            SHOP.payment_duration_seconds.record(f64::from(i) * 0.01);
        }
        SHOP.payment_duration_seconds.record(0.0);
        SHOP.basket_size_bytes.record(100.0 * (round + 1) as f64);
        let report = runtime.block_on(exporter.flush());
        assert_eq!(report.last_status, Some(200), "{report:?} {:?}", exporter.last_error());
    }
    let requests = receiver.wait_requests(3, WAIT);
    assert!(requests.iter().all(|r| r.get("error").is_none()), "{requests:?}");
    assert!(requests.iter().all(|r| r["content_type"] == "application/x-protobuf" && r["path"] == "/v1/metrics"));

    // Resource and scope.
    let resource = &requests[0]["request"]["resource_metrics"][0]["resource"]["attributes"];
    let attr = |k: &str| {
        resource.as_array().unwrap().iter().find(|a| a["key"] == k).map(|a| a["value"]["string_value"].clone())
    };
    assert_eq!(attr("service.name"), Some(Value::from("checkout-test")));
    assert_eq!(attr("telemetry.sdk.name"), Some(Value::from("metrics-runtime")));
    assert_eq!(attr("telemetry.sdk.language"), Some(Value::from("rust")));
    assert_eq!(requests[0]["request"]["resource_metrics"][0]["scope_metrics"][0]["scope"]["name"], "metrics-runtime");

    let mut previous: Option<(u64, u64, u64)> = None; // (eu value, start, time)
    for request in &requests {
        let metrics = metrics(request);
        let orders = metric(&metrics, "otlp_orders_total");
        assert_eq!(orders["description"], "Orders placed, by region.");
        let sum = &orders["sum"];
        assert_eq!(sum["is_monotonic"], true);
        assert_eq!(sum["aggregation_temporality"], "AGGREGATION_TEMPORALITY_CUMULATIVE");
        let eu = point_by_region(sum, "eu");
        let (value, start, time) = (int(&eu["as_int"]), int(&eu["start_time_unix_nano"]), int(&eu["time_unix_nano"]));
        assert!(start > 0 && start < time);
        if let Some((v0, s0, t0)) = previous {
            assert!(value >= v0, "a cumulative sum went down: {v0} -> {value}");
            assert_eq!(start, s0, "the start time moved");
            assert!(time > t0);
        }
        previous = Some((value, start, time));

        // The exemplar's trace id, as bytes (base64 in the protobuf JSON mapping).
        let us = point_by_region(sum, "us");
        assert_eq!(us["exemplars"][0]["trace_id"], "S/kvNXezTaajzpKdDg5HNg==", "{us}");

        let gauge = &metric(&metrics, "otlp_open_carts")["gauge"];
        assert!(gauge["data_points"][0].get("as_double").is_some() || gauge["data_points"][0].get("as_int").is_none());

        let histogram = metric(&metrics, "otlp_checkout_duration_seconds");
        assert_eq!(histogram["unit"], "s");
        let point = &histogram["histogram"]["data_points"][0];
        let buckets: u64 = point["bucket_counts"].as_array().unwrap().iter().map(int).sum();
        assert_eq!(buckets, int(&point["count"]), "bucket counts add up to the count: {point}");
        assert_eq!(
            point["bucket_counts"].as_array().unwrap().len(),
            point["explicit_bounds"].as_array().unwrap().len() + 1
        );
        assert_eq!(histogram["histogram"]["aggregation_temporality"], "AGGREGATION_TEMPORALITY_CUMULATIVE");

        let native = &metric(&metrics, "otlp_payment_duration_seconds")["exponential_histogram"]["data_points"][0];
        assert_eq!(native["scale"], 3);
        let positive: u64 = native["positive"]["bucket_counts"].as_array().unwrap().iter().map(int).sum();
        assert_eq!(int(&native["zero_count"]) + positive, int(&native["count"]), "{native}");
        assert!(int(&native["zero_count"]) > 0);

        let summary = &metric(&metrics, "otlp_basket_size_bytes");
        assert_eq!(summary["unit"], "By");
        let point = &summary["summary"]["data_points"][0];
        assert!(point["quantile_values"].as_array().is_some_and(|q| !q.is_empty()), "{point}");
    }
    assert_eq!(previous.map(|p| p.0), Some(expected_eu));
    let last = metrics(requests.last().unwrap());
    let native = &metric(&last, "otlp_payment_duration_seconds")["exponential_histogram"]["data_points"][0];
    assert_eq!(int(&native["count"]), 33);
    runtime.block_on(exporter.shutdown());
}

#[derive(Metrics)]
#[metrics(namespace = "otlp_json")]
struct Jobs {
    /// Jobs run.
    jobs_total: Exemplars<Counter>,
    /// Job time.
    #[metric(unit = "seconds", buckets = [1.0])]
    job_duration_seconds: Histogram,
}

static JOBS: Jobs = Jobs::new();

#[test]
fn json_with_gzip_passes_the_strict_protobuf_json_parser() {
    let receiver = OtlpReceiver::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _guard = runtime.enter();
    let mut config = config(&receiver.url);
    config.protocol = OtlpProtocol::HttpJson;
    config.compression = Compression::Gzip;
    let exporter = otlp::start(&JOBS, config).expect("start");
    JOBS.jobs_total
        .with(())
        .inc_with_exemplar(&[("trace_id", "0af7651916cd43dd8448eb211c80319c"), ("span_id", "b7ad6b7169203331")])
        .expect("exemplar");
    JOBS.jobs_total.with(()).add(41);
    JOBS.job_duration_seconds.record(0.5);
    let report = runtime.block_on(exporter.flush());
    assert_eq!(report.last_status, Some(200), "{:?}", exporter.last_error());
    let requests = receiver.wait_requests(1, WAIT);
    let request = &requests[0];
    assert!(request.get("error").is_none(), "{request}");
    assert_eq!(
        (request["content_type"].as_str(), request["encoding"].as_str()),
        (Some("application/json"), Some("gzip"))
    );
    let metrics = metrics(request);
    let point = &metric(&metrics, "otlp_json_jobs_total")["sum"]["data_points"][0];
    assert_eq!(int(&point["as_int"]), 42);
    assert_eq!(point["exemplars"][0]["trace_id"], "CvdlGRbNQ92ESOshHIAxnA==");
    assert_eq!(point["exemplars"][0]["span_id"], "t61rcWkgMzE=");
    let h = &metric(&metrics, "otlp_json_job_duration_seconds")["histogram"]["data_points"][0];
    assert_eq!((int(&h["count"]), h["sum"].as_f64()), (1, Some(0.5)));
    runtime.block_on(exporter.shutdown());
}

#[derive(Metrics)]
#[metrics(namespace = "otlp_delta")]
struct Deltas {
    /// Events.
    events_total: Counter,
    /// Event size.
    #[metric(unit = "bytes", buckets = [10.0, 100.0])]
    event_size_bytes: Histogram,
}

static DELTAS: Deltas = Deltas::new();

#[test]
fn delta_temporality_sends_changes_that_add_up_to_the_totals() {
    let receiver = OtlpReceiver::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _guard = runtime.enter();
    let mut config = config(&receiver.url);
    config.temporality = Temporality::Delta;
    let exporter = otlp::start(&DELTAS, config).expect("start");
    for round in 1..=4u32 {
        DELTAS.events_total.add(u64::from(round));
        for _ in 0..round {
            DELTAS.event_size_bytes.record(f64::from(round) * 20.0);
        }
        runtime.block_on(exporter.flush());
    }
    let requests = receiver.wait_requests(4, WAIT);
    let (mut total, mut observations, mut last_time) = (0u64, 0u64, 0u64);
    for (i, request) in requests.iter().enumerate() {
        let metrics = metrics(request);
        let sum = &metric(&metrics, "otlp_delta_events_total")["sum"];
        assert_eq!(sum["aggregation_temporality"], "AGGREGATION_TEMPORALITY_DELTA");
        let point = &sum["data_points"][0];
        assert_eq!(int(&point["as_int"]), i as u64 + 1, "round {i}: {point}");
        let (start, time) = (int(&point["start_time_unix_nano"]), int(&point["time_unix_nano"]));
        if i > 0 {
            assert_eq!(start, last_time, "a delta starts where the previous one ended");
        }
        last_time = time;
        total += int(&point["as_int"]);
        let h = &metric(&metrics, "otlp_delta_event_size_bytes")["histogram"]["data_points"][0];
        assert_eq!(int(&h["count"]), i as u64 + 1);
        observations += int(&h["count"]);
    }
    assert_eq!(total, DELTAS.events_total.get());
    assert_eq!(observations, 10);
    runtime.block_on(exporter.shutdown());
}

#[test]
fn the_interval_drives_the_pushes() {
    #[derive(Metrics)]
    #[metrics(namespace = "otlp_timer")]
    struct Ticks {
        /// Ticks.
        ticks_total: Counter,
    }
    static TICKS: Ticks = Ticks::new();
    let receiver = OtlpReceiver::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _guard = runtime.enter();
    let mut config = config(&receiver.url);
    config.push.interval = Duration::from_millis(100);
    TICKS.ticks_total.inc();
    let exporter = otlp::start(&TICKS, config).expect("start");
    let requests = receiver.wait_requests(3, WAIT);
    assert!(requests
        .iter()
        .all(|r| int(&metric(&metrics(r), "otlp_timer_ticks_total")["sum"]["data_points"][0]["as_int"]) == 1));
    runtime.block_on(exporter.shutdown());
}
