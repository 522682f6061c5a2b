//! Coalesced updates across metrics: [`MetricBatch`] gathers the updates one thread or task
//! makes to several metrics (counters, gauges, histogram records) and applies them together,
//! one atomic operation per series touched (per bucket, for a histogram) instead of one per
//! update.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use crate::counter::CounterSeries;
use crate::gauge::GaugeSeries;
use crate::histogram::{BucketCell, HistogramHandle};

/// A gauge's pending update.
#[derive(Debug, Clone, Copy)]
enum GaugeUpdate {
    /// `set(v)` (and any adds after it): store this.
    Set(f64),
    /// Adds only: add this.
    Add(f64),
}

/// One histogram bucket's pending records.
struct BucketUpdate<'a> {
    cells: &'a [BucketCell],
    negative: &'a AtomicBool,
    bucket: usize,
    count: u64,
    sum: f64,
    saw_negative: bool,
}

/// Updates to several metrics gathered on one thread or task and applied together.
///
/// Repeated updates of the same series coalesce: a hundred `inc`s of a counter are one atomic
/// add of 100 when the batch is applied, a hundred records into the same histogram bucket one
/// 16-byte compare-and-swap. Between updates the batch is a few plain writes to the thread's
/// own memory (a short linear search by address among the series it holds: keep a batch to the
/// handful of series a unit of work touches).
///
/// # Staleness
///
/// Pending updates are invisible to reads (scrapes, pushes) until the batch is applied: by
/// [`apply`](Self::apply), when it is dropped, or automatically once it holds
/// [`max_updates`](Self::with_max_updates) updates (1024 by default). A read therefore misses
/// at most `max_updates - 1` updates per live batch, never loses one, and never sees a torn
/// update of a series; updates of different series in one batch become visible in one pass, in
/// the order their series were first touched. There is no time bound (the batch reads no
/// clock): apply it at the end of each unit of work (a request, a loop iteration) and do not
/// keep it across idle periods.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Counter, Gauge, Histogram, MetricBatch, Metrics};
///
/// #[derive(Metrics)]
/// struct Import {
///     /// Rows imported.
///     rows_total: Counter,
///     /// Bytes in the buffer.
///     #[metric(unit = "bytes")]
///     buffer_bytes: Gauge,
///     /// Row sizes.
///     #[metric(unit = "bytes", buckets = [64.0, 256.0, 1024.0])]
///     row_size_bytes: Histogram,
/// }
///
/// static IMPORT: Import = Import::new();
///
/// let mut batch = MetricBatch::new();
/// for size in [100.0, 120.0, 2000.0] {
///     batch.inc(IMPORT.rows_total.with(()));
///     batch.gauge_add(IMPORT.buffer_bytes.with(()), size);
///     batch.record(IMPORT.row_size_bytes.with(()), size);
/// }
/// assert_eq!(IMPORT.rows_total.get(), 0); // not applied yet
/// batch.apply(); // one add, one gauge add, two bucket updates
/// assert_eq!(IMPORT.rows_total.get(), 3);
/// assert_eq!(IMPORT.buffer_bytes.get(), 2220.0);
/// assert_eq!(IMPORT.row_size_bytes.count(), 3);
/// ```
pub struct MetricBatch<'a> {
    counters: Vec<(&'a CounterSeries, u64)>,
    gauges: Vec<(&'a GaugeSeries, GaugeUpdate)>,
    buckets: Vec<BucketUpdate<'a>>,
    updates: usize,
    max_updates: usize,
}

impl Default for MetricBatch<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> MetricBatch<'a> {
    /// An empty batch that applies itself at 1024 pending updates.
    pub fn new() -> Self {
        Self::with_max_updates(1024)
    }

    /// An empty batch that applies itself once it holds `max_updates` updates (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, MetricBatch};
    ///
    /// static EVENTS: Counter = Counter::new();
    /// let mut batch = MetricBatch::with_max_updates(4);
    /// for _ in 0..10 {
    ///     batch.inc(EVENTS.with(()));
    /// }
    /// assert_eq!(EVENTS.get(), 8); // applied at 4 and at 8
    /// assert_eq!(batch.pending(), 2);
    /// drop(batch);
    /// assert_eq!(EVENTS.get(), 10);
    /// ```
    pub fn with_max_updates(max_updates: usize) -> Self {
        Self {
            counters: Vec::new(),
            gauges: Vec::new(),
            buckets: Vec::new(),
            updates: 0,
            max_updates: max_updates.max(1),
        }
    }

    /// The updates gathered and not yet applied.
    pub fn pending(&self) -> usize {
        self.updates
    }

    #[inline]
    fn counted(&mut self) {
        self.updates += 1;
        if self.updates >= self.max_updates {
            self.apply();
        }
    }

    /// Adds one to a counter series.
    #[inline]
    pub fn inc(&mut self, counter: &'a CounterSeries) {
        self.add(counter, 1);
    }

    /// Adds `n` to a counter series.
    #[inline]
    pub fn add(&mut self, counter: &'a CounterSeries, n: u64) {
        match self.counters.iter_mut().find(|(c, _)| std::ptr::eq(*c, counter)) {
            Some((_, pending)) => *pending = pending.wrapping_add(n),
            None => self.counters.push((counter, n)),
        }
        self.counted();
    }

    /// Sets a gauge series (the last `set` wins; adds after it add to it).
    #[inline]
    pub fn set(&mut self, gauge: &'a GaugeSeries, value: f64) {
        match self.gauges.iter_mut().find(|(g, _)| std::ptr::eq(*g, gauge)) {
            Some((_, pending)) => *pending = GaugeUpdate::Set(value),
            None => self.gauges.push((gauge, GaugeUpdate::Set(value))),
        }
        self.counted();
    }

    /// Adds `delta` to a gauge series.
    #[inline]
    pub fn gauge_add(&mut self, gauge: &'a GaugeSeries, delta: f64) {
        match self.gauges.iter_mut().find(|(g, _)| std::ptr::eq(*g, gauge)) {
            Some((_, GaugeUpdate::Set(v) | GaugeUpdate::Add(v))) => *v += delta,
            None => self.gauges.push((gauge, GaugeUpdate::Add(delta))),
        }
        self.counted();
    }

    /// Records `value` into a histogram series. A value that is not finite is counted as
    /// invalid at once, as [`HistogramHandle::record`] does.
    #[inline]
    pub fn record<const B: usize>(&mut self, histogram: HistogramHandle<'a, B>, value: f64) {
        let Some((cells, negative, bucket)) = histogram.batch_target(value) else {
            return;
        };
        let found =
            self.buckets.iter_mut().find(|u| std::ptr::eq(u.cells.as_ptr(), cells.as_ptr()) && u.bucket == bucket);
        match found {
            Some(u) => {
                u.count += 1;
                u.sum += value;
                u.saw_negative |= value < 0.0;
            }
            None => self.buckets.push(BucketUpdate {
                cells,
                negative,
                bucket,
                count: 1,
                sum: value,
                saw_negative: value < 0.0,
            }),
        }
        self.counted();
    }

    /// Applies every pending update (one atomic operation per series, per histogram bucket)
    /// and empties the batch, keeping its memory for the next updates.
    pub fn apply(&mut self) {
        for (counter, n) in self.counters.drain(..) {
            counter.add(n);
        }
        for (gauge, update) in self.gauges.drain(..) {
            match update {
                GaugeUpdate::Set(v) => gauge.set(v),
                GaugeUpdate::Add(d) => gauge.add(d),
            }
        }
        for u in self.buckets.drain(..) {
            u.cells[u.bucket].add(u.count, u.sum);
            if u.saw_negative {
                u.negative.store(true, Relaxed);
            }
        }
        self.updates = 0;
    }
}

impl Drop for MetricBatch<'_> {
    fn drop(&mut self) {
        self.apply();
    }
}

impl std::fmt::Debug for MetricBatch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricBatch")
            .field("pending", &self.updates)
            .field("max_updates", &self.max_updates)
            .finish_non_exhaustive()
    }
}
