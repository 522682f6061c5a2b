//! Compile-time rules: every file in `ui/fail` must fail to build with exactly
//! the error in its `.stderr`; every file in `ui/pass` must build and run.
//!
//! Bless new or changed output with `TRYBUILD=overwrite cargo test -p tests --test ui`, then read
//! the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
