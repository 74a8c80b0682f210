//! Kiwify webhooks: typed events, signature verification, a signer for tests.

mod de;
mod event;
mod sign;
mod verify;

pub use event::{
    AbandonedCart, Charges, CommissionedStore, Commissions, CompletedCharge, Customer,
    CustomerAccess, Event, EventType, FutureCharge, IdempotencyKey, Order, Plan, Product, Shape,
    Subscription, Trigger, TrackingParameters,
};
pub use sign::Signer;
pub use verify::{Delivery, Rejection, TokenError, Verified, Verifier, DEFAULT_MAX_BODY_SIZE};

#[cfg(feature = "axum")]
pub mod axum;
