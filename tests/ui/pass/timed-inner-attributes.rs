//! `#[timed]` keeps a body's inner attributes (`#![..]`, `//!`) as inner attributes of the fn's
//! body, and its outer attributes on the fn, for sync, `Result`, async fns and methods. Each
//! body has a variable that is never used: without its `#![allow(unused_variables)]` this file
//! would not build under `deny(warnings)`.
#![deny(warnings)]

use metrics_runtime::{timed, Histogram, Outcome, Summary};

static LATENCY: Histogram = Histogram::new();
static BY_OUTCOME: Summary<Outcome> = Summary::new();

/// Outer docs and attributes stay on the fn.
#[timed(LATENCY)]
#[inline]
#[must_use]
fn sync_plain(x: u32) -> u32 {
    #![allow(unused_variables)]
    #![deny(unused_mut)]
    let unused = 1;
    x + 1
}

#[timed(BY_OUTCOME)]
fn sync_result(input: &str) -> Result<u32, std::num::ParseIntError> {
    #![allow(unused_variables)]
    // The macro's own `#[allow(unreachable_code)]` may still lower this level.
    #![deny(unreachable_code)]
    let unused = input.len();
    let n: u32 = input.parse()?;
    Ok(n)
}

#[timed(LATENCY)]
fn sync_unit() {
    //! An inner doc comment is an inner attribute too.
    #![allow(unused_variables)]
    let unused = 2;
}

#[timed(BY_OUTCOME)]
async fn async_result(fail: bool) -> Result<u8, String> {
    #![allow(unused_variables)]
    #![deny(unreachable_code)]
    let unused = 3;
    if fail {
        return Err("no".into());
    }
    Ok(1)
}

#[timed(LATENCY)]
async fn async_unit() {
    #![allow(unused_variables)]
    let unused = 4;
}

struct Service {
    calls: u32,
}

impl Service {
    #[timed(LATENCY)]
    fn by_mut(&mut self) -> u32 {
        #![allow(unused_variables)]
        #![deny(unused_mut)]
        let unused = 5;
        self.calls += 1;
        self.calls
    }

    #[timed(LATENCY)]
    async fn async_by_ref(&self) -> u32 {
        #![allow(unused_variables)]
        let unused = 6;
        self.calls
    }
}

trait Handler {
    #[timed(LATENCY)]
    fn default_method(&self) -> u32 {
        #![allow(unused_variables)]
        let unused = 7;
        1
    }
}

impl Handler for Service {}

fn main() {
    assert_eq!(sync_plain(1), 2);
    assert_eq!(sync_result("4"), Ok(4));
    assert!(sync_result("x").is_err());
    sync_unit();
    let mut s = Service { calls: 0 };
    assert_eq!(s.by_mut(), 1);
    assert_eq!(s.default_method(), 1);
    let futures = (async_result(false), async_unit(), s.async_by_ref());
    drop(futures);
    assert_eq!(LATENCY.count(), 4);
    assert_eq!(BY_OUTCOME.with(Outcome::Ok).count(), 1);
    assert_eq!(BY_OUTCOME.with(Outcome::Error).count(), 1);
}
