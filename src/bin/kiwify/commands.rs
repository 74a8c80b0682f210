//! The API commands: one library call each, the answer printed as JSON.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use futures_util::{Stream, StreamExt};
use kiwify::client::DEFAULT_ATTEMPT_TIMEOUT;
use kiwify::generated::{builder, types};
use kiwify::model::{Cents, PaymentMethod, SaleStatus, Secret};
use kiwify::paginate::{CAPPED_PAGE_SIZE, timestamp};
use kiwify::prelude::*;
use kiwify::rate::RateLimit;
use kiwify::retry::RetryPolicy;
use kiwify::webhook::Trigger;
use kiwify::{SalesQuery, SalesRange};
use serde::Serialize;
use serde_json::json;

use crate::args::{
    AffiliatesCommand, DateArg, EventsCommand, Global, ParticipantsArgs, PayoutsCommand,
    ProductsCommand, SalesCommand, SalesFilters, SalesListArgs, StatsArgs, WebhooksCommand,
};
use crate::output::{self, Failure, Lines, Outcome};

/// No list is read past this many pages.
const MAX_PAGES: u64 = 100_000;

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
    if !args.paging.single_page() {
        let query = sales_query(range, &args.filters)?;
        return print_stream(client.sales(query)).await;
    }

    let mut request = client
        .list_sales()
        .start_date(timestamp(range.start()))
        .end_date(timestamp(range.end()))
        .page_number(args.paging.page_number.unwrap_or(1));
    if let Some(size) = args.paging.page_size {
        request = request.page_size(size);
    }
    let page = with_sales_filters(request, &args.filters)?.send().await?;
    output::document(&page.into_inner())
}

/// The library query for a range and the `sales` filters.
pub fn sales_query(range: SalesRange, filters: &SalesFilters) -> Result<SalesQuery, Failure> {
    with_sales_filters(SalesQuery::new(range), filters)
}

/// What the `sales` filters set: on one page's request (`sales list --page-number`) and on
/// the library's query (`sales list`, `sales export`) alike, so both read the options the same
/// way.
trait SalesFilterTarget: Sized {
    fn status(self, status: SaleStatus) -> Self;
    fn payment_method(self, method: PaymentMethod) -> Self;
    fn product_id(self, id: String) -> Self;
    fn affiliate_id(self, id: String) -> Self;
    fn full_details(self) -> Self;
    fn updated_in(self, range: SalesRange) -> Self;
}

/// Applies the `sales` filters given on the command line to `target`.
fn with_sales_filters<T: SalesFilterTarget>(
    mut target: T,
    filters: &SalesFilters,
) -> Result<T, Failure> {
    if let (Some(from), Some(to)) = (&filters.updated_from, &filters.updated_to) {
        target = target.updated_in(SalesRange::new(from.at, to.at)?);
    }
    if let Some(status) = &filters.status {
        target = target.status(status.as_str().into());
    }
    if let Some(method) = &filters.payment_method {
        target = target.payment_method(method.as_str().into());
    }
    if let Some(id) = &filters.product_id {
        target = target.product_id(id.clone());
    }
    if let Some(id) = &filters.affiliate_id {
        target = target.affiliate_id(id.clone());
    }
    if filters.full_details {
        target = target.full_details();
    }
    Ok(target)
}

impl SalesFilterTarget for SalesQuery {
    fn status(self, status: SaleStatus) -> Self {
        SalesQuery::status(self, status)
    }
    fn payment_method(self, method: PaymentMethod) -> Self {
        SalesQuery::payment_method(self, method)
    }
    fn product_id(self, id: String) -> Self {
        SalesQuery::product_id(self, id)
    }
    fn affiliate_id(self, id: String) -> Self {
        SalesQuery::affiliate_id(self, id)
    }
    fn full_details(self) -> Self {
        SalesQuery::full_details(self, true)
    }
    fn updated_in(self, range: SalesRange) -> Self {
        SalesQuery::updated_in(self, range)
    }
}

impl SalesFilterTarget for builder::ListSales<'_> {
    fn status(self, status: SaleStatus) -> Self {
        builder::ListSales::status(self, status)
    }
    fn payment_method(self, method: PaymentMethod) -> Self {
        builder::ListSales::payment_method(self, method)
    }
    fn product_id(self, id: String) -> Self {
        builder::ListSales::product_id(self, id)
    }
    fn affiliate_id(self, id: String) -> Self {
        builder::ListSales::affiliate_id(self, id)
    }
    fn full_details(self) -> Self {
        self.view_full_sale_details(true)
    }
    fn updated_in(self, range: SalesRange) -> Self {
        self.updated_at_start_date(timestamp(range.start()))
            .updated_at_end_date(timestamp(range.end()))
    }
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
            // One request builder, filters applied once, for one page or for every page.
            let list = |page: u64, size: Option<u64>| {
                let mut request = client.list_affiliates().page_number(page);
                if let Some(size) = size {
                    request = request.page_size(size);
                }
                if let Some(status) = &status {
                    request = request.status(status.clone());
                }
                if let Some(id) = &product_id {
                    request = request.product_id(id.clone());
                }
                if let Some(search) = &search {
                    request = request.search(search.clone());
                }
                request
            };
            if paging.single_page() {
                let request = list(paging.page_number.unwrap_or(1), paging.page_size);
                let page = request.send().await?;
                return output::document(&page.into_inner());
            }
            print_all_pages(|page| {
                let request = list(page, Some(u64::from(CAPPED_PAGE_SIZE)));
                async move {
                    let page = request.send().await?.into_inner();
                    Ok((page.data, count_of(&page.pagination)))
                }
            })
            .await
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
            let list = |page: u64, size: Option<u64>| {
                let mut request = client.list_webhooks().page_number(page);
                if let Some(size) = size {
                    request = request.page_size(size);
                }
                if let Some(id) = &product_id {
                    request = request.product_id(id.clone());
                }
                if let Some(search) = &search {
                    request = request.search(search.clone());
                }
                request
            };
            if paging.single_page() {
                let request = list(paging.page_number.unwrap_or(1), paging.page_size);
                let page = request.send().await?;
                return output::document(&page.into_inner());
            }
            print_all_pages(|page| {
                let request = list(page, Some(u64::from(CAPPED_PAGE_SIZE)));
                async move {
                    let page = request.send().await?.into_inner();
                    Ok((page.data, count_of(&page.pagination)))
                }
            })
            .await
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
    let paging = args.paging;
    let bounds = ParticipantDates::of(&args);
    if paging.single_page() {
        let mut request =
            participants(client, &args, &bounds).page_number(paging.page_number.unwrap_or(1));
        if let Some(size) = paging.page_size {
            request = request.page_size(size);
        }
        let page = request.send().await?;
        return output::document(&page.into_inner());
    }
    print_all_pages(|page| {
        let request = participants(client, &args, &bounds)
            .page_number(page)
            .page_size(u64::from(CAPPED_PAGE_SIZE));
        async move {
            let page = request.send().await?.into_inner();
            let count = count_of(&page.pagination);
            let items = page.data.map(|data| data.participants).unwrap_or_default();
            Ok((items, count))
        }
    })
    .await
}

/// The date filters of `events participants`, as the API wants them.
struct ParticipantDates {
    created_from: Option<String>,
    created_to: Option<String>,
    updated_from: Option<String>,
    updated_to: Option<String>,
}

impl ParticipantDates {
    fn of(args: &ParticipantsArgs) -> Self {
        let instant = |date: &Option<DateArg>| date.as_ref().map(|date| timestamp(date.at));
        ParticipantDates {
            created_from: instant(&args.created_from),
            created_to: instant(&args.created_to),
            updated_from: instant(&args.updated_from),
            updated_to: instant(&args.updated_to),
        }
    }
}

fn participants<'a>(
    client: &'a Client,
    args: &ParticipantsArgs,
    dates: &ParticipantDates,
) -> kiwify::generated::builder::ListEventParticipants<'a> {
    let mut request = client
        .list_event_participants()
        .product_id(args.product_id.clone());
    if let Some(checked_in) = args.checked_in {
        request = request.checked_in(checked_in);
    }
    if let Some(id) = &args.batch_id {
        request = request.batch_id(id.clone());
    }
    if let Some(id) = &args.external_id {
        request = request.external_id(id.clone());
    }
    if let Some(id) = &args.order_id {
        request = request.order_id(id.clone());
    }
    if let Some(cpf) = &args.cpf {
        request = request.cpf(cpf.clone());
    }
    if let Some(phone) = &args.phone {
        request = request.phone(phone.clone());
    }
    if let Some(start) = &dates.created_from {
        request = request.created_at_start_date(start.clone());
    }
    if let Some(end) = &dates.created_to {
        request = request.created_at_end_date(end.clone());
    }
    if let Some(start) = &dates.updated_from {
        request = request.updated_at_start_date(start.clone());
    }
    if let Some(end) = &dates.updated_to {
        request = request.updated_at_end_date(end.clone());
    }
    request
}

fn count_of(pagination: &types::Pagination) -> u64 {
    u64::try_from(pagination.count).unwrap_or(0)
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

/// Reads pages 1, 2, … with `fetch` (items, and the `count` the API reports) and prints every
/// item, one per line, until `count` items were read or a page comes back empty.
async fn print_all_pages<T, F, Fut>(mut fetch: F) -> Outcome
where
    T: Serialize,
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = kiwify::Result<(Vec<T>, u64)>>,
{
    let mut lines = Lines::stdout();
    let mut read = 0u64;
    for page in 1..=MAX_PAGES {
        let (items, count) = fetch(page).await?;
        if items.is_empty() {
            break;
        }
        read += items.len() as u64;
        for item in &items {
            lines.write(item)?;
        }
        if read >= count {
            break;
        }
    }
    lines.finish()
}
