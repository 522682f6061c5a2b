//! `demo --write-catalog DIR` end to end: the files it writes, the catalog's JSON round trip,
//! `promtool check rules`, and a real Prometheus scraping the running demo with the generated
//! rules loaded: every rule group evaluates without error, every recording rule has data and
//! every dashboard panel query returns a non-empty result.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use metrics_runtime::catalog::{Catalog, RulesConfig};
use tests::{free_port, tool, PrometheusServer, Running};

fn demo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_demo"))
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("metrics-runtime-demo-catalog-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn write_catalog(dir: &Path) -> Catalog {
    let out = demo().arg("--write-catalog").arg(dir).output().expect("run the demo");
    assert!(out.status.success(), "--write-catalog failed: {}", String::from_utf8_lossy(&out.stderr));
    for file in ["catalog.json", "catalog.md", "rules.yml", "dashboard.json"] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let json = std::fs::read_to_string(dir.join("catalog.json")).unwrap();
    let catalog = Catalog::from_json(&json).expect("catalog.json is a catalog");
    assert_eq!(catalog.to_json(), json, "catalog.json round-trips through serde");
    catalog
}

/// Every target expression of every panel, with the dashboard's variables given values.
fn panel_queries(dashboard: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let expr = target["expr"].as_str().expect("expr").replace("$__rate_interval", "1m").replace("$job", "demo");
            out.push((panel["title"].as_str().unwrap_or_default().to_owned(), expr));
        }
    }
    out
}

/// The result vector of an instant query (empty if the query failed).
fn query(prometheus: &PrometheusServer, expr: &str) -> Vec<serde_json::Value> {
    prometheus
        .api("/api/v1/query", &[("query", expr)])
        .and_then(|v| v["data"]["result"].as_array().cloned())
        .unwrap_or_default()
}

#[test]
fn the_generated_rules_and_dashboard_work_on_a_real_prometheus() {
    let dir = scratch();
    let catalog = write_catalog(&dir);
    let groups: Vec<&str> = catalog.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(groups, ["DemoMetrics", "ProcessMetrics", "TokioMetrics", "PushStats", "EnergyStats"]);
    let slos: Vec<&str> =
        catalog.groups[0].metrics.iter().flat_map(|m| m.slos.iter().map(|s| s.name.as_str())).collect();
    assert_eq!(slos, ["demo_requests_errors", "demo_request_duration_seconds_latency", "demo_checkout_availability"]);
    let rules = catalog.rules(&RulesConfig::default()).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("rules.yml")).unwrap(), rules.to_yaml());
    let markdown = std::fs::read_to_string(dir.join("catalog.md")).unwrap();
    assert_eq!(markdown, catalog.to_markdown());
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("dashboard.json")).unwrap()).expect("dashboard JSON");

    let check = Command::new(tool("promtool")).arg("check").arg("rules").arg(dir.join("rules.yml")).output().unwrap();
    assert!(check.status.success(), "promtool check rules: {}", String::from_utf8_lossy(&check.stdout));

    // The demo under load, scraped every second, the rules evaluated every second.
    let port = free_port();
    let _demo = Running(
        demo()
            .args(["--listen", &format!("127.0.0.1:{port}"), "--seconds", "90"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start the demo"),
    );
    let jobs = format!("  - job_name: 'demo'\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n");
    let rules_file = dir.join("rules.yml");
    let prometheus = PrometheusServer::start_with_rules(free_port(), &jobs, &[&rules_file], &[], &[]);
    prometheus.wait_ready(Duration::from_secs(30));
    prometheus.wait_for_targets_up(1, Duration::from_secs(30));

    // Every group loaded and evaluating without error.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let loaded = prometheus.api("/api/v1/rules", &[]).expect("rules API");
        let loaded = loaded["data"]["groups"].as_array().cloned().unwrap_or_default();
        let mut names: Vec<&str> = loaded.iter().filter_map(|g| g["name"].as_str()).collect();
        let mut want: Vec<&str> = rules.groups.iter().map(|g| g.name.as_str()).collect();
        names.sort_unstable();
        want.sort_unstable();
        let evaluated = loaded
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .all(|r| r["health"] == "ok" && r["lastError"].as_str().unwrap_or_default().is_empty());
        if names == want && evaluated {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rule groups not all loaded and healthy: {names:?}, want {want:?}: {loaded:?}\n{}",
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // Every recording rule has data, and every panel query returns something.
    let mut pending: Vec<(String, String)> = rules
        .records()
        .map(|(name, labels)| {
            let matchers: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            (format!("record {name}"), format!("{name}{{{}}}", matchers.join(",")))
        })
        .collect();
    let records = pending.len();
    assert!(records >= 30, "{records} recording rules");
    let panels = panel_queries(&dashboard);
    assert!(panels.len() >= 40, "{} panel queries", panels.len());
    pending.extend(panels.into_iter().map(|(title, expr)| (format!("panel {title}"), expr)));
    let deadline = Instant::now() + Duration::from_secs(45);
    while !pending.is_empty() {
        pending.retain(|(_, expr)| query(&prometheus, expr).is_empty());
        if pending.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "queries still empty after 45 s: {pending:#?}\n{}", prometheus.log());
        std::thread::sleep(Duration::from_millis(500));
    }

    // The recorded values are the demo's: requests flow, and its SLOs hold.
    let rate = query(&prometheus, "sum(job_route_status:demo_requests:rate5m)");
    let rate: f64 = rate[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(rate > 10.0, "demo request rate {rate}/s");
    for slo in slos {
        let ratio = query(&prometheus, &format!("job:slo_errors_per_event:ratio_rate5m{{slo=\"{slo}\"}}"));
        let ratio: f64 = ratio[0]["value"][1].as_str().unwrap().parse().unwrap();
        assert!((0.0..0.1).contains(&ratio), "{slo}: error ratio {ratio}");
    }
    let firing = query(&prometheus, "ALERTS{alertstate=\"firing\"}");
    assert!(firing.is_empty(), "a healthy demo pages: {firing:?}");
    let _ = std::fs::remove_dir_all(dir);
}
