//! The gateway's view of the store: the snapshot of API definitions and the concurrent map of
//! credentials. Built at start, then kept current on the store's writer thread before each
//! write is acknowledged:
//! - a portal write's change set is turned into a view change inside the write, before its
//!   commit, and published after it as a swap (`change`);
//! - an admin key's write touches that key only;
//! - anything else rebuilds the whole view, and if that fails the gateway fails closed.

mod change;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use certgate_core::UnixSeconds;
use certgate_core::gateway::view::{ApiInput, ApiLists, CertificateInput, CertificateLookup, GatewayView, KeyInput, KeyMap, KeyView};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};

use crate::certificates::CertificateRecord;
use crate::keys::KeyRecord;
use crate::portal::grants::{count_contributions, tally_contributions, ContributionCounts, ContributionTally, Deriver};
use crate::store::{codec, tables, ChangePreview, ChangeSet, PublishScope, Publisher, Store, StoreError, ViewStep};
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
    /// What the portal's live credentials add to allow lists, kept between rebuilds so that a
    /// change set updates the view without deriving every credential again.
    portal: Mutex<PortalIndex>,
}

pub type SharedState = Arc<GatewayState>;

/// The portal's part of the view, derived (never stored): recomputed whole by each rebuild,
/// updated by each change set.
#[derive(Default)]
struct PortalIndex {
    /// Bumped by every whole rebuild: a change prepared against an older index is not applied
    /// (the view is rebuilt instead).
    epoch: u64,
    counts: ContributionCounts,
    /// The contributed certificates: a CA with its DER (a trust anchor), a leaf by id only.
    certificates: HashMap<String, CertificateInput>,
}

/// A certificate as an allow-list or binding entry: pins need only the id, CAs their DER.
fn entry_of(record: CertificateRecord) -> CertificateInput {
    let der = if record.facts.is_ca { record.der } else { Vec::new() };
    CertificateInput { id: record.facts.id, is_ca: record.facts.is_ca, der }
}

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
    let input = KeyInput { id: record.id, token_sha256: record.token_sha256, spec: record.spec, limits_key: None, owner: None };
    Ok(KeyView::build_sharing(input, &certs, lists))
}

/// The API snapshot: each API's effective allow list is the admin's entries and the
/// certificates whose contribution count is above zero (`contributed`, derived from the
/// store: never reference-counted in it). `known` holds the contributed certificates.
fn build_view(
    generation: u64,
    records: Vec<apis::ApiRecord>,
    certificate_table: &impl ReadableTable<&'static str, &'static [u8]>,
    contributed: &dyn Fn(&str) -> Vec<String>,
    known: &CertificateLookup<'_>,
) -> Result<GatewayView, ServiceError> {
    // The admin's entries and upstream trust: read here (few), the contributed ones are known.
    let admin = certificates(certificate_table, records.iter().flat_map(|a| a.spec.certificate_ids().cloned()).filter(|id| known(id).is_none()))?;
    let inputs = records
        .into_iter()
        .map(|r| {
            let contributed_certificates = contributed(&r.id);
            ApiInput { id: r.id, spec: r.spec, contributed_certificates }
        })
        .collect();
    Ok(GatewayView::build_with(generation, inputs, &|id| admin.get(id).or_else(|| known(id))))
}

impl GatewayState {
    fn lock_portal(&self) -> MutexGuard<'_, PortalIndex> {
        self.portal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a live portal credential has this certificate (in an allow list or a binding).
    pub fn portal_uses_certificate(&self, id: &str) -> bool {
        self.lock_portal().certificates.contains_key(id)
    }

    fn next_generation(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::SeqCst) + 1
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
            None => self.keys.retain(|_, view| !view.id.is(key_id)),
        }
        Ok(())
    }

    /// The admin's keys, then every portal credential's entries, derived one subscription at
    /// a time (holding every decoded record while the views are allocated would interleave
    /// short- and long-lived allocations and leave the heap fragmented). Answers the portal's
    /// contribution counts and the contributed certificates' entries.
    fn rebuild_keys(&self, txn: &redb::ReadTransaction) -> Result<(ContributionCounts, HashMap<String, CertificateInput>), ServiceError> {
        let table = txn.open_table(tables::KEYS)?;
        // Opened once for the whole load, not once per key.
        let certificate_table = txn.open_table(tables::CERTIFICATES)?;
        // Entries not rebuilt are removed at the end; nothing to remove when the map starts
        // empty (at start), and the set would cost 40 bytes per credential meanwhile.
        let track = !self.keys.is_empty();
        let mut fresh = HashSet::new();
        let mut lists = ApiLists::default();
        for item in table.iter()? {
            let (id, value) = item?;
            let record: KeyRecord = codec::decode("keys", id.value(), value.value())?;
            let (hash, view) = compile_key(&certificate_table, record, &mut lists)?;
            self.keys.insert(hash, view);
            if track {
                fresh.insert(hash);
            }
        }
        let now = crate::clock::now();
        let (mut counts, mut known) = (ContributionTally::default(), HashMap::new());
        Deriver::new(txn, now)?.for_each(|derived| {
            count_contributions(&mut counts, &derived);
            let keys = derived.keys(now);
            // A credential's certificates: contributed, or bound on an API without mTLS.
            let ids = derived.grant.iter().flat_map(|g| g.certificates.iter());
            for id in ids {
                if !known.contains_key(id) {
                    if let Some(v) = certificate_table.get(id.as_str())? {
                        known.insert(id.clone(), entry_of(codec::decode("certificates", id, v.value())?));
                    }
                }
            }
            for key in keys {
                let (hash, view) = KeyView::build_sharing_with(key.into_input(), &|id| known.get(id), &mut lists);
                self.keys.insert(hash, view);
                if track {
                    fresh.insert(hash);
                }
            }
            Ok(())
        })?;
        if track {
            self.keys.retain(|hash, _| fresh.contains(hash));
        }
        Ok((tally_contributions(counts), known))
    }

    /// How many tokens the gateway accepts at `now` (admin keys and portal credentials; a
    /// rotated credential counts twice during its overlap): counted in memory, not read.
    pub fn live_credentials(&self, now: UnixSeconds) -> usize {
        self.keys.iter().filter(|k| !k.value().expired(now)).count()
    }

    /// Whether the view includes every commit (see `consistent`).
    pub fn is_consistent(&self) -> bool {
        self.consistent.load(Ordering::SeqCst)
    }

    /// The flag the gateway checks per request.
    pub fn consistency_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.consistent)
    }

    /// The whole view from one committed snapshot: keys, the portal's contributions, APIs.
    fn rebuild_all(&self, txn: &redb::ReadTransaction) -> Result<(), ServiceError> {
        let mut portal = self.lock_portal();
        let (counts, known) = self.rebuild_keys(txn)?;
        let records = apis::all(&txn.open_table(tables::APIS)?)?;
        let contributed = |api: &str| counts.get(api).map(|c| c.digests().map(hex::encode).collect()).unwrap_or_default();
        let view = build_view(self.next_generation(), records, &txn.open_table(tables::CERTIFICATES)?, &contributed, &|id| known.get(id))?;
        self.view.store(Arc::new(view));
        portal.epoch += 1;
        portal.counts = counts;
        portal.certificates = known;
        Ok(())
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
        self.rebuild_or_fail_closed(db);
    }

    fn rebuild_or_fail_closed(&self, db: &redb::Database) {
        match self.publish(db, &PublishScope::Everything) {
            Ok(()) => self.consistent.store(true, Ordering::SeqCst),
            Err(e) => {
                self.consistent.store(false, Ordering::SeqCst);
                tracing::error!(error = %e, "could not rebuild the gateway view: the gateway refuses every request until a rebuild succeeds");
            }
        }
    }

    /// Tries a whole rebuild when the view is inconsistent (the binary calls this periodically).
    /// Through the store's writer, as an empty write published whole: serialized with every
    /// commit and its publish. A rebuild from a snapshot read beside the writer could finish
    /// after a later commit had been published, and put back what that commit revoked.
    pub async fn repair(&self, store: &Store) {
        if self.is_consistent() {
            return;
        }
        match store.write_published(PublishScope::Everything, |_| Ok(())).await {
            Ok(()) if self.is_consistent() => tracing::info!("the gateway view is rebuilt: serving again"),
            Ok(()) => tracing::error!("the gateway view still cannot be rebuilt"),
            Err(e) => tracing::error!(error = %e, "the gateway view still cannot be rebuilt"),
        }
    }

    fn publish(&self, db: &redb::Database, scope: &PublishScope) -> Result<(), ServiceError> {
        let txn = db.begin_read().map_err(StoreError::from)?;
        match scope {
            PublishScope::Key(id) => self.refresh_key(&txn, id),
            PublishScope::Apis | PublishScope::Everything | PublishScope::Touched => self.rebuild_all(&txn),
        }
    }
}

/// The store's publisher: the gateway state it keeps current.
struct ViewPublisher(SharedState);

impl Publisher for ViewPublisher {
    fn prepare(&self, db: &redb::Database, txn: &redb::WriteTransaction, changes: &ChangeSet) -> Result<(ViewStep, ChangePreview), ServiceError> {
        let mut prepared = change::prepare(&self.0, db, txn, changes)?;
        let preview = std::mem::take(&mut prepared.preview);
        let state = Arc::clone(&self.0);
        Ok((Box::new(move |db: &redb::Database| change::apply(&state, db, prepared)), preview))
    }

    fn publish(&self, db: &redb::Database, scope: &PublishScope) {
        self.0.publish_or_fail_closed(db, scope);
    }
}

/// Builds the view and registers the publisher that keeps it current. Call once at start-up.
pub fn attach(store: &Store) -> Result<SharedState, ServiceError> {
    // Sized for every key and credential at once: growing by doubling would leave the old
    // tables' memory behind in the allocator.
    let capacity = store.read_blocking(|txn| {
        let count = |t| -> Result<u64, ServiceError> { Ok(txn.open_table(t)?.len()?) };
        Ok(count(tables::KEYS)? + count(tables::CREDENTIALS)?)
    })?;
    let state = Arc::new(GatewayState {
        view: Arc::new(ArcSwap::from_pointee(GatewayView::default())),
        keys: Arc::new(KeyMap::with_capacity(usize::try_from(capacity).unwrap_or(0))),
        generation: AtomicU64::new(0),
        consistent: Arc::new(AtomicBool::new(true)),
        portal: Mutex::new(PortalIndex::default()),
    });
    store.read_blocking(|txn| state.rebuild_all(txn))?;
    store.set_publisher(Arc::new(ViewPublisher(Arc::clone(&state))));
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
        state.repair(&store).await;
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

    /// A repair reads the store and rebuilds while the writer keeps committing. A rebuild from
    /// a snapshot read before a commit must never replace the view after that commit's own
    /// publish: the revoked key would be back in the gateway's map. The test holds the portal
    /// index's lock so that the repair is in flight while a revocation commits and publishes.
    #[tokio::test]
    #[allow(clippy::await_holding_lock)]
    async fn a_repair_in_flight_never_brings_back_a_revocation_committed_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let state = attach(&store).unwrap();
        let spec = serde_json::from_value(serde_json::json!({"name": "a", "listen_path": "/a", "upstream_url": "http://127.0.0.1:9/", "auth": "auth_token"})).unwrap();
        let api = crate::apis::Apis::new(store.clone()).create(spec, "t").await.unwrap().id;
        let keys = crate::keys::Keys::new(store.clone());
        let spec = certgate_core::gateway::spec::KeySpec { apis: vec![api], bound_certificates: None, rate: None, quota: None, expires_at: None };
        let key = keys.create(spec, "t").await.unwrap().record.id;
        let in_view = |state: &GatewayState, id: &str| state.keys.iter().any(|e| e.value().id.is(id));
        assert!(in_view(&state, &key));

        // A failed publish left the view inconsistent: the repair starts.
        state.consistent.store(false, Ordering::SeqCst);
        let held = state.lock_portal();
        let repair = {
            let (state, store) = (Arc::clone(&state), store.clone());
            tokio::spawn(async move { state.repair(&store).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // Meanwhile a rebuild elsewhere succeeded, and the key is revoked.
        state.consistent.store(true, Ordering::SeqCst);
        let revoke = {
            let (keys, key) = (keys.clone(), key.clone());
            tokio::spawn(async move { keys.revoke(&key, "t").await })
        };
        for _ in 0..20 {
            if revoke.is_finished() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        drop(held);
        revoke.await.unwrap().unwrap();
        repair.await.unwrap();
        assert!(state.is_consistent());
        assert!(!in_view(&state, &key), "the revoked key must stay out of the view");
    }
}
