//! Admin: API Consumers > Certificates — the facade over the provider's certificate store.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::certificates::{list_certificates, CertificateView, UploadCertificate};
use crate::browser::OwnedText;
use crate::components::{ActionError, CopyButton};

/// Days before expiry at which a certificate is called out.
const SOON_DAYS: i64 = 30;

#[component]
pub fn CertificatesPage() -> impl IntoView {
    let upload = ServerAction::<UploadCertificate>::new();
    let certificates = Resource::new(move || upload.version().get(), |_| list_certificates(None, None, None, None));
    view! {
        <Title text="Certificates · certgate"/>
        <h1>"Certificates"</h1>
        <p class="muted">
            "The client certificates in the provider's certificate store. Names and organisation links are "
            "portal data: they are not written into the provider's record."
        </p>
        <UploadForm upload/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match certificates.await {
                    Ok(list) => view! {
                        <ExpiryOverview list=list.clone()/>
                        <CertificateTable list/>
                    }.into_any(),
                    Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn UploadForm(upload: ServerAction<UploadCertificate>) -> impl IntoView {
    let pem = OwnedText::new();
    let uploaded = move || upload.value().get().and_then(Result::ok);
    // Clear the pasted text after a successful upload.
    Effect::new(move |_| {
        if uploaded().is_some() {
            pem.set("");
        }
    });
    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use web_sys::wasm_bindgen::JsCast;
            if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                leptos::task::spawn_local(async move {
                    if let Some(text) = crate::browser::read_certificate_file(input).await {
                        pem.set(&text);
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
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
                        node_ref=pem.0
                        required
                    ></textarea>
                </div>
                <div class="row-form">
                    <div class="field grow">
                        <label for="cert-file">"…or choose a file (PEM or DER)"</label>
                        <input id="cert-file" type="file" accept=".pem,.crt,.cer,.der" on:change=on_file/>
                    </div>
                    <div class="field grow">
                        <label for="cert-name">"Name in the portal (optional)"</label>
                        <input id="cert-name" name="display_name" maxlength="100"/>
                    </div>
                </div>
                <ActionError error=Signal::derive(move || upload.value().get().and_then(Result::err))/>
                {move || uploaded().map(|c| view! {
                    <p class="alert success" role="status">
                        "Added " <a href=format!("/admin/certificates/{}", c.id)>{c.label.clone()}</a>
                        {(c.validity != "valid").then(|| format!(" — note: this certificate is {}.", c.validity.replace('_', " ")))}
                    </p>
                })}
                <div><button type="submit" class="button primary">"Upload"</button></div>
            </ActionForm>
        </section>
    }
}

/// Counts by expiry window and a bar per month for the next 12 months.
#[component]
fn ExpiryOverview(list: Vec<CertificateView>) -> impl IntoView {
    let count = |days: i64| list.iter().filter(|c| c.days_left >= 0 && c.days_left <= days).count();
    let expired = list.iter().filter(|c| c.days_left < 0).count();
    let (in7, in30, in90) = (count(7), count(30), count(90));
    let mut months = [0usize; 12];
    for c in &list {
        if c.days_left >= 0 {
            // Integer arithmetic only: float formatting would add to the wasm for nothing.
            let month = (c.days_left * 100 / 3044) as usize;
            if month < 12 {
                months[month] += 1;
            }
        }
    }
    let tallest = months.iter().copied().max().unwrap_or(0).max(1);
    view! {
        <section class="card">
            <h2>"Expiry at a glance"</h2>
            <ul class="stat-row">
                <li class=("stat-bad", expired > 0)><span class="stat" data-testid="expired-count">{expired}</span>" expired"</li>
                <li class=("stat-warn", in7 > 0)><span class="stat" data-testid="expiring-7">{in7}</span>" within 7 days"</li>
                <li class=("stat-warn", in30 > 0)><span class="stat" data-testid="expiring-30">{in30}</span>" within 30 days"</li>
                <li><span class="stat" data-testid="expiring-90">{in90}</span>" within 90 days"</li>
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

#[component]
fn CertificateTable(list: Vec<CertificateView>) -> impl IntoView {
    if list.is_empty() {
        return view! { <section class="card"><p class="muted">"No certificates yet: upload one above."</p></section> }.into_any();
    }
    view! {
        <section class="card">
            <h2>"All certificates"</h2>
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
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|c| view! { <CertificateRow c/> }).collect_view()}
                </tbody>
            </table>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn CertificateRow(c: CertificateView) -> impl IntoView {
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
            <td><code title=c.fingerprint_sha256.clone() data-testid="fingerprint">{short}</code> <CopyButton text=c.fingerprint_sha256.clone() label=format!("Copy the fingerprint of {}", c.label)/></td>
            <td><span class=validity_class>{validity_text(&c)}</span></td>
            <td>{if c.kind == "ca" { "CA" } else { "Leaf" }}</td>
            <td>{organisations}</td>
            <td>{used_by_summary(&c.used_by)}</td>
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
        _ => format!("{} day(s) left", c.days_left),
    }
}

