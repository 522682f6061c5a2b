// A tag set is a `#[derive(TagSet)]` struct, a single `#[derive(Tag)]` enum, or `()`.
use metrics_runtime::{Counter, Gauge, Histogram, Metrics, Summary, Tag, TagSet};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheResult {
    Hit,
    Miss,
}

#[derive(Metrics)]
pub struct CacheMetrics {
    /// Lookups by result.
    lookups_total: Counter<CacheResult>,
    /// Evictions.
    evictions_total: Counter<()>,
    /// Entries, by the result that inserted them.
    entries: Gauge<CacheResult>,
    /// Size of the cache.
    #[metric(unit = "bytes")]
    size_bytes: Gauge<()>,
    /// Lookup time by result.
    #[metric(unit = "seconds")]
    lookup_seconds: Histogram<CacheResult>,
    /// Load time by result.
    #[metric(unit = "seconds")]
    load_seconds: Summary<CacheResult>,
}

static METRICS: CacheMetrics = CacheMetrics::new();

fn main() {
    assert_eq!(<CacheResult as TagSet>::CARDINALITY, 2);
    assert_eq!(<CacheResult as TagSet>::NAMES, &["cache_result"]);
    assert_eq!(<() as TagSet>::CARDINALITY, 1);
    assert_eq!("miss".parse::<CacheResult>(), Ok(CacheResult::Miss));
    assert_eq!(CacheResult::from_pairs(&[("cache_result", "hit")]), Ok(CacheResult::Hit));
    assert!(CacheResult::from_pairs(&[("result", "hit")]).is_err());

    METRICS.lookups_total.with(CacheResult::Hit).inc();
    METRICS.evictions_total.inc();
    METRICS.evictions_total.with(()).inc();
    METRICS.entries.with(CacheResult::Miss).set(4.0);
    METRICS.size_bytes.set(1024.0);
    METRICS.lookup_seconds.with(CacheResult::Hit).record(0.001);
    METRICS.load_seconds.with(CacheResult::Miss).record(0.2);
    assert_eq!(METRICS.evictions_total.get(), 2);

    let text = METRICS.render_prometheus();
    assert!(text.contains("lookups_total{cache_result=\"hit\"} 1\n"), "{text}");
    assert!(text.contains("lookups_total{cache_result=\"miss\"} 0\n"), "{text}");
    assert!(text.contains("evictions_total 2\n"), "{text}");
    assert!(text.contains("entries{cache_result=\"miss\"} 4.0\n"), "{text}");
    assert!(text.contains("lookup_seconds_count{cache_result=\"miss\"} 0\n"), "{text}");
    assert!(text.contains("load_seconds_count{cache_result=\"miss\"} 1\n"), "{text}");
}
