use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <task> [options]

tasks:
  fetch-spec   rebuild openapi/kiwify-docs.yaml from the documentation site (--help for options)
  regen        not on this branch yet";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let result = match args.next().as_deref() {
        Some("fetch-spec") => xtask::fetch_spec::run(args),
        // FIXME: `regen` lives on the other branch; replace this arm with `regen::run(args)`
        // when the two are merged.
        Some("regen") => Err(anyhow::anyhow!("`regen` is not wired into this branch yet")),
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
