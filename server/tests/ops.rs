//! Operations with the real binary: first start, password recovery, admin tokens, backups, the
//! generated gateway certificate and its pin.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use support::*;

fn certgate(args: &[&str], data: &Path) -> Output {
    Command::new(binary()).args(args).arg("--data-dir").arg(data).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

async fn organisations(server: &Server, bearer: &str) -> u16 {
    client()
        .get(server.url("/api/v1/organisations"))
        .header("authorization", format!("Bearer {bearer}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Starts `certgate serve` without an admin password; returns the child, its stdout lines up to
/// and including the gateway certificate's pin, and the generated password if one was printed.
fn start_without_password(data: &Path, gateway_addr: &str) -> (std::process::Child, Vec<String>, Option<String>) {
    let mut child = Command::new(binary())
        .args(["serve", "--data-dir"])
        .arg(data)
        .args(["--portal-addr", "127.0.0.1:0", "--gateway-addr", gateway_addr])
        .env("CERTGATE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut stdout = stdout.lines();
    for line in stdout.by_ref().map_while(Result::ok) {
        let done = line.starts_with("gateway certificate SPKI pin:");
        lines.push(line);
        if done {
            break;
        }
    }
    std::thread::spawn(move || for _ in stdout {});
    std::thread::sleep(Duration::from_millis(200));
    let password = rx.try_iter().find_map(|l| l.split_once("with the generated password: ").map(|(_, p)| p.trim().to_string()));
    (child, lines, password)
}

fn line_value(lines: &[String], prefix: &str) -> String {
    lines.iter().find_map(|l| l.strip_prefix(prefix)).unwrap_or_else(|| panic!("no {prefix:?} in {lines:?}")).trim().to_string()
}

#[tokio::test]
async fn the_admin_is_created_only_after_every_listener_is_bound() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();

    let (mut child, lines, password) = start_without_password(&data, &taken_addr);
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(lines.is_empty(), "{lines:?}");
    assert_eq!(password, None, "a password was printed for a start that failed");

    // The next start creates the admin and prints its password.
    let (mut child, lines, password) = start_without_password(&data, "127.0.0.1:0");
    let portal = line_value(&lines, "certgate portal:").trim_end_matches('/').to_string();
    let password = password.expect("the generated password is printed on the first start that binds");
    let r = client()
        .post(format!("{portal}/fn/sign_in"))
        .form(&[("email", "admin@certgate.local"), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&r, "certgate_session").is_some(), "{}", r.status());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn the_printed_pin_is_the_pin_of_the_certificate_the_gateway_serves() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut child, lines, _) = start_without_password(&data, "127.0.0.1:0");
    let pin = line_value(&lines, "gateway certificate SPKI pin:");
    let gateway = line_value(&lines, "certgate gateway:");
    let addr: std::net::SocketAddr = gateway.trim_start_matches("https://").trim_end_matches('/').parse().unwrap();

    // A real handshake; the served certificate is trusted as the generated one on disk.
    install_crypto_provider();
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let on_disk = std::fs::read(data.join("gateway-tls/server.crt")).unwrap();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&on_disk) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(rustls::pki_types::ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let served = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    let facts = certgate_core::pki::parse_der(&served).unwrap();
    use base64::Engine;
    let expected = format!("sha256//{}", base64::engine::general_purpose::STANDARD.encode(hex::decode(&facts.spki_sha256).unwrap()));
    assert_eq!(pin, expected);
    // One year of validity, not 1975..4096.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let days = (facts.not_after - now) / 86_400;
    assert!((364..=365).contains(&days), "valid for {days} more days");
    assert!(now - facts.not_before < 2 * 3600);
    child.kill().unwrap();
    child.wait().unwrap();

    // A restart keeps the key, so the pin is the same.
    let (mut child, lines, _) = start_without_password(&data, "127.0.0.1:0");
    assert_eq!(line_value(&lines, "gateway certificate SPKI pin:"), pin);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn reset_password_from_the_command_line_ends_the_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start_in(&data, &[]);
    let old = client();
    assert!(set_cookie(&sign_in(&old, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await, "certgate_session").is_some());
    assert_eq!(old.get(server.url("/admin")).send().await.unwrap().status(), 200);

    // While certgate runs the store is held: one clear line, nothing changed.
    let out = certgate(&["admin", "reset-password", "--email", ADMIN_EMAIL], &data);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("stop certgate first"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1);
    assert!(server.terminate(Duration::from_secs(15)).success());

    let out = certgate(&["admin", "reset-password", "--email", "nobody@test.example"], &data);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no account with the email nobody@test.example"), "{}", stderr(&out));

    let out = certgate(&["admin", "reset-password", "--email", ADMIN_EMAIL.to_uppercase().as_str()], &data);
    assert!(out.status.success(), "{}", stderr(&out));
    let password = line_value(&stdout(&out).lines().map(str::to_string).collect::<Vec<_>>(), &format!("new password for {ADMIN_EMAIL}:"));
    assert!(password.len() >= 32);

    let server = Server::start_in(&data, &[]);
    assert_eq!(old.get(server.url("/admin")).send().await.unwrap().status(), 303, "the old session still works");
    let fresh = client();
    assert_eq!(sign_in(&fresh, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), 401);
    assert!(set_cookie(&sign_in(&fresh, &server, ADMIN_EMAIL, &password).await, "certgate_session").is_some());
    drop(server);

    // From stdin; a weak password is refused.
    let from_stdin = |password: &str| {
        let mut child = Command::new(binary())
            .args(["admin", "reset-password", "--password-stdin", "--email", ADMIN_EMAIL, "--data-dir"])
            .arg(&data)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    std::thread::sleep(Duration::from_millis(300));
    let out = from_stdin("short");
    assert!(!out.status.success());
    let out = from_stdin("a password from standard input");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains("a password from standard input"));
    let server = Server::start_in(&data, &[]);
    assert!(set_cookie(&sign_in(&client(), &server, ADMIN_EMAIL, "a password from standard input").await, "certgate_session").is_some());
}

#[tokio::test]
async fn admin_tokens_work_beside_the_configured_one_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start_in(&data, &[]);
    let out = certgate(&["admin", "create-token"], &data);
    assert!(!out.status.success(), "created while the store is held");
    assert!(server.terminate(Duration::from_secs(15)).success());

    let out = certgate(&["admin", "create-token", "--name", "deploy bot"], &data);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    let (id, token) = (line_value(&lines, "id:"), line_value(&lines, "token:"));
    assert!(id.starts_with("adt_") && token.starts_with("cga_"), "{lines:?}");

    let out = certgate(&["admin", "list-tokens"], &data);
    assert!(out.status.success());
    assert!(stdout(&out).contains(&id) && stdout(&out).contains("deploy bot"));
    assert!(!stdout(&out).contains(&token));

    let mut server = Server::start_in(&data, &[]);
    assert_eq!(organisations(&server, &token).await, 200);
    assert_eq!(organisations(&server, ADMIN_TOKEN).await, 200, "the configured token still works");
    let mut forged = token.clone();
    forged.replace_range(8..9, if &token[8..9] == "A" { "B" } else { "A" });
    assert_eq!(organisations(&server, &forged).await, 401);
    // It can make changes too.
    let r = client()
        .post(server.url("/api/v1/organisations"))
        .header("authorization", format!("Bearer {token}"))
        .json(&json!({"name": "Made by a token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // A leaked token is revoked while certgate runs (through its control socket), effective
    // on the next request, without stopping the gateway.
    let out = certgate(&["admin", "revoke-token", "adt_nope"], &data);
    assert!(stderr(&out).contains("no admin token with the id adt_nope"), "{}", stderr(&out));
    let out = certgate(&["admin", "revoke-token", &id], &data);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(organisations(&server, &token).await, 401, "revoked while running");
    assert_eq!(organisations(&server, ADMIN_TOKEN).await, 200);
    assert!(server.terminate(Duration::from_secs(15)).success());

    let raw = std::fs::read(data.join("certgate.redb")).unwrap();
    assert!(!raw.windows(token.len()).any(|w| w == token.as_bytes()), "the token is in the store file");

    let out = certgate(&["admin", "revoke-token", "adt_nope"], &data);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no admin token with the id adt_nope"), "{}", stderr(&out));
    let out = certgate(&["admin", "revoke-token", &id], &data);
    assert!(!out.status.success(), "revoked already");
    let server = Server::start_in(&data, &[]);
    assert_eq!(organisations(&server, &token).await, 401);
    assert_eq!(organisations(&server, ADMIN_TOKEN).await, 200);
}

#[tokio::test]
async fn a_backup_made_while_serving_restores_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start_in(&data, &[]);
    let r = client()
        .post(server.url("/api/v1/organisations"))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .json(&json!({"name": "Backed Up Ltd"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let backup = dir.path().join("backup.redb");
    let out = certgate(&["backup", backup.to_str().unwrap()], &data);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("backup written to"), "{}", stdout(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(data.join("control.sock")).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again = certgate(&["backup", backup.to_str().unwrap()], &data);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("already exists"), "{}", stderr(&again));
    // A relative path is made absolute by the command, so the server writes where the user meant.
    let relative = Command::new(binary())
        .args(["backup", "relative.redb", "--data-dir"])
        .arg(&data)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(relative.status.success(), "{}", stderr(&relative));
    assert!(dir.path().join("relative.redb").is_file());
    assert!(server.terminate(Duration::from_secs(15)).success());
    assert!(!data.join("control.sock").exists(), "the socket is removed at shutdown");

    // Stopped: the command copies the store itself.
    let offline = dir.path().join("offline.redb");
    let out = certgate(&["backup", offline.to_str().unwrap()], &data);
    assert!(out.status.success(), "{}", stderr(&out));

    // Restore: a fresh data directory with the backup as its store.
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::rename(&backup, restored.join("certgate.redb")).unwrap();
    let check = certgate(&["check"], &restored);
    assert!(check.status.success(), "{}", stderr(&check));
    let server = Server::start_in(&restored, &[]);
    let list: Value = client()
        .get(server.url("/api/v1/organisations"))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Backed Up Ltd"), "{names:?}");
    assert!(set_cookie(&sign_in(&client(), &server, ADMIN_EMAIL, ADMIN_PASSWORD).await, "certgate_session").is_some());
}

#[test]
fn check_and_backup_on_a_missing_data_directory_say_so_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let out = certgate(&["check"], &missing);
    assert!(!out.status.success());
    assert_eq!(stderr(&out).trim(), format!("certgate: error: no data directory at {}", missing.display()));
    let out = certgate(&["backup", dir.path().join("b.redb").to_str().unwrap()], &missing);
    assert!(!out.status.success());
    assert_eq!(stderr(&out).trim(), format!("certgate: error: no data directory at {}", missing.display()));
    let out = certgate(&["admin", "list-tokens"], &missing);
    assert!(!out.status.success());
    assert!(!missing.exists(), "a command created the missing data directory");
}
