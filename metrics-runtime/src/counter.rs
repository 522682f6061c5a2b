//! Monotonic counters.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::cell::{ConstInit, SeriesArray};
use crate::tag::TagSet;

/// One series of a [`Counter`]: a single `AtomicU64`.
#[repr(transparent)]
pub struct CounterSeries(AtomicU64);

impl ConstInit for CounterSeries {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self(AtomicU64::new(0));
}

impl CounterSeries {
    /// Adds one.
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
    /// # Performance
    ///
    /// One relaxed atomic add; never allocates.
    #[inline(always)]
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }

    /// The current count.
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
    /// A counter with every series at zero.
    pub const fn new() -> Self {
        Self { series: <T::Array<CounterSeries> as ConstInit>::INIT }
    }

    /// The series for `tags`.
    ///
    /// # Performance
    ///
    /// Index arithmetic on the tags' variants; no hashing, lock or allocation.
    #[inline(always)]
    pub fn with(&self, tags: T) -> &CounterSeries {
        &self.series.as_slice()[tags.index()]
    }

    /// Every series, in index order (see [`TagSet::from_index`]).
    pub fn series(&self) -> &[CounterSeries] {
        self.series.as_slice()
    }

    /// The sum over all series.
    pub fn total(&self) -> u64 {
        self.series().iter().fold(0u64, |acc, s| acc.wrapping_add(s.get()))
    }
}

impl Counter<()> {
    /// Adds one. See [`CounterSeries::inc`].
    #[inline(always)]
    pub fn inc(&self) {
        self.with(()).inc();
    }

    /// Adds `n`. See [`CounterSeries::add`].
    #[inline(always)]
    pub fn add(&self, n: u64) {
        self.with(()).add(n);
    }

    /// The current count.
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
