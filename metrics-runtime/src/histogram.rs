//! Fixed-bucket histograms, exposed as Prometheus histograms.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::cell::{ConstInit, SeriesArray};
use crate::tag::TagSet;

/// The Prometheus default bucket bounds, in seconds.
pub const DEFAULT_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const DEFAULT_LE: &[&str] = &["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0"];

/// Adds `delta` to an `f64` kept as bits in an `AtomicU64`.
#[inline(always)]
pub(crate) fn atomic_f64_add(cell: &AtomicU64, delta: f64) {
    // Relaxed: the sum is a standalone value; the CAS makes concurrent adds exact.
    let mut current = cell.load(Relaxed);
    loop {
        let next = (f64::from_bits(current) + delta).to_bits();
        match cell.compare_exchange_weak(current, next, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

/// One series of a [`Histogram`]: `B` bucket counts (the last one is `+Inf`) and the sum.
///
/// Counts are per bucket, not cumulative; the exposition accumulates them, and `_count` is the
/// sum of the buckets, so a scrape always sees `_count` equal to the `+Inf` bucket.
pub struct HistogramSeries<const B: usize> {
    counts: [AtomicU64; B],
    sum: AtomicU64,
}

impl<const B: usize> ConstInit for HistogramSeries<B> {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self { counts: [const { AtomicU64::new(0) }; B], sum: AtomicU64::new(0) };
}

impl<const B: usize> HistogramSeries<B> {
    /// Per-bucket counts (not cumulative); `bounds.len() + 1` of them are used, the last is `+Inf`.
    pub fn bucket_counts(&self, bounds: &[f64]) -> impl Iterator<Item = u64> + '_ {
        self.counts[..=bounds.len()].iter().map(|c| c.load(Relaxed))
    }

    /// The sum of the recorded values.
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Relaxed))
    }
}

impl<const B: usize> fmt::Debug for HistogramSeries<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<u64> = self.counts.iter().map(|c| c.load(Relaxed)).collect();
        f.debug_struct("HistogramSeries").field("counts", &counts).field("sum", &self.sum()).finish()
    }
}

/// A histogram with fixed bucket bounds and one series per combination of the tag set `T`.
///
/// `B` is the number of bucket slots per series: the bounds plus one for `+Inf`. The default, 16,
/// holds up to 15 bounds; `#[derive(Metrics)]` tells you what to write when you declare more.
///
/// # Recording
///
/// [`HistogramHandle::record`] finds the bucket by counting the bounds below the value (branch-free) and
/// does one relaxed atomic add on it plus a compare-and-swap add on the sum.
/// Values that are NaN or infinite are **not recorded**: they would poison `_sum` forever. They
/// are counted instead, in [`Histogram::invalid`]. Negative and zero values are recorded
/// normally (they fall in the first bucket whose bound is at least the value).
///
/// # Percentiles
///
/// [`HistogramHandle::percentile`] estimates a quantile from the buckets by linear interpolation
/// inside the bucket that holds it, as Prometheus' `histogram_quantile` does: the first bucket
/// is taken to start at 0 (or at its bound, if that is negative). The error is at most the
/// width of that bucket. When the quantile falls in the `+Inf` bucket, the largest finite bound
/// is returned, which may be far below the truth: choose bounds that cover your values.
///
/// # Examples
///
/// ```
/// use metrics_runtime::Histogram;
///
/// static LATENCY: Histogram = Histogram::new(); // the Prometheus default buckets
/// LATENCY.record(0.003);
/// LATENCY.record(0.2);
/// LATENCY.record(f64::NAN); // not recorded, counted as invalid
/// assert_eq!(LATENCY.count(), 2);
/// assert!((LATENCY.sum() - 0.203).abs() < 1e-12);
/// assert_eq!(LATENCY.invalid(), 1);
/// let p50 = LATENCY.percentile(0.5).unwrap();
/// assert!(p50 > 0.0 && p50 <= 0.005);
/// ```
pub struct Histogram<T: TagSet = (), const B: usize = 16> {
    bounds: &'static [f64],
    le: &'static [&'static str],
    invalid: AtomicU64,
    series: T::Array<HistogramSeries<B>>,
}

impl<T: TagSet, const B: usize> Histogram<T, B> {
    /// A histogram with the Prometheus default buckets ([`DEFAULT_BUCKETS`]).
    ///
    /// # Panics
    ///
    /// At compile time (in a `static`) or at run time if `B` is below 12.
    pub const fn new() -> Self {
        Self::with_bounds(DEFAULT_BUCKETS, DEFAULT_LE)
    }

    /// A histogram with the given bucket bounds and their text for the `le` label.
    ///
    /// `#[derive(Metrics)]` calls this with bounds it has checked and formatted; by hand, give
    /// finite, strictly increasing bounds and their shortest text (`"0.5"`, `"1.0"`).
    ///
    /// # Panics
    ///
    /// If `B` is not above `bounds.len()`, if the lengths differ, or if the bounds are not finite
    /// and strictly increasing (at compile time when used in a `static`).
    pub const fn with_bounds(bounds: &'static [f64], le: &'static [&'static str]) -> Self {
        assert!(bounds.len() < B, "the histogram type has too few bucket slots: `B` must exceed the number of bounds");
        assert!(bounds.len() == le.len(), "one `le` text is needed per bound");
        let mut i = 0;
        while i < bounds.len() {
            assert!(bounds[i].is_finite(), "bucket bounds must be finite");
            assert!(i == 0 || bounds[i - 1] < bounds[i], "bucket bounds must be strictly increasing");
            i += 1;
        }
        Self { bounds, le, invalid: AtomicU64::new(0), series: <T::Array<HistogramSeries<B>> as ConstInit>::INIT }
    }

    /// The series for `tags`.
    ///
    /// # Performance
    ///
    /// Index arithmetic on the tags' variants; no hashing, lock or allocation.
    #[inline(always)]
    pub fn with(&self, tags: T) -> HistogramHandle<'_, B> {
        HistogramHandle { bounds: self.bounds, invalid: &self.invalid, series: &self.series.as_slice()[tags.index()] }
    }

    /// The bucket bounds (without `+Inf`).
    pub fn bounds(&self) -> &'static [f64] {
        self.bounds
    }

    #[doc(hidden)]
    pub fn le_texts(&self) -> &'static [&'static str] {
        self.le
    }

    /// Every series, in index order (see [`TagSet::from_index`]).
    pub fn series(&self) -> &[HistogramSeries<B>] {
        self.series.as_slice()
    }

    /// How many NaN or infinite values were rejected, over all series.
    pub fn invalid(&self) -> u64 {
        self.invalid.load(Relaxed)
    }
}

impl<const B: usize> Histogram<(), B> {
    /// Records `value`. See [`HistogramHandle::record`].
    #[inline(always)]
    pub fn record(&self, value: f64) {
        self.with(()).record(value);
    }

    /// The number of recorded values.
    pub fn count(&self) -> u64 {
        self.with(()).count()
    }

    /// The sum of the recorded values.
    pub fn sum(&self) -> f64 {
        self.with(()).sum()
    }

    /// The estimated `q` quantile. See [`HistogramHandle::percentile`].
    pub fn percentile(&self, q: f64) -> Option<f64> {
        self.with(()).percentile(q)
    }
}

impl<T: TagSet, const B: usize> Default for Histogram<T, B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: TagSet, const B: usize> fmt::Debug for Histogram<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("bounds", &self.bounds)
            .field("series", &self.series().len())
            .field("invalid", &self.invalid())
            .finish()
    }
}

/// One series of a [`Histogram`], ready to record.
#[derive(Clone, Copy)]
pub struct HistogramHandle<'a, const B: usize> {
    bounds: &'static [f64],
    invalid: &'a AtomicU64,
    series: &'a HistogramSeries<B>,
}

impl<const B: usize> HistogramHandle<'_, B> {
    /// Records `value` into its bucket and the sum.
    ///
    /// NaN and infinite values are counted in [`Histogram::invalid`] and not recorded.
    ///
    /// # Performance
    ///
    /// A branch-free count of the bounds below the value, one relaxed atomic add and one
    /// relaxed compare-and-swap; never allocates.
    #[inline]
    pub fn record(&self, value: f64) {
        if !value.is_finite() {
            self.invalid.fetch_add(1, Relaxed);
            return;
        }
        // Branch-free: the bounds are strictly increasing, so the number of bounds below the
        // value is the bucket index (`le` is inclusive). No data-dependent branch to mispredict.
        let i = self.bounds.iter().map(|b| usize::from(value > *b)).sum::<usize>();
        // `i <= bounds.len() < B` (checked in `with_bounds`); `min` lets the compiler see it.
        let i = i.min(B - 1);
        self.series.counts[i].fetch_add(1, Relaxed);
        atomic_f64_add(&self.series.sum, value);
    }

    /// Records `value` as `weight` observations: what a sampler that keeps one record in
    /// `weight` does, so that `_count` and `_sum` stay unbiased estimates of the full stream.
    ///
    /// NaN and infinite values are counted (once) in [`Histogram::invalid`] and not recorded.
    #[inline]
    pub fn record_weighted(&self, value: f64, weight: u64) {
        if !value.is_finite() {
            self.invalid.fetch_add(1, Relaxed);
            return;
        }
        let i = self.bounds.iter().map(|b| usize::from(value > *b)).sum::<usize>().min(B - 1);
        self.series.counts[i].fetch_add(weight, Relaxed);
        atomic_f64_add(&self.series.sum, value * weight as f64);
    }

    /// The number of recorded values (the sum of the buckets).
    pub fn count(&self) -> u64 {
        self.series.bucket_counts(self.bounds).sum()
    }

    /// The sum of the recorded values.
    pub fn sum(&self) -> f64 {
        self.series.sum()
    }

    /// Cumulative bucket counts: one per bound, then `+Inf`.
    pub fn cumulative(&self) -> impl Iterator<Item = u64> + '_ {
        self.series.bucket_counts(self.bounds).scan(0u64, |acc, c| {
            *acc += c;
            Some(*acc)
        })
    }

    /// The estimated `q` quantile (`0 <= q <= 1`), or `None` when nothing was recorded or `q`
    /// is out of range.
    ///
    /// Linear interpolation inside the bucket holding the quantile; see [`Histogram`] for the
    /// error bound.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        if !(0.0..=1.0).contains(&q) {
            return None;
        }
        let mut counts = [0u64; B];
        let used = self.bounds.len() + 1;
        for (slot, c) in counts.iter_mut().zip(self.series.bucket_counts(self.bounds)) {
            *slot = c;
        }
        let total: u64 = counts[..used].iter().sum();
        if total == 0 {
            return None;
        }
        let rank = q * total as f64;
        let mut below = 0u64;
        for (i, &c) in counts[..used].iter().enumerate() {
            if c > 0 && (below + c) as f64 >= rank {
                if i == self.bounds.len() {
                    return self.bounds.last().copied().or(Some(0.0));
                }
                let upper = self.bounds[i];
                let lower = if i == 0 { upper.min(0.0) } else { self.bounds[i - 1] };
                let fraction = (rank - below as f64) / c as f64;
                return Some(lower + (upper - lower) * fraction.clamp(0.0, 1.0));
            }
            below += c;
        }
        self.bounds.last().copied()
    }
}

impl<const B: usize> fmt::Debug for HistogramHandle<'_, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistogramHandle").field("count", &self.count()).field("sum", &self.sum()).finish()
    }
}
