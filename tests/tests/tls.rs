//! TLS (feature `tls`), with certificates of a CA made here: the `/metrics` server over TLS with
//! bearer authentication, scraped by curl and by a real Prometheus (`scheme: https`,
//! `tls_config`, `authorization`); wrong or missing credentials get 401 without a render, an
//! untrusted certificate and plain HTTP are refused; stalled and garbage handshakes are closed
//! within the handshake timeout while a well-behaved client is served at once. And the push
//! exporters over TLS: remote write into a Prometheus and a Pushgateway serving TLS
//! (`--web.config.file`), trusting the CA, and refusing the receiver when they do not.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_runtime::http::{serve, Auth, ServerConfig};
use metrics_runtime::push::pushgateway::{self, PushgatewayConfig};
use metrics_runtime::push::remote_write::{self, RemoteWriteConfig};
use metrics_runtime::push::{PushConfig, Source};
use metrics_runtime::tls::{ClientTls, TlsConfig};
use metrics_runtime::{Counter, Metrics, Registry};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use tests::{free_port, tool, Running};

/// A CA and a certificate it signed for `localhost` and 127.0.0.1, written to a directory.
struct Certs {
    dir: PathBuf,
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

impl Certs {
    fn new(name: &str) -> Self {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "metrics-runtime test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let mut leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        leaf.distinguished_name.push(DnType::CommonName, "localhost");
        let cert_pem = leaf.signed_by(&key, &issuer).unwrap().pem();
        let key_pem = key.serialize_pem();
        let dir = std::env::temp_dir().join(format!("metrics-runtime-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.pem"), &ca_pem).unwrap();
        std::fs::write(dir.join("cert.pem"), &cert_pem).unwrap();
        std::fs::write(dir.join("key.pem"), &key_pem).unwrap();
        Certs { dir, ca_pem, cert_pem, key_pem }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    /// A web config (Prometheus exporter-toolkit) serving TLS with the certificate.
    fn web_config(&self) -> String {
        let path = self.dir.join("web.yml");
        std::fs::write(
            &path,
            format!(
                "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
                self.path("cert.pem"),
                self.path("key.pem")
            ),
        )
        .unwrap();
        path.display().to_string()
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `curl` with `args`: (exit code, HTTP status, body).
fn curl(args: &[&str]) -> (i32, u16, String) {
    let out = Command::new(tool("curl"))
        .args(["-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (out.status.code().unwrap_or(-1), code.trim().parse().unwrap_or(0), body.to_owned())
}

#[derive(Metrics)]
#[metrics(namespace = "tls")]
struct Served {
    /// Requests handled.
    requests_total: Counter,
}

static SERVED: Served = Served::new();

fn registry() -> Arc<Registry> {
    let mut registry = Registry::new();
    registry.register(&SERVED).unwrap();
    Arc::new(registry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_server_over_tls_with_curl_and_prometheus() {
    let certs = Certs::new("server");
    SERVED.requests_total.add(7);
    let config = ServerConfig {
        addr: ([127, 0, 0, 1], 0).into(),
        auth: Some(Auth::Bearer("t0ken".into())),
        tls: Some(TlsConfig::from_pem(certs.cert_pem.as_bytes(), certs.key_pem.as_bytes()).unwrap()),
        ..ServerConfig::default()
    };
    let server = serve(registry(), config).await.unwrap();
    let port = server.local_addr().port();
    let https = format!("https://127.0.0.1:{port}/metrics");
    let ca = certs.path("ca.pem");

    let (exit, status, body) = tokio::task::spawn_blocking({
        let (https, ca) = (https.clone(), ca.clone());
        move || curl(&["--cacert", &ca, "-H", "Authorization: Bearer t0ken", &https])
    })
    .await
    .unwrap();
    assert_eq!((exit, status), (0, 200), "{body}");
    assert!(body.contains("tls_requests_total 7\n"), "{body}");
    let renders = server.stats().renders;

    // Wrong or missing credentials: 401, nothing rendered.
    for auth in [vec!["-H", "Authorization: Bearer wrong"], vec![]] {
        let (https, ca) = (https.clone(), ca.clone());
        let (exit, status, body) = tokio::task::spawn_blocking(move || {
            let mut args: Vec<&str> = vec!["--cacert", &ca];
            args.extend(auth);
            args.push(&https);
            curl(&args)
        })
        .await
        .unwrap();
        assert_eq!((exit, status), (0, 401), "{body}");
        assert!(!body.contains("tls_requests_total"));
    }
    assert_eq!(server.stats().renders, renders, "a refused request rendered");
    assert_eq!(server.stats().unauthorized, 2);

    // A client that does not trust the CA refuses the server; plain HTTP gets nothing.
    let failed_before = server.stats().tls_failed;
    let untrusted = tokio::task::spawn_blocking({
        let https = https.clone();
        move || curl(&["-H", "Authorization: Bearer t0ken", &https])
    })
    .await
    .unwrap();
    assert_eq!(untrusted.0, 60, "curl should refuse an unknown CA: {untrusted:?}");
    let plain =
        tokio::task::spawn_blocking(move || curl(&[&format!("http://127.0.0.1:{port}/metrics")])).await.unwrap();
    assert_ne!(plain.1, 200, "{plain:?}");
    assert!(!plain.2.contains("tls_requests_total"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.stats().tls_failed < failed_before + 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.stats().tls_failed >= failed_before + 2, "{:?}", server.stats());

    // A real Prometheus scraping with `scheme: https`, `tls_config` and `authorization`.
    let jobs = format!(
        "  - job_name: 'good'\n    scheme: https\n    tls_config:\n      ca_file: '{ca}'\n    authorization:\n      credentials: 't0ken'\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n\
         \x20 - job_name: 'wrong_token'\n    scheme: https\n    tls_config:\n      ca_file: '{ca}'\n    authorization:\n      credentials: 'nope'\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n\
         \x20 - job_name: 'untrusted'\n    scheme: https\n    authorization:\n      credentials: 't0ken'\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    );
    let prometheus = tokio::task::spawn_blocking(move || {
        let prometheus = tests::PrometheusServer::start_jobs(free_port(), &jobs, &[], &[]);
        prometheus.wait_ready(Duration::from_secs(30));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let targets = prometheus.api("/api/v1/targets", &[]).unwrap_or_default();
            let active = targets["data"]["activeTargets"].as_array().cloned().unwrap_or_default();
            let health = |job: &str| {
                active.iter().find(|t| t["labels"]["job"] == job).map(|t| {
                    (
                        t["health"].as_str().unwrap_or_default().to_owned(),
                        t["lastError"].as_str().unwrap_or_default().to_owned(),
                    )
                })
            };
            if let (Some(good), Some(wrong), Some(untrusted)) =
                (health("good"), health("wrong_token"), health("untrusted"))
            {
                if good.0 == "up" && wrong.0 == "down" && untrusted.0 == "down" {
                    assert!(wrong.1.contains("401"), "{wrong:?}");
                    assert!(untrusted.1.contains("certificate"), "{untrusted:?}");
                    break;
                }
            }
            assert!(Instant::now() < deadline, "targets: {active:?}\n{}", prometheus.log());
            std::thread::sleep(Duration::from_millis(200));
        }
        let value = prometheus.query_value("tls_requests_total{job=\"good\"}", Duration::from_secs(10));
        assert_eq!(value, 7.0);
        prometheus
    })
    .await
    .unwrap();
    drop(prometheus);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_and_garbage_handshakes_do_not_delay_a_scraper() {
    let certs = Certs::new("hostile");
    let config = ServerConfig {
        addr: ([127, 0, 0, 1], 0).into(),
        header_read_timeout: Duration::from_secs(1),
        tls: Some(TlsConfig::from_pem_files(certs.path("cert.pem"), certs.path("key.pem")).unwrap()),
        ..ServerConfig::default()
    };
    let server = serve(registry(), config).await.unwrap();
    let addr: SocketAddr = server.local_addr();
    // 150 clients that connect and never start the handshake, 50 that send garbage.
    let mut hostile: Vec<TcpStream> = (0..150).map(|_| TcpStream::connect(addr).unwrap()).collect();
    for _ in 0..50 {
        let mut s = TcpStream::connect(addr).unwrap();
        let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01garbage");
        hostile.push(s);
    }
    let ca = certs.path("ca.pem");
    let started = Instant::now();
    let (exit, status, body) = tokio::task::spawn_blocking(move || {
        curl(&["--cacert", &ca, &format!("https://127.0.0.1:{}/metrics", addr.port())])
    })
    .await
    .unwrap();
    let latency = started.elapsed();
    assert_eq!((exit, status), (0, 200), "{body}");
    assert!(latency < Duration::from_millis(1500), "a scraper waited {latency:?} behind stalled handshakes");
    // Every hostile connection is closed within the handshake timeout, and counted.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.stats().tls_failed < 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = server.stats();
    assert!(stats.tls_failed >= 200, "{stats:?}");
    assert!(stats.open_connections <= 1, "{stats:?}");
    drop(hostile);
    server.shutdown().await;
}

/// Waits until `url` answers over TLS (trusting `ca`).
fn wait_tls_ready(url: &str, ca: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while curl(&["--cacert", ca, url]).1 != 200 {
        assert!(Instant::now() < deadline, "{url} not ready over TLS");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[derive(Metrics)]
#[metrics(namespace = "tls_push")]
struct Pushed {
    /// Jobs run.
    jobs_total: Counter,
}

static PUSHED: Pushed = Pushed::new();

#[test]
fn push_exporters_over_tls_trust_the_configured_roots_only() {
    let certs = Certs::new("push");
    let ca = certs.path("ca.pem");
    let web = certs.web_config();
    PUSHED.jobs_total.add(11);

    // A Prometheus remote-write receiver and a Pushgateway, both serving TLS.
    let port = free_port();
    let prometheus = tests::PrometheusServer::start_on(
        port,
        &[],
        &[],
        &["--web.enable-remote-write-receiver", &format!("--web.config.file={web}")],
    );
    wait_tls_ready(&format!("https://127.0.0.1:{port}/-/ready"), &ca);
    let gateway_port = free_port();
    let _gateway = Running(
        Command::new(tool("prometheus-pushgateway"))
            .args([format!("--web.listen-address=127.0.0.1:{gateway_port}"), format!("--web.config.file={web}")])
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the pushgateway"),
    );
    wait_tls_ready(&format!("https://127.0.0.1:{gateway_port}/-/ready"), &ca);

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let trusted =
            PushConfig { tls: ClientTls::with_ca_pem(certs.ca_pem.as_bytes()).unwrap(), ..PushConfig::default() };
        let mut rw = RemoteWriteConfig::new(&format!("https://127.0.0.1:{port}/api/v1/write")).unwrap();
        rw.push = trusted.clone();
        let exporter = remote_write::start(Source::new().with(&PUSHED), rw).unwrap();
        let report = exporter.flush().await;
        assert_eq!(report.error, None, "{report:?}");
        assert!(report.points_sent > 0, "{report:?}");
        exporter.shutdown().await;

        let mut pg = PushgatewayConfig::new(&format!("https://127.0.0.1:{gateway_port}"), "tls_job").unwrap();
        pg.push = trusted;
        let exporter = pushgateway::start(Source::new().with(&PUSHED), pg).unwrap();
        let report = exporter.flush().await;
        assert_eq!(report.error, None, "{report:?}");
        exporter.shutdown().await;

        // Mozilla's roots do not include this CA: the handshake fails, nothing is delivered.
        let mut untrusted = RemoteWriteConfig::new(&format!("https://127.0.0.1:{port}/api/v1/write")).unwrap();
        untrusted.push = PushConfig { max_queued_batches: 1, ..PushConfig::default() };
        let exporter = remote_write::start(Source::new().with(&PUSHED), untrusted).unwrap();
        let report = exporter.flush().await;
        let error = report.error.clone().unwrap_or_default();
        assert!(error.contains("certificate") || error.contains("UnknownIssuer"), "{report:?}");
        assert_eq!(report.points_sent, 0);
        exporter.shutdown().await;
    });

    // What the receivers hold, read back over TLS.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, _, body) = curl(&[
            "--cacert",
            &ca,
            "-G",
            &format!("https://127.0.0.1:{port}/api/v1/query"),
            "--data-urlencode",
            "query=tls_push_jobs_total",
        ]);
        if body.contains("\"11\"") {
            break;
        }
        assert!(Instant::now() < deadline, "remote-written sample not found: {body}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let (_, status, body) = curl(&["--cacert", &ca, &format!("https://127.0.0.1:{gateway_port}/metrics")]);
    assert_eq!(status, 200);
    assert!(body.contains("tls_push_jobs_total{instance=\"\",job=\"tls_job\"} 11"), "{body}");
    drop(prometheus);
}
