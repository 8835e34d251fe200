//! Certificates: reading exactly one X.509 certificate from an upload, the facts certgate keeps
//! about it, and the client-certificate policy (DESIGN.md: one rule, used everywhere).
//!
//! Pure: no I/O and no clock. The gateway and the services share this module.

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::UnixSeconds;

/// Largest certificate upload accepted (a body over this is refused with 413 upstream).
pub const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;

/// How the upload's body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Text with PEM blocks (text outside the blocks is allowed, RFC 7468).
    Pem,
    /// One DER certificate, nothing after it.
    Der,
}

/// Why an upload is not exactly one certificate. Each has a stable code and a message that
/// never repeats the upload's content (it may be a private key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PkiError {
    Empty,
    PrivateKey,
    CertificateRequest,
    MultipleCertificates(usize),
    NoCertificate,
    MalformedPem,
    NotACertificate(String),
    TrailingData,
}

impl PkiError {
    pub fn code(&self) -> &'static str {
        match self {
            PkiError::Empty => "empty_certificate",
            PkiError::PrivateKey => "private_key_not_certificate",
            PkiError::CertificateRequest => "csr_not_certificate",
            PkiError::MultipleCertificates(_) => "multiple_certificates",
            PkiError::NoCertificate => "no_certificate",
            PkiError::MalformedPem => "malformed_pem",
            PkiError::NotACertificate(_) => "invalid_certificate",
            PkiError::TrailingData => "trailing_data",
        }
    }

    pub fn message(&self) -> String {
        match self {
            PkiError::Empty => "The upload is empty: paste or choose one certificate.".into(),
            PkiError::PrivateKey => "This is a private key, not a certificate. Keep private keys secret and never upload them: \
                upload only the certificate (the block that starts with -----BEGIN CERTIFICATE-----). Nothing was stored."
                .into(),
            PkiError::CertificateRequest => {
                "This is a certificate signing request (CSR), not a certificate: have it signed, then upload the certificate.".into()
            }
            PkiError::MultipleCertificates(n) => {
                format!("The upload holds {n} certificates: upload exactly one (the client certificate itself, without its chain).")
            }
            PkiError::NoCertificate => "No PEM certificate block was found (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----).".into(),
            PkiError::MalformedPem => "The PEM block is malformed: its BEGIN/END lines or its base64 content are broken.".into(),
            PkiError::NotACertificate(why) => format!("This is not a valid X.509 certificate: {why}."),
            PkiError::TrailingData => "There are bytes after the end of the DER certificate: upload exactly one certificate.".into(),
        }
    }
}

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltName {
    /// `dns`, `ip`, `uri` or `email`.
    pub kind: String,
    pub value: String,
}

/// What certgate keeps about a certificate, parsed once at upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateFacts {
    /// Lowercase hex SHA-256 of the DER: the certificate's id everywhere in certgate.
    pub id: String,
    /// RFC 8705 `x5t#S256`: the same hash as unpadded base64url.
    pub x5t_s256: String,
    /// Lowercase hex SHA-256 of the SubjectPublicKeyInfo.
    pub spki_sha256: String,
    pub subject: String,
    pub subject_common_name: Option<String>,
    pub issuer: String,
    /// Colon-separated hex.
    pub serial: String,
    pub subject_alt_names: Vec<AltName>,
    pub not_before: UnixSeconds,
    pub not_after: UnixSeconds,
    /// basicConstraints CA:TRUE.
    pub is_ca: bool,
    /// Issuer equals subject.
    pub self_issued: bool,
    /// e.g. `RSA 2048`, `EC P-256`, `Ed25519`.
    pub key_algorithm: String,
    /// `None`: no extendedKeyUsage extension (any usage). Otherwise the usages by name
    /// (`clientAuth`, `serverAuth`, …) or dotted OID.
    pub extended_key_usage: Option<Vec<String>>,
    /// `None`: no keyUsage extension. Otherwise the usages by name (`digitalSignature`,
    /// `keyCertSign`, …).
    #[serde(default)]
    pub key_usage: Option<Vec<String>>,
    /// The certificate's signature algorithm (OID, dotted).
    #[serde(default)]
    pub signature_algorithm: String,
    /// Why the TLS library refuses the certificate in a handshake (an unknown critical
    /// extension, a malformed field), if it does.
    #[serde(default)]
    pub tls_problem: Option<String>,
}

/// Reads exactly one certificate from an upload. Refuses private keys (before anything else,
/// even beside a certificate), CSRs, several certificates, garbage and trailing bytes.
pub fn read_one_certificate(body: &[u8], encoding: Encoding) -> Result<(Vec<u8>, CertificateFacts), PkiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(PkiError::Empty);
    }
    let der = match encoding {
        Encoding::Der => body.to_vec(),
        Encoding::Pem => one_certificate_block(body)?,
    };
    let facts = parse_der(&der)?;
    Ok((der, facts))
}

/// Guesses the encoding of a body whose content type says nothing: DER starts with a SEQUENCE.
pub fn sniff_encoding(body: &[u8]) -> Encoding {
    if body.first() == Some(&0x30) && !body.starts_with(b"-----") {
        Encoding::Der
    } else {
        Encoding::Pem
    }
}

/// One PEM block: its label and base64 body (RFC 7468, lax: text around blocks is ignored).
struct PemBlock<'a> {
    label: &'a str,
    body: Vec<&'a str>,
}

fn pem_blocks(text: &str) -> Result<Vec<PemBlock<'_>>, PkiError> {
    let mut blocks = Vec::new();
    let mut open: Option<PemBlock<'_>> = None;
    for line in text.lines().map(str::trim) {
        if let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) {
            if open.is_some() {
                return Err(PkiError::MalformedPem);
            }
            open = Some(PemBlock { label, body: Vec::new() });
        } else if let Some(label) = line.strip_prefix("-----END ").and_then(|l| l.strip_suffix("-----")) {
            match open.take() {
                Some(block) if block.label == label => blocks.push(block),
                _ => return Err(PkiError::MalformedPem),
            }
        } else if let Some(block) = open.as_mut() {
            block.body.push(line);
        }
    }
    if open.is_some() {
        return Err(PkiError::MalformedPem);
    }
    Ok(blocks)
}

fn one_certificate_block(body: &[u8]) -> Result<Vec<u8>, PkiError> {
    // Non-UTF-8 text cannot be PEM; a binary body sent as text is likely DER.
    let text = std::str::from_utf8(body).map_err(|_| PkiError::NotACertificate("the body is binary, not PEM text".into()))?;
    // A private key anywhere in the upload refuses the whole upload, whatever else is there.
    // Checked on the raw text too, so a key in a broken block is still recognised.
    if text.contains("PRIVATE KEY-----") {
        return Err(PkiError::PrivateKey);
    }
    let blocks = pem_blocks(text)?;
    if blocks.iter().any(|b| b.label.contains("CERTIFICATE REQUEST")) {
        return Err(PkiError::CertificateRequest);
    }
    let certificates: Vec<_> = blocks.iter().filter(|b| b.label == "CERTIFICATE").collect();
    match certificates.as_slice() {
        [] => Err(PkiError::NoCertificate),
        [one] => {
            if one.body.iter().any(|l| l.contains(':')) {
                // Encapsulated headers (RFC 1421) do not belong in a certificate block.
                return Err(PkiError::MalformedPem);
            }
            base64::engine::general_purpose::STANDARD
                .decode(one.body.concat())
                .map_err(|_| PkiError::MalformedPem)
        }
        many => Err(PkiError::MultipleCertificates(many.len())),
    }
}

/// Parses one DER certificate into its facts.
pub fn parse_der(der: &[u8]) -> Result<CertificateFacts, PkiError> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| PkiError::NotACertificate(describe(&e)))?;
    if !rest.is_empty() {
        return Err(PkiError::TrailingData);
    }
    Ok(facts_of(der, &cert))
}

fn describe(e: &x509_parser::nom::Err<x509_parser::error::X509Error>) -> String {
    match e {
        x509_parser::nom::Err::Incomplete(_) => "the data ends too early".into(),
        x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => e.to_string(),
    }
}

fn facts_of(der: &[u8], cert: &X509Certificate<'_>) -> CertificateFacts {
    let digest = Sha256::digest(der);
    let spki = Sha256::digest(cert.public_key().raw);
    let subject = cert.subject().to_string();
    let issuer = cert.issuer().to_string();
    CertificateFacts {
        id: hex::encode(digest),
        x5t_s256: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest),
        spki_sha256: hex::encode(spki),
        subject_common_name: cert.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()).map(str::to_string),
        self_issued: subject == issuer,
        subject,
        issuer,
        serial: cert.raw_serial_as_string(),
        subject_alt_names: alt_names(cert),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        is_ca: cert.basic_constraints().ok().flatten().is_some_and(|bc| bc.value.ca),
        key_algorithm: key_algorithm(cert),
        extended_key_usage: extended_key_usage(cert),
        key_usage: key_usage(cert),
        signature_algorithm: cert.signature_algorithm.algorithm.to_id_string(),
        tls_problem: tls_problem(der, cert),
    }
}

/// What rustls (through webpki) says of the certificate when a client presents it: the
/// handshake parses the leaf the same way, so a certificate refused here never authenticates.
fn tls_problem(der: &[u8], cert: &X509Certificate<'_>) -> Option<String> {
    let der = rustls_pki_types::CertificateDer::from(der);
    let error = webpki::EndEntityCert::try_from(&der).err()?;
    let unknown_critical: Vec<String> = cert
        .extensions()
        .iter()
        .filter(|e| e.critical && matches!(e.parsed_extension(), ParsedExtension::UnsupportedExtension { .. }))
        .map(|e| e.oid.to_id_string())
        .collect();
    Some(match unknown_critical.as_slice() {
        [] => format!("the TLS library cannot use it ({error:?})"),
        oids => format!("it has a critical extension certgate does not know ({})", oids.join(", ")),
    })
}

fn key_usage(cert: &X509Certificate<'_>) -> Option<Vec<String>> {
    let usage = cert.key_usage().ok().flatten()?.value;
    let names = [
        (usage.digital_signature(), "digitalSignature"),
        (usage.non_repudiation(), "nonRepudiation"),
        (usage.key_encipherment(), "keyEncipherment"),
        (usage.data_encipherment(), "dataEncipherment"),
        (usage.key_agreement(), "keyAgreement"),
        (usage.key_cert_sign(), "keyCertSign"),
        (usage.crl_sign(), "cRLSign"),
        (usage.encipher_only(), "encipherOnly"),
        (usage.decipher_only(), "decipherOnly"),
    ];
    Some(names.iter().filter(|(on, _)| *on).map(|(_, name)| name.to_string()).collect())
}

fn alt_names(cert: &X509Certificate<'_>) -> Vec<AltName> {
    let Ok(Some(san)) = cert.subject_alternative_name() else { return Vec::new() };
    san.value
        .general_names
        .iter()
        .filter_map(|name| {
            let (kind, value) = match name {
                GeneralName::DNSName(s) => ("dns", s.to_string()),
                GeneralName::URI(s) => ("uri", s.to_string()),
                GeneralName::RFC822Name(s) => ("email", s.to_string()),
                GeneralName::IPAddress(bytes) => ("ip", ip_to_string(bytes)?),
                _ => return None,
            };
            Some(AltName { kind: kind.into(), value })
        })
        .collect()
}

fn ip_to_string(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => Some(std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string()),
        16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(bytes);
            Some(std::net::Ipv6Addr::from(octets).to_string())
        }
        _ => None,
    }
}

fn key_algorithm(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    let algorithm = spki.algorithm.algorithm.to_id_string();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string())
                .unwrap_or_default();
            match curve.as_str() {
                "1.2.840.10045.3.1.7" => "EC P-256".into(),
                "1.3.132.0.34" => "EC P-384".into(),
                "1.3.132.0.35" => "EC P-521".into(),
                other => format!("EC {other}"),
            }
        }
        _ => match algorithm.as_str() {
            "1.3.101.112" => "Ed25519".into(),
            "1.3.101.113" => "Ed448".into(),
            other => other.to_string(),
        },
    }
}

fn extended_key_usage(cert: &X509Certificate<'_>) -> Option<Vec<String>> {
    let eku = cert.extended_key_usage().ok().flatten()?.value;
    let mut usages = Vec::new();
    for (on, name) in [
        (eku.any, "any"),
        (eku.server_auth, "serverAuth"),
        (eku.client_auth, "clientAuth"),
        (eku.code_signing, "codeSigning"),
        (eku.email_protection, "emailProtection"),
        (eku.time_stamping, "timeStamping"),
        (eku.ocsp_signing, "OCSPSigning"),
    ] {
        if on {
            usages.push(name.to_string());
        }
    }
    usages.extend(eku.other.iter().map(|oid| oid.to_id_string()));
    Some(usages)
}

/// Whether a certificate's validity covers `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    NotYetValid,
    Valid,
    Expired,
}

pub fn validity_at(facts: &CertificateFacts, now: UnixSeconds) -> Validity {
    if now < facts.not_before {
        Validity::NotYetValid
    } else if now > facts.not_after {
        Validity::Expired
    } else {
        Validity::Valid
    }
}

/// Why a leaf cannot authenticate a client now (DESIGN.md, client-certificate policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCertificateProblem {
    IsCa,
    NoClientAuthUsage,
    /// The TLS library refuses it in the handshake (an unknown critical extension, …).
    RefusedByTls,
    /// RSA under 2048 bits.
    WeakKey,
    /// A key type the handshake cannot verify (only RSA 2048–8192, EC P-256/384/521, Ed25519).
    UnsupportedKey,
    /// Signed with SHA-1 or MD5.
    WeakSignature,
    Expired,
    NotYetValid,
}

impl ClientCertificateProblem {
    /// A stable code for the store's flag and the portal.
    pub fn code(self) -> &'static str {
        match self {
            ClientCertificateProblem::IsCa => "ca_certificate",
            ClientCertificateProblem::NoClientAuthUsage => "no_client_auth_usage",
            ClientCertificateProblem::RefusedByTls => "refused_by_tls",
            ClientCertificateProblem::WeakKey => "weak_key",
            ClientCertificateProblem::UnsupportedKey => "unsupported_key",
            ClientCertificateProblem::WeakSignature => "weak_signature",
            ClientCertificateProblem::Expired => "expired",
            ClientCertificateProblem::NotYetValid => "not_yet_valid",
        }
    }

    /// A sentence for people.
    pub fn describe(self) -> &'static str {
        match self {
            ClientCertificateProblem::IsCa => "A CA certificate cannot be used as a client certificate.",
            ClientCertificateProblem::NoClientAuthUsage => {
                "The client certificate's extended key usage does not include client authentication."
            }
            ClientCertificateProblem::RefusedByTls => {
                "The client certificate cannot be used in a TLS handshake (for example, it has a critical extension certgate does not know)."
            }
            ClientCertificateProblem::WeakKey => "The client certificate's RSA key is shorter than 2048 bits.",
            ClientCertificateProblem::UnsupportedKey => {
                "The client certificate's key type is not supported (use RSA 2048-8192, EC P-256/P-384/P-521 or Ed25519)."
            }
            ClientCertificateProblem::WeakSignature => "The client certificate is signed with SHA-1 or MD5.",
            ClientCertificateProblem::Expired => "The client certificate has expired.",
            ClientCertificateProblem::NotYetValid => "The client certificate is not valid yet.",
        }
    }
}

/// Signature algorithms no longer accepted (dotted OIDs): MD2, MD5 and SHA-1 with RSA, DSA or ECDSA.
const WEAK_SIGNATURE_ALGORITHMS: &[&str] = &[
    "1.2.840.113549.1.1.2",
    "1.2.840.113549.1.1.4",
    "1.2.840.113549.1.1.5",
    "1.3.14.3.2.29",
    "1.2.840.10040.4.3",
    "1.2.840.10045.4.1",
];

/// Whether the handshake can verify a signature by this key (rustls with aws-lc-rs).
fn key_problem(key_algorithm: &str) -> Option<ClientCertificateProblem> {
    if let Some(bits) = key_algorithm.strip_prefix("RSA ") {
        return match bits.parse::<u32>() {
            Ok(bits) if bits < 2048 => Some(ClientCertificateProblem::WeakKey),
            Ok(bits) if bits <= 8192 => None,
            _ => Some(ClientCertificateProblem::UnsupportedKey),
        };
    }
    match key_algorithm {
        "EC P-256" | "EC P-384" | "EC P-521" | "Ed25519" => None,
        _ => Some(ClientCertificateProblem::UnsupportedKey),
    }
}

/// The one client-certificate policy (DESIGN.md), used by the gateway, `explain`, the store's
/// flag and uploads: a leaf is usable for client authentication when it is not a CA, its EKU
/// contains clientAuth (or `any`) or it has no EKU extension, the handshake accepts it (no
/// unknown critical extension, a supported key of sufficient size, no SHA-1/MD5 signature),
/// and `now` is inside its validity.
pub fn client_auth_problem(facts: &CertificateFacts, now: UnixSeconds) -> Option<ClientCertificateProblem> {
    if facts.is_ca {
        return Some(ClientCertificateProblem::IsCa);
    }
    if let Some(usages) = &facts.extended_key_usage {
        if !usages.iter().any(|u| u == "clientAuth" || u == "any") {
            return Some(ClientCertificateProblem::NoClientAuthUsage);
        }
    }
    if facts.tls_problem.is_some() {
        return Some(ClientCertificateProblem::RefusedByTls);
    }
    if let Some(problem) = key_problem(&facts.key_algorithm) {
        return Some(problem);
    }
    if WEAK_SIGNATURE_ALGORITHMS.contains(&facts.signature_algorithm.as_str()) {
        return Some(ClientCertificateProblem::WeakSignature);
    }
    match validity_at(facts, now) {
        Validity::Expired => Some(ClientCertificateProblem::Expired),
        Validity::NotYetValid => Some(ClientCertificateProblem::NotYetValid),
        Validity::Valid => None,
    }
}

/// Whether a certificate may vouch for an upstream server as a trust anchor: CA:TRUE, and if it
/// has a keyUsage extension, keyCertSign in it (RFC 5280 §4.2.1.3).
pub fn can_sign_certificates(facts: &CertificateFacts) -> bool {
    facts.is_ca && facts.key_usage.as_ref().is_none_or(|usages| usages.iter().any(|u| u == "keyCertSign"))
}

/// Whether a certificate may identify a TLS server (EKU serverAuth, `any`, or no EKU).
pub fn can_identify_server(facts: &CertificateFacts) -> bool {
    facts.extended_key_usage.as_ref().is_none_or(|usages| usages.iter().any(|u| u == "serverAuth" || u == "any"))
}

/// The id shown colon-grouped (`AB:CD:…`), as `openssl x509 -fingerprint -sha256` prints it.
pub fn colon_fingerprint(id: &str) -> String {
    id.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).to_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests;
