//! Compile tests for the trigger attributes: every accepted form compiles (`ui/pass`), and
//! every misuse fails with the message in the matching `.stderr` (`ui/fail`).
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p durable-macros --test ui`
//! and read the diff.

#[test]
fn ui() {
    // The compiled UI cases are only run, never debugged: without debug info they
    // take 1.5 GB less disk (the nested cargo does not read this workspace's profile).
    std::env::set_var("CARGO_PROFILE_DEV_DEBUG", "0");
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
