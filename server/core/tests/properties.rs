//! Property tests for the parsers that face the network or an upload: request paths, header
//! stripping, PEM/DER intake and JWT parsing. No input may panic; an accepted path never leaves
//! the prefix it was routed to, whatever an upstream does with it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

use certgate_core::gateway::headers::is_stripped;
use certgate_core::gateway::jwt::JwtVerifier;
use certgate_core::gateway::path::normalise_request_path;
use certgate_core::gateway::spec::{JwtKeySpec, JwtSpec};
use certgate_core::gateway::view::listen_path_matches;
use certgate_core::pki::{read_one_certificate, Encoding};
use proptest::prelude::*;

/// Pieces attackers combine: separators, dots, escapes of every kind, params, controls.
fn tricky_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/".to_string()),
        Just(".".to_string()),
        Just("..".to_string()),
        Just("%2e".to_string()),
        Just("%2E".to_string()),
        Just("%2f".to_string()),
        Just("%5c".to_string()),
        Just("\\".to_string()),
        Just(";".to_string()),
        Just("%".to_string()),
        Just("%25".to_string()),
        Just("%00".to_string()),
        Just("%41".to_string()),
        Just("~".to_string()),
        "[a-z]{1,3}",
        "%[0-9a-fA-F]{2}",
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

fn tricky_path() -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_piece(), 0..16).prop_map(|pieces| pieces.concat())
}

/// What a lenient upstream does: decode every escape once, turn `\` into `/`, merge slashes,
/// and resolve dot-segments (RFC 3986 §5.2.4), treating `;params` as part of the segment name.
fn lenient_upstream_view(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                decoded.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    let text = String::from_utf8_lossy(&decoded).replace('\\', "/");
    let mut out: Vec<&str> = Vec::new();
    for segment in text.split('/').filter(|s| !s.is_empty()) {
        match segment.split(';').next().unwrap_or(segment) {
            "." => {}
            ".." => {
                out.pop();
            }
            _ => out.push(segment),
        }
    }
    format!("/{}", out.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn paths_never_panic_and_accepted_paths_stay_in_their_prefix(suffix in tricky_path()) {
        let raw = format!("/api{suffix}");
        if let Ok(path) = normalise_request_path(&raw) {
            // Canonical: a second pass changes nothing.
            let again = normalise_request_path(&path);
            prop_assert_eq!(again.as_deref(), Ok(path.as_str()));
            if listen_path_matches("/api", &path) {
                let seen = lenient_upstream_view(&path);
                prop_assert!(seen == "/api" || seen.starts_with("/api/"), "{} -> {} -> {}", raw, path, seen);
            }
        }
    }

    #[test]
    fn arbitrary_text_paths_never_panic(raw in ".{0,64}") {
        let _ = normalise_request_path(&raw);
    }

    #[test]
    fn every_name_with_an_underscore_or_of_a_family_is_stripped(
        family in prop_oneof![
            Just("x-forwarded-tls-client-cert"), Just("x-ssl-"), Just("x-client-cert"),
            Just("ssl-client-"), Just("x-amzn-mtls-"),
        ],
        tail in "[a-z0-9-]{0,12}",
        underscored in "[a-z0-9-]{0,6}_[a-z0-9_-]{0,6}",
    ) {
        let name = format!("{}{}", family, tail);
        prop_assert!(is_stripped(&name, None, &[]));
        prop_assert!(is_stripped(&underscored, None, &[]));
    }

    #[test]
    fn certificate_intake_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_one_certificate(&bytes, Encoding::Der);
        let _ = read_one_certificate(&bytes, Encoding::Pem);
    }

    #[test]
    fn pem_intake_never_panics_and_never_accepts_a_private_key(
        before in ".{0,40}",
        label in prop_oneof![Just("CERTIFICATE"), Just("PRIVATE KEY"), Just("EC PRIVATE KEY"), Just("CERTIFICATE REQUEST"), Just("X")],
        body in "[A-Za-z0-9+/=\n: ]{0,120}",
        after in ".{0,40}",
    ) {
        let text = format!("{before}\n-----BEGIN {label}-----\n{body}\n-----END {label}-----\n{after}");
        let result = read_one_certificate(text.as_bytes(), Encoding::Pem);
        if label.contains("PRIVATE KEY") {
            prop_assert!(result.is_err());
        }
    }

    #[test]
    fn jwt_parsing_never_panics(
        header in "[A-Za-z0-9_-]{0,60}",
        payload in "[A-Za-z0-9_-]{0,80}",
        signature in "[A-Za-z0-9_-]{0,40}",
        raw in ".{0,80}",
    ) {
        let verifier = hmac_verifier();
        let _ = verifier.verify(&format!("{header}.{payload}.{signature}"), 1_700_000_000);
        let _ = verifier.verify(&raw, 1_700_000_000);
        // A well-formed header and payload with a junk signature is refused, never granted.
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let forged = format!("{}.{}.{signature}", b64(r#"{"alg":"HS256"}"#), b64(r#"{"sub":"x","exp":4000000000}"#));
        prop_assert!(verifier.verify(&forged, 1_700_000_000).is_err());
    }
}

fn hmac_verifier() -> JwtVerifier {
    let spec = JwtSpec {
        algorithms: vec!["HS256".into()],
        key: JwtKeySpec { hmac_secret: Some("0123456789abcdef0123456789abcdef".into()), ..Default::default() },
        issuer: None,
        audience: None,
        identity_claim: "sub".into(),
        plan_claim: None,
        leeway_seconds: 30,
    };
    JwtVerifier::new(&spec).expect("a valid spec")
}
