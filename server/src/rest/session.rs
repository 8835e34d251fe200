//! Consumer and public routes: sign-in and sign-out with the session cookie, redeeming invite
//! and password-reset links, and self sign-up. None of them takes an `Authorization` header
//! (the middleware refuses one here): a bearer token never authenticates a consumer.

use app::ssr::{cleared_session_cookie, session_cookie, RequestAuth};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use certgate_core::problem::Problem;
use certgate_services::account_links::{redeem_and_sign_in, LinkKind};
use certgate_services::accounts::UserRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{JsonBody, RestError};
use crate::router::AppState;
use crate::web::problem;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in, sign_out))
        .routes(routes!(redeem_invite))
        .routes(routes!(redeem_reset))
        .routes(routes!(sign_up))
}

/// An email and a password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// A link's token (from its fragment) and the new password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redemption {
    pub token: String,
    /// At least 12 characters.
    pub password: String,
}

/// The one answer to a sign-up, whether or not the email was known.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignUpAccepted {
    pub message: String,
}

/// 204 with a new session cookie for `user`; the request's old session (if any) ends.
async fn start_session(state: &AppState, auth: &RequestAuth, user: &UserRecord) -> Result<Response, RestError> {
    if let Some(old) = &auth.session {
        state.services.sessions.end_by_hash(&old.session_hash).await?;
    }
    let secret = state.services.sessions.start(&user.id).await?;
    Ok(signed_in(state, &secret))
}

/// 204 that sets the cookie of the session `secret`.
fn signed_in(state: &AppState, secret: &str) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    if let Ok(cookie) = HeaderValue::from_str(&session_cookie(secret, state.secure)) {
        headers.insert(header::SET_COOKIE, cookie);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Signs in: the same checks and throttling as the sign-in form.
#[utoipa::path(
    post,
    path = "/session",
    tag = "session",
    request_body(content = Credentials, content_type = "application/json"),
    responses(
        (status = 204, description = "Signed in: the session cookie is set"),
        (status = 400, description = "Invalid JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong email or password (one answer for both)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn sign_in(
    State(state): State<AppState>,
    Extension(auth): Extension<RequestAuth>,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<Response, RestError> {
    let user = state.services.accounts.sign_in(&body.email, &body.password, &auth.client_address).await?;
    tracing::info!(user = %user.id, "signed in (REST)");
    start_session(&state, &auth, &user).await
}

/// Signs out: ends the cookie's session. Same-origin only, like every cookie state change.
#[utoipa::path(
    delete,
    path = "/session",
    tag = "session",
    security(("session" = [])),
    responses((status = 204, description = "Signed out: the session ended and the cookie is cleared"))
)]
async fn sign_out(State(state): State<AppState>, Extension(auth): Extension<RequestAuth>) -> Result<Response, RestError> {
    let Some(session) = &auth.session else {
        return Err(RestError::Refused(problem(StatusCode::UNAUTHORIZED, "unauthenticated", "Authentication required", "Sign in to continue.")));
    };
    state.services.sessions.end_by_hash(&session.session_hash).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(cookie) = HeaderValue::from_str(&cleared_session_cookie(state.secure)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

async fn redeem(state: &AppState, auth: &RequestAuth, kind: LinkKind, body: Redemption) -> Result<Response, RestError> {
    let services = &state.services;
    let old = auth.session.as_ref().map(|s| s.session_hash.as_str());
    let redeemed =
        redeem_and_sign_in(&services.accounts, &services.sessions, kind, &body.token, &body.password, &auth.client_address, old).await?;
    Ok(signed_in(state, &redeemed.session_secret))
}

/// Redeems an invite: sets the password and signs in. Single-use; valid 72 h.
#[utoipa::path(
    post,
    path = "/invites/redeem",
    tag = "session",
    request_body(content = Redemption, content_type = "application/json"),
    responses(
        (status = 204, description = "Password set and signed in: the session cookie is set"),
        (status = 400, description = "The link was used, revoked or expired (`invalid_link`), or the password is weak", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many invalid links from this address (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn redeem_invite(
    State(state): State<AppState>,
    Extension(auth): Extension<RequestAuth>,
    JsonBody(body): JsonBody<Redemption>,
) -> Result<Response, RestError> {
    redeem(&state, &auth, LinkKind::Invite, body).await
}

/// Redeems a password-reset link: sets the password, ends the other sessions, signs in.
#[utoipa::path(
    post,
    path = "/password-resets/redeem",
    tag = "session",
    request_body(content = Redemption, content_type = "application/json"),
    responses(
        (status = 204, description = "Password set and signed in: the session cookie is set"),
        (status = 400, description = "The link was used, revoked or expired (`invalid_link`), or the password is weak", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many invalid links from this address (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn redeem_reset(
    State(state): State<AppState>,
    Extension(auth): Extension<RequestAuth>,
    JsonBody(body): JsonBody<Redemption>,
) -> Result<Response, RestError> {
    redeem(&state, &auth, LinkKind::Reset, body).await
}

/// Self sign-up (only with `--consumer-sign-up`): a pending account, with no organisation and
/// no role, that an admin admits. The answer does not say whether the email was known.
#[utoipa::path(
    post,
    path = "/sign-up",
    tag = "session",
    request_body(content = Credentials, content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted: an administrator admits new accounts", body = SignUpAccepted),
        (status = 400, description = "Invalid JSON, email or weak password", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Self sign-up is off on this portal", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many sign-ups from this address (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn sign_up(
    State(state): State<AppState>,
    Extension(auth): Extension<RequestAuth>,
    body: Result<JsonBody<Credentials>, Response>,
) -> Result<Response, RestError> {
    if !state.consumer_sign_up {
        return Err(RestError::Refused(problem(StatusCode::NOT_FOUND, "sign_up_off", "Not found", "Self sign-up is off on this portal.")));
    }
    let JsonBody(body) = body.map_err(RestError::Refused)?;
    state.services.accounts.sign_up(&body.email, &body.password, &auth.client_address).await?;
    let message = "Thank you. If this email can be used, an administrator will admit the account.".to_string();
    Ok((StatusCode::ACCEPTED, Json(SignUpAccepted { message })).into_response())
}
