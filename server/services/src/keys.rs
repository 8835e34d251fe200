//! Credentials: Auth Tokens. The token is shown once, at creation; only its SHA-256 is stored.

use base64::Engine;
use certgate_core::gateway::spec::KeySpec;
use certgate_core::gateway::{token_hash, TOKEN_PREFIX};
use certgate_core::UnixSeconds;
use rand::RngCore;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use crate::apis::require_certificates;
use crate::store::codec::{self, Versioned};
use crate::store::{tables, PublishScope, Store};
use crate::{audit, clock, ids, ServiceError};

/// A stored credential. There is no token in it, only the token's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub id: String,
    pub token_sha256: String,
    #[serde(flatten)]
    pub spec: KeySpec,
    pub created_at: UnixSeconds,
}

impl Versioned for KeyRecord {
    const VERSION: u8 = 1;
}

/// A credential just created, with its token (never stored, never shown again).
pub struct NewKey {
    pub record: KeyRecord,
    pub token: String,
}

/// A new token: the recognisable prefix and 256 random bits in base64url.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[derive(Clone)]
pub struct Keys {
    store: Store,
}

fn not_found() -> ServiceError {
    ServiceError::NotFound { what: "key" }
}

pub(crate) fn all(table: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<Vec<KeyRecord>, ServiceError> {
    let mut out = Vec::new();
    for item in table.iter()? {
        let (k, v) = item?;
        out.push(codec::decode::<KeyRecord>("keys", k.value(), v.value())?);
    }
    Ok(out)
}

impl Keys {
    pub fn new(store: Store) -> Keys {
        Keys { store }
    }

    pub async fn create(&self, spec: KeySpec, actor: &str) -> Result<NewKey, ServiceError> {
        let spec = spec.normalise(clock::now())?;
        let token = new_token();
        let record = KeyRecord { id: ids::new_id("key"), token_sha256: token_hash(&token), spec, created_at: clock::now() };
        let (stored, actor) = (record.clone(), actor.to_string());
        self.store
            .write_published(PublishScope::Key(record.id.clone()), move |txn| {
                let apis = txn.open_table(tables::APIS)?;
                for api in &stored.spec.apis {
                    if apis.get(api.as_str())?.is_none() {
                        return Err(ServiceError::invalid("unknown_api", format!("API {api} does not exist.")));
                    }
                }
                require_certificates(txn, stored.spec.bound_certificates.as_deref().unwrap_or_default())?;
                txn.open_table(tables::KEYS)?.insert(stored.id.as_str(), codec::encode(&stored)?.as_slice())?;
                let bound = stored.spec.bound_certificates.clone().unwrap_or_default();
                crate::references::add(txn, tables::CERTIFICATE_USERS, &bound, &format!("key:{}", stored.id))?;
                audit::record(txn, &actor, "key.created", &stored.id, format!("apis {}", stored.spec.apis.join(", ")))?;
                Ok(())
            })
            .await?;
        Ok(NewKey { record, token })
    }

    pub async fn get(&self, id: &str) -> Result<KeyRecord, ServiceError> {
        let id = id.to_string();
        self.store
            .read(move |txn| match txn.open_table(tables::KEYS)?.get(id.as_str())? {
                Some(v) => Ok(codec::decode("keys", &id, v.value())?),
                None => Err(not_found()),
            })
            .await
    }

    pub async fn list(&self) -> Result<Vec<KeyRecord>, ServiceError> {
        let mut keys = self.store.read(|txn| all(&txn.open_table(tables::KEYS)?)).await?;
        keys.sort_by_key(|k| (k.created_at, k.id.clone()));
        Ok(keys)
    }

    /// Revokes a key: it stops working with the first request after this returns.
    pub async fn revoke(&self, id: &str, actor: &str) -> Result<(), ServiceError> {
        let (id, actor) = (id.to_string(), actor.to_string());
        self.store
            .write_published(PublishScope::Key(id.clone()), move |txn| {
                let removed = txn.open_table(tables::KEYS)?.remove(id.as_str())?.map(|v| v.value().to_vec());
                let Some(removed) = removed else { return Err(not_found()) };
                let record: KeyRecord = codec::decode("keys", &id, &removed)?;
                let bound = record.spec.bound_certificates.unwrap_or_default();
                crate::references::remove(txn, tables::CERTIFICATE_USERS, &bound, &format!("key:{id}"))?;
                crate::usage::forget(txn, &id)?;
                audit::record(txn, &actor, "key.revoked", &id, String::new())?;
                Ok(())
            })
            .await
    }
}
