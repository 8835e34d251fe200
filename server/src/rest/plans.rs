//! `/plans`: rate limit, quota, approval rule and token lifetime of the subscriptions made with
//! them. A plan a product offers cannot be deleted (409 `plan_in_use`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use certgate_core::gateway::spec::{Quota, Rate};
use certgate_core::portal::plan::PlanSpec;
use certgate_core::problem::Problem;
use certgate_services::plans::PlanRecord;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pagination::{Page, PageQuery};
use super::{created, query, AdminCaller, JsonBody, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_plans, create_plan)).routes(routes!(get_plan, update_plan, delete_plan))
}

/// A plan as stored, with its id and times.
#[derive(Debug, Serialize, ToSchema)]
pub struct Plan {
    pub id: String,
    pub name: String,
    /// `null`: no rate limit.
    pub rate: Option<Rate>,
    /// `null`: no quota.
    pub quota: Option<Quota>,
    /// Access requests for this plan are approved at once.
    pub auto_approve: bool,
    /// Tokens minted under this plan stop working this long after minting; `null`: no limit.
    pub token_lifetime_seconds: Option<u64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

impl From<PlanRecord> for Plan {
    fn from(r: PlanRecord) -> Self {
        let s = r.spec;
        Plan {
            id: r.id,
            name: s.name,
            rate: s.rate,
            quota: s.quota,
            auto_approve: s.auto_approve,
            token_lifetime_seconds: s.token_lifetime_seconds,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Plans by name (case-insensitive), then id.
#[utoipa::path(
    get,
    path = "/plans",
    tag = "plans",
    params(PageQuery),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "One page of plans", body = Page<Plan>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_plans(
    admin: AdminCaller,
    State(state): State<AppState>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<Plan>>, RestError> {
    let page = query(page, "invalid_query")?;
    let plans = state.services.plans.list().await?;
    let page = page.page(plans, |p| (p.spec.name.to_lowercase(), p.id.clone()), "plans", &admin)?;
    Ok(Json(page.map(Plan::from)))
}

#[utoipa::path(
    post,
    path = "/plans",
    tag = "plans",
    request_body = PlanSpec,
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 201, description = "Created (Location: its URL)", body = Plan),
        (status = 400, description = "Invalid plan (`invalid_name`, `invalid_rate`, `invalid_quota`, `invalid_token_lifetime`) or JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_plan(admin: AdminCaller, State(state): State<AppState>, JsonBody(spec): JsonBody<PlanSpec>) -> Result<Response, RestError> {
    let plan = state.services.plans.create(spec, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, plan = %plan.id, "plan created");
    Ok(created(format!("/api/v1/plans/{}", plan.id), Plan::from(plan)))
}

#[utoipa::path(
    get,
    path = "/plans/{id}",
    tag = "plans",
    params(("id" = String, Path, description = "Plan id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "The plan", body = Plan),
        (status = 404, description = "No such plan", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_plan(_admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Plan>, RestError> {
    Ok(Json(state.services.plans.get(&id).await?.into()))
}

/// Replaces a plan's definition.
#[utoipa::path(
    put,
    path = "/plans/{id}",
    tag = "plans",
    params(("id" = String, Path, description = "Plan id")),
    request_body = PlanSpec,
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "Replaced", body = Plan),
        (status = 400, description = "Invalid plan or JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_plan(
    admin: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(spec): JsonBody<PlanSpec>,
) -> Result<Json<Plan>, RestError> {
    let plan = state.services.plans.update(&id, spec, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, plan = %plan.id, "plan updated");
    Ok(Json(plan.into()))
}

#[utoipa::path(
    delete,
    path = "/plans/{id}",
    tag = "plans",
    params(("id" = String, Path, description = "Plan id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such plan", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`plan_in_use`: a product offers it (the detail names them)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn delete_plan(admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    state.services.plans.delete(&id, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, plan = %id, "plan deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}
