//! Summary accuracy against exact quantiles, concurrency, windows and invalid input.

use metrics_runtime::{Metrics, Summary, Tag};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal, Normal};

const QS: [f64; 4] = [0.5, 0.9, 0.99, 0.999];

fn exact_quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn check_accuracy(name: &str, samples: Vec<f64>) {
    let summary: Summary = Summary::new();
    for &v in &samples {
        summary.record(v);
    }
    // The memory bound: at most 32 KiB a series, its inline buffer included.
    let heap = summary.heap_bytes();
    assert!(heap <= metrics_runtime::series_heap_bound(summary.config().compression), "{name}: {heap} B");
    let bytes = heap + std::mem::size_of::<metrics_runtime::SummarySeries>();
    assert!(bytes <= 32 * 1024, "{name}: {bytes} B");
    let mut sorted = samples;
    sorted.sort_unstable_by(f64::total_cmp);
    assert_eq!(summary.count(), sorted.len() as u64);
    for q in QS {
        let exact = exact_quantile(&sorted, q);
        let estimate = summary.percentile(q).unwrap();
        let rel = ((estimate - exact) / exact).abs();
        println!("{name}: p{q}: exact {exact:.6} estimate {estimate:.6} relative error {:.4}%", rel * 100.0);
        assert!(rel < 0.01, "{name}: p{q}: exact {exact}, estimate {estimate}, relative error {rel}");
    }
}

#[test]
fn lognormal_1m_within_1_percent() {
    for seed in [7, 2, 3] {
        let mut rng = StdRng::seed_from_u64(seed);
        let dist = LogNormal::new(0.0, 1.0).unwrap();
        check_accuracy(&format!("lognormal seed {seed}"), (0..1_000_000).map(|_| dist.sample(&mut rng)).collect());
    }
}

#[test]
fn wide_lognormal_1m_within_1_percent() {
    // sigma 2: values over some 40 powers of two, more than the stage's pages.
    let mut rng = StdRng::seed_from_u64(5);
    let dist = LogNormal::new(-2.0, 2.0).unwrap();
    check_accuracy("lognormal(-2, 2) seed 5", (0..1_000_000).map(|_| dist.sample(&mut rng)).collect());
}

#[test]
fn bimodal_1m_within_1_percent() {
    for seed in [11, 12] {
        let mut rng = StdRng::seed_from_u64(seed);
        let fast = Normal::new(10.0, 1.0).unwrap();
        let slow = Normal::new(100.0, 5.0).unwrap();
        let samples = (0..1_000_000)
            .map(|_| if rng.gen_bool(0.7) { fast.sample(&mut rng) } else { slow.sample(&mut rng) })
            .collect();
        check_accuracy(&format!("bimodal 70% N(10,1) + 30% N(100,5) seed {seed}"), samples);
    }
}

#[test]
fn no_record_is_lost_under_threads() {
    static S: Summary = Summary::new();
    std::thread::scope(|s| {
        for t in 0..4 {
            s.spawn(move || {
                for i in 0..250_000u32 {
                    S.record(f64::from(i % 1000) + f64::from(t));
                }
            });
        }
    });
    assert_eq!(S.count(), 1_000_000);
    let expected_sum: f64 = (0..4).map(|t| 250.0 * (499_500.0 + 1000.0 * f64::from(t))).sum();
    assert_eq!(S.sum(), expected_sum);
    let p50 = S.percentile(0.5).unwrap();
    assert!((p50 - 501.0).abs() < 10.0, "{p50}");
}

#[test]
fn invalid_values_are_counted_not_recorded() {
    let s: Summary = Summary::new();
    s.record(1.0);
    s.record(f64::NAN);
    s.record(f64::INFINITY);
    s.record(f64::NEG_INFINITY);
    s.record(-2.0); // negative: OpenMetrics forbids negative quantiles and sums
    s.record(1e300); // beyond SUMMARY_MAX_VALUE: the digest would overflow
    s.record(-0.0); // recorded as 0.0
    assert_eq!(s.count(), 2);
    assert_eq!(s.sum(), 1.0);
    assert_eq!(s.invalid(), 5);
    assert_eq!(s.percentile(0.0001), Some(0.0));
    assert!(s.percentile(0.0001).unwrap().is_sign_positive());
    assert_eq!(s.percentile(f64::NAN), None);
    assert_eq!(s.percentile(2.0), None);
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Warm,
    Cold,
}

#[derive(Metrics)]
struct Windowed {
    /// Short window.
    #[metric(unit = "seconds", quantiles = [0.5], window_secs = 1)]
    step_seconds: Summary<Phase>,
}

#[test]
fn window_slides_and_totals_stay() {
    let m = Windowed::new();
    let warm = m.step_seconds.with(Phase::Warm);
    for _ in 0..1000 {
        warm.record(100.0);
    }
    assert_eq!(warm.percentile(0.5), Some(100.0));
    let cold = m.step_seconds.with(Phase::Cold);
    assert_eq!(cold.percentile(0.5), None);
    // Values staged but not yet merged into a digest when their window passes leave the
    // quantiles too. (`count` drains the lock-free buffer into the stage and merges nothing;
    // values still in the buffer would be dated when drained, as `Summary` documents.)
    for _ in 0..1000 {
        cold.record(7.0);
    }
    assert_eq!(cold.count(), 1000);
    // After the window has passed, old values no longer count in quantiles ...
    std::thread::sleep(std::time::Duration::from_millis(1300));
    assert_eq!(warm.percentile(0.5), None);
    warm.record(5.0);
    assert_eq!(warm.percentile(0.5), Some(5.0));
    cold.record(3.0);
    assert_eq!(cold.percentile(0.5), Some(3.0));
    assert_eq!(cold.count(), 1001);
    // ... but `_count` and `_sum` are totals since start.
    assert_eq!(warm.count(), 1001);
    let text = m.render_prometheus();
    assert!(text.contains("step_seconds{phase=\"warm\",quantile=\"0.5\"} 5.0\n"), "{text}");
    assert!(text.contains("step_seconds_count{phase=\"warm\"} 1001\n"));
    assert!(text.contains("step_seconds{phase=\"cold\",quantile=\"0.5\"} 3.0\n"), "{text}");
    assert!(text.contains("step_seconds_count{phase=\"cold\"} 1001\n"));
}

#[test]
fn readers_beside_writers_see_consistent_totals_and_lose_nothing() {
    // Integers over 20 powers of two, some divided by 2^6 (6 powers of two more): more than
    // the stage's 32 pages, so the overflow list and early merges run too; every partial sum is
    // a multiple of 2^-6 below 2^46, so the sum is exact whatever the order. (Summaries record
    // no negative values.)
    fn value(t: u64, i: u64) -> f64 {
        let magnitude = ((i % 1024 + 1) << ((i + t) % 20)) as f64;
        if (i + t) % 7 == 0 {
            magnitude / (1u64 << 6) as f64
        } else {
            magnitude
        }
    }
    const WRITERS: u64 = 3;
    const PER_WRITER: u64 = 400_000;
    static S: Summary = Summary::new();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|t| {
                s.spawn(move || {
                    for i in 0..PER_WRITER {
                        S.record(value(t, i));
                    }
                })
            })
            .collect();
        let reader = s.spawn(|| {
            let (mut reads, mut last) = (0u64, 0u64);
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let count = S.count();
                assert!(count >= last, "count went back from {last} to {count}");
                last = count;
                if let Some(p50) = S.percentile(0.5) {
                    assert!(p50.abs() <= (1024u64 << 19) as f64, "{p50}");
                }
                reads += 1;
            }
            reads
        });
        for w in writers {
            w.join().expect("writer");
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(reader.join().expect("reader") > 0);
    });
    assert_eq!(S.count(), WRITERS * PER_WRITER);
    let expected: f64 = (0..WRITERS).flat_map(|t| (0..PER_WRITER).map(move |i| value(t, i))).sum();
    assert_eq!(S.sum(), expected);
    let (min, max) = (0..WRITERS)
        .flat_map(|t| (0..PER_WRITER).map(move |i| value(t, i)))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    assert_eq!(S.percentile(1.0), Some(max));
    assert_eq!(S.percentile(0.0), Some(min));
}
