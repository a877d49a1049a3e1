//! A function app with no functions: what a binary looks like whose functions live in a
//! library crate it never links. The host must say so.

fn main() -> std::process::ExitCode {
    durable::host::main()
}
