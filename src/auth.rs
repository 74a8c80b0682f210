//! Bearer tokens and the cache that keeps one alive.
//!
//! Kiwify issues a token per client-credentials call (`POST /v1/oauth/token`); it lives 24 h
//! and there is no refresh token, so renewing means asking again. The vendor asks callers to
//! reuse tokens, so a client holds one [`TokenCache`] per credential:
//!
//! - it hands out the cached token until a safety margin before it expires (5 min by default),
//!   then fetches a new one;
//! - however many requests find it cold at once, only one of them fetches (single flight);
//! - when the API rejects a token, [`TokenCache::invalidate`] forgets it, but only if no other
//!   request has replaced it already.
//!
//! This module makes no HTTP calls: the caller passes the fetch as a closure. Times come from
//! tokio's clock, so tests can pause and advance it.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

/// How long a token is assumed to live when neither `expires_in` nor a JWT `exp` says.
const ASSUMED_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a renewal found useless is remembered: calls refused in that time with the token
/// that proved it fail without asking for another one (at most one token request a minute for
/// a wrong account id), and a scope added to the key is picked up after it.
const FUTILE_RENEWAL_MEMORY: Duration = Duration::from_secs(60);

/// Gives every token its own identity, so the cache can tell "the token that was rejected"
/// from "a newer token", whatever their text.
static NEXT_TOKEN_ID: AtomicU64 = AtomicU64::new(0);

/// A bearer token with its expiry and scopes.
///
/// Its `Debug` output never shows the token text.
pub struct AccessToken {
    id: u64,
    secret: SecretString,
    issued_at: Instant,
    expires_at: Instant,
    scopes: Vec<String>,
}

impl AccessToken {
    /// A token that lives `lifetime` from now, with the given scopes.
    pub fn new(token: impl Into<String>, lifetime: Duration, scopes: Vec<String>) -> Self {
        let issued_at = Instant::now();
        AccessToken {
            id: NEXT_TOKEN_ID.fetch_add(1, Ordering::Relaxed),
            secret: SecretString::from(token.into()),
            issued_at,
            expires_at: instant_after(issued_at, lifetime),
            scopes,
        }
    }

    /// Builds a token from the fields of a token-endpoint response.
    ///
    /// - `expires_in` is the lifetime in seconds (Kiwify sends a number, its schema says a
    ///   numeric string: the caller decodes either). When it is missing, the JWT `exp` claim is
    ///   used; when that is missing too, 24 h (what Kiwify grants) is assumed.
    /// - `scope` is a list separated by spaces or commas. When it is missing, the JWT `scope`
    ///   claim is used. A caller that received an array may join it with spaces.
    ///
    /// The JWT is only decoded, never verified: it is read for its expiry, not trusted.
    pub fn from_oauth_response(
        access_token: impl Into<String>,
        expires_in: Option<u64>,
        scope: Option<&str>,
    ) -> Self {
        AccessToken::from_response_at(access_token.into(), expires_in, scope, SystemTime::now())
    }

    /// [`AccessToken::from_oauth_response`], with the wall-clock time given (for the JWT `exp`).
    fn from_response_at(
        access_token: String,
        expires_in: Option<u64>,
        scope: Option<&str>,
        wall_now: SystemTime,
    ) -> Self {
        let claims = if expires_in.is_none() || scope.is_none() {
            JwtClaims::read(&access_token)
        } else {
            JwtClaims::default()
        };

        let lifetime = match (expires_in, claims.exp) {
            (Some(seconds), _) => Duration::from_secs(seconds),
            (None, Some(exp)) => SystemTime::UNIX_EPOCH
                .checked_add(Duration::from_secs(exp))
                .map_or(ASSUMED_LIFETIME, |exp| {
                    exp.duration_since(wall_now).unwrap_or(Duration::ZERO)
                }),
            (None, None) => ASSUMED_LIFETIME,
        };
        let scopes = match scope {
            Some(scope) => parse_scopes(scope),
            None => claims
                .scope
                .as_deref()
                .map(parse_scopes)
                .unwrap_or_default(),
        };

        AccessToken::new(access_token, lifetime, scopes)
    }

    /// The token text, to put in an `Authorization: Bearer` header. Never log it.
    pub fn expose_secret(&self) -> &str {
        self.secret.expose_secret()
    }

    /// When the token stops being accepted (on tokio's clock).
    pub fn expires_at(&self) -> Instant {
        self.expires_at
    }

    /// The scopes the token was granted, e.g. `sales`, `financial`, `webhooks`.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Whether the token was granted `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|granted| granted == scope)
    }

    /// Whether the token is still good at `now`, keeping `margin` in hand.
    ///
    /// A token that lives less than twice the margin would be stale almost at once; for those,
    /// the margin is a tenth of the lifetime instead.
    fn is_fresh(&self, now: Instant, margin: Duration) -> bool {
        let lifetime = self.expires_at.saturating_duration_since(self.issued_at);
        let margin = if lifetime < margin.saturating_mul(2) {
            lifetime / 10
        } else {
            margin
        };
        self.expires_at.saturating_duration_since(now) > margin
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// `start + lifetime`, saturating at a far but representable instant.
fn instant_after(start: Instant, lifetime: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
    start.checked_add(lifetime.min(FAR)).unwrap_or(start)
}

/// Splits a scope list on spaces and commas, dropping empty entries.
fn parse_scopes(scope: &str) -> Vec<String> {
    scope
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The JWT claims this module reads. Every field is optional: a token that is not a JWT, or
/// lacks a claim, just yields `None`.
#[derive(Debug, Default)]
struct JwtClaims {
    exp: Option<u64>,
    scope: Option<String>,
}

impl JwtClaims {
    fn read(token: &str) -> Self {
        let Some(payload) = token.split('.').nth(1) else {
            return JwtClaims::default();
        };
        let Some(json) = decode_base64url(payload) else {
            return JwtClaims::default();
        };
        let Ok(serde_json::Value::Object(claims)) = serde_json::from_slice(&json) else {
            return JwtClaims::default();
        };

        let exp = match claims.get("exp") {
            Some(serde_json::Value::Number(n)) => n
                .as_u64()
                .or_else(|| n.as_f64().filter(|s| *s >= 0.0).map(|s| s as u64)),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        let scope = match claims.get("scope") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => None,
        };
        JwtClaims { exp, scope }
    }
}

/// Decodes base64url (also accepting the standard alphabet and padding). `None` on any other
/// character.
fn decode_base64url(input: &str) -> Option<Vec<u8>> {
    let input = input.trim_end_matches('=');
    let mut bytes = Vec::with_capacity(input.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits: u32 = 0;

    for c in input.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(bytes)
}

/// Keeps one token for one credential, refreshing it before it expires.
///
/// Cheap to clone; clones share the cached token and the single-flight lock.
#[derive(Debug, Clone)]
pub struct TokenCache {
    inner: Arc<CacheInner>,
}

#[derive(Debug)]
struct CacheInner {
    margin: Duration,
    /// The cached token. Held only for a moment, never across an await.
    current: Mutex<Option<Arc<AccessToken>>>,
    /// Held by the one caller that is fetching, for the whole fetch; records how it ended.
    refreshing: tokio::sync::Mutex<LastFetch>,
    /// [`LastFetch::finished`], readable without waiting for the lock.
    fetches_finished: AtomicU64,
    /// The id of a token that was refused right after a renewal, and when.
    futile_renewal: Mutex<Option<(u64, Instant)>>,
}

/// How the fetches so far ended, for the callers that waited on one.
#[derive(Debug, Default)]
struct LastFetch {
    /// Fetches that ran to completion, successful or not.
    finished: u64,
    /// The error of the last one, if it failed (the `E` of [`TokenCache::get_or_refresh`]).
    failure: Option<Box<dyn Any + Send + Sync>>,
}

impl Default for TokenCache {
    /// An empty cache with the default 5-minute safety margin.
    fn default() -> Self {
        TokenCache::with_margin(Duration::from_secs(5 * 60))
    }
}

impl TokenCache {
    /// An empty cache that refreshes tokens 5 minutes before they expire.
    pub fn new() -> Self {
        TokenCache::default()
    }

    /// An empty cache that refreshes tokens `margin` before they expire. A token that lives
    /// less than twice the margin is refreshed after 90% of its lifetime instead.
    pub fn with_margin(margin: Duration) -> Self {
        TokenCache {
            inner: Arc::new(CacheInner {
                margin,
                current: Mutex::new(None),
                refreshing: tokio::sync::Mutex::new(LastFetch::default()),
                fetches_finished: AtomicU64::new(0),
                futile_renewal: Mutex::new(None),
            }),
        }
    }

    /// The safety margin before expiry.
    pub fn margin(&self) -> Duration {
        self.inner.margin
    }

    /// Returns the cached token if it is fresh; otherwise runs `fetch` and caches its token.
    ///
    /// Single flight: when many callers find the cache cold or stale at once, one of them runs
    /// its `fetch` while the others wait and then share the result, token or error; their own
    /// closures are dropped unrun. So fifty calls with refused credentials make one token
    /// request and fail alike.
    ///
    /// A failure is not cached: a caller that arrives after a failed fetch ended runs a fetch
    /// of its own. A fetch that is abandoned (its caller dropped it) ends nothing, and the next
    /// waiter runs its own.
    pub async fn get_or_refresh<F, Fut, E>(&self, fetch: F) -> Result<Arc<AccessToken>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, E>>,
        E: Clone + Send + Sync + 'static,
    {
        if let Some(token) = self.fresh_token() {
            return Ok(token);
        }

        let finished_before = self.inner.fetches_finished.load(Ordering::Acquire);
        let mut last = self.inner.refreshing.lock().await;
        if let Some(token) = self.fresh_token() {
            return Ok(token);
        }
        if last.finished != finished_before
            && let Some(failure) = last.failure.as_ref().and_then(|f| f.downcast_ref::<E>())
        {
            return Err(failure.clone());
        }

        let result = fetch().await;
        last.finished += 1;
        self.inner
            .fetches_finished
            .store(last.finished, Ordering::Release);
        match result {
            Ok(token) => {
                last.failure = None;
                let token = Arc::new(token);
                *self.current() = Some(Arc::clone(&token));
                Ok(token)
            }
            Err(error) => {
                last.failure = Some(Box::new(error.clone()));
                Err(error)
            }
        }
    }

    /// Forgets `rejected`, which the API refused, so that the next call fetches a new token.
    ///
    /// Does nothing if the cache already holds another token: when fifty requests fail with the
    /// same stale token, the first one's call clears it, and the other forty-nine leave alone
    /// the fresh token that has replaced it.
    pub fn invalidate(&self, rejected: &AccessToken) {
        let mut current = self.current();
        if current
            .as_ref()
            .is_some_and(|token| token.id == rejected.id)
        {
            *current = None;
        }
    }

    /// Records that `token`, fetched to replace a refused one, was refused too.
    pub fn note_futile_renewal(&self, token: &AccessToken) {
        let mut futile = self
            .inner
            .futile_renewal
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *futile = Some((token.id, Instant::now()));
    }

    /// Whether `token` was refused right after a renewal in the last minute: renewing it again
    /// would only ask for one more token that the API refuses.
    pub fn renewal_is_futile(&self, token: &AccessToken) -> bool {
        let futile = self
            .inner
            .futile_renewal
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        futile.is_some_and(|(id, when)| id == token.id && when.elapsed() < FUTILE_RENEWAL_MEMORY)
    }

    /// The cached token, if it is still fresh; never fetches.
    pub fn fresh_token(&self) -> Option<Arc<AccessToken>> {
        let now = Instant::now();
        self.current()
            .as_ref()
            .filter(|token| token.is_fresh(now, self.inner.margin))
            .cloned()
    }

    fn current(&self) -> MutexGuard<'_, Option<Arc<AccessToken>>> {
        // Nothing panics while this lock is held; recover from poisoning anyway.
        self.inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::convert::Infallible;
    use std::sync::atomic::AtomicUsize;

    const MINUTE: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(60 * 60);

    /// Header `{"alg":"HS256","typ":"JWT"}`; claims like Kiwify's, with `scope` "sales financial",
    /// `iat` 1700000000 and `exp` 1700003600 (one hour later).
    const JWT_WITH_EXP: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
        eyJzdG9yZV9hcGlfaW50ZWdyYXRpb25faWQiOiJ4MSIsInN0b3JlX2lkIjoiQWJDZEVmR2hJaktsTW5PIiwic2Nv\
        cGUiOiJzYWxlcyBmaW5hbmNpYWwiLCJqdGkiOiJqMSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAw\
        fQ.c2lnbmF0dXJl";

    /// Claims `{"scope":["stats","webhooks"],"iat":1700000000}`: no `exp`.
    const JWT_WITHOUT_EXP: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
        eyJzY29wZSI6WyJzdGF0cyIsIndlYmhvb2tzIl0sImlhdCI6MTcwMDAwMDAwMH0.c2ln";

    fn wall_at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    /// A fetch that counts its calls and returns a token living `lifetime`.
    fn counting_fetch(
        calls: &Arc<AtomicUsize>,
        lifetime: Duration,
    ) -> impl Future<Output = Result<AccessToken, Infallible>> + use<> {
        let calls = Arc::clone(calls);
        async move {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new(format!("token-{n}"), lifetime, vec![]))
        }
    }

    async fn get(cache: &TokenCache, calls: &Arc<AtomicUsize>, lifetime: Duration) -> String {
        let token = cache
            .get_or_refresh(|| counting_fetch(calls, lifetime))
            .await;
        let Ok(token) = token;
        token.expose_secret().to_owned()
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_on_a_cold_cache_fetch_once() {
        let cache = TokenCache::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let entered = Arc::new(AtomicUsize::new(0));
        // Every fetch blocks here until the test has seen all callers start.
        let gate = Arc::new(tokio::sync::Semaphore::new(0));

        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (cache, calls, entered, gate) = (
                    cache.clone(),
                    Arc::clone(&calls),
                    Arc::clone(&entered),
                    Arc::clone(&gate),
                );
                tokio::spawn(async move {
                    entered.fetch_add(1, Ordering::SeqCst);
                    cache
                        .get_or_refresh(|| async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            let _permit = gate.acquire().await.expect("gate closed");
                            Ok::<_, Infallible>(AccessToken::new("the-token", HOUR, vec![]))
                        })
                        .await
                })
            })
            .collect();

        while entered.load(Ordering::SeqCst) < 50 {
            tokio::task::yield_now().await;
        }
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "a second fetch started while one ran"
        );
        gate.add_permits(50);

        let mut tokens = Vec::new();
        for task in tasks {
            let Ok(token) = task.await.expect("caller panicked");
            tokens.push(token);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(tokens.iter().all(|token| Arc::ptr_eq(token, &tokens[0])));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_on_threads_fetch_once() {
        let cache = TokenCache::new();
        let calls = Arc::new(AtomicUsize::new(0));

        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (cache, calls) = (cache.clone(), Arc::clone(&calls));
                tokio::spawn(async move {
                    cache
                        .get_or_refresh(|| async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            for _ in 0..20 {
                                tokio::task::yield_now().await;
                            }
                            Ok::<_, Infallible>(AccessToken::new("the-token", HOUR, vec![]))
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            let Ok(_token) = task.await.expect("caller panicked");
        }

        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn reuses_until_the_margin_then_refreshes() {
        let cache = TokenCache::new(); // 5 min margin
        let calls = Arc::new(AtomicUsize::new(0));
        let lifetime = 24 * HOUR;

        assert_eq!(get(&cache, &calls, lifetime).await, "token-0");
        tokio::time::advance(24 * HOUR - 5 * MINUTE - Duration::from_secs(1)).await;
        assert_eq!(get(&cache, &calls, lifetime).await, "token-0");
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(get(&cache, &calls, lifetime).await, "token-1");
        assert_eq!(get(&cache, &calls, lifetime).await, "token-1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn short_lived_tokens_use_a_tenth_of_their_lifetime_as_margin() {
        let cache = TokenCache::new(); // 5 min margin, but the token lives only 5 min
        let calls = Arc::new(AtomicUsize::new(0));
        let lifetime = 5 * MINUTE;

        assert_eq!(get(&cache, &calls, lifetime).await, "token-0");
        tokio::time::advance(4 * MINUTE + Duration::from_secs(29)).await;
        assert_eq!(get(&cache, &calls, lifetime).await, "token-0");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(get(&cache, &calls, lifetime).await, "token-1");
    }

    #[tokio::test(start_paused = true)]
    async fn an_already_expired_token_is_refetched_every_time() {
        let cache = TokenCache::new();
        let calls = Arc::new(AtomicUsize::new(0));

        assert_eq!(get(&cache, &calls, Duration::ZERO).await, "token-0");
        assert_eq!(get(&cache, &calls, Duration::ZERO).await, "token-1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn invalidating_a_stale_token_keeps_the_newer_one() {
        let cache = TokenCache::new();
        let calls = Arc::new(AtomicUsize::new(0));

        let first = cache.get_or_refresh(|| counting_fetch(&calls, HOUR)).await;
        let Ok(first) = first;

        // Fifty requests were rejected with the same token: one refresh, not fifty.
        for _ in 0..50 {
            cache.invalidate(&first);
            assert_eq!(get(&cache, &calls, HOUR).await, "token-1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        // A token with the same text is still another token.
        let lookalike = AccessToken::new("token-1", HOUR, vec![]);
        cache.invalidate(&lookalike);
        assert_eq!(get(&cache, &calls, HOUR).await, "token-1");

        let second = cache.get_or_refresh(|| counting_fetch(&calls, HOUR)).await;
        let Ok(second) = second;
        cache.invalidate(&second);
        assert_eq!(get(&cache, &calls, HOUR).await, "token-2");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_fetch_is_reported_and_not_cached() {
        let cache = TokenCache::new();

        let failed = cache
            .get_or_refresh(|| async { Err::<AccessToken, _>("endpoint down") })
            .await;
        assert_eq!(failed.err(), Some("endpoint down"));

        let token = cache
            .get_or_refresh(|| async { Ok::<_, &str>(AccessToken::new("fresh", HOUR, vec![])) })
            .await;
        assert_eq!(
            token.map(|t| t.expose_secret().to_owned()),
            Ok("fresh".to_owned())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_behind_a_failed_fetch_share_its_failure() {
        let cache = TokenCache::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let fetch = |calls: Arc<AtomicUsize>| async move {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(1)).await;
            if n == 0 {
                Err("first fetch fails")
            } else {
                Ok(AccessToken::new(format!("token-{n}"), HOUR, vec![]))
            }
        };

        // Three callers at once: one fetch, which fails, and its failure for all three.
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let (cache, calls) = (cache.clone(), Arc::clone(&calls));
                tokio::spawn(async move {
                    cache
                        .get_or_refresh(|| fetch(calls))
                        .await
                        .map(|token| token.expose_secret().to_owned())
                })
            })
            .collect();
        for task in tasks {
            let result = task.await.expect("caller panicked");
            assert_eq!(result, Err("first fetch fails"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // The failure is not cached: the next caller fetches again.
        let token = cache.get_or_refresh(|| fetch(Arc::clone(&calls))).await;
        assert_eq!(
            token.map(|t| t.expose_secret().to_owned()),
            Ok("token-1".to_owned())
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_fetch_lets_the_next_waiter_fetch() {
        let cache = TokenCache::new();
        let abandoned = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get_or_refresh(|| async {
                        tokio::time::sleep(HOUR).await;
                        Err::<AccessToken, _>("never ends")
                    })
                    .await
            })
        };
        tokio::task::yield_now().await;
        let waiter = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get_or_refresh(|| async {
                        Ok::<_, &str>(AccessToken::new("mine", HOUR, vec![]))
                    })
                    .await
                    .map(|token| token.expose_secret().to_owned())
            })
        };
        tokio::task::yield_now().await;
        abandoned.abort();

        assert_eq!(waiter.await.unwrap(), Ok("mine".to_owned()));
    }

    #[tokio::test(start_paused = true)]
    async fn expires_in_sets_the_lifetime() {
        let start = Instant::now();
        let token = AccessToken::from_oauth_response("opaque", Some(86_400), Some("sales"));
        assert_eq!(token.expires_at() - start, 24 * HOUR);

        // `expires_in` wins over the JWT's own `exp`.
        let token = AccessToken::from_response_at(
            JWT_WITH_EXP.to_owned(),
            Some(120),
            None,
            wall_at(1_700_000_000),
        );
        assert_eq!(token.expires_at() - start, 2 * MINUTE);
        assert_eq!(token.scopes(), ["sales", "financial"]);
    }

    #[tokio::test(start_paused = true)]
    async fn falls_back_to_the_jwt_exp_claim() {
        let start = Instant::now();

        // Issued ten minutes ago: fifty minutes left.
        let token = AccessToken::from_response_at(
            JWT_WITH_EXP.to_owned(),
            None,
            Some("stats"),
            wall_at(1_700_000_600),
        );
        assert_eq!(token.expires_at() - start, 50 * MINUTE);
        assert_eq!(token.scopes(), ["stats"]);

        // Already past `exp`.
        let token = AccessToken::from_response_at(
            JWT_WITH_EXP.to_owned(),
            None,
            None,
            wall_at(1_800_000_000),
        );
        assert_eq!(token.expires_at(), start);
    }

    #[tokio::test(start_paused = true)]
    async fn assumes_a_day_without_expires_in_or_exp() {
        let start = Instant::now();

        let token = AccessToken::from_response_at(
            JWT_WITHOUT_EXP.to_owned(),
            None,
            None,
            wall_at(1_700_000_000),
        );
        assert_eq!(token.expires_at() - start, 24 * HOUR);
        assert_eq!(token.scopes(), ["stats", "webhooks"]);

        for garbage in ["", "not-a-jwt", "a.b.c", "a.!!!.c", "a.bnVsbA.c"] {
            let token = AccessToken::from_oauth_response(garbage, None, None);
            assert_eq!(token.expires_at() - start, 24 * HOUR, "{garbage:?}");
            assert!(token.scopes().is_empty());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn huge_expires_in_does_not_panic() {
        let token = AccessToken::from_oauth_response("t", Some(u64::MAX), None);
        assert!(token.expires_at() > Instant::now() + 365 * 24 * HOUR);
    }

    #[test]
    fn scopes_split_on_spaces_and_commas() {
        let cases: &[(&str, &[&str])] = &[
            ("sales", &["sales"]),
            ("stats products events", &["stats", "products", "events"]),
            ("sales,sales_refund", &["sales", "sales_refund"]),
            (
                " financial ,  webhooks,,affiliates\t",
                &["financial", "webhooks", "affiliates"],
            ),
            ("", &[]),
        ];
        for (scope, expected) in cases {
            assert_eq!(parse_scopes(scope), *expected, "{scope:?}");
        }
        let token = AccessToken::new("t", HOUR, parse_scopes("sales financial"));
        assert!(token.has_scope("financial"));
        assert!(!token.has_scope("sales_refund"));
    }

    #[test]
    fn decodes_base64url() {
        assert_eq!(decode_base64url("").as_deref(), Some(&b""[..]));
        assert_eq!(decode_base64url("Zg").as_deref(), Some(&b"f"[..]));
        assert_eq!(decode_base64url("Zm8").as_deref(), Some(&b"fo"[..]));
        assert_eq!(decode_base64url("Zm9v").as_deref(), Some(&b"foo"[..]));
        assert_eq!(decode_base64url("Zm9vYg==").as_deref(), Some(&b"foob"[..]));
        assert_eq!(decode_base64url("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(decode_base64url("Zm9v!"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn debug_output_hides_the_token() {
        let secret = "s3cr3t-bearer-value";
        let token = AccessToken::new(secret, HOUR, vec!["sales".to_owned()]);
        let printed = format!("{token:?} {token:#?}");
        assert!(!printed.contains(secret), "{printed}");
        assert!(printed.contains("REDACTED"), "{printed}");
        assert!(printed.contains("sales"), "{printed}");

        let cache = TokenCache::new();
        let _ = cache
            .get_or_refresh(|| async {
                Ok::<_, Infallible>(AccessToken::new(secret, HOUR, vec![]))
            })
            .await;
        let printed = format!("{cache:?}");
        assert!(!printed.contains(secret), "{printed}");
    }
}
