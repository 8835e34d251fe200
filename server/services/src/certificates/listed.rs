//! What the certificate list filters and sorts on, kept as the value of the expiry order's
//! entry: a few hundred bytes instead of the record with its DER, so a search reads one small
//! table (11,000 certificates: about 4 MB instead of 14). Written with the record and with the
//! portal data; an entry written before it existed (an empty value) is read from the record
//! until `fill_missing` (at open) writes it.

use std::collections::BTreeSet;

use certgate_core::pki::{self, CertificateFacts};
use certgate_core::UnixSeconds;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{expiry_key, load_meta, load_record, CertificatePortalMeta, CertificateRecord};
use crate::store::codec::{self, Versioned};
use crate::store::tables;
use crate::ServiceError;

/// A certificate as the list's filters see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Listed {
    /// From the key.
    #[serde(skip)]
    pub id: String,
    /// From the key.
    #[serde(skip)]
    pub not_after: UnixSeconds,
    pub subject: String,
    pub common_name: Option<String>,
    pub issuer: String,
    pub not_before: UnixSeconds,
    pub is_ca: bool,
    /// Whether the one client-certificate policy admits it at some time inside its validity
    /// (everything but the time: not a CA, the usage, the key, the signature).
    pub usable_in_validity: bool,
    pub added_at: UnixSeconds,
    pub display_name: Option<String>,
    pub organisation_ids: BTreeSet<String>,
}

impl Versioned for Listed {
    const VERSION: u8 = 1;
}

impl Listed {
    pub fn of(facts: &CertificateFacts, added_at: UnixSeconds, meta: &CertificatePortalMeta) -> Listed {
        Listed {
            id: facts.id.clone(),
            not_after: facts.not_after,
            subject: facts.subject.clone(),
            common_name: facts.subject_common_name.clone(),
            issuer: facts.issuer.clone(),
            not_before: facts.not_before,
            is_ca: facts.is_ca,
            usable_in_validity: pki::client_auth_problem(facts, facts.not_before).is_none(),
            added_at,
            display_name: meta.display_name.clone(),
            organisation_ids: meta.organisation_ids.clone(),
        }
    }

    /// The policy's verdict at `now`: the same as `pki::client_auth_problem(..).is_none()`.
    pub fn usable_at(&self, now: UnixSeconds) -> bool {
        self.usable_in_validity && self.not_before <= now && now <= self.not_after
    }

    /// How screens name it: the portal name, or the subject's CN, or the subject.
    pub fn label(&self) -> &str {
        self.display_name.as_deref().or(self.common_name.as_deref()).unwrap_or(&self.subject)
    }

    /// Reads an expiry entry: its value, or (written before values existed) the record and its
    /// portal data. `None`: the record is gone.
    pub fn read(
        key: &str,
        value: &[u8],
        certificates: &impl ReadableTable<&'static str, &'static [u8]>,
        portal: &impl ReadableTable<&'static str, &'static [u8]>,
    ) -> Result<Option<Listed>, ServiceError> {
        let (Some(not_after), Some((_, id))) = (super::indexes::expiry_of_key(key), key.split_once(':')) else { return Ok(None) };
        if value.is_empty() {
            let Some(record) = load_record(certificates, id)? else { return Ok(None) };
            return Ok(Some(Listed::of(&record.facts, record.added_at, &load_meta(portal, id)?)));
        }
        let mut listed: Listed = codec::decode("certificates_by_expiry", key, value)?;
        listed.id = id.to_string();
        listed.not_after = not_after;
        Ok(Some(listed))
    }
}

/// Writes a certificate's expiry entry with its portal data.
pub(crate) fn put(txn: &redb::WriteTransaction, record: &CertificateRecord, meta: &CertificatePortalMeta) -> Result<(), ServiceError> {
    let listed = Listed::of(&record.facts, record.added_at, meta);
    txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?.insert(expiry_key(&record.facts).as_str(), codec::encode(&listed)?.as_slice())?;
    Ok(())
}

/// Rewrites the expiry entry of a certificate whose portal data changed (if it still exists).
pub(crate) fn refresh(txn: &redb::WriteTransaction, id: &str, meta: &CertificatePortalMeta) -> Result<(), ServiceError> {
    let record = load_record(&txn.open_table(tables::CERTIFICATES)?, id)?;
    match record {
        Some(record) => put(txn, &record, meta),
        None => Ok(()),
    }
}

/// Writes the entries of a store written before they held values (or by a tool writing the
/// tables directly): a scan of the small index when nothing is missing.
pub(crate) fn fill_missing(txn: &redb::WriteTransaction) -> Result<usize, ServiceError> {
    let mut missing = Vec::new();
    for item in txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?.iter()? {
        let (k, v) = item?;
        if v.value().is_empty() {
            if let Some((_, id)) = k.value().split_once(':') {
                missing.push(id.to_string());
            }
        }
    }
    for id in &missing {
        let meta = load_meta(&txn.open_table(tables::CERTIFICATE_PORTAL)?, id)?;
        refresh(txn, id, &meta)?;
    }
    Ok(missing.len())
}
