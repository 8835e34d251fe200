//! `/subscriptions`: every subscription (app x product, with its plan and credential), for the
//! admin, filtered by organisation, product or app.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use certgate_core::problem::Problem;
use certgate_services::portal::overview::SubscriptionFilter;
use certgate_services::portal::requests::SubscriptionRecord;
use certgate_services::portal::Actor;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pagination::{Page, PageQuery};
use super::{query, AdminCaller, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_subscriptions))
}

/// A Self-Serve certificate of a subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionCertificate {
    /// Certificate id (SHA-256 of the DER).
    pub id: String,
    /// Unix seconds: a replaced certificate stops working then (at most 30 days after its
    /// renewal was approved). `null`: current.
    pub retire_by: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Subscription {
    pub id: String,
    pub app: String,
    pub organisation: String,
    pub product: String,
    pub plan: String,
    /// The subscription's credential id.
    pub credential: String,
    /// Self-Serve: the subscription's own certificates. Managed: empty (the organisation's
    /// certificates count).
    pub certificates: Vec<SubscriptionCertificate>,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<SubscriptionRecord> for Subscription {
    fn from(s: SubscriptionRecord) -> Self {
        Subscription {
            id: s.id,
            app: s.app,
            organisation: s.organisation,
            product: s.product,
            plan: s.plan,
            credential: s.credential,
            certificates: s.certificates.into_iter().map(|c| SubscriptionCertificate { id: c.id, retire_by: c.retire_by }).collect(),
            created_at: s.created_at,
        }
    }
}

/// Filters and paging of the subscription list; every filter given must match.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SubscriptionQuery {
    /// Organisation id.
    pub organisation: Option<String>,
    /// Product id.
    pub product: Option<String>,
    /// App id.
    pub app: Option<String>,
    /// Items per page: 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, unchanged.
    pub cursor: Option<String>,
}

/// Subscriptions by id (a stable order the store pages in).
#[utoipa::path(get, path = "/subscriptions", tag = "subscriptions", params(SubscriptionQuery), security(("admin_token" = []), ("session" = [])),
    responses((status = 200, description = "One page of subscriptions", body = Page<Subscription>),
              (status = 400, description = "Bad limit, cursor or parameter", body = Problem, content_type = "application/problem+json")))]
async fn list_subscriptions(
    caller: AdminCaller,
    State(state): State<AppState>,
    params: Result<Query<SubscriptionQuery>, QueryRejection>,
) -> Result<Json<Page<Subscription>>, RestError> {
    let params = query(params, "invalid_query")?;
    let filter = SubscriptionFilter { organisation: params.organisation, product: params.product, app: params.app };
    let page = PageQuery { limit: params.limit, cursor: params.cursor };
    let (limit, after) = page.bounds::<String>("subscriptions", &caller.actor)?;
    let found = state.services.overview.subscriptions(&Actor::Admin { name: caller.actor.clone() }, filter, after, limit).await?;
    let items: Vec<Subscription> = found.items.into_iter().map(Subscription::from).collect();
    Ok(Json(PageQuery::cut(items, found.more, |s| s.id.clone(), "subscriptions", &caller.actor)?))
}
