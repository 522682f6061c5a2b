//! The demo: a small tokio service with `#[timed]` handlers under simulated load, serving its
//! metrics at http://127.0.0.1:9898/metrics and printing one line a second (requests/s, p50,
//! p99) until Ctrl-C or `--seconds N`; pushing them too when asked (OTLP, Prometheus remote
//! write, Pushgateway, StatsD). `--write-catalog DIR` writes the catalog, rules and dashboard
//! generated from its metric declarations instead.
//!
//! `cargo run --release -p examples --bin demo -- --seconds 10` (`--help` lists the options)

use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_runtime::catalog::{Catalog, DashboardConfig, RulesConfig};
use metrics_runtime::energy::ENERGY_STATS;
use metrics_runtime::exemplar::Exemplars;
use metrics_runtime::http::{serve, ServerConfig};
use metrics_runtime::process::ProcessMetrics;
use metrics_runtime::push::otlp::{self, OtlpConfig};
use metrics_runtime::push::pushgateway::{self, PushgatewayConfig};
use metrics_runtime::push::remote_write::{self, RemoteWriteConfig};
use metrics_runtime::push::{PushConfig, PushExporter, Source, PUSH_STATS};
use metrics_runtime::statsd::{StatsdConfig, StatsdExporter};
use metrics_runtime::tokio_metrics::TokioMetrics;
use metrics_runtime::{
    build_info, timed, Counter, Gauge, Histogram, Info, Metrics, NativeHistogram, Outcome, Registry, Summary, Tag,
    TagSet,
};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "route", rename_all = "snake_case")]
enum Route {
    Browse,
    Search,
    Checkout,
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
    route: Route,
    status: Status,
}

#[derive(Metrics)]
#[metrics(namespace = "demo")]
struct DemoMetrics {
    /// Requests served, by route and status class.
    #[metric(slo(errors = "status=5xx", target = 0.99))]
    requests_total: Counter<Http>,
    /// Requests in progress.
    inflight_requests: Gauge,
    /// Time to serve a request, by route.
    #[metric(
        unit = "seconds",
        buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
        slo(latency = "p99 < 250ms")
    )]
    request_duration_seconds: Histogram<Route>,
    /// Checkout latency by outcome.
    #[metric(unit = "seconds", slo(errors = "outcome=error", target = 0.99, name = "demo_checkout_availability"))]
    checkout_seconds: Histogram<Outcome>,
    /// Request latency quantiles over the last minute.
    #[metric(unit = "seconds", quantiles = [0.5, 0.9, 0.99], window_secs = 60)]
    latency_seconds: Summary,
    /// Time to serve a request, by route, as a native histogram (protobuf scrapes; classic
    /// buckets in the text formats), with the trace id of a recent request as exemplar.
    #[metric(unit = "seconds")]
    request_latency_seconds: Exemplars<NativeHistogram<Route>>,
    /// Build of the running demo: its version, the rustc that compiled it and its commit.
    build_info: Info,
}

static METRICS: DemoMetrics = DemoMetrics::new();

/// A deterministic pseudo-random generator per task (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug)]
struct PaymentDeclined;

#[timed(METRICS.request_duration_seconds.with(Route::Browse))]
async fn browse(work: Duration) -> Status {
    tokio::time::sleep(work).await;
    Status::Ok
}

#[timed(METRICS.request_duration_seconds.with(Route::Search))]
async fn search(work: Duration) -> Status {
    tokio::time::sleep(work * 2).await;
    Status::Ok
}

#[timed(METRICS.checkout_seconds)]
async fn checkout(work: Duration, declined: bool) -> Result<(), PaymentDeclined> {
    tokio::time::sleep(work * 3).await;
    if declined {
        return Err(PaymentDeclined);
    }
    Ok(())
}

async fn handle(rng: &mut Rng) {
    METRICS.inflight_requests.inc();
    let started = Instant::now();
    let work = Duration::from_micros(200 + (rng.unit() * rng.unit() * 4000.0) as u64);
    let route = match rng.next() % 10 {
        0..=5 => Route::Browse,
        6..=8 => Route::Search,
        _ => Route::Checkout,
    };
    let status = match route {
        Route::Browse => browse(work).await,
        Route::Search => search(work).await,
        Route::Checkout => {
            let _timer = METRICS.request_duration_seconds.with(Route::Checkout).start_timer();
            match checkout(work, rng.unit() < 0.05).await {
                Ok(()) => Status::Ok,
                Err(PaymentDeclined) => Status::Error,
            }
        }
    };
    METRICS.requests_total.with(Http { route, status }).inc();
    let elapsed = started.elapsed().as_secs_f64();
    METRICS.latency_seconds.record(elapsed);
    // A trace id per request, as a tracing system would give (W3C: 32 hex digits).
    let trace_id = format!("{:016x}{:016x}", rng.next(), rng.next());
    // The labels are within OpenMetrics' limits: the exemplar is always stored.
    let _ = METRICS.request_latency_seconds.with(route).record_with_exemplar(elapsed, &[("trace_id", &trace_id)]);
    METRICS.inflight_requests.dec();
}

const USAGE: &str = "\
usage: demo [OPTIONS]

A small service under simulated load that serves its metrics over HTTP and prints one line
a second (requests/s, p50, p99); it pushes them too with the push options.

options:
  --seconds N             run N seconds, then exit 0 (default: until Ctrl-C)
  --listen ADDR           serve http://ADDR/metrics (default: 127.0.0.1:9898)
  --idle                  serve and push as configured, but no simulated load and no
                          per-second line; at stop, print the wakeups per second and the
                          CPU share the idle process took
  --push-interval-ms N    interval of every push exporter (default 10000;
                          OTEL_METRIC_EXPORT_INTERVAL overrides it for OTLP)
  --otlp URL              OTLP/HTTP to URL, a full /v1/metrics URL. Without it,
                          OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (full URL) or
                          OTEL_EXPORTER_OTLP_ENDPOINT (base URL) turn OTLP on;
                          OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf or http/json),
                          OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_COMPRESSION,
                          OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are honoured
  --remote-write URL      Prometheus remote write 1.0 to URL
                          (e.g. http://127.0.0.1:9090/api/v1/write)
  --pushgateway URL       Pushgateway at URL (e.g. http://127.0.0.1:9091), job `demo`
  --statsd HOST:PORT      StatsD / DogStatsD over UDP
  --write-catalog DIR     write catalog.json, catalog.md, rules.yml (recording rules
                          and SLO burn-rate alerts) and dashboard.json (Grafana) for
                          the demo's metrics into DIR, then exit 0
  -h, --help              print this help and exit

Every exporter pushes a last time when the demo stops.
";

/// The command line.
struct Args {
    seconds: Option<u64>,
    listen: std::net::SocketAddr,
    idle: bool,
    push_interval: Duration,
    otlp: Option<String>,
    remote_write: Option<String>,
    pushgateway: Option<String>,
    statsd: Option<String>,
    write_catalog: Option<std::path::PathBuf>,
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut args = Args {
        seconds: None,
        listen: ServerConfig::default().addr,
        idle: false,
        push_interval: Duration::from_millis(10_000),
        otlp: None,
        remote_write: None,
        pushgateway: None,
        statsd: None,
        write_catalog: None,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("seconds") => args.seconds = Some(parser.value()?.parse()?),
            Long("listen") => args.listen = parser.value()?.parse()?,
            Long("idle") => args.idle = true,
            Long("push-interval-ms") => {
                let ms: u64 = parser.value()?.parse()?;
                if ms == 0 {
                    return Err("--push-interval-ms must be at least 1".into());
                }
                args.push_interval = Duration::from_millis(ms);
            }
            Long("otlp") => args.otlp = Some(parser.value()?.string()?),
            Long("remote-write") => args.remote_write = Some(parser.value()?.string()?),
            Long("pushgateway") => args.pushgateway = Some(parser.value()?.string()?),
            Long("statsd") => args.statsd = Some(parser.value()?.string()?),
            Long("write-catalog") => args.write_catalog = Some(parser.value()?.into()),
            Short('h') | Long("help") => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(args)
}

/// The push exporters the command line asked for.
#[derive(Default)]
struct Pushers {
    http: Vec<(&'static str, PushExporter)>,
    statsd: Option<StatsdExporter>,
}

impl Pushers {
    /// Starts every exporter asked for; an error is a message for the command line.
    async fn start(args: &Args, registry: &Arc<Registry>, served: std::net::SocketAddr) -> Result<Self, String> {
        let push = PushConfig { interval: args.push_interval, ..PushConfig::default() };
        let source = || Source::from(Arc::clone(registry));
        let mut pushers = Self::default();
        // The URL from the flag, or from the OTEL variables; the other OTEL variables apply
        // over the flags (`OTEL_METRIC_EXPORT_INTERVAL` over `--push-interval-ms`).
        let otlp_url = match &args.otlp {
            Some(url) => Some(url.clone()),
            None => OtlpConfig::from_env().map_err(|e| e.to_string())?.map(|c| c.url),
        };
        if let Some(url) = otlp_url {
            let mut config = OtlpConfig::new(&url).map_err(|e| format!("--otlp: {e}"))?;
            config.push = push.clone();
            let mut config = config.with_env().map_err(|e| e.to_string())?;
            if !config.resource.iter().any(|(k, _)| k == "service.name") {
                config.resource.push(("service.name".into(), "demo".into()));
            }
            println!("pushing OTLP to {} every {:?}", config.url, config.push.interval);
            pushers.http.push(("otlp", otlp::start(source(), config).map_err(|e| format!("--otlp: {e}"))?));
        }
        if let Some(url) = &args.remote_write {
            let mut config = RemoteWriteConfig::new(url).map_err(|e| format!("--remote-write: {e}"))?;
            config.push = push.clone();
            config.labels = vec![("job".into(), "demo".into()), ("instance".into(), served.to_string())];
            println!("pushing Prometheus remote write to {url} every {:?}", push.interval);
            pushers.http.push((
                "remote write",
                remote_write::start(source(), config).map_err(|e| format!("--remote-write: {e}"))?,
            ));
        }
        if let Some(url) = &args.pushgateway {
            let mut config = PushgatewayConfig::new(url, "demo").map_err(|e| format!("--pushgateway: {e}"))?;
            config.push = push.clone();
            println!("pushing to the Pushgateway at {url} (job demo) every {:?}", push.interval);
            pushers.http.push((
                "pushgateway",
                pushgateway::start(source(), config).map_err(|e| format!("--pushgateway: {e}"))?,
            ));
        }
        if let Some(target) = &args.statsd {
            let addr = tokio::net::lookup_host(target.as_str())
                .await
                .ok()
                .and_then(|mut a| a.next())
                .ok_or_else(|| format!("--statsd: `{target}` is not a HOST:PORT that resolves"))?;
            let config = StatsdConfig { target: addr, flush_interval: args.push_interval, ..StatsdConfig::default() };
            let exporter = StatsdExporter::start(source(), config).await.map_err(|e| format!("--statsd: {e}"))?;
            println!("pushing StatsD to {addr} every {:?}", args.push_interval);
            pushers.statsd = Some(exporter);
        }
        Ok(pushers)
    }

    /// A last push from each, all at once.
    async fn shutdown(self) {
        let mut last = Vec::new();
        for (name, exporter) in self.http {
            last.push(tokio::spawn(async move { (name, exporter.shutdown().await) }));
        }
        if let Some(statsd) = self.statsd {
            statsd.shutdown().await;
        }
        for task in last {
            if let Ok((name, report)) = task.await {
                match (report.last_status, report.pending) {
                    (Some(status), false) if status < 300 => println!("{name}: last push accepted ({status})"),
                    _ => println!("{name}: last push failed: {}", report.error.as_deref().unwrap_or("no answer")),
                }
            }
        }
    }
}

/// `--write-catalog DIR`: the catalog, its Markdown, the rules and the dashboard of everything
/// the demo serves.
fn write_catalog(registry: &Registry, dir: &std::path::Path) -> std::io::Result<()> {
    let catalog = Catalog::of_registry(registry);
    let rules = catalog.rules(&RulesConfig::default()).map_err(std::io::Error::other)?;
    let dashboard = DashboardConfig { title: "demo".into(), uid: "demo".into(), ..DashboardConfig::default() };
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("catalog.json"), catalog.to_json())?;
    std::fs::write(dir.join("catalog.md"), catalog.to_markdown())?;
    std::fs::write(dir.join("rules.yml"), rules.to_yaml())?;
    let mut json = serde_json::to_string_pretty(&catalog.dashboard(&dashboard)).map_err(std::io::Error::other)?;
    json.push('\n');
    std::fs::write(dir.join("dashboard.json"), json)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("demo: {e}\n\n{USAGE}");
        std::process::exit(2);
    });
    let seconds = args.seconds;
    let mut registry = Registry::new();
    METRICS.build_info.set(build_info!()).expect("set once, with valid labels");
    registry.register(&METRICS).expect("names are unique");
    // `process_*`, read from /proc at each scrape.
    registry.register(&ProcessMetrics).expect("names are unique");
    // `tokio_*`: the runtime's workers, tasks and queue, read at each scrape.
    registry.register_arc(Arc::new(TokioMetrics::new(tokio::runtime::Handle::current()))).expect("names are unique");
    // `push_*`: what the push exporters sent and dropped.
    registry.register(&PUSH_STATS).expect("names are unique");
    // `metrics_runtime_energy_*`: the CPU budget, battery and power profile the exporters adapt to.
    registry.register(&ENERGY_STATS).expect("names are unique");
    metrics_runtime::energy::refresh(); // the exporters refresh it at their reads
    if let Some(dir) = &args.write_catalog {
        if let Err(e) = write_catalog(&registry, dir) {
            eprintln!("demo: --write-catalog {}: {e}", dir.display());
            std::process::exit(1);
        }
        println!("wrote catalog.json, catalog.md, rules.yml and dashboard.json to {}", dir.display());
        return Ok(());
    }
    let registry = Arc::new(registry);
    let server = serve(Arc::clone(&registry), ServerConfig { addr: args.listen, ..ServerConfig::default() }).await?;
    println!("serving http://{}/metrics", server.local_addr());
    let pushers = Pushers::start(&args, &registry, server.local_addr()).await.unwrap_or_else(|e| {
        eprintln!("demo: {e}");
        std::process::exit(2);
    });

    let deadline = seconds.map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    if args.idle {
        // Nothing but the server and the exporters: the process sleeps until a scrape, a push,
        // the deadline or Ctrl-C. At stop it says how often it woke and how much CPU it took.
        let (started, before) = (Instant::now(), examples::activity(std::path::Path::new("/proc/self")));
        match deadline {
            Some(d) => tokio::select! {
                _ = tokio::time::sleep_until(d) => {}
                _ = tokio::signal::ctrl_c() => {}
            },
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        let (after, secs) = (examples::activity(std::path::Path::new("/proc/self")), started.elapsed().as_secs_f64());
        pushers.shutdown().await;
        server.shutdown().await;
        match (before, after) {
            (Some((w0, c0)), Some((w1, c1))) if secs > 0.0 => println!(
                "idle for {secs:.1} s: {:.2} wakeups/s, {:.4}% CPU; stopped",
                (w1 - w0) as f64 / secs,
                (c1 - c0) as f64 / 1e9 / secs * 100.0
            ),
            _ => println!("idle; stopped"),
        }
        return Ok(());
    }

    // Simulated load: 32 clients, each sending requests back to back.
    for client in 0..32u64 {
        tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (client + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
            loop {
                handle(&mut rng).await;
            }
        });
    }

    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    let mut last = METRICS.requests_total.total();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        let now = METRICS.requests_total.total();
        let p50 = METRICS.latency_seconds.percentile(0.5).unwrap_or(f64::NAN) * 1000.0;
        let p99 = METRICS.latency_seconds.percentile(0.99).unwrap_or(f64::NAN) * 1000.0;
        println!(
            "{:>7} req/s   p50 {p50:6.2} ms   p99 {p99:6.2} ms   in flight {}",
            now - last,
            METRICS.inflight_requests.get()
        );
        last = now;
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            break;
        }
    }
    pushers.shutdown().await;
    server.shutdown().await;
    println!("served {} requests; stopped", METRICS.requests_total.total());
    Ok(())
}
