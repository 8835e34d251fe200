//! The admin dashboard and the traffic screens, rendered by the real binary after real mTLS
//! requests through its gateway (the demo's data): counts that link to their lists, the last
//! hour's requests and denials, charts drawn on the server, an app's traffic for its own
//! organisation only, and the certificate list's "never used" filter.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use support::demo::demo;
use support::{call_server_fn as call, page, signed_in, ADMIN_EMAIL, ADMIN_PASSWORD};

/// The number in the dashboard count `data-testid="<id>"`.
fn count(html: &str, id: &str) -> u64 {
    let marker = format!("data-testid=\"{id}\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no {id} in {html}"));
    let rest = &html[at..];
    let value = rest.find("dash-stat-value").unwrap_or_else(|| panic!("no value for {id}"));
    let start = value + rest[value..].find('>').unwrap() + 1;
    let end = start + rest[start..].find('<').unwrap();
    rest[start..end].trim().replace(',', "").parse().unwrap_or_else(|_| panic!("{id}: {:?}", &rest[start..end]))
}

#[tokio::test]
async fn the_dashboard_counts_what_the_gateway_answered_and_draws_it() {
    let demo = demo().await;
    let admin = signed_in(&demo.server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let before = page(&admin, &demo.server, "/admin").await;
    let (_, apis) = demo.admin.call(reqwest::Method::GET, "/apis", None).await;
    assert_eq!(count(&before, "count-apis"), apis["items"].as_array().unwrap().len() as u64);
    assert!(count(&before, "count-credentials") >= 3, "the demo's minted tokens are live");
    assert_eq!((count(&before, "count-requests-hour"), count(&before, "count-denials-hour")), (0, 0));
    assert!(before.contains(r#"href="/admin/access-requests?state=pending" data-testid="count-pending""#));
    assert!(before.contains("No requests in this period"), "an empty chart says so");

    // 4 answered by the upstream, 1 refused for binding (Globex's certificate, Acme's token).
    let mut acme = demo.connection("client").await;
    for _ in 0..4 {
        assert_eq!(demo.call_managed(&mut acme).await.0, 200);
    }
    let mut globex = demo.connection("globex").await;
    assert_eq!(demo.call_managed(&mut globex).await, (401, "certificate_binding_mismatch".to_string()));

    let after = page(&admin, &demo.server, "/admin").await;
    assert_eq!((count(&after, "count-requests-hour"), count(&after, "count-denials-hour")), (5, 1));
    assert!(after.contains("All APIs: 5 requests, 1 denied"), "the chart's accessible name sums it up");
    assert!(after.contains(">Echo, Managed (demo)</text>"), "the top APIs name the API");
    assert!(after.contains(">certificate_binding_mismatch</text>"), "denials by reason");
    assert!(after.contains("Traffic series in memory:"));
    assert!(!after.contains("<script>"), "no markup from data");

    // The API's own charts, and a bad window is a 400 with a stable code.
    let managed = apis["items"].as_array().unwrap().iter().find(|a| a["listen_path"] == "/demo-managed").unwrap()["id"].as_str().unwrap().to_string();
    let (status, charts) = call(&admin, &demo.server, "api_traffic", &[("id", &managed)]).await;
    assert_eq!(status, 200, "{charts}");
    assert!(charts[0]["svg"].as_str().unwrap().contains("Echo, Managed (demo): 5 requests, 1 denied"), "{charts}");
    let (status, month) = call(&admin, &demo.server, "api_traffic", &[("id", &managed), ("window", "month")]).await;
    assert_eq!(status, 200);
    assert!(month[0]["svg"].as_str().unwrap().contains("5 requests"), "the hour series holds them too");
    let (status, problem) = call(&admin, &demo.server, "api_traffic", &[("id", &managed), ("window", "year")]).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("invalid_window")));

    // Acme's certificate authenticated: not "never used" any more; Globex's did too (its
    // certificate passed the allow list before the binding refused the token).
    let never = page(&admin, &demo.server, "/admin/certificates?used=never").await;
    assert!(!never.contains(&format!("data-id=\"{}\"", demo.acme_cert_id)), "Acme's certificate was used");
    // The unfiltered list shows each row's last use (asked per row, not from a whole map).
    let list = page(&admin, &demo.server, "/admin/certificates").await;
    let row = list.split("data-testid=\"certificate-row\"").find(|r| r.contains(&format!("data-id=\"{}\"", demo.acme_cert_id))).unwrap();
    let used = row.split("data-testid=\"last-used\">").nth(1).unwrap();
    let used = &used[..used.find('<').unwrap()];
    assert!(used.ends_with(" UTC"), "a time, not Never: {used}");
    let detail = page(&admin, &demo.server, &format!("/admin/certificates/{}", demo.acme_cert_id)).await;
    assert!(detail.contains("data-testid=\"last-seen-row\""), "its page says where it was last used");
}

#[tokio::test]
async fn traffic_is_for_admins_and_an_app_s_own_organisation_only() {
    let demo = demo().await;
    let consumer = signed_in(&demo.server, "dev@acme.example", "demo-consumer-password").await;
    for (function, form) in [("admin_dashboard", vec![]), ("api_traffic", vec![("id", "api_x")]), ("admin_app_traffic", vec![("id", "app_x")])] {
        let (status, body) = call(&consumer, &demo.server, function, &form).await;
        assert_eq!(status, 403, "{function}: {body}");
    }
    // Globex's apps are not found for Acme's consumer.
    let globex = signed_in(&demo.server, "dev@globex.example", "demo-consumer-password").await;
    let (status, apps) = call(&globex, &demo.server, "portal_apps", &[]).await;
    assert_eq!(status, 200, "{apps}");
    let globex_app = apps.as_array().unwrap()[0]["id"].as_str().unwrap().to_string();
    let (status, _) = call(&consumer, &demo.server, "portal_app_traffic", &[("id", &globex_app)]).await;
    assert_eq!(status, 404, "another organisation's app");
    let (status, charts) = call(&globex, &demo.server, "portal_app_traffic", &[("id", &globex_app)]).await;
    assert_eq!(status, 200, "{charts}");
    assert_eq!(charts.as_array().unwrap().len(), 3);
}
