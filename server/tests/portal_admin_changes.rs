//! The admin portal's previews, "used by", effective allow lists, audit log and organisation
//! pages through the real listener, on the `--demo` data (Acme's and Globex's Managed
//! credentials, bound to their organisations' certificates): a product change or a
//! certificate unlink is said in words with names and changes nothing until confirmed, and
//! once applied the gateway follows (real TLS); the API page lists each entry's source; the
//! audit filters exclude; an invite link is shown once; suspending an organisation from its
//! page refuses its credentials; a consumer gets nothing from any of these server functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::demo::cert_id;
use support::{call_server_fn as call, signed_in};
use support::gateway::Admin;
use support::{client, set_cookie, sign_in, Server, ADMIN_EMAIL, ADMIN_PASSWORD};

const CONSUMER_PASSWORD: &str = "demo-consumer-password";

/// The demo, with the admin signed in to the portal.
struct Demo {
    demo: support::demo::Demo,
    portal: reqwest::Client,
}

impl std::ops::Deref for Demo {
    type Target = support::demo::Demo;

    fn deref(&self) -> &support::demo::Demo {
        &self.demo
    }
}

async fn demo() -> Demo {
    let demo = support::demo::demo().await;
    let portal = signed_in(&demo.server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    Demo { demo, portal }
}

impl Demo {
    async fn page(&self, path: &str) -> String {
        let r = self.portal.get(self.server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.text().await.unwrap()
    }

    async fn call(&self, function: &str, form: &[(&str, &str)]) -> (u16, Value) {
        call(&self.portal, &self.server, function, form).await
    }
}


/// The product form as the page sends it, with binding on or off.
fn product_form(product: &Value, binding: bool) -> Vec<(String, String)> {
    let mut form = vec![
        ("id".to_string(), product["id"].as_str().unwrap().to_string()),
        ("form[name]".into(), product["name"].as_str().unwrap().into()),
        ("form[description]".into(), product["description"].as_str().unwrap_or("").into()),
        ("form[visibility]".into(), "all".into()),
        ("form[certificate_mode]".into(), product["certificate_mode"].as_str().unwrap().into()),
    ];
    for api in product["apis"].as_array().unwrap() {
        form.push(("form[apis][]".into(), api.as_str().unwrap().into()));
    }
    for plan in product["plans"].as_array().unwrap() {
        form.push(("form[plans][]".into(), plan.as_str().unwrap().into()));
    }
    if product["published"] == true {
        form.push(("form[published]".into(), "on".into()));
    }
    if binding {
        form.push(("form[certificate_binding]".into(), "on".into()));
    }
    form
}

fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn lines(answer: &Value, field: &str) -> String {
    answer["change"][field].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect::<Vec<_>>().join("\n")
}

fn no_ids(text: &str) {
    for prefix in ["crd_", "sub_", "org_", "app_", "prd_", "api_"] {
        assert!(!text.contains(prefix), "an id ({prefix}…) instead of a name: {text}");
    }
}

#[tokio::test]
async fn a_product_change_is_said_in_words_and_applied_only_when_confirmed() {
    let demo = demo().await;
    let product = demo.managed_product().await;
    // Bound: Globex's (allow-listed) certificate does not carry Acme's token.
    let mut globex = demo.connection("globex").await;
    assert_eq!(demo.call_managed(&mut globex).await, (401, "certificate_binding_mismatch".to_string()));

    let unbind = product_form(&product, false);
    let (status, answer) = demo.call("save_product", &pairs(&unbind)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["applied"], false, "{answer}");
    let said = lines(&answer, "credentials");
    assert!(said.contains("1 credential of Acme Corp (app Acme Checkout; product Echo (Managed)) will no longer be bound"), "{said}");
    assert!(said.contains("1 credential of Globex (app Globex Billing; product Echo (Managed)) will no longer be bound"), "{said}");
    assert!(said.contains("not only Acme demo client"), "{said}");
    no_ids(&said);
    assert_eq!(demo.managed_product().await["certificate_binding"], true, "a preview changes nothing");
    assert_eq!(demo.call_managed(&mut globex).await.0, 401);

    // A confirmation of another change (a stale or forged token) is previewed again, not applied.
    let mut forged = unbind.clone();
    forged.push(("confirm".into(), "0000000000000000".into()));
    let (status, again) = demo.call("save_product", &pairs(&forged)).await;
    assert_eq!((status, again["applied"].as_bool()), (200, Some(false)), "{again}");
    assert!(again["note"].as_str().unwrap().contains("not the one you confirmed"), "{again}");
    assert_eq!(demo.managed_product().await["certificate_binding"], true);

    let mut confirmed = unbind.clone();
    confirmed.push(("confirm".into(), answer["confirm"].as_str().unwrap().into()));
    let (status, applied) = demo.call("save_product", &pairs(&confirmed)).await;
    assert_eq!((status, applied["applied"].as_bool()), (200, Some(true)), "{applied}");
    assert_eq!(applied["value"]["certificate_binding"], false);
    assert_eq!(demo.call_managed(&mut globex).await.0, 200, "unbound: any allow-listed certificate carries the token");

    // Binding on again: each credential will only accept its organisation's certificate.
    let bind = product_form(&product, true);
    let (_, answer) = demo.call("save_product", &pairs(&bind)).await;
    assert_eq!(answer["applied"], false, "{answer}");
    let said = lines(&answer, "credentials");
    assert!(said.contains("1 credential of Acme Corp (app Acme Checkout; product Echo (Managed)) will only accept this certificate: Acme demo client."), "{said}");
    assert!(said.contains("will only accept this certificate: Globex demo client."), "{said}");
    let mut confirmed = bind.clone();
    confirmed.push(("confirm".into(), answer["confirm"].as_str().unwrap().into()));
    let (_, applied) = demo.call("save_product", &pairs(&confirmed)).await;
    assert_eq!(applied["applied"], true, "{applied}");
    assert_eq!(demo.call_managed(&mut globex).await, (401, "certificate_binding_mismatch".to_string()));

    // Another API in the product: its credentials gain it, and their certificates join its
    // allow list (previewed only).
    let (_, apis) = demo.admin.call(Method::GET, "/apis", None).await;
    let self_serve_api = apis["items"].as_array().unwrap().iter().find(|a| a["listen_path"] == "/demo-self-serve").unwrap()["id"].as_str().unwrap().to_string();
    let mut wider = bind.clone();
    wider.push(("form[apis][]".into(), self_serve_api));
    let (_, answer) = demo.call("save_product", &pairs(&wider)).await;
    assert_eq!(answer["applied"], false, "{answer}");
    let said = lines(&answer, "credentials");
    assert!(said.contains("1 credential of Acme Corp (app Acme Checkout; product Echo (Managed)) will also grant API Echo, Self-Serve (demo)."), "{said}");
    let allow = lines(&answer, "allow_lists");
    assert_eq!(allow, "API Echo, Self-Serve (demo): Acme demo client and Globex demo client join its allow list.", "{answer}");
    no_ids(&allow);

    // A change of no live consequence (the description) is applied at once.
    let mut described = bind.clone();
    described.retain(|(k, _)| k != "form[description]");
    described.push(("form[description]".into(), "New words".into()));
    let (_, applied) = demo.call("save_product", &pairs(&described)).await;
    assert_eq!((applied["applied"].as_bool(), applied["value"]["description"].as_str()), (Some(true), Some("New words")), "{applied}");
    let html = demo.page(&format!("/admin/products/{}", product["id"].as_str().unwrap())).await;
    assert!(html.contains("saving first shows what it does"), "product page");
}

#[tokio::test]
async fn unlinking_an_organisations_last_certificate_is_previewed_with_the_warning_then_applied() {
    let demo = demo().await;
    let mut acme = demo.connection("client").await;
    assert_eq!(demo.call_managed(&mut acme).await.0, 200);
    let unlink = [("id", demo.acme_cert_id.as_str()), ("organisation_id", demo.acme_org.as_str())];
    let (status, answer) = demo.call("unlink_certificate", &unlink).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["applied"], false, "{answer}");
    let warning = answer["change"]["warning"].as_str().unwrap();
    assert!(warning.starts_with("1 live credential stops working"), "{warning}");
    let said = lines(&answer, "credentials");
    assert!(said.contains("1 credential of Acme Corp (app Acme Checkout; product Echo (Managed)) will accept no certificate any more"), "{said}");
    let allow = lines(&answer, "allow_lists");
    assert!(allow.contains("API Echo, Managed (demo): Acme demo client leaves it."), "{allow}");
    no_ids(&said);
    no_ids(&allow);
    assert_eq!(demo.call_managed(&mut acme).await.0, 200, "a preview changes nothing");
    let html = demo.page(&format!("/admin/certificates/{}", demo.acme_cert_id)).await;
    assert!(html.contains("aria-label=\"Unlink Acme Corp\""), "still linked, with a named button");

    let confirm = answer["confirm"].as_str().unwrap().to_string();
    let (_, applied) = demo.call("unlink_certificate", &[unlink[0], unlink[1], ("confirm", confirm.as_str())]).await;
    assert_eq!(applied["applied"], true, "{applied}");
    assert_ne!(demo.call_managed(&mut acme).await.0, 200, "unlinked: refused from the next request");
    // The audit log has it under Acme Corp, in words.
    let (_, log) = demo.call("audit_log", &[("organisation", demo.acme_org.as_str()), ("kind", "certificate")]).await;
    let row = &log["rows"][0];
    assert_eq!((row["action"].as_str(), row["detail"].as_str(), row["subject"].as_str()), (Some("certificate.unlinked"), Some("organisation Acme Corp"), Some(demo.acme_cert_id.as_str())), "{log}");

    // Linking it back joins again, without a warning.
    let (_, answer) = demo.call("link_certificate", &unlink).await;
    assert_eq!((answer["applied"].as_bool(), answer["change"]["stop_working"].as_u64()), (Some(false), Some(0)), "{answer}");
    assert!(lines(&answer, "credentials").contains("will only accept this certificate: Acme demo client"), "{answer}");
    assert!(lines(&answer, "allow_lists").contains("Acme demo client joins its allow list"), "{answer}");
    let confirm = answer["confirm"].as_str().unwrap().to_string();
    let (_, applied) = demo.call("link_certificate", &[unlink[0], unlink[1], ("confirm", confirm.as_str())]).await;
    assert_eq!(applied["applied"], true, "{applied}");
    let mut acme = demo.connection("client").await;
    assert_eq!(demo.call_managed(&mut acme).await.0, 200);
}

#[tokio::test]
async fn the_certificate_page_says_what_uses_it_and_the_api_page_the_source_of_each_entry() {
    let demo = demo().await;
    let html = demo.page(&format!("/admin/certificates/{}", demo.acme_cert_id)).await;
    for expected in [
        "data-testid=\"used-by\"",
        "API Portal health (demo)",
        "App Acme Checkout of Acme Corp — product Echo (Managed) (APIs Echo, Managed (demo)); active, token bound to its certificates",
        "(bound to it)",
    ] {
        assert!(html.contains(expected), "certificate page lacks {expected}");
    }
    let list = demo.page("/admin/certificates").await;
    for expected in ["API Portal health (demo), 1 admin key", "1 Self-Serve subscription", "aria-label=\"Copy the fingerprint of Acme demo client ("] {
        assert!(list.contains(expected), "certificate list lacks {expected}");
    }
    // Globex's Self-Serve certificate is held by its subscription.
    let self_serve = cert_id(&demo.server.data_dir.join("demo/globex-self-serve.crt"));
    let html = demo.page(&format!("/admin/certificates/{self_serve}")).await;
    assert!(html.contains("App Globex Billing of Globex — product Echo (Self-Serve), plan Demo"), "subscription using it");

    let product = demo.managed_product().await;
    let api = product["apis"][0].as_str().unwrap().to_string();
    let html = demo.page(&format!("/admin/apis/{api}")).await;
    for expected in [
        "Product Echo (Managed) → app Acme Checkout → Acme Corp",
        "Product Echo (Managed) → app Globex Billing → Globex",
        "Acme demo client",
        "Globex demo client",
        "Page 1 of 1 (2 certificates)",
    ] {
        assert!(html.contains(expected), "API page lacks {expected}");
    }
    assert!(!html.contains("Admin entry on this API"), "the demo's echo APIs have no admin entries");
    // The health API's entry is the admin's own.
    let (_, apis) = demo.admin.call(Method::GET, "/apis", None).await;
    let health = apis["items"].as_array().unwrap().iter().find(|a| a["listen_path"] == "/demo").unwrap()["id"].as_str().unwrap().to_string();
    let (status, list) = demo.call("api_allow_list", &[("id", health.as_str())]).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["entries"][0]["sources"], json!(["Admin entry on this API"]), "{list}");

    // A suspended organisation's credentials contribute nothing: its source leaves the list.
    let (status, _) = demo.call("set_organisation_suspended", &[("id", demo.globex_org.as_str()), ("suspended", "yes")]).await;
    assert_eq!(status, 200);
    let (_, list) = demo.call("api_allow_list", &[("id", api.as_str()), ("page", "1")]).await;
    assert_eq!(list["total"], 1, "{list}");
    assert!(list.to_string().contains("app Acme Checkout") && !list.to_string().contains("Globex"), "{list}");
}

#[tokio::test]
async fn audit_filters_keep_only_what_they_name() {
    let demo = demo().await;
    // The admin (by session) suspends and resumes Globex.
    for value in ["yes", "no"] {
        let (status, body) = demo.call("set_organisation_suspended", &[("id", demo.globex_org.as_str()), ("suspended", value)]).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, all) = demo.call("audit_log", &[]).await;
    assert_eq!(status, 200, "{all}");
    let actions = |view: &Value| view["rows"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(actions(&all)[..2], ["organisation.resumed".to_string(), "organisation.suspended".to_string()], "newest first");

    let (_, certificates) = demo.call("audit_log", &[("kind", "certificate")]).await;
    assert!(!actions(&certificates).is_empty() && actions(&certificates).iter().all(|a| a.starts_with("certificate.")), "{certificates}");

    let (_, acme) = demo.call("audit_log", &[("organisation", demo.acme_org.as_str())]).await;
    let rows = acme["rows"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.iter().all(|r| r["organisation"] == "Acme Corp"), "{acme}");

    let admin_id = all["actors"].as_array().unwrap().iter().find(|c| c[1] == ADMIN_EMAIL).unwrap()[0].as_str().unwrap().to_string();
    let (_, mine) = demo.call("audit_log", &[("actor", admin_id.as_str())]).await;
    assert_eq!(actions(&mine), vec!["organisation.resumed", "organisation.suspended", "user.signed_in"], "{mine}");
    assert!(mine["rows"].as_array().unwrap().iter().all(|r| r["actor"] == ADMIN_EMAIL));
    assert_eq!(mine["rows"][0]["subject"], "Globex", "names, not ids: {mine}");
    let (_, sign_ins) = demo.call("audit_log", &[("kind", "user.signed_in")]).await;
    assert_eq!(actions(&sign_ins), vec!["user.signed_in"], "the admin's sign-in, and no other: {sign_ins}");
    let (_, nothing) = demo.call("audit_log", &[("actor", admin_id.as_str()), ("kind", "credential")]).await;
    assert!(nothing["rows"].as_array().unwrap().is_empty(), "{nothing}");

    let html = demo.page(&format!("/admin/audit?actor={admin_id}&kind=organisation")).await;
    assert!(html.contains("data-action=\"organisation.suspended\"") && html.contains("Organisation resumed"), "audit page");
    assert!(!html.contains("data-action=\"certificate."), "the filter let another kind through");
    assert!(html.contains(&format!("<option value=\"{admin_id}\" selected")), "the chosen actor stays chosen");
}

#[tokio::test]
async fn an_invite_link_is_shown_once_and_suspending_from_the_page_refuses_the_organisations_credentials() {
    let demo = demo().await;
    let org = demo.acme_org.as_str();
    let (status, user) = demo.call("add_consumer", &[("organisation_id", org), ("email", "new@acme.example"), ("role", "member")]).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!((user["has_password"].as_bool(), user["role"].as_str()), (Some(false), Some("member")));
    let user_id = user["id"].as_str().unwrap().to_string();
    let html = demo.page(&format!("/admin/organisations/{org}")).await;
    for expected in ["dev@acme.example", "aria-label=\"Make an invite link for new@acme.example\"", "aria-label=\"Disable new@acme.example\"", "Invited: no password yet"] {
        assert!(html.contains(expected), "organisation page lacks {expected}");
    }

    let make = || demo.portal.post(demo.server.url("/fn/make_account_link")).form(&[("user_id", user_id.as_str()), ("kind", "invite")]).send();
    let r = make().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let first: Value = r.json().await.unwrap();
    let url = first["url"].as_str().unwrap();
    assert!(url.starts_with(&demo.server.url("/invite#token=")), "{url}");
    assert!(!first["expires_at"].as_str().unwrap().is_empty());
    let first_token = url.split("#token=").nth(1).unwrap().to_string();
    // Shown once: the page never shows it again, and a new link replaces it.
    assert!(!demo.page(&format!("/admin/organisations/{org}")).await.contains(&first_token));
    let second: Value = make().await.unwrap().json().await.unwrap();
    let second_token = second["url"].as_str().unwrap().split("#token=").nth(1).unwrap().to_string();
    assert_ne!(first_token, second_token);
    let redeem = |token: String| {
        client().post(demo.server.url("/api/v1/invites/redeem")).json(&json!({"token": token, "password": "a long new password 42"})).send()
    };
    assert_eq!(redeem(first_token).await.unwrap().status(), 400, "the replaced link");
    assert_eq!(redeem(second_token.clone()).await.unwrap().status(), 204);
    assert_eq!(redeem(second_token).await.unwrap().status(), 400, "used once");

    // Disabled: no sign-in, no new link.
    let (status, body) = demo.call("set_consumer_disabled", &[("user_id", user_id.as_str()), ("disabled", "yes")]).await;
    assert_eq!((status, body["disabled"].as_bool()), (200, Some(true)), "{body}");
    let r = sign_in(&client(), &demo.server, "new@acme.example", "a long new password 42").await;
    assert!(set_cookie(&r, "certgate_session").is_none(), "a disabled user signed in");
    let (status, body) = demo.call("make_account_link", &[("user_id", user_id.as_str()), ("kind", "reset")]).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("user_disabled")), "{body}");

    // Suspend from the page: Acme's credential is refused; resume: admitted again.
    let mut acme = demo.connection("client").await;
    assert_eq!(demo.call_managed(&mut acme).await.0, 200);
    let (status, _) = demo.call("set_organisation_suspended", &[("id", org), ("suspended", "yes")]).await;
    assert_eq!(status, 200);
    assert_ne!(demo.call_managed(&mut acme).await.0, 200, "suspended: refused");
    let html = demo.page(&format!("/admin/organisations/{org}")).await;
    assert!(html.contains("data-suspended=\"true\"") && html.contains("Resume the organisation"), "organisation page after suspension");
    assert!(demo.page("/admin/organisations").await.contains("Suspended"), "the list shows it");
    let (status, _) = demo.call("set_organisation_suspended", &[("id", org), ("suspended", "no")]).await;
    assert_eq!(status, 200);
    let mut acme = demo.connection("client").await;
    assert_eq!(demo.call_managed(&mut acme).await.0, 200, "resumed");
}

#[tokio::test]
async fn a_consumer_gets_nothing_from_the_new_pages_and_server_functions() {
    let demo = demo().await;
    let consumer = signed_in(&demo.server, "dev@acme.example", CONSUMER_PASSWORD).await;
    let product = demo.managed_product().await;
    let api = product["apis"][0].as_str().unwrap().to_string();
    for path in ["/admin/audit".to_string(), format!("/admin/organisations/{}", demo.acme_org)] {
        let r = consumer.get(demo.server.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 403, "{path}: told they lack access");
        assert!(!r.text().await.unwrap().contains("Acme demo client"), "{path}");
    }
    let (cert, org, globex) = (demo.acme_cert_id.as_str(), demo.acme_org.as_str(), demo.globex_org.as_str());
    let form = product_form(&product, false);
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("certificate_usage", vec![("id", cert)]),
        ("api_allow_list", vec![("id", api.as_str())]),
        ("audit_log", vec![]),
        ("get_organisation", vec![("id", org)]),
        ("add_consumer", vec![("organisation_id", org), ("email", "intruder@acme.example"), ("role", "org_admin")]),
        ("make_account_link", vec![("user_id", "usr_x"), ("kind", "invite")]),
        ("set_consumer_disabled", vec![("user_id", "usr_x"), ("disabled", "yes")]),
        ("set_consumer_role", vec![("user_id", "usr_x"), ("role", "org_admin")]),
        ("set_organisation_suspended", vec![("id", globex), ("suspended", "yes")]),
        ("unlink_certificate", vec![("id", cert), ("organisation_id", org), ("confirm", "x")]),
        ("link_certificate", vec![("id", cert), ("organisation_id", globex)]),
        ("save_product", pairs(&form)),
    ];
    let anonymous = client();
    for (function, form) in &calls {
        let (status, body) = call(&consumer, &demo.server, function, form).await;
        assert_eq!(status, 403, "{function}: {body}");
        let text = body.to_string();
        assert!(!text.contains("Acme demo client") && !text.contains("Globex") && !text.contains("credential"), "{function} leaked: {text}");
        let (status, _) = call(&anonymous, &demo.server, function, form).await;
        assert_eq!(status, 401, "{function} anonymous");
    }
    // Nothing changed.
    assert_eq!(demo.managed_product().await["certificate_binding"], true);
    let (_, suspensions) = demo.call("audit_log", &[("kind", "organisation")]).await;
    assert!(suspensions["rows"].as_array().unwrap().is_empty(), "{suspensions}");
    let mut acme = demo.connection("client").await;
    assert_eq!(demo.call_managed(&mut acme).await.0, 200);
    let (_, users) = demo.admin.call(Method::GET, "/users", None).await;
    assert!(!users.to_string().contains("intruder"), "{users}");
}

#[tokio::test]
async fn the_effective_allow_list_is_paged() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let pki = certgate_testpki::TestPki::new();
    let mut ids = Vec::new();
    for n in 0..21 {
        ids.push(admin.upload(&pki.leaf(&certgate_testpki::LeafSpec::client(&format!("pinned-{n:02}")))).await);
    }
    let api = admin
        .create_api(json!({"name": "Pinned", "listen_path": "/pinned", "upstream_url": "http://127.0.0.1:9/", "auth": "auth_token",
                           "mtls": {"required": true, "allowed_certificates": ids}}))
        .await;
    let portal = signed_in(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, first) = call(&portal, &server, "api_allow_list", &[("id", api.as_str())]).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!((first["total"].as_u64(), first["pages"].as_u64(), first["entries"].as_array().unwrap().len()), (Some(21), Some(2), 20));
    assert_eq!(first["entries"][0]["label"], "pinned-00", "by name");
    let (_, second) = call(&portal, &server, "api_allow_list", &[("id", api.as_str()), ("page", "2")]).await;
    assert_eq!(second["entries"].as_array().unwrap().len(), 1);
    assert_eq!(second["entries"][0]["label"], "pinned-20");
    let (_, beyond) = call(&portal, &server, "api_allow_list", &[("id", api.as_str()), ("page", "99")]).await;
    assert_eq!(beyond["page"], 2, "a page past the end shows the last");
    let r = portal.get(server.url(&format!("/admin/apis/{api}?allow_page=2"))).send().await.unwrap();
    let html = r.text().await.unwrap();
    // The effective list (the admin's own section above lists every entry).
    let effective = &html[html.find("data-testid=\"effective-allow-list\"").expect("the section")..];
    let effective = &effective[..effective.find("</section>").unwrap()];
    assert!(effective.contains("Page 2 of 2 (21 certificates)") && effective.contains(">pinned-20<") && !effective.contains(">pinned-00<"), "page 2: {effective}");
    assert!(effective.contains(&format!("href=\"/admin/apis/{api}?allow_page=1\"")), "a link to the previous page");
    let (status, _) = call(&portal, &server, "api_allow_list", &[("id", "api_nope")]).await;
    assert_eq!(status, 404);
}
