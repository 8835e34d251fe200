//! `/portal/*`: the developer portal's consumer API. A consumer's session cookie only (a bearer
//! token is refused before this is reached); writes are same-origin (web.rs). Every call acts as
//! the consumer's organisation: another organisation's ids answer 404 like missing ones.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use app::ssr::RequestAuth;
use certgate_core::portal::credential::MAX_ROTATION_OVERLAP_SECONDS;
use certgate_core::problem::Problem;
use certgate_services::accounts::{OrgRole, Role};
use certgate_services::portal::apps::AppRecord;
use certgate_services::portal::credentials::CredentialEntry;
use certgate_services::portal::requests::{AccessRequestRecord, NewRequest};
use certgate_services::portal::Actor;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access_requests::AccessRequest;
use super::pagination::{Page, PageQuery};
use super::{created, query, JsonBody, RestError};
use crate::router::AppState;
use crate::web::problem;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_apps, create_app))
        .routes(routes!(get_app, rename_app, delete_app))
        .routes(routes!(request_access))
        .routes(routes!(withdraw_request))
        .routes(routes!(list_credentials))
        .routes(routes!(create_token))
        .routes(routes!(rotate_token))
        .routes(routes!(revoke_credential))
}

/// Proof that the caller is a consumer of an organisation (session cookie), with their role in
/// it (accounts from before roles are members).
pub struct ConsumerCaller {
    pub actor: Actor,
    /// Binds list cursors to this consumer.
    pub cursor_owner: String,
}

impl FromRequestParts<AppState> for ConsumerCaller {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        let session = parts.extensions.get::<RequestAuth>().and_then(|a| a.session.as_ref());
        match session {
            Some(s) if s.user.role == Role::Consumer => match &s.user.organisation_id {
                Some(organisation) => Ok(ConsumerCaller {
                    actor: Actor::Consumer {
                        user: s.user.id.clone(),
                        organisation: organisation.clone(),
                        role: s.user.org_role.unwrap_or(OrgRole::Member),
                    },
                    cursor_owner: format!("consumer:{}", s.user.id),
                }),
                None => Err(RestError::Refused(problem(StatusCode::FORBIDDEN, "no_organisation", "Forbidden", "Your account is not in an organisation yet."))),
            },
            Some(_) => Err(RestError::Refused(problem(StatusCode::FORBIDDEN, "forbidden", "Forbidden", "This is the consumers' API: sign in as a consumer."))),
            None => Err(RestError::Refused(problem(StatusCode::UNAUTHORIZED, "unauthenticated", "Authentication required", "Sign in as a consumer (POST /api/v1/session)."))),
        }
    }
}

/// An app of the consumer's organisation: a member sees the apps they created, an org admin
/// every app of the organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct App {
    pub id: String,
    pub name: String,
    pub organisation: String,
    /// The user who created it.
    pub owner: String,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<AppRecord> for App {
    fn from(a: AppRecord) -> Self {
        App { id: a.id, name: a.name, organisation: a.organisation, owner: a.owner, created_at: a.created_at }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppBody {
    /// 1 to 100 characters.
    pub name: String,
}

#[utoipa::path(get, path = "/portal/apps", tag = "portal", params(PageQuery), security(("session" = [])),
    responses((status = 200, description = "One page of the organisation's apps", body = Page<App>),
              (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json")))]
async fn list_apps(caller: ConsumerCaller, State(state): State<AppState>, page: Result<Query<PageQuery>, QueryRejection>) -> Result<Json<Page<App>>, RestError> {
    let page = query(page, "invalid_query")?;
    let apps = state.services.apps.list(&caller.actor).await?;
    let page = page.page_for(apps, |a| (a.name.to_lowercase(), a.id.clone()), "portal_apps", &caller.cursor_owner)?;
    Ok(Json(page.map(App::from)))
}

#[utoipa::path(post, path = "/portal/apps", tag = "portal", request_body = AppBody, security(("session" = [])),
    responses((status = 201, description = "Created", body = App),
              (status = 400, description = "Invalid name", body = Problem, content_type = "application/problem+json")))]
async fn create_app(caller: ConsumerCaller, State(state): State<AppState>, JsonBody(body): JsonBody<AppBody>) -> Result<Response, RestError> {
    let app = state.services.apps.create(&caller.actor, &body.name).await?;
    Ok(created(format!("/api/v1/portal/apps/{}", app.id), App::from(app)))
}

#[utoipa::path(get, path = "/portal/apps/{id}", tag = "portal", params(("id" = String, Path, description = "App id")), security(("session" = [])),
    responses((status = 200, description = "The app", body = App),
              (status = 404, description = "No such app in your organisation", body = Problem, content_type = "application/problem+json")))]
async fn get_app(caller: ConsumerCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<App>, RestError> {
    Ok(Json(state.services.apps.get(&caller.actor, &id).await?.into()))
}

#[utoipa::path(patch, path = "/portal/apps/{id}", tag = "portal", params(("id" = String, Path, description = "App id")),
    request_body = AppBody, security(("session" = [])),
    responses((status = 200, description = "Renamed", body = App),
              (status = 400, description = "Invalid name", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such app among yours", body = Problem, content_type = "application/problem+json")))]
async fn rename_app(caller: ConsumerCaller, State(state): State<AppState>, Path(id): Path<String>, JsonBody(body): JsonBody<AppBody>) -> Result<Json<App>, RestError> {
    Ok(Json(state.services.apps.rename(&caller.actor, &id, &body.name).await?.into()))
}

#[utoipa::path(delete, path = "/portal/apps/{id}", tag = "portal", params(("id" = String, Path, description = "App id")), security(("session" = [])),
    responses((status = 204, description = "Deleted: its requests withdrawn, its credentials revoked"),
              (status = 404, description = "No such app in your organisation", body = Problem, content_type = "application/problem+json")))]
async fn delete_app(caller: ConsumerCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    state.services.apps.delete(&caller.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// An access request: a product with a plan for the app.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessRequestBody {
    pub product: String,
    pub plan: String,
    /// Self-Serve products only: your client certificate, PEM (never its private key).
    pub certificate: Option<String>,
}

#[utoipa::path(post, path = "/portal/apps/{id}/access-requests", tag = "portal", params(("id" = String, Path, description = "App id")),
    request_body = AccessRequestBody, security(("session" = [])),
    responses((status = 201, description = "Requested (approved at once when the plan auto-approves)", body = AccessRequest),
              (status = 400, description = "Invalid plan or certificate", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such app or product for your organisation", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Already subscribed, or the organisation has no certificate", body = Problem, content_type = "application/problem+json")))]
async fn request_access(
    caller: ConsumerCaller,
    State(state): State<AppState>,
    Path(app): Path<String>,
    JsonBody(body): JsonBody<AccessRequestBody>,
) -> Result<Response, RestError> {
    let new = NewRequest { product: body.product, plan: body.plan, certificate: body.certificate.map(String::into_bytes) };
    let record: AccessRequestRecord = state.services.access_requests.create(&caller.actor, &app, new).await?;
    Ok(created(format!("/api/v1/portal/access-requests/{}", record.id), AccessRequest::from(record)))
}

#[utoipa::path(delete, path = "/portal/access-requests/{id}", tag = "portal", params(("id" = String, Path, description = "Request id")), security(("session" = [])),
    responses((status = 200, description = "Withdrawn", body = AccessRequest),
              (status = 404, description = "No such request in your organisation", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Not pending", body = Problem, content_type = "application/problem+json")))]
async fn withdraw_request(caller: ConsumerCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<AccessRequest>, RestError> {
    Ok(Json(state.services.access_requests.withdraw(&caller.actor, &id).await?.into()))
}

/// A credential of a subscription. Its token is never shown here: only once, when made.
#[derive(Debug, Serialize, ToSchema)]
pub struct Credential {
    pub id: String,
    pub subscription: String,
    pub product: String,
    pub plan: String,
    /// Whether a token has been made (create it with POST …/token).
    pub has_token: bool,
    /// Unix seconds, from the plan's token lifetime.
    pub token_expires_at: Option<i64>,
    /// Unix seconds, while a rotated-out token still works.
    pub previous_token_until: Option<i64>,
    pub revoked: bool,
    /// Self-Serve: the subscription's certificate ids.
    pub certificates: Vec<String>,
}

impl From<CredentialEntry> for Credential {
    fn from(e: CredentialEntry) -> Self {
        let tokens = &e.credential.tokens;
        Credential {
            id: e.credential.id.clone(),
            subscription: e.subscription.id.clone(),
            product: e.subscription.product.clone(),
            plan: e.subscription.plan.clone(),
            has_token: tokens.current.is_some(),
            token_expires_at: tokens.current.as_ref().and_then(|t| t.expires_at),
            previous_token_until: tokens.previous.as_ref().map(|(_, until)| *until),
            revoked: tokens.revoked_at.is_some(),
            certificates: e.subscription.certificates.iter().map(|c| c.id.clone()).collect(),
        }
    }
}

#[utoipa::path(get, path = "/portal/apps/{id}/credentials", tag = "portal", params(("id" = String, Path, description = "App id"), PageQuery), security(("session" = [])),
    responses((status = 200, description = "One page of the app's credentials", body = Page<Credential>),
              (status = 404, description = "No such app in your organisation", body = Problem, content_type = "application/problem+json")))]
async fn list_credentials(
    caller: ConsumerCaller,
    State(state): State<AppState>,
    Path(app): Path<String>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<Credential>>, RestError> {
    let page = query(page, "invalid_query")?;
    let entries = state.services.credentials.of_app(&caller.actor, &app).await?;
    let page = page.page_for(entries, |e| (e.credential.created_at, e.credential.id.clone()), "portal_credentials", &caller.cursor_owner)?;
    Ok(Json(page.map(Credential::from)))
}

/// A token, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewToken {
    /// Send it as `Authorization: Bearer <token>` with one of the credential's certificates.
    pub token: String,
}

#[utoipa::path(post, path = "/portal/credentials/{id}/token", tag = "portal", params(("id" = String, Path, description = "Credential id")), security(("session" = [])),
    responses((status = 201, description = "The token, shown once", body = NewToken),
              (status = 404, description = "No such credential in your organisation", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Made already (rotate instead), or revoked", body = Problem, content_type = "application/problem+json")))]
async fn create_token(caller: ConsumerCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    let token = state.services.credentials.mint(&caller.actor, &id).await?;
    let mut response = (StatusCode::CREATED, Json(NewToken { token })).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// How long the current token keeps working: 0 to 86400 seconds.
    pub overlap_seconds: u64,
}

#[utoipa::path(post, path = "/portal/credentials/{id}/rotate", tag = "portal", params(("id" = String, Path, description = "Credential id")),
    request_body = RotateBody, security(("session" = [])),
    responses((status = 200, description = "The new token, shown once", body = NewToken),
              (status = 404, description = "No such credential in your organisation", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "No token yet, revoked, or overlap out of range", body = Problem, content_type = "application/problem+json")))]
async fn rotate_token(
    caller: ConsumerCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RotateBody>,
) -> Result<Response, RestError> {
    if body.overlap_seconds > MAX_ROTATION_OVERLAP_SECONDS {
        return Err(RestError::bad_request("invalid_overlap", "Invalid overlap", "overlap_seconds must be 0 to 86400 (24 hours)."));
    }
    let token = state.services.credentials.rotate(&caller.actor, &id, body.overlap_seconds).await?;
    let mut response = Json(NewToken { token }).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

#[utoipa::path(delete, path = "/portal/credentials/{id}", tag = "portal", params(("id" = String, Path, description = "Credential id")), security(("session" = [])),
    responses((status = 204, description = "Revoked: its tokens are refused from the next request"),
              (status = 404, description = "No such credential in your organisation", body = Problem, content_type = "application/problem+json")))]
async fn revoke_credential(caller: ConsumerCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    state.services.credentials.revoke(&caller.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
