//! Helpers shared by the `tests/client_*.rs` integration tests: a client pointed at a wiremock
//! server, the token endpoint's answers, and the requests the server saw.

#![allow(dead_code)]

use std::time::Duration;

use kiwify::rate::RateLimit;
use kiwify::retry::RetryPolicy;
use kiwify::{Client, ClientBuilder, Credentials};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const CLIENT_ID: &str = "id";
pub const CLIENT_SECRET: &str = "client-secret-5f1e9a";
pub const ACCOUNT_ID: &str = "ACCOUNT123456789";
pub const ACCESS_TOKEN: &str = "access-token-7c2d4b";

/// Credentials with the constants above.
pub fn credentials() -> Credentials {
    Credentials::new(CLIENT_ID, CLIENT_SECRET, ACCOUNT_ID)
}

/// Retries that wait a millisecond or so, so that tests run in milliseconds.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_base_delay(Duration::from_millis(1))
        .with_max_delay(Duration::from_millis(5))
}

/// A client for `server`, with fast retries and no client-side rate limit.
pub fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder()
        .credentials(credentials())
        .base_url(server.uri() + "/v1")
        .retry_policy(fast_retry())
        .rate_limit(RateLimit::disabled())
}

pub fn client(server: &MockServer) -> Client {
    builder(server).build().expect("the test client builds")
}

/// The token endpoint's answer, with `expires_in` a number as the live API sends it.
pub fn token_answer(token: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": "sales sales_refund financial webhooks",
    }))
}

/// Mounts a token endpoint that always gives [`ACCESS_TOKEN`], valid for 24 h.
pub async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(token_answer(ACCESS_TOKEN, 86_400))
        .mount(server)
        .await;
}

/// A small sale as `GET /sales/{id}` returns it.
pub fn sale(id: &str) -> Value {
    json!({
        "id": id,
        "reference": "iYJwhMP",
        "status": "paid",
        "payment_method": "credit_card",
        "net_amount": 8853,
        "currency": "BRL",
        "customer": {"id": "c1", "name": "my customer", "email": "mycustomer@mail.com"},
    })
}

/// The body of `{"error": "auth_error", "message": …}`, the API's auth failure.
pub fn auth_error(message: &str) -> Value {
    json!({"error": "auth_error", "message": message})
}

/// The requests the server received for `method` and `path`.
pub async fn requests_to(server: &MockServer, http_method: &str, url_path: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .into_iter()
        .filter(|request| request.method.as_str() == http_method && request.url.path() == url_path)
        .collect()
}

/// The token requests the server received.
pub async fn token_requests(server: &MockServer) -> Vec<Request> {
    requests_to(server, "POST", "/v1/oauth/token").await
}

/// A header of `request` as text, if present.
pub fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request
        .headers
        .get(name)
        .map(|value| value.to_str().expect("an ASCII header"))
}

/// The pairs of a form-encoded body (enough decoding for the values these tests send).
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    std::str::from_utf8(body)
        .expect("a UTF-8 form body")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key.to_owned(), value.replace('+', " "))
        })
        .collect()
}
