//! The `kiwify` binary against an in-process sandbox: the commands run as child processes with
//! the sandbox's URL and credentials in their environment.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use kiwify::SalesRange;
use kiwify::model::{PaymentMethod, SaleStatus};
use kiwify::sandbox::{NewSale, Sandbox, SandboxConfig};
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_kiwify");

/// The environment of a child: the sandbox's (when given) and nothing else of `KIWIFY_*`.
fn command(sandbox: Option<&Sandbox>, args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command.args(args);
    with_environment(&mut command, sandbox);
    command
}

fn with_environment(command: &mut Command, sandbox: Option<&Sandbox>) {
    for name in [
        "KIWIFY_BASE_URL",
        "KIWIFY_CLIENT_ID",
        "KIWIFY_CLIENT_SECRET",
        "KIWIFY_ACCOUNT_ID",
        "RUST_LOG",
    ] {
        command.env_remove(name);
    }
    if let Some(sandbox) = sandbox {
        let credentials = sandbox.credentials();
        command
            .env("KIWIFY_BASE_URL", sandbox.base_url())
            .env("KIWIFY_CLIENT_ID", credentials.client_id)
            .env("KIWIFY_CLIENT_SECRET", credentials.client_secret)
            .env("KIWIFY_ACCOUNT_ID", credentials.account_id);
    }
}

/// Runs `command` to its end off the runtime's threads, so that the sandbox keeps serving, and
/// feeds it `stdin`.
async fn run(mut command: Command, stdin: &[u8]) -> Output {
    let stdin = stdin.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the kiwify binary starts");
        let mut input = child.stdin.take().expect("stdin is piped");
        // A command that does not read stdin may close it first: that is not a failure here.
        let _ = input.write_all(&stdin);
        drop(input);
        child.wait_with_output().expect("the kiwify binary runs")
    })
    .await
    .expect("the child's thread")
}

async fn kiwify(sandbox: &Sandbox, args: &[&str]) -> Output {
    let mut full = vec!["--rate-limit", "0"];
    full.extend_from_slice(args);
    run(command(Some(sandbox), &full), b"").await
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_success(output: &Output) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}\nstdout: {}",
        stderr(output),
        stdout(output)
    );
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("{error}: not JSON: {text}"))
}

fn sandbox_without_limit() -> SandboxConfig {
    SandboxConfig {
        rate_limit: None,
        ..SandboxConfig::default()
    }
}

/// A fresh empty directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

// ---- sales export ----

/// A year of sales: five 90-day windows.
const FROM: &str = "2025-12-01";
const TO: &str = "2026-11-30";

/// A period of Brasília days over most of the seeded year whose two edges each have a sale in
/// the three hours that reading the days as UTC would get wrong, and the ids of the sales in
/// it. Computed here from the sandbox's state, not by the library, so that a window bug the
/// CLI shares with the library cannot hide.
struct Period {
    from: String,
    to: String,
    ids: HashSet<String>,
}

fn edge_period(sandbox: &Sandbox) -> Period {
    let sales = sandbox.sales();
    // A sale at 00:00-02:59 UTC is at 21:00-23:59 Brasília time the day before.
    let late_evening = |sale: &&kiwify::generated::types::Sale| {
        sale.created_at
            .is_some_and(|at| at.time() < NaiveTime::from_hms_opt(3, 0, 0).unwrap())
    };
    let utc_dates: Vec<NaiveDate> = sales
        .iter()
        .filter(late_evening)
        .filter_map(|sale| sale.created_at.map(|at| at.date_naive()))
        .collect();
    let first = *utc_dates.iter().min().expect("a late-evening sale");
    let last = *utc_dates.iter().max().expect("a late-evening sale");

    // `--from first` starts at first T03:00Z, just after a sale; `--to last - 1 day` ends at
    // last T03:00Z, just after another.
    let start = first.and_hms_opt(3, 0, 0).unwrap().and_utc();
    let end = last.and_hms_opt(3, 0, 0).unwrap().and_utc();
    let ids: HashSet<String> = sales
        .iter()
        .filter(|sale| sale.created_at.is_some_and(|at| start <= at && at < end))
        .map(|sale| sale.id.clone())
        .collect();
    Period {
        from: first.to_string(),
        to: last.pred_opt().unwrap().to_string(),
        ids,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_over_several_windows_yields_every_sale_once() {
    let sandbox = Sandbox::start_with(sandbox_without_limit()).await.unwrap();
    let period = edge_period(&sandbox);
    assert!(period.ids.len() > 1000, "the sandbox seeds a year of sales");
    let range = SalesRange::parse(&period.from, &period.to).unwrap();
    assert!(range.windows(kiwify::paginate::DEFAULT_SALES_WINDOW).len() >= 4);

    let output = kiwify(
        &sandbox,
        &[
            "sales",
            "export",
            "--from",
            &period.from,
            "--to",
            &period.to,
            "--page-size",
            "37",
        ],
    )
    .await;
    assert_success(&output);
    assert!(
        output.stderr.is_empty(),
        "nothing on stderr when it is not a terminal: {}",
        stderr(&output)
    );
    let lines: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();
    let ids: Vec<String> = lines
        .iter()
        .map(|line| json(line)["id"].as_str().expect("a sale id").to_owned())
        .collect();
    let exported: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(exported.len(), ids.len(), "each sale once");
    assert_eq!(ids.len(), period.ids.len());
    assert_eq!(exported, period.ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_to_a_csv_file_writes_a_header_and_one_row_per_sale() {
    let sandbox = Sandbox::start_with(sandbox_without_limit()).await.unwrap();
    let dir = scratch("export-csv");
    let path = dir.join("sales.csv");
    let period = edge_period(&sandbox);

    let output = kiwify(
        &sandbox,
        &[
            "sales",
            "export",
            "--from",
            &period.from,
            "--to",
            &period.to,
            "--format",
            "csv",
            "--out",
            path.to_str().unwrap(),
        ],
    )
    .await;
    assert_success(&output);
    assert!(output.stdout.is_empty() && output.stderr.is_empty());
    assert!(!dir.join("sales.csv.partial").exists());

    let mut reader = csv::Reader::from_path(&path).unwrap();
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    assert!(headers.iter().any(|column| column == "customer_email"));
    let status = headers
        .iter()
        .position(|column| column == "status")
        .unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let ids: HashSet<String> = rows.iter().map(|row| row[0].to_owned()).collect();
    assert_eq!(rows.len(), ids.len(), "each sale once");
    assert_eq!(ids, period.ids);
    assert!(rows.iter().all(|row| !row[status].is_empty()));
}

/// With stdout and stderr on one terminal (a pseudo-terminal made by util-linux `script`), the
/// progress line is drawn, as the issue asks, and every sale still arrives as a whole JSON line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_on_a_terminal_draws_progress_without_breaking_lines() {
    let has_script = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_script {
        // FIXME: without util-linux `script` there is no pseudo-terminal to test with (the
        // crate has no pty dependency); the line handling is unit-tested in export.rs.
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let sandbox = Sandbox::start_with(sandbox_without_limit()).await.unwrap();
    let period = edge_period(&sandbox);
    let export = format!(
        "'{BINARY}' --rate-limit 0 sales export --from {} --to {}",
        period.from, period.to
    );
    let mut command = Command::new("script");
    command.args(["-qec", &export, "/dev/null"]);
    with_environment(&mut command, Some(&sandbox));
    let output = run(command, b"").await;
    assert_success(&output);

    let screen = stdout(&output);
    assert!(
        screen.contains(" sales exported in "),
        "a progress line on the terminal"
    );
    // What remains of each line once the progress line's redraws (`\r`, erase-line) are cut.
    let sale_lines: Vec<&str> = screen
        .split('\n')
        .map(|line| line.trim_end_matches('\r'))
        .map(|line| line.rsplit("\x1b[2K").next().unwrap_or(line))
        .filter(|line| line.starts_with('{'))
        .collect();
    let ids: HashSet<String> = sale_lines
        .iter()
        .map(|line| json(line)["id"].as_str().expect("a sale id").to_owned())
        .collect();
    assert_eq!(
        sale_lines.len(),
        period.ids.len(),
        "every sale on one whole line"
    );
    assert_eq!(ids, period.ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_export_leaves_no_file_that_looks_complete() {
    // Three requests a minute, and no retries: the export fails on its fourth page.
    let config = SandboxConfig {
        rate_limit: Some((3, Duration::from_secs(60))),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start_with(config).await.unwrap();
    let dir = scratch("export-failure");
    let path = dir.join("sales.jsonl");

    let output = kiwify(
        &sandbox,
        &[
            "--max-retries",
            "0",
            "sales",
            "export",
            "--from",
            FROM,
            "--to",
            TO,
            "--page-size",
            "10",
            "--concurrency",
            "1",
            "--out",
            path.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "one line: {message}");
    assert!(
        message.contains("export stopped after 30 sales"),
        "{message}"
    );
    assert!(message.contains("429"), "{message}");
    assert!(!path.exists(), "no file under the final name");
    let partial = std::fs::read_to_string(dir.join("sales.jsonl.partial")).unwrap();
    assert_eq!(partial.lines().count(), 30);
}

// ---- refunds and webhooks ----

/// A local receiver that answers 200 to every POST.
async fn receiver() -> SocketAddr {
    let app = axum::Router::new().fallback(|| async { "ok" });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_through_the_cli_shows_in_the_sandbox() {
    let sandbox = Sandbox::start_with(sandbox_without_limit()).await.unwrap();
    let sale = sandbox
        .create_sale(NewSale {
            payment_method: PaymentMethod::Pix,
            ..NewSale::default()
        })
        .await
        .unwrap();

    // A Pix sale needs a Pix key: the API's refusal is one line with its status and message.
    let output = kiwify(&sandbox, &["sales", "refund", &sale.id]).await;
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("400") && message.contains("pixKey"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1);
    assert_eq!(
        sandbox.sale(&sale.id).unwrap().status,
        Some(SaleStatus::Paid)
    );

    let output = kiwify(
        &sandbox,
        &[
            "sales",
            "refund",
            &sale.id,
            "--pix-key",
            "customer@example.com",
        ],
    )
    .await;
    assert_success(&output);
    assert_eq!(json(&stdout(&output))["refunded"], true);
    assert_eq!(
        sandbox.sale(&sale.id).unwrap().status,
        Some(SaleStatus::Refunded)
    );

    let output = kiwify(&sandbox, &["sales", "get", &sale.id]).await;
    assert_success(&output);
    assert_eq!(json(&stdout(&output))["status"], "refunded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_verify_accepts_a_sandbox_delivery_and_rejects_a_tampered_one() {
    let sandbox = Sandbox::start_with(sandbox_without_limit()).await.unwrap();
    let sale = sandbox.create_sale(NewSale::default()).await.unwrap();
    let token = "cli-test-token-0123456789abcdef";
    let url = format!("http://{}/kiwify?source=cli-test", receiver().await);

    let output = kiwify(
        &sandbox,
        &[
            "webhooks",
            "create",
            "--name",
            "cli test",
            "--url",
            &url,
            "--trigger",
            "compra_reembolsada",
            "--token",
            token,
        ],
    )
    .await;
    assert_success(&output);
    assert_eq!(json(&stdout(&output))["triggers"][0], "compra_reembolsada");

    assert_success(&kiwify(&sandbox, &["sales", "refund", &sale.id]).await);
    let deliveries = sandbox.deliveries();
    let delivery = deliveries
        .iter()
        .find(|delivery| delivery.trigger == "compra_reembolsada")
        .expect("the refund was delivered");
    assert_eq!(delivery.status, Some(200), "{:?}", delivery.error);

    // From stdin, with the URL the delivery was posted to.
    let verify = |tokens: &[&str], signed: &[&str]| {
        let mut args = vec!["webhook", "verify"];
        for token in tokens {
            args.extend(["--token", token]);
        }
        args.extend_from_slice(signed);
        command(None, &args)
    };
    let output = run(
        verify(&["old-token", token], &["--url", &delivery.url]),
        delivery.body.as_bytes(),
    )
    .await;
    assert_success(&output);
    let event = json(&stdout(&output));
    assert_eq!(event["event_type"], "order_refunded");
    assert_eq!(event["order_id"], sale.id.as_str());
    assert_eq!(event["event"]["order_id"], sale.id.as_str());
    assert_eq!(event["event"]["order_status"], "refunded");
    assert_eq!(
        event["idempotency_key"],
        format!("{}:order_refunded", sale.id)
    );

    // From a file, with the signature alone.
    let dir = scratch("webhook-verify");
    let file = dir.join("body.json");
    std::fs::write(&file, &delivery.body).unwrap();
    let output = run(
        verify(
            &[token],
            &["--signature", &delivery.signature, file.to_str().unwrap()],
        ),
        b"",
    )
    .await;
    assert_success(&output);

    // One byte changed, or the wrong token: refused, with the reason on stderr.
    let tampered = delivery.body.replacen("refunded", "refundeD", 1);
    assert_ne!(tampered, delivery.body);
    for (tokens, body) in [
        (&[token][..], tampered.as_bytes()),
        (&["not-the-token"][..], delivery.body.as_bytes()),
    ] {
        let output = run(verify(tokens, &["--url", &delivery.url, "-"]), body).await;
        assert_eq!(output.status.code(), Some(1));
        assert!(output.stdout.is_empty());
        assert!(
            stderr(&output).contains("signature does not match"),
            "{}",
            stderr(&output)
        );
    }
}

// ---- errors, usage and secrets ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_credential_is_named_and_exits_1() {
    let sandbox = Sandbox::start_with(sandbox_without_limit()).await.unwrap();
    for missing in [
        "KIWIFY_CLIENT_ID",
        "KIWIFY_CLIENT_SECRET",
        "KIWIFY_ACCOUNT_ID",
    ] {
        let mut command = command(Some(&sandbox), &["products", "list"]);
        command.env_remove(missing);
        let output = run(command, b"").await;
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(
            stderr(&output).trim(),
            format!("error: missing credential: set {missing}")
        );
    }
    assert_eq!(sandbox.token_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2() {
    let sandbox = Sandbox::start_with(sandbox_without_limit()).await.unwrap();
    for args in [
        &["sales", "refund"][..],
        &["sales", "export", "--from", FROM],
        &["payouts", "create", "--amount", "-5"],
        &["affiliates", "update", "some-id"],
        &[
            "webhooks",
            "create",
            "--name",
            "x",
            "--url",
            "http://x",
            "--trigger",
            "nope",
        ],
        &["webhook", "verify", "--token", "t"],
        &["no-such-command"],
    ] {
        let output = kiwify(&sandbox, args).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert_eq!(sandbox.requests() + sandbox.token_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_or_reversed_dates_are_usage_errors_naming_the_value() {
    let sandbox = Sandbox::start_with(sandbox_without_limit()).await.unwrap();
    let cases: [(&[&str], &str); 9] = [
        (
            &["sales", "export", "--from", "2026-13-01", "--to", TO],
            "'2026-13-01' for '--from <DATE>'",
        ),
        (
            &[
                "sales",
                "export",
                "--from",
                "2026-03-10",
                "--to",
                "2026-03-01",
            ],
            "--from 2026-03-10 does not come before --to 2026-03-01",
        ),
        (
            &["sales", "list", "--start-date", FROM, "--end-date", "soon"],
            "'soon' for '--end-date <DATE>'",
        ),
        (
            &[
                "sales",
                "list",
                "--start-date",
                "2026-03-01T00:00:00Z",
                "--end-date",
                "2026-03-01T00:00:00Z",
            ],
            "--start-date 2026-03-01T00:00:00Z does not come before --end-date",
        ),
        (
            &[
                "sales",
                "export",
                "--from",
                FROM,
                "--to",
                TO,
                "--updated-from",
                "2026-05-02",
                "--updated-to",
                "2026-05-01",
            ],
            "--updated-from 2026-05-02 does not come before --updated-to 2026-05-01",
        ),
        (
            &[
                "sales",
                "list",
                "--start-date",
                FROM,
                "--end-date",
                TO,
                "--updated-from",
                "yesterday",
                "--updated-to",
                TO,
            ],
            "'yesterday' for '--updated-from <DATE>'",
        ),
        (
            &["stats", "--start-date", "2026-02-30", "--end-date", TO],
            "'2026-02-30' for '--start-date <DATE>'",
        ),
        (
            &["stats", "--start-date", TO, "--end-date", FROM],
            "--start-date 2026-11-30 does not come before --end-date 2025-12-01",
        ),
        (
            &[
                "events",
                "participants",
                "p-1",
                "--updated-to",
                "2026/01/01",
            ],
            "'2026/01/01' for '--updated-to <DATE>'",
        ),
    ];
    for (args, named) in cases {
        let output = kiwify(&sandbox, args).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(named),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(
        sandbox.requests() + sandbox.token_requests(),
        0,
        "refused before any request"
    );

    // One Brasília day, given as the same date twice, is a period, not a usage error.
    let output = kiwify(&sandbox, &["stats", "--start-date", TO, "--end-date", TO]).await;
    assert_success(&output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_exit_1_with_the_status_and_message() {
    let sandbox = Sandbox::start_with(sandbox_without_limit()).await.unwrap();
    let output = kiwify(&sandbox, &["sales", "get", "no-such-sale"]).await;
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.starts_with("error: ") && message.contains("404"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1);

    let mut command = command(Some(&sandbox), &["token"]);
    command.env("KIWIFY_CLIENT_SECRET", "wrong");
    let output = run(command, b"").await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("KIWIFY_CLIENT_SECRET"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_shows_expiry_and_scopes_but_never_the_token() {
    let sandbox = Sandbox::start_with(sandbox_without_limit()).await.unwrap();
    let output = kiwify(&sandbox, &["--verbose", "token"]).await;
    assert_success(&output);
    assert_eq!(sandbox.token_requests(), 1);

    let text = stdout(&output);
    let answer = json(&text);
    assert!(answer["expires_in"].as_u64().unwrap() > 3600);
    assert!(answer["expires_at"].as_str().unwrap().ends_with('Z'));
    let scopes: Vec<&str> = answer["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|scope| scope.as_str().unwrap())
        .collect();
    assert!(scopes.contains(&"sales") && scopes.contains(&"webhooks"));
    // The sandbox issues JWTs, which start with `eyJ`; the secret is a fixed test value.
    for secret in ["eyJ", "sandbox-secret", "access_token", "Bearer"] {
        assert!(!text.contains(secret), "stdout shows {secret}: {text}");
        assert!(!stderr(&output).contains(secret), "stderr shows {secret}");
    }
}

// ---- lists ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_print_every_item_per_line_or_one_page_as_a_document() {
    let sandbox = Sandbox::start_with(sandbox_without_limit()).await.unwrap();

    let output = kiwify(&sandbox, &["products", "list"]).await;
    assert_success(&output);
    let products: Vec<Value> = stdout(&output).lines().map(json).collect();
    assert!(products.len() > 2);
    assert!(products.iter().all(|product| product["id"].is_string()));

    let output = kiwify(&sandbox, &["products", "list", "--page-size", "2"]).await;
    assert_success(&output);
    let page = json(&stdout(&output));
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(page["pagination"]["count"], products.len());

    let output = kiwify(
        &sandbox,
        &[
            "sales",
            "list",
            "--start-date",
            "2026-11-01",
            "--end-date",
            "2026-11-20",
        ],
    )
    .await;
    assert_success(&output);
    let count = stdout(&output).lines().count();
    let output = kiwify(
        &sandbox,
        &[
            "sales",
            "list",
            "--start-date",
            "2026-11-01",
            "--end-date",
            "2026-11-20",
            "--page-number",
            "1",
        ],
    )
    .await;
    assert_success(&output);
    assert_eq!(json(&stdout(&output))["pagination"]["count"], count);
}

/// The `sales` and `affiliates` filters select the same items whether one page or every page
/// is asked for, and the items the sandbox's state says they should.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_mean_the_same_for_one_page_and_every_page() {
    let sandbox = Sandbox::start_with(sandbox_without_limit()).await.unwrap();
    let ids_of = |items: Vec<Value>, key: &str| -> HashSet<String> {
        items
            .iter()
            .map(|item| item[key].as_str().unwrap().to_owned())
            .collect()
    };

    // Sales created in [2026-06-01, 2026-08-29] (Brasília days), last updated in
    // [2026-07-01, 2026-11-29], paid by Pix, with every detail.
    let filters = [
        "--start-date",
        "2026-06-01",
        "--end-date",
        "2026-08-29",
        "--status",
        "paid",
        "--payment-method",
        "pix",
        "--updated-from",
        "2026-07-01",
        "--updated-to",
        "2026-11-29",
        "--full-details",
    ];
    let every = kiwify(&sandbox, &[&["sales", "list"][..], &filters].concat()).await;
    assert_success(&every);
    let every: Vec<Value> = stdout(&every).lines().map(json).collect();
    let one = kiwify(
        &sandbox,
        &[&["sales", "list", "--page-size", "100"][..], &filters].concat(),
    )
    .await;
    assert_success(&one);
    let one = json(&stdout(&one));
    let page = one["data"].as_array().unwrap().clone();

    let instant = |text: &str| text.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let created = instant("2026-06-01T03:00:00Z")..instant("2026-08-30T03:00:00Z");
    let updated = instant("2026-07-01T03:00:00Z")..instant("2026-11-30T03:00:00Z");
    let expected: HashSet<String> = sandbox
        .sales()
        .into_iter()
        .filter(|sale| sale.created_at.is_some_and(|at| created.contains(&at)))
        .filter(|sale| sale.updated_at.is_some_and(|at| updated.contains(&at)))
        .filter(|sale| sale.status == Some(SaleStatus::Paid))
        .filter(|sale| sale.payment_method == Some(PaymentMethod::Pix))
        .map(|sale| sale.id)
        .collect();
    assert!(
        !expected.is_empty() && expected.len() < 100,
        "{}",
        expected.len()
    );
    assert_eq!(one["pagination"]["count"], expected.len());
    assert_eq!(ids_of(every.clone(), "id"), expected);
    assert_eq!(ids_of(page.clone(), "id"), expected);
    assert!(
        every
            .iter()
            .chain(&page)
            .all(|sale| sale["payment"].is_object()),
        "full details"
    );

    // Affiliates with one status.
    let every = kiwify(&sandbox, &["affiliates", "list", "--status", "active"]).await;
    assert_success(&every);
    let every: Vec<Value> = stdout(&every).lines().map(json).collect();
    let one = kiwify(
        &sandbox,
        &[
            "affiliates",
            "list",
            "--status",
            "active",
            "--page-number",
            "1",
        ],
    )
    .await;
    assert_success(&one);
    let page = json(&stdout(&one))["data"].as_array().unwrap().clone();
    let expected: HashSet<String> = sandbox
        .affiliates()
        .into_iter()
        .filter(|affiliate| {
            affiliate
                .status
                .as_ref()
                .is_some_and(|s| s.as_str() == "active")
        })
        .map(|affiliate| affiliate.affiliate_id)
        .collect();
    assert!(!expected.is_empty() && expected.len() < sandbox.affiliates().len());
    assert_eq!(ids_of(every, "affiliate_id"), expected);
    assert_eq!(ids_of(page, "affiliate_id"), expected);
}

// ---- the sandbox command ----

#[test]
fn the_sandbox_command_prints_exports_that_work() {
    let mut child = Command::new(BINARY)
        .args(["sandbox", "--port", "0", "--no-rate-limit"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut exports = Vec::new();
    for _ in 0..4 {
        let line = lines.next().expect("an export line").unwrap();
        let (name, value) = line
            .strip_prefix("export ")
            .and_then(|assignment| assignment.split_once('='))
            .unwrap_or_else(|| panic!("not an export line: {line}"));
        exports.push((name.to_owned(), value.to_owned()));
    }
    let names: Vec<&str> = exports.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "KIWIFY_BASE_URL",
            "KIWIFY_CLIENT_ID",
            "KIWIFY_CLIENT_SECRET",
            "KIWIFY_ACCOUNT_ID"
        ]
    );

    let base_url = exports[0].1.clone();
    let output = command(None, &["balance"]).envs(exports).output().unwrap();
    assert_success(&output);
    assert!(json(&stdout(&output))["available"].is_number());

    // SIGTERM (how containers and CI runners stop a process) shuts it down cleanly.
    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    if !terminated.as_ref().is_ok_and(|status| status.success()) {
        let _ = child.kill();
        panic!("could not send SIGTERM with kill(1): {terminated:?}");
    }
    assert!(child.wait().unwrap().success(), "a clean exit on SIGTERM");

    // Loopback by default, and so no warning.
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    let mut messages = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut messages).unwrap();
    assert!(messages.contains("listening on 127.0.0.1:"), "{messages}");
    assert!(!messages.contains("warning"), "{messages}");
}

#[test]
fn the_sandbox_command_warns_before_listening_beyond_loopback() {
    // 192.0.2.1 (TEST-NET-1) is not an address of this machine: the warning comes first,
    // then the bind fails, so nothing listens beyond loopback during the test.
    let output = Command::new(BINARY)
        .args(["sandbox", "--bind", "192.0.2.1", "--port", "0"])
        .output()
        .unwrap();
    let messages = stderr(&output);
    assert!(
        messages
            .starts_with("warning: the sandbox will listen on 192.0.2.1, which is not loopback"),
        "{messages}"
    );
    assert_eq!(output.status.code(), Some(1), "{messages}");
    assert!(messages.contains("cannot start the sandbox"), "{messages}");

    // A loopback address other than the default is fine and silent (all of 127/8 is
    // loopback on Linux).
    let mut child = Command::new(BINARY)
        .args(["sandbox", "--bind", "127.0.0.2", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .expect("an export line")
        .unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let mut messages = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut messages).unwrap();
    assert!(
        first.starts_with("export KIWIFY_BASE_URL=http://127.0.0.2:"),
        "{first}"
    );
    assert!(!messages.contains("warning"), "{messages}");

    let output = Command::new(BINARY)
        .args(["sandbox", "--bind", "localhost-ish"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("'localhost-ish' for '--bind <ADDR>'"));
}
