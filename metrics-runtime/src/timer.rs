//! Timing: the `Outcome` tag, drop guards that record elapsed seconds, and [`TimedExt`] for
//! futures. `#[timed]` expands to these.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::histogram::{Histogram, HistogramHandle};
use crate::summary::{Summary, SummaryHandle};
use crate::Tag;

/// How a timed call ended. Tag a Histogram or Summary with it (`Histogram<Outcome>`) and
/// `#[timed]` records each call under its outcome.
///
/// `ok` and `error` come from a returned `Result` (any other return value is `ok`);
/// `cancelled` is a future dropped before completion; `panicked` is a panic unwinding through
/// the call.
#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[tag(name = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Returned normally (`Ok(_)` for a `Result`).
    Ok,
    /// Returned `Err(_)`.
    Error,
    /// A future dropped before it completed.
    Cancelled,
    /// A panic unwound through the call.
    Panicked,
}

/// Something that records durations: a Histogram or Summary without tags, one series of them
/// (`.with(tags)`), or one tagged by [`Outcome`] (the outcome picks the series).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot record a duration",
    label = "not a Histogram or Summary (or one series of one)",
    note = "`#[timed]`, `start_timer` and `TimedExt::timed` need a `Histogram`, a `Summary`, a series of one (`.with(tags)`), or one tagged by `Outcome`"
)]
pub trait RecordDuration {
    /// Records `seconds` for a call that ended with `outcome`.
    fn record_seconds(&self, seconds: f64, outcome: Outcome);

    /// Starts a timer that records into `self` when dropped (see [`Timer`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, RecordDuration};
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// {
    ///     let _timer = LATENCY.start_timer();
    ///     // ... work ...
    /// } // recorded here
    /// assert_eq!(LATENCY.count(), 1);
    /// let timer = LATENCY.start_timer();
    /// timer.discard(); // not recorded
    /// assert_eq!(LATENCY.count(), 1);
    /// ```
    fn start_timer(&self) -> Timer<&Self> {
        Timer::start(self)
    }
}

impl<const B: usize> RecordDuration for Histogram<(), B> {
    #[inline]
    fn record_seconds(&self, seconds: f64, _: Outcome) {
        self.record(seconds);
    }
}

impl<const B: usize> RecordDuration for HistogramHandle<'_, B> {
    #[inline]
    fn record_seconds(&self, seconds: f64, _: Outcome) {
        self.record(seconds);
    }
}

impl<const B: usize> RecordDuration for Histogram<Outcome, B> {
    #[inline]
    fn record_seconds(&self, seconds: f64, outcome: Outcome) {
        self.with(outcome).record(seconds);
    }
}

impl<'a, const B: usize> HistogramHandle<'a, B> {
    /// Starts a timer that records into this series when dropped (see [`Timer`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// enum Step { Parse, Plan }
    ///
    /// static STEPS: Histogram<Step> = Histogram::new();
    /// {
    ///     let _timer = STEPS.with(Step::Plan).start_timer();
    /// }
    /// assert_eq!(STEPS.with(Step::Plan).count(), 1);
    /// ```
    pub fn start_timer(self) -> Timer<Self> {
        Timer::start(self)
    }
}

impl<'a> SummaryHandle<'a> {
    /// Starts a timer that records into this series when dropped (see [`Timer`]).
    pub fn start_timer(self) -> Timer<Self> {
        Timer::start(self)
    }
}

impl RecordDuration for Summary<()> {
    #[inline]
    fn record_seconds(&self, seconds: f64, _: Outcome) {
        self.record(seconds);
    }
}

impl RecordDuration for SummaryHandle<'_> {
    #[inline]
    fn record_seconds(&self, seconds: f64, _: Outcome) {
        self.record(seconds);
    }
}

impl RecordDuration for Summary<Outcome> {
    #[inline]
    fn record_seconds(&self, seconds: f64, outcome: Outcome) {
        self.with(outcome).record(seconds);
    }
}

impl<M: RecordDuration + ?Sized> RecordDuration for &M {
    #[inline]
    fn record_seconds(&self, seconds: f64, outcome: Outcome) {
        (**self).record_seconds(seconds, outcome);
    }
}

/// A running timer: records the elapsed seconds into its target when dropped, or at
/// [`Timer::stop`]; [`Timer::discard`] drops it without recording.
///
/// Dropped during a panic, it records the outcome [`Outcome::Panicked`]; dropped otherwise
/// without [`Timer::finish`], it records [`Outcome::Cancelled`] (that is how a future dropped
/// before completion is seen) — unless it was made by [`RecordDuration::start_timer`], whose
/// plain drop means [`Outcome::Ok`].
///
/// The target is held by value: a reference to a metric (`&Histogram`), or a series handle
/// (`HistogramHandle`, which is `Copy`), so `histogram.with(tags).start_timer()` works.
#[must_use = "a timer records when dropped; bind it to a variable (`let _timer = ...`)"]
pub struct Timer<M> {
    target: M,
    // Captured where `M: RecordDuration` is known, so that only construction needs the bound
    // (one compile error for a wrong target, not one per use); a constant the optimiser inlines.
    record: fn(&M, f64, Outcome),
    start: Instant,
    on_drop: Option<Outcome>,
}

impl<M: RecordDuration> Timer<M> {
    /// Starts timing now; a plain drop records [`Outcome::Ok`].
    #[inline]
    pub fn start(target: M) -> Self {
        Self { target, record: M::record_seconds, start: Instant::now(), on_drop: Some(Outcome::Ok) }
    }

    /// Starts timing now; a plain drop records [`Outcome::Cancelled`]. Used by `#[timed]` and
    /// [`TimedExt`], which call [`Timer::finish`] when the call completes.
    #[doc(hidden)]
    #[inline]
    pub fn start_cancellable(target: M) -> Self {
        Self { target, record: M::record_seconds, start: Instant::now(), on_drop: Some(Outcome::Cancelled) }
    }
}

impl<M> Timer<M> {
    /// The time since the timer started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Records now with [`Outcome::Ok`] and returns the elapsed time.
    pub fn stop(self) -> Duration {
        self.finish(Outcome::Ok)
    }

    /// Records now with `outcome` and returns the elapsed time.
    #[inline]
    pub fn finish(mut self, outcome: Outcome) -> Duration {
        self.on_drop = None;
        let elapsed = self.start.elapsed();
        (self.record)(&self.target, elapsed.as_secs_f64(), outcome);
        elapsed
    }

    /// Stops without recording.
    pub fn discard(mut self) {
        self.on_drop = None;
    }
}

impl<M> Drop for Timer<M> {
    #[inline]
    fn drop(&mut self) {
        if let Some(outcome) = self.on_drop {
            let outcome = if std::thread::panicking() { Outcome::Panicked } else { outcome };
            (self.record)(&self.target, self.start.elapsed().as_secs_f64(), outcome);
        }
    }
}

impl<M> fmt::Debug for Timer<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer").field("elapsed", &self.elapsed()).finish()
    }
}

/// The outcome of a returned value: `Err(_)` is [`Outcome::Error`], anything else
/// [`Outcome::Ok`].
pub trait ToOutcome {
    /// The outcome this value stands for.
    fn outcome(&self) -> Outcome;
}

impl<T, E> ToOutcome for Result<T, E> {
    #[inline]
    fn outcome(&self) -> Outcome {
        if self.is_ok() {
            Outcome::Ok
        } else {
            Outcome::Error
        }
    }
}

pin_project_lite::pin_project! {
    /// A future timed by [`TimedExt::timed`]. Records when it completes, is dropped, or panics.
    #[must_use = "futures do nothing unless polled"]
    pub struct Timed<'a, F, M: RecordDuration, O> {
        #[pin]
        future: F,
        target: &'a M,
        timer: Option<Timer<&'a M>>,
        outcome: O,
    }
}

impl<F: fmt::Debug, M: RecordDuration, O> fmt::Debug for Timed<'_, F, M, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timed").field("future", &self.future).finish()
    }
}

impl<'a, F, M, O> Future for Timed<'a, F, M, O>
where
    F: Future,
    M: RecordDuration,
    O: Fn(&F::Output) -> Outcome,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let target: &'a M = this.target;
        // Timing starts at the first poll, as for an `async fn`.
        this.timer.get_or_insert_with(|| Timer::start_cancellable(target));
        match this.future.poll(cx) {
            Poll::Ready(output) => {
                if let Some(timer) = this.timer.take() {
                    timer.finish((this.outcome)(&output));
                }
                Poll::Ready(output)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// How [`Timed`] derives the outcome from a future's output.
pub type OutcomeFn<T> = fn(&T) -> Outcome;

/// Times any future into a Histogram or Summary.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Histogram, Outcome, TimedExt};
///
/// static CALLS: Histogram<Outcome> = Histogram::new();
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # rt.block_on(async {
/// let value = async { 40 + 2 }.timed(&CALLS).await;
/// assert_eq!(value, 42);
/// let failed: Result<(), ()> = async { Err(()) }.timed_result(&CALLS).await;
/// assert!(failed.is_err());
/// # });
/// assert_eq!(CALLS.with(Outcome::Ok).count(), 1);
/// assert_eq!(CALLS.with(Outcome::Error).count(), 1);
/// ```
pub trait TimedExt: Future + Sized {
    /// Records the time from first poll to completion (outcome `ok`), or to drop (`cancelled`),
    /// or to a panic (`panicked`).
    fn timed<M: RecordDuration>(self, target: &M) -> Timed<'_, Self, M, OutcomeFn<Self::Output>> {
        fn ok<T>(_: &T) -> Outcome {
            Outcome::Ok
        }
        Timed { future: self, target, timer: None, outcome: ok::<Self::Output> }
    }

    /// As [`TimedExt::timed`], with the outcome `ok` or `error` taken from the `Result`.
    fn timed_result<M: RecordDuration>(self, target: &M) -> Timed<'_, Self, M, OutcomeFn<Self::Output>>
    where
        Self::Output: ToOutcome,
    {
        Timed { future: self, target, timer: None, outcome: <Self::Output as ToOutcome>::outcome }
    }
}

impl<F: Future> TimedExt for F {}
