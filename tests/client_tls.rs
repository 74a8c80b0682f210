//! A caller's own `reqwest::Client`, built before any `kiwify::Client` exists in the process
//! (this file is its own test binary, so nothing else has installed a crypto provider).

#[test]
fn the_http_client_builder_works_before_any_client_is_built() {
    let http = kiwify::client::http_client_builder().build();

    let http = http.expect("a reqwest client with the crate's TLS setup");
    let client = kiwify::Client::builder()
        .credentials(kiwify::Credentials::new("id", "secret", "ACCOUNT123456789"))
        .http_client(http)
        .build();
    assert!(client.is_ok());
}
