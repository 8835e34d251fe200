//! The admin dashboard: counts that link to their lists, and the gateway's traffic as charts
//! drawn on the server (SVG markup: readable without wasm, and no chart code in the wasm).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A chart drawn on the server: its heading and its SVG markup (every text in it escaped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartView {
    pub heading: String,
    pub svg: String,
}

/// The first screen of the admin portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardView {
    pub apis: u64,
    pub certificates_expired: usize,
    pub certificates_within_7_days: usize,
    pub certificates_within_30_days: usize,
    pub pending_access_requests: u64,
    /// Tokens the gateway accepts now (admin keys and portal credentials).
    pub live_credentials: usize,
    /// Requests and denials in the last hour; `None` while the gateway records no traffic.
    pub requests_last_hour: Option<u64>,
    pub denials_last_hour: Option<u64>,
    pub charts: Vec<ChartView>,
    /// What the traffic series cost in memory, in words.
    pub memory: Option<String>,
}

#[server(prefix = "/fn", endpoint = "admin_dashboard")]
pub async fn admin_dashboard() -> Result<DashboardView, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_dashboard::dashboard(&ssr::services()?, &admin).await
}
