//! Per-request overhead of the client's whole stack against raw reqwest plus serde.
//!
//! One in-process HTTP/1.1 server on loopback answers `POST /v1/oauth/token` and
//! `GET /v1/sales/{id}` with the vendor's full-sale example. Batches then alternate between
//!
//! - (a) a plain `reqwest::Client` GET of a URL formatted from the id per call, as a
//!   hand-written call does it, with the same headers (the generated code's `api-version` and
//!   the client's `User-Agent` included), decoded with `serde_json::from_slice::<Sale>`, and
//! - (b) `client.get_sale().id(..).send()`: cached token, headers, the limiter switched off,
//!   the retry loop, the tracing span (no subscriber installed) and decoding,
//!
//! sequentially over a kept-alive connection. It prints the median per-request time of each and
//! their ratio, (b)/(a); the target is 1.05 or below.
//!
//! Client and server share one thread (a current-thread runtime): on loopback, the time an idle
//! core takes to wake up otherwise dominates (about 120 us a request on an idle machine, 25 us
//! on a busy one) and the ratio mostly measures the machine. `OVERHEAD_SERVER_THREAD=1` gives
//! the server its own thread instead.
//!
//! Run with `cargo bench --bench overhead`. `OVERHEAD_ROUNDS` and `OVERHEAD_BATCH` change the
//! number of rounds (default 20) and requests per batch (default 200).

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use kiwify::generated::types::Sale;
use kiwify::prelude::*;
use kiwify::rate::RateLimit;

const TOKEN: &str = "bench-access-token";
const ACCOUNT_ID: &str = "ACCOUNT123456789";

/// The `GET /sales/{id}` example of `openapi/kiwify-docs.yaml`, as the API sends it.
const SALE: &str = r#"{"id":"fc96cec5-1ff1-49b3-aa22-0e131f353b62","reference":"iYJwhMP","type":"product","created_at":"2023-10-31T16:34:35.491Z","updated_at":"2023-10-31T16:36:02.005Z","product":{"id":"aaa86f40-d7ae-11ed-acc6-e1c45591a30e","name":"My Product"},"shipping":{"id":"255f7ae0-8694-40f9-b905-7507fe6bc58f","name":"Entrega Grátis","price":0},"status":"paid","payment_method":"credit_card","net_amount":8853,"currency":"USD","customer":{"id":"b17dd04e-5acc-41ae-a4b2-cba0d2436406","name":"my customer","email":"mycustomer@mail.com","cpf":"99999999999","mobile":"+5599999999999","instagram":"y_instagram","country":"BR","address":{"street":"Rua Danilo","number":"407","complement":"Apt. 123","neighborhood":"Jardim dos Jardineiros","city":"Paulista","state":"SE","zipcode":"46121-175"}},"approved_date":"2023-10-31T16:34:35.491Z","boleto_url":null,"card_last_digits":"1115","card_rejection_reason":null,"card_type":"mastercard","installments":12,"is_one_click":true,"parent_order_id":null,"payment":{"charge_amount":10388,"charge_currency":"BRL","net_amount":8853,"product_base_price":60037,"product_base_currency":"BRL","settlement_amount":8853,"settlement_currency":"USD","fee":984,"fee_currency":"USD","sale_tax_rate":5.6,"sale_tax_amount":551},"refunded_at":null,"sale_type":"producer","tracking":{"sck":null,"src":null,"utm_campaign":null,"utm_content":null,"utm_medium":null,"utm_source":null,"utm_term":null,"s1":null,"s2":null,"s3":null},"two_cards":false,"revenue_partners":[{"account_id":"RpL2PsVt7gEN50Q","legal_name":"My Coproducer","document_id":"12345678910","percentage":50,"net_amount_split":4426,"charge_amount_split":5000}]}"#;

const SALE_ID: &str = "fc96cec5-1ff1-49b3-aa22-0e131f353b62";

const TOKEN_ANSWER: &str = r#"{"access_token":"bench-access-token","token_type":"Bearer","expires_in":86400,"scope":"sales"}"#;

async fn token_answer() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], TOKEN_ANSWER)
}

async fn sale_answer() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], SALE)
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Starts the server and returns its base URL (with `/v1`). By default it runs on the caller's
/// runtime, so that client and server share one thread and the figures measure work rather
/// than how fast an idle core wakes up; with `separate_thread` it gets a thread of its own.
async fn start_server(separate_thread: bool) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let address = listener.local_addr().expect("local address");

    let router = Router::new()
        .route("/v1/oauth/token", post(token_answer))
        .route("/v1/sales/{id}", get(sale_answer));
    let serve = async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        axum::serve(listener, router).await.unwrap();
    };

    if separate_thread {
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(serve);
        });
    } else {
        tokio::spawn(serve);
    }
    format!("http://{address}/v1")
}

/// A hand-written `GET /sales/{id}`: the URL built from the id per call, as any integration
/// that reads more than one sale builds it.
async fn raw_batch(http: &reqwest::Client, base_url: &str, count: usize) -> Duration {
    let started = Instant::now();
    for _ in 0..count {
        let id = std::hint::black_box(SALE_ID);
        let response = http
            .get(format!("{base_url}/sales/{id}"))
            .header(header::ACCEPT, "application/json")
            .header("api-version", "1.0.0")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header("x-kiwify-account-id", ACCOUNT_ID)
            .send()
            .await
            .expect("raw request");
        assert!(response.status().is_success());
        let bytes = response.bytes().await.expect("raw body");
        let sale: Sale = serde_json::from_slice(&bytes).expect("raw decode");
        std::hint::black_box(sale);
    }
    started.elapsed()
}

async fn client_batch(client: &kiwify::Client, count: usize) -> Duration {
    let started = Instant::now();
    for _ in 0..count {
        let sale = client
            .get_sale()
            .id(SALE_ID)
            .send()
            .await
            .expect("client request");
        std::hint::black_box(sale.into_inner());
    }
    started.elapsed()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this once, quickly.
    let quick = !std::env::args().any(|argument| argument == "--bench");
    let rounds = if quick {
        2
    } else {
        setting("OVERHEAD_ROUNDS", 20)
    };
    let batch = if quick {
        10
    } else {
        setting("OVERHEAD_BATCH", 200)
    };

    let separate_thread = std::env::var_os("OVERHEAD_SERVER_THREAD").is_some();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let base_url = start_server(separate_thread).await;
        let client = kiwify::Client::builder()
            .credentials(kiwify::Credentials::new(
                "bench-id",
                "bench-secret",
                ACCOUNT_ID,
            ))
            .base_url(base_url.clone())
            .rate_limit(RateLimit::disabled())
            .build()
            .expect("kiwify client");
        // Built after the kiwify client, which installs the rustls crypto provider; with the
        // same user agent, so that both send the same bytes.
        // The baseline is reqwest configured as the kiwify client configures it: same user agent
        // and the same timeouts (a per-request timeout costs reqwest a timer, about 5% of a
        // loopback call, which any careful raw client pays too). A second baseline without
        // timeouts shows that cost.
        let http = reqwest::Client::builder()
            .user_agent(kiwify::client::DEFAULT_USER_AGENT)
            .connect_timeout(kiwify::client::DEFAULT_CONNECT_TIMEOUT)
            .timeout(kiwify::client::DEFAULT_ATTEMPT_TIMEOUT)
            .build()
            .expect("raw client");
        let bare = reqwest::Client::builder()
            .user_agent(kiwify::client::DEFAULT_USER_AGENT)
            .build()
            .expect("raw client without timeouts");

        // Warm up: open the connections, fetch the token, fault in the code paths.
        raw_batch(&http, &base_url, batch).await;
        raw_batch(&bare, &base_url, batch).await;
        client_batch(&client, batch).await;

        let (mut raw, mut untimed, mut stack) = (Vec::new(), Vec::new(), Vec::new());
        let per_request = |elapsed: Duration| elapsed.as_secs_f64() * 1e6 / batch as f64;
        for round in 0..rounds {
            // Alternate which goes first, so none always follows another.
            if round % 2 == 0 {
                raw.push(per_request(raw_batch(&http, &base_url, batch).await));
                untimed.push(per_request(raw_batch(&bare, &base_url, batch).await));
                stack.push(per_request(client_batch(&client, batch).await));
            } else {
                stack.push(per_request(client_batch(&client, batch).await));
                untimed.push(per_request(raw_batch(&bare, &base_url, batch).await));
                raw.push(per_request(raw_batch(&http, &base_url, batch).await));
            }
        }

        // Each round's batches ran back to back, so their ratio is untouched by slower drifts
        // of the machine (other jobs, clock speed): a steadier second figure.
        let paired = median(raw.iter().zip(&stack).map(|(a, b)| b / a).collect());
        let (raw, untimed, stack) = (median(raw), median(untimed), median(stack));
        let server = if separate_thread { "its own thread" } else { "the same thread" };
        println!(
            "overhead: {rounds} rounds x {batch} sequential requests, loopback HTTP/1.1, server on {server}"
        );
        println!("  (a) raw reqwest + serde_json, same timeouts: {raw:7.1} us/request (median)");
        println!("  (a') raw reqwest + serde_json, no timeouts:  {untimed:7.1} us/request (median)");
        println!("  (b) kiwify client:                           {stack:7.1} us/request (median)");
        println!("  ratio (b)/(a):                 {:7.3}  (target <= 1.05)", stack / raw);
        println!("  median of per-round (b)/(a):   {paired:7.3}");
        println!("  ratio (b)/(a'):                {:7.3}", stack / untimed);
    });
}
