//! What the portal's credentials grant, derived from the store for the gateway's view (core's
//! `portal::derive`): their key entries (one per usable token digest, counted by the
//! subscription) and each API's allow-list contributions. Nothing here is stored.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use certgate_core::gateway::spec::KeySpec;
use certgate_core::portal::derive::{allow_list_contributions, credential_grant, CredentialGrant, CredentialInputs, ProductTerms};
use certgate_core::UnixSeconds;
use redb::{ReadTransaction, ReadableTable};

use super::credentials::CredentialRecord;
use super::requests::{organisation_certificates, SubscriptionRecord};
use crate::plans::PlanRecord;
use crate::products::ProductRecord;
use crate::store::codec;
use crate::store::tables;
use crate::ServiceError;

/// One key entry of a portal credential: compiled by the gateway view like an admin key.
pub struct PortalKey {
    pub credential: String,
    pub limits_key: String,
    pub token_sha256: String,
    pub spec: KeySpec,
}

/// Everything the portal adds to the gateway's view.
#[derive(Default)]
pub struct PortalGrants {
    pub keys: Vec<PortalKey>,
    /// API id -> certificate ids its portal credentials contribute.
    pub contributions: BTreeMap<String, BTreeSet<String>>,
}

/// Derives every live credential's grant at `now`.
pub fn derive_all(txn: &ReadTransaction, now: UnixSeconds) -> Result<PortalGrants, ServiceError> {
    let apis = txn.open_table(tables::APIS)?;
    let mut products: HashMap<String, Option<ProductTerms>> = HashMap::new();
    let mut plans: HashMap<String, Option<PlanRecord>> = HashMap::new();
    let mut organisation_certs: HashMap<String, Vec<String>> = HashMap::new();
    let mut suspended: HashMap<String, bool> = HashMap::new();
    let organisation_table = txn.open_table(tables::ORGANISATIONS)?;
    let (portal_table, certificate_table) = (txn.open_table(tables::CERTIFICATE_PORTAL)?, txn.open_table(tables::CERTIFICATES)?);
    let (product_table, plan_table, credential_table) =
        (txn.open_table(tables::PRODUCTS)?, txn.open_table(tables::PLANS)?, txn.open_table(tables::CREDENTIALS)?);
    let mut grants: Vec<(String, CredentialRecord, CredentialGrant)> = Vec::new();
    for entry in txn.open_table(tables::SUBSCRIPTIONS)?.iter()? {
        let (k, v) = entry?;
        let subscription: SubscriptionRecord = codec::decode("subscriptions", k.value(), v.value())?;
        let Some(credential) = credential_table.get(subscription.credential.as_str())? else { continue };
        let credential: CredentialRecord = codec::decode("credentials", &subscription.credential, credential.value())?;
        if !products.contains_key(&subscription.product) {
            let terms = match crate::products::load(&product_table, &subscription.product)? {
                Some(record) => terms_of(&apis, record)?,
                None => None,
            };
            products.insert(subscription.product.clone(), terms);
        }
        let Some(Some(product)) = products.get(&subscription.product) else { continue };
        if !plans.contains_key(&subscription.plan) {
            plans.insert(subscription.plan.clone(), crate::plans::load(&plan_table, &subscription.plan)?);
        }
        let plan = plans.get(&subscription.plan).and_then(|p| p.as_ref());
        if !organisation_certs.contains_key(&subscription.organisation) {
            let certs = organisation_certificates(&portal_table, &certificate_table, &subscription.organisation)?;
            organisation_certs.insert(subscription.organisation.clone(), certs);
        }
        if !suspended.contains_key(&subscription.organisation) {
            let is = match organisation_table.get(subscription.organisation.as_str())? {
                Some(v) => codec::decode::<crate::organisations::OrganisationRecord>("organisations", &subscription.organisation, v.value())?.suspended_at.is_some(),
                None => true,
            };
            suspended.insert(subscription.organisation.clone(), is);
        }
        let inputs = CredentialInputs {
            subscription_id: &subscription.id,
            product,
            rate: plan.and_then(|p| p.spec.rate),
            quota: plan.and_then(|p| p.spec.quota),
            revoked: credential.tokens.revoked_at.is_some(),
            organisation_suspended: suspended.get(&subscription.organisation).copied().unwrap_or(true),
            organisation_certificates: organisation_certs.get(&subscription.organisation).map(Vec::as_slice).unwrap_or_default(),
            subscription_certificates: &subscription.certificates,
        };
        if let Ok(grant) = credential_grant(&inputs, now) {
            grants.push((subscription.id.clone(), credential, grant));
        }
    }
    let contributions = allow_list_contributions(grants.iter().map(|(_, _, g)| g));
    let mut keys = Vec::new();
    for (subscription, credential, grant) in grants {
        for (digest, expires_at) in credential.tokens.usable_digests(now) {
            keys.push(PortalKey {
                credential: credential.id.clone(),
                limits_key: subscription.clone(),
                token_sha256: digest.to_string(),
                spec: KeySpec {
                    apis: grant.apis.clone(),
                    bound_certificates: grant.bound.then(|| grant.certificates.clone()),
                    rate: grant.rate,
                    quota: grant.quota,
                    expires_at,
                },
            });
        }
    }
    Ok(PortalGrants { keys, contributions })
}

fn terms_of(apis: &impl ReadableTable<&'static str, &'static [u8]>, record: ProductRecord) -> Result<Option<ProductTerms>, ServiceError> {
    let facts = crate::products::api_facts(apis, &record.spec.apis)?;
    // A product that no longer checks (an API gone) grants nothing rather than something wrong.
    let Ok((spec, auth)) = record.spec.normalise(&facts) else { return Ok(None) };
    Ok(Some(ProductTerms { id: record.id, apis: spec.apis, auth, mode: spec.certificate_mode, binding: spec.certificate_binding }))
}
