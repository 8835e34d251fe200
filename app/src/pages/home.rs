use leptos::prelude::*;
use leptos_meta::Title;

use crate::CurrentUser;

/// The developer portal's start page for API consumers.
#[component]
pub fn DevHome() -> impl IntoView {
    let me = expect_context::<CurrentUser>();
    view! {
        <Title text="Developer portal · certgate"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                me.await.ok().map(|me| view! {
                    <section class="card">
                        <h1>"Welcome, " {me.display_name}</h1>
                        <dl class="facts">
                            <dt>"Email"</dt><dd>{me.email}</dd>
                            <dt>"Organisation"</dt>
                            <dd data-testid="organisation">{me.organisation.unwrap_or_else(|| "—".to_string())}</dd>
                        </dl>
                        <p class="muted">
                            "This is the developer portal. Your organisation's API access and client "
                            "certificates will be managed here."
                        </p>
                    </section>
                })
            })}
        </Suspense>
    }
}
