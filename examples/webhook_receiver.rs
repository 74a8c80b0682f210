//! A Kiwify webhook receiver: verifies each delivery, answers 200 at once, and hands new
//! events to a background worker.
//!
//! ```sh
//! KIWIFY_WEBHOOK_TOKEN=your-webhook-token \
//!     cargo run --example webhook_receiver --features axum
//! ```
//!
//! Optional: `KIWIFY_WEBHOOK_PREVIOUS_TOKEN` (accepted too, while rotating tokens) and
//! `BIND_ADDRESS` (default `127.0.0.1:3000`). Register `https://your-host/webhooks/kiwify` as
//! the webhook URL; Kiwify appends `?signature=…`.
//!
//! Try it with a delivery signed by hand:
//!
//! ```sh
//! body='{"order_id":"o-1","webhook_event_type":"order_approved"}'
//! sig=$(printf %s "$body" | openssl dgst -sha1 -hmac "$KIWIFY_WEBHOOK_TOKEN" | cut -d' ' -f2)
//! curl -i -H 'Content-Type: application/json' -d "$body" \
//!     "http://127.0.0.1:3000/webhooks/kiwify?signature=$sig"
//! ```

use std::collections::HashSet;
use std::error::Error;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::post;
use kiwify::webhook::axum::VerifiedWebhook;
use kiwify::webhook::{Delivery, Event, IdempotencyKey, Verifier};
use tokio::sync::mpsc;

#[derive(Clone)]
struct AppState {
    verifier: Verifier,
    /// Keys already queued. Kiwify retries, so the same delivery can come back; in production
    /// this is a unique index in the database the worker writes to.
    seen: Arc<Mutex<HashSet<IdempotencyKey>>>,
    queue: mpsc::Sender<Delivery>,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

async fn kiwify_webhook(
    State(state): State<AppState>,
    VerifiedWebhook(delivery): VerifiedWebhook,
) -> StatusCode {
    let is_new = match state.seen.lock() {
        Ok(mut seen) => seen.insert(delivery.idempotency_key()),
        Err(poisoned) => poisoned.into_inner().insert(delivery.idempotency_key()),
    };
    if !is_new {
        // Already have it: say so with a 2xx, or Kiwify keeps retrying.
        return StatusCode::OK;
    }

    match state.queue.try_send(delivery) {
        Ok(()) => StatusCode::OK,
        // A full queue: let Kiwify retry later rather than lose the event.
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The slow part, off the request path. Logs no personal data (names, e-mails, CPF).
async fn work(mut queue: mpsc::Receiver<Delivery>) {
    while let Some(delivery) = queue.recv().await {
        match &delivery.event {
            Event::Order(order) => {
                // Events can arrive out of order: compare `updated_at` with what you stored
                // before letting, say, a late `order_approved` overwrite an `order_refunded`.
                println!(
                    "order {} {} status={} updated_at={}",
                    order.order_id,
                    order.webhook_event_type,
                    order.order_status.as_deref().unwrap_or("-"),
                    order
                        .updated_at
                        .map(|at| at.to_rfc3339())
                        .unwrap_or_default(),
                );
            }
            Event::AbandonedCart(cart) => {
                println!(
                    "abandoned cart {} for product {:?}",
                    cart.id, cart.product_id
                );
            }
            other => println!("event of a kind this example does not handle: {other:?}"),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut tokens = vec![
        std::env::var("KIWIFY_WEBHOOK_TOKEN")
            .map_err(|_| "set KIWIFY_WEBHOOK_TOKEN to the webhook's token")?,
    ];
    tokens.extend(std::env::var("KIWIFY_WEBHOOK_PREVIOUS_TOKEN").ok());
    let verifier = Verifier::with_tokens(tokens)?;

    let (queue, pending) = mpsc::channel(1024);
    tokio::spawn(work(pending));

    let state = AppState {
        verifier,
        seen: Arc::default(),
        queue,
    };
    let app = Router::new()
        .route("/webhooks/kiwify", post(kiwify_webhook))
        .with_state(state);

    let address = std::env::var("BIND_ADDRESS").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("listening on http://{address}/webhooks/kiwify");
    axum::serve(listener, app).await?;
    Ok(())
}
