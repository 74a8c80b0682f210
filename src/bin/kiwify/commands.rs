//! The API commands: one library call each, the answer printed as JSON.

use std::time::Duration;

use chrono::Utc;
use futures_util::{Stream, StreamExt};
use kiwify::client::DEFAULT_ATTEMPT_TIMEOUT;
use kiwify::generated::types;
use kiwify::model::{Cents, PaymentMethod, SaleStatus, Secret};
use kiwify::paginate::{AffiliateFilter, ParticipantFilter, WebhookFilter, timestamp};
use kiwify::prelude::*;
use kiwify::rate::RateLimit;
use kiwify::retry::RetryPolicy;
use kiwify::webhook::Trigger;
use kiwify::{SalesQuery, SalesRange};
use serde::Serialize;
use serde_json::json;

use crate::args::{
    AffiliatesCommand, DateArg, EventsCommand, Global, PayoutsCommand, ProductsCommand,
    SalesCommand, SalesFilters, SalesListArgs, StatsArgs, WebhooksCommand,
};
use crate::output::{self, Failure, Lines, Outcome};

/// Sends one page request of a list operation, with `--page-number` (1 by default) and
/// `--page-size` when given, and prints the page as one document.
macro_rules! print_one_page {
    ($request:expr, $paging:expr) => {{
        let mut request = $request.page_number($paging.page_number.unwrap_or(1));
        if let Some(size) = $paging.page_size {
            request = request.page_size(size);
        }
        output::document(&request.send().await?.into_inner())
    }};
}

/// The client the global options and the environment describe.
pub fn client(global: &Global) -> Result<Client, Failure> {
    let mut builder = Client::builder()
        .from_env()?
        .user_agent(concat!("kiwify-cli/", env!("CARGO_PKG_VERSION")));
    if let Some(base_url) = global
        .base_url
        .as_deref()
        .filter(|url| !url.trim().is_empty())
    {
        builder = builder.base_url(base_url);
    }
    if let Some(per_minute) = global.rate_limit {
        builder = builder.rate_limit(match per_minute {
            0 => RateLimit::disabled(),
            n => RateLimit::per_minute(n),
        });
    }
    if let Some(retries) = global.max_retries {
        let attempts = retries.saturating_add(1);
        builder = builder.retry_policy(RetryPolicy::default().with_max_attempts(attempts));
    }
    if let Some(seconds) = global.timeout {
        let limit = Duration::from_secs(seconds);
        builder = builder
            .operation_timeout(limit)
            .attempt_timeout(limit.min(DEFAULT_ATTEMPT_TIMEOUT));
    }
    Ok(builder.build()?)
}

/// `kiwify token`: expiry and scopes, never the token itself.
pub async fn token(client: &Client) -> Outcome {
    let token = client.access_token().await?;
    let remaining = token
        .expires_at()
        .saturating_duration_since(tokio::time::Instant::now());
    let expires_at = chrono::Duration::from_std(remaining)
        .ok()
        .and_then(|remaining| Utc::now().checked_add_signed(remaining));
    output::document(&json!({
        "expires_at": expires_at.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        "expires_in": remaining.as_secs(),
        "scopes": token.scopes(),
    }))
}

pub async fn account(client: &Client) -> Outcome {
    let details = client.get_account_details().send().await?;
    output::document(&details.into_inner())
}

pub async fn sales(client: &Client, command: SalesCommand) -> Outcome {
    match command {
        SalesCommand::List(args) => list_sales(client, args).await,
        SalesCommand::Get { id } => {
            let sale = client.get_sale().id(id).send().await?;
            output::document(&sale.into_inner())
        }
        SalesCommand::Refund { id, pix_key } => {
            let body = types::RefundRequest { pix_key };
            let answer = client.refund_sale().id(id).body(body).send().await;
            output::document(&answer?.into_inner())
        }
        SalesCommand::Export(args) => crate::export::run(client, args).await,
    }
}

async fn list_sales(client: &Client, args: SalesListArgs) -> Outcome {
    let range = SalesRange::new(args.start_date.at, args.end_date.at)?;
    let query = sales_query(range, &args.filters)?;
    if !args.paging.single_page() {
        return print_stream(client.sales(query)).await;
    }

    print_one_page!(query.apply(client.list_sales()), args.paging)
}

/// The library query for a range and the `sales` filters given on the command line.
pub fn sales_query(range: SalesRange, filters: &SalesFilters) -> Result<SalesQuery, Failure> {
    let mut query = SalesQuery::new(range);
    if let (Some(from), Some(to)) = (&filters.updated_from, &filters.updated_to) {
        query = query.updated_in(SalesRange::new(from.at, to.at)?);
    }
    if let Some(status) = &filters.status {
        query = query.status(SaleStatus::from(status.as_str()));
    }
    if let Some(method) = &filters.payment_method {
        query = query.payment_method(PaymentMethod::from(method.as_str()));
    }
    if let Some(id) = &filters.product_id {
        query = query.product_id(id.clone());
    }
    if let Some(id) = &filters.affiliate_id {
        query = query.affiliate_id(id.clone());
    }
    Ok(query.full_details(filters.full_details))
}

pub async fn stats(client: &Client, args: StatsArgs) -> Outcome {
    let range = SalesRange::new(args.start_date.at, args.end_date.at)?;
    let mut request = client
        .get_stats()
        .start_date(timestamp(range.start()))
        .end_date(timestamp(range.end()));
    if let Some(id) = args.product_id {
        request = request.product_id(id);
    }
    let stats = request.send().await?;
    output::document(&stats.into_inner())
}

pub async fn balance(client: &Client, legal_entity_id: Option<String>) -> Outcome {
    let balance = match legal_entity_id {
        Some(id) => {
            client
                .get_legal_entity_balance()
                .legal_entity_id(id)
                .send()
                .await
        }
        None => client.get_balance().send().await,
    };
    output::document(&balance?.into_inner())
}

pub async fn products(client: &Client, command: ProductsCommand) -> Outcome {
    match command {
        ProductsCommand::List { paging } if paging.single_page() => {
            let mut request = client
                .list_products()
                .page_number(paging.page_number.unwrap_or(1));
            if let Some(size) = paging.page_size {
                request = request.page_size(size);
            }
            let page = request.send().await?;
            output::document(&page.into_inner())
        }
        ProductsCommand::List { .. } => print_stream(client.products()).await,
        ProductsCommand::Get { id } => {
            let product = client.get_product().id(id).send().await;
            output::document(&product?.into_inner())
        }
    }
}

pub async fn payouts(client: &Client, command: PayoutsCommand) -> Outcome {
    match command {
        PayoutsCommand::List {
            legal_entity_id,
            paging,
        } if paging.single_page() => {
            let mut request = client
                .list_payouts()
                .page_number(paging.page_number.unwrap_or(1));
            if let Some(size) = paging.page_size {
                request = request.page_size(size);
            }
            if let Some(id) = legal_entity_id {
                request = request.legal_entity_id(id);
            }
            let page = request.send().await?;
            output::document(&page.into_inner())
        }
        PayoutsCommand::List {
            legal_entity_id, ..
        } => print_stream(client.payouts(legal_entity_id.as_deref())).await,
        PayoutsCommand::Get { id } => {
            let payout = client.get_payout().id(id).send().await;
            output::document(&payout?.into_inner())
        }
        PayoutsCommand::Create { amount } => {
            let body = types::PayoutRequest {
                amount: Cents(amount),
            };
            let answer = client.create_payout().body(body).send().await;
            output::document(&answer?.into_inner())
        }
    }
}

pub async fn affiliates(client: &Client, command: AffiliatesCommand) -> Outcome {
    match command {
        AffiliatesCommand::List {
            status,
            product_id,
            search,
            paging,
        } => {
            let filter = AffiliateFilter {
                status,
                product_id,
                search,
            };
            if paging.single_page() {
                return print_one_page!(filter.apply(client.list_affiliates()), paging);
            }
            print_stream(client.affiliates(filter)).await
        }
        AffiliatesCommand::Get { id } => {
            let affiliate = client.get_affiliate().id(id).send().await;
            output::document(&affiliate?.into_inner())
        }
        AffiliatesCommand::Update {
            id,
            commission,
            status,
        } => {
            let body = types::AffiliateRequest {
                commission: commission.map(Cents),
                status: status.as_deref().map(Into::into),
            };
            let affiliate = client.update_affiliate().id(id).body(body).send().await;
            output::document(&affiliate?.into_inner())
        }
    }
}

pub async fn webhooks(client: &Client, command: WebhooksCommand) -> Outcome {
    match command {
        WebhooksCommand::List {
            product_id,
            search,
            paging,
        } => {
            let filter = WebhookFilter { product_id, search };
            if paging.single_page() {
                return print_one_page!(filter.apply(client.list_webhooks()), paging);
            }
            print_stream(client.webhooks(filter)).await
        }
        WebhooksCommand::Get { id } => {
            let webhook = client.get_webhook().id(id).send().await;
            output::document(&webhook?.into_inner())
        }
        WebhooksCommand::Create {
            name,
            url,
            products,
            triggers,
            token,
        } => {
            let body = types::WebhookRequest {
                name,
                products,
                token: token.map(Secret::new),
                triggers: triggers
                    .iter()
                    .map(|name| Trigger::from(name.as_str()))
                    .collect(),
                url,
            };
            let webhook = client.create_webhook().body(body).send().await;
            output::document(&webhook?.into_inner())
        }
        WebhooksCommand::Update {
            id,
            name,
            url,
            products,
            triggers,
            token,
        } => {
            // The API replaces the whole registration: start from the current one.
            let current = client.get_webhook().id(id.clone()).send().await;
            let current = current?.into_inner();
            let triggers = if triggers.is_empty() {
                current.triggers
            } else {
                triggers
                    .iter()
                    .map(|name| Trigger::from(name.as_str()))
                    .collect()
            };
            let body = types::WebhookRequest {
                name: name.or(current.name).unwrap_or_default(),
                products: products
                    .or(current.products)
                    .unwrap_or_else(|| "all".into()),
                token: token.map(Secret::new).or(current.token),
                triggers,
                url: url.or(current.url).unwrap_or_default(),
            };
            let webhook = client.update_webhook().id(id).body(body).send().await;
            output::document(&webhook?.into_inner())
        }
        WebhooksCommand::Delete { id } => {
            client.delete_webhook().id(id.clone()).send().await?;
            output::document(&json!({ "id": id, "deleted": true }))
        }
    }
}

pub async fn events(client: &Client, command: EventsCommand) -> Outcome {
    let EventsCommand::Participants(args) = command;
    let at = |date: Option<DateArg>| date.map(|date| date.at);
    let filter = ParticipantFilter {
        checked_in: args.checked_in,
        created_from: at(args.created_from),
        created_to: at(args.created_to),
        updated_from: at(args.updated_from),
        updated_to: at(args.updated_to),
        external_id: args.external_id,
        batch_id: args.batch_id,
        phone: args.phone,
        cpf: args.cpf,
        order_id: args.order_id,
    };
    let paging = args.paging;
    if paging.single_page() {
        let request = client.list_event_participants().product_id(args.product_id);
        return print_one_page!(filter.apply(request), paging);
    }
    print_stream(client.event_participants(&args.product_id, filter)).await
}

/// Prints every item of a library stream, one per line.
async fn print_stream<T: Serialize>(
    stream: impl Stream<Item = kiwify::Result<T>> + Unpin,
) -> Outcome {
    let mut stream = stream;
    let mut lines = Lines::stdout();
    while let Some(item) = stream.next().await {
        lines.write(&item?)?;
    }
    lines.finish()
}
