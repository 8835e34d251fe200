//! Organisations: the API consumers' companies. Names are unique, case-insensitively.

use certgate_core::UnixSeconds;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use crate::accounts::UserRecord;
use crate::store::codec::{self, Versioned};
use crate::store::{tables, Store};
use crate::{clock, ids, ServiceError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationRecord {
    pub id: String,
    pub name: String,
    pub created_at: UnixSeconds,
    pub updated_at: UnixSeconds,
    /// While set, every credential of the organisation is refused (reversible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_at: Option<UnixSeconds>,
}

impl Versioned for OrganisationRecord {
    const VERSION: u8 = 1;
}

const MAX_NAME_CHARS: usize = 100;

fn clean_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ServiceError::invalid("invalid_name", "The organisation needs a name."));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "invalid_name",
            format!("The name must have at most {MAX_NAME_CHARS} characters and no control characters."),
        ));
    }
    Ok(name.to_string())
}

fn name_taken(name: &str) -> ServiceError {
    ServiceError::Conflict { code: "name_taken", message: format!("An organisation named {name:?} already exists.") }
}

#[derive(Clone)]
pub struct Organisations {
    store: Store,
}

impl Organisations {
    pub fn new(store: Store) -> Organisations {
        Organisations { store }
    }

    pub async fn create(&self, name: &str) -> Result<OrganisationRecord, ServiceError> {
        let name = clean_name(name)?;
        let now = clock::now();
        let org = OrganisationRecord { id: ids::new_id("org"), name, created_at: now, updated_at: now, suspended_at: None };
        let record = org.clone();
        self.store
            .write(move |txn| {
                let mut by_name = txn.open_table(tables::ORGANISATIONS_BY_NAME)?;
                let key = record.name.to_lowercase();
                if by_name.get(key.as_str())?.is_some() {
                    return Err(name_taken(&record.name));
                }
                by_name.insert(key.as_str(), record.id.as_str())?;
                txn.open_table(tables::ORGANISATIONS)?.insert(record.id.as_str(), codec::encode(&record)?.as_slice())?;
                Ok(())
            })
            .await?;
        Ok(org)
    }

    pub async fn list(&self) -> Result<Vec<OrganisationRecord>, ServiceError> {
        self.store
            .read(|txn| {
                let table = txn.open_table(tables::ORGANISATIONS)?;
                let mut out = Vec::new();
                for entry in table.iter()? {
                    let (k, v) = entry?;
                    out.push(codec::decode::<OrganisationRecord>("organisations", k.value(), v.value())?);
                }
                out.sort_by_key(|o| o.name.to_lowercase());
                Ok(out)
            })
            .await
    }

    pub async fn get(&self, id: &str) -> Result<OrganisationRecord, ServiceError> {
        let id = id.to_string();
        self.store
            .read(move |txn| {
                let table = txn.open_table(tables::ORGANISATIONS)?;
                let bytes = table.get(id.as_str())?.ok_or(ServiceError::NotFound { what: "organisation" })?;
                Ok(codec::decode("organisations", &id, bytes.value())?)
            })
            .await
    }

    pub async fn rename(&self, id: &str, name: &str) -> Result<OrganisationRecord, ServiceError> {
        let name = clean_name(name)?;
        let id = id.to_string();
        self.store
            .write(move |txn| {
                let mut orgs = txn.open_table(tables::ORGANISATIONS)?;
                let mut org: OrganisationRecord = match orgs.get(id.as_str())? {
                    Some(bytes) => codec::decode("organisations", &id, bytes.value())?,
                    None => return Err(ServiceError::NotFound { what: "organisation" }),
                };
                let mut by_name = txn.open_table(tables::ORGANISATIONS_BY_NAME)?;
                let (old_key, new_key) = (org.name.to_lowercase(), name.to_lowercase());
                if old_key != new_key {
                    if by_name.get(new_key.as_str())?.is_some() {
                        return Err(name_taken(&name));
                    }
                    by_name.remove(old_key.as_str())?;
                    by_name.insert(new_key.as_str(), id.as_str())?;
                }
                org.name = name;
                org.updated_at = clock::now();
                orgs.insert(id.as_str(), codec::encode(&org)?.as_slice())?;
                Ok(org)
            })
            .await
    }

    /// Suspends (`true`) or resumes an organisation: while suspended, every credential of its
    /// apps is refused by the gateway and its certificates leave the allow lists (unless held
    /// otherwise), from the first request after this returns.
    pub async fn set_suspended(&self, id: &str, suspended: bool, actor: &str) -> Result<OrganisationRecord, ServiceError> {
        let (id, actor) = (id.to_string(), actor.to_string());
        self.store
            .write_published(crate::store::PublishScope::Touched, move |txn| {
                let mut orgs = txn.open_table(tables::ORGANISATIONS)?;
                let mut org: OrganisationRecord = match orgs.get(id.as_str())? {
                    Some(bytes) => codec::decode("organisations", &id, bytes.value())?,
                    None => return Err(ServiceError::NotFound { what: "organisation" }),
                };
                let now = clock::now();
                org.suspended_at = if suspended { Some(org.suspended_at.unwrap_or(now)) } else { None };
                org.updated_at = now;
                orgs.insert(id.as_str(), codec::encode(&org)?.as_slice())?;
                drop(orgs);
                crate::store::changes::touched(txn, crate::store::Touched::Organisation(&id));
                let action = if suspended { "organisation.suspended" } else { "organisation.resumed" };
                crate::audit::record_in(txn, &actor, action, &id, org.name.clone(), Some(&id))?;
                Ok(org)
            })
            .await
    }

    /// What deleting the organisation would meet now (a dry run: nothing changes).
    pub async fn dependents(&self, id: &str) -> Result<OrganisationDependents, ServiceError> {
        let id = id.to_string();
        self.store
            .read(move |txn| {
                if txn.open_table(tables::ORGANISATIONS)?.get(id.as_str())?.is_none() {
                    return Err(ServiceError::NotFound { what: "organisation" });
                }
                dependents(
                    &txn.open_table(tables::USERS)?,
                    &txn.open_table(tables::APPS_BY_ORGANISATION)?,
                    &txn.open_table(tables::ORGANISATION_CERTIFICATES)?,
                    &id,
                )
            })
            .await
    }

    /// Deletes an organisation; refused while users, apps or certificate links belong to it.
    pub async fn delete(&self, id: &str) -> Result<(), ServiceError> {
        let id = id.to_string();
        self.store
            .write(move |txn| {
                let mut orgs = txn.open_table(tables::ORGANISATIONS)?;
                let org: OrganisationRecord = match orgs.get(id.as_str())? {
                    Some(bytes) => codec::decode("organisations", &id, bytes.value())?,
                    None => return Err(ServiceError::NotFound { what: "organisation" }),
                };
                let dependents = dependents(
                    &txn.open_table(tables::USERS)?,
                    &txn.open_table(tables::APPS_BY_ORGANISATION)?,
                    &txn.open_table(tables::ORGANISATION_CERTIFICATES)?,
                    &id,
                )?;
                if let Some(message) = dependents.refusal() {
                    return Err(ServiceError::Conflict { code: "organisation_in_use", message });
                }
                orgs.remove(id.as_str())?;
                txn.open_table(tables::ORGANISATIONS_BY_NAME)?.remove(org.name.to_lowercase().as_str())?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{Accounts, NewUser, Role};

    #[tokio::test]
    async fn create_rename_delete_with_unique_names_and_references() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let orgs = Organisations::new(store.clone());
        let acme = orgs.create("  Acme Corp ").await.unwrap();
        assert_eq!(acme.name, "Acme Corp");
        assert!(matches!(orgs.create("acme corp").await, Err(ServiceError::Conflict { code: "name_taken", .. })));
        assert!(matches!(orgs.create("   ").await, Err(ServiceError::Invalid { code: "invalid_name", .. })));
        let globex = orgs.create("Globex").await.unwrap();
        assert!(matches!(orgs.rename(&globex.id, "ACME CORP").await, Err(ServiceError::Conflict { .. })));
        let renamed = orgs.rename(&acme.id, "Acme Inc").await.unwrap();
        assert_eq!(renamed.name, "Acme Inc");
        // The old name is free again.
        orgs.create("Acme Corp").await.unwrap();

        Accounts::new(store)
            .create_user(NewUser {
                email: "dev@acme.example",
                display_name: "Dev",
                password: "a long enough password",
                role: Role::Consumer,
                organisation_id: Some(&acme.id),
            })
            .await
            .unwrap();
        assert!(matches!(orgs.delete(&acme.id).await, Err(ServiceError::Conflict { code: "organisation_in_use", .. })));
        orgs.delete(&globex.id).await.unwrap();
        assert!(matches!(orgs.get(&globex.id).await, Err(ServiceError::NotFound { .. })));
        assert_eq!(orgs.list().await.unwrap().len(), 2);
    }
}

/// What belongs to an organisation and keeps it from being deleted: the dry run and the
/// deletion read the same counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrganisationDependents {
    pub users: usize,
    pub apps: usize,
    pub certificates: usize,
}

impl OrganisationDependents {
    /// Why the deletion is refused, if it is (the first of users, apps, certificate links).
    pub fn refusal(&self) -> Option<String> {
        if self.users > 0 {
            return Some(format!("The organisation still has {} user(s); remove them first.", self.users));
        }
        if self.apps > 0 {
            return Some(format!("The organisation still has {} app(s), with their subscriptions and credentials; delete them first.", self.apps));
        }
        if self.certificates > 0 {
            return Some(format!("{} certificate(s) are linked to the organisation; unlink them first.", self.certificates));
        }
        None
    }
}

fn dependents(
    users: &impl ReadableTable<&'static str, &'static [u8]>,
    apps: &impl ReadableTable<&'static str, &'static [u8]>,
    links: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<OrganisationDependents, ServiceError> {
    let mut members = 0usize;
    for entry in users.iter()? {
        let (k, v) = entry?;
        let user: UserRecord = codec::decode("users", k.value(), v.value())?;
        if user.organisation_id.as_deref() == Some(id) {
            members += 1;
        }
    }
    Ok(OrganisationDependents {
        users: members,
        apps: crate::references::holders(apps, id)?.len(),
        certificates: crate::certificates::linked_to_organisation(links, id)?.len(),
    })
}

#[cfg(test)]
mod dependents_tests {
    use super::OrganisationDependents;

    #[test]
    fn a_deletion_is_refused_while_anything_belongs_to_the_organisation() {
        assert_eq!(OrganisationDependents::default().refusal(), None);
        let users = OrganisationDependents { users: 2, apps: 1, certificates: 3 };
        assert_eq!(users.refusal().as_deref(), Some("The organisation still has 2 user(s); remove them first."));
        let apps = OrganisationDependents { apps: 1, ..Default::default() };
        assert!(apps.refusal().is_some_and(|m| m.contains("1 app(s)")));
        let links = OrganisationDependents { certificates: 3, ..Default::default() };
        assert!(links.refusal().is_some_and(|m| m.starts_with("3 certificate(s) are linked")));
    }
}
