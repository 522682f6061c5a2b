//! Summaries: t-digest quantiles over a sliding time window, recorded into per-series
//! buffers with an atomic add and a store.

use core::fmt;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use crate::cell::ConstInit;
use crate::family::Family;
use crate::read::{process_start_time, MetricDesc, Series, StaticLabels, SummaryRead, Visitor};
use crate::tag::TagSet;

/// Slots per series that records claim with an atomic add: drained in batches under the
/// series lock.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{SummarySeries, BUFFER_SLOTS};
///
/// // The slots live inline in every series.
/// assert!(std::mem::size_of::<SummarySeries>() >= BUFFER_SLOTS * 8);
/// ```
pub const BUFFER_SLOTS: usize = 128;

/// The largest value a [`Summary`] records. Larger ones, negative ones, NaN and infinities are
/// counted in [`Summary::invalid`] and not recorded: a t-digest adds means times weights, which
/// overflow to infinity (and quantiles to NaN) above about 1e303, and OpenMetrics forbids
/// negative quantiles and a negative `_sum`.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Summary, SUMMARY_MAX_VALUE};
///
/// static SIZES: Summary = Summary::new();
/// SIZES.record(SUMMARY_MAX_VALUE);
/// SIZES.record(1e300); // too large: counted, not recorded
/// SIZES.record(-1.0); // negative: counted, not recorded
/// assert_eq!((SIZES.count(), SIZES.invalid()), (1, 2));
/// assert_eq!(SIZES.percentile(0.5), Some(SUMMARY_MAX_VALUE));
/// ```
pub const SUMMARY_MAX_VALUE: f64 = 1e280;
/// Values staged per series before they are merged into the t-digest.
///
/// Staged values are counted in log-linear buckets ([`STAGE_SUB_BUCKETS`] per power of two):
/// staging a value costs an index computation and one add, with no sort. The buckets are merged
/// into the digest of the current sub-window as weighted centroids when this many values are
/// staged, when the sub-window changes, when a value needs a power of two beyond
/// [`STAGE_PAGES`], and at every read.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Summary, STAGED_VALUES};
///
/// static LATENCY: Summary = Summary::new();
/// for i in 0..STAGED_VALUES + 10 {
///     LATENCY.record(i as f64); // one merge into the digest on the way
/// }
/// assert_eq!(LATENCY.count(), STAGED_VALUES as u64 + 10);
/// ```
pub const STAGED_VALUES: usize = 1 << 15;

/// Buckets per power of two in the staging area. The values of one bucket (within 1/64 of
/// each other) enter the digest as one centroid: their count and their exact mean.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Summary, STAGE_SUB_BUCKETS};
///
/// assert_eq!(STAGE_SUB_BUCKETS, 64);
/// static SIZE: Summary = Summary::new();
/// for v in [1000.0, 1001.0, 1002.0] {
///     SIZE.record(v); // one bucket: one centroid of weight 3 and mean 1001
/// }
/// assert_eq!(SIZE.percentile(0.5), Some(1001.0));
/// ```
pub const STAGE_SUB_BUCKETS: usize = 64;

/// Powers of two the staging area covers at once, one page of [`STAGE_SUB_BUCKETS`] buckets
/// each. A value in one more is kept as it is, in an overflow list of 128 values merged with
/// the buckets; once that is full too, the stage is merged into
/// the digest first. Wide-ranged values cost more merges, never lost values.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Summary, STAGE_PAGES};
///
/// static WIDE: Summary = Summary::new();
/// for e in 0..(2 * STAGE_PAGES as i32) {
///     WIDE.record(2f64.powi(e - STAGE_PAGES as i32)); // more powers of two than pages
/// }
/// assert_eq!(WIDE.count(), 2 * STAGE_PAGES as u64);
/// assert_eq!(WIDE.percentile(1.0), Some(2f64.powi(STAGE_PAGES as i32 - 1)));
/// ```
pub const STAGE_PAGES: usize = 16;

/// Sub-windows of the sliding window.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{SummaryConfig, SUB_WINDOWS};
///
/// // A 60 s window advances in steps of 12 s.
/// assert_eq!(SummaryConfig::DEFAULT.window_secs / SUB_WINDOWS as u64, 12);
/// ```
pub const SUB_WINDOWS: usize = 5;
/// Default t-digest size: the most centroids each sub-window keeps.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Summary, SummaryConfig, DEFAULT_COMPRESSION};
///
/// static LATENCY: Summary = Summary::new();
/// assert_eq!(LATENCY.config().compression, DEFAULT_COMPRESSION);
/// assert_eq!(SummaryConfig::DEFAULT.compression, 440);
/// ```
pub const DEFAULT_COMPRESSION: usize = 440;

/// An empty slot. A NaN pattern: NaN is never stored, since it is rejected before buffering.
const EMPTY: u64 = u64::MAX;

/// The sign bit marks a slot holding the weight of the value in the next slot: recorded values
/// are never negative (`-0.0` is stored as `0.0`).
const WEIGHT_MARK: u64 = 1 << 63;

/// The largest weight a mark holds (below [`EMPTY`]'s pattern); larger weights are capped.
const MAX_WEIGHT: u64 = (1 << 63) - 2;

/// Upper bound of the heap held by one summary series, in bytes, whatever the record rate: the
/// staging area (a 2 KiB page table, up to [`STAGE_PAGES`] pages of 640 bytes and a 1 KiB
/// overflow list) plus one t-digest per sub-window of at most `compression` centroids, 8 bytes
/// each (a single value exactly; otherwise the mean rounded to its 20 leading mantissa bits,
/// within 1/2,000,000 of it, and the weight as an `f32`). While the stage is merged into a digest, or a percentile is computed,
/// the centroids involved exist for a moment beside them at 16 bytes each.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{series_heap_bound, Summary, DEFAULT_COMPRESSION};
///
/// // With the series' inline buffer, under 32 KiB a series.
/// let series = series_heap_bound(DEFAULT_COMPRESSION) + std::mem::size_of::<metrics_runtime::SummarySeries>();
/// assert!(series <= 32 * 1024);
/// assert!(series_heap_bound(100) < series_heap_bound(DEFAULT_COMPRESSION)); // smaller digests, less memory
///
/// static LATENCY: Summary = Summary::new();
/// for i in 0..10_000 {
///     LATENCY.record(f64::from(i));
/// }
/// assert!(LATENCY.heap_bytes() <= series_heap_bound(DEFAULT_COMPRESSION));
/// ```
pub const fn series_heap_bound(compression: usize) -> usize {
    let stage = STAGE_KEYS
        + STAGE_PAGES * (size_of::<Page>() + size_of::<Box<Page>>() + size_of::<u16>())
        + STAGE_OVERFLOW * size_of::<f64>();
    let windows = SUB_WINDOWS * (size_of::<SubWindow>() + compression * size_of::<Packed>());
    stage + windows
}

/// The settings of a [`Summary`]: the quantiles it exports and its window.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Summary, SummaryConfig};
///
/// static CONFIG: SummaryConfig = SummaryConfig {
///     quantiles: &[0.5, 0.99],
///     quantile_labels: &["0.5", "0.99"],
///     window_secs: 300,
///     compression: 200,
/// };
/// static CHECKOUT: Summary = Summary::with_config(&CONFIG);
/// CHECKOUT.record(0.4);
/// assert_eq!(CHECKOUT.config().window_secs, 300);
/// assert_eq!(CHECKOUT.with(()).snapshot().quantiles, [0.4, 0.4]); // one value per configured quantile
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SummaryConfig {
    /// The exported quantiles, each in (0, 1), increasing.
    pub quantiles: &'static [f64],
    /// The text of each quantile for the `quantile` label.
    pub quantile_labels: &'static [&'static str],
    /// The sliding window, in seconds.
    pub window_secs: u64,
    /// The t-digest size: the most centroids each sub-window keeps (at 8 bytes each, see
    /// [`series_heap_bound`]). Tail quantiles' error falls about as `1 / compression`.
    pub compression: usize,
}

impl SummaryConfig {
    /// p50, p90, p99 and p999 over 60 seconds.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Summary, SummaryConfig};
    ///
    /// assert_eq!(SummaryConfig::DEFAULT.quantiles, [0.5, 0.9, 0.99, 0.999]);
    /// assert_eq!(SummaryConfig::DEFAULT.window_secs, 60);
    ///
    /// // Start from the defaults, change what differs.
    /// static LONG: SummaryConfig = SummaryConfig { window_secs: 600, ..SummaryConfig::DEFAULT };
    /// static LATENCY: Summary = Summary::with_config(&LONG);
    /// assert_eq!(LATENCY.config().quantile_labels, ["0.5", "0.9", "0.99", "0.999"]);
    /// ```
    pub const DEFAULT: Self = Self {
        quantiles: metrics_rules::DEFAULT_QUANTILES,
        quantile_labels: metrics_rules::DEFAULT_QUANTILES_TEXT,
        window_secs: metrics_rules::DEFAULT_WINDOW_SECS,
        compression: DEFAULT_COMPRESSION,
    };
}

/// The t-digest of one sub-window: centroids in increasing order of mean, at most the
/// configured compression of them.
struct SubWindow {
    epoch: u64,
    min: f64,
    max: f64,
    centroids: Vec<Packed>,
}

impl SubWindow {
    const fn empty() -> Self {
        Self { epoch: u64::MAX, min: f64::INFINITY, max: f64::NEG_INFINITY, centroids: Vec::new() }
    }

    /// Starts over for `epoch`, keeping the allocation.
    fn reset(&mut self, epoch: u64) {
        self.epoch = epoch;
        self.min = f64::INFINITY;
        self.max = f64::NEG_INFINITY;
        self.centroids.clear();
    }
}

/// A centroid in 8 bytes. Means are never negative, so the top bit is free: set, the other 63
/// are the exact `f64` of a centroid of weight 1 (a value as recorded); clear, the upper half
/// holds the mean's `f64` bits rounded to the upper 32 (exponent and 20 mantissa bits: a
/// relative error under 2^-21) and the lower half the weight as an `f32` (exact up to 2^24,
/// then within 2^-24 of it).
#[derive(Clone, Copy)]
struct Packed(u64);

/// The top bit of a [`Packed`] of weight 1.
const SINGLE: u64 = 1 << 63;

impl Packed {
    #[inline]
    fn new(mean: f64, weight: f64) -> Self {
        debug_assert!(mean.is_sign_positive());
        let bits = mean.to_bits() & !SINGLE;
        if weight == 1.0 {
            return Self(SINGLE | bits);
        }
        // Round to nearest: a carry out of the mantissa moves to the next exponent, which is
        // the right rounding too (values stay far below the largest finite `f64`).
        let mean = (bits + (1 << 31)) >> 32;
        Self(mean << 32 | u64::from((weight as f32).to_bits()))
    }

    #[inline]
    fn mean(self) -> f64 {
        if self.0 & SINGLE != 0 {
            f64::from_bits(self.0 & !SINGLE)
        } else {
            f64::from_bits(self.0 >> 32 << 32)
        }
    }

    #[inline]
    fn weight(self) -> f64 {
        if self.0 & SINGLE != 0 {
            1.0
        } else {
            f64::from(f32::from_bits(self.0 as u32))
        }
    }
}

/// The t-digest's scale: the cumulative fraction of the weight below centroid limit `k` of `d`
/// (the `tdigest` crate's quadratic scale, finest at both tails).
fn k_to_q(k: f64, d: f64) -> f64 {
    let k_div_d = k / d;
    if k_div_d >= 0.5 {
        let base = 1.0 - k_div_d;
        1.0 - 2.0 * base * base
    } else {
        2.0 * k_div_d * k_div_d
    }
}

/// The inverse of [`k_to_q`]: the scale position of the cumulative fraction `q`.
fn q_to_k(q: f64, d: f64) -> f64 {
    if q >= 0.5 {
        d * (1.0 - ((1.0 - q) / 2.0).sqrt())
    } else {
        d * (q / 2.0).sqrt()
    }
}

/// Compresses `sorted` (centroids as `(mean, weight)`, in increasing order of mean) into `out`
/// as a t-digest of at most `compression` centroids.
///
/// Neighbours merge while a centroid spans at most one unit of the scale from where it starts
/// (the merging t-digest's rule). On a scale of `d` units that leaves about `1.25 d` centroids
/// and at most `2 d + 1` (two neighbours together always span more than a unit); the first
/// pass takes `d = 0.8 compression`, and when more than `compression` come out, the
/// compression is redone on a coarser scale, which keeps the bound. (The `tdigest` crate's merge instead counts units, one per centroid: after a merge
/// into a digest leaves single values between its heavy centroids, it runs out of units and
/// lumps the upper tail together; and its centroids cannot be read back to store compactly.)
fn compress(sorted: &[(f64, f64)], compression: usize, out: &mut Vec<Packed>) {
    let total: f64 = sorted.iter().map(|c| c.1).sum();
    // About 1.25 centroids come out per unit of the scale: start there.
    let mut d = 0.8 * compression as f64;
    loop {
        compress_on(sorted, total, d, out);
        if out.len() <= compression {
            return;
        }
        // Centroids come out about in proportion to the scale: aim a little under the bound.
        d *= 0.95 * compression as f64 / out.len() as f64;
    }
}

/// [`compress`] on the scale of `d` units; `total` is the weight of `sorted`.
fn compress_on(sorted: &[(f64, f64)], total: f64, d: f64, out: &mut Vec<Packed>) {
    out.clear();
    let Some((&(first_mean, first_weight), rest)) = sorted.split_first() else { return };
    let limit_after = |start: f64| k_to_q((q_to_k((start / total).min(1.0), d) + 1.0).min(d), d) * total;
    let mut limit = limit_after(0.0);
    let (mut mean, mut weight) = (first_mean, first_weight);
    let mut so_far = first_weight;
    for &(m, w) in rest {
        so_far += w;
        if so_far <= limit {
            weight += w;
            mean += (m - mean) * (w / weight);
        } else {
            out.push(Packed::new(mean, weight));
            limit = limit_after(so_far - w);
            (mean, weight) = (m, w);
        }
    }
    out.push(Packed::new(mean, weight));
}

/// Keys of the staging area's page table: the exponent bits of an `f64` (staged values are
/// never negative, so the sign bit is 0).
const STAGE_KEYS: usize = 1 << 11;

/// Mantissa bits below the sub-bucket index.
const SUB_SHIFT: u32 = 52 - STAGE_SUB_BUCKETS.trailing_zeros();

/// Values the stage keeps as they are once every page is in use.
const STAGE_OVERFLOW: usize = 128;

/// The buckets of one power of two: a count and a sum each (640 bytes).
struct Page {
    counts: [u16; STAGE_SUB_BUCKETS],
    sums: [f64; STAGE_SUB_BUCKETS],
}

/// Values drained from the buffer and not yet merged into a digest, counted in
/// log-linear buckets: the bucket of a value is its exponent and top 6 mantissa bits.
struct Stage {
    /// Page index plus one for each exponent; 0: no page. Allocated on first use.
    table: Option<Box<[u8; STAGE_KEYS]>>,
    /// The key of each page in use, in page order.
    keys: Vec<u16>,
    /// Allocated pages; the first `keys.len()` are in use, the others are zeroed spares.
    // Boxed so that a page is allocated when first needed, and the vector of pointers can
    // reserve room for all of them up front without allocating the pages themselves.
    #[allow(clippy::vec_box)]
    pages: Vec<Box<Page>>,
    /// Values of powers of two without a page, once every page is in use (disjoint from the
    /// pages' ranges, since pages are only released all together).
    overflow: Vec<f64>,
    /// Values staged, added once per drain, so that the staging loop carries no count through
    /// memory. A merge forced in the middle of a drain leaves it a little high, which only
    /// brings the next merge forward. At most [`STAGED_VALUES`] plus one drain, so no bucket's
    /// `u32` count can overflow.
    count: u32,
    min: f64,
    max: f64,
    /// The sub-window epoch the staged values belong to.
    epoch: u64,
}

impl Stage {
    const fn new() -> Self {
        Self {
            table: None,
            keys: Vec::new(),
            pages: Vec::new(),
            overflow: Vec::new(),
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            epoch: 0,
        }
    }

    /// Counts `value` in its bucket, or keeps it in the overflow list when it needs a page and
    /// all [`STAGE_PAGES`] are in use; `false` (and nothing counted) when that is full too.
    #[inline]
    fn add(&mut self, value: f64) -> bool {
        debug_assert!(value.is_sign_positive(), "staged values are never negative");
        let bits = value.to_bits();
        // The mask keeps the index in the table even for a negative value.
        let key = (bits >> 52) as usize & (STAGE_KEYS - 1);
        let sub = (bits >> SUB_SHIFT) as usize & (STAGE_SUB_BUCKETS - 1);
        let page = match &self.table {
            Some(table) if table[key] != 0 => usize::from(table[key]) - 1,
            _ => match self.new_page(key) {
                Some(page) => page,
                None => return self.add_overflow(value),
            },
        };
        let page = &mut self.pages[page];
        page.counts[sub] += 1;
        page.sums[sub] += value;
        self.extend_range(value);
        true
    }

    /// At most how many buckets (and overflow values) [`Stage::for_each_bucket`] calls back for.
    fn buckets(&self) -> usize {
        self.keys.len() * STAGE_SUB_BUCKETS + self.overflow.len()
    }

    /// No value staged.
    fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.overflow.is_empty()
    }

    /// Widens the staged range to `value`. Plain comparisons, not `f64::min`/`max`: values are
    /// never NaN here, the branches are almost never taken, and the NaN-aware forms cost a
    /// quarter of the staging loop.
    #[inline(always)]
    fn extend_range(&mut self, value: f64) {
        if value < self.min {
            self.min = value;
        }
        if value > self.max {
            self.max = value;
        }
    }

    /// Keeps `value` as it is; `false` when the overflow list is full.
    #[cold]
    #[inline(never)]
    fn add_overflow(&mut self, value: f64) -> bool {
        if self.overflow.len() == STAGE_OVERFLOW {
            return false;
        }
        if self.overflow.capacity() == 0 {
            self.overflow.reserve_exact(STAGE_OVERFLOW);
        }
        self.overflow.push(value);
        self.extend_range(value);
        true
    }

    /// Maps `key` to a free page, allocating the table or the page on first use.
    #[cold]
    #[inline(never)]
    fn new_page(&mut self, key: usize) -> Option<usize> {
        if self.keys.len() == STAGE_PAGES {
            return None;
        }
        let table = self.table.get_or_insert_with(|| Box::new([0; STAGE_KEYS]));
        if self.keys.capacity() == 0 {
            self.keys.reserve_exact(STAGE_PAGES);
            self.pages.reserve_exact(STAGE_PAGES);
        }
        let page = self.keys.len();
        if self.pages.len() == page {
            self.pages.push(Box::new(Page { counts: [0; STAGE_SUB_BUCKETS], sums: [0.0; STAGE_SUB_BUCKETS] }));
        }
        self.keys.push(key as u16);
        // `page < STAGE_PAGES <= 255`: the `u8` holds `page + 1`.
        table[key] = (page + 1) as u8;
        Some(page)
    }

    /// Calls `f(mean, weight)` for every non-empty bucket and every overflow value (weight 1),
    /// in increasing value order.
    fn for_each_bucket(&mut self, mut f: impl FnMut(f64, u32)) {
        self.overflow.sort_unstable_by(f64::total_cmp);
        let mut overflow = &self.overflow[..];
        // Pages in value order: by increasing exponent.
        let mut order: [(u16, usize); STAGE_PAGES] = [(0, 0); STAGE_PAGES];
        for (page, &key) in self.keys.iter().enumerate() {
            order[page] = (key, page);
        }
        let order = &mut order[..self.keys.len()];
        order.sort_unstable();
        for &(_, page) in order.iter() {
            let page = &self.pages[page];
            for sub in 0..STAGE_SUB_BUCKETS {
                let weight = page.counts[sub];
                if weight != 0 {
                    // Rounding cannot take the mean out of the staged range.
                    let mean = (page.sums[sub] / f64::from(weight)).clamp(self.min, self.max);
                    // Overflow values lie outside every page's range: comparing with the mean
                    // orders them against the whole bucket.
                    while let Some((&v, rest)) = overflow.split_first().filter(|(&v, _)| v < mean) {
                        f(v, 1);
                        overflow = rest;
                    }
                    f(mean, u32::from(weight));
                }
            }
        }
        for &v in overflow {
            f(v, 1);
        }
    }

    /// Empties the stage, keeping its allocations for the next values.
    fn clear(&mut self) {
        if let Some(table) = &mut self.table {
            for (page, &key) in self.keys.iter().enumerate() {
                table[usize::from(key)] = 0;
                self.pages[page].counts.fill(0);
                self.pages[page].sums.fill(0.0);
            }
        }
        self.keys.clear();
        self.overflow.clear();
        self.count = 0;
        self.min = f64::INFINITY;
        self.max = f64::NEG_INFINITY;
    }

    fn heap_bytes(&self) -> usize {
        self.table.as_ref().map_or(0, |_| STAGE_KEYS)
            + self.keys.capacity() * size_of::<u16>()
            + self.pages.capacity() * size_of::<Box<Page>>()
            + self.pages.len() * size_of::<Page>()
            + self.overflow.capacity() * size_of::<f64>()
    }
}

struct State {
    stage: Stage,
    count: u64,
    sum: f64,
    start: Option<Instant>,
    windows: Vec<SubWindow>,
}

impl State {
    const fn new() -> Self {
        Self { stage: Stage::new(), count: 0, sum: 0.0, start: None, windows: Vec::new() }
    }

    /// The current sub-window number since the first drain.
    fn epoch(&mut self, config: &SummaryConfig) -> u64 {
        let start = *self.start.get_or_insert_with(Instant::now);
        let sub_ms = (config.window_secs.max(1) * 1000 / SUB_WINDOWS as u64).max(1);
        (start.elapsed().as_millis() / u128::from(sub_ms)) as u64
    }

    /// Dates the values about to be drained: a stage of an earlier sub-window is merged first.
    fn begin_drain(&mut self, config: &SummaryConfig) {
        let epoch = self.epoch(config);
        if self.stage.epoch != epoch {
            self.merge_stage(config);
            self.stage.epoch = epoch;
        }
    }

    /// Stages one drained value. The caller adds it to `count` and `sum` (a drain sums its
    /// values in registers: through memory, the running sum was a third of the drain's time).
    #[inline]
    fn push(&mut self, value: f64, config: &SummaryConfig) {
        if !self.stage.add(value) {
            // Every page and the overflow list are full: merge them, then the value has room.
            self.merge_stage(config);
            let added = self.stage.add(value);
            debug_assert!(added, "an empty stage has room");
        }
    }

    /// Merges the staged buckets into the digest of their sub-window and empties the stage.
    fn merge_stage(&mut self, config: &SummaryConfig) {
        if self.stage.is_empty() {
            return;
        }
        if self.windows.is_empty() {
            self.windows.reserve_exact(SUB_WINDOWS);
            self.windows.extend((0..SUB_WINDOWS).map(|_| SubWindow::empty()));
        }
        let epoch = self.stage.epoch;
        let slot = &mut self.windows[(epoch % SUB_WINDOWS as u64) as usize];
        // Slots only ever receive the stage's epoch, which never decreases: a slot holding
        // another epoch holds an older one (or none), and starts over.
        if slot.epoch != epoch {
            slot.reset(epoch);
        }
        slot.min = slot.min.min(self.stage.min);
        slot.max = slot.max.max(self.stage.max);
        // The digest's centroids and the stage's buckets, each in increasing order: one merge.
        let mut all: Vec<(f64, f64)> = Vec::with_capacity(slot.centroids.len() + self.stage.buckets());
        all.extend(slot.centroids.iter().map(|c| (c.mean(), c.weight())));
        self.stage.for_each_bucket(|mean, weight| all.push((mean, f64::from(weight))));
        sort_by_mean(&mut all);
        if slot.centroids.capacity() == 0 {
            slot.centroids.reserve_exact(config.compression);
        }
        compress(&all, config.compression, &mut slot.centroids);
        self.stage.clear();
    }

    fn heap_bytes(&self) -> usize {
        self.stage.heap_bytes()
            + self.windows.capacity() * size_of::<SubWindow>()
            + self.windows.iter().map(|w| w.centroids.capacity() * size_of::<Packed>()).sum::<usize>()
    }

    /// The centroids of the window's live sub-windows, the stage merged first: copied under the
    /// series lock, made a digest by [`Live::digest`] after it is released.
    fn live(&mut self, config: &SummaryConfig) -> Live {
        self.merge_stage(config);
        let epoch = self.stage.epoch;
        let live = || self.windows.iter().filter(|w| w.epoch != u64::MAX && w.epoch + SUB_WINDOWS as u64 > epoch);
        let mut out = Live {
            centroids: Vec::with_capacity(live().map(|w| w.centroids.len()).sum()),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        };
        for w in live() {
            // Rounding a mean cannot take it out of its sub-window's range (so that values all
            // equal come out exactly).
            out.centroids.extend(w.centroids.iter().map(|c| (c.mean().clamp(w.min, w.max), c.weight())));
            out.min = out.min.min(w.min);
            out.max = out.max.max(w.max);
        }
        out
    }

    /// The digest of the window (see [`State::live`]).
    #[cfg(test)]
    fn window_digest(&mut self, config: &SummaryConfig) -> Option<Digest> {
        self.live(config).digest()
    }
}

/// Sorts centroids `(mean, weight)` by mean. They come as a few runs already in order (a
/// digest's and a stage's, or each sub-window's): the standard sort finds the runs and merges
/// them in linear time.
fn sort_by_mean(centroids: &mut [(f64, f64)]) {
    centroids.sort_by(|a, b| a.0.total_cmp(&b.0));
}

/// The centroids of a window's live sub-windows, and their range.
struct Live {
    centroids: Vec<(f64, f64)>,
    min: f64,
    max: f64,
}

impl Live {
    /// The window's digest: every live centroid, uncompressed (at most [`SUB_WINDOWS`] times
    /// the compression); `None` when empty.
    fn digest(mut self) -> Option<Digest> {
        if self.centroids.is_empty() {
            return None;
        }
        sort_by_mean(&mut self.centroids);
        let count = self.centroids.iter().map(|c| c.1).sum();
        Some(Digest { centroids: self.centroids, count, min: self.min, max: self.max })
    }
}

/// A window's t-digest, read for quantiles.
struct Digest {
    /// `(mean, weight)`, in increasing order of mean.
    centroids: Vec<(f64, f64)>,
    count: f64,
    min: f64,
    max: f64,
}

impl Digest {
    /// The estimated `q` quantile, `0 <= q <= 1`: the merging t-digest's interpolation. Each
    /// centroid's weight is taken as spread half on either side of its mean, so the value at a
    /// rank between two centroids' centres is interpolated linearly between their means; the
    /// minimum and the maximum are known exactly and bound the outer half-centroids.
    fn quantile(&self, q: f64) -> f64 {
        let c = &self.centroids;
        let n = self.count;
        let index = q * n;
        let (first, last) = (c[0], c[c.len() - 1]);
        if index < 1.0 {
            return self.min;
        }
        if first.1 > 1.0 && index < first.1 / 2.0 {
            // One value is the minimum; the others of the first half-centroid lie up to its mean.
            return self.min + (index - 1.0) / (first.1 / 2.0 - 1.0) * (first.0 - self.min);
        }
        if index > n - 1.0 {
            return self.max;
        }
        if last.1 > 1.0 && n - index <= last.1 / 2.0 {
            return self.max - (n - index - 1.0) / (last.1 / 2.0 - 1.0) * (self.max - last.0);
        }
        let mut so_far = first.1 / 2.0;
        for pair in c.windows(2) {
            let ((m1, w1), (m2, w2)) = (pair[0], pair[1]);
            let step = (w1 + w2) / 2.0;
            if so_far + step > index {
                // Between the centres of these two centroids. (No special case for a centroid
                // of weight 1: merging a stage into a digest leaves single values between heavy
                // centroids whose ranges overlap them, so one is not a value known alone.)
                let z1 = index - so_far;
                let z2 = so_far + step - index;
                return weighted_average(m1, z2, m2, z1);
            }
            so_far += step;
        }
        // Past the last centroid's centre (reached only through rounding: the cases above
        // cover it): towards the maximum.
        weighted_average(last.0, n - index, self.max, index - so_far)
    }
}

/// `x1` and `x2` weighted by `w1` and `w2`, kept between them despite rounding.
fn weighted_average(x1: f64, w1: f64, x2: f64, w2: f64) -> f64 {
    let (lo, hi) = if x1 <= x2 { (x1, x2) } else { (x2, x1) };
    let total = w1 + w2;
    if total <= 0.0 {
        return lo;
    }
    ((x1 * w1 + x2 * w2) / total).clamp(lo, hi)
}

/// One series of a [`Summary`].
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Summary, SummarySeries, Tag, BUFFER_SLOTS};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(rename_all = "lowercase")]
/// enum Region { Eu, Us }
///
/// // Each series' slots are inline: size a tagged summary by its series.
/// assert!(std::mem::size_of::<SummarySeries>() >= BUFFER_SLOTS * 8);
/// assert!(std::mem::size_of::<Summary<Region>>() >= 2 * std::mem::size_of::<SummarySeries>());
/// ```
pub struct SummarySeries {
    head: AtomicUsize,
    slots: [AtomicU64; BUFFER_SLOTS],
    state: Mutex<State>,
}

impl ConstInit for SummarySeries {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self {
        head: AtomicUsize::new(0),
        slots: [const { AtomicU64::new(EMPTY) }; BUFFER_SLOTS],
        state: Mutex::new(State::new()),
    };
}

impl SummarySeries {
    #[inline(always)]
    fn record(&self, value: f64, config: &SummaryConfig) {
        let bits = value.to_bits();
        loop {
            // Acquire pairs with the Release reset of `head` in `drain`, so that the slot we
            // claim has been emptied before we write it.
            let i = self.head.fetch_add(1, Ordering::Acquire);
            if i < BUFFER_SLOTS {
                // Release pairs with the Acquire swap in `drain`.
                self.slots[i].store(bits, Ordering::Release);
                return;
            }
            self.full(config);
        }
    }

    /// Records `value` as `weight` observations: a weight mark (the sign bit, which no
    /// recorded value has, with the weight) in one slot and the value in the next, claimed
    /// together, so that a drain counts both or neither.
    #[inline]
    fn record_weighted(&self, value: f64, weight: u64, config: &SummaryConfig) {
        let bits = value.to_bits();
        let mark = WEIGHT_MARK | weight.min(MAX_WEIGHT);
        loop {
            // As in `record`.
            let i = self.head.fetch_add(2, Ordering::Acquire);
            if i + 1 < BUFFER_SLOTS {
                self.slots[i].store(mark, Ordering::Release);
                self.slots[i + 1].store(bits, Ordering::Release);
                return;
            }
            if i < BUFFER_SLOTS {
                // Only the last slot was free: fill it with a mark of weight 0 (nothing).
                self.slots[i].store(WEIGHT_MARK, Ordering::Release);
            }
            self.full(config);
        }
    }

    #[cold]
    #[inline(never)]
    fn full(&self, config: &SummaryConfig) {
        let mut state = self.lock();
        if self.head.load(Ordering::Relaxed) >= BUFFER_SLOTS {
            self.drain(&mut state, config);
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code under this lock leaves the state inconsistent on panic.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves every buffered value into the stage. Caller holds the lock.
    fn drain(&self, state: &mut State, config: &SummaryConfig) {
        // Claim every free slot, so that writers go to the slow path (and wait for the lock)
        // until the buffer is empty again.
        let claimed = self.head.swap(BUFFER_SLOTS, Ordering::Acquire).min(BUFFER_SLOTS);
        state.begin_drain(config);
        let (mut sum, mut count, mut staged) = (0.0, 0u64, 0u32);
        // The weight of the next value, from the mark before it (1 without one).
        let mut weight = None::<u64>;
        for slot in &self.slots[..claimed] {
            loop {
                // Only the lock holder empties slots, and no writer can claim this one until
                // `head` is reset below: a load and a plain store suffice (no locked swap).
                let bits = slot.load(Ordering::Acquire);
                if bits == EMPTY {
                    // A writer claimed this slot and has not stored yet.
                    std::thread::yield_now();
                    continue;
                }
                slot.store(EMPTY, Ordering::Relaxed);
                if bits & WEIGHT_MARK != 0 {
                    weight = Some(bits & !WEIGHT_MARK);
                    break;
                }
                let value = f64::from_bits(bits);
                match weight.take() {
                    None => {
                        sum += value;
                        count += 1;
                    }
                    Some(w) => {
                        sum += value * w as f64;
                        count = count.saturating_add(w);
                    }
                }
                staged += 1;
                state.push(value, config);
                break;
            }
        }
        state.count = state.count.saturating_add(count);
        state.sum += sum;
        // `staged <= BUFFER_SLOTS`.
        state.stage.count += staged;
        if state.stage.count as usize >= STAGED_VALUES {
            state.merge_stage(config);
        }
        self.head.store(0, Ordering::Release);
    }

    fn with_state<R>(&self, config: &SummaryConfig, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.lock();
        self.drain(&mut state, config);
        f(&mut state)
    }
}

impl fmt::Debug for SummarySeries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SummarySeries").field("buffered", &self.head.load(Ordering::Relaxed).min(BUFFER_SLOTS)).finish()
    }
}

/// A summary: quantiles from a t-digest over a sliding window, plus the all-time count and sum.
///
/// # Recording
///
/// [`SummaryHandle::record`] claims a slot in a fixed per-series buffer with one atomic add and
/// stores the value: no lock, no allocation. Every 128 records, the thread that finds the buffer
/// full moves it, under the series lock, into a staging area of log-linear buckets (an index
/// computation and an add per value, see [`STAGE_SUB_BUCKETS`]), and every [`STAGED_VALUES`]
/// staged values (or at a sub-window change, or a read) the non-empty buckets are merged into
/// the t-digest of the current sub-window as centroids with their exact means. A record costs
/// about 8 ns, amortised (more for values spread over more than [`STAGE_PAGES`] powers of two,
/// which bring merges forward). Values outside `0..=`[`SUMMARY_MAX_VALUE`] (negative, NaN, infinite)
/// are not recorded and are counted in [`Summary::invalid`].
///
/// Recording is therefore not lock-free. While the buffer of a series is being moved, the other
/// writers of that series wait for the series lock: for the move of 128 values (about a
/// microsecond), once every [`STAGED_VALUES`] values also for the merge of the stage into the
/// digest (some microseconds), or for a reader, which holds the lock only to move the
/// buffer and copy the sub-window digests (it sorts them after releasing it). A lock holder
/// that the operating system deschedules makes them wait until it runs again (milliseconds
/// on a loaded machine). Writers of other series never wait. Where that matters (a hot series
/// written by many threads on a real-time path), record into a [`Histogram`](crate::Histogram),
/// whose record is two atomic operations and never waits.
///
/// # Window
///
/// The window of `window_secs` is split into 5 sub-windows, each with its own t-digest;
/// quantiles merge those still inside the window, so they cover between 4/5 of the window and
/// the whole of it. Values are dated when they leave the buffer (at least every 128
/// records, and at every read or scrape), not when recorded. `_count` and `_sum` are totals
/// since start, as Prometheus expects.
///
/// # Memory
///
/// Bounded whatever the record rate: per series, 1 KiB of slots inline plus at most
/// [`series_heap_bound`] bytes of heap: under 32 KiB together at the default compression of
/// 440, which kept p50 to p999 within 0.6% of the exact quantiles of a million values in our
/// tests (lognormal, bimodal and uniform data; `benches/accuracy.rs` has the table).
///
/// # Quantiles
///
/// Each sub-window keeps a merging t-digest of at most `compression` centroids on the
/// quadratic scale (finest at both tails) in 8 bytes a centroid (a single value exactly); a
/// quantile is interpolated between the centres of the two centroids around its rank, over the
/// centroids of every live sub-window together, with the exact minimum and maximum at the ends.
///
/// # Examples
///
/// ```
/// use metrics_runtime::Summary;
///
/// static CHECKOUT: Summary = Summary::new();
/// for i in 1..=1000 {
///     CHECKOUT.record(i as f64);
/// }
/// let p99 = CHECKOUT.percentile(0.99).unwrap();
/// assert!((p99 - 990.0).abs() < 10.0);
/// assert_eq!(CHECKOUT.count(), 1000);
/// ```
pub struct Summary<T: TagSet = ()> {
    config: &'static SummaryConfig,
    invalid: AtomicU64,
    series: Family<SummarySeries, T>,
}

impl<T: TagSet> Summary<T> {
    /// Hands every series to `visitor` as summaries of the metric `desc` (what the derived
    /// [`Metrics::visit`](crate::Metrics::visit) does for this field): the configured
    /// quantiles over the window, the count and the sum, read together per series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Metrics, Summary};
    /// use metrics_runtime::expose::PrometheusWriter;
    ///
    /// #[derive(Metrics)]
    /// struct Checkout {
    ///     /// Checkout time quantiles.
    ///     #[metric(unit = "seconds", quantiles = [0.5, 0.99])]
    ///     checkout_seconds: Summary,
    /// }
    ///
    /// let checkout = Checkout::new();
    /// checkout.checkout_seconds.record(2.0);
    /// let mut out = String::new();
    /// checkout.checkout_seconds.visit(&checkout.descriptors()[0], &mut PrometheusWriter::new(&mut out));
    /// assert!(out.contains("checkout_seconds{quantile=\"0.5\"} 2.0\ncheckout_seconds{quantile=\"0.99\"} 2.0\n"));
    /// assert!(out.ends_with("checkout_seconds_sum 2.0\ncheckout_seconds_count 1\n"));
    /// ```
    ///
    /// # Performance
    ///
    /// Takes each series' lock to read its quantiles (see [`SummaryHandle::snapshot`]).
    pub fn visit(&self, desc: &MetricDesc<'_>, visitor: &mut dyn Visitor) {
        let created = process_start_time();
        let config = self.config();
        visitor.begin_metric(desc);
        for index in 0..self.series_count() {
            let Some(series) = self.series_at(index) else { break };
            let snapshot = series.snapshot();
            let labels = StaticLabels::<T>::new(index);
            let read = SummaryRead {
                quantiles: config.quantiles,
                labels: config.quantile_labels,
                values: &snapshot.quantiles,
                count: snapshot.count,
                sum: snapshot.sum,
            };
            visitor.summary(desc, Series { index, labels: &labels, created }, &read);
        }
        visitor.end_metric(desc);
    }
    /// A summary of p50, p90, p99 and p999 over 60 seconds ([`SummaryConfig::DEFAULT`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Summary, SummaryConfig, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Region { Eu, Us }
    ///
    /// static CHECKOUT: Summary<Region> = Summary::new();
    /// assert_eq!(CHECKOUT.config().quantiles, SummaryConfig::DEFAULT.quantiles);
    /// assert_eq!(CHECKOUT.series_count(), 2);
    /// assert_eq!(CHECKOUT.with(Region::Us).percentile(0.5), None); // nothing recorded yet
    /// ```
    pub const fn new() -> Self {
        Self::with_config(&SummaryConfig::DEFAULT)
    }

    /// A summary with the given settings.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Summary, SummaryConfig};
    ///
    /// static TAIL: SummaryConfig = SummaryConfig {
    ///     quantiles: &[0.99, 0.999],
    ///     quantile_labels: &["0.99", "0.999"],
    ///     window_secs: 120,
    ///     compression: 500,
    /// };
    /// static LATENCY: Summary = Summary::with_config(&TAIL);
    /// assert_eq!(LATENCY.config().quantiles, [0.99, 0.999]);
    /// ```
    ///
    /// A quantile outside (0, 1) does not compile in a `static`:
    ///
    /// ```compile_fail
    /// use metrics_runtime::{Summary, SummaryConfig};
    ///
    /// static BAD_CONFIG: SummaryConfig = SummaryConfig { quantiles: &[1.5], quantile_labels: &["1.5"], ..SummaryConfig::DEFAULT };
    /// static BAD: Summary = Summary::with_config(&BAD_CONFIG);
    /// ```
    ///
    /// # Panics
    ///
    /// If the quantiles are not in (0, 1) and increasing, or their labels do not match
    /// (at compile time when used in a `static`).
    pub const fn with_config(config: &'static SummaryConfig) -> Self {
        assert!(config.quantiles.len() == config.quantile_labels.len(), "one label is needed per quantile");
        let mut i = 0;
        while i < config.quantiles.len() {
            let q = config.quantiles[i];
            assert!(q > 0.0 && q < 1.0, "quantiles must be in (0, 1)");
            assert!(i == 0 || config.quantiles[i - 1] < q, "quantiles must be increasing");
            i += 1;
        }
        assert!(config.compression >= 10, "the t-digest compression must be at least 10");
        Self { config, invalid: AtomicU64::new(0), series: Family::new() }
    }

    /// The series for `tags`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Summary, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Region { Eu, Us }
    ///
    /// static CHECKOUT: Summary<Region> = Summary::new();
    /// CHECKOUT.with(Region::Eu).record(0.3);
    /// assert_eq!(CHECKOUT.with(Region::Eu).count(), 1);
    /// assert_eq!(CHECKOUT.with(Region::Us).count(), 0);
    /// ```
    ///
    /// # Performance
    ///
    /// Index arithmetic on the tags' variants; no hashing, lock or allocation.
    #[inline(always)]
    pub fn with(&self, tags: T) -> SummaryHandle<'_> {
        SummaryHandle { config: self.config, invalid: &self.invalid, series: self.series.with(tags) }
    }

    /// The settings.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Metrics, Summary};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Job time quantiles.
    ///     #[metric(unit = "seconds", quantiles = [0.5, 0.95], window_secs = 30)]
    ///     job_seconds: Summary,
    /// }
    ///
    /// let jobs = Jobs::new();
    /// assert_eq!(jobs.job_seconds.config().quantiles, [0.5, 0.95]);
    /// assert_eq!(jobs.job_seconds.config().window_secs, 30);
    /// ```
    pub fn config(&self) -> &'static SummaryConfig {
        self.config
    }

    /// How many NaN or infinite values were rejected, over all series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Summary;
    ///
    /// static LATENCY: Summary = Summary::new();
    /// LATENCY.record(f64::NAN);
    /// LATENCY.record(f64::NEG_INFINITY);
    /// LATENCY.record(0.1);
    /// assert_eq!(LATENCY.invalid(), 2);
    /// assert_eq!(LATENCY.count(), 1);
    /// ```
    pub fn invalid(&self) -> u64 {
        self.invalid.load(Ordering::Relaxed)
    }

    /// Heap held by all series (staging buffers and t-digests), in bytes; the inline storage
    /// is `size_of_val(self)`. At most [`series_heap_bound`] per series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{series_heap_bound, Summary};
    ///
    /// static LATENCY: Summary = Summary::new();
    /// assert_eq!(LATENCY.heap_bytes(), 0); // nothing allocated before the first batch
    /// for i in 0..5_000 {
    ///     LATENCY.record(f64::from(i) / 1000.0);
    /// }
    /// let heap = LATENCY.heap_bytes();
    /// assert!(heap > 0 && heap <= series_heap_bound(LATENCY.config().compression));
    /// ```
    ///
    /// # Performance
    ///
    /// Takes each series' lock and moves its buffered values: for reads and scrapes.
    pub fn heap_bytes(&self) -> usize {
        self.series.series().iter().map(|s| s.lock().heap_bytes()).sum()
    }

    /// The number of series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Summary, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// enum Tier { Free, Pro, Team }
    ///
    /// static LATENCY: Summary<Tier> = Summary::new();
    /// assert_eq!(LATENCY.series_count(), 3);
    /// ```
    pub fn series_count(&self) -> usize {
        self.series.series().len()
    }

    /// The series at `index`, in index order (see [`TagSet::from_index`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Summary, Tag, TagSet};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Region { Eu, Us }
    ///
    /// static CHECKOUT: Summary<Region> = Summary::new();
    /// CHECKOUT.with(Region::Us).record(1.0);
    /// let index = TagSet::index(Region::Us);
    /// assert_eq!(CHECKOUT.series_at(index).map(|s| s.count()), Some(1));
    /// assert!(CHECKOUT.series_at(2).is_none());
    /// ```
    pub fn series_at(&self, index: usize) -> Option<SummaryHandle<'_>> {
        let series = self.series.series().get(index)?;
        Some(SummaryHandle { config: self.config, invalid: &self.invalid, series })
    }
}

impl Summary<()> {
    /// Records `value`. See [`SummaryHandle::record`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Summary;
    ///
    /// static CHECKOUT: Summary = Summary::new();
    /// CHECKOUT.record(0.25);
    /// CHECKOUT.record(0.75);
    /// assert_eq!(CHECKOUT.count(), 2);
    /// ```
    ///
    /// # Performance
    ///
    /// As [`SummaryHandle::record`].
    #[inline(always)]
    pub fn record(&self, value: f64) {
        self.with(()).record(value);
    }

    /// The estimated `q` quantile over the window. See [`SummaryHandle::percentile`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Summary;
    ///
    /// static LATENCY: Summary = Summary::new();
    /// assert_eq!(LATENCY.percentile(0.5), None);
    /// for i in 1..=100 {
    ///     LATENCY.record(f64::from(i));
    /// }
    /// let p90 = LATENCY.percentile(0.9).unwrap();
    /// assert!((p90 - 90.0).abs() <= 1.0);
    /// ```
    ///
    /// # Performance
    ///
    /// As [`SummaryHandle::percentile`]: takes the series lock.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        self.with(()).percentile(q)
    }

    /// The number of values recorded since start.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Summary;
    ///
    /// static LATENCY: Summary = Summary::new();
    /// for _ in 0..300 {
    ///     LATENCY.record(0.01);
    /// }
    /// assert_eq!(LATENCY.count(), 300);
    /// ```
    pub fn count(&self) -> u64 {
        self.with(()).count()
    }

    /// The sum of the values recorded since start.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Summary;
    ///
    /// static LATENCY: Summary = Summary::new();
    /// LATENCY.record(0.5);
    /// LATENCY.record(1.5);
    /// assert_eq!(LATENCY.sum(), 2.0);
    /// ```
    pub fn sum(&self) -> f64 {
        self.with(()).sum()
    }
}

impl<T: TagSet> Default for Summary<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: TagSet> fmt::Debug for Summary<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Summary")
            .field("config", self.config)
            .field("series", &self.series_count())
            .field("invalid", &self.invalid())
            .finish()
    }
}

/// One series of a [`Summary`], ready to record.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Summary, SummaryHandle, Tag};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(rename_all = "lowercase")]
/// enum Region { Eu, Us }
///
/// static CHECKOUT: Summary<Region> = Summary::new();
/// let eu: SummaryHandle<'_> = CHECKOUT.with(Region::Eu); // `Copy`: keep it, pass it around
/// for value in [1.0, 2.0, 3.0] {
///     eu.record(value);
/// }
/// assert_eq!(eu.percentile(0.5), Some(2.0));
/// assert_eq!(eu.count(), 3);
/// ```
#[derive(Clone, Copy)]
pub struct SummaryHandle<'a> {
    config: &'static SummaryConfig,
    invalid: &'a AtomicU64,
    series: &'a SummarySeries,
}

/// What a scrape reads from a summary series.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Summary, SummarySnapshot};
///
/// static LATENCY: Summary = Summary::new(); // p50, p90, p99, p999
/// let empty: SummarySnapshot = LATENCY.with(()).snapshot();
/// assert!(empty.quantiles.iter().all(|q| q.is_nan()));
/// LATENCY.record(4.0);
/// let snapshot = LATENCY.with(()).snapshot();
/// assert_eq!(snapshot, SummarySnapshot { quantiles: vec![4.0; 4], count: 1, sum: 4.0 });
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SummarySnapshot {
    /// The configured quantiles' values over the window, NaN when the window is empty.
    pub quantiles: Vec<f64>,
    /// Values recorded since start.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
}

impl SummaryHandle<'_> {
    /// Records `value`.
    ///
    /// Values outside `0..=`[`SUMMARY_MAX_VALUE`] (negative, NaN, infinite, or too large for
    /// the digest) are counted in [`Summary::invalid`] and not recorded. A quantity that can be
    /// negative belongs in a [`Histogram`](crate::Histogram) or a [`Gauge`](crate::Gauge).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Summary, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Region { Eu, Us }
    ///
    /// static CHECKOUT: Summary<Region> = Summary::new();
    /// let us = CHECKOUT.with(Region::Us);
    /// std::thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(move || for _ in 0..500 { us.record(0.2) });
    ///     }
    /// });
    /// us.record(f64::NAN);
    /// assert_eq!(us.count(), 2_000);
    /// assert_eq!(CHECKOUT.invalid(), 1);
    /// ```
    ///
    /// # Performance
    ///
    /// One atomic add and one atomic store; every 128 records, one call also takes the series
    /// lock and moves the batch (amortised, see [`Summary`]).
    #[inline(always)]
    pub fn record(&self, value: f64) {
        // One comparison pair for NaN (both false), infinities, negatives and huge values.
        if !(0.0..=SUMMARY_MAX_VALUE).contains(&value) {
            self.invalid.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // `abs`: stores `-0.0` as `0.0`, keeping the sign bit for weight marks.
        self.series.record(value.abs(), self.config);
    }

    /// Records `value` as `weight` observations: what a sampler that keeps one record in
    /// `weight` does. The value enters the quantile digest once (sampling keeps the
    /// distribution), and `_count` and `_sum` grow by `weight` and `value * weight`, so they stay
    /// unbiased estimates of the full stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Summary;
    ///
    /// static LATENCY: Summary = Summary::new();
    /// let series = LATENCY.with(());
    /// series.record_weighted(0.5, 10); // one kept record standing for ten
    /// assert_eq!(series.count(), 10);
    /// assert_eq!(series.sum(), 5.0);
    /// assert_eq!(series.percentile(0.5), Some(0.5));
    /// ```
    ///
    /// The count saturates at `u64::MAX` (a weight is capped at 2^63 - 2).
    ///
    /// # Performance
    ///
    /// As [`SummaryHandle::record`]; a weight above 1 takes two slots of the buffer (the weight,
    /// then the value), so that a read counts the record's count and sum together.
    #[inline]
    pub fn record_weighted(&self, value: f64, weight: u64) {
        if !(0.0..=SUMMARY_MAX_VALUE).contains(&value) {
            self.invalid.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // `abs`: stores `-0.0` as `0.0`, keeping the sign bit for weight marks.
        match weight {
            0 => {}
            1 => self.series.record(value.abs(), self.config),
            _ => self.series.record_weighted(value.abs(), weight, self.config),
        }
    }

    /// The estimated `q` quantile (`0 <= q <= 1`) over the window, or `None` when the window is
    /// empty or `q` is out of range.
    ///
    /// Takes the series lock and merges the sub-window digests: meant for reads and scrapes, not
    /// for hot paths.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Summary;
    ///
    /// static LATENCY: Summary = Summary::new();
    /// let series = LATENCY.with(());
    /// for i in 1..=1000 {
    ///     series.record(f64::from(i));
    /// }
    /// let p99 = series.percentile(0.99).unwrap();
    /// assert!((p99 - 990.0).abs() < 10.0);
    /// assert_eq!(series.percentile(-0.1), None); // out of range
    /// ```
    pub fn percentile(&self, q: f64) -> Option<f64> {
        if !(0.0..=1.0).contains(&q) {
            return None;
        }
        let live = self.series.with_state(self.config, |s| s.live(self.config));
        Some(live.digest()?.quantile(q))
    }

    /// The configured quantiles, the count and the sum, read together.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Summary;
    ///
    /// static LATENCY: Summary = Summary::new();
    /// let series = LATENCY.with(());
    /// for i in 1..=100 {
    ///     series.record(f64::from(i));
    /// }
    /// let snapshot = series.snapshot();
    /// assert_eq!(snapshot.quantiles.len(), LATENCY.config().quantiles.len());
    /// assert_eq!((snapshot.count, snapshot.sum), (100, 5050.0));
    /// assert!(snapshot.quantiles.windows(2).all(|w| w[0] <= w[1]));
    /// ```
    ///
    /// # Performance
    ///
    /// Takes the series lock and merges the sub-window digests, once for all quantiles.
    pub fn snapshot(&self) -> SummarySnapshot {
        let (live, count, sum) = self.series.with_state(self.config, |s| (s.live(self.config), s.count, s.sum));
        // Sorted outside the lock: writers never wait for a reader's merge.
        let digest = live.digest();
        let quantiles =
            self.config.quantiles.iter().map(|&q| digest.as_ref().map_or(f64::NAN, |d| d.quantile(q))).collect();
        SummarySnapshot { quantiles, count, sum }
    }

    /// The number of values recorded since start.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Summary;
    ///
    /// static LATENCY: Summary = Summary::new();
    /// let series = LATENCY.with(());
    /// series.record(0.1);
    /// series.record_weighted(0.2, 4);
    /// assert_eq!(series.count(), 5);
    /// ```
    ///
    /// # Performance
    ///
    /// Takes the series lock and moves its buffered values.
    pub fn count(&self) -> u64 {
        self.series.with_state(self.config, |s| s.count)
    }

    /// The sum of the values recorded since start.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Summary;
    ///
    /// static LATENCY: Summary = Summary::new();
    /// let series = LATENCY.with(());
    /// series.record(1.25);
    /// series.record(0.75);
    /// assert_eq!(series.sum(), 2.0);
    /// ```
    ///
    /// # Performance
    ///
    /// Takes the series lock and moves its buffered values.
    pub fn sum(&self) -> f64 {
        self.series.with_state(self.config, |s| s.sum)
    }
}

impl fmt::Debug for SummaryHandle<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SummaryHandle").field("config", self.config).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mixed magnitudes, zeros included (staged values are never negative).
    fn mixed_values(n: usize) -> Vec<f64> {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // In [1, 2): each kind of value below spans at most two powers of two.
                let v = 1.0 + (x >> 11) as f64 / (1u64 << 53) as f64;
                match i % 5 {
                    0 => v * 1e6,
                    1 => v * 1e-9,
                    2 => 0.0,
                    3 => v * 1e200,
                    _ => v,
                }
            })
            .collect()
    }

    #[test]
    fn stage_buckets_come_out_in_order_and_within_a_bucket_width() {
        let values = mixed_values(5000);
        let mut stage = Stage::new();
        for &v in &values {
            assert!(stage.add(v));
        }
        let mut out = Vec::new();
        stage.for_each_bucket(|mean, weight| out.extend((0..weight).map(|_| mean)));
        let mut sorted = values.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        assert_eq!(out.len(), sorted.len());
        for (got, want) in out.iter().zip(&sorted) {
            let tolerance = want.abs() / STAGE_SUB_BUCKETS as f64;
            assert!((got - want).abs() <= tolerance, "{got} for {want}");
        }
        assert!(out.windows(2).all(|w| w[0] <= w[1]), "increasing");
        assert_eq!((stage.min, stage.max), (sorted[0], sorted[sorted.len() - 1]));

        // Cleared, the stage keeps its pages and starts from nothing.
        let pages = stage.pages.len();
        stage.clear();
        assert!(stage.is_empty());
        let mut any = false;
        stage.for_each_bucket(|_, _| any = true);
        assert!(!any);
        assert!(stage.add(3.0));
        assert_eq!(stage.pages.len(), pages);
        stage.for_each_bucket(|mean, weight| assert_eq!((mean, weight), (3.0, 1)));
    }

    #[test]
    fn a_full_stage_overflows_in_order_then_refuses_and_the_summary_merges_first() {
        let mut stage = Stage::new();
        let mut added = Vec::new();
        let mut add = |stage: &mut Stage, v: f64| {
            added.push(v);
            stage.add(v)
        };
        for e in 0..STAGE_PAGES as i32 {
            assert!(add(&mut stage, 2f64.powi(e)));
        }
        assert!(add(&mut stage, 1.5), "a page in use");
        // No page left: values of other powers of two, below, between and above the pages'
        // ranges, are kept as they are.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..STAGE_OVERFLOW {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = match i % 3 {
                0 => 2f64.powi(40 + (x % 50) as i32) * 1.25,
                1 => 2f64.powi(-40 - (x % 60) as i32) * 1.75,
                _ => 2f64.powi(-1 - (x % 30) as i32),
            };
            assert!(add(&mut stage, v), "overflow value {i}");
        }
        assert!(!add(&mut stage, 2f64.powi(100)), "no page and the overflow list is full");
        added.pop();
        let mut out = Vec::new();
        stage.for_each_bucket(|mean, weight| out.extend((0..weight).map(|_| mean)));
        added.sort_unstable_by(f64::total_cmp);
        // Every value once, in order (each bucket holds one distinct value).
        assert_eq!(out, added);
        stage.clear();
        assert!(stage.overflow.is_empty());

        let config = SummaryConfig::DEFAULT;
        let mut state = State::new();
        state.begin_drain(&config);
        // 2000 powers of two, many times what the stage holds: merges on the way.
        let n = 2000;
        assert!(n > 10 * (STAGE_PAGES + STAGE_OVERFLOW) as i32);
        for e in 0..n {
            state.push(2f64.powi(e - 1000), &config);
        }
        let digest = state.window_digest(&config).expect("values in the window");
        assert_eq!(digest.count, f64::from(n));
        assert_eq!(digest.max, 2f64.powi(999));
        assert_eq!(digest.min, 2f64.powi(-1000));
    }

    #[test]
    fn packed_centroids_keep_the_mean_within_2_to_the_minus_21() {
        // Normal values (a subnormal mean is kept within 2^-1043 of it, not relatively).
        for mean in [0.0, 1.0, 0.1, 3.75e-9, 123_456.789, 1e280, f64::MIN_POSITIVE, 1.0 + 1e-9] {
            let packed = Packed::new(mean, 3.0);
            let err = (packed.mean() - mean).abs();
            assert!(err <= mean * 2f64.powi(-21), "{mean}: {}", packed.mean());
            assert_eq!(packed.weight(), 3.0);
            // A single value is kept exactly.
            let single = Packed::new(mean, 1.0);
            assert_eq!((single.mean(), single.weight()), (mean, 1.0));
        }
        assert_eq!(Packed::new(5e-324, 1.0).mean(), 5e-324);
        assert_eq!(Packed::new(0.3, 1.0).mean(), 0.3);
        // Rounding to nearest: just below 2 rounds up to exactly 2.
        assert_eq!(Packed::new(2.0 - 1e-12, 2.0).mean(), 2.0);
        assert_eq!(Packed::new(1.0, 3e9).weight(), 3e9);
    }

    #[test]
    fn compression_keeps_at_most_the_configured_centroids_and_every_weight() {
        for compression in [10, 100, 512] {
            for n in [1usize, 5, 1_000, 100_000] {
                let sorted: Vec<(f64, f64)> = (0..n).map(|i| (i as f64, 1.0 + (i % 3) as f64)).collect();
                let mut out = Vec::new();
                compress(&sorted, compression, &mut out);
                assert!(out.len() <= compression.min(n), "{compression}/{n}: {}", out.len());
                let weight: f64 = out.iter().map(|c| c.weight()).sum();
                assert_eq!(weight, sorted.iter().map(|c| c.1).sum::<f64>());
                assert!(out.windows(2).all(|w| w[0].mean() <= w[1].mean()), "increasing");
                // The tails stay finest: the first and last centroids hold the fewest values.
                if n == 100_000 {
                    let mid = out[out.len() / 2].weight();
                    assert!(out[0].weight() < mid && out[out.len() - 1].weight() < mid);
                }
            }
        }
        let mut out = vec![Packed::new(1.0, 1.0)];
        compress(&[], 10, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn every_sub_window_holds_at_most_the_compression() {
        let config = SummaryConfig { compression: 64, ..SummaryConfig::DEFAULT };
        let mut state = State::new();
        state.begin_drain(&config);
        for round in 0..20 {
            for i in 0..10_000 {
                state.push(f64::from(i) * 1.37 + f64::from(round), &config);
            }
            state.merge_stage(&config);
            assert!(state.windows.iter().all(|w| w.centroids.len() <= 64));
        }
        assert!(state.heap_bytes() <= series_heap_bound(64), "{}", state.heap_bytes());
        let digest = state.window_digest(&config).expect("values");
        assert_eq!(digest.count, 200_000.0);
        assert_eq!(digest.min, 0.0);
    }
}
