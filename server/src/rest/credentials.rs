//! `GET /credentials`: every credential of both origins — the keys the admin issued and the
//! portal's subscription credentials — with where each stands. [`CredentialSummary`] has no
//! token and no digest field: neither can reach this list. (Revoking a portal credential,
//! `DELETE /credentials/{id}`, is with the access requests.)

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use certgate_core::portal::credential::CredentialStatus;
use certgate_core::problem::Problem;
use certgate_services::portal::overview::{self, CredentialFilter};
use certgate_services::portal::Actor;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pagination::{Page, PageQuery};
use super::{query, AdminCaller, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_credentials))
}

/// Who issued a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialOrigin {
    /// A key the admin made (`/api/v1/keys`).
    Admin,
    /// The credential of a portal subscription.
    Portal,
}

impl From<CredentialOrigin> for overview::CredentialOrigin {
    fn from(o: CredentialOrigin) -> Self {
        match o {
            CredentialOrigin::Admin => overview::CredentialOrigin::Admin,
            CredentialOrigin::Portal => overview::CredentialOrigin::Portal,
        }
    }
}

impl From<overview::CredentialOrigin> for CredentialOrigin {
    fn from(o: overview::CredentialOrigin) -> Self {
        match o {
            overview::CredentialOrigin::Admin => CredentialOrigin::Admin,
            overview::CredentialOrigin::Portal => CredentialOrigin::Portal,
        }
    }
}

/// A credential of either origin, without its token or the token's hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialSummary {
    pub id: String,
    pub origin: CredentialOrigin,
    /// Portal credentials: "<app name> / <product name>". Admin keys: `null`.
    pub label: Option<String>,
    pub status: CredentialStatus,
    /// Unix seconds.
    pub created_at: i64,
    /// Admin keys: the APIs they grant. Portal credentials: empty (their product decides).
    pub apis: Vec<String>,
    /// Portal credentials only.
    pub subscription: Option<String>,
    pub app: Option<String>,
    pub organisation: Option<String>,
    pub product: Option<String>,
    pub plan: Option<String>,
}

impl From<overview::CredentialSummary> for CredentialSummary {
    fn from(c: overview::CredentialSummary) -> Self {
        let portal = c.portal;
        CredentialSummary {
            id: c.id,
            origin: c.origin.into(),
            label: c.label,
            status: c.status,
            created_at: c.created_at,
            apis: c.apis,
            subscription: portal.as_ref().map(|p| p.subscription.clone()),
            app: portal.as_ref().map(|p| p.app.clone()),
            organisation: portal.as_ref().map(|p| p.organisation.clone()),
            product: portal.as_ref().map(|p| p.product.clone()),
            plan: portal.map(|p| p.plan),
        }
    }
}

/// Filter and paging of the credential list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CredentialQuery {
    /// Only credentials of this origin.
    pub origin: Option<CredentialOrigin>,
    /// Only portal credentials of this organisation.
    pub organisation: Option<String>,
    /// Items per page: 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, unchanged.
    pub cursor: Option<String>,
}

/// The admin's keys first, then the portal's credentials, each by id (a stable order the store
/// pages in).
#[utoipa::path(get, path = "/credentials", tag = "credentials", params(CredentialQuery), security(("admin_token" = []), ("session" = [])),
    responses((status = 200, description = "One page of credentials of both origins (never a token or its hash)", body = Page<CredentialSummary>),
              (status = 400, description = "Bad limit, cursor or parameter", body = Problem, content_type = "application/problem+json")))]
async fn list_credentials(
    caller: AdminCaller,
    State(state): State<AppState>,
    params: Result<Query<CredentialQuery>, QueryRejection>,
) -> Result<Json<Page<CredentialSummary>>, RestError> {
    let params = query(params, "invalid_query")?;
    let filter = CredentialFilter { origin: params.origin.map(overview::CredentialOrigin::from), organisation: params.organisation };
    let page = PageQuery { limit: params.limit, cursor: params.cursor };
    let (limit, after) = page.bounds::<(overview::CredentialOrigin, String)>("credentials", &caller.actor)?;
    let found = state.services.overview.credentials(&Actor::Admin { name: caller.actor.clone() }, filter, after, limit).await?;
    let items: Vec<CredentialSummary> = found.items.into_iter().map(CredentialSummary::from).collect();
    Ok(Json(PageQuery::cut(items, found.more, |c| (overview::CredentialOrigin::from(c.origin), c.id.clone()), "credentials", &caller.actor)?))
}
