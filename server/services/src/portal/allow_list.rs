//! An API's effective allow list with where each entry comes from: the admin's entry on the
//! API, or product → app → organisation for what live portal credentials contribute. Derived
//! in one read transaction from the subscriptions of the products that contain the API (an
//! index), as the gateway's view derives it; one page is labelled and returned.

use std::collections::BTreeMap;

use redb::{ReadTransaction, ReadableTable};

use super::grants::Deriver;
use super::records::{subscriptions_of, SubscriptionsOf};
use super::Actor;
use crate::certificates::{load_meta, CertificateRecord};
use crate::products::ProductRecord;
use crate::store::{codec, tables, Store};
use crate::{clock, ServiceError};

/// Contributions kept per entry; the rest are counted.
pub const SOURCES_KEPT: usize = 10;

/// A credential's contribution: ids of its product, app and organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    pub product: String,
    pub app: String,
    pub organisation: String,
}

/// One certificate on the list.
#[derive(Debug, Clone)]
pub struct AllowListEntry {
    pub certificate: String,
    /// The portal name, the subject's CN or the subject; `None`: gone from the store.
    pub label: Option<String>,
    pub record: Option<CertificateRecord>,
    pub admin_entry: bool,
    /// How many live credentials contribute it (`sources` holds the first few).
    pub contributors: usize,
    pub sources: Vec<Contribution>,
}

#[derive(Debug, Clone)]
pub struct AllowListPage {
    pub entries: Vec<AllowListEntry>,
    pub total: usize,
    pub mtls_required: bool,
}

#[derive(Default)]
struct Tally {
    admin_entry: bool,
    contributors: usize,
    sources: Vec<Contribution>,
}

/// Entries sorted by label (case-insensitive), then id; `skip`/`take` choose the page.
pub async fn effective_allow_list(store: &Store, actor: &Actor, api: &str, skip: usize, take: usize) -> Result<AllowListPage, ServiceError> {
    actor.require_admin()?;
    let api = api.to_string();
    store.read(move |txn| page(txn, &api, skip, take)).await
}

fn page(txn: &ReadTransaction, api_id: &str, skip: usize, take: usize) -> Result<AllowListPage, ServiceError> {
    let Some(api) = crate::apis::load(&txn.open_table(tables::APIS)?, api_id)? else {
        return Err(ServiceError::NotFound { what: "API" });
    };
    let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
    for id in &api.spec.mtls.allowed_certificates {
        tally.entry(id.clone()).or_default().admin_entry = true;
    }
    let mut products = Vec::new();
    for entry in txn.open_table(tables::PRODUCTS)?.iter()? {
        let (k, v) = entry?;
        let product: ProductRecord = codec::decode("products", k.value(), v.value())?;
        if product.spec.apis.iter().any(|a| a == api_id) {
            products.push(product.id);
        }
    }
    let index = txn.open_table(tables::SUBSCRIPTIONS_BY)?;
    let mut deriver = Deriver::new(txn, clock::now())?;
    for product in &products {
        for subscription in subscriptions_of(&index, SubscriptionsOf::Product(product))? {
            let Some(derived) = deriver.subscription(&subscription)? else { continue };
            let Some(grant) = &derived.grant else { continue };
            if !grant.apis.iter().any(|a| a == api_id) {
                continue;
            }
            for certificate in &grant.certificates {
                let entry = tally.entry(certificate.clone()).or_default();
                entry.contributors += 1;
                if entry.sources.len() < SOURCES_KEPT {
                    entry.sources.push(Contribution {
                        product: product.clone(),
                        app: derived.subscription.app.clone(),
                        organisation: derived.subscription.organisation.clone(),
                    });
                }
            }
        }
    }
    // Labels for every entry (the order needs them), records for the page only.
    let (certificates, meta) = (txn.open_table(tables::CERTIFICATES)?, txn.open_table(tables::CERTIFICATE_PORTAL)?);
    let mut labelled = Vec::with_capacity(tally.len());
    for (id, t) in tally {
        let label = match certificates.get(id.as_str())? {
            Some(v) => {
                let record: CertificateRecord = codec::decode("certificates", &id, v.value())?;
                Some(crate::certificates::label_of(&load_meta(&meta, &id)?, &record))
            }
            None => None,
        };
        labelled.push((label, id, t));
    }
    // Case-insensitive, each label lowered once; certificates gone from the store last.
    labelled.sort_by_cached_key(|(label, id, _)| (label.is_none(), label.as_deref().map(str::to_lowercase), id.clone()));
    let total = labelled.len();
    let mut entries = Vec::new();
    for (label, id, t) in labelled.into_iter().skip(skip).take(take) {
        let record = match certificates.get(id.as_str())? {
            Some(v) => Some(codec::decode("certificates", &id, v.value())?),
            None => None,
        };
        entries.push(AllowListEntry { certificate: id, label, record, admin_entry: t.admin_entry, contributors: t.contributors, sources: t.sources });
    }
    Ok(AllowListPage { entries, total, mtls_required: api.spec.mtls.required })
}

#[cfg(test)]
mod tests {
    use certgate_core::portal::product::CertificateMode;
    use certgate_testpki::{LeafSpec, TestPki};

    use super::*;
    use crate::accounts::OrgRole;
    use crate::portal::requests::NewRequest;
    use crate::test_world::{code, world};

    #[tokio::test]
    async fn entries_say_where_they_come_from_counted_past_the_kept_sources_and_paged() {
        let w = world().await;
        let pki = TestPki::new();
        let (acme_cert, spare) = (pki.leaf(&LeafSpec::client("acme")), pki.leaf(&LeafSpec::client("spare")));
        w.upload(&acme_cert, Some(&w.acme)).await;
        let spare_id = w.upload(&spare, None).await;
        let product = w.product(CertificateMode::Managed, false).await;
        let alice = Actor::Consumer { user: "usr_alice".into(), organisation: w.acme.clone(), role: OrgRole::OrgAdmin };
        // More credentials than sources kept: the rest are counted.
        for n in 0..SOURCES_KEPT + 2 {
            let app = w.apps.create(&alice, &format!("app {n:02}")).await.unwrap();
            let request = w.requests.create(&alice, &app.id, NewRequest { product: product.clone(), plan: w.plan.clone(), certificate: None }).await.unwrap();
            w.requests.approve(&w.admin, &request.id).await.unwrap();
        }
        let mut spec = crate::apis::Apis::new(w.store.clone()).get(&w.api).await.unwrap().spec;
        spec.mtls.allowed_certificates.push(spare_id.clone());
        crate::apis::Apis::new(w.store.clone()).update(&w.api, spec, "admin").await.unwrap();

        let page = effective_allow_list(&w.store, &w.admin, &w.api, 0, 10).await.unwrap();
        assert_eq!((page.total, page.mtls_required), (2, true));
        let labels: Vec<_> = page.entries.iter().map(|e| e.label.clone().unwrap()).collect();
        assert_eq!(labels, ["acme", "spare"], "sorted by label");
        let acme = &page.entries[0];
        assert_eq!((acme.admin_entry, acme.contributors, acme.sources.len()), (false, SOURCES_KEPT + 2, SOURCES_KEPT));
        assert!(acme.sources.iter().all(|s| s.product == product && s.organisation == w.acme));
        let spare_entry = &page.entries[1];
        assert_eq!((spare_entry.admin_entry, spare_entry.contributors, spare_entry.certificate.as_str()), (true, 0, spare_id.as_str()));
        assert!(spare_entry.record.is_some());

        // Paged; a revoked organisation's contributions leave; a consumer may not look.
        let second = effective_allow_list(&w.store, &w.admin, &w.api, 1, 10).await.unwrap();
        assert_eq!(second.entries.iter().map(|e| e.certificate.as_str()).collect::<Vec<_>>(), [spare_id.as_str()]);
        w.organisations.set_suspended(&w.acme, true, "admin").await.unwrap();
        let page = effective_allow_list(&w.store, &w.admin, &w.api, 0, 10).await.unwrap();
        assert_eq!(page.total, 1, "a suspended organisation contributes nothing");
        assert_eq!(code(effective_allow_list(&w.store, &alice, &w.api, 0, 10).await), "forbidden");
        assert_eq!(code(effective_allow_list(&w.store, &w.admin, "api_missing", 0, 10).await), "not_found");
    }
}
