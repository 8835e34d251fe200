//! The gateway's traffic on a page: charts drawn on the server (SVG markup with every text
//! escaped), for an API (last 24 hours or 30 days) and for an app (last 7 days).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::dashboard::ChartView;
use crate::api::traffic::{admin_app_traffic, api_traffic, portal_app_traffic};

/// Charts side by side (one column on a phone).
#[component]
pub fn Charts(charts: Vec<ChartView>) -> impl IntoView {
    view! {
        <div class="charts">
            {charts.into_iter().map(|chart| view! {
                <figure class="card chart-card">
                    <figcaption><h3>{chart.heading}</h3></figcaption>
                    <div class="chart-frame" inner_html=chart.svg></div>
                </figure>
            }).collect_view()}
        </div>
    }
}

fn loaded(result: Result<Vec<ChartView>, crate::error::AppError>) -> AnyView {
    match result {
        Ok(charts) if charts.is_empty() => view! { <p class="muted">"The gateway records no traffic (started with --traffic-series off)."</p> }.into_any(),
        Ok(charts) => view! { <Charts charts/> }.into_any(),
        Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
    }
}

/// An API's traffic; `?traffic=month` shows 30 days per hour instead of 24 hours per minute.
#[component]
pub fn ApiTraffic(id: Signal<String>) -> impl IntoView {
    let query = use_query_map();
    let month = move || query.read().get("traffic").as_deref() == Some("month");
    let charts = Resource::new(move || (id.get(), month()), |(id, month)| api_traffic(id, month.then(|| "month".to_string())));
    view! {
        <section aria-labelledby="api-traffic-heading" data-testid="api-traffic">
            <h2 id="api-traffic-heading">"Traffic"</h2>
            <nav class="row-form" aria-label="Traffic period">
                <a href="?traffic=day" aria-current=move || (!month()).then_some("page")>"Last 24 hours"</a>
                <a href="?traffic=month" aria-current=move || month().then_some("page")>"Last 30 days"</a>
            </nav>
            <Suspense fallback=|| view! { <p class="muted">"Loading the traffic…"</p> }>
                {move || Suspend::new(async move { loaded(charts.await) })}
            </Suspense>
        </section>
    }
}

/// An app's traffic over the last 7 days: `admin` reads it as the admin, else as the consumer.
#[component]
pub fn AppTraffic(id: Signal<String>, admin: bool) -> impl IntoView {
    let charts = Resource::new(move || id.get(), move |id| async move { if admin { admin_app_traffic(id).await } else { portal_app_traffic(id).await } });
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the traffic…"</p> }>
            {move || Suspend::new(async move { loaded(charts.await) })}
        </Suspense>
    }
}
