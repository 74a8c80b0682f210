//! `cargo xtask <task>`: see the library docs for what each task does.

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <task> [options]

tasks:
  regen        [--check] [--upstream PATH]  normalize openapi/ and refresh the snapshots
  fetch-spec   rebuild openapi/kiwify-docs.yaml from the documentation site (--help for options)";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let result = match args.next().as_deref() {
        Some("regen") => xtask::regen::run(&args.collect::<Vec<_>>()),
        Some("fetch-spec") => xtask::fetch_spec::run(args),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
