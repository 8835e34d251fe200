//! The portal's facade over the certificate store: display names and organisation links,
//! kept in their own table with the organisation index, and the rule that a CA certificate
//! belongs to one organisation at most.

use std::collections::BTreeSet;

use certgate_core::pki::CertificateFacts;
use redb::ReadableTable;

use super::{load_record, normalise_id, not_found, CertificateEntry, CertificatePortalMeta, Certificates};
use crate::store::codec;
use crate::store::{tables, ChangePreview};
use crate::{audit, ServiceError};

impl Certificates {
    /// Sets (or with an empty name, clears) the portal-only display name.
    pub async fn set_display_name(&self, id: &str, name: &str, actor: &str) -> Result<CertificateEntry, ServiceError> {
        let display_name = checked_display_name(name)?;
        self.update_meta(id, actor, "certificate.renamed", move |_, _, meta| {
            meta.display_name = display_name.clone();
            Ok(format!("display name {:?}", display_name))
        })
        .await
    }

    /// Links the certificate to an organisation (idempotent). A CA certificate already linked
    /// to another organisation is refused (409 `ca_linked_elsewhere`).
    pub async fn link_organisation(&self, id: &str, organisation_id: &str, actor: &str) -> Result<CertificateEntry, ServiceError> {
        let org = organisation_id.to_string();
        self.update_meta(id, actor, "certificate.linked", move |txn, facts, meta| {
            if txn.open_table(tables::ORGANISATIONS)?.get(org.as_str())?.is_none() {
                return Err(ServiceError::NotFound { what: "organisation" });
            }
            let mut linked = meta.organisation_ids.clone();
            linked.insert(org.clone());
            check_ca_links(txn, facts, &linked)?;
            meta.organisation_ids = linked;
            Ok(format!("organisation {org}"))
        })
        .await
    }

    /// Unlinks the certificate from an organisation (idempotent).
    pub async fn unlink_organisation(&self, id: &str, organisation_id: &str, actor: &str) -> Result<CertificateEntry, ServiceError> {
        let org = organisation_id.to_string();
        self.update_meta(id, actor, "certificate.unlinked", move |_, _, meta| {
            meta.organisation_ids.remove(&org);
            Ok(format!("organisation {org}"))
        })
        .await
    }

    /// The portal facade in one write and one audit entry: sets the display name (when given;
    /// empty clears it) and replaces the organisation links (when given). An organisation that
    /// does not exist is bad input (400 `unknown_organisation`, the certificate being the resource
    /// addressed), and a refusal changes nothing.
    pub async fn update_portal(
        &self,
        id: &str,
        name: Option<&str>,
        organisation_ids: Option<Vec<String>>,
        actor: &str,
    ) -> Result<CertificateEntry, ServiceError> {
        Ok(self.update_portal_previewed(id, name, organisation_ids, actor, false).await?.0)
    }

    /// [`Certificates::update_portal`], answering what the change does to credentials and
    /// allow lists too. With `dry_run` nothing is written: the entry is the current one and
    /// the preview says what the change would do.
    pub async fn update_portal_previewed(
        &self,
        id: &str,
        name: Option<&str>,
        organisation_ids: Option<Vec<String>>,
        actor: &str,
        dry_run: bool,
    ) -> Result<(CertificateEntry, ChangePreview), ServiceError> {
        let display_name = name.map(checked_display_name).transpose()?;
        let organisations: Option<BTreeSet<String>> =
            organisation_ids.map(|ids| ids.iter().map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect());
        self.update_meta_previewed(id, actor, "certificate.portal_updated", dry_run, move |txn, facts, meta| {
            let mut detail = Vec::new();
            if let Some(display_name) = display_name {
                detail.push(format!("display name {display_name:?}"));
                meta.display_name = display_name;
            }
            if let Some(organisations) = organisations {
                let table = txn.open_table(tables::ORGANISATIONS)?;
                for org in &organisations {
                    if table.get(org.as_str())?.is_none() {
                        return Err(ServiceError::invalid("unknown_organisation", format!("Organisation {org} does not exist.")));
                    }
                }
                check_ca_links(txn, facts, &organisations)?;
                detail.push(format!("organisations [{}]", organisations.iter().cloned().collect::<Vec<_>>().join(", ")));
                meta.organisation_ids = organisations;
            }
            Ok(if detail.is_empty() { "no change".to_string() } else { detail.join("; ") })
        })
        .await
    }

    async fn update_meta(
        &self,
        id: &str,
        actor: &str,
        action: &'static str,
        change: impl FnOnce(&redb::WriteTransaction, &CertificateFacts, &mut CertificatePortalMeta) -> Result<String, ServiceError> + Send + 'static,
    ) -> Result<CertificateEntry, ServiceError> {
        Ok(self.update_meta_previewed(id, actor, action, false, change).await?.0)
    }

    async fn update_meta_previewed(
        &self,
        id: &str,
        actor: &str,
        action: &'static str,
        dry_run: bool,
        change: impl FnOnce(&redb::WriteTransaction, &CertificateFacts, &mut CertificatePortalMeta) -> Result<String, ServiceError> + Send + 'static,
    ) -> Result<(CertificateEntry, ChangePreview), ServiceError> {
        let (id, actor) = (normalise_id(id), actor.to_string());
        let lookup = id.clone();
        let write = move |txn: &redb::WriteTransaction| {
            let record = load_record(&txn.open_table(tables::CERTIFICATES)?, &id)?.ok_or_else(not_found)?;
            let mut meta = load_meta(&txn.open_table(tables::CERTIFICATE_PORTAL)?, &id)?;
            let linked_before = meta.organisation_ids.clone();
            let detail = change(txn, &record.facts, &mut meta)?;
            put_portal_meta(txn, &id, Some(&meta))?;
            // Linking or unlinking one organisation concerns it: the log filters on it.
            let changed: Vec<&String> = linked_before.symmetric_difference(&meta.organisation_ids).collect();
            let organisation = match changed.as_slice() {
                [one] => Some(one.as_str()),
                _ => None,
            };
            audit::record_in(txn, &actor, action, &id, detail, organisation)?;
            Ok(())
        };
        // Organisation links decide Managed credentials' certificates: the gateway follows.
        let ((), preview) = if dry_run { self.store.dry_run(write).await? } else { self.store.write_previewed(write).await? };
        Ok((self.get(&lookup).await?, preview))
    }
}

const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// A CA certificate covers every leaf it issues: linked to two organisations, each would get
/// the other's leaves (and with binding, tokens of one would work with the other's
/// certificates). So a CA belongs to at most one organisation, counting the Self-Serve
/// subscriptions that hold it (a Managed product switched to Self-Serve keeps it there);
/// leaves may be shared. The message names the organisations: only the admin reaches this.
fn check_ca_links(txn: &redb::WriteTransaction, facts: &CertificateFacts, organisations: &BTreeSet<String>) -> Result<(), ServiceError> {
    if !facts.is_ca {
        return Ok(());
    }
    let mut holders = organisations.clone();
    let subscriptions = txn.open_table(tables::SUBSCRIPTIONS)?;
    for holder in crate::references::holders(&txn.open_table(tables::CERTIFICATE_USERS)?, &facts.id)? {
        let Some(id) = holder.strip_prefix("sub:") else { continue };
        if let Some(v) = subscriptions.get(id)? {
            holders.insert(codec::decode::<crate::portal::requests::SubscriptionRecord>("subscriptions", id, v.value())?.organisation);
        }
    }
    if holders.len() <= 1 {
        return Ok(());
    }
    Err(ServiceError::Conflict {
        code: "ca_linked_elsewhere",
        message: format!(
            "A CA certificate covers every certificate it issues, so it may belong to one organisation only (it would belong to {}). Unlink it first, or link leaf certificates instead.",
            holders.into_iter().collect::<Vec<_>>().join(", ")
        ),
    })
}

/// A display name as stored: trimmed, `None` when empty; too long or with control characters
/// is refused.
fn checked_display_name(name: &str) -> Result<Option<String>, ServiceError> {
    let name = name.trim().to_string();
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "invalid_name",
            format!("The name must have at most {MAX_DISPLAY_NAME_CHARS} characters and no control characters."),
        ));
    }
    Ok((!name.is_empty()).then_some(name))
}

/// Writes a certificate's portal data (or removes it with `None`): the organisation index
/// follows, and each organisation that gains or loses the certificate is touched (its Managed
/// credentials' certificates change).
pub(super) fn put_portal_meta(txn: &redb::WriteTransaction, id: &str, meta: Option<&CertificatePortalMeta>) -> Result<(), ServiceError> {
    let mut table = txn.open_table(tables::CERTIFICATE_PORTAL)?;
    let old = load_meta(&table, id)?;
    match meta {
        Some(meta) => table.insert(id, codec::encode(meta)?.as_slice())?,
        None => table.remove(id)?,
    };
    drop(table);
    let new = meta.map(|m| m.organisation_ids.clone()).unwrap_or_default();
    for left in old.organisation_ids.difference(&new) {
        crate::references::remove(txn, tables::ORGANISATION_CERTIFICATES, std::slice::from_ref(left), id)?;
        crate::store::changes::touched(txn, crate::store::Touched::Organisation(left));
    }
    for joined in new.difference(&old.organisation_ids) {
        crate::references::add(txn, tables::ORGANISATION_CERTIFICATES, std::slice::from_ref(joined), id)?;
        crate::store::changes::touched(txn, crate::store::Touched::Organisation(joined));
    }
    // The list filters on the name and the organisations: its entry follows.
    if let Some(meta) = meta {
        super::listed::refresh(txn, id, meta)?;
    }
    Ok(())
}

pub(crate) fn load_meta(table: &impl ReadableTable<&'static str, &'static [u8]>, id: &str) -> Result<CertificatePortalMeta, ServiceError> {
    match table.get(id)? {
        Some(v) => Ok(codec::decode("certificate_portal", id, v.value())?),
        None => Ok(CertificatePortalMeta::default()),
    }
}
