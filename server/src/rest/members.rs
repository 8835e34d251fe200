//! `/portal/members`: an organisation's administrator (`org_admin`) lists its users and invites
//! members (always `member`, always into their own organisation: the body has only an email).
//! A member gets 403; another organisation's user is 404. Consumers' session only.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use certgate_core::problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pagination::{Page, PageQuery};
use super::portal::ConsumerCaller;
use super::users::{created_once, link_of, Link, User};
use super::{query, JsonBody, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_members, invite_member)).routes(routes!(reinvite_member))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    pub email: String,
}

/// The new member and their invite link (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct Invited {
    pub id: String,
    #[serde(flatten)]
    pub link: Link,
}

#[utoipa::path(get, path = "/portal/members", tag = "portal", params(PageQuery), security(("session" = [])),
    responses((status = 200, description = "One page of your organisation's users, by email", body = Page<User>),
              (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Not your organisation's administrator", body = Problem, content_type = "application/problem+json")))]
async fn list_members(caller: ConsumerCaller, State(state): State<AppState>, page: Result<Query<PageQuery>, QueryRejection>) -> Result<Json<Page<User>>, RestError> {
    let page = query(page, "invalid_query")?;
    let users = state.services.accounts.members(&caller.actor).await?;
    let page = page.page_for(users, |u| (u.email.clone(), u.id.clone()), "portal_members", &caller.cursor_owner)?;
    Ok(Json(page.map(User::from)))
}

#[utoipa::path(post, path = "/portal/members", tag = "portal", request_body = InviteBody, security(("session" = [])),
    responses((status = 201, description = "The member, and their invite link (shown once; valid 72 h)", body = Invited),
              (status = 400, description = "Invalid JSON or email (a role or organisation cannot be chosen)", body = Problem, content_type = "application/problem+json"),
              (status = 403, description = "Not your organisation's administrator", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json")))]
async fn invite_member(caller: ConsumerCaller, State(state): State<AppState>, headers: HeaderMap, JsonBody(body): JsonBody<InviteBody>) -> Result<Response, RestError> {
    let (user, token) = state.services.accounts.invite_member(&caller.actor, &body.email).await?;
    tracing::info!(actor = %caller.actor.audit_name(), user = %user.id, "member invited");
    let link = link_of(&state, &headers, "/invite", &token, certgate_services::account_links::INVITE_TTL_SECS);
    Ok(created_once(Invited { id: user.id, link }))
}

#[utoipa::path(post, path = "/portal/members/{id}/invite", tag = "portal", params(("id" = String, Path, description = "User id")), security(("session" = [])),
    responses((status = 201, description = "A new invite link (shown once; replaces the earlier one)", body = Link),
              (status = 403, description = "Not your organisation's administrator, or the user is an org admin (the API provider invites those)", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such user in your organisation", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "The user has a password already, or is disabled", body = Problem, content_type = "application/problem+json")))]
async fn reinvite_member(caller: ConsumerCaller, State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, RestError> {
    let token = state.services.accounts.reinvite_member(&caller.actor, &id).await?;
    Ok(created_once(link_of(&state, &headers, "/invite", &token, certgate_services::account_links::INVITE_TTL_SECS)))
}
