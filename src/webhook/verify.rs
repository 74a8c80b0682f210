//! Signature verification: raw bytes and a query string in, a verdict out.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::event::{self, Event, IdempotencyKey, Shape};
use super::sign::HmacSha1;

/// Default largest body [`Verifier`] accepts: 1 MiB. Real deliveries are a few kilobytes.
pub const DEFAULT_MAX_BODY_SIZE: usize = 1024 * 1024;

/// Length of a hex HMAC-SHA1 signature.
const SIGNATURE_HEX_LEN: usize = 40;

/// Why a delivery was refused. Each variant is one distinct failure; none of them means the
/// delivery might be genuine after all.
///
/// A wrong token and a tampered body are the same failure, [`Rejection::SignatureMismatch`]:
/// telling them apart would take the very secret the sender lacks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The body is larger than the verifier's limit ([`Verifier::with_max_body_size`]).
    #[error("webhook body exceeds the {limit}-byte limit")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// No `signature` in the query string, nor in the body of an envelope delivery.
    #[error("webhook delivery has no `signature`")]
    MissingSignature,
    /// The signature is not 40 characters long.
    #[error("webhook signature has {found} characters, expected 40")]
    SignatureLength {
        /// Characters received.
        found: usize,
    },
    /// The signature has characters outside `0-9a-f` (or, in an envelope, is not a string).
    #[error("webhook signature is not hexadecimal")]
    SignatureNotHex,
    /// The signature is upper-case hex. Kiwify sends lower-case, so this is not Kiwify.
    #[error("webhook signature is upper-case hex; Kiwify sends lower-case")]
    SignatureUppercase,
    /// The signature is well formed but matches neither the body nor an envelope's `order`
    /// under any configured token: a wrong token or altered bytes.
    #[error("webhook signature does not match the body under any configured token")]
    SignatureMismatch,
    /// The signature is valid but the body is not JSON.
    #[error("webhook body is not JSON: {0}")]
    NotJson(String),
    /// The signature is valid and the body is JSON, but not a Kiwify event (no `order_id`,
    /// no `webhook_event_type`, no cart `id`, …).
    #[error("webhook body is not a Kiwify event: {0}")]
    NotAnEvent(String),
    /// The request body could not be read (the connection failed while receiving it).
    #[error("webhook body could not be read: {0}")]
    BodyUnreadable(String),
}

impl Rejection {
    /// Whether the delivery failed authentication (as opposed to being too large or malformed).
    pub fn is_unauthenticated(&self) -> bool {
        matches!(
            self,
            Self::MissingSignature
                | Self::SignatureLength { .. }
                | Self::SignatureNotHex
                | Self::SignatureUppercase
                | Self::SignatureMismatch
        )
    }

    /// The HTTP status a receiver should answer with: 401 for a failed signature, 413 for a
    /// body over the limit, 400 for a malformed one.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::TooLarge { .. } => 413,
            _ if self.is_unauthenticated() => 401,
            _ => 400,
        }
    }

    fn from_decode_error(error: serde_json::Error) -> Self {
        if error.is_data() {
            Self::NotAnEvent(error.to_string())
        } else {
            Self::NotJson(error.to_string())
        }
    }
}

/// A configured token is empty, or none is configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// An empty token signs nothing: Kiwify "signs" token-less webhooks with an empty key,
    /// which anyone can reproduce.
    #[error("webhook token is empty; register the webhook with a long random token")]
    Empty,
    /// No token at all was given.
    #[error("no webhook token configured")]
    None,
}

/// Checks Kiwify webhook signatures against one or more tokens.
///
/// Several tokens are accepted at once so that a token can be rotated without losing
/// deliveries: configure the new and the old one, re-register the webhook, then drop the old.
/// Token values never appear in `Debug` output. Cloning is cheap (the tokens are shared).
#[derive(Clone)]
pub struct Verifier {
    tokens: Arc<[SecretString]>,
    max_body_size: usize,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Verifier")
            .field("tokens", &format_args!("[{} redacted]", self.tokens.len()))
            .field("max_body_size", &self.max_body_size)
            .finish()
    }
}

/// The part of a delivery its signature covers, once verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified<'a> {
    signed: &'a [u8],
    shape: Shape,
}

impl<'a> Verified<'a> {
    /// The bytes the signature covers: the whole body, or the `order` value of an envelope
    /// whose signature covers only that. Decode events from these bytes and nothing else.
    pub fn signed_bytes(&self) -> &'a [u8] {
        self.signed
    }

    /// Whether the signature covered an envelope's `order` value rather than the body.
    pub fn covers_envelope_order(&self) -> bool {
        self.shape == Shape::Envelope
    }
}

/// A verified, decoded delivery.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Delivery {
    /// The event.
    pub event: Event,
    /// Whether it came flat or in an envelope.
    pub shape: Shape,
}

impl Delivery {
    /// The deduplication key (see [`IdempotencyKey`]).
    pub fn idempotency_key(&self) -> IdempotencyKey {
        self.event.idempotency_key()
    }
}

impl Verifier {
    /// A verifier for one token.
    pub fn new(token: impl Into<SecretString>) -> Result<Self, TokenError> {
        Self::with_tokens([token])
    }

    /// A verifier accepting any of several tokens (during a rotation).
    pub fn with_tokens<I>(tokens: I) -> Result<Self, TokenError>
    where
        I: IntoIterator,
        I::Item: Into<SecretString>,
    {
        let tokens: Vec<SecretString> = tokens.into_iter().map(Into::into).collect();
        if tokens.is_empty() {
            return Err(TokenError::None);
        }
        if tokens.iter().any(|token| token.expose_secret().is_empty()) {
            return Err(TokenError::Empty);
        }
        Ok(Self {
            tokens: tokens.into(),
            max_body_size: DEFAULT_MAX_BODY_SIZE,
        })
    }

    /// Sets the largest body accepted, in bytes ([`DEFAULT_MAX_BODY_SIZE`] unless set).
    pub fn with_max_body_size(mut self, bytes: usize) -> Self {
        self.max_body_size = bytes;
        self
    }

    /// The largest body accepted, in bytes.
    pub fn max_body_size(&self) -> usize {
        self.max_body_size
    }

    /// Verifies a delivery and decodes its event.
    ///
    /// `query` is the request's query string (`token=x&signature=…`, with or without the
    /// leading `?`), its path and query (`/hook?token=x&signature=…`) or the full request URL
    /// (`https://…`); `body` is the raw body exactly as received. Input is read as a URL only
    /// when it starts with `http://`, `https://`, `/` or `?`, so a bare query may hold URLs in
    /// its values.
    pub fn receive(&self, query: &str, body: &[u8]) -> Result<Delivery, Rejection> {
        let verified = self.verify(query, body)?;
        let decoded = if verified.covers_envelope_order() {
            event::decode_flat(verified.signed).map(|event| (event, Shape::Envelope))
        } else {
            event::decode(verified.signed)
        };
        let (event, shape) = decoded.map_err(Rejection::from_decode_error)?;
        Ok(Delivery { event, shape })
    }

    /// Checks a delivery's signature without decoding its event.
    ///
    /// The signature is the query's `signature` parameter (the last one, since Kiwify appends
    /// it to the registered URL) or, failing that, the `signature` field of an envelope body.
    /// It must be 40 lower-case hex characters, and the HMAC-SHA1 under one of the tokens of
    /// either the whole body or, for an envelope, the exact bytes of its `order` value.
    pub fn verify<'a>(&self, query: &str, body: &'a [u8]) -> Result<Verified<'a>, Rejection> {
        if body.len() > self.max_body_size {
            return Err(Rejection::TooLarge {
                limit: self.max_body_size,
            });
        }

        // The body is only parsed when the query has no signature or the body does not match.
        let (signature, envelope) = match signature_from_query(query) {
            Some(signature) => (signature, None),
            None => {
                let mut envelope = EnvelopeParts::find(body);
                let signature = envelope
                    .signature
                    .take()
                    .ok_or(Rejection::MissingSignature)??;
                (Cow::Owned(signature), Some(envelope))
            }
        };
        let expected = decode_signature(&signature)?;

        if self.matches(body, &expected) {
            return Ok(Verified {
                signed: body,
                shape: Shape::Flat,
            });
        }
        let envelope = envelope.unwrap_or_else(|| EnvelopeParts::find(body));
        match envelope.order {
            Some(order) if self.matches(order, &expected) => Ok(Verified {
                signed: order,
                shape: Shape::Envelope,
            }),
            _ => Err(Rejection::SignatureMismatch),
        }
    }

    fn matches(&self, message: &[u8], expected: &[u8; 20]) -> bool {
        self.tokens.iter().any(|token| {
            match HmacSha1::new_from_slice(token.expose_secret().as_bytes()) {
                Ok(mut mac) => {
                    mac.update(message);
                    mac.verify_slice(expected).is_ok()
                }
                Err(_) => false,
            }
        })
    }
}

/// The envelope fields of a body, if it is an envelope (`{"url", "signature", "order"}`).
#[derive(Default)]
struct EnvelopeParts<'a> {
    /// The body's `signature` field, or the rejection it earns if it is not a string.
    signature: Option<Result<String, Rejection>>,
    /// The exact bytes of the `order` object.
    order: Option<&'a [u8]>,
}

impl<'a> EnvelopeParts<'a> {
    fn find(body: &'a [u8]) -> Self {
        #[derive(Deserialize)]
        struct Probe<'a> {
            #[serde(default, borrow)]
            order: Option<&'a RawValue>,
            #[serde(default, borrow)]
            signature: Option<&'a RawValue>,
        }

        // Anything that is not a JSON object with an object `order` is simply not an envelope.
        let Ok(probe) = serde_json::from_slice::<Probe<'_>>(body) else {
            return Self::default();
        };
        let Some(order) = probe.order.filter(|order| order.get().starts_with('{')) else {
            return Self::default();
        };
        let signature = probe.signature.and_then(|raw| {
            match serde_json::from_str::<Option<String>>(raw.get()) {
                Ok(Some(text)) if text.is_empty() => None,
                Ok(text) => text.map(Ok),
                Err(_) => Some(Err(Rejection::SignatureNotHex)),
            }
        });
        Self {
            signature,
            order: Some(order.get().as_bytes()),
        }
    }
}

/// The last non-empty `signature` parameter of a query string or URL.
///
/// The input is a URL only when it starts like one (`http://`, `https://`, `/` or `?`);
/// anything else is a bare query, which may itself hold `://` or `?` in its values
/// (`next=https://x?y=1&signature=…`).
fn signature_from_query(query: &str) -> Option<Cow<'_, str>> {
    let query = if looks_like_url(query) {
        query.split_once('?').map_or("", |(_, after)| after)
    } else {
        query
    };
    let query = query.split_once('#').map_or(query, |(before, _)| before);

    form_urlencoded::parse(query.as_bytes())
        .filter(|(name, value)| name == "signature" && !value.is_empty())
        .map(|(_, value)| value)
        .last()
}

/// Whether `input` is a full URL, a path, or a query with its leading `?`.
fn looks_like_url(input: &str) -> bool {
    let has_prefix = |prefix: &str| {
        input
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    };
    input.starts_with('/')
        || input.starts_with('?')
        || has_prefix("http://")
        || has_prefix("https://")
}

/// Decodes 40 lower-case hex characters.
fn decode_signature(signature: &str) -> Result<[u8; 20], Rejection> {
    let found = signature.chars().count();
    if found != SIGNATURE_HEX_LEN {
        return Err(Rejection::SignatureLength { found });
    }
    if !signature.is_ascii() {
        return Err(Rejection::SignatureNotHex);
    }

    let mut uppercase = false;
    let mut bytes = [0u8; 20];
    for (byte, pair) in bytes.iter_mut().zip(signature.as_bytes().chunks_exact(2)) {
        let (high, low) = match (hex_digit(pair[0]), hex_digit(pair[1])) {
            (Some(high), Some(low)) => (high, low),
            _ => return Err(Rejection::SignatureNotHex),
        };
        uppercase |= high.1 || low.1;
        *byte = (high.0 << 4) | low.0;
    }

    if uppercase {
        return Err(Rejection::SignatureUppercase);
    }
    Ok(bytes)
}

/// A hex digit's value, and whether it was an upper-case letter.
fn hex_digit(character: u8) -> Option<(u8, bool)> {
    match character {
        b'0'..=b'9' => Some((character - b'0', false)),
        b'a'..=b'f' => Some((character - b'a' + 10, false)),
        b'A'..=b'F' => Some((character - b'A' + 10, true)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_found_in_query_strings_and_urls() {
        let hex = "0123456789abcdef0123456789abcdef01234567";
        let cases = [
            format!("signature={hex}"),
            format!("?signature={hex}"),
            format!("token=abc&signature={hex}"),
            format!("https://example.com/hook?token=abc&signature={hex}#frag"),
            format!("/hook?signature={hex}"),
            format!("signature=stale&signature={hex}"),
            // A registered query whose values hold `://`, `?` and `&`, given bare or as a URL.
            format!("next=https://x.test/a?b=1&c=2&signature={hex}"),
            format!("next=https%3A%2F%2Fx.test&signature={hex}"),
            format!("https://host.test/hook?next=https://x.test/a?b=1&signature={hex}"),
            format!("HTTPS://host.test/hook?next=https://x.test&signature={hex}"),
            format!("/hook?next=https://x.test&signature={hex}"),
        ];
        for query in cases {
            assert_eq!(
                signature_from_query(&query).as_deref(),
                Some(hex),
                "{query}"
            );
        }
    }

    #[test]
    fn no_or_empty_signature_is_none() {
        assert_eq!(signature_from_query(""), None);
        assert_eq!(signature_from_query("signature="), None);
        assert_eq!(signature_from_query("https://example.com/hook"), None);
        assert_eq!(signature_from_query("https://example.com/hook?sig=1"), None);
    }

    #[test]
    fn signature_decoding_names_each_fault() {
        let good = "00ff10ab".repeat(5);
        assert_eq!(
            decode_signature(&good).ok().map(|bytes| bytes[1]),
            Some(0xff)
        );
        assert!(matches!(
            decode_signature("abc"),
            Err(Rejection::SignatureLength { found: 3 })
        ));
        assert!(matches!(
            decode_signature(&"zz".repeat(20)),
            Err(Rejection::SignatureNotHex)
        ));
        assert!(matches!(
            decode_signature(&good.to_uppercase()),
            Err(Rejection::SignatureUppercase)
        ));
        // Lengths count characters, not bytes.
        let multibyte = format!("{}é", "a".repeat(38));
        assert!(matches!(
            decode_signature(&multibyte),
            Err(Rejection::SignatureLength { found: 39 })
        ));
        let forty_characters = format!("{}é", "a".repeat(39));
        assert!(matches!(
            decode_signature(&forty_characters),
            Err(Rejection::SignatureNotHex)
        ));
    }

    #[test]
    fn empty_or_missing_tokens_are_refused() {
        assert_eq!(Verifier::new("").err(), Some(TokenError::Empty));
        assert_eq!(
            Verifier::with_tokens(["good", ""]).err(),
            Some(TokenError::Empty)
        );
        assert_eq!(
            Verifier::with_tokens(Vec::<String>::new()).err(),
            Some(TokenError::None)
        );
    }

    #[test]
    fn debug_never_prints_tokens() {
        let verifier = Verifier::with_tokens(["s3cr3t-token", "0ld-token"]).expect("tokens");
        let debug = format!("{verifier:?}");
        assert!(
            !debug.contains("s3cr3t") && !debug.contains("0ld"),
            "{debug}"
        );
        assert!(debug.contains("2 redacted"), "{debug}");
    }
}
