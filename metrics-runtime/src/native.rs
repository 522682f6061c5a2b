//! Native (exponential) histograms: Prometheus' sparse buckets at a fixed relative resolution,
//! mergeable across instances, stored in a fixed table per series.

use core::fmt;
use core::sync::atomic::{
    AtomicBool, AtomicI32, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};

use metrics_rules::{native_coarser_key, native_key, native_upper_bound, NATIVE_SCHEMA_MIN};

use crate::cell::ConstInit;
use crate::exemplar::{Exemplar, ExemplarSlots};
use crate::family::Family;
use crate::histogram::{bucket_index, BucketCell};
use crate::read::{process_start_time, MetricDesc, Series, StaticLabels, Visitor};
use crate::tag::TagSet;

pub use metrics_rules::{
    DEFAULT_NATIVE_MAX_BUCKETS, DEFAULT_NATIVE_SCHEMA, DEFAULT_NATIVE_SLOTS, DEFAULT_NATIVE_ZERO_THRESHOLD,
};

/// Exemplar slots per native histogram series (with [`Exemplars`](crate::exemplar::Exemplars)):
/// a value's exemplar goes to slot `bucket key mod 8`, so that they spread over the buckets.
pub const NATIVE_EXEMPLARS: usize = 8;

/// How many slots a record probes at one resolution before it tries the next coarser one.
const PROBES: usize = 4;

/// A slot's key word: `1 << 63` (taken), the sign at bit 62, the resolution level (how many
/// schema steps coarser than the declared schema) at bits 48.., and the bucket key in the low
/// 32 bits.
#[inline(always)]
fn word(negative: bool, level: u32, key: i32) -> u64 {
    1 << 63 | u64::from(negative) << 62 | u64::from(level) << 48 | u64::from(key as u32)
}

/// The settings of a [`NativeHistogram`], checked by `#[derive(Metrics)]` at compile time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NativeConfig {
    /// The resolution: `2^schema` buckets per power of two, `-4..=8`.
    pub schema: i8,
    /// Values whose absolute value is at most this are counted in the zero bucket.
    pub zero_threshold: f64,
    /// The most buckets a series exposes; past it, a read halves the resolution (merging
    /// neighbouring buckets) until the buckets fit, as the Prometheus Go client does.
    pub max_buckets: usize,
    /// Classic bucket bounds recorded too (strictly increasing, finite; at most `B`), exposed
    /// beside the native buckets in protobuf and instead of them in the text formats; empty
    /// for none.
    pub bounds: &'static [f64],
    /// The `le` text of each bound.
    pub le: &'static [&'static str],
}

impl NativeConfig {
    /// Schema 3 (a bucket factor of `2^(1/8)`), zero threshold `2^-128`, 160 buckets: the
    /// Prometheus Go client's usual settings.
    pub const DEFAULT: Self = Self {
        schema: DEFAULT_NATIVE_SCHEMA,
        zero_threshold: DEFAULT_NATIVE_ZERO_THRESHOLD,
        max_buckets: DEFAULT_NATIVE_MAX_BUCKETS,
        bounds: &[],
        le: &[],
    };
}

/// One series of a [`NativeHistogram`]: the zero bucket, and `C` slots, each a bucket key and
/// the bucket's count and sum (one 16-byte atomic word): `24 * C + 64` bytes, inline (7,744 at the default 320).
///
/// A slot is taken for a bucket the first time a value falls in it, by one compare-and-swap;
/// slots are never freed. Buckets at the declared schema may take `max_buckets` slots, at most
/// half of them. A value whose bucket finds no slot (among the 4 it may probe) is recorded at a
/// coarser schema: the first at which the buckets spanned so far would fit in half of the free
/// slots (about the resolution the Prometheus Go client halves down to when its buckets exceed
/// `max_buckets`, one step coarser at most), so that a wider span later still finds room one
/// step coarser; coarser still only if the table is full, down to schema -4. A read
/// reports the whole series at the coarsest schema in use, which is exact (coarser buckets
/// are unions of finer ones), then keeps halving while more than `max_buckets` buckets are
/// populated. The series loses resolution rather than growing. Values that find no slot even
/// at schema -4 (possible only when `C` is small and values span more than `C` powers of
/// `2^16`) are counted in [`NativeHistogram::unplaced`] (and only there).
pub struct NativeSeries<const C: usize, const B: usize = 0> {
    zero: BucketCell,
    /// Slots taken by buckets at the declared schema: at most `max_buckets`, and at most half
    /// the slots, so that coarser resolutions always find room.
    fine: AtomicU64,
    /// Slots taken, at any schema.
    taken: AtomicU64,
    /// The lowest and highest declared-schema keys with a slot, positive then negative.
    lowest: [AtomicI32; 2],
    highest: [AtomicI32; 2],
    keys: [AtomicU64; C],
    cells: [BucketCell; C],
    /// Counts of the classic buckets with a finite bound (`+Inf` is the rest of the count).
    classic: [AtomicU64; B],
    negative: AtomicBool,
}

impl<const C: usize, const B: usize> ConstInit for NativeSeries<C, B> {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self {
        zero: BucketCell::INIT,
        fine: AtomicU64::new(0),
        taken: AtomicU64::new(0),
        lowest: [const { AtomicI32::new(i32::MAX) }; 2],
        highest: [const { AtomicI32::new(i32::MIN) }; 2],
        keys: [const { AtomicU64::new(0) }; C],
        cells: [const { BucketCell::INIT }; C],
        classic: [const { AtomicU64::new(0) }; B],
        negative: AtomicBool::new(false),
    };
}

impl<const C: usize, const B: usize> NativeSeries<C, B> {
    /// Adds one value at `key` (of the declared `schema`); returns `false` if no slot took it.
    #[inline]
    fn add(&self, config: &NativeConfig, negative: bool, key: i32, weight: u64, total: f64) -> bool {
        // The common case first: the bucket already has its home slot.
        let home = key.rem_euclid(C as i32) as usize;
        if self.keys[home].load(Relaxed) == word(negative, 0, key) {
            self.cells[home].add(weight, total);
            return true;
        }
        let fine_limit = config.max_buckets.min(C / 2).max(1);
        self.add_slow(config.schema, fine_limit, negative, key, weight, total)
    }

    #[inline(never)]
    fn add_slow(&self, schema: i8, fine_limit: usize, negative: bool, key: i32, weight: u64, total: f64) -> bool {
        let sign = usize::from(negative);
        // At the declared schema, within the slots it may take.
        let may_take = || self.fine.load(Relaxed) < fine_limit as u64;
        let took = || {
            self.fine.fetch_add(1, Relaxed);
            self.lowest[sign].fetch_min(key, Relaxed);
            self.highest[sign].fetch_max(key, Relaxed);
        };
        if self.probe_add(word(negative, 0, key), key, PROBES.min(C), may_take, took, weight, total) {
            return true;
        }
        // No slot: the declared resolution needs more buckets than it may have. Start at the
        // coarser schema at which the buckets spanned so far (this one included) fit in the
        // slots left, as the Go client halves its resolution until its buckets fit.
        let levels = (i32::from(schema) - i32::from(NATIVE_SCHEMA_MIN)) as u32;
        let span = |s: usize, with: Option<i32>| -> i64 {
            let (mut lo, mut hi) = (self.lowest[s].load(Relaxed), self.highest[s].load(Relaxed));
            if let Some(k) = with {
                (lo, hi) = (lo.min(k), hi.max(k));
            }
            if lo > hi {
                0
            } else {
                i64::from(hi) - i64::from(lo) + 1
            }
        };
        let spans = [span(0, (!negative).then_some(key)), span(1, negative.then_some(key))];
        // Half of the free slots, so that a later, wider span still finds room one level
        // coarser (the spans only grow).
        let free = C.saturating_sub(self.taken.load(Relaxed) as usize);
        let left = (free / 2).max(1) as i64;
        let first = (1..=levels)
            .find(|&d| spans.iter().map(|s| (s + (1 << d) - 1) >> d).sum::<i64>() <= left)
            .unwrap_or(levels);
        for level in first..=levels {
            let k = native_coarser_key(key, level);
            // The whole table: a coarser level only when this one has no free slot at all.
            if self.probe_add(word(negative, level, k), k, C, || true, || {}, weight, total) {
                return true;
            }
        }
        false
    }

    /// Adds to the slot of the bucket word `w` (key `k`), found along its probe sequence from
    /// its home slot within `probes` slots; a free slot is taken for it if `may_take()` (then
    /// `took()` runs). Slots are never freed, so the bucket, if it has a slot, has it before
    /// the first free one along the sequence.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn probe_add(
        &self,
        w: u64,
        k: i32,
        probes: usize,
        may_take: impl Fn() -> bool,
        took: impl Fn(),
        weight: u64,
        total: f64,
    ) -> bool {
        let mut i = k.rem_euclid(C as i32) as usize;
        for _ in 0..probes {
            let current = self.keys[i].load(Relaxed);
            let found = current == w
                || (current == 0
                    && may_take()
                    && match self.keys[i].compare_exchange(0, w, Relaxed, Relaxed) {
                        Ok(_) => {
                            self.taken.fetch_add(1, Relaxed);
                            took();
                            true
                        }
                        Err(actual) => actual == w,
                    });
            if found {
                self.cells[i].add(weight, total);
                return true;
            }
            i = if i + 1 == C { 0 } else { i + 1 };
        }
        false
    }

    /// The buckets, at the resolution a read reports (see [`NativeRead`]).
    pub fn read(&self, config: &NativeConfig) -> NativeRead {
        // The classic counts first: a record adds to them after its native bucket (release),
        // so every record counted here is in the native read below too, and the classic
        // buckets never exceed the count.
        let n = config.bounds.len().min(B);
        let classic: Vec<u64> = self.classic[..n].iter().map(|c| c.load(Acquire)).collect();
        let mut buckets: Vec<(bool, u32, i32, u64, f64)> = Vec::new();
        let mut coarsest = 0;
        for (key, cell) in self.keys.iter().zip(&self.cells) {
            let w = key.load(Relaxed);
            if w == 0 {
                continue;
            }
            let (count, sum) = cell.load();
            let level = ((w >> 48) & 0x3fff) as u32;
            coarsest = coarsest.max(level);
            buckets.push((w >> 62 & 1 == 1, level, w as u32 as i32, count, sum));
        }
        let (zero_count, zero_sum) = self.zero.load();
        let mut schema = config.schema - coarsest as i8;
        let mut merged: Vec<(bool, i32, u64)> = buckets
            .iter()
            .map(|&(neg, level, key, count, _)| (neg, native_coarser_key(key, coarsest - level), count))
            .collect();
        let sum = zero_sum + buckets.iter().map(|b| b.4).sum::<f64>();
        let count = buckets.iter().fold(zero_count, |a, b| a.saturating_add(b.3));
        merge(&mut merged);
        while merged.len() > config.max_buckets && schema > NATIVE_SCHEMA_MIN {
            schema -= 1;
            for b in &mut merged {
                b.1 = native_coarser_key(b.1, 1);
            }
            merge(&mut merged);
        }
        let split = merged.partition_point(|b| b.0);
        let negative: Vec<(i32, u64)> = merged[..split].iter().map(|b| (b.1, b.2)).collect();
        let positive: Vec<(i32, u64)> = merged[split..].iter().map(|b| (b.1, b.2)).collect();
        NativeRead {
            schema,
            zero_threshold: config.zero_threshold,
            zero_count,
            count,
            sum,
            negative,
            positive,
            has_negative: self.negative.load(Relaxed),
            exemplars: Vec::new(),
            bounds: &config.bounds[..n],
            le: &config.le[..n],
            classic,
        }
    }
}

/// Sorts buckets (negative first, then by key) and adds up those with the same key.
fn merge(buckets: &mut Vec<(bool, i32, u64)>) {
    buckets.sort_unstable_by_key(|b| (!b.0, b.1));
    buckets.dedup_by(|next, kept| {
        if next.0 == kept.0 && next.1 == kept.1 {
            kept.2 = kept.2.saturating_add(next.2);
            true
        } else {
            false
        }
    });
}

/// One read of a native histogram series: every record in it is in the count, the sum and
/// exactly one bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct NativeRead {
    /// The schema of the buckets below: the declared one, or coarser if the series needed more
    /// buckets than its slots or `max_buckets` allow.
    pub schema: i8,
    /// The zero bucket's threshold.
    pub zero_threshold: f64,
    /// Values within `[-zero_threshold, zero_threshold]`.
    pub zero_count: u64,
    /// Every recorded value (saturating).
    pub count: u64,
    /// The sum of the recorded values.
    pub sum: f64,
    /// Negative buckets `(key, count)` by increasing key (bucket `k` holds values in
    /// `[-2^(k * 2^-schema), -2^((k - 1) * 2^-schema))`), populated ones only.
    pub negative: Vec<(i32, u64)>,
    /// Positive buckets `(key, count)` by increasing key (bucket `k` holds values in
    /// `(2^((k - 1) * 2^-schema), 2^(k * 2^-schema)]`), populated ones only.
    pub positive: Vec<(i32, u64)>,
    /// Whether a negative value was recorded (the sum may go down).
    pub has_negative: bool,
    /// The exemplars of the series (with [`Exemplars`](crate::exemplar::Exemplars)), by
    /// increasing value.
    pub exemplars: Vec<Exemplar>,
    /// The declared classic bucket bounds (empty for none).
    pub bounds: &'static [f64],
    /// Their `le` texts.
    pub le: &'static [&'static str],
    /// The classic count of each bound's bucket (not cumulative); `+Inf` holds the rest of
    /// `count`.
    pub classic: Vec<u64>,
}

impl NativeRead {
    /// The buckets as classic ones, by increasing upper bound: `(upper bound, count)`: the
    /// declared classic buckets if any (then `+Inf` with the rest of the count); otherwise the
    /// negative
    /// buckets, then the zero bucket (upper bound `zero_threshold`), then positive buckets; a
    /// bucket whose upper bound is infinite is the last (`+Inf`).
    pub fn classic(&self) -> Vec<(f64, u64)> {
        if !self.bounds.is_empty() {
            let mut out: Vec<(f64, u64)> = self.bounds.iter().copied().zip(self.classic.iter().copied()).collect();
            let finite = self.classic.iter().fold(0u64, |a, c| a.saturating_add(*c));
            out.push((f64::INFINITY, self.count.saturating_sub(finite)));
            return out;
        }
        let mut out = Vec::with_capacity(self.negative.len() + self.positive.len() + 1);
        for &(key, count) in self.negative.iter().rev() {
            out.push((-native_upper_bound(key - 1, self.schema), count));
        }
        out.push((self.zero_threshold, self.zero_count));
        for &(key, count) in &self.positive {
            out.push((native_upper_bound(key, self.schema), count));
        }
        out
    }

    /// The `q`-quantile (`0.0..=1.0`) estimated from the buckets, `None` if nothing was
    /// recorded. The bucket holding the quantile's rank is found exactly; within it the estimate
    /// interpolates exponentially between the bucket's bounds, so its relative error is below
    /// the bucket's width, `2^(2^-schema) - 1` (9.05% at schema 3, 4.4% at schema 4), and in
    /// practice about half of it. A rank in the zero bucket gives 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::NativeHistogram;
    ///
    /// static LATENCY: NativeHistogram = NativeHistogram::new();
    /// for i in 1..=1000 {
    ///     LATENCY.record(i as f64 / 1000.0);
    /// }
    /// let p90 = LATENCY.read().percentile(0.9).unwrap();
    /// assert!((p90 - 0.9).abs() / 0.9 < 0.0905);
    /// ```
    pub fn percentile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = q * self.count as f64;
        let mut seen = 0u64;
        let within = |seen: u64, count: u64| ((rank - seen as f64) / count as f64).clamp(0.0, 1.0);
        for &(key, count) in self.negative.iter().rev() {
            if (seen + count) as f64 >= rank && count > 0 {
                let (hi, lo) = (native_upper_bound(key, self.schema), native_upper_bound(key - 1, self.schema));
                // From the bucket's most negative end towards zero.
                return Some(-(hi * (lo / hi).powf(within(seen, count))));
            }
            seen += count;
        }
        if (seen + self.zero_count) as f64 >= rank && self.zero_count > 0 {
            return Some(0.0);
        }
        seen += self.zero_count;
        for &(key, count) in &self.positive {
            if (seen + count) as f64 >= rank && count > 0 {
                let (lo, hi) = (native_upper_bound(key - 1, self.schema), native_upper_bound(key, self.schema));
                let hi = hi.min(f64::MAX);
                return Some(lo * (hi / lo).powf(within(seen, count)));
            }
            seen += count;
        }
        None
    }
}

/// A Prometheus native histogram: exponential buckets at a fixed relative resolution
/// (`schema`), one series per combination of the tag set `T`, each series a fixed table of
/// `C` bucket slots (320 by default: 7,744 bytes per series, see [`NativeSeries`]), inline: no
/// allocation, ever.
///
/// Unlike a [`Summary`](crate::Summary), its buckets add up across instances: `sum(rate(..))`
/// over a fleet, then `histogram_quantile`, is as accurate as one instance (the bucket width,
/// 9% at the default schema 3, about half of it in practice). Unlike a classic
/// [`Histogram`](crate::Histogram), nobody has to guess bucket bounds. Pick a `Summary` for
/// exact per-instance quantiles over a sliding window that will never be aggregated; pick
/// this for anything a fleet dashboard sums.
///
/// # Recording
///
/// The bucket key comes from the value's `f64` bits and two small tables (no logarithm); a
/// record then finds its slot (one load when the bucket has been seen before) and adds to its
/// count and sum with one 16-byte compare-and-swap: lock-free. Zero and values within the zero
/// threshold go to the zero bucket; negative values to the negative buckets (and OpenMetrics
/// then leaves out `_sum`, as for a classic histogram); `±Inf` to the bucket past `±f64::MAX`,
/// as in the Prometheus data model (the sum becomes infinite). NaN is **not recorded**: it is
/// counted in [`NativeHistogram::invalid`], as for every metric type here.
///
/// # Exposition
///
/// The Prometheus protobuf format (feature `protobuf`) carries the native buckets. The text
/// formats, which cannot, expose the series as a classic histogram: with the classic buckets
/// declared by `#[metric(buckets = [..])]` (recorded too, into the type's third parameter
/// `B`: `NativeHistogram<T, 320, 3>` for three bounds; protobuf then carries both), or else
/// with `le` bounds at the upper bounds of the populated native buckets (and the zero
/// threshold), so that text scrapers still see a valid, cumulative histogram.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Metrics, NativeHistogram};
///
/// #[derive(Metrics)]
/// struct Api {
///     /// Request time.
///     #[metric(unit = "seconds", schema = 4)]
///     request_seconds: NativeHistogram,
/// }
///
/// let api = Api::new();
/// api.request_seconds.record(0.25);
/// api.request_seconds.record(0.3);
/// let read = api.request_seconds.read();
/// assert_eq!((read.schema, read.count), (4, 2));
/// assert!(api.render_prometheus().contains("request_seconds_count 2\n"));
/// ```
pub struct NativeHistogram<T: TagSet = (), const C: usize = DEFAULT_NATIVE_SLOTS, const B: usize = 0> {
    config: NativeConfig,
    invalid: AtomicU64,
    unplaced: AtomicU64,
    series: Family<NativeSeries<C, B>, T>,
}

impl<T: TagSet, const C: usize, const B: usize> NativeHistogram<T, C, B> {
    /// A native histogram with [`NativeConfig::DEFAULT`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::NativeHistogram;
    ///
    /// static SIZES: NativeHistogram = NativeHistogram::new();
    /// SIZES.record(1500.0);
    /// assert_eq!(SIZES.read().schema, 3);
    /// ```
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self::with_config(NativeConfig::DEFAULT)
    }

    /// A native histogram with these settings (what `#[derive(Metrics)]` writes for
    /// `#[metric(schema = .., zero_threshold = .., max_buckets = ..)]`, after checking them).
    ///
    /// # Panics
    ///
    /// At compile time in a `static`, if `schema` is outside `-4..=8`, the zero threshold is
    /// negative or not finite, or `max_buckets` is 0 or above `C`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{NativeConfig, NativeHistogram};
    ///
    /// static SIZES: NativeHistogram<(), 64> =
    ///     NativeHistogram::with_config(NativeConfig { schema: 1, zero_threshold: 0.5, max_buckets: 64, ..NativeConfig::DEFAULT });
    /// SIZES.record(0.25); // within the zero threshold
    /// assert_eq!(SIZES.read().zero_count, 1);
    /// ```
    pub const fn with_config(config: NativeConfig) -> Self {
        assert!(config.schema >= -4 && config.schema <= 8, "native histogram schema must be in -4..=8");
        assert!(
            config.zero_threshold >= 0.0 && config.zero_threshold <= f64::MAX,
            "native histogram zero threshold must be finite and not negative"
        );
        assert!(config.max_buckets >= 1 && config.max_buckets <= C, "max_buckets must be in 1..=C");
        assert!(config.bounds.len() <= B, "more classic bounds than the type's B slots");
        assert!(config.bounds.len() == config.le.len(), "one `le` text per classic bound");
        Self { config, invalid: AtomicU64::new(0), unplaced: AtomicU64::new(0), series: Family::new() }
    }

    /// The settings.
    pub fn config(&self) -> &NativeConfig {
        &self.config
    }

    /// The series for `tags`.
    ///
    /// # Performance
    ///
    /// Index arithmetic on the tags' variants; no hashing, lock or allocation.
    #[inline(always)]
    pub fn with(&self, tags: T) -> NativeHandle<'_, C, B> {
        NativeHandle { histogram: self.as_parts(), series: self.series.with(tags) }
    }

    #[inline(always)]
    fn as_parts(&self) -> Parts<'_> {
        Parts { config: &self.config, invalid: &self.invalid, unplaced: &self.unplaced }
    }

    /// Every series, in tag order.
    pub fn series(&self) -> &[NativeSeries<C, B>] {
        self.series.series()
    }

    /// NaN values seen (not recorded).
    pub fn invalid(&self) -> u64 {
        self.invalid.load(Relaxed)
    }

    /// Heap held: none, every series is inline (what [`Metrics::heap_bytes`](crate::Metrics::heap_bytes)
    /// adds for this field).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::NativeHistogram;
    ///
    /// static LATENCY: NativeHistogram = NativeHistogram::new();
    /// LATENCY.record(0.25);
    /// assert_eq!(LATENCY.heap_bytes(), 0);
    /// ```
    pub fn heap_bytes(&self) -> usize {
        0
    }

    /// Values that found no bucket slot at any resolution (not recorded): 0 unless the
    /// series' values span more than `C` buckets even at schema -4.
    pub fn unplaced(&self) -> u64 {
        self.unplaced.load(Relaxed)
    }

    /// Hands every series to `visitor` as native histograms of the metric `desc` (what the
    /// derived [`Metrics::visit`](crate::Metrics::visit) does for this field).
    pub fn visit(&self, desc: &MetricDesc<'_>, visitor: &mut dyn Visitor) {
        self.visit_with(desc, visitor, None);
    }

    /// As [`visit`](Self::visit), with each series' exemplar slots.
    pub(crate) fn visit_with(
        &self,
        desc: &MetricDesc<'_>,
        visitor: &mut dyn Visitor,
        exemplars: Option<&Family<ExemplarSlots<NATIVE_EXEMPLARS>, T>>,
    ) {
        let created = process_start_time();
        visitor.begin_metric(desc);
        for (index, series) in self.series().iter().enumerate() {
            let labels = StaticLabels::<T>::new(index);
            let mut read = series.read(&self.config);
            if let Some(family) = exemplars {
                read.exemplars = family.series()[index].cells().iter().filter_map(|c| c.load()).collect();
                read.exemplars.sort_by(|a, b| a.value.total_cmp(&b.value));
            }
            visitor.native_histogram(desc, Series { index, labels: &labels, created }, &read);
        }
        visitor.end_metric(desc);
    }
}

impl<const C: usize, const B: usize> NativeHistogram<(), C, B> {
    /// Records `value` in the only series.
    #[inline]
    pub fn record(&self, value: f64) {
        self.with(()).record(value);
    }

    /// The only series, read.
    pub fn read(&self) -> NativeRead {
        self.series()[0].read(&self.config)
    }
}

#[derive(Clone, Copy)]
struct Parts<'a> {
    config: &'a NativeConfig,
    invalid: &'a AtomicU64,
    unplaced: &'a AtomicU64,
}

/// One series of a [`NativeHistogram`], ready to record.
#[derive(Clone, Copy)]
#[allow(missing_debug_implementations)]
pub struct NativeHandle<'a, const C: usize, const B: usize = 0> {
    histogram: Parts<'a>,
    series: &'a NativeSeries<C, B>,
}

impl<const C: usize, const B: usize> NativeHandle<'_, C, B> {
    /// Records one value.
    ///
    /// # Performance
    ///
    /// A table lookup on the value's bits, one load to find its slot (the first record of a
    /// bucket takes a slot with one compare-and-swap), and one 16-byte compare-and-swap of the
    /// slot's count and sum; never allocates.
    #[inline]
    pub fn record(&self, value: f64) {
        self.record_weighted(value, 1);
    }

    /// Records `value` as `weight` observations (what a sampler that keeps one in `weight`
    /// does); the count saturates.
    #[inline]
    pub fn record_weighted(&self, value: f64, weight: u64) {
        self.record_slot(value, weight);
    }

    /// Records `value` as `weight` observations; returns the exemplar slot of its bucket
    /// (its key mod [`NATIVE_EXEMPLARS`], 0 for the zero bucket), `None` for NaN.
    #[inline]
    pub(crate) fn record_slot(&self, value: f64, weight: u64) -> Option<usize> {
        if value.is_nan() {
            self.histogram.invalid.fetch_add(1, Relaxed);
            return None;
        }
        let config = self.histogram.config;
        let total = value * weight as f64;
        if value < 0.0 {
            self.series.negative.store(true, Relaxed);
        }
        let abs = value.abs();
        let slot = if abs <= config.zero_threshold {
            self.series.zero.add(weight, total);
            0
        } else {
            let key = native_key(abs, config.schema);
            if !self.series.add(config, value < 0.0, key, weight, total) {
                self.histogram.unplaced.fetch_add(1, Relaxed);
            }
            key.rem_euclid(NATIVE_EXEMPLARS as i32) as usize
        };
        if B > 0 {
            self.record_classic(value, weight);
        }
        Some(slot)
    }

    /// Adds to the classic bucket of `value` (none for `+Inf`'s, which is the rest of the
    /// count), after the native one (release: see [`NativeSeries::read`]).
    #[inline]
    fn record_classic(&self, value: f64, weight: u64) {
        let bounds = self.histogram.config.bounds;
        let i = bucket_index(bounds, value);
        if i < bounds.len().min(B) {
            let _ = self.series.classic[i].fetch_update(Release, Relaxed, |c| Some(c.saturating_add(weight)));
        }
    }

    /// The series, read.
    pub fn read(&self) -> NativeRead {
        self.series.read(self.histogram.config)
    }
}

impl<T: TagSet, const C: usize, const B: usize> fmt::Debug for NativeHistogram<T, C, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeHistogram")
            .field("config", &self.config)
            .field("series", &self.series().len())
            .field("invalid", &self.invalid())
            .finish()
    }
}

impl<const C: usize, const B: usize> fmt::Debug for NativeSeries<C, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeSeries").finish_non_exhaustive()
    }
}

/// The spans and deltas of the Prometheus native-histogram wire formats (exposition protobuf,
/// remote write): `buckets` is `(key, count)` in increasing key order; each span is
/// `(offset, length)`, the offset counted from the end of the span before (from 0 for the
/// first); each delta is a bucket's count minus the one before it.
#[cfg(any(feature = "protobuf", feature = "remote-write"))]
pub(crate) fn spans_and_deltas(buckets: &[(i32, u64)]) -> (Vec<(i32, u32)>, Vec<i64>) {
    let mut spans: Vec<(i32, u32)> = Vec::new();
    let mut deltas = Vec::with_capacity(buckets.len());
    let (mut last_key, mut last_count) = (0i32, 0i64);
    for (i, &(key, count)) in buckets.iter().enumerate() {
        let count = count.min(i64::MAX as u64) as i64;
        match spans.last_mut() {
            Some(span) if i > 0 && key == last_key + 1 => span.1 += 1,
            _ => {
                let offset = if i == 0 { key } else { key - last_key - 1 };
                spans.push((offset, 1));
            }
        }
        deltas.push(count.wrapping_sub(last_count));
        (last_key, last_count) = (key, count);
    }
    (spans, deltas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_counts_and_sums() {
        static H: NativeHistogram<(), 32> = NativeHistogram::with_config(NativeConfig {
            schema: 0,
            zero_threshold: 0.001,
            max_buckets: 32,
            ..NativeConfig::DEFAULT
        });
        for v in [0.0, 0.0005, 1.0, 1.5, 2.0, 3.0, -1.0, -0.75] {
            H.record(v);
        }
        H.record(f64::NAN);
        let r = H.read();
        assert_eq!((r.schema, r.zero_count, r.count), (0, 2, 8));
        assert_eq!(r.positive, vec![(0, 1), (1, 2), (2, 1)]);
        assert_eq!(r.negative, vec![(0, 2)]);
        assert_eq!(r.sum, 0.0005 + 1.0 + 1.5 + 2.0 + 3.0 - 1.0 - 0.75);
        assert_eq!(H.invalid(), 1);
        assert!(r.has_negative);
        let classic = r.classic();
        assert_eq!(classic, vec![(-0.5, 2), (0.001, 2), (1.0, 1), (2.0, 2), (4.0, 1)]);
    }

    #[test]
    fn a_full_table_lowers_the_resolution_exactly() {
        static H: NativeHistogram<(), 32> = NativeHistogram::with_config(NativeConfig {
            schema: 3,
            zero_threshold: 0.0,
            max_buckets: 32,
            ..NativeConfig::DEFAULT
        });
        // 64 distinct buckets at schema 3: 8 powers of two.
        let mut n = 0;
        for i in 0..512 {
            H.record(2f64.powf(i as f64 / 64.0));
            n += 1;
        }
        let r = H.read();
        assert_eq!(H.unplaced(), 0);
        assert_eq!(r.count, n);
        assert!(r.positive.len() <= 32, "{:?}", r.positive);
        assert!(r.schema < 3);
        assert_eq!(r.positive.iter().map(|b| b.1).sum::<u64>(), n);
    }

    /// Values over 2^-10..2^10 need 646 buckets at schema 5, twice the 320 slots: the series
    /// falls back to a coarser schema, and keeps every record.
    #[test]
    fn a_wide_distribution_costs_resolution_not_counts() {
        static H: NativeHistogram<(), 320> = NativeHistogram::with_config(NativeConfig {
            schema: 5,
            zero_threshold: 0.0,
            max_buckets: 320,
            ..NativeConfig::DEFAULT
        });
        let mut x = 1u64;
        for _ in 0..200_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            H.record((u * 14.0 - 7.0).exp());
        }
        let r = H.read();
        assert_eq!((r.count, H.unplaced()), (200_000, 0));
        assert_eq!(r.positive.iter().map(|b| b.1).sum::<u64>(), 200_000);
        // The Go client would halve twice (to 162 buckets); this falls back at most two
        // steps further.
        assert!((1..5).contains(&r.schema), "schema {}", r.schema);
        let p50 = r.percentile(0.5).unwrap();
        assert!((p50 - 1.0).abs() < 0.1, "{p50}");
    }

    #[test]
    fn max_buckets_merges_on_read() {
        static H: NativeHistogram<(), 64> = NativeHistogram::with_config(NativeConfig {
            schema: 3,
            zero_threshold: 0.0,
            max_buckets: 4,
            ..NativeConfig::DEFAULT
        });
        for i in 0..32 {
            H.record(2f64.powf(i as f64 / 8.0) * 1.01);
        }
        let r = H.read();
        assert!(r.positive.len() <= 4);
        assert_eq!(r.positive.iter().map(|b| b.1).sum::<u64>(), 32);
        // Unchanged storage: reads are pure.
        assert_eq!(H.read(), r);
    }
}
