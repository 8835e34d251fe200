//! The seed's Self-Serve story through the real binary and the real gateway listener: the admin
//! publishes a Self-Serve product with binding, a consumer requests access with their own
//! certificate (a pasted private key is refused, stores nothing and is not echoed), the admin
//! approves, the consumer makes the token, and that certificate with that token reaches the
//! upstream while another organisation's allow-listed certificate is a binding mismatch.
//! Then the subscription's life: a rejected renewal keeps the old certificate, an approved one
//! makes both work until the old one is retired (refused from the next request on the same
//! connection), and a plan change keeps the quota already used.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use certgate_testpki::{Issued, LeafSpec, TestPki, Usage};
use reqwest::Method;
use serde_json::{json, Value};
use support::gateway::{connect, echo_upstream, Admin};
use support::{client, sign_in, Server};

const PASSWORD: &str = "consumer-password-0123";

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// A signed-in consumer of one organisation, calling `/api/v1/portal`.
struct Consumer {
    client: reqwest::Client,
    base: String,
}

impl Consumer {
    async fn new(server: &Server, admin: &Admin, organisation: &str, email: &str) -> Consumer {
        let (status, user) = admin
            .call(Method::POST, "/users", Some(json!({"email": email, "password": PASSWORD, "organisation": organisation, "role": "org_admin"})))
            .await;
        assert_eq!(status, 201, "{user}");
        let client = client();
        let signed_in = sign_in(&client, server, email, PASSWORD).await;
        assert!(support::set_cookie(&signed_in, "certgate_session").is_some(), "{}", signed_in.status());
        Consumer { client, base: server.url("/api/v1/portal") }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }
}

/// The admin's side: an Auth Token + mTLS API whose admin allow list holds Globex's certificate,
/// and a Self-Serve product with binding offering `plans` (REST bodies).
struct World {
    server: Server,
    admin: Admin,
    acme: Consumer,
    globex: Consumer,
    globex_cert: Issued,
    product: String,
    plans: Vec<String>,
    pki: TestPki,
}

async fn world(plans: &[Value]) -> World {
    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let organisation = |name: &'static str| {
        let admin = &admin;
        async move {
            let (status, org) = admin.call(Method::POST, "/organisations", Some(json!({"name": name}))).await;
            assert_eq!(status, 201, "{org}");
            org["id"].as_str().unwrap().to_string()
        }
    };
    let (acme_org, globex_org) = (organisation("Acme").await, organisation("Globex").await);
    let pki = TestPki::new();
    let globex_cert = pki.leaf(&LeafSpec::client("globex"));
    let globex_id = admin.upload(&globex_cert).await;
    let (status, linked) = admin.call(Method::PATCH, &format!("/certificates/{globex_id}"), Some(json!({"organisations": [globex_org]}))).await;
    assert_eq!(status, 200, "{linked}");
    let api = admin
        .create_api(json!({"name": "shop", "listen_path": "/shop", "upstream_url": format!("http://{upstream}/"), "auth": "auth_token",
            "mtls": {"required": true, "allowed_certificates": [globex_id]}}))
        .await;
    let mut plan_ids = Vec::new();
    for plan in plans {
        let (status, created) = admin.call(Method::POST, "/plans", Some(plan.clone())).await;
        assert_eq!(status, 201, "{created}");
        plan_ids.push(created["id"].as_str().unwrap().to_string());
    }
    let (status, product) = admin
        .call(Method::POST, "/products", Some(json!({"name": "Shop", "apis": [api], "plans": plan_ids, "published": true,
            "certificate_mode": "self_serve", "certificate_binding": true})))
        .await;
    assert_eq!(status, 201, "{product}");
    let acme = Consumer::new(&server, &admin, &acme_org, "dev@acme.example").await;
    let globex = Consumer::new(&server, &admin, &globex_org, "dev@globex.example").await;
    World { product: product["id"].as_str().unwrap().to_string(), plans: plan_ids, server, admin, acme, globex, globex_cert, pki }
}

impl World {
    /// Acme's app subscribed with `certificate` (approved by the admin); returns (app,
    /// subscription, token).
    async fn subscribe(&self, certificate: &Issued) -> (String, String, String) {
        let (status, app) = self.acme.post("/apps", json!({"name": "Checkout"})).await;
        assert_eq!(status, 201, "{app}");
        let app = app["id"].as_str().unwrap().to_string();
        let ask = json!({"product": self.product, "plan": self.plans[0], "certificate": certificate.cert_pem});
        let (status, request) = self.acme.post(&format!("/apps/{app}/access-requests"), ask).await;
        assert_eq!(status, 201, "{request}");
        if request["state"] == "pending" {
            self.approve(&request).await;
        }
        let (status, subscriptions) = self.acme.call(Method::GET, &format!("/apps/{app}/subscriptions"), None).await;
        assert_eq!(status, 200, "{subscriptions}");
        let subscription = subscriptions["items"][0]["id"].as_str().unwrap().to_string();
        let credential = subscriptions["items"][0]["credential"].as_str().unwrap().to_string();
        let (status, minted) = self.acme.call(Method::POST, &format!("/credentials/{credential}/token"), None).await;
        assert_eq!(status, 201, "{minted}");
        (app, subscription, minted["token"].as_str().unwrap().to_string())
    }

    async fn approve(&self, request: &Value) {
        let id = request["id"].as_str().unwrap();
        let (status, approved) = self.admin.call(Method::POST, &format!("/access-requests/{id}/approve"), None).await;
        assert_eq!((status, approved["state"].as_str()), (200, Some("approved")), "{approved}");
    }

    async fn pending_requests(&self) -> Vec<Value> {
        let (status, pending) = self.admin.call(Method::GET, "/access-requests?state=pending", None).await;
        assert_eq!(status, 200, "{pending}");
        pending["items"].as_array().unwrap().clone()
    }
}

fn id_of(cert: &Issued) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(&cert.der))
}

#[tokio::test]
async fn self_serve_request_binding_renewal_and_retirement_through_the_gateway() {
    let w = world(&[json!({"name": "Gold", "rate": {"requests": 1000, "per_seconds": 60}})]).await;
    let old = w.pki.leaf(&LeafSpec::client("acme-2026"));
    let (status, app) = w.acme.post("/apps", json!({"name": "Checkout"})).await;
    assert_eq!(status, 201, "{app}");
    let app = app["id"].as_str().unwrap().to_string();
    let ask = |certificate: &str| json!({"product": w.product, "plan": w.plans[0], "certificate": certificate});

    // A pasted private key: refused, nothing stored, its content never echoed.
    let (status, refused) = w.acme.post(&format!("/apps/{app}/access-requests"), ask(&old.key_pem)).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("private_key_not_certificate")), "{refused}");
    let key_line = old.key_pem.lines().nth(1).unwrap();
    assert!(!refused.to_string().contains(key_line), "the key is echoed: {refused}");
    assert!(w.pending_requests().await.is_empty(), "a refused request stores nothing");
    let (status, _) = w.acme.post(&format!("/apps/{app}/access-requests"), json!({"product": w.product, "plan": w.plans[0]})).await;
    assert_eq!(status, 400, "Self-Serve needs a certificate");

    // The request with the certificate; before approval the gateway does not know it.
    let (status, request) = w.acme.post(&format!("/apps/{app}/access-requests"), ask(&old.cert_pem)).await;
    assert_eq!((status, request["state"].as_str()), (201, Some("pending")), "{request}");
    let mut old_conn = connect(&w.server, &[&old], "localhost").await;
    assert_eq!(old_conn.get("/shop/x", &[]).await.code(), "client_certificate_not_allowed");
    w.approve(&request).await;
    assert_eq!(old_conn.get("/shop/x", &[]).await.code(), "credential_missing", "allow-listed from the approval, same connection");

    // The consumer finds the subscription and its credential, and makes the token once.
    let (status, subscriptions) = w.acme.call(Method::GET, &format!("/apps/{app}/subscriptions"), None).await;
    assert_eq!(status, 200, "{subscriptions}");
    let subscription = &subscriptions["items"][0];
    assert_eq!(subscription["certificates"], json!([{"id": id_of(&old), "retire_by": null}]));
    let (sub, credential) = (subscription["id"].as_str().unwrap().to_string(), subscription["credential"].as_str().unwrap().to_string());
    let (status, minted) = w.acme.call(Method::POST, &format!("/credentials/{credential}/token"), None).await;
    assert_eq!(status, 201, "{minted}");
    let bearer = format!("Bearer {}", minted["token"].as_str().unwrap());
    let auth = [("authorization", bearer.as_str())];
    let answer = old_conn.get("/shop/x", &auth).await;
    assert_eq!((answer.status, answer.body["path"].as_str()), (200, Some("/x")), "{}", answer.body);

    // Binding: Globex's certificate is on the API's allow list, but the token is not bound to it.
    let mut globex_conn = connect(&w.server, &[&w.globex_cert], "localhost").await;
    let misuse = globex_conn.get("/shop/x", &auth).await;
    assert_eq!((misuse.status, misuse.code()), (401, "certificate_binding_mismatch"), "{}", misuse.body);

    // Another organisation's consumer cannot see or change the subscription: 404 like a missing id.
    let new = w.pki.leaf(&LeafSpec::client("acme-2027"));
    let renewals = format!("/subscriptions/{sub}/renewals");
    let (status, hidden) = w.globex.post(&renewals, json!({"certificate": new.cert_pem})).await;
    let (missing_status, missing) = w.globex.post("/subscriptions/sub_missing/renewals", json!({"certificate": new.cert_pem})).await;
    assert_eq!((status, missing_status), (404, 404));
    assert_eq!(hidden, missing);
    let (status, _) = w.globex.call(Method::GET, &format!("/apps/{app}/subscriptions"), None).await;
    assert_eq!(status, 404);

    // Renewal input is checked like a request's: a key is refused without an echo, Globex's
    // certificate is held elsewhere (409, Globex not named).
    let (status, refused) = w.acme.post(&renewals, json!({"certificate": new.key_pem})).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("private_key_not_certificate")));
    assert!(!refused.to_string().contains(new.key_pem.lines().nth(1).unwrap()));
    let (status, held) = w.acme.post(&renewals, json!({"certificate": w.globex_cert.cert_pem})).await;
    assert_eq!((status, held["code"].as_str()), (409, Some("certificate_held_elsewhere")), "{held}");
    assert!(!held.to_string().contains("Globex"));
    assert!(w.pending_requests().await.is_empty(), "refusals store nothing");

    // A rejected renewal leaves the old certificate as it was.
    let wrong = w.pki.leaf(&LeafSpec::client("acme-wrong"));
    let (status, renewal) = w.acme.post(&renewals, json!({"certificate": wrong.cert_pem})).await;
    assert_eq!((status, renewal["state"].as_str(), renewal["kind"].as_str()), (201, Some("pending"), Some("renew")), "{renewal}");
    let (status, twice) = w.acme.post(&renewals, json!({"certificate": new.cert_pem})).await;
    assert_eq!((status, twice["code"].as_str()), (409, Some("renewal_pending")));
    let (_, listed) = w.acme.call(Method::GET, &format!("/apps/{app}/subscriptions"), None).await;
    assert_eq!(listed["items"][0]["pending"][0]["id"], renewal["id"], "the consumer sees the pending renewal: {listed}");
    let (status, mine) = w.acme.call(Method::GET, "/access-requests?state=pending", None).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1), "{mine}");
    assert_eq!((mine["items"][0]["id"].clone(), mine["items"][0]["kind"].as_str()), (renewal["id"].clone(), Some("renew")));
    assert_eq!(mine["items"][0]["subscription"], json!(sub));
    let (_, theirs) = w.globex.call(Method::GET, "/access-requests", None).await;
    assert_eq!(theirs["items"], json!([]), "another organisation's requests are not listed");
    let id = renewal["id"].as_str().unwrap();
    let (status, rejected) = w.admin.call(Method::POST, &format!("/access-requests/{id}/reject"), Some(json!({"reason": "not our CA"}))).await;
    assert_eq!((status, rejected["state"].as_str()), (200, Some("rejected")), "{rejected}");
    let mut wrong_conn = connect(&w.server, &[&wrong], "localhost").await;
    assert_eq!(wrong_conn.get("/shop/x", &auth).await.code(), "client_certificate_not_allowed");
    assert_eq!(old_conn.get("/shop/x", &auth).await.status, 200);
    let (_, listed) = w.acme.call(Method::GET, &format!("/apps/{app}/subscriptions"), None).await;
    assert_eq!(listed["items"][0]["certificates"], json!([{"id": id_of(&old), "retire_by": null}]));
    assert_eq!(listed["items"][0]["pending"], json!([]));

    // An approved renewal: both certificates work with the same (bound) token.
    let (status, renewal) = w.acme.post(&renewals, json!({"certificate": new.cert_pem})).await;
    assert_eq!(status, 201, "{renewal}");
    w.approve(&renewal).await;
    let mut new_conn = connect(&w.server, &[&new], "localhost").await;
    assert_eq!(new_conn.get("/shop/x", &auth).await.status, 200);
    assert_eq!(old_conn.get("/shop/x", &auth).await.status, 200, "no outage while the new one is deployed");
    assert_eq!(globex_conn.get("/shop/x", &auth).await.code(), "certificate_binding_mismatch");
    let (_, listed) = w.acme.call(Method::GET, &format!("/apps/{app}/subscriptions"), None).await;
    let certificates = listed["items"][0]["certificates"].as_array().unwrap().clone();
    assert_eq!(certificates.len(), 2, "{listed}");
    let approved_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let retire_by = certificates[0]["retire_by"].as_i64().unwrap();
    assert!((approved_at + 30 * 86_400 - 60..=approved_at + 30 * 86_400).contains(&retire_by), "at most 30 days: {retire_by}");
    assert_eq!(certificates[1], json!({"id": id_of(&new), "retire_by": null}));
    let (_, used) = w.admin.call(Method::GET, &format!("/certificates/{}", id_of(&new)), None).await;
    assert!(used.to_string().contains(&sub), "the new certificate is used by the subscription: {used}");

    // Retiring: never the last current certificate; the old one at once.
    let retire = format!("/subscriptions/{sub}/retire-certificate");
    let (status, last) = w.acme.post(&retire, json!({"certificate": id_of(&new)})).await;
    assert_eq!((status, last["code"].as_str()), (409, Some("last_certificate")), "{last}");
    let (status, _) = w.globex.post(&retire, json!({"certificate": id_of(&old)})).await;
    assert_eq!(status, 404);
    let (status, retired) = w.acme.post(&retire, json!({"certificate": id_of(&old)})).await;
    assert_eq!(status, 200, "{retired}");
    assert_eq!(retired["certificates"], json!([{"id": id_of(&new), "retire_by": null}]));
    // Refused from the next request on the same keep-alive connection; the new one works.
    assert_eq!(old_conn.get("/shop/x", &auth).await.code(), "client_certificate_not_allowed");
    assert_eq!(new_conn.get("/shop/x", &auth).await.status, 200);
    let (_, used) = w.admin.call(Method::GET, &format!("/certificates/{}", id_of(&old)), None).await;
    assert!(!used.to_string().contains(&sub), "the old certificate is no longer used by the subscription: {used}");
}

#[tokio::test]
async fn a_plan_change_is_approved_like_a_request_and_keeps_the_quota_used() {
    let small = json!({"name": "Small", "quota": {"max": 3, "period": "day"}});
    let large = json!({"name": "Large", "quota": {"max": 5, "period": "day"}});
    let w = world(&[small, large, json!({"name": "Auto", "auto_approve": true})]).await;
    let (status, elsewhere) = w.admin.call(Method::POST, "/plans", Some(json!({"name": "Not offered"}))).await;
    assert_eq!(status, 201);
    let cert = w.pki.leaf(&LeafSpec::client("acme"));
    let (app, sub, token) = w.subscribe(&cert).await;
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    let mut conn = connect(&w.server, &[&cert], "localhost").await;
    for remaining in ["2", "1"] {
        let answer = conn.get("/shop/x", &auth).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.headers["x-quota-remaining"], remaining);
    }

    let change = format!("/subscriptions/{sub}/change-plan");
    let (status, unknown) = w.acme.post(&change, json!({"plan": elsewhere["id"]})).await;
    assert_eq!((status, unknown["code"].as_str()), (400, Some("unknown_plan")), "{unknown}");
    let (status, same) = w.acme.post(&change, json!({"plan": w.plans[0]})).await;
    assert_eq!((status, same["code"].as_str()), (400, Some("same_plan")), "{same}");
    let (status, _) = w.globex.post(&change, json!({"plan": w.plans[1]})).await;
    assert_eq!(status, 404);
    let (status, renewal) = w.acme.post(&format!("/subscriptions/{sub}/renewals"), json!({"certificate": w.pki.leaf(&LeafSpec::client("x")).cert_pem})).await;
    assert_eq!(status, 201, "a Self-Serve subscription renews: {renewal}");

    let (status, request) = w.acme.post(&change, json!({"plan": w.plans[1]})).await;
    assert_eq!((status, request["state"].as_str(), request["kind"].as_str()), (201, Some("pending"), Some("change_plan")), "{request}");
    assert_eq!(request["subscription"], json!(sub));
    let (status, again) = w.acme.post(&change, json!({"plan": w.plans[2]})).await;
    assert_eq!((status, again["code"].as_str()), (409, Some("change_pending")));
    let (_, listed) = w.acme.call(Method::GET, &format!("/apps/{app}/subscriptions"), None).await;
    let mut pending: Vec<&str> = listed["items"][0]["pending"].as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap()).collect();
    pending.sort();
    assert_eq!(pending, ["change_plan", "renew"], "the consumer sees both pending requests: {listed}");
    // Before approval the small plan still counts.
    let answer = conn.get("/shop/x", &auth).await;
    assert_eq!((answer.status, answer.headers["x-quota-remaining"].to_str().unwrap()), (200, "0"));
    assert_eq!(conn.get("/shop/x", &auth).await.code(), "quota_exceeded");

    // Approved: the plan field changes, the count does not reset (3 used of 5 now).
    w.approve(&request).await;
    let (_, listed) = w.acme.call(Method::GET, &format!("/apps/{app}/subscriptions"), None).await;
    assert_eq!(listed["items"][0]["plan"], json!(w.plans[1]));
    let answer = conn.get("/shop/x", &auth).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!((answer.headers["x-quota-limit"].to_str().unwrap(), answer.headers["x-quota-remaining"].to_str().unwrap()), ("5", "1"));
    assert_eq!(conn.get("/shop/x", &auth).await.status, 200);
    assert_eq!(conn.get("/shop/x", &auth).await.code(), "quota_exceeded");

    // A plan with auto-approve is approved at once.
    let (status, auto) = w.acme.post(&change, json!({"plan": w.plans[2]})).await;
    assert_eq!((status, auto["state"].as_str()), (201, Some("approved")), "{auto}");
    let (_, listed) = w.acme.call(Method::GET, &format!("/apps/{app}/subscriptions"), None).await;
    assert_eq!(listed["items"][0]["plan"], json!(w.plans[2]));
}

/// The Self-Serve certificate must be usable now, by the gateway's own policy: a CA, a
/// serverAuth-only leaf, an expired one and one not yet valid are each refused with a clear
/// code and message, and nothing is stored.
#[tokio::test]
async fn a_self_serve_request_takes_only_a_certificate_usable_now() {
    let w = world(&[json!({"name": "Gold"})]).await;
    let (status, app) = w.acme.post("/apps", json!({"name": "Checkout"})).await;
    assert_eq!(status, 201, "{app}");
    let app = app["id"].as_str().unwrap().to_string();
    let unusable = [
        ("a CA", w.pki.intermediate.cert_pem.clone()),
        ("serverAuth only", w.pki.leaf(&LeafSpec::client("srv").usage(Usage::ServerAuthOnly)).cert_pem),
        ("expired", w.pki.leaf(&LeafSpec::client("old").expired()).cert_pem),
        ("not yet valid", w.pki.leaf(&LeafSpec::client("soon").not_yet_valid()).cert_pem),
    ];
    for (what, pem) in unusable {
        let (status, refused) = w.acme.post(&format!("/apps/{app}/access-requests"), json!({"product": w.product, "plan": w.plans[0], "certificate": pem})).await;
        assert_eq!((status, refused["code"].as_str()), (400, Some("certificate_not_usable")), "{what}: {refused}");
        assert!(refused["detail"].as_str().is_some_and(|d| !d.is_empty()), "{what}: a message in words: {refused}");
    }
    assert!(w.pending_requests().await.is_empty(), "a refused request stores nothing");
}
