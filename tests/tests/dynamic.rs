//! Metrics known only at run time: typed errors for bad names and values, caps, the creation
//! rate limit, eviction, and random label values and HELP text through the strict parser.

use std::time::Duration;

use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, DynamicError, OVERFLOW_VALUE};
use metrics_runtime::{Metrics, MetricsExt};
use proptest::prelude::*;
use serde_json::Value;
use tests::{parse_openmetrics_strict, promtool_check};

#[test]
fn invalid_names_and_values_get_typed_errors_and_never_reach_the_exposition() {
    let r = BoundedRegistry::new(BoundedConfig::default());
    assert!(matches!(r.counter("requests", "x", &[]), Err(DynamicError::InvalidName { .. })));
    assert!(matches!(r.counter("bad-name_total", "x", &[]), Err(DynamicError::InvalidName { .. })));
    assert!(matches!(r.counter("__x_total", "x", &[]), Err(DynamicError::InvalidName { .. })));
    assert!(matches!(r.gauge("latency_milliseconds", "x", &[]), Err(DynamicError::InvalidName { .. })));
    assert!(matches!(r.gauge("depth_count", "x", &[]), Err(DynamicError::InvalidName { .. })));
    assert!(matches!(r.gauge("depth", "", &[]), Err(DynamicError::MissingHelp { .. })));
    assert!(matches!(r.gauge("depth", "x", &["le"]), Err(DynamicError::InvalidLabelName { .. })));
    assert!(matches!(r.gauge("depth", "x", &["a", "a"]), Err(DynamicError::InvalidLabelName { .. })));
    assert!(matches!(r.gauge("depth", "x", &["bad label"]), Err(DynamicError::InvalidLabelName { .. })));
    assert!(matches!(r.histogram("wait_seconds", "x", &[], &[1.0, 0.5]), Err(DynamicError::InvalidBuckets { .. })));
    let hits = r.counter("hits_total", "Hits.", &["route"]).unwrap();
    assert!(matches!(r.counter("hits_total", "Again.", &[]), Err(DynamicError::DuplicateName { .. })));
    assert!(matches!(r.gauge("hits", "Family clash.", &[]), Err(DynamicError::DuplicateName { .. })));

    assert!(matches!(hits.inc(&[""]), Err(DynamicError::InvalidLabelValue { .. })));
    assert!(matches!(hits.inc(&[&"x".repeat(2000)]), Err(DynamicError::InvalidLabelValue { .. })));
    assert!(matches!(hits.inc(&["a", "b"]), Err(DynamicError::LabelCount { expected: 1, given: 2 })));
    hits.inc(&["/home"]).unwrap();
    let h = r.histogram("wait_seconds", "Waits.", &["queue"], &[0.1, 1.0]).unwrap();
    assert!(matches!(h.record(&["q"], f64::NAN), Err(DynamicError::InvalidValue { .. })));
    h.record(&["q"], 0.5).unwrap();

    let om = r.render_openmetrics();
    let samples = parse_openmetrics_strict(&om);
    let names: Vec<&str> = samples.iter().filter_map(|s| s["name"].as_str()).collect();
    assert!(names.contains(&"hits_total"));
    assert!(names.contains(&"wait_seconds_bucket"));
    assert!(!om.contains("route=\"\""), "{om}");
    let rejected = samples.iter().find(|s| s["name"] == "metrics_runtime_dynamic_rejected_updates_total").unwrap();
    assert_eq!(rejected["value"], 4.0);
    promtool_check(&r.render_prometheus()).unwrap();
}

#[test]
fn the_rate_limit_sends_new_series_to_overflow_and_counts_them() {
    let r = BoundedRegistry::new(BoundedConfig { max_new_series_per_sec: 10, ..BoundedConfig::default() });
    let c = r.counter("tenants_total", "By tenant.", &["tenant"]).unwrap();
    for i in 0..100 {
        c.inc(&[&format!("t{i}")]).unwrap();
    }
    // The bucket starts full (10 tokens); a few more may refill while the loop runs.
    let created = r.series_count();
    assert!((10..=15).contains(&created), "{created}");
    assert_eq!(c.total(), 100);
    assert_eq!(c.overflowed(), 100 - created as u64);
    let text = r.render_prometheus();
    assert!(text.contains(&format!("tenants_total{{tenant=\"{OVERFLOW_VALUE}\"}} {}\n", 100 - created)), "{text}");
    assert!(text.contains(&format!("metrics_runtime_dynamic_rate_limited_records_total {}\n", 100 - created)));
}

#[test]
fn idle_series_are_evicted_by_maintenance_never_by_reads() {
    let r = BoundedRegistry::new(BoundedConfig {
        idle_timeout: Some(Duration::from_millis(50)),
        ..BoundedConfig::default()
    });
    let c = r.counter("jobs_total", "Jobs.", &["kind"]).unwrap();
    c.add(&["old"], 5).unwrap();
    std::thread::sleep(Duration::from_millis(80));
    // Reads change nothing, however idle the series.
    for _ in 0..3 {
        assert!(r.render_prometheus().contains("jobs_total{kind=\"old\"} 5\n"));
        let _ = r.snapshot();
    }
    assert_eq!(r.series_count(), 1);
    // The first maintenance notes the update; `old` stays.
    r.maintain();
    assert_eq!(r.series_count(), 1);
    c.inc(&["fresh"]).unwrap();
    std::thread::sleep(Duration::from_millis(80));
    r.maintain();
    // `old` had no update across maintenance calls 80 ms apart: gone. `fresh` was updated: kept.
    assert_eq!(r.series_count(), 1);
    let second = r.render_prometheus();
    assert!(!second.contains("kind=\"old\""), "{second}");
    assert!(second.contains("jobs_total{kind=\"fresh\"} 1\n"));
    assert!(second.contains("metrics_runtime_dynamic_evicted_series_total 1\n"));
    // A held handle keeps its series however idle it is.
    let held = c.with(&["held"]).unwrap();
    held.inc();
    r.maintain();
    std::thread::sleep(Duration::from_millis(80));
    r.maintain();
    held.inc();
    assert!(r.render_prometheus().contains("jobs_total{kind=\"held\"} 2\n"));
}

fn label_value() -> impl Strategy<Value = String> {
    // Any non-empty string, biased towards the characters that need escaping.
    prop_oneof![
        "[a-zA-Z0-9 _./-]{1,20}",
        "[\"\\\\\n{}=,#\t ]{1,10}",
        any::<String>().prop_filter("non-empty", |s| !s.is_empty() && s.len() <= 200),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random label values and HELP strings come back unchanged from the strict parser.
    #[test]
    fn random_labels_and_help_survive_render_and_the_strict_parser(
        values in proptest::collection::vec(label_value(), 1..8),
        help in any::<String>().prop_filter("help", |h| !h.trim().is_empty() && h.len() <= 200),
    ) {
        let r = BoundedRegistry::new(BoundedConfig::default());
        let c = r.counter("fuzz_total", &help, &["v"]).unwrap();
        for (i, v) in values.iter().enumerate() {
            c.add(&[v], i as u64 + 1).unwrap();
        }
        let samples = parse_openmetrics_strict(&r.render_openmetrics());
        let ours: Vec<&Value> = samples.iter().filter(|s| s["name"] == "fuzz_total").collect();
        let mut distinct = values.clone();
        distinct.sort();
        distinct.dedup();
        prop_assert_eq!(ours.len(), distinct.len());
        for s in &ours {
            prop_assert_eq!(s["help"].as_str().unwrap(), help.trim());
            let v = s["labels"]["v"].as_str().unwrap();
            let expected: u64 = values.iter().enumerate().filter(|(_, x)| x.as_str() == v).map(|(i, _)| i as u64 + 1).sum();
            prop_assert_eq!(s["value"].as_f64().unwrap(), expected as f64);
        }
    }
}

/// `remove` while writers update the same series and a reader renders: nothing panics, the
/// exposition stays valid, and the series count stays exact (all removed at the end: zero).
#[test]
fn remove_under_concurrent_writers_keeps_the_counts_exact() {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    use std::sync::Arc;
    let registry =
        Arc::new(BoundedRegistry::new(BoundedConfig { max_new_series_per_sec: u32::MAX, ..BoundedConfig::default() }));
    let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    let depth = registry.gauge("tenant_queue_depth", "Depth, by tenant.", &["tenant"]).unwrap();
    let tenants: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for w in 0..2 {
        let (hits, depth, tenants, stop) = (hits.clone(), depth.clone(), tenants.clone(), Arc::clone(&stop));
        threads.push(std::thread::spawn(move || {
            let mut i = w;
            while !stop.load(Relaxed) {
                let t = &tenants[i % tenants.len()];
                hits.inc(&[t]).unwrap();
                depth.set(&[t], i as f64).unwrap();
                i += 1;
            }
        }));
    }
    let (remover_hits, remover_depth, remover_tenants, remover_stop) =
        (hits.clone(), depth.clone(), tenants.clone(), Arc::clone(&stop));
    let remover = std::thread::spawn(move || {
        let mut removed = 0u64;
        let mut i = 0usize;
        while !remover_stop.load(Relaxed) {
            let t = &remover_tenants[i * 7 % remover_tenants.len()];
            removed += u64::from(remover_hits.remove(&[t])) + u64::from(remover_depth.remove(&[t]));
            i += 1;
        }
        removed
    });
    let reader = Arc::clone(&registry);
    let reads = std::thread::spawn(move || {
        for _ in 0..50 {
            let text = reader.render_prometheus();
            assert!(text.lines().filter(|l| l.starts_with("tenant_hits_total{")).count() <= 10);
        }
        reader.render_prometheus()
    });
    let last = reads.join().unwrap();
    promtool_check(&last).expect("valid while series come and go");
    stop.store(true, Relaxed);
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert!(remover.join().unwrap() > 0, "the remover removed series while they were written");
    assert!(registry.series_count() <= 20);
    for t in &tenants {
        hits.remove(&[t]);
        depth.remove(&[t]);
    }
    assert_eq!(registry.series_count(), 0, "the count followed every insert and removal");
    assert!(!registry.render_prometheus().contains("tenant=\"t"));
}

/// Threads that make the same new series at once make each exactly once: four threads, started
/// together, increment the same 3,000 new series (each its own order, so that they meet on
/// series being made, and the index grows under them); every series ends with four, once, and
/// the series count is exact.
#[test]
fn threads_making_the_same_series_at_once_make_each_once() {
    use std::sync::{Arc, Barrier};
    const SERIES: usize = 3_000;
    const THREADS: usize = 4;
    let registry = BoundedRegistry::new(BoundedConfig {
        max_series_per_family: SERIES,
        max_series_total: SERIES,
        max_new_series_per_sec: u32::MAX,
        ..BoundedConfig::default()
    });
    let hits = registry.counter("route_hits_total", "Hits, by method and route.", &["method", "route"]).unwrap();
    let start = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (hits, start) = (hits.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                for k in 0..SERIES {
                    // Thread 0 in order, the others in orders of their own (7 and 11 are prime
                    // to 3,000; thread 3 backwards).
                    let k = match t {
                        0 => k,
                        1 => k * 7 % SERIES,
                        2 => k * 11 % SERIES,
                        _ => SERIES - 1 - k,
                    };
                    hits.inc(&[["GET", "POST", "PUT"][k % 3], &format!("/route/{}", k / 3)]).unwrap();
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(registry.series_count(), SERIES, "each series made once");
    assert_eq!(hits.total(), (SERIES * THREADS) as u64, "no update lost");
    let text = registry.render_prometheus();
    for k in 0..SERIES {
        let line = format!(
            "route_hits_total{{method=\"{}\",route=\"/route/{}\"}} {THREADS}\n",
            ["GET", "POST", "PUT"][k % 3],
            k / 3
        );
        assert_eq!(text.matches(&line).count(), 1, "{line}");
    }
    assert_eq!(hits.overflowed(), 0);
}

/// Rows of removed series are reused only once no lookup can still hold them: while one thread
/// removes and makes again short-lived series (their rows reused all the time), two threads
/// update ten series that are never removed, by their label values; every one of those updates
/// lands in its series (a lookup that found a row just before it was reused would have added to
/// another series), and a scrape never shows a series twice.
#[test]
fn reused_rows_never_take_updates_meant_for_other_series() {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    use std::sync::Arc;
    const UPDATES: u64 = 200_000;
    let registry =
        Arc::new(BoundedRegistry::new(BoundedConfig { max_new_series_per_sec: u32::MAX, ..BoundedConfig::default() }));
    let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    let stable: Vec<String> = (0..10).map(|i| format!("stable-{i}")).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let (hits, stop) = (hits.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut cycles = 0u64;
            while !stop.load(Relaxed) {
                let name = format!("churn-{}", cycles % 50);
                hits.add(&[&name], 1_000_000).unwrap();
                assert!(hits.remove(&[&name]));
                cycles += 1;
            }
            cycles
        })
    };
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (hits, stable) = (hits.clone(), stable.clone());
            std::thread::spawn(move || {
                for i in 0..UPDATES {
                    hits.inc(&[&stable[(i as usize + w) % stable.len()]]).unwrap();
                }
            })
        })
        .collect();
    let reader = Arc::clone(&registry);
    let scrapes = std::thread::spawn(move || {
        for _ in 0..20 {
            let text = reader.render_prometheus();
            let mut seen = std::collections::HashSet::new();
            for line in text.lines().filter(|l| l.starts_with("tenant_hits_total{")) {
                let labels = line.split(' ').next().unwrap().to_owned();
                assert!(seen.insert(labels), "a series shown twice:\n{text}");
            }
        }
    });
    writers.into_iter().for_each(|t| t.join().unwrap());
    scrapes.join().unwrap();
    stop.store(true, Relaxed);
    let cycles = churn.join().unwrap();
    assert!(cycles > 100, "the churn made and removed series meanwhile ({cycles})");
    let text = registry.render_prometheus();
    for (i, t) in stable.iter().enumerate() {
        // Each writer visits series i every 10 updates, from its own offset.
        let expected = 2 * UPDATES / 10;
        assert!(text.contains(&format!("tenant_hits_total{{tenant=\"{t}\"}} {expected}\n")), "stable-{i}:\n{text}");
    }
    assert_eq!(registry.series_count(), stable.len(), "every churned series went");
}

/// LRU under a flood of new values from two threads: series held by handles are never evicted
/// (their counts exact), the cap holds, nothing goes to overflow, and every eviction is counted.
#[test]
fn lru_eviction_under_a_flood_keeps_held_series_and_the_cap() {
    use metrics_runtime::dynamic::Eviction;
    use std::sync::Arc;
    let config = BoundedConfig {
        max_series_per_family: 50,
        max_new_series_per_sec: u32::MAX,
        eviction: Eviction::LeastRecentlyUsed,
        ..BoundedConfig::default()
    };
    let registry = Arc::new(BoundedRegistry::new(config));
    let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    let hot: Vec<_> = (0..5).map(|i| hits.with(&[&format!("hot{i}")]).unwrap()).collect();
    let flood: Vec<_> = (0..2)
        .map(|t| {
            let hits = hits.clone();
            std::thread::spawn(move || {
                for i in 0..5_000 {
                    hits.inc(&[&format!("cold-{t}-{i}")]).unwrap();
                }
            })
        })
        .collect();
    for _ in 0..20_000 {
        for h in &hot {
            h.inc();
        }
    }
    let maintainer = Arc::clone(&registry);
    let maintenance = std::thread::spawn(move || {
        for _ in 0..100 {
            maintainer.maintain();
        }
    });
    flood.into_iter().for_each(|t| t.join().unwrap());
    maintenance.join().unwrap();
    assert_eq!(hits.overflowed(), 0, "the flood evicted instead of overflowing");
    assert!(registry.series_count() <= 50);
    let text = registry.render_prometheus();
    for i in 0..5 {
        assert!(
            text.contains(&format!("tenant_hits_total{{tenant=\"hot{i}\"}} 20000\n")),
            "hot{i} was evicted:\n{text}"
        );
    }
    // 10 000 cold series came; at most 45 remain; the rest were evicted, each counted.
    let cold = text.lines().filter(|l| l.starts_with("tenant_hits_total{tenant=\"cold")).count() as u64;
    let evicted = text
        .lines()
        .find_map(|l| l.strip_prefix("metrics_runtime_dynamic_evicted_series_total "))
        .and_then(|v| v.parse::<u64>().ok())
        .expect("the eviction counter");
    assert_eq!(cold + evicted, 10_000, "{cold} cold left, {evicted} evicted");
}
