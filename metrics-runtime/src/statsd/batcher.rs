//! The bounded queue between the code that records individual values and the task that pushes
//! them: [`AsyncMetricsBatcher`], its keys and its backpressure policies.

use core::fmt;
use core::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, TryLockError};

use crate::{Tag, TagSet};

use super::ring::Ring;
use super::stats::StatsdStats;

/// The StatsD type a record is pushed as.
///
/// # Examples
///
/// ```
/// use metrics_runtime::statsd::{RecordKind, StatsdKey};
///
/// static QUEUE_WAIT_MS: StatsdKey = StatsdKey::new("queue.wait", RecordKind::Distribution);
/// assert_eq!(QUEUE_WAIT_MS.kind(), RecordKind::Distribution);
/// assert_eq!(StatsdKey::<()>::gauge("queue.depth").kind(), RecordKind::Gauge);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A timing in milliseconds: `name:12.5|ms`. Every StatsD server aggregates these into
    /// count, sum and percentiles.
    Timing,
    /// A DogStatsD histogram: `name:12.5|h`.
    Histogram,
    /// A DogStatsD distribution (aggregated by the Datadog backend): `name:12.5|d`.
    Distribution,
    /// A counter increment: `name:3|c`.
    Count,
    /// A gauge value: `name:7|g`.
    Gauge,
}

impl RecordKind {
    /// The type field of the StatsD line: `ms`, `h`, `d`, `c` or `g`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::RecordKind;
    ///
    /// assert_eq!(RecordKind::Timing.type_suffix(), "ms");
    /// assert_eq!(RecordKind::Count.type_suffix(), "c");
    /// assert_eq!(RecordKind::Distribution.type_suffix(), "d");
    /// ```
    pub const fn type_suffix(self) -> &'static str {
        match self {
            RecordKind::Timing => "ms",
            RecordKind::Histogram => "h",
            RecordKind::Distribution => "d",
            RecordKind::Count => "c",
            RecordKind::Gauge => "g",
        }
    }
}

/// What a queued record points at: the key without its tag set type.
#[derive(Debug)]
pub(crate) struct KeyMeta {
    pub(crate) name: &'static str,
    pub(crate) kind: RecordKind,
    pub(crate) tag_names: &'static [&'static str],
    pub(crate) label_value: fn(usize, usize) -> &'static str,
}

/// Whether `name` can be a StatsD metric name: not empty, and none of the bytes that delimit
/// the line (`:`, `|`, `@`, `#`, `,`) nor whitespace.
pub(crate) const fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if matches!(bytes[i], b':' | b'|' | b'@' | b'#' | b',' | b' ' | b'\t' | b'\n' | b'\r') {
            return false;
        }
        i += 1;
    }
    true
}

/// A StatsD series that individual records are pushed to through an [`AsyncMetricsBatcher`]:
/// a name, a [`RecordKind`] and a tag set `T` whose values become DogStatsD tags.
///
/// Declare keys as `static`s: the batcher queues a reference to the key, so recording needs
/// no string and no allocation.
///
/// # Examples
///
/// ```
/// use metrics_runtime::statsd::{RecordKind, StatsdKey};
/// use metrics_runtime::Tag;
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(name = "region", rename_all = "lowercase")]
/// enum Region { Eu, Us }
///
/// static CHECKOUT_MS: StatsdKey<Region> = StatsdKey::timing("shop.checkout");
/// static RETRIES: StatsdKey = StatsdKey::count("shop.retries");
/// assert_eq!(CHECKOUT_MS.name(), "shop.checkout");
/// assert_eq!(RETRIES.kind(), RecordKind::Count);
/// ```
///
/// A name StatsD cannot carry does not compile in a `static`:
///
/// ```compile_fail
/// use metrics_runtime::statsd::StatsdKey;
/// static BAD: StatsdKey = StatsdKey::timing("shop:checkout");
/// ```
pub struct StatsdKey<T: TagSet = ()> {
    meta: KeyMeta,
    _tags: PhantomData<fn(T) -> T>,
}

impl<T: TagSet> StatsdKey<T> {
    /// A key named `name` whose records are pushed as `kind`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{RecordKind, StatsdKey};
    /// use metrics_runtime::Tag;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "region", rename_all = "lowercase")]
    /// enum Region { Eu, Us }
    ///
    /// static PAYLOAD_BYTES: StatsdKey<Region> = StatsdKey::new("api.payload_bytes", RecordKind::Histogram);
    /// assert_eq!(PAYLOAD_BYTES.name(), "api.payload_bytes");
    /// assert_eq!(PAYLOAD_BYTES.kind(), RecordKind::Histogram);
    /// ```
    ///
    /// A name StatsD cannot carry does not compile in a `static`:
    ///
    /// ```compile_fail
    /// use metrics_runtime::statsd::{RecordKind, StatsdKey};
    ///
    /// static BAD: StatsdKey = StatsdKey::new("api payload", RecordKind::Histogram);
    /// ```
    ///
    /// # Panics
    ///
    /// If `name` is empty or contains `:`, `|`, `@`, `#`, `,` or whitespace (at compile time in
    /// a `static`).
    pub const fn new(name: &'static str, kind: RecordKind) -> Self {
        assert!(
            valid_name(name),
            "a StatsD key name must be non-empty and contain none of `:`, `|`, `@`, `#`, `,` or whitespace"
        );
        Self { meta: KeyMeta { name, kind, tag_names: T::NAMES, label_value: T::label_value }, _tags: PhantomData }
    }

    /// A timing key (`|ms`): record values in milliseconds.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{RecordKind, StatsdKey};
    ///
    /// static CHECKOUT_MS: StatsdKey = StatsdKey::timing("shop.checkout");
    /// assert_eq!(CHECKOUT_MS.kind(), RecordKind::Timing);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`StatsdKey::new`]: for a name StatsD cannot carry (at compile time in a `static`).
    pub const fn timing(name: &'static str) -> Self {
        Self::new(name, RecordKind::Timing)
    }

    /// A DogStatsD histogram key (`|h`).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{RecordKind, StatsdKey};
    ///
    /// static BATCH_SIZE: StatsdKey = StatsdKey::histogram("ingest.batch_size");
    /// assert_eq!(BATCH_SIZE.kind(), RecordKind::Histogram);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`StatsdKey::new`]: for a name StatsD cannot carry (at compile time in a `static`).
    pub const fn histogram(name: &'static str) -> Self {
        Self::new(name, RecordKind::Histogram)
    }

    /// A DogStatsD distribution key (`|d`).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{RecordKind, StatsdKey};
    ///
    /// static RESPONSE_MS: StatsdKey = StatsdKey::distribution("api.response");
    /// assert_eq!(RESPONSE_MS.kind(), RecordKind::Distribution);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`StatsdKey::new`]: for a name StatsD cannot carry (at compile time in a `static`).
    pub const fn distribution(name: &'static str) -> Self {
        Self::new(name, RecordKind::Distribution)
    }

    /// A counter key (`|c`): each record is an increment.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{RecordKind, StatsdKey};
    ///
    /// static RETRIES: StatsdKey = StatsdKey::count("client.retries");
    /// assert_eq!(RETRIES.kind(), RecordKind::Count);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`StatsdKey::new`]: for a name StatsD cannot carry (at compile time in a `static`).
    pub const fn count(name: &'static str) -> Self {
        Self::new(name, RecordKind::Count)
    }

    /// A gauge key (`|g`): each record is the new value.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{RecordKind, StatsdKey};
    ///
    /// static POOL_SIZE: StatsdKey = StatsdKey::gauge("db.pool_size");
    /// assert_eq!(POOL_SIZE.kind(), RecordKind::Gauge);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`StatsdKey::new`]: for a name StatsD cannot carry (at compile time in a `static`).
    pub const fn gauge(name: &'static str) -> Self {
        Self::new(name, RecordKind::Gauge)
    }

    /// The StatsD name.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::StatsdKey;
    ///
    /// static CHECKOUT_MS: StatsdKey = StatsdKey::timing("shop.checkout");
    /// assert_eq!(CHECKOUT_MS.name(), "shop.checkout");
    /// ```
    pub fn name(&self) -> &'static str {
        self.meta.name
    }

    /// The StatsD type.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{RecordKind, StatsdKey};
    ///
    /// static ERRORS: StatsdKey = StatsdKey::count("api.errors");
    /// assert_eq!(ERRORS.kind(), RecordKind::Count);
    /// assert_eq!(ERRORS.kind().type_suffix(), "c");
    /// ```
    pub fn kind(&self) -> RecordKind {
        self.meta.kind
    }
}

impl<T: TagSet> fmt::Debug for StatsdKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatsdKey")
            .field("name", &self.meta.name)
            .field("kind", &self.meta.kind)
            .field("tags", &self.meta.tag_names)
            .finish()
    }
}

/// One queued record: 32 bytes on 64-bit targets, `Copy`, no heap.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record {
    pub(crate) key: &'static KeyMeta,
    pub(crate) tags: usize,
    pub(crate) value: f64,
    /// How many events the record stands for (the inverse of its sample rate).
    pub(crate) weight: f64,
}

impl Record {
    fn same_series(&self, other: &Record) -> bool {
        core::ptr::eq(self.key, other.key) && self.tags == other.tags
    }
}

/// What the batcher does with a record that finds its queue full. Also the `policy` tag of
/// `statsd_dropped_total`.
///
/// # Examples
///
/// ```
/// use metrics_runtime::statsd::{AsyncMetricsBatcher, BackpressurePolicy, BatcherConfig, StatsdKey};
///
/// static HITS: StatsdKey = StatsdKey::count("cache.hits");
///
/// // A queue of 2 and 10 records of one series, under each policy.
/// let run = |policy| {
///     let batcher = AsyncMetricsBatcher::new(BatcherConfig { capacity: 2, policy, coalesce_slots: 4 });
///     for _ in 0..10 {
///         batcher.record(&HITS, (), 1.0);
///     }
///     (batcher.len(), batcher.stats().dropped())
/// };
/// assert_eq!(run(BackpressurePolicy::DropNewest), (2, 8)); // the first two kept
/// assert_eq!(run(BackpressurePolicy::DropOldest), (2, 8)); // the last two kept
/// assert_eq!(run(BackpressurePolicy::Coalesce), (3, 0)); // the other 8 merged into one record
/// ```
#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[tag(name = "policy", rename_all = "snake_case")]
pub enum BackpressurePolicy {
    /// Refuse the new record: what is queued is kept and sent. Cheapest; under a sustained
    /// overload the pushed values are the oldest ones.
    #[default]
    DropNewest,
    /// Evict the oldest queued record to make room: the pushed values are the most recent.
    DropOldest,
    /// Merge the record into a record of the same series held in a fixed coalescing table:
    /// counts add up, a gauge keeps the newest value, and samples (timings, histograms,
    /// distributions) keep one value chosen at random in proportion to the records it stands
    /// for, sent with `|@rate` so that the server still counts every record. A record is only
    /// dropped when its table slot holds another series or stays busy.
    Coalesce,
}

/// The settings of an [`AsyncMetricsBatcher`].
///
/// # Examples
///
/// ```
/// use metrics_runtime::statsd::{AsyncMetricsBatcher, BackpressurePolicy, BatcherConfig};
///
/// let config = BatcherConfig { capacity: 1000, policy: BackpressurePolicy::Coalesce, ..BatcherConfig::default() };
/// let batcher = AsyncMetricsBatcher::new(config);
/// assert_eq!(batcher.capacity(), 1024); // rounded up to a power of two
/// assert_eq!(batcher.coalesce_slots(), 1024);
/// assert_eq!(batcher.policy(), BackpressurePolicy::Coalesce);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatcherConfig {
    /// Records the queue holds, rounded up to a power of two. Size it for the records made
    /// between two flushes at peak. Default 8192 (320 KiB: 40 bytes a record).
    pub capacity: usize,
    /// What happens to a record that finds the queue full. Default
    /// [`BackpressurePolicy::DropNewest`].
    pub policy: BackpressurePolicy,
    /// Slots of the coalescing table used by [`BackpressurePolicy::Coalesce`], rounded up to a
    /// power of two; one series per slot. Default 1024 (40 KiB: 40 bytes a slot).
    pub coalesce_slots: usize,
}

impl Default for BatcherConfig {
    fn default() -> Self {
        Self { capacity: 8192, policy: BackpressurePolicy::DropNewest, coalesce_slots: 1024 }
    }
}

/// Slots tried after the one a record hashes to, before a coalesced record is dropped.
const COALESCE_PROBES: usize = 4;
/// Attempts on a slot that another thread holds, before moving on.
const COALESCE_SPINS: usize = 16;

struct Inner {
    ring: Ring<Record>,
    policy: BackpressurePolicy,
    coalesce: Box<[Mutex<Option<Record>>]>,
    coalesce_pending: AtomicUsize,
    seed: AtomicU64,
    stats: Arc<StatsdStats>,
}

/// A bounded queue of individual records (timings, histogram samples, increments) between the
/// application and the StatsD push task.
///
/// [`record`](Self::record) never blocks, never allocates and takes no lock: it claims a slot
/// of a fixed ring with a compare-and-swap and writes 32 bytes. When the ring is full, the
/// [`BackpressurePolicy`] decides what is lost, and every loss is counted in
/// [`StatsdStats::dropped_total`]. Memory is fixed at construction: `capacity` records plus
/// `coalesce_slots` coalescing slots, whatever the record rate and however long the target
/// is down.
///
/// The batcher is a handle: clones share one queue. One [`StatsdExporter`](super::StatsdExporter)
/// drains it at each flush.
///
/// # Examples
///
/// ```
/// use metrics_runtime::statsd::{AsyncMetricsBatcher, BackpressurePolicy, BatcherConfig, StatsdKey};
///
/// static LATENCY_MS: StatsdKey = StatsdKey::timing("api.latency");
///
/// let batcher = AsyncMetricsBatcher::new(BatcherConfig {
///     capacity: 4,
///     policy: BackpressurePolicy::DropNewest,
///     ..BatcherConfig::default()
/// });
/// for i in 0..10 {
///     batcher.record(&LATENCY_MS, (), i as f64);
/// }
/// assert_eq!(batcher.len(), 4);
/// assert_eq!(batcher.stats().dropped_total.with(BackpressurePolicy::DropNewest).get(), 6);
/// ```
#[derive(Clone)]
pub struct AsyncMetricsBatcher {
    inner: Arc<Inner>,
}

impl AsyncMetricsBatcher {
    /// A batcher with its own, empty [`StatsdStats`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{AsyncMetricsBatcher, BatcherConfig};
    ///
    /// let batcher = AsyncMetricsBatcher::new(BatcherConfig::default());
    /// assert!(batcher.is_empty());
    /// assert_eq!(batcher.capacity(), 8192);
    /// assert_eq!(batcher.stats().dropped(), 0);
    /// ```
    pub fn new(config: BatcherConfig) -> Self {
        let slots = config.coalesce_slots.max(1).next_power_of_two();
        Self {
            inner: Arc::new(Inner {
                ring: Ring::new(config.capacity),
                policy: config.policy,
                coalesce: (0..slots).map(|_| Mutex::new(None)).collect(),
                coalesce_pending: AtomicUsize::new(0),
                seed: AtomicU64::new(0x853C_49E6_748F_EA9B),
                stats: Arc::new(StatsdStats::new()),
            }),
        }
    }

    /// Queues one record of `value` for the series `tags` of `key`.
    ///
    /// NaN and infinite values are refused and counted in [`StatsdStats::invalid_total`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{AsyncMetricsBatcher, BatcherConfig, StatsdKey};
    /// use metrics_runtime::Tag;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "region", rename_all = "lowercase")]
    /// enum Region { Eu, Us }
    ///
    /// static CHECKOUT_MS: StatsdKey<Region> = StatsdKey::timing("shop.checkout");
    ///
    /// let batcher = AsyncMetricsBatcher::new(BatcherConfig::default());
    /// batcher.record(&CHECKOUT_MS, Region::Eu, 31.5);
    /// batcher.record(&CHECKOUT_MS, Region::Us, f64::NAN); // refused
    /// assert_eq!(batcher.len(), 1);
    /// assert_eq!(batcher.stats().invalid_total.get(), 1);
    /// ```
    ///
    /// # Performance
    ///
    /// A few atomic operations on a fixed ring; never blocks, allocates, locks or makes a
    /// system call. When the ring is full, the policy's slow path runs: for `Coalesce`, a
    /// non-blocking try-lock of one slot of the coalescing table.
    #[inline]
    pub fn record<T: TagSet>(&self, key: &'static StatsdKey<T>, tags: T, value: f64) {
        self.push(Record { key: &key.meta, tags: tags.index(), value, weight: 1.0 });
    }

    /// Queues one record that stands for `1 / rate` events: the caller recorded only a
    /// fraction `rate` of them. Pushed with `|@rate`, so the server scales its counts back up.
    /// A `rate` outside `(0, 1]` is taken as 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{AsyncMetricsBatcher, BatcherConfig, StatsdKey};
    ///
    /// static QUERY_MS: StatsdKey = StatsdKey::timing("db.query");
    ///
    /// let batcher = AsyncMetricsBatcher::new(BatcherConfig::default());
    /// for i in 0..1000 {
    ///     if i % 10 == 0 {
    ///         // One query in ten is recorded, pushed as `db.query:4.2|ms|@0.1`.
    ///         batcher.record_sampled(&QUERY_MS, (), 4.2, 0.1);
    ///     }
    /// }
    /// assert_eq!(batcher.len(), 100);
    /// ```
    ///
    /// # Performance
    ///
    /// As [`record`](Self::record), plus a division.
    #[inline]
    pub fn record_sampled<T: TagSet>(&self, key: &'static StatsdKey<T>, tags: T, value: f64, rate: f64) {
        let weight = if rate > 0.0 && rate <= 1.0 { 1.0 / rate } else { 1.0 };
        self.push(Record { key: &key.meta, tags: tags.index(), value, weight });
    }

    #[inline]
    fn push(&self, record: Record) {
        if !record.value.is_finite() {
            self.invalid();
            return;
        }
        if let Err(record) = self.inner.ring.push(record) {
            self.inner.overflow(record);
        }
    }

    #[cold]
    #[inline(never)]
    fn invalid(&self) {
        self.inner.stats.invalid_total.inc();
    }

    /// Records waiting to be pushed: queued plus held in the coalescing table.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{AsyncMetricsBatcher, BackpressurePolicy, BatcherConfig, StatsdKey};
    ///
    /// static JOBS: StatsdKey = StatsdKey::count("worker.jobs");
    ///
    /// let batcher =
    ///     AsyncMetricsBatcher::new(BatcherConfig { capacity: 4, policy: BackpressurePolicy::Coalesce, coalesce_slots: 8 });
    /// for _ in 0..6 {
    ///     batcher.record(&JOBS, (), 1.0);
    /// }
    /// assert_eq!(batcher.len(), 5); // 4 queued, and 1 coalesced record standing for 2
    /// ```
    pub fn len(&self) -> usize {
        self.inner.ring.len() + self.inner.coalesce_pending.load(Relaxed)
    }

    /// Whether no record is waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{AsyncMetricsBatcher, BatcherConfig, StatsdKey};
    ///
    /// static JOBS: StatsdKey = StatsdKey::count("worker.jobs");
    ///
    /// let batcher = AsyncMetricsBatcher::new(BatcherConfig::default());
    /// assert!(batcher.is_empty());
    /// batcher.record(&JOBS, (), 1.0);
    /// assert!(!batcher.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of records the queue holds (the configured capacity rounded up to a power of
    /// two).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{AsyncMetricsBatcher, BatcherConfig};
    ///
    /// let batcher = AsyncMetricsBatcher::new(BatcherConfig { capacity: 3000, ..BatcherConfig::default() });
    /// assert_eq!(batcher.capacity(), 4096);
    /// ```
    pub fn capacity(&self) -> usize {
        self.inner.ring.capacity()
    }

    /// The number of slots of the coalescing table.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{AsyncMetricsBatcher, BatcherConfig};
    ///
    /// let batcher = AsyncMetricsBatcher::new(BatcherConfig { coalesce_slots: 100, ..BatcherConfig::default() });
    /// assert_eq!(batcher.coalesce_slots(), 128);
    /// ```
    pub fn coalesce_slots(&self) -> usize {
        self.inner.coalesce.len()
    }

    /// The backpressure policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::statsd::{AsyncMetricsBatcher, BackpressurePolicy, BatcherConfig};
    ///
    /// let batcher = AsyncMetricsBatcher::new(BatcherConfig::default());
    /// assert_eq!(batcher.policy(), BackpressurePolicy::DropNewest);
    /// ```
    pub fn policy(&self) -> BackpressurePolicy {
        self.inner.policy
    }

    /// The counters of this batcher and of the exporter that drains it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use metrics_runtime::statsd::{AsyncMetricsBatcher, BatcherConfig, StatsdKey};
    /// use metrics_runtime::{Metrics, Registry};
    ///
    /// static JOBS: StatsdKey = StatsdKey::count("worker.jobs");
    ///
    /// let batcher = AsyncMetricsBatcher::new(BatcherConfig { capacity: 2, ..BatcherConfig::default() });
    /// let mut registry = Registry::new();
    /// registry.register_arc(Arc::clone(batcher.stats()) as Arc<dyn Metrics>).unwrap();
    /// for _ in 0..3 {
    ///     batcher.record(&JOBS, (), 1.0);
    /// }
    /// assert!(registry.render_prometheus().contains("statsd_dropped_total{policy=\"drop_newest\"} 1\n"));
    /// ```
    pub fn stats(&self) -> &Arc<StatsdStats> {
        &self.inner.stats
    }

    /// Takes the next record to push: queued records first, then the coalescing table, from
    /// slot `*cursor` on (the caller starts each flush at 0).
    pub(crate) fn take(&self, cursor: &mut usize) -> Option<Record> {
        if let Some(record) = self.inner.ring.pop() {
            return Some(record);
        }
        if self.inner.coalesce_pending.load(Relaxed) == 0 {
            return None;
        }
        while let Some(slot) = self.inner.coalesce.get(*cursor) {
            *cursor += 1;
            let taken = match slot.try_lock() {
                Ok(mut guard) => guard.take(),
                Err(TryLockError::Poisoned(e)) => e.into_inner().take(),
                // A producer is merging into it: take it at the next flush.
                Err(TryLockError::WouldBlock) => None,
            };
            if let Some(record) = taken {
                self.inner.coalesce_pending.fetch_sub(1, Relaxed);
                return Some(record);
            }
        }
        None
    }
}

impl Inner {
    #[cold]
    #[inline(never)]
    fn overflow(&self, record: Record) {
        match self.policy {
            BackpressurePolicy::DropNewest => self.drop_one(BackpressurePolicy::DropNewest),
            BackpressurePolicy::DropOldest => {
                let mut record = record;
                // Each round evicts one record and retries; other producers may take the freed
                // slot first, so give up after a few rounds and drop the new record instead.
                for _ in 0..8 {
                    if self.ring.pop().is_some() {
                        self.drop_one(BackpressurePolicy::DropOldest);
                    }
                    match self.ring.push(record) {
                        Ok(()) => return,
                        Err(back) => record = back,
                    }
                }
                self.drop_one(BackpressurePolicy::DropOldest);
            }
            BackpressurePolicy::Coalesce => self.coalesce(record),
        }
    }

    fn drop_one(&self, policy: BackpressurePolicy) {
        self.stats.dropped_total.with(policy).inc();
    }

    fn coalesce(&self, record: Record) {
        let mask = self.coalesce.len() - 1;
        // Fibonacci hashing of the key's address and the series index.
        let h = ((record.key as *const KeyMeta as usize as u64) ^ (record.tags as u64).rotate_left(32))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let start = (h >> 32) as usize;
        for probe in 0..COALESCE_PROBES.min(self.coalesce.len()) {
            let slot = &self.coalesce[(start + probe) & mask];
            for _ in 0..COALESCE_SPINS {
                let mut guard = match slot.try_lock() {
                    Ok(guard) => guard,
                    Err(TryLockError::Poisoned(e)) => e.into_inner(),
                    Err(TryLockError::WouldBlock) => {
                        core::hint::spin_loop();
                        continue;
                    }
                };
                match guard.as_mut() {
                    None => {
                        *guard = Some(record);
                        self.coalesce_pending.fetch_add(1, Relaxed);
                    }
                    Some(held) if held.same_series(&record) => {
                        merge(held, &record, self.random());
                    }
                    // Another series holds this slot: try the next one.
                    Some(_) => break,
                }
                self.stats.coalesced_total.inc();
                return;
            }
        }
        self.drop_one(BackpressurePolicy::Coalesce);
    }

    /// A uniform number in [0, 1): splitmix64 over a shared counter.
    fn random(&self) -> f64 {
        let mut z = self.seed.fetch_add(0x9E37_79B9_7F4A_7C15, Relaxed).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Folds `new` into `held`, a record of the same series. `random` is uniform in [0, 1).
fn merge(held: &mut Record, new: &Record, random: f64) {
    match held.key.kind {
        RecordKind::Count => {
            held.value = held.value * held.weight + new.value * new.weight;
            held.weight = 1.0;
        }
        RecordKind::Gauge => {
            held.value = new.value;
            held.weight = 1.0;
        }
        RecordKind::Timing | RecordKind::Histogram | RecordKind::Distribution => {
            let total = held.weight + new.weight;
            // Weighted reservoir of one: each record's value survives with probability
            // proportional to the events it stands for.
            if random * total < new.weight {
                held.value = new.value;
            }
            held.weight = total;
        }
    }
}

impl fmt::Debug for AsyncMetricsBatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncMetricsBatcher")
            .field("policy", &self.inner.policy)
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("dropped", &self.inner.stats.dropped())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SAMPLES: StatsdKey = StatsdKey::timing("t.samples");
    static COUNTS: StatsdKey = StatsdKey::count("t.counts");
    static LEVEL: StatsdKey = StatsdKey::gauge("t.level");

    fn batcher(capacity: usize, policy: BackpressurePolicy) -> AsyncMetricsBatcher {
        AsyncMetricsBatcher::new(BatcherConfig { capacity, policy, coalesce_slots: 8 })
    }

    fn drain(b: &AsyncMetricsBatcher) -> Vec<Record> {
        let mut cursor = 0;
        std::iter::from_fn(|| b.take(&mut cursor)).collect()
    }

    /// The sizes the documentation of `BatcherConfig` gives.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn memory_per_record_and_slot() {
        assert_eq!(std::mem::size_of::<Record>(), 32);
        assert_eq!(std::mem::size_of::<Mutex<Option<Record>>>(), 40);
        let b = batcher(8192, BackpressurePolicy::DropNewest);
        assert_eq!(b.capacity(), 8192);
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("a.b-c_d"));
        for bad in ["", "a:b", "a|b", "a@b", "a#b", "a,b", "a b", "a\nb"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn drop_oldest_keeps_the_newest() {
        let b = batcher(4, BackpressurePolicy::DropOldest);
        for i in 0..10 {
            b.record(&SAMPLES, (), f64::from(i));
        }
        let values: Vec<f64> = drain(&b).iter().map(|r| r.value).collect();
        assert_eq!(values, [6.0, 7.0, 8.0, 9.0]);
        assert_eq!(b.stats().dropped_total.with(BackpressurePolicy::DropOldest).get(), 6);
    }

    #[test]
    fn coalesce_preserves_counts_and_weights() {
        let b = batcher(2, BackpressurePolicy::Coalesce);
        for _ in 0..1000 {
            b.record(&SAMPLES, (), 5.0);
            b.record(&COUNTS, (), 2.0);
            b.record(&LEVEL, (), 1.0);
        }
        b.record(&LEVEL, (), 42.0);
        assert_eq!(b.len(), 2 + 3);
        let records = drain(&b);
        assert!(b.is_empty());
        let weight = |key: &StatsdKey| -> f64 {
            records.iter().filter(|r| core::ptr::eq(r.key, &key.meta)).map(|r| r.weight).sum()
        };
        assert_eq!(weight(&SAMPLES), 1000.0);
        let total: f64 =
            records.iter().filter(|r| core::ptr::eq(r.key, &COUNTS.meta)).map(|r| r.value * r.weight).sum();
        assert_eq!(total, 2000.0);
        let level = records.iter().rev().find(|r| core::ptr::eq(r.key, &LEVEL.meta)).unwrap();
        assert_eq!(level.value, 42.0);
        assert_eq!(b.stats().dropped(), 0);
        assert_eq!(b.stats().coalesced_total.get(), 3001 - 2);
    }

    #[test]
    fn weighted_reservoir_is_fair() {
        let mut held = Record { key: &SAMPLES.meta, tags: 0, value: 1.0, weight: 1.0 };
        let new = Record { value: 2.0, weight: 3.0, ..held };
        // 3 of 4 events are the new value: it survives when random * 4 < 3.
        merge(&mut held, &new, 0.74);
        assert_eq!((held.value, held.weight), (2.0, 4.0));
        let mut held2 = Record { value: 1.0, weight: 1.0, ..held };
        merge(&mut held2, &new, 0.76);
        assert_eq!((held2.value, held2.weight), (1.0, 4.0));
    }

    #[test]
    fn sampled_and_invalid_records() {
        let b = batcher(8, BackpressurePolicy::DropNewest);
        b.record_sampled(&SAMPLES, (), 1.0, 0.25);
        b.record_sampled(&SAMPLES, (), 1.0, 7.0);
        b.record(&SAMPLES, (), f64::NAN);
        b.record(&SAMPLES, (), f64::INFINITY);
        let weights: Vec<f64> = drain(&b).iter().map(|r| r.weight).collect();
        assert_eq!(weights, [4.0, 1.0]);
        assert_eq!(b.stats().invalid_total.get(), 2);
    }
}
