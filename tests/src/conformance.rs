//! A schema with every metric type, tags, a namespace, units, and awkward label values and HELP
//! text: what the conformance tests render and hand to real parsers and servers.

use metrics_runtime::{Counter, Gauge, Histogram, Metrics, Summary, Tag, TagSet};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "path")]
pub enum Awkward {
    #[tag(value = "say \"hi\"")]
    Quoted,
    #[tag(value = "C:\\temp\\")]
    Backslash,
    #[tag(value = "two\nlines")]
    Newline,
    #[tag(value = "grüße/東京 🚀")]
    Unicode,
    #[tag(value = "{a=\"b\"},")]
    LooksLikeLabels,
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(rename_all = "lowercase")]
pub enum Region {
    Eu,
    Us,
}

#[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Req {
    pub path: Awkward,
    pub region: Region,
}

#[derive(Metrics)]
#[metrics(namespace = "conf")]
pub struct Conformance {
    /// Requests with "quotes", a back\slash and non-ASCII: grüße.
    pub requests_total: Counter<Req>,
    /// Bytes sent.
    #[metric(unit = "bytes")]
    pub sent_bytes_total: Counter,
    /// Queue depth
    /// over two doc lines.
    pub queue_depth: Gauge<Region>,
    /// Temperature.
    #[metric(unit = "celsius")]
    pub temperature_celsius: Gauge,
    /// Latency.
    #[metric(unit = "seconds", buckets = [0.001, 0.01, 0.1, 1.0])]
    pub latency_seconds: Histogram<Awkward>,
    /// Sizes with default buckets.
    pub payload: Histogram,
    /// Checkout quantiles.
    #[metric(unit = "seconds", quantiles = [0.5, 0.99])]
    pub checkout_seconds: Summary<Region>,
    #[metric(help = "Explicit help with a newline\nand a tab\t.")]
    pub plain_quantiles: Summary,
}

pub fn populated() -> Conformance {
    let m = Conformance::new();
    m.requests_total.with(Req { path: Awkward::Quoted, region: Region::Eu }).add(3);
    m.requests_total.with(Req { path: Awkward::Unicode, region: Region::Us }).inc();
    m.sent_bytes_total.add(1_000_000_007);
    m.queue_depth.with(Region::Us).set(-2.5);
    m.temperature_celsius.set(21.25);
    m.latency_seconds.with(Awkward::Newline).record(0.005);
    m.latency_seconds.with(Awkward::Newline).record(5.0);
    m.payload.record(0.3);
    for i in 0..100 {
        m.checkout_seconds.with(Region::Eu).record(f64::from(i));
    }
    m.plain_quantiles.record(1.5);
    m
}
