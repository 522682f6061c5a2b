//! The catalog generated from a schema: what it says about every kind of metric, its JSON round
//! trip, and the rules it generates, checked by `promtool check rules` and unit-tested with
//! `promtool test rules` on series written here (the burn-rate alerts fire during an outage, stop
//! after it at the pace of their short windows, and stay quiet on a healthy service).

use std::path::{Path, PathBuf};

use metrics_runtime::catalog::{
    Catalog, CatalogError, DashboardConfig, Rule, RuleKind, Rules, RulesConfig, SloObjective,
};
use metrics_runtime::window::{WindowedCounter, WindowedHistogram};
use metrics_runtime::{
    Counter, Gauge, Histogram, Info, MetricKind, Metrics, NativeHistogram, Outcome, Registry, ShardedCounter, Summary,
    Tag,
};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(rename_all = "lowercase")]
enum Method {
    Get,
    Post,
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "quote")]
enum Quoted {
    #[tag(value = "say \"hi\"")]
    Hi,
}

#[derive(Metrics)]
#[metrics(namespace = "shop", labels(service = "checkout"))]
struct Shop {
    /// Checkouts, by outcome.
    #[metric(slo(errors = "outcome=error|panicked", target = 0.99))]
    checkouts_total: Counter<Outcome>,
    /// Time to check out, by method.
    #[metric(unit = "seconds", buckets = [0.05, 0.1, 0.25, 0.5], slo(latency = "250ms", target = 0.999))]
    checkout_seconds: Histogram<Method>,
    /// Carts open.
    carts: Gauge<Method>,
    /// Page views.
    views_total: ShardedCounter,
    /// Render time.
    #[metric(unit = "seconds", quantiles = [0.5, 0.99], window_secs = 30)]
    render_seconds: Summary,
    /// Requests per second over the last 20 seconds.
    #[metric(window_secs = 20)]
    requests_per_second: WindowedCounter<20>,
    /// Queue wait over the last minute.
    #[metric(unit = "seconds", window_secs = 60)]
    queue_wait_seconds: WindowedHistogram<60>,
    /// A label value with quotes.
    quoted_total: Counter<Quoted>,
    /// Build of the shop.
    build_info: Info,
}

/// A native histogram whose objective sits on a native boundary only.
#[derive(Metrics)]
#[metrics(namespace = "api")]
struct Api {
    /// Time to serve a request, by method.
    #[metric(unit = "seconds", schema = 2, slo(latency = "p99 < 0.5s"))]
    request_seconds: NativeHistogram<Method>,
}

fn entry<'a>(catalog: &'a Catalog, name: &str) -> &'a metrics_runtime::catalog::Entry {
    catalog.groups.iter().flat_map(|g| &g.metrics).find(|m| m.name == name).unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn the_catalog_says_what_each_declaration_says() {
    let catalog = Catalog::of(&Shop::new());
    assert_eq!(catalog.format, Catalog::FORMAT);
    assert_eq!(catalog.groups.len(), 1);
    assert_eq!(catalog.groups[0].name, "Shop");
    let names: Vec<&str> = catalog.groups[0].metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "shop_checkouts_total",
            "shop_checkout_seconds",
            "shop_carts",
            "shop_views_total",
            "shop_render_seconds",
            "shop_requests_per_second",
            "shop_queue_wait_seconds",
            "shop_quoted_total",
            "shop_build_info"
        ]
    );

    let checkouts = entry(&catalog, "shop_checkouts_total");
    assert_eq!((checkouts.kind, checkouts.family.as_str()), (MetricKind::Counter, "shop_checkouts"));
    assert_eq!(checkouts.help, "Checkouts, by outcome.");
    assert_eq!(checkouts.sample_names, ["shop_checkouts_total", "shop_checkouts_created"]);
    assert_eq!(checkouts.labels.len(), 1);
    assert_eq!(checkouts.labels[0].name, "outcome");
    assert_eq!(checkouts.labels[0].values, ["ok", "error", "cancelled", "panicked"]);
    assert_eq!(checkouts.series, Some(4));
    assert_eq!(checkouts.const_labels.len(), 1);
    assert_eq!(
        (checkouts.const_labels[0].name.as_str(), checkouts.const_labels[0].value.as_str()),
        ("service", "checkout")
    );
    assert_eq!(checkouts.slos.len(), 1);
    assert_eq!(checkouts.slos[0].name, "shop_checkouts_errors");
    assert_eq!(checkouts.slos[0].target, 0.99);
    assert_eq!(
        checkouts.slos[0].objective,
        SloObjective::Errors { label: "outcome".into(), values: vec!["error".into(), "panicked".into()] }
    );
    assert_eq!((checkouts.buckets.as_ref(), checkouts.quantiles.as_ref(), checkouts.window_secs), (None, None, None));

    let latency = entry(&catalog, "shop_checkout_seconds");
    assert_eq!((latency.kind, latency.unit.as_str()), (MetricKind::Histogram, "seconds"));
    assert_eq!(latency.buckets.as_deref(), Some(&[0.05, 0.1, 0.25, 0.5][..]));
    assert_eq!(latency.native, None);
    assert_eq!(
        latency.sample_names,
        [
            "shop_checkout_seconds_bucket",
            "shop_checkout_seconds_sum",
            "shop_checkout_seconds_count",
            "shop_checkout_seconds_created"
        ]
    );
    assert_eq!(latency.series, Some(2));
    assert_eq!(latency.slos[0].name, "shop_checkout_seconds_latency");
    assert_eq!(latency.slos[0].target, 0.999);
    assert_eq!(latency.slos[0].objective, SloObjective::Latency { threshold: 0.25, le: "0.25".into() });

    assert_eq!(entry(&catalog, "shop_carts").kind, MetricKind::Gauge);
    assert_eq!(entry(&catalog, "shop_carts").series, Some(2));
    assert_eq!(entry(&catalog, "shop_views_total").kind, MetricKind::Counter);
    let render = entry(&catalog, "shop_render_seconds");
    assert_eq!(
        (render.kind, render.quantiles.as_deref(), render.window_secs),
        (MetricKind::Summary, Some(&[0.5, 0.99][..]), Some(30))
    );
    let rps = entry(&catalog, "shop_requests_per_second");
    assert_eq!((rps.kind, rps.window_secs), (MetricKind::Gauge, Some(20)));
    let wait = entry(&catalog, "shop_queue_wait_seconds");
    assert_eq!((wait.kind, wait.window_secs), (MetricKind::Summary, Some(60)));
    assert_eq!(wait.quantiles.as_deref(), Some(metrics_runtime::SummaryConfig::DEFAULT.quantiles));
    // Values are unescaped in the catalog (the exposition escapes them).
    assert_eq!(entry(&catalog, "shop_quoted_total").labels[0].values, ["say \"hi\""]);
    assert_eq!(entry(&catalog, "shop_build_info").kind, MetricKind::Info);
    assert_eq!(entry(&catalog, "shop_build_info").sample_names, ["shop_build_info"]);

    let api = Catalog::of(&Api::new());
    let native = entry(&api, "api_request_seconds");
    let layout = native.native.expect("a native histogram");
    assert_eq!((layout.schema, layout.max_buckets), (2, metrics_runtime::DEFAULT_NATIVE_MAX_BUCKETS));
    assert_eq!(native.buckets.as_deref(), Some(&[][..]), "no classic buckets declared");
    assert_eq!(native.slos[0].target, 0.99, "`p99 <` sets the target");
    assert_eq!(native.slos[0].objective, SloObjective::Latency { threshold: 0.5, le: "0.5".into() });
}

#[test]
fn a_registry_catalog_has_every_struct_and_its_constant_labels() {
    static SHOP: Shop = Shop::new();
    static API: Api = Api::new();
    let mut registry = Registry::new();
    registry.register(&SHOP).unwrap();
    registry.register(&API).unwrap();
    registry.set_labels(&[("region", "eu-west")]).unwrap();
    let catalog = Catalog::of_registry(&registry);
    let groups: Vec<&str> = catalog.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(groups, ["Shop", "Api"]);
    assert_eq!(catalog.labels.len(), 1);
    assert_eq!((catalog.labels[0].name.as_str(), catalog.labels[0].value.as_str()), ("region", "eu-west"));
    assert!(catalog.to_markdown().contains("Every series carries `region=\"eu-west\"`."));
}

#[test]
fn the_catalog_round_trips_through_json() {
    for catalog in [Catalog::of(&Shop::new()), Catalog::of(&Api::new())] {
        let json = catalog.to_json();
        let back = Catalog::from_json(&json).expect("reads back");
        assert_eq!(back, catalog);
        assert_eq!(back.to_json(), json, "stable text");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["format"], Catalog::FORMAT);
    }
    let other = Catalog::of(&Shop::new()).to_json().replace(Catalog::FORMAT, "something-else/9");
    assert!(matches!(Catalog::from_json(&other), Err(CatalogError::Format { .. })));
    assert!(matches!(Catalog::from_json("{}"), Err(CatalogError::Format { .. })));
}

#[test]
fn the_markdown_lists_every_metric_and_objective() {
    let md = Catalog::of(&Shop::new()).to_markdown();
    for m in Catalog::of(&Shop::new()).groups[0].metrics.iter() {
        assert!(md.contains(&format!("| `{}` | {} |", m.name, m.kind.as_str())), "{}: {md}", m.name);
    }
    assert!(md.contains("| `shop_checkout_seconds` | histogram | seconds | `method`: get, post; `service` = checkout | 2 | buckets 0.05, 0.1, 0.25, 0.5 | Time to check out, by method. |"), "{md}");
    assert!(md.contains("| `shop_checkouts_errors` | `shop_checkouts_total` | `outcome` not error or panicked | 0.99 | `ShopCheckoutsErrorsFastBurn`, `ShopCheckoutsErrorsSlowBurn` |"), "{md}");
    assert!(md.contains("`quote`: say \"hi\""));
}

/// A scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("metrics-runtime-catalog-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn promtool(args: &[&str], dir: &Path) -> (bool, String) {
    let out =
        std::process::Command::new(tests::tool("promtool")).args(args).current_dir(dir).output().expect("run promtool");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn check_rules(rules: &Rules, name: &str) {
    let dir = scratch(name);
    std::fs::write(dir.join("rules.yml"), rules.to_yaml()).unwrap();
    let (ok, out) = promtool(&["check", "rules", "rules.yml"], &dir);
    let count = rules.groups.iter().map(|g| g.rules.len()).sum::<usize>();
    assert!(ok, "promtool check rules failed:\n{out}\n{}", rules.to_yaml());
    assert!(out.contains(&format!("SUCCESS: {count} rules found")), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn promtool_accepts_the_rules() {
    let shop = Catalog::of(&Shop::new()).rules(&RulesConfig::default()).unwrap();
    check_rules(&shop, "check-shop");
    let records: Vec<&str> = shop.records().map(|(name, _)| name).collect();
    for expected in [
        "job_outcome:shop_checkouts:rate5m",
        "job_method:shop_checkout_seconds:p50_rate5m",
        "job_method:shop_checkout_seconds:p90_rate5m",
        "job_method:shop_checkout_seconds:p99_rate5m",
        "job_method:shop_checkout_seconds_count:rate5m",
        "job:shop_views:rate5m",
        "job:shop_render_seconds_count:rate5m",
        "job:slo_errors_per_event:ratio_rate5m",
        "job:slo_errors_per_event:ratio_rate30m",
        "job:slo_errors_per_event:ratio_rate1h",
        "job:slo_errors_per_event:ratio_rate6h",
    ] {
        assert!(records.contains(&expected), "{expected} missing: {records:?}");
    }
    let alerts: Vec<&RuleKind> = shop.alerts().map(|r| &r.kind).collect();
    assert_eq!(
        alerts,
        [
            &RuleKind::Alert("ShopCheckoutsErrorsFastBurn".into()),
            &RuleKind::Alert("ShopCheckoutsErrorsSlowBurn".into()),
            &RuleKind::Alert("ShopCheckoutSecondsLatencyFastBurn".into()),
            &RuleKind::Alert("ShopCheckoutSecondsLatencySlowBurn".into()),
        ]
    );

    // A native-only threshold: refused for the classic exposition, exact with native histograms.
    let api = Catalog::of(&Api::new());
    assert_eq!(
        api.rules(&RulesConfig::default()),
        Err(CatalogError::NeedsNativeHistograms { slo: "api_request_seconds_latency".into() })
    );
    let native = api.rules(&RulesConfig { native_histograms: true, ..RulesConfig::default() }).unwrap();
    check_rules(&native, "check-api");
    let yaml = native.to_yaml();
    assert!(yaml.contains("1 - histogram_fraction(0, 0.5, sum by (job) (rate(api_request_seconds[5m])))"), "{yaml}");
    assert!(yaml.contains("histogram_quantile(0.99, sum by (job, method) (rate(api_request_seconds[5m])))"), "{yaml}");
    assert!(!yaml.contains("_bucket"), "{yaml}");
}

/// The alert of `rules` named `name`.
fn alert<'a>(rules: &'a Rules, name: &str) -> &'a Rule {
    rules.alerts().find(|r| r.kind == RuleKind::Alert(name.into())).unwrap_or_else(|| panic!("no alert {name}"))
}

/// A YAML double-quoted scalar.
fn q(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// One `exp_alerts` entry: the alert's labels plus the series' `job`, its annotations.
fn expected(rule: &Rule) -> String {
    let mut labels: Vec<(String, String)> = rule.labels.clone();
    labels.push(("job".into(), "shop".into()));
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}: {}", q(v))).collect();
    let annotations: Vec<String> = rule.annotations.iter().map(|(k, v)| format!("{k}: {}", q(v))).collect();
    format!(
        "          - exp_labels: {{{}}}\n            exp_annotations: {{{}}}\n",
        labels.join(", "),
        annotations.join(", ")
    )
}

/// An `alert_rule_test` entry: `alert` at `at`, firing (`Some(rule)`) or not.
fn eval(at: &str, alert: &str, firing: Option<&Rule>) -> String {
    match firing {
        Some(rule) => {
            format!("      - eval_time: {at}\n        alertname: {alert}\n        exp_alerts:\n{}", expected(rule))
        }
        None => format!("      - eval_time: {at}\n        alertname: {alert}\n        exp_alerts: []\n"),
    }
}

#[test]
fn burn_rate_alerts_fire_on_an_outage_and_stay_quiet_otherwise() {
    let rules = Catalog::of(&Shop::new()).rules(&RulesConfig::default()).unwrap();
    let dir = scratch("promtool-test");
    std::fs::write(dir.join("rules.yml"), rules.to_yaml()).unwrap();
    let fast = alert(&rules, "ShopCheckoutsErrorsFastBurn");
    let slow = alert(&rules, "ShopCheckoutsErrorsSlowBurn");
    let lat_fast = alert(&rules, "ShopCheckoutSecondsLatencyFastBurn");
    let lat_slow = alert(&rules, "ShopCheckoutSecondsLatencySlowBurn");

    let mut test = String::from("rule_files:\n  - rules.yml\nevaluation_interval: 1m\ntests:\n");
    // 1. A one-hour outage: 20% of checkouts fail (`error` and `panicked`), 20 times the 1% budget,
    //    then none do. Both alerts fire during it; the fast one stops 5 minutes after it (its
    //    short window), the slow one after 30.
    test.push_str(
        "  - interval: 1m\n    input_series:\n\
         \x20     - series: 'shop_checkouts_total{job=\"shop\",service=\"checkout\",outcome=\"ok\"}'\n        values: '0+80x60 4900+100x119'\n\
         \x20     - series: 'shop_checkouts_total{job=\"shop\",service=\"checkout\",outcome=\"error\"}'\n        values: '0+15x60 900x119'\n\
         \x20     - series: 'shop_checkouts_total{job=\"shop\",service=\"checkout\",outcome=\"panicked\"}'\n        values: '0+5x60 300x119'\n\
         \x20     - series: 'shop_checkouts_total{job=\"shop\",service=\"checkout\",outcome=\"cancelled\"}'\n        values: '0+0x179'\n\
         \x20   alert_rule_test:\n",
    );
    for (at, fast_on, slow_on) in [
        ("3m", true, true),
        ("30m", true, true),
        ("60m", true, true),
        ("70m", false, true),
        ("100m", false, false),
        ("170m", false, false),
    ] {
        test.push_str(&eval(at, "ShopCheckoutsErrorsFastBurn", fast_on.then_some(fast)));
        test.push_str(&eval(at, "ShopCheckoutsErrorsSlowBurn", slow_on.then_some(slow)));
    }
    // 2. A healthy service: 0.5% of checkouts fail, half the budget: quiet for three hours.
    test.push_str(
        "  - interval: 1m\n    input_series:\n\
         \x20     - series: 'shop_checkouts_total{job=\"shop\",service=\"checkout\",outcome=\"ok\"}'\n        values: '0+199x180'\n\
         \x20     - series: 'shop_checkouts_total{job=\"shop\",service=\"checkout\",outcome=\"error\"}'\n        values: '0+1x180'\n\
         \x20   alert_rule_test:\n",
    );
    for at in ["10m", "1h", "3h"] {
        test.push_str(&eval(at, "ShopCheckoutsErrorsFastBurn", None));
        test.push_str(&eval(at, "ShopCheckoutsErrorsSlowBurn", None));
    }
    // 3. Latency (target 0.999): 5% of checkouts slower than 250 ms pages, 0.05% does not.
    test.push_str(
        "  - interval: 1m\n    input_series:\n\
         \x20     - series: 'shop_checkout_seconds_bucket{job=\"shop\",service=\"checkout\",method=\"get\",le=\"0.25\"}'\n        values: '0+950x60'\n\
         \x20     - series: 'shop_checkout_seconds_count{job=\"shop\",service=\"checkout\",method=\"get\"}'\n        values: '0+1000x60'\n\
         \x20   alert_rule_test:\n",
    );
    test.push_str(&eval("20m", "ShopCheckoutSecondsLatencyFastBurn", Some(lat_fast)));
    test.push_str(&eval("20m", "ShopCheckoutSecondsLatencySlowBurn", Some(lat_slow)));
    test.push_str(
        "  - interval: 1m\n    input_series:\n\
         \x20     - series: 'shop_checkout_seconds_bucket{job=\"shop\",service=\"checkout\",method=\"get\",le=\"0.25\"}'\n        values: '0+19999x60'\n\
         \x20     - series: 'shop_checkout_seconds_count{job=\"shop\",service=\"checkout\",method=\"get\"}'\n        values: '0+20000x60'\n\
         \x20   alert_rule_test:\n",
    );
    test.push_str(&eval("20m", "ShopCheckoutSecondsLatencyFastBurn", None));
    test.push_str(&eval("20m", "ShopCheckoutSecondsLatencySlowBurn", None));
    std::fs::write(dir.join("test.yml"), &test).unwrap();

    let (ok, out) = promtool(&["test", "rules", "test.yml"], &dir);
    assert!(ok, "promtool test rules failed:\n{out}\n--- test.yml\n{test}");
    assert!(out.contains("SUCCESS"), "{out}");

    // The test can fail: the same outage with the healthy expectations is refused.
    let wrong = test.replacen(
        &eval("30m", "ShopCheckoutsErrorsFastBurn", Some(fast)),
        &eval("30m", "ShopCheckoutsErrorsFastBurn", None),
        1,
    );
    assert_ne!(wrong, test);
    std::fs::write(dir.join("wrong.yml"), &wrong).unwrap();
    let (ok, out) = promtool(&["test", "rules", "wrong.yml"], &dir);
    assert!(!ok, "an expectation of silence during the outage passed:\n{out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_dashboard_has_a_row_per_struct_and_panels_by_kind() {
    static SHOP: Shop = Shop::new();
    let mut registry = Registry::new();
    registry.register(&SHOP).unwrap();
    let dashboard = Catalog::of_registry(&registry).dashboard(&DashboardConfig::default());
    let panels = dashboard["panels"].as_array().unwrap();
    let rows: Vec<&str> = panels.iter().filter(|p| p["type"] == "row").map(|p| p["title"].as_str().unwrap()).collect();
    assert_eq!(rows, ["Shop", "Service-level objectives"]);
    let by_title =
        |title: &str| panels.iter().find(|p| p["title"] == title).unwrap_or_else(|| panic!("no panel {title}"));
    let counter = by_title("shop_checkouts_total rate");
    assert_eq!(counter["type"], "timeseries");
    assert_eq!(
        counter["targets"][0]["expr"],
        "sum by (outcome) (rate(shop_checkouts_total{job=~\"$job\"}[$__rate_interval]))"
    );
    let quantiles = by_title("shop_checkout_seconds quantiles");
    assert_eq!(quantiles["fieldConfig"]["defaults"]["unit"], "s");
    assert_eq!(quantiles["targets"].as_array().unwrap().len(), 3);
    assert_eq!(
        quantiles["targets"][2]["expr"],
        "histogram_quantile(0.99, sum by (le, method) (rate(shop_checkout_seconds_bucket{job=~\"$job\"}[$__rate_interval])))"
    );
    let heatmap = by_title("shop_checkout_seconds distribution");
    assert_eq!(
        (heatmap["type"].as_str(), heatmap["targets"][0]["format"].as_str()),
        (Some("heatmap"), Some("heatmap"))
    );
    assert_eq!(by_title("shop_carts")["type"], "timeseries");
    assert_eq!(by_title("shop_render_seconds quantiles")["targets"][0]["expr"], "shop_render_seconds{job=~\"$job\"}");
    assert_eq!(by_title("shop_build_info")["type"], "table");
    let slo = by_title("shop_checkouts_errors error ratio");
    assert_eq!(
        slo["targets"][0]["expr"],
        "job:slo_errors_per_event:ratio_rate5m{slo=\"shop_checkouts_errors\",job=~\"$job\"}"
    );
    // Panels do not overlap on the grid, and ids are unique.
    let mut cells = std::collections::HashSet::new();
    let mut ids = std::collections::HashSet::new();
    for p in panels {
        assert!(ids.insert(p["id"].as_u64().unwrap()));
        let g = &p["gridPos"];
        let (x, y, w, h) =
            (g["x"].as_u64().unwrap(), g["y"].as_u64().unwrap(), g["w"].as_u64().unwrap(), g["h"].as_u64().unwrap());
        assert!(x + w <= 24);
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(cells.insert((cx, cy)), "panels overlap at ({cx}, {cy})");
            }
        }
    }
}
