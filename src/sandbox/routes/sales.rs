//! Sales, refunds and stats.

use axum::body::Bytes;
use serde_json::{Value, json};

use crate::generated::types::Sale;
use crate::model::{Cents, SaleStatus};
use crate::sandbox::state::{SaleRecord, Shared, State};

use super::query::{PAGE_CAP, Query, in_window, paginate, window};
use super::{Answer, bad_request, json_object, not_found_error, ok, string_field};

const MAX_SALES_WINDOW_DAYS: i64 = 90;

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

pub(super) fn list_sales(state: &State, query: &Query) -> Answer {
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

pub(super) fn get_sale(state: &State, id: &str) -> Answer {
    let record = state.sale(id).ok_or_else(not_found_error)?;
    ok(&sale_json(&record.sale, true))
}

/// A JSON object body; an empty body reads as `{}`.
pub(super) async fn refund(shared: &Shared, id: &str, body: &Bytes) -> Answer {
    let body = json_object(body)?;
    let pix_key = string_field(&body, "pixKey")?;
    let (_, event) = shared.refund_sale(id, pix_key, true)?;
    shared.deliver(event).await;
    ok(&json!({ "refunded": true }))
}

fn percentage(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 * 10_000.0 / whole as f64).round() / 100.0
}

pub(super) fn stats(state: &State, query: &Query) -> Answer {
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
