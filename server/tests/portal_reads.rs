//! The portal's read side through the real binary: the admin's lists of apps, subscriptions,
//! credentials (both origins, never a token or a digest) and the audit log, each paged with a
//! cursor and filtered; the consumers' catalogue (only published products visible to their
//! organisation); renaming an app; and the consumer roles (a member manages the apps they
//! created, an org admin every app of the organisation; anything else is 404 like a missing id).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};
use support::gateway::Admin;
use support::{client, Server, ADMIN_TOKEN};

const PW: &str = "a consumer's long password";

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn id_of(body: &Value) -> String {
    body["id"].as_str().unwrap_or_else(|| panic!("no id in {body}")).to_string()
}

/// A signed-in consumer: their client (holding the session cookie) and user id.
struct Consumer {
    client: reqwest::Client,
    id: String,
    portal: String,
}

impl Consumer {
    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/portal{path}", self.portal)
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    async fn create_app(&self, name: &str) -> String {
        let (status, app) = self.call(Method::POST, "/apps", Some(json!({"name": name}))).await;
        assert_eq!(status, 201, "{app}");
        id_of(&app)
    }

    /// Asks for `product` with an auto-approving plan: the subscription and its credential exist
    /// when this returns.
    async fn subscribe(&self, app: &str, product: &str, plan: &str) {
        let (status, request) = self.call(Method::POST, &format!("/apps/{app}/access-requests"), Some(json!({"product": product, "plan": plan}))).await;
        assert_eq!((status, request["state"].as_str()), (201, Some("approved")), "{request}");
    }

    /// The ids of an app's credentials.
    async fn credentials(&self, app: &str) -> Vec<String> {
        let (status, page) = self.call(Method::GET, &format!("/apps/{app}/credentials"), None).await;
        assert_eq!(status, 200, "{page}");
        page["items"].as_array().unwrap().iter().map(id_of).collect()
    }
}

async fn organisation(admin: &Admin, name: &str) -> String {
    let (status, body) = admin.call(Method::POST, "/organisations", Some(json!({"name": name}))).await;
    assert_eq!(status, 201, "{body}");
    id_of(&body)
}

/// A consumer of `org` with `role`, made by the admin and signed in over REST.
async fn consumer(server: &Server, admin: &Admin, org: &str, email: &str, role: &str) -> Consumer {
    let (status, body) = admin.call(Method::POST, "/users", Some(json!({"email": email, "password": PW, "organisation": org, "role": role}))).await;
    assert_eq!(status, 201, "{body}");
    let c = client();
    let r = c.post(server.url("/api/v1/session")).json(&json!({"email": email, "password": PW})).send().await.unwrap();
    assert_eq!(r.status(), 204, "{email} signs in");
    Consumer { client: c, id: id_of(&body), portal: server.portal.clone() }
}

/// An Auth Token API (mTLS optional), an auto-approving plan with limits, and a published product
/// of them visible to every organisation: (api, plan, product).
async fn open_product(admin: &Admin, path: &str, mtls: bool) -> (String, String, String) {
    let api = admin
        .create_api(json!({"name": format!("api {path}"), "listen_path": path, "upstream_url": "http://127.0.0.1:9/", "auth": "auth_token",
            "mtls": {"required": mtls}}))
        .await;
    let plan = json!({"name": format!("Free {path}"), "rate": {"requests": 10, "per_seconds": 60}, "quota": {"max": 1000, "period": "month"},
        "auto_approve": true, "token_lifetime_seconds": 3600});
    let (status, plan) = admin.call(Method::POST, "/plans", Some(plan)).await;
    assert_eq!(status, 201, "{plan}");
    let plan = id_of(&plan);
    let (status, product) =
        admin.call(Method::POST, "/products", Some(json!({"name": format!("Product {path}"), "apis": [api], "plans": [plan], "published": true}))).await;
    assert_eq!(status, 201, "{product}");
    (api, plan, id_of(&product))
}

/// Every item of an admin list, walking `next_cursor` with `limit`; also returns the page count.
async fn walk(admin: &Admin, path: &str, limit: u32) -> (Vec<Value>, usize) {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}{separator}limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = admin.call(Method::GET, &url, None).await;
        assert_eq!(status, 200, "{url}: {page}");
        let got = page["items"].as_array().unwrap();
        assert!(got.len() <= limit as usize, "{url}");
        items.extend(got.iter().cloned());
        pages += 1;
        assert!(pages < 50, "the pages of {path} do not end");
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return (items, pages),
        }
    }
}

fn ids(items: &[Value]) -> BTreeSet<String> {
    items.iter().map(id_of).collect()
}

fn field<'a>(items: &'a [Value], name: &str) -> BTreeSet<&'a str> {
    items.iter().map(|i| i[name].as_str().unwrap_or("<none>")).collect()
}

#[tokio::test]
async fn admin_lists_of_apps_subscriptions_and_credentials_page_filter_and_never_show_a_token() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let (acme, globex) = (organisation(&admin, "Acme").await, organisation(&admin, "Globex").await);
    let alice = consumer(&server, &admin, &acme, "alice@acme.example", "member").await;
    let bob = consumer(&server, &admin, &globex, "bob@globex.example", "member").await;
    let (api, plan, product) = open_product(&admin, "/orders", false).await;

    let mut acme_apps = Vec::new();
    for name in ["Checkout", "billing", "Archive"] {
        let app = alice.create_app(name).await;
        alice.subscribe(&app, &product, &plan).await;
        acme_apps.push(app);
    }
    let mut globex_apps = Vec::new();
    for name in ["Dispatch", "echo"] {
        let app = bob.create_app(name).await;
        bob.subscribe(&app, &product, &plan).await;
        globex_apps.push(app);
    }
    // One credential of each origin gets a token.
    let (key, admin_token) = admin.create_key(json!({"apis": [api]})).await;
    let minted = alice.credentials(&acme_apps[0]).await.pop().unwrap();
    let (status, body) = alice.call(Method::POST, &format!("/credentials/{minted}/token"), None).await;
    assert_eq!(status, 201, "{body}");
    let portal_token = body["token"].as_str().unwrap().to_string();

    // Apps: by id (the store's order) over three pages of two, each once; one organisation's on request.
    let (apps, pages) = walk(&admin, "/apps", 2).await;
    assert_eq!(pages, 3);
    let app_ids: Vec<&str> = apps.iter().map(|a| a["id"].as_str().unwrap()).collect();
    let mut sorted = app_ids.clone();
    sorted.sort();
    assert_eq!(app_ids, sorted);
    let mut names: Vec<&str> = apps.iter().map(|a| a["name"].as_str().unwrap()).collect();
    names.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, ["Archive", "billing", "Checkout", "Dispatch", "echo"]);
    let checkout = apps.iter().find(|a| a["name"] == "Checkout").unwrap();
    assert_eq!((checkout["owner"].as_str(), checkout["organisation"].as_str(), checkout["products"].as_u64()), (Some(alice.id.as_str()), Some(acme.as_str()), Some(1)));
    let (only_globex, _) = walk(&admin, &format!("/apps?organisation={globex}"), 1).await;
    assert_eq!(ids(&only_globex), globex_apps.iter().cloned().collect());
    let (none, _) = walk(&admin, "/apps?organisation=org_missing", 10).await;
    assert!(none.is_empty());

    // Subscriptions: in a stable order (by id), every filter narrows.
    let (subscriptions, pages) = walk(&admin, "/subscriptions", 2).await;
    assert_eq!((subscriptions.len(), pages), (5, 3));
    assert_eq!(ids(&subscriptions).len(), 5, "each once");
    let order: Vec<&str> = subscriptions.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "by id: {order:?}");
    assert!(subscriptions.iter().all(|s| s["product"] == product.as_str() && s["plan"] == plan.as_str() && s["credential"].is_string()));
    let (of_acme, _) = walk(&admin, &format!("/subscriptions?organisation={acme}"), 2).await;
    assert_eq!(field(&of_acme, "app"), acme_apps.iter().map(String::as_str).collect());
    let (of_app, _) = walk(&admin, &format!("/subscriptions?app={}&product={product}", globex_apps[1]), 5).await;
    assert_eq!((of_app.len(), of_app[0]["organisation"].as_str()), (1, Some(globex.as_str())));
    let (other_product, _) = walk(&admin, "/subscriptions?product=prd_missing", 5).await;
    assert!(other_product.is_empty(), "a filter that excludes must exclude");

    // Credentials: both origins (the admin's first), each with its state; never a token or a digest.
    let (credentials, pages) = walk(&admin, "/credentials", 4).await;
    assert_eq!((credentials.len(), pages), (6, 2));
    assert_eq!(ids(&credentials).len(), 6, "each once");
    assert_eq!(credentials[0]["id"], key.as_str(), "the admin's key comes first");
    let (by_one, pages) = walk(&admin, "/credentials", 1).await;
    assert_eq!((by_one, pages), (credentials.clone(), 6), "pages of one cross from the admin's keys into the portal's");
    let text = serde_json::to_string(&credentials).unwrap();
    for secret in [&admin_token, &portal_token] {
        assert!(!text.contains(secret.as_str()), "a token in the list");
        assert!(!text.contains(&certgate_core::gateway::token_hash(secret)), "a digest in the list");
    }
    assert!(!text.contains("sha256") && !text.contains("\"token"), "{text}");
    let by_id = |id: &str| credentials.iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("{id} not listed")).clone();
    let admin_key = by_id(&key);
    assert_eq!((admin_key["origin"].as_str(), admin_key["status"].as_str(), admin_key["organisation"].is_null()), (Some("admin"), Some("active"), true));
    assert_eq!(admin_key["apis"], json!([api]));
    let mine = by_id(&minted);
    assert_eq!((mine["origin"].as_str(), mine["status"].as_str()), (Some("portal"), Some("active")));
    assert_eq!((mine["app"].as_str(), mine["organisation"].as_str(), mine["product"].as_str()), (Some(acme_apps[0].as_str()), Some(acme.as_str()), Some(product.as_str())));
    assert_eq!(mine["label"], "Checkout / Product /orders");
    assert!(mine["subscription"].is_string());
    let waiting: Vec<&Value> = credentials.iter().filter(|c| c["status"] == "no_token").collect();
    assert_eq!(waiting.len(), 4, "approved, no token made yet");
    let (admins, _) = walk(&admin, "/credentials?origin=admin", 10).await;
    assert_eq!(ids(&admins), BTreeSet::from([key.clone()]));
    let (globex_credentials, _) = walk(&admin, &format!("/credentials?origin=portal&organisation={globex}"), 10).await;
    assert_eq!(globex_credentials.len(), 2);
    assert!(globex_credentials.iter().all(|c| c["organisation"] == globex.as_str()));
    let (status, body) = admin.call(Method::GET, "/credentials?origin=other", None).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_query")), "{body}");

    // Revocation shows; the key list still holds only the admin's key (a portal id is 404 there).
    let (status, _) = admin.call(Method::DELETE, &format!("/credentials/{minted}"), None).await;
    assert_eq!(status, 204);
    let (credentials, _) = walk(&admin, "/credentials", 200).await;
    assert_eq!(credentials.iter().find(|c| c["id"] == minted.as_str()).unwrap()["status"], "revoked");
    let (status, _) = admin.call(Method::GET, &format!("/keys/{minted}"), None).await;
    assert_eq!(status, 404);

    // A cursor of one list is refused by another; a consumer is not an admin.
    let (status, page) = admin.call(Method::GET, "/apps?limit=1", None).await;
    assert_eq!(status, 200);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (status, body) = admin.call(Method::GET, &format!("/subscriptions?limit=1&cursor={cursor}"), None).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_cursor")));
    for list in ["/apps", "/subscriptions", "/credentials", "/audit"] {
        let (status, _) = send(alice.client.get(server.url(&format!("/api/v1{list}")))).await;
        assert_eq!(status, 403, "{list} for a consumer");
        let (status, _) = send(client().get(server.url(&format!("/api/v1{list}")))).await;
        assert_eq!(status, 401, "{list} anonymously");
    }
}

#[tokio::test]
async fn the_audit_log_is_newest_first_and_each_filter_excludes_what_it_does_not_match() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let (acme, globex) = (organisation(&admin, "Acme").await, organisation(&admin, "Globex").await);
    let alice = consumer(&server, &admin, &acme, "alice@acme.example", "member").await;
    let bob = consumer(&server, &admin, &globex, "bob@globex.example", "member").await;
    let (_, plan, product) = open_product(&admin, "/orders", false).await;
    let alice_app = alice.create_app("Alice's").await;
    let (status, _) = alice.call(Method::PATCH, &format!("/apps/{alice_app}"), Some(json!({"name": "Alice's, renamed"}))).await;
    assert_eq!(status, 200);
    alice.subscribe(&alice_app, &product, &plan).await;
    let credential = alice.credentials(&alice_app).await.pop().unwrap();
    let (status, _) = alice.call(Method::POST, &format!("/credentials/{credential}/token"), None).await;
    assert_eq!(status, 201);
    let bob_app = bob.create_app("Bob's").await;

    let (all, _) = walk(&admin, "/audit", 200).await;
    let seqs: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first: {seqs:?}");
    assert_eq!(all[0]["action"], "app.created");
    assert_eq!(all[0]["subject"], bob_app.as_str());

    // Organisation: Alice's app, request, approval and token, none of Bob's.
    let (of_acme, pages) = walk(&admin, &format!("/audit?organisation={acme}"), 2).await;
    assert!(pages > 1, "paged");
    assert!(of_acme.iter().all(|e| e["organisation"] == acme.as_str()), "{of_acme:?}");
    let actions: Vec<&str> = of_acme.iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in ["app.created", "app.renamed", "access_request.created", "access_request.approved", "credential.token_created", "user.created"] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    assert!(!of_acme.iter().any(|e| e["subject"] == bob_app.as_str()));
    let (of_globex, _) = walk(&admin, &format!("/audit?organisation={globex}"), 50).await;
    assert!(of_globex.iter().any(|e| e["subject"] == bob_app.as_str()));
    assert!(!of_globex.iter().any(|e| e["subject"] == alice_app.as_str() || e["subject"] == credential.as_str()));

    // Actor: only what Alice did.
    let (by_alice, _) = walk(&admin, &format!("/audit?actor={}", alice.id), 50).await;
    assert_eq!(field(&by_alice, "actor"), BTreeSet::from([alice.id.as_str()]));
    assert!(by_alice.iter().any(|e| e["action"] == "credential.token_created"));
    assert!(!by_alice.iter().any(|e| e["action"] == "plan.created"), "the admin's changes are not Alice's");

    // Kind: a whole kind of object, or one action; combined filters all hold.
    let (apps, _) = walk(&admin, "/audit?kind=app", 50).await;
    assert_eq!(field(&apps, "action"), BTreeSet::from(["app.created", "app.renamed"]));
    assert_eq!(apps.len(), 3);
    let (renamed, _) = walk(&admin, "/audit?kind=app.renamed", 50).await;
    assert_eq!(renamed.len(), 1);
    let (bob_apps, _) = walk(&admin, &format!("/audit?kind=app&organisation={globex}&actor={}", bob.id), 50).await;
    assert_eq!(ids_of_subjects(&bob_apps), vec![bob_app.clone()]);
    for excluding in ["kind=ap", "kind=nothing", "actor=usr_nobody", "organisation=org_nobody"] {
        let (none, _) = walk(&admin, &format!("/audit?{excluding}"), 50).await;
        assert!(none.is_empty(), "{excluding}: {none:?}");
    }
    let (status, body) = admin.call(Method::GET, "/audit?kind=app&colour=blue", None).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_query")));

    // A cursor is bound to its caller: the admin token's, replayed by an admin's session, is refused.
    let (_, page) = admin.call(Method::GET, "/audit?limit=1", None).await;
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let session = client();
    support::sign_in(&session, &server, support::ADMIN_EMAIL, support::ADMIN_PASSWORD).await;
    let (status, body) = send(session.get(server.url(&format!("/api/v1/audit?limit=1&cursor={cursor}")))).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_cursor")), "{body}");
    let (status, body) = send(session.get(server.url("/api/v1/audit?limit=1"))).await;
    assert_eq!((status, body["items"].as_array().map(Vec::len)), (200, Some(1)));
}

fn ids_of_subjects(entries: &[Value]) -> Vec<String> {
    entries.iter().map(|e| e["subject"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_catalogue_shows_published_products_visible_to_the_organisation_and_404s_the_rest() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let (acme, globex) = (organisation(&admin, "Acme").await, organisation(&admin, "Globex").await);
    let alice = consumer(&server, &admin, &acme, "alice@acme.example", "member").await;
    let bob = consumer(&server, &admin, &globex, "bob@globex.example", "member").await;
    let (api, plan, _) = open_product(&admin, "/shop", true).await;
    let product = |name: &str, published: bool, visible_to: Value| {
        json!({"name": name, "description": format!("{name}, described"), "apis": [api], "plans": [plan], "published": published,
               "visible_to": visible_to, "certificate_mode": "self_serve", "certificate_binding": true})
    };
    let mut made = Vec::new();
    for body in [product("Everyone's", true, Value::Null), product("Globex only", true, json!([globex])), product("Draft", false, Value::Null)] {
        let (status, body) = admin.call(Method::POST, "/products", Some(body)).await;
        assert_eq!(status, 201, "{body}");
        made.push(id_of(&body));
    }
    let (everyone, globex_only, draft) = (&made[0], &made[1], &made[2]);

    let (status, page) = alice.call(Method::GET, "/products", None).await;
    assert_eq!(status, 200, "{page}");
    let names: Vec<&str> = page["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Everyone's", "Product /shop"], "Globex's and the draft are absent");
    let shown = page["items"].as_array().unwrap().iter().find(|p| p["id"] == everyone.as_str()).unwrap();
    assert_eq!((shown["certificate_mode"].as_str(), shown["certificate_binding"].as_bool()), (Some("self_serve"), Some(true)));
    assert_eq!(shown["description"], "Everyone's, described");
    assert_eq!(shown["apis"], json!([{"id": api, "name": "api /shop", "listen_path": "/shop", "auth": "auth_token", "mtls_required": true}]));
    let plan_shown = &shown["plans"][0];
    assert_eq!(plan_shown["id"], plan.as_str());
    assert_eq!(plan_shown["rate"], json!({"requests": 10, "per_seconds": 60}));
    assert_eq!(plan_shown["quota"]["max"], 1000);
    assert_eq!((plan_shown["auto_approve"].as_bool(), plan_shown["token_lifetime_seconds"].as_u64()), (Some(true), Some(3600)));
    assert!(!page.to_string().contains("upstream"), "the provider's side stays hidden: {page}");

    // One product: visible ones answer, invisible and unpublished ones are 404 like a missing id.
    let (status, one) = alice.call(Method::GET, &format!("/products/{everyone}"), None).await;
    assert_eq!((status, one["name"].as_str()), (200, Some("Everyone's")));
    let (status, missing) = alice.call(Method::GET, "/products/prd_missing", None).await;
    assert_eq!(status, 404);
    for hidden in [globex_only, draft] {
        let (status, body) = alice.call(Method::GET, &format!("/products/{hidden}"), None).await;
        assert_eq!((status, &body), (404, &missing), "{hidden}");
    }
    let (status, body) = bob.call(Method::GET, &format!("/products/{draft}"), None).await;
    assert_eq!((status, &body), (404, &missing));
    let (status, body) = bob.call(Method::GET, &format!("/products/{globex_only}"), None).await;
    assert_eq!((status, body["name"].as_str()), (200, Some("Globex only")));
    // Nor can a hidden product be asked for.
    let app = alice.create_app("Shop").await;
    let (status, body) = alice.call(Method::POST, &format!("/apps/{app}/access-requests"), Some(json!({"product": globex_only, "plan": plan}))).await;
    assert_eq!(status, 404, "{body}");

    // Bob's catalogue pages by one; its cursor is his alone.
    let mut seen = Vec::new();
    let mut path = "/products?limit=1".to_string();
    let mut cursors = Vec::new();
    loop {
        let (status, page) = bob.call(Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(page["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => {
                cursors.push(c.to_string());
                path = format!("/products?limit=1&cursor={c}");
            }
            None => break,
        }
        assert!(seen.len() < 10);
    }
    assert_eq!(seen, ["Everyone's", "Globex only", "Product /shop"]);
    let (status, body) = alice.call(Method::GET, &format!("/products?limit=1&cursor={}", cursors[0]), None).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_cursor")));

    // A bearer token never authenticates here, the admin's included.
    let (status, _) = send(client().get(server.url("/api/v1/portal/products")).bearer_auth(ADMIN_TOKEN)).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_member_manages_their_own_apps_an_org_admin_every_app_and_other_organisations_get_404() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let (acme, globex) = (organisation(&admin, "Acme").await, organisation(&admin, "Globex").await);
    let alice = consumer(&server, &admin, &acme, "alice@acme.example", "member").await;
    let carol = consumer(&server, &admin, &acme, "carol@acme.example", "member").await;
    let olga = consumer(&server, &admin, &acme, "olga@acme.example", "org_admin").await;
    let bob = consumer(&server, &admin, &globex, "bob@globex.example", "org_admin").await;
    let (_, plan, product) = open_product(&admin, "/orders", false).await;
    let mine = alice.create_app("Alice's app").await;
    let theirs = carol.create_app("Carol's app").await;
    carol.subscribe(&theirs, &product, &plan).await;

    // Rename: validated like a new app; the owner renames.
    let (status, renamed) = alice.call(Method::PATCH, &format!("/apps/{mine}"), Some(json!({"name": "  Alice's shop "}))).await;
    assert_eq!((status, renamed["name"].as_str(), renamed["owner"].as_str()), (200, Some("Alice's shop"), Some(alice.id.as_str())));
    for bad in [json!({"name": ""}), json!({"name": "x".repeat(101)}), json!({"name": "a\u{0}b"})] {
        let (status, body) = alice.call(Method::PATCH, &format!("/apps/{mine}"), Some(bad.clone())).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("invalid_name")), "{bad}");
    }
    let (status, _) = alice.call(Method::PATCH, &format!("/apps/{mine}"), Some(json!({"name": "x", "owner": "usr_x"}))).await;
    assert_eq!(status, 400, "unknown fields are refused");
    let (_, still) = alice.call(Method::GET, &format!("/apps/{mine}"), None).await;
    assert_eq!(still["name"], "Alice's shop", "refusals change nothing");

    // Another organisation's app and a missing id answer alike, for every verb.
    let (status, missing) = bob.call(Method::GET, "/apps/app_missing", None).await;
    assert_eq!(status, 404);
    let rename = Some(json!({"name": "Taken over"}));
    for (who, app) in [(&bob, &mine), (&alice, &theirs)] {
        assert_eq!(who.call(Method::GET, &format!("/apps/{app}"), None).await, (404, missing.clone()), "GET {app}");
        assert_eq!(who.call(Method::PATCH, &format!("/apps/{app}"), rename.clone()).await, (404, missing.clone()), "PATCH {app}");
        assert_eq!(who.call(Method::GET, &format!("/apps/{app}/credentials"), None).await, (404, missing.clone()), "credentials of {app}");
        assert_eq!(who.call(Method::DELETE, &format!("/apps/{app}"), None).await, (404, missing.clone()), "DELETE {app}");
        let ask = Some(json!({"product": product, "plan": plan}));
        let (status, _) = who.call(Method::POST, &format!("/apps/{app}/access-requests"), ask).await;
        assert_eq!(status, 404, "a request for {app}");
    }
    let (status, body) = bob.call(Method::PATCH, "/apps/app_missing", rename.clone()).await;
    assert_eq!((status, &body), (404, &missing));

    // A member lists their own apps; the org admin every app of the organisation.
    let names = |page: &Value| page["items"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(names(&alice.call(Method::GET, "/apps", None).await.1), ["Alice's shop"]);
    assert_eq!(names(&carol.call(Method::GET, "/apps", None).await.1), ["Carol's app"]);
    assert_eq!(names(&olga.call(Method::GET, "/apps", None).await.1), ["Alice's shop", "Carol's app"]);
    assert!(names(&bob.call(Method::GET, "/apps", None).await.1).is_empty());

    // The colleague's credential: 404 for the member, managed by the org admin.
    let credential = olga.credentials(&theirs).await.pop().unwrap();
    for (method, path) in [(Method::POST, format!("/credentials/{credential}/token")), (Method::DELETE, format!("/credentials/{credential}"))] {
        let (status, _) = alice.call(method.clone(), &path, None).await;
        assert_eq!(status, 404, "{method} {path} by a member");
        let (status, _) = bob.call(method, &path, None).await;
        assert_eq!(status, 404, "{path} by another organisation's org admin");
    }
    let (status, minted) = olga.call(Method::POST, &format!("/credentials/{credential}/token"), None).await;
    assert_eq!(status, 201, "{minted}");
    let (status, renamed) = olga.call(Method::PATCH, &format!("/apps/{theirs}"), Some(json!({"name": "Team app"}))).await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Team app")));
    let (status, seen) = carol.call(Method::GET, &format!("/apps/{theirs}"), None).await;
    assert_eq!((status, seen["name"].as_str()), (200, Some("Team app")));

    // The admin sees the rename under the app's organisation, by the org admin.
    let (renames, _) = walk(&admin, &format!("/audit?kind=app.renamed&organisation={acme}&actor={}", olga.id), 10).await;
    assert_eq!(ids_of_subjects(&renames), vec![theirs.clone()]);
    // And an org admin deletes a member's app.
    let (status, _) = olga.call(Method::DELETE, &format!("/apps/{mine}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = alice.call(Method::GET, &format!("/apps/{mine}"), None).await;
    assert_eq!(status, 404);
}
