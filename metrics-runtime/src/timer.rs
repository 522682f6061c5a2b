//! Timing: the `Outcome` tag, drop guards that record elapsed seconds, and [`TimedExt`] for
//! futures. `#[timed]` expands to these.

use core::fmt;
use core::future::Future;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::ptr;
use core::task::{Context, Poll};
use std::time::Duration;

// The clock: quanta's TSC-based `Clock` (calibrated once against the OS clock; it falls back
// to the OS clock where the TSC is not invariant). `benches/timed.rs` measured a reading at
// ~10 ns against ~25 ns for `std::time::Instant::now()` on this project's machine, and a timed
// call reads it twice.
use std::sync::atomic::{
    AtomicBool, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};
use std::sync::OnceLock;

use quanta::Clock;

use crate::histogram::{Histogram, HistogramHandle};
use crate::summary::{Summary, SummaryHandle};
use crate::Tag;

/// How a timed call ended. Tag a Histogram or Summary with it (`Histogram<Outcome>`) and
/// `#[timed]` records each call under its outcome.
///
/// `ok` and `error` come from a returned `Result` (any other return value is `ok`);
/// `cancelled` is a future dropped before completion; `panicked` is a panic unwinding through
/// the call.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Histogram, Outcome, RecordDuration, Tag};
///
/// static CALLS: Histogram<Outcome> = Histogram::new();
/// assert_eq!(Outcome::NAME, "outcome");
/// assert_eq!(Outcome::VALUES, ["ok", "error", "cancelled", "panicked"]);
///
/// drop(CALLS.start_timer()); // a plain drop: `ok`
/// let _ = std::panic::catch_unwind(|| {
///     let _timer = CALLS.start_timer();
///     panic!("the call fails"); // unwinds through the timer: `panicked`
/// });
/// assert_eq!(CALLS.with(Outcome::Ok).count(), 1);
/// assert_eq!(CALLS.with(Outcome::Panicked).count(), 1);
/// ```
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
///
/// # Examples
///
/// ```
/// use std::sync::Mutex;
/// use metrics_runtime::{Histogram, Outcome, RecordDuration};
///
/// // Histograms and summaries are targets already.
/// static LATENCY: Histogram = Histogram::new();
/// LATENCY.start_timer().stop();
/// assert_eq!(LATENCY.count(), 1);
///
/// // A target of your own: here, a test double that keeps each call's outcome.
/// #[derive(Default)]
/// struct Outcomes(Mutex<Vec<Outcome>>);
///
/// impl RecordDuration for Outcomes {
///     fn record_seconds(&self, seconds: f64, outcome: Outcome) {
///         assert!(seconds >= 0.0);
///         self.0.lock().unwrap().push(outcome);
///     }
/// }
///
/// let seen = Outcomes::default();
/// drop(seen.start_timer());
/// seen.start_timer().finish(Outcome::Error);
/// assert_eq!(*seen.0.lock().unwrap(), [Outcome::Ok, Outcome::Error]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot record a duration",
    label = "not a Histogram or Summary (or one series of one)",
    note = "`#[timed]`, `start_timer` and `TimedExt::timed` need a `Histogram`, a `Summary`, a series of one (`.with(tags)`), or one tagged by `Outcome`"
)]
pub trait RecordDuration {
    /// Records `seconds` for a call that ended with `outcome`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Outcome, RecordDuration};
    ///
    /// static CALLS: Histogram<Outcome> = Histogram::new();
    /// CALLS.record_seconds(0.25, Outcome::Error); // the outcome picks the series
    /// assert_eq!(CALLS.with(Outcome::Error).sum(), 0.25);
    ///
    /// static PLAIN: Histogram = Histogram::new();
    /// PLAIN.record_seconds(0.5, Outcome::Error); // an untagged target ignores it
    /// assert_eq!(PLAIN.count(), 1);
    /// ```
    fn record_seconds(&self, seconds: f64, outcome: Outcome);

    /// Records the `seconds` a timer measured, which are finite and not negative (what
    /// [`record_timer_ticks`](Self::record_timer_ticks) comes to unless a target overrides it).
    /// As [`record_seconds`](Self::record_seconds) unless a target skips the check for other
    /// values (histograms do), so it is not for values from elsewhere: a NaN given here may be
    /// recorded rather than counted as invalid.
    #[doc(hidden)]
    #[inline(always)]
    fn record_timer_seconds(&self, seconds: f64, outcome: Outcome) {
        self.record_seconds(seconds, outcome);
    }

    /// Records a timer's reading, in clock ticks: what timers call. As
    /// [`record_timer_seconds`](Self::record_timer_seconds) of its seconds unless a target
    /// converts them later (histograms do, once they have found where the value goes, so that
    /// the reading is held in an integer register across what they call on the way).
    #[doc(hidden)]
    #[inline(always)]
    fn record_timer_ticks(&self, ticks: Ticks, outcome: Outcome) {
        self.record_timer_seconds(ticks.seconds(), outcome);
    }

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
    #[inline(always)]
    fn record_seconds(&self, seconds: f64, _: Outcome) {
        self.with(()).record_timed(seconds);
    }

    #[inline(always)]
    fn record_timer_seconds(&self, seconds: f64, _: Outcome) {
        self.with(()).record_timer(seconds);
    }

    #[inline(always)]
    fn record_timer_ticks(&self, ticks: Ticks, _: Outcome) {
        self.with(()).record_timer_ticks(ticks);
    }
}

impl<const B: usize> RecordDuration for HistogramHandle<'_, B> {
    #[inline(always)]
    fn record_seconds(&self, seconds: f64, _: Outcome) {
        self.record_timed(seconds);
    }

    #[inline(always)]
    fn record_timer_seconds(&self, seconds: f64, _: Outcome) {
        self.record_timer(seconds);
    }

    #[inline(always)]
    fn record_timer_ticks(&self, ticks: Ticks, _: Outcome) {
        HistogramHandle::record_timer_ticks(self, ticks);
    }
}

impl<const C: usize, const B: usize> RecordDuration for crate::NativeHistogram<(), C, B> {
    #[inline]
    fn record_seconds(&self, seconds: f64, _: Outcome) {
        self.record(seconds);
    }
}

impl<const C: usize, const B: usize> RecordDuration for crate::NativeHandle<'_, C, B> {
    #[inline]
    fn record_seconds(&self, seconds: f64, _: Outcome) {
        self.record(seconds);
    }
}

impl<const B: usize> RecordDuration for Histogram<Outcome, B> {
    #[inline(always)]
    fn record_seconds(&self, seconds: f64, outcome: Outcome) {
        self.with(outcome).record_timed(seconds);
    }

    #[inline(always)]
    fn record_timer_seconds(&self, seconds: f64, outcome: Outcome) {
        self.with(outcome).record_timer(seconds);
    }

    #[inline(always)]
    fn record_timer_ticks(&self, ticks: Ticks, outcome: Outcome) {
        self.with(outcome).record_timer_ticks(ticks);
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
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Summary, Tag};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Region { Eu, Us }
    ///
    /// static CHECKOUT: Summary<Region> = Summary::new();
    /// {
    ///     let _timer = CHECKOUT.with(Region::Eu).start_timer();
    ///     // ... check out ...
    /// }
    /// assert_eq!(CHECKOUT.with(Region::Eu).count(), 1);
    /// assert_eq!(CHECKOUT.with(Region::Us).count(), 0);
    /// ```
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
    #[inline(always)]
    fn record_seconds(&self, seconds: f64, outcome: Outcome) {
        (**self).record_seconds(seconds, outcome);
    }

    #[inline(always)]
    fn record_timer_seconds(&self, seconds: f64, outcome: Outcome) {
        (**self).record_timer_seconds(seconds, outcome);
    }

    #[inline(always)]
    fn record_timer_ticks(&self, ticks: Ticks, outcome: Outcome) {
        (**self).record_timer_ticks(ticks, outcome);
    }
}

/// A target named again where it records: what `#[timed]` times an `async fn` into when its
/// target is a static or a field of one. The timer then keeps the closure that names it (which
/// captures nothing) in the future's state, not a reference it must load back after the
/// `.await`, and records into the static's own address as a sync fn's timer does.
#[doc(hidden)]
pub struct Deferred<G>(pub G);

impl<G> fmt::Debug for Deferred<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Deferred")
    }
}

impl<G: Fn() -> T, T: RecordDuration> RecordDuration for Deferred<G> {
    #[inline(always)]
    fn record_seconds(&self, seconds: f64, outcome: Outcome) {
        (self.0)().record_seconds(seconds, outcome);
    }

    #[inline(always)]
    fn record_timer_seconds(&self, seconds: f64, outcome: Outcome) {
        (self.0)().record_timer_seconds(seconds, outcome);
    }

    #[inline(always)]
    fn record_timer_ticks(&self, ticks: Ticks, outcome: Outcome) {
        (self.0)().record_timer_ticks(ticks, outcome);
    }
}

/// The process's clock, calibrated on first use (as `quanta::Instant::now` does for its own).
/// Timers read it raw (one `rdtsc` where the TSC is invariant, read directly rather than
/// through the clock's dispatch on its kind: `benches/timed.rs` measured the timer into
/// nothing at 1.19-1.20x its two clock reads so, 1.21x through the dispatch) and scale only
/// the difference: no scaling of each reading and no check for a thread's mock clock, which
/// `Instant::now` does on every call.
fn clock() -> &'static Clock {
    static CLOCK: OnceLock<Clock> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let clock = Clock::new();
        // The clock's own scaling of a long span gives seconds per raw tick (1 ns per tick
        // where it falls back to the OS clock).
        let ticks = 1u64 << 40;
        let seconds_per_tick = clock.delta_as_nanos(0, ticks) as f64 / ticks as f64 * 1e-9;
        SECONDS_PER_TICK.store(seconds_per_tick.to_bits(), Relaxed);
        // Release: whoever reads the TSC inline on seeing this (`raw_now`) sees the tick length.
        TSC.store(reads_the_tsc(&clock), Release);
        clock
    })
}

/// What a timer's readings need of [`clock`] (whether its raw readings are the TSC's, and the
/// length of a tick in seconds), read without the check that the clock is set up: `TSC` is set
/// (after the tick length) only by the setup, and a start that does not find it set reads
/// through the clock, which sets it up; so whoever took a start set the clock up (on any
/// thread, before the start could reach this one).
static TSC: AtomicBool = AtomicBool::new(false);
static SECONDS_PER_TICK: AtomicU64 = AtomicU64::new(0);

/// A timer's reading: the clock ticks from its start to its end, not negative. Converted to
/// seconds where it is recorded ([`RecordDuration::record_timer_ticks`]).
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Ticks(i64);

impl Ticks {
    /// The ticks from `start`, a raw reading of [`clock`], to now; 0 if the clock reads earlier
    /// (as it may across cores without an invariant TSC). Timers keep no reference to the
    /// clock: this reads what it needs of it from statics.
    #[inline(always)]
    fn since(start: u64) -> Self {
        // Branch-free: a reading earlier than `start` wraps to a negative difference, and so
        // gives 0 (as would a span of 2^63 ticks, which is decades).
        Self((raw_now().wrapping_sub(start) as i64).max(0))
    }

    /// In seconds: a signed conversion (one instruction; an unsigned one takes four) and one
    /// multiplication by the tick length.
    #[inline(always)]
    pub fn seconds(self) -> f64 {
        self.0 as f64 * f64::from_bits(SECONDS_PER_TICK.load(Relaxed))
    }
}

/// Seconds from `start`, a raw reading of [`clock`], to now (see [`Ticks::since`]).
#[inline(always)]
fn seconds_since(start: u64) -> f64 {
    Ticks::since(start).seconds()
}

/// A raw reading of [`clock`]: `rdtsc` inline once the clock is set up and found to read the
/// TSC; otherwise (before the first reading, or where the clock is the OS's) a call, so that
/// the clock's setup and its dispatch on its kind stay out of every timed fn.
#[inline(always)]
fn raw_now() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if TSC.load(Acquire) {
        // SAFETY: as in `reads_the_tsc`.
        return unsafe { core::arch::x86_64::_rdtsc() };
    }
    raw_now_slow()
}

/// [`raw_now`] where the TSC is not read inline.
#[cold]
#[inline(never)]
fn raw_now_slow() -> u64 {
    clock().raw()
}

/// Whether `clock`'s raw readings are the TSC's: each of three falls between two `rdtsc`
/// readings around it (a reading of the OS clock, in ns since boot, does not: the TSC ticks at
/// another rate, from another origin). Timers then read the TSC themselves, without the
/// clock's dispatch on its kind, and scale its ticks as the clock does.
#[cfg(target_arch = "x86_64")]
fn reads_the_tsc(clock: &Clock) -> bool {
    use core::arch::x86_64::_rdtsc;
    (0..3).all(|_| {
        // SAFETY: `rdtsc` exists on every x86_64 processor and reads a register, nothing else.
        let before = unsafe { _rdtsc() };
        let raw = clock.raw();
        // SAFETY: as above.
        let after = unsafe { _rdtsc() };
        before <= raw && raw <= after
    })
}

#[cfg(not(target_arch = "x86_64"))]
fn reads_the_tsc(_: &Clock) -> bool {
    false
}

/// Seconds since the Unix epoch from the timers' clock: the OS clock read once, then one raw
/// clock read and a multiplication (about 10 ns where `SystemTime::now` takes 20-40). For
/// exemplar timestamps: it follows the OS clock's rate, not its later adjustments.
pub(crate) fn unix_now() -> f64 {
    static BASE: OnceLock<(f64, u64)> = OnceLock::new();
    let (unix, raw) = *BASE.get_or_init(|| (crate::read::now_unix(), raw_now()));
    unix + seconds_since(raw)
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
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use metrics_runtime::{Histogram, Outcome, Timer};
///
/// static STEPS: Histogram<Outcome> = Histogram::new();
///
/// let timer = Timer::start(&STEPS);
/// std::thread::sleep(Duration::from_millis(2));
/// let elapsed = timer.finish(Outcome::Error);
/// assert!(elapsed >= Duration::from_millis(2));
/// assert_eq!(STEPS.with(Outcome::Error).count(), 1);
///
/// Timer::start(&STEPS).discard();
/// assert_eq!(STEPS.with(Outcome::Ok).count(), 0);
/// ```
#[must_use = "a timer records when dropped; bind it to a variable (`let _timer = ...`)"]
pub struct Timer<M, R: Fn(&M, Ticks, Outcome) = fn(&M, Ticks, Outcome)> {
    target: M,
    // Captured where `M: RecordDuration` is known, so that only construction needs the bound
    // (one compile error for a wrong target, not one per use; two for `#[timed]` on an async or
    // `Result` fn, whose zero-sized record type carries the bound). A function pointer by default
    // (a type users can name), a constant the optimiser inlines when the timer stays on the
    // stack; `#[timed]` keeps the function's own zero-sized type instead, a direct call even
    // from a timer held in a future's state.
    record: R,
    /// Raw reading of `clock` at the start.
    start: u64,
    on_drop: Option<Outcome>,
}

impl<M: RecordDuration> Timer<M> {
    /// Starts timing now; a plain drop records [`Outcome::Ok`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::{Histogram, Timer};
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// let timer = Timer::start(LATENCY.with(())); // a series handle, held by value
    /// std::thread::sleep(Duration::from_millis(5));
    /// drop(timer);
    /// assert_eq!(LATENCY.count(), 1);
    /// assert!(LATENCY.sum() >= 0.005);
    /// ```
    ///
    /// # Performance
    ///
    /// One clock read (quanta's TSC clock, about 10 ns); never allocates.
    #[inline]
    pub fn start(target: M) -> Self {
        Self::begin(target, M::record_timer_ticks, Outcome::Ok)
    }

    /// Starts timing now; a plain drop records [`Outcome::Cancelled`]. Used by [`TimedExt`],
    /// which calls [`Timer::record_finish`] when the future completes.
    #[doc(hidden)]
    #[inline]
    pub fn start_cancellable(target: M) -> Self {
        Self::begin(target, M::record_timer_ticks, Outcome::Cancelled)
    }

    /// As [`Timer::start_cancellable`], keeping the target's record function as its own
    /// zero-sized type: what `#[timed]` starts, so that the record is a direct call even from
    /// a timer held across an `.await`.
    #[doc(hidden)]
    #[inline]
    pub fn start_timed(target: M) -> Timer<M, impl Fn(&M, Ticks, Outcome)> {
        Timer::begin(target, M::record_timer_ticks, Outcome::Cancelled)
    }
}

impl<M, R: Fn(&M, Ticks, Outcome)> Timer<M, R> {
    /// Starts timing now, recording through `record`; a plain drop records `on_drop`.
    #[inline(always)]
    fn begin(target: M, record: R, on_drop: Outcome) -> Self {
        Self { target, record, start: raw_now(), on_drop: Some(on_drop) }
    }

    /// The time since the timer started.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::{Histogram, RecordDuration};
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// let timer = LATENCY.start_timer();
    /// std::thread::sleep(Duration::from_millis(3));
    /// assert!(timer.elapsed() >= Duration::from_millis(3));
    /// assert_eq!(LATENCY.count(), 0); // reading it records nothing
    /// ```
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.elapsed_nanos())
    }

    /// Nanoseconds since the start (0 if the clock reads earlier, as it may across cores
    /// without an invariant TSC).
    #[inline(always)]
    fn elapsed_nanos(&self) -> u64 {
        let now = raw_now();
        clock().delta_as_nanos(self.start, now)
    }

    /// Records now with [`Outcome::Ok`] and returns the elapsed time (what was recorded, to the
    /// nanosecond).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, RecordDuration};
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// let timer = LATENCY.start_timer();
    /// let elapsed = timer.stop();
    /// assert_eq!(LATENCY.count(), 1);
    /// assert!((LATENCY.sum() - elapsed.as_secs_f64()).abs() <= 0.5e-9); // what was recorded
    /// ```
    pub fn stop(self) -> Duration {
        self.finish(Outcome::Ok)
    }

    /// Records now with `outcome` and returns the elapsed time (what was recorded, to the
    /// nanosecond).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Outcome, RecordDuration};
    ///
    /// static CALLS: Histogram<Outcome> = Histogram::new();
    /// let timer = CALLS.start_timer();
    /// let response: Result<(), &str> = Err("timeout");
    /// timer.finish(if response.is_ok() { Outcome::Ok } else { Outcome::Error });
    /// assert_eq!(CALLS.with(Outcome::Error).count(), 1);
    /// assert_eq!(CALLS.with(Outcome::Ok).count(), 0);
    /// ```
    #[inline]
    pub fn finish(mut self, outcome: Outcome) -> Duration {
        self.on_drop = None;
        let ticks = Ticks::since(self.start);
        (self.record)(&self.target, ticks, outcome);
        // Finite and not negative (and below 2^64 seconds): `from_secs_f64` cannot panic.
        Duration::from_secs_f64(ticks.seconds())
    }

    /// Records now with `outcome`, like [`Timer::finish`] without computing the `Duration`:
    /// what `#[timed]` calls. The timer is not dropped, so that nothing tests again whether to
    /// record, and its parts are read where they are (in an async fn's state, not copied out);
    /// its target is dropped in place.
    #[doc(hidden)]
    #[inline(always)]
    pub fn record_finish(self, outcome: Outcome) {
        let mut this = ManuallyDrop::new(self);
        (this.record)(&this.target, Ticks::since(this.start), outcome);
        // SAFETY: `this` is never used again, nor dropped (it is a `ManuallyDrop`): the target
        // and the record function are dropped here once.
        unsafe {
            ptr::drop_in_place(&mut this.target);
            ptr::drop_in_place(&mut this.record);
        }
    }

    /// Stops without recording.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, RecordDuration};
    ///
    /// static CACHE_FILL_SECONDS: Histogram = Histogram::new();
    /// let timer = CACHE_FILL_SECONDS.start_timer();
    /// let already_cached = true;
    /// if already_cached {
    ///     timer.discard(); // not a fill: do not record it
    /// }
    /// assert_eq!(CACHE_FILL_SECONDS.count(), 0);
    /// ```
    pub fn discard(mut self) {
        self.on_drop = None;
    }
}

impl<M, R: Fn(&M, Ticks, Outcome)> Drop for Timer<M, R> {
    #[inline]
    fn drop(&mut self) {
        if let Some(outcome) = self.on_drop {
            let outcome = if std::thread::panicking() { Outcome::Panicked } else { outcome };
            (self.record)(&self.target, Ticks::since(self.start), outcome);
        }
    }
}

impl<M, R: Fn(&M, Ticks, Outcome)> fmt::Debug for Timer<M, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer").field("elapsed", &self.elapsed()).finish()
    }
}

/// The outcome of a returned value: `Err(_)` is [`Outcome::Error`], anything else
/// [`Outcome::Ok`].
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Histogram, Outcome, TimedExt, ToOutcome};
///
/// // A reply type of your own, timed by outcome like a `Result`.
/// enum Reply { Done, Rejected }
///
/// impl ToOutcome for Reply {
///     fn outcome(&self) -> Outcome {
///         match self {
///             Reply::Done => Outcome::Ok,
///             Reply::Rejected => Outcome::Error,
///         }
///     }
/// }
///
/// static CALLS: Histogram<Outcome> = Histogram::new();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let reply = async { Reply::Rejected }.timed_result(&CALLS).await;
/// assert!(matches!(reply, Reply::Rejected));
/// # });
/// assert_eq!(CALLS.with(Outcome::Error).count(), 1);
/// ```
pub trait ToOutcome {
    /// The outcome this value stands for.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Outcome, ToOutcome};
    ///
    /// assert_eq!(Ok::<u32, String>(7).outcome(), Outcome::Ok);
    /// assert_eq!(Err::<u32, String>("refused".into()).outcome(), Outcome::Error);
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, OutcomeFn, Timed, TimedExt};
    ///
    /// static LATENCY: Histogram = Histogram::new();
    /// let never_polled: Timed<'_, _, Histogram, OutcomeFn<u32>> = async { 1 }.timed(&LATENCY);
    /// drop(never_polled); // timing starts at the first poll: nothing recorded
    /// assert_eq!(LATENCY.count(), 0);
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// assert_eq!(async { 2 }.timed(&LATENCY).await, 2);
    /// # });
    /// assert_eq!(LATENCY.count(), 1);
    /// ```
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
                    timer.record_finish((this.outcome)(&output));
                }
                Poll::Ready(output)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// How [`Timed`] derives the outcome from a future's output.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Outcome, OutcomeFn, ToOutcome};
///
/// let of_result: OutcomeFn<Result<u8, ()>> = <Result<u8, ()> as ToOutcome>::outcome;
/// assert_eq!(of_result(&Err(())), Outcome::Error);
/// assert_eq!(of_result(&Ok(3)), Outcome::Ok);
/// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Outcome, TimedExt};
    ///
    /// static FETCH_SECONDS: Histogram<Outcome> = Histogram::new();
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let body = async { "<html>" }.timed(&FETCH_SECONDS).await;
    /// assert_eq!(body, "<html>");
    ///
    /// // Dropped before it completes: recorded as `cancelled`.
    /// let stuck = std::future::pending::<()>().timed(&FETCH_SECONDS);
    /// tokio::select! {
    ///     biased;
    ///     () = stuck => unreachable!(),
    ///     () = async {} => {}
    /// }
    /// # });
    /// assert_eq!(FETCH_SECONDS.with(Outcome::Ok).count(), 1);
    /// assert_eq!(FETCH_SECONDS.with(Outcome::Cancelled).count(), 1);
    /// ```
    fn timed<M: RecordDuration>(self, target: &M) -> Timed<'_, Self, M, OutcomeFn<Self::Output>> {
        fn ok<T>(_: &T) -> Outcome {
            Outcome::Ok
        }
        Timed { future: self, target, timer: None, outcome: ok::<Self::Output> }
    }

    /// As [`TimedExt::timed`], with the outcome `ok` or `error` taken from the `Result`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Histogram, Outcome, TimedExt};
    ///
    /// static QUERY_SECONDS: Histogram<Outcome> = Histogram::new();
    /// async fn query(id: u32) -> Result<String, String> {
    ///     if id == 0 { Err("no such row".to_owned()) } else { Ok(format!("row {id}")) }
    /// }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// assert!(query(1).timed_result(&QUERY_SECONDS).await.is_ok());
    /// assert!(query(0).timed_result(&QUERY_SECONDS).await.is_err());
    /// # });
    /// assert_eq!(QUERY_SECONDS.with(Outcome::Ok).count(), 1);
    /// assert_eq!(QUERY_SECONDS.with(Outcome::Error).count(), 1);
    /// ```
    fn timed_result<M: RecordDuration>(self, target: &M) -> Timed<'_, Self, M, OutcomeFn<Self::Output>>
    where
        Self::Output: ToOutcome,
    {
        Timed { future: self, target, timer: None, outcome: <Self::Output as ToOutcome>::outcome }
    }
}

impl<F: Future> TimedExt for F {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_seconds_agree_with_the_os_clock() {
        clock();
        let seconds_per_tick = f64::from_bits(SECONDS_PER_TICK.load(Relaxed));
        assert!(seconds_per_tick > 0.0 && seconds_per_tick < 1e-6, "{seconds_per_tick}");
        let inner = std::time::Instant::now();
        let start = raw_now();
        std::thread::sleep(Duration::from_millis(30));
        let seconds = seconds_since(start);
        let outer = inner.elapsed().as_secs_f64();
        // The TSC span lies inside the OS clock's span, and covers the sleep.
        assert!(seconds >= 0.030 && seconds <= outer * 1.001, "{seconds} s by ticks, {outer} s by the OS clock");
        // A start in the future reads as zero, not as a huge span.
        assert_eq!(seconds_since(raw_now() + (1 << 40)), 0.0);
    }
}
