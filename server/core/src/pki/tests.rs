use super::*;
use certgate_testpki::{KeyKind, LeafSpec, TestPki, Usage};

const FIXTURE_PEM: &str = include_str!("../../tests/fixtures/client.pem");
const FIXTURE_DER: &[u8] = include_bytes!("../../tests/fixtures/client.der");

fn now() -> UnixSeconds {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn id_thumbprint_and_spki_match_values_computed_by_openssl() {
    // openssl x509 -noout -fingerprint -sha256; ... -outform der | openssl dgst -sha256 -binary | basenc --base64url;
    // openssl x509 -noout -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256
    let (der, facts) = read_one_certificate(FIXTURE_PEM.as_bytes(), Encoding::Pem).unwrap();
    assert_eq!(der, FIXTURE_DER);
    assert_eq!(
        colon_fingerprint(&facts.id),
        "8C:18:A1:C2:73:0D:2F:B6:FB:1E:B0:44:AB:FA:7E:6D:DB:54:C4:97:FB:12:28:02:FA:14:E1:94:FC:0C:A1:97"
    );
    assert_eq!(facts.id, "8c18a1c2730d2fb6fb1eb044abfa7e6ddb54c497fb122802fa14e194fc0ca197");
    assert_eq!(facts.x5t_s256, "jBihwnMNL7b7HrBEq_p-bdtUxJf7EigC-hThlPwMoZc");
    assert_eq!(facts.spki_sha256, "14b1f9a00ddc73860ee95f9d0ce7223f8b78e5707d3e0b649e43977a9e04ebba");
}

#[test]
fn every_kept_field_of_the_fixture() {
    let (_, f) = read_one_certificate(FIXTURE_DER, Encoding::Der).unwrap();
    assert_eq!(f.subject, "CN=fixture client, O=certgate fixtures");
    assert_eq!(f.subject_common_name.as_deref(), Some("fixture client"));
    assert_eq!(f.issuer, f.subject);
    assert!(f.self_issued);
    assert_eq!(f.serial, "1f:0b:31:b4:5c:82:5b:4c:f0:70:2b:ea:6b:b7:38:28:6b:b5:2e:6e");
    assert_eq!(f.key_algorithm, "EC P-256");
    assert!(!f.is_ca);
    assert_eq!(f.extended_key_usage, Some(vec!["clientAuth".to_string()]));
    let sans: Vec<(&str, &str)> = f.subject_alt_names.iter().map(|a| (a.kind.as_str(), a.value.as_str())).collect();
    assert_eq!(
        sans,
        vec![("dns", "client.example"), ("ip", "192.0.2.7"), ("email", "ops@client.example"), ("uri", "spiffe://example/client")]
    );
    assert_eq!(f.not_after - f.not_before, 3650 * 86_400);
}

#[test]
fn text_around_the_pem_block_is_allowed() {
    let body = format!("Subject: fixture\nissued for the demo\n\n{FIXTURE_PEM}\ntrailing notes\n");
    assert!(read_one_certificate(body.as_bytes(), Encoding::Pem).is_ok());
}

fn refused(body: &[u8], encoding: Encoding) -> PkiError {
    read_one_certificate(body, encoding).expect_err("must be refused")
}

#[test]
fn private_keys_in_any_pem_form_are_refused_without_echo() {
    let pki_key = TestPki::self_signed(&LeafSpec::client("k")).key_pem;
    let body_of = |pem: &str| pem.lines().filter(|l| !l.starts_with("-----")).collect::<Vec<_>>().join("\n");
    let body = body_of(&pki_key);
    for label in ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY"] {
        let pem = format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n");
        let e = refused(pem.as_bytes(), Encoding::Pem);
        assert_eq!(e, PkiError::PrivateKey, "{label}");
        assert_eq!(e.code(), "private_key_not_certificate");
        assert!(!e.message().contains(&body[..20]), "the message echoes the key");
    }
    // Beside a valid certificate, the key still refuses the whole upload.
    let both = format!("{FIXTURE_PEM}{pki_key}");
    assert_eq!(refused(both.as_bytes(), Encoding::Pem), PkiError::PrivateKey);
}

#[test]
fn csr_several_certificates_garbage_and_trailing_bytes_are_refused() {
    let csr = TestPki::csr_pem("someone");
    assert_eq!(refused(csr.as_bytes(), Encoding::Pem), PkiError::CertificateRequest);

    let pki = TestPki::new();
    let chain = format!("{}{}", FIXTURE_PEM, pki.intermediate.cert_pem);
    assert_eq!(refused(chain.as_bytes(), Encoding::Pem), PkiError::MultipleCertificates(2));

    assert_eq!(refused(b"hello world", Encoding::Pem), PkiError::NoCertificate);
    assert_eq!(refused(b"   \n", Encoding::Pem), PkiError::Empty);
    assert_eq!(refused(b"", Encoding::Der), PkiError::Empty);
    assert_eq!(
        refused(b"-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n", Encoding::Pem),
        PkiError::MalformedPem
    );
    assert_eq!(refused(b"-----BEGIN CERTIFICATE-----\nMIIB\n", Encoding::Pem), PkiError::MalformedPem);
    assert!(matches!(
        refused(b"-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n", Encoding::Pem),
        PkiError::NotACertificate(_)
    ));
    let mut trailing = FIXTURE_DER.to_vec();
    trailing.extend_from_slice(b"\x00extra");
    assert_eq!(refused(&trailing, Encoding::Der), PkiError::TrailingData);
    assert!(matches!(refused(&FIXTURE_DER[..100], Encoding::Der), PkiError::NotACertificate(_)));
    assert!(matches!(refused(b"\x30\x03\x02\x01\x01", Encoding::Der), PkiError::NotACertificate(_)));
}

#[test]
fn encodings_are_sniffed() {
    assert_eq!(sniff_encoding(FIXTURE_DER), Encoding::Der);
    assert_eq!(sniff_encoding(FIXTURE_PEM.as_bytes()), Encoding::Pem);
}

#[test]
fn key_algorithms_are_named() {
    for (kind, name) in [
        (KeyKind::EcP256, "EC P-256"),
        (KeyKind::EcP384, "EC P-384"),
        (KeyKind::Rsa2048, "RSA 2048"),
        (KeyKind::Ed25519, "Ed25519"),
    ] {
        let leaf = TestPki::self_signed(&LeafSpec::client("k").key(kind));
        assert_eq!(parse_der(&leaf.der).unwrap().key_algorithm, name);
    }
}

#[test]
fn client_certificate_policy() {
    let pki = TestPki::new();
    let t = now();
    let facts = |issued: &certgate_testpki::Issued| parse_der(&issued.der).unwrap();

    let good = facts(&pki.leaf(&LeafSpec::client("good")));
    assert_eq!(client_auth_problem(&good, t), None);
    assert_eq!(validity_at(&good, t), Validity::Valid);

    let unrestricted = facts(&pki.leaf(&LeafSpec::client("any").usage(Usage::Unrestricted)));
    assert_eq!(unrestricted.extended_key_usage, None);
    assert_eq!(client_auth_problem(&unrestricted, t), None);

    let server_only = facts(&pki.leaf(&LeafSpec::client("srv").usage(Usage::ServerAuthOnly)));
    assert_eq!(client_auth_problem(&server_only, t), Some(ClientCertificateProblem::NoClientAuthUsage));

    let expired = facts(&pki.leaf(&LeafSpec::client("old").expired()));
    assert_eq!(client_auth_problem(&expired, t), Some(ClientCertificateProblem::Expired));
    assert_eq!(validity_at(&expired, t), Validity::Expired);

    let early = facts(&pki.leaf(&LeafSpec::client("new").not_yet_valid()));
    assert_eq!(client_auth_problem(&early, t), Some(ClientCertificateProblem::NotYetValid));

    let ca = facts(&pki.intermediate);
    assert!(ca.is_ca);
    assert_eq!(client_auth_problem(&ca, t), Some(ClientCertificateProblem::IsCa));
    assert!(!ca.self_issued);
    assert!(facts(&pki.root).self_issued);

    // What the handshake refuses, the policy refuses: an unknown critical extension, weak or
    // unsupported keys, SHA-1 signatures (openssl-made fixtures: rcgen cannot make them).
    let critical = facts(&pki.leaf(&LeafSpec::client("crit").with_unknown_critical_extension()));
    assert!(critical.tls_problem.as_deref().is_some_and(|p| p.contains("1.3.6.1.4.1.55555.1")), "{:?}", critical.tls_problem);
    assert_eq!(client_auth_problem(&critical, t), Some(ClientCertificateProblem::RefusedByTls));
    let p521 = facts(&pki.leaf(&LeafSpec::client("p521").key(KeyKind::EcP521)));
    assert_eq!((p521.key_algorithm.as_str(), client_auth_problem(&p521, t)), ("EC P-521", None));
    let pem_facts = |pem: &str| read_one_certificate(pem.as_bytes(), Encoding::Pem).unwrap().1;
    let rsa1024 = pem_facts(include_str!("../../tests/fixtures/rsa1024-client.pem"));
    assert_eq!((rsa1024.key_algorithm.as_str(), client_auth_problem(&rsa1024, t)), ("RSA 1024", Some(ClientCertificateProblem::WeakKey)));
    let sha1 = pem_facts(include_str!("../../tests/fixtures/sha1-client.pem"));
    assert_eq!(sha1.signature_algorithm, "1.2.840.10045.4.1");
    assert_eq!(client_auth_problem(&sha1, t), Some(ClientCertificateProblem::WeakSignature));
    assert_eq!(good.tls_problem, None);
    assert_eq!(good.key_usage.as_deref(), Some(&["digitalSignature".to_string()][..]));
    assert!(crate::pki::can_sign_certificates(&ca) && !crate::pki::can_sign_certificates(&good));
    assert!(crate::pki::can_identify_server(&server_only) && !crate::pki::can_identify_server(&good));

    // Boundaries: valid through not_after, from not_before.
    assert_eq!(validity_at(&good, good.not_after), Validity::Valid);
    assert_eq!(validity_at(&good, good.not_after + 1), Validity::Expired);
    assert_eq!(validity_at(&good, good.not_before - 1), Validity::NotYetValid);
}
