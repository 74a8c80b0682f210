//! Producing what Kiwify sends, for tests of a receiver.

use std::fmt::{self, Write as _};

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;

pub(crate) type HmacSha1 = Hmac<Sha1>;

/// Signs webhook deliveries the way Kiwify does: lower-case hex HMAC-SHA1 of the raw body,
/// keyed with the webhook's token.
///
/// Meant for tests: build a delivery, sign it, and feed it to the receiver under test. Unlike
/// [`Verifier`](super::Verifier), a signer accepts an empty token, because Kiwify signs
/// token-less webhooks with an empty key too.
#[derive(Clone)]
pub struct Signer {
    token: SecretString,
}

impl fmt::Debug for Signer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Signer")
            .field("token", &"[redacted]")
            .finish()
    }
}

impl Signer {
    /// A signer for a webhook's token.
    pub fn new(token: impl Into<SecretString>) -> Self {
        Self {
            token: token.into(),
        }
    }

    /// The 40-character lower-case hex signature of `body`.
    pub fn sign(&self, body: &[u8]) -> String {
        hex(&hmac_sha1(self.token.expose_secret().as_bytes(), body))
    }

    /// The query string Kiwify sends with `body`: `signature=<hex>`.
    pub fn query(&self, body: &[u8]) -> String {
        format!("signature={}", self.sign(body))
    }

    /// The URL Kiwify posts `body` to: the registered `url` with `signature` appended, after
    /// `&` if the URL already has a query string and `?` otherwise.
    pub fn delivery_url(&self, url: &str, body: &[u8]) -> String {
        let separator = match url.split_once('?') {
            None => "?",
            Some((_, "")) => "",
            Some((_, query)) if query.ends_with('&') => "",
            Some(_) => "&",
        };
        format!("{url}{separator}{}", self.query(body))
    }

    /// An envelope delivery body, `{"url":…,"signature":…,"order":…}`, whose signature covers
    /// exactly the bytes of `order` (which should be a JSON object, as Kiwify's is).
    pub fn envelope(&self, url: &str, order: &str) -> String {
        let url = serde_json::Value::String(url.to_owned());
        let signature = self.sign(order.as_bytes());
        format!(r#"{{"url":{url},"signature":"{signature}","order":{order}}}"#)
    }
}

/// HMAC-SHA1 of `message` under `key`.
pub(crate) fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    // HMAC takes keys of any length, so this never fails; the fallback only avoids a panic path.
    let Ok(mut mac) = HmacSha1::new_from_slice(key) else {
        return [0; 20];
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All seven HMAC-SHA1 test cases of RFC 2202, section 3.
    #[test]
    fn rfc_2202_test_vectors() {
        let long_message =
            b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data";
        let cases: [(Vec<u8>, Vec<u8>, &str); 7] = [
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b617318655057264e28bc0b6fb378c8ef146be00",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            ),
            (
                vec![0xaa; 20],
                vec![0xdd; 50],
                "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
            ),
            (
                (1..=25).collect(),
                vec![0xcd; 50],
                "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
            ),
            (
                vec![0x0c; 20],
                b"Test With Truncation".to_vec(),
                "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
            ),
            (
                vec![0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "aa4ae5e15272d00e95705637ce8a3b55ed402112",
            ),
            (
                vec![0xaa; 80],
                long_message.to_vec(),
                "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
            ),
        ];
        for (number, (key, message, expected)) in cases.iter().enumerate() {
            assert_eq!(
                hex(&hmac_sha1(key, message)),
                *expected,
                "RFC 2202 case {}",
                number + 1
            );
        }
    }

    #[test]
    fn delivery_url_appends_with_the_right_separator() {
        let signer = Signer::new("token");
        let signature = signer.sign(b"{}");
        assert_eq!(
            signer.delivery_url("https://x.test/hook", b"{}"),
            format!("https://x.test/hook?signature={signature}")
        );
        assert_eq!(
            signer.delivery_url("https://x.test/hook?token=a", b"{}"),
            format!("https://x.test/hook?token=a&signature={signature}")
        );
        assert_eq!(
            signer.delivery_url("https://x.test/hook?", b"{}"),
            format!("https://x.test/hook?signature={signature}")
        );
    }

    #[test]
    fn debug_never_prints_the_token() {
        let debug = format!("{:?}", Signer::new("hunter2-token"));
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
