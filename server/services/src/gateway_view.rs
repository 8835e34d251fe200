//! The gateway's view of the store: the snapshot of API definitions and the concurrent map of
//! credentials. Built at start, then updated on the store's writer thread after each commit
//! that changes them, before the write is acknowledged: an API change rebuilds the snapshot (a
//! new generation); a key change touches that key only.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use certgate_core::gateway::view::{ApiInput, ApiLists, CertificateInput, GatewayView, KeyInput, KeyMap, KeyView};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};

use crate::certificates::CertificateRecord;
use crate::keys::KeyRecord;
use crate::store::{codec, tables, PublishScope, Store, StoreError};
use crate::{apis, ServiceError};

/// What the gateway reads. Cheap to share; readers never lock the snapshot.
pub struct GatewayState {
    pub view: Arc<ArcSwap<GatewayView>>,
    pub keys: Arc<KeyMap>,
    generation: AtomicU64,
}

pub type SharedState = Arc<GatewayState>;

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
    let input = KeyInput { id: record.id, token_sha256: record.token_sha256, spec: record.spec };
    Ok(KeyView::build_sharing(input, &certs, lists))
}

impl GatewayState {
    fn rebuild_apis(&self, txn: &redb::ReadTransaction) -> Result<(), ServiceError> {
        let records = apis::all(&txn.open_table(tables::APIS)?)?;
        let certs = certificates(&txn.open_table(tables::CERTIFICATES)?, records.iter().flat_map(|a| a.spec.certificate_ids().cloned()).collect::<Vec<_>>())?;
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let inputs = records.into_iter().map(|r| ApiInput { id: r.id, spec: r.spec, contributed_certificates: Vec::new() }).collect();
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

    fn rebuild_keys(&self, txn: &redb::ReadTransaction) -> Result<(), ServiceError> {
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
        self.keys.retain(|hash, _| fresh.contains(hash));
        Ok(())
    }

    fn publish(&self, db: &redb::Database, scope: &PublishScope) -> Result<(), ServiceError> {
        let txn = db.begin_read().map_err(StoreError::from)?;
        match scope {
            PublishScope::Apis => self.rebuild_apis(&txn),
            PublishScope::Key(id) => self.refresh_key(&txn, id),
            PublishScope::Everything => {
                self.rebuild_keys(&txn)?;
                self.rebuild_apis(&txn)
            }
        }
    }
}

/// Builds the view and registers the publisher that keeps it current. Call once at start-up.
pub fn attach(store: &Store) -> Result<SharedState, ServiceError> {
    let state = Arc::new(GatewayState {
        view: Arc::new(ArcSwap::from_pointee(GatewayView::default())),
        keys: Arc::new(KeyMap::default()),
        generation: AtomicU64::new(0),
    });
    store.read_blocking(|txn| {
        state.rebuild_keys(txn)?;
        state.rebuild_apis(txn)
    })?;
    let target = Arc::clone(&state);
    store.set_publisher(Arc::new(move |db: &redb::Database, scope: &PublishScope| {
        if let Err(e) = target.publish(db, scope) {
            // The commit stands; the gateway keeps its previous view. Loud, because they differ.
            tracing::error!(error = %e, ?scope, "could not update the gateway view after a commit");
        }
    }));
    Ok(state)
}
