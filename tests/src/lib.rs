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
        let binary = tool("prometheus");
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let dir = std::env::temp_dir().join(format!("metrics-runtime-prom-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(dir.join("data")).expect("temp dir");
        let list = targets.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: 'app'\n    static_configs:\n      - targets: [{list}]\n"
        );
        std::fs::write(dir.join("prometheus.yml"), config).expect("write config");
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .args(features.iter().map(|f| format!("--enable-feature={f}")))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).expect("log file"))
            .spawn()
            .expect("start prometheus");
        Self { child, dir, url: format!("http://127.0.0.1:{port}") }
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
