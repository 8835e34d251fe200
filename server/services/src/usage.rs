//! Saved quota usage: the gateway counts in memory; the binary saves changed counters here in
//! batches and loads them at start, so restarts do not reset quotas.
//!
//! A counter belongs to a limits key: an admin key's id, or a subscription's id (a portal
//! credential counts by its subscription, so rotating its token or changing its plan resets
//! nothing). A counter is kept while its owner exists and dropped when it ends (a key revoked,
//! a subscription ended); a subscription whose credential is only dormant (a suspended
//! organisation, a revoked or expired token) keeps its count.

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::store::codec::{self, Versioned};
use crate::store::{tables, Store};
use crate::ServiceError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaUsageRecord {
    pub window_start: i64,
    pub used: u64,
}

impl Versioned for QuotaUsageRecord {
    const VERSION: u8 = 1;
}

/// Whether `id` still owns a counter: it is an admin key or a subscription.
fn owner_exists(
    keys: &impl ReadableTable<&'static str, &'static [u8]>,
    subscriptions: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<bool, ServiceError> {
    Ok(keys.get(id)?.is_some() || subscriptions.get(id)?.is_some())
}

/// Drops the saved counter of a limits key that ends (in the transaction that ends it).
pub(crate) fn forget(txn: &WriteTransaction, id: &str) -> Result<(), ServiceError> {
    txn.open_table(tables::QUOTA_USAGE)?.remove(id)?;
    Ok(())
}

#[derive(Clone)]
pub struct Usage {
    store: Store,
}

impl Usage {
    pub fn new(store: Store) -> Usage {
        Usage { store }
    }

    /// Every saved counter whose key or subscription still exists.
    pub fn load_blocking(&self) -> Result<Vec<(String, QuotaUsageRecord)>, ServiceError> {
        self.store.read_blocking(|txn| {
            let keys = txn.open_table(tables::KEYS)?;
            let subscriptions = txn.open_table(tables::SUBSCRIPTIONS)?;
            let mut out = Vec::new();
            for item in txn.open_table(tables::QUOTA_USAGE)?.iter()? {
                let (k, v) = item?;
                if owner_exists(&keys, &subscriptions, k.value())? {
                    out.push((k.value().to_string(), codec::decode("quota_usage", k.value(), v.value())?));
                }
            }
            Ok(out)
        })
    }

    /// Saves a batch of counters in one transaction (counters of ended keys and subscriptions
    /// are skipped: checked in the same transaction, so a save never brings one back).
    pub async fn save(&self, batch: Vec<(String, QuotaUsageRecord)>) -> Result<(), ServiceError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.store
            .write(move |txn| {
                let keys = txn.open_table(tables::KEYS)?;
                let subscriptions = txn.open_table(tables::SUBSCRIPTIONS)?;
                let mut table = txn.open_table(tables::QUOTA_USAGE)?;
                for (id, usage) in &batch {
                    if owner_exists(&keys, &subscriptions, id)? {
                        table.insert(id.as_str(), codec::encode(usage)?.as_slice())?;
                    }
                }
                Ok(())
            })
            .await
    }

    /// Which of `ids` have ended (neither an admin key nor a subscription any more): their
    /// counters can go. Ids are never reused, so an ended id stays ended.
    pub async fn ended(&self, ids: Vec<String>) -> Result<Vec<String>, ServiceError> {
        self.store
            .read(move |txn| {
                let keys = txn.open_table(tables::KEYS)?;
                let subscriptions = txn.open_table(tables::SUBSCRIPTIONS)?;
                let mut ended = Vec::new();
                for id in ids {
                    if !owner_exists(&keys, &subscriptions, &id)? {
                        ended.push(id);
                    }
                }
                Ok(ended)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(used: u64) -> QuotaUsageRecord {
        QuotaUsageRecord { window_start: 1_771_027_200, used }
    }

    #[tokio::test]
    async fn counters_of_keys_and_subscriptions_are_kept_and_of_ended_ones_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Only existence matters here: the owners' records are stand-ins.
        store
            .write(|txn| {
                txn.open_table(tables::KEYS)?.insert("key_a", b"x".as_slice())?;
                txn.open_table(tables::SUBSCRIPTIONS)?.insert("sub_a", b"x".as_slice())?;
                txn.open_table(tables::SUBSCRIPTIONS)?.insert("sub_b", b"x".as_slice())?;
                Ok(())
            })
            .await
            .unwrap();
        let usage = Usage::new(store.clone());
        let batch = vec![("key_a".to_string(), record(1)), ("sub_a".to_string(), record(2)), ("sub_b".to_string(), record(3)), ("sub_gone".to_string(), record(4))];
        usage.save(batch).await.unwrap();
        let mut loaded = usage.load_blocking().unwrap();
        loaded.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(loaded, vec![("key_a".to_string(), record(1)), ("sub_a".to_string(), record(2)), ("sub_b".to_string(), record(3))], "a subscription's counter is saved like a key's");

        let asked = vec!["key_a".to_string(), "sub_a".to_string(), "sub_gone".to_string(), "key_gone".to_string()];
        assert_eq!(usage.ended(asked).await.unwrap(), ["sub_gone", "key_gone"]);

        // Ending a subscription drops its counter; a later save of it is skipped.
        store
            .write(|txn| {
                txn.open_table(tables::SUBSCRIPTIONS)?.remove("sub_b")?;
                forget(txn, "sub_b")
            })
            .await
            .unwrap();
        usage.save(vec![("sub_b".to_string(), record(5))]).await.unwrap();
        let loaded = usage.load_blocking().unwrap();
        assert!(loaded.iter().all(|(id, _)| id != "sub_b"), "{loaded:?}");
        assert_eq!(loaded.len(), 2);
        let saved = store.read_blocking(|txn| Ok(txn.open_table(tables::QUOTA_USAGE)?.get("sub_b")?.is_some())).unwrap();
        assert!(!saved, "nothing of an ended subscription is left in the store");
    }
}
