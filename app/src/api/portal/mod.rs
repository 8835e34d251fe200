//! The developer portal's server functions (consumers) and the view types they return.
//!
//! Every function acts as the signed-in consumer: the organisation and role come from the
//! session (`server::consumer`), never from the browser. Another organisation's ids answer
//! `not_found` (404), exactly like ids that do not exist. Tokens are in the answer of the call
//! that makes them, and nowhere else.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[cfg(feature = "ssr")]
pub mod server;

/// A plan, with its limits in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanView {
    pub id: String,
    pub name: String,
    /// "100 requests per minute", or None (no rate limit).
    pub rate: Option<String>,
    /// "10000 requests per month", or None (no quota).
    pub quota: Option<String>,
    pub auto_approve: bool,
    /// "Tokens last 30 days", or None (tokens do not expire).
    pub token_lifetime: Option<String>,
}

/// An API of a product, with the address to call it at through the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalApiView {
    pub id: String,
    pub name: String,
    pub listen_path: String,
    /// `https://<gateway>/<listen path>`.
    pub gateway_url: String,
    /// `Auth Token`, `JWT` or `None`.
    pub auth: String,
    pub mtls_required: bool,
}

/// A product of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub apis: Vec<PortalApiView>,
    pub plans: Vec<PlanView>,
    /// `auth_token_mtls`, `auth_token` or `jwt`.
    pub authentication: String,
    /// `managed`, `self_serve`, or None where the modes do not apply.
    pub certificate_mode: Option<String>,
    pub certificate_binding: bool,
}

/// One of the organisation's certificates, as a consumer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalCertificateView {
    pub id: String,
    pub label: String,
    /// The first bytes of the colon-grouped SHA-256 fingerprint.
    pub fingerprint_short: String,
    pub not_after: String,
    /// Whole days until expiry (negative once expired).
    pub days_left: i64,
    /// Whether a credential can use it now.
    pub usable: bool,
    /// A Self-Serve certificate replaced by a renewal: when it stops working.
    pub retire_by: Option<String>,
}

/// An app of the consumer's organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalAppView {
    pub id: String,
    pub name: String,
    pub created_at: String,
    /// Products with a pending request or a subscription.
    pub product_count: usize,
}

/// An access request (a first request, a plan change or a renewal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalRequestView {
    pub id: String,
    pub app_id: String,
    pub app_name: String,
    /// `subscribe`, `change_plan` or `renew`.
    pub kind: String,
    pub product_name: String,
    pub plan_name: Option<String>,
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    pub state: String,
    /// Why the API provider rejected it.
    pub reason: Option<String>,
    pub created_at: String,
}

/// Where a credential stands, without its token (never shown after it was made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalCredentialView {
    pub id: String,
    /// `no_token`, `active`, `rotating`, `revoked` or `expired`.
    pub status: String,
    pub token_expires_at: Option<String>,
    pub previous_token_until: Option<String>,
}

/// A subscription of an app: the product, the plan, the credential and its certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalSubscriptionView {
    pub id: String,
    pub product_id: String,
    pub product_name: String,
    pub authentication: String,
    pub certificate_mode: Option<String>,
    pub certificate_binding: bool,
    pub apis: Vec<PortalApiView>,
    pub plan: PlanView,
    /// "12 of 10000 requests used this month", when the plan has a quota.
    pub quota_used: Option<String>,
    /// The other plans the product offers (for a plan change).
    pub other_plans: Vec<PlanView>,
    pub credential: Option<PortalCredentialView>,
    /// The certificates the credential works with (Managed: the organisation's; Self-Serve:
    /// the subscription's own).
    pub certificates: Vec<PortalCertificateView>,
    /// Pending plan changes and renewals.
    pub pending: Vec<PortalRequestView>,
}

/// Everything an app's page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalAppDetail {
    pub app: PortalAppView,
    pub subscriptions: Vec<PortalSubscriptionView>,
    /// The app's first requests that are pending or were rejected.
    pub requests: Vec<PortalRequestView>,
    /// Catalogue products the app has no pending request or subscription for.
    pub requestable: Vec<ProductView>,
    /// The organisation's certificates a Managed credential would use.
    pub organisation_certificates: Vec<PortalCertificateView>,
    /// The gateway's address, `https://host:port`.
    pub gateway_origin: String,
}

/// The consumer's start page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalHomeView {
    pub organisation: String,
    pub apps: Vec<PortalAppView>,
    /// Pending requests and rejected ones (with their reason), newest first.
    pub requests: Vec<PortalRequestView>,
    /// The organisation's certificates that expire within 30 days (or have expired).
    pub expiring: Vec<PortalCertificateView>,
    /// Every certificate linked to the organisation (read-only: the API provider links them).
    pub certificates: Vec<PortalCertificateView>,
}

/// A token, in the answer of the call that made it: shown once, never stored in the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTokenView {
    pub credential_id: String,
    pub token: String,
    /// Set after a rotation: until when the previous token still works.
    pub previous_token_until: Option<String>,
}

#[server(prefix = "/fn", endpoint = "portal_home")]
pub async fn portal_home() -> Result<PortalHomeView, AppError> {
    let (services, actor) = server::consumer().await?;
    server::home(&services, &actor).await
}

#[server(prefix = "/fn", endpoint = "portal_products")]
pub async fn portal_products() -> Result<Vec<ProductView>, AppError> {
    let (services, actor) = server::consumer().await?;
    let products = services.catalogue.list(&actor).await.map_err(crate::ssr::service_error)?;
    let gateway = server::gateway_origin();
    Ok(products.into_iter().map(|p| server::product_view(p, &gateway)).collect())
}

#[server(prefix = "/fn", endpoint = "portal_product")]
pub async fn portal_product(id: String) -> Result<ProductView, AppError> {
    let (services, actor) = server::consumer().await?;
    let product = services.catalogue.get(&actor, &id).await.map_err(crate::ssr::service_error)?;
    Ok(server::product_view(product, &server::gateway_origin()))
}

/// What a request form needs on a product's page: the consumer's apps and the organisation's
/// certificates a Managed credential would use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    pub apps: Vec<PortalAppView>,
    pub organisation_certificates: Vec<PortalCertificateView>,
}

#[server(prefix = "/fn", endpoint = "portal_request_context")]
pub async fn portal_request_context() -> Result<RequestContext, AppError> {
    let (services, actor) = server::consumer().await?;
    Ok(RequestContext { apps: server::apps(&services, &actor).await?, organisation_certificates: server::credential_certificates(&services, &actor).await? })
}

#[server(prefix = "/fn", endpoint = "portal_apps")]
pub async fn portal_apps() -> Result<Vec<PortalAppView>, AppError> {
    let (services, actor) = server::consumer().await?;
    server::apps(&services, &actor).await
}

#[server(prefix = "/fn", endpoint = "portal_app")]
pub async fn portal_app(id: String) -> Result<PortalAppDetail, AppError> {
    let (services, actor) = server::consumer().await?;
    server::app_detail(&services, &actor, &id).await
}

#[server(prefix = "/fn", endpoint = "portal_create_app")]
pub async fn portal_create_app(name: String) -> Result<PortalAppView, AppError> {
    let (services, actor) = server::consumer().await?;
    let app = services.apps.create(&actor, &name).await.map_err(crate::ssr::service_error)?;
    crate::ssr::go_after_form_post(&format!("/portal/apps?created={}", crate::ssr::query_value(&app.id)));
    Ok(server::app_view(app, 0))
}

#[server(prefix = "/fn", endpoint = "portal_rename_app")]
pub async fn portal_rename_app(id: String, name: String) -> Result<PortalAppView, AppError> {
    let (services, actor) = server::consumer().await?;
    let app = services.apps.rename(&actor, &id, &name).await.map_err(crate::ssr::service_error)?;
    Ok(server::app_view(app, 0))
}

/// Deletes an app once the consumer confirmed (`confirm` = "yes"): its pending requests are
/// withdrawn and its credentials revoked.
#[server(prefix = "/fn", endpoint = "portal_delete_app")]
pub async fn portal_delete_app(id: String, confirm: Option<String>) -> Result<(), AppError> {
    let (services, actor) = server::consumer().await?;
    server::confirmed(confirm.as_deref())?;
    services.apps.delete(&actor, &id).await.map_err(crate::ssr::service_error)?;
    leptos_axum::redirect("/portal/apps");
    Ok(())
}

/// Asks for a product with a plan for an app. Self-Serve products take the certificate (PEM,
/// or DER read in the browser and sent as PEM); it is checked before anything is stored.
#[server(prefix = "/fn", endpoint = "portal_request_access")]
pub async fn portal_request_access(app: String, product: String, plan: String, certificate: Option<String>) -> Result<PortalRequestView, AppError> {
    let (services, actor) = server::consumer().await?;
    let request = server::request_access(&services, &actor, app, product, plan, certificate).await?;
    // From a product's page too, the browser goes to the app's page, which lists the request.
    let done = crate::ssr::query_value(<PortalRequestAccess as leptos::server_fn::ServerFn>::PATH);
    crate::ssr::go_after_form_post(&format!("/portal/apps/{}?__ok={done}", crate::ssr::query_value(&request.app_id)));
    Ok(request)
}

#[server(prefix = "/fn", endpoint = "portal_withdraw_request")]
pub async fn portal_withdraw_request(id: String) -> Result<(), AppError> {
    let (services, actor) = server::consumer().await?;
    services.access_requests.withdraw(&actor, &id).await.map_err(crate::ssr::service_error)?;
    Ok(())
}

#[server(prefix = "/fn", endpoint = "portal_change_plan")]
pub async fn portal_change_plan(subscription: String, plan: String) -> Result<(), AppError> {
    let (services, actor) = server::consumer().await?;
    services.subscriptions.change_plan(&actor, &subscription, &plan).await.map_err(crate::ssr::service_error)?;
    Ok(())
}

/// Makes the credential's first token. The answer is the only place it is ever shown.
#[server(prefix = "/fn", endpoint = "portal_create_token")]
pub async fn portal_create_token(credential: String) -> Result<NewTokenView, AppError> {
    let (services, actor) = server::consumer().await?;
    crate::ssr::require_script("The token")?;
    let token = services.credentials.mint(&actor, &credential).await.map_err(crate::ssr::service_error)?;
    Ok(server::token_answer(credential, token, None))
}

/// A new token; the current one keeps working for `overlap_minutes` (0 to 1440), once confirmed.
#[server(prefix = "/fn", endpoint = "portal_rotate_token")]
pub async fn portal_rotate_token(credential: String, overlap_minutes: u64, confirm: Option<String>) -> Result<NewTokenView, AppError> {
    let (services, actor) = server::consumer().await?;
    crate::ssr::require_script("The new token")?;
    server::confirmed(confirm.as_deref())?;
    let overlap = server::overlap_seconds(overlap_minutes)?;
    let token = services.credentials.rotate(&actor, &credential, overlap).await.map_err(crate::ssr::service_error)?;
    let until = (overlap > 0).then(|| server::time_text(certgate_services::clock::now().saturating_add(overlap as i64)));
    Ok(server::token_answer(credential, token, until))
}

#[server(prefix = "/fn", endpoint = "portal_revoke_credential")]
pub async fn portal_revoke_credential(credential: String, confirm: Option<String>) -> Result<(), AppError> {
    let (services, actor) = server::consumer().await?;
    server::confirmed(confirm.as_deref())?;
    services.credentials.revoke(&actor, &credential).await.map_err(crate::ssr::service_error)?;
    Ok(())
}

/// Self-Serve renewal: a replacement certificate for a subscription, checked like a request's
/// (a private key is refused and never echoed) and approved by the API provider.
#[server(prefix = "/fn", endpoint = "portal_renew_certificate")]
pub async fn portal_renew_certificate(subscription: String, certificate: String) -> Result<(), AppError> {
    let (services, actor) = server::consumer().await?;
    services.subscriptions.renew(&actor, &subscription, certificate.trim().as_bytes()).await.map_err(server::request_error)?;
    Ok(())
}

/// Retires one of a Self-Serve subscription's certificates now (a replaced one), once confirmed.
#[server(prefix = "/fn", endpoint = "portal_retire_certificate")]
pub async fn portal_retire_certificate(subscription: String, certificate: String, confirm: Option<String>) -> Result<(), AppError> {
    let (services, actor) = server::consumer().await?;
    server::confirmed(confirm.as_deref())?;
    services.subscriptions.retire_certificate(&actor, &subscription, &certificate).await.map_err(crate::ssr::service_error)?;
    Ok(())
}
