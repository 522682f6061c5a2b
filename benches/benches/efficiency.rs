//! What metrics cost a process that is otherwise idle, and what each scrape and push costs in
//! CPU and bytes, for us and the peers in the same run. Not a criterion bench: idle cost is
//! measured over wall time, in child processes, from `/proc` (Linux).
//!
//! `cargo bench -p benches --bench efficiency` prints the tables of the README:
//!
//! 1. **Idle**, each setup in a child process holding the 1000-series counter family of
//!    `render_1000`, unscraped, measured over 40 s after a 25 s warm-up (voluntary context
//!    switches of all its threads, and CPU time, scaled to an hour):
//!    - `ours`: the `/metrics` server and an OTLP/HTTP protobuf exporter at a 10 s interval,
//!      pushing to a receiver in the parent (each push is a real request and answer);
//!    - `metrics_exporter_prometheus`: its HTTP listener and upkeep (`install`, the 5 s default
//!      upkeep timeout);
//!    - `opentelemetry_sdk`: a `PeriodicReader` at 10 s whose exporter converts and encodes the
//!      OTLP request (`opentelemetry-proto`, prost) and sends nothing.
//! 2. **CPU per scrape of 1000 series** (Prometheus text, thread CPU time over 200 renders): ours
//!    and metrics-exporter-prometheus.
//! 3. **CPU per push of 1000 series** (thread CPU time over 200 encodes, OTLP protobuf, gzip):
//!    ours and the OpenTelemetry SDK (collect, convert, encode, gzip).
//! 4. **Bytes on the wire per series per push**: OTLP protobuf (plain and gzip), ours and the
//!    SDK's; ours in remote write (snappy) and in Prometheus text beside metrics-exporter-prometheus'.

#[allow(dead_code)]
mod support;

use std::io::{Read, Write as _};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use benches::counter_values;
use metrics_runtime::push::otlp::{self, Compression, OtlpConfig, OtlpEncoder};
use metrics_runtime::push::remote_write::{RemoteWriteConfig, RemoteWriteEncoder};
use metrics_runtime::push::{PushConfig, Source};
use metrics_runtime::{Metrics, Registry, Tag, TagSet};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{ManualReader, PeriodicReader, SdkMeterProvider, Temporality};
use prost::Message as _;
use support::ours::RenderMetrics;
use support::Route;
use support::{gzip, SharedReader};

static OURS: RenderMetrics = RenderMetrics::new();

/// Past every setup's first export (one to two intervals after start), so that the window
/// holds steady-state work only.
const IDLE_WARM_UP: Duration = Duration::from_secs(25);
const IDLE_WINDOW: Duration = Duration::from_secs(40);
const REPEATS: u32 = 200;

fn routes() -> (Vec<Route>, Vec<u64>) {
    let routes: Vec<Route> = (0..Route::CARDINALITY).map(|s| Route::from_index(s).expect("in range")).collect();
    let values = counter_values(Route::CARDINALITY);
    (routes, values)
}

fn fill_ours() {
    let (routes, values) = routes();
    for (r, &v) in routes.iter().zip(&values) {
        OURS.requests_total.with(*r).add(v);
    }
}

/// An exporter that does what the SDK's OTLP exporter does up to the wire: convert and encode.
#[derive(Debug)]
struct EncodeOnly;

impl PushMetricExporter for EncodeOnly {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        std::hint::black_box(ExportMetricsServiceRequest::from(metrics).encode_to_vec());
        Ok(())
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

fn sdk_counter(provider: &SdkMeterProvider) {
    let (routes, values) = routes();
    support::otel_counter(provider, &routes, &values);
}

fn mep_counters() {
    let (routes, values) = routes();
    for (r, &v) in routes.iter().zip(&values) {
        metrics::counter!("bench_requests_total", "handler" => r.handler.as_str(), "code" => r.code.as_str())
            .absolute(v);
    }
}

/// A child: sets one library up, then sleeps until killed.
fn child(which: &str, arg: &str) -> ! {
    match which {
        "ours" => {
            fill_ours();
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                let mut registry = Registry::new();
                registry.register(&OURS).expect("register");
                let registry = Arc::new(registry);
                let config =
                    metrics_runtime::http::ServerConfig { addr: ([127, 0, 0, 1], 0).into(), ..Default::default() };
                let _server = metrics_runtime::http::serve(Arc::clone(&registry), config).await.expect("serve");
                let mut otlp_config = OtlpConfig::new(arg).expect("url");
                otlp_config.push = PushConfig { interval: Duration::from_secs(10), ..PushConfig::default() };
                let _exporter = otlp::start(Source::from(registry), otlp_config).expect("start");
                std::future::pending::<()>().await;
            });
        }
        "metrics_exporter_prometheus" => {
            let addr: std::net::SocketAddr = ([127, 0, 0, 1], arg.parse::<u16>().expect("port")).into();
            metrics_exporter_prometheus::PrometheusBuilder::new().with_http_listener(addr).install().expect("install");
            mep_counters();
        }
        "opentelemetry_sdk" => {
            let reader = PeriodicReader::builder(EncodeOnly).with_interval(Duration::from_secs(10)).build();
            let provider = SdkMeterProvider::builder().with_reader(reader).build();
            sdk_counter(&provider);
            std::mem::forget(provider);
        }
        other => panic!("unknown child {other}"),
    }
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Voluntary context switches and CPU nanoseconds, summed over the threads of `pid` (zero
/// once it is gone), read as the demo's idle test reads them.
fn sample(pid: u32) -> (u64, u64) {
    examples::activity(std::path::Path::new(&format!("/proc/{pid}"))).unwrap_or_default()
}

/// This thread's CPU time in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    text.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// A receiver that answers every HTTP request with `200` and an empty body.
fn sink() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = vec![0u8; 1 << 20];
                let mut pending = Vec::new();
                loop {
                    let Ok(n) = stream.read(&mut buf) else { return };
                    if n == 0 {
                        return;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    // One request: its head, then `content-length` bytes.
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if pending.len() < end + 4 + length {
                            break;
                        }
                        pending.drain(..end + 4 + length);
                        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
                    }
                }
            });
        }
    });
    port
}

fn idle(which: &str, arg: &str) -> (f64, f64) {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe)
        .args(["--child", which, arg])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn a child");
    std::thread::sleep(IDLE_WARM_UP);
    let start = Instant::now();
    let (s0, c0) = sample(child.id());
    std::thread::sleep(IDLE_WINDOW);
    let (s1, c1) = sample(child.id());
    let secs = start.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    ((s1 - s0) as f64 / secs, (c1 - c0) as f64 / 1e6 / secs * 3600.0)
}

/// CPU microseconds per call of `f`, over `REPEATS` calls on this thread.
fn cpu_per_call(mut f: impl FnMut()) -> f64 {
    f(); // warm
    let t0 = thread_cpu_ns();
    for _ in 0..REPEATS {
        f();
    }
    (thread_cpu_ns() - t0) as f64 / 1e3 / f64::from(REPEATS)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1], args.get(i + 2).map_or("", String::as_str));
    }
    if args.iter().any(|a| a == "--list") {
        return; // `cargo bench -- --list`: nothing for criterion-style listing
    }
    fill_ours();

    println!(
        "**Idle, 1000 series, unscraped (over {} s, after {} s)**\n",
        IDLE_WINDOW.as_secs(),
        IDLE_WARM_UP.as_secs()
    );
    println!("| setup | wakeups/s | CPU ms/hour |\n|---|---:|---:|");
    let sink_port = sink();
    let mep_port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    for (which, arg) in [
        ("ours", format!("http://127.0.0.1:{sink_port}/v1/metrics")),
        ("metrics_exporter_prometheus", mep_port.to_string()),
        ("opentelemetry_sdk", String::new()),
    ] {
        let (wakeups, cpu) = idle(which, &arg);
        println!("| `{which}` | {wakeups:.2} | {cpu:.1} |");
    }

    // Scrapes.
    let mut registry = Registry::new();
    registry.register(&OURS).expect("register");
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, mep_counters);
    let ours_text = registry.render_prometheus();
    let mep_text = handle.render();
    let ours_scrape = cpu_per_call(|| {
        std::hint::black_box(registry.render_prometheus());
    });
    let mep_scrape = cpu_per_call(|| {
        std::hint::black_box(handle.render());
    });

    // Pushes.
    let source = Source::from(&OURS);
    let url = "http://127.0.0.1:4318/v1/metrics";
    let mut plain = OtlpEncoder::new(&OtlpConfig::new(url).expect("url"));
    let mut gz_config = OtlpConfig::new(url).expect("url");
    gz_config.compression = Compression::Gzip;
    let mut gzipped = OtlpEncoder::new(&gz_config);
    let ours_otlp = plain.encode(&source, SystemTime::now()).0.len();
    let ours_otlp_gz = gzipped.encode(&source, SystemTime::now()).0.len();
    let ours_push = cpu_per_call(|| {
        std::hint::black_box(gzipped.encode(&source, SystemTime::now()));
    });
    let reader = SharedReader(Arc::new(ManualReader::builder().build()));
    let provider = SdkMeterProvider::builder().with_reader(reader.clone()).build();
    sdk_counter(&provider);
    let mut rm = ResourceMetrics::default();
    let mut sdk_body = || {
        reader.collect(&mut rm).expect("collect");
        ExportMetricsServiceRequest::from(&rm).encode_to_vec()
    };
    let sdk_otlp = sdk_body().len();
    let sdk_otlp_gz = gzip(&sdk_body()).len();
    let sdk_push = cpu_per_call(|| {
        std::hint::black_box(gzip(&sdk_body()));
    });
    let mut rw = RemoteWriteEncoder::new(&RemoteWriteConfig::new("http://127.0.0.1:9090/api/v1/write").expect("url"))
        .expect("config");
    let ours_rw = rw.encode(&source, SystemTime::now()).0.len();

    println!("\n**CPU per scrape and per push of 1000 series (thread CPU time, {REPEATS} each)**\n");
    println!("| operation | ours | peer | peer / ours |\n|---|---:|---:|---:|");
    println!(
        "| scrape, Prometheus text (peer: metrics-exporter-prometheus) | {ours_scrape:.1} µs | {mep_scrape:.1} µs | {:.1} |",
        mep_scrape / ours_scrape
    );
    println!(
        "| push, OTLP protobuf + gzip (peer: OpenTelemetry SDK) | {ours_push:.1} µs | {sdk_push:.1} µs | {:.1} |",
        sdk_push / ours_push
    );
    let per = |bytes: usize| bytes as f64 / 1000.0;
    println!("\n**Bytes per series per push (1000 series)**\n");
    println!("| body | ours | peer |\n|---|---:|---:|");
    println!("| OTLP protobuf (peer: OpenTelemetry SDK) | {:.1} | {:.1} |", per(ours_otlp), per(sdk_otlp));
    println!("| OTLP protobuf, gzip (peer: OpenTelemetry SDK) | {:.1} | {:.1} |", per(ours_otlp_gz), per(sdk_otlp_gz));
    println!("| Prometheus remote write, snappy | {:.1} | n/a |", per(ours_rw));
    println!(
        "| Prometheus text (peer: metrics-exporter-prometheus) | {:.1} | {:.1} |",
        per(ours_text.len()),
        per(mep_text.len())
    );
    let _ = OURS.descriptors();
}
