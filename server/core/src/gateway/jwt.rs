//! JWT verification for one API: pinned algorithms, one key family, `exp` required, `nbf`
//! checked, `iss`/`aud` when configured, keys only from the API (embedded `jwk`, `jku` and
//! `x5u` headers are ignored). Time checks use the `now` passed in, never the clock.

use std::str::FromStr;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::spec::{JwtSpec, SpecError};
use crate::UnixSeconds;

/// What a verified token says about its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtClaims {
    /// The identity claim's value (as text).
    pub identity: String,
    /// The plan claim's value, if the API maps one.
    pub plan: Option<String>,
    /// RFC 8705 `cnf.x5t#S256`: the certificate this token is bound to.
    pub bound_x5t_s256: Option<String>,
}

enum Keys {
    Single(DecodingKey),
    /// A JWKS: (kid, key); selection by the token's `kid`, or the only key when there is one.
    Set(Vec<(Option<String>, DecodingKey)>),
}

/// A compiled verifier for an API's JWT settings.
pub struct JwtVerifier {
    keys: Keys,
    validation: Validation,
    identity_claim: String,
    plan_claim: Option<String>,
    leeway: i64,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("JwtVerifier").field("algorithms", &self.validation.algorithms).finish_non_exhaustive()
    }
}

fn family_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => "hmac",
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 | Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512 => "rsa",
        Algorithm::ES256 | Algorithm::ES384 => "ec",
        Algorithm::EdDSA => "ed",
        // Algorithms added to jsonwebtoken later are not accepted until certgate knows them.
        _ => "unknown",
    }
}

impl JwtVerifier {
    pub fn new(spec: &JwtSpec) -> Result<JwtVerifier, SpecError> {
        let invalid = |m: String| SpecError::new("invalid_jwt_settings", m);
        if spec.algorithms.is_empty() {
            return Err(invalid("jwt.algorithms must pin at least one algorithm, e.g. [\"RS256\"].".into()));
        }
        let mut algorithms = Vec::new();
        for name in &spec.algorithms {
            // "none" is not an algorithm jsonwebtoken knows, so it is refused here too.
            let alg = Algorithm::from_str(name)
                .map_err(|_| invalid(format!("jwt.algorithms: {name:?} is not a supported algorithm (HS256/384/512, RS256/384/512, PS256/384/512, ES256/384, EdDSA).")))?;
            algorithms.push(alg);
        }
        let family = family_name(algorithms[0]);
        if family == "unknown" {
            return Err(invalid("jwt.algorithms holds an algorithm certgate does not support.".into()));
        }
        if algorithms.iter().any(|a| family_name(*a) != family) {
            return Err(invalid("jwt.algorithms must all use one key type (HMAC, RSA, EC or EdDSA).".into()));
        }
        let key = &spec.key;
        let keys = match (&key.hmac_secret, &key.public_key_pem, &key.jwks) {
            (Some(secret), None, None) => {
                if family != "hmac" {
                    return Err(invalid("An HMAC secret works only with HS256/384/512.".into()));
                }
                if secret.len() < 32 {
                    return Err(invalid("The HMAC secret must have at least 32 bytes.".into()));
                }
                Keys::Single(DecodingKey::from_secret(secret.as_bytes()))
            }
            (None, Some(pem), None) => {
                let pem = pem.as_bytes();
                let parsed = match family {
                    "rsa" => DecodingKey::from_rsa_pem(pem),
                    "ec" => DecodingKey::from_ec_pem(pem),
                    "ed" => DecodingKey::from_ed_pem(pem),
                    _ => return Err(invalid("HS algorithms need an HMAC secret, not a public key.".into())),
                };
                Keys::Single(parsed.map_err(|_| invalid(format!("public_key_pem is not a {family} public key in PEM."))
                )?)
            }
            (None, None, Some(jwks)) => {
                if family == "hmac" {
                    return Err(invalid("A JWKS works with public-key algorithms, not HS*.".into()));
                }
                // Never `{e}`: serde's messages quote the values they refuse, and this text is shown
                // back (and, after a plain form post, put in the address).
                let set: JwkSet = serde_json::from_value(jwks.clone())
                    .map_err(|_| invalid("jwks is not a JWKS document: it needs a \"keys\" array of JSON Web Keys.".into()))?;
                let mut keys = Vec::new();
                for jwk in &set.keys {
                    let decoding = DecodingKey::from_jwk(jwk).map_err(|_| invalid("a key in the JWKS is not usable (check its kty, its algorithm and its key parameters).".into()))?;
                    if family_name_of_key(&decoding) != family {
                        continue;
                    }
                    keys.push((jwk.common.key_id.clone(), decoding));
                }
                if keys.is_empty() {
                    return Err(invalid("The JWKS has no key of the pinned algorithms' type.".into()));
                }
                Keys::Set(keys)
            }
            _ => return Err(invalid("jwt.key needs exactly one of hmac_secret, public_key_pem or jwks.".into())),
        };
        if spec.identity_claim.trim().is_empty() {
            return Err(invalid("jwt.identity_claim must name a claim.".into()));
        }
        let mut validation = Validation::new(algorithms[0]);
        validation.algorithms = algorithms;
        // Time is checked below against the caller's `now`; jsonwebtoken would read the clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        // A configured issuer or audience is required, not only checked when present: a token
        // without it was not minted for this API.
        let mut required = vec!["exp"];
        if spec.issuer.is_some() {
            required.push("iss");
        }
        if spec.audience.is_some() {
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        match &spec.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &spec.issuer {
            validation.set_issuer(&[iss]);
        }
        Ok(JwtVerifier {
            keys,
            validation,
            identity_claim: spec.identity_claim.clone(),
            plan_claim: spec.plan_claim.clone(),
            leeway: spec.leeway_seconds as i64,
        })
    }

    /// Verifies a compact JWS. The error is a short reason for the problem's detail (never
    /// the token).
    pub fn verify(&self, token: &str, now: UnixSeconds) -> Result<JwtClaims, &'static str> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "the token is not a well-formed JWT")?;
        if !self.validation.algorithms.contains(&header.alg) {
            return Err("the token's algorithm is not the one this API accepts");
        }
        let key = match &self.keys {
            Keys::Single(key) => key,
            Keys::Set(keys) => match (&header.kid, keys.as_slice()) {
                (Some(kid), _) => keys
                    .iter()
                    .find(|(k, _)| k.as_deref() == Some(kid.as_str()))
                    .map(|(_, key)| key)
                    .ok_or("the token's key id (kid) is not in the API's key set")?,
                (None, [(_, only)]) => only,
                (None, _) => return Err("the token has no key id (kid) and the API has several keys"),
            },
        };
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature => "the token's signature is not valid",
                ErrorKind::InvalidAudience => "the token's audience (aud) is not this API's",
                ErrorKind::InvalidIssuer => "the token's issuer (iss) is not accepted",
                ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
                    "iss" => "the token has no issuer (iss)",
                    "aud" => "the token has no audience (aud)",
                    _ => "the token has no expiry (exp)",
                },
                ErrorKind::InvalidAlgorithm => "the token's algorithm is not the one this API accepts",
                _ => "the token is not valid",
            }
        })?;
        let claims = data.claims;
        let exp = claims.get("exp").and_then(Value::as_i64).ok_or("the token's expiry (exp) is not a number")?;
        if now > exp.saturating_add(self.leeway) {
            return Err("the token has expired");
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = nbf.as_i64().ok_or("the token's not-before (nbf) is not a number")?;
            if now < nbf.saturating_sub(self.leeway) {
                return Err("the token is not valid yet (nbf)");
            }
        }
        let identity = match claims.get(&self.identity_claim) {
            Some(Value::String(s)) if s.chars().any(|c| !c.is_whitespace() && !is_invisible(c)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err("the token lacks the identity claim"),
        };
        let plan = self.plan_claim.as_ref().and_then(|c| claims.get(c)).and_then(Value::as_str).map(str::to_string);
        let bound_x5t_s256 = match claims.get("cnf") {
            None => None,
            Some(cnf) => match cnf.get("x5t#S256") {
                Some(Value::String(t)) => Some(t.clone()),
                // A cnf this gateway cannot check must not be ignored.
                _ => return Err("the token's confirmation (cnf) is not a certificate thumbprint (x5t#S256)"),
            },
        };
        Ok(JwtClaims { identity, plan, bound_x5t_s256 })
    }
}

/// Format characters that render as nothing: an identity made only of them names no one.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

fn family_name_of_key(key: &DecodingKey) -> &'static str {
    use jsonwebtoken::AlgorithmFamily;
    match key.family() {
        AlgorithmFamily::Hmac => "hmac",
        AlgorithmFamily::Rsa => "rsa",
        AlgorithmFamily::Ec => "ec",
        AlgorithmFamily::Ed => "ed",
    }
}
