//! Gateway test helpers: a real TLS client that presents chosen certificates on one
//! keep-alive connection, an echo upstream, and admin REST shortcuts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use certgate_testpki::Issued;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{json, Value};

use super::{install_crypto_provider, Server, ADMIN_TOKEN};

/// One HTTP/1.1 connection over TLS to the gateway.
pub struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

/// A response, read whole.
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// Connects to the gateway presenting `chain` (leaf first) with the leaf's key, or nothing.
/// The server is verified against the gateway's own self-signed certificate.
pub async fn connect(server: &Server, chain: &[&Issued], sni: &str) -> Conn {
    let certs: Vec<Vec<u8>> = chain.iter().map(|c| c.der.clone()).collect();
    connect_with(server, &certs, chain.first().map(|leaf| leaf.key_pem.as_str()), sni).await
}

/// Connects presenting `chain` (DER, leaf first) with the leaf's PEM key.
pub async fn connect_with(server: &Server, chain: &[Vec<u8>], key_pem: Option<&str>, sni: &str) -> Conn {
    let tls = tls_connect(server, chain, key_pem, sni, b"http/1.1").await;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.unwrap();
    tokio::spawn(connection.with_upgrades());
    Conn { sender }
}

/// A TLS connection to the gateway offering one ALPN protocol, which the gateway must select.
pub async fn tls_connect(
    server: &Server,
    chain: &[Vec<u8>],
    key_pem: Option<&str>,
    sni: &str,
    alpn: &[u8],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    let gateway_cert = std::fs::read(server.data_dir.join("gateway-tls/server.crt")).unwrap();
    for cert in CertificateDer::pem_slice_iter(&gateway_cert) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match key_pem {
        Some(key_pem) => {
            let certs = chain.iter().map(|c| CertificateDer::from(c.clone())).collect();
            let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
            builder.with_client_auth_cert(certs, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    let addr: SocketAddr = server.gateway.trim_start_matches("https://").parse().unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from(sni.to_string()).unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(alpn), "the gateway selects the offered ALPN protocol");
    tls
}

/// One HTTP/2 connection (ALPN `h2`) over TLS to the gateway; requests on it may run at once.
#[derive(Clone)]
pub struct H2Conn {
    sender: hyper::client::conn::http2::SendRequest<Full<Bytes>>,
}

pub async fn connect_h2(server: &Server, chain: &[&Issued], sni: &str) -> H2Conn {
    let certs: Vec<Vec<u8>> = chain.iter().map(|c| c.der.clone()).collect();
    let tls = tls_connect(server, &certs, chain.first().map(|leaf| leaf.key_pem.as_str()), sni, b"h2").await;
    let (sender, connection) =
        hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), TokioIo::new(tls)).await.unwrap();
    tokio::spawn(connection);
    H2Conn { sender }
}

impl H2Conn {
    /// GET `uri` (absolute: its authority is the request's `:authority`).
    pub async fn get(&self, uri: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = http::Request::builder().uri(uri).version(http::Version::HTTP_2);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut sender = self.sender.clone();
        sender.ready().await.unwrap();
        let response = sender.send_request(request.body(Full::new(Bytes::new())).unwrap()).await.unwrap();
        assert_eq!(response.version(), http::Version::HTTP_2);
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        Answer { status, headers, body }
    }
}

impl Conn {
    pub async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.send("GET", path, headers, Bytes::new()).await
    }

    pub async fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: Bytes) -> Answer {
        let mut request = http::Request::builder().method(method).uri(path);
        if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("host")) {
            request = request.header("host", "localhost");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body)).unwrap();
        self.sender.ready().await.unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        Answer { status, headers, body }
    }

    /// Asks to upgrade to `protocol`; on 101 returns the raw upgraded stream.
    pub async fn upgrade(mut self, path: &str, headers: &[(&str, &str)]) -> Result<TokioIo<hyper::upgrade::Upgraded>, u16> {
        let mut request = http::Request::builder()
            .uri(path)
            .header("host", "localhost")
            .header("connection", "upgrade")
            .header("upgrade", "websocket");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.sender.ready().await.unwrap();
        let response = self.sender.send_request(request.body(Full::new(Bytes::new())).unwrap()).await.unwrap();
        if response.status() != 101 {
            return Err(response.status().as_u16());
        }
        Ok(TokioIo::new(hyper::upgrade::on(response).await.unwrap()))
    }

    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

/// An upstream that answers every request with what it received, as JSON:
/// `{"method", "path", "headers": {name: value}}`. Paths containing `/slow` wait 3 s first;
/// an `Upgrade` request gets 101 and an echo of the upgraded bytes.
pub async fn echo_upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            tokio::spawn(serve_echo(stream));
        }
    });
    addr
}

/// The same echo upstream over TLS, with `identity` (a serverAuth leaf) as its certificate.
pub async fn tls_echo_upstream(identity: &Issued) -> SocketAddr {
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(identity.der.clone())], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    serve_echo(tls).await;
                }
            });
        }
    });
    addr
}

async fn serve_echo<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static>(stream: S) {
    let service = hyper::service::service_fn(|mut request: http::Request<Incoming>| async move {
        if request.headers().contains_key("upgrade") {
            // Echo whatever arrives on the upgraded connection.
            let upgrade = hyper::upgrade::on(&mut request);
            tokio::spawn(async move {
                if let Ok(upgraded) = upgrade.await {
                    let (mut read, mut write) = tokio::io::split(TokioIo::new(upgraded));
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                }
            });
            let mut response = http::Response::new(Full::new(Bytes::new()));
            *response.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
            response.headers_mut().insert("connection", http::HeaderValue::from_static("upgrade"));
            response.headers_mut().insert("upgrade", http::HeaderValue::from_static("websocket"));
            return Ok::<_, std::convert::Infallible>(response);
        }
        if request.uri().path().contains("/slow") {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        let headers: serde_json::Map<String, Value> = request
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_str().unwrap_or("").to_string())))
            .collect();
        let method = request.method().to_string();
        let path = request.uri().to_string();
        let received = request.into_body().collect().await.map(|b| b.to_bytes().len()).unwrap_or(0);
        let body = json!({"method": method, "path": path, "headers": headers, "received": received});
        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from(body.to_string()))))
    });
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).with_upgrades().await;
}

/// The admin REST API with the admin token.
pub struct Admin {
    client: reqwest::Client,
    base: String,
}

impl Admin {
    pub fn new(server: &Server) -> Admin {
        Admin { client: super::client(), base: server.url("/api/v1") }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Uploads a certificate; returns its id.
    pub async fn upload(&self, cert: &Issued) -> String {
        let (status, body) = self.call(reqwest::Method::POST, "/certificates", Some(json!({"pem": cert.cert_pem}))).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    pub async fn create_api(&self, body: Value) -> String {
        let (status, created) = self.call(reqwest::Method::POST, "/apis", Some(body)).await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().unwrap().to_string()
    }

    /// Creates a key; returns (id, token).
    pub async fn create_key(&self, body: Value) -> (String, String) {
        let (status, created) = self.call(reqwest::Method::POST, "/keys", Some(body)).await;
        assert_eq!(status, 201, "{created}");
        (created["id"].as_str().unwrap().to_string(), created["token"].as_str().unwrap().to_string())
    }
}
