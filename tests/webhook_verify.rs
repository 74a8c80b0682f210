//! Signature verification: known answers, every rejection, and tamper properties.

use kiwify::webhook::{Rejection, Shape, Signer, TokenError, Verifier};
use proptest::prelude::*;

/// The token the fixtures were signed with.
const TOKEN: &str = "fixture-token-7d2f9c";

const ORDER_APPROVED: &[u8] = include_bytes!("fixtures/webhooks/order_approved.json");
const PIX_CREATED: &[u8] = include_bytes!("fixtures/webhooks/pix_created.json");
const SUBSCRIPTION_RENEWED: &[u8] = include_bytes!("fixtures/webhooks/subscription_renewed.json");
const ABANDONED_CART: &[u8] = include_bytes!("fixtures/webhooks/abandoned_cart.json");
const ENVELOPE: &[u8] = include_bytes!("fixtures/webhooks/envelope_order_approved.json");

fn verifier() -> Verifier {
    Verifier::new(TOKEN).expect("non-empty token")
}

fn signed_query(body: &[u8]) -> String {
    Signer::new(TOKEN).query(body)
}

fn rejection(query: &str, body: &[u8]) -> Rejection {
    match verifier().receive(query, body) {
        Ok(delivery) => panic!("accepted {:?}", delivery.idempotency_key()),
        Err(rejection) => rejection,
    }
}

// --- known answers ------------------------------------------------------------------------

/// RFC 2202 HMAC-SHA1 cases whose keys are valid UTF-8 (tokens are strings); the unit tests in
/// `src/webhook/sign.rs` cover all seven through the raw-bytes function.
#[test]
fn rfc_2202_vectors_sign_and_verify() {
    let cases: [(Vec<u8>, &[u8], &str); 4] = [
        (
            vec![0x0b; 20],
            b"Hi There",
            "b617318655057264e28bc0b6fb378c8ef146be00",
        ),
        (
            b"Jefe".to_vec(),
            b"what do ya want for nothing?",
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
        ),
        (
            (1..=25).collect(),
            &[0xcd; 50],
            "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
        ),
        (
            vec![0x0c; 20],
            b"Test With Truncation",
            "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
        ),
    ];
    for (key, message, expected) in cases {
        let key = String::from_utf8(key).expect("ASCII key");
        assert_eq!(Signer::new(key.clone()).sign(message), expected);

        let verifier = Verifier::new(key).expect("non-empty key");
        let verified = verifier.verify(&format!("signature={expected}"), message);
        assert_eq!(
            verified.map(|verified| verified.signed_bytes()),
            Ok(message)
        );
    }
}

/// Signatures of the fixtures computed by an independent HMAC implementation.
#[test]
fn fixtures_match_independently_computed_signatures() {
    let cases: [(&[u8], &str); 5] = [
        (ORDER_APPROVED, "eeac9d618a13dfbc5f6c8214fe7755ecabda02fa"),
        (PIX_CREATED, "8cf82a5df125a8696b9477c93fc2cffdf61c13d4"),
        (
            SUBSCRIPTION_RENEWED,
            "bbd769ac4e82e50a7576f032df13b2960c546a0e",
        ),
        (ABANDONED_CART, "38bfa8468e122f57acd8002b739d38a63b3ebb58"),
        (ENVELOPE, "376c1b8bfa2b5db06981d9e1e45a7f599a8155f0"),
    ];
    for (body, signature) in cases {
        assert_eq!(Signer::new(TOKEN).sign(body), signature);
        let delivery = verifier().receive(&format!("signature={signature}"), body);
        assert!(delivery.is_ok(), "{signature}: {delivery:?}");
    }
}

#[test]
fn signature_is_read_from_a_query_string_or_a_full_url() {
    let signer = Signer::new(TOKEN);
    let queries = [
        signer.query(ORDER_APPROVED),
        format!("?{}", signer.query(ORDER_APPROVED)),
        format!("token=abc123&{}", signer.query(ORDER_APPROVED)),
        signer.delivery_url("https://hooks.example.com/kiwify", ORDER_APPROVED),
        signer.delivery_url(
            "https://hooks.example.com/kiwify?token=abc123",
            ORDER_APPROVED,
        ),
    ];
    for query in queries {
        let delivery = verifier().receive(&query, ORDER_APPROVED).expect(&query);
        assert_eq!(delivery.shape, Shape::Flat);
        assert_eq!(
            delivery.idempotency_key().to_string(),
            "3f6b1c2e-8a4d-4e5f-9b7a-1c2d3e4f5a6b:order_approved"
        );
    }
}

/// A registered URL whose query holds a URL (`://`, `?`) and several `&`-joined parameters:
/// Kiwify appends `&signature=…`, and the receiver may hand over the full URL, the path and
/// query, or the bare query. All three must find the signature.
#[test]
fn registered_query_holding_a_url_is_read_in_every_form() {
    let signer = Signer::new(TOKEN);
    for registered in [
        "https://hooks.example.com/kiwify?next=https://x.test/a&c=2",
        "https://hooks.example.com/kiwify?next=https://x.test/a?b=1&c=2",
    ] {
        let url = signer.delivery_url(registered, ORDER_APPROVED);
        let (_, path_and_query) = url.split_at("https://hooks.example.com".len());
        let (_, bare_query) = url.split_once('?').expect("a query");

        for query in [url.as_str(), path_and_query, bare_query] {
            let delivery = verifier().receive(query, ORDER_APPROVED).expect(query);
            assert_eq!(
                delivery.idempotency_key().to_string(),
                "3f6b1c2e-8a4d-4e5f-9b7a-1c2d3e4f5a6b:order_approved",
                "{query}"
            );
        }

        // The same forms with a wrong signature are refused as a mismatch, not as missing.
        let forged = Signer::new("other-token").delivery_url(registered, ORDER_APPROVED);
        let (_, forged_bare) = forged.split_once('?').expect("a query");
        for query in [forged.as_str(), forged_bare] {
            assert_eq!(
                rejection(query, ORDER_APPROVED),
                Rejection::SignatureMismatch,
                "{query}"
            );
        }
    }
}

#[test]
fn any_configured_token_is_accepted_during_rotation() {
    let verifier = Verifier::with_tokens(["new-token-b", "old-token-a"]).expect("tokens");
    for token in ["old-token-a", "new-token-b"] {
        let query = Signer::new(token).query(PIX_CREATED);
        assert!(verifier.receive(&query, PIX_CREATED).is_ok(), "{token}");
    }

    let query = Signer::new("retired-token").query(PIX_CREATED);
    assert_eq!(
        verifier.receive(&query, PIX_CREATED).err(),
        Some(Rejection::SignatureMismatch)
    );
}

#[test]
fn an_empty_token_is_refused_at_configuration() {
    assert_eq!(Verifier::new("").err(), Some(TokenError::Empty));
    assert_eq!(
        Verifier::with_tokens(["real-token", ""]).err(),
        Some(TokenError::Empty)
    );
}

// --- envelope ------------------------------------------------------------------------------

#[test]
fn envelope_signature_covers_the_order_bytes() {
    let delivery = verifier().receive("", ENVELOPE).expect("envelope verifies");
    assert_eq!(delivery.shape, Shape::Envelope);

    let flat = verifier()
        .receive(&signed_query(ORDER_APPROVED), ORDER_APPROVED)
        .expect("flat");
    assert_eq!(delivery.event, flat.event);

    let verified = verifier().verify("", ENVELOPE).expect("envelope verifies");
    assert!(verified.covers_envelope_order());
    assert_eq!(verified.signed_bytes(), ORDER_APPROVED);
}

#[test]
fn envelope_made_by_the_signer_round_trips() {
    let order = std::str::from_utf8(SUBSCRIPTION_RENEWED).expect("UTF-8 fixture");
    let body = Signer::new(TOKEN).envelope("https://hooks.example.com/k?x=\"1\"", order);
    let delivery = verifier()
        .receive("", body.as_bytes())
        .expect("envelope verifies");
    assert_eq!(delivery.shape, Shape::Envelope);
    assert_eq!(
        delivery.idempotency_key().to_string(),
        "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e:subscription_renewed"
    );
}

#[test]
fn envelope_signed_as_a_whole_in_the_query_is_accepted() {
    let delivery = verifier()
        .receive(&signed_query(ENVELOPE), ENVELOPE)
        .expect("whole body");
    assert_eq!(delivery.shape, Shape::Envelope);
    assert!(
        !verifier()
            .verify(&signed_query(ENVELOPE), ENVELOPE)
            .expect("ok")
            .covers_envelope_order()
    );
}

#[test]
fn tampered_envelope_order_is_rejected() {
    let text = std::str::from_utf8(ENVELOPE).expect("UTF-8 fixture");
    let tampered = text.replace("\"charge_amount\":29700", "\"charge_amount\":29701");
    assert_ne!(tampered, text);
    assert_eq!(
        rejection("", tampered.as_bytes()),
        Rejection::SignatureMismatch
    );
}

/// Only the `order` value is signed in an envelope, so the event must come from those bytes
/// alone: an edited `url` changes nothing the receiver reports.
#[test]
fn envelope_fields_outside_the_order_are_not_trusted() {
    let text = std::str::from_utf8(ENVELOPE).expect("UTF-8 fixture");
    let edited = text.replace("hooks.example.com", "attacker.example.net");
    let delivery = verifier()
        .receive("", edited.as_bytes())
        .expect("order bytes still signed");
    let original = verifier().receive("", ENVELOPE).expect("original");
    assert_eq!(delivery, original);
}

#[test]
fn a_signature_field_in_a_flat_body_is_not_a_signature() {
    let body = br#"{"order_id":"1","webhook_event_type":"order_approved","signature":"0000000000000000000000000000000000000000"}"#;
    assert_eq!(rejection("", body), Rejection::MissingSignature);
}

// --- each rejection ------------------------------------------------------------------------

#[test]
fn missing_signature() {
    assert_eq!(rejection("", ORDER_APPROVED), Rejection::MissingSignature);
    assert_eq!(
        rejection("token=abc123", ORDER_APPROVED),
        Rejection::MissingSignature
    );
    assert_eq!(
        rejection("signature=", ORDER_APPROVED),
        Rejection::MissingSignature
    );
    assert_eq!(
        rejection("https://hooks.example.com/kiwify", ORDER_APPROVED),
        Rejection::MissingSignature
    );
}

#[test]
fn wrong_length() {
    let signature = Signer::new(TOKEN).sign(ORDER_APPROVED);
    assert_eq!(
        rejection(&format!("signature={}", &signature[..39]), ORDER_APPROVED),
        Rejection::SignatureLength { found: 39 }
    );
    assert_eq!(
        rejection(&format!("signature={signature}0"), ORDER_APPROVED),
        Rejection::SignatureLength { found: 41 }
    );
}

#[test]
fn non_hex() {
    let signature = Signer::new(TOKEN).sign(ORDER_APPROVED);
    let non_hex = format!("g{}", &signature[1..]);
    assert_eq!(
        rejection(&format!("signature={non_hex}"), ORDER_APPROVED),
        Rejection::SignatureNotHex
    );
}

#[test]
fn upper_case_hex_is_its_own_rejection() {
    // Make sure the signature has a letter to upper-case.
    let signature = Signer::new(TOKEN).sign(ORDER_APPROVED);
    assert!(signature.bytes().any(|byte| byte.is_ascii_lowercase()));
    let query = format!("signature={}", signature.to_uppercase());
    assert_eq!(
        rejection(&query, ORDER_APPROVED),
        Rejection::SignatureUppercase
    );
}

#[test]
fn tampered_body() {
    let query = signed_query(ORDER_APPROVED);
    let text = std::str::from_utf8(ORDER_APPROVED).expect("UTF-8 fixture");
    let tampered = text.replace("\"order_status\":\"paid\"", "\"order_status\":\"paiD\"");
    assert_ne!(tampered, text);
    assert_eq!(
        rejection(&query, tampered.as_bytes()),
        Rejection::SignatureMismatch
    );

    let mut extended = ORDER_APPROVED.to_vec();
    extended.push(b' ');
    assert_eq!(rejection(&query, &extended), Rejection::SignatureMismatch);
}

#[test]
fn wrong_token() {
    let query = Signer::new("some-other-token").query(ORDER_APPROVED);
    assert_eq!(
        rejection(&query, ORDER_APPROVED),
        Rejection::SignatureMismatch
    );
}

/// Approaches known not to be Kiwify's scheme fail.
#[test]
fn known_broken_schemes_are_rejected() {
    // HMAC-SHA256 hex is 64 characters; base64 of an HMAC-SHA1 is 28.
    let sha256_hex = "a".repeat(64);
    assert_eq!(
        rejection(&format!("signature={sha256_hex}"), ORDER_APPROVED),
        Rejection::SignatureLength { found: 64 }
    );
    assert_eq!(
        rejection("signature=7qydYYoT37xfbIIU%2FndV7KvaAvo%3D", ORDER_APPROVED),
        Rejection::SignatureLength { found: 28 }
    );
    // The token itself is not a signature.
    assert_eq!(
        rejection(&format!("signature={TOKEN}"), ORDER_APPROVED),
        Rejection::SignatureLength { found: TOKEN.len() }
    );
    // What a token-less webhook sends: the body "signed" with an empty key.
    let empty_key = Signer::new("").sign(ORDER_APPROVED);
    assert_eq!(
        rejection(&format!("signature={empty_key}"), ORDER_APPROVED),
        Rejection::SignatureMismatch
    );
}

#[test]
fn body_that_is_not_json() {
    let body = b"order_id=1&status=paid";
    assert!(matches!(
        rejection(&signed_query(body), body),
        Rejection::NotJson(_)
    ));
    assert!(matches!(
        rejection(&signed_query(b""), b""),
        Rejection::NotJson(_)
    ));

    let truncated = &ORDER_APPROVED[..ORDER_APPROVED.len() - 1];
    assert!(matches!(
        rejection(&signed_query(truncated), truncated),
        Rejection::NotJson(_)
    ));
}

#[test]
fn json_that_is_not_an_event() {
    for body in [
        &br#"{"hello":"world"}"#[..],
        b"[]",
        b"42",
        br#"{"webhook_event_type":"order_approved"}"#,
    ] {
        let rejection = rejection(&signed_query(body), body);
        assert!(
            matches!(rejection, Rejection::NotAnEvent(_)),
            "{rejection:?}"
        );
    }
}

#[test]
fn body_of_several_megabytes() {
    // Signed correctly, so only its size can be the reason.
    let mut body = ORDER_APPROVED.to_vec();
    body.resize(3 * 1024 * 1024, b' ');
    assert_eq!(
        rejection(&signed_query(&body), &body),
        Rejection::TooLarge { limit: 1024 * 1024 }
    );
}

#[test]
fn body_limit_is_configurable() {
    let verifier = verifier().with_max_body_size(1000);
    assert_eq!(verifier.max_body_size(), 1000);
    assert_eq!(
        verifier
            .receive(&signed_query(ORDER_APPROVED), ORDER_APPROVED)
            .err(),
        Some(Rejection::TooLarge { limit: 1000 })
    );
    let larger = Verifier::new(TOKEN)
        .expect("token")
        .with_max_body_size(ORDER_APPROVED.len());
    assert!(
        larger
            .receive(&signed_query(ORDER_APPROVED), ORDER_APPROVED)
            .is_ok()
    );
}

#[test]
fn rejections_map_to_http_statuses() {
    assert_eq!(Rejection::MissingSignature.http_status(), 401);
    assert_eq!(Rejection::SignatureUppercase.http_status(), 401);
    assert_eq!(Rejection::SignatureMismatch.http_status(), 401);
    assert_eq!(Rejection::TooLarge { limit: 1 }.http_status(), 413);
    assert_eq!(Rejection::NotJson(String::new()).http_status(), 400);
    assert_eq!(Rejection::NotAnEvent(String::new()).http_status(), 400);
    assert!(Rejection::SignatureNotHex.is_unauthenticated());
    assert!(!Rejection::TooLarge { limit: 1 }.is_unauthenticated());
}

#[test]
fn rejections_display_what_failed() {
    assert_eq!(
        Rejection::SignatureLength { found: 39 }.to_string(),
        "webhook signature has 39 characters, expected 40"
    );
    assert_eq!(
        Rejection::TooLarge { limit: 1024 }.to_string(),
        "webhook body exceeds the 1024-byte limit"
    );
}

// --- properties ----------------------------------------------------------------------------

fn flat_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(ORDER_APPROVED.to_vec()),
        Just(PIX_CREATED.to_vec()),
        Just(ABANDONED_CART.to_vec()),
        proptest::collection::vec(any::<u8>(), 0..512),
    ]
}

proptest! {
    #[test]
    fn changing_any_body_byte_fails_verification(
        body in flat_body(),
        index in any::<prop::sample::Index>(),
        flip in 1..=255u8,
    ) {
        prop_assume!(!body.is_empty());
        let query = signed_query(&body);
        prop_assert!(verifier().verify(&query, &body).is_ok());

        let mut tampered = body.clone();
        tampered[index.index(body.len())] ^= flip;
        prop_assert_eq!(verifier().verify(&query, &tampered).err(), Some(Rejection::SignatureMismatch));
    }

    #[test]
    fn changing_any_signature_byte_fails_verification(
        body in flat_body(),
        index in 0..40usize,
        replacement in any::<u8>(),
    ) {
        let mut signature = Signer::new(TOKEN).sign(&body).into_bytes();
        prop_assume!(signature[index] != replacement);
        signature[index] = replacement;
        // Keep the query well formed whatever the byte: percent-encode it.
        let query: String = signature.iter().map(|byte| format!("%{byte:02X}")).collect();
        let result = verifier().verify(&format!("signature={query}"), &body);
        prop_assert!(result.is_err(), "accepted a changed signature");
        prop_assert!(result.err().is_some_and(|rejection| rejection.is_unauthenticated()));
    }

    #[test]
    fn arbitrary_input_is_never_accepted(
        query in proptest::collection::vec(any::<char>(), 0..80).prop_map(String::from_iter),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        prop_assert!(verifier().receive(&query, &body).is_err());
    }
}
