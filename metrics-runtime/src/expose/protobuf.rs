//! The Prometheus protobuf exposition: length-delimited `io.prometheus.client.MetricFamily`
//! messages, the one format that carries native histograms (feature `protobuf`).

use prost::Message;

use super::proto::{self, BucketSpan, LabelPair, MetricFamily, MetricType};
use crate::exemplar::Exemplar;
use crate::read::{cumulative, HistogramRead, MetricDesc, MetricKind, Series, SummaryRead, Visitor};
use crate::NativeRead;

/// Writes every metric it visits as one length-delimited `MetricFamily` (the
/// `application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
/// encoding=delimited` body). Native histograms keep their native buckets; classic
/// histograms their classic ones.
///
/// # Examples
///
/// ```
/// use metrics_runtime::expose::{proto::MetricFamily, ProtobufWriter};
/// use metrics_runtime::{Counter, Metrics};
/// use prost::Message;
///
/// #[derive(Metrics)]
/// struct Jobs {
///     /// Jobs run.
///     jobs_total: Counter,
/// }
/// let jobs = Jobs::new();
/// jobs.jobs_total.inc();
/// let mut body = Vec::new();
/// jobs.visit(&mut ProtobufWriter::new(&mut body));
/// let family = MetricFamily::decode_length_delimited(&body[..]).unwrap();
/// assert_eq!(family.name(), "jobs_total");
/// assert_eq!(family.metric[0].counter.as_ref().unwrap().value(), 1.0);
/// ```
#[derive(Debug)]
pub struct ProtobufWriter<'a> {
    out: &'a mut Vec<u8>,
    family: MetricFamily,
}

impl<'a> ProtobufWriter<'a> {
    /// A writer appending to `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out, family: MetricFamily::default() }
    }

    /// One counter series (protobuf counters are `double`s).
    fn push_counter(&mut self, series: &Series<'_>, value: f64, e: Option<&Exemplar>) {
        self.family.metric.push(proto::Metric {
            label: labels(series),
            counter: Some(proto::Counter {
                value: Some(value),
                exemplar: e.map(exemplar),
                created_timestamp: Some(timestamp(series.created)),
            }),
            ..Default::default()
        });
    }
}

fn label_pair(name: &str, value: &str) -> LabelPair {
    LabelPair { name: Some(name.to_owned()), value: Some(value.to_owned()) }
}

fn labels(series: &Series<'_>) -> Vec<LabelPair> {
    let mut out = Vec::with_capacity(series.labels.len());
    series.labels.pairs(&mut |name, value| out.push(label_pair(name, value)));
    out
}

fn exemplar(e: &Exemplar) -> proto::Exemplar {
    proto::Exemplar {
        label: e.labels().map(|(name, value)| label_pair(name, value)).collect(),
        value: Some(e.value),
        timestamp: Some(timestamp(e.timestamp)),
    }
}

/// Classic buckets with finite bounds (`+Inf` is the count), each with its slot's exemplar in
/// `exemplars` (empty for none).
fn classic_buckets(
    bounds: &[f64],
    cumulative: impl Iterator<Item = u64>,
    exemplars: &[Option<Exemplar>],
) -> Vec<proto::Bucket> {
    bounds
        .iter()
        .zip(cumulative)
        .enumerate()
        .map(|(i, (bound, count))| proto::Bucket {
            cumulative_count: Some(count),
            upper_bound: Some(*bound),
            exemplar: exemplars.get(i).copied().flatten().as_ref().map(exemplar),
            ..Default::default()
        })
        .collect()
}

fn timestamp(unix_seconds: f64) -> prost_types::Timestamp {
    let seconds = unix_seconds.floor();
    prost_types::Timestamp { seconds: seconds as i64, nanos: ((unix_seconds - seconds) * 1e9) as i32 }
}

/// Native buckets `(key, count)` by increasing key as spans and count deltas.
fn spans(buckets: &[(i32, u64)]) -> (Vec<BucketSpan>, Vec<i64>) {
    let (spans, deltas) = crate::native::spans_and_deltas(buckets);
    (
        spans.into_iter().map(|(offset, length)| BucketSpan { offset: Some(offset), length: Some(length) }).collect(),
        deltas,
    )
}

impl Visitor for ProtobufWriter<'_> {
    fn begin_metric(&mut self, metric: &MetricDesc<'_>) {
        let ty = match metric.kind {
            MetricKind::Counter => MetricType::Counter,
            // The protobuf format has no info type: a gauge of value 1, as the Go client does.
            MetricKind::Gauge | MetricKind::Info => MetricType::Gauge,
            MetricKind::Histogram => MetricType::Histogram,
            MetricKind::Summary => MetricType::Summary,
        };
        self.family = MetricFamily {
            name: Some(metric.name.to_owned()),
            help: Some(metric.help.to_owned()),
            r#type: Some(ty as i32),
            metric: Vec::new(),
            unit: None,
        };
    }

    fn counter(&mut self, m: &MetricDesc<'_>, series: Series<'_>, value: u64) {
        self.counter_with_exemplar(m, series, value, None);
    }

    fn counter_f64(&mut self, _: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        self.push_counter(&series, value, None);
    }

    fn counter_with_exemplar(&mut self, _: &MetricDesc<'_>, series: Series<'_>, value: u64, e: Option<&Exemplar>) {
        self.push_counter(&series, value as f64, e);
    }

    fn gauge(&mut self, _: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        self.family.metric.push(proto::Metric {
            label: labels(&series),
            gauge: Some(proto::Gauge { value: Some(value) }),
            ..Default::default()
        });
    }

    fn histogram(&mut self, _: &MetricDesc<'_>, series: Series<'_>, h: &HistogramRead<'_>) {
        let bucket = classic_buckets(h.bounds, h.cumulative(), h.exemplars);
        self.family.metric.push(proto::Metric {
            label: labels(&series),
            histogram: Some(proto::Histogram {
                sample_count: Some(h.count()),
                sample_sum: Some(h.sum),
                bucket,
                created_timestamp: Some(timestamp(series.created)),
                ..Default::default()
            }),
            ..Default::default()
        });
    }

    fn native_histogram(&mut self, _: &MetricDesc<'_>, series: Series<'_>, h: &NativeRead) {
        let (mut positive_span, positive_delta) = spans(&h.positive);
        let (negative_span, negative_delta) = spans(&h.negative);
        // A series with no bucket yet still says it is native (a no-op span), or Prometheus
        // would take it for a classic histogram without buckets.
        if positive_span.is_empty() && negative_span.is_empty() {
            positive_span.push(BucketSpan { offset: Some(0), length: Some(0) });
        }
        // Declared classic buckets travel beside the native ones (Prometheus keeps both).
        let bucket = classic_buckets(h.bounds, cumulative(h.classic.iter().copied()), &[]);
        self.family.metric.push(proto::Metric {
            label: labels(&series),
            histogram: Some(proto::Histogram {
                sample_count: Some(h.count),
                sample_sum: Some(h.sum),
                bucket,
                created_timestamp: Some(timestamp(series.created)),
                schema: Some(i32::from(h.schema)),
                zero_threshold: Some(h.zero_threshold),
                zero_count: Some(h.zero_count),
                negative_span,
                negative_delta,
                positive_span,
                positive_delta,
                exemplars: h.exemplars.iter().map(exemplar).collect(),
                ..Default::default()
            }),
            ..Default::default()
        });
    }

    fn summary(&mut self, _: &MetricDesc<'_>, series: Series<'_>, s: &SummaryRead<'_>) {
        let quantile = s
            .quantiles
            .iter()
            .zip(s.values)
            .map(|(q, v)| proto::Quantile { quantile: Some(*q), value: Some(*v) })
            .collect();
        self.family.metric.push(proto::Metric {
            label: labels(&series),
            summary: Some(proto::Summary {
                sample_count: Some(s.count),
                sample_sum: Some(s.sum),
                quantile,
                created_timestamp: Some(timestamp(series.created)),
            }),
            ..Default::default()
        });
    }

    fn end_metric(&mut self, _: &MetricDesc<'_>) {
        let family = std::mem::take(&mut self.family);
        // Encoding into a `Vec` cannot fail (it grows as needed).
        let _ = family.encode_length_delimited(self.out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_deltas() {
        let (s, d) = spans(&[(-2, 3), (-1, 5), (3, 1), (4, 1), (10, 2)]);
        let s: Vec<(i32, u32)> = s.iter().map(|s| (s.offset(), s.length())).collect();
        assert_eq!(s, [(-2, 2), (3, 2), (5, 1)]);
        assert_eq!(d, [3, 2, -4, 0, 1]);
    }
}
