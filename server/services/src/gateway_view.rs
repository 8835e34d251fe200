//! The gateway's view of the store: the snapshot of API definitions and the concurrent map of
//! credentials. Built at start, then updated on the store's writer thread after each commit
//! that changes them, before the write is acknowledged: an API change rebuilds the snapshot (a
//! new generation); a key change touches that key only.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use certgate_core::gateway::view::{ApiInput, ApiLists, CertificateInput, GatewayView, KeyInput, KeyMap, KeyView};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};

use crate::certificates::CertificateRecord;
use crate::portal::grants::{derive_all, PortalGrants, PortalKey};
use crate::keys::KeyRecord;
use crate::store::{codec, tables, PublishScope, Store, StoreError};
use crate::{apis, ServiceError};

/// What the gateway reads. Cheap to share; readers never lock the snapshot.
pub struct GatewayState {
    pub view: Arc<ArcSwap<GatewayView>>,
    pub keys: Arc<KeyMap>,
    generation: AtomicU64,
    /// False while the view may lag behind a commit (a publish and the full rebuild after it
    /// failed): the gateway then refuses every request, and /readyz is 503, until a rebuild
    /// succeeds. A committed revocation is never left unenforced.
    consistent: Arc<AtomicBool>,
}

pub type SharedState = Arc<GatewayState>;

/// API id -> certificate ids the portal's credentials add to its allow list.
type Contributions = std::collections::BTreeMap<String, std::collections::BTreeSet<String>>;

/// The certificates (from the certificates table) with these ids, for allow lists and bindings.
fn certificates(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    ids: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, CertificateInput>, ServiceError> {
    let mut out = HashMap::new();
    for id in ids {
        if out.contains_key(&id) {
            continue;
        }
        if let Some(v) = table.get(id.as_str())? {
            let record: CertificateRecord = codec::decode("certificates", &id, v.value())?;
            out.insert(id.clone(), CertificateInput { id, is_ca: record.facts.is_ca, der: record.der });
        }
    }
    Ok(out)
}

fn compile_key(
    certificate_table: &impl ReadableTable<&'static str, &'static [u8]>,
    record: KeyRecord,
    lists: &mut ApiLists,
) -> Result<([u8; 32], Arc<KeyView>), ServiceError> {
    let certs = certificates(certificate_table, record.spec.bound_certificates.iter().flatten().cloned())?;
    let input = KeyInput { id: record.id, token_sha256: record.token_sha256, spec: record.spec, limits_key: None };
    Ok(KeyView::build_sharing(input, &certs, lists))
}

impl GatewayState {
    /// Each API's effective allow list: the admin's entries and what the portal's live
    /// credentials contribute (`contributions`, derived from the store: never reference-counted).
    fn rebuild_apis(&self, txn: &redb::ReadTransaction, mut contributions: Contributions) -> Result<(), ServiceError> {
        let records = apis::all(&txn.open_table(tables::APIS)?)?;
        let ids = records
            .iter()
            .flat_map(|a| a.spec.certificate_ids().cloned())
            .chain(contributions.values().flatten().cloned())
            .collect::<Vec<_>>();
        let certs = certificates(&txn.open_table(tables::CERTIFICATES)?, ids)?;
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let inputs = records
            .into_iter()
            .map(|r| {
                let contributed_certificates = contributions.remove(&r.id).map(|c| c.into_iter().collect()).unwrap_or_default();
                ApiInput { id: r.id, spec: r.spec, contributed_certificates }
            })
            .collect();
        self.view.store(Arc::new(GatewayView::build(generation, inputs, &certs)));
        Ok(())
    }

    fn refresh_key(&self, txn: &redb::ReadTransaction, key_id: &str) -> Result<(), ServiceError> {
        let record: Option<KeyRecord> = match txn.open_table(tables::KEYS)?.get(key_id)? {
            Some(v) => Some(codec::decode("keys", key_id, v.value())?),
            None => None,
        };
        match record {
            // A key's token never changes, so an update replaces the entry under the same digest.
            Some(record) => {
                let (hash, view) = compile_key(&txn.open_table(tables::CERTIFICATES)?, record, &mut ApiLists::default())?;
                self.keys.insert(hash, view);
            }
            // Revoked: the record (and its digest) is gone. A scan, rather than an index from key
            // id to digest that would cost ~100 bytes per key for a rare operation (~ms at 100k).
            None => self.keys.retain(|_, view| view.id != key_id),
        }
        Ok(())
    }

    fn rebuild_keys(&self, txn: &redb::ReadTransaction, portal_keys: Vec<PortalKey>) -> Result<(), ServiceError> {
        // One record at a time: holding every decoded record while the views are allocated
        // would interleave short- and long-lived allocations and leave the heap fragmented.
        let table = txn.open_table(tables::KEYS)?;
        // Opened once for the whole load, not once per key.
        let certificate_table = txn.open_table(tables::CERTIFICATES)?;
        let mut fresh = HashSet::with_capacity(usize::try_from(table.len()?).unwrap_or(0));
        let mut lists = ApiLists::default();
        for item in table.iter()? {
            let (id, value) = item?;
            let record: KeyRecord = codec::decode("keys", id.value(), value.value())?;
            let (hash, view) = compile_key(&certificate_table, record, &mut lists)?;
            self.keys.insert(hash, view);
            fresh.insert(hash);
        }
        // The portal's credentials: one entry per usable token digest, derived at each rebuild.
        for key in portal_keys {
            let certs = certificates(&certificate_table, key.spec.bound_certificates.iter().flatten().cloned())?;
            let input = KeyInput { id: key.credential, token_sha256: key.token_sha256, spec: key.spec, limits_key: Some(key.limits_key) };
            let (hash, view) = KeyView::build_sharing(input, &certs, &mut lists);
            self.keys.insert(hash, view);
            fresh.insert(hash);
        }
        self.keys.retain(|hash, _| fresh.contains(hash));
        Ok(())
    }

    /// Whether the view includes every commit (see `consistent`).
    pub fn is_consistent(&self) -> bool {
        self.consistent.load(Ordering::SeqCst)
    }

    /// The flag the gateway checks per request.
    pub fn consistency_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.consistent)
    }

    /// Keys and APIs, from one derivation of the portal's grants.
    fn rebuild_all(&self, txn: &redb::ReadTransaction) -> Result<(), ServiceError> {
        let PortalGrants { keys, contributions } = derive_all(txn, crate::clock::now())?;
        self.rebuild_keys(txn, keys)?;
        self.rebuild_apis(txn, contributions)
    }

    /// After a commit: the scoped update; if it fails, the whole view; if that fails too, the
    /// gateway fails closed until a later rebuild succeeds. A view that was inconsistent is
    /// always rebuilt whole (a scoped update would not repair what the failure left behind).
    fn publish_or_fail_closed(&self, db: &redb::Database, scope: &PublishScope) {
        let scoped = if self.is_consistent() { self.publish(db, scope) } else { self.publish(db, &PublishScope::Everything) };
        let Err(e) = scoped else {
            self.consistent.store(true, Ordering::SeqCst);
            return;
        };
        tracing::error!(error = %e, ?scope, "could not update the gateway view after a commit: rebuilding it whole");
        match self.publish(db, &PublishScope::Everything) {
            Ok(()) => self.consistent.store(true, Ordering::SeqCst),
            Err(e) => {
                self.consistent.store(false, Ordering::SeqCst);
                tracing::error!(error = %e, "could not rebuild the gateway view: the gateway refuses every request until a rebuild succeeds");
            }
        }
    }

    /// Tries a whole rebuild when the view is inconsistent (the binary calls this periodically).
    pub fn repair(&self, store: &Store) {
        if self.is_consistent() {
            return;
        }
        match store.read_blocking(|txn| self.rebuild_all(txn)) {
            Ok(()) => {
                self.consistent.store(true, Ordering::SeqCst);
                tracing::info!("the gateway view is rebuilt: serving again");
            }
            Err(e) => tracing::error!(error = %e, "the gateway view still cannot be rebuilt"),
        }
    }

    fn publish(&self, db: &redb::Database, scope: &PublishScope) -> Result<(), ServiceError> {
        let txn = db.begin_read().map_err(StoreError::from)?;
        match scope {
            PublishScope::Apis => self.rebuild_apis(&txn, derive_all(&txn, crate::clock::now())?.contributions),
            PublishScope::Key(id) => self.refresh_key(&txn, id),
            PublishScope::Everything => self.rebuild_all(&txn),
        }
    }
}

/// Builds the view and registers the publisher that keeps it current. Call once at start-up.
pub fn attach(store: &Store) -> Result<SharedState, ServiceError> {
    let state = Arc::new(GatewayState {
        view: Arc::new(ArcSwap::from_pointee(GatewayView::default())),
        keys: Arc::new(KeyMap::default()),
        generation: AtomicU64::new(0),
        consistent: Arc::new(AtomicBool::new(true)),
    });
    store.read_blocking(|txn| state.rebuild_all(txn))?;
    let target = Arc::clone(&state);
    store.set_publisher(Arc::new(move |db: &redb::Database, scope: &PublishScope| {
        target.publish_or_fail_closed(db, scope);
    }));
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[tokio::test]
    async fn a_failed_publish_fails_closed_until_a_rebuild_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let state = attach(&store).unwrap();
        assert!(state.is_consistent());
        // A record the view cannot compile, committed: the scoped update and the whole rebuild
        // both fail, so the gateway must refuse rather than serve a view without this commit.
        store
            .write_published(PublishScope::Key("key_bad".into()), |txn| {
                txn.open_table(tables::KEYS)?.insert("key_bad", &b"\x01not json"[..]).map_err(StoreError::from)?;
                Ok(())
            })
            .await
            .unwrap();
        assert!(!state.is_consistent(), "the view may lag behind the commit: fail closed");
        assert!(!state.consistency_flag().load(Ordering::SeqCst));
        state.repair(&store);
        assert!(!state.is_consistent(), "still broken: still closed");
        // The next commit (which removes the bad record) rebuilds the whole view: open again.
        store
            .write_published(PublishScope::Key("key_bad".into()), |txn| {
                txn.open_table(tables::KEYS)?.remove("key_bad").map_err(StoreError::from)?;
                Ok(())
            })
            .await
            .unwrap();
        assert!(state.is_consistent());
    }
}
