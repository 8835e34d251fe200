use leptos::prelude::*;
use leptos_meta::Title;

use crate::CurrentUser;

/// The admin portal's dashboard.
#[component]
pub fn AdminHome() -> impl IntoView {
    let me = expect_context::<CurrentUser>();
    view! {
        <Title text="Admin · certgate"/>
        <h1>"Admin portal"</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                me.await.ok().map(|me| view! {
                    <p class="muted">"Signed in as " <strong>{me.email}</strong> "."</p>
                })
            })}
        </Suspense>
        <div class="grid">
            <a class="card link-card" href="/admin/certificates">
                <h2>"Certificates"</h2>
                <p>"The provider's certificate store: upload, name, link to organisations, watch expiry."</p>
            </a>
            <a class="card link-card" href="/admin/organisations">
                <h2>"Organisations"</h2>
                <p>"The API consumers' organisations: their consumers, invite links, suspension."</p>
            </a>
            <a class="card link-card" href="/admin/products">
                <h2>"Products"</h2>
                <p>"Publish APIs to consumers: plans, visibility, certificate mode and binding."</p>
            </a>
            <a class="card link-card" href="/admin/plans">
                <h2>"Plans"</h2>
                <p>"Rate limits, quotas, auto-approval and token lifetimes."</p>
            </a>
            <a class="card link-card" href="/admin/access-requests">
                <h2>"Access requests"</h2>
                <p>"Approve or reject what consumers ask for."</p>
            </a>
            <a class="card link-card" href="/admin/audit">
                <h2>"Audit log"</h2>
                <p>"Who did what and when, filtered by actor, organisation and kind."</p>
            </a>
            <a class="card link-card" href="/admin/webhooks">
                <h2>"Webhooks"</h2>
                <p>"Notify your systems of access requests, credentials and expiring certificates."</p>
            </a>
        </div>
    }
}
