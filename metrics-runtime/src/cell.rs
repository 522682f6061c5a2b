//! Constant-initialised storage: the building blocks that let `const fn new()` lay out every
//! series of a metric in a fixed array, with no heap and no lazy initialisation.

/// A type with a constant initial value (all zeroes for the atomic cells of this crate).
///
/// Implemented by the per-series cell types and by fixed arrays of them, so that a metric's
/// storage can be built in a `const fn`.
pub trait ConstInit: Sized {
    /// The initial value.
    // Interior mutability is the point: every use of `INIT` builds a fresh cell.
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self;
}

/// The fixed array holding one cell per series of a metric.
///
/// [`TagSet::Array`](crate::TagSet::Array) is always `[V; CARDINALITY]`; this trait only lets
/// generic code see it as a slice.
pub trait SeriesArray<V>: ConstInit + Send + Sync {
    /// The cells, in series index order.
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
