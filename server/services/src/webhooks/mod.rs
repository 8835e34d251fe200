//! Webhooks (Standard Webhooks): the admin registers URLs with an event filter; events are
//! queued in the store in the same transaction as the change that causes them (`events`),
//! and the binary's worker sends them (`outbox`), signed (`signature`).
//!
//! The signing secret must be usable to sign, so it is stored (the store file is the owner's
//! only, like the JWT HMAC secrets beside it); it is shown once, in the answer to the
//! registration, never read back by any other call, never logged (`SigningSecret` has no
//! `Debug` of its content).

pub mod events;
pub mod outbox;
pub mod signature;
#[cfg(test)]
mod tests;

use certgate_core::UnixSeconds;
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::portal::Actor;
use crate::store::codec::{self, Versioned};
use crate::store::{tables, Store};
use crate::{audit, clock, ids, ServiceError};

pub use outbox::{Attempt, DeliveryRecord, DeliveryState, DueDelivery, RetryPolicy};

/// The events an endpoint can subscribe to.
pub const EVENTS: &[&str] = &[
    "access_request.created",
    "access_request.approved",
    "access_request.rejected",
    "credential.issued",
    "credential.rotated",
    "credential.revoked",
    "certificate.expiring",
];
/// The event of "send test event", sent whatever the endpoint's filter.
pub const TEST_EVENT: &str = "webhook.test";
/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// An attempt's error is kept this long at most.
pub(crate) const MAX_ERROR_CHARS: usize = 300;

/// A signing secret. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SigningSecret(String);

impl SigningSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disabled {
    pub at_ms: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EndpointRecord {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub secret: SigningSecret,
    pub created_at: UnixSeconds,
    /// The first failure since the last success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since_ms: Option<i64>,
    /// Set when it failed for 24 hours: nothing is sent until the admin re-enables it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<Disabled>,
}

impl Versioned for EndpointRecord {
    const VERSION: u8 = 1;
}

impl EndpointRecord {
    fn wants(&self, event: &str) -> bool {
        self.disabled.is_none() && self.events.iter().any(|e| e == event)
    }
}

/// An endpoint as anyone may see it: without its secret, by construction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: UnixSeconds,
    pub failing_since_ms: Option<i64>,
    pub disabled: Option<Disabled>,
}

impl From<EndpointRecord> for Endpoint {
    fn from(r: EndpointRecord) -> Self {
        Endpoint { id: r.id, url: r.url, events: r.events, created_at: r.created_at, failing_since_ms: r.failing_since_ms, disabled: r.disabled }
    }
}

/// A registered endpoint and its secret: the one answer that carries it.
pub struct NewEndpoint {
    pub endpoint: Endpoint,
    pub secret: String,
}

/// One page of an endpoint's deliveries, newest first.
#[derive(Debug, Clone)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryRecord>,
    /// Whether older ones follow.
    pub more: bool,
}

pub(crate) fn load_endpoint(table: &impl ReadableTable<&'static str, &'static [u8]>, id: &str) -> Result<Option<EndpointRecord>, ServiceError> {
    match table.get(id)? {
        Some(v) => Ok(Some(codec::decode("webhook_endpoints", id, v.value())?)),
        None => Ok(None),
    }
}

pub(crate) fn put_endpoint(txn: &WriteTransaction, record: &EndpointRecord) -> Result<(), ServiceError> {
    txn.open_table(tables::WEBHOOK_ENDPOINTS)?.insert(record.id.as_str(), codec::encode(record)?.as_slice())?;
    Ok(())
}

fn not_found() -> ServiceError {
    ServiceError::NotFound { what: "webhook" }
}

fn existing(txn: &WriteTransaction, id: &str) -> Result<EndpointRecord, ServiceError> {
    load_endpoint(&txn.open_table(tables::WEBHOOK_ENDPOINTS)?, id)?.ok_or_else(not_found)
}

/// An http or https URL with a host, no user name or password (they would be shown in the
/// log and the UI) and no fragment, at most [`MAX_URL_LEN`] long. Private and loopback
/// addresses are allowed: certgate is self-hosted and only the admin registers endpoints
/// (whose answers are never shown, only their status codes).
pub fn validate_url(url: &str) -> Result<String, ServiceError> {
    let bad = |why: &str| ServiceError::invalid("invalid_webhook_url", format!("The webhook URL {why}."));
    let url = url.trim();
    if url.is_empty() {
        return Err(bad("is empty"));
    }
    if url.len() > MAX_URL_LEN {
        return Err(bad(&format!("is longer than {MAX_URL_LEN} characters")));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) || url.contains('#') {
        return Err(bad("may not contain spaces, control characters or a fragment (#)"));
    }
    let uri: http::Uri = url.parse().map_err(|_| bad("is not a valid URL"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(bad("must start with http:// or https://"));
    }
    let Some(authority) = uri.authority() else { return Err(bad("has no host")) };
    if authority.as_str().contains('@') {
        return Err(bad("may not contain a user name or password"));
    }
    if authority.host().is_empty() {
        return Err(bad("has no host"));
    }
    Ok(url.to_string())
}

/// Known events, each once, in the order of [`EVENTS`]; at least one.
pub fn validate_events(events: &[String]) -> Result<Vec<String>, ServiceError> {
    if let Some(unknown) = events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
        let unknown: String = unknown.chars().take(80).collect();
        return Err(ServiceError::invalid("unknown_webhook_event", format!("Unknown event {unknown:?}: the events are {}.", EVENTS.join(", "))));
    }
    let chosen: Vec<String> = EVENTS.iter().filter(|e| events.iter().any(|c| c == *e)).map(|e| e.to_string()).collect();
    if chosen.is_empty() {
        return Err(ServiceError::invalid("no_webhook_events", "Choose at least one event."));
    }
    Ok(chosen)
}

/// The admin's webhooks, and the worker's side of the outbox. Time is a parameter where it
/// decides something (retries, disabling, expiry notices): the binary passes the clock.
#[derive(Clone)]
pub struct Webhooks {
    store: Store,
    retry: RetryPolicy,
}

impl Webhooks {
    pub fn new(store: Store, retry: RetryPolicy) -> Webhooks {
        Webhooks { store, retry }
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// Registers an endpoint; the answer carries its secret, this once.
    pub async fn register(&self, actor: &Actor, url: &str, events: &[String]) -> Result<NewEndpoint, ServiceError> {
        actor.require_admin()?;
        let record = EndpointRecord {
            id: ids::new_id("whk"),
            url: validate_url(url)?,
            events: validate_events(events)?,
            secret: SigningSecret(signature::new_secret()),
            created_at: clock::now(),
            failing_since_ms: None,
            disabled: None,
        };
        let (stored, who) = (record.clone(), actor.audit_name().to_string());
        self.store
            .write(move |txn| {
                put_endpoint(txn, &stored)?;
                audit::record(txn, &who, "webhook.created", &stored.id, format!("{} ({})", stored.url, stored.events.join(", ")))
            })
            .await?;
        let secret = record.secret.expose().to_string();
        Ok(NewEndpoint { endpoint: record.into(), secret })
    }

    /// Every endpoint, oldest first.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<Endpoint>, ServiceError> {
        actor.require_admin()?;
        let mut all = self
            .store
            .read(|txn| {
                let mut out = Vec::new();
                for item in txn.open_table(tables::WEBHOOK_ENDPOINTS)?.iter()? {
                    let (k, v) = item?;
                    out.push(Endpoint::from(codec::decode::<EndpointRecord>("webhook_endpoints", k.value(), v.value())?));
                }
                Ok(out)
            })
            .await?;
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(all)
    }

    pub async fn get(&self, actor: &Actor, id: &str) -> Result<Endpoint, ServiceError> {
        actor.require_admin()?;
        let id = id.to_string();
        self.store
            .read(move |txn| load_endpoint(&txn.open_table(tables::WEBHOOK_ENDPOINTS)?, &id)?.map(Endpoint::from).ok_or_else(not_found))
            .await
    }

    /// Deletes an endpoint and its deliveries (pending ones are not sent).
    pub async fn delete(&self, actor: &Actor, id: &str) -> Result<(), ServiceError> {
        actor.require_admin()?;
        let (id, who) = (id.to_string(), actor.audit_name().to_string());
        self.store
            .write(move |txn| {
                let record = existing(txn, &id)?;
                txn.open_table(tables::WEBHOOK_ENDPOINTS)?.remove(id.as_str())?;
                outbox::forget_endpoint(txn, &id)?;
                audit::record(txn, &who, "webhook.deleted", &id, record.url)
            })
            .await
    }

    /// Re-enables a disabled endpoint: its paused deliveries are sent again now.
    pub async fn enable(&self, actor: &Actor, id: &str, now_ms: i64) -> Result<Endpoint, ServiceError> {
        actor.require_admin()?;
        let (id, who) = (id.to_string(), actor.audit_name().to_string());
        self.store
            .write(move |txn| {
                let mut record = existing(txn, &id)?;
                if record.disabled.take().is_some() {
                    record.failing_since_ms = None;
                    put_endpoint(txn, &record)?;
                    outbox::resume_endpoint(txn, &id, now_ms)?;
                    audit::record(txn, &who, "webhook.enabled", &id, record.url.clone())?;
                }
                Ok(record.into())
            })
            .await
    }

    /// Queues a `webhook.test` event for the endpoint (whatever its filter). A disabled
    /// endpoint is refused: re-enable it first.
    pub async fn send_test(&self, actor: &Actor, id: &str, now_ms: i64) -> Result<DeliveryRecord, ServiceError> {
        actor.require_admin()?;
        let (id, who) = (id.to_string(), actor.audit_name().to_string());
        self.store
            .write(move |txn| {
                let record = existing(txn, &id)?;
                if record.disabled.is_some() {
                    return Err(ServiceError::Conflict { code: "webhook_disabled", message: "This webhook is disabled: re-enable it first.".into() });
                }
                let data = serde_json::json!({ "endpoint": record.id, "actor": who });
                let payload = events::payload(TEST_EVENT, now_ms, data)?;
                outbox::enqueue(txn, &record, TEST_EVENT, &payload, now_ms)
            })
            .await
    }

    /// An endpoint's deliveries older than sequence number `before`, newest first.
    pub async fn deliveries(&self, actor: &Actor, id: &str, before: Option<u64>, limit: usize) -> Result<DeliveryPage, ServiceError> {
        actor.require_admin()?;
        let id = id.to_string();
        self.store
            .read(move |txn| {
                if load_endpoint(&txn.open_table(tables::WEBHOOK_ENDPOINTS)?, &id)?.is_none() {
                    return Err(not_found());
                }
                let seqs = outbox::of_endpoint(&txn.open_table(tables::WEBHOOK_DELIVERIES_BY_ENDPOINT)?, &id)?;
                let table = txn.open_table(tables::WEBHOOK_DELIVERIES)?;
                let mut deliveries = Vec::new();
                let mut more = false;
                for seq in seqs.into_iter().rev().filter(|s| before.is_none_or(|b| *s < b)) {
                    if deliveries.len() == limit {
                        more = true;
                        break;
                    }
                    if let Some(record) = outbox::load(&table, seq)? {
                        deliveries.push(record);
                    }
                }
                Ok(DeliveryPage { deliveries, more })
            })
            .await
    }

    /// For the worker: up to `limit` deliveries due at `now_ms`, at most one per endpoint, none
    /// of a `busy` endpoint (one of its deliveries is in flight).
    pub async fn due(&self, now_ms: i64, limit: usize, busy: impl Fn(&str) -> bool + Send + 'static) -> Result<Vec<DueDelivery>, ServiceError> {
        self.store.read(move |txn| outbox::due(txn, now_ms, limit, &busy)).await
    }

    /// For the worker: records an attempt's outcome for delivery `seq` whose `webhook-id` is
    /// `id` (see `outbox::record_attempt`).
    pub async fn record_attempt(&self, seq: u64, id: &str, attempt: Attempt, now_ms: i64) -> Result<(), ServiceError> {
        let (policy, id) = (self.retry, id.to_string());
        self.store.write(move |txn| outbox::record_attempt(txn, seq, &id, attempt, policy, now_ms)).await
    }

    /// For the scheduler: queues `certificate.expiring` for certificates in use that expire
    /// within 30 or 7 days, once per certificate and threshold. Returns how many were noticed.
    pub async fn scan_expiring(&self, now: UnixSeconds) -> Result<usize, ServiceError> {
        self.store.write(move |txn| events::scan_expiring(txn, now, now.saturating_mul(1000))).await
    }
}
