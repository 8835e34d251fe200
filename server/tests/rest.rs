//! The REST edge: the OpenAPI document matches the routes served, and lists page with a cursor
//! bound to the caller. Against the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use support::*;

/// Every REST route the router serves, by hand: a route added without documentation, or
/// documented without being served, fails one of the tests below.
const SERVED: &[(&str, &str)] = &[
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/organisations"),
    ("post", "/api/v1/organisations"),
    ("get", "/api/v1/organisations/{id}"),
    ("put", "/api/v1/organisations/{id}"),
    ("delete", "/api/v1/organisations/{id}"),
    ("post", "/api/v1/organisations/{id}/suspend"),
    ("post", "/api/v1/organisations/{id}/resume"),
    ("get", "/api/v1/certificates"),
    ("post", "/api/v1/certificates"),
    ("get", "/api/v1/certificates/{id}"),
    ("patch", "/api/v1/certificates/{id}"),
    ("delete", "/api/v1/certificates/{id}"),
    ("get", "/api/v1/certificates/{id}/last-seen"),
    ("get", "/api/v1/apis"),
    ("post", "/api/v1/apis"),
    ("get", "/api/v1/apis/{id}"),
    ("put", "/api/v1/apis/{id}"),
    ("delete", "/api/v1/apis/{id}"),
    ("post", "/api/v1/apis/{id}/explain"),
    ("get", "/api/v1/apis/{id}/traffic"),
    ("get", "/api/v1/keys"),
    ("post", "/api/v1/keys"),
    ("get", "/api/v1/keys/{id}"),
    ("delete", "/api/v1/keys/{id}"),
    ("get", "/api/v1/plans"),
    ("post", "/api/v1/plans"),
    ("get", "/api/v1/plans/{id}"),
    ("put", "/api/v1/plans/{id}"),
    ("delete", "/api/v1/plans/{id}"),
    ("get", "/api/v1/products"),
    ("post", "/api/v1/products"),
    ("get", "/api/v1/products/{id}"),
    ("put", "/api/v1/products/{id}"),
    ("delete", "/api/v1/products/{id}"),
    ("get", "/api/v1/access-requests"),
    ("post", "/api/v1/access-requests/{id}/approve"),
    ("post", "/api/v1/access-requests/{id}/reject"),
    ("delete", "/api/v1/credentials/{id}"),
    ("get", "/api/v1/credentials"),
    ("get", "/api/v1/apps"),
    ("get", "/api/v1/subscriptions"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/portal/products"),
    ("get", "/api/v1/portal/products/{id}"),
    ("get", "/api/v1/portal/apps"),
    ("post", "/api/v1/portal/apps"),
    ("get", "/api/v1/portal/apps/{id}"),
    ("patch", "/api/v1/portal/apps/{id}"),
    ("delete", "/api/v1/portal/apps/{id}"),
    ("post", "/api/v1/portal/apps/{id}/access-requests"),
    ("delete", "/api/v1/portal/access-requests/{id}"),
    ("get", "/api/v1/portal/apps/{id}/credentials"),
    ("post", "/api/v1/portal/credentials/{id}/token"),
    ("post", "/api/v1/portal/credentials/{id}/rotate"),
    ("delete", "/api/v1/portal/credentials/{id}"),
    ("get", "/api/v1/portal/apps/{id}/subscriptions"),
    ("get", "/api/v1/portal/access-requests"),
    ("get", "/api/v1/portal/members"),
    ("post", "/api/v1/portal/members"),
    ("post", "/api/v1/portal/members/{id}/invite"),
    ("post", "/api/v1/portal/subscriptions/{id}/change-plan"),
    ("post", "/api/v1/portal/subscriptions/{id}/renewals"),
    ("post", "/api/v1/portal/subscriptions/{id}/retire-certificate"),
    ("get", "/api/v1/webhooks"),
    ("post", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks/{id}"),
    ("delete", "/api/v1/webhooks/{id}"),
    ("get", "/api/v1/webhooks/{id}/deliveries"),
    ("post", "/api/v1/webhooks/{id}/test"),
    ("post", "/api/v1/webhooks/{id}/enable"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("get", "/api/v1/users/{id}"),
    ("patch", "/api/v1/users/{id}"),
    ("post", "/api/v1/users/{id}/invite"),
    ("delete", "/api/v1/users/{id}/invite"),
    ("post", "/api/v1/users/{id}/reset-link"),
    ("delete", "/api/v1/users/{id}/reset-link"),
    ("post", "/api/v1/session"),
    ("delete", "/api/v1/session"),
    ("post", "/api/v1/invites/redeem"),
    ("post", "/api/v1/password-resets/redeem"),
    ("post", "/api/v1/sign-up"),
];

/// Routes anyone may call (no security in the document): they authenticate by what they carry.
const PUBLIC: &[(&str, &str)] = &[
    ("get", "/api/v1/openapi.json"),
    ("post", "/api/v1/session"),
    ("post", "/api/v1/invites/redeem"),
    ("post", "/api/v1/password-resets/redeem"),
    ("post", "/api/v1/sign-up"),
];
/// Routes of a consumer's own session (the cookie only, never the admin token).
/// Reads under an id that answer one object, not a list.
const READS_UNDER_AN_ID: &[&str] = &["/api/v1/apis/{id}/traffic", "/api/v1/certificates/{id}/last-seen"];

const SESSION_ONLY: &[(&str, &str)] = &[("delete", "/api/v1/session")];

fn listed(list: &[(&str, &str)], method: &str, path: &str) -> bool {
    list.iter().any(|(m, p)| *m == method && *p == path)
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

async fn openapi(server: &Server) -> Value {
    let r = client().get(server.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("content-type").unwrap(), "application/json");
    r.json().await.unwrap()
}

/// The (method, path) pairs the document lists.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert((method.to_string(), path.clone()));
            }
        }
    }
    out
}

fn request(c: &reqwest::Client, method: &str, url: String) -> reqwest::RequestBuilder {
    match method {
        "get" => c.get(url),
        "put" => c.put(url).json(&json!({})),
        "post" => c.post(url).json(&json!({})),
        "delete" => c.delete(url),
        _ => c.patch(url),
    }
}

async fn body_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_openapi_document_is_public_openapi_3_1_and_covers_only_api_v1() {
    let server = Server::start();
    // No token, no session: the document describes routes, never data.
    let doc = openapi(&server).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().unwrap();
    assert!(!paths.is_empty());
    for path in paths.keys() {
        assert!(path.starts_with("/api/v1/"), "{path} is outside /api/v1");
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["admin_token"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["in"], "cookie");

    // Every reference resolves.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/").skip(1).map(|rest| rest.split('"').next().unwrap()) {
        assert!(doc.pointer(&format!("/{reference}")).is_some(), "dangling $ref {reference}");
    }

    // Every operation but the public ones needs the admin (or the consumer's own session) and
    // says so, with problem+json refusals.
    for (method, path) in documented(&doc) {
        let operation = &doc["paths"][&path][&method];
        if listed(PUBLIC, &method, &path) {
            assert!(operation.get("security").is_none(), "{method} {path}");
            continue;
        }
        // The consumers' routes take their session only; every other route the admin.
        let expected = if listed(SESSION_ONLY, &method, &path) || path.starts_with("/api/v1/portal/") {
            json!([{"session": []}])
        } else {
            json!([{"admin_token": []}, {"session": []}])
        };
        assert_eq!(operation["security"], expected, "{method} {path}");
        for status in ["401", "403", "500"] {
            assert!(operation["responses"].get(status).is_some(), "{method} {path} lacks {status}");
        }
    }

    // Secrets are left out of the wire types by construction; the token only in a creation's answer.
    let schemas = &doc["components"]["schemas"];
    let properties = |name: &str| -> Vec<String> {
        let schema = &schemas[name];
        let mut out: Vec<String> = schema["properties"].as_object().map(|p| p.keys().cloned().collect()).unwrap_or_default();
        for part in schema["allOf"].as_array().into_iter().flatten() {
            out.extend(part["properties"].as_object().into_iter().flat_map(|p| p.keys().cloned()));
        }
        out
    };
    assert!(!properties("Key").iter().any(|p| p.contains("token")), "{:?}", properties("Key"));
    assert!(properties("NewKey").contains(&"token".to_string()), "{}", schemas["NewKey"]);
    assert!(!properties("JwtKey").iter().any(|p| p.contains("hmac_secret") && p != "hmac_secret_configured"));
    assert!(properties("JwtKey").contains(&"hmac_secret_configured".to_string()));
    assert!(!properties("User").iter().any(|p| p.contains("password") || p.contains("token")), "{:?}", properties("User"));
    for schema in ["CredentialSummary", "Subscription", "AuditEntry", "AdminApp", "CatalogueProduct", "CataloguePlan", "CatalogueApi"] {
        let props = properties(schema);
        assert!(!props.is_empty(), "{schema} is documented");
        let secret = |p: &String| (p.contains("token") && p != "token_lifetime_seconds") || p.contains("sha256") || p.contains("digest") || p.contains("secret");
        assert!(!props.iter().any(secret), "{schema}: {props:?}");
    }
    for page in [
        "Page_Organisation",
        "Page_Certificate",
        "Page_Api",
        "Page_Key",
        "Page_User",
        "Page_Plan",
        "Page_Product",
        "Page_AdminApp",
        "Page_Subscription",
        "Page_CredentialSummary",
        "Page_AuditEntry",
        "Page_CatalogueProduct",
    ] {
        let mut got = properties(page);
        got.sort();
        assert_eq!(got, ["items", "next_cursor"], "{page}");
    }

    // Anonymous callers are refused by every other documented route.
    let c = client();
    for (method, path) in documented(&doc) {
        if listed(PUBLIC, &method, &path) {
            continue;
        }
        let r = request(&c, &method, server.url(&path.replace("{id}", "x"))).send().await.unwrap();
        assert_eq!(r.status(), 401, "{method} {path} answered an anonymous caller");
    }
}

#[tokio::test]
async fn every_served_route_is_documented_and_every_documented_route_is_served() {
    let server = Server::start();
    let doc = openapi(&server).await;
    let documented = documented(&doc);
    let served: BTreeSet<(String, String)> = SERVED.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(undocumented.is_empty(), "served but not documented: {undocumented:?}");

    // Call each documented route as the admin with placeholder ids: it must reach a handler (which
    // may refuse the placeholder), never the router's unknown-route 404 or a 405.
    let c = client();
    for (method, path) in &documented {
        let url = server.url(&path.replace("{id}", "placeholder"));
        let (status, body) = body_of(request(&c, method, url).bearer_auth(ADMIN_TOKEN).send().await.unwrap()).await;
        assert_ne!(status, 405, "{method} {path}: {body}");
        assert!(
            !(status == 404 && body["detail"] == "No API route at this path."),
            "{method} {path} is documented but not served: {body}"
        );
        assert!(status < 500, "{method} {path}: {status} {body}");
    }
    // The probe can fail: an undocumented path does get the unknown-route answer.
    let (status, body) = body_of(c.get(server.url("/api/v1/placeholder")).bearer_auth(ADMIN_TOKEN).send().await.unwrap()).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("No API route at this path.")));
    let (status, body) = body_of(c.patch(server.url("/api/v1/keys")).bearer_auth(ADMIN_TOKEN).send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (405, Some("method_not_allowed")));
}

#[tokio::test]
async fn every_list_answers_one_page_and_a_next_cursor() {
    let server = Server::start();
    let doc = openapi(&server).await;
    let c = client();
    let lists: Vec<String> = documented(&doc)
        .into_iter()
        .filter(|(m, p)| m == "get" && !p.ends_with('}') && p != "/api/v1/openapi.json" && !READS_UNDER_AN_ID.contains(&p.as_str()))
        .map(|(_, p)| p)
        .collect();
    assert_eq!(lists.len(), 20, "{lists:?}");
    // The consumers' lists take a consumer session (tests/portal.rs pages them): here, their shape.
    // So do lists under an id (a webhook's deliveries: tests/webhooks.rs pages them).
    let (consumer_lists, lists): (Vec<String>, Vec<String>) = lists.into_iter().partition(|p| p.starts_with("/api/v1/portal/") || p.contains('{'));
    for list in consumer_lists {
        let params: Vec<&str> =
            doc["paths"][&list]["get"]["parameters"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
        assert!(params.contains(&"limit") && params.contains(&"cursor"), "{list}: {params:?}");
    }
    for list in lists {
        let params: Vec<&str> =
            doc["paths"][&list]["get"]["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert!(params.contains(&"limit") && params.contains(&"cursor"), "{list}: {params:?}");
        let response = c.get(server.url(&list)).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        // An answer to a bearer token is never kept by any cache.
        assert_eq!(response.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"), "{list}");
        let page: Value = response.json().await.unwrap();
        assert!(page["items"].is_array(), "{list}: {page}");
        assert_eq!(page.get("next_cursor"), Some(&Value::Null), "{list}: {page}");
        for limit in ["0", "201", "1000", "-1", "x"] {
            let (status, body) = body_of(c.get(server.url(&format!("{list}?limit={limit}"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap()).await;
            assert_eq!(status, 400, "{list}?limit={limit}: {body}");
        }
        let (status, body) = body_of(c.get(server.url(&format!("{list}?cursor=bogus"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap()).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("invalid_cursor")), "{list}");
    }
    // Neither is the metrics text, nor a refusal of a wrong token.
    for token in [ADMIN_TOKEN, "wrong-token"] {
        for path in ["/metrics", "/api/v1/apis"] {
            let response = c.get(server.url(path)).bearer_auth(token).send().await.unwrap();
            assert_eq!(response.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"), "{path} ({})", response.status());
        }
    }
    // Anonymous public answers are only revalidated.
    let public = c.get(server.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(public.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-cache"));
}

#[tokio::test]
async fn organisations_page_by_two_and_a_cursor_works_only_for_its_caller() {
    let server = Server::start();
    let c = client();
    let orgs = server.url("/api/v1/organisations");
    let mut names: Vec<String> = ["Echo", "alpha", "Delta", "charlie", "Bravo"].iter().map(|s| s.to_string()).collect();
    for name in &names {
        let r = c.post(&orgs).bearer_auth(ADMIN_TOKEN).json(&json!({"name": name})).send().await.unwrap();
        assert_eq!(r.status(), 201);
    }

    let mut seen = Vec::new();
    let mut cursors = Vec::new();
    let mut url = format!("{orgs}?limit=2");
    loop {
        let page: Value = c.get(&url).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|o| o["name"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                cursors.push(cursor.to_string());
                url = format!("{orgs}?limit=2&cursor={cursor}");
            }
            None => {
                assert!(page["next_cursor"].is_null());
                break;
            }
        }
        assert!(cursors.len() < 5, "the pages do not end");
    }
    assert_eq!(cursors.len(), 2, "5 items by 2 are 3 pages");
    names.sort_by_key(|n| n.to_lowercase());
    assert_eq!(seen, names, "every item once, by name");

    // Tampered: one character of the signed part changed, or the sort key swapped.
    let cursor = &cursors[0];
    let (key, tag) = cursor.split_once('.').unwrap();
    let flipped = if tag.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{key}.{flipped}{}", &tag[1..]);
    let (other_key, _) = cursors[1].split_once('.').unwrap();
    for bad in [tampered, format!("{other_key}.{tag}"), "not-a-cursor".to_string()] {
        let (status, body) = body_of(c.get(format!("{orgs}?limit=2&cursor={bad}")).bearer_auth(ADMIN_TOKEN).send().await.unwrap()).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("invalid_cursor")), "{bad}: {body}");
    }

    // The admin token's cursor, replayed by an admin's session: refused, not served.
    let admin = client();
    assert!(set_cookie(&sign_in(&admin, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await, "certgate_session").is_some());
    let r = admin.get(format!("{orgs}?limit=2")).send().await.unwrap();
    assert_eq!(r.status(), 200, "the session lists");
    let (status, body) = body_of(admin.get(format!("{orgs}?limit=2&cursor={cursor}")).send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_cursor")), "{body}");
    // ... and the reverse.
    let page: Value = admin.get(format!("{orgs}?limit=2")).send().await.unwrap().json().await.unwrap();
    let session_cursor = page["next_cursor"].as_str().unwrap();
    let (status, body) = body_of(c.get(format!("{orgs}?limit=2&cursor={session_cursor}")).bearer_auth(ADMIN_TOKEN).send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_cursor")), "{body}");
    // A list's cursor is not another list's.
    let (status, body) = body_of(c.get(server.url(&format!("/api/v1/keys?cursor={cursor}"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_cursor")), "{body}");

    for limit in ["0", "1000"] {
        let (status, body) = body_of(c.get(format!("{orgs}?limit={limit}")).bearer_auth(ADMIN_TOKEN).send().await.unwrap()).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("invalid_limit")), "{limit}: {body}");
    }
    // Unknown parameters are refused, not silently ignored.
    let (status, _) = body_of(c.get(format!("{orgs}?limt=2")).bearer_auth(ADMIN_TOKEN).send().await.unwrap()).await;
    assert_eq!(status, 400);
}
