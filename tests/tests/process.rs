//! Process metrics agree with what the kernel reports in `/proc/self` at a quiet moment, and
//! their exposition passes promtool and the strict OpenMetrics parser.

use metrics_runtime::process::{ProcessMetrics, ProcessRead};
use metrics_runtime::{Metrics, Registry};
use tests::{parse_openmetrics_strict, promtool_check};

fn status(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status.lines().find_map(|l| l.strip_prefix(key)).unwrap().split_whitespace().next().unwrap().parse().unwrap()
}

fn sample(text: &str, name: &str) -> f64 {
    let prefix = format!("{name} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {name}:\n{text}")).parse().unwrap()
}

#[test]
fn process_metrics_agree_with_proc() {
    // Some CPU time to see.
    let mut x = 0u64;
    for i in 0..20_000_000u64 {
        x = x.wrapping_mul(31).wrapping_add(i);
    }
    assert_ne!(x, 1);
    let mut registry = Registry::new();
    registry.register(&ProcessMetrics).unwrap();

    let text = registry.render_prometheus();
    // The kernel's figures right after the scrape (the checkers below start processes, whose
    // pipes and threads change them).
    let (threads, rss, vsize) = (status("Threads:"), status("VmRSS:") * 1024.0, status("VmSize:") * 1024.0);
    let read = ProcessRead::now();

    // Threads and descriptors: exact (this test's thread is the only one doing anything; the
    // harness' threads exist either way). The listing of /proc/self/fd holds one descriptor of
    // its own, as the Go client's count does.
    assert_eq!(sample(&text, "process_threads"), threads);
    let fds = std::fs::read_dir("/proc/self/fd").unwrap().count() as f64;
    assert_eq!(sample(&text, "process_open_fds"), fds);
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let max: f64 = limits.lines().find(|l| l.starts_with("Max open files")).unwrap()["Max open files".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(sample(&text, "process_max_fds"), max);
    // Memory: within 10% of the kernel's figures.
    let resident = sample(&text, "process_resident_memory_bytes");
    assert!((resident - rss).abs() <= rss * 0.1, "{resident} vs {rss}");
    let virt = sample(&text, "process_virtual_memory_bytes");
    assert!((virt - vsize).abs() <= vsize * 0.1, "{virt} vs {vsize}");
    // CPU time: some, and no more than wall time since start times the cores.
    let cpu = sample(&text, "process_cpu_seconds_total");
    let start = sample(&text, "process_start_time_seconds");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!(cpu > 0.0 && read.cpu_seconds.unwrap() >= cpu, "{cpu}");
    assert!(start > now - 3600.0 && start <= now, "{start} vs {now}");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    assert!(cpu <= (now - start + 1.0) * cores, "{cpu} s of CPU in {} s", now - start);
    // Read at scrape time: a later read sees more CPU.
    for i in 0..50_000_000u64 {
        x = x.wrapping_mul(31).wrapping_add(i);
    }
    assert_ne!(x, 1);
    let later = sample(&registry.render_prometheus(), "process_cpu_seconds_total");
    assert!(later > cpu, "{later} after {cpu}");
    assert_eq!(ProcessMetrics.descriptors().len(), 7);
    promtool_check(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    parse_openmetrics_strict(&registry.render_openmetrics());
}
