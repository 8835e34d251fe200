//! The developer portal attacked by people with accounts, through the real listener: a
//! consumer of one organisation on another's ids (404, never data, nothing changed), a consumer
//! on admin-only routes and functions, an org admin taking over a pending colleague's account,
//! cross-site writes riding the session cookie, secrets kept out of caches, and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use certgate_testpki::{LeafSpec, TestPki};
use reqwest::Method;
use serde_json::{json, Value};
use support::gateway::Admin;
use support::{client, Server};

const PW: &str = "an attacker's long password";

fn id_of(body: &Value) -> String {
    body["id"].as_str().unwrap_or_else(|| panic!("no id in {body}")).to_string()
}

/// A consumer signed in through the REST session (the cookie is in the client).
struct Consumer {
    client: reqwest::Client,
    api: String,
    portal: String,
}

impl Consumer {
    async fn rest(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.client.request(method, format!("{}{path}", self.api));
        if let Some(body) = body {
            r = r.json(&body);
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// A server function as a hydrated form calls it.
    async fn call(&self, function: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self.client.post(format!("{}/fn/{function}", self.portal)).form(form).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

async fn organisation(admin: &Admin, name: &str) -> String {
    let (status, body) = admin.call(Method::POST, "/organisations", Some(json!({"name": name}))).await;
    assert_eq!(status, 201, "{body}");
    id_of(&body)
}

async fn consumer(server: &Server, admin: &Admin, org: &str, email: &str, role: &str) -> Consumer {
    let (status, body) = admin.call(Method::POST, "/users", Some(json!({"email": email, "password": PW, "organisation": org, "role": role}))).await;
    assert_eq!(status, 201, "{body}");
    let c = client();
    let r = c.post(server.url("/api/v1/session")).json(&json!({"email": email, "password": PW})).send().await.unwrap();
    assert_eq!(r.status(), 204, "{email} signs in");
    Consumer { client: c, api: server.url("/api/v1"), portal: server.portal.clone() }
}

/// Two organisations with a certificate each, a Managed product with binding on an Auth Token
/// + mTLS API and an auto-approving plan, and Globex's app subscribed to it.
struct World {
    server: Server,
    admin: Admin,
    acme: String,
    globex: String,
    product: String,
    plan: String,
    /// A plan the admin approves.
    gold: String,
    /// Globex's app, subscription, credential (no token yet) and a pending request.
    app: String,
    subscription: String,
    credential: String,
    pending: String,
    bob: Consumer,
}

async fn world() -> World {
    let server = Server::start();
    let admin = Admin::new(&server);
    let (acme, globex) = (organisation(&admin, "Acme Corp").await, organisation(&admin, "Globex").await);
    let pki = TestPki::new();
    for (name, org) in [("acme-client", &acme), ("globex-client", &globex)] {
        let id = admin.upload(&pki.leaf(&LeafSpec::client(name))).await;
        let (status, body) = admin.call(Method::PATCH, &format!("/certificates/{id}"), Some(json!({"organisations": [org]}))).await;
        assert_eq!(status, 200, "{body}");
    }
    let api = admin
        .create_api(json!({"name": "Shop API", "listen_path": "/shop", "upstream_url": "http://127.0.0.1:9/", "auth": "auth_token", "mtls": {"required": true}}))
        .await;
    let (status, plan) = admin.call(Method::POST, "/plans", Some(json!({"name": "Free", "auto_approve": true}))).await;
    assert_eq!(status, 201, "{plan}");
    let (status, gold) = admin.call(Method::POST, "/plans", Some(json!({"name": "Gold", "auto_approve": false}))).await;
    assert_eq!(status, 201, "{gold}");
    let (plan, gold) = (id_of(&plan), id_of(&gold));
    let (status, product) = admin
        .call(Method::POST, "/products", Some(json!({"name": "Shop", "apis": [api], "plans": [plan, gold], "published": true,
            "certificate_mode": "managed", "certificate_binding": true})))
        .await;
    assert_eq!(status, 201, "{product}");
    let product = id_of(&product);
    let bob = consumer(&server, &admin, &globex, "bob@globex.example", "member").await;
    let (status, app) = bob.rest(Method::POST, "/portal/apps", Some(json!({"name": "Globex secret"}))).await;
    assert_eq!(status, 201, "{app}");
    let app = id_of(&app);
    let (status, approved) = bob.rest(Method::POST, &format!("/portal/apps/{app}/access-requests"), Some(json!({"product": product, "plan": plan}))).await;
    assert_eq!((status, approved["state"].as_str()), (201, Some("approved")), "{approved}");
    let (status, credentials) = bob.rest(Method::GET, &format!("/portal/apps/{app}/credentials"), None).await;
    assert_eq!(status, 200, "{credentials}");
    let credential = id_of(&credentials["items"][0]);
    let subscription = credentials["items"][0]["subscription"].as_str().unwrap().to_string();
    let (status, waiting) = bob.rest(Method::POST, "/portal/apps", Some(json!({"name": "Globex waiting"}))).await;
    assert_eq!(status, 201, "{waiting}");
    let (status, pending) =
        bob.rest(Method::POST, &format!("/portal/apps/{}/access-requests", id_of(&waiting)), Some(json!({"product": product, "plan": gold}))).await;
    assert_eq!((status, pending["state"].as_str()), (201, Some("pending")), "{pending}");
    let pending = id_of(&pending);
    World { server, admin, acme, globex, product, plan, gold, app, subscription, credential, pending, bob }
}

/// Globex's objects are as Bob left them: the app's name, no token, the request pending.
async fn globex_unchanged(w: &World) {
    let (status, app) = w.bob.rest(Method::GET, &format!("/portal/apps/{}", w.app), None).await;
    assert_eq!((status, app["name"].as_str()), (200, Some("Globex secret")), "{app}");
    let (_, credentials) = w.bob.rest(Method::GET, &format!("/portal/apps/{}/credentials", w.app), None).await;
    assert_eq!((credentials["items"][0]["has_token"].as_bool(), credentials["items"][0]["revoked"].as_bool()), (Some(false), Some(false)), "{credentials}");
    let (_, requests) = w.bob.rest(Method::GET, "/portal/access-requests?state=pending", None).await;
    assert!(requests["items"].as_array().unwrap().iter().any(|r| r["id"] == w.pending.as_str()), "{requests}");
}

/// Every consumer route on Bob's ids: 404 like a missing id, naming nothing of Globex's.
async fn refused_everywhere(w: &World, attacker: &Consumer) {
    let (app, sub, crd, req) = (&w.app, &w.subscription, &w.credential, &w.pending);
    let pem = TestPki::new().leaf(&LeafSpec::client("olga-new")).cert_pem;
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/portal/apps/{app}"), None),
        (Method::PATCH, format!("/portal/apps/{app}"), Some(json!({"name": "mine now"}))),
        (Method::DELETE, format!("/portal/apps/{app}"), None),
        (Method::POST, format!("/portal/apps/{app}/access-requests"), Some(json!({"product": w.product, "plan": w.plan}))),
        (Method::GET, format!("/portal/apps/{app}/credentials"), None),
        (Method::GET, format!("/portal/apps/{app}/subscriptions"), None),
        (Method::DELETE, format!("/portal/access-requests/{req}"), None),
        (Method::POST, format!("/portal/credentials/{crd}/token"), None),
        (Method::POST, format!("/portal/credentials/{crd}/rotate"), Some(json!({"overlap_seconds": 0}))),
        (Method::DELETE, format!("/portal/credentials/{crd}"), None),
        (Method::POST, format!("/portal/subscriptions/{sub}/change-plan"), Some(json!({"plan": w.plan}))),
        (Method::POST, format!("/portal/subscriptions/{sub}/renewals"), Some(json!({"certificate": pem}))),
        (Method::POST, format!("/portal/subscriptions/{sub}/retire-certificate"), Some(json!({"certificate": "00"}))),
    ];
    for (method, path, body) in attempts {
        let (status, answer) = attacker.rest(method.clone(), &path, body).await;
        assert_eq!((status, answer["code"].as_str()), (404, Some("not_found")), "{method} {path}: {answer}");
        assert!(!answer.to_string().contains("Globex"), "{method} {path} names nothing of Globex's: {answer}");
    }
}

#[tokio::test]
async fn another_organisations_ids_are_404_on_every_consumer_route_and_change_nothing() {
    let w = world().await;
    // An org admin of Acme: the widest consumer role.
    let olga = consumer(&w.server, &w.admin, &w.acme, "olga@acme.example", "org_admin").await;
    refused_everywhere(&w, &olga).await;
    // Lists show Acme's own (nothing).
    for path in ["/portal/apps", "/portal/access-requests", "/portal/members"] {
        let (status, list) = olga.rest(Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {list}");
        assert!(!list.to_string().contains(&w.globex) && !list.to_string().contains("globex"), "{path}: {list}");
    }
    globex_unchanged(&w).await;
}

#[tokio::test]
async fn a_consumer_reaches_no_admin_route_or_function() {
    let w = world().await;
    let olga = consumer(&w.server, &w.admin, &w.acme, "olga@acme.example", "org_admin").await;
    for (method, path, body) in [
        (Method::GET, "/apps".to_string(), None),
        (Method::GET, "/subscriptions".to_string(), None),
        (Method::GET, "/credentials".to_string(), None),
        (Method::DELETE, format!("/credentials/{}", w.credential), None),
        (Method::GET, "/audit".to_string(), None),
        (Method::GET, "/access-requests?state=pending".to_string(), None),
        (Method::POST, format!("/access-requests/{}/approve", w.pending), None),
        (Method::PATCH, format!("/users/{}", "usr_x"), Some(json!({"role": "org_admin"}))),
        (Method::POST, format!("/organisations/{}/suspend", w.globex), None),
    ] {
        let (status, answer) = olga.rest(method.clone(), &path, body).await;
        assert_eq!((status, answer["code"].as_str()), (403, Some("forbidden")), "{method} {path}: {answer}");
    }
    // The admin's server functions: refused before any data (403), or for their arguments (400).
    let admin_functions: [(&str, Vec<(&str, &str)>); 14] = [
        ("list_access_requests", vec![]),
        ("get_access_request", vec![("id", &w.pending)]),
        ("approve_access_request", vec![("id", &w.pending)]),
        ("reject_access_request", vec![("id", &w.pending), ("reason", "no")]),
        ("get_organisation", vec![("id", &w.globex)]),
        ("add_consumer", vec![("organisation_id", &w.acme), ("email", "x@acme.example"), ("role", "org_admin")]),
        ("set_consumer_role", vec![("user_id", "usr_x"), ("role", "org_admin")]),
        ("set_organisation_suspended", vec![("id", &w.globex), ("suspended", "true")]),
        ("audit_log", vec![]),
        ("list_products", vec![]),
        ("certificate_usage", vec![("id", "00")]),
        ("list_certificates", vec![]),
        ("certificate_list", vec![]),
        ("allow_list_choices", vec![("id", "api_x"), ("q", "globex")]),
    ];
    for (function, form) in &admin_functions {
        let (status, answer) = olga.call(function, form).await;
        assert_eq!(status, 403, "{function}: {answer}");
        assert!(!answer.contains("Globex") && !answer.contains("globex"), "{function}: {answer}");
    }
    globex_unchanged(&w).await;
    let (_, requests) = w.admin.call(Method::GET, "/access-requests?state=pending", None).await;
    assert_eq!(requests["items"].as_array().unwrap().len(), 1, "still pending: {requests}");
}

#[tokio::test]
async fn cross_site_writes_riding_the_consumer_cookie_are_refused_and_change_nothing() {
    let w = world().await;
    let bob = &w.bob;
    let cross_site = [("origin", "http://evil.example"), ("sec-fetch-site", "cross-site"), ("sec-fetch-site", "same-site"), ("origin", "null")];
    for (header, value) in cross_site {
        // REST: a token minted, a credential revoked, an app renamed.
        for (method, path, body) in [
            (Method::POST, format!("/api/v1/portal/credentials/{}/token", w.credential), None),
            (Method::DELETE, format!("/api/v1/portal/credentials/{}", w.credential), None),
            (Method::PATCH, format!("/api/v1/portal/apps/{}", w.app), Some(json!({"name": "pwned"}))),
            (Method::DELETE, format!("/api/v1/portal/access-requests/{}", w.pending), None),
        ] {
            let mut r = bob.client.request(method.clone(), w.server.url(&path)).header(header, value);
            if let Some(body) = body {
                r = r.json(&body);
            }
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), 403, "{method} {path} with {header}: {value}");
            assert!(r.headers().get("set-cookie").is_none());
        }
        // Server functions, as a cross-site HTML form would post them.
        for (function, form) in [
            ("portal_create_token", vec![("credential", w.credential.as_str())]),
            ("portal_revoke_credential", vec![("credential", w.credential.as_str()), ("confirm", "yes")]),
            ("portal_rename_app", vec![("id", w.app.as_str()), ("name", "pwned")]),
        ] {
            let r = bob.client.post(w.server.url(&format!("/fn/{function}"))).header(header, value).form(&form).send().await.unwrap();
            assert_eq!(r.status(), 403, "{function} with {header}: {value}");
            assert!(!r.text().await.unwrap().contains("token\""), "{function}");
        }
    }
    // A GET (a link or an image a third-party page can trigger) never runs a server function.
    for function in ["portal_create_token", "portal_revoke_credential", "portal_rename_app"] {
        let url = format!("{}?credential={}&id={}&name=pwned&confirm=yes", w.server.url(&format!("/fn/{function}")), w.credential, w.app);
        let r = bob.client.get(url).send().await.unwrap();
        assert!(!r.status().is_success(), "GET {function}: {}", r.status());
    }
    globex_unchanged(&w).await;
}

#[tokio::test]
async fn an_org_admin_cannot_take_over_a_pending_org_admin_by_reinviting_them() {
    let w = world().await;
    let olga = consumer(&w.server, &w.admin, &w.acme, "olga@acme.example", "org_admin").await;
    // The platform admin makes a second org admin of Acme, who waits for the admin's invite.
    let (status, created) =
        w.admin.call(Method::POST, "/users", Some(json!({"email": "pat@acme.example", "organisation": w.acme, "role": "org_admin"}))).await;
    assert_eq!(status, 201, "{created}");
    let pat = id_of(&created);
    let (status, link) = w.admin.call(Method::POST, &format!("/users/{pat}/invite"), None).await;
    assert_eq!(status, 201, "{link}");
    let admins_token = link["url"].as_str().unwrap().split_once("#token=").unwrap().1.to_string();

    // Olga lists her organisation (she may) but cannot mint a link into Pat's account: that
    // would let her set Pat's password and act as Pat, and would void the admin's link.
    let (status, members) = olga.rest(Method::GET, "/portal/members", None).await;
    assert!(status == 200 && members.to_string().contains("pat@acme.example"), "{members}");
    let (status, answer) = olga.rest(Method::POST, &format!("/portal/members/{pat}/invite"), None).await;
    assert_eq!((status, answer["code"].as_str()), (403, Some("forbidden")), "{answer}");
    assert!(answer.get("url").is_none(), "{answer}");

    // The admin's link still works, once.
    let r = client().post(w.server.url("/api/v1/invites/redeem")).json(&json!({"token": admins_token, "password": PW})).send().await.unwrap();
    assert!(r.status().is_success(), "the admin's link is intact: {}", r.status());

    // A pending member can still be re-invited by the org admin.
    let (status, invited) = olga.rest(Method::POST, "/portal/members", Some(json!({"email": "mia@acme.example"}))).await;
    assert_eq!(status, 201, "{invited}");
    let (status, again) = olga.rest(Method::POST, &format!("/portal/members/{}/invite", id_of(&invited)), None).await;
    assert!(status == 201 && again["url"].as_str().is_some_and(|u| u.contains("#token=")), "{again}");
}

#[tokio::test]
async fn answers_with_a_token_are_never_cached_whoever_asks() {
    let w = world().await;
    // The admin's REST by bearer (no session): the key's token is in the answer.
    let api = w
        .admin
        .create_api(json!({"name": "Plain API", "listen_path": "/plain", "upstream_url": "http://127.0.0.1:9/", "auth": "auth_token"}))
        .await;
    let r = client()
        .post(w.server.url("/api/v1/keys"))
        .bearer_auth(support::ADMIN_TOKEN)
        .json(&json!({"apis": [api]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"), "the key's token");
    // The consumer's token, by REST and by server function.
    let r = w.bob.client.post(w.server.url(&format!("/api/v1/portal/credentials/{}/token", w.credential))).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string())), (201, Some("no-store".into())));
    let r = w
        .bob
        .client
        .post(w.server.url("/fn/portal_rotate_token"))
        .form(&[("credential", w.credential.as_str()), ("overlap_minutes", "0"), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!((r.status().as_u16(), r.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string())), (200, Some("no-store".into())));
}

#[tokio::test]
async fn bad_input_on_consumer_routes_is_a_clear_refusal_that_stores_nothing() {
    let w = world().await;
    let bob = &w.bob;
    let (_, before) = bob.rest(Method::GET, "/portal/apps", None).await;
    // Oversized body: 413 problem+json.
    let huge = "a".repeat(200 * 1024);
    let r = bob.client.post(w.server.url("/api/v1/portal/apps")).json(&json!({"name": huge})).send().await.unwrap();
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "body_too_large", "{body}");
    // Unknown fields, wrong types, not JSON.
    for body in [json!({"name": "x", "organisation": w.acme}), json!({"name": 7}), json!({"name": "x", "owner": "usr_x"})] {
        let (status, answer) = bob.rest(Method::POST, "/portal/apps", Some(body.clone())).await;
        assert_eq!((status, answer["code"].as_str()), (400, Some("invalid_json")), "{body}: {answer}");
    }
    let r = bob.client.post(w.server.url("/api/v1/portal/apps")).header("content-type", "text/plain").body("{\"name\":\"x\"}").send().await.unwrap();
    assert_eq!(r.status(), 415);
    // Out-of-range overlap, ids that are no ids.
    let (status, answer) = bob.rest(Method::POST, &format!("/portal/credentials/{}/rotate", w.credential), Some(json!({"overlap_seconds": 86401}))).await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = bob.rest(Method::POST, &format!("/portal/credentials/{}/rotate", w.credential), Some(json!({"overlap_seconds": -1}))).await;
    assert_eq!(status, 400, "{answer}");
    for id in ["..%2F..%2Fadmin", "app_%00", &"x".repeat(5000)] {
        let (status, answer) = bob.rest(Method::GET, &format!("/portal/apps/{id}"), None).await;
        assert!(status == 404 || status == 400, "{id}: {status} {answer}");
    }
    // A tampered or foreign cursor is 400, never another page of someone's data.
    let (status, answer) = bob.rest(Method::GET, "/portal/apps?cursor=AAAA", None).await;
    assert_eq!(status, 400, "{answer}");
    let (_, after) = bob.rest(Method::GET, "/portal/apps", None).await;
    assert_eq!(before, after, "nothing was created");
    globex_unchanged(&w).await;
}

#[tokio::test]
async fn sign_in_never_sends_the_browser_to_another_site() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let acme = organisation(&admin, "Acme Corp").await;
    let (status, body) =
        admin.call(Method::POST, "/users", Some(json!({"email": "alice@acme.example", "password": PW, "organisation": acme, "role": "member"}))).await;
    assert_eq!(status, 201, "{body}");
    // Browsers drop tabs and newlines from a URL: `/\t/evil.example` is `//evil.example`.
    for next in ["/\t/evil.example", "/\u{b}/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/"] {
        let c = client();
        let r = c
            .post(server.url("/fn/sign_in"))
            .form(&[("email", "alice@acme.example"), ("password", PW), ("next", next)])
            .send()
            .await
            .unwrap();
        let location = r.headers().get("location").map(|v| String::from_utf8_lossy(v.as_bytes()).to_string());
        assert_eq!(location.as_deref(), Some("/"), "next {next:?}");
        assert!(support::set_cookie(&r, "certgate_session").is_some(), "signed in all the same");
    }
}

#[tokio::test]
async fn an_ended_subscription_takes_no_plan_change() {
    let w = world().await;
    let bob = &w.bob;
    let (status, change) = bob.rest(Method::POST, &format!("/portal/subscriptions/{}/change-plan", w.subscription), Some(json!({"plan": w.gold}))).await;
    assert_eq!((status, change["state"].as_str()), (201, Some("pending")), "{change}");
    let change = id_of(&change);
    // Revoking the credential ends the subscription: a change waiting for it cannot be approved
    // any more, and no new one is taken.
    let (status, _) = bob.rest(Method::DELETE, &format!("/portal/credentials/{}", w.credential), None).await;
    assert_eq!(status, 204);
    let (status, answer) = w.admin.call(Method::POST, &format!("/access-requests/{change}/approve"), None).await;
    assert_eq!((status, answer["code"].as_str()), (409, Some("subscription_ended")), "{answer}");
    let (status, answer) = bob.rest(Method::DELETE, &format!("/portal/access-requests/{change}"), None).await;
    assert_eq!((status, answer["state"].as_str()), (200, Some("withdrawn")), "{answer}");
    let (status, answer) = bob.rest(Method::POST, &format!("/portal/subscriptions/{}/change-plan", w.subscription), Some(json!({"plan": w.gold}))).await;
    assert_eq!((status, answer["code"].as_str()), (409, Some("subscription_ended")), "{answer}");
    let (_, subscriptions) = bob.rest(Method::GET, &format!("/portal/apps/{}/subscriptions", w.app), None).await;
    assert_eq!(subscriptions["items"][0]["plan"].as_str(), Some(w.plan.as_str()), "{subscriptions}");
}

#[tokio::test]
async fn a_member_reaches_no_colleagues_app_and_sees_no_colleagues_requests() {
    let w = world().await;
    let carol = consumer(&w.server, &w.admin, &w.globex, "carol@globex.example", "member").await;
    refused_everywhere(&w, &carol).await;
    for path in ["/portal/apps", "/portal/access-requests"] {
        let (status, list) = carol.rest(Method::GET, path, None).await;
        assert_eq!((status, list["items"].as_array().map(Vec::len)), (200, Some(0)), "{path}: {list}");
    }
    let (status, _) = carol.rest(Method::GET, "/portal/members", None).await;
    assert_eq!(status, 403, "a member manages nobody");
    globex_unchanged(&w).await;
}

#[tokio::test]
async fn a_name_with_markup_stays_text_in_the_page_and_its_hydration_data() {
    let w = world().await;
    let evil = "</script><script>alert(1)</script><img src=x onerror=alert(2)>";
    let (status, app) = w.bob.rest(Method::PATCH, &format!("/portal/apps/{}", w.app), Some(json!({"name": evil}))).await;
    assert_eq!(status, 200, "{app}");
    for path in ["/portal/apps".to_string(), format!("/portal/apps/{}", w.app), "/".to_string()] {
        let r = w.bob.client.get(w.server.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let html = r.text().await.unwrap();
        assert!(!html.contains("<script>alert(1)") && !html.contains("<img src=x"), "{path} renders the name as markup");
    }
}

#[tokio::test]
async fn a_product_hidden_from_an_organisation_or_unpublished_is_404_to_it() {
    let w = world().await;
    let api = w
        .admin
        .create_api(json!({"name": "Plain API", "listen_path": "/plain", "upstream_url": "http://127.0.0.1:9/", "auth": "auth_token"}))
        .await;
    let mut hidden = Vec::new();
    for (name, published, visible_to) in [("Acme only", true, json!([w.acme])), ("Draft", false, Value::Null)] {
        let (status, product) = w
            .admin
            .call(Method::POST, "/products", Some(json!({"name": name, "apis": [api], "plans": [w.plan], "published": published, "visible_to": visible_to})))
            .await;
        assert_eq!(status, 201, "{product}");
        hidden.push(id_of(&product));
    }
    let bob = &w.bob;
    let (_, catalogue) = bob.rest(Method::GET, "/portal/products", None).await;
    let (_, missing) = bob.rest(Method::GET, "/portal/products/prd_does_not_exist", None).await;
    for id in &hidden {
        assert!(!catalogue.to_string().contains(id.as_str()), "{catalogue}");
        let (status, answer) = bob.rest(Method::GET, &format!("/portal/products/{id}"), None).await;
        assert_eq!(status, 404, "{answer}");
        assert_eq!(answer.get("title"), missing.get("title"), "same answer as a missing id");
        let (status, answer) =
            bob.rest(Method::POST, &format!("/portal/apps/{}/access-requests", w.app), Some(json!({"product": id, "plan": w.plan}))).await;
        assert_eq!((status, answer["code"].as_str()), (404, Some("not_found")), "{answer}");
        let (status, answer) = bob.call("portal_product", &[("id", id)]).await;
        assert_eq!(status, 404, "{answer}");
    }
}
