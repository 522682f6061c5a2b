//! The one container of a metric's series: [`Family`], one cell per combination of a tag set,
//! inline. [`Counter`](crate::Counter), [`ShardedCounter`](crate::ShardedCounter) and
//! [`Gauge`](crate::Gauge) are families of their cells; histograms and summaries keep their
//! series in one beside their bounds or configuration.

use core::fmt;

use crate::cell::{ConstInit, SeriesArray};
use crate::read::{process_start_time, MetricDesc, Series, StaticLabels, Visitor};
use crate::tag::TagSet;

/// The series of one metric: one cell `C` per combination of the tag set `T`, in a fixed array
/// inside the value. [`Family::with`] selects one by index arithmetic: no hashing, no lock, no
/// allocation.
///
/// Use it through its aliases: [`Counter<T>`](crate::Counter) (`Family<CounterSeries, T>`),
/// [`ShardedCounter<T>`](crate::ShardedCounter) and [`Gauge<T>`](crate::Gauge).
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, CounterSeries, Family, Tag};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(rename_all = "lowercase")]
/// enum Cache { Hit, Miss }
///
/// static LOOKUPS: Counter<Cache> = Counter::new();
/// let same: &Family<CounterSeries, Cache> = &LOOKUPS; // `Counter` is this family
/// same.with(Cache::Hit).inc();
/// assert_eq!(LOOKUPS.total(), 1);
/// assert_eq!(LOOKUPS.series().len(), 2);
/// ```
pub struct Family<C: ConstInit + Send + Sync, T: TagSet = ()> {
    series: T::Array<C>,
}

/// A series cell that the read protocol can read: what makes a [`Family`] of it a metric.
///
/// Implemented by [`CounterSeries`](crate::CounterSeries),
/// [`ShardedSeries`](crate::ShardedSeries) and [`GaugeSeries`](crate::GaugeSeries).
pub trait SeriesCell: ConstInit + Send + Sync {
    /// The metric type's name, for `Debug`.
    const TYPE_NAME: &'static str;

    /// Hands this series to `visitor` as a series of the metric `desc`.
    fn visit(&self, desc: &MetricDesc<'_>, series: Series<'_>, visitor: &mut dyn Visitor);
}

/// A cell that counts: [`CounterSeries`](crate::CounterSeries) and
/// [`ShardedSeries`](crate::ShardedSeries), whose families share their methods.
pub trait Count: SeriesCell {
    /// Adds one.
    fn inc(&self);
    /// Adds `n`.
    fn add(&self, n: u64);
    /// The current count.
    fn get(&self) -> u64;
}

impl<C: ConstInit + Send + Sync, T: TagSet> Family<C, T> {
    /// A family with every series at zero: a `const fn`, for `static`s.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Gauge, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Region { Eu, Us }
    ///
    /// static ERRORS: Counter<Region> = Counter::new();
    /// static QUEUE: Gauge = Gauge::new();
    /// assert_eq!(ERRORS.with(Region::Us).get(), 0);
    /// assert_eq!(QUEUE.get(), 0.0);
    /// ```
    pub const fn new() -> Self {
        Self { series: <T::Array<C> as ConstInit>::INIT }
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
    pub fn with(&self, tags: T) -> &C {
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
    pub fn series(&self) -> &[C] {
        self.series.as_slice()
    }
}

impl<C: SeriesCell, T: TagSet> Family<C, T> {
    /// Hands every series to `visitor` as series of the metric `desc` (what the derived
    /// [`Metrics::visit`](crate::Metrics::visit) does for this field): `begin_metric`, one
    /// callback per series in tag order, `end_metric`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics};
    /// use metrics_runtime::expose::PrometheusWriter;
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
        for (index, cell) in self.series().iter().enumerate() {
            let labels = StaticLabels::<T>::new(index);
            cell.visit(desc, Series { index, labels: &labels, created }, visitor);
        }
        visitor.end_metric(desc);
    }
}

impl<C: Count, T: TagSet> Family<C, T> {
    /// The sum over all series (wrapping, as each count does).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, ShardedCounter, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Cache { Hit, Miss }
    ///
    /// static LOOKUPS: Counter<Cache> = Counter::new();
    /// LOOKUPS.with(Cache::Hit).add(9);
    /// LOOKUPS.with(Cache::Miss).inc();
    /// assert_eq!(LOOKUPS.total(), 10);
    ///
    /// static PACKETS: ShardedCounter<Cache> = ShardedCounter::new();
    /// PACKETS.with(Cache::Hit).add(4);
    /// assert_eq!(PACKETS.total(), 4);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed load per series (per stripe, for sharded series); never allocates.
    pub fn total(&self) -> u64 {
        self.series().iter().fold(0u64, |acc, s| acc.wrapping_add(s.get()))
    }
}

impl<C: Count> Family<C, ()> {
    /// Adds one to the only series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Counter;
    ///
    /// static REQUESTS: Counter = Counter::new();
    /// REQUESTS.inc();
    /// assert_eq!(REQUESTS.get(), 1);
    /// ```
    ///
    /// # Performance
    ///
    /// As the series' own `inc`: one relaxed atomic add for a counter, a load and a store on
    /// an owned stripe for a sharded counter.
    #[inline(always)]
    pub fn inc(&self) {
        self.with(()).inc();
    }

    /// Adds `n` to the only series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::ShardedCounter;
    ///
    /// static BYTES: ShardedCounter = ShardedCounter::new();
    /// BYTES.add(1500);
    /// assert_eq!(BYTES.get(), 1500);
    /// ```
    ///
    /// # Performance
    ///
    /// As [`Family::inc`].
    #[inline(always)]
    pub fn add(&self, n: u64) {
        self.with(()).add(n);
    }

    /// The only series' count.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Counter;
    ///
    /// static JOBS: Counter = Counter::new();
    /// JOBS.add(4);
    /// assert_eq!(JOBS.get(), 4);
    /// ```
    pub fn get(&self) -> u64 {
        self.with(()).get()
    }
}

impl<C: ConstInit + Send + Sync, T: TagSet> Default for Family<C, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: SeriesCell + fmt::Debug, T: TagSet> fmt::Debug for Family<C, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let series = self.series();
        let mut d = f.debug_struct(C::TYPE_NAME);
        d.field("series", &series.len());
        if let [one] = series {
            d.field("value", one);
        }
        d.finish()
    }
}
