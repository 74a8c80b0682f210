//! Affiliates.

use axum::body::Bytes;

use crate::model::{AffiliateStatus, Cents};
use crate::sandbox::state::State;

use super::query::{PAGE_CAP, Query, contains_ignoring_case, paginate};
use super::{Answer, bad_request, integer_field, json_object, not_found_error, ok, string_field};

pub(super) fn list_affiliates(state: &State, query: &Query) -> Answer {
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

pub(super) fn get_affiliate(state: &State, id: &str) -> Answer {
    ok(state
        .affiliates
        .iter()
        .find(|a| a.affiliate_id == id)
        .ok_or_else(not_found_error)?)
}

pub(super) fn update_affiliate(state: &mut State, id: &str, body: &Bytes) -> Answer {
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
