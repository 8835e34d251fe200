//! `/apis`: API definitions the gateway enforces, and `explain` (why a request would pass or not).
//! A JWT HMAC secret is written, never read back: [`JwtKey`] has no field for it.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use certgate_core::gateway::chain::WebpkiChainCheck;
use certgate_core::gateway::spec::{ApiSpec, AuthKind, JwtSpec, MtlsSpec, TimeoutsSpec};
use certgate_core::gateway::{explain, ExplainStep, PeerCertificate, Presented};
use certgate_core::problem::Problem;
use certgate_services::apis::ApiRecord;
use certgate_services::ServiceError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pagination::{Page, PageQuery};
use super::{created, query, AdminCaller, JsonBody, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_apis, create_api))
        .routes(routes!(get_api, update_api, delete_api))
        .routes(routes!(explain_api))
}

/// An API definition as stored, with its id and times.
#[derive(Debug, Serialize, ToSchema)]
pub struct Api {
    pub id: String,
    pub name: String,
    pub listen_path: String,
    pub upstream_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_ca: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_pin: Option<String>,
    pub strip_listen_path: bool,
    pub auth: AuthKind,
    pub mtls: MtlsSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt: Option<JwtSettings>,
    pub timeouts: TimeoutsSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_header: Option<String>,
    pub max_body_bytes: u64,
    pub strip_request_headers: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// An API's JWT settings as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct JwtSettings {
    pub algorithms: Vec<String>,
    pub key: JwtKey,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    pub identity_claim: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_claim: Option<String>,
    pub leeway_seconds: u64,
}

/// Where the JWT verification key comes from. An HMAC secret is only reported as configured.
#[derive(Debug, Serialize, ToSchema)]
pub struct JwtKey {
    pub hmac_secret_configured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key_pem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
}

impl From<JwtSpec> for JwtSettings {
    fn from(j: JwtSpec) -> Self {
        JwtSettings {
            algorithms: j.algorithms,
            key: JwtKey { hmac_secret_configured: j.key.hmac_secret.is_some(), public_key_pem: j.key.public_key_pem, jwks: j.key.jwks },
            issuer: j.issuer,
            audience: j.audience,
            identity_claim: j.identity_claim,
            plan_claim: j.plan_claim,
            leeway_seconds: j.leeway_seconds,
        }
    }
}

impl From<ApiRecord> for Api {
    fn from(r: ApiRecord) -> Self {
        let s = r.spec;
        Api {
            id: r.id,
            name: s.name,
            listen_path: s.listen_path,
            upstream_url: s.upstream_url,
            upstream_ca: s.upstream_ca,
            upstream_pin: s.upstream_pin,
            strip_listen_path: s.strip_listen_path,
            auth: s.auth,
            mtls: s.mtls,
            jwt: s.jwt.map(JwtSettings::from),
            timeouts: s.timeouts,
            identity_header: s.identity_header,
            max_body_bytes: s.max_body_bytes,
            strip_request_headers: s.strip_request_headers,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// APIs by listen path, then id.
#[utoipa::path(
    get,
    path = "/apis",
    tag = "apis",
    params(PageQuery),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "One page of APIs", body = Page<Api>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_apis(
    admin: AdminCaller,
    State(state): State<AppState>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<Api>>, RestError> {
    let page = query(page, "invalid_query")?;
    let apis = state.services.apis.list().await?;
    let page = page.page(apis, |a| (a.spec.listen_path.clone(), a.id.clone()), "apis", &admin)?;
    Ok(Json(page.map(Api::from)))
}

#[utoipa::path(
    post,
    path = "/apis",
    tag = "apis",
    request_body = ApiSpec,
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 201, description = "Created and enforced by the gateway (Location: its URL)", body = Api),
        (status = 400, description = "Invalid definition", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The listen path is taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_api(admin: AdminCaller, State(state): State<AppState>, JsonBody(spec): JsonBody<ApiSpec>) -> Result<Response, RestError> {
    let api = state.services.apis.create(spec, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, api = %api.id, listen_path = %api.spec.listen_path, "API created");
    Ok(created(format!("/api/v1/apis/{}", api.id), Api::from(api)))
}

#[utoipa::path(
    get,
    path = "/apis/{id}",
    tag = "apis",
    params(("id" = String, Path, description = "API id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "The API", body = Api),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_api(_admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Api>, RestError> {
    Ok(Json(state.services.apis.get(&id).await?.into()))
}

/// Replaces an API's definition. A JWT HMAC secret left out is kept.
#[utoipa::path(
    put,
    path = "/apis/{id}",
    tag = "apis",
    params(("id" = String, Path, description = "API id")),
    request_body = ApiSpec,
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "Replaced and enforced by the gateway", body = Api),
        (status = 400, description = "Invalid definition", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The listen path is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_api(
    admin: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(spec): JsonBody<ApiSpec>,
) -> Result<Json<Api>, RestError> {
    let api = state.services.apis.update(&id, spec, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, api = %api.id, "API updated");
    Ok(Json(api.into()))
}

#[utoipa::path(
    delete,
    path = "/apis/{id}",
    tag = "apis",
    params(("id" = String, Path, description = "API id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 204, description = "Deleted; the gateway no longer routes it, and keys no longer grant it"),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn delete_api(admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    state.services.apis.delete(&id, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, api = %id, "API deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A request to explain: what a client would present.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainBody {
    /// A certificate from the store, presented as the client's leaf.
    #[serde(default)]
    certificate_id: Option<String>,
    /// Certificates from the store the client would send as intermediates.
    #[serde(default)]
    intermediate_ids: Vec<String>,
    /// The credential the client would send (never logged, never echoed).
    #[serde(default)]
    #[schema(write_only)]
    token: Option<String>,
}

/// The gateway's decision, check by check.
#[derive(Debug, Serialize, ToSchema)]
pub struct Explanation {
    pub api: String,
    /// `granted` or `denied`.
    pub decision: String,
    /// The gateway view this was decided against.
    pub generation: u64,
    pub steps: Vec<Step>,
}

/// One check of the decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct Step {
    /// `client_certificate`, `credential`, `binding` or `limits`.
    pub step: String,
    /// `pass`, `fail` or `not_checked`.
    pub outcome: String,
    /// The denial code the gateway would answer with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub detail: String,
}

impl From<ExplainStep> for Step {
    fn from(s: ExplainStep) -> Self {
        Step { step: s.step.into(), outcome: s.outcome.into(), code: s.code.map(str::to_string), detail: s.detail }
    }
}

/// Which check passes or fails, and why, for an API, a certificate and a token — against the
/// view the gateway enforces right now.
#[utoipa::path(
    post,
    path = "/apis/{id}/explain",
    tag = "apis",
    params(("id" = String, Path, description = "API id")),
    request_body = ExplainBody,
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "The decision, check by check", body = Explanation),
        (status = 400, description = "Invalid JSON, or intermediates without a leaf", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such API or certificate", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn explain_api(
    _admin: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ExplainBody>,
) -> Result<Json<Explanation>, RestError> {
    let mut chain = Vec::new();
    for cert_id in body.certificate_id.iter().chain(body.intermediate_ids.iter()) {
        chain.push(state.services.certificates.get(cert_id).await?.record.der);
    }
    if body.certificate_id.is_none() && !chain.is_empty() {
        return Err(RestError::bad_request(
            "certificate_missing",
            "Certificate missing",
            "intermediate_ids need a certificate_id (the leaf).",
        ));
    }
    let view = state.gateway.view.load_full();
    let api = view.apis.iter().find(|a| a.id == id).cloned().ok_or(RestError::Service(ServiceError::NotFound { what: "API" }))?;
    let peer = PeerCertificate::new(&chain);
    let presented = Presented { bearer: body.token.as_deref() };
    let now = certgate_services::clock::now();
    let (granted, steps) = explain(&state.gateway.keys, &api, peer.as_ref(), presented, now, &WebpkiChainCheck);
    Ok(Json(Explanation {
        api: api.id.clone(),
        decision: if granted { "granted" } else { "denied" }.into(),
        generation: view.generation,
        steps: steps.into_iter().map(Step::from).collect(),
    }))
}
