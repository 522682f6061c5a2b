//! The StatsD push exporter against a real StatsD server (Etsy `statsd` on node, installed by
//! `scripts/install-tools.sh`), and with the target down: totals arrive exact, the breaker opens,
//! half-opens and closes, and the batcher stays within its fixed bounds.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, DynCounter, DynHistogram};
use metrics_runtime::statsd::{
    AsyncMetricsBatcher, BackpressurePolicy, BatcherConfig, BreakerConfig, BreakerState, FlushReport, FlushResult,
    MetricCircuitBreaker, Source, StatsdConfig, StatsdExporter, StatsdKey, StatsdStats,
};
use metrics_runtime::{Counter, Gauge, Histogram, Metrics, Summary, Tag, TagSet};
use serde_json::Value;

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "method", rename_all = "UPPERCASE")]
enum Method {
    Get,
    Post,
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    #[tag(value = "2xx")]
    Ok,
    #[tag(value = "5xx")]
    Error,
}

#[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
struct Http {
    method: Method,
    status: Status,
}

const HTTP: [Http; 4] = [
    Http { method: Method::Get, status: Status::Ok },
    Http { method: Method::Get, status: Status::Error },
    Http { method: Method::Post, status: Status::Ok },
    Http { method: Method::Post, status: Status::Error },
];

#[derive(Metrics)]
#[metrics(namespace = "app")]
struct App {
    /// Requests served.
    requests_total: Counter<Http>,
    /// Jobs waiting.
    queue_depth: Gauge<Method>,
    /// Request latency.
    #[metric(unit = "seconds", buckets = [0.01, 0.1, 1.0])]
    latency_seconds: Histogram<Method>,
    /// Payload sizes.
    #[metric(unit = "bytes")]
    payload_bytes: Summary,
}

/// A fresh metrics struct per test: the tests of this file run in parallel.
fn app() -> &'static App {
    Box::leak(Box::new(App::new()))
}

static CHECKOUT_MS: StatsdKey<Method> = StatsdKey::timing("app.checkout");
static SAMPLED_MS: StatsdKey = StatsdKey::timing("app.sampled");

/// A UDP port on 127.0.0.1 with nothing listening (free a moment ago).
fn dead_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).expect("bind 127.0.0.1:0").port()
}

/// Polls `f` until it returns `Some`, failing after `limit`.
async fn eventually<T>(what: &str, limit: Duration, f: impl FnMut() -> Option<T>) -> T {
    match within(limit, f).await {
        Some(v) => v,
        None => panic!("timed out waiting for {what}"),
    }
}

/// Polls `f` until it returns `Some`, or `None` after `limit`.
async fn within<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ----------------------------------------------------------------------------------------------
// A real StatsD server.

/// A backend that appends every flush's aggregates to a file, one JSON object a line.
const BACKEND_JS: &str = r#"
const fs = require('fs');
exports.init = function (startupTime, config, events) {
  events.on('flush', function (timestamp, metrics) {
    fs.appendFileSync(config.flushFile, JSON.stringify({
      counters: metrics.counters,
      gauges: metrics.gauges,
      timers: metrics.timers,
      timer_counters: metrics.timer_counters,
    }) + "\n");
  });
  return true;
};
"#;

/// Etsy StatsD on 127.0.0.1:`port`, flushing every 100 ms to a file; killed on drop.
struct StatsdServer {
    child: Child,
    dir: PathBuf,
    flushes: PathBuf,
}

impl StatsdServer {
    fn start(port: u16) -> Self {
        let statsd_dir = std::env::var_os("STATSD_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| tests::workspace_root().join("target").join("statsd-server"));
        let stats_js = statsd_dir.join("node_modules").join("statsd").join("stats.js");
        assert!(
            stats_js.is_file(),
            "StatsD is not installed at {}; run `scripts/install-tools.sh`",
            stats_js.display()
        );
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let dir = std::env::temp_dir().join(format!("metrics-runtime-statsd-{}-{port}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let backend = dir.join("file-backend.js");
        std::fs::write(&backend, BACKEND_JS).expect("write backend");
        let flushes = dir.join("flushes.jsonl");
        let config = serde_json::json!({
            "address": "127.0.0.1",
            "port": port,
            "mgmt_address": "127.0.0.1",
            "mgmt_port": tests::free_port(),
            "flushInterval": 100,
            "backends": [backend],
            "flushFile": flushes,
        });
        let config_path = dir.join("config.js");
        std::fs::write(&config_path, config.to_string()).expect("write config");
        let child = Command::new(tests::tool("node"))
            .arg(&stats_js)
            .arg(&config_path)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start statsd");
        Self { child, dir, flushes }
    }

    /// Every flush so far.
    fn flushes(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.flushes)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits for the first flush: the server is up (it binds its port before that).
    async fn wait_ready(&self) {
        eventually("the first StatsD flush", Duration::from_secs(20), || (!self.flushes().is_empty()).then_some(()))
            .await;
    }

    /// Counter totals and timer counts summed over all flushes, and the last gauge values.
    fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for flush in self.flushes() {
            for (section, into) in [("counters", &mut t.counters), ("timer_counters", &mut t.timer_counts)] {
                for (k, v) in flush[section].as_object().into_iter().flatten() {
                    *into.entry(k.clone()).or_default() += v.as_f64().unwrap_or(0.0);
                }
            }
            for (k, v) in flush["gauges"].as_object().into_iter().flatten() {
                t.gauges.insert(k.clone(), v.as_f64().unwrap_or(f64::NAN));
            }
            for (k, v) in flush["timers"].as_object().into_iter().flatten() {
                let values = t.timer_values.entry(k.clone()).or_default();
                values.extend(v.as_array().into_iter().flatten().filter_map(Value::as_f64));
            }
        }
        t
    }
}

impl Drop for StatsdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Debug, Default)]
struct Totals {
    counters: HashMap<String, f64>,
    timer_counts: HashMap<String, f64>,
    gauges: HashMap<String, f64>,
    timer_values: HashMap<String, Vec<f64>>,
}

impl Totals {
    fn counter(&self, key: &str) -> f64 {
        self.counters.get(key).copied().unwrap_or(0.0)
    }

    fn timer_count(&self, key: &str) -> f64 {
        self.timer_counts.get(key).copied().unwrap_or(0.0)
    }
}

/// StatsD's key for a DogStatsD-tagged line: `name;tag=value;...`.
fn key(name: &str, tags: &[(&str, &str)]) -> String {
    tags.iter().fold(name.to_owned(), |k, (t, v)| format!("{k};{t}={v}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

// ----------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_pushed_to_a_real_statsd_equal_what_was_recorded() {
    let port = dead_udp_port();
    let server = StatsdServer::start(port);
    server.wait_ready().await;

    // Small enough that even all records in one flush (about 110 KB of lines) fit in the
    // server's socket buffer.
    const PER_THREAD: usize = 1_000;
    let m = app();
    let config = StatsdConfig {
        target: ([127, 0, 0, 1], port).into(),
        flush_interval: Duration::from_millis(20),
        max_datagram_bytes: 8192,
        batcher: BatcherConfig { capacity: 1 << 16, ..BatcherConfig::default() },
        ..StatsdConfig::default()
    };
    let exporter = StatsdExporter::start(m, config).await.unwrap();
    let batcher = exporter.batcher().clone();

    // Four threads record while the exporter flushes every 20 ms.
    let threads: Vec<_> = (0..4usize)
        .map(|t| {
            let batcher = batcher.clone();
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    m.requests_total.with(HTTP[(t + i) % 4]).inc();
                    let method = if i % 3 == 0 { Method::Post } else { Method::Get };
                    m.latency_seconds.with(method).record([0.005, 0.05, 0.5, 5.0][i % 4]);
                    batcher.record(&CHECKOUT_MS, method, (i % 50) as f64);
                    // Paced: a burst of datagrams larger than the server's socket buffer would
                    // be dropped by the kernel before StatsD reads it.
                    if i % 10 == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for i in 0..100 {
        m.payload_bytes.record(f64::from(i));
    }
    m.queue_depth.with(Method::Get).set(7.0);
    m.queue_depth.with(Method::Post).set(-3.5);
    for _ in 0..10 {
        batcher.record_sampled(&SAMPLED_MS, (), 1.0, 0.25);
    }

    // `shutdown` flushes what is left (unless a timed flush just did), then stops.
    let last = exporter.shutdown().await;
    assert!(matches!(last.result, FlushResult::Sent | FlushResult::Unchanged), "{last:?}");
    assert_eq!(batcher.stats().dropped(), 0);
    assert_eq!(batcher.stats().records_sent_total.get(), 4 * PER_THREAD as u64 + 10);
    assert_eq!(batcher.stats().send_errors_total.get(), 0);
    assert!(batcher.is_empty());

    let expected_requests = PER_THREAD as f64;
    let all = 4.0 * PER_THREAD as f64;
    let get_latencies = (0..PER_THREAD).filter(|i| i % 3 != 0).count() as f64 * 4.0;
    let totals = within(Duration::from_secs(10), || {
        let t = server.totals();
        let done = HTTP.iter().all(|h| {
            close(
                t.counter(&key("app_requests_total", &[("method", h.method.as_str()), ("status", h.status.as_str())])),
                expected_requests,
            )
        }) && close(t.timer_count(&key("app.checkout", &[("method", "GET")])), get_latencies)
            && t.gauges.get(&key("app_queue_depth", &[("method", "POST")])) == Some(&-3.5)
            && t.timer_count("app.sampled") > 0.0;
        done.then_some(t)
    })
    .await
    .unwrap_or_else(|| panic!("StatsD totals never matched what was recorded: {:#?}", server.totals()));

    // Counters: exact totals per tag combination, from deltas.
    for h in HTTP {
        let k = key("app_requests_total", &[("method", h.method.as_str()), ("status", h.status.as_str())]);
        assert_eq!(totals.counter(&k), expected_requests, "{k}");
    }
    // Gauges: the last value, negative ones included.
    assert_eq!(totals.gauges[&key("app_queue_depth", &[("method", "GET")])], 7.0);
    assert_eq!(totals.gauges[&key("app_queue_depth", &[("method", "POST")])], -3.5);
    // Histogram: reconstructed records, counted exactly through `@rate`, at the bucket bounds in ms.
    let get = key("app_latency_seconds", &[("method", "GET")]);
    let post = key("app_latency_seconds", &[("method", "POST")]);
    assert!(close(totals.timer_count(&get), get_latencies), "{}", totals.timer_count(&get));
    assert!(close(totals.timer_count(&post), all - get_latencies));
    for v in &totals.timer_values[&get] {
        assert!([10.0, 100.0, 1000.0].contains(v), "{v}");
    }
    // Summary: count and sum as counters.
    assert_eq!(totals.counter("app_payload_bytes.count"), 100.0);
    assert_eq!(totals.counter("app_payload_bytes.sum"), 4950.0);
    // Batcher records: every one counted, sampled ones scaled back up.
    let checkout_post = key("app.checkout", &[("method", "POST")]);
    assert_eq!(totals.timer_count(&key("app.checkout", &[("method", "GET")])), get_latencies);
    assert_eq!(totals.timer_count(&checkout_post), all - get_latencies);
    assert_eq!(totals.timer_values[&checkout_post].len() as f64, all - get_latencies);
    assert_eq!(totals.timer_count("app.sampled"), 40.0);
    // The exporter's own metrics ride along, and StatsD understood every line.
    assert!(totals.counter("statsd_datagrams_sent_total") > 0.0, "{:?}", totals.counters.keys());
    assert_eq!(totals.counter("statsd.bad_lines_seen"), 0.0);
    // And the push pipeline's metrics count StatsD like every other exporter (other tests of
    // this binary add to them too: at least).
    use metrics_runtime::push::{ExporterKind, ExporterOutcome, RequestOutcome, PUSH_STATS};
    assert!(PUSH_STATS.points_sent_total.with(ExporterKind::Statsd).get() >= 200);
    let ok = ExporterOutcome { exporter: ExporterKind::Statsd, outcome: RequestOutcome::Success };
    assert!(PUSH_STATS.requests_total.with(ok).get() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagrams_are_packed_up_to_the_limit_and_idle_flushes_send_nothing() {
    let receiver = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let m = app();
    let config = StatsdConfig {
        target: receiver.local_addr().unwrap(),
        flush_interval: Duration::from_secs(3600),
        max_datagram_bytes: 120,
        push_own_stats: false,
        ..StatsdConfig::default()
    };
    let exporter = StatsdExporter::start(Source::new().with(m), config).await.unwrap();
    for h in HTTP {
        m.requests_total.with(h).add(3);
    }
    exporter.batcher().record_sampled(&SAMPLED_MS, (), 2.5, 0.25);

    let report = exporter.flush().await;
    assert_eq!(report.result, FlushResult::Sent);
    // 4 counter lines, 2 gauges at 0 (sent once), the record.
    assert_eq!((report.lines, report.records), (6, 1), "{report:?}");
    let mut lines = Vec::new();
    let mut buf = [0u8; 2048];
    for _ in 0..report.datagrams {
        let n = receiver.recv(&mut buf).await.unwrap();
        assert!(n <= 120, "datagram of {n} bytes");
        lines.extend(std::str::from_utf8(&buf[..n]).unwrap().lines().map(str::to_owned));
    }
    assert!(report.datagrams >= 3, "{report:?}");
    assert_eq!(
        lines,
        [
            "app_requests_total:3|c|#method:GET,status:2xx",
            "app_requests_total:3|c|#method:GET,status:5xx",
            "app_requests_total:3|c|#method:POST,status:2xx",
            "app_requests_total:3|c|#method:POST,status:5xx",
            "app_queue_depth:0|g|#method:GET",
            "app_queue_depth:0|g|#method:POST",
            "app.sampled:2.5|ms|@0.25",
        ]
    );

    // Nothing changed: nothing is sent (and nothing is waiting on the socket).
    let idle = exporter.flush().await;
    assert_eq!((idle.result, idle.datagrams), (FlushResult::Unchanged, 0));
    assert!(receiver.try_recv(&mut buf).is_err());
    // One change: one line.
    m.requests_total.with(HTTP[0]).inc();
    assert_eq!(exporter.flush().await.lines, 1);
    let n = receiver.recv(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"app_requests_total:1|c|#method:GET,status:2xx");
    assert_eq!(exporter.stats().flushes_total.with(FlushResult::Unchanged).get(), 1);

    // `shutdown` flushes once more, then stops: the batcher is no longer drained.
    m.requests_total.with(HTTP[3]).inc();
    let batcher = exporter.batcher().clone();
    let last = exporter.shutdown().await;
    assert_eq!((last.result, last.lines, last.datagrams), (FlushResult::Sent, 1, 1));
    let n = receiver.recv(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"app_requests_total:1|c|#method:POST,status:5xx");
    batcher.record(&SAMPLED_MS, (), 1.0);
    assert_eq!(batcher.len(), 1);
}

/// With nothing listening, the breaker opens after `failure_threshold` failed flushes; then a
/// million records and a million increments cost no network and no memory: the batcher stays
/// at its fixed capacity and counts what its policy dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_down_opens_the_breaker_and_memory_stays_flat() {
    const RECORDS: usize = 1_000_000;
    const CAPACITY: usize = 1024;
    for policy in [BackpressurePolicy::DropNewest, BackpressurePolicy::DropOldest, BackpressurePolicy::Coalesce] {
        let m = app();
        let config = StatsdConfig {
            target: ([127, 0, 0, 1], dead_udp_port()).into(),
            flush_interval: Duration::from_millis(5),
            breaker: BreakerConfig { failure_threshold: 2, cool_down: Duration::from_secs(3600) },
            batcher: BatcherConfig { capacity: CAPACITY, policy, coalesce_slots: 64 },
            ..StatsdConfig::default()
        };
        let exporter = StatsdExporter::start(m, config).await.unwrap();
        let stats: &StatsdStats = exporter.stats();
        m.requests_total.with(HTTP[0]).inc();
        eventually("the breaker to open", Duration::from_secs(10), || {
            (exporter.breaker().state() == BreakerState::Open
                && stats.flushes_total.with(FlushResult::BreakerOpen).get() > 0)
                .then_some(())
        })
        .await;
        assert_eq!(stats.datagrams_sent_total.get(), 0, "every send was refused");
        assert_eq!(stats.send_errors_total.get(), 2);
        assert_eq!(stats.flushes_total.with(FlushResult::Failed).get(), 2);
        assert_eq!(stats.breaker_opened_total.get(), 1);
        assert_eq!(stats.breaker_state.get(), 1.0);

        let batcher = exporter.batcher();
        let bound = batcher.capacity() + batcher.coalesce_slots();
        let mut peak = 0;
        for i in 0..RECORDS {
            m.requests_total.with(HTTP[i % 4]).inc();
            batcher.record(&CHECKOUT_MS, if i % 2 == 0 { Method::Get } else { Method::Post }, (i % 100) as f64);
            if i % 100_000 == 0 {
                peak = peak.max(batcher.len());
            }
        }
        peak = peak.max(batcher.len());
        assert!(peak <= bound, "{policy:?}: {peak} records held, bound {bound}");
        let len = batcher.len();
        let kept = match policy {
            BackpressurePolicy::Coalesce => {
                // The two series overflow into two coalescing slots: nothing is lost, every
                // record is counted in a held record's weight.
                assert_eq!(len, CAPACITY + 2);
                assert_eq!(stats.coalesced_total.get(), (RECORDS - CAPACITY) as u64);
                0
            }
            _ => {
                assert_eq!(len, CAPACITY, "{policy:?}");
                (RECORDS - CAPACITY) as u64
            }
        };
        assert_eq!(stats.dropped_total.with(policy).get(), kept, "{policy:?}");
        assert_eq!(stats.dropped(), kept, "{policy:?}");
        // No flush touched the network or the queue while open.
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(stats.datagrams_sent_total.get(), 0);
        assert_eq!(stats.send_errors_total.get(), 2);
        assert_eq!(batcher.len(), len);
        assert_eq!(stats.breaker_opened_total.get(), 1);
        let last = exporter.shutdown().await;
        assert_eq!(last.result, FlushResult::BreakerOpen);
    }
    // The pipeline's metrics saw the drops and the failed sends (at least these).
    use metrics_runtime::push::{DropReason, ExporterDrop, ExporterKind, ExporterOutcome, RequestOutcome, PUSH_STATS};
    let full = ExporterDrop { exporter: ExporterKind::Statsd, reason: DropReason::QueueFull };
    assert!(PUSH_STATS.points_dropped_total.with(full).get() >= 2 * (RECORDS - CAPACITY) as u64);
    let failed = ExporterOutcome { exporter: ExporterKind::Statsd, outcome: RequestOutcome::Error };
    assert!(PUSH_STATS.requests_total.with(failed).get() >= 6);
}

/// The server comes up after the exporter: the breaker opens, a half-open probe fails while the
/// server is still down, and the first probe after it is up closes the breaker. Counter
/// increases held back meanwhile arrive whole, and coalesced records keep their count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_half_opens_and_closes_when_the_server_comes_up() {
    let port = dead_udp_port();
    let m = app();
    let config = StatsdConfig {
        target: ([127, 0, 0, 1], port).into(),
        flush_interval: Duration::from_millis(10),
        breaker: BreakerConfig { failure_threshold: 2, cool_down: Duration::from_millis(100) },
        batcher: BatcherConfig { capacity: 64, policy: BackpressurePolicy::Coalesce, coalesce_slots: 64 },
        push_own_stats: false,
        ..StatsdConfig::default()
    };
    let exporter = StatsdExporter::start(m, config).await.unwrap();
    let stats = exporter.stats();
    m.requests_total.with(HTTP[1]).add(1000);
    eventually("the breaker to open", Duration::from_secs(10), || {
        (exporter.breaker().state() == BreakerState::Open).then_some(())
    })
    .await;
    // Records made while the target is down wait in the batcher; beyond its capacity they are
    // coalesced.
    for i in 0..5_000 {
        exporter.batcher().record(&CHECKOUT_MS, Method::Post, f64::from(i % 7));
    }
    assert_eq!(exporter.batcher().len(), 64 + 1);
    // A probe fails while the server is still down: open again.
    eventually("a failed probe", Duration::from_secs(10), || (exporter.breaker().times_opened() >= 2).then_some(()))
        .await;
    assert_eq!(stats.records_lost_total.get(), 0, "probes carry no records");

    let server = StatsdServer::start(port);
    server.wait_ready().await;
    eventually("the breaker to close", Duration::from_secs(10), || {
        (exporter.breaker().state() == BreakerState::Closed && exporter.batcher().is_empty()).then_some(())
    })
    .await;
    m.requests_total.with(HTTP[1]).add(500);
    exporter.batcher().record(&CHECKOUT_MS, Method::Post, 1.0);

    let want = key("app_requests_total", &[("method", "GET"), ("status", "5xx")]);
    let checkout = key("app.checkout", &[("method", "POST")]);
    let totals = eventually("the totals to arrive", Duration::from_secs(10), || {
        let t = server.totals();
        (t.counter(&want) == 1500.0 && close(t.timer_count(&checkout), 5_001.0)).then_some(t)
    })
    .await;
    assert_eq!(totals.counter("statsd.bad_lines_seen"), 0.0);
    assert_eq!(stats.dropped(), 0);
    assert_eq!(stats.records_lost_total.get(), 0);
    assert!(stats.flushes_total.with(FlushResult::Failed).get() >= 3, "two to open, one failed probe");
    let report: FlushReport = exporter.shutdown().await;
    assert_ne!(report.result, FlushResult::Failed);
}

/// What a test recorded into a [`BoundedRegistry`], per tenant: the counter's total and the
/// number of histogram records.
#[derive(Default)]
struct Recorded {
    hits: HashMap<String, u64>,
    latencies: HashMap<String, u64>,
}

impl Recorded {
    fn hit(&mut self, hits: &DynCounter, tenant: &str, n: u64) {
        hits.add(&[tenant], n).unwrap();
        *self.hits.entry(tenant.to_owned()).or_default() += n;
    }

    fn latency(&mut self, latency: &DynHistogram, tenant: &str, seconds: f64) {
        latency.record(&[tenant], seconds).unwrap();
        *self.latencies.entry(tenant.to_owned()).or_default() += 1;
    }
}

/// A [`BoundedRegistry`] whose series come and go between flushes: new tenants appear (many, so
/// that its hash map lists the series in another order), idle series that were exported get
/// evicted, then some come back. Every series' total at a real StatsD server is exactly what
/// was recorded into it, and no flush ever carries more than a series' whole total (a delta
/// taken from another series, or a wrapped-around one, would).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_registry_series_that_come_and_go_keep_exact_totals_at_a_real_statsd() {
    const IDLE: Duration = Duration::from_millis(300);
    let port = dead_udp_port();
    let server = StatsdServer::start(port);
    server.wait_ready().await;

    let registry =
        Arc::new(BoundedRegistry::new(BoundedConfig { idle_timeout: Some(IDLE), ..BoundedConfig::default() }));
    let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    let latency =
        registry.histogram("tenant_latency_seconds", "Latency, by tenant.", &["tenant"], &[0.1, 1.0]).unwrap();
    let config = StatsdConfig {
        target: ([127, 0, 0, 1], port).into(),
        // Only the flushes below: each one sees exactly the series of its phase.
        flush_interval: Duration::from_secs(3600),
        push_own_stats: false,
        ..StatsdConfig::default()
    };
    let source = Source::new().with_arc(Arc::clone(&registry) as Arc<dyn Metrics>);
    let exporter = StatsdExporter::start(source, config).await.unwrap();
    let mut recorded = Recorded::default();
    let flush = || async {
        let report = exporter.flush().await;
        assert_eq!(report.result, FlushResult::Sent, "{report:?}");
    };

    // Eviction runs at `maintain`, which every flush runs after its read. A series is
    // only recorded into when the last flush found it updated (so it cannot have been evicted
    // since) or found it gone: one evicted and re-created between two flushes that both find it
    // cannot be told from the old one by the exporter.
    // Kept tenants: a handle held by the application keeps a series from eviction.
    let kept: Vec<String> = (0..5).map(|i| format!("kept{i}")).collect();
    let handles: Vec<_> = kept.iter().map(|t| hits.with(&[t]).unwrap()).collect();
    let bump_kept = |recorded: &mut Recorded, n: u64| {
        for (t, h) in kept.iter().zip(&handles) {
            h.add(n);
            *recorded.hits.entry(t.clone()).or_default() += n;
        }
    };
    let evicted: Vec<String> = (0..60).map(|i| format!("ev{i}")).collect();
    let new: Vec<String> = (0..200).map(|i| format!("new{i}")).collect();
    let late: Vec<String> = (0..50).map(|i| format!("late{i}")).collect();

    // 1: the tenants that will be evicted, with large totals.
    bump_kept(&mut recorded, 7);
    for (i, t) in evicted.iter().enumerate() {
        recorded.hit(&hits, t, 1000 + i as u64);
        recorded.latency(&latency, t, [0.05, 0.5, 5.0][i % 3]);
    }
    flush().await;
    // 2: many new tenants, listed among the others in another order.
    bump_kept(&mut recorded, 3);
    for (i, t) in new.iter().enumerate() {
        recorded.hit(&hits, t, 1 + i as u64 % 7);
    }
    flush().await;
    // Maintenance notes what was updated, then evicts what had no update for `IDLE`: everything
    // but the kept tenants (held handles). (The exporter runs it too, at most once a minute.)
    registry.maintain();
    tokio::time::sleep(IDLE + Duration::from_millis(100)).await;
    registry.maintain();
    assert_eq!(registry.series_count(), kept.len());
    // 3: a flush without the evicted series; new ones again.
    bump_kept(&mut recorded, 1);
    for t in &late {
        recorded.hit(&hits, t, 2);
    }
    flush().await;
    // 4: half of the evicted tenants come back, some above and some below their old totals, with
    // a few of the new ones; the late ones count on.
    bump_kept(&mut recorded, 5);
    for (i, t) in evicted.iter().enumerate().step_by(2) {
        recorded.hit(&hits, t, if i % 4 == 0 { 5000 } else { 3 });
        recorded.latency(&latency, t, 0.05);
    }
    for t in new.iter().step_by(10) {
        recorded.hit(&hits, t, 11);
    }
    for t in &late {
        recorded.hit(&hits, t, 1);
    }
    flush().await;
    // 5: the ones that came back count on.
    for t in evicted.iter().step_by(2) {
        recorded.hit(&hits, t, 1);
        recorded.latency(&latency, t, 0.5);
    }
    flush().await;
    let stats = Arc::clone(exporter.stats());
    exporter.shutdown().await;
    assert_eq!(stats.send_errors_total.get(), 0);

    let hit_key = |t: &str| key("tenant_hits_total", &[("tenant", t)]);
    let latency_key = |t: &str| key("tenant_latency_seconds", &[("tenant", t)]);
    let matches = |t: &Totals| {
        recorded.hits.iter().all(|(tenant, n)| t.counter(&hit_key(tenant)) == *n as f64)
            && recorded.latencies.iter().all(|(tenant, n)| close(t.timer_count(&latency_key(tenant)), *n as f64))
    };
    let totals = within(Duration::from_secs(10), || Some(server.totals()).filter(matches)).await;
    let totals = totals.unwrap_or_else(|| server.totals());
    let mut wrong = Vec::new();
    for (tenant, n) in &recorded.hits {
        let got = totals.counter(&hit_key(tenant));
        if got != *n as f64 {
            wrong.push(format!("{tenant}: {got} at the server, {n} recorded"));
        }
    }
    for (tenant, n) in &recorded.latencies {
        let got = totals.timer_count(&latency_key(tenant));
        if !close(got, *n as f64) {
            wrong.push(format!("{tenant} latencies: {got} at the server, {n} recorded"));
        }
    }
    wrong.sort();
    assert!(wrong.is_empty(), "{} series wrong: {wrong:#?}", wrong.len());
    // No series the test did not record into, and in no flush more than a series' total.
    for flush in server.flushes() {
        for (k, v) in flush["counters"].as_object().into_iter().flatten() {
            let Some(tenant) = k.strip_prefix("tenant_hits_total;tenant=") else { continue };
            let v = v.as_f64().unwrap_or(f64::NAN);
            assert!(recorded.hits.get(tenant).is_some_and(|n| (0.0..=*n as f64).contains(&v)), "{k}: {v}");
        }
    }
    assert_eq!(totals.counter("statsd.bad_lines_seen"), 0.0);
}

/// The breaker on its own, as any push path would use it.
#[test]
fn breaker_guards_any_push_path() {
    let breaker =
        MetricCircuitBreaker::new(BreakerConfig { failure_threshold: 3, cool_down: Duration::from_millis(30) });
    // One push: `Some(outcome)` when the breaker let it through.
    let push = |ok: bool| {
        breaker.try_acquire().then(|| {
            if ok {
                breaker.record_success();
            } else {
                breaker.record_failure();
            }
        })
    };
    let pushed = (0..100).filter_map(|_| push(false)).count();
    assert_eq!(pushed, 3, "the breaker opened at the threshold");
    assert_eq!(breaker.state(), BreakerState::Open);
    std::thread::sleep(Duration::from_millis(35));
    assert!(push(true).is_some(), "the probe");
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[test]
fn public_types_are_send_and_sync() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<AsyncMetricsBatcher>();
    is_send_sync::<StatsdExporter>();
    is_send_sync::<MetricCircuitBreaker>();
    is_send_sync::<StatsdStats>();
    is_send_sync::<StatsdKey<Method>>();
    is_send_sync::<Source>();
    is_send_sync::<StatsdConfig>();
    is_send_sync::<FlushReport>();
}
