//! The one place services read the wall clock; the decisions in `certgate-core` take `now`.

use certgate_core::UnixSeconds;

pub fn now() -> UnixSeconds {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
