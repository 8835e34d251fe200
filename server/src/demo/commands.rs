//! The lines `--demo` prints at every start: the consumers, the admin token, and labelled,
//! single-line `curl` commands through the gateway with absolute paths. Made from the files in
//! `DATA_DIR/demo/` alone, so a restart prints them again (with the gateway's current port).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::catalogue::{HEALTH_PATH, MANAGED_PATH, SELF_SERVE_PATH};
use super::{demo_dir, files, read_secret, ACME, CONSUMER_PASSWORD, GLOBEX};

/// Where the commands point.
pub struct Endpoints<'a> {
    pub gateway: SocketAddr,
    /// The gateway's certificate (or its CA) for `--cacert`.
    pub cacert: &'a Path,
    /// The portal's base URL, for the REST example.
    pub portal_url: &'a str,
}

/// A path as the shell reads it: bare when that is safe, else single-quoted.
fn shell(path: &Path) -> String {
    let text = path.display().to_string();
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:=@%,".contains(c)) {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The gateway's URL as its generated certificate names it (localhost on loopback).
fn gateway_url(gateway: SocketAddr) -> String {
    let ip = gateway.ip();
    if ip.is_loopback() || ip.is_unspecified() {
        format!("https://localhost:{}", gateway.port())
    } else {
        format!("https://{gateway}")
    }
}

/// Every line to print, in order; commands whose files are missing are left out.
pub fn lines(data_dir: &Path, at: &Endpoints<'_>) -> Vec<String> {
    let dir = absolute(&demo_dir(data_dir));
    let cacert = shell(&absolute(at.cacert));
    let base = gateway_url(at.gateway);
    let curl = |cert: &str, token_file: &str, path: &str| -> Option<String> {
        let token = read_secret(&dir.join(token_file))?;
        let (crt, key) = (dir.join(format!("{cert}.crt")), dir.join(format!("{cert}.key")));
        if !crt.exists() || !key.exists() {
            return None;
        }
        Some(format!(
            "curl --cacert {cacert} --cert {} --key {} -H \"Authorization: Bearer {token}\" {base}{path}",
            shell(&crt),
            shell(&key)
        ))
    };
    let mut out = vec![format!(
        "demo consumers:   {} ({}) and {} ({}), password {CONSUMER_PASSWORD}",
        ACME.consumer_email, ACME.name, GLOBEX.consumer_email, GLOBEX.name
    )];
    if let Some(token) = read_secret(&dir.join(files::ADMIN_TOKEN)) {
        out.push(format!("demo admin token: TOKEN={token}"));
        out.push(format!("demo REST call:   curl -s -H \"Authorization: Bearer {token}\" {}/api/v1/products", at.portal_url.trim_end_matches('/')));
    }
    let calls = [
        (
            format!("{}, Managed product (200; the echo shows method, path and identity)", ACME.name),
            curl(files::ACME_CERT, files::ACME_MANAGED_TOKEN, &format!("{MANAGED_PATH}/hello")),
        ),
        (format!("{}, Managed product (200)", GLOBEX.name), curl(files::GLOBEX_CERT, files::GLOBEX_MANAGED_TOKEN, &format!("{MANAGED_PATH}/hello"))),
        (
            format!("{}, Self-Serve product with its own certificate (200)", GLOBEX.name),
            curl(files::GLOBEX_SELF_SERVE_CERT, files::GLOBEX_SELF_SERVE_TOKEN, &format!("{SELF_SERVE_PATH}/hello")),
        ),
        (
            format!("{}'s certificate with {}'s token (401 certificate_binding_mismatch)", GLOBEX.name, ACME.name),
            curl(files::GLOBEX_CERT, files::ACME_MANAGED_TOKEN, &format!("{MANAGED_PATH}/hello")),
        ),
        ("the portal's health through an admin key (200)".to_string(), curl(files::ACME_CERT, files::HEALTH_TOKEN, &format!("{HEALTH_PATH}/healthz"))),
    ];
    for (label, command) in calls {
        if let Some(command) = command {
            out.push(format!("demo curl, {label}: {command}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_only_when_needed() {
        assert_eq!(shell(Path::new("/tmp/a-b/c.crt")), "/tmp/a-b/c.crt");
        assert_eq!(shell(Path::new("/tmp/my dir/c.crt")), "'/tmp/my dir/c.crt'");
        assert_eq!(shell(Path::new("/tmp/it's/c.crt")), r"'/tmp/it'\''s/c.crt'");
    }

    #[test]
    fn the_gateway_is_named_as_its_certificate_names_it() {
        assert_eq!(gateway_url("127.0.0.1:8443".parse().unwrap()), "https://localhost:8443");
        assert_eq!(gateway_url("0.0.0.0:8443".parse().unwrap()), "https://localhost:8443");
        assert_eq!(gateway_url("192.0.2.7:443".parse().unwrap()), "https://192.0.2.7:443");
    }
}
