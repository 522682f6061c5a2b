//! Hostile clients against the `/metrics` server, on 127.0.0.1 only, each bounded in time:
//! 64 clients that pipeline requests and never read, 500 idle sockets, 4 greedy pipelining
//! scrapers. During each, a well-behaved scrape must be served within 1 s, and an application
//! running on the same tokio runtime must keep at least 90% of its throughput.
//!
//! The application is a stand-in for a service: 32 tasks that each wait 1 ms (a timer, as a
//! request waiting on I/O does) and then do a little CPU work, counting completed rounds.
//! The attackers run on threads of the test process, on the same two cores: each stays within
//! what one remote client would cost the host (no busy loops), so the measure is the server's.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use metrics_runtime::http::{serve, ServerConfig, ServerHandle};
use metrics_runtime::{Metrics, Registry};
use tests::conformance::populated;

/// The tests of this file measure throughput: they run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

const REQUEST: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n";

/// The application: rounds of a 1 ms wait plus a little work, on the server's runtime.
struct App {
    rounds: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl App {
    fn start(runtime: &tokio::runtime::Handle) -> Self {
        let rounds = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        for task in 0..32u64 {
            let (rounds, stop) = (Arc::clone(&rounds), Arc::clone(&stop));
            runtime.spawn(async move {
                let mut x = task.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                while !stop.load(Relaxed) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    for _ in 0..2_000 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                    }
                    std::hint::black_box(x);
                    rounds.fetch_add(1, Relaxed);
                }
            });
        }
        Self { rounds, stop }
    }

    /// Rounds per second over `window`.
    fn throughput(&self, window: Duration) -> f64 {
        let (start, t) = (self.rounds.load(Relaxed), Instant::now());
        std::thread::sleep(window);
        (self.rounds.load(Relaxed) - start) as f64 / t.elapsed().as_secs_f64()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
    }
}

/// One well-behaved scrape on a new connection: its latency, after checking the answer.
fn scrape(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("a complete response within 5 s");
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "not served: {text:.200}");
    assert!(text.contains("conf_sent_bytes_total 1000000007\n"), "not the exposition: {text:.200}");
    elapsed
}

/// Scrapes every 100 ms until `stop`; returns the worst latency seen and the number of scrapes.
fn scraper(addr: SocketAddr, stop: Arc<AtomicBool>) -> JoinHandle<(Duration, usize)> {
    std::thread::spawn(move || {
        let (mut worst, mut n) = (Duration::ZERO, 0);
        while !stop.load(Relaxed) {
            worst = worst.max(scrape(addr));
            n += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
        (worst, n)
    })
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    server: Option<ServerHandle>,
    addr: SocketAddr,
}

impl Fixture {
    fn new(config: ServerConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mut registry = Registry::new();
        registry.register_arc(Arc::new(populated()) as Arc<dyn Metrics>).unwrap();
        let server = runtime.block_on(serve(Arc::new(registry), config)).expect("serve");
        let addr = server.local_addr();
        Self { runtime, server: Some(server), addr }
    }

    fn server(&self) -> &ServerHandle {
        self.server.as_ref().expect("running")
    }

    /// Runs `attack` (which returns a stopper) and checks the well-behaved scrape latency and
    /// the application's throughput during it against before and after.
    fn check_under(&self, name: &str, attack: impl FnOnce(SocketAddr) -> Box<dyn FnOnce()>) {
        let app = App::start(self.runtime.handle());
        std::thread::sleep(Duration::from_millis(300));
        let before = app.throughput(Duration::from_millis(1500));
        let renders = self.server().stats().renders;
        let attack_started = Instant::now();
        let stop_attack = attack(self.addr);
        std::thread::sleep(Duration::from_millis(300));
        let stop = Arc::new(AtomicBool::new(false));
        let scrapes = scraper(self.addr, Arc::clone(&stop));
        // The better of two windows: one descheduling of the 2-core machine's app threads
        // costs a tenth of a window, while an attack that starves the app fails both.
        let during = app.throughput(Duration::from_millis(1500)).max(app.throughput(Duration::from_millis(1500)));
        stop.store(true, Relaxed);
        let (worst, n) = scrapes.join().expect("scrapes");
        let attack_time = attack_started.elapsed();
        let renders = self.server().stats().renders - renders;
        stop_attack();
        let after = app.throughput(Duration::from_millis(1500));
        let baseline = (before + after) / 2.0;
        println!(
            "{name}: app {before:.0} / {during:.0} / {after:.0} rounds/s (before / during / after, {:.1}% of baseline); \
             worst well-behaved scrape {worst:?} over {n}; {renders} renders in {attack_time:?}; {:?}",
            100.0 * during / baseline,
            self.server().stats(),
        );
        assert!(n >= 5, "{name}: only {n} well-behaved scrapes");
        assert!(worst < Duration::from_secs(1), "{name}: a well-behaved scrape took {worst:?}");
        assert!(during >= 0.9 * baseline, "{name}: the app fell to {during:.0} rounds/s from {baseline:.0}");
        // The render budget: at most one render per 50 ms, whatever the clients do.
        let most = (attack_time.as_secs_f64() / 0.05).ceil() as u64 + 2;
        assert!(renders <= most, "{name}: {renders} renders in {attack_time:?}, more than {most}");
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

fn config() -> ServerConfig {
    ServerConfig { addr: "127.0.0.1:0".parse().unwrap(), ..ServerConfig::default() }
}

/// Clients on threads until the returned stopper is called.
fn threads(
    count: usize,
    client: impl Fn(SocketAddr, Arc<AtomicBool>) + Send + Sync + 'static,
) -> impl FnOnce(SocketAddr) -> Box<dyn FnOnce()> {
    move |addr| {
        let stop = Arc::new(AtomicBool::new(false));
        let client = Arc::new(client);
        let handles: Vec<JoinHandle<()>> = (0..count)
            .map(|_| {
                let (stop, client) = (Arc::clone(&stop), Arc::clone(&client));
                std::thread::spawn(move || client(addr, stop))
            })
            .collect();
        Box::new(move || {
            stop.store(true, Relaxed);
            for h in handles {
                h.join().expect("attack client");
            }
        })
    }
}

#[test]
fn clients_that_pipeline_and_never_read() {
    let _serial = serial();
    let fixture = Fixture::new(config());
    fixture.check_under(
        "64 never-reading pipelining clients",
        threads(64, |addr, stop| {
            let mut stream = TcpStream::connect(addr).expect("connect");
            stream.set_nonblocking(true).unwrap();
            // 200 pipelined requests at once, then 10 more every 50 ms while the socket takes
            // them; never a read.
            let mut burst = 200;
            while !stop.load(Relaxed) {
                for _ in 0..burst {
                    match stream.write(REQUEST) {
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        // Closed by the server (write timeout): the attack goes on anew.
                        Err(_) => {
                            stream = TcpStream::connect(addr).expect("reconnect");
                            stream.set_nonblocking(true).unwrap();
                            break;
                        }
                    }
                }
                burst = 10;
                std::thread::sleep(Duration::from_millis(50));
            }
        }),
    );
}

#[test]
fn idle_sockets() {
    let _serial = serial();
    let fixture = Fixture::new(config());
    fixture.check_under("500 idle sockets", |addr| {
        let sockets: Vec<TcpStream> = (0..500).map(|_| TcpStream::connect(addr).expect("connect")).collect();
        Box::new(move || drop(sockets))
    });
    // More sockets than `max_connections` (256): the oldest idle ones made room.
    assert!(fixture.server().stats().evicted >= 500 - 256, "{:?}", fixture.server().stats());
}

#[test]
fn greedy_pipelining_scrapers() {
    let _serial = serial();
    let fixture = Fixture::new(config());
    fixture.check_under(
        "4 greedy pipelining gzip scrapers",
        threads(4, |addr, stop| {
            let mut stream = TcpStream::connect(addr).expect("connect");
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            // Keep 16 requests in flight, one more for every response read.
            for _ in 0..16 {
                stream.write_all(REQUEST).unwrap();
            }
            let mut buf = vec![0u8; 1 << 16];
            let mut seen = Vec::new();
            while !stop.load(Relaxed) {
                let n = match stream.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        // Closed (the per-connection request cap): reconnect and go on.
                        stream = TcpStream::connect(addr).expect("reconnect");
                        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                        for _ in 0..16 {
                            stream.write_all(REQUEST).unwrap();
                        }
                        continue;
                    }
                    Ok(n) => n,
                };
                seen.extend_from_slice(&buf[..n]);
                let heads = seen.windows(9).filter(|w| w == b"HTTP/1.1 ").count();
                if heads > 1 {
                    // A response ended: ask again (approximately one request per response).
                    let _ = stream.write_all(REQUEST);
                    seen.drain(..seen.len() / 2);
                }
            }
        }),
    );
}

#[test]
fn a_client_that_stops_reading_is_cut_off_after_the_write_timeout() {
    let _serial = serial();
    let config =
        ServerConfig { write_timeout: Duration::from_millis(300), min_render_interval: Duration::ZERO, ..config() };
    // A big exposition, so that unread responses fill the socket buffers quickly.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dynamic = metrics_runtime::dynamic::BoundedRegistry::new(metrics_runtime::dynamic::BoundedConfig {
        max_series_per_family: 10_000,
        max_new_series_per_sec: 1_000_000,
        ..Default::default()
    });
    let wide = dynamic.counter("wide_total", "Many series.", &["id"]).unwrap();
    for i in 0..5_000 {
        wide.inc(&[&format!("series-{i:05}")]).unwrap();
    }
    let mut registry = Registry::new();
    registry.register_arc(Arc::new(dynamic) as Arc<dyn Metrics>).unwrap();
    let server = runtime.block_on(serve(Arc::new(registry), config)).expect("serve");
    let addr = server.local_addr();

    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_nonblocking(true).unwrap();
    let accepted = Instant::now();
    while server.stats().open_connections == 0 {
        assert!(accepted.elapsed() < Duration::from_secs(5), "not accepted");
        std::thread::sleep(Duration::from_millis(1));
    }
    let started = Instant::now();
    let plain = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    let mut closed_after = None;
    while started.elapsed() < Duration::from_secs(20) {
        match stream.write(plain) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break,
        }
        if server.stats().open_connections == 0 {
            closed_after = Some(started.elapsed());
            break;
        }
    }
    let closed_after = closed_after.unwrap_or_else(|| panic!("still open after 20 s: {:?}", server.stats()));
    println!("never-reading client cut off after {closed_after:?}: {:?}", server.stats());
    assert!(closed_after >= Duration::from_millis(300), "closed before the write timeout: {closed_after:?}");
    // And the server still serves.
    assert!(scrape_dynamic(addr).contains("wide_total{id=\"series-04999\"} 1\n"));
    runtime.block_on(server.shutdown());
}

fn scrape_dynamic(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("a complete response within 5 s");
    String::from_utf8(response).expect("text")
}
