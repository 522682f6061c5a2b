//! Items used by the code that the derives generate. Not a public API: no semver guarantees.

pub use crate::cell::{ConstInit, SeriesArray};
pub use crate::encode::{Encoder, MetricDesc, MetricKind};
pub use crate::tag::{ParseTagError, Tag, TagSet, TagSetError};
pub use crate::timer::{Outcome, RecordDuration, Timer, ToOutcome};
pub use core::option::Option;
pub use core::result::Result;
pub use std::string::String;

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
    fn duplicates_and_contains() {
        assert_eq!(first_duplicate(&["a", "b", "a"]), Some("a"));
        assert_eq!(first_duplicate(&["a", "b"]), None);
        assert!(contains(&["le", "x"], "le"));
        assert!(!contains(&["lee"], "le"));
        assert_eq!(checked_product(&[4, 3]), Some(12));
        assert_eq!(checked_product(&[usize::MAX, 2]), None);
    }
}
