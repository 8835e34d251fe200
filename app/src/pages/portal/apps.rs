//! Developer portal: the consumer's apps, and creating one.

use leptos::prelude::*;
use leptos_meta::Title;

use super::LoadError;
use crate::api::portal::{portal_apps, PortalAppView, PortalCreateApp};
use crate::components::ActionError;

#[component]
pub fn PortalAppsPage() -> impl IntoView {
    let create = ServerAction::<PortalCreateApp>::new();
    let apps = Resource::new(|| (), |_| portal_apps());
    // After a creation, the server sends the browser here with `?created=<id>`.
    let query = leptos_router::hooks::use_query_map();
    view! {
        <Title text="Apps · certgate"/>
        <h1>"Apps"</h1>
        <p class="muted">
            "An app is what calls the APIs: it requests access to products, and each approved product gives it a "
            "credential (a token that works with your client certificates)."
        </p>
        <section class="card" aria-labelledby="new-app">
            <h2 id="new-app">"New app"</h2>
            <ActionForm action=create attr:class="row-form" attr:aria-label="New app">
                <div class="field grow">
                    <label for="app-name">"Name"</label>
                    <input id="app-name" name="name" required maxlength="100" placeholder="Checkout service"/>
                </div>
                <button type="submit" class="button primary">"Create app"</button>
            </ActionForm>
            <ActionError error=Signal::derive(move || create.value().get().and_then(Result::err))/>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let created = query.read().get("created");
                    apps.await.ok().and_then(|list| list.into_iter().find(|a| Some(&a.id) == created.as_ref())).map(|a| view! {
                        <p class="alert success" role="status">
                            "Created " <a href=format!("/portal/apps/{}", a.id)>{a.name.clone()}</a> ": open it to request access to a product."
                        </p>
                    })
                })}
            </Suspense>
        </section>
        <section class="card" aria-labelledby="all-apps">
            <h2 id="all-apps">"Your apps"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match apps.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No apps yet."</p> }.into_any(),
                        Ok(list) => view! { <AppTable list/> }.into_any(),
                        Err(error) => view! { <LoadError error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn AppTable(list: Vec<PortalAppView>) -> impl IntoView {
    view! {
        <table class="table" data-testid="app-table">
            <thead><tr>
                <th scope="col">"App"</th>
                <th scope="col">"Products"</th>
                <th scope="col">"Created"</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|a| view! {
                    <tr data-testid="app-row" data-id=a.id.clone()>
                        <td><a href=format!("/portal/apps/{}", a.id)>{a.name}</a></td>
                        <td>{a.product_count}</td>
                        <td>{a.created_at}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
