//! Time windows: window edges, idle periods, clock jumps both ways, windowed histograms, and
//! exact counts under threads, all on a manual clock.

use std::sync::Arc;
use std::time::Duration;

use metrics_runtime::window::{Clock, ManualClock, MonotonicClock, WindowedCounter, WindowedHistogram};
use metrics_runtime::Histogram;

const MS: Duration = Duration::from_millis(1);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

#[test]
fn edges_with_one_second_intervals() {
    let clock = ManualClock::new();
    let w: WindowedCounter<60, _> = WindowedCounter::with_clock(secs(1), &clock);
    clock.set_millis(999);
    w.inc(); // interval 0
    clock.set_millis(1_000);
    w.add(10); // interval 1

    // At 1.000 s, a 1 s window is the interval [1.000, 2.000): the record at 0.999 s is out.
    assert_eq!(w.count(secs(1)), 10);
    assert_eq!(w.rate_per_sec(secs(1)), 10.0);
    assert_eq!(w.count(secs(2)), 11);
    assert_eq!(w.rate_per_sec(secs(2)), 5.5);

    clock.set_millis(1_999);
    assert_eq!((w.count(secs(1)), w.count(secs(2))), (10, 11));
    clock.set_millis(2_000);
    assert_eq!((w.count(secs(1)), w.count(secs(2)), w.count(secs(3))), (0, 10, 11));
    assert_eq!(w.rate_per_sec(secs(1)), 0.0);

    // The far edge of the ring: interval 0 leaves the 60 s window at 60.000 s.
    clock.set_millis(59_999);
    assert_eq!(w.count(secs(60)), 11);
    clock.set_millis(60_000);
    assert_eq!(w.count(secs(60)), 10);
    clock.set_millis(60_999);
    assert_eq!(w.count(secs(60)), 10);
    clock.set_millis(61_000);
    assert_eq!(w.count(secs(60)), 0);
}

#[test]
fn edges_with_sub_second_intervals() {
    let clock = ManualClock::new();
    let w: WindowedCounter<20, _> = WindowedCounter::with_clock(millis(100), &clock);
    clock.set_millis(999);
    w.inc(); // interval 9
    clock.set_millis(1_000);
    w.add(10); // interval 10

    // A 1 s window is the 10 most recent intervals, the current one included.
    assert_eq!(w.count(secs(1)), 11);
    clock.set_millis(1_899); // intervals 9..=18
    assert_eq!(w.count(secs(1)), 11);
    assert_eq!(w.rate_per_sec(secs(1)), 11.0);
    clock.set_millis(1_900); // intervals 10..=19
    assert_eq!(w.count(secs(1)), 10);
    assert_eq!(w.rate_per_sec(secs(1)), 10.0);
    clock.set_millis(1_999);
    assert_eq!(w.count(secs(1)), 10);
    clock.set_millis(2_000); // intervals 11..=20
    assert_eq!(w.count(secs(1)), 0);
    assert_eq!(w.count(secs(2)), 11); // the whole ring: intervals 1..=20
}

#[test]
fn windows_round_up_to_whole_intervals_and_cap_at_the_span() {
    let clock = ManualClock::new();
    let w: WindowedCounter<10, _> = WindowedCounter::with_clock(secs(1), &clock);
    for s in 0..10 {
        clock.set_millis(s * 1_000);
        w.inc();
    }
    clock.set_millis(9_500);
    assert_eq!(w.count(Duration::ZERO), 1);
    assert_eq!(w.count(MS), 1);
    assert_eq!(w.count(secs(1)), 1);
    assert_eq!(w.count(millis(1_001)), 2);
    assert_eq!(w.count(millis(1_500)), 2);
    assert_eq!(w.rate_per_sec(millis(1_500)), 1.0); // 2 over the rounded 2 s
    assert_eq!(w.count(secs(10)), 10);
    assert_eq!(w.count(secs(3_600)), 10);
    assert_eq!(w.rate_per_sec(secs(3_600)), 1.0); // 10 over the 10 s span
    assert_eq!((w.interval(), w.span()), (secs(1), secs(10)));
}

#[test]
fn idle_periods_read_as_zero_and_reused_slots_start_from_zero() {
    let clock = ManualClock::new();
    let w: WindowedCounter<60, _> = WindowedCounter::with_clock(secs(1), &clock);
    w.add(5); // interval 0

    clock.set_millis(30_000); // 30 s of nothing
    assert_eq!(w.count(secs(10)), 0);
    assert_eq!(w.rate_per_sec(secs(10)), 0.0);
    assert_eq!(w.count(secs(30)), 0); // intervals 1..=30
    assert_eq!(w.count(secs(31)), 5); // intervals 0..=30
    w.add(7); // interval 30
    assert_eq!(w.count(secs(60)), 12);

    clock.set_millis(59_999);
    assert_eq!(w.count(secs(60)), 12);
    clock.set_millis(60_000);
    assert_eq!(w.count(secs(60)), 7);
    clock.set_millis(89_999);
    assert_eq!(w.count(secs(60)), 7);
    clock.set_millis(90_000);
    assert_eq!(w.count(secs(60)), 0);

    // Interval 120 reuses the slot of interval 0, which still holds its 5: they are dropped.
    clock.set_millis(120_000);
    w.inc();
    assert_eq!(w.count(secs(1)), 1);
    assert_eq!(w.count(secs(60)), 1);

    // Short idle gaps between records: the skipped intervals count as zero.
    for t in [121_000, 125_000, 126_500, 140_000] {
        clock.set_millis(t);
        w.add(2);
    }
    assert_eq!(w.count(secs(60)), 9);
    assert_eq!(w.count(secs(15)), 4); // intervals 126..=140
    assert_eq!(w.count(secs(14)), 2); // intervals 127..=140
}

#[test]
fn a_clock_jump_backwards_holds_the_window_at_the_latest_time() {
    let clock = ManualClock::new();
    let w: WindowedCounter<10, _> = WindowedCounter::with_clock(secs(1), &clock);
    clock.set_millis(10_000);
    w.add(5); // interval 10
    clock.set_millis(2_000); // 8 s back
    w.add(3); // counted at interval 10, the latest seen
    assert_eq!(w.count(secs(1)), 8);
    assert_eq!(w.rate_per_sec(secs(1)), 8.0);
    clock.set_millis(0);
    assert_eq!(w.count(secs(10)), 8);
    assert_eq!(w.rate_per_sec(secs(10)), 0.8);

    // Time resumes once the clock passes the latest reading.
    clock.set_millis(10_999);
    assert_eq!(w.count(secs(1)), 8);
    clock.set_millis(11_000);
    assert_eq!(w.count(secs(1)), 0);
    assert_eq!(w.count(secs(2)), 8);
    // Had the 3 gone to interval 2, this 10 s window (intervals 2..=11) would read 11.
    assert_eq!(w.count(secs(10)), 8);

    // A huge jump back and forth: no panic, no negative or non-finite rate.
    clock.set_millis(u64::MAX / 2);
    w.inc();
    clock.set_millis(0);
    w.inc();
    assert_eq!(w.count(secs(1)), 2);
    assert_eq!(w.rate_per_sec(secs(1)), 2.0);
}

#[test]
fn rates_stay_finite_and_non_negative_under_random_jumps() {
    let clock = ManualClock::new();
    let w: WindowedCounter<16, _> = WindowedCounter::with_clock(millis(250), &clock);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut total = 0u64;
    for _ in 0..10_000 {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let t = match state % 4 {
            0 => state % 10_000,                                    // anywhere early, often backwards
            1 => clock.now_millis().saturating_add(state % 300),    // a little forward
            2 => clock.now_millis().saturating_sub(state % 5_000),  // backwards
            _ => clock.now_millis().saturating_add(state % 20_000), // past the ring
        };
        clock.set_millis(t);
        w.add(state % 3);
        total += state % 3;
        for window in [Duration::ZERO, millis(250), secs(1), secs(4), secs(60)] {
            let rate = w.rate_per_sec(window);
            assert!(rate.is_finite() && rate >= 0.0, "{rate}");
            assert!(w.count(window) <= total);
        }
    }
}

#[test]
fn a_forward_jump_past_the_ring_clears_it() {
    let clock = ManualClock::new();
    let w: WindowedCounter<10, _> = WindowedCounter::with_clock(secs(1), &clock);
    w.add(10);
    clock.set_millis(9_999);
    assert_eq!(w.count(secs(10)), 10);
    clock.set_millis(10_000); // exactly one span later
    assert_eq!(w.count(secs(10)), 0);
    clock.set_millis(1_000_000);
    assert_eq!(w.count(secs(10)), 0);
    assert_eq!(w.rate_per_sec(secs(10)), 0.0);
    w.inc();
    assert_eq!((w.count(secs(1)), w.count(secs(10))), (1, 1));

    // A jump of exactly the span lands on the same slot: it is zeroed, not added to.
    clock.set_millis(1_005_000);
    w.add(2);
    clock.set_millis(1_015_000);
    assert_eq!(w.count(secs(10)), 0);
    w.add(4);
    assert_eq!(w.count(secs(1)), 4);
    assert_eq!(w.count(secs(10)), 4);
}

#[test]
fn clocks_at_the_end_of_time_do_not_hang() {
    struct EndOfTime;
    impl Clock for EndOfTime {
        fn now_millis(&self) -> u64 {
            u64::MAX
        }
    }
    let fine: WindowedCounter<4, _> = WindowedCounter::with_clock(MS, EndOfTime);
    fine.inc();
    fine.inc();
    assert_eq!(fine.count(secs(1)), 2);
    let coarse: WindowedHistogram<4, 16, _> = WindowedHistogram::with_clock(&[1.0], secs(1), EndOfTime);
    coarse.record(0.5);
    assert_eq!(coarse.count(secs(1)), 1);
}

#[test]
fn shared_and_static_clocks() {
    let clock = Arc::new(ManualClock::new());
    let w: WindowedCounter<4, Arc<ManualClock>> = WindowedCounter::with_clock(secs(1), Arc::clone(&clock));
    w.inc();
    clock.advance(secs(4));
    assert_eq!(w.count(secs(4)), 0);

    static CLOCK: ManualClock = ManualClock::new();
    static ERRORS: WindowedCounter<4, &ManualClock> = WindowedCounter::with_clock(Duration::from_secs(1), &CLOCK);
    ERRORS.add(3);
    assert_eq!(ERRORS.count(secs(4)), 3);

    static RPS: WindowedCounter = WindowedCounter::new(Duration::from_secs(1));
    static LATENCY: WindowedHistogram = WindowedHistogram::new(Duration::from_secs(1));
    RPS.inc();
    LATENCY.record(0.2);
    assert_eq!(RPS.count(secs(60)), 1);
    assert_eq!(LATENCY.count(secs(60)), 1);
    assert!(MonotonicClock.now_millis() < 3_600_000, "the monotonic clock counts from its first use");
}

fn latency(clock: &ManualClock) -> WindowedHistogram<60, 4, &ManualClock> {
    WindowedHistogram::with_clock(&[0.01, 0.1, 1.0], secs(1), clock)
}

#[test]
fn windowed_histogram_percentiles_and_counts() {
    let clock = ManualClock::new();
    let h = latency(&clock);
    static BOUNDS: &[f64] = &[0.01, 0.1, 1.0];
    let reference: Histogram<(), 4> = Histogram::with_bounds(BOUNDS, &["0.01", "0.1", "1.0"]);
    for _ in 0..100 {
        h.record(0.005);
        reference.record(0.005);
    }
    clock.set_millis(5_000);
    for _ in 0..100 {
        h.record(0.5);
        reference.record(0.5);
    }

    assert_eq!(h.count(secs(1)), 100);
    assert_eq!(h.count(secs(5)), 100); // intervals 1..=5
    assert_eq!(h.count(secs(6)), 200); // intervals 0..=5
    assert!((h.percentile(0.5, secs(1)).unwrap() - 0.55).abs() < 1e-12); // all in (0.1, 1.0]
    assert_eq!(h.percentile(0.5, secs(6)), Some(0.01));
    for q in [0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0] {
        assert_eq!(h.percentile(q, secs(60)), reference.percentile(q), "q = {q}");
    }
    assert_eq!(h.percentile(-0.1, secs(60)), None);
    assert!((h.sum(secs(6)) - reference.sum()).abs() < 1e-9);
    assert!((h.sum(secs(1)) - 50.0).abs() < 1e-9);
    assert_eq!(h.rate_per_sec(secs(10)), 20.0);
    let all = h.snapshot(secs(60));
    assert_eq!(all.counts, vec![100, 0, 100, 0]);
    assert_eq!(all.cumulative(), reference.with(()).cumulative().collect::<Vec<_>>());

    // Idle: the window moves past both batches.
    clock.set_millis(59_999);
    assert_eq!(h.count(secs(60)), 200);
    clock.set_millis(60_000);
    assert_eq!(h.count(secs(60)), 100);
    clock.set_millis(64_999);
    assert_eq!(h.count(secs(60)), 100);
    clock.set_millis(65_000);
    assert_eq!(h.count(secs(60)), 0);
    assert_eq!(h.percentile(0.5, secs(60)), None);
    assert_eq!(h.snapshot(secs(60)).counts, vec![0, 0, 0, 0]);

    // Invalid values are counted apart and never recorded.
    h.record(f64::NAN);
    h.record(f64::NEG_INFINITY);
    assert_eq!((h.invalid(), h.count(secs(60))), (2, 0));
}

#[test]
fn windowed_histogram_edges_and_jumps() {
    let clock = ManualClock::new();
    let h = latency(&clock);
    clock.set_millis(999);
    h.record(0.05);
    clock.set_millis(1_000);
    h.record(5.0); // the +Inf bucket
    assert_eq!(h.count(secs(1)), 1);
    assert_eq!(h.snapshot(secs(1)).counts, vec![0, 0, 0, 1]);
    assert_eq!(h.percentile(1.0, secs(1)), Some(1.0)); // +Inf: the largest finite bound
    assert_eq!(h.count(secs(2)), 2);
    assert_eq!(h.snapshot(secs(2)).counts, vec![0, 1, 0, 1]);

    // Backwards: records count at the latest interval.
    clock.set_millis(0);
    h.record(0.001);
    assert_eq!(h.snapshot(secs(1)).counts, vec![1, 0, 0, 1]);

    // Forward past the ring: empty, then a reused slot starts from zero.
    clock.set_millis(61_000); // interval 61 reuses the slot of interval 1
    assert_eq!(h.count(secs(60)), 0);
    h.record(0.5);
    assert_eq!(h.snapshot(secs(60)).counts, vec![0, 0, 1, 0]);
    assert_eq!(h.sum(secs(60)), 0.5);
}

#[test]
fn windowed_counter_is_exact_under_4_threads() {
    let clock = ManualClock::new();
    let w: WindowedCounter<60, _> = WindowedCounter::with_clock(secs(1), &clock);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..250_000 {
                    w.inc();
                }
            });
        }
    });
    assert_eq!(w.count(secs(1)), 1_000_000);
    assert_eq!(w.rate_per_sec(secs(10)), 100_000.0);
}

/// Rollovers while other threads record: one thread moves the clock on every 2 000 records,
/// 100 times, so slots are zeroed and entered concurrently; the ring (128 intervals) is never
/// lapped, so every record must be in the window.
#[test]
fn windowed_counter_is_exact_across_rollovers_under_4_threads() {
    let clock = ManualClock::new();
    let w: WindowedCounter<128, _> = WindowedCounter::with_clock(MS, &clock);
    const PER_THREAD: u64 = 200_000;
    std::thread::scope(|s| {
        for t in 0..4 {
            let (w, clock) = (&w, &clock);
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    if t == 0 && i % 2_000 == 1_999 {
                        clock.advance(MS);
                    }
                    w.inc();
                }
            });
        }
    });
    assert_eq!(clock.now_millis(), 100);
    assert_eq!(w.count(w.span()), 4 * PER_THREAD);
    assert!(w.count(MS) < 4 * PER_THREAD, "the records are spread over intervals");
}

#[test]
fn windowed_histogram_is_exact_across_rollovers_under_4_threads() {
    let clock = ManualClock::new();
    let h: WindowedHistogram<128, 4, _> = WindowedHistogram::with_clock(&[2.5, 5.0, 7.5], MS, &clock);
    const PER_THREAD: u64 = 100_000;
    std::thread::scope(|s| {
        for t in 0..4 {
            let (h, clock) = (&h, &clock);
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    if t == 0 && i % 1_000 == 999 {
                        clock.advance(MS);
                    }
                    h.record((i % 10) as f64);
                }
            });
        }
    });
    let all = h.snapshot(h.span());
    // Per 10 values: 0..=2 | 3..=5 | 6, 7 | 8, 9.
    assert_eq!(all.counts, vec![120_000, 120_000, 80_000, 80_000]);
    assert_eq!(all.count(), 4 * PER_THREAD);
    assert_eq!(all.sum, 4.0 * (PER_THREAD / 10) as f64 * 45.0, "integer sums are exact");
    assert_eq!(h.count(h.span()), 4 * PER_THREAD);
}

#[test]
fn bounded_memory_and_thread_safety() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<WindowedCounter>();
    send_sync::<WindowedHistogram>();
    send_sync::<WindowedCounter<8, &'static ManualClock>>();
    send_sync::<ManualClock>();
    send_sync::<MonotonicClock>();
    // Inline and fixed: 16 bytes per slot for counters, (B + 2) * 8 for histograms.
    assert!(std::mem::size_of::<WindowedCounter>() <= 60 * 16 + 32);
    // The ring, and a few words (the clock, the totals, the exported quantiles).
    assert!(std::mem::size_of::<WindowedHistogram>() <= 60 * 18 * 8 + 128);
}

/// Windowed fields of a derived struct are exported: a `WindowedCounter` as a gauge of its rate
/// over its window, a `WindowedHistogram` as a summary of its window's quantiles with `_count`
/// and `_sum` since start; promtool and the strict OpenMetrics parser accept them.
#[test]
fn windowed_fields_of_a_derived_struct_are_exported() {
    use metrics_runtime::window::{WindowedCounter, WindowedHistogram};
    use metrics_runtime::Metrics;

    #[derive(Metrics)]
    #[metrics(namespace = "edge")]
    struct Edge {
        /// Requests per second over the last 30 seconds.
        #[metric(window_secs = 30)]
        requests_per_second: WindowedCounter<30>,
        /// Request latency over the last minute.
        #[metric(unit = "seconds", quantiles = [0.5, 0.9], window_secs = 60)]
        latency_seconds: WindowedHistogram,
    }
    static EDGE: Edge = Edge::new();
    EDGE.requests_per_second.add(300);
    for i in 0..100 {
        EDGE.latency_seconds.record(if i < 90 { 0.02 } else { 2.0 });
    }
    let text = EDGE.render_prometheus();
    tests::promtool_check(&text).expect("promtool accepts windowed fields");
    assert!(text.contains("edge_requests_per_second 10.0\n"), "{text}");
    assert!(text.contains("edge_latency_seconds_count 100\n"), "{text}");
    let om = EDGE.render_openmetrics();
    let samples = tests::parse_openmetrics_strict(&om);
    let p90 = samples
        .iter()
        .find(|s| s["name"] == "edge_latency_seconds" && s["labels"]["quantile"] == "0.9")
        .and_then(|s| s["value"].as_f64())
        .unwrap_or_else(|| panic!("{om}"));
    assert!(p90 <= 0.025, "p90 within the bucket of 0.02: {p90}");
}
