//! The site's static files (wasm, js, css, favicon), embedded in the binary at build time.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::router::AppState;

/// `target/site` as cargo-leptos leaves it. Build the front end before the server
/// (`make build` does): a missing folder embeds nothing rather than failing the build.
#[derive(rust_embed::RustEmbed)]
#[folder = "../target/site"]
#[allow_missing = true]
struct Site;

/// Serves an embedded file, or renders the portal's 404 page.
pub async fn serve_asset_or_not_found(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().trim_start_matches('/');
    if request.method() == http::Method::GET || request.method() == http::Method::HEAD {
        if let Some(file) = Site::get(path) {
            let mime = file.metadata.mimetype();
            let mut response = Body::from(file.data.into_owned()).into_response();
            if let Ok(v) = HeaderValue::from_str(mime) {
                response.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            // File names are not hashed (the lone binary must not need hash.txt): revalidate.
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", hex_of(&file.metadata.sha256_hash()))) {
                response.headers_mut().insert(header::ETAG, v);
            }
            return response;
        }
    }
    if request.method() != http::Method::GET {
        return crate::web::problem(StatusCode::NOT_FOUND, "not_found", "Not found", "There is nothing at this address.");
    }
    let options = state.leptos.clone();
    let handler = leptos_axum::render_app_to_stream_with_context(crate::security::provide_request_nonce, move || app::shell(options.clone()));
    handler(request).await.into_response()
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
