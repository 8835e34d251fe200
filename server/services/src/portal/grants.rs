//! What the portal's credentials grant, derived from the store for the gateway's view (core's
//! `portal::derive`): their key entries (one per usable token digest, counted by the
//! subscription) and each API's allow-list contributions. Nothing here is stored.
//!
//! The same derivation reads a committed snapshot (a whole rebuild, or the state before a
//! write) and a write before its commit (the state after it), through [`Tables`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use certgate_core::gateway::spec::KeySpec;
use certgate_core::gateway::view::KeyInput;
use certgate_core::portal::derive::{credential_grant, CredentialGrant, CredentialInputs, ProductTerms};
use certgate_core::UnixSeconds;
use redb::ReadableTable;

use super::credentials::CredentialRecord;
use super::records::{subscriptions_of, SubscriptionsOf};
use super::requests::{organisation_certificates, SubscriptionRecord};
use crate::organisations::OrganisationRecord;
use crate::plans::PlanRecord;
use crate::products::ProductRecord;
use crate::store::{codec, tables, ChangeSet, Tables};
use crate::ServiceError;

/// One key entry of a portal credential: compiled by the gateway view like an admin key.
pub struct PortalKey {
    pub credential: String,
    pub limits_key: String,
    pub token_sha256: String,
    pub spec: KeySpec,
    /// The subscription's app and organisation (named in the gateway's access log).
    pub app: String,
    pub organisation: String,
}

impl PortalKey {
    /// What the gateway view compiles: the key with its own limits counter.
    pub fn into_input(self) -> KeyInput {
        KeyInput {
            id: self.credential,
            token_sha256: self.token_sha256,
            spec: self.spec,
            limits_key: Some(self.limits_key),
            owner: Some((self.app, self.organisation)),
        }
    }
}

/// API id -> certificate (its 32-byte SHA-256, half the memory of its hex id) -> how many live
/// grants contribute it. A certificate is on an API's effective allow list while its count is
/// above zero (beside the admin's entries).
pub type ContributionCounts = HashMap<String, CertificateCounts>;

/// One API's contribution counts as (digest, count) pairs sorted by digest: 36 bytes a
/// certificate, where a `BTreeMap` took ~48 (the gateway keeps one pair per API and
/// certificate of every live credential). Built whole by [`tally_contributions`], then edited
/// a few pairs at a time by change sets.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CertificateCounts(Vec<([u8; 32], u32)>);

impl CertificateCounts {
    pub fn get(&self, digest: &[u8; 32]) -> u32 {
        self.0.binary_search_by(|(d, _)| d.cmp(digest)).map_or(0, |at| self.0[at].1)
    }

    /// Sets a certificate's count; zero removes it.
    pub fn set(&mut self, digest: [u8; 32], count: u32) {
        match (self.0.binary_search_by(|(d, _)| d.cmp(&digest)), count) {
            (Ok(at), 0) => {
                self.0.remove(at);
            }
            (Ok(at), n) => self.0[at].1 = n,
            (Err(_), 0) => {}
            (Err(at), n) => self.0.insert(at, (digest, n)),
        }
    }

    pub fn digests(&self) -> impl Iterator<Item = &[u8; 32]> {
        self.0.iter().map(|(d, _)| d)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Contribution counts while a whole derivation adds them up (then [`tally_contributions`]).
pub type ContributionTally = HashMap<String, BTreeMap<[u8; 32], u32>>;

/// The counts to keep, from a finished tally.
pub fn tally_contributions(tally: ContributionTally) -> ContributionCounts {
    tally.into_iter().map(|(api, counts)| (api, CertificateCounts(counts.into_iter().collect()))).collect()
}

/// Everything the portal adds to the gateway's view.
#[derive(Default)]
pub struct PortalGrants {
    pub keys: Vec<PortalKey>,
    pub contributions: ContributionCounts,
}

/// One subscription as derivation sees it: its records and what its credential grants now
/// (`None`: revoked, suspended, a JWT product, or a product that no longer checks).
pub struct SubscriptionGrant {
    pub subscription: SubscriptionRecord,
    pub credential: CredentialRecord,
    pub grant: Option<CredentialGrant>,
}

impl SubscriptionGrant {
    /// Its key entries: one per usable token digest.
    pub fn keys(&self, now: UnixSeconds) -> Vec<PortalKey> {
        let Some(grant) = &self.grant else { return Vec::new() };
        self.credential
            .tokens
            .usable_digests(now)
            .into_iter()
            .map(|(digest, expires_at)| PortalKey {
                credential: self.credential.id.clone(),
                limits_key: grant.limits_key.clone(),
                token_sha256: digest.to_string(),
                spec: KeySpec {
                    apis: grant.apis.clone(),
                    bound_certificates: grant.bound.then(|| grant.certificates.clone()),
                    rate: grant.rate,
                    quota: grant.quota,
                    expires_at,
                },
                app: self.subscription.app.clone(),
                organisation: self.subscription.organisation.clone(),
            })
            .collect()
    }

    /// Every digest the credential has ever been found by in a view: removed before its new
    /// entries are added, whatever the time (an expired one may still be in the map).
    pub fn all_digests(&self) -> Vec<&str> {
        let tokens = &self.credential.tokens;
        tokens.current.iter().map(|t| t.sha256.as_str()).chain(tokens.previous.iter().map(|(t, _)| t.sha256.as_str())).collect()
    }

    /// (API, certificate) pairs its grant adds to allow lists.
    pub fn contributions(&self) -> impl Iterator<Item = (&str, &str)> {
        self.grant.iter().flat_map(|g| g.apis.iter().flat_map(move |api| g.certificates.iter().map(move |c| (api.as_str(), c.as_str()))))
    }
}

/// The tables derivation reads, opened once.
struct DeriveTables<'t, T: Tables + 't> {
    apis: T::Table<'t, &'static str, &'static [u8]>,
    organisations: T::Table<'t, &'static str, &'static [u8]>,
    organisation_certificates: T::Table<'t, &'static str, &'static [u8]>,
    certificates: T::Table<'t, &'static str, &'static [u8]>,
    products: T::Table<'t, &'static str, &'static [u8]>,
    plans: T::Table<'t, &'static str, &'static [u8]>,
    credentials: T::Table<'t, &'static str, &'static [u8]>,
    subscriptions: T::Table<'t, &'static str, &'static [u8]>,
    subscriptions_by: T::Table<'t, &'static str, &'static [u8]>,
}

/// What many subscriptions share, read once per derivation.
#[derive(Default)]
struct Shared {
    products: HashMap<String, Option<ProductTerms>>,
    plans: HashMap<String, Option<PlanRecord>>,
    organisation_certificates: HashMap<String, Vec<String>>,
    suspended: HashMap<String, bool>,
}

/// Derives subscriptions' grants from one transaction at one instant.
pub struct Deriver<'t, T: Tables + 't> {
    tables: DeriveTables<'t, T>,
    shared: Shared,
    now: UnixSeconds,
}

impl<'t, T: Tables + 't> Deriver<'t, T> {
    pub fn new(txn: &'t T, now: UnixSeconds) -> Result<Self, ServiceError> {
        Ok(Deriver {
            tables: DeriveTables {
                apis: txn.table(tables::APIS)?,
                organisations: txn.table(tables::ORGANISATIONS)?,
                organisation_certificates: txn.table(tables::ORGANISATION_CERTIFICATES)?,
                certificates: txn.table(tables::CERTIFICATES)?,
                products: txn.table(tables::PRODUCTS)?,
                plans: txn.table(tables::PLANS)?,
                credentials: txn.table(tables::CREDENTIALS)?,
                subscriptions: txn.table(tables::SUBSCRIPTIONS)?,
                subscriptions_by: txn.table(tables::SUBSCRIPTIONS_BY)?,
            },
            shared: Shared::default(),
            now,
        })
    }

    /// The subscription with this id, derived; `None` if it (or its credential) does not exist.
    pub fn subscription(&mut self, id: &str) -> Result<Option<SubscriptionGrant>, ServiceError> {
        let Some(v) = self.tables.subscriptions.get(id)? else { return Ok(None) };
        let subscription: SubscriptionRecord = codec::decode("subscriptions", id, v.value())?;
        derive_one(&self.tables, &mut self.shared, subscription, self.now)
    }

    /// The subscriptions a change set reaches, from the indexes of this transaction.
    pub fn reached_by(&self, changes: &ChangeSet) -> Result<BTreeSet<String>, ServiceError> {
        let mut out: BTreeSet<String> = changes.subscriptions.iter().cloned().collect();
        let index = &self.tables.subscriptions_by;
        for id in &changes.organisations {
            out.extend(subscriptions_of(index, SubscriptionsOf::Organisation(id))?);
        }
        for id in &changes.products {
            out.extend(subscriptions_of(index, SubscriptionsOf::Product(id))?);
        }
        for id in &changes.plans {
            out.extend(subscriptions_of(index, SubscriptionsOf::Plan(id))?);
        }
        Ok(out)
    }

    /// Every subscription, derived one at a time (a whole rebuild holds none of them longer
    /// than `each` does).
    pub fn for_each(&mut self, mut each: impl FnMut(SubscriptionGrant) -> Result<(), ServiceError>) -> Result<(), ServiceError> {
        for entry in self.tables.subscriptions.iter()? {
            let (k, v) = entry?;
            let subscription: SubscriptionRecord = codec::decode("subscriptions", k.value(), v.value())?;
            if let Some(derived) = derive_one(&self.tables, &mut self.shared, subscription, self.now)? {
                each(derived)?;
            }
        }
        Ok(())
    }

    /// Every API definition (the snapshot is built from the same transaction).
    pub fn api_records(&self) -> Result<Vec<crate::apis::ApiRecord>, ServiceError> {
        crate::apis::all(&self.tables.apis)
    }

    /// One API definition.
    pub fn api_record(&self, id: &str) -> Result<Option<crate::apis::ApiRecord>, ServiceError> {
        crate::apis::load(&self.tables.apis, id)
    }

    /// The certificates table of this transaction.
    pub fn certificate_table(&self) -> &T::Table<'t, &'static str, &'static [u8]> {
        &self.tables.certificates
    }

    /// Whether a certificate is a CA, and its DER (for allow-list and binding entries).
    pub fn certificate(&self, id: &str) -> Result<Option<crate::certificates::CertificateRecord>, ServiceError> {
        match self.tables.certificates.get(id)? {
            Some(v) => Ok(Some(codec::decode("certificates", id, v.value())?)),
            None => Ok(None),
        }
    }
}

fn derive_one<T: Tables>(
    tables: &DeriveTables<'_, T>,
    shared: &mut Shared,
    subscription: SubscriptionRecord,
    now: UnixSeconds,
) -> Result<Option<SubscriptionGrant>, ServiceError> {
    let Some(credential) = tables.credentials.get(subscription.credential.as_str())? else { return Ok(None) };
    let credential: CredentialRecord = codec::decode("credentials", &subscription.credential, credential.value())?;
    if !shared.products.contains_key(&subscription.product) {
        let terms = match crate::products::load(&tables.products, &subscription.product)? {
            Some(record) => terms_of(&tables.apis, record)?,
            None => None,
        };
        shared.products.insert(subscription.product.clone(), terms);
    }
    if !shared.plans.contains_key(&subscription.plan) {
        shared.plans.insert(subscription.plan.clone(), crate::plans::load(&tables.plans, &subscription.plan)?);
    }
    if !shared.organisation_certificates.contains_key(&subscription.organisation) {
        let certs = organisation_certificates(&tables.organisation_certificates, &tables.certificates, &subscription.organisation)?;
        shared.organisation_certificates.insert(subscription.organisation.clone(), certs);
    }
    if !shared.suspended.contains_key(&subscription.organisation) {
        let is = match tables.organisations.get(subscription.organisation.as_str())? {
            Some(v) => codec::decode::<OrganisationRecord>("organisations", &subscription.organisation, v.value())?.suspended_at.is_some(),
            None => true,
        };
        shared.suspended.insert(subscription.organisation.clone(), is);
    }
    let grant = match shared.products.get(&subscription.product) {
        Some(Some(product)) => {
            let plan = shared.plans.get(&subscription.plan).and_then(|p| p.as_ref());
            let inputs = CredentialInputs {
                subscription_id: &subscription.id,
                product,
                rate: plan.and_then(|p| p.spec.rate),
                quota: plan.and_then(|p| p.spec.quota),
                revoked: credential.tokens.revoked_at.is_some(),
                organisation_suspended: shared.suspended.get(&subscription.organisation).copied().unwrap_or(true),
                organisation_certificates: shared.organisation_certificates.get(&subscription.organisation).map(Vec::as_slice).unwrap_or_default(),
                subscription_certificates: &subscription.certificates,
            };
            credential_grant(&inputs, now).ok()
        }
        _ => None,
    };
    Ok(Some(SubscriptionGrant { subscription, credential, grant }))
}

/// Derives every live credential's grant at `now` (a whole rebuild).
pub fn derive_all<T: Tables>(txn: &T, now: UnixSeconds) -> Result<PortalGrants, ServiceError> {
    let (mut grants, mut tally) = (PortalGrants::default(), ContributionTally::new());
    Deriver::new(txn, now)?.for_each(|derived| {
        count_contributions(&mut tally, &derived);
        grants.keys.extend(derived.keys(now));
        Ok(())
    })?;
    grants.contributions = tally_contributions(tally);
    Ok(grants)
}

/// Adds what one credential contributes to allow lists.
pub fn count_contributions(counts: &mut ContributionTally, derived: &SubscriptionGrant) {
    for (api, certificate) in derived.contributions() {
        if let Some(digest) = certgate_core::gateway::view::id_digest(certificate) {
            *counts.entry(api.to_string()).or_default().entry(digest).or_default() += 1;
        }
    }
}

fn terms_of(apis: &impl ReadableTable<&'static str, &'static [u8]>, record: ProductRecord) -> Result<Option<ProductTerms>, ServiceError> {
    let facts = crate::products::api_facts(apis, &record.spec.apis)?;
    // A product that no longer checks (an API gone) grants nothing rather than something wrong.
    let Ok((spec, auth)) = record.spec.normalise(&facts) else { return Ok(None) };
    Ok(Some(ProductTerms { id: record.id, apis: spec.apis, auth, mode: spec.certificate_mode, binding: spec.certificate_binding }))
}
