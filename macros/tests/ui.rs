//! Compile tests for the trigger attributes: every accepted form compiles (`ui/pass`), and
//! every misuse fails with the message in the matching `.stderr` (`ui/fail`).
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p durable-macros --test ui`
//! and read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
