//! Constant-initialised storage: the building blocks that let `const fn new()` lay out every
//! series of a metric in a fixed array, with no heap and no lazy initialisation.

/// A type with a constant initial value (all zeroes for the atomic cells of this crate).
///
/// Implemented by the per-series cell types and by fixed arrays of them, so that a metric's
/// storage can be built in a `const fn`.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{ConstInit, CounterSeries};
///
/// // Fixed arrays of cells are `ConstInit` too: that is how `Counter::new` stays a `const fn`.
/// static CELLS: [CounterSeries; 4] = <[CounterSeries; 4] as ConstInit>::INIT;
/// CELLS[2].add(5);
/// let values: Vec<u64> = CELLS.iter().map(CounterSeries::get).collect();
/// assert_eq!(values, [0, 0, 5, 0]);
/// ```
pub trait ConstInit: Sized {
    /// The initial value.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{ConstInit, GaugeSeries};
    ///
    /// let gauge = GaugeSeries::INIT; // each use is a fresh cell
    /// assert_eq!(gauge.get(), 0.0);
    /// gauge.set(2.5);
    /// assert_eq!(GaugeSeries::INIT.get(), 0.0);
    /// ```
    // Interior mutability is the point: every use of `INIT` builds a fresh cell.
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self;
}

/// The fixed array holding one cell per series of a metric.
///
/// [`TagSet::Array`](crate::TagSet::Array) is always `[V; CARDINALITY]`; this trait only lets
/// generic code see it as a slice.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{ConstInit, CounterSeries, SeriesArray};
///
/// // Generic over the array length, as a `TagSet::Array` is.
/// fn total<A: SeriesArray<CounterSeries>>(cells: &A) -> u64 {
///     cells.as_slice().iter().map(CounterSeries::get).sum()
/// }
///
/// let cells: [CounterSeries; 3] = ConstInit::INIT;
/// cells[0].add(2);
/// cells[2].add(3);
/// assert_eq!(total(&cells), 5);
/// ```
pub trait SeriesArray<V>: ConstInit + Send + Sync {
    /// The cells, in series index order.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{ConstInit, CounterSeries, SeriesArray};
    ///
    /// let cells: [CounterSeries; 2] = ConstInit::INIT;
    /// cells[1].inc();
    /// let slice: &[CounterSeries] = cells.as_slice();
    /// assert_eq!((slice.len(), slice[1].get()), (2, 1));
    /// ```
    fn as_slice(&self) -> &[V];
}

impl<V: ConstInit, const N: usize> ConstInit for [V; N] {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = [const { V::INIT }; N];
}

impl<V: ConstInit + Send + Sync, const N: usize> SeriesArray<V> for [V; N] {
    #[inline(always)]
    fn as_slice(&self) -> &[V] {
        self
    }
}
