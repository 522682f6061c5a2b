//! Scale: a struct with a 1 000 000-series tagged counter builds (the derive emits no code per
//! series), renders every series, and stays exact while millions of updates run across all
//! series as another thread renders.

#[path = "scale/tags.rs"]
mod tags;

use metrics_runtime::{Tag, TagSet};
use tags::{Access, Resource, Scale, User};

static SCALE: Scale = Scale::new();

#[test]
fn a_million_series_render_and_stay_exact_under_load() {
    assert_eq!(Access::CARDINALITY, 1_000_000);
    assert_eq!(std::mem::size_of::<Scale>(), 8_000_000);
    let writers = 2;
    let per_writer = 2_000_000u64;
    let renders = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for w in 0..writers {
            s.spawn(move || {
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (w + 1);
                for _ in 0..per_writer {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let i = (x % 1_000_000) as usize;
                    SCALE.access_total.with(Access::from_index(i).unwrap()).inc();
                }
            });
        }
        s.spawn(|| {
            let mut buf = String::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed)
                || renders.load(std::sync::atomic::Ordering::Relaxed) == 0
            {
                buf.clear();
                SCALE.write_prometheus(&mut buf);
                assert_eq!(buf.lines().filter(|l| l.starts_with("scale_access_total{")).count(), 1_000_000);
                renders.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
        // Writers are joined by the scope; tell the renderer to stop after them.
        s.spawn(|| {
            while SCALE.access_total.total() < writers * per_writer {
                std::thread::yield_now();
            }
            done.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    });
    assert_eq!(SCALE.access_total.total(), writers * per_writer);
    let text = SCALE.render_prometheus();
    let sum: u64 = text
        .lines()
        .filter(|l| l.starts_with("scale_access_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(sum, writers * per_writer);
    assert!(text.contains("scale_access_total{user=\"u999\",resource=\"r0\"} "));
    assert_eq!(User::VALUES.len(), 1000);
    assert_eq!(<Resource as Tag>::from_index(999), Some(Resource::R999));
    println!("renders during the load: {}", renders.load(std::sync::atomic::Ordering::Relaxed));
}
