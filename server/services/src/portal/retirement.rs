//! Replaced Self-Serve certificates leave at their retire-by time without anyone writing.
//!
//! The gateway's view is derived at write time, so "at most 30 days" needs a write at that
//! instant: the binary runs [`Retirements::tick`] in a loop. Each retire-by time is indexed
//! (`RETIREMENTS`, ordered by time), so finding the next one is one range read, not a scan of
//! every subscription. A due certificate is removed from its subscription (and from "used by")
//! in one write that republishes the whole view through the store's writer, in commit order.
//! Derivation also ignores a certificate past its retire-by time, so a late tick never makes a
//! retired certificate count again; it only delays its removal.

use std::time::Duration;

use certgate_core::UnixSeconds;
use redb::{ReadableTable, WriteTransaction};

use super::lifecycle::load_subscription;
use crate::store::{tables, PublishScope, Store};
use crate::{audit, references, ServiceError};

/// After a renewal's approval, the replaced certificate keeps working this long at most
/// (DESIGN.md "Portal model"): time to deploy the new one without an outage.
pub const RENEWAL_OVERLAP_SECONDS: UnixSeconds = 30 * 24 * 60 * 60;

/// The longest the scheduler sleeps before reading the index again. A write that schedules a
/// retirement always schedules it [`RENEWAL_OVERLAP_SECONDS`] ahead, so re-reading the index
/// this often finds every new entry long before it is due: no signal from the writers is needed.
pub const RECHECK: Duration = Duration::from_secs(60);

/// Index key `<retire_by, 20 digits>/<subscription>/<certificate>`: zero-padded so that the
/// keys sort by time.
fn key(at: UnixSeconds, subscription: &str, certificate: &str) -> String {
    format!("{:020}/{subscription}/{certificate}", at.max(0))
}

fn parse(key: &str) -> Option<(UnixSeconds, &str, &str)> {
    let mut parts = key.splitn(3, '/');
    let at = parts.next()?.parse().ok()?;
    Some((at, parts.next()?, parts.next()?))
}

/// Records that `certificate` leaves `subscription` at `at`.
pub(super) fn schedule(txn: &WriteTransaction, at: UnixSeconds, subscription: &str, certificate: &str) -> Result<(), ServiceError> {
    txn.open_table(tables::RETIREMENTS)?.insert(key(at, subscription, certificate).as_str(), &[][..])?;
    Ok(())
}

/// Forgets a scheduled retirement (the certificate was retired by hand).
pub(super) fn unschedule(txn: &WriteTransaction, at: UnixSeconds, subscription: &str, certificate: &str) -> Result<(), ServiceError> {
    txn.open_table(tables::RETIREMENTS)?.remove(key(at, subscription, certificate).as_str())?;
    Ok(())
}

/// The index keys due at `now` (retire-by time reached).
fn due(table: &impl ReadableTable<&'static str, &'static [u8]>, now: UnixSeconds) -> Result<Vec<String>, ServiceError> {
    // Every key of a time <= now sorts before the first key of now + 1.
    let end = key(now.saturating_add(1), "", "");
    let mut out = Vec::new();
    for entry in table.range(..end.as_str())? {
        let (k, _) = entry?;
        out.push(k.value().to_string());
    }
    Ok(out)
}

/// How long to sleep at `now` before the next tick, given the next retire-by time.
pub fn wait_for(now: UnixSeconds, next: Option<UnixSeconds>) -> Duration {
    match next {
        Some(at) => Duration::from_secs(u64::try_from(at.saturating_sub(now)).unwrap_or(0)).min(RECHECK),
        None => RECHECK,
    }
}

/// The scheduler's side of retirements. Time is a parameter: the binary passes the clock.
#[derive(Clone)]
pub struct Retirements {
    store: Store,
}

impl Retirements {
    pub fn new(store: Store) -> Retirements {
        Retirements { store }
    }

    /// The earliest scheduled retire-by time, if any.
    pub async fn next(&self) -> Result<Option<UnixSeconds>, ServiceError> {
        self.store
            .read(|txn| {
                let table = txn.open_table(tables::RETIREMENTS)?;
                let first = table.first()?;
                Ok(first.and_then(|(k, _)| parse(k.value()).map(|(at, _, _)| at)))
            })
            .await
    }

    /// Retires every certificate due at `now`: it leaves its subscription, "used by" and the
    /// gateway's view before this returns. Returns how many left (no write when none is due).
    pub async fn retire_due(&self, now: UnixSeconds) -> Result<usize, ServiceError> {
        let any = self.store.read(move |txn| Ok(!due(&txn.open_table(tables::RETIREMENTS)?, now)?.is_empty())).await?;
        if !any {
            return Ok(0);
        }
        self.store.write_published(PublishScope::Touched, move |txn| retire_in(txn, now)).await
    }

    /// One round of the scheduler: retires what is due, then says how long to sleep.
    pub async fn tick(&self, now: UnixSeconds) -> Result<Duration, ServiceError> {
        self.retire_due(now).await?;
        Ok(wait_for(now, self.next().await?))
    }
}

fn retire_in(txn: &WriteTransaction, now: UnixSeconds) -> Result<usize, ServiceError> {
    let keys = due(&txn.open_table(tables::RETIREMENTS)?, now)?;
    let mut retired = 0;
    for index_key in &keys {
        txn.open_table(tables::RETIREMENTS)?.remove(index_key.as_str())?;
        let Some((_, subscription, certificate)) = parse(index_key) else { continue };
        // The subscription may have ended since (its app deleted): nothing left to retire.
        let mut record = match load_subscription(&txn.open_table(tables::SUBSCRIPTIONS)?, subscription) {
            Ok(record) => record,
            Err(ServiceError::NotFound { .. }) => continue,
            Err(e) => return Err(e),
        };
        let before = record.certificates.len();
        record.certificates.retain(|c| !(c.id == certificate && c.retire_by.is_some_and(|at| at <= now)));
        if record.certificates.len() == before {
            continue;
        }
        references::remove(txn, tables::CERTIFICATE_USERS, &[certificate.to_string()], &format!("sub:{subscription}"))?;
        super::records::put_subscription(txn, &record)?;
        audit::record(txn, "retire-by", "subscription.certificate_retired", subscription, certificate.to_string())?;
        retired += 1;
    }
    Ok(retired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_time_and_parse_back() {
        let (early, late) = (key(9, "sub_b", "c1"), key(10, "sub_a", "c2"));
        assert!(early < late, "zero padding keeps numeric order");
        assert_eq!(parse(&late), Some((10, "sub_a", "c2")));
        assert!(key(10, "", "") > early && key(10, "", "") < late, "the range end of a time sorts between times");
    }

    #[test]
    fn the_scheduler_sleeps_until_the_next_retirement_but_rechecks_every_minute() {
        assert_eq!(wait_for(100, Some(110)), Duration::from_secs(10));
        assert_eq!(wait_for(100, Some(100)), Duration::ZERO, "due now");
        assert_eq!(wait_for(100, Some(90)), Duration::ZERO, "overdue");
        assert_eq!(wait_for(100, Some(100 + RENEWAL_OVERLAP_SECONDS)), RECHECK);
        assert_eq!(wait_for(100, None), RECHECK);
    }
}
