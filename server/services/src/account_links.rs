//! Invite and password-reset links: a random 256-bit token shown once, stored only as its
//! SHA-256, single-use, expiring, revocable, one live link of each kind per user.

use certgate_core::password::check_new_password;
use certgate_core::throttle::ThrottlePolicy;
use certgate_core::UnixSeconds;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use crate::accounts::{hash_password, load_user, lock, Accounts, Role, UserRecord};
use crate::sessions::Sessions;
use crate::store::codec::{self, Versioned};
use crate::store::tables;
use crate::{clock, ids, ServiceError};

pub const INVITE_TTL_SECS: i64 = 72 * 60 * 60;
pub const RESET_TTL_SECS: i64 = 24 * 60 * 60;
/// Failed redemptions (unknown, used, revoked or expired tokens) per client address.
pub const REDEEM_THROTTLE: ThrottlePolicy = ThrottlePolicy { max_failures: 10, window_secs: 15 * 60 };
const PRUNE_AT: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Invite,
    Reset,
}

impl LinkKind {
    fn ttl(self) -> i64 {
        match self {
            LinkKind::Invite => INVITE_TTL_SECS,
            LinkKind::Reset => RESET_TTL_SECS,
        }
    }

    fn name(self) -> &'static str {
        match self {
            LinkKind::Invite => "invite",
            LinkKind::Reset => "reset",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkRecord {
    pub user_id: String,
    pub kind: LinkKind,
    pub created_at: UnixSeconds,
    pub expires_at: UnixSeconds,
}

impl Versioned for LinkRecord {
    const VERSION: u8 = 1;
}

/// Whether a stored link may be redeemed as `kind` at `now` (pure).
pub fn link_usable(record: &LinkRecord, kind: LinkKind, now: UnixSeconds) -> bool {
    record.kind == kind && now < record.expires_at
}

fn by_user_key(user_id: &str, kind: LinkKind) -> String {
    format!("{user_id}/{}", kind.name())
}

fn invalid_link() -> ServiceError {
    ServiceError::invalid("invalid_link", "This link is not valid: it was used or revoked, or it expired. Ask for a new one.")
}

impl Accounts {
    /// Makes a new link of `kind` for a consumer (replacing the previous one of that kind) and
    /// returns its token: the only time it exists outside the link.
    pub async fn issue_link(&self, user_id: &str, kind: LinkKind, actor: &str) -> Result<String, ServiceError> {
        self.issue_link_at(user_id, kind, actor, clock::now()).await
    }

    pub async fn issue_link_at(&self, user_id: &str, kind: LinkKind, actor: &str, now: UnixSeconds) -> Result<String, ServiceError> {
        let token = ids::new_secret();
        let hash = ids::sha256_hex(token.as_bytes());
        let (user_id, actor) = (user_id.to_string(), actor.to_string());
        self.store
            .write(move |txn| {
                let user = load_user(&txn.open_table(tables::USERS)?, &user_id)?.ok_or(ServiceError::NotFound { what: "user" })?;
                if user.role != Role::Consumer {
                    return Err(ServiceError::invalid("not_a_consumer", "Administrators are not managed through this API."));
                }
                if user.disabled {
                    return Err(ServiceError::Conflict { code: "user_disabled", message: "Enable the user first.".into() });
                }
                if kind == LinkKind::Invite && user.has_password() {
                    return Err(ServiceError::Conflict {
                        code: "has_password",
                        message: "This user already has a password: make a password-reset link instead.".into(),
                    });
                }
                let key = by_user_key(&user_id, kind);
                let mut by_user = txn.open_table(tables::ACCOUNT_LINKS_BY_USER)?;
                let mut links = txn.open_table(tables::ACCOUNT_LINKS)?;
                if let Some(old) = by_user.get(key.as_str())?.map(|v| v.value().to_string()) {
                    links.remove(old.as_str())?;
                }
                let record = LinkRecord { user_id: user_id.clone(), kind, created_at: now, expires_at: now + kind.ttl() };
                links.insert(hash.as_str(), codec::encode(&record)?.as_slice())?;
                by_user.insert(key.as_str(), hash.as_str())?;
                drop((links, by_user));
                crate::audit::record(txn, &actor, &format!("user.{}_link_issued", kind.name()), &user_id, user.email)?;
                Ok(())
            })
            .await?;
        Ok(token)
    }

    /// Revokes the live link of `kind` of a user; NotFound when there is none.
    pub async fn revoke_link(&self, user_id: &str, kind: LinkKind, actor: &str) -> Result<(), ServiceError> {
        let (user_id, actor) = (user_id.to_string(), actor.to_string());
        self.store
            .write(move |txn| {
                let key = by_user_key(&user_id, kind);
                let mut by_user = txn.open_table(tables::ACCOUNT_LINKS_BY_USER)?;
                let hash = by_user.remove(key.as_str())?.map(|v| v.value().to_string()).ok_or(ServiceError::NotFound { what: "link" })?;
                txn.open_table(tables::ACCOUNT_LINKS)?.remove(hash.as_str())?;
                drop(by_user);
                crate::audit::record(txn, &actor, &format!("user.{}_link_revoked", kind.name()), &user_id, String::new())
            })
            .await
    }

    /// Redeems a link: sets the password and uses the link up. Returns the user, for the caller
    /// to end their other sessions and sign them in.
    pub async fn redeem_link(&self, kind: LinkKind, token: &str, password: &str, client_address: &str) -> Result<UserRecord, ServiceError> {
        self.redeem_link_at(kind, token, password, client_address, clock::now()).await
    }

    pub async fn redeem_link_at(
        &self,
        kind: LinkKind,
        token: &str,
        password: &str,
        client_address: &str,
        now: UnixSeconds,
    ) -> Result<UserRecord, ServiceError> {
        REDEEM_THROTTLE
            .check(lock(&self.links_by_address).get(client_address), now)
            .map_err(|t| ServiceError::Throttled { retry_after_secs: t.retry_after_secs })?;
        let hash = ids::sha256_hex(token.as_bytes());
        let lookup = hash.clone();
        let found = self
            .store
            .read(move |txn| {
                let Some(bytes) = txn.open_table(tables::ACCOUNT_LINKS)?.get(lookup.as_str())?.map(|v| v.value().to_vec()) else {
                    return Ok(None);
                };
                let record: LinkRecord = codec::decode("account_links", &lookup, &bytes)?;
                Ok(load_user(&txn.open_table(tables::USERS)?, &record.user_id)?.map(|u| (record, u)))
            })
            .await?;
        let user = match found {
            Some((record, user)) if link_usable(&record, kind, now) && !user.disabled => user,
            _ => {
                self.record_link_failure(client_address, now);
                return Err(invalid_link());
            }
        };
        check_new_password(password, &user.email).map_err(|r| ServiceError::invalid("weak_password", r.message()))?;
        let password = password.to_string();
        let phc = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))??;
        let user_id = user.id.clone();
        self.store
            .write(move |txn| {
                // Checked again under the one writer: of two concurrent redemptions, one wins.
                let mut links = txn.open_table(tables::ACCOUNT_LINKS)?;
                let record: Option<LinkRecord> = match links.get(hash.as_str())? {
                    Some(v) => Some(codec::decode("account_links", &hash, v.value())?),
                    None => None,
                };
                match record {
                    Some(r) if r.user_id == user_id && link_usable(&r, kind, now) => {}
                    _ => return Err(invalid_link()),
                }
                links.remove(hash.as_str())?;
                txn.open_table(tables::ACCOUNT_LINKS_BY_USER)?.remove(by_user_key(&user_id, kind).as_str())?;
                drop(links);
                let mut users = txn.open_table(tables::USERS)?;
                let mut user = load_user(&users, &user_id)?.ok_or_else(invalid_link)?;
                user.password_hash = phc;
                user.password_changed_at = now;
                users.insert(user_id.as_str(), codec::encode(&user)?.as_slice())?;
                drop(users);
                crate::audit::record(txn, &user_id, &format!("user.{}_link_redeemed", kind.name()), &user_id, user.email.clone())?;
                Ok(user)
            })
            .await
    }

    fn record_link_failure(&self, address: &str, now: UnixSeconds) {
        let mut map = lock(&self.links_by_address);
        let next = REDEEM_THROTTLE.record_failure(map.get(address).copied(), now);
        map.insert(address.to_string(), next);
        if map.len() > PRUNE_AT {
            map.retain(|_, w| REDEEM_THROTTLE.is_live(w, now));
        }
    }
}

/// A link redeemed and its user signed in afresh.
#[derive(Debug)]
pub struct Redeemed {
    pub user: UserRecord,
    /// The new session's secret, for the cookie (never stored).
    pub session_secret: String,
}

/// Redeems a link and signs its user in: the new password ends every session the account had,
/// and the session the request came with (`request_session`, a hash: maybe another user's),
/// then one new session starts. The one way the REST route and the portal page redeem.
pub async fn redeem_and_sign_in(
    accounts: &Accounts,
    sessions: &Sessions,
    kind: LinkKind,
    token: &str,
    password: &str,
    client_address: &str,
    request_session: Option<&str>,
) -> Result<Redeemed, ServiceError> {
    let user = accounts.redeem_link(kind, token, password, client_address).await?;
    sessions.end_all_for_user_except(&user.id, None).await?;
    if let Some(old) = request_session {
        sessions.end_by_hash(old).await?;
    }
    let session_secret = sessions.start(&user.id).await?;
    tracing::info!(user = %user.id, "link redeemed");
    Ok(Redeemed { user, session_secret })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::OrgRole;
    use crate::consumers::NewConsumer;
    use crate::store::Store;

    const PW: &str = "a long enough password";

    async fn setup() -> (tempfile::TempDir, Accounts, UserRecord) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let org = crate::organisations::Organisations::new(store.clone()).create("Acme").await.unwrap();
        let a = Accounts::new(store);
        let u = a
            .create_consumer(NewConsumer { email: "c@example.com", password: None, organisation_id: &org.id, org_role: OrgRole::Member }, "t")
            .await
            .unwrap();
        (dir, a, u)
    }

    #[test]
    fn a_link_is_usable_for_its_kind_until_it_expires() {
        let r = LinkRecord { user_id: "u".into(), kind: LinkKind::Invite, created_at: 0, expires_at: INVITE_TTL_SECS };
        assert!(link_usable(&r, LinkKind::Invite, 0));
        assert!(link_usable(&r, LinkKind::Invite, INVITE_TTL_SECS - 1));
        assert!(!link_usable(&r, LinkKind::Invite, INVITE_TTL_SECS));
        assert!(!link_usable(&r, LinkKind::Reset, 0));
    }

    #[tokio::test]
    async fn an_invite_expires_after_72_hours() {
        let (_d, a, u) = setup().await;
        let now = clock::now();
        let token = a.issue_link_at(&u.id, LinkKind::Invite, "t", now).await.unwrap();
        let late = now + INVITE_TTL_SECS + 1;
        assert!(matches!(a.redeem_link_at(LinkKind::Invite, &token, PW, "x", late).await, Err(ServiceError::Invalid { code: "invalid_link", .. })));
        // Within 72 h it works.
        assert!(a.redeem_link_at(LinkKind::Invite, &token, PW, "x", now + INVITE_TTL_SECS - 60).await.is_ok());
    }

    #[tokio::test]
    async fn an_invite_works_once_is_not_a_reset_and_a_new_one_replaces_the_old() {
        let (dir, a, u) = setup().await;
        let first = a.issue_link(&u.id, LinkKind::Invite, "t").await.unwrap();
        let second = a.issue_link(&u.id, LinkKind::Invite, "t").await.unwrap();
        assert!(matches!(a.redeem_link(LinkKind::Invite, &first, PW, "x").await, Err(ServiceError::Invalid { code: "invalid_link", .. })));
        assert!(matches!(a.redeem_link(LinkKind::Reset, &second, PW, "x").await, Err(ServiceError::Invalid { code: "invalid_link", .. })));
        // A weak password is refused and the link stays usable.
        assert!(matches!(a.redeem_link(LinkKind::Invite, &second, "short", "x").await, Err(ServiceError::Invalid { code: "weak_password", .. })));
        a.redeem_link(LinkKind::Invite, &second, PW, "x").await.unwrap();
        assert!(a.sign_in("c@example.com", PW, "x").await.is_ok());
        assert!(a.redeem_link(LinkKind::Invite, &second, "another long password", "x").await.is_err());
        // A user with a password gets reset links, not invites.
        assert!(matches!(a.issue_link(&u.id, LinkKind::Invite, "t").await, Err(ServiceError::Conflict { code: "has_password", .. })));
        drop(a);
        let raw = std::fs::read(dir.path().join(crate::store::STORE_FILE)).unwrap();
        assert!(!raw.windows(second.len()).any(|w| w == second.as_bytes()), "the token is in the file");
    }

    #[tokio::test]
    async fn a_revoked_link_is_refused() {
        let (_d, a, u) = setup().await;
        let token = a.issue_link(&u.id, LinkKind::Invite, "t").await.unwrap();
        a.revoke_link(&u.id, LinkKind::Invite, "t").await.unwrap();
        assert!(matches!(a.revoke_link(&u.id, LinkKind::Invite, "t").await, Err(ServiceError::NotFound { .. })));
        assert!(a.redeem_link(LinkKind::Invite, &token, PW, "x").await.is_err());
    }

    #[tokio::test]
    async fn redeeming_ends_the_old_sessions_starts_one_and_works_once() {
        let (_d, a, u) = setup().await;
        let sessions = Sessions::new(a.store.clone(), Default::default());
        let token = a.issue_link(&u.id, LinkKind::Invite, "t").await.unwrap();
        // A session of this user (an earlier one) and the request's own, of another user.
        let earlier = sessions.start(&u.id).await.unwrap();
        let other = a
            .create_consumer(NewConsumer { email: "o@example.com", password: Some(PW), organisation_id: u.organisation_id.as_deref().unwrap(), org_role: OrgRole::Member }, "t")
            .await
            .unwrap();
        let others = sessions.start(&other.id).await.unwrap();
        let others_hash = ids::sha256_hex(others.as_bytes());
        let redeemed = redeem_and_sign_in(&a, &sessions, LinkKind::Invite, &token, PW, "x", Some(&others_hash)).await.unwrap();
        assert_eq!(redeemed.user.id, u.id);
        assert!(sessions.resolve(&earlier).await.unwrap().is_none(), "the account's old session lives on");
        assert!(sessions.resolve(&others).await.unwrap().is_none(), "the request's old session lives on");
        assert_eq!(sessions.resolve(&redeemed.session_secret).await.unwrap().map(|s| s.user.id), Some(u.id.clone()));
        // Twice: refused, and the new session stays.
        let again = redeem_and_sign_in(&a, &sessions, LinkKind::Invite, &token, "another long password", "x", None).await;
        assert!(matches!(again, Err(ServiceError::Invalid { code: "invalid_link", .. })));
        assert!(sessions.resolve(&redeemed.session_secret).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn guessing_tokens_is_throttled_per_address() {
        let (_d, a, u) = setup().await;
        let token = a.issue_link(&u.id, LinkKind::Invite, "t").await.unwrap();
        for _ in 0..REDEEM_THROTTLE.max_failures {
            assert!(a.redeem_link(LinkKind::Invite, &ids::new_secret(), PW, "6.6.6.6").await.is_err());
        }
        assert!(matches!(a.redeem_link(LinkKind::Invite, &token, PW, "6.6.6.6").await, Err(ServiceError::Throttled { .. })));
        assert!(a.redeem_link(LinkKind::Invite, &token, PW, "7.7.7.7").await.is_ok());
    }
}
