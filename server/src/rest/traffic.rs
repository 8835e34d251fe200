//! Traffic for operators: `/apis/{id}/traffic` (an API's series: a day per minute, or 30 days
//! per hour) and `/certificates/{id}/last-seen` (per API, when the certificate last
//! authenticated there). Counts only: no credential, token or path is in them.

use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use certgate_core::problem::Problem;
use certgate_core::traffic::{Bucket, Quantile, Series, Window, LATENCY_BOUNDS_MICROS};
use certgate_services::clock;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{query, AdminCaller, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(api_traffic)).routes(routes!(certificate_last_seen))
}

/// Which series.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrafficWindow {
    /// The last 24 hours, one point per minute (1,440 points).
    #[default]
    Day,
    /// The last 30 days, one point per hour (720 points).
    Month,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TrafficQuery {
    /// `day` (default) or `month`.
    #[param(inline)]
    pub window: Option<TrafficWindow>,
}

/// Requests by status class (`1xx` counts as `2xx`).
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusCounts {
    #[serde(rename = "2xx")]
    pub s2xx: u64,
    #[serde(rename = "3xx")]
    pub s3xx: u64,
    #[serde(rename = "4xx")]
    pub s4xx: u64,
    #[serde(rename = "5xx")]
    pub s5xx: u64,
}

/// A latency percentile: the upper bound of the histogram bucket it falls in, or the last
/// bound when it is above it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Percentile {
    AtMostMicros(u64),
    AboveMicros(u64),
}

impl From<Quantile> for Percentile {
    fn from(q: Quantile) -> Self {
        match q {
            Quantile::AtMostMicros(n) => Percentile::AtMostMicros(n),
            Quantile::AboveMicros(n) => Percentile::AboveMicros(n),
        }
    }
}

/// One point of a series, or the whole window's sum.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrafficPoint {
    /// Unix seconds: the start of the minute or hour.
    pub start: i64,
    pub requests: StatusCounts,
    /// Requests refused by the gateway, by problem code (codes without any left out).
    pub denials: BTreeMap<String, u64>,
    /// Requests per latency bucket (bounds in `latency_bounds_micros`, one more for slower).
    pub latency: Vec<u64>,
}

/// Percentiles of the window's merged histogram (`null` without requests).
#[derive(Debug, Serialize, ToSchema)]
pub struct LatencyPercentiles {
    pub p50: Option<Percentile>,
    pub p95: Option<Percentile>,
    pub p99: Option<Percentile>,
}

/// An API's traffic series: contiguous points, oldest first; the last is the current minute or
/// hour (partial).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTraffic {
    pub api_id: String,
    /// `day` or `month`.
    pub window: String,
    /// Unix seconds: the first point's start.
    pub start: i64,
    /// Seconds per point: 60 or 3600.
    pub step: i64,
    /// Upper bounds (inclusive) of the latency buckets, in microseconds.
    pub latency_bounds_micros: Vec<u64>,
    /// The whole window (`start` is the window's).
    pub total: TrafficPoint,
    pub percentiles: LatencyPercentiles,
    pub points: Vec<TrafficPoint>,
}

fn point(start: i64, bucket: &Bucket) -> TrafficPoint {
    let [s2xx, s3xx, s4xx, s5xx] = bucket.requests;
    TrafficPoint {
        start,
        requests: StatusCounts { s2xx, s3xx, s4xx, s5xx },
        denials: bucket.denials_by_code().map(|(code, n)| (code.to_string(), n)).collect(),
        latency: bucket.latency.counts.to_vec(),
    }
}

/// An API's traffic: requests by status class, denials by code and latency, per minute over the
/// last 24 hours or per hour over 30 days. An API without traffic has a series of zeros.
#[utoipa::path(get, path = "/apis/{id}/traffic", tag = "apis", params(("id" = String, Path, description = "API id"), TrafficQuery),
    security(("admin_token" = []), ("session" = [])),
    responses((status = 200, description = "The API's series", body = ApiTraffic),
              (status = 400, description = "Unknown window or parameter", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json")))]
async fn api_traffic(
    _admin: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Result<Query<TrafficQuery>, QueryRejection>,
) -> Result<Json<ApiTraffic>, RestError> {
    let params = query(params, "invalid_query")?;
    let api = state.services.apis.get(&id).await?;
    let (window, name) = match params.window.unwrap_or_default() {
        TrafficWindow::Day => (Window::Day, "day"),
        TrafficWindow::Month => (Window::Month, "month"),
    };
    let now = clock::now();
    let series = state
        .traffic
        .as_ref()
        .and_then(|t| t.0.api_series(&api.id, window, now))
        .unwrap_or_else(|| Series::zeros(now, window.step(), window.points()));
    let total = series.total();
    let summary = total.latency.summary();
    Ok(Json(ApiTraffic {
        api_id: api.id,
        window: name.to_string(),
        start: series.start,
        step: series.step,
        latency_bounds_micros: LATENCY_BOUNDS_MICROS.to_vec(),
        total: point(series.start, &total),
        percentiles: LatencyPercentiles { p50: summary.p50.map(Into::into), p95: summary.p95.map(Into::into), p99: summary.p99.map(Into::into) },
        points: series.points.iter().enumerate().map(|(i, b)| point(series.start + i as i64 * series.step, b)).collect(),
    }))
}

/// One API a certificate authenticated on.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastSeenOnApi {
    pub api_id: String,
    /// Unix seconds of the last request whose certificate passed the API's allow list.
    pub at: i64,
    /// Such requests in the current hour and the 23 before it.
    pub requests_24h: u64,
}

/// When a certificate was last used: per API, and the latest over all (`null`: not since the
/// series began, i.e. never as far as certgate knows).
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateLastSeen {
    pub certificate_id: String,
    pub last_seen_at: Option<i64>,
    /// Most recent first.
    pub apis: Vec<LastSeenOnApi>,
}

/// When the certificate last authenticated (passed the allow list) on each API, and how many
/// such requests in the last 24 hours. Counted whatever the later steps decided.
#[utoipa::path(get, path = "/certificates/{id}/last-seen", tag = "certificates",
    params(("id" = String, Path, description = "SHA-256 of the DER: hex, or colon-grouped")),
    security(("admin_token" = []), ("session" = [])),
    responses((status = 200, description = "Its last use per API", body = CertificateLastSeen),
              (status = 404, description = "No such certificate", body = Problem, content_type = "application/problem+json")))]
async fn certificate_last_seen(_admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<CertificateLastSeen>, RestError> {
    let certificate = state.services.certificates.get(&id).await?;
    let id = certificate.record.facts.id;
    let seen = state.traffic.as_ref().map(|t| t.0.last_seen_of_certificate(&id, clock::now())).unwrap_or_default();
    Ok(Json(CertificateLastSeen {
        last_seen_at: seen.iter().map(|s| s.at).max(),
        apis: seen.into_iter().map(|s| LastSeenOnApi { api_id: s.api_id, at: s.at, requests_24h: s.requests_24h }).collect(),
        certificate_id: id,
    }))
}
