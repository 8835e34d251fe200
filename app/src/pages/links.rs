//! The pages an invite or password-reset link opens: `/invite#token=…` and `/reset-password#token=…`.
//!
//! The token is in the URL's fragment, which the browser never sends: the page reads it after
//! hydration, drops it from the address bar and the history, and sends it with the new password
//! to `redeem_link`. Without wasm the page cannot see the token and says so.

use leptos::form::FromFormData;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::Deserialize;

use crate::components::{ActionError, PasswordField};
use crate::error::AppError;

/// Redeems an invite (`kind` "invite") or a password-reset link (`kind` "reset"): sets the
/// password and signs in, as `POST /api/v1/invites/redeem` does. Answers where to go next.
#[server(prefix = "/fn", endpoint = "redeem_link")]
pub async fn redeem_link(kind: String, token: String, password: String, confirm_password: String) -> Result<String, AppError> {
    use crate::ssr;
    use certgate_services::account_links::{redeem_and_sign_in, LinkKind};
    use certgate_services::accounts::Role;
    use http::header::{HeaderValue, CACHE_CONTROL};
    // Nothing in the answer may be kept by a cache, error or not.
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.insert_header(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let kind = match kind.as_str() {
        "invite" => LinkKind::Invite,
        "reset" => LinkKind::Reset,
        _ => {
            ssr::set_status(400);
            return Err(AppError::new("invalid_kind", "The link is an invite or a password reset."));
        }
    };
    if password != confirm_password {
        ssr::set_status(400);
        return Err(AppError::new("passwords_differ", "The password and its confirmation differ."));
    }
    let auth = ssr::request_auth();
    let services = ssr::services()?;
    // Throttled per client address inside the service, like the REST route.
    let old = auth.session.as_ref().map(|s| s.session_hash.as_str());
    let redeemed = redeem_and_sign_in(&services.accounts, &services.sessions, kind, &token, &password, &auth.client_address, old)
        .await
        .map_err(ssr::service_error)?;
    ssr::set_session_cookie(&redeemed.session_secret, &auth);
    Ok(if redeemed.user.role == Role::Admin { "/admin" } else { "/" }.to_string())
}

/// What the page knows of its link: nothing before hydration, then the token or its absence.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Link {
    /// Server-rendered, or wasm not (yet) running.
    Unread,
    Missing,
    Token(String),
}

/// The form's fields, read in the browser to compare the passwords before sending them.
#[derive(Deserialize)]
struct Fields {
    password: String,
    confirm_password: String,
}

/// Takes the token out of `#token=…` and replaces the address without the fragment, so the
/// secret stays neither in the address bar nor in the history.
#[cfg(feature = "hydrate")]
fn take_token() -> Option<String> {
    let location = window().location();
    let hash = location.hash().ok()?;
    let token = hash.strip_prefix('#')?.split('&').find_map(|p| p.strip_prefix("token="))?.to_string();
    let clean = format!("{}{}", location.pathname().unwrap_or_default(), location.search().unwrap_or_default());
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&leptos::wasm_bindgen::JsValue::NULL, "", Some(&clean));
    }
    Some(token).filter(|t| !t.is_empty())
}

#[cfg(not(feature = "hydrate"))]
fn take_token() -> Option<String> {
    None
}

#[component]
pub fn InvitePage() -> impl IntoView {
    view! { <LinkPage kind="invite" title="Choose your password" intro="Welcome to certgate. Choose the password you will sign in with."/> }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    view! { <LinkPage kind="reset" title="Choose a new password" intro="Your new password replaces the old one and signs you out everywhere else."/> }
}

#[component]
fn LinkPage(kind: &'static str, title: &'static str, intro: &'static str) -> impl IntoView {
    view! {
        <Title text=format!("{title} · certgate")/>
        <RedeemLinkForm kind title intro/>
    }
}

/// Island: the whole form. The token is read from the address in the browser, so nothing of
/// it is rendered by the server.
#[island]
fn RedeemLinkForm(#[prop(into)] kind: String, #[prop(into)] title: String, #[prop(into)] intro: String) -> impl IntoView {
    let link = RwSignal::new(Link::Unread);
    // Effects run only in the browser, after hydration: the server-rendered HTML and the first
    // client render agree (Unread), then the token is read.
    Effect::new(move |_| {
        if link.get_untracked() == Link::Unread {
            link.set(take_token().map_or(Link::Missing, Link::Token));
        }
    });
    let redeem = ServerAction::<RedeemLink>::new();
    let differ = RwSignal::new(false);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Link::Token(token) = link.get_untracked() else { return };
        let Ok(fields) = Fields::from_event(&ev) else { return };
        differ.set(fields.password != fields.confirm_password);
        if differ.get_untracked() {
            return;
        }
        redeem.dispatch(RedeemLink { kind: kind.clone(), token, password: fields.password, confirm_password: fields.confirm_password });
    };
    let home = move || match redeem.value().get() {
        Some(Ok(home)) => Some(home),
        _ => None,
    };
    let form_title = title.clone();
    view! {
        <section class="card narrow">
            <h1>{title}</h1>
            <Show
                when=move || home().is_some()
                fallback=move || view! {
                    <p class="muted">{intro.clone()}</p>
                    {move || match link.get() {
                        Link::Unread => Some(view! {
                            <p class="note" role="status" data-testid="needs-javascript">
                                "This page needs JavaScript: the secret of your link stays in your browser "
                                "and is sent only with the password you choose. "
                                "Turn JavaScript on and open the link again."
                            </p>
                        }.into_any()),
                        Link::Missing => Some(view! {
                            <p class="alert error" role="alert" data-testid="no-token">
                                "This address holds no link. Open the link you were sent again, "
                                "or ask your administrator for a new one."
                            </p>
                        }.into_any()),
                        Link::Token(_) => None,
                    }}
                    <form class="stack" aria-label=form_title.clone() on:submit=on_submit.clone()>
                        // Closed until the page holds the link's token: without it nothing can be sent.
                        <fieldset class="stack plain" disabled=move || !matches!(link.get(), Link::Token(_))>
                            <PasswordField name="password" label="Password (at least 12 characters)" autocomplete="new-password" minlength=12/>
                            <PasswordField name="confirm_password" label="Repeat the password" autocomplete="new-password" minlength=12/>
                            <Show when=move || differ.get()>
                                <p class="alert error" role="alert" data-code="passwords_differ">"The two passwords differ. Type the same password twice."</p>
                            </Show>
                            <ActionError error=Signal::derive(move || redeem.value().get().and_then(Result::err))/>
                            <button type="submit" class="button primary" disabled=move || redeem.pending().get()>
                                {move || if redeem.pending().get() { "Saving…" } else { "Set password" }}
                            </button>
                        </fieldset>
                    </form>
                }
            >
                <p class="alert success" role="status">"Your password is set and you are signed in."</p>
                // A full page load: the next page is rendered with the new session.
                <a class="button primary" href=move || home().unwrap_or_default() rel="external">"Continue"</a>
            </Show>
        </section>
    }
}
