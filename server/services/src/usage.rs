//! Saved quota usage: the gateway counts in memory; the binary saves changed counters here in
//! batches and loads them at start, so restarts do not reset quotas.

use redb::ReadableTable;
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

#[derive(Clone)]
pub struct Usage {
    store: Store,
}

impl Usage {
    pub fn new(store: Store) -> Usage {
        Usage { store }
    }

    /// Every saved counter of a key that still exists.
    pub fn load_blocking(&self) -> Result<Vec<(String, QuotaUsageRecord)>, ServiceError> {
        self.store.read_blocking(|txn| {
            let keys = txn.open_table(tables::KEYS)?;
            let mut out = Vec::new();
            for item in txn.open_table(tables::QUOTA_USAGE)?.iter()? {
                let (k, v) = item?;
                if keys.get(k.value())?.is_some() {
                    out.push((k.value().to_string(), codec::decode("quota_usage", k.value(), v.value())?));
                }
            }
            Ok(out)
        })
    }

    /// Saves a batch of counters in one transaction (counters of revoked keys are skipped).
    pub async fn save(&self, batch: Vec<(String, QuotaUsageRecord)>) -> Result<(), ServiceError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.store
            .write(move |txn| {
                let keys = txn.open_table(tables::KEYS)?;
                let mut table = txn.open_table(tables::QUOTA_USAGE)?;
                for (key_id, usage) in &batch {
                    if keys.get(key_id.as_str())?.is_some() {
                        table.insert(key_id.as_str(), codec::encode(usage)?.as_slice())?;
                    }
                }
                Ok(())
            })
            .await
    }
}
