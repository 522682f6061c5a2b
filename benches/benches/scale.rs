//! Scale: rendering a struct with a 1,000,000-series tagged counter (every series written,
//! zero included) to Prometheus text, into a reused buffer.
//!
//! `cargo bench -p benches --bench scale`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use metrics_runtime::TagSet;

#[path = "../../tests/tests/scale/tags.rs"]
#[allow(dead_code)]
mod tags;

use tags::{Access, Scale};

static SCALE: Scale = Scale::new();

fn bench(c: &mut Criterion) {
    // Varied values, so that number formatting is not trivially short.
    for i in (0..Access::CARDINALITY).step_by(7) {
        SCALE.access_total.with(Access::from_index(i).expect("in range")).add(i as u64);
    }
    let mut buf = String::new();
    SCALE.write_prometheus(&mut buf);
    assert_eq!(buf.lines().filter(|l| l.starts_with("scale_access_total{")).count(), 1_000_000);
    let mut g = c.benchmark_group("scale");
    g.sample_size(10);
    g.bench_function("render_1m_series", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&SCALE).write_prometheus(&mut buf);
            black_box(buf.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
