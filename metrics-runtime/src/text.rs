//! Prometheus text format 0.0.4: the writer behind `render_prometheus`.
//!
//! Names, HELP text, label pairs and `le`/`quantile` values are escaped and formatted at compile
//! time by the derives; writing is copying plus number formatting (itoa and ryu).

use crate::counter::Counter;
use crate::gauge::Gauge;
use crate::histogram::Histogram;
use crate::summary::Summary;
use crate::tag::TagSet;

/// What the derive knows about one metric at compile time.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct MetricDesc {
    /// The exposed name, namespace included (`shop_requests_total`).
    pub name: &'static str,
    /// HELP escaped for the Prometheus text format (`\\` and `\n`).
    pub help: &'static str,
    /// The declared unit, or `""`.
    pub unit: &'static str,
}

/// Appends an `f64` as the text formats spell it: shortest round-trip digits, `NaN`, `+Inf`, `-Inf`.
#[inline]
pub fn push_f64(out: &mut String, value: f64) {
    if value.is_finite() {
        out.push_str(ryu::Buffer::new().format_finite(value));
    } else if value.is_nan() {
        out.push_str("NaN");
    } else if value > 0.0 {
        out.push_str("+Inf");
    } else {
        out.push_str("-Inf");
    }
}

/// Appends an integer.
#[inline]
pub fn push_u64(out: &mut String, value: u64) {
    out.push_str(itoa::Buffer::new().format(value));
}

fn header(out: &mut String, desc: &MetricDesc, kind: &str) {
    out.push_str("# HELP ");
    out.push_str(desc.name);
    out.push(' ');
    out.push_str(desc.help);
    out.push_str("\n# TYPE ");
    out.push_str(desc.name);
    out.push(' ');
    out.push_str(kind);
    out.push('\n');
}

/// `name{labels} ` or `name `, with `suffix` after the name.
#[inline]
fn series_prefix<T: TagSet>(out: &mut String, name: &str, suffix: &str, index: usize) {
    out.push_str(name);
    out.push_str(suffix);
    if !T::NAMES.is_empty() {
        out.push('{');
        T::write_labels(index, out);
        out.push('}');
    }
    out.push(' ');
}

/// Writes a counter family.
pub fn write_counter<T: TagSet>(out: &mut String, desc: &MetricDesc, counter: &Counter<T>) {
    header(out, desc, "counter");
    for (i, series) in counter.series().iter().enumerate() {
        series_prefix::<T>(out, desc.name, "", i);
        push_u64(out, series.get());
        out.push('\n');
    }
}

/// Writes a gauge family.
pub fn write_gauge<T: TagSet>(out: &mut String, desc: &MetricDesc, gauge: &Gauge<T>) {
    header(out, desc, "gauge");
    for (i, series) in gauge.series().iter().enumerate() {
        series_prefix::<T>(out, desc.name, "", i);
        push_f64(out, series.get());
        out.push('\n');
    }
}

/// Writes a histogram family: cumulative `_bucket{le}` ending in `+Inf`, `_sum`, `_count`.
pub fn write_histogram<T: TagSet, const B: usize>(
    out: &mut String,
    desc: &MetricDesc,
    histogram: &Histogram<T, B>,
) {
    header(out, desc, "histogram");
    let bounds = histogram.bounds();
    let le = histogram.le_texts();
    for (i, series) in histogram.series().iter().enumerate() {
        let mut cumulative = 0u64;
        for (b, count) in series.bucket_counts(bounds).enumerate() {
            cumulative += count;
            out.push_str(desc.name);
            out.push_str("_bucket{");
            if !T::NAMES.is_empty() {
                T::write_labels(i, out);
                out.push(',');
            }
            out.push_str("le=\"");
            out.push_str(le.get(b).copied().unwrap_or("+Inf"));
            out.push_str("\"} ");
            push_u64(out, cumulative);
            out.push('\n');
        }
        series_prefix::<T>(out, desc.name, "_sum", i);
        push_f64(out, series.sum());
        out.push('\n');
        series_prefix::<T>(out, desc.name, "_count", i);
        push_u64(out, cumulative);
        out.push('\n');
    }
}

/// Writes a summary family: `{quantile="q"}` per configured quantile, `_sum`, `_count`.
pub fn write_summary<T: TagSet>(out: &mut String, desc: &MetricDesc, summary: &Summary<T>) {
    header(out, desc, "summary");
    let labels = summary.config().quantile_labels;
    for i in 0..summary.series_count() {
        let Some(series) = summary.series_at(i) else {
            break;
        };
        let snapshot = series.snapshot();
        for (label, value) in labels.iter().zip(&snapshot.quantiles) {
            out.push_str(desc.name);
            out.push('{');
            if !T::NAMES.is_empty() {
                T::write_labels(i, out);
                out.push(',');
            }
            out.push_str("quantile=\"");
            out.push_str(label);
            out.push_str("\"} ");
            push_f64(out, *value);
            out.push('\n');
        }
        series_prefix::<T>(out, desc.name, "_sum", i);
        push_f64(out, snapshot.sum);
        out.push('\n');
        series_prefix::<T>(out, desc.name, "_count", i);
        push_u64(out, snapshot.count);
        out.push('\n');
    }
}
