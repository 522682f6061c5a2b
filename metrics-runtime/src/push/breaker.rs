//! A circuit breaker for push paths: after repeated failures, stop pushing for a while.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The settings of a [`MetricCircuitBreaker`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use metrics_runtime::push::{BreakerConfig, BreakerState, MetricCircuitBreaker};
///
/// let breaker = MetricCircuitBreaker::new(BreakerConfig { failure_threshold: 0, cool_down: Duration::from_secs(30) });
/// assert!(breaker.try_acquire());
/// breaker.record_failure(); // a threshold of 0 is taken as 1
/// assert_eq!(breaker.state(), BreakerState::Open);
/// assert_eq!(BreakerConfig::default(), BreakerConfig { failure_threshold: 3, cool_down: Duration::from_secs(5) });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failed pushes that open the breaker. Default 3; 0 is taken as 1.
    pub failure_threshold: u32,
    /// How long the breaker stays open before it lets one probe through. Default 5 s.
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self { failure_threshold: 3, cool_down: Duration::from_secs(5) }
    }
}

/// The state of a [`MetricCircuitBreaker`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use metrics_runtime::push::{BreakerConfig, BreakerState, MetricCircuitBreaker};
///
/// let breaker = MetricCircuitBreaker::new(BreakerConfig { failure_threshold: 1, cool_down: Duration::ZERO });
/// assert_eq!(breaker.state(), BreakerState::Closed);
/// breaker.record_failure();
/// assert_eq!(breaker.state(), BreakerState::Open);
/// assert!(breaker.try_acquire()); // no cool-down: the probe goes at once
/// assert_eq!(breaker.state(), BreakerState::HalfOpen);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Pushes go through; consecutive failures are counted.
    Closed,
    /// Pushes are refused until the cool-down has passed.
    Open,
    /// The cool-down has passed and one probe push is allowed; its result closes or reopens
    /// the breaker.
    HalfOpen,
}

impl BreakerState {
    /// The state as a number, as the `statsd_breaker_state` gauge exports it: 0 closed,
    /// 1 open, 2 half-open.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::push::BreakerState;
    ///
    /// let gauge_values: Vec<u8> =
    ///     [BreakerState::Closed, BreakerState::Open, BreakerState::HalfOpen].into_iter().map(BreakerState::as_number).collect();
    /// assert_eq!(gauge_values, [0, 1, 2]);
    /// ```
    pub const fn as_number(self) -> u8 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
        }
    }

    const fn from_number(n: u8) -> Self {
        match n {
            1 => BreakerState::Open,
            2 => BreakerState::HalfOpen,
            _ => BreakerState::Closed,
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    failures: u32,
    opened_at: Option<Instant>,
    probe_in_flight: bool,
}

/// A circuit breaker guarding a push path: closed, open, half-open.
///
/// - **Closed**: every push is allowed. `failure_threshold` consecutive failures open it.
/// - **Open**: pushes are refused ([`try_acquire`](Self::try_acquire) returns `false`) for
///   `cool_down`, so a dead target costs nothing but that check.
/// - **HalfOpen**: after the cool-down, one caller is allowed a probe push; its
///   [`record_success`](Self::record_success) closes the breaker, its
///   [`record_failure`](Self::record_failure) reopens it for another cool-down. Other callers
///   are refused while the probe is out.
///
/// A push path calls `try_acquire` before pushing, then reports the outcome of the push it was
/// allowed. The breaker holds a few words and never allocates; it is shared by reference or
/// `Arc` between the paths it guards. Its methods take a short internal lock: call them from
/// the pushing task, not from code that records metrics.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use metrics_runtime::push::{BreakerConfig, BreakerState, MetricCircuitBreaker};
///
/// let breaker = MetricCircuitBreaker::new(BreakerConfig {
///     failure_threshold: 2,
///     cool_down: Duration::from_millis(20),
/// });
/// assert!(breaker.try_acquire());
/// breaker.record_failure();
/// assert!(breaker.try_acquire());
/// breaker.record_failure();
/// assert_eq!(breaker.state(), BreakerState::Open);
/// assert!(!breaker.try_acquire()); // the push is skipped
///
/// std::thread::sleep(Duration::from_millis(25));
/// assert!(breaker.try_acquire()); // the probe
/// assert_eq!(breaker.state(), BreakerState::HalfOpen);
/// assert!(!breaker.try_acquire()); // one probe at a time
/// breaker.record_success();
/// assert_eq!(breaker.state(), BreakerState::Closed);
/// assert_eq!(breaker.times_opened(), 1);
/// ```
pub struct MetricCircuitBreaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
    /// Mirrors `inner.state`, for lock-free reads.
    state: AtomicU8,
    opened: AtomicU64,
}

impl MetricCircuitBreaker {
    /// A closed breaker.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::push::{BreakerConfig, BreakerState, MetricCircuitBreaker};
    ///
    /// let breaker = MetricCircuitBreaker::new(BreakerConfig::default());
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// assert_eq!(breaker.times_opened(), 0);
    /// ```
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                failures: 0,
                opened_at: None,
                probe_in_flight: false,
            }),
            state: AtomicU8::new(BreakerState::Closed.as_number()),
            opened: AtomicU64::new(0),
        }
    }

    /// The settings.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::push::{BreakerConfig, MetricCircuitBreaker};
    ///
    /// let breaker = MetricCircuitBreaker::new(BreakerConfig { failure_threshold: 5, cool_down: Duration::from_secs(1) });
    /// assert_eq!(breaker.config().failure_threshold, 5);
    /// ```
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// The current state. An open breaker whose cool-down has passed still reads `Open` until
    /// a caller's [`try_acquire`](Self::try_acquire) turns it half-open.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::push::{BreakerConfig, BreakerState, MetricCircuitBreaker};
    ///
    /// let breaker = MetricCircuitBreaker::new(BreakerConfig { failure_threshold: 1, cool_down: Duration::ZERO });
    /// breaker.record_failure();
    /// // The cool-down is over, but the state changes only when a caller asks to push.
    /// assert_eq!(breaker.state(), BreakerState::Open);
    /// assert!(breaker.try_acquire());
    /// assert_eq!(breaker.state(), BreakerState::HalfOpen);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed atomic load; no lock.
    pub fn state(&self) -> BreakerState {
        BreakerState::from_number(self.state.load(Relaxed))
    }

    /// How many times the breaker has opened (from closed or from a failed probe).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::push::{BreakerConfig, MetricCircuitBreaker};
    ///
    /// let breaker = MetricCircuitBreaker::new(BreakerConfig { failure_threshold: 1, cool_down: Duration::ZERO });
    /// breaker.record_failure(); // opens
    /// assert!(breaker.try_acquire()); // the probe
    /// breaker.record_failure(); // the probe failed: opens again
    /// assert_eq!(breaker.times_opened(), 2);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed atomic load; no lock.
    pub fn times_opened(&self) -> u64 {
        self.opened.load(Relaxed)
    }

    /// Whether a push would be allowed now, without changing the state: `false` while open
    /// and cooling down or while a half-open probe is out.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::push::{BreakerConfig, BreakerState, MetricCircuitBreaker};
    ///
    /// let breaker = MetricCircuitBreaker::new(BreakerConfig { failure_threshold: 1, cool_down: Duration::from_secs(60) });
    /// assert!(breaker.would_allow());
    /// breaker.record_failure();
    /// assert!(!breaker.would_allow()); // open and cooling down
    /// assert_eq!(breaker.state(), BreakerState::Open); // asking changed nothing
    /// ```
    pub fn would_allow(&self) -> bool {
        self.would_allow_at(Instant::now())
    }

    /// Asks to push: `true` when closed, and for the one probe of a breaker whose cool-down has
    /// passed (which turns it half-open). Report the push with
    /// [`record_success`](Self::record_success) or [`record_failure`](Self::record_failure).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::push::{BreakerConfig, MetricCircuitBreaker};
    ///
    /// let breaker = MetricCircuitBreaker::new(BreakerConfig { failure_threshold: 1, cool_down: Duration::from_millis(10) });
    /// let push = |ok: bool| {
    ///     if !breaker.try_acquire() {
    ///         return "skipped";
    ///     }
    ///     if ok { breaker.record_success() } else { breaker.record_failure() }
    ///     "pushed"
    /// };
    /// assert_eq!(push(false), "pushed"); // and failed: the breaker opens
    /// assert_eq!(push(true), "skipped");
    /// std::thread::sleep(Duration::from_millis(15));
    /// assert_eq!(push(true), "pushed"); // the probe; it closes the breaker
    /// assert_eq!(push(true), "pushed");
    /// ```
    pub fn try_acquire(&self) -> bool {
        self.try_acquire_at(Instant::now())
    }

    /// Reports a successful push: resets the failure count; closes a half-open breaker.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::push::{BreakerConfig, BreakerState, MetricCircuitBreaker};
    ///
    /// let breaker = MetricCircuitBreaker::new(BreakerConfig { failure_threshold: 2, ..BreakerConfig::default() });
    /// breaker.record_failure();
    /// breaker.record_success(); // resets the count of consecutive failures
    /// breaker.record_failure();
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// ```
    pub fn record_success(&self) {
        let mut inner = self.lock();
        inner.failures = 0;
        inner.probe_in_flight = false;
        if inner.state != BreakerState::Closed {
            inner.opened_at = None;
            self.set(&mut inner, BreakerState::Closed);
        }
    }

    /// Reports a failed push: opens a closed breaker at the threshold, reopens a half-open one.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::push::{BreakerConfig, BreakerState, MetricCircuitBreaker};
    ///
    /// let breaker = MetricCircuitBreaker::new(BreakerConfig { failure_threshold: 3, ..BreakerConfig::default() });
    /// breaker.record_failure();
    /// breaker.record_failure();
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// breaker.record_failure(); // the third in a row
    /// assert_eq!(breaker.state(), BreakerState::Open);
    /// assert!(!breaker.try_acquire());
    /// ```
    pub fn record_failure(&self) {
        self.record_failure_at(Instant::now());
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing under this lock can panic halfway through a transition.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, inner: &mut Inner, state: BreakerState) {
        inner.state = state;
        self.state.store(state.as_number(), Relaxed);
    }

    fn cooled_down(&self, inner: &Inner, now: Instant) -> bool {
        inner.opened_at.is_none_or(|at| now.saturating_duration_since(at) >= self.config.cool_down)
    }

    fn would_allow_at(&self, now: Instant) -> bool {
        let inner = self.lock();
        match inner.state {
            BreakerState::Closed => true,
            BreakerState::Open => self.cooled_down(&inner, now),
            BreakerState::HalfOpen => !inner.probe_in_flight,
        }
    }

    fn try_acquire_at(&self, now: Instant) -> bool {
        let mut inner = self.lock();
        match inner.state {
            BreakerState::Closed => true,
            BreakerState::Open => {
                if self.cooled_down(&inner, now) {
                    self.set(&mut inner, BreakerState::HalfOpen);
                    inner.probe_in_flight = true;
                    true
                } else {
                    false
                }
            }
            BreakerState::HalfOpen => {
                if inner.probe_in_flight {
                    false
                } else {
                    inner.probe_in_flight = true;
                    true
                }
            }
        }
    }

    fn record_failure_at(&self, now: Instant) {
        let mut inner = self.lock();
        inner.probe_in_flight = false;
        match inner.state {
            BreakerState::Closed => {
                inner.failures = inner.failures.saturating_add(1);
                if inner.failures >= self.config.failure_threshold.max(1) {
                    self.open(&mut inner, now);
                }
            }
            BreakerState::HalfOpen => self.open(&mut inner, now),
            // A push allowed before the breaker opened, reporting late: keep the cool-down.
            BreakerState::Open => {}
        }
    }

    fn open(&self, inner: &mut Inner, now: Instant) {
        inner.opened_at = Some(now);
        inner.failures = 0;
        self.set(inner, BreakerState::Open);
        self.opened.fetch_add(1, Relaxed);
    }
}

impl fmt::Debug for MetricCircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricCircuitBreaker")
            .field("config", &self.config)
            .field("state", &self.state())
            .field("times_opened", &self.times_opened())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32, cool_down_ms: u64) -> MetricCircuitBreaker {
        MetricCircuitBreaker::new(BreakerConfig {
            failure_threshold: threshold,
            cool_down: Duration::from_millis(cool_down_ms),
        })
    }

    #[test]
    fn success_resets_the_consecutive_count() {
        let b = breaker(3, 1000);
        let t = Instant::now();
        b.record_failure_at(t);
        b.record_failure_at(t);
        b.record_success();
        b.record_failure_at(t);
        b.record_failure_at(t);
        assert_eq!(b.state(), BreakerState::Closed);
        b.record_failure_at(t);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.times_opened(), 1);
    }

    #[test]
    fn open_half_open_closed_with_a_virtual_clock() {
        let b = breaker(1, 1000);
        let t0 = Instant::now();
        assert!(b.try_acquire_at(t0));
        b.record_failure_at(t0);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.would_allow_at(t0 + Duration::from_millis(999)));
        assert!(!b.try_acquire_at(t0 + Duration::from_millis(999)));
        assert!(b.would_allow_at(t0 + Duration::from_millis(1000)));
        // The probe fails: open again, with a fresh cool-down from the failure.
        let t1 = t0 + Duration::from_millis(1000);
        assert!(b.try_acquire_at(t1));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(!b.try_acquire_at(t1));
        b.record_failure_at(t1 + Duration::from_millis(5));
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.times_opened(), 2);
        assert!(!b.try_acquire_at(t1 + Duration::from_millis(1004)));
        // The next probe succeeds: closed, and pushes flow.
        let t2 = t1 + Duration::from_millis(1005);
        assert!(b.try_acquire_at(t2));
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.try_acquire_at(t2));
        assert!(b.try_acquire_at(t2));
    }

    #[test]
    fn late_failure_reports_keep_an_open_breaker_cooling() {
        let b = breaker(1, 1000);
        let t0 = Instant::now();
        b.record_failure_at(t0);
        b.record_failure_at(t0 + Duration::from_millis(900));
        assert!(b.would_allow_at(t0 + Duration::from_millis(1000)));
        assert_eq!(b.times_opened(), 1);
    }

    #[test]
    fn zero_threshold_acts_as_one() {
        let b = breaker(0, 10);
        b.record_failure_at(Instant::now());
        assert_eq!(b.state(), BreakerState::Open);
    }
}
