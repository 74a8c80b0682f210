//! `POST /oauth/token`, bearer tokens, the account header and the rate limit.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use crate::sandbox::state::{Shared, State};
use crate::sandbox::{ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET};

use super::query::Query;
use super::{bad_request, json_response, oauth_error, refusal};

const SCOPE: &str = "stats products events sales sales_refund financial affiliates webhooks";

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    scope: &'static str,
}

pub(super) fn token(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> Response {
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
    let expires = state.expiry_after(lifetime);
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
pub(super) fn count_and_limit(shared: &Shared) -> Option<Response> {
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
pub(super) fn refuse_unauthenticated(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
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
}
