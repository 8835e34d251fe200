//! Accounts: users, their roles and passwords, and sign-in with throttling.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use certgate_core::password::check_new_password;
use certgate_core::throttle::{FailureWindow, ThrottlePolicy};
use certgate_core::UnixSeconds;
use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

use crate::store::codec::{self, Versioned};
use crate::store::{tables, Store};
use crate::{clock, ids, ServiceError};

/// What a user may do. `Admin` is the API owner; `Consumer` belongs to an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Consumer,
}

/// A consumer's role within their one organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    OrgAdmin,
    Member,
}

// Fields added after version 1 carry serde defaults, so records written before them still
// decode (the codec is JSON): no migration and no version bump.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub organisation_id: Option<String>,
    /// argon2id PHC string; never leaves this module's callers as plain text.
    pub password_hash: String,
    pub created_at: UnixSeconds,
    pub password_changed_at: UnixSeconds,
    /// A consumer's role in `organisation_id` (older consumer records: none, read as member).
    #[serde(default)]
    pub org_role: Option<OrgRole>,
    /// A disabled user cannot sign in and their sessions no longer resolve.
    #[serde(default)]
    pub disabled: bool,
    /// Accounts made by an admin count as verified; self sign-ups are not (no mail is sent).
    #[serde(default = "verified_by_default")]
    pub email_verified: bool,
    /// A self sign-up waiting for an admin to admit it into an organisation.
    #[serde(default)]
    pub pending: bool,
}

fn verified_by_default() -> bool {
    true
}

impl UserRecord {
    /// Whether this account may sign in or keep a session (the password is checked apart).
    pub fn is_active(&self) -> bool {
        !self.disabled && !self.pending
    }

    /// An account made without a password waits for its invite to be redeemed.
    pub fn has_password(&self) -> bool {
        !self.password_hash.is_empty()
    }
}

impl Versioned for UserRecord {
    const VERSION: u8 = 1;
}

/// A new user, before it has an id or a hash.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password: &'a str,
    pub role: Role,
    pub organisation_id: Option<&'a str>,
}

/// Failure throttles: per account (email) and per client address.
pub const ACCOUNT_THROTTLE: ThrottlePolicy = ThrottlePolicy { max_failures: 5, window_secs: 15 * 60 };
pub const ADDRESS_THROTTLE: ThrottlePolicy = ThrottlePolicy { max_failures: 20, window_secs: 15 * 60 };
/// Throttle maps are pruned of expired windows past this many keys.
const THROTTLE_PRUNE_AT: usize = 10_000;

#[derive(Clone)]
pub struct Accounts {
    pub(crate) store: Store,
    by_account: Arc<Mutex<HashMap<String, FailureWindow>>>,
    by_address: Arc<Mutex<HashMap<String, FailureWindow>>>,
    /// Failed link redemptions and every sign-up, per client address (see `account_links`).
    pub(crate) links_by_address: Arc<Mutex<HashMap<String, FailureWindow>>>,
    pub(crate) sign_ups_by_address: Arc<Mutex<HashMap<String, FailureWindow>>>,
}

/// OWASP's minimum for argon2id: m = 19 MiB, t = 2, p = 1.
fn hasher() -> Result<Argon2<'static>, ServiceError> {
    let params = Params::new(19_456, 2, 1, None).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub fn hash_password(password: &str) -> Result<String, ServiceError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(format!("hashing failed: {e}")))
}

pub(crate) fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let Ok(argon) = hasher() else { return false };
    argon.verify_password(password.as_bytes(), &parsed).is_ok()
}

/// A hash of a random password, verified for unknown emails so they cost what known ones do.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&ids::new_secret()).unwrap_or_default())
}

pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub(crate) fn check_email(email: &str) -> Result<(), ServiceError> {
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(())
    } else {
        Err(ServiceError::invalid("invalid_email", "Enter a valid email address, like name@example.com."))
    }
}

/// Replaces a user's password hash (and when it changed); the updated record.
fn store_password_hash(txn: &redb::WriteTransaction, id: &str, hash: String) -> Result<UserRecord, ServiceError> {
    let mut users = txn.open_table(tables::USERS)?;
    let mut user = load_user(&users, id)?.ok_or(ServiceError::NotFound { what: "user" })?;
    user.password_hash = hash;
    user.password_changed_at = clock::now();
    users.insert(id, codec::encode(&user)?.as_slice())?;
    Ok(user)
}

pub(crate) fn load_user(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<Option<UserRecord>, ServiceError> {
    match table.get(id)? {
        Some(bytes) => Ok(Some(codec::decode("users", id, bytes.value())?)),
        None => Ok(None),
    }
}

impl Accounts {
    pub fn new(store: Store) -> Accounts {
        Accounts {
            store,
            by_account: Arc::default(),
            by_address: Arc::default(),
            links_by_address: Arc::default(),
            sign_ups_by_address: Arc::default(),
        }
    }

    /// Computes the dummy hash now, off the async workers, so the first sign-in is not slower.
    pub fn warm_up(&self) {
        tokio::task::spawn_blocking(|| {
            dummy_hash();
        });
    }

    pub async fn count_users(&self) -> Result<u64, ServiceError> {
        self.store.read(|txn| Ok(txn.open_table(tables::USERS)?.len()?)).await
    }

    /// Creates a user. The email must be new (case-insensitively) and the password pass the policy.
    pub async fn create_user(&self, new: NewUser<'_>) -> Result<UserRecord, ServiceError> {
        let email = normalise_email(new.email);
        check_email(&email)?;
        check_new_password(new.password, &email)
            .map_err(|r| ServiceError::invalid("weak_password", r.message()))?;
        let display_name = new.display_name.trim().to_string();
        if display_name.chars().count() > 100 {
            return Err(ServiceError::invalid("invalid_name", "The name must have at most 100 characters."));
        }
        let password = new.password.to_string();
        let phc = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))??;
        let now = clock::now();
        let user = UserRecord {
            id: ids::new_id("usr"),
            display_name: if display_name.is_empty() { email.clone() } else { display_name },
            email,
            role: new.role,
            organisation_id: new.organisation_id.map(str::to_string),
            password_hash: phc,
            created_at: now,
            password_changed_at: now,
            org_role: (new.role == Role::Consumer).then_some(OrgRole::Member),
            disabled: false,
            email_verified: true,
            pending: false,
        };
        self.insert_user(user).await
    }

    /// Stores a new user whose email and organisation were checked by the caller's rules.
    pub(crate) async fn insert_user(&self, user: UserRecord) -> Result<UserRecord, ServiceError> {
        let record = user.clone();
        self.store
            .write(move |txn| {
                if let Some(org) = &record.organisation_id {
                    if txn.open_table(tables::ORGANISATIONS)?.get(org.as_str())?.is_none() {
                        return Err(ServiceError::NotFound { what: "organisation" });
                    }
                }
                let mut by_email = txn.open_table(tables::USERS_BY_EMAIL)?;
                if by_email.get(record.email.as_str())?.is_some() {
                    return Err(ServiceError::Conflict {
                        code: "email_taken",
                        message: "An account with this email already exists.".into(),
                    });
                }
                by_email.insert(record.email.as_str(), record.id.as_str())?;
                txn.open_table(tables::USERS)?.insert(record.id.as_str(), codec::encode(&record)?.as_slice())?;
                Ok(())
            })
            .await?;
        Ok(user)
    }

    pub async fn get_user(&self, id: &str) -> Result<Option<UserRecord>, ServiceError> {
        let id = id.to_string();
        self.store.read(move |txn| load_user(&txn.open_table(tables::USERS)?, &id)).await
    }

    pub async fn find_by_email(&self, email: &str) -> Result<Option<UserRecord>, ServiceError> {
        let email = normalise_email(email);
        self.store
            .read(move |txn| {
                let Some(id) = txn.open_table(tables::USERS_BY_EMAIL)?.get(email.as_str())?.map(|v| v.value().to_string())
                else {
                    return Ok(None);
                };
                load_user(&txn.open_table(tables::USERS)?, &id)
            })
            .await
    }

    /// Checks an email and password. Unknown email and wrong password give the same error after
    /// the same work; repeated failures per account and per address are throttled (before any
    /// hashing, so throttled attempts cost nothing).
    pub async fn sign_in(&self, email: &str, password: &str, client_address: &str) -> Result<UserRecord, ServiceError> {
        let email = normalise_email(email);
        let now = clock::now();
        self.check_throttle(&email, client_address, now)?;
        if password.len() > certgate_core::password::MAX_PASSWORD_BYTES {
            self.record_failure(&email, client_address, now);
            return Err(ServiceError::BadCredentials);
        }
        let user = self.find_by_email(&email).await?;
        // An account without a password (waiting for its invite) costs the same as an unknown one.
        let phc = user.as_ref().map(|u| u.password_hash.clone()).filter(|h| !h.is_empty());
        let password = password.to_string();
        let matches = tokio::task::spawn_blocking(move || match phc {
            Some(phc) => verify_password(&password, &phc),
            None => {
                verify_password(&password, dummy_hash());
                false
            }
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        match user {
            Some(user) if matches && user.is_active() => {
                lock(&self.by_account).remove(&email);
                Ok(user)
            }
            // The right password of a disabled or pending account: the same answer as a wrong
            // one (nothing about the account is revealed), but not counted as a guess.
            Some(_) if matches => Err(ServiceError::BadCredentials),
            _ => {
                self.record_failure(&email, client_address, now);
                Err(ServiceError::BadCredentials)
            }
        }
    }

    fn check_throttle(&self, email: &str, address: &str, now: UnixSeconds) -> Result<(), ServiceError> {
        let account = ACCOUNT_THROTTLE.check(lock(&self.by_account).get(email), now);
        let address = ADDRESS_THROTTLE.check(lock(&self.by_address).get(address), now);
        match (account, address) {
            (Err(a), Err(b)) => Err(ServiceError::Throttled { retry_after_secs: a.retry_after_secs.max(b.retry_after_secs) }),
            (Err(t), Ok(())) | (Ok(()), Err(t)) => Err(ServiceError::Throttled { retry_after_secs: t.retry_after_secs }),
            (Ok(()), Ok(())) => Ok(()),
        }
    }

    fn record_failure(&self, email: &str, address: &str, now: UnixSeconds) {
        for (map, policy, key) in [
            (&self.by_account, ACCOUNT_THROTTLE, email),
            (&self.by_address, ADDRESS_THROTTLE, address),
        ] {
            let mut map = lock(map);
            let next = policy.record_failure(map.get(key).copied(), now);
            map.insert(key.to_string(), next);
            if map.len() > THROTTLE_PRUNE_AT {
                map.retain(|_, w| policy.is_live(w, now));
            }
        }
    }

    /// Changes a user's password after checking the current one. The caller ends the user's
    /// other sessions (see `Sessions::end_all_for_user_except`).
    pub async fn change_password(&self, user_id: &str, current: &str, new_password: &str) -> Result<(), ServiceError> {
        let user = self.get_user(user_id).await?.ok_or(ServiceError::NotFound { what: "user" })?;
        // A stolen session must not become a way to guess the password: same account throttle.
        let now = clock::now();
        ACCOUNT_THROTTLE
            .check(lock(&self.by_account).get(&user.email), now)
            .map_err(|t| ServiceError::Throttled { retry_after_secs: t.retry_after_secs })?;
        check_new_password(new_password, &user.email).map_err(|r| ServiceError::invalid("weak_password", r.message()))?;
        if current.len() > certgate_core::password::MAX_PASSWORD_BYTES {
            return Err(ServiceError::invalid("wrong_current_password", "The current password is not correct."));
        }
        let (current, new_password, phc) = (current.to_string(), new_password.to_string(), user.password_hash.clone());
        let new_hash = tokio::task::spawn_blocking(move || {
            if verify_password(&current, &phc) {
                hash_password(&new_password).map(Some)
            } else {
                Ok(None)
            }
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
        let Some(new_hash) = new_hash else {
            let mut map = lock(&self.by_account);
            let next = ACCOUNT_THROTTLE.record_failure(map.get(&user.email).copied(), now);
            map.insert(user.email.clone(), next);
            return Err(ServiceError::invalid("wrong_current_password", "The current password is not correct."));
        };
        let id = user_id.to_string();
        self.store
            .write(move |txn| store_password_hash(txn, &id, new_hash).map(|_| ()))
            .await
    }

    /// Sets a new password without the current one: `certgate admin reset-password`, run by
    /// whoever holds the data directory. The caller ends the user's sessions.
    pub async fn reset_password(&self, email: &str, new_password: &str) -> Result<UserRecord, ServiceError> {
        let user = self.find_by_email(email).await?.ok_or(ServiceError::NotFound { what: "user" })?;
        check_new_password(new_password, &user.email).map_err(|r| ServiceError::invalid("weak_password", r.message()))?;
        let new_password = new_password.to_string();
        let new_hash = tokio::task::spawn_blocking(move || hash_password(&new_password))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))??;
        let id = user.id.clone();
        self.store
            .write(move |txn| {
                let user = store_password_hash(txn, &id, new_hash)?;
                // Recovery is audited like any other change (from the command line).
                crate::audit::record(txn, "cli", "user.password_reset", &id, user.email.clone())?;
                Ok(user)
            })
            .await
    }
}

/// A poisoned throttle map is still a valid map: recover it rather than panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn accounts() -> (tempfile::TempDir, Accounts) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, Accounts::new(store))
    }

    fn admin<'a>(email: &'a str, password: &'a str) -> NewUser<'a> {
        NewUser { email, display_name: "", password, role: Role::Admin, organisation_id: None }
    }

    #[tokio::test]
    async fn passwords_are_stored_as_argon2id_with_owasp_parameters() {
        let (_d, a) = accounts().await;
        let user = a.create_user(admin("Admin@Example.com", "a long enough password")).await.unwrap();
        assert_eq!(user.email, "admin@example.com");
        assert!(user.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", user.password_hash);
        assert!(!user.password_hash.contains("a long enough password"));
    }

    #[tokio::test]
    async fn sign_in_succeeds_and_unknown_or_wrong_give_the_same_error() {
        let (_d, a) = accounts().await;
        a.create_user(admin("a@example.com", "a long enough password")).await.unwrap();
        assert!(a.sign_in("A@example.com ", "a long enough password", "1.1.1.1").await.is_ok());
        let wrong = a.sign_in("a@example.com", "not the password!", "1.1.1.1").await.unwrap_err();
        let unknown = a.sign_in("b@example.com", "not the password!", "1.1.1.1").await.unwrap_err();
        assert_eq!(wrong.to_string(), unknown.to_string());
        assert!(matches!(wrong, ServiceError::BadCredentials));
    }

    #[tokio::test]
    async fn repeated_failures_lock_the_account_even_for_the_right_password() {
        let (_d, a) = accounts().await;
        a.create_user(admin("a@example.com", "a long enough password")).await.unwrap();
        for i in 0..ACCOUNT_THROTTLE.max_failures {
            let addr = format!("10.0.0.{i}");
            assert!(matches!(a.sign_in("a@example.com", "wrong password!", &addr).await, Err(ServiceError::BadCredentials)));
        }
        assert!(matches!(
            a.sign_in("a@example.com", "a long enough password", "10.9.9.9").await,
            Err(ServiceError::Throttled { retry_after_secs }) if retry_after_secs > 0
        ));
    }

    #[tokio::test]
    async fn duplicate_email_weak_password_and_bad_email_are_refused() {
        let (_d, a) = accounts().await;
        a.create_user(admin("a@example.com", "a long enough password")).await.unwrap();
        assert!(matches!(
            a.create_user(admin("A@EXAMPLE.COM", "a long enough password")).await,
            Err(ServiceError::Conflict { code: "email_taken", .. })
        ));
        assert!(matches!(
            a.create_user(admin("b@example.com", "short")).await,
            Err(ServiceError::Invalid { code: "weak_password", .. })
        ));
        assert!(matches!(
            a.create_user(admin("not-an-email", "a long enough password")).await,
            Err(ServiceError::Invalid { code: "invalid_email", .. })
        ));
        assert_eq!(a.count_users().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn change_password_checks_the_current_one() {
        let (_d, a) = accounts().await;
        let u = a.create_user(admin("a@example.com", "a long enough password")).await.unwrap();
        assert!(matches!(
            a.change_password(&u.id, "wrong current pw", "another long password").await,
            Err(ServiceError::Invalid { code: "wrong_current_password", .. })
        ));
        a.change_password(&u.id, "a long enough password", "another long password").await.unwrap();
        assert!(a.sign_in("a@example.com", "another long password", "x").await.is_ok());
        assert!(a.sign_in("a@example.com", "a long enough password", "x").await.is_err());
    }

    #[tokio::test]
    async fn reset_password_needs_no_current_one_but_a_good_new_one() {
        let (_d, a) = accounts().await;
        a.create_user(admin("a@example.com", "a long enough password")).await.unwrap();
        assert!(matches!(a.reset_password("A@example.com", "short").await, Err(ServiceError::Invalid { code: "weak_password", .. })));
        assert!(matches!(a.reset_password("b@example.com", "another long password").await, Err(ServiceError::NotFound { .. })));
        assert!(a.sign_in("a@example.com", "a long enough password", "x").await.is_ok());
        a.reset_password("A@example.com", "another long password").await.unwrap();
        assert!(a.sign_in("a@example.com", "another long password", "x").await.is_ok());
        assert!(a.sign_in("a@example.com", "a long enough password", "x").await.is_err());
    }

    #[tokio::test]
    async fn guessing_the_current_password_is_throttled() {
        let (_d, a) = accounts().await;
        let u = a.create_user(admin("a@example.com", "a long enough password")).await.unwrap();
        for _ in 0..ACCOUNT_THROTTLE.max_failures {
            assert!(matches!(
                a.change_password(&u.id, "a wrong guess!!", "another long password").await,
                Err(ServiceError::Invalid { code: "wrong_current_password", .. })
            ));
        }
        assert!(matches!(
            a.change_password(&u.id, "a long enough password", "another long password").await,
            Err(ServiceError::Throttled { .. })
        ));
    }
}
