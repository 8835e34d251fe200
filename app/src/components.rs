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

/// The inside of a delete form: the id, a box that must be ticked to confirm, and the button.
/// A plain form control, so it works without wasm; the server checks the box too.
#[component]
pub fn ConfirmDeleteFields(id: String, what: String) -> impl IntoView {
    let field = format!("confirm-{id}");
    let label_for = field.clone();
    view! {
        <input type="hidden" name="id" value=id/>
        <label class="check" for=label_for>
            <input id=field type="checkbox" name="confirm" value="yes" required/>
            {format!(" Yes, delete {what}")}
        </label>
        <button type="submit" class="button danger">{format!("Delete {what}")}</button>
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

/// Copies `text` to the clipboard (works once the page is hydrated).
#[component]
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
