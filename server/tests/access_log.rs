//! The gateway's access log end to end: the real binary's stdout, real mTLS requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use std::time::Duration;

use certgate_testpki::{LeafSpec, TestPki};
use serde_json::json;
use support::gateway::{connect, echo_upstream, Admin};
use support::Server;

/// The access-log lines on stdout once there are at least `n` (or fails after 10 s).
async fn access_lines(server: &Server, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let lines: Vec<String> = server.stdout().into_iter().filter(|l| l.contains("certgate::access")).collect();
        if lines.len() >= n {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} access-log lines: {:#?}", server.stdout());
}

async fn metrics(server: &Server) -> String {
    support::client().get(server.url("/metrics")).bearer_auth(support::ADMIN_TOKEN).send().await.unwrap().text().await.unwrap()
}

const QUERY_SECRET: &str = "q-secret-7f3a9c";
const COOKIE_SECRET: &str = "cookie-secret-51b2e8";

/// An API with mTLS and Auth Tokens, a bound key, and three requests: granted (with a token, a
/// secret in the query string and a cookie), denied without a token, denied with a forged one.
/// Returns (api id, certificate id, key id, token).
async fn three_requests(server: &Server) -> (String, String, String, String) {
    let admin = Admin::new(server);
    let upstream = echo_upstream().await;
    let pki = TestPki::new();
    let client = pki.leaf(&LeafSpec::client("logged client"));
    let cert = admin.upload(&client).await;
    let api = admin
        .create_api(json!({"name": "Orders API", "listen_path": "/orders", "upstream_url": format!("http://{upstream}/"),
            "auth": "auth_token", "mtls": {"required": true, "allowed_certificates": [cert]}}))
        .await;
    let (key, token) = admin.create_key(json!({"apis": [api], "bound_certificates": [cert]})).await;
    let mut conn = connect(server, &[&client], "localhost").await;
    let bearer = format!("Bearer {token}");
    let cookie = format!("session={COOKIE_SECRET}");
    let answer = conn.get(&format!("/orders/items/7?api_key={QUERY_SECRET}&x=1"), &[("authorization", &bearer), ("cookie", &cookie)]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = conn.get("/orders/items/8", &[("cookie", &cookie)]).await;
    assert_eq!(answer.code(), "credential_missing");
    let answer = conn.get(&format!("/orders/items/9?token={QUERY_SECRET}"), &[("authorization", "Bearer cgk_forged-secret-token")]).await;
    assert_eq!(answer.code(), "credential_invalid");
    (api, cert, key, token)
}

fn assert_no_secrets(text: &str, token: &str) {
    for secret in [token, QUERY_SECRET, COOKIE_SECRET, "cgk_forged-secret-token", "Bearer", "api_key", "session="] {
        assert!(!text.contains(secret), "the access log holds {secret:?}: {text}");
    }
    assert!(!text.contains('?'), "no query string: {text}");
    assert!(!text.contains('\u{1b}'), "no ANSI colour codes in a pipe: {text:?}");
}

#[tokio::test]
async fn access_log_lines_have_the_fields_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    // At `info` the other log (stderr, a file here) has lines to check for colour codes.
    let server = Server::start_in_with_log(&dir.path().join("data"), &[], "info");
    let (api, cert, key, token) = three_requests(&server).await;
    let lines = access_lines(&server, 3).await;
    assert_eq!(lines.len(), 3, "one line per request: {lines:#?}");
    let all = lines.join("\n");
    assert_no_secrets(&all, &token);

    let granted = &lines[0];
    for field in [
        format!("api={api} "),
        "api_name=\"Orders API\" ".to_string(),
        "method=GET ".to_string(),
        "path=/orders/items/7 ".to_string(),
        "status=200 ".to_string(),
        format!("certificate={} ", &cert[..16]),
        format!("credential={} ", &key[..12]),
        "upstream_ms=".to_string(),
        "duration_ms=".to_string(),
        "bytes=".to_string(),
    ] {
        assert!(granted.contains(&field), "{field:?} missing: {granted}");
    }
    assert!(!granted.contains("code="), "a granted request has no denial code: {granted}");
    assert!(!granted.contains("bytes=0"), "the echoed body was counted: {granted}");
    assert!(granted.contains("  INFO certgate::access: request "), "the text layout of the other logs: {granted}");

    assert!(lines[1].contains("path=/orders/items/8 status=401 code=credential_missing "), "{}", lines[1]);
    assert!(lines[2].contains("path=/orders/items/9 status=401 code=credential_invalid "), "{}", lines[2]);
    assert!(!lines[2].contains("credential="), "a refused token names no credential: {}", lines[2]);

    // A known token refused names its credential: which key knocks on the wrong API.
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let other = admin.create_api(json!({"name": "other", "listen_path": "/other", "upstream_url": format!("http://{upstream}/"), "auth": "auth_token"})).await;
    let mut conn = connect(&server, &[], "localhost").await;
    assert_eq!(conn.get("/other/x", &[("authorization", &format!("Bearer {token}"))]).await.code(), "api_not_granted");
    let lines = access_lines(&server, 4).await;
    assert!(lines[3].contains(&format!("status=403 code=api_not_granted credential={} ", &key[..12])), "{}", lines[3]);
    assert_no_secrets(&lines[3], &token);
    // And the key whose rate limit is exhausted.
    let (limited, limited_token) = admin.create_key(json!({"apis": [other], "rate": {"requests": 1, "per_seconds": 60}})).await;
    let limited_bearer = format!("Bearer {limited_token}");
    assert_eq!(conn.get("/other/x", &[("authorization", &limited_bearer)]).await.status, 200);
    assert_eq!(conn.get("/other/x", &[("authorization", &limited_bearer)]).await.code(), "rate_limited");
    let lines = access_lines(&server, 6).await;
    assert!(lines[5].contains(&format!("status=429 code=rate_limited credential={} ", &limited[..12])), "{}", lines[5]);
    assert_no_secrets(&lines[5], &limited_token);

    // The log on stderr is plain text too (a file here, not a terminal).
    let stderr = server.stderr();
    assert!(stderr.contains(" INFO ") && stderr.contains("ready"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(metrics(&server).await.contains("certgate_access_log_dropped_total 0"));
}

#[tokio::test]
async fn access_log_lines_follow_the_json_log_format() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(&dir.path().join("data"), &["--log-format", "json"]);
    let (api, _, key, token) = three_requests(&server).await;
    let lines = access_lines(&server, 3).await;
    assert_no_secrets(&lines.join("\n"), &token);
    let granted: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(granted["target"], "certgate::access");
    let fields = &granted["fields"];
    assert_eq!(fields["api"], api.as_str());
    assert_eq!(fields["api_name"], "Orders API");
    assert_eq!(fields["path"], "/orders/items/7");
    assert_eq!(fields["status"], 200);
    assert_eq!(fields["credential"], &key[..12]);
    assert!(fields["upstream_ms"].is_number() && fields["bytes"].as_u64().unwrap() > 0, "{fields}");
    let denied: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(denied["fields"]["code"], "credential_missing");
    assert_eq!(denied["fields"]["status"], 401);
}

#[tokio::test]
async fn access_log_off_writes_no_lines() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(&dir.path().join("data"), &["--access-log", "off"]);
    three_requests(&server).await;
    // Requests still count in the metrics; the log stays empty.
    let text = metrics(&server).await;
    assert!(text.contains("status=\"200\"} 1"), "{text}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stdout = server.stdout();
    assert!(!stdout.iter().any(|l| l.contains("certgate::access")), "{stdout:#?}");
}

#[tokio::test]
async fn portal_credentials_log_their_app_and_organisation_and_the_store_gauges_are_exported() {
    let demo = support::demo::demo().await;
    let mut conn = demo.connection("client").await;
    assert_eq!(demo.call_managed(&mut conn).await, (200, String::new()));
    let lines = access_lines(&demo.server, 1).await;
    let line = lines.iter().find(|l| l.contains("path=/demo-managed/hello")).unwrap();
    assert!(line.contains(&format!("organisation={} ", demo.acme_org)), "{line}");
    assert!(line.contains(" app=app_"), "{line}");
    assert!(line.contains(&format!("certificate={} ", &demo.acme_cert_id[..16])), "{line}");
    assert!(!line.contains(&demo.acme_token), "{line}");

    let text = metrics(&demo.server).await;
    // Acme's certificate is in the Managed product's allow list (the demo's certificates are
    // valid for a year or more).
    let expiry = format!("certgate_certificate_expiry_days{{certificate=\"{}\"}} ", demo.acme_cert_id);
    let days: i64 = text.lines().find_map(|l| l.strip_prefix(expiry.as_str())).unwrap_or_else(|| panic!("{text}")).parse().unwrap();
    assert!(days > 30, "{days}");
    assert!(text.lines().any(|l| l.starts_with("certgate_access_requests_pending ")), "{text}");
    assert!(text.contains("api_name=\""), "requests are labelled by API name: {text}");
}
