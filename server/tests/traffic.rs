//! Traffic series and last seen end to end: the real binary, real mTLS requests, the REST
//! endpoints, and restarts (SIGTERM, and SIGKILL after a save) on the same data directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use std::time::Duration;

use certgate_testpki::{Issued, LeafSpec, TestPki};
use reqwest::Method;
use serde_json::{json, Value};
use support::gateway::{connect, echo_upstream, Admin};
use support::Server;

struct World {
    api: String,
    cert: String,
    stranger: String,
    client: Issued,
    token: String,
}

/// An API with mTLS (one allowed certificate) and Auth Tokens; `ok` granted requests and the
/// denials: 2 without a token, 1 with a forged token (both after the certificate passed), 3
/// with a certificate that is not allowed.
async fn traffic(server: &Server, ok: usize) -> World {
    let admin = Admin::new(server);
    let upstream = echo_upstream().await;
    let pki = TestPki::new();
    let client = pki.leaf(&LeafSpec::client("counted client"));
    let other = pki.leaf(&LeafSpec::client("stranger"));
    let cert = admin.upload(&client).await;
    let stranger = admin.upload(&other).await;
    let api = admin
        .create_api(json!({"name": "Orders", "listen_path": "/orders", "upstream_url": format!("http://{upstream}/"),
            "auth": "auth_token", "mtls": {"required": true, "allowed_certificates": [cert]}}))
        .await;
    let (_, token) = admin.create_key(json!({"apis": [api], "bound_certificates": [cert]})).await;
    let bearer = format!("Bearer {token}");
    let mut conn = connect(server, &[&client], "localhost").await;
    for _ in 0..ok {
        let answer = conn.get("/orders/items", &[("authorization", &bearer)]).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    for _ in 0..2 {
        assert_eq!(conn.get("/orders/items", &[]).await.code(), "credential_missing");
    }
    assert_eq!(conn.get("/orders/items", &[("authorization", "Bearer cgk_forged")]).await.code(), "credential_invalid");
    let mut strange = connect(server, &[&other], "localhost").await;
    for _ in 0..3 {
        assert_eq!(strange.get("/orders/items", &[("authorization", &bearer)]).await.code(), "client_certificate_not_allowed");
    }
    World { api, cert, stranger, client, token }
}

async fn series(server: &Server, api: &str, window: &str) -> Value {
    let (status, body) = Admin::new(server).call(Method::GET, &format!("/apis/{api}/traffic?window={window}"), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn last_seen(server: &Server, cert: &str) -> Value {
    let (status, body) = Admin::new(server).call(Method::GET, &format!("/certificates/{cert}/last-seen"), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Checks a series' totals, and that its points add up to them.
fn assert_counts(body: &Value, ok: u64) {
    let total = &body["total"];
    assert_eq!(total["requests"], json!({"2xx": ok, "3xx": 0, "4xx": 6, "5xx": 0}), "{total}");
    assert_eq!(total["denials"], json!({"client_certificate_not_allowed": 3, "credential_missing": 2, "credential_invalid": 1}), "{total}");
    assert_eq!(total["latency"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum::<u64>(), ok + 6);
    let points = body["points"].as_array().unwrap();
    let summed: u64 = points.iter().map(|p| ["2xx", "3xx", "4xx", "5xx"].iter().map(|c| p["requests"][c].as_u64().unwrap()).sum::<u64>()).sum();
    assert_eq!(summed, ok + 6, "the points add up to the total");
    assert!(body["percentiles"]["p99"]["at_most_micros"].is_u64() || body["percentiles"]["p99"]["above_micros"].is_u64(), "{}", body["percentiles"]);
}

fn assert_seen(body: &Value, api: &str, requests: u64) {
    let apis = body["apis"].as_array().unwrap();
    assert_eq!(apis.len(), 1, "{body}");
    assert_eq!(apis[0]["api_id"], api);
    // Granted and refused after the certificate passed: 2 without a token, 1 forged.
    assert_eq!(apis[0]["requests_24h"], requests, "{body}");
    assert_eq!(body["last_seen_at"], apis[0]["at"]);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let at = apis[0]["at"].as_i64().unwrap();
    assert!(at <= now && at > now - 600, "{at} vs {now}");
}

#[tokio::test]
async fn traffic_counts_are_exact_and_survive_sigterm_and_sigkill_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut server = Server::start_in(&data_dir, &[]);
    let world = traffic(&server, 5).await;

    let day = series(&server, &world.api, "day").await;
    assert_eq!((day["window"].as_str(), day["step"].as_i64(), day["points"].as_array().unwrap().len()), (Some("day"), Some(60), 1440));
    assert_counts(&day, 5);
    let month = series(&server, &world.api, "month").await;
    assert_eq!((month["step"].as_i64(), month["points"].as_array().unwrap().len()), (Some(3600), 720));
    assert_counts(&month, 5);
    assert_seen(&last_seen(&server, &world.cert).await, &world.api, 5 + 3);
    let stranger = last_seen(&server, &world.stranger).await;
    assert_eq!((stranger["apis"].as_array().unwrap().len(), &stranger["last_seen_at"]), (0, &Value::Null), "a refused certificate is never seen");
    let text = serde_json::to_string(&(&day, &month)).unwrap();
    assert!(!text.contains(&world.token) && !text.contains("cgk_"), "no secrets in the series");

    // Refusals: unknown ids, a bad window, no admin.
    let admin = Admin::new(&server);
    let (status, body) = admin.call(Method::GET, "/apis/api_missing/traffic", None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, body) = admin.call(Method::GET, &format!("/certificates/{}/last-seen", "ab".repeat(32)), None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, body) = admin.call(Method::GET, &format!("/apis/{}/traffic?window=year", world.api), None).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_query")));
    let anonymous = support::client().get(server.url(&format!("/api/v1/apis/{}/traffic", world.api))).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let anonymous = support::client().get(server.url(&format!("/api/v1/certificates/{}/last-seen", world.cert))).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    // SIGTERM: the shutdown saves the last batch.
    assert!(server.terminate(Duration::from_secs(15)).success());
    let mut server = Server::start_in(&data_dir, &[]);
    assert_counts(&series(&server, &world.api, "day").await, 5);
    assert_counts(&series(&server, &world.api, "month").await, 5);
    assert_seen(&last_seen(&server, &world.cert).await, &world.api, 8);

    // SIGKILL after the save interval (5 s): what the batches saved survives.
    let bearer = format!("Bearer {}", world.token);
    let mut conn = connect(&server, &[&world.client], "localhost").await;
    for _ in 0..2 {
        assert_eq!(conn.get("/orders/items", &[("authorization", &bearer)]).await.status, 200);
    }
    drop(conn);
    tokio::time::sleep(Duration::from_millis(6_500)).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = Server::start_in(&data_dir, &[]);
    assert_counts(&series(&server, &world.api, "day").await, 7);
    assert_counts(&series(&server, &world.api, "month").await, 7);
    assert_seen(&last_seen(&server, &world.cert).await, &world.api, 10);
}

#[tokio::test]
async fn traffic_series_off_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(&dir.path().join("data"), &["--traffic-series", "off"]);
    let world = traffic(&server, 2).await;
    let day = series(&server, &world.api, "day").await;
    assert_eq!(day["points"].as_array().unwrap().len(), 1440, "a zero-filled series");
    assert_eq!(day["total"]["requests"], json!({"2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0}));
    assert_eq!(day["percentiles"]["p50"], Value::Null);
    assert_eq!(last_seen(&server, &world.cert).await["apis"], json!([]));
}

/// A leaf admitted through a CA entry is not recorded (it is usually not in the store, and
/// whoever holds the CA could fill the last-seen cap with fresh leaves); a pinned leaf on the
/// same API is.
#[tokio::test]
async fn only_pinned_leaves_are_recorded_as_seen() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let under_ca = TestPki::new();
    let pki = TestPki::new();
    let pinned = pki.leaf(&LeafSpec::client("pinned"));
    let chained = under_ca.leaf(&LeafSpec::client("chained"));
    let pinned_id = admin.upload(&pinned).await;
    let chained_id = admin.upload(&chained).await;
    let root_id = admin.upload(&under_ca.root).await;
    let api = admin
        .create_api(json!({"name": "orders", "listen_path": "/orders/", "upstream_url": format!("http://{upstream}/"),
            "auth": "none", "mtls": {"required": true, "allowed_certificates": [pinned_id, root_id]}}))
        .await;
    let mut through_ca = connect(&server, &[&chained, &under_ca.intermediate], "localhost").await;
    assert_eq!(through_ca.get("/orders/1", &[]).await.status, 200);
    let mut by_pin = connect(&server, &[&pinned], "localhost").await;
    assert_eq!(by_pin.get("/orders/1", &[]).await.status, 200);

    let seen = last_seen(&server, &pinned_id).await;
    assert_eq!(seen["apis"].as_array().unwrap().len(), 1, "{seen}");
    assert_eq!(seen["apis"][0]["api_id"], api.as_str());
    for id in [&chained_id, &root_id] {
        assert_eq!(last_seen(&server, id).await["apis"], json!([]), "{id}");
    }
}
