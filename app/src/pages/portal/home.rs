//! Developer portal: the consumer's start page — their apps, their pending and rejected
//! requests (with the provider's reason), and the certificates about to expire.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{CertificateList, LoadError};
use crate::api::portal::{portal_home, PortalHomeView, PortalRequestView};
use crate::CurrentUser;

#[component]
pub fn PortalHomePage() -> impl IntoView {
    let me = expect_context::<CurrentUser>();
    let home = Resource::new(|| (), |_| portal_home());
    view! {
        <Title text="Developer portal · certgate"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let name = me.await.map(|m| m.display_name).unwrap_or_default();
                match home.await {
                    Ok(home) => view! { <Home name home/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Home(name: String, home: PortalHomeView) -> impl IntoView {
    let PortalHomeView { organisation, apps, requests, expiring, certificates } = home;
    view! {
        <h1>"Welcome, " {name}</h1>
        <p class="muted">"Organisation: " <strong data-testid="organisation">{organisation}</strong></p>
        <div class="grid">
            <a class="card link-card" href="/portal/products">
                <h2>"Catalogue"</h2>
                <p>"The API products your organisation can use: their APIs, plans and how to authenticate."</p>
            </a>
            <a class="card link-card" href="/portal/apps">
                <h2>"Apps"</h2>
                <p>"Create an app, request access to a product, and get its credentials."</p>
            </a>
        </div>
        <section class="card" aria-labelledby="home-apps">
            <h2 id="home-apps">"Your apps"</h2>
            {if apps.is_empty() {
                view! { <p class="muted">"No apps yet. " <a href="/portal/apps">"Create your first app"</a> "."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain-list" data-testid="home-apps">
                        {apps.into_iter().map(|a| view! {
                            <li>
                                <a href=format!("/portal/apps/{}", a.id)>{a.name}</a>
                                <span class="muted">" · " {a.product_count} " product(s)"</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
        <section class="card" aria-labelledby="home-requests">
            <h2 id="home-requests">"Requests"</h2>
            {if requests.is_empty() {
                view! { <p class="muted">"No pending or rejected requests."</p> }.into_any()
            } else {
                view! { <RequestTable requests/> }.into_any()
            }}
        </section>
        <section class="card" aria-labelledby="home-expiring">
            <h2 id="home-expiring">"Certificates expiring within 30 days"</h2>
            {if expiring.is_empty() {
                view! { <p class="muted" data-testid="no-expiring">"None of your organisation's certificates expires within 30 days."</p> }.into_any()
            } else {
                view! {
                    <p class="alert">"These certificates of your organisation expire soon: ask for or upload a replacement before they do."</p>
                    <CertificateList certificates=expiring testid="expiring-certificates"/>
                }.into_any()
            }}
        </section>
        <section class="card" aria-labelledby="home-certificates">
            <h2 id="home-certificates">"Your organisation's certificates"</h2>
            <p class="muted small">
                "The API provider's administrator links these to your organisation; products in Managed mode use them. "
                "Read-only here: ask the administrator to add or replace one."
            </p>
            {if certificates.is_empty() {
                view! { <p class="muted">"None yet."</p> }.into_any()
            } else {
                view! { <CertificateList certificates testid="organisation-certificates"/> }.into_any()
            }}
        </section>
    }
}

/// What a request asks for, in words.
pub fn request_text(r: &PortalRequestView) -> String {
    match r.kind.as_str() {
        "change_plan" => format!("Change {} to plan {}", r.product_name, r.plan_name.clone().unwrap_or_default()),
        "renew" => format!("Replacement certificate for {}", r.product_name),
        _ => format!("{} with plan {}", r.product_name, r.plan_name.clone().unwrap_or_default()),
    }
}

pub fn state_badge(state: &str) -> (&'static str, &'static str) {
    match state {
        "pending" => ("badge warn", "Pending"),
        "approved" => ("badge ok", "Approved"),
        "rejected" => ("badge bad", "Rejected"),
        _ => ("badge", "Withdrawn"),
    }
}

#[component]
fn RequestTable(requests: Vec<PortalRequestView>) -> impl IntoView {
    view! {
        <table class="table" data-testid="home-requests">
            <thead><tr>
                <th scope="col">"App"</th>
                <th scope="col">"Request"</th>
                <th scope="col">"State"</th>
                <th scope="col">"Reason"</th>
                <th scope="col">"Sent"</th>
            </tr></thead>
            <tbody>
                {requests.into_iter().map(|r| {
                    let (class, label) = state_badge(&r.state);
                    let what = request_text(&r);
                    view! {
                        <tr data-testid="request" data-state=r.state.clone()>
                            <td><a href=format!("/portal/apps/{}", r.app_id)>{r.app_name}</a></td>
                            <td>{what}</td>
                            <td><span class=class>{label}</span></td>
                            <td>{r.reason.unwrap_or_else(|| "—".to_string())}</td>
                            <td>{r.created_at}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
