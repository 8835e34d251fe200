//! The consumers' catalogue: the published products an organisation may see, with what a
//! consumer needs to choose one (its APIs, its plans' limits, its certificate mode and binding).
//! A product the actor may not see is `NotFound`, exactly like one that does not exist.

use certgate_core::gateway::spec::AuthKind;
use certgate_core::portal::product::CertificateMode;
use certgate_core::UnixSeconds;
use redb::ReadableTable;

use super::Actor;
use crate::plans::PlanRecord;
use crate::products::ProductRecord;
use crate::store::codec;
use crate::store::{tables, Store};
use crate::ServiceError;

/// An API of a catalogue product: where to call it and how to authenticate (no upstream, no
/// allow list, no JWT keys: those are the provider's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueApi {
    pub id: String,
    pub name: String,
    pub listen_path: String,
    pub auth: AuthKind,
    pub mtls_required: bool,
}

/// A product as its catalogue shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueProduct {
    pub id: String,
    pub name: String,
    pub description: String,
    pub apis: Vec<CatalogueApi>,
    /// In the product's display order.
    pub plans: Vec<PlanRecord>,
    pub certificate_mode: Option<CertificateMode>,
    pub certificate_binding: bool,
    pub updated_at: UnixSeconds,
}

/// Whether the actor sees the product: a consumer when it is published and visible to their
/// organisation; the admin every published product (the catalogue as consumers get it).
fn visible(actor: &Actor, product: &ProductRecord) -> bool {
    match actor.organisation() {
        Some(organisation) => product.spec.visible_to_organisation(organisation),
        None => product.spec.published,
    }
}

fn not_found() -> ServiceError {
    ServiceError::NotFound { what: "product" }
}

#[derive(Clone)]
pub struct Catalogue {
    store: Store,
}

impl Catalogue {
    pub fn new(store: Store) -> Catalogue {
        Catalogue { store }
    }

    /// The products the actor sees, by name.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<CatalogueProduct>, ServiceError> {
        let actor = actor.clone();
        let mut out = self
            .store
            .read(move |txn| {
                let (apis, plans) = (txn.open_table(tables::APIS)?, txn.open_table(tables::PLANS)?);
                let mut out = Vec::new();
                for entry in txn.open_table(tables::PRODUCTS)?.iter()? {
                    let (k, v) = entry?;
                    let product: ProductRecord = codec::decode("products", k.value(), v.value())?;
                    if visible(&actor, &product) {
                        out.push(shown(&apis, &plans, product)?);
                    }
                }
                Ok(out)
            })
            .await?;
        out.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// One product the actor sees; an invisible or unpublished one is `NotFound`.
    pub async fn get(&self, actor: &Actor, id: &str) -> Result<CatalogueProduct, ServiceError> {
        let (actor, id) = (actor.clone(), id.to_string());
        self.store
            .read(move |txn| {
                let product = crate::products::load(&txn.open_table(tables::PRODUCTS)?, &id)?.ok_or_else(not_found)?;
                if !visible(&actor, &product) {
                    return Err(not_found());
                }
                shown(&txn.open_table(tables::APIS)?, &txn.open_table(tables::PLANS)?, product)
            })
            .await
    }
}

fn shown(
    apis: &impl ReadableTable<&'static str, &'static [u8]>,
    plans: &impl ReadableTable<&'static str, &'static [u8]>,
    product: ProductRecord,
) -> Result<CatalogueProduct, ServiceError> {
    let mut shown_apis = Vec::new();
    for id in &product.spec.apis {
        if let Some(api) = crate::apis::load(apis, id)? {
            shown_apis.push(CatalogueApi {
                id: api.id,
                name: api.spec.name,
                listen_path: api.spec.listen_path,
                auth: api.spec.auth,
                mtls_required: api.spec.mtls.required,
            });
        }
    }
    let mut shown_plans = Vec::new();
    for id in &product.spec.plans {
        if let Some(plan) = crate::plans::load(plans, id)? {
            shown_plans.push(plan);
        }
    }
    let spec = product.spec;
    Ok(CatalogueProduct {
        id: product.id,
        name: spec.name,
        description: spec.description,
        apis: shown_apis,
        plans: shown_plans,
        certificate_mode: spec.certificate_mode,
        certificate_binding: spec.certificate_binding,
        updated_at: product.updated_at,
    })
}
