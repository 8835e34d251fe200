//! An organisation's own administrator (`org_admin`) manages its members: lists them and
//! invites new ones (always as `member`: an invitation never chooses a role or another
//! organisation). A member gets 403; a user of another organisation is 404, like a missing id.

use crate::account_links::LinkKind;
use crate::accounts::{Accounts, OrgRole, UserRecord};
use crate::consumers::NewConsumer;
use crate::portal::Actor;
use crate::ServiceError;

/// The organisation an org admin manages; anyone else is refused.
fn managed_organisation(actor: &Actor) -> Result<&str, ServiceError> {
    match actor {
        Actor::Consumer { organisation, role: OrgRole::OrgAdmin, .. } => Ok(organisation),
        _ => Err(ServiceError::Forbidden { message: "Only your organisation's administrators manage its members.".into() }),
    }
}

impl Accounts {
    /// The users of the org admin's organisation, by email.
    pub async fn members(&self, actor: &Actor) -> Result<Vec<UserRecord>, ServiceError> {
        let organisation = managed_organisation(actor)?.to_string();
        let mut users: Vec<UserRecord> =
            self.list_users().await?.into_iter().filter(|u| u.organisation_id.as_deref() == Some(organisation.as_str())).collect();
        users.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(users)
    }

    /// Creates a member of the org admin's organisation without a password and answers it
    /// with its invite token (shown once; the store keeps only its hash).
    pub async fn invite_member(&self, actor: &Actor, email: &str) -> Result<(UserRecord, String), ServiceError> {
        let organisation = managed_organisation(actor)?;
        let new = NewConsumer { email, password: None, organisation_id: organisation, org_role: OrgRole::Member };
        let user = self.create_consumer(new, actor.audit_name()).await?;
        let token = self.issue_link(&user.id, LinkKind::Invite, actor.audit_name()).await?;
        Ok((user, token))
    }

    /// A new invite token for a member of the org admin's organisation who has not set a
    /// password yet (it replaces the earlier one).
    pub async fn reinvite_member(&self, actor: &Actor, user_id: &str) -> Result<String, ServiceError> {
        let organisation = managed_organisation(actor)?;
        let user = self.get_user(user_id).await?.filter(|u| u.organisation_id.as_deref() == Some(organisation));
        let Some(user) = user else { return Err(ServiceError::NotFound { what: "user" }) };
        // The link sets the account's password: for another org admin it would hand over an
        // account of the same rank (and void the platform admin's link to it).
        if user.org_role == Some(OrgRole::OrgAdmin) {
            return Err(ServiceError::Forbidden { message: "Only the API provider's administrator invites an organisation administrator.".into() });
        }
        self.issue_link(&user.id, LinkKind::Invite, actor.audit_name()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn an_org_admin_invites_members_of_their_organisation_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let accounts = Accounts::new(store.clone());
        let organisations = crate::organisations::Organisations::new(store);
        let (acme, globex) = (organisations.create("Acme").await.unwrap().id, organisations.create("Globex").await.unwrap().id);
        let admin_of = |org: &str| Actor::Consumer { user: "usr_boss".into(), organisation: org.to_string(), role: OrgRole::OrgAdmin };
        let (member, token) = accounts.invite_member(&admin_of(&acme), "new@acme.example").await.unwrap();
        assert_eq!((member.organisation_id.as_deref(), member.org_role), (Some(acme.as_str()), Some(OrgRole::Member)));
        assert!(!member.has_password() && token.len() >= 40);
        assert_eq!(accounts.members(&admin_of(&acme)).await.unwrap().len(), 1);
        assert!(accounts.members(&admin_of(&globex)).await.unwrap().is_empty());
        // Globex's org admin cannot reach Acme's member; a member manages nobody.
        assert!(matches!(accounts.reinvite_member(&admin_of(&globex), &member.id).await, Err(ServiceError::NotFound { .. })));
        let plain = Actor::Consumer { user: member.id.clone(), organisation: acme.clone(), role: OrgRole::Member };
        assert!(matches!(accounts.members(&plain).await, Err(ServiceError::Forbidden { .. })));
        assert!(matches!(accounts.invite_member(&plain, "x@acme.example").await, Err(ServiceError::Forbidden { .. })));
        assert!(accounts.reinvite_member(&admin_of(&acme), &member.id).await.is_ok());
        // A pending org admin is not a member the org admin re-invites (it would take the account).
        let peer = NewConsumer { email: "peer@acme.example", password: None, organisation_id: &acme, org_role: OrgRole::OrgAdmin };
        let peer = accounts.create_consumer(peer, "admin").await.unwrap();
        assert!(matches!(accounts.reinvite_member(&admin_of(&acme), &peer.id).await, Err(ServiceError::Forbidden { .. })));
    }
}
