//! TLS server configuration: loading certificate and key files (or the generated identity, see
//! `generated`), and the gateway's replaceable certificate. One crypto provider: aws-lc-rs, named explicitly.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::aws_lc_rs;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use arc_swap::ArcSwap;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {why}")]
    Read { path: PathBuf, why: String },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)")]
    NoKey { path: PathBuf },
    #[error("the certificate and key do not form a usable TLS identity: {0}")]
    Config(String),
    #[error("cannot write {path}: {why}")]
    Write { path: PathBuf, why: String },
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(String),
}

/// A certificate chain and its private key.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Identity {
    /// Reads a PEM certificate chain and a PEM private key.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Identity, TlsError> {
        let cert_pem = std::fs::read(cert).map_err(|e| TlsError::Read { path: cert.into(), why: e.to_string() })?;
        let key_pem = std::fs::read(key).map_err(|e| TlsError::Read { path: key.into(), why: e.to_string() })?;
        Identity::from_pem(&cert_pem, &key_pem, cert, key)
    }

    fn from_pem(cert_pem: &[u8], key_pem: &[u8], cert: &Path, key: &Path) -> Result<Identity, TlsError> {
        let chain: Vec<_> = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::Read { path: cert.into(), why: e.to_string() })?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate { path: cert.into() });
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| TlsError::NoKey { path: key.into() })?;
        Ok(Identity { chain, key })
    }
}

/// The gateway certificate in use, replaceable while the process runs: new handshakes get the
/// new certificate, established connections keep theirs.
#[derive(Debug)]
pub struct SwappableCert {
    current: ArcSwap<CertifiedKey>,
}

impl SwappableCert {
    pub fn new(identity: Identity) -> Result<Arc<SwappableCert>, TlsError> {
        Ok(Arc::new(SwappableCert { current: ArcSwap::from_pointee(certified_key(identity)?) }))
    }

    /// Serves `identity` from the next handshake on. A key that does not match is refused.
    pub fn replace(&self, identity: Identity) -> Result<(), TlsError> {
        self.current.store(Arc::new(certified_key(identity)?));
        Ok(())
    }
}

impl ResolvesServerCert for SwappableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

fn certified_key(identity: Identity) -> Result<CertifiedKey, TlsError> {
    CertifiedKey::from_der(identity.chain, identity.key, &aws_lc_rs::default_provider())
        .map_err(|e| TlsError::Config(e.to_string()))
}

/// The SPKI pin of a certificate as curl's `--pinnedpubkey` takes it:
/// `sha256//` + base64 of the SHA-256 of its SubjectPublicKeyInfo DER.
pub fn spki_pin(cert: &CertificateDer<'_>) -> Result<String, TlsError> {
    use base64::Engine;
    let facts = certgate_core::pki::parse_der(cert).map_err(|e| TlsError::Config(e.message()))?;
    let digest = hex::decode(&facts.spki_sha256).map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(format!("sha256//{}", base64::engine::general_purpose::STANDARD.encode(digest)))
}

/// Writes a secret file readable by its owner only (mode 0600).
pub fn write_private(path: &Path, data: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let write = |options: &std::fs::OpenOptions| -> std::io::Result<()> {
        let mut file = options.open(path)?;
        file.write_all(data)?;
        file.sync_all()
    };
    write(&options).map_err(|e| TlsError::Write { path: path.into(), why: e.to_string() })
}

/// The gateway's client-certificate verifier: it asks for a certificate without demanding one,
/// names no acceptable CAs, and accepts whatever chain the client sends after checking only
/// the proof of possession (CertificateVerify, with rustls's own signature checks). Every trust
/// decision is made per request against the current snapshot (DESIGN.md, TLS layer).
#[derive(Debug)]
struct AnyChainClientVerifier {
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::server::danger::ClientCertVerifier for AnyChainClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        // Never list leaf certificates (or anything) as acceptable CAs.
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The gateway's server config: like [`server_config`], and it requests (never requires) a
/// client certificate, accepting any chain (see `AnyChainClientVerifier`).
pub fn gateway_server_config(certificate: Arc<SwappableCert>) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let verifier = Arc::new(AnyChainClientVerifier { algorithms: provider.signature_verification_algorithms });
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(certificate);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client config for https upstreams: the system's roots, aws-lc-rs, TLS 1.2 and 1.3.
pub fn upstream_client_config() -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    let loaded = rustls_native_certs::load_native_certs();
    for cert in loaded.certs {
        // A malformed system root is skipped, not fatal.
        let _ = roots.add(cert);
    }
    upstream_client_config_with_roots(roots)
}

/// A client config for an https upstream verified against one CA (DER).
pub fn upstream_client_config_with_ca(ca_der: &[u8]) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(ca_der.to_vec())).map_err(|e| TlsError::Config(e.to_string()))?;
    upstream_client_config_with_roots(roots)
}

/// A client config for an https upstream whose certificate must be exactly the pinned one
/// (SHA-256 of its DER): a self-signed upstream. The pin is compared, never made an anchor, so
/// it vouches for nothing else; the handshake signature is still verified with its key.
pub fn upstream_client_config_with_pin(digest: [u8; 32]) -> Result<rustls::ClientConfig, TlsError> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let verifier = Arc::new(PinnedServerVerifier { digest, algorithms: provider.signature_verification_algorithms });
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// Accepts exactly one server certificate, by the SHA-256 of its DER.
#[derive(Debug)]
struct PinnedServerVerifier {
    digest: [u8; 32],
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::client::danger::ServerCertVerifier for PinnedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use sha2::Digest;
        let presented: [u8; 32] = sha2::Sha256::digest(end_entity.as_ref()).into();
        if presented == self.digest {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn upstream_client_config_with_roots(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, TlsError> {
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A server config with the aws-lc-rs provider, TLS 1.2 and 1.3, ALPN h2 and http/1.1, and no
/// client authentication (the portal, and the gateway until allow lists exist).
pub fn server_config(identity: Identity) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swapped_certificate_must_match_its_key() {
        let a = rcgen::generate_simple_self_signed(vec!["a".into()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b".into()]).unwrap();
        let identity = |cert: &rcgen::Certificate, key: &rcgen::KeyPair| Identity {
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        };
        let swap = SwappableCert::new(identity(&a.cert, &a.signing_key)).unwrap();
        assert!(gateway_server_config(Arc::clone(&swap)).is_ok());
        assert!(swap.replace(identity(&a.cert, &b.signing_key)).is_err());
        swap.replace(identity(&b.cert, &b.signing_key)).unwrap();
        assert_eq!(swap.current.load().cert[0], *b.cert.der());
        assert!(spki_pin(b.cert.der()).unwrap().starts_with("sha256//"));
        assert_eq!(spki_pin(b.cert.der()).unwrap().len(), "sha256//".len() + 44);
    }

    /// A real handshake after `replace` gets the new certificate, without a new config.
    #[tokio::test]
    async fn new_handshakes_get_the_replaced_certificate() {
        let a = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let identity = |c: &rcgen::CertifiedKey<rcgen::KeyPair>| Identity {
            chain: vec![c.cert.der().clone()],
            key: PrivateKeyDer::try_from(c.signing_key.serialize_der()).unwrap(),
        };
        let swap = SwappableCert::new(identity(&a)).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(gateway_server_config(Arc::clone(&swap)).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = acceptor.accept(tcp).await;
                });
            }
        });
        let mut roots = rustls::RootCertStore::empty();
        roots.add(a.cert.der().clone()).unwrap();
        roots.add(b.cert.der().clone()).unwrap();
        let client = rustls::ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let served = || async {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let tls = connector.connect(name, tcp).await.unwrap();
            tls.get_ref().1.peer_certificates().unwrap()[0].clone()
        };
        assert_eq!(served().await, *a.cert.der());
        swap.replace(identity(&b)).unwrap();
        assert_eq!(served().await, *b.cert.der());
    }

    #[test]
    fn garbage_and_mismatched_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("c.pem");
        let key = dir.path().join("k.pem");
        std::fs::write(&cert, "not a certificate").unwrap();
        std::fs::write(&key, "not a key").unwrap();
        assert!(matches!(Identity::from_pem_files(&cert, &key), Err(TlsError::NoCertificate { .. })));

        let a = rcgen::generate_simple_self_signed(vec!["a".into()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b".into()]).unwrap();
        std::fs::write(&cert, a.cert.pem()).unwrap();
        std::fs::write(&key, "still not a key").unwrap();
        assert!(matches!(Identity::from_pem_files(&cert, &key), Err(TlsError::NoKey { .. })));
        std::fs::write(&key, b.signing_key.serialize_pem()).unwrap();
        let identity = Identity::from_pem_files(&cert, &key).unwrap();
        assert!(matches!(server_config(identity), Err(TlsError::Config(_))));
        assert!(matches!(
            Identity::from_pem_files(&dir.path().join("missing"), &key),
            Err(TlsError::Read { .. })
        ));
    }
}
