//! Streams over the list operations, and sales over any date range.
//!
//! The API pages with a 1-based `page_number` and reports in `pagination.count` the number of
//! items matching the whole query; it has no `has_more` and no cursor (facts sheet §3). A stream
//! here reads the first page, works out how many pages there are, then fetches the rest a few at
//! a time (bounded concurrency, every request under the client's shared rate limiter), and ends
//! when `count` items were read, a page comes back empty, or the pages run out — so a `count`
//! larger than what the pages hold ends the stream instead of spinning.
//!
//! **Order.** Items come in page order, pages in ascending `page_number`. Sales come window by
//! window in chronological order; within a window, in the API's order (by update time).
//!
//! **Memory.** At most `concurrency` pages are in flight or buffered; items are handed on as
//! they arrive. A sales export also keeps the ids of the current window's sales (to yield each
//! once), never the sales themselves.
//!
//! **Errors.** A failed page ends the stream with that error; what was yielded before stays
//! valid. Every request already went through the client's retry policy.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use chrono::{DateTime, Duration as Span, NaiveDate, NaiveDateTime, TimeZone, Utc};
use futures_core::Stream;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::generated::prelude::*;
use crate::generated::{builder, types};
use crate::model::{PaymentMethod, SaleStatus};
use crate::{Client, Error, Result};

pub use crate::client::CAPPED_PAGE_SIZE;
/// Page size used for products and payouts, whose endpoints have no cap (facts sheet §3).
pub const UNCAPPED_PAGE_SIZE: u32 = 1000;
/// Longest period one `list_sales` request may cover.
pub const MAX_SALES_WINDOW: Span = Span::days(90);
/// The windows a sales range is cut into by default: a day under the limit, because how the
/// API counts its 90 days (inclusive or not, by calendar day or by instant) is not known.
pub const DEFAULT_SALES_WINDOW: Span = Span::days(89);
/// Pages fetched at once by default.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// A safety net: no stream reads more pages than this from one query.
const MAX_PAGES: u64 = 100_000;
/// How often a sales window is read again when sales moved between pages during a scan.
const MAX_RESCANS: usize = 2;
/// Brasília has been UTC-03:00 all year since 2019.
const BRASILIA_OFFSET_HOURS: i64 = 3;

/// A stream of items of one list operation. Ends after the last item or after an error.
pub struct Pages<T> {
    receiver: mpsc::Receiver<Result<T>>,
}

impl<T> Stream for Pages<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        self.receiver.poll_recv(context)
    }
}

/// One page as the stream machinery sees it.
struct Page<T> {
    items: Vec<T>,
    count: u64,
}

/// Why reading pages stopped early.
enum Stop {
    /// The consumer dropped the stream.
    Dropped,
    /// An error was sent to the consumer.
    Failed,
}

/// Starts a task that reads pages with `fetch` and sends the items kept by `keep` to a stream.
fn spawn_pages<T, F, Fut>(page_size: u32, concurrency: usize, fetch: F) -> Pages<T>
where
    T: Send + 'static,
    F: Fn(u32, u32) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T>>> + Send + 'static,
{
    produce(page_size, move |sender| async move {
        let _ = read_pages(&fetch, page_size, concurrency, &sender, &mut |_: &T| true).await;
    })
}

/// A stream fed by `producer`, run as a tokio task. Outside a tokio runtime the stream yields
/// one error instead of panicking.
fn produce<T, P, Fut>(buffer: u32, producer: P) -> Pages<T>
where
    T: Send + 'static,
    P: FnOnce(mpsc::Sender<Result<T>>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(buffer.max(1) as usize);
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(producer(sender));
        }
        Err(_) => {
            let error = Error::configuration("streams of pages need a tokio runtime");
            let _ = sender.try_send(Err(error));
        }
    }
    Pages { receiver }
}

/// Reads every page of one query. Returns the last `count` the API reported, and the number of
/// items it sent.
async fn read_pages<T, F, Fut>(
    fetch: &F,
    page_size: u32,
    concurrency: usize,
    sender: &mpsc::Sender<Result<T>>,
    keep: &mut impl FnMut(&T) -> bool,
) -> std::result::Result<(u64, u64), Stop>
where
    F: Fn(u32, u32) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let first = match fetch(1, page_size).await {
        Ok(page) => page,
        Err(error) => return Err(fail(sender, error).await),
    };
    let mut count = first.count;
    let mut read = first.items.len() as u64;
    let first_was_empty = first.items.is_empty();
    send_all(sender, first.items, keep).await?;
    if first_was_empty || read >= count {
        return Ok((count, read));
    }

    let pages = count.div_ceil(u64::from(page_size)).min(MAX_PAGES);
    let mut rest = futures_util::stream::iter(2..=pages)
        .map(|number| fetch(u32::try_from(number).unwrap_or(u32::MAX), page_size))
        .buffered(concurrency.max(1));
    while let Some(page) = rest.next().await {
        let page = match page {
            Ok(page) => page,
            Err(error) => return Err(fail(sender, error).await),
        };
        count = page.count;
        if page.items.is_empty() {
            break;
        }
        read += page.items.len() as u64;
        send_all(sender, page.items, keep).await?;
        if read >= count {
            break;
        }
    }
    Ok((count, read))
}

async fn send_all<T>(
    sender: &mpsc::Sender<Result<T>>,
    items: Vec<T>,
    keep: &mut impl FnMut(&T) -> bool,
) -> std::result::Result<(), Stop> {
    for item in items {
        if keep(&item) && sender.send(Ok(item)).await.is_err() {
            return Err(Stop::Dropped);
        }
    }
    Ok(())
}

async fn fail<T>(sender: &mpsc::Sender<Result<T>>, error: Error) -> Stop {
    match sender.send(Err(error)).await {
        Ok(()) => Stop::Failed,
        Err(_) => Stop::Dropped,
    }
}

fn count_of(pagination: &types::Pagination) -> u64 {
    u64::try_from(pagination.count).unwrap_or(0)
}

/// A page answer of a list operation, as the stream machinery sees it.
trait ListAnswer {
    type Item;
    fn into_page(self) -> Page<Self::Item>;
}

macro_rules! list_answer {
    ($($page:ident => $item:ident),* $(,)?) => {$(
        impl ListAnswer for types::$page {
            type Item = types::$item;
            fn into_page(self) -> Page<types::$item> {
                Page { count: count_of(&self.pagination), items: self.data }
            }
        }
    )*};
}

list_answer!(
    ProductsPage => Product,
    SalesPage => Sale,
    PayoutsPage => Payout,
    AffiliatesPage => Affiliate,
    WebhooksPage => Webhook,
);

impl ListAnswer for types::ParticipantsPage {
    type Item = types::Participant;
    fn into_page(self) -> Page<types::Participant> {
        let items = self.data.map(|data| data.participants).unwrap_or_default();
        Page {
            count: count_of(&self.pagination),
            items,
        }
    }
}

/// Sends one page request and reads its answer as a [`Page`].
async fn page_of<A: ListAnswer>(
    request: impl Future<
        Output = std::result::Result<
            progenitor_client::ResponseValue<A>,
            progenitor_client::Error<types::ApiError>,
        >,
    >,
) -> Result<Page<A::Item>> {
    Ok(request.await?.into_inner().into_page())
}

/// A period of sales: `[start, end)`, end exclusive, in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SalesRange {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl SalesRange {
    /// The period `[start, end)`. Refused when `start` is not before `end`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self> {
        if start >= end {
            return Err(Error::invalid_input(format!(
                "the range starts at {} which is not before its end {}",
                timestamp(start),
                timestamp(end)
            )));
        }
        Ok(SalesRange { start, end })
    }

    /// The Brasília calendar days `first` to `last`, both included: from `first` 00:00 to the
    /// end of `last` in Brasília time (UTC-03:00), which is `T03:00:00Z` to `T03:00:00Z`.
    pub fn brasilia_days(first: NaiveDate, last: NaiveDate) -> Result<Self> {
        let midnight = |day: NaiveDate| {
            Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN))
                .checked_add_signed(Span::hours(BRASILIA_OFFSET_HOURS))
        };
        let start = midnight(first);
        let end = last.succ_opt().and_then(midnight);
        match (start, end) {
            (Some(start), Some(end)) => SalesRange::new(start, end),
            _ => Err(Error::invalid_input(format!(
                "the days {first} to {last} are out of the range of dates this crate handles"
            ))),
        }
    }

    /// Parses the two ends given as text: `YYYY-MM-DD` (a Brasília calendar day; `to` is
    /// included) or an RFC 3339 timestamp such as `2026-03-10T00:00:00Z` (an instant; `to` is
    /// excluded). Refused, naming the value, when either does not parse or `from` is not before
    /// `to`.
    pub fn parse(from: &str, to: &str) -> Result<Self> {
        SalesRange::new(
            parse_bound(from, Bound::Start)?,
            parse_bound(to, Bound::End)?,
        )
    }

    /// Start, included.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// End, excluded.
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// The range cut into consecutive windows of at most `span`, each `[start, end)`: they
    /// cover the range exactly, without gap or overlap.
    pub fn windows(&self, span: Span) -> Vec<SalesRange> {
        let span = span.max(Span::seconds(1));
        let mut windows = Vec::new();
        let mut start = self.start;
        while start < self.end {
            let end = start
                .checked_add_signed(span)
                .map_or(self.end, |end| end.min(self.end));
            windows.push(SalesRange { start, end });
            start = end;
        }
        windows
    }
}

/// Which end of a period a date given as text names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// The start, included: a calendar day stands for its first instant.
    Start,
    /// The end, excluded: a calendar day stands for the first instant after it.
    End,
}

/// Parses one end of a period: `YYYY-MM-DD` is a Brasília calendar day, anything else must be an
/// RFC 3339 timestamp (an exact instant). Refused, naming the text, when it is neither.
pub fn parse_bound(text: &str, bound: Bound) -> Result<DateTime<Utc>> {
    match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        Ok(day) => {
            let range = SalesRange::brasilia_days(day, day)?;
            Ok(if bound == Bound::Start {
                range.start
            } else {
                range.end
            })
        }
        Err(_) => parse_instant(text),
    }
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&Utc));
    }
    // A time without an offset could be UTC or Brasília time, three hours apart: refused.
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .any(|format| NaiveDateTime::parse_from_str(text, format).is_ok());
    let why = if naive {
        "has no offset; add one (Z for UTC, -03:00 for Brasília)"
    } else {
        "is not a date (YYYY-MM-DD) or a timestamp (such as 2026-03-10T00:00:00Z)"
    };
    Err(Error::invalid_input(format!("{text:?} {why}")))
}

/// How the API wants instants: full ISO-8601 UTC with milliseconds.
pub fn timestamp(instant: DateTime<Utc>) -> String {
    instant.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Which sales to export, and how. Filters pass through to `list_sales`.
#[derive(Clone, Debug)]
pub struct SalesQuery {
    range: SalesRange,
    updated: Option<SalesRange>,
    status: Option<SaleStatus>,
    payment_method: Option<PaymentMethod>,
    product_id: Option<String>,
    affiliate_id: Option<String>,
    full_details: bool,
    page_size: u32,
    concurrency: usize,
    window: Span,
}

impl SalesQuery {
    /// Every sale created in `range`.
    pub fn new(range: SalesRange) -> Self {
        SalesQuery {
            range,
            updated: None,
            status: None,
            payment_method: None,
            product_id: None,
            affiliate_id: None,
            full_details: false,
            page_size: CAPPED_PAGE_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
            window: DEFAULT_SALES_WINDOW,
        }
    }

    /// Only sales last updated in `range` (`updated_at_start_date`/`updated_at_end_date`), for
    /// incremental syncs: keep an overlap of a few minutes with the previous sync and upsert by
    /// sale id.
    pub fn updated_in(mut self, range: SalesRange) -> Self {
        self.updated = Some(range);
        self
    }

    /// Only sales with this status.
    pub fn status(mut self, status: SaleStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only sales paid this way.
    pub fn payment_method(mut self, method: PaymentMethod) -> Self {
        self.payment_method = Some(method);
        self
    }

    /// Only sales of this product.
    pub fn product_id(mut self, id: impl Into<String>) -> Self {
        self.product_id = Some(id.into());
        self
    }

    /// Only sales of this affiliate.
    pub fn affiliate_id(mut self, id: impl Into<String>) -> Self {
        self.affiliate_id = Some(id.into());
        self
    }

    /// Full sales (payment breakdown, tracking, …) instead of list items.
    pub fn full_details(mut self, full: bool) -> Self {
        self.full_details = full;
        self
    }

    /// Sales per request; clamped to 1..=100, what the endpoint accepts.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, CAPPED_PAGE_SIZE);
        self
    }

    /// Pages fetched at once ([`DEFAULT_CONCURRENCY`] by default), all under the client's
    /// rate limiter.
    pub fn concurrency(mut self, pages: usize) -> Self {
        self.concurrency = pages.max(1);
        self
    }

    /// Length of the windows the range is cut into: [`DEFAULT_SALES_WINDOW`] (89 days) by
    /// default, at most [`MAX_SALES_WINDOW`] (90 days).
    pub fn window(mut self, span: Span) -> Self {
        self.window = span.clamp(Span::seconds(1), MAX_SALES_WINDOW);
        self
    }
}

impl SalesQuery {
    /// This query's range and filters on one `list_sales` request, for a caller reading one page
    /// itself (the range must then be at most 90 days; page number and size are the caller's).
    pub fn apply<'a>(&self, request: builder::ListSales<'a>) -> builder::ListSales<'a> {
        self.apply_window(request, self.range)
    }

    fn apply_window<'a>(
        &self,
        mut request: builder::ListSales<'a>,
        window: SalesRange,
    ) -> builder::ListSales<'a> {
        request = request
            .start_date(timestamp(window.start))
            .end_date(timestamp(window.end));
        if let Some(updated) = self.updated {
            request = request
                .updated_at_start_date(timestamp(updated.start))
                .updated_at_end_date(timestamp(updated.end));
        }
        if let Some(status) = &self.status {
            request = request.status(status.clone());
        }
        if let Some(method) = &self.payment_method {
            request = request.payment_method(method.clone());
        }
        if let Some(id) = &self.product_id {
            request = request.product_id(id.clone());
        }
        if let Some(id) = &self.affiliate_id {
            request = request.affiliate_id(id.clone());
        }
        if self.full_details {
            request = request.view_full_sale_details(true);
        }
        request
    }
}

impl Client {
    /// Every sale of `query`, over a range of any length, each sale once.
    ///
    /// The range is cut into windows of at most 90 days with full UTC timestamps, end
    /// exclusive, so a sale on a window edge is in exactly one window. Because the list is
    /// ordered by update time, a sale updated during the scan can move to another page, which
    /// shows as a sale sent twice: each sale id is yielded once, and a window whose scan saw a
    /// repeat and fewer distinct sales than the API counts is read again (at most twice, and
    /// only while a reading finds new sales) to pick up the sales that shifted past the
    /// reader. A window that still falls short is logged as a warning.
    pub fn sales(&self, query: SalesQuery) -> Pages<types::Sale> {
        let client = self.clone();
        produce(query.page_size, move |sender| async move {
            for window in query.range.windows(query.window) {
                let fetch = |page: u32, size: u32| sales_page(&client, &query, window, page, size);
                let mut seen = HashSet::new();
                let mut count = 0;
                for pass in 0..=MAX_RESCANS {
                    let before = seen.len();
                    let mut keep = |sale: &types::Sale| seen.insert(sale.id.clone());
                    let read = read_pages(
                        &fetch,
                        query.page_size,
                        query.concurrency,
                        &sender,
                        &mut keep,
                    )
                    .await;
                    let Ok((counted, sent)) = read else { return };
                    count = counted;
                    let new = (seen.len() - before) as u64;
                    // The first reading must have seen a repeat (a sale that moved); a later
                    // one must have found something, or another will not either.
                    let moved = if pass == 0 { sent > new } else { new > 0 };
                    if (seen.len() as u64) >= count || !moved {
                        break;
                    }
                    tracing::debug!(
                        count,
                        seen = seen.len(),
                        "sales moved during the scan; reading the window again"
                    );
                }
                if (seen.len() as u64) < count {
                    tracing::warn!(
                        window_start = %timestamp(window.start),
                        window_end = %timestamp(window.end),
                        count,
                        seen = seen.len(),
                        "the API counts more sales in this window than its pages held"
                    );
                }
            }
        })
    }

    /// Every product.
    pub fn products(&self) -> Pages<types::Product> {
        let client = self.clone();
        spawn_pages(
            UNCAPPED_PAGE_SIZE,
            DEFAULT_CONCURRENCY,
            move |page, size| {
                let client = client.clone();
                async move {
                    let request = client.list_products().page_number(u64::from(page));
                    page_of(request.page_size(u64::from(size)).send()).await
                }
            },
        )
    }

    /// Every payout, optionally of one legal entity.
    pub fn payouts(&self, legal_entity_id: Option<&str>) -> Pages<types::Payout> {
        let client = self.clone();
        let legal_entity_id = legal_entity_id.map(str::to_owned);
        spawn_pages(
            UNCAPPED_PAGE_SIZE,
            DEFAULT_CONCURRENCY,
            move |page, size| {
                let client = client.clone();
                let legal_entity_id = legal_entity_id.clone();
                async move {
                    let mut request = client
                        .list_payouts()
                        .page_number(u64::from(page))
                        .page_size(u64::from(size));
                    if let Some(id) = legal_entity_id {
                        request = request.legal_entity_id(id);
                    }
                    page_of(request.send()).await
                }
            },
        )
    }

    /// Every affiliate matching the filter.
    pub fn affiliates(&self, filter: AffiliateFilter) -> Pages<types::Affiliate> {
        let client = self.clone();
        spawn_pages(CAPPED_PAGE_SIZE, DEFAULT_CONCURRENCY, move |page, size| {
            let client = client.clone();
            let filter = filter.clone();
            async move {
                let request = filter.apply(client.list_affiliates());
                let request = request.page_number(u64::from(page));
                page_of(request.page_size(u64::from(size)).send()).await
            }
        })
    }

    /// Every webhook registration matching the filter.
    pub fn webhooks(&self, filter: WebhookFilter) -> Pages<types::Webhook> {
        let client = self.clone();
        spawn_pages(CAPPED_PAGE_SIZE, DEFAULT_CONCURRENCY, move |page, size| {
            let client = client.clone();
            let filter = filter.clone();
            async move {
                let request = filter.apply(client.list_webhooks());
                let request = request.page_number(u64::from(page));
                page_of(request.page_size(u64::from(size)).send()).await
            }
        })
    }

    /// Every participant of an event product matching the filter.
    pub fn event_participants(
        &self,
        product_id: &str,
        filter: ParticipantFilter,
    ) -> Pages<types::Participant> {
        let client = self.clone();
        let product_id = product_id.to_owned();
        spawn_pages(CAPPED_PAGE_SIZE, DEFAULT_CONCURRENCY, move |page, size| {
            let client = client.clone();
            let product_id = product_id.clone();
            let filter = filter.clone();
            async move {
                let request = client.list_event_participants().product_id(product_id);
                let request = filter.apply(request).page_number(u64::from(page));
                page_of(request.page_size(u64::from(size)).send()).await
            }
        })
    }
}

/// Filters of [`Client::affiliates`].
#[derive(Clone, Debug, Default)]
pub struct AffiliateFilter {
    /// Only affiliates with this status (`active`, `blocked`, …).
    pub status: Option<String>,
    /// Only affiliates of this product.
    pub product_id: Option<String>,
    /// Only affiliates whose name or e-mail contains this text.
    pub search: Option<String>,
}

impl AffiliateFilter {
    /// The filter on one `list_affiliates` request, for a caller reading one page itself.
    pub fn apply<'a>(
        &self,
        mut request: builder::ListAffiliates<'a>,
    ) -> builder::ListAffiliates<'a> {
        if let Some(status) = &self.status {
            request = request.status(status.clone());
        }
        if let Some(id) = &self.product_id {
            request = request.product_id(id.clone());
        }
        if let Some(search) = &self.search {
            request = request.search(search.clone());
        }
        request
    }
}

/// Filters of [`Client::webhooks`].
#[derive(Clone, Debug, Default)]
pub struct WebhookFilter {
    /// Only webhooks of this product.
    pub product_id: Option<String>,
    /// Only webhooks whose name or URL contains this text.
    pub search: Option<String>,
}

impl WebhookFilter {
    /// The filter on one `list_webhooks` request, for a caller reading one page itself.
    pub fn apply<'a>(&self, mut request: builder::ListWebhooks<'a>) -> builder::ListWebhooks<'a> {
        if let Some(id) = &self.product_id {
            request = request.product_id(id.clone());
        }
        if let Some(search) = &self.search {
            request = request.search(search.clone());
        }
        request
    }
}

/// Filters of [`Client::event_participants`]. Instants are sent as full UTC timestamps, like
/// the sales dates.
#[derive(Clone, Debug, Default)]
pub struct ParticipantFilter {
    /// Only participants who checked in (`true`) or did not (`false`).
    pub checked_in: Option<bool>,
    /// Only participants registered from this instant.
    pub created_from: Option<DateTime<Utc>>,
    /// Only participants registered before this instant.
    pub created_to: Option<DateTime<Utc>>,
    /// Only participants last updated from this instant.
    pub updated_from: Option<DateTime<Utc>>,
    /// Only participants last updated before this instant.
    pub updated_to: Option<DateTime<Utc>>,
    /// Only the participant with this external id.
    pub external_id: Option<String>,
    /// Only participants of this ticket batch.
    pub batch_id: Option<String>,
    /// Only participants with this phone number.
    pub phone: Option<String>,
    /// Only participants with this CPF.
    pub cpf: Option<String>,
    /// Only participants of this order.
    pub order_id: Option<String>,
}

impl ParticipantFilter {
    /// The filter on one `list_event_participants` request, for a caller reading one page
    /// itself.
    pub fn apply<'a>(
        &self,
        mut request: builder::ListEventParticipants<'a>,
    ) -> builder::ListEventParticipants<'a> {
        if let Some(checked_in) = self.checked_in {
            request = request.checked_in(checked_in);
        }
        if let Some(at) = self.created_from {
            request = request.created_at_start_date(timestamp(at));
        }
        if let Some(at) = self.created_to {
            request = request.created_at_end_date(timestamp(at));
        }
        if let Some(at) = self.updated_from {
            request = request.updated_at_start_date(timestamp(at));
        }
        if let Some(at) = self.updated_to {
            request = request.updated_at_end_date(timestamp(at));
        }
        if let Some(id) = &self.external_id {
            request = request.external_id(id.clone());
        }
        if let Some(id) = &self.batch_id {
            request = request.batch_id(id.clone());
        }
        if let Some(phone) = &self.phone {
            request = request.phone(phone.clone());
        }
        if let Some(cpf) = &self.cpf {
            request = request.cpf(cpf.clone());
        }
        if let Some(id) = &self.order_id {
            request = request.order_id(id.clone());
        }
        request
    }
}

async fn sales_page(
    client: &Client,
    query: &SalesQuery,
    window: SalesRange,
    page: u32,
    size: u32,
) -> Result<Page<types::Sale>> {
    let request = query.apply_window(client.list_sales(), window);
    let request = request.page_number(u64::from(page));
    page_of(request.page_size(u64::from(size)).send()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn windows_cover_the_range_without_gap_or_overlap() {
        for days in [1, 89, 90, 91, 400] {
            let range = SalesRange::new(
                at("2025-01-01T03:00:00Z"),
                at("2025-01-01T03:00:00Z") + Span::days(days),
            )
            .unwrap();
            let windows = range.windows(MAX_SALES_WINDOW);
            assert_eq!(windows.len() as i64, (days + 89) / 90, "{days} days");
            assert_eq!(windows[0].start, range.start);
            assert_eq!(windows.last().unwrap().end, range.end);
            for pair in windows.windows(2) {
                assert_eq!(pair[0].end, pair[1].start);
            }
            assert!(
                windows
                    .iter()
                    .all(|w| w.end - w.start <= MAX_SALES_WINDOW && w.start < w.end)
            );
        }
    }

    #[test]
    fn brasilia_days_run_from_three_to_three_utc() {
        let range = SalesRange::parse("2026-03-10", "2026-03-10").unwrap();
        assert_eq!(range.start, at("2026-03-10T03:00:00Z"));
        assert_eq!(range.end, at("2026-03-11T03:00:00Z"));
        assert_eq!(timestamp(range.start), "2026-03-10T03:00:00.000Z");
    }

    #[test]
    fn period_ends_read_days_as_brasilia_days_and_keep_instants() {
        let read = |text, bound| timestamp(parse_bound(text, bound).unwrap());
        assert_eq!(read("2026-03-10", Bound::Start), "2026-03-10T03:00:00.000Z");
        assert_eq!(read("2026-03-10", Bound::End), "2026-03-11T03:00:00.000Z");
        assert_eq!(
            read("2026-03-10T12:30:00-03:00", Bound::End),
            "2026-03-10T15:30:00.000Z"
        );
        let refused = parse_bound("10/03/2026", Bound::Start)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("10/03/2026"), "{refused}");
    }

    #[test]
    fn times_without_an_offset_are_refused_not_guessed() {
        for text in [
            "2026-03-10T12:00:00",
            "2026-03-10 12:00",
            "2026-03-10T12:00:00.000",
        ] {
            let error = parse_bound(text, Bound::Start).unwrap_err().to_string();
            assert!(error.contains(text) && error.contains("offset"), "{error}");
        }
    }

    #[test]
    fn days_at_the_end_of_the_calendar_are_refused_not_panicked_on() {
        let error = SalesRange::brasilia_days(NaiveDate::MAX, NaiveDate::MAX).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::InvalidInput);
        let range = SalesRange::new(at("2026-01-01T00:00:00Z"), DateTime::<Utc>::MAX_UTC).unwrap();
        assert_eq!(range.windows(Span::MAX).len(), 1);
    }

    #[test]
    fn bad_ranges_are_refused_before_any_request() {
        assert_eq!(
            SalesRange::parse("2026-03-10", "2026-03-01")
                .unwrap_err()
                .kind(),
            crate::ErrorKind::InvalidInput
        );
        let error = SalesRange::parse("2026-13-40", "2026-03-01").unwrap_err();
        assert!(error.to_string().contains("2026-13-40"), "{error}");
        assert!(SalesRange::parse("2026-03-10T00:00:00Z", "2026-03-10T00:00:00Z").is_err());
    }

    #[test]
    fn a_stream_made_outside_a_runtime_yields_an_error_instead_of_panicking() {
        let client = Client::new(crate::Credentials::new("id", "secret", "ACCOUNT")).unwrap();
        let mut products = client.products();
        let first = products.receiver.try_recv().expect("an item is ready");
        assert_eq!(first.unwrap_err().kind(), crate::ErrorKind::Configuration);
    }

    #[test]
    fn page_size_is_clamped_to_what_the_endpoint_accepts() {
        let range = SalesRange::parse("2026-01-01", "2026-01-02").unwrap();
        assert_eq!(SalesQuery::new(range).page_size(1000).page_size, 100);
        assert_eq!(SalesQuery::new(range).page_size(0).page_size, 1);
    }
}
