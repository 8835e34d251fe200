//! The demo's upstream: a tiny HTTP server on loopback that answers every request with what it
//! received (method, path, query, and the identity header the gateway adds), so a `curl`
//! through the gateway shows what the upstream sees. Started by `--demo` only.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The header the demo APIs ask the gateway to fill with the verified identity.
pub const IDENTITY_HEADER: &str = "x-client-identity";

/// The running echo upstream; stopped when dropped.
pub struct EchoUpstream {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for EchoUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds 127.0.0.1 (never another interface) on `port` when it is free (the one an earlier
/// start used: the demo APIs then need no change), else on any free port, and serves until
/// dropped.
pub async fn start(port: Option<u16>) -> anyhow::Result<EchoUpstream> {
    let listener = match port {
        Some(port) => TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await.ok(),
        None => None,
    };
    let listener = match listener {
        Some(listener) => listener,
        None => TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.context("cannot start the demo echo upstream")?,
    };
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of file descriptors, say: wait instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|request: http::Request<Incoming>| async move { Ok::<_, Infallible>(answer(&request)) });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(EchoUpstream { addr, task })
}

fn answer<B>(request: &http::Request<B>) -> http::Response<Full<Bytes>> {
    let identity = request.headers().get(IDENTITY_HEADER).and_then(|v| v.to_str().ok());
    let body = serde_json::json!({
        "upstream": "certgate demo echo",
        "method": request.method().as_str(),
        "path": request.uri().path(),
        "query": request.uri().query(),
        "identity": identity,
    });
    let mut response = http::Response::new(Full::new(Bytes::from(format!("{body}\n"))));
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_carries_method_path_query_and_identity() {
        let request = http::Request::post("/orders/7?x=1").header(IDENTITY_HEADER, "Hash=ab;Subject=\"CN=a\"").body(()).unwrap();
        let response = answer(&request);
        assert_eq!(response.headers()[http::header::CONTENT_TYPE], "application/json");
        let body = response.into_body();
        let bytes = futures_body(body);
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["method"], "POST");
        assert_eq!(json["path"], "/orders/7");
        assert_eq!(json["query"], "x=1");
        assert_eq!(json["identity"], "Hash=ab;Subject=\"CN=a\"");
        let anonymous = answer(&http::Request::get("/").body(()).unwrap());
        let json: serde_json::Value = serde_json::from_slice(&futures_body(anonymous.into_body())).unwrap();
        assert_eq!(json["identity"], serde_json::Value::Null);
    }

    fn futures_body(body: Full<Bytes>) -> Bytes {
        use http_body_util::BodyExt;
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(body.collect()).unwrap().to_bytes()
    }
}
