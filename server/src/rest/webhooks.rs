//! `/webhooks`: endpoints the admin registers for events, signed per Standard Webhooks, and
//! their delivery logs. [`Webhook`] has no secret field; only [`NewWebhook`], the answer to a
//! registration, carries it (shown once).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use certgate_core::problem::Problem;
use certgate_services::clock;
use certgate_services::portal::Actor;
use certgate_services::webhooks::{DeliveryRecord, DeliveryState, Endpoint};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pagination::{Page, PageQuery};
use super::{created, query, AdminCaller, JsonBody, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(send_test))
        .routes(routes!(enable_webhook))
}

fn admin(caller: &AdminCaller) -> Actor {
    Actor::Admin { name: caller.actor.clone() }
}

/// What to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookSpec {
    /// `http://` or `https://`, at most 2048 characters, no user name or password. Redirects are
    /// not followed.
    pub url: String,
    /// At least one of `access_request.created`, `access_request.approved`,
    /// `access_request.rejected`, `credential.issued`, `credential.rotated`,
    /// `credential.revoked`, `certificate.expiring`.
    pub events: Vec<String>,
}

/// A registered endpoint. Its secret is never shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct Webhook {
    /// `whk_…`
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix milliseconds of the first failure since the last success; `null` when healthy.
    pub failing_since_ms: Option<i64>,
    /// Whether it was disabled after failing for 24 hours (nothing is sent until re-enabled).
    pub disabled: bool,
    /// Unix milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_at_ms: Option<i64>,
    /// Why it was disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
}

impl From<Endpoint> for Webhook {
    fn from(e: Endpoint) -> Self {
        Webhook {
            id: e.id,
            url: e.url,
            events: e.events,
            created_at: e.created_at,
            failing_since_ms: e.failing_since_ms,
            disabled: e.disabled.is_some(),
            disabled_at_ms: e.disabled.as_ref().map(|d| d.at_ms),
            disabled_reason: e.disabled.map(|d| d.reason),
        }
    }
}

/// A registered endpoint with its signing secret: shown this once. Its `Debug` hides the secret.
#[derive(Serialize, ToSchema)]
pub struct NewWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_<base64>`: the HMAC-SHA256 key is the base64-decoded part after `whsec_`.
    pub secret: String,
}

impl std::fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWebhook").field("webhook", &self.webhook).field("secret", &"…").finish()
    }
}

/// One try of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryAttempt {
    /// Unix milliseconds.
    pub at_ms: i64,
    pub duration_ms: u64,
    /// The answer's status code; absent when none came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One event sent (or to send) to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    /// The `webhook-id` header, the same on every attempt.
    pub id: String,
    /// Later deliveries have larger numbers.
    pub seq: u64,
    pub event: String,
    /// `pending`, `delivered`, `failed` (given up after 24 hours) or `paused` (endpoint disabled).
    pub state: String,
    /// The body sent.
    pub payload: String,
    /// Unix milliseconds.
    pub created_ms: i64,
    /// Unix milliseconds, while pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_ms: Option<i64>,
    pub attempt_count: u32,
    /// The newest attempts (at most 20), oldest first.
    pub attempts: Vec<DeliveryAttempt>,
}

pub fn state_name(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Pending => "pending",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Failed => "failed",
        DeliveryState::Paused => "paused",
    }
}

impl From<DeliveryRecord> for Delivery {
    fn from(d: DeliveryRecord) -> Self {
        Delivery {
            id: d.id,
            seq: d.seq,
            event: d.event,
            state: state_name(d.state).into(),
            payload: d.payload,
            created_ms: d.created_ms,
            next_attempt_ms: d.next_attempt_ms,
            attempt_count: d.attempt_count,
            attempts: d
                .attempts
                .into_iter()
                .map(|a| DeliveryAttempt { at_ms: a.at_ms, duration_ms: a.duration_ms, status: a.status, error: a.error })
                .collect(),
        }
    }
}

/// Endpoints, oldest first.
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", params(PageQuery), security(("admin_token" = []), ("session" = [])),
    responses((status = 200, description = "One page of webhooks (without secrets)", body = Page<Webhook>),
              (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json")))]
async fn list_webhooks(caller: AdminCaller, State(state): State<AppState>, page: Result<Query<PageQuery>, QueryRejection>) -> Result<Json<Page<Webhook>>, RestError> {
    let page = query(page, "invalid_query")?;
    let all = state.services.webhooks.list(&admin(&caller)).await?;
    let page = page.page(all, |e| (e.created_at, e.id.clone()), "webhooks", &caller)?;
    Ok(Json(page.map(Webhook::from)))
}

/// Registers an endpoint. The answer carries its signing secret, once.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = NewWebhookSpec, security(("admin_token" = []), ("session" = [])),
    responses((status = 201, description = "Registered (Location: its URL); the secret is in the answer, once", body = NewWebhook),
              (status = 400, description = "Bad URL (`invalid_webhook_url`), unknown event (`unknown_webhook_event`) or none (`no_webhook_events`)", body = Problem, content_type = "application/problem+json"),
              (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
              (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json")))]
async fn create_webhook(caller: AdminCaller, State(state): State<AppState>, JsonBody(spec): JsonBody<NewWebhookSpec>) -> Result<Response, RestError> {
    let new = state.services.webhooks.register(&admin(&caller), &spec.url, &spec.events).await?;
    tracing::info!(actor = %caller.actor, webhook = %new.endpoint.id, "webhook registered");
    let location = format!("/api/v1/webhooks/{}", new.endpoint.id);
    let mut response = created(location, NewWebhook { webhook: new.endpoint.into(), secret: new.secret });
    // The secret is in this answer: no cache may keep it.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "Webhook id")), security(("admin_token" = []), ("session" = [])),
    responses((status = 200, description = "The webhook (without its secret)", body = Webhook),
              (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json")))]
async fn get_webhook(caller: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Webhook>, RestError> {
    Ok(Json(state.services.webhooks.get(&admin(&caller), &id).await?.into()))
}

/// Deletes an endpoint and its delivery log; what it had pending is not sent.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "Webhook id")), security(("admin_token" = []), ("session" = [])),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json")))]
async fn delete_webhook(caller: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    state.services.webhooks.delete(&admin(&caller), &id).await?;
    tracing::info!(actor = %caller.actor, webhook = %id, "webhook deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The endpoint's deliveries, newest first, each with its attempts.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path, description = "Webhook id"), PageQuery), security(("admin_token" = []), ("session" = [])),
    responses((status = 200, description = "One page of deliveries, newest first", body = Page<Delivery>),
              (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json")))]
async fn list_deliveries(
    caller: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<Delivery>>, RestError> {
    let page = query(page, "invalid_query")?;
    let list = format!("webhook_deliveries:{id}");
    let (limit, before) = page.bounds::<u64>(&list, &caller.actor)?;
    let found = state.services.webhooks.deliveries(&admin(&caller), &id, before, limit).await?;
    let items: Vec<Delivery> = found.deliveries.into_iter().map(Delivery::from).collect();
    Ok(Json(PageQuery::cut(items, found.more, |d| d.seq, &list, &caller.actor)?))
}

/// Queues a `webhook.test` event for the endpoint, whatever its event filter.
#[utoipa::path(post, path = "/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path, description = "Webhook id")), security(("admin_token" = []), ("session" = [])),
    responses((status = 202, description = "Queued: see its deliveries for the outcome", body = Delivery),
              (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "The webhook is disabled (`webhook_disabled`): re-enable it first", body = Problem, content_type = "application/problem+json")))]
async fn send_test(caller: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    let delivery = state.services.webhooks.send_test(&admin(&caller), &id, clock::now_ms()).await?;
    Ok((StatusCode::ACCEPTED, Json(Delivery::from(delivery))).into_response())
}

/// Re-enables an endpoint disabled after 24 hours of failures; what it had pending is sent now.
#[utoipa::path(post, path = "/webhooks/{id}/enable", tag = "webhooks", params(("id" = String, Path, description = "Webhook id")), security(("admin_token" = []), ("session" = [])),
    responses((status = 200, description = "Enabled (also when it already was)", body = Webhook),
              (status = 404, description = "No such webhook", body = Problem, content_type = "application/problem+json")))]
async fn enable_webhook(caller: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Webhook>, RestError> {
    Ok(Json(state.services.webhooks.enable(&admin(&caller), &id, clock::now_ms()).await?.into()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_never_prints_the_secret() {
        let webhook = Webhook {
            id: "whk_1".into(),
            url: "https://example.com/hook".into(),
            events: vec!["credential.revoked".into()],
            created_at: 1,
            failing_since_ms: None,
            disabled: false,
            disabled_at_ms: None,
            disabled_reason: None,
        };
        let new = NewWebhook { webhook, secret: "whsec_c2VjcmV0LXNpZ25pbmcta2V5".into() };
        let shown = format!("{new:?} {new:#?}");
        assert!(!shown.contains("c2VjcmV0") && shown.contains("whk_1"), "{shown}");
    }
}
