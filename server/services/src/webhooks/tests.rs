use certgate_core::gateway::spec::KeySpec;
use certgate_testpki::{LeafSpec, TestPki};

use super::outbox::{DISABLE_AFTER_MS, GIVE_UP_AFTER_MS};
use super::*;
use crate::accounts::OrgRole;
use crate::keys::Keys;
use crate::test_world::{code, world};

const HOUR_MS: i64 = 3600 * 1000;

fn admin() -> Actor {
    Actor::Admin { name: "admin".into() }
}

fn events(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn failed(at_ms: i64) -> Attempt {
    Attempt { at_ms, duration_ms: 3, status: None, error: Some("connection refused".into()) }
}

fn answered(at_ms: i64, status: u16) -> Attempt {
    Attempt { at_ms, duration_ms: 3, status: Some(status), error: None }
}

async fn all_deliveries(hooks: &Webhooks, id: &str) -> Vec<DeliveryRecord> {
    hooks.deliveries(&admin(), id, None, 1000).await.unwrap().deliveries
}

#[tokio::test]
async fn registration_validates_and_the_secret_is_shown_once_and_never_debug_printed() {
    let w = world().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    let ok = events(&["credential.revoked"]);
    for (url, expected) in [
        ("ftp://example.com/x", "invalid_webhook_url"),
        ("https://user:pw@example.com/x", "invalid_webhook_url"),
        ("https://example.com/x#frag", "invalid_webhook_url"),
        ("https://exa mple.com/", "invalid_webhook_url"),
        ("not a url", "invalid_webhook_url"),
        ("", "invalid_webhook_url"),
    ] {
        assert_eq!(code(hooks.register(&admin(), url, &ok).await.map(|n| n.endpoint)), expected, "{url}");
    }
    let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
    assert_eq!(code(hooks.register(&admin(), &long, &ok).await.map(|n| n.endpoint)), "invalid_webhook_url");
    assert_eq!(code(hooks.register(&admin(), "https://example.com/", &[]).await.map(|n| n.endpoint)), "no_webhook_events");
    assert_eq!(code(hooks.register(&admin(), "https://example.com/", &events(&["credential.lost"])).await.map(|n| n.endpoint)), "unknown_webhook_event");
    let consumer = Actor::Consumer { user: "usr_1".into(), organisation: w.acme.clone(), role: OrgRole::OrgAdmin };
    assert_eq!(code(hooks.register(&consumer, "https://example.com/", &ok).await.map(|n| n.endpoint)), "forbidden");
    assert_eq!(code(hooks.list(&consumer).await), "forbidden");
    assert!(hooks.list(&admin()).await.unwrap().is_empty(), "nothing refused was stored");

    let new = hooks
        .register(&admin(), " http://127.0.0.1:9/hook ", &events(&["credential.revoked", "access_request.created", "credential.revoked"]))
        .await
        .unwrap();
    assert!(new.endpoint.id.starts_with("whk_") && new.secret.starts_with("whsec_"));
    assert_eq!(new.endpoint.url, "http://127.0.0.1:9/hook");
    assert_eq!(new.endpoint.events, events(&["access_request.created", "credential.revoked"]), "known order, each once");
    let record = w.store.read_blocking(|txn| load_endpoint(&txn.open_table(tables::WEBHOOK_ENDPOINTS)?, &new.endpoint.id)).unwrap().unwrap();
    assert_eq!(record.secret.expose(), new.secret);
    assert!(!format!("{record:?}").contains(&new.secret[6..]), "Debug never prints the secret");
    assert_eq!(hooks.list(&admin()).await.unwrap(), vec![new.endpoint.clone()]);
}

#[tokio::test]
async fn a_change_queues_its_event_in_its_own_transaction_for_subscribed_endpoints_only() {
    let w = world().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    let revoked = hooks.register(&admin(), "http://127.0.0.1:9/a", &events(&["credential.revoked"])).await.unwrap().endpoint;
    let issued = hooks.register(&admin(), "http://127.0.0.1:9/b", &events(&["credential.issued", "credential.revoked"])).await.unwrap().endpoint;
    let keys = Keys::new(w.store.clone());
    let spec: KeySpec = serde_json::from_value(serde_json::json!({ "apis": [w.api] })).unwrap();
    let key = keys.create(spec, "admin-token").await.unwrap().record.id;
    assert!(all_deliveries(&hooks, &revoked.id).await.is_empty());
    let on_issue = all_deliveries(&hooks, &issued.id).await;
    assert_eq!(on_issue.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&on_issue[0].payload).unwrap();
    assert_eq!(body["type"], "credential.issued");
    assert_eq!(body["data"]["id"], key.as_str());
    assert_eq!(body["data"]["origin"], "admin");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));

    keys.revoke(&key, "admin-token").await.unwrap();
    let a = all_deliveries(&hooks, &revoked.id).await;
    let b = all_deliveries(&hooks, &issued.id).await;
    assert_eq!((a.len(), b.len()), (1, 2));
    assert_eq!((a[0].event.as_str(), b[0].event.as_str()), ("credential.revoked", "credential.revoked"));
    assert_ne!(a[0].id, b[0].id, "each delivery has its own webhook-id");
    assert_eq!(a[0].state, DeliveryState::Pending);

    // A refused change queues nothing: revoking it again is 404, and nothing more is queued.
    assert_eq!(code(keys.revoke(&key, "admin-token").await), "not_found");
    assert_eq!(all_deliveries(&hooks, &revoked.id).await.len(), 1);
    // One per endpoint at a time, the oldest first.
    let due = hooks.due(i64::MAX / 2, 10, |_| false).await.unwrap();
    assert_eq!(due.len(), 2);
    assert!(due.iter().all(|d| d.secret.starts_with("whsec_")));
    assert_eq!((due[0].id.as_str(), due[1].id.as_str()), (b[1].id.as_str(), a[0].id.as_str()));
    // A busy endpoint's (one in flight) are skipped.
    let busy = issued.id.clone();
    let free = hooks.due(i64::MAX / 2, 10, move |e| e == busy).await.unwrap();
    assert_eq!(free.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), vec![a[0].id.as_str()]);
    assert_eq!(hooks.due(i64::MAX / 2, 1, |_| false).await.unwrap().len(), 1, "at most the limit");
}

#[test]
fn the_backoff_grows_then_stays_at_an_hour() {
    let policy = RetryPolicy::default();
    let waits: Vec<i64> = (1..=7).map(|n| policy.delay_after(n) / 1000).collect();
    assert_eq!(waits, vec![5, 30, 120, 600, 3600, 3600, 3600]);
    assert_eq!(RetryPolicy { base_ms: 50 }.delay_after(2), 300);
}

#[tokio::test]
async fn failures_are_retried_with_backoff_and_a_success_ends_the_delivery() {
    let w = world().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    let hook = hooks.register(&admin(), "http://127.0.0.1:9/a", &events(&["credential.issued"])).await.unwrap().endpoint;
    let t0 = 1_000_000_000;
    let delivery = hooks.send_test(&admin(), &hook.id, t0).await.unwrap();
    assert_eq!(delivery.event, TEST_EVENT, "a test event whatever the filter");
    assert_eq!(hooks.due(t0 - 1, 10, |_| false).await.unwrap().len(), 0, "not due before its time");
    assert_eq!(hooks.due(t0, 10, |_| false).await.unwrap().len(), 1);

    hooks.record_attempt(delivery.seq, &delivery.id, failed(t0), t0).await.unwrap();
    assert!(hooks.due(t0 + 4_999, 10, |_| false).await.unwrap().is_empty());
    assert_eq!(hooks.due(t0 + 5_000, 10, |_| false).await.unwrap()[0].id, delivery.id, "same webhook-id on the retry");
    let t1 = t0 + 5_000;
    hooks.record_attempt(delivery.seq, &delivery.id, answered(t1, 500), t1).await.unwrap();
    assert!(hooks.due(t1 + 29_999, 10, |_| false).await.unwrap().is_empty());
    assert_eq!(hooks.get(&admin(), &hook.id).await.unwrap().failing_since_ms, Some(t0));
    let t2 = t1 + 30_000;
    // A redirect is not followed: it is a failure like any other non-2xx answer.
    hooks.record_attempt(delivery.seq, &delivery.id, answered(t2, 302), t2).await.unwrap();
    let t3 = t2 + 120_000;
    hooks.record_attempt(delivery.seq, &delivery.id, answered(t3, 204), t3).await.unwrap();
    let log = all_deliveries(&hooks, &hook.id).await;
    assert_eq!(log[0].state, DeliveryState::Delivered);
    assert_eq!(log[0].attempt_count, 4);
    let statuses: Vec<Option<u16>> = log[0].attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, vec![None, Some(500), Some(302), Some(204)]);
    assert!(hooks.due(i64::MAX / 2, 10, |_| false).await.unwrap().is_empty());
    assert_eq!(hooks.get(&admin(), &hook.id).await.unwrap().failing_since_ms, None, "a success clears the failure");
    // An outcome recorded twice (a stale worker) changes nothing.
    hooks.record_attempt(delivery.seq, &delivery.id, failed(t3), t3).await.unwrap();
    assert_eq!(all_deliveries(&hooks, &hook.id).await[0].attempt_count, 4);
}

#[tokio::test]
async fn an_endpoint_failing_for_24_hours_is_disabled_flagged_and_resumed_when_re_enabled() {
    let w = world().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    let hook = hooks.register(&admin(), "http://127.0.0.1:9/a", &events(&["credential.issued"])).await.unwrap().endpoint;
    let t0 = 2_000_000_000;
    let first = hooks.send_test(&admin(), &hook.id, t0).await.unwrap();
    let second = hooks.send_test(&admin(), &hook.id, t0).await.unwrap();
    hooks.record_attempt(first.seq, &first.id, failed(t0), t0).await.unwrap();
    // Failing for just under 24 hours: still retried.
    let almost = t0 + DISABLE_AFTER_MS - 1;
    hooks.record_attempt(first.seq, &first.id, failed(almost), almost).await.unwrap();
    assert!(hooks.get(&admin(), &hook.id).await.unwrap().disabled.is_none());
    let late = t0 + DISABLE_AFTER_MS;
    hooks.record_attempt(second.seq, &second.id, answered(late, 503), late).await.unwrap();
    let flagged = hooks.get(&admin(), &hook.id).await.unwrap();
    let disabled = flagged.disabled.expect("disabled after 24 hours of failures");
    assert!(disabled.reason.contains("HTTP 503"), "{}", disabled.reason);
    assert!(hooks.due(i64::MAX / 2, 10, |_| false).await.unwrap().is_empty(), "nothing is sent to a disabled endpoint");
    let states: Vec<DeliveryState> = all_deliveries(&hooks, &hook.id).await.iter().map(|d| d.state).collect();
    assert_eq!(states, vec![DeliveryState::Paused, DeliveryState::Paused]);
    assert_eq!(code(hooks.send_test(&admin(), &hook.id, late).await), "webhook_disabled");
    // New events are not queued for it.
    crate::webhooks::tests::issue_key(&w).await;
    assert_eq!(all_deliveries(&hooks, &hook.id).await.len(), 2);

    let t5 = late + HOUR_MS;
    let enabled = hooks.enable(&admin(), &hook.id, t5).await.unwrap();
    assert!(enabled.disabled.is_none() && enabled.failing_since_ms.is_none());
    let due = hooks.due(t5, 10, |_| false).await.unwrap();
    let ids: Vec<&str> = due.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, vec![first.id.as_str()], "the paused deliveries are sent again, oldest first, one at a time");
    hooks.record_attempt(first.seq, &first.id, answered(t5, 200), t5).await.unwrap();
    assert_eq!(hooks.due(t5, 10, |_| false).await.unwrap()[0].id, second.id);
}

#[tokio::test]
async fn a_delivery_failing_for_24_hours_is_given_up_while_its_endpoint_works() {
    let w = world().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    let hook = hooks.register(&admin(), "http://127.0.0.1:9/a", &events(&["credential.issued"])).await.unwrap().endpoint;
    let t0 = 3_000_000_000;
    let poison = hooks.send_test(&admin(), &hook.id, t0).await.unwrap();
    hooks.record_attempt(poison.seq, &poison.id, answered(t0, 400), t0).await.unwrap();
    // Others succeed meanwhile: the endpoint is healthy.
    let later = t0 + GIVE_UP_AFTER_MS;
    let fine = hooks.send_test(&admin(), &hook.id, later - 10).await.unwrap();
    hooks.record_attempt(fine.seq, &fine.id, answered(later - 10, 200), later - 10).await.unwrap();
    hooks.record_attempt(poison.seq, &poison.id, answered(later, 400), later).await.unwrap();
    let log = all_deliveries(&hooks, &hook.id).await;
    assert_eq!((log[0].state, log[1].state), (DeliveryState::Delivered, DeliveryState::Failed));
    assert!(hooks.get(&admin(), &hook.id).await.unwrap().disabled.is_none());
    assert!(hooks.due(i64::MAX / 2, 10, |_| false).await.unwrap().is_empty());
}

#[tokio::test]
async fn pending_deliveries_survive_a_restart_and_deleting_an_endpoint_drops_its_queue() {
    let w = world().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    let hook = hooks.register(&admin(), "http://127.0.0.1:9/a", &events(&["credential.issued"])).await.unwrap().endpoint;
    let pending = hooks.send_test(&admin(), &hook.id, 5).await.unwrap();
    drop(hooks);
    let w = w.reopen().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    let due = hooks.due(5, 10, |_| false).await.unwrap();
    assert_eq!(due.iter().map(|d| d.id.clone()).collect::<Vec<_>>(), vec![pending.id]);
    hooks.delete(&admin(), &hook.id).await.unwrap();
    assert!(hooks.due(i64::MAX / 2, 10, |_| false).await.unwrap().is_empty());
    assert_eq!(code(hooks.deliveries(&admin(), &hook.id, None, 10).await.map(|p| p.deliveries)), "not_found");
    assert_eq!(code(hooks.delete(&admin(), &hook.id).await), "not_found");
}

#[tokio::test]
async fn the_log_keeps_the_newest_finished_deliveries_and_pages_back() {
    let w = world().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    let hook = hooks.register(&admin(), "http://127.0.0.1:9/a", &events(&["credential.issued"])).await.unwrap().endpoint;
    let kept = outbox::KEEP_PER_ENDPOINT;
    for i in 0..kept + 5 {
        let d = hooks.send_test(&admin(), &hook.id, i as i64).await.unwrap();
        if i >= 2 {
            hooks.record_attempt(d.seq, &d.id, answered(i as i64, 200), i as i64).await.unwrap();
        }
    }
    let log = all_deliveries(&hooks, &hook.id).await;
    // Pending ones are not dropped (nor counted): the two first stay, the oldest finished go.
    assert_eq!(log.len(), kept + 2);
    assert_eq!(log.iter().filter(|d| d.state == DeliveryState::Pending).count(), 2);
    let page = hooks.deliveries(&admin(), &hook.id, None, 10).await.unwrap();
    assert!(page.more);
    let next = hooks.deliveries(&admin(), &hook.id, page.deliveries.last().map(|d| d.seq), 10).await.unwrap();
    assert!(next.deliveries[0].seq < page.deliveries[9].seq);
}

#[tokio::test]
async fn expiring_certificates_in_use_are_announced_once_per_threshold() {
    let w = world().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    let hook = hooks.register(&admin(), "http://127.0.0.1:9/a", &events(&["certificate.expiring"])).await.unwrap().endpoint;
    let pki = TestPki::new();
    let used = w.upload(&pki.leaf(&LeafSpec::client("used").expiring_in_days(20)), Some(&w.acme)).await;
    w.upload(&pki.leaf(&LeafSpec::client("unused").expiring_in_days(20)), None).await;
    w.upload(&pki.leaf(&LeafSpec::client("later").expiring_in_days(90)), Some(&w.acme)).await;
    let now = crate::clock::now();
    assert_eq!(hooks.scan_expiring(now).await.unwrap(), 1);
    assert_eq!(hooks.scan_expiring(now + 60).await.unwrap(), 0, "once per threshold");
    let in_two_weeks = now + 14 * 86_400;
    assert_eq!(hooks.scan_expiring(in_two_weeks).await.unwrap(), 1, "the 7-day notice");
    assert_eq!(hooks.scan_expiring(in_two_weeks + 60).await.unwrap(), 0);
    assert_eq!(hooks.scan_expiring(now + 30 * 86_400).await.unwrap(), 0, "nothing once expired");
    let log = all_deliveries(&hooks, &hook.id).await;
    let thresholds: Vec<serde_json::Value> =
        log.iter().map(|d| serde_json::from_str::<serde_json::Value>(&d.payload).unwrap()["data"]["threshold_days"].clone()).collect();
    assert_eq!(thresholds, vec![serde_json::json!(7), serde_json::json!(30)]);
    assert!(log.iter().all(|d| d.payload.contains(&used)));
}

pub(super) async fn issue_key(w: &crate::test_world::World) {
    let spec: KeySpec = serde_json::from_value(serde_json::json!({ "apis": [w.api] })).unwrap();
    Keys::new(w.store.clone()).create(spec, "admin-token").await.unwrap();
}

#[tokio::test]
async fn the_portal_lifecycle_emits_its_events_and_an_app_deletion_revokes_its_credentials() {
    use crate::portal::requests::NewRequest;
    use certgate_core::portal::product::CertificateMode;
    let w = world().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    let all = events(EVENTS);
    let hook = hooks.register(&admin(), "http://127.0.0.1:9/a", &all).await.unwrap().endpoint;
    let pki = TestPki::new();
    w.upload(&pki.leaf(&LeafSpec::client("acme")), Some(&w.acme)).await;
    let product = w.product(CertificateMode::Managed, false).await;
    let alice = Actor::Consumer { user: "usr_alice".into(), organisation: w.acme.clone(), role: OrgRole::Member };
    let ask = || NewRequest { product: product.clone(), plan: w.plan.clone(), certificate: None };
    let app = w.apps.create(&alice, "Shop").await.unwrap();
    let first = w.requests.create(&alice, &app.id, ask()).await.unwrap();
    w.requests.reject(&w.admin, &first.id, "not yet").await.unwrap();
    let second = w.requests.create(&alice, &app.id, ask()).await.unwrap();
    w.requests.approve(&w.admin, &second.id).await.unwrap();
    let credential = w.credentials.of_app(&alice, &app.id).await.unwrap().pop().unwrap().credential.id;
    w.credentials.mint(&alice, &credential).await.unwrap();
    w.credentials.rotate(&alice, &credential, 60).await.unwrap();
    w.apps.delete(&alice, &app.id).await.unwrap();

    let mut log = all_deliveries(&hooks, &hook.id).await;
    log.reverse();
    let seen: Vec<(String, serde_json::Value)> = log
        .iter()
        .map(|d| {
            let body: serde_json::Value = serde_json::from_str(&d.payload).unwrap();
            (d.event.clone(), body["data"].clone())
        })
        .collect();
    let names: Vec<&str> = seen.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "access_request.created",
            "access_request.rejected",
            "access_request.created",
            "access_request.approved",
            "credential.issued",
            "credential.rotated",
            "credential.revoked"
        ]
    );
    assert_eq!(seen[1].1["detail"], "not yet");
    assert_eq!(seen[1].1["organisation"], w.acme.as_str());
    for (_, data) in &seen[4..] {
        assert_eq!((data["id"].as_str(), data["origin"].as_str()), (Some(credential.as_str()), Some("portal")));
    }
}

#[tokio::test]
async fn a_deleted_endpoints_sequence_number_is_never_reused_and_a_stale_outcome_is_ignored() {
    let w = world().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    let kept = hooks.register(&admin(), "http://127.0.0.1:9/a", &events(&["credential.issued"])).await.unwrap().endpoint;
    let gone = hooks.register(&admin(), "http://127.0.0.1:9/b", &events(&["credential.issued"])).await.unwrap().endpoint;
    // The deleted endpoint's delivery holds the highest sequence number, and is in flight.
    let in_flight = hooks.send_test(&admin(), &gone.id, 10).await.unwrap();
    hooks.delete(&admin(), &gone.id).await.unwrap();
    let fresh = hooks.send_test(&admin(), &kept.id, 20).await.unwrap();
    assert!(fresh.seq > in_flight.seq, "a number once used is not used again");
    // Even were the number the same, an outcome for another webhook-id changes nothing.
    hooks.record_attempt(in_flight.seq, &in_flight.id, answered(30, 200), 30).await.unwrap();
    hooks.record_attempt(fresh.seq, &in_flight.id, answered(30, 200), 30).await.unwrap();
    let log = all_deliveries(&hooks, &kept.id).await;
    assert_eq!((log.len(), log[0].state, log[0].attempt_count), (1, DeliveryState::Pending, 0));
    assert_eq!(hooks.due(30, 10, |_| false).await.unwrap()[0].id, fresh.id);
    // The counter survives a restart.
    drop(hooks);
    let w = w.reopen().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    hooks.delete(&admin(), &kept.id).await.unwrap();
    let other = hooks.register(&admin(), "http://127.0.0.1:9/c", &events(&["credential.issued"])).await.unwrap().endpoint;
    assert!(hooks.send_test(&admin(), &other.id, 40).await.unwrap().seq > fresh.seq);
}

#[tokio::test]
async fn a_backlog_past_the_cap_gives_up_its_oldest_and_pruning_skips_the_pending_ones() {
    use super::outbox::MAX_OPEN_PER_ENDPOINT;
    let w = world().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    let dead = hooks.register(&admin(), "http://127.0.0.1:9/a", &events(&["credential.issued"])).await.unwrap().endpoint;
    let record = w.store.read_blocking(|txn| load_endpoint(&txn.open_table(tables::WEBHOOK_ENDPOINTS)?, &dead.id)).unwrap().unwrap();
    // A dead endpoint's backlog fills up (queued in one transaction: quicker than one each).
    let (endpoint, cap) = (record.clone(), MAX_OPEN_PER_ENDPOINT as usize);
    let first = w
        .store
        .write(move |txn| {
            let first = outbox::enqueue(txn, &endpoint, "credential.issued", "{}", 1)?;
            for i in 1..cap {
                outbox::enqueue(txn, &endpoint, "credential.issued", "{}", 1 + i as i64)?;
            }
            Ok(first)
        })
        .await
        .unwrap();
    let newest = hooks.send_test(&admin(), &dead.id, 50_000).await.unwrap();
    let page = hooks.deliveries(&admin(), &dead.id, Some(first.seq + 1), 1).await.unwrap();
    let oldest = &page.deliveries[0];
    assert_eq!((oldest.id.as_str(), oldest.state, oldest.attempt_count), (first.id.as_str(), DeliveryState::Failed, 0));
    assert!(oldest.attempts[0].error.as_deref().unwrap().starts_with("overflow"), "{:?}", oldest.attempts);
    let queued = |w: &crate::test_world::World| w.store.read_blocking(|txn| Ok(txn.open_table(tables::WEBHOOK_QUEUE)?.iter()?.count())).unwrap();
    assert_eq!(queued(&w), cap, "never more than the cap waiting");
    let log = all_deliveries(&hooks, &dead.id).await;
    assert_eq!(log[0].id, newest.id);
    // The outcome of the given-up one (it was in flight) changes nothing.
    hooks.record_attempt(first.seq, &first.id, answered(50_001, 200), 50_001).await.unwrap();
    assert_eq!(queued(&w), cap);

    // Finished ones beyond the log's size go, oldest first, however many are pending.
    for d in log.iter().take(KEEP_PER_ENDPOINT_PLUS) {
        hooks.record_attempt(d.seq, &d.id, answered(60_000, 204), 60_000).await.unwrap();
    }
    hooks.send_test(&admin(), &dead.id, 70_000).await.unwrap();
    let finished = w
        .store
        .read_blocking(move |txn| {
            let table = txn.open_table(tables::WEBHOOK_FINISHED_BY_ENDPOINT)?;
            Ok(table.iter()?.count())
        })
        .unwrap();
    assert_eq!(finished, outbox::KEEP_PER_ENDPOINT, "the newest finished ones are kept, however many are pending");
    assert_eq!(queued(&w), cap + 1 - KEEP_PER_ENDPOINT_PLUS);

    // Deleting the endpoint leaves no count behind.
    hooks.delete(&admin(), &dead.id).await.unwrap();
    let counts = w.store.read_blocking(|txn| Ok(txn.open_table(tables::WEBHOOK_COUNTS)?.iter()?.count())).unwrap();
    assert_eq!(counts, 0);
}

const KEEP_PER_ENDPOINT_PLUS: usize = outbox::KEEP_PER_ENDPOINT + 5;

#[tokio::test]
async fn counts_are_filled_once_for_a_store_queued_without_them() {
    let w = world().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    let hook = hooks.register(&admin(), "http://127.0.0.1:9/a", &events(&["credential.issued"])).await.unwrap().endpoint;
    for i in 0..outbox::KEEP_PER_ENDPOINT as i64 {
        let d = hooks.send_test(&admin(), &hook.id, i).await.unwrap();
        if i > 0 {
            hooks.record_attempt(d.seq, &d.id, answered(i, 200), i).await.unwrap();
        }
    }
    // As an older build left it: no counts, no finished index.
    w.store
        .write(|txn| {
            txn.delete_table(tables::WEBHOOK_COUNTS)?;
            txn.delete_table(tables::WEBHOOK_FINISHED_BY_ENDPOINT)?;
            Ok(())
        })
        .await
        .unwrap();
    drop(hooks);
    let w = w.reopen().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    hooks.send_test(&admin(), &hook.id, 1000).await.unwrap();
    let log = all_deliveries(&hooks, &hook.id).await;
    // 99 finished and 2 pending: one more finished is the 100th, the next drops the oldest.
    assert_eq!(log.len(), outbox::KEEP_PER_ENDPOINT + 1);
    assert_eq!(log.iter().filter(|d| d.state == DeliveryState::Pending).count(), 2);
    let newest = &log[0];
    hooks.record_attempt(newest.seq, &newest.id, answered(1001, 200), 1001).await.unwrap();
    hooks.send_test(&admin(), &hook.id, 1002).await.unwrap();
    let log = all_deliveries(&hooks, &hook.id).await;
    assert_eq!(log.len(), outbox::KEEP_PER_ENDPOINT + 2, "the counts were filled: nothing is dropped yet");
    let oldest_finished = log.iter().rev().find(|d| d.state == DeliveryState::Delivered).unwrap().seq;
    let d = &log[0];
    hooks.record_attempt(d.seq, &d.id, answered(1003, 200), 1003).await.unwrap();
    hooks.send_test(&admin(), &hook.id, 1004).await.unwrap();
    let log = all_deliveries(&hooks, &hook.id).await;
    assert_eq!(log.len(), outbox::KEEP_PER_ENDPOINT + 2);
    assert!(log.iter().all(|d| d.seq != oldest_finished), "the oldest finished one was dropped");
}

#[tokio::test]
async fn an_endpoint_record_that_does_not_decode_never_blocks_a_revocation() {
    let w = world().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    let hook = hooks.register(&admin(), "http://127.0.0.1:9/a", &events(&["credential.revoked"])).await.unwrap().endpoint;
    w.store
        .write(|txn| {
            txn.open_table(tables::WEBHOOK_ENDPOINTS)?.insert("whk_broken", &b"\x01{not json"[..])?;
            Ok(())
        })
        .await
        .unwrap();
    let keys = Keys::new(w.store.clone());
    let spec: KeySpec = serde_json::from_value(serde_json::json!({ "apis": [w.api] })).unwrap();
    let key = keys.create(spec, "admin-token").await.unwrap().record.id;
    keys.revoke(&key, "admin-token").await.unwrap();
    assert_eq!(code(keys.revoke(&key, "admin-token").await), "not_found", "the revocation committed");
    let log = all_deliveries(&hooks, &hook.id).await;
    assert_eq!(log.iter().map(|d| d.event.as_str()).collect::<Vec<_>>(), vec!["credential.revoked"], "the healthy endpoint still hears of it");
}

#[tokio::test]
async fn an_endpoint_registered_later_still_hears_of_certificates_already_expiring() {
    let w = world().await;
    let hooks = Webhooks::new(w.store.clone(), RetryPolicy::default());
    let pki = TestPki::new();
    let soon = pki.leaf(&LeafSpec::client("soon").expiring_in_days(20));
    let used = w.upload(&soon, Some(&w.acme)).await;
    let now = crate::clock::now();
    let notices = |w: &crate::test_world::World| w.store.read_blocking(|txn| Ok(txn.open_table(tables::WEBHOOK_EXPIRY_NOTICES)?.iter()?.count())).unwrap();
    assert_eq!(hooks.scan_expiring(now).await.unwrap(), 0, "nobody listens");
    assert_eq!(notices(&w), 0, "so nothing was noticed");
    let hook = hooks.register(&admin(), "http://127.0.0.1:9/a", &events(&["certificate.expiring"])).await.unwrap().endpoint;
    assert_eq!(hooks.scan_expiring(now + 60).await.unwrap(), 1);
    assert_eq!(all_deliveries(&hooks, &hook.id).await.len(), 1);
    assert_eq!(notices(&w), 1);
    // A deleted certificate's notices go with it.
    w.certificates.delete(&used, true, "admin").await.unwrap();
    assert_eq!(notices(&w), 0);
}
