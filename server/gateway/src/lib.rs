//! The gateway listener and the accept loop shared with the portal listener.
//!
//! Until API definitions exist, the gateway answers every request with an RFC 9457 404.

pub mod listener;
pub mod tls;

use std::convert::Infallible;

use bytes::Bytes;
use certgate_core::problem::{Problem, PROBLEM_JSON};
use http_body_util::Full;
use hyper::{Request, Response};

/// A problem+json response with the problem's status.
pub fn problem_response(problem: &Problem) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        http::StatusCode::from_u16(problem.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// The gateway's request handler: no API is defined yet, so every path is unknown.
pub async fn handle<B>(_request: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(problem_response(&Problem::new(
        404,
        "api_not_found",
        "No API at this path",
        Some("No API is defined for this listen path.".to_string()),
    )))
}
