//! Portal credentials: one per subscription, created without a token at approval. The consumer
//! mints the token once; rotation keeps the old digest until the chosen overlap ends; revoking
//! ends both. Only SHA-256 digests are stored; the admin never sees a token.

use certgate_core::gateway::token_hash;
use certgate_core::portal::credential::TokenState;
use certgate_core::UnixSeconds;
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::requests::SubscriptionRecord;
use super::Actor;
use crate::keys::new_token;
use crate::store::codec::{self, Versioned};
use crate::store::{tables, PublishScope, Store};
use crate::{audit, clock, ServiceError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRecord {
    pub id: String,
    pub subscription: String,
    pub tokens: TokenState,
    pub created_at: UnixSeconds,
}

impl Versioned for CredentialRecord {
    const VERSION: u8 = 1;
}

/// A credential with the subscription it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialEntry {
    pub credential: CredentialRecord,
    pub subscription: SubscriptionRecord,
}

fn not_found() -> ServiceError {
    ServiceError::NotFound { what: "credential" }
}

/// The credential and its subscription, if the actor manages its app.
fn load_visible(txn: &WriteTransaction, id: &str, actor: &Actor) -> Result<CredentialEntry, ServiceError> {
    let credential: CredentialRecord = match txn.open_table(tables::CREDENTIALS)?.get(id)? {
        Some(v) => codec::decode("credentials", id, v.value())?,
        None => return Err(not_found()),
    };
    let subscription: SubscriptionRecord = match txn.open_table(tables::SUBSCRIPTIONS)?.get(credential.subscription.as_str())? {
        Some(v) => codec::decode("subscriptions", &credential.subscription, v.value())?,
        None => return Err(not_found()),
    };
    if !super::apps::manages_app_id(&txn.open_table(tables::APPS)?, &subscription.app, &subscription.organisation, actor)? {
        return Err(not_found());
    }
    Ok(CredentialEntry { credential, subscription })
}

fn token_lifetime(txn: &WriteTransaction, plan: &str) -> Result<Option<u64>, ServiceError> {
    Ok(crate::plans::load(&txn.open_table(tables::PLANS)?, plan)?.and_then(|p| p.spec.token_lifetime_seconds))
}

fn token_error(e: certgate_core::portal::credential::TokenError) -> ServiceError {
    ServiceError::Conflict { code: e.code(), message: e.message().into() }
}

#[derive(Clone)]
pub struct Credentials {
    store: Store,
}

impl Credentials {
    pub fn new(store: Store) -> Credentials {
        Credentials { store }
    }

    /// The credentials of an app the actor may see.
    pub async fn of_app(&self, actor: &Actor, app: &str) -> Result<Vec<CredentialEntry>, ServiceError> {
        let (actor, app) = (actor.clone(), app.to_string());
        self.store
            .read(move |txn| {
                super::apps::load_visible(&txn.open_table(tables::APPS)?, &app, &actor)?;
                let (credentials, subscriptions) = (txn.open_table(tables::CREDENTIALS)?, txn.open_table(tables::SUBSCRIPTIONS)?);
                let mut out = Vec::new();
                for id in super::records::subscriptions_of(&txn.open_table(tables::SUBSCRIPTIONS_BY)?, super::records::SubscriptionsOf::App(&app))? {
                    let Some(v) = subscriptions.get(id.as_str())? else { continue };
                    let subscription: SubscriptionRecord = codec::decode("subscriptions", &id, v.value())?;
                    if let Some(c) = credentials.get(subscription.credential.as_str())? {
                        let credential: CredentialRecord = codec::decode("credentials", &subscription.credential, c.value())?;
                        out.push(CredentialEntry { credential, subscription });
                    }
                }
                out.sort_by(|a, b| a.credential.created_at.cmp(&b.credential.created_at).then_with(|| a.credential.id.cmp(&b.credential.id)));
                Ok(out)
            })
            .await
    }

    /// Mints the first token, once (409 `token_already_minted` after that: rotate instead).
    /// The token is returned here and nowhere else.
    pub async fn mint(&self, actor: &Actor, id: &str) -> Result<String, ServiceError> {
        self.change_tokens(actor, id, "credential.token_created", |tokens, digest, now, lifetime| {
            tokens.mint(digest, now, lifetime)
        })
        .await
    }

    /// A new token; the current one keeps working for `overlap_seconds` (at most 24 h).
    pub async fn rotate(&self, actor: &Actor, id: &str, overlap_seconds: u64) -> Result<String, ServiceError> {
        self.change_tokens(actor, id, "credential.rotated", move |tokens, digest, now, lifetime| {
            tokens.rotate(digest, now, overlap_seconds, lifetime)
        })
        .await
    }

    async fn change_tokens(
        &self,
        actor: &Actor,
        id: &str,
        action: &'static str,
        change: impl FnOnce(&TokenState, String, UnixSeconds, Option<u64>) -> Result<TokenState, certgate_core::portal::credential::TokenError>
            + Send
            + 'static,
    ) -> Result<String, ServiceError> {
        let Actor::Consumer { .. } = actor else {
            return Err(ServiceError::Forbidden { message: "Only the consumer sees a credential's token: the admin never does.".into() });
        };
        let (id, actor) = (id.to_string(), actor.clone());
        let token = new_token();
        let digest = token_hash(&token);
        self.store
            .write_published(PublishScope::Touched, move |txn| {
                let mut entry = load_visible(txn, &id, &actor)?;
                let lifetime = token_lifetime(txn, &entry.subscription.plan)?;
                entry.credential.tokens = change(&entry.credential.tokens, digest, clock::now(), lifetime).map_err(token_error)?;
                super::records::put_credential(txn, &entry.credential)?;
                audit::record_in(txn, actor.audit_name(), action, &id, String::new(), Some(&entry.subscription.organisation))
            })
            .await?;
        Ok(token)
    }

    /// Revokes a credential (consumer of its organisation, or the admin): its tokens are refused
    /// and its certificates leave the allow lists (unless held otherwise) before this returns.
    pub async fn revoke(&self, actor: &Actor, id: &str) -> Result<(), ServiceError> {
        let (id, actor) = (id.to_string(), actor.clone());
        self.store
            .write_published(PublishScope::Touched, move |txn| {
                let mut entry = load_visible(txn, &id, &actor)?;
                entry.credential.tokens = entry.credential.tokens.revoke(clock::now());
                super::records::put_credential(txn, &entry.credential)?;
                // The subscription has ended: the app may ask for the product again (a new
                // subscription; the revoked one stays as history and blocks nothing).
                let claim = super::requests::claim_key(&entry.subscription.app, &entry.subscription.product);
                txn.open_table(tables::APP_PRODUCT_CLAIMS)?.remove(claim.as_str())?;
                audit::record_in(txn, actor.audit_name(), "credential.revoked", &id, String::new(), Some(&entry.subscription.organisation))
            })
            .await
    }
}
