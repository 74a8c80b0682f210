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

/// The `page_size` the server saw on each request to `url_path`.
async fn page_sizes(server: &MockServer, url_path: &str) -> Vec<String> {
    requests_to(server, "GET", url_path)
        .await
        .iter()
        .filter_map(|request| {
            request
                .url
                .query_pairs()
                .find(|(name, _)| name == "page_size")
                .map(|(_, value)| value.into_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_page_size_above_100_is_lowered_where_the_endpoint_caps_it() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let empty_page =
        json!({"pagination": {"count": 0, "page_number": 1, "page_size": 100}, "data": []});
    for url_path in ["/v1/sales", "/v1/products"] {
        Mock::given(method("GET"))
            .and(path(url_path))
            .respond_with(ResponseTemplate::new(200).set_body_json(&empty_page))
            .mount(&server)
            .await;
    }
    let client = client(&server);

    let sales = client
        .list_sales()
        .start_date("2026-01-01T03:00:00.000Z")
        .end_date("2026-02-01T03:00:00.000Z")
        .status(kiwify::model::SaleStatus::Paid)
        .page_size(1000)
        .send()
        .await;
    let products = client.list_products().page_size(1000).send().await;

    assert!(sales.is_ok() && products.is_ok());
    assert_eq!(page_sizes(&server, "/v1/sales").await, ["100"]);
    assert_eq!(page_sizes(&server, "/v1/products").await, ["1000"]);
    // The other parameters are untouched.
    let sale_request = &requests_to(&server, "GET", "/v1/sales").await[0];
    let status = sale_request
        .url
        .query_pairs()
        .find(|(name, _)| name == "status");
    assert_eq!(
        status.map(|(_, value)| value.into_owned()).as_deref(),
        Some("paid")
    );
}
