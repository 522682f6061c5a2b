//! Bearer and Basic authentication on the `/metrics` server: a real HTTP client without or
//! with wrong credentials gets `401` (with `WWW-Authenticate`) and nothing is rendered for it;
//! the right ones get the exposition; a real Prometheus scrapes with `authorization` and
//! `basic_auth`, and a target scraped with a wrong token is down with a 401.

use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_runtime::http::{serve, Auth, ServerConfig, ServerHandle};
use metrics_runtime::{Counter, Metrics, Registry};
use tests::{free_port, PrometheusServer};

#[derive(Metrics)]
#[metrics(namespace = "guarded")]
struct Guarded {
    /// Jobs run.
    jobs_total: Counter,
}

static GUARDED: Guarded = Guarded::new();

fn server(runtime: &tokio::runtime::Runtime, auth: Auth) -> ServerHandle {
    let mut registry = Registry::new();
    registry.register(&GUARDED).unwrap();
    let config = ServerConfig { addr: "127.0.0.1:0".parse().unwrap(), auth: Some(auth), ..ServerConfig::default() };
    runtime.block_on(serve(Arc::new(registry), config)).unwrap()
}

/// (status, `WWW-Authenticate`, body) of a GET with `authorization`, if any.
fn get(url: &str, authorization: Option<&str>) -> (u16, Option<String>, String) {
    let mut request = ureq::get(url).timeout(Duration::from_secs(5));
    if let Some(value) = authorization {
        request = request.set("Authorization", value);
    }
    let response = match request.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let challenge = response.header("www-authenticate").map(str::to_owned);
    (response.status(), challenge, response.into_string().unwrap())
}

#[test]
fn wrong_or_missing_credentials_get_401_without_a_render() {
    GUARDED.jobs_total.inc();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let bearer = server(&runtime, Auth::Bearer("s3cret-token".into()));
    let url = format!("http://{}/metrics", bearer.local_addr());
    for bad in
        [None, Some("Bearer wrong"), Some("Bearer s3cret-token-and-more"), Some("Basic s3cret-token"), Some("Bearer")]
    {
        let (status, challenge, body) = get(&url, bad);
        assert_eq!(status, 401, "{bad:?}");
        assert_eq!(challenge.as_deref(), Some("Bearer realm=\"metrics\""));
        assert!(!body.contains("guarded_jobs_total"), "{body}");
    }
    assert_eq!(bearer.stats().renders, 0, "nothing was rendered for a refused request");
    assert_eq!(bearer.stats().unauthorized, 5);
    let (status, _, body) = get(&url, Some("bearer s3cret-token")); // the scheme is case-insensitive
    assert_eq!(status, 200);
    assert!(body.contains("guarded_jobs_total 1"), "{body}");
    // Another path is 404 whoever asks: the check guards the metrics path only.
    assert_eq!(get(&format!("http://{}/other", bearer.local_addr()), None).0, 404);

    let basic = server(&runtime, Auth::Basic { username: "prometheus".into(), password: "pa:ss wörd".into() });
    let url = format!("http://{}/metrics", basic.local_addr());
    assert_eq!(get(&url, None).0, 401);
    use base64::Engine as _;
    let good = base64::engine::general_purpose::STANDARD.encode("prometheus:pa:ss wörd");
    let wrong = base64::engine::general_purpose::STANDARD.encode("prometheus:pass");
    assert_eq!(get(&url, Some(&format!("Basic {wrong}"))).0, 401);
    assert_eq!(get(&url, Some(&format!("Basic {good}"))).0, 200);
    runtime.block_on(bearer.shutdown());
    runtime.block_on(basic.shutdown());
}

#[test]
fn prometheus_scrapes_with_its_authorization_and_basic_auth_settings() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let bearer = server(&runtime, Auth::Bearer("prom-token".into()));
    let basic = server(&runtime, Auth::Basic { username: "scraper".into(), password: "hunter2".into() });
    let jobs = format!(
        "  - job_name: 'bearer'\n    authorization:\n      credentials: 'prom-token'\n    static_configs:\n      - targets: ['{}']\n\
         \x20 - job_name: 'basic'\n    basic_auth:\n      username: 'scraper'\n      password: 'hunter2'\n    static_configs:\n      - targets: ['{}']\n\
         \x20 - job_name: 'wrong'\n    authorization:\n      credentials: 'not-the-token'\n    static_configs:\n      - targets: ['{}']\n",
        bearer.local_addr(),
        basic.local_addr(),
        bearer.local_addr()
    );
    let prometheus = PrometheusServer::start_jobs(free_port(), &jobs, &[], &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let targets = prometheus.api("/api/v1/targets", &[]).unwrap_or_default();
        let active = targets["data"]["activeTargets"].as_array().cloned().unwrap_or_default();
        let health = |job: &str| {
            active.iter().find(|t| t["labels"]["job"] == job).map(|t| (t["health"].clone(), t["lastError"].clone()))
        };
        if let (Some((b, _)), Some((a, _)), Some((w, err))) = (health("bearer"), health("basic"), health("wrong")) {
            if b == "up" && a == "up" && w == "down" {
                assert!(err.as_str().is_some_and(|e| e.contains("401")), "{err}");
                break;
            }
        }
        assert!(Instant::now() < deadline, "targets: {targets}\n{}", prometheus.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(bearer.stats().unauthorized >= 1);
    runtime.block_on(bearer.shutdown());
    runtime.block_on(basic.shutdown());
}
