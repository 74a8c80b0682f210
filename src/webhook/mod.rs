//! Kiwify webhooks: signature verification, typed events, and a signer for tests.
//!
//! Kiwify `POST`s each event as compact JSON to the registered URL and appends
//! `signature=<hex>` to its query string: the lower-case hex HMAC-SHA1 of the raw body, keyed
//! with the webhook's token. No header carries anything useful. An older *envelope* format,
//! `{"url", "signature", "order"}`, carries the signature in the body instead and signs only
//! the bytes of `order`.
//!
//! # Policy
//!
//! - **Bytes, never re-serialized JSON.** The HMAC is checked over the body exactly as
//!   received (or, for an envelope, the exact bytes of its `order` value), and events are
//!   decoded only from bytes the signature covers.
//! - **Constant-time comparison**, after decoding the hex. Upper-case hex is refused as such:
//!   Kiwify sends lower-case.
//! - **Several tokens** can be configured at once, for rotation. An empty token is refused
//!   when the [`Verifier`] is built: Kiwify "signs" token-less webhooks with an empty key.
//! - **Bounded input.** Bodies over [`Verifier::max_body_size`] (1 MiB by default) are refused
//!   before any hashing or parsing.
//! - **Every refusal is a typed [`Rejection`]**, with the HTTP status to answer
//!   ([`Rejection::http_status`]); nothing panics on hostile input.
//! - **Tolerant events.** Only `order_id` and `webhook_event_type` are required; an unknown
//!   event type is kept as [`EventType::Other`]; Brasília-local timestamps become
//!   `DateTime<FixedOffset>` at -03:00; drifting number/string fields are normalised; `""`
//!   reads as absent, and so does a nested object (`Customer`, `Subscription`, …) that arrives
//!   as anything but an object. See [`Order`].
//! - **Retries and duplicates.** Kiwify retries anything but a 2xx and events can arrive out of
//!   order: answer fast and deduplicate on [`Delivery::idempotency_key`].
//!
//! # Verifying a delivery
//!
//! [`Verifier::receive`] takes the query string (or the full request URL) and the raw body,
//! and returns the decoded [`Delivery`] or a [`Rejection`]. [`Signer`] produces what Kiwify
//! would send, for tests:
//!
//! ```
//! use kiwify::webhook::{EventType, Rejection, Signer, Verifier};
//!
//! let body = br#"{"order_id":"3f6b1c2e","webhook_event_type":"order_approved","created_at":"2026-06-08 11:53"}"#;
//!
//! // What Kiwify sends: the registered URL with `signature` appended.
//! let url = Signer::new("webhook-token").delivery_url("https://example.com/hook?id=7", body);
//!
//! let verifier = Verifier::new("webhook-token")?;
//! let delivery = verifier.receive(&url, body)?;
//! let order = delivery.event.order().expect("an order event");
//! assert_eq!(order.webhook_event_type, EventType::OrderApproved);
//! assert_eq!(order.created_at.unwrap().to_rfc3339(), "2026-06-08T11:53:00-03:00");
//! assert_eq!(delivery.idempotency_key().to_string(), "3f6b1c2e:order_approved");
//!
//! // A single changed byte, and the delivery is refused.
//! let tampered = br#"{"order_id":"3f6b1c2f","webhook_event_type":"order_approved","created_at":"2026-06-08 11:53"}"#;
//! assert_eq!(verifier.receive(&url, tampered), Err(Rejection::SignatureMismatch));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With the `axum` feature, [`axum::VerifiedWebhook`] does the same as an extractor; see
//! `examples/webhook_receiver.rs`.
//!
//! # Fuzzing
//!
//! `fuzz/` (outside the workspace) holds a `cargo fuzz` target that feeds arbitrary queries
//! and bodies through parsing and verification. With a nightly toolchain and
//! `cargo install cargo-fuzz`:
//!
//! ```sh
//! cd fuzz && mkdir -p corpus/parse_and_verify
//! cargo +nightly fuzz run parse_and_verify corpus/parse_and_verify ../tests/fixtures/webhooks \
//!     -- -max_total_time=60
//! ```
//!
//! The second directory seeds the corpus with the test fixtures.

pub(crate) mod de;
mod event;
mod sign;
mod verify;

#[cfg(feature = "axum")]
pub mod axum;

pub use event::{
    AbandonedCart, Charges, CommissionedStore, Commissions, CompletedCharge, Customer,
    CustomerAccess, Event, EventType, FutureCharge, IdempotencyKey, Order, Plan, Product, Shape,
    Subscription, TrackingParameters, Trigger,
};
pub use sign::Signer;
pub use verify::{DEFAULT_MAX_BODY_SIZE, Delivery, Rejection, TokenError, Verified, Verifier};
