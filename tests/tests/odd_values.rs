//! Odd values and hostile input: negative, huge, tiny and non-finite values, weights near
//! `u64::MAX`, the reserved overflow label value, names and HELP of any length. Whatever is
//! recorded, the output stays valid for the strict OpenMetrics parser and `promtool`, counts
//! never wrap, and every refusal is a typed error.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, DynamicError, OVERFLOW_VALUE};
use metrics_runtime::{Counter, Gauge, Histogram, Metrics, MetricsExt, Registry, Summary, Tag, SUMMARY_MAX_VALUE};
use tests::{parse_openmetrics_strict, promtool_check};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(rename_all = "lowercase")]
enum Side {
    Left,
    Right,
}

#[derive(Metrics)]
#[metrics(namespace = "odd")]
struct Odd {
    /// Events.
    events_total: Counter<Side>,
    /// A level.
    level: Gauge<Side>,
    /// Changes, positive or negative.
    #[metric(buckets = [-10.0, 0.0, 10.0])]
    change: Histogram<Side>,
    /// Sizes, default buckets.
    size: Histogram,
    /// Latencies.
    #[metric(unit = "seconds")]
    latency_seconds: Summary<Side>,
}

/// Values that have broken expositions somewhere: signed zeros, extremes, subnormals,
/// non-finite values.
const ODD: [f64; 12] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    f64::MAX,
    -f64::MAX,
    f64::MIN_POSITIVE,
    5e-324,
    -5e-324,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
];

fn check_both(registry: &Registry) -> (String, String) {
    let om = registry.render_openmetrics();
    parse_openmetrics_strict(&om);
    let text = registry.render_prometheus();
    promtool_check(&text).unwrap_or_else(|e| panic!("{e}\n--- text ---\n{text}"));
    (om, text)
}

#[test]
fn output_stays_valid_whatever_is_recorded() {
    static ODD_METRICS: Odd = Odd::new();
    let m = &ODD_METRICS;
    for (i, v) in ODD.iter().copied().enumerate() {
        let side = if i % 2 == 0 { Side::Left } else { Side::Right };
        m.level.with(side).set(v);
        m.change.with(side).record(v);
        m.size.record(v);
        m.latency_seconds.with(side).record(v);
        m.change.with(side).record_weighted(v, u64::MAX);
        m.latency_seconds.with(side).record_weighted(v, u64::MAX);
    }
    m.events_total.with(Side::Left).add(u64::MAX);
    let dynamic = BoundedRegistry::new(BoundedConfig::default());
    let h = dynamic.histogram("odd_dynamic", "Dynamic, signed.", &["k"], &[0.5, 5.0]).unwrap();
    let g = dynamic.gauge("odd_dynamic_level", "Dynamic level.", &["k"]).unwrap();
    for v in ODD {
        let _ = h.record(&["a"], v);
        let _ = g.set(&["a"], v);
    }
    let mut registry = Registry::new();
    registry.register(m).unwrap();
    registry.register_arc(std::sync::Arc::new(dynamic)).unwrap();
    let (om, text) = check_both(&registry);

    // Counts saturate instead of wrapping: cumulative buckets never go down.
    assert_eq!(m.change.with(Side::Left).count(), u64::MAX);
    let cumulative: Vec<u64> = m.change.with(Side::Left).cumulative().collect();
    assert!(cumulative.windows(2).all(|w| w[0] <= w[1]), "{cumulative:?}");
    assert_eq!(m.latency_seconds.with(Side::Left).count(), u64::MAX);
    // A histogram with negative values or bounds has no `_sum` (nor `_count`) in OpenMetrics;
    // Prometheus text keeps it.
    assert!(!om.contains("odd_change_sum") && !om.contains("odd_change_count"), "{om}");
    assert!(!om.contains("odd_dynamic_sum{k=\"a\"}"), "{om}");
    assert!(text.contains("odd_change_sum{side=\"left\"}"));
    // The summary recorded none of the negative or non-finite values.
    let snapshot = m.latency_seconds.with(Side::Right).snapshot();
    assert!(snapshot.quantiles.iter().all(|q| *q >= 0.0 && q.is_finite()), "{snapshot:?}");
}

#[test]
fn negative_values_cost_a_histogram_its_openmetrics_sum_and_a_summary_nothing() {
    #[derive(Metrics)]
    struct Signed {
        /// Temperature changes.
        delta: Histogram,
        /// Sizes.
        size: Histogram,
        /// Waits.
        #[metric(unit = "seconds")]
        wait_seconds: Summary,
    }
    let m = Signed::new();
    m.size.record(2.0);
    m.delta.record(2.0);
    // Before any negative value: `_sum` in both formats.
    assert!(m.render_openmetrics().contains("delta_sum 2.0\n"));
    m.delta.record(-3.0);
    m.wait_seconds.record(0.5);
    m.wait_seconds.record(-1.0);
    let om = m.render_openmetrics();
    parse_openmetrics_strict(&om);
    assert!(!om.contains("delta_sum") && !om.contains("delta_count"), "{om}");
    assert!(om.contains("delta_bucket{le=\"+Inf\"} 2\n"), "{om}");
    assert!(om.contains("size_sum 2.0\n"), "a series without negative values keeps its sum: {om}");
    assert!(m.render_prometheus().contains("delta_sum -1.0\n"));
    assert_eq!((m.wait_seconds.count(), m.wait_seconds.invalid()), (1, 1));
    assert!(om.contains("wait_seconds_sum 0.5\n"), "{om}");
}

#[test]
fn summaries_refuse_values_too_large_for_the_digest() {
    static BIG: Summary = Summary::new();
    // Above about 2.7e303 the digest's means times weights overflowed and quantiles were NaN.
    for _ in 0..1000 {
        BIG.record(1e304);
        BIG.record(SUMMARY_MAX_VALUE);
    }
    assert_eq!((BIG.count(), BIG.invalid()), (1000, 1000));
    let p = BIG.percentile(0.5).expect("values in the window");
    assert_eq!(p, SUMMARY_MAX_VALUE);
    let m = {
        #[derive(Metrics)]
        struct Big {
            /// Big values.
            big: Summary,
        }
        let m = Big::new();
        for i in 0..10_000 {
            m.big.record(SUMMARY_MAX_VALUE * (f64::from(i % 100) + 1.0) / 100.0);
        }
        m
    };
    let om = m.render_openmetrics();
    parse_openmetrics_strict(&om);
    assert!(!om.contains("NaN"), "{om}");
}

#[test]
fn the_overflow_label_value_is_reserved() {
    let registry = BoundedRegistry::new(BoundedConfig { max_series_per_family: 1, ..BoundedConfig::default() });
    let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    let err = hits.inc(&[OVERFLOW_VALUE]).unwrap_err();
    assert!(matches!(&err, DynamicError::InvalidLabelValue { label, .. } if label == "tenant"), "{err:?}");
    assert!(err.to_string().contains("reserved"), "{err}");
    // Fill the family past its cap: one overflow series, and the scrape parses.
    hits.inc(&["acme"]).unwrap();
    hits.inc(&["globex"]).unwrap();
    let _ = hits.inc(&[OVERFLOW_VALUE]);
    let om = registry.render_openmetrics();
    let families = parse_openmetrics_strict(&om);
    assert!(!families.is_empty());
    assert_eq!(om.matches("tenant_hits_total{tenant=\"__overflow__\"}").count(), 1, "{om}");
}

#[test]
fn names_and_help_have_a_length_limit() {
    let registry = BoundedRegistry::new(BoundedConfig::default());
    let long_name = format!("x{}_total", "y".repeat(1 << 20));
    let err = registry.counter(&long_name, "Long.", &[]).unwrap_err();
    assert!(matches!(&err, DynamicError::InvalidName { reason, .. } if reason.contains("the limit is 256")), "{err:?}");
    let err = registry.counter("ok_total", &"h".repeat(1 << 20), &[]).unwrap_err();
    assert!(
        matches!(&err, DynamicError::InvalidHelp { reason, .. } if reason.contains("the limit is 4096")),
        "{err:?}"
    );
    let long_label = "l".repeat(300);
    let err = registry.counter("ok_total", "Fine.", &[&long_label]).unwrap_err();
    assert!(matches!(err, DynamicError::InvalidLabelName { .. }), "{err:?}");
    // At the limits: accepted.
    let name = format!("{}_total", "n".repeat(250));
    assert!(registry.counter(&name, &"h".repeat(4096), &[]).is_ok());
}

/// A weighted summary record claims its weight and its value together: a snapshot under load
/// has every record in both the count and the sum, or in neither.
#[test]
fn summary_snapshots_read_count_and_sum_together() {
    #[derive(Metrics)]
    struct Loaded {
        /// Ones, plain and weighted.
        ones: Summary,
    }
    let m = Loaded::new();
    let stop = AtomicBool::new(false);
    let mismatches = std::thread::scope(|s| {
        for weight in [1, 3] {
            let (m, stop) = (&m, &stop);
            s.spawn(move || {
                while !stop.load(Relaxed) {
                    for _ in 0..1000 {
                        m.ones.with(()).record_weighted(1.0, weight);
                    }
                }
            });
        }
        let mut mismatches = Vec::new();
        for _ in 0..20_000 {
            let snapshot = m.snapshot();
            for series in &snapshot.metrics[0].series {
                if let metrics_runtime::snapshot::SeriesValue::Summary(v) = &series.value {
                    if v.count as f64 != v.sum {
                        mismatches.push((v.count, v.sum));
                    }
                }
            }
        }
        stop.store(true, Relaxed);
        mismatches
    });
    assert!(m.ones.count() > 0);
    assert!(mismatches.is_empty(), "{} snapshots disagreed, e.g. {:?}", mismatches.len(), &mismatches[..1]);
}

/// Counts the snapshots of `read` whose histogram series have a count and a sum that disagree,
/// while two writers record ones (plain and weighted) through `record`.
fn histogram_mismatches(
    record: &(dyn Fn(u64) + Sync),
    read: &dyn Fn() -> metrics_runtime::snapshot::Snapshot,
) -> usize {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for weight in [1, 3] {
            let stop = &stop;
            s.spawn(move || {
                while !stop.load(Relaxed) {
                    for _ in 0..1000 {
                        record(weight);
                    }
                }
            });
        }
        let mut mismatches = 0;
        for _ in 0..20_000 {
            for metric in read().metrics {
                for series in metric.series {
                    if let metrics_runtime::snapshot::SeriesValue::Histogram(v) = &series.value {
                        mismatches += usize::from(v.count() as f64 != v.sum);
                    }
                }
            }
        }
        stop.store(true, Relaxed);
        mismatches
    })
}

/// A histogram record adds to its bucket's count and sum in one atomic word: a snapshot under
/// load has every record in both the buckets and the sum, or in neither, for compile-time and
/// run-time histograms alike.
#[test]
fn histogram_snapshots_read_count_and_sum_together() {
    #[derive(Metrics)]
    struct Loaded {
        /// Ones, plain and weighted.
        #[metric(buckets = [0.5, 2.0])]
        ones: Histogram,
    }
    let m = Loaded::new();
    let mismatches = histogram_mismatches(&|weight| m.ones.with(()).record_weighted(1.0, weight), &|| m.snapshot());
    assert!(m.ones.count() > 0);
    assert_eq!(mismatches, 0, "snapshots of a compile-time histogram disagreed");

    let registry = BoundedRegistry::new(BoundedConfig::default());
    let ones = registry.histogram("ones", "Ones.", &["w"], &[0.5, 2.0]).unwrap();
    let mismatches = histogram_mismatches(
        &|weight| {
            for _ in 0..weight {
                ones.record(&["x"], 1.0).unwrap();
            }
        },
        &|| registry.snapshot(),
    );
    assert_eq!(mismatches, 0, "snapshots of a run-time histogram disagreed");
}
