//! Every signature form `#[timed]` accepts, kept intact: attributes, docs, visibility,
//! generics, where clauses, lifetimes, `unsafe`, `extern`, `impl Trait`, methods, async fns
//! in traits.
#![deny(warnings)]

use metrics_runtime::{timed, Histogram, Outcome, Summary, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    One,
    Two,
}

static LATENCY: Histogram = Histogram::new();
static BY_STEP: Histogram<Step> = Histogram::new();
static BY_OUTCOME: Summary<Outcome> = Summary::new();

/// Documented, public, inlined.
#[timed(LATENCY)]
#[inline]
pub fn plain(x: u32) -> u32 {
    x + 1
}

#[timed(BY_STEP.with(Step::One))]
pub(crate) fn generic<T: Clone, U>(value: &T, _other: U) -> T
where
    U: Copy,
{
    value.clone()
}

#[timed(LATENCY)]
fn lifetimes<'a, 'b: 'a>(a: &'a str, _b: &'b str) -> &'a str {
    a
}

#[timed(LATENCY)]
fn returns_impl() -> impl std::fmt::Display {
    7
}

#[timed(BY_OUTCOME)]
fn fallible(fail: bool) -> Result<u8, String> {
    if fail {
        return Err("no".into());
    }
    let v: u8 = "5".parse().map_err(|_| String::from("parse"))?;
    Ok(v)
}

/// # Safety
///
/// None needed; `unsafe` is only kept.
#[timed(LATENCY)]
unsafe fn unsafe_fn(p: *const u8) -> u8 {
    // SAFETY: callers pass a valid pointer.
    unsafe { *p }
}

#[timed(LATENCY)]
extern "C" fn extern_c(x: i32) -> i32 {
    x * 2
}

#[timed(BY_OUTCOME)]
async fn async_fallible(fail: bool) -> Result<(), std::io::Error> {
    if fail {
        return Err(std::io::Error::other("x"));
    }
    Ok(())
}

#[timed(LATENCY)]
async fn async_impl_trait() -> impl std::fmt::Debug {
    "x"
}

#[timed(LATENCY)]
async fn async_borrow<'a>(s: &'a str) -> &'a str {
    s
}

struct Service {
    calls: u32,
}

impl Service {
    #[timed(BY_STEP.with(Step::Two))]
    fn by_ref(&self) -> u32 {
        self.calls
    }

    #[timed(BY_STEP.with(Step::Two))]
    fn by_mut(&mut self) {
        self.calls += 1;
    }

    #[timed(BY_STEP.with(Step::Two))]
    fn by_value(self) -> u32 {
        self.calls
    }

    #[timed(LATENCY)]
    async fn async_by_ref(&self) -> u32 {
        self.calls
    }
}

trait Handler {
    async fn handle(&self, x: u32) -> u32;

    #[timed(LATENCY)]
    fn default_method(&self) -> u32 {
        1
    }
}

impl Handler for Service {
    #[timed(LATENCY)]
    async fn handle(&self, x: u32) -> u32 {
        x + self.calls
    }
}

fn main() {
    assert_eq!(plain(1), 2);
    assert_eq!(generic(&5u8, 1u16), 5);
    assert_eq!(lifetimes("a", "b"), "a");
    assert_eq!(returns_impl().to_string(), "7");
    assert!(fallible(true).is_err());
    assert_eq!(fallible(false), Ok(5));
    let byte = 9u8;
    // SAFETY: a valid pointer to a local.
    assert_eq!(unsafe { unsafe_fn(&byte) }, 9);
    assert_eq!(extern_c(2), 4);
    let mut s = Service { calls: 0 };
    s.by_mut();
    assert_eq!(s.by_ref(), 1);
    assert_eq!(s.default_method(), 1);
    let _futures = (async_fallible(false), async_impl_trait(), async_borrow("x"), s.async_by_ref(), s.handle(1));
    drop(_futures);
    assert_eq!(s.by_value(), 1);
    assert_eq!(BY_STEP.with(Step::Two).count(), 3);
    assert_eq!(BY_STEP.with(Step::One).count(), 1);
    assert_eq!(BY_OUTCOME.with(Outcome::Error).count(), 1);
    assert_eq!(BY_OUTCOME.with(Outcome::Ok).count(), 1);
    assert_eq!(LATENCY.count(), 6);
}
