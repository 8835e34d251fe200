//! Admin tokens: bearer tokens for the admin REST API, made with `certgate admin create-token`
//! beside the configured `--admin-token`. Shown once; only their SHA-256 is stored, with an
//! index from the hash to the id so a presented token is found without a scan.

use base64::Engine;
use certgate_core::UnixSeconds;
use rand::RngCore;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use crate::store::codec::{self, Versioned};
use crate::store::{tables, Store};
use crate::{audit, clock, ids, ServiceError};

/// Every admin token starts with this, so a leaked one is recognisable (secret scanners).
pub const TOKEN_PREFIX: &str = "cga_";
/// The prefix and 256 random bits as unpadded base64url.
const TOKEN_LEN: usize = TOKEN_PREFIX.len() + 43;
const MAX_NAME_CHARS: usize = 100;
/// Who made the change, in the audit log, when a token is made or revoked from the command line.
const CLI_ACTOR: &str = "cli";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTokenRecord {
    pub id: String,
    pub name: String,
    pub token_sha256: String,
    pub created_at: UnixSeconds,
}

impl Versioned for AdminTokenRecord {
    const VERSION: u8 = 1;
}

#[derive(Clone)]
pub struct AdminTokens {
    store: Store,
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

impl AdminTokens {
    pub fn new(store: Store) -> AdminTokens {
        AdminTokens { store }
    }

    /// Creates a token; returns its record and the token itself (never stored, shown once).
    pub async fn create(&self, name: &str) -> Result<(AdminTokenRecord, String), ServiceError> {
        let name = name.trim().to_string();
        if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(ServiceError::invalid("invalid_name", "The name must have at most 100 characters, none of them control characters."));
        }
        let token = new_token();
        let record = AdminTokenRecord { id: ids::new_id("adt"), name, token_sha256: ids::sha256_hex(token.as_bytes()), created_at: clock::now() };
        let stored = record.clone();
        self.store
            .write(move |txn| {
                txn.open_table(tables::ADMIN_TOKENS)?.insert(stored.id.as_str(), codec::encode(&stored)?.as_slice())?;
                txn.open_table(tables::ADMIN_TOKENS_BY_HASH)?.insert(stored.token_sha256.as_str(), stored.id.as_str())?;
                audit::record(txn, CLI_ACTOR, "admin_token.created", &stored.id, stored.name.clone())?;
                Ok(())
            })
            .await?;
        Ok((record, token))
    }

    /// Revokes a token: a running certgate refuses it from the next request on.
    pub async fn revoke(&self, id: &str) -> Result<(), ServiceError> {
        let id = id.to_string();
        self.store
            .write(move |txn| {
                let Some(bytes) = txn.open_table(tables::ADMIN_TOKENS)?.remove(id.as_str())?.map(|v| v.value().to_vec()) else {
                    return Err(ServiceError::NotFound { what: "admin token" });
                };
                let record: AdminTokenRecord = codec::decode("admin_tokens", &id, &bytes)?;
                txn.open_table(tables::ADMIN_TOKENS_BY_HASH)?.remove(record.token_sha256.as_str())?;
                audit::record(txn, CLI_ACTOR, "admin_token.revoked", &id, String::new())?;
                Ok(())
            })
            .await
    }

    /// Every token's record, oldest first (never the token).
    pub async fn list(&self) -> Result<Vec<AdminTokenRecord>, ServiceError> {
        let mut out = self
            .store
            .read(|txn| {
                let mut out = Vec::new();
                for item in txn.open_table(tables::ADMIN_TOKENS)?.iter()? {
                    let (k, v) = item?;
                    out.push(codec::decode::<AdminTokenRecord>("admin_tokens", k.value(), v.value())?);
                }
                Ok(out)
            })
            .await?;
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    /// The id of the stored token `token`, if there is one. Anything not shaped like an admin
    /// token is refused before the store is read.
    pub async fn find(&self, token: &str) -> Result<Option<String>, ServiceError> {
        if token.len() != TOKEN_LEN || !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let hash = ids::sha256_hex(token.as_bytes());
        self.store
            .read(move |txn| Ok(txn.open_table(tables::ADMIN_TOKENS_BY_HASH)?.get(hash.as_str())?.map(|v| v.value().to_string())))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_is_found_until_revoked_and_only_its_hash_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let tokens = AdminTokens::new(store.clone());
        let (record, token) = tokens.create(" ci ").await.unwrap();
        assert!(token.starts_with(TOKEN_PREFIX) && token.len() == TOKEN_LEN);
        assert_eq!(record.name, "ci");
        assert_eq!(tokens.find(&token).await.unwrap(), Some(record.id.clone()));
        assert_eq!(tokens.list().await.unwrap(), vec![record.clone()]);
        // Wrong token, wrong shape, and the hash itself are all refused.
        let (_, other) = tokens.create("").await.unwrap();
        let mut wrong = token.clone();
        wrong.replace_range(10..11, if &token[10..11] == "A" { "B" } else { "A" });
        assert_eq!(tokens.find(&wrong).await.unwrap(), None);
        assert_eq!(tokens.find(&record.token_sha256).await.unwrap(), None);
        assert_eq!(tokens.find("").await.unwrap(), None);
        tokens.revoke(&record.id).await.unwrap();
        assert_eq!(tokens.find(&token).await.unwrap(), None);
        assert!(tokens.find(&other).await.unwrap().is_some(), "revoking one leaves the others");
        assert!(matches!(tokens.revoke(&record.id).await, Err(ServiceError::NotFound { .. })));
        drop((tokens, store));
        let raw = std::fs::read(dir.path().join(crate::store::STORE_FILE)).unwrap();
        for t in [&token, &other] {
            assert!(!raw.windows(t.len()).any(|w| w == t.as_bytes()), "a token is in the file");
        }
    }

    #[tokio::test]
    async fn a_bad_name_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = AdminTokens::new(Store::open(dir.path()).unwrap());
        assert!(matches!(tokens.create(&"x".repeat(101)).await, Err(ServiceError::Invalid { code: "invalid_name", .. })));
        assert!(matches!(tokens.create("a\nb").await, Err(ServiceError::Invalid { .. })));
        assert!(tokens.list().await.unwrap().is_empty());
    }
}
