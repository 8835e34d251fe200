//! A small PKI for tests: a root CA, an intermediate, and leaves of every kind the gateway and
//! the certificate store must tell apart. Test code only: failures panic with a clear message.

#![allow(clippy::expect_used)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SignatureAlgorithm,
};
use time::{Duration, OffsetDateTime};

/// The key types the tests cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    EcP256,
    EcP384,
    EcP521,
    Rsa2048,
    Ed25519,
}

impl KeyKind {
    fn algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            KeyKind::EcP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyKind::EcP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyKind::EcP521 => &rcgen::PKCS_ECDSA_P521_SHA512,
            KeyKind::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
            KeyKind::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }

    pub fn generate(self) -> KeyPair {
        KeyPair::generate_for(self.algorithm()).expect("key generation")
    }
}

/// What a leaf may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    ClientAuth,
    ServerAuthOnly,
    /// No extendedKeyUsage extension at all.
    Unrestricted,
}

/// A certificate with its key.
pub struct Issued {
    pub der: Vec<u8>,
    pub cert_pem: String,
    pub key_pem: String,
    params: CertificateParams,
    key: KeyPair,
}

impl Issued {
    /// Use this certificate as an issuer.
    pub fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

/// How to make a leaf.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    pub common_name: String,
    pub key: KeyKind,
    pub usage: Usage,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub dns_names: Vec<String>,
    /// Adds a critical extension no TLS library knows (OID 1.3.6.1.4.1.55555.1).
    pub unknown_critical_extension: bool,
}

impl LeafSpec {
    /// A client certificate valid from yesterday for a year.
    pub fn client(common_name: &str) -> LeafSpec {
        let now = OffsetDateTime::now_utc();
        LeafSpec {
            common_name: common_name.to_string(),
            key: KeyKind::EcP256,
            usage: Usage::ClientAuth,
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(365),
            dns_names: Vec::new(),
            unknown_critical_extension: false,
        }
    }

    pub fn with_unknown_critical_extension(mut self) -> Self {
        self.unknown_critical_extension = true;
        self
    }

    pub fn key(mut self, key: KeyKind) -> Self {
        self.key = key;
        self
    }

    pub fn usage(mut self, usage: Usage) -> Self {
        self.usage = usage;
        self
    }

    pub fn expired(mut self) -> Self {
        let now = OffsetDateTime::now_utc();
        self.not_before = now - Duration::days(60);
        self.not_after = now - Duration::days(1);
        self
    }

    pub fn not_yet_valid(mut self) -> Self {
        let now = OffsetDateTime::now_utc();
        self.not_before = now + Duration::days(1);
        self.not_after = now + Duration::days(60);
        self
    }

    pub fn expiring_in_days(mut self, days: i64) -> Self {
        self.not_after = OffsetDateTime::now_utc() + Duration::days(days);
        self
    }

    fn params(&self) -> CertificateParams {
        let mut params = CertificateParams::new(self.dns_names.clone()).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, self.common_name.clone());
        params.distinguished_name.push(DnType::OrganizationName, "certgate tests");
        params.is_ca = IsCa::ExplicitNoCa;
        params.not_before = self.not_before;
        params.not_after = self.not_after;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = match self.usage {
            Usage::ClientAuth => vec![ExtendedKeyUsagePurpose::ClientAuth],
            Usage::ServerAuthOnly => vec![ExtendedKeyUsagePurpose::ServerAuth],
            Usage::Unrestricted => Vec::new(),
        };
        if self.unknown_critical_extension {
            let mut extension = rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 55555, 1], vec![0x05, 0x00]);
            extension.set_criticality(true);
            params.custom_extensions.push(extension);
        }
        params
    }
}

fn issued(params: CertificateParams, key: KeyPair, cert: rcgen::Certificate) -> Issued {
    Issued { der: cert.der().to_vec(), cert_pem: cert.pem(), key_pem: key.serialize_pem(), params, key }
}

fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(2);
    params.not_after = now + Duration::days(3650);
    params
}

/// A root CA and an intermediate CA under it.
pub struct TestPki {
    pub root: Issued,
    pub intermediate: Issued,
}

impl Default for TestPki {
    fn default() -> Self {
        TestPki::new()
    }
}

impl TestPki {
    pub fn new() -> TestPki {
        let root_key = KeyKind::EcP256.generate();
        let root_params = ca_params("certgate test root CA");
        let root_cert = root_params.self_signed(&root_key).expect("root");
        let root = issued(root_params, root_key, root_cert);
        let intermediate_key = KeyKind::EcP256.generate();
        let intermediate_params = ca_params("certgate test intermediate CA");
        let intermediate_cert =
            intermediate_params.signed_by(&intermediate_key, &root.issuer()).expect("intermediate");
        let intermediate = issued(intermediate_params, intermediate_key, intermediate_cert);
        TestPki { root, intermediate }
    }

    /// A leaf signed by the intermediate.
    pub fn leaf(&self, spec: &LeafSpec) -> Issued {
        self.leaf_signed_by(spec, &self.intermediate)
    }

    /// A leaf signed by the given CA.
    pub fn leaf_signed_by(&self, spec: &LeafSpec, ca: &Issued) -> Issued {
        let key = spec.key.generate();
        let params = spec.params();
        let cert = params.signed_by(&key, &ca.issuer()).expect("leaf");
        issued(params, key, cert)
    }

    /// A self-signed leaf (its own issuer).
    pub fn self_signed(spec: &LeafSpec) -> Issued {
        let key = spec.key.generate();
        let params = spec.params();
        let cert = params.self_signed(&key).expect("self-signed leaf");
        issued(params, key, cert)
    }

    /// A certificate signing request in PEM.
    pub fn csr_pem(common_name: &str) -> String {
        let key = KeyKind::EcP256.generate();
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("csr params");
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.serialize_request(&key).expect("csr").pem().expect("csr pem")
    }
}
