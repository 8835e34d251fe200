//! Server halves of the destructive actions' dry runs and of an API's admin keys: records read
//! from the store, counted by the pure functions of `certgate_services::impact`.

use certgate_core::gateway::spec::KeySpec;
use certgate_services::impact;
use certgate_services::keys::KeyRecord;
use certgate_services::sessions::ActiveSession;
use certgate_services::{clock, ServiceError};

use crate::api::impact::Impact;
use crate::api::keys::{ApiKeyView, NewApiKeyView};
use crate::error::AppError;
use crate::ssr::{service_error, PortalServices};

/// What deleting the API would stop (404 for an unknown API, like the deletion).
pub async fn api_deletion(services: &PortalServices, id: &str) -> Result<Impact, AppError> {
    let api = services.apis.get(id).await.map_err(service_error)?;
    let keys = services.keys.list().await.map_err(service_error)?;
    let products = services.products.list().await.map_err(service_error)?;
    let mut said = impact::api_deletion(id, &keys, &products);
    said.listen_path = api.spec.listen_path.clone();
    said.allow_list_entries = api.spec.mtls.allowed_certificates.len();
    Ok(Impact { lines: said.sentences(), refusal: said.refusal() })
}

/// What deleting the organisation would meet: refused while anything belongs to it.
pub async fn organisation_deletion(services: &PortalServices, id: &str) -> Result<Impact, AppError> {
    let dependents = services.organisations.dependents(id).await.map_err(service_error)?;
    let lines = match dependents.refusal() {
        Some(_) => Vec::new(),
        None => vec!["Nothing belongs to it any more (no user, app or certificate link): nothing stops working.".to_string()],
    };
    Ok(Impact { lines, refusal: dependents.refusal() })
}

async fn key_view(services: &PortalServices, key: &KeyRecord) -> Result<ApiKeyView, AppError> {
    let mut apis = Vec::new();
    for api in &key.spec.apis {
        apis.push(services.apis.get(api).await.map(|a| a.spec.name).unwrap_or_else(|_| api.clone()));
    }
    Ok(ApiKeyView {
        id: key.id.clone(),
        revocation: impact::key_revocation(&apis),
        apis,
        bound_certificates: key.spec.bound_certificates.as_ref().map(Vec::len),
        expires_at: key.spec.expires_at.map(clock::rfc3339),
        created_at: clock::rfc3339(key.created_at),
    })
}

/// The admin keys granting the API (404 for an unknown API).
pub async fn api_keys(services: &PortalServices, api: &str) -> Result<Vec<ApiKeyView>, AppError> {
    services.apis.get(api).await.map_err(service_error)?;
    let keys = services.keys.list().await.map_err(service_error)?;
    let mut out = Vec::new();
    for key in impact::keys_of_api(api, &keys) {
        out.push(key_view(services, key).await?);
    }
    Ok(out)
}

/// Issues a key granting only `api`: its token is in the answer, and nowhere else.
pub async fn issue_key(services: &PortalServices, admin: &ActiveSession, api: &str) -> Result<NewApiKeyView, AppError> {
    services.apis.get(api).await.map_err(service_error)?;
    let spec = KeySpec { apis: vec![api.to_string()], bound_certificates: None, rate: None, quota: None, expires_at: None };
    let new = services.keys.create(spec, &admin.user.id).await.map_err(service_error)?;
    tracing::info!(admin = %admin.user.id, api = %api, key = %new.record.id, "admin key issued");
    Ok(NewApiKeyView { key: key_view(services, &new.record).await?, token: new.token })
}

/// Revokes a key that grants `api`; any other key is not found (same answer as an unknown id).
pub async fn revoke_key(services: &PortalServices, admin: &ActiveSession, api: &str, key: &str) -> Result<String, AppError> {
    let not_found = || service_error(ServiceError::NotFound { what: "key" });
    let record = services.keys.get(key).await.map_err(service_error)?;
    if !record.spec.apis.iter().any(|a| a == api) {
        return Err(not_found());
    }
    let view = key_view(services, &record).await?;
    services.keys.revoke(key, &admin.user.id).await.map_err(service_error)?;
    tracing::info!(admin = %admin.user.id, api = %api, key = %key, "admin key revoked");
    Ok(format!("Revoked {key}: {}", view.revocation.first().cloned().unwrap_or_default().replace("Its token is", "its token is")))
}
