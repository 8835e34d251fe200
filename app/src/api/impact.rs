//! Dry runs of destructive admin actions: what deleting or revoking would stop, counted from
//! the store, said before the admin confirms (nothing changes here).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What a destructive action stops, as the confirmation shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Impact {
    /// What stops working, one sentence each, with counts from the store.
    pub lines: Vec<String>,
    /// Why the action would be refused now (nothing would change), if it would.
    pub refusal: Option<String>,
}

/// What deleting the API would stop.
#[server(prefix = "/fn", endpoint = "api_delete_impact")]
pub async fn api_delete_impact(id: String) -> Result<Impact, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_impact::api_deletion(&ssr::services()?, &id).await
}

/// What deleting the organisation would meet.
#[server(prefix = "/fn", endpoint = "organisation_delete_impact")]
pub async fn organisation_delete_impact(id: String) -> Result<Impact, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_impact::organisation_deletion(&ssr::services()?, &id).await
}

/// Deletes an organisation that nothing belongs to any more; the box must be ticked. Goes back
/// to the list, which says what was deleted.
#[server(prefix = "/fn", endpoint = "delete_organisation")]
pub async fn delete_organisation(id: String, confirm: Option<String>) -> Result<(), AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_portal::require_confirmation(confirm.as_deref())?;
    let services = ssr::services()?;
    let organisation = services.organisations.get(&id).await.map_err(ssr::service_error)?;
    services.organisations.delete(&id).await.map_err(ssr::service_error)?;
    tracing::info!(admin = %admin.user.id, organisation = %id, "organisation deleted");
    leptos_axum::redirect(&format!("/admin/organisations?deleted={}", ssr::query_value(&organisation.name)));
    Ok(())
}
