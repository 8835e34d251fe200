//! One subscription of an app: its plan and limits, its APIs with their gateway addresses, the
//! certificates its credential works with, and the credential's token actions (create once,
//! rotate with an overlap, revoke), each destructive one behind a confirmation.

use leptos::prelude::*;

use super::home::request_text;
use super::{binding_text, limits_text, mode_text, CertificateList};
use crate::components::{hydrated, ActionError, CopyButton};
use crate::api::portal::{
    NewTokenView, PortalChangePlan, PortalCreateToken, PortalRequestView, PortalRevokeCredential, PortalRotateToken,
    PortalCertificateView, PortalRenewCertificate, PortalRetireCertificate, PortalSubscriptionView, PortalWithdrawRequest,
};
use super::request_form::CertificateField;
use crate::error::AppError;

fn status_badge(status: &str) -> (&'static str, &'static str) {
    match status {
        "active" => ("badge ok", "Active"),
        "rotating" => ("badge ok", "Active (previous token still works)"),
        "no_token" => ("badge warn", "Approved: create the token"),
        "expired" => ("badge bad", "Token expired: rotate to get a new one"),
        _ => ("badge bad", "Revoked"),
    }
}

#[component]
pub fn SubscriptionCard(s: PortalSubscriptionView) -> impl IntoView {
    let product = s.product_name.clone();
    let first_url = s.apis.first().map(|a| a.gateway_url.clone()).unwrap_or_default();
    let is_jwt = s.authentication == "jwt";
    let mtls = s.authentication == "auth_token_mtls";
    let has_change_pending = s.pending.iter().any(|p| p.kind == "change_plan");
    let has_renewal_pending = s.pending.iter().any(|p| p.kind == "renew");
    let self_serve = s.certificate_mode.as_deref() == Some("self_serve");
    let apis = s
        .apis
        .iter()
        .cloned()
        .map(|a| {
            let label = format!("Copy the gateway address of {}", a.name);
            view! {
                <li>
                    <strong>{a.name}</strong> " " <code data-testid="gateway-url">{a.gateway_url.clone()}</code> " "
                    <CopyButton text=a.gateway_url label/>
                </li>
            }
        })
        .collect_view();
    let certificates_text = match s.certificate_mode.as_deref() {
        Some("managed") => "Your organisation's certificates (linked by the API provider's administrator):",
        Some("self_serve") => "The certificate you uploaded with the request:",
        _ => "",
    };
    let no_certificate = mtls && s.certificates.is_empty();
    view! {
        <article class="card" data-testid="subscription" data-product=s.product_id.clone()>
            <h3><a href=format!("/portal/products/{}", s.product_id)>{product.clone()}</a></h3>
            <p>"Plan " <strong data-testid="plan-name">{s.plan.name.clone()}</strong> ": " <span data-testid="plan-limits">{limits_text(&s.plan)}</span></p>
            {s.quota_used.clone().map(|q| view! { <p class="muted small" data-testid="quota-used">"Quota: " {q} "."</p> })}
            {s.pending.into_iter().map(|p| view! { <PendingChange p/> }).collect_view()}
            <h4>"APIs"</h4>
            <ul class="plain-list" data-testid="subscription-apis">{apis}</ul>
            {mtls.then(|| view! {
                <h4>"Certificates"</h4>
                <p class="muted small">{mode_text(s.certificate_mode.as_deref())}</p>
                <p>{certificates_text}</p>
                <CertificateList certificates=s.certificates.clone() testid="credential-certificates"/>
                {no_certificate.then(|| view! {
                    <p class="alert error">"There is no usable certificate: this credential is refused until the API provider's administrator links one to your organisation."</p>
                })}
                <p class="muted small">{binding_text(s.certificate_binding)}</p>
            })}
            {self_serve.then(|| view! {
                <Renewal subscription=s.id.clone() product=product.clone() certificates=s.certificates.clone() pending=has_renewal_pending/>
            })}
            <h4>"Credential"</h4>
            {match (is_jwt, s.credential.clone()) {
                (true, _) => view! {
                    <p>"This product's APIs take JWTs from the API provider's identity provider: no token is made here."</p>
                }.into_any(),
                (false, None) => view! { <p class="muted">"No credential."</p> }.into_any(),
                (false, Some(c)) => view! {
                    <Credential c product=product.clone() url=first_url mtls/>
                }.into_any(),
            }}
            {(!s.other_plans.is_empty() && !has_change_pending).then(|| view! {
                <ChangePlan subscription=s.id.clone() product=product.clone() plans=s.other_plans.clone()/>
            })}
        </article>
    }
}

#[component]
fn PendingChange(p: PortalRequestView) -> impl IntoView {
    let withdraw = ServerAction::<PortalWithdrawRequest>::new();
    let label = format!("Withdraw: {}", request_text(&p));
    view! {
        <ActionForm action=withdraw attr:class="row-form">
            <span class="badge warn">"Pending"</span>
            <span>{request_text(&p)}</span>
            <input type="hidden" name="id" value=p.id/>
            <button type="submit" class="button secondary small" aria-label=label>"Withdraw"</button>
        </ActionForm>
        <ActionError error=Signal::derive(move || withdraw.value().get().and_then(Result::err))/>
    }
}

#[component]
fn Credential(c: crate::api::portal::PortalCredentialView, product: String, url: String, mtls: bool) -> impl IntoView {
    let revoked = c.status == "revoked";
    view! {
        <TokenForms
            credential=c.id.clone()
            status=c.status.clone()
            token_expires_at=c.token_expires_at.clone()
            previous_token_until=c.previous_token_until.clone()
            product=product.clone()
            url
            mtls
        />
        {(!revoked).then(|| view! { <Revoke id=c.id.clone() product=product.clone()/> })}
    }
}

/// Island: the credential's state, and creating and rotating its token. The token comes back in
/// the answer and is shown in place, this once; the state and the forms follow it. Posted
/// without wasm it would be lost (the server refuses such a post), so the buttons wait for
/// hydration, and for the answer of the last click. Hiding the token loads the page again.
#[island]
fn TokenForms(
    credential: String,
    status: String,
    token_expires_at: Option<String>,
    previous_token_until: Option<String>,
    product: String,
    url: String,
    mtls: bool,
) -> impl IntoView {
    let create = ServerAction::<PortalCreateToken>::new();
    let rotate = ServerAction::<PortalRotateToken>::new();
    let ready = hydrated();
    let busy = move || !ready.get() || create.pending().get() || rotate.pending().get();
    // The last token made here, apart from the actions' answers: a later refusal must not take
    // it off the page before the consumer has copied it.
    let token = RwSignal::new(None::<NewTokenView>);
    let error = RwSignal::new(None::<AppError>);
    keep_answers(create, token, error);
    keep_answers(rotate, token, error);
    // After a new token: active, or rotating while the previous one still works.
    let state = move || match token.get() {
        Some(t) => ((if t.previous_token_until.is_some() { "rotating" } else { "active" }).to_string(), None, t.previous_token_until),
        None => (status.clone(), token_expires_at.clone(), previous_token_until.clone()),
    };
    let state = Memo::new(move |_| state());
    let curl_cert = if mtls { "--cert client.crt --key client.key " } else { "" };
    let create_label = StoredValue::new(format!("Create token for {product}"));
    let rotate_label = StoredValue::new(format!("Rotate token for {product}"));
    let overlap_id = StoredValue::new(format!("overlap-{credential}"));
    let rotate_confirm_id = StoredValue::new(format!("rotate-confirm-{credential}"));
    let credential = StoredValue::new(credential);
    view! {
        {move || {
            let (status, expires, previous) = state.get();
            let (badge, label) = status_badge(&status);
            view! {
                <p>
                    <span class=badge data-testid="credential-status" data-status=status>{label}</span>
                    {expires.map(|t| view! { <span class="muted">" · token valid until " {t}</span> })}
                    {previous.map(|t| view! { <span class="muted">" · previous token works until " {t}</span> })}
                </p>
            }
        }}
        {move || token.get().map(|t: NewTokenView| {
            let curl = format!("curl {curl_cert}-H \"Authorization: Bearer {}\" {url}", t.token);
            view! {
                <div class="alert success" role="status" data-testid="new-token">
                    <p><strong>"Your token, shown this once."</strong> " Copy it now: certgate keeps only a hash of it and cannot show it again."</p>
                    <p><code data-testid="token">{t.token.clone()}</code> " " <CopyButton text=t.token.clone() label="Copy the token".to_string()/></p>
                    {t.previous_token_until.clone().map(|u| view! { <p>"The previous token keeps working until " {u} "."</p> })}
                    <p>"Call the API:"</p>
                    <pre class="pem" data-testid="curl">{curl.clone()}</pre>
                    <CopyButton text=curl label="Copy the curl command".to_string()/>
                    {mtls.then(|| view! {
                        <p class="muted small">
                            "client.crt and client.key are your certificate and its private key. If the gateway's certificate is "
                            "not from a public CA, add --cacert with the CA file the API provider gives you."
                        </p>
                    })}
                    " "
                    <button type="button" class="button secondary small" on:click=move |_| crate::browser::reload()>"I saved it: hide the token"</button>
                </div>
            }
        })}
        {move || error.get().map(|e| view! { <p class="alert error" role="alert" data-code=e.code.clone()>{e.message}</p> })}
        {move || (state.get().0 == "no_token").then(|| view! {
            <ActionForm action=create attr:class="row-form">
                <input type="hidden" name="credential" value=credential.get_value()/>
                <button type="submit" class="button primary" aria-label=create_label.get_value() disabled=busy>"Create token"</button>
            </ActionForm>
        })}
        {move || matches!(state.get().0.as_str(), "active" | "rotating" | "expired").then(|| view! {
            <details>
                <summary>"Rotate the token…"</summary>
                <ActionForm action=rotate attr:class="stack" attr:aria-label=rotate_label.get_value()>
                    <input type="hidden" name="credential" value=credential.get_value()/>
                    <div class="field">
                        <label for=overlap_id.get_value()>"Keep the current token working for (minutes, 0 to 1440)"</label>
                        <input id=overlap_id.get_value() type="number" name="overlap_minutes" min="0" max="1440" value="60" required/>
                    </div>
                    <label class="check" for=rotate_confirm_id.get_value()>
                        <input id=rotate_confirm_id.get_value() type="checkbox" name="confirm" value="yes" required/>
                        " I understand: after the overlap, the current token is refused."
                    </label>
                    <button type="submit" class="button primary" aria-label=rotate_label.get_value() disabled=busy>"Rotate token"</button>
                </ActionForm>
            </details>
        })}
    }
}

/// Copies each answer of `action` into `token` (a new one) or `error` (a refusal), so that
/// either token action's answer is shown until the page is loaded again.
fn keep_answers<S>(action: ServerAction<S>, token: RwSignal<Option<NewTokenView>>, error: RwSignal<Option<AppError>>)
where
    S: leptos::server_fn::ServerFn<Output = NewTokenView, Error = AppError> + Clone + Send + Sync + 'static,
{
    Effect::new(move |_| match action.value().get() {
        Some(Ok(t)) => {
            token.set(Some(t));
            error.set(None);
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
}

#[component]
fn Revoke(id: String, product: String) -> impl IntoView {
    let revoke = ServerAction::<PortalRevokeCredential>::new();
    let label = format!("Revoke credential for {product}");
    let confirm_id = format!("revoke-confirm-{id}");
    let (form_label, confirm_for) = (label.clone(), confirm_id.clone());
    view! {
        <details>
            <summary>"Revoke the credential…"</summary>
            <ActionForm action=revoke attr:class="stack" attr:aria-label=form_label>
                <input type="hidden" name="credential" value=id.clone()/>
                <label class="check" for=confirm_for.clone()>
                    <input id=confirm_id.clone() type="checkbox" name="confirm" value="yes" required/>
                    " I understand: its tokens are refused from the next request, and this cannot be undone."
                </label>
                <button type="submit" class="button danger" aria-label=label.clone()>"Revoke credential"</button>
            </ActionForm>
            <ActionError error=Signal::derive(move || revoke.value().get().and_then(Result::err))/>
        </details>
    }
}

#[component]
fn ChangePlan(subscription: String, product: String, plans: Vec<crate::api::portal::PlanView>) -> impl IntoView {
    let change = ServerAction::<PortalChangePlan>::new();
    let label = format!("Ask to change plan for {product}");
    let select_id = format!("plan-{subscription}");
    let (form_label, select_for) = (label.clone(), select_id.clone());
    view! {
        <details>
            <summary>"Change plan…"</summary>
            <ActionForm action=change attr:class="row-form" attr:aria-label=form_label>
                <input type="hidden" name="subscription" value=subscription.clone()/>
                <div class="field grow">
                    <label for=select_for.clone()>"New plan"</label>
                    <select id=select_id.clone() name="plan">
                        {plans.iter().map(|p| view! { <option value=p.id.clone()>{format!("{}: {}", p.name, limits_text(p))}</option> }).collect_view()}
                    </select>
                </div>
                <button type="submit" class="button secondary" aria-label=label.clone()>"Ask to change plan"</button>
            </ActionForm>
            <p class="muted small">"The API provider approves the change (at once for plans that approve automatically). Rate and quota keep counting."</p>
            <ActionError error=Signal::derive(move || change.value().get().and_then(Result::err))/>
        </details>
    }
}

/// Self-Serve: submit a replacement certificate (approved like a request); after approval both
/// work until the replaced one is retired, here or automatically after 30 days.
#[component]
fn Renewal(subscription: String, product: String, certificates: Vec<PortalCertificateView>, pending: bool) -> impl IntoView {
    let renew = ServerAction::<PortalRenewCertificate>::new();
    let label = format!("Submit a replacement certificate for {product}");
    let (form_label, renew_subscription) = (label.clone(), subscription.clone());
    let replaced: Vec<PortalCertificateView> = certificates.into_iter().filter(|c| c.retire_by.is_some()).collect();
    view! {
        {replaced.into_iter().map(|c| view! { <Retire subscription=subscription.clone() product=product.clone() c/> }).collect_view()}
        {(!pending).then(|| view! {
            <details>
                <summary>"Replace the certificate…"</summary>
                <ActionForm action=renew attr:class="stack" attr:aria-label=form_label>
                    <input type="hidden" name="subscription" value=renew_subscription.clone()/>
                    <CertificateField key=format!("renew-{renew_subscription}") label="Replacement certificate (PEM)"/>
                    <p class="muted small">"After the API provider approves it, both certificates work until you retire the old one (at most 30 days)."</p>
                    <ActionError error=Signal::derive(move || renew.value().get().and_then(Result::err))/>
                    <div><button type="submit" class="button secondary" aria-label=label.clone()>"Submit replacement"</button></div>
                </ActionForm>
            </details>
        })}
    }
}

#[component]
fn Retire(subscription: String, product: String, c: PortalCertificateView) -> impl IntoView {
    let retire = ServerAction::<PortalRetireCertificate>::new();
    let label = format!("Retire certificate {} of {product}", c.label);
    let confirm_id = format!("retire-confirm-{}-{}", subscription, c.id);
    let (form_label, confirm_for) = (label.clone(), confirm_id.clone());
    view! {
        <ActionForm action=retire attr:class="row-form" attr:aria-label=form_label>
            <span>{format!("Replaced: {} (stops working at {})", c.label, c.retire_by.clone().unwrap_or_default())}</span>
            <input type="hidden" name="subscription" value=subscription.clone()/>
            <input type="hidden" name="certificate" value=c.id.clone()/>
            <label class="check" for=confirm_for.clone()>
                <input id=confirm_id.clone() type="checkbox" name="confirm" value="yes" required/>
                " Your app uses the new certificate"
            </label>
            <button type="submit" class="button secondary small" aria-label=label.clone()>"Retire now"</button>
        </ActionForm>
        <ActionError error=Signal::derive(move || retire.value().get().and_then(Result::err))/>
    }
}
