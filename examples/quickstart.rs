//! The main journey of the crate, end to end.
//!
//! With no `KIWIFY_*` variables set, it starts the embedded sandbox on a free loopback port and
//! runs: token, account details, products, a sales export over a year (several 90-day
//! windows), stats, a webhook registered, a refund, and the signed delivery received and
//! verified. With `KIWIFY_CLIENT_ID`, `KIWIFY_CLIENT_SECRET` and `KIWIFY_ACCOUNT_ID` set, it
//! runs the read-only part against the real API.
//!
//! Run: `cargo run --example quickstart --features sandbox`

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use chrono::{DateTime, Duration as Span, Utc};
use futures::StreamExt;
use kiwify::generated::types;
use kiwify::model::{SaleStatus, Secret};
use kiwify::prelude::*;
use kiwify::rate::RateLimit;
use kiwify::sandbox::{Sandbox, SandboxConfig};
use kiwify::webhook::{Event, Trigger, Verifier};
use kiwify::{Client, Credentials, SalesQuery, SalesRange};
use tokio::sync::mpsc;

/// The sandbox runs 600 requests a minute (the real API: 100) so the demo takes seconds; the
/// client's limiter is set to match, as it should be for any account.
const DEMO_RATE_PER_MINUTE: u32 = 600;

/// The token the demo webhook is registered with, and its receiver verifies against.
pub(crate) const WEBHOOK_TOKEN: &str = "quickstart-webhook-token-7f3a9c2e5b";

type BoxError = Box<dyn std::error::Error>;

/// Exits non-zero, after one readable line on stderr, when any step fails, including a
/// webhook delivery that is rejected or never arrives (`tests/e2e.rs` checks both outcomes).
#[tokio::main]
async fn main() -> ExitCode {
    let started = Instant::now();
    match run().await {
        Ok(()) => {
            println!("done in {:.1} s", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("quickstart failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    if std::env::var_os("KIWIFY_CLIENT_ID").is_some() {
        let client = Client::from_env()?;
        println!("Kiwify API at {} (read-only journey)", client.base_url());
        read_only_journey(&client, Utc::now()).await?;
        Ok(())
    } else {
        sandbox_journey(Verifier::new(WEBHOOK_TOKEN)?).await
    }
}

/// The whole journey on an embedded sandbox. `receiver` is the webhook receiver's verifier;
/// it must hold [`WEBHOOK_TOKEN`], the token the webhook is registered with.
pub(crate) async fn sandbox_journey(receiver: Verifier) -> Result<(), BoxError> {
    let config = SandboxConfig {
        rate_limit: Some((DEMO_RATE_PER_MINUTE, Duration::from_secs(60))),
        ..SandboxConfig::default()
    };
    let anchor = config.anchor;
    let sandbox = Sandbox::start_with(config).await?;
    let credentials = sandbox.credentials();
    let client = Client::builder()
        .credentials(Credentials::new(
            credentials.client_id,
            credentials.client_secret,
            credentials.account_id,
        ))
        .base_url(sandbox.base_url())
        .rate_limit(RateLimit::per_minute(DEMO_RATE_PER_MINUTE))
        .build()?;
    println!("sandbox Kiwify at {}", sandbox.base_url());

    let paid_sale = read_only_journey(&client, anchor).await?;
    let webhook = webhook_journey(&client, &sandbox, paid_sale, receiver).await;
    sandbox.shutdown().await;
    webhook
}

/// Token, account, products, a year of sales, stats. Returns a refundable card sale, if any.
async fn read_only_journey(
    client: &Client,
    until: DateTime<Utc>,
) -> kiwify::Result<Option<String>> {
    let token = client.access_token().await?;
    let lifetime = token
        .expires_at()
        .saturating_duration_since(tokio::time::Instant::now());
    println!(
        "token      valid for {} h, scopes: {}",
        (lifetime.as_secs() + 1800) / 3600,
        token.scopes().join(" ")
    );

    let account = client.get_account_details().send().await?.into_inner();
    println!(
        "account    {} ({}), {} legal entit{}",
        account.company_name.as_deref().unwrap_or("?"),
        account.id,
        account.legal_entities.len(),
        if account.legal_entities.len() == 1 {
            "y"
        } else {
            "ies"
        }
    );

    let products: Vec<types::Product> = collect(client.products()).await?;
    let names: Vec<&str> = products
        .iter()
        .filter_map(|product| product.name.as_deref())
        .collect();
    println!("products   {}: {}", products.len(), names.join(", "));

    let range = SalesRange::new(until - Span::days(365), until)?;
    let windows = range.windows(kiwify::paginate::DEFAULT_SALES_WINDOW).len();
    let began = Instant::now();
    let mut sales = client.sales(SalesQuery::new(range));
    let mut by_status: BTreeMap<String, (usize, i64)> = BTreeMap::new();
    let mut refundable = None;
    let mut total = 0;
    while let Some(sale) = sales.next().await {
        let sale = sale?;
        total += 1;
        let status = sale
            .status
            .clone()
            .unwrap_or(SaleStatus::Other("unknown".into()));
        let entry = by_status.entry(status.to_string()).or_default();
        entry.0 += 1;
        entry.1 += sale.net_amount.map_or(0, i64::from);
        let card = sale
            .payment_method
            .as_ref()
            .is_some_and(|method| method.as_str() == "credit_card");
        if refundable.is_none() && card && status == SaleStatus::Paid {
            refundable = Some(sale.id.clone());
        }
    }
    println!(
        "sales      {total} over 365 days ({windows} windows of at most 89 days) in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    for (status, (count, cents)) in &by_status {
        println!("             {status:<16} {count:>5}  {}", money(*cents));
    }

    let stats = client
        .get_stats()
        .start_date(kiwify::paginate::timestamp(until - Span::days(90)))
        .end_date(kiwify::paginate::timestamp(until))
        .send()
        .await?
        .into_inner();
    println!(
        "stats      last 90 days: {} sales, net {}, refund rate {:.1}%",
        stats.total_sales.unwrap_or_default(),
        money(stats.total_net_amount.map_or(0, i64::from)),
        stats.refund_rate.unwrap_or_default()
    );
    Ok(refundable)
}

/// Registers a webhook, refunds a sale, and verifies the signed delivery. A delivery the
/// receiver rejects, or none at all, is an error.
async fn webhook_journey(
    client: &Client,
    sandbox: &Sandbox,
    sale_id: Option<String>,
    receiver: Verifier,
) -> Result<(), BoxError> {
    let (receiver_url, mut deliveries) = start_receiver(receiver).await?;

    let webhook = client
        .create_webhook()
        .body(types::WebhookRequest {
            name: "quickstart".into(),
            url: receiver_url,
            products: "all".into(),
            triggers: vec![Trigger::CompraReembolsada, Trigger::CompraAprovada],
            token: Some(Secret::new(WEBHOOK_TOKEN)),
        })
        .send()
        .await
        .map_err(kiwify::Error::from)?
        .into_inner();
    println!(
        "webhook    registered {} for {:?}",
        webhook.id,
        webhook
            .triggers
            .iter()
            .map(Trigger::as_str)
            .collect::<Vec<_>>()
    );

    let Some(sale_id) = sale_id else {
        println!("refund     no paid card sale to refund");
        return Err("no paid card sale to refund, so no webhook delivery to verify".into());
    };
    let refund = client
        .refund_sale()
        .id(&sale_id)
        .send()
        .await
        .map_err(kiwify::Error::from)?;
    let status = sandbox
        .sale(&sale_id)
        .and_then(|sale| sale.status)
        .map(|status| status.to_string());
    println!(
        "refund     sale {sale_id}: refunded={} (status now {})",
        refund.refunded.map(bool::from).unwrap_or(false),
        status.as_deref().unwrap_or("?")
    );

    // The sandbox delivers before the refund call returns; the receiver has already judged it.
    match tokio::time::timeout(Duration::from_secs(5), deliveries.recv()).await {
        Ok(Some(Ok(line))) => {
            println!("delivery   {line}");
            Ok(())
        }
        Ok(Some(Err(rejection))) => {
            println!("delivery   REJECTED: {rejection}");
            Err(format!("the webhook delivery was rejected: {rejection}").into())
        }
        _ => {
            println!("delivery   none received");
            Err("the webhook delivery did not arrive within 5 s".into())
        }
    }
}

/// What the receiver made of one delivery: a summary line, or the rejection.
type Verdict = Result<String, kiwify::webhook::Rejection>;

/// A webhook receiver on loopback that verifies each delivery and reports it on a channel.
async fn start_receiver(verifier: Verifier) -> std::io::Result<(String, mpsc::Receiver<Verdict>)> {
    let (sender, receiver) = mpsc::channel(8);
    let app = axum::Router::new()
        .route("/kiwify", post(receive))
        .with_state((verifier, sender));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/kiwify", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, receiver))
}

async fn receive(
    State((verifier, sender)): State<(Verifier, mpsc::Sender<Verdict>)>,
    uri: axum::http::Uri,
    body: Bytes,
) -> axum::http::StatusCode {
    let verdict = verifier
        .receive(&uri.to_string(), &body)
        .map(|delivery| match &delivery.event {
            Event::Order(order) => format!(
                "verified {} for order {} (HMAC-SHA1 signature ok, key {})",
                order.webhook_event_type,
                order.order_id,
                delivery.idempotency_key()
            ),
            Event::AbandonedCart(cart) => format!("verified abandoned cart {}", cart.id),
            _ => "verified an event".to_owned(),
        });
    let status = match &verdict {
        Ok(_) => axum::http::StatusCode::OK,
        Err(rejection) => axum::http::StatusCode::from_u16(rejection.http_status())
            .unwrap_or(axum::http::StatusCode::BAD_REQUEST),
    };
    let _ = sender.send(verdict).await;
    status
}

async fn collect<T>(mut pages: kiwify::paginate::Pages<T>) -> kiwify::Result<Vec<T>> {
    let mut items = Vec::new();
    while let Some(item) = pages.next().await {
        items.push(item?);
    }
    Ok(items)
}

/// `R$ 41.981,98`: Brazilian grouping and decimal comma.
fn money(cents: i64) -> String {
    let reais = (cents / 100).abs().to_string();
    let mut grouped = String::new();
    for (index, digit) in reais.chars().enumerate() {
        if index > 0 && (reais.len() - index).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}R$ {grouped},{:02}", (cents % 100).abs())
}
