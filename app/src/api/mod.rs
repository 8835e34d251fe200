//! The portal's server functions and the view types they return.
//!
//! Each is a public POST endpoint under `/fn/`: it authenticates and authorises first
//! (`ssr::require_*`), then calls a service. Keep them thin.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The signed-in user, as the UI sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub email: String,
    pub display_name: String,
    pub is_admin: bool,
    pub organisation: Option<String>,
}

/// An organisation, as the admin screens show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationView {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub suspended: bool,
}

#[server(prefix = "/fn", endpoint = "current_user")]
pub async fn current_user() -> Result<Me, AppError> {
    use crate::ssr;
    let session = ssr::require_user(&ssr::request_auth())?;
    let organisation = match &session.user.organisation_id {
        Some(id) => ssr::services()?.organisations.get(id).await.ok().map(|o| o.name),
        None => None,
    };
    Ok(ssr::me(&session.user, organisation))
}

#[server(prefix = "/fn", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::ssr;
    let auth = ssr::request_auth();
    let services = ssr::services()?;
    let user = services
        .accounts
        .sign_in(&email, &password, &auth.client_address)
        .await
        .map_err(ssr::service_error)?;
    // A new id at every sign-in; the old session (if any) ends.
    if let Some(old) = &auth.session {
        let _ = services.sessions.end_by_hash(&old.session_hash).await;
    }
    let secret = services.sessions.start(&user.id).await.map_err(ssr::service_error)?;
    ssr::set_session_cookie(&secret, &auth);
    tracing::info!(user = %user.id, "signed in");
    let home = if user.role == certgate_services::accounts::Role::Admin { "/admin" } else { "/" };
    leptos_axum::redirect(&ssr::safe_next(next.as_deref(), home));
    Ok(())
}

#[server(prefix = "/fn", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::ssr;
    let auth = ssr::request_auth();
    let session = ssr::require_user(&auth)?;
    ssr::services()?.sessions.end_by_hash(&session.session_hash).await.map_err(ssr::service_error)?;
    ssr::clear_session_cookie(&auth);
    leptos_axum::redirect("/signin");
    Ok(())
}

#[server(prefix = "/fn", endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String, confirm_password: String) -> Result<(), AppError> {
    use crate::ssr;
    let auth = ssr::request_auth();
    let session = ssr::require_user(&auth)?;
    if new_password != confirm_password {
        ssr::set_status(400);
        return Err(AppError::new("passwords_differ", "The new password and its confirmation differ."));
    }
    let services = ssr::services()?;
    services
        .accounts
        .change_password(&session.user.id, &current_password, &new_password)
        .await
        .map_err(ssr::service_error)?;
    let ended = services
        .sessions
        .end_all_for_user_except(&session.user.id, Some(&session.session_hash))
        .await
        .map_err(ssr::service_error)?;
    tracing::info!(user = %session.user.id, other_sessions_ended = ended, "password changed");
    Ok(())
}

#[server(prefix = "/fn", endpoint = "list_organisations")]
pub async fn list_organisations() -> Result<Vec<OrganisationView>, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    let orgs = ssr::services()?.organisations.list().await.map_err(ssr::service_error)?;
    Ok(orgs.into_iter().map(ssr::organisation_view).collect())
}

#[server(prefix = "/fn", endpoint = "create_organisation")]
pub async fn create_organisation(name: String) -> Result<OrganisationView, AppError> {
    use crate::ssr;
    let auth = ssr::request_auth();
    let admin = ssr::require_admin(&auth)?;
    let org = ssr::services()?.organisations.create(&name).await.map_err(ssr::service_error)?;
    tracing::info!(admin = %admin.user.id, organisation = %org.id, "organisation created");
    ssr::go_after_form_post(&format!("/admin/organisations?created={}", ssr::query_value(&org.id)));
    Ok(ssr::organisation_view(org))
}

#[server(prefix = "/fn", endpoint = "rename_organisation")]
pub async fn rename_organisation(id: String, name: String) -> Result<OrganisationView, AppError> {
    use crate::ssr;
    let auth = ssr::request_auth();
    let admin = ssr::require_admin(&auth)?;
    let org = ssr::services()?.organisations.rename(&id, &name).await.map_err(ssr::service_error)?;
    tracing::info!(admin = %admin.user.id, organisation = %org.id, "organisation renamed");
    Ok(ssr::organisation_view(org))
}

pub mod apis;
pub mod audit;
pub mod certificates;
pub mod changes;
pub mod consumers;
pub mod dashboard;
pub mod impact;
pub mod keys;
pub mod plans;
pub mod products;
pub mod requests;
pub mod traffic;
pub mod portal;
pub mod usage;
pub mod webhooks;
