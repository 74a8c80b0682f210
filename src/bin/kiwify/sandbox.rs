//! `kiwify sandbox`: a local fake Kiwify for programs in any language.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use kiwify::sandbox::{Sandbox, SandboxConfig};

use crate::args::SandboxArgs;
use crate::output::{Failure, Outcome};

/// Starts the sandbox, prints how to reach it as shell `export` lines on stdout, and serves
/// until Ctrl-C. It listens on loopback unless `--bind` says otherwise, as the library does.
pub async fn run(args: SandboxArgs) -> Outcome {
    if !is_loopback(args.bind) {
        eprintln!(
            "warning: the sandbox will listen on {}, which is not loopback: anyone who can reach \
             it can use it with the fixed test credentials",
            args.bind
        );
    }
    let config = SandboxConfig {
        bind: SocketAddr::new(args.bind, args.port),
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

/// Loopback, IPv4-mapped IPv6 loopback (`::ffff:127.0.0.1`) included.
fn is_loopback(address: IpAddr) -> bool {
    match address {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
        IpAddr::V4(v4) => v4.is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_recognised_in_every_spelling() {
        for address in ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(address.parse().unwrap()), "{address}");
        }
        for address in [
            "0.0.0.0",
            "::",
            "192.0.2.1",
            "::ffff:192.0.2.1",
            "2001:db8::1",
        ] {
            assert!(!is_loopback(address.parse().unwrap()), "{address}");
        }
    }
}
