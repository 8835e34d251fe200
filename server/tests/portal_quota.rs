//! A portal credential's quota is counted by its subscription (not by an admin key), and that
//! count is kept like an admin key's: saved in batches, so a crash after the save interval
//! loses nothing of it, and kept in memory while the subscription is only dormant (its
//! organisation suspended), so resuming does not reset it. Through the real binary, the real
//! store and the real gateway listener.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use std::path::Path;
use std::time::Duration;

use certgate_testpki::{Issued, LeafSpec, TestPki};
use reqwest::Method;
use serde_json::{json, Value};
use support::gateway::{connect, echo_upstream, Admin};
use support::{client, sign_in, Server};

const PASSWORD: &str = "consumer-password-0123";
/// Longer than the binary's batch interval for saving counters (5 s), with room for a slow
/// machine: after it, what was counted is in the store, and ended keys have been looked for.
const AFTER_A_SAVE: Duration = Duration::from_secs(8);

/// Acme's subscription to a Self-Serve product whose plan allows 3 requests a day.
struct Subscribed {
    server: Server,
    admin: Admin,
    organisation: String,
    cert: Issued,
    bearer: String,
}

async fn subscribed(data_dir: &Path) -> Subscribed {
    let server = Server::start_in(data_dir, &[]);
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let (status, org) = admin.call(Method::POST, "/organisations", Some(json!({"name": "Acme"}))).await;
    assert_eq!(status, 201, "{org}");
    let organisation = org["id"].as_str().unwrap().to_string();
    let api = admin
        .create_api(json!({"name": "shop", "listen_path": "/shop", "upstream_url": format!("http://{upstream}/"), "auth": "auth_token",
            "mtls": {"required": true}}))
        .await;
    let (status, plan) = admin.call(Method::POST, "/plans", Some(json!({"name": "Small", "quota": {"max": 3, "period": "day"}, "auto_approve": true}))).await;
    assert_eq!(status, 201, "{plan}");
    let (status, product) = admin
        .call(Method::POST, "/products", Some(json!({"name": "Shop", "apis": [api], "plans": [plan["id"]], "published": true,
            "certificate_mode": "self_serve", "certificate_binding": true})))
        .await;
    assert_eq!(status, 201, "{product}");

    let (status, user) = admin
        .call(Method::POST, "/users", Some(json!({"email": "dev@acme.example", "password": PASSWORD, "organisation": organisation, "role": "org_admin"})))
        .await;
    assert_eq!(status, 201, "{user}");
    let consumer = client();
    let signed_in = sign_in(&consumer, &server, "dev@acme.example", PASSWORD).await;
    assert!(support::set_cookie(&signed_in, "certgate_session").is_some(), "{}", signed_in.status());
    let portal = |method: Method, path: &str, body: Option<Value>| {
        let mut request = consumer.request(method, server.url(&format!("/api/v1/portal{path}")));
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, app) = portal(Method::POST, "/apps", Some(json!({"name": "Checkout"}))).await;
    assert_eq!(status, 201, "{app}");
    let app = app["id"].as_str().unwrap().to_string();
    let cert = TestPki::new().leaf(&LeafSpec::client("acme"));
    let ask = json!({"product": product["id"], "plan": plan["id"], "certificate": cert.cert_pem});
    let (status, request) = portal(Method::POST, &format!("/apps/{app}/access-requests"), Some(ask)).await;
    assert_eq!((status, request["state"].as_str()), (201, Some("approved")), "{request}");
    let (status, subscriptions) = portal(Method::GET, &format!("/apps/{app}/subscriptions"), None).await;
    assert_eq!(status, 200, "{subscriptions}");
    let credential = subscriptions["items"][0]["credential"].as_str().unwrap().to_string();
    let (status, minted) = portal(Method::POST, &format!("/credentials/{credential}/token"), None).await;
    assert_eq!(status, 201, "{minted}");
    let bearer = format!("Bearer {}", minted["token"].as_str().unwrap());
    Subscribed { server, admin, organisation, cert, bearer }
}

/// Sends one request with the subscription's certificate and token; (status, code or the
/// quota remaining).
async fn call(server: &Server, cert: &Issued, bearer: &str) -> (u16, String) {
    let mut conn = connect(server, &[cert], "localhost").await;
    let answer = conn.get("/shop/x", &[("authorization", bearer)]).await;
    match answer.headers.get("x-quota-remaining") {
        Some(remaining) if answer.status == 200 => (200, remaining.to_str().unwrap().to_string()),
        _ => (answer.status, answer.code().to_string()),
    }
}

#[tokio::test]
async fn a_subscriptions_quota_used_survives_a_kill_after_the_save_interval() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut s = subscribed(&data_dir).await;
    assert_eq!(call(&s.server, &s.cert, &s.bearer).await, (200, "2".into()));
    assert_eq!(call(&s.server, &s.cert, &s.bearer).await, (200, "1".into()));
    // The batch saver has run; then a crash, with no shutdown save.
    tokio::time::sleep(AFTER_A_SAVE).await;
    s.server.child.kill().unwrap();
    s.server.child.wait().unwrap();

    let server = Server::start_in(&data_dir, &[]);
    assert_eq!(call(&server, &s.cert, &s.bearer).await, (200, "0".into()), "the count continues: 2 of 3 were used before the crash");
    assert_eq!(call(&server, &s.cert, &s.bearer).await, (429, "quota_exceeded".into()));
}

#[tokio::test]
async fn a_suspended_organisations_subscription_keeps_its_quota_used_until_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let s = subscribed(&dir.path().join("data")).await;
    assert_eq!(call(&s.server, &s.cert, &s.bearer).await, (200, "2".into()));
    assert_eq!(call(&s.server, &s.cert, &s.bearer).await, (200, "1".into()));
    let (status, suspended) = s.admin.call(Method::POST, &format!("/organisations/{}/suspend", s.organisation), None).await;
    assert_eq!(status, 200, "{suspended}");
    let (status, code) = call(&s.server, &s.cert, &s.bearer).await;
    assert_ne!(status, 200, "suspended: {code}");
    // Long enough for the binary to look for ended keys: a dormant subscription is not one.
    tokio::time::sleep(AFTER_A_SAVE).await;
    let (status, resumed) = s.admin.call(Method::POST, &format!("/organisations/{}/resume", s.organisation), None).await;
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(call(&s.server, &s.cert, &s.bearer).await, (200, "0".into()), "resuming does not reset the count");
    assert_eq!(call(&s.server, &s.cert, &s.bearer).await, (429, "quota_exceeded".into()));
}
