//! The gateway end to end: the real binary, real TLS handshakes presenting rcgen certificates,
//! and a real upstream started by the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use bytes::Bytes;
use certgate_testpki::{LeafSpec, TestPki, Usage};
use reqwest::Method;
use serde_json::json;
use support::gateway::{connect, connect_h2, echo_upstream, tls_connect, Admin};
use support::Server;

#[tokio::test]
async fn allow_lists_are_enforced_on_real_handshakes() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let pki = TestPki::new();
    let pinned = pki.leaf(&LeafSpec::client("pinned"));
    let twin = TestPki::self_signed(&LeafSpec::client("pinned"));
    let under_ca = TestPki::new();
    let chained = under_ca.leaf(&LeafSpec::client("chained"));
    let server_only = under_ca.leaf(&LeafSpec::client("server only").usage(Usage::ServerAuthOnly));
    let expired = pki.leaf(&LeafSpec::client("expired").expired());
    let not_yet = pki.leaf(&LeafSpec::client("later").not_yet_valid());
    let stranger = pki.leaf(&LeafSpec::client("stranger"));
    let mut allowed = Vec::new();
    for cert in [&pinned, &under_ca.root, &expired, &not_yet] {
        allowed.push(admin.upload(cert).await);
    }
    admin
        .create_api(json!({"name": "orders", "listen_path": "/orders/", "upstream_url": format!("http://{upstream}/v1/"),
            "auth": "none", "mtls": {"required": true, "allowed_certificates": allowed}}))
        .await;

    let mut none = connect(&server, &[], "localhost").await;
    let answer = none.get("/orders/1", &[]).await;
    assert_eq!((answer.status, answer.code()), (401, "client_certificate_required"));
    assert!(answer.headers.get("www-authenticate").is_some());
    assert_eq!(answer.headers["content-type"], "application/problem+json");

    let mut ok = connect(&server, &[&pinned], "localhost").await;
    let answer = ok.get("/orders/1?x=y", &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["path"], "/v1/1?x=y", "listen path stripped, upstream base path kept");
    // Segment boundaries: /ordersecret is not /orders.
    assert_eq!(ok.get("/ordersecret", &[]).await.code(), "api_not_found");

    let cases: Vec<(&str, Vec<&certgate_testpki::Issued>, u16, &str)> = vec![
        ("not on the list", vec![&stranger], 403, "client_certificate_not_allowed"),
        ("self-signed twin of a pinned leaf", vec![&twin], 403, "client_certificate_not_allowed"),
        ("leaf under an allowed CA, with its intermediate", vec![&chained, &under_ca.intermediate], 200, ""),
        ("leaf under an allowed CA, without its intermediate", vec![&chained], 403, "client_certificate_not_allowed"),
        ("a CA certificate as the leaf", vec![&under_ca.intermediate], 403, "client_certificate_unusable"),
        ("serverAuth-only EKU", vec![&server_only, &under_ca.intermediate], 403, "client_certificate_unusable"),
        ("expired, although pinned", vec![&expired], 403, "client_certificate_expired"),
        ("not yet valid, although pinned", vec![&not_yet], 403, "client_certificate_not_yet_valid"),
    ];
    for (what, chain, status, code) in cases {
        let mut conn = connect(&server, &chain, "localhost").await;
        let answer = conn.get("/orders/1", &[]).await;
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        if !code.is_empty() {
            assert_eq!(answer.code(), code, "{what}");
            let text = answer.body.to_string();
            for id in &allowed {
                assert!(!text.contains(id.as_str()), "{what}: a denial must not reveal the allow list");
            }
        }
    }
}

#[tokio::test]
async fn tokens_binding_and_what_the_upstream_sees() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let pki = TestPki::new();
    let a = pki.leaf(&LeafSpec::client("client a"));
    let b = pki.leaf(&LeafSpec::client("client b"));
    let (id_a, id_b) = (admin.upload(&a).await, admin.upload(&b).await);
    let api = admin
        .create_api(json!({"name": "orders", "listen_path": "/orders", "upstream_url": format!("http://{upstream}/"),
            "auth": "auth_token", "identity_header": "X-Client-Identity",
            "mtls": {"required": true, "allowed_certificates": [id_a, id_b]}}))
        .await;
    let (_, bound_to_a) = admin.create_key(json!({"apis": [api], "bound_certificates": [id_a]})).await;
    let (_, unbound) = admin.create_key(json!({"apis": [api]})).await;
    assert!(bound_to_a.starts_with("cgk_") && bound_to_a.len() >= 4 + 43);

    let mut conn_a = connect(&server, &[&a], "localhost").await;
    let mut conn_b = connect(&server, &[&b], "localhost").await;
    let bearer = |t: &str| format!("Bearer {t}");

    let answer = conn_a.get("/orders/x", &[]).await;
    assert_eq!((answer.status, answer.code()), (401, "credential_missing"));
    let answer = conn_a.get("/orders/x", &[("authorization", "Bearer cgk_forged")]).await;
    assert_eq!((answer.status, answer.code()), (401, "credential_invalid"));
    assert!(!answer.body.to_string().contains("cgk_forged"), "never echo a token");

    let spoofed = [
        ("authorization", bearer(&bound_to_a)),
        ("x-forwarded-client-cert", "Hash=spoofed".to_string()),
        ("x-ssl-client-s-dn", "CN=admin".to_string()),
        ("client-cert", ":c3Bvb2Y=:".to_string()),
        ("x-client-identity", "Hash=spoofed".to_string()),
        ("x-forwarded-host", "evil.example".to_string()),
        ("connection", "x-keep-me-not".to_string()),
        ("x-keep-me-not", "hop-by-hop, listed in Connection".to_string()),
    ];
    let headers: Vec<(&str, &str)> = spoofed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = conn_a.get("/orders/x", &headers).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let seen = &answer.body["headers"];
    assert!(seen.get("x-forwarded-client-cert").is_none() && seen.get("x-ssl-client-s-dn").is_none() && seen.get("client-cert").is_none());
    assert!(seen.get("authorization").is_none(), "the Auth Token is the gateway's, not the upstream's");
    let identity = seen["x-client-identity"].as_str().unwrap();
    assert!(identity.starts_with(&format!("Hash={id_a};")), "{identity}");
    assert_eq!(seen["x-forwarded-proto"], "https");
    assert_eq!(seen["x-forwarded-host"], "localhost", "the client's own X-Forwarded-Host is replaced");
    assert!(seen.get("x-keep-me-not").is_none() && seen.get("connection").is_none(), "headers listed in Connection are hop-by-hop");
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1");

    // Bound to A, used with B (which is on the allow list): refused.
    let answer = conn_b.get("/orders/x", &[("authorization", &bearer(&bound_to_a))]).await;
    assert_eq!((answer.status, answer.code()), (401, "certificate_binding_mismatch"));
    assert!(answer.headers["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    // Not bound: works with any allowed certificate.
    assert_eq!(conn_b.get("/orders/x", &[("authorization", &bearer(&unbound))]).await.status, 200);

    // The explain endpoint says which check fails and why, without echoing the token.
    let (status, explained) = admin
        .call(Method::POST, &format!("/apis/{api}/explain"), Some(json!({"certificate_id": id_b, "token": bound_to_a})))
        .await;
    assert_eq!(status, 200, "{explained}");
    assert_eq!(explained["decision"], "denied");
    let outcomes: Vec<(&str, &str)> =
        explained["steps"].as_array().unwrap().iter().map(|s| (s["step"].as_str().unwrap(), s["outcome"].as_str().unwrap())).collect();
    assert_eq!(outcomes, vec![("client_certificate", "pass"), ("credential", "pass"), ("binding", "fail"), ("limits", "not_checked")]);
    assert!(!explained.to_string().contains(&bound_to_a));
    let (_, explained) = admin
        .call(Method::POST, &format!("/apis/{api}/explain"), Some(json!({"certificate_id": id_a, "token": bound_to_a})))
        .await;
    assert_eq!(explained["decision"], "granted");

    // Host must match SNI.
    let answer = conn_a.get("/orders/x", &[("authorization", &bearer(&unbound)), ("host", "other.example")]).await;
    assert_eq!((answer.status, answer.code()), (421, "misdirected_request"));
}

#[tokio::test]
async fn changes_apply_to_open_keep_alive_connections_and_in_use_certificates_are_protected() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let pki = TestPki::new();
    let a = pki.leaf(&LeafSpec::client("a"));
    let id_a = admin.upload(&a).await;
    let spec = |allowed: Vec<String>| {
        json!({"name": "orders", "listen_path": "/orders", "upstream_url": format!("http://{upstream}/"),
            "auth": "auth_token", "mtls": {"required": true, "allowed_certificates": allowed}})
    };
    let api = admin.create_api(spec(vec![id_a.clone()])).await;
    let (key, token) = admin.create_key(json!({"apis": [api], "rate": {"requests": 1000, "per_seconds": 1}})).await;
    let auth = format!("Bearer {token}");
    let mut conn = connect(&server, &[&a], "localhost").await;
    let answer = conn.get("/orders", &[("authorization", &auth)]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["x-ratelimit-limit"], "1000");

    // The certificate is in use: deleting it is refused, naming the API.
    let (status, body) = admin.call(Method::DELETE, &format!("/certificates/{id_a}"), None).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("certificate_in_use")));
    assert!(body["detail"].as_str().unwrap().contains(&api));
    let (_, listed) = admin.call(Method::GET, &format!("/certificates/{id_a}"), None).await;
    assert_eq!(listed["used_by"][0], "API orders");

    // Take it off the allow list: the same open connection is refused on its next request.
    let (status, _) = admin.call(Method::PUT, &format!("/apis/{api}"), Some(spec(vec![]))).await;
    assert_eq!(status, 200);
    let answer = conn.get("/orders", &[("authorization", &auth)]).await;
    assert_eq!((answer.status, answer.code()), (403, "client_certificate_not_allowed"));
    assert!(!conn.is_closed(), "the connection stays open");
    // Back on the list: allowed again, still the same connection.
    admin.call(Method::PUT, &format!("/apis/{api}"), Some(spec(vec![id_a.clone()]))).await;
    assert_eq!(conn.get("/orders", &[("authorization", &auth)]).await.status, 200);

    // A key bound to the certificate; forced deletion leaves the binding empty: it denies.
    let (bound_key, bound_token) = admin.create_key(json!({"apis": [api], "bound_certificates": [id_a]})).await;
    let bound_auth = format!("Bearer {bound_token}");
    assert_eq!(conn.get("/orders", &[("authorization", &bound_auth)]).await.status, 200);
    let (status, _) = admin.call(Method::DELETE, &format!("/certificates/{id_a}?force=true"), None).await;
    assert_eq!(status, 204);
    let (_, bound) = admin.call(Method::GET, &format!("/keys/{bound_key}"), None).await;
    assert_eq!(bound["bound_certificates"], json!([]));
    assert!(bound.get("token").is_none() && bound.get("token_sha256").is_none());
    let answer = conn.get("/orders", &[("authorization", &bound_auth)]).await;
    assert_eq!(answer.code(), "client_certificate_not_allowed");

    // Revoking a key applies at once.
    let (status, _) = admin.call(Method::DELETE, &format!("/keys/{key}"), None).await;
    assert_eq!(status, 204);
    let mut open = {
        let (status, _) = admin.call(Method::PUT, &format!("/apis/{api}"), Some(json!({"name": "orders", "listen_path": "/orders",
            "upstream_url": format!("http://{upstream}/"), "auth": "auth_token", "mtls": {"required": false}}))).await;
        assert_eq!(status, 200);
        connect(&server, &[], "localhost").await
    };
    assert_eq!(open.get("/orders", &[("authorization", &auth)]).await.code(), "credential_invalid");
}

#[tokio::test]
async fn upstream_failures_limits_and_oversized_requests() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let open = |path: &str, url: String| {
        json!({"name": path, "listen_path": path, "upstream_url": url, "auth": "none", "max_body_bytes": 1024,
            "timeouts": {"connect_ms": 1000, "response_ms": 500}})
    };
    admin.create_api(open("/up", format!("http://{upstream}/"))).await;
    admin.create_api(open("/down", format!("http://{closed}/"))).await;
    let mut conn = connect(&server, &[], "localhost").await;

    assert_eq!(conn.get("/up/fast", &[]).await.status, 200);
    let answer = conn.get("/down/x", &[]).await;
    assert_eq!((answer.status, answer.code()), (502, "upstream_unavailable"));
    let answer = conn.get("/up/slow", &[]).await;
    assert_eq!((answer.status, answer.code()), (504, "upstream_timeout"));

    let answer = conn.send("POST", "/up/x", &[], Bytes::from(vec![b'a'; 2048])).await;
    assert_eq!((answer.status, answer.code()), (413, "body_too_large"));
    let answer = conn.send("POST", "/up/x", &[], Bytes::from(vec![b'a'; 512])).await;
    assert_eq!((answer.status, answer.body["received"].as_u64()), (200, Some(512)));

    // WebSocket-style upgrades pass through: bytes flow both ways after the 101.
    let ws = connect(&server, &[], "localhost").await;
    let mut stream = ws.upgrade("/up/ws", &[]).await.expect("101 Switching Protocols");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(b"ping through the gateway").await.unwrap();
    let mut echoed = vec![0u8; 24];
    stream.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"ping through the gateway");

    let mut fresh = connect(&server, &[], "localhost").await;
    let huge = "h".repeat(40 * 1024);
    let answer = fresh.get("/up/x", &[("x-huge", &huge)]).await;
    assert_eq!(answer.status, 431);

    // Rate limit: 2 per minute, the third is refused with the standard headers.
    let api = admin
        .create_api(json!({"name": "limited", "listen_path": "/limited", "upstream_url": format!("http://{upstream}/"), "auth": "auth_token"}))
        .await;
    let (_, token) = admin.create_key(json!({"apis": [api], "rate": {"requests": 2, "per_seconds": 60}})).await;
    let auth = format!("Bearer {token}");
    let mut conn = connect(&server, &[], "localhost").await;
    assert_eq!(conn.get("/limited", &[("authorization", &auth)]).await.headers["x-ratelimit-remaining"], "1");
    assert_eq!(conn.get("/limited", &[("authorization", &auth)]).await.status, 200);
    let answer = conn.get("/limited", &[("authorization", &auth)]).await;
    assert_eq!((answer.status, answer.code()), (429, "rate_limited"));
    let retry: u64 = answer.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(answer.headers["x-ratelimit-remaining"], "0");
}

#[tokio::test]
async fn api_and_key_definitions_are_validated() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let minimal = json!({"name": "orders", "listen_path": "/orders/", "upstream_url": "http://127.0.0.1:9000/",
        "auth": "auth_token", "mtls": {"required": true, "allowed_certificates": []}});
    let (status, created) = admin.call(Method::POST, "/apis", Some(minimal.clone())).await;
    assert_eq!(status, 201, "{created}");
    assert!(created["id"].as_str().unwrap().starts_with("api_"));
    assert_eq!(created["listen_path"], "/orders");
    assert_eq!(created["strip_listen_path"], true);
    let (status, body) = admin.call(Method::POST, "/apis", Some(minimal.clone())).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("listen_path_taken")));
    let unknown = "ab".repeat(32);
    for (body, code) in [
        (json!({"name": "x", "listen_path": "/x", "upstream_url": "ftp://x/", "auth": "none"}), "invalid_upstream_url"),
        (json!({"name": "x", "listen_path": "x", "upstream_url": "http://x/", "auth": "none"}), "invalid_listen_path"),
        (json!({"name": "x", "listen_path": "/x", "upstream_url": "http://x/", "auth": "jwt"}), "jwt_settings_missing"),
        (json!({"name": "x", "listen_path": "/x", "upstream_url": "http://x/", "auth": "none", "mtls": {"required": true, "allowed_certificates": [unknown]}}), "unknown_certificate"),
        (json!({"name": "x", "listen_path": "/x", "upstream_url": "http://x/", "auth": "jwt",
            "jwt": {"algorithms": ["none"], "key": {"hmac_secret": "0123456789abcdef0123456789abcdef"}}}), "invalid_jwt_settings"),
    ] {
        let (status, answer) = admin.call(Method::POST, "/apis", Some(body)).await;
        assert_eq!((status, answer["code"].as_str()), (400, Some(code)), "{answer}");
    }
    let (status, answer) = admin.call(Method::POST, "/apis", Some(json!({"name": "x", "listen_path": "/x", "upstream_url": "http://x/", "auth": "none", "typo": 1}))).await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("invalid_json")));
    // An HMAC secret is written, never read back.
    let (status, jwt_api) = admin
        .call(Method::POST, "/apis", Some(json!({"name": "j", "listen_path": "/j", "upstream_url": "http://x/", "auth": "jwt",
            "jwt": {"algorithms": ["HS256"], "key": {"hmac_secret": "0123456789abcdef0123456789abcdef-secret"}}})))
        .await;
    assert_eq!(status, 201, "{jwt_api}");
    assert!(!jwt_api.to_string().contains("-secret"));
    assert_eq!(jwt_api["jwt"]["key"]["hmac_secret_configured"], true);
    let (status, body) = admin.call(Method::POST, "/keys", Some(json!({"apis": ["api_missing"]}))).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("unknown_api")));
    let (status, body) = admin.call(Method::POST, "/keys", Some(json!({"apis": []}))).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("apis_missing")));
    // The token is stored only as a hash: the raw token is nowhere in the store file.
    let (_, token) = admin.create_key(json!({"apis": [created["id"]]})).await;
    let store = std::fs::read(server.data_dir.join("certgate.redb")).unwrap();
    assert!(!store.windows(token.len()).any(|w| w == token.as_bytes()));
}

#[tokio::test]
async fn quotas_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let upstream = echo_upstream().await;
    let mut server = Server::start_in(&data_dir, &[]);
    let admin = Admin::new(&server);
    let api = admin
        .create_api(json!({"name": "q", "listen_path": "/q", "upstream_url": format!("http://{upstream}/"), "auth": "auth_token"}))
        .await;
    let (_, token) = admin.create_key(json!({"apis": [api], "quota": {"max": 2, "period": "day"}})).await;
    let auth = format!("Bearer {token}");
    let mut conn = connect(&server, &[], "localhost").await;
    let first = conn.get("/q", &[("authorization", &auth)]).await;
    assert_eq!((first.status, first.headers["x-quota-remaining"].to_str().unwrap()), (200, "1"));
    assert_eq!(conn.get("/q", &[("authorization", &auth)]).await.status, 200);
    let refused = conn.get("/q", &[("authorization", &auth)]).await;
    assert_eq!((refused.status, refused.code()), (429, "quota_exceeded"));
    assert!(refused.headers.get("retry-after").is_some());
    drop(conn);
    assert!(server.terminate(std::time::Duration::from_secs(15)).success());

    let server = Server::start_in(&data_dir, &[]);
    let mut conn = connect(&server, &[], "localhost").await;
    let answer = conn.get("/q", &[("authorization", &auth)]).await;
    assert_eq!((answer.status, answer.code()), (429, "quota_exceeded"), "a restart does not reset a quota");
}

#[tokio::test]
async fn prometheus_metrics_count_requests_denials_and_handshakes() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let api = admin
        .create_api(json!({"name": "m", "listen_path": "/m", "upstream_url": format!("http://{upstream}/"), "auth": "auth_token"}))
        .await;
    let mut conn = connect(&server, &[], "localhost").await;
    assert_eq!(conn.get("/m", &[]).await.code(), "credential_missing");
    assert_eq!(conn.get("/nowhere", &[]).await.code(), "api_not_found");

    let anonymous = support::client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401, "metrics on the portal need the admin token");
    let text = support::client().get(server.url("/metrics")).bearer_auth(support::ADMIN_TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(&format!("certgate_gateway_requests_total{{api=\"{api}\",api_name=\"m\",status=\"401\"}} 1")), "{text}");
    assert!(text.contains("certgate_gateway_requests_total{api=\"\",api_name=\"\",status=\"404\"} 1"), "{text}");
    assert!(text.contains("certgate_gateway_denials_total{code=\"credential_missing\"} 1"), "{text}");
    assert!(text.contains("certgate_gateway_handshakes_total 1"), "{text}");
    assert!(text.contains("certgate_gateway_open_connections 1"), "{text}");
    assert!(text.contains("certgate_gateway_request_duration_seconds_count 2"), "{text}");

    // With --metrics-addr they move to their own listener, and leave the portal.
    let dir = tempfile::tempdir().unwrap();
    let dedicated = Server::start_in(&dir.path().join("data"), &["--metrics-addr", "127.0.0.1:0"]);
    let url = dedicated.metrics.clone().expect("metrics address printed");
    let text = support::client().get(&url).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("certgate_gateway_handshakes_total 0"), "{text}");
    let portal = support::client().get(dedicated.url("/metrics")).bearer_auth(support::ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(portal.status(), 404);
}

#[tokio::test]
async fn https_upstreams_are_verified_against_the_configured_ca() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let pki = TestPki::new();
    let mut spec = LeafSpec::client("localhost").usage(Usage::ServerAuthOnly);
    spec.dns_names = vec!["localhost".into()];
    let upstream_cert = pki.leaf_signed_by(&spec, &pki.root);
    let upstream = support::gateway::tls_echo_upstream(&upstream_cert).await;
    let root = admin.upload(&pki.root).await;
    let url = format!("https://localhost:{}/", upstream.port());
    admin
        .create_api(json!({"name": "trusted", "listen_path": "/trusted", "upstream_url": url, "upstream_ca": root, "auth": "none"}))
        .await;
    admin.create_api(json!({"name": "system", "listen_path": "/system", "upstream_url": url, "auth": "none"})).await;
    let mut conn = connect(&server, &[], "localhost").await;
    let answer = conn.get("/trusted/x", &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["path"], "/x");
    // The system's roots do not know the test CA: the upstream is not trusted.
    assert_eq!(conn.get("/system/x", &[]).await.code(), "upstream_unavailable");
}

#[tokio::test]
async fn the_demo_api_works_with_the_demo_certificate_and_token() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let server = Server::start_in(&data_dir, &["--demo"]);
    let demo = data_dir.join("demo");
    let cert_pem = std::fs::read(demo.join("client.crt")).unwrap();
    let key_pem = std::fs::read_to_string(demo.join("client.key")).unwrap();
    let token = std::fs::read_to_string(demo.join("token")).unwrap().trim().to_string();
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_slice(&cert_pem).unwrap().to_vec();
    let mut conn = support::gateway::connect_with(&server, &[der], Some(&key_pem), "localhost").await;
    let answer = conn.get("/demo/healthz", &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!((answer.status, answer.body["status"].as_str()), (200, Some("alive")), "{}", answer.body);
    let mut anonymous = connect(&server, &[], "localhost").await;
    assert_eq!(anonymous.get("/demo/healthz", &[("authorization", &format!("Bearer {token}"))]).await.code(), "client_certificate_required");
}

#[tokio::test]
async fn http2_clients_get_the_same_decisions_and_multiplex() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let pki = TestPki::new();
    let a = pki.leaf(&LeafSpec::client("client a"));
    let b = pki.leaf(&LeafSpec::client("client b"));
    let (id_a, id_b) = (admin.upload(&a).await, admin.upload(&b).await);
    let api = admin
        .create_api(json!({"name": "orders", "listen_path": "/orders/", "upstream_url": format!("http://{upstream}/"),
            "auth": "auth_token", "mtls": {"required": true, "allowed_certificates": [id_a, id_b]}}))
        .await;
    let (_, token) = admin.create_key(json!({"apis": [api], "bound_certificates": [id_a]})).await;
    let bearer = format!("Bearer {token}");

    let conn = connect_h2(&server, &[&a], "localhost").await;
    // Several requests at once on one connection, each decided and proxied on its own.
    let with_token = [("authorization", bearer.as_str())];
    let spoofing = [("authorization", bearer.as_str()), ("x-forwarded-client-cert", "Hash=spoofed")];
    let (one, two, three) = tokio::join!(
        conn.get("https://localhost/orders/1", &with_token),
        conn.get("https://localhost/orders/2", &spoofing),
        conn.get("https://localhost/orders/3", &[]),
    );
    assert_eq!((one.status, one.body["path"].as_str()), (200, Some("/1")), "{}", one.body);
    assert_eq!((two.status, two.body["path"].as_str()), (200, Some("/2")), "{}", two.body);
    assert!(two.body["headers"].get("x-forwarded-client-cert").is_none() && two.body["headers"].get("authorization").is_none());
    assert_eq!(two.body["headers"]["x-forwarded-host"], "localhost", "the :authority becomes X-Forwarded-Host");
    assert_eq!((three.status, three.code()), (401, "credential_missing"));
    assert_eq!(three.headers["content-type"], "application/problem+json");

    // :authority must match SNI, as Host does on HTTP/1.1.
    let answer = conn.get("https://other.example/orders/1", &[("authorization", &bearer)]).await;
    assert_eq!((answer.status, answer.code()), (421, "misdirected_request"));

    // Binding holds on HTTP/2 too: A's token on B's connection is refused.
    let conn_b = connect_h2(&server, &[&b], "localhost").await;
    let answer = conn_b.get("https://localhost/orders/1", &[("authorization", &bearer)]).await;
    assert_eq!((answer.status, answer.code()), (401, "certificate_binding_mismatch"));
}

#[tokio::test]
async fn jwt_apis_check_signature_claims_and_the_certificate_binding_on_real_handshakes() {
    use base64::Engine;
    use certgate_testpki::KeyKind;
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};

    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let pki = TestPki::new();
    let a = pki.leaf(&LeafSpec::client("client a"));
    let b = pki.leaf(&LeafSpec::client("client b"));
    let (id_a, id_b) = (admin.upload(&a).await, admin.upload(&b).await);
    let rsa = KeyKind::Rsa2048.generate();
    let public_pem = rsa.public_key_pem();
    admin
        .create_api(json!({"name": "jwt orders", "listen_path": "/jwt/", "upstream_url": format!("http://{upstream}/"),
            "auth": "jwt", "jwt": {"algorithms": ["RS256"], "key": {"public_key_pem": public_pem},
                "issuer": "https://idp.example", "audience": "orders", "leeway_seconds": 30},
            "mtls": {"required": true, "allowed_certificates": [id_a, id_b]}}))
        .await;

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let signing = EncodingKey::from_rsa_pem(rsa.serialize_pem().as_bytes()).unwrap();
    let sign = |claims: &serde_json::Value| encode(&Header::new(Algorithm::RS256), claims, &signing).unwrap();
    let base = json!({"sub": "alice", "iss": "https://idp.example", "aud": "orders", "exp": now + 300});
    let with = |k: &str, v: serde_json::Value| {
        let mut claims = base.clone();
        claims[k] = v;
        claims
    };
    let b64 = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let x5t = |der: &[u8]| certgate_core::pki::parse_der(der).unwrap().x5t_s256;
    let without = |claim: &str| {
        let mut claims = base.clone();
        claims.as_object_mut().unwrap().remove(claim);
        claims
    };
    let without_exp = without("exp");

    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("valid", sign(&base), 200, ""),
        ("alg none", format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&base)), 401, "credential_invalid"),
        (
            "HS256 signed with the RSA public key",
            encode(&Header::new(Algorithm::HS256), &base, &EncodingKey::from_secret(public_pem.as_bytes())).unwrap(),
            401,
            "credential_invalid",
        ),
        ("expired past the leeway", sign(&with("exp", json!(now - 120))), 401, "credential_invalid"),
        ("expired inside the leeway", sign(&with("exp", json!(now - 5))), 200, ""),
        ("no exp", sign(&without_exp), 401, "credential_invalid"),
        ("nbf in the future", sign(&with("nbf", json!(now + 600))), 401, "credential_invalid"),
        ("wrong aud", sign(&with("aud", json!("billing"))), 401, "credential_invalid"),
        ("wrong iss", sign(&with("iss", json!("https://evil.example"))), 401, "credential_invalid"),
        ("no aud although configured", sign(&without("aud")), 401, "credential_invalid"),
        ("no iss although configured", sign(&without("iss")), 401, "credential_invalid"),
        ("no sub", sign(&without("sub")), 401, "credential_invalid"),
        ("empty sub", sign(&with("sub", json!(""))), 401, "credential_invalid"),
        ("cnf names this certificate", sign(&with("cnf", json!({"x5t#S256": x5t(&a.der)}))), 200, ""),
        ("cnf names another certificate", sign(&with("cnf", json!({"x5t#S256": x5t(&b.der)}))), 401, "certificate_binding_mismatch"),
    ];
    let mut conn = connect(&server, &[&a], "localhost").await;
    for (what, token, status, code) in cases {
        let answer = conn.get("/jwt/x", &[("authorization", &format!("Bearer {token}"))]).await;
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        if status == 200 {
            assert_eq!(answer.body["path"], "/x", "{what}");
        } else {
            assert_eq!(answer.code(), code, "{what}");
            assert!(answer.headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"), "{what}");
            assert!(!answer.body.to_string().contains(&token), "{what}: never echo the token");
        }
    }
    // A valid JWT does not stand in for the client certificate.
    let mut no_certificate = connect(&server, &[], "localhost").await;
    let answer = no_certificate.get("/jwt/x", &[("authorization", &format!("Bearer {}", sign(&base)))]).await;
    assert_eq!((answer.status, answer.code()), (401, "client_certificate_required"));
}

#[tokio::test]
async fn slow_clients_are_disconnected_after_the_handshake_and_header_timeouts() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(&dir.path().join("data"), &["--handshake-timeout", "1", "--header-timeout", "1"]);
    let addr: std::net::SocketAddr = server.gateway.trim_start_matches("https://").parse().unwrap();

    // A TCP connection that never starts its TLS handshake.
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(8), silent.read(&mut buf)).await.expect("disconnected in time");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(started.elapsed() >= Duration::from_millis(900), "not before the timeout: {:?}", started.elapsed());

    // A TLS connection that sends half a request head and stalls (slowloris).
    let mut stalled = tls_connect(&server, &[], None, "localhost", b"http/1.1").await;
    stalled.write_all(b"GET /orders/1 HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").await.unwrap();
    stalled.flush().await.unwrap();
    let started = Instant::now();
    let mut seen = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            match stalled.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "a stalled request head must not hold the connection open");
    assert!(started.elapsed() >= Duration::from_millis(900), "not before the timeout: {:?}", started.elapsed());
    let text = String::from_utf8_lossy(&seen);
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 408"), "nothing but a 408 may be answered: {text}");
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_on_a_gateway_worker_finish() {
    let mut server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    admin
        .create_api(json!({"name": "slow", "listen_path": "/s/", "upstream_url": format!("http://{upstream}/"),
            "auth": "none", "mtls": {"required": false}}))
        .await;
    let mut conn = connect(&server, &[], "localhost").await;
    assert_eq!(conn.get("/s/fast", &[]).await.status, 200);
    // The echo upstream answers /slow after 3 s: SIGTERM arrives while it is in flight.
    let in_flight = tokio::spawn(async move { conn.get("/s/slow", &[]).await.status });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let stopped = tokio::task::spawn_blocking(move || server.terminate(std::time::Duration::from_secs(15))).await.unwrap();
    assert!(stopped.success(), "{stopped:?}");
    assert_eq!(in_flight.await.unwrap(), 200, "the request in flight when SIGTERM came is answered");
}
