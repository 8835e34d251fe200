//! The provider's certificate store, and the portal's facade over it (display names and
//! organisation links, kept in their own table).

use std::collections::BTreeSet;

use base64::Engine;
use certgate_core::pki::{self, CertificateFacts, Encoding};
use certgate_core::UnixSeconds;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use crate::organisations::OrganisationRecord;
use crate::store::codec::{self, Versioned};
use crate::store::{tables, ChangePreview, PublishScope, Store};
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

impl CertificateEntry {
    /// The portal name, or the subject's CN, or the subject.
    pub fn label(&self) -> String {
        self.meta
            .display_name
            .clone()
            .or_else(|| self.record.facts.subject_common_name.clone())
            .unwrap_or_else(|| self.record.facts.subject.clone())
    }

    pub fn pem(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.record.der);
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
        format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
    }
}

/// CA or leaf, for filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateKind {
    Ca,
    Leaf,
}

/// Listing filters; all optional, combined with AND.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CertificateFilter {
    pub organisation: Option<String>,
    /// Expiring within this many days from now (already expired ones included).
    pub expiring_within_days: Option<i64>,
    pub kind: Option<CertificateKind>,
    /// Case-insensitive text over subject, issuer, portal name and fingerprint (hex or colon form).
    pub q: Option<String>,
}

impl CertificateFilter {
    /// Whether an entry passes the filter at `now`. Pure.
    pub fn matches(&self, entry: &CertificateEntry, now: UnixSeconds) -> bool {
        let facts = &entry.record.facts;
        if let Some(org) = &self.organisation {
            if !entry.meta.organisation_ids.contains(org) {
                return false;
            }
        }
        if let Some(days) = self.expiring_within_days {
            if facts.not_after > now.saturating_add(days.saturating_mul(86_400)) {
                return false;
            }
        }
        match self.kind {
            Some(CertificateKind::Ca) if !facts.is_ca => return false,
            Some(CertificateKind::Leaf) if facts.is_ca => return false,
            _ => {}
        }
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let q = q.to_lowercase();
            let hex_q: String = q.chars().filter(|c| *c != ':').collect();
            let text_hit = [facts.subject.as_str(), facts.issuer.as_str(), entry.meta.display_name.as_deref().unwrap_or("")]
                .iter()
                .any(|field| field.to_lowercase().contains(&q));
            let fingerprint_hit = !hex_q.is_empty() && facts.id.contains(&hex_q);
            if !text_hit && !fingerprint_hit {
                return false;
            }
        }
        true
    }
}

const MAX_DISPLAY_NAME_CHARS: usize = 100;

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

fn load_meta(table: &impl ReadableTable<&'static str, &'static [u8]>, id: &str) -> Result<CertificatePortalMeta, ServiceError> {
    match table.get(id)? {
        Some(v) => Ok(codec::decode("certificate_portal", id, v.value())?),
        None => Ok(CertificatePortalMeta::default()),
    }
}

/// What uses one certificate, from the "used by" index (a prefix scan), with API names read
/// from their records.
fn uses_of(
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

fn read_uses(txn: &redb::ReadTransaction, id: &str) -> Result<Vec<CertificateUse>, ServiceError> {
    uses_of(&txn.open_table(tables::CERTIFICATE_USERS)?, &txn.open_table(tables::APIS)?, id)
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

    /// Every certificate passing `filter`, soonest expiry first.
    pub async fn list(&self, filter: CertificateFilter) -> Result<Vec<CertificateEntry>, ServiceError> {
        Ok(self.page(filter, None, usize::MAX).await?.0)
    }

    /// Up to `limit` certificates passing `filter`, soonest expiry first, after the expiry key
    /// `after` ([`expiry_key`] of the last one of the previous page); and whether more follow.
    /// Read from the expiry order only until the page is full.
    pub async fn page(&self, filter: CertificateFilter, after: Option<String>, limit: usize) -> Result<(Vec<CertificateEntry>, bool), ServiceError> {
        let now = clock::now();
        self.store
            .read(move |txn| {
                let table = txn.open_table(tables::CERTIFICATES)?;
                let (mut out, mut more) = (Vec::new(), false);
                // '\u{1}' sorts right after the key: the page starts after it.
                let from = after.map(|a| format!("{a}\u{1}")).unwrap_or_default();
                for item in txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?.range(from.as_str()..)? {
                    let (k, _) = item?;
                    let Some((_, id)) = k.value().split_once(':') else { continue };
                    let Some(record) = load_record(&table, id)? else { continue };
                    let entry = load_entry(txn, record)?;
                    if !filter.matches(&entry, now) {
                        continue;
                    }
                    if out.len() >= limit {
                        more = true;
                        break;
                    }
                    out.push(entry);
                }
                Ok((out, more))
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

/// Takes a certificate id out of an API's allow list, a key's binding or a Self-Serve
/// subscription (forced deletion).
fn remove_reference(txn: &redb::WriteTransaction, used: &CertificateUse, certificate_id: &str) -> Result<(), ServiceError> {
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
    format!("{:020}:{}", (facts.not_after as u64) ^ (1 << 63), facts.id)
}

/// Stores a certificate in the provider store, with its place in the expiry order.
pub(crate) fn put_record(txn: &redb::WriteTransaction, record: &CertificateRecord) -> Result<(), ServiceError> {
    txn.open_table(tables::CERTIFICATES)?.insert(record.facts.id.as_str(), codec::encode(record)?.as_slice())?;
    txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?.insert(expiry_key(&record.facts).as_str(), &[][..])?;
    Ok(())
}

/// Builds the expiry order of a store written before it existed (schema 4).
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

/// Writes a certificate's portal data (or removes it with `None`): the organisation index
/// follows, and each organisation that gains or loses the certificate is touched (its Managed
/// credentials' certificates change).
fn put_portal_meta(txn: &redb::WriteTransaction, id: &str, meta: Option<&CertificatePortalMeta>) -> Result<(), ServiceError> {
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
    Ok(())
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

#[cfg(test)]
mod tests;
