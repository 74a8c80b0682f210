//! The sandbox's in-memory state and the changes the routes and the handle make to it.

use std::collections::HashMap;
use std::io;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::generated::types::{
    AccountDetails, Affiliate, Balance, Participant, Payout, Product, Sale, Webhook,
};
use crate::model::{Cents, PaymentMethod, SaleStatus};
use crate::webhook::Trigger;

use super::deliver::{self, Event};
use super::seed::{self, Rng};
use super::{Delivery, NewSale, SandboxConfig, SandboxError};

/// State shared by the server task and the [`super::Sandbox`] handle.
pub(crate) struct Shared {
    pub config: SandboxConfig,
    state: Mutex<State>,
    http: reqwest::Client,
}

/// A sale with what the REST object does not show but webhooks and filters need.
#[derive(Clone, Debug)]
pub(crate) struct SaleRecord {
    pub sale: Sale,
    pub affiliate_id: Option<String>,
    pub ip: String,
    pub merchant_id: String,
    pub subscription_id: Option<String>,
    pub checkout_link: String,
}

impl SaleRecord {
    pub fn created_at(&self) -> DateTime<Utc> {
        self.sale.created_at.unwrap_or_default()
    }

    pub fn updated_at(&self) -> DateTime<Utc> {
        self.sale.updated_at.unwrap_or_default()
    }

    pub fn status(&self) -> &str {
        self.sale.status.as_ref().map_or("", SaleStatus::as_str)
    }

    pub fn method(&self) -> &str {
        self.sale
            .payment_method
            .as_ref()
            .map_or("", PaymentMethod::as_str)
    }

    pub fn product_id(&self) -> &str {
        self.sale
            .product
            .as_ref()
            .and_then(|p| p.id.as_deref())
            .unwrap_or("")
    }

    pub fn net(&self) -> i64 {
        self.sale.net_amount.map_or(0, |cents| cents.0)
    }
}

/// An event product's tickets.
#[derive(Clone, Debug)]
pub(crate) struct EventRecord {
    pub product_id: String,
    pub max_tickets: i64,
    pub participants: Vec<Participant>,
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counters {
    pub token_requests: u64,
    pub requests: u64,
    pub rate_limited: u64,
}

#[derive(Clone, Copy, Debug)]
struct RateWindow {
    start: Instant,
    count: u32,
}

/// Everything the sandbox knows.
pub(crate) struct State {
    pub account: AccountDetails,
    pub products: Vec<Product>,
    pub sales: Vec<SaleRecord>,
    pub affiliates: Vec<Affiliate>,
    pub balance: Balance,
    pub payouts: Vec<Payout>,
    pub webhooks: Vec<Webhook>,
    pub events: Vec<EventRecord>,
    pub deliveries: Vec<Delivery>,
    pub counters: Counters,
    pub rng: Rng,
    tokens: HashMap<String, Instant>,
    window: Option<RateWindow>,
    /// How far [`super::Sandbox::advance_clock`] has moved the sandbox's clock ahead of tokio's.
    clock_offset: Duration,
}

/// The farthest the sandbox's clock can be advanced, and the longest a token lives: a century.
const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);

impl State {
    pub fn new(seeded: seed::Seeded) -> Self {
        Self {
            account: seeded.account,
            products: seeded.products,
            sales: seeded.sales,
            affiliates: seeded.affiliates,
            balance: seeded.balance,
            payouts: seeded.payouts,
            webhooks: Vec::new(),
            events: seeded.events,
            deliveries: Vec::new(),
            counters: Counters::default(),
            rng: seeded.rng,
            tokens: HashMap::new(),
            window: None,
            clock_offset: Duration::ZERO,
        }
    }

    /// The instant token lifetimes and the rate-limit window are measured against: tokio's
    /// clock plus the offset the test controls added.
    fn now(&self) -> Instant {
        let now = Instant::now();
        now.checked_add(self.clock_offset).unwrap_or(now)
    }

    /// When a token issued now with `lifetime` expires; a lifetime too long for the clock
    /// lasts a century instead.
    pub fn expiry_after(&self, lifetime: Duration) -> Instant {
        let now = self.now();
        now.checked_add(lifetime)
            .or_else(|| now.checked_add(CENTURY))
            .unwrap_or(now)
    }

    /// Moves the sandbox's clock forward by `by` (at most a century in all).
    pub fn advance_clock(&mut self, by: Duration) {
        self.clock_offset = self.clock_offset.saturating_add(by).min(CENTURY);
    }

    /// Makes every token issued so far expired.
    pub fn expire_tokens(&mut self) {
        let now = self.now();
        for expiry in self.tokens.values_mut() {
            *expiry = now;
        }
    }

    /// Starts a fresh rate-limit window with nothing counted in it.
    pub fn reset_rate_limit(&mut self) {
        self.window = None;
    }

    pub fn sale(&self, id: &str) -> Option<&SaleRecord> {
        self.sales.iter().find(|record| record.sale.id == id)
    }

    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|product| product.id == id)
    }

    pub fn legal_entity_id(&self) -> String {
        self.balance.legal_entity_id.clone().unwrap_or_default()
    }

    pub fn remember_token(&mut self, token: String, expires: Instant) {
        let now = self.now();
        self.tokens.retain(|_, expiry| *expiry > now);
        self.tokens.insert(token, expires);
    }

    pub fn token_is_valid(&self, token: &str) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|expiry| *expiry > self.now())
    }

    /// Counts one resource request against the limit; `false` when it is over the limit.
    pub fn admit(&mut self, limit: Option<(u32, Duration)>) -> bool {
        let Some((requests, window)) = limit else {
            return true;
        };
        let now = self.now();
        let current = match self.window {
            Some(current) if now.duration_since(current.start) < window => current,
            _ => RateWindow {
                start: now,
                count: 0,
            },
        };
        let count = current.count.saturating_add(1);
        self.window = Some(RateWindow {
            start: current.start,
            count,
        });
        count <= requests
    }
}

impl Shared {
    pub fn new(config: SandboxConfig) -> io::Result<Self> {
        let http = deliver::http_client(config.delivery_timeout).map_err(io::Error::other)?;
        let state = State::new(seed::seed(&config));
        Ok(Self {
            config,
            state: Mutex::new(state),
            http,
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn read<T>(&self, read: impl FnOnce(&State) -> T) -> T {
        read(&self.lock())
    }

    /// Delivers `event` to every matching webhook, one after the other, and records each
    /// attempt. The state is not locked while a delivery is in flight.
    pub async fn deliver(&self, events: impl IntoIterator<Item = Event>) {
        for event in events {
            let planned = deliver::plan(&self.lock(), &event);
            for delivery in planned {
                let done = deliver::send(&self.http, delivery).await;
                self.lock().deliveries.push(done);
            }
        }
    }

    pub fn create_sale(&self, new: NewSale) -> Result<(Sale, Option<Event>), SandboxError> {
        let mut state = self.lock();
        let product_id = match new.product_id {
            Some(id) => id,
            None => state
                .products
                .first()
                .map(|p| p.id.clone())
                .unwrap_or_default(),
        };
        let Some(product) = state.product(&product_id).cloned() else {
            return Err(SandboxError::new(404, "Not found"));
        };
        let trigger = creation_trigger(&new.status, &new.payment_method)?;

        let now = now_millis();
        let spec = seed::SaleSpec {
            product: &product,
            created_at: now,
            latest: now,
            status: new.status,
            method: new.payment_method,
            affiliate: None,
            parent: None,
        };
        let record = seed::make_sale(&mut state.rng, spec);
        let sale = record.sale.clone();
        state.sales.push(record);
        Ok((
            sale.clone(),
            Some(Event {
                sale_id: sale.id,
                trigger,
            }),
        ))
    }

    /// Charges the next period of the subscription sale `id` belongs to.
    pub fn renew_subscription(&self, id: &str) -> Result<(Sale, Vec<Event>), SandboxError> {
        let mut state = self.lock();
        let Some(parent) = state.sale(id).cloned() else {
            return Err(SandboxError::new(404, "Not found"));
        };
        if parent.subscription_id.is_none() {
            return Err(SandboxError::new(
                400,
                "The sale is not part of a subscription",
            ));
        }
        let Some(product) = state.product(parent.product_id()).cloned() else {
            return Err(SandboxError::new(404, "Not found"));
        };

        let now = now_millis();
        let spec = seed::SaleSpec {
            product: &product,
            created_at: now,
            latest: now,
            status: SaleStatus::Paid,
            method: parent
                .sale
                .payment_method
                .clone()
                .unwrap_or(PaymentMethod::CreditCard),
            affiliate: None,
            parent: Some(&parent),
        };
        let record = seed::make_sale(&mut state.rng, spec);
        let sale = record.sale.clone();
        state.sales.push(record);
        let events = [Trigger::CompraAprovada, Trigger::SubscriptionRenewed]
            .map(|trigger| Event {
                sale_id: sale.id.clone(),
                trigger,
            })
            .to_vec();
        Ok((sale, events))
    }

    pub fn approve_sale(&self, id: &str) -> Result<(Sale, Option<Event>), SandboxError> {
        let mut state = self.lock();
        let Some(record) = state.sales.iter_mut().find(|record| record.sale.id == id) else {
            return Err(SandboxError::new(404, "Not found"));
        };
        if record.sale.status != Some(SaleStatus::WaitingPayment) {
            let status = record.status().to_owned();
            return Err(SandboxError::new(
                400,
                format!("Sale cannot be approved: its status is {status}"),
            ));
        }
        let now = now_millis();
        record.sale.status = Some(SaleStatus::Paid);
        record.sale.approved_date = Some(now);
        record.sale.updated_at = Some(now);
        let sale = record.sale.clone();
        Ok((
            sale.clone(),
            Some(Event {
                sale_id: sale.id,
                trigger: Trigger::CompraAprovada,
            }),
        ))
    }

    /// Refunds a sale. `require_pix_key` is the route's rule; the handle skips it.
    pub fn refund_sale(
        &self,
        id: &str,
        pix_key: Option<&str>,
        require_pix_key: bool,
    ) -> Result<(Sale, Option<Event>), SandboxError> {
        let mut state = self.lock();
        let record = settled_sale(&mut state, id, "refunded")?;
        let is_pix = record.sale.payment_method == Some(PaymentMethod::Pix);
        if require_pix_key && is_pix && pix_key.is_none_or(|key| key.trim().is_empty()) {
            return Err(SandboxError::new(
                400,
                "pixKey is required to refund a Pix sale",
            ));
        }
        let now = now_millis();
        record.sale.status = Some(SaleStatus::Refunded);
        record.sale.refunded_at = Some(now);
        record.sale.updated_at = Some(now);
        let sale = record.sale.clone();
        Ok((
            sale.clone(),
            Some(Event {
                sale_id: sale.id,
                trigger: Trigger::CompraReembolsada,
            }),
        ))
    }

    /// Marks a `paid` or `approved` sale as charged back.
    pub fn chargeback_sale(&self, id: &str) -> Result<(Sale, Option<Event>), SandboxError> {
        let mut state = self.lock();
        let record = settled_sale(&mut state, id, "charged back")?;
        record.sale.status = Some(SaleStatus::Chargedback);
        record.sale.updated_at = Some(now_millis());
        let sale = record.sale.clone();
        Ok((
            sale.clone(),
            Some(Event {
                sale_id: sale.id,
                trigger: Trigger::Chargeback,
            }),
        ))
    }

    /// Creates a payout of `amount` cents from the available balance.
    pub fn create_payout(
        &self,
        amount: i64,
        legal_entity_id: Option<&str>,
    ) -> Result<String, SandboxError> {
        let mut state = self.lock();
        let entity = state.legal_entity_id();
        if legal_entity_id.is_some_and(|id| id != entity) {
            return Err(SandboxError::new(400, "legal_entity_id is unknown"));
        }
        if amount <= 0 {
            return Err(SandboxError::new(
                400,
                "amount must be a positive number of cents",
            ));
        }
        let available = state.balance.available.map_or(0, |cents| cents.0);
        if amount > available {
            return Err(SandboxError::new(
                400,
                "Insufficient balance for this payout",
            ));
        }

        state.balance.available = Some(Cents(available - amount));
        let now = now_millis();
        let id = state.rng.uuid();
        state.payouts.push(Payout {
            id: id.clone(),
            amount: Some(Cents(amount)),
            status: Some("pending_review".to_owned()),
            legal_entity_id: Some(entity),
            created_at: Some(now),
            updated_at: Some(now),
        });
        Ok(id)
    }
}

/// The trigger a newly created sale fires, or why such a sale cannot be created.
fn creation_trigger(status: &SaleStatus, method: &PaymentMethod) -> Result<Trigger, SandboxError> {
    match (status, method) {
        (SaleStatus::Paid | SaleStatus::Approved, _) => Ok(Trigger::CompraAprovada),
        (SaleStatus::WaitingPayment, PaymentMethod::Boleto) => Ok(Trigger::BoletoGerado),
        (SaleStatus::WaitingPayment, PaymentMethod::Pix) => Ok(Trigger::PixGerado),
        (SaleStatus::Refused, _) => Ok(Trigger::CompraRecusada),
        (SaleStatus::WaitingPayment, _) => Err(SandboxError::new(
            400,
            "only boleto and Pix sales can wait for payment",
        )),
        (other, _) => Err(SandboxError::new(
            400,
            format!("a new sale is paid, approved, waiting_payment or refused, not {other}"),
        )),
    }
}

/// Now, truncated to whole milliseconds like the API's timestamps.
pub(crate) fn now_millis() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_default()
}

/// The `paid` or `approved` sale `id`, which can be refunded or charged back; 404 or 400 else.
fn settled_sale<'a>(
    state: &'a mut State,
    id: &str,
    action: &str,
) -> Result<&'a mut SaleRecord, SandboxError> {
    let Some(record) = state.sales.iter_mut().find(|record| record.sale.id == id) else {
        return Err(SandboxError::new(404, "Not found"));
    };
    if !matches!(
        record.sale.status,
        Some(SaleStatus::Paid | SaleStatus::Approved)
    ) {
        let status = record.status().to_owned();
        return Err(SandboxError::new(
            400,
            format!("Sale cannot be {action}: its status is {status}"),
        ));
    }
    Ok(record)
}
