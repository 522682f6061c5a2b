//! Counters for hot series under contention: striped across cache lines, or batched per thread.

use core::fmt;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::cell::Cell;

use crate::cell::{ConstInit, SeriesArray};
use crate::counter::CounterSeries;
use crate::tag::TagSet;

/// Stripes per series of a [`ShardedCounter`].
pub const SHARDS: usize = 8;

/// One `AtomicU64` alone on its cache line (128 bytes: two lines, against adjacent-line
/// prefetching), so that stripes written by different cores never share a line.
#[repr(align(128))]
struct Padded(AtomicU64);

/// One series of a [`ShardedCounter`]: [`SHARDS`] stripes on separate cache lines.
pub struct ShardedSeries {
    stripes: [Padded; SHARDS],
}

impl ConstInit for ShardedSeries {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self { stripes: [const { Padded(AtomicU64::new(0)) }; SHARDS] };
}

/// The stripe of the current thread: threads are numbered in order of first use, so up to
/// [`SHARDS`] threads each get a stripe of their own.
#[inline(always)]
fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    STRIPE.with(|s| {
        let v = s.get();
        if v != usize::MAX {
            return v;
        }
        let v = NEXT.fetch_add(1, Relaxed) % SHARDS;
        s.set(v);
        v
    })
}

impl ShardedSeries {
    /// Adds one.
    ///
    /// # Performance
    ///
    /// A thread-local read and one relaxed atomic add on this thread's stripe: no contention
    /// between up to [`SHARDS`] threads.
    #[inline(always)]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`.
    #[inline(always)]
    pub fn add(&self, n: u64) {
        self.stripes[stripe()].0.fetch_add(n, Relaxed);
    }

    /// The current count: the sum of the stripes (each read once; concurrent adds may or may
    /// not be included, as with any counter read).
    pub fn get(&self) -> u64 {
        self.stripes.iter().fold(0u64, |acc, s| acc.wrapping_add(s.0.load(Relaxed)))
    }
}

impl fmt::Debug for ShardedSeries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ShardedSeries").field(&self.get()).finish()
    }
}

/// A counter whose series are striped across cache lines: for a few very hot series written by
/// many threads at once. Declared like [`Counter`](crate::Counter) in a `#[derive(Metrics)]`
/// struct, exported the same way.
///
/// # Memory
///
/// `SHARDS * 128` bytes (1 KiB) per series, instead of 8: use it for hot series, not wide tag
/// sets.
///
/// # Examples
///
/// ```
/// use metrics_runtime::ShardedCounter;
///
/// static REQUESTS: ShardedCounter = ShardedCounter::new();
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| for _ in 0..1000 { REQUESTS.inc() });
///     }
/// });
/// assert_eq!(REQUESTS.get(), 4000);
/// ```
pub struct ShardedCounter<T: TagSet = ()> {
    series: T::Array<ShardedSeries>,
}

impl<T: TagSet> ShardedCounter<T> {
    /// A counter with every series at zero.
    pub const fn new() -> Self {
        Self { series: <T::Array<ShardedSeries> as ConstInit>::INIT }
    }

    /// The series for `tags`.
    #[inline(always)]
    pub fn with(&self, tags: T) -> &ShardedSeries {
        &self.series.as_slice()[tags.index()]
    }

    /// Every series, in index order.
    pub fn series(&self) -> &[ShardedSeries] {
        self.series.as_slice()
    }

    /// The sum over all series.
    pub fn total(&self) -> u64 {
        self.series().iter().fold(0u64, |acc, s| acc.wrapping_add(s.get()))
    }
}

impl ShardedCounter<()> {
    /// Adds one. See [`ShardedSeries::inc`].
    #[inline(always)]
    pub fn inc(&self) {
        self.with(()).inc();
    }

    /// Adds `n`.
    #[inline(always)]
    pub fn add(&self, n: u64) {
        self.with(()).add(n);
    }

    /// The current count.
    pub fn get(&self) -> u64 {
        self.with(()).get()
    }
}

impl<T: TagSet> Default for ShardedCounter<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: TagSet> fmt::Debug for ShardedCounter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardedCounter").field("series", &self.series().len()).field("total", &self.total()).finish()
    }
}

/// Counts in a thread's own variable and publishes to a shared counter series every `bound`
/// increments and when dropped: the cheapest way for one thread to count a very hot event.
///
/// # Staleness
///
/// A scrape misses at most `bound - 1` increments per live batch (they are published at the
/// bound or when the batch is dropped, never lost; call [`LocalBatch::flush`] to publish
/// early). Keep the batch in a worker's loop, not across long idle periods.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, LocalBatch};
///
/// static EVENTS: Counter = Counter::new();
/// let mut batch = LocalBatch::new(EVENTS.with(()), 64);
/// for _ in 0..100 {
///     batch.inc();
/// }
/// assert_eq!(EVENTS.get(), 64); // published once, at the bound
/// drop(batch);
/// assert_eq!(EVENTS.get(), 100); // the rest, on drop
/// ```
pub struct LocalBatch<'a> {
    target: &'a CounterSeries,
    pending: u64,
    bound: u64,
}

impl<'a> LocalBatch<'a> {
    /// A batch publishing to `target` every `bound` increments (at least 1).
    pub fn new(target: &'a CounterSeries, bound: u64) -> Self {
        Self { target, pending: 0, bound: bound.max(1) }
    }

    /// Adds one; publishes when `bound` increments are pending.
    ///
    /// # Performance
    ///
    /// A local add and compare; one atomic add every `bound` calls.
    #[inline(always)]
    pub fn inc(&mut self) {
        self.add(1);
    }

    /// Adds `n`; publishes when `bound` increments are pending.
    #[inline(always)]
    pub fn add(&mut self, n: u64) {
        self.pending += n;
        if self.pending >= self.bound {
            self.flush();
        }
    }

    /// Publishes what is pending now.
    #[inline]
    pub fn flush(&mut self) {
        if self.pending > 0 {
            self.target.add(self.pending);
            self.pending = 0;
        }
    }

    /// Increments counted but not yet published.
    pub fn pending(&self) -> u64 {
        self.pending
    }
}

impl Drop for LocalBatch<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

impl fmt::Debug for LocalBatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalBatch").field("pending", &self.pending).field("bound", &self.bound).finish()
    }
}
