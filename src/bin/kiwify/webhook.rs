//! `kiwify webhook verify`: checks a delivery exactly as a receiver would.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use kiwify::webhook::{Event, Shape, Verifier};
use serde_json::json;

use crate::output::{self, Failure, Outcome};

pub fn verify(
    tokens: Vec<String>,
    signature: Option<String>,
    url: Option<String>,
    file: Option<&Path>,
) -> Outcome {
    let verifier = Verifier::with_tokens(tokens)
        .map_err(|error| Failure::new(format!("webhook rejected: {error}")))?;
    let body = read_body(file, verifier.max_body_size())?;
    let query = match (signature, url) {
        (Some(signature), _) => format!("signature={signature}"),
        (None, Some(url)) => url,
        (None, None) => String::new(),
    };

    let delivery = verifier
        .receive(&query, &body)
        .map_err(|rejection| Failure::new(format!("webhook rejected: {rejection}")))?;
    let shape = match delivery.shape {
        Shape::Envelope => "envelope",
        _ => "flat",
    };
    let (order_id, cart_id) = match &delivery.event {
        Event::Order(order) => (Some(order.order_id.as_str()), None),
        Event::AbandonedCart(cart) => (None, Some(cart.id.as_str())),
        _ => (None, None),
    };
    output::document(&json!({
        "event_type": delivery.event.event_type(),
        "trigger": delivery.event.trigger(),
        "order_id": order_id,
        "cart_id": cart_id,
        "idempotency_key": delivery.idempotency_key().to_string(),
        "shape": shape,
        "event": delivery.event,
    }))
}

/// The body from `file`, or stdin for none or `-`; one byte over `limit` is enough for the
/// verifier to refuse it, so no more is read.
fn read_body(file: Option<&Path>, limit: usize) -> Result<Vec<u8>, Failure> {
    let limit = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut body = Vec::new();
    let read = match file {
        Some(path) if path != Path::new("-") => File::open(path)
            .and_then(|file| file.take(limit).read_to_end(&mut body))
            .map_err(|error| Failure::new(format!("cannot read {}: {error}", path.display()))),
        _ => io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut body)
            .map_err(|error| Failure::new(format!("cannot read stdin: {error}"))),
    };
    read.map(|_| body)
}
