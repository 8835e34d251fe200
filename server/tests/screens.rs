//! Screens that do not surprise, through the real binary: a destructive action says first what
//! stops working, counted from the store, and needs its box ticked (the server checks it too);
//! the API page shows where and how to call the API, only its kind's settings, its admin keys
//! (the token in the issuing answer only) and the warning while it refuses every request; a
//! signed-in visitor of the other portal is told they lack access (403), not redirected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use certgate_testpki::{LeafSpec, TestPki};
use reqwest::Method;
use serde_json::json;
use support::gateway::{connect, echo_upstream, Admin};
use support::{call_server_fn as call, client, Server, ADMIN_EMAIL, ADMIN_PASSWORD};

const PW: &str = "a consumer's long password";

/// A page's HTML with the character references of quotes and ampersands read back, so
/// assertions can use plain text (angle brackets stay escaped: they would end a text early).
async fn html(c: &reqwest::Client, server: &Server, path: &str) -> String {
    support::page(c, server, path)
        .await
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

async fn admin_portal(server: &Server) -> reqwest::Client {
    support::signed_in(server, ADMIN_EMAIL, ADMIN_PASSWORD).await
}

async fn organisation(admin: &Admin, name: &str) -> String {
    let (status, body) = admin.call(Method::POST, "/organisations", Some(json!({"name": name}))).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// A consumer of `org`, signed in.
async fn consumer(server: &Server, admin: &Admin, org: &str, email: &str) -> reqwest::Client {
    let (status, body) = admin.call(Method::POST, "/users", Some(json!({"email": email, "password": PW, "organisation": org, "role": "org_admin"}))).await;
    assert_eq!(status, 201, "{body}");
    support::signed_in(server, email, PW).await
}

/// The opening tag of the element `data-testid="<id>"`.
fn tag_of<'a>(html: &'a str, id: &str) -> &'a str {
    let marker = format!("data-testid=\"{id}\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no {id}"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

/// The text of the elements `data-testid="<id>"` (up to their first child tag), angle brackets
/// read back.
fn texts(html: &str, id: &str) -> Vec<String> {
    let marker = format!("data-testid=\"{id}\"");
    html.match_indices(&marker)
        .map(|(at, _)| {
            let start = at + html[at..].find('>').unwrap() + 1;
            html[start..start + html[start..].find('<').unwrap()].replace("&lt;", "<").replace("&gt;", ">")
        })
        .collect()
}

#[tokio::test]
async fn the_api_page_says_where_and_how_to_call_it_shows_its_kind_only_and_warns_while_it_refuses_everything() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let orders = admin
        .create_api(json!({"name": "Orders", "listen_path": "/orders", "upstream_url": format!("http://{upstream}/"), "auth": "auth_token",
            "mtls": {"required": true}}))
        .await;
    let portal = admin_portal(&server).await;
    let page = html(&portal, &server, &format!("/admin/apis/{orders}")).await;
    assert!(page.contains("data-testid=\"refuses-everything\""), "mTLS with an empty allow list is called out");
    assert!(page.contains("This API refuses every request"));
    let url = texts(&page, "gateway-url").pop().unwrap();
    assert!(url.starts_with("https://") && url.ends_with("/orders"), "{url}");
    let curl = texts(&page, "curl-example").pop().unwrap();
    assert_eq!(curl, format!("curl --cacert gateway-ca.pem --cert client.crt --key client.key -H \"Authorization: Bearer <token>\" {url}"));
    assert!(page.contains("aria-label=\"Copy the curl example\""));
    // A token API: its JWT settings are shown only while JWT is chosen (CSS `.jwt-only`; the
    // browser test selects it), its admin keys shown.
    assert!(tag_of(&page, "jwt-settings").contains("jwt-only"), "{}", tag_of(&page, "jwt-settings"));
    assert!(page.contains("data-testid=\"no-keys\""));
    assert!(page.contains(">Issue a key<"));

    // A certificate on the allow list: no warning any more.
    let pki = TestPki::new();
    let cert = admin.upload(&pki.leaf(&LeafSpec::client("acme-client"))).await;
    let (status, body) = call(&portal, &server, "allow_api_certificate", &[("id", &orders), ("certificate_id", &cert)]).await;
    assert_eq!(status, 200, "{body}");
    let page = html(&portal, &server, &format!("/admin/apis/{orders}")).await;
    assert!(!page.contains("refuses-everything"), "the warning is gone once a certificate is admitted");

    // An API without authentication or mTLS: no header, no client certificate, no keys.
    let open = admin
        .create_api(json!({"name": "Open", "listen_path": "/open", "upstream_url": format!("http://{upstream}/"), "auth": "none", "mtls": {"required": false}}))
        .await;
    let page = html(&portal, &server, &format!("/admin/apis/{open}")).await;
    let curl = texts(&page, "curl-example").pop().unwrap();
    assert!(curl.starts_with("curl --cacert gateway-ca.pem https://") && curl.ends_with("/open"), "{curl}");
    assert!(!page.contains("refuses-everything") && !page.contains(">Issue a key<"), "no mTLS warning and no keys on an open API");
}

#[tokio::test]
async fn admin_keys_are_issued_with_the_token_once_and_revoked_only_with_the_box_ticked() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let orders = admin.create_api(json!({"name": "Orders", "listen_path": "/orders", "upstream_url": format!("http://{upstream}/"), "auth": "auth_token"})).await;
    let billing = admin.create_api(json!({"name": "Billing", "listen_path": "/billing", "upstream_url": format!("http://{upstream}/"), "auth": "auth_token"})).await;
    let portal = admin_portal(&server).await;

    let (status, issued) = call(&portal, &server, "issue_api_key", &[("api", &orders)]).await;
    assert_eq!(status, 200, "{issued}");
    let (key, token) = (issued["key"]["id"].as_str().unwrap().to_string(), issued["token"].as_str().unwrap().to_string());
    assert_eq!(issued["key"]["apis"], json!(["Orders"]));
    let bearer = format!("Bearer {token}");
    let mut conn = connect(&server, &[], "localhost").await;
    assert_eq!(conn.get("/orders/x", &[("authorization", &bearer)]).await.status, 200, "the issued token works");

    // Listed with what revoking it stops; the token itself is on no page.
    let page = html(&portal, &server, &format!("/admin/apis/{orders}")).await;
    assert!(page.contains(&key) && !page.contains(&token));
    assert!(page.contains("Its token is refused on API Orders from the next request."), "the revocation's impact");
    assert!(page.contains(&format!("Revoke {key}")) && page.contains(&format!("Yes, revoke {key}")));
    let (_, listed) = call(&portal, &server, "list_api_keys", &[("api", &billing)]).await;
    assert_eq!(listed, json!([]), "another API's page does not list it");

    // Not without the box; not through another API's page; nothing changes either way.
    let (status, body) = call(&portal, &server, "revoke_api_key", &[("api", &orders), ("key", &key)]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("confirmation_required")), "{body}");
    let (status, body) = call(&portal, &server, "revoke_api_key", &[("api", &billing), ("key", &key), ("confirm", "yes")]).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{body}");
    assert_eq!(conn.get("/orders/x", &[("authorization", &bearer)]).await.status, 200, "still works");

    let (status, done) = call(&portal, &server, "revoke_api_key", &[("api", &orders), ("key", &key), ("confirm", "yes")]).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done.as_str().unwrap(), format!("Revoked {key}: its token is refused on API Orders from the next request."));
    assert_eq!(conn.get("/orders/x", &[("authorization", &bearer)]).await.code(), "credential_invalid", "refused from the next request");
    assert_eq!(admin.call(Method::GET, &format!("/keys/{key}"), None).await.0, 404);
}

#[tokio::test]
async fn deleting_an_api_says_which_keys_stop_and_is_refused_while_a_product_holds_it() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let api = |name: &str, path: &str| json!({"name": name, "listen_path": path, "upstream_url": format!("http://{upstream}/"), "auth": "auth_token"});
    let orders = admin.create_api(api("Orders", "/orders")).await;
    let billing = admin.create_api(api("Billing", "/billing")).await;
    let held = admin.create_api(api("Held", "/held")).await;
    let (only, _) = admin.create_key(json!({"apis": [orders]})).await;
    let (both, both_token) = admin.create_key(json!({"apis": [orders, billing]})).await;
    admin.create_key(json!({"apis": [billing]})).await;
    let (status, body) = admin.call(Method::POST, "/plans", Some(json!({"name": "Basic"}))).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = admin.call(Method::POST, "/products", Some(json!({"name": "Shop", "apis": [held], "plans": [body["id"]]}))).await;
    assert_eq!(status, 201, "{body}");
    let portal = admin_portal(&server).await;

    let page = html(&portal, &server, &format!("/admin/apis/{orders}")).await;
    // The deletion's lines (the page streams its sections, so they are found by their words;
    // each key's row has its own revocation lines).
    let lines = texts(&page, "impact-line");
    for said in [
        "Requests to /orders get 404 from the next request.",
        "1 admin key grants only this API: it stops working.",
        "1 admin key loses access to this API (and keeps its other APIs).",
    ] {
        assert_eq!(lines.iter().filter(|l| *l == said).count(), 1, "{said} in {lines:?}");
    }
    assert!(!lines.iter().any(|l| l.contains("No admin key grants")), "{lines:?}");
    assert!(page.contains("Yes, delete this API") && !page.contains("impact-refusal"));

    // The box is checked by the server too; nothing is deleted without it.
    let (status, body) = call(&portal, &server, "delete_api", &[("id", &orders)]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("confirmation_required")), "{body}");
    assert_eq!(admin.call(Method::GET, &format!("/apis/{orders}"), None).await.0, 200);

    let r = portal.post(server.url("/fn/delete_api")).form(&[("id", orders.as_str()), ("confirm", "yes")]).send().await.unwrap();
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    assert_eq!(admin.call(Method::GET, &format!("/apis/{orders}"), None).await.0, 404);
    assert_eq!(admin.call(Method::GET, &format!("/keys/{both}"), None).await.1["apis"], json!([billing]), "the other key keeps Billing");
    let mut conn = connect(&server, &[], "localhost").await;
    assert_eq!(conn.get("/billing/x", &[("authorization", &format!("Bearer {both_token}"))]).await.status, 200);
    assert!(admin.call(Method::GET, &format!("/keys/{only}"), None).await.1["apis"].as_array().is_none_or(Vec::is_empty));
    // The list says what happened, at the address the answer gives (its notice signed); the
    // same notice typed by hand is dropped (303 to the list).
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/admin/apis?deleted=Orders&__mark="), "{location}");
    let page = html(&portal, &server, &location).await;
    assert_eq!(texts(&page, "deleted"), ["API “Orders” deleted."]);
    let typed = portal.get(server.url("/admin/apis?deleted=Anything")).send().await.unwrap();
    assert_eq!((typed.status().as_u16(), typed.headers()["location"].to_str().unwrap()), (303, "/admin/apis"));

    // In a product: the page says why it cannot be deleted, and the deletion is refused.
    let page = html(&portal, &server, &format!("/admin/apis/{held}")).await;
    let refusal = texts(&page, "impact-refusal").pop().unwrap();
    assert!(refusal.contains("The API is in product Shop"), "{refusal}");
    let (status, body) = call(&portal, &server, "delete_api", &[("id", &held), ("confirm", "yes")]).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("api_in_product")), "{body}");
    let (status, _) = call(&portal, &server, "api_delete_impact", &[("id", "api_nosuch")]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn deleting_an_organisation_says_what_still_belongs_to_it_and_then_deletes_it() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let acme = organisation(&admin, "Acme Corp").await;
    let empty = organisation(&admin, "Empty & Co").await;
    let _member = consumer(&server, &admin, &acme, "dana@acme.example").await;
    let portal = admin_portal(&server).await;

    let page = html(&portal, &server, &format!("/admin/organisations/{acme}")).await;
    let refusal = texts(&page, "impact-refusal").pop().unwrap();
    assert!(refusal.contains("The organisation still has 1 user(s)"), "{refusal}");
    assert!(tag_of(&page, "impact-refusal").contains("alert"));
    let (status, body) = call(&portal, &server, "delete_organisation", &[("id", &acme), ("confirm", "yes")]).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("organisation_in_use")), "{body}");

    let page = html(&portal, &server, &format!("/admin/organisations/{empty}")).await;
    assert_eq!(texts(&page, "impact-line"), ["Nothing belongs to it any more (no user, app or certificate link): nothing stops working."]);
    let (status, body) = call(&portal, &server, "delete_organisation", &[("id", &empty)]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("confirmation_required")));
    let r = portal.post(server.url("/fn/delete_organisation")).form(&[("id", empty.as_str()), ("confirm", "yes")]).send().await.unwrap();
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    assert_eq!(admin.call(Method::GET, &format!("/organisations/{empty}"), None).await.0, 404);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/admin/organisations?deleted=Empty%20%26%20Co&__mark="), "{location}");
    let page = html(&portal, &server, &location).await;
    assert_eq!(texts(&page, "deleted"), ["Organisation “Empty & Co” deleted."]);
}

#[tokio::test]
async fn consumers_cannot_call_the_admin_functions_of_these_screens() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let upstream = echo_upstream().await;
    let orders = admin.create_api(json!({"name": "Orders", "listen_path": "/orders", "upstream_url": format!("http://{upstream}/"), "auth": "auth_token"})).await;
    let (key, token) = admin.create_key(json!({"apis": [orders]})).await;
    let acme = organisation(&admin, "Acme Corp").await;
    let other = organisation(&admin, "Other").await;
    let dana = consumer(&server, &admin, &acme, "dana@acme.example").await;
    let calls: [(&str, Vec<(&str, &str)>); 7] = [
        ("api_delete_impact", vec![("id", &orders)]),
        ("delete_api", vec![("id", &orders), ("confirm", "yes")]),
        ("list_api_keys", vec![("api", &orders)]),
        ("issue_api_key", vec![("api", &orders)]),
        ("revoke_api_key", vec![("api", &orders), ("key", &key), ("confirm", "yes")]),
        ("organisation_delete_impact", vec![("id", &other)]),
        ("delete_organisation", vec![("id", &acme), ("confirm", "yes")]),
    ];
    for (function, form) in &calls {
        let (status, body) = call(&dana, &server, function, form).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{function}: {body}");
        assert!(!body.to_string().contains("cgk_") && !body.to_string().contains(&token));
        let (status, _) = call(&client(), &server, function, form).await;
        assert_eq!(status, 401, "{function} anonymously");
    }
    // Nothing changed.
    assert_eq!(admin.call(Method::GET, &format!("/apis/{orders}"), None).await.0, 200);
    assert_eq!(admin.call(Method::GET, &format!("/keys/{key}"), None).await.0, 200);
    assert_eq!(admin.call(Method::GET, &format!("/organisations/{acme}"), None).await.0, 200);
}

#[tokio::test]
async fn a_signed_in_visitor_of_the_other_portal_is_told_they_lack_access() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let acme = organisation(&admin, "Acme Corp").await;
    let dana = consumer(&server, &admin, &acme, "dana@acme.example").await;

    let r = dana.get(server.url("/admin/apis")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let page = r.text().await.unwrap();
    assert!(page.contains("You do not have access to this page") && page.contains("part of the admin portal"), "{page}");
    assert!(page.contains("href=\"/\" data-testid=\"no-access-home\">Go to your developer portal</a>"), "{page}");
    assert!(page.contains("signed in as <strong>dana@acme.example</strong>"), "{page}");
    assert!(page.contains("action=\"/fn/sign_out\""));
    // Her own pages still work; an anonymous visitor still goes to sign-in.
    assert_eq!(dana.get(server.url("/portal/apps")).send().await.unwrap().status(), 200);
    let r = client().get(server.url("/admin/apis")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/signin?next=/admin/apis"));

    // The reverse: an admin on a developer-portal page.
    let portal = admin_portal(&server).await;
    let r = portal.get(server.url("/portal/apps")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("part of the developer portal") && page.contains("href=\"/admin\" data-testid=\"no-access-home\">Go to the admin portal</a>"), "{page}");
    // The start page still takes an admin to the admin portal.
    let r = portal.get(server.url("/")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/admin"));
}
