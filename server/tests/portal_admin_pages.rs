//! The admin portal's Plans, Products and Access requests screens through the real listener:
//! each page rendered on the server with an admin session shows its data (a product's mode and
//! binding, the request tabs with their counts, a Self-Serve certificate's parsed fields), the
//! forms' server functions save, refuse and explain, and a consumer gets no admin data from the
//! pages or the server functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use certgate_testpki::{KeyKind, LeafSpec, TestPki};
use reqwest::Method;
use serde_json::{json, Value};
use support::gateway::Admin;
use support::{signed_in, page, call_server_fn as call};
use support::{client, Server, ADMIN_EMAIL, ADMIN_PASSWORD};

const PASSWORD: &str = "consumer-password-0123";
const HMAC: &str = "0123456789abcdef0123456789abcdef-secret";

async fn created(admin: &Admin, path: &str, body: Value) -> String {
    let (status, answer) = admin.call(Method::POST, path, Some(body)).await;
    assert_eq!(status, 201, "{path}: {answer}");
    answer["id"].as_str().unwrap().to_string()
}

/// The number in the element `data-testid="count-<state>"`.
fn count(html: &str, state: &str) -> usize {
    let marker = format!("data-testid=\"count-{state}\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no count for {state}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    let end = start + html[start..].find('<').unwrap();
    html[start..end].trim().parse().unwrap()
}

struct World {
    server: Server,
    admin: Admin,
    /// Signed in as the admin.
    portal: reqwest::Client,
    acme: reqwest::Client,
    apis: (String, String, String),
    gold: String,
    acme_org: String,
    self_serve: String,
    managed: String,
    jwt_product: String,
    /// The certificate linked to Acme.
    linked: String,
    pki: TestPki,
}

async fn world() -> World {
    let server = Server::start();
    let admin = Admin::new(&server);
    let acme_org = created(&admin, "/organisations", json!({"name": "Acme Corp"})).await;
    let pki = TestPki::new();
    let linked = admin.upload(&pki.leaf(&LeafSpec::client("acme-managed"))).await;
    let (status, body) = admin.call(Method::PATCH, &format!("/certificates/{linked}"), Some(json!({"organisations": [acme_org]}))).await;
    assert_eq!(status, 200, "{body}");
    let upstream = "http://127.0.0.1:9/";
    let mtls = admin
        .create_api(json!({"name": "Shop API", "listen_path": "/shop", "upstream_url": upstream, "auth": "auth_token", "mtls": {"required": true}}))
        .await;
    let plain = admin.create_api(json!({"name": "Open Token API", "listen_path": "/tok", "upstream_url": upstream, "auth": "auth_token"})).await;
    let jwt = admin
        .create_api(json!({"name": "Ledger JWT", "listen_path": "/ledger", "upstream_url": upstream, "auth": "jwt", "mtls": {"required": true},
                           "jwt": {"algorithms": ["HS256"], "key": {"hmac_secret": HMAC}}}))
        .await;
    let gold = created(
        &admin,
        "/plans",
        json!({"name": "Gold", "rate": {"requests": 100, "per_seconds": 60}, "quota": {"max": 10000, "period": "month"},
               "auto_approve": false, "token_lifetime_seconds": 86400}),
    )
    .await;
    let self_serve = created(
        &admin,
        "/products",
        json!({"name": "Shop", "apis": [mtls], "plans": [gold], "published": true, "certificate_mode": "self_serve", "certificate_binding": true}),
    )
    .await;
    let managed = created(
        &admin,
        "/products",
        json!({"name": "Payments", "apis": [mtls], "plans": [gold], "published": true, "certificate_mode": "managed", "certificate_binding": false}),
    )
    .await;
    let jwt_product = created(&admin, "/products", json!({"name": "Ledger", "apis": [jwt], "plans": [gold], "published": true})).await;
    let (status, user) = admin
        .call(Method::POST, "/users", Some(json!({"email": "dev@acme.example", "password": PASSWORD, "organisation": acme_org, "role": "org_admin"})))
        .await;
    assert_eq!(status, 201, "{user}");
    let acme = signed_in(&server, "dev@acme.example", PASSWORD).await;
    let portal = signed_in(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    World { server, admin, portal, acme, apis: (mtls, plain, jwt), gold, acme_org, self_serve, managed, jwt_product, linked, pki }
}

impl World {
    /// A new app of Acme asking for `product` (with a certificate for Self-Serve); returns the request id.
    async fn request(&self, app: &str, product: &str, certificate: Option<&str>) -> String {
        let r = self.acme.post(self.server.url("/api/v1/portal/apps")).json(&json!({"name": app})).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let app_id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
        let mut ask = json!({"product": product, "plan": self.gold});
        if let Some(pem) = certificate {
            ask["certificate"] = json!(pem);
        }
        let r = self.acme.post(self.server.url(&format!("/api/v1/portal/apps/{app_id}/access-requests"))).json(&ask).send().await.unwrap();
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
    }
}

#[tokio::test]
async fn plans_and_products_pages_show_limits_modes_binding_and_why_modes_do_not_apply() {
    let w = world().await;
    let html = page(&w.portal, &w.server, "/admin/plans").await;
    for expected in ["Gold", "100 per minute", "10000 per month", "By an admin", "1 day", "href=\"/admin/plans\""] {
        assert!(html.contains(expected), "plans page lacks {expected}");
    }
    let html = page(&w.portal, &w.server, &format!("/admin/plans/{}", w.gold)).await;
    assert!(html.contains("Yes, delete plan Gold") && html.contains("name=\"form[rate_requests]\""), "plan page");

    let html = page(&w.portal, &w.server, "/admin/products").await;
    for expected in ["Shop", "Payments", "Ledger", "Self-Serve", "Managed", "On: tokens work only with their certificates", "Auth Token + mTLS"] {
        assert!(html.contains(expected), "products page lacks {expected}");
    }
    // The form offers every API and plan to tick.
    assert!(html.contains("name=\"form[apis][]\"") && html.contains(&format!("value=\"{}\"", w.apis.1)), "API checkboxes");

    let html = page(&w.portal, &w.server, &format!("/admin/products/{}", w.self_serve)).await;
    assert!(html.contains("data-mode=\"Self-Serve\""), "mode of the Self-Serve product");
    assert!(html.contains("Self-Serve: the consumer submits a certificate"), "mode in words");
    assert!(html.contains("On: tokens work only with their certificates"), "binding");
    let html = page(&w.portal, &w.server, &format!("/admin/products/{}", w.managed)).await;
    assert!(html.contains("data-mode=\"Managed\"") && html.contains(">Off<"), "Managed product without binding");
    let html = page(&w.portal, &w.server, &format!("/admin/products/{}", w.jwt_product)).await;
    assert!(html.contains("data-mode=\"Does not apply\""), "JWT product has no mode");
    assert!(html.contains("These APIs use JWT + mTLS, so the certificate modes and binding do not apply"), "JWT explanation");
    assert!(html.contains("allow list, which you manage"), "JWT explanation names the API's allow list");
}

#[tokio::test]
async fn product_form_saves_lists_of_choices_and_puts_service_errors_at_their_field() {
    let w = world().await;
    let (mtls, plain, jwt) = w.apis.clone();
    // Two APIs and two organisations ticked, as a browser sends checkboxes.
    let globex = created(&w.admin, "/organisations", json!({"name": "Globex"})).await;
    let form = [
        ("id", ""),
        ("form[name]", "Bundle"),
        ("form[description]", "Both token APIs"),
        ("form[apis][]", mtls.as_str()),
        ("form[apis][]", plain.as_str()),
        ("form[plans][]", w.gold.as_str()),
        ("form[published]", "on"),
        ("form[visibility]", "chosen"),
        ("form[organisations][]", w.acme_org.as_str()),
        ("form[organisations][]", globex.as_str()),
        ("form[certificate_mode]", "self_serve"),
        ("form[certificate_binding]", "on"),
    ];
    let (status, body) = call(&w.portal, &w.server, "save_product", &form).await;
    assert!(status == 200 || status == 302, "{status} {body}");
    let products = support::list_all(&w.server, "/api/v1/products").await;
    let bundle = products.iter().find(|p| p["name"] == "Bundle").expect("created");
    assert_eq!(bundle["apis"], json!([mtls, plain]));
    assert_eq!(bundle["visible_to"], json!([w.acme_org, globex]));
    assert_eq!((bundle["certificate_mode"].as_str(), bundle["certificate_binding"].as_bool()), (Some("self_serve"), Some(true)));

    // A mode on JWT APIs: refused, said at the mode field, nothing stored.
    let (status, body) = call(
        &w.portal,
        &w.server,
        "save_product",
        &[("id", ""), ("form[name]", "Wrong"), ("form[apis][]", jwt.as_str()), ("form[certificate_mode]", "managed")],
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("certificate_mode_not_applicable")), "{body}");
    // Published without a plan.
    let (status, body) =
        call(&w.portal, &w.server, "save_product", &[("id", ""), ("form[name]", "Wrong"), ("form[apis][]", plain.as_str()), ("form[published]", "on")]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("plan_missing")), "{body}");
    // Chosen visibility with nobody chosen.
    let (status, body) =
        call(&w.portal, &w.server, "save_product", &[("id", ""), ("form[name]", "Wrong"), ("form[apis][]", plain.as_str()), ("form[visibility]", "chosen")]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("visibility_empty")), "{body}");
    let products = support::list_all(&w.server, "/api/v1/products").await;
    assert!(products.iter().all(|p| p["name"] != "Wrong"), "a refused save stored something");

    // Editing keeps the id and changes mode and binding.
    let edit = [
        ("id", w.self_serve.as_str()),
        ("form[name]", "Shop"),
        ("form[apis][]", mtls.as_str()),
        ("form[plans][]", w.gold.as_str()),
        ("form[published]", "on"),
        ("form[visibility]", "all"),
        ("form[certificate_mode]", "managed"),
    ];
    let (status, body) = call(&w.portal, &w.server, "save_product", &edit).await;
    assert_eq!(status, 200, "{body}");
    // No subscription uses it: nothing live changes, so it is applied without a preview.
    assert_eq!(body["applied"], true, "{body}");
    let saved = &body["value"];
    assert_eq!((saved["certificate_mode"].as_str(), saved["certificate_binding"].as_bool()), (Some("managed"), Some(false)), "{body}");
}

#[tokio::test]
async fn deleting_a_plan_in_use_says_which_products_offer_it_and_needs_confirmation() {
    let w = world().await;
    let (status, body) = call(&w.portal, &w.server, "delete_plan", &[("id", w.gold.as_str())]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("confirmation_required")), "{body}");
    let (status, body) = call(&w.portal, &w.server, "delete_plan", &[("id", w.gold.as_str()), ("confirm", "yes")]).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("plan_in_use")), "{body}");
    let message = body["message"].as_str().unwrap();
    for product in ["Shop", "Payments", "Ledger"] {
        assert!(message.contains(product), "{message}");
    }
    assert!(!message.contains("prd_"), "ids instead of names: {message}");

    // A product with a subscription: its deletion names the app and organisation.
    let request = w.request("Checkout", &w.managed, None).await;
    let (status, body) = call(&w.portal, &w.server, "approve_access_request", &[("id", request.as_str())]).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(&w.portal, &w.server, "delete_plan", &[("id", w.gold.as_str()), ("confirm", "yes")]).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("plan_in_use")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("subscriptions use it (app Checkout of Acme Corp)"), "{body}");
    let (status, body) = call(&w.portal, &w.server, "delete_product", &[("id", w.managed.as_str()), ("confirm", "yes")]).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("product_in_use")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("app Checkout of Acme Corp"), "{body}");

    // A plan nothing uses is deleted, and the list no longer shows it.
    let spare = created(&w.admin, "/plans", json!({"name": "Spare"})).await;
    let (status, _) = call(&w.portal, &w.server, "delete_plan", &[("id", spare.as_str()), ("confirm", "yes")]).await;
    assert!(status == 200 || status == 302, "{status}");
    assert!(!page(&w.portal, &w.server, "/admin/plans").await.contains("Spare"));
}

#[tokio::test]
async fn access_request_tabs_count_each_state_and_the_detail_shows_the_self_serve_certificate() {
    let w = world().await;
    let laptop = w.pki.leaf(&LeafSpec::client("acme-laptop").key(KeyKind::EcP384));
    let pending_self_serve = w.request("Checkout", &w.self_serve, Some(&laptop.cert_pem)).await;
    let pending_managed = w.request("Billing", &w.managed, None).await;
    let to_approve = w.request("Reports", &w.managed, None).await;
    let to_reject = w.request("Mobile", &w.self_serve, Some(&w.pki.leaf(&LeafSpec::client("acme-phone")).cert_pem)).await;
    let to_withdraw = w.request("Legacy", &w.managed, None).await;
    let r = w.acme.delete(w.server.url(&format!("/api/v1/portal/access-requests/{to_withdraw}"))).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());

    let (status, body) = call(&w.portal, &w.server, "approve_access_request", &[("id", to_approve.as_str())]).await;
    assert_eq!(status, 200, "{body}");
    // A rejection needs a reason; the reason reaches the rejected tab.
    let (status, body) = call(&w.portal, &w.server, "reject_access_request", &[("id", to_reject.as_str()), ("reason", "  ")]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_reason")), "{body}");
    let (status, body) =
        call(&w.portal, &w.server, "reject_access_request", &[("id", to_reject.as_str()), ("reason", "Use the company laptop certificate")]).await;
    assert_eq!(status, 200, "{body}");

    let html = page(&w.portal, &w.server, "/admin/access-requests").await;
    assert_eq!(
        [count(&html, "pending"), count(&html, "approved"), count(&html, "rejected"), count(&html, "withdrawn")],
        [2, 1, 1, 1]
    );
    for expected in [
        "aria-label=\"Approve request of app Checkout for product Shop\"",
        "aria-label=\"Approve request of app Billing for product Payments\"",
        "Acme Corp",
        "Gold",
        "Subscribe",
    ] {
        assert!(html.contains(expected), "pending tab lacks {expected}");
    }
    assert!(!html.contains("app Reports"), "an approved request on the pending tab");
    let html = page(&w.portal, &w.server, "/admin/access-requests?state=rejected").await;
    assert!(html.contains("Use the company laptop certificate") && html.contains("Mobile"), "rejected tab");
    assert!(!html.contains("Checkout"), "a pending request on the rejected tab");
    let html = page(&w.portal, &w.server, "/admin/access-requests?state=withdrawn").await;
    assert!(html.contains("Legacy"), "withdrawn tab");

    let html = page(&w.portal, &w.server, &format!("/admin/access-requests/{pending_self_serve}")).await;
    for expected in [
        "CN=acme-laptop",
        "certgate test intermediate CA",
        "EC P-384",
        "Usable for client authentication now",
        "data-usable=\"true\"",
        "Self-Serve: the consumer submitted the certificate below.",
        "aria-label=\"Reject request of app Checkout for product Shop\"",
        "name=\"reason\"",
    ] {
        assert!(html.contains(expected), "request detail lacks {expected}");
    }
    // Approving from the page's form makes the request approved and the counts follow.
    let (status, body) = call(&w.portal, &w.server, "approve_access_request", &[("id", pending_self_serve.as_str())]).await;
    assert_eq!(status, 200, "{body}");
    let html = page(&w.portal, &w.server, "/admin/access-requests?state=approved").await;
    assert_eq!((count(&html, "pending"), count(&html, "approved")), (1, 2));
    assert!(html.contains("Checkout") && html.contains("Reports"));
    // A Managed request says how many certificates the credential takes, and warns before an
    // approval that would be refused because the organisation has none left.
    let html = page(&w.portal, &w.server, &format!("/admin/access-requests/{pending_managed}")).await;
    assert!(html.contains("has 1 certificate(s) usable now") && !html.contains("approval-blocker"), "managed request detail");
    let (status, body) = w.admin.call(Method::PATCH, &format!("/certificates/{}", w.linked), Some(json!({"organisations": []}))).await;
    assert_eq!(status, 200, "{body}");
    let html = page(&w.portal, &w.server, &format!("/admin/access-requests/{pending_managed}")).await;
    assert!(html.contains("data-testid=\"approval-blocker\"") && html.contains("has 0 certificate(s)"), "no warning without certificates");
    // An unknown request is a 404 from the function.
    let (status, _) = call(&w.portal, &w.server, "get_access_request", &[("id", "req_nope")]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_consumer_gets_no_admin_data_from_the_pages_or_the_server_functions() {
    let w = world().await;
    let request = w.request("Checkout", &w.managed, None).await;
    for path in ["/admin/plans", "/admin/products", "/admin/access-requests", &format!("/admin/products/{}", w.managed), &format!("/admin/access-requests/{request}")]
    {
        let r = w.acme.get(w.server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 403, "{path}: told they lack access");
        let body = r.text().await.unwrap();
        assert!(!body.contains("Gold") && !body.contains("Payments"), "{path} leaked admin data");
    }
    let gold = w.gold.clone();
    let calls: [(&str, Vec<(&str, &str)>); 9] = [
        ("list_plans", vec![]),
        ("get_plan", vec![("id", gold.as_str())]),
        ("list_products", vec![]),
        ("get_product", vec![("id", w.managed.as_str())]),
        ("list_access_requests", vec![("state", "pending")]),
        ("get_access_request", vec![("id", request.as_str())]),
        ("approve_access_request", vec![("id", request.as_str())]),
        ("reject_access_request", vec![("id", request.as_str()), ("reason", "mine")]),
        ("delete_plan", vec![("id", gold.as_str()), ("confirm", "yes")]),
    ];
    let anonymous = client();
    for (function, form) in &calls {
        let (status, body) = call(&w.acme, &w.server, function, form).await;
        assert_eq!(status, 403, "{function}: {body}");
        let text = body.to_string();
        assert!(!text.contains("Gold") && !text.contains("Payments") && !text.contains("Checkout"), "{function} leaked: {text}");
        let (status, _) = call(&anonymous, &w.server, function, form).await;
        assert_eq!(status, 401, "{function} anonymous");
    }
    // Nothing changed: the request is still pending and the plan still there.
    let (status, plan) = w.admin.call(Method::GET, &format!("/plans/{gold}"), None).await;
    assert_eq!((status, plan["name"].as_str()), (200, Some("Gold")));
    let (_, pending) = w.admin.call(Method::GET, "/access-requests?state=pending", None).await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 1);
}
