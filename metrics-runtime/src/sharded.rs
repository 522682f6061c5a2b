//! Counters for hot series under contention: striped across cache lines, or batched per thread.

use core::fmt;
use core::sync::atomic::{
    AtomicU64, AtomicU8, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use std::cell::Cell;

use crossbeam_utils::CachePadded;

use crate::cell::ConstInit;
use crate::counter::CounterSeries;
use crate::family::{Count, Family, SeriesCell};
use crate::read::{MetricDesc, Series, Visitor};

/// Stripes per series of a [`ShardedCounter`]: 8 owned (each by at most one thread at a time,
/// which adds to it without a locked instruction), and 4 shared by the threads that found no
/// free owned stripe (relaxed atomic adds).
///
/// # Examples
///
/// ```
/// use metrics_runtime::{ShardedSeries, SHARDS};
///
/// // One cache-line pair per stripe.
/// assert_eq!(std::mem::size_of::<ShardedSeries>(), SHARDS * 128);
/// ```
pub const SHARDS: usize = 12;

/// Stripes owned by one thread at a time: the first stripes of a series, one bit each in
/// [`OWNED`].
pub(crate) const OWNED_STRIPES: usize = 8;

/// Which owned stripes a live thread holds (bit `k`: stripe `k`, in every series at once).
/// Claimed with `Acquire`, released with `Release` when the thread exits, so that the next
/// owner's plain read-modify-write continues from the last value the previous owner stored.
static OWNED: AtomicU8 = AtomicU8::new(0);

/// One `AtomicU64` alone on its cache lines (`CachePadded`: 128 bytes on x86-64 and
/// aarch64, against adjacent-line prefetching), so that stripes written by different cores
/// never share a line.
type Padded = CachePadded<AtomicU64>;

/// One series of a [`ShardedCounter`]: [`SHARDS`] stripes on separate cache lines.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{ShardedCounter, ShardedSeries, Tag};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(rename_all = "lowercase")]
/// enum Direction { Rx, Tx }
///
/// static PACKETS: ShardedCounter<Direction> = ShardedCounter::new();
/// let rx: &ShardedSeries = PACKETS.with(Direction::Rx);
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| for _ in 0..250 { rx.inc() });
///     }
/// });
/// assert_eq!(rx.get(), 1000);
/// assert_eq!(PACKETS.with(Direction::Tx).get(), 0);
/// ```
pub struct ShardedSeries {
    stripes: [Padded; SHARDS],
}

impl ConstInit for ShardedSeries {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self { stripes: [const { CachePadded::new(AtomicU64::new(0)) }; SHARDS] };
}

/// Not yet assigned.
const UNSET: usize = usize::MAX;

/// Releases the current thread's owned stripe when the thread exits. Registered (first
/// touched) only when the thread claims one, so that the stripe of every record is a plain
/// thread-local read with no check for a destructor.
struct Owner;

impl Drop for Owner {
    fn drop(&mut self) {
        // From now on the thread's records go to a shared stripe: `STRIPE` has no destructor,
        // so the destructors of other thread-locals that run after this one still read it.
        let k = STRIPE.with(|s| s.replace(OWNED_STRIPES));
        if k < OWNED_STRIPES {
            // Release: this thread's last plain stores to stripe `k` happen before the next
            // owner's claim (an `Acquire` read of this write).
            OWNED.fetch_and(!(1 << k), Release);
        }
    }
}

thread_local! {
    /// The current thread's stripe, or `UNSET` before its first record.
    static STRIPE: Cell<usize> = const { Cell::new(UNSET) };
    static OWNER: Owner = const { Owner };
}

/// The stripe of the current thread: an owned one (below [`OWNED_STRIPES`]) when one is free
/// at its first use, else one of the shared ones, round robin. A thread whose thread-locals are
/// being destroyed (a record from another thread-local's destructor) uses a shared one.
#[inline(always)]
pub(crate) fn stripe() -> usize {
    STRIPE.with(|s| match s.get() {
        UNSET => assign(s),
        k => k,
    })
}

/// The shared stripes threads without an owned one are spread over: as many as the CPUs the
/// process may use (`available_parallelism`, which follows the cgroup quota), at most
/// `SHARDS - OWNED_STRIPES`: at most that many of those threads run at once, so more stripes
/// would only spread the same contention thinner. Owned stripes are always handed out: a
/// thread's own stripe is cheaper than any shared one, however few the CPUs.
pub(crate) fn shared_stripes() -> usize {
    static STRIPES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *STRIPES.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        cpus.clamp(1, SHARDS - OWNED_STRIPES)
    })
}

/// Claims a free owned stripe for this thread, or assigns a shared one.
#[cold]
#[inline(never)]
fn assign(slot: &Cell<usize>) -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let shared = || OWNED_STRIPES + NEXT.fetch_add(1, Relaxed) % shared_stripes();
    // The release at exit first: a thread whose thread-locals are being destroyed cannot
    // register it, and takes a shared stripe.
    let k = if OWNER.try_with(|_| ()).is_err() { shared() } else { claim().unwrap_or_else(shared) };
    slot.set(k);
    k
}

/// A free owned stripe, claimed for this thread; `None` if every one is taken.
fn claim() -> Option<usize> {
    let mut owned = OWNED.load(Relaxed);
    loop {
        let free = !owned;
        if free == 0 {
            return None;
        }
        let k = free.trailing_zeros() as usize;
        // Acquire: pairs with the `Release` of the previous owner's exit.
        match OWNED.compare_exchange_weak(owned, owned | (1 << k), Acquire, Relaxed) {
            Ok(_) => return Some(k),
            Err(now) => owned = now,
        }
    }
}

impl ShardedSeries {
    /// Adds one.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::ShardedCounter;
    ///
    /// static HITS: ShardedCounter = ShardedCounter::new();
    /// HITS.with(()).inc();
    /// HITS.with(()).inc();
    /// assert_eq!(HITS.with(()).get(), 2);
    /// ```
    ///
    /// # Performance
    ///
    /// A thread-local read, then, on a stripe this thread owns (the first 8 threads alive at
    /// once), a load and a store with no locked instruction (about a third of an atomic add);
    /// on a shared stripe, one relaxed atomic add. No two threads write one cache line unless
    /// more than 8 threads count at once.
    #[inline(always)]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::ShardedCounter;
    ///
    /// static BYTES: ShardedCounter = ShardedCounter::new();
    /// BYTES.with(()).add(1500);
    /// std::thread::spawn(|| BYTES.with(()).add(500)).join().unwrap(); // another thread, another stripe
    /// assert_eq!(BYTES.with(()).get(), 2000);
    /// ```
    ///
    /// # Performance
    ///
    /// As [`ShardedSeries::inc`].
    #[inline(always)]
    pub fn add(&self, n: u64) {
        let k = stripe();
        let cell: &AtomicU64 = &self.stripes[k];
        if k < OWNED_STRIPES {
            // This thread owns stripe `k` in every series until it exits: no other thread
            // writes it, so a load and a store lose nothing (readers load it atomically).
            cell.store(cell.load(Relaxed).wrapping_add(n), Relaxed);
        } else {
            cell.fetch_add(n, Relaxed);
        }
    }

    /// The current count: the sum of the stripes (each read once; concurrent adds may or may
    /// not be included, as with any counter read).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::ShardedCounter;
    ///
    /// static EVENTS: ShardedCounter = ShardedCounter::new();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| EVENTS.with(()).add(3));
    ///     s.spawn(|| EVENTS.with(()).add(4));
    /// });
    /// assert_eq!(EVENTS.with(()).get(), 7);
    /// ```
    ///
    /// # Performance
    ///
    /// [`SHARDS`] relaxed loads on separate cache lines: for reads and scrapes, not hot paths.
    pub fn get(&self) -> u64 {
        self.stripes.iter().fold(0u64, |acc, s| acc.wrapping_add(s.load(Relaxed)))
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
/// `SHARDS * 128` bytes (1.5 KiB) per series, instead of 8: use it for hot series, not wide tag
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
pub type ShardedCounter<T = ()> = Family<ShardedSeries, T>;

impl SeriesCell for ShardedSeries {
    const TYPE_NAME: &'static str = "ShardedCounter";

    #[inline]
    fn visit(&self, desc: &MetricDesc<'_>, series: Series<'_>, visitor: &mut dyn Visitor) {
        visitor.counter(desc, series, self.get());
    }
}

impl Count for ShardedSeries {
    #[inline(always)]
    fn inc(&self) {
        ShardedSeries::inc(self);
    }

    #[inline(always)]
    fn add(&self, n: u64) {
        ShardedSeries::add(self, n);
    }

    #[inline(always)]
    fn get(&self) -> u64 {
        ShardedSeries::get(self)
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
    /// With [`LocalBatch::adaptive`]: the bound before the energy policy's factor.
    base: Option<u64>,
}

impl<'a> LocalBatch<'a> {
    /// A batch publishing to `target` every `bound` increments (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, LocalBatch};
    ///
    /// static EVENTS: Counter = Counter::new();
    /// let mut batch = LocalBatch::new(EVENTS.with(()), 0); // taken as 1: publishes every increment
    /// batch.inc();
    /// assert_eq!(EVENTS.get(), 1);
    /// assert_eq!(batch.pending(), 0);
    /// ```
    pub fn new(target: &'a CounterSeries, bound: u64) -> Self {
        Self { target, pending: 0, bound: bound.max(1), base: None }
    }

    /// A batch whose bound follows the energy policy: `base` times
    /// [`energy::interval_factor`](crate::energy::interval_factor), read again at each publish
    /// (so a CPU-constrained process, or one on battery, publishes less often, in bigger
    /// batches, as its push exporters do).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, LocalBatch};
    ///
    /// static EVENTS: Counter = Counter::new();
    /// let batch = LocalBatch::adaptive(EVENTS.with(()), 64);
    /// assert_eq!(batch.bound(), 64 * u64::from(metrics_runtime::energy::interval_factor()));
    /// ```
    pub fn adaptive(target: &'a CounterSeries, base: u64) -> Self {
        let base = base.max(1);
        Self { target, pending: 0, bound: scaled(base), base: Some(base) }
    }

    /// Increments pending before a publish, now.
    pub fn bound(&self) -> u64 {
        self.bound
    }

    /// Adds one; publishes when `bound` increments are pending.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, LocalBatch};
    ///
    /// static EVENTS: Counter = Counter::new();
    /// let mut batch = LocalBatch::new(EVENTS.with(()), 3);
    /// batch.inc();
    /// batch.inc();
    /// assert_eq!((batch.pending(), EVENTS.get()), (2, 0));
    /// batch.inc(); // the bound: published
    /// assert_eq!((batch.pending(), EVENTS.get()), (0, 3));
    /// ```
    ///
    /// # Performance
    ///
    /// A local add and compare; one atomic add every `bound` calls.
    #[inline(always)]
    pub fn inc(&mut self) {
        self.add(1);
    }

    /// Adds `n`; publishes when `bound` increments are pending.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, LocalBatch};
    ///
    /// static RECEIVED_BYTES: Counter = Counter::new();
    /// let mut batch = LocalBatch::new(RECEIVED_BYTES.with(()), 4096);
    /// batch.add(1500);
    /// assert_eq!(RECEIVED_BYTES.get(), 0);
    /// batch.add(3000); // 4500 pending: over the bound, all of it is published
    /// assert_eq!(RECEIVED_BYTES.get(), 4500);
    /// ```
    ///
    /// # Performance
    ///
    /// As [`LocalBatch::inc`].
    #[inline(always)]
    pub fn add(&mut self, n: u64) {
        self.pending += n;
        if self.pending >= self.bound {
            self.flush();
        }
    }

    /// Publishes what is pending now.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, LocalBatch};
    ///
    /// static EVENTS: Counter = Counter::new();
    /// let mut batch = LocalBatch::new(EVENTS.with(()), 1_000);
    /// batch.add(10);
    /// batch.flush(); // e.g. before the worker goes idle
    /// assert_eq!(EVENTS.get(), 10);
    /// assert_eq!(batch.pending(), 0);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed atomic add when something is pending; nothing otherwise.
    #[inline]
    pub fn flush(&mut self) {
        if self.pending > 0 {
            self.target.add(self.pending);
            self.pending = 0;
        }
        if let Some(base) = self.base {
            self.bound = scaled(base);
        }
    }

    /// Increments counted but not yet published.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, LocalBatch};
    ///
    /// static EVENTS: Counter = Counter::new();
    /// let mut batch = LocalBatch::new(EVENTS.with(()), 100);
    /// batch.add(42);
    /// assert_eq!(batch.pending(), 42);
    /// assert_eq!(EVENTS.get(), 0); // what a scrape would miss right now
    /// ```
    pub fn pending(&self) -> u64 {
        self.pending
    }
}

/// `base` times the energy policy's interval factor.
fn scaled(base: u64) -> u64 {
    base.saturating_mul(u64::from(crate::energy::interval_factor()))
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
