//! The pages invite and password-reset links open (`/invite`, `/reset-password`) and their server
//! function `redeem_link`, through the real listener: the pages render without a session, the
//! function sets the password and signs in like the REST route, and refuses used or made-up
//! links, weak passwords and differing confirmations without changing anything.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::gateway::Admin;
use support::{client, set_cookie, sign_in, Server};

const PW: &str = "a consumer's long password";

/// A server function called as a form post, as the browser sends it: (status, JSON body).
async fn call(c: &reqwest::Client, server: &Server, function: &str, form: &[(&str, &str)]) -> (u16, Value, Option<String>) {
    let r = c.post(server.url(&format!("/fn/{function}"))).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    let cache = r.headers().get("cache-control").and_then(|v| v.to_str().ok()).map(str::to_string);
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), cache)
}

async fn redeem(c: &reqwest::Client, server: &Server, kind: &str, token: &str, password: &str) -> (u16, Value, Option<String>) {
    call(c, server, "redeem_link", &[("kind", kind), ("token", token), ("password", password), ("confirm_password", password)]).await
}

/// A consumer of a new organisation, with or without a password: its id.
async fn consumer(admin: &Admin, email: &str, password: Option<&str>) -> String {
    let (status, org) = admin.call(Method::POST, "/organisations", Some(json!({"name": format!("Org of {email}")}))).await;
    assert_eq!(status, 201, "{org}");
    let mut body = json!({"email": email, "organisation": org["id"], "role": "member"});
    if let Some(p) = password {
        body["password"] = json!(p);
    }
    let (status, user) = admin.call(Method::POST, "/users", Some(body)).await;
    assert_eq!(status, 201, "{user}");
    user["id"].as_str().unwrap().to_string()
}

/// A link made by the admin over REST (`invite` or `reset-link`): its token, from the fragment.
async fn link(admin: &Admin, user: &str, what: &str, page: &str) -> String {
    let (status, body) = admin.call(Method::POST, &format!("/users/{user}/{what}"), Some(json!({}))).await;
    assert_eq!(status, 201, "{body}");
    let url = body["url"].as_str().unwrap();
    let (path, token) = url.split_once("#token=").unwrap_or_else(|| panic!("no token in the fragment: {url}"));
    assert!(path.ends_with(page), "{url}");
    token.to_string()
}

async fn signs_in(server: &Server, email: &str, password: &str) -> bool {
    let r = sign_in(&client(), server, email, password).await;
    set_cookie(&r, "certgate_session").is_some()
}

#[tokio::test]
async fn both_pages_render_for_a_signed_out_visitor_and_say_they_need_javascript() {
    let server = Server::start();
    for (path, heading) in [("/invite", "Choose your password"), ("/reset-password", "Choose a new password")] {
        let r = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let html = r.text().await.unwrap();
        assert!(html.contains(&format!("<h1>{heading}")), "{path}: {html}");
        assert!(html.contains(r#"<label for="field-password">"#) && html.contains(r#"id="field-password""#), "{path}");
        assert!(html.contains(r#"<label for="field-confirm_password">"#) && html.contains(r#"id="field-confirm_password""#), "{path}");
        // Without wasm the token cannot be read: the page says so and its form is closed.
        assert!(html.contains(r#"data-testid="needs-javascript""#) && html.contains("This page needs JavaScript"), "{path}");
        assert!(html.contains("<fieldset disabled"), "{path}: {html}");
        assert!(!html.contains("Page not found"), "{path}");
    }
}

#[tokio::test]
async fn an_invite_is_redeemed_through_the_server_function_and_the_consumer_signs_in() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let id = consumer(&admin, "new@acme.example", None).await;
    let token = link(&admin, &id, "invite", "/invite").await;
    assert!(!signs_in(&server, "new@acme.example", PW).await);

    // A weak password is refused with the service's words, and the invite stays good.
    let c = client();
    let (status, body, cache) = redeem(&c, &server, "invite", &token, "short").await;
    assert_eq!((status, body["code"].as_str()), (400, Some("weak_password")), "{body}");
    assert!(!body["message"].as_str().unwrap().is_empty());
    assert_eq!(cache.as_deref(), Some("no-store"));
    // Differing passwords: refused before the link is looked at.
    let (status, body, _) = call(&c, &server, "redeem_link", &[("kind", "invite"), ("token", &token), ("password", PW), ("confirm_password", "another long password")]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("passwords_differ")), "{body}");
    // An invite is not a reset link.
    let (status, body, _) = redeem(&c, &server, "reset", &token, PW).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_link")), "{body}");

    let r = c
        .post(server.url("/fn/redeem_link"))
        .form(&[("kind", "invite"), ("token", token.as_str()), ("password", PW), ("confirm_password", PW)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    assert!(set_cookie(&r, "certgate_session").is_some(), "redeeming signs in");
    assert_eq!(r.json::<Value>().await.unwrap(), json!("/"));
    let account = c.get(server.url("/account")).send().await.unwrap();
    assert_eq!(account.status(), 200, "the new session opens the consumer's pages");

    assert!(signs_in(&server, "new@acme.example", PW).await, "the password was set");
    // The token is never logged.
    assert!(!server.stderr().contains(&token));
    assert!(!server.stdout().iter().any(|l| l.contains(&token)));
}

#[tokio::test]
async fn a_used_or_made_up_link_is_refused_and_changes_nothing() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let id = consumer(&admin, "dev@acme.example", Some(PW)).await;
    let before = client();
    assert!(set_cookie(&sign_in(&before, &server, "dev@acme.example", PW).await, "certgate_session").is_some());
    let token = link(&admin, &id, "reset-link", "/reset-password").await;
    let (status, body, _) = redeem(&client(), &server, "reset", &token, "a brand new password").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(before.get(server.url("/account")).send().await.unwrap().status(), 303, "the session from before the reset ended");
    assert!(signs_in(&server, "dev@acme.example", "a brand new password").await);
    assert!(!signs_in(&server, "dev@acme.example", PW).await, "the old password is gone");

    for bad in [token.as_str(), "made-up-token", ""] {
        let c = client();
        let (status, body, cache) = redeem(&c, &server, "reset", bad, "a third long password").await;
        assert_eq!((status, body["code"].as_str()), (400, Some("invalid_link")), "{bad}: {body}");
        assert!(body["message"].as_str().unwrap().contains("used or revoked, or it expired"), "{body}");
        assert_eq!(cache.as_deref(), Some("no-store"));
        // No session was started.
        assert_eq!(c.get(server.url("/account")).send().await.unwrap().status(), 303, "{bad}");
    }
    assert!(signs_in(&server, "dev@acme.example", "a brand new password").await, "the password did not change");
    assert!(!signs_in(&server, "dev@acme.example", "a third long password").await);
    // A link of an unknown kind is refused as such.
    let (status, body, _) = redeem(&client(), &server, "admin", "made-up-token", PW).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_kind")), "{body}");
}
