//! Admin: one certificate — every parsed field, its portal name and organisation links.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::certificates::{get_certificate, CertificateView, LinkCertificate, RenameCertificate, UnlinkCertificate};
use crate::api::usage::{certificate_usage, CertificateUses, LastSeenRow};
use crate::api::{list_organisations, OrganisationView};
use crate::components::{succeeded, ActionError, CopyButton};
use crate::pages::change_preview::ConfirmChange;
use crate::pages::certificates::{validity_class, validity_text};

#[component]
pub fn CertificateDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let rename = ServerAction::<RenameCertificate>::new();
    let certificate = Resource::new(id, get_certificate);
    let usage = Resource::new(id, certificate_usage);
    let organisations = Resource::new(|| (), |_| list_organisations());
    view! {
        <Title text="Certificate · certgate"/>
        <p><a href="/admin/certificates">"← All certificates"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (certificate.await, organisations.await) {
                    (Ok(c), Ok(orgs)) => view! { <Detail c orgs rename/> }.into_any(),
                    (Err(e), _) | (_, Err(e)) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                usage.await.ok().map(|usage| view! { <LastSeen rows=usage.last_seen.clone()/> <UsedBy usage/> })
            })}
        </Suspense>
    }
}

#[component]
fn Detail(
    c: CertificateView,
    orgs: Vec<OrganisationView>,
    rename: ServerAction<RenameCertificate>,
) -> impl IntoView {
    let linked_ids: Vec<String> = c.organisations.iter().map(|o| o.id.clone()).collect();
    let unlinked: Vec<OrganisationView> = orgs.into_iter().filter(|o| !linked_ids.contains(&o.id)).collect();
    let sans = if c.subject_alt_names.is_empty() {
        "—".to_string()
    } else {
        c.subject_alt_names.iter().map(|a| format!("{}: {}", a.kind.to_uppercase(), a.value)).collect::<Vec<_>>().join(", ")
    };
    let eku = match &c.extended_key_usage {
        None => "not restricted (no extension)".to_string(),
        Some(list) => list.join(", "),
    };
    let client_auth = match c.client_auth_problem.as_deref() {
        None => "Usable for client authentication now".to_string(),
        Some("ca_certificate") => "Not usable as a client certificate: it is a CA (usable as an issuer entry)".to_string(),
        Some("no_client_auth_usage") => "Not usable as a client certificate: its extended key usage excludes clientAuth".to_string(),
        Some("expired") => "Not usable: expired".to_string(),
        Some(other) => format!("Not usable now: {}", other.replace('_', " ")),
    };
    // One row shape for every plain fact keeps the view (and the wasm) small.
    let facts: Vec<(&'static str, String)> = vec![
        ("ID", c.id.clone()),
        ("x5t#S256", c.x5t_s256.clone()),
        ("SPKI SHA-256", c.spki_sha256.clone()),
        ("Subject", c.subject.clone()),
        ("Issuer", if c.self_issued { format!("{} (self-issued)", c.issuer) } else { c.issuer.clone() }),
        ("Serial", c.serial.clone()),
        ("Alternative names", sans),
        ("Valid from", c.not_before.clone()),
        ("Type", if c.kind == "ca" { "CA".into() } else { "Leaf".into() }),
        ("Key", c.key_algorithm.clone()),
        ("Extended key usage", eku),
        ("Added", c.added_at.clone()),
    ];
    let id = c.id.clone();
    let linked_items = c
        .organisations
        .clone()
        .into_iter()
        .map(|o| view! { <li><UnlinkForm id=id.clone() organisation_id=o.id organisation=o.name/></li> })
        .collect_view();
    let done = succeeded::<LinkCertificate>() || succeeded::<UnlinkCertificate>();
    let link_id = id.clone();
    view! {
        <h1 data-testid="certificate-title">{c.label.clone()}</h1>
        <section class="card">
            <dl class="facts">
                <dt>"Fingerprint (SHA-256)"</dt>
                <dd><code data-testid="detail-fingerprint">{c.fingerprint_sha256.clone()}</code> " " <CopyButton text=c.fingerprint_sha256.clone() label="Copy the fingerprint".to_string()/></dd>
                <dt>"Valid until"</dt>
                <dd>{c.not_after.clone()} " " <span class=validity_class(&c)>{validity_text(&c)}</span></dd>
                <dt>"Client authentication"</dt><dd data-testid="client-auth">{client_auth}</dd>
                {facts.into_iter().map(|(term, value)| view! { <dt>{term}</dt><dd>{value}</dd> }).collect_view()}
            </dl>
        </section>
        <section class="card">
            <h2>"Name in the portal"</h2>
            <p class="muted">"Only the portal uses this name; it is not written to the provider's certificate store."</p>
            <ActionForm action=rename attr:class="row-form" attr:aria-label="Rename">
                <input type="hidden" name="id" value=id.clone()/>
                <div class="field grow">
                    <label for="display-name">"Display name"</label>
                    <input id="display-name" name="display_name" value=c.display_name.clone().unwrap_or_default() maxlength="100"/>
                </div>
                <button type="submit" class="button primary">"Save name"</button>
            </ActionForm>
            <ActionError error=Signal::derive(move || rename.value().get().and_then(Result::err))/>
        </section>
        <section class="card">
            <h2>"Organisations"</h2>
            <p class="muted">
                "API products in managed mode give a linked organisation's apps every certificate linked here. When a link "
                "or an unlink changes live credentials, you see which before it is applied."
            </p>
            <ul class="plain-list" data-testid="linked-organisations">
                {linked_items}
            </ul>
            {(!unlinked.is_empty()).then(move || view! {
                <LinkOrganisationForm>
                    <input type="hidden" name="id" value=link_id/>
                    <div class="field grow">
                        <label for="link-org">"Link to organisation"</label>
                        <select id="link-org" name="organisation_id">
                            {unlinked.iter().map(|o| view! { <option value=o.id.clone()>{o.name.clone()}</option> }).collect_view()}
                        </select>
                    </div>
                </LinkOrganisationForm>
            })}
            {done.then(|| view! {
                <p class="alert success" role="status" data-testid="applied-change">"Done. The gateway enforces it from the next request."</p>
            })}
        </section>
        <section class="card">
            <h2>"PEM"</h2>
            <pre class="pem">{c.pem.clone()}</pre>
        </section>
    }
}

/// Island: unlinking one organisation. When live credentials change, what changes is shown in
/// place first and applied when confirmed; the page is then loaded again. The button waits for
/// hydration: posted without wasm, a change to confirm would be lost.
#[island]
fn UnlinkForm(id: String, organisation_id: String, organisation: String) -> impl IntoView {
    let unlink = ServerAction::<UnlinkCertificate>::new();
    let ready = crate::components::hydrated();
    let busy = move || !ready.get() || unlink.pending().get();
    let pending = Signal::derive(move || unlink.value().get().and_then(Result::ok).and_then(|p| p.pending()));
    let label = format!("Unlink {organisation}");
    let what = format!("unlink {organisation}");
    view! {
        <ActionForm action=unlink attr:class="stack">
            <div class="row-form">
                <span>{organisation}</span>
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="organisation_id" value=organisation_id/>
                <button type="submit" class="button secondary small" aria-label=label disabled=busy>"Unlink"</button>
            </div>
            <ConfirmChange pending what/>
        </ActionForm>
        <ActionError error=Signal::derive(move || unlink.value().get().and_then(Result::err))/>
    }
}

/// Island: linking an organisation (the choice is server-rendered children), previewed like
/// an unlink.
#[island]
fn LinkOrganisationForm(children: Children) -> impl IntoView {
    let link = ServerAction::<LinkCertificate>::new();
    let ready = crate::components::hydrated();
    let busy = move || !ready.get() || link.pending().get();
    let pending = Signal::derive(move || link.value().get().and_then(Result::ok).and_then(|p| p.pending()));
    view! {
        <ActionForm action=link attr:class="row-form" attr:aria-label="Link an organisation">
            {children()}
            <button type="submit" class="button primary" disabled=busy>"Link"</button>
            <ConfirmChange pending what="link the organisation".to_string()/>
        </ActionForm>
        <ActionError error=Signal::derive(move || link.value().get().and_then(Result::err))/>
    }
}

/// What uses the certificate: API entries, credentials and subscriptions.
/// When it last authenticated on each API: a certificate nobody uses can be removed.
#[component]
fn LastSeen(rows: Vec<LastSeenRow>) -> impl IntoView {
    view! {
        <section class="card" data-testid="last-seen">
            <h2>"Last used"</h2>
            {if rows.is_empty() {
                view! { <p class="muted">"Never used: it has not authenticated on any API since the gateway began recording."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr><th scope="col">"API"</th><th scope="col">"Last authenticated"</th><th scope="col">"Requests in the last 24 hours"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|r| view! {
                                <tr data-testid="last-seen-row">
                                    <td><a href=format!("/admin/apis/{}", r.api.id)>{r.api.name}</a></td>
                                    <td>{r.at}</td>
                                    <td>{r.requests_24h}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn UsedBy(usage: CertificateUses) -> impl IntoView {
    let nothing = usage.api_entries.is_empty() && usage.keys.is_empty() && usage.subscriptions.is_empty() && usage.credentials.is_empty();
    view! {
        <section class="card" data-testid="used-by">
            <h2>"Used by"</h2>
            {nothing.then(|| view! { <p class="muted">"Nothing uses this certificate now: no API lists it, and no credential works with it."</p> })}
            {(!usage.api_entries.is_empty()).then(|| view! {
                <h3>"API allow lists (your entries)"</h3>
                <ul class="plain-list" data-testid="used-by-apis">
                    {usage.api_entries.iter().map(|a| view! { <li><a href=format!("/admin/apis/{}", a.id)>{format!("API {}", a.name)}</a></li> }).collect_view()}
                </ul>
            })}
            {(!usage.credentials.is_empty() || !usage.keys.is_empty()).then(|| view! {
                <h3>"Credentials that work with it"</h3>
                <ul class="plain-list" data-testid="used-by-credentials">
                    {usage.credentials.iter().map(|c| {
                        let bound = if c.bound { "token bound to its certificates" } else { "not bound" };
                        view! {
                            <li>{format!("App {} of {} — product {} (APIs {}); {}, {}", c.app, c.organisation, c.product, c.apis.join(", "), c.status, bound)}</li>
                        }
                    }).collect_view()}
                    {usage.keys.iter().map(|k| view! { <li>{format!("Admin key {k} (bound to it)")}</li> }).collect_view()}
                </ul>
            })}
            {(!usage.subscriptions.is_empty()).then(|| view! {
                <h3>"Self-Serve subscriptions holding it"</h3>
                <ul class="plain-list" data-testid="used-by-subscriptions">
                    {usage.subscriptions.iter().map(|s| {
                        let retire = s.retire_by.as_ref().map(|at| format!("; replaced, works until {at}")).unwrap_or_default();
                        view! { <li>{format!("App {} of {} — product {}, plan {}{retire}", s.app, s.organisation, s.product, s.plan)}</li> }
                    }).collect_view()}
                </ul>
            })}
        </section>
    }
}
