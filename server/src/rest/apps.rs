//! `/apps`: every consumer app, for the admin (optionally of one organisation).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use certgate_core::problem::Problem;
use certgate_services::portal::apps::AppRecord;
use certgate_services::portal::Actor;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pagination::{Page, PageQuery};
use super::{query, AdminCaller, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_apps))
}

/// A consumer app as the admin sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminApp {
    pub id: String,
    pub name: String,
    /// Organisation id.
    pub organisation: String,
    /// The user who created it.
    pub owner: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Products it has a pending request or a subscription for.
    pub products: usize,
}

/// Filter and paging of the app list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AppQuery {
    /// Only this organisation's apps.
    pub organisation: Option<String>,
    /// Items per page: 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, unchanged.
    pub cursor: Option<String>,
}

/// Apps by id (a stable order the store pages in: a page reads only its own apps).
#[utoipa::path(get, path = "/apps", tag = "apps", params(AppQuery), security(("admin_token" = []), ("session" = [])),
    responses((status = 200, description = "One page of apps", body = Page<AdminApp>),
              (status = 400, description = "Bad limit, cursor or parameter", body = Problem, content_type = "application/problem+json")))]
async fn list_apps(caller: AdminCaller, State(state): State<AppState>, params: Result<Query<AppQuery>, QueryRejection>) -> Result<Json<Page<AdminApp>>, RestError> {
    let params = query(params, "invalid_query")?;
    let actor = Actor::Admin { name: caller.actor.clone() };
    let page = PageQuery { limit: params.limit, cursor: params.cursor };
    let (limit, after) = page.bounds::<String>("apps", &caller.actor)?;
    let found = state.services.apps.page_admin(&actor, params.organisation.as_deref(), after, limit).await?;
    let page: Page<AppRecord> = PageQuery::cut(found.items, found.more, |a| a.id.clone(), "apps", &caller.actor)?;
    // Counted for this page only: one index range per app.
    let counts = state.services.apps.product_counts(page.items.iter().map(|a| a.id.clone()).collect()).await?;
    let mut counts = counts.into_iter();
    Ok(Json(page.map(|a| AdminApp {
        id: a.id,
        name: a.name,
        organisation: a.organisation,
        owner: a.owner,
        created_at: a.created_at,
        products: counts.next().unwrap_or_default(),
    })))
}
