//! A flood: 1M unique run-time label values against a cap of 1 000 series. Memory stays flat
//! (counting allocator), every record is counted (the sum over all series, overflow included,
//! equals the number of records), nothing panics, and the overflow series is exported.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
use metrics_runtime::Metrics;

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: delegates to `System`, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn one_million_unique_values_against_a_cap_of_1000() {
    let r = BoundedRegistry::new(BoundedConfig {
        max_series_per_family: 1_000,
        max_new_series_per_sec: 1_000_000,
        ..BoundedConfig::default()
    });
    let users = r.counter("user_logins_total", "Logins by user.", &["user"]).unwrap();
    let mut buf = String::new();
    let mut at_cap = 0isize;
    for i in 0..1_000_000u32 {
        buf.clear();
        use std::fmt::Write;
        write!(buf, "user-{i}").unwrap();
        users.inc(&[&buf]).unwrap();
        if i == 10_000 {
            at_cap = LIVE.load(Relaxed);
        }
    }
    let grown = LIVE.load(Relaxed) - at_cap;
    println!(
        "heap after 10k records (cap reached): {at_cap} B; growth over the next 990k: {grown} B; registry reports {} B",
        r.memory_bytes()
    );
    assert!(grown.abs() < 4096, "memory grew by {grown} bytes after the cap was reached");
    assert_eq!(r.series_count(), 1_000);
    assert_eq!(users.total(), 1_000_000);
    assert_eq!(users.overflowed(), 999_000);
    let text = r.render_prometheus();
    assert!(text.contains("user_logins_total{user=\"__overflow__\"} 999000\n"));
    assert!(text.contains("metrics_runtime_dynamic_overflow_records_total 999000\n"));
    let sum: u64 = text
        .lines()
        .filter(|l| l.starts_with("user_logins_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(sum, 1_000_000);
    assert_eq!(text.lines().filter(|l| l.starts_with("user_logins_total{")).count(), 1_001);
    let samples = tests::parse_openmetrics_strict(&r.render_openmetrics());
    assert!(samples.iter().any(|s| s["labels"]["user"] == "__overflow__"));
}
