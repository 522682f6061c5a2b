//! Exemplars: a trace id (or any few labels) and a value next to a counter or a histogram
//! bucket, so that a dashboard can jump from a latency bucket to one request that fell in it.
//!
//! Storage is one fixed slot per bucket (or per counter series), written lock-free, newest
//! wins, never allocating: [`ExemplarCell`].

use core::fmt;
use core::sync::atomic::{fence, AtomicU64, Ordering};

use crate::cell::ConstInit;
use crate::counter::CounterSeries;
use crate::family::Family;
use crate::histogram::{Histogram, HistogramHandle};
use crate::native::{NativeHandle, NativeHistogram};

pub use crate::native::NATIVE_EXEMPLARS;
use crate::read::{process_start_time, MetricDesc, Series, StaticLabels, Visitor};
use crate::tag::TagSet;
use crate::timer::unix_now;
use crate::Counter;

/// The most bytes of label names and values an exemplar holds: OpenMetrics allows 128 UTF-8
/// characters, and this keeps to 128 bytes (the same for ASCII trace and span ids).
pub const EXEMPLAR_MAX_LABEL_BYTES: usize = 128;
/// The most label pairs an exemplar holds.
pub const EXEMPLAR_MAX_LABELS: usize = 8;

/// Names and values, each after its length byte; a whole number of words.
const BUFFER: usize = (EXEMPLAR_MAX_LABEL_BYTES + 2 * EXEMPLAR_MAX_LABELS).div_ceil(8) * 8;
const WORDS: usize = BUFFER / 8;

/// Why an exemplar was not stored (the value itself is always recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExemplarError {
    /// The label names and values together take more than 128 bytes.
    TooLong {
        /// The bytes given.
        bytes: usize,
    },
    /// More than 8 label pairs.
    TooManyLabels,
    /// A label name that is not a valid Prometheus label name.
    InvalidName(String),
}

impl fmt::Display for ExemplarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExemplarError::TooLong { bytes } => write!(
                f,
                "exemplar labels take {bytes} bytes, above the {EXEMPLAR_MAX_LABEL_BYTES} OpenMetrics allows; keep the trace and span ids only"
            ),
            ExemplarError::TooManyLabels => write!(f, "an exemplar holds at most {EXEMPLAR_MAX_LABELS} labels"),
            ExemplarError::InvalidName(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for ExemplarError {}

/// Whether `name` is a label name (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`): the
/// check of every exemplar record, so a byte loop rather than the derive's full lint.
#[inline]
fn label_name_ok(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && !b[0].is_ascii_digit()
        && !b.starts_with(b"__")
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Checks `labels` and writes them length-prefixed into `out`; returns the bytes written.
#[inline]
fn encode(labels: &[(&str, &str)], out: &mut [u8; BUFFER]) -> Result<usize, ExemplarError> {
    if labels.len() > EXEMPLAR_MAX_LABELS {
        return Err(ExemplarError::TooManyLabels);
    }
    let (mut len, mut text) = (0, 0);
    for (name, value) in labels {
        // At most 8 pairs of 128 bytes in all: with their 16 length bytes, within `BUFFER`.
        text += name.len() + value.len();
        if text > EXEMPLAR_MAX_LABEL_BYTES {
            let bytes = labels.iter().map(|(n, v)| n.len() + v.len()).sum();
            return Err(ExemplarError::TooLong { bytes });
        }
        if !label_name_ok(name) {
            return Err(ExemplarError::InvalidName(format!(
                "exemplar label name `{name}` is not a label name; names match `[a-zA-Z_][a-zA-Z0-9_]*` and do not start with `__`"
            )));
        }
        for part in [name.as_bytes(), value.as_bytes()] {
            out[len] = part.len() as u8;
            out[len + 1..len + 1 + part.len()].copy_from_slice(part);
            len += 1 + part.len();
        }
    }
    Ok(len)
}

/// One exemplar as read: its labels, the value it was recorded with and when (seconds since
/// the Unix epoch). A plain copy: reading one allocates nothing.
#[derive(Clone, Copy)]
pub struct Exemplar {
    bytes: [u8; BUFFER],
    len: usize,
    /// The recorded value.
    pub value: f64,
    /// When it was recorded, in seconds since the Unix epoch.
    pub timestamp: f64,
}

impl Exemplar {
    /// An exemplar of `labels`, checked: at most 8 pairs, 128 bytes of names and values, valid
    /// label names.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::exemplar::Exemplar;
    ///
    /// let e = Exemplar::new(&[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")], 0.25, 1.7e9).unwrap();
    /// assert_eq!(e.labels().collect::<Vec<_>>(), [("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")]);
    /// assert!(Exemplar::new(&[("trace_id", &"x".repeat(200))], 0.25, 1.7e9).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`ExemplarError`] says which limit was passed.
    pub fn new(labels: &[(&str, &str)], value: f64, timestamp: f64) -> Result<Self, ExemplarError> {
        let mut out = Self { bytes: [0; BUFFER], len: 0, value, timestamp };
        out.len = encode(labels, &mut out.bytes)?;
        Ok(out)
    }

    /// The label pairs, in the order given.
    pub fn labels(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let mut at = 0;
        core::iter::from_fn(move || {
            if at >= self.len {
                return None;
            }
            let mut part = || {
                let n = self.bytes[at] as usize;
                let s = &self.bytes[at + 1..at + 1 + n];
                at += 1 + n;
                // Written from `&str`s whole, read back whole: always UTF-8.
                core::str::from_utf8(s).unwrap_or("")
            };
            let name = part();
            let value = part();
            Some((name, value))
        })
    }
}

impl fmt::Debug for Exemplar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exemplar")
            .field("labels", &self.labels().collect::<Vec<_>>())
            .field("value", &self.value)
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

impl PartialEq for Exemplar {
    fn eq(&self, other: &Self) -> bool {
        self.bytes[..self.len] == other.bytes[..other.len]
            && self.value.to_bits() == other.value.to_bits()
            && self.timestamp.to_bits() == other.timestamp.to_bits()
    }
}

/// One exemplar slot: a sequence word and the exemplar in atomic words.
///
/// A writer takes the slot by moving the sequence from even to odd with one compare-and-swap,
/// stores the words, and makes the sequence even again; a writer that finds the slot taken by
/// another writer skips its exemplar instead of waiting (the newest complete write wins, and
/// the value itself is always recorded). A reader copies the words and keeps the copy only if
/// the sequence was even and unchanged around it. Writers never wait; a reader retries a few
/// times and reports no exemplar for the slot if a writer kept it busy.
pub struct ExemplarCell {
    seq: AtomicU64,
    value: AtomicU64,
    timestamp: AtomicU64,
    len: AtomicU64,
    words: [AtomicU64; WORDS],
}

impl ConstInit for ExemplarCell {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self {
        seq: AtomicU64::new(0),
        value: AtomicU64::new(0),
        timestamp: AtomicU64::new(0),
        len: AtomicU64::new(0),
        words: [const { AtomicU64::new(0) }; WORDS],
    };
}

impl ExemplarCell {
    /// Checks `labels` and stores them with `value` and `timestamp` (what the record methods
    /// do), unless another writer is storing in this slot right now.
    ///
    /// # Errors
    ///
    /// As [`Exemplar::new`]; nothing is stored.
    #[inline]
    pub fn store_labels(&self, labels: &[(&str, &str)], value: f64, timestamp: f64) -> Result<(), ExemplarError> {
        let mut bytes = [0u8; BUFFER];
        let len = encode(labels, &mut bytes)?;
        self.write(&bytes, len, value, timestamp);
        Ok(())
    }

    /// Stores `exemplar`, unless another writer is storing one in this slot right now.
    #[inline]
    pub fn store(&self, exemplar: &Exemplar) {
        self.write(&exemplar.bytes, exemplar.len, exemplar.value, exemplar.timestamp);
    }

    /// Writes the first `len` bytes of `bytes` (zero past them), whole words at a time.
    #[inline]
    fn write(&self, bytes: &[u8; BUFFER], len: usize, value: f64, timestamp: f64) {
        let s = self.seq.load(Ordering::Relaxed);
        if s & 1 == 1 || self.seq.compare_exchange(s, s + 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return;
        }
        fence(Ordering::Release);
        self.value.store(value.to_bits(), Ordering::Relaxed);
        self.timestamp.store(timestamp.to_bits(), Ordering::Relaxed);
        self.len.store(len as u64, Ordering::Relaxed);
        for (word, chunk) in self.words.iter().zip(bytes.chunks_exact(8)).take(len.div_ceil(8)) {
            let chunk: [u8; 8] = chunk.try_into().unwrap_or([0; 8]);
            word.store(u64::from_le_bytes(chunk), Ordering::Relaxed);
        }
        self.seq.store(s + 2, Ordering::Release);
    }

    /// The exemplar last stored, if any (and if no writer kept the slot busy for four tries).
    pub fn load(&self) -> Option<Exemplar> {
        for _ in 0..4 {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 == 0 {
                return None;
            }
            if s1 & 1 == 1 {
                core::hint::spin_loop();
                continue;
            }
            let len = (self.len.load(Ordering::Relaxed) as usize).min(BUFFER);
            let mut out = Exemplar {
                bytes: [0; BUFFER],
                len,
                value: f64::from_bits(self.value.load(Ordering::Relaxed)),
                timestamp: f64::from_bits(self.timestamp.load(Ordering::Relaxed)),
            };
            for (word, chunk) in self.words.iter().zip(out.bytes.chunks_exact_mut(8)).take(len.div_ceil(8)) {
                chunk.copy_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
            }
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == s1 && valid(&out) {
                return Some(out);
            }
        }
        None
    }
}

/// A copy whose length prefixes run inside its length and whose parts are UTF-8 (always true
/// of a consistent copy; checked so that no torn copy is ever exposed).
fn valid(e: &Exemplar) -> bool {
    let mut at = 0;
    while at < e.len {
        let n = e.bytes[at] as usize;
        if at + 1 + n > e.len || core::str::from_utf8(&e.bytes[at + 1..at + 1 + n]).is_err() {
            return false;
        }
        at += 1 + n;
    }
    at == e.len
}

impl fmt::Debug for ExemplarCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ExemplarCell").field(&self.load()).finish()
    }
}

/// `N` exemplar slots: one per bucket of a histogram series, one for a counter series.
pub struct ExemplarSlots<const N: usize>(pub(crate) [ExemplarCell; N]);

impl<const N: usize> ConstInit for ExemplarSlots<N> {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self([const { ExemplarCell::INIT }; N]);
}

impl<const N: usize> ExemplarSlots<N> {
    /// The slots.
    pub fn cells(&self) -> &[ExemplarCell; N] {
        &self.0
    }
}

impl<const N: usize> fmt::Debug for ExemplarSlots<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_and_loads() {
        let cell = ExemplarCell::INIT;
        assert!(cell.load().is_none());
        let e = Exemplar::new(&[("trace_id", "abc"), ("span_id", "ü1")], 1.5, 10.0).unwrap();
        cell.store(&e);
        assert_eq!(cell.load(), Some(e));
        let f = Exemplar::new(&[("trace_id", "newer")], 2.5, 11.0).unwrap();
        cell.store(&f);
        assert_eq!(cell.load(), Some(f)); // newest wins
    }

    #[test]
    fn readers_never_see_a_torn_exemplar() {
        let cell = ExemplarCell::INIT;
        let a = Exemplar::new(&[("trace_id", &"a".repeat(100))], 1.0, 1.0).unwrap();
        let b = Exemplar::new(&[("trace_id", "b"), ("span_id", "bb")], 2.0, 2.0).unwrap();
        let stop = core::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            for e in [a, b] {
                let (cell, stop) = (&cell, &stop);
                s.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        cell.store(&e);
                    }
                });
            }
            for _ in 0..200_000 {
                if let Some(got) = cell.load() {
                    assert!(got == a || got == b, "{got:?}");
                }
            }
            stop.store(true, Ordering::Relaxed);
        });
    }

    #[test]
    fn limits() {
        assert_eq!(Exemplar::new(&[("a", &"x".repeat(128))], 0.0, 0.0), Err(ExemplarError::TooLong { bytes: 129 }));
        assert!(Exemplar::new(&[("a", &"x".repeat(127))], 0.0, 0.0).is_ok());
        let nine: Vec<(&str, &str)> = (0..9).map(|_| ("a", "b")).collect();
        assert_eq!(Exemplar::new(&nine, 0.0, 0.0), Err(ExemplarError::TooManyLabels));
        assert!(matches!(Exemplar::new(&[("bad-name", "x")], 0.0, 0.0), Err(ExemplarError::InvalidName(_))));
    }
}

/// A metric type that can carry exemplars: the tag set of its series and the exemplar slots
/// each series has (one per histogram bucket, one per counter series).
pub trait ExemplarTarget {
    /// The metric's tag set.
    type Tags: TagSet;
    /// The exemplar slots of one series.
    type Slots: ConstInit + Send + Sync;
}

impl<T: TagSet> ExemplarTarget for Counter<T> {
    type Tags = T;
    type Slots = ExemplarSlots<1>;
}

impl<T: TagSet, const B: usize> ExemplarTarget for Histogram<T, B> {
    type Tags = T;
    type Slots = ExemplarSlots<B>;
}

impl<T: TagSet, const C: usize, const B: usize> ExemplarTarget for NativeHistogram<T, C, B> {
    type Tags = T;
    type Slots = ExemplarSlots<NATIVE_EXEMPLARS>;
}

/// A [`Counter`], [`Histogram`] or [`NativeHistogram`] with exemplars: beside each counter
/// series, and each histogram bucket (8 per native histogram series, a value going to slot
/// `bucket key mod 8`), one slot that holds the newest exemplar recorded there, exposed in
/// OpenMetrics and protobuf (never in Prometheus text 0.0.4, which has no exemplars).
///
/// It dereferences to the metric, so everything else (`inc`, `record`, reads) is unchanged;
/// [`with`](Exemplars::with) gives a handle that also records exemplars. Recording an exemplar
/// is the metric's record plus a copy of the labels into the slot (taken with one
/// compare-and-swap, skipped if another writer holds it); it never waits and never allocates.
/// Memory: 176 bytes per slot.
///
/// # Examples
///
/// ```
/// use metrics_runtime::exemplar::Exemplars;
/// use metrics_runtime::{Histogram, Metrics};
///
/// #[derive(Metrics)]
/// struct Api {
///     /// Request time.
///     #[metric(unit = "seconds", buckets = [0.1, 1.0])]
///     request_seconds: Exemplars<Histogram>,
/// }
///
/// let api = Api::new();
/// api.request_seconds.with(()).record_with_exemplar(0.25, &[("trace_id", "4bf92f35")]).unwrap();
/// api.request_seconds.record(0.5); // the histogram's own methods, through `Deref`
/// let om = api.render_openmetrics();
/// assert!(om.contains("request_seconds_bucket{le=\"1.0\"} 2 # {trace_id=\"4bf92f35\"} 0.25 "), "{om}");
/// assert!(!api.render_prometheus().contains("trace_id"));
/// ```
pub struct Exemplars<M: ExemplarTarget> {
    metric: M,
    slots: Family<M::Slots, M::Tags>,
}

impl<M: ExemplarTarget> Exemplars<M> {
    /// `metric`, with empty exemplar slots.
    pub const fn new(metric: M) -> Self {
        Self { metric, slots: Family::new() }
    }

    /// The metric itself.
    pub fn metric(&self) -> &M {
        &self.metric
    }
}

impl<M: ExemplarTarget> core::ops::Deref for Exemplars<M> {
    type Target = M;

    fn deref(&self) -> &M {
        &self.metric
    }
}

impl<M: ExemplarTarget + fmt::Debug> fmt::Debug for Exemplars<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exemplars").field("metric", &self.metric).finish_non_exhaustive()
    }
}

/// A series of an [`Exemplars`] metric, ready to record with or without an exemplar; it
/// dereferences to the metric's own handle (`record`, `inc`, `count`...).
#[derive(Debug)]
pub struct ExemplarHandle<'a, H, const N: usize> {
    inner: H,
    slots: &'a ExemplarSlots<N>,
}

impl<H, const N: usize> core::ops::Deref for ExemplarHandle<'_, H, N> {
    type Target = H;

    fn deref(&self) -> &H {
        &self.inner
    }
}

impl<T: TagSet> Exemplars<Counter<T>> {
    /// The series for `tags`.
    #[inline]
    pub fn with(&self, tags: T) -> ExemplarHandle<'_, &CounterSeries, 1> {
        ExemplarHandle { inner: self.metric.with(tags), slots: self.slots.with(tags) }
    }

    /// Hands every series, with its exemplar, to `visitor` (what the derived
    /// [`Metrics::visit`](crate::Metrics::visit) does for this field).
    pub fn visit(&self, desc: &MetricDesc<'_>, visitor: &mut dyn Visitor) {
        let created = process_start_time();
        visitor.begin_metric(desc);
        for (index, (series, slots)) in self.metric.series().iter().zip(self.slots.series()).enumerate() {
            let labels = StaticLabels::<T>::new(index);
            let exemplar = slots.0[0].load();
            visitor.counter_with_exemplar(
                desc,
                Series { index, labels: &labels, created },
                series.get(),
                exemplar.as_ref(),
            );
        }
        visitor.end_metric(desc);
    }
}

impl ExemplarHandle<'_, &CounterSeries, 1> {
    /// Adds 1 and stores an exemplar of `labels` (value 1, timestamp now).
    ///
    /// # Errors
    ///
    /// [`ExemplarError`] if the labels pass a limit: the count is added, the exemplar is not.
    #[inline]
    pub fn inc_with_exemplar(&self, labels: &[(&str, &str)]) -> Result<(), ExemplarError> {
        self.add_with_exemplar(1, labels)
    }

    /// Adds `n` and stores an exemplar of `labels` (value `n`, timestamp now).
    ///
    /// # Errors
    ///
    /// As [`inc_with_exemplar`](Self::inc_with_exemplar).
    pub fn add_with_exemplar(&self, n: u64, labels: &[(&str, &str)]) -> Result<(), ExemplarError> {
        self.inner.add(n);
        self.slots.0[0].store_labels(labels, n as f64, unix_now())
    }
}

impl<T: TagSet, const B: usize> Exemplars<Histogram<T, B>> {
    /// The series for `tags`.
    #[inline]
    pub fn with(&self, tags: T) -> ExemplarHandle<'_, HistogramHandle<'_, B>, B> {
        ExemplarHandle { inner: self.metric.with(tags), slots: self.slots.with(tags) }
    }

    /// Hands every series, with its buckets' exemplars, to `visitor`.
    pub fn visit(&self, desc: &MetricDesc<'_>, visitor: &mut dyn Visitor) {
        self.metric.visit_with(desc, visitor, Some(&self.slots));
    }
}

impl<const B: usize> ExemplarHandle<'_, HistogramHandle<'_, B>, B> {
    /// Records `value` and stores an exemplar of `labels` in its bucket's slot (timestamp now).
    ///
    /// # Errors
    ///
    /// [`ExemplarError`] if the labels pass a limit: the value is recorded, the exemplar is not.
    pub fn record_with_exemplar(&self, value: f64, labels: &[(&str, &str)]) -> Result<(), ExemplarError> {
        match self.inner.record_in_bucket(value) {
            Some(i) => self.slots.0[i].store_labels(labels, value, unix_now()),
            None => Ok(()),
        }
    }
}

impl<T: TagSet, const C: usize, const B: usize> Exemplars<NativeHistogram<T, C, B>> {
    /// The series for `tags`.
    #[inline]
    pub fn with(&self, tags: T) -> ExemplarHandle<'_, NativeHandle<'_, C, B>, NATIVE_EXEMPLARS> {
        ExemplarHandle { inner: self.metric.with(tags), slots: self.slots.with(tags) }
    }

    /// Hands every series, with its exemplars, to `visitor`.
    pub fn visit(&self, desc: &MetricDesc<'_>, visitor: &mut dyn Visitor) {
        self.metric.visit_with(desc, visitor, Some(&self.slots));
    }
}

impl<const C: usize, const B: usize> ExemplarHandle<'_, NativeHandle<'_, C, B>, NATIVE_EXEMPLARS> {
    /// Records `value` and stores an exemplar of `labels` (timestamp now) in slot
    /// `bucket key mod 8`.
    ///
    /// # Errors
    ///
    /// [`ExemplarError`] if the labels pass a limit: the value is recorded, the exemplar is not.
    pub fn record_with_exemplar(&self, value: f64, labels: &[(&str, &str)]) -> Result<(), ExemplarError> {
        match self.inner.record_slot(value, 1) {
            Some(slot) => self.slots.0[slot].store_labels(labels, value, unix_now()),
            None => Ok(()),
        }
    }
}

/// Where `#[timed]` (and every [`RecordDuration`](crate::RecordDuration) of an [`Exemplars`]
/// series) finds the current trace: implement it over your tracing system and install it
/// once with [`set_trace_context`].
///
/// # Examples
///
/// ```
/// use metrics_runtime::exemplar::{set_trace_context, ExemplarLabels, Exemplars, TraceContext};
/// use metrics_runtime::{timed, Histogram, Metrics};
///
/// std::thread_local!(static TRACE: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) });
///
/// struct Current;
/// impl TraceContext for Current {
///     fn with_current(&self, f: &mut dyn FnMut(ExemplarLabels<'_>)) {
///         if let Some(id) = TRACE.with(|t| t.get()) {
///             f(&[("trace_id", id)]);
///         }
///     }
/// }
///
/// #[derive(Metrics)]
/// struct Api {
///     /// Request time.
///     #[metric(unit = "seconds", buckets = [0.1, 1.0])]
///     request_seconds: Exemplars<Histogram>,
/// }
/// static API: Api = Api::new();
///
/// #[timed(API.request_seconds.with(()))]
/// fn handle() {}
///
/// set_trace_context(&Current).unwrap();
/// TRACE.with(|t| t.set(Some("4bf92f35")));
/// handle();
/// assert!(API.render_openmetrics().contains("# {trace_id=\"4bf92f35\"}"));
/// ```
pub trait TraceContext: Sync {
    /// Calls `f` with the current trace's exemplar labels (such as `trace_id`, `span_id`), if
    /// there is a current trace; does nothing otherwise.
    fn with_current(&self, f: &mut dyn FnMut(ExemplarLabels<'_>));
}

/// Exemplar label pairs, `(name, value)`.
pub type ExemplarLabels<'a> = &'a [(&'a str, &'a str)];

impl fmt::Debug for dyn TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TraceContext")
    }
}

static TRACE_CONTEXT: std::sync::OnceLock<&'static dyn TraceContext> = std::sync::OnceLock::new();

/// Installs the process' [`TraceContext`], once.
///
/// # Errors
///
/// `Err` with the argument if one is installed already.
pub fn set_trace_context(context: &'static dyn TraceContext) -> Result<(), &'static dyn TraceContext> {
    TRACE_CONTEXT.set(context)
}

/// Records with the current trace's exemplar if a context is installed and has a trace.
fn with_trace(record: impl Fn(Option<ExemplarLabels<'_>>)) {
    match TRACE_CONTEXT.get() {
        Some(context) => {
            let mut done = false;
            context.with_current(&mut |labels| {
                if !done {
                    record(Some(labels));
                    done = true;
                }
            });
            if !done {
                record(None);
            }
        }
        None => record(None),
    }
}

impl<const B: usize> crate::RecordDuration for ExemplarHandle<'_, HistogramHandle<'_, B>, B> {
    #[inline]
    fn record_seconds(&self, seconds: f64, _: crate::Outcome) {
        with_trace(|labels| match labels {
            // Labels past the limits are refused: the duration is recorded all the same.
            Some(labels) => drop(self.record_with_exemplar(seconds, labels)),
            None => self.inner.record(seconds),
        });
    }
}

impl<const C: usize, const B: usize> crate::RecordDuration
    for ExemplarHandle<'_, NativeHandle<'_, C, B>, NATIVE_EXEMPLARS>
{
    #[inline]
    fn record_seconds(&self, seconds: f64, _: crate::Outcome) {
        with_trace(|labels| match labels {
            Some(labels) => drop(self.record_with_exemplar(seconds, labels)),
            None => self.inner.record(seconds),
        });
    }
}
