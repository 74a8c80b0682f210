//! Typed events: the payload's quirks, each shape, and the trigger names.

use chrono::{DateTime, FixedOffset, NaiveDate};
use kiwify::webhook::{Event, EventType, IdempotencyKey, Order, Signer, Trigger, Verifier};

const ORDER_APPROVED: &[u8] = include_bytes!("fixtures/webhooks/order_approved.json");
const PIX_CREATED: &[u8] = include_bytes!("fixtures/webhooks/pix_created.json");
const SUBSCRIPTION_RENEWED: &[u8] = include_bytes!("fixtures/webhooks/subscription_renewed.json");
const ABANDONED_CART: &[u8] = include_bytes!("fixtures/webhooks/abandoned_cart.json");
const ENVELOPE: &[u8] = include_bytes!("fixtures/webhooks/envelope_order_approved.json");

fn order(body: &[u8]) -> Order {
    match Event::from_slice(body) {
        Ok(Event::Order(order)) => *order,
        other => panic!("expected an order, got {other:?}"),
    }
}

fn time(rfc3339: &str) -> Option<DateTime<FixedOffset>> {
    Some(DateTime::parse_from_rfc3339(rfc3339).expect("test timestamp"))
}

#[test]
fn order_approved_reads_every_quirk() {
    let order = order(ORDER_APPROVED);
    assert_eq!(order.order_id, "3f6b1c2e-8a4d-4e5f-9b7a-1c2d3e4f5a6b");
    assert_eq!(order.webhook_event_type, EventType::OrderApproved);
    assert_eq!(order.order_status.as_deref(), Some("paid"));
    // 20 digits: more than an i64 holds, kept exactly.
    assert_eq!(
        order.payment_merchant_id.as_deref(),
        Some("16273849501627384950")
    );
    assert_eq!(order.installments, Some(3));
    assert_eq!(order.card_last4digits.as_deref(), Some("4242"));
    assert_eq!(order.card_rejection_reason, None);
    assert_eq!(order.boleto_url, None);

    // Brasília local time, no offset in the payload: -03:00.
    assert_eq!(order.created_at, time("2026-06-08T11:53:00-03:00"));
    assert_eq!(order.approved_date, time("2026-06-08T14:54:00Z"));
    assert_eq!(
        order.approved_date.map(|at| at.offset().local_minus_utc()),
        Some(-10_800)
    );
    assert_eq!(order.refunded_at, None);

    let product = order.product.as_ref().expect("Product");
    assert_eq!(
        product.product_name.as_deref(),
        Some("Curso de Finanças Pessoais")
    );

    let customer = order.customer.as_ref().expect("Customer");
    assert_eq!(customer.cpf.as_deref(), Some("12345678909"));
    assert_eq!(customer.cnpj, None);
    assert_eq!(customer.city.as_deref(), Some("Balneário Camboriú"));
    assert_eq!(customer.complement, None, "empty string reads as absent");

    let commissions = order.commissions.as_ref().expect("Commissions");
    assert_eq!(commissions.charge_amount, Some(29_700));
    assert_eq!(commissions.my_commission, Some(17_896));
    assert_eq!(
        commissions.estimated_deposit_date,
        time("2026-06-23T03:00:00Z")
    );
    assert_eq!(commissions.deposit_date, None);
    let stores = &commissions.commissioned_stores;
    assert_eq!(stores.len(), 2);
    // `value` is a string in the payload, unlike `my_commission`.
    assert_eq!(stores[0].value, Some(17_896));
    assert_eq!(stores[1].kind.as_deref(), Some("affiliate"));
    assert_eq!(stores[1].affiliate_id.as_deref(), Some("vdTYqSK"));

    let tracking = order
        .tracking_parameters
        .as_ref()
        .expect("TrackingParameters");
    assert_eq!(tracking.utm_campaign.as_deref(), Some("lancamento_junho"));
    assert_eq!(tracking.src, None);
    assert_eq!(order.subscription, None);
}

#[test]
fn pix_created_has_empty_card_fields_and_a_numeric_merchant_id() {
    let order = order(PIX_CREATED);
    assert_eq!(order.webhook_event_type, EventType::PixCreated);
    assert_eq!(order.card_type, None);
    assert_eq!(order.card_last4digits, None);
    assert_eq!(order.installments, None);
    assert_eq!(order.payment_merchant_id.as_deref(), Some("48213977"));
    assert_eq!(order.pix_expiration, time("2026-06-09T12:23:00-03:00"));
    assert!(
        order
            .pix_code
            .as_deref()
            .is_some_and(|code| code.starts_with("000201"))
    );

    let customer = order.customer.as_ref().expect("Customer");
    assert_eq!(customer.cpf, None);
    assert_eq!(customer.cnpj.as_deref(), Some("11222333000181"));

    let commissions = order.commissions.as_ref().expect("Commissions");
    assert_eq!(commissions.settlement_amount, Some(19_700));
    assert_eq!(commissions.sale_tax_rate, Some(0.0));
    assert_eq!(commissions.funds_status, None);

    let tracking = order
        .tracking_parameters
        .as_ref()
        .expect("TrackingParameters");
    assert_eq!(tracking, &Default::default(), "all empty strings");
}

#[test]
fn subscription_renewed_reads_the_subscription() {
    let order = order(SUBSCRIPTION_RENEWED);
    assert_eq!(order.webhook_event_type, EventType::SubscriptionRenewed);
    assert_eq!(
        order.subscription_id.as_deref(),
        Some("5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9")
    );

    let subscription = order.subscription.as_ref().expect("Subscription");
    assert_eq!(
        subscription.id, None,
        "missing while subscription_id is at the root"
    );
    assert_eq!(subscription.status.as_deref(), Some("active"));
    assert_eq!(subscription.start_date, time("2026-06-08T14:53:19.679Z"));

    let access = subscription
        .customer_access
        .as_ref()
        .expect("customer_access");
    assert_eq!(access.has_access, Some(true));
    assert_eq!(access.access_until, time("2026-08-08T14:53:23.137Z"));

    let plan = subscription.plan.as_ref().expect("plan");
    assert_eq!(plan.frequency.as_deref(), Some("monthly"));
    assert_eq!(plan.qty_charges, Some(0));

    let charges = subscription.charges.as_ref().expect("charges");
    assert_eq!(charges.completed.len(), 2);
    assert_eq!(
        charges.completed[1].order_id.as_deref(),
        Some(order.order_id.as_str())
    );
    assert_eq!(
        charges.completed[1].card_last_digits.as_deref(),
        Some("1111")
    );
    assert_eq!(charges.completed[1].amount, Some(4990));
    assert_eq!(
        charges.future[0].charge_date,
        time("2026-08-08T14:53:23.137Z")
    );
}

#[test]
fn abandoned_cart_is_its_own_shape() {
    let event = Event::from_slice(ABANDONED_CART).expect("cart");
    let cart = event.abandoned_cart().expect("an abandoned cart");
    assert_eq!(cart.id, "qZ3vK8w");
    assert_eq!(cart.status.as_deref(), Some("abandoned"));
    assert_eq!(cart.cpf.as_deref(), Some("12345678909"));
    assert_eq!(cart.phone.as_deref(), Some("(48) 99123-4567"));
    assert_eq!(cart.created_at, time("2026-06-08T15:02:41.337Z"));
    assert_eq!(cart.subscription_plan, None);

    assert_eq!(event.event_type(), None);
    assert_eq!(event.trigger(), Some(Trigger::CarrinhoAbandonado));
    assert_eq!(event.order(), None);
    assert_eq!(
        event.idempotency_key(),
        IdempotencyKey::AbandonedCart {
            id: "qZ3vK8w".into()
        }
    );
}

#[test]
fn envelope_unwraps_to_the_same_order() {
    let from_envelope = Event::from_slice(ENVELOPE).expect("envelope");
    let flat = Event::from_slice(ORDER_APPROVED).expect("flat");
    assert_eq!(from_envelope, flat);
}

#[test]
fn idempotency_key_is_order_id_and_event_type() {
    let approved = Event::from_slice(ORDER_APPROVED).expect("order");
    let key = approved.idempotency_key();
    assert_eq!(
        key,
        IdempotencyKey::Order {
            order_id: "3f6b1c2e-8a4d-4e5f-9b7a-1c2d3e4f5a6b".into(),
            event_type: EventType::OrderApproved,
        }
    );
    assert_eq!(
        key.to_string(),
        "3f6b1c2e-8a4d-4e5f-9b7a-1c2d3e4f5a6b:order_approved"
    );

    // The same order under another event type is a different delivery.
    let text = std::str::from_utf8(ORDER_APPROVED).expect("UTF-8");
    let refunded = text.replace("\"order_approved\"", "\"order_refunded\"");
    let refunded = Event::from_slice(refunded.as_bytes()).expect("order");
    assert_ne!(refunded.idempotency_key(), key);
}

#[test]
fn unknown_event_type_is_kept_by_name() {
    let body = br#"{"order_id":"o-1","webhook_event_type":"order_paid"}"#;
    let event = Event::from_slice(body).expect("unknown types are not errors");
    assert_eq!(
        event.event_type(),
        Some(&EventType::Other("order_paid".into()))
    );
    assert_eq!(event.trigger(), None);
    assert_eq!(event.idempotency_key().to_string(), "o-1:order_paid");
}

#[test]
fn only_order_id_and_event_type_are_required() {
    let minimal = Event::from_slice(br#"{"order_id":"o-1","webhook_event_type":"chargeback"}"#)
        .expect("minimal order");
    let order = minimal.order().expect("order");
    assert_eq!(order.webhook_event_type, EventType::Chargeback);
    assert_eq!(order.customer, None);

    assert!(Event::from_slice(br#"{"webhook_event_type":"chargeback"}"#).is_err());
    assert!(Event::from_slice(br#"{"order_id":"o-1"}"#).is_err());
}

#[test]
fn boleto_fields_and_drifting_types() {
    let body =
        br#"{"order_id":"o-2","webhook_event_type":"billet_created","payment_method":"boleto",
        "boleto_URL":"https://example.com/boleto.pdf","boleto_barcode":"23793381286000",
        "boleto_expiry_date":"11/06/2026","installments":"2","payment_merchant_id":"",
        "created_at":"2026-06-08 09:05:41","something_new":{"nested":[1,2,3]},
        "Commissions":{"commissioned_stores":[{"value":4715},{"value":"4715"},{"value":""}],
        "my_commission":"4715","sale_tax_rate":"1.5"},
        "Subscription":{"customer_access":{"has_access":"false"}},
        "Customer":{"mobile":5548991234567,"city":["not","a","string"]}}"#;
    let order = order(body);
    assert_eq!(order.webhook_event_type, EventType::BilletCreated);
    assert_eq!(
        order.boleto_url.as_deref(),
        Some("https://example.com/boleto.pdf")
    );
    assert_eq!(
        order.boleto_expiry_date,
        NaiveDate::from_ymd_opt(2026, 6, 11)
    );
    assert_eq!(order.installments, Some(2));
    assert_eq!(order.payment_merchant_id, None);
    assert_eq!(order.created_at, time("2026-06-08T09:05:41-03:00"));

    let commissions = order.commissions.expect("Commissions");
    let values: Vec<_> = commissions
        .commissioned_stores
        .iter()
        .map(|store| store.value)
        .collect();
    assert_eq!(values, [Some(4715), Some(4715), None]);
    assert_eq!(commissions.my_commission, Some(4715));
    assert_eq!(commissions.sale_tax_rate, Some(1.5));

    let access = order
        .subscription
        .and_then(|subscription| subscription.customer_access);
    assert_eq!(access.and_then(|access| access.has_access), Some(false));

    let customer = order.customer.expect("Customer");
    assert_eq!(customer.mobile.as_deref(), Some("5548991234567"));
    assert_eq!(customer.city, None);
}

#[test]
fn unreadable_optional_values_are_absent_not_errors() {
    let body = br#"{"order_id":"o-3","webhook_event_type":"order_approved",
        "created_at":"next tuesday","installments":-1,"payment_merchant_id":1e300,
        "Commissions":{"charge_amount":"R$ 10,00","commissioned_stores":null}}"#;
    let order = order(body);
    assert_eq!(order.created_at, None);
    assert_eq!(order.installments, None);
    assert_eq!(order.payment_merchant_id, None);
    let commissions = order.commissions.expect("Commissions");
    assert_eq!(commissions.charge_amount, None);
    assert!(commissions.commissioned_stores.is_empty());
}

/// `Customer`, `Commissions`, `Subscription`, `Product` and `TrackingParameters` that arrive as
/// anything but an object read as absent: a signed delivery is never refused for them.
#[test]
fn non_object_nested_values_are_absent_not_errors() {
    let verifier = Verifier::new("odd-values-token").expect("token");
    let signer = Signer::new("odd-values-token");
    let keys = [
        "Customer",
        "Commissions",
        "Subscription",
        "Product",
        "TrackingParameters",
    ];
    let odd_values = [
        r#""""#,
        "null",
        "[]",
        r#"[{"full_name":"x"}]"#,
        r#""text""#,
        "42",
        "true",
    ];
    for key in keys {
        for value in odd_values {
            // A readable `Product` beside the odd value shows the rest of the order survives.
            let product = if key == "Product" {
                ""
            } else {
                r#","Product":{"product_name":"Curso"}"#
            };
            let body = format!(
                r#"{{"order_id":"o-5","webhook_event_type":"order_approved","order_ref":"Ab12345","{key}":{value}{product}}}"#
            );
            let url = signer.delivery_url("https://hooks.example.com/kiwify", body.as_bytes());
            let delivery = verifier
                .receive(&url, body.as_bytes())
                .unwrap_or_else(|rejection| panic!("{key}: {value}: {rejection}"));
            let order = delivery.event.order().expect("an order");
            assert_eq!(
                order.order_ref.as_deref(),
                Some("Ab12345"),
                "{key}: {value}"
            );

            let absent = match key {
                "Customer" => order.customer.is_none(),
                "Commissions" => order.commissions.is_none(),
                "Subscription" => order.subscription.is_none(),
                "Product" => order.product.is_none(),
                _ => order.tracking_parameters.is_none(),
            };
            assert!(absent, "{key}: {value} should read as absent");
            if key != "Product" {
                let product = order
                    .product
                    .as_ref()
                    .and_then(|p| p.product_name.as_deref());
                assert_eq!(product, Some("Curso"), "{key}: {value}");
            }
        }
    }

    // The same one level down, and in lists of objects.
    let body = br#"{"order_id":"o-6","webhook_event_type":"subscription_renewed",
        "Subscription":{"status":"active","customer_access":"","plan":[],"charges":"none"},
        "Commissions":{"my_commission":10,"commissioned_stores":["x",{"value":"7"},null]}}"#;
    let order = order(body);
    let subscription = order.subscription.expect("Subscription");
    assert_eq!(subscription.status.as_deref(), Some("active"));
    assert_eq!(
        (
            subscription.customer_access,
            subscription.plan,
            subscription.charges
        ),
        (None, None, None)
    );
    let commissions = order.commissions.expect("Commissions");
    assert_eq!(commissions.my_commission, Some(10));
    let values: Vec<_> = commissions
        .commissioned_stores
        .iter()
        .map(|store| store.value)
        .collect();
    assert_eq!(values, [Some(7)]);

    // The two required fields stay required.
    assert!(Event::from_slice(br#"{"order_id":"o-7","Customer":""}"#).is_err());
    assert!(
        Event::from_slice(br#"{"webhook_event_type":"order_approved","Customer":""}"#).is_err()
    );
}

#[test]
fn events_survive_a_serialize_round_trip() {
    for body in [
        ORDER_APPROVED,
        PIX_CREATED,
        SUBSCRIPTION_RENEWED,
        ABANDONED_CART,
    ] {
        let event = Event::from_slice(body).expect("fixture");
        let json = serde_json::to_vec(&event).expect("serialize");
        assert_eq!(Event::from_slice(&json).expect("re-read"), event);
    }
}

#[test]
fn triggers_use_the_portuguese_names_on_the_wire() {
    let triggers: Vec<Trigger> = serde_json::from_str(
        r#"["compra_aprovada","pix_gerado","carrinho_abandonado","novo_gatilho"]"#,
    )
    .expect("trigger list");
    assert_eq!(
        triggers,
        [
            Trigger::CompraAprovada,
            Trigger::PixGerado,
            Trigger::CarrinhoAbandonado,
            Trigger::Other("novo_gatilho".into()),
        ]
    );
    assert_eq!(
        serde_json::to_string(&triggers).expect("serialize"),
        r#"["compra_aprovada","pix_gerado","carrinho_abandonado","novo_gatilho"]"#
    );
    assert_eq!(
        "boleto_gerado".parse::<Trigger>(),
        Ok(Trigger::BoletoGerado)
    );
    assert_eq!(Trigger::CompraReembolsada.to_string(), "compra_reembolsada");
}

#[test]
fn triggers_and_event_types_map_both_ways() {
    let pairs = [
        (Trigger::CompraAprovada, EventType::OrderApproved),
        (Trigger::CompraRecusada, EventType::OrderRejected),
        (Trigger::CompraReembolsada, EventType::OrderRefunded),
        (Trigger::Chargeback, EventType::Chargeback),
        (Trigger::BoletoGerado, EventType::BilletCreated),
        (Trigger::PixGerado, EventType::PixCreated),
        (
            Trigger::SubscriptionCanceled,
            EventType::SubscriptionCanceled,
        ),
        (Trigger::SubscriptionLate, EventType::SubscriptionLate),
        (Trigger::SubscriptionRenewed, EventType::SubscriptionRenewed),
    ];
    for (trigger, event_type) in pairs {
        assert_eq!(trigger.event_type().as_ref(), Some(&event_type));
        assert_eq!(event_type.trigger().as_ref(), Some(&trigger));
    }
    assert_eq!(Trigger::CarrinhoAbandonado.event_type(), None);
    assert_eq!(EventType::Other("order_paid".into()).trigger(), None);
    assert_eq!(EventType::OrderRejected.as_str(), "order_rejected");
    assert_eq!(
        serde_json::to_string(&EventType::BilletCreated).expect("json"),
        r#""billet_created""#
    );
}
