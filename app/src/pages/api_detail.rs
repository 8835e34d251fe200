//! Admin: one API — its settings, JWT key, and the allow list chosen from the certificate store.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::apis::{get_api, AllowApiCertificate, ApiDetail, DeleteApi, DisallowApiCertificate, UpdateApi};
use crate::api::certificates::{allow_list_choices, CertificateView, CHOICES};
use crate::api::usage::{api_allow_list, AllowListPage};
use crate::components::ActionError;

#[component]
pub fn ApiDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let update = ServerAction::<UpdateApi>::new();
    let allow = ServerAction::<AllowApiCertificate>::new();
    let disallow = ServerAction::<DisallowApiCertificate>::new();
    let api = Resource::new(
        move || (id(), update.version().get(), allow.version().get(), disallow.version().get()),
        |(id, ..)| get_api(id),
    );
    let query = use_query_map();
    // The allow-list editor searches the store (`?find=`): the page never carries it whole.
    let find = move || query.read().get("find").map(|f| f.trim().to_string()).filter(|f| !f.is_empty());
    let choices = Resource::new(
        move || (id(), find(), allow.version().get()),
        |(id, find, _)| async move {
            match find {
                Some(q) => allow_list_choices(id, q).await,
                None => Ok(Vec::new()),
            }
        },
    );
    let allow_page = move || query.read().get("allow_page").and_then(|p| p.parse::<usize>().ok());
    let effective = Resource::new(
        move || (id(), allow_page(), allow.version().get(), disallow.version().get(), update.version().get()),
        |(id, page, ..)| api_allow_list(id, page),
    );
    view! {
        <Title text="API · certgate"/>
        <p><a href="/admin/apis">"← All APIs"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match api.await {
                    Ok(api) => view! { <Detail api find=find() choices update allow disallow/> }.into_any(),
                    Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match effective.await {
                    Ok(list) => view! { <EffectiveAllowList list api=id()/> }.into_any(),
                    Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The allow list the gateway enforces: the admin's entries and what live portal credentials
/// of products containing the API add, each with its source, one page at a time.
#[component]
fn EffectiveAllowList(list: AllowListPage, api: String) -> impl IntoView {
    let link = move |page: usize| format!("/admin/apis/{api}?allow_page={page}");
    let (previous, next) = ((list.page > 1).then(|| link(list.page - 1)), (list.page < list.pages).then(|| link(list.page + 1)));
    view! {
        <section class="card" data-testid="effective-allow-list">
            <h2>"Effective allow list"</h2>
            <p class="muted">
                "What the gateway admits now: your entries above, and the certificates of live portal credentials whose "
                "product contains this API (product → app → organisation)."
            </p>
            {(!list.mtls_required).then(|| view! { <p class="alert">"mTLS is off for this API: the allow list is not enforced."</p> })}
            {(list.total == 0).then(|| view! { <p class="muted">"No certificate is admitted."</p> })}
            {(list.total > 0).then(|| view! {
                <div class="table-scroll">
                <table class="table">
                    <thead><tr><th scope="col">"Certificate"</th><th scope="col">"Type"</th><th scope="col">"Source"</th></tr></thead>
                    <tbody>
                        {list.entries.into_iter().map(|e| {
                            let kind = match (e.kind.as_str(), e.problem) {
                                ("ca", _) => "CA: admits the leaves it issued".to_string(),
                                (_, None) => "leaf".to_string(),
                                (_, Some(p)) => format!("leaf, refused now: {}", p.replace('_', " ")),
                            };
                            view! {
                                <tr data-testid="effective-entry">
                                    <td><a href=format!("/admin/certificates/{}", e.id)>{e.label}</a>" "<code>{e.fingerprint_short}"…"</code></td>
                                    <td>{kind}</td>
                                    <td><ul class="plain-list">{e.sources.into_iter().map(|s| view! { <li data-testid="entry-source">{s}</li> }).collect_view()}</ul></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
                <nav class="row-form" aria-label="Allow list pages">
                    <span>{format!("Page {} of {} ({} certificates)", list.page, list.pages, list.total)}</span>
                    {previous.map(|href| view! { <a class="button secondary small" href=href rel="prev">"Previous page"</a> })}
                    {next.map(|href| view! { <a class="button secondary small" href=href rel="next">"Next page"</a> })}
                </nav>
            })}
        </section>
    }
}

#[component]
fn Detail(
    api: ApiDetail,
    find: Option<String>,
    choices: Resource<Result<Vec<CertificateView>, crate::error::AppError>>,
    update: ServerAction<UpdateApi>,
    allow: ServerAction<AllowApiCertificate>,
    disallow: ServerAction<DisallowApiCertificate>,
) -> impl IntoView {
    let delete = ServerAction::<DeleteApi>::new();
    let s = api.summary.clone();
    let id = s.id.clone();
    let jwt = api.jwt.clone();
    let entries = api
        .allowed
        .iter()
        .cloned()
        .map(|entry| {
            let id = id.clone();
            let state = match entry.problem.as_deref() {
                None if entry.kind == "ca" => "CA: admits leaves it issued".to_string(),
                None => "leaf pin".to_string(),
                Some(problem) => format!("leaf pin, refused now: {}", problem.replace('_', " ")),
            };
            let label = format!("Remove {} from the allow list", entry.label);
            view! {
                <li>
                    <ActionForm action=disallow attr:class="row-form">
                        <span data-testid="allowed-entry">{entry.label}</span>
                        <code>{entry.fingerprint_short}"…"</code>
                        <span class="muted">{state}</span>
                        <input type="hidden" name="id" value=id/>
                        <input type="hidden" name="certificate_id" value=entry.id/>
                        <button type="submit" class="button secondary small" aria-label=label>"Remove"</button>
                    </ActionForm>
                </li>
            }
        })
        .collect_view();
    let allow_id = id.clone();
    let delete_id = id.clone();
    let key_kind = jwt.as_ref().map(|j| j.key_kind.clone()).unwrap_or_default();
    let selected = move |kind: &str| key_kind == kind;
    view! {
        <h1 data-testid="api-title">{s.name.clone()}</h1>
        <p class="muted">"Gateway path " <code>{s.listen_path.clone()}</code> " → " <code>{s.upstream_url.clone()}</code></p>
        <section class="card">
            <h2>"Allow list"</h2>
            <p class="muted">
                "Client certificates admitted when mTLS is required: a leaf is pinned by its fingerprint; a CA admits "
                "the leaves it issued. Credentials bound to certificates add theirs (those are not listed here)."
            </p>
            {(!s.mtls_required).then(|| view! { <p class="alert">"mTLS is off for this API: the allow list is not enforced."</p> })}
            <ul class="plain-list" data-testid="allow-list">{entries}</ul>
            <form method="get" action=format!("/admin/apis/{allow_id}") class="row-form" aria-label="Find a certificate to add">
                <div class="field grow">
                    <label for="allow-find">"Find a certificate in the store to add"</label>
                    <input id="allow-find" name="find" type="search" maxlength="200" value=find.clone().unwrap_or_default()
                        placeholder="Part of a name, CN or organisation, or the start of a fingerprint"/>
                </div>
                <button type="submit" class="button secondary">"Find"</button>
            </form>
            <Suspense fallback=|| ()>
                {move || {
                    let (find, allow_id) = (find.clone(), allow_id.clone());
                    Suspend::new(async move {
                        match (find, choices.await) {
                            (Some(find), Ok(found)) => view! { <Choices found find api=allow_id allow/> }.into_any(),
                            (None, _) => ().into_any(),
                            (_, Err(e)) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                        }
                    })
                }}
            </Suspense>
            <ActionError error=Signal::derive(move || allow.value().get().and_then(Result::err))/>
            <ActionError error=Signal::derive(move || disallow.value().get().and_then(Result::err))/>
        </section>
        <section class="card">
            <h2>"Settings"</h2>
            <ActionForm action=update attr:class="stack" attr:aria-label="API settings">
                <input type="hidden" name="id" value=id.clone()/>
                <div class="field"><label for="set-name">"Name"</label><input id="set-name" name="name" value=s.name.clone() required maxlength="100"/></div>
                <div class="field"><label for="set-path">"Listen path"</label><input id="set-path" name="listen_path" value=s.listen_path.clone() required/></div>
                <div class="field"><label for="set-upstream">"Upstream URL"</label><input id="set-upstream" name="upstream_url" value=s.upstream_url.clone() required/></div>
                <div class="field">
                    <label for="set-auth">"Authentication"</label>
                    <select id="set-auth" name="auth">
                        <option value="auth_token" selected=s.auth == "auth_token">"Auth Token"</option>
                        <option value="jwt" selected=s.auth == "jwt">"JWT"</option>
                        <option value="none" selected=s.auth == "none">"None"</option>
                    </select>
                </div>
                <label class="check"><input type="checkbox" name="mtls_required" value="on" checked=s.mtls_required/>" Require a client certificate (mTLS)"</label>
                <label class="check"><input type="checkbox" name="strip_listen_path" value="on" checked=api.strip_listen_path/>" Strip the listen path before proxying"</label>
                <div class="field">
                    <label for="set-identity">"Identity header to the upstream (optional)"</label>
                    <input id="set-identity" name="identity_header" value=api.identity_header.clone().unwrap_or_default() placeholder="x-client-identity"/>
                </div>
                <fieldset class="field">
                    <legend>"JWT (when authentication is JWT)"</legend>
                    <div class="field">
                        <label for="jwt-alg">"Algorithm"</label>
                        <select id="jwt-alg" name="jwt_algorithm">
                            {["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA", "HS256", "HS384", "HS512"].into_iter().map(|alg| {
                                let current = jwt.as_ref().is_some_and(|j| j.algorithm == alg);
                                view! { <option value=alg selected=current>{alg}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="jwt-key-kind">"Key"</label>
                        <select id="jwt-key-kind" name="jwt_key_kind">
                            <option value="public_key_pem" selected=selected("public_key_pem")>"Public key (PEM)"</option>
                            <option value="jwks" selected=selected("jwks")>"JWKS document"</option>
                            <option value="hmac_secret" selected=selected("hmac_secret")>"HMAC secret"</option>
                        </select>
                        <textarea name="jwt_key" rows="4" aria-label="Key material"
                            placeholder=if jwt.is_some() { "Leave empty to keep the current key (never shown)" } else { "Paste the key" }></textarea>
                    </div>
                    <div class="field"><label for="jwt-iss">"Issuer (iss)"</label><input id="jwt-iss" name="jwt_issuer" value=jwt.as_ref().and_then(|j| j.issuer.clone()).unwrap_or_default()/></div>
                    <div class="field"><label for="jwt-aud">"Audience (aud)"</label><input id="jwt-aud" name="jwt_audience" value=jwt.as_ref().and_then(|j| j.audience.clone()).unwrap_or_default()/></div>
                    <div class="field"><label for="jwt-sub">"Identity claim"</label><input id="jwt-sub" name="jwt_identity_claim" value=jwt.as_ref().map(|j| j.identity_claim.clone()).unwrap_or_else(|| "sub".into())/></div>
                </fieldset>
                <button type="submit" class="button primary">"Save settings"</button>
            </ActionForm>
            <ActionError error=Signal::derive(move || update.value().get().and_then(Result::err))/>
            {move || update.value().get().and_then(Result::ok).map(|_| view! { <p class="alert success" role="status">"Saved. The gateway enforces it from the next request."</p> })}
        </section>
        <section class="card">
            <h2>"Delete"</h2>
            <ActionForm action=delete attr:class="row-form" attr:aria-label="Delete the API">
                <input type="hidden" name="id" value=delete_id/>
                <button type="submit" class="button danger">"Delete this API"</button>
            </ActionForm>
            <ActionError error=Signal::derive(move || delete.value().get().and_then(Result::err))/>
        </section>
    }
}

/// The allow-list editor's search results: each with its own "Add" form (a plain POST without wasm).
#[component]
fn Choices(found: Vec<CertificateView>, find: String, api: String, allow: ServerAction<AllowApiCertificate>) -> impl IntoView {
    if found.is_empty() {
        return view! {
            <p class="muted" data-testid="allow-choices-none">{format!("No certificate outside the list matches “{find}”.")}</p>
        }
        .into_any();
    }
    let capped = found.len() >= CHOICES;
    view! {
        <ul class="plain-list" data-testid="allow-choices" aria-label="Matching certificates">
            {found.into_iter().map(|c| {
                let kind = if c.kind == "ca" { "CA" } else { "leaf" };
                let short = c.fingerprint_sha256.get(..11).unwrap_or_default().to_string();
                let label = format!("Add {} ({short}…) to the allow list", c.label);
                let api = api.clone();
                view! {
                    <li>
                        <ActionForm action=allow attr:class="row-form">
                            <span data-testid="allow-choice">{c.label.clone()}</span>
                            <code>{short}"…"</code>
                            <span class="muted">{format!("{kind}, {}", c.subject)}</span>
                            <input type="hidden" name="id" value=api/>
                            <input type="hidden" name="certificate_id" value=c.id.clone()/>
                            <button type="submit" class="button primary small" aria-label=label>"Add"</button>
                        </ActionForm>
                    </li>
                }
            }).collect_view()}
        </ul>
        {capped.then(|| view! { <p class="muted">{format!("The first {CHOICES} matches by name: type more to narrow them.")}</p> })}
    }
    .into_any()
}
