//! Histogram buckets, sum, count, percentiles and invalid input.

use metrics_runtime::{Histogram, HistogramHandle, Metrics, Outcome, RecordDuration, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Home,
    Search,
}

#[derive(Metrics)]
struct M {
    /// Payload sizes.
    #[metric(unit = "bytes", buckets = [-10.0, 0.0, 100.0, 1000.0])]
    payload_bytes: Histogram<Route>,
    /// Default buckets.
    wait_seconds: Histogram,
}

fn cumulative<const B: usize>(h: HistogramHandle<'_, B>) -> Vec<u64> {
    h.cumulative().collect()
}

#[test]
fn buckets_sum_and_count() {
    let m = M::new();
    let h = m.payload_bytes.with(Route::Search);
    for v in [-20.0, -10.0, -5.0, 0.0, 50.0, 100.0, 100.5, 999.0, 1000.0, 5000.0] {
        h.record(v);
    }
    // le=-10: -20, -10; le=0: -5, 0; le=100: 50, 100; le=1000: 100.5, 999, 1000; +Inf: 5000
    assert_eq!(cumulative(h), vec![2, 4, 6, 9, 10]);
    assert_eq!(h.count(), 10);
    assert_eq!(h.sum(), -20.0 - 10.0 - 5.0 + 50.0 + 100.0 + 100.5 + 999.0 + 1000.0 + 5000.0);
    // The other series is untouched.
    assert_eq!(m.payload_bytes.with(Route::Home).count(), 0);

    let text = m.render_prometheus();
    assert!(text.contains("# TYPE payload_bytes histogram\n"));
    assert!(text.contains("payload_bytes_bucket{route=\"search\",le=\"-10.0\"} 2\n"), "{text}");
    assert!(text.contains("payload_bytes_bucket{route=\"search\",le=\"1000.0\"} 9\n"));
    assert!(text.contains("payload_bytes_bucket{route=\"search\",le=\"+Inf\"} 10\n"));
    assert!(text.contains("payload_bytes_count{route=\"search\"} 10\n"));
    assert!(text.contains("payload_bytes_bucket{route=\"home\",le=\"+Inf\"} 0\n"));
}

#[test]
fn default_buckets_are_prometheus_defaults() {
    let m = M::new();
    assert_eq!(m.wait_seconds.bounds(), metrics_runtime::DEFAULT_BUCKETS);
    assert_eq!(m.wait_seconds.bounds().len(), 11);
    let text = m.render_prometheus();
    for le in ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf"] {
        assert!(text.contains(&format!("wait_seconds_bucket{{le=\"{le}\"}} 0\n")), "{le}: {text}");
    }
}

#[test]
fn nan_and_infinities_are_counted_not_recorded() {
    let m = M::new();
    m.wait_seconds.record(0.3);
    m.wait_seconds.record(f64::NAN);
    m.wait_seconds.record(f64::INFINITY);
    m.wait_seconds.record(f64::NEG_INFINITY);
    m.wait_seconds.record(-0.5); // negative: recorded, in the first bucket
    assert_eq!(m.wait_seconds.count(), 2);
    assert_eq!(m.wait_seconds.sum(), -0.2);
    assert!(m.wait_seconds.sum().is_finite());
    assert_eq!(m.wait_seconds.invalid(), 3);
    let text = m.render_prometheus();
    assert!(!text.contains("NaN") && !text.contains("Inf\n"), "{text}");
}

#[test]
fn percentile_interpolates_within_the_bucket() {
    let m = M::new();
    assert_eq!(m.wait_seconds.percentile(0.5), None);
    // 100 values in (0.1, 0.25]: the median is interpolated inside that bucket.
    for i in 0..100 {
        m.wait_seconds.record(0.1 + 0.0015 * (i as f64 + 0.5));
    }
    let p50 = m.wait_seconds.percentile(0.5).unwrap();
    assert!((p50 - 0.175).abs() < 1e-9, "{p50}");
    assert!(p50 > 0.1 && p50 <= 0.25);
    assert_eq!(m.wait_seconds.percentile(1.5), None);
    // A value past the last bound: the estimate is the largest finite bound.
    let h: Histogram = Histogram::new();
    h.record(100.0);
    assert_eq!(h.percentile(0.99), Some(10.0));
}

/// A value at, just below or just above one of `bounds`, or anywhere from -1 to 20.
fn near_bounds(bounds: &'static [f64]) -> impl proptest::strategy::Strategy<Value = f64> {
    use proptest::prelude::*;
    prop_oneof![
        // One ulp either side (the bounds here are not negative).
        (0..bounds.len(), -1i64..=1).prop_map(move |(i, step)| match (bounds[i], step) {
            (b, 0) => b,
            (0.0, _) => step as f64 * f64::from_bits(1),
            (b, _) => f64::from_bits(b.to_bits().wrapping_add_signed(step)),
        }),
        -1.0f64..20.0,
        Just(0.0),
        Just(-0.0),
        Just(f64::MIN_POSITIVE / 2.0),
    ]
}

/// Bounds closer together than a timer's resolution (1 ns), and a pair 0.1 ns apart.
const DENSE: &[f64] = &[0.0, 1e-9, 2e-9, 0.5, 0.5000000001, 3.0];
const DENSE_LE: &[&str] = &["0", "1e-9", "2e-9", "0.5", "0.5000000001", "3"];

proptest::proptest! {
    /// A timer's record (a scan of the bounds into the thread's stripe; for a timer's own
    /// readings, without the check for negative and non-finite values) puts every value in the
    /// bucket the plain record (a branch-free count into shared cells) does: the default
    /// bounds and dense custom ones, values on, next to and between the bounds.
    #[test]
    fn timed_records_fill_the_buckets_plain_records_do(
        default in proptest::collection::vec(near_bounds(metrics_runtime::DEFAULT_BUCKETS), 1..200),
        dense in proptest::collection::vec(near_bounds(DENSE), 1..200),
    ) {
        let plain: Histogram = Histogram::new();
        let timed: Histogram = Histogram::new();
        // What timers themselves call, for the values a timer can measure (not negative).
        let (timer_plain, timer): (Histogram, Histogram) = (Histogram::new(), Histogram::new());
        for &v in &default {
            plain.with(()).record(v);
            timed.with(()).record_timed(v);
            if v >= 0.0 {
                timer_plain.with(()).record(v);
                timer.record_timer_seconds(v, Outcome::Ok);
            }
        }
        proptest::prop_assert_eq!(cumulative(timed.with(())), cumulative(plain.with(())));
        proptest::prop_assert!((timed.sum() - plain.sum()).abs() <= 1e-9 * default.len() as f64);
        proptest::prop_assert_eq!(cumulative(timer.with(())), cumulative(timer_plain.with(())));
        proptest::prop_assert!((timer.sum() - timer_plain.sum()).abs() <= 1e-9 * default.len() as f64);

        let plain: Histogram<(), 7> = Histogram::with_bounds(DENSE, DENSE_LE);
        let timed: Histogram<(), 7> = Histogram::with_bounds(DENSE, DENSE_LE);
        for &v in &dense {
            plain.with(()).record(v);
            timed.with(()).record_timed(v);
        }
        proptest::prop_assert_eq!(cumulative(timed.with(())), cumulative(plain.with(())));
        proptest::prop_assert_eq!(timed.count(), dense.len() as u64);
    }
}
