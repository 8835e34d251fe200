//! `/keys`: Auth Tokens issued by the admin. [`Key`] has no token field; only [`NewKey`], the
//! answer to a creation, carries the token (shown once, never stored in clear).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use certgate_core::gateway::spec::{KeySpec, Quota, Rate};
use certgate_core::problem::Problem;
use certgate_services::keys::KeyRecord;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pagination::{Page, PageQuery};
use super::{created, query, AdminCaller, JsonBody, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_keys, create_key)).routes(routes!(get_key, revoke_key))
}

/// A credential. Neither its token nor the token's hash is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct Key {
    pub id: String,
    /// The APIs it grants.
    pub apis: Vec<String>,
    /// Certificates the token is bound to. Absent: not bound. Present (even empty): bound, and
    /// an empty set denies every request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_certificates: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    /// Unix seconds after which the token no longer works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A credential just created, with its token: shown this once, never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewKey {
    #[serde(flatten)]
    pub key: Key,
    /// The Auth Token to send as `Authorization: Bearer <token>`.
    pub token: String,
}

impl From<KeyRecord> for Key {
    fn from(r: KeyRecord) -> Self {
        let s = r.spec;
        Key {
            id: r.id,
            apis: s.apis,
            bound_certificates: s.bound_certificates,
            rate: s.rate,
            quota: s.quota,
            expires_at: s.expires_at,
            created_at: r.created_at,
        }
    }
}

/// Keys by creation time, then id.
#[utoipa::path(
    get,
    path = "/keys",
    tag = "keys",
    params(PageQuery),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "One page of keys", body = Page<Key>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_keys(
    admin: AdminCaller,
    State(state): State<AppState>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<Key>>, RestError> {
    let page = query(page, "invalid_query")?;
    let keys = state.services.keys.list().await?;
    let page = page.page(keys, |k| (k.created_at, k.id.clone()), "keys", &admin)?;
    Ok(Json(page.map(Key::from)))
}

#[utoipa::path(
    post,
    path = "/keys",
    tag = "keys",
    request_body = KeySpec,
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 201, description = "Created and enforced by the gateway (Location: its URL); the token is in the answer, once", body = NewKey),
        (status = 400, description = "Invalid key, unknown API or certificate", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_key(admin: AdminCaller, State(state): State<AppState>, JsonBody(spec): JsonBody<KeySpec>) -> Result<Response, RestError> {
    let new = state.services.keys.create(spec, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, key = %new.record.id, "key created");
    let location = format!("/api/v1/keys/{}", new.record.id);
    let mut response = created(location, NewKey { key: new.record.into(), token: new.token });
    // The token is in this answer: no cache may keep it (a bearer caller has no session, so
    // the signed-in rule in web.rs does not cover it).
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[utoipa::path(
    get,
    path = "/keys/{id}",
    tag = "keys",
    params(("id" = String, Path, description = "Key id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "The key (without its token)", body = Key),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_key(_admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Key>, RestError> {
    Ok(Json(state.services.keys.get(&id).await?.into()))
}

/// Revokes a key: it stops working with the first request after this returns.
#[utoipa::path(
    delete,
    path = "/keys/{id}",
    tag = "keys",
    params(("id" = String, Path, description = "Key id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn revoke_key(admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    state.services.keys.revoke(&id, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, key = %id, "key revoked");
    Ok(StatusCode::NO_CONTENT.into_response())
}
