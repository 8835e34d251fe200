//! Admin: the audit log — who did what and when, filtered by actor, organisation and kind,
//! newest first, a page at a time. The filters are a plain GET form: the URL holds them.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::audit::{audit_log, AuditView, Choice};

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |key: &str| query.read().get(key).filter(|v| !v.is_empty());
    let log = Resource::new(
        move || (get("actor"), get("organisation"), get("kind"), get("before").and_then(|b| b.parse::<u64>().ok())),
        |(actor, organisation, kind, before)| audit_log(actor, organisation, kind, before),
    );
    view! {
        <Title text="Audit log · certgate"/>
        <h1>"Audit log"</h1>
        <p class="muted">"Every change to certificates, APIs, products, plans, access requests, credentials and accounts, newest first."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let chosen = (get("actor"), get("organisation"), get("kind"));
                match log.await {
                    Ok(view) => view! { <Log view chosen/> }.into_any(),
                    Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn select(id: &'static str, label: &'static str, any: &'static str, choices: Vec<Choice>, chosen: Option<String>) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id name=id>
                <option value="">{any}</option>
                {choices.into_iter().map(|(value, text)| {
                    let selected = chosen.as_deref() == Some(value.as_str());
                    view! { <option value=value selected=selected>{text}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}

#[component]
fn Log(view: AuditView, chosen: (Option<String>, Option<String>, Option<String>)) -> impl IntoView {
    let (actor, organisation, kind) = chosen;
    let mut older = None;
    if let Some(before) = view.older {
        let mut params = vec![format!("before={before}")];
        for (key, value) in [("actor", &actor), ("organisation", &organisation), ("kind", &kind)] {
            if let Some(v) = value {
                params.push(format!("{key}={}", encode(v)));
            }
        }
        older = Some(format!("/admin/audit?{}", params.join("&")));
    }
    view! {
        <section class="card">
            <form method="get" action="/admin/audit" class="row-form" aria-label="Filter the audit log">
                {select("actor", "Who", "Anyone", view.actors, actor)}
                {select("organisation", "Organisation", "Any organisation", view.organisations, organisation)}
                {select("kind", "What", "Everything", view.kinds, kind)}
                <button type="submit" class="button primary">"Filter"</button>
                <a class="button secondary" href="/admin/audit">"Clear"</a>
            </form>
        </section>
        <section class="card">
            {view.rows.is_empty().then(|| view! { <p class="muted" data-testid="audit-empty">"No entries match."</p> })}
            {(!view.rows.is_empty()).then(|| view! {
                <div class="table-scroll">
                <table class="table" data-testid="audit-table">
                    <thead><tr>
                        <th scope="col">"When (UTC)"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"What"</th>
                        <th scope="col">"Organisation"</th>
                        <th scope="col">"Details"</th>
                    </tr></thead>
                    <tbody>
                        {view.rows.into_iter().map(|r| view! {
                            <tr data-testid="audit-row" data-action=r.action.clone()>
                                <td>{r.at}</td>
                                <td>{r.actor}</td>
                                <td>{r.what}" "<code class="small">{r.subject}</code></td>
                                <td>{r.organisation.unwrap_or_else(|| "—".into())}</td>
                                <td>{r.detail}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
            })}
            {older.map(|href| view! { <p><a class="button secondary" href=href rel="next">"Older entries"</a></p> })}
        </section>
    }
}

/// Percent-encodes a query value (ids and kinds are plain, but be safe).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
