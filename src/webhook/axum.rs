//! [axum] integration (feature `axum`): an extractor that hands a handler only verified
//! deliveries.
//!
//! Put a [`Verifier`] in the router state (or anything it can be taken from with
//! [`FromRef`]) and take [`VerifiedWebhook`] as the handler's last argument. Refused deliveries
//! never reach the handler: they are answered with the [`Rejection`]'s
//! [status](Rejection::http_status) — 401 for a bad signature, 413 for a body over the limit,
//! 400 for a malformed one — and its message as plain text.
//!
//! Answer 2xx quickly, including for events you ignore: Kiwify retries anything else. Queue
//! the work, and deduplicate on [`Delivery::idempotency_key`].
//!
//! ```no_run
//! use axum::{routing::post, Router};
//! use kiwify::webhook::{axum::VerifiedWebhook, Verifier};
//!
//! async fn kiwify_webhook(VerifiedWebhook(delivery): VerifiedWebhook) -> &'static str {
//!     println!("received {}", delivery.idempotency_key());
//!     "ok"
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::new(std::env::var("KIWIFY_WEBHOOK_TOKEN")?)?;
//! let app = Router::new().route("/webhooks/kiwify", post(kiwify_webhook)).with_state(verifier);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::{Delivery, Rejection, Verifier};

/// A delivery whose signature checked out, decoded.
#[derive(Clone, Debug)]
pub struct VerifiedWebhook(pub Delivery);

impl<S> FromRequest<S> for VerifiedWebhook
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        let limit = verifier.max_body_size();

        // Refuse an announced oversize body before reading any of it.
        let announced = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if announced.is_some_and(|length| length > limit as u64) {
            return Err(Rejection::TooLarge { limit });
        }

        // The path and query, not the bare query: it always starts with `/`, so the verifier
        // reads it as a URL whatever the registered query's values hold.
        let path_and_query = request.uri().path_and_query().map_or_else(
            || "/".to_owned(),
            |path_and_query| path_and_query.as_str().to_owned(),
        );
        let body = read_body(request.into_body(), limit).await?;
        verifier.receive(&path_and_query, &body).map(Self)
    }
}

/// Reads at most `limit` bytes of body.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, Rejection> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(Rejection::TooLarge { limit }),
        Err(error) => Err(Rejection::BodyUnreadable(error.to_string())),
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        (status, self.to_string()).into_response()
    }
}
