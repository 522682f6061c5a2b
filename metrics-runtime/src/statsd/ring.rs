//! A bounded multi-producer, multi-consumer queue of `Copy` values on a fixed array: Dmitry
//! Vyukov's bounded MPMC queue. Push and pop are a few atomic operations; nothing allocates
//! after construction and nothing blocks (a full queue fails the push, an empty one the pop).

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

struct Slot<T> {
    /// The slot's turn: `pos` when free for the push at `pos`, `pos + 1` when it holds the
    /// value pushed at `pos`, `pos + capacity` once that value was popped.
    seq: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// The queue. `T: Copy`, so a value left in a slot never needs dropping.
pub(crate) struct Ring<T: Copy> {
    slots: Box<[Slot<T>]>,
    mask: usize,
    /// The consumer's position and the producers' (`tail`), each alone on its cache lines so
    /// that they do not invalidate each other's line.
    head: CachePadded<AtomicUsize>,
    tail: CachePadded<AtomicUsize>,
}

// SAFETY: a slot's value is only written by the one producer that won the `tail` CAS for its
// position and only read by the one consumer that won the `head` CAS for it; the `seq`
// Release/Acquire pairs order the write before the read and the read before the next write
// (see `push` and `pop`). `T: Send` because values move between threads.
unsafe impl<T: Copy + Send> Sync for Ring<T> {}
// SAFETY: as above; the ring owns its values.
unsafe impl<T: Copy + Send> Send for Ring<T> {}

impl<T: Copy> Ring<T> {
    /// A queue holding `capacity` values, rounded up to a power of two (at least 2).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(2).next_power_of_two();
        let slots = (0..capacity)
            .map(|i| Slot { seq: AtomicUsize::new(i), value: UnsafeCell::new(MaybeUninit::uninit()) })
            .collect();
        Self {
            slots,
            mask: capacity - 1,
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
        }
    }

    /// The number of values the queue holds when full.
    pub(crate) fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Appends `value`, or gives it back when the queue is full.
    #[inline]
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        let mut pos = self.tail.load(Ordering::Relaxed);
        loop {
            let slot = &self.slots[pos & self.mask];
            // Acquire pairs with the Release store of `pop`: the previous value of this slot
            // has been read before we overwrite it.
            let seq = slot.seq.load(Ordering::Acquire);
            let diff = seq.wrapping_sub(pos) as isize;
            if diff == 0 {
                // Relaxed: winning the position is all the CAS decides; the slot's `seq`
                // carries the ordering of its contents.
                match self.tail.compare_exchange_weak(pos, pos.wrapping_add(1), Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => {
                        // SAFETY: winning the CAS at `pos` while `seq == pos` makes this thread
                        // the only one to touch the slot until it publishes `pos + 1` below:
                        // other producers now see `tail > pos`, and consumers wait for
                        // `seq == pos + 1`.
                        unsafe { (*slot.value.get()).write(value) };
                        // Release pairs with the Acquire load of `pop`.
                        slot.seq.store(pos.wrapping_add(1), Ordering::Release);
                        return Ok(());
                    }
                    Err(current) => pos = current,
                }
            } else if diff < 0 {
                // The slot still holds the value pushed one lap ago: full.
                return Err(value);
            } else {
                pos = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Takes the oldest value, or `None` when the queue is empty (or the oldest value's push
    /// has claimed its slot but not finished writing it).
    #[inline]
    pub(crate) fn pop(&self) -> Option<T> {
        let mut pos = self.head.load(Ordering::Relaxed);
        loop {
            let slot = &self.slots[pos & self.mask];
            // Acquire pairs with the Release store of `push`: the value is written.
            let seq = slot.seq.load(Ordering::Acquire);
            let diff = seq.wrapping_sub(pos.wrapping_add(1)) as isize;
            if diff == 0 {
                // Relaxed: as in `push`.
                match self.head.compare_exchange_weak(pos, pos.wrapping_add(1), Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => {
                        // SAFETY: `seq == pos + 1` means the push at `pos` has written the
                        // value and published it (Acquire above), and winning the CAS makes
                        // this thread its only reader; producers wait for `seq == pos +
                        // capacity`, stored below after the read.
                        let value = unsafe { (*slot.value.get()).assume_init_read() };
                        // Release pairs with the Acquire load of `push`.
                        slot.seq.store(pos.wrapping_add(self.mask + 1), Ordering::Release);
                        return Some(value);
                    }
                    Err(current) => pos = current,
                }
            } else if diff < 0 {
                return None;
            } else {
                pos = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// The number of values in the queue (a snapshot: exact when nothing pushes or pops).
    pub(crate) fn len(&self) -> usize {
        // The two loads are not one snapshot: pops between them can make `head` pass the
        // `tail` read, and pushes can make the difference exceed the capacity; clamp both.
        // (Positions would wrap after 2^64 operations, which is never.)
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed);
        tail.saturating_sub(head).min(self.capacity())
    }
}

#[cfg(test)]
mod tests {
    use super::Ring;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn fifo_and_bounds() {
        let ring = Ring::new(3);
        assert_eq!(ring.capacity(), 4);
        for i in 0..4u32 {
            assert!(ring.push(i).is_ok());
        }
        assert_eq!(ring.push(9), Err(9));
        assert_eq!(ring.len(), 4);
        assert_eq!(ring.pop(), Some(0));
        assert!(ring.push(4).is_ok());
        let rest: Vec<u32> = std::iter::from_fn(|| ring.pop()).collect();
        assert_eq!(rest, [1, 2, 3, 4]);
        assert_eq!(ring.pop(), None);
        assert_eq!(ring.len(), 0);
    }

    #[test]
    fn wraps_many_laps() {
        let ring = Ring::new(2);
        for i in 0..10_000u64 {
            ring.push(i).unwrap();
            assert_eq!(ring.pop(), Some(i));
        }
    }

    /// Producers and consumers (some producers also pop, as drop-oldest does) on a tiny ring:
    /// every value is either popped exactly once or still queued.
    #[test]
    fn concurrent_exactly_once() {
        const PER_THREAD: u64 = 50_000;
        let ring = Arc::new(Ring::new(8));
        let popped_sum = Arc::new(AtomicU64::new(0));
        let popped_count = Arc::new(AtomicU64::new(0));
        let pushed_sum = Arc::new(AtomicU64::new(0));
        let pushed_count = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let (ring, ps, pc, qs, qc) = (
                    Arc::clone(&ring),
                    Arc::clone(&popped_sum),
                    Arc::clone(&popped_count),
                    Arc::clone(&pushed_sum),
                    Arc::clone(&pushed_count),
                );
                std::thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        let v = t * PER_THREAD + i + 1;
                        if ring.push(v).is_ok() {
                            qs.fetch_add(v, Ordering::Relaxed);
                            qc.fetch_add(1, Ordering::Relaxed);
                        }
                        if (t + i) % 2 == 0 {
                            if let Some(v) = ring.pop() {
                                ps.fetch_add(v, Ordering::Relaxed);
                                pc.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        while let Some(v) = ring.pop() {
            popped_sum.fetch_add(v, Ordering::Relaxed);
            popped_count.fetch_add(1, Ordering::Relaxed);
        }
        assert_eq!(popped_count.load(Ordering::Relaxed), pushed_count.load(Ordering::Relaxed));
        assert_eq!(popped_sum.load(Ordering::Relaxed), pushed_sum.load(Ordering::Relaxed));
    }
}
