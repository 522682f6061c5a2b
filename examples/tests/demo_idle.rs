//! An idle process stays quiet: the release demo with `--idle`, its `/metrics` server and every
//! push exporter running at the default 10 s interval (OTLP, remote write, Pushgateway and
//! StatsD, each to a real receiver), unscraped, measured from `/proc` over 20 s: at most 0.5
//! wakeups per second (voluntary context switches of all its threads) and 0.05% CPU of wall
//! time. A benchmark-style check: it prints the figures, and it also checks that the exporters
//! did push during the window (a quiet process that sends nothing would prove nothing).
//!
//! It measures the release build (`target/release/demo`, which `scripts/test.sh` builds before
//! the tests): CPU time is the product's, not a debug build's.

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tests::{free_port, OtlpReceiver, PrometheusServer, Pushgateway, Running};

/// The release demo beside the debug one this test was built with; refused when older than any
/// source it is built from (a release build of older sources).
fn release_demo() -> PathBuf {
    let debug = PathBuf::from(env!("CARGO_BIN_EXE_demo"));
    let release = debug.parent().and_then(|d| d.parent()).expect("target dir").join("release").join("demo");
    let how = "run `cargo build --release -p examples --bin demo` (scripts/test.sh does)";
    let built = std::fs::metadata(&release)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing: {how}", release.display()));
    let root = tests::workspace_root();
    let mut newest = std::fs::metadata(root.join("Cargo.lock")).and_then(|m| m.modified()).expect("Cargo.lock");
    let mut dirs: Vec<PathBuf> =
        ["metrics-rules", "metrics-derive", "metrics-runtime", "examples"].iter().map(|c| root.join(c)).collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "tests") {
                    dirs.push(path);
                }
            } else if let Ok(modified) = entry.metadata().and_then(|m| m.modified()) {
                newest = newest.max(modified);
            }
        }
    }
    assert!(built >= newest, "{} is older than its sources: {how}", release.display());
    release
}

/// Voluntary context switches (each a wakeup: the thread had blocked) and CPU time in
/// nanoseconds, summed over every thread of `pid`.
fn sample(pid: u32) -> (u64, u64) {
    examples::activity(&PathBuf::from(format!("/proc/{pid}"))).expect("the demo's threads")
}

#[test]
fn an_idle_process_with_every_exporter_wakes_at_most_half_a_time_per_second() {
    let demo = release_demo();
    let remote_write = PrometheusServer::remote_write_receiver(free_port(), &[]);
    let pushgateway = Pushgateway::start();
    let otlp = OtlpReceiver::start();
    let statsd = UdpSocket::bind("127.0.0.1:0").unwrap();
    statsd.set_read_timeout(Some(Duration::from_millis(100))).unwrap();

    let mut child = Running(
        Command::new(demo)
            .args(["--idle", "--listen", &format!("127.0.0.1:{}", free_port()), "--push-interval-ms", "10000"])
            .args(["--otlp", &otlp.url, "--remote-write", &remote_write.remote_write_url()])
            .args(["--pushgateway", &pushgateway.url, "--statsd", &statsd.local_addr().unwrap().to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the demo"),
    );
    let pid = child.0.id();

    // The first push round (one to two intervals after start), then a moment to settle.
    let first = otlp.wait_requests(1, Duration::from_secs(30)).len();
    std::thread::sleep(Duration::from_secs(1));

    let window = Duration::from_secs(20);
    let started = Instant::now();
    let (switches_0, cpu_0) = sample(pid);
    std::thread::sleep(window);
    let (switches_1, cpu_1) = sample(pid);
    let elapsed = started.elapsed().as_secs_f64();
    let wakeups_per_second = (switches_1 - switches_0) as f64 / elapsed;
    let cpu_share = (cpu_1 - cpu_0) as f64 / 1e9 / elapsed;
    println!(
        "idle demo, 4 exporters at 10 s: {} wakeups in {elapsed:.1} s = {wakeups_per_second:.2}/s; CPU {:.2} ms = {:.4}% of wall time",
        switches_1 - switches_0,
        (cpu_1 - cpu_0) as f64 / 1e6,
        cpu_share * 100.0
    );

    // It did push during the window: two more OTLP requests, a Pushgateway group, datagrams.
    let requests = otlp.wait_requests(first + 2, Duration::from_secs(1)).len();
    assert!(requests >= first + 2, "{requests} OTLP requests");
    assert!(pushgateway.scrape().contains("job=\"demo\""), "nothing pushed to the Pushgateway");
    let mut buf = [0u8; 65536];
    assert!(statsd.recv(&mut buf).is_ok_and(|n| n > 0), "no StatsD datagram");
    let pushed = remote_write.query_value("count(demo_requests_total)", Duration::from_secs(10));
    assert!(pushed > 0.0, "nothing remote-written");

    assert!(wakeups_per_second <= 0.5, "{wakeups_per_second:.2} wakeups per second, above 0.5");
    assert!(cpu_share <= 0.0005, "{:.4}% CPU, above 0.05%", cpu_share * 100.0);

    // It stops cleanly on Ctrl-C.
    let stopped = Command::new("kill").args(["-INT", &pid.to_string()]).status().expect("kill -INT");
    assert!(stopped.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the demo did not stop within 15 s of Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}
