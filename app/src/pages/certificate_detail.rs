//! Admin: one certificate — every parsed field, its portal name and organisation links.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::certificates::{get_certificate, CertificateView, LinkCertificate, RenameCertificate, UnlinkCertificate};
use crate::api::{list_organisations, OrganisationView};
use crate::components::ActionError;
use crate::pages::certificates::{validity_class, validity_text, CopyButton};

#[component]
pub fn CertificateDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let rename = ServerAction::<RenameCertificate>::new();
    let link = ServerAction::<LinkCertificate>::new();
    let unlink = ServerAction::<UnlinkCertificate>::new();
    let certificate = Resource::new(
        move || (id(), rename.version().get(), link.version().get(), unlink.version().get()),
        |(id, ..)| get_certificate(id),
    );
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
    let linked_items = c
        .organisations
        .clone()
        .into_iter()
        .map(|o| {
            let id = id.clone();
            view! {
                <li>
                    <ActionForm action=unlink attr:class="row-form">
                        <span>{o.name}</span>
                        <input type="hidden" name="id" value=id/>
                        <input type="hidden" name="organisation_id" value=o.id/>
                        <button type="submit" class="button secondary small">"Unlink"</button>
                    </ActionForm>
                </li>
            }
        })
        .collect_view();
    let link_id = id.clone();
    view! {
        <h1 data-testid="certificate-title">{c.label.clone()}</h1>
        <section class="card">
            <dl class="facts">
                <dt>"Fingerprint (SHA-256)"</dt>
                <dd><code data-testid="detail-fingerprint">{c.fingerprint_sha256.clone()}</code> " " <CopyButton text=c.fingerprint_sha256.clone()/></dd>
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
            <p class="muted">"API products in managed mode give a linked organisation's apps every certificate linked here."</p>
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
                </ActionForm>
            })}
            <ActionError error=Signal::derive(move || link.value().get().and_then(Result::err))/>
        </section>
        <section class="card">
            <h2>"PEM"</h2>
            <pre class="pem">{c.pem.clone()}</pre>
        </section>
    }
}
