use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{list_organisations, CreateOrganisation, OrganisationView, RenameOrganisation};
use crate::components::ActionError;

/// Admin: API Consumers > Organisations.
#[component]
pub fn OrganisationsPage() -> impl IntoView {
    let create = ServerAction::<CreateOrganisation>::new();
    let rename = ServerAction::<RenameOrganisation>::new();
    let orgs = Resource::new(|| (), |_| list_organisations());
    let query = use_query_map();
    let deleted = move || query.read().get("deleted").filter(|n| !n.is_empty());
    view! {
        <Title text="Organisations · certgate"/>
        <h1>"Organisations"</h1>
        {move || deleted().map(|name| view! { <p class="alert success" role="status" data-testid="deleted">{format!("Organisation “{name}” deleted.")}</p> })}
        <section class="card">
            <h2>"New organisation"</h2>
            <ActionForm action=create attr:class="row-form" attr:aria-label="New organisation">
                <div class="field grow">
                    <label for="org-name">"Name"</label>
                    <input id="org-name" name="name" required maxlength="100"/>
                </div>
                <button type="submit" class="button primary">"Create"</button>
            </ActionForm>
            <ActionError error=Signal::derive(move || create.value().get().and_then(Result::err))/>
            // After a creation, the server sends the browser here with `?created=<id>`.
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let created = query.read().get("created");
                    orgs.await.ok().and_then(|list| list.into_iter().find(|o| Some(&o.id) == created.as_ref())).map(|org| view! {
                        <p class="alert success" role="status" data-testid="organisation-created">
                            "Organisation created: " <a href=format!("/admin/organisations/{}", org.id)>{org.name}</a>
                            ". Add its consumers and link its certificates there."
                        </p>
                    })
                })}
            </Suspense>
        </section>
        <section class="card">
            <h2>"All organisations"</h2>
            <ActionError error=Signal::derive(move || rename.value().get().and_then(Result::err))/>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match orgs.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No organisations yet."</p> }.into_any(),
                        Ok(list) => view! { <OrganisationTable list rename/> }.into_any(),
                        Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn OrganisationTable(list: Vec<OrganisationView>, rename: ServerAction<RenameOrganisation>) -> impl IntoView {
    view! {
        <table class="table">
            <thead><tr><th scope="col">"Name"</th><th scope="col">"Status"</th><th scope="col">"ID"</th><th scope="col">"Rename"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|org| {
                    let label = format!("New name for {}", org.name);
                    let button = format!("Rename {}", org.name);
                    let status = if org.suspended { "Suspended" } else { "Active" };
                    view! {
                        <tr>
                            <td data-testid="org-name"><a href=format!("/admin/organisations/{}", org.id)>{org.name.clone()}</a></td>
                            <td><span class=if org.suspended { "badge bad" } else { "badge ok" }>{status}</span></td>
                            <td><code>{org.id.clone()}</code></td>
                            <td>
                                <ActionForm action=rename attr:class="row-form">
                                    <input type="hidden" name="id" value=org.id/>
                                    <input name="name" aria-label=label value=org.name required maxlength="100"/>
                                    <button type="submit" class="button secondary" aria-label=button>"Rename"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
