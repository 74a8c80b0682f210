//! Sales export and list streams against a local server over loopback.
//!
//! The server is a wiremock responder that implements `GET /v1/sales` like the real API: dates
//! as full UTC timestamps, end exclusive, ordered by update time, `pagination.count` the total.
//! Hooks let a test move a sale between pages mid-scan, inflate `count`, or fail a page.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};
use futures::StreamExt;
use kiwify::rate::RateLimit;
use kiwify::retry::RetryPolicy;
use kiwify::{Client, Credentials, SalesQuery, SalesRange};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Clone)]
struct StoredSale {
    id: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Default)]
struct Store {
    sales: Vec<StoredSale>,
    /// Every `(start_date, end_date, page_number, page_size)` received.
    requests: Vec<(String, String, u64, u64)>,
    /// After serving page 1 of a window, make its first sale the most recently updated.
    move_first_sale_after_page_one: bool,
    /// Added to the reported count.
    extra_count: u64,
    /// This page number always fails with 500.
    failing_page: Option<u64>,
}

#[derive(Clone)]
struct SalesEndpoint(Arc<Mutex<Store>>);

fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|instant| instant.with_timezone(&Utc))
}

impl Respond for SalesEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query: std::collections::HashMap<String, String> =
            request.url.query_pairs().into_owned().collect();
        let get = |name: &str| query.get(name).cloned().unwrap_or_default();
        let (Some(start), Some(end)) = (parse(&get("start_date")), parse(&get("end_date"))) else {
            return ResponseTemplate::new(400).set_body_json(json!({"message": "bad dates"}));
        };
        if end - start > Span::days(90) {
            return ResponseTemplate::new(400).set_body_json(json!({"message": "over 90 days"}));
        }
        let page: u64 = get("page_number").parse().unwrap_or(1);
        let size: u64 = get("page_size").parse().unwrap_or(20);
        if size > 100 {
            return ResponseTemplate::new(400).set_body_json(json!({"message": "page_size > 100"}));
        }

        let mut store = self.0.lock().unwrap();
        store
            .requests
            .push((get("start_date"), get("end_date"), page, size));
        if store.failing_page == Some(page) {
            return ResponseTemplate::new(500).set_body_string("upstream error");
        }
        let mut matching: Vec<StoredSale> = store
            .sales
            .iter()
            .filter(|sale| start <= sale.created_at && sale.created_at < end)
            .cloned()
            .collect();
        matching.sort_by(|a, b| (a.updated_at, &a.id).cmp(&(b.updated_at, &b.id)));
        let data: Vec<_> = matching
            .iter()
            .skip(((page - 1) * size) as usize)
            .take(size as usize)
            .map(|sale| json!({"id": sale.id, "created_at": sale.created_at, "updated_at": sale.updated_at, "status": "paid"}))
            .collect();
        let body = json!({
            "pagination": {"count": matching.len() as u64 + store.extra_count, "page_number": page, "page_size": size},
            "data": data,
        });

        if page == 1 && store.move_first_sale_after_page_one {
            store.move_first_sale_after_page_one = false;
            if let Some(first) = matching.first() {
                let latest = store
                    .sales
                    .iter()
                    .map(|sale| sale.updated_at)
                    .max()
                    .unwrap();
                let moved = store
                    .sales
                    .iter_mut()
                    .find(|sale| sale.id == first.id)
                    .unwrap();
                moved.updated_at = latest + Span::seconds(1);
            }
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

struct Fixture {
    _server: MockServer,
    store: Arc<Mutex<Store>>,
    client: Client,
}

async fn fixture(sales: Vec<StoredSale>) -> Fixture {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "t", "token_type": "Bearer", "expires_in": 86400, "scope": "sales"}),
        ))
        .mount(&server)
        .await;
    let store = Arc::new(Mutex::new(Store {
        sales,
        ..Store::default()
    }));
    Mock::given(method("GET"))
        .and(path("/v1/sales"))
        .respond_with(SalesEndpoint(store.clone()))
        .mount(&server)
        .await;
    let client = Client::builder()
        .credentials(Credentials::new("id", "secret", "ACCOUNT12345678"))
        .base_url(format!("{}/v1", server.uri()))
        .rate_limit(RateLimit::disabled())
        .retry_policy(
            RetryPolicy::default()
                .with_base_delay(Duration::from_millis(1))
                .with_max_attempts(2),
        )
        .build()
        .unwrap();
    Fixture {
        _server: server,
        store,
        client,
    }
}

fn at(text: &str) -> DateTime<Utc> {
    parse(text).unwrap()
}

/// One sale every `step`, from `first` (included) to `last` (excluded), updated in creation order.
fn sales_every(first: DateTime<Utc>, last: DateTime<Utc>, step: Span) -> Vec<StoredSale> {
    let mut sales = Vec::new();
    let mut created = first;
    while created < last {
        sales.push(StoredSale {
            id: format!("sale-{}", sales.len()),
            created_at: created,
            updated_at: created,
        });
        created += step;
    }
    sales
}

async fn export(client: &Client, query: SalesQuery) -> (Vec<String>, Option<kiwify::Error>) {
    let mut stream = client.sales(query);
    let mut ids = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(sale) => ids.push(sale.id),
            Err(error) => {
                assert!(
                    stream.next().await.is_none(),
                    "the stream ends after an error"
                );
                return (ids, Some(error));
            }
        }
    }
    (ids, None)
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn ranges_of_1_90_91_and_400_days_export_every_sale_once() {
    let start = at("2025-01-01T03:00:00Z");
    // Windows are 89 days by default, a day under the API's limit.
    for (days, windows) in [(1, 1), (89, 1), (90, 2), (91, 2), (400, 5)] {
        let end = start + Span::days(days);
        // Sales every 5 hours, plus some just outside the range on both sides.
        let all = sales_every(start - Span::days(2), end + Span::days(2), Span::hours(5));
        let expected: Vec<String> = all
            .iter()
            .filter(|sale| start <= sale.created_at && sale.created_at < end)
            .map(|sale| sale.id.clone())
            .collect();
        let fixture = fixture(all).await;

        let query = SalesQuery::new(SalesRange::new(start, end).unwrap()).page_size(500);
        let (ids, error) = export(&fixture.client, query).await;
        assert!(error.is_none(), "{days} days: {error:?}");
        assert_eq!(
            ids.len(),
            expected.len(),
            "{days} days: each sale exactly once"
        );
        assert_eq!(sorted(ids), sorted(expected), "{days} days");

        let store = fixture.store.lock().unwrap();
        let mut seen_windows: Vec<&String> =
            store.requests.iter().map(|request| &request.0).collect();
        seen_windows.dedup();
        assert_eq!(seen_windows.len(), windows, "{days} days: windows");
        assert!(
            store.requests.iter().all(|request| request.3 == 100),
            "page size clamped to 100"
        );
        assert!(
            store
                .requests
                .iter()
                .all(|request| request.0.ends_with(".000Z")),
            "full UTC timestamps"
        );
    }
}

#[tokio::test]
async fn sales_exactly_on_window_edges_are_exported_once() {
    let start = at("2025-01-01T00:00:00Z");
    let edge = start + Span::days(90);
    let end = start + Span::days(180);
    let on_edges = [
        start,
        edge - Span::milliseconds(1),
        edge,
        end - Span::milliseconds(1),
        end,
    ];
    let sales: Vec<StoredSale> = on_edges
        .iter()
        .enumerate()
        .map(|(index, instant)| StoredSale {
            id: format!("edge-{index}"),
            created_at: *instant,
            updated_at: *instant,
        })
        .collect();
    let fixture = fixture(sales).await;

    let (ids, error) = export(
        &fixture.client,
        SalesQuery::new(SalesRange::new(start, end).unwrap()),
    )
    .await;
    assert!(error.is_none());
    // The sale at `end` is outside the half-open range; the others are in exactly one window.
    assert_eq!(sorted(ids), ["edge-0", "edge-1", "edge-2", "edge-3"]);
}

#[tokio::test]
async fn a_sale_that_moves_to_another_page_mid_scan_is_neither_lost_nor_repeated() {
    let start = at("2025-03-01T00:00:00Z");
    let end = start + Span::days(30);
    let all = sales_every(start, end, Span::hours(3)); // 240 sales: 3 pages of 100
    let expected = sorted(all.iter().map(|sale| sale.id.clone()).collect());
    let fixture = fixture(all).await;
    fixture.store.lock().unwrap().move_first_sale_after_page_one = true;

    let query = SalesQuery::new(SalesRange::new(start, end).unwrap()).concurrency(1);
    let (ids, error) = export(&fixture.client, query).await;
    assert!(error.is_none());
    assert_eq!(ids.len(), 240, "no sale yielded twice");
    assert_eq!(sorted(ids), expected, "no sale lost");
}

#[tokio::test]
async fn a_count_larger_than_the_pages_hold_ends_the_stream() {
    let start = at("2025-03-01T00:00:00Z");
    let end = start + Span::days(10);
    let fixture = fixture(sales_every(start, end, Span::hours(1))).await; // 240 sales
    fixture.store.lock().unwrap().extra_count = 1_000;

    let (ids, error) = export(
        &fixture.client,
        SalesQuery::new(SalesRange::new(start, end).unwrap()),
    )
    .await;
    assert!(error.is_none());
    assert_eq!(ids.len(), 240);
    let requests = fixture.store.lock().unwrap().requests.len();
    // One reading: no sale came twice, so nothing moved and a re-read would find nothing. It
    // stops at the first empty page (page 4), with at most 4 more pages in flight.
    assert!(requests <= 8, "stopped after {requests} requests");
}

#[tokio::test]
async fn an_empty_range_yields_nothing_after_one_request() {
    let start = at("2025-03-01T00:00:00Z");
    let fixture = fixture(Vec::new()).await;
    let query = SalesQuery::new(SalesRange::new(start, start + Span::days(5)).unwrap());
    let (ids, error) = export(&fixture.client, query).await;
    assert!(ids.is_empty() && error.is_none());
    assert_eq!(fixture.store.lock().unwrap().requests.len(), 1);
}

#[tokio::test]
async fn a_failing_page_ends_the_stream_with_the_error_after_the_good_sales() {
    let start = at("2025-03-01T00:00:00Z");
    let end = start + Span::days(30);
    let all = sales_every(start, end, Span::hours(3)); // 240 sales
    let fixture = fixture(all).await;
    fixture.store.lock().unwrap().failing_page = Some(2);

    let query = SalesQuery::new(SalesRange::new(start, end).unwrap()).concurrency(1);
    let (ids, error) = export(&fixture.client, query).await;
    let error = error.expect("the stream yields the error");
    assert_eq!(error.status().map(|status| status.as_u16()), Some(500));
    assert_eq!(ids.len(), 100, "page 1 was yielded before the error");
    assert_eq!(
        ids.iter().collect::<std::collections::HashSet<_>>().len(),
        100
    );
}

#[tokio::test]
async fn a_reversed_range_is_refused_before_any_request() {
    let error = SalesRange::parse("2025-06-01", "2025-01-01").unwrap_err();
    assert_eq!(error.kind(), kiwify::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("not before"), "{error}");
}
