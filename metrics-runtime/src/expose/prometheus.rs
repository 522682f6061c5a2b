//! Prometheus text format 0.0.4.

use super::text::{buckets, f64_line, series_prefix, sum_and_count, summary, u64_line};
use crate::read::{HistogramRead, MetricDesc, Series, SummaryRead, Visitor};

/// Writes the Prometheus text format (0.0.4) into a caller's buffer: `# HELP` and `# TYPE` per
/// metric, one line per sample.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Metrics};
/// use metrics_runtime::expose::PrometheusWriter;
///
/// #[derive(Metrics)]
/// struct Jobs {
///     /// Jobs run.
///     jobs_total: Counter,
/// }
///
/// let jobs = Jobs::new();
/// jobs.jobs_total.add(3);
/// let mut out = String::new();
/// jobs.visit(&mut PrometheusWriter::new(&mut out));
/// assert_eq!(out, "# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total 3\n");
/// assert_eq!(out, jobs.render_prometheus());
/// ```
#[derive(Debug)]
pub struct PrometheusWriter<'a> {
    out: &'a mut String,
}

impl<'a> PrometheusWriter<'a> {
    /// A writer appending to `out`.
    pub fn new(out: &'a mut String) -> Self {
        Self { out }
    }
}

impl Visitor for PrometheusWriter<'_> {
    fn begin_metric(&mut self, m: &MetricDesc<'_>) {
        let out = &mut *self.out;
        out.push_str("# HELP ");
        out.push_str(m.name);
        out.push(' ');
        out.push_str(m.help_text);
        out.push_str("\n# TYPE ");
        out.push_str(m.name);
        out.push(' ');
        out.push_str(m.kind.text_type());
        out.push('\n');
    }

    #[inline]
    fn counter(&mut self, m: &MetricDesc<'_>, series: Series<'_>, value: u64) {
        series_prefix(self.out, m, &series);
        u64_line(self.out, value);
    }

    fn counter_f64(&mut self, m: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        series_prefix(self.out, m, &series);
        f64_line(self.out, value);
    }

    #[inline]
    fn gauge(&mut self, m: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        series_prefix(self.out, m, &series);
        f64_line(self.out, value);
    }

    fn histogram(&mut self, m: &MetricDesc<'_>, series: Series<'_>, h: &HistogramRead<'_>) {
        let count = buckets(self.out, m.name, &series, h, &[]);
        sum_and_count(self.out, m.name, &series, h.sum, count);
    }

    fn summary(&mut self, m: &MetricDesc<'_>, series: Series<'_>, s: &SummaryRead<'_>) {
        summary(self.out, m.name, &series, s);
    }
}
