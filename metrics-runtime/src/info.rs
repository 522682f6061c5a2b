//! Info metrics: labels that describe the process (version, commit, compiler), value 1.

use core::fmt;
use std::sync::OnceLock;

use crate::read::{process_start_time, Labels, MetricDesc, Series, Visitor};

/// Why [`Info::set`] refused its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InfoError {
    /// The labels were set already (they are set once, before the first scrape).
    AlreadySet,
    /// A label name or value that the exposition formats refuse; the message says which.
    Invalid(String),
}

impl fmt::Display for InfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InfoError::AlreadySet => f.write_str("the info metric's labels are set already; set them once, at start"),
            InfoError::Invalid(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for InfoError {}

/// The labels, escaped once for the text formats.
struct InfoLabels {
    pairs: Vec<(Box<str>, Box<str>)>,
    text: String,
}

impl Labels for InfoLabels {
    fn len(&self) -> usize {
        self.pairs.len()
    }

    fn pairs(&self, f: &mut dyn FnMut(&str, &str)) {
        for (name, value) in &self.pairs {
            f(name, value);
        }
    }

    fn write_text(&self, out: &mut String) {
        out.push_str(&self.text);
    }
}

/// An info metric (OpenMetrics type `info`): one series whose labels describe the process,
/// value 1, such as `shop_build_info{version="1.4.2",rustc="1.95.0"} 1`. Its name ends in
/// `_info`; OpenMetrics exposes it as type `info` (family without `_info`), Prometheus text
/// and protobuf as a gauge.
///
/// The labels are set once, at start ([`Info::set`]); until then the series has no labels.
/// [`build_info!`](crate::build_info) gives the usual ones.
///
/// # Examples
///
/// ```
/// use metrics_runtime::{build_info, Info, Metrics};
///
/// #[derive(Metrics)]
/// #[metrics(namespace = "shop")]
/// struct Shop {
///     /// Build of the running binary.
///     build_info: Info,
/// }
///
/// let shop = Shop::new();
/// shop.build_info.set(build_info!()).unwrap();
/// assert!(shop.build_info.set(&[("version", "2")]).is_err()); // once
/// let om = shop.render_openmetrics();
/// assert!(om.contains("# TYPE shop_build info\n"));
/// assert!(om.contains(&format!("shop_build_info{{version=\"{}\",rustc=\"", env!("CARGO_PKG_VERSION"))));
/// assert!(shop.render_prometheus().contains("# TYPE shop_build_info gauge\n"));
/// ```
pub struct Info {
    labels: OnceLock<InfoLabels>,
}

impl Info {
    /// An info metric whose labels are not set yet.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self { labels: OnceLock::new() }
    }

    /// Sets the labels, once: names as the tag rules require, values of at most 1024 bytes.
    ///
    /// # Errors
    ///
    /// [`InfoError::AlreadySet`] on a second call, [`InfoError::Invalid`] for a bad name or
    /// value (or a repeated name); nothing is set then.
    pub fn set(&self, labels: &[(&str, &str)]) -> Result<(), InfoError> {
        for (i, (name, value)) in labels.iter().enumerate() {
            metrics_rules::check_label_name(name).map_err(InfoError::Invalid)?;
            metrics_rules::check_label_value(value).map_err(InfoError::Invalid)?;
            if labels[..i].iter().any(|(n, _)| n == name) {
                return Err(InfoError::Invalid(format!("label `{name}` is given twice")));
            }
        }
        let mut text = String::new();
        crate::expose::push_label_text(&mut text, labels.iter().copied());
        let pairs = labels.iter().map(|(n, v)| (Box::from(*n), Box::from(*v))).collect();
        self.labels.set(InfoLabels { pairs, text }).map_err(|_| InfoError::AlreadySet)
    }

    /// The labels set, if any.
    pub fn labels(&self) -> Option<Vec<(&str, &str)>> {
        self.labels.get().map(|l| l.pairs.iter().map(|(n, v)| (&**n, &**v)).collect())
    }

    /// Hands the series to `visitor` (what the derived [`Metrics::visit`](crate::Metrics::visit)
    /// does for this field).
    pub fn visit(&self, desc: &MetricDesc<'_>, visitor: &mut dyn Visitor) {
        static NONE: InfoLabels = InfoLabels { pairs: Vec::new(), text: String::new() };
        let labels: &InfoLabels = self.labels.get().unwrap_or(&NONE);
        visitor.begin_metric(desc);
        visitor.info(desc, Series { index: 0, labels, created: process_start_time() });
        visitor.end_metric(desc);
    }
}

impl fmt::Debug for Info {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Info").field("labels", &self.labels()).finish()
    }
}

/// The rustc that built this crate (`rustc --version`'s version), for [`build_info!`](crate::build_info); the
/// same toolchain builds the crates that use it.
pub const RUSTC_VERSION: &str = env!("METRICS_RUNTIME_RUSTC_VERSION");

/// The labels of a `*_build_info` metric: `version` (the calling crate's `CARGO_PKG_VERSION`),
/// `rustc` (the compiler's version) and, when the calling crate is compiled with
/// `VERGEN_GIT_SHA` or `GIT_COMMIT` in its environment, `revision` (the Prometheus Go
/// client's name for the commit), for [`Info::set`](crate::Info::set).
///
/// The commit is read at compile time of the crate that calls the macro: a build script there
/// sets it (`println!("cargo:rustc-env=GIT_COMMIT={sha}")` with the output of
/// `git rev-parse --short HEAD`), as the `examples` crate of this repository does, or the
/// `vergen` crate's `VERGEN_GIT_SHA`.
///
/// ```
/// let labels = metrics_runtime::build_info!();
/// assert_eq!(labels[0], ("version", env!("CARGO_PKG_VERSION")));
/// assert_eq!(labels[1].0, "rustc");
/// assert!(labels[1].1.chars().next().unwrap().is_ascii_digit());
/// match option_env!("GIT_COMMIT") {
///     Some(sha) => assert_eq!(labels[2], ("revision", sha)),
///     None => assert!(labels.len() == 2 || labels[2].0 == "revision"),
/// }
/// ```
#[macro_export]
macro_rules! build_info {
    () => {{
        const VERSION: (&str, &str) = ("version", ::core::env!("CARGO_PKG_VERSION"));
        const RUSTC: (&str, &str) = ("rustc", $crate::RUSTC_VERSION);
        const LABELS: &[(&str, &str)] = match (::core::option_env!("VERGEN_GIT_SHA"), ::core::option_env!("GIT_COMMIT"))
        {
            (::core::option::Option::Some(sha), _)
            | (::core::option::Option::None, ::core::option::Option::Some(sha)) => &[VERSION, RUSTC, ("revision", sha)],
            _ => &[VERSION, RUSTC],
        };
        LABELS
    }};
}
