//! The same workloads through ours, a raw-atomic floor and each peer library, one criterion
//! group per workload so that the report puts them side by side.
//!
//! Bench IDs are `workload/library`:
//!
//! - `floor*`: hand-written code on plain atomics (or, for `render_1000`, a hand-written writer
//!   of the same text), the best a metrics library can do;
//! - `ours`: `metrics_runtime` through a `#[derive(Metrics)]` struct;
//! - `metrics` (with `metrics-exporter-prometheus` as the recorder), `prometheus` (and
//!   `prometheus_static`, its `make_static_metric!`), `prometheus_client`, `measured`,
//!   `metrics_lib`: the peers, each through its fastest documented API for the workload;
//!   `metrics*_drained` also time the exporter's upkeep, where `metrics` does the per-value
//!   work its `record` defers (see [`chunked`]).
//!
//! Tagged workloads go through each library's *lookup* path on every call (no cached handle),
//! with the tags rotating through a precomputed pseudo-random sequence read as `seq[i & MASK]`;
//! every library gets the same sequence (see `benches::index_sequence` and
//! `benches::value_sequence`).

mod support;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use benches::{
    boxed, counter_values, index_sequence, rotating, threads, value_sequence, BOUNDS, TAG_SEQ_LEN, VALUE_MASK,
};
use criterion::{criterion_group, criterion_main, Criterion};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_runtime::{Tag, TagSet, DEFAULT_BUCKETS};
use support::ours::{PeerMetrics, RenderMetrics};
use support::{Http, MeasuredHttp, MeasuredRender, MeasuredRoute, PcHttp, PcRoute, Route, StaticHttp};

/// The instance every recording bench of ours records into.
static OURS: PeerMetrics = PeerMetrics::new();

/// The 1000-series family of ours for `render_1000`.
static OURS_RENDER: RenderMetrics = RenderMetrics::new();

/// Floor of `counter_inc`: one plain atomic.
static FLOOR_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Floor of `counter_inc_tagged`: one plain atomic per tag combination.
static FLOOR_SERIES: [AtomicU64; 12] = [const { AtomicU64::new(0) }; 12];

/// Floor of `histogram_record`: one plain atomic per bucket (11 bounds plus `+Inf`).
static FLOOR_BUCKETS: [AtomicU64; 12] = [const { AtomicU64::new(0) }; 12];

/// Floor of `contended_2`: one plain atomic shared by both threads.
static FLOOR_SHARED: AtomicU64 = AtomicU64::new(0);

/// Name of the `metrics` histogram that the exporter renders with [`BOUNDS`] as buckets.
const METRICS_HISTOGRAM: &str = "peer_latency_seconds";

/// Name of the `metrics` histogram that the exporter renders as a summary (no buckets set).
const METRICS_SUMMARY: &str = "peer_checkout_seconds";

/// Records buffered by a `metrics` histogram between two upkeeps (see [`chunked`]).
const METRICS_CHUNK: u64 = 1 << 16;

/// The `metrics` global recorder: `metrics-exporter-prometheus`'s, installed once (the setup
/// its docs recommend: `install_recorder` minus the HTTP listener), and its handle.
fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(METRICS_HISTOGRAM.to_owned()), &BOUNDS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).expect("no other global recorder in this process");
        handle
    })
}

/// The recording loop of a `metrics` histogram: `iters` calls of `record(i)`, with an upkeep
/// (`PrometheusHandle::run_upkeep`, which drains the recorded values into the exporter's
/// histogram or summary) every [`METRICS_CHUNK`] records.
///
/// `metrics` defers all per-value work to the upkeep: `record` only appends `(value, time)` to
/// a lock-free list, which grows without bound until drained (16 bytes per value: a few GB per
/// bench without upkeep). With `timed_upkeep == false` only the appends are timed (the upkeep
/// runs on a background thread in a real deployment); with `true` the drain is included,
/// amortised, which is what recording a value costs the process in total.
fn chunked(iters: u64, timed_upkeep: bool, mut record: impl FnMut(usize)) -> Duration {
    let handle = metrics_handle();
    let mut elapsed = Duration::ZERO;
    let mut i = 0usize;
    let mut left = iters;
    while left > 0 {
        let n = left.min(METRICS_CHUNK);
        let t0 = Instant::now();
        for _ in 0..n {
            record(i);
            i = i.wrapping_add(1);
        }
        if timed_upkeep {
            handle.run_upkeep();
            elapsed += t0.elapsed();
        } else {
            elapsed += t0.elapsed();
            handle.run_upkeep();
        }
        left -= n;
    }
    elapsed
}

/// The tag sequence as our tag sets.
fn http_sequence() -> Box<[Http; TAG_SEQ_LEN]> {
    let idx = index_sequence(Http::CARDINALITY);
    boxed(|i| Http::from_index(idx[i]).expect("index below cardinality"))
}

/// Untagged counter increment: each library's cheapest handle, obtained once.
fn counter_inc(c: &mut Criterion) {
    let mut g = c.benchmark_group("counter_inc");

    // One relaxed `fetch_add` on a static.
    g.bench_function("floor", |b| {
        b.iter(|| {
            black_box(&FLOOR_COUNTER).fetch_add(1, Relaxed);
        })
    });

    // A field of a static `#[derive(Metrics)]` struct.
    g.bench_function("ours", |b| b.iter(|| black_box(&OURS).ops_total.inc()));

    // A `metrics::Counter` handle registered once: a virtual call into the exporter's storage
    // (an `Arc<AtomicU64>` plus a generation counter for idle-metric expiry).
    metrics_handle();
    let counter = metrics::counter!("peer_ops_total");
    g.bench_function("metrics", |b| b.iter(|| black_box(&counter).increment(1)));

    // `IntCounter`: an `Arc` around an `AtomicU64`.
    let counter = prometheus::IntCounter::new("peer_ops_total", "Operations.").expect("valid name");
    g.bench_function("prometheus", |b| b.iter(|| black_box(&counter).inc()));

    // `Counter<u64, AtomicU64>`: an `Arc` around an `AtomicU64`.
    let counter: prometheus_client::metrics::counter::Counter = Default::default();
    g.bench_function("prometheus_client", |b| b.iter(|| black_box(&counter).inc()));

    // `measured::Counter`: a metric with a single `CounterState`.
    let counter = measured::Counter::new();
    g.bench_function("measured", |b| b.iter(|| black_box(&counter).inc()));

    // The `Arc<Counter>` handle from a registry lookup done once ("hot paths: keep the handle").
    let registry = metrics_lib::Registry::new();
    let counter = registry.counter("peer_ops_total");
    g.bench_function("metrics_lib", |b| b.iter(|| black_box(&counter).inc()));

    g.finish();
}

/// Tagged counter increment through each library's lookup path, 4 x 3 tag values rotating.
fn counter_inc_tagged(c: &mut Criterion) {
    let idx = index_sequence(Http::CARDINALITY);
    let tags = http_sequence();
    let mut g = c.benchmark_group("counter_inc_tagged");

    // The rotating read of the precomputed slot sequence plus one `fetch_add` on a 12-slot
    // array, with the cost of reading the sequence included (one byte per slot, so that the
    // floor reads the least memory of all).
    let slots: Box<[u8; TAG_SEQ_LEN]> = boxed(|i| u8::try_from(idx[i]).expect("12 slots"));
    g.bench_function("floor_rotating", |b| {
        rotating(b, &slots, |&slot| {
            let slot = usize::from(slot);
            black_box(&FLOOR_SERIES)[slot].fetch_add(1, Relaxed);
        })
    });

    // `.with(tags).inc()`: index arithmetic on the enums, then one relaxed add.
    g.bench_function("ours", |b| {
        rotating(b, &tags, |&t| {
            black_box(&OURS).requests_total.with(t).inc();
        })
    });

    // `counter!(name, k => v, ..)` on every call, the global recorder installed: builds a
    // `Key` (a `Vec` of labels), hashes it, looks it up in the exporter's sharded registry and
    // clones the handle's `Arc`.
    metrics_handle();
    metrics::counter!("peer_requests_total", "method" => "GET", "status" => "2xx").increment(1);
    assert!(metrics_handle().render().contains("peer_requests_total{method=\"GET\",status=\"2xx\"} "));
    let pairs: Box<[(&str, &str); TAG_SEQ_LEN]> = boxed(|i| (tags[i].method.as_str(), tags[i].status.as_str()));
    g.bench_function("metrics", |b| {
        rotating(b, &pairs, |&(method, status)| {
            metrics::counter!("peer_requests_total", "method" => method, "status" => status).increment(1);
        })
    });

    // `with_label_values(&[m, s])`: hashes the values, takes a read lock, clones the `Arc`.
    let vec = prometheus::IntCounterVec::new(
        prometheus::Opts::new("peer_requests_total", "Requests."),
        &["method", "status"],
    )
    .expect("valid names");
    let values: Box<[[&str; 2]; TAG_SEQ_LEN]> = boxed(|i| [tags[i].method.as_str(), tags[i].status.as_str()]);
    g.bench_function("prometheus", |b| {
        rotating(b, &values, |v| {
            black_box(&vec).with_label_values(v).inc();
        })
    });

    // `make_static_metric!` with label enums: `.get(m).get(s)` is two `match`es on the enums
    // over handles resolved once, then the `IntCounter` add.
    let vec = prometheus::IntCounterVec::new(
        prometheus::Opts::new("peer_requests_total", "Requests."),
        &["method", "status"],
    )
    .expect("valid names");
    let statics = StaticHttp::from(&vec);
    let static_tags: Box<[_; TAG_SEQ_LEN]> = boxed(|i| tags[i].to_static());
    g.bench_function("prometheus_static", |b| {
        rotating(b, &static_tags, |&(method, status)| {
            black_box(&statics).get(method).get(status).inc();
        })
    });

    // `Family::get_or_create(&labels)`: a read lock and a SipHash map lookup.
    let family =
        prometheus_client::metrics::family::Family::<PcHttp, prometheus_client::metrics::counter::Counter>::default();
    let pc_tags: Box<[PcHttp; TAG_SEQ_LEN]> = boxed(|i| PcHttp { method: tags[i].method, status: tags[i].status });
    g.bench_function("prometheus_client", |b| rotating(b, &pc_tags, |t| black_box(&family).get_or_create(t).inc()));

    // `CounterVec::inc(group)` with fixed-cardinality labels: index arithmetic into a dense
    // array of lazily initialised, cache-padded cells.
    let vec = measured::CounterVec::<support::MeasuredHttpSet>::new();
    let m_tags: Box<[MeasuredHttp; TAG_SEQ_LEN]> =
        boxed(|i| MeasuredHttp { method: tags[i].method, status: tags[i].status });
    g.bench_function("measured", |b| {
        rotating(b, &m_tags, |&t| {
            black_box(&vec).inc(t);
        })
    });

    // `Registry::counter_with(name, &labels)` with the 12 label sets built once: hashes name
    // and labels, takes a shard read lock, clones the `Arc`.
    let registry = metrics_lib::Registry::new();
    let sets: Vec<metrics_lib::LabelSet> = (0..Http::CARDINALITY)
        .map(|s| {
            let t = Http::from_index(s).expect("index below cardinality");
            metrics_lib::LabelSet::from([("method", t.method.as_str()), ("status", t.status.as_str())])
        })
        .collect();
    let set_refs: Box<[&metrics_lib::LabelSet; TAG_SEQ_LEN]> = boxed(|i| &sets[idx[i]]);
    g.bench_function("metrics_lib", |b| {
        rotating(b, &set_refs, |&labels| {
            black_box(&registry).counter_with("peer_requests_total", labels).inc();
        })
    });

    g.finish();
}

/// Histogram record with the 11 Prometheus default buckets, values rotating over all buckets.
fn histogram_record(c: &mut Criterion) {
    assert_eq!(BOUNDS, DEFAULT_BUCKETS, "the floor must search the same bounds as ours");
    let values = value_sequence();
    let mut g = c.benchmark_group("histogram_record");

    // A hand-written linear search of the 11 bounds plus one `fetch_add` on the bucket; no sum.
    g.bench_function("floor", |b| {
        rotating(b, &values, |&v| {
            let bounds = black_box(&BOUNDS);
            let mut bucket = 0;
            while bucket < bounds.len() && v > bounds[bucket] {
                bucket += 1;
            }
            black_box(&FLOOR_BUCKETS)[bucket].fetch_add(1, Relaxed);
        })
    });

    // The same without the data-dependent branch: count the bounds below the value (what ours
    // does), then one `fetch_add`. The branchy search above mispredicts about once per record
    // on this sequence, so this one is the lower bound of a bucket search plus one add.
    g.bench_function("floor_branchless", |b| {
        rotating(b, &values, |&v| {
            let bucket = black_box(&BOUNDS).iter().map(|b| usize::from(v > *b)).sum::<usize>();
            black_box(&FLOOR_BUCKETS)[bucket].fetch_add(1, Relaxed);
        })
    });

    // Branch-free bucket count, one add, one compare-and-swap on the sum.
    g.bench_function("ours", |b| {
        rotating(b, &values, |&v| {
            black_box(&OURS).latency_seconds.record(v);
        })
    });

    // A `metrics::Histogram` handle registered once; the exporter buckets it at upkeep.
    metrics_handle();
    let histogram = metrics::histogram!(METRICS_HISTOGRAM);
    histogram.record(0.001);
    assert!(metrics_handle().render().contains("peer_latency_seconds_bucket{le=\"0.005\"} "), "bucketed");
    g.bench_function("metrics", |b| {
        b.iter_custom(|iters| chunked(iters, false, |i| black_box(&histogram).record(values[i & VALUE_MASK])))
    });
    g.bench_function("metrics_drained", |b| {
        b.iter_custom(|iters| chunked(iters, true, |i| black_box(&histogram).record(values[i & VALUE_MASK])))
    });

    // `Histogram` with `DEFAULT_BUCKETS` (the same 11): an acquire add picking the "hot" shard,
    // linear search, bucket add, CAS on the sum, release add on the shard count.
    let histogram =
        prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("peer_latency_seconds", "Latency."))
            .expect("valid options");
    assert_eq!(prometheus::DEFAULT_BUCKETS, &BOUNDS);
    g.bench_function("prometheus", |b| {
        rotating(b, &values, |&v| {
            black_box(&histogram).observe(v);
        })
    });

    // `Histogram::new(buckets)`: a mutex around the buckets.
    let histogram = prometheus_client::metrics::histogram::Histogram::new(BOUNDS);
    g.bench_function("prometheus_client", |b| {
        rotating(b, &values, |&v| {
            black_box(&histogram).observe(v);
        })
    });

    // `Histogram<11>` with the same thresholds: binary search, a shared read lock, bucket add
    // and a CAS on the sum.
    let histogram =
        measured::Histogram::<11>::with_metadata(measured::metric::histogram::Thresholds::with_buckets(BOUNDS));
    g.bench_function("measured", |b| {
        rotating(b, &values, |&v| {
            black_box(&histogram).observe(v);
        })
    });

    // `Histogram::with_buckets`: binary search, bucket add, count add, CAS on the sum.
    let histogram = metrics_lib::Histogram::with_buckets(BOUNDS);
    g.bench_function("metrics_lib", |b| {
        rotating(b, &values, |&v| {
            black_box(&histogram).observe(v);
        })
    });

    g.finish();
}

/// Quantile summaries: ours against `metrics`' histogram (rendered as a summary) and
/// metrics-lib's `Summary`, same value sequence.
fn summary_record(c: &mut Criterion) {
    let values = value_sequence();
    let mut g = c.benchmark_group("summary_record");

    // Amortised cost, including the lock-protected drain into the staging buckets every 128
    // records and the merge of the buckets into the t-digest every 32,768 values.
    g.bench_function("ours", |b| {
        rotating(b, &values, |&v| {
            black_box(&OURS).checkout_seconds.record(v);
        })
    });

    // `histogram!` without buckets: the exporter renders it as a summary, folding the values
    // into its quantile sketch at upkeep. Append only, then append plus the drain.
    metrics_handle();
    let histogram = metrics::histogram!(METRICS_SUMMARY);
    histogram.record(0.001);
    assert!(metrics_handle().render().contains("peer_checkout_seconds{quantile=\"0.5\"} "), "a summary");
    g.bench_function("metrics_histogram", |b| {
        b.iter_custom(|iters| chunked(iters, false, |i| black_box(&histogram).record(values[i & VALUE_MASK])))
    });
    g.bench_function("metrics_histogram_drained", |b| {
        b.iter_custom(|iters| chunked(iters, true, |i| black_box(&histogram).record(values[i & VALUE_MASK])))
    });

    // `Summary::new()`: a DDSketch over the whole lifetime (no sliding window), lock-free.
    let summary = metrics_lib::Summary::new();
    g.bench_function("metrics_lib", |b| {
        rotating(b, &values, |&v| {
            black_box(&summary).observe(v);
        })
    });

    g.finish();
}

/// HELP text of the render family, the same for every library.
const RENDER_HELP: &str = "Requests served, by handler and status code.";

/// Checks that `text` holds the 1000 series of the render family with the values set, whatever
/// the library's label order and series order, so that no `render_1000` bench renders less.
fn check_render(library: &str, text: &str, values: &[u64]) {
    let samples: Vec<u64> = text
        .lines()
        .filter(|l| l.starts_with("bench_requests_total{"))
        .map(|l| l.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("an integer sample value"))
        .collect();
    assert_eq!(samples.len(), values.len(), "{library} renders every series");
    let sum = |v: &[u64]| v.iter().fold(0u64, |a, &b| a.wrapping_add(b));
    assert_eq!(sum(&samples), sum(values), "{library} renders the values set");
}

/// Rendering a 1000-series counter family (40 handlers x 25 codes) to the Prometheus text
/// format into a reused buffer.
fn render_1000(c: &mut Criterion) {
    assert_eq!(Route::CARDINALITY, 1000);
    let routes: Vec<Route> =
        (0..Route::CARDINALITY).map(|s| Route::from_index(s).expect("below cardinality")).collect();
    let values = counter_values(Route::CARDINALITY);
    let mut g = c.benchmark_group("render_1000");

    // Floor: the exact text of ours, from precomputed per-series prefixes, `itoa` and one
    // relaxed load per series.
    let header = format!("# HELP bench_requests_total {RENDER_HELP}\n# TYPE bench_requests_total counter\n");
    let prefixes: Vec<String> = routes
        .iter()
        .map(|r| format!("bench_requests_total{{handler=\"{}\",code=\"{}\"}} ", r.handler.as_str(), r.code.as_str()))
        .collect();
    let cells: Vec<AtomicU64> = values.iter().map(|&v| AtomicU64::new(v)).collect();
    let floor = |buf: &mut String| {
        buf.push_str(&header);
        for (prefix, cell) in prefixes.iter().zip(&cells) {
            buf.push_str(prefix);
            buf.push_str(itoa::Buffer::new().format(cell.load(Relaxed)));
            buf.push('\n');
        }
    };

    // Ours: the values set once (the group function runs once per process).
    for (r, &v) in routes.iter().zip(&values) {
        OURS_RENDER.requests_total.with(*r).add(v);
    }
    let mut expected = String::new();
    floor(&mut expected);
    assert_eq!(OURS_RENDER.render_prometheus(), expected, "the floor writes the same text as ours");

    let mut buf = String::with_capacity(2 * expected.len());
    g.bench_function("floor", |b| {
        b.iter(|| {
            buf.clear();
            floor(&mut buf);
            black_box(&buf);
        })
    });
    g.bench_function("ours", |b| {
        b.iter(|| {
            buf.clear();
            OURS_RENDER.write_prometheus(&mut buf);
            black_box(&buf);
        })
    });

    // prometheus-client: `encode` (OpenMetrics text: `_total` samples and `# EOF`) over a
    // registry holding one `Family`.
    let mut registry = prometheus_client::registry::Registry::default();
    let family =
        prometheus_client::metrics::family::Family::<PcRoute, prometheus_client::metrics::counter::Counter>::default();
    registry.register("bench_requests", RENDER_HELP, family.clone());
    for (r, &v) in routes.iter().zip(&values) {
        family.get_or_create(&PcRoute { handler: r.handler, code: r.code }).inc_by(v);
    }
    buf.clear();
    prometheus_client::encoding::text::encode(&mut buf, &registry).expect("writing to a String");
    check_render("prometheus-client", &buf, &values);
    g.bench_function("prometheus_client", |b| {
        b.iter(|| {
            buf.clear();
            prometheus_client::encoding::text::encode(&mut buf, &registry).expect("writing to a String");
            black_box(&buf);
        })
    });

    // metrics-exporter-prometheus: `PrometheusHandle::render_to_write` into a reused `Vec`
    // (`render()` is the same plus a fresh `String`), on a recorder of its own.
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_counter!("bench_requests_total", RENDER_HELP);
        for (r, &v) in routes.iter().zip(&values) {
            metrics::counter!("bench_requests_total", "handler" => r.handler.as_str(), "code" => r.code.as_str())
                .absolute(v);
        }
    });
    check_render("metrics-exporter-prometheus", &handle.render(), &values);
    let mut bytes = Vec::with_capacity(2 * expected.len());
    g.bench_function("metrics_exporter_prometheus", |b| {
        b.iter(|| {
            bytes.clear();
            handle.render_to_write(&mut bytes).expect("writing to a Vec");
            black_box(&bytes);
        })
    });

    // prometheus: `Registry::gather` (a snapshot into its protobuf-shaped structs, sorted)
    // then `TextEncoder::encode` into a reused `Vec`; both are what a scrape runs.
    let registry = support::prometheus_render_registry(&routes, &values);
    let text = prometheus::TextEncoder::new().encode_to_string(&registry.gather()).expect("valid families");
    check_render("prometheus", &text, &values);
    g.bench_function("prometheus", |b| {
        b.iter(|| {
            bytes.clear();
            let families = registry.gather();
            prometheus::Encoder::encode(&prometheus::TextEncoder::new(), &families, &mut bytes)
                .expect("writing to a Vec");
            black_box(&bytes);
        })
    });

    // measured: `collect_group_into` a reused `BufferedTextEncoder`, then `finish` (what its
    // docs recommend: "this should ideally be cached and re-used between collections").
    let group = MeasuredRender::new();
    for (r, &v) in routes.iter().zip(&values) {
        group.bench_requests_total.inc_by(MeasuredRoute { handler: r.handler, code: r.code }, v);
    }
    let mut encoder = measured::text::BufferedTextEncoder::new();
    measured::MetricGroup::collect_group_into(&group, &mut encoder).expect("infallible");
    check_render("measured", std::str::from_utf8(&encoder.finish()).expect("UTF-8"), &values);
    g.bench_function("measured", |b| {
        b.iter(|| {
            measured::MetricGroup::collect_group_into(&group, &mut encoder).expect("infallible");
            black_box(encoder.finish())
        })
    });

    // metrics-lib: `exporters::prometheus::render_into` a reused `String`.
    let registry = metrics_lib::Registry::new();
    for (r, &v) in routes.iter().zip(&values) {
        let labels = metrics_lib::LabelSet::from([("handler", r.handler.as_str()), ("code", r.code.as_str())]);
        registry.counter_with("bench_requests_total", &labels).add(v);
    }
    buf.clear();
    metrics_lib::exporters::prometheus::render_into(&mut buf, &registry);
    check_render("metrics-lib", &buf, &values);
    g.bench_function("metrics_lib", |b| {
        b.iter(|| {
            buf.clear();
            metrics_lib::exporters::prometheus::render_into(&mut buf, &registry);
            black_box(&buf);
        })
    });

    g.finish();
}

/// The sharded series of `contended_2`.
static SHARDED: metrics_runtime::ShardedCounter = metrics_runtime::ShardedCounter::new();

/// Two threads incrementing one series: the time per increment per thread.
fn contended_2(c: &mut Criterion) {
    let mut g = c.benchmark_group("contended_2");
    // Two busy threads on a 2-vCPU machine: any other runnable task takes a core from one of
    // them, and 3 s samples swing by 30% from run to run. Longer runs settle within 5%; the
    // group's settings take precedence over the command line's.
    g.warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(10));

    g.bench_function("floor_shared_atomic", |b| {
        threads::<2>(b, || {
            black_box(&FLOOR_SHARED).fetch_add(1, Relaxed);
        })
    });
    g.bench_function("ours", |b| threads::<2>(b, || black_box(&OURS).contended_total.inc()));
    // The contention option: a `ShardedCounter` series, each thread on its own cache line.
    g.bench_function("ours_sharded", |b| threads::<2>(b, || black_box(&SHARDED).inc()));
    // The same sharded series from one thread, same harness: the single-thread throughput.
    g.bench_function("ours_sharded_1_thread", |b| threads::<1>(b, || black_box(&SHARDED).inc()));

    g.finish();
}

criterion_group!(benches, counter_inc, counter_inc_tagged, histogram_record, summary_record, render_1000, contended_2);
criterion_main!(benches);
