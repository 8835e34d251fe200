//! Requesting access to one product for an app: a plan, and the certificate terms of the
//! product's mode. Self-Serve takes the certificate (pasted, or a PEM or DER file read in the
//! browser); a pasted private key is refused by the server and never shown back (a plain form
//! post: the page comes back without it, see `form_memory`). Managed lists the organisation's certificates the credential will use, and
//! refuses to submit while there are none. On an app's page the app is given (`app_id`); on a
//! product's page the consumer chooses one of `apps`.

use leptos::prelude::*;

use super::{binding_text, limits_text, mode_text, CertificateList};
use crate::api::portal::{PortalAppView, PortalCertificateView, PortalRequestAccess, ProductView};
use crate::components::{ActionError, FileIntoField};

#[component]
pub fn RequestForm(
    #[prop(optional, into)] app_id: Option<String>,
    #[prop(optional)] apps: Vec<PortalAppView>,
    product: ProductView,
    organisation_certificates: Vec<PortalCertificateView>,
) -> impl IntoView {
    // On the server: the error of the request just posted, if any.
    let request = ServerAction::<PortalRequestAccess>::new();
    let mode = product.certificate_mode.clone();
    let self_serve = mode.as_deref() == Some("self_serve");
    let managed = mode.as_deref() == Some("managed");
    let blocked = managed && organisation_certificates.is_empty();
    let name = product.name.clone();
    let key = product.id.clone();
    let plan_id = format!("plan-{key}");
    let (app_select, app_for) = (format!("app-{key}"), format!("app-{key}"));
    let no_app = app_id.is_none() && apps.is_empty();
    let blocked = blocked || no_app;
    let label = format!("Request access to {name}");
    let form_label = label.clone();
    let (article_id, product_attr, product_field) = (format!("request-{key}"), key.clone(), key.clone());
    let plan_for = plan_id.clone();
    view! {
        <article class="card" id=article_id data-testid="request-form" data-product=product_attr>
            <h3>{name.clone()}</h3>
            {(!product.description.is_empty()).then(|| view! { <p class="muted">{product.description.clone()}</p> })}
            {mode.is_some().then(|| view! { <p class="small">{mode_text(mode.as_deref())}</p> })}
            <ActionForm action=request attr:class="stack" attr:aria-label=form_label>
                {match app_id.clone() {
                    Some(id) => view! { <input type="hidden" name="app" value=id/> }.into_any(),
                    None if no_app => view! {
                        <p class="alert">"Create an app first in " <a href="/portal/apps">"Apps"</a> ": access is requested for an app."</p>
                    }.into_any(),
                    None => view! {
                        <div class="field">
                            <label for=app_for.clone()>"App"</label>
                            <select id=app_select.clone() name="app">
                                {apps.iter().map(|a| view! { <option value=a.id.clone()>{a.name.clone()}</option> }).collect_view()}
                            </select>
                        </div>
                    }.into_any(),
                }}
                <input type="hidden" name="product" value=product_field.clone()/>
                <div class="field">
                    <label for=plan_for.clone()>"Plan"</label>
                    <select id=plan_id.clone() name="plan">
                        {product.plans.iter().map(|p| {
                            let approval = if p.auto_approve { "approved at once" } else { "approved by the API provider" };
                            view! { <option value=p.id.clone()>{format!("{}: {} ({approval})", p.name, limits_text(p))}</option> }
                        }).collect_view()}
                    </select>
                </div>
                {self_serve.then(|| view! {
                    <CertificateField key=key.clone() label="Your client certificate (PEM)"/>
                })}
                {managed.then(|| if blocked {
                    view! {
                        <p class="alert error" data-testid="no-organisation-certificate">
                            "Your organisation has no client certificate yet, so this product cannot be requested. "
                            "Ask the API provider's administrator to link a certificate to your organisation."
                        </p>
                    }.into_any()
                } else {
                    view! {
                        <p>"The credential will use these certificates of your organisation:"</p>
                        <CertificateList certificates=organisation_certificates.clone() testid="managed-certificates"/>
                        <p class="muted small">{binding_text(product.certificate_binding)}</p>
                    }.into_any()
                })}
                <ActionError error=Signal::derive(move || request.value().get().and_then(Result::err))/>
                <div>
                    <button type="submit" class="button primary" aria-label=label.clone() disabled=blocked>"Request access"</button>
                </div>
            </ActionForm>
        </article>
    }
}

/// A certificate by paste, or from a PEM or DER file read in the browser into the same field
/// (DER is sent as PEM). The server checks it; nothing is stored before that.
#[component]
pub fn CertificateField(#[prop(into)] key: String, label: &'static str) -> impl IntoView {
    let (pem_id, file_id) = (format!("certificate-{key}"), format!("certificate-file-{key}"));
    let (pem_for, target) = (pem_id.clone(), pem_id.clone());
    view! {
        <div class="field">
            <label for=pem_for>{label}</label>
            <textarea
                id=pem_id
                name="certificate"
                rows="6"
                spellcheck="false"
                autocomplete="off"
                placeholder="-----BEGIN CERTIFICATE-----"
                required
            ></textarea>
            <p class="muted small">"Only the certificate: never paste its private key. It is checked before anything is stored."</p>
        </div>
        <FileIntoField id=file_id target label="…or choose a file (PEM or DER)"/>
    }
}
