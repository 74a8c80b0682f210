//! Arbitrary query strings and bodies through signature verification and event decoding.
//!
//! Input layout: the bytes before the first NUL byte are the query string, the rest the body; an
//! input without a NUL byte is all body, so the JSON fixtures seed the corpus as they are.
//! Run from `fuzz/` (seeding the corpus with the test fixtures):
//! `cargo +nightly fuzz run parse_and_verify corpus/parse_and_verify ../tests/fixtures/webhooks`.

#![no_main]

use kiwify::webhook::{Event, Signer, Verifier};
use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "fuzz-webhook-token";

fuzz_target!(|data: &[u8]| {
    let (query, body) = match data.iter().position(|&byte| byte == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (&[][..], data),
    };
    let query = String::from_utf8_lossy(query);
    let Ok(verifier) = Verifier::new(TOKEN) else {
        return;
    };

    // Hostile input: any verdict is fine, a panic is not.
    if let Ok(delivery) = verifier.receive(&query, body) {
        let _ = delivery.idempotency_key().to_string();
    }
    let _ = verifier.verify(&query, body);
    if let Ok(event) = Event::from_slice(body) {
        let _ = event.idempotency_key();
    }

    // The same body, signed as Kiwify would: the signature must never be the reason it fails.
    let signed = Signer::new(TOKEN).query(body);
    if let Err(rejection) = verifier.receive(&signed, body) {
        assert!(
            !rejection.is_unauthenticated(),
            "correctly signed body refused: {rejection}"
        );
    }
});
