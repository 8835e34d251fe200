//! Admin: APIs — the provider's API definitions that the gateway enforces.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::apis::{api_error_field, list_apis, ApiSummary, CreateApi};
use crate::components::{ActionError, FieldError};

/// How an API's authentication reads in a table.
pub fn auth_label(auth: &str) -> &'static str {
    match auth {
        "auth_token" => "Auth Token",
        "jwt" => "JWT",
        _ => "None",
    }
}

#[component]
pub fn ApisPage() -> impl IntoView {
    let create = ServerAction::<CreateApi>::new();
    let apis = Resource::new(|| (), |_| list_apis());
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let at = move |field: &'static str| view! { <FieldError error field place=api_error_field/> };
    let query = use_query_map();
    let deleted = move || query.read().get("deleted").filter(|n| !n.is_empty());
    view! {
        <Title text="APIs · certgate"/>
        <h1>"APIs"</h1>
        <p class="muted">"Each API is a listen path on the gateway, proxied to an upstream. Changes apply to the next request."</p>
        {move || deleted().map(|name| view! { <p class="alert success" role="status" data-testid="deleted">{format!("API “{name}” deleted.")}</p> })}
        <section class="card">
            <h2>"New API"</h2>
            <ActionForm action=create attr:class="stack" attr:aria-label="New API">
                <div class="field">
                    <label for="api-name">"Name"</label>
                    <input id="api-name" name="name" required maxlength="100"/>
                    {at("name")}
                </div>
                <div class="field">
                    <label for="api-path">"Listen path"</label>
                    <input id="api-path" name="listen_path" required placeholder="/orders/" maxlength="200"/>
                    {at("listen_path")}
                </div>
                <div class="field">
                    <label for="api-upstream">"Upstream URL"</label>
                    <input id="api-upstream" name="upstream_url" type="url" required placeholder="http://127.0.0.1:9000/"/>
                    {at("upstream_url")}
                </div>
                <div class="field">
                    <label for="api-auth">"Authentication"</label>
                    <select id="api-auth" name="auth">
                        <option value="auth_token">"Auth Token"</option>
                        <option value="none">"None"</option>
                    </select>
                    <p class="muted small">"For JWT, create the API, then set its key on the API's page."</p>
                    {at("auth")}
                </div>
                <label class="check"><input type="checkbox" name="mtls_required" value="on" checked/>" Require a client certificate (mTLS)"</label>
                <button type="submit" class="button primary">"Create API"</button>
            </ActionForm>
            <ActionError error=Signal::derive(move || error.get().filter(|e| api_error_field(e).0 == "form"))/>
            // After a creation, the server sends the browser here with `?created=<id>`.
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let created = query.read().get("created");
                    apis.await.ok().and_then(|list| list.into_iter().find(|a| Some(&a.id) == created.as_ref())).map(|api| view! { <Created api/> })
                })}
            </Suspense>
        </section>
        <section class="card">
            <h2>"All APIs"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match apis.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No APIs yet."</p> }.into_any(),
                        Ok(list) => view! { <ApiTable list/> }.into_any(),
                        Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The API just created: a link to it, and, when it requires mTLS (its allow list is empty
/// then), the warning that it refuses every request until certificates are added.
#[component]
fn Created(api: ApiSummary) -> impl IntoView {
    let refuses = api.mtls_required && api.allowed_count == 0;
    view! {
        <p class="alert success" role="status" data-testid="api-created">
            "API created: " <a href=format!("/admin/apis/{}", api.id)>{api.name.clone()}</a> "."
        </p>
        {refuses.then(|| view! {
            <p class="alert" data-testid="created-refuses-everything">
                {format!("{} refuses every request until certificates are added to its allow list on its page (or a product grants it): it requires mTLS and admits none yet.", api.name)}
            </p>
        })}
    }
}

#[component]
fn ApiTable(list: Vec<ApiSummary>) -> impl IntoView {
    view! {
        <table class="table" data-testid="api-table">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Listen path"</th>
                    <th scope="col">"Upstream"</th>
                    <th scope="col">"Authentication"</th>
                    <th scope="col">"mTLS"</th>
                </tr>
            </thead>
            <tbody>
                {list.into_iter().map(|api| {
                    let mtls = if api.mtls_required {
                        format!("required, {} allow-list entr{}", api.allowed_count, if api.allowed_count == 1 { "y" } else { "ies" })
                    } else {
                        "off".to_string()
                    };
                    view! {
                        <tr>
                            <td><a href=format!("/admin/apis/{}", api.id)>{api.name}</a></td>
                            <td><code>{api.listen_path}</code></td>
                            <td><code>{api.upstream_url}</code></td>
                            <td>{auth_label(&api.auth)}</td>
                            <td>{mtls}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
