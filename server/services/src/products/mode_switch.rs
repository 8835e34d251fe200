//! A product's Mutual TLS Certificate Mode changing under live subscriptions, inside the
//! product's write (so the gateway's view after the commit already has the result).
//!
//! - Managed → Self-Serve: each subscription takes its organisation's current certificates as
//!   its own (issue 10: "each subscription keeps the organisation's current certificates"), so
//!   every credential keeps working with the certificates it works with today. Later links and
//!   unlinks on the organisation no longer change it: that is what Self-Serve means.
//! - Self-Serve → Managed: the subscriptions' own certificates are dropped and the
//!   organisation's are used, as for a Managed approval. The switch is refused (409
//!   `organisation_has_no_certificate`, naming the organisations) while an organisation with a
//!   live credential on the product has no certificate that fits: the same rule as approval, and
//!   what Tyk's and Gravitee's users expect of a settings change — it must not silently turn
//!   working credentials into ones that deny every request. We do not link the consumers'
//!   certificates to their organisations instead: in Managed mode the admin decides which
//!   certificates an organisation has, and a link would also reach every other Managed product
//!   of that organisation.

use std::collections::{BTreeSet, HashMap};

use certgate_core::portal::derive::SubscriptionCertificate;
use certgate_core::portal::product::CertificateMode;
use redb::{ReadableTable, WriteTransaction};

use crate::portal::credentials::CredentialRecord;
use crate::portal::requests::{organisation_certificates, SubscriptionRecord};
use crate::store::codec;
use crate::store::tables;
use crate::{references, ServiceError};

/// Applies a mode change of `product` from `old` to `new` to its subscriptions. Nothing to do
/// when the mode stays, or when either side has no mode (no mTLS: no certificates to carry).
pub(super) fn apply(txn: &WriteTransaction, product: &str, old: Option<CertificateMode>, new: Option<CertificateMode>) -> Result<(), ServiceError> {
    match (old, new) {
        (Some(CertificateMode::Managed), Some(CertificateMode::SelfServe)) => to_self_serve(txn, product),
        (Some(CertificateMode::SelfServe), Some(CertificateMode::Managed)) => to_managed(txn, product),
        _ => Ok(()),
    }
}

/// The product's subscriptions, each with whether its credential is live (not revoked).
fn subscriptions_of(txn: &WriteTransaction, product: &str) -> Result<Vec<(SubscriptionRecord, bool)>, ServiceError> {
    let credentials = txn.open_table(tables::CREDENTIALS)?;
    let subscriptions = txn.open_table(tables::SUBSCRIPTIONS)?;
    let mut out = Vec::new();
    let ids = crate::portal::records::subscriptions_of(&txn.open_table(tables::SUBSCRIPTIONS_BY)?, crate::portal::records::SubscriptionsOf::Product(product))?;
    for id in ids {
        let Some(v) = subscriptions.get(id.as_str())? else { continue };
        let subscription: SubscriptionRecord = codec::decode("subscriptions", &id, v.value())?;
        let live = match credentials.get(subscription.credential.as_str())? {
            Some(c) => codec::decode::<CredentialRecord>("credentials", &subscription.credential, c.value())?.tokens.revoked_at.is_none(),
            None => false,
        };
        out.push((subscription, live));
    }
    Ok(out)
}

/// Replaces a subscription's own certificates, with the "used by" index following.
fn set_certificates(txn: &WriteTransaction, mut subscription: SubscriptionRecord, ids: Vec<String>) -> Result<(), ServiceError> {
    let holder = format!("sub:{}", subscription.id);
    let old: Vec<String> = subscription.certificates.iter().map(|c| c.id.clone()).collect();
    references::remove(txn, tables::CERTIFICATE_USERS, &old, &holder)?;
    references::add(txn, tables::CERTIFICATE_USERS, &ids, &holder)?;
    subscription.certificates = ids.into_iter().map(|id| SubscriptionCertificate { id, retire_by: None }).collect();
    crate::portal::records::put_subscription(txn, &subscription)
}

fn to_self_serve(txn: &WriteTransaction, product: &str) -> Result<(), ServiceError> {
    let mut of_organisation: HashMap<String, Vec<String>> = HashMap::new();
    for (subscription, live) in subscriptions_of(txn, product)? {
        // A revoked credential never grants again: holding certificates would only pin them
        // ("used by") against deletion.
        let ids = if live {
            if !of_organisation.contains_key(&subscription.organisation) {
                let portal = txn.open_table(tables::ORGANISATION_CERTIFICATES)?;
                let certificates = organisation_certificates(&portal, &txn.open_table(tables::CERTIFICATES)?, &subscription.organisation)?;
                of_organisation.insert(subscription.organisation.clone(), certificates);
            }
            of_organisation.get(&subscription.organisation).cloned().unwrap_or_default()
        } else {
            Vec::new()
        };
        set_certificates(txn, subscription, ids)?;
    }
    Ok(())
}

fn to_managed(txn: &WriteTransaction, product: &str) -> Result<(), ServiceError> {
    let subscriptions = subscriptions_of(txn, product)?;
    let mut without = BTreeSet::new();
    for (subscription, live) in &subscriptions {
        if *live && !without.contains(&subscription.organisation) {
            let certificates = organisation_certificates(&txn.open_table(tables::ORGANISATION_CERTIFICATES)?, &txn.open_table(tables::CERTIFICATES)?, &subscription.organisation)?;
            if certificates.is_empty() {
                without.insert(subscription.organisation.clone());
            }
        }
    }
    if !without.is_empty() {
        return Err(ServiceError::Conflict {
            code: "organisation_has_no_certificate",
            message: format!(
                "Managed mode uses each organisation's certificates, and these organisations with live credentials on this product have none: {}. Link a certificate to each first, so that their credentials keep working.",
                without.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    for (subscription, _) in subscriptions {
        set_certificates(txn, subscription, Vec::new())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
