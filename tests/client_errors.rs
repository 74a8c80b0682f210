//! How failures reach the caller: timeouts, refused connections, HTML error pages and
//! responses that do not decode, each as one `kiwify::Error` that says what happened.

mod client_support;

use std::time::Duration;

use kiwify::prelude::*;
use kiwify::retry::RetryPolicy;
use kiwify::{ClientBuilder, ErrorKind};
use reqwest::StatusCode;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use client_support::*;

/// A sale answered after `delay`, behind a working token endpoint.
async fn slow_sale(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/sales/s1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(sale("s1"))
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    server
}

/// The error of a sale read answered after 5 s, by a client from `configure` that does not
/// retry.
async fn slow_read_error(configure: impl FnOnce(ClientBuilder) -> ClientBuilder) -> kiwify::Error {
    let server = slow_sale(Duration::from_secs(5)).await;
    let client = configure(builder(&server).retry_policy(RetryPolicy::none()))
        .build()
        .unwrap();
    kiwify::Error::from(client.get_sale().id("s1").send().await.unwrap_err())
}

#[tokio::test]
async fn an_attempt_that_outlasts_its_timeout_fails_as_a_timeout() {
    let server = slow_sale(Duration::from_secs(5)).await;
    let client = builder(&server)
        .attempt_timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();

    let error = kiwify::Error::from(client.get_sale().id("s1").send().await.unwrap_err());

    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.is_retryable());
    assert_eq!(requests_to(&server, "GET", "/v1/sales/s1").await.len(), 1);
}

#[tokio::test]
async fn the_operation_deadline_cuts_an_attempt_short() {
    // The attempt limit alone would let the answer arrive after 5 s.
    let error = slow_read_error(|builder| {
        builder
            .attempt_timeout(Duration::from_secs(30))
            .operation_timeout(Duration::from_millis(300))
    })
    .await;

    assert!(error.is_timeout(), "{error:?}");
}

#[tokio::test]
async fn a_callers_own_http_client_still_gets_the_attempt_timeout() {
    let error = slow_read_error(|builder| {
        builder
            .http_client(kiwify::client::http_client_builder().build().unwrap())
            .attempt_timeout(Duration::from_millis(200))
    })
    .await;

    assert!(error.is_timeout(), "{error:?}");
}

#[tokio::test]
async fn a_refused_connection_fails_as_a_connect_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = kiwify::Client::builder()
        .credentials(credentials())
        .base_url(format!("http://127.0.0.1:{port}/v1"))
        .retry_policy(fast_retry())
        .rate_limit(kiwify::rate::RateLimit::disabled())
        .build()
        .unwrap();

    let error = kiwify::Error::from(client.get_sale().id("s1").send().await.unwrap_err());

    assert!(error.is_connect(), "{error:?}");
    assert_eq!(error.status(), None);
    assert!(!error.to_string().contains('\n'), "{error}");
}

#[tokio::test]
async fn an_html_error_page_keeps_its_status_and_text() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/sales/s1"))
        .respond_with(
            ResponseTemplate::new(502)
                .set_body_raw("<html>\n<body>Bad gateway</body>\n</html>\n", "text/html"),
        )
        .mount(&server)
        .await;
    let client = builder(&server)
        .retry_policy(fast_retry().with_max_attempts(2))
        .build()
        .unwrap();

    let error = kiwify::Error::from(client.get_sale().id("s1").send().await.unwrap_err());

    assert_eq!(requests_to(&server, "GET", "/v1/sales/s1").await.len(), 2);
    assert_eq!(error.status(), Some(StatusCode::BAD_GATEWAY), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Api);
    assert!(
        error
            .body()
            .is_some_and(|body| body.contains("Bad gateway")),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("502") && text.contains("Bad gateway"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[tokio::test]
async fn a_truncated_body_fails_as_a_decode_error_that_says_where() {
    let truncated = r#"{"id":"s1","customer":{"name":"#;
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/sales/s1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(truncated, "application/json"))
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

    assert_eq!(error.kind(), ErrorKind::Decode, "{error:?}");
    assert_eq!(error.decode_path(), Some("customer.name"));
    assert_eq!(error.body(), Some(truncated));
    assert!(error.to_string().contains("`customer.name`"), "{error}");
    // A body that does not decode is not made good by asking again.
    assert_eq!(requests_to(&server, "GET", "/v1/sales/s1").await.len(), 1);
}
