//! The admin's certificate list and the API page's allow-list editor, rendered on the server
//! through the real listener: the list's filters live in the URL (a GET form, links), the
//! expiry counts cover the whole store and link to their filter, the list pages by 50, and the
//! API page carries its own allow list and a search, never the whole store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use certgate_testpki::{LeafSpec, TestPki};
use reqwest::Method;
use serde_json::{json, Value};
use support::gateway::Admin;
use support::{call_server_fn as call, page};
use support::{client, Server, ADMIN_EMAIL, ADMIN_PASSWORD};

async fn admin_portal(server: &Server) -> reqwest::Client {
    support::signed_in(server, ADMIN_EMAIL, ADMIN_PASSWORD).await
}

/// The number in the element `data-testid="<id>"`.
fn count(html: &str, id: &str) -> usize {
    let marker = format!("data-testid=\"{id}\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no {id}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    let end = start + html[start..].find('<').unwrap();
    html[start..end].trim().parse().unwrap()
}

/// The labels of the list's rows, in order.
fn labels(html: &str) -> Vec<String> {
    let marker = "data-testid=\"certificate-label\">";
    html.match_indices(marker)
        .map(|(at, _)| {
            let rest = &html[at + marker.len()..];
            rest[..rest.find('<').unwrap()].to_string()
        })
        .collect()
}

fn rows(html: &str) -> usize {
    html.matches("data-testid=\"certificate-row\"").count()
}

#[tokio::test]
async fn the_list_filters_by_expiry_bucket_and_its_counts_cover_the_store_and_link_to_the_filters() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let pki = TestPki::new();
    for spec in [
        LeafSpec::client("soon").expiring_in_days(5),
        LeafSpec::client("this-month").expiring_in_days(20),
        LeafSpec::client("next-year").expiring_in_days(200),
        LeafSpec::client("far-future").expiring_in_days(4000),
        LeafSpec::client("gone").expired(),
    ] {
        admin.upload(&pki.leaf(&spec)).await;
    }
    let portal = admin_portal(&server).await;
    // Page 1 of a filtered list: the counts still cover the whole store.
    let html = page(&portal, &server, "/admin/certificates?expiry=expired").await;
    assert_eq!(
        (count(&html, "expired-count"), count(&html, "expiring-7"), count(&html, "expiring-30"), count(&html, "expiring-later")),
        (1, 1, 2, 2)
    );
    assert_eq!(labels(&html), ["gone"]);
    for (bucket, testid) in [("expired", "expired-count-link"), ("7d", "expiring-7-link"), ("30d", "expiring-30-link"), ("later", "expiring-later-link")] {
        assert!(html.contains(&format!("href=\"/admin/certificates?expiry={bucket}\" data-testid=\"{testid}\"")), "{testid} links to its filter");
    }
    assert!(html.contains("aria-current=\"true\""), "the chosen bucket is marked");
    // Each count's link shows exactly that many rows, soonest expiry first.
    for (bucket, expected) in [("7d", vec!["soon"]), ("30d", vec!["soon", "this-month"]), ("later", vec!["next-year", "far-future"])] {
        let html = page(&portal, &server, &format!("/admin/certificates?expiry={bucket}")).await;
        assert_eq!(labels(&html), expected, "{bucket}");
    }
    // Far-future validity reads as a date; near ones in days.
    let html = page(&portal, &server, "/admin/certificates").await;
    assert_eq!(rows(&html), 5);
    assert!(html.contains(">Valid until 20"), "a date for the far-future certificate");
    assert!(html.contains(">4 day(s) left<") || html.contains(">5 day(s) left<"), "days for the soon one");
    assert!(!html.contains("3999 day(s)") && !html.contains("4000 day(s)"));
    // The filter form is a GET form whose controls are labelled and keep their values.
    let html = page(&portal, &server, "/admin/certificates?q=SOON&kind=leaf&usable=yes&sort=name").await;
    assert_eq!(labels(&html), ["soon"]);
    assert!(html.contains("<form method=\"get\" action=\"/admin/certificates\""));
    for (id, label) in [("cert-q", "Search"), ("cert-org", "Organisation"), ("cert-kind", "Type"), ("cert-expiry", "Expiry"), ("cert-usable", "Usable for client authentication"), ("cert-sort", "Sort by")] {
        assert!(html.contains(&format!("<label for=\"{id}\">{label}<")) && html.contains(&format!("id=\"{id}\"")), "{id} labelled");
    }
    assert!(html.contains("value=\"SOON\""), "the search box keeps the query");
    let html = page(&portal, &server, "/admin/certificates?usable=no").await;
    assert_eq!(labels(&html), ["gone"], "the expired leaf is the only unusable one");

    // A bad value: a 400 from the function, a clear message on the page, nothing listed.
    let (status, body) = call(&portal, &server, "certificate_list", &[("expiry", "soonish")]).await;
    assert_eq!(status, 400, "{body}");
    let html = page(&portal, &server, "/admin/certificates?expiry=soonish").await;
    assert!(html.contains("expiry must be") && rows(&html) == 0, "{html}");
}

#[tokio::test]
async fn the_list_pages_by_fifty_with_links_that_keep_the_filters() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let pki = TestPki::new();
    for n in 0..55 {
        admin.upload(&pki.leaf(&LeafSpec::client(&format!("client-{n:02}")))).await;
    }
    admin.upload(&pki.intermediate).await;
    let portal = admin_portal(&server).await;
    let html = page(&portal, &server, "/admin/certificates?kind=leaf&sort=name").await;
    assert_eq!(rows(&html), 50);
    assert!(html.contains("Page 1 of 2 (55 certificates)"), "{html}");
    assert!(html.contains("href=\"/admin/certificates?kind=leaf&amp;sort=name&amp;page=2\" rel=\"next\""), "next keeps the filters");
    let second = page(&portal, &server, "/admin/certificates?kind=leaf&sort=name&page=2").await;
    assert_eq!(labels(&second), ["client-50", "client-51", "client-52", "client-53", "client-54"]);
    assert!(second.contains("Page 2 of 2 (55 certificates)"));
    assert!(second.contains("href=\"/admin/certificates?kind=leaf&amp;sort=name\" rel=\"prev\""), "previous is page 1");
    assert!(!second.contains("rel=\"next\""));
    // Past the end: the last page. The first page has none of the second's.
    let beyond = page(&portal, &server, "/admin/certificates?kind=leaf&sort=name&page=9").await;
    assert_eq!(labels(&beyond).len(), 5);
    assert!(!labels(&html).iter().any(|l| l == "client-50"));
    // A search over the whole store, not the page; the CA is a filter away.
    let html = page(&portal, &server, "/admin/certificates?q=client-53").await;
    assert_eq!(labels(&html), ["client-53"]);
    let html = page(&portal, &server, "/admin/certificates?kind=ca").await;
    assert_eq!(labels(&html), ["certgate test intermediate CA"]);
}

#[tokio::test]
async fn the_api_page_carries_its_allow_list_and_a_search_never_the_store() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let pki = TestPki::new();
    let pinned = admin.upload(&pki.leaf(&LeafSpec::client("pinned-one"))).await;
    let mut others = Vec::new();
    for n in 0..25 {
        others.push(admin.upload(&pki.leaf(&LeafSpec::client(&format!("other-{n:02}")))).await);
    }
    let api = admin
        .create_api(json!({"name": "Pinned", "listen_path": "/pinned", "upstream_url": "http://127.0.0.1:9/", "auth": "auth_token",
                           "mtls": {"required": true, "allowed_certificates": [pinned]}}))
        .await;
    let portal = admin_portal(&server).await;
    let html = page(&portal, &server, &format!("/admin/apis/{api}")).await;
    assert!(html.contains("pinned-one"), "its own entry");
    for (n, id) in others.iter().enumerate() {
        assert!(!html.contains(&format!("other-{n:02}")) && !html.contains(id.as_str()), "other-{n:02} is not on its allow list");
    }
    assert!(html.contains("<label for=\"allow-find\">"), "the search is labelled");
    assert!(!html.contains("data-testid=\"allow-choice\""), "no choices before a search");

    // A search: at most 20 matches, each with its own named "Add", never one already listed.
    let html = page(&portal, &server, &format!("/admin/apis/{api}?find=other")).await;
    assert_eq!(html.matches("data-testid=\"allow-choice\"").count(), 20);
    assert!(html.contains("aria-label=\"Add other-00 (") && html.contains("to the allow list\""));
    assert!(html.contains("type more to narrow them"));
    let html = page(&portal, &server, &format!("/admin/apis/{api}?find=other-07")).await;
    assert_eq!(html.matches("data-testid=\"allow-choice\"").count(), 1);
    let html = page(&portal, &server, &format!("/admin/apis/{api}?find=pinned")).await;
    assert!(html.contains("data-testid=\"allow-choices-none\""), "the pinned one is already listed");
    let (status, found) = call(&portal, &server, "allow_list_choices", &[("id", api.as_str()), ("q", &others[3][..16])]).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found.as_array().unwrap().len(), 1, "by fingerprint start: {found}");
    assert_eq!((found[0]["id"].as_str(), found[0]["pem"].as_str()), (Some(others[3].as_str()), Some("")), "no PEM in a choice");
    let (status, _) = call(&portal, &server, "allow_list_choices", &[("id", "api_nope"), ("q", "other")]).await;
    assert_eq!(status, 404);

    // Adding a found certificate through the form's server function.
    let (status, body) = call(&portal, &server, "allow_api_certificate", &[("id", api.as_str()), ("certificate_id", others[3].as_str())]).await;
    assert_eq!(status, 200, "{body}");
    let html = page(&portal, &server, &format!("/admin/apis/{api}?find=other-03")).await;
    assert!(html.contains("data-testid=\"allow-choices-none\""), "now listed, no longer offered");

    // Neither function answers a visitor without a session.
    for (function, form) in [("certificate_list", vec![]), ("allow_list_choices", vec![("id", api.as_str()), ("q", "other")])] {
        let (status, body) = call(&client(), &server, function, &form).await;
        assert_eq!(status, 401, "{function}: {body}");
        assert!(!body.to_string().contains("other-"), "{function}");
    }
}

#[tokio::test]
async fn the_rest_list_takes_the_expiry_and_usable_filters() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let pki = TestPki::new();
    admin.upload(&pki.leaf(&LeafSpec::client("soon").expiring_in_days(3))).await;
    admin.upload(&pki.leaf(&LeafSpec::client("later").expiring_in_days(90))).await;
    admin.upload(&pki.leaf(&LeafSpec::client("gone").expired())).await;
    admin.upload(&pki.intermediate).await;
    let labels = |v: &Value| v["items"].as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    for (query, expected) in [
        ("expiry=7d", vec!["soon"]),
        ("expiry=expired", vec!["gone"]),
        ("expiry=later&kind=leaf", vec!["later"]),
        ("usable=no", vec!["gone", "certgate test intermediate CA"]),
        ("usable=yes&q=LATER", vec!["later"]),
    ] {
        let (status, body) = admin.call(Method::GET, &format!("/certificates?{query}"), None).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(labels(&body), expected, "{query}");
    }
    // Paged by cursor with a filter.
    let (_, first) = admin.call(Method::GET, "/certificates?usable=yes&limit=1", None).await;
    assert_eq!(labels(&first), ["soon"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = admin.call(Method::GET, &format!("/certificates?usable=yes&limit=1&cursor={cursor}"), None).await;
    assert_eq!((labels(&second), second["next_cursor"].is_null()), (vec!["later".to_string()], true));
    for bad in ["expiry=soon", "usable=maybe"] {
        let (status, body) = admin.call(Method::GET, &format!("/certificates?{bad}"), None).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("invalid_filter")), "{bad}: {body}");
    }
}

#[tokio::test]
async fn with_many_organisations_the_filter_is_the_search_and_a_chosen_one_shows_by_name() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let mut organisations = Vec::new();
    for n in 0..101 {
        let (status, org) = admin.call(Method::POST, "/organisations", Some(json!({"name": format!("Tenant {n:03}")}))).await;
        assert_eq!(status, 201, "{org}");
        organisations.push(org["id"].as_str().unwrap().to_string());
    }
    let pki = TestPki::new();
    let linked = admin.upload(&pki.leaf(&LeafSpec::client("tenant-fifty"))).await;
    admin.upload(&pki.leaf(&LeafSpec::client("unlinked"))).await;
    let (status, body) = admin.call(Method::PATCH, &format!("/certificates/{linked}"), Some(json!({"organisations": [organisations[50]]}))).await;
    assert_eq!(status, 200, "{body}");
    let portal = admin_portal(&server).await;
    let html = page(&portal, &server, "/admin/certificates").await;
    assert!(!html.contains("id=\"cert-org\"") && !html.contains("Tenant 007"), "101 organisations are not offered one by one");
    // Their names are searched.
    let html = page(&portal, &server, "/admin/certificates?q=tenant%20050").await;
    assert_eq!(labels(&html), ["tenant-fifty"]);
    // A link with an organisation id (as shared) names it, keeps it in the form, and can drop it.
    let html = page(&portal, &server, &format!("/admin/certificates?org={}&sort=name", organisations[50])).await;
    assert_eq!(labels(&html), ["tenant-fifty"]);
    let chip = &html[html.find("data-testid=\"organisation-filter\"").expect("the chosen organisation")..];
    assert!(chip.contains(&format!("name=\"org\" value=\"{}\"", organisations[50])) && chip.contains("Tenant 050"), "{chip}");
    assert!(chip.contains("href=\"/admin/certificates?sort=name\""), "{chip}");
    assert!(!html.contains("Tenant 051"));
}
