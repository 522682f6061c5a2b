//! The naming and escaping rules of Prometheus, OpenMetrics and `promtool check metrics`.
//!
//! One implementation, shared by the derives (at compile time) and by `metrics-runtime` (for
//! metrics only known at run time), so that both accept and reject exactly the same names.
//! Each check returns `Err` with a message that says what to do.
//!
//! ```
//! assert!(metrics_rules::check_metric_name("http_requests_total").is_ok());
//! assert!(metrics_rules::check_metric_name("__internal").is_err());
//! assert_eq!(metrics_rules::base_unit_for("milliseconds"), Some("seconds"));
//! ```
#![deny(missing_docs)]

mod native;
mod slo;
pub use native::{
    native_coarser_key, native_key, native_upper_bound, DEFAULT_NATIVE_MAX_BUCKETS, DEFAULT_NATIVE_SCHEMA,
    DEFAULT_NATIVE_SLOTS, DEFAULT_NATIVE_ZERO_THRESHOLD, NATIVE_BOUNDS, NATIVE_SCHEMA_MAX, NATIVE_SCHEMA_MIN,
};
pub use slo::{check_slo_name, check_target, native_boundary, parse_errors, parse_latency, LatencyObjective};

/// Checks a metric name against `[a-zA-Z_][a-zA-Z0-9_]*`, the reserved `__` prefix, and the
/// `promtool` lints that apply to the name alone. Returns a message saying what to do.
pub fn check_metric_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("metric name is empty".into());
    }
    let bytes = name.as_bytes();
    if bytes[0].is_ascii_digit() {
        return Err(format!("metric name `{name}` starts with a digit; names match `[a-zA-Z_][a-zA-Z0-9_]*`"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == ':')) {
        return Err(format!("metric name `{name}` contains `{}`; names match `[a-zA-Z_][a-zA-Z0-9_]*`", shown(c)));
    }
    if name.contains(':') {
        return Err(format!("metric name `{name}` contains `:`, which is reserved for recording rules; use `_`"));
    }
    if name.starts_with("__") {
        return Err(format!("metric name `{name}` starts with `__`, which is reserved for internal use"));
    }
    if has_camel_case(name) {
        return Err(format!("metric name `{name}` is camelCase; write it in snake_case (`{}`)", to_snake(name)));
    }
    Ok(())
}

/// The kind of a metric: what it stores, its `# TYPE`, and the sample names it exposes. The
/// one definition of the kinds, shared by the derive (compile time), the run-time registry and
/// every writer.
///
/// # Examples
///
/// ```
/// use metrics_rules::MetricKind;
///
/// assert_eq!(MetricKind::Counter.as_str(), "counter");
/// assert_eq!(MetricKind::Counter.family_name("jobs_total"), "jobs");
/// assert_eq!(MetricKind::Gauge.family_name("queue_depth"), "queue_depth");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// A counter: its name ends in `_total`.
    Counter,
    /// A gauge.
    Gauge,
    /// A histogram.
    Histogram,
    /// A summary.
    Summary,
    /// An info metric (OpenMetrics `info`): labels describing the target, value 1; its name
    /// ends in `_info`. Prometheus text exposes it as a gauge.
    Info,
}

impl MetricKind {
    /// Every kind.
    pub const ALL: [MetricKind; 5] =
        [MetricKind::Counter, MetricKind::Gauge, MetricKind::Histogram, MetricKind::Summary, MetricKind::Info];

    /// The type name of `# TYPE` lines.
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::Summary => "summary",
            MetricKind::Info => "info",
        }
    }

    /// The type name of `# TYPE` lines in the Prometheus text format 0.0.4, which has no
    /// `info`: a gauge there.
    pub const fn text_type(self) -> &'static str {
        match self {
            MetricKind::Info => "gauge",
            other => other.as_str(),
        }
    }

    /// The kind whose `# TYPE` name is `name`.
    pub fn from_type_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The plural, for messages.
    pub const fn plural(self) -> &'static str {
        match self {
            MetricKind::Counter => "counters",
            MetricKind::Gauge => "gauges",
            MetricKind::Histogram => "histograms",
            MetricKind::Summary => "summaries",
            MetricKind::Info => "info metrics",
        }
    }

    /// The OpenMetrics family name of a metric of this kind named `name`: a counter's name
    /// without `_total`, an info metric's without `_info`, every other name as it is.
    pub fn family_name(self, name: &str) -> &str {
        match self {
            MetricKind::Counter => name.strip_suffix("_total").unwrap_or(name),
            MetricKind::Info => name.strip_suffix("_info").unwrap_or(name),
            _ => name,
        }
    }

    /// The suffixes of the samples a metric of this kind exposes, after its name (counters:
    /// after the family name).
    pub const fn sample_suffixes(self) -> &'static [&'static str] {
        match self {
            MetricKind::Counter => &["_total", "_created"],
            MetricKind::Gauge => &[""],
            MetricKind::Histogram => &["_bucket", "_sum", "_count", "_created"],
            MetricKind::Summary => &["", "_sum", "_count", "_created"],
            MetricKind::Info => &["_info"],
        }
    }

    /// Every sample name a metric of this kind named `name` can put in an exposition, and its
    /// OpenMetrics family name: what must not collide between two metrics.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_rules::MetricKind;
    ///
    /// assert_eq!(MetricKind::Counter.exposed_names("jobs_total"), ["jobs_total", "jobs", "jobs_created"]);
    /// assert_eq!(MetricKind::Gauge.exposed_names("queue_depth"), ["queue_depth"]);
    /// let histogram = MetricKind::Histogram.exposed_names("latency_seconds");
    /// // A gauge named `latency_seconds_count` would collide with this histogram.
    /// assert!(histogram.contains(&"latency_seconds_count".to_owned()));
    /// ```
    pub fn exposed_names(self, name: &str) -> Vec<String> {
        match self {
            MetricKind::Counter => {
                let family = self.family_name(name);
                vec![name.to_owned(), family.to_owned(), format!("{family}_created")]
            }
            MetricKind::Gauge => vec![name.to_owned()],
            MetricKind::Info => vec![name.to_owned(), self.family_name(name).to_owned()],
            MetricKind::Histogram | MetricKind::Summary => std::iter::once(name.to_owned())
                .chain(self.sample_suffixes().iter().filter(|s| !s.is_empty()).map(|s| format!("{name}{s}")))
                .collect(),
        }
    }
}

/// `MetricKind` as its `# TYPE` name (`"counter"`, ...).
#[cfg(feature = "serde")]
impl serde::Serialize for MetricKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for MetricKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = MetricKind;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a metric type name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MetricKind, E> {
                const KINDS: &[&str] = &["counter", "gauge", "histogram", "summary"];
                MetricKind::from_type_name(v).ok_or_else(|| E::unknown_variant(v, KINDS))
            }
        }
        d.deserialize_str(Name)
    }
}

/// The bucket bounds of a histogram that declares none: the Prometheus defaults, in seconds.
pub const DEFAULT_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The `le` texts of [`DEFAULT_BUCKETS`], as [`float_text`] writes them.
pub const DEFAULT_BUCKETS_LE: &[&str] =
    &["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0"];

/// The bucket slots of a `Histogram<T>` that does not give them: bounds plus `+Inf`.
pub const DEFAULT_HISTOGRAM_SLOTS: usize = 16;

/// The quantiles of a summary that declares none.
pub const DEFAULT_QUANTILES: &[f64] = &[0.5, 0.9, 0.99, 0.999];

/// The `quantile` texts of [`DEFAULT_QUANTILES`].
pub const DEFAULT_QUANTILES_TEXT: &[&str] = &["0.5", "0.9", "0.99", "0.999"];

/// The sliding window of a summary that declares none, in seconds.
pub const DEFAULT_WINDOW_SECS: u64 = 60;

/// The most series a metric may have unless it raises `max_series`.
pub const DEFAULT_MAX_SERIES: u64 = 10_000;

/// Suffixes reserved for the series of other metric types.
pub const RESERVED_SUFFIXES: &[&str] = &["_total", "_bucket", "_count", "_sum", "_created", "_info"];

/// Every rule for the full name of a metric of type `ty`: the grammar and `__` prefix, base
/// units, abbreviations and type names in the name, `_total` on counters, and no reserved
/// suffix on the other types. `base` is the name as the user wrote it (for the suggestion).
pub fn check_metric(ty: MetricKind, name: &str, base: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("metric name is empty; give a name such as `requests_total`".into());
    }
    check_metric_name(name)?;
    check_name_words(name)?;
    if ty == MetricKind::Counter && !name.ends_with("_total") {
        return Err(format!("counter `{name}` must end in `_total`; rename it to `{base}_total`"));
    }
    if ty == MetricKind::Info && !name.ends_with("_info") {
        return Err(format!("info metric `{name}` must end in `_info`; rename it to `{base}_info`"));
    }
    if ty != MetricKind::Counter && ty != MetricKind::Info {
        if let Some(sfx) = RESERVED_SUFFIXES.iter().find(|s| name.ends_with(*s)) {
            let hint = if *sfx == "_total" { "; if it only goes up, make it a `Counter`" } else { "" };
            return Err(format!(
                "{} `{name}` ends in `{sfx}`, a suffix reserved for the series of other metric types; rename it{hint}",
                ty.as_str()
            ));
        }
    }
    Ok(())
}

/// The longest label value accepted at run time, in bytes.
pub const MAX_LABEL_VALUE_BYTES: usize = 1024;

/// The longest metric or label name accepted at run time, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// The longest HELP text accepted at run time, in bytes.
pub const MAX_HELP_BYTES: usize = 4096;

/// Checks the length of a run-time name or HELP text against its limit.
pub fn check_length(what: &str, text: &str, limit: usize) -> Result<(), String> {
    if text.len() > limit {
        return Err(format!("{what} is {} bytes long; the limit is {limit}", text.len()));
    }
    Ok(())
}

/// Checks a label value given at run time: not empty (Prometheus treats an empty value as an
/// absent label) and at most [`MAX_LABEL_VALUE_BYTES`].
pub fn check_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("label value is empty; Prometheus reads an empty value as a missing label".into());
    }
    if value.len() > MAX_LABEL_VALUE_BYTES {
        return Err(format!("label value is {} bytes long; the limit is {MAX_LABEL_VALUE_BYTES}", value.len()));
    }
    Ok(())
}

/// Checks a label (tag) name against `[a-zA-Z_][a-zA-Z0-9_]*`, `__`, `le`/`quantile` and camelCase.
pub fn check_label_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("tag name is empty".into());
    }
    if name.as_bytes()[0].is_ascii_digit() {
        return Err(format!("tag name `{name}` starts with a digit; tag names match `[a-zA-Z_][a-zA-Z0-9_]*`"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
        return Err(format!("tag name `{name}` contains `{}`; tag names match `[a-zA-Z_][a-zA-Z0-9_]*`", shown(c)));
    }
    if name.starts_with("__") {
        return Err(format!("tag name `{name}` starts with `__`, which is reserved for internal use"));
    }
    if name == "le" {
        return Err("tag name `le` is reserved for histogram bucket bounds; choose another name".into());
    }
    if name == "quantile" {
        return Err("tag name `quantile` is reserved for summary quantiles; choose another name".into());
    }
    if has_camel_case(name) {
        return Err(format!("tag name `{name}` is camelCase; write it in snake_case (`{}`)", to_snake(name)));
    }
    Ok(())
}

/// A character as it should appear in a message: itself, unless invisible.
fn shown(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        c.escape_default().to_string()
    } else {
        c.to_string()
    }
}

fn has_camel_case(name: &str) -> bool {
    name.as_bytes().windows(2).any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
}

/// `fooBar` -> `foo_bar`, `FooBar` -> `foo_bar`, `HTTPStatus` -> `http_status`.
pub fn to_snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_uppercase();
            if i > 0 && chars[i - 1] != '_' && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

const BASE_UNITS: &[&str] =
    &["amperes", "bytes", "celsius", "grams", "joules", "kelvin", "meters", "metres", "seconds", "volts"];
const UNIT_PREFIXES: &[&str] = &[
    "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega", "mebi", "mibi", "giga",
    "gibi", "tera", "tebi", "peta", "pebi",
];
const TIME_UNITS: &[&str] = &["minutes", "hours", "days", "weeks"];
const ABBREVIATIONS: &[&str] = &["s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d"];
const TYPE_NAMES: &[&str] = &["counter", "gauge", "summary", "untyped", "histogram", "gauge_histogram"];

/// For a non-base unit word (`milliseconds`, `kilobytes`, `hours`), the base unit to use instead.
pub fn base_unit_for(word: &str) -> Option<&'static str> {
    let word = word.to_ascii_lowercase();
    if TIME_UNITS.contains(&word.as_str()) {
        return Some("seconds");
    }
    for prefix in UNIT_PREFIXES {
        if let Some(rest) = word.strip_prefix(prefix) {
            if let Some(base) = BASE_UNITS.iter().find(|b| **b == rest) {
                return Some(base);
            }
        }
    }
    None
}

/// Checks the parts of a name (split on `_`) for non-base units, unit abbreviations and type
/// names, as `promtool check metrics` does.
pub fn check_name_words(name: &str) -> Result<(), String> {
    let lower = name.to_ascii_lowercase();
    for word in lower.split('_') {
        if let Some(base) = base_unit_for(word) {
            return Err(format!(
                "metric name `{name}` uses the non-base unit `{word}`; use `{base}` and scale the values"
            ));
        }
    }
    for abbr in ABBREVIATIONS {
        let mid = format!("_{abbr}_");
        let end = format!("_{abbr}");
        if lower.contains(&mid) || lower.ends_with(&end) {
            return Err(format!("metric name `{name}` contains the abbreviated unit `{abbr}`; spell the base unit out (`seconds`, `bytes`, `meters`)"));
        }
    }
    for ty in TYPE_NAMES {
        let mid = format!("_{ty}_");
        let end = format!("_{ty}");
        if lower.contains(&mid) || lower.ends_with(&end) {
            return Err(format!(
                "metric name `{name}` contains the type name `{ty}`; the type is already in the exposition"
            ));
        }
    }
    Ok(())
}

/// Checks a `unit = "..."` value: `[a-z][a-z0-9_]*`, and a base unit.
pub fn check_unit(unit: &str) -> Result<(), String> {
    if unit.is_empty() {
        return Err("unit is empty; remove `unit` or name one, such as `seconds`".into());
    }
    if !unit.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        || unit.as_bytes()[0].is_ascii_digit()
    {
        return Err(format!("unit `{unit}` must match `[a-z][a-z0-9_]*`"));
    }
    if let Some(base) = base_unit_for(unit) {
        return Err(format!("unit `{unit}` is not a base unit; use `{base}` and scale the values"));
    }
    if ABBREVIATIONS.contains(&unit) {
        return Err(format!(
            "unit `{unit}` is an abbreviation; spell the base unit out (`seconds`, `bytes`, `meters`)"
        ));
    }
    Ok(())
}

/// Escapes a label value for the text formats: `\` `"` and newline.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes HELP text for the Prometheus text format 0.0.4: `\` and newline.
pub fn escape_help(help: &str) -> String {
    let mut out = String::with_capacity(help.len());
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes HELP text for OpenMetrics: `\`, newline and `"`.
pub fn escape_help_om(help: &str) -> String {
    escape_help(help).replace('"', "\\\"")
}

/// Escapes text for a JSON string (without the quotes).
pub fn escape_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_json_str(&mut out, text);
    out
}

/// Appends `s` escaped for a JSON string (without the quotes): the one JSON escaper, used by
/// the derive at compile time and by the runtime's renderer.
pub fn push_json_str(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(char::from_digit((c as u32) >> 4, 16).unwrap_or('0'));
                out.push(char::from_digit((c as u32) & 0xF, 16).unwrap_or('0'));
            }
            c => out.push(c),
        }
    }
}

/// The closest candidate to `input` within an edit distance of 2, for "did you mean" hints.
pub fn did_you_mean<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(input, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Formats an `f64` the way the exposition writes `le` and `quantile` values: shortest
/// round-trip digits, always with a `.` or exponent (`1.0`, `0.005`, `1e-7`).
pub fn float_text(value: f64) -> String {
    format!("{value:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names() {
        assert!(check_metric_name("shop_requests_total").is_ok());
        assert!(check_metric_name("_x").is_ok());
        assert!(check_metric_name("1x").is_err());
        assert!(check_metric_name("a-b").is_err());
        assert!(check_metric_name("__x").is_err());
        assert!(check_metric_name("a:b").is_err());
        assert!(check_metric_name("fooBar").is_err());
        assert!(check_metric_name("").is_err());
    }

    #[test]
    fn label_names() {
        assert!(check_label_name("method").is_ok());
        assert!(check_label_name("le").is_err());
        assert!(check_label_name("quantile").is_err());
        assert!(check_label_name("__x").is_err());
        assert!(check_label_name("a.b").is_err());
    }

    #[test]
    fn units() {
        assert_eq!(base_unit_for("milliseconds"), Some("seconds"));
        assert_eq!(base_unit_for("kilobytes"), Some("bytes"));
        assert_eq!(base_unit_for("hours"), Some("seconds"));
        assert_eq!(base_unit_for("seconds"), None);
        assert!(check_unit("seconds").is_ok());
        assert!(check_unit("ms").is_err());
        assert!(check_unit("Seconds").is_err());
        assert!(check_name_words("latency_milliseconds").is_err());
        assert!(check_name_words("latency_ms").is_err());
        assert!(check_name_words("requests_counter_total").is_err());
        assert!(check_name_words("request_duration_seconds").is_ok());
    }

    #[test]
    fn snake_and_hints() {
        assert_eq!(to_snake("ClientError"), "client_error");
        assert_eq!(to_snake("HTTPStatus"), "http_status");
        assert_eq!(to_snake("fooBar"), "foo_bar");
        assert_eq!(did_you_mean("nmae", &["name", "help", "unit"]), Some("name"));
        assert_eq!(did_you_mean("zzzz", &["name"]), None);
    }

    #[test]
    fn escaping_and_floats() {
        assert_eq!(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(escape_help("a\"b\\c\nd"), "a\"b\\\\c\\nd");
        assert_eq!(escape_help_om("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(escape_json("a\"b\\c\nd\u{1}"), "a\\\"b\\\\c\\nd\\u0001");
        assert_eq!(float_text(1.0), "1.0");
        assert_eq!(float_text(0.005), "0.005");
        assert_eq!(float_text(1e-7), "1e-7");
    }
}
