//! Scrape-time values: gauge and counter fields whose value is a function, called at each read.

use core::fmt;
use core::marker::PhantomData;
use std::sync::OnceLock;

use crate::read::{process_start_time, MetricDesc, Series, StaticLabels, Visitor};
use crate::tag::TagSet;

/// The function of a callback field, per series.
type Callback<T> = Box<dyn Fn(T) -> f64 + Send + Sync>;

/// Why a callback could not be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackError {
    /// The callback was set before (it is set once).
    AlreadySet,
}

impl fmt::Display for CallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the callback is set already: a callback metric's function is set once, at start")
    }
}

impl std::error::Error for CallbackError {}

macro_rules! callback_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $emit:path) => {
        $(#[$doc])*
        pub struct $name<T: TagSet = ()> {
            f: OnceLock<Callback<T>>,
            _tags: PhantomData<fn(T)>,
        }

        impl<T: TagSet> $name<T> {
            /// A field without its function yet: nothing is exposed until [`set`](Self::set).
            pub const fn new() -> Self {
                Self { f: OnceLock::new(), _tags: PhantomData }
            }

            /// Sets the function, called with each series' tags at every read (scrape, push,
            /// snapshot). It runs on the reading thread: keep it quick and non-blocking (read an
            /// atomic, a `len()`).
            ///
            /// # Errors
            ///
            /// [`CallbackError::AlreadySet`] when it was set before.
            pub fn set(&self, f: impl Fn(T) -> f64 + Send + Sync + 'static) -> Result<(), CallbackError> {
                self.f.set(Box::new(f)).map_err(|_| CallbackError::AlreadySet)
            }

            /// Whether the function is set.
            pub fn is_set(&self) -> bool {
                self.f.get().is_some()
            }

            #[doc = concat!("Hands every series to `visitor` as ", $what, ", calling the function for each (what the derived [`Metrics::visit`](crate::Metrics::visit) does for this field); nothing before the function is set. A NaN from the function is passed on as is.")]
            pub fn visit(&self, desc: &MetricDesc<'_>, visitor: &mut dyn Visitor) {
                let Some(f) = self.f.get() else { return };
                let created = process_start_time();
                visitor.begin_metric(desc);
                for index in 0..T::CARDINALITY {
                    let Some(tags) = T::from_index(index) else { continue };
                    let labels = StaticLabels::<T>::new(index);
                    $emit(visitor, desc, Series { index, labels: &labels, created }, f(tags));
                }
                visitor.end_metric(desc);
            }
        }

        impl<T: TagSet> Default for $name<T> {
            fn default() -> Self {
                Self::new()
            }
        }

        impl<T: TagSet> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("set", &self.is_set()).finish()
            }
        }
    };
}

callback_type! {
    /// A gauge whose value is known only at read time (a queue's length, a pool's idle
    /// connections): a `#[derive(Metrics)]` field, checked like a [`Gauge`](crate::Gauge),
    /// whose function is set once at start and called at every read, one call per series.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use metrics_runtime::{CallbackGauge, Metrics, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "queue", rename_all = "lowercase")]
    /// enum Queue { Fast, Slow }
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "jobs")]
    /// struct Jobs {
    ///     /// Jobs waiting, by queue.
    ///     waiting: CallbackGauge<Queue>,
    /// }
    /// static JOBS: Jobs = Jobs::new();
    ///
    /// let lengths = Arc::new([AtomicUsize::new(3), AtomicUsize::new(0)]);
    /// let read = Arc::clone(&lengths);
    /// JOBS.waiting.set(move |q| read[q as usize].load(Ordering::Relaxed) as f64).unwrap();
    /// assert!(JOBS.render_prometheus().contains("jobs_waiting{queue=\"fast\"} 3"));
    /// lengths[1].store(7, Ordering::Relaxed);
    /// assert!(JOBS.render_prometheus().contains("jobs_waiting{queue=\"slow\"} 7"));
    /// assert!(JOBS.waiting.set(|_| 0.0).is_err()); // set once
    /// ```
    CallbackGauge, "gauge samples", emit_gauge
}

callback_type! {
    /// A counter whose total is known only at read time (bytes a socket library counted, a
    /// cache's hits): a `#[derive(Metrics)]` field, checked like a [`Counter`](crate::Counter)
    /// (its name ends in `_total`), whose function is set once at start and called at every
    /// read. The function must return a total that never goes down; a fractional total (CPU
    /// seconds) is exposed as is.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use metrics_runtime::{CallbackCounter, Metrics};
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "cache")]
    /// struct Cache {
    ///     /// Lookups that found their key.
    ///     hits_total: CallbackCounter,
    /// }
    /// static CACHE: Cache = Cache::new();
    ///
    /// let hits = Arc::new(AtomicU64::new(0)); // counted by a library of its own
    /// let read = Arc::clone(&hits);
    /// CACHE.hits_total.set(move |()| read.load(Ordering::Relaxed) as f64).unwrap();
    /// hits.fetch_add(41, Ordering::Relaxed);
    /// assert!(CACHE.render_prometheus().contains("cache_hits_total 41\n"));
    /// ```
    CallbackCounter, "counter samples", emit_counter
}

fn emit_gauge(visitor: &mut dyn Visitor, desc: &MetricDesc<'_>, series: Series<'_>, value: f64) {
    visitor.gauge(desc, series, value);
}

/// A whole total as an integer (what a counter usually is, and OTLP's `asInt`), else as is.
fn emit_counter(visitor: &mut dyn Visitor, desc: &MetricDesc<'_>, series: Series<'_>, value: f64) {
    if value.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(&value) {
        visitor.counter(desc, series, value as u64);
    } else {
        visitor.counter_f64(desc, series, value);
    }
}
