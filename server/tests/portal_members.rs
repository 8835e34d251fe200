//! An organisation's administrator invites its members, through the real listener: the
//! invitation creates a `member` of the org admin's own organisation (a role or another
//! organisation cannot be chosen), the link is shown once and works once; a member manages
//! nobody (403), and another organisation's user is 404.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::gateway::Admin;
use support::{client, Server};

const PW: &str = "a long enough password";

async fn consumer(server: &Server, email: &str) -> reqwest::Client {
    let c = client();
    let r = c.post(server.url("/api/v1/session")).json(&json!({"email": email, "password": PW})).send().await.unwrap();
    assert_eq!(r.status(), 204, "{email} signs in");
    c
}

async fn call(c: &reqwest::Client, server: &Server, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = c.request(method, server.url(&format!("/api/v1{path}")));
    if let Some(body) = body {
        r = r.json(&body);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_org_admin_invites_members_into_their_own_organisation_only() {
    let server = Server::start();
    let admin = Admin::new(&server);
    let mut orgs = Vec::new();
    for name in ["Acme", "Globex"] {
        let (status, org) = admin.call(Method::POST, "/organisations", Some(json!({"name": name}))).await;
        assert_eq!(status, 201, "{org}");
        orgs.push(org["id"].as_str().unwrap().to_string());
    }
    for (email, org) in [("boss@acme.example", &orgs[0]), ("boss@globex.example", &orgs[1])] {
        let (status, body) = admin.call(Method::POST, "/users", Some(json!({"email": email, "password": PW, "organisation": org, "role": "org_admin"}))).await;
        assert_eq!(status, 201, "{body}");
    }
    let boss = consumer(&server, "boss@acme.example").await;

    // A role or an organisation in the body is refused, and nothing is created.
    let (status, refused) =
        call(&boss, &server, Method::POST, "/portal/members", Some(json!({"email": "eve@acme.example", "role": "org_admin"}))).await;
    assert_eq!(status, 400, "{refused}");
    let (status, refused) =
        call(&boss, &server, Method::POST, "/portal/members", Some(json!({"email": "eve@acme.example", "organisation": orgs[1]}))).await;
    assert_eq!(status, 400, "{refused}");

    let (status, invited) = call(&boss, &server, Method::POST, "/portal/members", Some(json!({"email": "new@acme.example"}))).await;
    assert_eq!(status, 201, "{invited}");
    let url = invited["url"].as_str().unwrap();
    let token = url.split_once("#token=").unwrap().1;
    let (_, members) = call(&boss, &server, Method::GET, "/portal/members", None).await;
    let emails: Vec<&str> = members["items"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["boss@acme.example", "new@acme.example"], "{members}");
    let new = members["items"].as_array().unwrap().iter().find(|u| u["email"] == "new@acme.example").unwrap();
    assert_eq!((new["role"].as_str(), new["organisation"].as_str(), new["status"].as_str()), (Some("member"), Some(orgs[0].as_str()), Some("invited")));

    // The link works once; the member then signs in and manages nobody.
    let r = client().post(server.url("/api/v1/invites/redeem")).json(&json!({"token": token, "password": PW})).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let r = client().post(server.url("/api/v1/invites/redeem")).json(&json!({"token": token, "password": PW})).send().await.unwrap();
    assert!(r.status().is_client_error(), "single use: {}", r.status());
    let member = consumer(&server, "new@acme.example").await;
    let (status, _) = call(&member, &server, Method::GET, "/portal/members", None).await;
    assert_eq!(status, 403);
    let (status, _) = call(&member, &server, Method::POST, "/portal/members", Some(json!({"email": "x@acme.example"}))).await;
    assert_eq!(status, 403);

    // Globex's org admin cannot see or re-invite Acme's users: 404, like a missing id.
    let other = consumer(&server, "boss@globex.example").await;
    let (_, theirs) = call(&other, &server, Method::GET, "/portal/members", None).await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1, "{theirs}");
    let id = new["id"].as_str().unwrap();
    let (status, _) = call(&other, &server, Method::POST, &format!("/portal/members/{id}/invite"), None).await;
    assert_eq!(status, 404);
    // Acme's org admin can, but the member has a password now: 409.
    let (status, body) = call(&boss, &server, Method::POST, &format!("/portal/members/{id}/invite"), None).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("has_password")), "{body}");
}
