//! The rules of a service-level objective declared on a metric: its latency threshold or its
//! error selector, and its target. Shared by the derive (checked at compile time) and the
//! run-time catalog.

/// A latency objective as written: `"250ms"`, `"0.25"` (in the metric's unit), or
/// `"p99 < 250ms"` (99% of observations at or below 250 ms: a target of 0.99).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyObjective {
    /// The threshold, in the metric's unit: an observation at or below it is good.
    pub threshold: f64,
    /// The target the `pNN <` form implies (`p99.9` is 0.999), if written that way.
    pub implied_target: Option<f64>,
}

/// Parses a latency objective for a histogram of `unit` (`""` if it declares none).
///
/// ```
/// use metrics_rules::parse_latency;
/// assert_eq!(parse_latency("250ms", "seconds").unwrap().threshold, 0.25);
/// assert_eq!(parse_latency("p99.9 < 1s", "seconds").unwrap().implied_target, Some(0.999));
/// assert_eq!(parse_latency("0.5", "").unwrap().threshold, 0.5);
/// assert!(parse_latency("250ms", "bytes").unwrap_err().contains("unit = \"seconds\""));
/// assert!(parse_latency("p100 < 1s", "seconds").is_err());
/// ```
pub fn parse_latency(text: &str, unit: &str) -> Result<LatencyObjective, String> {
    let text = text.trim();
    let (implied_target, threshold_text) = match text.split_once('<') {
        Some((left, right)) => {
            let left = left.trim();
            let right = right.trim_start_matches('=').trim();
            let Some(digits) = left.strip_prefix('p').or_else(|| left.strip_prefix('P')) else {
                return Err(format!(
                    "latency objective `{text}`: the part before `<` must be a percentile such as `p99`"
                ));
            };
            let pct: f64 = digits.parse().map_err(|_| {
                format!("latency objective `{text}`: `{left}` is not a percentile such as `p99` or `p99.9`")
            })?;
            if !(pct > 0.0 && pct < 100.0) {
                return Err(format!("latency objective `{text}`: the percentile must be above p0 and below p100"));
            }
            (Some(round15(pct / 100.0)), right)
        }
        None => (None, text),
    };
    let threshold = parse_threshold(threshold_text, unit).map_err(|e| format!("latency objective `{text}`: {e}"))?;
    Ok(LatencyObjective { threshold, implied_target })
}

/// `250ms`, `1.5s`, `500us`, `2m`, or a plain number in the metric's unit.
fn parse_threshold(text: &str, unit: &str) -> Result<f64, String> {
    const SUFFIXES: &[(&str, f64)] =
        &[("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("h", 3600.0)];
    let text = text.trim();
    if text.is_empty() {
        return Err("no threshold; write one such as `250ms`".into());
    }
    let (number, scale) = match SUFFIXES
        .iter()
        .find(|(s, _)| text.strip_suffix(s).is_some_and(|n| n.ends_with(|c: char| c.is_ascii_digit() || c == '.')))
    {
        Some((suffix, scale)) => {
            if unit != "seconds" {
                let has = if unit.is_empty() { "declares no unit".to_owned() } else { format!("is in `{unit}`") };
                return Err(format!(
                    "a duration needs a histogram in seconds and this one {has}; declare `unit = \"seconds\"` or give the threshold as a plain number"
                ));
            }
            (&text[..text.len() - suffix.len()], *scale)
        }
        None => (text, 1.0),
    };
    let value: f64 =
        number.trim().parse().map_err(|_| format!("`{text}` is not a number or a duration such as `250ms`"))?;
    let value = value * scale;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("the threshold `{text}` must be a finite number above 0"));
    }
    Ok(round15(value))
}

/// Rounds to 15 significant digits, so that `250ms` is 0.25 and `p99.9` is 0.999, not the
/// neighbouring float the decimal arithmetic lands on.
fn round15(value: f64) -> f64 {
    format!("{value:.14e}").parse().unwrap_or(value)
}

/// Parses an error selector: `label=value`, or `label=a|b` for several values.
///
/// ```
/// use metrics_rules::parse_errors;
/// assert_eq!(parse_errors("outcome=error").unwrap(), ("outcome".to_owned(), vec!["error".to_owned()]));
/// assert_eq!(parse_errors("status = 5xx|4xx").unwrap().1, ["5xx", "4xx"]);
/// assert!(parse_errors("outcome").is_err());
/// ```
pub fn parse_errors(text: &str) -> Result<(String, Vec<String>), String> {
    let Some((label, values)) = text.split_once('=') else {
        return Err(format!("error selector `{text}` must be `label=value` (or `label=a|b`), such as `outcome=error`"));
    };
    let label = label.trim();
    crate::check_label_name(label).map_err(|e| format!("error selector `{text}`: {e}"))?;
    let mut out: Vec<String> = Vec::new();
    for value in values.split('|').map(str::trim) {
        if value.is_empty() {
            return Err(format!("error selector `{text}` has an empty value"));
        }
        if out.iter().any(|v| v == value) {
            return Err(format!("error selector `{text}` gives `{value}` twice"));
        }
        out.push(value.to_owned());
    }
    Ok((label.to_owned(), out))
}

/// Checks an objective's target: the fraction of good events, strictly between 0 and 1.
///
/// ```
/// assert!(metrics_rules::check_target(0.999).is_ok());
/// assert!(metrics_rules::check_target(99.9).unwrap_err().contains("0.999"));
/// ```
pub fn check_target(target: f64) -> Result<(), String> {
    if target > 0.0 && target < 1.0 {
        Ok(())
    } else if target > 1.0 && target < 100.0 {
        Err(format!("target `{target}` is a percentage; write it as a fraction, `{}`", round15(target / 100.0)))
    } else {
        Err(format!("target `{target}` must be a fraction strictly between 0 and 1, such as `0.999`"))
    }
}

/// Whether `value` is a bucket boundary of a native histogram at `schema`, where a fraction
/// of observations at or below it is exact.
///
/// ```
/// assert!(metrics_rules::native_boundary(0.25, 3));
/// assert!(!metrics_rules::native_boundary(0.1, 3));
/// ```
pub fn native_boundary(value: f64, schema: i8) -> bool {
    value > 0.0 && value.is_finite() && crate::native_upper_bound(crate::native_key(value, schema), schema) == value
}

/// Checks an SLO's name: it becomes part of recording-rule and alert names.
///
/// ```
/// assert!(metrics_rules::check_slo_name("checkout_availability").is_ok());
/// assert!(metrics_rules::check_slo_name("checkout-availability").is_err());
/// ```
pub fn check_slo_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(format!("SLO name `{name}` must match `[a-z_][a-z0-9_]*`"))
    }
}
