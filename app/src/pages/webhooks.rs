//! Admin: Webhooks — register URLs for events (the signing secret shown once), send a test
//! event, re-enable a disabled one, delete one, and read an endpoint's delivery log
//! (`?log=<id>`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::webhooks::{
    list_webhooks, webhook_deliveries, CreateWebhook, DeleteWebhook, DeliveryView, EnableWebhook, NewWebhookView, SendTestWebhook, WebhookForm,
    WebhookView, EVENT_CHOICES,
};
use crate::components::{succeeded, ActionError, ConfirmDeleteFields, CopyButton};

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let delete = ServerAction::<DeleteWebhook>::new();
    let enable = ServerAction::<EnableWebhook>::new();
    let test = ServerAction::<SendTestWebhook>::new();
    let list = Resource::new(|| (), |_| list_webhooks());
    let query = use_query_map();
    let log_id = move || query.read().get("log").filter(|id| !id.is_empty());
    let actions = RowActions { delete, enable, test };
    view! {
        <Title text="Webhooks · certgate"/>
        <h1>"Webhooks"</h1>
        <p class="muted">
            "certgate POSTs each event you choose to your URL as JSON, signed per the Standard Webhooks specification "
            "(headers webhook-id, webhook-timestamp and webhook-signature: an HMAC-SHA256 keyed with the endpoint's secret). "
            "Failed deliveries are retried with growing waits; an endpoint failing for 24 hours is disabled until you re-enable it."
        </p>
        <section class="card">
            <h2>"New webhook"</h2>
            <RegisterWebhook>
                <div class="field">
                    <label for="webhook-url">"URL (http or https; redirects are not followed)"</label>
                    <input id="webhook-url" name="form[url]" type="url" required maxlength="2048" placeholder="https://hooks.example.com/certgate"/>
                </div>
                <fieldset class="field">
                    <legend>"Events"</legend>
                    {EVENT_CHOICES.iter().map(|(event, label)| {
                        let id = format!("webhook-event-{}", event.replace('.', "-"));
                        let label_for = id.clone();
                        view! {
                            <label class="check" for=label_for>
                                <input id=id type="checkbox" name=WebhookForm::field(event) value="on"/>
                                " " {*label} " " <code class="muted small">{*event}</code>
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
            </RegisterWebhook>
        </section>
        <section class="card">
            <h2>"All webhooks"</h2>
            <ActionError error=Signal::derive(move || delete.value().get().and_then(Result::err))/>
            <ActionError error=Signal::derive(move || enable.value().get().and_then(Result::err))/>
            <ActionError error=Signal::derive(move || test.value().get().and_then(Result::err))/>
            {succeeded::<SendTestWebhook>().then(|| view! {
                <p class="alert success" role="status">"Test event queued: its outcome is in the delivery log."</p>
            })}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No webhooks yet."</p> }.into_any(),
                        Ok(list) => view! { <WebhookTable list actions/> }.into_any(),
                        Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        {move || log_id().map(|id| view! { <DeliveryLogSection id test=actions.test enable=actions.enable/> })}
    }
}

/// Island: the registration form (its fields are server-rendered children). The signing secret
/// comes back in the answer and is shown in place, once; posted without wasm it would be lost,
/// so the button waits for hydration.
#[island]
fn RegisterWebhook(children: Children) -> impl IntoView {
    let create = ServerAction::<CreateWebhook>::new();
    let ready = crate::components::hydrated();
    let busy = move || !ready.get() || create.pending().get();
    view! {
        <ActionForm action=create attr:class="stack" attr:aria-label="New webhook">
            {children()}
            <div><button type="submit" class="button primary" disabled=busy>"Register webhook"</button></div>
        </ActionForm>
        <ActionError error=Signal::derive(move || create.value().get().and_then(Result::err))/>
        <NewSecret created=Signal::derive(move || create.value().get().and_then(Result::ok))/>
    }
}

/// The secret of the webhook just registered: shown this once. Hiding it reloads the page (the
/// list then has the webhook).
#[component]
fn NewSecret(created: Signal<Option<NewWebhookView>>) -> impl IntoView {
    move || {
        created.get().map(|n| {
            let id = n.webhook.id.clone();
            let log = format!("/admin/webhooks?log={id}");
            view! {
                <div class="alert success" role="status" data-testid="new-webhook-secret">
                    <p><strong>"Webhook registered for " {n.webhook.url.clone()} ". Its signing secret, shown this once:"</strong></p>
                    <p><code data-testid="webhook-secret">{n.secret.clone()}</code> " " <CopyButton text=n.secret.clone() label="Copy the signing secret".to_string()/></p>
                    <p class="muted small">"Verify each delivery with it; certgate never shows it again. "
                        <a href=log>"Open its delivery log"</a></p>
                    <button type="button" class="button secondary small" on:click=move |_| crate::browser::reload()>"I saved it: hide the secret"</button>
                </div>
            }
        })
    }
}

/// The per-row actions, shared by the table and the log.
#[derive(Clone, Copy)]
struct RowActions {
    delete: ServerAction<DeleteWebhook>,
    enable: ServerAction<EnableWebhook>,
    test: ServerAction<SendTestWebhook>,
}

fn status_badge(w: &WebhookView) -> AnyView {
    match (&w.disabled, &w.failing_since) {
        (Some((at, reason)), _) => view! {
            <span class="badge bad" data-testid="webhook-status">"Disabled"</span>
            <span class="muted small">" since " {at.clone()} ": " {reason.clone()}</span>
        }
        .into_any(),
        (None, Some(since)) => view! {
            <span class="badge warn" data-testid="webhook-status">"Failing"</span>
            <span class="muted small">" since " {since.clone()}</span>
        }
        .into_any(),
        (None, None) => view! { <span class="badge ok" data-testid="webhook-status">"Active"</span> }.into_any(),
    }
}

#[component]
fn WebhookTable(list: Vec<WebhookView>, actions: RowActions) -> impl IntoView {
    view! {
        <table class="table" data-testid="webhook-table">
            <thead><tr>
                <th scope="col">"URL"</th>
                <th scope="col">"Events"</th>
                <th scope="col">"Status"</th>
                <th scope="col">"Actions"</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|w| {
                    let url = w.url.clone();
                    let log_label = format!("Delivery log of {url}");
                    let test_label = format!("Send a test event to {url}");
                    let enable_label = format!("Re-enable webhook {url}");
                    let delete_what = format!("webhook {url}");
                    let disabled = w.disabled.is_some();
                    let (test_id, enable_id, delete_id) = (w.id.clone(), w.id.clone(), w.id.clone());
                    view! {
                        <tr data-testid="webhook-row">
                            <td><code>{w.url.clone()}</code><br/><span class="muted small">{w.id.clone()}</span></td>
                            <td>{w.events.join(", ")}</td>
                            <td>{status_badge(&w)}</td>
                            <td class="stack">
                                <a href=format!("/admin/webhooks?log={}", w.id) aria-label=log_label>"Delivery log"</a>
                                {(!disabled).then(|| view! {
                                    <ActionForm action=actions.test attr:class="inline-form">
                                        <input type="hidden" name="id" value=test_id/>
                                        <button type="submit" class="button secondary small" aria-label=test_label>"Send test event"</button>
                                    </ActionForm>
                                })}
                                {disabled.then(|| view! {
                                    <ActionForm action=actions.enable attr:class="inline-form">
                                        <input type="hidden" name="id" value=enable_id/>
                                        <button type="submit" class="button primary small" aria-label=enable_label>"Re-enable"</button>
                                    </ActionForm>
                                })}
                                <ActionForm action=actions.delete attr:class="row-form">
                                    <ConfirmDeleteFields id=delete_id what=delete_what/>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn DeliveryLogSection(id: String, test: ServerAction<SendTestWebhook>, enable: ServerAction<EnableWebhook>) -> impl IntoView {
    let log = Resource::new(move || (id.clone(), test.version().get(), enable.version().get()), |(id, _, _)| webhook_deliveries(id));
    view! {
        <section class="card" aria-labelledby="delivery-log-title">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match log.await {
                        Ok(log) => {
                            let url = log.webhook.url.clone();
                            view! {
                                <h2 id="delivery-log-title">"Delivery log of " <code>{url.clone()}</code></h2>
                                <p>{status_badge(&log.webhook)} " " <a href=format!("/admin/webhooks?log={}", log.webhook.id)>"Refresh"</a></p>
                                {if log.deliveries.is_empty() {
                                    view! { <p class="muted">"Nothing sent yet."</p> }.into_any()
                                } else {
                                    view! { <DeliveryTable deliveries=log.deliveries/> }.into_any()
                                }}
                            }
                            .into_any()
                        }
                        Err(e) => view! {
                            <h2 id="delivery-log-title">"Delivery log"</h2>
                            <p class="alert error" role="alert">{e.message}</p>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn state_badge(state: &str) -> &'static str {
    match state {
        "delivered" => "badge ok",
        "pending" => "badge warn",
        _ => "badge bad",
    }
}

#[component]
fn DeliveryTable(deliveries: Vec<DeliveryView>) -> impl IntoView {
    view! {
        <table class="table" data-testid="delivery-table">
            <thead><tr>
                <th scope="col">"Event"</th>
                <th scope="col">"Created"</th>
                <th scope="col">"State"</th>
                <th scope="col">"Attempts (newest first)"</th>
            </tr></thead>
            <tbody>
                {deliveries.into_iter().map(|d| view! {
                    <tr data-testid="delivery-row">
                        <td>{d.event.clone()}<br/><code class="muted small">{d.id.clone()}</code></td>
                        <td>{d.created.clone()}</td>
                        <td>
                            <span class=state_badge(&d.state) data-testid="delivery-state">{d.state.clone()}</span>
                            {d.next_attempt.clone().map(|t| view! { <br/><span class="muted small">"next try " {t}</span> })}
                        </td>
                        <td>
                            {(d.attempt_count as usize > d.attempts.len()).then(|| view! {
                                <p class="muted small">{format!("{} attempts in all; the newest {}:", d.attempt_count, d.attempts.len())}</p>
                            })}
                            <ul class="plain" data-testid="delivery-attempts">
                                {d.attempts.into_iter().map(|a| {
                                    let outcome = match (a.status, a.error) {
                                        (Some(status), None) => format!("HTTP {status}"),
                                        (Some(status), Some(error)) => format!("HTTP {status}: {error}"),
                                        (None, Some(error)) => error,
                                        (None, None) => "no answer".into(),
                                    };
                                    view! { <li>{a.at} " · " {outcome} " · " {format!("{} ms", a.duration_ms)}</li> }
                                }).collect_view()}
                            </ul>
                        </td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
