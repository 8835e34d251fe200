//! The gateway's traffic as charts: per API (admin), per app (the admin, and the consumer for
//! their own organisation's apps). Drawn on the server; see `ssr_traffic`.

use leptos::prelude::*;

pub use crate::api::dashboard::ChartView;
use crate::error::AppError;

/// An API's charts: `window` is `day` (per minute, last 24 hours; the default) or `month` (per
/// hour, last 30 days).
#[server(prefix = "/fn", endpoint = "api_traffic")]
pub async fn api_traffic(id: String, window: Option<String>) -> Result<Vec<ChartView>, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    let api = ssr::services()?.apis.get(&id).await.map_err(ssr::service_error)?;
    crate::ssr_traffic::api_charts(&api.id, &api.spec.name, window.as_deref())
}

/// An app's charts (per hour, last 7 days), for the admin.
#[server(prefix = "/fn", endpoint = "admin_app_traffic")]
pub async fn admin_app_traffic(id: String) -> Result<Vec<ChartView>, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let services = ssr::services()?;
    let app = services.apps.get(&crate::ssr_portal::admin_actor(&admin), &id).await.map_err(ssr::service_error)?;
    Ok(crate::ssr_traffic::app_charts(&app.id, &app.name))
}

/// One of the consumer's own apps' charts (per hour, last 7 days). Another organisation's app
/// is not found, as everywhere in the developer portal.
#[server(prefix = "/fn", endpoint = "portal_app_traffic")]
pub async fn portal_app_traffic(id: String) -> Result<Vec<ChartView>, AppError> {
    let (services, actor) = crate::api::portal::server::consumer().await?;
    let app = services.apps.get(&actor, &id).await.map_err(crate::ssr::service_error)?;
    Ok(crate::ssr_traffic::app_charts(&app.id, &app.name))
}
