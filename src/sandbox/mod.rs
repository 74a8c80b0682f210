//! A local server that behaves like the Kiwify public API (feature `sandbox`).
//!
//! The sandbox answers all 22 operations under `/v1` from in-memory state, on loopback, with
//! the status codes, error bodies and quirks of the real API as the facts sheet records them:
//! 400 `auth_error` for bad credentials and bad tokens, `count` as the total of matching items,
//! the 90-day window and the exclusive `end_date` on `/sales`, `POST /payouts/` with its trailing
//! slash, `DELETE /webhooks/{id}` answering 204, a 100-per-minute rate limit answering 429, and
//! webhook deliveries signed with HMAC-SHA1 in the `signature` query parameter.
//!
//! The state is seeded from [`SandboxConfig::seed`]: the same seed gives the same products,
//! sales, affiliates, legal entity, balance and payouts. Seeded sales are spread over the 365
//! days before [`SandboxConfig::anchor`], a fixed instant, so that tests do not depend on today.
//! Sales created at run time through [`Sandbox::create_sale`] carry the current time.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use kiwify::sandbox::Sandbox;
//!
//! let sandbox = Sandbox::start().await?;
//! let credentials = sandbox.credentials();
//! assert_eq!(credentials.client_id, "sandbox-client");
//! assert!(sandbox.base_url().starts_with("http://127.0.0.1:"));
//! assert_eq!(sandbox.sales_count(), 1500);
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Webhooks from tests
//!
//! Register a webhook through `POST /v1/webhooks` (its URL pointing at a receiver on
//! loopback), then call [`Sandbox::create_sale`], [`Sandbox::approve_sale`],
//! [`Sandbox::refund_sale`], [`Sandbox::chargeback_sale`] or [`Sandbox::renew_subscription`], or
//! refund through the API. Each
//! matching webhook gets one `POST` of the flat payload (facts §7.3) as compact JSON, signed in
//! the `signature` query parameter, sent and awaited before the triggering call returns, so a
//! test can assert right after it. Every attempt is kept in [`Sandbox::deliveries`]. Deliveries
//! are not retried, follow no redirects and time out after [`SandboxConfig::delivery_timeout`];
//! with the default `tls-ring` feature they trust no certificate, so `https` receivers fail.
//!
//! # Test controls
//!
//! Tests that need time to pass do not wait for it. [`Sandbox::advance_clock`] moves the clock
//! that token lifetimes and the rate-limit window are measured on, [`Sandbox::expire_tokens`]
//! ends every issued token's life at once, and [`Sandbox::reset_rate_limit`] starts a fresh
//! rate-limit window. Each takes effect before it returns, so the next request sees it:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! use kiwify::prelude::*;
//! use kiwify::sandbox::{ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET, Sandbox, SandboxConfig};
//! use kiwify::{Client, Credentials};
//!
//! let hour = Duration::from_secs(3600);
//! let sandbox = Sandbox::start_with(SandboxConfig { token_lifetime: hour, ..Default::default() })
//!     .await?;
//! let client = Client::builder()
//!     .credentials(Credentials::new(CLIENT_ID, CLIENT_SECRET, ACCOUNT_ID))
//!     .base_url(sandbox.base_url())
//!     .build()?;
//! client.get_balance().send().await?;
//!
//! // An hour later the token is refused; the client renews it once and goes on.
//! sandbox.advance_clock(hour);
//! client.get_balance().send().await?;
//! assert_eq!(sandbox.token_requests(), 2);
//! # Ok(())
//! # }
//! ```
//!
//! # Choices where the real API's behaviour is unknown (facts sheet §9)
//!
//! - `/sales` is ordered by `updated_at` ascending, then by `id`.
//! - A `/sales` window longer than 90 days, a `page_size` over the cap of 100 (sales,
//!   affiliates, webhooks, participants), and malformed values all answer 400 with a
//!   `{"message": …}` body. Products and payouts have no cap.
//! - An expired token answers like an unknown one: 400 `auth_error`. A wrong
//!   `x-kiwify-account-id` answers 401 `{"message":"Unauthorized"}`, a missing one 400.
//! - The rate limit is a fixed window counted for the one account across every request except
//!   token requests, checked before authentication. 429 carries no `Retry-After` unless
//!   [`SandboxConfig::retry_after`] is set.
//! - Refunding a sale that is not `paid` or `approved` answers 400; a Pix sale needs `pixKey`;
//!   a `pixKey` sent for another method is ignored. Refunds leave the balance alone.
//! - `POST /payouts` without the slash, and `GET /payouts/` with one, answer 404: routes match
//!   exactly.
//! - On event participants `pagination.count` counts the matching participants.
//! - A sale without an affiliate has `affiliate_commission: null`.
//! - The webhook list's `product_id` filter matches webhooks registered for exactly that product
//!   (not those registered for `"all"`). `POST /webhooks` answers 200 with the webhook; a `PUT`
//!   without `token` keeps the current one.
//! - Dates are read as RFC 3339 (any offset), `YYYY-MM-DDTHH:MM:SS(.sss)` and
//!   `YYYY-MM-DD HH:MM(:SS)` as UTC, or `YYYY-MM-DD` as 00:00 UTC; `view_full_sale_details` and
//!   `checked_in` take `true` or `false`; the `status` and `payment_method` filters take the
//!   documented values only.
//! - `/stats` rates are percentages with two decimals: card approvals over card sales, refunds
//!   and chargebacks over sales ever approved, paid boletos over boletos generated.

#![deny(missing_docs)]

mod deliver;
mod routes;
mod seed;
mod state;

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::generated::types::{Affiliate, Balance, Sale, Webhook};
use crate::model::{PaymentMethod, SaleStatus};

use state::Shared;

/// The client id the sandbox accepts.
pub const CLIENT_ID: &str = "sandbox-client";
/// The client secret the sandbox accepts.
pub const CLIENT_SECRET: &str = "sandbox-secret";
/// The account id of the sandbox's one account (15 characters, like real ones). It is also the
/// JWT `store_id`, the `/account-details` id and the webhook `store_id`.
pub const ACCOUNT_ID: &str = "SbX7kLm2Qp9RtZa";

/// The years a [`SandboxConfig::anchor`] may fall in. The seeded data reaches about two years
/// either side of the anchor (products and the account before it, approvals, deposits and
/// subscription renewals after it), and it stays within Unix time and four-digit years.
pub const ANCHOR_YEARS: std::ops::RangeInclusive<i32> = 1972..=9997;

/// How a sandbox is set up. Every field has a documented default; see [`Default`].
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Where to listen. Default `127.0.0.1:0`: loopback, a free port.
    pub bind: SocketAddr,
    /// Seed of the generated data. Default `42`.
    pub seed: u64,
    /// Seeded sales are created over the 365 days before this instant. Default
    /// `2026-12-01T00:00:00Z`, fixed so that the data does not depend on today. It must lie in
    /// [`ANCHOR_YEARS`]: [`Sandbox::start_with`] refuses any other.
    pub anchor: DateTime<Utc>,
    /// Number of seeded sales. Default `1500`.
    pub sales: usize,
    /// Lifetime of issued tokens, also reported as `expires_in`. Default 24 hours, as the real
    /// API. A lifetime of zero issues tokens that are already expired. Tests end a lifetime
    /// with [`Sandbox::advance_clock`] or [`Sandbox::expire_tokens`] rather than by waiting.
    pub token_lifetime: Duration,
    /// At most this many requests per window for the account, token requests not counted.
    /// Default `Some((100, 60 s))`, what every client codes against; `None` disables it. Tests
    /// end a window with [`Sandbox::reset_rate_limit`] or [`Sandbox::advance_clock`].
    pub rate_limit: Option<(u32, Duration)>,
    /// `Retry-After` sent with 429, in whole seconds rounded up. Default `None`: the real API
    /// was never seen sending one.
    pub retry_after: Option<Duration>,
    /// Timeout of one webhook delivery. Default 5 s.
    pub delivery_timeout: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            seed: 42,
            anchor: Utc
                .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            sales: 1500,
            token_lifetime: Duration::from_secs(86_400),
            rate_limit: Some((100, Duration::from_secs(60))),
            retry_after: None,
            delivery_timeout: Duration::from_secs(5),
        }
    }
}

/// The credentials the sandbox accepts: [`CLIENT_ID`], [`CLIENT_SECRET`] and [`ACCOUNT_ID`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxCredentials {
    /// `client_id` for `POST /oauth/token`.
    pub client_id: String,
    /// `client_secret` for `POST /oauth/token` (a fixed test value, not a secret).
    pub client_secret: String,
    /// Value of the `x-kiwify-account-id` header.
    pub account_id: String,
}

/// A sale for [`Sandbox::create_sale`] to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSale {
    /// The product sold; `None` takes the first seeded product.
    pub product_id: Option<String>,
    /// How it is paid.
    pub payment_method: PaymentMethod,
    /// Its status: `paid`, `approved`, `waiting_payment` (boleto or Pix) or `refused`.
    pub status: SaleStatus,
}

impl Default for NewSale {
    /// A paid credit-card sale of the first product.
    fn default() -> Self {
        Self {
            product_id: None,
            payment_method: PaymentMethod::CreditCard,
            status: SaleStatus::Paid,
        }
    }
}

/// Why a call on the [`Sandbox`] handle was refused: the status and message the matching API
/// route would answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxError {
    status: u16,
    message: String,
}

impl SandboxError {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// The HTTP status the API would answer (400, 404 …).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The `message` the API would answer.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sandbox refused the call ({}): {}",
            self.status, self.message
        )
    }
}

impl std::error::Error for SandboxError {}

/// One webhook delivery the sandbox attempted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Id of the webhook delivered to.
    pub webhook_id: String,
    /// The URL posted to: the registered URL with `signature` appended.
    pub url: String,
    /// The Portuguese trigger name, such as `compra_aprovada`.
    pub trigger: String,
    /// The payload's `webhook_event_type`, such as `order_approved`.
    pub event_type: String,
    /// The exact body bytes sent (compact JSON).
    pub body: String,
    /// The `signature` sent: lower-case hex HMAC-SHA1 of `body` keyed with the webhook token.
    pub signature: String,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why the delivery failed (connection refused, timeout …), if it did.
    pub error: Option<String>,
}

/// A running sandbox. Dropping it stops the server; [`Sandbox::shutdown`] stops it gracefully.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts a sandbox with the default configuration on a free loopback port.
    pub async fn start() -> io::Result<Self> {
        Self::start_with(SandboxConfig::default()).await
    }

    /// Starts a sandbox with `config`, serving from a task on the current tokio runtime, which
    /// needs its IO and time drivers (`#[tokio::test]` and `#[tokio::main]` enable both).
    ///
    /// Refused with [`io::ErrorKind::InvalidInput`] when the anchor is outside
    /// [`ANCHOR_YEARS`].
    pub async fn start_with(config: SandboxConfig) -> io::Result<Self> {
        check_anchor(config.anchor)?;
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config)?);
        let app = routes::router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();

        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(error) = server.await {
                tracing::warn!(%error, "sandbox server stopped with an error");
            }
        });

        Ok(Self {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The socket address the sandbox listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to configure a client with: `http://127.0.0.1:PORT/v1`, no trailing slash.
    /// A sandbox bound to every interface (`0.0.0.0` or `::`) is reached on this machine through
    /// loopback, so that is the address the URL names.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", reachable(self.addr))
    }

    /// The credentials the sandbox accepts.
    pub fn credentials(&self) -> SandboxCredentials {
        SandboxCredentials {
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
            account_id: ACCOUNT_ID.to_owned(),
        }
    }

    /// Creates a sale now (`created_at` = `updated_at` = now) and delivers its webhook
    /// (`compra_aprovada`, `boleto_gerado`, `pix_gerado` or `compra_recusada`, by status and
    /// method) before returning.
    pub async fn create_sale(&self, sale: NewSale) -> Result<Sale, SandboxError> {
        let (created, event) = self.shared.create_sale(sale)?;
        self.shared.deliver(event).await;
        Ok(created)
    }

    /// Approves a `waiting_payment` sale (status `paid`, `approved_date` and `updated_at` now)
    /// and delivers `compra_aprovada` before returning.
    pub async fn approve_sale(&self, id: &str) -> Result<Sale, SandboxError> {
        let (approved, event) = self.shared.approve_sale(id)?;
        self.shared.deliver(event).await;
        Ok(approved)
    }

    /// Refunds a `paid` or `approved` sale like `POST /sales/{id}/refund` does, and delivers
    /// `compra_reembolsada` before returning. Unlike the route, a Pix sale needs no `pixKey`
    /// here (a refund from the dashboard).
    pub async fn refund_sale(&self, id: &str) -> Result<Sale, SandboxError> {
        let (refunded, event) = self.shared.refund_sale(id, None, false)?;
        self.shared.deliver(event).await;
        Ok(refunded)
    }

    /// Charges the next period of the subscription that sale `id` belongs to: a new `paid` sale
    /// now, with the same customer, plan and payment method, whose `parent_order_id` is the
    /// subscription's first sale. Delivers `compra_aprovada` then `subscription_renewed` (facts
    /// §7.7) before returning. A sale of a one-off product answers 400.
    pub async fn renew_subscription(&self, id: &str) -> Result<Sale, SandboxError> {
        let (renewal, events) = self.shared.renew_subscription(id)?;
        self.shared.deliver(events).await;
        Ok(renewal)
    }

    /// Marks a `paid` or `approved` sale as charged back (`updated_at` now) and delivers
    /// `chargeback` before returning.
    pub async fn chargeback_sale(&self, id: &str) -> Result<Sale, SandboxError> {
        let (charged_back, event) = self.shared.chargeback_sale(id)?;
        self.shared.deliver(event).await;
        Ok(charged_back)
    }

    /// The full sale with this id, if any.
    pub fn sale(&self, id: &str) -> Option<Sale> {
        self.shared
            .read(|state| state.sale(id).map(|record| record.sale.clone()))
    }

    /// Every sale (seeded, then created), full, in the order they were made. Tests compare
    /// what a client read against this, rather than against another client's reading.
    pub fn sales(&self) -> Vec<Sale> {
        self.shared.read(|state| {
            state
                .sales
                .iter()
                .map(|record| record.sale.clone())
                .collect()
        })
    }

    /// How many sales exist (seeded and created).
    pub fn sales_count(&self) -> usize {
        self.shared.read(|state| state.sales.len())
    }

    /// The affiliates, in the order `GET /affiliates` lists them.
    pub fn affiliates(&self) -> Vec<Affiliate> {
        self.shared.read(|state| state.affiliates.clone())
    }

    /// The balance of the one legal entity.
    pub fn balance(&self) -> Balance {
        self.shared.read(|state| state.balance.clone())
    }

    /// Every delivery attempted so far, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.read(|state| state.deliveries.clone())
    }

    /// The registered webhooks, oldest first.
    pub fn webhooks(&self) -> Vec<Webhook> {
        self.shared.read(|state| state.webhooks.clone())
    }

    /// How many requests reached `POST /oauth/token`.
    pub fn token_requests(&self) -> u64 {
        self.shared.read(|state| state.counters.token_requests)
    }

    /// How many other requests arrived, rejected ones included.
    pub fn requests(&self) -> u64 {
        self.shared.read(|state| state.counters.requests)
    }

    /// How many requests were answered 429.
    pub fn rate_limited(&self) -> u64 {
        self.shared.read(|state| state.counters.rate_limited)
    }

    // ---- test controls (see the module docs) ----

    /// Moves the sandbox's clock forward by `by`: tokens whose lifetime ends within it expire,
    /// and a rate-limit window shorter than it is over. Only token expiry and the rate limit
    /// read this clock; sale timestamps keep the wall-clock time. The clock never goes back,
    /// and stops a century ahead.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.lock().advance_clock(by);
    }

    /// Makes every token issued so far expired, as if its lifetime had ended: the next request
    /// with one answers 400 `auth_error`. Tokens issued afterwards work as usual.
    pub fn expire_tokens(&self) {
        self.shared.lock().expire_tokens();
    }

    /// Ends the current rate-limit window: the next request starts a fresh one with nothing
    /// counted. The counters ([`Sandbox::rate_limited`] …) are kept.
    pub fn reset_rate_limit(&self) {
        self.shared.lock().reset_rate_limit();
    }

    /// Stops accepting connections, lets requests in flight finish (at most 5 s), and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Refuses an anchor too close to the ends of time for the seeded data's date arithmetic.
fn check_anchor(anchor: DateTime<Utc>) -> io::Result<()> {
    if ANCHOR_YEARS.contains(&anchor.year()) {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "sandbox anchor {anchor} is outside the years {} to {}",
            ANCHOR_YEARS.start(),
            ANCHOR_YEARS.end()
        ),
    ))
}

/// Where a client on this machine reaches a server listening on `addr`: loopback for the
/// unspecified address (`0.0.0.0`, `::`), which is not portable to connect to.
fn reachable(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    addr
}

/// Runs a sandbox with `config` until Ctrl-C or SIGTERM, then shuts it down gracefully. The
/// listening address is logged with `tracing` at info level.
pub async fn serve(config: SandboxConfig) -> io::Result<()> {
    let sandbox = Sandbox::start_with(config).await?;
    tracing::info!(base_url = %sandbox.base_url(), client_id = CLIENT_ID, "sandbox listening");
    let stopped = stop_signal().await;
    sandbox.shutdown().await;
    stopped
}

/// Waits for Ctrl-C, or SIGTERM on Unix (how containers and CI runners stop a process).
pub async fn stop_signal() -> io::Result<()> {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_url_names_an_address_a_client_can_connect_to() {
        let cases = [
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("0.0.0.0:8080", "127.0.0.1:8080"),
            ("[::]:8080", "[::1]:8080"),
            ("[::1]:8080", "[::1]:8080"),
            ("192.0.2.1:8080", "192.0.2.1:8080"),
        ];
        for (bound, expected) in cases {
            let bound: SocketAddr = bound.parse().unwrap();
            assert_eq!(reachable(bound).to_string(), expected);
        }
    }
}
