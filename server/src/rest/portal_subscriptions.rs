//! `/portal/apps/{id}/subscriptions` and `/portal/subscriptions/{id}/*`: a consumer's live
//! subscriptions and the requests that change them (another plan, a replacement Self-Serve
//! certificate), approved like access requests by the admin; retiring a replaced certificate;
//! and `/portal/access-requests`, the organisation's requests of every kind with their state.
//! Consumers' session only, like the rest of `/portal`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Json;
use certgate_core::portal::request::RequestKind;
use certgate_core::problem::Problem;
use certgate_services::portal::requests::SubscriptionRecord;
use certgate_services::portal::subscriptions::SubscriptionEntry;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access_requests::{AccessRequest, AccessRequestQuery};
use super::pagination::{Page, PageQuery};
use super::portal::ConsumerCaller;
use super::{created, query, JsonBody, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_my_requests))
        .routes(routes!(list_subscriptions))
        .routes(routes!(change_plan))
        .routes(routes!(renew_certificate))
        .routes(routes!(retire_certificate))
}

/// One of a Self-Serve subscription's certificates.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppSubscriptionCertificate {
    /// The certificate's id (SHA-256 of its DER, hex).
    pub id: String,
    /// Unix seconds: a replaced certificate stops working then (at most 30 days after the
    /// renewal's approval), or earlier when retired. `null` for a current certificate.
    pub retire_by: Option<i64>,
}

/// A pending plan change or renewal of the subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingChange {
    /// The access request's id (withdraw it with DELETE /portal/access-requests/{id}).
    pub id: String,
    /// `change_plan` or `renew`.
    pub kind: String,
    /// `change_plan`: the plan asked for.
    pub plan: Option<String>,
    /// `renew`: the replacement certificate's id.
    pub certificate: Option<String>,
}

/// An app's subscription to a product: its plan, its credential, and (Self-Serve) its own
/// certificates.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppSubscription {
    pub id: String,
    pub app: String,
    pub product: String,
    pub plan: String,
    pub credential: String,
    pub certificates: Vec<AppSubscriptionCertificate>,
    pub pending: Vec<PendingChange>,
    /// Unix seconds.
    pub created_at: i64,
}

impl AppSubscription {
    fn of(s: SubscriptionRecord, pending: Vec<PendingChange>) -> AppSubscription {
        AppSubscription {
            certificates: s.certificates.into_iter().map(|c| AppSubscriptionCertificate { id: c.id, retire_by: c.retire_by }).collect(),
            id: s.id,
            app: s.app,
            product: s.product,
            plan: s.plan,
            credential: s.credential,
            pending,
            created_at: s.created_at,
        }
    }
}

impl From<SubscriptionEntry> for AppSubscription {
    fn from(e: SubscriptionEntry) -> Self {
        let pending = e
            .pending
            .into_iter()
            .filter_map(|r| match r.kind {
                RequestKind::ChangePlan { plan, .. } => Some(PendingChange { id: r.id, kind: "change_plan".into(), plan: Some(plan), certificate: None }),
                RequestKind::Renew { certificate, .. } => Some(PendingChange { id: r.id, kind: "renew".into(), plan: None, certificate: Some(certificate) }),
                RequestKind::Subscribe { .. } => None,
            })
            .collect();
        AppSubscription::of(e.subscription, pending)
    }
}

#[utoipa::path(get, path = "/portal/access-requests", tag = "portal", params(AccessRequestQuery), security(("session" = [])),
    responses((status = 200, description = "One page of your organisation's requests (first requests, plan changes, renewals), newest first", body = Page<AccessRequest>),
              (status = 400, description = "Bad state, limit or cursor", body = Problem, content_type = "application/problem+json")))]
async fn list_my_requests(
    caller: ConsumerCaller,
    State(state): State<AppState>,
    params: Result<Query<AccessRequestQuery>, QueryRejection>,
) -> Result<Json<Page<AccessRequest>>, RestError> {
    super::access_requests::requests_page(&state, &caller.actor, params, "portal_access_requests", &caller.cursor_owner).await
}

#[utoipa::path(get, path = "/portal/apps/{id}/subscriptions", tag = "portal", params(("id" = String, Path, description = "App id"), PageQuery), security(("session" = [])),
    responses((status = 200, description = "One page of the app's subscriptions, with their pending plan change or renewal", body = Page<AppSubscription>),
              (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such app in your organisation", body = Problem, content_type = "application/problem+json")))]
async fn list_subscriptions(
    caller: ConsumerCaller,
    State(state): State<AppState>,
    Path(app): Path<String>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<AppSubscription>>, RestError> {
    let page = query(page, "invalid_query")?;
    let entries = state.services.subscriptions.of_app(&caller.actor, &app).await?;
    let page = page.page_for(entries, |e| (e.subscription.created_at, e.subscription.id.clone()), "portal_subscriptions", &caller.cursor_owner)?;
    Ok(Json(page.map(AppSubscription::from)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePlanBody {
    /// A plan the product offers, other than the current one.
    pub plan: String,
}

#[utoipa::path(post, path = "/portal/subscriptions/{id}/change-plan", tag = "portal", params(("id" = String, Path, description = "AppSubscription id")),
    request_body = ChangePlanBody, security(("session" = [])),
    responses((status = 201, description = "Requested (approved at once when the plan auto-approves); rate and quota keep counting", body = AccessRequest),
              (status = 400, description = "The product does not offer the plan, or it is the current one", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such subscription in your organisation", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "A plan change is pending already", body = Problem, content_type = "application/problem+json")))]
async fn change_plan(
    caller: ConsumerCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ChangePlanBody>,
) -> Result<Response, RestError> {
    let record = state.services.subscriptions.change_plan(&caller.actor, &id, &body.plan).await?;
    Ok(created(format!("/api/v1/portal/access-requests/{}", record.id), AccessRequest::from(record)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewalBody {
    /// The replacement client certificate, PEM (never its private key): usable for client
    /// authentication now, not a CA.
    pub certificate: String,
}

#[utoipa::path(post, path = "/portal/subscriptions/{id}/renewals", tag = "portal", params(("id" = String, Path, description = "AppSubscription id")),
    request_body = RenewalBody, security(("session" = [])),
    responses((status = 201, description = "Requested; after approval both certificates work until the old one is retired (at most 30 days)", body = AccessRequest),
              (status = 400, description = "Not one usable certificate (a private key, a CA, expired, ...)", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such subscription in your organisation", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "Not a Self-Serve subscription, a renewal is pending, or the certificate is held already (by it or by another organisation)", body = Problem, content_type = "application/problem+json")))]
async fn renew_certificate(
    caller: ConsumerCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RenewalBody>,
) -> Result<Response, RestError> {
    let record = state.services.subscriptions.renew(&caller.actor, &id, body.certificate.as_bytes()).await?;
    Ok(created(format!("/api/v1/portal/access-requests/{}", record.id), AccessRequest::from(record)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireBody {
    /// The id of the subscription's certificate to retire (usually the replaced one).
    pub certificate: String,
}

#[utoipa::path(post, path = "/portal/subscriptions/{id}/retire-certificate", tag = "portal", params(("id" = String, Path, description = "AppSubscription id")),
    request_body = RetireBody, security(("session" = [])),
    responses((status = 200, description = "Retired: refused from the next request, on open connections too", body = AppSubscription),
              (status = 404, description = "No such subscription in your organisation, or the certificate is not one of its", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "It is the subscription's current certificate: renew first", body = Problem, content_type = "application/problem+json")))]
async fn retire_certificate(
    caller: ConsumerCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RetireBody>,
) -> Result<Json<AppSubscription>, RestError> {
    Ok(Json(state.services.subscriptions.retire_certificate(&caller.actor, &id, &body.certificate).await?.into()))
}
