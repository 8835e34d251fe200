//! Builds the gateway's view from the store, and publishes it after every commit that changes
//! what the gateway enforces (hooked into the store's writer thread).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use certgate_core::gateway::view::{ApiInput, CertificateInput, GatewayView, KeyInput};
use redb::ReadableDatabase;

use crate::certificates::CertificateRecord;
use crate::store::codec;
use crate::store::{tables, Store, StoreError};
use crate::{apis, keys, ServiceError};

/// The current view, shared with the gateway. Readers load it without locking.
pub type SharedView = Arc<ArcSwap<GatewayView>>;

/// Builds the view from one read transaction.
pub fn build(txn: &redb::ReadTransaction, generation: u64) -> Result<GatewayView, ServiceError> {
    let api_records = apis::all(&txn.open_table(tables::APIS)?)?;
    let key_records = keys::all(&txn.open_table(tables::KEYS)?)?;
    // Only certificates something refers to are loaded.
    let mut wanted: Vec<&String> = api_records.iter().flat_map(|a| a.spec.certificate_ids()).collect();
    wanted.extend(key_records.iter().flat_map(|k| k.spec.bound_certificates.iter().flatten()));
    let table = txn.open_table(tables::CERTIFICATES)?;
    let mut certificates = HashMap::new();
    for id in wanted {
        if certificates.contains_key(id) {
            continue;
        }
        if let Some(v) = table.get(id.as_str())? {
            let record: CertificateRecord = codec::decode("certificates", id, v.value())?;
            certificates.insert(id.clone(), CertificateInput { id: id.clone(), is_ca: record.facts.is_ca, der: record.der });
        }
    }
    let apis = api_records.into_iter().map(|r| ApiInput { id: r.id, spec: r.spec }).collect();
    let keys = key_records.into_iter().map(|r| KeyInput { id: r.id, token_sha256: r.token_sha256, spec: r.spec }).collect();
    Ok(GatewayView::build(generation, apis, keys, &certificates))
}

/// Builds the first view and registers the publisher that rebuilds it after each published
/// write. Call once at start-up.
pub fn attach(store: &Store) -> Result<SharedView, ServiceError> {
    let first = store.read_blocking(|txn| build(txn, 1))?;
    let shared: SharedView = Arc::new(ArcSwap::from_pointee(first));
    let generation = Arc::new(AtomicU64::new(1));
    let target = Arc::clone(&shared);
    store.set_publisher(Arc::new(move |db: &redb::Database| {
        let next = generation.fetch_add(1, Ordering::SeqCst) + 1;
        let built = db.begin_read().map_err(StoreError::from).map_err(ServiceError::from).and_then(|txn| build(&txn, next));
        match built {
            Ok(view) => target.store(Arc::new(view)),
            // The commit stands; the gateway keeps the previous view. Loud, because the two now differ.
            Err(e) => tracing::error!(error = %e, "could not rebuild the gateway view after a commit"),
        }
    }));
    Ok(shared)
}
