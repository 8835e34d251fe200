//! `/users`: consumers made by the admin, invite and password-reset links, disabling and
//! admitting sign-ups. Administrators are listed but managed only from the command line.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use certgate_core::problem::Problem;
use certgate_services::account_links::LinkKind;
use certgate_services::accounts::{OrgRole, Role, UserRecord};
use certgate_services::consumers::{ConsumerChange, NewConsumer};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pagination::{Page, PageQuery};
use super::{created, query, AdminCaller, JsonBody, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(create_invite, revoke_invite))
        .routes(routes!(create_reset_link, revoke_reset_link))
}

/// A role: `admin` (the API owner), or a consumer's role in their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    Admin,
    OrgAdmin,
    Member,
}

/// A consumer's role in their one organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsumerRole {
    OrgAdmin,
    Member,
}

impl From<ConsumerRole> for OrgRole {
    fn from(r: ConsumerRole) -> Self {
        match r {
            ConsumerRole::OrgAdmin => OrgRole::OrgAdmin,
            ConsumerRole::Member => OrgRole::Member,
        }
    }
}

/// Where an account stands.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Can sign in.
    Active,
    /// Made without a password: waits for its invite to be redeemed.
    Invited,
    /// A self sign-up waiting to be admitted into an organisation.
    Pending,
    /// Cannot sign in; its sessions ended.
    Disabled,
}

/// A user. No password hash, no link tokens: they are not part of this type.
#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    pub id: String,
    pub email: String,
    /// `null` for a pending sign-up (it has no role until admitted).
    #[schema(required)]
    pub role: Option<UserRole>,
    /// Organisation id (consumers).
    #[schema(required)]
    pub organisation: Option<String>,
    pub status: UserStatus,
    /// `false` for self sign-ups: no mail was sent to prove the address.
    pub email_verified: bool,
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<UserRecord> for User {
    fn from(u: UserRecord) -> Self {
        let status = if u.disabled {
            UserStatus::Disabled
        } else if u.pending {
            UserStatus::Pending
        } else if !u.has_password() {
            UserStatus::Invited
        } else {
            UserStatus::Active
        };
        let role = match (u.role, u.org_role, u.pending) {
            (Role::Admin, _, _) => Some(UserRole::Admin),
            (Role::Consumer, _, true) => None,
            (Role::Consumer, Some(OrgRole::OrgAdmin), false) => Some(UserRole::OrgAdmin),
            (Role::Consumer, _, false) => Some(UserRole::Member),
        };
        User {
            id: u.id,
            email: u.email,
            role,
            organisation: u.organisation_id,
            status,
            email_verified: u.email_verified,
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

/// A new consumer. Without `password` the account waits for an invite.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    pub email: String,
    /// At least 12 characters; omit it to invite the user instead.
    pub password: Option<String>,
    /// Organisation id.
    pub organisation: String,
    pub role: ConsumerRole,
}

/// The id of what was created.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: String,
}

/// What to change; absent fields stay as they are. `organisation` (with `role`) admits a
/// pending sign-up; `disabled: true` ends the user's sessions at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChangeBody {
    pub disabled: Option<bool>,
    pub organisation: Option<String>,
    pub role: Option<ConsumerRole>,
}

/// A link shown once: it holds a single-use token in its fragment, never sent to servers or logs.
#[derive(Debug, Serialize, ToSchema)]
pub struct Link {
    pub url: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Users by email.
#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    params(PageQuery),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "One page of users", body = Page<User>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_users(
    admin: AdminCaller,
    State(state): State<AppState>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<User>>, RestError> {
    let page = query(page, "invalid_query")?;
    let users = state.services.accounts.list_users().await?;
    let page = page.page(users, |u| (u.email.clone(), u.id.clone()), "users", &admin)?;
    Ok(Json(page.map(User::from)))
}

#[utoipa::path(
    post,
    path = "/users",
    tag = "users",
    request_body = NewUserBody,
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 201, description = "Created (Location: its URL)", body = Created),
        (status = 400, description = "Invalid JSON, email or password", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_user(admin: AdminCaller, State(state): State<AppState>, JsonBody(body): JsonBody<NewUserBody>) -> Result<Response, RestError> {
    let new = NewConsumer {
        email: &body.email,
        password: body.password.as_deref(),
        organisation_id: &body.organisation,
        org_role: body.role.into(),
    };
    let user = state.services.accounts.create_consumer(new, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, user = %user.id, "consumer created");
    Ok(created(format!("/api/v1/users/{}", user.id), Created { id: user.id }))
}

#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_user(_admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<User>, RestError> {
    let user = state.services.accounts.get_user(&id).await?.ok_or(certgate_services::ServiceError::NotFound { what: "user" })?;
    Ok(Json(user.into()))
}

#[utoipa::path(
    patch,
    path = "/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body = UserChangeBody,
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "Changed", body = User),
        (status = 400, description = "Invalid JSON, nothing to change, or an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user or organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_user(
    admin: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UserChangeBody>,
) -> Result<Json<User>, RestError> {
    if body.disabled.is_none() && body.organisation.is_none() && body.role.is_none() {
        return Err(RestError::bad_request("empty_change", "Nothing to change", "Give `disabled`, `organisation` or `role`."));
    }
    let change = ConsumerChange { disabled: body.disabled, organisation_id: body.organisation, org_role: body.role.map(OrgRole::from) };
    let user = state.services.accounts.update_consumer(&id, change, &admin.actor).await?;
    if user.disabled {
        // At once: the sessions also stop resolving, but they are deleted as well.
        let ended = state.services.sessions.end_all_for_user_except(&user.id, None).await?;
        tracing::info!(actor = %admin.actor, user = %user.id, ended, "user disabled");
    } else {
        tracing::info!(actor = %admin.actor, user = %user.id, "user changed");
    }
    Ok(Json(user.into()))
}

/// The link's URL on this portal: the token goes in the fragment, so it never reaches an
/// access log or a `Referer`.
pub(super) fn link_of(state: &AppState, headers: &HeaderMap, page: &str, token: &str, ttl: i64) -> Link {
    let scheme = if state.secure { "https" } else { "http" };
    let origin = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
        .map(|h| format!("{scheme}://{h}"))
        .unwrap_or_default();
    Link { url: format!("{origin}{page}#token={token}"), expires_at: certgate_services::clock::now() + ttl }
}

/// A 201 answer holding a secret: never stored by a cache.
pub(super) fn created_once<T: Serialize>(body: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn link(state: &AppState, headers: &HeaderMap, page: &str, token: &str, ttl: i64) -> Response {
    created_once(link_of(state, headers, page, token, ttl))
}

#[utoipa::path(
    post,
    path = "/users/{id}/invite",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 201, description = "The invite link (shown once; valid 72 h; replaces an earlier invite)", body = Link),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user has a password already, or is disabled", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_invite(admin: AdminCaller, State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, RestError> {
    let token = state.services.accounts.issue_link(&id, LinkKind::Invite, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, user = %id, "invite link made");
    Ok(link(&state, &headers, "/invite", &token, certgate_services::account_links::INVITE_TTL_SECS))
}

#[utoipa::path(
    delete,
    path = "/users/{id}/invite",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No live invite for this user", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn revoke_invite(admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    state.services.accounts.revoke_link(&id, LinkKind::Invite, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, user = %id, "invite link revoked");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    path = "/users/{id}/reset-link",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 201, description = "The password-reset link (shown once; valid 24 h; replaces an earlier one)", body = Link),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user is disabled", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_reset_link(admin: AdminCaller, State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, RestError> {
    let token = state.services.accounts.issue_link(&id, LinkKind::Reset, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, user = %id, "password-reset link made");
    Ok(link(&state, &headers, "/reset-password", &token, certgate_services::account_links::RESET_TTL_SECS))
}

#[utoipa::path(
    delete,
    path = "/users/{id}/reset-link",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No live reset link for this user", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn revoke_reset_link(admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    state.services.accounts.revoke_link(&id, LinkKind::Reset, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, user = %id, "password-reset link revoked");
    Ok(StatusCode::NO_CONTENT.into_response())
}
