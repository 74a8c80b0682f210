//! The axum extractor, over real HTTP on loopback.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use kiwify::webhook::axum::VerifiedWebhook;
use kiwify::webhook::{Signer, Verifier};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const TOKEN: &str = "axum-test-token-41c9";
const ORDER_APPROVED: &[u8] = include_bytes!("../tests/fixtures/webhooks/order_approved.json");
const ENVELOPE: &[u8] = include_bytes!("../tests/fixtures/webhooks/envelope_order_approved.json");
const ENVELOPE_TOKEN: &str = "fixture-token-7d2f9c";

#[derive(Clone)]
struct AppState {
    verifier: Verifier,
    received: mpsc::UnboundedSender<String>,
}

impl axum::extract::FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

async fn handler(
    State(state): State<AppState>,
    VerifiedWebhook(delivery): VerifiedWebhook,
) -> &'static str {
    let _ = state.received.send(delivery.idempotency_key().to_string());
    "ok"
}

struct Server {
    address: std::net::SocketAddr,
    received: mpsc::UnboundedReceiver<String>,
}

async fn serve(verifier: Verifier) -> Server {
    let (sender, received) = mpsc::unbounded_channel();
    let app = Router::new()
        .route("/webhooks/kiwify", post(handler))
        .with_state(AppState {
            verifier,
            received: sender,
        });
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server { address, received }
}

/// A minimal HTTP/1.1 POST; returns the status code and the response body.
async fn post_raw(server: &Server, path_and_query: &str, body: &[u8]) -> (u16, String) {
    let framing = format!("Content-Length: {}", body.len());
    send(server, path_and_query, &framing, body).await
}

/// The same, with the body sent as one chunk and no announced length.
async fn post_chunked(server: &Server, path_and_query: &str, body: &[u8]) -> (u16, String) {
    let mut chunked = format!("{:x}\r\n", body.len()).into_bytes();
    chunked.extend_from_slice(body);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    send(
        server,
        path_and_query,
        "Transfer-Encoding: chunked",
        &chunked,
    )
    .await
}

async fn send(server: &Server, path_and_query: &str, framing: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(server.address).await.expect("connect");
    let head = format!(
        "POST {path_and_query} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         User-Agent: axios/1.8.4\r\n{framing}\r\nConnection: close\r\n\r\n",
        server.address,
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(body).await.expect("write body");

    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .expect("read response");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn verified_delivery_reaches_the_handler() {
    let mut server = serve(Verifier::new(TOKEN).expect("token")).await;
    let url = Signer::new(TOKEN).delivery_url("/webhooks/kiwify?token=abc", ORDER_APPROVED);

    let (status, body) = post_raw(&server, &url, ORDER_APPROVED).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert_eq!(
        server.received.recv().await.as_deref(),
        Some("3f6b1c2e-8a4d-4e5f-9b7a-1c2d3e4f5a6b:order_approved")
    );
}

/// A webhook registered with a query that holds URLs and `&`: every genuine delivery must get
/// through. The query here even starts with a URL, which only the path and query (not the bare
/// query) makes unambiguous.
#[tokio::test]
async fn registered_query_holding_urls_reaches_the_handler() {
    let mut server = serve(Verifier::new(TOKEN).expect("token")).await;
    for registered in [
        "/webhooks/kiwify?next=https://x.test/a?b=1&c=2",
        "/webhooks/kiwify?https://x.test/a&next=http://y.test&c=2",
    ] {
        let url = Signer::new(TOKEN).delivery_url(registered, ORDER_APPROVED);
        let (status, body) = post_raw(&server, &url, ORDER_APPROVED).await;
        assert_eq!((status, body.as_str()), (200, "ok"), "{url}");
        assert_eq!(
            server.received.recv().await.as_deref(),
            Some("3f6b1c2e-8a4d-4e5f-9b7a-1c2d3e4f5a6b:order_approved")
        );
    }
}

#[tokio::test]
async fn envelope_delivery_reaches_the_handler() {
    let mut server = serve(Verifier::new(ENVELOPE_TOKEN).expect("token")).await;
    let (status, _) = post_raw(&server, "/webhooks/kiwify", ENVELOPE).await;
    assert_eq!(status, 200);
    assert_eq!(
        server.received.recv().await.as_deref(),
        Some("3f6b1c2e-8a4d-4e5f-9b7a-1c2d3e4f5a6b:order_approved")
    );
}

#[tokio::test]
async fn signature_failures_are_401() {
    let server = serve(Verifier::new(TOKEN).expect("token")).await;
    let signature = Signer::new(TOKEN).sign(ORDER_APPROVED);
    let wrong_token = Signer::new("other-token").sign(ORDER_APPROVED);
    let cases = [
        "/webhooks/kiwify".to_owned(),
        format!("/webhooks/kiwify?signature={}", &signature[..20]),
        format!("/webhooks/kiwify?signature={}", signature.to_uppercase()),
        format!("/webhooks/kiwify?signature={wrong_token}"),
    ];
    for path in cases {
        let (status, body) = post_raw(&server, &path, ORDER_APPROVED).await;
        assert_eq!(status, 401, "{path}: {body}");
        assert!(
            body.starts_with("webhook signature") || body.contains("no `signature`"),
            "{body}"
        );
    }

    let mut tampered = ORDER_APPROVED.to_vec();
    tampered[10] ^= 1;
    let (status, _) = post_raw(
        &server,
        &format!("/webhooks/kiwify?signature={signature}"),
        &tampered,
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn oversize_body_is_413() {
    let verifier = Verifier::new(TOKEN)
        .expect("token")
        .with_max_body_size(1024);
    let server = serve(verifier).await;
    let mut body = ORDER_APPROVED.to_vec();
    body.resize(4096, b' ');
    let url = Signer::new(TOKEN).delivery_url("/webhooks/kiwify", &body);

    let (status, message) = post_raw(&server, &url, &body).await;
    assert_eq!(status, 413, "{message}");
    assert_eq!(message, "webhook body exceeds the 1024-byte limit");
}

#[tokio::test]
async fn oversize_body_without_announced_length_is_413() {
    let verifier = Verifier::new(TOKEN)
        .expect("token")
        .with_max_body_size(1024);
    let mut server = serve(verifier).await;
    let mut body = ORDER_APPROVED.to_vec();
    body.resize(4096, b' ');
    let url = Signer::new(TOKEN).delivery_url("/webhooks/kiwify", &body);

    let (status, message) = post_chunked(&server, &url, &body).await;
    assert_eq!(status, 413, "{message}");

    // A chunked body within the limit is read and verified as usual.
    let url = Signer::new(TOKEN).delivery_url("/webhooks/kiwify", b"{\"id\":\"cart-1\"}");
    let (status, message) = post_chunked(&server, &url, b"{\"id\":\"cart-1\"}").await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(
        server.received.recv().await.as_deref(),
        Some("cart-1:abandoned_cart")
    );
}

#[tokio::test]
async fn malformed_body_is_400() {
    let server = serve(Verifier::new(TOKEN).expect("token")).await;
    for body in [&b"not json at all"[..], br#"{"hello":"world"}"#] {
        let url = Signer::new(TOKEN).delivery_url("/webhooks/kiwify", body);
        let (status, message) = post_raw(&server, &url, body).await;
        assert_eq!(status, 400, "{message}");
    }
}
