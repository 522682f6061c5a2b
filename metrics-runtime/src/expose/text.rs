//! What the two text formats share: sample prefixes and sample lines.

use super::{push_f64, push_u64};
use crate::read::{Labels, MetricDesc, Series};

/// `name_suffix{labels} ` (or `name_suffix{labels,key="value"} `).
#[inline]
pub(super) fn sample_prefix(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &dyn Labels,
    extra: Option<(&str, &str)>,
) {
    out.push_str(name);
    out.push_str(suffix);
    let has_labels = !labels.is_empty();
    if has_labels || extra.is_some() {
        out.push('{');
        if has_labels {
            labels.write_text(out);
        }
        if let Some((key, value)) = extra {
            if has_labels {
                out.push(',');
            }
            out.push_str(key);
            out.push_str("=\"");
            out.push_str(value);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
}

/// The series' sample prefix: the one the derive rendered at compile time, or built now.
#[inline]
pub(super) fn series_prefix(out: &mut String, m: &MetricDesc<'_>, series: &Series<'_>) {
    match m.prefixes.get(series.index) {
        Some(p) => out.push_str(p),
        None => sample_prefix(out, m.name, "", series.labels, None),
    }
}

/// `prefix value\n` for an integer.
#[inline]
pub(super) fn u64_line(out: &mut String, value: u64) {
    push_u64(out, value);
    out.push('\n');
}

/// `prefix value\n` for a float.
#[inline]
pub(super) fn f64_line(out: &mut String, value: f64) {
    push_f64(out, value);
    out.push('\n');
}

/// ` # {a="x"} value timestamp`: an OpenMetrics exemplar, after a sample's value.
pub(super) fn exemplar(out: &mut String, e: &crate::exemplar::Exemplar) {
    out.push_str(" # {");
    super::push_label_text(out, e.labels());
    out.push_str("} ");
    push_f64(out, e.value);
    out.push(' ');
    push_f64(out, e.timestamp);
}

/// The `_bucket{le}` lines of a histogram series, each followed by its slot's exemplar in
/// `exemplars` (OpenMetrics; empty for Prometheus text); returns the total count.
pub(super) fn buckets(
    out: &mut String,
    name: &str,
    series: &Series<'_>,
    h: &crate::read::HistogramRead<'_>,
    exemplars: &[Option<crate::exemplar::Exemplar>],
) -> u64 {
    let mut total = 0;
    for (b, cumulative) in h.cumulative().enumerate() {
        sample_prefix(out, name, "_bucket", series.labels, Some(("le", h.le.get(b))));
        push_u64(out, cumulative);
        if let Some(Some(e)) = exemplars.get(b) {
            exemplar(out, e);
        }
        out.push('\n');
        total = cumulative;
    }
    total
}

/// `_sum` and `_count` lines.
pub(super) fn sum_and_count(out: &mut String, name: &str, series: &Series<'_>, sum: f64, count: u64) {
    sample_prefix(out, name, "_sum", series.labels, None);
    f64_line(out, sum);
    sample_prefix(out, name, "_count", series.labels, None);
    u64_line(out, count);
}

/// A summary series: one `{quantile}` line per configured quantile, then `_sum` and `_count`.
pub(super) fn summary(out: &mut String, name: &str, series: &Series<'_>, s: &crate::read::SummaryRead<'_>) {
    for (label, value) in s.labels.iter().zip(s.values) {
        sample_prefix(out, name, "", series.labels, Some(("quantile", label)));
        f64_line(out, *value);
    }
    sum_and_count(out, name, series, s.sum, s.count);
}
