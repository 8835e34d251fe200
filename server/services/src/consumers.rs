//! Consumers managed by the admin (create, list, disable, admit) and self sign-up.

use certgate_core::password::check_new_password;
use certgate_core::throttle::ThrottlePolicy;
use redb::ReadableTable;

use crate::accounts::{check_email, hash_password, load_user, lock, normalise_email, Accounts, OrgRole, Role, UserRecord};
use crate::store::codec;
use crate::store::tables;
use crate::{clock, ids, ServiceError};

/// Every sign-up counts (not only failures): per client address, 5 an hour.
pub const SIGN_UP_THROTTLE: ThrottlePolicy = ThrottlePolicy { max_failures: 5, window_secs: 60 * 60 };
/// Throttle maps are pruned of expired windows past this many keys.
const PRUNE_AT: usize = 10_000;

/// A consumer the admin creates. Without a password the account waits for its invite.
pub struct NewConsumer<'a> {
    pub email: &'a str,
    pub password: Option<&'a str>,
    pub organisation_id: &'a str,
    pub org_role: OrgRole,
}

/// What the admin changes on a consumer; `None` leaves a field as it is. Setting the
/// organisation of a pending sign-up admits it.
#[derive(Debug, Default, Clone)]
pub struct ConsumerChange {
    pub disabled: Option<bool>,
    pub organisation_id: Option<String>,
    pub org_role: Option<OrgRole>,
}

async fn hash_off_workers(password: String) -> Result<String, ServiceError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
}

impl Accounts {
    pub async fn create_consumer(&self, new: NewConsumer<'_>, actor: &str) -> Result<UserRecord, ServiceError> {
        let email = normalise_email(new.email);
        check_email(&email)?;
        let phc = match new.password {
            Some(password) => {
                check_new_password(password, &email).map_err(|r| ServiceError::invalid("weak_password", r.message()))?;
                hash_off_workers(password.to_string()).await?
            }
            None => String::new(),
        };
        let now = clock::now();
        let user = UserRecord {
            id: ids::new_id("usr"),
            display_name: email.clone(),
            email,
            role: Role::Consumer,
            organisation_id: Some(new.organisation_id.to_string()),
            password_hash: phc,
            created_at: now,
            password_changed_at: now,
            org_role: Some(new.org_role),
            disabled: false,
            email_verified: true,
            pending: false,
        };
        let user = self.insert_user(user).await?;
        let (actor, id, email, organisation) = (actor.to_string(), user.id.clone(), user.email.clone(), user.organisation_id.clone());
        self.store
            .write(move |txn| crate::audit::record_in(txn, &actor, "user.created", &id, email, organisation.as_deref()))
            .await?;
        Ok(user)
    }

    pub async fn list_users(&self) -> Result<Vec<UserRecord>, ServiceError> {
        self.store
            .read(|txn| {
                let table = txn.open_table(tables::USERS)?;
                let mut out = Vec::new();
                for entry in table.iter()? {
                    let (k, v) = entry?;
                    out.push(codec::decode("users", k.value(), v.value())?);
                }
                Ok(out)
            })
            .await
    }

    /// Disables, enables, admits or moves a consumer. Admins are not managed here. The caller
    /// ends the sessions of a user it disabled (they also stop resolving at once).
    pub async fn update_consumer(&self, id: &str, change: ConsumerChange, actor: &str) -> Result<UserRecord, ServiceError> {
        let (id, actor) = (id.to_string(), actor.to_string());
        self.store
            .write(move |txn| {
                let mut users = txn.open_table(tables::USERS)?;
                let mut user = load_user(&users, &id)?.ok_or(ServiceError::NotFound { what: "user" })?;
                if user.role != Role::Consumer {
                    return Err(ServiceError::invalid("not_a_consumer", "Administrators are not managed through this API."));
                }
                if let Some(org) = &change.organisation_id {
                    if txn.open_table(tables::ORGANISATIONS)?.get(org.as_str())?.is_none() {
                        return Err(ServiceError::NotFound { what: "organisation" });
                    }
                }
                let mut actions = Vec::new();
                match (&change.organisation_id, user.pending) {
                    (Some(org), pending) => {
                        user.organisation_id = Some(org.clone());
                        user.org_role = Some(change.org_role.unwrap_or(OrgRole::Member));
                        user.pending = false;
                        actions.push(if pending { "user.admitted" } else { "user.moved" });
                    }
                    (None, true) if change.org_role.is_some() => {
                        return Err(ServiceError::invalid(
                            "organisation_required",
                            "A pending sign-up is admitted into an organisation: give `organisation` with the role.",
                        ));
                    }
                    (None, _) => {
                        if let Some(role) = change.org_role {
                            user.org_role = Some(role);
                            actions.push("user.role_changed");
                        }
                    }
                }
                if let Some(disabled) = change.disabled {
                    if disabled != user.disabled {
                        user.disabled = disabled;
                        actions.push(if disabled { "user.disabled" } else { "user.enabled" });
                    }
                }
                users.insert(id.as_str(), codec::encode(&user)?.as_slice())?;
                drop(users);
                for action in actions {
                    crate::audit::record_in(txn, &actor, action, &id, user.email.clone(), user.organisation_id.as_deref())?;
                }
                Ok(user)
            })
            .await
    }

    /// Self sign-up: a pending consumer with no organisation and no role, which an admin admits.
    /// The answer is the same whether or not the email exists (an existing account is left as
    /// it is, after the same hashing work); every attempt counts against the address.
    pub async fn sign_up(&self, email: &str, password: &str, client_address: &str) -> Result<(), ServiceError> {
        let now = clock::now();
        {
            let mut map = lock(&self.sign_ups_by_address);
            SIGN_UP_THROTTLE
                .check(map.get(client_address), now)
                .map_err(|t| ServiceError::Throttled { retry_after_secs: t.retry_after_secs })?;
            let next = SIGN_UP_THROTTLE.record_failure(map.get(client_address).copied(), now);
            map.insert(client_address.to_string(), next);
            if map.len() > PRUNE_AT {
                map.retain(|_, w| SIGN_UP_THROTTLE.is_live(w, now));
            }
        }
        let email = normalise_email(email);
        check_email(&email)?;
        check_new_password(password, &email).map_err(|r| ServiceError::invalid("weak_password", r.message()))?;
        let phc = hash_off_workers(password.to_string()).await?;
        let user = UserRecord {
            id: ids::new_id("usr"),
            display_name: email.clone(),
            email,
            role: Role::Consumer,
            organisation_id: None,
            password_hash: phc,
            created_at: now,
            password_changed_at: now,
            org_role: None,
            disabled: false,
            email_verified: false,
            pending: true,
        };
        match self.insert_user(user).await {
            Ok(user) => {
                let (id, email) = (user.id.clone(), user.email.clone());
                self.store.write(move |txn| crate::audit::record(txn, "sign-up", "user.signed_up", &id, email)).await?;
                Ok(())
            }
            Err(ServiceError::Conflict { code: "email_taken", .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    async fn setup() -> (tempfile::TempDir, Accounts, String) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let org = crate::organisations::Organisations::new(store.clone()).create("Acme").await.unwrap();
        (dir, Accounts::new(store), org.id)
    }

    #[tokio::test]
    async fn a_consumer_with_a_password_signs_in_and_without_one_cannot() {
        let (_d, a, org) = setup().await;
        let new = |email, password| NewConsumer { email, password, organisation_id: "", org_role: OrgRole::Member };
        let u = a
            .create_consumer(NewConsumer { organisation_id: &org, ..new("c@example.com", Some("a long enough password")) }, "t")
            .await
            .unwrap();
        assert_eq!((u.role, u.org_role, u.organisation_id.as_deref()), (Role::Consumer, Some(OrgRole::Member), Some(org.as_str())));
        assert!(a.sign_in("c@example.com", "a long enough password", "x").await.is_ok());
        let invited = a.create_consumer(NewConsumer { organisation_id: &org, ..new("i@example.com", None) }, "t").await.unwrap();
        assert!(!invited.has_password());
        assert!(matches!(a.sign_in("i@example.com", "", "x").await, Err(ServiceError::BadCredentials)));
        assert!(matches!(
            a.create_consumer(new("n@example.com", None), "t").await,
            Err(ServiceError::NotFound { what: "organisation" })
        ));
    }

    #[tokio::test]
    async fn a_disabled_consumer_cannot_sign_in_with_the_right_password() {
        let (_d, a, org) = setup().await;
        let u = a
            .create_consumer(
                NewConsumer { email: "c@example.com", password: Some("a long enough password"), organisation_id: &org, org_role: OrgRole::OrgAdmin },
                "t",
            )
            .await
            .unwrap();
        let change = ConsumerChange { disabled: Some(true), ..Default::default() };
        assert!(a.update_consumer(&u.id, change, "t").await.unwrap().disabled);
        assert!(matches!(a.sign_in("c@example.com", "a long enough password", "x").await, Err(ServiceError::BadCredentials)));
    }

    #[tokio::test]
    async fn sign_up_is_pending_until_admitted_and_answers_alike_for_known_emails() {
        let (_d, a, org) = setup().await;
        a.sign_up("s@example.com", "a long enough password", "1.1.1.1").await.unwrap();
        // The same email again: the same answer, and the first account is untouched.
        a.sign_up("S@example.com", "another long password", "1.1.1.1").await.unwrap();
        let u = a.find_by_email("s@example.com").await.unwrap().unwrap();
        assert!(u.pending && !u.email_verified && u.organisation_id.is_none() && u.org_role.is_none());
        assert!(matches!(a.sign_in("s@example.com", "a long enough password", "x").await, Err(ServiceError::BadCredentials)));
        let role_only = ConsumerChange { org_role: Some(OrgRole::Member), ..Default::default() };
        assert!(matches!(a.update_consumer(&u.id, role_only, "t").await, Err(ServiceError::Invalid { .. })));
        let admit = ConsumerChange { organisation_id: Some(org.clone()), org_role: Some(OrgRole::OrgAdmin), ..Default::default() };
        let u = a.update_consumer(&u.id, admit, "t").await.unwrap();
        assert!(!u.pending && u.org_role == Some(OrgRole::OrgAdmin));
        assert!(a.sign_in("s@example.com", "a long enough password", "x").await.is_ok());
    }

    #[tokio::test]
    async fn sign_ups_are_throttled_per_address() {
        let (_d, a, _org) = setup().await;
        for i in 0..SIGN_UP_THROTTLE.max_failures {
            // Even refused attempts count.
            let _ = a.sign_up(&format!("u{i}@example.com"), "short", "9.9.9.9").await;
        }
        assert!(matches!(
            a.sign_up("z@example.com", "a long enough password", "9.9.9.9").await,
            Err(ServiceError::Throttled { .. })
        ));
        assert!(a.sign_up("z@example.com", "a long enough password", "8.8.8.8").await.is_ok());
    }

    #[test]
    fn records_written_before_the_new_fields_still_decode() {
        let old = br#"{"id":"usr_1","email":"a@example.com","display_name":"A","role":"consumer","organisation_id":"org_1","password_hash":"x","created_at":1,"password_changed_at":1}"#;
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(old);
        let u: UserRecord = codec::decode("users", "usr_1", &bytes).unwrap();
        assert!(u.is_active() && u.email_verified && u.org_role.is_none());
    }
}
