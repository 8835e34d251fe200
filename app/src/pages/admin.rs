use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::dashboard::{admin_dashboard, DashboardView};
use crate::pages::traffic::Charts;
use crate::CurrentUser;

/// One count that links to the list it counts; `warn` when a non-zero count needs attention.
fn stat(label: &'static str, value: String, href: &'static str, warn: bool, testid: &'static str) -> impl IntoView {
    view! {
        <a class=if warn { "dash-stat dash-stat-warn" } else { "dash-stat" } href=href data-testid=testid>
            <span class="dash-stat-value">{value}</span>
            <span class="dash-stat-label">{label}</span>
        </a>
    }
}

/// The counts and the traffic charts.
fn overview(d: DashboardView) -> impl IntoView {
    let hour = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_else(|| "–".into());
    view! {
        <section aria-labelledby="overview-heading">
            <h2 id="overview-heading">"At a glance"</h2>
            <div class="dash-stats">
                {stat("APIs", d.apis.to_string(), "/admin/apis", false, "count-apis")}
                {stat("certificates expiring within 7 days", d.certificates_within_7_days.to_string(), "/admin/certificates?expiry=7d", d.certificates_within_7_days > 0, "count-expiring-7")}
                {stat("certificates expiring within 30 days", d.certificates_within_30_days.to_string(), "/admin/certificates?expiry=30d", false, "count-expiring-30")}
                {stat("expired certificates", d.certificates_expired.to_string(), "/admin/certificates?expiry=expired", d.certificates_expired > 0, "count-expired")}
                {stat("access requests waiting", d.pending_access_requests.to_string(), "/admin/access-requests?state=pending", d.pending_access_requests > 0, "count-pending")}
                {stat("live credentials", d.live_credentials.to_string(), "/admin/access-requests?state=approved", false, "count-credentials")}
                {stat("requests in the last hour", hour(d.requests_last_hour), "#traffic-heading", false, "count-requests-hour")}
                {stat("denials in the last hour", hour(d.denials_last_hour), "#traffic-heading", d.denials_last_hour.is_some_and(|n| n > 0), "count-denials-hour")}
            </div>
        </section>
        <section aria-labelledby="traffic-heading">
            <h2 id="traffic-heading">"Gateway traffic"</h2>
            {d.memory.map(|m| view! { <p class="muted small" data-testid="series-memory">{m}</p> })}
            <Charts charts=d.charts/>
        </section>
    }
}

/// The admin portal's dashboard.
#[component]
pub fn AdminHome() -> impl IntoView {
    let me = expect_context::<CurrentUser>();
    let dashboard = Resource::new(|| (), |_| admin_dashboard());
    view! {
        <Title text="Admin · certgate"/>
        <h1>"Admin portal"</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                me.await.ok().map(|me| view! {
                    <p class="muted">"Signed in as " <strong>{me.email}</strong> "."</p>
                })
            })}
        </Suspense>
        <Suspense fallback=|| view! { <p class="muted">"Loading the dashboard…"</p> }>
            {move || Suspend::new(async move {
                match dashboard.await {
                    Ok(d) => overview(d).into_any(),
                    Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                }
            })}
        </Suspense>
        <h2>"Manage"</h2>
        <div class="grid">
            <a class="card link-card" href="/admin/certificates">
                <h2>"Certificates"</h2>
                <p>"The provider's certificate store: upload, name, link to organisations, watch expiry."</p>
            </a>
            <a class="card link-card" href="/admin/organisations">
                <h2>"Organisations"</h2>
                <p>"The API consumers' organisations: their consumers, invite links, suspension."</p>
            </a>
            <a class="card link-card" href="/admin/products">
                <h2>"Products"</h2>
                <p>"Publish APIs to consumers: plans, visibility, certificate mode and binding."</p>
            </a>
            <a class="card link-card" href="/admin/plans">
                <h2>"Plans"</h2>
                <p>"Rate limits, quotas, auto-approval and token lifetimes."</p>
            </a>
            <a class="card link-card" href="/admin/access-requests">
                <h2>"Access requests"</h2>
                <p>"Approve or reject what consumers ask for."</p>
            </a>
            <a class="card link-card" href="/admin/audit">
                <h2>"Audit log"</h2>
                <p>"Who did what and when, filtered by actor, organisation and kind."</p>
            </a>
            <a class="card link-card" href="/admin/webhooks">
                <h2>"Webhooks"</h2>
                <p>"Notify your systems of access requests, credentials and expiring certificates."</p>
            </a>
        </div>
    }
}
