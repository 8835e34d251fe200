//! The seed's Managed story through the real binary and the real gateway listener: the admin
//! publishes a product with binding, a consumer of the organisation requests access for an app,
//! the admin approves, the consumer makes the token once, and the organisation's certificate
//! with that token reaches the upstream; another allow-listed certificate is refused with the
//! token (binding), and revocation is enforced from the next request on an open connection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use certgate_testpki::{LeafSpec, TestPki};
use reqwest::Method;
use rustls::pki_types::pem::PemObject;
use serde_json::{json, Value};
use support::gateway::{connect, connect_with, echo_upstream, Admin};
use support::{client, sign_in, Server};

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn managed_access_from_request_to_revocation_through_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_in(&data, &["--demo"]);
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;

    // The admin: an Auth Token + mTLS API with no admin allow-list entry but a stranger's
    // certificate, a plan, and a Managed product with binding.
    let pki = TestPki::new();
    let stranger = pki.leaf(&LeafSpec::client("stranger"));
    let stranger_id = admin.upload(&stranger).await;
    let api = admin
        .create_api(json!({"name": "shop", "listen_path": "/shop", "upstream_url": format!("http://{upstream}/"), "auth": "auth_token",
            "mtls": {"required": true, "allowed_certificates": [stranger_id]}}))
        .await;
    let (status, plan) = admin.call(Method::POST, "/plans", Some(json!({"name": "Gold", "rate": {"requests": 100, "per_seconds": 60}}))).await;
    assert_eq!(status, 201, "{plan}");
    let (status, product) = admin
        .call(Method::POST, "/products", Some(json!({"name": "Shop", "apis": [api], "plans": [plan["id"]], "published": true,
            "certificate_mode": "managed", "certificate_binding": true})))
        .await;
    assert_eq!(status, 201, "{product}");

    // The demo consumer of Acme Corp (whose demo certificate is linked to it) asks for access.
    let consumer = client();
    let signed_in = sign_in(&consumer, &server, "dev@acme.example", "demo-consumer-password").await;
    assert!(support::set_cookie(&signed_in, "certgate_session").is_some(), "{}", signed_in.status());
    let portal = |path: &str| server.url(&format!("/api/v1/portal{path}"));
    let (status, app) = send(consumer.post(portal("/apps")).json(&json!({"name": "Checkout"}))).await;
    assert_eq!(status, 201, "{app}");
    let app = app["id"].as_str().unwrap().to_string();
    let ask = json!({"product": product["id"], "plan": plan["id"]});
    let (status, request) = send(consumer.post(portal(&format!("/apps/{app}/access-requests"))).json(&ask)).await;
    assert_eq!((status, request["state"].as_str()), (201, Some("pending")), "{request}");
    let (status, again) = send(consumer.post(portal(&format!("/apps/{app}/access-requests"))).json(&ask)).await;
    assert_eq!((status, again["code"].as_str()), (409, Some("already_subscribed")));
    // A bearer token never authenticates a consumer route.
    let (status, _) = send(client().get(portal("/apps")).bearer_auth(support::ADMIN_TOKEN)).await;
    assert_eq!(status, 401);

    // Before approval the organisation's certificate is not on the API's allow list.
    let cert_pem = std::fs::read(data.join("demo/client.crt")).unwrap();
    let key_pem = std::fs::read_to_string(data.join("demo/client.key")).unwrap();
    let der = rustls::pki_types::CertificateDer::from_pem_slice(&cert_pem).unwrap().to_vec();
    let mut acme = connect_with(&server, &[der], Some(&key_pem), "localhost").await;
    assert_eq!(acme.get("/shop/x", &[]).await.code(), "client_certificate_not_allowed");

    let (status, pending) = admin.call(Method::GET, "/access-requests?state=pending", None).await;
    assert_eq!((status, pending["items"].as_array().map(Vec::len)), (200, Some(1)));
    let request_id = request["id"].as_str().unwrap();
    let (status, approved) = admin.call(Method::POST, &format!("/access-requests/{request_id}/approve"), None).await;
    assert_eq!((status, approved["state"].as_str()), (200, Some("approved")), "{approved}");

    // From the acknowledgement on, on the open connection: the certificate passes, a token is needed.
    assert_eq!(acme.get("/shop/x", &[]).await.code(), "credential_missing");
    let (status, credentials) = send(consumer.get(portal(&format!("/apps/{app}/credentials")))).await;
    assert_eq!(status, 200, "{credentials}");
    let credential = credentials["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(credentials["items"][0]["has_token"], false);
    let (status, minted) = send(consumer.post(portal(&format!("/credentials/{credential}/token")))).await;
    assert_eq!(status, 201, "{minted}");
    let token = minted["token"].as_str().unwrap().to_string();
    let (status, twice) = send(consumer.post(portal(&format!("/credentials/{credential}/token")))).await;
    assert_eq!((status, twice["code"].as_str()), (409, Some("token_already_minted")));
    let (status, listed) = admin.call(Method::GET, "/access-requests", None).await;
    assert!(status == 200 && !listed.to_string().contains(&token), "the admin never sees the token");

    let bearer = format!("Bearer {token}");
    let answer = acme.get("/shop/x", &[("authorization", &bearer)]).await;
    assert_eq!((answer.status, answer.body["path"].as_str()), (200, Some("/x")), "{}", answer.body);
    assert!(answer.headers.get("x-ratelimit-limit").is_some(), "the plan's rate limit applies");

    // Binding: the stranger's certificate is on the allow list, but the token is not bound to it.
    let mut other = connect(&server, &[&stranger], "localhost").await;
    assert_eq!(other.get("/shop/x", &[("authorization", &bearer)]).await.code(), "certificate_binding_mismatch");

    // The admin revokes: refused from the next request on the same connection.
    let (status, _) = admin.call(Method::DELETE, &format!("/credentials/{credential}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(acme.get("/shop/x", &[("authorization", &bearer)]).await.code(), "client_certificate_not_allowed");
}
