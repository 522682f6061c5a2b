//! Monotonic counters.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::cell::{ConstInit, SeriesArray};
use crate::read::{process_start_time, MetricDesc, Series, StaticLabels, Visitor};
use crate::tag::TagSet;

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
pub struct Counter<T: TagSet = ()> {
    series: T::Array<CounterSeries>,
}

impl<T: TagSet> Counter<T> {
    /// Hands every series to `visitor` as counters of the metric `desc` (what the derived
    /// [`Metrics::visit`](crate::Metrics::visit) does for this field): `begin_metric`, one
    /// `counter` per series in tag order, `end_metric`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics, PrometheusWriter};
    ///
    /// #[derive(Metrics)]
    /// struct Jobs {
    ///     /// Jobs run.
    ///     jobs_total: Counter,
    /// }
    ///
    /// let jobs = Jobs::new();
    /// jobs.jobs_total.add(2);
    /// let mut out = String::new();
    /// jobs.jobs_total.visit(&jobs.descriptors()[0], &mut PrometheusWriter::new(&mut out));
    /// assert!(out.ends_with("jobs_total 2\n"));
    /// ```
    pub fn visit(&self, desc: &MetricDesc<'_>, visitor: &mut dyn Visitor) {
        let created = process_start_time();
        visitor.begin_metric(desc);
        for (index, series) in self.series().iter().enumerate() {
            let labels = StaticLabels::<T>::new(index);
            visitor.counter(desc, Series { index, labels: &labels, created }, series.get());
        }
        visitor.end_metric(desc);
    }
    /// A counter with every series at zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// enum Region { Eu, Us }
    ///
    /// static REQUESTS: Counter<Region> = Counter::new(); // no registration, no lazy init
    /// assert_eq!(REQUESTS.series().len(), 2);
    /// assert_eq!(REQUESTS.total(), 0);
    ///
    /// let local: Counter = Counter::new(); // a plain value works too
    /// local.inc();
    /// assert_eq!(local.get(), 1);
    /// ```
    pub const fn new() -> Self {
        Self { series: <T::Array<CounterSeries> as ConstInit>::INIT }
    }

    /// The series for `tags`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "method", rename_all = "UPPERCASE")]
    /// enum Method { Get, Post }
    ///
    /// static REQUESTS: Counter<Method> = Counter::new();
    /// REQUESTS.with(Method::Post).inc();
    /// assert_eq!(REQUESTS.with(Method::Post).get(), 1);
    /// assert_eq!(REQUESTS.with(Method::Get).get(), 0);
    /// ```
    ///
    /// # Performance
    ///
    /// Index arithmetic on the tags' variants; no hashing, lock or allocation.
    #[inline(always)]
    pub fn with(&self, tags: T) -> &CounterSeries {
        &self.series.as_slice()[tags.index()]
    }

    /// Every series, in index order (see [`TagSet::from_index`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Tag, TagSet};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Queue { Fast, Slow }
    ///
    /// static JOBS: Counter<Queue> = Counter::new();
    /// JOBS.with(Queue::Slow).add(3);
    /// let counts: Vec<(Queue, u64)> =
    ///     JOBS.series().iter().enumerate().map(|(i, s)| (<Queue as TagSet>::from_index(i).unwrap(), s.get())).collect();
    /// assert_eq!(counts, [(Queue::Fast, 0), (Queue::Slow, 3)]);
    /// ```
    pub fn series(&self) -> &[CounterSeries] {
        self.series.as_slice()
    }

    /// The sum over all series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Cache { Hit, Miss }
    ///
    /// static LOOKUPS: Counter<Cache> = Counter::new();
    /// LOOKUPS.with(Cache::Hit).add(9);
    /// LOOKUPS.with(Cache::Miss).inc();
    /// assert_eq!(LOOKUPS.total(), 10);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed load per series; never allocates.
    pub fn total(&self) -> u64 {
        self.series().iter().fold(0u64, |acc, s| acc.wrapping_add(s.get()))
    }
}

impl Counter<()> {
    /// Adds one. See [`CounterSeries::inc`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Counter;
    ///
    /// static ERRORS: Counter = Counter::new();
    /// ERRORS.inc();
    /// assert_eq!(ERRORS.get(), 1);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed atomic add; never allocates.
    #[inline(always)]
    pub fn inc(&self) {
        self.with(()).inc();
    }

    /// Adds `n`. See [`CounterSeries::add`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Counter;
    ///
    /// static RECEIVED_BYTES: Counter = Counter::new();
    /// RECEIVED_BYTES.add(512);
    /// RECEIVED_BYTES.add(1024);
    /// assert_eq!(RECEIVED_BYTES.get(), 1536);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed atomic add; never allocates.
    #[inline(always)]
    pub fn add(&self, n: u64) {
        self.with(()).add(n);
    }

    /// The current count.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Counter;
    ///
    /// static LOGINS: Counter = Counter::new();
    /// LOGINS.add(2);
    /// assert_eq!(LOGINS.get(), 2);
    /// ```
    #[inline]
    pub fn get(&self) -> u64 {
        self.with(()).get()
    }
}

impl<T: TagSet> Default for Counter<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: TagSet> fmt::Debug for Counter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counter").field("series", &self.series().len()).field("total", &self.total()).finish()
    }
}
