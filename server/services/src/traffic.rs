//! Saved traffic series: the gateway counts in memory; the binary saves what changed here with
//! the quota batches (one record per API hour, app hour and certificate-API pair that changed,
//! never a whole ring) and loads it at start, so a restart keeps the series.
//!
//! Series of APIs, apps and certificates that no longer exist are not loaded, and are deleted
//! from the store at that start; a save skips them (checked in its transaction, like quota
//! usage), so a save never brings one back. Hours that left their ring's span are deleted by
//! the save that writes the same API or app (a range delete: only what just fell out).

use std::collections::BTreeMap;

use certgate_core::gateway::DenialKind;
use certgate_core::traffic::{
    ApiHour, AppHour, Bucket, SeenPair, TrafficBatch, API_HOURS, APP_SERIES_HOURS, HOUR, LAST_SEEN_HOURS,
    STATUS_CLASSES,
};
use certgate_core::UnixSeconds;
use redb::{ReadableTable, Table, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::store::codec::{self, Versioned};
use crate::store::{tables, Store};
use crate::ServiceError;

/// A bucket as stored: denials by code (never by position, so adding a denial kind changes no
/// saved record), zero counts left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBucket {
    pub requests: [u64; STATUS_CLASSES],
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub denials: BTreeMap<String, u64>,
    /// Counts per latency bucket (core's fixed bounds).
    pub latency: Vec<u64>,
}

impl From<&Bucket> for StoredBucket {
    fn from(b: &Bucket) -> StoredBucket {
        StoredBucket {
            requests: b.requests,
            denials: b.denials_by_code().map(|(code, n)| (code.to_string(), n)).collect(),
            latency: b.latency.counts.to_vec(),
        }
    }
}

impl From<&StoredBucket> for Bucket {
    fn from(s: &StoredBucket) -> Bucket {
        let mut bucket = Bucket { requests: s.requests, ..Bucket::default() };
        for (code, n) in &s.denials {
            // A code this build does not know (a newer build's) is dropped, not misfiled.
            if let Some(kind) = DenialKind::from_code(code) {
                bucket.denials[kind.index()] = *n;
            }
        }
        for (to, from) in bucket.latency.counts.iter_mut().zip(&s.latency) {
            *to = *from;
        }
        bucket
    }
}

/// One hour of an API: the hour's bucket and its minutes with traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiHourRecord {
    pub total: StoredBucket,
    #[serde(default)]
    pub minutes: Vec<(u8, StoredBucket)>,
}

impl Versioned for ApiHourRecord {
    const VERSION: u8 = 1;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppHourRecord {
    pub bucket: StoredBucket,
}

impl Versioned for AppHourRecord {
    const VERSION: u8 = 1;
}

/// When a certificate last authenticated on an API, and its requests per hour (24 hours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSeenRecord {
    pub at: UnixSeconds,
    #[serde(default)]
    pub hours: Vec<(UnixSeconds, u64)>,
}

impl Versioned for LastSeenRecord {
    const VERSION: u8 = 1;
}

/// `<owner>/<hours since the epoch, 10 digits>`: an owner's hours sort in time order.
fn hour_key(owner: &str, hour_start: UnixSeconds) -> String {
    format!("{owner}/{:010}", hour_start.div_euclid(HOUR).max(0))
}

fn parse_hour_key(key: &str) -> Option<(&str, UnixSeconds)> {
    let (owner, hour) = key.rsplit_once('/')?;
    Some((owner, hour.parse::<i64>().ok()? * HOUR))
}

fn pair_key(certificate_id: &str, api_id: &str) -> String {
    format!("{certificate_id}/{api_id}")
}

/// Whether `hour_start` is inside a span of `hours` hours ending with the hour holding `now`.
fn inside(hour_start: UnixSeconds, hours: usize, now: UnixSeconds) -> bool {
    let current = now.div_euclid(HOUR);
    let hour = hour_start.div_euclid(HOUR);
    hour <= current && current - hour < i64::try_from(hours).unwrap_or(i64::MAX)
}

/// Deletes an owner's hours older than a span of `hours` ending at `hour_start`.
fn drop_hours_before(table: &mut Table<'_, &'static str, &'static [u8]>, owner: &str, hour_start: UnixSeconds, hours: usize) -> Result<(), ServiceError> {
    let first_kept = hour_start - (i64::try_from(hours).unwrap_or(i64::MAX) - 1) * HOUR;
    let low = format!("{owner}/");
    let high = hour_key(owner, first_kept);
    table.retain_in(low.as_str()..high.as_str(), |_, _| false)?;
    Ok(())
}

#[derive(Clone)]
pub struct Traffic {
    store: Store,
}

/// A saved record, or `None` (with a warning) when it cannot be read: the series are derived
/// data, so an unreadable hour is dropped rather than keeping the server from starting.
fn decoded<T: codec::Versioned>(table: &'static str, key: &str, bytes: &[u8]) -> Option<T> {
    match codec::decode(table, key, bytes) {
        Ok(record) => Some(record),
        Err(error) => {
            tracing::warn!(table, key, %error, "unreadable traffic record dropped");
            None
        }
    }
}

impl Traffic {
    pub fn new(store: Store) -> Traffic {
        Traffic { store }
    }

    /// The saved series still inside their spans at `now` whose API, app or certificate still
    /// exists. What is not (ended owners, hours that left their span) is deleted here.
    pub async fn load(&self, now: UnixSeconds) -> Result<TrafficBatch, ServiceError> {
        self.store
            .write(move |txn| {
                let mut batch = TrafficBatch::default();
                let apis = txn.open_table(tables::APIS)?;
                let apps = txn.open_table(tables::APPS)?;
                let certificates = txn.open_table(tables::CERTIFICATES)?;
                let mut stale = Vec::new();
                let mut table = txn.open_table(tables::TRAFFIC_API_HOURS)?;
                for item in table.iter()? {
                    let (k, v) = item?;
                    let key = k.value();
                    match parse_hour_key(key) {
                        Some((api, hour)) if inside(hour, API_HOURS, now) && apis.get(api)?.is_some() => {
                            let Some(record) = decoded::<ApiHourRecord>("traffic_api_hours", key, v.value()) else {
                                stale.push(key.to_string());
                                continue;
                            };
                            batch.api_hours.push(ApiHour {
                                api_id: api.to_string(),
                                hour,
                                total: Bucket::from(&record.total),
                                minutes: record.minutes.iter().map(|(m, b)| (*m, Bucket::from(b))).collect(),
                            });
                        }
                        _ => stale.push(key.to_string()),
                    }
                }
                for key in stale.drain(..) {
                    table.remove(key.as_str())?;
                }
                let mut table = txn.open_table(tables::TRAFFIC_APP_HOURS)?;
                for item in table.iter()? {
                    let (k, v) = item?;
                    let key = k.value();
                    match parse_hour_key(key) {
                        Some((app, hour)) if inside(hour, APP_SERIES_HOURS, now) && apps.get(app)?.is_some() => {
                            let Some(record) = decoded::<AppHourRecord>("traffic_app_hours", key, v.value()) else {
                                stale.push(key.to_string());
                                continue;
                            };
                            batch.app_hours.push(AppHour { app_id: app.to_string(), hour, bucket: Bucket::from(&record.bucket) });
                        }
                        _ => stale.push(key.to_string()),
                    }
                }
                for key in stale.drain(..) {
                    table.remove(key.as_str())?;
                }
                let mut table = txn.open_table(tables::CERTIFICATE_LAST_SEEN)?;
                for item in table.iter()? {
                    let (k, v) = item?;
                    let key = k.value();
                    let pair = key.split_once('/');
                    match pair {
                        Some((certificate, api)) if certificates.get(certificate)?.is_some() && apis.get(api)?.is_some() => {
                            let Some(record) = decoded::<LastSeenRecord>("certificate_last_seen", key, v.value()) else {
                                stale.push(key.to_string());
                                continue;
                            };
                            batch.last_seen.push(SeenPair {
                                certificate_id: certificate.to_string(),
                                api_id: api.to_string(),
                                at: record.at,
                                hours: record.hours.into_iter().filter(|(h, _)| inside(*h, LAST_SEEN_HOURS, now)).collect(),
                            });
                        }
                        _ => stale.push(key.to_string()),
                    }
                }
                for key in stale {
                    table.remove(key.as_str())?;
                }
                Ok(batch)
            })
            .await
    }

    /// Which of `ids` are no longer apps (their series can go; ids are never reused).
    pub async fn ended_apps(&self, ids: Vec<String>) -> Result<Vec<String>, ServiceError> {
        self.store
            .read(move |txn| {
                let apps = txn.open_table(tables::APPS)?;
                let mut ended = Vec::new();
                for id in ids {
                    if apps.get(id.as_str())?.is_none() {
                        ended.push(id);
                    }
                }
                Ok(ended)
            })
            .await
    }

    /// Saves a batch in one transaction. Records of APIs, apps and certificates that no longer
    /// exist are skipped; an owner's hours that left its span are deleted with it.
    pub async fn save(&self, batch: TrafficBatch) -> Result<(), ServiceError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.store.write(move |txn| save_in(txn, &batch)).await
    }
}

fn save_in(txn: &WriteTransaction, batch: &TrafficBatch) -> Result<(), ServiceError> {
    let apis = txn.open_table(tables::APIS)?;
    let apps = txn.open_table(tables::APPS)?;
    let certificates = txn.open_table(tables::CERTIFICATES)?;
    let mut table = txn.open_table(tables::TRAFFIC_API_HOURS)?;
    for chunk in &batch.api_hours {
        if apis.get(chunk.api_id.as_str())?.is_none() {
            continue;
        }
        let record = ApiHourRecord {
            total: StoredBucket::from(&chunk.total),
            minutes: chunk.minutes.iter().map(|(m, b)| (*m, StoredBucket::from(b))).collect(),
        };
        table.insert(hour_key(&chunk.api_id, chunk.hour).as_str(), codec::encode(&record)?.as_slice())?;
        drop_hours_before(&mut table, &chunk.api_id, chunk.hour, API_HOURS)?;
    }
    let mut table = txn.open_table(tables::TRAFFIC_APP_HOURS)?;
    for chunk in &batch.app_hours {
        if apps.get(chunk.app_id.as_str())?.is_none() {
            continue;
        }
        let record = AppHourRecord { bucket: StoredBucket::from(&chunk.bucket) };
        table.insert(hour_key(&chunk.app_id, chunk.hour).as_str(), codec::encode(&record)?.as_slice())?;
        drop_hours_before(&mut table, &chunk.app_id, chunk.hour, APP_SERIES_HOURS)?;
    }
    let mut table = txn.open_table(tables::CERTIFICATE_LAST_SEEN)?;
    for pair in &batch.last_seen {
        if certificates.get(pair.certificate_id.as_str())?.is_none() || apis.get(pair.api_id.as_str())?.is_none() {
            continue;
        }
        let record = LastSeenRecord { at: pair.at, hours: pair.hours.clone() };
        table.insert(pair_key(&pair.certificate_id, &pair.api_id).as_str(), codec::encode(&record)?.as_slice())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
