//! When to send a failed request again, and how long to wait first.
//!
//! The policy is a pure function: it sees what happened to one attempt and answers
//! [`Decision::RetryAfter`] or [`Decision::GiveUp`]. It never sleeps, reads a clock or draws a
//! random number; the caller passes the elapsed time, the wall-clock time and the jitter, so the
//! rules below can be tested without HTTP.
//!
//! # Rules
//!
//! - A request that only reads ([`Idempotency::Safe`], i.e. `GET`) is retried on 429, 500, 502,
//!   503, 504, a timeout, a failed connection, and any other transport error.
//! - A request that moves state ([`Idempotency::MovesState`]: refunds, payouts, webhook and
//!   affiliate changes, any non-`GET`) is retried **only** when the connection was never
//!   established, because then nothing reached the server. A refund or payout that may have
//!   been received is never sent twice.
//! - Outside this policy, the client repeats any request once, refunds included, when the API
//!   rejected its access token (401, or 400 `auth_error`): that answer means the API refused
//!   the request before acting on it. A request whose operation deadline passes before it is
//!   sent (waiting for a token or for the rate limiter) is not sent at all.
//! - The wait is "full jitter" exponential backoff: `jitter * min(max_delay, base_delay *
//!   2^(attempt - 1))`, with `jitter` uniform in `[0, 1)`.
//! - A `Retry-After` header (seconds or an HTTP date) replaces the backoff: the policy waits
//!   exactly that long, or gives up if that is longer than `max_delay` or than what is left of
//!   `max_elapsed`. Kiwify has never been seen sending one, but honouring it costs nothing.
//! - The policy gives up once `max_attempts` attempts have been made, or when waiting would
//!   take the whole operation past `max_elapsed`.
//!
//! # Use from an exec loop
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use kiwify::retry::{Decision, Idempotency, Outcome, RetryPolicy};
//!
//! let policy = RetryPolicy::default();
//! let outcome = Outcome::Status { status: 503, retry_after: Some("2") };
//! let decision = policy.decide(
//!     Idempotency::Safe,
//!     &outcome,
//!     1,                       // the first attempt just failed
//!     Duration::from_secs(1),  // time since the operation started
//!     SystemTime::now(),
//!     0.5,                     // jitter, uniform in [0, 1)
//! );
//! assert_eq!(decision, Decision::RetryAfter(Duration::from_secs(2)));
//! ```

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// How many times, and for how long, a failed request may be tried again.
///
/// Build one from [`RetryPolicy::default()`] or [`RetryPolicy::none()`] and adjust it with the
/// `with_*` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts (one try and three retries), 500 ms base delay, waits capped at 30 s, and
    /// 60 s in all.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: one attempt, whatever happens.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Sets the total number of attempts, the first one included (default 4). `0` is treated
    /// as `1`: the request is always sent once.
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// Sets the backoff before the first retry, doubled for each later one (default 500 ms).
    pub fn with_base_delay(mut self, base_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self
    }

    /// Sets the longest single wait (default 30 s). It caps the backoff, and a `Retry-After`
    /// longer than this makes the policy give up instead of waiting.
    pub fn with_max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// Sets the budget for the whole operation, attempts and waits together (default 60 s).
    /// No retry is scheduled whose wait would end after it.
    pub fn with_max_elapsed(mut self, max_elapsed: Duration) -> Self {
        self.max_elapsed = max_elapsed;
        self
    }

    /// The total number of attempts, the first one included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff before the first retry.
    pub fn base_delay(&self) -> Duration {
        self.base_delay
    }

    /// The longest single wait.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The budget for the whole operation.
    pub fn max_elapsed(&self) -> Duration {
        self.max_elapsed
    }

    /// Decides whether to try again after an attempt failed, and how long to wait first.
    ///
    /// - `attempt` is the 1-based number of the attempt that just failed.
    /// - `elapsed` is the time since the operation's first attempt started.
    /// - `now` is the wall-clock time, used only to read a `Retry-After` HTTP date.
    /// - `jitter` should be uniform in `[0, 1)`; values outside `[0, 1]` (and NaN) are clamped.
    ///
    /// An unreadable `Retry-After` is ignored and the backoff applies.
    pub fn decide(
        &self,
        idempotency: Idempotency,
        outcome: &Outcome<'_>,
        attempt: u32,
        elapsed: Duration,
        now: SystemTime,
        jitter: f64,
    ) -> Decision {
        if !outcome.is_retryable(idempotency) || attempt >= self.max_attempts {
            return Decision::GiveUp;
        }

        let server_delay = match outcome {
            Outcome::Status {
                retry_after: Some(value),
                ..
            } => parse_retry_after(value, now),
            _ => None,
        };
        let delay = match server_delay {
            Some(delay) if delay > self.max_delay => return Decision::GiveUp,
            Some(delay) => delay,
            None => self.backoff(attempt, jitter),
        };

        match elapsed.checked_add(delay) {
            Some(end) if end <= self.max_elapsed => Decision::RetryAfter(delay),
            _ => Decision::GiveUp,
        }
    }

    /// Full-jitter backoff after the 1-based `attempt`.
    fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exponent = attempt.saturating_sub(1);
        let cap = 2u32
            .checked_pow(exponent)
            .and_then(|factor| self.base_delay.checked_mul(factor))
            .map_or(self.max_delay, |delay| delay.min(self.max_delay));

        // `clamp` lets NaN through, so map it to 0 first.
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };

        // `mul_f64` panics when the product does not fit; the `try_` form cannot.
        Duration::try_from_secs_f64(cap.as_secs_f64() * jitter).map_or(cap, |delay| delay.min(cap))
    }
}

/// Whether a request may safely reach the server twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Idempotency {
    /// The request only reads (`GET`): sending it twice changes nothing.
    Safe,
    /// The request changes something and perhaps moves money (`refund_sale`, `create_payout`,
    /// `create_webhook`, `update_webhook`, `delete_webhook`, `update_affiliate`, and any other
    /// non-`GET`). It is retried only when it certainly never reached the server.
    MovesState,
}

impl Idempotency {
    /// Classifies a request by its method: the HTTP-safe methods (`GET`, `HEAD`, `OPTIONS`,
    /// `TRACE`) are [`Safe`](Idempotency::Safe); every other one, `PUT` and `DELETE` included,
    /// [`MovesState`](Idempotency::MovesState).
    ///
    /// `PUT` and `DELETE` are idempotent in HTTP terms, but re-sending them is left to the
    /// caller's explicit choice: pass [`Idempotency::Safe`] directly to allow it.
    pub fn of(method: &http::Method) -> Self {
        if method.is_safe() {
            Idempotency::Safe
        } else {
            Idempotency::MovesState
        }
    }
}

/// What happened to one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// The server answered with a status the caller treats as a failure.
    Status {
        /// The HTTP status code.
        status: u16,
        /// The raw `Retry-After` header value, if the response had one.
        retry_after: Option<&'a str>,
    },
    /// No complete response arrived in time. The request may have reached the server.
    Timeout,
    /// The connection was never established (DNS, refused, TLS handshake): nothing was sent.
    ConnectFailed,
    /// Any other transport failure (reset mid-request, error reading the body). The request may
    /// have reached the server.
    Other,
}

impl Outcome<'_> {
    fn is_retryable(&self, idempotency: Idempotency) -> bool {
        match (idempotency, self) {
            (_, Outcome::ConnectFailed) => true,
            (Idempotency::MovesState, _) => false,
            (Idempotency::Safe, Outcome::Status { status, .. }) => {
                matches!(status, 429 | 500 | 502 | 503 | 504)
            }
            (Idempotency::Safe, Outcome::Timeout | Outcome::Other) => true,
        }
    }
}

/// The answer of [`RetryPolicy::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then send the request again.
    RetryAfter(Duration),
    /// Do not try again: surface the failure.
    GiveUp,
}

/// A jitter value for [`RetryPolicy::decide`], uniform in `[0, 1)`.
///
/// Drawn from the standard library's randomly keyed hasher, so the crate needs no random-number
/// dependency. Good enough to spread retries apart; not for anything secret.
pub fn random_jitter() -> f64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);

    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    // The top 53 bits fill an f64 mantissa exactly, so the result is below 1.
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Reads a `Retry-After` header value: delta-seconds (`"120"`) or an HTTP date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`), the latter measured from `now`.
///
/// A date in the past, or a negative number of seconds, gives zero. Anything else that is not
/// one of the two forms gives `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();

    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if negative {
            return Some(Duration::ZERO);
        }
        // Only digits, so the parse can fail only by overflow: saturate.
        let seconds = digits.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds));
    }

    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    use Idempotency::{MovesState, Safe};

    const SECOND: Duration = Duration::from_secs(1);

    fn status(status: u16) -> Outcome<'static> {
        Outcome::Status {
            status,
            retry_after: None,
        }
    }

    /// A fixed wall-clock time, so HTTP dates in tests are exact.
    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480) // 2015-10-21 07:28:00 GMT
    }

    fn decide(idempotency: Idempotency, outcome: Outcome<'_>) -> Decision {
        RetryPolicy::default().decide(idempotency, &outcome, 1, Duration::ZERO, now(), 0.5)
    }

    #[test]
    fn which_outcomes_are_retried() {
        let cases: &[(Idempotency, Outcome<'_>, bool)] = &[
            (Safe, status(429), true),
            (Safe, status(500), true),
            (Safe, status(502), true),
            (Safe, status(503), true),
            (Safe, status(504), true),
            (Safe, Outcome::Timeout, true),
            (Safe, Outcome::ConnectFailed, true),
            (Safe, Outcome::Other, true),
            (Safe, status(400), false),
            (Safe, status(401), false),
            (Safe, status(403), false),
            (Safe, status(404), false),
            (Safe, status(501), false),
            (Safe, status(200), false),
            // A refund or payout that may have reached the server is never sent again.
            (MovesState, status(429), false),
            (MovesState, status(500), false),
            (MovesState, status(502), false),
            (MovesState, status(503), false),
            (MovesState, status(504), false),
            (
                MovesState,
                Outcome::Status {
                    status: 503,
                    retry_after: Some("1"),
                },
                false,
            ),
            (MovesState, Outcome::Timeout, false),
            (MovesState, Outcome::Other, false),
            (MovesState, status(400), false),
            (MovesState, status(404), false),
            (MovesState, Outcome::ConnectFailed, true),
        ];
        for (idempotency, outcome, retried) in cases {
            let decision = decide(*idempotency, *outcome);
            assert_eq!(
                matches!(decision, Decision::RetryAfter(_)),
                *retried,
                "{idempotency:?} {outcome:?} gave {decision:?}"
            );
        }
    }

    #[test]
    fn idempotency_follows_the_method() {
        assert_eq!(Idempotency::of(&http::Method::GET), Safe);
        assert_eq!(Idempotency::of(&http::Method::HEAD), Safe);
        for method in [http::Method::POST, http::Method::PUT, http::Method::DELETE] {
            assert_eq!(Idempotency::of(&method), MovesState, "{method}");
        }
    }

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap() {
        let policy = RetryPolicy::default()
            .with_max_attempts(u32::MAX)
            .with_max_elapsed(Duration::MAX)
            .with_base_delay(Duration::from_millis(500))
            .with_max_delay(Duration::from_secs(5));
        let expected_caps_ms = [500, 1000, 2000, 4000, 5000, 5000];
        for (index, cap_ms) in expected_caps_ms.iter().enumerate() {
            let attempt = index as u32 + 1;
            let decision = policy.decide(Safe, &status(503), attempt, Duration::ZERO, now(), 1.0);
            assert_eq!(
                decision,
                Decision::RetryAfter(Duration::from_millis(*cap_ms)),
                "attempt {attempt}"
            );
        }
    }

    #[test]
    fn full_jitter_stays_within_zero_and_the_cap() {
        let policy = RetryPolicy::default().with_max_attempts(10);
        let at = |attempt, jitter| {
            policy.decide(
                Safe,
                &Outcome::Timeout,
                attempt,
                Duration::ZERO,
                now(),
                jitter,
            )
        };

        assert_eq!(at(1, 0.0), Decision::RetryAfter(Duration::ZERO));
        assert_eq!(at(1, 0.5), Decision::RetryAfter(Duration::from_millis(250)));
        assert_eq!(
            at(3, 0.25),
            Decision::RetryAfter(Duration::from_millis(500))
        );

        let Decision::RetryAfter(delay) = at(1, 0.999) else {
            panic!("gave up")
        };
        assert!(delay < Duration::from_millis(500), "{delay:?}");
        assert!(delay >= Duration::from_millis(499), "{delay:?}");

        let Decision::RetryAfter(delay) = at(9, 0.999) else {
            panic!("gave up")
        };
        assert!(delay < Duration::from_secs(30), "{delay:?}");
        assert!(delay >= Duration::from_millis(29_970), "{delay:?}");
    }

    #[test]
    fn out_of_range_jitter_is_clamped() {
        let policy = RetryPolicy::default();
        let at = |jitter| policy.decide(Safe, &Outcome::Other, 1, Duration::ZERO, now(), jitter);
        assert_eq!(at(-1.0), Decision::RetryAfter(Duration::ZERO));
        assert_eq!(at(f64::NAN), Decision::RetryAfter(Duration::ZERO));
        assert_eq!(at(7.0), Decision::RetryAfter(Duration::from_millis(500)));
        assert_eq!(
            at(f64::INFINITY),
            Decision::RetryAfter(Duration::from_millis(500))
        );
    }

    #[test]
    fn gives_up_after_max_attempts() {
        let policy = RetryPolicy::default(); // 4 attempts
        let at = |attempt| policy.decide(Safe, &status(500), attempt, Duration::ZERO, now(), 0.0);
        assert!(matches!(at(1), Decision::RetryAfter(_)));
        assert!(matches!(at(3), Decision::RetryAfter(_)));
        assert_eq!(at(4), Decision::GiveUp);
        assert_eq!(at(5), Decision::GiveUp);

        let none = RetryPolicy::none();
        assert_eq!(
            none.decide(Safe, &status(500), 1, Duration::ZERO, now(), 0.0),
            Decision::GiveUp
        );
        assert_eq!(
            none.decide(
                MovesState,
                &Outcome::ConnectFailed,
                1,
                Duration::ZERO,
                now(),
                0.0
            ),
            Decision::GiveUp
        );
    }

    #[test]
    fn zero_max_attempts_still_means_one_attempt() {
        let policy = RetryPolicy::default().with_max_attempts(0);
        assert_eq!(policy.max_attempts(), 1);
        assert_eq!(
            policy.decide(Safe, &status(500), 1, Duration::ZERO, now(), 0.0),
            Decision::GiveUp
        );
    }

    #[test]
    fn gives_up_when_the_wait_would_pass_max_elapsed() {
        let policy = RetryPolicy::default().with_max_elapsed(Duration::from_secs(10));
        // Attempt 2: backoff cap 1 s, so with jitter 1.0 the wait is exactly 1 s.
        let at = |elapsed| policy.decide(Safe, &status(502), 2, elapsed, now(), 1.0);
        assert_eq!(at(Duration::from_secs(9)), Decision::RetryAfter(SECOND));
        assert_eq!(at(Duration::from_millis(9_001)), Decision::GiveUp);
        assert_eq!(at(Duration::from_secs(60)), Decision::GiveUp);
        assert_eq!(at(Duration::MAX), Decision::GiveUp);
    }

    #[test]
    fn retry_after_seconds_replaces_the_backoff() {
        let policy = RetryPolicy::default();
        let outcome = Outcome::Status {
            status: 429,
            retry_after: Some("7"),
        };
        // Jitter 0 would give no wait at all; the header wins.
        assert_eq!(
            policy.decide(Safe, &outcome, 1, Duration::ZERO, now(), 0.0),
            Decision::RetryAfter(Duration::from_secs(7))
        );
    }

    #[test]
    fn retry_after_http_date_is_measured_from_now() {
        let policy = RetryPolicy::default();
        let outcome = Outcome::Status {
            status: 503,
            retry_after: Some("Wed, 21 Oct 2015 07:28:12 GMT"),
        };
        assert_eq!(
            policy.decide(Safe, &outcome, 1, Duration::ZERO, now(), 0.9),
            Decision::RetryAfter(Duration::from_secs(12))
        );
    }

    #[test]
    fn retry_after_in_the_past_means_now() {
        let policy = RetryPolicy::default();
        let outcome = Outcome::Status {
            status: 503,
            retry_after: Some("Wed, 21 Oct 2015 07:27:00 GMT"),
        };
        assert_eq!(
            policy.decide(Safe, &outcome, 1, Duration::ZERO, now(), 0.9),
            Decision::RetryAfter(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_beyond_the_caps_gives_up() {
        let policy = RetryPolicy::default(); // max_delay 30 s, max_elapsed 60 s
        let with = |value| Outcome::Status {
            status: 429,
            retry_after: Some(value),
        };

        assert_eq!(
            policy.decide(Safe, &with("30"), 1, Duration::ZERO, now(), 0.5),
            Decision::RetryAfter(Duration::from_secs(30))
        );
        assert_eq!(
            policy.decide(Safe, &with("31"), 1, Duration::ZERO, now(), 0.5),
            Decision::GiveUp
        );
        assert_eq!(
            policy.decide(
                Safe,
                &with("99999999999999999999999"),
                1,
                Duration::ZERO,
                now(),
                0.5
            ),
            Decision::GiveUp
        );
        // Under max_delay, but more than what is left of the 60 s budget.
        assert_eq!(
            policy.decide(Safe, &with("20"), 1, Duration::from_secs(45), now(), 0.5),
            Decision::GiveUp
        );
    }

    #[test]
    fn unreadable_retry_after_falls_back_to_the_backoff() {
        let policy = RetryPolicy::default();
        let outcome = Outcome::Status {
            status: 429,
            retry_after: Some("soon"),
        };
        assert_eq!(
            policy.decide(Safe, &outcome, 1, Duration::ZERO, now(), 1.0),
            Decision::RetryAfter(Duration::from_millis(500))
        );
    }

    #[test]
    fn random_jitter_is_in_range_and_varies() {
        let draws: Vec<f64> = (0..1_000).map(|_| random_jitter()).collect();
        assert!(draws.iter().all(|j| (0.0..1.0).contains(j)), "{draws:?}");

        let low = draws.iter().filter(|j| **j < 0.5).count();
        assert!((350..=650).contains(&low), "{low} of 1000 below 0.5");
    }

    #[test]
    fn parses_retry_after_values() {
        let cases: &[(&str, Option<Duration>)] = &[
            ("0", Some(Duration::ZERO)),
            ("120", Some(Duration::from_secs(120))),
            ("  5 ", Some(Duration::from_secs(5))),
            ("-3", Some(Duration::ZERO)),
            ("18446744073709551616", Some(Duration::from_secs(u64::MAX))),
            (
                "Wed, 21 Oct 2015 07:29:00 GMT",
                Some(Duration::from_secs(60)),
            ),
            (
                "Wednesday, 21-Oct-15 07:29:00 GMT",
                Some(Duration::from_secs(60)),
            ),
            ("Wed Oct 21 07:29:00 2015", Some(Duration::from_secs(60))),
            ("Wed, 21 Oct 2015 07:00:00 GMT", Some(Duration::ZERO)),
            ("", None),
            ("-", None),
            ("1.5", None),
            ("+5", None),
            ("soon", None),
            ("Wed, 32 Oct 2015 07:29:00 GMT", None),
        ];
        for (value, expected) in cases {
            assert_eq!(parse_retry_after(value, now()), *expected, "{value:?}");
        }
    }

    #[test]
    fn extreme_inputs_do_not_panic() {
        let policies = [
            RetryPolicy::default()
                .with_max_attempts(u32::MAX)
                .with_max_elapsed(Duration::MAX),
            RetryPolicy::default()
                .with_max_attempts(u32::MAX)
                .with_base_delay(Duration::MAX)
                .with_max_delay(Duration::MAX)
                .with_max_elapsed(Duration::MAX),
            RetryPolicy::default()
                .with_base_delay(Duration::ZERO)
                .with_max_delay(Duration::ZERO),
        ];
        let outcomes = [
            Outcome::Timeout,
            Outcome::Status {
                status: 503,
                retry_after: Some("18446744073709551615"),
            },
            Outcome::Status {
                status: 503,
                retry_after: Some("Fri, 31 Dec 9999 23:59:59 GMT"),
            },
        ];
        for policy in policies {
            for outcome in &outcomes {
                for attempt in [0, 1, 31, 32, 33, 64, u32::MAX - 1, u32::MAX] {
                    for jitter in [0.0, 0.999_999, 1.0] {
                        for now in [SystemTime::UNIX_EPOCH, now()] {
                            let _ =
                                policy.decide(Safe, outcome, attempt, Duration::ZERO, now, jitter);
                        }
                    }
                }
            }
        }

        // Huge attempt numbers saturate at the cap rather than wrapping to a small wait.
        let policy = RetryPolicy::default().with_max_attempts(u32::MAX);
        assert_eq!(
            policy.decide(
                Safe,
                &Outcome::Timeout,
                u32::MAX - 1,
                Duration::ZERO,
                now(),
                1.0
            ),
            Decision::RetryAfter(Duration::from_secs(30))
        );
    }
}
