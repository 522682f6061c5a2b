//! Reads are pure: rendering every format, snapshots, a scrape of the HTTP server and a StatsD
//! flush leave every value, series and counter as they were. Only the explicit maintenance
//! step changes what a registry holds.

use std::sync::Arc;
use std::time::Duration;

use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
use metrics_runtime::http::{serve, ServerConfig};
use metrics_runtime::snapshot::Snapshot;
use metrics_runtime::statsd::{StatsdConfig, StatsdExporter};
use metrics_runtime::{Format, Registry};
use tests::conformance::populated;

fn state(registry: &Registry, dynamic: &BoundedRegistry) -> (Snapshot, usize) {
    (registry.snapshot(), dynamic.series_count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_snapshots_and_flushes_change_nothing() {
    // Idle at once: a read that evicted would drop these series.
    let dynamic = Arc::new(BoundedRegistry::new(BoundedConfig {
        idle_timeout: Some(Duration::ZERO),
        max_series_per_family: 2,
        ..BoundedConfig::default()
    }));
    let hits = dynamic.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    for tenant in ["acme", "globex", "initech"] {
        hits.inc(&[tenant]).unwrap(); // the third goes to the overflow series
    }
    let sizes = dynamic.histogram("tenant_upload_bytes", "Uploads.", &["tenant"], &[1e3, 1e6]).unwrap();
    sizes.record(&["acme"], 5e5).unwrap();
    let mut registry = Registry::new();
    registry.register_arc(Arc::new(populated())).unwrap();
    registry.register_arc(dynamic.clone()).unwrap();
    registry.export_own_memory().unwrap();
    let registry = Arc::new(registry);

    let before = state(&registry, &dynamic);
    std::thread::sleep(Duration::from_millis(20));
    for format in [Format::Prometheus, Format::OpenMetrics, Format::Json] {
        for _ in 0..3 {
            let _ = registry.render(format);
        }
    }
    let _ = registry.snapshot();
    assert_eq!(state(&registry, &dynamic), before, "rendering or a snapshot changed the registry");

    // A StatsD flush (to a socket that receives and discards).
    let sink = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let config = StatsdConfig { target: sink.local_addr().unwrap(), ..StatsdConfig::default() };
    let exporter = StatsdExporter::start(Arc::clone(&registry), config).await.unwrap();
    let _ = exporter.flush().await;
    let _ = exporter.shutdown().await;
    assert_eq!(state(&registry, &dynamic).0, before.0, "a push flush changed a value");

    // A scrape through the HTTP server: values unchanged. (The server runs maintenance after
    // its renders, on purpose: that, not the read, may evict.)
    let server =
        serve(Arc::clone(&registry), ServerConfig { addr: "127.0.0.1:0".parse().unwrap(), ..ServerConfig::default() })
            .await
            .unwrap();
    let addr = server.local_addr();
    let body = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    assert!(body.contains("tenant_hits_total{tenant=\"acme\"} 1\n"), "{body}");
    server.shutdown().await;

    // Maintenance is what evicts: two calls with no update between them (timeout zero).
    dynamic.maintain();
    dynamic.maintain();
    assert_eq!(dynamic.series_count(), 0);
}
