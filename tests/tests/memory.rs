//! Memory, measured with a counting allocator: no heap for counters, gauges and histograms, and a
//! summary's heap within its documented bound after 10M records.
//!
//! The allocator counts per thread (the test harness's own threads allocate too); everything
//! measured here allocates and frees on the test's thread.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::{all_http, Method, ShopMetrics};
use metrics_runtime::{series_heap_bound, Summary, BUFFER_SLOTS, DEFAULT_COMPRESSION};

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn count(allocs: usize, delta: isize) {
    // `try_with`: thread-local storage may already be gone while a thread exits.
    let _ = ALLOCS.try_with(|a| a.set(a.get() + allocs));
    let _ = LIVE.try_with(|l| l.set(l.get() + delta));
}

fn allocs() -> usize {
    ALLOCS.with(Cell::get)
}

fn live() -> usize {
    LIVE.with(Cell::get).max(0) as usize
}

// SAFETY: delegates to `System`, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(1, layout.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(0, -(layout.size() as isize));
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(1, new_size as isize - layout.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

static METRICS: ShopMetrics = ShopMetrics::new();

#[test]
fn memory() {
    // Counters, gauges and histograms: recording never allocates.
    let combos = all_http();
    let before = allocs();
    for i in 0..1_000_000usize {
        METRICS.requests_total.with(combos[i % combos.len()]).inc();
        METRICS.inflight_requests.add(1.0);
        METRICS.request_duration_seconds.with(Method::Put).record((i % 100) as f64 / 100.0);
    }
    assert_eq!(allocs(), before, "recording into counters, gauges or histograms allocated");
    assert_eq!(METRICS.requests_total.total(), 1_000_000);

    // The storage is inline: its size is known at compile time.
    assert_eq!(std::mem::size_of::<metrics_runtime::Counter<common::Http>>(), 12 * 8);
    assert_eq!(std::mem::size_of::<metrics_runtime::CounterSeries>(), 8);

    // Summary: heap stays within the documented bound whatever the record count.
    static S: Summary = Summary::new();
    let live_before = live();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut peak_after_warmup = 0usize;
    for i in 0..10_000_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        S.record((x >> 11) as f64 / (1u64 << 53) as f64 * 10.0);
        if i % 100_000 == 0 {
            peak_after_warmup = peak_after_warmup.max(live().saturating_sub(live_before));
        }
    }
    assert_eq!(S.count(), 10_000_000);
    let held = live().saturating_sub(live_before);
    let bound = series_heap_bound(DEFAULT_COMPRESSION);
    println!(
        "summary after 10M records: {held} bytes of heap (sampled peak {peak_after_warmup}), bound {bound}, plus {} bytes inline",
        std::mem::size_of::<metrics_runtime::SummarySeries>()
    );
    assert!(held <= bound, "summary holds {held} bytes, documented bound {bound}");
    assert!(peak_after_warmup <= bound, "summary peaked at {peak_after_warmup} bytes, documented bound {bound}");
    assert!(std::mem::size_of::<metrics_runtime::SummarySeries>() <= BUFFER_SLOTS * 8 + 256);
    // The allocator counts per thread; the test harness may allocate or free a few bytes on
    // this thread too (seen: 10), hence a small tolerance. The summary's own heap is tens of KiB.
    let close = |a: usize, b: usize| a.abs_diff(b) <= 64;
    assert!(close(S.heap_bytes(), held), "Summary::heap_bytes {} vs the allocator's {held}", S.heap_bytes());

    // Values over far more powers of two than the stage has pages: the stage merges early
    // instead of growing, and the heap stays within the same bound. (Negative values are not
    // recorded by a summary: they are counted as invalid.)
    static WIDE: Summary = Summary::new();
    let live_before = live();
    let mut peak = 0usize;
    for i in 0..2_000_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let magnitude = 2f64.powi((x % 1200) as i32 - 600) * (1.0 + (x >> 40) as f64 / (1u64 << 24) as f64);
        WIDE.record(magnitude);
        if i % 10_000 == 0 {
            peak = peak.max(live().saturating_sub(live_before));
        }
    }
    assert_eq!(WIDE.count(), 2_000_000);
    let held = live().saturating_sub(live_before);
    assert!(held <= bound && peak <= bound, "wide summary holds {held} bytes (peak {peak}), bound {bound}");
    assert!(close(WIDE.heap_bytes(), held), "Summary::heap_bytes {} vs the allocator's {held}", WIDE.heap_bytes());

    // `memory_bytes()` of a derived struct: its size plus the heap of its summaries, exactly.
    use metrics_runtime::Metrics;
    let m = Box::new(ShopMetrics::new());
    assert_eq!(m.memory_bytes(), std::mem::size_of::<ShopMetrics>());
    let live_before = live();
    for i in 0..100_000u32 {
        m.checkout_seconds.record(f64::from(i % 977) / 1000.0);
    }
    let _ = m.checkout_seconds.percentile(0.5);
    let heap = live() - live_before;
    assert!(
        close(m.memory_bytes(), std::mem::size_of::<ShopMetrics>() + heap),
        "memory_bytes {} vs size_of + heap {}",
        m.memory_bytes(),
        std::mem::size_of::<ShopMetrics>() + heap
    );
    println!(
        "ShopMetrics: {} bytes inline, {heap} bytes of heap after 100k summary records",
        std::mem::size_of::<ShopMetrics>()
    );
}

/// A `BoundedRegistry` frees its families' names, HELP, labels and bounds when dropped (it
/// used to leak them: 20 000 create/drop cycles kept ~73 MB), and `memory_bytes()` counts them
/// while it lives.
#[test]
fn bounded_registries_free_everything_they_hold_on_drop() {
    use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    use metrics_runtime::Metrics;

    let one_cycle = |i: u32| {
        let registry = BoundedRegistry::new(BoundedConfig::default());
        let help = format!("A family made and dropped, cycle {i}. {}", "Long HELP text. ".repeat(20));
        let hits = registry.counter(&format!("cycle_{i}_hits_total"), &help, &["tenant", "region"]).unwrap();
        hits.inc(&["acme", "eu"]).unwrap();
        let sizes = registry.histogram("cycle_bytes", &help, &["tenant"], &[1.0, 10.0, 100.0]).unwrap();
        sizes.record(&["acme"], 5.0).unwrap();
        let text = registry.render_prometheus();
        assert!(text.contains(&format!("cycle_{i}_hits_total{{tenant=\"acme\",region=\"eu\"}} 1\n")));
        registry
    };
    // Warm up whatever is allocated once (thread-local hash keys).
    drop(one_cycle(0));
    let before = live();
    for i in 1..=20_000 {
        drop(one_cycle(i));
    }
    let kept = live().saturating_sub(before);
    assert!(kept < 4096, "20 000 create/drop cycles kept {kept} bytes");

    // While it lives, `memory_bytes()` covers what it holds, family text included.
    let before = live();
    let registry = one_cycle(1);
    let held = live() - before;
    let reported = registry.memory_bytes();
    assert!(
        reported as f64 >= 0.5 * held as f64 && reported as f64 <= 1.5 * held as f64,
        "memory_bytes {reported} for {held} bytes held"
    );
    drop(registry);
}

/// A native histogram series is `24 * C + 64` bytes inline (the zero bucket, slot counters,
/// the key range and a flag; per slot a key word and a 16-byte count-and-sum): 7,744 bytes at
/// the default 320 slots. Recording, exemplars included, never allocates, whatever the values.
#[test]
fn native_histograms_and_exemplars_never_allocate() {
    use metrics_runtime::exemplar::{Exemplars, NATIVE_EXEMPLARS};
    use metrics_runtime::{NativeHistogram, NativeSeries};

    assert_eq!(size_of::<NativeSeries<320>>(), 24 * 320 + 64);
    assert_eq!(size_of::<NativeSeries<32>>(), 24 * 32 + 64);
    static NATIVE: NativeHistogram<Method> = NativeHistogram::new();
    static TRACED: Exemplars<NativeHistogram> = Exemplars::new(NativeHistogram::new());
    // The four series, and under 128 bytes of settings (with the classic bounds' slices) and
    // counters.
    let overhead = size_of_val(&NATIVE) - 4 * size_of::<NativeSeries<320>>();
    assert!(overhead < 128, "{overhead}");
    // Exemplar slots: 176 bytes each.
    assert_eq!(
        size_of_val(&TRACED),
        size_of::<NativeHistogram>() + NATIVE_EXEMPLARS * size_of::<metrics_runtime::exemplar::ExemplarCell>()
    );
    assert_eq!(size_of::<metrics_runtime::exemplar::ExemplarCell>(), 176);

    let before = allocs();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..1_000_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Values over 30 orders of magnitude, both signs, zero, now and then an infinity.
        let v = f64::from_bits((x >> 12) | 0x3000_0000_0000_0000) * if i % 7 == 0 { -1.0 } else { 1.0 };
        let v = if i % 100_000 == 0 {
            f64::INFINITY
        } else if i % 1000 == 0 {
            0.0
        } else {
            v
        };
        NATIVE.with([Method::Get, Method::Post, Method::Put, Method::Delete][(i % 4) as usize]).record(v);
        TRACED.with(()).record_with_exemplar(v, &[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")]).unwrap();
    }
    assert_eq!(allocs(), before, "recording allocated");
    let total: u64 = NATIVE.series().iter().map(|s| s.read(NATIVE.config()).count).sum();
    assert_eq!(total + NATIVE.unplaced(), 1_000_000);
    assert_eq!(NATIVE.unplaced(), 0);
}
