//! Client-side throttling, so that a busy program waits instead of collecting 429s.
//!
//! Kiwify is known to answer 429 past about 100 requests per minute per account, and sends no
//! header saying how much budget is left. Every client therefore paces itself: [`RateLimit`]
//! says how fast, and one [`RateLimiter`], shared by all clones of a client for one account,
//! makes each request wait for its turn.
//!
//! The limiter is a token bucket in its "virtual scheduling" form (GCRA): it keeps the time at
//! which the next request would be due if requests came evenly, lets up to `burst` requests run
//! ahead of that schedule, and hands every later caller a slot in the future. Callers reserve
//! their slot under a short lock and sleep without it, so they leave in arrival order, one
//! interval apart. A caller that gives up waiting (its future dropped) still used its slot.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// How fast requests may be sent: a steady rate, plus a burst that may go at once after a
/// quiet spell.
///
/// The default is 100 requests per minute with a burst of 10, the figures every Kiwify
/// integration codes against (the facts sheet's recommendation). The burst runs ahead of the
/// steady rate: after a quiet spell, up to 109 requests can go in the first minute. Nobody
/// knows how Kiwify counts its minute; if 429s show up at the start of a busy spell, a burst of
/// 1 (`RateLimit::default().with_burst(1)`) never puts more than 100 in any 60 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// `None` when the limit is disabled.
    pace: Option<Pace>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pace {
    /// Time between two requests at the steady rate.
    interval: Duration,
    /// How many requests may be sent back to back, at least 1.
    burst: u32,
}

/// The burst [`RateLimit::per_minute`] and [`RateLimit::per_second`] start with, when the rate
/// allows it.
const DEFAULT_BURST: u32 = 10;

impl Default for RateLimit {
    /// 100 requests per minute, burst 10.
    fn default() -> Self {
        RateLimit::per_minute(100)
    }
}

impl RateLimit {
    /// `requests` per minute, with a burst of 10 (or of `requests`, if fewer). `0` is treated
    /// as `1`; use [`RateLimit::disabled`] for no limit.
    pub fn per_minute(requests: u32) -> Self {
        RateLimit::per_period(requests, Duration::from_secs(60))
    }

    /// `requests` per second, with a burst of 10 (or of `requests`, if fewer). Meant for tests
    /// and benchmarks against a server with a scaled-down limit. `0` is treated as `1`.
    pub fn per_second(requests: u32) -> Self {
        RateLimit::per_period(requests, Duration::from_secs(1))
    }

    /// No limit: [`RateLimiter::acquire`] returns at once.
    pub fn disabled() -> Self {
        RateLimit { pace: None }
    }

    /// Sets how many requests may be sent back to back after a quiet spell. `0` is treated as
    /// `1`. Has no effect on a disabled limit.
    pub fn with_burst(mut self, burst: u32) -> Self {
        if let Some(pace) = &mut self.pace {
            pace.burst = burst.max(1);
        }
        self
    }

    /// Whether requests are throttled at all.
    pub fn is_enabled(&self) -> bool {
        self.pace.is_some()
    }

    /// The time between two requests at the steady rate, or `None` when disabled.
    pub fn interval(&self) -> Option<Duration> {
        self.pace.map(|pace| pace.interval)
    }

    /// How many requests may be sent back to back, or `None` when disabled.
    pub fn burst(&self) -> Option<u32> {
        self.pace.map(|pace| pace.burst)
    }

    fn per_period(requests: u32, period: Duration) -> Self {
        let requests = requests.max(1);
        let pace = Pace {
            interval: period / requests,
            burst: requests.min(DEFAULT_BURST),
        };
        RateLimit { pace: Some(pace) }
    }
}

/// Makes callers wait their turn under a [`RateLimit`].
///
/// Cheap to clone; clones share one budget, so give every handle that talks for the same
/// account a clone of the same limiter.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    /// `None` when disabled, so `acquire` takes no lock at all.
    bucket: Option<Arc<Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    pace: Pace,
    /// When the next request would be due if every request so far had kept to the steady rate.
    /// `None` until the first request.
    due: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limiter with a fresh budget: the first `burst` requests go at once.
    pub fn new(limit: RateLimit) -> Self {
        let bucket = limit.pace.map(|pace| {
            Arc::new(Bucket {
                pace,
                due: Mutex::new(None),
            })
        });
        RateLimiter { bucket }
    }

    /// Waits until one more request may be sent, and counts it.
    ///
    /// Concurrent callers are served in the order they called, each waiting as long as the
    /// limit requires; nobody fails. Uses tokio's clock, so tests may pause it.
    pub async fn acquire(&self) {
        let Some(bucket) = &self.bucket else { return };
        let slot = bucket.reserve(Instant::now(), None);
        Self::wait_for(bucket, slot).await;
    }

    /// [`RateLimiter::acquire`] for a caller that must send by `deadline`: when its turn would
    /// come later, it books nothing, returns `false` at once and leaves the slot to others.
    pub async fn acquire_before(&self, deadline: Instant) -> bool {
        let Some(bucket) = &self.bucket else {
            return true;
        };
        let Some(slot) = bucket.reserve(Instant::now(), Some(deadline)) else {
            return false;
        };
        Self::wait_for(bucket, Some(slot)).await;
        true
    }

    async fn wait_for(bucket: &Bucket, mut slot: Option<Instant>) {
        // Booked slots are checked again on waking: a waiter that woke late pushes the schedule
        // back instead of letting the next ones catch up in a burst the server would count.
        while let Some(due) = slot.filter(|due| *due > Instant::now()) {
            tokio::time::sleep_until(due).await;
            slot = Some(bucket.confirm(due, Instant::now()));
        }
    }
}

impl Bucket {
    /// Books the earliest slot at or after `now` and returns it; books nothing and returns
    /// `None` when that slot is later than `deadline`.
    fn reserve(&self, now: Instant, deadline: Option<Instant>) -> Option<Instant> {
        // The lock is never held across an await or any code that can panic; recover anyway.
        let mut due = self.due.lock().unwrap_or_else(PoisonError::into_inner);
        let current = due.map_or(now, |due| due.max(now));

        // A request may run ahead of the schedule by up to `burst - 1` intervals.
        let allowance = self
            .pace
            .interval
            .saturating_mul(self.pace.burst.saturating_sub(1));
        let wait = current
            .saturating_duration_since(now)
            .saturating_sub(allowance);
        let slot = now.checked_add(wait).unwrap_or(current);
        if deadline.is_some_and(|deadline| slot > deadline) {
            return None;
        }

        *due = Some(current.checked_add(self.pace.interval).unwrap_or(current));
        Some(slot)
    }

    /// Called by a waiter woken at `now` for its `slot`. When it woke late, the schedule after
    /// it moves back by the delay, so the spacing between requests actually sent stays at
    /// least one interval. Returns the slot to keep waiting for (`now` means go).
    fn confirm(&self, slot: Instant, now: Instant) -> Instant {
        let late = now.saturating_duration_since(slot);
        if !late.is_zero() {
            let mut due = self.due.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(due) = due.as_mut() {
                *due = due.checked_add(late).unwrap_or(*due);
            }
        }
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `count` concurrent acquires on clones of `limiter` and returns when each finished,
    /// in seconds since the start, sorted.
    async fn finish_times(limiter: &RateLimiter, count: usize) -> Vec<f64> {
        let start = Instant::now();
        let tasks: Vec<_> = (0..count)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    limiter.acquire().await;
                    (Instant::now() - start).as_secs_f64()
                })
            })
            .collect();

        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.expect("acquire task panicked"));
        }
        times.sort_by(f64::total_cmp);
        times
    }

    #[test]
    fn limits_are_built_as_documented() {
        let default = RateLimit::default();
        assert_eq!(default.interval(), Some(Duration::from_millis(600)));
        assert_eq!(default.burst(), Some(10));

        assert_eq!(
            RateLimit::per_second(20).interval(),
            Some(Duration::from_millis(50))
        );
        assert_eq!(RateLimit::per_minute(3).burst(), Some(3));
        assert_eq!(
            RateLimit::per_minute(0).interval(),
            Some(Duration::from_secs(60))
        );
        assert_eq!(RateLimit::per_minute(60).with_burst(0).burst(), Some(1));

        assert!(!RateLimit::disabled().is_enabled());
        assert_eq!(RateLimit::disabled().with_burst(5).burst(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_wait_their_turn() {
        let limiter = RateLimiter::new(RateLimit::per_minute(60).with_burst(1));
        assert_eq!(finish_times(&limiter, 5).await, [0.0, 1.0, 2.0, 3.0, 4.0]);
    }

    #[tokio::test(start_paused = true)]
    async fn burst_goes_at_once_then_the_steady_rate() {
        let limiter = RateLimiter::new(RateLimit::per_second(20).with_burst(3));
        let times = finish_times(&limiter, 6).await;
        assert_eq!(times, [0.0, 0.0, 0.0, 0.05, 0.1, 0.15]);
    }

    #[tokio::test(start_paused = true)]
    async fn budget_refills_after_a_quiet_spell() {
        let limiter = RateLimiter::new(RateLimit::per_minute(60).with_burst(2));
        assert_eq!(finish_times(&limiter, 3).await, [0.0, 0.0, 1.0]);

        // After 1 s only one slot is back; after 2 s more the burst is whole again.
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(finish_times(&limiter, 2).await, [0.0, 1.0]);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(finish_times(&limiter, 3).await, [0.0, 0.0, 1.0]);
    }

    #[tokio::test(start_paused = true)]
    async fn clones_share_one_budget() {
        let first = RateLimiter::new(RateLimit::per_minute(60).with_burst(1));
        let second = first.clone();
        let start = Instant::now();

        first.acquire().await;
        second.acquire().await;
        first.acquire().await;

        assert_eq!(Instant::now() - start, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn separate_limiters_have_separate_budgets() {
        let limit = RateLimit::per_minute(60).with_burst(1);
        let first = RateLimiter::new(limit);
        let second = RateLimiter::new(limit);
        let start = Instant::now();

        first.acquire().await;
        second.acquire().await;

        assert_eq!(Instant::now() - start, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn disabled_never_waits() {
        let limiter = RateLimiter::new(RateLimit::disabled());
        let start = Instant::now();

        for _ in 0..1_000 {
            limiter.acquire().await;
        }

        assert_eq!(Instant::now() - start, Duration::ZERO);
        assert_eq!(finish_times(&limiter, 50).await, vec![0.0; 50]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_whose_turn_is_past_its_deadline_books_nothing() {
        let limiter = RateLimiter::new(RateLimit::per_second(1).with_burst(1));
        let start = Instant::now();
        limiter.acquire().await;

        // The next slot is at 1 s: too late for a deadline at 0.5 s, in time for one at 1 s.
        assert!(
            !limiter
                .acquire_before(start + Duration::from_millis(500))
                .await
        );
        assert_eq!(Instant::now() - start, Duration::ZERO);
        assert!(limiter.acquire_before(start + Duration::from_secs(1)).await);
        assert_eq!(Instant::now() - start, Duration::from_secs(1));

        // The refused caller took no slot: the next one is at 2 s, not 3 s.
        limiter.acquire().await;
        assert_eq!(Instant::now() - start, Duration::from_secs(2));
    }
}
