use std::collections::HashMap;

use base64::Engine;
use certgate_testpki::{Issued, KeyKind, LeafSpec, TestPki, Usage};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;

use super::chain::WebpkiChainCheck;
use super::spec::*;
use super::view::*;
use super::*;

fn now() -> UnixSeconds {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn api_spec(listen_path: &str, auth: AuthKind, allowed: &[&Issued]) -> ApiSpec {
    ApiSpec {
        name: "orders".into(),
        listen_path: listen_path.into(),
        upstream_url: "http://127.0.0.1:9000/".into(),
        upstream_ca: None,
        upstream_pin: None,
        strip_listen_path: true,
        auth,
        mtls: MtlsSpec { required: true, allowed_certificates: allowed.iter().map(|c| id_of(c)).collect() },
        jwt: None,
        timeouts: TimeoutsSpec::default(),
        identity_header: None,
        max_body_bytes: 1024,
        strip_request_headers: Vec::new(),
    }
}

fn id_of(c: &Issued) -> String {
    pki::parse_der(&c.der).unwrap().id
}

fn peer(chain: &[&Issued]) -> PeerCertificate {
    PeerCertificate::new(&chain.iter().map(|c| c.der.clone()).collect::<Vec<_>>()).unwrap()
}

struct World {
    view: GatewayView,
    keys: KeyMap,
}

impl World {
    fn new(apis: Vec<(&str, ApiSpec)>, keys: Vec<(&str, &str, KeySpec)>, certs: &[&Issued]) -> World {
        let certificates: HashMap<String, CertificateInput> = certs
            .iter()
            .map(|c| {
                let facts = pki::parse_der(&c.der).unwrap();
                (facts.id.clone(), CertificateInput { id: facts.id, is_ca: facts.is_ca, der: c.der.clone() })
            })
            .collect();
        let apis = apis.into_iter().map(|(id, spec)| ApiInput { id: id.into(), spec: spec.normalise().unwrap(), contributed_certificates: Vec::new() }).collect();
        let keys: KeyMap = keys
            .into_iter()
            .map(|(id, token, spec)| KeyView::build(KeyInput { id: id.into(), token_sha256: token_hash(token), spec, limits_key: None, owner: None }, &certificates))
            .collect();
        World { view: GatewayView::build(1, apis, &certificates), keys }
    }

    fn decide(&self, path: &str, peer: Option<&PeerCertificate>, bearer: Option<&str>) -> Result<Grant, Denial> {
        self.decide_at(path, peer, bearer, now())
    }

    fn decide_at(&self, path: &str, peer: Option<&PeerCertificate>, bearer: Option<&str>, at: UnixSeconds) -> Result<Grant, Denial> {
        let api = self.view.route(path).ok_or(Denial::new(DenialKind::ApiNotFound, ""))?;
        decide(&self.keys, api, peer, Presented { bearer }, at, &WebpkiChainCheck, None)
    }
}

fn code(result: Result<Grant, Denial>) -> &'static str {
    match result {
        Ok(_) => "granted",
        Err(d) => d.kind.code(),
    }
}

fn key(apis: &[&str], bound: Option<&[&Issued]>) -> KeySpec {
    KeySpec {
        apis: apis.iter().map(|s| s.to_string()).collect(),
        bound_certificates: bound.map(|b| b.iter().map(|c| id_of(c)).collect()),
        rate: None,
        quota: None,
        expires_at: None,
    }
}

#[test]
fn routing_uses_the_longest_listen_path_on_segment_boundaries() {
    let mut root = api_spec("/", AuthKind::None, &[]);
    root.mtls.required = false;
    let mut orders = api_spec("/orders/", AuthKind::None, &[]);
    orders.mtls.required = false;
    let mut history = api_spec("/orders/history", AuthKind::None, &[]);
    history.mtls.required = false;
    let world = World::new(vec![("root", root), ("orders", orders), ("history", history)], vec![], &[]);
    let routed = |p: &str| world.view.route(p).map(|a| a.id.clone());
    assert_eq!(routed("/orders").as_deref(), Some("orders"));
    assert_eq!(routed("/orders/1").as_deref(), Some("orders"));
    assert_eq!(routed("/ordersecret").as_deref(), Some("root"));
    assert_eq!(routed("/orders/history/2").as_deref(), Some("history"));
    assert_eq!(routed("/orders/historyx").as_deref(), Some("orders"));
    let only = World::new(vec![("orders", { let mut s = api_spec("/orders", AuthKind::None, &[]); s.mtls.required = false; s })], vec![], &[]);
    assert!(only.view.route("/ordersecret").is_none());
    assert!(only.view.route("/").is_none());
}

#[test]
fn upstream_path_strips_the_listen_path_when_asked() {
    let mut spec = api_spec("/orders/", AuthKind::None, &[]);
    spec.upstream_url = "http://127.0.0.1:9000/v1/".into();
    let world = World::new(vec![("a", spec.clone())], vec![], &[]);
    let api = world.view.route("/orders").unwrap();
    assert_eq!(upstream_path(api, "/orders/1?x=y"), "/v1/1?x=y");
    assert_eq!(upstream_path(api, "/orders"), "/v1/");
    assert_eq!(upstream_path(api, "/orders?q=1"), "/v1/?q=1");
    spec.strip_listen_path = false;
    let world = World::new(vec![("a", spec)], vec![], &[]);
    assert_eq!(upstream_path(world.view.route("/orders").unwrap(), "/orders/1"), "/v1/orders/1");
}

#[test]
fn the_mtls_step_follows_the_client_certificate_policy_and_the_allow_list() {
    let pki = TestPki::new();
    let pinned = pki.leaf(&LeafSpec::client("pinned"));
    let other = pki.leaf(&LeafSpec::client("other"));
    let twin = TestPki::self_signed(&LeafSpec::client("pinned"));
    let expired = pki.leaf(&LeafSpec::client("expired").expired());
    let not_yet = pki.leaf(&LeafSpec::client("later").not_yet_valid());
    let server_only = pki.leaf(&LeafSpec::client("server").usage(Usage::ServerAuthOnly));
    let no_eku = pki.leaf(&LeafSpec::client("any").usage(Usage::Unrestricted).key(KeyKind::Ed25519));
    let other_pki = TestPki::new();
    let foreign = other_pki.leaf(&LeafSpec::client("foreign"));

    let pins = World::new(
        vec![("a", api_spec("/a", AuthKind::None, &[&pinned, &expired, &not_yet, &server_only, &no_eku]))],
        vec![],
        &[&pinned, &expired, &not_yet, &server_only, &no_eku],
    );
    assert_eq!(code(pins.decide("/a", None, None)), "client_certificate_required");
    assert_eq!(code(pins.decide("/a", Some(&peer(&[&pinned])), None)), "granted");
    assert_eq!(code(pins.decide("/a", Some(&peer(&[&no_eku])), None)), "granted");
    assert_eq!(code(pins.decide("/a", Some(&peer(&[&other])), None)), "client_certificate_not_allowed");
    assert_eq!(code(pins.decide("/a", Some(&peer(&[&twin])), None)), "client_certificate_not_allowed");
    assert_eq!(code(pins.decide("/a", Some(&peer(&[&expired])), None)), "client_certificate_expired");
    assert_eq!(code(pins.decide("/a", Some(&peer(&[&not_yet])), None)), "client_certificate_not_yet_valid");
    assert_eq!(code(pins.decide("/a", Some(&peer(&[&server_only])), None)), "client_certificate_unusable");
    // A pin is a hash, never a trust anchor: a leaf "under" a pinned leaf gets nothing.
    assert_eq!(code(pins.decide("/a", Some(&peer(&[&pki.intermediate])), None)), "client_certificate_unusable");
    // Garbage as a leaf.
    let garbage = PeerCertificate::new(&[b"not a certificate".to_vec()]).unwrap();
    assert_eq!(code(pins.decide("/a", Some(&garbage), None)), "client_certificate_unusable");

    // CA entries: the root; leaves chain through the intermediate the client sends.
    let cas = World::new(vec![("a", api_spec("/a", AuthKind::None, &[&pki.root]))], vec![], &[&pki.root]);
    assert_eq!(code(cas.decide("/a", Some(&peer(&[&other, &pki.intermediate])), None)), "granted");
    assert_eq!(code(cas.decide("/a", Some(&peer(&[&other])), None)), "client_certificate_not_allowed");
    assert_eq!(code(cas.decide("/a", Some(&peer(&[&foreign, &other_pki.intermediate])), None)), "client_certificate_not_allowed");
    assert_eq!(code(cas.decide("/a", Some(&peer(&[&pki.intermediate])), None)), "client_certificate_unusable");
    assert_eq!(code(cas.decide("/a", Some(&peer(&[&expired, &pki.intermediate])), None)), "client_certificate_expired");
    // The intermediate as the CA entry: no extra certificate needed.
    let inter = World::new(vec![("a", api_spec("/a", AuthKind::None, &[&pki.intermediate]))], vec![], &[&pki.intermediate]);
    assert_eq!(code(inter.decide("/a", Some(&peer(&[&other])), None)), "granted");
    // The same leaf a year later: expired, even though it chains.
    assert_eq!(code(inter.decide_at("/a", Some(&peer(&[&other])), None, now() + 400 * 86_400)), "client_certificate_expired");

    // mTLS off: no certificate needed.
    let mut open = api_spec("/a", AuthKind::None, &[]);
    open.mtls.required = false;
    let open = World::new(vec![("a", open)], vec![], &[]);
    let grant = open.decide("/a", None, None).unwrap();
    assert_eq!(grant.certificate_id, None);
}

#[test]
fn auth_tokens_and_certificate_binding() {
    let pki = TestPki::new();
    let a = pki.leaf(&LeafSpec::client("a"));
    let b = pki.leaf(&LeafSpec::client("b"));
    let certs = [&a, &b, &pki.root];
    let world = World::new(
        vec![
            ("orders", api_spec("/orders", AuthKind::AuthToken, &[&a, &b])),
            ("billing", api_spec("/billing", AuthKind::AuthToken, &[&a, &b])),
            ("open", { let mut s = api_spec("/open", AuthKind::AuthToken, &[]); s.mtls.required = false; s }),
        ],
        vec![
            ("k-bound-a", "cgk_bound_a", key(&["orders", "open"], Some(&[&a]))),
            ("k-free", "cgk_free", key(&["orders"], None)),
            ("k-empty", "cgk_empty", key(&["orders"], Some(&[]))),
            ("k-ca", "cgk_ca", key(&["orders"], Some(&[&pki.root]))),
            ("k-expired", "cgk_expired", KeySpec { expires_at: Some(now() - 1), ..key(&["orders"], None) }),
        ],
        &certs,
    );
    let pa = peer(&[&a, &pki.intermediate]);
    let pb = peer(&[&b, &pki.intermediate]);
    assert_eq!(code(world.decide("/orders", Some(&pa), None)), "credential_missing");
    assert_eq!(code(world.decide("/orders", Some(&pa), Some("cgk_nope"))), "credential_invalid");
    let granted = world.decide("/orders/1", Some(&pa), Some("cgk_bound_a")).unwrap();
    assert_eq!(granted.key_id.as_deref(), Some("k-bound-a"));
    assert_eq!(granted.certificate_id, Some(id_of(&a)));
    assert_eq!(code(world.decide("/orders", Some(&pb), Some("cgk_bound_a"))), "certificate_binding_mismatch");
    assert_eq!(code(world.decide("/orders", Some(&pb), Some("cgk_free"))), "granted");
    assert_eq!(code(world.decide("/orders", Some(&pa), Some("cgk_empty"))), "certificate_binding_mismatch");
    assert_eq!(code(world.decide("/orders", Some(&pb), Some("cgk_ca"))), "granted");
    assert_eq!(code(world.decide("/orders", Some(&peer(&[&b])), Some("cgk_ca"))), "certificate_binding_mismatch");
    assert_eq!(code(world.decide("/orders", Some(&pa), Some("cgk_expired"))), "credential_invalid");
    assert_eq!(code(world.decide("/billing", Some(&pa), Some("cgk_bound_a"))), "api_not_granted");
    // A bound token on an API without mTLS still needs its certificate.
    assert_eq!(code(world.decide("/open", None, Some("cgk_bound_a"))), "certificate_binding_mismatch");
    assert_eq!(code(world.decide("/open", Some(&pa), Some("cgk_bound_a"))), "granted");
    // The certificate check comes first: no token detail leaks to a caller without a certificate.
    assert_eq!(code(world.decide("/orders", None, Some("cgk_bound_a"))), "client_certificate_required");
}

#[test]
fn a_binding_restricts_a_credential_and_never_widens_the_allow_list() {
    let pki = TestPki::new();
    let admin_pinned = pki.leaf(&LeafSpec::client("admin"));
    let from_key = pki.leaf(&LeafSpec::client("portal"));
    let world = World::new(
        vec![("orders", api_spec("/orders", AuthKind::AuthToken, &[&admin_pinned]))],
        vec![("k", "cgk_k", key(&["orders"], Some(&[&from_key])))],
        &[&admin_pinned, &from_key],
    );
    assert_eq!(code(world.decide("/orders", Some(&peer(&[&from_key])), Some("cgk_k"))), "client_certificate_not_allowed");
    assert_eq!(code(world.decide("/orders", Some(&peer(&[&admin_pinned])), Some("cgk_k"))), "certificate_binding_mismatch");
}

fn jwt_api(spec: JwtSpec, allowed: &[&Issued]) -> ApiSpec {
    ApiSpec { jwt: Some(spec), ..api_spec("/jwt", AuthKind::Jwt, allowed) }
}

fn jwt_spec(algorithms: &[&str], key: JwtKeySpec) -> JwtSpec {
    JwtSpec {
        algorithms: algorithms.iter().map(|s| s.to_string()).collect(),
        key,
        issuer: Some("https://issuer.example".into()),
        audience: Some("orders".into()),
        identity_claim: "sub".into(),
        plan_claim: Some("plan".into()),
        leeway_seconds: 30,
    }
}

#[test]
fn jwt_checks_algorithm_signature_time_audience_issuer_and_cnf() {
    let pki = TestPki::new();
    let a = pki.leaf(&LeafSpec::client("a"));
    let b = pki.leaf(&LeafSpec::client("b"));
    let signing = KeyKind::EcP256.generate();
    let spec = jwt_spec(&["ES256"], JwtKeySpec { public_key_pem: Some(signing.public_key_pem()), ..Default::default() });
    let world = World::new(vec![("jwt", jwt_api(spec, &[&a, &b]))], vec![], &[&a, &b]);
    let ec_key = EncodingKey::from_ec_pem(signing.serialize_pem().as_bytes()).unwrap();
    let t = now();
    let base = json!({"sub": "client-7", "iss": "https://issuer.example", "aud": "orders", "exp": t + 300, "plan": "gold"});
    let sign = |claims: &serde_json::Value| encode(&Header::new(Algorithm::ES256), claims, &ec_key).unwrap();
    let with = |k: &str, v: serde_json::Value| {
        let mut c = base.clone();
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v;
        }
        c
    };
    let pa = peer(&[&a]);
    let pb = peer(&[&b]);

    let grant = world.decide("/jwt", Some(&pa), Some(&sign(&base))).unwrap();
    assert_eq!(grant.jwt_identity.as_deref(), Some("client-7"));
    assert_eq!(grant.jwt_plan.as_deref(), Some("gold"));
    assert_eq!(code(world.decide("/jwt", Some(&pa), None)), "credential_missing");
    assert_eq!(code(world.decide("/jwt", Some(&pa), Some(&sign(&with("exp", json!(t - 31)))))), "credential_invalid");
    assert_eq!(code(world.decide("/jwt", Some(&pa), Some(&sign(&with("exp", json!(t - 10)))))), "granted", "inside the leeway");
    assert_eq!(code(world.decide("/jwt", Some(&pa), Some(&sign(&with("exp", json!(null)))))), "credential_invalid");
    assert_eq!(code(world.decide("/jwt", Some(&pa), Some(&sign(&with("nbf", json!(t + 120)))))), "credential_invalid");
    assert_eq!(code(world.decide("/jwt", Some(&pa), Some(&sign(&with("aud", json!("billing")))))), "credential_invalid");
    assert_eq!(code(world.decide("/jwt", Some(&pa), Some(&sign(&with("iss", json!("https://evil.example")))))), "credential_invalid");
    assert_eq!(code(world.decide("/jwt", Some(&pa), Some(&sign(&with("sub", json!(null)))))), "credential_invalid");
    // Configured claims are required, not only checked when present.
    let no_aud = world.decide("/jwt", Some(&pa), Some(&sign(&with("aud", json!(null))))).unwrap_err();
    assert_eq!((no_aud.kind, no_aud.detail.contains("no audience")), (DenialKind::CredentialInvalid, true));
    let no_iss = world.decide("/jwt", Some(&pa), Some(&sign(&with("iss", json!(null))))).unwrap_err();
    assert_eq!((no_iss.kind, no_iss.detail.contains("no issuer")), (DenialKind::CredentialInvalid, true));
    assert_eq!(code(world.decide("/jwt", Some(&pa), Some(&sign(&with("sub", json!("")))))), "credential_invalid");
    assert_eq!(code(world.decide("/jwt", Some(&pa), Some(&sign(&with("sub", json!("  ")))))), "credential_invalid");
    assert_eq!(code(world.decide("/jwt", Some(&pa), Some(&sign(&with("sub", json!("\u{200b}\u{feff}")))))), "credential_invalid");
    assert_eq!(code(world.decide("/jwt", Some(&pa), Some(&sign(&with("aud", json!(["orders", "x"])))))), "granted");

    // alg "none": header {"alg":"none"}, no signature.
    let b64 = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let none_token = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&base));
    let denial = world.decide("/jwt", Some(&pa), Some(&none_token)).unwrap_err();
    assert_eq!(denial.kind, DenialKind::CredentialInvalid);
    assert!(!denial.detail.contains(&none_token), "never echo the token");
    // Another key of the right type.
    let stranger = KeyKind::EcP256.generate();
    let forged = encode(&Header::new(Algorithm::ES256), &base, &EncodingKey::from_ec_pem(stranger.serialize_pem().as_bytes()).unwrap()).unwrap();
    assert_eq!(code(world.decide("/jwt", Some(&pa), Some(&forged))), "credential_invalid");
    // A jwk embedded in the header is ignored (the forged token stays forged).
    let mut header = Header::new(Algorithm::ES256);
    header.jku = Some("https://evil.example/jwks".into());
    let forged_jku = encode(&header, &base, &EncodingKey::from_ec_pem(stranger.serialize_pem().as_bytes()).unwrap()).unwrap();
    assert_eq!(code(world.decide("/jwt", Some(&pa), Some(&forged_jku))), "credential_invalid");

    // RFC 8705 binding: cnf.x5t#S256 names certificate a.
    let x5t = pki::parse_der(&a.der).unwrap().x5t_s256;
    let bound = sign(&with("cnf", json!({"x5t#S256": x5t})));
    assert_eq!(code(world.decide("/jwt", Some(&pa), Some(&bound))), "granted");
    assert_eq!(code(world.decide("/jwt", Some(&pb), Some(&bound))), "certificate_binding_mismatch");
    let odd_cnf = sign(&with("cnf", json!({"jkt": "abc"})));
    assert_eq!(code(world.decide("/jwt", Some(&pa), Some(&odd_cnf))), "credential_invalid");
}

#[test]
fn jwt_hs256_signed_with_the_rsa_public_key_is_refused() {
    let rsa = KeyKind::Rsa2048.generate();
    let public_pem = rsa.public_key_pem();
    let mut spec = jwt_spec(&["RS256"], JwtKeySpec { public_key_pem: Some(public_pem.clone()), ..Default::default() });
    spec.audience = None;
    spec.issuer = None;
    let mut api = jwt_api(spec, &[]);
    api.mtls.required = false;
    let world = World::new(vec![("jwt", api)], vec![], &[]);
    let claims = json!({"sub": "x", "exp": now() + 60});
    let good = encode(&Header::new(Algorithm::RS256), &claims, &EncodingKey::from_rsa_pem(rsa.serialize_pem().as_bytes()).unwrap()).unwrap();
    assert_eq!(code(world.decide("/jwt", None, Some(&good))), "granted");
    let confused = encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(public_pem.as_bytes())).unwrap();
    assert_eq!(code(world.decide("/jwt", None, Some(&confused))), "credential_invalid");
}

#[test]
fn jwt_settings_are_checked_when_written() {
    let err = |spec: JwtSpec| JwtVerifier::new(&spec).unwrap_err().code;
    use super::jwt::JwtVerifier;
    let secret = JwtKeySpec { hmac_secret: Some("0123456789abcdef0123456789abcdef".into()), ..Default::default() };
    assert!(JwtVerifier::new(&jwt_spec(&["HS256"], secret.clone())).is_ok());
    assert_eq!(err(jwt_spec(&["none"], secret.clone())), "invalid_jwt_settings");
    assert_eq!(err(jwt_spec(&["HS256", "RS256"], secret.clone())), "invalid_jwt_settings");
    assert_eq!(err(jwt_spec(&["RS256"], secret.clone())), "invalid_jwt_settings");
    assert_eq!(err(jwt_spec(&["HS256"], JwtKeySpec { hmac_secret: Some("short".into()), ..Default::default() })), "invalid_jwt_settings");
    assert_eq!(err(jwt_spec(&["ES256"], JwtKeySpec { public_key_pem: Some("garbage".into()), ..Default::default() })), "invalid_jwt_settings");
    assert_eq!(err(jwt_spec(&["ES256"], JwtKeySpec::default())), "invalid_jwt_settings");
    let ec = KeyKind::EcP256.generate();
    let jwk = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1",
        "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&ec.public_key_raw()[1..33]),
        "y": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&ec.public_key_raw()[33..65])}]});
    let verifier = JwtVerifier::new(&jwt_spec(&["ES256"], JwtKeySpec { jwks: Some(jwk), ..Default::default() })).unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("k1".into());
    let claims = json!({"sub": "x", "exp": now() + 60, "iss": "https://issuer.example", "aud": "orders"});
    let token = encode(&header, &claims, &EncodingKey::from_ec_pem(ec.serialize_pem().as_bytes()).unwrap()).unwrap();
    assert_eq!(verifier.verify(&token, now()).unwrap().identity, "x");
    header.kid = Some("k2".into());
    let token = encode(&header, &claims, &EncodingKey::from_ec_pem(ec.serialize_pem().as_bytes()).unwrap()).unwrap();
    assert!(verifier.verify(&token, now()).is_err());
}

#[test]
fn api_specs_are_validated_and_normalised() {
    let base = api_spec("/orders/", AuthKind::AuthToken, &[]);
    assert_eq!(base.clone().normalise().unwrap().listen_path, "/orders");
    let bad_path = |p: &str| ApiSpec { listen_path: p.into(), ..base.clone() }.normalise().unwrap_err().code;
    for p in ["orders", "/a b", "/a/../b", "/a?x", "//a", "/a%2f"] {
        assert_eq!(bad_path(p), "invalid_listen_path", "{p}");
    }
    let bad_upstream = |u: &str| ApiSpec { upstream_url: u.into(), ..base.clone() }.normalise().unwrap_err().code;
    for u in ["ftp://x/", "127.0.0.1:9000", "http://user:pw@x/", "http://x/?a=b", "not a url"] {
        assert_eq!(bad_upstream(u), "invalid_upstream_url", "{u}");
    }
    let up = Upstream::parse("https://api.example/v1/").unwrap();
    assert_eq!((up.https, up.authority.as_str(), up.base_path.as_str()), (true, "api.example:443", "/v1"));
    assert_eq!(
        ApiSpec { auth: AuthKind::Jwt, ..base.clone() }.normalise().unwrap_err().code,
        "jwt_settings_missing"
    );
    let mut ids = base.clone();
    ids.mtls.allowed_certificates = vec!["zz".into()];
    assert_eq!(ids.normalise().unwrap_err().code, "invalid_certificate_id");
    let minimal: ApiSpec = serde_json::from_value(json!({
        "name": "orders", "listen_path": "/orders/", "upstream_url": "http://127.0.0.1:9000/", "auth": "auth_token",
        "mtls": {"required": true, "allowed_certificates": []}
    }))
    .unwrap();
    assert!(minimal.strip_listen_path);
    assert!(serde_json::from_value::<ApiSpec>(json!({"name": "x", "listen_path": "/x", "upstream_url": "http://x/", "auth": "none", "typo": 1})).is_err());
}

#[test]
fn bearer_tokens_are_read_from_the_authorization_header() {
    assert_eq!(bearer_token(Some("Bearer abc")), Some("abc"));
    assert_eq!(bearer_token(Some("bearer  abc ")), Some("abc"));
    assert_eq!(bearer_token(Some("Basic abc")), None);
    assert_eq!(bearer_token(Some("Bearer ")), None);
    assert_eq!(bearer_token(None), None);
}

#[test]
fn explain_names_each_check_and_goes_on_after_a_failure() {
    let pki = TestPki::new();
    let a = pki.leaf(&LeafSpec::client("a"));
    let b = pki.leaf(&LeafSpec::client("b"));
    let world = World::new(
        vec![("orders", api_spec("/orders", AuthKind::AuthToken, &[&a]))],
        vec![("k", "cgk_k", KeySpec { rate: Some(Rate { requests: 5, per_seconds: 1 }), ..key(&["orders"], Some(&[&a])) })],
        &[&a, &b],
    );
    let api = world.view.route("/orders").unwrap();
    let run = |peer: Option<&PeerCertificate>, bearer: Option<&str>| {
        let (granted, steps) = explain(&world.keys, api, peer, Presented { bearer }, now(), &WebpkiChainCheck);
        (granted, steps.iter().map(|s| (s.step, s.outcome, s.code.unwrap_or(""))).collect::<Vec<_>>())
    };
    let (granted, steps) = run(Some(&peer(&[&a])), Some("cgk_k"));
    assert!(granted);
    assert!(steps.iter().all(|s| s.1 == "pass"), "{steps:?}");
    let (granted, steps) = run(Some(&peer(&[&b])), Some("cgk_k"));
    assert!(!granted);
    assert_eq!(steps[0], ("client_certificate", "fail", "client_certificate_not_allowed"));
    assert_eq!(steps[2], ("binding", "fail", "certificate_binding_mismatch"));
    let (_, steps) = run(None, None);
    assert_eq!(steps[1], ("credential", "fail", "credential_missing"));
    assert_eq!(steps[2].1, "not_checked");
}

#[test]
fn portal_contributions_widen_the_allow_list_and_limits_count_by_the_limits_key() {
    let pki = TestPki::new();
    let admins = pki.leaf(&LeafSpec::client("admin's"));
    let contributed = pki.leaf(&LeafSpec::client("portal's"));
    let stranger = pki.leaf(&LeafSpec::client("stranger"));
    let certificates: HashMap<String, CertificateInput> = [&admins, &contributed, &stranger]
        .iter()
        .map(|c| {
            let facts = pki::parse_der(&c.der).unwrap();
            (facts.id.clone(), CertificateInput { id: facts.id, is_ca: facts.is_ca, der: c.der.clone() })
        })
        .collect();
    let spec = api_spec("/orders", AuthKind::None, &[&admins]).normalise().unwrap();
    let view = GatewayView::build(
        1,
        vec![ApiInput { id: "orders".into(), spec, contributed_certificates: vec![id_of(&contributed), "0".repeat(64)] }],
        &certificates,
    );
    let api = view.route("/orders").unwrap();
    let check = |c: &Issued| check_client_certificate(api, Some(&peer(&[c])), now(), &WebpkiChainCheck).map_err(|d| d.kind);
    assert_eq!(check(&admins), Ok(()));
    assert_eq!(check(&contributed), Ok(()), "the portal's certificate joins the admin's entries");
    assert_eq!(check(&stranger), Err(DenialKind::ClientCertificateNotAllowed));

    let (digest, key) = KeyView::build(
        KeyInput { id: "key_1".into(), token_sha256: token_hash("cgk_t"), spec: KeySpec { apis: vec!["orders".into()], bound_certificates: None, rate: None, quota: None, expires_at: None }, limits_key: None, owner: None },
        &certificates,
    );
    assert_eq!(key.limits_key().to_string(), "key_1", "an admin key counts by its own id");
    let mut portal = Arc::try_unwrap(key).unwrap();
    portal.limits_key = Some("sub_1".into());
    assert_eq!(portal.limits_key().to_string(), "sub_1");
    let keys: KeyMap = [(digest, Arc::new(portal))].into_iter().collect();
    let token_api = api_spec("/t", AuthKind::AuthToken, &[&admins]).normalise().unwrap();
    let view = GatewayView::build(2, vec![ApiInput { id: "orders".into(), spec: token_api, contributed_certificates: Vec::new() }], &certificates);
    let grant = decide(&keys, view.route("/t").unwrap(), Some(&peer(&[&admins])), Presented { bearer: Some("cgk_t") }, now(), &WebpkiChainCheck, None).unwrap();
    assert_eq!(grant.limits_key.as_deref(), Some("sub_1"));
}

#[test]
fn a_portal_key_grants_with_its_app_and_organisation_shared_between_its_entries() {
    let pki = TestPki::new();
    let client = pki.leaf(&LeafSpec::client("client"));
    let certificates: HashMap<String, CertificateInput> = HashMap::new();
    let mut lists = ApiLists::default();
    let input = |token: &str, app: &str| KeyInput {
        id: "crd_00000000000000000000000000000001".into(),
        token_sha256: token_hash(token),
        spec: KeySpec { apis: vec!["orders".into()], bound_certificates: None, rate: None, quota: None, expires_at: None },
        limits_key: Some("sub_1".into()),
        owner: Some((app.into(), "org_00000000000000000000000000000002".into())),
    };
    let (current, a) = KeyView::build_sharing(input("cgk_current", "app_00000000000000000000000000000003"), &certificates, &mut lists);
    let (previous, b) = KeyView::build_sharing(input("cgk_previous", "app_00000000000000000000000000000003"), &certificates, &mut lists);
    let (_, other_app) = KeyView::build_sharing(input("cgk_other", "app_00000000000000000000000000000004"), &certificates, &mut lists);
    assert!(Arc::ptr_eq(a.owner.as_ref().unwrap(), b.owner.as_ref().unwrap()), "one owner per app, not per token");
    assert!(!Arc::ptr_eq(a.owner.as_ref().unwrap(), other_app.owner.as_ref().unwrap()));

    let keys: KeyMap = [(current, a), (previous, b)].into_iter().collect();
    let spec = api_spec("/orders", AuthKind::AuthToken, &[&client]).normalise().unwrap();
    let mtls_certs: HashMap<String, CertificateInput> =
        [(id_of(&client), CertificateInput { id: id_of(&client), is_ca: false, der: client.der.clone() })].into_iter().collect();
    let view = GatewayView::build(1, vec![ApiInput { id: "orders".into(), spec, contributed_certificates: Vec::new() }], &mtls_certs);
    let grant = decide(&keys, view.route("/orders").unwrap(), Some(&peer(&[&client])), Presented { bearer: Some("cgk_previous") }, now(), &WebpkiChainCheck, None).unwrap();
    let owner = grant.owner.unwrap();
    assert_eq!((owner.app.to_string(), owner.organisation.to_string()), ("app_00000000000000000000000000000003".into(), "org_00000000000000000000000000000002".into()));
}
