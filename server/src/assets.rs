//! The site's static files (wasm, js, css, favicon), embedded in the binary at build time, with
//! the brotli and gzip copies `scripts/compress-site.mjs` made of them.
//!
//! Caching: `pkg/<stem>.<hash>.<ext>` serves `pkg/<stem>.<ext>` when `<hash>` is the first 12
//! hex digits of its SHA-256 (rust-embed computes it at compile time), as immutable for a year;
//! the page names the main wasm and the stylesheet that way, and the split loader its chunks.
//! Every other file (the JS modules keep their names: the loader imports `./certgate.js`) is
//! `no-cache` with a strong ETag, answered with 304 when it has not changed. HTML is `no-cache`.

use std::borrow::Cow;
use std::sync::OnceLock;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};


/// `target/site` as cargo-leptos leaves it. Build the front end before the server
/// (`make build` does): a missing folder embeds nothing rather than failing the build.
#[derive(rust_embed::RustEmbed)]
#[folder = "../target/site"]
#[allow_missing = true]
struct Site;

/// Hex digits of a content hash in an asset's name.
const HASH_LEN: usize = 12;
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The addresses under which the page loads the main wasm and the stylesheet.
pub fn site_assets() -> &'static app::SiteAssets {
    static ASSETS: OnceLock<app::SiteAssets> = OnceLock::new();
    ASSETS.get_or_init(|| app::SiteAssets {
        wasm: hashed_url("pkg/certgate.wasm"),
        script: hashed_url("pkg/certgate.js"),
        stylesheet: hashed_url("pkg/certgate.css"),
    })
}

/// `/pkg/certgate.<hash>.wasm` for `pkg/certgate.wasm`; the plain address when it is not embedded.
fn hashed_url(path: &str) -> String {
    match (Site::get(path), path.rsplit_once('.')) {
        (Some(file), Some((stem, ext))) => format!("/{stem}.{}.{ext}", &hex_of(&file.metadata.sha256_hash())[..HASH_LEN]),
        _ => format!("/{path}"),
    }
}

/// Serves an embedded file, or renders the portal's 404 page.
pub async fn serve_asset_or_not_found(request: Request) -> Response {
    let path = request.uri().path().trim_start_matches('/');
    if request.method() == http::Method::GET || request.method() == http::Method::HEAD {
        if let Some(response) = asset_response(path, request.headers()) {
            return response;
        }
    }
    if request.method() != http::Method::GET {
        return crate::web::problem(StatusCode::NOT_FOUND, "not_found", "Not found", "There is nothing at this address.");
    }
    let handler = leptos_axum::render_app_to_stream_with_context(crate::security::provide_request_nonce, move || app::shell(site_assets()));
    handler(request).await.into_response()
}

/// The response for a file of the site, or `None` when there is no such file (the compressed
/// copies are not addressable themselves).
fn asset_response(path: &str, request: &HeaderMap) -> Option<Response> {
    if path.ends_with(".br") || path.ends_with(".gz") {
        return None;
    }
    let (name, claimed_hash) = match Site::get(path) {
        Some(_) => (path.to_string(), None),
        None => {
            let (name, hash) = unhashed(path)?;
            (name, Some(hash))
        }
    };
    let file = Site::get(&name)?;
    let digest = hex_of(&file.metadata.sha256_hash());
    // A hashed address is served (and cached for a year) only with the file's own hash.
    if claimed_hash.is_some_and(|hash| hash != &digest[..HASH_LEN]) {
        return None;
    }
    let immutable = claimed_hash.is_some();
    let (encoding, data) = match preferred_encoding(request) {
        Some(encoding) => match Site::get(&format!("{name}.{}", encoding.suffix)) {
            Some(compressed) => (Some(encoding), compressed.data),
            None => (None, file.data),
        },
        None => (None, file.data),
    };
    // A strong ETag names one representation: the encoding is part of it.
    let etag = format!("\"{digest}{}\"", encoding.map(|e| e.etag_suffix).unwrap_or(""));
    let mut headers = HeaderMap::new();
    insert(&mut headers, header::CONTENT_TYPE, file.metadata.mimetype());
    insert(&mut headers, header::CACHE_CONTROL, if immutable { IMMUTABLE } else { "no-cache" });
    insert(&mut headers, header::ETAG, &etag);
    insert(&mut headers, header::VARY, "Accept-Encoding");
    if let Some(encoding) = encoding {
        insert(&mut headers, header::CONTENT_ENCODING, encoding.name);
    }
    if etag_matches(request, &etag) {
        headers.remove(header::CONTENT_TYPE);
        headers.remove(header::CONTENT_ENCODING);
        return Some((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let body = match data {
        Cow::Borrowed(bytes) => Body::from(Bytes::from_static(bytes)),
        Cow::Owned(bytes) => Body::from(bytes),
    };
    Some((headers, body).into_response())
}

/// `pkg/chunk_5.0123456789ab.wasm` → (`pkg/chunk_5.wasm`, `0123456789ab`); the caller checks
/// the hash against the file's.
fn unhashed(path: &str) -> Option<(String, &str)> {
    let (rest, ext) = path.rsplit_once('.')?;
    let (stem, hash) = rest.rsplit_once('.')?;
    let is_hash = hash.len() == HASH_LEN && hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    is_hash.then(|| (format!("{stem}.{ext}"), hash))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Encoding {
    name: &'static str,
    suffix: &'static str,
    etag_suffix: &'static str,
}

const BROTLI: Encoding = Encoding { name: "br", suffix: "br", etag_suffix: "-br" };
const GZIP: Encoding = Encoding { name: "gzip", suffix: "gz", etag_suffix: "-gz" };

/// Brotli when the client accepts it, else gzip, else none (`q=0` refuses a coding).
fn preferred_encoding(request: &HeaderMap) -> Option<Encoding> {
    let accepted: Vec<(String, bool)> = request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()).is_some_and(|q| q <= 0.0)
            });
            (coding, !refused)
        })
        .collect();
    let accepts = |name: &str| accepted.iter().any(|(coding, ok)| *ok && (coding == name || coding == "*"));
    [BROTLI, GZIP].into_iter().find(|e| accepts(e.name))
}

/// `If-None-Match` names this representation (or `*`).
fn etag_matches(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

fn insert(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn brotli_is_preferred_then_gzip_and_q0_refuses() {
        assert_eq!(preferred_encoding(&accept("gzip, deflate, br, zstd")), Some(BROTLI));
        assert_eq!(preferred_encoding(&accept("gzip")), Some(GZIP));
        assert_eq!(preferred_encoding(&accept("br;q=0, gzip;q=0.5")), Some(GZIP));
        assert_eq!(preferred_encoding(&accept("identity")), None);
        assert_eq!(preferred_encoding(&accept("*")), Some(BROTLI));
        assert_eq!(preferred_encoding(&HeaderMap::new()), None);
    }

    #[test]
    fn a_hashed_name_maps_to_its_file_and_other_names_do_not() {
        assert_eq!(unhashed("pkg/chunk_5.0123456789ab.wasm"), Some(("pkg/chunk_5.wasm".to_string(), "0123456789ab")));
        assert_eq!(unhashed("pkg/certgate.wasm"), None);
        assert_eq!(unhashed("pkg/a.0123456789AB.wasm"), None);
        assert_eq!(unhashed("pkg/a.0123.wasm"), None);
    }

    #[test]
    fn if_none_match_compares_whole_tags() {
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"abc-br\", \"def\""));
        assert!(etag_matches(&h, "\"def\""));
        assert!(etag_matches(&h, "\"abc-br\""));
        assert!(!etag_matches(&h, "\"abc\""));
    }
}
