//! The outbox: deliveries written in the same transaction as the change that causes them
//! (a transactional outbox), sent by the binary's worker, and their outcomes.
//!
//! A delivery stays in the queue until an attempt's outcome is recorded: one in flight when the
//! process stops is simply still due at the next start (at least once; `webhook-id` is the same,
//! so receivers can drop the duplicate).

use redb::{ReadableTable, ReadableTableMetadata, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::{EndpointRecord, MAX_ERROR_CHARS};
use crate::store::codec::{self, Versioned};
use crate::store::{tables, Tables};
use crate::{clock, ids, ServiceError};

/// A failing endpoint is disabled (and flagged) once it has failed without a success for this long.
pub const DISABLE_AFTER_MS: i64 = 24 * 3600 * 1000;
/// A delivery that still fails this long after its first attempt is given up (its endpoint
/// succeeds with others, or it would have been disabled).
pub const GIVE_UP_AFTER_MS: i64 = 24 * 3600 * 1000;
/// Finished deliveries kept per endpoint (the log), the newest; waiting ones are dropped only
/// past [`MAX_OPEN_PER_ENDPOINT`].
pub const KEEP_PER_ENDPOINT: usize = 100;
/// Waiting (pending or paused) deliveries per endpoint at most: a dead endpoint's backlog is
/// bounded (the oldest is given up to make room for a new one).
pub const MAX_OPEN_PER_ENDPOINT: u64 = 10_000;
/// Attempts kept per delivery (the newest); `attempt_count` counts them all.
const KEEP_ATTEMPTS: usize = 20;

/// When to retry: exponential steps of a base (5 s by default: 5 s, 30 s, 2 min, 10 min, then
/// every hour). Tests shorten the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base_ms: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { base_ms: 5_000 }
    }
}

impl RetryPolicy {
    const STEPS: [i64; 5] = [1, 6, 24, 120, 720];

    /// The wait after the `failures`-th failed attempt (1 for the first).
    pub fn delay_after(&self, failures: u32) -> i64 {
        let step = Self::STEPS[(failures.max(1) as usize - 1).min(Self::STEPS.len() - 1)];
        step.saturating_mul(self.base_ms.max(1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting in the queue (or in flight).
    Pending,
    /// A 2xx answer.
    Delivered,
    /// Given up after [`GIVE_UP_AFTER_MS`] of failures.
    Failed,
    /// Its endpoint was disabled: sent again when it is re-enabled.
    Paused,
}

/// One try: when, how long, and the status code or the error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub at_ms: i64,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why no answer came (connection refused, timeout, ...), or why the answer was a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// One event for one endpoint. Holds no secret: the body is what the receiver sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub seq: u64,
    /// `msg_…`: the `webhook-id`, the same on every attempt.
    pub id: String,
    pub endpoint: String,
    pub event: String,
    /// The JSON body, fixed when the event happened.
    pub payload: String,
    pub created_ms: i64,
    pub state: DeliveryState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_ms: Option<i64>,
    /// Failures are counted from here (the first attempt, or a re-enabling).
    pub retry_from_ms: i64,
    pub attempt_count: u32,
    /// The newest attempts, oldest first.
    pub attempts: Vec<Attempt>,
}

impl Versioned for DeliveryRecord {
    const VERSION: u8 = 1;
}

/// What the worker needs to send one delivery, the secret included (never leaves the binary).
pub struct DueDelivery {
    pub seq: u64,
    pub id: String,
    /// The endpoint's id (`whk_…`): one attempt in flight per endpoint.
    pub endpoint: String,
    pub url: String,
    pub secret: String,
    pub payload: String,
}

fn queue_key(at_ms: i64, seq: u64) -> String {
    format!("{:020}/{seq:020}", at_ms.max(0))
}

fn endpoint_key(endpoint: &str, seq: u64) -> String {
    format!("{endpoint}/{seq:020}")
}

pub(super) fn load(table: &impl ReadableTable<u64, &'static [u8]>, seq: u64) -> Result<Option<DeliveryRecord>, ServiceError> {
    match table.get(seq)? {
        Some(v) => Ok(Some(codec::decode("webhook_deliveries", &seq.to_string(), v.value())?)),
        None => Ok(None),
    }
}

fn put(txn: &WriteTransaction, record: &DeliveryRecord) -> Result<(), ServiceError> {
    txn.open_table(tables::WEBHOOK_DELIVERIES)?.insert(record.seq, codec::encode(record)?.as_slice())?;
    Ok(())
}

/// Puts the delivery in the queue for `at_ms`, or takes it out (`None`).
fn schedule(txn: &WriteTransaction, record: &mut DeliveryRecord, at_ms: Option<i64>) -> Result<(), ServiceError> {
    let mut queue = txn.open_table(tables::WEBHOOK_QUEUE)?;
    if let Some(old) = record.next_attempt_ms {
        queue.remove(queue_key(old, record.seq).as_str())?;
    }
    if let Some(at) = at_ms {
        // The endpoint in the value: `due` skips a busy endpoint's entries without decoding them.
        queue.insert(queue_key(at, record.seq).as_str(), record.endpoint.as_bytes())?;
    }
    record.next_attempt_ms = at_ms;
    Ok(())
}

/// The sequence numbers of an endpoint's deliveries, oldest first.
pub(super) fn of_endpoint(table: &impl ReadableTable<&'static str, &'static [u8]>, endpoint: &str) -> Result<Vec<u64>, ServiceError> {
    Ok(crate::references::holders(table, endpoint)?.iter().filter_map(|s| s.parse().ok()).collect())
}

/// Queues `event` for `endpoint`, due now. Past [`MAX_OPEN_PER_ENDPOINT`] waiting deliveries,
/// the endpoint's oldest waiting one is given up (failed, "overflow") to make room: the newest
/// events matter most (a revocation), and the log shows what was lost. Drops the endpoint's
/// oldest finished deliveries beyond [`KEEP_PER_ENDPOINT`]. Runs in every audited change's
/// transaction, so it costs O(log n) plus what it drops, never a scan of the endpoint's log.
pub(super) fn enqueue(txn: &WriteTransaction, endpoint: &EndpointRecord, event: &str, payload: &str, now_ms: i64) -> Result<DeliveryRecord, ServiceError> {
    if count(txn, &endpoint.id, OPEN)? >= MAX_OPEN_PER_ENDPOINT {
        overflow_oldest(txn, &endpoint.id, now_ms)?;
    }
    let seq = next_seq(txn)?;
    let mut record = DeliveryRecord {
        seq,
        id: ids::new_id("msg"),
        endpoint: endpoint.id.clone(),
        event: event.to_string(),
        payload: payload.to_string(),
        created_ms: now_ms,
        state: DeliveryState::Pending,
        next_attempt_ms: None,
        retry_from_ms: now_ms,
        attempt_count: 0,
        attempts: Vec::new(),
    };
    schedule(txn, &mut record, Some(now_ms))?;
    put(txn, &record)?;
    txn.open_table(tables::WEBHOOK_DELIVERIES_BY_ENDPOINT)?.insert(endpoint_key(&endpoint.id, seq).as_str(), &[][..])?;
    add_count(txn, &endpoint.id, OPEN, 1)?;
    prune(txn, &endpoint.id)?;
    Ok(record)
}

/// The `meta` key of the next delivery sequence number.
const NEXT_SEQ: &str = "webhook_next_seq";

/// A sequence number never used before: a counter that only grows (the highest delivery may
/// have been deleted with its endpoint while in flight; its number must not come back). A store
/// without the counter yet starts after its highest delivery.
fn next_seq(txn: &WriteTransaction) -> Result<u64, ServiceError> {
    let after_last = txn.open_table(tables::WEBHOOK_DELIVERIES)?.last()?.map_or(1, |(k, _)| k.value().saturating_add(1));
    let mut meta = txn.open_table(tables::META)?;
    let stored = match meta.get(NEXT_SEQ)? {
        Some(v) => v.value().parse::<u64>().map_err(|_| ServiceError::Internal(format!("meta {NEXT_SEQ} is not a number: {:?}", v.value())))?,
        None => 1,
    };
    let seq = stored.max(after_last);
    meta.insert(NEXT_SEQ, seq.saturating_add(1).to_string().as_str())?;
    Ok(seq)
}

/// Waiting deliveries (pending or paused) of an endpoint, and finished ones (delivered, failed).
const OPEN: &str = "open";
const FINISHED: &str = "finished";

fn is_finished(state: DeliveryState) -> bool {
    matches!(state, DeliveryState::Delivered | DeliveryState::Failed)
}

fn count(txn: &WriteTransaction, endpoint: &str, kind: &str) -> Result<u64, ServiceError> {
    Ok(txn.open_table(tables::WEBHOOK_COUNTS)?.get(format!("{endpoint}/{kind}").as_str())?.map_or(0, |v| v.value()))
}

fn add_count(txn: &WriteTransaction, endpoint: &str, kind: &str, delta: i64) -> Result<(), ServiceError> {
    let now = count(txn, endpoint, kind)?;
    let next = now.saturating_add_signed(delta);
    txn.open_table(tables::WEBHOOK_COUNTS)?.insert(format!("{endpoint}/{kind}").as_str(), next)?;
    Ok(())
}

/// Ends a waiting delivery (delivered or failed): out of the queue, into the finished index.
fn finish(txn: &WriteTransaction, record: &mut DeliveryRecord, state: DeliveryState) -> Result<(), ServiceError> {
    schedule(txn, record, None)?;
    record.state = state;
    put(txn, record)?;
    txn.open_table(tables::WEBHOOK_FINISHED_BY_ENDPOINT)?.insert(endpoint_key(&record.endpoint, record.seq).as_str(), &[][..])?;
    add_count(txn, &record.endpoint, OPEN, -1)?;
    add_count(txn, &record.endpoint, FINISHED, 1)?;
    prune(txn, &record.endpoint)
}

/// Gives up the endpoint's oldest waiting delivery. Finished ones are at most
/// [`KEEP_PER_ENDPOINT`] + 1, so it is found within that many index entries.
fn overflow_oldest(txn: &WriteTransaction, endpoint: &str, now_ms: i64) -> Result<(), ServiceError> {
    let oldest = {
        let index = txn.open_table(tables::WEBHOOK_DELIVERIES_BY_ENDPOINT)?;
        let finished = txn.open_table(tables::WEBHOOK_FINISHED_BY_ENDPOINT)?;
        let (from, to) = (format!("{endpoint}/"), format!("{endpoint}0"));
        let mut found = None;
        for item in index.range(from.as_str()..to.as_str())? {
            let (k, _) = item?;
            if finished.get(k.value())?.is_none() {
                found = k.value().rsplit_once('/').and_then(|(_, s)| s.parse::<u64>().ok());
                break;
            }
        }
        found
    };
    let Some(seq) = oldest else { return Ok(()) };
    let Some(mut record) = load(&txn.open_table(tables::WEBHOOK_DELIVERIES)?, seq)? else { return Ok(()) };
    if is_finished(record.state) {
        return Ok(());
    }
    tracing::warn!(endpoint, seq, "webhook backlog full: the oldest waiting delivery was given up");
    record.attempts.push(Attempt {
        at_ms: now_ms,
        duration_ms: 0,
        status: None,
        error: Some(format!("overflow: more than {MAX_OPEN_PER_ENDPOINT} deliveries waiting; given up unsent")),
    });
    if record.attempts.len() > KEEP_ATTEMPTS {
        record.attempts.remove(0);
    }
    finish(txn, &mut record, DeliveryState::Failed)
}

/// Drops the oldest finished deliveries beyond [`KEEP_PER_ENDPOINT`] finished ones (waiting
/// ones do not count, so a backlog does not hide the log): each found at the head of the
/// finished index.
fn prune(txn: &WriteTransaction, endpoint: &str) -> Result<(), ServiceError> {
    let (from, to) = (format!("{endpoint}/"), format!("{endpoint}0"));
    let mut excess = count(txn, endpoint, FINISHED)?.saturating_sub(KEEP_PER_ENDPOINT as u64);
    while excess > 0 {
        let oldest = {
            let finished = txn.open_table(tables::WEBHOOK_FINISHED_BY_ENDPOINT)?;
            let mut range = finished.range(from.as_str()..to.as_str())?;
            let head = match range.next() {
                Some(item) => item?.0.value().rsplit_once('/').and_then(|(_, s)| s.parse::<u64>().ok()),
                None => break,
            };
            head
        };
        let Some(seq) = oldest else { break };
        let record = load(&txn.open_table(tables::WEBHOOK_DELIVERIES)?, seq)?;
        match record {
            Some(record) => forget(txn, &record)?,
            // An index entry without its delivery: drop it, or it would be found again.
            None => {
                txn.open_table(tables::WEBHOOK_FINISHED_BY_ENDPOINT)?.remove(endpoint_key(endpoint, seq).as_str())?;
                add_count(txn, endpoint, FINISHED, -1)?;
            }
        }
        excess -= 1;
    }
    Ok(())
}

fn forget(txn: &WriteTransaction, record: &DeliveryRecord) -> Result<(), ServiceError> {
    if let Some(at) = record.next_attempt_ms {
        txn.open_table(tables::WEBHOOK_QUEUE)?.remove(queue_key(at, record.seq).as_str())?;
    }
    txn.open_table(tables::WEBHOOK_DELIVERIES)?.remove(record.seq)?;
    let key = endpoint_key(&record.endpoint, record.seq);
    txn.open_table(tables::WEBHOOK_DELIVERIES_BY_ENDPOINT)?.remove(key.as_str())?;
    if is_finished(record.state) {
        txn.open_table(tables::WEBHOOK_FINISHED_BY_ENDPOINT)?.remove(key.as_str())?;
        add_count(txn, &record.endpoint, FINISHED, -1)
    } else {
        add_count(txn, &record.endpoint, OPEN, -1)
    }
}

/// Builds the counts and the finished index from the deliveries, once, for a store that has
/// deliveries but no counts yet (queued by a build without them).
pub(crate) fn fill_counts(txn: &WriteTransaction) -> Result<(), ServiceError> {
    if !txn.open_table(tables::WEBHOOK_COUNTS)?.is_empty()? || txn.open_table(tables::WEBHOOK_DELIVERIES)?.is_empty()? {
        return Ok(());
    }
    let mut all = Vec::new();
    for item in txn.open_table(tables::WEBHOOK_DELIVERIES)?.iter()? {
        let (k, v) = item?;
        let record: DeliveryRecord = codec::decode("webhook_deliveries", &k.value().to_string(), v.value())?;
        all.push((record.endpoint, record.seq, is_finished(record.state)));
    }
    for (endpoint, seq, finished) in all {
        if finished {
            txn.open_table(tables::WEBHOOK_FINISHED_BY_ENDPOINT)?.insert(endpoint_key(&endpoint, seq).as_str(), &[][..])?;
        }
        add_count(txn, &endpoint, if finished { FINISHED } else { OPEN }, 1)?;
    }
    Ok(())
}

/// Removes every delivery of an endpoint (it was deleted).
pub(super) fn forget_endpoint(txn: &WriteTransaction, endpoint: &str) -> Result<(), ServiceError> {
    let seqs = of_endpoint(&txn.open_table(tables::WEBHOOK_DELIVERIES_BY_ENDPOINT)?, endpoint)?;
    for seq in seqs {
        let Some(record) = load(&txn.open_table(tables::WEBHOOK_DELIVERIES)?, seq)? else { continue };
        forget(txn, &record)?;
    }
    let mut counts = txn.open_table(tables::WEBHOOK_COUNTS)?;
    for kind in [OPEN, FINISHED] {
        counts.remove(format!("{endpoint}/{kind}").as_str())?;
    }
    Ok(())
}

/// Takes an endpoint's pending deliveries out of the queue (it was disabled).
pub(super) fn pause_endpoint(txn: &WriteTransaction, endpoint: &str) -> Result<(), ServiceError> {
    let seqs = of_endpoint(&txn.open_table(tables::WEBHOOK_DELIVERIES_BY_ENDPOINT)?, endpoint)?;
    for seq in seqs {
        let Some(mut record) = load(&txn.open_table(tables::WEBHOOK_DELIVERIES)?, seq)? else { continue };
        if record.state == DeliveryState::Pending {
            schedule(txn, &mut record, None)?;
            record.state = DeliveryState::Paused;
            put(txn, &record)?;
        }
    }
    Ok(())
}

/// Puts an endpoint's paused deliveries back in the queue, due now (it was re-enabled).
pub(super) fn resume_endpoint(txn: &WriteTransaction, endpoint: &str, now_ms: i64) -> Result<(), ServiceError> {
    let seqs = of_endpoint(&txn.open_table(tables::WEBHOOK_DELIVERIES_BY_ENDPOINT)?, endpoint)?;
    for seq in seqs {
        let Some(mut record) = load(&txn.open_table(tables::WEBHOOK_DELIVERIES)?, seq)? else { continue };
        if record.state == DeliveryState::Paused {
            record.state = DeliveryState::Pending;
            record.retry_from_ms = now_ms;
            schedule(txn, &mut record, Some(now_ms))?;
            put(txn, &record)?;
        }
    }
    Ok(())
}

/// Up to `limit` deliveries due at `now_ms`, soonest first, at most one per endpoint and none
/// of a `busy` endpoint (one in flight): an endpoint gets one attempt at a time, so its first
/// attempts go out in order and a slow one cannot take every slot.
pub(super) fn due(txn: &impl Tables, now_ms: i64, limit: usize, busy: &dyn Fn(&str) -> bool) -> Result<Vec<DueDelivery>, ServiceError> {
    let queue = txn.table(tables::WEBHOOK_QUEUE)?;
    let deliveries = txn.table(tables::WEBHOOK_DELIVERIES)?;
    let endpoints = txn.table(tables::WEBHOOK_ENDPOINTS)?;
    let end = queue_key(now_ms.saturating_add(1), 0);
    let mut out: Vec<DueDelivery> = Vec::new();
    let taken = |endpoint: &str, out: &[DueDelivery]| busy(endpoint) || out.iter().any(|d| d.endpoint == endpoint);
    for item in queue.range(..end.as_str())? {
        if out.len() == limit {
            break;
        }
        let (k, v) = item?;
        // Entries queued by an older build hold no endpoint: read from the delivery.
        if let Ok(endpoint) = std::str::from_utf8(v.value()) {
            if !endpoint.is_empty() && taken(endpoint, &out) {
                continue;
            }
        }
        let Some(seq) = k.value().split_once('/').and_then(|(_, s)| s.parse::<u64>().ok()) else { continue };
        let Some(record) = load(&deliveries, seq)? else { continue };
        if taken(&record.endpoint, &out) {
            continue;
        }
        let Some(endpoint) = super::load_endpoint(&endpoints, &record.endpoint)? else { continue };
        out.push(DueDelivery {
            seq,
            id: record.id,
            endpoint: record.endpoint,
            url: endpoint.url,
            secret: endpoint.secret.expose().to_string(),
            payload: record.payload,
        });
    }
    Ok(out)
}

/// Records an attempt's outcome: delivered; or retried after the policy's wait; or, after 24 h
/// of failures, the endpoint disabled and flagged (its pending deliveries paused) or the
/// delivery given up. A delivery or endpoint deleted meanwhile is ignored, and so is an outcome
/// whose `webhook-id` is not the delivery's (never another delivery's outcome).
pub(super) fn record_attempt(txn: &WriteTransaction, seq: u64, id: &str, mut attempt: Attempt, policy: RetryPolicy, now_ms: i64) -> Result<(), ServiceError> {
    let Some(mut record) = load(&txn.open_table(tables::WEBHOOK_DELIVERIES)?, seq)? else { return Ok(()) };
    if record.id != id {
        tracing::warn!(seq, "a webhook outcome for another delivery was ignored");
        return Ok(());
    }
    if record.state != DeliveryState::Pending {
        return Ok(());
    }
    let Some(mut endpoint) = super::load_endpoint(&txn.open_table(tables::WEBHOOK_ENDPOINTS)?, &record.endpoint)? else { return Ok(()) };
    if let Some(error) = &mut attempt.error {
        if error.chars().count() > MAX_ERROR_CHARS {
            *error = error.chars().take(MAX_ERROR_CHARS).collect();
        }
    }
    let succeeded = attempt.succeeded();
    let summary = attempt.status.map(|s| format!("HTTP {s}")).or_else(|| attempt.error.clone()).unwrap_or_default();
    record.attempt_count += 1;
    record.attempts.push(attempt);
    if record.attempts.len() > KEEP_ATTEMPTS {
        record.attempts.remove(0);
    }
    if succeeded {
        finish(txn, &mut record, DeliveryState::Delivered)?;
        if endpoint.failing_since_ms.take().is_some() {
            super::put_endpoint(txn, &endpoint)?;
        }
        return Ok(());
    }
    let failing_since = *endpoint.failing_since_ms.get_or_insert(now_ms);
    if now_ms - failing_since >= DISABLE_AFTER_MS && endpoint.disabled.is_none() {
        endpoint.disabled = Some(super::Disabled {
            at_ms: now_ms,
            reason: format!("failing since {} (last attempt: {summary})", clock::rfc3339(failing_since / 1000)),
        });
        super::put_endpoint(txn, &endpoint)?;
        put(txn, &record)?;
        tracing::warn!(endpoint = %endpoint.id, "webhook endpoint disabled after 24 hours of failures");
        return pause_endpoint(txn, &endpoint.id);
    }
    super::put_endpoint(txn, &endpoint)?;
    if now_ms - record.retry_from_ms >= GIVE_UP_AFTER_MS {
        return finish(txn, &mut record, DeliveryState::Failed);
    }
    let next = now_ms.saturating_add(policy.delay_after(record.attempt_count));
    schedule(txn, &mut record, Some(next))?;
    put(txn, &record)
}
