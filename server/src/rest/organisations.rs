//! `/organisations`: the consumers' organisations.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use certgate_core::problem::Problem;
use certgate_services::organisations::OrganisationRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pagination::{Page, PageQuery};
use super::{created, query, AdminCaller, JsonBody, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_organisations, create_organisation))
        .routes(routes!(get_organisation, rename_organisation, delete_organisation))
        .routes(routes!(suspend_organisation))
        .routes(routes!(resume_organisation))
}

/// An organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Organisation {
    pub id: String,
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Suspended: every credential of its apps is refused until it is resumed.
    pub suspended: bool,
}

impl From<OrganisationRecord> for Organisation {
    fn from(o: OrganisationRecord) -> Self {
        Organisation { id: o.id, name: o.name, created_at: o.created_at, updated_at: o.updated_at, suspended: o.suspended_at.is_some() }
    }
}

/// An organisation's name, to create or rename it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationBody {
    /// 1 to 100 characters, unique ignoring case.
    pub name: String,
}

/// Organisations by name (case-insensitive), then id.
#[utoipa::path(
    get,
    path = "/organisations",
    tag = "organisations",
    params(PageQuery),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "One page of organisations", body = Page<Organisation>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_organisations(
    admin: AdminCaller,
    State(state): State<AppState>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<Organisation>>, RestError> {
    let page = query(page, "invalid_query")?;
    let orgs = state.services.organisations.list().await?;
    let page = page.page(orgs, |o| (o.name.to_lowercase(), o.id.clone()), "organisations", &admin)?;
    Ok(Json(page.map(Organisation::from)))
}

#[utoipa::path(
    post,
    path = "/organisations",
    tag = "organisations",
    request_body = OrganisationBody,
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 201, description = "Created (Location: its URL)", body = Organisation),
        (status = 400, description = "Invalid JSON or name", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_organisation(
    admin: AdminCaller,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<OrganisationBody>,
) -> Result<Response, RestError> {
    let org = state.services.organisations.create(&body.name).await?;
    tracing::info!(actor = %admin.actor, organisation = %org.id, "organisation created");
    Ok(created(format!("/api/v1/organisations/{}", org.id), Organisation::from(org)))
}

#[utoipa::path(
    get,
    path = "/organisations/{id}",
    tag = "organisations",
    params(("id" = String, Path, description = "Organisation id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "The organisation", body = Organisation),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_organisation(_admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Organisation>, RestError> {
    Ok(Json(state.services.organisations.get(&id).await?.into()))
}

#[utoipa::path(
    put,
    path = "/organisations/{id}",
    tag = "organisations",
    params(("id" = String, Path, description = "Organisation id")),
    request_body = OrganisationBody,
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "Renamed", body = Organisation),
        (status = 400, description = "Invalid JSON or name", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn rename_organisation(
    admin: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<OrganisationBody>,
) -> Result<Json<Organisation>, RestError> {
    let org = state.services.organisations.rename(&id, &body.name).await?;
    tracing::info!(actor = %admin.actor, organisation = %org.id, "organisation renamed");
    Ok(Json(org.into()))
}

#[utoipa::path(
    delete,
    path = "/organisations/{id}",
    tag = "organisations",
    params(("id" = String, Path, description = "Organisation id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Still in use", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn delete_organisation(admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    state.services.organisations.delete(&id).await?;
    tracing::info!(actor = %admin.actor, organisation = %id, "organisation deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    path = "/organisations/{id}/suspend",
    tag = "organisations",
    params(("id" = String, Path, description = "Organisation id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "Suspended: its credentials are refused from the next request", body = Organisation),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn suspend_organisation(admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Organisation>, RestError> {
    Ok(Json(state.services.organisations.set_suspended(&id, true, &admin.actor).await?.into()))
}

#[utoipa::path(
    post,
    path = "/organisations/{id}/resume",
    tag = "organisations",
    params(("id" = String, Path, description = "Organisation id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "Resumed: its credentials work again", body = Organisation),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn resume_organisation(admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Organisation>, RestError> {
    Ok(Json(state.services.organisations.set_suspended(&id, false, &admin.actor).await?.into()))
}
