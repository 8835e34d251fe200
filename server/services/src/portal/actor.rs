//! Who is acting, carried by every portal call.

use crate::ServiceError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The API owner (an admin session or an admin token), for the audit log by this name.
    Admin { name: String },
    /// A consumer of one organisation.
    Consumer { user: String, organisation: String },
}

impl Actor {
    /// The name in the audit log.
    pub fn audit_name(&self) -> &str {
        match self {
            Actor::Admin { name } => name,
            Actor::Consumer { user, .. } => user,
        }
    }

    /// Whether the actor may see objects of `organisation`. Anything else answers `NotFound`.
    pub fn sees(&self, organisation: &str) -> bool {
        match self {
            Actor::Admin { .. } => true,
            Actor::Consumer { organisation: own, .. } => own == organisation,
        }
    }

    pub fn require_admin(&self) -> Result<(), ServiceError> {
        match self {
            Actor::Admin { .. } => Ok(()),
            Actor::Consumer { .. } => Err(ServiceError::Forbidden { message: "This needs an administrator.".into() }),
        }
    }
}
