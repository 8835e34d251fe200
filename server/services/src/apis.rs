//! The provider's API definitions. Every change is published to the gateway before it is
//! acknowledged (`Store::write_published`).

use certgate_core::gateway::spec::{ApiSpec, AuthKind, SpecError};
use certgate_core::UnixSeconds;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use crate::keys::KeyRecord;
use crate::store::codec::{self, Versioned};
use crate::store::{tables, PublishScope, Store};
use crate::{audit, clock, ids, ServiceError};

/// A stored API definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiRecord {
    pub id: String,
    #[serde(flatten)]
    pub spec: ApiSpec,
    pub created_at: UnixSeconds,
    pub updated_at: UnixSeconds,
}

impl Versioned for ApiRecord {
    const VERSION: u8 = 1;
}

impl From<SpecError> for ServiceError {
    fn from(e: SpecError) -> Self {
        ServiceError::Invalid { code: e.code, message: e.message }
    }
}

#[derive(Clone)]
pub struct Apis {
    store: Store,
}

fn not_found() -> ServiceError {
    ServiceError::NotFound { what: "API" }
}

pub(crate) fn load(table: &impl ReadableTable<&'static str, &'static [u8]>, id: &str) -> Result<Option<ApiRecord>, ServiceError> {
    match table.get(id)? {
        Some(v) => Ok(Some(codec::decode("apis", id, v.value())?)),
        None => Ok(None),
    }
}

/// Every stored API definition.
pub(crate) fn all(table: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<Vec<ApiRecord>, ServiceError> {
    let mut out = Vec::new();
    for item in table.iter()? {
        let (k, v) = item?;
        out.push(codec::decode::<ApiRecord>("apis", k.value(), v.value())?);
    }
    Ok(out)
}

/// Refuses certificate ids that are not in the provider store.
pub(crate) fn require_certificates(txn: &redb::WriteTransaction, ids: &[String]) -> Result<(), ServiceError> {
    let certificates = txn.open_table(tables::CERTIFICATES)?;
    for id in ids {
        if certificates.get(id.as_str())?.is_none() {
            return Err(ServiceError::invalid(
                "unknown_certificate",
                format!("Certificate {id} is not in the certificate store: upload it first."),
            ));
        }
    }
    Ok(())
}

/// The upstream's trust settings name certificates fit for them: `upstream_ca` a CA that can
/// sign certificates (a client leaf there would make every certificate its key signs a valid
/// upstream), `upstream_pin` a certificate that can identify a server.
fn require_upstream_trust(txn: &redb::WriteTransaction, spec: &ApiSpec) -> Result<(), ServiceError> {
    let certificates = txn.open_table(tables::CERTIFICATES)?;
    let facts_of = |id: &str| -> Result<Option<certgate_core::pki::CertificateFacts>, ServiceError> {
        let Some(value) = certificates.get(id)? else { return Ok(None) };
        let record: crate::certificates::CertificateRecord = codec::decode("certificates", id, value.value())?;
        // Parsed again from the DER: facts stored by older builds may lack keyUsage.
        Ok(certgate_core::pki::parse_der(&record.der).ok())
    };
    if let Some(id) = &spec.upstream_ca {
        if !facts_of(id)?.is_some_and(|f| certgate_core::pki::can_sign_certificates(&f)) {
            return Err(ServiceError::invalid(
                "upstream_ca_not_ca",
                format!(
                    "Certificate {id} is not a CA certificate (CA:TRUE, with keyCertSign if it has a key usage): it cannot vouch for the upstream. \
                     For an upstream with a self-signed certificate, set upstream_pin to that certificate instead."
                ),
            ));
        }
    }
    if let Some(id) = &spec.upstream_pin {
        if !facts_of(id)?.is_some_and(|f| certgate_core::pki::can_identify_server(&f)) {
            return Err(ServiceError::invalid(
                "upstream_pin_not_server",
                format!("Certificate {id} cannot identify a server (its extended key usage excludes serverAuth): pin the upstream's own certificate."),
            ));
        }
    }
    Ok(())
}

impl Apis {
    pub fn new(store: Store) -> Apis {
        Apis { store }
    }

    pub async fn create(&self, spec: ApiSpec, actor: &str) -> Result<ApiRecord, ServiceError> {
        let spec = spec.normalise()?;
        let now = clock::now();
        let record = ApiRecord { id: ids::new_id("api"), spec, created_at: now, updated_at: now };
        let (stored, actor) = (record.clone(), actor.to_string());
        self.store
            .write_published(PublishScope::Touched, move |txn| {
                crate::store::changes::touched(txn, crate::store::Touched::Apis);
                claim_listen_path(txn, &stored.spec.listen_path, &stored.id)?;
                require_certificates(txn, &stored.spec.certificate_ids().cloned().collect::<Vec<_>>())?;
                require_upstream_trust(txn, &stored.spec)?;
                certificate_users(txn, &[], &stored.spec, &stored.id)?;
                txn.open_table(tables::APIS)?.insert(stored.id.as_str(), codec::encode(&stored)?.as_slice())?;
                audit::record(txn, &actor, "api.created", &stored.id, format!("{} at {}", stored.spec.name, stored.spec.listen_path))?;
                Ok(())
            })
            .await?;
        Ok(record)
    }

    pub async fn get(&self, id: &str) -> Result<ApiRecord, ServiceError> {
        let id = id.to_string();
        self.store.read(move |txn| load(&txn.open_table(tables::APIS)?, &id)?.ok_or_else(not_found)).await
    }

    /// Every API, by listen path.
    pub async fn list(&self) -> Result<Vec<ApiRecord>, ServiceError> {
        let mut apis = self.store.read(|txn| all(&txn.open_table(tables::APIS)?)).await?;
        apis.sort_by(|a, b| a.spec.listen_path.cmp(&b.spec.listen_path));
        Ok(apis)
    }

    /// Replaces an API's definition. A JWT HMAC secret left out is kept (it is never shown, so
    /// an edit form cannot send it back).
    pub async fn update(&self, id: &str, spec: ApiSpec, actor: &str) -> Result<ApiRecord, ServiceError> {
        self.modify(id, actor, "api.updated", move |current| {
            *current = keep_hmac_secret(spec, current);
            Ok(())
        })
        .await
    }

    /// Changes an API's definition with `change`, then checks it like a new one.
    pub async fn modify(
        &self,
        id: &str,
        actor: &str,
        action: &'static str,
        change: impl FnOnce(&mut ApiSpec) -> Result<(), ServiceError> + Send + 'static,
    ) -> Result<ApiRecord, ServiceError> {
        let (id, actor) = (id.to_string(), actor.to_string());
        self.store
            .write_published(PublishScope::Touched, move |txn| {
                // The snapshot changes, and so may the grants of the products containing it.
                crate::store::changes::touched(txn, crate::store::Touched::Apis);
                for product in crate::products::products_of_api(txn, &id)? {
                    crate::store::changes::touched(txn, crate::store::Touched::Product(&product));
                }
                // The table is opened for writing only after the checks, which read it too.
                let old = load(&txn.open_table(tables::APIS)?, &id)?.ok_or_else(not_found)?;
                let mut spec = old.spec.clone();
                change(&mut spec)?;
                let spec = spec.normalise()?;
                if (spec.auth, spec.mtls.required) != (old.spec.auth, old.spec.mtls.required) {
                    crate::products::check_api_change(txn, &id, spec.auth, spec.mtls.required)?;
                }
                if spec.listen_path != old.spec.listen_path {
                    claim_listen_path(txn, &spec.listen_path, &id)?;
                    txn.open_table(tables::APIS_BY_PATH)?.remove(old.spec.listen_path.as_str())?;
                }
                require_certificates(txn, &spec.certificate_ids().cloned().collect::<Vec<_>>())?;
                require_upstream_trust(txn, &spec)?;
                certificate_users(txn, &old.spec.certificate_ids().cloned().collect::<Vec<_>>(), &spec, &id)?;
                let record = ApiRecord { id: id.clone(), spec, created_at: old.created_at, updated_at: clock::now() };
                txn.open_table(tables::APIS)?.insert(id.as_str(), codec::encode(&record)?.as_slice())?;
                audit::record(txn, &actor, action, &id, record.spec.name.clone())?;
                Ok(record)
            })
            .await
    }

    /// Deletes an API; credentials that granted it no longer do.
    pub async fn delete(&self, id: &str, actor: &str) -> Result<(), ServiceError> {
        let (id, actor) = (id.to_string(), actor.to_string());
        // Keys that granted the API change too.
        self.store
            .write_published(PublishScope::Everything, move |txn| {
                let mut table = txn.open_table(tables::APIS)?;
                let old = load(&table, &id)?.ok_or_else(not_found)?;
                let products = crate::products::products_of_api(txn, &id)?;
                if !products.is_empty() {
                    return Err(ServiceError::Conflict {
                        code: "api_in_product",
                        message: format!("The API is in products {}: take it out of them first.", products.join(", ")),
                    });
                }
                table.remove(id.as_str())?;
                txn.open_table(tables::APIS_BY_PATH)?.remove(old.spec.listen_path.as_str())?;
                let old_ids: Vec<String> = old.spec.certificate_ids().cloned().collect();
                crate::references::remove(txn, tables::CERTIFICATE_USERS, &old_ids, &format!("api:{id}"))?;
                let mut keys = txn.open_table(tables::KEYS)?;
                let mut changed: Vec<KeyRecord> = Vec::new();
                for item in keys.iter()? {
                    let (k, v) = item?;
                    let key: KeyRecord = codec::decode("keys", k.value(), v.value())?;
                    if key.spec.apis.contains(&id) {
                        changed.push(key);
                    }
                }
                for mut key in changed {
                    key.spec.apis.retain(|a| a != &id);
                    keys.insert(key.id.as_str(), codec::encode(&key)?.as_slice())?;
                }
                audit::record(txn, &actor, "api.deleted", &id, old.spec.name)?;
                Ok(())
            })
            .await
    }
}

/// Keeps the "used by" index of certificates in step with an API's references.
fn certificate_users(txn: &redb::WriteTransaction, old_ids: &[String], spec: &ApiSpec, id: &str) -> Result<(), ServiceError> {
    let holder = format!("api:{id}");
    crate::references::remove(txn, tables::CERTIFICATE_USERS, old_ids, &holder)?;
    crate::references::add(txn, tables::CERTIFICATE_USERS, &spec.certificate_ids().cloned().collect::<Vec<_>>(), &holder)
}

fn keep_hmac_secret(mut spec: ApiSpec, old: &ApiSpec) -> ApiSpec {
    if let (AuthKind::Jwt, Some(new_jwt), Some(old_jwt)) = (spec.auth, spec.jwt.as_mut(), old.jwt.as_ref()) {
        let key = &mut new_jwt.key;
        if key.hmac_secret.is_none() && key.public_key_pem.is_none() && key.jwks.is_none() {
            key.hmac_secret = old_jwt.key.hmac_secret.clone();
        }
    }
    spec
}

fn claim_listen_path(txn: &redb::WriteTransaction, listen_path: &str, id: &str) -> Result<(), ServiceError> {
    let mut paths = txn.open_table(tables::APIS_BY_PATH)?;
    if let Some(holder) = paths.get(listen_path)? {
        let holder = holder.value().to_string();
        if holder != id {
            return Err(ServiceError::Conflict {
                code: "listen_path_taken",
                message: format!("The listen path {listen_path} is already used by API {holder}."),
            });
        }
    }
    paths.insert(listen_path, id)?;
    Ok(())
}
