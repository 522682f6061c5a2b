//! Native histograms in every format: the text formats expose them as classic histograms that
//! promtool and the strict OpenMetrics parser accept, whatever was recorded; the protobuf body
//! decodes with the types generated from the official `metrics.proto`, with spans and deltas
//! that give back the recorded buckets.

use metrics_runtime::expose::ProtobufWriter;
use metrics_runtime::{Metrics, NativeHistogram, Tag};
use tests::{decode_protobuf, parse_openmetrics_strict, promtool_check};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(rename_all = "lowercase")]
enum Side {
    Left,
    Right,
}

#[derive(Metrics)]
#[metrics(namespace = "nat")]
struct Nat {
    /// Request time.
    #[metric(unit = "seconds")]
    latency_seconds: NativeHistogram<Side>,
    /// Changes, any sign.
    #[metric(schema = 0, zero_threshold = 0.5, max_buckets = 20)]
    change: NativeHistogram<(), 32>,
}

fn populated() -> Nat {
    let m = Nat::new();
    for v in [0.001, 0.002, 0.25, 1.0, 7.5] {
        m.latency_seconds.with(Side::Left).record(v);
    }
    for v in [-3.0, -0.25, 0.0, 0.4, 2.0, 1e300, f64::INFINITY, f64::NEG_INFINITY] {
        m.change.record(v);
    }
    m.change.record(f64::NAN); // counted as invalid, not recorded
    m
}

#[test]
fn text_formats_expose_valid_classic_histograms() {
    let m = populated();
    let om = m.render_openmetrics();
    let families = parse_openmetrics_strict(&om);
    assert!(!families.is_empty());
    let text = m.render_prometheus();
    promtool_check(&text).unwrap_or_else(|e| panic!("{e}\n--- text ---\n{text}"));
    // The +Inf bucket holds everything, and equals `_count`.
    assert!(text.contains("nat_latency_seconds_bucket{side=\"left\",le=\"+Inf\"} 5\n"), "{text}");
    assert!(text.contains("nat_latency_seconds_count{side=\"left\"} 5\n"), "{text}");
    assert!(text.contains("nat_change_count 8\n"), "{text}");
    // A negative value was recorded: OpenMetrics leaves out `_sum` (and `_count`).
    assert!(!om.contains("nat_change_sum"), "{om}");
    assert_eq!(m.change.invalid(), 1);
}

#[test]
fn protobuf_decodes_with_the_official_types() {
    let m = populated();
    let mut body = Vec::new();
    m.visit(&mut ProtobufWriter::new(&mut body));
    let families = decode_protobuf(&body);
    assert_eq!(families.len(), 2);
    assert_eq!(families[0].name(), "nat_latency_seconds");
    let left = families[0].metric[0].histogram.as_ref().unwrap();
    assert_eq!((left.schema(), left.sample_count()), (3, 5));
    assert_eq!(families[0].metric[0].label[0].value(), "left");
    // Rebuild the buckets from spans and deltas: they are the ones the series reports.
    let mut rebuilt = Vec::new();
    let (mut key, mut count, mut deltas) = (0i32, 0i64, left.positive_delta.iter());
    for (i, span) in left.positive_span.iter().enumerate() {
        key = if i == 0 { span.offset() } else { key + 1 + span.offset() };
        for j in 0..span.length() {
            if j > 0 {
                key += 1;
            }
            count += deltas.next().unwrap();
            rebuilt.push((key, count as u64));
        }
    }
    assert_eq!(rebuilt, m.latency_seconds.with(Side::Left).read().positive);
    // An empty series still says it is native (a no-op span).
    let right = families[0].metric[1].histogram.as_ref().unwrap();
    assert_eq!((right.sample_count(), right.positive_span.len()), (0, 1));
    let change = families[1].metric[0].histogram.as_ref().unwrap();
    assert_eq!((change.schema(), change.zero_threshold(), change.zero_count()), (0, 0.5, 3));
    assert_eq!(change.sample_count(), 8);
    assert!(!change.negative_span.is_empty());
}

/// A native histogram that declares classic buckets records both: the text formats show the
/// declared buckets, protobuf carries them beside the native ones, and the classic buckets
/// never count more than `_count`.
#[test]
fn declared_classic_buckets_travel_with_the_native_ones() {
    #[derive(Metrics)]
    struct Both {
        /// Request time.
        #[metric(unit = "seconds", buckets = [0.1, 0.5, 1.0])]
        request_seconds: NativeHistogram<(), 320, 3>,
    }
    let m = Both::new();
    for v in [0.05, 0.2, 0.3, 0.7, 2.0] {
        m.request_seconds.record(v);
    }
    let text = m.render_prometheus();
    promtool_check(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    for line in [
        "request_seconds_bucket{le=\"0.1\"} 1\n",
        "request_seconds_bucket{le=\"0.5\"} 3\n",
        "request_seconds_bucket{le=\"1.0\"} 4\n",
        "request_seconds_bucket{le=\"+Inf\"} 5\n",
        "request_seconds_count 5\n",
    ] {
        assert!(text.contains(line), "{line:?} missing:\n{text}");
    }
    parse_openmetrics_strict(&m.render_openmetrics());
    let mut body = Vec::new();
    m.visit(&mut ProtobufWriter::new(&mut body));
    let family = decode_protobuf(&body).remove(0);
    let h = family.metric[0].histogram.as_ref().unwrap();
    let classic: Vec<(f64, u64)> = h.bucket.iter().map(|b| (b.upper_bound(), b.cumulative_count())).collect();
    assert_eq!(classic, [(0.1, 1), (0.5, 3), (1.0, 4)]);
    assert_eq!((h.schema(), h.sample_count()), (3, 5));
    assert!(!h.positive_span.is_empty());

    // Under concurrent writers, a read never shows more classic records than the count.
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..2 {
            let (m, stop) = (&m, &stop);
            s.spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    m.request_seconds.record(0.05);
                }
            });
        }
        for _ in 0..20_000 {
            let r = m.request_seconds.read();
            assert!(r.classic.iter().sum::<u64>() <= r.count, "{:?} > {}", r.classic, r.count);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}
