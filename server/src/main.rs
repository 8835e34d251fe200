//! `certgate`: one process serving the mTLS gateway and the admin and developer portals.

mod admin;
mod assets;
mod cli;
mod control;
mod demo;
mod form_posts;
mod gauges;
mod rest;
mod router;
mod security;
mod serve;
mod web;
mod webhooks;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Serve(args) => run_async(serve::run(args)),
        cli::Command::ServerFunctions => {
            let mut paths: Vec<_> = leptos::server_fn::axum::server_fn_paths().collect();
            paths.sort_by_key(|(path, _)| *path);
            for (path, method) in paths {
                println!("{method} {path}");
            }
            std::process::ExitCode::SUCCESS
        }
        cli::Command::Admin(command) => run_async(admin::run(command)),
        cli::Command::Backup(args) => match control::backup(args) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => fail(&format!("{e:#}")),
        },
        cli::Command::Check(args) if !args.data_dir.is_dir() => {
            fail(&format!("no data directory at {}", args.data_dir.display()))
        }
        cli::Command::Check(args) => match certgate_services::store::check_integrity(&args.data_dir) {
            Ok(true) => {
                println!("store at {} passed its integrity check", args.data_dir.display());
                std::process::ExitCode::SUCCESS
            }
            Ok(false) => {
                println!("store at {} was damaged and has been repaired", args.data_dir.display());
                std::process::ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        },
    }
}

fn run_async(future: impl std::future::Future<Output = anyhow::Result<()>>) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(future) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(&format!("{e:#}")),
    }
}

/// One clear line on stderr and a non-zero exit.
fn fail(message: &str) -> std::process::ExitCode {
    eprintln!("certgate: error: {message}");
    std::process::ExitCode::FAILURE
}
