use super::*;
use certgate_core::traffic::LATENCY_BUCKETS;

/// 2026-02-14 10:00:00 UTC.
const T0: UnixSeconds = 1_771_063_200;
const CERT: &str = "aa00000000000000000000000000000000000000000000000000000000000001";

fn bucket(ok: u64, denial: Option<DenialKind>) -> Bucket {
    let mut b = Bucket::default();
    for _ in 0..ok {
        b.observe(200, None, 800);
    }
    if let Some(kind) = denial {
        b.observe(kind.status(), Some(kind), 100);
    }
    b
}

fn api_hour(api: &str, hour: UnixSeconds, ok: u64) -> ApiHour {
    let minute = bucket(ok, Some(DenialKind::CredentialInvalid));
    ApiHour { api_id: api.into(), hour, total: minute, minutes: vec![(7, minute)] }
}

async fn world() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // Only existence matters here: the owners' records are stand-ins.
    store
        .write(|txn| {
            for api in ["api_a", "api_b"] {
                txn.open_table(tables::APIS)?.insert(api, b"x".as_slice())?;
            }
            txn.open_table(tables::APPS)?.insert("app_a", b"x".as_slice())?;
            txn.open_table(tables::CERTIFICATES)?.insert(CERT, b"x".as_slice())?;
            Ok(())
        })
        .await
        .unwrap();
    (dir, store)
}

fn rows(store: &Store, table: redb::TableDefinition<'static, &'static str, &'static [u8]>) -> Vec<String> {
    store
        .read_blocking(move |txn| {
            let mut keys = Vec::new();
            for item in txn.open_table(table)?.iter()? {
                keys.push(item?.0.value().to_string());
            }
            Ok(keys)
        })
        .unwrap()
}

#[tokio::test]
async fn a_saved_batch_loads_back_after_a_reopen_and_a_deleted_apis_series_do_not() {
    let (dir, store) = world().await;
    let traffic = Traffic::new(store.clone());
    let batch = TrafficBatch {
        api_hours: vec![api_hour("api_a", T0, 3), api_hour("api_b", T0, 1), api_hour("api_gone", T0, 9)],
        app_hours: vec![
            AppHour { app_id: "app_a".into(), hour: T0, bucket: bucket(2, Some(DenialKind::QuotaExceeded)) },
            AppHour { app_id: "app_gone".into(), hour: T0, bucket: bucket(1, None) },
        ],
        last_seen: vec![SeenPair { certificate_id: CERT.into(), api_id: "api_a".into(), at: T0 + 70, hours: vec![(T0, 4)] }],
    };
    traffic.save(batch.clone()).await.unwrap();
    assert_eq!(rows(&store, tables::TRAFFIC_API_HOURS).len(), 2, "an API that does not exist is not saved");
    assert_eq!(rows(&store, tables::TRAFFIC_APP_HOURS), [format!("app_a/{:010}", T0 / 3600)]);

    // The stored denials are codes: a record reads the same whatever the enum's order.
    let raw = store
        .read_blocking(|txn| Ok(txn.open_table(tables::TRAFFIC_API_HOURS)?.get(hour_key("api_a", T0).as_str())?.map(|v| v.value().to_vec())))
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&raw).contains("\"credential_invalid\":1"), "{}", String::from_utf8_lossy(&raw));

    // Reopen the file; meanwhile api_b was deleted.
    store
        .write(|txn| {
            txn.open_table(tables::APIS)?.remove("api_b")?;
            Ok(())
        })
        .await
        .unwrap();
    drop(traffic);
    assert!(store.close(std::time::Duration::from_secs(5)).await);
    let store = Store::open(dir.path()).unwrap();
    let traffic = Traffic::new(store.clone());
    let loaded = traffic.load(T0 + 600).await.unwrap();
    assert_eq!(loaded.api_hours, vec![api_hour("api_a", T0, 3)], "api_b was deleted: its series are not loaded");
    assert_eq!(loaded.app_hours, vec![batch.app_hours[0].clone()]);
    assert_eq!(loaded.last_seen, batch.last_seen);
    assert_eq!(rows(&store, tables::TRAFFIC_API_HOURS), [hour_key("api_a", T0)], "and they are deleted from the store");

    // A certificate that is deleted takes its last-seen entries with it at the next load.
    store
        .write(|txn| {
            txn.open_table(tables::CERTIFICATES)?.remove(CERT)?;
            Ok(())
        })
        .await
        .unwrap();
    assert!(traffic.load(T0 + 600).await.unwrap().last_seen.is_empty());
    assert!(rows(&store, tables::CERTIFICATE_LAST_SEEN).is_empty());
}

#[tokio::test]
async fn hours_that_leave_the_span_are_dropped_by_saves_and_loads() {
    let (_dir, store) = world().await;
    let traffic = Traffic::new(store.clone());
    let old = T0 - 800 * 3600;
    traffic.save(TrafficBatch { api_hours: vec![api_hour("api_a", old, 1), api_hour("api_a", T0 - 700 * 3600, 1)], ..TrafficBatch::default() }).await.unwrap();
    assert_eq!(rows(&store, tables::TRAFFIC_API_HOURS).len(), 2);
    // Saving hour T0 drops what is more than 720 hours before it (the range below), nothing else.
    traffic.save(TrafficBatch { api_hours: vec![api_hour("api_a", T0, 1), api_hour("api_b", old, 1)], ..TrafficBatch::default() }).await.unwrap();
    assert_eq!(rows(&store, tables::TRAFFIC_API_HOURS), [hour_key("api_a", T0 - 700 * 3600), hour_key("api_a", T0), hour_key("api_b", old)]);
    // A load 30 days on keeps only hours inside the span, and deletes the rest.
    let loaded = traffic.load(T0 + 100 * 3600).await.unwrap();
    assert_eq!(loaded.api_hours.iter().map(|h| (h.api_id.as_str(), h.hour)).collect::<Vec<_>>(), [("api_a", T0)]);
    assert_eq!(rows(&store, tables::TRAFFIC_API_HOURS), [hour_key("api_a", T0)]);
}

#[test]
fn a_stored_bucket_keeps_every_count() {
    let mut b = bucket(5, Some(DenialKind::UpstreamTimeout));
    b.observe(302, None, 9_000_000);
    let stored = StoredBucket::from(&b);
    assert_eq!(stored.denials.len(), 1);
    assert_eq!(Bucket::from(&stored), b);
    let json = serde_json::to_string(&stored).unwrap();
    let mut unknown: StoredBucket = serde_json::from_str(&json.replace("upstream_timeout", "from_a_newer_build")).unwrap();
    unknown.latency.truncate(3);
    let read = Bucket::from(&unknown);
    assert_eq!(read.denied(), 0, "an unknown code is dropped, not misfiled");
    assert_eq!(read.requests, b.requests);
    assert_eq!(LATENCY_BUCKETS, b.latency.counts.len());
}

#[tokio::test]
async fn an_unreadable_saved_hour_is_dropped_and_the_rest_loads() {
    let (_dir, store) = world().await;
    let traffic = Traffic::new(store.clone());
    traffic.save(TrafficBatch { api_hours: vec![api_hour("api_a", T0, 3)], ..TrafficBatch::default() }).await.unwrap();
    let broken = hour_key("api_b", T0);
    store
        .write(move |txn| {
            txn.open_table(tables::TRAFFIC_API_HOURS)?.insert(broken.as_str(), b"\x01not a record".as_slice())?;
            Ok(())
        })
        .await
        .unwrap();
    let loaded = traffic.load(T0 + 60).await.expect("derived data never keeps the server from starting");
    assert_eq!(loaded.api_hours.len(), 1, "the readable hour");
    assert_eq!(loaded.api_hours[0].api_id, "api_a");
    assert_eq!(rows(&store, tables::TRAFFIC_API_HOURS), vec![hour_key("api_a", T0)], "the unreadable one is deleted");
}
