//! `certgate backup`, and the control socket that lets it work while certgate runs: redb lets
//! one process open the store, so the running process makes the copy. The socket is
//! `DATA_DIR/control.sock`, mode 0600 (filesystem permissions are the authentication), removed
//! at shutdown. Protocol: one line, `backup <absolute path>` or `revoke-token <id>`, answered
//! `ok <detail>` or `error <message>`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use certgate_services::store::{backup, Store, StoreError};

use crate::cli::BackupArgs;

pub const SOCKET_FILE: &str = "control.sock";
/// The longest command line accepted.
const MAX_LINE: usize = 4096;
/// How long `certgate backup` waits for the running process's answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(3600);

/// A command on the control socket.
#[derive(Debug, PartialEq, Eq)]
enum ControlCommand {
    Backup(PathBuf),
    /// A leaked admin token must be revocable without stopping the gateway.
    RevokeToken(String),
}

fn parse(line: &str) -> Result<ControlCommand, String> {
    match line.trim_end_matches(['\r', '\n']).split_once(' ') {
        Some(("backup", path)) if Path::new(path).is_absolute() => Ok(ControlCommand::Backup(PathBuf::from(path))),
        Some(("backup", _)) => Err("the backup path must be absolute".into()),
        Some(("revoke-token", id)) if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
            Ok(ControlCommand::RevokeToken(id.to_string()))
        }
        Some(("revoke-token", _)) => Err("not an admin token id".into()),
        _ => Err("unknown command".into()),
    }
}

/// `certgate backup OUT`: copies the store directly when no process holds it, else asks the
/// running certgate through its control socket.
pub fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let data_dir = &args.store.data_dir;
    crate::admin::require_store(data_dir)?;
    let out = std::path::absolute(&args.out).with_context(|| format!("bad backup path {}", args.out.display()))?;
    if out.exists() {
        bail!("{} already exists: give a new file name", out.display());
    }
    let bytes = match backup::copy_closed(data_dir, &out) {
        Ok(bytes) => bytes,
        Err(StoreError::AlreadyOpen(_)) => ask_running(data_dir, &out)?,
        Err(e) => bail!(e),
    };
    println!("backup written to {} ({bytes} bytes)", out.display());
    Ok(())
}

fn ask_running(data_dir: &Path, out: &Path) -> anyhow::Result<u64> {
    let Some(path) = out.to_str().filter(|p| !p.contains(['\n', '\r'])) else {
        bail!("the backup path must be UTF-8 without line breaks");
    };
    ask(data_dir, &format!("backup {path}"))?.parse().context("control socket: bad answer")
}

/// Sends one command to the running certgate; its `ok` detail, or its error.
#[cfg(unix)]
pub fn ask(data_dir: &Path, command: &str) -> anyhow::Result<String> {
    let socket = data_dir.join(SOCKET_FILE);
    let mut stream = std::os::unix::net::UnixStream::connect(&socket).with_context(|| {
        format!("certgate holds {} but its control socket {} does not answer", data_dir.display(), socket.display())
    })?;
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    writeln!(stream, "{command}").context("control socket")?;
    let mut answer = String::new();
    std::io::BufReader::new(stream).read_line(&mut answer).context("control socket")?;
    match answer.trim_end().split_once(' ') {
        Some(("ok", detail)) => Ok(detail.to_string()),
        Some(("error", message)) => bail!("{message}"),
        _ => bail!("control socket: no answer (did certgate stop?)"),
    }
}

#[cfg(not(unix))]
pub fn ask(data_dir: &Path, _command: &str) -> anyhow::Result<String> {
    bail!("certgate holds {}: stop it first on this platform", data_dir.display())
}

/// The listening control socket of a running certgate.
#[cfg(unix)]
pub struct ControlSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

#[cfg(unix)]
impl ControlSocket {
    /// Binds `data_dir/control.sock`. The caller holds the store, so a socket file already
    /// there was left by a process that died: it is replaced.
    pub fn listen(data_dir: &Path, store: Store) -> std::io::Result<ControlSocket> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let path = data_dir.join(SOCKET_FILE);
        // Bound inside a private directory, made 0600, then moved into place: no moment in
        // which another user could connect.
        let private = data_dir.join(format!(".control-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&private);
        std::fs::DirBuilder::new().mode(0o700).create(&private)?;
        let bound = (|| {
            let staged = private.join(SOCKET_FILE);
            let listener = tokio::net::UnixListener::bind(&staged)?;
            std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))?;
            std::fs::rename(&staged, &path)?;
            Ok::<_, std::io::Error>(listener)
        })();
        let _ = std::fs::remove_dir_all(&private);
        let listener = bound?;
        let task = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(serve_one(stream, store.clone()));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "control socket accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Ok(ControlSocket { path, task })
    }

    /// Stops accepting and removes the socket file (a backup in progress finishes on its own).
    pub fn close(self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(unix)]
async fn serve_one(stream: tokio::net::UnixStream, store: Store) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(read.take(MAX_LINE as u64));
    let read = tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut line)).await;
    let answer = match (read, parse(&line)) {
        (Ok(Ok(_)), Ok(ControlCommand::Backup(out))) => {
            let done = tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                let result = store.backup_to(&out);
                (result, out, started.elapsed())
            })
            .await;
            match done {
                Ok((Ok(bytes), out, took)) => {
                    tracing::info!(path = %out.display(), bytes, took_ms = took.as_millis() as u64, "backup written");
                    format!("ok {bytes}\n")
                }
                Ok((Err(e), _, _)) => format!("error {}\n", one_line(&e.to_string())),
                Err(e) => format!("error {}\n", one_line(&e.to_string())),
            }
        }
        (Ok(Ok(_)), Ok(ControlCommand::RevokeToken(id))) => {
            match certgate_services::admin_tokens::AdminTokens::new(store).revoke(&id).await {
                Ok(()) => {
                    tracing::info!(token = %id, "admin token revoked through the control socket");
                    "ok revoked\n".to_string()
                }
                Err(certgate_services::ServiceError::NotFound { .. }) => format!("error no admin token with the id {id}\n"),
                Err(e) => format!("error {}\n", one_line(&e.to_string())),
            }
        }
        (Ok(Ok(_)), Err(e)) => format!("error {e}\n"),
        _ => "error no command received\n".to_string(),
    };
    let _ = write.write_all(answer.as_bytes()).await;
}

fn one_line(message: &str) -> String {
    message.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        assert_eq!(parse("backup /tmp/x.redb\n"), Ok(ControlCommand::Backup("/tmp/x.redb".into())));
        assert!(parse("backup relative.redb").is_err());
        assert!(parse("backup").is_err());
        assert!(parse("restore /tmp/x").is_err());
        assert_eq!(parse("revoke-token adt_1f\n"), Ok(ControlCommand::RevokeToken("adt_1f".into())));
        assert!(parse("revoke-token ../x").is_err());
        assert!(parse("revoke-token ").is_err());
        assert!(parse("").is_err());
    }
}
