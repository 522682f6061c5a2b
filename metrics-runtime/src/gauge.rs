//! Gauges: `f64` values that go up and down.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::cell::ConstInit;
use crate::family::{Family, SeriesCell};
use crate::read::{MetricDesc, Series, Visitor};

/// One series of a [`Gauge`]: an `f64` stored as bits in an `AtomicU64`.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Gauge, GaugeSeries, Tag};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(rename_all = "lowercase")]
/// enum Pool { Read, Write }
///
/// static CONNECTIONS: Gauge<Pool> = Gauge::new();
/// let writes: &GaugeSeries = CONNECTIONS.with(Pool::Write);
/// writes.set(8.0);
/// writes.dec();
/// assert_eq!(writes.get(), 7.0);
/// assert_eq!(CONNECTIONS.with(Pool::Read).get(), 0.0);
/// ```
#[repr(transparent)]
pub struct GaugeSeries(AtomicU64);

impl ConstInit for GaugeSeries {
    // 0u64 is the bit pattern of +0.0.
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self(AtomicU64::new(0));
}

impl GaugeSeries {
    /// Sets the value.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Gauge;
    ///
    /// static TEMPERATURE: Gauge = Gauge::new();
    /// TEMPERATURE.with(()).set(21.5);
    /// TEMPERATURE.with(()).set(-3.0); // the last value wins
    /// assert_eq!(TEMPERATURE.with(()).get(), -3.0);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed atomic store; never allocates.
    #[inline(always)]
    pub fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Relaxed);
    }

    /// Adds `delta` (which may be negative).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Gauge;
    ///
    /// static QUEUE_DEPTH: Gauge = Gauge::new();
    /// let series = QUEUE_DEPTH.with(());
    /// std::thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|| for _ in 0..100 { series.add(0.5) });
    ///     }
    /// });
    /// assert_eq!(series.get(), 200.0); // concurrent adds are exact
    /// series.add(-50.0);
    /// assert_eq!(series.get(), 150.0);
    /// ```
    ///
    /// # Performance
    ///
    /// A relaxed compare-and-swap loop: one atomic operation when uncontended.
    #[inline]
    pub fn add(&self, delta: f64) {
        crate::histogram::atomic_f64_add(&self.0, delta);
    }

    /// Subtracts `delta`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Gauge;
    ///
    /// static FREE_BYTES: Gauge = Gauge::new();
    /// let series = FREE_BYTES.with(());
    /// series.set(4096.0);
    /// series.sub(1024.0);
    /// assert_eq!(series.get(), 3072.0);
    /// ```
    ///
    /// # Performance
    ///
    /// As [`GaugeSeries::add`].
    #[inline]
    pub fn sub(&self, delta: f64) {
        self.add(-delta);
    }

    /// Adds one.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Gauge;
    ///
    /// static WORKERS: Gauge = Gauge::new();
    /// WORKERS.with(()).inc();
    /// WORKERS.with(()).inc();
    /// assert_eq!(WORKERS.with(()).get(), 2.0);
    /// ```
    ///
    /// # Performance
    ///
    /// As [`GaugeSeries::add`].
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts one.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Gauge;
    ///
    /// static INFLIGHT: Gauge = Gauge::new();
    /// let series = INFLIGHT.with(());
    /// series.inc();
    /// series.dec();
    /// series.dec(); // a gauge may go below zero
    /// assert_eq!(series.get(), -1.0);
    /// ```
    ///
    /// # Performance
    ///
    /// As [`GaugeSeries::add`].
    #[inline]
    pub fn dec(&self) {
        self.add(-1.0);
    }

    /// The current value.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Gauge;
    ///
    /// static RATIO: Gauge = Gauge::new();
    /// assert_eq!(RATIO.with(()).get(), 0.0);
    /// RATIO.with(()).set(0.75);
    /// assert_eq!(RATIO.with(()).get(), 0.75);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed atomic load.
    #[inline]
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Relaxed))
    }
}

impl fmt::Debug for GaugeSeries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GaugeSeries").field(&self.get()).finish()
    }
}

/// A gauge with one `f64` series per combination of the tag set `T`.
///
/// # Examples
///
/// ```
/// use metrics_runtime::Gauge;
///
/// static INFLIGHT: Gauge = Gauge::new();
/// INFLIGHT.inc();
/// INFLIGHT.add(2.5);
/// INFLIGHT.dec();
/// assert_eq!(INFLIGHT.get(), 2.5);
/// INFLIGHT.set(-1.0);
/// assert_eq!(INFLIGHT.get(), -1.0);
/// ```
pub type Gauge<T = ()> = Family<GaugeSeries, T>;

impl SeriesCell for GaugeSeries {
    const TYPE_NAME: &'static str = "Gauge";

    #[inline]
    fn visit(&self, desc: &MetricDesc<'_>, series: Series<'_>, visitor: &mut dyn Visitor) {
        visitor.gauge(desc, series, self.get());
    }
}

impl Gauge<()> {
    /// Sets the value. See [`GaugeSeries::set`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Gauge;
    ///
    /// static LAST_BATCH_SIZE: Gauge = Gauge::new();
    /// LAST_BATCH_SIZE.set(128.0);
    /// assert_eq!(LAST_BATCH_SIZE.get(), 128.0);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed atomic store; never allocates.
    #[inline(always)]
    pub fn set(&self, value: f64) {
        self.with(()).set(value);
    }

    /// Adds `delta`. See [`GaugeSeries::add`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Gauge;
    ///
    /// static BALANCE: Gauge = Gauge::new();
    /// BALANCE.add(10.5);
    /// BALANCE.add(-0.5);
    /// assert_eq!(BALANCE.get(), 10.0);
    /// ```
    ///
    /// # Performance
    ///
    /// As [`GaugeSeries::add`].
    #[inline]
    pub fn add(&self, delta: f64) {
        self.with(()).add(delta);
    }

    /// Subtracts `delta`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Gauge;
    ///
    /// static CAPACITY: Gauge = Gauge::new();
    /// CAPACITY.set(10.0);
    /// CAPACITY.sub(2.5);
    /// assert_eq!(CAPACITY.get(), 7.5);
    /// ```
    ///
    /// # Performance
    ///
    /// As [`GaugeSeries::add`].
    #[inline]
    pub fn sub(&self, delta: f64) {
        self.with(()).sub(delta);
    }

    /// Adds one.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Gauge;
    ///
    /// static SESSIONS: Gauge = Gauge::new();
    /// SESSIONS.inc();
    /// assert_eq!(SESSIONS.get(), 1.0);
    /// ```
    ///
    /// # Performance
    ///
    /// As [`GaugeSeries::add`].
    #[inline]
    pub fn inc(&self) {
        self.with(()).inc();
    }

    /// Subtracts one.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Gauge;
    ///
    /// static SESSIONS: Gauge = Gauge::new();
    /// SESSIONS.set(3.0);
    /// SESSIONS.dec();
    /// assert_eq!(SESSIONS.get(), 2.0);
    /// ```
    ///
    /// # Performance
    ///
    /// As [`GaugeSeries::add`].
    #[inline]
    pub fn dec(&self) {
        self.with(()).dec();
    }

    /// The current value.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Gauge;
    ///
    /// static LOAD: Gauge = Gauge::new();
    /// LOAD.set(0.42);
    /// assert_eq!(LOAD.get(), 0.42);
    /// ```
    #[inline]
    pub fn get(&self) -> f64 {
        self.with(()).get()
    }
}
