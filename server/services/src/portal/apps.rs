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

/// The app, if it exists and the actor manages it (another organisation's app, or a
/// colleague's for a member, is not found).
pub(crate) fn load_visible(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
    actor: &Actor,
) -> Result<AppRecord, ServiceError> {
    let app: AppRecord = match table.get(id)? {
        Some(v) => codec::decode("apps", id, v.value())?,
        None => return Err(not_found()),
    };
    if actor.manages(&app.organisation, &app.owner) {
        Ok(app)
    } else {
        Err(not_found())
    }
}

/// Whether the actor manages app `id` of `organisation` (what an access request, a
/// subscription or a credential belongs to). An app that no longer exists is managed by no
/// consumer but an org admin of its organisation (its history stays theirs).
pub(crate) fn manages_app_id(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
    organisation: &str,
    actor: &Actor,
) -> Result<bool, ServiceError> {
    if !actor.sees(organisation) {
        return Ok(false);
    }
    if actor.manages_every_app_of(organisation) {
        return Ok(true);
    }
    match table.get(id)? {
        Some(v) => {
            let app: AppRecord = codec::decode("apps", id, v.value())?;
            Ok(app.organisation == organisation && actor.manages(&app.organisation, &app.owner))
        }
        None => Ok(false),
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
        let Actor::Consumer { user, organisation, .. } = actor else {
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
                audit::record_in(txn, &who, "app.created", &stored.id, stored.name.clone(), Some(&stored.organisation))
            })
            .await?;
        Ok(record)
    }

    pub async fn get(&self, actor: &Actor, id: &str) -> Result<AppRecord, ServiceError> {
        let (id, actor) = (id.to_string(), actor.clone());
        self.store.read(move |txn| load_visible(&txn.open_table(tables::APPS)?, &id, &actor)).await
    }

    /// The actor's apps, by name: the admin's every app (or one organisation's), an org
    /// admin's every app of the organisation, a member's the apps they created.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<AppRecord>, ServiceError> {
        self.list_of(actor, None).await
    }

    /// The admin's page of apps (every organisation's, or one's), by id after `after`: read
    /// from the store only until the page is full.
    pub async fn page_admin(
        &self,
        actor: &Actor,
        organisation: Option<&str>,
        after: Option<String>,
        limit: usize,
    ) -> Result<super::overview::Paged<AppRecord>, ServiceError> {
        actor.require_admin()?;
        let organisation = organisation.map(str::to_string);
        self.store
            .read(move |txn| {
                let table = txn.open_table(tables::APPS)?;
                let mut page = super::overview::Paged::new(limit);
                // '\u{1}' sorts right after an id: the page starts after it.
                let start = after.map(|a| format!("{a}\u{1}")).unwrap_or_default();
                match &organisation {
                    Some(organisation) => {
                        let index = txn.open_table(tables::APPS_BY_ORGANISATION)?;
                        let (from, to) = (format!("{organisation}/{start}"), format!("{organisation}0"));
                        for entry in index.range(from.as_str()..to.as_str())? {
                            let (k, _) = entry?;
                            let Some((_, id)) = k.value().split_once('/') else { continue };
                            let Some(v) = table.get(id)? else { continue };
                            if !page.push(codec::decode::<AppRecord>("apps", id, v.value())?) {
                                break;
                            }
                        }
                    }
                    None => {
                        for entry in table.range(start.as_str()..)? {
                            let (k, v) = entry?;
                            if !page.push(codec::decode::<AppRecord>("apps", k.value(), v.value())?) {
                                break;
                            }
                        }
                    }
                }
                Ok(page)
            })
            .await
    }

    /// [`Apps::list`], narrowed to one organisation (another organisation's is empty for a
    /// consumer). Read from the organisation index, not a scan, when an organisation is known.
    pub async fn list_of(&self, actor: &Actor, organisation: Option<&str>) -> Result<Vec<AppRecord>, ServiceError> {
        let organisation = organisation.or(actor.organisation()).map(str::to_string);
        let actor = actor.clone();
        let mut apps = self
            .store
            .read(move |txn| {
                let table = txn.open_table(tables::APPS)?;
                let mut out = Vec::new();
                match &organisation {
                    Some(organisation) if actor.sees(organisation) => {
                        for id in references::holders(&txn.open_table(tables::APPS_BY_ORGANISATION)?, organisation)? {
                            match load_visible(&table, &id, &actor) {
                                Ok(app) => out.push(app),
                                Err(ServiceError::NotFound { .. }) => {}
                                Err(e) => return Err(e),
                            }
                        }
                    }
                    Some(_) => {}
                    None => {
                        actor.require_admin()?;
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

    /// How many products each app has a pending request or a subscription for (from the claim
    /// index: one range read per app).
    pub async fn product_counts(&self, ids: Vec<String>) -> Result<Vec<usize>, ServiceError> {
        self.store
            .read(move |txn| {
                let claims = txn.open_table(tables::APP_PRODUCT_CLAIMS)?;
                ids.iter().map(|id| Ok(references::holders(&claims, id)?.len())).collect()
            })
            .await
    }

    /// Renames an app the actor manages (validated like a new one).
    pub async fn rename(&self, actor: &Actor, id: &str, name: &str) -> Result<AppRecord, ServiceError> {
        let name = checked_name(name)?;
        let (id, actor) = (id.to_string(), actor.clone());
        self.store
            .write(move |txn| {
                let mut app = visible_in(txn, &id, &actor)?;
                let old = std::mem::replace(&mut app.name, name);
                txn.open_table(tables::APPS)?.insert(app.id.as_str(), codec::encode(&app)?.as_slice())?;
                audit::record_in(txn, actor.audit_name(), "app.renamed", &app.id, format!("{old} -> {}", app.name), Some(&app.organisation))?;
                Ok(app)
            })
            .await
    }

    /// Deletes an app: its pending requests are withdrawn and its credentials revoked, in the
    /// same transaction, and the gateway's view follows before this returns.
    pub async fn delete(&self, actor: &Actor, id: &str) -> Result<(), ServiceError> {
        let (id, actor) = (id.to_string(), actor.clone());
        self.store
            .write_published(PublishScope::Touched, move |txn| {
                let app = load_visible(&txn.open_table(tables::APPS)?, &id, &actor)?;
                super::requests::end_everything_of_app(txn, &app.id, clock::now())?;
                txn.open_table(tables::APPS)?.remove(id.as_str())?;
                references::remove(txn, tables::APPS_BY_ORGANISATION, std::slice::from_ref(&app.organisation), &app.id)?;
                audit::record_in(txn, actor.audit_name(), "app.deleted", &id, app.name, Some(&app.organisation))
            })
            .await
    }
}

/// The app of a write transaction, checked for the actor.
pub(crate) fn visible_in(txn: &WriteTransaction, id: &str, actor: &Actor) -> Result<AppRecord, ServiceError> {
    load_visible(&txn.open_table(tables::APPS)?, id, actor)
}
