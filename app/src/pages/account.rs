use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::ChangePassword;
use crate::components::{succeeded, ActionError, PasswordField};

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let done = succeeded::<ChangePassword>();
    view! {
        <Title text="Account · certgate"/>
        <section class="card narrow">
            <h1>"Change password"</h1>
            <p class="muted">"Changing your password signs you out everywhere else."</p>
            <ActionForm action=change attr:class="stack" attr:aria-label="Change password">
                <PasswordField name="current_password" label="Current password" autocomplete="current-password"/>
                <PasswordField name="new_password" label="New password (at least 12 characters)" autocomplete="new-password" minlength=12/>
                <PasswordField name="confirm_password" label="Repeat the new password" autocomplete="new-password" minlength=12/>
                <ActionError error=Signal::derive(move || change.value().get().and_then(Result::err))/>
                {done.then(|| view! { <p class="alert success" role="status">"Your password was changed."</p> })}
                <button type="submit" class="button primary">"Change password"</button>
            </ActionForm>
        </section>
    }
}
