//! Admin: API Consumers > Certificates — the facade over the provider's certificate store.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::certificates::{certificate_list, get_certificate, CertificateListPage, CertificateView, OrganisationRef, UploadCertificate};
use crate::components::{ActionError, CopyButton, FileIntoField};

/// Days before expiry at which a certificate is called out.
const SOON_DAYS: i64 = 30;
/// Beyond this many days left, validity is shown as its end date.
const FAR_DAYS: i64 = 730;

/// The list's state, as the URL query holds it (so a GET form and shared links carry it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ListQuery {
    q: Option<String>,
    org: Option<String>,
    kind: Option<String>,
    expiry: Option<String>,
    usable: Option<String>,
    used: Option<String>,
    sort: Option<String>,
    page: Option<usize>,
}

impl ListQuery {
    /// The page's URL with this state (empty values left out).
    fn href(&self) -> String {
        let page = self.page.filter(|p| *p > 1).map(|p| p.to_string());
        let pairs = [("q", &self.q), ("org", &self.org), ("kind", &self.kind), ("expiry", &self.expiry), ("usable", &self.usable), ("used", &self.used), ("sort", &self.sort), ("page", &page)];
        let query: Vec<String> = pairs.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v)))).collect();
        if query.is_empty() {
            "/admin/certificates".to_string()
        } else {
            format!("/admin/certificates?{}", query.join("&"))
        }
    }

    fn filtered(&self) -> bool {
        self.q.is_some() || self.org.is_some() || self.kind.is_some() || self.expiry.is_some() || self.usable.is_some() || self.used.is_some()
    }
}

#[component]
pub fn CertificatesPage() -> impl IntoView {
    let upload = ServerAction::<UploadCertificate>::new();
    let query = use_query_map();
    let state = Memo::new(move |_| {
        let map = query.read();
        let get = |key: &str| map.get(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        ListQuery {
            q: get("q"),
            org: get("org"),
            kind: get("kind"),
            expiry: get("expiry"),
            usable: get("usable"),
            used: get("used"),
            sort: get("sort"),
            page: get("page").and_then(|p| p.parse().ok()),
        }
    });
    let list = Resource::new(move || state.get(), |s| certificate_list(s.q, s.org, s.kind, s.expiry, s.usable, s.used, s.sort, s.page));
    // After an upload, the server sends the browser here with `?added=<id>`.
    let added = Resource::new(
        move || query.read().get("added"),
        |id| async move {
            match id {
                Some(id) => get_certificate(id).await.ok(),
                None => None,
            }
        },
    );
    view! {
        <Title text="Certificates · certgate"/>
        <h1>"Certificates"</h1>
        <p class="muted">
            "The client certificates in the provider's certificate store. Names and organisation links are "
            "portal data: they are not written into the provider's record."
        </p>
        <UploadForm upload/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                added.await.map(|c| view! {
                    <p class="alert success" role="status">
                        "Added " <a href=format!("/admin/certificates/{}", c.id)>{c.label.clone()}</a>
                        {(c.validity != "valid").then(|| format!(" — note: this certificate is {}.", c.validity.replace('_', " ")))}
                    </p>
                })
            })}
        </Suspense>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let chosen = state.get_untracked();
                match list.await {
                    Ok(page) => view! {
                        <ExpiryOverview page=page.clone() chosen=chosen.clone()/>
                        <Filters organisations=page.organisations.clone() every=page.organisations.len() == page.organisations_total chosen=chosen.clone()/>
                        <CertificateTable page chosen/>
                    }.into_any(),
                    Err(e) => view! {
                        <p class="alert error" role="alert">{e.message}</p>
                        <p><a href="/admin/certificates">"Show all certificates"</a></p>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn UploadForm(upload: ServerAction<UploadCertificate>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Upload a certificate"</h2>
            <ActionForm action=upload attr:class="stack" attr:aria-label="Upload a certificate">
                <div class="field">
                    <label for="cert-pem">"Certificate (PEM)"</label>
                    <textarea
                        id="cert-pem"
                        name="pem"
                        rows="8"
                        spellcheck="false"
                        placeholder="-----BEGIN CERTIFICATE-----"
                        required
                    ></textarea>
                </div>
                <div class="row-form">
                    <FileIntoField id="cert-file" target="cert-pem" label="…or choose a file (PEM or DER)"/>
                    <div class="field grow">
                        <label for="cert-name">"Name in the portal (optional)"</label>
                        <input id="cert-name" name="display_name" maxlength="100"/>
                    </div>
                </div>
                <ActionError error=Signal::derive(move || upload.value().get().and_then(Result::err))/>
                <div><button type="submit" class="button primary">"Upload"</button></div>
            </ActionForm>
        </section>
    }
}

/// Counts by expiry over the whole store, each a link to the list filtered by it, and a bar
/// per month for the next 12 months.
#[component]
fn ExpiryOverview(page: CertificateListPage, chosen: ListQuery) -> impl IntoView {
    let months = page.months.clone();
    let tallest = months.iter().copied().max().unwrap_or(0).max(1);
    let stat = move |bucket: &'static str, count: usize, text: &'static str, testid: &'static str, class: &'static str| {
        let href = ListQuery { expiry: Some(bucket.to_string()), ..ListQuery::default() }.href();
        let current = (chosen.expiry.as_deref() == Some(bucket)).then_some("true");
        view! {
            <li class=(class, count > 0)>
                <a href=href data-testid=format!("{testid}-link") aria-current=current>
                    <span class="stat" data-testid=testid>{count}</span>{text}
                </a>
            </li>
        }
    };
    view! {
        <section class="card">
            <h2>"Expiry at a glance"</h2>
            <ul class="stat-row" aria-label="Certificates by expiry (each shows them)">
                {stat("expired", page.expired, " expired", "expired-count", "stat-bad")}
                {stat("7d", page.within_7, " within 7 days", "expiring-7", "stat-warn")}
                {stat("30d", page.within_30, " within 30 days", "expiring-30", "stat-warn")}
                {stat("later", page.later, " later", "expiring-later", "stat-ok")}
            </ul>
            <figure class="expiry-plot">
                <svg viewBox="0 0 240 70" role="img" aria-label="Certificates expiring in each of the next 12 months">
                    {months.iter().enumerate().map(|(i, n)| {
                        let h = n * 50 / tallest;
                        let x = i * 20 + 2;
                        view! {
                            <g>
                                <title>{format!("{n} expiring in month {}", i + 1)}</title>
                                <rect x=x y=55 - h width="16" height=h class="bar"/>
                                <text x=x + 8 y="66" text-anchor="middle" class="bar-label">{format!("+{}", i + 1)}</text>
                            </g>
                        }
                    }).collect_view()}
                </svg>
                <figcaption class="muted">"Expiries per month over the next 12 months (+1 = within the next month)."</figcaption>
            </figure>
        </section>
    }
}

/// One `<select>` of the filter form; `choices` are (value, text), the first the "any" one.
fn select(id: &'static str, name: &'static str, label: &'static str, choices: Vec<(String, String)>, chosen: Option<String>) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id name=name>
                {choices.into_iter().map(|(value, text)| {
                    let selected = chosen.as_deref().unwrap_or("") == value;
                    view! { <option value=value selected=selected>{text}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}

fn choices(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(v, t)| (v.to_string(), t.to_string())).collect()
}

/// Search and filters: a plain GET form, so it works without wasm and the URL can be shared.
///
/// `every`: `organisations` holds every organisation (a choice of them); else only the chosen
/// one, shown with a link that drops it (many organisations: the search matches their names).
#[component]
fn Filters(organisations: Vec<OrganisationRef>, every: bool, chosen: ListQuery) -> impl IntoView {
    let organisation = if every {
        let mut orgs = vec![(String::new(), "Any organisation".to_string())];
        orgs.extend(organisations.into_iter().map(|o| (o.id, o.name)));
        select("cert-org", "org", "Organisation", orgs, chosen.org.clone()).into_any()
    } else {
        match (chosen.org.clone(), organisations.into_iter().next()) {
            (Some(id), found) => {
                let name = found.map(|o| o.name).unwrap_or_else(|| id.clone());
                let without = ListQuery { org: None, page: None, ..chosen.clone() }.href();
                view! {
                    <div class="field" data-testid="organisation-filter">
                        <input type="hidden" name="org" value=id/>
                        <span>"Organisation: " <strong>{name}</strong></span>
                        <a href=without>"Any organisation"</a>
                    </div>
                }
                .into_any()
            }
            (None, _) => ().into_any(),
        }
    };
    view! {
        <section class="card">
            <form method="get" action="/admin/certificates" class="row-form" aria-label="Search and filter certificates">
                <div class="field grow">
                    <label for="cert-q">"Search"</label>
                    <input id="cert-q" name="q" type="search" maxlength="200" value=chosen.q.clone().unwrap_or_default()
                        placeholder="Name, CN, organisation or fingerprint start"/>
                </div>
                {organisation}
                {select("cert-kind", "kind", "Type", choices(&[("", "Any type"), ("leaf", "Leaf"), ("ca", "CA")]), chosen.kind.clone())}
                {select("cert-expiry", "expiry", "Expiry", choices(&[("", "Any expiry"), ("expired", "Expired"), ("7d", "Within 7 days"), ("30d", "Within 30 days"), ("later", "Later than 30 days")]), chosen.expiry.clone())}
                {select("cert-usable", "usable", "Usable for client authentication", choices(&[("", "Either"), ("yes", "Usable now"), ("no", "Not usable")]), chosen.usable.clone())}
                {select("cert-used", "used", "Last used on an API", choices(&[("", "Any time or never"), ("never", "Never used"), ("30d", "Not used for 30 days")]), chosen.used.clone())}
                {select("cert-sort", "sort", "Sort by", choices(&[("expiry", "Expiry, soonest first"), ("name", "Name, A to Z"), ("uploaded", "Upload, newest first"), ("last_used", "Last use, least recent first")]), chosen.sort.clone())}
                <button type="submit" class="button primary">"Apply filters"</button>
                <a class="button secondary" href="/admin/certificates">"Clear filters"</a>
            </form>
        </section>
    }
}

#[component]
fn CertificateTable(page: CertificateListPage, chosen: ListQuery) -> impl IntoView {
    if page.total == 0 {
        let text = if chosen.filtered() { "No certificate matches these filters." } else { "No certificates yet: upload one above." };
        return view! { <section class="card"><p class="muted" data-testid="certificates-empty">{text}</p></section> }.into_any();
    }
    let link = |to: usize| ListQuery { page: Some(to), ..chosen.clone() }.href();
    let previous = (page.page > 1).then(|| link(page.page - 1));
    let next = (page.page < page.pages).then(|| link(page.page + 1));
    let heading = if chosen.filtered() { format!("{} matching", page.total) } else { format!("All {} certificates", page.total) };
    view! {
        <section class="card">
            <h2 data-testid="certificates-heading">{heading}</h2>
            <div class="table-scroll">
            <table class="table">
                <thead><tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Subject / issuer"</th>
                    <th scope="col">"Fingerprint (SHA-256)"</th>
                    <th scope="col">"Validity"</th>
                    <th scope="col">"Type"</th>
                    <th scope="col">"Organisations"</th>
                    <th scope="col">"Used by"</th>
                    <th scope="col">"Last used"</th>
                </tr></thead>
                <tbody>
                    {page.rows.into_iter().map(|c| {
                        let last_used = page.last_used.get(&c.id).cloned();
                        view! { <CertificateRow c last_used/> }
                    }).collect_view()}
                </tbody>
            </table>
            </div>
            <nav class="row-form" aria-label="Certificate list pages">
                <span data-testid="certificates-page">{format!("Page {} of {} ({} certificates)", page.page, page.pages, page.total)}</span>
                {previous.map(|href| view! { <a class="button secondary small" href=href rel="prev">"Previous page"</a> })}
                {next.map(|href| view! { <a class="button secondary small" href=href rel="next">"Next page"</a> })}
            </nav>
        </section>
    }
    .into_any()
}

#[component]
fn CertificateRow(c: CertificateView, last_used: Option<String>) -> impl IntoView {
    let short = c.fingerprint_sha256.chars().take(23).collect::<String>() + "…";
    let validity_class = validity_class(&c);
    let organisations = if c.organisations.is_empty() {
        "—".to_string()
    } else {
        c.organisations.iter().map(|o| o.name.clone()).collect::<Vec<_>>().join(", ")
    };
    view! {
        <tr data-testid="certificate-row" data-id=c.id.clone()>
            <td><a href=format!("/admin/certificates/{}", c.id) data-testid="certificate-label">{c.label.clone()}</a></td>
            <td><div>{c.subject.clone()}</div><div class="muted small">"issued by " {c.issuer.clone()}</div></td>
            <td><code title=c.fingerprint_sha256.clone() data-testid="fingerprint">{short}</code> <CopyButton text=c.fingerprint_sha256.clone() label=format!("Copy the fingerprint of {} ({})", c.label, &c.fingerprint_sha256[..11])/></td>
            <td><span class=validity_class data-testid="validity">{validity_text(&c)}</span></td>
            <td>{if c.kind == "ca" { "CA" } else { "Leaf" }}</td>
            <td>{organisations}</td>
            <td>{used_by_summary(&c.used_by)}</td>
            <td data-testid="last-used">{match (last_used, c.kind == "ca") {
                (Some(at), _) => at,
                (None, true) => "Not recorded for CAs".to_string(),
                (None, false) => "Never".to_string(),
            }}</td>
        </tr>
    }
}

/// What uses a certificate, short: API names, and counts of subscriptions and keys (their ids
/// say nothing here; the certificate's page names them).
fn used_by_summary(used_by: &[String]) -> String {
    let subscriptions = used_by.iter().filter(|u| u.starts_with("subscription ")).count();
    let keys = used_by.iter().filter(|u| u.starts_with("key ")).count();
    let mut parts: Vec<String> = used_by.iter().filter(|u| u.starts_with("API ")).cloned().collect();
    if subscriptions > 0 {
        parts.push(format!("{subscriptions} Self-Serve subscription{}", if subscriptions == 1 { "" } else { "s" }));
    }
    if keys > 0 {
        parts.push(format!("{keys} admin key{}", if keys == 1 { "" } else { "s" }));
    }
    if parts.is_empty() {
        "—".to_string()
    } else {
        parts.join(", ")
    }
}

pub(crate) fn validity_class(c: &CertificateView) -> &'static str {
    match c.validity.as_str() {
        "expired" | "not_yet_valid" => "badge bad",
        _ if c.days_left <= SOON_DAYS => "badge warn",
        _ => "badge ok",
    }
}

pub(crate) fn validity_text(c: &CertificateView) -> String {
    match c.validity.as_str() {
        "expired" => format!("Expired {} day(s) ago", -c.days_left),
        "not_yet_valid" => format!("Not valid before {}", c.not_before),
        // Far-future expiries read as a date: "755723 days left" says nothing.
        _ if c.days_left > FAR_DAYS => format!("Valid until {}", c.not_after.get(..10).unwrap_or(&c.not_after)),
        _ => format!("{} day(s) left", c.days_left),
    }
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

