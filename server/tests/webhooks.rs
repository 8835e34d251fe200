//! Webhooks against the real binary and a real local receiver (a hyper server on port 0):
//! signed per Standard Webhooks, retried until the receiver comes back, never lost across a
//! crash, redirects not followed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{json, Value};
use support::*;
use support::{call_server_fn as call};
use tokio::sync::mpsc;

/// Retries after 50 ms, 300 ms, 1.2 s, 6 s: the tests wait seconds, not hours.
const FAST_RETRIES: &[&str] = &["--webhook-retry-base-ms", "50"];

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum Answer {
    Status(u16),
    /// Takes the request and never answers.
    Hang,
    /// 307 to another path of the receiver.
    Redirect,
}

struct Receiver {
    url: String,
    got: mpsc::UnboundedReceiver<Received>,
    answer: Arc<Mutex<Answer>>,
}

impl Receiver {
    /// Serves on `addr` (a port reserved earlier, or port 0).
    async fn start(addr: SocketAddr, answer: Answer) -> Receiver {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, got) = mpsc::unbounded_channel();
        let answer = Arc::new(Mutex::new(answer));
        let mode = Arc::clone(&answer);
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (tx, mode) = (tx.clone(), Arc::clone(&mode));
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                        let (tx, mode) = (tx.clone(), Arc::clone(&mode));
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body.collect().await.unwrap().to_bytes().to_vec();
                            let _ = tx.send(Received { path: parts.uri.path().to_string(), headers: parts.headers, body });
                            let answer = *mode.lock().unwrap();
                            let response = match answer {
                                Answer::Status(status) => http::Response::builder().status(status).body(Full::new(Bytes::new())),
                                Answer::Hang => {
                                    tokio::time::sleep(Duration::from_secs(300)).await;
                                    http::Response::builder().status(200).body(Full::new(Bytes::new()))
                                }
                                Answer::Redirect => {
                                    http::Response::builder().status(307).header("location", "/elsewhere").body(Full::new(Bytes::new()))
                                }
                            };
                            Ok::<_, std::convert::Infallible>(response.unwrap())
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
                });
            }
        });
        Receiver { url, got, answer }
    }

    async fn next(&mut self, within: Duration) -> Received {
        tokio::time::timeout(within, self.got.recv()).await.expect("no webhook arrived in time").unwrap()
    }

    fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }
}

/// A port nothing listens on (yet).
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// Verifies a delivery as a receiver would, from the secret alone.
fn verify(secret: &str, received: &Received) -> Value {
    let header = |name: &str| received.headers.get(name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap().to_string();
    let (id, timestamp, signature) = (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key);
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(&received.body);
    let tag = signature.strip_prefix("v1,").expect("a v1 signature");
    let tag = base64::engine::general_purpose::STANDARD.decode(tag).unwrap();
    aws_lc_rs::hmac::verify(&key, &signed, &tag).expect("the signature verifies with the endpoint's secret");
    let sent: i64 = timestamp.parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - sent).abs() <= 60, "a fresh timestamp: {sent} at {now}");
    assert_eq!(header("content-type"), "application/json");
    serde_json::from_slice(&received.body).unwrap()
}

async fn register(server: &Server, url: &str, events: &[&str]) -> (String, String) {
    let r = client().post(server.url("/api/v1/webhooks")).bearer_auth(ADMIN_TOKEN).json(&json!({"url": url, "events": events})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
    let body: Value = r.json().await.unwrap();
    (body["id"].as_str().unwrap().to_string(), body["secret"].as_str().unwrap().to_string())
}

/// An API and an admin key for it; returns the key's id (`credential.issued`).
async fn issue_key(server: &Server, path: &str) -> String {
    let c = client();
    let api = json!({"name": format!("api {path}"), "listen_path": path, "upstream_url": "http://127.0.0.1:9/", "auth": "auth_token", "mtls": {"required": true}});
    let r = c.post(server.url("/api/v1/apis")).bearer_auth(ADMIN_TOKEN).json(&api).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let api: Value = r.json().await.unwrap();
    let r = c.post(server.url("/api/v1/keys")).bearer_auth(ADMIN_TOKEN).json(&json!({"apis": [api["id"]]})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

async fn deliveries(server: &Server, webhook: &str) -> Vec<Value> {
    let r = client().get(server.url(&format!("/api/v1/webhooks/{webhook}/deliveries"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["items"].as_array().unwrap().clone()
}

/// Polls the delivery log until `done` holds for it (at most `within`).
async fn wait_for_log(server: &Server, webhook: &str, within: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let until = std::time::Instant::now() + within;
    loop {
        let log = deliveries(server, webhook).await;
        if done(&log) {
            return log;
        }
        assert!(std::time::Instant::now() < until, "the delivery log never got there: {log:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn start(data_dir: &std::path::Path) -> Server {
    Server::start_in(data_dir, FAST_RETRIES)
}

#[tokio::test]
async fn a_revocation_reaches_the_receiver_signed_and_the_secret_is_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("data"));
    let mut receiver = Receiver::start("127.0.0.1:0".parse().unwrap(), Answer::Status(204)).await;
    let c = client();

    // Refusals change nothing.
    let hooks = server.url("/api/v1/webhooks");
    let r = c.post(&hooks).json(&json!({"url": receiver.url, "events": ["credential.revoked"]})).send().await.unwrap();
    assert_eq!(r.status(), 401);
    for (body, code) in [
        (json!({"url": "ftp://example.com/", "events": ["credential.revoked"]}), "invalid_webhook_url"),
        (json!({"url": "http://user:pw@example.com/", "events": ["credential.revoked"]}), "invalid_webhook_url"),
        (json!({"url": receiver.url, "events": ["credential.stolen"]}), "unknown_webhook_event"),
        (json!({"url": receiver.url, "events": []}), "no_webhook_events"),
        (json!({"url": receiver.url}), "invalid_json"),
    ] {
        let r = c.post(&hooks).bearer_auth(ADMIN_TOKEN).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 400, "{body}");
        assert_eq!(r.headers().get("content-type").unwrap(), "application/problem+json");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], code, "{body}");
    }
    let r = c.post(&hooks).bearer_auth(ADMIN_TOKEN).header("content-type", "application/json").body(vec![b' '; 70 * 1024]).send().await.unwrap();
    assert_eq!(r.status(), 413);
    let listed: Value = c.get(&hooks).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["items"], json!([]));

    let (id, secret) = register(&server, &receiver.url, &["credential.issued", "credential.revoked"]).await;
    assert!(id.starts_with("whk_") && secret.starts_with("whsec_"), "{id} {secret}");
    // Never shown again.
    for url in [hooks.clone(), format!("{hooks}/{id}")] {
        let text = c.get(&url).bearer_auth(ADMIN_TOKEN).send().await.unwrap().text().await.unwrap();
        assert!(!text.contains(&secret[6..]) && !text.contains("secret"), "{text}");
    }

    let key = issue_key(&server, "/hooked").await;
    let issued = receiver.next(Duration::from_secs(10)).await;
    let body = verify(&secret, &issued);
    assert_eq!(issued.path, "/hook");
    assert_eq!((body["type"].as_str(), body["data"]["id"].as_str(), body["data"]["origin"].as_str()), (Some("credential.issued"), Some(key.as_str()), Some("admin")));

    let r = c.delete(server.url(&format!("/api/v1/keys/{key}"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let revoked = receiver.next(Duration::from_secs(10)).await;
    let body = verify(&secret, &revoked);
    assert_eq!((body["type"].as_str(), body["data"]["id"].as_str()), (Some("credential.revoked"), Some(key.as_str())));
    // A tampered body or another secret does not verify: the check above can fail.
    let mut tampered = revoked.clone();
    tampered.body.push(b' ');
    assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| verify(&secret, &tampered))).is_err());
    let (_, other_secret) = register(&server, "http://127.0.0.1:9/other", &["certificate.expiring"]).await;
    assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| verify(&other_secret, &revoked))).is_err());

    let log = wait_for_log(&server, &id, Duration::from_secs(10), |log| log.len() == 2 && log.iter().all(|d| d["state"] == "delivered")).await;
    assert_eq!(log[0]["event"], "credential.revoked", "newest first");
    assert_eq!(log[0]["id"].as_str(), revoked.headers.get("webhook-id").unwrap().to_str().ok());
    assert_eq!(log[0]["attempts"][0]["status"], 204);
    // Paged newest first, with a cursor; a bad limit or cursor is a 400.
    let page: Value = c.get(server.url(&format!("/api/v1/webhooks/{id}/deliveries?limit=1"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["items"][0]["event"], "credential.revoked");
    let cursor = page["next_cursor"].as_str().unwrap();
    let next: Value = c.get(server.url(&format!("/api/v1/webhooks/{id}/deliveries?limit=1&cursor={cursor}"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!((next["items"][0]["event"].as_str(), &next["next_cursor"]), (Some("credential.issued"), &Value::Null));
    for query in ["limit=0", "cursor=bogus"] {
        let r = c.get(server.url(&format!("/api/v1/webhooks/{id}/deliveries?{query}"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        assert_eq!(r.status(), 400, "{query}");
    }

    // "Send test event".
    let r = c.post(server.url(&format!("/api/v1/webhooks/{id}/test"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let test = receiver.next(Duration::from_secs(10)).await;
    assert_eq!(verify(&secret, &test)["type"], "webhook.test");

    // Deleted: no more events, and its log is gone.
    let r = c.delete(server.url(&format!("/api/v1/webhooks/{id}"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let r = c.get(server.url(&format!("/api/v1/webhooks/{id}/deliveries"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 404);
    issue_key(&server, "/after").await;
    assert!(tokio::time::timeout(Duration::from_millis(500), receiver.got.recv()).await.is_err(), "nothing for a deleted webhook");
}

#[tokio::test]
async fn a_delivery_is_retried_until_the_receiver_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("data"));
    let addr = free_port();
    let (id, secret) = register(&server, &format!("http://{addr}/hook"), &["credential.issued"]).await;
    let key = issue_key(&server, "/retried").await;
    // Nothing listens: attempts fail with the connection refused, and are retried.
    let log = wait_for_log(&server, &id, Duration::from_secs(10), |log| log.first().is_some_and(|d| d["attempt_count"].as_u64() >= Some(2))).await;
    assert_eq!(log[0]["state"], "pending");
    assert!(log[0]["attempts"][0]["status"].is_null() && log[0]["attempts"][0]["error"].is_string(), "{log:#?}");
    let webhook_id = log[0]["id"].as_str().unwrap().to_string();
    let flagged: Value = client().get(server.url(&format!("/api/v1/webhooks/{id}"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
    assert!(flagged["failing_since_ms"].is_i64() && flagged["disabled"] == false, "{flagged}");

    let mut receiver = Receiver::start(addr, Answer::Status(200)).await;
    let got = receiver.next(Duration::from_secs(15)).await;
    let body = verify(&secret, &got);
    assert_eq!(body["data"]["id"].as_str(), Some(key.as_str()));
    assert_eq!(got.headers.get("webhook-id").unwrap().to_str().unwrap(), webhook_id, "the same webhook-id on every attempt");
    let log = wait_for_log(&server, &id, Duration::from_secs(5), |log| log[0]["state"] == "delivered").await;
    let attempts = log[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.last().unwrap()["status"], 200);
    assert!(attempts.len() >= 3);
    let healthy: Value = client().get(server.url(&format!("/api/v1/webhooks/{id}"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
    assert!(healthy["failing_since_ms"].is_null(), "{healthy}");
}

#[tokio::test]
async fn a_delivery_in_flight_at_a_crash_is_sent_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = start(&data);
    let mut receiver = Receiver::start("127.0.0.1:0".parse().unwrap(), Answer::Hang).await;
    let (id, secret) = register(&server, &receiver.url, &["credential.issued"]).await;
    let key = issue_key(&server, "/crash").await;
    // The receiver has the request and has not answered: certgate dies (SIGKILL) meanwhile.
    let first = receiver.next(Duration::from_secs(10)).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);

    receiver.answer(Answer::Status(200));
    let server = start(&data);
    let again = receiver.next(Duration::from_secs(15)).await;
    assert_eq!(again.headers.get("webhook-id"), first.headers.get("webhook-id"), "at least once: the same delivery again");
    assert_eq!(verify(&secret, &again)["data"]["id"].as_str(), Some(key.as_str()));
    let log = wait_for_log(&server, &id, Duration::from_secs(5), |log| log.len() == 1 && log[0]["state"] == "delivered").await;
    assert_eq!(log[0]["attempts"].as_array().unwrap().last().unwrap()["status"], 200);
}

#[tokio::test]
async fn a_pending_delivery_survives_a_clean_restart_and_redirects_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = start(&data);
    let mut receiver = Receiver::start("127.0.0.1:0".parse().unwrap(), Answer::Redirect).await;
    let (id, _secret) = register(&server, &receiver.url, &["credential.issued"]).await;
    issue_key(&server, "/redirected").await;
    let first = receiver.next(Duration::from_secs(10)).await;
    assert_eq!(first.path, "/hook");
    let log = wait_for_log(&server, &id, Duration::from_secs(5), |log| log.first().is_some_and(|d| d["attempt_count"].as_u64() >= Some(1))).await;
    assert_eq!(log[0]["attempts"][0]["status"], 307);
    assert_eq!(log[0]["state"], "pending", "a redirect is a failed attempt, retried");
    // Stopped with SIGTERM while pending: delivered after the next start.
    assert!(server.terminate(Duration::from_secs(15)).success());
    drop(server);
    receiver.answer(Answer::Status(200));
    let server = start(&data);
    wait_for_log(&server, &id, Duration::from_secs(15), |log| log[0]["state"] == "delivered").await;
    let mut paths = Vec::new();
    while let Ok(got) = receiver.got.try_recv() {
        paths.push(got.path);
    }
    assert!(!paths.is_empty());
    assert!(paths.iter().all(|p| p == "/hook"), "the redirect's target is never called: {paths:?}");
}

#[tokio::test]
async fn the_admin_page_registers_shows_the_secret_once_sends_a_test_and_shows_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("data"));
    let mut receiver = Receiver::start("127.0.0.1:0".parse().unwrap(), Answer::Status(200)).await;
    let anonymous = client();
    for function in ["list_webhooks", "create_webhook", "delete_webhook", "enable_webhook", "send_test_webhook", "webhook_deliveries"] {
        let (status, _) = call(&anonymous, &server, function, &[("id", "whk_x")]).await;
        assert!(status == 401 || status == 403, "{function}: {status}");
    }
    let admin = client();
    let r = sign_in(&admin, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(set_cookie(&r, "certgate_session").is_some());

    let (status, body) = call(&admin, &server, "create_webhook", &[("form[url]", "ftp://example.com/"), ("form[credential_revoked]", "on")]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_webhook_url")), "{body}");
    let (status, body) = call(&admin, &server, "create_webhook", &[("form[url]", receiver.url.as_str())]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("no_webhook_events")), "{body}");
    let (status, body) =
        call(&admin, &server, "create_webhook", &[("form[url]", receiver.url.as_str()), ("form[credential_revoked]", "on"), ("form[certificate_expiring]", "on")]).await;
    assert_eq!(status, 200, "{body}");
    let (id, secret) = (body["webhook"]["id"].as_str().unwrap().to_string(), body["secret"].as_str().unwrap().to_string());
    assert_eq!(body["webhook"]["events"], json!(["credential.revoked", "certificate.expiring"]));

    let html = admin.get(server.url("/admin/webhooks")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&receiver.url) && html.contains("href=\"/admin/webhooks\""), "the page lists it and the navigation links it");
    assert!(html.contains(&format!("aria-label=\"Send a test event to {}\"", receiver.url)));
    assert!(html.contains(&format!("Delete webhook {}", receiver.url)));
    assert!(!html.contains(&secret[6..]), "the secret is never shown again");
    let (status, listed) = call(&admin, &server, "list_webhooks", &[]).await;
    assert_eq!(status, 200);
    assert!(!listed.to_string().contains(&secret[6..]));

    let (status, body) = call(&admin, &server, "send_test_webhook", &[("id", id.as_str())]).await;
    assert_eq!(status, 200, "{body}");
    let got = receiver.next(Duration::from_secs(10)).await;
    assert_eq!(verify(&secret, &got)["type"], "webhook.test");
    wait_for_log(&server, &id, Duration::from_secs(5), |log| log.first().is_some_and(|d| d["state"] == "delivered")).await;
    let html = admin.get(server.url(&format!("/admin/webhooks?log={id}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Delivery log of") && html.contains("webhook.test") && html.contains("HTTP 200"), "{html}");

    let (status, body) = call(&admin, &server, "delete_webhook", &[("id", id.as_str())]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("confirmation_required")), "{body}");
    let (status, _) = call(&admin, &server, "delete_webhook", &[("id", id.as_str()), ("confirm", "yes")]).await;
    assert_eq!(status, 200);
    let (_, listed) = call(&admin, &server, "list_webhooks", &[]).await;
    assert_eq!(listed, json!([]));
}

#[tokio::test]
async fn an_endpoint_gets_one_attempt_at_a_time_and_a_hanging_one_holds_up_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("data"));
    let mut hanging = Receiver::start("127.0.0.1:0".parse().unwrap(), Answer::Hang).await;
    let mut healthy = Receiver::start("127.0.0.1:0".parse().unwrap(), Answer::Status(204)).await;
    let (slow, _) = register(&server, &hanging.url, &["credential.issued"]).await;
    let (fine, _) = register(&server, &healthy.url, &["credential.issued"]).await;
    issue_key(&server, "/one-a").await;
    issue_key(&server, "/one-b").await;
    issue_key(&server, "/one-c").await;
    // The hanging receiver holds the first attempt: the next ones wait for it.
    let first = hanging.next(Duration::from_secs(10)).await;
    assert_eq!(verify_type(&first), "credential.issued");
    // The other endpoint gets all three meanwhile, in order.
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(healthy.next(Duration::from_secs(10)).await.headers.get("webhook-id").unwrap().to_str().unwrap().to_string());
    }
    let log = wait_for_log(&server, &fine, Duration::from_secs(5), |log| log.len() == 3 && log.iter().all(|d| d["state"] == "delivered")).await;
    let mut expected: Vec<String> = log.iter().map(|d| d["id"].as_str().unwrap().to_string()).collect();
    expected.reverse();
    assert_eq!(got, expected, "first attempts in the order of the events");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(hanging.got.try_recv().is_err(), "a second attempt reached an endpoint with one in flight");
    let waiting = deliveries(&server, &slow).await;
    assert_eq!(waiting.len(), 3);
    assert!(waiting.iter().all(|d| d["state"] == "pending" && d["attempt_count"] == 0), "{waiting:#?}");
}

fn verify_type(received: &Received) -> String {
    serde_json::from_slice::<Value>(&received.body).unwrap()["type"].as_str().unwrap().to_string()
}
