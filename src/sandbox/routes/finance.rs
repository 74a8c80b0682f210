//! Balances and payouts.

use axum::body::Bytes;
use serde_json::json;

use crate::sandbox::state::{Shared, State};

use super::query::{Query, paginate};
use super::{Answer, bad_request, integer_field, json_object, not_found_error, ok, string_field};

pub(super) fn entity_balance(state: &State, id: &str) -> Answer {
    if state.balance.legal_entity_id.as_deref() != Some(id) {
        return Err(not_found_error());
    }
    ok(&state.balance)
}

pub(super) fn list_payouts(state: &State, query: &Query) -> Answer {
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

pub(super) fn get_payout(state: &State, id: &str) -> Answer {
    ok(state
        .payouts
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(not_found_error)?)
}

pub(super) fn create_payout(shared: &Shared, body: &Bytes) -> Answer {
    let body = json_object(body)?;
    let amount =
        integer_field(&body, "amount")?.ok_or_else(|| bad_request("amount is required"))?;
    let entity = string_field(&body, "legal_entity_id")?;
    let id = shared.create_payout(amount, entity)?;
    ok(&json!({ "id": id }))
}
