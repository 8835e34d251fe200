//! The provider's certificate store, and the portal's facade over it (display names and
//! organisation links, kept in their own table: `portal`); the indexes in `indexes`.

mod indexes;
mod listed;
mod portal;
pub(crate) mod search;

use std::collections::BTreeSet;

use base64::Engine;
use certgate_core::pki::{self, CertificateFacts, Encoding};
use certgate_core::UnixSeconds;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

pub use indexes::expiry_key;
pub(crate) use indexes::{index_expiry, index_organisation_certificates, linked_to_organisation, put_record};
use indexes::{read_uses, remove_reference, uses_of};
pub(crate) use listed::fill_missing as fill_listed;
pub(crate) use portal::load_meta;
use portal::put_portal_meta;
pub use search::{days_left, CertificateFilter, CertificateKind, CertificateSearch, CertificateSort, ExpiryBucket, ExpiryOverview, LastSeenMap, UsageFilter, STALE_AFTER_DAYS};

use crate::organisations::OrganisationRecord;
use crate::store::codec::{self, Versioned};
use crate::store::{tables, PublishScope, Store};
use crate::{audit, clock, ServiceError};

/// The provider's record of a certificate: its DER and the facts parsed from it at upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateRecord {
    pub facts: CertificateFacts,
    #[serde(with = "base64_bytes")]
    pub der: Vec<u8>,
    pub added_at: UnixSeconds,
}

impl Versioned for CertificateRecord {
    const VERSION: u8 = 1;
}

/// The portal's own data about a certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificatePortalMeta {
    pub display_name: Option<String>,
    pub organisation_ids: BTreeSet<String>,
}

impl Versioned for CertificatePortalMeta {
    const VERSION: u8 = 1;
}

mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// Something that uses a certificate: an API's allow list or a credential's binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateUse {
    /// `api` or `key`.
    pub kind: String,
    pub id: String,
    /// The API's name, or the key id.
    pub name: String,
}

impl std::fmt::Display for CertificateUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind.as_str() {
            "api" => write!(f, "the allow list of API {} ({})", self.name, self.id),
            "subscription" => write!(f, "the Self-Serve subscription {}", self.id),
            _ => write!(f, "the binding of key {}", self.id),
        }
    }
}

/// A certificate with its portal data and organisations, as listings show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateEntry {
    pub record: CertificateRecord,
    pub meta: CertificatePortalMeta,
    pub organisations: Vec<OrganisationRecord>,
    pub used_by: Vec<CertificateUse>,
}

/// How screens name a certificate: its portal name, or the subject's CN, or the subject.
pub(crate) fn label_of(meta: &CertificatePortalMeta, record: &CertificateRecord) -> String {
    label_of_facts(meta, &record.facts).to_string()
}

fn label_of_facts<'a>(meta: &'a CertificatePortalMeta, facts: &'a CertificateFacts) -> &'a str {
    meta.display_name.as_deref().or(facts.subject_common_name.as_deref()).unwrap_or(&facts.subject)
}

impl CertificateEntry {
    /// The portal name, or the subject's CN, or the subject.
    pub fn label(&self) -> String {
        label_of(&self.meta, &self.record)
    }

    pub fn pem(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.record.der);
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
        format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
    }
}

#[derive(Clone)]
pub struct Certificates {
    store: Store,
}

fn load_record(table: &impl ReadableTable<&'static str, &'static [u8]>, id: &str) -> Result<Option<CertificateRecord>, ServiceError> {
    match table.get(id)? {
        Some(v) => Ok(Some(codec::decode("certificates", id, v.value())?)),
        None => Ok(None),
    }
}

fn load_entry(txn: &redb::ReadTransaction, record: CertificateRecord) -> Result<CertificateEntry, ServiceError> {
    let meta = load_meta(&txn.open_table(tables::CERTIFICATE_PORTAL)?, &record.facts.id)?;
    let orgs = txn.open_table(tables::ORGANISATIONS)?;
    let mut organisations = Vec::new();
    for org_id in &meta.organisation_ids {
        if let Some(v) = orgs.get(org_id.as_str())? {
            organisations.push(codec::decode::<OrganisationRecord>("organisations", org_id, v.value())?);
        }
    }
    organisations.sort_by_key(|o| o.name.to_lowercase());
    let used_by = read_uses(txn, &record.facts.id)?;
    Ok(CertificateEntry { record, meta, organisations, used_by })
}

fn not_found() -> ServiceError {
    ServiceError::NotFound { what: "certificate" }
}

/// Accepts either form of an id: lowercase hex, or colon-grouped (any case).
pub fn normalise_id(id: &str) -> String {
    id.trim().chars().filter(|c| *c != ':').collect::<String>().to_lowercase()
}

impl Certificates {
    pub fn new(store: Store) -> Certificates {
        Certificates { store }
    }

    /// Adds exactly one certificate to the provider store. Expired and not-yet-valid
    /// certificates are accepted (the entry says so); a duplicate is a conflict naming the id.
    pub async fn add(&self, body: &[u8], encoding: Encoding, actor: &str) -> Result<CertificateEntry, ServiceError> {
        let (der, facts) = pki::read_one_certificate(body, encoding).map_err(|e| ServiceError::invalid(e.code(), e.message()))?;
        let record = CertificateRecord { facts, der, added_at: clock::now() };
        let actor = actor.to_string();
        let stored = record.clone();
        self.store
            .write(move |txn| {
                let table = txn.open_table(tables::CERTIFICATES)?;
                let id = stored.facts.id.clone();
                if table.get(id.as_str())?.is_some() {
                    return Err(ServiceError::Conflict {
                        code: "duplicate_certificate",
                        message: format!("This certificate is already in the store with id {id}."),
                    });
                }
                drop(table);
                put_record(txn, &stored)?;
                audit::record(txn, &actor, "certificate.added", &id, stored.facts.subject.clone())?;
                Ok(())
            })
            .await?;
        Ok(CertificateEntry { record, meta: CertificatePortalMeta::default(), organisations: Vec::new(), used_by: Vec::new() })
    }

    pub async fn get(&self, id: &str) -> Result<CertificateEntry, ServiceError> {
        let id = normalise_id(id);
        self.store
            .read(move |txn| {
                let record = load_record(&txn.open_table(tables::CERTIFICATES)?, &id)?.ok_or_else(not_found)?;
                load_entry(txn, record)
            })
            .await
    }

    /// Removes a certificate and its portal data. Refused while an API's allow list or a key's
    /// binding uses it, naming them; with `force`, it is also taken out of those (a bound key
    /// left with no certificate then denies every request), and the audit log says so.
    pub async fn delete(&self, id: &str, force: bool, actor: &str) -> Result<(), ServiceError> {
        let (id, actor) = (normalise_id(id), actor.to_string());
        self.store
            .write_published(PublishScope::Everything, move |txn| {
                let mut table = txn.open_table(tables::CERTIFICATES)?;
                let record = load_record(&table, &id)?.ok_or_else(not_found)?;
                let uses = uses_of(&txn.open_table(tables::CERTIFICATE_USERS)?, &txn.open_table(tables::APIS)?, &id)?;
                if !uses.is_empty() && !force {
                    let list: Vec<String> = uses.iter().map(ToString::to_string).collect();
                    return Err(ServiceError::Conflict {
                        code: "certificate_in_use",
                        message: format!(
                            "The certificate is used by {}. Remove it there first, or delete with ?force=true to take it out of them too.",
                            list.join("; ")
                        ),
                    });
                }
                for used in &uses {
                    remove_reference(txn, used, &id)?;
                }
                table.remove(id.as_str())?;
                drop(table);
                txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?.remove(expiry_key(&record.facts).as_str())?;
                crate::webhooks::events::forget_notices(txn, &id)?;
                put_portal_meta(txn, &id, None)?;
                let mut detail = record.facts.subject;
                if !uses.is_empty() {
                    let list: Vec<String> = uses.iter().map(ToString::to_string).collect();
                    detail = format!("{detail}; forced: removed from {}", list.join("; "));
                }
                audit::record(txn, &actor, "certificate.deleted", &id, detail)?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod search_tests;
#[cfg(test)]
mod tests;
