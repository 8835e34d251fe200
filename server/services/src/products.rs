//! API products: the APIs published to consumers, the plans they offer, who sees them, and the
//! seed's certificate mode and binding. Checked against the APIs and plans they name when
//! written; the reference indexes let an API or a plan know which products use it.

use certgate_core::gateway::spec::AuthKind;
use certgate_core::portal::product::{ApiFacts, ProductAuth, ProductSpec};
use certgate_core::UnixSeconds;
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::store::codec::{self, Versioned};
use crate::store::{tables, ChangePreview, Store};
use crate::{audit, clock, ids, references, ServiceError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRecord {
    pub id: String,
    #[serde(flatten)]
    pub spec: ProductSpec,
    pub created_at: UnixSeconds,
    pub updated_at: UnixSeconds,
}

impl Versioned for ProductRecord {
    const VERSION: u8 = 1;
}

fn not_found() -> ServiceError {
    ServiceError::NotFound { what: "product" }
}

pub(crate) fn load(table: &impl ReadableTable<&'static str, &'static [u8]>, id: &str) -> Result<Option<ProductRecord>, ServiceError> {
    match table.get(id)? {
        Some(v) => Ok(Some(codec::decode("products", id, v.value())?)),
        None => Ok(None),
    }
}

/// The facts of the stored APIs among `ids` (missing ones are left out: the product check
/// names them).
pub(crate) fn api_facts(apis: &impl ReadableTable<&'static str, &'static [u8]>, ids: &[String]) -> Result<Vec<ApiFacts>, ServiceError> {
    let mut out = Vec::new();
    for id in ids {
        if let Some(api) = crate::apis::load(apis, id)? {
            out.push(ApiFacts { id: api.id, auth: api.spec.auth, mtls_required: api.spec.mtls.required });
        }
    }
    Ok(out)
}

/// A product with how its credentials authenticate (decided by its APIs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductEntry {
    pub record: ProductRecord,
    pub auth: ProductAuth,
}

/// A stored product's authentication, from its APIs as stored now.
fn entry_of(apis: &impl ReadableTable<&'static str, &'static [u8]>, record: ProductRecord) -> Result<ProductEntry, ServiceError> {
    let facts = api_facts(apis, &record.spec.apis)?;
    // API edits that would invalidate a product are refused (`check_api_change`), so a failure
    // here is a broken store, not bad input.
    let auth = record
        .spec
        .authentication(&facts)
        .map_err(|e| ServiceError::Internal(format!("product {} no longer matches its APIs: {}", record.id, e.message)))?;
    Ok(ProductEntry { record, auth })
}

/// Checks a product against the stored APIs, plans and organisations it names.
fn checked(txn: &WriteTransaction, spec: ProductSpec) -> Result<(ProductSpec, ProductAuth), ServiceError> {
    let facts = api_facts(&txn.open_table(tables::APIS)?, &spec.apis)?;
    let (spec, auth) = spec.normalise(&facts)?;
    let plans = txn.open_table(tables::PLANS)?;
    for plan in &spec.plans {
        if plans.get(plan.as_str())?.is_none() {
            return Err(ServiceError::invalid("unknown_plan", format!("Plan {plan} does not exist.")));
        }
    }
    let organisations = txn.open_table(tables::ORGANISATIONS)?;
    for organisation in spec.visible_to.iter().flatten() {
        if organisations.get(organisation.as_str())?.is_none() {
            return Err(ServiceError::invalid("unknown_organisation", format!("Organisation {organisation} does not exist.")));
        }
    }
    Ok((spec, auth))
}

fn index(txn: &WriteTransaction, record: &ProductRecord) -> Result<(), ServiceError> {
    references::add(txn, tables::PRODUCTS_BY_API, &record.spec.apis, &record.id)?;
    references::add(txn, tables::PRODUCTS_BY_PLAN, &record.spec.plans, &record.id)
}

fn unindex(txn: &WriteTransaction, record: &ProductRecord) -> Result<(), ServiceError> {
    references::remove(txn, tables::PRODUCTS_BY_API, &record.spec.apis, &record.id)?;
    references::remove(txn, tables::PRODUCTS_BY_PLAN, &record.spec.plans, &record.id)
}

/// The ids of the products containing an API.
pub(crate) fn products_of_api(txn: &WriteTransaction, api: &str) -> Result<Vec<String>, ServiceError> {
    references::holders(&txn.open_table(tables::PRODUCTS_BY_API)?, api)
}

/// Before an API's authentication changes: every product containing it must stay valid (a
/// product cannot silently turn into one mixing Auth Tokens and JWTs).
pub(crate) fn check_api_change(txn: &WriteTransaction, api: &str, auth: AuthKind, mtls_required: bool) -> Result<(), ServiceError> {
    let products = txn.open_table(tables::PRODUCTS)?;
    for id in products_of_api(txn, api)? {
        let Some(product) = load(&products, &id)? else { continue };
        let mut facts = api_facts(&txn.open_table(tables::APIS)?, &product.spec.apis)?;
        for fact in facts.iter_mut().filter(|f| f.id == api) {
            (fact.auth, fact.mtls_required) = (auth, mtls_required);
        }
        if let Err(e) = product.spec.clone().normalise(&facts) {
            return Err(ServiceError::Conflict {
                code: "api_in_product",
                message: format!("Product {} ({}) contains this API and would become invalid: {}", product.spec.name, id, e.message),
            });
        }
    }
    Ok(())
}

/// The certificate mode a stored product works with now: a product stored without one whose
/// APIs have since come to require mTLS works as Managed (`normalise`), so a switch from it to
/// Self-Serve carries the organisations' certificates over like a switch from Managed.
fn effective_mode(txn: &WriteTransaction, product: &ProductRecord) -> Result<Option<certgate_core::portal::product::CertificateMode>, ServiceError> {
    let facts = api_facts(&txn.open_table(tables::APIS)?, &product.spec.apis)?;
    Ok(product.spec.clone().normalise(&facts).map(|(spec, _)| spec.certificate_mode).unwrap_or(product.spec.certificate_mode))
}

#[derive(Clone)]
pub struct Products {
    store: Store,
}

impl Products {
    pub fn new(store: Store) -> Products {
        Products { store }
    }

    pub async fn create(&self, spec: ProductSpec, actor: &str) -> Result<ProductRecord, ServiceError> {
        Ok(self.create_entry(spec, actor).await?.record)
    }

    /// [`Products::create`], answering with how the product authenticates too.
    pub async fn create_entry(&self, spec: ProductSpec, actor: &str) -> Result<ProductEntry, ServiceError> {
        let actor = actor.to_string();
        self.store
            .write(move |txn| {
                let (spec, auth) = checked(txn, spec)?;
                let now = clock::now();
                let record = ProductRecord { id: ids::new_id("prd"), spec, created_at: now, updated_at: now };
                txn.open_table(tables::PRODUCTS)?.insert(record.id.as_str(), codec::encode(&record)?.as_slice())?;
                index(txn, &record)?;
                audit::record(txn, &actor, "product.created", &record.id, record.spec.name.clone())?;
                Ok(ProductEntry { record, auth })
            })
            .await
    }

    pub async fn get(&self, id: &str) -> Result<ProductRecord, ServiceError> {
        let id = id.to_string();
        self.store.read(move |txn| load(&txn.open_table(tables::PRODUCTS)?, &id)?.ok_or_else(not_found)).await
    }

    /// Every product, by name.
    pub async fn list(&self) -> Result<Vec<ProductRecord>, ServiceError> {
        let mut products = self
            .store
            .read(|txn| {
                let mut out = Vec::new();
                for entry in txn.open_table(tables::PRODUCTS)?.iter()? {
                    let (k, v) = entry?;
                    out.push(codec::decode::<ProductRecord>("products", k.value(), v.value())?);
                }
                Ok(out)
            })
            .await?;
        products.sort_by(|a, b| a.spec.name.to_lowercase().cmp(&b.spec.name.to_lowercase()).then_with(|| a.id.cmp(&b.id)));
        Ok(products)
    }

    /// A product with how it authenticates.
    pub async fn entry(&self, id: &str) -> Result<ProductEntry, ServiceError> {
        let id = id.to_string();
        self.store
            .read(move |txn| {
                let record = load(&txn.open_table(tables::PRODUCTS)?, &id)?.ok_or_else(not_found)?;
                entry_of(&txn.open_table(tables::APIS)?, record)
            })
            .await
    }

    /// Every product with how it authenticates, by name (one read transaction).
    pub async fn entries(&self) -> Result<Vec<ProductEntry>, ServiceError> {
        let mut entries = self
            .store
            .read(|txn| {
                let apis = txn.open_table(tables::APIS)?;
                let mut out = Vec::new();
                for item in txn.open_table(tables::PRODUCTS)?.iter()? {
                    let (k, v) = item?;
                    out.push(entry_of(&apis, codec::decode::<ProductRecord>("products", k.value(), v.value())?)?);
                }
                Ok(out)
            })
            .await?;
        entries.sort_by(|a, b| {
            a.record.spec.name.to_lowercase().cmp(&b.record.spec.name.to_lowercase()).then_with(|| a.record.id.cmp(&b.record.id))
        });
        Ok(entries)
    }

    /// Replaces a product's definition, checked like a new one. A change of certificate mode
    /// carries the subscriptions' certificates over (`mode_switch`).
    pub async fn update(&self, id: &str, spec: ProductSpec, actor: &str) -> Result<ProductRecord, ServiceError> {
        Ok(self.update_entry(id, spec, actor).await?.record)
    }

    /// [`Products::update`], answering with how the product authenticates too.
    pub async fn update_entry(&self, id: &str, spec: ProductSpec, actor: &str) -> Result<ProductEntry, ServiceError> {
        Ok(self.update_previewed(id, spec, actor, false).await?.0)
    }

    /// [`Products::update_entry`], answering what the change does to live credentials and
    /// allow lists. With `dry_run` nothing is written: the answer is the product as it would
    /// be, and the preview what the change would do.
    pub async fn update_previewed(&self, id: &str, spec: ProductSpec, actor: &str, dry_run: bool) -> Result<(ProductEntry, ChangePreview), ServiceError> {
        let (id, actor) = (id.to_string(), actor.to_string());
        // The product's APIs decide where its live credentials (and their certificates) are
        // granted: the gateway follows before the answer.
        let write = move |txn: &WriteTransaction| {
                let old = load(&txn.open_table(tables::PRODUCTS)?, &id)?.ok_or_else(not_found)?;
                let (spec, auth) = checked(txn, spec)?;
                let record = ProductRecord { id: id.clone(), spec, created_at: old.created_at, updated_at: clock::now() };
                mode_switch::apply(txn, &id, effective_mode(txn, &old)?, record.spec.certificate_mode)?;
                unindex(txn, &old)?;
                index(txn, &record)?;
                txn.open_table(tables::PRODUCTS)?.insert(id.as_str(), codec::encode(&record)?.as_slice())?;
                crate::store::changes::touched(txn, crate::store::Touched::Product(&id));
                audit::record(txn, &actor, "product.updated", &id, record.spec.name.clone())?;
                Ok(ProductEntry { record, auth })
        };
        if dry_run {
            self.store.dry_run(write).await
        } else {
            self.store.write_previewed(write).await
        }
    }

    pub async fn delete(&self, id: &str, actor: &str) -> Result<(), ServiceError> {
        let (id, actor) = (id.to_string(), actor.to_string());
        self.store
            .write(move |txn| {
                let live = crate::portal::requests::subscriptions_using(txn, crate::portal::records::SubscriptionsOf::Product(&id))?;
                if !live.is_empty() {
                    return Err(ServiceError::Conflict {
                        code: "product_in_use",
                        message: format!("The product has subscriptions {}: their apps must end them first.", live.join(", ")),
                    });
                }
                let old = txn.open_table(tables::PRODUCTS)?.remove(id.as_str())?.map(|v| v.value().to_vec());
                let old: ProductRecord = match old {
                    Some(bytes) => codec::decode("products", &id, &bytes)?,
                    None => return Err(not_found()),
                };
                unindex(txn, &old)?;
                audit::record(txn, &actor, "product.deleted", &id, old.spec.name)
            })
            .await
    }
}

mod mode_switch;

#[cfg(test)]
mod tests;
