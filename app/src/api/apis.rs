//! APIs: the provider's API definitions, their allow lists and JWT settings (admin).

// `update_api` takes the settings form's fields; `#[server]` drops an `allow` put on the
// function from the client half it generates for the wasm build, so it is allowed here.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// An API as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiSummary {
    pub id: String,
    pub name: String,
    pub listen_path: String,
    pub upstream_url: String,
    /// `auth_token`, `jwt` or `none`.
    pub auth: String,
    pub mtls_required: bool,
    pub allowed_count: usize,
}

/// One entry of an allow list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowedEntry {
    pub id: String,
    pub label: String,
    pub fingerprint_short: String,
    /// `ca` or `leaf`.
    pub kind: String,
    /// Why a leaf cannot authenticate a client now (expired, CA, EKU), if it cannot.
    pub problem: Option<String>,
}

/// JWT settings, without key material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtSummary {
    pub algorithm: String,
    /// `hmac_secret`, `public_key_pem` or `jwks`.
    pub key_kind: String,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub identity_claim: String,
}

/// An API with everything its page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiDetail {
    pub summary: ApiSummary,
    /// Where clients call the API: the gateway's origin and the listen path.
    pub gateway_url: String,
    pub strip_listen_path: bool,
    pub identity_header: Option<String>,
    pub allowed: Vec<AllowedEntry>,
    pub jwt: Option<JwtSummary>,
}

#[server(prefix = "/fn", endpoint = "list_apis")]
pub async fn list_apis() -> Result<Vec<ApiSummary>, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    let apis = ssr::services()?.apis.list().await.map_err(ssr::service_error)?;
    Ok(apis.iter().map(ssr::api_summary).collect())
}

#[server(prefix = "/fn", endpoint = "get_api")]
pub async fn get_api(id: String) -> Result<ApiDetail, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    let services = ssr::services()?;
    let record = services.apis.get(&id).await.map_err(ssr::service_error)?;
    ssr::api_detail(&services, &record).await
}

#[server(prefix = "/fn", endpoint = "create_api")]
pub async fn create_api(
    name: String,
    listen_path: String,
    upstream_url: String,
    auth: String,
    mtls_required: Option<String>,
) -> Result<ApiSummary, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let spec = ssr::new_api_spec(name, listen_path, upstream_url, &auth, mtls_required.is_some())?;
    let record = ssr::services()?.apis.create(spec, &admin.user.id).await.map_err(ssr::service_error)?;
    tracing::info!(admin = %admin.user.id, api = %record.id, "API created");
    ssr::go_after_form_post(&format!("/admin/apis?created={}", ssr::query_value(&record.id)));
    Ok(ssr::api_summary(&record))
}

/// Saves the settings form. JWT key material left blank keeps the stored key.
#[server(prefix = "/fn", endpoint = "update_api")]
pub async fn update_api(
    id: String,
    name: String,
    listen_path: String,
    upstream_url: String,
    auth: String,
    mtls_required: Option<String>,
    strip_listen_path: Option<String>,
    identity_header: Option<String>,
    jwt_algorithm: Option<String>,
    jwt_key_kind: Option<String>,
    jwt_key: Option<String>,
    jwt_issuer: Option<String>,
    jwt_audience: Option<String>,
    jwt_identity_claim: Option<String>,
) -> Result<ApiDetail, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let form = ssr::ApiSettingsForm {
        name,
        listen_path,
        upstream_url,
        auth,
        mtls_required: mtls_required.is_some(),
        strip_listen_path: strip_listen_path.is_some(),
        identity_header,
        jwt_algorithm,
        jwt_key_kind,
        jwt_key,
        jwt_issuer,
        jwt_audience,
        jwt_identity_claim,
    };
    let services = ssr::services()?;
    let record = services
        .apis
        .modify(&id, &admin.user.id, "api.updated", move |spec| form.apply(spec))
        .await
        .map_err(ssr::service_error)?;
    ssr::api_detail(&services, &record).await
}

/// Adds a certificate from the store to the API's allow list (a leaf pin or a CA entry).
#[server(prefix = "/fn", endpoint = "allow_api_certificate")]
pub async fn allow_api_certificate(id: String, certificate_id: String) -> Result<(), AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    ssr::services()?
        .apis
        .modify(&id, &admin.user.id, "api.allow_list.added", move |spec| {
            spec.mtls.allowed_certificates.push(certificate_id);
            Ok(())
        })
        .await
        .map_err(ssr::service_error)?;
    Ok(())
}

#[server(prefix = "/fn", endpoint = "disallow_api_certificate")]
pub async fn disallow_api_certificate(id: String, certificate_id: String) -> Result<(), AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    ssr::services()?
        .apis
        .modify(&id, &admin.user.id, "api.allow_list.removed", move |spec| {
            spec.mtls.allowed_certificates.retain(|c| c != &certificate_id);
            Ok(())
        })
        .await
        .map_err(ssr::service_error)?;
    Ok(())
}

/// Deletes an API; the form's confirmation box must be ticked (the page says beforehand what
/// stops working). Goes back to the list, which says what was deleted.
#[server(prefix = "/fn", endpoint = "delete_api")]
pub async fn delete_api(id: String, confirm: Option<String>) -> Result<(), AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_portal::require_confirmation(confirm.as_deref())?;
    let services = ssr::services()?;
    let api = services.apis.get(&id).await.map_err(ssr::service_error)?;
    services.apis.delete(&id, &admin.user.id).await.map_err(ssr::service_error)?;
    leptos_axum::redirect(&format!("/admin/apis?deleted={}", ssr::query_value(&api.spec.name)));
    Ok(())
}

/// Where an error of an API form belongs (`form` when no one field), in the screen's words:
/// the form's labels, never the REST API's field names.
pub fn api_error_field(e: &AppError) -> (&'static str, String) {
    let said = |text: &str| text.to_string();
    match e.code.as_str() {
        "invalid_name" => ("name", said("Give the API a name of 1 to 100 characters, without control characters.")),
        "invalid_listen_path" => (
            "listen_path",
            said("The listen path must start with “/”, have at most 200 characters, and hold no spaces, “?”, “#”, “%”, “.” or “..” segments, or “//”."),
        ),
        "listen_path_taken" => ("listen_path", said("Another API already uses this listen path: choose another.")),
        "invalid_upstream_url" => ("upstream_url", e.message.clone()),
        "invalid_auth" => ("auth", said("Choose Auth Token, JWT or None.")),
        "jwt_settings_missing" => ("auth", e.message.clone()),
        "invalid_identity_header" => (
            "identity_header",
            said("Use a plain header name (letters, digits and “-”) that is not a standard header such as Host or Authorization."),
        ),
        "invalid_jwt_settings" if e.message.contains("jwt.key needs") => ("jwt_key", said("Paste the key that checks the tokens: a public key (PEM), a JWKS document or an HMAC secret.")),
        "invalid_jwt_settings" if e.message.contains("identity_claim") => ("jwt_identity_claim", said("Name the claim that identifies the caller, e.g. sub.")),
        "invalid_jwt_settings" if e.message.contains("jwt.algorithms") => ("jwt_algorithm", said("Choose an algorithm of the key's type.")),
        "invalid_jwt_settings" => ("jwt_key", e.message.replace("public_key_pem", "the public key").replace("jwks", "the JWKS document").replace("hmac_secret", "the HMAC secret")),
        _ => ("form", e.message.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_are_placed_at_their_field_in_the_forms_words() {
        for (code, message, field) in [
            ("invalid_name", "x", "name"),
            ("invalid_listen_path", "x", "listen_path"),
            ("listen_path_taken", "The listen path /a is already used by API api_1.", "listen_path"),
            ("invalid_upstream_url", "The upstream URL is not usable: it has no host.", "upstream_url"),
            ("invalid_identity_header", "identity_header must be a plain header name", "identity_header"),
            ("invalid_jwt_settings", "jwt.key needs exactly one of hmac_secret, public_key_pem or jwks.", "jwt_key"),
            ("invalid_jwt_settings", "The HMAC secret must have at least 32 bytes.", "jwt_key"),
            ("unauthenticated", "Sign in to continue.", "form"),
        ] {
            let (at, said) = api_error_field(&AppError::new(code, message));
            assert_eq!(at, field, "{code}: {message}");
            for rest_name in ["upstream_url", "identity_header", "listen_path", "jwt.key", "hmac_secret", "public_key_pem"] {
                assert!(!said.contains(rest_name), "{code} says {rest_name}: {said}");
            }
        }
    }
}
