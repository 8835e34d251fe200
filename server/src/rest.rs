//! The admin REST API under `/api/v1`: JSON in, JSON or problem+json out.
//! Every route authenticates first: the admin bearer token, or an admin's session.

use app::ssr::{problem_for, RequestAuth};
use app::api::certificates::CertificateQuery;
use app::ssr::{certificate_filter, certificate_view};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use certgate_core::pki::{self, Encoding};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use certgate_services::accounts::Role;
use certgate_core::gateway::chain::WebpkiChainCheck;
use certgate_core::gateway::spec::{ApiSpec, KeySpec};
use certgate_core::gateway::{explain, PeerCertificate, Presented};
use certgate_services::apis::ApiRecord;
use certgate_services::keys::KeyRecord;
use certgate_services::organisations::OrganisationRecord;
use certgate_services::ServiceError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::router::AppState;
use crate::web::{problem, problem_response, too_large};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/organisations", get(list_organisations).post(create_organisation))
        .route(
            "/organisations/{id}",
            get(get_organisation).put(rename_organisation).delete(delete_organisation),
        )
        .route("/certificates", get(list_certificates).post(add_certificate))
        .route("/certificates/{id}", get(get_certificate).delete(delete_certificate))
        .route("/apis", get(list_apis).post(create_api))
        .route("/apis/{id}", get(get_api).put(update_api).delete(delete_api))
        .route("/apis/{id}/explain", axum::routing::post(explain_api))
        .route("/keys", get(list_keys).post(create_key))
        .route("/keys/{id}", get(get_key).delete(revoke_key))
        .method_not_allowed_fallback(method_not_allowed)
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

impl From<ServiceError> for RestError {
    fn from(e: ServiceError) -> Self {
        RestError::Service(e)
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        match self {
            RestError::Service(e) => problem_response(&problem_for(&e)),
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

#[derive(Debug, Serialize)]
pub struct OrganisationJson {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<OrganisationRecord> for OrganisationJson {
    fn from(o: OrganisationRecord) -> Self {
        OrganisationJson { id: o.id, name: o.name, created_at: o.created_at, updated_at: o.updated_at }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationBody {
    pub name: String,
}

async fn list_organisations(_admin: AdminCaller, State(state): State<AppState>) -> Result<Response, RestError> {
    let orgs = state.services.organisations.list().await?;
    let items: Vec<OrganisationJson> = orgs.into_iter().map(Into::into).collect();
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

async fn create_organisation(
    admin: AdminCaller,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<OrganisationBody>,
) -> Result<Response, RestError> {
    let org = state.services.organisations.create(&body.name).await?;
    tracing::info!(actor = %admin.actor, organisation = %org.id, "organisation created");
    let location = HeaderValue::from_str(&format!("/api/v1/organisations/{}", org.id)).ok();
    let mut response = (StatusCode::CREATED, Json(OrganisationJson::from(org))).into_response();
    if let Some(l) = location {
        response.headers_mut().insert(header::LOCATION, l);
    }
    Ok(response)
}

async fn get_organisation(_admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    Ok(Json(OrganisationJson::from(state.services.organisations.get(&id).await?)).into_response())
}

async fn rename_organisation(
    admin: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<OrganisationBody>,
) -> Result<Response, RestError> {
    let org = state.services.organisations.rename(&id, &body.name).await?;
    tracing::info!(actor = %admin.actor, organisation = %org.id, "organisation renamed");
    Ok(Json(OrganisationJson::from(org)).into_response())
}

async fn delete_organisation(admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    state.services.organisations.delete(&id).await?;
    tracing::info!(actor = %admin.actor, organisation = %id, "organisation deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The encoding a certificate upload's Content-Type announces (`None`: not a certificate type).
fn upload_encoding(headers: &HeaderMap, body: &[u8]) -> Option<UploadFormat> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match content_type.as_deref() {
        None | Some("") => Some(UploadFormat::Raw(pki::sniff_encoding(body))),
        Some("application/json") => Some(UploadFormat::Json),
        Some("application/x-pem-file" | "application/pem-certificate-chain" | "text/plain") => Some(UploadFormat::Raw(Encoding::Pem)),
        Some("application/pkix-cert" | "application/x-x509-ca-cert" | "application/x-x509-user-cert" | "application/octet-stream") => {
            Some(UploadFormat::Raw(Encoding::Der))
        }
        Some(_) => None,
    }
}

enum UploadFormat {
    Raw(Encoding),
    Json,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PemBody {
    pem: String,
}

async fn add_certificate(
    admin: AdminCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RestError> {
    let body = body.map_err(|rejection| {
        RestError::Refused(if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            problem(StatusCode::BAD_REQUEST, "invalid_body", "Invalid body", "The request body could not be read.")
        })
    })?;
    let (bytes, encoding) = match upload_encoding(&headers, &body) {
        Some(UploadFormat::Raw(encoding)) => (body.to_vec(), encoding),
        Some(UploadFormat::Json) => {
            let parsed: PemBody = serde_json::from_slice(&body).map_err(|e| {
                RestError::Refused(problem(StatusCode::BAD_REQUEST, "invalid_json", "Invalid JSON body", &format!("Expected {{\"pem\": \"...\"}}: {e}")))
            })?;
            (parsed.pem.into_bytes(), Encoding::Pem)
        }
        None => {
            return Err(RestError::Refused(problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
                "Send PEM (application/x-pem-file or text/plain), DER (application/pkix-cert) or JSON {\"pem\": ...}.",
            )))
        }
    };
    let entry = state.services.certificates.add(&bytes, encoding, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, certificate = %entry.record.facts.id, "certificate added");
    let view = certificate_view(&entry);
    let location = HeaderValue::from_str(&format!("/api/v1/certificates/{}", view.id)).ok();
    let mut response = (StatusCode::CREATED, Json(view)).into_response();
    if let Some(l) = location {
        response.headers_mut().insert(header::LOCATION, l);
    }
    Ok(response)
}

async fn list_certificates(
    _admin: AdminCaller,
    State(state): State<AppState>,
    query: Result<Query<CertificateQuery>, QueryRejection>,
) -> Result<Response, RestError> {
    let Query(query) = query.map_err(|e| RestError::Refused(problem(StatusCode::BAD_REQUEST, "invalid_filter", "Invalid filter", &e.body_text())))?;
    let filter = certificate_filter(query)
        .map_err(|e| RestError::Refused(problem(StatusCode::BAD_REQUEST, &e.code, "Invalid filter", &e.message)))?;
    let entries = state.services.certificates.list(filter).await?;
    let items: Vec<_> = entries.iter().map(certificate_view).collect();
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

async fn get_certificate(_admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    Ok(Json(certificate_view(&state.services.certificates.get(&id).await?)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteQuery {
    #[serde(default)]
    force: bool,
}

async fn delete_certificate(
    admin: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    force: Result<Query<DeleteQuery>, QueryRejection>,
) -> Result<Response, RestError> {
    let Query(force) = force.map_err(|e| {
        RestError::Refused(problem(StatusCode::BAD_REQUEST, "invalid_query", "Invalid query", &e.body_text()))
    })?;
    state.services.certificates.delete(&id, force.force, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, certificate = %id, "certificate deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// 201 Created with a Location header.
fn created(location: String, body: impl Serialize) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(l) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, l);
    }
    response
}

/// An API as the REST API shows it: the record, with a JWT HMAC secret replaced by
/// `hmac_secret_configured: true` (secrets are written, never read back).
fn api_json(record: &ApiRecord) -> serde_json::Value {
    let mut value = serde_json::to_value(record).unwrap_or_default();
    if let Some(key) = value.pointer_mut("/jwt/key").and_then(serde_json::Value::as_object_mut) {
        if key.remove("hmac_secret").is_some() {
            key.insert("hmac_secret_configured".into(), serde_json::Value::Bool(true));
        }
    }
    value
}

async fn list_apis(_admin: AdminCaller, State(state): State<AppState>) -> Result<Response, RestError> {
    let items: Vec<_> = state.services.apis.list().await?.iter().map(api_json).collect();
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

async fn create_api(admin: AdminCaller, State(state): State<AppState>, JsonBody(spec): JsonBody<ApiSpec>) -> Result<Response, RestError> {
    let api = state.services.apis.create(spec, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, api = %api.id, listen_path = %api.spec.listen_path, "API created");
    Ok(created(format!("/api/v1/apis/{}", api.id), api_json(&api)))
}

async fn get_api(_admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    Ok(Json(api_json(&state.services.apis.get(&id).await?)).into_response())
}

async fn update_api(
    admin: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(spec): JsonBody<ApiSpec>,
) -> Result<Response, RestError> {
    let api = state.services.apis.update(&id, spec, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, api = %api.id, "API updated");
    Ok(Json(api_json(&api)).into_response())
}

async fn delete_api(admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    state.services.apis.delete(&id, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, api = %id, "API deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A key as the REST API shows it: never the token's hash, and the token only at creation.
fn key_json(record: &KeyRecord, token: Option<&str>) -> serde_json::Value {
    let mut value = serde_json::to_value(record).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.remove("token_sha256");
        if let Some(token) = token {
            object.insert("token".into(), serde_json::Value::String(token.to_string()));
        }
    }
    value
}

async fn list_keys(_admin: AdminCaller, State(state): State<AppState>) -> Result<Response, RestError> {
    let items: Vec<_> = state.services.keys.list().await?.iter().map(|k| key_json(k, None)).collect();
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

async fn create_key(admin: AdminCaller, State(state): State<AppState>, JsonBody(spec): JsonBody<KeySpec>) -> Result<Response, RestError> {
    let new = state.services.keys.create(spec, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, key = %new.record.id, "key created");
    Ok(created(format!("/api/v1/keys/{}", new.record.id), key_json(&new.record, Some(&new.token))))
}

async fn get_key(_admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    Ok(Json(key_json(&state.services.keys.get(&id).await?, None)).into_response())
}

async fn revoke_key(admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    state.services.keys.revoke(&id, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, key = %id, "key revoked");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainBody {
    /// A certificate from the store, presented as the client's leaf.
    #[serde(default)]
    certificate_id: Option<String>,
    /// Certificates from the store the client would send as intermediates.
    #[serde(default)]
    intermediate_ids: Vec<String>,
    /// The credential the client would send (never logged, never echoed).
    #[serde(default)]
    token: Option<String>,
}

/// Which check passes or fails, and why, for an API, a certificate and a token — against the
/// view the gateway enforces right now.
async fn explain_api(
    _admin: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ExplainBody>,
) -> Result<Response, RestError> {
    let mut chain = Vec::new();
    for cert_id in body.certificate_id.iter().chain(body.intermediate_ids.iter()) {
        chain.push(state.services.certificates.get(cert_id).await?.record.der);
    }
    if body.certificate_id.is_none() && !chain.is_empty() {
        return Err(RestError::Refused(problem(
            StatusCode::BAD_REQUEST,
            "certificate_missing",
            "Certificate missing",
            "intermediate_ids need a certificate_id (the leaf).",
        )));
    }
    let view = state.gateway.view.load_full();
    let api = view.apis.iter().find(|a| a.id == id).cloned().ok_or(RestError::Service(ServiceError::NotFound { what: "API" }))?;
    let peer = PeerCertificate::new(&chain);
    let presented = Presented { bearer: body.token.as_deref() };
    let now = certgate_services::clock::now();
    let (granted, steps) = explain(&state.gateway.keys, &api, peer.as_ref(), presented, now, &WebpkiChainCheck);
    Ok(Json(serde_json::json!({
        "api": api.id,
        "decision": if granted { "granted" } else { "denied" },
        "generation": view.generation,
        "steps": steps,
    }))
    .into_response())
}
