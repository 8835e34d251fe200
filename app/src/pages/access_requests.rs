//! Admin: Access requests — tabs by state with counts, approve from the list, and a request's
//! page with what the decision needs (in Self-Serve: the submitted certificate) and rejection
//! with a reason.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::products::mode_label;
use crate::api::requests::{
    get_access_request, kind_label, list_access_requests, request_words, state_label, ApproveAccessRequest, RejectAccessRequest,
    RequestDetail, RequestList, RequestView, SubmittedCertificate, STATES,
};
use crate::components::ActionError;

#[component]
pub fn AccessRequestsPage() -> impl IntoView {
    let query = use_query_map();
    let state = move || query.read().get("state").filter(|s| STATES.contains(&s.as_str())).unwrap_or_else(|| "pending".into());
    let approve = ServerAction::<ApproveAccessRequest>::new();
    let after = move || query.read().get("after");
    let requests = Resource::new(move || (state(), after()), |(state, after)| list_access_requests(Some(state), after));
    view! {
        <Title text="Access requests · certgate"/>
        <h1>"Access requests"</h1>
        <p class="muted">"What consumers ask for: access to a product, another plan, or a renewed certificate. Approving takes effect at the gateway before the answer."</p>
        <ActionError error=Signal::derive(move || approve.value().get().and_then(Result::err))/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match requests.await {
                    Ok(list) => view! { <Tabs list current=state() paged=after().is_some() approve/> }.into_any(),
                    Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Tabs(list: RequestList, current: String, paged: bool, approve: ServerAction<ApproveAccessRequest>) -> impl IntoView {
    let tabs = list
        .counts
        .iter()
        .map(|(state, count)| {
            let here = *state == current;
            view! {
                <li>
                    <a href=format!("/admin/access-requests?state={state}") aria-current=here.then_some("page") data-testid=format!("tab-{state}")>
                        {state_label(state)}
                        " "
                        <span class="count" data-testid=format!("count-{state}")>{*count}</span>
                    </a>
                </li>
            }
        })
        .collect_view();
    let pending = current == "pending";
    let body = if list.items.is_empty() {
        view! { <p class="muted">{format!("No {} requests.", current)}</p> }.into_any()
    } else {
        view! {
            <div class="table-scroll">
            <table class="table" data-testid="request-table">
                <thead><tr>
                    <th scope="col">"App"</th>
                    <th scope="col">"Organisation"</th>
                    <th scope="col">"Product"</th>
                    <th scope="col">"Plan"</th>
                    <th scope="col">"Kind"</th>
                    <th scope="col">"Requested at"</th>
                    <th scope="col">{if pending { "Decide" } else { "Outcome" }}</th>
                </tr></thead>
                <tbody>
                    {list.items.into_iter().map(|r| view! { <Row r pending approve/> }).collect_view()}
                </tbody>
            </table>
            </div>
        }
        .into_any()
    };
    // Pages of 50, newest first: the newest again, and the next older page.
    let newest = paged.then(|| view! { <a href=format!("/admin/access-requests?state={current}")>"← Newest requests"</a> });
    let older = list.older.map(|after| view! {
        <a href=format!("/admin/access-requests?state={current}&after={after}") data-testid="older-requests">"Older requests →"</a>
    });
    view! {
        <nav aria-label="Request states"><ul class="tabs">{tabs}</ul></nav>
        <section class="card">
            {body}
            {(paged || older.is_some()).then(|| view! { <nav class="pager" aria-label="Pages of requests">{newest}" "{older}</nav> })}
        </section>
    }
}

#[component]
fn Row(r: RequestView, pending: bool, approve: ServerAction<ApproveAccessRequest>) -> impl IntoView {
    let words = request_words(&r);
    let detail = format!("/admin/access-requests/{}", r.id);
    let outcome = match (&r.decided, &r.reason) {
        (Some(d), Some(reason)) => format!("{d}: {reason}"),
        (Some(d), None) => d.clone(),
        _ => String::new(),
    };
    let row_id = r.id.clone();
    let form_id = r.id.clone();
    view! {
        <tr data-testid="request-row" data-id=row_id>
            <td><a href=detail.clone() aria-label=format!("Details of the {words}")>{r.app.name.clone()}</a></td>
            <td>{r.organisation.name.clone()}</td>
            <td>{r.product.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| "—".into())}</td>
            <td>{r.plan.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| "—".into())}</td>
            <td>{kind_label(&r.kind)}</td>
            <td>{r.requested_at.clone()}</td>
            <td>
                {if pending {
                    view! {
                        <ActionForm action=approve attr:class="row-form">
                            <input type="hidden" name="id" value=form_id/>
                            <button type="submit" class="button primary small" aria-label=format!("Approve {words}")>"Approve"</button>
                            <a class="button secondary small" href=detail aria-label=format!("Review {words}")>"Review"</a>
                        </ActionForm>
                    }.into_any()
                } else {
                    view! { <span class="small">{outcome}</span> }.into_any()
                }}
            </td>
        </tr>
    }
}

#[component]
pub fn AccessRequestDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let approve = ServerAction::<ApproveAccessRequest>::new();
    let reject = ServerAction::<RejectAccessRequest>::new();
    let request = Resource::new(id, get_access_request);
    view! {
        <Title text="Access request · certgate"/>
        <p><a href="/admin/access-requests">"← All access requests"</a></p>
        <ActionError error=Signal::derive(move || approve.value().get().and_then(Result::err))/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match request.await {
                    Ok(detail) => view! { <Detail detail approve reject/> }.into_any(),
                    Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Detail(detail: RequestDetail, approve: ServerAction<ApproveAccessRequest>, reject: ServerAction<RejectAccessRequest>) -> impl IntoView {
    let r = detail.request.clone();
    let words = request_words(&r);
    let pending = r.state == "pending";
    let mode = match detail.certificate_mode.as_deref() {
        Some("managed") => {
            let count = detail.organisation_certificates.map(|n| format!(" The organisation has {n} certificate(s) usable now; the credential will use all of them.")).unwrap_or_default();
            format!("Managed: the organisation's certificates are used.{count}")
        }
        Some(_) => "Self-Serve: the consumer submitted the certificate below.".to_string(),
        None => format!("{}: this product's APIs do not take portal certificates.", mode_label(None)),
    };
    // Approval re-checks these rules; say beforehand when it will be refused.
    let blocker = match (&detail.certificate, detail.organisation_certificates) {
        _ if !pending => None,
        (_, Some(0)) => Some(
            "Approval will be refused: the organisation has no certificate usable for client authentication. Link one to it on the \
             Certificates page first, or reject the request.",
        ),
        (Some(c), _) if !c.usable_now => Some("Approval will be refused: the submitted certificate cannot authenticate a client now. Reject the request with the reason."),
        _ => None,
    };
    let binding = if detail.certificate_mode.is_none() {
        "Does not apply"
    } else if detail.certificate_binding {
        "On: the token will work only with these certificates"
    } else {
        "Off"
    };
    view! {
        <h1 data-testid="request-title">{format!("{}: {}", kind_label(&r.kind), words)}</h1>
        <section class="card">
            <dl class="facts" data-testid="request-facts">
                <dt>"State"</dt><dd data-testid="request-state">{state_label(&r.state)}</dd>
                {r.decided.clone().map(|d| view! { <dt>"Decision"</dt><dd>{d}</dd> })}
                {r.reason.clone().map(|reason| view! { <dt>"Reason given"</dt><dd data-testid="request-reason">{reason}</dd> })}
                <dt>"App"</dt><dd>{r.app.name.clone()}</dd>
                <dt>"Organisation"</dt><dd>{r.organisation.name.clone()}</dd>
                <dt>"Product"</dt><dd>{r.product.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| "—".into())}</dd>
                <dt>"Plan"</dt><dd>{r.plan.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| "—".into())}</dd>
                <dt>"Kind"</dt><dd>{kind_label(&r.kind)}</dd>
                <dt>"Requested at"</dt><dd>{r.requested_at.clone()}</dd>
                <dt>"Certificates"</dt><dd data-testid="request-mode">{mode}</dd>
                <dt>"Binding"</dt><dd>{binding}</dd>
            </dl>
        </section>
        {detail.certificate.clone().map(|c| view! { <Certificate c/> })}
        {blocker.map(|text| view! { <p class="alert error" data-testid="approval-blocker">{text}</p> })}
        {pending.then(|| {
            let (approve_id, reject_id) = (r.id.clone(), r.id.clone());
            let (approve_name, reject_name) = (format!("Approve {words}"), format!("Reject {words}"));
            view! {
                <section class="card">
                    <h2>"Decide"</h2>
                    <ActionForm action=approve attr:class="row-form" attr:aria-label="Approve">
                        <input type="hidden" name="id" value=approve_id/>
                        <button type="submit" class="button primary" aria-label=approve_name>"Approve"</button>
                    </ActionForm>
                    <ActionForm action=reject attr:class="stack" attr:aria-label="Reject">
                        <input type="hidden" name="id" value=reject_id/>
                        <div class="field">
                            <label for="reject-reason">"Reason for rejecting (the consumer reads it)"</label>
                            <textarea id="reject-reason" name="reason" rows="3" maxlength="1000" required></textarea>
                        </div>
                        <div><button type="submit" class="button danger" aria-label=reject_name>"Reject"</button></div>
                    </ActionForm>
                    <ActionError error=Signal::derive(move || reject.value().get().and_then(Result::err))/>
                </section>
            }
        })}
    }
}

#[component]
fn Certificate(c: SubmittedCertificate) -> impl IntoView {
    let usable = match &c.problem {
        None => "Usable for client authentication now".to_string(),
        Some(problem) => format!("Not usable now: {problem}"),
    };
    let validity = match c.validity.as_str() {
        "expired" => "expired",
        "not_yet_valid" => "not yet valid",
        _ => "valid now",
    };
    view! {
        <section class="card">
            <h2>"Submitted certificate"</h2>
            <dl class="facts" data-testid="submitted-certificate">
                <dt>"Subject"</dt><dd data-testid="cert-subject">{c.subject.clone()}</dd>
                <dt>"Issuer"</dt><dd data-testid="cert-issuer">{c.issuer.clone()}</dd>
                <dt>"Valid from"</dt><dd>{c.not_before.clone()}</dd>
                <dt>"Valid until"</dt><dd data-testid="cert-not-after">{c.not_after.clone()} " (" {validity} ")"</dd>
                <dt>"Key"</dt><dd data-testid="cert-key">{c.key_algorithm.clone()}</dd>
                <dt>"Serial"</dt><dd>{c.serial.clone()}</dd>
                <dt>"Fingerprint (SHA-256)"</dt><dd><code>{c.fingerprint_sha256.clone()}</code></dd>
                <dt>"Client authentication"</dt>
                <dd data-testid="cert-usable" data-usable=c.usable_now.to_string()>
                    <span class=if c.usable_now { "badge ok" } else { "badge bad" }>{usable}</span>
                </dd>
            </dl>
        </section>
    }
}
