//! Writing the records a portal credential's grant is derived from: subscriptions and
//! credentials. Every write here keeps the subscription indexes (`SUBSCRIPTIONS_BY`) and
//! records the subscription as touched, so the gateway's view follows from the data written
//! (`store::changes`), whichever service wrote it.

use redb::{ReadableTable, WriteTransaction};

use super::credentials::CredentialRecord;
use super::requests::SubscriptionRecord;
use crate::store::changes::{touched, Touched};
use crate::store::{codec, tables};
use crate::{references, ServiceError};

/// What the subscriptions are looked up by.
#[derive(Debug, Clone, Copy)]
pub enum SubscriptionsOf<'a> {
    Organisation(&'a str),
    Product(&'a str),
    Plan(&'a str),
    App(&'a str),
}

impl SubscriptionsOf<'_> {
    fn target(self) -> String {
        match self {
            SubscriptionsOf::Organisation(id) => format!("org:{id}"),
            SubscriptionsOf::Product(id) => format!("product:{id}"),
            SubscriptionsOf::Plan(id) => format!("plan:{id}"),
            SubscriptionsOf::App(id) => format!("app:{id}"),
        }
    }
}

fn targets(record: &SubscriptionRecord) -> Vec<String> {
    vec![
        SubscriptionsOf::Organisation(&record.organisation).target(),
        SubscriptionsOf::Product(&record.product).target(),
        SubscriptionsOf::Plan(&record.plan).target(),
        SubscriptionsOf::App(&record.app).target(),
    ]
}

/// The ids of the subscriptions of `of` (an index prefix scan).
pub fn subscriptions_of(index: &impl ReadableTable<&'static str, &'static [u8]>, of: SubscriptionsOf<'_>) -> Result<Vec<String>, ServiceError> {
    references::holders(index, &of.target())
}

/// Creates or replaces a subscription.
pub(crate) fn put_subscription(txn: &WriteTransaction, record: &SubscriptionRecord) -> Result<(), ServiceError> {
    let old = txn.open_table(tables::SUBSCRIPTIONS)?.insert(record.id.as_str(), codec::encode(record)?.as_slice())?.map(|v| v.value().to_vec());
    if let Some(old) = old {
        let old: SubscriptionRecord = codec::decode("subscriptions", &record.id, &old)?;
        references::remove(txn, tables::SUBSCRIPTIONS_BY, &targets(&old), &old.id)?;
    }
    references::add(txn, tables::SUBSCRIPTIONS_BY, &targets(record), &record.id)?;
    touched(txn, Touched::Subscription(&record.id));
    Ok(())
}

/// Ends a subscription (its credential is removed with `remove_credential`).
pub(crate) fn remove_subscription(txn: &WriteTransaction, record: &SubscriptionRecord) -> Result<(), ServiceError> {
    txn.open_table(tables::SUBSCRIPTIONS)?.remove(record.id.as_str())?;
    references::remove(txn, tables::SUBSCRIPTIONS_BY, &targets(record), &record.id)?;
    touched(txn, Touched::Subscription(&record.id));
    Ok(())
}

/// Creates or replaces a credential (a token minted, rotated, revoked).
pub(crate) fn put_credential(txn: &WriteTransaction, record: &CredentialRecord) -> Result<(), ServiceError> {
    txn.open_table(tables::CREDENTIALS)?.insert(record.id.as_str(), codec::encode(record)?.as_slice())?;
    touched(txn, Touched::Subscription(&record.subscription));
    Ok(())
}

pub(crate) fn remove_credential(txn: &WriteTransaction, id: &str, subscription: &str) -> Result<(), ServiceError> {
    txn.open_table(tables::CREDENTIALS)?.remove(id)?;
    touched(txn, Touched::Subscription(subscription));
    Ok(())
}

/// Builds the subscription index of a store written before it existed (schema 4).
pub(crate) fn index_subscriptions(txn: &WriteTransaction) -> Result<(), ServiceError> {
    let mut records = Vec::new();
    for entry in txn.open_table(tables::SUBSCRIPTIONS)?.iter()? {
        let (k, v) = entry?;
        records.push(codec::decode::<SubscriptionRecord>("subscriptions", k.value(), v.value())?);
    }
    for record in records {
        references::add(txn, tables::SUBSCRIPTIONS_BY, &targets(&record), &record.id)?;
    }
    Ok(())
}
