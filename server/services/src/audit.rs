//! The audit log: one entry per administrative change, written in the same transaction as the
//! change itself (so an entry exists exactly when the change committed).

use certgate_core::UnixSeconds;
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::portal::Actor;
use crate::store::codec::{self, Versioned};
use crate::store::{tables, Store};
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
    /// The organisation the change concerns, where the writer knows it (apps, access requests,
    /// approvals, credentials, organisations, consumers). Entries written before this field
    /// existed, and changes of no one organisation, have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
}

impl Versioned for AuditEntry {
    const VERSION: u8 = 1;
}

/// Appends an entry inside the caller's write transaction.
pub fn record(txn: &WriteTransaction, actor: &str, action: &str, subject: &str, detail: String) -> Result<(), ServiceError> {
    record_in(txn, actor, action, subject, detail, None)
}

/// [`record`] for a change that concerns one organisation (the log filters on it).
pub fn record_in(
    txn: &WriteTransaction,
    actor: &str,
    action: &str,
    subject: &str,
    detail: String,
    organisation: Option<&str>,
) -> Result<(), ServiceError> {
    let mut table = txn.open_table(tables::AUDIT)?;
    let next = match table.last()? {
        Some((k, _)) => k.value() + 1,
        None => 1,
    };
    let entry = AuditEntry {
        at: clock::now(),
        actor: actor.into(),
        action: action.into(),
        subject: subject.into(),
        detail,
        organisation: organisation.map(str::to_string),
    };
    table.insert(next, codec::encode(&entry)?.as_slice())?;
    drop(table);
    // The change's webhook event, if it is one, in the same transaction.
    crate::webhooks::events::on_audit(txn, &entry)
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

/// Which entries to list; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exactly this actor (`admin-token`, a user id, ...).
    pub actor: Option<String>,
    /// Entries about this organisation.
    pub organisation: Option<String>,
    /// An action (`credential.revoked`) or a kind of object (`credential`: every `credential.*`).
    pub kind: Option<String>,
}

impl AuditFilter {
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        let kind = |k: &str| entry.action == k || entry.action.strip_prefix(k).is_some_and(|rest| rest.starts_with('.'));
        self.actor.as_deref().is_none_or(|a| a == entry.actor)
            && self.organisation.as_deref().is_none_or(|o| entry.organisation.as_deref() == Some(o))
            && self.kind.as_deref().is_none_or(kind)
    }
}

/// One page of the log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// Each entry with its sequence number (the key to page on: older entries have smaller ones).
    pub entries: Vec<(u64, AuditEntry)>,
    /// Whether older matching entries follow.
    pub more: bool,
}

/// The admin's view of the log, paged in the store: a page reads back from `before` only until
/// it has `limit` matching entries (plus one, to know whether more follow).
#[derive(Clone)]
pub struct AuditLog {
    store: Store,
}

impl AuditLog {
    pub fn new(store: Store) -> AuditLog {
        AuditLog { store }
    }

    /// Up to `limit` entries matching `filter` older than sequence number `before`, newest first.
    pub async fn page(&self, actor: &Actor, filter: AuditFilter, before: Option<u64>, limit: usize) -> Result<AuditPage, ServiceError> {
        actor.require_admin()?;
        self.store
            .read(move |txn| {
                let table = txn.open_table(tables::AUDIT)?;
                let mut entries = Vec::new();
                let mut more = false;
                for item in table.range(..before.unwrap_or(u64::MAX))?.rev() {
                    let (k, v) = item?;
                    let entry: AuditEntry = codec::decode("audit", &k.value().to_string(), v.value())?;
                    if !filter.matches(&entry) {
                        continue;
                    }
                    if entries.len() == limit {
                        more = true;
                        break;
                    }
                    entries.push((k.value(), entry));
                }
                Ok(AuditPage { entries, more })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::OrgRole;

    fn entry(actor: &str, action: &str, organisation: Option<&str>) -> AuditEntry {
        AuditEntry {
            at: 1,
            actor: actor.into(),
            action: action.into(),
            subject: "x".into(),
            detail: String::new(),
            organisation: organisation.map(str::to_string),
        }
    }

    #[test]
    fn filters_match_actor_organisation_and_kind_and_exclude_the_rest() {
        let e = entry("usr_1", "credential.revoked", Some("org_a"));
        let f = |actor: Option<&str>, organisation: Option<&str>, kind: Option<&str>| AuditFilter {
            actor: actor.map(Into::into),
            organisation: organisation.map(Into::into),
            kind: kind.map(Into::into),
        };
        assert!(f(None, None, None).matches(&e));
        assert!(f(Some("usr_1"), Some("org_a"), Some("credential")).matches(&e));
        assert!(f(None, None, Some("credential.revoked")).matches(&e));
        assert!(!f(Some("usr_2"), None, None).matches(&e));
        assert!(!f(None, Some("org_b"), None).matches(&e));
        // A kind is a whole segment: `cred` is not `credential`.
        assert!(!f(None, None, Some("cred")).matches(&e));
        assert!(!f(None, None, Some("credential.rotated")).matches(&e));
        // An entry without an organisation never matches an organisation filter.
        assert!(!f(None, Some("org_a"), None).matches(&entry("usr_1", "plan.created", None)));
    }

    #[test]
    fn entries_written_before_the_organisation_field_still_decode() {
        let old = br#"{"at":5,"actor":"admin-token","action":"plan.created","subject":"pln_1","detail":"Gold"}"#;
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(old);
        let e: AuditEntry = codec::decode("audit", "1", &bytes).unwrap();
        assert_eq!((e.action.as_str(), e.organisation), ("plan.created", None));
    }

    #[tokio::test]
    async fn pages_walk_back_from_the_newest_and_only_the_admin_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .write(|txn| {
                for i in 0..7 {
                    let org = if i % 2 == 0 { Some("org_a") } else { None };
                    record_in(txn, "admin-token", &format!("thing.n{i}"), "x", String::new(), org)?;
                }
                Ok(())
            })
            .await
            .unwrap();
        let log = AuditLog::new(store);
        let admin = Actor::Admin { name: "admin-token".into() };
        let filter = AuditFilter { organisation: Some("org_a".into()), ..Default::default() };
        let first = log.page(&admin, filter.clone(), None, 3).await.unwrap();
        let actions: Vec<&str> = first.entries.iter().map(|(_, e)| e.action.as_str()).collect();
        assert_eq!((actions, first.more), (vec!["thing.n6", "thing.n4", "thing.n2"], true));
        let before = first.entries.last().map(|(seq, _)| *seq);
        let second = log.page(&admin, filter, before, 3).await.unwrap();
        let actions: Vec<&str> = second.entries.iter().map(|(_, e)| e.action.as_str()).collect();
        assert_eq!((actions, second.more), (vec!["thing.n0"], false));
        let consumer = Actor::Consumer { user: "usr_1".into(), organisation: "org_a".into(), role: OrgRole::OrgAdmin };
        assert!(matches!(log.page(&consumer, AuditFilter::default(), None, 3).await, Err(ServiceError::Forbidden { .. })));
    }
}
