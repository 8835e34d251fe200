//! `/portal/products`: the catalogue a consumer's organisation sees — published products
//! visible to it, with their APIs, plans and certificate terms. Any other product id answers
//! 404 exactly like a missing one.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use certgate_core::gateway::spec::{AuthKind, Quota, Rate};
use certgate_core::portal::product::CertificateMode;
use certgate_core::problem::Problem;
use certgate_services::portal::catalogue;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pagination::{Page, PageQuery};
use super::portal::ConsumerCaller;
use super::{query, RestError};
use crate::router::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_products)).routes(routes!(get_product))
}

/// An API of a product: where to call it and how to authenticate.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogueApi {
    pub id: String,
    pub name: String,
    /// The gateway path prefix it answers under.
    pub listen_path: String,
    pub auth: AuthKind,
    /// Requests must present a client certificate.
    pub mtls_required: bool,
}

/// A plan a product offers, with the limits a subscription gets.
#[derive(Debug, Serialize, ToSchema)]
pub struct CataloguePlan {
    pub id: String,
    pub name: String,
    /// `null`: no rate limit.
    pub rate: Option<Rate>,
    /// `null`: no quota.
    pub quota: Option<Quota>,
    /// Requests for it are approved at once.
    pub auto_approve: bool,
    /// Tokens stop working this long after they are made; `null`: no limit.
    pub token_lifetime_seconds: Option<u64>,
}

/// A product of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogueProduct {
    pub id: String,
    pub name: String,
    pub description: String,
    pub apis: Vec<CatalogueApi>,
    pub plans: Vec<CataloguePlan>,
    /// Auth Token + mTLS products: `managed` (your organisation's certificates, linked by the
    /// provider) or `self_serve` (you send your certificate with the request). Otherwise `null`.
    pub certificate_mode: Option<CertificateMode>,
    /// Tokens work only with the credential's certificates.
    pub certificate_binding: bool,
}

impl From<catalogue::CatalogueProduct> for CatalogueProduct {
    fn from(p: catalogue::CatalogueProduct) -> Self {
        CatalogueProduct {
            id: p.id,
            name: p.name,
            description: p.description,
            apis: p
                .apis
                .into_iter()
                .map(|a| CatalogueApi { id: a.id, name: a.name, listen_path: a.listen_path, auth: a.auth, mtls_required: a.mtls_required })
                .collect(),
            plans: p
                .plans
                .into_iter()
                .map(|p| CataloguePlan {
                    id: p.id,
                    name: p.spec.name,
                    rate: p.spec.rate,
                    quota: p.spec.quota,
                    auto_approve: p.spec.auto_approve,
                    token_lifetime_seconds: p.spec.token_lifetime_seconds,
                })
                .collect(),
            certificate_mode: p.certificate_mode,
            certificate_binding: p.certificate_binding,
        }
    }
}

/// Products by name (case-insensitive), then id.
#[utoipa::path(get, path = "/portal/products", tag = "portal", params(PageQuery), security(("session" = [])),
    responses((status = 200, description = "One page of the products your organisation sees", body = Page<CatalogueProduct>),
              (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json")))]
async fn list_products(caller: ConsumerCaller, State(state): State<AppState>, page: Result<Query<PageQuery>, QueryRejection>) -> Result<Json<Page<CatalogueProduct>>, RestError> {
    let page = query(page, "invalid_query")?;
    let products = state.services.catalogue.list(&caller.actor).await?;
    let page = page.page_for(products, |p| (p.name.to_lowercase(), p.id.clone()), "portal_products", &caller.cursor_owner)?;
    Ok(Json(page.map(CatalogueProduct::from)))
}

#[utoipa::path(get, path = "/portal/products/{id}", tag = "portal", params(("id" = String, Path, description = "Product id")), security(("session" = [])),
    responses((status = 200, description = "The product", body = CatalogueProduct),
              (status = 404, description = "No such product for your organisation (unpublished and invisible ones included)", body = Problem, content_type = "application/problem+json")))]
async fn get_product(caller: ConsumerCaller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<CatalogueProduct>, RestError> {
    Ok(Json(state.services.catalogue.get(&caller.actor, &id).await?.into()))
}
