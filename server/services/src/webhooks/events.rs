//! Which changes are events, and their bodies. Events are queued where the audit log is
//! written (`audit::record_in` calls [`on_audit`]), inside the same write transaction: an
//! event exists exactly when its change committed, and no writer can forget to emit one.

use certgate_core::UnixSeconds;
use redb::{ReadableTable, WriteTransaction};
use serde_json::{json, Value};

use super::{outbox, EndpointRecord};
use crate::audit::AuditEntry;
use crate::store::codec;
use crate::store::tables;
use crate::{clock, ServiceError};

/// The thresholds of `certificate.expiring`, in days, widest first.
pub const EXPIRY_THRESHOLDS: [i64; 2] = [30, 7];

/// The webhook event of an audit action, the kind of object and, for credentials, their origin
/// (admin-issued key or portal credential).
fn event_of(action: &str) -> Option<(&'static str, &'static str, Option<&'static str>)> {
    Some(match action {
        "access_request.created" => ("access_request.created", "access_request", None),
        "access_request.approved" => ("access_request.approved", "access_request", None),
        "access_request.rejected" => ("access_request.rejected", "access_request", None),
        "key.created" => ("credential.issued", "credential", Some("admin")),
        "key.revoked" => ("credential.revoked", "credential", Some("admin")),
        "credential.token_created" => ("credential.issued", "credential", Some("portal")),
        "credential.rotated" => ("credential.rotated", "credential", Some("portal")),
        "credential.revoked" => ("credential.revoked", "credential", Some("portal")),
        _ => return None,
    })
}

/// The body of an event: `{"type", "timestamp", "data"}` (the Standard Webhooks shape).
pub fn payload(event: &str, now_ms: i64, data: Value) -> Result<String, ServiceError> {
    let body = json!({ "type": event, "timestamp": clock::rfc3339(now_ms / 1000), "data": data });
    serde_json::to_string(&body).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Called by the audit log for every entry, in its transaction.
pub(crate) fn on_audit(txn: &WriteTransaction, entry: &AuditEntry) -> Result<(), ServiceError> {
    let Some((event, object, origin)) = event_of(&entry.action) else { return Ok(()) };
    let mut data = json!({
        "object": object,
        "id": entry.subject,
        "organisation": entry.organisation,
        "actor": entry.actor,
        "detail": entry.detail,
    });
    if let (Some(origin), Some(map)) = (origin, data.as_object_mut()) {
        map.insert("origin".into(), Value::String(origin.into()));
    }
    emit(txn, event, data, clock::now_ms()).map(drop)
}

/// `credential.revoked` for a portal credential that ends without a revocation of its own
/// (its app was deleted).
pub(crate) fn credential_ended(txn: &WriteTransaction, credential: &str, organisation: &str, detail: &str) -> Result<(), ServiceError> {
    let data = json!({
        "object": "credential",
        "id": credential,
        "organisation": organisation,
        "actor": null,
        "detail": detail,
        "origin": "portal",
    });
    emit(txn, "credential.revoked", data, clock::now_ms()).map(drop)
}

/// Queues `event` for every enabled endpoint that subscribed to it. An endpoint record that
/// does not decode is skipped with a warning: this runs inside every audited change (a
/// revocation), which a webhook problem must never block. Read and write errors stay fatal.
/// Returns how many deliveries were queued.
pub(crate) fn emit(txn: &WriteTransaction, event: &str, data: Value, now_ms: i64) -> Result<usize, ServiceError> {
    let mut wanting: Vec<EndpointRecord> = Vec::new();
    for item in txn.open_table(tables::WEBHOOK_ENDPOINTS)?.iter()? {
        let (k, v) = item?;
        let endpoint: EndpointRecord = match codec::decode("webhook_endpoints", k.value(), v.value()) {
            Ok(endpoint) => endpoint,
            Err(e) => {
                tracing::warn!(endpoint = k.value(), error = %e, event, "a webhook endpoint that does not decode was skipped");
                continue;
            }
        };
        if endpoint.wants(event) {
            wanting.push(endpoint);
        }
    }
    if wanting.is_empty() {
        return Ok(0);
    }
    let body = payload(event, now_ms, data)?;
    for endpoint in &wanting {
        outbox::enqueue(txn, endpoint, event, &body, now_ms)?;
    }
    Ok(wanting.len())
}

/// Forgets a deleted certificate's notices (its id could come back if it is uploaded again).
pub(crate) fn forget_notices(txn: &WriteTransaction, certificate: &str) -> Result<(), ServiceError> {
    let mut notices = txn.open_table(tables::WEBHOOK_EXPIRY_NOTICES)?;
    for days in EXPIRY_THRESHOLDS {
        notices.remove(format!("{certificate}/{days}").as_str())?;
    }
    Ok(())
}

/// Certificates in use (by an API, a key, a subscription, or linked to an organisation) that
/// expire after `now` and within 30 days: `certificate.expiring` once per threshold reached.
/// A certificate first seen inside 7 days gets the 7-day notice only. A notice counts as given
/// only when some endpoint queued it: one registered later still hears of certificates
/// already in the window.
pub(super) fn scan_expiring(txn: &WriteTransaction, now: UnixSeconds, now_ms: i64) -> Result<usize, ServiceError> {
    let widest = EXPIRY_THRESHOLDS[0] * 86_400;
    let mut candidates = Vec::new();
    {
        let index = txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?;
        let from = format!("{:020}:", (now as u64) ^ (1 << 63));
        for item in index.range(from.as_str()..)? {
            let (k, _) = item?;
            let Some((_, id)) = k.value().split_once(':') else { continue };
            candidates.push(id.to_string());
        }
    }
    let certificates = txn.open_table(tables::CERTIFICATES)?;
    let users = txn.open_table(tables::CERTIFICATE_USERS)?;
    let portal = txn.open_table(tables::CERTIFICATE_PORTAL)?;
    let mut notices = txn.open_table(tables::WEBHOOK_EXPIRY_NOTICES)?;
    let mut noticed = 0;
    for id in candidates {
        let Some(v) = certificates.get(id.as_str())? else { continue };
        let record: crate::certificates::CertificateRecord = codec::decode("certificates", &id, v.value())?;
        let left = record.facts.not_after - now;
        if left > widest {
            break; // the index is in expiry order: the rest expire later
        }
        if left <= 0 {
            continue;
        }
        let linked = match portal.get(id.as_str())? {
            Some(v) => !codec::decode::<crate::certificates::CertificatePortalMeta>("certificate_portal", &id, v.value())?.organisation_ids.is_empty(),
            None => false,
        };
        if !linked && crate::references::holders(&users, &id)?.is_empty() {
            continue;
        }
        // The narrowest threshold reached; the wider ones are marked with it.
        let Some(threshold) = EXPIRY_THRESHOLDS.iter().rev().copied().find(|days| left <= days * 86_400) else { continue };
        let key = format!("{id}/{threshold}");
        if notices.get(key.as_str())?.is_some() {
            continue;
        }
        let data = json!({
            "object": "certificate",
            "id": id,
            "subject": record.facts.subject,
            "not_after": clock::rfc3339(record.facts.not_after),
            "days_left": left / 86_400,
            "threshold_days": threshold,
        });
        if emit(txn, "certificate.expiring", data, now_ms)? == 0 {
            continue;
        }
        for days in EXPIRY_THRESHOLDS.iter().filter(|d| **d >= threshold) {
            notices.insert(format!("{id}/{days}").as_str(), &[][..])?;
        }
        noticed += 1;
    }
    Ok(noticed)
}
