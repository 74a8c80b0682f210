//! The `kiwify` command-line tool (feature `cli`): parses the arguments, calls the library,
//! prints JSON. Exit status 0 on success, 1 on a failure (one line on stderr), 2 on a usage
//! error. Its modules live in `src/bin/kiwify/` (a crate root looks for them beside itself,
//! hence the `#[path]`s).

#[path = "kiwify/args.rs"]
mod args;
#[path = "kiwify/commands.rs"]
mod commands;
#[path = "kiwify/export.rs"]
mod export;
#[path = "kiwify/output.rs"]
mod output;
#[path = "kiwify/sandbox.rs"]
mod sandbox;
#[path = "kiwify/webhook.rs"]
mod webhook;

use std::process::ExitCode;

use args::{ApiCommand, Cli, Command, Global, WebhookCommand};
use output::Outcome;

fn main() -> ExitCode {
    let cli = Cli::parse_checked();
    if cli.global.verbose {
        init_tracing();
    }

    let outcome = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(error) => Err(output::Failure::new(format!(
            "cannot start the runtime: {error}"
        ))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of stdout went away (`kiwify … | head`): nothing more to say.
        Err(failure) if failure.is_broken_pipe() => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::Api(command) => api(&cli.global, *command).await,
        Command::Webhook(WebhookCommand::Verify {
            tokens,
            signature,
            url,
            file,
        }) => webhook::verify(tokens, signature, url, file.as_deref()),
        Command::Sandbox(args) => sandbox::run(args).await,
    }
}

async fn api(global: &Global, command: ApiCommand) -> Outcome {
    let client = commands::client(global)?;
    match command {
        ApiCommand::Token => commands::token(&client).await,
        ApiCommand::Account => commands::account(&client).await,
        ApiCommand::Sales(command) => commands::sales(&client, command).await,
        ApiCommand::Stats(args) => commands::stats(&client, args).await,
        ApiCommand::Balance { legal_entity_id } => {
            commands::balance(&client, legal_entity_id).await
        }
        ApiCommand::Products(command) => commands::products(&client, command).await,
        ApiCommand::Payouts(command) => commands::payouts(&client, command).await,
        ApiCommand::Affiliates(command) => commands::affiliates(&client, command).await,
        ApiCommand::Webhooks(command) => commands::webhooks(&client, command).await,
        ApiCommand::Events(command) => commands::events(&client, command).await,
    }
}

/// `--verbose`: the library's `tracing` output on stderr, at debug level unless `RUST_LOG`
/// says otherwise (`RUST_LOG=kiwify=trace`, `RUST_LOG=debug`).
fn init_tracing() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::fmt::format::FmtSpan;
    use tracing_subscriber::prelude::*;

    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_target("kiwify", tracing::Level::DEBUG));
    let format = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_span_events(FmtSpan::CLOSE);
    tracing_subscriber::registry()
        .with(format.with_filter(filter))
        .init();
}
