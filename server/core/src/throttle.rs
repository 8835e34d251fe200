//! Sign-in throttling: a fixed window of failures per key (an account, or a client address).
//!
//! The caller keeps one [`FailureWindow`] per key; these functions decide. A key that reached
//! `max_failures` inside the window is refused until the window ends, before any password is
//! checked, so a locked account costs the server no argon2 work.

use crate::UnixSeconds;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub max_failures: u32,
    pub window_secs: i64,
}

/// Failures counted for one key since `window_start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureWindow {
    pub failures: u32,
    pub window_start: UnixSeconds,
}

/// Why an attempt may not be made now, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_secs: i64,
}

impl ThrottlePolicy {
    /// Whether an attempt is allowed for a key with this window.
    pub fn check(&self, window: Option<&FailureWindow>, now: UnixSeconds) -> Result<(), Throttled> {
        match window {
            Some(w) if self.is_live(w, now) && w.failures >= self.max_failures => {
                Err(Throttled { retry_after_secs: (w.window_start + self.window_secs - now).max(1) })
            }
            _ => Ok(()),
        }
    }

    /// The window after one more failure at `now`.
    pub fn record_failure(&self, window: Option<FailureWindow>, now: UnixSeconds) -> FailureWindow {
        match window {
            Some(w) if self.is_live(&w, now) => {
                FailureWindow { failures: w.failures.saturating_add(1), window_start: w.window_start }
            }
            _ => FailureWindow { failures: 1, window_start: now },
        }
    }

    /// Whether a stored window still matters at `now` (an expired one can be dropped).
    pub fn is_live(&self, window: &FailureWindow, now: UnixSeconds) -> bool {
        now < window.window_start + self.window_secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: ThrottlePolicy = ThrottlePolicy { max_failures: 3, window_secs: 60 };

    #[test]
    fn allows_until_the_limit_then_refuses_until_the_window_ends() {
        let mut w = None;
        for _ in 0..3 {
            assert!(P.check(w.as_ref(), 10).is_ok());
            w = Some(P.record_failure(w, 10));
        }
        assert_eq!(P.check(w.as_ref(), 10), Err(Throttled { retry_after_secs: 60 }));
        assert_eq!(P.check(w.as_ref(), 69), Err(Throttled { retry_after_secs: 1 }));
        assert!(P.check(w.as_ref(), 70).is_ok());
    }

    #[test]
    fn a_failure_after_the_window_starts_a_new_one() {
        let w = P.record_failure(Some(FailureWindow { failures: 3, window_start: 0 }), 100);
        assert_eq!(w, FailureWindow { failures: 1, window_start: 100 });
    }

    #[test]
    fn no_window_means_allowed() {
        assert!(P.check(None, 0).is_ok());
    }
}
