//! Run-time series: our `BoundedRegistry` beside the peers, counters labelled `method` x `route`
//! with every value a string known only at run time, in one run:
//!
//! 1. **Memory and insert at 100,000 series** (4 methods x 25,000 routes), each library in a
//!    child process of its own with a counting allocator: heap bytes per series after the
//!    inserts (label strings included, the family's own fixed cost excluded) and the time per
//!    insert of a new series, amortized over the 100,000 (growth included); the median of 5
//!    processes, the libraries run in turn. Each child fills a first family and drops it, then
//!    measures a second, into the pages the first freed (glibc is told to keep freed memory:
//!    by default it returns it to the kernel and the second family faults its pages in again:
//!    1,120 page faults for ours, 1,582 for measured); the first family's time, into pages the
//!    process never touched, is shown too. Ours, prometheus (`with_label_values`), prometheus-client
//!    (`Family::get_or_create`), measured (`CounterVec` over two `lasso` dynamic labels) and the
//!    floor: a `HashMap<Box<[Box<str>]>, AtomicU64>` (std hasher).
//! 2. **Lookup + increment of an existing series by its strings**, at 100 (4 x 25) and 4,000
//!    (4 x 1,000) series, visited in a 64 Ki-long pseudo-random order (criterion): ours,
//!    prometheus, prometheus-client, measured, and `metrics`' `counter!` into
//!    metrics-exporter-prometheus.
//! 3. **The same from two threads** at 100 and 4,000 series (each thread its own place in the order),
//!    and from one thread in the same harness: the time per increment per thread; the total
//!    rate is threads / time. The floor: the same increments straight into one shared cell per
//!    series, without a lookup.
//!
//! 4. **Ours ÷ each peer, lookup + increment in alternating slices** at 100 and 4,000 series:
//!    20,000 increments of ours, then as many of the peer (the order swapped every pair), 201
//!    pairs; the median and quartiles of the pairs' ratios. This machine's speed drifts by up to
//!    2x over minutes, more than the gaps between libraries; a pair's two slices are a few
//!    milliseconds apart, so the drift cancels out of its ratio (criterion times each library
//!    over seconds of its own).
//!
//! `cargo bench -p benches --bench dynamic` (the memory and paired tables are printed first;
//! `DYNAMIC_BENCH_ONLY=memory`, `=paired` or `=lookups` runs one part).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::hint::black_box;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::Instant;

use benches::{index_sequence, paired, rotating, TAG_SEQ_LEN};
use criterion::{criterion_group, Criterion};
use measured::lasso::ThreadedRodeo;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use metrics_runtime::dynamic::{BoundedConfig, BoundedRegistry, DynCounter};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family as PcFamily;

// ---------------------------------------------------------------------------------------------
// The counting allocator: counts only in the memory children (the lookup benches allocate
// through `System` untouched but for one relaxed load).

struct Counting;
static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: delegates to `System`, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------------------------------------
// Inputs.

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];

/// Route values, as a service would see them.
fn routes(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("/api/v1/resource_{i}")).collect()
}

/// Every series' (method, route), series `k` = method `k % 4` of route `k / 4`.
fn pairs(routes: &[String]) -> Vec<(&str, &str)> {
    routes.iter().flat_map(|r| METHODS.iter().map(move |m| (*m, r.as_str()))).collect()
}

/// prometheus-client's label set: owned strings (its map's key).
#[derive(EncodeLabelSet, Clone, Debug, PartialEq, Eq, Hash)]
struct PcLabels {
    method: String,
    route: String,
}

/// measured's label group: both labels interned at run time (`lasso`).
#[derive(measured::LabelGroup, Clone, Copy)]
#[label(set = MeasuredLabelsSet)]
struct MeasuredLabels<'a> {
    #[label(dynamic_with = ThreadedRodeo, default)]
    method: &'a str,
    #[label(dynamic_with = ThreadedRodeo, default)]
    route: &'a str,
}

/// Ours, with room for every series of the benches and no creation rate limit.
fn ours(name: &str) -> (BoundedRegistry, DynCounter) {
    let registry = BoundedRegistry::new(BoundedConfig {
        max_series_per_family: 200_000,
        max_series_total: 200_000,
        max_new_series_per_sec: u32::MAX,
        ..BoundedConfig::default()
    });
    let family = registry.counter(name, "Hits, by method and route.", &["method", "route"]).expect("valid");
    (registry, family)
}

fn prometheus_vec(name: &str) -> prometheus::IntCounterVec {
    prometheus::IntCounterVec::new(prometheus::Opts::new(name, "Hits, by method and route."), &["method", "route"])
        .expect("valid names")
}

type Pc = PcFamily<PcLabels, PcCounter>;
type Measured = measured::CounterVec<MeasuredLabelsSet>;
type Floor = HashMap<Box<[Box<str>]>, AtomicU64>;

// One increment by (method, route) per library: what every part below times.

/// Ours: a seeded hash of the values, a guard, a probe of the index, the values compared, one
/// relaxed add.
#[inline(always)]
fn inc_ours(f: &DynCounter, m: &str, r: &str) {
    f.inc(&[m, r]).expect("valid");
}

/// prometheus: `with_label_values` hashes (FNV), read-locks, clones an `Arc`.
#[inline(always)]
fn inc_prometheus(f: &prometheus::IntCounterVec, m: &str, r: &str) {
    f.with_label_values(&[m, r]).inc();
}

/// prometheus-client: the owned label set is its key, built per lookup.
#[inline(always)]
fn inc_prometheus_client(f: &Pc, m: &str, r: &str) {
    f.get_or_create(&PcLabels { method: m.to_owned(), route: r.to_owned() }).inc();
}

/// measured: each value interned (lasso), then a sharded map of the ids.
#[inline(always)]
fn inc_measured(f: &Measured, m: &str, r: &str) {
    f.inc(MeasuredLabels { method: m, route: r });
}

/// The four libraries' families of one lookup bench, each holding every series of `pairs`.
struct Peers {
    _registry: BoundedRegistry,
    ours: DynCounter,
    prometheus: prometheus::IntCounterVec,
    prometheus_client: Pc,
    measured: Measured,
}

impl Peers {
    fn filled(name: &str, pairs: &[(&str, &str)]) -> Self {
        let (_registry, ours) = ours(name);
        let peers = Self {
            _registry,
            ours,
            prometheus: prometheus_vec(name),
            prometheus_client: Pc::default(),
            measured: Measured::with_label_set(MeasuredLabelsSet::default()),
        };
        for &(m, r) in pairs {
            inc_ours(&peers.ours, m, r);
            inc_prometheus(&peers.prometheus, m, r);
            inc_prometheus_client(&peers.prometheus_client, m, r);
            inc_measured(&peers.measured, m, r);
        }
        peers
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Memory and insert, in children.

const SERIES: usize = 100_000;
const LIBRARIES: [&str; 5] = ["ours", "prometheus", "prometheus_client", "measured", "hashmap_floor"];
const CHILD_ENV: &str = "DYNAMIC_BENCH_CHILD";
/// Child processes per library (odd: the median is one run).
const ROUNDS: usize = 5;

/// Inserts the 100,000 series into `lib`'s family and prints `bytes-per-series ns-per-insert
/// ns-per-insert-into-fresh-pages`.
fn child(lib: &str) {
    let routes = routes(SERIES / METHODS.len());
    let pairs = pairs(&routes);
    keep_freed_memory();
    // A first family of every series, into pages the process never touched, dropped: the
    // measured one then reuses the pages it freed (the same for every library).
    let (_, fresh) = insert(lib, &pairs);
    COUNTING.store(true, Relaxed);
    let (bytes, ns) = insert(lib, &pairs);
    println!("{bytes} {ns} {fresh}");
}

/// Tells glibc's allocator to keep what is freed for the next allocations: no trimming of the
/// heap's top and no `mmap` of its own for large blocks (which `free` would unmap).
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets the allocator's parameters (no allocation is live across a
    // change of meaning: the thresholds apply to later calls); 32 MiB is glibc's maximum.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
}

/// One family of every series in `pairs`: its heap bytes per series and ns per insert.
fn insert(lib: &str, pairs: &[(&str, &str)]) -> (f64, f64) {
    macro_rules! measure {
        ($family:expr, |$f:ident, $m:ident, $r:ident| $insert:expr) => {{
            #[allow(unused_mut)]
            let mut $f = $family;
            let before = LIVE.load(Relaxed);
            let t0 = Instant::now();
            for &($m, $r) in pairs {
                $insert;
            }
            let elapsed = t0.elapsed();
            let bytes = LIVE.load(Relaxed) - before;
            drop($f);
            (bytes as f64 / SERIES as f64, elapsed.as_nanos() as f64 / SERIES as f64)
        }};
    }
    match lib {
        "ours" => {
            let (registry, family) = ours("route_hits_total");
            let measured = measure!(family, |f, m, r| inc_ours(&f, m, r));
            assert_eq!(registry.series_count(), SERIES);
            measured
        }
        "prometheus" => measure!(prometheus_vec("route_hits_total"), |f, m, r| inc_prometheus(&f, m, r)),
        "prometheus_client" => measure!(Pc::default(), |f, m, r| inc_prometheus_client(&f, m, r)),
        "measured" => {
            measure!(Measured::with_label_set(MeasuredLabelsSet::default()), |f, m, r| inc_measured(&f, m, r))
        }
        "hashmap_floor" => measure!(Floor::new(), |f, m, r| {
            let key: Box<[Box<str>]> = Box::new([m.into(), r.into()]);
            f.entry(key).or_insert_with(|| AtomicU64::new(0)).fetch_add(1, Relaxed);
        }),
        other => panic!("unknown library {other}"),
    }
}

/// Runs each library's child 5 times, the libraries in turn (so that the machine's drift over
/// the run falls on all of them alike), and prints the table (median of each column).
fn memory_table() {
    let exe = std::env::current_exe().expect("the bench binary");
    println!("\n## Run-time series: memory and insert at {SERIES} counter series (method x route), child processes");
    println!("| library | bytes/series | vs ours | ns/insert | vs ours | ns/insert, fresh pages | vs ours |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    // Per library, per column (bytes, ns, ns into fresh pages), one value a child.
    let mut runs: Vec<[Vec<f64>; 3]> = vec![Default::default(); LIBRARIES.len()];
    for _ in 0..ROUNDS {
        for (lib, runs) in LIBRARIES.iter().zip(&mut runs) {
            let out = Command::new(&exe).env(CHILD_ENV, lib).output().expect("the child runs");
            assert!(out.status.success(), "{lib}: {}", String::from_utf8_lossy(&out.stderr));
            let text = String::from_utf8(out.stdout).expect("UTF-8");
            let values: Vec<f64> = text.split_whitespace().map(|v| v.parse().expect("a number")).collect();
            assert_eq!(values.len(), 3, "{lib}: {text}");
            for (column, value) in runs.iter_mut().zip(values) {
                column.push(value);
            }
        }
    }
    let median = |mut column: Vec<f64>| {
        column.sort_by(f64::total_cmp);
        column[ROUNDS / 2]
    };
    let rows: Vec<(&str, [f64; 3])> =
        LIBRARIES.into_iter().zip(runs).map(|(lib, columns)| (lib, columns.map(median))).collect();
    let ours = rows[0].1;
    for (lib, [bytes, ns, fresh]) in rows {
        println!(
            "| {lib} | {bytes:.1} | {:.2} | {ns:.0} | {:.2} | {fresh:.0} | {:.2} |",
            bytes / ours[0],
            ns / ours[1],
            fresh / ours[2]
        );
    }
    println!();
}

// ---------------------------------------------------------------------------------------------
// 4. Lookups, ours ÷ each peer in alternating slices.

/// Increments a slice times.
const SLICE: usize = 20_000;
/// Pairs of slices per peer (odd: the median is one pair's ratio).
const PAIRS: usize = 201;

/// The time of one slice of increments by `inc`, from `at` in the order.
fn slice(pairs: &[(&str, &str)], seq: &[usize; TAG_SEQ_LEN], at: &Cell<usize>, inc: impl Fn(&str, &str)) -> f64 {
    let t0 = Instant::now();
    for _ in 0..SLICE {
        let (m, r) = pairs[seq[at.get() & (TAG_SEQ_LEN - 1)]];
        at.set(at.get().wrapping_add(1));
        inc(m, r);
    }
    t0.elapsed().as_nanos() as f64
}

fn paired_table() {
    println!("\n## Run-time series: lookup + increment, ours ÷ peer in alternating slices");
    println!(
        "({PAIRS} pairs of {SLICE}-increment slices, the order swapped every pair; median and quartiles of the pairs' ratios)\n"
    );
    println!("| series | peer | ours ÷ peer (median) | quartiles | ours, ns (median) | peer, ns (median) |");
    println!("|---:|---|---:|---:|---:|---:|");
    for series in [100, 4_000] {
        let routes = routes(series / METHODS.len());
        let pairs = pairs(&routes);
        let seq = index_sequence(series);
        let peers = Peers::filled(&format!("route_hits_paired_{series}_total"), &pairs);
        let at = Cell::new(0);
        macro_rules! pair {
            ($lib:ident, $inc:ident) => {{
                let p = paired(
                    PAIRS,
                    || slice(&pairs, &seq, &at, |m, r| inc_ours(&black_box(&peers).ours, m, r)),
                    || slice(&pairs, &seq, &at, |m, r| $inc(&black_box(&peers).$lib, m, r)),
                );
                let [low, median, high] = p.ratio;
                let (ours, peer) = (p.first / SLICE as f64, p.second / SLICE as f64);
                println!(
                    "| {series} | {} | {median:.2} | {low:.2}-{high:.2} | {ours:.1} | {peer:.1} |",
                    stringify!($lib)
                );
            }};
        }
        pair!(prometheus, inc_prometheus);
        pair!(prometheus_client, inc_prometheus_client);
        pair!(measured, inc_measured);
        assert!(peers.ours.total() > 0);
    }
    println!();
}

// ---------------------------------------------------------------------------------------------
// 2 and 3. Lookups.

/// The `metrics` recorder (metrics-exporter-prometheus), installed once.
fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).expect("one recorder per process");
        handle
    })
}

fn lookups(c: &mut Criterion, series: usize) {
    let routes = routes(series / METHODS.len());
    let pairs = pairs(&routes);
    let seq = index_sequence(series);
    let name = format!("route_hits_{series}_total");
    let mut g = c.benchmark_group(format!("dynamic_lookup_{series}"));

    let peers = Peers::filled(&name, &pairs);
    macro_rules! lookup {
        ($lib:ident, $inc:ident) => {
            g.bench_function(stringify!($lib), |b| {
                rotating(b, &seq, |&k| {
                    let (m, r) = pairs[k];
                    $inc(&black_box(&peers).$lib, m, r)
                })
            });
        };
    }
    lookup!(ours, inc_ours);
    lookup!(prometheus, inc_prometheus);
    lookup!(prometheus_client, inc_prometheus_client);
    lookup!(measured, inc_measured);

    // metrics: `counter!` with run-time labels owns them (a `Key`), hashes it, looks it up.
    metrics_handle();
    let counter_name: &'static str = Box::leak(name.clone().into_boxed_str());
    g.bench_function("metrics_counter_macro", |b| {
        rotating(b, &seq, |&k| {
            let (m, r) = pairs[k];
            metrics::counter!(counter_name, "method" => m.to_owned(), "route" => r.to_owned()).increment(1);
        })
    });
    g.finish();
    assert!(peers.ours.total() > 0);
}

/// Each thread's place in the sequence: its own start, then one step per increment.
fn next_index() -> usize {
    static STARTS: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static AT: Cell<usize> = Cell::new(STARTS.fetch_add(TAG_SEQ_LEN / 2 + 7, Relaxed));
    }
    AT.with(|at| {
        let i = at.get();
        at.set(i.wrapping_add(1));
        i & (TAG_SEQ_LEN - 1)
    })
}

fn threads(c: &mut Criterion, series: usize) {
    let routes = routes(series / METHODS.len());
    let pairs = pairs(&routes);
    let seq = index_sequence(series);
    let name = format!("route_hits_threads_{series}_total");
    let mut g = c.benchmark_group(format!("dynamic_threads_{series}"));

    let peers = Peers::filled(&name, &pairs);
    macro_rules! one_and_two {
        ($lib:ident, $inc:ident) => {
            let inc = || {
                let (m, r) = pairs[seq[next_index()]];
                $inc(&black_box(&peers).$lib, m, r);
            };
            g.bench_function(concat!(stringify!($lib), "_1"), |b| benches::threads::<1>(b, inc));
            g.bench_function(concat!(stringify!($lib), "_2"), |b| benches::threads::<2>(b, inc));
        };
    }
    // The floor: the same order of increments straight into one cell per series, no lookup;
    // two threads share the cells as they share the series.
    let cells: Vec<AtomicU64> = (0..series).map(|_| AtomicU64::new(0)).collect();
    let inc = || {
        cells[seq[next_index()]].fetch_add(1, Relaxed);
    };
    g.bench_function("floor_shared_cells_1", |b| benches::threads::<1>(b, inc));
    g.bench_function("floor_shared_cells_2", |b| benches::threads::<2>(b, inc));
    one_and_two!(ours, inc_ours);
    one_and_two!(prometheus, inc_prometheus);
    one_and_two!(prometheus_client, inc_prometheus_client);
    one_and_two!(measured, inc_measured);
    g.finish();
}

fn bench(c: &mut Criterion) {
    lookups(c, 100);
    lookups(c, 4_000);
    threads(c, 100);
    threads(c, 4_000);
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(lib) = std::env::var(CHILD_ENV) {
        child(&lib);
        return;
    }
    let only = std::env::var("DYNAMIC_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "memory" {
        memory_table();
    }
    if only.is_empty() || only == "paired" {
        paired_table();
    }
    if only == "memory" || only == "paired" {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
