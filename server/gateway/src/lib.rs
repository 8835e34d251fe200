//! The mTLS gateway: per request, route → client certificate → credential → binding → rate
//! limit → proxy. The decision itself is `certgate_core::gateway::decide` (pure); this crate is
//! the I/O around it: the TLS listener, the per-connection verdict cache, the limiter state and
//! the proxy.

pub mod access_log;
pub mod generated;
pub mod limits;
pub mod listener;
pub mod metrics;
pub mod proxy;
pub mod quotas;
pub mod tls;
pub mod traffic;

use std::collections::HashMap;

use bytes::Bytes;
use certgate_core::gateway::Denial;
use certgate_core::problem::{Problem, PROBLEM_JSON};
use http_body_util::{BodyExt, Full};
use hyper::Response;

pub use proxy::Gateway;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type of every gateway response: a problem, or the upstream's streamed body.
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// mTLS verdicts of one connection, valid for one snapshot generation.
#[derive(Debug, Default)]
pub struct VerdictCache {
    generation: u64,
    /// api id -> (verdict, valid until Unix seconds).
    by_api: HashMap<String, (Result<(), Denial>, i64)>,
}

/// A problem+json response with the problem's status.
pub fn problem_response(problem: &Problem) -> Response<Body> {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed_unsync());
    *response.status_mut() =
        http::StatusCode::from_u16(problem.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// The one place a denial becomes an HTTP response: problem+json, and the challenge
/// RFC 6750 / RFC 8705 call for.
pub fn denial_response(denial: &Denial) -> Response<Body> {
    let mut response = problem_response(&denial.problem());
    // For metrics: which denial this response is.
    response.extensions_mut().insert(denial.kind);
    if let Some(challenge) = denial.kind.challenge() {
        response.headers_mut().insert(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static(challenge));
    }
    response
}
