//! Admin: Plans — rate limit, quota, approval rule and token lifetime; one plan's page edits
//! and deletes it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::plans::{get_plan, lifetime_in_units, lifetime_text, list_plans, quota_text, rate_text, DeletePlan, PlanView, SavePlan};
use crate::components::{succeeded, ActionError, ConfirmDeleteFields};

#[component]
pub fn PlansPage() -> impl IntoView {
    let save = ServerAction::<SavePlan>::new();
    let plans = Resource::new(|| (), |_| list_plans());
    let query = use_query_map();
    view! {
        <Title text="Plans · certgate"/>
        <h1>"Plans"</h1>
        <p class="muted">
            "A plan sets the rate limit and quota of the subscriptions made with it, whether requests are approved at "
            "once, and how long a token works. Rate and quota are counted per subscription."
        </p>
        <section class="card">
            <h2>"New plan"</h2>
            <ActionForm action=save attr:class="stack" attr:aria-label="New plan">
                <input type="hidden" name="id" value=""/>
                <PlanFields plan=None/>
                <div><button type="submit" class="button primary">"Create plan"</button></div>
            </ActionForm>
            <ActionError error=Signal::derive(move || save.value().get().and_then(Result::err))/>
            // After a creation, the server sends the browser here with `?created=<id>`.
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let created = query.read().get("created");
                    plans.await.ok().and_then(|list| list.into_iter().find(|p| Some(&p.id) == created.as_ref())).map(|p| view! {
                        <p class="alert success" role="status">"Plan " <a href=format!("/admin/plans/{}", p.id)>{p.name}</a> " created."</p>
                    })
                })}
            </Suspense>
        </section>
        <section class="card">
            <h2>"All plans"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match plans.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No plans yet."</p> }.into_any(),
                        Ok(list) => view! { <PlanTable list/> }.into_any(),
                        Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn PlanTable(list: Vec<PlanView>) -> impl IntoView {
    view! {
        <table class="table" data-testid="plan-table">
            <thead><tr>
                <th scope="col">"Name"</th>
                <th scope="col">"Rate limit"</th>
                <th scope="col">"Quota"</th>
                <th scope="col">"Approval"</th>
                <th scope="col">"Token lifetime"</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|p| view! {
                    <tr data-testid="plan-row">
                        <td><a href=format!("/admin/plans/{}", p.id)>{p.name.clone()}</a></td>
                        <td>{rate_text(p.rate)}</td>
                        <td>{quota_text(&p.quota)}</td>
                        <td>{if p.auto_approve { "Automatic" } else { "By an admin" }}</td>
                        <td>{p.token_lifetime_seconds.map(lifetime_text).unwrap_or_else(|| "Until revoked".into())}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The fields of the plan form (`form[...]`), filled from `plan` when editing.
#[component]
fn PlanFields(plan: Option<PlanView>) -> impl IntoView {
    let p = plan.as_ref();
    let rate = p.and_then(|p| p.rate);
    let quota = p.and_then(|p| p.quota.clone());
    let period = quota.as_ref().map(|q| q.1.clone()).unwrap_or_else(|| "month".into());
    let lifetime = p.and_then(|p| p.token_lifetime_seconds).map(lifetime_in_units);
    let unit = lifetime.map(|l| l.1).unwrap_or("days");
    // Ids differ between the new-plan form and an existing plan's form.
    let prefix = if plan.is_some() { "edit" } else { "new" };
    let id = move |field: &str| format!("{prefix}-plan-{field}");
    view! {
        <div class="field">
            <label for=id("name")>"Name"</label>
            <input id=id("name") name="form[name]" required maxlength="100" value=p.map(|p| p.name.clone()).unwrap_or_default()/>
        </div>
        <fieldset class="field">
            <legend>"Rate limit (leave empty for none)"</legend>
            <div class="row-form">
                <div class="field">
                    <label for=id("rate-requests")>"Rate: requests"</label>
                    <input id=id("rate-requests") name="form[rate_requests]" type="number" min="1" value=rate.map(|r| r.0.to_string()).unwrap_or_default()/>
                </div>
                <div class="field">
                    <label for=id("rate-seconds")>"Rate: per seconds"</label>
                    <input id=id("rate-seconds") name="form[rate_per_seconds]" type="number" min="1" max="86400" value=rate.map(|r| r.1.to_string()).unwrap_or_default()/>
                </div>
            </div>
        </fieldset>
        <fieldset class="field">
            <legend>"Quota (leave empty for none)"</legend>
            <div class="row-form">
                <div class="field">
                    <label for=id("quota-max")>"Quota: requests"</label>
                    <input id=id("quota-max") name="form[quota_max]" type="number" min="1" value=quota.as_ref().map(|q| q.0.to_string()).unwrap_or_default()/>
                </div>
                <div class="field">
                    <label for=id("quota-period")>"Quota: per"</label>
                    <select id=id("quota-period") name="form[quota_period]">
                        <option value="day" selected=period == "day">"day"</option>
                        <option value="month" selected=period == "month">"month"</option>
                    </select>
                </div>
            </div>
        </fieldset>
        <fieldset class="field">
            <legend>"Token lifetime (leave empty: tokens work until rotated or revoked)"</legend>
            <div class="row-form">
                <div class="field">
                    <label for=id("lifetime")>"Token lifetime"</label>
                    <input id=id("lifetime") name="form[token_lifetime]" type="number" min="1" value=lifetime.map(|l| l.0.to_string()).unwrap_or_default()/>
                </div>
                <div class="field">
                    <label for=id("lifetime-unit")>"Token lifetime unit"</label>
                    <select id=id("lifetime-unit") name="form[token_lifetime_unit]">
                        {["minutes", "hours", "days"].into_iter().map(|u| view! { <option value=u selected=u == unit>{u}</option> }).collect_view()}
                    </select>
                </div>
            </div>
        </fieldset>
        <label class="check">
            <input type="checkbox" name="form[auto_approve]" value="on" checked=p.is_some_and(|p| p.auto_approve)/>
            " Approve access requests for this plan at once (auto-approve)"
        </label>
    }
}

#[component]
pub fn PlanDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let save = ServerAction::<SavePlan>::new();
    let plan = Resource::new(id, get_plan);
    view! {
        <Title text="Plan · certgate"/>
        <p><a href="/admin/plans">"← All plans"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match plan.await {
                    Ok(plan) => view! { <PlanDetail plan save/> }.into_any(),
                    Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PlanDetail(plan: PlanView, save: ServerAction<SavePlan>) -> impl IntoView {
    let delete = ServerAction::<DeletePlan>::new();
    let (id, name) = (plan.id.clone(), plan.name.clone());
    let (edit_id, edit_plan) = (plan.id.clone(), plan.clone());
    view! {
        <h1 data-testid="plan-title">{plan.name.clone()}</h1>
        <section class="card">
            <dl class="facts" data-testid="plan-facts">
                <dt>"Rate limit"</dt><dd>{rate_text(plan.rate)}</dd>
                <dt>"Quota"</dt><dd>{quota_text(&plan.quota)}</dd>
                <dt>"Approval"</dt><dd>{if plan.auto_approve { "Automatic (auto-approve)" } else { "By an admin" }}</dd>
                <dt>"Token lifetime"</dt><dd>{plan.token_lifetime_seconds.map(lifetime_text).unwrap_or_else(|| "Until rotated or revoked".into())}</dd>
            </dl>
        </section>
        <section class="card">
            <h2>"Edit"</h2>
            <p class="muted">"Live subscriptions on this plan take the new limits from the next request."</p>
            <ActionForm action=save attr:class="stack" attr:aria-label="Edit plan">
                <input type="hidden" name="id" value=edit_id/>
                <PlanFields plan=Some(edit_plan)/>
                <div><button type="submit" class="button primary">"Save plan"</button></div>
            </ActionForm>
            <ActionError error=Signal::derive(move || save.value().get().and_then(Result::err))/>
            {succeeded::<SavePlan>().then(|| view! { <p class="alert success" role="status">"Saved."</p> })}
        </section>
        <section class="card">
            <h2>"Delete"</h2>
            <p class="muted">"A plan that a product offers or a subscription uses cannot be deleted: you will be told which."</p>
            <ActionForm action=delete attr:class="row-form" attr:aria-label="Delete the plan">
                <ConfirmDeleteFields id what=format!("plan {name}")/>
            </ActionForm>
            <ActionError error=Signal::derive(move || delete.value().get().and_then(Result::err))/>
        </section>
    }
}
