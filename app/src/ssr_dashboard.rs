//! Server side of the admin dashboard: the store's counts, the gateway's live credentials and
//! traffic, and the charts drawn from them.

use std::collections::HashMap;

use certgate_core::traffic::{MemoryReport, Series, Window};
use certgate_services::clock;
use certgate_services::sessions::ActiveSession;

use crate::api::dashboard::{ChartView, DashboardView};
use crate::error::AppError;
use crate::ssr::{service_error, PortalServices};
use crate::ssr_traffic::{denials_chart, latency_chart, merged, requests_chart, top_chart};

fn kilobytes(bytes: usize) -> String {
    crate::charts::number_text((bytes as f64 / 1024.0).ceil())
}

/// The series' memory in one sentence.
fn memory_words(m: &MemoryReport) -> String {
    format!(
        "Traffic series in memory: {} KB in all — {} API series of {} KB, {} app series of {} KB (at most {}), {} last-seen entries of {} bytes (at most {}).",
        kilobytes(m.total_bytes),
        m.api_series,
        kilobytes(m.bytes_per_api_series),
        m.app_series,
        kilobytes(m.bytes_per_app_series),
        m.app_series_cap,
        m.last_seen_entries,
        m.bytes_per_last_seen_entry,
        m.last_seen_cap
    )
}

pub async fn dashboard(services: &PortalServices, admin: &ActiveSession) -> Result<DashboardView, AppError> {
    let now = clock::now();
    let counts = services.dashboard.counts(now).await.map_err(service_error)?;
    let live_credentials = crate::ssr::gateway_state().map(|g| g.live_credentials(now)).unwrap_or(0);
    let mut view = DashboardView {
        apis: counts.apis,
        certificates_expired: counts.certificates.expired,
        certificates_within_7_days: counts.certificates.within_7,
        certificates_within_30_days: counts.certificates.within_30,
        pending_access_requests: counts.pending_access_requests,
        live_credentials,
        requests_last_hour: None,
        denials_last_hour: None,
        charts: Vec::new(),
        memory: None,
    };
    let Some(traffic) = crate::ssr_traffic::source() else { return Ok(view) };
    let memory = traffic.memory();
    if !memory.recording {
        return Ok(view);
    }
    let hour = traffic.totals_since(now - 3_600, now);
    view.requests_last_hour = Some(hour.apis.iter().map(|t| t.bucket.total()).sum());
    view.denials_last_hour = Some(hour.apis.iter().map(|t| t.bucket.denied()).sum());

    let apis: HashMap<String, String> = services.apis.list().await.map_err(service_error)?.into_iter().map(|a| (a.id, a.spec.name)).collect();
    let day = merged(apis.keys().filter_map(|id| traffic.api_series(id, Window::Day, now)))
        .unwrap_or_else(|| Series::zeros(now, Window::Day.step(), Window::Day.points()));
    let span = "last 24 hours";
    let totals = traffic.totals_since(now - 86_400, now);
    let mut charts: Vec<ChartView> = vec![requests_chart("All APIs", &day, span), latency_chart("All APIs", &day, span)];
    charts.push(top_chart(
        "Top APIs, last 24 hours",
        &totals.apis,
        |id| apis.get(id).cloned().unwrap_or_else(|| format!("{id} (deleted)")),
        |id| apis.contains_key(id).then(|| format!("/admin/apis/{id}")),
    ));
    // The ten busiest apps, named, each linked to its organisation's page.
    let actor = crate::ssr_portal::admin_actor(admin);
    let mut apps: HashMap<String, (String, String)> = HashMap::new();
    for total in totals.apps.iter().take(crate::ssr_traffic::TOP) {
        if let Ok(app) = services.apps.get(&actor, &total.id).await {
            apps.insert(app.id, (app.name, app.organisation));
        }
    }
    charts.push(top_chart(
        "Top apps, last 24 hours",
        &totals.apps,
        |id| apps.get(id).map(|(name, _)| name.clone()).unwrap_or_else(|| format!("{id} (deleted)")),
        |id| apps.get(id).map(|(_, org)| format!("/admin/organisations/{org}")),
    ));
    charts.push(denials_chart("All APIs", &day, span));
    view.charts = charts;
    view.memory = Some(memory_words(&memory));
    Ok(view)
}
