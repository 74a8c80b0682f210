//! The client-side limiter seen from the wire: clones of a client share one budget, separately
//! built clients have their own. Pacing itself is tested with a paused clock in `src/rate.rs`.

mod client_support;

use kiwify::prelude::*;
use kiwify::rate::RateLimit;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use client_support::*;

#[tokio::test]
async fn clones_share_one_limiter_and_separate_clients_do_not() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/sales/s1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(sale("s1")))
        .mount(&server)
        .await;
    // Two requests at once (the token request and the first call), then one a minute.
    let limit = RateLimit::per_minute(1).with_burst(2);
    let first = builder(&server).rate_limit(limit).build().unwrap();
    let separate = builder(&server).rate_limit(limit).build().unwrap();

    first
        .get_sale()
        .id("s1")
        .send()
        .await
        .map_err(kiwify::Error::from)
        .unwrap();
    let clone = first.clone();
    let waiting = tokio::spawn(async move { clone.get_sale().id("s1").send().await.is_ok() });
    // A client with its own budget goes through while the clone still waits for its turn: no
    // clock is read here, the separate call's two round trips are the only wait.
    separate
        .get_sale()
        .id("s1")
        .send()
        .await
        .map_err(kiwify::Error::from)
        .unwrap();

    assert!(
        !waiting.is_finished(),
        "the clone did not wait for the shared budget"
    );
    assert_eq!(requests_to(&server, "GET", "/v1/sales/s1").await.len(), 2);
    assert_eq!(token_requests(&server).await.len(), 2);
    waiting.abort();
}
