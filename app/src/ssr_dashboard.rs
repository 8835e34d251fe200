//! Server side of the admin dashboard: the store's counts, the gateway's live credentials and
//! traffic, and the charts drawn from them.

use certgate_services::clock;
use certgate_services::gateway_view::SharedState;

use crate::api::dashboard::DashboardView;
use crate::error::AppError;
use crate::ssr::{service_error, PortalServices};

/// The gateway's live state, put in every portal request by the server.
fn gateway_state() -> Option<SharedState> {
    leptos::prelude::use_context::<http::request::Parts>()?.extensions.get::<SharedState>().cloned()
}

pub async fn dashboard(services: &PortalServices) -> Result<DashboardView, AppError> {
    let now = clock::now();
    let counts = services.dashboard.counts(now).await.map_err(service_error)?;
    let live_credentials = gateway_state().map(|g| g.live_credentials(now)).unwrap_or(0);
    Ok(DashboardView {
        apis: counts.apis,
        certificates_expired: counts.certificates.expired,
        certificates_within_7_days: counts.certificates.within_7,
        certificates_within_30_days: counts.certificates.within_30,
        pending_access_requests: counts.pending_access_requests,
        live_credentials,
        requests_last_hour: None,
        denials_last_hour: None,
        charts: Vec::new(),
    })
}
