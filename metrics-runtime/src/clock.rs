//! Clocks for the time windows: the monotonic default, and a manual clock for tests.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use core::time::Duration;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// A source of time for [`WindowedCounter`](crate::window::WindowedCounter) and
/// [`WindowedHistogram`](crate::window::WindowedHistogram): milliseconds since an origin that is fixed
/// for the clock.
///
/// Windows only ever compare readings of one clock, so the origin does not matter. A clock
/// should not go backwards; the windows document what they do when it does (they hold at the
/// latest reading until the clock catches up).
///
/// # Examples
///
/// ```
/// use metrics_runtime::window::{Clock, ManualClock, MonotonicClock};
///
/// // A clock of your own: a fixed one here.
/// struct Frozen;
/// impl Clock for Frozen {
///     fn now_millis(&self) -> u64 {
///         42
///     }
/// }
/// assert_eq!(Frozen.now_millis(), 42);
///
/// let a = MonotonicClock.now_millis();
/// assert!(MonotonicClock.now_millis() >= a);
///
/// let manual = ManualClock::new();
/// manual.set_millis(1_500);
/// assert_eq!((&manual).now_millis(), 1_500); // a reference to a clock is a clock
/// ```
pub trait Clock: Send + Sync {
    /// Milliseconds since this clock's origin.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::window::{Clock, ManualClock};
    ///
    /// let clock = ManualClock::new();
    /// clock.set_millis(250);
    /// assert_eq!(clock.now_millis(), 250);
    /// ```
    fn now_millis(&self) -> u64;
}

impl<C: Clock + ?Sized> Clock for &C {
    #[inline]
    fn now_millis(&self) -> u64 {
        (**self).now_millis()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    #[inline]
    fn now_millis(&self) -> u64 {
        (**self).now_millis()
    }
}

/// The default clock: [`Instant`], in milliseconds since the first reading of any
/// `MonotonicClock` in the process. It never goes backwards.
///
/// # Examples
///
/// ```
/// use metrics_runtime::window::{Clock, MonotonicClock};
///
/// let before = MonotonicClock.now_millis();
/// std::thread::sleep(std::time::Duration::from_millis(5));
/// assert!(MonotonicClock.now_millis() >= before + 5);
/// ```
///
/// # Performance
///
/// One `Instant::now()` (a vDSO call on Linux, no system call) and one atomic load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    #[inline]
    fn now_millis(&self) -> u64 {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        let origin = *ORIGIN.get_or_init(Instant::now);
        // `u64` milliseconds last 584 million years.
        origin.elapsed().as_millis() as u64
    }
}

/// A clock that moves only when told to: for tests of time windows.
///
/// It starts at 0 and can be set to any reading, forwards or backwards.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use metrics_runtime::window::{Clock, ManualClock};
///
/// static CLOCK: ManualClock = ManualClock::new();
/// assert_eq!(CLOCK.now_millis(), 0);
/// CLOCK.advance(Duration::from_millis(999));
/// assert_eq!(CLOCK.now_millis(), 999);
/// CLOCK.set_millis(10); // a jump backwards
/// assert_eq!(CLOCK.now_millis(), 10);
/// ```
#[derive(Default)]
pub struct ManualClock {
    millis: AtomicU64,
}

impl ManualClock {
    /// A clock reading 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::window::{Clock, ManualClock};
    ///
    /// assert_eq!(ManualClock::new().now_millis(), 0);
    /// ```
    pub const fn new() -> Self {
        Self { millis: AtomicU64::new(0) }
    }

    /// Sets the reading to `millis`, which may be below the current one.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::window::{Clock, ManualClock};
    ///
    /// let clock = ManualClock::new();
    /// clock.set_millis(60_000);
    /// assert_eq!(clock.now_millis(), 60_000);
    /// ```
    pub fn set_millis(&self, millis: u64) {
        self.millis.store(millis, Relaxed);
    }

    /// Moves the reading forwards by `by` (whole milliseconds; saturating).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::window::{Clock, ManualClock};
    ///
    /// let clock = ManualClock::new();
    /// clock.advance(Duration::from_secs(2));
    /// clock.advance(Duration::from_millis(1));
    /// assert_eq!(clock.now_millis(), 2_001);
    /// ```
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        // Relaxed: the reading is a standalone value.
        let _ = self.millis.fetch_update(Relaxed, Relaxed, |m| Some(m.saturating_add(by)));
    }
}

impl Clock for ManualClock {
    #[inline]
    fn now_millis(&self) -> u64 {
        self.millis.load(Relaxed)
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock").field("millis", &self.now_millis()).finish()
    }
}
