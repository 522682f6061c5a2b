//! StatsD lines: what a flush sends for each series and record, and the state that turns
//! cumulative counters into deltas.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt::Write as _;

use super::batcher::{Record, RecordKind};
use crate::read::{HistogramRead, MetricDesc, Series, SummaryRead, Visitor};
#[cfg(test)]
use crate::snapshot::{MetricSnapshot, SeriesValue};

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

/// The last values sent for one series.
#[derive(Debug)]
struct SeriesState {
    /// The [`PartState::generation`] of the last diff that found the series.
    seen: u64,
    /// The committed value of each field: counter `[value]`, gauge `[bits]`, histogram
    /// `[bucket counts.., sum bits]`, summary `[count, sum bits]`.
    fields: Vec<u64>,
}

/// The delta state of one part: its series by identity (see [`series_key`]), never by
/// position, since a source may list its series in any order (a [`BoundedRegistry`] lists
/// them in hash-map order, which changes as series come and go).
///
/// [`BoundedRegistry`]: crate::dynamic::BoundedRegistry
#[derive(Debug, Default)]
struct PartState {
    /// Counts the diffs of the part.
    generation: u64,
    series: HashMap<String, SeriesState>,
}

impl PartState {
    /// The fields of the series `key` for this diff, created empty for a series not seen at
    /// the last diff. A key already claimed by this diff (the same name and labels twice in
    /// one snapshot, from two structs) gets `#n` appended, its `n`th repeat: repeats keep
    /// their order, so each keeps its own state.
    fn claim(&mut self, key: &mut String) -> &mut Vec<u64> {
        let generation = self.generation;
        let base = key.len();
        let mut repeat = 0u32;
        loop {
            match self.series.get(key.as_str()).map(|s| s.seen == generation) {
                Some(true) => {
                    repeat += 1;
                    key.truncate(base);
                    key.push('#');
                    key.push_str(itoa::Buffer::new().format(repeat));
                }
                Some(false) => break,
                None => {
                    self.series.insert(key.clone(), SeriesState { seen: generation, fields: Vec::new() });
                    break;
                }
            }
        }
        let state = self.series.get_mut(key.as_str()).expect("found or inserted above");
        state.seen = generation;
        &mut state.fields
    }

    /// Forgets the series this diff did not find: a series removed from its source (evicted,
    /// or gone with its struct) leaves no state behind, and starts from zero if it comes back.
    fn sweep(&mut self) {
        let generation = self.generation;
        self.series.retain(|_, s| s.seen == generation);
        if self.series.capacity() > 64 && self.series.capacity() > 4 * self.series.len() {
            self.series.shrink_to(2 * self.series.len());
        }
    }
}

/// The identity of a series: its metric's name and its label pairs, each string preceded by
/// its length (`9:req_total6:method3:GET`), so that no name or value, whatever it holds, can
/// make two series spell the same key; then its start time (`@` and the bits), so that a
/// series removed and created again is a new series, counted from zero.
fn series_key<'t>(out: &mut String, name: &str, labels: impl Iterator<Item = (&'t str, &'t str)>, created: f64) {
    out.clear();
    let mut push = |s: &str| {
        out.push_str(itoa::Buffer::new().format(s.len()));
        out.push(':');
        out.push_str(s);
    };
    push(name);
    for (k, v) in labels {
        push(k);
        push(v);
    }
    out.push('@');
    out.push_str(itoa::Buffer::new().format(created.to_bits()));
}

/// A value to remember once the unit that carries it has been sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Commit {
    unit: usize,
    part: usize,
    /// The series' key, the `key`th of [`Lines::keys`].
    key: usize,
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
    /// The keys of the series that commits refer to, one after the other; `key_ends` marks
    /// where each ends, as `ends` does for units.
    keys: String,
    key_ends: Vec<usize>,
    /// The key of the series being read.
    key: String,
    /// Delta state per part.
    states: [PartState; PARTS],
}

/// Piece `i` of `text`, whose pieces end at `ends`.
fn piece<'t>(text: &'t str, ends: &[usize], i: usize) -> &'t str {
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &text[start..ends[i]]
}

impl Lines {
    /// Forgets the previous flush's lines (keeping the delta state and the buffers).
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.commits.clear();
        self.keys.clear();
        self.key_ends.clear();
    }

    /// The number of units.
    pub(crate) fn units(&self) -> usize {
        self.ends.len()
    }

    /// Unit `i`.
    pub(crate) fn unit(&self, i: usize) -> &str {
        piece(&self.text, &self.ends, i)
    }

    fn end_unit(&mut self) {
        self.ends.push(self.text.len());
    }

    /// Records that the unit being written carries `value` for `field` of the series `at`.
    fn push_commit<I>(&mut self, at: &At<'_, I>, field: usize, value: u64) {
        let key = match at.key_index.get() {
            Some(k) => k,
            None => {
                self.keys.push_str(at.key);
                self.key_ends.push(self.keys.len());
                let k = self.key_ends.len() - 1;
                at.key_index.set(Some(k));
                k
            }
        };
        self.commits.push(Commit { unit: self.ends.len(), part: at.part, key, field, value });
    }

    /// Ends the unit just written, which carries `value` for `field` of the series `at`.
    fn commit<I>(&mut self, at: &At<'_, I>, field: usize, value: u64) {
        self.push_commit(at, field, value);
        self.end_unit();
    }

    /// Remembers the values carried by units `..end` (they were sent), from commit `*cursor`.
    pub(crate) fn apply_commits(&mut self, end: usize, cursor: &mut usize) {
        while let Some(c) = self.commits.get(*cursor) {
            if c.unit >= end {
                break;
            }
            let key = piece(&self.keys, &self.key_ends, c.key);
            if let Some(slot) = self.states[c.part].series.get_mut(key).and_then(|s| s.fields.get_mut(c.field)) {
                *slot = c.value;
            }
            *cursor += 1;
        }
    }

    /// Appends the units for what changed in `metrics` (a snapshot) since the values last
    /// committed for `part`, series by series whatever their order; forgets the series the
    /// snapshot no longer holds. (The exporter reads through [`Lines::diff_visit`]; this is the
    /// same diff over plain data.)
    #[cfg(test)]
    pub(crate) fn diff(&mut self, part: usize, metrics: &[MetricSnapshot], format: &LineFormat) {
        let mut state = std::mem::take(&mut self.states[part]);
        let mut key = std::mem::take(&mut self.key);
        state.generation = state.generation.wrapping_add(1);
        for metric in metrics {
            for series in &metric.series {
                let value = match &series.value {
                    SeriesValue::Counter(v) => Value::Counter(*v),
                    SeriesValue::Gauge(v) => Value::Gauge(*v),
                    SeriesValue::Histogram(h) => Value::Histogram { bounds: &h.bounds, counts: &h.counts, sum: h.sum },
                    SeriesValue::Summary(s) => Value::Summary { count: s.count, sum: s.sum },
                };
                let tags = series.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()));
                let one = One { part, name: &metric.name, unit: &metric.unit, created: series.created, value };
                self.diff_series(&mut state, &mut key, one, tags, format);
            }
        }
        state.sweep();
        self.key = key;
        self.states[part] = state;
    }

    /// Appends the units for what changed, since the values last committed for `part`, in the
    /// metrics that `visit` hands to its visitor (a pure read through the read protocol, with
    /// no snapshot built); forgets the series that are no longer there.
    pub(crate) fn diff_visit(&mut self, part: usize, format: &LineFormat, visit: impl FnOnce(&mut dyn Visitor)) {
        let mut state = std::mem::take(&mut self.states[part]);
        state.generation = state.generation.wrapping_add(1);
        let key = std::mem::take(&mut self.key);
        let mut diff = Diff { lines: self, part, format, state, key, text: String::new(), ranges: Vec::new() };
        visit(&mut diff);
        let Diff { mut state, key, .. } = diff;
        state.sweep();
        self.key = key;
        self.states[part] = state;
    }

    /// The units of one series, against its state in `state`.
    fn diff_series<'t, I>(
        &mut self,
        state: &mut PartState,
        key: &mut String,
        one: One<'_>,
        tags: I,
        format: &LineFormat,
    ) where
        I: Iterator<Item = (&'t str, &'t str)> + Clone,
    {
        if matches!(one.value, Value::Summary { .. }) && format.summaries == SummaryMode::Skip {
            return;
        }
        series_key(key, one.name, tags.clone(), one.created);
        let last = state.claim(key);
        let name = one.name;
        let at = At { part: one.part, key, key_index: Cell::new(None), name, tags };
        match one.value {
            Value::Counter(value) => {
                last_field(last, 0, 0);
                self.counter(&at, "", value, &mut last[0], format);
            }
            Value::Gauge(value) => {
                if value.is_finite() && value.to_bits() != last_field(last, 0, UNSENT) {
                    format.gauge_line(&mut self.text, name, at.tags.clone(), value);
                    self.commit(&at, 0, value.to_bits());
                }
            }
            Value::Histogram { bounds, counts, sum } => {
                self.histogram(&at, one.unit, (bounds, counts, sum), last, format)
            }
            Value::Summary { count, sum } => {
                // A count below the one sent: a new series under the same name and labels (or
                // a restarted source), its count and sum both from zero.
                if last.len() != 2 || count < last[0] {
                    *last = vec![0, 0f64.to_bits()];
                }
                self.counter(&at, ".count", count, &mut last[0], format);
                self.sum(&at, 1, (sum, f64::from_bits(last[1])), format);
            }
        }
    }

    /// A counter's increase since `*last`, committing `value` to field 0. A value below `*last`
    /// is a new series under the same name and labels (the old one was removed, or its source
    /// restarted): its whole value is the increase, and `*last` becomes 0 at once, so that
    /// if this unit is not sent the next flush counts from zero too.
    fn counter<'t, I>(&mut self, at: &At<'_, I>, suffix: &str, value: u64, last: &mut u64, format: &LineFormat)
    where
        I: Iterator<Item = (&'t str, &'t str)> + Clone,
    {
        if value < *last {
            *last = 0;
        }
        let delta = value - *last;
        if delta != 0 {
            format.line(&mut self.text, (at.name, suffix), at.tags.clone(), Sample::counter(Num::U(delta)));
            self.commit(at, 0, value);
        }
    }

    /// A sum's change since `last` as a `.sum` counter, committing `sum` to `field`. Sums may
    /// go down (negative values): a lower sum is a negative change, not a reset.
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
        (bounds, buckets, sum): (&[f64], &[u64], f64),
        last: &mut Vec<u64>,
        format: &LineFormat,
    ) where
        I: Iterator<Item = (&'t str, &'t str)> + Clone,
    {
        // `buckets`: per-bucket counts, one per bound then `+Inf`.
        // A bucket count below the one sent: a new series under the same name and labels (or a
        // restarted source), every bucket and the sum from zero.
        if last.len() != buckets.len() + 1 || buckets.iter().zip(last.iter()).any(|(c, l)| c < l) {
            *last = vec![0; buckets.len()];
            last.push(0f64.to_bits());
        }
        let (ty, scale) = match format.histograms {
            HistogramMode::CountSum => {
                let delta = buckets.iter().zip(last.iter()).fold(0u64, |a, (c, l)| a.wrapping_add(c - l));
                if delta != 0 {
                    format.line(&mut self.text, (at.name, ".count"), at.tags.clone(), Sample::counter(Num::U(delta)));
                    // The count is the buckets': commit each of them with this unit.
                    for (b, count) in buckets.iter().enumerate() {
                        self.push_commit(at, b, *count);
                    }
                    self.end_unit();
                }
                self.sum(at, buckets.len(), (sum, f64::from_bits(last[buckets.len()])), format);
                return;
            }
            HistogramMode::Timings => ("ms", if unit == "seconds" { 1000.0 } else { 1.0 }),
            HistogramMode::Histograms => ("h", 1.0),
            HistogramMode::Distributions => ("d", 1.0),
        };
        let mut largest_bound = 0.0;
        for (b, &count) in buckets.iter().enumerate() {
            // The `+Inf` bucket is sent at the largest finite bound: a lower bound of its values.
            let bound = bounds.get(b).copied().unwrap_or(f64::INFINITY);
            if bound.is_finite() {
                largest_bound = bound;
            }
            let delta = count - last[b];
            if delta != 0 {
                let sample = Sample { value: Num::F(largest_bound * scale), ty, weight: delta as f64 };
                format.line(&mut self.text, (at.name, ""), at.tags.clone(), sample);
                self.commit(at, b, count);
            }
        }
    }
}

/// One series' identity and value, as a diff reads it.
struct One<'v> {
    part: usize,
    name: &'v str,
    unit: &'v str,
    created: f64,
    value: Value<'v>,
}

/// A series' value, borrowed from a snapshot or from a visit.
#[derive(Clone, Copy)]
enum Value<'v> {
    Counter(u64),
    Gauge(f64),
    Histogram { bounds: &'v [f64], counts: &'v [u64], sum: f64 },
    Summary { count: u64, sum: f64 },
}

/// The StatsD delta computation as a visitor of the read protocol: each series' labels are
/// copied into one reused buffer, and its units appended to the lines.
struct Diff<'l> {
    lines: &'l mut Lines,
    part: usize,
    format: &'l LineFormat,
    state: PartState,
    key: String,
    /// The current series' label names and values, back to back; `ranges` delimits them.
    text: String,
    ranges: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

impl Diff<'_> {
    fn series(&mut self, m: &MetricDesc<'_>, series: &Series<'_>, value: Value<'_>) {
        self.text.clear();
        self.ranges.clear();
        let (text, ranges) = (&mut self.text, &mut self.ranges);
        series.labels.pairs(&mut |k, v| {
            let k0 = text.len();
            text.push_str(k);
            let v0 = text.len();
            text.push_str(v);
            ranges.push((k0..v0, v0..text.len()));
        });
        let text = &self.text;
        let tags = self.ranges.iter().map(|(k, v)| (&text[k.clone()], &text[v.clone()]));
        let one = One { part: self.part, name: m.name, unit: m.unit, created: series.created, value };
        self.lines.diff_series(&mut self.state, &mut self.key, one, tags, self.format);
    }
}

impl Visitor for Diff<'_> {
    fn counter(&mut self, m: &MetricDesc<'_>, series: Series<'_>, value: u64) {
        self.series(m, &series, Value::Counter(value));
    }

    fn gauge(&mut self, m: &MetricDesc<'_>, series: Series<'_>, value: f64) {
        self.series(m, &series, Value::Gauge(value));
    }

    fn histogram(&mut self, m: &MetricDesc<'_>, series: Series<'_>, h: &HistogramRead<'_>) {
        self.series(m, &series, Value::Histogram { bounds: h.bounds, counts: h.counts, sum: h.sum });
    }

    fn summary(&mut self, m: &MetricDesc<'_>, series: Series<'_>, s: &SummaryRead<'_>) {
        self.series(m, &series, Value::Summary { count: s.count, sum: s.sum });
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
    /// Its key in the part's state.
    key: &'n str,
    /// Its key's index in [`Lines::keys`], once a commit needed it there.
    key_index: Cell<Option<usize>>,
    name: &'n str,
    tags: I,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{HistogramValue, SeriesSnapshot, SummaryValue};
    use crate::MetricKind;

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
        SeriesSnapshot {
            labels: labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            value,
            created: 0.0,
        }
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
        // Below the value sent: a reset, not a wrap-around (a `u64` counter does not wrap in
        // practice), so the new value is the increase.
        assert_eq!(flush(&mut lines, &doc(1, f64::INFINITY), &f), ["app.big_total:1|c|#env:pro_d"]);
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

        // Reading through the visitor (what the exporter does) gives the same units as
        // reading the snapshot, and keeps the same state.
        let mut visited = Lines::default();
        let by_visit = |lines: &mut Lines| {
            lines.clear();
            lines.diff_visit(PART_STRUCTS, &f, |v| crate::Metrics::visit(&disk, v));
            let out: Vec<String> = units(lines).into_iter().map(str::to_owned).collect();
            let mut cursor = 0;
            lines.apply_commits(lines.units(), &mut cursor);
            out
        };
        let mut by_snapshot = Lines::default();
        let first = flush(&mut by_snapshot, &disk.snapshot().metrics, &f);
        assert_eq!(by_visit(&mut visited), first);
        disk.ops_total.with(Op::Write).add(5);
        disk.latency_seconds.record(0.001);
        assert_eq!(by_visit(&mut visited), flush(&mut by_snapshot, &disk.snapshot().metrics, &f));
        assert_eq!(by_visit(&mut visited), Vec::<String>::new(), "nothing changed, nothing sent");
    }

    /// One family per kind, each series labelled `tenant`; per tenant, `(counter, gauge,
    /// histogram counts, summary (count, sum))`, the series in the order given.
    type Tenant<'a> = (&'a str, u64, f64, [u64; 3], (u64, f64));

    fn tenants(list: &[Tenant<'_>]) -> Vec<MetricSnapshot> {
        let each = |f: &dyn Fn(&Tenant<'_>) -> SeriesValue| -> Vec<SeriesSnapshot> {
            list.iter().map(|t| series(&[("tenant", t.0)], f(t))).collect()
        };
        let histogram = |t: &Tenant<'_>| {
            let counts = t.3.to_vec();
            let sum = counts.iter().sum::<u64>() as f64 * 0.5;
            SeriesValue::Histogram(HistogramValue { bounds: vec![0.1, 1.0], counts, sum })
        };
        let summary =
            |t: &Tenant<'_>| SeriesValue::Summary(SummaryValue { quantiles: vec![], count: t.4 .0, sum: t.4 .1 });
        vec![
            metric("hits_total", MetricKind::Counter, "", each(&|t| SeriesValue::Counter(t.1))),
            metric("depth", MetricKind::Gauge, "", each(&|t| SeriesValue::Gauge(t.2))),
            metric("lat_seconds", MetricKind::Histogram, "seconds", each(&histogram)),
            metric("q", MetricKind::Summary, "", each(&summary)),
        ]
    }

    fn no_tags() -> LineFormat {
        LineFormat { global_tags: String::new(), ..format(TagStyle::DogStatsd, HistogramMode::Timings) }
    }

    /// The series the part's state holds, and the room its map has.
    fn tracked(lines: &Lines, part: usize) -> (usize, usize) {
        (lines.states[part].series.len(), lines.states[part].series.capacity())
    }

    #[test]
    fn a_series_listed_before_another_keeps_each_its_own_deltas() {
        let f = no_tags();
        let mut lines = Lines::default();
        let b = ("b", 1000, 4.0, [1, 2, 3], (3, 1.5));
        assert_eq!(flush(&mut lines, &tenants(&[b]), &f).len(), 7);
        // A new series `a` now comes first (as a hash map may list it); `b` only counted 10 more.
        let a = ("a", 5, 2.0, [0, 1, 0], (1, 0.25));
        let b = ("b", 1010, 4.0, [1, 2, 3], (3, 1.5));
        assert_eq!(
            flush(&mut lines, &tenants(&[a, b]), &f),
            [
                "app.hits_total:5|c|#tenant:a",
                "app.hits_total:10|c|#tenant:b",
                "app.depth:2|g|#tenant:a",
                "app.lat_seconds:1000|ms|#tenant:a",
                "app.q.count:1|c|#tenant:a",
                "app.q.sum:0.25|c|#tenant:a",
            ]
        );
        // The other order, nothing changed: nothing to send.
        assert_eq!(flush(&mut lines, &tenants(&[b, a]), &f), Vec::<String>::new());
        let b = ("b", 1011, 4.0, [1, 2, 4], (4, 2.5));
        assert_eq!(
            flush(&mut lines, &tenants(&[b, a]), &f),
            [
                "app.hits_total:1|c|#tenant:b",
                "app.lat_seconds:1000|ms|#tenant:b",
                "app.q.count:1|c|#tenant:b",
                "app.q.sum:1|c|#tenant:b",
            ]
        );
    }

    #[test]
    fn a_count_that_went_down_is_a_reset_and_the_new_value_is_sent() {
        let f = no_tags();
        let mut lines = Lines::default();
        flush(&mut lines, &tenants(&[("a", 100, 1.0, [5, 5, 5], (10, 5.0))]), &f);
        assert_eq!(
            flush(&mut lines, &tenants(&[("a", 30, 1.0, [6, 1, 0], (2, 1.0))]), &f),
            [
                "app.hits_total:30|c|#tenant:a",
                // Every bucket of a reset histogram counts from zero, those above their old
                // count too.
                "app.lat_seconds:100|ms|@0.16666666666666666|#tenant:a",
                "app.lat_seconds:1000|ms|#tenant:a",
                "app.q.count:2|c|#tenant:a",
                // The sum of a reset summary counts from zero too.
                "app.q.sum:1|c|#tenant:a",
            ]
        );
        assert_eq!(
            flush(&mut lines, &tenants(&[("a", 35, 1.0, [6, 1, 0], (2, 1.0))]), &f),
            ["app.hits_total:5|c|#tenant:a"]
        );
        // A sum that goes down on its own is a negative change, not a reset.
        let sums = |sum: f64| {
            vec![metric(
                "q",
                MetricKind::Summary,
                "",
                vec![series(&[], SeriesValue::Summary(SummaryValue { quantiles: vec![], count: 4, sum }))],
            )]
        };
        flush(&mut lines, &sums(3.0), &f);
        assert_eq!(flush(&mut lines, &sums(1.0), &f), ["app.q.sum:-2|c"]);

        // A reset whose unit was not sent: the next flush still counts from zero.
        let counter =
            |v: u64| vec![metric("c_total", MetricKind::Counter, "", vec![series(&[], SeriesValue::Counter(v))])];
        let mut lines = Lines::default();
        flush(&mut lines, &counter(100), &f);
        lines.clear();
        lines.diff(PART_STRUCTS, &counter(30), &f);
        assert_eq!(units(&lines), ["app.c_total:30|c"]);
        assert_eq!(flush(&mut lines, &counter(120), &f), ["app.c_total:120|c"]);
    }

    #[test]
    fn a_series_that_comes_back_starts_from_zero() {
        let f = no_tags();
        let mut lines = Lines::default();
        let a = ("a", 7, 1.5, [1, 0, 0], (1, 0.5));
        let b = ("b", 3, 2.5, [0, 1, 0], (1, 0.5));
        assert_eq!(flush(&mut lines, &tenants(&[a, b]), &f).len(), 10);
        // `a` removed (evicted, say): nothing to send for `b`.
        assert_eq!(flush(&mut lines, &tenants(&[b]), &f), Vec::<String>::new());
        // `a` back, above its old values: all of it is new, its unchanged gauge too.
        let a = ("a", 9, 1.5, [2, 0, 0], (2, 1.0));
        assert_eq!(
            flush(&mut lines, &tenants(&[b, a]), &f),
            [
                "app.hits_total:9|c|#tenant:a",
                "app.depth:1.5|g|#tenant:a",
                "app.lat_seconds:100|ms|@0.5|#tenant:a",
                "app.q.count:2|c|#tenant:a",
                "app.q.sum:1|c|#tenant:a",
            ]
        );
    }

    #[test]
    fn the_state_forgets_series_that_are_gone() {
        let f = no_tags();
        let mut lines = Lines::default();
        let names: Vec<String> = (0..1000).map(|i| format!("t{i}")).collect();
        let counters = |range: std::ops::Range<usize>, plus: u64| {
            let series =
                range.map(|i| series(&[("tenant", &names[i])], SeriesValue::Counter(i as u64 + plus))).collect();
            vec![metric("hits_total", MetricKind::Counter, "", series)]
        };
        assert_eq!(flush(&mut lines, &counters(1..1000, 0), &f).len(), 999);
        assert_eq!(tracked(&lines, PART_STRUCTS).0, 999);
        // Ten series left, from the middle: the state is theirs alone, and small again.
        assert_eq!(flush(&mut lines, &counters(500..510, 0), &f), Vec::<String>::new());
        let (len, capacity) = tracked(&lines, PART_STRUCTS);
        assert_eq!(len, 10);
        assert!(capacity < 100, "{capacity}");
        assert_eq!(flush(&mut lines, &counters(500..501, 1), &f), ["app.hits_total:1|c|#tenant:t500"]);
        assert_eq!(tracked(&lines, PART_STRUCTS).0, 1);
        flush(&mut lines, &[], &f);
        assert_eq!(tracked(&lines, PART_STRUCTS).0, 0);
        // The other parts keep their own state.
        lines.clear();
        lines.diff(PART_REGISTRY, &counters(0..3, 0), &f);
        assert_eq!((tracked(&lines, PART_REGISTRY).0, tracked(&lines, PART_STRUCTS).0), (3, 0));
    }

    #[test]
    fn the_same_series_twice_in_one_snapshot_keeps_two_states() {
        let f = no_tags();
        let mut lines = Lines::default();
        // Two structs with a metric of the same name, read as one part.
        let twice = |x: u64, y: u64| {
            [x, y]
                .map(|v| metric("jobs_total", MetricKind::Counter, "", vec![series(&[], SeriesValue::Counter(v))]))
                .to_vec()
        };
        assert_eq!(flush(&mut lines, &twice(5, 3), &f), ["app.jobs_total:5|c", "app.jobs_total:3|c"]);
        assert_eq!(flush(&mut lines, &twice(6, 3), &f), ["app.jobs_total:1|c"]);
        assert_eq!(flush(&mut lines, &twice(6, 5), &f), ["app.jobs_total:2|c"]);
    }

    #[test]
    fn series_keys_are_unambiguous() {
        let key = |name: &str, labels: &[(&str, &str)]| {
            let mut out = String::new();
            let labels: Vec<_> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            series_key(&mut out, name, labels.iter().map(|(k, v)| (k.as_str(), v.as_str())), 0.0);
            out
        };
        assert_eq!(key("req_total", &[("method", "GET")]), "9:req_total6:method3:GET@0");
        assert_ne!(key("a", &[("b", "c\u{0}d\u{1}e"), ("d", "f")]), key("a", &[("b", "c"), ("d", "e\u{0}d\u{1}f")]));
        assert_ne!(key("a", &[("b", "1:c")]), key("a", &[("b", ""), ("c", "")]));
        assert_ne!(key("a", &[]), key("a#1", &[]));
    }

    #[test]
    fn floats_never_use_exponents() {
        let f = format(TagStyle::DogStatsd, HistogramMode::Histograms);
        let mut out = String::new();
        f.line(&mut out, ("x", ""), std::iter::empty(), Sample { value: Num::F(1e-7), ty: "h", weight: 1e7 });
        assert_eq!(out, "app.x:0.0000001|h|@0.0000001|#env:pro_d");
    }
}
