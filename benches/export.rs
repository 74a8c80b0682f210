//! Sales export against a rate-limited local server: how close the export gets to the minimum
//! time the limit allows, whether it ever trips the limit, and its peak heap on a large export.
//!
//! Run: `cargo bench --bench export` (options: `-- --sales N --rate PER_SECOND --memory-sales N`).
//!
//! The server is in-process on loopback and pages like the real API; it answers 429 to any
//! request beyond `rate` in the trailing second. The client's limiter is set to the same rate.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as Span, Utc};
use futures::StreamExt;
use kiwify::rate::RateLimit;
use kiwify::{Client, Credentials, SalesQuery, SalesRange};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Counts live heap bytes and their peak, to measure what an export holds.
struct CountingAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Pages `total` synthetic sales spread over a year; limits requests per trailing second.
struct SalesEndpoint {
    total: usize,
    start: DateTime<Utc>,
    rate: Option<usize>,
    recent: Mutex<VecDeque<Instant>>,
    refused: AtomicU64,
    served: AtomicU64,
}

impl Respond for SalesEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if let Some(rate) = self.rate {
            let mut recent = self.recent.lock().unwrap();
            let now = Instant::now();
            while recent
                .front()
                .is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(1))
            {
                recent.pop_front();
            }
            if recent.len() >= rate {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return ResponseTemplate::new(429)
                    .set_body_json(json!({"message": "Too many requests"}));
            }
            recent.push_back(now);
        }
        self.served.fetch_add(1, Ordering::Relaxed);

        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        let instant = |name: &str| {
            DateTime::parse_from_rfc3339(&query[name])
                .map(|at| at.with_timezone(&Utc))
                .unwrap()
        };
        let (from, to) = (instant("start_date"), instant("end_date"));
        let page: usize = query["page_number"].parse().unwrap();
        let size: usize = query["page_size"].parse().unwrap();

        // Sale i is created at start + i * (365 days / total).
        let step = Span::days(365).num_milliseconds() as f64 / self.total as f64;
        let index_at = |at: DateTime<Utc>| {
            (((at - self.start).num_milliseconds() as f64 / step)
                .ceil()
                .max(0.0) as usize)
                .min(self.total)
        };
        let (first, last) = (index_at(from), index_at(to));
        let data: Vec<_> = (first + (page - 1) * size..last.min(first + page * size))
            .map(|index| {
                let created = self.start + Span::milliseconds((index as f64 * step) as i64);
                json!({"id": format!("sale-{index:07}"), "reference": "9dAQA5a", "status": "paid",
                       "payment_method": "pix", "net_amount": 8853, "currency": "BRL",
                       "created_at": created, "updated_at": created,
                       "product": {"id": "p1", "name": "Curso"},
                       "customer": {"id": "c1", "name": "Cliente", "email": "cliente@example.com"}})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "pagination": {"count": last - first, "page_number": page, "page_size": size},
            "data": data,
        }))
    }
}

/// Runs one export; returns its time, the sales read, the pages served, the 429s and the peak heap.
async fn run_export(total: usize, rate: Option<usize>) -> (Duration, usize, u64, u64, usize) {
    let start: DateTime<Utc> = "2025-01-01T00:00:00Z".parse().unwrap();
    let server = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "t", "token_type": "Bearer", "expires_in": 86400}),
        ))
        .mount(&server)
        .await;
    let endpoint = Arc::new(SalesEndpoint {
        total,
        start,
        rate,
        recent: Mutex::new(VecDeque::new()),
        refused: AtomicU64::new(0),
        served: AtomicU64::new(0),
    });
    Mock::given(method("GET"))
        .and(path("/v1/sales"))
        .respond_with(ArcResponder(endpoint.clone()))
        .mount(&server)
        .await;

    let limit = match rate {
        Some(rate) => RateLimit::per_second(rate as u32).with_burst(1),
        None => RateLimit::disabled(),
    };
    let client = Client::builder()
        .credentials(Credentials::new("id", "secret", "ACCOUNT12345678"))
        .base_url(format!("{}/v1", server.uri()))
        .rate_limit(limit)
        .build()
        .unwrap();
    client.access_token().await.unwrap();

    let range = SalesRange::new(start, start + Span::days(366)).unwrap();
    let baseline = LIVE.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    let began = Instant::now();
    let mut sales = client.sales(SalesQuery::new(range));
    let mut count = 0;
    while let Some(sale) = sales.next().await {
        sale.unwrap();
        count += 1;
    }
    let elapsed = began.elapsed();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(baseline);
    let served = endpoint.served.load(Ordering::Relaxed);
    (
        elapsed,
        count,
        served,
        endpoint.refused.load(Ordering::Relaxed),
        peak,
    )
}

struct ArcResponder(Arc<SalesEndpoint>);

impl Respond for ArcResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.respond(request)
    }
}

fn option(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|index| args.get(index + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sales = option(&args, "--sales", 10_000);
    let rate = option(&args, "--rate", 20);
    let memory_sales = option(&args, "--memory-sales", 100_000);

    let (elapsed, count, pages, refused, _) = run_export(sales, Some(rate)).await;
    // The minimum the limit allows: every page served, one per 1/rate seconds.
    let minimum = pages as f64 / rate as f64;
    println!(
        "rate-limited export: {count} sales, {pages} pages at {rate} req/s in {:.2} s; \
         minimum {minimum:.2} s; efficiency {:.3} (target >= 0.95); 429s received: {refused}",
        elapsed.as_secs_f64(),
        minimum / elapsed.as_secs_f64()
    );

    let (elapsed, count, _, _, peak) = run_export(memory_sales, None).await;
    println!(
        "unlimited export: {count} sales in {:.2} s; peak heap during the export {:.1} MiB",
        elapsed.as_secs_f64(),
        peak as f64 / (1024.0 * 1024.0)
    );
}
