//! Coalesced updates (`MetricBatch`) against recording each update directly.
//!
//! A unit of work, as a request handler or an import loop does it: four increments of an items
//! counter, one add to a bytes gauge, two histogram records (values rotating through the value
//! sequence). Bench IDs are `batch/{direct,per_unit,every_64}[/contended_2]`:
//!
//! - `direct`: each update on its own atomic;
//! - `per_unit`: into a `MetricBatch` applied at the end of each unit (the staleness of one unit);
//! - `every_64`: a batch applied every 64 units (`with_max_updates(7 * 64)`);
//! - `contended_2`: two threads doing units on the same series, the time per unit per thread
//!   (the longer thread's elapsed time from a shared barrier, divided by the units).

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use benches::{rotating, value_sequence, VALUE_MASK};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use metrics_runtime::{Counter, Gauge, Histogram, MetricBatch, Metrics};

#[derive(Metrics)]
struct Import {
    /// Items imported.
    items_total: Counter,
    /// Bytes buffered.
    #[metric(unit = "bytes")]
    buffered_bytes: Gauge,
    /// Time per item.
    #[metric(unit = "seconds")]
    item_seconds: Histogram,
}

static IMPORT: Import = Import::new();

#[inline(always)]
fn unit_direct(m: &'static Import, a: f64, b: f64) {
    let items = m.items_total.with(());
    for _ in 0..4 {
        items.inc();
    }
    m.buffered_bytes.with(()).add(512.0);
    let h = m.item_seconds.with(());
    h.record(a);
    h.record(b);
}

#[inline(always)]
fn unit_batched(batch: &mut MetricBatch<'static>, m: &'static Import, a: f64, b: f64) {
    let items = m.items_total.with(());
    for _ in 0..4 {
        batch.inc(items);
    }
    batch.gauge_add(m.buffered_bytes.with(()), 512.0);
    let h = m.item_seconds.with(());
    batch.record(h, a);
    batch.record(h, b);
}

fn batch(c: &mut Criterion) {
    let values = value_sequence();
    let mut g = c.benchmark_group("batch");
    g.bench_function("direct", |b| {
        rotating(b, &values, |&v| unit_direct(black_box(&IMPORT), v, v * 0.5));
    });
    g.bench_function("per_unit", |b| {
        let mut batch = MetricBatch::new();
        rotating(b, &values, |&v| {
            unit_batched(&mut batch, black_box(&IMPORT), v, v * 0.5);
            batch.apply();
        });
    });
    g.bench_function("every_64", |b| {
        let mut batch = MetricBatch::with_max_updates(7 * 64);
        rotating(b, &values, |&v| unit_batched(&mut batch, black_box(&IMPORT), v, v * 0.5));
    });

    // Two threads on the same series.
    type Unit = fn(&mut Option<MetricBatch<'static>>, f64);
    type Make = fn() -> Option<MetricBatch<'static>>;
    let variants: [(&str, Unit, Make); 3] = [
        ("direct", |_, v| unit_direct(black_box(&IMPORT), v, v * 0.5), || None),
        (
            "per_unit",
            |batch, v| {
                let batch = batch.as_mut().expect("a batch");
                unit_batched(batch, black_box(&IMPORT), v, v * 0.5);
                batch.apply();
            },
            || Some(MetricBatch::new()),
        ),
        (
            "every_64",
            |batch, v| unit_batched(batch.as_mut().expect("a batch"), black_box(&IMPORT), v, v * 0.5),
            || Some(MetricBatch::with_max_updates(7 * 64)),
        ),
    ];
    for (name, unit, make) in variants {
        let values = &values;
        g.bench_function(BenchmarkId::new(name, "contended_2"), |b| {
            b.iter_custom(|iters| {
                let start = Barrier::new(2);
                std::thread::scope(|s| {
                    let workers: Vec<_> = (0..2)
                        .map(|t| {
                            let start = &start;
                            s.spawn(move || {
                                let mut batch = make();
                                start.wait();
                                let t0 = Instant::now();
                                for i in 0..iters as usize {
                                    unit(&mut batch, values[(i + t * 7919) & VALUE_MASK]);
                                }
                                drop(batch);
                                t0.elapsed()
                            })
                        })
                        .collect();
                    workers.into_iter().map(|w| w.join().expect("bench thread")).max().unwrap_or(Duration::ZERO)
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, batch);
criterion_main!(benches);
