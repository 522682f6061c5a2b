//! Sampling for histograms and summaries: [`AdaptiveSampler`], [`Sampled`], [`RecordWeighted`].

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, TryLockError};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::gauge::{Gauge, GaugeSeries};
use crate::histogram::{Histogram, HistogramHandle};
use crate::summary::{Summary, SummaryHandle};
use crate::timer::{Outcome, RecordDuration};

/// How often an adaptive sampler measures the record rate, unless set with
/// [`AdaptiveSampler::with_period`]: one second.
///
/// # Examples
///
/// ```
/// use metrics_runtime::sampling::{AdaptiveSampler, DEFAULT_PERIOD};
///
/// static SAMPLER: AdaptiveSampler = AdaptiveSampler::target_per_sec(1000);
/// assert_eq!(SAMPLER.period(), DEFAULT_PERIOD);
/// assert_eq!(DEFAULT_PERIOD.as_secs(), 1);
/// ```
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(1);

/// The largest N an adaptive sampler chooses, unless set with
/// [`AdaptiveSampler::with_max_keep_one_in`]: 65 536.
///
/// # Examples
///
/// ```
/// use metrics_runtime::sampling::{AdaptiveSampler, DEFAULT_MAX_KEEP_ONE_IN};
///
/// static SAMPLER: AdaptiveSampler = AdaptiveSampler::target_per_sec(1000);
/// assert_eq!(SAMPLER.max_keep_one_in(), DEFAULT_MAX_KEEP_ONE_IN);
/// ```
pub const DEFAULT_MAX_KEEP_ONE_IN: u64 = 1 << 16;

/// One record in this many runs the sampler's slow path: it reads the clock (to adapt, unless
/// the sampler is [`manual`](AdaptiveSampler::manual)) and refreshes the linked rate gauge. The
/// first record of a sampler is one of them.
///
/// # Examples
///
/// ```
/// use metrics_runtime::Gauge;
/// use metrics_runtime::sampling::{AdaptiveSampler, CHECK_EVERY};
///
/// static RATE: Gauge = Gauge::new();
/// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(4).with_rate_gauge(&RATE);
/// assert_eq!(CHECK_EVERY, 1024);
/// let _ = SAMPLER.sample(); // the first record refreshes the gauge
/// assert_eq!(RATE.get(), 0.25);
/// ```
pub const CHECK_EVERY: u64 = 1024;

/// How an [`AdaptiveSampler`] chooses N, the number of records per kept record.
///
/// # Examples
///
/// ```
/// use metrics_runtime::sampling::{AdaptiveSampler, Strategy};
///
/// static SAMPLER: AdaptiveSampler = AdaptiveSampler::load_adaptive(1_000, 10_000);
/// assert_eq!(SAMPLER.strategy(), Strategy::LoadAdaptive { low_per_sec: 1_000, high_per_sec: 10_000 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Always keep one record in `keep_one_in`.
    Fixed {
        /// N: records per kept record.
        keep_one_in: u64,
    },
    /// Each period, N = ⌈measured records per second / `per_sec`⌉, clamped to
    /// `1..=max_keep_one_in`, so that about `per_sec` records a second are kept.
    ///
    /// With `r` records a second and `r >= per_sec`, the kept rate `r / N` is in
    /// `(per_sec · r / (r + per_sec), per_sec]`: never above the target, at least half of it,
    /// and within 1% of it once `r` is 100 times the target (unless N is capped by
    /// [`max_keep_one_in`](AdaptiveSampler::max_keep_one_in)). Below the target, N is 1.
    TargetPerSecond {
        /// The kept records per second to aim for.
        per_sec: u64,
    },
    /// Keeps the kept rate (records per second reaching the metric) between two watermarks,
    /// with hysteresis: N changes only when the rate measured over a period leaves
    /// `[low_per_sec, high_per_sec]`.
    ///
    /// Above `high_per_sec`, N is multiplied by the smallest power of two that brings the kept
    /// rate back to `high_per_sec` or below (up to the largest power of two not above
    /// [`max_keep_one_in`](AdaptiveSampler::max_keep_one_in)); below `low_per_sec`, it is
    /// divided by the smallest power of two that brings it back to `low_per_sec` or above (down
    /// to 1). Since `high_per_sec >= 2 · low_per_sec`, the new kept rate lands inside the band,
    /// so a steady load changes N once per crossing and never flaps, and a load that stays
    /// between the watermarks never changes N. After a change, the kept rate is at least a
    /// factor `high_per_sec / (2 · low_per_sec)` away from the watermark it did not cross: for a
    /// noisy load, make `high_per_sec` 4 or more times `low_per_sec`.
    LoadAdaptive {
        /// Below this many kept records per second, N goes down.
        low_per_sec: u64,
        /// Above this many kept records per second, N goes up.
        high_per_sec: u64,
    },
}

impl Strategy {
    /// The strategy keeping `factor` times fewer records: N times `factor` for a fixed N, the
    /// target and the watermarks divided by it (the energy policy's sampling factor, see
    /// [`energy`](crate::energy)).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::sampling::Strategy;
    ///
    /// assert_eq!(Strategy::TargetPerSecond { per_sec: 1_000 }.scaled(4), Strategy::TargetPerSecond { per_sec: 250 });
    /// assert_eq!(
    ///     Strategy::LoadAdaptive { low_per_sec: 100, high_per_sec: 400 }.scaled(2),
    ///     Strategy::LoadAdaptive { low_per_sec: 50, high_per_sec: 200 }
    /// );
    /// assert_eq!(Strategy::Fixed { keep_one_in: 8 }.scaled(2), Strategy::Fixed { keep_one_in: 16 });
    /// ```
    pub fn scaled(self, factor: u32) -> Self {
        let f = u64::from(factor.max(1));
        match self {
            Self::Fixed { keep_one_in } => Self::Fixed { keep_one_in: keep_one_in.saturating_mul(f) },
            Self::TargetPerSecond { per_sec } => Self::TargetPerSecond { per_sec: (per_sec / f).max(1) },
            Self::LoadAdaptive { low_per_sec, high_per_sec } => {
                let low = (low_per_sec / f).max(1);
                Self::LoadAdaptive { low_per_sec: low, high_per_sec: (high_per_sec / f).max(2 * low) }
            }
        }
    }

    /// The N to use after a period that saw `per_sec` records a second under `current`.
    fn next_keep_one_in(self, current: u64, per_sec: f64, max: u64) -> u64 {
        match self {
            Self::Fixed { keep_one_in } => keep_one_in,
            Self::TargetPerSecond { per_sec: target } => {
                // `as` saturates (and maps NaN to 0); the clamp does the rest.
                ((per_sec / target as f64).ceil() as u64).clamp(1, max)
            }
            Self::LoadAdaptive { low_per_sec, high_per_sec } => {
                // Powers of two only, so that halving undoes doubling exactly.
                let max = 1u64 << (63 - max.leading_zeros());
                let (low, high) = (low_per_sec as f64, high_per_sec as f64);
                let mut n = current;
                // Both are powers of two and `n < max`, so `2 * n <= max`.
                while n < max && per_sec / n as f64 > high {
                    n *= 2;
                }
                // Not after a raise: that leaves more than `high / 2 >= low` per second.
                while n > 1 && per_sec / (n as f64) < low {
                    n /= 2;
                }
                n
            }
        }
    }
}

/// Something a sampler can record into: a Histogram or Summary without tags, or one series of
/// one (`.with(tags)`).
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Histogram, Summary};
/// use metrics_runtime::sampling::RecordWeighted;
///
/// static LATENCY: Histogram = Histogram::new();
/// LATENCY.record_weighted(0.2, 10); // one kept record standing for ten
/// assert_eq!(LATENCY.count(), 10);
/// assert!((LATENCY.sum() - 2.0).abs() < 1e-12);
///
/// static CHECKOUT: Summary = Summary::new();
/// RecordWeighted::record_weighted(&CHECKOUT.with(()), 3.0, 4);
/// assert_eq!(CHECKOUT.count(), 4);
/// assert_eq!(CHECKOUT.sum(), 12.0);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot record sampled values",
    label = "not an untagged Histogram or Summary, or one series of one",
    note = "a sampler records into a `Histogram`, a `Summary`, or one series of a tagged one (`.with(tags)`)"
)]
pub trait RecordWeighted {
    /// Records `value` as `weight` observations (see [`HistogramHandle::record_weighted`] and
    /// [`SummaryHandle::record_weighted`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    /// use metrics_runtime::sampling::RecordWeighted;
    ///
    /// static SIZES: Histogram = Histogram::new();
    /// SIZES.with(()).record_weighted(1.0, 3);
    /// assert_eq!(SIZES.count(), 3);
    /// ```
    fn record_weighted(&self, value: f64, weight: u64);
}

impl<const B: usize> RecordWeighted for Histogram<(), B> {
    #[inline]
    fn record_weighted(&self, value: f64, weight: u64) {
        self.with(()).record_weighted(value, weight);
    }
}

impl<const B: usize> RecordWeighted for HistogramHandle<'_, B> {
    #[inline]
    fn record_weighted(&self, value: f64, weight: u64) {
        HistogramHandle::record_weighted(self, value, weight);
    }
}

impl RecordWeighted for Summary<()> {
    #[inline]
    fn record_weighted(&self, value: f64, weight: u64) {
        self.with(()).record_weighted(value, weight);
    }
}

impl RecordWeighted for SummaryHandle<'_> {
    #[inline]
    fn record_weighted(&self, value: f64, weight: u64) {
        SummaryHandle::record_weighted(self, value, weight);
    }
}

impl<M: RecordWeighted + ?Sized> RecordWeighted for &M {
    #[inline]
    fn record_weighted(&self, value: f64, weight: u64) {
        (**self).record_weighted(value, weight);
    }
}

/// What every record touches (kept alone on its cache lines by `CachePadded`, so that the
/// adaptation state and neighbouring data do not bounce with it).
struct Hot {
    /// Records offered; each record's number is the value it read.
    seen: AtomicU64,
    /// Records kept.
    kept: AtomicU64,
    /// N, at least 1.
    keep_one_in: AtomicU64,
}

/// Adaptation state, only touched by the thread holding the lock.
struct Period {
    /// When the current measuring period began; `None` until the first adaptation check.
    start: Option<Instant>,
    /// `seen` at that moment.
    seen_at_start: u64,
}

/// Decides which records of a Histogram or Summary to keep: one in N, weighted by N so that
/// `_count` and `_sum` stay unbiased, with N fixed or adapted to the load. Exports its current
/// rate (1/N) and how many records it saw and kept.
///
/// Sampling is a separate object: a metric that is not sampled does not change and pays
/// nothing. Declare the sampler as a `static` beside the metric (every constructor is `const`),
/// one sampler per sampled stream, and record through [`record`](Self::record),
/// [`sample`](Self::sample) or a [`Sampled`] pair (which also works with `#[timed]`).
///
/// # How a record is kept
///
/// The sampler numbers records with one relaxed atomic counter and cuts the numbers into blocks
/// of N consecutive records. In each block exactly one record is kept, and it is recorded with
/// weight N ([`HistogramHandle::record_weighted`], [`SummaryHandle::record_weighted`]). The kept
/// position moves from block to block by a golden-ratio step (Fibonacci hashing of the block
/// number): over consecutive blocks it visits every position equally often, more evenly than
/// random draws would. So:
///
/// - **count**: with a fixed N, the weighted count is exact whenever the number of records is a
///   multiple of N, and off by less than N otherwise, however many threads record (each record
///   number is handed out once);
/// - **sum and buckets**: the kept position is not tied to the record's number modulo N, so a
///   stream that repeats itself (with period N, 2 or any other) is not aliased, and the weighted
///   sum and bucket counts are unbiased for any stream that does not follow the golden-ratio
///   sequence itself. For independent values, the kept values are an independent sample, and
///   one record per block is stratified sampling: its variance is at most that of keeping each
///   record independently with probability 1/N. With mean μ and standard deviation σ, the
///   relative standard error of `_sum` over `n` records is `(σ/μ)·√((N−1)/n)`; that of a bucket
///   holding a fraction `p` of them is `√((N−1)(1−p)/(p·n))`;
/// - **quantiles**: a summary's digest sees the kept values, a uniform sample of the stream, so
///   its quantiles carry the sampling error of `n/N` values on top of the digest's own.
///
/// When N changes, the blocks straddling the change are partly counted under each N: each
/// change adds an error below `N_old + N_new` to the count (zero on average), plus less than
/// `3 · max(N_old, N_new)` for each thread that numbered its record before the change and read
/// N after it (at most one record per thread). A sampler shared by several metrics is still
/// unbiased for each, but no longer exact in count: give each sampled stream its own sampler.
///
/// # Adaptation
///
/// [`Strategy::Fixed`] never changes N. [`Strategy::TargetPerSecond`] and
/// [`Strategy::LoadAdaptive`] pick a new N at most once per [`period`](Self::period) (1 s by
/// default), from the rate of records measured over the period. The measurement is off the hot
/// path: one record in [`CHECK_EVERY`] reads the clock, and when the period has elapsed, the
/// thread that wins a `try_lock` adapts while the others carry on. With
/// [`manual`](Self::manual), the hot path never reads the clock and N changes only when you
/// call [`adapt`](Self::adapt) or [`adapt_at`](Self::adapt_at) (which takes the time as an
/// argument, for tests and for adapting from a timer thread). Adaptive strategies start at
/// N = 1, and the first period starts at the first record.
///
/// # Export
///
/// [`current_keep_one_in`](Self::current_keep_one_in), [`current_rate`](Self::current_rate),
/// [`seen`](Self::seen), [`kept`](Self::kept), [`changes`](Self::changes) and
/// [`observed_per_sec`](Self::observed_per_sec) read the state; a gauge linked with
/// [`with_rate_gauge`](Self::with_rate_gauge) exports the rate with your other metrics.
///
/// # Examples
///
/// ```
/// use metrics_runtime::Histogram;
/// use metrics_runtime::sampling::AdaptiveSampler;
///
/// static LATENCY: Histogram = Histogram::new();
/// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(10);
///
/// for i in 0..1000 {
///     SAMPLER.record(&LATENCY, 0.001 * f64::from(i % 100));
/// }
/// assert_eq!(SAMPLER.seen(), 1000);
/// assert_eq!(SAMPLER.kept(), 100);
/// assert_eq!(LATENCY.count(), 1000); // 100 kept records, each weighing 10
/// assert_eq!(SAMPLER.current_rate(), 0.1);
/// ```
///
/// Adapting to the load, with the clock passed in (as tests do):
///
/// ```
/// use std::time::{Duration, Instant};
/// use metrics_runtime::Histogram;
/// use metrics_runtime::sampling::AdaptiveSampler;
///
/// static LATENCY: Histogram = Histogram::new();
/// static SAMPLER: AdaptiveSampler = AdaptiveSampler::target_per_sec(100).manual();
///
/// let t0 = Instant::now();
/// SAMPLER.adapt_at(t0); // starts the first period
/// for _ in 0..5_000 {
///     SAMPLER.record(&LATENCY, 0.01);
/// }
/// assert!(SAMPLER.adapt_at(t0 + Duration::from_secs(1))); // 5000 records/s seen
/// assert_eq!(SAMPLER.current_keep_one_in(), 50); // so keep 1 in 50: 100 a second
/// ```
pub struct AdaptiveSampler {
    hot: CachePadded<Hot>,
    strategy: Strategy,
    max_keep_one_in: u64,
    period: Duration,
    auto: bool,
    rate_gauge: Option<&'static Gauge>,
    /// How many times N changed.
    changes: AtomicU64,
    /// Records per second over the last complete period, as `f64` bits.
    observed: AtomicU64,
    state: Mutex<Period>,
}

impl AdaptiveSampler {
    const fn with_strategy(strategy: Strategy, keep_one_in: u64) -> Self {
        Self {
            hot: CachePadded::new(Hot {
                seen: AtomicU64::new(0),
                kept: AtomicU64::new(0),
                keep_one_in: AtomicU64::new(keep_one_in),
            }),
            strategy,
            max_keep_one_in: DEFAULT_MAX_KEEP_ONE_IN,
            period: DEFAULT_PERIOD,
            auto: true,
            rate_gauge: None,
            changes: AtomicU64::new(0),
            observed: AtomicU64::new(0),
            state: Mutex::new(Period { start: None, seen_at_start: 0 }),
        }
    }

    /// Keeps one record in `keep_one_in`, always ([`Strategy::Fixed`]).
    ///
    /// # Panics
    ///
    /// If `keep_one_in` is 0 (at compile time in a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Summary;
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static CHECKOUT: Summary = Summary::new();
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(100);
    /// for i in 0..10_000 {
    ///     SAMPLER.record(&CHECKOUT, f64::from(i % 7));
    /// }
    /// assert_eq!(SAMPLER.kept(), 100);
    /// assert_eq!(CHECKOUT.count(), 10_000);
    /// ```
    pub const fn fixed(keep_one_in: u32) -> Self {
        assert!(keep_one_in >= 1, "`keep_one_in` must be at least 1 (1 keeps every record)");
        Self::with_strategy(Strategy::Fixed { keep_one_in: keep_one_in as u64 }, keep_one_in as u64)
    }

    /// Keeps about `per_sec` records a second, whatever the load ([`Strategy::TargetPerSecond`]).
    ///
    /// Starts by keeping every record; the first N is chosen one period after the first record.
    ///
    /// # Panics
    ///
    /// If `per_sec` is 0 (at compile time in a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use metrics_runtime::Histogram;
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SIZES: Histogram = Histogram::new();
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::target_per_sec(10).manual();
    /// let t0 = Instant::now();
    /// SAMPLER.adapt_at(t0);
    /// for _ in 0..300 {
    ///     SAMPLER.record(&SIZES, 1.0);
    /// }
    /// SAMPLER.adapt_at(t0 + Duration::from_secs(1));
    /// assert_eq!(SAMPLER.current_keep_one_in(), 30);
    /// ```
    pub const fn target_per_sec(per_sec: u64) -> Self {
        assert!(per_sec >= 1, "the target must be at least 1 record per second");
        Self::with_strategy(Strategy::TargetPerSecond { per_sec }, 1)
    }

    /// Keeps the kept rate between `low_per_sec` and `high_per_sec` records a second, changing
    /// N by powers of two with hysteresis ([`Strategy::LoadAdaptive`]).
    ///
    /// Starts by keeping every record.
    ///
    /// # Panics
    ///
    /// If `low_per_sec` is 0 or `high_per_sec` is below `2 * low_per_sec` (a band narrower than
    /// one doubling would make N flap), at compile time in a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use metrics_runtime::Histogram;
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SIZES: Histogram = Histogram::new();
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::load_adaptive(100, 400).manual();
    /// let t0 = Instant::now();
    /// SAMPLER.adapt_at(t0);
    /// for _ in 0..1_000 {
    ///     SAMPLER.record(&SIZES, 1.0);
    /// }
    /// SAMPLER.adapt_at(t0 + Duration::from_secs(1));
    /// assert_eq!(SAMPLER.current_keep_one_in(), 4); // 1000/s is above 400/s: 250/s kept
    /// ```
    pub const fn load_adaptive(low_per_sec: u64, high_per_sec: u64) -> Self {
        assert!(low_per_sec >= 1, "the low watermark must be at least 1 record per second");
        assert!(
            high_per_sec / 2 >= low_per_sec,
            "the high watermark must be at least twice the low one, or N would flap"
        );
        Self::with_strategy(Strategy::LoadAdaptive { low_per_sec, high_per_sec }, 1)
    }

    /// Caps the N an adaptive strategy may choose (default [`DEFAULT_MAX_KEEP_ONE_IN`]); the
    /// load-adaptive strategy uses the largest power of two not above it. No effect on
    /// [`fixed`](Self::fixed).
    ///
    /// # Panics
    ///
    /// If `max` is 0 (at compile time in a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use metrics_runtime::Histogram;
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SIZES: Histogram = Histogram::new();
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::target_per_sec(1).with_max_keep_one_in(8).manual();
    /// let t0 = Instant::now();
    /// SAMPLER.adapt_at(t0);
    /// for _ in 0..1_000 {
    ///     SAMPLER.record(&SIZES, 1.0);
    /// }
    /// SAMPLER.adapt_at(t0 + Duration::from_secs(1));
    /// assert_eq!(SAMPLER.current_keep_one_in(), 8);
    /// ```
    pub const fn with_max_keep_one_in(mut self, max: u64) -> Self {
        assert!(max >= 1, "`max_keep_one_in` must be at least 1");
        self.max_keep_one_in = max;
        self
    }

    /// Sets how long each measuring period lasts (default [`DEFAULT_PERIOD`]): N changes at most
    /// once per period.
    ///
    /// # Panics
    ///
    /// If `period` is zero (at compile time in a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::target_per_sec(100).with_period(Duration::from_secs(10));
    /// assert_eq!(SAMPLER.period(), Duration::from_secs(10));
    /// ```
    pub const fn with_period(mut self, period: Duration) -> Self {
        assert!(!period.is_zero(), "the adaptation period must not be zero");
        self.period = period;
        self
    }

    /// Never reads the clock on the record path: N changes only at [`adapt`](Self::adapt) or
    /// [`adapt_at`](Self::adapt_at). For tests (with a simulated clock) and for adapting from a
    /// thread of your own.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use metrics_runtime::Histogram;
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SIZES: Histogram = Histogram::new();
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::target_per_sec(1).manual();
    /// let t0 = Instant::now();
    /// SAMPLER.adapt_at(t0);
    /// for _ in 0..10 {
    ///     SAMPLER.record(&SIZES, 1.0);
    /// }
    /// assert_eq!(SAMPLER.current_keep_one_in(), 1); // no adaptation yet
    /// SAMPLER.adapt_at(t0 + Duration::from_secs(2)); // 5 records/s over two seconds
    /// assert_eq!(SAMPLER.current_keep_one_in(), 5);
    /// ```
    pub const fn manual(mut self) -> Self {
        self.auto = false;
        self
    }

    /// Keeps `gauge` set to the current rate (1/N): at the first record, at every
    /// [`CHECK_EVERY`]-th record and at every adaptation. Export the gauge like any metric,
    /// e.g. from the same `#[derive(Metrics)]` struct as the sampled metric.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Gauge, Histogram, Metrics};
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// #[derive(Metrics)]
    /// struct AppMetrics {
    ///     /// Time to serve a request.
    ///     #[metric(unit = "seconds")]
    ///     request_seconds: Histogram,
    ///     /// Fraction of `request_seconds` records kept by its sampler.
    ///     request_seconds_sample_rate: Gauge,
    /// }
    ///
    /// static METRICS: AppMetrics = AppMetrics::new();
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(20).with_rate_gauge(&METRICS.request_seconds_sample_rate);
    ///
    /// SAMPLER.record(&METRICS.request_seconds, 0.1);
    /// let text = METRICS.render_prometheus();
    /// assert!(text.contains("request_seconds_sample_rate 0.05\n"));
    /// ```
    pub const fn with_rate_gauge(mut self, gauge: &'static Gauge) -> Self {
        self.rate_gauge = Some(gauge);
        self
    }

    /// Decides about one record: `Some(N)` if it is kept (record it with weight N), `None` if
    /// not. [`record`](Self::record) does this and the recording; call this directly to skip
    /// computing the value of a record that will not be kept.
    ///
    /// # Performance
    ///
    /// For a skipped record: one relaxed atomic add and one relaxed load on the sampler's own
    /// cache line, one division (32-bit for the first 2^32 records) and two multiplies; a kept
    /// record adds one relaxed atomic add. Never allocates or locks; one call in [`CHECK_EVERY`]
    /// also takes a cold path that reads the clock and, once a period, adapts.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SIZES: Histogram = Histogram::new();
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(8);
    /// for _ in 0..64 {
    ///     if let Some(weight) = SAMPLER.sample() {
    ///         let value = 2.0_f64.sqrt(); // computed for kept records only
    ///         SIZES.with(()).record_weighted(value, weight);
    ///     }
    /// }
    /// assert_eq!(SAMPLER.kept(), 8);
    /// assert_eq!(SIZES.count(), 64);
    /// ```
    #[inline]
    #[must_use = "a kept record must be recorded with the returned weight, or `_count` and `_sum` are biased"]
    pub fn sample(&self) -> Option<u64> {
        // Relaxed: the add only hands out unique record numbers; nothing is published with it.
        let n = self.hot.seen.fetch_add(1, Relaxed);
        if n % CHECK_EVERY == 0 {
            self.tick();
        }
        // Relaxed: N is a standalone value; a record that sees the old N a moment after a
        // change is counted under the old N (see the type's docs for the effect on counts).
        let keep_one_in = self.hot.keep_one_in.load(Relaxed);
        if n % keep_one_in == pick(n / keep_one_in, keep_one_in) {
            self.hot.kept.fetch_add(1, Relaxed);
            Some(keep_one_in)
        } else {
            None
        }
    }

    /// Records `value` into `metric` if this record is kept, with weight N.
    ///
    /// # Performance
    ///
    /// [`sample`](Self::sample), plus the metric's `record_weighted` for one record in N.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Tag};
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "route", rename_all = "lowercase")]
    /// enum Route { Home, Search }
    ///
    /// static LATENCY: Histogram<Route> = Histogram::new();
    /// static SEARCH_SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(5);
    /// for _ in 0..50 {
    ///     SEARCH_SAMPLER.record(&LATENCY.with(Route::Search), 0.3);
    /// }
    /// assert_eq!(LATENCY.with(Route::Search).count(), 50);
    /// assert!((LATENCY.with(Route::Search).sum() - 15.0).abs() < 1e-9);
    /// ```
    #[inline]
    pub fn record<M: RecordWeighted + ?Sized>(&self, metric: &M, value: f64) {
        if let Some(weight) = self.sample() {
            metric.record_weighted(value, weight);
        }
    }

    /// The slow path of every [`CHECK_EVERY`]-th record.
    #[cold]
    #[inline(never)]
    fn tick(&self) {
        if let Some(gauge) = self.rate_gauge {
            gauge.set(self.current_rate());
        }
        if self.auto {
            self.adapt_at(Instant::now());
        }
    }

    /// [`adapt_at`](Self::adapt_at) with the current time.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::target_per_sec(100).manual();
    /// assert!(!SAMPLER.adapt()); // starts the first period; nothing to adapt yet
    /// assert_eq!(SAMPLER.current_keep_one_in(), 1);
    /// ```
    pub fn adapt(&self) -> bool {
        self.adapt_at(Instant::now())
    }

    /// Ends the measuring period if it has lasted [`period`](Self::period) by `now`, and picks
    /// N for the next one from the records seen per second. Returns whether N changed.
    ///
    /// The first call only starts the first period. If another thread is adapting, returns
    /// `false` at once; a `now` that is not after the period's start changes nothing. The
    /// strategy is [`scaled`](Strategy::scaled) by the energy policy's
    /// [`sample_factor`](crate::energy::sample_factor) (1 unless on battery or saving power).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use metrics_runtime::Histogram;
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SIZES: Histogram = Histogram::new();
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::target_per_sec(1_000).manual();
    /// let t0 = Instant::now();
    /// assert!(!SAMPLER.adapt_at(t0));
    /// for _ in 0..20_000 {
    ///     SAMPLER.record(&SIZES, 1.0);
    /// }
    /// assert!(!SAMPLER.adapt_at(t0 + Duration::from_millis(500))); // period not over
    /// assert!(SAMPLER.adapt_at(t0 + Duration::from_secs(2))); // 10 000 records/s
    /// assert_eq!(SAMPLER.current_keep_one_in(), 10);
    /// assert_eq!(SAMPLER.observed_per_sec(), 10_000.0);
    /// ```
    pub fn adapt_at(&self, now: Instant) -> bool {
        let mut period = match self.state.try_lock() {
            Ok(guard) => guard,
            // Nothing under this lock can leave the state inconsistent.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return false,
        };
        let seen = self.seen();
        let Some(start) = period.start else {
            period.start = Some(now);
            period.seen_at_start = seen;
            return false;
        };
        let elapsed = now.saturating_duration_since(start);
        if elapsed < self.period {
            return false;
        }
        let per_sec = seen.wrapping_sub(period.seen_at_start) as f64 / elapsed.as_secs_f64();
        period.start = Some(now);
        period.seen_at_start = seen;
        self.observed.store(per_sec.to_bits(), Relaxed);
        let current = self.current_keep_one_in();
        // On battery or saving power, the energy policy asks for fewer records.
        let strategy = self.strategy.scaled(crate::energy::sample_factor());
        let next = strategy.next_keep_one_in(current, per_sec, self.max_keep_one_in);
        if next != current {
            // Relaxed: see `sample`.
            self.hot.keep_one_in.store(next, Relaxed);
            self.changes.fetch_add(1, Relaxed);
        }
        if let Some(gauge) = self.rate_gauge {
            gauge.set(1.0 / next as f64);
        }
        next != current
    }

    /// N: records per kept record, now.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(16);
    /// assert_eq!(SAMPLER.current_keep_one_in(), 16);
    /// ```
    #[inline]
    pub fn current_keep_one_in(&self) -> u64 {
        self.hot.keep_one_in.load(Relaxed)
    }

    /// The fraction of records kept now: 1/N.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(4);
    /// assert_eq!(SAMPLER.current_rate(), 0.25);
    /// ```
    #[inline]
    pub fn current_rate(&self) -> f64 {
        1.0 / self.current_keep_one_in() as f64
    }

    /// Records offered to the sampler since it was created.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(3);
    /// for _ in 0..7 {
    ///     let _ = SAMPLER.sample();
    /// }
    /// assert_eq!(SAMPLER.seen(), 7);
    /// ```
    pub fn seen(&self) -> u64 {
        self.hot.seen.load(Relaxed)
    }

    /// Records kept since the sampler was created.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(3);
    /// for _ in 0..9 {
    ///     let _ = SAMPLER.sample();
    /// }
    /// assert_eq!(SAMPLER.kept(), 3); // one per block of three
    /// ```
    pub fn kept(&self) -> u64 {
        self.hot.kept.load(Relaxed)
    }

    /// How many times adaptation changed N.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::target_per_sec(10).manual();
    /// let t0 = Instant::now();
    /// SAMPLER.adapt_at(t0);
    /// for _ in 0..100 {
    ///     let _ = SAMPLER.sample();
    /// }
    /// SAMPLER.adapt_at(t0 + Duration::from_secs(1));
    /// assert_eq!(SAMPLER.changes(), 1);
    /// ```
    pub fn changes(&self) -> u64 {
        self.changes.load(Relaxed)
    }

    /// Records offered per second over the last complete period; 0 before the first one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(1).manual();
    /// assert_eq!(SAMPLER.observed_per_sec(), 0.0);
    /// let t0 = Instant::now();
    /// SAMPLER.adapt_at(t0);
    /// for _ in 0..30 {
    ///     let _ = SAMPLER.sample();
    /// }
    /// SAMPLER.adapt_at(t0 + Duration::from_secs(3));
    /// assert_eq!(SAMPLER.observed_per_sec(), 10.0);
    /// ```
    pub fn observed_per_sec(&self) -> f64 {
        f64::from_bits(self.observed.load(Relaxed))
    }

    /// How N is chosen.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::sampling::{AdaptiveSampler, Strategy};
    ///
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::target_per_sec(500);
    /// assert_eq!(SAMPLER.strategy(), Strategy::TargetPerSecond { per_sec: 500 });
    /// ```
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The largest N an adaptive strategy may choose.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::target_per_sec(500).with_max_keep_one_in(100);
    /// assert_eq!(SAMPLER.max_keep_one_in(), 100);
    /// ```
    pub fn max_keep_one_in(&self) -> u64 {
        self.max_keep_one_in
    }

    /// The measuring period: N changes at most once per period.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(2);
    /// assert_eq!(SAMPLER.period(), Duration::from_secs(1));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Writes the current rate (1/N) into a gauge series, for a gauge not linked with
    /// [`with_rate_gauge`](Self::with_rate_gauge) (one series of a tagged gauge, say).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Gauge, Tag};
    /// use metrics_runtime::sampling::AdaptiveSampler;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "metric", rename_all = "snake_case")]
    /// enum Sampled { RequestSeconds, ResponseBytes }
    ///
    /// static SAMPLE_RATE: Gauge<Sampled> = Gauge::new();
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(8);
    /// SAMPLER.export_rate(SAMPLE_RATE.with(Sampled::RequestSeconds));
    /// assert_eq!(SAMPLE_RATE.with(Sampled::RequestSeconds).get(), 0.125);
    /// ```
    pub fn export_rate(&self, gauge: &GaugeSeries) {
        gauge.set(self.current_rate());
    }
}

/// The position of the kept record in block `block` of `keep_one_in` records: the fractional
/// part of `block / φ` (Fibonacci hashing), mapped onto `0..keep_one_in` by a multiply-shift.
///
/// Consecutive blocks step by 0.618 of a block, so the positions are equidistributed with low
/// discrepancy. Two multiplies: a SplitMix64 finalizer here cost 1.4 ns more per record
/// (`sampler/sample_1_in_10`), on the critical path between one record's atomic add and the
/// next.
#[inline(always)]
fn pick(block: u64, keep_one_in: u64) -> u64 {
    let z = block.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((u128::from(z) * u128::from(keep_one_in)) >> 64) as u64
}

impl fmt::Debug for AdaptiveSampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptiveSampler")
            .field("strategy", &self.strategy)
            .field("keep_one_in", &self.current_keep_one_in())
            .field("seen", &self.seen())
            .field("kept", &self.kept())
            .field("changes", &self.changes())
            .finish()
    }
}

/// A metric and the sampler for it, recorded together: `Sampled::new(&SAMPLER, &METRIC)`.
///
/// `const`, so it can be a `static`; it also implements [`RecordDuration`], so
/// `#[timed(SAMPLED)]` and `start_timer` sample their durations. (The clock is still read on
/// every timed call; only the recording is sampled.)
///
/// # Examples
///
/// ```
/// use metrics_runtime::{timed, Histogram};
/// use metrics_runtime::sampling::{AdaptiveSampler, Sampled};
///
/// static LATENCY: Histogram = Histogram::new();
/// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(10);
/// static SAMPLED_LATENCY: Sampled<'static, Histogram> = Sampled::new(&SAMPLER, &LATENCY);
///
/// #[timed(SAMPLED_LATENCY)]
/// fn handle() -> u32 {
///     42
/// }
///
/// for _ in 0..100 {
///     assert_eq!(handle(), 42);
/// }
/// assert_eq!(SAMPLER.kept(), 10);
/// assert_eq!(LATENCY.count(), 100);
/// ```
pub struct Sampled<'a, M: ?Sized> {
    sampler: &'a AdaptiveSampler,
    metric: &'a M,
}

impl<'a, M: ?Sized> Sampled<'a, M> {
    /// Pairs `metric` with `sampler`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Summary;
    /// use metrics_runtime::sampling::{AdaptiveSampler, Sampled};
    ///
    /// static CHECKOUT: Summary = Summary::new();
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(2);
    /// let sampled = Sampled::new(&SAMPLER, &CHECKOUT);
    /// sampled.record(1.0);
    /// sampled.record(1.0);
    /// assert_eq!(CHECKOUT.count(), 2);
    /// ```
    pub const fn new(sampler: &'a AdaptiveSampler, metric: &'a M) -> Self {
        Self { sampler, metric }
    }

    /// The sampler.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    /// use metrics_runtime::sampling::{AdaptiveSampler, Sampled};
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(3);
    /// let sampled = Sampled::new(&SAMPLER, &LATENCY);
    /// assert_eq!(sampled.sampler().current_keep_one_in(), 3);
    /// ```
    pub fn sampler(&self) -> &'a AdaptiveSampler {
        self.sampler
    }

    /// The metric.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    /// use metrics_runtime::sampling::{AdaptiveSampler, Sampled};
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(3);
    /// let sampled = Sampled::new(&SAMPLER, &LATENCY);
    /// for _ in 0..3 {
    ///     sampled.record(0.5);
    /// }
    /// assert_eq!(sampled.metric().count(), 3);
    /// ```
    pub fn metric(&self) -> &'a M {
        self.metric
    }
}

impl<M: RecordWeighted + ?Sized> Sampled<'_, M> {
    /// Records `value` if the sampler keeps this record. See [`AdaptiveSampler::record`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Histogram;
    /// use metrics_runtime::sampling::{AdaptiveSampler, Sampled};
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// static SAMPLER: AdaptiveSampler = AdaptiveSampler::fixed(4);
    /// static SAMPLED: Sampled<'static, Histogram> = Sampled::new(&SAMPLER, &LATENCY);
    /// for _ in 0..40 {
    ///     SAMPLED.record(0.25);
    /// }
    /// assert_eq!(LATENCY.count(), 40);
    /// assert_eq!(LATENCY.sum(), 10.0);
    /// ```
    #[inline]
    pub fn record(&self, value: f64) {
        self.sampler.record(self.metric, value);
    }
}

impl<M: RecordWeighted + ?Sized> RecordDuration for Sampled<'_, M> {
    #[inline]
    fn record_seconds(&self, seconds: f64, _: Outcome) {
        self.record(seconds);
    }
}

impl<M: ?Sized> Clone for Sampled<'_, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: ?Sized> Copy for Sampled<'_, M> {}

impl<M: fmt::Debug + ?Sized> fmt::Debug for Sampled<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sampled").field("sampler", self.sampler).field("metric", &self.metric).finish()
    }
}
