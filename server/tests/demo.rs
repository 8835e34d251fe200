//! `--demo` through the real binary: the commands it prints are parsed and sent through the
//! real gateway with real TLS (and with curl itself when it is installed); the Managed and
//! Self-Serve calls reach the echo upstream, which shows the method, path and identity; the
//! other organisation's certificate with Acme's token is refused for binding; a restart prints
//! the same commands, which still work, and creates nothing twice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::Method;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::gateway::{connect_with, Admin, Answer};
use support::Server;

const ACME_MANAGED: &str = "demo curl, Acme Corp, Managed product";
const GLOBEX_MANAGED: &str = "demo curl, Globex, Managed product";
const GLOBEX_SELF_SERVE: &str = "demo curl, Globex, Self-Serve product";
const BINDING: &str = "demo curl, Globex's certificate with Acme Corp's token";
const HEALTH: &str = "demo curl, the portal's health";

/// The demo lines certgate printed (they follow the listeners' addresses; the last is the
/// portal-health call).
fn demo_lines(server: &Server) -> Vec<String> {
    let started = Instant::now();
    loop {
        let lines = server.stdout();
        if lines.iter().any(|l| l.starts_with(HEALTH)) {
            return lines.into_iter().filter(|l| l.starts_with("demo ")).collect();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no demo commands printed: {lines:#?}\n{}", server.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Words as a POSIX shell splits them (single and double quotes, backslash).
fn shell_words(command: &str) -> Vec<String> {
    let (mut out, mut word, mut in_word) = (Vec::new(), String::new(), false);
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    word.push(q);
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// One printed command, parsed.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    line: String,
    command: String,
    cacert: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    authorization: String,
    url: String,
}

impl Call {
    fn find(lines: &[String], label: &str) -> Call {
        let line = lines.iter().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no line {label:?} in {lines:#?}")).clone();
        assert_eq!(line.lines().count(), 1);
        let (_, command) = line.split_once(": curl ").unwrap_or_else(|| panic!("not a labelled curl command: {line}"));
        let command = format!("curl {command}");
        let words = shell_words(&command);
        let mut flags = BTreeMap::new();
        let mut url = None;
        let mut rest = words.iter().skip(1);
        while let Some(word) = rest.next() {
            if word.starts_with('-') {
                flags.insert(word.clone(), rest.next().unwrap_or_else(|| panic!("{word} without a value: {command}")).clone());
            } else {
                url = Some(word.clone());
            }
        }
        let path = |flag: &str| {
            let path = PathBuf::from(flags.get(flag).unwrap_or_else(|| panic!("no {flag} in {command}")));
            assert!(path.is_absolute() && path.exists(), "{flag} {} is an existing absolute path", path.display());
            path
        };
        Call {
            cacert: path("--cacert"),
            cert: path("--cert"),
            key: path("--key"),
            authorization: flags.get("-H").unwrap_or_else(|| panic!("no header in {command}")).clone(),
            url: url.unwrap_or_else(|| panic!("no URL in {command}")),
            line,
            command,
        }
    }

    /// The token, from `Authorization: Bearer …`.
    fn token(&self) -> &str {
        self.authorization.strip_prefix("Authorization: Bearer ").unwrap_or_else(|| panic!("{}", self.authorization))
    }

    fn path(&self) -> &str {
        let rest = self.url.strip_prefix("https://localhost:").unwrap_or_else(|| panic!("{}", self.url));
        &rest[rest.find('/').unwrap()..]
    }

    fn certificate_id(&self) -> String {
        hex::encode(Sha256::digest(CertificateDer::from_pem_file(&self.cert).unwrap()))
    }

    /// The command's request through the gateway, with the test's TLS client.
    async fn send(&self, server: &Server, method: &str) -> Answer {
        let port = self.url.strip_prefix("https://localhost:").and_then(|r| r.split('/').next()).unwrap();
        assert!(server.gateway.ends_with(&format!(":{port}")), "{} points at the gateway {}", self.url, server.gateway);
        assert_eq!(self.cacert, server.data_dir.join("gateway-tls/server.crt"), "--cacert is the gateway's generated certificate");
        let der = CertificateDer::from_pem_file(&self.cert).unwrap().to_vec();
        let key = std::fs::read_to_string(&self.key).unwrap();
        let mut conn = connect_with(server, &[der], Some(&key), "localhost").await;
        let bearer = format!("Bearer {}", self.token());
        conn.send(method, self.path(), &[("authorization", &bearer)], bytes::Bytes::new()).await
    }

    /// The command itself, pasted into a shell, when curl is installed: its status and body.
    fn run_with_curl(&self) -> Option<(u16, Value)> {
        let installed = std::process::Command::new("curl").arg("--version").output().is_ok_and(|o| o.status.success());
        if !installed {
            eprintln!("curl is not installed: the printed command is checked with the test's own client only");
            return None;
        }
        let output = std::process::Command::new("sh").arg("-c").arg(format!("{} -s -w '\\n%{{http_code}}'", self.command)).output().unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        let (body, status) = text.rsplit_once('\n').unwrap_or_else(|| panic!("curl said {text:?}: {}", String::from_utf8_lossy(&output.stderr)));
        Some((status.parse().unwrap(), serde_json::from_str(body).unwrap_or(Value::Null)))
    }
}

/// Every printed command does what its label says, through the gateway.
async fn check_calls(server: &Server) -> Vec<Call> {
    let lines = demo_lines(server);
    let calls: Vec<Call> = [ACME_MANAGED, GLOBEX_MANAGED, GLOBEX_SELF_SERVE, BINDING, HEALTH].iter().map(|label| Call::find(&lines, label)).collect();
    let [acme, globex, self_serve, binding, health] = <[Call; 5]>::try_from(calls.clone()).unwrap();

    // Managed, Acme: the echo upstream shows the method, the path (listen path stripped) and
    // the identity the gateway vouches for: Acme's certificate and the credential.
    for method in ["GET", "POST"] {
        let answer = acme.send(server, method).await;
        assert_eq!(answer.status, 200, "{}: {}", acme.line, answer.body);
        assert_eq!((answer.body["method"].as_str(), answer.body["path"].as_str()), (Some(method), Some("/hello")), "{}", answer.body);
        let identity = answer.body["identity"].as_str().unwrap_or_else(|| panic!("no identity: {}", answer.body));
        assert!(identity.starts_with(&format!("Hash={};", acme.certificate_id())), "{identity}");
        assert!(identity.contains("CN=Acme demo client") && identity.contains("Key=crd_"), "{identity}");
    }
    let answer = globex.send(server, "GET").await;
    assert_eq!(answer.status, 200, "{}: {}", globex.line, answer.body);
    assert!(answer.body["identity"].as_str().unwrap().starts_with(&format!("Hash={};", globex.certificate_id())));

    // Self-Serve: Globex's own certificate, submitted with the request.
    let answer = self_serve.send(server, "GET").await;
    assert_eq!(answer.status, 200, "{}: {}", self_serve.line, answer.body);
    assert!(answer.body["identity"].as_str().unwrap().starts_with(&format!("Hash={};", self_serve.certificate_id())));
    assert_ne!(self_serve.certificate_id(), globex.certificate_id());

    // Binding: Globex's certificate is allow-listed (Globex's own credential), Acme's token is
    // not bound to it.
    assert_eq!(binding.token(), acme.token());
    assert_eq!(binding.cert, globex.cert);
    let answer = binding.send(server, "GET").await;
    assert_eq!((answer.status, answer.code()), (401, "certificate_binding_mismatch"), "{}", answer.body);
    // ...and the tokens are not interchangeable across products either.
    let mut conn = connect_with(
        server,
        &[CertificateDer::from_pem_file(&self_serve.cert).unwrap().to_vec()],
        Some(&std::fs::read_to_string(&self_serve.key).unwrap()),
        "localhost",
    )
    .await;
    let other = format!("Bearer {}", acme.token());
    assert_eq!(conn.get(self_serve.path(), &[("authorization", &other)]).await.code(), "api_not_granted");

    let answer = health.send(server, "GET").await;
    assert_eq!((answer.status, answer.body["status"].as_str()), (200, Some("alive")), "{}", answer.body);

    // Pasted into a shell, the commands do the same.
    if let Some((status, body)) = acme.run_with_curl() {
        assert_eq!((status, body["path"].as_str()), (200, Some("/hello")), "{body}");
        assert_eq!(self_serve.run_with_curl().map(|(s, _)| s), Some(200));
        let (status, body) = binding.run_with_curl().unwrap();
        assert_eq!((status, body["code"].as_str()), (401, Some("certificate_binding_mismatch")));
    }
    calls
}

/// The printed admin token, checked against the REST API.
async fn admin_token(server: &Server) -> String {
    let lines = demo_lines(server);
    let line = lines.iter().find(|l| l.starts_with("demo admin token: TOKEN=")).unwrap_or_else(|| panic!("{lines:#?}"));
    let token = line.trim_start_matches("demo admin token: TOKEN=").to_string();
    let response = support::client().get(server.url("/api/v1/products")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let products: Value = response.json().await.unwrap();
    let mut names: Vec<&str> = products["items"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    names.sort();
    assert_eq!(names, ["Echo (Managed)", "Echo (Self-Serve)"]);
    let rest = lines.iter().find(|l| l.starts_with("demo REST call:")).unwrap();
    assert!(rest.contains(&token) && rest.contains(&server.url("/api/v1/")), "{rest}");
    token
}

/// What the store holds, as the admin and the demo consumers see it: every name, so a
/// duplicate shows.
async fn inventory(server: &Server) -> Value {
    let admin = Admin::new(server);
    let mut out = serde_json::Map::new();
    for (list, field) in [("organisations", "name"), ("products", "name"), ("plans", "name"), ("apis", "listen_path"), ("certificates", "id")] {
        let (status, page) = admin.call(Method::GET, &format!("/{list}?limit=200"), None).await;
        assert_eq!(status, 200, "{page}");
        let mut names: Vec<String> = page["items"].as_array().unwrap().iter().map(|i| i[field].as_str().unwrap().to_string()).collect();
        names.sort();
        out.insert(list.into(), json!(names));
    }
    let (_, requests) = admin.call(Method::GET, "/access-requests?limit=200", None).await;
    out.insert("access_requests".into(), json!(requests["items"].as_array().unwrap().len()));
    for email in ["dev@acme.example", "dev@globex.example"] {
        let consumer = support::client();
        let signed_in = support::sign_in(&consumer, server, email, "demo-consumer-password").await;
        assert!(support::set_cookie(&signed_in, "certgate_session").is_some(), "{email} signs in with the documented password");
        let apps: Value = consumer.get(server.url("/api/v1/portal/apps")).send().await.unwrap().json().await.unwrap();
        let names: Vec<&str> = apps["items"].as_array().unwrap().iter().filter_map(|a| a["name"].as_str()).collect();
        out.insert(email.into(), json!(names));
    }
    Value::Object(out)
}

/// A line with the listeners' ports taken out (they are picked anew at each start).
fn without_ports(line: &str, servers: &[&Server]) -> String {
    let mut line = line.to_string();
    for server in servers {
        for url in [&server.gateway, &server.portal] {
            let port = url.rsplit(':').next().unwrap();
            line = line.replace(&format!(":{port}/"), ":PORT/");
        }
    }
    line
}

#[tokio::test]
async fn the_printed_demo_commands_work_and_a_restart_repeats_them_creating_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut first = Server::start_in(&data, &["--demo"]);
    let calls = check_calls(&first).await;
    let token = admin_token(&first).await;
    let before = inventory(&first).await;
    assert_eq!(before["organisations"], json!(["Acme Corp", "Globex"]), "{before}");
    assert_eq!(before["dev@acme.example"], json!(["Acme Checkout"]));
    assert_eq!(before["dev@globex.example"], json!(["Globex Billing"]));
    assert_eq!(before["access_requests"], 3, "three approved demo requests");
    // The echo upstream listens on loopback only.
    let (_, apis) = Admin::new(&first).call(Method::GET, "/apis", None).await;
    for api in apis["items"].as_array().unwrap() {
        assert!(api["upstream_url"].as_str().unwrap().starts_with("http://127.0.0.1:"), "{api}");
    }
    // Demo secrets are readable by certgate's user only.
    #[cfg(unix)]
    for file in ["acme-managed.token", "globex-managed.token", "globex-self-serve.token", "admin-token", "token", "ca.key", "client.key"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("demo").join(file)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let printed = demo_lines(&first);
    assert!(first.terminate(Duration::from_secs(15)).success());

    let second = Server::start_in(&data, &["--demo"]);
    let again = check_calls(&second).await;
    assert_eq!(admin_token(&second).await, token, "the same admin token");
    assert_eq!(inventory(&second).await, before, "nothing made twice, nothing lost");
    for (old, new) in calls.iter().zip(&again) {
        assert_eq!(without_ports(&old.line, &[&first]), without_ports(&new.line, &[&second]), "the same command");
    }
    let reprinted: Vec<String> = demo_lines(&second).iter().map(|l| without_ports(l, &[&second])).collect();
    assert_eq!(printed.iter().map(|l| without_ports(l, &[&first])).collect::<Vec<_>>(), reprinted);
}

/// `certgate serve --help` on `--demo`, its lines joined (clap wraps them to the terminal).
fn demo_help() -> String {
    let output = std::process::Command::new(support::binary()).args(["serve", "--help"]).output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    let from = help.find("--demo").unwrap();
    let to = from + help[from..].find("--admin-email").unwrap();
    help[from..to].split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn the_demo_help_names_everything_the_demo_makes() {
    let help = demo_help();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_in(&data, &["--demo"]);
    // Every file written to DATA_DIR/demo (a certificate and its key as `name.crt/.key`).
    for entry in std::fs::read_dir(data.join("demo")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let pair = format!("{}.crt/.key", name.trim_end_matches(".crt").trim_end_matches(".key"));
        // Named as a word of its own (`token` must not count for `acme-managed.token`).
        let alone = help.match_indices(&name).any(|(at, _)| {
            let before = help[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '.'));
            let after = help[at + name.len()..].chars().next().is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '.' || c == '/'));
            before && after
        });
        assert!(alone || help.contains(&pair), "{name} is not in the help: {help}");
    }
    // Every organisation, product, plan and API (name and path), and every account.
    let inventory = inventory(&server).await;
    for list in ["organisations", "products", "plans", "apis"] {
        for name in inventory[list].as_array().unwrap() {
            assert!(help.contains(name.as_str().unwrap()), "{list} {name} is not in the help");
        }
    }
    for api in support::list_all(&server, "/api/v1/apis").await {
        assert!(help.contains(api["name"].as_str().unwrap()), "API {} is not in the help", api["name"]);
    }
    // Every consumer (the tests' server is started with an admin of their own; the demo's
    // admin is checked by name below).
    for user in support::list_all(&server, "/api/v1/users").await.into_iter().filter(|u| u["role"] != "admin") {
        assert!(help.contains(user["email"].as_str().unwrap()), "{} is not in the help", user["email"]);
    }
    for said in ["admin@certgate.local", "demo-admin-password", "demo-consumer-password", "Dana Developer", "Gus Globex", "Acme Checkout", "Globex Billing",
        "certgate demo CA", "Acme demo client", "Globex demo client", "x-client-identity", "certificate_binding_mismatch", "--cacert", "0600"] {
        assert!(help.contains(said), "{said} is not in the help");
    }
}

#[tokio::test]
async fn a_lost_demo_token_is_replaced_on_restart_and_the_old_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut first = Server::start_in(&data, &["--demo"]);
    let old = Call::find(&demo_lines(&first), ACME_MANAGED);
    assert!(first.terminate(Duration::from_secs(15)).success());
    std::fs::remove_file(data.join("demo/acme-managed.token")).unwrap();

    let second = Server::start_in(&data, &["--demo"]);
    let lines = demo_lines(&second);
    let new = Call::find(&lines, ACME_MANAGED);
    assert_ne!(new.token(), old.token(), "a new token, by rotation");
    assert_eq!(new.send(&second, "GET").await.status, 200);
    let stale = Call { authorization: old.authorization.clone(), ..new.clone() };
    assert_eq!(stale.send(&second, "GET").await.code(), "credential_invalid", "the lost token ends at once");
    // The binding command follows the new token; the others are untouched.
    assert_eq!(Call::find(&lines, BINDING).token(), new.token());
    assert_eq!(inventory(&second).await["dev@acme.example"], json!(["Acme Checkout"]));
}

#[tokio::test]
async fn without_demo_there_is_no_demo_data_and_no_echo_upstream() {
    let server = Server::start();
    let (status, apis) = Admin::new(&server).call(Method::GET, "/apis", None).await;
    assert_eq!((status, apis["items"].as_array().map(Vec::len)), (200, Some(0)), "{apis}");
    let (_, organisations) = Admin::new(&server).call(Method::GET, "/organisations", None).await;
    assert_eq!(organisations["items"].as_array().map(Vec::len), Some(0));
    assert!(!server.data_dir.join("demo").exists());
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.stdout().iter().all(|l| !l.starts_with("demo")), "{:#?}", server.stdout());
}

#[tokio::test]
async fn demo_data_never_goes_into_a_store_made_without_demo() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut real = Server::start_in(&data, &[]);
    assert!(real.terminate(Duration::from_secs(15)).success());
    let server = Server::start_in(&data, &["--demo"]);
    let (_, organisations) = Admin::new(&server).call(Method::GET, "/organisations", None).await;
    assert_eq!(organisations["items"].as_array().map(Vec::len), Some(0), "{organisations}");
    let (_, apis) = Admin::new(&server).call(Method::GET, "/apis", None).await;
    assert_eq!(apis["items"].as_array().map(Vec::len), Some(0), "{apis}");
    assert!(!data.join("demo").exists());
    assert!(server.stdout().iter().all(|l| !l.starts_with("demo")), "{:#?}", server.stdout());
    assert!(server.stderr().contains("--demo adds demo data only to an empty data directory"), "{}", server.stderr());
}

#[test]
fn shell_words_follow_the_shell() {
    assert_eq!(shell_words(r#"curl -H "A: b c" '/x y/z' /p\ q 'it'\''s'"#), ["curl", "-H", "A: b c", "/x y/z", "/p q", "it's"]);
}
