//! Developer portal: the catalogue — the products the consumer's organisation may use, and one
//! product's page with its APIs, plans, limits and how to authenticate.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{auth_text, binding_text, mode_text, LoadError};
use super::request_form::RequestForm;
use crate::api::portal::{portal_product, portal_products, portal_request_context, ProductView, RequestContext};

#[component]
pub fn PortalProductsPage() -> impl IntoView {
    let products = Resource::new(|| (), |_| portal_products());
    view! {
        <Title text="Catalogue · certgate"/>
        <h1>"Catalogue"</h1>
        <p class="muted">"The API products your organisation can request access to. Open one to see its APIs, plans and how to call them."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match products.await {
                    Ok(list) if list.is_empty() => view! {
                        <p class="muted" data-testid="no-products">"No products are offered to your organisation yet."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <div class="grid" data-testid="products">
                            {list.into_iter().map(|p| view! { <ProductCard p/> }).collect_view()}
                        </div>
                    }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProductCard(p: ProductView) -> impl IntoView {
    let apis = p.apis.iter().map(|a| a.name.clone()).collect::<Vec<_>>().join(", ");
    let plans = p.plans.iter().map(|a| a.name.clone()).collect::<Vec<_>>().join(", ");
    view! {
        <article class="card" data-testid="product" data-id=p.id.clone()>
            <h2><a href=format!("/portal/products/{}", p.id)>{p.name.clone()}</a></h2>
            {(!p.description.is_empty()).then(|| view! { <p>{p.description.clone()}</p> })}
            <dl class="facts">
                <dt>"APIs"</dt><dd>{apis}</dd>
                <dt>"Plans"</dt><dd>{plans}</dd>
                <dt>"Certificates"</dt><dd>{mode_text(p.certificate_mode.as_deref())}</dd>
            </dl>
        </article>
    }
}

#[component]
pub fn PortalProductPage() -> impl IntoView {
    let params = use_params_map();
    let product = Resource::new(move || params.read().get("id").unwrap_or_default(), portal_product);
    let context = Resource::new(|| (), |_| portal_request_context());
    view! {
        <Title text="Product · certgate"/>
        <p><a href="/portal/products">"← Catalogue"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (product.await, context.await) {
                    (Ok(p), Ok(context)) => view! { <ProductDetail p context/> }.into_any(),
                    (Err(error), _) | (_, Err(error)) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn ProductDetail(p: ProductView, context: RequestContext) -> impl IntoView {
    let modes_apply = p.certificate_mode.is_some();
    let form_product = p.clone();
    view! {
        <h1 data-testid="product-title">{p.name.clone()}</h1>
        {(!p.description.is_empty()).then(|| view! { <p>{p.description.clone()}</p> })}
        <section class="card" aria-labelledby="product-apis">
            <h2 id="product-apis">"APIs"</h2>
            <div class="table-scroll">
            <table class="table" data-testid="product-apis">
                <thead><tr>
                    <th scope="col">"API"</th>
                    <th scope="col">"Gateway address"</th>
                    <th scope="col">"Authentication"</th>
                    <th scope="col">"Client certificate"</th>
                </tr></thead>
                <tbody>
                    {p.apis.iter().cloned().map(|a| view! {
                        <tr>
                            <td>{a.name}</td>
                            <td><code data-testid="gateway-url">{a.gateway_url}</code></td>
                            <td>{a.auth}</td>
                            <td>{if a.mtls_required { "required (mutual TLS)" } else { "not required" }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        </section>
        <section class="card" aria-labelledby="product-plans">
            <h2 id="product-plans">"Plans"</h2>
            <table class="table" data-testid="product-plans">
                <thead><tr>
                    <th scope="col">"Plan"</th>
                    <th scope="col">"Rate limit"</th>
                    <th scope="col">"Quota"</th>
                    <th scope="col">"Approval"</th>
                    <th scope="col">"Token lifetime"</th>
                </tr></thead>
                <tbody>
                    {p.plans.iter().map(|plan| view! {
                        <tr data-testid="plan">
                            <td>{plan.name.clone()}</td>
                            <td>{plan.rate.clone().unwrap_or_else(|| "none".to_string())}</td>
                            <td>{plan.quota.clone().unwrap_or_else(|| "none".to_string())}</td>
                            <td>{if plan.auto_approve { "immediate" } else { "by the API provider" }}</td>
                            <td>{plan.token_lifetime.clone().unwrap_or_else(|| "does not expire".to_string())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <p class="muted small">"Limits count per subscription: changing plan or rotating a token does not reset them."</p>
        </section>
        <section class="card" aria-labelledby="product-auth">
            <h2 id="product-auth">"How to authenticate"</h2>
            <p data-testid="auth-text">{auth_text(&p.authentication)}</p>
            {modes_apply.then(|| view! {
                <h3>"Client certificates"</h3>
                <p data-testid="mode-text">{mode_text(p.certificate_mode.as_deref())}</p>
                <p data-testid="binding-text">{binding_text(p.certificate_binding)}</p>
            })}
        </section>
        <section aria-labelledby="product-request">
            <h2 id="product-request">"Get access"</h2>
            <p class="muted">"Access is requested for one of your " <a href="/portal/apps">"apps"</a> ", with a plan."</p>
            <RequestForm apps=context.apps product=form_product organisation_certificates=context.organisation_certificates/>
        </section>
    }
}
