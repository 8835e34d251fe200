//! Admin: APIs — the provider's API definitions that the gateway enforces.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::apis::{list_apis, ApiSummary, CreateApi};
use crate::components::ActionError;

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
    let apis = Resource::new(move || create.version().get(), |_| list_apis());
    view! {
        <Title text="APIs · certgate"/>
        <h1>"APIs"</h1>
        <p class="muted">"Each API is a listen path on the gateway, proxied to an upstream. Changes apply to the next request."</p>
        <section class="card">
            <h2>"New API"</h2>
            <ActionForm action=create attr:class="stack" attr:aria-label="New API">
                <div class="field">
                    <label for="api-name">"Name"</label>
                    <input id="api-name" name="name" required maxlength="100"/>
                </div>
                <div class="field">
                    <label for="api-path">"Listen path"</label>
                    <input id="api-path" name="listen_path" required placeholder="/orders/" maxlength="200"/>
                </div>
                <div class="field">
                    <label for="api-upstream">"Upstream URL"</label>
                    <input id="api-upstream" name="upstream_url" type="url" required placeholder="http://127.0.0.1:9000/"/>
                </div>
                <div class="field">
                    <label for="api-auth">"Authentication"</label>
                    <select id="api-auth" name="auth">
                        <option value="auth_token">"Auth Token"</option>
                        <option value="none">"None"</option>
                    </select>
                    <p class="muted small">"For JWT, create the API, then set its key on the API's page."</p>
                </div>
                <label class="check"><input type="checkbox" name="mtls_required" value="on" checked/>" Require a client certificate (mTLS)"</label>
                <button type="submit" class="button primary">"Create API"</button>
            </ActionForm>
            <ActionError error=Signal::derive(move || create.value().get().and_then(Result::err))/>
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
