//! The admin REST API under `/api/v1`: JSON in, JSON or problem+json out.
//! Every route authenticates first: the admin bearer token, or an admin's session.
//!
//! Each resource lives in its own module with its own wire structs (what a client sees is a type,
//! so a secret can only appear by adding a field to it). Routes are registered only through
//! [`OpenApiRouter`], so a route cannot be served without being in `/api/v1/openapi.json`.

mod access_requests;
mod apis;
mod apps;
mod audit;
mod catalogue;
mod certificates;
mod changes;
mod credentials;
mod keys;
mod members;
mod openapi;
mod organisations;
mod pagination;
mod plans;
mod products;
mod portal;
mod portal_subscriptions;
mod session;
mod subscriptions;
mod traffic;
mod users;
mod webhooks;

use std::sync::Arc;

use app::ssr::{problem_for, RequestAuth};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use certgate_services::accounts::Role;
use certgate_services::ServiceError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::router::AppState;
use crate::web::{problem, problem_response, too_large};

/// Where the REST API is mounted.
pub const PREFIX: &str = "/api/v1";

/// Routes for consumers and anonymous visitors: they never take an `Authorization` header.
pub const PUBLIC_ROUTES: &[&str] = &["/api/v1/session", "/api/v1/invites/redeem", "/api/v1/password-resets/redeem", "/api/v1/sign-up"];

/// The REST routes, mounted at [`PREFIX`], with their OpenAPI document at `/api/v1/openapi.json`.
pub fn routes() -> Router<AppState> {
    pagination::init();
    let (router, doc) = rest_api().split_for_parts();
    router.layer(Extension(Arc::new(doc))).method_not_allowed_fallback(method_not_allowed)
}

/// Every REST route and its documentation, registered together.
fn rest_api() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(openapi_json))
        .merge(organisations::routes())
        .merge(certificates::routes())
        .merge(apis::routes())
        .merge(keys::routes())
        .merge(plans::routes())
        .merge(products::routes())
        .merge(access_requests::routes())
        .merge(portal::routes())
        .merge(members::routes())
        .merge(apps::routes())
        .merge(subscriptions::routes())
        .merge(portal_subscriptions::routes())
        .merge(credentials::routes())
        .merge(audit::routes())
        .merge(catalogue::routes())
        .merge(users::routes())
        .merge(webhooks::routes())
        .merge(traffic::routes())
        .merge(session::routes());
    let mut api = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi()).nest(PREFIX, v1);
    openapi::document_refusals(api.get_openapi_mut());
    api
}

/// The OpenAPI 3.1 document of this API. Public: it describes routes, never data.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of the REST API", content_type = "application/json", body = Object))
)]
async fn openapi_json(Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>) -> Response {
    match serde_json::to_vec(doc.as_ref()) {
        Ok(bytes) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document could not be serialised");
            problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", "Something went wrong on the server.")
        }
    }
}

async fn method_not_allowed() -> Response {
    problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed", "This route does not take that method.")
}

pub async fn unknown_route() -> Response {
    problem(StatusCode::NOT_FOUND, "not_found", "Not found", "No API route at this path.")
}

/// The REST layer's error: a service error, or a refusal before any service was called.
pub enum RestError {
    Service(ServiceError),
    Refused(Response),
}

impl RestError {
    /// A 400 with a stable code, before any service was called.
    pub fn bad_request(code: &str, title: &str, detail: &str) -> RestError {
        RestError::Refused(problem(StatusCode::BAD_REQUEST, code, title, detail))
    }
}

impl From<ServiceError> for RestError {
    fn from(e: ServiceError) -> Self {
        RestError::Service(e)
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        match self {
            RestError::Service(e) => {
                let mut response = problem_response(&problem_for(&e));
                if let ServiceError::Throttled { retry_after_secs } = e {
                    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                        response.headers_mut().insert(header::RETRY_AFTER, v);
                    }
                }
                response
            }
            RestError::Refused(r) => r,
        }
    }
}

/// Proof that the caller is an admin (bearer token or admin session).
pub struct AdminCaller {
    /// Who, for the log: `admin-token`, `admin-token:<id>` or the user id.
    pub actor: String,
}

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let authorization = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if let Some(value) = authorization {
            let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).unwrap_or("");
            return match admin_bearer_actor(state, token.trim()).await {
                Some(actor) => Ok(AdminCaller { actor }),
                None => Err(RestError::Refused(unauthenticated("The bearer token is not valid."))),
            };
        }
        match parts.extensions.get::<RequestAuth>().and_then(|a| a.session.as_ref()) {
            Some(s) if s.user.role == Role::Admin => Ok(AdminCaller { actor: s.user.id.clone() }),
            Some(_) => Err(RestError::Refused(problem(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                "This needs an administrator.",
            ))),
            None => Err(RestError::Refused(unauthenticated("Send the admin token as a bearer token, or sign in as an admin."))),
        }
    }
}

/// Who an admin bearer token is, or `None` when it is none: the configured `--admin-token`
/// (`admin-token`, compared in constant time), else a token made with `certgate admin
/// create-token` (`admin-token:<id>`, found by its hash).
pub async fn admin_bearer_actor(state: &AppState, token: &str) -> Option<String> {
    if let Some(expected) = &state.admin_token_hash {
        let presented = certgate_services::ids::sha256_hex(token.as_bytes());
        if certgate_services::ids::secrets_equal(presented.as_bytes(), expected.as_bytes()) {
            return Some("admin-token".into());
        }
    }
    match state.admin_tokens.find(token).await {
        Ok(found) => found.map(|id| format!("admin-token:{id}")),
        Err(e) => {
            // Fail closed: an unreadable store authenticates no one.
            tracing::warn!(error = %e, "looking up an admin token failed");
            None
        }
    }
}

fn unauthenticated(detail: &str) -> Response {
    let mut response = problem(StatusCode::UNAUTHORIZED, "unauthenticated", "Authentication required", detail);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"certgate-admin\""));
    response
}

/// A JSON body whose every rejection (syntax, shape, content type, size) is problem+json.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> Response {
    let status = rejection.status();
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => problem(
            status,
            "unsupported_media_type",
            "Unsupported media type",
            "Send the body as JSON with Content-Type: application/json.",
        ),
        _ => problem(StatusCode::BAD_REQUEST, "invalid_json", "Invalid JSON body", &rejection.body_text()),
    }
}

/// Query parameters whose rejection is a problem+json 400 with the given code.
pub fn query<T>(query: Result<Query<T>, QueryRejection>, code: &'static str) -> Result<T, BadQuery> {
    query.map(|Query(q)| q).map_err(|e| BadQuery { code, detail: e.body_text() })
}

/// Query parameters that could not be read (kept small: it is returned by value).
pub struct BadQuery {
    code: &'static str,
    detail: String,
}

impl From<BadQuery> for RestError {
    fn from(e: BadQuery) -> Self {
        RestError::bad_request(e.code, "Invalid query", &e.detail)
    }
}

/// 201 Created with a Location header.
pub fn created(location: String, body: impl Serialize) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(l) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, l);
    }
    response
}
