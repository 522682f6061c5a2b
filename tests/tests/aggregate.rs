//! Aggregation: sums over tag dimensions, totals, prefix aggregation on a derived struct and a
//! registry, snapshots and their serde round trip.

mod common;

use common::{all_http, Http, Method, ShopMetrics, Status, METHODS, STATUSES};
use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
use metrics_runtime::snapshot::{
    HistogramValue, MetricSnapshot, MetricTotal, SeriesSnapshot, SeriesValue, Snapshot, SummaryValue,
};
use metrics_runtime::{
    Counter, Gauge, Histogram, MetricKind, Metrics, MetricsExt, Registry, ShardedCounter, Summary, Tag, TagSet,
};
use serde_json::Value;

/// A distinct count per series: 1, 2, 3, ... in index order.
fn fill(m: &ShopMetrics) {
    for (i, tags) in all_http().into_iter().enumerate() {
        m.requests_total.with(tags).add(i as u64 + 1);
    }
}

#[test]
fn counter_sums_per_tag_dimension_and_total() {
    let m = ShopMetrics::new();
    fill(&m);
    // Series index = method * 3 + status; value = index + 1.
    let per_method = m.requests_total.sum_by(|t| t.method);
    let expected: Vec<(Method, u64)> =
        METHODS.iter().enumerate().map(|(mi, &meth)| (meth, (0..3).map(|s| (mi * 3 + s + 1) as u64).sum())).collect();
    assert_eq!(per_method, expected);
    assert_eq!(per_method, vec![(Method::Get, 6), (Method::Post, 15), (Method::Put, 24), (Method::Delete, 33)]);

    let per_status = m.requests_total.sum_by(|t| t.status);
    assert_eq!(per_status, vec![(Status::Success, 22), (Status::ClientError, 26), (Status::ServerError, 30)]);

    // Grouping by everything is the identity; grouping by nothing is the total.
    let identity = m.requests_total.sum_by(|t| t);
    assert_eq!(identity.len(), 12);
    for (tags, v) in &identity {
        assert_eq!(*v, m.requests_total.with(*tags).get());
    }
    assert_eq!(m.requests_total.sum_by(|_| ()), vec![((), 78)]);
    assert_eq!(m.requests_total.total(), 78);

    // By name: the same sums, keyed by label value.
    assert_eq!(
        m.requests_total.sum_by_label("method"),
        Some(vec![("GET", 6), ("POST", 15), ("PUT", 24), ("DELETE", 33)])
    );
    assert_eq!(m.requests_total.sum_by_label("status"), Some(vec![("2xx", 22), ("4xx", 26), ("5xx", 30)]));
    assert_eq!(m.requests_total.sum_by_label("route"), None);
    assert_eq!(m.requests_total.sum_by_label(""), None);
}

#[test]
fn sums_of_untouched_series_are_zero_and_complete() {
    let m = ShopMetrics::new();
    m.requests_total.with(Http { method: Method::Put, status: Status::ServerError }).inc();
    let per_method = m.requests_total.sum_by(|t| t.method);
    assert_eq!(per_method.len(), METHODS.len(), "every method is listed, zero included");
    assert_eq!(per_method.iter().map(|(_, v)| v).sum::<u64>(), 1);
    assert_eq!(per_method[2], (Method::Put, 1));

    // An untagged counter: one group.
    let plain: Counter = Counter::new();
    plain.add(4);
    assert_eq!(plain.sum_by(|()| ()), vec![((), 4)]);
    assert_eq!(plain.sum_by_label("method"), None);
}

/// A group key that folds two statuses together, via a smaller tag set.
#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(rename_all = "lowercase")]
enum Outcome {
    Ok,
    Failed,
}

#[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
struct MethodOutcome {
    method: Method,
    outcome: Outcome,
}

#[test]
fn sum_by_a_derived_key() {
    let m = ShopMetrics::new();
    fill(&m);
    let by = m.requests_total.sum_by(|t| MethodOutcome {
        method: t.method,
        outcome: if t.status == Status::Success { Outcome::Ok } else { Outcome::Failed },
    });
    assert_eq!(by.len(), 8);
    assert_eq!(by[0], (MethodOutcome { method: Method::Get, outcome: Outcome::Ok }, 1));
    assert_eq!(by[1], (MethodOutcome { method: Method::Get, outcome: Outcome::Failed }, 2 + 3));
    assert_eq!(by[7], (MethodOutcome { method: Method::Delete, outcome: Outcome::Failed }, 11 + 12));
}

#[test]
fn sharded_counter_sums() {
    let c: ShardedCounter<Http> = ShardedCounter::new();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for tags in all_http() {
                    c.with(tags).add(2);
                }
            });
        }
    });
    assert_eq!(c.sum_by(|t| t.status), STATUSES.iter().map(|&s| (s, 32)).collect::<Vec<_>>());
    assert_eq!(c.sum_by_label("method").unwrap().iter().map(|(_, v)| v).sum::<u64>(), 96);
}

#[test]
fn gauge_sums_and_total() {
    let g: Gauge<Http> = Gauge::new();
    for (i, tags) in all_http().into_iter().enumerate() {
        g.with(tags).set(i as f64 * 0.5);
    }
    g.with(Http { method: Method::Get, status: Status::Success }).set(-3.0);
    assert_eq!(g.total(), (1..12).map(|i| i as f64 * 0.5).sum::<f64>() - 3.0);
    assert_eq!(g.sum_by(|t| t.method)[0], (Method::Get, -3.0 + 0.5 + 1.0));
    assert_eq!(g.sum_by_label("status").unwrap()[0], ("2xx", -3.0 + 1.5 + 3.0 + 4.5));
    assert_eq!(Gauge::<()>::new().total(), 0.0);
}

#[derive(Metrics)]
struct Latency {
    /// Request latency by method and status.
    #[metric(unit = "seconds", buckets = [0.01, 0.1, 1.0])]
    http_request_seconds: Histogram<Http>,
    /// The same values, untagged: the reference for merged percentiles.
    #[metric(unit = "seconds", buckets = [0.01, 0.1, 1.0])]
    http_reference_seconds: Histogram,
}

#[test]
fn histogram_bucket_wise_sums() {
    let m = Latency::new();
    let values = [0.001, 0.05, 0.05, 0.5, 2.0, 0.009, 0.2];
    for (i, tags) in all_http().into_iter().enumerate() {
        for v in &values[..i % values.len() + 1] {
            m.http_request_seconds.with(tags).record(*v);
            m.http_reference_seconds.record(*v);
        }
    }
    let total = m.http_request_seconds.total();
    let reference = m.http_reference_seconds.with(());
    assert_eq!(total.bounds, vec![0.01, 0.1, 1.0]);
    assert_eq!(total.counts.len(), 4);
    assert_eq!(total.cumulative(), reference.cumulative().collect::<Vec<_>>());
    assert_eq!(total.count(), reference.count());
    assert!((total.sum - reference.sum()).abs() < 1e-9);
    for q in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
        assert_eq!(total.percentile(q), reference.percentile(q), "q = {q}");
    }

    let per_method = m.http_request_seconds.sum_by(|t| t.method);
    assert_eq!(per_method.len(), 4);
    for (method, value) in &per_method {
        let mut expected = HistogramValue::empty(&[0.01, 0.1, 1.0]);
        for s in STATUSES {
            let h = m.http_request_seconds.with(Http { method: *method, status: s });
            for (slot, c) in expected.counts.iter_mut().zip(h.cumulative().scan(0, |prev, c| {
                let d = c - *prev;
                *prev = c;
                Some(d)
            })) {
                *slot += c;
            }
            expected.sum += h.sum();
        }
        assert_eq!(value.counts, expected.counts, "{method:?}");
        assert!((value.sum - expected.sum).abs() < 1e-9);
    }
    let by_label = m.http_request_seconds.sum_by_label("method").unwrap();
    assert_eq!(by_label.iter().map(|(v, _)| *v).collect::<Vec<_>>(), ["GET", "POST", "PUT", "DELETE"]);
    for ((_, a), (_, b)) in by_label.iter().zip(&per_method) {
        assert_eq!(a, b);
    }
    assert!(m.http_request_seconds.sum_by_label("le").is_none());

    // Nothing recorded: zero counts with the bounds, no percentile.
    let empty = Latency::new().http_request_seconds.total();
    assert_eq!(empty, HistogramValue::empty(&[0.01, 0.1, 1.0]));
    assert_eq!(empty.percentile(0.5), None);
}

#[test]
fn prefix_aggregation_on_a_derived_struct() {
    let m = ShopMetrics::new();
    fill(&m);
    m.inflight_requests.set(3.0);
    m.request_duration_seconds.with(Method::Get).record(0.02);
    m.request_duration_seconds.with(Method::Post).record(0.2);
    m.checkout_seconds.record(0.3);

    let totals = m.aggregate_by_prefix("shop_request");
    let names: Vec<&str> = totals.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["shop_requests_total", "shop_request_duration_seconds"]);
    assert_eq!(
        totals[0],
        MetricTotal {
            name: "shop_requests_total".into(),
            kind: MetricKind::Counter,
            series: 12,
            total: SeriesValue::Counter(78)
        }
    );
    assert_eq!(totals[1].series, 4);
    assert_eq!(totals[1].total, SeriesValue::Histogram(m.request_duration_seconds.total()));

    let all = m.aggregate_by_prefix("shop_");
    assert_eq!(all.len(), 4);
    assert_eq!(all[1].total, SeriesValue::Gauge(3.0));
    // A summary with one series keeps its quantiles.
    let summary = all[3].total.as_summary().unwrap();
    assert_eq!((summary.count, summary.sum), (1, 0.3));
    assert_eq!(summary.quantile(0.99), Some(0.3));

    assert_eq!(m.aggregate_by_prefix("").len(), 4);
    assert!(m.aggregate_by_prefix("http_").is_empty());
    assert!(m.aggregate_by_prefix("requests").is_empty(), "the prefix applies to the namespaced name");

    // Through `dyn Metrics` too.
    let as_dyn: &dyn Metrics = &m;
    assert_eq!(as_dyn.aggregate_by_prefix("shop_requests"), totals[..1]);
}

#[derive(Metrics)]
#[metrics(namespace = "http")]
struct Frontend {
    /// Requests by method and status.
    requests_total: Counter<Http>,
    /// Open connections by method.
    connections: Gauge<Method>,
}

#[derive(Metrics)]
#[metrics(namespace = "http_backend")]
struct Backend {
    /// Backend calls.
    calls_total: Counter,
}

#[derive(Metrics)]
#[metrics(namespace = "db")]
struct Database {
    /// Queries.
    queries_total: Counter,
}

#[test]
fn prefix_aggregation_on_a_registry() {
    static FRONTEND: Frontend = Frontend::new();
    static BACKEND: Backend = Backend::new();
    static DATABASE: Database = Database::new();
    let mut registry = Registry::new();
    registry.register(&FRONTEND).unwrap();
    registry.register(&BACKEND).unwrap();
    registry.register(&DATABASE).unwrap();

    for tags in all_http() {
        FRONTEND.requests_total.with(tags).add(10);
    }
    FRONTEND.connections.with(Method::Get).set(2.0);
    FRONTEND.connections.with(Method::Delete).set(1.0);
    BACKEND.calls_total.add(7);
    DATABASE.queries_total.add(100);

    let totals = registry.aggregate_by_prefix("http_");
    let summary: Vec<(&str, usize, &SeriesValue)> =
        totals.iter().map(|t| (t.name.as_str(), t.series, &t.total)).collect();
    assert_eq!(
        summary,
        [
            ("http_requests_total", 12, &SeriesValue::Counter(120)),
            ("http_connections", 4, &SeriesValue::Gauge(3.0)),
            ("http_backend_calls_total", 1, &SeriesValue::Counter(7)),
        ]
    );
    assert_eq!(registry.aggregate_by_prefix("db_")[0].total, SeriesValue::Counter(100));
    assert!(registry.aggregate_by_prefix("grpc_").is_empty());
    assert!(Registry::new().aggregate_by_prefix("").is_empty());
    assert_eq!(registry.snapshot().metrics.len(), 4);
}

/// Labels and HELP that need escaping in every format.
#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "path")]
enum Path {
    #[tag(value = "/a\"b")]
    Quoted,
    #[tag(value = "C:\\dir")]
    Backslash,
    #[tag(value = "line\nbreak")]
    Newline,
    #[tag(value = "é✓")]
    Unicode,
}

#[derive(Metrics)]
#[metrics(namespace = "snap")]
struct Everything {
    /// Hits by "path" \ with escapes.
    hits_total: Counter<Path>,
    /// A gauge.
    temperature: Gauge,
    /// Sizes.
    #[metric(unit = "bytes", buckets = [10.0, 100.0])]
    size_bytes: Histogram<Path>,
    /// Durations.
    #[metric(unit = "seconds", quantiles = [0.5, 0.9], window_secs = 60)]
    job_seconds: Summary,
    /// An idle summary.
    idle_seconds: Summary,
}

fn everything() -> Everything {
    let m = Everything::new();
    m.hits_total.with(Path::Quoted).add(u64::MAX - 1);
    m.hits_total.with(Path::Unicode).inc();
    m.temperature.set(-273.15);
    m.size_bytes.with(Path::Backslash).record(5.0);
    m.size_bytes.with(Path::Backslash).record(500.0);
    m.size_bytes.with(Path::Newline).record(50.0);
    for v in 1..=10 {
        m.job_seconds.record(v as f64);
    }
    m
}

#[test]
fn snapshot_holds_every_series_as_plain_data() {
    let m = everything();
    let s = m.snapshot();
    let names: Vec<&str> = s.metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["snap_hits_total", "snap_temperature", "snap_size_bytes", "snap_job_seconds", "snap_idle_seconds"]
    );

    let hits = s.metric("snap_hits_total").unwrap();
    assert_eq!(hits.kind, MetricKind::Counter);
    assert_eq!(hits.help, "Hits by \"path\" \\ with escapes.");
    assert_eq!(hits.unit, "");
    let labels: Vec<&str> = hits.series.iter().map(|s| s.label("path").unwrap()).collect();
    assert_eq!(labels, ["/a\"b", "C:\\dir", "line\nbreak", "é✓"]);
    assert_eq!(hits.series[0].value, SeriesValue::Counter(u64::MAX - 1), "u64 counts survive exactly");
    assert_eq!(hits.series_with(&[("path", "é✓")]).unwrap().value, SeriesValue::Counter(1));
    assert_eq!(hits.total(), SeriesValue::Counter(u64::MAX));

    assert_eq!(
        s.metric("snap_temperature").unwrap().series,
        vec![SeriesSnapshot {
            labels: vec![],
            value: SeriesValue::Gauge(-273.15),
            created: metrics_runtime::process_start_time()
        }]
    );

    let size = s.metric("snap_size_bytes").unwrap();
    assert_eq!(size.unit, "bytes");
    assert_eq!(
        size.series[1].value,
        SeriesValue::Histogram(HistogramValue { bounds: vec![10.0, 100.0], counts: vec![1, 0, 1], sum: 505.0 })
    );
    assert_eq!(size.series[1].value.as_histogram(), Some(&m.size_bytes.sum_by(|p| p)[1].1));
    let by_path = size.sum_by_label("path").unwrap();
    assert_eq!(by_path.len(), 4);
    assert_eq!(by_path[2].0, "line\nbreak");
    assert_eq!(size.total().as_histogram().unwrap().counts, vec![1, 1, 1]);

    let job = s.metric("snap_job_seconds").unwrap().series[0].value.as_summary().unwrap().clone();
    assert_eq!((job.count, job.sum), (10, 55.0));
    assert_eq!(job.quantiles.iter().map(|(q, _)| *q).collect::<Vec<_>>(), [0.5, 0.9]);
    let p50 = job.quantile(0.5).unwrap();
    assert!((5.0..=6.0).contains(&p50), "{p50}");
    let idle = s.metric("snap_idle_seconds").unwrap().series[0].value.as_summary().unwrap().clone();
    assert_eq!(
        idle,
        SummaryValue { quantiles: vec![(0.5, None), (0.9, None), (0.99, None), (0.999, None)], count: 0, sum: 0.0 }
    );
}

/// The snapshot agrees with the JSON exposition as read by an independent parser.
#[test]
fn snapshot_matches_the_json_exposition() {
    let m = everything();
    let s = m.snapshot();
    let doc: Value = serde_json::from_str(&m.render_json()).unwrap();
    let metrics = doc["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), s.metrics.len());
    for (json, snap) in metrics.iter().zip(&s.metrics) {
        assert_eq!(json["name"], snap.name.as_str());
        assert_eq!(json["type"], snap.kind.as_str());
        assert_eq!(json["unit"], snap.unit.as_str());
        let series = json["series"].as_array().unwrap();
        assert_eq!(series.len(), snap.series.len());
        for (js, ss) in series.iter().zip(&snap.series) {
            let labels: Vec<(String, String)> = js["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            assert_eq!(labels, ss.labels);
            match &ss.value {
                SeriesValue::Counter(v) => assert_eq!(js["value"].as_u64(), Some(*v)),
                SeriesValue::Gauge(v) => assert_eq!(js["value"].as_f64(), Some(*v)),
                SeriesValue::Histogram(h) => {
                    let cumulative: Vec<u64> =
                        js["buckets"].as_array().unwrap().iter().map(|b| b["count"].as_u64().unwrap()).collect();
                    assert_eq!(cumulative, h.cumulative());
                    assert_eq!(js["count"].as_u64(), Some(h.count()));
                    assert_eq!(js["sum"].as_f64(), Some(h.sum));
                }
                SeriesValue::Summary(q) => {
                    assert_eq!(js["count"].as_u64(), Some(q.count));
                    assert_eq!(js["sum"].as_f64(), Some(q.sum));
                }
            }
        }
    }
}

#[test]
fn snapshot_serde_round_trip() {
    let m = everything();
    let snapshot = m.snapshot();
    let json = serde_json::to_string(&snapshot).unwrap();
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, snapshot);

    // The shape is plain JSON.
    let v: Value = serde_json::from_str(&json).unwrap();
    let hits = &v["metrics"][0];
    assert_eq!(hits["name"], "snap_hits_total");
    assert_eq!(hits["kind"], "counter");
    assert_eq!(hits["series"][0]["labels"], serde_json::json!([["path", "/a\"b"]]));
    assert_eq!(hits["series"][0]["value"]["counter"], u64::MAX - 1);
    assert_eq!(v["metrics"][1]["series"][0]["value"]["gauge"], -273.15);
    let h = &v["metrics"][2]["series"][1]["value"]["histogram"];
    assert_eq!(h["bounds"], serde_json::json!([10.0, 100.0]));
    assert_eq!(h["counts"], serde_json::json!([1, 0, 1]));
    assert_eq!(v["metrics"][4]["series"][0]["value"]["summary"]["quantiles"][0], serde_json::json!([0.5, null]));

    // Totals serialize too.
    let totals = m.aggregate_by_prefix("snap_size");
    let back: Vec<MetricTotal> = serde_json::from_str(&serde_json::to_string(&totals).unwrap()).unwrap();
    assert_eq!(back, totals);
}

#[test]
fn non_finite_values_round_trip_as_strings() {
    for (value, text) in [(f64::INFINITY, "+Inf"), (f64::NEG_INFINITY, "-Inf"), (f64::NAN, "NaN")] {
        let series = SeriesSnapshot { labels: vec![], value: SeriesValue::Gauge(value), created: 0.0 };
        let json = serde_json::to_string(&series).unwrap();
        assert_eq!(json, format!("{{\"labels\":[],\"value\":{{\"gauge\":\"{text}\"}},\"created\":0.0}}"));
        let back: SeriesSnapshot = serde_json::from_str(&json).unwrap();
        let v = back.value.as_gauge().unwrap();
        assert!(v.to_bits() == value.to_bits() || (v.is_nan() && value.is_nan()), "{text}");
    }
    assert!(serde_json::from_str::<SeriesSnapshot>(r#"{"labels":[],"value":{"gauge":"many"}}"#).is_err());

    // From a live gauge, through the exposition.
    let m = everything();
    m.temperature.set(f64::NAN);
    assert!(m.snapshot().metrics[1].series[0].value.as_gauge().unwrap().is_nan());
    m.temperature.set(f64::NEG_INFINITY);
    assert_eq!(m.snapshot().metrics[1].total(), SeriesValue::Gauge(f64::NEG_INFINITY));
    assert!(serde_json::from_str::<MetricSnapshot>(r#"{"name":"x","kind":"timer","help":"","unit":"","series":[]}"#)
        .is_err());
}

#[test]
fn snapshot_of_a_bounded_registry_sees_run_time_families() {
    let r = BoundedRegistry::new(BoundedConfig::default());
    let hits = r.counter("api_hits_total", "Hits.", &["route", "code"]).unwrap();
    hits.add(&["/a", "200"], 3).unwrap();
    hits.add(&["/a", "500"], 1).unwrap();
    hits.add(&["/b", "200"], 5).unwrap();
    let wait = r.histogram("api_wait_seconds", "Waits.", &[], &[0.1, 1.0]).unwrap();
    wait.record(&[], 0.5).unwrap();

    let snapshot = r.snapshot();
    let api = snapshot.metric("api_hits_total").unwrap();
    let mut by_code = api.sum_by_label("code").unwrap();
    by_code.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(by_code, vec![("200".into(), SeriesValue::Counter(8)), ("500".into(), SeriesValue::Counter(1))]);

    let totals = r.aggregate_by_prefix("api_");
    assert_eq!(totals.len(), 2);
    assert_eq!(totals[0].total, SeriesValue::Counter(9));
    assert_eq!(
        totals[1].total,
        SeriesValue::Histogram(HistogramValue { bounds: vec![0.1, 1.0], counts: vec![0, 1, 0], sum: 0.5 })
    );
}

#[test]
fn aggregates_are_exact_after_4_threads() {
    static M: ShopMetrics = ShopMetrics::new();
    const PER_THREAD: u64 = 50_000;
    std::thread::scope(|s| {
        for t in 0..4 {
            s.spawn(move || {
                let combos = all_http();
                for i in 0..PER_THREAD {
                    M.requests_total.with(combos[(i as usize + t) % combos.len()]).inc();
                }
            });
        }
        // Readers while the writers run: the totals only grow.
        s.spawn(|| {
            let mut last = 0;
            for _ in 0..50 {
                let total = M.aggregate_by_prefix("shop_requests_total")[0].total.as_counter().unwrap();
                assert!(total >= last);
                last = total;
            }
        });
    });
    assert_eq!(M.requests_total.total(), 4 * PER_THREAD);
    assert_eq!(M.requests_total.sum_by(|t| t.method).iter().map(|(_, v)| v).sum::<u64>(), 4 * PER_THREAD);
    assert_eq!(M.aggregate_by_prefix("shop_requests_total")[0].total, SeriesValue::Counter(4 * PER_THREAD));
}

#[test]
fn plain_data_types_are_send_and_sync() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug + PartialEq>() {}
    check::<Snapshot>();
    check::<MetricSnapshot>();
    check::<SeriesSnapshot>();
    check::<SeriesValue>();
    check::<HistogramValue>();
    check::<SummaryValue>();
    check::<MetricTotal>();
}
