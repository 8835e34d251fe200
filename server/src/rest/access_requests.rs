//! `/access-requests` and `/credentials/{id}`: the admin's side of the developer portal —
//! approving or rejecting what consumers ask for, and revoking a portal credential.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use certgate_core::portal::request::{RequestKind, RequestState};
use certgate_core::problem::Problem;
use certgate_services::portal::records::request_key;
use certgate_services::portal::requests::AccessRequestRecord;
use certgate_services::portal::Actor;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pagination::{Page, PageQuery};
use super::{query, AdminCaller, JsonBody, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_access_requests))
        .routes(routes!(approve_access_request))
        .routes(routes!(reject_access_request))
        .routes(routes!(revoke_portal_credential))
}

fn admin(caller: &AdminCaller) -> Actor {
    Actor::Admin { name: caller.actor.clone() }
}

/// An access request as both sides see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessRequest {
    pub id: String,
    pub app: String,
    pub organisation: String,
    /// `subscribe` (a first request), `change_plan` or `renew` (of a live subscription).
    pub kind: String,
    /// `change_plan` and `renew`: the subscription they change.
    pub subscription: Option<String>,
    pub product: Option<String>,
    pub plan: Option<String>,
    /// Self-Serve: the submitted certificate's id (`renew`: the replacement's).
    pub certificate: Option<String>,
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    pub state: String,
    /// Why it was rejected (shown to the consumer).
    pub reason: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<AccessRequestRecord> for AccessRequest {
    fn from(r: AccessRequestRecord) -> Self {
        let (kind, subscription, product, plan, certificate) = match r.kind {
            RequestKind::Subscribe { product, plan, certificate } => ("subscribe", None, Some(product), Some(plan), certificate),
            RequestKind::ChangePlan { subscription, plan } => ("change_plan", Some(subscription), None, Some(plan), None),
            RequestKind::Renew { subscription, certificate } => ("renew", Some(subscription), None, None, Some(certificate)),
        };
        let reason = match &r.state {
            RequestState::Rejected { reason, .. } => Some(reason.clone()),
            _ => None,
        };
        AccessRequest {
            id: r.id,
            app: r.app,
            organisation: r.organisation,
            kind: kind.to_string(),
            subscription,
            product,
            plan,
            certificate,
            state: r.state.name().to_string(),
            reason,
            created_at: r.created_at,
        }
    }
}

/// Filter and paging of the request list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccessRequestQuery {
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    pub state: Option<String>,
    /// Items per page: 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, unchanged.
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/access-requests", tag = "access requests", params(AccessRequestQuery), security(("admin_token" = []), ("session" = [])),
    responses((status = 200, description = "One page of requests, newest first", body = Page<AccessRequest>),
              (status = 400, description = "Bad state, limit or cursor", body = Problem, content_type = "application/problem+json")))]
async fn list_access_requests(
    caller: AdminCaller,
    State(state): State<AppState>,
    params: Result<Query<AccessRequestQuery>, QueryRejection>,
) -> Result<Json<Page<AccessRequest>>, RestError> {
    requests_page(&state, &admin(&caller), params, "access_requests", &caller.actor).await
}

/// One page of the requests `actor` sees (the admin's list, or a consumer's organisation's),
/// newest first, paged in the store: a page reads only its own requests. `list` and `owner`
/// bind the cursor to this list and caller.
pub(super) async fn requests_page(
    state: &AppState,
    actor: &Actor,
    params: Result<Query<AccessRequestQuery>, QueryRejection>,
    list: &str,
    owner: &str,
) -> Result<Json<Page<AccessRequest>>, RestError> {
    let params = query(params, "invalid_query")?;
    if params.state.as_deref().is_some_and(|s| !matches!(s, "pending" | "approved" | "rejected" | "withdrawn")) {
        return Err(RestError::bad_request("invalid_state", "Invalid state", "state is pending, approved, rejected or withdrawn."));
    }
    let page = PageQuery { limit: params.limit, cursor: params.cursor };
    let (limit, after) = page.bounds::<String>(list, owner)?;
    let found = state.services.access_requests.page(actor, params.state.as_deref(), after, limit).await?;
    let items: Vec<(String, AccessRequest)> = found.items.into_iter().map(|r| (request_key(&r), AccessRequest::from(r))).collect();
    let page = PageQuery::cut(items, found.more, |(key, _)| key.clone(), list, owner)?;
    Ok(Json(page.map(|(_, r)| r)))
}

#[utoipa::path(post, path = "/access-requests/{id}/approve", tag = "access requests", params(("id" = String, Path, description = "Request id")),
    security(("admin_token" = []), ("session" = [])),
    responses((status = 200, description = "Approved: the subscription and its credential exist, enforced from the next request", body = AccessRequest),
              (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Not pending, or the organisation has no certificate, or the certificate belongs to another organisation", body = Problem, content_type = "application/problem+json")))]
async fn approve_access_request(caller: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<AccessRequest>, RestError> {
    Ok(Json(state.services.access_requests.approve(&admin(&caller), &id).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Shown to the consumer: 1 to 1000 characters.
    pub reason: String,
}

#[utoipa::path(post, path = "/access-requests/{id}/reject", tag = "access requests", params(("id" = String, Path, description = "Request id")),
    request_body = RejectBody, security(("admin_token" = []), ("session" = [])),
    responses((status = 200, description = "Rejected", body = AccessRequest),
              (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Not pending, or no reason", body = Problem, content_type = "application/problem+json")))]
async fn reject_access_request(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RejectBody>,
) -> Result<Json<AccessRequest>, RestError> {
    Ok(Json(state.services.access_requests.reject(&admin(&caller), &id, &body.reason).await?.into()))
}

#[utoipa::path(delete, path = "/credentials/{id}", tag = "access requests", params(("id" = String, Path, description = "Portal credential id")),
    security(("admin_token" = []), ("session" = [])),
    responses((status = 204, description = "Revoked: refused from the next request, its certificates off the allow lists"),
              (status = 404, description = "No such portal credential", body = Problem, content_type = "application/problem+json")))]
async fn revoke_portal_credential(caller: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    state.services.credentials.revoke(&admin(&caller), &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
