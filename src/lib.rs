//! A typed, production-grade client for the [Kiwify](https://kiwify.com.br) public API.
//!
//! The operations are generated from Kiwify's OpenAPI document (corrected where it is wrong:
//! see `openapi/corrections.yaml`); around them, this crate does what every integration needs
//! and most get wrong: tokens, the account header, rate limits, retries that never repeat a
//! refund or a payout, errors, pagination, sales exports over any period, and webhooks.
//!
//! # Where things live
//!
//! | module | what |
//! | --- | --- |
//! | [`client`] | [`Client`], its builder and [`Credentials`]; the policy every request runs through |
//! | [`auth`], [`rate`], [`retry`] | token cache (single flight), rate limiter, the pure retry decision |
//! | [`error`] | [`Error`], the one error type, with question methods |
//! | [`paginate`] | streams over every list operation; [`Client::sales`] over any date range |
//! | [`generated`] | the progenitor output: [`generated::types`] and the operation builders |
//! | [`model`] | tolerant types the generated models use: cents, open enums, secrets |
//! | [`webhook`] | typed events, signature verification, a signer, axum glue (feature `axum`) |
//! | `sandbox` | a local Kiwify that behaves like the real one (feature `sandbox`) |
//!
//! # Construct, call, handle an error
//!
//! [`Client::from_env`] reads `KIWIFY_CLIENT_ID`, `KIWIFY_CLIENT_SECRET`, `KIWIFY_ACCOUNT_ID`
//! and `KIWIFY_BASE_URL`; [`Client::builder`] sets everything explicitly. Every operation is a
//! builder-style method of a trait in [`prelude`]; its error converts into [`Error`] with `?`.
//! The examples below run against the embedded sandbox.
//!
//! ```
//! # #[cfg(feature = "sandbox")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use kiwify::prelude::*;
//! use kiwify::{Client, Credentials};
//!
//! let sandbox = kiwify::sandbox::Sandbox::start().await?;
//! let login = sandbox.credentials();
//! let client = Client::builder()
//!     .credentials(Credentials::new(login.client_id, login.client_secret, login.account_id))
//!     .base_url(sandbox.base_url())
//!     .build()?;
//!
//! let account = client.get_account_details().send().await?;
//! assert_eq!(account.id, "SbX7kLm2Qp9RtZa");
//!
//! // An unknown sale: a 404 with the API's message, as one error type.
//! let error = kiwify::Error::from(client.get_sale().id("no-such-sale").send().await.unwrap_err());
//! assert!(error.is_not_found());
//! assert!(!error.is_retryable());
//! println!("{error}"); // the API answered with an error: HTTP 404 Not Found: Not found
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "sandbox"))]
//! # fn main() {}
//! ```
//!
//! # Page through a list, export a year of sales
//!
//! [`Client::sales`] cuts any range into the API's 90-day windows (full UTC timestamps, end
//! exclusive, so no sale is lost or repeated at an edge) and yields each sale once; the other
//! list operations have their own streams ([`Client::products`], [`Client::payouts`], …).
//!
//! ```
//! # #[cfg(feature = "sandbox")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use futures::StreamExt;
//! use kiwify::{Client, Credentials, SalesQuery, SalesRange};
//!
//! # let sandbox = kiwify::sandbox::Sandbox::start().await?;
//! # let login = sandbox.credentials();
//! # let client = Client::builder()
//! #     .credentials(Credentials::new(login.client_id, login.client_secret, login.account_id))
//! #     .base_url(sandbox.base_url())
//! #     .build()?;
//! // The sandbox's seeded sales cover the year before 2026-12-01.
//! let range = SalesRange::parse("2025-12-01T00:00:00Z", "2026-12-01T00:00:00Z")?;
//! let mut sales = client.sales(SalesQuery::new(range));
//! let mut count = 0;
//! while let Some(sale) = sales.next().await {
//!     let _sale = sale?;
//!     count += 1;
//! }
//! assert_eq!(count, sandbox.sales_count());
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "sandbox"))]
//! # fn main() {}
//! ```
//!
//! # Verify a webhook
//!
//! Kiwify signs the raw body with HMAC-SHA1 keyed by the webhook's token and puts the hex in the
//! `signature` query parameter. [`webhook::Verifier`] checks it on the bytes as received and
//! decodes the event; [`webhook::Signer`] produces deliveries for tests.
//!
//! ```
//! use kiwify::webhook::{Event, Signer, Verifier};
//!
//! let body = br#"{"order_id":"44db0fe3","webhook_event_type":"order_approved","order_status":"paid"}"#;
//! let url = Signer::new("my-webhook-token").delivery_url("https://example.com/hook", body);
//!
//! let delivery = Verifier::new("my-webhook-token")?.receive(&url, body)?;
//! assert!(matches!(delivery.event, Event::Order(_)));
//! assert_eq!(delivery.idempotency_key().to_string(), "44db0fe3:order_approved");
//!
//! // One changed byte and the delivery is refused.
//! let tampered = br#"{"order_id":"44db0fe4","webhook_event_type":"order_approved","order_status":"paid"}"#;
//! assert!(Verifier::new("my-webhook-token")?.receive(&url, tampered).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod auth;
pub mod client;
pub mod error;
pub mod generated;
pub mod model;
pub mod paginate;
pub mod rate;
pub mod retry;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod webhook;

pub use client::{Client, ClientBuilder, Credentials};
pub use error::{Error, ErrorKind, Result};
pub use paginate::{SalesQuery, SalesRange};

/// The operation traits (`list_sales`, `refund_sale`, …) and [`Client`]: `use kiwify::prelude::*`.
pub mod prelude {
    pub use crate::generated::prelude::*;
    pub use crate::{Client, Credentials};
}

/// The README's examples, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
