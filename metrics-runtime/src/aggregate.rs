//! Sums over the series of a tagged metric: over one tag dimension, or over all of them.
//!
//! The series of a metric are a fixed array indexed by its tag set, so aggregation walks that
//! array once and adds each series into its group: no hashing, no lock, one allocation for the
//! result. These are reads; recording is unaffected.

use crate::family::{Count, Family};
use crate::gauge::Gauge;
use crate::histogram::Histogram;
use crate::tag::TagSet;

/// The buckets, count and sum of a histogram: one series, or several added together.
///
/// What [`Histogram::total`], [`Histogram::sum_by`],
/// [`WindowedHistogram::snapshot`](crate::window::WindowedHistogram::snapshot) and snapshots
/// ([`SeriesValue::Histogram`](crate::snapshot::SeriesValue::Histogram)) return: plain data.
///
/// # Examples
///
/// ```
/// use metrics_runtime::snapshot::HistogramValue;
///
/// let h = HistogramValue { bounds: vec![1.0, 2.0], counts: vec![3, 1, 0], sum: 4.5 };
/// assert_eq!(h.count(), 4);
/// assert_eq!(h.cumulative(), vec![3, 4, 4]);
/// assert_eq!(h.percentile(0.5), Some(2.0 / 3.0)); // rank 2 of 3 in the first bucket, [0, 1]
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HistogramValue {
    /// The finite bucket bounds (`le`), increasing; `+Inf` is implied.
    pub bounds: Vec<f64>,
    /// Observations per bucket, **not** cumulative: one per bound, then the `+Inf` bucket, so
    /// `counts.len() == bounds.len() + 1`.
    pub counts: Vec<u64>,
    /// The sum of the observations.
    #[cfg_attr(feature = "serde", serde(with = "serde_f64"))]
    pub sum: f64,
}

impl HistogramValue {
    /// No observations, with the given bounds.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::snapshot::HistogramValue;
    ///
    /// let h = HistogramValue::empty(&[0.1, 1.0]);
    /// assert_eq!(h.counts, vec![0, 0, 0]);
    /// assert_eq!(h.percentile(0.5), None);
    /// ```
    pub fn empty(bounds: &[f64]) -> Self {
        Self { bounds: bounds.to_vec(), counts: vec![0; bounds.len() + 1], sum: 0.0 }
    }

    /// The number of observations: the sum of the buckets.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::snapshot::HistogramValue;
    ///
    /// let h = HistogramValue { bounds: vec![1.0], counts: vec![2, 5], sum: 30.0 };
    /// assert_eq!(h.count(), 7);
    /// ```
    pub fn count(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, c| a.saturating_add(*c))
    }

    /// Cumulative counts, as the Prometheus `_bucket{le}` samples: one per bound, then `+Inf`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::snapshot::HistogramValue;
    ///
    /// let h = HistogramValue { bounds: vec![1.0, 5.0], counts: vec![1, 0, 2], sum: 21.0 };
    /// assert_eq!(h.cumulative(), vec![1, 1, 3]);
    /// ```
    pub fn cumulative(&self) -> Vec<u64> {
        crate::read::cumulative(self.counts.iter().copied()).collect()
    }

    /// The estimated `q` quantile (`0 <= q <= 1`), or `None` when there are no observations
    /// or `q` is out of range.
    ///
    /// The same estimate as [`HistogramHandle::percentile`](crate::HistogramHandle::percentile):
    /// linear interpolation inside the bucket holding the quantile, the first bucket starting
    /// at 0 (or at its bound if negative), the largest finite bound when the quantile falls in
    /// `+Inf`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::snapshot::HistogramValue;
    ///
    /// let h = HistogramValue { bounds: vec![10.0, 20.0], counts: vec![0, 4, 0], sum: 60.0 };
    /// assert_eq!(h.percentile(0.5), Some(15.0));
    /// assert_eq!(h.percentile(1.5), None);
    /// ```
    pub fn percentile(&self, q: f64) -> Option<f64> {
        percentile(&self.bounds, &self.counts, q)
    }

    /// Adds `other`'s observations; both must have the same bounds.
    pub(crate) fn merge(&mut self, other: &HistogramValue) {
        if self.counts.is_empty() || (self.count() == 0 && self.bounds != other.bounds) {
            self.bounds.clone_from(&other.bounds);
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a = a.saturating_add(*b);
        }
        self.sum += other.sum;
    }
}

/// The `q` quantile of per-bucket `counts` (one per bound, then `+Inf`): the estimate behind
/// [`HistogramHandle::percentile`](crate::HistogramHandle::percentile) and
/// [`HistogramValue::percentile`].
pub(crate) fn percentile(bounds: &[f64], counts: &[u64], q: f64) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) {
        return None;
    }
    let used = &counts[..counts.len().min(bounds.len() + 1)];
    let total = used.iter().fold(0u64, |a, c| a.saturating_add(*c));
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut below = 0u64;
    for (i, &c) in used.iter().enumerate() {
        if c > 0 && below.saturating_add(c) as f64 >= rank {
            if i == bounds.len() {
                return bounds.last().copied().or(Some(0.0));
            }
            let upper = bounds[i];
            let lower = if i == 0 { upper.min(0.0) } else { bounds[i - 1] };
            let fraction = (rank - below as f64) / c as f64;
            return Some(lower + (upper - lower) * fraction.clamp(0.0, 1.0));
        }
        below = below.saturating_add(c);
    }
    bounds.last().copied()
}

/// Adds the value of every series of a `T`-tagged metric into the group `key` picks for it.
fn group_by<T: TagSet, K: TagSet, V: Clone>(
    zero: V,
    key: impl Fn(T) -> K,
    value: impl Fn(usize) -> V,
    add: impl Fn(&mut V, V),
) -> Vec<(K, V)> {
    let mut groups = vec![zero; K::CARDINALITY];
    for i in 0..T::CARDINALITY {
        let Some(tags) = T::from_index(i) else { continue };
        if let Some(group) = groups.get_mut(key(tags).index()) {
            add(group, value(i));
        }
    }
    groups.into_iter().enumerate().filter_map(|(j, v)| Some((K::from_index(j)?, v))).collect()
}

/// Adds the value of every series of a `T`-tagged metric into the group of its value of
/// `label`, in the order the values first appear (the tag's variant order); `None` when `T` has
/// no such label.
fn group_by_label<T: TagSet, V>(
    label: &str,
    zero: impl Fn() -> V,
    value: impl Fn(usize) -> V,
    add: impl Fn(&mut V, V),
) -> Option<Vec<(&'static str, V)>> {
    let l = T::NAMES.iter().position(|n| *n == label)?;
    let mut groups: Vec<(&'static str, V)> = Vec::new();
    for i in 0..T::CARDINALITY {
        let v = T::label_value(i, l);
        // A tag has few values: a linear search beats hashing.
        let at = match groups.iter().position(|(g, _)| *g == v) {
            Some(at) => at,
            None => {
                groups.push((v, zero()));
                groups.len() - 1
            }
        };
        add(&mut groups[at].1, value(i));
    }
    Some(groups)
}

impl<C: Count, T: TagSet> Family<C, T> {
    /// Sums the series into groups: `key` maps each tag combination to its group, a smaller
    /// tag set (one [`Tag`](crate::Tag), a `#[derive(TagSet)]` struct, or `()`). Every group is
    /// returned, zero included, in the group tag set's index order.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Tag, TagSet};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "method", rename_all = "UPPERCASE")]
    /// enum Method { Get, Post }
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// enum Status { #[tag(value = "2xx")] Ok, #[tag(value = "5xx")] Error }
    ///
    /// #[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
    /// struct Http { method: Method, status: Status }
    ///
    /// static REQUESTS: Counter<Http> = Counter::new();
    /// REQUESTS.with(Http { method: Method::Get, status: Status::Ok }).add(3);
    /// REQUESTS.with(Http { method: Method::Get, status: Status::Error }).add(1);
    /// REQUESTS.with(Http { method: Method::Post, status: Status::Error }).add(2);
    ///
    /// // Per method, across statuses.
    /// assert_eq!(REQUESTS.sum_by(|t| t.method), vec![(Method::Get, 4), (Method::Post, 2)]);
    /// // Per status, across methods.
    /// assert_eq!(REQUESTS.sum_by(|t| t.status), vec![(Status::Ok, 3), (Status::Error, 3)]);
    /// ```
    ///
    /// # Performance
    ///
    /// One pass over the series and one allocation (the result).
    pub fn sum_by<K: TagSet>(&self, key: impl Fn(T) -> K) -> Vec<(K, u64)> {
        let series = self.series();
        group_by(0u64, key, |i| series[i].get(), |a, v| *a = a.wrapping_add(v))
    }

    /// Sums the series per value of the tag named `label`, across the other tags; `None` when
    /// the tag set has no such tag. Values come in the tag's variant order, zero included.
    ///
    /// The untyped form of [`Family::sum_by`], for a label name known only at run time.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Tag, TagSet};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "method", rename_all = "UPPERCASE")]
    /// enum Method { Get, Post }
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// enum Status { #[tag(value = "2xx")] Ok, #[tag(value = "5xx")] Error }
    ///
    /// #[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
    /// struct Http { method: Method, status: Status }
    ///
    /// static REQUESTS: Counter<Http> = Counter::new();
    /// REQUESTS.with(Http { method: Method::Post, status: Status::Ok }).add(5);
    /// REQUESTS.with(Http { method: Method::Post, status: Status::Error }).inc();
    ///
    /// assert_eq!(REQUESTS.sum_by_label("method"), Some(vec![("GET", 0), ("POST", 6)]));
    /// assert_eq!(REQUESTS.sum_by_label("status"), Some(vec![("2xx", 5), ("5xx", 1)]));
    /// assert_eq!(REQUESTS.sum_by_label("path"), None);
    /// ```
    pub fn sum_by_label(&self, label: &str) -> Option<Vec<(&'static str, u64)>> {
        let series = self.series();
        group_by_label::<T, _>(label, || 0u64, |i| series[i].get(), |a, v| *a = a.wrapping_add(v))
    }
}

impl<T: TagSet> Gauge<T> {
    /// The sum of every series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Gauge, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Pool { Read, Write }
    ///
    /// static CONNECTIONS: Gauge<Pool> = Gauge::new();
    /// CONNECTIONS.with(Pool::Read).set(3.0);
    /// CONNECTIONS.with(Pool::Write).set(1.5);
    /// assert_eq!(CONNECTIONS.total(), 4.5);
    /// ```
    pub fn total(&self) -> f64 {
        self.series().iter().map(|s| s.get()).sum()
    }

    /// Sums the series into groups; see [`Family::sum_by`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Gauge, Tag, TagSet};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Pool { Read, Write }
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Zone { East, West }
    ///
    /// #[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
    /// struct Conn { pool: Pool, zone: Zone }
    ///
    /// static OPEN: Gauge<Conn> = Gauge::new();
    /// OPEN.with(Conn { pool: Pool::Read, zone: Zone::East }).set(2.0);
    /// OPEN.with(Conn { pool: Pool::Read, zone: Zone::West }).set(3.0);
    /// assert_eq!(OPEN.sum_by(|c| c.pool), vec![(Pool::Read, 5.0), (Pool::Write, 0.0)]);
    /// ```
    pub fn sum_by<K: TagSet>(&self, key: impl Fn(T) -> K) -> Vec<(K, f64)> {
        let series = self.series();
        group_by(0.0f64, key, |i| series[i].get(), |a, v| *a += v)
    }

    /// Sums the series per value of the tag named `label`; see [`Family::sum_by_label`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Gauge, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Pool { Read, Write }
    ///
    /// static OPEN: Gauge<Pool> = Gauge::new();
    /// OPEN.with(Pool::Write).set(7.0);
    /// assert_eq!(OPEN.sum_by_label("pool"), Some(vec![("read", 0.0), ("write", 7.0)]));
    /// ```
    pub fn sum_by_label(&self, label: &str) -> Option<Vec<(&'static str, f64)>> {
        let series = self.series();
        group_by_label::<T, _>(label, || 0.0f64, |i| series[i].get(), |a, v| *a += v)
    }
}

impl<T: TagSet, const B: usize> Histogram<T, B> {
    /// One series' buckets and sum as plain data.
    fn value_at(&self, index: usize) -> HistogramValue {
        let series = &self.series()[index];
        let bounds = self.bounds();
        let (counts, sum) = series.read(bounds);
        HistogramValue { bounds: bounds.to_vec(), counts: counts[..=bounds.len()].to_vec(), sum }
    }

    /// Every series added together: bucket-wise sums of the counts, and the sum of the sums.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Route { Home, Search }
    ///
    /// static BOUNDS: &[f64] = &[0.1, 1.0];
    /// static LATENCY: Histogram<Route, 3> = Histogram::with_bounds(BOUNDS, &["0.1", "1.0"]);
    /// LATENCY.with(Route::Home).record(0.05);
    /// LATENCY.with(Route::Search).record(0.5);
    /// LATENCY.with(Route::Search).record(2.0);
    ///
    /// let total = LATENCY.total();
    /// assert_eq!(total.counts, vec![1, 1, 1]);
    /// assert_eq!(total.count(), 3);
    /// assert!((total.sum - 2.55).abs() < 1e-12);
    /// assert_eq!(total.percentile(1.0), Some(1.0)); // `+Inf`: the largest finite bound
    /// ```
    pub fn total(&self) -> HistogramValue {
        let zero = HistogramValue::empty(self.bounds());
        let mut groups = group_by(zero, |_: T| (), |i| self.value_at(i), |a, v| a.merge(&v));
        groups.pop().map(|(_, v)| v).unwrap_or_else(|| HistogramValue::empty(self.bounds()))
    }

    /// Adds the series into groups, bucket by bucket; see [`Family::sum_by`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Tag, TagSet};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Route { Home, Search }
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Cache { Hit, Miss }
    ///
    /// #[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
    /// struct Req { route: Route, cache: Cache }
    ///
    /// static LATENCY: Histogram<Req> = Histogram::new();
    /// LATENCY.with(Req { route: Route::Search, cache: Cache::Hit }).record(0.003);
    /// LATENCY.with(Req { route: Route::Search, cache: Cache::Miss }).record(0.2);
    ///
    /// let by_route = LATENCY.sum_by(|r| r.route);
    /// assert_eq!(by_route[0].1.count(), 0);
    /// assert_eq!((by_route[1].0, by_route[1].1.count()), (Route::Search, 2));
    /// ```
    pub fn sum_by<K: TagSet>(&self, key: impl Fn(T) -> K) -> Vec<(K, HistogramValue)> {
        let zero = HistogramValue::empty(self.bounds());
        group_by(zero, key, |i| self.value_at(i), |a, v| a.merge(&v))
    }

    /// Adds the series per value of the tag named `label`, bucket by bucket; see
    /// [`Family::sum_by_label`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Route { Home, Search }
    ///
    /// static LATENCY: Histogram<Route> = Histogram::new();
    /// LATENCY.with(Route::Home).record(0.003);
    /// let by_route = LATENCY.sum_by_label("route").unwrap();
    /// assert_eq!(by_route[0].0, "home");
    /// assert_eq!(by_route[0].1.count(), 1);
    /// assert!(LATENCY.sum_by_label("le").is_none());
    /// ```
    pub fn sum_by_label(&self, label: &str) -> Option<Vec<(&'static str, HistogramValue)>> {
        group_by_label::<T, _>(label, || HistogramValue::empty(self.bounds()), |i| self.value_at(i), |a, v| a.merge(&v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_the_live_histogram() {
        static BOUNDS: &[f64] = &[-10.0, 0.0, 100.0, 1000.0];
        let h: Histogram<(), 5> = Histogram::with_bounds(BOUNDS, &["-10.0", "0.0", "100.0", "1000.0"]);
        for v in [-20.0, -10.0, -5.0, 0.0, 50.0, 100.0, 100.5, 999.0, 1000.0, 5000.0] {
            h.record(v);
        }
        let value = h.total();
        for q in [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0, -0.1, 1.1] {
            assert_eq!(value.percentile(q), h.percentile(q), "q = {q}");
        }
    }

    #[test]
    fn merge_adopts_bounds_of_a_first_value() {
        let mut a = HistogramValue::default();
        a.merge(&HistogramValue { bounds: vec![1.0], counts: vec![1, 2], sum: 9.0 });
        a.merge(&HistogramValue { bounds: vec![1.0], counts: vec![0, 1], sum: 5.0 });
        assert_eq!(a, HistogramValue { bounds: vec![1.0], counts: vec![1, 3], sum: 14.0 });
    }
}

/// `f64` as a number, or as the strings `"NaN"`, `"+Inf"`, `"-Inf"` that JSON needs.
#[cfg(feature = "serde")]
pub(crate) mod serde_f64 {
    use core::fmt;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            s.serialize_f64(*value)
        } else if value.is_nan() {
            s.serialize_str("NaN")
        } else if *value > 0.0 {
            s.serialize_str("+Inf")
        } else {
            s.serialize_str("-Inf")
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        d.deserialize_any(F64)
    }

    struct F64;

    impl Visitor<'_> for F64 {
        type Value = f64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number, or one of the strings `NaN`, `+Inf`, `-Inf`")
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            match v {
                "NaN" => Ok(f64::NAN),
                "+Inf" | "Inf" => Ok(f64::INFINITY),
                "-Inf" => Ok(f64::NEG_INFINITY),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
    }
}
