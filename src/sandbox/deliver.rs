//! Signed webhook deliveries in the flat shape of facts §7.3.
//!
//! A delivery is planned under the state lock (which webhooks, which body, which signature),
//! then sent with the lock released, then recorded.

use std::io;
use std::time::Duration;

use chrono::{DateTime, Months, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::model::{PaymentMethod, SaleStatus};
use crate::paginate::timestamp as iso;
use crate::webhook::de::BRASILIA;
use crate::webhook::{EventType, Trigger};

use super::Delivery;
use super::state::{SaleRecord, State};

/// Something that happened to a sale and may fire webhooks.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub sale_id: String,
    pub trigger: Trigger,
}

/// A delivery ready to send.
pub(crate) struct Planned {
    webhook_id: String,
    url: String,
    trigger: Trigger,
    event_type: EventType,
    body: String,
    signature: String,
}

/// The client deliveries are sent with: no proxy, no redirects (Kiwify follows none), a
/// timeout. With the `tls-ring` feature it carries its own ring-based TLS configuration with
/// no trusted roots, so building it needs no process-wide crypto provider; deliveries to
/// `https` URLs then fail and are recorded as failed.
pub(crate) fn http_client(timeout: Duration) -> io::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent("axios/1.8.4");

    #[cfg(feature = "tls-ring")]
    let builder = {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        builder.tls_backend_preconfigured(tls)
    };

    builder.build().map_err(io::Error::other)
}

/// The deliveries `event` causes: one per webhook whose triggers include it and whose
/// `products` is `"all"` or the sale's product.
pub(crate) fn plan(state: &State, event: &Event) -> Vec<Planned> {
    let Some(record) = state.sale(&event.sale_id) else {
        return Vec::new();
    };
    let product_id = record.product_id();
    let targets: Vec<_> = state
        .webhooks
        .iter()
        .filter(|webhook| webhook.triggers.contains(&event.trigger))
        .filter(|webhook| {
            matches!(webhook.products.as_deref(), Some("all"))
                || webhook.products.as_deref() == Some(product_id)
        })
        .collect();
    if targets.is_empty() {
        return Vec::new();
    }

    // Every trigger the sandbox fires is an order event (facts §7.2); the cart has none.
    let Some(event_type) = event.trigger.event_type() else {
        tracing::warn!(trigger = %event.trigger, "no order event type for this trigger");
        return Vec::new();
    };
    let body = match serde_json::to_string(&payload(state, record, &event_type)) {
        Ok(body) => body,
        Err(error) => {
            tracing::warn!(%error, "could not serialize a webhook payload");
            return Vec::new();
        }
    };

    targets
        .into_iter()
        .map(|webhook| {
            // Kiwify signs with an empty key when a webhook has no token; so does the sandbox.
            let token = webhook.token.as_ref().map_or("", |token| token.expose());
            let signer = crate::webhook::Signer::new(token.to_owned());
            let signature = signer.sign(body.as_bytes());
            let url = signer.delivery_url(webhook.url.as_deref().unwrap_or(""), body.as_bytes());
            Planned {
                webhook_id: webhook.id.clone(),
                url,
                trigger: event.trigger.clone(),
                event_type: event_type.clone(),
                body: body.clone(),
                signature,
            }
        })
        .collect()
}

/// Posts one delivery and says how it went.
pub(crate) async fn send(http: &reqwest::Client, planned: Planned) -> Delivery {
    let outcome = http
        .post(&planned.url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(planned.body.clone())
        .send()
        .await;
    let (status, error) = match outcome {
        Ok(response) => (Some(response.status().as_u16()), None),
        Err(error) => (None, Some(error.to_string())),
    };
    tracing::debug!(webhook_id = %planned.webhook_id, event_type = %planned.event_type, ?status, "sandbox webhook delivery");
    Delivery {
        webhook_id: planned.webhook_id,
        url: planned.url,
        trigger: planned.trigger.to_string(),
        event_type: planned.event_type.to_string(),
        body: planned.body,
        signature: planned.signature,
        status,
        error,
    }
}

/// Brasília local time, `YYYY-MM-DD HH:MM`, as webhook payloads write it (UTC−3, no DST).
fn brasilia(time: DateTime<Utc>) -> String {
    time.with_timezone(&BRASILIA)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The flat payload, fields in the order of the real captures.
#[derive(Serialize)]
struct Payload {
    order_id: String,
    order_ref: String,
    order_status: String,
    product_type: String,
    payment_method: String,
    store_id: String,
    payment_merchant_id: String,
    installments: Option<i64>,
    card_type: String,
    card_last4digits: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_rejection_reason: Option<String>,
    #[serde(rename = "boleto_URL", skip_serializing_if = "Option::is_none")]
    boleto_url: Option<String>,
    boleto_barcode: Option<String>,
    boleto_expiry_date: Option<String>,
    pix_code: Option<String>,
    pix_expiration: Option<String>,
    sale_type: String,
    created_at: String,
    updated_at: String,
    approved_date: Option<String>,
    refunded_at: Option<String>,
    webhook_event_type: String,
    #[serde(rename = "Product")]
    product: ProductPart,
    #[serde(rename = "Customer")]
    customer: CustomerPart,
    #[serde(rename = "Commissions")]
    commissions: Commissions,
    #[serde(rename = "TrackingParameters")]
    tracking: TrackingPart,
    #[serde(rename = "Subscription", skip_serializing_if = "Option::is_none")]
    subscription: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription_id: Option<String>,
    checkout_link: String,
}

#[derive(Serialize)]
struct ProductPart {
    product_id: String,
    product_name: String,
}

#[derive(Serialize)]
struct CustomerPart {
    full_name: String,
    first_name: String,
    email: String,
    mobile: String,
    #[serde(rename = "CPF")]
    cpf: String,
    ip: String,
    country: &'static str,
    instagram: String,
    street: String,
    number: String,
    complement: String,
    neighborhood: String,
    city: String,
    state: String,
    zipcode: String,
}

#[derive(Serialize)]
struct Commissions {
    charge_amount: i64,
    product_base_price: i64,
    product_base_price_currency: &'static str,
    kiwify_fee: i64,
    kiwify_fee_currency: &'static str,
    settlement_amount: i64,
    settlement_amount_currency: &'static str,
    sale_tax_rate: Value,
    sale_tax_amount: i64,
    commissioned_stores: Vec<CommissionedStore>,
    currency: &'static str,
    my_commission: i64,
    funds_status: Option<&'static str>,
    estimated_deposit_date: Option<String>,
    deposit_date: Option<String>,
}

#[derive(Serialize)]
struct CommissionedStore {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    affiliate_id: Option<String>,
    custom_name: String,
    email: String,
    value: String,
}

#[derive(Serialize)]
struct TrackingPart {
    src: String,
    sck: String,
    utm_source: String,
    utm_medium: String,
    utm_campaign: String,
    utm_content: String,
    utm_term: String,
    s1: String,
    s2: String,
    s3: String,
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn payload(state: &State, record: &SaleRecord, event_type: &EventType) -> Payload {
    let sale = &record.sale;
    let product = state.product(record.product_id());
    let customer = sale.customer.clone().unwrap_or_default();
    let address = customer.address.clone().unwrap_or_default();
    let payment = sale.payment.clone().unwrap_or_default();
    let tracking = sale.tracking.clone().unwrap_or_default();
    let cents = |amount: Option<crate::model::Cents>| amount.map_or(0, |cents| cents.0);
    let created_at = record.created_at();
    let method = sale.payment_method.clone();
    let waiting = sale.status == Some(SaleStatus::WaitingPayment);

    let affiliate = record
        .affiliate_id
        .as_deref()
        .and_then(|id| state.affiliates.iter().find(|a| a.affiliate_id == id));
    let mut stores = vec![CommissionedStore {
        id: state.legal_entity_id(),
        kind: "producer",
        affiliate_id: None,
        custom_name: text(&state.account.company_name),
        email: "produtor@example.com".to_owned(),
        value: record.net().to_string(),
    }];
    if let Some(affiliate) = affiliate {
        let commission = sale.affiliate_commission.as_ref().and_then(|c| c.amount);
        stores.push(CommissionedStore {
            id: affiliate.affiliate_id.clone(),
            kind: "affiliate",
            affiliate_id: Some(affiliate.affiliate_id.clone()),
            custom_name: text(&affiliate.name),
            email: text(&affiliate.email),
            value: cents(commission).to_string(),
        });
    }
    let funded = matches!(sale.status, Some(SaleStatus::Paid | SaleStatus::Approved));

    let full_name = text(&customer.name);
    Payload {
        order_id: sale.id.clone(),
        order_ref: text(&sale.reference),
        order_status: record.status().to_owned(),
        product_type: product.and_then(|p| p.type_.clone()).unwrap_or_default(),
        payment_method: record.method().to_owned(),
        store_id: state.account.id.clone(),
        payment_merchant_id: record.merchant_id.clone(),
        installments: sale.installments.map(|i| i.0),
        card_type: text(&sale.card_type),
        card_last4digits: text(&sale.card_last_digits),
        card_rejection_reason: sale.card_rejection_reason.clone(),
        boleto_url: sale.boleto_url.clone(),
        boleto_barcode: (method == Some(PaymentMethod::Boleto)).then(|| {
            format!(
                "23793{}",
                record.merchant_id.repeat(2).get(..42).unwrap_or("")
            )
        }),
        boleto_expiry_date: (method == Some(PaymentMethod::Boleto)).then(|| {
            (created_at.with_timezone(&BRASILIA) + chrono::Duration::days(3))
                .format("%d/%m/%Y")
                .to_string()
        }),
        pix_code: (method == Some(PaymentMethod::Pix) && waiting).then(|| {
            format!(
                "00020126580014br.gov.bcb.pix0136{}5204000053039865802BR",
                sale.id
            )
        }),
        pix_expiration: (method == Some(PaymentMethod::Pix) && waiting).then(|| {
            (created_at.with_timezone(&BRASILIA) + chrono::Duration::minutes(30))
                .format("%d/%m/%Y %H:%M")
                .to_string()
        }),
        sale_type: text(&sale.sale_type),
        created_at: brasilia(created_at),
        updated_at: brasilia(record.updated_at()),
        approved_date: sale.approved_date.map(brasilia),
        refunded_at: sale.refunded_at.map(brasilia),
        webhook_event_type: event_type.to_string(),
        product: ProductPart {
            product_id: record.product_id().to_owned(),
            product_name: sale
                .product
                .as_ref()
                .map(|p| text(&p.name))
                .unwrap_or_default(),
        },
        customer: CustomerPart {
            first_name: full_name.split(' ').next().unwrap_or("").to_owned(),
            full_name,
            email: text(&customer.email),
            mobile: text(&customer.mobile),
            cpf: text(&customer.cpf),
            ip: record.ip.clone(),
            country: "br",
            instagram: text(&customer.instagram),
            street: text(&address.street),
            number: text(&address.number),
            complement: text(&address.complement),
            neighborhood: text(&address.neighborhood),
            city: text(&address.city),
            state: text(&address.state),
            zipcode: text(&address.zipcode),
        },
        commissions: Commissions {
            charge_amount: cents(payment.charge_amount),
            product_base_price: cents(payment.product_base_price),
            product_base_price_currency: "BRL",
            kiwify_fee: cents(payment.fee),
            kiwify_fee_currency: "BRL",
            settlement_amount: cents(payment.settlement_amount),
            settlement_amount_currency: "BRL",
            sale_tax_rate: {
                let rate = payment.sale_tax_rate.unwrap_or(0.0);
                super::routes::whole_float(Some(rate)).map_or_else(|| json!(rate), Value::from)
            },
            sale_tax_amount: cents(payment.sale_tax_amount),
            commissioned_stores: stores,
            currency: "BRL",
            my_commission: record.net(),
            funds_status: funded.then_some("waiting"),
            estimated_deposit_date: sale
                .approved_date
                .filter(|_| funded)
                .map(|approved| iso(approved + chrono::Duration::days(30))),
            deposit_date: None,
        },
        tracking: TrackingPart {
            src: text(&tracking.src),
            sck: text(&tracking.sck),
            utm_source: text(&tracking.utm_source),
            utm_medium: text(&tracking.utm_medium),
            utm_campaign: text(&tracking.utm_campaign),
            utm_content: text(&tracking.utm_content),
            utm_term: text(&tracking.utm_term),
            s1: text(&tracking.s1),
            s2: text(&tracking.s2),
            s3: text(&tracking.s3),
        },
        subscription: subscription(state, record),
        subscription_id: record.subscription_id.clone(),
        checkout_link: record.checkout_link.clone(),
    }
}

/// The `Subscription` object of a subscription sale: its plan and the charges so far.
fn subscription(state: &State, record: &SaleRecord) -> Option<Value> {
    let subscription_id = record.subscription_id.as_deref()?;
    let product = record.sale.product.as_ref()?;
    let plan_id = product.plan_id.clone().unwrap_or_default();
    let plan = state.product(record.product_id()).and_then(|p| {
        p.subscriptions
            .iter()
            .find(|plan| plan.get("id").and_then(Value::as_str) == Some(plan_id.as_str()))
    });
    let frequency = plan
        .and_then(|plan| plan.get("frequency"))
        .and_then(Value::as_str)
        .unwrap_or("monthly");
    let months = if frequency == "yearly" { 12 } else { 1 };

    let charges: Vec<&SaleRecord> = state
        .sales
        .iter()
        .filter(|s| s.subscription_id.as_deref() == Some(subscription_id))
        .filter(|s| s.sale.approved_date.is_some())
        .filter(|s| s.created_at() <= record.created_at())
        .collect();
    let start = state
        .sales
        .iter()
        .filter(|s| s.subscription_id.as_deref() == Some(subscription_id))
        .map(SaleRecord::created_at)
        .min()
        .unwrap_or_else(|| record.created_at());
    let next_payment = record.created_at() + Months::new(months);
    let active = !matches!(
        record.sale.status,
        Some(SaleStatus::Refunded | SaleStatus::Chargedback)
    );

    let completed: Vec<Value> = charges
        .iter()
        .map(|charge| {
            json!({
                "order_id": charge.sale.id,
                "amount": charge.sale.payment.as_ref().and_then(|p| p.charge_amount).map_or(0, |c| c.0),
                "status": charge.status(),
                "installments": charge.sale.installments.map(|i| i.0),
                "card_type": text(&charge.sale.card_type),
                "card_last_digits": text(&charge.sale.card_last_digits),
                "card_first_digits": if charge.method() == "credit_card" { "555566" } else { "" },
                "created_at": iso(charge.created_at()),
            })
        })
        .collect();

    Some(json!({
        "id": subscription_id,
        "start_date": iso(start),
        "next_payment": iso(next_payment),
        "status": if active { "active" } else { "canceled" },
        "customer_access": {
            "has_access": active,
            "active_period": active,
            "access_until": iso(next_payment),
        },
        "plan": {
            "id": plan_id,
            "name": product.plan_name.clone().unwrap_or_default(),
            "frequency": frequency,
            "qty_charges": completed.len(),
        },
        "charges": {
            "completed": completed,
            "future": [{"charge_date": iso(next_payment)}],
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brasilia_time_is_three_hours_behind_utc() {
        let utc = DateTime::parse_from_rfc3339("2026-03-10T02:30:59.999Z").map(|t| t.to_utc());
        assert_eq!(utc.map(brasilia).ok().as_deref(), Some("2026-03-09 23:30"));
    }
}
