//! Issue 10's propagation and revocation rules through the real binary and the real gateway
//! listener (real TLS, real certificates): every admin or consumer write below is enforced from
//! the next request on a keep-alive connection opened before the write.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use certgate_testpki::{Issued, LeafSpec, TestPki};
use reqwest::Method;
use serde_json::{json, Value};
use support::gateway::{connect, echo_upstream, Admin, Conn};
use support::{client, Server};

/// One running certgate with an echo upstream, and the admin REST API.
struct World {
    server: Server,
    admin: Admin,
    upstream: std::net::SocketAddr,
    pki: TestPki,
    plan: String,
}

/// A consumer of one organisation, signed in over REST.
struct Consumer {
    client: reqwest::Client,
    portal: String,
}

/// A subscription's credential with its token.
struct Subscribed {
    app: String,
    credential: String,
    subscription: String,
    bearer: String,
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

impl World {
    async fn new() -> World {
        let server = Server::start();
        let admin = Admin::new(&server);
        let upstream = echo_upstream().await;
        let (status, plan) = admin.call(Method::POST, "/plans", Some(json!({"name": "Gold"}))).await;
        assert_eq!(status, 201, "{plan}");
        World { server, admin, upstream, pki: TestPki::new(), plan: plan["id"].as_str().unwrap().to_string() }
    }

    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.admin.call(method.clone(), path, body).await;
        assert!((200..300).contains(&status), "{method} {path}: {status} {answer}");
        answer
    }

    async fn organisation(&self, name: &str) -> String {
        self.ok(Method::POST, "/organisations", Some(json!({"name": name}))).await["id"].as_str().unwrap().to_string()
    }

    /// An Auth Token + mTLS API at `path` with `admin_entries` on its allow list.
    async fn api(&self, path: &str, admin_entries: &[&str]) -> String {
        self.admin
            .create_api(json!({"name": path.trim_start_matches('/'), "listen_path": path, "upstream_url": format!("http://{}/", self.upstream),
                "auth": "auth_token", "mtls": {"required": true, "allowed_certificates": admin_entries}}))
            .await
    }

    fn product_spec(&self, apis: &[&str], mode: &str, binding: bool) -> Value {
        json!({"name": "Shop", "apis": apis, "plans": [self.plan], "published": true, "certificate_mode": mode, "certificate_binding": binding})
    }

    async fn product(&self, spec: &Value) -> String {
        self.ok(Method::POST, "/products", Some(spec.clone())).await["id"].as_str().unwrap().to_string()
    }

    async fn put_product(&self, id: &str, spec: &Value) -> (u16, Value) {
        self.admin.call(Method::PUT, &format!("/products/{id}"), Some(spec.clone())).await
    }

    /// A new client certificate, uploaded and linked to `organisations`; returns it and its id.
    async fn certificate(&self, name: &str, organisations: &[&str]) -> (Issued, String) {
        let cert = self.pki.leaf(&LeafSpec::client(name));
        let id = self.admin.upload(&cert).await;
        if !organisations.is_empty() {
            self.link(&id, organisations).await;
        }
        (cert, id)
    }

    /// Replaces a certificate's organisation links through the portal facade.
    async fn link(&self, id: &str, organisations: &[&str]) {
        self.ok(Method::PATCH, &format!("/certificates/{id}"), Some(json!({"organisations": organisations}))).await;
    }

    async fn consumer(&self, organisation: &str, email: &str) -> Consumer {
        let password = "a long enough consumer password";
        self.ok(Method::POST, "/users", Some(json!({"email": email, "password": password, "organisation": organisation, "role": "org_admin"})))
            .await;
        let c = client();
        let r = c.post(self.server.url("/api/v1/session")).json(&json!({"email": email, "password": password})).send().await.unwrap();
        assert_eq!(r.status(), 204, "{email} signs in");
        Consumer { client: c, portal: self.server.url("/api/v1/portal") }
    }

    /// A new app of `consumer` asks for `product`, the admin approves, the consumer mints.
    async fn subscribe(&self, consumer: &Consumer, product: &str) -> Subscribed {
        let (status, app) = send(consumer.client.post(format!("{}/apps", consumer.portal)).json(&json!({"name": "App"}))).await;
        assert_eq!(status, 201, "{app}");
        let app = app["id"].as_str().unwrap().to_string();
        let ask = json!({"product": product, "plan": self.plan});
        let (status, request) = send(consumer.client.post(format!("{}/apps/{app}/access-requests", consumer.portal)).json(&ask)).await;
        assert_eq!(status, 201, "{request}");
        self.ok(Method::POST, &format!("/access-requests/{}/approve", request["id"].as_str().unwrap()), None).await;
        let (status, credentials) = send(consumer.client.get(format!("{}/apps/{app}/credentials", consumer.portal))).await;
        assert_eq!(status, 200, "{credentials}");
        let credential = credentials["items"][0]["id"].as_str().unwrap().to_string();
        let subscription = credentials["items"][0]["subscription"].as_str().unwrap().to_string();
        let (status, minted) = send(consumer.client.post(format!("{}/credentials/{credential}/token", consumer.portal))).await;
        assert_eq!(status, 201, "{minted}");
        Subscribed { app, credential, subscription, bearer: format!("Bearer {}", minted["token"].as_str().unwrap()) }
    }

    /// A keep-alive connection presenting `chain` (leaf first).
    async fn connect(&self, chain: &[&Issued]) -> Conn {
        connect(&self.server, chain, "localhost").await
    }
}

/// The gateway's answer on `conn`: "ok" for 200 from the upstream, else the denial's code.
async fn outcome(conn: &mut Conn, path: &str, sub: &Subscribed) -> String {
    assert!(!conn.is_closed(), "the keep-alive connection is still open");
    let answer = conn.get(path, &[("authorization", &sub.bearer)]).await;
    match answer.status {
        200 => "ok".into(),
        401 | 403 => answer.code().to_string(),
        other => panic!("unexpected {other}: {}", answer.body),
    }
}

#[tokio::test]
async fn a_certificate_linked_to_an_organisation_joins_its_managed_credentials_and_leaves_when_unlinked_or_deleted() {
    let w = World::new().await;
    let acme = w.organisation("Acme").await;
    let (first, first_id) = w.certificate("acme first", &[&acme]).await;
    let (second, second_id) = w.certificate("acme second", &[]).await;
    let api = w.api("/shop", &[]).await;
    let product = w.product(&w.product_spec(&[&api], "managed", true)).await;
    let sub = w.subscribe(&w.consumer(&acme, "dev@acme.example").await, &product).await;
    let (mut with_first, mut with_second) = (w.connect(&[&first]).await, w.connect(&[&second]).await);
    assert_eq!(outcome(&mut with_first, "/shop/x", &sub).await, "ok");
    assert_eq!(outcome(&mut with_second, "/shop/x", &sub).await, "client_certificate_not_allowed");

    // Linked: it joins the credential (binding on) from the next request on the open connection.
    w.link(&second_id, &[&acme]).await;
    assert_eq!(outcome(&mut with_second, "/shop/x", &sub).await, "ok");
    // Unlinked: it leaves.
    w.link(&second_id, &[]).await;
    assert_eq!(outcome(&mut with_second, "/shop/x", &sub).await, "client_certificate_not_allowed");
    // Deleted: it leaves too (and nothing else changed for the other one).
    w.link(&second_id, &[&acme]).await;
    assert_eq!(outcome(&mut with_second, "/shop/x", &sub).await, "ok");
    let (status, _) = w.admin.call(Method::DELETE, &format!("/certificates/{second_id}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(outcome(&mut with_second, "/shop/x", &sub).await, "client_certificate_not_allowed");
    assert_eq!(outcome(&mut with_first, "/shop/x", &sub).await, "ok");
    // The last certificate deleted: the credential works with none (with binding on, never "no check").
    let (status, _) = w.admin.call(Method::DELETE, &format!("/certificates/{first_id}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(outcome(&mut with_first, "/shop/x", &sub).await, "client_certificate_not_allowed");
}

#[tokio::test]
async fn a_ca_linked_to_the_organisation_covers_its_leaves_and_is_never_linked_to_a_second_one() {
    let w = World::new().await;
    let (acme, globex) = (w.organisation("Acme").await, w.organisation("Globex").await);
    let ca = w.admin.upload(&w.pki.intermediate).await;
    w.link(&ca, &[&acme]).await;
    let api = w.api("/shop", &[]).await;
    let product = w.product(&w.product_spec(&[&api], "managed", true)).await;
    let sub = w.subscribe(&w.consumer(&acme, "dev@acme.example").await, &product).await;

    // A leaf the CA issues (sent with its intermediate) works with the token, binding on.
    let issued = w.pki.leaf(&LeafSpec::client("issued later by the CA"));
    let mut conn = w.connect(&[&issued, &w.pki.intermediate]).await;
    assert_eq!(outcome(&mut conn, "/shop/x", &sub).await, "ok");
    let stranger = TestPki::new().leaf(&LeafSpec::client("another PKI"));
    assert_eq!(outcome(&mut w.connect(&[&stranger]).await, "/shop/x", &sub).await, "client_certificate_not_allowed");

    // A second organisation for the CA: 409, both ways of asking, and nothing changes.
    for organisations in [json!([acme, globex]), json!([globex, acme])] {
        let (status, refused) = w.admin.call(Method::PATCH, &format!("/certificates/{ca}"), Some(json!({"name": "Acme CA", "organisations": organisations}))).await;
        assert_eq!((status, refused["code"].as_str()), (409, Some("ca_linked_elsewhere")), "{refused}");
    }
    let entry = w.ok(Method::GET, &format!("/certificates/{ca}"), None).await;
    assert_eq!(entry["organisations"].as_array().map(Vec::len), Some(1), "{entry}");
    assert!(!entry.to_string().contains("Acme CA"), "the refused name was not stored either");
    assert_eq!(outcome(&mut conn, "/shop/x", &sub).await, "ok");

    // Leaf certificates may still be shared.
    let (_, shared) = w.certificate("shared leaf", &[&acme]).await;
    w.link(&shared, &[&acme, &globex]).await;
}

#[tokio::test]
async fn switching_binding_on_a_product_updates_existing_credentials() {
    let w = World::new().await;
    let acme = w.organisation("Acme").await;
    let (mine, _) = w.certificate("acme", &[&acme]).await;
    let (theirs, theirs_id) = w.certificate("another organisation's", &[]).await;
    let api = w.api("/shop", &[&theirs_id]).await;
    let product = w.product(&w.product_spec(&[&api], "managed", false)).await;
    let sub = w.subscribe(&w.consumer(&acme, "dev@acme.example").await, &product).await;
    let mut other = w.connect(&[&theirs]).await;
    let mut own = w.connect(&[&mine]).await;

    // Binding off: any allow-listed certificate works with the token.
    assert_eq!(outcome(&mut other, "/shop/x", &sub).await, "ok");
    let (status, body) = w.put_product(&product, &w.product_spec(&[&api], "managed", true)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(outcome(&mut other, "/shop/x", &sub).await, "certificate_binding_mismatch");
    assert_eq!(outcome(&mut own, "/shop/x", &sub).await, "ok");
    let (status, body) = w.put_product(&product, &w.product_spec(&[&api], "managed", false)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(outcome(&mut other, "/shop/x", &sub).await, "ok");
}

#[tokio::test]
async fn changing_the_products_apis_updates_existing_credentials_and_keeps_admin_entries() {
    let w = World::new().await;
    let acme = w.organisation("Acme").await;
    let (mine, _) = w.certificate("acme only", &[&acme]).await;
    // Also an admin entry on /two: removing /two from the product leaves it there.
    let (pinned, pinned_id) = w.certificate("acme, pinned by the admin", &[&acme]).await;
    let one = w.api("/one", &[]).await;
    let two = w.api("/two", &[&pinned_id]).await;
    let product = w.product(&w.product_spec(&[&one], "managed", true)).await;
    let sub = w.subscribe(&w.consumer(&acme, "dev@acme.example").await, &product).await;
    let (mut conn, mut pinned_conn) = (w.connect(&[&mine]).await, w.connect(&[&pinned]).await);
    assert_eq!(outcome(&mut conn, "/one/x", &sub).await, "ok");
    assert_eq!(outcome(&mut conn, "/two/x", &sub).await, "client_certificate_not_allowed");
    assert_eq!(outcome(&mut pinned_conn, "/two/x", &sub).await, "api_not_granted");

    // An API added: the credential and its certificates reach it.
    let (status, body) = w.put_product(&product, &w.product_spec(&[&one, &two], "managed", true)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(outcome(&mut conn, "/two/x", &sub).await, "ok");
    assert_eq!(outcome(&mut pinned_conn, "/two/x", &sub).await, "ok");

    // An API removed: the token is refused there and the certificate leaves its allow list,
    // unless the admin's own entry has it.
    let (status, body) = w.put_product(&product, &w.product_spec(&[&one], "managed", true)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(outcome(&mut conn, "/two/x", &sub).await, "client_certificate_not_allowed");
    assert_eq!(outcome(&mut pinned_conn, "/two/x", &sub).await, "api_not_granted");
    assert_eq!(outcome(&mut conn, "/one/x", &sub).await, "ok");
    let stored = w.ok(Method::GET, &format!("/apis/{two}"), None).await;
    assert!(stored.to_string().contains(&pinned_id), "the admin's entry is untouched: {stored}");

    // And the reverse: the admin editing the API's own entries leaves the portal's.
    let edited = json!({"name": "one, edited", "listen_path": "/one", "upstream_url": format!("http://{}/", w.upstream), "auth": "auth_token",
        "mtls": {"required": true, "allowed_certificates": [pinned_id]}});
    w.ok(Method::PUT, &format!("/apis/{one}"), Some(edited)).await;
    assert_eq!(outcome(&mut conn, "/one/x", &sub).await, "ok");
}

#[tokio::test]
async fn a_plan_change_reaches_existing_credentials() {
    let w = World::new().await;
    let acme = w.organisation("Acme").await;
    let (mine, _) = w.certificate("acme", &[&acme]).await;
    let api = w.api("/shop", &[]).await;
    w.ok(Method::PUT, &format!("/plans/{}", w.plan), Some(json!({"name": "Gold", "rate": {"requests": 100, "per_seconds": 60}}))).await;
    let product = w.product(&w.product_spec(&[&api], "managed", true)).await;
    let sub = w.subscribe(&w.consumer(&acme, "dev@acme.example").await, &product).await;
    let mut conn = w.connect(&[&mine]).await;
    let limit = |answer: &support::gateway::Answer| answer.headers.get("x-ratelimit-limit").map(|v| v.to_str().unwrap().to_string());
    let answer = conn.get("/shop/x", &[("authorization", &sub.bearer)]).await;
    assert_eq!((answer.status, limit(&answer).as_deref()), (200, Some("100")));

    w.ok(Method::PUT, &format!("/plans/{}", w.plan), Some(json!({"name": "Gold", "rate": {"requests": 5, "per_seconds": 60}}))).await;
    let answer = conn.get("/shop/x", &[("authorization", &sub.bearer)]).await;
    assert_eq!((answer.status, limit(&answer).as_deref()), (200, Some("5")), "the plan's new rate applies from the next request");
}

#[tokio::test]
async fn managed_to_self_serve_keeps_the_credential_working_with_the_same_certificate() {
    let w = World::new().await;
    let acme = w.organisation("Acme").await;
    let (mine, mine_id) = w.certificate("acme", &[&acme]).await;
    let (theirs, theirs_id) = w.certificate("allow-listed by the admin", &[]).await;
    let api = w.api("/shop", &[&theirs_id]).await;
    let product = w.product(&w.product_spec(&[&api], "managed", true)).await;
    let sub = w.subscribe(&w.consumer(&acme, "dev@acme.example").await, &product).await;
    let (mut conn, mut other) = (w.connect(&[&mine]).await, w.connect(&[&theirs]).await);
    assert_eq!(outcome(&mut conn, "/shop/x", &sub).await, "ok");

    let (status, body) = w.put_product(&product, &w.product_spec(&[&api], "self_serve", true)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(outcome(&mut conn, "/shop/x", &sub).await, "ok", "same certificate, same token, same connection");
    assert_eq!(outcome(&mut other, "/shop/x", &sub).await, "certificate_binding_mismatch", "still bound");
    // The subscription holds it now: the organisation's links no longer decide.
    w.link(&mine_id, &[]).await;
    assert_eq!(outcome(&mut conn, "/shop/x", &sub).await, "ok");
    let entry = w.ok(Method::GET, &format!("/certificates/{mine_id}"), None).await;
    assert_eq!(entry["used_by"], json!([format!("subscription {}", sub.subscription)]), "\"used by\" names the subscription");

    // Back to Managed while the organisation has no certificate: 409, and nothing changes.
    let (status, refused) = w.put_product(&product, &w.product_spec(&[&api], "managed", true)).await;
    assert_eq!((status, refused["code"].as_str()), (409, Some("organisation_has_no_certificate")), "{refused}");
    assert_eq!(outcome(&mut conn, "/shop/x", &sub).await, "ok");
    // With one linked, Managed uses the organisation's certificates again.
    let (later, _) = w.certificate("acme later", &[&acme]).await;
    let (status, body) = w.put_product(&product, &w.product_spec(&[&api], "managed", true)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(outcome(&mut conn, "/shop/x", &sub).await, "client_certificate_not_allowed");
    assert_eq!(outcome(&mut w.connect(&[&later]).await, "/shop/x", &sub).await, "ok");
}

#[tokio::test]
async fn suspending_an_organisation_refuses_its_tokens_and_takes_off_only_the_certificates_nothing_else_holds() {
    let w = World::new().await;
    let (acme, globex) = (w.organisation("Acme").await, w.organisation("Globex").await);
    let (only_acme, _) = w.certificate("acme only", &[&acme]).await;
    let (shared, _) = w.certificate("shared by acme and globex", &[&acme, &globex]).await;
    let (pinned, pinned_id) = w.certificate("acme, pinned by the admin", &[&acme]).await;
    let api = w.api("/shop", &[&pinned_id]).await;
    let product = w.product(&w.product_spec(&[&api], "managed", true)).await;
    let acme_sub = w.subscribe(&w.consumer(&acme, "dev@acme.example").await, &product).await;
    let globex_sub = w.subscribe(&w.consumer(&globex, "dev@globex.example").await, &product).await;
    let mut conns = [w.connect(&[&only_acme]).await, w.connect(&[&shared]).await, w.connect(&[&pinned]).await];
    for conn in conns.iter_mut() {
        assert_eq!(outcome(conn, "/shop/x", &acme_sub).await, "ok");
    }

    w.ok(Method::POST, &format!("/organisations/{acme}/suspend"), None).await;
    let [only, both, admin_entry] = &mut conns;
    assert_eq!(outcome(only, "/shop/x", &acme_sub).await, "client_certificate_not_allowed", "off the allow list");
    assert_eq!(outcome(both, "/shop/x", &acme_sub).await, "credential_invalid", "globex's live credential still holds it");
    assert_eq!(outcome(both, "/shop/x", &globex_sub).await, "ok");
    assert_eq!(outcome(admin_entry, "/shop/x", &acme_sub).await, "credential_invalid", "the admin's entry still has it");
    let (status, refused) = w.admin.call(Method::DELETE, &format!("/organisations/{acme}"), None).await;
    assert_eq!((status, refused["code"].as_str()), (409, Some("organisation_in_use")), "{refused}");

    w.ok(Method::POST, &format!("/organisations/{acme}/resume"), None).await;
    for conn in conns.iter_mut() {
        assert_eq!(outcome(conn, "/shop/x", &acme_sub).await, "ok");
    }
}

#[tokio::test]
async fn revoking_a_credential_or_deleting_its_app_takes_its_certificates_off_unless_an_admin_entry_has_them() {
    let w = World::new().await;
    let acme = w.organisation("Acme").await;
    let (mine, _) = w.certificate("acme", &[&acme]).await;
    let (pinned, pinned_id) = w.certificate("acme, pinned by the admin", &[&acme]).await;
    let api = w.api("/shop", &[&pinned_id]).await;
    let product = w.product(&w.product_spec(&[&api], "managed", true)).await;
    let consumer = w.consumer(&acme, "dev@acme.example").await;
    let (mut conn, mut pinned_conn) = (w.connect(&[&mine]).await, w.connect(&[&pinned]).await);

    // Revoked by the admin.
    let first = w.subscribe(&consumer, &product).await;
    assert_eq!(outcome(&mut conn, "/shop/x", &first).await, "ok");
    let (status, _) = w.admin.call(Method::DELETE, &format!("/credentials/{}", first.credential), None).await;
    assert_eq!(status, 204);
    assert_eq!(outcome(&mut conn, "/shop/x", &first).await, "client_certificate_not_allowed");
    assert_eq!(outcome(&mut pinned_conn, "/shop/x", &first).await, "credential_invalid");

    // The app deleted by its consumer.
    let second = w.subscribe(&consumer, &product).await;
    assert_eq!(outcome(&mut conn, "/shop/x", &second).await, "ok");
    let (status, _) = send(consumer.client.delete(format!("{}/apps/{}", consumer.portal, second.app))).await;
    assert_eq!(status, 204);
    assert_eq!(outcome(&mut conn, "/shop/x", &second).await, "client_certificate_not_allowed");
    assert_eq!(outcome(&mut pinned_conn, "/shop/x", &second).await, "credential_invalid");

    // Editing one side never removed the other's entries.
    let stored = w.ok(Method::GET, &format!("/apis/{api}"), None).await;
    assert_eq!(stored["mtls"]["allowed_certificates"], json!([pinned_id]), "{stored}");
}

#[tokio::test]
async fn deleting_a_product_plan_or_organisation_that_live_subscriptions_use_is_refused_naming_them() {
    let w = World::new().await;
    let acme = w.organisation("Acme").await;
    let (mine, _) = w.certificate("acme", &[&acme]).await;
    let api = w.api("/shop", &[]).await;
    let product = w.product(&w.product_spec(&[&api], "managed", true)).await;
    let sub = w.subscribe(&w.consumer(&acme, "dev@acme.example").await, &product).await;
    let mut conn = w.connect(&[&mine]).await;

    let (status, refused) = w.admin.call(Method::DELETE, &format!("/products/{product}"), None).await;
    assert_eq!((status, refused["code"].as_str()), (409, Some("product_in_use")), "{refused}");
    assert!(refused["detail"].as_str().unwrap_or("").contains(&sub.subscription), "names the subscription: {refused}");
    let (status, refused) = w.admin.call(Method::DELETE, &format!("/plans/{}", w.plan), None).await;
    assert_eq!((status, refused["code"].as_str()), (409, Some("plan_in_use")), "{refused}");
    assert!(refused["detail"].as_str().unwrap_or("").contains(&sub.subscription), "names the subscription: {refused}");
    let (status, refused) = w.admin.call(Method::DELETE, &format!("/organisations/{acme}"), None).await;
    assert_eq!((status, refused["code"].as_str()), (409, Some("organisation_in_use")), "{refused}");
    assert_eq!(outcome(&mut conn, "/shop/x", &sub).await, "ok", "the refusals changed nothing");
}

#[tokio::test]
async fn a_self_serve_certificate_deleted_with_force_is_refused_from_the_next_request() {
    let w = World::new().await;
    let acme = w.organisation("Acme").await;
    let api = w.api("/shop", &[]).await;
    let product = w.product(&w.product_spec(&[&api], "self_serve", true)).await;
    let consumer = w.consumer(&acme, "dev@acme.example").await;
    let (status, app) = send(consumer.client.post(format!("{}/apps", consumer.portal)).json(&json!({"name": "App"}))).await;
    assert_eq!(status, 201, "{app}");
    let mine = w.pki.leaf(&LeafSpec::client("self-serve"));
    let ask = json!({"product": product, "plan": w.plan, "certificate": mine.cert_pem});
    let (status, request) = send(consumer.client.post(format!("{}/apps/{}/access-requests", consumer.portal, app["id"].as_str().unwrap())).json(&ask)).await;
    assert_eq!(status, 201, "{request}");
    w.ok(Method::POST, &format!("/access-requests/{}/approve", request["id"].as_str().unwrap()), None).await;
    let (_, credentials) = send(consumer.client.get(format!("{}/apps/{}/credentials", consumer.portal, app["id"].as_str().unwrap()))).await;
    let credential = credentials["items"][0]["id"].as_str().unwrap().to_string();
    let (status, minted) = send(consumer.client.post(format!("{}/credentials/{credential}/token", consumer.portal))).await;
    assert_eq!(status, 201, "{minted}");
    let sub = Subscribed { app: String::new(), credential, subscription: String::new(), bearer: format!("Bearer {}", minted["token"].as_str().unwrap()) };
    let mut conn = w.connect(&[&mine]).await;
    assert_eq!(outcome(&mut conn, "/shop/x", &sub).await, "ok");

    let id = credentials["items"][0]["certificates"][0].as_str().unwrap().to_string();
    let (status, refused) = w.admin.call(Method::DELETE, &format!("/certificates/{id}"), None).await;
    assert_eq!((status, refused["code"].as_str()), (409, Some("certificate_in_use")), "{refused}");
    assert_eq!(outcome(&mut conn, "/shop/x", &sub).await, "ok");
    let (status, body) = w.admin.call(Method::DELETE, &format!("/certificates/{id}?force=true"), None).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(outcome(&mut conn, "/shop/x", &sub).await, "client_certificate_not_allowed");
    // Uploaded again later (for another use), it does not come back into the subscription.
    assert_eq!(w.admin.upload(&mine).await, id);
    let (status, body) = w.put_product(&product, &w.product_spec(&[&api], "self_serve", true)).await;
    assert_eq!(status, 200, "a write that republishes the view: {body}");
    assert_eq!(outcome(&mut conn, "/shop/x", &sub).await, "client_certificate_not_allowed");
    let entry = w.ok(Method::GET, &format!("/certificates/{id}"), None).await;
    assert_eq!(entry["used_by"], json!([]), "{entry}");
}
