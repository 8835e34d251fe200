//! `certgate serve`: open the store, bind the listeners, make sure an admin exists, serve until
//! SIGTERM/SIGINT, then drain and close the store.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use app::ssr::PortalServices;
use certgate_core::session::SessionPolicy;
use certgate_gateway::listener::{self, Limits, ListenerStats, Placement, WorkerPool};
use certgate_gateway::quotas::QuotaUsage;
use certgate_gateway::traffic::TrafficConfig;
use certgate_gateway::{access_log, Gateway};
use certgate_services::traffic::Traffic;
use certgate_services::usage::{QuotaUsageRecord, Usage};
use certgate_gateway::generated;
use certgate_gateway::tls::{self, Identity, SwappableCert};
use certgate_services::admin_tokens::AdminTokens;
use certgate_services::clock;
use certgate_services::accounts::{Accounts, NewUser, Role};
use certgate_services::apis::Apis;
use certgate_services::certificates::Certificates;
use certgate_services::plans::Plans;
use certgate_services::products::Products;
use certgate_services::keys::Keys;
use certgate_services::organisations::Organisations;
use certgate_services::portal::retirement::{Retirements, RECHECK};
use certgate_services::sessions::Sessions;
use certgate_services::store::{Store, StoreError};
use certgate_services::webhooks::{RetryPolicy, Webhooks};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::cli::{LogFormat, ServeArgs, Switch};
use crate::router::{self, AppState};

/// The documented demo admin (README.md). Only ever created with `--demo` on an empty store;
/// the rest of the demo data is `crate::demo`'s.
pub const DEMO_ADMIN_EMAIL: &str = "admin@certgate.local";
pub const DEMO_ADMIN_PASSWORD: &str = "demo-admin-password";
const DEFAULT_ADMIN_EMAIL: &str = "admin@certgate.local";

pub async fn run(args: Box<ServeArgs>) -> anyhow::Result<()> {
    let started = Instant::now();
    let signals = ShutdownSignals::install()?;
    init_tracing(args.log_format);
    let admin_token = read_admin_token(&args)?;
    let portal_tls_configured = args.portal_tls_cert.is_some() && args.portal_tls_key.is_some();
    if let Some(refusal) = crate::security::portal_transport_refusal(args.portal_addr, portal_tls_configured, args.portal_insecure_http) {
        bail!(refusal);
    }

    let store = Store::open(&args.data_dir).map_err(|e| match e {
        StoreError::AlreadyOpen(_) | StoreError::Open { .. } | StoreError::SchemaTooNew { .. } => anyhow::anyhow!(e),
        other => anyhow::anyhow!("cannot open the store in {}: {other}", args.data_dir.display()),
    })?;
    let services = PortalServices {
        accounts: Accounts::new(store.clone()),
        sessions: Sessions::new(store.clone(), SessionPolicy::default()),
        organisations: Organisations::new(store.clone()),
        certificates: Certificates::new(store.clone()),
        apis: Apis::new(store.clone()),
        keys: Keys::new(store.clone()),
        plans: Plans::new(store.clone()),
        products: Products::new(store.clone()),
        apps: certgate_services::portal::apps::Apps::new(store.clone()),
        access_requests: certgate_services::portal::requests::AccessRequests::new(store.clone()),
        credentials: certgate_services::portal::credentials::Credentials::new(store.clone()),
        subscriptions: certgate_services::portal::subscriptions::Subscriptions::new(store.clone()),
        catalogue: certgate_services::portal::catalogue::Catalogue::new(store.clone()),
        overview: certgate_services::portal::overview::Overview::new(store.clone()),
        audit: certgate_services::audit::AuditLog::new(store.clone()),
        webhooks: Webhooks::new(store.clone(), RetryPolicy { base_ms: i64::try_from(args.webhook_retry_base_ms).unwrap_or(5000) }),
        dashboard: certgate_services::dashboard::Dashboard::new(store.clone()),
    };
    let webhooks = services.webhooks.clone();
    let gateway_state = certgate_services::gateway_view::attach(&store).context("cannot build the gateway's view")?;
    services.accounts.warm_up();

    let generated_dir = args.data_dir.join("gateway-tls");
    let (gateway_identity, renew_in) = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => (Identity::from_pem_files(cert, key).context("gateway TLS")?, None),
        _ => {
            let generated = generated::load_or_issue(&generated_dir, clock::now()).context("gateway TLS")?;
            (generated.identity, Some(generated_dir))
        }
    };
    let gateway_pin = gateway_identity.chain.first().map(tls::spki_pin).transpose().context("gateway TLS")?;
    let gateway_cert = SwappableCert::new(gateway_identity).context("gateway TLS")?;
    let gateway_tls = TlsAcceptor::from(tls::gateway_server_config(Arc::clone(&gateway_cert)).context("gateway TLS")?);
    let portal_tls = match (&args.portal_tls_cert, &args.portal_tls_key) {
        (Some(cert), Some(key)) => {
            let identity = Identity::from_pem_files(cert, key).context("portal TLS")?;
            Some(TlsAcceptor::from(tls::server_config(identity).context("portal TLS")?))
        }
        _ => None,
    };

    let portal_listener = bind(args.portal_addr, "portal").await?;
    let gateway_listener = bind(args.gateway_addr, "gateway").await?;
    let metrics_listener = match args.metrics_addr {
        Some(addr) => Some(bind(addr, "metrics").await?),
        None => None,
    };
    let portal_addr = portal_listener.local_addr()?;
    let gateway_addr = gateway_listener.local_addr()?;
    // Only now, with every listener bound: a start that fails earlier creates no admin whose
    // generated password would be printed and then lost.
    let fresh = ensure_admin(&services, &args).await?;
    let admin_tokens = AdminTokens::new(store.clone());
    // Demo only: the echo upstream runs as long as certgate does; the data is completed at
    // every start (a first start that cannot make it fails; a later one says what is missing).
    // Never in a store that was not made with --demo: its public passwords stay out of real data.
    let demo_store = fresh || crate::demo::demo_dir(&args.data_dir).exists();
    if args.demo && !demo_store {
        eprintln!("certgate: --demo adds demo data only to an empty data directory or one made with --demo: nothing added");
    }
    let demo_echo = if args.demo && demo_store {
        let echo = crate::demo::start_echo(&services).await?;
        match crate::demo::seed(&services, &admin_tokens, &args.data_dir, portal_addr, echo.addr).await {
            Ok(()) => {}
            Err(e) if fresh => return Err(e.context("demo data")),
            Err(e) => eprintln!("certgate: the demo data is incomplete: {e:#}"),
        }
        Some(echo)
    } else {
        None
    };
    let ready = Arc::new(AtomicBool::new(false));
    let gateway_stats = ListenerStats::default();
    let gateway = Gateway::new(
        Arc::clone(&gateway_state.view),
        Arc::clone(&gateway_state.keys),
        args.trusted_proxies.clone(),
        gateway_state.consistency_flag(),
        (args.access_log == Switch::On).then_some(match args.log_format {
            LogFormat::Text => access_log::LogFormat::Text,
            LogFormat::Json => access_log::LogFormat::Json,
        }),
        TrafficConfig { recording: args.traffic_series == Switch::On, ..TrafficConfig::default() },
    ).context("gateway")?;
    let store_gauges = crate::gauges::StoreGauges::default();
    let registry = {
        let mut registry = prometheus_client::registry::Registry::default();
        gateway.metrics().register(&mut registry, &gateway_stats);
        store_gauges.register(&mut registry);
        Arc::new(registry)
    };
    let state_sessions = services.sessions.clone();
    let mut state = AppState::new(
        services,
        admin_token,
        admin_tokens,
        // Browsers reach the portal over HTTPS: its own TLS, or the TLS-terminating proxy that
        // `--portal-insecure-http` declares. Cookies get `Secure` and `__Host-`, HSTS is sent,
        // and same-origin checks expect https.
        portal_tls.is_some() || args.portal_insecure_http,
        Arc::clone(&ready),
        Arc::clone(&gateway_state),
        if args.metrics_addr.is_none() { Some(Arc::clone(&registry)) } else { None },
    );
    state.consumer_sign_up = args.consumer_sign_up;
    state.gateway_addr = Some(gateway_addr);
    let counted = Arc::clone(&gateway);
    state.quota_usage = Some(app::api::portal::server::QuotaUsageReader(Arc::new(move |key: &str| {
        counted.quota_usage(key).map(|u| (u.window_start, u.used))
    })));
    state.traffic = Some(app::ssr::TrafficReader(Arc::clone(gateway.traffic()) as Arc<dyn certgate_core::traffic::TrafficSource>));
    let portal_service = hyper_util::service::TowerToHyperService::new(router::build(state));
    let usage = Usage::new(store.clone());
    let saved = usage.load_blocking().context("cannot load saved quota usage")?;
    gateway.load_quota_usage(saved.into_iter().map(|(k, u)| (k, QuotaUsage { window_start: u.window_start, used: u.used })));
    let traffic = Traffic::new(store.clone());
    let saved_traffic = traffic.load(clock::now()).await.context("cannot load saved traffic series")?;
    gateway.traffic().load(saved_traffic, clock::now());
    let batches = Batches { usage: usage.clone(), traffic: traffic.clone() };
    let quota_saver = tokio::spawn(save_batches_every(Arc::clone(&gateway), batches.clone(), QUOTA_SAVE_INTERVAL));
    let gateway_handle = Arc::clone(&gateway);
    let gateway_service = hyper::service::service_fn(move |request| Arc::clone(&gateway_handle).handle(request));

    let purge = tokio::spawn(purge_expired_sessions(state_sessions));
    let repair = tokio::spawn(repair_gateway_view(Arc::clone(&gateway_state), store.clone()));
    let retirements = tokio::spawn(retire_replaced_certificates(Retirements::new(store.clone())));
    let webhook_worker = tokio::spawn(crate::webhooks::deliver(webhooks.clone(), crate::webhooks::WorkerConfig::for_policy(webhooks.retry_policy())));
    let expiry_scan = tokio::spawn(crate::webhooks::scan_expiring_daily(webhooks));
    let gauges = tokio::spawn(crate::gauges::refresh_every(store_gauges, store.clone(), Arc::clone(&gateway_state), crate::gauges::REFRESH));
    let renewal = renew_in.map(|dir| tokio::spawn(renew_gateway_certificate(dir, Arc::clone(&gateway_cert))));
    #[cfg(unix)]
    let control = match crate::control::ControlSocket::listen(&args.data_dir, store.clone()) {
        Ok(control) => Some(control),
        Err(e) => {
            tracing::warn!(error = %e, "no control socket: `certgate backup` works only while certgate is stopped");
            None
        }
    };
    let (trigger, shutdown) = listener::shutdown_pair();
    let shutdown_for_metrics = shutdown.clone();
    let limits = Limits {
        handshake_timeout: Duration::from_secs(args.handshake_timeout),
        header_read_timeout: Duration::from_secs(args.header_timeout),
        ..Limits::default()
    };
    let gateway_threads = match usize::from(args.gateway_threads) {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n => n,
    };
    let gateway_workers = WorkerPool::start("certgate-gateway", gateway_threads).context("gateway worker threads")?;
    let portal = tokio::spawn(listener::serve(
        portal_listener,
        portal_tls.clone(),
        portal_service,
        limits,
        Arc::new(ListenerStats::default()),
        Placement::Shared,
        shutdown.clone().wait(),
    ));
    let gateway_listener_task = tokio::spawn(listener::serve(
        gateway_listener,
        Some(gateway_tls),
        gateway_service,
        limits,
        Arc::new(gateway_stats),
        Placement::Workers(Arc::clone(&gateway_workers)),
        shutdown.wait(),
    ));
    let metrics_task = metrics_listener.map(|metrics_listener| {
        let addr = metrics_listener.local_addr().ok();
        if let Some(addr) = addr {
            println!("certgate metrics: http://{addr}/metrics");
        }
        let service = hyper_util::service::TowerToHyperService::new(router::metrics_router(Arc::clone(&registry)));
        tokio::spawn(listener::serve(
            metrics_listener,
            None,
            service,
            limits,
            Arc::new(ListenerStats::default()),
            Placement::Shared,
            shutdown_for_metrics.wait(),
        ))
    });
    ready.store(true, Ordering::SeqCst);
    let scheme = if portal_tls.is_some() { "https" } else { "http" };
    println!("certgate portal:  {scheme}://{portal_addr}/");
    println!("certgate gateway: https://{gateway_addr}/");
    if let Some(pin) = &gateway_pin {
        println!("gateway certificate SPKI pin: {pin}");
    }
    if demo_echo.is_some() {
        println!("demo admin:       {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}");
        let cacert = args.tls_cert.clone().unwrap_or_else(|| args.data_dir.join("gateway-tls").join("server.crt"));
        let portal_url = format!("{scheme}://{portal_addr}");
        for line in crate::demo::lines(&args.data_dir, &crate::demo::Endpoints { gateway: gateway_addr, cacert: &cacert, portal_url: &portal_url }) {
            println!("{line}");
        }
    }
    tracing::info!(%portal_addr, %gateway_addr, startup_ms = started.elapsed().as_millis() as u64, "ready");

    signals.wait().await;
    tracing::info!("shutting down: no new connections, draining open ones");
    ready.store(false, Ordering::SeqCst);
    trigger.trigger();
    let _ = tokio::join!(portal, gateway_listener_task);
    // The gateway's connections have drained (or the drain timed out): stop its threads.
    let _ = tokio::task::spawn_blocking(move || gateway_workers.stop()).await;
    // The last requests' access-log lines, before the process ends.
    let logged = Arc::clone(&gateway);
    let _ = tokio::task::spawn_blocking(move || logged.finish_access_log()).await;
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    purge.abort();
    repair.abort();
    gauges.abort();
    let _ = gauges.await;
    retirements.abort();
    let _ = retirements.await;
    // A delivery in flight is still queued in the store: it is sent again at the next start.
    webhook_worker.abort();
    let _ = webhook_worker.await;
    expiry_scan.abort();
    let _ = expiry_scan.await;
    let _ = purge.await;
    if let Some(renewal) = renewal {
        renewal.abort();
        let _ = renewal.await;
    }
    #[cfg(unix)]
    if let Some(control) = control {
        control.close();
    }
    drop(demo_echo);
    quota_saver.abort();
    let _ = quota_saver.await;
    save_quota_usage(&gateway, &usage).await;
    save_traffic(&gateway, &traffic).await;
    drop((usage, traffic, batches));
    if store.close(std::time::Duration::from_secs(5)).await {
        tracing::info!("store closed; stopped");
    } else {
        tracing::warn!("store still in use after 5 s; stopping anyway (every acknowledged write is durable)");
    }
    Ok(())
}

/// How often changed quota counters and traffic series are saved (at most this much counting
/// is lost on a crash).
const QUOTA_SAVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// What the batch task saves: quota usage and traffic series.
#[derive(Clone)]
struct Batches {
    usage: Usage,
    traffic: Traffic,
}

async fn save_batches_every(gateway: Arc<Gateway>, batches: Batches, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        save_quota_usage(&gateway, &batches.usage).await;
        forget_ended_limits(&gateway, &batches.usage).await;
        save_traffic(&gateway, &batches.traffic).await;
        forget_ended_traffic(&gateway, &batches.traffic).await;
    }
}

/// Saves the traffic series' hours and last-seen entries changed since the last save, in one
/// transaction (a failed batch is retried with the next one).
async fn save_traffic(gateway: &Gateway, traffic: &Traffic) {
    let changed = gateway.traffic().take_changed();
    if changed.is_empty() {
        return;
    }
    let retry = changed.clone();
    if let Err(e) = traffic.save(changed).await {
        tracing::warn!(error = %e, "saving traffic series failed; retrying with the next batch");
        gateway.traffic().retry(&retry);
    }
}

/// Drops the in-memory series of deleted APIs (the view says) and of deleted apps (the store
/// says); their saved series are skipped by saves and deleted at the next start.
async fn forget_ended_traffic(gateway: &Gateway, traffic: &Traffic) {
    gateway.forget_deleted_api_traffic();
    let apps = gateway.traffic().app_ids();
    if apps.is_empty() {
        return;
    }
    match traffic.ended_apps(apps).await {
        Ok(ended) => gateway.traffic().forget_apps(&ended),
        Err(e) => tracing::warn!(error = %e, "cannot tell which apps ended; trying again with the next batch"),
    }
}

/// Drops the limiter state of limits keys that ended (a revoked key, an ended subscription).
/// A key missing from the gateway's credential map may only be dormant (a suspended
/// organisation): the store says which ended, so a dormant subscription keeps its count.
async fn forget_ended_limits(gateway: &Gateway, usage: &Usage) {
    let unlisted = gateway.unlisted_limits_keys();
    if unlisted.is_empty() {
        return;
    }
    match usage.ended(unlisted).await {
        Ok(ended) => gateway.forget_limits(&ended),
        Err(e) => tracing::warn!(error = %e, "cannot tell which limits keys ended; trying again with the next batch"),
    }
}

/// Saves the counters changed since the last save, in one transaction.
async fn save_quota_usage(gateway: &Gateway, usage: &Usage) {
    let changed = gateway.take_changed_quota_usage();
    if changed.is_empty() {
        return;
    }
    let keys: Vec<String> = changed.iter().map(|(k, _)| k.clone()).collect();
    let batch = changed.into_iter().map(|(k, u)| (k, QuotaUsageRecord { window_start: u.window_start, used: u.used })).collect();
    if let Err(e) = usage.save(batch).await {
        tracing::warn!(error = %e, "saving quota usage failed; retrying with the next batch");
        gateway.retry_quota_usage(keys);
    }
}

/// How often the generated gateway certificate's remaining validity is checked.
const CERT_RENEWAL_CHECK: Duration = Duration::from_secs(24 * 3600);

/// Re-issues the generated gateway certificate (same key) when `generated::needs_renewal`
/// says so, and serves it from the next handshake on: a long-running certgate never serves an
/// expired certificate, and a pin on the key keeps working.
async fn renew_gateway_certificate(dir: std::path::PathBuf, certificate: Arc<SwappableCert>) {
    let mut every = tokio::time::interval(CERT_RENEWAL_CHECK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await; // the first tick is now: start-up has just loaded it
    loop {
        every.tick().await;
        let dir = dir.clone();
        match tokio::task::spawn_blocking(move || generated::load_or_issue(&dir, clock::now())).await {
            Ok(Ok(generated)) if generated.issued => match certificate.replace(generated.identity) {
                Ok(()) => tracing::info!(not_after = %clock::rfc3339(generated.not_after), "gateway certificate renewed"),
                Err(e) => tracing::error!(error = %e, "the renewed gateway certificate cannot be used"),
            },
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "renewing the gateway certificate failed; retrying tomorrow"),
            Err(e) => tracing::error!(error = %e, "renewing the gateway certificate failed; retrying tomorrow"),
        }
    }
}

/// Retires replaced Self-Serve certificates at their retire-by time: the gateway's view is
/// derived at write time, so the time passing needs a write (`portal::retirement`). Sleeps
/// until the next retire-by time, and reads the index again at least every minute (new ones are
/// always 30 days ahead, so none is missed).
async fn retire_replaced_certificates(retirements: Retirements) {
    loop {
        let wait = match retirements.tick(clock::now()).await {
            Ok(wait) => wait,
            Err(e) => {
                tracing::error!(error = %e, "retiring replaced certificates failed; retrying in a minute");
                RECHECK
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// While the gateway's view is inconsistent (a publish failed), retries a whole rebuild every
/// few seconds; the gateway refuses requests until one succeeds.
async fn repair_gateway_view(state: certgate_services::gateway_view::SharedState, store: Store) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        every.tick().await;
        state.repair(&store).await;
    }
}

/// Deletes expired sessions every ten minutes.
async fn purge_expired_sessions(sessions: Sessions) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        every.tick().await;
        match sessions.purge_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "expired sessions deleted"),
            Err(e) => tracing::warn!(error = %e, "purging expired sessions failed"),
        }
    }
}

async fn bind(addr: std::net::SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| format!("cannot listen on the {what} address {addr}"))
}

fn read_admin_token(args: &ServeArgs) -> anyhow::Result<Option<String>> {
    let token = match (&args.admin_token, &args.admin_token_file) {
        (Some(token), _) => Some(token.trim().to_string()),
        (None, Some(path)) => Some(read_token_file(path)?),
        (None, None) => None,
    };
    if let Some(t) = &token {
        if t.len() < 16 {
            bail!("the admin token must have at least 16 characters");
        }
    }
    Ok(token)
}

fn read_token_file(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the admin token file {}", path.display()))?;
    Ok(text.lines().next().unwrap_or_default().trim().to_string())
}

/// On an empty store, creates the admin (with `--demo`, the documented demo admin).
/// Returns whether the store was empty.
async fn ensure_admin(services: &PortalServices, args: &ServeArgs) -> anyhow::Result<bool> {
    if services.accounts.count_users().await? > 0 {
        if args.admin_password.is_some() {
            tracing::info!("the store already has accounts: --admin-email/--admin-password are ignored");
        }
        return Ok(false);
    }
    let demo_default = |demo: &'static str, fallback: &'static str| if args.demo { demo } else { fallback };
    let email = args.admin_email.clone().unwrap_or_else(|| demo_default(DEMO_ADMIN_EMAIL, DEFAULT_ADMIN_EMAIL).to_string());
    let (password, generated) = match (&args.admin_password, args.demo) {
        (Some(p), _) => (p.clone(), false),
        (None, true) => (DEMO_ADMIN_PASSWORD.to_string(), false),
        (None, false) => (certgate_services::ids::new_secret(), true),
    };
    services
        .accounts
        .create_user(NewUser { email: &email, display_name: "Administrator", password: &password, role: Role::Admin, organisation_id: None })
        .await
        .context("cannot create the admin account")?;
    if generated {
        eprintln!("certgate: created the admin account {email} with the generated password: {password}");
        eprintln!("certgate: this password is shown once; change it after signing in.");
    }
    Ok(true)
}

/// SIGTERM and SIGINT, registered when created: from then on they no longer kill the process
/// (so a signal that arrives during start-up still gets a clean shutdown).
struct ShutdownSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> anyhow::Result<ShutdownSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(ShutdownSignals {
                term: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
                interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
            })
        }
        #[cfg(not(unix))]
        Ok(ShutdownSignals {})
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {},
            _ = self.interrupt.recv() => {},
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn init_tracing(format: LogFormat) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("CERTGATE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only on a terminal: a file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
