//! A write's change set turned into a view change: computed inside the write, before its
//! commit, from the state before it (the last committed snapshot, which the view reflects) and
//! the state after it (the write's own transaction), for the subscriptions the change set
//! reaches only. Publishing it after the commit is a swap: new key entries, removed digests,
//! contribution counts, and, when an allow list changed, a new API snapshot built here.
//! The same computation answers `?dry_run=true`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use certgate_core::gateway::view::{id_digest, ApiLists, CertificateInput, GatewayView, KeyView};
use redb::{Database, ReadableDatabase, WriteTransaction};

use super::{build_view, entry_of, GatewayState};
use crate::portal::grants::{Deriver, PortalKey, SubscriptionGrant};
use crate::store::changes::{AllowListChange, ChangePreview, CredentialChange, GrantSummary};
use crate::store::{ChangeSet, StoreError};
use crate::ServiceError;

/// A view change ready to publish.
pub(super) struct Prepared {
    /// The portal index it was computed against (a whole rebuild in between voids it).
    epoch: u64,
    insert: Vec<([u8; 32], Arc<KeyView>)>,
    /// Digests of the reached credentials that have no entry any more.
    remove: Vec<[u8; 32]>,
    /// (API, certificate) -> change of its contribution count.
    deltas: BTreeMap<(String, String), i64>,
    joining_certificates: HashMap<String, CertificateInput>,
    view: Option<GatewayView>,
    /// The view cannot be updated by difference: rebuild it whole after the commit.
    whole: bool,
    pub preview: ChangePreview,
}

/// Whether a subscription holds a replaced certificate whose retire-by time has passed. The
/// view may have been derived before that time (with the certificate counting) and derivation
/// at `now` leaves it out on both sides, so a difference would never take it off: such a change
/// (the scheduler's retirement, or any write reaching the subscription before it) rebuilds.
fn has_overdue_certificate(derived: &Option<SubscriptionGrant>, now: certgate_core::UnixSeconds) -> bool {
    derived.as_ref().is_some_and(|d| d.subscription.certificates.iter().any(|c| c.retire_by.is_some_and(|at| at <= now)))
}

fn summary(derived: &Option<SubscriptionGrant>) -> Option<GrantSummary> {
    let grant = derived.as_ref()?.grant.as_ref()?;
    Some(GrantSummary { apis: grant.apis.clone(), certificates: grant.certificates.clone(), bound: grant.bound })
}

/// A live credential stops working when it no longer grants anything, or loses its last
/// certificate while it had some (an mTLS product then refuses every request).
fn stops_working(before: &Option<GrantSummary>, after: &Option<GrantSummary>) -> bool {
    match (before, after) {
        (Some(_), None) => true,
        (Some(b), Some(a)) => !b.certificates.is_empty() && a.certificates.is_empty(),
        _ => false,
    }
}

pub(super) fn prepare(state: &GatewayState, db: &Database, txn: &WriteTransaction, changes: &ChangeSet) -> Result<Prepared, ServiceError> {
    let now = crate::clock::now();
    let committed = db.begin_read().map_err(StoreError::from)?;
    let mut before = Deriver::new(&committed, now)?;
    let mut after = Deriver::new(txn, now)?;
    let mut reached = before.reached_by(changes)?;
    reached.extend(after.reached_by(changes)?);

    let mut old_digests = BTreeSet::new();
    let mut new_keys: Vec<PortalKey> = Vec::new();
    let mut deltas: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut preview = ChangePreview::default();
    let mut whole = false;
    for id in &reached {
        let (was, is) = (before.subscription(id)?, after.subscription(id)?);
        whole |= has_overdue_certificate(&was, now) || has_overdue_certificate(&is, now);
        if let Some(was) = &was {
            old_digests.extend(was.all_digests().into_iter().filter_map(id_digest));
            for (api, certificate) in was.contributions() {
                *deltas.entry((api.to_string(), certificate.to_string())).or_default() -= 1;
            }
        }
        if let Some(is) = &is {
            new_keys.extend(is.keys(now));
            for (api, certificate) in is.contributions() {
                *deltas.entry((api.to_string(), certificate.to_string())).or_default() += 1;
            }
        }
        let (summary_before, summary_after) = (summary(&was), summary(&is));
        if summary_before != summary_after {
            if let Some(record) = is.as_ref().or(was.as_ref()) {
                preview.credentials_stop_working += usize::from(stops_working(&summary_before, &summary_after));
                preview.credentials.push(CredentialChange {
                    credential: record.credential.id.clone(),
                    subscription: record.subscription.id.clone(),
                    app: record.subscription.app.clone(),
                    organisation: record.subscription.organisation.clone(),
                    product: record.subscription.product.clone(),
                    before: summary_before,
                    after: summary_after,
                });
            }
        }
    }
    deltas.retain(|_, delta| *delta != 0);

    let portal = state.lock_portal();
    let epoch = portal.epoch;
    let (mut joining, mut leaving): (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) = Default::default();
    for ((api, certificate), delta) in &deltas {
        let old = i64::from(portal.counts.get(api).zip(id_digest(certificate)).map_or(0, |(c, d)| c.get(&d)));
        let new = (old + delta).max(0);
        if old == 0 && new > 0 {
            joining.entry(api.clone()).or_default().push(certificate.clone());
        } else if old > 0 && new == 0 {
            leaving.entry(api.clone()).or_default().push(certificate.clone());
        }
    }
    // Entries for the certificates this change brings in: joining allow lists, or in bindings.
    let mut joining_certificates = HashMap::new();
    let wanted = joining.values().flatten().chain(new_keys.iter().flat_map(|k| k.spec.bound_certificates.iter().flatten()));
    for id in wanted {
        if !portal.certificates.contains_key(id) && !joining_certificates.contains_key(id) {
            if let Some(record) = after.certificate(id)? {
                joining_certificates.insert(id.clone(), entry_of(record));
            }
        }
    }
    let known = |id: &str| portal.certificates.get(id).or_else(|| joining_certificates.get(id));

    let mut lists = ApiLists::default();
    let mut new_digests = BTreeSet::new();
    let mut insert = Vec::with_capacity(new_keys.len());
    for key in new_keys {
        let (digest, view) = KeyView::build_sharing_with(key.into_input(), &known, &mut lists);
        new_digests.insert(digest);
        insert.push((digest, view));
    }
    let remove = old_digests.difference(&new_digests).copied().collect();

    let view = if changes.apis {
        // API definitions changed: compile the snapshot again.
        let contributed = |api: &str| -> Vec<String> {
            let mut set: BTreeSet<String> = portal.counts.get(api).map(|c| c.digests().map(hex::encode).collect()).unwrap_or_default();
            set.extend(joining.get(api).into_iter().flatten().cloned());
            for gone in leaving.get(api).into_iter().flatten() {
                set.remove(gone);
            }
            set.into_iter().collect()
        };
        Some(build_view(state.next_generation(), after.api_records()?, after.certificate_table(), &contributed, &known)?)
    } else if !joining.is_empty() || !leaving.is_empty() {
        // Only allow lists change: edit those sets in the published snapshot. A certificate
        // leaving the contributions stays when the admin's own entries list it.
        let mut admin_entries: HashMap<&str, BTreeSet<String>> = HashMap::new();
        for api in leaving.keys() {
            let entries = after.api_record(api)?.map(|r| r.spec.mtls.allowed_certificates.into_iter().collect()).unwrap_or_default();
            admin_entries.insert(api.as_str(), entries);
        }
        let current = state.view.load_full();
        let changed = |api: &certgate_core::gateway::view::ApiView| {
            let (join, leave) = (joining.get(&api.id), leaving.get(&api.id));
            if join.is_none() && leave.is_none() {
                return None;
            }
            let mut set = api.allowed.clone();
            for id in join.into_iter().flatten() {
                if let Some(entry) = known(id) {
                    set.add(entry);
                }
            }
            let kept = admin_entries.get(api.id.as_str());
            for id in leave.into_iter().flatten() {
                if !kept.is_some_and(|k| k.contains(id)) {
                    set.remove(id);
                }
            }
            Some(set)
        };
        Some(current.with_allow_lists(state.next_generation(), &changed))
    } else {
        None
    };
    let apis: BTreeSet<&String> = joining.keys().chain(leaving.keys()).collect();
    preview.allow_lists = apis
        .into_iter()
        .map(|api| AllowListChange {
            api: api.clone(),
            joining: joining.get(api).cloned().unwrap_or_default(),
            leaving: leaving.get(api).cloned().unwrap_or_default(),
        })
        .collect();
    drop(portal);
    Ok(Prepared { epoch, insert, remove, deltas, joining_certificates, view, whole, preview })
}

/// After the commit: the swap. A whole rebuild since `prepare` (or a view that is not
/// consistent) means the change no longer applies to what is published: rebuild instead; so
/// does a change that cannot be computed as a difference (`whole`).
pub(super) fn apply(state: &GatewayState, db: &Database, prepared: Prepared) {
    let mut portal = state.lock_portal();
    if prepared.whole || portal.epoch != prepared.epoch || !state.is_consistent() {
        drop(portal);
        state.rebuild_or_fail_closed(db);
        return;
    }
    // New entries first (an unchanged digest is replaced in place, never missing), then the
    // digests that no longer grant.
    for (digest, view) in prepared.insert {
        state.keys.insert(digest, view);
    }
    for digest in &prepared.remove {
        state.keys.remove(digest);
    }
    for ((api, certificate), delta) in prepared.deltas {
        let Some(digest) = id_digest(&certificate) else { continue };
        let counts = portal.counts.entry(api).or_default();
        let new = (i64::from(counts.get(&digest)) + delta).max(0);
        counts.set(digest, u32::try_from(new).unwrap_or(0));
    }
    portal.counts.retain(|_, counts| !counts.is_empty());
    portal.certificates.extend(prepared.joining_certificates);
    if let Some(view) = prepared.view {
        state.view.store(Arc::new(view));
    }
    #[cfg(debug_assertions)]
    verify_against_a_whole_derivation(state, db, &portal);
}

/// Debug builds (every test): the incrementally kept view equals a whole derivation, so a
/// write that forgets to record what it touched fails the tests instead of leaving a stale grant.
#[cfg(debug_assertions)]
fn verify_against_a_whole_derivation(state: &GatewayState, db: &Database, portal: &super::PortalIndex) {
    let Ok(txn) = db.begin_read() else { return };
    let now = crate::clock::now();
    let Ok(whole) = crate::portal::grants::derive_all(&txn, now) else { return };
    debug_assert_eq!(portal.counts, whole.contributions, "allow-list contributions drifted from a whole derivation");
    // Digest -> (credential, APIs, bound certificates).
    type Entry = (String, Vec<String>, Option<Vec<String>>);
    let derived: BTreeMap<[u8; 32], Entry> = whole
        .keys
        .into_iter()
        .filter_map(|k| Some((id_digest(&k.token_sha256)?, (k.credential, k.spec.apis, k.spec.bound_certificates))))
        .collect();
    let mut in_view = BTreeMap::new();
    for entry in state.keys.iter() {
        let view = entry.value();
        // An entry past its end time (a rotated-out token, a token's lifetime) stays in the map
        // until a change reaches its credential; the gateway refuses it by that time.
        if view.limits_key.is_none() || view.expired(now) {
            continue;
        }
        let bound = derived.get(entry.key()).and_then(|(_, _, b)| b.clone()).filter(|ids| {
            view.terms.binding.as_ref().is_some_and(|set| ids.iter().all(|id| set.is_pinned(id) || set.cas.iter().any(|c| &c.id == id)))
        });
        in_view.insert(*entry.key(), (view.id.to_string(), view.terms.apis.to_vec(), bound));
    }
    debug_assert_eq!(in_view, derived, "portal key entries drifted from a whole derivation");
    // Each API's allow list is the admin's entries (those in the store) and the contributions.
    let Ok(records) = txn.open_table(crate::store::tables::APIS).map_err(ServiceError::from).and_then(|t| crate::apis::all(&t)) else { return };
    let Ok(certificates) = txn.open_table(crate::store::tables::CERTIFICATES) else { return };
    let view = state.view.load();
    for record in records {
        let Some(api) = view.apis.iter().find(|a| a.id == record.id) else { continue };
        let mut expected: BTreeSet<String> = portal.counts.get(&record.id).map(|c| c.digests().map(hex::encode).collect()).unwrap_or_default();
        for id in record.spec.mtls.allowed_certificates {
            if redb::ReadableTable::get(&certificates, id.as_str()).ok().flatten().is_some() {
                expected.insert(id);
            }
        }
        debug_assert!(
            expected.len() == api.allowed.len() && expected.iter().all(|id| api.allowed.contains(id)),
            "the allow list of {} drifted from the admin's entries and the contributions",
            record.id
        );
    }
}
