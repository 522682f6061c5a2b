//! Constant labels: pairs added to every series of a struct (`#[metrics(labels(..))]`) or of a
//! registry (`Registry::set_labels`), by a visitor that wraps each series' labels on the way to
//! the sink, so that every format and every push path sees them.

use crate::exemplar::Exemplar;
use crate::native::NativeRead;
use crate::read::{HistogramRead, Labels, MetricDesc, PrefixTable, Series, SummaryRead, Visitor};

/// Constant labels checked and escaped, owned (the registry's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OwnedLabels {
    pub(crate) pairs: Vec<(String, String)>,
    /// `a="x",b="y"`, escaped for the text formats.
    pub(crate) text: String,
}

impl OwnedLabels {
    /// Checks names and values; `Err` says what is wrong.
    pub(crate) fn new(pairs: &[(&str, &str)]) -> Result<Self, String> {
        let mut out = Self::default();
        for (i, (name, value)) in pairs.iter().enumerate() {
            metrics_rules::check_label_name(name).map_err(|e| format!("constant label `{name}`: {e}"))?;
            if *name == "le" || *name == "quantile" {
                return Err(format!("constant label `{name}` is reserved for histogram buckets and summary quantiles"));
            }
            metrics_rules::check_label_value(value).map_err(|e| format!("constant label `{name}`: {e}"))?;
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(format!("constant label `{name}` is given twice"));
            }
            out.pairs.push(((*name).to_owned(), (*value).to_owned()));
        }
        out.text = text(pairs);
        Ok(out)
    }
}

/// `a="x",b="y"`, escaped.
fn text(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    crate::expose::push_label_text(&mut out, pairs.iter().copied());
    out
}

/// A visitor that hands every series on with `labels` in front of its own (a series label of
/// the same name wins) and without the pre-rendered prefixes (which hold only the series' own
/// labels).
pub struct ConstLabelsVisitor<'a> {
    labels: &'a [(&'a str, &'a str)],
    text: &'a str,
    inner: &'a mut dyn Visitor,
}

impl std::fmt::Debug for ConstLabelsVisitor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConstLabelsVisitor").field("labels", &self.labels).finish_non_exhaustive()
    }
}

impl<'a> ConstLabelsVisitor<'a> {
    /// Wraps `inner`; `text` is `labels` as `a="x",b="y"`, escaped for the text formats.
    pub fn new(labels: &'a [(&'a str, &'a str)], text: &'a str, inner: &'a mut dyn Visitor) -> Self {
        Self { labels, text, inner }
    }
}

/// A series' labels with the constant ones in front.
struct WithConst<'a> {
    labels: &'a [(&'a str, &'a str)],
    text: &'a str,
    inner: &'a dyn Labels,
    /// Bit `i` set: constant label `i` is overridden by a series label of the same name.
    shadowed: u64,
}

impl<'a> WithConst<'a> {
    fn new(labels: &'a [(&'a str, &'a str)], text: &'a str, inner: &'a dyn Labels) -> Self {
        let mut shadowed = 0u64;
        if !inner.is_empty() {
            inner.pairs(&mut |k, _| {
                if let Some(i) = labels.iter().position(|(n, _)| *n == k) {
                    shadowed |= 1 << i.min(63);
                }
            });
        }
        Self { labels, text, inner, shadowed }
    }

    fn kept(&self) -> impl Iterator<Item = &(&'a str, &'a str)> + '_ {
        self.labels.iter().enumerate().filter(|(i, _)| self.shadowed & (1 << (*i).min(63)) == 0).map(|(_, p)| p)
    }
}

impl Labels for WithConst<'_> {
    fn len(&self) -> usize {
        self.kept().count() + self.inner.len()
    }

    fn pairs(&self, f: &mut dyn FnMut(&str, &str)) {
        for (k, v) in self.kept() {
            f(k, v);
        }
        self.inner.pairs(f);
    }

    fn write_text(&self, out: &mut String) {
        let wrote = if self.shadowed == 0 {
            out.push_str(self.text);
            !self.text.is_empty()
        } else {
            let before = out.len();
            crate::expose::push_label_text(out, self.kept().copied());
            out.len() > before
        };
        if !self.inner.is_empty() {
            if wrote {
                out.push(',');
            }
            self.inner.write_text(out);
        }
    }
}

macro_rules! with_const {
    ($self:ident, $metric:ident, $series:ident, |$desc:ident, $s:ident| $call:expr) => {{
        let $desc = MetricDesc { prefixes: &PrefixTable::EMPTY, ..*$metric };
        let labels = WithConst::new($self.labels, $self.text, $series.labels);
        let $s = Series { labels: &labels, ..$series };
        $call
    }};
}

impl Visitor for ConstLabelsVisitor<'_> {
    fn begin_metric(&mut self, metric: &MetricDesc<'_>) {
        self.inner.begin_metric(&MetricDesc { prefixes: &PrefixTable::EMPTY, ..*metric });
    }

    fn counter(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, value: u64) {
        with_const!(self, metric, series, |d, s| self.inner.counter(&d, s, value))
    }

    fn counter_f64(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        with_const!(self, metric, series, |d, s| self.inner.counter_f64(&d, s, value))
    }

    fn info(&mut self, metric: &MetricDesc<'_>, series: Series<'_>) {
        with_const!(self, metric, series, |d, s| self.inner.info(&d, s))
    }

    fn gauge(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        with_const!(self, metric, series, |d, s| self.inner.gauge(&d, s, value))
    }

    fn histogram(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, histogram: &HistogramRead<'_>) {
        with_const!(self, metric, series, |d, s| self.inner.histogram(&d, s, histogram))
    }

    fn counter_with_exemplar(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, value: u64, e: Option<&Exemplar>) {
        with_const!(self, metric, series, |d, s| self.inner.counter_with_exemplar(&d, s, value, e))
    }

    fn native_histogram(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, histogram: &NativeRead) {
        with_const!(self, metric, series, |d, s| self.inner.native_histogram(&d, s, histogram))
    }

    fn summary(&mut self, metric: &MetricDesc<'_>, series: Series<'_>, summary: &SummaryRead<'_>) {
        with_const!(self, metric, series, |d, s| self.inner.summary(&d, s, summary))
    }

    fn end_metric(&mut self, metric: &MetricDesc<'_>) {
        self.inner.end_metric(&MetricDesc { prefixes: &PrefixTable::EMPTY, ..*metric });
    }
}
