//! `kiwify sandbox`: a local fake Kiwify for programs in any language.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};

use kiwify::sandbox::{Sandbox, SandboxConfig};

use crate::args::SandboxArgs;
use crate::output::{Failure, Outcome};

/// Starts the sandbox, prints how to reach it as shell `export` lines on stdout, and serves
/// until Ctrl-C.
pub async fn run(args: SandboxArgs) -> Outcome {
    let config = SandboxConfig {
        bind: SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)),
        seed: args.seed,
        sales: args.sales,
        rate_limit: if args.no_rate_limit {
            None
        } else {
            SandboxConfig::default().rate_limit
        },
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start_with(config)
        .await
        .map_err(|error| Failure::new(format!("cannot start the sandbox: {error}")))?;

    let credentials = sandbox.credentials();
    let mut out = std::io::stdout().lock();
    writeln!(out, "export KIWIFY_BASE_URL={}", sandbox.base_url())?;
    writeln!(out, "export KIWIFY_CLIENT_ID={}", credentials.client_id)?;
    writeln!(
        out,
        "export KIWIFY_CLIENT_SECRET={}",
        credentials.client_secret
    )?;
    writeln!(out, "export KIWIFY_ACCOUNT_ID={}", credentials.account_id)?;
    out.flush()?;
    drop(out);
    eprintln!(
        "kiwify sandbox listening on {} (test credentials above); Ctrl-C to stop",
        sandbox.addr()
    );

    let stopped = kiwify::sandbox::stop_signal().await;
    sandbox.shutdown().await;
    stopped.map_err(|error| Failure::new(format!("cannot wait for a stop signal: {error}")))
}
