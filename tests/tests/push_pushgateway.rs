//! Pushgateway pushes into a real Pushgateway (Debian's `prometheus-pushgateway`): the group
//! holds exactly what was pushed, under its job and grouping labels (a value with `/` in
//! base64), passes promtool, is replaced by the next push, and is deleted at shutdown when
//! asked.

use std::time::Duration;

use metrics_runtime::push::pushgateway::{self, PushMethod, PushgatewayConfig};
use metrics_runtime::push::PushConfig;
use metrics_runtime::{Counter, Gauge, Histogram, Metrics};
use tests::{promtool_check, Pushgateway};

#[derive(Metrics)]
#[metrics(namespace = "nightly")]
struct Backup {
    /// Files copied.
    files_total: Counter,
    /// When the last run finished.
    #[metric(unit = "seconds")]
    last_success_timestamp_seconds: Gauge,
    /// Time per file.
    #[metric(unit = "seconds", buckets = [0.5])]
    file_duration_seconds: Histogram,
}

static BACKUP: Backup = Backup::new();

fn lines_of<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(name)).collect()
}

#[test]
fn a_group_is_pushed_replaced_and_deleted() {
    let gateway = Pushgateway::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _guard = runtime.enter();

    BACKUP.files_total.add(1234);
    BACKUP.last_success_timestamp_seconds.set(1.7e9);
    BACKUP.file_duration_seconds.record(0.25);
    BACKUP.file_duration_seconds.record(2.0);

    let mut config = PushgatewayConfig::new(&gateway.url, "backup").expect("config");
    config.grouping.push(("path".into(), "/var/lib/db".into()));
    config.delete_on_shutdown = true;
    config.push = PushConfig { interval: Duration::from_secs(60), ..PushConfig::default() };
    let exporter = pushgateway::start(&BACKUP, config).expect("start");

    let report = runtime.block_on(exporter.flush());
    assert_eq!(report.last_status, Some(200), "{report:?} {:?}", exporter.last_error());
    let text = gateway.scrape();
    promtool_check(&text).expect("the Pushgateway's exposition with our group passes promtool");
    assert_eq!(
        lines_of(&text, "nightly_files_total"),
        [r#"nightly_files_total{instance="",job="backup",path="/var/lib/db"} 1234"#]
    );
    assert_eq!(
        lines_of(&text, "nightly_file_duration_seconds_count"),
        [r#"nightly_file_duration_seconds_count{instance="",job="backup",path="/var/lib/db"} 2"#]
    );
    assert_eq!(
        lines_of(&text, "nightly_file_duration_seconds_bucket"),
        [
            r#"nightly_file_duration_seconds_bucket{instance="",job="backup",path="/var/lib/db",le="0.5"} 1"#,
            r#"nightly_file_duration_seconds_bucket{instance="",job="backup",path="/var/lib/db",le="+Inf"} 2"#,
        ]
    );
    assert!(text.contains(r#"push_time_seconds{instance="",job="backup",path="/var/lib/db"}"#), "{text}");
    assert!(text.contains(r#"# HELP nightly_files_total Files copied."#));

    // The next push replaces the values.
    BACKUP.files_total.add(1);
    runtime.block_on(exporter.flush());
    let text = gateway.scrape();
    assert_eq!(
        lines_of(&text, "nightly_files_total"),
        [r#"nightly_files_total{instance="",job="backup",path="/var/lib/db"} 1235"#]
    );

    // Shutdown pushes once more, then deletes the group.
    let totals = exporter.totals();
    assert_eq!((totals.sent, totals.dropped()), (totals.queued, 0), "{totals:?}");
    runtime.block_on(exporter.shutdown());
    let text = gateway.scrape();
    assert!(lines_of(&text, "nightly_").is_empty(), "the group is gone: {text}");
    assert!(!text.contains(r#"job="backup""#), "{text}");
}

#[derive(Metrics)]
#[metrics(namespace = "post")]
struct Step {
    /// Steps run.
    steps_total: Counter,
}

#[derive(Metrics)]
#[metrics(namespace = "post")]
struct OtherStep {
    /// Other steps run.
    other_steps_total: Counter,
}

static STEP: Step = Step::new();
static OTHER: OtherStep = OtherStep::new();

#[test]
fn post_replaces_only_the_names_pushed_and_a_bad_push_is_rejected_not_retried() {
    let gateway = Pushgateway::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _guard = runtime.enter();
    STEP.steps_total.add(3);
    OTHER.other_steps_total.add(4);

    let config = PushgatewayConfig::new(&gateway.url, "pipeline").expect("config");
    let first = pushgateway::start(&OTHER, config.clone()).expect("start");
    runtime.block_on(first.flush());
    let mut post = config.clone();
    post.method = PushMethod::Post;
    let second = pushgateway::start(&STEP, post).expect("start");
    runtime.block_on(second.flush());
    let text = gateway.scrape();
    assert_eq!(lines_of(&text, "post_steps_total"), [r#"post_steps_total{instance="",job="pipeline"} 3"#]);
    assert_eq!(lines_of(&text, "post_other_steps_total"), [r#"post_other_steps_total{instance="",job="pipeline"} 4"#]);

    // A name another group holds with another type: the Pushgateway refuses (400), the batch
    // is dropped and counted, and not retried.
    LAG_GAUGE.lag_seconds.set(1.0);
    LAG_HISTOGRAM.lag_seconds.record(1.0);
    let histogram = PushgatewayConfig::new(&gateway.url, "lag_histogram").expect("config");
    let ok = pushgateway::start(&LAG_HISTOGRAM, histogram).expect("start");
    assert_eq!(runtime.block_on(ok.flush()).last_status, Some(200));
    let gauge = PushgatewayConfig::new(&gateway.url, "lag_gauge").expect("config");
    let bad = pushgateway::start(&LAG_GAUGE, gauge).expect("start");
    let report = runtime.block_on(bad.flush());
    assert_eq!(report.last_status, Some(400), "{report:?} {:?}", bad.last_error());
    let totals = bad.totals();
    assert_eq!((totals.sent, totals.dropped_rejected, totals.retries), (0, totals.queued, 0), "{totals:?}");
    assert!(totals.queued > 0);
    assert!(
        bad.last_error().is_some_and(|e| e.contains("400") && e.contains("inconsistent")),
        "{:?}",
        bad.last_error()
    );
}

#[derive(Metrics)]
#[metrics(namespace = "clash")]
struct LagGauge {
    /// Lag, as a gauge.
    #[metric(unit = "seconds")]
    lag_seconds: Gauge,
}

#[derive(Metrics)]
#[metrics(namespace = "clash")]
struct LagHistogram {
    /// Lag, as a histogram.
    #[metric(unit = "seconds")]
    lag_seconds: Histogram,
}

static LAG_GAUGE: LagGauge = LagGauge::new();
static LAG_HISTOGRAM: LagHistogram = LagHistogram::new();
