//! The audit log: one entry per administrative change, written in the same transaction as the
//! change itself (so an entry exists exactly when the change committed).

use certgate_core::UnixSeconds;
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::store::codec::{self, Versioned};
use crate::store::tables;
use crate::{clock, ServiceError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: UnixSeconds,
    /// `admin-token` or a user id.
    pub actor: String,
    /// e.g. `certificate.deleted`.
    pub action: String,
    /// The id of what changed.
    pub subject: String,
    pub detail: String,
}

impl Versioned for AuditEntry {
    const VERSION: u8 = 1;
}

/// Appends an entry inside the caller's write transaction.
pub fn record(txn: &WriteTransaction, actor: &str, action: &str, subject: &str, detail: String) -> Result<(), ServiceError> {
    let mut table = txn.open_table(tables::AUDIT)?;
    let next = match table.last()? {
        Some((k, _)) => k.value() + 1,
        None => 1,
    };
    let entry = AuditEntry { at: clock::now(), actor: actor.into(), action: action.into(), subject: subject.into(), detail };
    table.insert(next, codec::encode(&entry)?.as_slice())?;
    Ok(())
}

/// The newest `limit` entries, newest first.
pub fn recent(txn: &redb::ReadTransaction, limit: usize) -> Result<Vec<AuditEntry>, ServiceError> {
    let table = txn.open_table(tables::AUDIT)?;
    let mut out = Vec::new();
    for entry in table.iter()?.rev().take(limit) {
        let (k, v) = entry?;
        out.push(codec::decode("audit", &k.value().to_string(), v.value())?);
    }
    Ok(out)
}
