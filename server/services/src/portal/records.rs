//! Writing the records a portal credential's grant is derived from: subscriptions and
//! credentials. Every write here keeps the subscription indexes (`SUBSCRIPTIONS_BY`) and
//! records the subscription as touched, so the gateway's view follows from the data written
//! (`store::changes`), whichever service wrote it.

use std::collections::BTreeMap;

use redb::{ReadableTable, WriteTransaction};

use super::credentials::CredentialRecord;
use super::requests::{AccessRequestRecord, SubscriptionRecord};
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

/// Ends a subscription (its credential is removed with `remove_credential`); its saved quota
/// counter goes with it, like a revoked key's.
pub(crate) fn remove_subscription(txn: &WriteTransaction, record: &SubscriptionRecord) -> Result<(), ServiceError> {
    txn.open_table(tables::SUBSCRIPTIONS)?.remove(record.id.as_str())?;
    crate::usage::forget(txn, &record.id)?;
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

/// Where an access request is listed: every request, by state, by organisation, by app.
fn request_targets(record: &AccessRequestRecord) -> Vec<String> {
    vec!["all".to_string(), format!("state:{}", record.state.name()), format!("org:{}", record.organisation), format!("app:{}", record.app)]
}

/// A request's place in its lists: newest first, then by id.
pub fn request_key(record: &AccessRequestRecord) -> String {
    format!("{:020}:{}", u64::MAX - record.created_at.max(0).unsigned_abs(), record.id)
}

/// Creates or replaces an access request (its state changed), keeping its lists.
pub(crate) fn put_request(txn: &WriteTransaction, record: &AccessRequestRecord) -> Result<(), ServiceError> {
    let old = txn.open_table(tables::ACCESS_REQUESTS)?.insert(record.id.as_str(), codec::encode(record)?.as_slice())?.map(|v| v.value().to_vec());
    if let Some(old) = old {
        let old: AccessRequestRecord = codec::decode("access_requests", &record.id, &old)?;
        references::remove(txn, tables::ACCESS_REQUESTS_BY, &request_targets(&old), &request_key(&old))?;
    }
    references::add(txn, tables::ACCESS_REQUESTS_BY, &request_targets(record), &request_key(record))
}

/// Which list of access requests.
#[derive(Debug, Clone, Copy)]
pub enum RequestsOf<'a> {
    All,
    State(&'a str),
    Organisation(&'a str),
    App(&'a str),
}

impl RequestsOf<'_> {
    fn target(self) -> String {
        match self {
            RequestsOf::All => "all".to_string(),
            RequestsOf::State(s) => format!("state:{s}"),
            RequestsOf::Organisation(id) => format!("org:{id}"),
            RequestsOf::App(id) => format!("app:{id}"),
        }
    }
}

/// Requests of one list, newest first, after the list key `after`, while `more` wants them:
/// reads the index from where the page starts, and each record it yields.
pub fn requests_of(
    index: &impl ReadableTable<&'static str, &'static [u8]>,
    requests: &impl ReadableTable<&'static str, &'static [u8]>,
    of: RequestsOf<'_>,
    after: Option<&str>,
    mut more: impl FnMut(AccessRequestRecord) -> Result<bool, ServiceError>,
) -> Result<(), ServiceError> {
    let target = of.target();
    let from = match after {
        // The key itself is excluded: '\u{1}' sorts right after it.
        Some(after) => format!("{target}/{after}\u{1}"),
        None => format!("{target}/"),
    };
    let to = format!("{target}0");
    for entry in index.range(from.as_str()..to.as_str())? {
        let (k, _) = entry?;
        let Some((_, id)) = k.value().rsplit_once(':') else { continue };
        let Some(v) = requests.get(id)? else { continue };
        if !more(codec::decode("access_requests", id, v.value())?)? {
            break;
        }
    }
    Ok(())
}

/// How many requests each state's list holds, by state name (states without any are absent):
/// one range scan over the `state:` keys of the index, no record read.
pub fn request_counts(index: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<BTreeMap<String, usize>, ServiceError> {
    // ';' is the character after ':': the range covers exactly the keys `state:…`.
    let mut counts = BTreeMap::new();
    for entry in index.range("state:".."state;")? {
        let (k, _) = entry?;
        if let Some((state, _)) = k.value().strip_prefix("state:").and_then(|rest| rest.split_once('/')) {
            match counts.get_mut(state) {
                Some(n) => *n += 1,
                None => {
                    counts.insert(state.to_string(), 1);
                }
            }
        }
    }
    Ok(counts)
}

/// Builds the request lists of a store written before they existed (schema 4).
pub(crate) fn index_requests(txn: &WriteTransaction) -> Result<(), ServiceError> {
    let mut records = Vec::new();
    for entry in txn.open_table(tables::ACCESS_REQUESTS)?.iter()? {
        let (k, v) = entry?;
        records.push(codec::decode::<AccessRequestRecord>("access_requests", k.value(), v.value())?);
    }
    for record in records {
        references::add(txn, tables::ACCESS_REQUESTS_BY, &request_targets(&record), &request_key(&record))?;
    }
    Ok(())
}
