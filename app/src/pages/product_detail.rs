//! Admin: one product — what it grants and how, its form, and deletion.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::apis::list_apis;
use crate::api::list_organisations;
use crate::api::plans::list_plans;
use crate::api::products::{authentication_label, get_product, mode_label, DeleteProduct, ProductKind, ProductView, SaveProduct};
use crate::components::{succeeded, ActionError, ConfirmDeleteFields};
use crate::error::AppError;
use crate::pages::change_preview::ConfirmChange;
use crate::pages::products::{binding_text, visibility_text, ProductFields};

#[component]
pub fn ProductDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    // On the server: the error of the save just posted without wasm, if any.
    let save = ServerAction::<SaveProduct>::new();
    let product = Resource::new(id, get_product);
    let choices = Resource::new(|| (), |_| async { Ok::<_, AppError>((list_apis().await?, list_plans().await?, list_organisations().await?)) });
    view! {
        <Title text="Product · certgate"/>
        <p><a href="/admin/products">"← All products"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (product.await, choices.await) {
                    (Ok(product), Ok((apis, plans, orgs))) => view! { <Detail product apis plans orgs save/> }.into_any(),
                    (Err(e), _) | (_, Err(e)) => view! { <p class="alert error" role="alert">{e.message}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Island: the edit form (its fields are server-rendered children). Saving first shows what
/// the change does to live credentials, in place, and applies it when confirmed; the page is
/// then loaded again. Posted without wasm, a change that needs confirming is refused.
#[island]
fn SaveProductForm(name: String, children: Children) -> impl IntoView {
    // Applied, the server sends the page to itself with `?__ok=` (the client follows).
    let save = ServerAction::<SaveProduct>::new();
    let ready = crate::components::hydrated();
    let busy = move || !ready.get() || save.pending().get();
    view! {
        <ActionForm action=save attr:class="stack" attr:aria-label="Edit product">
            {children()}
            <ConfirmChange pending=Signal::derive(move || save.value().get().and_then(Result::ok).and_then(|p| p.pending())) what=format!("save product {name}")/>
            <div><button type="submit" class="button primary" disabled=busy>"Save product"</button></div>
        </ActionForm>
        <ActionError error=Signal::derive(move || save.value().get().and_then(Result::err))/>
    }
}

#[component]
fn Detail(
    product: ProductView,
    apis: Vec<crate::api::apis::ApiSummary>,
    plans: Vec<crate::api::plans::PlanView>,
    orgs: Vec<crate::api::OrganisationView>,
    save: ServerAction<SaveProduct>,
) -> impl IntoView {
    let delete = ServerAction::<DeleteProduct>::new();
    let p = product.clone();
    let stored: Vec<&crate::api::apis::ApiSummary> = apis.iter().filter(|a| p.apis.iter().any(|x| x.id == a.id)).collect();
    let explanation = ProductKind::of(&stored).explanation();
    let names = |list: &[crate::api::products::Named]| {
        if list.is_empty() {
            "—".to_string()
        } else {
            list.iter().map(|n| n.name.clone()).collect::<Vec<_>>().join(", ")
        }
    };
    let mode_text = match p.certificate_mode.as_deref() {
        Some("managed") => "Managed: an approved app uses every certificate linked to its organisation",
        Some("self_serve") => "Self-Serve: the consumer submits a certificate with each request",
        _ => "Does not apply",
    };
    let (edit_id, delete_id, delete_what) = (p.id.clone(), p.id.clone(), format!("product {}", p.name));
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let name = p.name.clone();
    view! {
        <h1 data-testid="product-title">{p.name.clone()}</h1>
        {(!p.description.is_empty()).then(|| view! { <p>{p.description.clone()}</p> })}
        <section class="card">
            <dl class="facts" data-testid="product-facts">
                <dt>"APIs"</dt><dd>{names(&p.apis)}</dd>
                <dt>"Authentication"</dt><dd data-testid="product-authentication">{authentication_label(&p.authentication)}</dd>
                <dt>"Certificate mode"</dt><dd data-testid="product-mode" data-mode=mode_label(p.certificate_mode.as_deref())>{mode_text}</dd>
                <dt>"Certificate binding"</dt><dd data-testid="product-binding">{binding_text(&p)}</dd>
                <dt>"Plans"</dt><dd>{names(&p.plans)}</dd>
                <dt>"Visible to"</dt><dd>{visibility_text(&p)}</dd>
            </dl>
            {explanation.map(|text| view! { <p class="note" data-testid="product-explanation">{text}</p> })}
        </section>
        <section class="card">
            <h2>"Edit"</h2>
            <p class="muted">
                "Live credentials follow a change of APIs, mode or binding from the next request. When a change alters "
                "live credentials or allow lists, saving first shows what it does, and applies it when you confirm."
            </p>
            <SaveProductForm name>
                <input type="hidden" name="id" value=edit_id/>
                <ProductFields apis plans orgs product=Some(product) error/>
            </SaveProductForm>
            {succeeded::<SaveProduct>().then(|| view! {
                <p class="alert success" role="status" data-testid="product-saved">"Saved. The gateway enforces it from the next request."</p>
            })}
        </section>
        <section class="card">
            <h2>"Delete"</h2>
            <p class="muted">"A product with subscriptions cannot be deleted: you will be told whose."</p>
            <ActionForm action=delete attr:class="row-form" attr:aria-label="Delete the product">
                <ConfirmDeleteFields id=delete_id what=delete_what/>
            </ActionForm>
            <ActionError error=Signal::derive(move || delete.value().get().and_then(Result::err))/>
        </section>
    }
}
