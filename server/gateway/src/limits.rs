//! Per-credential rate limits: one token bucket (governor) per key, kept in memory beside the
//! snapshot. A key whose rate changed gets a fresh bucket.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use certgate_core::gateway::spec::Rate;
use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::RateLimiter;

type Bucket = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// The outcome of one rate-limit check, with what the `X-RateLimit-*` headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateVerdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until a request is allowed again (denied) or the bucket is full (allowed).
    pub reset_seconds: u64,
}

#[derive(Default)]
pub struct RateLimits {
    buckets: DashMap<String, (Rate, Arc<Bucket>)>,
}

impl RateLimits {
    /// Counts one request of `key_id` against `rate`.
    pub fn check(&self, key_id: &str, rate: Rate) -> RateVerdict {
        let bucket = self.bucket(key_id, rate);
        let per_request = Duration::from_secs(u64::from(rate.per_seconds)) / rate.requests.max(1);
        match bucket.check() {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let missing = rate.requests.saturating_sub(remaining);
                RateVerdict {
                    allowed: true,
                    limit: rate.requests,
                    remaining,
                    reset_seconds: (per_request * missing).as_secs_f64().ceil() as u64,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                RateVerdict { allowed: false, limit: rate.requests, remaining: 0, reset_seconds: wait.as_secs_f64().ceil().max(1.0) as u64 }
            }
        }
    }

    fn bucket(&self, key_id: &str, rate: Rate) -> Arc<Bucket> {
        if let Some(entry) = self.buckets.get(key_id) {
            if entry.0 == rate {
                return Arc::clone(&entry.1);
            }
        }
        let burst = NonZeroU32::new(rate.requests).unwrap_or(NonZeroU32::MIN);
        let period = Duration::from_secs(u64::from(rate.per_seconds)) / burst.get();
        let quota = governor::Quota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| governor::Quota::per_second(burst))
            .allow_burst(burst);
        let bucket = Arc::new(RateLimiter::direct(quota).with_middleware::<StateInformationMiddleware>());
        self.buckets.insert(key_id.to_string(), (rate, Arc::clone(&bucket)));
        bucket
    }

    /// The keys with a bucket.
    pub fn ids(&self) -> Vec<String> {
        self.buckets.iter().map(|b| b.key().clone()).collect()
    }

    /// Drops the buckets of keys `keep` says no to (keys that ended).
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.buckets.retain(|k, _| keep(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_with_a_wait() {
        let limits = RateLimits::default();
        let rate = Rate { requests: 3, per_seconds: 60 };
        let verdicts: Vec<_> = (0..4).map(|_| limits.check("k", rate)).collect();
        assert!(verdicts[..3].iter().all(|v| v.allowed));
        assert_eq!(verdicts[2].remaining, 0);
        assert!(!verdicts[3].allowed);
        assert!((1..=20).contains(&verdicts[3].reset_seconds), "{:?}", verdicts[3]);
        // Another key has its own bucket; a changed rate starts afresh.
        assert!(limits.check("other", rate).allowed);
        assert!(limits.check("k", Rate { requests: 5, per_seconds: 60 }).allowed);
    }
}
