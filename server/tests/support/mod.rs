//! Starts the real `certgate` binary on free ports with its own data directory.

#![allow(dead_code)]

pub mod demo;
pub mod gateway;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ADMIN_EMAIL: &str = "admin@test.example";
pub const ADMIN_PASSWORD: &str = "integration-admin-password";
pub const ADMIN_TOKEN: &str = "integration-test-admin-token-0123456789";

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_certgate")
}

pub struct Server {
    pub child: Child,
    pub portal: String,
    pub gateway: String,
    /// The dedicated metrics URL, when started with `--metrics-addr`.
    pub metrics: Option<String>,
    pub data_dir: PathBuf,
    pub stderr_path: PathBuf,
    /// Every line certgate printed on stdout so far.
    stdout: Arc<Mutex<Vec<String>>>,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts certgate on free ports in a new data directory, with an admin and the admin token.
    pub fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let mut server = Server::start_in(&data_dir, &[]);
        server._dir = Some(dir);
        server
    }

    /// Starts certgate with `data_dir` (kept by the caller) and extra flags.
    pub fn start_in(data_dir: &Path, extra: &[&str]) -> Server {
        Server::start_in_with_log(data_dir, extra, "warn")
    }

    /// [`Server::start_in`] with the log level `CERTGATE_LOG` set to `log`.
    pub fn start_in_with_log(data_dir: &Path, extra: &[&str], log: &str) -> Server {
        let token_file = data_dir.with_extension("token");
        std::fs::create_dir_all(data_dir.parent().unwrap()).unwrap();
        std::fs::write(&token_file, format!("{ADMIN_TOKEN}\n")).unwrap();
        let stderr_path = data_dir.with_extension("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut child = Command::new(binary())
            .args(["serve", "--data-dir"])
            .arg(data_dir)
            .args(["--portal-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0"])
            .args(["--admin-email", ADMIN_EMAIL, "--admin-password", ADMIN_PASSWORD])
            .arg("--admin-token-file")
            .arg(&token_file)
            .args(extra)
            .env("CERTGATE_LOG", log)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let (mut portal, mut gateway, mut metrics) = (None, None, None);
        let stdout_lines = Arc::new(Mutex::new(Vec::new()));
        while portal.is_none() || gateway.is_none() {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.wait();
                panic!("certgate exited early: {}", std::fs::read_to_string(&stderr_path).unwrap_or_default());
            };
            stdout_lines.lock().unwrap().push(line.clone());
            if let Some(url) = line.strip_prefix("certgate portal:") {
                portal = Some(url.trim().trim_end_matches('/').to_string());
            }
            if let Some(url) = line.strip_prefix("certgate metrics:") {
                metrics = Some(url.trim().to_string());
            }
            if let Some(url) = line.strip_prefix("certgate gateway:") {
                gateway = Some(url.trim().trim_end_matches('/').to_string());
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        let sink = Arc::clone(&stdout_lines);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Server {
            child,
            portal: portal.unwrap(),
            gateway: gateway.unwrap(),
            metrics,
            data_dir: data_dir.to_path_buf(),
            stderr_path,
            stdout: stdout_lines,
            _dir: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.portal)
    }

    /// The lines printed on stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// SIGTERM, then waits for the exit (at most `limit`).
    pub fn terminate(&mut self, limit: Duration) -> std::process::ExitStatus {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < limit, "certgate did not stop within {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that keeps cookies and does not follow redirects.
pub fn client() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in through the server function; returns the response.
pub async fn sign_in(client: &reqwest::Client, server: &Server, email: &str, password: &str) -> reqwest::Response {
    client
        .post(server.url("/fn/sign_in"))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// The value of the `Set-Cookie` header named `name`, if the response has one.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// reqwest is built without a bundled provider: use aws-lc-rs, as certgate does.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Every item of a REST list (`path` under the portal), as the admin token, following
/// `next_cursor` from page to page.
pub async fn list_all(server: &Server, path: &str) -> Vec<serde_json::Value> {
    let c = client();
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{}{separator}limit=200", server.url(path));
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let r = c.get(url).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let page: serde_json::Value = r.json().await.unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return items,
        }
    }
}

/// A client signed in to the portal (its session cookie kept).
pub async fn signed_in(server: &Server, email: &str, password: &str) -> reqwest::Client {
    let c = client();
    let r = sign_in(&c, server, email, password).await;
    assert!(set_cookie(&r, "certgate_session").is_some(), "{email}: {}", r.status());
    c
}

/// A page's HTML, which must answer 200.
pub async fn page(c: &reqwest::Client, server: &Server, path: &str) -> String {
    let r = c.get(server.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

/// A server function called as a form post, as an `ActionForm` sends it: (status, JSON body).
pub async fn call_server_fn(c: &reqwest::Client, server: &Server, function: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let r = c.post(server.url(&format!("/fn/{function}"))).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}
