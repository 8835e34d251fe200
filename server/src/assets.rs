//! The site's static files (wasm, js, css, favicon), embedded in the binary at build time.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use leptos::prelude::{provide_context, ArcStoredValue};
use leptos::WasmSplitManifest;

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
    let handler = leptos_axum::render_app_to_stream_with_context(provide_render_context, move || app::shell(options.clone()));
    handler(request).await.into_response()
}

/// The context every server render gets: the request's CSP nonce and the split-wasm manifest.
pub fn provide_render_context() {
    crate::security::provide_request_nonce();
    if let Some(manifest) = split_manifest() {
        provide_context(manifest.clone());
    }
}

/// Which wasm chunks each lazy route needs (`pkg/__wasm_split_manifest.json`, written by
/// `cargo leptos build --split`). Leptos reads it only from disk under the site root, which the
/// lone binary does not have; given from the embedded copy, the server adds a preload link for
/// each chunk of the page it renders, so the browser fetches them beside the main bundle rather
/// than after it. Without a manifest (an unsplit build) pages render without those links.
fn split_manifest() -> Option<&'static WasmSplitManifest> {
    static MANIFEST: OnceLock<Option<WasmSplitManifest>> = OnceLock::new();
    MANIFEST
        .get_or_init(|| {
            let file = Site::get("pkg/__wasm_split_manifest.json")?;
            let preloads: HashMap<String, Vec<String>> = serde_json::from_slice(&file.data).ok()?;
            // The same values leptos's HydrationScripts derives (hash-files is off).
            Some(WasmSplitManifest(ArcStoredValue::new(("/pkg".to_string(), preloads, "__wasm_split.______________________.js".to_string()))))
        })
        .as_ref()
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
