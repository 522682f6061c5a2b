//! Serializers for the OTLP/JSON mapping of the generated OTLP types (used by their
//! `#[serde(serialize_with)]` attributes): 64-bit integers as decimal strings, trace and span
//! ids as lowercase hex.

use serde::Serializer;

/// A `u64` as a decimal string.
pub(crate) fn u64_string<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// An `i64` as a decimal string.
pub(crate) fn i64_string<S: Serializer>(value: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// A list of `u64` as decimal strings.
pub(crate) fn u64_strings<S: Serializer>(values: &[u64], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(values.iter().map(u64::to_string))
}

/// Bytes as lowercase hex.
pub(crate) fn hex<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(text, "{b:02x}");
    }
    s.serialize_str(&text)
}
