//! The portal listener's routes: health, the admin REST API, the Leptos pages and server
//! functions, and the embedded site assets.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use app::ssr::PortalServices;
use certgate_services::admin_tokens::AdminTokens;
use certgate_services::gateway_view::SharedState;
use prometheus_client::registry::Registry;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{any, get};
use axum::{middleware, Json, Router};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::{assets, rest, security, web};

/// Shared state of the portal listener.
#[derive(Clone)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub services: PortalServices,
    /// SHA-256 hex of the admin REST token, if one was configured.
    pub admin_token_hash: Option<String>,
    /// Admin tokens made with `certgate admin create-token`, valid beside the configured one.
    pub admin_tokens: AdminTokens,
    /// The portal is served over TLS (cookies get `Secure`).
    pub secure: bool,
    pub ready: Arc<AtomicBool>,
    /// The gateway's current view and keys (for the explain endpoint).
    pub gateway: SharedState,
    /// Prometheus metrics, when served on the portal listener (behind the admin token).
    pub metrics: Option<Arc<Registry>>,
    /// `--consumer-sign-up`: `POST /api/v1/sign-up` is served (404 otherwise).
    pub consumer_sign_up: bool,
    /// The gateway listener's bound address: the developer portal shows gateway URLs with it.
    pub gateway_addr: Option<std::net::SocketAddr>,
    /// The gateway's live quota counts, shown to consumers on their app's page.
    pub quota_usage: Option<app::api::portal::server::QuotaUsageReader>,
    /// The gateway's traffic series and certificates' last use (REST, and the portal's pages).
    pub traffic: Option<app::ssr::TrafficReader>,
}

impl AppState {
    pub fn new(
        services: PortalServices,
        admin_token: Option<String>,
        admin_tokens: AdminTokens,
        secure: bool,
        ready: Arc<AtomicBool>,
        gateway: SharedState,
        metrics: Option<Arc<Registry>>,
    ) -> AppState {
        // Assets are embedded in the binary, so the options need no site root at run time.
        let leptos = LeptosOptions::builder().output_name("certgate").site_pkg_dir("pkg").build();
        AppState {
            leptos,
            services,
            admin_token_hash: admin_token.map(|t| certgate_services::ids::sha256_hex(t.as_bytes())),
            admin_tokens,
            secure,
            ready,
            gateway,
            metrics,
            consumer_sign_up: false,
            gateway_addr: None,
            quota_usage: None,
            traffic: None,
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

pub fn build(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_behind_admin_token))
        // Mounted at /api/v1 by rest::routes, which also serves the OpenAPI document there.
        .merge(rest::routes())
        .route("/api/{*rest}", any(rest::unknown_route))
        .leptos_routes_with_context(&state, routes, security::provide_request_nonce, move || app::shell(assets::site_assets()))
        .fallback(assets::serve_asset_or_not_found)
        .layer(middleware::from_fn_with_state(state.clone(), web::resolve_request))
        .layer(middleware::from_fn(web::limit_body))
        .layer(middleware::from_fn_with_state(state.clone(), security::security_headers))
        .layer(middleware::from_fn(web::access_log))
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "alive" }))
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    // Not ready while the gateway's view may lag behind a commit (it then refuses requests).
    if state.ready.load(Ordering::SeqCst) && state.gateway.is_consistent() {
        (StatusCode::OK, Json(serde_json::json!({ "status": "ready" })))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "starting or stopping" })))
    }
}

/// `/metrics` on the portal listener: admin only, and only when no metrics listener is configured.
async fn metrics_behind_admin_token(_admin: rest::AdminCaller, State(state): State<AppState>) -> axum::response::Response {
    match &state.metrics {
        Some(registry) => metrics_response(registry),
        None => rest::unknown_route().await,
    }
}

/// The registry in Prometheus text format.
pub fn metrics_response(registry: &Registry) -> axum::response::Response {
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        certgate_gateway::metrics::encode(registry),
    )
        .into_response()
}

/// The router of the dedicated metrics listener (`--metrics-addr`).
pub fn metrics_router(registry: Arc<Registry>) -> Router {
    Router::new().route("/metrics", get(move || async move { metrics_response(&registry) }))
}
