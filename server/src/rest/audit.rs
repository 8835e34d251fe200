//! `/audit`: the audit log, newest first, filtered by actor, organisation and kind. Paged in the
//! store: a page reads back only until it is full, however long the log.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use certgate_core::problem::Problem;
use certgate_services::audit::{self as log, AuditFilter};
use certgate_services::portal::Actor;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pagination::{Page, PageQuery};
use super::{query, AdminCaller, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// One change, as the log recorded it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    /// The entry's sequence number (later entries have larger ones).
    pub seq: u64,
    /// Unix seconds.
    pub at: i64,
    /// `admin-token`, `admin-token:<id>`, `cli`, `auto-approve` or a user id.
    pub actor: String,
    /// e.g. `credential.revoked`: the kind of object, a dot, what happened.
    pub action: String,
    /// The id of what changed.
    pub subject: String,
    pub detail: String,
    /// The organisation it concerns, when there is one (older entries: `null`).
    pub organisation: Option<String>,
}

/// Filters and paging of the log; every filter given must match.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Exactly this actor.
    pub actor: Option<String>,
    /// Organisation id.
    pub organisation: Option<String>,
    /// An action (`credential.revoked`) or a kind of object (`credential`: every `credential.*`).
    pub kind: Option<String>,
    /// Items per page: 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, unchanged.
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery), security(("admin_token" = []), ("session" = [])),
    responses((status = 200, description = "One page of the audit log, newest first", body = Page<AuditEntry>),
              (status = 400, description = "Bad limit, cursor or parameter", body = Problem, content_type = "application/problem+json")))]
async fn list_audit(caller: AdminCaller, State(state): State<AppState>, params: Result<Query<AuditQuery>, QueryRejection>) -> Result<Json<Page<AuditEntry>>, RestError> {
    let params = query(params, "invalid_query")?;
    let filter = AuditFilter { actor: params.actor, organisation: params.organisation, kind: params.kind };
    let page = PageQuery { limit: params.limit, cursor: params.cursor };
    let (limit, after) = page.bounds::<u64>("audit", &caller.actor)?;
    let found = state.services.audit.page(&Actor::Admin { name: caller.actor.clone() }, filter, after, limit).await?;
    let entries: Vec<AuditEntry> = found.entries.into_iter().map(|(seq, e)| wire(seq, e)).collect();
    Ok(Json(PageQuery::cut(entries, found.more, |e| e.seq, "audit", &caller.actor)?))
}

fn wire(seq: u64, e: log::AuditEntry) -> AuditEntry {
    AuditEntry { seq, at: e.at, actor: e.actor, action: e.action, subject: e.subject, detail: e.detail, organisation: e.organisation }
}
