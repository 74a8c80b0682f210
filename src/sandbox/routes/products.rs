//! Products and event participants.

use serde::Serialize;
use serde_json::{Value, json};

use crate::generated::types::Participant;
use crate::sandbox::state::State;

use super::query::{PAGE_CAP, Page, Query, in_window, page_of, paginate};
use super::{Answer, not_found_error, ok};

pub(super) fn list_products(state: &State, query: &Query) -> Answer {
    paginate(state.products.clone(), query.page(None)?)
}

pub(super) fn get_product(state: &State, id: &str) -> Answer {
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

#[derive(Serialize)]
struct EventData {
    max_tickets: i64,
    available: i64,
    issued_tickets: i64,
    sold_tickets: i64,
    total_checkin: i64,
    participants: Vec<Value>,
}

pub(super) fn participants(state: &State, product_id: &str, query: &Query) -> Answer {
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

    let (pagination, page) = page_of(matching, query.page(Some(PAGE_CAP))?);
    let participants: Vec<Value> = page
        .into_iter()
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
        pagination,
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
            participants,
        },
    })
}
