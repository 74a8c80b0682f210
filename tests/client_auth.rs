//! The token lifecycle seen from the wire: one token request for many callers, renewal before
//! expiry, one renewal when the API rejects a token, and refused credentials.

mod client_support;

use std::time::Duration;

use kiwify::prelude::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use client_support::*;

/// Token answers in order: `first` once, then `second` for good.
async fn mount_two_tokens(server: &MockServer, first: (&str, u64), second: (&str, u64)) {
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(token_answer(first.0, first.1))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(token_answer(second.0, second.1))
        .with_priority(2)
        .mount(server)
        .await;
}

/// Answers `http_method url_path` with `answer` when the request carries `Bearer {token}`.
async fn mount_for_token(
    server: &MockServer,
    http_method: &str,
    url_path: &str,
    token: &str,
    answer: ResponseTemplate,
) {
    Mock::given(method(http_method))
        .and(path(url_path))
        .and(wiremock::matchers::header(
            "authorization",
            format!("Bearer {token}").as_str(),
        ))
        .respond_with(answer)
        .mount(server)
        .await;
}

async fn mount_sale(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1/sales/s1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(sale("s1")))
        .mount(server)
        .await;
}

fn bearers(requests: &[wiremock::Request]) -> Vec<String> {
    requests
        .iter()
        .map(|request| {
            header(request, "authorization")
                .unwrap_or("(none)")
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_calls_on_a_cold_cache_make_one_token_request() {
    let server = MockServer::start().await;
    // A slow token endpoint, so that every call finds the cache cold.
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(token_answer(ACCESS_TOKEN, 86_400).set_delay(Duration::from_millis(200)))
        .expect(1)
        .mount(&server)
        .await;
    mount_sale(&server).await;
    let client = client(&server);

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let client = client.clone();
        calls.spawn(async move { client.get_sale().id("s1").send().await });
    }
    while let Some(result) = calls.join_next().await {
        let sale = result
            .expect("the task ran")
            .map_err(kiwify::Error::from)
            .expect("the call");
        assert_eq!(sale.id, "s1");
    }

    let tokens = token_requests(&server).await;
    assert_eq!(tokens.len(), 1);
    let token_request = &tokens[0];
    assert_eq!(
        header(token_request, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = form_pairs(&token_request.body);
    assert!(
        form.contains(&("client_id".into(), CLIENT_ID.into())),
        "{form:?}"
    );
    assert!(
        form.contains(&("client_secret".into(), CLIENT_SECRET.into())),
        "{form:?}"
    );
    assert_eq!(header(token_request, "authorization"), None);
    assert_eq!(header(token_request, "x-kiwify-account-id"), None);

    let sales = requests_to(&server, "GET", "/v1/sales/s1").await;
    assert_eq!(sales.len(), 50);
    for request in &sales {
        assert_eq!(
            header(request, "authorization"),
            Some(&*format!("Bearer {ACCESS_TOKEN}"))
        );
        assert_eq!(header(request, "x-kiwify-account-id"), Some(ACCOUNT_ID));
    }
}

// tokio's paused clock cannot drive this test: the client's per-attempt timeout is a tokio
// timer, and a paused runtime waiting on wiremock's real socket auto-advances straight to it.
// So the first token is issued already expired (`expires_in: 0`) and the second for 24 h.
#[tokio::test]
async fn an_expired_token_is_renewed_and_a_fresh_one_reused() {
    let server = MockServer::start().await;
    mount_two_tokens(&server, ("token-expired", 0), ("token-fresh", 86_400)).await;
    mount_sale(&server).await;
    let client = client(&server);

    for _ in 0..3 {
        client
            .get_sale()
            .id("s1")
            .send()
            .await
            .map_err(kiwify::Error::from)
            .unwrap();
    }

    assert_eq!(token_requests(&server).await.len(), 2);
    let sales = requests_to(&server, "GET", "/v1/sales/s1").await;
    assert_eq!(
        bearers(&sales),
        [
            "Bearer token-expired",
            "Bearer token-fresh",
            "Bearer token-fresh"
        ]
    );
}

#[tokio::test]
async fn a_token_rejected_with_400_auth_error_or_401_is_renewed_once() {
    let rejections = [
        ResponseTemplate::new(400)
            .set_body_json(auth_error("Invalid token: access token is invalid")),
        ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"})),
    ];
    for rejection in rejections {
        let server = MockServer::start().await;
        mount_two_tokens(&server, ("token-old", 86_400), ("token-new", 86_400)).await;
        Mock::given(method("GET"))
            .and(path("/v1/sales/s1"))
            .respond_with(rejection.clone())
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        mount_sale(&server).await;

        let sale = client(&server).get_sale().id("s1").send().await;

        let sale = sale
            .map_err(kiwify::Error::from)
            .expect("the renewed token is accepted");
        assert_eq!(sale.id, "s1");
        assert_eq!(token_requests(&server).await.len(), 2);
        let sales = requests_to(&server, "GET", "/v1/sales/s1").await;
        assert_eq!(bearers(&sales), ["Bearer token-old", "Bearer token-new"]);
    }
}

#[tokio::test]
async fn a_token_the_api_always_rejects_fails_without_looping() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/sales/s1"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(auth_error("Invalid token: access token is invalid")),
        )
        .mount(&server)
        .await;

    let error = kiwify::Error::from(
        client(&server)
            .get_sale()
            .id("s1")
            .send()
            .await
            .unwrap_err(),
    );

    assert!(error.is_authentication(), "{error}");
    assert_eq!(error.status(), Some(reqwest::StatusCode::BAD_REQUEST));
    assert_eq!(error.api_code(), Some("auth_error"));
    assert_eq!(token_requests(&server).await.len(), 2);
    assert_eq!(requests_to(&server, "GET", "/v1/sales/s1").await.len(), 2);
}

#[tokio::test]
async fn refused_credentials_fail_at_the_token_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(auth_error("Invalid client: client is invalid")),
        )
        .mount(&server)
        .await;
    mount_sale(&server).await;

    let error = kiwify::Error::from(
        client(&server)
            .get_sale()
            .id("s1")
            .send()
            .await
            .unwrap_err(),
    );

    assert!(error.is_authentication(), "{error}");
    assert!(!error.is_retryable());
    assert_eq!(error.status(), Some(reqwest::StatusCode::BAD_REQUEST));
    assert!(
        error
            .to_string()
            .contains("Invalid client: client is invalid"),
        "{error}"
    );
    assert!(error.to_string().contains("token endpoint"), "{error}");
    assert_eq!(token_requests(&server).await.len(), 1);
    assert_eq!(requests_to(&server, "GET", "/v1/sales/s1").await.len(), 0);
}

#[tokio::test]
async fn a_token_endpoint_outage_is_not_reported_as_refused_credentials() {
    for (status, rate_limited) in [(503, false), (429, true)] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/oauth/token"))
            .respond_with(
                ResponseTemplate::new(status).set_body_json(json!({"message": "unavailable"})),
            )
            .mount(&server)
            .await;
        mount_sale(&server).await;
        let client = builder(&server)
            .retry_policy(fast_retry().with_max_attempts(3))
            .build()
            .unwrap();

        let error = kiwify::Error::from(client.get_sale().id("s1").send().await.unwrap_err());

        assert!(!error.is_authentication(), "{error}");
        assert!(error.is_retryable(), "{error}");
        assert_eq!(error.is_rate_limited(), rate_limited, "{error}");
        assert_eq!(error.status().map(|status| status.as_u16()), Some(status));
        assert!(error.to_string().contains("token endpoint"), "{error}");
        assert!(
            !error.to_string().contains("KIWIFY_CLIENT_SECRET"),
            "{error}"
        );
        // The token request is a safe request: it was retried, the sale never sent.
        assert_eq!(token_requests(&server).await.len(), 3, "status {status}");
        assert_eq!(requests_to(&server, "GET", "/v1/sales/s1").await.len(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_calls_rejected_with_the_same_token_renew_it_once() {
    let server = MockServer::start().await;
    mount_two_tokens(&server, ("token-old", 86_400), ("token-new", 86_400)).await;
    let unauthorized = ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"}));
    mount_for_token(&server, "GET", "/v1/sales/s1", "token-old", unauthorized).await;
    let found = ResponseTemplate::new(200).set_body_json(sale("s1"));
    mount_for_token(&server, "GET", "/v1/sales/s1", "token-new", found).await;
    let client = client(&server);
    client.access_token().await.unwrap(); // caches token-old

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let client = client.clone();
        calls.spawn(async move { client.get_sale().id("s1").send().await });
    }
    while let Some(result) = calls.join_next().await {
        let sale = result.expect("the task ran").map_err(kiwify::Error::from);
        assert_eq!(sale.expect("the renewed token is accepted").id, "s1");
    }

    // The first rejection clears token-old; the other 49 leave token-new alone.
    assert_eq!(token_requests(&server).await.len(), 2);
    let sales = requests_to(&server, "GET", "/v1/sales/s1").await;
    let renewed = bearers(&sales)
        .iter()
        .filter(|b| *b == "Bearer token-new")
        .count();
    assert_eq!(renewed, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_calls_with_refused_credentials_make_one_token_request() {
    let server = MockServer::start().await;
    // A slow refusal, so that every call is waiting on the one token request.
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(auth_error("Invalid client: client is invalid"))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    mount_sale(&server).await;
    let client = client(&server);

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let client = client.clone();
        calls.spawn(async move { client.get_sale().id("s1").send().await });
    }
    while let Some(result) = calls.join_next().await {
        let error = kiwify::Error::from(result.expect("the task ran").unwrap_err());
        assert!(error.is_authentication(), "{error}");
        assert!(error.to_string().contains("Invalid client"), "{error}");
    }

    assert_eq!(token_requests(&server).await.len(), 1);
    assert_eq!(requests_to(&server, "GET", "/v1/sales/s1").await.len(), 0);
}

#[tokio::test]
async fn a_refund_rejected_for_its_token_is_sent_once_more_with_a_new_one() {
    // The API refuses a stale token before it acts on the request: repeating the refund once
    // with a new token cannot refund twice.
    let server = MockServer::start().await;
    mount_two_tokens(&server, ("token-old", 86_400), ("token-new", 86_400)).await;
    let unauthorized = ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"}));
    mount_for_token(
        &server,
        "POST",
        "/v1/sales/s1/refund",
        "token-old",
        unauthorized,
    )
    .await;
    let refunded = ResponseTemplate::new(200).set_body_json(json!({"refunded": true}));
    mount_for_token(
        &server,
        "POST",
        "/v1/sales/s1/refund",
        "token-new",
        refunded,
    )
    .await;

    let refund = client(&server).refund_sale().id("s1").send().await;

    let refund = refund.map_err(kiwify::Error::from).unwrap();
    assert_eq!(refund.refunded.map(bool::from), Some(true));
    let refunds = requests_to(&server, "POST", "/v1/sales/s1/refund").await;
    assert_eq!(bearers(&refunds), ["Bearer token-old", "Bearer token-new"]);
}

#[tokio::test]
async fn a_token_refused_right_after_a_renewal_is_not_renewed_again_by_the_next_calls() {
    // A wrong account id: every token is refused. The first call renews once; the next calls
    // do not ask for a token each.
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/sales/s1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"})))
        .mount(&server)
        .await;
    let client = client(&server);

    for _ in 0..5 {
        let error = kiwify::Error::from(client.get_sale().id("s1").send().await.unwrap_err());
        assert!(error.is_authentication(), "{error}");
    }

    assert_eq!(token_requests(&server).await.len(), 2);
    assert_eq!(requests_to(&server, "GET", "/v1/sales/s1").await.len(), 6);
}
