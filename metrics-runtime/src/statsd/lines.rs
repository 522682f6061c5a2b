//! StatsD lines: what a flush sends for each series and record, and the state that turns
//! cumulative counters into deltas.

use std::fmt::Write as _;

use super::batcher::{Record, RecordKind};
use crate::{HistogramValue, MetricSnapshot, SeriesValue};

/// How the tags of a series are written.
///
/// # Examples
///
/// ```
/// use metrics_runtime::statsd::{StatsdConfig, StatsdExporter, TagStyle};
/// use metrics_runtime::{Counter, Metrics, Tag};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(name = "region", rename_all = "lowercase")]
/// enum Region { Eu, Us }
///
/// #[derive(Metrics)]
/// struct Shop {
///     /// Orders placed.
///     orders_total: Counter<Region>,
/// }
/// static SHOP: Shop = Shop::new();
///
/// # async fn recv(server: &tokio::net::UdpSocket) -> String {
/// #     let mut buf = [0u8; 65536];
/// #     let n = tokio::time::timeout(std::time::Duration::from_secs(5), server.recv(&mut buf)).await.unwrap().unwrap();
/// #     String::from_utf8(buf[..n].to_vec()).unwrap()
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(); // a StatsD server
/// let config = StatsdConfig {
///     target: server.local_addr().unwrap(),
///     tag_style: TagStyle::NameSuffix, // for a server without tags
///     push_own_stats: false,
///     ..StatsdConfig::default()
/// };
/// let exporter = StatsdExporter::start(&SHOP, config).await.unwrap();
/// SHOP.orders_total.with(Region::Us).add(2);
/// exporter.flush().await;
/// assert_eq!(recv(&server).await, "orders_total.us:2|c");
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TagStyle {
    /// DogStatsD tags: `name:1|c|#method:GET,status:2xx`. Understood by the Datadog agent,
    /// Telegraf, statsd_exporter and Etsy StatsD since 0.9. Characters that would end a tag
    /// (`,`, `|`, line breaks) in a value become `_`.
    #[default]
    DogStatsd,
    /// Tag values appended to the name, Graphite style: `name.GET.2xx:1|c`, for servers that
    /// know no tags. Characters other than ASCII letters, digits, `_` and `-` become `_`.
    NameSuffix,
}

/// What a histogram of the pushed metrics is sent as. StatsD has no bucketed type, so each
/// choice gives something up; see the [module documentation](super#histograms-and-summaries).
///
/// # Examples
///
/// ```
/// use metrics_runtime::statsd::{HistogramMode, StatsdConfig, StatsdExporter};
/// use metrics_runtime::{Histogram, Metrics};
///
/// #[derive(Metrics)]
/// struct Api {
///     /// Request time.
///     #[metric(unit = "seconds", buckets = [0.05, 0.1])]
///     request_seconds: Histogram,
/// }
/// static API: Api = Api::new();
///
/// # async fn recv(server: &tokio::net::UdpSocket) -> String {
/// #     let mut buf = [0u8; 65536];
/// #     let n = tokio::time::timeout(std::time::Duration::from_secs(5), server.recv(&mut buf)).await.unwrap().unwrap();
/// #     String::from_utf8(buf[..n].to_vec()).unwrap()
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(); // a StatsD server
/// let target = server.local_addr().unwrap();
/// let timings = StatsdExporter::start(&API, StatsdConfig { target, push_own_stats: false, ..StatsdConfig::default() });
/// let timings = timings.await.unwrap();
/// let exact = StatsdConfig { target, histograms: HistogramMode::CountSum, push_own_stats: false, ..StatsdConfig::default() };
/// let exact = StatsdExporter::start(&API, exact).await.unwrap();
///
/// for seconds in [0.01, 0.02, 0.03, 0.04] {
///     API.request_seconds.record(seconds);
/// }
/// timings.flush().await; // four records of at most 50 ms
/// assert_eq!(recv(&server).await, "request_seconds:50|ms|@0.25");
/// exact.flush().await; // the exact count and sum
/// assert_eq!(recv(&server).await, "request_seconds.count:4|c\nrequest_seconds.sum:0.1|c");
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HistogramMode {
    /// Records reconstructed from the buckets as timings: per bucket whose count grew by `n`,
    /// one line `name:upper_bound|ms|@(1/n)`, the bound converted to milliseconds when the
    /// metric's unit is `seconds`. Servers count exactly and compute percentiles at bucket
    /// resolution, but their sum and mean are wrong.
    #[default]
    Timings,
    /// As `Timings`, as DogStatsD histograms (`|h`), values unconverted.
    Histograms,
    /// As `Timings`, as DogStatsD distributions (`|d`), values unconverted.
    Distributions,
    /// Exact count and sum deltas as two counters, `name.count` and `name.sum`: no
    /// distribution at all.
    CountSum,
}

/// What a summary of the pushed metrics is sent as.
///
/// # Examples
///
/// ```
/// use metrics_runtime::statsd::{StatsdConfig, StatsdExporter, SummaryMode};
/// use metrics_runtime::{Metrics, Summary};
///
/// #[derive(Metrics)]
/// struct Checkout {
///     /// Checkout time quantiles.
///     #[metric(unit = "seconds")]
///     checkout_seconds: Summary,
/// }
/// static CHECKOUT: Checkout = Checkout::new();
///
/// # async fn recv(server: &tokio::net::UdpSocket) -> String {
/// #     let mut buf = [0u8; 65536];
/// #     let n = tokio::time::timeout(std::time::Duration::from_secs(5), server.recv(&mut buf)).await.unwrap().unwrap();
/// #     String::from_utf8(buf[..n].to_vec()).unwrap()
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(); // a StatsD server
/// let target = server.local_addr().unwrap();
/// let config = StatsdConfig { target, summaries: SummaryMode::CountSum, push_own_stats: false, ..StatsdConfig::default() };
/// let exporter = StatsdExporter::start(&CHECKOUT, config).await.unwrap();
/// CHECKOUT.checkout_seconds.record(0.5);
/// CHECKOUT.checkout_seconds.record(1.5);
/// exporter.flush().await;
/// assert_eq!(recv(&server).await, "checkout_seconds.count:2|c\ncheckout_seconds.sum:2|c");
///
/// let skip = StatsdConfig { target, summaries: SummaryMode::Skip, push_own_stats: false, ..StatsdConfig::default() };
/// let skipping = StatsdExporter::start(&CHECKOUT, skip).await.unwrap();
/// assert_eq!(skipping.flush().await.lines, 0);
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SummaryMode {
    /// Count and sum deltas as two counters, `name.count` and `name.sum`. Quantiles cannot be
    /// merged across instances, so they are not pushed; push the individual records through
    /// an [`AsyncMetricsBatcher`](super::AsyncMetricsBatcher) for server-side percentiles.
    #[default]
    CountSum,
    /// Nothing.
    Skip,
}

/// The parts of a flush that read metrics: each has its own delta state.
pub(crate) const PART_REGISTRY: usize = 0;
pub(crate) const PART_STRUCTS: usize = 1;
pub(crate) const PART_OWN: usize = 2;
pub(crate) const PARTS: usize = 3;

/// A gauge that has never been sent (a NaN pattern: non-finite gauges are never sent).
const UNSENT: u64 = u64::MAX;

/// The last values sent for each series of one metric.
#[derive(Debug)]
struct MetricState {
    name: String,
    /// Per series, the committed value of each field: counter `[value]`, gauge `[bits]`,
    /// histogram `[bucket counts.., sum bits]`, summary `[count, sum bits]`.
    series: Vec<Vec<u64>>,
}

/// A value to remember once the unit that carries it has been sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Commit {
    unit: usize,
    part: usize,
    metric: usize,
    series: usize,
    field: usize,
    value: u64,
}

/// How lines are spelled; fixed for an exporter.
#[derive(Debug, Clone)]
pub(crate) struct LineFormat {
    pub(crate) prefix: String,
    pub(crate) tag_style: TagStyle,
    /// `k:v,k:v`, already sanitised.
    pub(crate) global_tags: String,
    pub(crate) histograms: HistogramMode,
    pub(crate) summaries: SummaryMode,
}

/// A number as a line spells it.
#[derive(Debug, Clone, Copy)]
enum Num {
    U(u64),
    F(f64),
}

/// The part of a line after the name: `:value|type`, then `|@rate` when `weight > 1`.
#[derive(Debug, Clone, Copy)]
struct Sample<'t> {
    value: Num,
    ty: &'t str,
    /// The events the line stands for.
    weight: f64,
}

impl Sample<'_> {
    fn counter(value: Num) -> Self {
        Sample { value, ty: "c", weight: 1.0 }
    }

    fn gauge(value: Num) -> Self {
        Sample { value, ty: "g", weight: 1.0 }
    }
}

impl LineFormat {
    /// Appends one line (no newline): `name` + `suffix`, the sample, the tags.
    fn line<'t>(
        &self,
        out: &mut String,
        (name, suffix): (&str, &str),
        tags: impl Iterator<Item = (&'t str, &'t str)> + Clone,
        sample: Sample<'_>,
    ) {
        out.push_str(&self.prefix);
        push_name(out, name);
        out.push_str(suffix);
        if self.tag_style == TagStyle::NameSuffix {
            for (_, v) in tags.clone() {
                out.push('.');
                push_sanitized(out, v, |c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            }
        }
        out.push(':');
        match sample.value {
            Num::U(v) => out.push_str(itoa::Buffer::new().format(v)),
            // `Display` never uses an exponent, which StatsD servers do not all parse.
            Num::F(v) => {
                let _ = write!(out, "{v}");
            }
        }
        out.push('|');
        out.push_str(sample.ty);
        if sample.weight > 1.0 {
            let _ = write!(out, "|@{}", 1.0 / sample.weight);
        }
        if self.tag_style == TagStyle::DogStatsd {
            let mut first = true;
            for (k, v) in tags {
                out.push_str(if first { "|#" } else { "," });
                first = false;
                out.push_str(k);
                out.push(':');
                push_sanitized(out, v, |c| !matches!(c, ',' | '|' | '\n' | '\r'));
            }
            if !self.global_tags.is_empty() {
                out.push_str(if first { "|#" } else { "," });
                out.push_str(&self.global_tags);
            }
        }
    }

    /// Appends a gauge's line; a negative value is preceded by a line setting 0, since a
    /// leading `-` is a relative change to StatsD.
    fn gauge_line<'t>(
        &self,
        out: &mut String,
        name: &str,
        tags: impl Iterator<Item = (&'t str, &'t str)> + Clone,
        value: f64,
    ) {
        if value < 0.0 {
            self.line(out, (name, ""), tags.clone(), Sample::gauge(Num::U(0)));
            out.push('\n');
        }
        self.line(out, (name, ""), tags, Sample::gauge(Num::F(value)));
    }

    /// Appends the line of a batcher record.
    pub(crate) fn record_line(&self, out: &mut String, record: &Record) {
        let key = record.key;
        let tags = key.tag_names.iter().enumerate().map(|(l, name)| (*name, (key.label_value)(record.tags, l)));
        if key.kind == RecordKind::Gauge {
            self.gauge_line(out, key.name, tags, record.value);
        } else {
            // A count of `n` standing for `w` events each is `n|c|@(1/w)`, like a sample.
            let sample = Sample { value: Num::F(record.value), ty: key.kind.type_suffix(), weight: record.weight };
            self.line(out, (key.name, ""), tags, sample);
        }
    }
}

/// A metric name: the exposition's `:` is StatsD's value separator, so it becomes `_`.
fn push_name(out: &mut String, name: &str) {
    if name.contains(':') {
        out.extend(name.chars().map(|c| if c == ':' { '_' } else { c }));
    } else {
        out.push_str(name);
    }
}

fn push_sanitized(out: &mut String, value: &str, keep: impl Fn(char) -> bool) {
    out.extend(value.chars().map(|c| if keep(c) { c } else { '_' }));
}

/// Sanitises global tags given as pairs into `k:v,k:v`.
pub(crate) fn global_tags(tags: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in tags {
        if !out.is_empty() {
            out.push(',');
        }
        push_sanitized(&mut out, k, |c| !matches!(c, ',' | '|' | ':' | '\n' | '\r'));
        out.push(':');
        push_sanitized(&mut out, v, |c| !matches!(c, ',' | '|' | '\n' | '\r'));
    }
    out
}

/// The lines of one flush, in units: a unit is one or more lines that go in one datagram.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    text: String,
    ends: Vec<usize>,
    commits: Vec<Commit>,
    /// Delta state per part.
    states: [Vec<MetricState>; PARTS],
}

impl Lines {
    /// Forgets the previous flush's lines (keeping the delta state and the buffers).
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.commits.clear();
    }

    /// The number of units.
    pub(crate) fn units(&self) -> usize {
        self.ends.len()
    }

    /// Unit `i`.
    pub(crate) fn unit(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    fn end_unit(&mut self) {
        self.ends.push(self.text.len());
    }

    /// Ends the unit just written, which carries `value` for `field` of the series `at`.
    fn commit<I>(&mut self, at: &At<'_, I>, field: usize, value: u64) {
        self.commits.push(Commit {
            unit: self.ends.len(),
            part: at.part,
            metric: at.metric,
            series: at.series,
            field,
            value,
        });
        self.end_unit();
    }

    /// Remembers the values carried by units `..end` (they were sent), from commit `*cursor`.
    pub(crate) fn apply_commits(&mut self, end: usize, cursor: &mut usize) {
        while let Some(c) = self.commits.get(*cursor) {
            if c.unit >= end {
                break;
            }
            if let Some(slot) = self.states[c.part]
                .get_mut(c.metric)
                .and_then(|m| m.series.get_mut(c.series))
                .and_then(|s| s.get_mut(c.field))
            {
                *slot = c.value;
            }
            *cursor += 1;
        }
    }

    /// Appends the units for what changed in `metrics` (a snapshot) since the values last
    /// committed for `part`.
    pub(crate) fn diff(&mut self, part: usize, metrics: &[MetricSnapshot], format: &LineFormat) {
        let mut states = std::mem::take(&mut self.states[part]);
        states.truncate(metrics.len());
        for (m, metric) in metrics.iter().enumerate() {
            let name = metric.name.as_str();
            if states.len() <= m {
                states.push(MetricState { name: String::new(), series: Vec::new() });
            }
            let state = &mut states[m];
            if state.name != name {
                // New (or, if the source changed shape, different): start from zero.
                state.name.clear();
                state.name.push_str(name);
                state.series.clear();
            }
            state.series.resize_with(metric.series.len(), Vec::new);
            for (s, series) in metric.series.iter().enumerate() {
                let at = At {
                    part,
                    metric: m,
                    series: s,
                    name,
                    tags: series.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                };
                let last = &mut state.series[s];
                match &series.value {
                    SeriesValue::Counter(value) => {
                        self.counter(&at, "", (*value, last_field(last, 0, 0)), format);
                    }
                    SeriesValue::Gauge(value) => {
                        let value = *value;
                        if value.is_finite() && value.to_bits() != last_field(last, 0, UNSENT) {
                            format.gauge_line(&mut self.text, name, at.tags.clone(), value);
                            self.commit(&at, 0, value.to_bits());
                        }
                    }
                    SeriesValue::Histogram(histogram) => self.histogram(&at, &metric.unit, histogram, last, format),
                    SeriesValue::Summary(summary) if format.summaries == SummaryMode::CountSum => {
                        if last.len() != 2 {
                            *last = vec![0, 0f64.to_bits()];
                        }
                        self.counter(&at, ".count", (summary.count, last[0]), format);
                        self.sum(&at, 1, (summary.sum, f64::from_bits(last[1])), format);
                    }
                    SeriesValue::Summary(_) => {}
                }
            }
        }
        self.states[part] = states;
    }

    /// A counter's increase since `last`, committing `value` to field 0.
    fn counter<'t, I>(&mut self, at: &At<'_, I>, suffix: &str, (value, last): (u64, u64), format: &LineFormat)
    where
        I: Iterator<Item = (&'t str, &'t str)> + Clone,
    {
        let delta = value.wrapping_sub(last);
        if delta != 0 {
            format.line(&mut self.text, (at.name, suffix), at.tags.clone(), Sample::counter(Num::U(delta)));
            self.commit(at, 0, value);
        }
    }

    /// A sum's increase since `last` as a `.sum` counter, committing `sum` to `field`.
    fn sum<'t, I>(&mut self, at: &At<'_, I>, field: usize, (sum, last): (f64, f64), format: &LineFormat)
    where
        I: Iterator<Item = (&'t str, &'t str)> + Clone,
    {
        if sum.is_finite() && sum != last {
            format.line(&mut self.text, (at.name, ".sum"), at.tags.clone(), Sample::counter(Num::F(sum - last)));
            self.commit(at, field, sum.to_bits());
        }
    }

    /// A histogram series, state `[bucket counts.., sum bits]`.
    fn histogram<'t, I>(
        &mut self,
        at: &At<'_, I>,
        unit: &str,
        histogram: &HistogramValue,
        last: &mut Vec<u64>,
        format: &LineFormat,
    ) where
        I: Iterator<Item = (&'t str, &'t str)> + Clone,
    {
        // Per-bucket counts, one per bound then `+Inf`.
        let buckets = histogram.counts.as_slice();
        if last.len() != buckets.len() + 1 {
            *last = vec![0; buckets.len()];
            last.push(0f64.to_bits());
        }
        let (ty, scale) = match format.histograms {
            HistogramMode::CountSum => {
                let delta = buckets.iter().zip(last.iter()).fold(0u64, |a, (c, l)| a.wrapping_add(c.wrapping_sub(*l)));
                if delta != 0 {
                    format.line(&mut self.text, (at.name, ".count"), at.tags.clone(), Sample::counter(Num::U(delta)));
                    // The count is the buckets': commit each of them with this unit.
                    for (b, count) in buckets.iter().enumerate() {
                        self.commits.push(Commit {
                            unit: self.ends.len(),
                            part: at.part,
                            metric: at.metric,
                            series: at.series,
                            field: b,
                            value: *count,
                        });
                    }
                    self.end_unit();
                }
                self.sum(at, buckets.len(), (histogram.sum, f64::from_bits(last[buckets.len()])), format);
                return;
            }
            HistogramMode::Timings => ("ms", if unit == "seconds" { 1000.0 } else { 1.0 }),
            HistogramMode::Histograms => ("h", 1.0),
            HistogramMode::Distributions => ("d", 1.0),
        };
        let mut largest_bound = 0.0;
        for (b, &count) in buckets.iter().enumerate() {
            // The `+Inf` bucket is sent at the largest finite bound: a lower bound of its values.
            let bound = histogram.bounds.get(b).copied().unwrap_or(f64::INFINITY);
            if bound.is_finite() {
                largest_bound = bound;
            }
            let delta = count.wrapping_sub(last[b]);
            if delta != 0 {
                let sample = Sample { value: Num::F(largest_bound * scale), ty, weight: delta as f64 };
                format.line(&mut self.text, (at.name, ""), at.tags.clone(), sample);
                self.commit(at, b, count);
            }
        }
    }
}

/// Field `field` of a series state, first sized to one field holding `init`.
fn last_field(last: &mut Vec<u64>, field: usize, init: u64) -> u64 {
    if last.is_empty() {
        last.push(init);
    }
    last[field]
}

/// One series being read: where its state lives, and its name and tags.
struct At<'n, I> {
    part: usize,
    metric: usize,
    series: usize,
    name: &'n str,
    tags: I,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MetricKind, SeriesSnapshot, SummaryValue};

    fn format(style: TagStyle, histograms: HistogramMode) -> LineFormat {
        LineFormat {
            prefix: "app.".to_owned(),
            tag_style: style,
            global_tags: global_tags(&[("env".to_owned(), "pro,d".to_owned())]),
            histograms,
            summaries: SummaryMode::CountSum,
        }
    }

    fn units(lines: &Lines) -> Vec<&str> {
        (0..lines.units()).map(|i| lines.unit(i)).collect()
    }

    fn flush(lines: &mut Lines, doc: &[MetricSnapshot], f: &LineFormat) -> Vec<String> {
        lines.clear();
        lines.diff(PART_STRUCTS, doc, f);
        let out = units(lines).into_iter().map(str::to_owned).collect();
        let mut cursor = 0;
        lines.apply_commits(lines.units(), &mut cursor);
        out
    }

    fn metric(name: &str, kind: MetricKind, unit: &str, series: Vec<SeriesSnapshot>) -> MetricSnapshot {
        MetricSnapshot { name: name.to_owned(), kind, help: String::new(), unit: unit.to_owned(), series }
    }

    fn series(labels: &[(&str, &str)], value: SeriesValue) -> SeriesSnapshot {
        SeriesSnapshot { labels: labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(), value }
    }

    /// A counter (`GET` at `get`), a negative gauge, a histogram in seconds, a summary.
    fn doc(get: u64) -> Vec<MetricSnapshot> {
        let histogram = HistogramValue { bounds: vec![0.1, 1.0], counts: vec![1, 3, 1], sum: 9.5 };
        let summary = SummaryValue { quantiles: vec![], count: 3, sum: 1.5 };
        vec![
            metric(
                "req_total",
                MetricKind::Counter,
                "",
                vec![
                    series(&[("method", "GET"), ("path", "a,b|c")], SeriesValue::Counter(get)),
                    series(&[("method", "POST"), ("path", "x")], SeriesValue::Counter(0)),
                ],
            ),
            metric("ns:depth", MetricKind::Gauge, "", vec![series(&[], SeriesValue::Gauge(-2.5))]),
            metric(
                "lat_seconds",
                MetricKind::Histogram,
                "seconds",
                vec![series(&[], SeriesValue::Histogram(histogram))],
            ),
            metric("q", MetricKind::Summary, "", vec![series(&[], SeriesValue::Summary(summary))]),
        ]
    }

    #[test]
    fn dogstatsd_lines_and_deltas() {
        let f = format(TagStyle::DogStatsd, HistogramMode::Timings);
        let mut lines = Lines::default();
        assert_eq!(
            flush(&mut lines, &doc(5), &f),
            [
                "app.req_total:5|c|#method:GET,path:a_b_c,env:pro_d",
                "app.ns_depth:0|g|#env:pro_d\napp.ns_depth:-2.5|g|#env:pro_d",
                "app.lat_seconds:100|ms|#env:pro_d",
                "app.lat_seconds:1000|ms|@0.3333333333333333|#env:pro_d",
                "app.lat_seconds:1000|ms|#env:pro_d",
                "app.q.count:3|c|#env:pro_d",
                "app.q.sum:1.5|c|#env:pro_d",
            ]
        );
        // Only the counter moved.
        assert_eq!(flush(&mut lines, &doc(7), &f), ["app.req_total:2|c|#method:GET,path:a_b_c,env:pro_d"]);
        assert!(flush(&mut lines, &doc(7), &f).is_empty());
    }

    #[test]
    fn unsent_units_are_sent_again() {
        let f = format(TagStyle::DogStatsd, HistogramMode::Timings);
        let mut lines = Lines::default();
        lines.diff(PART_STRUCTS, &doc(5), &f);
        // Only the first unit (the counter) went out.
        let mut cursor = 0;
        lines.apply_commits(1, &mut cursor);
        let again = flush(&mut lines, &doc(7), &f);
        assert_eq!(again.len(), 7, "{again:?}");
        assert_eq!(again[0], "app.req_total:2|c|#method:GET,path:a_b_c,env:pro_d");
    }

    #[test]
    fn name_suffix_and_count_sum() {
        let f = format(TagStyle::NameSuffix, HistogramMode::CountSum);
        let mut lines = Lines::default();
        let out = flush(&mut lines, &doc(5), &f);
        assert_eq!(out[0], "app.req_total.GET.a_b_c:5|c");
        assert_eq!(out[2], "app.lat_seconds.count:5|c");
        assert_eq!(out[3], "app.lat_seconds.sum:9.5|c");
        assert!(flush(&mut lines, &doc(5), &f).is_empty());
    }

    #[test]
    fn exact_counters_and_unsendable_gauges() {
        let f = format(TagStyle::DogStatsd, HistogramMode::Timings);
        let mut lines = Lines::default();
        let doc = |count: u64, gauge: f64| {
            vec![
                metric("big_total", MetricKind::Counter, "", vec![series(&[], SeriesValue::Counter(count))]),
                metric("g", MetricKind::Gauge, "", vec![series(&[], SeriesValue::Gauge(gauge))]),
            ]
        };
        assert_eq!(
            flush(&mut lines, &doc(u64::MAX - 1, f64::NAN), &f),
            ["app.big_total:18446744073709551614|c|#env:pro_d"]
        );
        // Wrapped around: the increase is still exact.
        assert_eq!(flush(&mut lines, &doc(1, f64::INFINITY), &f), ["app.big_total:3|c|#env:pro_d"]);
        assert_eq!(flush(&mut lines, &doc(1, 0.1 + 0.2), &f), ["app.g:0.30000000000000004|g|#env:pro_d"]);
    }

    #[test]
    fn reads_a_derived_struct_snapshot() {
        use crate::{Counter, Histogram, MetricsExt, Summary, Tag};

        #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
        #[tag(name = "op", rename_all = "lowercase")]
        enum Op {
            Read,
            #[tag(value = "wr\"ite,x")]
            Write,
        }

        #[derive(crate::Metrics)]
        #[metrics(namespace = "disk")]
        struct Disk {
            /// Operations.
            ops_total: Counter<Op>,
            /// Latency.
            #[metric(unit = "seconds", buckets = [0.01, 0.1])]
            latency_seconds: Histogram,
            /// Sizes.
            #[metric(unit = "bytes")]
            size_bytes: Summary,
        }

        let disk = Disk::new();
        disk.ops_total.with(Op::Write).add(2);
        disk.latency_seconds.record(0.05);
        disk.latency_seconds.record(0.07);
        disk.latency_seconds.record(5.0);
        disk.size_bytes.record(512.0);
        let f = format(TagStyle::DogStatsd, HistogramMode::Timings);
        let mut lines = Lines::default();
        assert_eq!(
            flush(&mut lines, &disk.snapshot().metrics, &f),
            [
                "app.disk_ops_total:2|c|#op:wr\"ite_x,env:pro_d",
                "app.disk_latency_seconds:100|ms|@0.5|#env:pro_d",
                "app.disk_latency_seconds:100|ms|#env:pro_d",
                "app.disk_size_bytes.count:1|c|#env:pro_d",
                "app.disk_size_bytes.sum:512|c|#env:pro_d",
            ]
        );
        disk.ops_total.with(Op::Read).inc();
        assert_eq!(flush(&mut lines, &disk.snapshot().metrics, &f), ["app.disk_ops_total:1|c|#op:read,env:pro_d"]);
    }

    #[test]
    fn floats_never_use_exponents() {
        let f = format(TagStyle::DogStatsd, HistogramMode::Histograms);
        let mut out = String::new();
        f.line(&mut out, ("x", ""), std::iter::empty(), Sample { value: Num::F(1e-7), ty: "h", weight: 1e7 });
        assert_eq!(out, "app.x:0.0000001|h|@0.0000001|#env:pro_d");
    }
}
