//! Scrape-time callback fields: the function runs at each read, once per series, in every
//! format (promtool, the strict OpenMetrics parser) and push path; a read never calls it twice
//! per series, and nothing is exposed before it is set.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::SystemTime;

use metrics_runtime::push::remote_write::{RemoteWriteConfig, RemoteWriteEncoder};
use metrics_runtime::push::Source;
use metrics_runtime::{CallbackCounter, CallbackGauge, Metrics, Tag};
use tests::{parse_openmetrics_strict, promtool_check};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "pool", rename_all = "lowercase")]
enum Pool {
    Read,
    Write,
}

#[derive(Metrics)]
#[metrics(namespace = "db")]
struct Db {
    /// Idle connections, by pool.
    idle_connections: CallbackGauge<Pool>,
    /// Bytes the driver sent.
    #[metric(unit = "bytes")]
    sent_bytes_total: CallbackCounter,
}

static DB: Db = Db::new();

#[test]
fn callbacks_run_at_each_read_in_every_format() {
    assert!(!DB.render_prometheus().contains("db_idle_connections{"), "nothing before the function is set");
    let calls = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&calls);
    DB.idle_connections
        .set(move |pool| {
            counted.fetch_add(1, Relaxed);
            match pool {
                Pool::Read => 4.0,
                Pool::Write => 1.0,
            }
        })
        .unwrap();
    let bytes = Arc::clone(&sent);
    DB.sent_bytes_total.set(move |()| bytes.load(Relaxed) as f64).unwrap();

    sent.store(1_000, Relaxed);
    let text = DB.render_prometheus();
    assert_eq!(calls.load(Relaxed), 2, "one call per series per read");
    promtool_check(&text).expect("promtool accepts callback metrics");
    assert!(text.contains("db_idle_connections{pool=\"read\"} 4"), "{text}");
    assert!(text.contains("# TYPE db_sent_bytes_total counter\ndb_sent_bytes_total 1000\n"), "{text}");

    sent.store(1_500, Relaxed);
    let om = DB.render_openmetrics();
    let samples = parse_openmetrics_strict(&om);
    let sent_sample = samples.iter().find(|s| s["name"] == "db_sent_bytes_total").unwrap_or_else(|| panic!("{om}"));
    assert_eq!(sent_sample["value"].as_f64(), Some(1500.0));

    let mut encoder =
        RemoteWriteEncoder::new(&RemoteWriteConfig::new("http://127.0.0.1:9090/api/v1/write").unwrap()).unwrap();
    let (_, samples) = encoder.encode(&Source::from(&DB), SystemTime::now());
    assert_eq!(samples, 3);
    assert_eq!(calls.load(Relaxed), 6);
}
