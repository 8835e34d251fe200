//! `/certificates`: the provider's certificate store. Uploads take PEM, DER or JSON `{"pem": ...}`.

use app::api::certificates::{list_filters, CertificateQuery, CertificateView};
use app::ssr::{certificate_filter, certificate_view};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use certgate_core::pki::{self, Encoding};
use certgate_core::problem::Problem;
use certgate_services::certificates::expiry_key;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::changes::{DryRunQuery, ViewChange};
use super::pagination::{Page, PageQuery};
use super::{created, query, AdminCaller, JsonBody, RestError};
use crate::router::AppState;
use crate::web::{problem, too_large};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_certificates, add_certificate))
        .routes(routes!(get_certificate, update_certificate, delete_certificate))
}

/// A subject alternative name.
#[derive(Debug, Serialize, ToSchema)]
pub struct AltName {
    /// `dns`, `ip`, `email`, `uri` or `other`.
    pub kind: String,
    pub value: String,
}

/// An organisation a certificate is linked to.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationLink {
    pub id: String,
    pub name: String,
}

/// A certificate of the store (public data only: there is no private key to show).
#[derive(Debug, Serialize, ToSchema)]
pub struct Certificate {
    /// Lowercase hex SHA-256 of the DER.
    pub id: String,
    /// The same hash, colon-grouped uppercase (as openssl prints it).
    pub fingerprint_sha256: String,
    /// RFC 8705 `x5t#S256`.
    #[serde(rename = "x5t#S256")]
    pub x5t_s256: String,
    pub spki_sha256: String,
    /// Portal name, or the subject's CN, or the subject.
    pub label: String,
    /// The portal-only display name, if one was set.
    pub display_name: Option<String>,
    pub subject: String,
    pub subject_common_name: Option<String>,
    pub issuer: String,
    pub serial: String,
    pub subject_alt_names: Vec<AltName>,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339.
    pub not_after: String,
    pub not_after_unix: i64,
    /// `valid`, `expired` or `not_yet_valid`.
    pub validity: String,
    /// Whole days until expiry (negative once expired).
    pub days_left: i64,
    /// `ca` or `leaf`.
    pub kind: String,
    pub self_issued: bool,
    pub key_algorithm: String,
    /// `null`: no extendedKeyUsage extension (any usage).
    pub extended_key_usage: Option<Vec<String>>,
    /// Whether it can authenticate a client now, and if not, why.
    pub client_auth_usable: bool,
    pub client_auth_problem: Option<String>,
    pub organisations: Vec<OrganisationLink>,
    /// APIs and credentials that use it.
    pub used_by: Vec<String>,
    /// RFC 3339.
    pub added_at: String,
    /// The certificate in PEM.
    pub pem: String,
}

impl From<CertificateView> for Certificate {
    fn from(v: CertificateView) -> Self {
        Certificate {
            id: v.id,
            fingerprint_sha256: v.fingerprint_sha256,
            x5t_s256: v.x5t_s256,
            spki_sha256: v.spki_sha256,
            label: v.label,
            display_name: v.display_name,
            subject: v.subject,
            subject_common_name: v.subject_common_name,
            issuer: v.issuer,
            serial: v.serial,
            subject_alt_names: v.subject_alt_names.into_iter().map(|a| AltName { kind: a.kind, value: a.value }).collect(),
            not_before: v.not_before,
            not_after: v.not_after,
            not_after_unix: v.not_after_unix,
            validity: v.validity,
            days_left: v.days_left,
            kind: v.kind,
            self_issued: v.self_issued,
            key_algorithm: v.key_algorithm,
            extended_key_usage: v.extended_key_usage,
            client_auth_usable: v.client_auth_usable,
            client_auth_problem: v.client_auth_problem,
            organisations: v.organisations.into_iter().map(|o| OrganisationLink { id: o.id, name: o.name }).collect(),
            used_by: v.used_by,
            added_at: v.added_at,
            pem: v.pem,
        }
    }
}

/// Filters and paging of the certificate list (all optional).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CertificateListQuery {
    /// Only certificates linked to this organisation id.
    pub organisation: Option<String>,
    /// Only certificates expiring within this many days (0 to 36500; expired ones included).
    pub expiring_within_days: Option<i64>,
    /// `ca` or `leaf`.
    pub kind: Option<String>,
    /// Text in the label, subject, issuer or a linked organisation's name (case-insensitive), or
    /// the start of the fingerprint (hex or colon form).
    pub q: Option<String>,
    /// `expired`, `7d` (at most 7 whole days left), `30d` (at most 30) or `later` (more than 30).
    pub expiry: Option<String>,
    /// `yes`: usable for client authentication now; `no`: not (a CA, the wrong usage, expired...).
    pub usable: Option<String>,
    /// Items per page: 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, unchanged.
    pub cursor: Option<String>,
}

/// Certificates by expiry, then id.
#[utoipa::path(
    get,
    path = "/certificates",
    tag = "certificates",
    params(CertificateListQuery),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "One page of certificates", body = Page<Certificate>),
        (status = 400, description = "Bad filter, limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_certificates(
    admin: AdminCaller,
    State(state): State<AppState>,
    params: Result<Query<CertificateListQuery>, QueryRejection>,
) -> Result<Json<Page<Certificate>>, RestError> {
    let params = query(params, "invalid_filter")?;
    let page = PageQuery { limit: params.limit, cursor: params.cursor };
    let invalid = |e: app::error::AppError| RestError::bad_request(&e.code, "Invalid filter", &e.message);
    let mut filter = certificate_filter(CertificateQuery {
        organisation: params.organisation,
        expiring_within_days: params.expiring_within_days,
        kind: params.kind,
        q: params.q,
    })
    .map_err(invalid)?;
    filter.expiry = list_filters::expiry(params.expiry.as_deref()).map_err(invalid)?;
    filter.usable = list_filters::usable(params.usable.as_deref()).map_err(invalid)?;
    // Paged in the store, soonest expiry first: a page reads only until it is full.
    let (limit, after) = page.bounds::<String>("certificates", &admin.actor)?;
    let (entries, more) = state.services.certificates.page(filter, after, limit).await?;
    let page = PageQuery::cut(entries, more, |e| expiry_key(&e.record.facts), "certificates", &admin.actor)?;
    Ok(Json(page.map(|e| certificate_view(&e).into())))
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

/// One certificate in PEM, as JSON.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PemBody {
    /// One `CERTIFICATE` block (text around it is allowed).
    pem: String,
}

/// A certificate in DER, as the body's raw bytes (documentation only: the body is read as bytes).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
struct Der(Vec<u8>);

/// Adds one certificate. Refused with nothing stored: a private key, several certificates, a CSR,
/// garbage, bytes after the DER.
#[utoipa::path(
    post,
    path = "/certificates",
    tag = "certificates",
    request_body(
        description = "One certificate: PEM, DER, or JSON `{\"pem\": ...}` (at most 64 KiB)",
        content(
            (String = "application/x-pem-file"),
            (String = "text/plain"),
            (Der = "application/pkix-cert"),
            (PemBody = "application/json"),
        )
    ),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 201, description = "Added (Location: its URL)", body = Certificate),
        (status = 400, description = "Not exactly one certificate", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already in the store (the detail names its id)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a certificate media type", body = Problem, content_type = "application/problem+json"),
    )
)]
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
            let parsed: PemBody = serde_json::from_slice(&body)
                .map_err(|e| RestError::bad_request("invalid_json", "Invalid JSON body", &format!("Expected {{\"pem\": \"...\"}}: {e}")))?;
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
    let certificate = Certificate::from(certificate_view(&entry));
    Ok(created(format!("/api/v1/certificates/{}", certificate.id), certificate))
}

#[utoipa::path(
    get,
    path = "/certificates/{id}",
    tag = "certificates",
    params(("id" = String, Path, description = "SHA-256 of the DER: hex, or colon-grouped")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "The certificate", body = Certificate),
        (status = 404, description = "No such certificate", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_certificate(_admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Certificate>, RestError> {
    Ok(Json(certificate_view(&state.services.certificates.get(&id).await?).into()))
}

/// The portal's data about a certificate; each field is optional, and one left out is kept.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificatePatch {
    /// The portal-only display name (at most 100 characters); `""` clears it.
    #[serde(default)]
    pub name: Option<String>,
    /// Organisation ids: replaces the set of links (`[]` unlinks every organisation).
    #[serde(default)]
    pub organisations: Option<Vec<String>>,
}

/// Sets the portal's display name and organisation links in one atomic write (one audit entry).
/// An unknown organisation is 400 `unknown_organisation` (the body is wrong, the certificate
/// exists); a CA certificate given two organisations is 409 `ca_linked_elsewhere` (it covers
/// every leaf it issues). A refusal changes nothing.
#[utoipa::path(
    patch,
    path = "/certificates/{id}",
    tag = "certificates",
    params(("id" = String, Path, description = "SHA-256 of the DER: hex, or colon-grouped"), DryRunQuery),
    request_body = CertificatePatch,
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "Updated (with `?dry_run=true`: nothing changed), with what linking or unlinking does to live credentials and allow lists; unlinking an organisation's last certificate warns how many credentials stop working", body = CertificateUpdate),
        (status = 400, description = "`invalid_name`, `unknown_organisation`, or invalid JSON (unknown fields included)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such certificate", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`ca_linked_elsewhere`: a CA certificate may be linked to one organisation only", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_certificate(
    admin: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    dry_run: Result<Query<DryRunQuery>, QueryRejection>,
    JsonBody(patch): JsonBody<CertificatePatch>,
) -> Result<Json<CertificateUpdate>, RestError> {
    let dry_run = query(dry_run, "invalid_query")?.dry_run;
    let (entry, change) =
        state.services.certificates.update_portal_previewed(&id, patch.name.as_deref(), patch.organisations, &admin.actor, dry_run).await?;
    if !dry_run {
        tracing::info!(actor = %admin.actor, certificate = %entry.record.facts.id, "certificate portal data updated");
    }
    Ok(Json(CertificateUpdate { certificate: certificate_view(&entry).into(), dry_run, change: change.into() }))
}

/// A certificate after a portal update (unchanged in a dry run), with what the update does.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateUpdate {
    #[serde(flatten)]
    pub certificate: Certificate,
    /// `true`: nothing was changed.
    pub dry_run: bool,
    pub change: ViewChange,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DeleteQuery {
    /// Delete even while APIs or key bindings use it: it is taken out of them too.
    #[serde(default)]
    force: bool,
}

#[utoipa::path(
    delete,
    path = "/certificates/{id}",
    tag = "certificates",
    params(("id" = String, Path, description = "SHA-256 of the DER: hex, or colon-grouped"), DeleteQuery),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such certificate", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "In use (and `force` not set)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn delete_certificate(
    admin: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    force: Result<Query<DeleteQuery>, QueryRejection>,
) -> Result<Response, RestError> {
    let force = query(force, "invalid_query")?;
    state.services.certificates.delete(&id, force.force, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, certificate = %id, "certificate deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}
