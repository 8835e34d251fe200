use super::*;

/// 2026-02-14 10:00:00 UTC: the start of an hour.
const T0: UnixSeconds = 1_771_063_200;
const CERT: &str = "aa00000000000000000000000000000000000000000000000000000000000001";

fn ok(api: &str, now: UnixSeconds) -> Request<'_> {
    Request { api_id: api, status: 200, denial: None, elapsed: Duration::from_micros(700), app: None, certificate: None, now }
}

fn day(traffic: &Traffic, api: &str, now: UnixSeconds) -> Series {
    traffic.api_series(api, Window::Day, now).unwrap()
}

fn month(traffic: &Traffic, api: &str, now: UnixSeconds) -> Series {
    traffic.api_series(api, Window::Month, now).unwrap()
}

#[test]
fn requests_count_by_status_class_denial_and_latency_per_minute() {
    let traffic = Traffic::default();
    traffic.record(ok("api_a", T0 + 5));
    traffic.record(Request { status: 403, denial: Some(DenialKind::ClientCertificateNotAllowed), elapsed: Duration::from_millis(3), ..ok("api_a", T0 + 50) });
    traffic.record(Request { status: 101, ..ok("api_a", T0 + 59) });
    traffic.record(ok("api_a", T0 + 60));
    let series = day(&traffic, "api_a", T0 + 61);
    assert_eq!(series.points.len(), 1440);
    assert_eq!(series.step, 60);
    assert_eq!(series.start, T0 + 60 - 1439 * 60, "the last point is the minute holding now");
    let first = series.points[1438];
    assert_eq!(first.requests, [2, 0, 1, 0], "a 101 counts as 2xx");
    assert_eq!(first.denials[DenialKind::ClientCertificateNotAllowed.index()], 1);
    assert_eq!(first.denied(), 1);
    assert_eq!(first.latency.count(), 3);
    assert_eq!(first.latency.counts[1], 2, "0.7 ms is in the ≤ 1 ms bucket");
    assert_eq!(first.latency.counts[3], 1, "3 ms is in the ≤ 4 ms bucket");
    assert_eq!(series.points[1439].total(), 1, "the next minute has its own point");
    assert_eq!(series.total().total(), 4);
    assert!(series.points[..1438].iter().all(Bucket::is_empty));
    assert!(traffic.api_series("api_other", Window::Day, T0).is_none(), "no traffic, no series");
}

#[test]
fn a_day_later_a_minute_slot_is_emptied_not_counted_twice() {
    let traffic = Traffic::default();
    traffic.record(ok("api_a", T0));
    traffic.record(ok("api_a", T0));
    // The same slot of the minute ring, one day on.
    traffic.record(ok("api_a", T0 + 86_400));
    let series = day(&traffic, "api_a", T0 + 86_400);
    assert_eq!(series.points[1439].total(), 1, "the old minute was emptied, not added to");
    assert_eq!(series.total().total(), 1, "nothing older than 24 hours in the day series");
    // Minute T0 is 1,440 minutes back: just outside the day window, still in the month.
    assert_eq!(series.start, T0 + 60);
    assert_eq!(month(&traffic, "api_a", T0 + 86_400).total().total(), 3);
    // Asking for a day whose minutes the ring no longer holds: zeros, not the newer counts.
    let old = day(&traffic, "api_a", T0 + 30);
    assert_eq!(old.points[1439].total(), 0, "minute T0's slot now counts another minute");
    // A request from before the slot's minute (the clock went back a day) is not counted there.
    traffic.record(ok("api_a", T0 + 1));
    assert_eq!(day(&traffic, "api_a", T0 + 86_400).total().total(), 1);
}

#[test]
fn the_hour_ring_keeps_30_days_and_wraps() {
    let traffic = Traffic::default();
    for h in 0..3 {
        for _ in 0..=h {
            traffic.record(ok("api_a", T0 + h * 3600 + 10));
        }
    }
    let now = T0 + 2 * 3600 + 20;
    let series = month(&traffic, "api_a", now);
    assert_eq!(series.points.len(), 720);
    assert_eq!(series.step, 3600);
    assert_eq!(series.start, T0 + 2 * 3600 - 719 * 3600);
    assert_eq!(series.points[717..].iter().map(Bucket::total).collect::<Vec<_>>(), [1, 2, 3]);
    // 720 hours later the first hour's slot is reused.
    let later = T0 + 720 * 3600;
    traffic.record(ok("api_a", later));
    let series = month(&traffic, "api_a", later);
    assert_eq!(series.points[719].total(), 1);
    assert_eq!(series.total().total(), 1 + 2 + 3, "hours 1 and 2 are still inside 30 days, hour 0 is not");
    assert_eq!(series.points[0].total(), 2, "the oldest point is hour 1");
}

#[test]
fn concurrent_requests_across_a_minute_boundary_are_all_counted() {
    let traffic = Arc::new(Traffic::default());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let traffic = Arc::clone(&traffic);
            std::thread::spawn(move || {
                for i in 0..5_000 {
                    traffic.record(ok("api_a", T0 + 59 + (i % 2)));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let series = day(&traffic, "api_a", T0 + 60);
    assert_eq!(series.points[1438].total(), 10_000);
    assert_eq!(series.points[1439].total(), 10_000);
    assert_eq!(month(&traffic, "api_a", T0 + 60).points[719].total(), 20_000);
}

#[test]
fn app_series_are_made_on_first_request_and_capped() {
    let traffic = Traffic::new(TrafficConfig { app_series_cap: 2, ..TrafficConfig::default() });
    let apps: Vec<CompactId> = ["app_1", "app_2", "app_3"].into_iter().map(CompactId::new).collect();
    for app in &apps {
        traffic.record(Request { app: Some(app), ..ok("api_a", T0) });
    }
    traffic.record(Request { app: Some(&apps[0]), status: 429, denial: Some(DenialKind::RateLimited), ..ok("api_a", T0 + 3600) });
    let series = traffic.app_series("app_1", T0 + 3600).unwrap();
    assert_eq!(series.points.len(), 168);
    assert_eq!(series.step, 3600);
    assert_eq!(series.points[166].total(), 1);
    assert_eq!(series.points[167].denials[DenialKind::RateLimited.index()], 1);
    assert!(traffic.app_series("app_2", T0).is_some());
    assert!(traffic.app_series("app_3", T0).is_none(), "over the cap: no series");
    assert_eq!(month(&traffic, "api_a", T0 + 3600).total().total(), 4, "the refused app's request counts for its API");
    let memory = traffic.memory();
    assert_eq!((memory.app_series, memory.app_series_cap, memory.app_requests_over_cap), (2, 2, 1));
    // An app that ended gives its place up.
    traffic.forget_apps(&["app_2".to_string()]);
    traffic.record(Request { app: Some(&apps[2]), ..ok("api_a", T0) });
    assert!(traffic.app_series("app_3", T0).is_some());
    assert!(traffic.app_series("app_2", T0).is_none());
}

#[test]
fn last_seen_counts_authenticated_requests_over_24_hours() {
    let traffic = Traffic::default();
    let cert = certificate_digest(CERT).unwrap();
    for _ in 0..3 {
        traffic.record(Request { certificate: Some(&cert), ..ok("api_a", T0 + 100) });
    }
    for _ in 0..2 {
        traffic.record(Request { certificate: Some(&cert), ..ok("api_a", T0 + 2 * 3600 + 5) });
    }
    traffic.record(Request { certificate: Some(&cert), ..ok("api_b", T0 + 50) });
    traffic.record(ok("api_c", T0 + 60));
    let seen = traffic.last_seen_of_certificate(CERT, T0 + 2 * 3600 + 10);
    assert_eq!(
        seen,
        vec![
            LastSeen { api_id: "api_a".into(), at: T0 + 2 * 3600 + 5, requests_24h: 5 },
            LastSeen { api_id: "api_b".into(), at: T0 + 50, requests_24h: 1 },
        ]
    );
    // Hour T0 leaves the 24 hours at T0 + 24 h; the hour T0 + 2 h stays until T0 + 26 h.
    let a = |now| traffic.last_seen_of_certificate(CERT, now).into_iter().find(|s| s.api_id == "api_a").unwrap();
    assert_eq!(a(T0 + 23 * 3600 + 3599).requests_24h, 5);
    assert_eq!(a(T0 + 24 * 3600).requests_24h, 2);
    assert_eq!(a(T0 + 26 * 3600).requests_24h, 0);
    assert_eq!(a(T0 + 26 * 3600).at, T0 + 2 * 3600 + 5, "last seen stays");
    // The same slot a day on starts afresh.
    traffic.record(Request { certificate: Some(&cert), ..ok("api_a", T0 + 24 * 3600 + 1) });
    assert_eq!(a(T0 + 24 * 3600 + 2).requests_24h, 3);
    assert_eq!(traffic.last_seen_all(), vec![(CERT.to_string(), T0 + 24 * 3600 + 1)]);
    assert!(traffic.last_seen_of_certificate("not hex", T0).is_empty());
    assert!(traffic.last_seen_of_certificate(&"bb".repeat(32), T0).is_empty());
}

#[test]
fn memory_stays_bounded_by_the_caps_whatever_the_traffic() {
    let traffic = Traffic::new(TrafficConfig { app_series_cap: 50, last_seen_cap: 100, ..TrafficConfig::default() });
    for i in 0..10_000u32 {
        let app = CompactId::new(&format!("app_{i:032x}"));
        let mut cert = [0u8; 32];
        cert[..4].copy_from_slice(&i.to_be_bytes());
        traffic.record(Request { app: Some(&app), certificate: Some(&cert), ..ok("api_a", T0 + i64::from(i)) });
    }
    let memory = traffic.memory();
    assert_eq!(memory.api_series, 1);
    assert_eq!(memory.app_series, 50);
    assert_eq!(memory.app_requests_over_cap, 10_000 - 50);
    assert!(memory.last_seen_entries <= 100 + 4, "{}", memory.last_seen_entries);
    assert_eq!(memory.last_seen_over_cap, 10_000 - memory.last_seen_entries as u64);
    let bound = memory.bytes_per_api_series + 50 * memory.bytes_per_app_series + 256 * memory.bytes_per_last_seen_entry + 100 * 64;
    assert!(memory.total_bytes <= bound, "{memory:?}");
    // The figures the README quotes.
    assert!(memory.bytes_per_api_series < 400_000, "{memory:?}");
    assert!(memory.bytes_per_app_series < 30_000, "{memory:?}");
    assert!(memory.bytes_per_last_seen_entry < 300, "{memory:?}");
    println!("{memory:?}");
}

#[test]
fn off_records_nothing() {
    let traffic = Traffic::new(TrafficConfig { recording: false, ..TrafficConfig::default() });
    let cert = certificate_digest(CERT).unwrap();
    traffic.record(Request { certificate: Some(&cert), ..ok("api_a", T0) });
    assert!(traffic.api_series("api_a", Window::Day, T0).is_none());
    assert!(traffic.last_seen_all().is_empty());
    assert!(!traffic.memory().recording);
}

#[test]
fn changes_are_taken_once_and_load_back() {
    let traffic = Traffic::default();
    let cert = certificate_digest(CERT).unwrap();
    let app = CompactId::new("app_1");
    traffic.record(Request { app: Some(&app), certificate: Some(&cert), ..ok("api_a", T0 + 61) });
    traffic.record(Request { status: 401, denial: Some(DenialKind::CredentialInvalid), ..ok("api_a", T0 + 3 * 60) });
    traffic.record(ok("api_a", T0 + 3600));
    let batch = traffic.take_changed();
    assert_eq!(batch.api_hours.len(), 2, "{batch:?}");
    let first = batch.api_hours.iter().find(|h| h.hour == T0).unwrap();
    assert_eq!(first.total.total(), 2);
    assert_eq!(first.minutes.iter().map(|(m, b)| (*m, b.total())).collect::<Vec<_>>(), [(1, 1), (3, 1)], "only minutes with traffic");
    assert_eq!(batch.app_hours.len(), 1);
    assert_eq!(batch.last_seen, vec![SeenPair { certificate_id: CERT.into(), api_id: "api_a".into(), at: T0 + 61, hours: vec![(T0, 1)] }]);
    assert!(traffic.take_changed().is_empty(), "clean after a take");
    // A request changes only its own hour: the next batch is that hour alone.
    traffic.record(ok("api_a", T0 + 3600 + 5));
    let next = traffic.take_changed();
    assert_eq!(next.api_hours.iter().map(|h| h.hour).collect::<Vec<_>>(), [T0 + 3600]);
    assert!(next.app_hours.is_empty() && next.last_seen.is_empty());
    // A failed save is retried.
    traffic.retry(&next);
    assert_eq!(traffic.take_changed().api_hours.len(), 1);

    let now = T0 + 3600 + 30;
    let restarted = Traffic::default();
    let mut all = batch.clone();
    all.api_hours.retain(|h| h.hour == T0);
    all.api_hours.extend(next.api_hours);
    restarted.load(all, now);
    assert_eq!(day(&restarted, "api_a", now), day(&traffic, "api_a", now));
    assert_eq!(month(&restarted, "api_a", now), month(&traffic, "api_a", now));
    assert_eq!(restarted.app_series("app_1", now), traffic.app_series("app_1", now));
    assert_eq!(restarted.last_seen_of_certificate(CERT, now), traffic.last_seen_of_certificate(CERT, now));
    assert!(restarted.take_changed().is_empty(), "what was loaded is not saved again");
    // Saved hours outside the spans are not loaded.
    let late = Traffic::default();
    late.load(batch, T0 + 721 * 3600);
    assert!(late.api_series("api_a", Window::Month, T0 + 721 * 3600).is_none_or(|s| s.total().is_empty()));
    assert!(late.app_series("app_1", T0 + 721 * 3600).is_none_or(|s| s.total().is_empty()));
}

#[test]
fn totals_since_use_minutes_within_a_day_and_hours_beyond() {
    let traffic = Traffic::default();
    let app = CompactId::new("app_1");
    traffic.record(Request { app: Some(&app), ..ok("api_a", T0 + 10) });
    traffic.record(Request { status: 403, denial: Some(DenialKind::ApiNotGranted), ..ok("api_a", T0 + 1800) });
    traffic.record(ok("api_b", T0 + 1900));
    traffic.record(ok("api_b", T0 + 1950));
    let now = T0 + 2000;
    let last_quarter = traffic.totals_since(now - 900, now);
    assert_eq!(last_quarter.since, T0 + 1080);
    assert_eq!(last_quarter.apis.iter().map(|t| (t.id.as_str(), t.bucket.total())).collect::<Vec<_>>(), [("api_b", 2), ("api_a", 1)]);
    assert_eq!(last_quarter.apis[1].bucket.denials[DenialKind::ApiNotGranted.index()], 1);
    assert_eq!(last_quarter.apps.len(), 1, "apps count per hour: the hour holding `since`");
    let week = traffic.totals_since(now - 7 * 86_400, now);
    assert_eq!(week.since, T0 - 7 * 86_400);
    assert_eq!(week.apis.iter().map(|t| t.bucket.total()).sum::<u64>(), 4);
    assert_eq!(week.apps[0].bucket.total(), 1);
}

#[test]
fn a_deleted_apis_series_and_last_seen_go() {
    let traffic = Traffic::default();
    let cert = certificate_digest(CERT).unwrap();
    traffic.record(Request { certificate: Some(&cert), ..ok("api_a", T0) });
    traffic.record(Request { certificate: Some(&cert), ..ok("api_b", T0) });
    traffic.retain_apis(|id| id != "api_a");
    assert!(traffic.api_series("api_a", Window::Day, T0).is_none());
    assert_eq!(traffic.api_ids(), ["api_b"]);
    assert_eq!(traffic.last_seen_of_certificate(CERT, T0).iter().map(|s| s.api_id.as_str()).collect::<Vec<_>>(), ["api_b"]);
    assert_eq!(traffic.memory().api_series, 1);
}
