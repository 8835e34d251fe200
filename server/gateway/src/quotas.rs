//! Quotas: requests per key per UTC day or month. Counted in memory on the request path;
//! the binary saves changed counters to the store in batches (never a store write per
//! request) and loads them at start, so a restart does not reset a quota.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use certgate_core::gateway::spec::Quota;
use dashmap::DashMap;

/// One key's usage in one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUsage {
    pub window_start: i64,
    pub used: u64,
}

struct Counter {
    window_start: AtomicU64,
    used: AtomicU64,
    dirty: AtomicBool,
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaVerdict {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds when the window ends.
    pub resets_at: i64,
}

#[derive(Default)]
pub struct Quotas {
    counters: DashMap<String, Counter>,
}

impl Quotas {
    /// Counts one request of `key_id` at `now`; refuses once `quota.max` is used up.
    pub fn consume(&self, key_id: &str, quota: Quota, now: i64) -> QuotaVerdict {
        let (start, end) = quota.period.window(now);
        let start_u = u64::try_from(start).unwrap_or(0);
        // A lookup first: allocating the key only for a new counter.
        let counter = match self.counters.get(key_id) {
            Some(counter) => counter,
            None => self
                .counters
                .entry(key_id.to_string())
                .or_insert_with(|| Counter {
                    window_start: AtomicU64::new(start_u),
                    used: AtomicU64::new(0),
                    dirty: AtomicBool::new(false),
                })
                .downgrade(),
        };
        // A new window starts from zero (the first request to see it resets the count).
        let seen = counter.window_start.load(Ordering::Acquire);
        if seen != start_u && counter.window_start.compare_exchange(seen, start_u, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            counter.used.store(0, Ordering::Release);
        }
        // Count only while under the limit, so refusals do not inflate the stored usage.
        let counted = counter.used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| (used < quota.max).then_some(used + 1));
        match counted {
            Ok(before) => {
                counter.dirty.store(true, Ordering::Release);
                QuotaVerdict { allowed: true, limit: quota.max, remaining: quota.max - before - 1, resets_at: end }
            }
            Err(_) => QuotaVerdict { allowed: false, limit: quota.max, remaining: 0, resets_at: end },
        }
    }

    /// What `key_id` has counted in its current window, if anything (a read: nothing changes).
    pub fn usage(&self, key_id: &str) -> Option<QuotaUsage> {
        self.counters.get(key_id).map(|c| QuotaUsage {
            window_start: i64::try_from(c.window_start.load(Ordering::Acquire)).unwrap_or(0),
            used: c.used.load(Ordering::Acquire),
        })
    }

    /// Loads saved usage (at start-up).
    pub fn load(&self, saved: impl IntoIterator<Item = (String, QuotaUsage)>) {
        for (key_id, usage) in saved {
            self.counters.insert(
                key_id,
                Counter {
                    window_start: AtomicU64::new(u64::try_from(usage.window_start).unwrap_or(0)),
                    used: AtomicU64::new(usage.used),
                    dirty: AtomicBool::new(false),
                },
            );
        }
    }

    /// The counters changed since the last call, marked clean (the caller saves them).
    pub fn take_changed(&self) -> Vec<(String, QuotaUsage)> {
        self.counters
            .iter()
            .filter(|c| c.dirty.swap(false, Ordering::AcqRel))
            .map(|c| {
                let usage = QuotaUsage {
                    window_start: i64::try_from(c.window_start.load(Ordering::Acquire)).unwrap_or(0),
                    used: c.used.load(Ordering::Acquire),
                };
                (c.key().clone(), usage)
            })
            .collect()
    }

    /// Marks counters dirty again after a failed save, so the next batch retries them.
    pub fn mark_changed(&self, keys: impl IntoIterator<Item = String>) {
        for key in keys {
            if let Some(c) = self.counters.get(&key) {
                c.dirty.store(true, Ordering::Release);
            }
        }
    }

    /// The keys counted so far.
    pub fn ids(&self) -> Vec<String> {
        self.counters.iter().map(|c| c.key().clone()).collect()
    }

    /// Drops the counters of keys `keep` says no to.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.counters.retain(|k, _| keep(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use certgate_core::gateway::spec::QuotaPeriod;

    #[test]
    fn a_quota_counts_per_window_and_survives_a_reload() {
        let quotas = Quotas::default();
        let quota = Quota { max: 2, period: QuotaPeriod::Day };
        let day = 1_771_027_200;
        assert_eq!(quotas.consume("k", quota, day + 10).remaining, 1);
        assert!(quotas.consume("k", quota, day + 20).allowed);
        let refused = quotas.consume("k", quota, day + 30);
        assert!(!refused.allowed);
        assert_eq!(refused.resets_at, day + 86_400);
        let changed = quotas.take_changed();
        assert_eq!(changed, vec![("k".to_string(), QuotaUsage { window_start: day, used: 2 })]);
        assert!(quotas.take_changed().is_empty(), "clean after a save");
        assert_eq!(quotas.usage("k"), Some(QuotaUsage { window_start: day, used: 2 }), "reading changes nothing");
        assert!(quotas.take_changed().is_empty());
        assert_eq!(quotas.usage("unknown"), None);

        let restarted = Quotas::default();
        restarted.load(changed);
        assert!(!restarted.consume("k", quota, day + 40).allowed, "a restart does not reset the quota");
        assert!(restarted.consume("k", quota, day + 86_400 + 1).allowed, "the next day starts afresh");
    }
}
