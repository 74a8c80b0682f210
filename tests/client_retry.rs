//! What the client repeats and what it never repeats: 429 and 5xx on reads are retried up to
//! the attempt cap; refunds and payouts that reached the server are sent once.

mod client_support;

use std::time::Duration;

use kiwify::generated::types;
use kiwify::prelude::*;
use reqwest::StatusCode;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use client_support::*;

/// A server whose `GET /v1/sales/s1` answers `first` `times` times, then the sale.
async fn sale_after(first: ResponseTemplate, times: u64) -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/sales/s1"))
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/sales/s1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(sale("s1")))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

async fn sale_requests(server: &MockServer) -> usize {
    requests_to(server, "GET", "/v1/sales/s1").await.len()
}

#[tokio::test]
async fn a_429_without_retry_after_is_retried_with_backoff() {
    let server = sale_after(ResponseTemplate::new(429), 2).await;

    let sale = client(&server).get_sale().id("s1").send().await;

    assert_eq!(sale.map_err(kiwify::Error::from).unwrap().id, "s1");
    assert_eq!(sale_requests(&server).await, 3);
}

#[tokio::test]
async fn a_429_with_retry_after_zero_is_retried() {
    let server = sale_after(
        ResponseTemplate::new(429).insert_header("Retry-After", "0"),
        1,
    )
    .await;

    let sale = client(&server).get_sale().id("s1").send().await;

    assert_eq!(sale.map_err(kiwify::Error::from).unwrap().id, "s1");
    assert_eq!(sale_requests(&server).await, 2);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_longest_wait_is_surfaced_not_slept() {
    let server = sale_after(
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
        1,
    )
    .await;
    let client = builder(&server)
        .retry_policy(fast_retry().with_max_delay(Duration::from_millis(100)))
        .build()
        .unwrap();

    let error = kiwify::Error::from(client.get_sale().id("s1").send().await.unwrap_err());

    assert!(error.is_rate_limited(), "{error}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(sale_requests(&server).await, 1);
}

#[tokio::test]
async fn a_429_forever_gives_up_after_the_attempt_cap() {
    let server = sale_after(ResponseTemplate::new(429), u64::MAX).await;
    let client = builder(&server)
        .retry_policy(fast_retry().with_max_attempts(3))
        .build()
        .unwrap();

    let error = kiwify::Error::from(client.get_sale().id("s1").send().await.unwrap_err());

    assert!(error.is_rate_limited(), "{error}");
    assert_eq!(error.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert!(error.is_retryable());
    assert_eq!(sale_requests(&server).await, 3);
}

#[tokio::test]
async fn a_5xx_on_a_read_is_retried() {
    for status in [500, 502, 503, 504] {
        let server = sale_after(ResponseTemplate::new(status), 1).await;

        let sale = client(&server).get_sale().id("s1").send().await;

        let sale = sale.map_err(kiwify::Error::from);
        assert_eq!(
            sale.expect("the retry succeeds").id,
            "s1",
            "status {status}"
        );
        assert_eq!(sale_requests(&server).await, 2, "status {status}");
    }
}

#[tokio::test]
async fn a_refund_answered_with_500_is_not_sent_again() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/sales/s1/refund"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "oops"})))
        .mount(&server)
        .await;

    let error = kiwify::Error::from(
        client(&server)
            .refund_sale()
            .id("s1")
            .send()
            .await
            .unwrap_err(),
    );

    assert_eq!(
        error.status(),
        Some(StatusCode::INTERNAL_SERVER_ERROR),
        "{error}"
    );
    assert_eq!(
        requests_to(&server, "POST", "/v1/sales/s1/refund")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_payout_answered_with_500_is_not_sent_again() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/payouts/"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;

    let payout = client(&server)
        .create_payout()
        .body(types::PayoutRequest {
            amount: kiwify::model::Cents(10_000),
        })
        .send()
        .await;

    let error = kiwify::Error::from(payout.unwrap_err());
    assert_eq!(
        error.status(),
        Some(StatusCode::INTERNAL_SERVER_ERROR),
        "{error}"
    );
    let payouts = requests_to(&server, "POST", "/v1/payouts/").await;
    assert_eq!(payouts.len(), 1);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&payouts[0].body).unwrap(),
        json!({"amount": 10000})
    );
}

/// Answers `first` once, then `then`, noting when each request arrived.
struct Timed {
    first: ResponseTemplate,
    then: ResponseTemplate,
    arrivals: std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
}

impl wiremock::Respond for Timed {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let mut arrivals = self.arrivals.lock().unwrap();
        arrivals.push(std::time::Instant::now());
        if arrivals.len() == 1 {
            self.first.clone()
        } else {
            self.then.clone()
        }
    }
}

#[tokio::test]
async fn a_retry_after_of_one_second_is_waited_for() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let arrivals = std::sync::Arc::default();
    Mock::given(method("GET"))
        .and(path("/v1/sales/s1"))
        .respond_with(Timed {
            first: ResponseTemplate::new(429).insert_header("Retry-After", "1"),
            then: ResponseTemplate::new(200).set_body_json(sale("s1")),
            arrivals: std::sync::Arc::clone(&arrivals),
        })
        .mount(&server)
        .await;
    // Backoff alone would wait at most a millisecond; only the header explains a second.
    let client = builder(&server)
        .retry_policy(fast_retry().with_max_delay(Duration::from_secs(2)))
        .build()
        .unwrap();

    let sale = client.get_sale().id("s1").send().await;

    assert_eq!(sale.map_err(kiwify::Error::from).unwrap().id, "s1");
    let arrivals = arrivals.lock().unwrap();
    assert_eq!(arrivals.len(), 2);
    assert!(arrivals[1] - arrivals[0] >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_refund_whose_turn_comes_after_its_deadline_is_never_sent() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/sales/s1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(sale("s1")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/sales/s1/refund"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"refunded": true})))
        .mount(&server)
        .await;
    // Two requests a minute, the token request and the read: the refund's turn is 30 s away.
    let client = builder(&server)
        .rate_limit(kiwify::rate::RateLimit::per_minute(2).with_burst(2))
        .operation_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    client.get_sale().id("s1").send().await.unwrap();

    let error = kiwify::Error::from(client.refund_sale().id("s1").send().await.unwrap_err());

    assert!(error.is_timeout(), "{error}");
    assert_eq!(error.status(), None, "no answer came: {error}");
    assert!(error.to_string().contains("not sent"), "{error}");
    assert_eq!(
        requests_to(&server, "POST", "/v1/sales/s1/refund")
            .await
            .len(),
        0
    );
}

#[tokio::test]
async fn a_payout_still_waiting_for_its_token_at_the_deadline_is_never_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(token_answer(ACCESS_TOKEN, 86_400).set_delay(Duration::from_secs(10)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payouts/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "p1"})))
        .mount(&server)
        .await;
    let client = builder(&server)
        .operation_timeout(Duration::from_millis(300))
        .build()
        .unwrap();

    let payout = client
        .create_payout()
        .body(types::PayoutRequest {
            amount: kiwify::model::Cents(1000),
        })
        .send()
        .await;

    let error = kiwify::Error::from(payout.unwrap_err());
    assert!(error.is_timeout(), "{error}");
    assert_eq!(requests_to(&server, "POST", "/v1/payouts/").await.len(), 0);
}
