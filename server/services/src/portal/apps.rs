//! Apps: a consumer application of one organisation, the holder of subscriptions. Deleting an
//! app revokes its credentials (their certificates leave the allow lists at once).

use certgate_core::UnixSeconds;
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::Actor;
use crate::store::codec::{self, Versioned};
use crate::store::{tables, PublishScope, Store};
use crate::{audit, clock, ids, references, ServiceError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRecord {
    pub id: String,
    pub organisation: String,
    pub name: String,
    /// The user who created it.
    pub owner: String,
    pub created_at: UnixSeconds,
}

impl Versioned for AppRecord {
    const VERSION: u8 = 1;
}

pub(crate) fn not_found() -> ServiceError {
    ServiceError::NotFound { what: "app" }
}

/// The app, if it exists and the actor may see it (another organisation's app is not found).
pub(crate) fn load_visible(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
    actor: &Actor,
) -> Result<AppRecord, ServiceError> {
    let app: AppRecord = match table.get(id)? {
        Some(v) => codec::decode("apps", id, v.value())?,
        None => return Err(not_found()),
    };
    if actor.sees(&app.organisation) {
        Ok(app)
    } else {
        Err(not_found())
    }
}

fn checked_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ServiceError::invalid("invalid_name", "An app's name has 1 to 100 characters and no control characters."));
    }
    Ok(name.to_string())
}

#[derive(Clone)]
pub struct Apps {
    store: Store,
}

impl Apps {
    pub fn new(store: Store) -> Apps {
        Apps { store }
    }

    /// A consumer creates an app in their organisation.
    pub async fn create(&self, actor: &Actor, name: &str) -> Result<AppRecord, ServiceError> {
        let Actor::Consumer { user, organisation } = actor else {
            return Err(ServiceError::invalid("consumer_only", "Apps belong to an organisation: a consumer creates them."));
        };
        let record = AppRecord {
            id: ids::new_id("app"),
            organisation: organisation.clone(),
            name: checked_name(name)?,
            owner: user.clone(),
            created_at: clock::now(),
        };
        let (stored, who) = (record.clone(), actor.audit_name().to_string());
        self.store
            .write(move |txn| {
                txn.open_table(tables::APPS)?.insert(stored.id.as_str(), codec::encode(&stored)?.as_slice())?;
                references::add(txn, tables::APPS_BY_ORGANISATION, std::slice::from_ref(&stored.organisation), &stored.id)?;
                audit::record(txn, &who, "app.created", &stored.id, stored.name.clone())
            })
            .await?;
        Ok(record)
    }

    pub async fn get(&self, actor: &Actor, id: &str) -> Result<AppRecord, ServiceError> {
        let (id, actor) = (id.to_string(), actor.clone());
        self.store.read(move |txn| load_visible(&txn.open_table(tables::APPS)?, &id, &actor)).await
    }

    /// The actor's apps: a consumer's organisation's, or every app for the admin; by name.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<AppRecord>, ServiceError> {
        let actor = actor.clone();
        let mut apps = self
            .store
            .read(move |txn| {
                let table = txn.open_table(tables::APPS)?;
                let mut out = Vec::new();
                match &actor {
                    Actor::Consumer { organisation, .. } => {
                        for id in references::holders(&txn.open_table(tables::APPS_BY_ORGANISATION)?, organisation)? {
                            out.push(load_visible(&table, &id, &actor)?);
                        }
                    }
                    Actor::Admin { .. } => {
                        for entry in table.iter()? {
                            let (k, v) = entry?;
                            out.push(codec::decode::<AppRecord>("apps", k.value(), v.value())?);
                        }
                    }
                }
                Ok(out)
            })
            .await?;
        apps.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then_with(|| a.id.cmp(&b.id)));
        Ok(apps)
    }

    /// Deletes an app: its pending requests are withdrawn and its credentials revoked, in the
    /// same transaction, and the gateway's view follows before this returns.
    pub async fn delete(&self, actor: &Actor, id: &str) -> Result<(), ServiceError> {
        let (id, actor) = (id.to_string(), actor.clone());
        self.store
            .write_published(PublishScope::Everything, move |txn| {
                let app = load_visible(&txn.open_table(tables::APPS)?, &id, &actor)?;
                super::requests::end_everything_of_app(txn, &app.id, clock::now())?;
                txn.open_table(tables::APPS)?.remove(id.as_str())?;
                references::remove(txn, tables::APPS_BY_ORGANISATION, std::slice::from_ref(&app.organisation), &app.id)?;
                audit::record(txn, actor.audit_name(), "app.deleted", &id, app.name)
            })
            .await
    }
}

/// The app of a write transaction, checked for the actor.
pub(crate) fn visible_in(txn: &WriteTransaction, id: &str, actor: &Actor) -> Result<AppRecord, ServiceError> {
    load_visible(&txn.open_table(tables::APPS)?, id, actor)
}
