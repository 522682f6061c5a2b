//! Native (exponential) histogram buckets, as Prometheus defines them: for a schema `s` in
//! `-4..=8`, bucket boundaries are the powers of `2^(2^-s)`, bucket `k` holds the values in
//! `(2^((k - 1) * 2^-s), 2^(k * 2^-s)]` (bucket 0 ends at 1), one set of buckets for positive
//! values and one for negative ones (by absolute value), and a zero bucket for values within
//! `[-zero_threshold, zero_threshold]`.
//!
//! [`native_key`] finds a value's bucket from its `f64` bits and two small tables: no logarithm.

#[path = "native_bounds.rs"]
mod bounds;
pub use bounds::NATIVE_BOUNDS;

/// The finest schema Prometheus accepts (256 buckets per power of two).
pub const NATIVE_SCHEMA_MAX: i8 = 8;
/// The coarsest schema Prometheus accepts (one bucket per factor of `2^16`).
pub const NATIVE_SCHEMA_MIN: i8 = -4;
/// The default schema: 8 buckets per power of two, a bucket factor of `2^(1/8)` (about 1.09),
/// so a bucket's midpoint is within 4.3% of any value in it.
pub const DEFAULT_NATIVE_SCHEMA: i8 = 3;
/// The default zero threshold, `2^-128`, as in the Prometheus Go client: values whose absolute
/// value is at most this are counted in the zero bucket.
pub const DEFAULT_NATIVE_ZERO_THRESHOLD: f64 = 2.938735877055719e-39;
/// The default bound on the buckets a native histogram series exposes, as in the Prometheus Go
/// client's usual setting.
pub const DEFAULT_NATIVE_MAX_BUCKETS: usize = 160;
/// The default bucket slots of a native histogram series: twice the buckets it exposes, half
/// for the declared resolution and half for the coarser one it falls back to when the values
/// need more buckets.
pub const DEFAULT_NATIVE_SLOTS: usize = 2 * DEFAULT_NATIVE_MAX_BUCKETS;

const FRAC_MASK: u64 = (1 << 52) - 1;

/// The 52 fraction bits of each boundary of schema `S` (all are in `[1, 2)`, so they compare
/// as integers), then `1 << 52`, above every fraction.
const fn fraction_bits<const N: usize>(s: usize) -> [u64; N] {
    let bounds = NATIVE_BOUNDS[s];
    let mut out = [1u64 << 52; N];
    let mut i = 0;
    while i < bounds.len() {
        out[i] = bounds[i].to_bits() & FRAC_MASK;
        i += 1;
    }
    out
}

/// For each of the `2^(s + 1)` equal slices of `[1, 2)` (by the top `s + 1` fraction bits), the
/// number of boundaries below the slice's start. Boundaries are more than a slice apart
/// (`2^(2^-s) - 1 > 2^-(s + 1)`), so at most one lies in a slice and one compare finishes the
/// count.
const fn slice_starts<const M: usize>(s: usize, fractions: &[u64]) -> [u16; M] {
    let mut out = [0u16; M];
    let mut t = 0;
    while t < M {
        let start = (t as u64) << (52 - (s + 1));
        let mut c = 0;
        while c < fractions.len() - 1 && fractions[c] < start {
            c += 1;
        }
        out[t] = c as u16;
        t += 1;
    }
    out
}

macro_rules! tables {
    ($($s:literal),*) => {
        const FRACTIONS: [&[u64]; 9] = [&[1 << 52], $({
            const F: [u64; (1 << $s) + 1] = fraction_bits::<{ (1 << $s) + 1 }>($s);
            &F
        }),*];
        const STARTS: [&[u16]; 9] = [&[0], $({
            const S: [u16; 1 << ($s + 1)] = slice_starts::<{ 1 << ($s + 1) }>($s, FRACTIONS[$s]);
            &S
        }),*];
    };
}
tables!(1, 2, 3, 4, 5, 6, 7, 8);

/// The bucket key of a value `abs > 0` (an absolute value: negative values use the key of their
/// absolute value, in the negative buckets) at `schema` (`-4..=8`). `+Inf` gets the key after
/// that of `f64::MAX`, as in the Prometheus Go client.
///
/// ```
/// use metrics_rules::native_key;
/// assert_eq!(native_key(1.0, 0), 0); // (0.5, 1]
/// assert_eq!(native_key(1.5, 0), 1); // (1, 2]
/// assert_eq!(native_key(2.0, 0), 1);
/// assert_eq!(native_key(1.0, 3), 0);
/// assert_eq!(native_key(1.1, 3), 2); // (2^(1/8), 2^(2/8)] = (1.0905.., 1.1892..]
/// assert_eq!(native_key(0.75, -1), 0); // (0.25, 1]
/// ```
#[inline]
pub fn native_key(abs: f64, schema: i8) -> i32 {
    let bits = abs.to_bits();
    let biased = (bits >> 52) as i32 & 0x7ff;
    let (exp, frac) = match biased {
        0 => subnormal(bits),
        0x7ff => return native_key(f64::MAX, schema) + 1,
        _ => (biased - 1023, bits & FRAC_MASK),
    };
    if schema > 0 {
        let s = schema as u32;
        let starts = STARTS[s as usize];
        let fractions = FRACTIONS[s as usize];
        let c = starts[(frac >> (52 - (s + 1))) as usize & (starts.len() - 1)] as usize;
        let j = c + usize::from(fractions[c.min(fractions.len() - 1)] < frac);
        (exp << s) + j as i32
    } else {
        let shift = (-i32::from(schema)) as u32;
        (exp + i32::from(frac != 0) + (1 << shift) - 1) >> shift
    }
}

/// The exponent and fraction bits of a subnormal value, normalised.
#[cold]
fn subnormal(bits: u64) -> (i32, u64) {
    let frac = bits & FRAC_MASK;
    let top = 63 - frac.leading_zeros() as i32; // 0..=51
    (top - 1074, (frac << (52 - top)) & FRAC_MASK)
}

/// `x * 2^e`, exact while the result is a normal number.
fn ldexp(mut x: f64, mut e: i32) -> f64 {
    while e > 1000 {
        x *= f64::from_bits((1023 + 1000) << 52);
        e -= 1000;
    }
    while e < -1000 {
        x *= f64::from_bits((1023 - 1000) << 52);
        e += 1000;
    }
    x * f64::from_bits(((1023 + e) as u64) << 52)
}

/// The upper (inclusive) boundary of bucket `key` at `schema`.
///
/// ```
/// use metrics_rules::native_upper_bound;
/// assert_eq!(native_upper_bound(0, 3), 1.0);
/// assert_eq!(native_upper_bound(8, 3), 2.0);
/// assert_eq!(native_upper_bound(-1, 0), 0.5);
/// assert_eq!(native_upper_bound(1, -2), 16.0);
/// ```
pub fn native_upper_bound(key: i32, schema: i8) -> f64 {
    if schema > 0 {
        let s = schema as u32;
        let bounds = NATIVE_BOUNDS[s as usize];
        let j = (key & ((1 << s) - 1)) as usize;
        ldexp(bounds[j], key >> s)
    } else {
        let e = i64::from(key) << (-i32::from(schema));
        if e > 1023 {
            f64::INFINITY
        } else if e < -1074 {
            0.0
        } else {
            ldexp(1.0, e as i32)
        }
    }
}

/// The key at `schema - by` of the bucket `key` at `schema`: merging `2^by` neighbouring buckets
/// into one, which is exact (every boundary of the coarser schema is one of the finer).
///
/// ```
/// use metrics_rules::native_coarser_key;
/// assert_eq!(native_coarser_key(3, 1), 2); // schema 1's (2, 2.83] is in schema 0's (2, 4]
/// assert_eq!(native_coarser_key(-3, 1), -1);
/// assert_eq!(native_coarser_key(0, 2), 0);
/// ```
#[inline]
pub fn native_coarser_key(key: i32, by: u32) -> i32 {
    ((i64::from(key) + (1i64 << by) - 1) >> by) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key by the definition, with a logarithm (the reference for the table lookup).
    fn reference_key(v: f64, schema: i8) -> i32 {
        let k = (v.log2() * 2f64.powi(i32::from(schema))).ceil() as i32;
        // Correct for rounding in the logarithm near a boundary.
        let mut k = k;
        while native_upper_bound(k, schema) < v {
            k += 1;
        }
        while native_upper_bound(k - 1, schema) >= v {
            k -= 1;
        }
        k
    }

    #[test]
    fn tables_are_the_powers_of_two() {
        for (s, bounds) in NATIVE_BOUNDS.iter().enumerate().skip(1) {
            let n = 1usize << s;
            assert_eq!(bounds.len(), n);
            for (i, b) in bounds.iter().enumerate() {
                let exact = 2f64.powf(i as f64 / n as f64);
                // The Prometheus tables are within a few ulps of the exact powers.
                assert!((b - exact).abs() <= 8.0 * f64::EPSILON, "schema {s} bound {i}: {b} vs {exact}");
            }
        }
    }

    #[test]
    fn keys_match_the_definition() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for schema in NATIVE_SCHEMA_MIN..=NATIVE_SCHEMA_MAX {
            for _ in 0..20_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Positive finite values over the whole range, normal and subnormal.
                let v = f64::from_bits(x >> 2);
                if !(v.is_finite() && v > 0.0) {
                    continue;
                }
                assert_eq!(native_key(v, schema), reference_key(v, schema), "value {v:e} schema {schema}");
            }
            // Every boundary lands in the bucket it closes; just above it, in the next.
            for key in -300..300 {
                let b = native_upper_bound(key, schema);
                if b.is_finite() && b > 0.0 {
                    assert_eq!(native_key(b, schema), key, "boundary {b:e} schema {schema}");
                    let next = f64::from_bits(b.to_bits() + 1);
                    assert_eq!(native_key(next, schema), key + 1, "above {b:e} schema {schema}");
                }
            }
        }
    }

    #[test]
    fn extremes() {
        for schema in NATIVE_SCHEMA_MIN..=NATIVE_SCHEMA_MAX {
            let max = native_key(f64::MAX, schema);
            assert_eq!(native_key(f64::INFINITY, schema), max + 1);
            assert!(native_upper_bound(max, schema) >= f64::MAX);
            // The smallest subnormal, 2^-1074, closes bucket ceil(-1074 * 2^schema).
            let tiny = native_key(f64::from_bits(1), schema);
            let want = if schema >= 0 { -1074 << schema } else { -(1074 >> -schema) };
            assert_eq!(tiny, want, "schema {schema}");
        }
    }

    #[test]
    fn coarser_keys_nest() {
        for schema in (NATIVE_SCHEMA_MIN + 1)..=NATIVE_SCHEMA_MAX {
            for key in -500..500 {
                let coarse = native_coarser_key(key, 1);
                let (lo, hi) = (native_upper_bound(key - 1, schema), native_upper_bound(key, schema));
                let (clo, chi) = (native_upper_bound(coarse - 1, schema - 1), native_upper_bound(coarse, schema - 1));
                assert!(clo <= lo && hi <= chi, "schema {schema} key {key} -> {coarse}");
            }
        }
    }
}
