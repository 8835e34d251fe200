//! Hardening of the gateway, end to end on the real binary with real handshakes: strict request
//! paths, client-sent header families, X-Forwarded-For, upstream trust, and the one
//! client-certificate policy (the store's flag equals what a handshake does).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use certgate_testpki::{Issued, KeyKind, LeafSpec, TestPki, Usage};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use reqwest::Method;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{json, Value};
use support::gateway::{connect, connect_h2, echo_upstream, tls_echo_upstream, Admin};
use support::Server;

#[tokio::test]
async fn request_paths_are_strict_and_the_upstream_never_sees_another_apis_prefix() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let pki = TestPki::new();
    let insider = pki.leaf(&LeafSpec::client("insider"));
    let insider_id = admin.upload(&insider).await;
    let url = format!("http://{upstream}/");
    admin.create_api(json!({"name": "open", "listen_path": "/open", "upstream_url": url, "auth": "none"})).await;
    admin
        .create_api(json!({"name": "private", "listen_path": "/private", "upstream_url": url, "auth": "none",
            "mtls": {"required": true, "allowed_certificates": [insider_id]}}))
        .await;

    let mut conn = connect(&server, &[], "localhost").await;
    let attacks = [
        "/open/../private/x",
        "/open/%2e%2e/private/x",
        "/open/.%2E/private/x",
        "/open/%2E./private/x",
        "/open/..%2fprivate/x",
        "/open/..%2Fprivate/x",
        "/open/..;/private/x",
        "/open/./../private/x",
        "/open//../private/x",
        "/open/..%5cprivate/x",
        "/open/%5c..%5cprivate/x",
        "/open/%",
        "/open/%zz",
        "/open/%00",
        "/open/%0d%0aX-Injected:%201",
        "//private/x",
    ];
    for path in attacks {
        let answer = conn.get(path, &[]).await;
        assert_eq!((answer.status, answer.code()), (400, "invalid_path"), "{path}: {}", answer.body);
        assert_eq!(answer.headers["content-type"], "application/problem+json");
    }
    // Absolute-form (HTTP/1.1) is held to the same rules.
    let answer = conn.get("https://localhost/open/%2e%2e/private/x", &[]).await;
    assert_eq!((answer.status, answer.code()), (400, "invalid_path"), "{}", answer.body);
    // HTTP/2 `:path` too.
    let h2 = connect_h2(&server, &[], "localhost").await;
    let answer = h2.get("https://localhost/open/..%2Fprivate/x", &[]).await;
    assert_eq!((answer.status, answer.code()), (400, "invalid_path"), "{}", answer.body);
    let answer = h2.get("https://localhost/open/%7Euser", &[]).await;
    assert_eq!((answer.status, answer.body["path"].as_str()), (200, Some("/~user")), "{}", answer.body);

    // What is accepted is forwarded in its one canonical form, inside the routed prefix.
    for (sent, seen) in [
        ("/open/x", "/x"),
        ("/open/%7Euser/%41bc", "/~user/Abc"),
        ("/open/a%3fb", "/a%3Fb"),
        ("/open/..x/x..", "/..x/x.."),
        ("/open/a?q=../../private&x=%2e%2e", "/a?q=../../private&x=%2e%2e"),
        ("https://localhost/open/abs", "/abs"),
    ] {
        let answer = conn.get(sent, &[]).await;
        assert_eq!((answer.status, answer.body["path"].as_str()), (200, Some(seen)), "{sent}: {}", answer.body);
    }
    // The private API is still closed to this client, by its proper path.
    assert_eq!(conn.get("/private/x", &[]).await.code(), "client_certificate_required");
    let mut inside = connect(&server, &[&insider], "localhost").await;
    assert_eq!(inside.get("/private/x", &[]).await.status, 200);
}

#[tokio::test]
async fn client_sent_header_families_are_stripped_and_x_forwarded_for_is_replaced() {
    let upstream = echo_upstream().await;
    let spoofed: Vec<(&str, &str)> = vec![
        ("x-client-verify", "SUCCESS"),
        ("x-client-dn", "CN=admin"),
        ("x-client-cert-chain", "spoof"),
        ("x-forwarded-tls-client-cert", "spoof"),
        ("x-forwarded-tls-client-cert-info", "spoof"),
        ("x-ssl-client-verify", "SUCCESS"),
        ("ssl-client-verify", "SUCCESS"),
        ("client-cert-chain", ":c3Bvb2Y=:"),
        ("x-arr-clientcert", "spoof"),
        ("x-amzn-mtls-clientcert", "spoof"),
        ("X_Client_Verify", "SUCCESS"),
        ("x-original-url", "/private/admin"),
        ("x-rewrite-url", "/private/admin"),
        ("x-forwarded-prefix", "/private"),
        ("forwarded", "for=10.0.0.1;host=evil.example"),
        ("x-real-ip", "10.0.0.1"),
        ("x-internal-role", "admin"),
        ("x-forwarded-for", "10.9.9.9"),
        ("x-forwarded-port", "8080"),
        ("x-forwarded-user", "admin"),
        ("true-client-ip", "10.0.0.2"),
        ("x-envoy-original-path", "/private"),
        ("x-original-host", "evil.example"),
        ("x-request-id", "kept"),
    ];
    let stripped: Vec<&str> = spoofed.iter().map(|(name, _)| *name).filter(|n| *n != "x-request-id" && *n != "x-forwarded-for").collect();

    let server = Server::start();
    let admin = Admin::new(&server);
    admin
        .create_api(json!({"name": "h", "listen_path": "/h", "upstream_url": format!("http://{upstream}/"), "auth": "none",
            "strip_request_headers": ["X-Internal-*"]}))
        .await;
    let (status, body) = admin
        .call(Method::POST, "/apis", Some(json!({"name": "bad", "listen_path": "/bad", "upstream_url": format!("http://{upstream}/"),
            "auth": "none", "strip_request_headers": ["x bad"]})))
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_strip_header")), "{body}");
    let mut conn = connect(&server, &[], "localhost").await;
    let answer = conn.get("/h/x", &spoofed).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let seen = &answer.body["headers"];
    for name in &stripped {
        assert!(seen.get(name.to_ascii_lowercase()).is_none(), "{name} reached the upstream: {seen}");
    }
    assert_eq!(seen["x-request-id"], "kept");
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1", "an untrusted peer's X-Forwarded-For is replaced");

    // From a trusted proxy the list is extended.
    let dir = tempfile::tempdir().unwrap();
    let trusting = Server::start_in(&dir.path().join("data"), &["--trusted-proxies", "127.0.0.0/8"]);
    Admin::new(&trusting)
        .create_api(json!({"name": "h", "listen_path": "/h", "upstream_url": format!("http://{upstream}/"), "auth": "none"}))
        .await;
    let mut conn = connect(&trusting, &[], "localhost").await;
    let answer = conn.get("/h/x", &[("x-forwarded-for", "203.0.113.9"), ("x-forwarded-for", "198.51.100.1")]).await;
    assert_eq!(answer.body["headers"]["x-forwarded-for"], "203.0.113.9, 198.51.100.1, 127.0.0.1", "every line of a trusted list is kept");
}

#[tokio::test]
async fn upstream_trust_is_a_ca_or_an_exact_pin_and_never_a_client_leaf() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let pki = TestPki::new();
    let client_leaf = pki.leaf(&LeafSpec::client("a client"));
    let mut self_signed_spec = LeafSpec::client("localhost").usage(Usage::ServerAuthOnly);
    self_signed_spec.dns_names = vec!["localhost".into()];
    let upstream_cert = TestPki::self_signed(&self_signed_spec);
    let other_cert = TestPki::self_signed(&self_signed_spec);
    let upstream = tls_echo_upstream(&upstream_cert).await;
    let url = format!("https://localhost:{}/", upstream.port());
    let client_id = admin.upload(&client_leaf).await;
    let upstream_id = admin.upload(&upstream_cert).await;
    let other_id = admin.upload(&other_cert).await;
    let root_id = admin.upload(&pki.root).await;

    let create = |name: &str, trust: Value| {
        let mut body = json!({"name": name, "listen_path": format!("/{name}"), "upstream_url": url, "auth": "none"});
        body.as_object_mut().unwrap().extend(trust.as_object().unwrap().clone());
        body
    };
    for (name, trust, code) in [
        ("leafca", json!({"upstream_ca": client_id}), "upstream_ca_not_ca"),
        ("selfca", json!({"upstream_ca": upstream_id}), "upstream_ca_not_ca"),
        ("clientpin", json!({"upstream_pin": client_id}), "upstream_pin_not_server"),
        ("both", json!({"upstream_pin": upstream_id, "upstream_ca": root_id}), "upstream_trust_conflict"),
    ] {
        let (status, body) = admin.call(Method::POST, "/apis", Some(create(name, trust))).await;
        assert_eq!((status, body["code"].as_str()), (400, Some(code)), "{name}: {body}");
    }
    admin.create_api(create("pinned", json!({"upstream_pin": upstream_id}))).await;
    admin.create_api(create("wrongpin", json!({"upstream_pin": other_id}))).await;
    let mut conn = connect(&server, &[], "localhost").await;
    let answer = conn.get("/pinned/x", &[]).await;
    assert_eq!((answer.status, answer.body["path"].as_str()), (200, Some("/x")), "{}", answer.body);
    assert_eq!(conn.get("/wrongpin/x", &[]).await.code(), "upstream_unavailable");

    // One certificate as a CA for one API and as a pin for another: the pin is never
    // satisfied by a client built for the CA (same connection, same gateway thread).
    let mut signed_spec = LeafSpec::client("localhost").usage(Usage::ServerAuthOnly);
    signed_spec.dns_names = vec!["localhost".into()];
    let signed = tls_echo_upstream(&pki.leaf_signed_by(&signed_spec, &pki.root)).await;
    let signed_url = format!("https://localhost:{}/", signed.port());
    for (name, trust) in [("viaca", "upstream_ca"), ("viapin", "upstream_pin")] {
        admin.create_api(json!({"name": name, "listen_path": format!("/{name}"), "upstream_url": signed_url, "auth": "none", trust: root_id})).await;
    }
    assert_eq!(conn.get("/viaca/x", &[]).await.status, 200);
    assert_eq!(conn.get("/viapin/x", &[]).await.code(), "upstream_unavailable", "the root is not the upstream's own certificate");

    // Force-deleting the pinned certificate fails closed: no fall-back to the system's roots.
    let (status, _) = admin.call(Method::DELETE, &format!("/certificates/{upstream_id}?force=true"), None).await;
    assert_eq!(status, 204);
    assert_eq!(conn.get("/pinned/x", &[]).await.code(), "upstream_unavailable");
}

/// A client certificate with its key, presented as is.
struct Presented {
    name: &'static str,
    chain: Vec<Vec<u8>>,
    key_pem: String,
    cert_pem: String,
}

fn presented(name: &'static str, issued: &Issued) -> Presented {
    Presented { name, chain: vec![issued.der.clone()], key_pem: issued.key_pem.clone(), cert_pem: issued.cert_pem.clone() }
}

/// Connects presenting the certificate and sends one request; `Ok(status)` or the failure.
async fn try_request(server: &Server, presented: &Presented, path: &str) -> Result<u16, String> {
    support::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    let gateway_cert = std::fs::read(server.data_dir.join("gateway-tls/server.crt")).unwrap();
    for cert in CertificateDer::pem_slice_iter(&gateway_cert) {
        roots.add(cert.unwrap()).unwrap();
    }
    let key = PrivateKeyDer::from_pem_slice(presented.key_pem.as_bytes()).map_err(|e| format!("key: {e}"))?;
    let certs = presented.chain.iter().map(|c| CertificateDer::from(c.clone())).collect();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .map_err(|e| format!("client config: {e}"))?;
    let addr: std::net::SocketAddr = server.gateway.trim_start_matches("https://").parse().unwrap();
    let attempt = async {
        let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let request = http::Request::builder().uri(path).header("host", "localhost").body(Full::new(Bytes::new())).unwrap();
        let response = sender.send_request(request).await.map_err(|e| format!("request: {e}"))?;
        let status = response.status().as_u16();
        let _ = response.into_body().collect().await;
        Ok(status)
    };
    tokio::time::timeout(Duration::from_secs(10), attempt).await.map_err(|_| "timed out".to_string())?
}

#[tokio::test]
async fn the_stores_usability_flag_equals_what_a_real_handshake_does() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let pki = TestPki::new();
    let client = |cn: &str| LeafSpec::client(cn);
    let mut cases = vec![
        presented("EC P-256", &pki.leaf(&client("p256"))),
        presented("EC P-384", &pki.leaf(&client("p384").key(KeyKind::EcP384))),
        presented("EC P-521", &pki.leaf(&client("p521").key(KeyKind::EcP521))),
        presented("RSA 2048", &pki.leaf(&client("rsa").key(KeyKind::Rsa2048))),
        presented("Ed25519", &pki.leaf(&client("ed").key(KeyKind::Ed25519))),
        presented("no EKU", &pki.leaf(&client("any").usage(Usage::Unrestricted))),
        presented("serverAuth only", &pki.leaf(&client("srv").usage(Usage::ServerAuthOnly))),
        presented("expired", &pki.leaf(&client("old").expired())),
        presented("not yet valid", &pki.leaf(&client("new").not_yet_valid())),
        presented("CA as leaf", &pki.intermediate),
        presented("self-signed", &TestPki::self_signed(&client("self"))),
        presented("unknown critical extension", &pki.leaf(&client("crit").with_unknown_critical_extension())),
    ];
    // Made with openssl (rcgen signs with SHA-2 only): a P-256 leaf signed with ECDSA-SHA1.
    let sha1_pem = include_str!("../core/tests/fixtures/sha1-client.pem");
    cases.push(Presented {
        name: "SHA-1 signature",
        chain: vec![CertificateDer::from_pem_slice(sha1_pem.as_bytes()).unwrap().to_vec()],
        key_pem: include_str!("../core/tests/fixtures/sha1-client.key").to_string(),
        cert_pem: sha1_pem.to_string(),
    });

    let mut ids = Vec::new();
    let mut flags = Vec::new();
    for case in &cases {
        let (status, body) = admin.call(Method::POST, "/certificates", Some(json!({"pem": case.cert_pem}))).await;
        assert_eq!(status, 201, "{}: {body}", case.name);
        ids.push(body["id"].as_str().unwrap().to_string());
        flags.push(body["client_auth_usable"].as_bool().unwrap());
    }
    admin
        .create_api(json!({"name": "u", "listen_path": "/u", "upstream_url": format!("http://{upstream}/"), "auth": "none",
            "mtls": {"required": true, "allowed_certificates": ids}}))
        .await;
    let mut usable = 0;
    for (case, flag) in cases.iter().zip(&flags) {
        let outcome = try_request(&server, case, "/u/x").await;
        let admitted = outcome == Ok(200);
        assert_eq!(admitted, *flag, "{}: store flag {flag}, handshake and request gave {outcome:?}", case.name);
        usable += usize::from(admitted);
    }
    // The comparison means something only if both outcomes occur.
    assert_eq!(usable, 7, "P-256, P-384, P-521, RSA 2048, Ed25519, no EKU and self-signed are usable");
}
