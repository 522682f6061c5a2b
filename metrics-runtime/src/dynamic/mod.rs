//! Metrics only known at run time, kept bounded: [`BoundedRegistry`].
//!
//! Names and labels are checked by the same rules as `#[derive(Metrics)]` (the `metrics-rules`
//! crate); label values are strings checked at run time. Every family has a series cap, the
//! registry a total cap and a creation rate limit; what does not fit is recorded into the
//! family's overflow series (every label `__overflow__`) and counted, never dropped.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::expose::push_json_str;
use crate::group::Metrics;
use crate::histogram::{atomic_f64_add, bucket_index, read_buckets, BucketCell};
use crate::read::{BoundTexts, HistogramRead, Labels, MetricDesc, MetricKind, Series as ReadSeries, Visitor};

mod epoch;
mod store;

use store::{same, Garbage, Index, IndexState, Interner, Packed, Retired, Rows, Strings, Vacant};

/// The label value of overflow series.
///
/// # Examples
///
/// ```
/// use metrics_runtime::Metrics;
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, OVERFLOW_VALUE};
///
/// let registry = BoundedRegistry::new(BoundedConfig { max_series_per_family: 1, ..BoundedConfig::default() });
/// let logins = registry.counter("tenant_logins_total", "Logins, by tenant and region.", &["tenant", "region"]).unwrap();
/// logins.inc(&["acme", "eu"]).unwrap();
/// logins.inc(&["globex", "us"]).unwrap(); // over the cap
/// let overflow = format!("tenant_logins_total{{tenant=\"{OVERFLOW_VALUE}\",region=\"{OVERFLOW_VALUE}\"}} 1\n");
/// assert!(registry.render_prometheus().contains(&overflow));
/// ```
pub const OVERFLOW_VALUE: &str = "__overflow__";

/// Limits of a [`BoundedRegistry`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
///
/// let config = BoundedConfig {
///     max_series_per_family: 100,
///     max_series_total: 1_000,
///     max_new_series_per_sec: 50,
///     idle_timeout: Some(Duration::from_secs(600)),
///     ..BoundedConfig::default()
/// };
/// assert_eq!(config.max_families, 256); // the default
/// let registry = BoundedRegistry::new(config);
/// assert_eq!(registry.series_count(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct BoundedConfig {
    /// Series per family, overflow series excluded. Default 1 000.
    pub max_series_per_family: usize,
    /// Series over all families, overflow series excluded. Default 10 000.
    pub max_series_total: usize,
    /// Families. Default 256.
    pub max_families: usize,
    /// New series per second, over the registry (a token bucket with a burst of the same
    /// size). Default 1 000.
    pub max_new_series_per_sec: u32,
    /// Series with no update for this long are removed by the maintenance step
    /// ([`BoundedRegistry::maintain`]; never by a read). Make it longer than every reader's
    /// interval, so that each has read a series' last value before it goes. Removals are
    /// counted. `None` (the default) keeps every series.
    pub idle_timeout: Option<Duration>,
    /// What a new series does at a series cap: go to the overflow series (the default), or
    /// take the place of the least recently updated series of its family.
    pub eviction: Eviction,
}

/// What a [`BoundedRegistry`] does with a new series once a series cap is reached.
///
/// # Examples
///
/// ```
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, Eviction};
/// use metrics_runtime::Metrics;
///
/// let config = BoundedConfig { max_series_per_family: 3, eviction: Eviction::LeastRecentlyUsed, ..BoundedConfig::default() };
/// let registry = BoundedRegistry::new(config);
/// let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
/// for i in 0..20 {
///     registry.maintain(); // a scrape, say: a new period of "recently updated"
///     hits.inc(&["hot"]).unwrap(); // used in every period
///     hits.inc(&[&format!("cold-{i}")]).unwrap(); // used once each
/// }
/// let text = registry.render_prometheus();
/// assert!(text.contains("tenant_hits_total{tenant=\"hot\"} 20\n"), "{text}");
/// assert!(text.contains("tenant_hits_total{tenant=\"cold-19\"} 1\n"));
/// assert_eq!(registry.series_count(), 3);
/// assert_eq!(hits.overflowed(), 0); // evicted instead
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Eviction {
    /// New series past a cap go to the family's overflow series (`__overflow__`), counted.
    #[default]
    Overflow,
    /// A new series past a cap takes the place of a series of its family not updated
    /// recently, chosen by the CLOCK algorithm (an LRU approximation that costs the record path
    /// nothing: each update already sets the series' "updated" bit). "Recently" is since the
    /// last [`maintain`](BoundedRegistry::maintain) (the HTTP server and the exporters run it
    /// after each read) or since the CLOCK hand last passed the series: the hand skips a series
    /// updated since then, clearing its bit (a second chance), and evicts the first one not
    /// updated; among series all updated since the last maintenance, the oldest goes first. A
    /// series whose handle the application holds is never evicted; when every series is held,
    /// the new series goes to the overflow series. Evictions are counted in
    /// `evicted_series_total`.
    LeastRecentlyUsed,
}

impl Default for BoundedConfig {
    fn default() -> Self {
        Self {
            max_series_per_family: 1_000,
            max_series_total: 10_000,
            max_families: 256,
            max_new_series_per_sec: 1_000,
            idle_timeout: None,
            eviction: Eviction::Overflow,
        }
    }
}

/// What a [`BoundedRegistry`] refused, and why.
///
/// # Examples
///
/// ```
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, DynamicError};
///
/// let registry = BoundedRegistry::new(BoundedConfig { max_families: 2, ..BoundedConfig::default() });
/// let err = registry.counter("jobs", "Jobs run.", &[]).unwrap_err();
/// assert!(matches!(err, DynamicError::InvalidName { .. })); // a counter must end in `_total`
/// assert!(matches!(registry.gauge("queue_depth", " ", &[]), Err(DynamicError::MissingHelp { .. })));
/// assert!(matches!(registry.gauge("queue_depth", "Jobs waiting.", &["le-vel"]), Err(DynamicError::InvalidLabelName { .. })));
/// let buckets = registry.histogram("job_seconds", "Job time.", &[], &[1.0, 0.5]);
/// assert!(matches!(buckets, Err(DynamicError::InvalidBuckets { .. })));
///
/// let jobs = registry.counter("jobs_total", "Jobs run.", &["queue"]).unwrap();
/// assert_eq!(jobs.inc(&["fast", "eu"]), Err(DynamicError::LabelCount { expected: 1, given: 2 }));
/// assert!(matches!(jobs.inc(&[""]), Err(DynamicError::InvalidLabelValue { .. })));
/// assert_eq!(
///     registry.gauge("jobs", "Jobs.", &[]).unwrap_err(), // `jobs` is the counter's family name
///     DynamicError::DuplicateName { name: "jobs".into() }
/// );
///
/// let times = registry.histogram("job_seconds", "Job time.", &[], &[0.5, 1.0]).unwrap();
/// assert!(matches!(times.record(&[], f64::NAN), Err(DynamicError::InvalidValue { .. })));
/// let err = registry.gauge("workers", "Workers.", &[]).unwrap_err();
/// assert_eq!(err.to_string(), "the registry already holds its limit of 2 families; raise `max_families`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DynamicError {
    /// The metric name breaks a naming rule; the message says which and what to do.
    InvalidName {
        /// The name.
        name: String,
        /// The rule's message.
        reason: String,
    },
    /// A label name breaks a naming rule, or repeats.
    InvalidLabelName {
        /// The label name.
        name: String,
        /// The rule's message.
        reason: String,
    },
    /// A label value is not acceptable (empty, too long, or the reserved `__overflow__`);
    /// nothing was recorded.
    InvalidLabelValue {
        /// The label it was given for.
        label: String,
        /// The rule's message.
        reason: String,
    },
    /// A recorded value is NaN or infinite; nothing was recorded.
    InvalidValue {
        /// The rule's message.
        reason: String,
    },
    /// The number of label values differs from the family's label names.
    LabelCount {
        /// Label names of the family.
        expected: usize,
        /// Values given.
        given: usize,
    },
    /// The HELP text is empty.
    MissingHelp {
        /// The metric name.
        name: String,
    },
    /// The HELP text is longer than [`MAX_HELP_BYTES`](metrics_rules::MAX_HELP_BYTES).
    InvalidHelp {
        /// The metric name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A histogram's buckets are empty, not finite, or not strictly increasing.
    InvalidBuckets {
        /// What is wrong.
        reason: String,
    },
    /// The name is already used (by another family, or one of its series names collides).
    DuplicateName {
        /// The colliding name.
        name: String,
    },
    /// The registry already holds `max_families` families.
    TooManyFamilies {
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for DynamicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidName { reason, .. } => f.write_str(reason),
            Self::InvalidLabelName { reason, .. } => f.write_str(reason),
            Self::InvalidLabelValue { label, reason } => write!(f, "label `{label}`: {reason}"),
            Self::InvalidValue { reason } => f.write_str(reason),
            Self::LabelCount { expected, given } => {
                write!(f, "{given} label values given; this family has {expected} labels")
            }
            Self::MissingHelp { name } => write!(f, "metric `{name}` has no HELP text; say what it measures"),
            Self::InvalidHelp { name, reason } => write!(f, "metric `{name}`: {reason}; shorten it"),
            Self::InvalidBuckets { reason } => f.write_str(reason),
            Self::DuplicateName { name } => write!(f, "metric name `{name}` is already used; choose another"),
            Self::TooManyFamilies { limit } => {
                write!(f, "the registry already holds its limit of {limit} families; raise `max_families`")
            }
        }
    }
}

impl std::error::Error for DynamicError {}

/// The key id of the overflow series' values (every label [`OVERFLOW_VALUE`]).
const OVERFLOW_ID: u32 = u32::MAX;
/// The overflow series' row: the first of every family, never in the index.
const OVERFLOW_ROW: u32 = 0;

struct SeriesLabels<'a> {
    family: &'a Family,
    row: u32,
}

impl SeriesLabels<'_> {
    fn values(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let words = self.family.words(self.row);
        self.family
            .label_names
            .iter()
            .enumerate()
            .map(move |(i, name)| (&**name, self.family.value_of(i, key(words, i))))
    }
}

impl Labels for SeriesLabels<'_> {
    fn len(&self) -> usize {
        self.family.label_names.len()
    }

    fn write_text(&self, out: &mut String) {
        crate::expose::push_label_text(out, self.values());
    }

    fn write_json(&self, out: &mut String) {
        for (i, (name, value)) in self.values().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(name);
            out.push_str("\":\"");
            push_json_str(out, value);
            out.push('"');
        }
    }

    fn pairs(&self, f: &mut dyn FnMut(&str, &str)) {
        for (name, value) in self.values() {
            f(name, value);
        }
    }
}

/// Text of a family's descriptor, owned by the family (freed with the registry).
struct DescText {
    name: Box<str>,
    family: Box<str>,
    help: Box<str>,
    help_text: Box<str>,
    help_om: Box<str>,
    help_json: Box<str>,
}

/// A family's series, each a fixed-size row: its label values as interned ids, its creation
/// time and (when eviction needs it) its last update; its value cell; a histogram's buckets.
/// No allocation per series beyond a new label value's string.
struct Family {
    text: DescText,
    kind: MetricKind,
    label_names: Box<[Box<str>]>,
    bounds: Box<[f64]>,
    le: Box<[Box<str>]>,
    /// Seeded at random per family, so that label values cannot be chosen to collide.
    hasher: foldhash::fast::FixedState,
    /// Whether rows record their last update (idle timeout or LRU eviction).
    activity: bool,
    /// Label values to rows.
    index: Index,
    /// Per row, in 8-byte words: two 32-bit keys a word: one id per label, the creation time
    /// (tenths of a second since the registry's start) and the low 32 bits of the values'
    /// hash ([`key`]), then with `activity` the update word ([`Family::touch_words`]). Written
    /// when a series is made (the update word once per maintenance generation), so that
    /// threads comparing keys share their cache lines.
    rows: Rows<AtomicU64>,
    /// Per row, the value cell: a counter's or gauge's value; for a histogram, a flag set once
    /// a negative value was recorded. Apart from the keys: an update writes its line, which
    /// would otherwise make another thread's next compare of those keys a miss.
    cells: Rows<AtomicU64>,
    /// Per row: a histogram's buckets (count and sum of each).
    buckets: Rows<BucketCell>,
    /// Interned values, per label.
    strings: Box<[Strings]>,
    /// What writers change, under one lock: new series, removals, maintenance, handle counts.
    state: Mutex<State>,
    max_rows: usize,
    shared: Arc<Shared>,
    /// Records that went to the overflow series.
    overflowed: AtomicU64,
    /// Set by [`BoundedRegistry::remove_family`]: handles left over create no series (they
    /// update the family's overflow series, which nothing reads).
    removed: AtomicBool,
}

/// The writers' side of a family.
#[derive(Default)]
struct State {
    index: IndexState,
    interners: Vec<Interner>,
    /// Rows handed out so far (the overflow series' included).
    rows: u32,
    free: Vec<u32>,
    /// One bit per row: in the index (exported).
    live: Vec<u64>,
    /// Handles ([`DynCounterSeries`]) held, per row; a held row is neither evicted nor reused.
    handles: HashMap<u32, u32>,
    /// Rows removed while held: reused once the last handle goes.
    orphans: HashSet<u32>,
    /// The CLOCK hand of [`Eviction::LeastRecentlyUsed`].
    hand: u32,
    /// Replaced index tables and removed rows, until no read can hold them.
    garbage: Garbage,
}

/// The rows whose bit is set, in order.
fn live_rows(bits: &[u64]) -> impl Iterator<Item = u32> + '_ {
    bits.iter().enumerate().flat_map(|(w, &word)| {
        let mut word = word;
        std::iter::from_fn(move || {
            (word != 0).then(|| {
                let bit = word.trailing_zeros();
                word &= word - 1;
                (w * 64) as u32 + bit
            })
        })
    })
}

impl State {
    fn is_live(&self, row: u32) -> bool {
        self.live.get(row as usize / 64).is_some_and(|w| w >> (row % 64) & 1 == 1)
    }

    fn set_live(&mut self, row: u32, live: bool) {
        let word = row as usize / 64;
        if self.live.len() <= word {
            self.live.resize(word + 1, 0);
        }
        if live {
            self.live[word] |= 1 << (row % 64);
        } else {
            self.live[word] &= !(1 << (row % 64));
        }
    }

    fn live_rows(&self) -> Vec<u32> {
        let mut rows = Vec::with_capacity(self.index.live());
        rows.extend(live_rows(&self.live));
        rows
    }

    fn held(&self, row: u32) -> bool {
        self.handles.contains_key(&row)
    }
}

impl Family {
    /// The descriptor, borrowing the family's text.
    fn desc(&self) -> MetricDesc<'_> {
        let t = &self.text;
        MetricDesc {
            name: &t.name,
            family: &t.family,
            kind: self.kind,
            help: &t.help,
            help_text: &t.help_text,
            help_om: &t.help_om,
            help_json: &t.help_json,
            unit: "",
            prefixes: &crate::read::PrefixTable::EMPTY,
            shape: &crate::read::MetricShape::EMPTY,
        }
    }

    /// Heap held by the family's own text and bounds.
    fn text_bytes(&self) -> usize {
        let t = &self.text;
        t.name.len()
            + t.family.len()
            + t.help.len()
            + t.help_om.len()
            + t.help_json.len()
            + self.label_names.iter().map(|l| l.len() + size_of::<Box<str>>()).sum::<usize>()
            + self.bounds.len() * 8
            + self.le.iter().map(|l| l.len() + size_of::<Box<str>>()).sum::<usize>()
    }

    /// The number of buckets of a series (the bounds and `+Inf` for a histogram).
    fn bucket_count(kind: MetricKind, bounds: &[f64]) -> usize {
        match kind {
            MetricKind::Counter | MetricKind::Gauge => 0,
            MetricKind::Histogram => bounds.len() + 1,
            MetricKind::Summary | MetricKind::Info => unreachable!("not offered at run time"),
        }
    }

    /// The text of label `label`'s value `id`.
    #[inline]
    fn value_of(&self, label: usize, id: u32) -> &str {
        if id == OVERFLOW_ID {
            OVERFLOW_VALUE
        } else {
            // SAFETY: `id` is a key of a row that was made: every key but the overflow
            // series' was interned (set) before its row was, and entries stay allocated.
            unsafe { self.strings[label].get(id) }
        }
    }

    /// Packs and hashes the label values of `query` (in place: a copy of the packed words
    /// would be loaded in wider pieces than they were stored, which stalls).
    #[inline(always)]
    fn prepare(&self, query: &mut Query<'_>) {
        let values = query.values;
        if query.short {
            for (slot, v) in query.packed.iter_mut().zip(values) {
                match Packed::short(v) {
                    Some(p) => *slot = p,
                    None => {
                        query.short = false;
                        break;
                    }
                }
            }
        }
        // The seeded hash of the values (the same values always take the same of the two
        // ways). Packed: two 128-bit words a value, one for its first 16 bytes and one for
        // the last words of two values (their length bytes separate values, so that
        // `["ab", "c"]` and `["a", "bc"]` differ). Otherwise: each value's bytes and a byte
        // that is not UTF-8.
        let mut h = self.hasher.build_hasher();
        if query.short {
            let packed = &query.packed[..values.len()];
            for p in packed {
                h.write_u128(u128::from(p.0[0]) | u128::from(p.0[1]) << 64);
            }
            for pair in packed.chunks(2) {
                h.write_u128(u128::from(pair[0].0[2]) | pair.get(1).map_or(0, |p| u128::from(p.0[2]) << 64));
            }
        } else {
            for v in values {
                h.write(v.as_bytes());
                h.write_u8(0xFF);
            }
        }
        query.hash = h.finish();
    }

    /// The low 32 bits of the hash of the series in `row` (kept in its row): enough to place
    /// it in the index (which has fewer than 2^32 slots), without reading its values again.
    fn row_hash(&self, row: u32) -> u64 {
        u64::from(self.stored_hash(self.words(row)))
    }

    /// The low 32 bits of the values' hash kept among a row's `words` (after the labels' ids
    /// and the creation time).
    #[inline]
    fn stored_hash(&self, words: &[AtomicU64]) -> u32 {
        key(words, self.label_names.len() + 1)
    }

    /// The hash of one label value, for the interners: of its packed words when it is short
    /// ([`packed_hash`](Self::packed_hash), which a lookup's packed values give without the
    /// string), of its bytes otherwise.
    fn value_hash(&self, value: &str) -> u64 {
        match Packed::short(value) {
            Some(packed) => self.packed_hash(&packed),
            None => self.hasher.hash_one(value),
        }
    }

    /// [`value_hash`](Self::value_hash) of a short value, from its packed words.
    #[inline]
    fn packed_hash(&self, packed: &Packed) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write_u128(u128::from(packed.0[0]) | u128::from(packed.0[1]) << 64);
        h.write_u64(packed.0[2]);
        h.finish()
    }

    /// [`find_words`](Self::find_words) out of line, for a creation that must probe again:
    /// the row and its id, or where the probe ended.
    #[cold]
    #[inline(never)]
    fn probe_again(&self, guard: &epoch::Guard, query: &Query<'_>) -> Result<(u32, u32), Vacant> {
        self.find_words(guard, query).map(|(row, id, _)| (row, id))
    }

    /// The live row holding the values of `query`, comparing them value by value.
    #[inline(always)]
    fn find(&self, guard: &epoch::Guard, query: &Query<'_>) -> Option<u32> {
        self.find_words(guard, query).ok().map(|(row, _, _)| row)
    }

    /// As [`find`](Self::find), with the row's id and words (found once, for the compare and
    /// the update); or where the probe ended, for an insert under the same guard.
    #[inline(always)]
    fn find_words(&self, guard: &epoch::Guard, query: &Query<'_>) -> Result<(u32, u32, &[AtomicU64]), Vacant> {
        // A loop of its own, not `find_map`: the compiler inlines it into the caller (the
        // `try_fold` of `find_map` it kept out of line, copying the query into its frame).
        let mut candidates = self.index.candidates(guard, query.hash);
        loop {
            let Some(id) = candidates.next() else { return Err(candidates.vacant()) };
            if let Some(found) = self.holds(id, query) {
                return Ok(found);
            }
        }
    }

    /// The row of `id` ([`store::id_of`]), the id and the row's words if it holds the values
    /// of `query`: for short values, three word compares each and one branch for them all.
    #[inline(always)]
    fn holds(&self, id: u32, query: &Query<'_>) -> Option<(u32, u32, &[AtomicU64])> {
        // SAFETY: `id` is from an index slot, which writers store after allocating its row.
        let words = unsafe { self.rows.by_id(id) };
        // Loops of their own rather than iterator adapters, which the compiler kept out of
        // line. The interners are one a label, as many as the query's values.
        let same_values = if query.short {
            let mut differ = 0;
            for (i, (strings, p)) in self.strings.iter().zip(&query.packed).enumerate() {
                // SAFETY: the row is in the index: its keys were interned before it was.
                differ |= unsafe { strings.differs(key(words, i), p) };
            }
            differ == 0
        } else {
            let mut all = true;
            for (i, (strings, v)) in self.strings.iter().zip(query.values).enumerate() {
                // SAFETY: as above.
                if !same(unsafe { strings.get(key(words, i)) }, v) {
                    all = false;
                    break;
                }
            }
            all
        };
        same_values.then(|| (store::index_of(id) as u32, id, words))
    }

    /// The words of `row`.
    #[inline(always)]
    fn words(&self, row: u32) -> &[AtomicU64] {
        self.rows.get(row as usize)
    }

    /// The value cell of `row`.
    #[inline]
    fn cell(&self, row: u32) -> &AtomicU64 {
        &self.cells.get(row as usize)[0]
    }

    /// The update word of `row`, when the family tracks activity.
    #[inline]
    fn activity_word(&self, row: u32) -> Option<&AtomicU64> {
        self.activity_in(self.words(row))
    }

    /// The update word among a row's `words`, when the family tracks activity: the last one.
    #[inline]
    fn activity_in<'w>(&self, words: &'w [AtomicU64]) -> Option<&'w AtomicU64> {
        self.activity.then(|| words.last().expect("a row has its cell"))
    }

    /// Notes an update of the row of `words`: its update word becomes the current maintenance
    /// generation with the "updated" bit. Reads first, so that a hot series writes it once per
    /// generation.
    #[inline]
    fn touch_words(&self, words: &[AtomicU64]) {
        if let Some(word) = self.activity_in(words) {
            touch(word, &self.shared.generation);
        }
    }

    /// Unlinks `row` from the index (writers): no longer exported; reused once no reader and
    /// no handle can reach it.
    fn unlink(&self, state: &mut State, row: u32) {
        if self.index.remove(&mut state.index, self.row_hash(row), row) {
            state.set_live(row, false);
            self.shared.total.fetch_sub(1, Relaxed);
            if state.held(row) {
                state.orphans.insert(row);
            } else {
                state.garbage.retire(Retired::Row(row));
            }
        }
    }

    /// Takes back the rows no read can hold any more (their label values released, ready for
    /// new series) and frees replaced index tables; see [`Garbage::collect`] for when.
    #[inline]
    fn collect_garbage(&self, state: &mut State, force: bool) {
        if state.garbage.is_empty() {
            return; // the common case of a new series: nothing waits (no call)
        }
        self.collect_waiting(state, force);
    }

    /// [`collect_garbage`](Self::collect_garbage) with something waiting.
    #[inline(never)]
    fn collect_waiting(&self, state: &mut State, force: bool) {
        let State { interners, free, garbage, .. } = state;
        garbage.collect(force, |row| {
            self.release_keys(interners, row, self.label_names.len());
            free.push(row);
        });
    }

    /// Drops the references of `row` to the interned values of its first `labels` labels.
    fn release_keys(&self, interners: &mut [Interner], row: u32, labels: usize) {
        let words = self.words(row);
        for (i, interner) in interners.iter_mut().enumerate().take(labels) {
            interner.release(&self.strings[i], |v| self.value_hash(v), key(words, i));
        }
    }

    /// A row for a new series of `values` (writers): reused or new, its keys written, its
    /// cells zero; `None` when the family's rows or label values are exhausted.
    fn new_row(&self, state: &mut State, query: &Query<'_>, created: u32) -> Option<u32> {
        let (values, hash) = (query.values, query.hash);
        if state.free.is_empty() && state.rows as usize >= self.max_rows {
            // Every row is live, held or waiting: take back those no read holds any more.
            self.collect_garbage(state, true);
        }
        let row = match state.free.pop() {
            Some(row) => row,
            None => {
                let i = state.rows as usize;
                // Rows are handed out in order: their segments are allocated at a segment's
                // first row (the three tables share the geometry).
                if i >= self.max_rows
                    || store::starts_segment(i)
                        && !(self.rows.ensure(i) && self.cells.ensure(i) && self.buckets.ensure(i))
                {
                    return None;
                }
                state.rows += 1;
                state.rows - 1
            }
        };
        let n = values.len();
        let words = self.words(row);
        for (i, v) in values.iter().enumerate() {
            // A lookup's packed value is its interned entry: hashed and compared as words.
            let packed = query.short.then(|| (&query.packed[i], self.packed_hash(&query.packed[i])));
            match state.interners[i].intern(&self.strings[i], |v| self.value_hash(v), v, packed) {
                Some(id) => set_key_in(words, i, id),
                None => {
                    self.release_keys(&mut state.interners, row, i);
                    state.free.push(row);
                    return None;
                }
            }
        }
        set_key_in(words, n, created);
        set_key_in(words, n + 1, hash as u32);
        self.touch_words(words); // made: updated in this generation
        self.cell(row).store(0, Relaxed);
        for b in self.buckets.get(row as usize) {
            b.clear();
        }
        Some(row)
    }

    /// The CLOCK sweep of [`Eviction::LeastRecentlyUsed`]: unlinks the first series the hand
    /// finds neither updated since it last passed (or since the last maintenance) nor held by
    /// a handle, giving updated ones a second chance. At most two turns; `false` when nothing
    /// could go.
    fn evict_one(&self, state: &mut State) -> bool {
        let updated = u64::from(self.shared.generation.load(Relaxed)) << 1 | 1;
        for _ in 0..2 * state.rows {
            let row = state.hand;
            state.hand = if row + 1 >= state.rows { 0 } else { row + 1 };
            if row == OVERFLOW_ROW || !state.is_live(row) || state.held(row) {
                continue;
            }
            let Some(word) = self.activity_word(row) else { return false };
            if word.load(Relaxed) == updated {
                word.store(updated & !1, Relaxed); // a second chance
                continue;
            }
            self.unlink(state, row);
            return true;
        }
        false
    }

    /// Heap held by the family (its text, rows, index, interned values and writer state).
    fn heap_bytes(&self) -> usize {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let rows = self.rows.heap_bytes() + self.cells.heap_bytes() + self.buckets.heap_bytes();
        let strings: usize = self.strings.iter().map(Strings::heap_bytes).sum::<usize>()
            + state.interners.iter().map(Interner::heap_bytes).sum::<usize>();
        let writer = state.garbage.heap_bytes()
            + (state.free.capacity() + state.live.capacity() * 2) * 4
            + (state.handles.capacity() * 9)
            + state.orphans.capacity() * 5;
        size_of::<Self>() + self.text_bytes() + rows + self.index.heap_bytes() + strings + writer
    }
}

/// Key `i` of a row's words: label `i`'s id for `i` below the label count, then the creation
/// time, then the hash.
#[inline(always)]
fn key(words: &[AtomicU64], i: usize) -> u32 {
    (words[i / 2].load(Relaxed) >> (32 * (i % 2))) as u32
}

/// Writes key `i` among a row's `words` (writers, before the row is published or once no
/// reader can hold it; see [`key`]).
#[inline(always)]
fn set_key_in(words: &[AtomicU64], i: usize, value: u32) {
    let word = &words[i / 2];
    let shift = 32 * (i % 2);
    let kept = word.load(Relaxed) & !(u64::from(u32::MAX) << shift);
    word.store(kept | u64::from(value) << shift, Relaxed);
}

/// Marks an update in `word` (see [`Family::touch_words`]).
#[inline(always)]
fn touch(word: &AtomicU64, generation: &AtomicU32) {
    let updated = u64::from(generation.load(Relaxed)) << 1 | 1;
    if word.load(Relaxed) != updated {
        word.store(updated, Relaxed);
    }
}

/// Shared state of the registry that families need when they create series.
struct Shared {
    config: BoundedConfig,
    total: AtomicUsize,
    /// [`coarse_ns`] at the registry's creation.
    start: u64,
    /// `start` in seconds since the Unix epoch.
    start_unix: f64,
    /// The creation rate limit as a generic cell rate algorithm (a token bucket of
    /// `max(rate, 1)` tokens refilled at `rate` per second, in one word): the theoretical
    /// arrival time of the next new series, ns since the start.
    next_series: AtomicU64,
    /// ns between new series at the limit (`u64::MAX` for a rate of 0).
    series_interval: u64,
    /// Records that went to an overflow series because of the rate limit.
    rate_limited: AtomicU64,
    evicted: AtomicU64,
    rejected: AtomicU64,
    /// The maintenance generation (31 bits): incremented by each [`BoundedRegistry::maintain`];
    /// a row's update word holds the generation of its last update.
    generation: AtomicU32,
    /// When each recent generation began (ms since the start), oldest first, for the idle
    /// timeout; and the lock that serializes maintenance.
    generations: Mutex<VecDeque<(u32, u64)>>,
}

impl Shared {
    /// Whether a new series may be made at `now` (ns since the start): one compare-and-swap
    /// (none without a limit).
    fn take_token(&self, now: u64) -> bool {
        let interval = self.series_interval;
        if interval == 0 {
            return true; // more than 10^9 per second: no limit
        }
        let burst = interval.saturating_mul(u64::from(self.config.max_new_series_per_sec.max(1)) - 1);
        let mut next = self.next_series.load(Relaxed);
        loop {
            if next > now.saturating_add(burst) {
                return false;
            }
            let after = next.max(now).saturating_add(interval);
            match self.next_series.compare_exchange_weak(next, after, Relaxed, Relaxed) {
                Ok(_) => return true,
                Err(seen) => next = seen,
            }
        }
    }

    /// ns since the start.
    fn now_ns(&self) -> u64 {
        coarse_ns().saturating_sub(self.start)
    }

    fn now_ms(&self) -> u64 {
        self.now_ns() / 1_000_000
    }
}

/// A monotonic clock in ns, read without the cycle counter: the kernel's coarse clock (a few ms
/// of resolution, about half the cost of a precise reading under a hypervisor) on Linux,
/// [`Instant`](std::time::Instant) elsewhere. Enough for creation times in tenths of a second,
/// the creation rate limit and idle timeouts.
fn coarse_ns() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable `timespec`; CLOCK_MONOTONIC_COARSE exists since
        // Linux 2.6.32 and cannot fail with a valid pointer.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
        (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
    }
    #[cfg(not(target_os = "linux"))]
    {
        static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        ORIGIN.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
    }
}

/// Tenths of a second since the start at `ns`, the creation time kept per series (13 years in
/// 32 bits).
fn tenths(ns: u64) -> u32 {
    u32::try_from(ns / 100_000_000).unwrap_or(u32::MAX)
}

/// A registry of metric families created at run time, bounded in series, families and
/// creation rate.
///
/// # Examples
///
/// ```
/// use metrics_runtime::Metrics;
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
///
/// let registry = BoundedRegistry::new(BoundedConfig { max_series_per_family: 2, ..Default::default() });
/// let hits = registry.counter("tenant_hits_total", "Hits by tenant.", &["tenant"]).unwrap();
/// hits.inc(&["acme"]).unwrap();
/// hits.inc(&["globex"]).unwrap();
/// hits.inc(&["initech"]).unwrap(); // past the cap: goes to the overflow series
/// assert!(hits.inc(&[""]).is_err()); // empty label values are refused
/// let text = registry.render_prometheus();
/// assert!(text.contains("tenant_hits_total{tenant=\"acme\"} 1\n"));
/// assert!(text.contains("tenant_hits_total{tenant=\"__overflow__\"} 1\n"));
/// assert_eq!(hits.overflowed(), 1);
/// assert!(registry.counter("bad-name_total", "x", &[]).is_err());
/// ```
pub struct BoundedRegistry {
    shared: Arc<Shared>,
    families: RwLock<Vec<Arc<Family>>>,
    names: Mutex<HashSet<String>>,
    own: OwnMetrics,
}

/// The registry's own counters, exported with its families.
#[derive(crate::Metrics)]
#[metrics(namespace = "metrics_runtime_dynamic")]
struct OwnMetrics {
    /// Records that went to an overflow series because a series cap was reached.
    overflow_records_total: crate::Counter,
    /// Records that went to an overflow series because of the series creation rate limit.
    rate_limited_records_total: crate::Counter,
    /// Idle series removed by maintenance.
    evicted_series_total: crate::Counter,
    /// Updates refused for an invalid label value (nothing recorded).
    rejected_updates_total: crate::Counter,
    /// Series held, overflow series excluded.
    series: crate::Gauge,
    /// Heap held by the registry's series, in bytes (an estimate of the map overhead included).
    #[metric(unit = "bytes")]
    memory_bytes: crate::Gauge,
}

impl BoundedRegistry {
    /// An empty registry with these limits.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// assert_eq!(registry.series_count(), 0);
    /// // Its own metrics are exported from the start.
    /// assert!(registry.render_prometheus().contains("metrics_runtime_dynamic_overflow_records_total 0\n"));
    /// ```
    pub fn new(config: BoundedConfig) -> Self {
        let config_rate = config.max_new_series_per_sec;
        let start = coarse_ns();
        let shared = Shared {
            config,
            total: AtomicUsize::new(0),
            start,
            start_unix: crate::read::now_unix(),
            next_series: AtomicU64::new(0),
            series_interval: match config_rate {
                0 => u64::MAX,
                rate => 1_000_000_000 / u64::from(rate),
            },
            rate_limited: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            generation: AtomicU32::new(0),
            generations: Mutex::new(VecDeque::new()),
        };
        let mut names = HashSet::new();
        for d in OwnMetrics::new().descriptors() {
            names.extend(d.kind.exposed_names(d.name));
        }
        Self {
            shared: Arc::new(shared),
            families: RwLock::new(Vec::new()),
            names: Mutex::new(names),
            own: OwnMetrics::new(),
        }
    }

    /// Refuses the names another source already exposes (for example a [`Registry`](crate::Registry)
    /// of derived structs that renders beside this one).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Metrics};
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, DynamicError};
    ///
    /// #[derive(Metrics)]
    /// struct App {
    ///     /// Requests served.
    ///     requests_total: Counter,
    /// }
    /// static APP: App = App::new();
    ///
    /// let dynamic = BoundedRegistry::new(BoundedConfig::default());
    /// let taken: Vec<String> = APP.descriptors().iter().flat_map(|d| d.kind.exposed_names(d.name)).collect();
    /// dynamic.reserve_names(taken.iter().map(String::as_str));
    /// let err = dynamic.counter("requests_total", "Requests.", &["tenant"]).unwrap_err();
    /// assert_eq!(err, DynamicError::DuplicateName { name: "requests_total".into() });
    /// ```
    pub fn reserve_names<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        let mut set = self.names.lock().unwrap_or_else(|p| p.into_inner());
        set.extend(names.into_iter().map(str::to_owned));
    }

    fn family(
        &self,
        kind: MetricKind,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> Result<Arc<Family>, DynamicError> {
        let too_long = |what: &str, text: &str, limit| metrics_rules::check_length(what, text, limit);
        too_long("the metric name", name, metrics_rules::MAX_NAME_BYTES)
            .map_err(|reason| DynamicError::InvalidName { name: name.chars().take(64).collect(), reason })?;
        metrics_rules::check_metric(kind, name, name)
            .map_err(|reason| DynamicError::InvalidName { name: name.to_owned(), reason })?;
        if help.trim().is_empty() {
            return Err(DynamicError::MissingHelp { name: name.to_owned() });
        }
        too_long("the HELP text", help.trim(), metrics_rules::MAX_HELP_BYTES)
            .map_err(|reason| DynamicError::InvalidHelp { name: name.to_owned(), reason })?;
        for (i, label) in labels.iter().enumerate() {
            too_long("the label name", label, metrics_rules::MAX_NAME_BYTES)
                .map_err(|reason| DynamicError::InvalidLabelName { name: label.chars().take(64).collect(), reason })?;
            metrics_rules::check_label_name(label)
                .map_err(|reason| DynamicError::InvalidLabelName { name: (*label).to_owned(), reason })?;
            if labels[..i].contains(label) {
                return Err(DynamicError::InvalidLabelName {
                    name: (*label).to_owned(),
                    reason: format!("label `{label}` is given twice"),
                });
            }
        }
        if kind == MetricKind::Histogram {
            if buckets.is_empty() {
                return Err(DynamicError::InvalidBuckets {
                    reason: "buckets are empty; give at least one bound".into(),
                });
            }
            if buckets.iter().any(|b| !b.is_finite()) || buckets.windows(2).any(|w| w[0] >= w[1]) {
                return Err(DynamicError::InvalidBuckets {
                    reason: "buckets must be finite and strictly increasing".into(),
                });
            }
        }
        let mut families = self.families.write().unwrap_or_else(|p| p.into_inner());
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let exposed = kind.exposed_names(name);
        if let Some(taken) = exposed.iter().find(|n| names.contains(*n)) {
            return Err(DynamicError::DuplicateName { name: taken.clone() });
        }
        if families.len() >= self.shared.config.max_families {
            return Err(DynamicError::TooManyFamilies { limit: self.shared.config.max_families });
        }
        names.extend(exposed);
        let family_name = kind.family_name(name);
        let text = DescText {
            name: name.into(),
            family: family_name.into(),
            help: help.trim().into(),
            help_text: metrics_rules::escape_help(help.trim()).into(),
            help_om: metrics_rules::escape_help_om(help.trim()).into(),
            help_json: metrics_rules::escape_json(help.trim()).into(),
        };
        let config = &self.shared.config;
        let n = labels.len();
        // Every series of the cap, with room for rows removed but still held or not yet
        // reclaimed (allocated only when used); the index refers to at most `MAX_ROWS`.
        let cap = config.max_series_per_family.min(store::MAX_ROWS);
        let max_rows = cap.saturating_add(cap.max(4096)).min(store::MAX_ROWS);
        let activity = config.idle_timeout.is_some() || config.eviction == Eviction::LeastRecentlyUsed;
        let nb = Family::bucket_count(kind, buckets);
        let family = Family {
            text,
            kind,
            label_names: labels.iter().map(|l| Box::<str>::from(*l)).collect(),
            bounds: buckets.into(),
            le: buckets.iter().map(|b| metrics_rules::float_text(*b).into_boxed_str()).collect(),
            hasher: foldhash::fast::FixedState::with_seed(
                std::collections::hash_map::RandomState::new().hash_one(0u64),
            ),
            activity,
            index: Index::new(),
            rows: Rows::new((n + 2).div_ceil(2) + usize::from(activity), max_rows, || AtomicU64::new(0)),
            cells: Rows::new(1, max_rows, || AtomicU64::new(0)),
            buckets: Rows::new(nb, max_rows, || BucketCell::INIT),
            strings: (0..n).map(|_| Strings::new(max_rows)).collect(),
            state: Mutex::new(State {
                interners: (0..n).map(|_| Interner::default()).collect(),
                rows: 1,
                ..State::default()
            }),
            max_rows,
            shared: Arc::clone(&self.shared),
            overflowed: AtomicU64::new(0),
            removed: AtomicBool::new(false),
        };
        // The overflow series: row 0, every value `OVERFLOW_VALUE`, created with the registry.
        let _ = (family.rows.ensure(0), family.cells.ensure(0), family.buckets.ensure(0));
        let words = family.words(OVERFLOW_ROW);
        for i in 0..n {
            set_key_in(words, i, OVERFLOW_ID);
        }
        let family = Arc::new(family);
        families.push(Arc::clone(&family));
        Ok(family)
    }

    /// Creates a counter family; its name must end in `_total`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let events = registry.counter("queue_events_total", "Events, by queue.", &["queue"]).unwrap();
    /// events.add(&["billing"], 3).unwrap();
    /// assert!(registry.render_prometheus().contains("queue_events_total{queue=\"billing\"} 3\n"));
    /// assert!(registry.counter("queue_events", "Events.", &[]).is_err()); // no `_total`
    /// ```
    ///
    /// # Errors
    ///
    /// [`DynamicError`] for a name or label name that breaks the rules, an empty HELP, a name
    /// already used, or too many families.
    pub fn counter(&self, name: &str, help: &str, labels: &[&str]) -> Result<DynCounter, DynamicError> {
        Ok(DynCounter(Handle {
            family: self.family(MetricKind::Counter, name, help, labels, &[])?,
            shared: Arc::clone(&self.shared),
        }))
    }

    /// Creates a gauge family.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let depth = registry.gauge("queue_depth", "Jobs waiting, by queue.", &["queue"]).unwrap();
    /// depth.set(&["billing"], 12.0).unwrap();
    /// assert!(registry.render_prometheus().contains("queue_depth{queue=\"billing\"} 12.0\n"));
    /// ```
    ///
    /// # Errors
    ///
    /// As [`BoundedRegistry::counter`].
    pub fn gauge(&self, name: &str, help: &str, labels: &[&str]) -> Result<DynGauge, DynamicError> {
        Ok(DynGauge(Handle {
            family: self.family(MetricKind::Gauge, name, help, labels, &[])?,
            shared: Arc::clone(&self.shared),
        }))
    }

    /// Creates a histogram family with the given bucket bounds.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let sizes = registry.histogram("upload_bytes", "Upload sizes, by tenant.", &["tenant"], &[1e3, 1e6]).unwrap();
    /// sizes.record(&["acme"], 5e5).unwrap();
    /// let text = registry.render_prometheus();
    /// assert!(text.contains("upload_bytes_bucket{tenant=\"acme\",le=\"1000.0\"} 0\n"));
    /// assert!(text.contains("upload_bytes_count{tenant=\"acme\"} 1\n"));
    /// assert!(registry.histogram("download_bytes", "Download sizes.", &[], &[]).is_err()); // no buckets
    /// ```
    ///
    /// # Errors
    ///
    /// As [`BoundedRegistry::counter`], and [`DynamicError::InvalidBuckets`].
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> Result<DynHistogram, DynamicError> {
        let family = self.family(MetricKind::Histogram, name, help, labels, buckets)?;
        Ok(DynHistogram(Handle { family, shared: Arc::clone(&self.shared) }))
    }

    /// Series held, overflow series excluded.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig { max_series_per_family: 2, ..BoundedConfig::default() });
    /// let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    /// for tenant in ["a", "b", "c", "a"] {
    ///     hits.inc(&[tenant]).unwrap();
    /// }
    /// assert_eq!(registry.series_count(), 2); // `c` went to the overflow series, which is not counted
    /// ```
    pub fn series_count(&self) -> usize {
        self.shared.total.load(Relaxed)
    }

    /// Heap held by the families (their names, HELP, label names and bounds), their series
    /// and maps, in bytes. All of it is freed when the registry is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    /// hits.inc(&["acme"]).unwrap();
    /// let one = registry.memory_bytes();
    /// for i in 0..100 {
    ///     hits.inc(&[&format!("tenant-{i}")]).unwrap();
    /// }
    /// assert!(registry.memory_bytes() > one);
    /// ```
    ///
    /// # Performance
    ///
    /// Takes each family's lock in turn, briefly: for scrapes and diagnostics.
    pub fn memory_bytes(&self) -> usize {
        let families = self.families.read().unwrap_or_else(|p| p.into_inner());
        families.iter().map(|f| f.heap_bytes()).sum::<usize>() + families.capacity() * size_of::<Arc<Family>>()
    }

    /// Removes the family `name` and all its series; whether there was one. Its names are free
    /// again (a family of another kind or labels may take them). Handles to it still work, but
    /// what they record is no longer read.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    /// use metrics_runtime::Metrics;
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let jobs = registry.counter("tenant_jobs_total", "Jobs, by tenant.", &["tenant"]).unwrap();
    /// jobs.inc(&["acme"]).unwrap();
    /// assert!(registry.remove_family("tenant_jobs_total"));
    /// assert_eq!(registry.series_count(), 0);
    /// assert!(!registry.render_prometheus().contains("tenant_jobs"));
    /// // The name is free again, for another kind too.
    /// assert!(registry.gauge("tenant_jobs", "Jobs waiting, by tenant.", &["tenant"]).is_ok());
    /// ```
    pub fn remove_family(&self, name: &str) -> bool {
        let mut families = self.families.write().unwrap_or_else(|p| p.into_inner());
        let Some(at) = families.iter().position(|f| &*f.text.name == name) else { return false };
        let family = families.remove(at);
        family.removed.store(true, Relaxed);
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        for exposed in family.kind.exposed_names(name) {
            names.remove(&exposed);
        }
        let state = family.state.lock().unwrap_or_else(|p| p.into_inner());
        self.shared.total.fetch_sub(state.index.live(), Relaxed);
        true
    }

    /// The maintenance step: removes the series that no update reached for `idle_timeout`.
    ///
    /// Each call notes which series were updated since the previous call; a series not
    /// updated across calls spanning at least `idle_timeout` is removed (and counted in
    /// `evicted_series_total`), unless the application still holds a handle to it. Reads
    /// (scrapes, snapshots, pushes) never remove anything: run this on a schedule of your own,
    /// or let the HTTP server ([`Registry::maintain`](crate::Registry::maintain), after each
    /// render) and the exporters (after each flush) run it. Choose an `idle_timeout` longer
    /// than every reader's interval, so that each has read a series' last value before it goes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry =
    ///     BoundedRegistry::new(BoundedConfig { idle_timeout: Some(Duration::from_millis(20)), ..BoundedConfig::default() });
    /// let jobs = registry.counter("tenant_jobs_total", "Jobs, by tenant.", &["tenant"]).unwrap();
    /// jobs.inc(&["acme"]).unwrap();
    /// registry.maintain(); // updated since the last call: kept
    /// assert_eq!(registry.series_count(), 1);
    /// assert!(registry.render_prometheus().contains("tenant_jobs_total{tenant=\"acme\"} 1\n"));
    /// std::thread::sleep(Duration::from_millis(30));
    /// registry.maintain(); // no update for longer than the timeout
    /// assert_eq!(registry.series_count(), 0);
    /// ```
    ///
    /// # Performance
    ///
    /// Starts a new maintenance generation (one store): for [`Eviction::LeastRecentlyUsed`],
    /// every series updated before it counts as not recently updated. With an `idle_timeout`,
    /// it then takes each family's lock in turn to sweep its series; updates of existing series
    /// never wait for it.
    pub fn maintain(&self) {
        let shared = &*self.shared;
        let mut generations = shared.generations.lock().unwrap_or_else(|p| p.into_inner());
        let now = shared.now_ms();
        let ended = shared.generation.load(Relaxed);
        let next = (ended + 1) & (u32::MAX >> 1);
        // From here on an update marks the new generation: what no update reaches until the
        // next call counts as not recently updated.
        shared.generation.store(next, Relaxed);
        // The generation before which a series not updated since is idle; 0: none is (no idle
        // timeout, or no generation that old yet).
        let cut = match shared.config.idle_timeout {
            None => 0,
            Some(timeout) => {
                generations.push_back((next, now));
                // The latest generation that began at least `timeout` ago: a series last
                // updated before it (its generation ended when that one began, or earlier) is
                // idle.
                let timeout = timeout.as_millis() as u64;
                let cut =
                    generations.iter().rev().find(|(_, at)| now.saturating_sub(*at) >= timeout).map_or(0, |(g, _)| *g);
                while generations.front().is_some_and(|(g, _)| *g < cut) {
                    generations.pop_front();
                }
                cut
            }
        };
        let updated = u64::from(ended) << 1 | 1;
        let families = self.families.read().unwrap_or_else(|p| p.into_inner());
        for f in families.iter() {
            let mut state = f.state.lock().unwrap_or_else(|p| p.into_inner());
            let mut removed = 0u64;
            let rows = if cut > 0 { state.live_rows() } else { Vec::new() };
            for row in rows {
                let word = f.activity_word(row).expect("an idle timeout tracks activity").load(Relaxed);
                // Updated in the generation that just ended, or earlier than `cut`.
                let idle = word != updated && (word >> 1) < u64::from(cut);
                // A handle still held by the application keeps the series: its updates must
                // not go to a series that no read will ever see.
                if idle && !state.held(row) {
                    f.unlink(&mut state, row);
                    removed += 1;
                }
            }
            if removed > 0 {
                shared.evicted.fetch_add(removed, Relaxed);
            }
            f.collect_garbage(&mut state, true);
        }
    }
}

impl fmt::Debug for BoundedRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedRegistry")
            .field("config", &self.shared.config)
            .field("series", &self.series_count())
            .finish()
    }
}

impl Metrics for BoundedRegistry {
    /// Only the registry's own metrics: families are created at run time and check their names
    /// against each other (and [`BoundedRegistry::reserve_names`]) when created.
    fn descriptors(&self) -> &'static [MetricDesc<'static>] {
        self.own.descriptors()
    }

    fn heap_bytes(&self) -> usize {
        BoundedRegistry::memory_bytes(self)
    }

    fn visit(&self, visitor: &mut dyn Visitor) {
        let families: Vec<Arc<Family>> = self.families.read().unwrap_or_else(|p| p.into_inner()).clone();
        let start = self.shared.start_unix;
        for f in &families {
            let desc = f.desc();
            visitor.begin_metric(&desc);
            // The rows exported, taken under the lock (no duplicate while a series is removed
            // and made again), read under the guard (none is reused meanwhile).
            let guard = epoch::pin();
            let mut rows = f.state.lock().unwrap_or_else(|p| p.into_inner()).live_rows();
            if f.overflowed.load(Relaxed) > 0 {
                rows.push(OVERFLOW_ROW);
            }
            let mut counts = vec![0; Family::bucket_count(f.kind, &f.bounds)];
            for (index, &row) in rows.iter().enumerate() {
                let labels = SeriesLabels { family: f, row };
                let tenths = key(f.words(row), f.label_names.len());
                let at = ReadSeries { index, labels: &labels, created: start + f64::from(tenths) / 10.0 };
                let cell = f.cell(row).load(Relaxed);
                match f.kind {
                    MetricKind::Counter => visitor.counter(&desc, at, cell),
                    MetricKind::Gauge => visitor.gauge(&desc, at, f64::from_bits(cell)),
                    MetricKind::Histogram => {
                        let sum = read_buckets(f.buckets.get(row as usize), &mut counts);
                        let negative = cell != 0 || f.bounds.first().is_some_and(|b| *b < 0.0);
                        let read = HistogramRead {
                            bounds: &f.bounds,
                            le: BoundTexts::Owned(&f.le),
                            counts: &counts,
                            sum,
                            negative,
                            exemplars: &[],
                        };
                        visitor.histogram(&desc, at, &read);
                    }
                    MetricKind::Summary | MetricKind::Info => unreachable!("not offered at run time"),
                }
            }
            drop(guard);
            visitor.end_metric(&desc);
        }
        // The registry's own metrics, computed for this read (nothing is stored).
        let overflowed: u64 = families.iter().map(|f| f.overflowed.load(Relaxed)).sum();
        let rate_limited = self.shared.rate_limited.load(Relaxed);
        let counters = [
            overflowed.saturating_sub(rate_limited),
            rate_limited,
            self.shared.evicted.load(Relaxed),
            self.shared.rejected.load(Relaxed),
        ];
        let gauges = [self.series_count() as f64, self.memory_bytes() as f64];
        let created = crate::read::process_start_time();
        let labels = crate::read::StaticLabels::<()>::new(0);
        for (i, desc) in self.own.descriptors().iter().enumerate() {
            visitor.begin_metric(desc);
            let at = ReadSeries { index: 0, labels: &labels, created };
            match counters.get(i) {
                Some(value) => visitor.counter(desc, at, *value),
                None => visitor.gauge(desc, at, gauges[i - counters.len()]),
            }
            visitor.end_metric(desc);
        }
    }

    fn maintain(&self) {
        BoundedRegistry::maintain(self);
    }
}

/// Label values packed for a lookup: a family of up to this many labels compares short values
/// as packed words.
const PACKED: usize = 4;

/// The label values of one lookup, hashed and (when short) packed once.
struct Query<'v> {
    values: &'v [&'v str],
    /// The first [`PACKED`] values, packed, when they all are short.
    packed: [Packed; PACKED],
    /// Every value packed (short, and no more than [`PACKED`] of them).
    short: bool,
    hash: u64,
}

impl<'v> Query<'v> {
    /// A query of `values`, to [`prepare`](Family::prepare).
    #[inline(always)]
    fn new(values: &'v [&'v str]) -> Self {
        Self { values, packed: [Packed([0; 3]); PACKED], short: values.len() <= PACKED, hash: 0 }
    }
}

/// What dynamic handles share.
#[derive(Clone)]
struct Handle {
    family: Arc<Family>,
    shared: Arc<Shared>,
}

impl Handle {
    /// Runs `f` on the row for `values` (found, created, or the overflow series), marked
    /// updated, and its value cell. An existing series is found without a lock or a shared
    /// write: a hash of the values, a guard (a store on the thread's own line), a probe of the
    /// index, the values compared.
    #[inline]
    fn update<R>(&self, values: &[&str], f: impl FnOnce(&Family, u32, &AtomicU64) -> R) -> Result<R, DynamicError> {
        let fam = &*self.family;
        if values.len() != fam.label_names.len() {
            self.shared.rejected.fetch_add(1, Relaxed);
            return Err(DynamicError::LabelCount { expected: fam.label_names.len(), given: values.len() });
        }
        let mut query = Query::new(values);
        fam.prepare(&mut query);
        // Held until `f` is done: the row is not reused meanwhile, even if removed.
        let guard = epoch::pin();
        // Before the probe: a creation that finds it unchanged need not probe again.
        let seen = fam.index.inserts();
        let (row, id, words) = match fam.find_words(&guard, &query) {
            Ok(found) => found,
            Err(vacant) => {
                let (row, id) = self.create(&guard, &query, seen, vacant)?;
                // SAFETY: `create` gives the id of a row it allocated (or the overflow row's).
                (row, id, unsafe { fam.rows.by_id(id) })
            }
        };
        fam.touch_words(words);
        // SAFETY: the id of a row found or made above: its cell is allocated with it.
        let out = f(fam, row, unsafe { fam.cells.one_by_id(id) });
        drop(guard);
        Ok(out)
    }

    /// Checks `values` for a new series.
    fn check_values(&self, values: &[&str]) -> Result<(), DynamicError> {
        for (label, value) in self.family.label_names.iter().zip(values) {
            let reserved = || {
                format!("label value `{OVERFLOW_VALUE}` is reserved for the family's overflow series; choose another")
            };
            let checked = metrics_rules::check_label_value(value).and_then(|()| {
                if *value == OVERFLOW_VALUE {
                    Err(reserved())
                } else {
                    Ok(())
                }
            });
            if let Err(reason) = checked {
                self.shared.rejected.fetch_add(1, Relaxed);
                return Err(DynamicError::InvalidLabelValue { label: label.to_string(), reason });
            }
        }
        Ok(())
    }

    /// The row (and its id) of a series not found by a probe under `guard` that began when
    /// the index had had `seen` entries added and ended at `vacant`: made (within the caps and
    /// the rate), found under the lock (made meanwhile), or the overflow series.
    #[cold]
    fn create(
        &self,
        guard: &epoch::Guard,
        query: &Query<'_>,
        seen: u64,
        mut vacant: Vacant,
    ) -> Result<(u32, u32), DynamicError> {
        let (values, hash) = (query.values, query.hash);
        self.check_values(values)?;
        let f = &*self.family;
        let overflow = Ok((OVERFLOW_ROW, store::id_of(OVERFLOW_ROW as usize)));
        let mut state = f.state.lock().unwrap_or_else(|p| p.into_inner());
        // Searched again only if an entry came in since the probe began: otherwise that probe
        // saw every entry (entries come in under this lock, counted after they are stored).
        if f.index.inserts() != seen {
            match f.probe_again(guard, query) {
                Ok(found) => return Ok(found),
                Err(now) => vacant = now,
            }
        }
        if f.removed.load(Relaxed) {
            return overflow;
        }
        f.collect_garbage(&mut state, false);
        let config = &self.shared.config;
        let full = |state: &State| {
            state.index.live() >= config.max_series_per_family
                || self.shared.total.load(Relaxed) >= config.max_series_total
        };
        if full(&state) {
            if config.eviction == Eviction::LeastRecentlyUsed && f.evict_one(&mut state) {
                self.shared.evicted.fetch_add(1, Relaxed);
            }
            if full(&state) {
                f.overflowed.fetch_add(1, Relaxed);
                return overflow;
            }
        }
        let now = self.shared.now_ns();
        if !self.shared.take_token(now) {
            f.overflowed.fetch_add(1, Relaxed);
            self.shared.rate_limited.fetch_add(1, Relaxed);
            return overflow;
        }
        let Some(row) = f.new_row(&mut state, query, tenths(now)) else {
            // Rows exhausted by series removed but held, or not yet reclaimed.
            f.overflowed.fetch_add(1, Relaxed);
            return overflow;
        };
        let id = store::id_of(row as usize);
        let State { index, live, garbage, .. } = &mut *state;
        let entries = || f.rows.walk(live_rows(live).map(|r| r as usize)).map(|(id, words)| (id, f.stored_hash(words)));
        f.index.insert(index, garbage, hash, id, Some(vacant), entries);
        state.set_live(row, true);
        self.shared.total.fetch_add(1, Relaxed);
        Ok((row, id))
    }

    /// The row for `values`, held: not evicted nor reused while the returned [`Held`] lives.
    fn hold(&self, values: &[&str]) -> Result<Held, DynamicError> {
        loop {
            // Counted under the lock while `update`'s guard still keeps the row from being
            // reused: a row still live there is still this series.
            let counted = self.update(values, |fam, row, _| {
                if row == OVERFLOW_ROW {
                    return Some(row);
                }
                let mut state = fam.state.lock().unwrap_or_else(|p| p.into_inner());
                state.is_live(row).then(|| {
                    *state.handles.entry(row).or_insert(0) += 1;
                    row
                })
            })?;
            // `None`: removed between the lookup and the lock; look again.
            if let Some(row) = counted {
                return Ok(Held::new(Arc::clone(&self.family), row));
            }
        }
    }

    /// Removes the series of `values`; whether there was one. A handle to it still works, but
    /// what it records is no longer read.
    fn remove(&self, values: &[&str]) -> bool {
        let f = &*self.family;
        if values.len() != f.label_names.len() {
            return false;
        }
        let mut query = Query::new(values);
        f.prepare(&mut query);
        let guard = epoch::pin();
        let mut state = f.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(row) = f.find(&guard, &query) else { return false };
        f.unlink(&mut state, row);
        true
    }

    fn overflowed(&self) -> u64 {
        self.family.overflowed.load(Relaxed)
    }

    /// Runs `f` on every exported row (the overflow series' included once it was used).
    fn for_each_row(&self, mut f: impl FnMut(&Family, u32)) {
        let fam = &*self.family;
        let guard = epoch::pin();
        let rows = fam.state.lock().unwrap_or_else(|p| p.into_inner()).live_rows();
        for row in rows.into_iter().chain(std::iter::once(OVERFLOW_ROW)) {
            f(fam, row);
        }
        drop(guard);
    }
}

/// A held row: counted in its family's handles, so that it is neither evicted nor reused.
struct Held {
    family: Arc<Family>,
    row: u32,
    /// The row's value cell and update word, which do not move while the row is held.
    value: NonNull<AtomicU64>,
    activity: Option<NonNull<AtomicU64>>,
}

// SAFETY: the pointers are to atomics inside the family's rows, which the `Arc` keeps alive and
// the handle count keeps from being reused; atomics are shared between threads by design.
unsafe impl Send for Held {}
// SAFETY: as above.
unsafe impl Sync for Held {}

impl Held {
    fn new(family: Arc<Family>, row: u32) -> Self {
        let value = NonNull::from(family.cell(row));
        let activity = family.activity_word(row).map(NonNull::from);
        Self { family, row, value, activity }
    }

    #[inline]
    fn value(&self) -> &AtomicU64 {
        // SAFETY: see the type: the row is held, the family alive.
        unsafe { self.value.as_ref() }
    }

    #[inline]
    fn touch(&self) {
        if let Some(word) = self.activity {
            // SAFETY: as in `value`.
            touch(unsafe { word.as_ref() }, &self.family.shared.generation);
        }
    }
}

impl Clone for Held {
    fn clone(&self) -> Self {
        if self.row != OVERFLOW_ROW {
            let mut state = self.family.state.lock().unwrap_or_else(|p| p.into_inner());
            *state.handles.entry(self.row).or_insert(0) += 1;
        }
        Self { family: Arc::clone(&self.family), row: self.row, value: self.value, activity: self.activity }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.row == OVERFLOW_ROW {
            return;
        }
        let f = &*self.family;
        let mut state = f.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(count) = state.handles.get_mut(&self.row) else { return };
        *count -= 1;
        if *count == 0 {
            state.handles.remove(&self.row);
            if state.orphans.remove(&self.row) {
                state.garbage.retire(Retired::Row(self.row));
            }
        }
    }
}

/// A counter family of a [`BoundedRegistry`].
///
/// # Examples
///
/// ```
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
///
/// let registry = BoundedRegistry::new(BoundedConfig::default());
/// let requests = registry.counter("tenant_requests_total", "Requests, by tenant.", &["tenant"]).unwrap();
/// let for_worker = requests.clone(); // handles share the family
/// for_worker.inc(&["acme"]).unwrap();
/// requests.add(&["acme"], 2).unwrap();
/// assert_eq!(requests.total(), 3);
/// ```
#[derive(Clone)]
pub struct DynCounter(Handle);

/// One series of a [`DynCounter`] (possibly the overflow series), to update without a lookup.
///
/// # Examples
///
/// ```
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, DynCounterSeries};
///
/// let registry = BoundedRegistry::new(BoundedConfig::default());
/// let requests = registry.counter("tenant_requests_total", "Requests, by tenant.", &["tenant"]).unwrap();
/// let acme: DynCounterSeries = requests.with(&["acme"]).unwrap(); // one lookup
/// for _ in 0..10 {
///     acme.inc(); // no hashing, no lock
/// }
/// assert_eq!(acme.get(), 10);
/// assert_eq!(requests.total(), 10);
/// ```
#[derive(Clone)]
pub struct DynCounterSeries(Held);

impl DynCounter {
    /// Removes the series of `values` (the Prometheus clients' `DeleteLabelValues`); whether
    /// there was one. It is no longer exposed, and a new update of the same values starts a
    /// new series (its `_created` anew). A handle to the removed series still works, but what
    /// it records is no longer read. The overflow series cannot be removed.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    /// use metrics_runtime::Metrics;
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let f = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    /// f.inc(&["acme"]).unwrap();
    /// assert!(f.remove(&["acme"]));
    /// assert!(!f.remove(&["acme"])); // gone already
    /// assert_eq!(registry.series_count(), 0);
    /// assert!(!registry.render_prometheus().contains("acme"));
    /// ```
    pub fn remove(&self, values: &[&str]) -> bool {
        self.0.remove(values)
    }

    /// The series for `values` (one per label, in order).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, DynamicError};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let bytes = registry.counter("tenant_bytes_total", "Bytes, by tenant and direction.", &["tenant", "direction"]).unwrap();
    /// let acme_in = bytes.with(&["acme", "in"]).unwrap();
    /// acme_in.add(512);
    /// assert_eq!(bytes.with(&["acme", "in"]).unwrap().get(), 512); // the same series
    /// assert_eq!(bytes.with(&["acme"]).unwrap_err(), DynamicError::LabelCount { expected: 2, given: 1 });
    /// ```
    ///
    /// # Errors
    ///
    /// [`DynamicError::LabelCount`] or [`DynamicError::InvalidLabelValue`]; nothing is recorded.
    ///
    /// # Performance
    ///
    /// Finds the series as [`DynCounter::inc`] does, then counts the handle under the family's
    /// lock (a held series is neither evicted nor reused while the handle lives).
    pub fn with(&self, values: &[&str]) -> Result<DynCounterSeries, DynamicError> {
        self.0.hold(values).map(DynCounterSeries)
    }

    /// Adds one to the series for `values`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let logins = registry.counter("tenant_logins_total", "Logins, by tenant.", &["tenant"]).unwrap();
    /// logins.inc(&["acme"]).unwrap();
    /// logins.inc(&["acme"]).unwrap();
    /// assert_eq!(logins.with(&["acme"]).unwrap().get(), 2);
    /// assert!(logins.inc(&[""]).is_err()); // nothing recorded
    /// assert_eq!(logins.total(), 2);
    /// ```
    ///
    /// # Errors
    ///
    /// As [`DynCounter::with`].
    ///
    /// # Performance
    ///
    /// An existing series is found and updated without a lock or a shared write, and never
    /// waits: a seeded hash of the values, a reclamation guard (a store on the thread's own
    /// line, another when it leaves), a probe of the family's index, the values compared,
    /// one relaxed add. A new series takes the family's lock, and allocates its label values
    /// when they are new (longer than 23 bytes) or its family needs more rows. Keep a
    /// [`DynCounterSeries`] for the hottest paths.
    pub fn inc(&self, values: &[&str]) -> Result<(), DynamicError> {
        self.add(values, 1)
    }

    /// Adds `n` to the series for `values`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let bytes = registry.counter("tenant_bytes_total", "Bytes, by tenant.", &["tenant"]).unwrap();
    /// bytes.add(&["acme"], 1500).unwrap();
    /// bytes.add(&["globex"], 500).unwrap();
    /// assert_eq!(bytes.total(), 2000);
    /// ```
    ///
    /// # Errors
    ///
    /// As [`DynCounter::with`].
    ///
    /// # Performance
    ///
    /// As [`DynCounter::inc`].
    pub fn add(&self, values: &[&str], n: u64) -> Result<(), DynamicError> {
        self.0.update(values, |_, _, cell| {
            cell.fetch_add(n, Relaxed);
        })
    }

    /// Records that went to the overflow series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig { max_series_per_family: 1, ..BoundedConfig::default() });
    /// let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    /// hits.inc(&["acme"]).unwrap();
    /// hits.inc(&["globex"]).unwrap();
    /// hits.add(&["initech"], 5).unwrap();
    /// assert_eq!(hits.overflowed(), 2); // records, not increments
    /// ```
    pub fn overflowed(&self) -> u64 {
        self.0.overflowed()
    }

    /// The sum over every series, overflow included.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig { max_series_per_family: 1, ..BoundedConfig::default() });
    /// let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
    /// hits.add(&["acme"], 2).unwrap();
    /// hits.add(&["globex"], 3).unwrap(); // overflow
    /// assert_eq!(hits.total(), 5);
    /// ```
    ///
    /// # Performance
    ///
    /// Takes the family's lock to list its series, then reads every one.
    pub fn total(&self) -> u64 {
        let mut total = 0u64;
        self.0.for_each_row(|f, row| total = total.wrapping_add(f.cell(row).load(Relaxed)));
        total
    }
}

impl DynCounterSeries {
    /// Adds one.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let errors = registry.counter("tenant_errors_total", "Errors, by tenant.", &["tenant"]).unwrap();
    /// let acme = errors.with(&["acme"]).unwrap();
    /// acme.inc();
    /// assert_eq!(acme.get(), 1);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed atomic add (with an idle timeout or LRU eviction, also a load of the
    /// series' update word, stored once per maintenance generation); never allocates.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let bytes = registry.counter("tenant_bytes_total", "Bytes, by tenant.", &["tenant"]).unwrap();
    /// let acme = bytes.with(&["acme"]).unwrap();
    /// acme.add(4096);
    /// acme.add(1024);
    /// assert_eq!(acme.get(), 5120);
    /// ```
    ///
    /// # Performance
    ///
    /// One relaxed atomic add (with an idle timeout or LRU eviction, also a load of the
    /// series' update word, stored once per maintenance generation); never allocates.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.value().fetch_add(n, Relaxed);
        self.0.touch();
    }

    /// The current count.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let jobs = registry.counter("tenant_jobs_total", "Jobs, by tenant.", &["tenant"]).unwrap();
    /// jobs.add(&["acme"], 7).unwrap();
    /// assert_eq!(jobs.with(&["acme"]).unwrap().get(), 7);
    /// ```
    pub fn get(&self) -> u64 {
        self.0.value().load(Relaxed)
    }
}

/// A gauge family of a [`BoundedRegistry`].
///
/// # Examples
///
/// ```
/// use metrics_runtime::Metrics;
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
///
/// let registry = BoundedRegistry::new(BoundedConfig::default());
/// let depth = registry.gauge("queue_depth", "Jobs waiting, by queue.", &["queue"]).unwrap();
/// depth.set(&["billing"], 4.0).unwrap();
/// depth.add(&["billing"], -1.0).unwrap();
/// assert!(registry.render_prometheus().contains("queue_depth{queue=\"billing\"} 3.0\n"));
/// ```
#[derive(Clone)]
pub struct DynGauge(Handle);

impl DynGauge {
    /// Removes the series of `values` (the Prometheus clients' `DeleteLabelValues`); whether
    /// there was one. It is no longer exposed, and a new update of the same values starts a
    /// new series (its `_created` anew). A handle to the removed series still works, but what
    /// it records is no longer read. The overflow series cannot be removed.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    /// use metrics_runtime::Metrics;
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let f = registry.gauge("tenant_queue_depth", "Depth, by tenant.", &["tenant"]).unwrap();
    /// f.set(&["acme"], 3.0).unwrap();
    /// assert!(f.remove(&["acme"]));
    /// assert!(!f.remove(&["acme"])); // gone already
    /// assert_eq!(registry.series_count(), 0);
    /// assert!(!registry.render_prometheus().contains("acme"));
    /// ```
    pub fn remove(&self, values: &[&str]) -> bool {
        self.0.remove(values)
    }

    /// Sets the series for `values`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let temperature = registry.gauge("room_temperature_celsius", "Temperature, by room.", &["room"]).unwrap();
    /// temperature.set(&["lab"], 21.5).unwrap();
    /// temperature.set(&["lab"], 22.0).unwrap(); // the last value wins
    /// assert!(registry.render_prometheus().contains("room_temperature_celsius{room=\"lab\"} 22.0\n"));
    /// assert!(temperature.set(&[], 1.0).is_err()); // one value per label
    /// ```
    ///
    /// # Errors
    ///
    /// [`DynamicError::LabelCount`] or [`DynamicError::InvalidLabelValue`]; nothing is recorded.
    ///
    /// # Performance
    ///
    /// As [`DynCounter::inc`].
    pub fn set(&self, values: &[&str], value: f64) -> Result<(), DynamicError> {
        self.0.update(values, |_, _, cell| {
            cell.store(value.to_bits(), Relaxed);
        })
    }

    /// Adds `delta` to the series for `values`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let inflight = registry.gauge("tenant_inflight_requests", "Requests in flight, by tenant.", &["tenant"]).unwrap();
    /// inflight.add(&["acme"], 1.0).unwrap();
    /// inflight.add(&["acme"], 1.0).unwrap();
    /// inflight.add(&["acme"], -1.0).unwrap();
    /// assert!(registry.render_prometheus().contains("tenant_inflight_requests{tenant=\"acme\"} 1.0\n"));
    /// ```
    ///
    /// # Errors
    ///
    /// As [`DynGauge::set`].
    ///
    /// # Performance
    ///
    /// As [`DynCounter::inc`], with a compare-and-swap loop for the add.
    pub fn add(&self, values: &[&str], delta: f64) -> Result<(), DynamicError> {
        self.0.update(values, |_, _, cell| {
            atomic_f64_add(cell, delta);
        })
    }

    /// Records that went to the overflow series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig { max_series_per_family: 1, ..BoundedConfig::default() });
    /// let depth = registry.gauge("queue_depth", "Jobs waiting, by queue.", &["queue"]).unwrap();
    /// depth.set(&["billing"], 1.0).unwrap();
    /// depth.set(&["email"], 2.0).unwrap(); // over the cap
    /// assert_eq!(depth.overflowed(), 1);
    /// ```
    pub fn overflowed(&self) -> u64 {
        self.0.overflowed()
    }
}

/// A histogram family of a [`BoundedRegistry`].
///
/// # Examples
///
/// ```
/// use metrics_runtime::Metrics;
/// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
///
/// let registry = BoundedRegistry::new(BoundedConfig::default());
/// let latency = registry.histogram("tenant_request_seconds", "Request time, by tenant.", &["tenant"], &[0.1, 1.0]).unwrap();
/// latency.record(&["acme"], 0.05).unwrap();
/// latency.record(&["acme"], 0.5).unwrap();
/// let text = registry.render_prometheus();
/// assert!(text.contains("tenant_request_seconds_bucket{tenant=\"acme\",le=\"0.1\"} 1\n"));
/// assert!(text.contains("tenant_request_seconds_count{tenant=\"acme\"} 2\n"));
/// ```
#[derive(Clone)]
pub struct DynHistogram(Handle);

impl DynHistogram {
    /// Removes the series of `values` (the Prometheus clients' `DeleteLabelValues`); whether
    /// there was one. It is no longer exposed, and a new update of the same values starts a
    /// new series (its `_created` anew). A handle to the removed series still works, but what
    /// it records is no longer read. The overflow series cannot be removed.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    /// use metrics_runtime::Metrics;
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let f = registry.histogram("tenant_job_seconds", "Job time, by tenant.", &["tenant"], &[1.0]).unwrap();
    /// f.record(&["acme"], 0.5).unwrap();
    /// assert!(f.remove(&["acme"]));
    /// assert!(!f.remove(&["acme"])); // gone already
    /// assert_eq!(registry.series_count(), 0);
    /// assert!(!registry.render_prometheus().contains("acme"));
    /// ```
    pub fn remove(&self, values: &[&str]) -> bool {
        self.0.remove(values)
    }

    /// Records `value` into the series for `values`. NaN and infinite values are refused
    /// (and counted in `rejected_updates_total`).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Metrics;
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, DynamicError};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig::default());
    /// let sizes = registry.histogram("upload_bytes", "Upload sizes, by tenant.", &["tenant"], &[1e3, 1e6]).unwrap();
    /// sizes.record(&["acme"], 2e3).unwrap();
    /// let err = sizes.record(&["acme"], f64::INFINITY).unwrap_err();
    /// assert!(matches!(err, DynamicError::InvalidValue { .. }));
    /// assert!(registry.render_prometheus().contains("upload_bytes_sum{tenant=\"acme\"} 2000.0\n"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`DynamicError::InvalidValue`], [`DynamicError::LabelCount`] or
    /// [`DynamicError::InvalidLabelValue`]; nothing is recorded.
    ///
    /// # Performance
    ///
    /// As [`DynCounter::inc`], plus a count of the bounds below the value and one 16-byte
    /// compare-and-swap of the bucket's count and sum.
    pub fn record(&self, values: &[&str], value: f64) -> Result<(), DynamicError> {
        if !value.is_finite() {
            self.0.shared.rejected.fetch_add(1, Relaxed);
            return Err(DynamicError::InvalidValue { reason: "NaN and infinite values are not recorded".into() });
        }
        let bounds = &self.0.family.bounds;
        self.0.update(values, |f, row, cell| {
            let i = bucket_index(bounds, value);
            f.buckets.get(row as usize)[i].add(1, value);
            if value < 0.0 {
                cell.store(1, Relaxed);
            }
        })
    }

    /// Records that went to the overflow series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry};
    ///
    /// let registry = BoundedRegistry::new(BoundedConfig { max_series_total: 1, ..BoundedConfig::default() });
    /// let sizes = registry.histogram("upload_bytes", "Upload sizes, by tenant.", &["tenant"], &[1e3]).unwrap();
    /// sizes.record(&["acme"], 10.0).unwrap();
    /// sizes.record(&["globex"], 10.0).unwrap(); // over the registry's total cap
    /// assert_eq!(sizes.overflowed(), 1);
    /// ```
    pub fn overflowed(&self) -> u64 {
        self.0.overflowed()
    }
}

macro_rules! debug_family {
    ($($t:ty),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t)).field("name", &self.0.family.text.name).finish()
            }
        }
    )*};
}
debug_family!(DynCounter, DynGauge, DynHistogram);

impl fmt::Debug for DynCounterSeries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut labels = String::new();
        SeriesLabels { family: &self.0.family, row: self.0.row }.write_text(&mut labels);
        f.debug_struct("DynCounterSeries").field("labels", &labels).field("value", &self.get()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row a read may hold is not reused while the read lasts, however many new series and
    /// maintenance runs come meanwhile; it is reused once the read ends.
    #[test]
    fn a_removed_row_waits_for_the_reads_that_may_hold_it() {
        let registry =
            BoundedRegistry::new(BoundedConfig { max_new_series_per_sec: u32::MAX, ..BoundedConfig::default() });
        let hits = registry.counter("tenant_hits_total", "Hits, by tenant.", &["tenant"]).unwrap();
        hits.inc(&["old"]).unwrap();
        let fam = &*hits.0.family;
        let reading = epoch::pin();
        let row = fam
            .find(&reading, &{
                let mut query = Query::new(&["old"]);
                fam.prepare(&mut query);
                query
            })
            .expect("the series");
        std::thread::scope(|s| {
            s.spawn(|| {
                assert!(hits.remove(&["old"]));
                for i in 0..300 {
                    hits.inc(&[&format!("new-{i}")]).unwrap();
                    registry.maintain();
                }
            });
        });
        assert_eq!(fam.value_of(0, key(fam.words(row), 0)), "old", "reused while a read may hold it");
        assert!(!fam.state.lock().unwrap().is_live(row));
        drop(reading);
        for i in 300..600 {
            hits.inc(&[&format!("new-{i}")]).unwrap();
            registry.maintain();
        }
        assert!(fam.state.lock().unwrap().is_live(row), "reused once no read can hold it");
        assert_ne!(fam.value_of(0, key(fam.words(row), 0)), "old");
    }

    /// A short value is interned once whether a query packs it (all its values short) or not
    /// (another value long): the packed hash and compare find what the string ones made, and
    /// back; the last release frees it.
    #[test]
    fn a_value_is_interned_once_through_packed_and_string_queries() {
        let registry =
            BoundedRegistry::new(BoundedConfig { max_new_series_per_sec: u32::MAX, ..BoundedConfig::default() });
        let hits = registry.counter("route_hits_total", "Hits.", &["method", "route"]).unwrap();
        let long = "/a/route/longer/than/twenty/three/bytes";
        hits.inc(&["GET", "/short"]).unwrap(); // packed
        hits.inc(&["GET", long]).unwrap(); // not packed: `GET` by its string
        hits.inc(&["PUT", long]).unwrap(); // not packed: `PUT` new
        hits.inc(&["PUT", "/short"]).unwrap(); // packed: `PUT` as made by its string
        let fam = &*hits.0.family;
        let values = |label: usize| fam.state.lock().unwrap().interners[label].len();
        assert_eq!((values(0), values(1)), (2, 2), "GET, PUT; /short and the long route");
        assert_eq!(registry.series_count(), 4);
        for (m, r) in [("GET", "/short"), ("GET", long), ("PUT", long)] {
            assert!(hits.remove(&[m, r]));
        }
        // The removed rows are reclaimed (their values released) once no read can hold them:
        // other tests of this process read too, some for long, so the wait is bounded in time.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        for i in 0.. {
            hits.inc(&["POST", &format!("/r{}", i % 100)]).unwrap();
            registry.maintain();
            if values(0) <= 2 || std::time::Instant::now() > deadline {
                break;
            }
        }
        assert_eq!(values(0), 2, "PUT (still used) and POST: GET freed");
        let text = registry.render_prometheus();
        assert!(text.contains("route_hits_total{method=\"PUT\",route=\"/short\"} 1\n"), "{text}");
        assert!(!text.contains("GET"));
    }
}
