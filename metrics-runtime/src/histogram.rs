//! Fixed-bucket histograms, exposed as Prometheus histograms.

use core::fmt;
use core::ptr;
use core::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU64,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};

use crossbeam_utils::CachePadded;
use portable_atomic::AtomicU128;

use crate::cell::ConstInit;
use crate::exemplar::{Exemplar, ExemplarSlots};
use crate::family::Family;
use crate::read::{process_start_time, BoundTexts, HistogramRead, MetricDesc, Series, StaticLabels, Visitor};
use crate::sharded::{stripe, OWNED_STRIPES};
use crate::tag::TagSet;
use crate::timer::Ticks;

/// The Prometheus default bucket bounds, in seconds.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Histogram, DEFAULT_BUCKETS};
///
/// static LATENCY: Histogram = Histogram::new();
/// assert_eq!(LATENCY.bounds(), DEFAULT_BUCKETS);
/// assert_eq!(DEFAULT_BUCKETS.first(), Some(&0.005));
/// assert_eq!(DEFAULT_BUCKETS.last(), Some(&10.0));
/// ```
pub const DEFAULT_BUCKETS: &[f64] = metrics_rules::DEFAULT_BUCKETS;
const DEFAULT_LE: &[&str] = metrics_rules::DEFAULT_BUCKETS_LE;

/// The bucket of `value` among strictly increasing `bounds`: the number of bounds below it
/// (`le` is inclusive), `bounds.len()` for `+Inf`. Branch-free: no data-dependent branch to
/// mispredict. The bucket search of every histogram type, but for timers' records
/// ([`bucket_scan`]).
#[inline(always)]
pub(crate) fn bucket_index(bounds: &[f64], value: f64) -> usize {
    bounds.iter().map(|b| usize::from(value > *b)).sum::<usize>()
}

/// The bucket [`bucket_index`] finds for a value that is not NaN, found by scanning the bounds
/// upwards to the first at or above it: one compare per bucket below the value's, and one
/// branch that ends the scan. What timers search: next to two clock reads a record's cost is
/// in the instructions it issues more than in their latency, and a short call, whose cost a
/// timer's own adds most to, ends the scan at the first bounds; a long one pays more
/// compares, and a mispredicted branch, a small part of what it measures
/// (`benches/timed.rs`, `timed/histogram_record`, measures both).
#[inline(always)]
fn bucket_scan(bounds: &[f64], value: f64) -> usize {
    bounds.iter().position(|b| value <= *b).unwrap_or(bounds.len())
}

/// Adds `delta` to an `f64` kept as bits in an `AtomicU64`: the one atomic float add, of
/// gauges and of values that stand alone.
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

/// One histogram bucket: its count (low 64 bits) and the sum of its values (high 64 bits, `f64`
/// bits) in one 16-byte atomic word, so that a record adds to both at once and a read sees both
/// at once. The bucket of every histogram type, compile-time and run-time.
///
/// A record is one 16-byte load and one 16-byte compare-and-swap (`cmpxchg16b` on x86-64, found
/// at run time; `casp`/`ldxp`/`stxp` on AArch64), retried only when another writer changed the
/// same bucket in between: lock-free. On a CPU without a 16-byte compare-and-swap (x86-64 CPUs
/// older than 2006), `portable-atomic` falls back to short global locks: not lock-free there.
#[repr(transparent)]
pub(crate) struct BucketCell(AtomicU128);

impl BucketCell {
    #[allow(clippy::declare_interior_mutable_const)]
    pub(crate) const INIT: Self = Self(AtomicU128::new(0));

    /// Back to zero (a run-time series' row, reused).
    pub(crate) fn clear(&self) {
        self.0.store(0, Relaxed);
    }

    /// Adds `weight` to the count (saturating at `u64::MAX`) and `total` to the sum, together.
    #[inline(always)]
    pub(crate) fn add(&self, weight: u64, total: f64) {
        // Relaxed: the pair is one value; the CAS makes concurrent adds exact.
        let mut current = self.0.load(Relaxed);
        loop {
            let (count, sum) = split(current);
            let next = join(count.saturating_add(weight), sum + total);
            match self.0.compare_exchange_weak(current, next, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// The count and the sum, read in one atomic load.
    #[inline]
    pub(crate) fn load(&self) -> (u64, f64) {
        split(self.0.load(Relaxed))
    }
}

#[inline(always)]
fn split(word: u128) -> (u64, f64) {
    (word as u64, f64::from_bits((word >> 64) as u64))
}

#[inline(always)]
fn join(count: u64, sum: f64) -> u128 {
    u128::from(count) | (u128::from(sum.to_bits()) << 64)
}

/// Reads `cells` into `out` (the counts) and returns the sum of their sums: every record is in
/// both or in neither. The read of every histogram type, compile-time and run-time.
pub(crate) fn read_buckets(cells: &[BucketCell], out: &mut [u64]) -> f64 {
    let mut sum = 0.0;
    for (slot, cell) in out.iter_mut().zip(cells) {
        let (count, bucket_sum) = cell.load();
        *slot = count;
        sum += bucket_sum;
    }
    sum
}

/// One thread's share of a series' timed records: per-bucket counts and their sum, written only
/// by the thread that owns the stripe (see [`crate::sharded`]), under a sequence number that is
/// odd while it writes, so that a reader sees every record of the stripe in both the counts and
/// the sum or in neither.
struct Stripe<const B: usize> {
    seq: AtomicU64,
    /// `f64` bits.
    sum: AtomicU64,
    counts: [AtomicU64; B],
}

/// The stripes of one series' timed records: one per owned stripe, each on cache lines of its
/// own, allocated at the series' first timed record from a thread that owns one.
struct Stripes<const B: usize>([CachePadded<Stripe<B>>; OWNED_STRIPES]);

impl<const B: usize> Stripes<B> {
    fn new() -> Box<Self> {
        Box::new(Self(core::array::from_fn(|_| {
            CachePadded::new(Stripe {
                seq: AtomicU64::new(0),
                sum: AtomicU64::new(0),
                counts: [const { AtomicU64::new(0) }; B],
            })
        })))
    }
}

impl<const B: usize> Stripe<B> {
    /// Adds one record of `value` to bucket `i`, one of the histogram's (the owner only: plain
    /// loads and stores, no locked instruction).
    #[inline(always)]
    fn add(&self, i: usize, value: f64) {
        let seq = self.seq.load(Relaxed);
        self.seq.store(seq.wrapping_add(1), Relaxed);
        // Release: a reader that sees any of the stores below, and then fences (Acquire), sees
        // the odd sequence number too, and retries.
        fence(Release);
        debug_assert!(i < B);
        // SAFETY: `i` is a bucket of the series' histogram, found among its bounds, which are
        // fewer than `B` (checked by `Histogram::with_bounds`, which makes every histogram).
        let count = unsafe { self.counts.get_unchecked(i) };
        // Wrapping: one stripe is one thread's, and 2^64 records of one thread take centuries.
        count.store(count.load(Relaxed).wrapping_add(1), Relaxed);
        self.sum.store((f64::from_bits(self.sum.load(Relaxed)) + value).to_bits(), Relaxed);
        // Release: a reader that sees the even number sees the stores before it.
        self.seq.store(seq.wrapping_add(2), Release);
    }

    /// Adds the first `counts.len()` bucket counts to `counts` and returns the sum, from one
    /// consistent view of the stripe. Waits (spinning, then yielding) while the owner is in
    /// the middle of a record: a few instructions, unless the owner was descheduled there.
    fn read_into(&self, counts: &mut [u64]) -> f64 {
        let mut seen = [0u64; B];
        let mut spins = 0u32;
        loop {
            // Acquire: pairs with the owner's final Release store of a record.
            let before = self.seq.load(Acquire);
            if before & 1 == 0 {
                for (slot, count) in seen.iter_mut().zip(&self.counts).take(counts.len()) {
                    *slot = count.load(Relaxed);
                }
                let sum = f64::from_bits(self.sum.load(Relaxed));
                // Acquire: pairs with the owner's fence, so that a record half seen shows as a
                // changed sequence number below.
                fence(Acquire);
                if self.seq.load(Relaxed) == before {
                    for (total, count) in counts.iter_mut().zip(seen) {
                        *total = total.saturating_add(count);
                    }
                    return sum;
                }
            }
            spins += 1;
            if spins < 64 {
                core::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// One series of a [`Histogram`]: `B` buckets (the last one is `+Inf`), each a count and the sum
/// of its values in one atomic word; and, once a timer has recorded into it, per-thread stripes
/// of the timers' records ([`HistogramHandle::record_timed`]), which every read adds in.
///
/// Counts are per bucket, not cumulative; the exposition accumulates them, and `_count` is the
/// sum of the buckets, so a scrape always sees `_count` equal to the `+Inf` bucket. `_sum` is
/// the sum of the buckets' sums, so it always covers the same records as `_count`.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Histogram, HistogramSeries};
///
/// static SIZES: Histogram<(), 4> = Histogram::with_bounds(&[10.0, 100.0], &["10.0", "100.0"]);
/// SIZES.record(5.0);
/// SIZES.record(50.0);
/// SIZES.record(500.0);
/// let series: &HistogramSeries<4> = &SIZES.series()[0];
/// assert_eq!(series.bucket_counts(SIZES.bounds()).collect::<Vec<_>>(), [1, 1, 1]);
/// assert_eq!(series.sum(), 555.0);
/// // `B * 16 + 16` bytes: 16 per bucket slot, and the negative flag padded to 16.
/// assert_eq!(size_of::<HistogramSeries<4>>(), 4 * 16 + 16);
/// assert_eq!(size_of::<HistogramSeries<16>>(), 16 * 16 + 16);
/// ```
pub struct HistogramSeries<const B: usize> {
    buckets: [BucketCell; B],
    /// Set once a negative value has been recorded: the sum is then no longer a counter, and
    /// OpenMetrics leaves it out.
    negative: AtomicBool,
    /// The timers' records, per owning thread ([`HistogramHandle::record_timed`]); null until
    /// the first.
    stripes: AtomicPtr<Stripes<B>>,
}

impl<const B: usize> ConstInit for HistogramSeries<B> {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self {
        buckets: [const { BucketCell::INIT }; B],
        negative: AtomicBool::new(false),
        stripes: AtomicPtr::new(ptr::null_mut()),
    };
}

impl<const B: usize> Drop for HistogramSeries<B> {
    fn drop(&mut self) {
        let stripes = *self.stripes.get_mut();
        if !stripes.is_null() {
            // SAFETY: made by `Box::into_raw` in `stripes`; we hold the only reference.
            drop(unsafe { Box::from_raw(stripes) });
        }
    }
}

impl<const B: usize> HistogramSeries<B> {
    /// Per-bucket counts (not cumulative); `bounds.len() + 1` of them are used, the last is `+Inf`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    ///
    /// static SIZES: Histogram<(), 4> = Histogram::with_bounds(&[1.0, 2.0, 4.0], &["1.0", "2.0", "4.0"]);
    /// for value in [0.5, 1.5, 1.8, 9.0] {
    ///     SIZES.record(value);
    /// }
    /// let counts: Vec<u64> = SIZES.series()[0].bucket_counts(SIZES.bounds()).collect();
    /// assert_eq!(counts, [1, 2, 0, 1]); // per bucket, the last one `+Inf`
    /// ```
    pub fn bucket_counts(&self, bounds: &[f64]) -> impl Iterator<Item = u64> + '_ {
        let n = (bounds.len() + 1).min(B);
        let (counts, _) = self.read_first(n);
        counts.into_iter().take(n)
    }

    /// The sum of the recorded values (the sum of the buckets' sums).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// LATENCY.record(0.25);
    /// LATENCY.record(0.5);
    /// assert_eq!(LATENCY.series()[0].sum(), 0.75);
    /// ```
    pub fn sum(&self) -> f64 {
        self.read_first(B).1
    }

    /// Whether a negative value has been recorded (the sum may then go down).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    ///
    /// static DELTA: Histogram<(), 3> = Histogram::with_bounds(&[0.0, 10.0], &["0.0", "10.0"]);
    /// DELTA.record(4.0);
    /// assert!(!DELTA.series()[0].has_negative());
    /// DELTA.record(-1.0);
    /// assert!(DELTA.series()[0].has_negative());
    /// ```
    pub fn has_negative(&self) -> bool {
        self.negative.load(Relaxed)
    }

    /// The per-bucket counts and the sum, covering exactly the same records: each bucket's
    /// count and sum are one atomic word, written by one compare-and-swap and read by one load;
    /// each timer stripe is read whole under its sequence number. (The buckets and stripes are
    /// read one after another, so a record that lands during the read may be in it or not, but
    /// never in the counts without the sum.)
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    ///
    /// static SIZES: Histogram<(), 4> = Histogram::with_bounds(&[10.0, 100.0], &["10.0", "100.0"]);
    /// SIZES.record(5.0);
    /// SIZES.record(50.0);
    /// let (counts, sum) = SIZES.series()[0].read(SIZES.bounds());
    /// assert_eq!((&counts[..3], sum), (&[1, 1, 0][..], 55.0));
    /// ```
    pub fn read(&self, bounds: &[f64]) -> ([u64; B], f64) {
        self.read_first((bounds.len() + 1).min(B))
    }

    /// The first `n` buckets' counts and the sum of their records: the shared cells, then the
    /// timers' stripes, if any. The one read of a series.
    fn read_first(&self, n: usize) -> ([u64; B], f64) {
        let mut counts = [0u64; B];
        let mut sum = read_buckets(&self.buckets[..n], &mut counts[..n]);
        if let Some(stripes) = self.stripes_if_any() {
            for stripe in &stripes.0 {
                sum += stripe.read_into(&mut counts[..n]);
            }
        }
        (counts, sum)
    }

    /// The timers' stripes, once a timed record made them.
    #[inline(always)]
    fn stripes_if_any(&self) -> Option<&Stripes<B>> {
        // Acquire: the stripes' initial contents, written before they were published.
        let p = self.stripes.load(Acquire);
        // SAFETY: made by `Box::into_raw` in `stripes`, freed only when the series is dropped.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    /// The timers' stripes, made at the first timed record.
    #[inline(always)]
    fn stripes(&self) -> &Stripes<B> {
        match self.stripes_if_any() {
            Some(stripes) => stripes,
            None => self.make_stripes(),
        }
    }

    #[cold]
    #[inline(never)]
    fn make_stripes(&self) -> &Stripes<B> {
        let new = Box::into_raw(Stripes::new());
        // AcqRel: publishes the new stripes (Release), or sees another thread's (Acquire).
        match self.stripes.compare_exchange(ptr::null_mut(), new, AcqRel, Acquire) {
            // SAFETY: just published; freed only when the series is dropped.
            Ok(_) => unsafe { &*new },
            Err(theirs) => {
                // SAFETY: `new` was never published: ours alone to free.
                drop(unsafe { Box::from_raw(new) });
                // SAFETY: as above, for the stripes another thread published.
                unsafe { &*theirs }
            }
        }
    }

    /// Heap held: the timers' stripes, once made.
    fn heap_bytes(&self) -> usize {
        self.stripes_if_any().map_or(0, |_| size_of::<Stripes<B>>())
    }
}

impl<const B: usize> HistogramSeries<B> {
    #[cold]
    #[inline(never)]
    fn mark_negative(&self) {
        self.negative.store(true, Relaxed);
    }
}

impl<const B: usize> fmt::Debug for HistogramSeries<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (counts, sum) = self.read_first(B);
        f.debug_struct("HistogramSeries").field("counts", &counts).field("sum", &sum).finish()
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
/// adds 1 to its count and the value to its sum with one 16-byte compare-and-swap. Timers
/// (`#[timed]`, [`Timer`](crate::Timer)) record through [`HistogramHandle::record_timed`]
/// instead: into a stripe of the series owned by the recording thread, with no locked
/// instruction.
/// Values that are NaN or infinite are **not recorded**: they would poison `_sum` forever. They
/// are counted instead, in [`Histogram::invalid`]. Negative and zero values are recorded
/// normally (they fall in the first bucket whose bound is at least the value).
///
/// # Negative values
///
/// A negative value is counted in its bucket and added to `_sum`, which can then go down.
/// OpenMetrics allows a histogram sum only while it is a counter: a series that has received
/// a negative value ([`HistogramSeries::has_negative`]), and every series of a histogram whose
/// bounds include a negative one, is exposed in OpenMetrics without `_sum`, and so without
/// `_count` (which OpenMetrics allows only beside a sum; the `+Inf` bucket holds the count).
/// Prometheus text and JSON keep both. Counts saturate at `u64::MAX`.
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
pub struct Histogram<T: TagSet = (), const B: usize = { metrics_rules::DEFAULT_HISTOGRAM_SLOTS }> {
    bounds: &'static [f64],
    le: &'static [&'static str],
    invalid: AtomicU64,
    series: Family<HistogramSeries<B>, T>,
}

impl<T: TagSet, const B: usize> Histogram<T, B> {
    /// Hands every series to `visitor` as histograms of the metric `desc` (what the derived
    /// [`Metrics::visit`](crate::Metrics::visit) does for this field). Each series' buckets and
    /// sum are read together ([`HistogramSeries::read`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Metrics};
    /// use metrics_runtime::expose::PrometheusWriter;
    ///
    /// #[derive(Metrics)]
    /// struct Api {
    ///     /// Request time.
    ///     #[metric(unit = "seconds", buckets = [0.1, 1.0])]
    ///     request_seconds: Histogram,
    /// }
    ///
    /// let api = Api::new();
    /// api.request_seconds.record(0.5);
    /// let mut out = String::new();
    /// api.request_seconds.visit(&api.descriptors()[0], &mut PrometheusWriter::new(&mut out));
    /// assert!(out.ends_with("request_seconds_bucket{le=\"+Inf\"} 1\nrequest_seconds_sum 0.5\nrequest_seconds_count 1\n"));
    /// ```
    pub fn visit(&self, desc: &MetricDesc<'_>, visitor: &mut dyn Visitor) {
        self.visit_with(desc, visitor, None);
    }

    /// As [`visit`](Self::visit), with each series' exemplar slots (one per bucket).
    pub(crate) fn visit_with(
        &self,
        desc: &MetricDesc<'_>,
        visitor: &mut dyn Visitor,
        exemplars: Option<&Family<ExemplarSlots<B>, T>>,
    ) {
        let created = process_start_time();
        let bounds = self.bounds();
        let negative_bound = bounds.first().is_some_and(|b| *b < 0.0);
        visitor.begin_metric(desc);
        for (index, series) in self.series().iter().enumerate() {
            let labels = StaticLabels::<T>::new(index);
            let (counts, sum) = series.read(bounds);
            // Only with exemplars: a histogram without them copies no slots.
            let slots: Option<[Option<Exemplar>; B]> =
                exemplars.map(|family| core::array::from_fn(|i| family.series()[index].cells()[i].load()));
            let read = HistogramRead {
                bounds,
                le: BoundTexts::Static(self.le_texts()),
                counts: &counts[..=bounds.len()],
                sum,
                negative: negative_bound || series.has_negative(),
                exemplars: slots.as_ref().map_or(&[], |s| &s[..=bounds.len()]),
            };
            visitor.histogram(desc, Series { index, labels: &labels, created }, &read);
        }
        visitor.end_metric(desc);
    }
    /// A histogram with the Prometheus default buckets ([`DEFAULT_BUCKETS`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Tag, DEFAULT_BUCKETS};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Route { Home, Search }
    ///
    /// static LATENCY: Histogram<Route> = Histogram::new();
    /// assert_eq!(LATENCY.bounds(), DEFAULT_BUCKETS);
    /// assert_eq!(LATENCY.series().len(), 2);
    /// assert_eq!(LATENCY.with(Route::Search).count(), 0);
    /// ```
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
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    ///
    /// // Two bounds need three slots: `B` = 3 (`+Inf` included), or more.
    /// static PAYLOAD_BYTES: Histogram<(), 3> = Histogram::with_bounds(&[1024.0, 65536.0], &["1024.0", "65536.0"]);
    /// PAYLOAD_BYTES.record(4096.0);
    /// assert_eq!(PAYLOAD_BYTES.bounds(), [1024.0, 65536.0]);
    /// assert_eq!(PAYLOAD_BYTES.with(()).cumulative().collect::<Vec<_>>(), [0, 1, 1]);
    /// ```
    ///
    /// Bounds that are not increasing do not compile in a `static`:
    ///
    /// ```compile_fail
    /// use metrics_runtime::Histogram;
    ///
    /// static BAD: Histogram<(), 3> = Histogram::with_bounds(&[2.0, 1.0], &["2.0", "1.0"]);
    /// ```
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
        Self { bounds, le, invalid: AtomicU64::new(0), series: Family::new() }
    }

    /// The series for `tags`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "method", rename_all = "UPPERCASE")]
    /// enum Method { Get, Post }
    ///
    /// static LATENCY: Histogram<Method> = Histogram::new();
    /// LATENCY.with(Method::Get).record(0.02);
    /// assert_eq!(LATENCY.with(Method::Get).count(), 1);
    /// assert_eq!(LATENCY.with(Method::Post).count(), 0);
    /// ```
    ///
    /// # Performance
    ///
    /// Index arithmetic on the tags' variants; no hashing, lock or allocation.
    #[inline(always)]
    pub fn with(&self, tags: T) -> HistogramHandle<'_, B> {
        HistogramHandle { bounds: self.bounds, invalid: &self.invalid, series: self.series.with(tags) }
    }

    /// The bucket bounds (without `+Inf`).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Metrics};
    ///
    /// #[derive(Metrics)]
    /// struct Api {
    ///     /// Request time.
    ///     #[metric(unit = "seconds", buckets = [0.1, 0.5, 1.0])]
    ///     request_seconds: Histogram,
    /// }
    ///
    /// let api = Api::new();
    /// assert_eq!(api.request_seconds.bounds(), [0.1, 0.5, 1.0]);
    /// ```
    pub fn bounds(&self) -> &'static [f64] {
        self.bounds
    }

    #[doc(hidden)]
    pub fn le_texts(&self) -> &'static [&'static str] {
        self.le
    }

    /// Every series, in index order (see [`TagSet::from_index`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Disk { Ssd, Hdd }
    ///
    /// static READ_SECONDS: Histogram<Disk> = Histogram::new();
    /// READ_SECONDS.with(Disk::Hdd).record(0.008);
    /// let sums: Vec<f64> = READ_SECONDS.series().iter().map(|s| s.sum()).collect();
    /// assert_eq!(sums, [0.0, 0.008]);
    /// ```
    pub fn series(&self) -> &[HistogramSeries<B>] {
        self.series.series()
    }

    /// How many NaN or infinite values were rejected, over all series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// enum Step { Parse, Plan }
    ///
    /// static STEP_SECONDS: Histogram<Step> = Histogram::new();
    /// STEP_SECONDS.with(Step::Parse).record(f64::NAN);
    /// STEP_SECONDS.with(Step::Plan).record(f64::INFINITY);
    /// STEP_SECONDS.with(Step::Plan).record(0.1);
    /// assert_eq!(STEP_SECONDS.invalid(), 2); // over all series
    /// assert_eq!(STEP_SECONDS.with(Step::Plan).count(), 1);
    /// ```
    pub fn invalid(&self) -> u64 {
        self.invalid.load(Relaxed)
    }

    /// Heap held: nothing, until a timer records into a series (see
    /// [`HistogramHandle::record_timed`]); then that series' stripes, 2 KiB for the default 16
    /// slots (`8 * (16 + 8 * B)` bytes, each stripe rounded up to 128-byte lines).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, RecordDuration};
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// LATENCY.record(0.1);
    /// assert_eq!(LATENCY.heap_bytes(), 0); // inline storage only
    /// drop(LATENCY.start_timer()); // the first timed record
    /// assert_eq!(LATENCY.heap_bytes(), 2048);
    /// assert_eq!(LATENCY.count(), 2);
    /// ```
    pub fn heap_bytes(&self) -> usize {
        self.series().iter().map(HistogramSeries::heap_bytes).sum()
    }
}

impl<const B: usize> Histogram<(), B> {
    /// Records `value`. See [`HistogramHandle::record`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// LATENCY.record(0.03);
    /// LATENCY.record(-1.0); // recorded: it falls in the first bucket
    /// assert_eq!(LATENCY.count(), 2);
    /// ```
    ///
    /// # Performance
    ///
    /// As [`HistogramHandle::record`].
    #[inline(always)]
    pub fn record(&self, value: f64) {
        self.with(()).record(value);
    }

    /// The number of recorded values.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// for _ in 0..3 {
    ///     LATENCY.record(0.2);
    /// }
    /// LATENCY.record(f64::NAN); // not counted here, see `invalid`
    /// assert_eq!(LATENCY.count(), 3);
    /// ```
    pub fn count(&self) -> u64 {
        self.with(()).count()
    }

    /// The sum of the recorded values.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// LATENCY.record(1.5);
    /// LATENCY.record(2.5);
    /// assert_eq!(LATENCY.sum(), 4.0);
    /// ```
    pub fn sum(&self) -> f64 {
        self.with(()).sum()
    }

    /// The estimated `q` quantile. See [`HistogramHandle::percentile`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    ///
    /// static LATENCY: Histogram<(), 3> = Histogram::with_bounds(&[1.0, 2.0], &["1.0", "2.0"]);
    /// assert_eq!(LATENCY.percentile(0.5), None); // nothing recorded
    /// for value in [1.2, 1.4, 1.6, 1.8] {
    ///     LATENCY.record(value);
    /// }
    /// assert_eq!(LATENCY.percentile(0.5), Some(1.5)); // halfway through the (1, 2] bucket
    /// ```
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
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Histogram, HistogramHandle, Tag};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(rename_all = "lowercase")]
/// enum Route { Home, Search }
///
/// static LATENCY: Histogram<Route> = Histogram::new();
/// let search: HistogramHandle<'_, 16> = LATENCY.with(Route::Search); // `Copy`: pass it around
/// search.record(0.04);
/// search.record(0.06);
/// assert_eq!(search.count(), 2);
/// assert!((search.sum() - 0.1).abs() < 1e-12);
/// ```
#[derive(Clone, Copy)]
pub struct HistogramHandle<'a, const B: usize> {
    bounds: &'static [f64],
    invalid: &'a AtomicU64,
    series: &'a HistogramSeries<B>,
}

impl<'a, const B: usize> HistogramHandle<'a, B> {
    /// Records a finite `value` and returns its bucket (for its exemplar); `None` (and
    /// counted as invalid) if it is not finite. The one record path of a series.
    #[inline(always)]
    pub(crate) fn record_in_bucket(&self, value: f64) -> Option<usize> {
        if !value.is_finite() {
            self.invalid.fetch_add(1, Relaxed);
            return None;
        }
        // `i <= bounds.len() < B` (checked in `with_bounds`); `min` lets the compiler see it.
        let i = bucket_index(self.bounds, value).min(B - 1);
        self.series.buckets[i].add(1, value);
        if value < 0.0 {
            self.series.mark_negative();
        }
        Some(i)
    }

    /// For a [`MetricBatch`](crate::MetricBatch): the series' bucket cells, its negative flag
    /// and the bucket of a finite `value`; a value that is not finite is counted as invalid
    /// here and gives `None`.
    #[inline]
    pub(crate) fn batch_target(&self, value: f64) -> Option<(&'a [BucketCell], &'a AtomicBool, usize)> {
        if !value.is_finite() {
            self.invalid.fetch_add(1, Relaxed);
            return None;
        }
        let i = bucket_index(self.bounds, value).min(B - 1);
        let series: &'a HistogramSeries<B> = self.series;
        Some((&series.buckets[..], &series.negative, i))
    }

    /// Records `value` into its bucket and the sum.
    ///
    /// NaN and infinite values are counted in [`Histogram::invalid`] and not recorded.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Route { Home, Search }
    ///
    /// static LATENCY: Histogram<Route, 3> = Histogram::with_bounds(&[0.1, 1.0], &["0.1", "1.0"]);
    /// let home = LATENCY.with(Route::Home);
    /// home.record(0.1); // `le` is inclusive: the 0.1 bucket
    /// home.record(0.5);
    /// home.record(f64::NAN); // rejected, counted as invalid
    /// assert_eq!(home.cumulative().collect::<Vec<_>>(), [1, 2, 2]);
    /// assert_eq!(LATENCY.invalid(), 1);
    /// ```
    ///
    /// # Performance
    ///
    /// A branch-free count of the bounds below the value and one relaxed 16-byte
    /// compare-and-swap of the bucket's count and sum; never allocates.
    #[inline]
    pub fn record(&self, value: f64) {
        let _ = self.record_in_bucket(value);
    }

    /// Records `value` as timers do: on a thread that owns a stripe (the first 8 threads alive
    /// at once; see [`ShardedCounter`](crate::ShardedCounter)), into that thread's stripe of
    /// the series, with plain loads and stores and no locked instruction; on any other thread,
    /// and for a value that is negative or not finite, as [`record`](Self::record) does. What
    /// [`Timer`](crate::Timer) and `#[timed]` call.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    ///
    /// static LATENCY: Histogram<(), 3> = Histogram::with_bounds(&[0.1, 1.0], &["0.1", "1.0"]);
    /// std::thread::scope(|s| {
    ///     for _ in 0..12 {
    ///         // 12 threads: the first 8 alive at once take a stripe, the others share cells.
    ///         s.spawn(|| {
    ///             for _ in 0..100 {
    ///                 LATENCY.with(()).record_timed(0.05);
    ///                 LATENCY.with(()).record_timed(0.5);
    ///             }
    ///         });
    ///     }
    /// });
    /// assert_eq!(LATENCY.with(()).cumulative().collect::<Vec<_>>(), [1200, 2400, 2400]);
    /// assert!((LATENCY.sum() - 660.0).abs() < 1e-9);
    /// ```
    ///
    /// # Performance
    ///
    /// A thread-local read, a scan of the bounds from the lowest (one compare per bucket below
    /// the value's, then one branch), and on an owned stripe six plain loads and stores (a
    /// sequence number around the count and the sum, so that a read sees both or neither),
    /// with no locked instruction (on this project's VM a locked instruction costs up to half
    /// a clock read); `benches/timed.rs` measured it at 1-2 ns over a timer into a target that
    /// records nothing, and at 0.18-0.19x the plain [`record`](Self::record) (0.39-0.40x with
    /// durations spread over nine buckets). Threads with their own stripes never write one
    /// cache line (two threads into one series: ~14 ns a record, against ~120 ns through the
    /// shared cells). Never waits for another thread.
    /// The series' first timed record from a thread that owns a stripe allocates its stripes:
    /// one per owned stripe on cache lines of its own ([`Histogram::heap_bytes`]: 2 KiB for the
    /// default 16 slots); no allocation after that.
    #[inline(always)]
    pub fn record_timed(&self, value: f64) {
        // Negative values (sign bit set), NaN and infinities take the shared path, which flags
        // or rejects them: the bits of the others are below those of `+Inf`.
        if value.to_bits() >= f64::INFINITY.to_bits() {
            return Self::record_shared(self.bounds, self.invalid, self.series, value);
        }
        self.record_timer(value);
    }

    /// [`record_timed`](Self::record_timed) of a value a timer measured, finite and not
    /// negative: without the check for values that are not.
    #[inline(always)]
    pub(crate) fn record_timer(&self, value: f64) {
        self.record_timer_of(|| value);
    }

    /// [`record_timer`](Self::record_timer) of a timer's reading in clock ticks, converted to
    /// seconds once the stripe is found: the reading is held in an integer register across the
    /// calls on the way (the thread's first record, the series' first timed record), where a
    /// float would be stored to the stack and loaded back before the bucket search.
    #[inline(always)]
    pub(crate) fn record_timer_ticks(&self, ticks: Ticks) {
        self.record_timer_of(|| ticks.seconds());
    }

    #[inline(always)]
    fn record_timer_of(&self, value: impl FnOnce() -> f64) {
        let k = stripe();
        if k >= OWNED_STRIPES {
            return Self::record_shared(self.bounds, self.invalid, self.series, value());
        }
        let stripe = &self.series.stripes().0[k];
        let value = value();
        debug_assert!(value.is_finite() && value >= 0.0, "a timer's reading: {value}");
        stripe.add(bucket_scan(self.bounds, value), value);
    }

    /// [`record`](Self::record), out of line: the shared path of a timed record, kept out of
    /// the code inlined into every timer (whose record is then small enough for the compiler
    /// to inline into an async fn's state machine too). The handle goes in its parts, in
    /// registers: a handle by reference would be stored to the stack on every record.
    #[inline(never)]
    fn record_shared(bounds: &'static [f64], invalid: &AtomicU64, series: &HistogramSeries<B>, value: f64) {
        HistogramHandle { bounds, invalid, series }.record(value);
    }

    /// Records `value` as `weight` observations: what a sampler that keeps one record in
    /// `weight` does, so that `_count` and `_sum` stay unbiased estimates of the full stream.
    ///
    /// NaN and infinite values are counted (once) in [`Histogram::invalid`] and not recorded.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// // One record in 100 is kept; each stands for 100.
    /// LATENCY.with(()).record_weighted(0.02, 100);
    /// assert_eq!(LATENCY.count(), 100);
    /// assert!((LATENCY.sum() - 2.0).abs() < 1e-9);
    /// ```
    ///
    /// # Performance
    ///
    /// As [`HistogramHandle::record`], plus a multiplication; the bucket add is a
    /// compare-and-swap whose count saturates at `u64::MAX` instead of wrapping.
    #[inline]
    pub fn record_weighted(&self, value: f64, weight: u64) {
        if !value.is_finite() {
            self.invalid.fetch_add(1, Relaxed);
            return;
        }
        let i = bucket_index(self.bounds, value).min(B - 1);
        // Saturating: a weight near `u64::MAX` must not wrap the bucket (and break the
        // monotonic cumulative counts).
        self.series.buckets[i].add(weight, value * weight as f64);
        if value < 0.0 {
            self.series.mark_negative();
        }
    }

    /// The number of recorded values (the sum of the buckets).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// let series = LATENCY.with(());
    /// series.record(0.1);
    /// series.record(20.0); // the `+Inf` bucket counts too
    /// assert_eq!(series.count(), 2);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed load per bucket (the bounds plus `+Inf`); never allocates.
    pub fn count(&self) -> u64 {
        self.series.bucket_counts(self.bounds).fold(0u64, u64::saturating_add)
    }

    /// The sum of the recorded values.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// let series = LATENCY.with(());
    /// series.record(0.5);
    /// series.record(0.25);
    /// assert_eq!(series.sum(), 0.75);
    /// ```
    pub fn sum(&self) -> f64 {
        self.series.sum()
    }

    /// Cumulative bucket counts: one per bound, then `+Inf`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    ///
    /// static SIZES: Histogram<(), 4> = Histogram::with_bounds(&[1.0, 10.0, 100.0], &["1.0", "10.0", "100.0"]);
    /// for value in [0.5, 5.0, 7.0, 1000.0] {
    ///     SIZES.record(value);
    /// }
    /// // What the `_bucket{le}` samples show: one per bound, then `+Inf` (the count).
    /// assert_eq!(SIZES.with(()).cumulative().collect::<Vec<_>>(), [1, 3, 3, 4]);
    /// ```
    pub fn cumulative(&self) -> impl Iterator<Item = u64> + '_ {
        crate::read::cumulative(self.series.bucket_counts(self.bounds))
    }

    /// The estimated `q` quantile (`0 <= q <= 1`), or `None` when nothing was recorded or `q`
    /// is out of range.
    ///
    /// Linear interpolation inside the bucket holding the quantile; see [`Histogram`] for the
    /// error bound.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Route { Home, Search }
    ///
    /// static LATENCY: Histogram<Route, 4> = Histogram::with_bounds(&[0.1, 0.2, 0.4], &["0.1", "0.2", "0.4"]);
    /// let search = LATENCY.with(Route::Search);
    /// for value in [0.05, 0.15, 0.15, 0.3] {
    ///     search.record(value);
    /// }
    /// let p50 = search.percentile(0.5).unwrap();
    /// assert!(p50 > 0.1 && p50 <= 0.2); // within the bucket that holds it
    /// assert_eq!(search.percentile(1.0), Some(0.4));
    /// assert_eq!(search.percentile(1.5), None); // out of range
    /// assert_eq!(LATENCY.with(Route::Home).percentile(0.5), None); // empty
    /// ```
    ///
    /// # Performance
    ///
    /// Copies the `B` bucket counts to the stack and scans them; never allocates.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        let mut counts = [0u64; B];
        for (slot, c) in counts.iter_mut().zip(self.series.bucket_counts(self.bounds)) {
            *slot = c;
        }
        crate::aggregate::percentile(self.bounds, &counts, q)
    }
}

impl<const B: usize> fmt::Debug for HistogramHandle<'_, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistogramHandle").field("count", &self.count()).field("sum", &self.sum()).finish()
    }
}
