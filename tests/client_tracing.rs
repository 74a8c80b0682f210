//! Secrets stay out of logs and `Debug` output: the client secret, the access token and a
//! webhook's signing token, through a token request, a successful call and failing calls.

mod client_support;

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use kiwify::prelude::*;
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use client_support::*;

const WEBHOOK_TOKEN: &str = "webhook-signing-key-9a8b";

/// Everything the subscriber writes, kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [CLIENT_SECRET, ACCESS_TOKEN, WEBHOOK_TOKEN] {
        assert!(
            !text.contains(secret),
            "{what} shows a secret ({secret}):\n{text}"
        );
    }
}

// A current-thread runtime, so that the subscriber set for this thread sees every span.
#[tokio::test]
async fn secrets_stay_out_of_logs_and_debug_output() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/webhooks/w1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "w1",
            "name": "orders",
            "url": "https://example.com/hook",
            "products": "all",
            "triggers": ["compra_aprovada"],
            "token": WEBHOOK_TOKEN,
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/sales/s1"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"message": "try later"})))
        .mount(&server)
        .await;
    let client = builder(&server)
        .retry_policy(fast_retry().with_max_attempts(2))
        .build()
        .unwrap();

    let webhook = client.get_webhook().id("w1").send().await;
    let webhook = webhook.map_err(kiwify::Error::from).unwrap().into_inner();
    assert_eq!(
        webhook.token.as_ref().map(|token| token.expose()),
        Some(WEBHOOK_TOKEN)
    );
    let unavailable = kiwify::Error::from(client.get_sale().id("s1").send().await.unwrap_err());
    assert!(unavailable.is_retryable(), "{unavailable}");

    let refused_server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(auth_error("Invalid client: client is invalid")),
        )
        .mount(&refused_server)
        .await;
    let refused = client_support::client(&refused_server)
        .get_sale()
        .id("s1")
        .send()
        .await;
    let refused = kiwify::Error::from(refused.unwrap_err());
    assert!(refused.is_authentication(), "{refused}");

    // The test must be able to fail: the operations were logged, with their ids.
    let logs = captured.text();
    for expected in [
        "kiwify.operation",
        "oauth_token",
        "get_webhook",
        "get_sale",
        "retrying",
    ] {
        assert!(
            logs.contains(expected),
            "no {expected:?} in the logs:\n{logs}"
        );
    }
    assert_no_secret("the logs", &logs);
    assert_no_secret("a client", &format!("{client:?}"));
    assert_no_secret("credentials", &format!("{:?}", credentials()));
    assert_no_secret("an error", &format!("{unavailable:?} {unavailable}"));
    assert_no_secret("an error", &format!("{refused:?} {refused}"));
    assert_no_secret("a webhook", &format!("{webhook:?}"));
    let token = client.access_token().await.unwrap();
    assert_eq!(token.expose_secret(), ACCESS_TOKEN);
    assert_no_secret("an access token", &format!("{token:?}"));
}
