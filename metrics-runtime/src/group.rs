//! The trait that `#[derive(Metrics)]` implements.

/// A struct of metrics, as produced by `#[derive(Metrics)]`.
///
/// The derive also adds inherent `new` (a `const fn`), `render_prometheus` and
/// `write_prometheus` methods, so most code never names this trait; it exists for code that
/// handles several metric structs generically.
pub trait Metrics: Send + Sync {
    /// The exposed metric family names, namespace included, in declaration order.
    const NAMES: &'static [&'static str];

    /// Appends the Prometheus text format (0.0.4) exposition of every metric to `out`.
    ///
    /// Every series of a tagged metric is written, zero values included.
    fn write_prometheus(&self, out: &mut String);

    /// The Prometheus text format (0.0.4) exposition of every metric.
    fn render_prometheus(&self) -> String {
        let mut out = String::new();
        self.write_prometheus(&mut out);
        out
    }
}
