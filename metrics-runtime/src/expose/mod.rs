//! The pull formats, one writer per file, each a [`Visitor`](crate::Visitor) of the read
//! protocol: Prometheus text 0.0.4 ([`PrometheusWriter`]), OpenMetrics 1.0
//! ([`OpenMetricsWriter`]) and this library's JSON ([`JsonWriter`]); and the choice between them
//! from an HTTP `Accept` header ([`negotiate`]).
//!
//! Names, HELP text (escaped per format), label pairs and `le`/`quantile` values are escaped
//! and formatted at compile time by the derives; writing is copying plus number formatting
//! (itoa and ryu). Counter and gauge series use the sample prefixes the derive rendered.

mod json;
mod openmetrics;
mod prometheus;
mod text;

pub use json::JsonWriter;
pub use openmetrics::OpenMetricsWriter;
pub use prometheus::PrometheusWriter;

pub use crate::read::process_start_time;

/// An exposition format.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Format, Metrics};
///
/// #[derive(Metrics)]
/// struct Jobs {
///     /// Jobs run.
///     jobs_total: Counter,
/// }
///
/// let jobs = Jobs::new();
/// let mut outputs = Vec::new();
/// for format in [Format::Prometheus, Format::OpenMetrics, Format::Json] {
///     let mut out = String::new();
///     jobs.write_format(format, &mut out);
///     outputs.push(out);
/// }
/// assert!(outputs[0].starts_with("# HELP jobs_total"));
/// assert!(outputs[1].ends_with("# EOF\n"));
/// assert!(outputs[2].starts_with("{\"metrics\":["));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0 text format.
    OpenMetrics,
    /// This library's JSON document (see [`Metrics::render_json`](crate::Metrics::render_json)).
    Json,
}

impl Format {
    /// The exact `Content-Type` of the format.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Format;
    /// use metrics_runtime::expose::negotiate;
    ///
    /// assert_eq!(Format::Prometheus.content_type(), "text/plain; version=0.0.4; charset=utf-8");
    /// assert_eq!(Format::Json.content_type(), "application/json");
    /// // The response header for a scraper that asked for OpenMetrics:
    /// let format = negotiate(Some("application/openmetrics-text;version=1.0.0"));
    /// assert_eq!(format.content_type(), "application/openmetrics-text; version=1.0.0; charset=utf-8");
    /// ```
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

/// Appends an `f64` as the text formats spell it: shortest round-trip digits, `NaN`, `+Inf`, `-Inf`.
///
/// # Examples
///
/// ```
/// let mut s = String::new();
/// metrics_runtime::expose::push_f64(&mut s, 0.25);
/// s.push(' ');
/// metrics_runtime::expose::push_f64(&mut s, f64::NEG_INFINITY);
/// assert_eq!(s, "0.25 -Inf");
/// ```
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
///
/// # Examples
///
/// ```
/// let mut s = String::new();
/// metrics_runtime::expose::push_u64(&mut s, 18_446_744_073_709_551_615);
/// assert_eq!(s, "18446744073709551615");
/// ```
#[inline]
pub fn push_u64(out: &mut String, value: u64) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// Appends `s` escaped for a JSON string (without the quotes).
///
/// # Examples
///
/// ```
/// let mut json = String::from("{\"help\":\"");
/// metrics_runtime::expose::push_json_str(&mut json, "Bytes \"sent\"\n\tby peer");
/// json.push_str("\"}");
/// assert_eq!(json, r#"{"help":"Bytes \"sent\"\n\tby peer"}"#);
/// ```
#[inline]
pub fn push_json_str(out: &mut String, s: &str) {
    metrics_rules::push_json_str(out, s);
}

/// A JSON number, or a string for the values JSON cannot spell (`"NaN"`, `"+Inf"`, `"-Inf"`).
pub(crate) fn push_json_f64(out: &mut String, value: f64) {
    if value.is_finite() {
        push_f64(out, value);
    } else {
        out.push('"');
        push_f64(out, value);
        out.push('"');
    }
}

/// Chooses the exposition format from an HTTP `Accept` header: OpenMetrics when the client
/// prefers it (by q-value, ties going to OpenMetrics), Prometheus text otherwise.
///
/// # Examples
///
/// ```
/// use metrics_runtime::Format;
/// use metrics_runtime::expose::negotiate;
///
/// // What Prometheus sends.
/// let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// assert_eq!(negotiate(Some(accept)), Format::OpenMetrics);
/// assert_eq!(negotiate(Some("text/plain")), Format::Prometheus);
/// assert_eq!(negotiate(None), Format::Prometheus);
/// assert_eq!(Format::OpenMetrics.content_type(), "application/openmetrics-text; version=1.0.0; charset=utf-8");
/// ```
pub fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::Prometheus;
    };
    let mut best_om = 0.0f64;
    let mut best_text = 0.0f64;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut q = 1.0f64;
        let mut version: Option<String> = None;
        for param in parts {
            if let Some((k, v)) = param.split_once('=') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"'));
                if k == "q" {
                    q = v.parse::<f64>().ok().filter(|q| (0.0..=1.0).contains(q)).unwrap_or(0.0);
                } else if k == "version" {
                    version = Some(v.to_owned());
                }
            }
        }
        match media.as_str() {
            "application/openmetrics-text" if matches!(version.as_deref(), None | Some("1.0.0")) => {
                best_om = best_om.max(q)
            }
            "text/plain" | "text/*" | "*/*" => best_text = best_text.max(q),
            _ => {}
        }
    }
    if best_om > 0.0 && best_om >= best_text {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_respects_q_values() {
        assert_eq!(negotiate(Some("application/openmetrics-text;q=0.2, text/plain;q=0.9")), Format::Prometheus);
        assert_eq!(negotiate(Some("application/openmetrics-text; version=1.0.0")), Format::OpenMetrics);
        assert_eq!(negotiate(Some("application/openmetrics-text; version=0.0.1")), Format::Prometheus);
        assert_eq!(negotiate(Some("application/openmetrics-text;q=0")), Format::Prometheus);
        assert_eq!(negotiate(Some("application/json")), Format::Prometheus);
        assert_eq!(negotiate(Some("")), Format::Prometheus);
    }

    #[test]
    fn json_escaping() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\nd\u{1}é");
        assert_eq!(s, "a\\\"b\\\\c\\nd\\u0001é");
    }

    #[test]
    fn process_start_is_in_the_past() {
        let start = process_start_time();
        assert!(start > 1.0e9 && start <= crate::read::now_unix(), "{start}");
    }
}
