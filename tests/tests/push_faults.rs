//! The push pipeline against receivers that fail: down, slow (5 s per request), answering 500,
//! 429 with `Retry-After`, and 400. A real HTTP server (hyper) plays the receiver and decodes
//! what it accepts (snappy + the remote-write protos). Every point is either delivered or
//! counted as dropped, the cumulative totals are exact once the receiver recovers, and memory
//! stays bounded while it is down (a counting allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use metrics_runtime::push::otlp::{self, OtlpConfig};
use metrics_runtime::push::proto::prometheus::WriteRequest;
use metrics_runtime::push::remote_write::{self, RemoteWriteConfig};
use metrics_runtime::push::{Backoff, BackpressureConfig, BreakerConfig, PushConfig, PushExporter};
use metrics_runtime::{Counter, Metrics};
use prost::Message;

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = LIVE.try_with(|l| l.set(l.get() + delta));
}

fn live() -> isize {
    LIVE.with(Cell::get)
}

// SAFETY: delegates to `System`, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// 204 (remote write) or 200 (OTLP), keeping what it got.
    Ok,
    /// This status (with `Retry-After` when given).
    Status(u16, Option<u64>),
    /// 204 after this long.
    Slow(Duration),
}

#[derive(Debug, Default)]
struct Seen {
    /// When each request arrived, and the status it got.
    requests: Vec<(Instant, u16)>,
    /// The last value of each accepted sample series, by `__name__`.
    last: std::collections::HashMap<String, f64>,
    /// Accepted samples.
    samples: u64,
}

struct Receiver {
    url: String,
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Seen>>,
}

impl Receiver {
    /// Serves on a fresh port of 127.0.0.1 on the current runtime.
    async fn start(mode: Mode) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/api/v1/write", listener.local_addr().expect("addr"));
        let (mode, seen) = (Arc::new(Mutex::new(mode)), Arc::new(Mutex::new(Seen::default())));
        let (m, s) = (Arc::clone(&mode), Arc::clone(&seen));
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (m, s) = (Arc::clone(&m), Arc::clone(&s));
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| answer(req, Arc::clone(&m), Arc::clone(&s)));
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        Self { url, mode, seen }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn last(&self, name: &str) -> Option<f64> {
        self.seen.lock().unwrap().last.get(name).copied()
    }

    fn requests(&self) -> Vec<(Instant, u16)> {
        self.seen.lock().unwrap().requests.clone()
    }
}

async fn answer(
    req: Request<Incoming>,
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Seen>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let arrived = Instant::now();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mode = *mode.lock().unwrap();
    let status = match mode {
        Mode::Ok => 204,
        Mode::Slow(d) => {
            tokio::time::sleep(d).await;
            204
        }
        Mode::Status(s, _) => s,
    };
    if status == 204 {
        let raw = snap::raw::Decoder::new().decompress_vec(&body).expect("snappy");
        let request = WriteRequest::decode(raw.as_slice()).expect("a WriteRequest");
        let mut seen = seen.lock().unwrap();
        for series in &request.timeseries {
            let name = series.labels.iter().find(|l| l.name == "__name__").map(|l| l.value.clone()).unwrap_or_default();
            for sample in &series.samples {
                seen.last.insert(name.clone(), sample.value);
                seen.samples += 1;
            }
        }
    }
    seen.lock().unwrap().requests.push((arrived, status));
    let mut response = Response::builder().status(StatusCode::from_u16(status).unwrap());
    if let Mode::Status(_, Some(after)) = mode {
        response = response.header("Retry-After", after.to_string());
    }
    Ok(response.body(Full::new(Bytes::from_static(b"test receiver"))).unwrap())
}

fn config(interval_ms: u64) -> PushConfig {
    PushConfig {
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_secs(10),
        max_queued_batches: 64,
        backoff: Backoff { initial: Duration::from_millis(20), max: Duration::from_millis(100), ..Backoff::default() },
        breaker: BreakerConfig { failure_threshold: 3, cool_down: Duration::from_millis(50) },
        backpressure: BackpressureConfig { max_widen: 1, ..BackpressureConfig::default() },
        ..PushConfig::default()
    }
}

fn remote(url: &str, push: PushConfig, metrics: &'static dyn Metrics) -> PushExporter {
    let mut config = RemoteWriteConfig::new(url).expect("url");
    config.push = push;
    remote_write::start(metrics_runtime::push::Source::new().with(metrics), config).expect("start")
}

/// Waits until nothing waits to be sent.
async fn drained(exporter: &PushExporter, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while exporter.totals().waiting > 0 {
        assert!(Instant::now() < deadline, "not drained: {:?} {:?}", exporter.totals(), exporter.last_error());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn invariant(exporter: &PushExporter) {
    let t = exporter.totals();
    assert_eq!(t.queued, t.sent + t.dropped() + t.waiting, "every point is sent, waiting or dropped: {t:?}");
}

#[derive(Metrics)]
#[metrics(namespace = "fault_500")]
struct F500 {
    /// Events.
    events_total: Counter,
}
static F500: F500 = F500::new();

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_500_are_retried_and_the_totals_are_exact_after_recovery() {
    let receiver = Receiver::start(Mode::Status(500, None)).await;
    let exporter = remote(&receiver.url, config(50), &F500);
    for _ in 0..20 {
        F500.events_total.inc();
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let failing = exporter.totals();
    assert!(failing.retries > 0 && failing.sent == 0, "{failing:?}");
    assert!(receiver.requests().iter().all(|(_, s)| *s == 500));
    receiver.set(Mode::Ok);
    drained(&exporter, Duration::from_secs(10)).await;
    invariant(&exporter);
    let t = exporter.totals();
    assert_eq!(t.dropped(), 0, "{t:?}");
    // The last sample delivered is the total (a push after the last increment).
    let report = exporter.shutdown().await;
    assert_eq!(report.last_status, Some(204));
    assert_eq!(receiver.last("fault_500_events_total"), Some(20.0));
}

#[derive(Metrics)]
#[metrics(namespace = "fault_429")]
struct F429 {
    /// Events.
    events_total: Counter,
}
static F429: F429 = F429::new();

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_of_a_429_is_honoured() {
    let receiver = Receiver::start(Mode::Status(429, Some(1))).await;
    F429.events_total.add(5);
    let exporter = remote(&receiver.url, config(30), &F429);
    // The first answer says: come back in a second.
    let deadline = Instant::now() + Duration::from_secs(5);
    while receiver.requests().is_empty() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    receiver.set(Mode::Ok);
    drained(&exporter, Duration::from_secs(10)).await;
    let requests = receiver.requests();
    assert_eq!(requests[0].1, 429);
    let gap = requests[1].0 - requests[0].0;
    assert!(gap >= Duration::from_millis(950), "the retry came {gap:?} after a Retry-After of 1 s");
    assert!(exporter.totals().retries >= 1);
    invariant(&exporter);
    exporter.shutdown().await;
    assert_eq!(receiver.last("fault_429_events_total"), Some(5.0));
}

#[derive(Metrics)]
#[metrics(namespace = "fault_400")]
struct F400 {
    /// Events.
    events_total: Counter,
}
static F400: F400 = F400::new();

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_400_are_dropped_and_counted_never_retried() {
    let receiver = Receiver::start(Mode::Status(400, None)).await;
    F400.events_total.inc();
    let exporter = remote(&receiver.url, config(50), &F400);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let report = exporter.flush().await;
    assert_eq!(report.last_status, Some(400));
    // The exporter keeps reading every 50 ms on its own thread: compare its totals with the
    // receiver's log at a moment when no batch waits and nothing changed while the log was read.
    let deadline = Instant::now() + Duration::from_secs(5);
    let (t, requests) = loop {
        let before = exporter.totals();
        let requests = receiver.requests();
        let after = exporter.totals();
        if before == after && after.waiting == 0 {
            break (after, requests);
        }
        assert!(Instant::now() < deadline, "never quiescent: {after:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(requests.len() >= 5 && requests.iter().all(|(_, s)| *s == 400), "{requests:?}");
    // One point per batch here (one counter): each batch was asked for exactly once.
    assert_eq!(requests.len() as u64, t.queued, "{t:?}");
    assert_eq!((t.sent, t.retries, t.dropped_rejected, t.waiting), (0, 0, t.queued, 0), "{t:?}");
}

#[derive(Metrics)]
#[metrics(namespace = "fault_otlp")]
struct FOtlp {
    /// Events.
    events_total: Counter,
}
static F_OTLP: FOtlp = FOtlp::new();

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_does_not_retry_a_500_but_retries_a_503() {
    let receiver = Receiver::start(Mode::Status(500, None)).await;
    F_OTLP.events_total.inc();
    let mut config = OtlpConfig::new(&receiver.url).expect("url");
    config.push = self::config(3_600_000);
    let exporter = otlp::start(&F_OTLP, config).expect("start");
    let report = exporter.flush().await;
    assert_eq!(report.last_status, Some(500));
    let t = exporter.totals();
    assert_eq!((t.retries, t.dropped_rejected, t.waiting), (0, t.queued, 0), "{t:?}");
    receiver.set(Mode::Status(503, None));
    let report = exporter.flush().await;
    assert_eq!(report.last_status, Some(503));
    assert!(report.pending, "a 503 keeps the batch for a retry");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(exporter.totals().retries >= 1, "{:?}", exporter.totals());
}

#[derive(Metrics)]
#[metrics(namespace = "fault_slow")]
struct FSlow {
    /// Events.
    events_total: Counter,
}
static F_SLOW: FSlow = FSlow::new();

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_sheds_the_oldest_batches_then_widens_the_interval() {
    let receiver = Receiver::start(Mode::Slow(Duration::from_secs(5))).await;
    let push = PushConfig {
        max_queued_batches: 4,
        backpressure: BackpressureConfig { low_water: 0.25, max_widen: 8 },
        ..config(100)
    };
    let exporter = remote(&receiver.url, push, &F_SLOW);
    for _ in 0..30 {
        F_SLOW.events_total.inc();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // 1.5 s in: one request hangs, the queue is full, old batches went, the interval widened.
    let t = exporter.totals();
    assert!(t.dropped_queue_full > 0, "{t:?}");
    assert_eq!(t.sent, 0, "{t:?}");
    assert!(exporter.interval() > Duration::from_millis(100), "{:?}", exporter.interval());
    invariant(&exporter);
    receiver.set(Mode::Ok);
    drained(&exporter, Duration::from_secs(15)).await;
    invariant(&exporter);
    exporter.shutdown().await;
    // Cumulative: what was shed cost resolution, not the total.
    assert_eq!(receiver.last("fault_slow_events_total"), Some(30.0));
}

#[derive(Metrics)]
#[metrics(namespace = "fault_down")]
struct FDown {
    /// Events.
    events_total: Counter,
}
static F_DOWN: FDown = FDown::new();

#[test]
fn memory_stays_bounded_while_the_receiver_is_down() {
    // One thread: the runtime, the exporter and its connection attempts all allocate here,
    // where the counting allocator counts.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap(); // closed at once
    let push = PushConfig { max_queued_batches: 8, ..config(5) };
    let exporter = runtime.block_on(async { remote(&format!("http://{dead}/api/v1/write"), push, &F_DOWN) });
    runtime.block_on(async { tokio::time::sleep(Duration::from_millis(300)).await });
    let (early, early_totals) = (live(), exporter.totals());
    runtime.block_on(async { tokio::time::sleep(Duration::from_millis(1500)).await });
    let (late, late_totals) = (live(), exporter.totals());
    eprintln!("live heap: {early} B at {early_totals:?}, {late} B at {late_totals:?}");
    assert!(late_totals.queued > early_totals.queued + 50, "kept reading: {late_totals:?}");
    assert!(late_totals.dropped_queue_full > early_totals.dropped_queue_full);
    assert!(late_totals.requests_failed > early_totals.requests_failed);
    assert!(late - early < 16 * 1024, "the heap grew by {} B while the receiver was down", late - early);
    invariant(&exporter);
    runtime.block_on(exporter.shutdown());
}
