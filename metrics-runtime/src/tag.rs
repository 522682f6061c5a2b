//! Tags: typed label values, and tag sets that index a metric's series by arithmetic.

use core::fmt;

use crate::cell::{ConstInit, SeriesArray};

/// One label of a metric, as a fieldless enum: each variant is one allowed label value.
///
/// Derive it with `#[derive(Tag)]`; the derive checks the name and values at compile time,
/// escapes the values for the exposition formats, and implements [`core::str::FromStr`] and
/// [`TagSet`] (a single tag is a tag set of one).
///
/// # Examples
///
/// ```
/// use metrics_runtime::Tag;
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(name = "method", rename_all = "UPPERCASE")]
/// enum Method { Get, Post }
///
/// assert_eq!(Method::NAME, "method");
/// assert_eq!(Method::Post.as_str(), "POST");
/// assert_eq!("GET".parse::<Method>().unwrap(), Method::Get);
/// let err = "PATCH".parse::<Method>().unwrap_err();
/// assert_eq!(err.to_string(), "`PATCH` is not a value of tag `method`; expected one of `GET`, `POST`");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tag",
    label = "not a `#[derive(Tag)]` enum",
    note = "a tag is a fieldless enum with `#[derive(Tag)]`; each variant is one label value"
)]
pub trait Tag: Copy + Send + Sync + 'static {
    /// The label name.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Tag;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// enum CacheResult { Hit, Miss } // the enum's name in snake case by default
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "method")]
    /// enum HttpMethod { Get, Post }
    ///
    /// assert_eq!(CacheResult::NAME, "cache_result");
    /// assert_eq!(HttpMethod::NAME, "method");
    /// ```
    const NAME: &'static str;
    /// The label values, in variant order.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Tag;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "status")]
    /// enum Status {
    ///     #[tag(value = "2xx")]
    ///     Success,
    ///     #[tag(value = "5xx")]
    ///     ServerError,
    ///     Unknown, // the variant's name in snake case by default
    /// }
    ///
    /// assert_eq!(Status::VALUES, ["2xx", "5xx", "unknown"]);
    /// ```
    const VALUES: &'static [&'static str];
    /// The label values escaped for the text formats (`\\`, `\"`, `\n`), in variant order.
    #[doc(hidden)]
    const ESCAPED: &'static [&'static str];

    /// The position of this value in [`Tag::VALUES`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Tag;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Region { Eu, Us, Apac }
    ///
    /// assert_eq!(Tag::index(Region::Us), 1);
    /// assert_eq!(Region::VALUES[Tag::index(Region::Apac)], "apac");
    /// ```
    fn index(self) -> usize;

    /// The value at `index` in [`Tag::VALUES`], if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Tag;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "lowercase")]
    /// enum Region { Eu, Us }
    ///
    /// assert_eq!(<Region as Tag>::from_index(1), Some(Region::Us));
    /// assert_eq!(<Region as Tag>::from_index(2), None);
    /// ```
    fn from_index(index: usize) -> Option<Self>;

    /// The variant whose label value is `value` (what `FromStr` does too).
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Tag;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "method", rename_all = "UPPERCASE")]
    /// enum Method { Get, Post }
    ///
    /// assert_eq!(Method::from_value("POST"), Ok(Method::Post));
    /// let err = Method::from_value("post").unwrap_err(); // values are case-sensitive
    /// assert_eq!(err.allowed(), ["GET", "POST"]);
    /// ```
    ///
    /// # Errors
    ///
    /// [`ParseTagError`], naming the allowed values, when `value` is not one of them.
    fn from_value(value: &str) -> Result<Self, ParseTagError>;

    /// The label value.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Tag;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(rename_all = "kebab-case")]
    /// enum Plan { FreeTier, ProMonthly }
    ///
    /// assert_eq!(Plan::ProMonthly.as_str(), "pro-monthly");
    /// ```
    #[inline]
    fn as_str(self) -> &'static str {
        Self::VALUES[self.index()]
    }
}

/// The tags of a metric: `()` (no tags), a single [`Tag`] enum, or a `#[derive(TagSet)]` struct
/// whose fields are tags.
///
/// A tag set maps each combination of values to a series index in `0..CARDINALITY` with
/// arithmetic on the variants' positions (row-major, last field fastest): no hashing.
///
/// # Safety
///
/// [`TagSet::index`] must return a value below [`TagSet::CARDINALITY`], and `Array<V>` must be
/// `[V; CARDINALITY]`. The derives uphold this; implement it by hand only with the same care.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Tag, TagSet};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(rename_all = "lowercase")]
/// enum Method { Get, Post }
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// enum Status { #[tag(value = "2xx")] Ok, #[tag(value = "5xx")] Error }
///
/// #[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
/// struct Http { method: Method, status: Status }
///
/// assert_eq!(Http::CARDINALITY, 4);
/// assert_eq!(Http { method: Method::Post, status: Status::Error }.index(), 3);
/// let tags = Http::from_pairs(&[("status", "5xx"), ("method", "get")]).unwrap();
/// assert_eq!(tags, Http { method: Method::Get, status: Status::Error });
/// assert!(Http::from_pairs(&[("method", "get")]).is_err()); // `status` is missing
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tag set",
    label = "not `()`, a `#[derive(Tag)]` enum or a `#[derive(TagSet)]` struct",
    note = "metrics are tagged by `()`, a `#[derive(Tag)]` enum, or a `#[derive(TagSet)]` struct of such enums"
)]
pub unsafe trait TagSet: Copy + Send + Sync + 'static {
    /// The number of distinct series: the product of the tags' value counts.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Counter, Tag, TagSet};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// enum Method { Get, Post, Put }
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// enum Status { Ok, Error }
    ///
    /// #[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
    /// struct Http { method: Method, status: Status }
    ///
    /// assert_eq!(Http::CARDINALITY, 6);
    /// assert_eq!(<() as TagSet>::CARDINALITY, 1);
    /// assert_eq!(Counter::<Http>::new().series().len(), Http::CARDINALITY);
    /// ```
    const CARDINALITY: usize;
    /// The label names, in field order.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Tag, TagSet};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "method")]
    /// enum HttpMethod { Get, Post }
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// enum Region { Eu, Us }
    ///
    /// #[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
    /// struct Labels { region: Region, method: HttpMethod }
    ///
    /// assert_eq!(Labels::NAMES, ["region", "method"]);
    /// assert_eq!(<HttpMethod as TagSet>::NAMES, ["method"]);
    /// ```
    const NAMES: &'static [&'static str];
    /// Each label's values escaped for the text formats, in [`TagSet::NAMES`] order: what the
    /// derive renders series prefixes from at compile time.
    #[doc(hidden)]
    const LABEL_VALUES: &'static [&'static [&'static str]];

    /// `[V; CARDINALITY]`: one cell per series.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{ConstInit, CounterSeries, SeriesArray, Tag, TagSet};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// enum Region { Eu, Us, Apac }
    ///
    /// let cells: <Region as TagSet>::Array<CounterSeries> = ConstInit::INIT;
    /// assert_eq!(cells.as_slice().len(), Region::CARDINALITY);
    /// ```
    type Array<V: ConstInit + Send + Sync>: SeriesArray<V>;

    /// The series index of this combination, below [`TagSet::CARDINALITY`].
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Tag, TagSet};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// enum Method { Get, Post, Put }
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// enum Status { Ok, Error }
    ///
    /// #[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
    /// struct Http { method: Method, status: Status }
    ///
    /// // Row-major, last field fastest: method * 2 + status.
    /// assert_eq!(Http { method: Method::Get, status: Status::Error }.index(), 1);
    /// assert_eq!(Http { method: Method::Put, status: Status::Ok }.index(), 4);
    /// assert_eq!(().index(), 0);
    /// ```
    ///
    /// # Performance
    ///
    /// Arithmetic on the variants' positions; no hashing, lock or allocation.
    fn index(self) -> usize;

    /// The combination at series index `index`, if `index < CARDINALITY`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Tag, TagSet};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// enum Method { Get, Post }
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// enum Status { Ok, Error }
    ///
    /// #[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
    /// struct Http { method: Method, status: Status }
    ///
    /// assert_eq!(Http::from_index(2), Some(Http { method: Method::Post, status: Status::Ok }));
    /// assert_eq!(Http::from_index(4), None);
    /// for i in 0..Http::CARDINALITY {
    ///     assert_eq!(Http::from_index(i).map(Http::index), Some(i));
    /// }
    /// ```
    fn from_index(index: usize) -> Option<Self>;

    /// Parses a tag set from `(name, value)` pairs, in any order.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::{Tag, TagSet, TagSetError};
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "method", rename_all = "UPPERCASE")]
    /// enum Method { Get, Post }
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "region", rename_all = "lowercase")]
    /// enum Region { Eu, Us }
    ///
    /// #[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
    /// struct Request { method: Method, region: Region }
    ///
    /// let tags = Request::from_pairs(&[("region", "us"), ("method", "GET")]).unwrap();
    /// assert_eq!(tags, Request { method: Method::Get, region: Region::Us });
    ///
    /// let err = Request::from_pairs(&[("method", "GET"), ("method", "POST"), ("region", "eu")]).unwrap_err();
    /// assert_eq!(err, TagSetError::RepeatedTag { name: "method" });
    /// assert!(matches!(Request::from_pairs(&[("method", "PUT"), ("region", "eu")]), Err(TagSetError::InvalidValue(_))));
    /// assert_eq!(<()>::from_pairs(&[]), Ok(()));
    /// ```
    ///
    /// # Errors
    ///
    /// [`TagSetError`] when a name is unknown, repeated or missing, or a value is not allowed.
    fn from_pairs(pairs: &[(&str, &str)]) -> Result<Self, TagSetError>;

    /// The value of each label of series `index`, in [`TagSet::NAMES`] order.
    #[doc(hidden)]
    fn label_value(index: usize, label: usize) -> &'static str;

    /// Appends the escaped label pairs of series `index`: `a="x",b="y"`, nothing for `()`.
    #[doc(hidden)]
    fn write_labels(index: usize, out: &mut String);
}

// SAFETY: `index` is always 0 and `CARDINALITY` is 1; `Array<V>` is `[V; 1]`.
unsafe impl TagSet for () {
    const CARDINALITY: usize = 1;
    const NAMES: &'static [&'static str] = &[];
    const LABEL_VALUES: &'static [&'static [&'static str]] = &[];
    type Array<V: ConstInit + Send + Sync> = [V; 1];

    #[inline(always)]
    fn index(self) -> usize {
        0
    }

    fn from_index(index: usize) -> Option<Self> {
        (index == 0).then_some(())
    }

    fn from_pairs(pairs: &[(&str, &str)]) -> Result<Self, TagSetError> {
        match pairs.first() {
            None => Ok(()),
            Some((name, _)) => Err(TagSetError::UnknownTag { name: (*name).to_owned(), allowed: &[] }),
        }
    }

    fn label_value(_: usize, _: usize) -> &'static str {
        ""
    }

    fn write_labels(_: usize, _: &mut String) {}
}

/// A label value that is not one of a [`Tag`]'s values.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{ParseTagError, Tag};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(name = "method", rename_all = "UPPERCASE")]
/// enum Method { Get, Post }
///
/// let err: ParseTagError = "DELETE".parse::<Method>().unwrap_err();
/// assert_eq!(err.to_string(), "`DELETE` is not a value of tag `method`; expected one of `GET`, `POST`");
/// // What to record instead is the caller's choice:
/// let method = "DELETE".parse().unwrap_or(Method::Get);
/// assert_eq!(method, Method::Get);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseTagError {
    tag: &'static str,
    value: String,
    allowed: &'static [&'static str],
}

impl ParseTagError {
    #[doc(hidden)]
    #[cold]
    pub fn new(tag: &'static str, value: &str, allowed: &'static [&'static str]) -> Self {
        Self { tag, value: value.to_owned(), allowed }
    }

    /// The tag (label name) being parsed.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Tag;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "region", rename_all = "lowercase")]
    /// enum Region { Eu, Us }
    ///
    /// let err = "mars".parse::<Region>().unwrap_err();
    /// assert_eq!(err.tag(), "region");
    /// ```
    pub fn tag(&self) -> &'static str {
        self.tag
    }

    /// The rejected input.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Tag;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "region", rename_all = "lowercase")]
    /// enum Region { Eu, Us }
    ///
    /// let err = "EU".parse::<Region>().unwrap_err();
    /// assert_eq!(err.value(), "EU");
    /// ```
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The values the tag accepts.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_runtime::Tag;
    ///
    /// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    /// #[tag(name = "region", rename_all = "lowercase")]
    /// enum Region { Eu, Us }
    ///
    /// let err = "asia".parse::<Region>().unwrap_err();
    /// assert_eq!(err.allowed(), ["eu", "us"]);
    /// assert_eq!(err.allowed(), Region::VALUES);
    /// ```
    pub fn allowed(&self) -> &'static [&'static str] {
        self.allowed
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[&str]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "`{item}`")?;
    }
    Ok(())
}

impl fmt::Display for ParseTagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a value of tag `{}`; expected one of ", self.value.escape_debug(), self.tag)?;
        write_list(f, self.allowed)
    }
}

impl std::error::Error for ParseTagError {}

/// Why [`TagSet::from_pairs`] rejected its input.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{Tag, TagSet, TagSetError};
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(name = "method", rename_all = "UPPERCASE")]
/// enum Method { Get, Post }
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// #[tag(name = "region", rename_all = "lowercase")]
/// enum Region { Eu, Us }
///
/// #[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
/// struct Request { method: Method, region: Region }
///
/// let err = Request::from_pairs(&[("method", "GET"), ("zone", "eu")]).unwrap_err();
/// assert_eq!(err, TagSetError::UnknownTag { name: "zone".into(), allowed: &["method", "region"] });
/// assert_eq!(err.to_string(), "unknown tag `zone`; expected one of `method`, `region`");
///
/// let err = Request::from_pairs(&[("method", "GET")]).unwrap_err();
/// assert_eq!(err.to_string(), "missing tag `region`; every tag of the set needs a value");
///
/// match Request::from_pairs(&[("method", "PATCH"), ("region", "eu")]) {
///     Err(TagSetError::InvalidValue(e)) => assert_eq!(e.value(), "PATCH"),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TagSetError {
    /// A pair names a tag that the set does not have; use one of `allowed`.
    UnknownTag {
        /// The unknown name.
        name: String,
        /// The names the set has.
        allowed: &'static [&'static str],
    },
    /// A tag of the set has no pair; every tag needs exactly one.
    MissingTag {
        /// The missing name.
        name: &'static str,
    },
    /// A tag appears in two pairs; give each tag once.
    RepeatedTag {
        /// The repeated name.
        name: &'static str,
    },
    /// A value is not one of its tag's values.
    InvalidValue(ParseTagError),
}

impl fmt::Display for TagSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownTag { name, allowed: [] } => {
                write!(f, "unknown tag `{}`; this metric has no tags", name.escape_debug())
            }
            Self::UnknownTag { name, allowed } => {
                write!(f, "unknown tag `{}`; expected one of ", name.escape_debug())?;
                write_list(f, allowed)
            }
            Self::MissingTag { name } => write!(f, "missing tag `{name}`; every tag of the set needs a value"),
            Self::RepeatedTag { name } => write!(f, "tag `{name}` is given more than once"),
            Self::InvalidValue(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TagSetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidValue(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ParseTagError> for TagSetError {
    fn from(e: ParseTagError) -> Self {
        Self::InvalidValue(e)
    }
}
