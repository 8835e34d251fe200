//! Command-line interface. Every `serve` flag also reads a `CERTGATE_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "certgate",
    version,
    about = "Self-service mutual-TLS API access: an mTLS gateway with admin and developer portals.",
    long_about = "certgate runs an mTLS gateway in front of your APIs together with an admin portal \
(for the API owner) and a developer portal (for API consumers), backed by one redb file."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the gateway and the portal.
    Serve(Box<ServeArgs>),
    /// Check the store's integrity (certgate must not be running on this data directory).
    Check(CheckArgs),
    /// Accounts and admin tokens, with certgate stopped (these open the store).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Write a consistent copy of the store to OUT, also while certgate runs.
    Backup(BackupArgs),
    /// List the registered server-function endpoints (for audits and the tests).
    #[command(hide = true)]
    ServerFunctions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Directory for the store (certgate.redb) and the generated gateway TLS identity.
    #[arg(long, env = "CERTGATE_DATA_DIR", default_value = "./certgate-data")]
    pub data_dir: PathBuf,

    /// Address of the portal listener (HTTP, or HTTPS with --portal-tls-cert/--portal-tls-key). Port 0 picks a free port.
    #[arg(long, env = "CERTGATE_PORTAL_ADDR", default_value = "127.0.0.1:3000")]
    pub portal_addr: SocketAddr,

    /// Address of the gateway listener (always TLS). Port 0 picks a free port.
    #[arg(long, env = "CERTGATE_GATEWAY_ADDR", default_value = "127.0.0.1:8443")]
    pub gateway_addr: SocketAddr,

    /// Demo data with public passwords and tokens in files (never for real use), completed at
    /// every start without making anything twice, and curl commands to try it. A data directory
    /// made without --demo never gets demo data.
    ///
    /// Accounts: the admin admin@certgate.local / demo-admin-password (on an empty store); the
    /// organisations Acme Corp and Globex, each with one consumer, dev@acme.example (Dana
    /// Developer) and dev@globex.example (Gus Globex), both with the password
    /// demo-consumer-password.
    ///
    /// Certificates, in DATA_DIR/demo (keys mode 0600): a demo CA (ca.crt, ca.key; in the store
    /// as "certgate demo CA", linked to no one) and client certificates issued by it:
    /// client.crt/.key ("Acme demo client", linked to Acme Corp), globex.crt/.key ("Globex demo
    /// client", linked to Globex) and globex-self-serve.crt/.key (the one Globex submits with
    /// its Self-Serve request).
    ///
    /// Gateway: an echo upstream on 127.0.0.1 (only while --demo runs) that answers with the
    /// method, path and x-client-identity header it receives; the APIs /demo-managed ("Echo,
    /// Managed (demo)") and /demo-self-serve ("Echo, Self-Serve (demo)"), Auth Token + mTLS,
    /// over it, with empty admin allow lists (the products' credentials make them); the API
    /// /demo ("Portal health (demo)") to the portal's own /healthz, allow-listing Acme's
    /// certificate, with an admin key bound to it (20 requests/s, 10,000/day).
    ///
    /// Portal: the plan "Demo" (60 requests/min, 10,000/day, approval by the admin); the
    /// published products "Echo (Managed)" (the administrator links certificates to
    /// organisations) and "Echo (Self-Serve)" (the consumer submits a certificate), both with
    /// certificate binding on; the apps Acme Checkout (Managed) and Globex Billing (Managed, and
    /// Self-Serve with globex-self-serve.crt) with approved subscriptions and minted tokens.
    ///
    /// Secrets written to DATA_DIR/demo (mode 0600): token (the /demo admin key),
    /// acme-managed.token, globex-managed.token, globex-self-serve.token, and admin-token (an
    /// admin REST token, made beside --admin-token).
    ///
    /// Every start prints: the demo admin's and consumers' sign-ins, the admin REST token with a
    /// curl line that lists the products, and single-line curl commands for the gateway (with
    /// --cacert of the gateway's certificate): Acme's and Globex's Managed calls, Globex's
    /// Self-Serve call (200 each), Globex's certificate with Acme's token (401
    /// certificate_binding_mismatch), and the portal's health through the admin key (200).
    #[arg(long, env = "CERTGATE_DEMO")]
    pub demo: bool,

    /// Email of the admin account created on first start (empty store only).
    #[arg(long, env = "CERTGATE_ADMIN_EMAIL")]
    pub admin_email: Option<String>,

    /// Password of the admin account created on first start. Without it a strong password is
    /// generated and printed once to stderr.
    #[arg(long, env = "CERTGATE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Bearer token for the admin REST API (automation, tests). Prefer --admin-token-file: argv is visible to other users.
    #[arg(long, env = "CERTGATE_ADMIN_TOKEN", hide_env_values = true, conflicts_with = "admin_token_file")]
    pub admin_token: Option<String>,

    /// File holding the admin REST API bearer token (first line; surrounding whitespace ignored).
    #[arg(long, env = "CERTGATE_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,

    /// PEM certificate chain of the gateway. Without it a self-signed certificate is generated once and kept in the data dir.
    #[arg(long, env = "CERTGATE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of the gateway.
    #[arg(long, env = "CERTGATE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// PEM certificate chain for serving the portal over HTTPS.
    #[arg(long, env = "CERTGATE_PORTAL_TLS_CERT", requires = "portal_tls_key")]
    pub portal_tls_cert: Option<PathBuf>,

    /// PEM private key for serving the portal over HTTPS.
    #[arg(long, env = "CERTGATE_PORTAL_TLS_KEY", requires = "portal_tls_cert")]
    pub portal_tls_key: Option<PathBuf>,

    /// Allow serving the portal over plain HTTP on a non-loopback address (behind a TLS-terminating
    /// proxy). Without it, such an address needs --portal-tls-cert/--portal-tls-key.
    #[arg(long, env = "CERTGATE_PORTAL_INSECURE_HTTP")]
    pub portal_insecure_http: bool,

    /// Serve Prometheus metrics at /metrics on this address (plain HTTP, no authentication: keep
    /// it internal). Without it, /metrics is on the portal listener and needs the admin token.
    #[arg(long, env = "CERTGATE_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// Threads that serve gateway connections, each owning its connections (0: one per CPU).
    #[arg(long, env = "CERTGATE_GATEWAY_THREADS", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=256))]
    pub gateway_threads: u16,

    /// Seconds a client gets to complete its TLS handshake; slower clients are disconnected.
    #[arg(long, env = "CERTGATE_HANDSHAKE_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub handshake_timeout: u64,

    /// Seconds a client gets to send a request's headers; slower clients are disconnected.
    #[arg(long, env = "CERTGATE_HEADER_TIMEOUT", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_timeout: u64,

    /// Peers (IP addresses or CIDR ranges, comma-separated) allowed to send `X-Forwarded-For`
    /// to the gateway: their list is extended. From anyone else it is replaced by the peer's address.
    #[arg(long, env = "CERTGATE_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_ip_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Let visitors sign up as consumers (`POST /api/v1/sign-up`). A sign-up is a pending
    /// account that an admin admits into an organisation; off by default.
    #[arg(long, env = "CERTGATE_CONSUMER_SIGN_UP")]
    pub consumer_sign_up: bool,

    /// Log format on stderr (and of the access log).
    #[arg(long, env = "CERTGATE_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// The gateway's access log on stdout: one line per request, in the `--log-format`.
    #[arg(long, env = "CERTGATE_ACCESS_LOG", value_enum, default_value = "on")]
    pub access_log: Switch,

    /// The first webhook retry's wait in milliseconds; later ones are 6, 24, 120 and 720 times
    /// it (default 5000: 5 s, 30 s, 2 min, 10 min, then hourly). Hidden: for tests.
    #[arg(long, env = "CERTGATE_WEBHOOK_RETRY_BASE_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(10..=600_000), hide = true)]
    pub webhook_retry_base_ms: u64,

    /// The gateway's traffic series and certificates' last use. `off` makes recording a no-op
    /// (the benchmark compares the two). Hidden: for benchmarks.
    #[arg(long, env = "CERTGATE_TRAFFIC_SERIES", value_enum, default_value = "on", hide = true)]
    pub traffic_series: Switch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// `10.0.0.0/8`, or a lone address (a /32 or /128).
fn parse_ip_net(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is not an IP address or a CIDR range (e.g. 10.0.0.0/8)"))
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Set a new password for an account (generated and printed once, or read from stdin) and
    /// end its sessions.
    ResetPassword(ResetPasswordArgs),
    /// Create a bearer token for the admin REST API; it is printed once.
    CreateToken(CreateTokenArgs),
    /// Revoke an admin token by its id.
    RevokeToken(RevokeTokenArgs),
    /// List the admin tokens (ids, names, creation times; never the tokens).
    ListTokens(DataDirArgs),
}

#[derive(Debug, Args)]
pub struct DataDirArgs {
    /// Directory holding certgate.redb.
    #[arg(long, env = "CERTGATE_DATA_DIR", default_value = "./certgate-data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ResetPasswordArgs {
    /// Email of the account.
    #[arg(long)]
    pub email: String,
    /// Read the new password from the first line of stdin instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub store: DataDirArgs,
}

#[derive(Debug, Args)]
pub struct CreateTokenArgs {
    /// A name to recognise the token by (e.g. what uses it).
    #[arg(long, default_value = "")]
    pub name: String,
    #[command(flatten)]
    pub store: DataDirArgs,
}

#[derive(Debug, Args)]
pub struct RevokeTokenArgs {
    /// The token's id (`adt_…`), as create-token and list-tokens print it.
    pub id: String,
    #[command(flatten)]
    pub store: DataDirArgs,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to write; it must not exist.
    pub out: PathBuf,
    #[command(flatten)]
    pub store: DataDirArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Directory holding certgate.redb.
    #[arg(long, env = "CERTGATE_DATA_DIR", default_value = "./certgate-data")]
    pub data_dir: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn unknown_flags_and_half_tls_pairs_are_refused() {
        assert!(Cli::try_parse_from(["certgate", "serve", "--no-such-flag"]).is_err());
        assert!(Cli::try_parse_from(["certgate", "serve", "--tls-cert", "a.pem"]).is_err());
        assert!(Cli::try_parse_from(["certgate", "serve", "--admin-token", "x", "--admin-token-file", "f"]).is_err());
        assert!(Cli::try_parse_from(["certgate", "serve", "--portal-addr", "127.0.0.1:0"]).is_ok());
        assert!(Cli::try_parse_from(["certgate", "serve", "--trusted-proxies", "10.0.0.0/8,192.0.2.7,::1"]).is_ok());
        assert!(Cli::try_parse_from(["certgate", "serve", "--trusted-proxies", "10.0.0.0/33"]).is_err());
        assert!(Cli::try_parse_from(["certgate", "serve", "--trusted-proxies", "example.com"]).is_err());
        assert!(Cli::try_parse_from(["certgate", "serve", "--portal-addr", "0.0.0.0:3000", "--portal-insecure-http"]).is_ok());
        assert!(Cli::try_parse_from(["certgate", "admin", "reset-password"]).is_err(), "--email is required");
        assert!(Cli::try_parse_from(["certgate", "admin", "reset-password", "--email", "a@b.c", "--password-stdin"]).is_ok());
        assert!(Cli::try_parse_from(["certgate", "admin", "revoke-token"]).is_err());
        assert!(Cli::try_parse_from(["certgate", "backup"]).is_err());
        assert!(Cli::try_parse_from(["certgate", "backup", "out.redb", "--data-dir", "d"]).is_ok());
    }
}
