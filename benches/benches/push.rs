//! What a StatsD push exporter costs the code that records: the same counter increment with no
//! exporter, with an exporter pushing to a live target, and with one whose target is down (its
//! circuit breaker open); and the batcher's `record` on each of its paths.
//!
//! Bench IDs:
//!
//! - `floor/atomic_fetch_add`: one relaxed `fetch_add` on a static, the floor of `counter/inc/*`;
//! - `counter/inc/{no_exporter,statsd_live_target,statsd_dead_target}`: `Counter::inc` on a
//!   struct that no exporter reads; that an exporter reads and pushes every 10 ms to a UDP
//!   socket on 127.0.0.1; and that an exporter reads whose target is down (breaker open);
//! - `counter/inc/{remote_write_hanging_receiver,otlp_dead_receiver}`: the same increment on a
//!   struct that an HTTP push exporter reads every 10 ms, whose receiver accepts connections and
//!   never answers (its queue full, shedding), or refuses them (retrying, breaker cycling);
//! - `batcher/record/{accepted,full_drop_newest,full_drop_oldest,full_coalesce}`: one
//!   `AsyncMetricsBatcher::record` that finds room in the queue, and one that finds it full
//!   under each backpressure policy (the target is down, so nothing drains it).
//!
//! The exporters run on a tokio runtime with one worker thread, beside the bench thread.

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use metrics_runtime::push::otlp::{self, OtlpConfig};
use metrics_runtime::push::remote_write::{self, RemoteWriteConfig};
use metrics_runtime::push::PushConfig;
use metrics_runtime::statsd::{
    BackpressurePolicy, BatcherConfig, BreakerConfig, BreakerState, Source, StatsdConfig, StatsdExporter, StatsdKey,
};
use metrics_runtime::{Counter, Metrics};

/// Read by no exporter.
#[derive(Metrics)]
#[metrics(namespace = "alone")]
struct Alone {
    /// Incremented by `counter/inc/no_exporter`.
    ops_total: Counter,
}

/// Read by an exporter whose target is up.
#[derive(Metrics)]
#[metrics(namespace = "live")]
struct Live {
    /// Incremented by `counter/inc/statsd_live_target`.
    ops_total: Counter,
}

/// Read by an exporter whose target is down.
#[derive(Metrics)]
#[metrics(namespace = "dead")]
struct Dead {
    /// Incremented by `counter/inc/statsd_dead_target`.
    ops_total: Counter,
}

/// Read by a remote-write exporter whose receiver never answers.
#[derive(Metrics)]
#[metrics(namespace = "hanging")]
struct Hanging {
    /// Incremented by `counter/inc/remote_write_hanging_receiver`.
    ops_total: Counter,
}

/// Read by an OTLP exporter whose receiver refuses connections.
#[derive(Metrics)]
#[metrics(namespace = "refused")]
struct Refused {
    /// Incremented by `counter/inc/otlp_dead_receiver`.
    ops_total: Counter,
}

static HANGING: Hanging = Hanging::new();
static REFUSED: Refused = Refused::new();
static ALONE: Alone = Alone::new();
static LIVE: Live = Live::new();
static DEAD: Dead = Dead::new();
static FLOOR: AtomicU64 = AtomicU64::new(0);
static LATENCY_MS: StatsdKey = StatsdKey::timing("bench.latency");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("build a tokio runtime")
}

/// An exporter flushing every 10 ms; the breaker opens after two failures and stays open.
fn start(rt: &tokio::runtime::Runtime, source: Source, target: SocketAddr, batcher: BatcherConfig) -> StatsdExporter {
    let config = StatsdConfig {
        target,
        flush_interval: Duration::from_millis(10),
        breaker: BreakerConfig { failure_threshold: 2, cool_down: Duration::from_secs(3600) },
        batcher,
        ..StatsdConfig::default()
    };
    rt.block_on(StatsdExporter::start(source, config)).expect("start the exporter")
}

/// Waits until the breaker is open: the target is down and the exporter has noticed.
fn wait_open(exporter: &StatsdExporter) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while exporter.breaker().state() != BreakerState::Open {
        assert!(Instant::now() < deadline, "the breaker never opened");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A UDP port on 127.0.0.1 with nothing listening.
fn dead_target() -> SocketAddr {
    std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).expect("bind 127.0.0.1:0")
}

fn floor(c: &mut Criterion) {
    c.benchmark_group("floor").bench_function("atomic_fetch_add", |b| {
        b.iter(|| {
            black_box(&FLOOR).fetch_add(1, Relaxed);
        })
    });
}

fn counter(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("counter/inc");

    g.bench_function("no_exporter", |b| b.iter(|| black_box(&ALONE).ops_total.inc()));

    // The sink receives and never reads: the kernel drops what overflows its buffer.
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a sink");
    let live = start(&rt, Source::from(&LIVE), sink.local_addr().expect("sink address"), BatcherConfig::default());
    g.bench_function("statsd_live_target", |b| b.iter(|| black_box(&LIVE).ops_total.inc()));
    assert!(live.stats().datagrams_sent_total.get() > 0, "the live exporter sent nothing");
    rt.block_on(live.shutdown());

    let dead = start(&rt, Source::from(&DEAD), dead_target(), BatcherConfig::default());
    DEAD.ops_total.inc();
    wait_open(&dead);
    g.bench_function("statsd_dead_target", |b| b.iter(|| black_box(&DEAD).ops_total.inc()));
    assert_eq!(dead.stats().datagrams_sent_total.get(), 0);
    rt.block_on(dead.shutdown());

    // A receiver that accepts connections and never reads or answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
    let url = format!("http://{}/api/v1/write", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let push = PushConfig { interval: Duration::from_millis(10), max_queued_batches: 4, ..PushConfig::default() };
    let mut config = RemoteWriteConfig::new(&url).expect("url");
    config.push = push.clone();
    let hanging = {
        let _guard = rt.enter();
        remote_write::start(&HANGING, config).expect("start")
    };
    g.bench_function("remote_write_hanging_receiver", |b| b.iter(|| black_box(&HANGING).ops_total.inc()));
    let totals = hanging.totals();
    assert!(totals.sent == 0 && totals.dropped_queue_full > 0, "the hanging receiver took something: {totals:?}");
    drop(hanging);

    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address");
    let mut config = OtlpConfig::new(&format!("http://{dead}/v1/metrics")).expect("url");
    config.push = push;
    let refused = {
        let _guard = rt.enter();
        otlp::start(&REFUSED, config).expect("start")
    };
    g.bench_function("otlp_dead_receiver", |b| b.iter(|| black_box(&REFUSED).ops_total.inc()));
    let totals = refused.totals();
    assert!(totals.sent == 0 && totals.requests_failed > 0, "the dead receiver took something: {totals:?}");
    g.finish();
}

fn batcher(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("batcher/record");

    // Room in the queue: batches of records into an empty queue, which a flush to a live sink
    // empties between batches (not timed).
    const BATCH: u64 = 4096;
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a sink");
    let exporter = start(
        &rt,
        Source::new(),
        sink.local_addr().expect("sink address"),
        BatcherConfig { capacity: BATCH as usize, ..BatcherConfig::default() },
    );
    let batcher = exporter.batcher().clone();
    g.bench_function("accepted", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(BATCH);
                rt.block_on(exporter.flush());
                let start = Instant::now();
                for i in 0..n {
                    batcher.record(&LATENCY_MS, (), black_box(i as f64));
                }
                total += start.elapsed();
                left -= n;
            }
            total
        })
    });
    assert_eq!(batcher.stats().dropped(), 0, "every record found room");
    rt.block_on(exporter.shutdown());

    // A full queue (the target is down and nothing drains it), under each policy.
    for (id, policy) in [
        ("full_drop_newest", BackpressurePolicy::DropNewest),
        ("full_drop_oldest", BackpressurePolicy::DropOldest),
        ("full_coalesce", BackpressurePolicy::Coalesce),
    ] {
        // The counter's unsent increase keeps the failing flushes coming until the breaker opens.
        let dead = start(
            &rt,
            Source::from(&DEAD),
            dead_target(),
            BatcherConfig { capacity: 1024, policy, coalesce_slots: 64 },
        );
        DEAD.ops_total.inc();
        wait_open(&dead);
        let batcher = dead.batcher().clone();
        while batcher.len() < batcher.capacity() {
            batcher.record(&LATENCY_MS, (), 1.0);
        }
        g.bench_function(id, |b| {
            let mut v = 0.0;
            b.iter(|| {
                v += 1.0;
                batcher.record(&LATENCY_MS, (), black_box(v));
            })
        });
        assert!(batcher.len() <= batcher.capacity() + batcher.coalesce_slots());
        rt.block_on(dead.shutdown());
    }
    g.finish();
}

criterion_group!(benches, floor, counter, batcher);
criterion_main!(benches);
