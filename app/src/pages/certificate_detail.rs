//! Admin: one certificate — every parsed field, its portal name and organisation links.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::certificates::{get_certificate, CertificateView, LinkCertificate, RenameCertificate, UnlinkCertificate};
use crate::api::changes::Previewed;
use crate::api::usage::{certificate_usage, CertificateUses, LastSeenRow};
use crate::api::{list_organisations, OrganisationView};
use crate::components::ActionError;
use crate::pages::change_preview::{ChangeList, ConfirmChange};
use crate::components::CopyButton;
use crate::pages::certificates::{validity_class, validity_text};

#[component]
pub fn CertificateDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let rename = ServerAction::<RenameCertificate>::new();
    let link = ServerAction::<LinkCertificate>::new();
    let unlink = ServerAction::<UnlinkCertificate>::new();
    // A link or unlink that was only previewed changes nothing: reload after applied ones, so
    // the form keeps the organisation chosen for the confirmation.
    let applied = RwSignal::new(0usize);
    Effect::new(move |_| {
        let done = |v: Option<Result<Previewed<CertificateView>, crate::error::AppError>>| matches!(v, Some(Ok(p)) if p.applied);
        if done(link.value().get()) || done(unlink.value().get()) {
            applied.update(|n| *n += 1);
        }
    });
    let certificate = Resource::new(move || (id(), rename.version().get(), applied.get()), |(id, ..)| get_certificate(id));
    let usage = Resource::new(move || (id(), applied.get()), |(id, _)| certificate_usage(id));
    let organisations = Resource::new(|| (), |_| list_organisations());
    view! {
        <Title text="Certificate · certgate"/>
        <p><a href="/admin/certificates">"← All certificates"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (certificate.await, organisations.await) {
                    (Ok(c), Ok(orgs)) => view! { <Detail c orgs rename link unlink/> }.into_any(),
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
    link: ServerAction<LinkCertificate>,
    unlink: ServerAction<UnlinkCertificate>,
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
    let pending_unlink = Signal::derive(move || unlink.value().get().and_then(Result::ok).and_then(|p| p.pending()));
    let linked_items = c
        .organisations
        .clone()
        .into_iter()
        .map(|o| {
            let id = id.clone();
            let label = format!("Unlink {}", o.name);
            let what = format!("unlink {}", o.name);
            view! {
                <li>
                    <ActionForm action=unlink attr:class="stack">
                        <div class="row-form">
                            <span>{o.name}</span>
                            <input type="hidden" name="id" value=id/>
                            <input type="hidden" name="organisation_id" value=o.id.clone()/>
                            <button type="submit" class="button secondary small" aria-label=label>"Unlink"</button>
                        </div>
                        <ConfirmChange pending=pending_unlink target=o.id what/>
                    </ActionForm>
                </li>
            }
        })
        .collect_view();
    let pending_link = Signal::derive(move || link.value().get().and_then(Result::ok).and_then(|p| p.pending()));
    let done = move || {
        [link.value().get(), unlink.value().get()].into_iter().flatten().filter_map(Result::ok).find(|p| p.applied && !p.change.is_empty()).map(|p| {
            view! {
                <div class="alert success" role="status" data-testid="applied-change">
                    <p>"Done. The gateway enforces it from the next request:"</p>
                    <ChangeList change=p.change/>
                </div>
            }
        })
    };
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
                <ActionForm action=link attr:class="row-form" attr:aria-label="Link an organisation">
                    <input type="hidden" name="id" value=link_id/>
                    <div class="field grow">
                        <label for="link-org">"Link to organisation"</label>
                        <select id="link-org" name="organisation_id">
                            {unlinked.iter().map(|o| view! { <option value=o.id.clone()>{o.name.clone()}</option> }).collect_view()}
                        </select>
                    </div>
                    <button type="submit" class="button primary">"Link"</button>
                    <ConfirmChange pending=pending_link what="link the organisation".to_string()/>
                </ActionForm>
            })}
            {done}
            <ActionError error=Signal::derive(move || link.value().get().and_then(Result::err))/>
            <ActionError error=Signal::derive(move || unlink.value().get().and_then(Result::err))/>
        </section>
        <section class="card">
            <h2>"PEM"</h2>
            <pre class="pem">{c.pem.clone()}</pre>
        </section>
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
