//! An organisation's page (admin): its consumers and their roles, invite and password-reset
//! links, disabling a user, and suspending the organisation.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::products::Named;
use crate::error::AppError;

/// A consumer as the organisation page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerView {
    pub id: String,
    pub email: String,
    /// `org_admin` or `member`.
    pub role: String,
    pub disabled: bool,
    /// Without a password the account waits for its invite.
    pub has_password: bool,
    pub created_at: String,
}

/// An organisation with its consumers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationDetail {
    pub id: String,
    pub name: String,
    /// When it was suspended, while it is.
    pub suspended_at: Option<String>,
    pub consumers: Vec<ConsumerView>,
    pub certificates: Vec<Named>,
    pub apps: Vec<Named>,
}

/// A link shown once: the token is in the fragment (never sent to a server or a log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLink {
    pub email: String,
    /// `invite` or `reset`.
    pub kind: String,
    pub url: String,
    pub expires_at: String,
}

pub fn role_label(role: &str) -> &'static str {
    match role {
        "org_admin" => "Organisation admin (manages every app of the organisation)",
        _ => "Member (manages the apps they create)",
    }
}

#[server(prefix = "/fn", endpoint = "get_organisation")]
pub async fn get_organisation(id: String) -> Result<OrganisationDetail, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_accounts::organisation_detail(&ssr::services()?, &admin, &id).await
}

/// Adds a consumer without a password: they set one through an invite link.
#[server(prefix = "/fn", endpoint = "add_consumer")]
pub async fn add_consumer(organisation_id: String, email: String, role: String) -> Result<ConsumerView, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_accounts::add_consumer(&ssr::services()?, &admin, &organisation_id, &email, &role).await
}

/// Makes an invite (`kind` = `invite`) or password-reset (`reset`) link, shown once.
#[server(prefix = "/fn", endpoint = "make_account_link")]
pub async fn make_account_link(user_id: String, kind: String) -> Result<AccountLink, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    ssr::require_script("The link")?;
    crate::ssr_accounts::make_link(&ssr::services()?, &admin, &user_id, &kind).await
}

/// Disables (`disabled` = `yes`; their sessions end at once) or enables a consumer.
#[server(prefix = "/fn", endpoint = "set_consumer_disabled")]
pub async fn set_consumer_disabled(user_id: String, disabled: String) -> Result<ConsumerView, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_accounts::set_disabled(&ssr::services()?, &admin, &user_id, &disabled).await
}

#[server(prefix = "/fn", endpoint = "set_consumer_role")]
pub async fn set_consumer_role(user_id: String, role: String) -> Result<ConsumerView, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_accounts::set_role(&ssr::services()?, &admin, &user_id, &role).await
}

/// Suspends (`suspended` = `yes`) or resumes an organisation: the gateway follows from the
/// next request.
#[server(prefix = "/fn", endpoint = "set_organisation_suspended")]
pub async fn set_organisation_suspended(id: String, suspended: String) -> Result<(), AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_accounts::set_suspended(&ssr::services()?, &admin, &id, &suspended).await
}
