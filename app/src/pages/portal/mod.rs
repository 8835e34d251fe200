//! The developer portal (API consumers): home, catalogue, apps and their credentials.
//!
//! Every page reads through the `portal_*` server functions, which act as the signed-in
//! consumer's organisation only. The routes render with `SsrMode::Async`: the whole page (and
//! its status, 404 for another organisation's app) is ready before the first byte is sent, so
//! it reads without wasm. Its forms are plain HTML forms; only the token forms (the token is
//! shown once, in place) are an island that waits for the wasm.

mod app_detail;
mod apps;
mod catalogue;
mod credential;
mod home;
mod request_form;

pub use app_detail::PortalAppPage;
pub use apps::PortalAppsPage;
pub use catalogue::{PortalProductPage, PortalProductsPage};
pub use home::PortalHomePage;

use leptos::prelude::*;

use crate::api::portal::{PlanView, PortalCertificateView};
use crate::error::AppError;

/// The certificate mode in plain words (the seed's two modes).
pub fn mode_text(mode: Option<&str>) -> &'static str {
    match mode {
        Some("managed") => {
            "Managed: your organisation's certificates are used. The API provider's administrator links them to your \
             organisation; you upload nothing, and new certificates linked later are used too."
        }
        Some("self_serve") => {
            "Self-Serve: you upload a certificate with your request. Once approved, it is the certificate your app \
             presents to the gateway; you can replace it later (renewal)."
        }
        _ => "Certificate modes do not apply to this product.",
    }
}

/// Certificate-token binding in plain words.
pub fn binding_text(binding: bool) -> &'static str {
    if binding {
        "Binding is on: your token works only together with these certificates. The same token sent with any other \
         certificate is refused, so a leaked token is useless without your certificate and key."
    } else {
        "Binding is off: your token works with any certificate the API accepts."
    }
}

/// How to authenticate against a product's APIs.
pub fn auth_text(authentication: &str) -> &'static str {
    match authentication {
        "auth_token_mtls" => {
            "Mutual TLS plus an Auth Token: present your client certificate (and its private key) in the TLS handshake, \
             and send your token as the header Authorization: Bearer <token>."
        }
        "jwt" => {
            "JWT: send a JSON Web Token from the API provider's identity provider as Authorization: Bearer <jwt>. \
             The client-certificate allow list of these APIs is managed by the API provider, so the Managed and \
             Self-Serve certificate modes do not apply."
        }
        _ => "Auth Token: send your token as the header Authorization: Bearer <token>.",
    }
}

/// A plan's limits as one line.
pub fn limits_text(plan: &PlanView) -> String {
    let mut parts = vec![
        plan.rate.clone().unwrap_or_else(|| "no rate limit".to_string()),
        plan.quota.clone().map(|q| format!("quota {q}")).unwrap_or_else(|| "no quota".to_string()),
    ];
    parts.push(plan.token_lifetime.as_deref().map(|t| t.replacen("Tokens", "tokens", 1)).unwrap_or_else(|| "tokens do not expire".to_string()));
    parts.join(" · ")
}

/// The error of a page's data: another organisation's (or a missing) object is the not-found
/// page with status 404; anything else an alert.
#[component]
pub fn LoadError(error: AppError) -> impl IntoView {
    if error.code == "not_found" {
        #[cfg(feature = "ssr")]
        crate::ssr::set_response_status(404);
        return view! {
            <section class="card narrow" data-testid="not-found">
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address for your organisation. " <a href="/portal/apps">"Go to your apps"</a> "."</p>
            </section>
        }
        .into_any();
    }
    view! { <p class="alert error" role="alert" data-code=error.code.clone()>{error.message}</p> }.into_any()
}

/// A table of certificates with their expiry.
#[component]
pub fn CertificateList(certificates: Vec<PortalCertificateView>, #[prop(into)] testid: String) -> impl IntoView {
    view! {
        <ul class="plain-list" data-testid=testid>
            {certificates.into_iter().map(|c| {
                let badge = if !c.usable || c.days_left < 0 {
                    "badge bad"
                } else if c.days_left <= 30 {
                    "badge warn"
                } else {
                    "badge ok"
                };
                let state = if c.days_left < 0 {
                    format!("expired {} day(s) ago", -c.days_left)
                } else if !c.usable {
                    "not usable now".to_string()
                } else {
                    format!("{} day(s) left", c.days_left)
                };
                view! {
                    <li data-testid="certificate" data-id=c.id.clone()>
                        <strong>{c.label}</strong> " " <code title=c.id.clone()>{c.fingerprint_short}"…"</code>
                        " · valid until " {c.not_after} " " <span class=badge>{state}</span>
                        {c.retire_by.map(|at| view! { <span class="muted">" · replaced: stops working at " {at}</span> })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

