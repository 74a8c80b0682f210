//! The HTTP face of the sandbox: one fallback handler that routes by hand.
//!
//! Routing, query parsing and body parsing are done here rather than with axum's extractors, so
//! that every refusal is a JSON body in the API's style (axum's rejections are plain text) and
//! so that `POST /payouts/` and `POST /payouts` can differ only by the trailing slash.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::generated::types::{Pagination, Participant, Sale, Webhook};
use crate::model::{AffiliateStatus, Cents, SaleStatus, Secret};

use super::deliver::TRIGGERS;
use super::state::{SaleRecord, Shared, State, now_millis};
use super::{ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET, SandboxError};

/// Largest request body read; larger ones answer 413.
const BODY_LIMIT: usize = 1 << 20;
/// `page_size` cap of sales, affiliates, webhooks and participants (facts §3).
const PAGE_CAP: i64 = 100;
const DEFAULT_PAGE_SIZE: i64 = 20;
const MAX_SALES_WINDOW_DAYS: i64 = 90;
const SCOPE: &str = "stats products events sales sales_refund financial affiliates webhooks";

/// Statuses the `/sales` filter accepts (facts §4).
const SALE_STATUSES: [&str; 11] = [
    "approved",
    "authorized",
    "chargedback",
    "paid",
    "pending",
    "pending_refund",
    "processing",
    "refunded",
    "refund_requested",
    "refused",
    "waiting_payment",
];

/// Keys of a sale list item without `view_full_sale_details` (facts §2).
const LIST_ITEM_KEYS: [&str; 12] = [
    "id",
    "reference",
    "type",
    "created_at",
    "updated_at",
    "product",
    "shipping",
    "status",
    "payment_method",
    "net_amount",
    "currency",
    "customer",
];

/// Keys of a full sale that are `null` rather than absent when they have no value.
const NULLABLE_SALE_KEYS: [&str; 7] = [
    "approved_date",
    "refunded_at",
    "boleto_url",
    "card_rejection_reason",
    "parent_order_id",
    "installments",
    "affiliate_commission",
];

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
            token(&shared, &parts.headers, &body)
        } else {
            not_found()
        };
    }

    if let Some(limited) = count_and_limit(&shared) {
        return limited;
    }
    let Some(route) = route(&parts.method, &segments) else {
        return not_found();
    };
    if let Some(refused) = refuse_unauthenticated(&shared, &parts.headers) {
        return refused;
    }

    let query = Query::parse(parts.uri.query().unwrap_or(""));
    let answer = match route {
        Route::AccountDetails => Ok(json_response(StatusCode::OK, &shared.lock().account)),
        Route::Products => list_products(&shared.lock(), &query),
        Route::Product(id) => get_product(&shared.lock(), id),
        Route::Sales => list_sales(&shared.lock(), &query),
        Route::Sale(id) => get_sale(&shared.lock(), id),
        Route::Refund(id) => refund(&shared, id, &body).await,
        Route::Stats => stats(&shared.lock(), &query),
        Route::Balance => Ok(json_response(StatusCode::OK, &shared.lock().balance)),
        Route::EntityBalance(id) => entity_balance(&shared.lock(), id),
        Route::Payouts => list_payouts(&shared.lock(), &query),
        Route::Payout(id) => get_payout(&shared.lock(), id),
        Route::CreatePayout => create_payout(&shared, &body),
        Route::Affiliates => list_affiliates(&shared.lock(), &query),
        Route::Affiliate(id) => get_affiliate(&shared.lock(), id),
        Route::UpdateAffiliate(id) => update_affiliate(&mut shared.lock(), id, &body),
        Route::Webhooks => list_webhooks(&shared.lock(), &query),
        Route::CreateWebhook => create_webhook(&mut shared.lock(), &body),
        Route::Webhook(id) => get_webhook(&shared.lock(), id),
        Route::UpdateWebhook(id) => update_webhook(&mut shared.lock(), id, &body),
        Route::DeleteWebhook(id) => delete_webhook(&mut shared.lock(), id),
        Route::Participants(id) => participants(&shared.lock(), id, &query),
    };
    answer.unwrap_or_else(refusal)
}

// ---- responses ----

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

// ---- token, authentication, rate limit ----

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    scope: &'static str,
}

fn token(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> Response {
    shared.lock().counters.token_requests += 1;

    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return oauth_error(
            "invalid_request",
            "Invalid request: content must be application/x-www-form-urlencoded",
        );
    }
    let form = Query::parse_bytes(body);
    if form
        .get("grant_type")
        .is_some_and(|grant| grant != "client_credentials")
    {
        return oauth_error(
            "unsupported_grant_type",
            "Unsupported grant type: `grant_type` is invalid",
        );
    }
    let (Some(client_id), Some(client_secret)) = (form.get("client_id"), form.get("client_secret"))
    else {
        let missing = if form.get("client_id").is_none() {
            "client_id"
        } else {
            "client_secret"
        };
        return oauth_error(
            "invalid_request",
            &format!("Missing parameter: `{missing}`"),
        );
    };
    if client_id != CLIENT_ID || client_secret != CLIENT_SECRET {
        return oauth_error("auth_error", "Invalid client: client is invalid");
    }

    let lifetime = shared.config.token_lifetime;
    let mut state = shared.lock();
    let access_token = jwt(&mut state, lifetime.as_secs());
    // A lifetime too long for the clock lasts a century instead.
    let now = Instant::now();
    let expires = now
        .checked_add(lifetime)
        .unwrap_or_else(|| now + std::time::Duration::from_secs(100 * 365 * 86_400));
    state.remember_token(access_token.clone(), expires);
    drop(state);

    json_response(
        StatusCode::OK,
        &TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: lifetime.as_secs(),
            scope: SCOPE,
        },
    )
}

/// A JWT-shaped token with the claims of the real ones. Its signature is random: only this
/// sandbox checks it, by looking it up.
fn jwt(state: &mut State, lifetime: u64) -> String {
    let issued = Utc::now().timestamp();
    let header = json!({ "alg": "HS256", "typ": "JWT" });
    let claims = json!({
        "store_api_integration_id": "sandbox-integration",
        "store_id": ACCOUNT_ID,
        "scope": SCOPE,
        "jti": state.rng.uuid(),
        "iat": issued,
        "exp": issued.saturating_add(i64::try_from(lifetime).unwrap_or(i64::MAX)),
    });
    let signature: Vec<u8> = (0..4)
        .flat_map(|_| state.rng.next_u64().to_le_bytes())
        .collect();
    format!(
        "{}.{}.{}",
        base64url(header.to_string().as_bytes()),
        base64url(claims.to_string().as_bytes()),
        base64url(&signature)
    )
}

/// Unpadded base64url.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, byte)| n | u32::from(*byte) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// Counts a resource request; answers 429 when it is over the limit.
fn count_and_limit(shared: &Shared) -> Option<Response> {
    let mut state = shared.lock();
    state.counters.requests += 1;
    if state.admit(shared.config.rate_limit) {
        return None;
    }
    state.counters.rate_limited += 1;
    drop(state);

    let mut response = json_response(
        StatusCode::TOO_MANY_REQUESTS,
        &json!({ "message": "Too many requests" }),
    );
    if let Some(after) = shared.config.retry_after {
        let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    Some(response)
}

/// The refusal of a request without a valid token and account header, if it is one.
fn refuse_unauthenticated(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(token.trim())
        });
    if !bearer.is_some_and(|token| shared.lock().token_is_valid(token)) {
        return Some(oauth_error(
            "auth_error",
            "Invalid token: access token is invalid",
        ));
    }

    match headers
        .get("x-kiwify-account-id")
        .map(HeaderValue::as_bytes)
    {
        None | Some(b"") => Some(refusal(bad_request(
            "The x-kiwify-account-id header is required",
        ))),
        Some(account) if account == ACCOUNT_ID.as_bytes() => None,
        Some(_) => Some(json_response(
            StatusCode::UNAUTHORIZED,
            &json!({ "message": "Unauthorized" }),
        )),
    }
}

// ---- query parsing ----

/// Query-string (or form) parameters; the first value of a key wins, empty values are absent.
struct Query(HashMap<String, String>);

impl Query {
    fn parse(query: &str) -> Self {
        Self::parse_bytes(query.as_bytes())
    }

    fn parse_bytes(bytes: &[u8]) -> Self {
        let mut map = HashMap::new();
        for (key, value) in form_urlencoded::parse(bytes) {
            map.entry(key.into_owned())
                .or_insert_with(|| value.into_owned());
        }
        Self(map)
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    }

    fn date(&self, key: &str) -> Result<Option<DateTime<Utc>>, SandboxError> {
        self.get(key)
            .map(|text| {
                parse_date(text).ok_or_else(|| {
                    bad_request(format!(
                        "{key} must be a date (YYYY-MM-DD) or a UTC timestamp (YYYY-MM-DDTHH:MM:SS.sssZ)"
                    ))
                })
            })
            .transpose()
    }

    fn boolean(&self, key: &str) -> Result<Option<bool>, SandboxError> {
        self.get(key)
            .map(|text| match text {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(bad_request(format!("{key} must be true or false"))),
            })
            .transpose()
    }

    /// `(page_number, page_size)`, checked against `cap`.
    fn page(&self, cap: Option<i64>) -> Result<(i64, i64), SandboxError> {
        let positive = |key: &str, default: i64| match self.get(key) {
            None => Ok(default),
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| bad_request(format!("{key} must be a positive integer"))),
        };
        let number = positive("page_number", 1)?;
        let size = positive("page_size", DEFAULT_PAGE_SIZE)?;
        if let Some(cap) = cap.filter(|cap| size > *cap) {
            return Err(bad_request(format!("page_size must be at most {cap}")));
        }
        Ok((number, size))
    }
}

/// A date-only value is 00:00 UTC; timestamps without an offset are UTC.
fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.to_utc());
    }
    const FORMATS: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ];
    FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()?
                .and_hms_opt(0, 0, 0)
        })
        .map(|time| time.and_utc())
}

/// Both ends of a required window, or 400.
fn window(query: &Query) -> Result<(DateTime<Utc>, DateTime<Utc>), SandboxError> {
    let start = query.date("start_date")?;
    let end = query.date("end_date")?;
    let (Some(start), Some(end)) = (start, end) else {
        return Err(bad_request("start_date and end_date are required"));
    };
    if end < start {
        return Err(bad_request("end_date must not be before start_date"));
    }
    Ok((start, end))
}

fn in_window(
    time: Option<DateTime<Utc>>,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> bool {
    let Some(time) = time else {
        return start.is_none() && end.is_none();
    };
    start.is_none_or(|start| time >= start) && end.is_none_or(|end| time < end)
}

#[derive(Serialize)]
struct Page<T> {
    pagination: Pagination,
    data: T,
}

/// One page of `items` (all matching items); `count` is their total.
fn paginate<T: Serialize>(items: Vec<T>, (number, size): (i64, i64)) -> Answer {
    let count = items.len() as i64;
    let skip = usize::try_from(number.saturating_sub(1).saturating_mul(size)).unwrap_or(usize::MAX);
    let take = usize::try_from(size).unwrap_or(usize::MAX);
    let data: Vec<T> = items.into_iter().skip(skip).take(take).collect();
    ok(&Page {
        pagination: Pagination {
            count,
            page_number: Some(number),
            page_size: Some(size),
        },
        data,
    })
}

fn contains_ignoring_case(haystack: Option<&str>, needle: &str) -> bool {
    haystack.is_some_and(|text| text.to_lowercase().contains(&needle.to_lowercase()))
}

// ---- products ----

fn list_products(state: &State, query: &Query) -> Answer {
    paginate(state.products.clone(), query.page(None)?)
}

fn get_product(state: &State, id: &str) -> Answer {
    let product = state.product(id).ok_or_else(not_found_error)?;
    let mut value = serde_json::to_value(product).unwrap_or_default();
    if let Value::Object(map) = &mut value {
        for key in [
            "shipping_options",
            "links",
            "bumps",
            "offers",
            "event_batches",
            "subscriptions",
            "revenue_partners",
        ] {
            map.entry(key).or_insert_with(|| json!([]));
        }
        map.entry("event_settings").or_insert(Value::Null);
    }
    ok(&value)
}

// ---- sales ----

/// A sale as the API writes it: a list item, or the full sale with its `null`s.
fn sale_json(sale: &Sale, full: bool) -> Value {
    let mut value = serde_json::to_value(sale).unwrap_or_default();
    if let Value::Object(map) = &mut value {
        if full {
            for key in NULLABLE_SALE_KEYS {
                map.entry(key).or_insert(Value::Null);
            }
            map.entry("revenue_partners").or_insert_with(|| json!([]));
        } else {
            map.retain(|key, _| LIST_ITEM_KEYS.contains(&key.as_str()));
        }
    }
    value
}

fn list_sales(state: &State, query: &Query) -> Answer {
    let (start, end) = window(query)?;
    if end - start > chrono::Duration::days(MAX_SALES_WINDOW_DAYS) {
        return Err(bad_request(format!(
            "The period between start_date and end_date must not exceed {MAX_SALES_WINDOW_DAYS} days"
        )));
    }
    let updated_start = query.date("updated_at_start_date")?;
    let updated_end = query.date("updated_at_end_date")?;
    let status = query.get("status");
    if let Some(status) = status.filter(|status| !SALE_STATUSES.contains(status)) {
        return Err(bad_request(format!(
            "status must be one of {}, not {status}",
            SALE_STATUSES.join(", ")
        )));
    }
    let method = query.get("payment_method");
    if let Some(method) = method.filter(|m| !["credit_card", "boleto", "pix"].contains(m)) {
        return Err(bad_request(format!(
            "payment_method must be credit_card, boleto or pix, not {method}"
        )));
    }
    let product_id = query.get("product_id");
    let affiliate_id = query.get("affiliate_id");
    let full = query.boolean("view_full_sale_details")?.unwrap_or(false);
    let page = query.page(Some(PAGE_CAP))?;

    let mut matching: Vec<&SaleRecord> = state
        .sales
        .iter()
        .filter(|s| in_window(s.sale.created_at, Some(start), Some(end)))
        .filter(|s| in_window(s.sale.updated_at, updated_start, updated_end))
        .filter(|s| status.is_none_or(|status| s.status() == status))
        .filter(|s| method.is_none_or(|method| s.method() == method))
        .filter(|s| product_id.is_none_or(|id| s.product_id() == id))
        .filter(|s| affiliate_id.is_none_or(|id| s.affiliate_id.as_deref() == Some(id)))
        .collect();
    matching.sort_by(|a, b| {
        a.updated_at()
            .cmp(&b.updated_at())
            .then_with(|| a.sale.id.cmp(&b.sale.id))
    });
    let items: Vec<Value> = matching
        .into_iter()
        .map(|s| sale_json(&s.sale, full))
        .collect();
    paginate(items, page)
}

fn get_sale(state: &State, id: &str) -> Answer {
    let record = state.sale(id).ok_or_else(not_found_error)?;
    ok(&sale_json(&record.sale, true))
}

/// A JSON object body; an empty body reads as `{}`.
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

async fn refund(shared: &Shared, id: &str, body: &Bytes) -> Answer {
    let body = json_object(body)?;
    let pix_key = string_field(&body, "pixKey")?;
    let (_, event) = shared.refund_sale(id, pix_key, true)?;
    shared.deliver(event).await;
    ok(&json!({ "refunded": true }))
}

// ---- stats ----

fn percentage(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 * 10_000.0 / whole as f64).round() / 100.0
}

fn stats(state: &State, query: &Query) -> Answer {
    let (start, end) = window(query)?;
    let product_id = query.get("product_id");
    let sales: Vec<&SaleRecord> = state
        .sales
        .iter()
        .filter(|s| in_window(s.sale.created_at, Some(start), Some(end)))
        .filter(|s| product_id.is_none_or(|id| s.product_id() == id))
        .collect();

    let money_in: Vec<_> = sales
        .iter()
        .filter(|s| matches!(s.sale.status, Some(SaleStatus::Paid | SaleStatus::Approved)))
        .collect();
    let approved = sales
        .iter()
        .filter(|s| s.sale.approved_date.is_some())
        .count();
    let with_status = |status: &str| sales.iter().filter(|s| s.status() == status).count();
    let cards: Vec<_> = sales
        .iter()
        .filter(|s| s.method() == "credit_card")
        .collect();
    let cards_approved = cards
        .iter()
        .filter(|s| s.sale.approved_date.is_some())
        .count();
    let boletos: Vec<_> = sales.iter().filter(|s| s.method() == "boleto").collect();
    let boletos_paid = boletos
        .iter()
        .filter(|s| s.sale.approved_date.is_some())
        .count();

    ok(&crate::generated::types::Stats {
        total_sales: Some(money_in.len() as i64),
        total_net_amount: Some(Cents(money_in.iter().map(|s| s.net()).sum())),
        credit_card_approval_rate: Some(percentage(cards_approved, cards.len())),
        refund_rate: Some(percentage(with_status("refunded"), approved)),
        chargeback_rate: Some(percentage(with_status("chargedback"), approved)),
        total_boleto_generated: Some(boletos.len() as i64),
        total_boleto_paid: Some(boletos_paid as i64),
        boleto_rate: Some(percentage(boletos_paid, boletos.len())),
    })
}

// ---- finance ----

fn entity_balance(state: &State, id: &str) -> Answer {
    if state.balance.legal_entity_id.as_deref() != Some(id) {
        return Err(not_found_error());
    }
    ok(&state.balance)
}

fn list_payouts(state: &State, query: &Query) -> Answer {
    let entity = query.get("legal_entity_id");
    let page = query.page(None)?;
    let payouts = state
        .payouts
        .iter()
        .filter(|p| entity.is_none_or(|id| p.legal_entity_id.as_deref() == Some(id)))
        .cloned()
        .collect();
    paginate(payouts, page)
}

fn get_payout(state: &State, id: &str) -> Answer {
    ok(state
        .payouts
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(not_found_error)?)
}

fn create_payout(shared: &Shared, body: &Bytes) -> Answer {
    let body = json_object(body)?;
    let amount =
        integer_field(&body, "amount")?.ok_or_else(|| bad_request("amount is required"))?;
    let entity = string_field(&body, "legal_entity_id")?;
    let id = shared.create_payout(amount, entity)?;
    ok(&json!({ "id": id }))
}

// ---- affiliates ----

fn list_affiliates(state: &State, query: &Query) -> Answer {
    let status = query.get("status");
    let product_id = query.get("product_id");
    let search = query.get("search");
    let page = query.page(Some(PAGE_CAP))?;
    let affiliates = state
        .affiliates
        .iter()
        .filter(|a| {
            status.is_none_or(|s| a.status.as_ref().is_some_and(|status| status.as_str() == s))
        })
        .filter(|a| {
            product_id.is_none_or(|id| a.product.as_ref().and_then(|p| p.id.as_deref()) == Some(id))
        })
        .filter(|a| {
            search.is_none_or(|needle| {
                contains_ignoring_case(a.name.as_deref(), needle)
                    || contains_ignoring_case(a.email.as_deref(), needle)
            })
        })
        .cloned()
        .collect();
    paginate(affiliates, page)
}

fn get_affiliate(state: &State, id: &str) -> Answer {
    ok(state
        .affiliates
        .iter()
        .find(|a| a.affiliate_id == id)
        .ok_or_else(not_found_error)?)
}

fn update_affiliate(state: &mut State, id: &str, body: &Bytes) -> Answer {
    let index = state
        .affiliates
        .iter()
        .position(|a| a.affiliate_id == id)
        .ok_or_else(not_found_error)?;
    let body = json_object(body)?;
    let commission = integer_field(&body, "commission")?;
    if commission.is_some_and(|c| c < 0) {
        return Err(bad_request("commission must not be negative"));
    }
    let status = match string_field(&body, "status")? {
        None => None,
        Some(text @ ("active" | "blocked" | "refused")) => Some(AffiliateStatus::from(text)),
        Some(other) => {
            return Err(bad_request(format!(
                "status must be active, blocked or refused, not {other}"
            )));
        }
    };
    if commission.is_none() && status.is_none() {
        return Err(bad_request("commission or status is required"));
    }

    let affiliate = &mut state.affiliates[index];
    if let Some(commission) = commission {
        affiliate.commission = Some(Cents(commission));
    }
    if let Some(status) = status {
        affiliate.status = Some(status);
    }
    ok(affiliate)
}

// ---- webhooks ----

/// A validated `POST`/`PUT /webhooks` body.
struct WebhookInput {
    name: String,
    url: String,
    products: String,
    triggers: Vec<String>,
    token: Option<String>,
}

fn webhook_input(state: &State, body: &Bytes) -> Result<WebhookInput, SandboxError> {
    let body = json_object(body)?;
    let required = |key: &str| -> Result<String, SandboxError> {
        string_field(&body, key)?
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| bad_request(format!("{key} is required")))
    };

    let name = required("name")?;
    let url = required("url")?;
    let valid_url = reqwest::Url::parse(&url)
        .is_ok_and(|parsed| matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some());
    if !valid_url {
        return Err(bad_request("url must be an http or https URL"));
    }

    if matches!(body.get("products"), Some(Value::Array(_))) {
        return Err(bad_request(
            "products must be one string: \"all\" or a product id",
        ));
    }
    let products = required("products")?;
    if products != "all" && state.product(&products).is_none() {
        return Err(bad_request(
            "products must be \"all\" or the id of one of your products",
        ));
    }

    let triggers = match body.get("triggers") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| match item.as_str() {
                Some(name) if TRIGGERS.contains(&name) => Ok(name.to_owned()),
                _ => Err(bad_request(format!(
                    "triggers must name known triggers ({}), not {item}",
                    TRIGGERS.join(", ")
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(bad_request("triggers must be a non-empty list")),
    };

    let token = string_field(&body, "token")?
        .filter(|token| !token.is_empty())
        .map(str::to_owned);
    Ok(WebhookInput {
        name,
        url,
        products,
        triggers,
        token,
    })
}

fn apply(webhook: &mut Webhook, input: WebhookInput) {
    webhook.name = Some(input.name);
    webhook.url = Some(input.url);
    webhook.products = Some(input.products);
    webhook.triggers = input
        .triggers
        .iter()
        .map(|t| crate::webhook::Trigger::from(t.as_str()))
        .collect();
    if let Some(token) = input.token {
        webhook.token = Some(Secret::new(token));
    }
    webhook.updated_at = Some(now_millis());
}

/// A webhook as the API writes it: `triggers` always present.
fn webhook_json(webhook: &Webhook) -> Value {
    let mut value = serde_json::to_value(webhook).unwrap_or_default();
    if let Value::Object(map) = &mut value {
        map.entry("triggers").or_insert_with(|| json!([]));
    }
    value
}

fn list_webhooks(state: &State, query: &Query) -> Answer {
    let product_id = query.get("product_id");
    let search = query.get("search");
    let page = query.page(Some(PAGE_CAP))?;
    let webhooks = state
        .webhooks
        .iter()
        .filter(|w| product_id.is_none_or(|id| w.products.as_deref() == Some(id)))
        .filter(|w| {
            search.is_none_or(|needle| {
                contains_ignoring_case(w.name.as_deref(), needle)
                    || contains_ignoring_case(w.url.as_deref(), needle)
            })
        })
        .map(webhook_json)
        .collect();
    paginate(webhooks, page)
}

fn create_webhook(state: &mut State, body: &Bytes) -> Answer {
    let mut input = webhook_input(state, body)?;
    let token = input
        .token
        .take()
        .unwrap_or_else(|| state.rng.lower_code(11));
    let now = now_millis();
    let mut webhook = Webhook {
        id: state.rng.uuid(),
        name: None,
        url: None,
        products: None,
        triggers: Vec::new(),
        token: Some(Secret::new(token)),
        created_at: Some(now),
        updated_at: Some(now),
    };
    apply(&mut webhook, input);
    let answer = ok(&webhook_json(&webhook));
    state.webhooks.push(webhook);
    answer
}

fn get_webhook(state: &State, id: &str) -> Answer {
    ok(&webhook_json(
        state
            .webhooks
            .iter()
            .find(|w| w.id == id)
            .ok_or_else(not_found_error)?,
    ))
}

fn update_webhook(state: &mut State, id: &str, body: &Bytes) -> Answer {
    let index = state
        .webhooks
        .iter()
        .position(|w| w.id == id)
        .ok_or_else(not_found_error)?;
    let input = webhook_input(state, body)?;
    let webhook = &mut state.webhooks[index];
    apply(webhook, input);
    ok(&webhook_json(webhook))
}

fn delete_webhook(state: &mut State, id: &str) -> Answer {
    let index = state
        .webhooks
        .iter()
        .position(|w| w.id == id)
        .ok_or_else(not_found_error)?;
    state.webhooks.remove(index);
    Ok((StatusCode::NO_CONTENT, Body::empty()).into_response())
}

// ---- events ----

#[derive(Serialize)]
struct EventData {
    max_tickets: i64,
    available: i64,
    issued_tickets: i64,
    sold_tickets: i64,
    total_checkin: i64,
    participants: Vec<Value>,
}

fn participants(state: &State, product_id: &str, query: &Query) -> Answer {
    let event = state
        .events
        .iter()
        .find(|e| e.product_id == product_id)
        .ok_or_else(not_found_error)?;
    let checked_in = query.boolean("checked_in")?;
    let created_start = query.date("created_at_start_date")?;
    let created_end = query.date("created_at_end_date")?;
    let updated_start = query.date("updated_at_start_date")?;
    let updated_end = query.date("updated_at_end_date")?;
    let exact = |key: &str, value: &Option<String>| {
        query
            .get(key)
            .is_none_or(|wanted| value.as_deref() == Some(wanted))
    };
    let (number, size) = query.page(Some(PAGE_CAP))?;

    let matching: Vec<&Participant> = event
        .participants
        .iter()
        .filter(|p| checked_in.is_none_or(|wanted| p.checkin_at.is_some() == wanted))
        .filter(|p| in_window(p.created_at, created_start, created_end))
        .filter(|p| in_window(p.updated_at, updated_start, updated_end))
        .filter(|p| exact("external_id", &p.external_id))
        .filter(|p| exact("batch_id", &p.batch_id))
        .filter(|p| exact("phone", &p.phone))
        .filter(|p| exact("cpf", &p.cpf))
        .filter(|p| exact("order_id", &p.order_id))
        .collect();

    let count = matching.len() as i64;
    let skip = usize::try_from(number.saturating_sub(1).saturating_mul(size)).unwrap_or(usize::MAX);
    let page: Vec<Value> = matching
        .into_iter()
        .skip(skip)
        .take(usize::try_from(size).unwrap_or(usize::MAX))
        .map(|p| {
            let mut value = serde_json::to_value(p).unwrap_or_default();
            if let Value::Object(map) = &mut value {
                map.entry("checkin_at").or_insert(Value::Null);
            }
            value
        })
        .collect();

    let sold = event.participants.len() as i64;
    ok(&Page {
        pagination: Pagination {
            count,
            page_number: Some(number),
            page_size: Some(size),
        },
        data: EventData {
            max_tickets: event.max_tickets,
            available: event.max_tickets - sold,
            issued_tickets: sold,
            sold_tickets: sold,
            total_checkin: event
                .participants
                .iter()
                .filter(|p| p.checkin_at.is_some())
                .count() as i64,
            participants: page,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_4648_vectors() {
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn dates_read_every_accepted_form() {
        let at = |text: &str| parse_date(text).map(|t| t.to_rfc3339());
        assert_eq!(at("2026-03-10"), Some("2026-03-10T00:00:00+00:00".into()));
        assert_eq!(
            at("2026-03-10T01:02:03.456Z"),
            Some("2026-03-10T01:02:03.456+00:00".into())
        );
        assert_eq!(
            at("2026-03-10 01:02"),
            Some("2026-03-10T01:02:00+00:00".into())
        );
        assert_eq!(
            at("2026-03-10T01:02:03"),
            Some("2026-03-10T01:02:03+00:00".into())
        );
        assert_eq!(at("10/03/2026"), None);
        assert_eq!(at("2026-13-01"), None);
    }

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
