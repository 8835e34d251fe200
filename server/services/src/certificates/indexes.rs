//! The certificates' indexes: the expiry order the store pages by, the organisation index,
//! and the "used by" references (API allow lists, key bindings, Self-Serve subscriptions),
//! read for an entry and undone by a forced deletion.

use certgate_core::pki::CertificateFacts;
use certgate_core::UnixSeconds;
use redb::ReadableTable;

use super::{CertificatePortalMeta, CertificateRecord, CertificateUse};
use crate::store::{codec, tables};
use crate::ServiceError;

/// What uses one certificate, from the "used by" index (a prefix scan), with API names read
/// from their records.
pub(super) fn uses_of(
    users: &impl ReadableTable<&'static str, &'static [u8]>,
    apis: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<Vec<CertificateUse>, ServiceError> {
    let mut uses = Vec::new();
    for holder in crate::references::holders(users, id)? {
        match holder.split_once(':') {
            Some(("api", api_id)) => {
                let name = crate::apis::load(apis, api_id)?.map(|a| a.spec.name).unwrap_or_default();
                uses.push(CertificateUse { kind: "api".into(), id: api_id.to_string(), name });
            }
            Some(("key", key_id)) => uses.push(CertificateUse { kind: "key".into(), id: key_id.to_string(), name: key_id.to_string() }),
            Some(("sub", subscription)) => {
                uses.push(CertificateUse { kind: "subscription".into(), id: subscription.to_string(), name: subscription.to_string() })
            }
            _ => {}
        }
    }
    Ok(uses)
}

pub(super) fn read_uses(txn: &redb::ReadTransaction, id: &str) -> Result<Vec<CertificateUse>, ServiceError> {
    uses_of(&txn.open_table(tables::CERTIFICATE_USERS)?, &txn.open_table(tables::APIS)?, id)
}

/// Takes a certificate id out of an API's allow list, a key's binding or a Self-Serve
/// subscription (forced deletion).
pub(super) fn remove_reference(txn: &redb::WriteTransaction, used: &CertificateUse, certificate_id: &str) -> Result<(), ServiceError> {
    match used.kind.as_str() {
        "api" => {
            let mut apis = txn.open_table(tables::APIS)?;
            if let Some(mut api) = crate::apis::load(&apis, &used.id)? {
                api.spec.mtls.allowed_certificates.retain(|c| c != certificate_id);
                if !api.spec.certificate_ids().any(|c| c == certificate_id) {
                    crate::references::remove(txn, tables::CERTIFICATE_USERS, &[certificate_id.to_string()], &format!("api:{}", api.id))?;
                }
                // An `upstream_ca` or `upstream_pin` naming it stays: the API then fails closed
                // (502) until its owner sets another, rather than falling back to the
                // system's roots, which would trust far more than the pinned certificate.
                apis.insert(api.id.as_str(), codec::encode(&api)?.as_slice())?;
            }
        }
        "subscription" => {
            // A Self-Serve subscription's own certificate: it leaves the subscription (and with
            // it the allow lists and the binding; a bound credential left with none denies).
            let found = match txn.open_table(tables::SUBSCRIPTIONS)?.get(used.id.as_str())? {
                Some(v) => Some(codec::decode::<crate::portal::requests::SubscriptionRecord>("subscriptions", &used.id, v.value())?),
                None => None,
            };
            if let Some(mut subscription) = found {
                subscription.certificates.retain(|c| c.id != certificate_id);
                crate::portal::records::put_subscription(txn, &subscription)?;
            }
            crate::references::remove(txn, tables::CERTIFICATE_USERS, &[certificate_id.to_string()], &format!("sub:{}", used.id))?;
        }
        _ => {
            let mut keys = txn.open_table(tables::KEYS)?;
            let found = match keys.get(used.id.as_str())? {
                Some(v) => Some(codec::decode::<crate::keys::KeyRecord>("keys", &used.id, v.value())?),
                None => None,
            };
            if let Some(mut key) = found {
                if let Some(bound) = key.spec.bound_certificates.as_mut() {
                    // The binding stays (now possibly empty, which denies): never "no check".
                    bound.retain(|c| c != certificate_id);
                }
                crate::references::remove(txn, tables::CERTIFICATE_USERS, &[certificate_id.to_string()], &format!("key:{}", key.id))?;
                keys.insert(key.id.as_str(), codec::encode(&key)?.as_slice())?;
            }
        }
    }
    Ok(())
}

/// A certificate's place in the expiry order: the sign bit flipped, so that negative times
/// (before 1970) sort before positive ones as text.
pub fn expiry_key(facts: &CertificateFacts) -> String {
    expiry_key_of(facts.not_after, &facts.id)
}

pub(super) fn expiry_key_of(not_after: UnixSeconds, id: &str) -> String {
    format!("{:020}:{id}", (not_after as u64) ^ (1 << 63))
}

/// The expiry time an expiry key holds ([`expiry_key`] undone).
pub(super) fn expiry_of_key(key: &str) -> Option<UnixSeconds> {
    let flipped: u64 = key.get(..20)?.parse().ok()?;
    Some((flipped ^ (1 << 63)) as UnixSeconds)
}

/// Stores a certificate in the provider store, with its place in the expiry order.
pub(crate) fn put_record(txn: &redb::WriteTransaction, record: &CertificateRecord) -> Result<(), ServiceError> {
    txn.open_table(tables::CERTIFICATES)?.insert(record.facts.id.as_str(), codec::encode(record)?.as_slice())?;
    let meta = super::load_meta(&txn.open_table(tables::CERTIFICATE_PORTAL)?, &record.facts.id)?;
    super::listed::put(txn, record, &meta)
}

/// Builds the expiry order of a store written before it existed (schema 4); the entries' values
/// are written by `listed::fill_missing` at open.
pub(crate) fn index_expiry(txn: &redb::WriteTransaction) -> Result<(), ServiceError> {
    let mut keys = Vec::new();
    for item in txn.open_table(tables::CERTIFICATES)?.iter()? {
        let (k, v) = item?;
        keys.push(expiry_key(&codec::decode::<CertificateRecord>("certificates", k.value(), v.value())?.facts));
    }
    let mut index = txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?;
    for key in keys {
        index.insert(key.as_str(), &[][..])?;
    }
    Ok(())
}

/// Ids of certificates linked to an organisation (organisation deletion refuses while any are).
pub(crate) fn linked_to_organisation(
    index: &impl ReadableTable<&'static str, &'static [u8]>,
    organisation_id: &str,
) -> Result<Vec<String>, ServiceError> {
    crate::references::holders(index, organisation_id)
}

/// Builds the organisation index of a store written before it existed (schema 4).
pub(crate) fn index_organisation_certificates(txn: &redb::WriteTransaction) -> Result<(), ServiceError> {
    let mut links = Vec::new();
    for item in txn.open_table(tables::CERTIFICATE_PORTAL)?.iter()? {
        let (k, v) = item?;
        let meta: CertificatePortalMeta = codec::decode("certificate_portal", k.value(), v.value())?;
        links.push((k.value().to_string(), meta.organisation_ids));
    }
    for (id, organisations) in links {
        let organisations: Vec<String> = organisations.into_iter().collect();
        for organisation in organisations {
            crate::references::add(txn, tables::ORGANISATION_CERTIFICATES, std::slice::from_ref(&organisation), &id)?;
        }
    }
    Ok(())
}
