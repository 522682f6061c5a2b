//! Epoch-based reclamation for the lock-free reads of run-time series, with no
//! read-modify-write on the read path.
//!
//! The protocol is the classic one (as in `crossbeam-epoch`): a reader announces the global
//! epoch in its thread's own slot before it reads and clears the slot after; memory a writer
//! unlinks is stamped with the epoch of its unlinking and freed once the global epoch is two
//! past it; the epoch advances only when every reader in a read has announced the current one.
//! The difference is where the fences are: the reader's announcement needs a full fence before
//! its loads, which `crossbeam-epoch` and `seize` pay with a locked instruction on every read.
//! Here, on Linux, the writer pays instead: before it looks at the readers' slots it issues
//! `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which runs a full fence on every thread of
//! the process, so the reader only needs to keep the compiler from reordering (the asymmetric
//! fences of `folly`'s hazard pointers and of `seize`'s enter). Where that is not available, the
//! reader issues an ordinary `SeqCst` fence.
//!
//! Entering and leaving a read are plain stores to the thread's slot (its own cache line);
//! writers, which advance the epoch and free memory, do so under their family's lock and
//! rarely (see `Garbage` in `store`).

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::{compiler_fence, fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use crossbeam_utils::CachePadded;

/// The global epoch. Starts at 1 and only grows: 0 in a slot means "not reading".
static EPOCH: AtomicU64 = AtomicU64::new(1);

/// Readers on threads whose slot is gone (a read during the thread's own exit): they count
/// themselves here, and the epoch does not advance while any is reading.
static UNSLOTTED: AtomicU64 = AtomicU64::new(0);

/// A thread's slot: the epoch it announced, 0 outside a read.
struct Slot {
    epoch: CachePadded<AtomicU64>,
    /// Owned by a live thread.
    taken: AtomicBool,
}

/// Every slot made, never freed: one per thread alive at once, reused after a thread exits.
static SLOTS: Mutex<Vec<&'static Slot>> = Mutex::new(Vec::new());

struct Local {
    slot: &'static Slot,
    /// Guards alive on this thread (reads nest).
    depth: Cell<u32>,
}

impl Local {
    fn new() -> Self {
        let mut slots = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
        let free =
            slots.iter().find(|s| s.taken.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok());
        let slot = match free {
            Some(slot) => *slot,
            None => {
                let slot: &'static Slot = Box::leak(Box::new(Slot {
                    epoch: CachePadded::new(AtomicU64::new(0)),
                    taken: AtomicBool::new(true),
                }));
                slots.push(slot);
                slot
            }
        };
        Self { slot, depth: Cell::new(0) }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        self.slot.epoch.store(0, Ordering::Release);
        self.slot.taken.store(false, Ordering::Release);
    }
}

thread_local! {
    static LOCAL: Local = Local::new();
}

/// Whether the process can use asymmetric fences (registered once, at first use).
fn asymmetric() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(register)
}

#[cfg(target_os = "linux")]
const MEMBARRIER_CMD_QUERY: libc::c_int = 0;
#[cfg(target_os = "linux")]
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
#[cfg(target_os = "linux")]
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

#[cfg(target_os = "linux")]
fn register() -> bool {
    // SAFETY: `membarrier` with these commands takes no pointer and has no effect beyond the
    // process's registration.
    unsafe {
        let supported = libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_QUERY, 0);
        supported >= 0
            && supported & libc::c_long::from(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0
            && libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0
    }
}

#[cfg(not(target_os = "linux"))]
fn register() -> bool {
    false
}

/// The reader's side of the fence pair.
#[inline(always)]
fn light_barrier() {
    if asymmetric() {
        compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// The writer's side: a full fence on every thread of the process; `false` if it could not be
/// issued (then nothing may be freed).
fn heavy_barrier() -> bool {
    #[cfg(target_os = "linux")]
    if asymmetric() {
        // SAFETY: as in `register`; the process registered for this command.
        // It cannot fail once registered; if it did, readers' compiler fences would not be
        // enough: the caller then frees nothing.
        return unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) } == 0;
    }
    fence(Ordering::SeqCst);
    true
}

/// A read in progress on this thread: memory unlinked after it began is not freed before it
/// ends. Not `Send`: it marks this thread.
pub(super) struct Guard {
    unslotted: bool,
    _thread: PhantomData<*const ()>,
}

/// Begins a read: a plain store of the global epoch into the thread's slot, then a compiler
/// fence (see the module).
#[inline]
pub(super) fn pin() -> Guard {
    let slotted = LOCAL.try_with(|local| {
        let depth = local.depth.get();
        if depth == 0 {
            local.slot.epoch.store(EPOCH.load(Ordering::Relaxed), Ordering::Relaxed);
            light_barrier();
        }
        local.depth.set(depth + 1);
    });
    if slotted.is_ok() {
        Guard { unslotted: false, _thread: PhantomData }
    } else {
        // SeqCst: a full fence of its own, before the read's loads.
        UNSLOTTED.fetch_add(1, Ordering::SeqCst);
        Guard { unslotted: true, _thread: PhantomData }
    }
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        if self.unslotted {
            UNSLOTTED.fetch_sub(1, Ordering::Release);
            return;
        }
        let _ = LOCAL.try_with(|local| {
            let depth = local.depth.get() - 1;
            local.depth.set(depth);
            if depth == 0 {
                // Release: the read's loads happen before a writer that sees the slot cleared
                // frees anything.
                local.slot.epoch.store(0, Ordering::Release);
            }
        });
    }
}

/// The epoch to stamp memory with, called after it was unlinked.
pub(super) fn retire_epoch() -> u64 {
    // The unlinking stores before the epoch's load (as `crossbeam-epoch` seals a bag).
    fence(Ordering::SeqCst);
    EPOCH.load(Ordering::Relaxed)
}

/// Advances the global epoch if every reader in a read has announced the current one, and
/// returns the global epoch (advanced or not). One `membarrier` call.
pub(super) fn try_advance() -> u64 {
    let global = EPOCH.load(Ordering::Relaxed);
    if !heavy_barrier() || UNSLOTTED.load(Ordering::Relaxed) > 0 {
        return global;
    }
    {
        let slots = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
        for slot in slots.iter() {
            let epoch = slot.epoch.load(Ordering::Relaxed);
            if epoch != 0 && epoch != global {
                return global;
            }
        }
    }
    // Acquire: the reads of the readers seen outside a read happen before what follows.
    fence(Ordering::Acquire);
    match EPOCH.compare_exchange(global, global + 1, Ordering::Release, Ordering::Relaxed) {
        Ok(_) => global + 1,
        Err(now) => now,
    }
}

/// Whether memory stamped `retired` may be freed at global epoch `global`: every reader that
/// could hold it has left.
pub(super) fn reclaimable(retired: u64, global: u64) -> bool {
    global >= retired + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_waits_for_readers_of_an_older_one() {
        let guard = pin();
        let start = try_advance();
        // This thread announced an epoch at most `start`: one more advance at most while it
        // reads, never two.
        let later = try_advance();
        assert!(later <= start + 1, "{start} -> {later} while a reader of {start} or older reads");
        assert!(!reclaimable(start, later));
        drop(guard);
        let mut now = later;
        // Other tests read too, briefly: try until two advances went through.
        for _ in 0..10_000 {
            now = try_advance();
            if reclaimable(start, now) {
                break;
            }
            std::thread::yield_now();
        }
        assert!(reclaimable(start, now), "{start} -> {now} with no reader");
    }

    #[test]
    fn guards_nest() {
        let outer = pin();
        let inner = pin();
        drop(inner);
        let e = LOCAL.with(|l| l.slot.epoch.load(Ordering::Relaxed));
        assert_ne!(e, 0, "still reading under the outer guard");
        drop(outer);
        assert_eq!(LOCAL.with(|l| l.slot.epoch.load(Ordering::Relaxed)), 0);
    }
}
