//! The developer portal's screens through the real binary: each consumer page is rendered whole
//! on the server with the consumer's data (readable without wasm), and its server functions act
//! as the session's organisation only. Another organisation's app is the not-found page (404)
//! and a 404 from every function; a token is in the create answer once and on no later page;
//! a pasted private key is refused, stores nothing and is never echoed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use certgate_testpki::{LeafSpec, TestPki};
use reqwest::Method;
use serde_json::{json, Value};
use support::gateway::{connect, echo_upstream, Admin};
use support::{client, sign_in, Server};

const PW: &str = "a consumer's long password";

fn id_of(body: &Value) -> String {
    body["id"].as_str().unwrap_or_else(|| panic!("no id in {body}")).to_string()
}

/// A signed-in consumer (the session cookie is in its client).
struct Consumer {
    client: reqwest::Client,
    portal: String,
}

impl Consumer {
    /// A page as the browser gets it: status and HTML (character references of quotes and
    /// ampersands read back, so assertions can use plain text).
    async fn page(&self, path: &str) -> (u16, String) {
        let r = self.client.get(format!("{}{path}", self.portal)).send().await.unwrap();
        let status = r.status().as_u16();
        let html = r.text().await.unwrap();
        (status, html.replace("&#x27;", "'").replace("&#39;", "'").replace("&quot;", "\"").replace("&amp;", "&"))
    }

    /// A server function called like a hydrated form does: url-encoded arguments, JSON answer.
    async fn call(&self, function: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let r = self.client.post(format!("{}/fn/{function}", self.portal)).form(form).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn create_app(&self, name: &str) -> String {
        let (status, app) = self.call("portal_create_app", &[("name", name)]).await;
        assert_eq!(status, 200, "{app}");
        id_of(&app)
    }
}

async fn organisation(admin: &Admin, name: &str) -> String {
    let (status, body) = admin.call(Method::POST, "/organisations", Some(json!({"name": name}))).await;
    assert_eq!(status, 201, "{body}");
    id_of(&body)
}

/// A member of `org`, made by the admin and signed in with the portal's sign-in form.
async fn consumer(server: &Server, admin: &Admin, org: &str, email: &str) -> Consumer {
    consumer_as(server, admin, org, email, "member").await
}

async fn consumer_as(server: &Server, admin: &Admin, org: &str, email: &str, role: &str) -> Consumer {
    let (status, body) = admin.call(Method::POST, "/users", Some(json!({"email": email, "password": PW, "organisation": org, "role": role}))).await;
    assert_eq!(status, 201, "{body}");
    let c = client();
    let r = sign_in(&c, server, email, PW).await;
    assert!(support::set_cookie(&r, "certgate_session").is_some(), "{email} signs in: {}", r.status());
    Consumer { client: c, portal: server.portal.clone() }
}

/// Uploads `cert` and links it to `org`; returns its id.
async fn link(admin: &Admin, cert: &certgate_testpki::Issued, name: &str, org: &str) -> String {
    let id = admin.upload(cert).await;
    let (status, body) = admin.call(Method::PATCH, &format!("/certificates/{id}"), Some(json!({"name": name, "organisations": [org]}))).await;
    assert_eq!(status, 200, "{body}");
    id
}

struct Catalogue {
    managed: String,
    self_serve: String,
    gold: String,
    free: String,
}

/// Two Auth Token + mTLS APIs over `upstream`, a plan approved by the admin and one approved
/// at once, a Managed product with binding ("Shop") and a Self-Serve one ("Payments").
async fn catalogue(admin: &Admin, upstream: &str) -> Catalogue {
    let api = |name: &str, path: &str| {
        json!({"name": name, "listen_path": path, "upstream_url": format!("http://{upstream}/"), "auth": "auth_token", "mtls": {"required": true}})
    };
    let shop = admin.create_api(api("Shop API", "/shop")).await;
    let pay = admin.create_api(api("Payments API", "/pay")).await;
    let (status, gold) = admin
        .call(Method::POST, "/plans", Some(json!({"name": "Gold", "rate": {"requests": 100, "per_seconds": 60},
            "quota": {"max": 10000, "period": "month"}, "auto_approve": false, "token_lifetime_seconds": 2592000})))
        .await;
    assert_eq!(status, 201, "{gold}");
    let (status, free) = admin.call(Method::POST, "/plans", Some(json!({"name": "Free", "rate": {"requests": 5, "per_seconds": 1},
        "quota": {"max": 1000, "period": "day"}, "auto_approve": true}))).await;
    assert_eq!(status, 201, "{free}");
    let (gold, free) = (id_of(&gold), id_of(&free));
    let (status, managed) = admin
        .call(Method::POST, "/products", Some(json!({"name": "Shop", "description": "Orders and carts.", "apis": [shop], "plans": [gold, free],
            "published": true, "certificate_mode": "managed", "certificate_binding": true})))
        .await;
    assert_eq!(status, 201, "{managed}");
    let (status, self_serve) = admin
        .call(Method::POST, "/products", Some(json!({"name": "Payments", "apis": [pay], "plans": [gold, free], "published": true,
            "certificate_mode": "self_serve", "certificate_binding": true})))
        .await;
    assert_eq!(status, 201, "{self_serve}");
    Catalogue { managed: id_of(&managed), self_serve: id_of(&self_serve), gold, free }
}

/// The app's credential ids, from the app's page data.
async fn credentials_of(consumer: &Consumer, app: &str) -> Vec<String> {
    let (status, detail) = consumer.call("portal_app", &[("id", app)]).await;
    assert_eq!(status, 200, "{detail}");
    detail["subscriptions"].as_array().unwrap().iter().filter_map(|s| s["credential"]["id"].as_str().map(str::to_string)).collect()
}

#[tokio::test]
async fn each_consumer_page_renders_its_data_on_the_server() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let acme = organisation(&admin, "Acme Corp").await;
    let pki = TestPki::new();
    link(&admin, &pki.leaf(&LeafSpec::client("acme-laptop")), "Acme laptop", &acme).await;
    link(&admin, &pki.leaf(&LeafSpec::client("acme-old").expiring_in_days(10)), "Acme old client", &acme).await;
    let products = catalogue(&admin, "127.0.0.1:9").await;
    let alice = consumer(&server, &admin, &acme, "alice@acme.example").await;

    // Catalogue: both products, the certificate modes in plain words; a product's page with
    // its gateway address, its plans' limits and how to authenticate.
    let (status, html) = alice.page("/portal/products").await;
    assert_eq!(status, 200);
    for text in ["Shop", "Payments", "your organisation's certificates are used", "you upload a certificate with your request"] {
        assert!(html.contains(text), "catalogue lacks {text}: {html}");
    }
    let (status, html) = alice.page(&format!("/portal/products/{}", products.managed)).await;
    assert_eq!(status, 200);
    let gateway_url = format!("{}/shop", server.gateway);
    for text in [gateway_url.as_str(), "100 requests per minute", "10000 requests per month", "Tokens last 30 day(s)", "Binding is on", "Authorization: Bearer"] {
        assert!(html.contains(text), "product page lacks {text}");
    }
    assert!(html.contains("Create an app first"), "no app yet: the product's request form says so");
    let (status, _) = alice.page("/portal/products/prd_does_not_exist").await;
    assert_eq!(status, 404);

    // Apps: one made through the form's function; the list and the app's page show it, with a
    // request form per product: Managed lists the organisation's certificates, Self-Serve asks
    // for one.
    let app = alice.create_app("Checkout").await;
    let (status, html) = alice.page("/portal/apps").await;
    assert!(status == 200 && html.contains("Checkout") && html.contains(&format!("/portal/apps/{app}")));
    let (status, html) = alice.page(&format!("/portal/apps/{app}")).await;
    assert_eq!(status, 200);
    for text in ["Checkout", "Request access to Shop", "Request access to Payments", "Acme laptop", "Your client certificate (PEM)", "Gold: 100 requests per minute"] {
        assert!(html.contains(text), "app page lacks {text}");
    }
    // The product's page offers the same request, for a chosen app.
    let (_, html) = alice.page(&format!("/portal/products/{}", products.self_serve)).await;
    assert!(html.contains("Request access to Payments") && html.contains(&format!("<option value=\"{app}\">Checkout")), "{html}");

    // A request the admin rejects, and one pending: the home page shows both, with the reason.
    let (status, request) = alice.call("portal_request_access", &[("app", &app), ("product", &products.managed), ("plan", &products.gold)]).await;
    assert_eq!((status, request["state"].as_str()), (200, Some("pending")), "{request}");
    let (status, rejected) = admin.call(Method::POST, &format!("/access-requests/{}/reject", id_of(&request)), Some(json!({"reason": "Tell us your use case first"}))).await;
    assert_eq!(status, 200, "{rejected}");
    let second = alice.create_app("Reporting").await;
    let (status, pending) = alice.call("portal_request_access", &[("app", &second), ("product", &products.managed), ("plan", &products.gold)]).await;
    assert_eq!(status, 200, "{pending}");
    let (status, html) = alice.page("/").await;
    assert_eq!(status, 200);
    for text in ["Acme Corp", "Checkout", "Reporting", "Rejected", "Tell us your use case first", "Pending", "Shop with plan Gold", "Acme old client"] {
        assert!(html.contains(text), "home lacks {text}");
    }
    let expiring = &html[html.find("Certificates expiring within 30 days").unwrap()..html.find("Your organisation's certificates").unwrap()];
    assert!(expiring.contains("Acme old client") && !expiring.contains("Acme laptop"), "a certificate valid for a year is not expiring");
    assert!(html[html.find("Your organisation's certificates").unwrap()..].contains("Acme laptop"), "every linked certificate is listed");

    // Approved (a plan that approves at once): the app's page shows the credential, its
    // gateway address, the organisation's certificates it works with and the plan's limits.
    let (status, approved) = alice.call("portal_request_access", &[("app", &app), ("product", &products.managed), ("plan", &products.free)]).await;
    assert_eq!((status, approved["state"].as_str()), (200, Some("approved")), "{approved}");
    let (status, html) = alice.page(&format!("/portal/apps/{app}")).await;
    assert_eq!(status, 200);
    for text in [gateway_url.as_str(), "Approved: create the token", "5 requests per second", "Acme laptop", "Create token for Shop", "Revoke credential for Shop", "Ask to change plan for Shop",
        "0 of 1000 requests used today"] {
        assert!(html.contains(text), "app page after approval lacks {text}");
    }
    assert!(!html.contains("Request access to Shop"), "a product the app holds is not offered again");

    // Asking to change plan files a request the page shows as pending; withdrawing ends it.
    let subscription = {
        let (_, detail) = alice.call("portal_app", &[("id", &app)]).await;
        detail["subscriptions"][0]["id"].as_str().unwrap().to_string()
    };
    let (status, body) = alice.call("portal_change_plan", &[("subscription", &subscription), ("plan", &products.gold)]).await;
    assert_eq!(status, 200, "{body}");
    let (_, html) = alice.page(&format!("/portal/apps/{app}")).await;
    assert!(html.contains("Change Shop to plan Gold"), "the pending plan change is shown");
    let (_, detail) = alice.call("portal_app", &[("id", &app)]).await;
    let change = detail["subscriptions"][0]["pending"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = alice.call("portal_withdraw_request", &[("id", &change)]).await;
    assert_eq!(status, 200);
    let (_, html) = alice.page(&format!("/portal/apps/{app}")).await;
    assert!(!html.contains("Change Shop to plan Gold"));

    // Rename, then delete with confirmation only.
    let (status, _) = alice.call("portal_rename_app", &[("id", &second), ("name", "Reports v2")]).await;
    assert_eq!(status, 200);
    let (status, refused) = alice.call("portal_delete_app", &[("id", &second)]).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("confirmation_required")), "{refused}");
    let (_, html) = alice.page("/portal/apps").await;
    assert!(html.contains("Reports v2"));
    let (status, _) = alice.call("portal_delete_app", &[("id", &second), ("confirm", "yes")]).await;
    assert_eq!(status, 200);
    let (_, html) = alice.page("/portal/apps").await;
    assert!(!html.contains("Reports v2"));

    // The navigation names the consumer's three areas.
    for link in ["href=\"/portal/products\"", "href=\"/portal/apps\""] {
        assert!(html.contains(link), "navigation lacks {link}");
    }
}

#[tokio::test]
async fn another_organisations_app_is_not_found_through_pages_and_functions() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let (acme, globex) = (organisation(&admin, "Acme Corp").await, organisation(&admin, "Globex").await);
    let products = catalogue(&admin, "127.0.0.1:9").await;
    let pki = TestPki::new();
    link(&admin, &pki.leaf(&LeafSpec::client("globex-client")), "Globex client", &globex).await;
    let alice = consumer(&server, &admin, &acme, "alice@acme.example").await;
    let bob = consumer(&server, &admin, &globex, "bob@globex.example").await;
    let secret_app = bob.create_app("Globex secret project").await;
    let (status, approved) = bob.call("portal_request_access", &[("app", &secret_app), ("product", &products.managed), ("plan", &products.free)]).await;
    assert_eq!(status, 200, "{approved}");
    let credential = credentials_of(&bob, &secret_app).await.pop().unwrap();
    let subscription = {
        let (_, detail) = bob.call("portal_app", &[("id", &secret_app)]).await;
        detail["subscriptions"][0]["id"].as_str().unwrap().to_string()
    };
    let waiting = bob.create_app("Globex waiting app").await;
    let (status, pending) = bob.call("portal_request_access", &[("app", &waiting), ("product", &products.managed), ("plan", &products.gold)]).await;
    assert_eq!(status, 200, "{pending}");
    let pending = id_of(&pending);
    let alices_cert = pki.leaf(&LeafSpec::client("alice-replacement"));

    // The page: the not-found page with 404, nothing of Bob's.
    let (status, html) = alice.page(&format!("/portal/apps/{secret_app}")).await;
    assert_eq!(status, 404, "{html}");
    assert!(html.contains("Page not found") && !html.contains("Globex secret project") && !html.contains("Globex client"));
    let (status, html) = alice.page("/portal/apps").await;
    assert!(status == 200 && !html.contains("Globex secret project"));
    let (_, html) = alice.page("/").await;
    assert!(!html.contains("Globex secret project"));

    // Every function on Bob's ids is a 404, and changes nothing.
    let calls: [(&str, Vec<(&str, &str)>); 11] = [
        ("portal_withdraw_request", vec![("id", &pending)]),
        ("portal_renew_certificate", vec![("subscription", &subscription), ("certificate", &alices_cert.cert_pem)]),
        ("portal_retire_certificate", vec![("subscription", &subscription), ("certificate", "00"), ("confirm", "yes")]),
        ("portal_app", vec![("id", &secret_app)]),
        ("portal_rename_app", vec![("id", &secret_app), ("name", "mine now")]),
        ("portal_delete_app", vec![("id", &secret_app), ("confirm", "yes")]),
        ("portal_request_access", vec![("app", &secret_app), ("product", &products.self_serve), ("plan", &products.free)]),
        ("portal_create_token", vec![("credential", &credential)]),
        ("portal_rotate_token", vec![("credential", &credential), ("overlap_minutes", "0"), ("confirm", "yes")]),
        ("portal_revoke_credential", vec![("credential", &credential), ("confirm", "yes")]),
        ("portal_change_plan", vec![("subscription", &subscription), ("plan", &products.gold)]),
    ];
    for (function, form) in &calls {
        let (status, body) = alice.call(function, form).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{function}: {body}");
        assert!(!body.to_string().contains("Globex"), "{function} names nothing of Bob's");
    }
    let (status, detail) = bob.call("portal_app", &[("id", &secret_app)]).await;
    assert_eq!((status, detail["app"]["name"].as_str()), (200, Some("Globex secret project")));
    assert_eq!(detail["subscriptions"][0]["credential"]["status"], "no_token", "Alice made no token for Bob");
    let (_, home) = bob.page("/").await;
    assert!(home.contains("Globex waiting app") && home.contains("Pending"), "Bob's request is still pending");

    // The organisation comes from the session: an argument naming Globex changes nothing.
    let _ = alice.call("portal_create_app", &[("name", "Sneaky"), ("organisation", &globex)]).await;
    let (status, bobs) = bob.call("portal_apps", &[]).await;
    assert!(status == 200 && !bobs.to_string().contains("Sneaky"), "{bobs}");

    // Within one organisation: a member's app is not a colleague's (404), but its org admin's.
    let own = alice.create_app("Alice private").await;
    let carol = consumer(&server, &admin, &acme, "carol@acme.example").await;
    let olga = consumer_as(&server, &admin, &acme, "olga@acme.example", "org_admin").await;
    let (status, html) = carol.page(&format!("/portal/apps/{own}")).await;
    assert!(status == 404 && !html.contains("Alice private"), "{status}");
    let (status, html) = olga.page(&format!("/portal/apps/{own}")).await;
    assert!(status == 200 && html.contains("Alice private"), "{status}");

    // Not signed in: the pages send to sign-in, the functions are 401. An admin has no
    // developer portal (its pages are 403 with a link to the admin portal; the functions 403).
    let anonymous = client();
    let r = anonymous.get(server.url(&format!("/portal/apps/{secret_app}"))).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/signin?next="));
    let r = anonymous.post(server.url("/fn/portal_apps")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let admin_browser = client();
    sign_in(&admin_browser, &server, support::ADMIN_EMAIL, support::ADMIN_PASSWORD).await;
    let r = admin_browser.get(server.url("/portal/apps")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403, "told, not redirected");
    assert!(r.text().await.unwrap().contains("href=\"/admin\" data-testid=\"no-access-home\""));
    let r = admin_browser.post(server.url("/fn/portal_apps")).send().await.unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn the_token_is_in_the_create_answer_once_and_on_no_later_page() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let acme = organisation(&admin, "Acme Corp").await;
    let pki = TestPki::new();
    let laptop = pki.leaf(&LeafSpec::client("acme-laptop"));
    link(&admin, &laptop, "Acme laptop", &acme).await;
    let products = catalogue(&admin, &upstream.to_string()).await;
    let alice = consumer(&server, &admin, &acme, "alice@acme.example").await;
    let app = alice.create_app("Checkout").await;
    let (status, approved) = alice.call("portal_request_access", &[("app", &app), ("product", &products.managed), ("plan", &products.free)]).await;
    assert_eq!(status, 200, "{approved}");
    let credential = credentials_of(&alice, &app).await.pop().unwrap();

    // The token is in the answer, once.
    let (status, minted) = alice.call("portal_create_token", &[("credential", &credential)]).await;
    assert_eq!(status, 200, "{minted}");
    let token = minted["token"].as_str().unwrap().to_string();
    assert!(token.len() >= 40);
    let (status, again) = alice.call("portal_create_token", &[("credential", &credential)]).await;
    assert_eq!((status, again["code"].as_str()), (409, Some("token_already_minted")));
    assert!(!again.to_string().contains(&token));

    // No later page or page data carries it; the page shows the credential as active.
    for path in ["/", "/portal/apps", &format!("/portal/apps/{app}"), &format!("/portal/products/{}", products.managed)] {
        let (status, html) = alice.page(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!html.contains(&token), "{path} shows the token");
    }
    let (_, html) = alice.page(&format!("/portal/apps/{app}")).await;
    assert!(html.contains("data-status=\"active\"") && html.contains("Rotate token for Shop"));
    let (_, detail) = alice.call("portal_app", &[("id", &app)]).await;
    assert!(!detail.to_string().contains(&token));

    // It works through the gateway with the organisation's certificate.
    let bearer = format!("Bearer {token}");
    let mut conn = connect(&server, &[&laptop], "localhost").await;
    let answer = conn.get("/shop/orders", &[("authorization", &bearer)]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // Rotation needs the confirmation and an overlap of at most a day; its token is shown
    // once too, and the old one keeps working during the overlap.
    let (status, refused) = alice.call("portal_rotate_token", &[("credential", &credential), ("overlap_minutes", "30")]).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("confirmation_required")));
    let (status, refused) = alice.call("portal_rotate_token", &[("credential", &credential), ("overlap_minutes", "1441"), ("confirm", "yes")]).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("invalid_overlap")));
    let (status, rotated) = alice.call("portal_rotate_token", &[("credential", &credential), ("overlap_minutes", "30"), ("confirm", "yes")]).await;
    assert_eq!(status, 200, "{rotated}");
    let new_token = rotated["token"].as_str().unwrap().to_string();
    assert!(new_token != token && rotated["previous_token_until"].is_string());
    assert_eq!(conn.get("/shop/orders", &[("authorization", &bearer)]).await.status, 200, "the old token works during the overlap");
    let new_bearer = format!("Bearer {new_token}");
    assert_eq!(conn.get("/shop/orders", &[("authorization", &new_bearer)]).await.status, 200);
    let (_, html) = alice.page(&format!("/portal/apps/{app}")).await;
    assert!(!html.contains(&token) && !html.contains(&new_token));
    assert!(html.contains("data-status=\"rotating\"") && html.contains("previous token works until"));
    assert!(html.contains("3 of 1000 requests used today"), "the quota used is the gateway's count across both tokens");

    // Revoking needs the confirmation; then both tokens are refused from the next request.
    let (status, _) = alice.call("portal_revoke_credential", &[("credential", &credential)]).await;
    assert_eq!(status, 400);
    let (status, _) = alice.call("portal_revoke_credential", &[("credential", &credential), ("confirm", "yes")]).await;
    assert_eq!(status, 200);
    assert_ne!(conn.get("/shop/orders", &[("authorization", &new_bearer)]).await.status, 200);
    let (_, html) = alice.page(&format!("/portal/apps/{app}")).await;
    assert!(html.contains("data-status=\"revoked\"") && !html.contains("Rotate token for Shop"));
}

#[tokio::test]
async fn a_pasted_private_key_is_refused_stores_nothing_and_is_never_echoed() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let acme = organisation(&admin, "Acme Corp").await;
    let products = catalogue(&admin, "127.0.0.1:9").await;
    let alice = consumer(&server, &admin, &acme, "alice@acme.example").await;
    let app = alice.create_app("Checkout").await;
    let pki = TestPki::new();
    let mine = pki.leaf(&LeafSpec::client("alice-service"));
    let key_body: String = mine.key_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let key_line = mine.key_pem.lines().nth(1).unwrap().to_string();

    let ask = |certificate: String| {
        let (app, product, plan) = (app.clone(), products.self_serve.clone(), products.gold.clone());
        let alice = &alice;
        async move { alice.call("portal_request_access", &[("app", &app), ("product", &product), ("plan", &plan), ("certificate", &certificate)]).await }
    };
    for paste in [mine.key_pem.clone(), format!("{}{}", mine.cert_pem, mine.key_pem)] {
        let (status, refused) = ask(paste).await;
        assert_eq!((status, refused["code"].as_str()), (400, Some("private_key_not_certificate")), "{refused}");
        let text = refused.to_string();
        assert!(!text.contains(&key_line) && !text.contains(&key_body[..40]), "the key is echoed: {text}");
        assert!(refused["message"].as_str().unwrap().contains("private key"), "said in plain words");
    }
    // Other bad certificates: refused in plain words, nothing stored.
    let expired = pki.leaf(&LeafSpec::client("old").expired());
    let (status, refused) = ask(expired.cert_pem.clone()).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("certificate_not_usable")), "{refused}");
    let (status, refused) = ask(String::new()).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("certificate_required")), "{refused}");
    let (status, requests) = admin.call(Method::GET, "/access-requests", None).await;
    assert_eq!((status, requests["items"].as_array().map(Vec::len)), (200, Some(0)), "nothing was stored: {requests}");
    let (status, certificates) = admin.call(Method::GET, "/certificates", None).await;
    assert_eq!((status, certificates["items"].as_array().map(Vec::len)), (200, Some(0)));
    let (_, html) = alice.page(&format!("/portal/apps/{app}")).await;
    assert!(!html.contains(&key_line), "no page shows the key");

    // The certificate itself is accepted (a pending request), and after approval the app's
    // page shows it as the credential's certificate.
    let (status, pending) = ask(mine.cert_pem.clone()).await;
    assert_eq!((status, pending["state"].as_str()), (200, Some("pending")), "{pending}");
    let (status, approved) = admin.call(Method::POST, &format!("/access-requests/{}/approve", id_of(&pending)), None).await;
    assert_eq!(status, 200, "{approved}");
    let (_, html) = alice.page(&format!("/portal/apps/{app}")).await;
    assert!(html.contains("The certificate you uploaded") && html.contains("alice-service"), "{html}");

    // A Managed product while the organisation has no certificate: the form says whom to ask
    // and cannot be sent; the function refuses too.
    assert!(html.contains("Ask the API provider's administrator to link a certificate"));
    let (status, refused) = alice.call("portal_request_access", &[("app", &app), ("product", &products.managed), ("plan", &products.gold)]).await;
    assert_eq!((status, refused["code"].as_str()), (409, Some("organisation_has_no_certificate")), "{refused}");

    // Renewal: a key is refused the same way; a replacement is filed, shown, approved; then
    // the replaced certificate is retired with a confirmation.
    let (_, detail) = alice.call("portal_app", &[("id", &app)]).await;
    let subscription = detail["subscriptions"][0]["id"].as_str().unwrap().to_string();
    let next = pki.leaf(&LeafSpec::client("alice-service-2026"));
    let (status, refused) = alice.call("portal_renew_certificate", &[("subscription", &subscription), ("certificate", &next.key_pem)]).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("private_key_not_certificate")), "{refused}");
    assert!(!refused.to_string().contains(&next.key_pem.lines().nth(1).unwrap().to_string()));
    let (status, renewal) = alice.call("portal_renew_certificate", &[("subscription", &subscription), ("certificate", &next.cert_pem)]).await;
    assert_eq!(status, 200, "{renewal}");
    let (_, html) = alice.page(&format!("/portal/apps/{app}")).await;
    assert!(html.contains("Replacement certificate for Payments") && !html.contains("Submit a replacement certificate for Payments"));
    let (_, pending) = admin.call(Method::GET, "/access-requests?state=pending", None).await;
    let renewal = id_of(&pending["items"][0]);
    let (status, _) = admin.call(Method::POST, &format!("/access-requests/{renewal}/approve"), None).await;
    assert_eq!(status, 200);
    let (_, html) = alice.page(&format!("/portal/apps/{app}")).await;
    assert!(html.contains("alice-service-2026") && html.contains("Retire certificate alice-service of Payments"), "{html}");
    let old = detail["subscriptions"][0]["certificates"][0]["id"].as_str().unwrap().to_string();
    let (status, refused) = alice.call("portal_retire_certificate", &[("subscription", &subscription), ("certificate", &old)]).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("confirmation_required")));
    let (status, _) = alice.call("portal_retire_certificate", &[("subscription", &subscription), ("certificate", &old), ("confirm", "yes")]).await;
    assert_eq!(status, 200);
    let (_, html) = alice.page(&format!("/portal/apps/{app}")).await;
    assert!(!html.contains("Retire certificate alice-service of Payments") && html.contains("alice-service-2026"));
    let _ = products.free;
}

/// The value of attribute `name` in one start tag's text.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(tag[start..].split('"').next()?.to_string())
}

/// Accessibility of a page's main content: every form control has a label (`for` its id) or an
/// `aria-label`, and no two buttons share an accessible name.
fn check_accessible(path: &str, html: &str) {
    let main = &html[html.find("<main").unwrap()..html.find("</main>").unwrap()];
    let start_tags = |name: &str| -> Vec<&str> {
        main.match_indices(&format!("<{name}")).map(|(i, _)| &main[i..i + main[i..].find('>').unwrap()]).collect()
    };
    for kind in ["input", "select", "textarea"] {
        for tag in start_tags(kind) {
            if matches!(attribute(tag, "type").as_deref(), Some("hidden" | "submit" | "button")) {
                continue;
            }
            let labelled = attribute(tag, "aria-label").is_some()
                || attribute(tag, "id").is_some_and(|id| main.contains(&format!("for=\"{id}\"")));
            assert!(labelled, "{path}: a control without a label: {tag}");
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, _) in main.match_indices("<button") {
        let tag = &main[i..i + main[i..].find('>').unwrap()];
        let name = attribute(tag, "aria-label").unwrap_or_else(|| {
            let inner = &main[i + tag.len() + 1..i + main[i..].find("</button>").unwrap()];
            inner.replace("<!>", "").trim().to_string()
        });
        assert!(!name.is_empty(), "{path}: a button without a name: {tag}");
        assert!(names.insert(name.clone()), "{path}: two buttons are named {name:?}");
    }
}

#[tokio::test]
async fn every_control_has_a_label_and_row_buttons_have_distinct_names() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let acme = organisation(&admin, "Acme Corp").await;
    let pki = TestPki::new();
    link(&admin, &pki.leaf(&LeafSpec::client("acme-laptop")), "Acme laptop", &acme).await;
    let products = catalogue(&admin, "127.0.0.1:9").await;
    let alice = consumer(&server, &admin, &acme, "alice@acme.example").await;
    let app = alice.create_app("Checkout").await;
    let other = alice.create_app("Reporting").await;
    // Two subscriptions on one page (both modes, each with a credential and its forms), and a
    // pending request on another app.
    let mine = pki.leaf(&LeafSpec::client("alice-service"));
    for (product, certificate) in [(&products.managed, None), (&products.self_serve, Some(mine.cert_pem.clone()))] {
        let mut form = vec![("app", app.clone()), ("product", product.clone()), ("plan", products.free.clone())];
        form.extend(certificate.map(|c| ("certificate", c)));
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, approved) = alice.call("portal_request_access", &form).await;
        assert_eq!((status, approved["state"].as_str()), (200, Some("approved")), "{approved}");
    }
    let (status, _) = alice.call("portal_request_access", &[("app", &other), ("product", &products.managed), ("plan", &products.gold)]).await;
    assert_eq!(status, 200);
    for credential in credentials_of(&alice, &app).await {
        let (status, _) = alice.call("portal_create_token", &[("credential", &credential)]).await;
        assert_eq!(status, 200);
    }
    let pages = [
        "/".to_string(),
        "/portal/products".to_string(),
        format!("/portal/products/{}", products.managed),
        format!("/portal/products/{}", products.self_serve),
        "/portal/apps".to_string(),
        format!("/portal/apps/{app}"),
        format!("/portal/apps/{other}"),
    ];
    for path in &pages {
        let (status, html) = alice.page(path).await;
        assert_eq!(status, 200, "{path}");
        check_accessible(path, &html);
    }
    // The check can fail: a control without a label; two buttons of one name.
    let unlabelled = "<main><input id=\"x\" name=\"a\"></main>";
    assert!(std::panic::catch_unwind(|| check_accessible("unlabelled", unlabelled)).is_err());
    let same_names = "<main><label for=\"x\">A</label><input id=\"x\"><button aria-label=\"Revoke\">R</button><button>Revoke<!></button></main>";
    assert!(std::panic::catch_unwind(|| check_accessible("same names", same_names)).is_err());
    check_accessible("fine", "<main><label for=\"x\">A</label><input id=\"x\"><button aria-label=\"Revoke A\">R</button><button>Revoke B</button></main>");
    let (_, html) = alice.page(&format!("/portal/apps/{app}")).await;
    for name in ["Rotate token for Shop", "Rotate token for Payments", "Revoke credential for Shop", "Revoke credential for Payments", "Submit a replacement certificate for Payments"] {
        assert!(html.contains(&format!("aria-label=\"{name}\"")), "{name}");
    }
}
