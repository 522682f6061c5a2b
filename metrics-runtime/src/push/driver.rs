//! The push thread: every push exporter of the process runs on one thread of its own
//! (`metrics-push`), in a current-thread tokio runtime that is only driven while some exporter
//! has something to do.
//!
//! An idle process must not wake for its metrics more than its exporters' intervals require. A
//! tokio timer of 10 s wakes its runtime three times (at the boundaries of the timer wheel's
//! levels, then at the deadline), and exporters on the application's multi-thread runtime wake
//! other workers as their I/O completes. Here, instead, each exporter task reports what it
//! waits for ([`Activity`]): `busy` (a request in flight, a flush being handled) or `waiting`
//! until a deadline (its next read, a retry). Once every exporter waits, the thread leaves the
//! runtime and parks until the earliest deadline: one wakeup, at that instant, whatever the
//! interval. Anything sent to an exporter from outside (a flush, a shutdown, a new exporter)
//! pokes the thread awake.
//!
//! The exporters' sockets belong to this runtime, so their readiness wakes this thread only,
//! and an application whose runtime is saturated still pushes on time (and the push work never
//! takes one of its workers).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

/// What one exporter task waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Something in progress: the runtime must be driven.
    Busy,
    /// Nothing until this instant (or a command, which pokes the thread).
    Waiting(Instant),
}

struct Driver {
    handle: Handle,
    thread: Thread,
    poked: AtomicBool,
    /// One slot per live exporter task (`None`: free).
    slots: Mutex<Vec<Option<State>>>,
    changed: Notify,
}

static DRIVER: OnceLock<Driver> = OnceLock::new();

fn driver() -> &'static Driver {
    DRIVER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("metrics-push".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(e) => panic!("the push thread cannot build its tokio runtime: {e}"),
                };
                let _ = tx.send(runtime.handle().clone());
                // The driver is stored before any exporter exists: `get` cannot fail below.
                let driver = loop {
                    match DRIVER.get() {
                        Some(driver) => break driver,
                        None => std::thread::park_timeout(Duration::from_millis(1)),
                    }
                };
                loop {
                    let until = runtime.block_on(driver.settle());
                    driver.park(until);
                }
            })
            .unwrap_or_else(|e| panic!("cannot start the push thread: {e}"));
        let handle = rx.recv().unwrap_or_else(|_| panic!("the push thread stopped before it started"));
        Driver {
            handle,
            thread: thread.thread().clone(),
            poked: AtomicBool::new(false),
            slots: Mutex::new(Vec::new()),
            changed: Notify::new(),
        }
    })
}

impl Driver {
    fn slots(&self) -> std::sync::MutexGuard<'_, Vec<Option<State>>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `None` while an exporter is busy; else the earliest deadline (`Some(None)`: no exporter).
    fn idle_until(&self) -> Option<Option<Instant>> {
        let mut until: Option<Instant> = None;
        for state in self.slots().iter().flatten() {
            match *state {
                State::Busy => return None,
                State::Waiting(t) => until = Some(until.map_or(t, |u| u.min(t))),
            }
        }
        Some(until)
    }

    /// Drives the runtime until every exporter waits; returns the earliest deadline.
    async fn settle(&self) -> Option<Instant> {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Let what is runnable run and ready I/O be seen before judging.
            for _ in 0..4 {
                tokio::task::yield_now().await;
            }
            if let Some(until) = self.idle_until() {
                return until;
            }
            notified.await;
        }
    }

    /// Parks the thread until `until` (a millisecond later: tokio rounds timer deadlines up to
    /// its next millisecond) or a poke.
    fn park(&self, until: Option<Instant>) {
        let until = until.map(|t| t + Duration::from_millis(1));
        loop {
            if self.poked.swap(false, Ordering::AcqRel) {
                return;
            }
            match until {
                Some(t) => {
                    let now = Instant::now();
                    if now >= t {
                        return;
                    }
                    std::thread::park_timeout(t - now);
                }
                None => std::thread::park(),
            }
        }
    }
}

/// Runs `future` on the push thread.
pub(crate) fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let driver = driver();
    let handle = driver.handle.spawn(future);
    poke();
    handle
}

/// Wakes the push thread to drive its runtime: after anything that wakes an exporter task from
/// outside it (a command sent, a channel closed).
pub(crate) fn poke() {
    if let Some(driver) = DRIVER.get() {
        driver.poked.store(true, Ordering::Release);
        driver.thread.unpark();
    }
}

/// An exporter task's report of what it waits for. Created busy, inside the task; dropping it
/// (the task ending) frees its slot.
pub(crate) struct Activity {
    slot: usize,
}

impl Activity {
    pub(crate) fn new() -> Self {
        let driver = driver();
        let mut slots = driver.slots();
        let slot = match slots.iter().position(Option::is_none) {
            Some(free) => {
                slots[free] = Some(State::Busy);
                free
            }
            None => {
                slots.push(Some(State::Busy));
                slots.len() - 1
            }
        };
        Self { slot }
    }

    fn set(&self, state: State) {
        let driver = driver();
        let previous = driver.slots()[self.slot].replace(state);
        if previous != Some(state) {
            driver.changed.notify_one();
        }
    }

    /// Something is in progress (a request in flight, a command being handled).
    pub(crate) fn busy(&self) {
        self.set(State::Busy);
    }

    /// Nothing to do before `until` (a tokio deadline), or before a command.
    pub(crate) fn waiting(&self, until: tokio::time::Instant) {
        self.set(State::Waiting(until.into_std()));
    }
}

impl Drop for Activity {
    fn drop(&mut self) {
        let driver = driver();
        driver.slots()[self.slot] = None;
        driver.changed.notify_one();
    }
}

/// The sending side of an exporter's command channel: pokes the push thread after each send,
/// and when dropped (the task then sees the channel closed and stops).
#[derive(Debug)]
pub(crate) struct Commands<T> {
    tx: Option<mpsc::Sender<T>>,
}

impl<T> Commands<T> {
    pub(crate) fn new(tx: mpsc::Sender<T>) -> Self {
        Self { tx: Some(tx) }
    }

    /// Sends `command`; `Err` if the task has stopped.
    pub(crate) async fn send(&self, command: T) -> Result<(), ()> {
        let tx = self.tx.as_ref().ok_or(())?;
        let sent = tx.send(command).await.map_err(|_| ());
        poke();
        sent
    }
}

impl<T> Drop for Commands<T> {
    fn drop(&mut self) {
        // Close the channel first, then wake the thread to see it closed.
        drop(self.tx.take());
        poke();
    }
}
