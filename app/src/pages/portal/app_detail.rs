//! Developer portal: one app — its subscriptions and credentials, its requests, requesting
//! access to more products, renaming and deleting it. Another organisation's app (or a
//! colleague's, for a member) is the not-found page with status 404.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::credential::SubscriptionCard;
use super::home::{request_text, state_badge};
use super::request_form::RequestForm;
use super::LoadError;
use crate::api::portal::{portal_app, PortalAppDetail, PortalDeleteApp, PortalRenameApp, PortalRequestAccess, PortalRequestView, PortalWithdrawRequest};
use crate::components::{succeeded, ActionError};
use crate::pages::traffic::AppTraffic;

#[component]
pub fn PortalAppPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new(id, portal_app);
    view! {
        <Title text="App · certgate"/>
        <p><a href="/portal/apps">"← All apps"</a></p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => view! { <AppDetail d/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn AppDetail(d: PortalAppDetail) -> impl IntoView {
    let PortalAppDetail { app, subscriptions, requests, requestable, organisation_certificates, gateway_origin } = d;
    let rename = ServerAction::<PortalRenameApp>::new();
    let delete = ServerAction::<PortalDeleteApp>::new();
    let app_id = app.id.clone();
    let (rename_id, delete_id, current_name) = (app.id.clone(), app.id.clone(), app.name.clone());
    let delete_label = format!("Delete app {}", app.name);
    view! {
        <h1 data-testid="app-title">{app.name.clone()}</h1>
        {succeeded::<PortalRequestAccess>().then(|| view! {
            <p class="alert success" role="status" data-testid="access-requested">
                "Access requested: its state is under Requests below (an approved one is already under Products and credentials)."
            </p>
        })}
        <section aria-labelledby="subscriptions">
            <h2 id="subscriptions">"Products and credentials"</h2>
            {if subscriptions.is_empty() {
                view! { <p class="muted">"No approved access yet: request a product below."</p> }.into_any()
            } else {
                view! {
                    <p class="muted small">"Gateway: " <code>{gateway_origin}</code></p>
                    {subscriptions.into_iter().map(|s| view! { <SubscriptionCard s/> }).collect_view()}
                }.into_any()
            }}
        </section>
        <section aria-labelledby="app-traffic" data-testid="app-traffic">
            <h2 id="app-traffic">"Traffic, last 7 days"</h2>
            <AppTraffic id=Signal::stored(app.id.clone()) admin=false/>
        </section>
        {(!requests.is_empty()).then(|| view! {
            <section class="card" aria-labelledby="app-requests">
                <h2 id="app-requests">"Requests"</h2>
                <ul class="plain-list" data-testid="app-requests">
                    {requests.into_iter().map(|r| view! { <RequestRow r/> }).collect_view()}
                </ul>
            </section>
        })}
        <section aria-labelledby="request-access">
            <h2 id="request-access">"Request access"</h2>
            {if requestable.is_empty() {
                view! { <p class="muted">"There is no other product in your catalogue to request for this app."</p> }.into_any()
            } else {
                requestable
                    .into_iter()
                    .map(|product| view! {
                        <RequestForm app_id=app_id.clone() product organisation_certificates=organisation_certificates.clone()/>
                    })
                    .collect_view()
                    .into_any()
            }}
        </section>
        <section class="card" aria-labelledby="app-settings">
            <h2 id="app-settings">"Settings"</h2>
            <ActionForm action=rename attr:class="row-form" attr:aria-label="Rename the app">
                <input type="hidden" name="id" value=rename_id.clone()/>
                <div class="field grow">
                    <label for="rename-app">"Name"</label>
                    <input id="rename-app" name="name" value=current_name.clone() required maxlength="100"/>
                </div>
                <button type="submit" class="button secondary">"Rename"</button>
            </ActionForm>
            <ActionError error=Signal::derive(move || rename.value().get().and_then(Result::err))/>
            <details>
                <summary>"Delete this app…"</summary>
                <p>"Deleting the app withdraws its pending requests and revokes its credentials: their tokens are refused at once."</p>
                <ActionForm action=delete attr:class="stack" attr:aria-label="Delete the app">
                    <input type="hidden" name="id" value=delete_id.clone()/>
                    <label class="check" for="delete-confirm">
                        <input id="delete-confirm" type="checkbox" name="confirm" value="yes" required/>
                        " I understand: this cannot be undone."
                    </label>
                    <div><button type="submit" class="button danger" aria-label=delete_label.clone()>"Delete app"</button></div>
                </ActionForm>
                <ActionError error=Signal::derive(move || delete.value().get().and_then(Result::err))/>
            </details>
        </section>
    }
}

#[component]
fn RequestRow(r: PortalRequestView) -> impl IntoView {
    let withdraw = ServerAction::<PortalWithdrawRequest>::new();
    let (class, state) = state_badge(&r.state);
    let what = request_text(&r);
    let pending = r.state == "pending";
    let label = format!("Withdraw request for {}", r.product_name);
    view! {
        <li data-testid="request" data-state=r.state.clone()>
            <ActionForm action=withdraw attr:class="row-form">
                <span class=class>{state}</span>
                <span>{what}</span>
                <span class="muted small">{r.created_at.clone()}</span>
                {r.reason.clone().map(|reason| view! { <span data-testid="reject-reason">"Reason: " {reason}</span> })}
                <input type="hidden" name="id" value=r.id.clone()/>
                {pending.then(|| view! { <button type="submit" class="button secondary small" aria-label=label>"Withdraw"</button> })}
            </ActionForm>
            <ActionError error=Signal::derive(move || withdraw.value().get().and_then(Result::err))/>
        </li>
    }
}
