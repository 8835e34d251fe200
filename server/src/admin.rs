//! `certgate admin …`: recovery and admin tokens, run while certgate is stopped (they open the
//! store, which one process at a time may hold).

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use certgate_core::session::SessionPolicy;
use certgate_services::accounts::Accounts;
use certgate_services::admin_tokens::AdminTokens;
use certgate_services::sessions::Sessions;
use certgate_services::store::{Store, StoreError, STORE_FILE};
use certgate_services::ServiceError;

use crate::cli::{AdminCommand, CreateTokenArgs, ResetPasswordArgs, RevokeTokenArgs};

pub async fn run(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::ResetPassword(args) => reset_password(args).await,
        AdminCommand::CreateToken(args) => create_token(args).await,
        AdminCommand::RevokeToken(args) => revoke_token(args).await,
        AdminCommand::ListTokens(args) => list_tokens(&args.data_dir).await,
    }
}

/// One line when the data directory or its store is missing (instead of creating an empty one).
pub fn require_store(data_dir: &Path) -> anyhow::Result<()> {
    if !data_dir.is_dir() {
        bail!("no data directory at {}", data_dir.display());
    }
    if !data_dir.join(STORE_FILE).is_file() {
        bail!("no store at {}", data_dir.join(STORE_FILE).display());
    }
    Ok(())
}

fn open(data_dir: &Path) -> anyhow::Result<Store> {
    require_store(data_dir)?;
    Store::open(data_dir).map_err(|e| match e {
        StoreError::AlreadyOpen(_) => anyhow::anyhow!("{e}: stop certgate first"),
        other => anyhow::anyhow!(other),
    })
}

/// Waits for the store to close, so the next start finds it free.
async fn close(store: Store) {
    if !store.close(Duration::from_secs(5)).await {
        tracing::warn!("the store did not close within 5 s");
    }
}

async fn reset_password(args: ResetPasswordArgs) -> anyhow::Result<()> {
    let (password, generated) = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("cannot read the password from stdin")?;
        (line.trim_end_matches(['\r', '\n']).to_string(), false)
    } else {
        (certgate_services::ids::new_secret(), true)
    };
    let store = open(&args.store.data_dir)?;
    let result = async {
        let user = match Accounts::new(store.clone()).reset_password(&args.email, &password).await {
            Err(ServiceError::NotFound { .. }) => bail!("no account with the email {}", args.email.trim()),
            other => other?,
        };
        let ended = Sessions::new(store.clone(), SessionPolicy::default()).end_all_for_user_except(&user.id, None).await?;
        Ok((user, ended))
    }
    .await;
    close(store).await;
    let (user, ended) = result?;
    if generated {
        println!("new password for {}: {password}", user.email);
        println!("(shown once; {ended} session(s) ended)");
    } else {
        println!("password of {} changed; {ended} session(s) ended", user.email);
    }
    Ok(())
}

async fn create_token(args: CreateTokenArgs) -> anyhow::Result<()> {
    let store = open(&args.store.data_dir)?;
    let result = AdminTokens::new(store.clone()).create(&args.name).await;
    close(store).await;
    let (record, token) = result?;
    println!("id:    {}", record.id);
    println!("token: {token}");
    println!("(the token is shown once; use it as Authorization: Bearer <token>)");
    Ok(())
}

async fn revoke_token(args: RevokeTokenArgs) -> anyhow::Result<()> {
    let data_dir = &args.store.data_dir;
    require_store(data_dir)?;
    let store = match Store::open(data_dir) {
        Ok(store) => store,
        // certgate runs: it revokes the token itself, effective on the next request.
        Err(StoreError::AlreadyOpen(_)) => {
            crate::control::ask(data_dir, &format!("revoke-token {}", args.id))?;
            println!("admin token {} revoked", args.id);
            return Ok(());
        }
        Err(e) => bail!(e),
    };
    let result = AdminTokens::new(store.clone()).revoke(&args.id).await;
    close(store).await;
    match result {
        Ok(()) => {
            println!("admin token {} revoked", args.id);
            Ok(())
        }
        Err(ServiceError::NotFound { .. }) => bail!("no admin token with the id {}", args.id),
        Err(e) => Err(e.into()),
    }
}

async fn list_tokens(data_dir: &Path) -> anyhow::Result<()> {
    let store = open(data_dir)?;
    let result = AdminTokens::new(store.clone()).list().await;
    close(store).await;
    for record in result? {
        println!("{}  {}  {}", record.id, certgate_services::clock::rfc3339(record.created_at), record.name);
    }
    Ok(())
}
