//! The HTTP face of the sandbox: one fallback handler that routes by hand.
//!
//! Routing, query parsing and body parsing are done here rather than with axum's extractors, so
//! that every refusal is a JSON body in the API's style (axum's rejections are plain text) and
//! so that `POST /payouts/` and `POST /payouts` can differ only by the trailing slash.

mod affiliates;
mod auth;
mod finance;
mod products;
mod query;
mod sales;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State as AxumState};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use query::Query;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::SandboxError;
use super::state::Shared;

/// Largest request body read; larger ones answer 413.
const BODY_LIMIT: usize = 1 << 20;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(dispatch).with_state(shared)
}

/// What a handler answers: a response, or the API's refusal.
type Answer = Result<Response, SandboxError>;

/// The operations, matched exactly (no trailing-slash folding).
enum Route<'a> {
    AccountDetails,
    Products,
    Product(&'a str),
    Sales,
    Sale(&'a str),
    Refund(&'a str),
    Stats,
    Balance,
    EntityBalance(&'a str),
    Payouts,
    Payout(&'a str),
    CreatePayout,
    Affiliates,
    Affiliate(&'a str),
    UpdateAffiliate(&'a str),
    Webhooks,
    CreateWebhook,
    Webhook(&'a str),
    UpdateWebhook(&'a str),
    DeleteWebhook(&'a str),
    Participants(&'a str),
}

fn route<'a>(method: &Method, segments: &[&'a str]) -> Option<Route<'a>> {
    let id = |segment: &&'a str| (!segment.is_empty()).then_some(*segment);
    Some(match (method.as_str(), segments) {
        ("GET", ["account-details"]) => Route::AccountDetails,
        ("GET", ["products"]) => Route::Products,
        ("GET", ["products", product]) => Route::Product(id(product)?),
        ("GET", ["sales"]) => Route::Sales,
        ("GET", ["sales", sale]) => Route::Sale(id(sale)?),
        ("POST", ["sales", sale, "refund"]) => Route::Refund(id(sale)?),
        ("GET", ["stats"]) => Route::Stats,
        ("GET", ["balance"]) => Route::Balance,
        ("GET", ["balance", entity]) => Route::EntityBalance(id(entity)?),
        ("GET", ["payouts"]) => Route::Payouts,
        ("POST", ["payouts", ""]) => Route::CreatePayout,
        ("GET", ["payouts", payout]) => Route::Payout(id(payout)?),
        ("GET", ["affiliates"]) => Route::Affiliates,
        ("GET", ["affiliates", affiliate]) => Route::Affiliate(id(affiliate)?),
        ("PUT", ["affiliates", affiliate]) => Route::UpdateAffiliate(id(affiliate)?),
        ("GET", ["webhooks"]) => Route::Webhooks,
        ("POST", ["webhooks"]) => Route::CreateWebhook,
        ("GET", ["webhooks", webhook]) => Route::Webhook(id(webhook)?),
        ("PUT", ["webhooks", webhook]) => Route::UpdateWebhook(id(webhook)?),
        ("DELETE", ["webhooks", webhook]) => Route::DeleteWebhook(id(webhook)?),
        ("GET", ["events", product, "participants"]) => Route::Participants(id(product)?),
        _ => return None,
    })
}

async fn dispatch(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(body) => body,
        Err(_) => return refusal(SandboxError::new(413, "Request body too large")),
    };
    let path = parts.uri.path();
    let segments: Vec<&str> = path
        .strip_prefix("/v1/")
        .map(|rest| rest.split('/').collect())
        .unwrap_or_default();

    if segments == ["oauth", "token"] {
        return if parts.method == Method::POST {
            auth::token(&shared, &parts.headers, &body)
        } else {
            not_found()
        };
    }

    if let Some(limited) = auth::count_and_limit(&shared) {
        return limited;
    }
    let Some(route) = route(&parts.method, &segments) else {
        return not_found();
    };
    if let Some(refused) = auth::refuse_unauthenticated(&shared, &parts.headers) {
        return refused;
    }

    let query = Query::parse(parts.uri.query().unwrap_or(""));
    let answer = match route {
        Route::AccountDetails => Ok(json_response(StatusCode::OK, &shared.lock().account)),
        Route::Products => products::list_products(&shared.lock(), &query),
        Route::Product(id) => products::get_product(&shared.lock(), id),
        Route::Sales => sales::list_sales(&shared.lock(), &query),
        Route::Sale(id) => sales::get_sale(&shared.lock(), id),
        Route::Refund(id) => sales::refund(&shared, id, &body).await,
        Route::Stats => sales::stats(&shared.lock(), &query),
        Route::Balance => Ok(json_response(StatusCode::OK, &shared.lock().balance)),
        Route::EntityBalance(id) => finance::entity_balance(&shared.lock(), id),
        Route::Payouts => finance::list_payouts(&shared.lock(), &query),
        Route::Payout(id) => finance::get_payout(&shared.lock(), id),
        Route::CreatePayout => finance::create_payout(&shared, &body),
        Route::Affiliates => affiliates::list_affiliates(&shared.lock(), &query),
        Route::Affiliate(id) => affiliates::get_affiliate(&shared.lock(), id),
        Route::UpdateAffiliate(id) => affiliates::update_affiliate(&mut shared.lock(), id, &body),
        Route::Webhooks => webhooks::list_webhooks(&shared.lock(), &query),
        Route::CreateWebhook => webhooks::create_webhook(&mut shared.lock(), &body),
        Route::Webhook(id) => webhooks::get_webhook(&shared.lock(), id),
        Route::UpdateWebhook(id) => webhooks::update_webhook(&mut shared.lock(), id, &body),
        Route::DeleteWebhook(id) => webhooks::delete_webhook(&mut shared.lock(), id),
        Route::Participants(id) => products::participants(&shared.lock(), id, &query),
    };
    answer.unwrap_or_else(refusal)
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    let encoded = serde_json::to_value(body).and_then(|mut value| {
        normalize(&mut value);
        serde_json::to_vec(&value)
    });
    match encoded {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            bytes,
        )
            .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            r#"{"message":"Internal server error"}"#,
        )
            .into_response(),
    }
}

/// Makes a response read like the API's JavaScript output: whole-second timestamps keep their
/// `.000` (chrono drops a zero fraction, the API always sends milliseconds) and whole floats
/// lose their `.0` (`JSON.stringify(5.0)` is `5`).
fn normalize(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                let timestamp_key = key.ends_with("_at") || key.ends_with("_date");
                match value {
                    Value::String(text) if timestamp_key && is_whole_second(text) => {
                        text.insert_str(19, ".000");
                    }
                    _ => normalize(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        Value::Number(number) => {
            if let Some(whole) = whole_float(number.as_f64().filter(|_| number.is_f64())) {
                *value = Value::from(whole);
            }
        }
        _ => {}
    }
}

/// The float as an integer when it is a whole number JavaScript would print without `.0`.
pub(crate) fn whole_float(number: Option<f64>) -> Option<i64> {
    number
        .filter(|n| n.fract() == 0.0 && n.abs() < 9.0e15)
        .map(|n| n as i64)
}

/// Whether `text` is `YYYY-MM-DDTHH:MM:SSZ`.
fn is_whole_second(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 20
        && bytes[19] == b'Z'
        && bytes[10] == b'T'
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            19 => *b == b'Z',
            _ => b.is_ascii_digit(),
        })
}

fn ok(body: &impl Serialize) -> Answer {
    Ok(json_response(StatusCode::OK, body))
}

fn refusal(error: SandboxError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    json_response(status, &json!({ "message": error.message() }))
}

fn bad_request(message: impl Into<String>) -> SandboxError {
    SandboxError::new(400, message)
}

fn not_found_error() -> SandboxError {
    SandboxError::new(404, "Not found")
}

fn not_found() -> Response {
    refusal(not_found_error())
}

fn oauth_error(error: &str, message: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({ "error": error, "message": message }),
    )
}

fn json_object(body: &Bytes) -> Result<Map<String, Value>, SandboxError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad_request("The request body must be a JSON object")),
        Err(_) => Err(bad_request("The request body is not valid JSON")),
    }
}

/// An optional string field of a JSON body.
fn string_field<'a>(
    body: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, SandboxError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(bad_request(format!("{key} must be a string"))),
    }
}

/// An optional integer field of a JSON body (a JSON integer, not a string or a fraction).
fn integer_field(body: &Map<String, Value>, key: &str) -> Result<Option<i64>, SandboxError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad_request(format!("{key} must be an integer number of cents"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_read_like_javascript_output() {
        let mut value = json!({
            "created_at": "2026-01-01T00:00:00Z",
            "nested": [{"approved_date": "2026-01-01T00:00:00Z"}],
            "updated_at": "2026-01-01T00:00:00.120Z",
            "name": "2026-01-01T00:00:00Z",
            "rate": 5.0,
            "fraction": 5.6,
        });
        normalize(&mut value);
        assert_eq!(value["created_at"], "2026-01-01T00:00:00.000Z");
        assert_eq!(
            value["nested"][0]["approved_date"],
            "2026-01-01T00:00:00.000Z"
        );
        assert_eq!(value["updated_at"], "2026-01-01T00:00:00.120Z");
        assert_eq!(value["name"], "2026-01-01T00:00:00Z", "only timestamp keys");
        assert!(value.to_string().contains("\"rate\":5,"), "{value}");
        assert_eq!(value["fraction"], 5.6);
    }

    #[test]
    fn routes_match_exactly() {
        assert!(matches!(
            route(&Method::POST, &["payouts", ""]),
            Some(Route::CreatePayout)
        ));
        assert!(route(&Method::POST, &["payouts"]).is_none());
        assert!(route(&Method::GET, &["payouts", ""]).is_none());
        assert!(matches!(
            route(&Method::GET, &["payouts", "x"]),
            Some(Route::Payout("x"))
        ));
        assert!(route(&Method::GET, &["sales", ""]).is_none());
        assert!(route(&Method::DELETE, &["sales", "x"]).is_none());
    }
}
