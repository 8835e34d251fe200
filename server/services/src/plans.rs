//! Plans: rate limit, quota, approval rule and token lifetime of the subscriptions made with
//! them. A plan a product offers cannot be deleted.

use certgate_core::portal::plan::PlanSpec;
use certgate_core::UnixSeconds;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use crate::store::codec::{self, Versioned};
use crate::store::{tables, PublishScope, Store};
use crate::{audit, clock, ids, references, ServiceError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRecord {
    pub id: String,
    #[serde(flatten)]
    pub spec: PlanSpec,
    pub created_at: UnixSeconds,
    pub updated_at: UnixSeconds,
}

impl Versioned for PlanRecord {
    const VERSION: u8 = 1;
}

fn not_found() -> ServiceError {
    ServiceError::NotFound { what: "plan" }
}

pub(crate) fn load(table: &impl ReadableTable<&'static str, &'static [u8]>, id: &str) -> Result<Option<PlanRecord>, ServiceError> {
    match table.get(id)? {
        Some(v) => Ok(Some(codec::decode("plans", id, v.value())?)),
        None => Ok(None),
    }
}

#[derive(Clone)]
pub struct Plans {
    store: Store,
}

impl Plans {
    pub fn new(store: Store) -> Plans {
        Plans { store }
    }

    pub async fn create(&self, spec: PlanSpec, actor: &str) -> Result<PlanRecord, ServiceError> {
        let spec = spec.normalise()?;
        let now = clock::now();
        let record = PlanRecord { id: ids::new_id("pln"), spec, created_at: now, updated_at: now };
        let (stored, actor) = (record.clone(), actor.to_string());
        self.store
            .write(move |txn| {
                txn.open_table(tables::PLANS)?.insert(stored.id.as_str(), codec::encode(&stored)?.as_slice())?;
                audit::record(txn, &actor, "plan.created", &stored.id, stored.spec.name.clone())
            })
            .await?;
        Ok(record)
    }

    pub async fn get(&self, id: &str) -> Result<PlanRecord, ServiceError> {
        let id = id.to_string();
        self.store.read(move |txn| load(&txn.open_table(tables::PLANS)?, &id)?.ok_or_else(not_found)).await
    }

    /// Every plan, by name.
    pub async fn list(&self) -> Result<Vec<PlanRecord>, ServiceError> {
        let mut plans = self
            .store
            .read(|txn| {
                let mut out = Vec::new();
                for entry in txn.open_table(tables::PLANS)?.iter()? {
                    let (k, v) = entry?;
                    out.push(codec::decode::<PlanRecord>("plans", k.value(), v.value())?);
                }
                Ok(out)
            })
            .await?;
        plans.sort_by(|a, b| a.spec.name.to_lowercase().cmp(&b.spec.name.to_lowercase()).then_with(|| a.id.cmp(&b.id)));
        Ok(plans)
    }

    pub async fn update(&self, id: &str, spec: PlanSpec, actor: &str) -> Result<PlanRecord, ServiceError> {
        let spec = spec.normalise()?;
        let (id, actor) = (id.to_string(), actor.to_string());
        self.store
            // Live credentials take their rate and quota from the plan (derived, not copied):
            // the gateway follows before the answer.
            .write_published(PublishScope::Touched, move |txn| {
                let mut table = txn.open_table(tables::PLANS)?;
                let old = load(&table, &id)?.ok_or_else(not_found)?;
                let record = PlanRecord { id: id.clone(), spec, created_at: old.created_at, updated_at: clock::now() };
                table.insert(id.as_str(), codec::encode(&record)?.as_slice())?;
                drop(table);
                crate::store::changes::touched(txn, crate::store::Touched::Plan(&id));
                audit::record(txn, &actor, "plan.updated", &id, record.spec.name.clone())?;
                Ok(record)
            })
            .await
    }

    /// Deletes a plan no product offers (409 `plan_in_use` naming the products otherwise).
    pub async fn delete(&self, id: &str, actor: &str) -> Result<(), ServiceError> {
        let (id, actor) = (id.to_string(), actor.to_string());
        self.store
            .write(move |txn| {
                let mut table = txn.open_table(tables::PLANS)?;
                let old = load(&table, &id)?.ok_or_else(not_found)?;
                let live = crate::portal::requests::subscriptions_using(txn, crate::portal::records::SubscriptionsOf::Plan(&id))?;
                if !live.is_empty() {
                    return Err(ServiceError::Conflict {
                        code: "plan_in_use",
                        message: format!("Subscriptions {} use the plan.", live.join(", ")),
                    });
                }
                let products = references::holders(&txn.open_table(tables::PRODUCTS_BY_PLAN)?, &id)?;
                if !products.is_empty() {
                    return Err(ServiceError::Conflict {
                        code: "plan_in_use",
                        message: format!("The plan is offered by products {}: take it out of them first.", products.join(", ")),
                    });
                }
                table.remove(id.as_str())?;
                audit::record(txn, &actor, "plan.deleted", &id, old.spec.name)
            })
            .await
    }
}
