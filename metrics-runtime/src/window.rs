//! Sliding time windows: counts and rates ([`WindowedCounter`]) and bucket distributions
//! ([`WindowedHistogram`]) over the last few seconds or minutes.
//!
//! How the ring, windows, clock jumps and concurrency work is documented on [`WindowedCounter`].

pub use crate::clock::{Clock, ManualClock, MonotonicClock};
use core::fmt;
use core::sync::atomic::{fence, AtomicU64, Ordering};
use core::time::Duration;

use crate::aggregate::{percentile, HistogramValue};
use crate::histogram::{atomic_f64_add, bucket_index, DEFAULT_BUCKETS};

/// Set in a slot's epoch word while the slot is being zeroed for a new interval.
const LOCKED: u64 = 1 << 63;

/// Spins, then yields: the critical sections it waits for are a few stores long, but the
/// thread in one may be preempted.
#[cold]
fn backoff(spins: &mut u32) {
    if *spins < 64 {
        core::hint::spin_loop();
        *spins += 1;
    } else {
        std::thread::yield_now();
    }
}

/// The interval length and the latest interval seen: the window's notion of "now".
struct Timeline {
    interval_ms: u64,
    latest: AtomicU64,
}

impl Timeline {
    const fn new(interval: Duration, slots: usize) -> Self {
        assert!(slots > 0, "a window needs at least one slot: `N` must be above 0");
        let ms = interval.as_millis();
        assert!(ms > 0, "the interval of a window must be at least 1 ms");
        let fits = match ms.checked_mul(slots as u128) {
            Some(span) => span < LOCKED as u128,
            None => false,
        };
        assert!(fits, "the ring's span (N intervals) is too long");
        Self { interval_ms: ms as u64, latest: AtomicU64::new(0) }
    }

    /// The current interval: the clock's, or the latest seen if the clock went back.
    #[inline]
    fn now(&self, clock: &impl Clock) -> u64 {
        // Capped below the flag bit, whatever a custom clock returns.
        let t = (clock.now_millis() / self.interval_ms).min(LOCKED - 1);
        // Relaxed: `latest` is a standalone high-water mark, not a publication flag.
        let latest = self.latest.load(Ordering::Relaxed);
        if t > latest {
            self.latest.fetch_max(t, Ordering::Relaxed).max(t)
        } else {
            latest
        }
    }

    /// The first and last interval of `window` read now, and its length in intervals.
    fn range(&self, clock: &impl Clock, window: Duration, slots: usize) -> (u64, u64, u64) {
        let k = window.as_millis().div_ceil(u128::from(self.interval_ms)).clamp(1, slots as u128) as u64;
        let now = self.now(clock);
        (now.saturating_sub(k - 1), now, k)
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }
}

/// The epoch word of a slot: the interval it holds, and the [`LOCKED`] flag.
struct Epoch(AtomicU64);

impl Epoch {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self(AtomicU64::new(0));

    /// Makes the slot hold `interval` (zeroing it with `reset` if it held an older one), or
    /// leaves it if it already holds `interval` or a newer one (see the race in the `WindowedCounter` docs).
    #[inline(always)]
    fn enter(&self, interval: u64, reset: impl FnOnce()) {
        // Acquire pairs with the Release store in `enter_slow`: our add then follows the
        // zeroing of the slot.
        let current = self.0.load(Ordering::Acquire);
        if current & LOCKED == 0 && current >= interval {
            return;
        }
        self.enter_slow(interval, reset);
    }

    #[cold]
    #[inline(never)]
    fn enter_slow(&self, interval: u64, reset: impl FnOnce()) {
        let mut spins = 0;
        loop {
            let current = self.0.load(Ordering::Acquire);
            if current & LOCKED != 0 {
                backoff(&mut spins);
                continue;
            }
            if current >= interval {
                return;
            }
            if self.0.compare_exchange_weak(current, interval | LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                // The writer side of a sequence lock: the Release fence orders the flag before
                // the zeroing stores, for readers that see those stores (`read`'s Acquire fence).
                fence(Ordering::Release);
                reset();
                // Release: records and reads that see the new epoch see the zeroed slot.
                self.0.store(interval, Ordering::Release);
                return;
            }
        }
    }

    /// The slot's interval and what `read` read from it, consistent with each other.
    #[inline]
    fn read<R>(&self, read: impl Fn() -> R) -> (u64, R) {
        let mut spins = 0;
        loop {
            let before = self.0.load(Ordering::Acquire);
            if before & LOCKED == 0 {
                let value = read();
                // Pairs with the Release fence in `enter_slow`: if `read` saw a zeroing store,
                // the load below sees the flag (or a later epoch).
                fence(Ordering::Acquire);
                if self.0.load(Ordering::Relaxed) == before {
                    return (before, value);
                }
            }
            backoff(&mut spins);
        }
    }
}

struct CounterSlot {
    epoch: Epoch,
    count: AtomicU64,
}

impl CounterSlot {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self { epoch: Epoch::INIT, count: AtomicU64::new(0) };
}

/// A counter over a sliding time window: counts and rates over the last `window`, for windows
/// up to `N` intervals.
///
/// # The ring
///
/// Time is cut into intervals of a fixed length (say 1 s). A window type holds a ring of `N`
/// slots, one per interval, in a fixed array: memory is bounded and known at compile time,
/// the constructors are `const fn` (a window can be a `static`), and nothing is allocated on
/// any path. There is no background thread: the ring advances lazily, when a record or a read
/// finds that the clock has moved on. A slot remembers which interval it holds (its epoch), so
/// slots left behind by an idle period, or by a clock jump, are simply out of date and are
/// ignored by reads and zeroed by the next record that reuses them.
///
/// # Windows
///
/// A read over `window` covers the `k = ceil(window / interval)` most recent intervals, the
/// current (still filling) one included, with `1 <= k <= N`: windows are rounded up to whole
/// intervals and capped at the ring's span. An observation at time `t` belongs to interval
/// `t / interval`, so with 1 s intervals a record at 0.999 s and one at 1.000 s fall in
/// different intervals, and at 1.000 s a 1 s window sees only the second. Rates divide by the
/// rounded window `k * interval`; right after an interval starts, the current one is nearly
/// empty, so a rate over `k` intervals reads up to `1/k` low: use intervals small next to the
/// windows you read (60 × 1 s for rates over a minute).
///
/// # Clocks
///
/// The time comes from a [`Clock`]: [`MonotonicClock`] (the default, never backwards) or
/// [`ManualClock`] for tests. A window never goes back in time: it keeps the latest interval
/// it has seen, and if the clock reads earlier (a clock jump backwards), records count in that
/// latest interval and reads answer for it, until the clock catches up. Rates therefore never
/// turn negative and nothing panics. A jump forwards by more than the ring's span leaves every
/// slot out of date: the window reads empty, as after an idle period.
///
/// # Concurrency
///
/// Recording is lock-free in the common case: one clock read, two atomic loads and one relaxed
/// atomic add. The first record of a new interval into a reused slot zeroes it inside a tiny
/// critical section (a flag in the slot's epoch word; the zeroing is two stores for a counter,
/// `B + 1` for a histogram); records and reads that meet that flag spin until it clears. Reads
/// check a slot's epoch before and after reading it (a sequence lock), so they never mix two
/// intervals. Counts are exact under contention, with one documented race: a thread that
/// stalls for a whole ring span between finding its slot current and adding to it adds into
/// the interval that has reused the slot by then (or is zeroed with it).
///
/// # Memory
///
/// 16 bytes per slot plus a few words (`N = 60`: under 1 KiB), inline, never more.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use metrics_runtime::window::{ManualClock, WindowedCounter};
///
/// // In production: `static RPS: WindowedCounter = WindowedCounter::new(Duration::from_secs(1));`
/// // (60 slots of 1 s, the monotonic clock). Here, a manual clock.
/// static CLOCK: ManualClock = ManualClock::new();
/// static REQUESTS: WindowedCounter<10, &ManualClock> =
///     WindowedCounter::with_clock(Duration::from_millis(100), &CLOCK);
///
/// REQUESTS.add(5); // at t = 0
/// CLOCK.set_millis(500);
/// REQUESTS.add(5); // at t = 0.5 s
/// assert_eq!(REQUESTS.count(Duration::from_secs(1)), 10);
/// assert_eq!(REQUESTS.rate_per_sec(Duration::from_secs(1)), 10.0);
/// assert_eq!(REQUESTS.count(Duration::from_millis(100)), 5); // the current interval only
///
/// CLOCK.set_millis(1_000); // the interval of t = 0 leaves the 1 s window
/// assert_eq!(REQUESTS.count(Duration::from_secs(1)), 5);
/// ```
pub struct WindowedCounter<const N: usize = 60, C: Clock = MonotonicClock> {
    timeline: Timeline,
    slots: [CounterSlot; N],
    clock: C,
}

impl<const N: usize> WindowedCounter<N, MonotonicClock> {
    /// A `#[derive(Metrics)]` field: a window of `window_secs` seconds in `N` intervals,
    /// exposed as a gauge of its rate per second over the window. The derive calls it with
    /// the field's `window_secs` (60 by default).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::window::WindowedCounter;
    /// use metrics_runtime::Metrics;
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "api")]
    /// struct Api {
    ///     /// Requests per second over the last 10 seconds.
    ///     #[metric(window_secs = 10)]
    ///     requests_per_second: WindowedCounter<10>,
    /// }
    /// static API: Api = Api::new();
    /// API.requests_per_second.add(50);
    /// let text = API.render_prometheus();
    /// assert!(text.contains("# TYPE api_requests_per_second gauge\n"));
    /// assert!(text.contains("api_requests_per_second 5.0\n"), "{text}"); // 50 over 10 s
    /// ```
    pub const fn with_window_secs(window_secs: u64) -> Self {
        Self::new(interval_for(window_secs, N))
    }

    /// A counter with `N` intervals of length `interval`, on the [`MonotonicClock`].
    ///
    /// # Panics
    ///
    /// If `N` is 0, `interval` is under 1 ms, or the span is absurdly long (at compile time
    /// in a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::WindowedCounter;
    ///
    /// static LOGINS: WindowedCounter = WindowedCounter::new(Duration::from_secs(1));
    /// LOGINS.inc();
    /// assert_eq!(LOGINS.count(Duration::from_secs(60)), 1);
    /// assert_eq!(LOGINS.span(), Duration::from_secs(60));
    /// ```
    pub const fn new(interval: Duration) -> Self {
        Self::with_clock(interval, MonotonicClock)
    }
}

impl<const N: usize, C: Clock> WindowedCounter<N, C> {
    /// A counter with `N` intervals of length `interval`, reading time from `clock` (a
    /// `&'static` or [`Arc`](std::sync::Arc) clock works too).
    ///
    /// # Panics
    ///
    /// As [`WindowedCounter::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::{ManualClock, WindowedCounter};
    ///
    /// let clock = ManualClock::new();
    /// let errors: WindowedCounter<5, _> = WindowedCounter::with_clock(Duration::from_secs(1), &clock);
    /// errors.inc();
    /// assert_eq!(errors.count(Duration::from_secs(5)), 1);
    /// ```
    pub const fn with_clock(interval: Duration, clock: C) -> Self {
        Self { timeline: Timeline::new(interval, N), slots: [const { CounterSlot::INIT }; N], clock }
    }

    /// Adds one now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::{ManualClock, WindowedCounter};
    ///
    /// let clock = ManualClock::new();
    /// let logins: WindowedCounter<60, _> = WindowedCounter::with_clock(Duration::from_secs(1), &clock);
    /// logins.inc();
    /// clock.advance(Duration::from_secs(30));
    /// logins.inc();
    /// assert_eq!(logins.count(Duration::from_secs(10)), 1); // only the recent one
    /// assert_eq!(logins.count(Duration::from_secs(60)), 2);
    /// ```
    ///
    /// # Performance
    ///
    /// See [`WindowedCounter::add`].
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n` now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::WindowedCounter;
    ///
    /// static BYTES: WindowedCounter = WindowedCounter::new(Duration::from_secs(1));
    /// BYTES.add(1500);
    /// assert_eq!(BYTES.count(Duration::from_secs(10)), 1500);
    /// ```
    ///
    /// # Performance
    ///
    /// One clock read, two atomic loads and one relaxed atomic add; once per interval, the
    /// first record also zeroes the slot it reuses (two stores). Never allocates.
    #[inline]
    pub fn add(&self, n: u64) {
        let now = self.timeline.now(&self.clock);
        let slot = &self.slots[(now % N as u64) as usize];
        slot.epoch.enter(now, || slot.count.store(0, Ordering::Relaxed));
        slot.count.fetch_add(n, Ordering::Relaxed);
    }

    /// The sum of what was added in the last `window` (rounded up to whole intervals, at most
    /// the span; see the [`WindowedCounter`](WindowedCounter#windows)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::{ManualClock, WindowedCounter};
    ///
    /// let clock = ManualClock::new();
    /// let w: WindowedCounter<4, _> = WindowedCounter::with_clock(Duration::from_secs(1), &clock);
    /// w.add(1);
    /// clock.set_millis(2_000);
    /// w.add(2);
    /// assert_eq!(w.count(Duration::from_secs(1)), 2);
    /// assert_eq!(w.count(Duration::from_secs(3)), 3);
    /// assert_eq!(w.count(Duration::from_secs(100)), 3); // capped at the span, 4 s
    /// ```
    pub fn count(&self, window: Duration) -> u64 {
        self.tally(window).0
    }

    /// The count over `window`, and the window's length in intervals.
    fn tally(&self, window: Duration) -> (u64, u64) {
        let (oldest, now, k) = self.timeline.range(&self.clock, window, N);
        let count = self
            .slots
            .iter()
            .map(|s| s.epoch.read(|| s.count.load(Ordering::Relaxed)))
            .filter(|(epoch, _)| (oldest..=now).contains(epoch))
            .fold(0u64, |acc, (_, c)| acc.wrapping_add(c));
        (count, k)
    }

    /// What was added in the last `window`, per second: [`WindowedCounter::count`] divided by
    /// the window rounded up to whole intervals (see the [`WindowedCounter`](WindowedCounter#windows)). Never negative.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::{ManualClock, WindowedCounter};
    ///
    /// let clock = ManualClock::new();
    /// let w: WindowedCounter<60, _> = WindowedCounter::with_clock(Duration::from_secs(1), &clock);
    /// for second in 0..10 {
    ///     clock.set_millis(second * 1_000);
    ///     w.add(30);
    /// }
    /// assert_eq!(w.rate_per_sec(Duration::from_secs(10)), 30.0);
    /// assert_eq!(w.rate_per_sec(Duration::from_secs(60)), 5.0);
    /// ```
    pub fn rate_per_sec(&self, window: Duration) -> f64 {
        let (count, k) = self.tally(window);
        count as f64 * 1000.0 / (k * self.timeline.interval_ms) as f64
    }

    /// The length of one interval.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::WindowedCounter;
    ///
    /// let w: WindowedCounter<10> = WindowedCounter::new(Duration::from_millis(250));
    /// assert_eq!(w.interval(), Duration::from_millis(250));
    /// ```
    pub fn interval(&self) -> Duration {
        self.timeline.interval()
    }

    /// The longest window: `N` intervals.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::WindowedCounter;
    ///
    /// let w: WindowedCounter<10> = WindowedCounter::new(Duration::from_millis(250));
    /// assert_eq!(w.span(), Duration::from_millis(2_500));
    /// ```
    pub fn span(&self) -> Duration {
        Duration::from_millis(self.timeline.interval_ms * N as u64)
    }
}

impl<const N: usize, C: Clock> WindowedCounter<N, C> {
    /// Hands the rate per second over the whole window to `visitor` as one gauge sample (what
    /// the derived [`Metrics::visit`](crate::Metrics::visit) does for this field).
    pub fn visit(&self, desc: &crate::MetricDesc<'_>, visitor: &mut dyn crate::Visitor) {
        let labels = crate::read::StaticLabels::<()>::new(0);
        visitor.begin_metric(desc);
        let series = crate::Series { index: 0, labels: &labels, created: crate::read::process_start_time() };
        visitor.gauge(desc, series, self.rate_per_sec(self.span()));
        visitor.end_metric(desc);
    }
}

impl<const N: usize, C: Clock> fmt::Debug for WindowedCounter<N, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WindowedCounter")
            .field("interval", &self.interval())
            .field("slots", &N)
            .field("count", &self.count(self.span()))
            .finish()
    }
}

/// The interval of each of `n` slots for a window of `window_secs` (at least 1 s and 1 ms): what
/// the derived windowed fields are built with.
const fn interval_for(window_secs: u64, n: usize) -> Duration {
    let secs = if window_secs == 0 { 1 } else { window_secs };
    let millis = secs * 1000 / n as u64;
    Duration::from_millis(if millis == 0 { 1 } else { millis })
}

struct HistogramSlot<const B: usize> {
    epoch: Epoch,
    counts: [AtomicU64; B],
    sum: AtomicU64,
}

impl<const B: usize> HistogramSlot<B> {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self { epoch: Epoch::INIT, counts: [const { AtomicU64::new(0) }; B], sum: AtomicU64::new(0) };

    fn reset(&self) {
        for c in &self.counts {
            c.store(0, Ordering::Relaxed);
        }
        self.sum.store(0, Ordering::Relaxed);
    }
}

/// A histogram over a sliding time window: bucket counts per interval, so percentiles, counts
/// and sums over the last `window`, for windows up to `N` intervals.
///
/// Buckets work as in [`Histogram`](crate::Histogram): `B` slots per interval, the bounds plus
/// `+Inf`; NaN and infinite values are not recorded and are counted in
/// [`WindowedHistogram::invalid`]. See the [`WindowedCounter`](WindowedCounter#windows) for the window rules, clock
/// jumps and concurrency. Memory: `N * (B + 2) * 8` bytes inline (`N = 60`, `B = 16`:
/// 8.4 KiB) and a few words, never more.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use metrics_runtime::window::{ManualClock, WindowedHistogram};
///
/// static CLOCK: ManualClock = ManualClock::new();
/// static LATENCY: WindowedHistogram<60, 4, &ManualClock> =
///     WindowedHistogram::with_clock(&[0.01, 0.1, 1.0], Duration::from_secs(1), &CLOCK);
///
/// for _ in 0..99 {
///     LATENCY.record(0.005);
/// }
/// LATENCY.record(0.5);
/// let minute = Duration::from_secs(60);
/// assert_eq!(LATENCY.count(minute), 100);
/// assert!(LATENCY.percentile(0.5, minute).unwrap() <= 0.01);
/// assert!(LATENCY.percentile(0.999, minute).unwrap() > 0.1);
///
/// CLOCK.set_millis(60_000); // a minute later, the ring has moved past all of it
/// assert_eq!(LATENCY.count(minute), 0);
/// assert_eq!(LATENCY.percentile(0.5, minute), None);
/// ```
pub struct WindowedHistogram<
    const N: usize = 60,
    const B: usize = { metrics_rules::DEFAULT_HISTOGRAM_SLOTS },
    C: Clock = MonotonicClock,
> {
    bounds: &'static [f64],
    timeline: Timeline,
    invalid: AtomicU64,
    slots: [HistogramSlot<B>; N],
    clock: C,
    /// Values recorded since start, and their sum (f64 bits): a derived field's `_count` and
    /// `_sum`, which must only grow.
    total: AtomicU64,
    total_sum: AtomicU64,
    /// The quantiles a derived field exports, with their label texts.
    quantiles: &'static [f64],
    quantile_labels: &'static [&'static str],
}

impl<const N: usize, const B: usize> WindowedHistogram<N, B, MonotonicClock> {
    /// A histogram with the Prometheus default buckets ([`DEFAULT_BUCKETS`]) and `N` intervals
    /// of length `interval`, on the [`MonotonicClock`].
    ///
    /// # Panics
    ///
    /// As [`WindowedHistogram::with_clock`]; `B` must be at least 12.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::WindowedHistogram;
    ///
    /// static LATENCY: WindowedHistogram = WindowedHistogram::new(Duration::from_secs(1));
    /// LATENCY.record(0.2);
    /// assert_eq!(LATENCY.count(Duration::from_secs(60)), 1);
    /// ```
    pub const fn new(interval: Duration) -> Self {
        Self::with_clock(DEFAULT_BUCKETS, interval, MonotonicClock)
    }

    /// A histogram with the given bucket bounds and `N` intervals of length `interval`, on
    /// the [`MonotonicClock`].
    ///
    /// # Panics
    ///
    /// As [`WindowedHistogram::with_clock`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::WindowedHistogram;
    ///
    /// static SIZES: WindowedHistogram<10, 4> =
    ///     WindowedHistogram::with_bounds(&[100.0, 1000.0, 10000.0], Duration::from_secs(6));
    /// SIZES.record(512.0);
    /// assert_eq!(SIZES.bounds(), &[100.0, 1000.0, 10000.0]);
    /// assert_eq!(SIZES.sum(Duration::from_secs(60)), 512.0);
    /// ```
    pub const fn with_bounds(bounds: &'static [f64], interval: Duration) -> Self {
        Self::with_clock(bounds, interval, MonotonicClock)
    }

    /// A `#[derive(Metrics)]` field, exposed as a summary: the configured quantiles over a
    /// window of `config.window_secs` (in `N` intervals), with `_count` and `_sum` since start;
    /// the default buckets. The derive calls it with the field's `quantiles` and
    /// `window_secs`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::window::WindowedHistogram;
    /// use metrics_runtime::Metrics;
    ///
    /// #[derive(Metrics)]
    /// #[metrics(namespace = "api")]
    /// struct Api {
    ///     /// Request latency quantiles over the last minute.
    ///     #[metric(unit = "seconds", quantiles = [0.5, 0.99], window_secs = 60)]
    ///     latency_seconds: WindowedHistogram,
    /// }
    /// static API: Api = Api::new();
    /// for _ in 0..99 {
    ///     API.latency_seconds.record(0.004);
    /// }
    /// API.latency_seconds.record(0.8);
    /// let text = API.render_prometheus();
    /// assert!(text.contains("# TYPE api_latency_seconds summary\n"));
    /// // Within the bucket that holds it (here the first, up to 5 ms).
    /// assert!(text.contains("api_latency_seconds{quantile=\"0.99\"} 0.005\n"), "{text}");
    /// assert!(text.contains("api_latency_seconds_count 100\n"));
    /// ```
    pub const fn with_config(config: &'static crate::SummaryConfig) -> Self {
        let mut h = Self::with_clock(DEFAULT_BUCKETS, interval_for(config.window_secs, N), MonotonicClock);
        h.quantiles = config.quantiles;
        h.quantile_labels = config.quantile_labels;
        h
    }
}

impl<const N: usize, const B: usize, C: Clock> WindowedHistogram<N, B, C> {
    /// A histogram with the given bucket bounds and `N` intervals of length `interval`,
    /// reading time from `clock`.
    ///
    /// # Panics
    ///
    /// If `B` is not above `bounds.len()`, the bounds are not finite and strictly increasing,
    /// `N` is 0, `interval` is under 1 ms, or the span is absurdly long (at compile time in
    /// a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::{ManualClock, WindowedHistogram};
    ///
    /// let clock = ManualClock::new();
    /// let h: WindowedHistogram<10, 3, _> = WindowedHistogram::with_clock(&[1.0, 2.0], Duration::from_secs(1), &clock);
    /// h.record(1.5);
    /// assert_eq!(h.snapshot(Duration::from_secs(10)).counts, vec![0, 1, 0]);
    /// ```
    pub const fn with_clock(bounds: &'static [f64], interval: Duration, clock: C) -> Self {
        assert!(bounds.len() < B, "the histogram type has too few bucket slots: `B` must exceed the number of bounds");
        let mut i = 0;
        while i < bounds.len() {
            assert!(bounds[i].is_finite(), "bucket bounds must be finite");
            assert!(i == 0 || bounds[i - 1] < bounds[i], "bucket bounds must be strictly increasing");
            i += 1;
        }
        Self {
            bounds,
            timeline: Timeline::new(interval, N),
            invalid: AtomicU64::new(0),
            slots: [const { HistogramSlot::INIT }; N],
            clock,
            total: AtomicU64::new(0),
            total_sum: AtomicU64::new(0),
            quantiles: &[],
            quantile_labels: &[],
        }
    }

    /// Records `value` now. NaN and infinite values are counted in
    /// [`WindowedHistogram::invalid`] and not recorded.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::WindowedHistogram;
    ///
    /// static H: WindowedHistogram = WindowedHistogram::new(Duration::from_secs(1));
    /// H.record(0.3);
    /// H.record(f64::NAN);
    /// assert_eq!(H.count(Duration::from_secs(5)), 1);
    /// assert_eq!(H.invalid(), 1);
    /// ```
    ///
    /// # Performance
    ///
    /// A branch-free bucket search, one clock read, two atomic loads, one relaxed atomic add
    /// and one relaxed compare-and-swap on the sum; once per interval, the first record also
    /// zeroes the slot it reuses (`B + 1` stores). Never allocates.
    #[inline]
    pub fn record(&self, value: f64) {
        if !value.is_finite() {
            self.invalid.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let i = bucket_index(self.bounds, value).min(B - 1);
        let now = self.timeline.now(&self.clock);
        let slot = &self.slots[(now % N as u64) as usize];
        slot.epoch.enter(now, || slot.reset());
        slot.counts[i].fetch_add(1, Ordering::Relaxed);
        atomic_f64_add(&slot.sum, value);
        self.total.fetch_add(1, Ordering::Relaxed);
        atomic_f64_add(&self.total_sum, value);
    }

    /// Per-bucket counts and the sum over `window`, without allocating.
    fn fold(&self, window: Duration) -> ([u64; B], f64, u64) {
        let (oldest, now, k) = self.timeline.range(&self.clock, window, N);
        let mut counts = [0u64; B];
        let mut sum = 0.0;
        for slot in &self.slots {
            let (epoch, (slot_counts, slot_sum)) = slot.epoch.read(|| {
                let mut c = [0u64; B];
                for (dst, src) in c.iter_mut().zip(&slot.counts) {
                    *dst = src.load(Ordering::Relaxed);
                }
                (c, f64::from_bits(slot.sum.load(Ordering::Relaxed)))
            });
            if (oldest..=now).contains(&epoch) {
                for (dst, src) in counts.iter_mut().zip(slot_counts) {
                    *dst = dst.wrapping_add(src);
                }
                sum += slot_sum;
            }
        }
        (counts, sum, k)
    }

    /// The number of values recorded in the last `window` (rounded up to whole intervals, at
    /// most the span; see the [`WindowedCounter`](WindowedCounter#windows)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::{ManualClock, WindowedHistogram};
    ///
    /// let clock = ManualClock::new();
    /// let h: WindowedHistogram<10, 16, _> = WindowedHistogram::with_clock(&[1.0], Duration::from_secs(1), &clock);
    /// h.record(0.5);
    /// clock.set_millis(3_000);
    /// h.record(0.5);
    /// assert_eq!(h.count(Duration::from_secs(1)), 1);
    /// assert_eq!(h.count(Duration::from_secs(4)), 2);
    /// ```
    pub fn count(&self, window: Duration) -> u64 {
        let (counts, _, _) = self.fold(window);
        counts[..=self.bounds.len()].iter().fold(0u64, |a, c| a.wrapping_add(*c))
    }

    /// The sum of the values recorded in the last `window`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::WindowedHistogram;
    ///
    /// static H: WindowedHistogram = WindowedHistogram::new(Duration::from_secs(1));
    /// H.record(0.25);
    /// H.record(0.5);
    /// assert_eq!(H.sum(Duration::from_secs(60)), 0.75);
    /// ```
    pub fn sum(&self, window: Duration) -> f64 {
        self.fold(window).1
    }

    /// Values recorded per second over the last `window` (the count divided by the window
    /// rounded up to whole intervals).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::{ManualClock, WindowedHistogram};
    ///
    /// let clock = ManualClock::new();
    /// let h: WindowedHistogram<10, 16, _> = WindowedHistogram::with_clock(&[1.0], Duration::from_secs(1), &clock);
    /// for _ in 0..20 {
    ///     h.record(0.1);
    /// }
    /// assert_eq!(h.rate_per_sec(Duration::from_secs(10)), 2.0);
    /// ```
    pub fn rate_per_sec(&self, window: Duration) -> f64 {
        let (counts, _, k) = self.fold(window);
        let count = counts[..=self.bounds.len()].iter().fold(0u64, |a, c| a.wrapping_add(*c));
        count as f64 * 1000.0 / (k * self.timeline.interval_ms) as f64
    }

    /// The estimated `q` quantile (`0 <= q <= 1`) of the values recorded in the last
    /// `window`, or `None` when there are none or `q` is out of range. The estimate and its
    /// error are those of [`HistogramHandle::percentile`](crate::HistogramHandle::percentile).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::{ManualClock, WindowedHistogram};
    ///
    /// let clock = ManualClock::new();
    /// let h: WindowedHistogram<10, 3, _> = WindowedHistogram::with_clock(&[10.0, 20.0], Duration::from_secs(1), &clock);
    /// for _ in 0..4 {
    ///     h.record(15.0);
    /// }
    /// assert_eq!(h.percentile(0.5, Duration::from_secs(1)), Some(15.0));
    /// assert_eq!(h.percentile(2.0, Duration::from_secs(1)), None);
    /// ```
    pub fn percentile(&self, q: f64, window: Duration) -> Option<f64> {
        let (counts, _, _) = self.fold(window);
        percentile(self.bounds, &counts[..=self.bounds.len()], q)
    }

    /// The buckets and sum of the last `window`, as plain data.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::{ManualClock, WindowedHistogram};
    ///
    /// let clock = ManualClock::new();
    /// let h: WindowedHistogram<10, 3, _> = WindowedHistogram::with_clock(&[1.0, 2.0], Duration::from_secs(1), &clock);
    /// h.record(0.5);
    /// h.record(5.0);
    /// let v = h.snapshot(Duration::from_secs(10));
    /// assert_eq!((v.counts, v.sum), (vec![1, 0, 1], 5.5));
    /// ```
    pub fn snapshot(&self, window: Duration) -> HistogramValue {
        let (counts, sum, _) = self.fold(window);
        HistogramValue { bounds: self.bounds.to_vec(), counts: counts[..=self.bounds.len()].to_vec(), sum }
    }

    /// The bucket bounds (without `+Inf`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::DEFAULT_BUCKETS;
    /// use metrics_runtime::window::WindowedHistogram;
    ///
    /// let h: WindowedHistogram = WindowedHistogram::new(Duration::from_secs(1));
    /// assert_eq!(h.bounds(), DEFAULT_BUCKETS);
    /// ```
    pub fn bounds(&self) -> &'static [f64] {
        self.bounds
    }

    /// How many NaN or infinite values were rejected, since start.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::WindowedHistogram;
    ///
    /// let h: WindowedHistogram = WindowedHistogram::new(Duration::from_secs(1));
    /// h.record(f64::INFINITY);
    /// assert_eq!(h.invalid(), 1);
    /// ```
    pub fn invalid(&self) -> u64 {
        self.invalid.load(Ordering::Relaxed)
    }

    /// The length of one interval.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::WindowedHistogram;
    ///
    /// let h: WindowedHistogram<12> = WindowedHistogram::new(Duration::from_secs(5));
    /// assert_eq!(h.interval(), Duration::from_secs(5));
    /// ```
    pub fn interval(&self) -> Duration {
        self.timeline.interval()
    }

    /// The longest window: `N` intervals.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::WindowedHistogram;
    ///
    /// let h: WindowedHistogram<12> = WindowedHistogram::new(Duration::from_secs(5));
    /// assert_eq!(h.span(), Duration::from_secs(60));
    /// ```
    pub fn span(&self) -> Duration {
        Duration::from_millis(self.timeline.interval_ms * N as u64)
    }
}

impl<const N: usize, const B: usize, C: Clock> WindowedHistogram<N, B, C> {
    /// Hands the configured quantiles over the whole window (NaN when it is empty), with the
    /// count and sum since start, to `visitor` as one summary (what the derived
    /// [`Metrics::visit`](crate::Metrics::visit) does for this field).
    pub fn visit(&self, desc: &crate::MetricDesc<'_>, visitor: &mut dyn crate::Visitor) {
        let span = self.span();
        let mut values = [f64::NAN; 16];
        let n = self.quantiles.len().min(values.len());
        for (v, q) in values.iter_mut().zip(&self.quantiles[..n]) {
            *v = self.percentile(*q, span).unwrap_or(f64::NAN);
        }
        let read = crate::SummaryRead {
            quantiles: &self.quantiles[..n],
            labels: &self.quantile_labels[..n.min(self.quantile_labels.len())],
            values: &values[..n],
            count: self.total.load(Ordering::Relaxed),
            sum: f64::from_bits(self.total_sum.load(Ordering::Relaxed)),
        };
        let labels = crate::read::StaticLabels::<()>::new(0);
        visitor.begin_metric(desc);
        let series = crate::Series { index: 0, labels: &labels, created: crate::read::process_start_time() };
        visitor.summary(desc, series, &read);
        visitor.end_metric(desc);
    }

    /// Heap memory: none (for the derive's memory accounting).
    pub fn heap_bytes(&self) -> usize {
        0
    }
}

impl<const N: usize, const B: usize, C: Clock> fmt::Debug for WindowedHistogram<N, B, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WindowedHistogram")
            .field("bounds", &self.bounds)
            .field("interval", &self.interval())
            .field("slots", &N)
            .field("invalid", &self.invalid())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn slots_are_reused_modulo_the_ring() {
        let clock = ManualClock::new();
        let w: WindowedCounter<3, _> = WindowedCounter::with_clock(Duration::from_millis(10), &clock);
        for t in 0..9u64 {
            clock.set_millis(t * 10);
            w.add(t + 1);
            // The ring holds the current and the two previous intervals.
            let expected: u64 = (t.saturating_sub(2)..=t).map(|i| i + 1).sum();
            assert_eq!(w.count(Duration::from_millis(30)), expected, "t = {t}");
        }
        let epochs: Vec<u64> = w.slots.iter().map(|s| s.epoch.0.load(Ordering::Relaxed)).collect();
        assert_eq!(epochs, [6, 7, 8]);
    }

    #[test]
    fn window_rounding() {
        let clock = ManualClock::new();
        let t = Timeline::new(Duration::from_millis(100), 10);
        clock.set_millis(1_234);
        assert_eq!(t.range(&clock, Duration::ZERO, 10), (12, 12, 1));
        assert_eq!(t.range(&clock, Duration::from_millis(100), 10), (12, 12, 1));
        assert_eq!(t.range(&clock, Duration::from_millis(101), 10), (11, 12, 2));
        assert_eq!(t.range(&clock, Duration::from_secs(3600), 10), (3, 12, 10));
        clock.set_millis(50);
        assert_eq!(t.range(&clock, Duration::from_secs(1), 10), (3, 12, 10)); // held at 12
    }
}
