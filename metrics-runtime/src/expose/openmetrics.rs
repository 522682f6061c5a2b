//! OpenMetrics 1.0 text format.

use super::text::{buckets, f64_line, sample_prefix, series_prefix, sum_and_count, summary, u64_line};
use crate::read::{HistogramRead, MetricDesc, Series, SummaryRead, Visitor};

/// Writes the OpenMetrics 1.0 text format into a caller's buffer: `# TYPE`, `# UNIT` and
/// `# HELP` per family, `_created` per series; [`finish`](Self::finish) writes `# EOF`.
///
/// A histogram series with negative observations (or bounds) has no `_sum` and `_count`: the
/// format allows a sum only while it is a counter.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Metrics};
/// use metrics_runtime::expose::OpenMetricsWriter;
///
/// #[derive(Metrics)]
/// struct Jobs {
///     /// Jobs run.
///     jobs_total: Counter,
/// }
///
/// let jobs = Jobs::new();
/// let mut out = String::new();
/// let mut writer = OpenMetricsWriter::new(&mut out);
/// jobs.visit(&mut writer);
/// writer.finish();
/// assert!(out.starts_with("# TYPE jobs counter\n# HELP jobs Jobs run.\njobs_total 0\njobs_created "));
/// assert!(out.ends_with("# EOF\n"));
/// ```
#[derive(Debug)]
pub struct OpenMetricsWriter<'a> {
    out: &'a mut String,
}

impl<'a> OpenMetricsWriter<'a> {
    /// A writer appending to `out`.
    pub fn new(out: &'a mut String) -> Self {
        Self { out }
    }

    /// Ends the exposition: `# EOF`.
    pub fn finish(self) {
        self.out.push_str("# EOF\n");
    }

    fn created(&mut self, m: &MetricDesc<'_>, series: &Series<'_>) {
        sample_prefix(self.out, m.family, "_created", series.labels, None);
        f64_line(self.out, series.created);
    }
}

impl Visitor for OpenMetricsWriter<'_> {
    fn begin_metric(&mut self, m: &MetricDesc<'_>) {
        let out = &mut *self.out;
        out.push_str("# TYPE ");
        out.push_str(m.family);
        out.push(' ');
        out.push_str(m.kind.as_str());
        out.push('\n');
        if !m.unit.is_empty() {
            out.push_str("# UNIT ");
            out.push_str(m.family);
            out.push(' ');
            out.push_str(m.unit);
            out.push('\n');
        }
        out.push_str("# HELP ");
        out.push_str(m.family);
        out.push(' ');
        out.push_str(m.help_om);
        out.push('\n');
    }

    #[inline]
    fn counter(&mut self, m: &MetricDesc<'_>, series: Series<'_>, value: u64) {
        series_prefix(self.out, m, &series);
        u64_line(self.out, value);
        self.created(m, &series);
    }

    fn info(&mut self, m: &MetricDesc<'_>, series: Series<'_>) {
        series_prefix(self.out, m, &series);
        self.out.push_str("1\n");
    }

    fn counter_f64(&mut self, m: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        series_prefix(self.out, m, &series);
        f64_line(self.out, value);
        self.created(m, &series);
    }

    #[inline]
    fn gauge(&mut self, m: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        series_prefix(self.out, m, &series);
        f64_line(self.out, value);
    }

    fn counter_with_exemplar(
        &mut self,
        m: &MetricDesc<'_>,
        series: Series<'_>,
        value: u64,
        e: Option<&crate::exemplar::Exemplar>,
    ) {
        series_prefix(self.out, m, &series);
        crate::expose::push_u64(self.out, value);
        if let Some(e) = e {
            super::text::exemplar(self.out, e);
        }
        self.out.push('\n');
        self.created(m, &series);
    }

    fn histogram(&mut self, m: &MetricDesc<'_>, series: Series<'_>, h: &HistogramRead<'_>) {
        let count = buckets(self.out, m.name, &series, h, h.exemplars);
        // No `_sum` once the sum is not a counter (`negative`: a negative value recorded or a
        // negative bound), and no `_count` without a `_sum` (the `+Inf` bucket is the count).
        if !h.negative {
            sum_and_count(self.out, m.name, &series, h.sum, count);
        }
        self.created(m, &series);
    }

    fn summary(&mut self, m: &MetricDesc<'_>, series: Series<'_>, s: &SummaryRead<'_>) {
        summary(self.out, m.name, &series, s);
        self.created(m, &series);
    }
}
