//! One accept loop for every listener: TCP, optional TLS, HTTP/1.1 and HTTP/2 via hyper, and a
//! graceful drain bounded in time on shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Bounds that protect a listener from slow or idle clients.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time allowed for the TLS handshake.
    pub handshake_timeout: Duration,
    /// Time allowed to send a request's headers.
    pub header_read_timeout: Duration,
    /// Time in-flight requests get to finish once shutdown starts.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(15),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// Facts about the connection a request came on, put in the request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionInfo {
    pub peer: SocketAddr,
    pub tls: bool,
}

/// Counts of a listener, for readiness and metrics.
#[derive(Debug, Default)]
pub struct ListenerStats {
    pub open_connections: AtomicU64,
    pub accepted: AtomicU64,
    pub failed_handshakes: AtomicU64,
}

/// Serves `listener` until `shutdown` resolves, then stops accepting and lets open connections
/// finish for at most `limits.drain_timeout`.
pub async fn serve<S, B>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    service: S,
    limits: Limits,
    stats: Arc<ListenerStats>,
    shutdown: impl Future<Output = ()>,
) where
    S: hyper::service::Service<Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let info = ConnectionInfo { peer, tls: tls.is_some() };
        let service = service.clone();
        let with_info = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(info);
            service.call(request)
        });
        let builder = Arc::clone(&builder);
        let watcher = graceful.watcher();
        let stats = Arc::clone(&stats);
        let tls = tls.clone();
        tokio::spawn(async move {
            stats.open_connections.fetch_add(1, Ordering::Relaxed);
            match tls {
                Some(acceptor) => match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(tls_stream)) => {
                        let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls_stream), with_info);
                        let _ = watcher.watch(conn.into_owned()).await;
                    }
                    Ok(Err(e)) => {
                        stats.failed_handshakes.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    }
                    Err(_) => {
                        stats.failed_handshakes.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%peer, "TLS handshake timed out");
                    }
                },
                None => {
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), with_info);
                    let _ = watcher.watch(conn.into_owned()).await;
                }
            }
            stats.open_connections.fetch_sub(1, Ordering::Relaxed);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the drain timeout; closing them");
    }
}

/// A shutdown signal that many listeners can wait on.
#[derive(Clone)]
pub struct Shutdown(tokio::sync::watch::Receiver<bool>);

/// The trigger of a [`Shutdown`].
pub struct ShutdownTrigger(tokio::sync::watch::Sender<bool>);

pub fn shutdown_pair() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = tokio::sync::watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

impl Shutdown {
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}
