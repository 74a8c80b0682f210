//! Webhook registrations.

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::generated::types::Webhook;
use crate::model::Secret;
use crate::sandbox::SandboxError;
use crate::sandbox::state::{State, now_millis};
use crate::webhook::Trigger;

use super::query::{PAGE_CAP, Query, contains_ignoring_case, paginate};
use super::{Answer, bad_request, json_object, not_found_error, ok, string_field};

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
                Some(name) if Trigger::NAMES.contains(&name) => Ok(name.to_owned()),
                _ => Err(bad_request(format!(
                    "triggers must name known triggers ({}), not {item}",
                    Trigger::NAMES.join(", ")
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

pub(super) fn list_webhooks(state: &State, query: &Query) -> Answer {
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

pub(super) fn create_webhook(state: &mut State, body: &Bytes) -> Answer {
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

pub(super) fn get_webhook(state: &State, id: &str) -> Answer {
    ok(&webhook_json(
        state
            .webhooks
            .iter()
            .find(|w| w.id == id)
            .ok_or_else(not_found_error)?,
    ))
}

pub(super) fn update_webhook(state: &mut State, id: &str, body: &Bytes) -> Answer {
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

pub(super) fn delete_webhook(state: &mut State, id: &str) -> Answer {
    let index = state
        .webhooks
        .iter()
        .position(|w| w.id == id)
        .ok_or_else(not_found_error)?;
    state.webhooks.remove(index);
    Ok((StatusCode::NO_CONTENT, Body::empty()).into_response())
}
