//! Items used by the code that the derives generate. Not a public API: no semver guarantees.

pub use crate::const_labels::ConstLabelsVisitor;
pub use crate::read::{MetricDesc, MetricKind, MetricShape, NativeShape, Objective, PrefixTable, Slo};
pub use crate::timer::{Deferred, Outcome, Ticks, Timer, ToOutcome};

/// Whether `names` holds `name`, usable in constants.
pub const fn contains(names: &[&str], name: &str) -> bool {
    let mut i = 0;
    while i < names.len() {
        if str_eq(names[i], name) {
            return true;
        }
        i += 1;
    }
    false
}

/// The first name that appears twice in `names`, usable in constants.
pub const fn first_duplicate(names: &'static [&'static str]) -> Option<&'static str> {
    let mut i = 0;
    while i < names.len() {
        let mut j = 0;
        while j < i {
            if str_eq(names[i], names[j]) {
                return Some(names[i]);
            }
            j += 1;
        }
        i += 1;
    }
    None
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Checks, in a constant, the error selector of an SLO against the tag set of its metric:
/// `label` must be one of `names` and each of `wanted` one of its `values`. The compile error's
/// message if not.
pub const fn check_error_selector(
    names: &[&str],
    values: &[&[&str]],
    label: &str,
    wanted: &[&str],
    slo: &str,
    metric: &str,
) -> Option<ConstMsg> {
    let mut index = 0;
    while index < names.len() && !str_eq(names[index], label) {
        index += 1;
    }
    if index == names.len() {
        let mut msg =
            ConstMsg::new().str("SLO `").str(slo).str("`: metric `").str(metric).str("` has no tag `").str(label);
        msg = if names.is_empty() {
            msg.str(
                "`; it has no tags at all: an error objective needs a tag that tells errors apart, such as `Outcome`",
            )
        } else {
            list(msg.str("`; its tags are "), names)
        };
        return Some(msg);
    }
    let mut i = 0;
    while i < wanted.len() {
        if !contains(values[index], wanted[i]) {
            let msg = ConstMsg::new().str("SLO `").str(slo).str("`: tag `").str(label).str("` of metric `").str(metric);
            return Some(list(msg.str("` has no value `").str(wanted[i]).str("`; its values are "), values[index]));
        }
        i += 1;
    }
    None
}

/// Appends `` `a`, `b` `` to a message.
const fn list(mut msg: ConstMsg, items: &[&str]) -> ConstMsg {
    let mut i = 0;
    while i < items.len() {
        if i > 0 {
            msg = msg.str(", ");
        }
        msg = msg.str("`").str(items[i]).str("`");
        i += 1;
    }
    msg
}

/// A message built in a constant, for compile errors that carry computed numbers.
#[derive(Debug, Clone, Copy)]
pub struct ConstMsg {
    buf: [u8; 512],
    len: usize,
}

impl ConstMsg {
    /// An empty message.
    pub const fn new() -> Self {
        Self { buf: [0; 512], len: 0 }
    }

    /// Appends text (cut at 512 bytes, on a character boundary).
    pub const fn str(mut self, s: &str) -> Self {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() && self.len < self.buf.len() {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        while self.len > 0 && (self.buf[self.len - 1] & 0xC0) == 0x80 {
            // Drop a cut UTF-8 sequence whole.
            self.len -= 1;
        }
        self
    }

    /// Appends a number in decimal.
    pub const fn num(mut self, mut n: usize) -> Self {
        let mut digits = [0u8; 20];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        while count > 0 && self.len < self.buf.len() {
            count -= 1;
            self.buf[self.len] = digits[count];
            self.len += 1;
        }
        self
    }

    /// The text.
    pub const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.buf.split_at(self.len).0) {
            Ok(s) => s,
            Err(_) => "(message was not UTF-8)",
        }
    }
}

impl Default for ConstMsg {
    fn default() -> Self {
        Self::new()
    }
}

/// Above this many bytes, series prefixes are not rendered at compile time (the encoder
/// assembles them from their parts instead): it bounds compile time and binary size.
pub const PREFIX_TABLE_LIMIT: usize = 256 * 1024;

/// At most this many labels per series for compile-time prefixes.
const MAX_LABELS: usize = 32;

/// The bytes of every `name{a="x",b="y"} ` prefix of a metric, or 0 when over
/// [`PREFIX_TABLE_LIMIT`] (or `MAX_LABELS`).
pub const fn prefix_len(name: &str, names: &[&str], values: &[&[&str]]) -> usize {
    if names.len() != values.len() || names.len() > MAX_LABELS {
        return 0;
    }
    let mut card: usize = 1;
    let mut k = 0;
    while k < values.len() {
        card = match card.checked_mul(values[k].len()) {
            Some(c) => c,
            None => return 0,
        };
        k += 1;
    }
    if card == 0 || card > PREFIX_TABLE_LIMIT {
        return 0;
    }
    // Per series: the name, a space, and `{` `}` plus `label="` `"` and commas when labelled.
    let mut fixed = name.len() + 1;
    if !names.is_empty() {
        fixed += 2 + names.len() - 1;
        let mut k = 0;
        while k < names.len() {
            fixed += names[k].len() + 3;
            k += 1;
        }
    }
    let mut total = match fixed.checked_mul(card) {
        Some(t) => t,
        None => return 0,
    };
    // Each value of label k appears in card / n_k series.
    let mut k = 0;
    while k < values.len() {
        let per_value = card / values[k].len();
        let mut v = 0;
        while v < values[k].len() {
            total += per_value * values[k][v].len();
            v += 1;
        }
        k += 1;
    }
    if total > PREFIX_TABLE_LIMIT || total > u32::MAX as usize {
        0
    } else {
        total
    }
}

const fn copy(out: &mut [u8], mut at: usize, s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        out[at] = b[i];
        at += 1;
        i += 1;
    }
    at
}

/// Calls `f` for every series in index order (row-major, last label fastest) with its digits.
/// Writes the prefixes (when `OFFSETS` is false) or their end offsets.
const fn walk<const LEN: usize, const N: usize>(
    name: &str,
    names: &[&str],
    values: &[&[&str]],
    bytes: &mut [u8; LEN],
    offsets: &mut [u32; N],
) {
    let mut digits = [0usize; MAX_LABELS];
    let mut at = 0;
    let mut series = 0;
    if N > 0 {
        offsets[0] = 0;
    }
    loop {
        at = copy(bytes, at, name);
        if !names.is_empty() {
            at = copy(bytes, at, "{");
            let mut k = 0;
            while k < names.len() {
                if k > 0 {
                    at = copy(bytes, at, ",");
                }
                at = copy(bytes, at, names[k]);
                at = copy(bytes, at, "=\"");
                at = copy(bytes, at, values[k][digits[k]]);
                at = copy(bytes, at, "\"");
                k += 1;
            }
            at = copy(bytes, at, "}");
        }
        at = copy(bytes, at, " ");
        series += 1;
        if series < N {
            offsets[series] = at as u32;
        }
        // Next digits: the last label fastest.
        let mut k = names.len();
        loop {
            if k == 0 {
                return;
            }
            k -= 1;
            digits[k] += 1;
            if digits[k] < values[k].len() {
                break;
            }
            digits[k] = 0;
        }
    }
}

/// The prefixes of [`prefix_len`], concatenated (`LEN` is `prefix_len(..)`).
pub const fn prefix_bytes<const LEN: usize>(name: &str, names: &[&str], values: &[&[&str]]) -> [u8; LEN] {
    let mut bytes = [0u8; LEN];
    if LEN > 0 {
        let mut none = [0u32; 0];
        walk::<LEN, 0>(name, names, values, &mut bytes, &mut none);
    }
    bytes
}

/// The `N = CARDINALITY + 1` offsets delimiting the prefixes (`N` is 0 when there is no table).
pub const fn prefix_offsets<const LEN: usize, const N: usize>(
    name: &str,
    names: &[&str],
    values: &[&[&str]],
) -> [u32; N] {
    let mut offsets = [0u32; N];
    if N > 0 {
        let mut scratch = [0u8; LEN];
        walk::<LEN, N>(name, names, values, &mut scratch, &mut offsets);
    }
    offsets
}

/// The product of value counts, or `None` on overflow.
pub const fn checked_product(counts: &[usize]) -> Option<usize> {
    let mut acc: usize = 1;
    let mut i = 0;
    while i < counts.len() {
        acc = match acc.checked_mul(counts[i]) {
            Some(v) => v,
            None => return None,
        };
        i += 1;
    }
    Some(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn const_msg_formats_numbers_and_text() {
        const M: ConstMsg = ConstMsg::new().str("has ").num(12_000).str(" series; max ").num(0);
        assert_eq!(M.as_str(), "has 12000 series; max 0");
    }

    #[test]
    fn prefix_tables() {
        const NAMES: &[&str] = &["m", "s"];
        const VALUES: &[&[&str]] = &[&["GET", "PUT"], &["2xx", "5xx", "x\\\"y"]];
        const LEN: usize = prefix_len("req_total", NAMES, VALUES);
        const BYTES: [u8; LEN] = prefix_bytes::<LEN>("req_total", NAMES, VALUES);
        const OFF: [u32; 7] = prefix_offsets::<LEN, 7>("req_total", NAMES, VALUES);
        static TABLE: PrefixTable = PrefixTable::new(&BYTES, &OFF);
        assert_eq!(TABLE.get(0), Some("req_total{m=\"GET\",s=\"2xx\"} "));
        assert_eq!(TABLE.get(2), Some("req_total{m=\"GET\",s=\"x\\\"y\"} "));
        assert_eq!(TABLE.get(5), Some("req_total{m=\"PUT\",s=\"x\\\"y\"} "));
        assert_eq!(TABLE.get(6), None);
        assert_eq!(prefix_len("x", &[], &[]), 2);
        assert_eq!(prefix_len("x", &["a"], &[&[]]), 0);
    }

    #[test]
    fn duplicates_and_contains() {
        assert_eq!(first_duplicate(&["a", "b", "a"]), Some("a"));
        assert_eq!(first_duplicate(&["a", "b"]), None);
        assert!(contains(&["le", "x"], "le"));
        assert!(!contains(&["lee"], "le"));
        assert_eq!(checked_product(&[4, 3]), Some(12));
        assert_eq!(checked_product(&[usize::MAX, 2]), None);
    }
}
