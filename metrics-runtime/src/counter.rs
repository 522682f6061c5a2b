//! Monotonic counters.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::cell::ConstInit;
use crate::family::{Count, Family, SeriesCell};
use crate::read::{MetricDesc, Series, Visitor};

/// One series of a [`Counter`]: a single `AtomicU64`.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, CounterSeries, Tag};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(rename_all = "lowercase")]
/// enum Cache { Hit, Miss }
///
/// static LOOKUPS: Counter<Cache> = Counter::new();
/// let hits: &CounterSeries = LOOKUPS.with(Cache::Hit); // keep the handle: no index math per call
/// hits.inc();
/// hits.add(2);
/// assert_eq!(hits.get(), 3);
/// assert_eq!(LOOKUPS.with(Cache::Miss).get(), 0);
/// ```
#[repr(transparent)]
pub struct CounterSeries(AtomicU64);

impl ConstInit for CounterSeries {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self(AtomicU64::new(0));
}

impl CounterSeries {
    /// Adds one.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Counter;
    ///
    /// static RETRIES: Counter = Counter::new();
    /// let series = RETRIES.with(());
    /// series.inc();
    /// series.inc();
    /// assert_eq!(series.get(), 2);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed atomic add; never allocates.
    #[inline(always)]
    pub fn inc(&self) {
        self.0.fetch_add(1, Relaxed);
    }

    /// Adds `n`.
    ///
    /// The count wraps at `u64::MAX` (after 584 years at a billion increments a second).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Counter;
    ///
    /// static BYTES: Counter = Counter::new();
    /// let series = BYTES.with(());
    /// series.add(1500);
    /// assert_eq!(series.get(), 1500);
    /// series.add(u64::MAX); // wraps
    /// assert_eq!(series.get(), 1499);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed atomic add; never allocates.
    #[inline(always)]
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }

    /// The current count.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Counter;
    ///
    /// static JOBS: Counter = Counter::new();
    /// assert_eq!(JOBS.with(()).get(), 0);
    /// JOBS.with(()).add(4);
    /// assert_eq!(JOBS.with(()).get(), 4);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed atomic load.
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

impl fmt::Debug for CounterSeries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CounterSeries").field(&self.get()).finish()
    }
}

/// A monotonic counter with one series per combination of the tag set `T`.
///
/// All series live in a fixed array inside the value; [`Counter::with`] selects one by index
/// arithmetic. Declare counters in a `#[derive(Metrics)]` struct; `Counter::new` is a `const fn`
/// for standalone statics.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Tag};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(name = "result", rename_all = "lowercase")]
/// enum Outcome { Hit, Miss }
///
/// static LOOKUPS: Counter<Outcome> = Counter::new();
/// LOOKUPS.with(Outcome::Hit).inc();
/// LOOKUPS.with(Outcome::Miss).add(2);
/// assert_eq!(LOOKUPS.with(Outcome::Hit).get(), 1);
/// assert_eq!(LOOKUPS.total(), 3);
///
/// static PLAIN: Counter = Counter::new();
/// PLAIN.inc();
/// assert_eq!(PLAIN.get(), 1);
/// ```
pub type Counter<T = ()> = Family<CounterSeries, T>;

impl SeriesCell for CounterSeries {
    const TYPE_NAME: &'static str = "Counter";

    #[inline]
    fn visit(&self, desc: &MetricDesc<'_>, series: Series<'_>, visitor: &mut dyn Visitor) {
        visitor.counter(desc, series, self.get());
    }
}

impl Count for CounterSeries {
    #[inline(always)]
    fn inc(&self) {
        CounterSeries::inc(self);
    }

    #[inline(always)]
    fn add(&self, n: u64) {
        CounterSeries::add(self, n);
    }

    #[inline(always)]
    fn get(&self) -> u64 {
        CounterSeries::get(self)
    }
}
