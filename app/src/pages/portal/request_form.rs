//! Requesting access to one product for an app: a plan, and the certificate terms of the
//! product's mode. Self-Serve takes the certificate (pasted, or a PEM or DER file read in the
//! browser); a pasted private key is refused by the server and cleared from the form, never
//! shown back. Managed lists the organisation's certificates the credential will use, and
//! refuses to submit while there are none. On an app's page the app is given (`app_id`); on a
//! product's page the consumer chooses one of `apps`.

use leptos::prelude::*;

use super::{binding_text, limits_text, mode_text, refresh_after, CertificateList};
use crate::api::portal::{PortalAppView, PortalCertificateView, PortalRequestAccess, ProductView};
use crate::browser::OwnedText;
use crate::components::ActionError;

#[component]
pub fn RequestForm(
    #[prop(optional, into)] app_id: Option<String>,
    #[prop(optional)] apps: Vec<PortalAppView>,
    product: ProductView,
    organisation_certificates: Vec<PortalCertificateView>,
    refresh: RwSignal<usize>,
) -> impl IntoView {
    let request = ServerAction::<PortalRequestAccess>::new();
    refresh_after(request, refresh);
    let pem = OwnedText::new();
    clear_refused_key(request, pem);
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
                    <CertificateField key=key.clone() pem label="Your client certificate (PEM)"/>
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
                {move || request.value().get().and_then(Result::ok).map(|r| {
                    let text = if r.state == "approved" { "Approved: the credential is on the app's page." } else { "Requested: the API provider reviews it; the app's page shows its state." };
                    view! { <p class="alert success" role="status">{text} " " <a href=format!("/portal/apps/{}", r.app_id)>{format!("Open {}", r.app_name)}</a></p> }
                })}
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
pub fn CertificateField(#[prop(into)] key: String, pem: OwnedText, label: &'static str) -> impl IntoView {
    let (pem_id, file_id) = (format!("certificate-{key}"), format!("certificate-file-{key}"));
    let (pem_for, file_for) = (pem_id.clone(), file_id.clone());
    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use web_sys::wasm_bindgen::JsCast;
            if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                leptos::task::spawn_local(async move {
                    if let Some(text) = crate::browser::read_certificate_file(input).await {
                        pem.set(&text);
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
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
                node_ref=pem.0
                required
            ></textarea>
            <p class="muted small">"Only the certificate: never paste its private key. It is checked before anything is stored."</p>
        </div>
        <div class="field">
            <label for=file_for>"…or choose a file (PEM or DER)"</label>
            <input id=file_id type="file" accept=".pem,.crt,.cer,.der" on:change=on_file/>
        </div>
    }
}

/// A refused private key leaves the page: the field is emptied, and the message never quotes it.
pub fn clear_refused_key<S>(action: ServerAction<S>, pem: OwnedText)
where
    S: leptos::server_fn::ServerFn<Error = crate::error::AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if action.value().with(|v| matches!(v, Some(Err(e)) if e.code == "private_key_not_certificate")) {
            pem.set("");
        }
    });
}
