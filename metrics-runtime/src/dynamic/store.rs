//! Storage of a run-time family's series: fixed-size rows in segments that never move, a hash
//! index over them that readers search without a lock or a shared write, and the family's
//! interned label values.
//!
//! Writers (a new series, a removal, maintenance) hold the family's lock; readers (an update
//! by label values, a scrape) hold only an [`epoch`](super::epoch) guard, a store on a line of
//! their own. Memory a reader may still see (an index table replaced by a bigger one, a
//! removed series' row) goes to the family's [`Garbage`] and is reused or freed once every
//! reader that may hold it has left.

use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::{
    AtomicPtr, AtomicU32, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};

use crossbeam_utils::CachePadded;
use hashbrown::HashTable;

use super::epoch;

/// Rows in the first two segments; segments then double up to [`LARGE`] rows each, and stay
/// at that size: a small family holds little, a large one wastes at most one segment.
const SMALL: usize = 16;
const LARGE: usize = 4096;

/// The segment of row `i` and the row's place in it.
#[inline]
fn locate(i: usize) -> (usize, usize) {
    if i < 2 * LARGE {
        // Without a branch on the small segments (rows of small families are looked up in a
        // random order): `i | 15` puts rows 0..16 in segment 0 with rows 8..16, whose start
        // the mask then takes to 0.
        let s = (i | (SMALL - 1)).ilog2() as usize - 3; // 0..=9
        (s, i - ((SMALL / 2) << s & !(SMALL - 1)))
    } else {
        (i / LARGE + 8, i % LARGE)
    }
}

/// Whether row `i` is the first of its segment: rows handed out in order need their segment
/// [`ensure`](Rows::ensure)d only there.
#[inline]
pub(super) fn starts_segment(i: usize) -> bool {
    locate(i).1 == 0
}

/// Bits of an id's place in its segment ([`id_of`]).
const AT_BITS: u32 = LARGE.trailing_zeros();

/// The id of row `i` (of [`Rows`]: a series' row, an interned value's entry): its segment
/// above [`AT_BITS`], its place in the segment below, so that a read finds the row with a shift
/// and a mask (no [`locate`]). At most 25 bits for fewer than 2^24 rows.
pub(super) fn id_of(i: usize) -> u32 {
    let (s, at) = locate(i);
    (s << AT_BITS | at) as u32
}

/// The segment of the row of `id` ([`id_of`]) and the row's place in it.
#[inline(always)]
fn place(id: u32) -> (usize, usize) {
    ((id >> AT_BITS) as usize, (id & (LARGE as u32 - 1)) as usize)
}

/// The index of the row of `id` ([`id_of`] reversed).
pub(super) fn index_of(id: u32) -> usize {
    let (s, at) = place(id);
    segment_start(s) + at
}

/// The first row of segment `s`.
fn segment_start(s: usize) -> usize {
    match s {
        0 => 0,
        1..=9 => 1 << (s + 3),
        _ => (s - 8) * LARGE,
    }
}

/// Rows in segment `s` (without a branch: reads check it).
#[inline(always)]
fn segment_rows(s: usize) -> usize {
    SMALL << s.saturating_sub(1).min((LARGE / SMALL).trailing_zeros() as usize)
}

/// Rows of `stride` elements each, allocated a segment at a time; a row never moves, so a
/// reader holding its index reads it without a lock.
pub(super) struct Rows<T> {
    stride: usize,
    init: fn() -> T,
    segments: Box<[AtomicPtr<T>]>,
    _owns: PhantomData<T>,
}

impl<T> Rows<T> {
    /// Room for `max_rows` rows of `stride` elements, none allocated yet.
    pub(super) fn new(stride: usize, max_rows: usize, init: fn() -> T) -> Self {
        let segments = if max_rows == 0 { 0 } else { locate(max_rows - 1).0 + 1 };
        Self {
            stride,
            init,
            segments: (0..segments).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
            _owns: PhantomData,
        }
    }

    /// Allocates the segment of row `i` if it is not yet (writers, under the family lock);
    /// `false` past the capacity.
    pub(super) fn ensure(&self, i: usize) -> bool {
        let (s, _) = locate(i);
        let Some(slot) = self.segments.get(s) else { return false };
        if slot.load(Acquire).is_null() && self.stride > 0 {
            let segment: Box<[T]> = (0..segment_rows(s) * self.stride).map(|_| (self.init)()).collect();
            // Release: a reader that learns of a row in it (through the index, published
            // after this) sees the initialized elements.
            slot.store(Box::into_raw(segment).cast::<T>(), Release);
        }
        true
    }

    /// Row `i`, which [`ensure`](Self::ensure) allocated before the row was published.
    #[inline(always)]
    pub(super) fn get(&self, i: usize) -> &[T] {
        if self.stride == 0 {
            return &[];
        }
        let (s, at) = locate(i);
        let segment = self.segments[s].load(Acquire);
        if segment.is_null() {
            unallocated(i);
        }
        // SAFETY: the segment holds `segment_rows(s) * stride` initialized elements (allocated
        // by `ensure`, freed only by `drop`), and `at < segment_rows(s)` by `locate`.
        unsafe { std::slice::from_raw_parts(segment.add(at * self.stride), self.stride) }
    }

    /// The row whose index is that of `id` ([`id_of`]): [`get`](Self::get) without
    /// [`locate`], nor its checks.
    ///
    /// # Safety
    ///
    /// `id` is [allocated](Self::segment_of).
    #[inline(always)]
    pub(super) unsafe fn by_id(&self, id: u32) -> &[T] {
        // SAFETY: `id` is allocated (the caller's contract).
        let (segment, at) = unsafe { self.segment_of(id) };
        // SAFETY: as in `get` (a segment of stride 0 is never allocated), with `at` below the
        // segment's rows ([`segment_of`](Self::segment_of)).
        unsafe { std::slice::from_raw_parts(segment.add(at * self.stride), self.stride) }
    }

    /// The ids ([`id_of`]) and rows of `indices`, allocated rows in increasing order: each
    /// segment is found once, at its first row of `indices`, not row by row.
    pub(super) fn walk<'r>(
        &'r self,
        indices: impl Iterator<Item = usize> + 'r,
    ) -> impl Iterator<Item = (u32, &'r [T])> {
        // The segment of the last row: its number, first row, rows and elements.
        let mut segment: (usize, usize, usize, *const T) = (0, 0, 0, ptr::null());
        indices.map(move |i| {
            let (s, start, rows, elements) = &mut segment;
            if i.wrapping_sub(*start) >= *rows {
                (*s, _) = locate(i);
                (*start, *rows) = (segment_start(*s), segment_rows(*s));
                *elements =
                    if self.stride == 0 { ptr::NonNull::dangling().as_ptr() } else { self.segments[*s].load(Acquire) };
                if elements.is_null() {
                    unallocated(i);
                }
            }
            let at = i - *start;
            // SAFETY: as in `get`: the segment holds `segment_rows(s) * stride` initialized
            // elements and `at < segment_rows(s)` (checked above); a row of stride 0 is empty.
            let row = unsafe { std::slice::from_raw_parts(elements.add(at * self.stride), self.stride) };
            ((*s << AT_BITS | at) as u32, row)
        })
    }

    /// The element of rows of one element whose index is that of `id`.
    ///
    /// # Safety
    ///
    /// `id` is [allocated](Self::segment_of).
    #[inline(always)]
    pub(super) unsafe fn one_by_id(&self, id: u32) -> &T {
        debug_assert_eq!(self.stride, 1);
        // SAFETY: `id` is allocated (the caller's contract).
        let (segment, at) = unsafe { self.segment_of(id) };
        // SAFETY: as in `by_id`: the segment holds at least `segment_rows(s)` elements (one a
        // row here; segments of stride 0 are never allocated) and `at` is below that.
        unsafe { &*segment.add(at) }
    }

    /// The allocated segment of the row of `id` ([`id_of`]) and the row's place in it, which
    /// is below the segment's rows. Not checked (a lookup reads three ids, each checked twice
    /// was a tenth of its instructions).
    ///
    /// # Safety
    ///
    /// `id` is allocated: made by `id_of` from the index of a row that [`ensure`](Self::ensure)
    /// allocated. Every id a reader finds is: writers store an id in an index slot, a row's
    /// keys or an interner only after ensuring its row, and publish it (Release) after that;
    /// segments are freed only with the rows. `id_of` places a row inside its segment.
    #[inline(always)]
    unsafe fn segment_of(&self, id: u32) -> (*mut T, usize) {
        let (s, at) = place(id);
        debug_assert!(s < self.segments.len() && at < segment_rows(s), "id {id:#x} past its segment");
        // SAFETY: `s` is a segment of the rows (the caller's contract).
        let segment = unsafe { self.segments.get_unchecked(s) }.load(Acquire);
        debug_assert!(!segment.is_null(), "row {} read before it was allocated", index_of(id));
        (segment, at)
    }

    /// The segments allocated so far.
    fn allocated(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.segments.len()).filter(|&s| !self.segments[s].load(Relaxed).is_null())
    }

    /// Every row of the segments allocated so far.
    fn allocated_rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.allocated().flat_map(|s| segment_start(s)..segment_start(s) + segment_rows(s))
    }

    /// Heap held: the segment table and every allocated segment.
    pub(super) fn heap_bytes(&self) -> usize {
        let allocated: usize = self.allocated().map(|s| segment_rows(s) * self.stride * size_of::<T>()).sum();
        self.segments.len() * size_of::<AtomicPtr<T>>() + allocated
    }
}

impl<T> Drop for Rows<T> {
    fn drop(&mut self) {
        for (s, slot) in self.segments.iter_mut().enumerate() {
            let segment = *slot.get_mut();
            if !segment.is_null() {
                let len = segment_rows(s) * self.stride;
                // SAFETY: allocated by `ensure` as a boxed slice of exactly `len` elements, and
                // no reader is left (we hold the only reference).
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(segment, len)) });
            }
        }
    }
}

#[cold]
#[inline(never)]
fn unallocated(i: usize) -> ! {
    panic!("row {i} read before it was allocated")
}

/// The interned values of one label: id to string, read without a lock. Each value is a
/// 24-byte entry ([`Packed`]): up to [`INLINE`] bytes in the entry itself, longer ones in an
/// allocation of their own (the entry holds its address and length).
pub(super) struct Strings {
    entries: Rows<[AtomicU64; 3]>,
}

/// The longest value kept inside its entry.
const INLINE: usize = 23;
/// The last byte of an entry whose value is allocated.
const ALLOCATED: u8 = 0xFF;

/// A label value as its entry in [`Strings`] holds it, in three words: its bytes from the
/// entry's first, zeros, and its length in the last byte (up to [`INLINE`] bytes); or, for a
/// longer value, its address, its length and [`ALLOCATED`] in the last byte. A lookup packs the
/// values it looks for once, so that comparing one with an interned value is three word
/// compares, whatever its length.
#[derive(Clone, Copy)]
pub(super) struct Packed(pub(super) [u64; 3]);

impl Packed {
    /// `value` packed, if it fits in an entry (no longer than [`INLINE`] bytes).
    #[inline(always)]
    pub(super) fn short(value: &str) -> Option<Self> {
        let b = value.as_bytes();
        let n = b.len();
        // Little-endian loads, then the words are made the entry's memory order (`to_le`): the
        // value's first byte is the entry's first.
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("in bounds"));
        let shr = |x: u64, bytes: usize| x.checked_shr(8 * bytes as u32).unwrap_or(0);
        let (w0, w1, w2) = match n {
            0 => (0, 0, 0),
            // Without a branch on the length (values such as `GET`, `POST` and `DELETE` come
            // in any order): bytes 0, n/2 and n-1 (the whole of a value up to 3 bytes) and the
            // first and last four bytes (the whole of one from 4 bytes; of four zeros below),
            // each shifted to its place, so that where they overlap they are the same bytes.
            1..=7 => {
                let byte = |at: usize| u64::from(b[at]) << (8 * at);
                let quads: &[u8] = if n >= 4 { b } else { &[0; 4] };
                let quad = |at: usize| {
                    u64::from(u32::from_le_bytes(quads[at..at + 4].try_into().expect("in bounds"))) << (8 * at)
                };
                (byte(0) | byte(n / 2) | byte(n - 1) | quad(0) | quad(quads.len() - 4), 0, 0)
            }
            // Overlapping loads: each byte of the value read at least once, none past it.
            8..=INLINE => {
                let last = u64_at(n - 8); // bytes n-8..n
                let middle = if n >= 16 { u64_at(8) } else { last }; // bytes 8..16, or n-8..n
                (u64_at(0), shr(middle, 16usize.saturating_sub(n)), shr(last, 24 - n))
            }
            _ => return None,
        };
        Some(Self([w0.to_le(), w1.to_le(), (w2 | (n as u64) << 56).to_le()]))
    }

    /// A long value's entry: its address and length.
    fn allocated(p: *const u8, len: usize) -> Self {
        Self([p as u64, len as u64, (u64::from(ALLOCATED) << 56).to_le()])
    }

    /// The length of a short value, or [`ALLOCATED`].
    #[inline(always)]
    fn tag(last: u64) -> u8 {
        (u64::from_le(last) >> 56) as u8
    }
}

impl Strings {
    pub(super) fn new(max_ids: usize) -> Self {
        Self { entries: Rows::new(1, max_ids, Default::default) }
    }

    /// Zero if `id`'s value is the one `packed` holds, for a short value: three word compares,
    /// and no branch (the caller tests the values of every label at once).
    ///
    /// # Safety
    ///
    /// `id` was [`set`](Self::set) (its entry is allocated, see [`Rows::by_id`]).
    #[inline(always)]
    pub(super) unsafe fn differs(&self, id: u32, packed: &Packed) -> u64 {
        // SAFETY: `id` was set, so its entry is allocated (the caller's contract).
        let entry = unsafe { self.entries.one_by_id(id) };
        let p = &packed.0;
        (entry[0].load(Relaxed) ^ p[0]) | (entry[1].load(Relaxed) ^ p[1]) | (entry[2].load(Relaxed) ^ p[2])
    }

    /// The string of `id`, which a live row (or one not yet reclaimed) refers to.
    ///
    /// # Safety
    ///
    /// `id` was [`set`](Self::set) (its entry is allocated, see [`Rows::by_id`]).
    #[inline(always)]
    pub(super) unsafe fn get(&self, id: u32) -> &str {
        // SAFETY: `id` was set, so its entry is allocated (the caller's contract).
        let entry = unsafe { self.entries.one_by_id(id) };
        let tag = Packed::tag(entry[2].load(Relaxed));
        let bytes = if tag == ALLOCATED {
            let (p, len) = (entry[0].load(Relaxed) as *const u8, entry[1].load(Relaxed) as usize);
            // SAFETY: made by `set` from a `&str` of `len` bytes, freed only once no row refers
            // to it and no reader can hold such a row.
            unsafe { std::slice::from_raw_parts(p, len) }
        } else {
            // SAFETY: the entry's first `tag` (at most 23) bytes, written by `set` (the value's
            // bytes, in memory order) before any reader could reach the id, and rewritten only
            // once none can: no write races this read. `AtomicU64` has the layout of `u64`.
            unsafe { std::slice::from_raw_parts(entry.as_ptr().cast::<u8>(), usize::from(tag)) }
        };
        // SAFETY: the bytes were copied from a `&str`.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// Stores `value` as `id` (writers); `false` past the capacity.
    fn set(&self, id: u32, value: &str) -> bool {
        if !self.entries.ensure(index_of(id)) {
            return false;
        }
        // SAFETY: allocated just above.
        let entry = unsafe { self.entries.one_by_id(id) };
        let packed = Packed::short(value).unwrap_or_else(|| {
            Packed::allocated(Box::into_raw(Box::<[u8]>::from(value.as_bytes())).cast::<u8>(), value.len())
        });
        // Relaxed: a reader reaches the id only through a row published (Release) after this.
        for (cell, w) in entry.iter().zip(packed.0) {
            cell.store(w, Relaxed);
        }
        true
    }

    /// Frees the string of `id` (writers, once nothing can read it).
    fn free(&self, id: u32) {
        // SAFETY: `id` was set (the interner frees only the ids it holds), so it is allocated.
        let entry = unsafe { self.entries.one_by_id(id) };
        // SAFETY: nothing reads the entry any more (the caller's contract).
        unsafe { free_entry(entry) };
        for cell in entry {
            cell.store(0, Relaxed);
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.entries.heap_bytes()
    }
}

/// Frees the allocation of an entry holding an allocated value.
///
/// # Safety
///
/// Nothing reads the entry's value any more.
unsafe fn free_entry(entry: &[AtomicU64; 3]) {
    if Packed::tag(entry[2].load(Relaxed)) == ALLOCATED {
        let (p, len) = (entry[0].load(Relaxed) as *mut u8, entry[1].load(Relaxed) as usize);
        // SAFETY: made by `set` as a boxed slice of `len` bytes; unreachable now.
        drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(p, len)) });
    }
}

impl Drop for Strings {
    fn drop(&mut self) {
        for index in self.entries.allocated_rows() {
            // SAFETY: the row of `index` is allocated (`allocated_rows`), and the family is
            // gone: nothing reads its values.
            unsafe { free_entry(self.entries.one_by_id(id_of(index))) };
        }
    }
}

/// Whether two label values are equal: inline for values up to 32 bytes (two overlapping
/// loads of each), `memcmp` beyond.
#[inline(always)]
pub(super) fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    macro_rules! halves {
        ($t:ty, $w:expr) => {{
            let word = |s: &[u8], at: usize| <$t>::from_le_bytes(s[at..at + $w].try_into().expect("in bounds"));
            word(a, 0) == word(b, 0) && word(a, n - $w) == word(b, n - $w)
        }};
    }
    match n {
        0 => true,
        1..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=7 => halves!(u32, 4),
        8..=15 => halves!(u64, 8),
        16..=32 => halves!(u128, 16),
        _ => a == b,
    }
}

/// The writer's side of one label's interned values: string to id, reference counts, free ids.
#[derive(Default)]
pub(super) struct Interner {
    /// The ids ([`id_of`]) of the values.
    ids: HashTable<u32>,
    /// References per value, by index.
    refs: Vec<u32>,
    /// Ids of freed values.
    free: Vec<u32>,
    /// Bytes of the values held outside their entries.
    bytes: usize,
}

impl Interner {
    /// The id of `value`, interning it (one more reference); `None` past the capacity.
    /// `packed`: the value packed, if it is short, with its `hash`: then compared as its entry's
    /// three words.
    pub(super) fn intern(
        &mut self,
        strings: &Strings,
        hash: impl Fn(&str) -> u64,
        value: &str,
        packed: Option<(&Packed, u64)>,
    ) -> Option<u32> {
        let (h, found) = match packed {
            Some((p, h)) => (
                h,
                self.ids.find(h, |&id| {
                    // SAFETY: the ids of `ids` are set (interned, not yet freed).
                    unsafe { strings.differs(id, p) == 0 }
                }),
            ),
            None => {
                let h = hash(value);
                (
                    h,
                    self.ids.find(h, |&id| {
                        // SAFETY: as above.
                        same(unsafe { strings.get(id) }, value)
                    }),
                )
            }
        };
        if let Some(&id) = found {
            self.refs[index_of(id)] += 1;
            return Some(id);
        }
        let id = match self.free.pop() {
            Some(id) => id,
            None => id_of(self.refs.len()),
        };
        if !strings.set(id, value) {
            self.free.push(id);
            return None;
        }
        match self.refs.get_mut(index_of(id)) {
            Some(r) => *r = 1,
            None => self.refs.push(1),
        }
        self.bytes += if value.len() > INLINE { value.len() } else { 0 };
        // SAFETY: as above (`id` was set just now).
        self.ids.insert_unique(h, id, |&id| hash(unsafe { strings.get(id) }));
        Some(id)
    }

    /// Drops one reference to `id`; the string is freed with the last (no reader can reach it:
    /// the caller releases the ids of rows already reclaimed).
    pub(super) fn release(&mut self, strings: &Strings, hash: impl Fn(&str) -> u64, id: u32) {
        let r = &mut self.refs[index_of(id)];
        *r -= 1;
        if *r > 0 {
            return;
        }
        // SAFETY: `id` is interned (it has references), not yet freed.
        let value = unsafe { strings.get(id) };
        self.bytes -= if value.len() > INLINE { value.len() } else { 0 };
        if let Ok(entry) = self.ids.find_entry(hash(value), |&other| other == id) {
            entry.remove();
        }
        strings.free(id);
        self.free.push(id);
    }

    /// Values interned.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }

    pub(super) fn heap_bytes(&self) -> usize {
        // hashbrown: one control byte per bucket beside the entry.
        self.ids.capacity() * (size_of::<u32>() + 1) + (self.refs.capacity() + self.free.capacity()) * 4 + self.bytes
    }
}

/// Bits of a slot holding its row's id ([`id_of`]) plus one (zero means empty).
const ROW_BITS: u32 = 25;
const ROW_MASK: u32 = (1 << ROW_BITS) - 1;
/// A removed entry: probes go on past it.
const TOMBSTONE: u32 = 1 << ROW_BITS;
/// Rows an index can refer to (their ids fit in [`ROW_BITS`]).
pub(super) const MAX_ROWS: usize = (1 << 24) - 1;

/// The part of a slot that names the row of `id` ([`id_of`]): the id plus one (zero is an
/// empty slot).
#[inline]
fn slot_id(id: u32) -> u32 {
    id + 1
}

/// Where a probe that found nothing ended: the empty slot that ended it, in the table it
/// probed. Under the same guard, a writer that finds that table still the index's and the slot
/// still empty can put the entry there without probing again: every slot before it on the
/// probe was taken and still is (entries only become tombstones; a rebuild makes a new table,
/// and the probed one is not freed, nor its address reused, while the guard lasts).
#[derive(Clone, Copy)]
pub(super) struct Vacant {
    slots: *const AtomicU32,
    at: usize,
}

/// The tag of a hash, kept in its slot and compared before the row is read: bits 25 to 31, so
/// that the low 32 bits (which rows keep) give both the tag and the place (fewer than 2^25
/// slots).
#[inline]
fn tag(hash: u64) -> u32 {
    (hash as u32) >> ROW_BITS
}

/// Slots of the largest table kept at most a quarter full.
const SMALL_TABLE: usize = 1 << 14;

/// Slots a table of `capacity` slots may use (entries and tombstones): a quarter of a small
/// table (up to [`SMALL_TABLE`] slots), so that a lookup mostly finds its entry in the first
/// slot it probes and its branches predict well (at 4,000 series, a table a quarter full
/// made lookups ~9% faster than one half full, in alternating slices); 7/8 of a large one,
/// for memory (four bytes a slot).
#[inline]
fn usable(capacity: usize) -> usize {
    if capacity <= SMALL_TABLE {
        capacity / 4
    } else {
        capacity / 8 * 7
    }
}

/// The slots of a new table for `entries`: a power of two at least 16 of which `entries` are
/// [`usable`] (a full table's rebuild doubles it); a large one (at least twice
/// [`SMALL_TABLE`] slots) once a small one would not do.
fn capacity_for(entries: usize) -> usize {
    let small = (entries * 4).next_power_of_two().max(16);
    if small <= SMALL_TABLE {
        small
    } else {
        (entries * 2).next_power_of_two().max(2 * SMALL_TABLE)
    }
}

/// An open-addressing table of 4-byte slots: a tag of the hash and the row's id plus one (a
/// reader finds the row from its id without [`locate`], see [`Rows::by_id`]). Linear probing,
/// [`usable`] up to a quarter or 7/8 of its slots.
pub(super) struct Table {
    slots: Box<[AtomicU32]>,
}

impl Table {
    /// Bytes of `capacity` slots.
    fn slot_bytes(capacity: usize) -> usize {
        capacity * size_of::<AtomicU32>()
    }

    fn with_capacity(capacity: usize) -> Box<Self> {
        Box::new(Self { slots: (0..capacity).map(|_| AtomicU32::new(0)).collect() })
    }
}

/// A hash index from label values to rows: searched lock-free by readers under a guard,
/// changed by one writer at a time (the family lock). A reader may miss an entry being
/// inserted (it then takes the writer's path, which searches again under the lock: the entry
/// is counted in [`inserts`](Index::inserts) only after it is stored, so the count the reader
/// read before its probe has changed), never sees a wrong one (it compares the values), and
/// never reads freed memory (replaced tables go to the family's garbage until no read can
/// hold them).
pub(super) struct Index {
    table: AtomicPtr<Table>,
    /// Entries added so far: a reader that read it before a probe that missed, and finds it
    /// unchanged under the lock, knows that no entry came in meanwhile (no second probe). On a
    /// line of its own: readers load it on every lookup, writers store it on every insert.
    inserts: CachePadded<AtomicU64>,
}

/// The probe of [`Index::candidates`].
pub(super) struct Candidates<'r> {
    slots: &'r [AtomicU32],
    mask: usize,
    tag: u32,
    at: usize,
}

impl Candidates<'_> {
    /// Where the probe ended, once [`next`](Iterator::next) gave `None`.
    #[inline(always)]
    pub(super) fn vacant(&self) -> Vacant {
        Vacant { slots: self.slots.as_ptr(), at: self.at }
    }
}

impl Iterator for Candidates<'_> {
    type Item = u32;

    #[inline(always)]
    fn next(&mut self) -> Option<u32> {
        loop {
            // Acquire: the row's contents, written before the slot. An empty table has no
            // slot: `get` ends the probe.
            let slot = self.slots.get(self.at)?.load(Acquire);
            if slot == 0 {
                return None;
            }
            self.at = (self.at + 1) & self.mask;
            if slot >> ROW_BITS == self.tag && slot & ROW_MASK != 0 {
                return Some((slot & ROW_MASK) - 1);
            }
        }
    }
}

/// The writer's counts of an [`Index`].
#[derive(Default)]
pub(super) struct IndexState {
    /// Slots not empty (entries and tombstones).
    used: usize,
    /// Entries.
    live: usize,
}

impl IndexState {
    /// Entries.
    pub(super) fn live(&self) -> usize {
        self.live
    }
}

impl Index {
    pub(super) fn new() -> Self {
        Self { table: AtomicPtr::new(ptr::null_mut()), inserts: CachePadded::new(AtomicU64::new(0)) }
    }

    /// Entries added so far, read before a probe: if it is the same under the lock after the
    /// probe missed, the probe saw every entry there is (Acquire: the entries counted are
    /// seen by the probe that follows).
    #[inline(always)]
    pub(super) fn inserts(&self) -> u64 {
        self.inserts.load(Acquire)
    }

    /// The ids ([`id_of`]) of the rows of the entries whose tag is that of `hash`, in probe
    /// order: the caller compares their values.
    #[inline(always)]
    pub(super) fn candidates<'r>(&'r self, _reading: &'r epoch::Guard, hash: u64) -> Candidates<'r> {
        let table = self.table.load(Acquire);
        // SAFETY: loaded in a read (`_reading`, borrowed by the result): a replaced table goes
        // to the family's garbage and is freed only once every read that may have loaded it
        // has ended.
        let slots: &[AtomicU32] = if table.is_null() { &[] } else { unsafe { &(*table).slots } };
        let mask = slots.len().wrapping_sub(1);
        Candidates { slots, mask, tag: tag(hash), at: hash as usize & mask }
    }

    /// What `eq` gives for the first row it accepts (`Some`), among the entries of `hash`.
    #[cfg(test)]
    fn find<T>(&self, reading: &epoch::Guard, hash: u64, mut eq: impl FnMut(u32) -> Option<T>) -> Option<T> {
        self.candidates(reading, hash).find_map(|id| eq(index_of(id) as u32))
    }

    /// Adds the row of `id` ([`id_of`]) under `hash` (writers), in the slot `vacant` names if
    /// it still can take it (see [`Vacant`]). `entries` lists the ids of the rows already in
    /// with the low 32 bits of their hashes, for a rebuild; the replaced table is retired.
    pub(super) fn insert<I: Iterator<Item = (u32, u32)>>(
        &self,
        state: &mut IndexState,
        garbage: &mut Garbage,
        hash: u64,
        id: u32,
        vacant: Option<Vacant>,
        entries: impl FnOnce() -> I,
    ) {
        debug_assert!((index_of(id)) < MAX_ROWS);
        if state.used + 1 > usable(self.capacity()) {
            self.rebuild(state, garbage, entries());
        }
        // SAFETY: writers hold the family lock, and only writers replace or free the table.
        let slots = unsafe { &(*self.table.load(Relaxed)).slots };
        let mask = slots.len() - 1;
        let mut at = match vacant {
            Some(v) if ptr::eq(v.slots, slots.as_ptr()) && slots[v.at].load(Relaxed) == 0 => v.at,
            _ => hash as usize & mask,
        };
        loop {
            let slot = slots[at].load(Relaxed);
            if slot == 0 || slot == TOMBSTONE {
                state.used += usize::from(slot == 0);
                state.live += 1;
                // Release: the row's contents, written before, are seen by a reader that
                // finds the slot.
                slots[at].store(tag(hash) << ROW_BITS | slot_id(id), Release);
                // Release: a reader that reads the new count sees the entry.
                self.inserts.store(self.inserts.load(Relaxed) + 1, Release);
                return;
            }
            at = (at + 1) & mask;
        }
    }

    /// Removes the entry of `row` under `hash` (writers); whether it was there.
    pub(super) fn remove(&self, state: &mut IndexState, hash: u64, row: u32) -> bool {
        let table = self.table.load(Relaxed);
        if table.is_null() {
            return false;
        }
        // SAFETY: as in `insert`.
        let slots = unsafe { &(*table).slots };
        let mask = slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            let slot = slots[at].load(Relaxed);
            if slot == 0 {
                return false;
            }
            if slot & ROW_MASK == slot_id(id_of(row as usize)) {
                slots[at].store(TOMBSTONE, Release);
                state.live -= 1;
                return true;
            }
            at = (at + 1) & mask;
        }
    }

    fn capacity(&self) -> usize {
        let table = self.table.load(Relaxed);
        if table.is_null() {
            0
        } else {
            // SAFETY: as in `insert` (writers only).
            unsafe { &(*table).slots }.len()
        }
    }

    /// A new table for `entries` and the one being inserted ([`capacity_for`]), without the
    /// tombstones; the old one is retired.
    fn rebuild(&self, state: &mut IndexState, garbage: &mut Garbage, entries: impl Iterator<Item = (u32, u32)>) {
        let capacity = capacity_for(state.live + 1);
        let new = Table::with_capacity(capacity);
        let mask = capacity - 1;
        let old = self.table.load(Relaxed);
        for (id, hash) in entries {
            let hash = u64::from(hash);
            let mut at = hash as usize & mask;
            while new.slots[at].load(Relaxed) != 0 {
                at = (at + 1) & mask;
            }
            new.slots[at].store(tag(hash) << ROW_BITS | slot_id(id), Relaxed);
        }
        state.used = state.live;
        // Release: the new table's slots are seen by readers that load it.
        self.table.store(Box::into_raw(new), Release);
        if !old.is_null() {
            // SAFETY: made by `Box::into_raw`; no longer reachable by reads that begin now
            // (the store above), freed once the reads that may hold it have ended.
            garbage.retire(Retired::Table(unsafe { Box::from_raw(old) }));
        }
    }

    /// Heap of the current table.
    pub(super) fn heap_bytes(&self) -> usize {
        Table::slot_bytes(self.capacity())
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        let table = *self.table.get_mut();
        if !table.is_null() {
            // SAFETY: made by `Box::into_raw`; the family is being dropped, no reader is left.
            drop(unsafe { Box::from_raw(table) });
        }
    }
}

/// Memory readers may still see, waiting to be freed or reused: replaced index tables and
/// removed series' rows, each stamped with the epoch of its removal (writers, under the
/// family's lock).
#[derive(Default)]
pub(super) struct Garbage {
    items: Vec<(u64, Retired)>,
    /// Calls of [`Garbage::collect`] since the epoch was last advanced.
    calls: u32,
}

/// An item of [`Garbage`].
pub(super) enum Retired {
    /// An index table replaced by a bigger one.
    Table(#[allow(dead_code)] Box<Table>),
    /// A removed series' row, to reuse.
    Row(u32),
}

impl Garbage {
    /// Whether nothing waits.
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Keeps `item` (unlinked by the caller) until no read can hold it.
    pub(super) fn retire(&mut self, item: Retired) {
        let epoch = epoch::retire_epoch();
        self.items.push((epoch, item));
    }

    /// Frees the tables and hands `reuse` the rows that no read can hold any more. Advancing the
    /// epoch costs a `membarrier` call, so it is tried when `force`d (rows exhausted,
    /// maintenance, a replaced table), once 64 items wait, or every 1024 calls with any.
    pub(super) fn collect(&mut self, force: bool, mut reuse: impl FnMut(u32)) {
        if self.items.is_empty() {
            return;
        }
        self.calls += 1;
        if !force && self.items.len() < 64 && self.calls < 1024 {
            return;
        }
        self.calls = 0;
        let global = epoch::try_advance();
        self.items.retain(|(retired, item)| {
            if !epoch::reclaimable(*retired, global) {
                return true;
            }
            if let Retired::Row(row) = item {
                reuse(*row);
            }
            false
        });
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.items.capacity() * size_of::<(u64, Retired)>()
            + self
                .items
                .iter()
                .map(|(_, i)| match i {
                    Retired::Table(t) => Table::slot_bytes(t.slots.len()) + size_of::<Table>(),
                    Retired::Row(_) => 0,
                })
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index tests' hash of row `r`: spread, with collisions in the low bits.
    fn colliding_hash(r: u32) -> u64 {
        u64::from(r).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 7
    }

    #[test]
    fn segments_cover_every_row_once() {
        let mut expected = (0, 0);
        for i in 0..40_000 {
            let (s, at) = locate(i);
            if at == 0 {
                assert_eq!(segment_start(s), i, "segment {s}");
            }
            if at == 0 && i > 0 {
                assert_eq!(expected.1, segment_rows(expected.0), "segment {} full before {i}", expected.0);
                assert_eq!(s, expected.0 + 1);
            } else {
                assert_eq!((s, at), expected, "row {i}");
            }
            expected = (s, at + 1);
            assert_eq!(index_of(id_of(i)), i, "the id of value {i}");
        }
    }

    #[test]
    fn a_packed_value_is_its_entry_and_differs_from_every_other() {
        let strings = Strings::new(64);
        let alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        for n in 0..=40 {
            let value = &alphabet[..n.min(alphabet.len())];
            let id = id_of(n);
            assert!(strings.set(id, value));
            // SAFETY: `id` was set just above.
            let (get, differs) = (|| unsafe { strings.get(id) }, |p: &Packed| unsafe { strings.differs(id, p) });
            assert_eq!(get(), value, "{n} bytes read back");
            match Packed::short(value) {
                Some(packed) => {
                    assert!(n <= INLINE);
                    assert_eq!(differs(&packed), 0, "{n} bytes: the packed value is its entry");
                    // Any one byte changed, or one byte more or less: another packed value.
                    for at in 0..n {
                        let mut other = value.as_bytes().to_vec();
                        other[at] = b'_';
                        let other = String::from_utf8(other).unwrap();
                        assert_ne!(differs(&Packed::short(&other).unwrap()), 0, "{n} bytes, byte {at}");
                    }
                    if n > 0 {
                        assert_ne!(differs(&Packed::short(&value[..n - 1]).unwrap()), 0, "{n} bytes, shorter");
                    }
                    let longer = format!("{value}_");
                    if let Some(longer) = Packed::short(&longer) {
                        assert_ne!(differs(&longer), 0, "{n} bytes, longer");
                    }
                }
                None => assert!(n > INLINE),
            }
        }
        for n in 0..=40 {
            strings.free(id_of(n));
        }
    }

    #[test]
    fn a_new_table_holds_its_entries_and_a_full_one_grows_twice_as_large() {
        for entries in (1..1 << 20).step_by(97).chain([4096, 4097, 28_672, 28_673]) {
            let capacity = capacity_for(entries);
            assert!(capacity.is_power_of_two() && capacity >= 16, "{entries}: {capacity}");
            assert!(usable(capacity) >= entries, "{entries} entries in {capacity} slots");
            // A small table no larger than needed (half the slots would not do); a large one
            // at most half full when made (room to grow to 7/8 before the next rebuild).
            if capacity <= SMALL_TABLE {
                assert!(capacity == 16 || usable(capacity / 2) < entries, "{entries}");
            } else {
                assert!(capacity == 2 * SMALL_TABLE || entries * 4 > capacity, "{entries}");
                assert!(entries * 2 <= capacity, "{entries}");
            }
        }
        for capacity in (4..21).map(|b| 1 << b) {
            assert_eq!(capacity_for(usable(capacity) + 1), 2 * capacity, "a full table of {capacity} slots");
        }
        assert_eq!(usable(SMALL_TABLE), SMALL_TABLE / 4, "small tables a quarter full");
        assert_eq!(usable(2 * SMALL_TABLE), 2 * SMALL_TABLE / 8 * 7, "large ones 7/8");
    }

    #[test]
    fn the_index_finds_what_it_holds_and_forgets_what_is_removed() {
        let index = Index::new();
        let mut state = IndexState::default();
        let mut garbage = Garbage::default();
        let hash = colliding_hash;
        for r in 0..5000 {
            let entries = || (0..r).map(|r| (id_of(r as usize), hash(r) as u32));
            index.insert(&mut state, &mut garbage, hash(r), id_of(r as usize), None, entries);
        }
        let guard = epoch::pin();
        for r in 0..5000 {
            assert_eq!(index.find(&guard, hash(r), |x| (x == r).then_some(x)), Some(r));
        }
        for r in (0..5000).step_by(2) {
            assert!(index.remove(&mut state, hash(r), r));
        }
        for r in 0..5000 {
            assert_eq!(index.find(&guard, hash(r), |x| (x == r).then_some(x)), (r % 2 == 1).then_some(r));
        }
        assert_eq!(state.live, 2500);
    }

    /// An insert put where a probe that missed ended is found; a stale place (a slot taken
    /// since, a table replaced since) is not used: the insert probes again, and no entry is
    /// overwritten.
    #[test]
    fn an_insert_where_the_probe_ended_is_found_and_a_stale_place_is_not_used() {
        let index = Index::new();
        let mut state = IndexState::default();
        let mut garbage = Garbage::default();
        let hash = colliding_hash;
        let guard = epoch::pin();
        let mut older = Vec::new();
        for r in 0..5000u32 {
            let mut probe = index.candidates(&guard, hash(r));
            assert!(probe.by_ref().all(|id| index_of(id) != r as usize), "{r} not in yet");
            let vacant = probe.vacant();
            older.push(vacant);
            // Every third insert given the place another probe found, 40 inserts ago.
            let given = if r % 3 == 0 && r >= 40 { older[r as usize - 40] } else { vacant };
            let entries = || (0..r).map(|r| (id_of(r as usize), hash(r) as u32));
            index.insert(&mut state, &mut garbage, hash(r), id_of(r as usize), Some(given), entries);
        }
        for r in 0..5000 {
            assert_eq!(index.find(&guard, hash(r), |x| (x == r).then_some(x)), Some(r), "{r}");
        }
        assert_eq!(state.live, 5000);
    }
}
