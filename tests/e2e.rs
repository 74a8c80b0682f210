//! End-to-end: the crate's `Client` against the sandbox over real HTTP on loopback.
//!
//! Every one of the 22 operations goes through the whole stack (token, headers, limiter,
//! retries, decoding) and its effect is checked in the sandbox's state.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};
use futures::StreamExt;
use kiwify::generated::types;
use kiwify::model::{AffiliateStatus, Cents, PaymentMethod, SaleStatus, Secret};
use kiwify::paginate::{AffiliateFilter, ParticipantFilter, WebhookFilter, timestamp};
use kiwify::prelude::*;
use kiwify::rate::RateLimit;
use kiwify::retry::RetryPolicy;
use kiwify::sandbox::{NewSale, Sandbox, SandboxConfig};
use kiwify::webhook::{Trigger, Verifier};
use kiwify::{Client, Credentials, SalesQuery, SalesRange};

/// The README's run command, included so its journey can be run with a receiver of choice.
#[path = "../examples/quickstart.rs"]
#[allow(dead_code)] // its `main` and the real-API path are not run from here
mod quickstart;

fn client_for(sandbox: &Sandbox) -> kiwify::ClientBuilder {
    let login = sandbox.credentials();
    Client::builder()
        .credentials(Credentials::new(
            login.client_id,
            login.client_secret,
            login.account_id,
        ))
        .base_url(sandbox.base_url())
        .rate_limit(RateLimit::disabled())
        .retry_policy(RetryPolicy::default().with_base_delay(Duration::from_millis(5)))
}

async fn started(config: SandboxConfig) -> (Sandbox, Client) {
    let sandbox = Sandbox::start_with(SandboxConfig {
        rate_limit: None,
        ..config
    })
    .await
    .unwrap();
    let client = client_for(&sandbox).build().unwrap();
    (sandbox, client)
}

async fn all<T>(mut pages: kiwify::paginate::Pages<T>) -> Vec<T> {
    let mut items = Vec::new();
    while let Some(item) = pages.next().await {
        items.push(item.unwrap());
    }
    items
}

fn year_before(anchor: DateTime<Utc>) -> SalesRange {
    SalesRange::new(anchor - Span::days(365), anchor).unwrap()
}

#[tokio::test]
async fn a_year_export_equals_the_sandbox_sales_and_matches_get_sale() {
    let config = SandboxConfig::default();
    let anchor = config.anchor;
    let (sandbox, client) = started(config).await;

    let sales = all(client.sales(SalesQuery::new(year_before(anchor)))).await;
    let ids: HashSet<&str> = sales.iter().map(|sale| sale.id.as_str()).collect();
    assert_eq!(sales.len(), sandbox.sales_count());
    assert_eq!(ids.len(), sales.len(), "each sale once");

    let first = &sales[0];
    let full = client
        .get_sale()
        .id(&first.id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(full.id, first.id);
    assert_eq!(Some(full.clone()), sandbox.sale(&first.id));
    assert!(full.payment.is_some(), "get_sale returns the full sale");

    let paid_pix = all(client.sales(
        SalesQuery::new(year_before(anchor))
            .status(SaleStatus::Paid)
            .payment_method(PaymentMethod::Pix),
    ))
    .await;
    assert!(!paid_pix.is_empty());
    assert!(paid_pix.iter().all(|sale| {
        sale.status == Some(SaleStatus::Paid) && sale.payment_method == Some(PaymentMethod::Pix)
    }));
}

#[tokio::test]
async fn account_products_stats_balance_and_participants_read_through_the_client() {
    let config = SandboxConfig::default();
    let anchor = config.anchor;
    let (sandbox, client) = started(config).await;

    let account = client
        .get_account_details()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(account.id, sandbox.credentials().account_id);
    let entity = account
        .legal_entities
        .first()
        .expect("a legal entity")
        .id
        .clone();

    let products = all(client.products()).await;
    assert_eq!(products.len(), 5);
    let product = client
        .get_product()
        .id(&products[0].id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(product.id, products[0].id);

    let stats = client
        .get_stats()
        .start_date(timestamp(anchor - Span::days(90)))
        .end_date(timestamp(anchor))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(stats.total_sales.unwrap_or_default() > 0);

    let balance = client.get_balance().send().await.unwrap().into_inner();
    assert_eq!(Some(balance.clone()), Some(sandbox.balance()));
    let by_entity = client
        .get_legal_entity_balance()
        .legal_entity_id(&entity)
        .send()
        .await
        .unwrap();
    assert_eq!(by_entity.into_inner(), balance);

    // One product is an event: its participants page through; the others answer 404.
    let mut participants = Vec::new();
    let mut not_events = 0;
    let mut event_id = None;
    for product in &products {
        let mut stream = client.event_participants(&product.id, ParticipantFilter::default());
        while let Some(participant) = stream.next().await {
            match participant {
                Ok(participant) => {
                    participants.push(participant);
                    event_id = Some(product.id.clone());
                }
                Err(error) if error.is_not_found() => not_events += 1,
                Err(error) => panic!("{error}"),
            }
        }
    }
    assert!(
        participants.len() > 20,
        "the event's participants, over several pages of 20 or more"
    );
    assert_eq!(not_events, products.len() - 1);

    // The stream's filter reaches the API: only those who checked in.
    let checked_in = ParticipantFilter {
        checked_in: Some(true),
        ..ParticipantFilter::default()
    };
    let event_id = event_id.expect("an event product");
    let arrived = all(client.event_participants(&event_id, checked_in)).await;
    let expected = participants
        .iter()
        .filter(|p| p.checkin_at.is_some())
        .count();
    assert!(expected > 0 && expected < participants.len());
    assert_eq!(arrived.len(), expected);
    assert!(
        arrived
            .iter()
            .all(|participant| participant.checkin_at.is_some())
    );
}

#[tokio::test]
async fn a_refund_changes_the_sale_and_a_second_one_is_refused_without_retry() {
    let config = SandboxConfig::default();
    let anchor = config.anchor;
    let (sandbox, client) = started(config).await;
    let card_sale = all(client.sales(
        SalesQuery::new(year_before(anchor))
            .status(SaleStatus::Paid)
            .payment_method(PaymentMethod::CreditCard),
    ))
    .await
    .remove(0);

    let answer = client
        .refund_sale()
        .id(&card_sale.id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.refunded.map(bool::from), Some(true));
    assert_eq!(
        sandbox.sale(&card_sale.id).unwrap().status,
        Some(SaleStatus::Refunded)
    );

    let requests_before = sandbox.requests();
    let error = kiwify::Error::from(
        client
            .refund_sale()
            .id(&card_sale.id)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(error.status().map(|status| status.as_u16()), Some(400));
    assert!(error.api_message().is_some(), "{error}");
    assert_eq!(
        sandbox.requests() - requests_before,
        1,
        "a refused refund is not sent again"
    );
}

#[tokio::test]
async fn a_pix_refund_sends_the_pix_key() {
    let (sandbox, client) = started(SandboxConfig::default()).await;
    let sale = sandbox
        .create_sale(NewSale {
            payment_method: PaymentMethod::Pix,
            status: SaleStatus::Paid,
            ..NewSale::default()
        })
        .await
        .unwrap();

    let without_key =
        kiwify::Error::from(client.refund_sale().id(&sale.id).send().await.unwrap_err());
    assert_eq!(
        without_key.status().map(|status| status.as_u16()),
        Some(400)
    );

    client
        .refund_sale()
        .id(&sale.id)
        .body(types::RefundRequest {
            pix_key: Some("99999999999".into()),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(
        sandbox.sale(&sale.id).unwrap().status,
        Some(SaleStatus::Refunded)
    );
}

#[tokio::test]
async fn a_payout_lowers_the_available_balance_and_an_overdraft_is_refused() {
    let (sandbox, client) = started(SandboxConfig::default()).await;
    let before = sandbox.balance().available.map(i64::from).unwrap();

    let created = client
        .create_payout()
        .body(types::PayoutRequest {
            amount: Cents(5_000),
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        sandbox.balance().available.map(i64::from),
        Some(before - 5_000)
    );
    let payout = client
        .get_payout()
        .id(&created.id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(payout.amount, Some(Cents(5_000)));
    assert!(
        all(client.payouts(None))
            .await
            .iter()
            .any(|payout| payout.id == created.id)
    );

    let overdraft = client
        .create_payout()
        .body(types::PayoutRequest {
            amount: Cents(before * 10),
        })
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        kiwify::Error::from(overdraft)
            .status()
            .map(|status| status.as_u16()),
        Some(400)
    );
    assert_eq!(
        sandbox.balance().available.map(i64::from),
        Some(before - 5_000)
    );
}

#[tokio::test]
async fn affiliates_are_listed_read_and_updated() {
    let (_sandbox, client) = started(SandboxConfig::default()).await;
    let affiliates = all(client.affiliates(AffiliateFilter::default())).await;
    assert!(!affiliates.is_empty());
    let id = affiliates[0].affiliate_id.clone();

    let updated = client
        .update_affiliate()
        .id(&id)
        .body(types::AffiliateRequest {
            commission: Some(Cents(1234)),
            status: Some(AffiliateStatus::Blocked),
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.commission, Some(Cents(1234)));
    let read = client
        .get_affiliate()
        .id(&id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.status, Some(AffiliateStatus::Blocked));
}

#[tokio::test]
async fn webhooks_are_created_updated_deleted_and_deliver_verified_events() {
    let (sandbox, client) = started(SandboxConfig::default()).await;
    let token = "e2e-webhook-token-0123456789abcdef";

    let created = client
        .create_webhook()
        .body(types::WebhookRequest {
            name: "e2e".into(),
            url: "http://127.0.0.1:9/unreachable".into(),
            products: "all".into(),
            triggers: vec![Trigger::CompraAprovada],
            token: Some(Secret::new(token)),
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.token.as_ref().map(Secret::expose), Some(token));
    assert!(
        !format!("{created:?}").contains(token),
        "Debug hides the token"
    );

    let updated = client
        .update_webhook()
        .id(&created.id)
        .body(types::WebhookRequest {
            name: "e2e renamed".into(),
            url: "http://127.0.0.1:9/unreachable".into(),
            products: "all".into(),
            triggers: vec![Trigger::CompraAprovada, Trigger::CompraReembolsada],
            token: None,
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.name.as_deref(), Some("e2e renamed"));
    assert_eq!(
        all(client.webhooks(WebhookFilter::default())).await.len(),
        1
    );

    // A sale approved now is delivered (the receiver is unreachable, the attempt is recorded)
    // with a signature the crate's verifier accepts on the exact bytes.
    sandbox.create_sale(NewSale::default()).await.unwrap();
    let delivery = sandbox
        .deliveries()
        .pop()
        .expect("a delivery was attempted");
    let verified = Verifier::new(token)
        .unwrap()
        .receive(&delivery.url, delivery.body.as_bytes())
        .unwrap();
    assert_eq!(
        verified
            .event
            .event_type()
            .map(|event| event.as_str().to_owned()),
        Some("order_approved".to_owned())
    );

    client
        .delete_webhook()
        .id(&created.id)
        .send()
        .await
        .unwrap();
    let error = kiwify::Error::from(
        client
            .get_webhook()
            .id(&created.id)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(error.is_not_found());
    let error = kiwify::Error::from(
        client
            .delete_webhook()
            .id(&created.id)
            .send()
            .await
            .unwrap_err(),
    );
    assert!(error.is_not_found());
}

#[tokio::test]
async fn a_token_rejected_again_after_renewal_is_an_error_not_a_loop() {
    // Tokens that expire at once: every call finds its token stale or gets it rejected.
    let (sandbox, _) = started(SandboxConfig {
        token_lifetime: Duration::ZERO,
        ..SandboxConfig::default()
    })
    .await;
    let client = client_for(&sandbox)
        .token_margin(Duration::ZERO)
        .build()
        .unwrap();

    let error = kiwify::Error::from(client.get_balance().send().await.unwrap_err());
    assert!(error.is_authentication(), "{error}");
    assert_eq!(
        sandbox.token_requests(),
        2,
        "one renewal after the rejection, never a loop"
    );
}

#[tokio::test]
async fn a_token_that_expires_mid_session_is_renewed_once() {
    let (sandbox, client) = started(SandboxConfig::default()).await;
    client.get_balance().send().await.unwrap();

    // The client still holds the token as valid; the sandbox no longer accepts it.
    sandbox.expire_tokens();
    client.get_balance().send().await.unwrap();
    assert_eq!(sandbox.token_requests(), 2, "one renewal");

    // The same a full lifetime later, on the sandbox's clock.
    sandbox.advance_clock(Duration::from_secs(86_400));
    client.get_balance().send().await.unwrap();
    assert_eq!(sandbox.token_requests(), 3, "one more renewal");
}

#[tokio::test]
async fn bad_credentials_are_an_authentication_error_after_one_token_request() {
    let (sandbox, _) = started(SandboxConfig::default()).await;
    let client = Client::builder()
        .credentials(Credentials::new(
            "sandbox-client",
            "wrong-secret",
            sandbox.credentials().account_id,
        ))
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let error = kiwify::Error::from(client.get_balance().send().await.unwrap_err());
    assert!(error.is_authentication());
    assert!(error.to_string().contains("Invalid client"), "{error}");
    assert_eq!(sandbox.token_requests(), 1);
    assert_eq!(sandbox.requests(), 0);
}

#[tokio::test]
async fn the_sandbox_rate_limit_is_retried_by_the_client() {
    // Five requests a minute: of eight at once, three are refused, whatever the machine's speed.
    let config = SandboxConfig {
        rate_limit: Some((5, Duration::from_secs(60))),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start_with(config).await.unwrap();
    let client = client_for(&sandbox)
        .retry_policy(
            RetryPolicy::default()
                .with_base_delay(Duration::from_millis(200))
                .with_max_attempts(10),
        )
        .build()
        .unwrap();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get_balance().send().await.map(|_| ()) })
        })
        .collect();

    // Once the three are refused, the test ends the sandbox's window instead of waiting a
    // minute; the client's retries then get through.
    let refused = async {
        while sandbox.rate_limited() < 3 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), refused)
        .await
        .expect("three of eight requests refused");
    sandbox.reset_rate_limit();
    for call in calls {
        call.await.unwrap().map_err(kiwify::Error::from).unwrap();
    }
    assert!(sandbox.requests() >= 11, "8 calls and at least 3 retries");
}

#[tokio::test]
async fn a_limiter_under_the_sandbox_limit_is_never_refused() {
    // The sandbox allows 5 requests a second; a limiter of 4 a second (no burst) spaces six
    // calls over 1.25 s. A slow machine only spaces them further.
    let config = SandboxConfig {
        rate_limit: Some((5, Duration::from_secs(1))),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start_with(config).await.unwrap();
    let limited = client_for(&sandbox)
        .rate_limit(RateLimit::per_second(4).with_burst(1))
        .build()
        .unwrap();
    let calls = (0..6).map(|_| limited.get_balance().send());
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(sandbox.requests(), 6);
    assert_eq!(sandbox.rate_limited(), 0, "no 429 under the limiter");
}

#[tokio::test]
async fn the_quickstart_journey_succeeds_with_a_verified_delivery() {
    let receiver = Verifier::new(quickstart::WEBHOOK_TOKEN).unwrap();
    let journey = quickstart::sandbox_journey(receiver).await;
    assert!(
        journey.is_ok(),
        "{:?}",
        journey.err().map(|error| error.to_string())
    );
}

/// A receiver holding another token rejects the genuine delivery; the quickstart must fail
/// (and so exit non-zero), not print "REJECTED" and succeed.
#[tokio::test]
async fn the_quickstart_journey_fails_when_the_delivery_is_rejected() {
    let receiver = Verifier::new("not-the-registered-token").unwrap();
    let error = quickstart::sandbox_journey(receiver)
        .await
        .expect_err("a rejected delivery must fail the journey")
        .to_string();
    assert!(error.contains("rejected"), "{error}");
    assert!(error.contains("does not match"), "{error}");
}
