//! Admin: one API — where clients call it (its gateway URL and a curl line), its settings (only
//! those of its authentication kind), its admin keys (issued with the token shown once, revoked
//! after a confirmation that says what stops), the allow list chosen from the certificate store,
//! and its deletion (confirmed, with what stops working counted from the store).

use crate::pages::traffic::ApiTraffic;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::apis::{api_error_field, get_api, AllowApiCertificate, ApiDetail, DeleteApi, DisallowApiCertificate, UpdateApi};
use crate::api::certificates::{allow_list_choices, CertificateView, CHOICES};
use crate::api::impact::api_delete_impact;
use crate::api::keys::{list_api_keys, ApiKeyView, IssueApiKey, NewApiKeyView, RevokeApiKey};
use crate::api::usage::{api_allow_list, AllowListPage};
use crate::components::{succeeded, ActionError, ConfirmDeleteFields, CopyButton, FieldError};

/// Said while an API requires mTLS and admits no certificate.
pub const REFUSES_EVERYTHING: &str = "This API refuses every request: it requires a client certificate (mTLS) and admits none yet. \
    Add certificates to its allow list (or put it in a product: its subscribers' certificates then join the list).";

#[component]
pub fn ApiDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let update = ServerAction::<UpdateApi>::new();
    let allow = ServerAction::<AllowApiCertificate>::new();
    let disallow = ServerAction::<DisallowApiCertificate>::new();
    let api = Resource::new(id, get_api);
    let query = use_query_map();
    // The allow-list editor searches the store (`?find=`): the page never carries it whole.
    let find = move || query.read().get("find").map(|f| f.trim().to_string()).filter(|f| !f.is_empty());
    let choices = Resource::new(
        move || (id(), find()),
        |(id, find)| async move {
            match find {
                Some(q) => allow_list_choices(id, q).await,
                None => Ok(Vec::new()),
            }
        },
    );
    let allow_page = move || query.read().get("allow_page").and_then(|p| p.parse::<usize>().ok());
    let effective = Resource::new(
        move || (id(), allow_page()),
        |(id, page)| api_allow_list(id, page),
    );
    view! {
        <Title text="API · certgate"/>
        <p><a href="/admin/apis">"← All APIs"</a></p>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match effective.await {
                    Ok(list) if list.mtls_required && list.total == 0 => {
                        view! { <p class="alert error" role="alert" data-testid="refuses-everything">{REFUSES_EVERYTHING}</p> }.into_any()
                    }
                    _ => ().into_any(),
                }
            })}
        </Suspense>
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
        <ApiTraffic id=Signal::derive(id)/>
        <DeleteSection id=Signal::derive(id)/>
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

/// The curl line that calls the API: the gateway's CA, the client certificate when mTLS is
/// required, and the header of its authentication kind, with placeholders for the secrets.
pub fn curl_example(url: &str, auth: &str, mtls: bool) -> String {
    let mut parts = vec!["curl --cacert gateway-ca.pem".to_string()];
    if mtls {
        parts.push("--cert client.crt --key client.key".into());
    }
    match auth {
        "auth_token" => parts.push("-H \"Authorization: Bearer <token>\"".into()),
        "jwt" => parts.push("-H \"Authorization: Bearer <jwt>\"".into()),
        _ => {}
    }
    parts.push(url.to_string());
    parts.join(" ")
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
    let key_kind = jwt.as_ref().map(|j| j.key_kind.clone()).unwrap_or_default();
    let selected = move |kind: &str| key_kind == kind;
    // Only the chosen kind's settings are shown: the JWT fields while JWT is chosen (by CSS,
    // `.jwt-only`, so that it works without wasm).
    let auth = s.auth.clone();
    let error = Signal::derive(move || update.value().get().and_then(Result::err));
    let form_error = Signal::derive(move || error.get().filter(|e| api_error_field(e).0 == "form"));
    let at = move |field: &'static str| view! { <FieldError error field place=api_error_field/> };
    let curl = curl_example(&api.gateway_url, &s.auth, s.mtls_required);
    let stored_auth = s.auth.clone();
    view! {
        <h1 data-testid="api-title">{s.name.clone()}</h1>
        <p class="muted">"Gateway path " <code>{s.listen_path.clone()}</code> " → " <code>{s.upstream_url.clone()}</code></p>
        <section class="card" aria-labelledby="call-heading">
            <h2 id="call-heading">"Call it"</h2>
            <p>"Gateway URL: " <code data-testid="gateway-url">{api.gateway_url.clone()}</code> " "
                <CopyButton text=api.gateway_url.clone() label="Copy the gateway URL".to_string()/></p>
            <pre class="pem" data-testid="curl-example" tabindex="0">{curl.clone()}</pre>
            <CopyButton text=curl label="Copy the curl example".to_string()/>
            <p class="muted small">
                "gateway-ca.pem is the CA of the gateway's server certificate"
                {s.mtls_required.then_some("; client.crt and client.key are an allowed client certificate and its private key")}
                {match s.auth.as_str() {
                    "auth_token" => "; <token> is an Auth Token of this API (admin keys below, or a portal credential).",
                    "jwt" => "; <jwt> is a token signed with the key set below.",
                    _ => ".",
                }}
            </p>
        </section>
        {(stored_auth == "auth_token").then(|| view! { <KeysSection api=id.clone() name=s.name.clone()/> })}
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
                <div class="field"><label for="set-name">"Name"</label><input id="set-name" name="name" value=s.name.clone() required maxlength="100"/>{at("name")}</div>
                <div class="field"><label for="set-path">"Listen path"</label><input id="set-path" name="listen_path" value=s.listen_path.clone() required/>{at("listen_path")}</div>
                <div class="field"><label for="set-upstream">"Upstream URL"</label><input id="set-upstream" name="upstream_url" value=s.upstream_url.clone() required/>{at("upstream_url")}</div>
                <div class="field">
                    <label for="set-auth">"Authentication"</label>
                    <select id="set-auth" name="auth">
                        <option value="auth_token" selected=auth == "auth_token">"Auth Token"</option>
                        <option value="jwt" selected=auth == "jwt">"JWT"</option>
                        <option value="none" selected=auth == "none">"None"</option>
                    </select>
                    {at("auth")}
                </div>
                <label class="check"><input type="checkbox" name="mtls_required" value="on" checked=s.mtls_required/>" Require a client certificate (mTLS)"</label>
                <label class="check"><input type="checkbox" name="strip_listen_path" value="on" checked=api.strip_listen_path/>" Strip the listen path before proxying"</label>
                <div class="field">
                    <label for="set-identity">"Identity header to the upstream (optional)"</label>
                    <input id="set-identity" name="identity_header" value=api.identity_header.clone().unwrap_or_default() placeholder="x-client-identity"/>
                    {at("identity_header")}
                </div>
                <fieldset class="field jwt-only" data-testid="jwt-settings">
                    <legend>"JWT"</legend>
                    <div class="field">
                        <label for="jwt-alg">"Algorithm"</label>
                        <select id="jwt-alg" name="jwt_algorithm">
                            {["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA", "HS256", "HS384", "HS512"].into_iter().map(|alg| {
                                let current = jwt.as_ref().is_some_and(|j| j.algorithm == alg);
                                view! { <option value=alg selected=current>{alg}</option> }
                            }).collect_view()}
                        </select>
                        {at("jwt_algorithm")}
                    </div>
                    <div class="field">
                        <label for="jwt-key-kind">"Key"</label>
                        <select id="jwt-key-kind" name="jwt_key_kind">
                            <option value="public_key_pem" selected=selected("public_key_pem")>"Public key (PEM)"</option>
                            <option value="jwks" selected=selected("jwks")>"JWKS document"</option>
                            <option value="hmac_secret" selected=selected("hmac_secret")>"HMAC secret"</option>
                        </select>
                        <textarea name="jwt_key" rows="4" aria-label="Key material" data-no-memory=""
                            placeholder=if jwt.is_some() { "Leave empty to keep the current key (never shown)" } else { "Paste the key" }></textarea>
                        {at("jwt_key")}
                    </div>
                    <div class="field"><label for="jwt-iss">"Issuer (iss)"</label><input id="jwt-iss" name="jwt_issuer" value=jwt.as_ref().and_then(|j| j.issuer.clone()).unwrap_or_default()/></div>
                    <div class="field"><label for="jwt-aud">"Audience (aud)"</label><input id="jwt-aud" name="jwt_audience" value=jwt.as_ref().and_then(|j| j.audience.clone()).unwrap_or_default()/></div>
                    <div class="field"><label for="jwt-sub">"Identity claim"</label><input id="jwt-sub" name="jwt_identity_claim" value=jwt.as_ref().map(|j| j.identity_claim.clone()).unwrap_or_else(|| "sub".into())/>{at("jwt_identity_claim")}</div>
                </fieldset>
                <button type="submit" class="button primary">"Save settings"</button>
            </ActionForm>
            <ActionError error=form_error/>
            {succeeded::<UpdateApi>().then(|| view! {
                <p class="alert success" role="status" data-testid="api-saved">"Saved. The gateway enforces it from the next request."</p>
                {(s.mtls_required && api.allowed.is_empty()).then(|| view! {
                    <p class="alert" data-testid="saved-refuses-everything">
                        "Its own allow list is empty: unless a product grants certificates, it refuses every request until certificates are added."
                    </p>
                })}
            })}
        </section>
    }
}

/// The admin keys of an Auth Token API: issue one (its token shown once), list them, revoke one
/// after a confirmation that says what stops.
#[component]
fn KeysSection(api: String, name: String) -> impl IntoView {
    let revoke = ServerAction::<RevokeApiKey>::new();
    let list_api = api.clone();
    let keys = Resource::new(move || list_api.clone(), list_api_keys);
    let issue_api = api.clone();
    view! {
        <section class="card" aria-labelledby="keys-heading">
            <h2 id="keys-heading">"Admin keys"</h2>
            <p class="muted">
                "Auth Tokens you issue yourself, granting this API only (for binding, limits and expiry use the REST API's /keys). "
                "Developer-portal credentials are managed through products."
            </p>
            <IssueKey api=issue_api/>
            <ActionError error=Signal::derive(move || revoke.value().get().and_then(Result::err))/>
            {succeeded::<RevokeApiKey>().then(|| view! {
                <p class="alert success" role="status" data-testid="key-revoked">{format!("Key revoked: its token is refused on API {name} from the next request.")}</p>
            })}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    let api = api.clone();
                    Suspend::new(async move {
                        match keys.await {
                            Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="no-keys">"No admin key grants this API."</p> }.into_any(),
                            Ok(list) => view! { <KeyTable list api revoke/> }.into_any(),
                            Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

/// Island: issuing a key. The token comes back in the answer and is shown in place, once;
/// posted without wasm it would be lost, so the button waits for hydration.
#[island]
fn IssueKey(api: String) -> impl IntoView {
    let issue = ServerAction::<IssueApiKey>::new();
    let ready = crate::components::hydrated();
    let busy = move || !ready.get() || issue.pending().get();
    view! {
        <ActionForm action=issue attr:class="row-form" attr:aria-label="Issue an admin key">
            <input type="hidden" name="api" value=api/>
            <button type="submit" class="button primary" disabled=busy>"Issue a key"</button>
        </ActionForm>
        <ActionError error=Signal::derive(move || issue.value().get().and_then(Result::err))/>
        {move || issue.value().get().and_then(Result::ok).map(|new| view! { <NewToken new/> })}
    }
}

/// A key just issued: its token shown this once. Hiding it reloads the page (the key list
/// then has it).
#[component]
fn NewToken(new: NewApiKeyView) -> impl IntoView {
    view! {
        <div class="alert success" role="status" data-testid="new-key">
            <p><strong>{format!("Issued {}. Its token, shown this once:", new.key.id)}</strong>
                " copy it now: certgate keeps only a hash of it and cannot show it again."</p>
            <p><code data-testid="token">{new.token.clone()}</code> " " <CopyButton text=new.token.clone() label="Copy the token".to_string()/></p>
            <button type="button" class="button secondary small" on:click=move |_| crate::browser::reload()>"I saved it: hide the token"</button>
        </div>
    }
}

#[component]
fn KeyTable(list: Vec<ApiKeyView>, api: String, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    view! {
        <div class="table-scroll">
        <table class="table" data-testid="key-table">
            <thead><tr><th scope="col">"Key"</th><th scope="col">"Grants"</th><th scope="col">"Created"</th><th scope="col">"Revoke"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|key| {
                    let api = api.clone();
                    // Key ids read `key_…`: the id alone names it.
                    let what = key.id.clone();
                    let form_label = format!("Revoke {what}");
                    let impact = crate::api::impact::Impact { lines: key.revocation.clone(), refusal: None };
                    let details = [
                        key.bound_certificates.map(|n| format!("bound to {n} certificate(s)")),
                        key.expires_at.clone().map(|t| format!("expires {t}")),
                    ].into_iter().flatten().collect::<Vec<_>>().join(", ");
                    view! {
                        <tr data-testid="key-row">
                            <td><code>{key.id.clone()}</code></td>
                            <td>{key.apis.join(", ")}<span class="muted">{(!details.is_empty()).then(|| format!(" ({details})"))}</span></td>
                            <td>{key.created_at.clone()}</td>
                            <td>
                                <details>
                                    <summary>{format!("Revoke {}…", key.id)}</summary>
                                    <ActionForm action=revoke attr:class="stack" attr:aria-label=form_label>
                                        <input type="hidden" name="api" value=api/>
                                        <ConfirmDeleteFields id=key.id.clone() what verb="revoke" id_field="key" impact/>
                                    </ActionForm>
                                </details>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

/// Deleting the API: what stops working, counted from the store (a dry run), a box to tick,
/// then the deletion; the list it goes back to says what was deleted.
#[component]
fn DeleteSection(id: Signal<String>) -> impl IntoView {
    let delete = ServerAction::<DeleteApi>::new();
    let impact = Resource::new(move || id.get(), api_delete_impact);
    view! {
        <section class="card" aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete"</h2>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match impact.await {
                        Ok(impact) => view! {
                            <ActionForm action=delete attr:class="stack" attr:aria-label="Delete the API">
                                <ConfirmDeleteFields id=id.get_untracked() what="this API".to_string() impact/>
                            </ActionForm>
                        }.into_any(),
                        Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Suspense>
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
