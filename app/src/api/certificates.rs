//! Certificates: the admin portal's facade over the provider's certificate store.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::changes::Previewed;
use crate::error::AppError;

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltNameView {
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationRef {
    pub id: String,
    pub name: String,
}

/// A certificate as the portal and the REST API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
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
    pub subject_alt_names: Vec<AltNameView>,
    pub not_before: String,
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
    /// `None`: no extendedKeyUsage extension (any usage).
    pub extended_key_usage: Option<Vec<String>>,
    /// Whether it can authenticate a client now, and if not, why.
    pub client_auth_usable: bool,
    pub client_auth_problem: Option<String>,
    pub organisations: Vec<OrganisationRef>,
    /// APIs and credentials that use it (filled once the gateway's allow lists exist).
    pub used_by: Vec<String>,
    pub added_at: String,
    pub pem: String,
}

/// Listing filters (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateQuery {
    pub organisation: Option<String>,
    pub expiring_within_days: Option<i64>,
    /// `ca` or `leaf`.
    pub kind: Option<String>,
    pub q: Option<String>,
}

#[server(prefix = "/fn", endpoint = "list_certificates")]
pub async fn list_certificates(
    organisation: Option<String>,
    expiring_within_days: Option<i64>,
    kind: Option<String>,
    q: Option<String>,
) -> Result<Vec<CertificateView>, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    let filter = ssr::certificate_filter(CertificateQuery { organisation, expiring_within_days, kind, q })?;
    let entries = ssr::services()?.certificates.list(filter).await.map_err(ssr::service_error)?;
    Ok(entries.iter().map(ssr::certificate_view).collect())
}

#[server(prefix = "/fn", endpoint = "get_certificate")]
pub async fn get_certificate(id: String) -> Result<CertificateView, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    let entry = ssr::services()?.certificates.get(&id).await.map_err(ssr::service_error)?;
    Ok(ssr::certificate_view(&entry))
}

/// Uploads one PEM certificate (pasted, or read from a file in the browser).
#[server(prefix = "/fn", endpoint = "upload_certificate")]
pub async fn upload_certificate(pem: String, display_name: Option<String>) -> Result<CertificateView, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let certificates = ssr::services()?.certificates;
    let entry = certificates
        .add(pem.as_bytes(), certgate_core::pki::Encoding::Pem, &admin.user.id)
        .await
        .map_err(ssr::service_error)?;
    let id = entry.record.facts.id.clone();
    tracing::info!(admin = %admin.user.id, certificate = %id, "certificate uploaded");
    let entry = match display_name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => certificates.set_display_name(&id, name, &admin.user.id).await.map_err(ssr::service_error)?,
        None => entry,
    };
    Ok(ssr::certificate_view(&entry))
}

#[server(prefix = "/fn", endpoint = "rename_certificate")]
pub async fn rename_certificate(id: String, display_name: String) -> Result<CertificateView, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let entry = ssr::services()?
        .certificates
        .set_display_name(&id, &display_name, &admin.user.id)
        .await
        .map_err(ssr::service_error)?;
    Ok(ssr::certificate_view(&entry))
}

/// Links the certificate to an organisation. When that changes live credentials or allow
/// lists, the answer previews it and nothing changes; sent again with `confirm` it applies.
#[server(prefix = "/fn", endpoint = "link_certificate")]
pub async fn link_certificate(id: String, organisation_id: String, confirm: Option<String>) -> Result<Previewed<CertificateView>, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_changes::relink_certificate(&ssr::services()?, &admin, &id, &organisation_id, true, confirm.as_deref()).await
}

/// Unlinks the certificate from an organisation, previewed like a link.
#[server(prefix = "/fn", endpoint = "unlink_certificate")]
pub async fn unlink_certificate(id: String, organisation_id: String, confirm: Option<String>) -> Result<Previewed<CertificateView>, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_changes::relink_certificate(&ssr::services()?, &admin, &id, &organisation_id, false, confirm.as_deref()).await
}
