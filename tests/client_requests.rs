//! The shape of requests on the wire where the API is particular: a refund carries a body
//! only when it names a Pix key.

mod client_support;

use kiwify::generated::types;
use kiwify::prelude::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use client_support::*;

async fn refund_server() -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/sales/s1/refund"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"refunded": true})))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_refund_without_a_pix_key_has_no_body_and_no_content_type() {
    let server = refund_server().await;

    let answer = client(&server).refund_sale().id("s1").send().await;

    assert_eq!(
        answer.map_err(kiwify::Error::from).unwrap().refunded,
        Some(kiwify::model::FlexibleBoolean(true))
    );
    let refunds = requests_to(&server, "POST", "/v1/sales/s1/refund").await;
    assert_eq!(refunds.len(), 1);
    assert!(
        refunds[0].body.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&refunds[0].body)
    );
    assert_eq!(header(&refunds[0], "content-type"), None);
    assert_eq!(header(&refunds[0], "x-kiwify-account-id"), Some(ACCOUNT_ID));
}

#[tokio::test]
async fn a_refund_with_a_pix_key_sends_it_as_camel_case_json() {
    let server = refund_server().await;

    let answer = client(&server)
        .refund_sale()
        .id("s1")
        .body(types::RefundRequest {
            pix_key: Some("pix@example.com".into()),
        })
        .send()
        .await;

    assert_eq!(
        answer.map_err(kiwify::Error::from).unwrap().refunded,
        Some(kiwify::model::FlexibleBoolean(true))
    );
    let refunds = requests_to(&server, "POST", "/v1/sales/s1/refund").await;
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        header(&refunds[0], "content-type"),
        Some("application/json")
    );
    let body: serde_json::Value = serde_json::from_slice(&refunds[0].body).unwrap();
    assert_eq!(body, json!({"pixKey": "pix@example.com"}));
}
