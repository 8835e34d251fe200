//! Session lifetime: idle and absolute expiry.

use crate::UnixSeconds;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    pub idle_timeout_secs: i64,
    /// A session ends this long after sign-in, however active.
    pub absolute_timeout_secs: i64,
    /// `last_seen` is written back at most this often, so browsing is not a store write per request.
    pub touch_interval_secs: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle_timeout_secs: 2 * 60 * 60,
            absolute_timeout_secs: 12 * 60 * 60,
            touch_interval_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionVerdict {
    /// Valid; `touch` says whether `last_seen` should be written back now.
    Valid { touch: bool },
    IdleExpired,
    AbsoluteExpired,
}

/// Decides whether a session created at `created_at` and last used at `last_seen` is still valid.
pub fn session_verdict(
    policy: &SessionPolicy,
    created_at: UnixSeconds,
    last_seen: UnixSeconds,
    now: UnixSeconds,
) -> SessionVerdict {
    if now >= created_at.saturating_add(policy.absolute_timeout_secs) {
        return SessionVerdict::AbsoluteExpired;
    }
    if now >= last_seen.saturating_add(policy.idle_timeout_secs) {
        return SessionVerdict::IdleExpired;
    }
    SessionVerdict::Valid { touch: now - last_seen >= policy.touch_interval_secs }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: SessionPolicy =
        SessionPolicy { idle_timeout_secs: 100, absolute_timeout_secs: 1000, touch_interval_secs: 10 };

    #[test]
    fn fresh_session_is_valid_without_touch() {
        assert_eq!(session_verdict(&P, 0, 0, 5), SessionVerdict::Valid { touch: false });
    }

    #[test]
    fn touch_after_interval() {
        assert_eq!(session_verdict(&P, 0, 0, 10), SessionVerdict::Valid { touch: true });
    }

    #[test]
    fn idle_expiry_is_exclusive_of_the_boundary() {
        assert_eq!(session_verdict(&P, 0, 50, 149), SessionVerdict::Valid { touch: true });
        assert_eq!(session_verdict(&P, 0, 50, 150), SessionVerdict::IdleExpired);
    }

    #[test]
    fn absolute_expiry_wins_over_activity() {
        assert_eq!(session_verdict(&P, 0, 999, 1000), SessionVerdict::AbsoluteExpired);
    }
}
