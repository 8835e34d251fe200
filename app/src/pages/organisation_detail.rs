//! Admin: one organisation — its consumers and their roles, invite and password-reset links
//! (each shown once), disabling a user, and suspending or resuming the organisation.
//!
//! Islands mode: the page is rendered by the server only and its forms are plain HTML forms
//! (a post redirects back here, an error comes back in the address and is shown by
//! `ActionError`). Only making a link is an island: the link is shown once, in place.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::consumers::{
    get_organisation, role_label, AccountLink, AddConsumer, ConsumerView, MakeAccountLink, OrganisationDetail, SetConsumerDisabled, SetConsumerRole,
    SetOrganisationSuspended,
};
use crate::api::impact::{organisation_delete_impact, DeleteOrganisation};
use crate::components::{succeeded, ActionError, ConfirmDeleteFields, CopyButton};
use crate::pages::traffic::AppTraffic;

#[component]
pub fn OrganisationDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    // On the server these hold the error of the form just posted (from the address), if any.
    let add = ServerAction::<AddConsumer>::new();
    let disable = ServerAction::<SetConsumerDisabled>::new();
    let role = ServerAction::<SetConsumerRole>::new();
    let suspend = ServerAction::<SetOrganisationSuspended>::new();
    let organisation = Resource::new(id, get_organisation);
    let delete = ServerAction::<DeleteOrganisation>::new();
    let impact = Resource::new(id, organisation_delete_impact);
    let actions = Actions { add, disable, role, suspend };
    view! {
        <Title text="Organisation · certgate"/>
        <p><a href="/admin/organisations">"← All organisations"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match organisation.await {
                    Ok(org) => view! { <Detail org actions/> }.into_any(),
                    Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                }
            })}
        </Suspense>
        {succeeded::<AddConsumer>().then(|| view! {
            <p class="alert success" role="status" data-testid="consumer-added">
                "Consumer added: make their invite link in the consumers table above."
            </p>
        })}
        <section class="card" aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete"</h2>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match impact.await {
                        Ok(impact) => view! {
                            <ActionForm action=delete attr:class="stack" attr:aria-label="Delete the organisation">
                                <ConfirmDeleteFields id=id() what="this organisation".to_string() impact/>
                            </ActionForm>
                        }.into_any(),
                        Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <ActionError error=Signal::derive(move || delete.value().get().and_then(Result::err))/>
        </section>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    add: ServerAction<AddConsumer>,
    disable: ServerAction<SetConsumerDisabled>,
    role: ServerAction<SetConsumerRole>,
    suspend: ServerAction<SetOrganisationSuspended>,
}

/// Island: the consumer table (server-rendered children) with its "make a link" buttons
/// (islands within), which share this island's action through context; the link just made is
/// shown below the table.
#[island]
fn AccountLinks(children: Children) -> impl IntoView {
    let make_link = ServerAction::<MakeAccountLink>::new();
    provide_context(make_link);
    view! {
        {children()}
        <LinkShownOnce link=Signal::derive(move || make_link.value().get().and_then(Result::ok))/>
        <ActionError error=Signal::derive(move || make_link.value().get().and_then(Result::err))/>
    }
}

/// Island: one consumer's "make a link" button. Disabled until hydrated: posted without wasm,
/// the link would be made and never shown.
#[island]
fn MakeLinkForm(user_id: String, kind: String, label: String, text: String) -> impl IntoView {
    // Provided by `AccountLinks` around the table: without it the button stays off (a link made
    // there would be shown nowhere, and would replace the consumer's previous one).
    let make_link = use_context::<ServerAction<MakeAccountLink>>();
    let ready = crate::components::hydrated();
    let busy = move || !ready.get() || make_link.is_none_or(|a| a.pending().get());
    let make_link = make_link.unwrap_or_default();
    view! {
        <ActionForm action=make_link attr:class="inline-form">
            <input type="hidden" name="user_id" value=user_id/>
            <input type="hidden" name="kind" value=kind/>
            <button type="submit" class="button secondary small" aria-label=label disabled=busy>{text}</button>
        </ActionForm>
    }
}

/// The link just made: shown this once (it is not stored and cannot be shown again).
#[component]
fn LinkShownOnce(link: Signal<Option<AccountLink>>) -> impl IntoView {
    move || {
        link.get().map(|l| {
            let what = if l.kind == "invite" { "Invite link" } else { "Password-reset link" };
            view! {
                <section class="card" role="status" data-testid="account-link">
                    <h2>{format!("{what} for {}", l.email)}</h2>
                    <p class="alert">
                        "Shown once: copy it now and send it to them. It works once, until "
                        <strong data-testid="link-expiry">{l.expires_at}</strong>
                        " (UTC). Making a new one replaces it."
                    </p>
                    <p><code data-testid="link-url">{l.url.clone()}</code></p>
                    <CopyButton text=l.url.clone() label="Copy the link".to_string()/>
                </section>
            }
        })
    }
}

#[component]
fn Detail(org: OrganisationDetail, actions: Actions) -> impl IntoView {
    let Actions { add, disable, role, suspend, .. } = actions;
    let suspended = org.suspended_at.is_some();
    let (status, button, value) = match &org.suspended_at {
        Some(at) => (format!("Suspended since {at} (UTC): the gateway refuses every credential of its apps."), "Resume the organisation", "no"),
        None => ("Active.".to_string(), "Suspend the organisation", "yes"),
    };
    let consumers = org.consumers.clone();
    let org_id = org.id.clone();
    // `?app=<id>`: that app's traffic is shown (only one of this organisation's apps).
    let query = leptos_router::hooks::use_query_map();
    let apps = org.apps.clone();
    let shown_app = move || {
        let wanted = query.read().get("app");
        apps.iter().find(|a| Some(&a.id) == wanted.as_ref()).map(|a| (a.id.clone(), a.name.clone()))
    };
    view! {
        <h1 data-testid="organisation-title">{org.name.clone()}</h1>
        <section class="card">
            <h2>"Status"</h2>
            <p data-testid="organisation-status" data-suspended=suspended.to_string()>{status}</p>
            <p class="muted">
                "Suspending refuses every credential of the organisation's apps from the next request, and its certificates "
                "leave the allow lists (unless something else holds them). Resuming restores both. Nothing is deleted."
            </p>
            <ActionForm action=suspend attr:class="row-form" attr:aria-label="Suspension">
                <input type="hidden" name="id" value=org.id.clone()/>
                <input type="hidden" name="suspended" value=value/>
                <button type="submit" class=if suspended { "button primary" } else { "button danger" }>{button}</button>
            </ActionForm>
            <ActionError error=Signal::derive(move || suspend.value().get().and_then(Result::err))/>
        </section>
        <section class="card">
            <h2>"Consumers"</h2>
            {consumers.is_empty().then(|| view! { <p class="muted">"No consumers yet: add one below and send them an invite link."</p> })}
            {(!consumers.is_empty()).then(|| view! { <AccountLinks><ConsumerTable consumers actions/></AccountLinks> })}
            <ActionError error=Signal::derive(move || disable.value().get().and_then(Result::err))/>
            <ActionError error=Signal::derive(move || role.value().get().and_then(Result::err))/>
            <h3>"Add a consumer"</h3>
            <ActionForm action=add attr:class="row-form" attr:aria-label="Add a consumer">
                <input type="hidden" name="organisation_id" value=org_id/>
                <div class="field grow">
                    <label for="consumer-email">"Email"</label>
                    <input id="consumer-email" name="email" type="email" required/>
                </div>
                <div class="field">
                    <label for="consumer-role">"Role"</label>
                    <select id="consumer-role" name="role">
                        <option value="member">"Member"</option>
                        <option value="org_admin">"Organisation admin"</option>
                    </select>
                </div>
                <button type="submit" class="button primary">"Add consumer"</button>
            </ActionForm>
            <p class="muted">"They set their password through an invite link, which you make in the table above."</p>
            <ActionError error=Signal::derive(move || add.value().get().and_then(Result::err))/>
        </section>
        <section class="card">
            <h2>"Certificates and apps"</h2>
            <h3>"Linked certificates"</h3>
            {org.certificates.is_empty().then(|| view! { <p class="muted">"None: Managed products give its apps no certificate."</p> })}
            <ul class="plain-list">
                {org.certificates.iter().map(|c| view! { <li><a href=format!("/admin/certificates/{}", c.id)>{c.name.clone()}</a></li> }).collect_view()}
            </ul>
            <h3>"Apps"</h3>
            {org.apps.is_empty().then(|| view! { <p class="muted">"No apps yet."</p> })}
            <ul class="plain-list">
                {org.apps.iter().map(|a| view! {
                    <li>
                        {a.name.clone()} " — "
                        <a href=format!("?app={}#app-traffic", a.id) aria-label=format!("Traffic of app {}", a.name)>"traffic"</a>
                    </li>
                }).collect_view()}
            </ul>
            {move || shown_app().map(|(id, name)| view! {
                <section id="app-traffic" aria-labelledby="app-traffic-heading" data-testid="app-traffic">
                    <h3 id="app-traffic-heading">{format!("Traffic of app {name}, last 7 days")}</h3>
                    <AppTraffic id=Signal::stored(id) admin=true/>
                </section>
            })}
        </section>
    }
}

#[component]
fn ConsumerTable(consumers: Vec<ConsumerView>, actions: Actions) -> impl IntoView {
    let Actions { disable, role, .. } = actions;
    view! {
        <div class="table-scroll">
        <table class="table" data-testid="consumer-table">
            <thead><tr>
                <th scope="col">"Email"</th>
                <th scope="col">"Role"</th>
                <th scope="col">"State"</th>
                <th scope="col">"Links"</th>
                <th scope="col">"Access"</th>
            </tr></thead>
            <tbody>
                {consumers.into_iter().map(|c| {
                    let state = match (c.disabled, c.has_password) {
                        (true, _) => "Disabled: cannot sign in",
                        (false, false) => "Invited: no password yet",
                        (false, true) => "Active",
                    };
                    let (link_kind, link_text) = if c.has_password { ("reset", "Make a password-reset link") } else { ("invite", "Make an invite link") };
                    let link_label = format!("{link_text} for {}", c.email);
                    let role_field = format!("role-{}", c.id);
                    let role_label_text = format!("Role of {}", c.email);
                    let role_button = format!("Change the role of {}", c.email);
                    let (toggle, toggle_value) = if c.disabled { ("Enable", "no") } else { ("Disable", "yes") };
                    let toggle_label = format!("{toggle} {}", c.email);
                    let (id_role, id_link, id_toggle) = (c.id.clone(), c.id.clone(), c.id.clone());
                    let disabled = c.disabled;
                    let role_now = c.role.clone();
                    let title = role_label(&c.role);
                    view! {
                        <tr data-testid="consumer-row" data-email=c.email.clone()>
                            <td>{c.email.clone()}</td>
                            <td>
                                <ActionForm action=role attr:class="row-form">
                                    <input type="hidden" name="user_id" value=id_role/>
                                    <label class="muted" for=role_field.clone()>{role_label_text}</label>
                                    <select id=role_field name="role" title=title>
                                        <option value="member" selected=role_now == "member">"Member"</option>
                                        <option value="org_admin" selected=role_now == "org_admin">"Organisation admin"</option>
                                    </select>
                                    <button type="submit" class="button secondary small" aria-label=role_button>"Change"</button>
                                </ActionForm>
                            </td>
                            <td data-testid="consumer-state">{state}</td>
                            <td>
                                {(!disabled).then(|| view! {
                                    <MakeLinkForm user_id=id_link kind=link_kind.to_string() label=link_label text=link_text.to_string()/>
                                })}
                            </td>
                            <td>
                                <ActionForm action=disable attr:class="inline-form">
                                    <input type="hidden" name="user_id" value=id_toggle/>
                                    <input type="hidden" name="disabled" value=toggle_value/>
                                    <button type="submit" class=if disabled { "button secondary small" } else { "button danger small" } aria-label=toggle_label>{toggle}</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}
