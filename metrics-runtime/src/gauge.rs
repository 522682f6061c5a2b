//! Gauges: `f64` values that go up and down.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::cell::{ConstInit, SeriesArray};
use crate::tag::TagSet;

/// One series of a [`Gauge`]: an `f64` stored as bits in an `AtomicU64`.
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
    /// # Performance
    ///
    /// One relaxed atomic store; never allocates.
    #[inline(always)]
    pub fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Relaxed);
    }

    /// Adds `delta` (which may be negative).
    ///
    /// # Performance
    ///
    /// A relaxed compare-and-swap loop: one atomic operation when uncontended.
    #[inline]
    pub fn add(&self, delta: f64) {
        // Relaxed: the gauge is a single value with no other memory to publish; the CAS alone
        // makes concurrent adds exact.
        let mut current = self.0.load(Relaxed);
        loop {
            let next = (f64::from_bits(current) + delta).to_bits();
            match self.0.compare_exchange_weak(current, next, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Subtracts `delta`.
    #[inline]
    pub fn sub(&self, delta: f64) {
        self.add(-delta);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.add(-1.0);
    }

    /// The current value.
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
pub struct Gauge<T: TagSet = ()> {
    series: T::Array<GaugeSeries>,
}

impl<T: TagSet> Gauge<T> {
    /// A gauge with every series at zero.
    pub const fn new() -> Self {
        Self { series: <T::Array<GaugeSeries> as ConstInit>::INIT }
    }

    /// The series for `tags`.
    ///
    /// # Performance
    ///
    /// Index arithmetic on the tags' variants; no hashing, lock or allocation.
    #[inline(always)]
    pub fn with(&self, tags: T) -> &GaugeSeries {
        &self.series.as_slice()[tags.index()]
    }

    /// Every series, in index order (see [`TagSet::from_index`]).
    pub fn series(&self) -> &[GaugeSeries] {
        self.series.as_slice()
    }
}

impl Gauge<()> {
    /// Sets the value. See [`GaugeSeries::set`].
    #[inline(always)]
    pub fn set(&self, value: f64) {
        self.with(()).set(value);
    }

    /// Adds `delta`. See [`GaugeSeries::add`].
    #[inline]
    pub fn add(&self, delta: f64) {
        self.with(()).add(delta);
    }

    /// Subtracts `delta`.
    #[inline]
    pub fn sub(&self, delta: f64) {
        self.with(()).sub(delta);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.with(()).inc();
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.with(()).dec();
    }

    /// The current value.
    #[inline]
    pub fn get(&self) -> f64 {
        self.with(()).get()
    }
}

impl<T: TagSet> Default for Gauge<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: TagSet> fmt::Debug for Gauge<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gauge").field("series", &self.series().len()).finish()
    }
}
