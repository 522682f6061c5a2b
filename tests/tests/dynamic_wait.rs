//! A flood of new values cannot hold up updates of existing series of a `BoundedRegistry`.

use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
use std::sync::atomic::Ordering::Relaxed;

/// A flood of new values cannot hold up updates of existing series: those take no lock. Each
/// new value here holds the family's lock for a long time (an LRU cap where every series is held
/// by a handle, so that each new value sweeps every row twice before it goes to the overflow
/// series); meanwhile another thread updates existing series by their label values, each update
/// timed. A design whose lookups wait for the writer's lock would see updates wait for a sweep.
#[test]
fn a_flood_of_new_values_does_not_block_updates_of_existing_series() {
    use metrics_runtime::dynamic::Eviction;
    use std::sync::atomic::{AtomicBool, AtomicU64};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    const HELD: usize = 20_000;
    const UPDATES: usize = 200_000;
    let registry = Arc::new(BoundedRegistry::new(BoundedConfig {
        max_series_per_family: HELD,
        max_series_total: HELD,
        max_new_series_per_sec: u32::MAX,
        eviction: Eviction::LeastRecentlyUsed,
        ..BoundedConfig::default()
    }));
    let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    let held: Vec<_> = (0..HELD).map(|i| hits.with(&[&format!("t{i}")]).unwrap()).collect();
    // One new value alone: how long the flood holds the lock each time.
    let t0 = Instant::now();
    hits.inc(&["probe"]).unwrap();
    let hold = t0.elapsed();
    assert_eq!(hits.overflowed(), 1, "every series is held: nothing to evict");

    let stop = Arc::new(AtomicBool::new(false));
    let flooded = Arc::new(AtomicU64::new(0));
    let flood = {
        let (hits, stop, flooded) = (hits.clone(), Arc::clone(&stop), Arc::clone(&flooded));
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Relaxed) {
                hits.inc(&[&format!("new-{i}")]).unwrap();
                i += 1;
                flooded.store(i, Relaxed);
            }
        })
    };
    while flooded.load(Relaxed) == 0 {
        std::thread::yield_now();
    }
    let names: Vec<String> = (0..1000).map(|i| format!("t{i}")).collect();
    let mut worst = Duration::ZERO;
    let mut slow = 0usize;
    let during = Instant::now();
    let start = flooded.load(Relaxed);
    // At least UPDATES updates, and on until the flood made 20 new values meanwhile (bounded).
    let mut updates = 0usize;
    while updates < UPDATES || (flooded.load(Relaxed) - start < 20 && during.elapsed() < Duration::from_secs(30)) {
        let t = Instant::now();
        hits.inc(&[&names[updates % names.len()]]).unwrap();
        let took = t.elapsed();
        worst = worst.max(took);
        slow += usize::from(took > Duration::from_micros(50));
        updates += 1;
    }
    let during = during.elapsed();
    let flooded_during = flooded.load(Relaxed) - start;
    stop.store(true, Relaxed);
    flood.join().unwrap();
    println!(
        "each new value held the lock ~{hold:?}; {flooded_during} new values in {during:?} beside {updates} updates: \
         worst update {worst:?}, {slow} over 50 µs"
    );
    assert!(hold > Duration::from_micros(100), "the flood's lock holds are long ({hold:?}): the test means something");
    assert!(flooded_during >= 10, "the flood ran during the updates");
    // Preemption aside (a few on a shared machine), no update waited.
    assert!(slow <= updates / 1000, "{slow} of {updates} updates took over 50 µs (worst {worst:?})");
    assert!(worst < Duration::from_millis(50), "an update waited {worst:?}");
    // Every update landed in its series, exactly.
    let rounds = updates / names.len();
    for (i, h) in held.iter().enumerate().take(names.len()) {
        let expected = rounds + usize::from(i < updates % names.len());
        assert_eq!(h.get(), expected as u64, "t{i}");
    }
    assert_eq!(hits.overflowed(), 1 + flooded.load(Relaxed));
}
