//! Admin: Products — the APIs published to consumers, with their plans, visibility and the
//! seed's certificate mode and binding. The form is shared with a product's page.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::apis::{list_apis, ApiSummary};
use crate::api::plans::{list_plans, PlanView};
use crate::api::products::{authentication_label, list_products, mode_label, product_error_field, ProductKind, ProductView, SaveProduct};
use crate::api::{list_organisations, OrganisationView};
use crate::components::FieldError;
use crate::error::AppError;

#[component]
pub fn ProductsPage() -> impl IntoView {
    let save = ServerAction::<SaveProduct>::new();
    let products = Resource::new(|| (), |_| list_products());
    // The form's choices come from resources that a failed save does not reload: the form
    // keeps every choice. A successful creation opens the product's page.
    let choices = Resource::new(|| (), |_| async { Ok::<_, AppError>((list_apis().await?, list_plans().await?, list_organisations().await?)) });
    view! {
        <Title text="Products · certgate"/>
        <h1>"Products"</h1>
        <p class="muted">
            "A product bundles APIs for consumers and offers plans. For APIs that use Auth Tokens with a client "
            "certificate (mTLS), it also says where the certificates come from (Managed or Self-Serve) and whether "
            "tokens are bound to them."
        </p>
        <section class="card">
            <h2>"All products"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match products.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No products yet."</p> }.into_any(),
                        Ok(list) => view! { <ProductTable list/> }.into_any(),
                        Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <section class="card">
            <h2>"New product"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match choices.await {
                        Ok((apis, plans, orgs)) => view! {
                            <ActionForm action=save attr:class="stack" attr:aria-label="New product">
                                <input type="hidden" name="id" value=""/>
                                <ProductFields apis plans orgs product=None error=Signal::derive(move || save.value().get().and_then(Result::err))/>
                                <div><button type="submit" class="button primary">"Create product"</button></div>
                            </ActionForm>
                        }.into_any(),
                        Err(e) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Who sees a product, in words.
pub fn visibility_text(p: &ProductView) -> String {
    let who = match &p.visible_to {
        None => "All organisations".to_string(),
        Some(orgs) => orgs.iter().map(|o| o.name.clone()).collect::<Vec<_>>().join(", "),
    };
    if p.published {
        who
    } else {
        format!("Unpublished (would be: {who})")
    }
}

/// Binding in words (only where modes apply).
pub fn binding_text(p: &ProductView) -> &'static str {
    match (p.certificate_mode.is_some(), p.certificate_binding) {
        (false, _) => "Does not apply",
        (true, true) => "On: tokens work only with their certificates",
        (true, false) => "Off",
    }
}

#[component]
fn ProductTable(list: Vec<ProductView>) -> impl IntoView {
    view! {
        <div class="table-scroll">
        <table class="table" data-testid="product-table">
            <thead><tr>
                <th scope="col">"Name"</th>
                <th scope="col">"APIs"</th>
                <th scope="col">"Authentication"</th>
                <th scope="col">"Certificate mode"</th>
                <th scope="col">"Binding"</th>
                <th scope="col">"Plans"</th>
                <th scope="col">"Visible to"</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|p| {
                    let apis = p.apis.iter().map(|a| a.name.clone()).collect::<Vec<_>>().join(", ");
                    let plans = if p.plans.is_empty() { "—".to_string() } else { p.plans.iter().map(|a| a.name.clone()).collect::<Vec<_>>().join(", ") };
                    view! {
                        <tr data-testid="product-row">
                            <td><a href=format!("/admin/products/{}", p.id)>{p.name.clone()}</a></td>
                            <td>{apis}</td>
                            <td>{authentication_label(&p.authentication)}</td>
                            <td data-testid="product-mode">{mode_label(p.certificate_mode.as_deref())}</td>
                            <td data-testid="product-binding">{binding_text(&p)}</td>
                            <td>{plans}</td>
                            <td>{visibility_text(&p)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

/// The fields of the product form (`form[...]`), filled from `product` when editing. Service
/// errors are shown at their field. The note under the APIs follows the ticked APIs once the
/// page is hydrated (before that, it describes the stored product).
#[component]
pub fn ProductFields(
    apis: Vec<ApiSummary>,
    plans: Vec<PlanView>,
    orgs: Vec<OrganisationView>,
    product: Option<ProductView>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let p = product.as_ref();
    let chosen_apis: Vec<String> = p.map(|p| p.apis.iter().map(|a| a.id.clone()).collect()).unwrap_or_default();
    let chosen_plans: Vec<String> = p.map(|p| p.plans.iter().map(|a| a.id.clone()).collect()).unwrap_or_default();
    let chosen_orgs: Vec<String> = p.and_then(|p| p.visible_to.as_ref()).map(|o| o.iter().map(|o| o.id.clone()).collect()).unwrap_or_default();
    let mode = p.and_then(|p| p.certificate_mode.clone());
    let binding = p.is_some_and(|p| p.certificate_binding);
    let everyone = p.is_none_or(|p| p.visible_to.is_none());
    let prefix = if p.is_some() { "edit" } else { "new" };
    let id = move |field: &str| format!("{prefix}-product-{field}");
    let at = move |field: &'static str| view! { <FieldError error field place=product_error_field/> };
    view! {
        {at("form")}
        <div class="field">
            <label for=id("name")>"Name"</label>
            <input id=id("name") name="form[name]" required maxlength="100" value=p.map(|p| p.name.clone()).unwrap_or_default()/>
            {at("name")}
        </div>
        <div class="field">
            <label for=id("description")>"Description (shown in the catalogue)"</label>
            <textarea id=id("description") name="form[description]" rows="3" maxlength="2000">{p.map(|p| p.description.clone()).unwrap_or_default()}</textarea>
            {at("description")}
        </div>
        <fieldset class="field" data-testid="product-apis">
            <legend>"APIs"</legend>
            {apis.is_empty().then(|| view! { <p class="muted">"No APIs yet: create one on the " <a href="/admin/apis">"APIs"</a> " page first."</p> })}
            <div class="checks">
                {apis.iter().map(|api| {
                    let api_id = api.id.clone();
                    let how = match (api.auth.as_str(), api.mtls_required) {
                        ("auth_token", true) => "Auth Token + mTLS",
                        ("auth_token", false) => "Auth Token",
                        ("jwt", true) => "JWT + mTLS",
                        ("jwt", false) => "JWT",
                        _ => "no authentication",
                    };
                    view! {
                        <label class="check">
                            <input
                                type="checkbox"
                                name="form[apis][]"
                                value=api_id.clone()
                                checked=chosen_apis.contains(&api_id)
                            />
                            {format!(" {} ({}, {})", api.name, api.listen_path, how)}
                        </label>
                    }
                }).collect_view()}
            </div>
            {at("apis")}
        </fieldset>
        <fieldset class="field">
            <legend>"Plans offered"</legend>
            {plans.is_empty().then(|| view! { <p class="muted">"No plans yet: create one on the " <a href="/admin/plans">"Plans"</a> " page."</p> })}
            <div class="checks">
                {plans.iter().map(|plan| view! {
                    <label class="check">
                        <input type="checkbox" name="form[plans][]" value=plan.id.clone() checked=chosen_plans.contains(&plan.id)/>
                        {format!(" {}", plan.name)}
                    </label>
                }).collect_view()}
            </div>
            {at("plans")}
        </fieldset>
        <fieldset class="field">
            <legend>"Visible to"</legend>
            <label class="check"><input type="radio" name="form[visibility]" value="all" checked=everyone/>" All organisations"</label>
            <label class="check"><input type="radio" name="form[visibility]" value="chosen" checked=!everyone/>" Only these organisations:"</label>
            <div class="checks">
                {orgs.iter().map(|o| view! {
                    <label class="check">
                        <input type="checkbox" name="form[organisations][]" value=o.id.clone() checked=chosen_orgs.contains(&o.id)/>
                        {format!(" {}", o.name)}
                    </label>
                }).collect_view()}
            </div>
            {at("visibility")}
        </fieldset>
        <label class="check">
            <input type="checkbox" name="form[published]" value="on" checked=p.is_some_and(|p| p.published)/>
            " Published: consumers of the organisations above see it in the catalogue"
        </label>
        <ModeFields apis chosen=chosen_apis>
            <label class="check">
                <input type="radio" name="form[certificate_mode]" value="managed" checked=mode.as_deref() == Some("managed")/>
                " Managed: you link certificates to organisations; an approved app uses all of its organisation's certificates"
            </label>
            <label class="check">
                <input type="radio" name="form[certificate_mode]" value="self_serve" checked=mode.as_deref() == Some("self_serve")/>
                " Self-Serve: the consumer uploads a certificate with the access request, and you approve it"
            </label>
            <label class="check">
                <input type="checkbox" name="form[certificate_binding]" value="on" checked=binding/>
                " Certificate-token binding: a token works only with its credential's certificates"
            </label>
            {at("mode")}
        </ModeFields>
    }
}

/// Island: the certificate fields, which apply to Auth Token + mTLS APIs only. While the
/// ticked APIs are others they are turned off, with the reason. The server renders them for
/// the stored product; in the browser they follow the ticks (read from the page: a refused
/// form's ticks are put back before islands hydrate).
#[island]
fn ModeFields(apis: Vec<ApiSummary>, chosen: Vec<String>, children: Children) -> impl IntoView {
    const TICKS: &str = "form[apis][]";
    let selected = RwSignal::new(chosen);
    Effect::new(move |_| {
        selected.set(crate::browser::checked_values(TICKS));
        crate::browser::on_change_of(TICKS, move || selected.set(crate::browser::checked_values(TICKS)));
    });
    let kind = Memo::new(move |_| {
        let ids = selected.get();
        ProductKind::of(&apis.iter().filter(|a| ids.contains(&a.id)).collect::<Vec<_>>())
    });
    view! {
        <fieldset class="field" data-testid="product-mode-fields" disabled=move || !matches!(kind.get(), ProductKind::AuthTokenMtls | ProductKind::NoApis)>
            <legend>"Client certificates (Auth Token + mTLS APIs only)"</legend>
            {move || kind.get().explanation().map(|text| view! { <p class="note" data-testid="mode-explanation">{text}</p> })}
            {children()}
        </fieldset>
    }
}
