//! Info metrics: OpenMetrics type `info` (family without `_info`, value 1), a gauge in
//! Prometheus text; both pass the strict parser and promtool, with hostile label values.

use metrics_runtime::{build_info, Info, InfoError, Metrics};
use tests::{parse_openmetrics_strict, promtool_check};

#[derive(Metrics)]
#[metrics(namespace = "app")]
struct App {
    /// Build of the running binary.
    build_info: Info,
    /// Where it runs.
    site_info: Info,
}

#[test]
fn info_metrics_in_every_format() {
    let app = App::new();
    app.build_info.set(build_info!()).unwrap();
    app.site_info.set(&[("region", "eu \"west\"\n1"), ("zone", "b\\c")]).unwrap();
    assert_eq!(app.build_info.set(&[("version", "x")]), Err(InfoError::AlreadySet));
    let bad = Info::new();
    assert!(matches!(bad.set(&[("le-gal", "x")]), Err(InfoError::Invalid(_))));
    assert!(matches!(bad.set(&[("a", "x"), ("a", "y")]), Err(InfoError::Invalid(_))));
    assert!(bad.labels().is_none());

    let om = app.render_openmetrics();
    let samples = parse_openmetrics_strict(&om);
    let build = samples.iter().find(|s| s["name"] == "app_build_info").unwrap_or_else(|| panic!("{om}"));
    assert_eq!(build["type"], "info");
    assert_eq!(build["family"], "app_build");
    assert_eq!(build["value"], 1.0);
    assert_eq!(build["labels"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(build["labels"]["rustc"], metrics_runtime::RUSTC_VERSION);
    let site = samples.iter().find(|s| s["name"] == "app_site_info").unwrap();
    assert_eq!(site["labels"]["region"], "eu \"west\"\n1");

    let text = app.render_prometheus();
    promtool_check(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(text.contains("# TYPE app_build_info gauge\n"), "{text}");
    assert!(
        text.contains(&format!(
            "app_build_info{{version=\"{}\",rustc=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION"),
            metrics_runtime::RUSTC_VERSION
        )),
        "{text}"
    );
}
