//! Integration tests: the real `certgate` binary on free ports, spoken to over real HTTP/TLS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::*;

const SESSION: &str = "certgate_session";

async fn problem(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"), "status {status}");
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn health_ready_and_the_gateway_answers_problem_404_over_tls() {
    let server = Server::start();
    let c = client();
    let r = c.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = c.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ready");

    install_crypto_provider();
    let tls = reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    let r = tls.get(format!("{}/orders/1", server.gateway)).send().await.unwrap();
    let (status, body) = problem(r).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "api_not_found");
    // Plain HTTP on the gateway port is not served.
    let plain = c.get(server.gateway.replacen("https://", "http://", 1)).send().await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
}

#[tokio::test]
async fn every_server_function_refuses_an_anonymous_caller() {
    let server = Server::start();
    let c = client();
    // The binary lists what it registered: the test cannot miss a function added later.
    let listed = std::process::Command::new(binary()).arg("server-functions").output().unwrap();
    assert!(listed.status.success());
    let paths: Vec<String> = String::from_utf8(listed.stdout).unwrap().lines().map(|l| l.split_whitespace().last().unwrap().to_string()).collect();
    for expected in ["/fn/sign_in", "/fn/sign_out", "/fn/current_user", "/fn/change_password", "/fn/create_organisation"] {
        assert!(paths.iter().any(|p| p == expected), "{expected} not registered: {paths:?}");
    }
    let well_formed = [
        ("name", "x"),
        ("id", "x"),
        ("email", ADMIN_EMAIL),
        ("password", "wrong password"),
        ("current_password", ADMIN_PASSWORD),
        ("new_password", "a new long password"),
        ("confirm_password", "a new long password"),
    ];
    for path in &paths {
        let r = c.post(server.url(path)).form(&well_formed).send().await.unwrap();
        let status = r.status();
        assert!(status.is_client_error(), "{path} answered {status} to an anonymous caller");
        assert!(r.headers().get("set-cookie").is_none(), "{path} set a cookie for an anonymous caller");
        // Malformed arguments are the client's error too, never a 500.
        let r = c.post(server.url(path)).form(&[("unexpected", "1")]).send().await.unwrap();
        assert!(r.status().is_client_error(), "{path} answered {} to malformed arguments", r.status());
    }
    // Signed in, malformed arguments are a 400.
    assert!(set_cookie(&sign_in(&c, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await, "certgate_session").is_some());
    let r = c.post(server.url("/fn/change_password")).form(&[("unexpected", "1")]).send().await.unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn sign_in_sets_a_hardened_cookie_and_the_session_works_until_sign_out() {
    let server = Server::start();
    let c = client();
    let r = sign_in(&c, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let cookie = set_cookie(&r, SESSION).expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP portal must not set Secure");
    let r = c.get(server.url("/admin")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
    assert!(r.text().await.unwrap().contains(ADMIN_EMAIL));

    // A new id at each sign-in; the previous one ends.
    let first = cookie.split(';').next().unwrap().to_string();
    let r = sign_in(&c, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let second = set_cookie(&r, SESSION).unwrap().split(';').next().unwrap().to_string();
    assert_ne!(first, second);
    let stale = client();
    let r = stale.get(server.url("/admin")).header("cookie", &first).send().await.unwrap();
    assert_eq!(r.status(), 303, "the replaced session still works");

    let r = c.post(server.url("/fn/sign_out")).send().await.unwrap();
    assert!(r.status().is_success() || r.status().is_redirection());
    let r = stale.get(server.url("/admin")).header("cookie", &second).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers().get("location").unwrap(), "/signin?next=/admin");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same_and_failures_are_throttled() {
    let server = Server::start();
    let c = client();
    let wrong = sign_in(&c, &server, ADMIN_EMAIL, "wrong password here").await;
    let (wrong_status, wrong_headers) = (wrong.status(), wrong.headers().get("set-cookie").is_some());
    let wrong_body = wrong.text().await.unwrap();
    let unknown = sign_in(&c, &server, "nobody@test.example", "wrong password here").await;
    assert_eq!(wrong_status, 401);
    assert_eq!(unknown.status(), 401);
    assert!(!wrong_headers);
    assert_eq!(wrong_body, unknown.text().await.unwrap());

    // Five failures for one account lock it, even for the right password.
    for _ in 0..4 {
        assert_eq!(sign_in(&c, &server, ADMIN_EMAIL, "wrong password here").await.status(), 401);
    }
    let locked = sign_in(&c, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(locked.status(), 429);
    let retry_after: i64 = locked.headers().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!(retry_after > 0 && retry_after <= 15 * 60);
    assert!(set_cookie(&locked, SESSION).is_none());
}

#[tokio::test]
async fn cross_origin_state_changes_are_refused() {
    let server = Server::start();
    let c = client();
    for (header, value) in [("origin", "http://evil.example"), ("sec-fetch-site", "cross-site"), ("origin", "null")] {
        let r = c
            .post(server.url("/fn/sign_in"))
            .header(header, value)
            .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert!(set_cookie(&r, SESSION).is_none());
        let (status, body) = problem(r).await;
        assert_eq!(status, 403);
        assert_eq!(body["code"], "cross_origin_refused");
    }
    // Same origin passes.
    let origin = server.portal.clone();
    let r = c
        .post(server.url("/fn/sign_in"))
        .header("origin", origin)
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&r, SESSION).is_some());
    // A signed-in admin's cookie does not make a cross-site REST write possible either.
    let r = c
        .post(server.url("/api/v1/organisations"))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"name": "Evil Corp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let list: Value = c.get(server.url("/api/v1/organisations")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions() {
    let server = Server::start();
    let (a, b) = (client(), client());
    assert!(set_cookie(&sign_in(&a, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await, SESSION).is_some());
    assert!(set_cookie(&sign_in(&b, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await, SESSION).is_some());
    let mismatch = a
        .post(server.url("/fn/change_password"))
        .form(&[("current_password", ADMIN_PASSWORD), ("new_password", "a brand new password"), ("confirm_password", "something else")])
        .send()
        .await
        .unwrap();
    assert_eq!(mismatch.status(), 400);
    let r = a
        .post(server.url("/fn/change_password"))
        .form(&[("current_password", ADMIN_PASSWORD), ("new_password", "a brand new password"), ("confirm_password", "a brand new password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(a.get(server.url("/admin")).send().await.unwrap().status(), 200);
    assert_eq!(b.get(server.url("/admin")).send().await.unwrap().status(), 303);
    let fresh = client();
    assert_eq!(sign_in(&fresh, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), 401);
    assert!(set_cookie(&sign_in(&fresh, &server, ADMIN_EMAIL, "a brand new password").await, SESSION).is_some());
}

#[tokio::test]
async fn organisations_rest_api_with_problem_json_errors() {
    let server = Server::start();
    let c = client();
    let api = |p: &str| server.url(&format!("/api/v1{p}"));
    let auth = format!("Bearer {ADMIN_TOKEN}");

    // Authentication first.
    let (status, body) = problem(c.get(api("/organisations")).send().await.unwrap()).await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (401, Some("unauthenticated")));
    let r = c.get(api("/organisations")).header("authorization", "Bearer wrong-token-wrong-token").send().await.unwrap();
    assert!(r.headers().get("www-authenticate").is_some());
    assert_eq!(problem(r).await.0, 401);

    let r = c.post(api("/organisations")).header("authorization", &auth).json(&json!({"name": "Acme"})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("org_"));

    let (status, body) = problem(
        c.post(api("/organisations")).header("authorization", &auth).json(&json!({"name": "ACME"})).send().await.unwrap(),
    )
    .await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("name_taken")));

    // Malformed JSON, wrong shape, wrong media type, oversized: problem+json, nothing stored.
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (c.post(api("/organisations")).header("authorization", &auth).header("content-type", "application/json").body("{not json"), 400, "invalid_json"),
        (c.post(api("/organisations")).header("authorization", &auth).json(&json!({"nom": "x"})), 400, "invalid_json"),
        (c.post(api("/organisations")).header("authorization", &auth).header("content-type", "text/plain").body("{\"name\":\"x\"}"), 415, "unsupported_media_type"),
        (c.post(api("/organisations")).header("authorization", &auth).json(&json!({"name": "x".repeat(70_000)})), 413, "body_too_large"),
        (c.post(api("/organisations")).header("authorization", &auth).json(&json!({"name": "  "})), 400, "invalid_name"),
        (c.get(api("/organisations/org_nope")).header("authorization", &auth), 404, "not_found"),
        (c.patch(api("/organisations")).header("authorization", &auth), 405, "method_not_allowed"),
        (c.get(api("/no-such-route")).header("authorization", &auth), 404, "not_found"),
    ];
    for (request, want_status, want_code) in cases {
        let (status, body) = problem(request.send().await.unwrap()).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (want_status, Some(want_code)), "{body}");
    }

    let r = c.put(api(&format!("/organisations/{id}"))).header("authorization", &auth).json(&json!({"name": "Acme Inc"})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let got: Value = c.get(api(&format!("/organisations/{id}"))).header("authorization", &auth).send().await.unwrap().json().await.unwrap();
    assert_eq!(got["name"], "Acme Inc");
    let list: Value = c.get(api("/organisations")).header("authorization", &auth).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(c.delete(api(&format!("/organisations/{id}"))).header("authorization", &auth).send().await.unwrap().status(), 204);
    assert_eq!(c.get(api(&format!("/organisations/{id}"))).header("authorization", &auth).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn a_consumer_is_refused_by_admin_functions_and_routes() {
    let server = Server::start();
    let c = client();
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let org: Value = c
        .post(server.url("/api/v1/organisations"))
        .header("authorization", &auth)
        .json(&json!({"name": "Acme"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Consumers are created by the portal issue; until then, with --demo on a fresh store.
    drop(server);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(&dir.path().join("data"), &["--demo"]);
    let consumer = client();
    let r = sign_in(&consumer, &server, "dev@acme.example", "demo-consumer-password").await;
    assert!(set_cookie(&r, SESSION).is_some(), "{}", r.status());
    assert_eq!(consumer.post(server.url("/fn/list_organisations")).send().await.unwrap().status(), 403);
    assert_eq!(consumer.post(server.url("/fn/create_organisation")).form(&[("name", "Mine")]).send().await.unwrap().status(), 403);
    let (status, _) = problem(consumer.get(server.url("/api/v1/organisations")).send().await.unwrap()).await;
    assert_eq!(status, 403);
    // Told they lack access (403, with the way to their portal), not silently redirected.
    let r = consumer.get(server.url("/admin")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().await.unwrap().contains("Go to your developer portal"));
    assert!(org["id"].is_string());
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9_and_the_store_passes_its_integrity_check() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start_in(&data, &[]);
    let url = server.url("/api/v1/organisations");
    let mut writers = Vec::new();
    for w in 0..4 {
        let url = url.clone();
        writers.push(tokio::spawn(async move {
            let c = client();
            let mut acknowledged = Vec::new();
            for i in 0.. {
                let name = format!("org-{w}-{i}");
                let r = c.post(&url).header("authorization", format!("Bearer {ADMIN_TOKEN}")).json(&json!({"name": name})).send().await;
                match r {
                    Ok(r) if r.status() == 201 => acknowledged.push(name),
                    _ => break,
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.child.kill().unwrap(); // SIGKILL in the middle of the write loop
    server.child.wait().unwrap();
    let mut acknowledged = Vec::new();
    for w in writers {
        acknowledged.extend(w.await.unwrap());
    }
    assert!(acknowledged.len() > 10, "only {} writes were acknowledged", acknowledged.len());

    let mut server = Server::start_in(&data, &[]);
    // Many more than a page: follow the cursors.
    let stored: std::collections::HashSet<String> =
        list_all(&server, "/api/v1/organisations").await.iter().map(|o| o["name"].as_str().unwrap().to_string()).collect();
    let lost: Vec<_> = acknowledged.iter().filter(|n| !stored.contains(*n)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert!(server.terminate(Duration::from_secs(15)).success());

    let check = std::process::Command::new(binary()).args(["check", "--data-dir"]).arg(&data).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(String::from_utf8_lossy(&check.stdout).contains("passed its integrity check"));
}

#[tokio::test]
async fn sigterm_stops_cleanly_and_the_store_can_be_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start_in(&data, &[]);
    assert!(server.terminate(Duration::from_secs(15)).success());
    let check = std::process::Command::new(binary()).args(["check", "--data-dir"]).arg(&data).output().unwrap();
    assert!(check.status.success());
}

fn run_and_fail(args: &[&str]) -> String {
    let out = std::process::Command::new(binary()).args(args).output().unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(stderr.lines().count() >= 1);
    stderr
}

#[tokio::test]
async fn start_up_errors_are_one_clear_line_and_a_non_zero_exit() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let taken = server.portal.trim_start_matches("http://").to_string();
    let fresh = dir.path().join("fresh");
    let fresh = fresh.to_str().unwrap();

    let e = run_and_fail(&["serve", "--data-dir", fresh, "--portal-addr", &taken, "--gateway-addr", "127.0.0.1:0"]);
    assert!(e.contains("cannot listen on the portal address"), "{e}");

    let held = server.data_dir.to_str().unwrap();
    let e = run_and_fail(&["serve", "--data-dir", held, "--portal-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0"]);
    assert!(e.contains("already used by another certgate process"), "{e}");

    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let under_file = file.join("data");
    let e = run_and_fail(&["serve", "--data-dir", under_file.to_str().unwrap(), "--portal-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0"]);
    assert!(e.contains("cannot open the store"), "{e}");

    let bad_cert = dir.path().join("bad.pem");
    std::fs::write(&bad_cert, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n").unwrap();
    let e = run_and_fail(&[
        "serve", "--data-dir", fresh, "--portal-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0",
        "--tls-cert", bad_cert.to_str().unwrap(), "--tls-key", bad_cert.to_str().unwrap(),
    ]);
    assert!(e.contains("gateway TLS"), "{e}");

    let e = run_and_fail(&["serve", "--no-such-flag"]);
    assert!(e.contains("--no-such-flag"), "{e}");
}

#[tokio::test]
async fn without_a_password_the_admin_gets_a_generated_one_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = std::process::Command::new(binary())
        .args(["serve", "--data-dir"])
        .arg(&data)
        .args(["--portal-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut password = None;
    let mut stderr_lines = stderr.lines();
    for line in stderr_lines.by_ref() {
        let line = line.unwrap();
        if let Some((_, p)) = line.split_once("with the generated password: ") {
            password = Some(p.trim().to_string());
            break;
        }
    }
    std::thread::spawn(move || for _ in stderr_lines {});
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let portal = stdout
        .lines()
        .map(Result::unwrap)
        .find_map(|l| l.strip_prefix("certgate portal:").map(|u| u.trim().trim_end_matches('/').to_string()))
        .unwrap();
    let password = password.expect("generated password on stderr");
    assert!(password.len() >= 32);
    let r = client()
        .post(format!("{portal}/fn/sign_in"))
        .form(&[("email", "admin@certgate.local"), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&r, SESSION).is_some(), "{}", r.status());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn over_tls_the_portal_sets_a_secure_host_prefixed_cookie() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("portal.crt"), dir.path().join("portal.key"));
    std::fs::write(&cert_path, key.cert.pem()).unwrap();
    std::fs::write(&key_path, key.signing_key.serialize_pem()).unwrap();
    let server = Server::start_in(
        &dir.path().join("data"),
        &["--portal-tls-cert", cert_path.to_str().unwrap(), "--portal-tls-key", key_path.to_str().unwrap()],
    );
    assert!(server.portal.starts_with("https://"));
    install_crypto_provider();
    let c = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(key.cert.pem().as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = sign_in(&c, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let cookie = set_cookie(&r, "__Host-certgate_session").expect("secure cookie");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");
    // Over TLS, every response tells the browser to stay on HTTPS.
    for path in ["/signin", "/healthz", "/api/v1/organisations", "/pkg/certgate.css"] {
        let r = c.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.headers().get("strict-transport-security").map(|v| v.to_str().unwrap()), Some("max-age=31536000"), "{path}");
        assert_basic_security_headers(&r, path);
    }
}

#[tokio::test]
async fn pages_render_meaningful_html_before_wasm_and_assets_are_served() {
    let server = Server::start();
    let c = client();
    let r = c.get(server.url("/signin")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("<h1>Sign in</h1>"));
    assert!(html.contains("action=\"/fn/sign_in\""));
    assert!(html.contains("\"/pkg/certgate.") && html.contains(".js\""), "the island loader names the JS glue");
    let r = c.get(server.url("/no-such-page")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn certificate_store_rest_api() {
    use certgate_testpki::{LeafSpec, TestPki};
    let server = Server::start();
    let c = client();
    let api = |p: &str| server.url(&format!("/api/v1{p}"));
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let pki = TestPki::new();
    let alice = pki.leaf(&LeafSpec::client("alice"));
    let count = || async {
        let list: Value = client().get(api("/certificates")).header("authorization", &auth).send().await.unwrap().json().await.unwrap();
        list["items"].as_array().unwrap().len()
    };

    assert_eq!(problem(c.get(api("/certificates")).send().await.unwrap()).await.0, 401);

    // PEM as text/plain, with text around the block.
    let body = format!("alice's certificate\n{}\n", alice.cert_pem);
    let r = c.post(api("/certificates")).header("authorization", &auth).header("content-type", "text/plain").body(body).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers().get("location").unwrap().to_str().unwrap().to_string();
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    use sha2::Digest;
    assert_eq!(id, hex::encode(sha2::Sha256::digest(&alice.der)));
    assert_eq!(location, format!("/api/v1/certificates/{id}"));
    assert_eq!(created["kind"], "leaf");
    assert_eq!(created["validity"], "valid");
    assert_eq!(created["client_auth_usable"], true);
    assert_eq!(created["x5t#S256"].as_str().unwrap().len(), 43);

    // The same certificate as DER: a conflict naming the existing id.
    let r = c.post(api("/certificates")).header("authorization", &auth).header("content-type", "application/pkix-cert").body(alice.der.clone()).send().await.unwrap();
    let (status, body) = problem(r).await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (409, Some("duplicate_certificate")));
    assert!(body["detail"].as_str().unwrap().contains(&id));

    // JSON {"pem": ...}; an expired certificate is accepted and flagged.
    let old = pki.leaf(&LeafSpec::client("old").expired());
    let r = c.post(api("/certificates")).header("authorization", &auth).json(&json!({"pem": old.cert_pem})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let old_view: Value = r.json().await.unwrap();
    assert_eq!(old_view["validity"], "expired");
    assert_eq!(old_view["client_auth_usable"], false);

    // Refusals: problem+json, clear code, nothing stored, the key never echoed.
    let key_body: String = alice.key_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut trailing = alice.der.clone();
    trailing.extend_from_slice(b"junk");
    let chain = format!("{}{}", pki.leaf(&LeafSpec::client("x")).cert_pem, pki.intermediate.cert_pem);
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("application/x-pem-file", alice.key_pem.clone().into_bytes(), 400, "private_key_not_certificate"),
        ("text/plain", certgate_testpki::TestPki::csr_pem("someone").into_bytes(), 400, "csr_not_certificate"),
        ("text/plain", chain.into_bytes(), 400, "multiple_certificates"),
        ("text/plain", b"hello, I am not a certificate".to_vec(), 400, "no_certificate"),
        ("application/pkix-cert", trailing, 400, "trailing_data"),
        ("application/pkix-cert", b"\x30\x82\x01".to_vec(), 400, "invalid_certificate"),
        ("text/plain", vec![b'a'; 70 * 1024], 413, "body_too_large"),
        ("image/png", alice.der.clone(), 415, "unsupported_media_type"),
        ("application/json", b"{\"pem\": 5}".to_vec(), 400, "invalid_json"),
    ];
    for (content_type, body, want_status, want_code) in cases {
        let r = c.post(api("/certificates")).header("authorization", &auth).header("content-type", content_type).body(body).send().await.unwrap();
        let text_status = r.status();
        let (status, body) = problem(r).await;
        assert_eq!((status.as_u16(), body["code"].as_str()), (want_status, Some(want_code)), "{text_status} {body}");
        assert!(!body.to_string().contains(&key_body[..40]), "a response echoed the private key");
    }
    assert_eq!(count().await, 2);
    assert!(!std::fs::read_to_string(&server.stderr_path).unwrap_or_default().contains(&key_body[..40]), "the key reached the log");

    // Filters.
    let ca = c.post(api("/certificates")).header("authorization", &auth).body(pki.intermediate.cert_pem.clone()).send().await.unwrap();
    assert_eq!(ca.status(), 201);
    let get_list = |query: &'static str| {
        let c = c.clone();
        let url = api(&format!("/certificates?{query}"));
        let auth = auth.clone();
        async move { c.get(url).header("authorization", auth).send().await.unwrap() }
    };
    let items = |v: Value| v["items"].as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(items(get_list("kind=ca").await.json().await.unwrap()), vec!["certgate test intermediate CA"]);
    assert_eq!(items(get_list("kind=leaf&q=ALICE").await.json().await.unwrap()), vec!["alice"]);
    assert_eq!(items(get_list("expiring_within_days=30").await.json().await.unwrap()), vec!["old"]);
    let (status, body) = problem(get_list("kind=bogus").await).await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (400, Some("invalid_filter")));
    assert_eq!(problem(get_list("expiring_within_days=soon").await).await.0, 400);

    // By colon fingerprint, then delete.
    let colon = created["fingerprint_sha256"].as_str().unwrap();
    let r = c.get(api(&format!("/certificates/{colon}"))).header("authorization", &auth).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(c.delete(api(&format!("/certificates/{id}"))).header("authorization", &auth).send().await.unwrap().status(), 204);
    let (status, body) = problem(c.get(api(&format!("/certificates/{id}"))).header("authorization", &auth).send().await.unwrap()).await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn listing_functions_accept_the_empty_form_the_ui_sends() {
    let server = Server::start();
    let c = client();
    assert!(set_cookie(&sign_in(&c, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await, "certgate_session").is_some());
    for path in ["/fn/list_certificates", "/fn/list_organisations", "/fn/current_user"] {
        let r = c.post(server.url(path)).header("content-type", "application/x-www-form-urlencoded").body("").send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}: {}", r.text().await.unwrap());
    }
    let r = c.post(server.url("/fn/list_certificates")).form(&[("kind", "ca")]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = c.post(server.url("/fn/list_certificates")).form(&[("kind", "nonsense")]).send().await.unwrap();
    assert_eq!(r.status(), 400);
}

/// Each `<script ...>` opening tag of `html`.
fn script_tags(html: &str) -> Vec<&str> {
    html.match_indices("<script").map(|(at, _)| &html[at..at + html[at..].find('>').unwrap() + 1]).collect()
}

/// The nonce of a response's Content-Security-Policy, after checking the policy's shape.
fn csp_nonce(response: &reqwest::Response) -> String {
    let policy = response.headers().get("content-security-policy").expect("CSP on an HTML response").to_str().unwrap().to_string();
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    for directive in ["object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'", "'wasm-unsafe-eval'"] {
        assert!(policy.contains(directive), "{directive} missing: {policy}");
    }
    let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce").to_string();
    assert!(nonce.len() >= 22, "a nonce of at least 128 bits: {nonce}");
    nonce
}

fn assert_basic_security_headers(response: &reqwest::Response, what: &str) {
    assert_eq!(response.headers().get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"), "{what}");
    assert_eq!(response.headers().get("referrer-policy").map(|v| v.to_str().unwrap()), Some("same-origin"), "{what}");
}

#[tokio::test]
async fn html_has_a_csp_whose_fresh_nonce_is_on_every_script_and_all_responses_have_security_headers() {
    let server = Server::start();
    let c = client();
    let mut nonces = Vec::new();
    for path in ["/signin", "/signin", "/no-such-page"] {
        let r = c.get(server.url(path)).send().await.unwrap();
        assert_basic_security_headers(&r, path);
        assert!(r.headers().get("strict-transport-security").is_none(), "HSTS over plain HTTP");
        let nonce = csp_nonce(&r);
        let html = r.text().await.unwrap();
        let scripts = script_tags(&html);
        assert!(!scripts.is_empty(), "{path}: no hydration script");
        for tag in scripts {
            assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "{path}: a script without the response's nonce: {tag}");
        }
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "the nonce must change with each response");

    // A signed-in page streams its data in inline scripts: they carry the nonce too.
    assert!(set_cookie(&sign_in(&c, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await, SESSION).is_some());
    let r = c.get(server.url("/admin/organisations")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let nonce = csp_nonce(&r);
    let html = r.text().await.unwrap();
    let scripts = script_tags(&html);
    assert!(scripts.len() > 1, "expected streamed data scripts: {scripts:?}");
    assert!(scripts.iter().all(|tag| tag.contains(&format!("nonce=\"{nonce}\""))), "{scripts:?}");

    // Everything else: nosniff and Referrer-Policy, no CSP needed.
    let anonymous = client();
    let responses = [
        ("asset", anonymous.get(server.url("/pkg/certgate.css")).send().await.unwrap()),
        ("REST", anonymous.get(server.url("/api/v1/organisations")).header("authorization", format!("Bearer {ADMIN_TOKEN}")).send().await.unwrap()),
        ("problem", anonymous.get(server.url("/api/v1/organisations")).send().await.unwrap()),
        ("redirect", anonymous.get(server.url("/admin")).send().await.unwrap()),
        ("server function", anonymous.post(server.url("/fn/current_user")).send().await.unwrap()),
        ("health", anonymous.get(server.url("/healthz")).send().await.unwrap()),
    ];
    for (what, r) in &responses {
        assert_basic_security_headers(r, what);
        assert!(r.headers().get("strict-transport-security").is_none(), "{what}");
    }
    assert_eq!(responses[3].1.status(), 303);
}

#[tokio::test]
async fn a_bearer_never_authenticates_a_server_function() {
    let server = Server::start();
    let c = client();
    let token = client();
    let count = || async {
        let list: Value = token.get(server.url("/api/v1/organisations")).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
        list["items"].as_array().unwrap().len()
    };
    assert!(set_cookie(&sign_in(&c, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await, SESSION).is_some());
    // The attack: the admin's cookie, a junk bearer, a foreign origin.
    for bearer in ["Bearer junk", "Bearer ", "Basic YTpi", &format!("Bearer {ADMIN_TOKEN}")] {
        for (header, value) in [("origin", "http://evil.example"), ("sec-fetch-site", "cross-site"), ("sec-fetch-site", "same-origin")] {
            let r = c
                .post(server.url("/fn/create_organisation"))
                .header("authorization", bearer)
                .header(header, value)
                .form(&[("name", "Evil Corp")])
                .send()
                .await
                .unwrap();
            let (status, body) = problem(r).await;
            assert_eq!((status.as_u16(), body["code"].as_str()), (401, Some("bearer_not_accepted")), "{bearer} {value}");
        }
        let r = c.post(server.url("/fn/sign_out")).header("authorization", bearer).header("origin", "http://evil.example").send().await.unwrap();
        assert_eq!(r.status(), 401);
    }
    assert_eq!(count().await, 0, "a refused call changed something");
    // The session survived the refused sign-outs, and works without the header.
    let r = c.post(server.url("/fn/create_organisation")).form(&[("name", "Acme")]).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(count().await, 1);
}

#[tokio::test]
async fn on_rest_a_bearer_is_the_only_authentication_and_the_cookie_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(&dir.path().join("data"), &["--demo"]);
    let admin = client();
    assert!(set_cookie(&sign_in(&admin, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await, SESSION).is_some());
    let consumer = client();
    assert!(set_cookie(&sign_in(&consumer, &server, "dev@acme.example", "demo-consumer-password").await, SESSION).is_some());
    let orgs = server.url("/api/v1/organisations");
    let names = || async {
        list_all(&server, "/api/v1/organisations").await.iter().map(|o| o["name"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let before = names().await;

    // An admin's cookie does not rescue a junk bearer, same origin or not.
    for junk in ["Bearer junk-junk-junk-junk", "Bearer ", "Basic YTpi"] {
        let r = admin.get(&orgs).header("authorization", junk).send().await.unwrap();
        assert_eq!(problem(r).await.0, 401, "{junk}");
        let r = admin.post(&orgs).header("authorization", junk).header("origin", "http://evil.example").json(&json!({"name": "Evil"})).send().await.unwrap();
        assert_eq!(problem(r).await.0, 401, "{junk}");
        let r = admin.post(&orgs).header("authorization", junk).header("origin", server.portal.clone()).json(&json!({"name": "Evil"})).send().await.unwrap();
        assert_eq!(problem(r).await.0, 401, "{junk}");
    }
    assert_eq!(names().await, before);

    // A valid bearer works as the token, whatever cookie rides along: a consumer's included.
    let r = consumer.post(&orgs).bearer_auth(ADMIN_TOKEN).header("origin", "http://evil.example").json(&json!({"name": "By Token"})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    // Cookie only, from a foreign origin: refused, nothing stored.
    let r = admin.post(&orgs).header("origin", "http://evil.example").json(&json!({"name": "Evil"})).send().await.unwrap();
    let (status, body) = problem(r).await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (403, Some("cross_origin_refused")));
    // Cookie only, same origin: the admin's session works.
    let r = admin.post(&orgs).header("origin", server.portal.clone()).json(&json!({"name": "By Cookie"})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let mut expected = before.clone();
    expected.extend(["By Token".to_string(), "By Cookie".to_string()]);
    let mut got = names().await;
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn plain_http_off_loopback_needs_the_insecure_flag() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let e = run_and_fail(&["serve", "--data-dir", data.to_str().unwrap(), "--portal-addr", "0.0.0.0:0", "--gateway-addr", "127.0.0.1:0"]);
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(e.contains("plain HTTP") && e.contains("--portal-tls-cert") && e.contains("--portal-insecure-http"), "{e}");
    assert!(!data.exists(), "refused before touching the data directory");

    let mut child = std::process::Command::new(binary())
        .args(["serve", "--data-dir"])
        .arg(&data)
        .args(["--portal-addr", "0.0.0.0:0", "--gateway-addr", "127.0.0.1:0", "--portal-insecure-http"])
        .env("CERTGATE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("CERTGATE_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let portal = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("certgate portal:").map(|u| u.trim().trim_end_matches('/').to_string()));
    let port = portal.as_deref().and_then(|p| p.rsplit(':').next()).map(str::to_string);
    let r = match &port {
        Some(port) => client().get(format!("http://127.0.0.1:{port}/healthz")).send().await.ok(),
        None => None,
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(portal.unwrap().starts_with("http://0.0.0.0:"));
    let r = r.expect("the portal answered");
    assert_eq!(r.status(), StatusCode::OK);
    // The flag declares a TLS-terminating proxy in front: browsers get HSTS (and Secure cookies).
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
}

/// Islands mode: a form outside an island is a plain HTML post. Leptos answers it with a 302
/// back to the page, the error in the address, and the page shows it; the error's status must
/// not replace the 302. A call from wasm (no `text/html` in Accept) keeps its status.
#[tokio::test]
async fn a_plain_form_post_is_sent_back_to_its_page_with_the_error_in_the_address() {
    let server = Server::start();
    let c = signed_in(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let referer = server.url("/admin/organisations");
    let post = |name: &'static str, accept: &'static str| {
        c.post(server.url("/fn/create_organisation"))
            .header("accept", accept)
            .header("referer", referer.clone())
            .form(&[("name", name)])
            .send()
    };
    let html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    // A creation goes to the new organisation's entry in the list, which says so.
    let r = post("Initech", html).await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/admin/organisations?created=org_"), "{location}");
    let body = c.get(server.url(&location)).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("data-testid=\"organisation-created\"") && body.contains("Initech"), "the list says what was created");
    let id = location.split("created=").nth(1).unwrap().split('&').next().unwrap().to_string();

    // A change that worked goes back to the page, marked, and the page says so.
    let page = server.url(&format!("/admin/organisations/{id}"));
    let r = c
        .post(server.url("/fn/rename_organisation"))
        .header("accept", html)
        .header("referer", format!("{page}?__ok=%2Ffn%2Fold"))
        .form(&[("id", id.as_str()), ("name", "Initech Ltd")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&format!("{page}?__ok=%2Ffn%2Frename_organisation&__mark=")), "the stale notice is replaced: {location}");
    assert_eq!(c.get(&location).send().await.unwrap().status(), 200, "signed for this user: shown");
    // The same notice unsigned, or signed for someone else: the page is sent to its address
    // without it (a crafted link cannot make a page say that something was done).
    let bare = c.get(format!("{page}?__ok=%2Ffn%2Frename_organisation")).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::SEE_OTHER);
    assert_eq!(bare.headers()["location"].to_str().unwrap(), format!("/admin/organisations/{id}"));
    let crafted = client().get(format!("{}/signin?__path=%2Ffn%2Fsign_in&__err=eyJjb2RlIjoieCIsIm1lc3NhZ2UiOiJ5In0", server.url(""))).send().await.unwrap();
    assert_eq!(crafted.status(), StatusCode::SEE_OTHER, "an error text of the link's choosing is dropped");
    assert_eq!(crafted.headers()["location"], "/signin");

    // A refused one (the name is taken now) goes back to the page with the error.
    let r = post("Initech Ltd", html).await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&referer) && location.contains("__path=") && location.contains("__err="), "{location}");
    let html_page = c.get(&location).send().await.unwrap();
    assert_eq!(html_page.status(), 200);
    let body = html_page.text().await.unwrap();
    assert!(body.contains("role=\"alert\"") && body.contains("already exists"), "the page shows the error");

    // The wasm client's call: the error's own status.
    let r = post("Initech Ltd", "application/json").await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // Signed out meanwhile: the browser is sent to sign in (a script gets the 401 problem).
    let anonymous = client();
    let r = anonymous.post(server.url("/fn/create_organisation")).header("accept", html).header("referer", referer.clone()).form(&[("name", "Later")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/signin?next=/admin/organisations", "back to the page after signing in");
    let r = anonymous.post(server.url("/fn/create_organisation")).header("accept", "application/json").form(&[("name", "Later")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// Plain form posts (no wasm) to functions whose answer only an island can show are refused,
/// and change nothing: a secret would be made and shown nowhere, a preview never confirmed.
#[tokio::test]
async fn plain_form_posts_that_would_lose_their_answer_are_refused() {
    let server = Server::start();
    let c = signed_in(&server, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let api = {
        let (status, body) = call_server_fn(&c, &server, "create_api", &[("name", "Minted"), ("listen_path", "/minted"), ("upstream_url", "http://127.0.0.1:9/"), ("auth", "auth_token")]).await;
        assert_eq!(status, 200, "{body}");
        body["id"].as_str().unwrap().to_string()
    };
    let page = server.url(&format!("/admin/apis/{api}"));
    let r = c.post(server.url("/fn/issue_api_key")).header("accept", html).header("referer", page.clone()).form(&[("api", api.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("__err=") && !location.contains("__ok="), "{location}");
    let body = c.get(&location).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("this needs JavaScript"), "the page says why");
    let (status, keys) = call_server_fn(&c, &server, "list_api_keys", &[("api", api.as_str())]).await;
    assert_eq!(status, 200, "{keys}");
    assert_eq!(keys.as_array().map(Vec::len), Some(0), "no key was made");

    // The wasm client's call works (the island shows the token).
    let (status, body) = call_server_fn(&c, &server, "issue_api_key", &[("api", api.as_str())]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["token"].as_str().unwrap().starts_with("cgk_"));
}
