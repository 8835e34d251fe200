//! Which client-sent request headers never reach the upstream. Stripped by family, not by a
//! list of exact names: an upstream framework may trust any header that looks like a
//! verified client certificate, a routing override or a client address.

use super::spec::SpecError;

/// Exact names (lowercase): RFC 9440 and proxy conventions for the client certificate, and
/// headers that override routing or the client's address.
const STRIPPED_NAMES: &[&str] = &[
    "x-forwarded-client-cert",
    "client-cert",
    "client-cert-chain",
    "x-client-verify",
    "x-client-dn",
    "x-arr-clientcert",
    "x-original-url",
    "x-rewrite-url",
    "x-forwarded-prefix",
    "x-forwarded-host",
    "forwarded",
    "x-real-ip",
    "x-forwarded",
    "forwarded-for",
    "client-ip",
    "true-client-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "cf-connecting-ip",
    "fastly-client-ip",
    "x-proxyuser-ip",
    "x-host",
    "x-url-scheme",
    "front-end-https",
    "remote-user",
    "x-remote-user",
    "x-authenticated-user",
    "x-client-subject",
    "cert-subject",
];

/// Name prefixes (lowercase): Traefik, nginx/Apache `SSL_*` mapped to headers, AWS, Envoy, and
/// every `X-Forwarded-*` and `X-Original-*` (port, scheme, user, URI…): the gateway sets the
/// `X-Forwarded-*` it vouches for itself (`-For`, `-Proto`, `-Host`) after stripping.
const STRIPPED_PREFIXES: &[&str] =
    &["x-forwarded-", "x-original-", "x-envoy-", "x-tls-client-", "x-ssl-", "x-client-cert", "ssl-client-", "x-amzn-mtls-"];

/// A per-API pattern: an exact header name, or a prefix written with a trailing `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderPattern {
    Exact(String),
    Prefix(String),
}

impl HeaderPattern {
    /// Parses `x-internal-*` or `x-user`; names are compared in lowercase.
    pub fn parse(pattern: &str) -> Result<HeaderPattern, SpecError> {
        let lower = pattern.trim().to_ascii_lowercase();
        let (name, prefix) = match lower.strip_suffix('*') {
            Some(name) => (name.to_string(), true),
            None => (lower, false),
        };
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'+-.^_`|~".contains(&b);
        if name.is_empty() || name.len() > 64 || !name.bytes().all(token) {
            return Err(SpecError::new(
                "invalid_strip_header",
                "strip_request_headers holds header names (letters, digits, '-'), each optionally ending in '*' for a prefix.",
            ));
        }
        Ok(if prefix { HeaderPattern::Prefix(name) } else { HeaderPattern::Exact(name) })
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            HeaderPattern::Exact(exact) => name == exact,
            HeaderPattern::Prefix(prefix) => name.starts_with(prefix.as_str()),
        }
    }

    /// The pattern as written (`name` or `prefix*`).
    pub fn as_text(&self) -> String {
        match self {
            HeaderPattern::Exact(name) => name.clone(),
            HeaderPattern::Prefix(prefix) => format!("{prefix}*"),
        }
    }
}

/// Whether a client-sent header (its name in lowercase, as `http` keeps names) is dropped:
/// the families above, every name with `_` (CGI, WSGI, Rack and PHP map `X_Client_Verify` and
/// `X-Client-Verify` to one variable, as nginx knows), the API's identity header and the
/// API's own patterns.
pub fn is_stripped(name: &str, identity_header: Option<&str>, extra: &[HeaderPattern]) -> bool {
    name.contains('_')
        || STRIPPED_NAMES.contains(&name)
        || STRIPPED_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
        || identity_header.is_some_and(|h| h.eq_ignore_ascii_case(name))
        || extra.iter().any(|pattern| pattern.matches(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_stripped_and_ordinary_headers_kept() {
        let extra = [HeaderPattern::parse("X-Internal-*").unwrap(), HeaderPattern::parse("x-user").unwrap()];
        for name in [
            "x-forwarded-client-cert",
            "x-forwarded-tls-client-cert",
            "x-forwarded-tls-client-cert-info",
            "x-ssl-client-cert",
            "x-ssl-client-verify",
            "x-ssl-anything",
            "x-client-cert",
            "x-client-certificate",
            "x-client-verify",
            "x-client-dn",
            "ssl-client-cert",
            "ssl-client-verify",
            "client-cert",
            "client-cert-chain",
            "x-arr-clientcert",
            "x-amzn-mtls-clientcert",
            "x-amzn-mtls-clientcert-leaf",
            "x_client_verify",
            "x-client_verify",
            "ssl_client_s_dn",
            "x-original-url",
            "x-rewrite-url",
            "x-forwarded-prefix",
            "forwarded",
            "x-real-ip",
            "x-forwarded-host",
            "x-identity",
            "x-internal-role",
            "x-user",
        ] {
            assert!(is_stripped(name, Some("x-identity"), &extra), "{name} must be stripped");
        }
        for name in ["x-forwarded-port", "x-forwarded-user", "x-original-host", "x-envoy-original-path", "true-client-ip", "x-tls-client-cert"] {
            assert!(is_stripped(name, None, &[]), "{name} must be stripped");
        }
        for name in ["accept", "content-type", "x-request-id", "x-users", "authorization", "x-client"] {
            assert!(!is_stripped(name, Some("x-identity"), &extra), "{name} must be kept");
        }
    }

    #[test]
    fn patterns_are_validated() {
        assert_eq!(HeaderPattern::parse(" X-Foo* ").unwrap(), HeaderPattern::Prefix("x-foo".into()));
        assert_eq!(HeaderPattern::parse("x-foo").unwrap().as_text(), "x-foo");
        for bad in ["", "*", "x foo", "x:foo", "x-foo**", "é"] {
            assert!(HeaderPattern::parse(bad).is_err(), "{bad:?}");
        }
    }
}
