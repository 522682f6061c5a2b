//! Every output format of a schema with every metric type, tags, a namespace, units, and awkward
//! label values and HELP text, checked by tools other people wrote: `promtool check metrics`
//! (Prometheus text) and the strict OpenMetrics parser of `prometheus_client` (OpenMetrics).

use metrics_runtime::expose::negotiate;
use metrics_runtime::{Counter, Format, Metrics, Registry, RegistryError};
use serde_json::Value;
use tests::conformance::{populated, Conformance};
use tests::{parse_openmetrics_strict, promtool_check};

#[test]
fn prometheus_text_passes_promtool() {
    let text = populated().render_prometheus();
    promtool_check(&text).unwrap();
    assert!(
        text.contains("# HELP conf_requests_total Requests with \"quotes\", a back\\\\slash and non-ASCII: grüße.\n")
    );
    assert!(text.contains("conf_requests_total{path=\"say \\\"hi\\\"\",region=\"eu\"} 3\n"), "{text}");
    assert!(text.contains("conf_requests_total{path=\"grüße/東京 🚀\",region=\"us\"} 1\n"));
    assert!(text.contains("conf_latency_seconds_bucket{path=\"two\\nlines\",le=\"+Inf\"} 2\n"));
    assert!(text.contains("# HELP conf_plain_quantiles Explicit help with a newline\\nand a tab\t.\n"));
}

#[test]
fn empty_schema_passes_promtool() {
    promtool_check(&Conformance::new().render_prometheus()).unwrap();
}

fn find<'a>(samples: &'a [Value], name: &str, labels: &[(&str, &str)]) -> &'a Value {
    samples
        .iter()
        .find(|s| {
            s["name"] == name
                && s["labels"].as_object().is_some_and(|l| {
                    l.len() == labels.len() && labels.iter().all(|(k, v)| l.get(*k).and_then(Value::as_str) == Some(*v))
                })
        })
        .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
}

#[test]
fn openmetrics_passes_the_strict_parser_with_values_intact() {
    let m = populated();
    let text = m.render_openmetrics();
    assert!(text.ends_with("# EOF\n"));
    assert!(text.contains("# TYPE conf_requests counter\n"));
    assert!(text.contains("# TYPE conf_sent_bytes counter\n# UNIT conf_sent_bytes bytes\n"));
    let samples = parse_openmetrics_strict(&text);

    let s = find(&samples, "conf_requests_total", &[("path", "say \"hi\""), ("region", "eu")]);
    assert_eq!(s["value"], 3.0);
    assert_eq!(s["family"], "conf_requests");
    assert_eq!(s["type"], "counter");
    assert_eq!(s["help"], "Requests with \"quotes\", a back\\slash and non-ASCII: grüße.");
    assert_eq!(find(&samples, "conf_requests_total", &[("path", "grüße/東京 🚀"), ("region", "us")])["value"], 1.0);
    assert_eq!(find(&samples, "conf_requests_total", &[("path", "two\nlines"), ("region", "us")])["value"], 0.0);
    assert_eq!(find(&samples, "conf_requests_total", &[("path", "C:\\temp\\"), ("region", "eu")])["value"], 0.0);
    assert_eq!(find(&samples, "conf_requests_total", &[("path", "{a=\"b\"},"), ("region", "eu")])["value"], 0.0);
    let created = find(&samples, "conf_requests_created", &[("path", "say \"hi\""), ("region", "eu")]);
    assert!(created["value"].as_f64().unwrap() > 1.0e9);
    assert_eq!(find(&samples, "conf_sent_bytes_total", &[])["value"], 1_000_000_007.0);
    assert_eq!(find(&samples, "conf_sent_bytes_total", &[])["unit"], "bytes");
    assert_eq!(find(&samples, "conf_queue_depth", &[("region", "us")])["value"], -2.5);
    assert_eq!(find(&samples, "conf_queue_depth", &[("region", "eu")])["help"], "Queue depth over two doc lines.");
    assert_eq!(find(&samples, "conf_temperature_celsius", &[])["value"], 21.25);
    assert_eq!(find(&samples, "conf_latency_seconds_bucket", &[("path", "two\nlines"), ("le", "0.01")])["value"], 1.0);
    assert_eq!(find(&samples, "conf_latency_seconds_bucket", &[("path", "two\nlines"), ("le", "+Inf")])["value"], 2.0);
    assert_eq!(find(&samples, "conf_latency_seconds_count", &[("path", "two\nlines")])["value"], 2.0);
    assert_eq!(find(&samples, "conf_latency_seconds_sum", &[("path", "two\nlines")])["value"], 5.005);
    assert_eq!(find(&samples, "conf_payload_count", &[])["value"], 1.0);
    assert_eq!(find(&samples, "conf_checkout_seconds_count", &[("region", "eu")])["value"], 100.0);
    assert_eq!(find(&samples, "conf_checkout_seconds_sum", &[("region", "eu")])["value"], 4950.0);
    let p50 =
        find(&samples, "conf_checkout_seconds", &[("region", "eu"), ("quantile", "0.5")])["value"].as_f64().unwrap();
    assert!((p50 - 49.5).abs() <= 1.0, "{p50}");
    assert_eq!(find(&samples, "conf_checkout_seconds", &[("region", "us"), ("quantile", "0.99")])["value"], "nan");
    assert_eq!(find(&samples, "conf_plain_quantiles_count", &[])["help"], "Explicit help with a newline\nand a tab\t.");
}

#[test]
fn empty_openmetrics_passes_the_strict_parser() {
    let samples = parse_openmetrics_strict(&Conformance::new().render_openmetrics());
    // 10 counter series x 2 (+ created), 1 x 2, 2 gauges + 1, 5 x 7 buckets + 3 ...: all present.
    assert!(samples.len() > 50, "{}", samples.len());
}

#[test]
fn json_is_valid_and_complete() {
    let m = populated();
    let doc: Value = serde_json::from_str(&m.render_json()).expect("valid JSON");
    let metrics = doc["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 8);
    let requests = &metrics[0];
    assert_eq!(requests["name"], "conf_requests_total");
    assert_eq!(requests["type"], "counter");
    assert_eq!(requests["help"], "Requests with \"quotes\", a back\\slash and non-ASCII: grüße.");
    let series = requests["series"].as_array().unwrap();
    assert_eq!(series.len(), 10);
    assert_eq!(series[0]["labels"]["path"], "say \"hi\"");
    assert_eq!(series[0]["labels"]["region"], "eu");
    assert_eq!(series[0]["value"], 3);
    let latency = &metrics[4];
    assert_eq!(latency["unit"], "seconds");
    let newline = latency["series"].as_array().unwrap().iter().find(|s| s["labels"]["path"] == "two\nlines").unwrap();
    assert_eq!(newline["count"], 2);
    assert_eq!(newline["buckets"][4]["le"], "+Inf");
    assert_eq!(newline["buckets"][4]["count"], 2);
    assert_eq!(newline["buckets"][1]["le"], 0.01);
    let us = &metrics[6]["series"][1];
    assert_eq!(us["quantiles"][0]["value"], "NaN");
}

#[derive(Metrics)]
#[metrics(namespace = "conf")]
struct Clash {
    /// Its OpenMetrics family `conf_queue_depth` collides with the gauge of that name.
    queue_depth_total: Counter,
}

#[derive(Metrics)]
#[metrics(namespace = "other")]
struct Other {
    /// Other.
    things_total: Counter,
}

static CONF: Conformance = Conformance::new();
static CLASH: Clash = Clash::new();
static OTHER: Other = Other::new();

#[test]
fn registry_renders_all_and_refuses_collisions() {
    let mut registry = Registry::new();
    registry.register(&CONF).unwrap();
    let err = registry.register(&CLASH).unwrap_err();
    assert_eq!(
        err,
        RegistryError::DuplicateName {
            name: "conf_queue_depth".into(),
            metric: "conf_queue_depth_total".into(),
            existing: "conf_queue_depth".into(),
        }
    );
    registry.register_arc(std::sync::Arc::new(Other::new())).unwrap();
    assert!(registry.register(&OTHER).is_err(), "same names through another instance");
    assert_eq!(registry.len(), 2);

    let om = registry.render_openmetrics();
    assert_eq!(om.matches("# EOF").count(), 1);
    let samples = parse_openmetrics_strict(&om);
    assert!(samples.iter().any(|s| s["name"] == "other_things_total"));
    promtool_check(&registry.render_prometheus()).unwrap();
    let doc: Value = serde_json::from_str(&registry.render_json()).unwrap();
    assert_eq!(doc["metrics"].as_array().unwrap().len(), 9);

    // Writer form: a reused buffer.
    let mut buf = String::new();
    registry.write(Format::Prometheus, &mut buf);
    let first = buf.clone();
    buf.clear();
    registry.write(Format::Prometheus, &mut buf);
    assert_eq!(buf, first);
}

#[test]
fn content_negotiation() {
    let prometheus_accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert_eq!(negotiate(Some(prometheus_accept)), Format::OpenMetrics);
    assert_eq!(negotiate(Some("text/plain;version=0.0.4")), Format::Prometheus);
    assert_eq!(Format::Prometheus.content_type(), "text/plain; version=0.0.4; charset=utf-8");
    assert_eq!(Format::OpenMetrics.content_type(), "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

/// The checkers are real: they reject what they should, so passing them means something.
#[test]
fn the_checkers_reject_bad_input() {
    assert!(
        promtool_check("# HELP x_seconds_count A gauge.\n# TYPE x_seconds_count counter\nx_seconds_count 1\n").is_err()
    );
    let missing_eof = "# TYPE a counter\n# HELP a A.\na_total 1\n";
    let (ok, _, stderr) =
        tests::run_with_stdin(&tests::python(), &["-c", tests::OPENMETRICS_PARSE_SCRIPT], missing_eof);
    assert!(!ok, "accepted text without # EOF");
    assert!(stderr.contains("parse error"), "{stderr}");
}
