//! Who is acting, carried by every portal call.

use crate::accounts::OrgRole;
use crate::ServiceError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The API owner (an admin session or an admin token), for the audit log by this name.
    Admin { name: String },
    /// A consumer of one organisation, with their role in it.
    Consumer { user: String, organisation: String, role: OrgRole },
}

impl Actor {
    /// The name in the audit log.
    pub fn audit_name(&self) -> &str {
        match self {
            Actor::Admin { name } => name,
            Actor::Consumer { user, .. } => user,
        }
    }

    /// The consumer's organisation (`None` for the admin).
    pub fn organisation(&self) -> Option<&str> {
        match self {
            Actor::Admin { .. } => None,
            Actor::Consumer { organisation, .. } => Some(organisation),
        }
    }

    /// Whether the actor may see objects of `organisation` as a whole (its catalogue, its
    /// certificates). Anything else answers `NotFound`.
    pub fn sees(&self, organisation: &str) -> bool {
        match self {
            Actor::Admin { .. } => true,
            Actor::Consumer { organisation: own, .. } => own == organisation,
        }
    }

    /// Whether the actor manages an app of `organisation` created by `owner` (and so its
    /// requests, subscriptions and credentials): the admin every app, an org admin every app of
    /// their organisation, a member only the apps they created. Anything else answers
    /// `NotFound`, exactly like an id that does not exist.
    pub fn manages(&self, organisation: &str, owner: &str) -> bool {
        match self {
            Actor::Consumer { organisation: own, user, role: OrgRole::Member } => own == organisation && user == owner,
            _ => self.manages_every_app_of(organisation),
        }
    }

    /// Whether the actor manages every app of `organisation`: the admin, or its org admin.
    pub fn manages_every_app_of(&self, organisation: &str) -> bool {
        match self {
            Actor::Admin { .. } => true,
            Actor::Consumer { organisation: own, role: OrgRole::OrgAdmin, .. } => own == organisation,
            Actor::Consumer { role: OrgRole::Member, .. } => false,
        }
    }

    pub fn require_admin(&self) -> Result<(), ServiceError> {
        match self {
            Actor::Admin { .. } => Ok(()),
            Actor::Consumer { .. } => Err(ServiceError::Forbidden { message: "This needs an administrator.".into() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consumer(user: &str, organisation: &str, role: OrgRole) -> Actor {
        Actor::Consumer { user: user.into(), organisation: organisation.into(), role }
    }

    #[test]
    fn members_manage_their_own_apps_and_org_admins_every_app_of_their_organisation() {
        let member = consumer("usr_m", "org_a", OrgRole::Member);
        let org_admin = consumer("usr_o", "org_a", OrgRole::OrgAdmin);
        let admin = Actor::Admin { name: "admin-token".into() };
        assert!(member.manages("org_a", "usr_m"));
        assert!(!member.manages("org_a", "usr_o"), "a colleague's app");
        assert!(!member.manages("org_b", "usr_m"), "another organisation, even with the same owner id");
        assert!(org_admin.manages("org_a", "usr_m") && org_admin.manages("org_a", "usr_o"));
        assert!(!org_admin.manages("org_b", "usr_x"));
        assert!(admin.manages("org_b", "usr_x"));
        assert!(admin.manages_every_app_of("org_b") && org_admin.manages_every_app_of("org_a"));
        assert!(!org_admin.manages_every_app_of("org_b") && !member.manages_every_app_of("org_a"));
        // Organisation-wide visibility does not depend on the role.
        assert!(member.sees("org_a") && org_admin.sees("org_a") && !member.sees("org_b"));
        assert_eq!((member.organisation(), admin.organisation()), (Some("org_a"), None));
    }
}
