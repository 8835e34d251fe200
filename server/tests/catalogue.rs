//! The catalogue's admin REST API against the real binary: plans, products (checked against the
//! stored APIs, plans and organisations) and the certificate's portal facade (`PATCH`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use certgate_testpki::{LeafSpec, TestPki};
use reqwest::Method;
use serde_json::{json, Value};
use support::gateway::Admin;
use support::{list_all, Server};

const HMAC: &str = "0123456789abcdef0123456789abcdef-secret";

fn plan(name: &str) -> Value {
    json!({"name": name, "rate": {"requests": 100, "per_seconds": 60}, "quota": {"max": 10000, "period": "month"},
           "auto_approve": false, "token_lifetime_seconds": 86400})
}

async fn create_plan(admin: &Admin, name: &str) -> String {
    let (status, body) = admin.call(Method::POST, "/plans", Some(plan(name))).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

async fn token_mtls_api(admin: &Admin, path: &str) -> String {
    admin
        .create_api(json!({"name": path, "listen_path": path, "upstream_url": "http://127.0.0.1:9/", "auth": "auth_token",
                           "mtls": {"required": true}}))
        .await
}

async fn token_api(admin: &Admin, path: &str) -> String {
    admin.create_api(json!({"name": path, "listen_path": path, "upstream_url": "http://127.0.0.1:9/", "auth": "auth_token"})).await
}

async fn jwt_api(admin: &Admin, path: &str) -> String {
    admin
        .create_api(json!({"name": path, "listen_path": path, "upstream_url": "http://127.0.0.1:9/", "auth": "jwt",
                           "mtls": {"required": true}, "jwt": {"algorithms": ["HS256"], "key": {"hmac_secret": HMAC}}}))
        .await
}

async fn create_org(admin: &Admin, name: &str) -> String {
    let (status, body) = admin.call(Method::POST, "/organisations", Some(json!({"name": name}))).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

fn code(body: &Value) -> Option<&str> {
    body["code"].as_str()
}

#[tokio::test]
async fn plans_are_created_read_replaced_listed_and_deleted_and_bad_plans_are_refused() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let client = support::client();
    let r = client.post(server.url("/api/v1/plans")).bearer_auth(support::ADMIN_TOKEN).json(&plan(" Gold ")).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let gold: Value = r.json().await.unwrap();
    let id = gold["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/plans/{id}"));
    assert_eq!(gold["name"], "Gold", "trimmed");
    assert_eq!(gold["rate"], json!({"requests": 100, "per_seconds": 60}));
    assert_eq!(gold["quota"], json!({"max": 10000, "period": "month"}));
    assert_eq!((gold["auto_approve"].as_bool(), gold["token_lifetime_seconds"].as_u64()), (Some(false), Some(86400)));

    let (status, got) = admin.call(Method::GET, &format!("/plans/{id}"), None).await;
    assert_eq!((status, &got), (200, &gold));

    let (status, replaced) = admin.call(Method::PUT, &format!("/plans/{id}"), Some(json!({"name": "Gold", "auto_approve": true}))).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!((replaced["auto_approve"].as_bool(), &replaced["rate"], &replaced["quota"]), (Some(true), &Value::Null, &Value::Null));
    assert_eq!(replaced["created_at"], gold["created_at"]);

    // Every refusal is a 400 with the spec's code, and changes nothing.
    for (body, expected) in [
        (json!({"name": "  "}), "invalid_name"),
        (json!({"name": "x", "rate": {"requests": 0, "per_seconds": 1}}), "invalid_rate"),
        (json!({"name": "x", "rate": {"requests": 1, "per_seconds": 86401}}), "invalid_rate"),
        (json!({"name": "x", "quota": {"max": 0, "period": "day"}}), "invalid_quota"),
        (json!({"name": "x", "token_lifetime_seconds": 59}), "invalid_token_lifetime"),
        (json!({"name": "x", "surprise": true}), "invalid_json"),
        (json!({"name": "x", "quota": {"max": 1, "period": "fortnight"}}), "invalid_json"),
        (json!({"rate": {"requests": 1, "per_seconds": 1}}), "invalid_json"),
    ] {
        let (status, answer) = admin.call(Method::POST, "/plans", Some(body.clone())).await;
        assert_eq!((status, code(&answer)), (400, Some(expected)), "POST {body}: {answer}");
        let (status, answer) = admin.call(Method::PUT, &format!("/plans/{id}"), Some(body.clone())).await;
        assert_eq!((status, code(&answer)), (400, Some(expected)), "PUT {body}: {answer}");
    }
    let (_, unchanged) = admin.call(Method::GET, &format!("/plans/{id}"), None).await;
    assert_eq!(unchanged, replaced, "a refused PUT changes nothing");
    assert_eq!(list_all(&server, "/api/v1/plans").await.len(), 1, "a refused POST stores nothing");

    let (status, answer) = admin.call(Method::PUT, "/plans/pln_missing", Some(json!({"name": "x"}))).await;
    assert_eq!((status, code(&answer)), (404, Some("not_found")));
    let (status, _) = admin.call(Method::DELETE, &format!("/plans/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, answer) = admin.call(Method::GET, &format!("/plans/{id}"), None).await;
    assert_eq!((status, code(&answer)), (404, Some("not_found")));
    let (status, _) = admin.call(Method::DELETE, &format!("/plans/{id}"), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn products_say_how_they_authenticate_and_certificate_modes_apply_only_to_auth_token_mtls() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let gold = create_plan(&admin, "Gold").await;
    let mtls = token_mtls_api(&admin, "/pay").await;
    let plain = token_api(&admin, "/plain").await;
    let jwt = jwt_api(&admin, "/jwt").await;

    let client = support::client();
    let r = client
        .post(server.url("/api/v1/products"))
        .bearer_auth(support::ADMIN_TOKEN)
        .json(&json!({"name": "Payments", "description": "Pay things", "apis": [mtls, plain], "plans": [gold],
                      "published": true, "visible_to": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let payments: Value = r.json().await.unwrap();
    let id = payments["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/api/v1/products/{id}"));
    assert_eq!(payments["authentication"], "auth_token_mtls");
    assert_eq!(payments["certificate_mode"], "managed", "an Auth Token + mTLS product defaults to managed: {payments}");
    assert_eq!(payments["certificate_modes_apply"], true);
    assert_eq!(payments["certificate_binding"], false);
    assert_eq!(payments["visible_to"], Value::Null);
    let (status, got) = admin.call(Method::GET, &format!("/products/{id}"), None).await;
    assert_eq!((status, &got), (200, &payments));

    // Self-serve with binding, by PUT.
    let (status, self_serve) = admin
        .call(Method::PUT, &format!("/products/{id}"), Some(json!({"name": "Payments", "apis": [mtls], "plans": [gold],
            "published": true, "certificate_mode": "self_serve", "certificate_binding": true})))
        .await;
    assert_eq!(status, 200, "{self_serve}");
    assert_eq!((self_serve["certificate_mode"].as_str(), self_serve["certificate_binding"].as_bool()), (Some("self_serve"), Some(true)));

    // A JWT product: the portal's certificate modes do not apply, and say so.
    let (status, jwt_product) = admin.call(Method::POST, "/products", Some(json!({"name": "Reports", "apis": [jwt], "plans": [gold]}))).await;
    assert_eq!(status, 201, "{jwt_product}");
    assert_eq!(jwt_product["authentication"], "jwt");
    assert_eq!((&jwt_product["certificate_mode"], &jwt_product["certificate_modes_apply"]), (&Value::Null, &json!(false)));
    // An Auth Token product without mTLS: no mode either.
    let (status, plain_product) = admin.call(Method::POST, "/products", Some(json!({"name": "Plain", "apis": [plain]}))).await;
    assert_eq!(status, 201, "{plain_product}");
    assert_eq!((plain_product["authentication"].as_str(), &plain_product["certificate_mode"]), (Some("auth_token"), &Value::Null));

    let org = create_org(&admin, "Acme").await;
    let (status, visible) =
        admin.call(Method::POST, "/products", Some(json!({"name": "Acme only", "apis": [mtls], "visible_to": [org]}))).await;
    assert_eq!((status, &visible["visible_to"]), (201, &json!([org])), "{visible}");

    let before = list_all(&server, "/api/v1/products").await;
    assert_eq!(before.len(), 4);
    for (body, expected) in [
        (json!({"name": "J", "apis": [jwt], "certificate_mode": "managed"}), "certificate_mode_not_applicable"),
        (json!({"name": "J", "apis": [jwt], "certificate_binding": true}), "certificate_mode_not_applicable"),
        (json!({"name": "P", "apis": [plain], "certificate_mode": "self_serve"}), "certificate_mode_not_applicable"),
        (json!({"name": "M", "apis": [mtls, jwt]}), "mixed_authentication"),
        (json!({"name": "U", "apis": [mtls], "plans": ["pln_missing"]}), "unknown_plan"),
        (json!({"name": "U", "apis": [mtls, "api_missing"]}), "unknown_api"),
        (json!({"name": "U", "apis": [mtls], "visible_to": ["org_missing"]}), "unknown_organisation"),
        (json!({"name": "U", "apis": [mtls], "published": true}), "plan_missing"),
        (json!({"name": "U", "apis": []}), "invalid_apis"),
        (json!({"name": "U", "apis": [mtls], "certificate_mode": "sometimes"}), "invalid_json"),
        (json!({"name": "U", "apis": [mtls], "authentication": "jwt"}), "invalid_json"),
    ] {
        let (status, answer) = admin.call(Method::POST, "/products", Some(body.clone())).await;
        assert_eq!((status, code(&answer)), (400, Some(expected)), "POST {body}: {answer}");
        let (status, answer) = admin.call(Method::PUT, &format!("/products/{id}"), Some(body.clone())).await;
        assert_eq!((status, code(&answer)), (400, Some(expected)), "PUT {body}: {answer}");
    }
    assert_eq!(list_all(&server, "/api/v1/products").await, before, "refusals change nothing");

    let (status, answer) = admin.call(Method::GET, "/products/prd_missing", None).await;
    assert_eq!((status, code(&answer)), (404, Some("not_found")));
    let (status, _) = admin.call(Method::DELETE, &format!("/products/{}", visible["id"].as_str().unwrap()), None).await;
    assert_eq!(status, 204);
    assert_eq!(list_all(&server, "/api/v1/products").await.len(), 3);
}

#[tokio::test]
async fn a_plan_offered_by_a_product_and_an_api_in_a_product_cannot_be_deleted() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let gold = create_plan(&admin, "Gold").await;
    let api = token_mtls_api(&admin, "/pay").await;
    let (status, product) = admin.call(Method::POST, "/products", Some(json!({"name": "Payments", "apis": [api], "plans": [gold]}))).await;
    assert_eq!(status, 201, "{product}");

    let (status, answer) = admin.call(Method::DELETE, &format!("/plans/{gold}"), None).await;
    assert_eq!((status, code(&answer)), (409, Some("plan_in_use")), "{answer}");
    assert!(answer["detail"].as_str().unwrap().contains(product["id"].as_str().unwrap()), "names the product: {answer}");
    let (status, answer) = admin.call(Method::DELETE, &format!("/apis/{api}"), None).await;
    assert_eq!((status, code(&answer)), (409, Some("api_in_product")), "{answer}");
    assert_eq!(admin.call(Method::GET, &format!("/plans/{gold}"), None).await.0, 200);
    assert_eq!(admin.call(Method::GET, &format!("/apis/{api}"), None).await.0, 200);

    // Once the product is gone, both go.
    assert_eq!(admin.call(Method::DELETE, &format!("/products/{}", product["id"].as_str().unwrap()), None).await.0, 204);
    assert_eq!(admin.call(Method::DELETE, &format!("/plans/{gold}"), None).await.0, 204);
    assert_eq!(admin.call(Method::DELETE, &format!("/apis/{api}"), None).await.0, 204);
}

#[tokio::test]
async fn products_and_plans_page_by_name() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let api = token_api(&admin, "/pay").await;
    let mut names: Vec<String> = ["Echo", "alpha", "Delta", "charlie", "Bravo"].iter().map(|s| s.to_string()).collect();
    for name in &names {
        let (status, body) = admin.call(Method::POST, "/products", Some(json!({"name": name, "apis": [api]}))).await;
        assert_eq!(status, 201, "{body}");
        create_plan(&admin, name).await;
    }
    names.sort_by_key(|n| n.to_lowercase());
    for list in ["/products", "/plans"] {
        let mut seen = Vec::new();
        let mut pages = 0;
        let mut path = format!("{list}?limit=2");
        loop {
            let (status, page) = admin.call(Method::GET, &path, None).await;
            assert_eq!(status, 200, "{page}");
            pages += 1;
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 2);
            seen.extend(items.iter().map(|p| p["name"].as_str().unwrap().to_string()));
            match page["next_cursor"].as_str() {
                Some(cursor) => path = format!("{list}?limit=2&cursor={cursor}"),
                None => break,
            }
            assert!(pages < 5, "the pages do not end");
        }
        assert_eq!(pages, 3, "{list}: 5 items by 2 are 3 pages");
        assert_eq!(seen, names, "{list}: every item once, by name");
    }
    // A cursor of one list is not another's.
    let (_, page) = admin.call(Method::GET, "/plans?limit=2", None).await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let (status, answer) = admin.call(Method::GET, &format!("/products?limit=2&cursor={cursor}"), None).await;
    assert_eq!((status, code(&answer)), (400, Some("invalid_cursor")));
}

#[tokio::test]
async fn patching_a_certificate_renames_it_and_replaces_its_links_atomically() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let pki = TestPki::new();
    let cert = admin.upload(&pki.leaf(&LeafSpec::client("alice"))).await;
    let (acme, globex, initech) =
        (create_org(&admin, "Acme").await, create_org(&admin, "Globex").await, create_org(&admin, "Initech").await);
    let path = format!("/certificates/{cert}");
    let orgs = |c: &Value| -> Vec<String> {
        let mut ids: Vec<String> = c["organisations"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_string()).collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };

    let (status, patched) = admin.call(Method::PATCH, &path, Some(json!({"name": " Alice's laptop ", "organisations": [acme, globex]}))).await;
    assert_eq!(status, 200, "{patched}");
    let (_, got) = admin.call(Method::GET, &path, None).await;
    // The answer is the certificate, with what the change did to credentials beside it.
    let mut certificate = patched.clone();
    let change = certificate.as_object_mut().unwrap().remove("change").unwrap();
    assert_eq!(certificate.as_object_mut().unwrap().remove("dry_run"), Some(json!(false)));
    assert_eq!(got, certificate);
    assert_eq!(change["credentials_stop_working"], 0, "no credential uses it: {change}");
    assert_eq!((got["display_name"].as_str(), got["label"].as_str()), (Some("Alice's laptop"), Some("Alice's laptop")));
    assert_eq!(orgs(&got), sorted(vec![acme.clone(), globex.clone()]));

    // `organisations` replaces the set; a field left out is kept.
    let (status, _) = admin.call(Method::PATCH, &path, Some(json!({"organisations": [initech]}))).await;
    assert_eq!(status, 200);
    let (_, got) = admin.call(Method::GET, &path, None).await;
    assert_eq!((got["display_name"].as_str(), orgs(&got)), (Some("Alice's laptop"), vec![initech.clone()]));
    let (status, _) = admin.call(Method::PATCH, &path, Some(json!({"name": "Alice"}))).await;
    assert_eq!(status, 200);
    // `days_left` is read from the clock (it turns over a second after issuance): not compared.
    let stored = |mut view: serde_json::Value| {
        view.as_object_mut().map(|o| o.remove("days_left"));
        view
    };
    let (_, before) = admin.call(Method::GET, &path, None).await;
    assert_eq!((before["display_name"].as_str(), orgs(&before)), (Some("Alice"), vec![initech.clone()]));
    let before = stored(before);

    // Refusals change nothing, not even the valid half of the body.
    for (body, status, expected) in [
        (json!({"name": "Renamed", "organisations": [acme, "org_missing"]}), 400, "unknown_organisation"),
        (json!({"name": "x".repeat(101), "organisations": [acme]}), 400, "invalid_name"),
        (json!({"name": "bad\u{7}name"}), 400, "invalid_name"),
        (json!({"name": "Renamed", "owner": "me"}), 400, "invalid_json"),
        (json!({"organisations": "org"}), 400, "invalid_json"),
    ] {
        let (got_status, answer) = admin.call(Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!((got_status, code(&answer)), (status, Some(expected)), "{body}: {answer}");
        let (_, after) = admin.call(Method::GET, &path, None).await;
        assert_eq!(stored(after), before, "{body} changed the certificate");
    }
    let (status, answer) = admin.call(Method::PATCH, &format!("/certificates/{}", "0".repeat(64)), Some(json!({"name": "x"}))).await;
    assert_eq!((status, code(&answer)), (404, Some("not_found")));

    // An empty name clears it (the label falls back to the CN); `[]` unlinks every organisation.
    let (status, cleared) = admin.call(Method::PATCH, &path, Some(json!({"name": "", "organisations": []}))).await;
    assert_eq!(status, 200, "{cleared}");
    assert_eq!((&cleared["display_name"], cleared["label"].as_str(), orgs(&cleared)), (&Value::Null, Some("alice"), vec![]));
    // The organisation filter of the list follows the links.
    assert!(list_all(&server, &format!("/api/v1/certificates?organisation={initech}")).await.is_empty());
}

/// A product edit changes where its live credentials are granted, from the answer on: an API
/// added to a Managed product takes the organisation's certificate and token at once, and one
/// taken out refuses them.
#[tokio::test]
async fn a_product_edit_reaches_the_gateway_before_the_answer() {
    use rustls::pki_types::pem::PemObject;
    use support::gateway::{connect_with, echo_upstream};

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_in(&data, &["--demo"]);
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let api = |name: &str| {
        json!({"name": name, "listen_path": format!("/{name}"), "upstream_url": format!("http://{upstream}/"), "auth": "auth_token",
               "mtls": {"required": true}})
    };
    let (shop, more) = (admin.create_api(api("shop")).await, admin.create_api(api("more")).await);
    let gold = create_plan(&admin, "Gold").await;
    let product = |apis: Value| json!({"name": "Shop", "apis": apis, "plans": [gold], "published": true});
    let (status, created) = admin.call(Method::POST, "/products", Some(product(json!([shop])))).await;
    assert_eq!(status, 201, "{created}");
    let product_id = created["id"].as_str().unwrap().to_string();

    // The demo consumer of Acme Corp gets a credential for the product.
    let consumer = support::client();
    support::sign_in(&consumer, &server, "dev@acme.example", "demo-consumer-password").await;
    let portal = |path: &str| server.url(&format!("/api/v1/portal{path}"));
    let app: Value = consumer.post(portal("/apps")).json(&json!({"name": "Checkout"})).send().await.unwrap().json().await.unwrap();
    let app = app["id"].as_str().unwrap().to_string();
    let ask = json!({"product": product_id, "plan": gold});
    let request: Value =
        consumer.post(portal(&format!("/apps/{app}/access-requests"))).json(&ask).send().await.unwrap().json().await.unwrap();
    let (status, _) = admin.call(Method::POST, &format!("/access-requests/{}/approve", request["id"].as_str().unwrap()), None).await;
    assert_eq!(status, 200);
    let credentials: Value = consumer.get(portal(&format!("/apps/{app}/credentials"))).send().await.unwrap().json().await.unwrap();
    let credential = credentials["items"][0]["id"].as_str().unwrap().to_string();
    let minted: Value = consumer.post(portal(&format!("/credentials/{credential}/token"))).send().await.unwrap().json().await.unwrap();
    let bearer = format!("Bearer {}", minted["token"].as_str().unwrap());

    let cert_pem = std::fs::read(data.join("demo/client.crt")).unwrap();
    let key_pem = std::fs::read_to_string(data.join("demo/client.key")).unwrap();
    let der = rustls::pki_types::CertificateDer::from_pem_slice(&cert_pem).unwrap().to_vec();
    let mut acme = connect_with(&server, &[der], Some(&key_pem), "localhost").await;
    assert_eq!(acme.get("/shop/x", &[("authorization", &bearer)]).await.status, 200);
    assert_eq!(acme.get("/more/x", &[("authorization", &bearer)]).await.code(), "client_certificate_not_allowed");

    let (status, answer) = admin.call(Method::PUT, &format!("/products/{product_id}"), Some(product(json!([shop, more])))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(acme.get("/more/x", &[("authorization", &bearer)]).await.status, 200, "the added API grants at once");
    let (status, answer) = admin.call(Method::PUT, &format!("/products/{product_id}"), Some(product(json!([more])))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(acme.get("/shop/x", &[("authorization", &bearer)]).await.code(), "client_certificate_not_allowed", "the API taken out refuses");
    assert_eq!(acme.get("/more/x", &[("authorization", &bearer)]).await.status, 200);
}
