//! This library's JSON document.

use super::{push_f64, push_json_f64, push_u64};
use crate::read::{HistogramRead, MetricDesc, Series, SummaryRead, Visitor};

/// Writes this library's JSON document into a caller's buffer:
/// `{"metrics":[{"name":..,"type":..,"help":..,"unit":..,"series":[{"labels":{..},..}]}]}`;
/// [`finish`](Self::finish) closes it. Values JSON cannot spell (`NaN`, `±Inf`) are strings.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Gauge, Metrics};
/// use metrics_runtime::expose::JsonWriter;
///
/// #[derive(Metrics)]
/// struct Pool {
///     /// Open connections.
///     open: Gauge,
/// }
///
/// let pool = Pool::new();
/// pool.open.set(2.0);
/// let mut out = String::new();
/// let mut writer = JsonWriter::new(&mut out);
/// pool.visit(&mut writer);
/// writer.finish();
/// assert_eq!(
///     out,
///     r#"{"metrics":[{"name":"open","type":"gauge","help":"Open connections.","unit":"","series":[{"labels":{},"value":2.0}]}]}"#
/// );
/// ```
#[derive(Debug)]
pub struct JsonWriter<'a> {
    out: &'a mut String,
    first_metric: bool,
    first_series: bool,
}

impl<'a> JsonWriter<'a> {
    /// A writer appending to `out`; it writes `{"metrics":[` at once.
    pub fn new(out: &'a mut String) -> Self {
        out.push_str("{\"metrics\":[");
        Self { out, first_metric: true, first_series: true }
    }

    /// Closes the document: `]}`.
    pub fn finish(self) {
        self.out.push_str("]}");
    }

    /// `{"labels":{...}` opening a series object.
    fn open_series(&mut self, series: &Series<'_>) {
        if !self.first_series {
            self.out.push(',');
        }
        self.first_series = false;
        self.out.push_str("{\"labels\":{");
        series.labels.write_json(self.out);
        self.out.push('}');
    }
}

impl Visitor for JsonWriter<'_> {
    fn begin_metric(&mut self, m: &MetricDesc<'_>) {
        let out = &mut *self.out;
        if !self.first_metric {
            out.push(',');
        }
        self.first_metric = false;
        self.first_series = true;
        out.push_str("{\"name\":\"");
        out.push_str(m.name);
        out.push_str("\",\"type\":\"");
        out.push_str(m.kind.as_str());
        out.push_str("\",\"help\":\"");
        out.push_str(m.help_json);
        out.push_str("\",\"unit\":\"");
        out.push_str(m.unit);
        out.push_str("\",\"series\":[");
    }

    fn end_metric(&mut self, _: &MetricDesc<'_>) {
        self.out.push_str("]}");
    }

    fn counter(&mut self, _: &MetricDesc<'_>, series: Series<'_>, value: u64) {
        self.open_series(&series);
        self.out.push_str(",\"value\":");
        push_u64(self.out, value);
        self.out.push('}');
    }

    fn counter_f64(&mut self, m: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        self.gauge(m, series, value);
    }

    fn gauge(&mut self, _: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        self.open_series(&series);
        self.out.push_str(",\"value\":");
        push_json_f64(self.out, value);
        self.out.push('}');
    }

    fn histogram(&mut self, _: &MetricDesc<'_>, series: Series<'_>, h: &HistogramRead<'_>) {
        self.open_series(&series);
        self.out.push_str(",\"buckets\":[");
        let mut total = 0;
        for (b, cumulative) in h.cumulative().enumerate() {
            if b > 0 {
                self.out.push(',');
            }
            self.out.push_str("{\"le\":");
            match h.bounds.get(b) {
                Some(bound) => push_json_f64(self.out, *bound),
                None => self.out.push_str("\"+Inf\""),
            }
            self.out.push_str(",\"count\":");
            push_u64(self.out, cumulative);
            self.out.push('}');
            total = cumulative;
        }
        self.out.push_str("],\"sum\":");
        push_json_f64(self.out, h.sum);
        self.out.push_str(",\"count\":");
        push_u64(self.out, total);
        self.out.push('}');
    }

    fn summary(&mut self, _: &MetricDesc<'_>, series: Series<'_>, s: &SummaryRead<'_>) {
        self.open_series(&series);
        self.out.push_str(",\"quantiles\":[");
        for (k, (q, v)) in s.quantiles.iter().zip(s.values).enumerate() {
            if k > 0 {
                self.out.push(',');
            }
            self.out.push_str("{\"quantile\":");
            push_f64(self.out, *q);
            self.out.push_str(",\"value\":");
            push_json_f64(self.out, *v);
            self.out.push('}');
        }
        self.out.push_str("],\"sum\":");
        push_json_f64(self.out, s.sum);
        self.out.push_str(",\"count\":");
        push_u64(self.out, s.count);
        self.out.push('}');
    }
}
