use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::SignIn;
use crate::components::{ActionError, PasswordField};

#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <Title text="Sign in · certgate"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <p class="muted">"Sign in to manage API access with client certificates."</p>
            <ActionForm action=sign_in attr:class="stack" attr:aria-label="Sign in">
                <input type="hidden" name="next" value=next/>
                <div class="field">
                    <label for="field-email">"Email"</label>
                    <input id="field-email" name="email" type="email" autocomplete="username" required/>
                </div>
                <PasswordField name="password" label="Password" autocomplete="current-password"/>
                <ActionError error=Signal::derive(move || sign_in.value().get().and_then(Result::err))/>
                <button type="submit" class="button primary" disabled=move || sign_in.pending().get()>
                    {move || if sign_in.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
        </section>
    }
}
