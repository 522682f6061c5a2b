//! `#[timed]`, `TimedExt` and timer guards on a multi-thread tokio runtime: every exit path is
//! recorded exactly once, with the right outcome.

use std::time::Duration;

use metrics_runtime::{timed, Histogram, Metrics, Outcome, RecordDuration, Summary, Tag, TimedExt};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(rename_all = "lowercase")]
enum Op {
    Read,
    Write,
}

#[derive(Metrics)]
struct Timing {
    /// Calls by outcome.
    #[metric(unit = "seconds")]
    calls_seconds: Histogram<Outcome>,
    /// Plain sync calls.
    #[metric(unit = "seconds")]
    sync_seconds: Summary,
    /// By operation.
    #[metric(unit = "seconds")]
    op_seconds: Histogram<Op>,
}

static T: Timing = Timing::new();

fn count(o: Outcome) -> u64 {
    T.calls_seconds.with(o).count()
}

#[derive(Debug)]
struct Failure;

#[timed(T.calls_seconds)]
async fn may_fail(fail: bool) -> Result<u32, Failure> {
    tokio::task::yield_now().await;
    if fail {
        return Err(Failure);
    }
    Ok(7)
}

#[timed(T.calls_seconds)]
async fn question_mark(input: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = input.parse()?;
    Ok(n * 2)
}

#[timed(T.calls_seconds)]
async fn slow() -> u32 {
    tokio::time::sleep(Duration::from_secs(30)).await;
    1
}

#[timed(T.calls_seconds)]
async fn panics() {
    tokio::task::yield_now().await;
    panic!("boom");
}

#[timed(T.sync_seconds)]
fn sync_early_return(x: u32) -> u32 {
    if x > 10 {
        return 10;
    }
    x
}

#[timed(T.op_seconds.with(Op::Read))]
fn sync_result(x: &str) -> Result<u64, std::num::ParseIntError> {
    let v: u64 = x.parse()?;
    Ok(v)
}

struct Service {
    hits: u32,
}

impl Service {
    #[timed(T.op_seconds.with(Op::Write))]
    fn by_mut_ref(&mut self) -> u32 {
        self.hits += 1;
        self.hits
    }

    #[timed(T.op_seconds.with(Op::Write))]
    async fn by_ref(&self) -> u32 {
        self.hits
    }

    #[timed(T.op_seconds.with(Op::Write))]
    fn by_value(self) -> u32 {
        self.hits
    }
}

#[timed(T.op_seconds.with(Op::Read))]
fn generic<T: Clone + std::fmt::Debug>(value: &T) -> impl std::fmt::Debug {
    value.clone()
}

// Tests touching the shared `calls_seconds` series run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_error_and_question_mark_outcomes() {
    let _g = SERIAL.lock().await;
    let (ok0, err0) = (count(Outcome::Ok), count(Outcome::Error));
    assert_eq!(may_fail(false).await.unwrap(), 7);
    assert!(may_fail(true).await.is_err());
    assert_eq!(question_mark("21").await.unwrap(), 42);
    assert!(question_mark("x").await.is_err());
    assert_eq!(count(Outcome::Ok) - ok0, 2);
    assert_eq!(count(Outcome::Error) - err0, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_by_timeout_and_select() {
    let _g = SERIAL.lock().await;
    let c0 = count(Outcome::Cancelled);
    assert!(tokio::time::timeout(Duration::from_millis(20), slow()).await.is_err());
    tokio::select! {
        _ = slow() => unreachable!("slow never finishes first"),
        () = tokio::time::sleep(Duration::from_millis(20)) => {}
    }
    assert_eq!(count(Outcome::Cancelled) - c0, 2);
    // The recorded durations are the time until the drop: about 20 ms each, not 30 s.
    let cancelled_sum = T.calls_seconds.with(Outcome::Cancelled).sum();
    assert!(cancelled_sum < 5.0, "{cancelled_sum}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_in_a_spawned_task() {
    let _g = SERIAL.lock().await;
    let p0 = count(Outcome::Panicked);
    let joined = tokio::spawn(panics()).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(count(Outcome::Panicked) - p0, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_calls_are_all_counted() {
    let _g = SERIAL.lock().await;
    let (ok0, err0) = (count(Outcome::Ok), count(Outcome::Error));
    let tasks: Vec<_> = (0..1000).map(|i| tokio::spawn(may_fail(i % 4 == 0))).collect();
    for t in tasks {
        let _ = t.await.unwrap();
    }
    assert_eq!(count(Outcome::Ok) - ok0, 750);
    assert_eq!(count(Outcome::Error) - err0, 250);
}

#[test]
fn sync_fns_methods_generics() {
    let before = T.sync_seconds.count();
    assert_eq!(sync_early_return(50), 10);
    assert_eq!(sync_early_return(3), 3);
    assert_eq!(T.sync_seconds.count() - before, 2);

    let reads = T.op_seconds.with(Op::Read).count();
    assert_eq!(sync_result("5").unwrap(), 5);
    assert!(sync_result("nope").is_err());
    assert_eq!(format!("{:?}", generic(&"x")), "\"x\"");
    assert_eq!(T.op_seconds.with(Op::Read).count() - reads, 3);

    let writes = T.op_seconds.with(Op::Write).count();
    let mut s = Service { hits: 0 };
    assert_eq!(s.by_mut_ref(), 1);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(rt.block_on(s.by_ref()), 1);
    assert_eq!(s.by_value(), 1);
    assert_eq!(T.op_seconds.with(Op::Write).count() - writes, 3);
}

#[test]
fn sync_panic_is_recorded() {
    #[timed(T.op_seconds.with(Op::Read))]
    fn explode() {
        panic!("sync boom");
    }
    let before = T.op_seconds.with(Op::Read).count();
    assert!(std::panic::catch_unwind(explode).is_err());
    assert_eq!(T.op_seconds.with(Op::Read).count() - before, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_ext_and_guards() {
    let _g = SERIAL.lock().await;
    let ok0 = count(Outcome::Ok);
    let c0 = count(Outcome::Cancelled);
    assert_eq!(async { 5 }.timed(&T.calls_seconds).await, 5);
    let r: Result<(), ()> = async { Err(()) }.timed_result(&T.calls_seconds).await;
    assert!(r.is_err());
    let fut = tokio::time::sleep(Duration::from_secs(30)).timed(&T.calls_seconds);
    assert!(tokio::time::timeout(Duration::from_millis(10), fut).await.is_err());
    assert_eq!(count(Outcome::Ok) - ok0, 1);
    assert_eq!(count(Outcome::Cancelled) - c0, 1);

    let h = Histogram::<()>::new();
    let timer = h.start_timer();
    std::thread::sleep(Duration::from_millis(5));
    let elapsed = timer.stop();
    assert!(elapsed >= Duration::from_millis(5));
    assert_eq!(h.count(), 1);
    assert!(h.sum() >= 0.005);
    h.start_timer().discard();
    assert_eq!(h.count(), 1);
    drop(h.start_timer());
    assert_eq!(h.count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inner_attributes_of_the_body_are_kept_and_calls_recorded() {
    static INNER: Summary<Outcome> = Summary::new();

    #[timed(INNER)]
    #[inline]
    fn sync_fallible(input: &str) -> Result<u32, std::num::ParseIntError> {
        #![allow(unused_variables)]
        #![deny(unreachable_code)]
        let unused = input.len();
        let n: u32 = input.parse()?;
        Ok(n)
    }

    #[timed(INNER)]
    async fn async_fallible(fail: bool) -> Result<(), Failure> {
        #![allow(unused_variables)]
        let unused = fail;
        tokio::task::yield_now().await;
        if fail {
            return Err(Failure);
        }
        Ok(())
    }

    assert_eq!(sync_fallible("3").unwrap(), 3);
    assert!(sync_fallible("x").is_err());
    async_fallible(false).await.unwrap();
    assert!(async_fallible(true).await.is_err());
    assert_eq!(INNER.with(Outcome::Ok).count(), 2);
    assert_eq!(INNER.with(Outcome::Error).count(), 2);
    assert!(INNER.with(Outcome::Ok).sum() >= 0.0);
}

static BY_PATH: Histogram = Histogram::new();

/// An `async fn`'s targets of each kind: a static by a path (named again where the timer
/// records), and places reached through the fn's own arguments (held as references from the
/// start): a field through `&self`, a `&Histogram` parameter. The futures stay `Send` (spawned
/// on the multi-thread runtime) and a dropped one still records `cancelled` into the right
/// place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_targets_through_self_and_parameters() {
    struct Handler {
        latency: Histogram<Outcome>,
    }

    impl Handler {
        #[timed(self.latency)]
        async fn handle(&self, fail: bool) -> Result<u32, Failure> {
            tokio::task::yield_now().await;
            if fail {
                return Err(Failure);
            }
            Ok(1)
        }

        #[timed(self.latency)]
        async fn stuck(&self) {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    }

    #[timed(into)]
    async fn into_parameter(into: &'static Histogram, x: u32) -> u32 {
        tokio::task::yield_now().await;
        x + 1
    }

    #[timed(crate::BY_PATH)]
    async fn by_path() {
        tokio::task::yield_now().await;
    }

    static HANDLER: Handler = Handler { latency: Histogram::new() };
    static PARAM: Histogram = Histogram::new();
    assert_eq!(tokio::spawn(HANDLER.handle(false)).await.unwrap().unwrap(), 1);
    assert!(tokio::spawn(HANDLER.handle(true)).await.unwrap().is_err());
    assert!(tokio::time::timeout(Duration::from_millis(10), HANDLER.stuck()).await.is_err());
    assert_eq!(tokio::spawn(into_parameter(&PARAM, 2)).await.unwrap(), 3);
    assert_eq!(HANDLER.latency.with(Outcome::Ok).count(), 1);
    assert_eq!(HANDLER.latency.with(Outcome::Error).count(), 1);
    assert_eq!(HANDLER.latency.with(Outcome::Cancelled).count(), 1);
    assert_eq!(PARAM.count(), 1);
    tokio::spawn(by_path()).await.unwrap();
    drop(by_path()); // never polled: its body, and so its timer, never started
    assert_eq!(BY_PATH.count(), 1);

    // A local handler (not a static): the future borrows it, as any `&self` method's does.
    let local = Handler { latency: Histogram::new() };
    local.handle(false).await.unwrap();
    assert_eq!(local.latency.with(Outcome::Ok).count(), 1);
}
