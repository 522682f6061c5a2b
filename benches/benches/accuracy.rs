//! Accuracy of quantile estimates: relative error at p50, p90, p99 and p999 against the exact
//! quantiles of 1M samples, for our Summary (t-digest), our Histogram (estimated from buckets,
//! with the Prometheus default buckets and with 40 exponential buckets), and metrics-lib's
//! summary (a DDSketch), on lognormal, uniform and bimodal data. Prints a markdown table.
//!
//! `cargo bench -p benches --bench accuracy`

use metrics_runtime::{Histogram, NativeConfig, NativeHistogram, NativeRead, Summary, SummaryConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal, Normal};

const QS: [f64; 4] = [0.5, 0.9, 0.99, 0.999];
const N: usize = 1_000_000;

fn exact(sorted: &[f64], q: f64) -> f64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// 40 exponential bounds from 1e-3 growing by 1.35: a fine histogram covering 1e-3 to ~1.2e2.
fn exponential_bounds() -> &'static [f64] {
    let v: Vec<f64> = (0..40).map(|i| 1e-3 * 1.35f64.powi(i)).collect();
    Box::leak(v.into_boxed_slice())
}

fn exponential_le(bounds: &[f64]) -> &'static [&'static str] {
    let v: Vec<&'static str> = bounds.iter().map(|b| &*Box::leak(format!("{b:?}").into_boxed_str())).collect();
    Box::leak(v.into_boxed_slice())
}

fn row(name: &str, estimator: &str, sorted: &[f64], estimate: impl Fn(f64) -> f64) -> String {
    let cells: Vec<String> = QS
        .iter()
        .map(|&q| {
            let e = exact(sorted, q);
            format!("{:.3}%", ((estimate(q) - e) / e).abs() * 100.0)
        })
        .collect();
    format!("| {name} | {estimator} | {} |", cells.join(" | "))
}

/// The bucket-wise sum of the instances' reads (what `sum()` over a fleet does), all at the
/// same schema here.
fn sum_native(instances: &[NativeHistogram]) -> NativeRead {
    let reads: Vec<NativeRead> = instances.iter().map(|h| h.read()).collect();
    let mut total = reads[0].clone();
    assert!(reads.iter().all(|r| r.schema == total.schema), "one schema");
    let mut positive: std::collections::BTreeMap<i32, u64> = std::collections::BTreeMap::new();
    for r in &reads {
        for &(k, c) in &r.positive {
            *positive.entry(k).or_default() += c;
        }
    }
    total.positive = positive.into_iter().collect();
    total.count = reads.iter().map(|r| r.count).sum();
    total.zero_count = reads.iter().map(|r| r.zero_count).sum();
    total.sum = reads.iter().map(|r| r.sum).sum();
    total
}

fn main() {
    // `cargo bench` passes `--bench`; this program takes no options.
    let mut rng = StdRng::seed_from_u64(7);
    let lognormal = LogNormal::new(0.0, 1.0).unwrap();
    let fast: Normal<f64> = Normal::new(10.0, 1.0).unwrap();
    let slow: Normal<f64> = Normal::new(100.0, 5.0).unwrap();
    let datasets: Vec<(&str, Vec<f64>)> = vec![
        ("lognormal(0, 1)", (0..N).map(|_| lognormal.sample(&mut rng)).collect()),
        ("uniform(0, 100)", (0..N).map(|_| rng.gen_range(0.0..100.0)).collect()),
        (
            "bimodal 70% N(10,1) + 30% N(100,5)",
            (0..N).map(|_| if rng.gen_bool(0.7) { fast.sample(&mut rng) } else { slow.sample(&mut rng) }).collect(),
        ),
    ];
    static WIDE: SummaryConfig = SummaryConfig { window_secs: 3600, ..SummaryConfig::DEFAULT };
    let bounds = exponential_bounds();
    let le = exponential_le(bounds);
    println!("| data | estimator | p50 | p90 | p99 | p999 |");
    println!("|---|---|---|---|---|---|");
    for (name, samples) in &datasets {
        let ours: Summary = Summary::with_config(&WIDE);
        let default_buckets: Histogram = Histogram::new();
        let fine: Histogram<(), 41> = Histogram::with_bounds(bounds, le);
        let peer = metrics_lib::Summary::new();
        // Native histograms, at the default schema 3 and at 5, as three instances summed
        // (how a fleet reads them): exact merges, so the same buckets as one instance.
        let native3: [NativeHistogram; 3] = [NativeHistogram::new(), NativeHistogram::new(), NativeHistogram::new()];
        let native5: NativeHistogram<(), 320> =
            NativeHistogram::with_config(NativeConfig { schema: 5, max_buckets: 320, ..NativeConfig::DEFAULT });
        for (i, &v) in samples.iter().enumerate() {
            ours.record(v);
            default_buckets.record(v);
            fine.record(v);
            peer.observe(v);
            native3[i % 3].record(v);
            native5.record(v);
        }
        let summed = sum_native(&native3);
        let mut sorted = samples.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        let label = format!("ours: Summary (t-digest, compression {})", WIDE.compression);
        println!("{}", row(name, &label, &sorted, |q| ours.percentile(q).unwrap()));
        println!(
            "{}",
            row(name, "ours: Histogram, 11 default buckets", &sorted, |q| default_buckets.percentile(q).unwrap())
        );
        println!("{}", row(name, "ours: Histogram, 40 exponential buckets", &sorted, |q| fine.percentile(q).unwrap()));
        println!(
            "{}",
            row(name, "ours: NativeHistogram, schema 3, 3 instances summed", &sorted, |q| summed
                .percentile(q)
                .unwrap())
        );
        let read5 = native5.read();
        println!("{}", row(name, "ours: NativeHistogram, schema 5", &sorted, |q| read5.percentile(q).unwrap()));
        println!("{}", row(name, "metrics-lib 2.0: Summary (DDSketch)", &sorted, |q| peer.quantile(q)));
    }
}
