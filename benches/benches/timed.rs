//! `#[timed]` overhead: empty sync and async fns with and without the attribute, beside manual
//! `Instant` timing into the same histogram, and into a target that records nothing (the
//! timer's own cost); and the clocks it could use, read once and twice.
//!
//! `cargo bench -p benches --bench timed`

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use metrics_runtime::{timed, Histogram, Outcome, RecordDuration};

static PLAIN_H: Histogram = Histogram::new();
static TIMED_H: Histogram = Histogram::new();
static MANUAL_H: Histogram = Histogram::new();

/// The empty sync fn, untimed.
#[inline(never)]
fn sync_plain(x: u64) -> u64 {
    black_box(x)
}

/// The same fn under `#[timed]`.
#[timed(TIMED_H)]
#[inline(never)]
fn sync_timed(x: u64) -> u64 {
    black_box(x)
}

/// A target that records nothing: what the timer costs by itself.
struct Nothing;

impl RecordDuration for Nothing {
    #[inline(always)]
    fn record_seconds(&self, seconds: f64, _: Outcome) {
        black_box(seconds);
    }
}

static NOTHING: Nothing = Nothing;

/// The empty sync fn under `#[timed]`, into a target that records nothing.
#[timed(NOTHING)]
#[inline(never)]
fn sync_timed_nothing(x: u64) -> u64 {
    black_box(x)
}

/// The empty async fn, untimed.
#[inline(never)]
async fn async_plain(x: u64) -> u64 {
    black_box(x)
}

/// The same async fn under `#[timed]`.
#[timed(TIMED_H)]
#[inline(never)]
async fn async_timed(x: u64) -> u64 {
    black_box(x)
}

/// A waker that does nothing: the futures here complete on their first poll.
struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// Polls a future that completes at once, with no runtime in the way.
#[inline(always)]
fn now_or_never<F: Future>(cx: &mut Context<'_>, f: F) -> F::Output {
    match pin!(f).poll(cx) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the benched futures never wait"),
    }
}

fn bench(c: &mut Criterion) {
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);

    let mut g = c.benchmark_group("timed/sync_empty");
    g.bench_function("plain", |b| b.iter(|| sync_plain(black_box(1))));
    g.bench_function("timed", |b| b.iter(|| sync_timed(black_box(1))));
    g.bench_function("timed_into_nothing", |b| b.iter(|| sync_timed_nothing(black_box(1))));
    g.bench_function("manual_instant", |b| {
        b.iter(|| {
            let start = Instant::now();
            let v = sync_plain(black_box(1));
            MANUAL_H.record(start.elapsed().as_secs_f64());
            v
        })
    });
    g.finish();

    let mut g = c.benchmark_group("timed/async_empty");
    g.bench_function("plain", |b| b.iter(|| now_or_never(&mut cx, async_plain(black_box(1)))));
    g.bench_function("timed", |b| b.iter(|| now_or_never(&mut cx, async_timed(black_box(1)))));
    g.bench_function("manual_instant", |b| {
        b.iter(|| {
            let start = Instant::now();
            let v = now_or_never(&mut cx, async_plain(black_box(1)));
            MANUAL_H.record(start.elapsed().as_secs_f64());
            v
        })
    });
    g.finish();

    let mut g = c.benchmark_group("clock");
    g.bench_function("instant_now", |b| b.iter(Instant::now));
    g.bench_function("instant_elapsed", |b| {
        let start = Instant::now();
        b.iter(|| start.elapsed())
    });
    let clock = quanta::Clock::new();
    g.bench_function("quanta_now", |b| b.iter(|| clock.now()));
    g.bench_function("quanta_raw", |b| b.iter(|| clock.raw()));
    // What a timed call reads: two raw readings and their difference.
    g.bench_function("quanta_raw_twice", |b| {
        b.iter(|| {
            let start = clock.raw();
            clock.raw().wrapping_sub(start)
        })
    });
    // What `Timer` uses: the global, lazily calibrated clock.
    g.bench_function("quanta_instant_now", |b| b.iter(quanta::Instant::now));
    g.finish();

    black_box((PLAIN_H.count(), TIMED_H.count(), MANUAL_H.count()));
}

criterion_group!(benches, bench);
criterion_main!(benches);
