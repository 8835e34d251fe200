//! `/products`: the APIs published to consumers, the plans they offer, who sees them, and — for
//! Auth Token + mTLS APIs — the certificate mode and binding. Checked against the stored APIs,
//! plans and organisations (400 with the service's code otherwise).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use certgate_core::portal::product::{CertificateMode, ProductAuth, ProductSpec};
use certgate_core::problem::Problem;
use certgate_services::products::ProductEntry;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::changes::{DryRunQuery, ViewChange};
use super::pagination::{Page, PageQuery};
use super::{created, query, AdminCaller, JsonBody, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, update_product, delete_product))
}

/// How a product's credentials authenticate, decided by its APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Authentication {
    /// Auth Tokens, and a client certificate per the product's certificate mode.
    AuthTokenMtls,
    /// Auth Tokens, no client certificate.
    AuthToken,
    /// JWTs from the API owner's issuer. Certificate modes do not apply: each API's allow list
    /// is managed by the admin on the API.
    Jwt,
}

impl From<ProductAuth> for Authentication {
    fn from(a: ProductAuth) -> Self {
        match a {
            ProductAuth::AuthToken { mtls: true } => Authentication::AuthTokenMtls,
            ProductAuth::AuthToken { mtls: false } => Authentication::AuthToken,
            ProductAuth::Jwt => Authentication::Jwt,
        }
    }
}

/// A product as stored, with its id, times and how it authenticates.
#[derive(Debug, Serialize, ToSchema)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub description: String,
    /// API ids.
    pub apis: Vec<String>,
    /// Plan ids offered, in display order.
    pub plans: Vec<String>,
    /// Only published products are in the consumers' catalogue.
    pub published: bool,
    /// `null`: every organisation sees it; otherwise only these organisation ids.
    pub visible_to: Option<Vec<String>>,
    pub authentication: Authentication,
    /// Whether the certificate mode and binding apply: only to `auth_token_mtls` products.
    /// For `jwt` products the allow list is the admin's, on each API.
    pub certificate_modes_apply: bool,
    /// `managed` or `self_serve` when they apply (a new product defaults to `managed`); `null`
    /// otherwise.
    pub certificate_mode: Option<CertificateMode>,
    /// Tokens work only with their certificates (`auth_token_mtls` products only).
    pub certificate_binding: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

impl From<ProductEntry> for Product {
    fn from(e: ProductEntry) -> Self {
        let (r, authentication) = (e.record, Authentication::from(e.auth));
        let s = r.spec;
        Product {
            id: r.id,
            name: s.name,
            description: s.description,
            apis: s.apis,
            plans: s.plans,
            published: s.published,
            visible_to: s.visible_to,
            authentication,
            certificate_modes_apply: authentication == Authentication::AuthTokenMtls,
            certificate_mode: s.certificate_mode,
            certificate_binding: s.certificate_binding,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Products by name (case-insensitive), then id.
#[utoipa::path(
    get,
    path = "/products",
    tag = "products",
    params(PageQuery),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "One page of products", body = Page<Product>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_products(
    admin: AdminCaller,
    State(state): State<AppState>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<Product>>, RestError> {
    let page = query(page, "invalid_query")?;
    let products = state.services.products.entries().await?;
    let page = page.page(products, |p| (p.record.spec.name.to_lowercase(), p.record.id.clone()), "products", &admin)?;
    Ok(Json(page.map(Product::from)))
}

#[utoipa::path(
    post,
    path = "/products",
    tag = "products",
    request_body = ProductSpec,
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 201, description = "Created (Location: its URL)", body = Product),
        (status = 400, description = "Invalid product: `unknown_api`, `unknown_plan`, `unknown_organisation`, `mixed_authentication`, \
                                      `api_not_protected`, `certificate_mode_not_applicable`, `plan_missing`, `invalid_name`, ...; or invalid JSON",
         body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_product(admin: AdminCaller, State(state): State<AppState>, JsonBody(spec): JsonBody<ProductSpec>) -> Result<Response, RestError> {
    let product = state.services.products.create_entry(spec, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, product = %product.record.id, "product created");
    Ok(created(format!("/api/v1/products/{}", product.record.id), Product::from(product)))
}

#[utoipa::path(
    get,
    path = "/products/{id}",
    tag = "products",
    params(("id" = String, Path, description = "Product id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "The product", body = Product),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_product(_admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Product>, RestError> {
    Ok(Json(state.services.products.entry(&id).await?.into()))
}

/// Replaces a product's definition, checked like a new one. Changing the certificate mode
/// carries live subscriptions over: Managed → Self-Serve gives each subscription its
/// organisation's current certificates as its own; Self-Serve → Managed uses the
/// organisations' certificates again, and is refused while one with live credentials has none.
#[utoipa::path(
    put,
    path = "/products/{id}",
    tag = "products",
    params(("id" = String, Path, description = "Product id"), DryRunQuery),
    request_body = ProductSpec,
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 200, description = "Replaced (with `?dry_run=true`: nothing changed, the product as it would be), with what the change does to live credentials and allow lists", body = ProductUpdate),
        (status = 400, description = "Invalid product or JSON (codes as for POST)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`organisation_has_no_certificate`: switching to Managed would leave an organisation's live credentials without a certificate", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_product(
    admin: AdminCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    dry_run: Result<Query<DryRunQuery>, QueryRejection>,
    JsonBody(spec): JsonBody<ProductSpec>,
) -> Result<Json<ProductUpdate>, RestError> {
    let dry_run = query(dry_run, "invalid_query")?.dry_run;
    let (product, change) = state.services.products.update_previewed(&id, spec, &admin.actor, dry_run).await?;
    if !dry_run {
        tracing::info!(actor = %admin.actor, product = %product.record.id, "product updated");
    }
    Ok(Json(ProductUpdate { product: product.into(), dry_run, change: change.into() }))
}

/// A product after an update (or as it would be, in a dry run), with what the update does.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductUpdate {
    #[serde(flatten)]
    pub product: Product,
    /// `true`: nothing was changed.
    pub dry_run: bool,
    pub change: ViewChange,
}

#[utoipa::path(
    delete,
    path = "/products/{id}",
    tag = "products",
    params(("id" = String, Path, description = "Product id")),
    security(("admin_token" = []), ("session" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn delete_product(admin: AdminCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, RestError> {
    state.services.products.delete(&id, &admin.actor).await?;
    tracing::info!(actor = %admin.actor, product = %id, "product deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}
