//! Support for the integration tests: locating the real tools they run against.
//!
//! The tools are installed by `scripts/install-tools.sh` (which `scripts/test.sh` and `.ci/run`
//! call). A missing tool fails the test with a message saying how to install it: conformance is
//! never skipped.

pub mod conformance;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace").to_path_buf()
}

/// The path of a tool installed by `scripts/install-tools.sh` under `target/tools/bin` (or
/// `$TOOLS_DIR/bin`), or a panic saying how to install it. `node` and other tools the machine
/// provides are found on `PATH`.
pub fn tool(name: &str) -> PathBuf {
    let tools = std::env::var_os("TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target").join("tools"));
    let installed = tools.join("bin").join(name);
    if installed.is_file() {
        return installed;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("`{name}` is not installed; run `scripts/install-tools.sh` (CI runs it through `scripts/test.sh`)");
}

/// The Python interpreter of the tools virtualenv (with `prometheus_client`).
pub fn python() -> PathBuf {
    let venv = std::env::var_os("TOOLS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target").join("tools-venv"));
    let python = venv.join("bin").join("python");
    assert!(
        python.is_file(),
        "the tools virtualenv is missing at {}; run `scripts/install-tools.sh`",
        python.display()
    );
    python
}

/// Runs `program args` with `input` on stdin; returns (success, stdout, stderr).
pub fn run_with_stdin(program: &Path, args: &[&str], input: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("wait for child");
    writer.join().expect("stdin writer").expect("write stdin");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The strict OpenMetrics parser of `prometheus_client`, as a script: reads the exposition on
/// stdin, prints one JSON object per sample (`family`, `type`, `unit`, `help`, `name`,
/// `labels`, `value`), and exits non-zero with the parser's message on any error.
pub const OPENMETRICS_PARSE_SCRIPT: &str = r#"
import json, math, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
text = sys.stdin.read()
out = []
try:
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            v = s.value
            if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
                v = repr(v)
            e = s.exemplar
            ex = None if e is None else {"labels": e.labels, "value": e.value, "timestamp": None if e.timestamp is None else float(e.timestamp)}
            out.append({"family": fam.name, "type": fam.type, "unit": fam.unit, "help": fam.documentation,
                        "name": s.name, "labels": s.labels, "value": v, "exemplar": ex})
except Exception as e:
    print("parse error: %s: %s" % (type(e).__name__, e), file=sys.stderr)
    sys.exit(1)
json.dump(out, sys.stdout)
"#;

/// Parses OpenMetrics text with the strict `prometheus_client` parser.
///
/// # Panics
///
/// When the parser rejects the text (the message is the parser's) or the tool is missing.
pub fn parse_openmetrics_strict(text: &str) -> Vec<serde_json::Value> {
    let (ok, stdout, stderr) = run_with_stdin(&python(), &["-c", OPENMETRICS_PARSE_SCRIPT], text);
    assert!(ok, "the strict OpenMetrics parser rejected the exposition: {stderr}\n--- text ---\n{text}");
    serde_json::from_str(&stdout).expect("parser output is JSON")
}

/// Runs `promtool check metrics` on Prometheus text; returns its complaints (empty when clean).
pub fn promtool_check(text: &str) -> Result<(), String> {
    let (ok, stdout, stderr) = run_with_stdin(&tool("promtool"), &["check", "metrics"], text);
    if ok && stdout.trim().is_empty() && stderr.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("promtool check metrics (success: {ok}):\n{stdout}{stderr}"))
    }
}

/// A Prometheus server started for one test on 127.0.0.1, with its own config and data
/// directory; killed and cleaned up on drop.
pub struct PrometheusServer {
    child: std::process::Child,
    dir: PathBuf,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

/// A child process killed (and reaped) on drop, so that a failing test leaves none behind.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind 127.0.0.1:0").port()
}

impl PrometheusServer {
    /// Starts `prometheus` scraping `targets` (each `host:port`, path `/metrics`) every second.
    pub fn start(targets: &[String]) -> Self {
        Self::start_with(targets, &[])
    }

    /// As [`start`](Self::start), with `--enable-feature` for each of `features`.
    pub fn start_with(targets: &[String], features: &[&str]) -> Self {
        Self::start_on(free_port(), targets, features, &[])
    }

    /// A server that scrapes nothing and takes remote writes (`--web.enable-remote-write-receiver`)
    /// on `port`, with `--enable-feature` for each of `features`; returns once it is ready.
    pub fn remote_write_receiver(port: u16, features: &[&str]) -> Self {
        let server = Self::start_on(port, &[], features, &["--web.enable-remote-write-receiver"]);
        server.wait_ready(std::time::Duration::from_secs(30));
        server
    }

    /// The remote-write URL of a server started by [`remote_write_receiver`](Self::remote_write_receiver).
    pub fn remote_write_url(&self) -> String {
        format!("{}/api/v1/write", self.url)
    }

    /// Starts `prometheus` on `port` scraping `targets` every second, with `--enable-feature`
    /// for each of `features` and the extra `args`.
    pub fn start_on(port: u16, targets: &[String], features: &[&str], args: &[&str]) -> Self {
        let list = targets.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
        let jobs = if targets.is_empty() {
            String::new()
        } else {
            format!("  - job_name: 'app'\n    static_configs:\n      - targets: [{list}]\n")
        };
        Self::start_jobs(port, &jobs, features, args)
    }

    /// Starts `prometheus` on `port` with `jobs` as its `scrape_configs` entries (YAML, each
    /// starting `  - job_name:`), scraping every second.
    pub fn start_jobs(port: u16, jobs: &str, features: &[&str], args: &[&str]) -> Self {
        Self::start_with_rules(port, jobs, &[], features, args)
    }

    /// As [`start_jobs`](Self::start_jobs), loading the rule files `rules` (evaluated every
    /// second).
    pub fn start_with_rules(port: u16, jobs: &str, rules: &[&Path], features: &[&str], args: &[&str]) -> Self {
        let binary = tool("prometheus");
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let dir = std::env::temp_dir().join(format!("metrics-runtime-prom-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(dir.join("data")).expect("temp dir");
        let mut config = "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n".to_owned();
        if !rules.is_empty() {
            config.push_str("rule_files:\n");
            for file in rules {
                config.push_str(&format!("  - '{}'\n", file.display()));
            }
        }
        if !jobs.is_empty() {
            config.push_str("scrape_configs:\n");
            config.push_str(jobs);
        }
        std::fs::write(dir.join("prometheus.yml"), config).expect("write config");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .args(features.iter().map(|f| format!("--enable-feature={f}")))
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).expect("log file"))
            .spawn()
            .expect("start prometheus");
        Self { child, dir, url: format!("http://127.0.0.1:{port}") }
    }

    /// Waits until `/-/ready` answers 200.
    pub fn wait_ready(&self, timeout: std::time::Duration) {
        if !wait_http_ready(&self.url, timeout) {
            panic!("prometheus not ready after {timeout:?}\nlog: {}", self.log());
        }
    }

    /// GETs `path` (with query pairs) from the server's HTTP API and parses the JSON answer.
    pub fn api(&self, path: &str, query: &[(&str, &str)]) -> Option<serde_json::Value> {
        let mut request = ureq::get(&format!("{}{path}", self.url)).timeout(std::time::Duration::from_secs(5));
        for (k, v) in query {
            request = request.query(k, v);
        }
        request.call().ok()?.into_json().ok()
    }

    /// Waits until every target is up (or `timeout` passes); returns the targets' JSON.
    pub fn wait_for_targets_up(&self, count: usize, timeout: std::time::Duration) -> serde_json::Value {
        let deadline = std::time::Instant::now() + timeout;
        let mut last = serde_json::Value::Null;
        while std::time::Instant::now() < deadline {
            if let Some(v) = self.api("/api/v1/targets", &[]) {
                let active = v["data"]["activeTargets"].as_array().cloned().unwrap_or_default();
                if active.len() == count && active.iter().all(|t| t["health"] == "up") {
                    return v;
                }
                last = v;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        panic!("targets not up after {timeout:?}: {last}\nlog: {}", self.log());
    }

    /// The value of an instant query with exactly one result, once it has one.
    pub fn query_value(&self, query: &str, timeout: std::time::Duration) -> f64 {
        let deadline = std::time::Instant::now() + timeout;
        let mut last = serde_json::Value::Null;
        while std::time::Instant::now() < deadline {
            if let Some(v) = self.api("/api/v1/query", &[("query", query)]) {
                if let Some([one]) = v["data"]["result"].as_array().map(Vec::as_slice) {
                    if let Some(text) = one["value"][1].as_str() {
                        return text.parse().unwrap_or(f64::NAN);
                    }
                }
                last = v;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        panic!("query {query} returned no single result: {last}");
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether `base/-/ready` answered 200 within `timeout` (the Prometheus server's and the
/// Pushgateway's readiness endpoint).
fn wait_http_ready(base: &str, timeout: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        let ready = ureq::get(&format!("{base}/-/ready")).timeout(std::time::Duration::from_secs(2)).call();
        if ready.is_ok_and(|r| r.status() == 200) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// A Pushgateway (`prometheus-pushgateway`, the Debian package) started for one test on
/// 127.0.0.1 without persistence; killed on drop.
pub struct Pushgateway {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Pushgateway {
    /// Starts it and waits until it is ready.
    pub fn start() -> Self {
        let port = free_port();
        let child = Command::new(tool("prometheus-pushgateway"))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the pushgateway");
        let gateway = Self { child, url: format!("http://127.0.0.1:{port}") };
        assert!(
            wait_http_ready(&gateway.url, std::time::Duration::from_secs(30)),
            "the pushgateway is not ready after 30 s"
        );
        gateway
    }

    /// What it exposes at `/metrics` (Prometheus text).
    pub fn scrape(&self) -> String {
        ureq::get(&format!("{}/metrics", self.url))
            .timeout(std::time::Duration::from_secs(5))
            .call()
            .expect("scrape the pushgateway")
            .into_string()
            .expect("text")
    }
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An OTLP/HTTP receiver on 127.0.0.1 that decodes every request with the official
/// `opentelemetry-proto` Python package (`tests/otlp_receiver.py`, in the tools virtualenv) and
/// hands back each `ExportMetricsServiceRequest` as the protobuf JSON mapping
/// (`MessageToDict`, proto field names); killed on drop.
pub struct OtlpReceiver {
    child: std::process::Child,
    requests: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    /// `http://127.0.0.1:PORT/v1/metrics`.
    pub url: String,
}

impl OtlpReceiver {
    /// Starts it and waits until it listens.
    pub fn start() -> Self {
        use std::io::BufRead;
        let script = workspace_root().join("tests").join("otlp_receiver.py");
        let mut child = Command::new(python())
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the OTLP receiver");
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let port: u16 = first.strip_prefix("listening ").and_then(|p| p.trim().parse().ok()).unwrap_or_else(|| {
            panic!("the OTLP receiver did not start (is opentelemetry-proto installed? run scripts/install-tools.sh): {first}")
        });
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&requests);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let value: serde_json::Value = serde_json::from_str(&line).expect("the receiver prints JSON");
                sink.lock().expect("requests").push(value);
            }
        });
        Self { child, requests, url: format!("http://127.0.0.1:{port}/v1/metrics") }
    }

    /// Waits until at least `n` requests came; returns them all, decoded. A request the
    /// receiver could not decode is `{"error": ...}`.
    pub fn wait_requests(&self, n: usize, timeout: std::time::Duration) -> Vec<serde_json::Value> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let got = self.requests.lock().expect("requests").clone();
            if got.len() >= n || std::time::Instant::now() > deadline {
                assert!(got.len() >= n, "{} OTLP requests after {timeout:?}, expected {n}", got.len());
                return got;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Decodes a protobuf exposition body (length-delimited `MetricFamily` messages) with the types
/// generated from the official `metrics.proto`.
///
/// # Panics
///
/// When the body does not decode.
pub fn decode_protobuf(body: &[u8]) -> Vec<metrics_runtime::expose::proto::MetricFamily> {
    use prost::Message;
    let mut buf = body;
    let mut families = Vec::new();
    while !buf.is_empty() {
        families.push(
            metrics_runtime::expose::proto::MetricFamily::decode_length_delimited(&mut buf).expect("a MetricFamily"),
        );
    }
    families
}

/// Every Rust block of the README, compiled and run as a doctest: the examples there stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
