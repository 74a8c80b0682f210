//! Typed webhook events: what a Kiwify delivery says once its signature checks out.
//!
//! Field names follow the payload, not the REST API (`order_id`, not `id`; `Customer.full_name`,
//! not `customer.name`). Every field except [`Order::order_id`] and
//! [`Order::webhook_event_type`] is optional, because keys come and go between real and test
//! deliveries. Values that drift in type are normalised (see each field), `""` reads as absent,
//! and unknown keys are ignored.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::de::Error as _;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::de;

crate::model::open_enum! {
    /// A trigger name, as the webhooks API takes it (`triggers[]`, in Portuguese).
    ///
    /// Deliveries carry the English [`EventType`] instead; [`Trigger::event_type`] and
    /// [`EventType::trigger`] translate.
    pub enum Trigger {
        /// `compra_aprovada`: delivered as `order_approved`.
        CompraAprovada => "compra_aprovada",
        /// `compra_recusada`: delivered as `order_rejected`.
        CompraRecusada => "compra_recusada",
        /// `compra_reembolsada`: delivered as `order_refunded`.
        CompraReembolsada => "compra_reembolsada",
        /// `chargeback`: delivered as `chargeback`.
        Chargeback => "chargeback",
        /// `boleto_gerado`: delivered as `billet_created`.
        BoletoGerado => "boleto_gerado",
        /// `pix_gerado`: delivered as `pix_created`.
        PixGerado => "pix_gerado",
        /// `carrinho_abandonado`: delivered as an [`AbandonedCart`], which has no event type.
        CarrinhoAbandonado => "carrinho_abandonado",
        /// `subscription_canceled`: delivered as `subscription_canceled`.
        SubscriptionCanceled => "subscription_canceled",
        /// `subscription_late`: delivered as `subscription_late`.
        SubscriptionLate => "subscription_late",
        /// `subscription_renewed`: delivered as `subscription_renewed`.
        SubscriptionRenewed => "subscription_renewed",
    }
}

crate::model::open_enum! {
    /// The `webhook_event_type` of an order delivery (English).
    pub enum EventType {
        /// `order_approved`, from trigger `compra_aprovada`; order status usually `paid`.
        OrderApproved => "order_approved",
        /// `order_rejected`, from trigger `compra_recusada`; status `refused`.
        OrderRejected => "order_rejected",
        /// `order_refunded`, from trigger `compra_reembolsada`; status `refunded`.
        OrderRefunded => "order_refunded",
        /// `chargeback`, from trigger `chargeback`; status `chargedback`.
        Chargeback => "chargeback",
        /// `billet_created` (a boleto was issued), from trigger `boleto_gerado`.
        BilletCreated => "billet_created",
        /// `pix_created` (a Pix code was issued), from trigger `pix_gerado`.
        PixCreated => "pix_created",
        /// `subscription_canceled`, from the trigger of the same name.
        SubscriptionCanceled => "subscription_canceled",
        /// `subscription_late` (a renewal charge failed), from the trigger of the same name.
        SubscriptionLate => "subscription_late",
        /// `subscription_renewed`, from the trigger of the same name.
        SubscriptionRenewed => "subscription_renewed",
    }
}

impl Trigger {
    /// The event type deliveries for this trigger carry. `None` for the abandoned cart (its
    /// payload has no event type) and for unknown triggers.
    pub fn event_type(&self) -> Option<EventType> {
        Some(match self {
            Self::CompraAprovada => EventType::OrderApproved,
            Self::CompraRecusada => EventType::OrderRejected,
            Self::CompraReembolsada => EventType::OrderRefunded,
            Self::Chargeback => EventType::Chargeback,
            Self::BoletoGerado => EventType::BilletCreated,
            Self::PixGerado => EventType::PixCreated,
            Self::SubscriptionCanceled => EventType::SubscriptionCanceled,
            Self::SubscriptionLate => EventType::SubscriptionLate,
            Self::SubscriptionRenewed => EventType::SubscriptionRenewed,
            Self::CarrinhoAbandonado | Self::Other(_) => return None,
        })
    }
}

impl EventType {
    /// The trigger to register to receive this event type. `None` for unknown event types.
    pub fn trigger(&self) -> Option<Trigger> {
        Some(match self {
            Self::OrderApproved => Trigger::CompraAprovada,
            Self::OrderRejected => Trigger::CompraRecusada,
            Self::OrderRefunded => Trigger::CompraReembolsada,
            Self::Chargeback => Trigger::Chargeback,
            Self::BilletCreated => Trigger::BoletoGerado,
            Self::PixCreated => Trigger::PixGerado,
            Self::SubscriptionCanceled => Trigger::SubscriptionCanceled,
            Self::SubscriptionLate => Trigger::SubscriptionLate,
            Self::SubscriptionRenewed => Trigger::SubscriptionRenewed,
            Self::Other(_) => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Events

/// One webhook delivery's content.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Event {
    /// An order event (every trigger but the abandoned cart), delivered flat or in an envelope.
    Order(Box<Order>),
    /// An abandoned checkout (`carrinho_abandonado`).
    AbandonedCart(Box<AbandonedCart>),
}

/// How a delivery was laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Shape {
    /// The body is the event itself (the current format).
    Flat,
    /// `{"url": …, "signature": …, "order": {…}}`, the event under `order`.
    Envelope,
}

/// What identifies a delivery across Kiwify's retries, for deduplication.
///
/// Kiwify retries deliveries and they can arrive out of order, so the same key can come more
/// than once. Its [`Display`](fmt::Display) form is stable and suits a database column.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdempotencyKey {
    /// An order event: the same order gets one delivery per event type.
    Order {
        /// The order's `order_id`.
        order_id: String,
        /// The delivery's `webhook_event_type`.
        event_type: EventType,
    },
    /// An abandoned cart, by its `id`.
    AbandonedCart {
        /// The cart's `id`.
        id: String,
    },
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Order {
                order_id,
                event_type,
            } => write!(formatter, "{order_id}:{event_type}"),
            Self::AbandonedCart { id } => write!(formatter, "{id}:abandoned_cart"),
        }
    }
}

impl Event {
    /// Reads a delivery body (flat order, envelope or abandoned cart) **without checking its
    /// signature**. For bodies already verified and stored, and for tests; incoming requests
    /// go through [`Verifier::receive`](super::Verifier::receive).
    pub fn from_slice(body: &[u8]) -> Result<Self, serde_json::Error> {
        decode(body).map(|(event, _)| event)
    }

    /// The order, for order events.
    pub fn order(&self) -> Option<&Order> {
        match self {
            Self::Order(order) => Some(order),
            Self::AbandonedCart(_) => None,
        }
    }

    /// The abandoned cart, for `carrinho_abandonado` deliveries.
    pub fn abandoned_cart(&self) -> Option<&AbandonedCart> {
        match self {
            Self::AbandonedCart(cart) => Some(cart),
            Self::Order(_) => None,
        }
    }

    /// The `webhook_event_type`; `None` for an abandoned cart, which has none.
    pub fn event_type(&self) -> Option<&EventType> {
        self.order().map(|order| &order.webhook_event_type)
    }

    /// The trigger that produced this delivery, when the crate knows it.
    pub fn trigger(&self) -> Option<Trigger> {
        match self {
            Self::Order(order) => order.webhook_event_type.trigger(),
            Self::AbandonedCart(_) => Some(Trigger::CarrinhoAbandonado),
        }
    }

    /// The deduplication key: `order_id` plus event type, or the cart's `id`.
    pub fn idempotency_key(&self) -> IdempotencyKey {
        match self {
            Self::Order(order) => IdempotencyKey::Order {
                order_id: order.order_id.clone(),
                event_type: order.webhook_event_type.clone(),
            },
            Self::AbandonedCart(cart) => IdempotencyKey::AbandonedCart {
                id: cart.id.clone(),
            },
        }
    }
}

/// Just enough of a body to tell the three shapes apart.
#[derive(Deserialize)]
struct ShapeProbe<'a> {
    #[serde(default)]
    webhook_event_type: Option<serde::de::IgnoredAny>,
    #[serde(default, borrow)]
    order: Option<&'a RawValue>,
    #[serde(default)]
    id: Option<serde::de::IgnoredAny>,
}

/// Reads a body of any shape. An envelope is unwrapped once; its `order` must be flat.
pub(crate) fn decode(body: &[u8]) -> Result<(Event, Shape), serde_json::Error> {
    let probe: ShapeProbe<'_> = serde_json::from_slice(body)?;
    if let (None, Some(order)) = (&probe.webhook_event_type, probe.order) {
        return decode_flat(order.get().as_bytes()).map(|event| (event, Shape::Envelope));
    }
    decode_flat(body).map(|event| (event, Shape::Flat))
}

/// Reads a flat order or an abandoned cart.
pub(crate) fn decode_flat(body: &[u8]) -> Result<Event, serde_json::Error> {
    let probe: ShapeProbe<'_> = serde_json::from_slice(body)?;
    if probe.webhook_event_type.is_some() {
        return Ok(Event::Order(Box::new(serde_json::from_slice(body)?)));
    }
    if probe.id.is_some() {
        return Ok(Event::AbandonedCart(Box::new(serde_json::from_slice(
            body,
        )?)));
    }
    Err(serde_json::Error::custom(
        "not a Kiwify event: no `webhook_event_type` (order), `order` (envelope) or `id` (abandoned cart)",
    ))
}

// ---------------------------------------------------------------------------------------------
// Order payload

/// An order delivery: every trigger except the abandoned cart.
///
/// Timestamps written in Brasília local time (`created_at`, `updated_at`, `approved_date`,
/// `refunded_at`, `pix_expiration`) come out at offset -03:00; ISO ones keep their own offset.
/// (Brazil dropped daylight saving time in 2019; a local timestamp from an older summer would
/// be an hour off, which no live delivery carries.)
///
/// A value that cannot be read (a date in an unknown format, text where a number belongs, `""`
/// or an array where an object like `Customer` belongs) reads as `None` rather than failing a
/// delivery whose signature is valid.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Order {
    /// The order's UUID (`id` in the REST API).
    pub order_id: String,
    /// What happened to the order.
    pub webhook_event_type: EventType,
    /// Short public reference, 7 characters (`reference` in the REST API).
    #[serde(default, deserialize_with = "de::text")]
    pub order_ref: Option<String>,
    /// `paid`, `refused`, `refunded`, `chargedback`, `waiting_payment`, …
    #[serde(default, deserialize_with = "de::text")]
    pub order_status: Option<String>,
    /// Kind of product, e.g. `membership`.
    #[serde(default, deserialize_with = "de::text")]
    pub product_type: Option<String>,
    /// `credit_card`, `pix`, `boleto`, …
    #[serde(default, deserialize_with = "de::text")]
    pub payment_method: Option<String>,
    /// The account id.
    #[serde(default, deserialize_with = "de::text")]
    pub store_id: Option<String>,
    /// Processor id: a 20-digit string in real purchases, a number in test deliveries. Kept
    /// as text because 20 digits do not fit an `i64`.
    #[serde(default, deserialize_with = "de::text")]
    pub payment_merchant_id: Option<String>,
    /// Number of installments; absent for Pix and boleto.
    #[serde(default, deserialize_with = "de::count")]
    pub installments: Option<u32>,
    /// Card brand; absent for Pix and boleto.
    #[serde(default, deserialize_with = "de::text")]
    pub card_type: Option<String>,
    /// Last four card digits; absent for Pix and boleto.
    #[serde(default, deserialize_with = "de::text")]
    pub card_last4digits: Option<String>,
    /// Why the card was refused (`order_rejected`).
    #[serde(default, deserialize_with = "de::text")]
    pub card_rejection_reason: Option<String>,
    /// Boleto PDF link (the payload's `boleto_URL`).
    #[serde(rename = "boleto_URL", default, deserialize_with = "de::text")]
    pub boleto_url: Option<String>,
    /// Boleto barcode.
    #[serde(default, deserialize_with = "de::text")]
    pub boleto_barcode: Option<String>,
    /// Boleto due date (`DD/MM/YYYY` in the payload).
    #[serde(default, deserialize_with = "de::date")]
    pub boleto_expiry_date: Option<NaiveDate>,
    /// Pix copy-and-paste code.
    #[serde(default, deserialize_with = "de::text")]
    pub pix_code: Option<String>,
    /// When the Pix code expires (`DD/MM/YYYY HH:MM` Brasília time in the payload).
    #[serde(default, deserialize_with = "de::timestamp")]
    pub pix_expiration: Option<DateTime<FixedOffset>>,
    /// `producer`, `affiliate`, …: the receiving account's role in the sale.
    #[serde(default, deserialize_with = "de::text")]
    pub sale_type: Option<String>,
    /// When the order was created.
    #[serde(default, deserialize_with = "de::timestamp")]
    pub created_at: Option<DateTime<FixedOffset>>,
    /// When the order last changed.
    #[serde(default, deserialize_with = "de::timestamp")]
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// When payment was approved.
    #[serde(default, deserialize_with = "de::timestamp")]
    pub approved_date: Option<DateTime<FixedOffset>>,
    /// When the order was refunded.
    #[serde(default, deserialize_with = "de::timestamp")]
    pub refunded_at: Option<DateTime<FixedOffset>>,
    /// Checkout short code (not a URL).
    #[serde(default, deserialize_with = "de::text")]
    pub checkout_link: Option<String>,
    /// Subscription id; stays the same across renewals, each of which is a new order.
    #[serde(default, deserialize_with = "de::text")]
    pub subscription_id: Option<String>,
    /// Members' area link.
    #[serde(default, deserialize_with = "de::text")]
    pub access_url: Option<String>,
    /// The product bought.
    #[serde(rename = "Product", default, deserialize_with = "de::object")]
    pub product: Option<Product>,
    /// The buyer.
    #[serde(rename = "Customer", default, deserialize_with = "de::object")]
    pub customer: Option<Customer>,
    /// Amounts and who gets what.
    #[serde(rename = "Commissions", default, deserialize_with = "de::object")]
    pub commissions: Option<Commissions>,
    /// UTM and source parameters of the checkout visit.
    #[serde(
        rename = "TrackingParameters",
        default,
        deserialize_with = "de::object"
    )]
    pub tracking_parameters: Option<TrackingParameters>,
    /// Subscription state; present for subscription products only.
    #[serde(rename = "Subscription", default, deserialize_with = "de::object")]
    pub subscription: Option<Subscription>,
}

/// The payload's `Product`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Product {
    /// Product UUID.
    #[serde(deserialize_with = "de::text")]
    pub product_id: Option<String>,
    /// Product name.
    #[serde(deserialize_with = "de::text")]
    pub product_name: Option<String>,
}

/// The payload's `Customer`. Personal data: keep it out of logs.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Customer {
    /// Full name (`customer.name` in the REST API).
    #[serde(deserialize_with = "de::text")]
    pub full_name: Option<String>,
    /// First name.
    #[serde(deserialize_with = "de::text")]
    pub first_name: Option<String>,
    /// E-mail address.
    #[serde(deserialize_with = "de::text")]
    pub email: Option<String>,
    /// Phone number, international format.
    #[serde(deserialize_with = "de::text")]
    pub mobile: Option<String>,
    /// Individual taxpayer number (the payload's upper-case `CPF`).
    #[serde(rename = "CPF", deserialize_with = "de::text")]
    pub cpf: Option<String>,
    /// Company taxpayer number (lower-case `cnpj` in the payload).
    #[serde(deserialize_with = "de::text")]
    pub cnpj: Option<String>,
    /// Buyer's IP address.
    #[serde(deserialize_with = "de::text")]
    pub ip: Option<String>,
    /// Country code as sent (lower-case, e.g. `br`).
    #[serde(deserialize_with = "de::text")]
    pub country: Option<String>,
    /// Instagram handle.
    #[serde(deserialize_with = "de::text")]
    pub instagram: Option<String>,
    /// Street.
    #[serde(deserialize_with = "de::text")]
    pub street: Option<String>,
    /// House number.
    #[serde(deserialize_with = "de::text")]
    pub number: Option<String>,
    /// Address complement.
    #[serde(deserialize_with = "de::text")]
    pub complement: Option<String>,
    /// Neighbourhood (bairro).
    #[serde(deserialize_with = "de::text")]
    pub neighborhood: Option<String>,
    /// City.
    #[serde(deserialize_with = "de::text")]
    pub city: Option<String>,
    /// State code.
    #[serde(deserialize_with = "de::text")]
    pub state: Option<String>,
    /// Postal code (CEP).
    #[serde(deserialize_with = "de::text")]
    pub zipcode: Option<String>,
}

/// The payload's `Commissions`. Amounts are integers in cents.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Commissions {
    /// What the buyer was charged.
    #[serde(deserialize_with = "de::integer")]
    pub charge_amount: Option<i64>,
    /// The product's base price.
    #[serde(deserialize_with = "de::integer")]
    pub product_base_price: Option<i64>,
    /// Currency of `product_base_price`.
    #[serde(deserialize_with = "de::text")]
    pub product_base_price_currency: Option<String>,
    /// Kiwify's fee.
    #[serde(deserialize_with = "de::integer")]
    pub kiwify_fee: Option<i64>,
    /// Currency of `kiwify_fee`.
    #[serde(deserialize_with = "de::text")]
    pub kiwify_fee_currency: Option<String>,
    /// Settlement amount.
    #[serde(deserialize_with = "de::integer")]
    pub settlement_amount: Option<i64>,
    /// Currency of `settlement_amount`.
    #[serde(deserialize_with = "de::text")]
    pub settlement_amount_currency: Option<String>,
    /// Sales tax rate.
    #[serde(deserialize_with = "de::decimal")]
    pub sale_tax_rate: Option<f64>,
    /// Sales tax amount.
    #[serde(deserialize_with = "de::integer")]
    pub sale_tax_amount: Option<i64>,
    /// Everyone paid from this sale: producer, co-producers, affiliates.
    #[serde(deserialize_with = "de::list")]
    pub commissioned_stores: Vec<CommissionedStore>,
    /// Sale currency, e.g. `BRL`.
    #[serde(deserialize_with = "de::text")]
    pub currency: Option<String>,
    /// The receiving account's share.
    #[serde(deserialize_with = "de::integer")]
    pub my_commission: Option<i64>,
    /// State of the funds, e.g. `waiting`.
    #[serde(deserialize_with = "de::text")]
    pub funds_status: Option<String>,
    /// Expected payout date.
    #[serde(deserialize_with = "de::timestamp")]
    pub estimated_deposit_date: Option<DateTime<FixedOffset>>,
    /// Actual payout date.
    #[serde(deserialize_with = "de::timestamp")]
    pub deposit_date: Option<DateTime<FixedOffset>>,
}

/// One entry of `Commissions.commissioned_stores`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CommissionedStore {
    /// Account id.
    #[serde(deserialize_with = "de::text")]
    pub id: Option<String>,
    /// The payload's `type`: `producer`, `coproducer` or `affiliate`.
    #[serde(rename = "type", deserialize_with = "de::text")]
    pub kind: Option<String>,
    /// Affiliate code, for affiliates.
    #[serde(deserialize_with = "de::text")]
    pub affiliate_id: Option<String>,
    /// Display name.
    #[serde(deserialize_with = "de::text")]
    pub custom_name: Option<String>,
    /// E-mail address.
    #[serde(deserialize_with = "de::text")]
    pub email: Option<String>,
    /// Share in cents. Sent as a string (`"4715"`), unlike `my_commission`.
    #[serde(deserialize_with = "de::integer")]
    pub value: Option<i64>,
}

/// The payload's `TrackingParameters` (`tracking` in the REST API).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
#[allow(missing_docs)] // the names are the UTM and Kiwify parameter names
pub struct TrackingParameters {
    #[serde(deserialize_with = "de::text")]
    pub src: Option<String>,
    /// Echoes the checkout URL's `?sck=`.
    #[serde(deserialize_with = "de::text")]
    pub sck: Option<String>,
    #[serde(deserialize_with = "de::text")]
    pub utm_source: Option<String>,
    #[serde(deserialize_with = "de::text")]
    pub utm_medium: Option<String>,
    #[serde(deserialize_with = "de::text")]
    pub utm_campaign: Option<String>,
    #[serde(deserialize_with = "de::text")]
    pub utm_content: Option<String>,
    #[serde(deserialize_with = "de::text")]
    pub utm_term: Option<String>,
    #[serde(deserialize_with = "de::text")]
    pub s1: Option<String>,
    #[serde(deserialize_with = "de::text")]
    pub s2: Option<String>,
    #[serde(deserialize_with = "de::text")]
    pub s3: Option<String>,
}

/// The payload's `Subscription`. Its dates are ISO timestamps in UTC.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Subscription {
    /// Subscription id; may be missing while [`Order::subscription_id`] is set.
    #[serde(deserialize_with = "de::text")]
    pub id: Option<String>,
    /// When the subscription started.
    #[serde(deserialize_with = "de::timestamp")]
    pub start_date: Option<DateTime<FixedOffset>>,
    /// When the next charge is due.
    #[serde(deserialize_with = "de::timestamp")]
    pub next_payment: Option<DateTime<FixedOffset>>,
    /// `active`, `canceled`, …
    #[serde(deserialize_with = "de::text")]
    pub status: Option<String>,
    /// Whether the buyer can use the product, and until when.
    #[serde(deserialize_with = "de::object")]
    pub customer_access: Option<CustomerAccess>,
    /// The plan subscribed to.
    #[serde(deserialize_with = "de::object")]
    pub plan: Option<Plan>,
    /// Charges made and planned.
    #[serde(deserialize_with = "de::object")]
    pub charges: Option<Charges>,
}

/// `Subscription.customer_access`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CustomerAccess {
    /// Whether the buyer has access now.
    #[serde(deserialize_with = "de::flag")]
    pub has_access: Option<bool>,
    /// Whether the current period is paid for.
    #[serde(deserialize_with = "de::flag")]
    pub active_period: Option<bool>,
    /// End of access; moves to the end of the new period on renewal.
    #[serde(deserialize_with = "de::timestamp")]
    pub access_until: Option<DateTime<FixedOffset>>,
}

/// `Subscription.plan`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Plan {
    /// Plan id.
    #[serde(deserialize_with = "de::text")]
    pub id: Option<String>,
    /// Plan name.
    #[serde(deserialize_with = "de::text")]
    pub name: Option<String>,
    /// `weekly`, `monthly`, …
    #[serde(deserialize_with = "de::text")]
    pub frequency: Option<String>,
    /// Number of charges in the plan.
    #[serde(deserialize_with = "de::count")]
    pub qty_charges: Option<u32>,
}

/// `Subscription.charges`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Charges {
    /// Charges already made, each its own order.
    #[serde(deserialize_with = "de::list")]
    pub completed: Vec<CompletedCharge>,
    /// Charges planned.
    #[serde(deserialize_with = "de::list")]
    pub future: Vec<FutureCharge>,
}

/// An entry of `Subscription.charges.completed`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CompletedCharge {
    /// The order of this charge.
    #[serde(deserialize_with = "de::text")]
    pub order_id: Option<String>,
    /// Amount in cents.
    #[serde(deserialize_with = "de::integer")]
    pub amount: Option<i64>,
    /// Charge status, e.g. `paid`.
    #[serde(deserialize_with = "de::text")]
    pub status: Option<String>,
    /// Number of installments.
    #[serde(deserialize_with = "de::count")]
    pub installments: Option<u32>,
    /// Card brand.
    #[serde(deserialize_with = "de::text")]
    pub card_type: Option<String>,
    /// Last card digits (note: not `card_last4digits` here).
    #[serde(deserialize_with = "de::text")]
    pub card_last_digits: Option<String>,
    /// First card digits.
    #[serde(deserialize_with = "de::text")]
    pub card_first_digits: Option<String>,
    /// When the charge was made.
    #[serde(deserialize_with = "de::timestamp")]
    pub created_at: Option<DateTime<FixedOffset>>,
}

/// An entry of `Subscription.charges.future`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FutureCharge {
    /// When the charge is planned.
    #[serde(deserialize_with = "de::timestamp")]
    pub charge_date: Option<DateTime<FixedOffset>>,
}

// ---------------------------------------------------------------------------------------------
// Abandoned cart

/// An abandoned checkout (`carrinho_abandonado`): a flat, all-lower-case payload with no event
/// type. Personal data: keep it out of logs.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct AbandonedCart {
    /// Short random id (not a UUID); the deduplication key.
    pub id: String,
    /// `abandoned`.
    #[serde(default, deserialize_with = "de::text")]
    pub status: Option<String>,
    /// Checkout short code.
    #[serde(default, deserialize_with = "de::text")]
    pub checkout_link: Option<String>,
    /// Country code as sent.
    #[serde(default, deserialize_with = "de::text")]
    pub country: Option<String>,
    /// Individual taxpayer number (lower-case `cpf` here).
    #[serde(default, deserialize_with = "de::text")]
    pub cpf: Option<String>,
    /// Company taxpayer number.
    #[serde(default, deserialize_with = "de::text")]
    pub cnpj: Option<String>,
    /// When the checkout was abandoned (ISO, UTC).
    #[serde(default, deserialize_with = "de::timestamp")]
    pub created_at: Option<DateTime<FixedOffset>>,
    /// E-mail address.
    #[serde(default, deserialize_with = "de::text")]
    pub email: Option<String>,
    /// Name.
    #[serde(default, deserialize_with = "de::text")]
    pub name: Option<String>,
    /// Offer name.
    #[serde(default, deserialize_with = "de::text")]
    pub offer_name: Option<String>,
    /// Phone number, formatted, area code in parentheses.
    #[serde(default, deserialize_with = "de::text")]
    pub phone: Option<String>,
    /// Product UUID.
    #[serde(default, deserialize_with = "de::text")]
    pub product_id: Option<String>,
    /// Product name.
    #[serde(default, deserialize_with = "de::text")]
    pub product_name: Option<String>,
    /// The account id.
    #[serde(default, deserialize_with = "de::text")]
    pub store_id: Option<String>,
    /// Subscription plan, for subscription products.
    #[serde(default, deserialize_with = "de::text")]
    pub subscription_plan: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRIGGERS: [&str; 10] = [
        "compra_aprovada",
        "compra_recusada",
        "compra_reembolsada",
        "chargeback",
        "boleto_gerado",
        "pix_gerado",
        "carrinho_abandonado",
        "subscription_canceled",
        "subscription_late",
        "subscription_renewed",
    ];

    #[test]
    fn every_known_trigger_round_trips_and_maps_back() {
        assert_eq!(Trigger::NAMES, TRIGGERS);
        for name in TRIGGERS {
            let trigger: Trigger = name.into();
            assert!(
                !matches!(trigger, Trigger::Other(_)),
                "{name} should be known"
            );
            assert_eq!(trigger.as_str(), name);
            match trigger.event_type() {
                Some(event_type) => assert_eq!(event_type.trigger(), Some(trigger)),
                None => assert_eq!(trigger, Trigger::CarrinhoAbandonado),
            }
        }
    }

    #[test]
    fn unknown_names_are_kept() {
        assert_eq!(
            Trigger::from("order_paid"),
            Trigger::Other("order_paid".into())
        );
        assert_eq!(EventType::from("order_paid").as_str(), "order_paid");
        assert_eq!(EventType::from("order_paid").trigger(), None);
    }
}
