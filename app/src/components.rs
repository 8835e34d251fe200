//! Pieces shared by the pages.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::SignOut;
use crate::CurrentUser;

#[component]
pub fn Header() -> impl IntoView {
    let me = expect_context::<CurrentUser>();
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <header class="site-header">
            <div class="container header-row">
                <a class="brand" href="/">"certgate"</a>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match me.await {
                            Ok(me) => {
                                let admin = me.is_admin;
                                view! {
                                    <nav aria-label="Main">
                                        <ul class="nav-links">
                                            {admin.then(|| view! {
                                                <li><A href="/admin" exact=true>"Dashboard"</A></li>
                                                <li><A href="/admin/apis">"APIs"</A></li>
                                                <li><A href="/admin/certificates">"Certificates"</A></li>
                                                <li><A href="/admin/organisations">"Organisations"</A></li>
                                                <li><A href="/admin/products">"Products"</A></li>
                                                <li><A href="/admin/plans">"Plans"</A></li>
                                                <li><A href="/admin/access-requests">"Access requests"</A></li>
                                                <li><A href="/admin/audit">"Audit log"</A></li>
                                                <li><A href="/admin/webhooks">"Webhooks"</A></li>
                                            })}
                                            {(!admin).then(|| view! {
                                                <li><A href="/" exact=true>"Home"</A></li>
                                                <li><A href="/portal/products">"Catalogue"</A></li>
                                                <li><A href="/portal/apps">"Apps"</A></li>
                                            })}
                                            <li><A href="/account">"Account"</A></li>
                                        </ul>
                                    </nav>
                                    <div class="user-box">
                                        <span class="user-email" data-testid="user-email">{me.email}</span>
                                        <ActionForm action=sign_out attr:class="inline-form">
                                            <button type="submit" class="button secondary">"Sign out"</button>
                                        </ActionForm>
                                    </div>
                                }
                                .into_any()
                            }
                            _ => view! { <a class="button secondary" href="/signin">"Sign in"</a> }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </header>
    }
}

/// A password input with a "Show" toggle. The toggle is plain client-side code: it works only
/// once the island is hydrated (the end-to-end tests use it to prove hydration). An island: its
/// props travel to the browser as JSON in the page, hence owned strings.
#[island]
pub fn PasswordField(
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    #[prop(into)] autocomplete: String,
    #[prop(optional)] minlength: Option<u32>,
) -> impl IntoView {
    let (visible, set_visible) = signal(false);
    let id = format!("field-{name}");
    // The field's label in the toggle's name: a form with several password fields would
    // otherwise have several buttons all called "Show".
    let what = label.to_lowercase();
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <div class="password-row">
                <input
                    id=id.clone()
                    name=name
                    type=move || if visible.get() { "text" } else { "password" }
                    autocomplete=autocomplete
                    minlength=minlength
                    required
                />
                <button
                    type="button"
                    class="button secondary toggle-visibility"
                    aria-controls=id
                    aria-label=move || format!("{} {what}", if visible.get() { "Hide" } else { "Show" })
                    aria-pressed=move || visible.get().to_string()
                    on:click=move |_| set_visible.update(|v| *v = !*v)
                >
                    {move || if visible.get() { "Hide" } else { "Show" }}
                </button>
            </div>
        </div>
    }
}

/// The error of the last submission of an action, if any, as an alert.
#[component]
pub fn ActionError(error: Signal<Option<crate::error::AppError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! { <p class="alert error" role="alert" data-code=e.code.clone()>{e.message}</p> }
        })
    }
}

/// The inside of a destructive form (delete, revoke): what it stops, counted from the store by
/// a dry run (when given), a box that must be ticked to confirm, and the button. The one
/// confirmation of the admin screens: plain form controls, so it works without wasm; the server
/// checks the box too. An action the dry run says would be refused cannot be sent.
#[component]
pub fn ConfirmDeleteFields(
    id: String,
    what: String,
    /// What the action stops, and why it would be refused.
    #[prop(optional)]
    impact: Option<crate::api::impact::Impact>,
    /// `delete` unless given (`revoke`).
    #[prop(optional)]
    verb: Option<&'static str>,
    /// The name of the hidden id field: `id` unless given.
    #[prop(optional)]
    id_field: Option<&'static str>,
) -> impl IntoView {
    let verb = verb.unwrap_or("delete");
    let field = format!("confirm-{verb}-{id}");
    let label_for = field.clone();
    let impact = impact.unwrap_or_default();
    let refused = impact.refusal.is_some();
    let capital = verb.get(..1).map(str::to_uppercase).unwrap_or_default() + verb.get(1..).unwrap_or_default();
    view! {
        {(!impact.lines.is_empty()).then(|| view! {
            <div class="note" data-testid="impact">
                <p><strong>{format!("If you {verb} {what}:")}</strong></p>
                <ul class="plain-list">{impact.lines.into_iter().map(|line| view! { <li data-testid="impact-line">{line}</li> }).collect_view()}</ul>
            </div>
        })}
        {impact.refusal.map(|r| view! { <p class="alert" data-testid="impact-refusal">{format!("It cannot be done now. {r}")}</p> })}
        <input type="hidden" name=id_field.unwrap_or("id") value=id/>
        <label class="check" for=label_for>
            <input id=field type="checkbox" name="confirm" value="yes" required disabled=refused/>
            {format!(" Yes, {verb} {what}")}
        </label>
        <button type="submit" class="button danger" disabled=refused>{format!("{capital} {what}")}</button>
    }
}

/// Where an error from a form belongs: shown beside that field only.
#[component]
pub fn FieldError(error: Signal<Option<crate::error::AppError>>, field: &'static str, place: fn(&crate::error::AppError) -> (&'static str, String)) -> impl IntoView {
    move || {
        error.get().and_then(|e| {
            let (at, message) = place(&e);
            (at == field).then(|| view! { <p class="field-error" role="alert" data-code=e.code.clone() data-field=field>{message}</p> })
        })
    }
}

/// True once the island runs in the browser (effects never run on the server): forms whose
/// answer must not be lost (a token shown once) stay disabled until then.
pub fn hydrated() -> ReadSignal<bool> {
    let (ready, set_ready) = signal(false);
    Effect::new(move |_| set_ready.set(true));
    ready
}

/// Whether the page is shown right after a plain form post of `S` that worked: the server sends
/// the browser back with `?__ok=<S's path>`, signed (server/src/form_posts.rs): an unsigned
/// one never reaches the page. Only a fixed text is shown for it.
pub fn succeeded<S: leptos::server_fn::ServerFn>() -> bool {
    let query = leptos_router::hooks::use_query_map();
    let done = query.read_untracked().get("__ok");
    done.as_deref() == Some(S::PATH)
}

/// Island: a file input (not sent with the form) whose certificate file is read into the
/// textarea `target`: PEM as it is, DER as PEM. Only the text is posted; the server validates it.
#[island]
pub fn FileIntoField(#[prop(into)] id: String, #[prop(into)] target: String, #[prop(into)] label: String) -> impl IntoView {
    let label_for = id.clone();
    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use web_sys::wasm_bindgen::JsCast;
            let target = target.clone();
            if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                leptos::task::spawn_local(async move {
                    let field = document().get_element_by_id(&target).and_then(|f| f.dyn_into::<web_sys::HtmlTextAreaElement>().ok());
                    if let (Some(text), Some(field)) = (crate::browser::read_certificate_file(input).await, field) {
                        field.set_value(&text);
                        // A file may hold anything (a DER key reads as a certificate here): what
                        // came from one is not kept by the form memory.
                        let _ = field.set_attribute("data-no-memory", "");
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, &target);
    };
    view! {
        <div class="field grow">
            <label for=label_for>{label}</label>
            <input id=id type="file" accept=".pem,.crt,.cer,.der" on:change=on_file/>
        </div>
    }
}

/// Copies `text` to the clipboard. An island: it works once hydrated.
#[island]
pub fn CopyButton(text: String, #[prop(optional)] label: Option<String>) -> impl IntoView {
    let (copied, set_copied) = signal(false);
    let label = label.unwrap_or_else(|| "Copy".to_string());
    view! {
        <button
            type="button"
            class="button secondary small"
            aria-label=label
            on:click=move |_| {
                crate::browser::copy_to_clipboard(&text);
                set_copied.set(true);
            }
        >
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}
