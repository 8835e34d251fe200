//! Sessions: random 256-bit ids given to the browser, stored only as SHA-256 hashes.

use certgate_core::session::{session_verdict, SessionPolicy, SessionVerdict};
use certgate_core::UnixSeconds;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use crate::accounts::{load_user, UserRecord};
use crate::store::codec::{self, Versioned};
use crate::store::{tables, Store};
use crate::{clock, ids, ServiceError};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub user_id: String,
    pub created_at: UnixSeconds,
    pub last_seen: UnixSeconds,
}

impl Versioned for SessionRecord {
    const VERSION: u8 = 1;
}

/// A session that checked out, with its user.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    /// SHA-256 hex of the session id: how the session is named in the store.
    pub session_hash: String,
    pub user: UserRecord,
}

#[derive(Clone)]
pub struct Sessions {
    store: Store,
    policy: SessionPolicy,
}

impl Sessions {
    pub fn new(store: Store, policy: SessionPolicy) -> Sessions {
        Sessions { store, policy }
    }

    pub fn policy(&self) -> &SessionPolicy {
        &self.policy
    }

    /// Starts a session for `user_id` (a sign-in, recorded in the audit log); returns the
    /// secret id for the cookie (never stored).
    pub async fn start(&self, user_id: &str) -> Result<String, ServiceError> {
        let secret = ids::new_secret();
        let hash = ids::sha256_hex(secret.as_bytes());
        let now = clock::now();
        let record = SessionRecord { user_id: user_id.to_string(), created_at: now, last_seen: now };
        self.store
            .write(move |txn| {
                txn.open_table(tables::SESSIONS)?.insert(hash.as_str(), codec::encode(&record)?.as_slice())?;
                let user = load_user(&txn.open_table(tables::USERS)?, &record.user_id)?;
                let (email, organisation) = user.map(|u| (u.email, u.organisation_id)).unwrap_or_default();
                crate::audit::record_in(txn, &record.user_id, "user.signed_in", &record.user_id, email, organisation.as_deref())
            })
            .await?;
        Ok(secret)
    }

    /// Resolves a cookie's session id. Expired sessions are deleted; a session whose user is
    /// gone, or who changed password after it started elsewhere, is not valid.
    pub async fn resolve(&self, secret: &str) -> Result<Option<ActiveSession>, ServiceError> {
        if secret.len() != 43 {
            return Ok(None);
        }
        let hash = ids::sha256_hex(secret.as_bytes());
        let lookup = hash.clone();
        let found = self
            .store
            .read(move |txn| {
                let Some(bytes) = txn.open_table(tables::SESSIONS)?.get(lookup.as_str())?.map(|v| v.value().to_vec())
                else {
                    return Ok(None);
                };
                let session: SessionRecord = codec::decode("sessions", &lookup, &bytes)?;
                let user = load_user(&txn.open_table(tables::USERS)?, &session.user_id)?;
                Ok(Some((session, user)))
            })
            .await?;
        let Some((session, user)) = found else { return Ok(None) };
        let now = clock::now();
        match (session_verdict(&self.policy, session.created_at, session.last_seen, now), user) {
            // A disabled (or not yet admitted) user's sessions end at their next request.
            (SessionVerdict::Valid { touch }, Some(user)) if user.is_active() => {
                if touch {
                    let touched = SessionRecord { last_seen: now, ..session };
                    let key = hash.clone();
                    self.store
                        .write(move |txn| {
                            let mut t = txn.open_table(tables::SESSIONS)?;
                            // Only touch a session that still exists (sign-out may have raced us).
                            if t.get(key.as_str())?.is_some() {
                                t.insert(key.as_str(), codec::encode(&touched)?.as_slice())?;
                            }
                            Ok(())
                        })
                        .await?;
                }
                Ok(Some(ActiveSession { session_hash: hash, user }))
            }
            _ => {
                self.end_by_hash(&hash).await?;
                Ok(None)
            }
        }
    }

    /// Ends the session with this cookie secret (sign-out). Unknown ids are fine.
    pub async fn end(&self, secret: &str) -> Result<(), ServiceError> {
        self.end_by_hash(&ids::sha256_hex(secret.as_bytes())).await
    }

    pub async fn end_by_hash(&self, hash: &str) -> Result<(), ServiceError> {
        let hash = hash.to_string();
        self.store
            .write(move |txn| {
                txn.open_table(tables::SESSIONS)?.remove(hash.as_str())?;
                Ok(())
            })
            .await
    }

    /// Ends every session of `user_id` except `keep_hash` (after a password change).
    pub async fn end_all_for_user_except(&self, user_id: &str, keep_hash: Option<&str>) -> Result<usize, ServiceError> {
        let (user_id, keep) = (user_id.to_string(), keep_hash.map(str::to_string));
        self.store
            .write(move |txn| {
                let mut table = txn.open_table(tables::SESSIONS)?;
                let mut doomed = Vec::new();
                for entry in table.iter()? {
                    let (k, v) = entry?;
                    let key = k.value().to_string();
                    let session: SessionRecord = codec::decode("sessions", &key, v.value())?;
                    if session.user_id == user_id && keep.as_deref() != Some(key.as_str()) {
                        doomed.push(key);
                    }
                }
                for key in &doomed {
                    table.remove(key.as_str())?;
                }
                Ok(doomed.len())
            })
            .await
    }

    /// Deletes expired sessions; run periodically.
    pub async fn purge_expired(&self) -> Result<usize, ServiceError> {
        let policy = self.policy;
        self.store
            .write(move |txn| {
                let now = clock::now();
                let mut table = txn.open_table(tables::SESSIONS)?;
                let mut doomed = Vec::new();
                for entry in table.iter()? {
                    let (k, v) = entry?;
                    let key = k.value().to_string();
                    // A record that does not decode is dropped too: it can never be resolved.
                    let expired = match codec::decode::<SessionRecord>("sessions", &key, v.value()) {
                        Ok(s) => !matches!(session_verdict(&policy, s.created_at, s.last_seen, now), SessionVerdict::Valid { .. }),
                        Err(_) => true,
                    };
                    if expired {
                        doomed.push(key);
                    }
                }
                for key in &doomed {
                    table.remove(key.as_str())?;
                }
                Ok(doomed.len())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{Accounts, NewUser, Role};

    async fn setup(policy: SessionPolicy) -> (tempfile::TempDir, Accounts, Sessions, UserRecord) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let accounts = Accounts::new(store.clone());
        let user = accounts
            .create_user(NewUser {
                email: "a@example.com",
                display_name: "A",
                password: "a long enough password",
                role: Role::Admin,
                organisation_id: None,
            })
            .await
            .unwrap();
        (dir, accounts, Sessions::new(store, policy), user)
    }

    #[tokio::test]
    async fn a_session_resolves_until_it_ends_and_only_its_hash_is_stored() {
        let (dir, _a, sessions, user) = setup(SessionPolicy::default()).await;
        let secret = sessions.start(&user.id).await.unwrap();
        let active = sessions.resolve(&secret).await.unwrap().unwrap();
        assert_eq!(active.user.id, user.id);
        assert_eq!(active.session_hash, ids::sha256_hex(secret.as_bytes()));
        sessions.end(&secret).await.unwrap();
        assert!(sessions.resolve(&secret).await.unwrap().is_none());
        drop(sessions);
        let raw = std::fs::read(dir.path().join(crate::store::STORE_FILE)).unwrap();
        assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()), "the session id is in the file");
    }

    #[tokio::test]
    async fn garbage_and_unknown_ids_resolve_to_nothing() {
        let (_d, _a, sessions, _u) = setup(SessionPolicy::default()).await;
        assert!(sessions.resolve("").await.unwrap().is_none());
        assert!(sessions.resolve(&ids::new_secret()).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn expired_sessions_are_refused() {
        let policy = SessionPolicy { idle_timeout_secs: 0, absolute_timeout_secs: 0, touch_interval_secs: 0 };
        let (_d, _a, sessions, user) = setup(policy).await;
        let secret = sessions.start(&user.id).await.unwrap();
        assert!(sessions.resolve(&secret).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_disabled_users_session_no_longer_resolves() {
        let (_d, accounts, sessions, _admin) = setup(SessionPolicy::default()).await;
        let org = crate::organisations::Organisations::new(accounts.store.clone()).create("Acme").await.unwrap();
        let new = crate::consumers::NewConsumer {
            email: "c@example.com",
            password: Some("a long enough password"),
            organisation_id: &org.id,
            org_role: crate::accounts::OrgRole::Member,
        };
        let user = accounts.create_consumer(new, "t").await.unwrap();
        let secret = sessions.start(&user.id).await.unwrap();
        assert!(sessions.resolve(&secret).await.unwrap().is_some());
        let disable = crate::consumers::ConsumerChange { disabled: Some(true), ..Default::default() };
        accounts.update_consumer(&user.id, disable, "t").await.unwrap();
        // Even before the caller deletes the sessions, the record itself refuses them.
        assert!(sessions.resolve(&secret).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn ending_all_but_one() {
        let (_d, _a, sessions, user) = setup(SessionPolicy::default()).await;
        let keep = sessions.start(&user.id).await.unwrap();
        let other = sessions.start(&user.id).await.unwrap();
        let keep_hash = ids::sha256_hex(keep.as_bytes());
        assert_eq!(sessions.end_all_for_user_except(&user.id, Some(&keep_hash)).await.unwrap(), 1);
        assert!(sessions.resolve(&keep).await.unwrap().is_some());
        assert!(sessions.resolve(&other).await.unwrap().is_none());
    }
}
