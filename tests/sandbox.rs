//! The sandbox over real HTTP on loopback, with a plain `reqwest` client: it is the server that
//! is under test here, not the crate's client.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use kiwify::model::{PaymentMethod, SaleStatus};
use kiwify::sandbox::{NewSale, Sandbox, SandboxConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

// ---- helpers ----

fn http() -> reqwest::Client {
    // The default `tls-ring` feature leaves reqwest without a crypto provider; install one.
    #[cfg(feature = "tls-ring")]
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// A sandbox, a client, and a valid token.
struct Api {
    sandbox: Sandbox,
    http: reqwest::Client,
    token: String,
}

/// The default configuration without the rate limit, so tests may send many requests.
fn unlimited() -> SandboxConfig {
    SandboxConfig {
        rate_limit: None,
        ..SandboxConfig::default()
    }
}

impl Api {
    async fn start() -> Self {
        Self::start_with(unlimited()).await
    }

    async fn start_with(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::start_with(config).await.expect("sandbox starts");
        let http = http();
        let (status, body) =
            token_request(&http, &sandbox, "sandbox-client", "sandbox-secret").await;
        assert_eq!(status, 200, "{body}");
        let token = body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        Self {
            sandbox,
            http,
            token,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.base_url())
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .header("x-kiwify-account-id", self.sandbox.credentials().account_id)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        read(
            self.request(Method::GET, path)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    async fn send(&self, method: Method, path: &str, body: Value) -> (u16, Value) {
        read(
            self.request(method, path)
                .json(&body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    async fn send_raw(&self, method: Method, path: &str, body: &'static str) -> (u16, Value) {
        let request = self
            .request(method, path)
            .header("content-type", "application/json");
        read(request.body(body).send().await.expect("request")).await
    }

    /// The first sale (ordered by update) of the year with `status` and `method`.
    async fn find_sale(&self, status: &str, method: &str) -> Value {
        for (from, to) in QUARTERS {
            let path = format!(
                "/sales?start_date={from}&end_date={to}&status={status}&payment_method={method}&page_size=1"
            );
            let (code, page) = self.get(&path).await;
            assert_eq!(code, 200, "{page}");
            if let Some(sale) = page["data"].get(0) {
                return sale.clone();
            }
        }
        panic!("no {status} {method} sale in the seeded year");
    }
}

/// Windows of at most 90 days covering the seeded year (2025-12-01 .. 2026-12-01).
const QUARTERS: [(&str, &str); 5] = [
    ("2025-12-01", "2026-03-01"),
    ("2026-03-01", "2026-05-30"),
    ("2026-05-30", "2026-08-28"),
    ("2026-08-28", "2026-11-26"),
    ("2026-11-26", "2026-12-01"),
];

/// Status and JSON body; every answer but 204 must be JSON.
async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = response.bytes().await.expect("body");
    if status == 204 {
        assert!(bytes.is_empty(), "204 with a body");
        return (status, Value::Null);
    }
    assert!(
        content_type.starts_with("application/json"),
        "{status} answered {content_type:?}"
    );
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!(
            "{status} answered non-JSON {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, body)
}

async fn token_request(
    http: &reqwest::Client,
    sandbox: &Sandbox,
    client_id: &str,
    client_secret: &str,
) -> (u16, Value) {
    let form = [
        ("client_id", client_id),
        ("client_secret", client_secret),
        ("grant_type", "client_credentials"),
    ];
    let url = format!("{}/oauth/token", sandbox.base_url());
    read(
        http.post(url)
            .form(&form)
            .send()
            .await
            .expect("token request"),
    )
    .await
}

/// Unpadded base64url, decoded (for the JWT claims).
fn base64url_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => panic!("not base64url: {c}"),
    };
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        bits = bits << 6 | u32::from(value(c));
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

fn hmac_sha1_hex(key: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn millis(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("timestamp")
        .to_utc()
}

fn iso(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

// ---- token ----

#[tokio::test]
async fn token_is_a_jwt_with_the_real_response_shape() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let (status, body) = token_request(&http(), &sandbox, "sandbox-client", "sandbox-secret").await;

    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["expires_in"],
        json!(86400),
        "a JSON number, as the live API sends"
    );
    assert_eq!(
        body["scope"],
        "stats products events sales sales_refund financial affiliates webhooks"
    );
    let token = body["access_token"].as_str().expect("token");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "header.payload.signature");
    let claims: Value =
        serde_json::from_slice(&base64url_decode(parts[1])).expect("claims are JSON");
    assert_eq!(claims["store_id"], sandbox.credentials().account_id);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        86400
    );
    assert_eq!(claims["scope"], body["scope"]);
    assert_eq!(sandbox.token_requests(), 1);
    assert_eq!(
        sandbox.requests(),
        0,
        "token requests are not resource requests"
    );
}

#[tokio::test]
async fn bad_client_credentials_answer_400_auth_error() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let (status, body) = token_request(&http(), &sandbox, "sandbox-client", "wrong").await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "auth_error", "message": "Invalid client: client is invalid"})
    );

    let (status, _) = token_request(&http(), &sandbox, "someone-else", "sandbox-secret").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn token_requests_must_be_form_encoded() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let url = format!("{}/oauth/token", sandbox.base_url());
    let json_body = json!({"client_id": "sandbox-client", "client_secret": "sandbox-secret"});
    let (status, body) = read(http().post(&url).json(&json_body).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");

    let form = [("client_id", "sandbox-client")];
    let (status, body) = read(http().post(&url).form(&form).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("client_secret"),
        "{body}"
    );

    let (status, _) = read(http().get(&url).send().await.unwrap()).await;
    assert_eq!(status, 404);
    assert_eq!(sandbox.token_requests(), 2);
}

// ---- authentication ----

#[tokio::test]
async fn resource_calls_need_a_token_this_sandbox_issued() {
    let api = Api::start().await;
    let expected =
        json!({"error": "auth_error", "message": "Invalid token: access token is invalid"});
    let account = api.sandbox.credentials().account_id;

    let missing = api
        .http
        .get(api.url("/products"))
        .header("x-kiwify-account-id", &account);
    assert_eq!(
        read(missing.send().await.unwrap()).await,
        (400, expected.clone())
    );

    let forged = api
        .http
        .get(api.url("/products"))
        .bearer_auth("eyJ.forged.token")
        .header("x-kiwify-account-id", &account);
    assert_eq!(
        read(forged.send().await.unwrap()).await,
        (400, expected.clone())
    );

    let basic = api
        .http
        .get(api.url("/products"))
        .header("authorization", format!("Basic {}", api.token));
    assert_eq!(
        read(
            basic
                .header("x-kiwify-account-id", &account)
                .send()
                .await
                .unwrap()
        )
        .await,
        (400, expected)
    );

    assert_eq!(api.get("/products").await.0, 200);
    assert_eq!(
        api.sandbox.requests(),
        4,
        "rejected requests are counted too"
    );
}

#[tokio::test]
async fn the_account_header_is_required_and_checked() {
    let api = Api::start().await;

    let missing = api.http.get(api.url("/balance")).bearer_auth(&api.token);
    let (status, body) = read(missing.send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("x-kiwify-account-id"),
        "{body}"
    );

    let wrong = api
        .http
        .get(api.url("/balance"))
        .bearer_auth(&api.token)
        .header("x-kiwify-account-id", "AAAAAAAAAAAAAAA");
    assert_eq!(
        read(wrong.send().await.unwrap()).await,
        (401, json!({"message": "Unauthorized"}))
    );
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let config = SandboxConfig {
        token_lifetime: Duration::ZERO,
        ..unlimited()
    };
    let sandbox = Sandbox::start_with(config).await.expect("sandbox");
    let (status, body) = token_request(&http(), &sandbox, "sandbox-client", "sandbox-secret").await;
    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], 0);
    let token = body["access_token"].as_str().unwrap();
    let request = http()
        .get(format!("{}/products", sandbox.base_url()))
        .bearer_auth(token)
        .header("x-kiwify-account-id", sandbox.credentials().account_id);
    let (status, body) = read(request.send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "auth_error");
}

#[tokio::test]
async fn a_token_works_until_its_lifetime_ends() {
    let config = SandboxConfig {
        token_lifetime: Duration::from_secs(3600),
        ..unlimited()
    };
    let api = Api::start_with(config).await;
    assert_eq!(api.get("/balance").await.0, 200);

    // A second before the end it still works; at the end it does not. The sandbox's clock is
    // moved, so no wall-clock margin is involved.
    api.sandbox.advance_clock(Duration::from_secs(3599));
    assert_eq!(api.get("/balance").await.0, 200);
    api.sandbox.advance_clock(Duration::from_secs(1));
    let (status, body) = api.get("/balance").await;
    assert_eq!((status, &body["error"]), (400, &json!("auth_error")));

    // A token issued on the advanced clock lives its full lifetime from there.
    let (status, body) =
        token_request(&api.http, &api.sandbox, "sandbox-client", "sandbox-secret").await;
    assert_eq!(status, 200);
    let fresh = body["access_token"].as_str().unwrap();
    let request = api
        .http
        .get(api.url("/balance"))
        .bearer_auth(fresh)
        .header("x-kiwify-account-id", api.sandbox.credentials().account_id);
    assert_eq!(read(request.send().await.unwrap()).await.0, 200);
}

#[tokio::test]
async fn expire_tokens_ends_every_issued_token_at_once() {
    let api = Api::start().await;
    let (_, body) =
        token_request(&api.http, &api.sandbox, "sandbox-client", "sandbox-secret").await;
    let second = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(api.get("/balance").await.0, 200);

    api.sandbox.expire_tokens();
    for token in [api.token.as_str(), second.as_str()] {
        let request = api
            .http
            .get(api.url("/balance"))
            .bearer_auth(token)
            .header("x-kiwify-account-id", api.sandbox.credentials().account_id);
        let (status, body) = read(request.send().await.unwrap()).await;
        assert_eq!((status, &body["error"]), (400, &json!("auth_error")));
    }

    // Tokens issued afterwards are not affected.
    let (_, body) =
        token_request(&api.http, &api.sandbox, "sandbox-client", "sandbox-secret").await;
    let request = api
        .http
        .get(api.url("/balance"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .header("x-kiwify-account-id", api.sandbox.credentials().account_id);
    assert_eq!(read(request.send().await.unwrap()).await.0, 200);
}

// ---- pagination ----

#[tokio::test]
async fn pagination_counts_every_match_and_pages_from_one() {
    let api = Api::start().await;

    let (status, page) = api.get("/products?page_size=2&page_number=3").await;
    assert_eq!(status, 200);
    assert_eq!(
        page["pagination"],
        json!({"count": 5, "page_number": 3, "page_size": 2})
    );
    assert_eq!(page["data"].as_array().unwrap().len(), 1);

    let (_, page) = api.get("/affiliates").await;
    assert_eq!(
        page["pagination"],
        json!({"count": 3, "page_number": 1, "page_size": 20})
    );
    assert!(
        page["data"][0].get("affiliate_id").is_some(),
        "keyed by affiliate_id"
    );

    let created = page["data"][0]["created_at"].as_str().unwrap();
    assert!(
        created.ends_with(".000Z"),
        "milliseconds even when zero: {created}"
    );

    let (_, page) = api.get("/products?page_number=9").await;
    assert_eq!(page["pagination"]["count"], 5);
    assert_eq!(page["data"], json!([]), "an empty page still has data");
}

#[tokio::test]
async fn page_size_is_capped_at_100_except_on_products_and_payouts() {
    let api = Api::start().await;
    let window = "start_date=2026-09-01&end_date=2026-11-01";

    let (status, page) = api.get(&format!("/sales?{window}&page_size=100")).await;
    assert_eq!(status, 200);
    assert_eq!(page["data"].as_array().unwrap().len(), 100);
    assert!(page["pagination"]["count"].as_i64().unwrap() > 100);

    for path in [
        format!("/sales?{window}&page_size=101"),
        "/affiliates?page_size=101".to_owned(),
        "/webhooks?page_size=500".to_owned(),
    ] {
        let (status, body) = api.get(&path).await;
        assert_eq!(status, 400, "{path}");
        assert!(body["message"].as_str().unwrap().contains("100"), "{body}");
    }
    let product_id = event_product(&api).await;
    assert_eq!(
        api.get(&format!("/events/{product_id}/participants?page_size=101"))
            .await
            .0,
        400
    );

    assert_eq!(api.get("/products?page_size=1000").await.0, 200);
    let (status, page) = api.get("/payouts?page_size=1000").await;
    assert_eq!(status, 200);
    assert_eq!(page["pagination"]["count"], 3);
}

// ---- sales ----

#[tokio::test]
async fn sales_need_both_dates_within_90_days() {
    let api = Api::start().await;

    for path in [
        "/sales",
        "/sales?start_date=2026-01-01",
        "/sales?end_date=2026-01-01",
    ] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 400, "{path}");
        assert!(body["message"].is_string());
    }
    let (status, body) = api
        .get("/sales?start_date=2026-01-01&end_date=2026-04-02")
        .await;
    assert_eq!(status, 400, "91 days");
    assert!(body["message"].as_str().unwrap().contains("90"), "{body}");

    assert_eq!(
        api.get("/sales?start_date=2026-01-01&end_date=2026-04-01")
            .await
            .0,
        200,
        "90 days"
    );
    assert_eq!(
        api.get("/sales?start_date=2026-01-01T00:00:00.000Z&end_date=2026-01-02T00:00:00Z")
            .await
            .0,
        200
    );
    assert_eq!(
        api.get("/sales?start_date=2026-01-01%2010:00&end_date=2026-01-02%2010:00")
            .await
            .0,
        200
    );
    assert_eq!(
        api.get("/sales?start_date=01/01/2026&end_date=2026-01-02")
            .await
            .0,
        400
    );
    assert_eq!(
        api.get("/sales?start_date=2026-02-01&end_date=2026-01-01")
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn a_year_of_sales_splits_exactly_into_windows() {
    let api = Api::start().await;
    let mut total = 0;
    for (from, to) in QUARTERS {
        let (status, page) = api
            .get(&format!(
                "/sales?start_date={from}&end_date={to}&page_size=1"
            ))
            .await;
        assert_eq!(status, 200);
        total += page["pagination"]["count"].as_i64().unwrap();
    }
    assert_eq!(total, 1500);
    assert_eq!(api.sandbox.sales_count(), 1500);
}

#[tokio::test]
async fn end_date_is_exclusive_on_created_at() {
    let api = Api::start().await;
    let sale = api.find_sale("paid", "pix").await;
    let created = millis(sale["created_at"].as_str().unwrap());
    let before = iso(created - chrono::Duration::days(1));
    let at = iso(created);
    let after = iso(created + chrono::Duration::days(1));

    let ids = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, earlier) = api
        .get(&format!(
            "/sales?start_date={before}&end_date={at}&page_size=100"
        ))
        .await;
    let (_, later) = api
        .get(&format!(
            "/sales?start_date={at}&end_date={after}&page_size=100"
        ))
        .await;
    let (_, both) = api
        .get(&format!(
            "/sales?start_date={before}&end_date={after}&page_size=100"
        ))
        .await;

    let id = sale["id"].as_str().unwrap().to_owned();
    assert!(
        !ids(&earlier).contains(&id),
        "a sale at end_date is outside the window"
    );
    assert!(
        ids(&later).contains(&id),
        "a sale at start_date is inside the window"
    );
    assert_eq!(
        earlier["pagination"]["count"].as_i64().unwrap()
            + later["pagination"]["count"].as_i64().unwrap(),
        both["pagination"]["count"].as_i64().unwrap()
    );
}

#[tokio::test]
async fn sales_are_ordered_by_update_and_trimmed_unless_full() {
    let api = Api::start().await;
    let (_, page) = api
        .get("/sales?start_date=2026-06-01&end_date=2026-08-01&page_size=100")
        .await;
    let items = page["data"].as_array().unwrap();
    let updated: Vec<DateTime<Utc>> = items
        .iter()
        .map(|s| millis(s["updated_at"].as_str().unwrap()))
        .collect();
    assert!(
        updated.windows(2).all(|pair| pair[0] <= pair[1]),
        "ascending updated_at"
    );
    assert!(
        items
            .iter()
            .all(|s| s.get("payment").is_none() && s.get("customer").is_some())
    );
    let created = items[0]["created_at"].as_str().unwrap();
    assert_eq!(
        created.len(),
        "2026-06-01T00:00:00.000Z".len(),
        "milliseconds and Z: {created}"
    );

    let (_, full) = api
        .get("/sales?start_date=2026-06-01&end_date=2026-08-01&view_full_sale_details=true")
        .await;
    let sale = &full["data"][0];
    assert!(sale["payment"]["charge_amount"].is_i64());
    assert!(sale.get("refunded_at").is_some(), "null, not absent");
    assert!(sale["tracking"].is_object());
}

#[tokio::test]
async fn sales_filters_narrow_the_count() {
    let api = Api::start().await;
    let window = "start_date=2026-03-01&end_date=2026-05-30";
    let (_, all) = api.get(&format!("/sales?{window}")).await;
    let total = all["pagination"]["count"].as_i64().unwrap();
    let mut by_method = 0;
    for method in ["credit_card", "boleto", "pix"] {
        let (_, page) = api
            .get(&format!(
                "/sales?{window}&payment_method={method}&page_size=100"
            ))
            .await;
        assert!(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["payment_method"] == method)
        );
        by_method += page["pagination"]["count"].as_i64().unwrap();
    }
    assert_eq!(by_method, total);

    let (_, affiliates) = api.get("/affiliates?status=active").await;
    let affiliate_id = affiliates["data"][0]["affiliate_id"].as_str().unwrap();
    let (_, page) = api
        .get(&format!(
            "/sales?{window}&affiliate_id={affiliate_id}&view_full_sale_details=true"
        ))
        .await;
    let count = page["pagination"]["count"].as_i64().unwrap();
    assert!(count > 0 && count < total);
    assert!(page["data"][0]["affiliate_commission"]["amount"].is_i64());

    let (status, _) = api.get(&format!("/sales?{window}&status=lost")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_data() {
    let path = "/sales?start_date=2026-01-01&end_date=2026-02-01&view_full_sale_details=true";
    let first = Api::start().await.get(path).await;
    let second = Api::start().await.get(path).await;
    assert_eq!(first, second);
    let other = Api::start_with(SandboxConfig {
        seed: 7,
        ..unlimited()
    })
    .await
    .get(path)
    .await;
    assert_ne!(first, other);
}

#[tokio::test]
async fn subscription_sales_name_their_plan() {
    let api = Api::start().await;
    let (_, products) = api.get("/products").await;
    let subscription = products["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["payment_type"] == "recurring")
        .expect("a subscription product");
    let id = subscription["id"].as_str().unwrap();
    let (_, page) = api
        .get(&format!(
            "/sales?start_date=2026-06-01&end_date=2026-08-01&product_id={id}"
        ))
        .await;
    let sale = &page["data"][0];
    assert!(
        sale["product"]["plan_id"].is_string() && sale["product"]["plan_name"].is_string(),
        "{sale}"
    );
}

#[tokio::test]
async fn unknown_sales_answer_404() {
    let api = Api::start().await;
    assert_eq!(
        api.get("/sales/no-such-sale").await,
        (404, json!({"message": "Not found"}))
    );
    let (status, _) = api
        .send(Method::POST, "/sales/no-such-sale/refund", json!({}))
        .await;
    assert_eq!(status, 404);
}

// ---- refunds ----

#[tokio::test]
async fn refund_changes_the_status_once() {
    let api = Api::start().await;
    let sale = api.find_sale("approved", "credit_card").await;
    let id = sale["id"].as_str().unwrap();
    let path = format!("/sales/{id}/refund");

    let response = api.request(Method::POST, &path).send().await.unwrap();
    assert_eq!(
        read(response).await,
        (200, json!({"refunded": true})),
        "no body is fine for a card sale"
    );

    let (_, after) = api.get(&format!("/sales/{id}")).await;
    assert_eq!(after["status"], "refunded");
    assert!(after["refunded_at"].is_string());
    assert!(after["updated_at"].as_str().unwrap() > sale["updated_at"].as_str().unwrap());

    let (status, body) = api.send(Method::POST, &path, json!({})).await;
    assert_eq!(status, 400, "a second refund is refused");
    assert!(
        body["message"].as_str().unwrap().contains("refunded"),
        "{body}"
    );
}

#[tokio::test]
async fn pix_refunds_need_a_pix_key() {
    let api = Api::start().await;
    let sale = api.find_sale("paid", "pix").await;
    let path = format!("/sales/{}/refund", sale["id"].as_str().unwrap());

    let (status, body) = api.send(Method::POST, &path, json!({})).await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("pixKey"),
        "{body}"
    );
    assert_eq!(
        api.send(Method::POST, &path, json!({"pixKey": 12})).await.0,
        400
    );

    let (status, body) = api
        .send(
            Method::POST,
            &path,
            json!({"pixKey": "cliente@example.com"}),
        )
        .await;
    assert_eq!((status, body), (200, json!({"refunded": true})));
}

#[tokio::test]
async fn only_paid_or_approved_sales_can_be_refunded() {
    let api = Api::start().await;
    for (status, method) in [
        ("waiting_payment", "boleto"),
        ("refused", "credit_card"),
        ("chargedback", "credit_card"),
    ] {
        let sale = api.find_sale(status, method).await;
        let path = format!("/sales/{}/refund", sale["id"].as_str().unwrap());
        assert_eq!(
            api.send(Method::POST, &path, json!({})).await.0,
            400,
            "{status}"
        );
    }
}

// ---- finance ----

#[tokio::test]
async fn a_payout_lowers_the_balance_and_overdrafts_are_refused() {
    let api = Api::start().await;
    let (_, balance) = api.get("/balance").await;
    let available = balance["available"].as_i64().unwrap();
    let entity = balance["legal_entity_id"].as_str().unwrap().to_owned();
    assert_eq!(api.get(&format!("/balance/{entity}")).await.1, balance);
    assert_eq!(api.get("/balance/unknown-entity").await.0, 404);

    let (status, created) = api
        .send(Method::POST, "/payouts/", json!({"amount": 10_000}))
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().unwrap();
    let (_, balance) = api.get("/balance").await;
    assert_eq!(balance["available"].as_i64().unwrap(), available - 10_000);
    assert_eq!(
        api.sandbox.balance().available.map(|c| c.0),
        Some(available - 10_000)
    );

    let (_, payout) = api.get(&format!("/payouts/{id}")).await;
    assert_eq!(payout["status"], "pending_review");
    assert_eq!(payout["amount"], 10_000);
    let (_, payouts) = api.get(&format!("/payouts?legal_entity_id={entity}")).await;
    assert_eq!(payouts["pagination"]["count"], 4);
    let (_, none) = api.get("/payouts?legal_entity_id=other").await;
    assert_eq!(none["pagination"]["count"], 0);

    let overdraft = json!({"amount": available});
    assert_eq!(
        api.send(Method::POST, "/payouts/", overdraft).await.0,
        400,
        "more than available"
    );
    assert_eq!(
        api.send(Method::POST, "/payouts/", json!({"amount": 0}))
            .await
            .0,
        400
    );
    assert_eq!(
        api.send(Method::POST, "/payouts/", json!({"amount": -5}))
            .await
            .0,
        400
    );
    assert_eq!(
        api.sandbox.balance().available.map(|c| c.0),
        Some(available - 10_000)
    );

    let (status, body) = api
        .send(Method::POST, "/payouts", json!({"amount": 100}))
        .await;
    assert_eq!(
        (status, body),
        (404, json!({"message": "Not found"})),
        "no trailing slash"
    );
}

#[tokio::test]
async fn stats_agree_with_the_sales_list() {
    let api = Api::start().await;
    let window = "start_date=2026-04-01&end_date=2026-06-01";
    let (status, stats) = api.get(&format!("/stats?{window}")).await;
    assert_eq!(status, 200);
    let (_, paid) = api.get(&format!("/sales?{window}&status=paid")).await;
    let (_, approved) = api.get(&format!("/sales?{window}&status=approved")).await;
    assert_eq!(
        stats["total_sales"].as_i64().unwrap(),
        paid["pagination"]["count"].as_i64().unwrap()
            + approved["pagination"]["count"].as_i64().unwrap()
    );
    assert!(stats["total_net_amount"].as_i64().unwrap() > 0);
    let rate = stats["credit_card_approval_rate"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&rate));
    assert_eq!(api.get("/stats").await.0, 400, "dates are required");
    assert_eq!(
        api.get("/stats?start_date=2025-12-01&end_date=2026-12-01")
            .await
            .0,
        200,
        "no 90-day cap"
    );
}

#[tokio::test]
async fn account_details_carry_the_legal_entity() {
    let api = Api::start().await;
    let (status, account) = api.get("/account-details").await;
    assert_eq!(status, 200);
    assert_eq!(account["id"], api.sandbox.credentials().account_id);
    assert_eq!(account["id"].as_str().unwrap().len(), 15);
    let (_, balance) = api.get("/balance").await;
    assert_eq!(
        account["legal_entities"][0]["id"],
        balance["legal_entity_id"]
    );
}

// ---- affiliates ----

#[tokio::test]
async fn affiliates_update_and_filter() {
    let api = Api::start().await;
    let (_, page) = api.get("/affiliates?search=CARLA").await;
    assert_eq!(page["pagination"]["count"], 1);
    let id = page["data"][0]["affiliate_id"].as_str().unwrap().to_owned();
    let path = format!("/affiliates/{id}");

    let (status, updated) = api
        .send(Method::PUT, &path, json!({"status": "blocked"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(updated["status"], "blocked");
    let (_, updated) = api
        .send(Method::PUT, &path, json!({"commission": 777}))
        .await;
    assert_eq!(
        (updated["commission"].clone(), updated["status"].clone()),
        (json!(777), json!("blocked"))
    );
    assert_eq!(api.get(&path).await.1, updated);

    assert_eq!(
        api.send(Method::PUT, &path, json!({"status": "paused"}))
            .await
            .0,
        400
    );
    assert_eq!(api.send(Method::PUT, &path, json!({})).await.0, 400);
    assert_eq!(
        api.send(
            Method::PUT,
            "/affiliates/nobody",
            json!({"status": "active"})
        )
        .await
        .0,
        404
    );
    let (_, blocked) = api.get("/affiliates?status=blocked").await;
    assert_eq!(blocked["pagination"]["count"], 2);
}

// ---- webhooks ----

#[tokio::test]
async fn webhook_crud_persists_and_delete_answers_204() {
    let api = Api::start().await;
    let body = json!({"name": "Loja", "url": "http://127.0.0.1:9/hook", "products": "all", "triggers": ["compra_aprovada"]});
    let (status, created) = api.send(Method::POST, "/webhooks", body).await;
    assert_eq!(status, 200, "{created}");
    let token = created["token"].as_str().unwrap();
    assert_eq!(token.len(), 11);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{token}"
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/webhooks/{id}");

    assert_eq!(api.get(&path).await.1, created);
    let (_, list) = api.get("/webhooks").await;
    assert_eq!(list["pagination"]["count"], 1);
    assert_eq!(
        list["data"][0]["token"], token,
        "the token comes back in clear"
    );

    let replacement = json!({"name": "Loja 2", "url": "http://127.0.0.1:9/other", "products": "all",
        "triggers": ["compra_aprovada", "pix_gerado"], "token": "a-long-custom-token"});
    let (status, updated) = api.send(Method::PUT, &path, replacement).await;
    assert_eq!(status, 200);
    assert_eq!(updated["name"], "Loja 2");
    assert_eq!(
        updated["triggers"],
        json!(["compra_aprovada", "pix_gerado"])
    );
    assert_eq!(updated["token"], "a-long-custom-token");
    assert_eq!(api.sandbox.webhooks()[0].name.as_deref(), Some("Loja 2"));
    let (_, found) = api.get("/webhooks?search=loja%202").await;
    assert_eq!(found["pagination"]["count"], 1);

    let deleted = api.request(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(read(deleted).await, (204, Value::Null));
    assert_eq!(api.get(&path).await.0, 404);
    let again = api.request(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(read(again).await.0, 404);
    assert!(api.sandbox.webhooks().is_empty());
}

#[tokio::test]
async fn webhook_bodies_are_validated() {
    let api = Api::start().await;
    let valid = json!({"name": "n", "url": "http://127.0.0.1:9/", "products": "all", "triggers": ["chargeback"]});
    let mut cases = Vec::new();
    for (key, value) in [
        ("triggers", json!(["order_approved"])),
        ("triggers", json!([])),
        ("triggers", json!("compra_aprovada")),
        ("products", json!(["all"])),
        ("products", json!("no-such-product")),
        ("url", json!("not a url")),
        ("name", json!(5)),
        ("token", json!(12345)),
    ] {
        let mut body = valid.clone();
        body[key] = value;
        cases.push(body);
    }
    for body in cases {
        let (status, answer) = api.send(Method::POST, "/webhooks", body.clone()).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        assert!(answer["message"].is_string());
    }
    assert_eq!(api.send(Method::POST, "/webhooks", valid).await.0, 200);
}

/// One POST the receiver got: raw query, exact body bytes, `Content-Type`.
type Received = (String, Vec<u8>, String);

/// A local receiver that records the raw query and body of every POST.
struct Receiver {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

async fn receiver() -> Receiver {
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let sink = sink.clone();
        async move {
            let query = request.uri().query().unwrap_or("").to_owned();
            let content_type = request
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                .await
                .unwrap_or_default();
            sink.lock()
                .unwrap()
                .push((query, body.to_vec(), content_type));
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver { addr, received }
}

fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

#[tokio::test]
async fn deliveries_are_signed_over_the_exact_body() {
    let api = Api::start().await;
    let receiver = receiver().await;
    let url = format!("http://{}/kiwify?source=sandbox", receiver.addr);
    let body = json!({"name": "receiver", "url": url, "products": "all",
        "triggers": ["compra_aprovada", "compra_reembolsada"], "token": "receiver-token-123"});
    let (status, webhook) = api.send(Method::POST, "/webhooks", body).await;
    assert_eq!(status, 200);

    let sale = api
        .sandbox
        .create_sale(NewSale::default())
        .await
        .expect("sale");
    {
        let received = receiver.received.lock().unwrap();
        assert_eq!(received.len(), 1, "delivered before create_sale returned");
        let (query, body, content_type) = &received[0];
        assert_eq!(content_type, "application/json");
        assert_eq!(
            query_value(query, "source"),
            Some("sandbox"),
            "the registered query is kept"
        );
        let signature = query_value(query, "signature").expect("signature parameter");
        assert_eq!(signature, hmac_sha1_hex("receiver-token-123", body));
        assert_ne!(signature, hmac_sha1_hex("another-token", body));

        let payload: Value = serde_json::from_slice(body).expect("JSON");
        assert_eq!(payload["order_id"], sale.id);
        assert_eq!(payload["webhook_event_type"], "order_approved");
        assert_eq!(payload["order_status"], "paid");
        assert_eq!(payload["store_id"], api.sandbox.credentials().account_id);
        let merchant = payload["payment_merchant_id"].as_str().expect("a string");
        assert!(merchant.len() == 20 && merchant.bytes().all(|b| b.is_ascii_digit()));
        let created = payload["created_at"].as_str().unwrap();
        assert_eq!(
            created.len(),
            "2026-12-03 10:00".len(),
            "Brasília local time: {created}"
        );
        assert_eq!(payload["Customer"]["country"], "br");
        assert!(payload["Customer"]["CPF"].is_string());
        assert!(payload["Commissions"]["commissioned_stores"][0]["value"].is_string());
        assert_eq!(
            payload["Product"]["product_id"],
            sale.product.as_ref().unwrap().id.clone().unwrap()
        );
        assert!(
            !String::from_utf8_lossy(body).contains(": "),
            "compact JSON"
        );
    }

    let path = format!("/sales/{}/refund", sale.id);
    assert_eq!(
        api.request(Method::POST, &path)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    let payload: Value = serde_json::from_slice(&received[1].1).unwrap();
    assert_eq!(payload["webhook_event_type"], "order_refunded");
    assert!(payload["refunded_at"].is_string());

    let deliveries = api.sandbox.deliveries();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[0].webhook_id, webhook["id"].as_str().unwrap());
    assert_eq!(deliveries[0].status, Some(200));
    assert_eq!(deliveries[0].body.as_bytes(), received[0].1.as_slice());
    assert_eq!(deliveries[1].trigger, "compra_reembolsada");
}

#[tokio::test]
async fn deliveries_follow_triggers_and_products() {
    let api = Api::start().await;
    let receiver = receiver().await;
    let (_, products) = api.get("/products").await;
    let first = products["data"][0]["id"].as_str().unwrap().to_owned();
    let second = products["data"][1]["id"].as_str().unwrap().to_owned();
    let url = format!("http://{}/hook", receiver.addr);
    let hook = |products: &str, triggers: Value| json!({"name": "h", "url": url, "products": products, "triggers": triggers});
    api.send(
        Method::POST,
        "/webhooks",
        hook(&second, json!(["compra_aprovada"])),
    )
    .await;
    api.send(
        Method::POST,
        "/webhooks",
        hook("all", json!(["boleto_gerado", "compra_aprovada"])),
    )
    .await;

    let boleto = NewSale {
        product_id: Some(first.clone()),
        payment_method: PaymentMethod::Boleto,
        status: SaleStatus::WaitingPayment,
    };
    let sale = api.sandbox.create_sale(boleto).await.unwrap();
    let approved = api.sandbox.approve_sale(&sale.id).await.unwrap();
    assert_eq!(approved.status, Some(SaleStatus::Paid));
    assert!(approved.approved_date.is_some());

    let events: Vec<String> = api
        .sandbox
        .deliveries()
        .iter()
        .map(|d| d.event_type.clone())
        .collect();
    assert_eq!(
        events,
        ["billet_created", "order_approved"],
        "only the \"all\" webhook matches"
    );
    assert_eq!(receiver.received.lock().unwrap().len(), 2);

    let refused = NewSale {
        product_id: Some(second),
        status: SaleStatus::Refused,
        ..NewSale::default()
    };
    api.sandbox.create_sale(refused).await.unwrap();
    assert_eq!(
        api.sandbox.deliveries().len(),
        2,
        "nobody listens to compra_recusada"
    );

    assert_eq!(
        api.sandbox
            .approve_sale(&sale.id)
            .await
            .unwrap_err()
            .status(),
        400
    );
    assert_eq!(
        api.sandbox.refund_sale("nope").await.unwrap_err().status(),
        404
    );
}

#[tokio::test]
async fn a_failed_delivery_is_recorded_not_fatal() {
    let api = Api::start().await;
    // Bind then drop a listener, so that the port refuses connections.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let body = json!({"name": "gone", "url": format!("http://{closed}/"), "products": "all", "triggers": ["pix_gerado"]});
    api.send(Method::POST, "/webhooks", body).await;
    let pix = NewSale {
        payment_method: PaymentMethod::Pix,
        status: SaleStatus::WaitingPayment,
        ..NewSale::default()
    };
    let sale = api.sandbox.create_sale(pix).await.unwrap();
    let deliveries = api.sandbox.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, None);
    assert!(deliveries[0].error.is_some());
    assert_eq!(
        api.sandbox.sale(&sale.id).unwrap().status,
        Some(SaleStatus::WaitingPayment)
    );
}

// ---- rate limit ----

#[tokio::test]
async fn the_rate_limit_answers_429_after_n_requests() {
    let config = SandboxConfig {
        rate_limit: Some((5, Duration::from_secs(60))),
        ..SandboxConfig::default()
    };
    let api = Api::start_with(config).await;
    for _ in 0..5 {
        assert_eq!(api.get("/balance").await.0, 200);
    }
    let response = api.request(Method::GET, "/balance").send().await.unwrap();
    assert!(response.headers().get("retry-after").is_none());
    assert_eq!(
        read(response).await,
        (429, json!({"message": "Too many requests"}))
    );

    let (status, _) =
        token_request(&api.http, &api.sandbox, "sandbox-client", "sandbox-secret").await;
    assert_eq!(status, 200, "token calls are not limited");
    assert_eq!(api.sandbox.rate_limited(), 1);
    assert_eq!(api.sandbox.requests(), 6);
}

#[tokio::test]
async fn the_rate_limit_can_send_retry_after_and_a_window_resets() {
    let config = SandboxConfig {
        rate_limit: Some((2, Duration::from_secs(60))),
        retry_after: Some(Duration::from_millis(1500)),
        ..SandboxConfig::default()
    };
    let api = Api::start_with(config).await;
    let over_the_limit = async || {
        assert_eq!(api.get("/balance").await.0, 200);
        assert_eq!(api.get("/balance").await.0, 200);
        let response = api.request(Method::GET, "/balance").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get("retry-after").unwrap(), "2");
    };
    over_the_limit().await;

    // The window ends when the sandbox's clock passes it; not a second before.
    api.sandbox.advance_clock(Duration::from_secs(59));
    assert_eq!(api.get("/balance").await.0, 429);
    api.sandbox.advance_clock(Duration::from_secs(1));
    over_the_limit().await;

    // Or at once, on demand; the counters are kept.
    api.sandbox.reset_rate_limit();
    over_the_limit().await;
    assert_eq!(api.sandbox.rate_limited(), 4);
}

// ---- events ----

async fn event_product(api: &Api) -> String {
    let (_, products) = api.get("/products").await;
    let event = products["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"] == "event")
        .expect("an event product");
    event["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn participants_come_in_an_object_with_ticket_totals() {
    let api = Api::start().await;
    let id = event_product(&api).await;
    let (status, page) = api
        .get(&format!("/events/{id}/participants?page_size=100"))
        .await;
    assert_eq!(status, 200);
    let data = &page["data"];
    assert!(data.is_object(), "data is an object");
    assert_eq!(data["participants"].as_array().unwrap().len(), 40);
    assert_eq!(page["pagination"]["count"], 40);
    assert_eq!(data["sold_tickets"], 40);

    let (_, checked) = api
        .get(&format!("/events/{id}/participants?checked_in=true"))
        .await;
    let (_, unchecked) = api
        .get(&format!("/events/{id}/participants?checked_in=false"))
        .await;
    let checked_count = checked["pagination"]["count"].as_i64().unwrap();
    assert_eq!(
        checked_count + unchecked["pagination"]["count"].as_i64().unwrap(),
        40
    );
    assert_eq!(data["total_checkin"].as_i64().unwrap(), checked_count);
    assert!(unchecked["data"]["participants"][0]["checkin_at"].is_null());

    let cpf = data["participants"][0]["cpf"].as_str().unwrap();
    let (_, one) = api
        .get(&format!("/events/{id}/participants?cpf={cpf}"))
        .await;
    assert!(one["pagination"]["count"].as_i64().unwrap() >= 1);

    let (_, products) = api.get("/products").await;
    let not_event = products["data"][0]["id"].as_str().unwrap();
    assert_eq!(
        api.get(&format!("/events/{not_event}/participants"))
            .await
            .0,
        404
    );
}

// ---- malformed input ----

#[tokio::test]
async fn malformed_input_gets_a_json_4xx_never_a_5xx() {
    let api = Api::start().await;
    let window = "start_date=2026-01-01&end_date=2026-02-01";
    let sale = api.find_sale("paid", "credit_card").await;
    let refund = format!("/sales/{}/refund", sale["id"].as_str().unwrap());
    let (_, affiliates) = api.get("/affiliates").await;
    let affiliate = format!(
        "/affiliates/{}",
        affiliates["data"][0]["affiliate_id"].as_str().unwrap()
    );
    let event = format!("/events/{}/participants", event_product(&api).await);

    let gets = [
        format!("/sales?{window}&page_size=abc"),
        format!("/sales?{window}&page_size=-1"),
        format!("/sales?{window}&page_number=0"),
        format!("/sales?{window}&page_number=99999999999999999999"),
        format!("/sales?{window}&view_full_sale_details=yes"),
        format!("/sales?{window}&payment_method=cash"),
        format!("/sales?{window}&updated_at_start_date=yesterday"),
        "/sales?start_date=2026-02-30&end_date=2026-03-01".to_owned(),
        "/sales?start_date=%FF%FE&end_date=2026-03-01".to_owned(),
        "/stats?start_date=soon&end_date=2026-03-01".to_owned(),
        format!("{event}?checked_in=maybe"),
        format!("{event}?created_at_start_date=x"),
        "/products?page_size=0".to_owned(),
        "/nothing/here".to_owned(),
        "/v2/sales".to_owned(),
        "/sales/".to_owned(),
        "/payouts/".to_owned(),
    ];
    for path in gets {
        let (status, body) = api.get(&path).await;
        assert!((400..500).contains(&status), "{path} -> {status}");
        assert!(body["message"].is_string(), "{path} -> {body}");
    }

    let bodies: [(Method, &str, &'static str); 9] = [
        (Method::POST, refund.as_str(), "{not json"),
        (Method::POST, refund.as_str(), "[1, 2]"),
        (Method::POST, "/payouts/", "{\"amount\": \"100\"}"),
        (Method::POST, "/payouts/", "{\"amount\": 1.5}"),
        (Method::POST, "/payouts/", "{}"),
        (Method::POST, "/webhooks", "null"),
        (
            Method::PUT,
            affiliate.as_str(),
            "{\"commission\": \"lots\"}",
        ),
        (Method::PUT, affiliate.as_str(), "{\"status\": 3}"),
        (Method::DELETE, "/sales", ""),
    ];
    for (method, path, body) in bodies {
        let (status, answer) = api.send_raw(method.clone(), path, body).await;
        assert!(
            (400..500).contains(&status),
            "{method} {path} {body} -> {status}"
        );
        assert!(answer["message"].is_string(), "{method} {path} -> {answer}");
    }

    let (status, page) = api
        .get(&format!("/sales?{window}&page_number=9999999"))
        .await;
    assert_eq!(status, 200, "a page past the end is empty, not an error");
    assert_eq!(page["data"], json!([]));
    assert_eq!(api.get("/balance").await.0, 200, "still serving");
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let url = format!("{}/products", sandbox.base_url());
    assert!(sandbox.base_url().starts_with("http://127.0.0.1:"));
    sandbox.shutdown().await;
    assert!(
        http().get(url).send().await.is_err(),
        "nothing listens any more"
    );
}

#[tokio::test]
async fn chargebacks_are_delivered_to_their_trigger() {
    let api = Api::start().await;
    let receiver = receiver().await;
    let url = format!("http://{}/hook", receiver.addr);
    let body = json!({"name": "cb", "url": url, "products": "all", "triggers": ["chargeback"]});
    api.send(Method::POST, "/webhooks", body).await;

    let sale = api.sandbox.create_sale(NewSale::default()).await.unwrap();
    assert!(
        api.sandbox.deliveries().is_empty(),
        "compra_aprovada is not subscribed"
    );
    let charged = api.sandbox.chargeback_sale(&sale.id).await.unwrap();
    assert_eq!(charged.status, Some(SaleStatus::Chargedback));
    let deliveries = api.sandbox.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].event_type, "chargeback");
    let payload: Value = serde_json::from_str(&deliveries[0].body).unwrap();
    assert_eq!(payload["order_status"], "chargedback");
    assert_eq!(
        api.sandbox
            .chargeback_sale(&sale.id)
            .await
            .unwrap_err()
            .status(),
        400
    );
}

#[tokio::test]
async fn an_endless_token_lifetime_does_not_overflow() {
    let config = SandboxConfig {
        token_lifetime: Duration::MAX,
        ..unlimited()
    };
    let api = Api::start_with(config).await;
    assert_eq!(api.get("/balance").await.0, 200);
}

#[tokio::test]
async fn an_anchor_near_the_ends_of_time_is_refused_at_start_not_a_panic() {
    let anchors = [
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MAX_UTC,
        "1971-12-31T23:59:59.999Z".parse().unwrap(),
        "9998-01-01T00:00:00Z".parse().unwrap(),
    ];
    for anchor in anchors {
        let config = SandboxConfig {
            anchor,
            ..unlimited()
        };
        let error = Sandbox::start_with(config).await.expect_err("refused");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{anchor}");
        assert!(error.to_string().contains("anchor"), "{error}");
    }
}

/// At both ends of the supported years the seeded data, the routes and the deliveries of
/// seeded sales (whose dates come from the anchor) all work.
#[tokio::test]
async fn anchors_at_both_ends_of_the_supported_years_seed_serve_and_deliver() {
    for anchor in ["1972-01-01T00:00:00Z", "9997-12-31T23:59:59.999Z"] {
        let anchor: DateTime<Utc> = anchor.parse().unwrap();
        assert!(kiwify::sandbox::ANCHOR_YEARS.contains(&chrono::Datelike::year(&anchor)));
        let config = SandboxConfig {
            anchor,
            sales: 300,
            ..unlimited()
        };
        let api = Api::start_with(config).await;
        let receiver = receiver().await;
        let url = format!("http://{}/hook", receiver.addr);
        let triggers = json!([
            "compra_reembolsada",
            "compra_aprovada",
            "subscription_renewed"
        ]);
        let body = json!({"name": "ends", "url": url, "products": "all", "triggers": triggers});
        assert_eq!(api.send(Method::POST, "/webhooks", body).await.0, 200);

        let from = kiwify::paginate::timestamp(anchor - chrono::Duration::days(90));
        let to = kiwify::paginate::timestamp(anchor);
        let (status, page) = api
            .get(&format!("/sales?start_date={from}&end_date={to}"))
            .await;
        assert_eq!(status, 200, "{anchor}: {page}");
        assert!(
            page["pagination"]["count"].as_i64().unwrap() > 0,
            "{anchor}"
        );

        let sales = api.sandbox.sales();
        let paid = sales
            .iter()
            .find(|sale| sale.status == Some(SaleStatus::Paid))
            .expect("a paid seeded sale");
        api.sandbox.refund_sale(&paid.id).await.unwrap();
        let subscription = sales
            .iter()
            .find(|sale| sale.product.as_ref().is_some_and(|p| p.plan_id.is_some()))
            .expect("a seeded subscription sale");
        api.sandbox
            .renew_subscription(&subscription.id)
            .await
            .unwrap();

        let deliveries = api.sandbox.deliveries();
        let events: Vec<&str> = deliveries.iter().map(|d| d.event_type.as_str()).collect();
        assert_eq!(
            events,
            ["order_refunded", "order_approved", "subscription_renewed"],
            "{anchor}"
        );
        assert!(
            deliveries
                .iter()
                .all(|delivery| delivery.status == Some(200)),
            "{anchor}: {deliveries:?}"
        );
    }
}

/// The handle can be shared across tasks and threads: checked when this file compiles, since
/// a test run could add nothing to it.
const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Sandbox>();
};

#[tokio::test]
async fn a_renewal_sends_approval_then_renewed_for_the_same_order() {
    let api = Api::start().await;
    let receiver = receiver().await;
    let url = format!("http://{}/hook", receiver.addr);
    let triggers = json!(["compra_aprovada", "subscription_renewed"]);
    let body = json!({"name": "subs", "url": url, "products": "all", "triggers": triggers});
    api.send(Method::POST, "/webhooks", body).await;

    let (_, products) = api.get("/products").await;
    let data = products["data"].as_array().unwrap();
    let subscription = data
        .iter()
        .find(|p| p["payment_type"] == "recurring")
        .unwrap();
    let first = NewSale {
        product_id: Some(subscription["id"].as_str().unwrap().to_owned()),
        ..NewSale::default()
    };
    let first = api.sandbox.create_sale(first).await.unwrap();
    let renewal = api.sandbox.renew_subscription(&first.id).await.unwrap();
    assert_ne!(renewal.id, first.id, "a renewal is a new order");
    assert_eq!(renewal.parent_order_id.as_deref(), Some(first.id.as_str()));
    assert_eq!(renewal.customer, first.customer);

    let deliveries = api.sandbox.deliveries();
    let events: Vec<&str> = deliveries.iter().map(|d| d.event_type.as_str()).collect();
    assert_eq!(
        events,
        ["order_approved", "order_approved", "subscription_renewed"]
    );
    let renewed: Value = serde_json::from_str(&deliveries[2].body).unwrap();
    let approved: Value = serde_json::from_str(&deliveries[0].body).unwrap();
    assert_eq!(renewed["order_id"], renewal.id);
    assert_eq!(renewed["subscription_id"], approved["subscription_id"]);
    assert_eq!(
        renewed["Subscription"]["charges"]["completed"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let one_off = api.sandbox.create_sale(NewSale::default()).await.unwrap();
    let refused = api
        .sandbox
        .renew_subscription(&one_off.id)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 400);
}
