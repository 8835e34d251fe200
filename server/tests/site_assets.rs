//! The embedded site: hashed addresses served as immutable, compressed copies chosen by
//! Accept-Encoding, ETags and 304s, and the split wasm's chunks (server/src/assets.rs,
//! scripts/compress-site.mjs). Needs the front end built (`scripts/build.sh`), as `make test` does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption is a failed test

mod support;

use std::collections::HashMap;

use support::*;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The hrefs of a page's `<link rel="preload">` tags for wasm, and its stylesheet's.
fn assets_named_by(html: &str) -> (Vec<String>, Vec<String>) {
    let hrefs = |tag_start: &str, ext: &str| -> Vec<String> {
        html.match_indices(tag_start)
            .filter_map(|(at, _)| {
                let tag = &html[at..at + html[at..].find('>').unwrap()];
                let href = tag.split("href=\"").nth(1)?.split('"').next()?;
                href.ends_with(ext).then(|| href.to_string())
            })
            .collect()
    };
    (hrefs("<link rel=\"preload\"", ".wasm"), hrefs("<link rel=\"stylesheet\"", ".css"))
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_string())
}

/// `/pkg/certgate.0123456789ab.wasm`: the name carries 12 lowercase hex digits.
fn is_hashed(path: &str, stem: &str, ext: &str) -> bool {
    path.strip_prefix(stem)
        .and_then(|rest| rest.strip_suffix(ext))
        .and_then(|hash| hash.strip_prefix('.'))
        .is_some_and(|hash| hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
}

#[tokio::test]
async fn hashed_assets_are_immutable_compressed_by_accept_encoding_and_revalidated_with_304() {
    let server = Server::start();
    let c = client();
    let page = c.get(server.url("/signin")).send().await.unwrap();
    assert_eq!(header(&page, "cache-control").as_deref(), Some("no-cache"), "HTML is revalidated");
    let html = page.text().await.unwrap();
    let (wasm, css) = assets_named_by(&html);
    assert_eq!(wasm.len(), 1, "the sign-in page loads the main bundle only: {wasm:?}");
    assert!(is_hashed(&wasm[0], "/pkg/certgate", ".wasm"), "{wasm:?}");
    assert!(css.len() == 1 && is_hashed(&css[0], "/pkg/certgate", ".css"), "{css:?}");

    let raw = c.get(server.url(&wasm[0])).send().await.unwrap();
    assert_eq!(raw.status(), 200);
    assert_eq!(header(&raw, "cache-control").as_deref(), Some(IMMUTABLE));
    assert_eq!(header(&raw, "content-type").as_deref(), Some("application/wasm"));
    assert_eq!(header(&raw, "content-encoding"), None, "no Accept-Encoding: sent as it is");
    let raw_etag = header(&raw, "etag").unwrap();
    let raw_len = raw.bytes().await.unwrap().len();
    assert!(raw_len > 100_000);

    let mut sizes = HashMap::new();
    for (accept, expected) in [("gzip, deflate, br, zstd", "br"), ("gzip", "gzip"), ("br;q=0, gzip;q=0.8", "gzip")] {
        let r = c.get(server.url(&wasm[0])).header("accept-encoding", accept).send().await.unwrap();
        assert_eq!(r.status(), 200, "{accept}");
        assert_eq!(header(&r, "content-encoding").as_deref(), Some(expected), "{accept}");
        assert_eq!(header(&r, "vary").as_deref(), Some("Accept-Encoding"));
        assert_eq!(header(&r, "cache-control").as_deref(), Some(IMMUTABLE));
        let etag = header(&r, "etag").unwrap();
        assert_ne!(etag, raw_etag, "each encoding is its own representation");
        let len = r.bytes().await.unwrap().len();
        assert!(len < raw_len / 2, "{expected}: {len} of {raw_len}");
        sizes.insert(expected, len);

        let again = c.get(server.url(&wasm[0])).header("accept-encoding", accept).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), 304, "{accept}");
        assert_eq!(header(&again, "etag").as_deref(), Some(etag.as_str()));
        assert!(again.bytes().await.unwrap().is_empty());
    }
    assert!(sizes["br"] < sizes["gzip"], "{sizes:?}");

    // A hash that is not the file's, and the compressed copies themselves, are not served.
    let stale = wasm[0].replace(&wasm[0][14..26], "000000000000");
    assert_eq!(c.get(server.url(&stale)).send().await.unwrap().status(), 404, "{stale}");
    assert_eq!(c.get(server.url("/pkg/certgate.wasm.br")).send().await.unwrap().status(), 404);

    // The JS module keeps its name (the split loader imports it): revalidated, 304 when unchanged.
    let js = c.get(server.url("/pkg/certgate.js")).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(js.status(), 200);
    assert_eq!(header(&js, "cache-control").as_deref(), Some("no-cache"));
    assert_eq!(header(&js, "content-encoding").as_deref(), Some("br"));
    let etag = header(&js, "etag").unwrap();
    let again = c.get(server.url("/pkg/certgate.js")).header("accept-encoding", "br").header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn a_signed_in_browser_may_keep_hashed_assets_but_never_pages() {
    let server = Server::start();
    let c = client();
    assert_eq!(sign_in(&c, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), 200);
    let page = c.get(server.url("/admin")).send().await.unwrap();
    assert_eq!(header(&page, "cache-control").as_deref(), Some("no-store"));
    let (wasm, _) = assets_named_by(&page.text().await.unwrap());
    let r = c.get(server.url(&wasm[0])).send().await.unwrap();
    assert_eq!(header(&r, "cache-control").as_deref(), Some(IMMUTABLE), "the session cookie must not make assets uncacheable");
}

/// The build splits the wasm by area (`cargo leptos build --split`); the loader asks for every
/// chunk by a hashed name (compress-site.mjs rewrites it), and each is served as immutable.
#[tokio::test]
async fn the_split_wasm_chunks_are_served_by_hashed_names() {
    let server = Server::start();
    let c = client();
    let r = c.get(server.url("/pkg/__wasm_split_manifest.json")).send().await.unwrap();
    assert_eq!(r.status(), 200, "no split manifest: build the front end with --split");
    let manifest: HashMap<String, Vec<String>> = r.json().await.unwrap();
    let loader = c.get(server.url("/pkg/__wasm_split.______________________.js")).send().await.unwrap();
    assert_eq!(loader.status(), 200);
    assert_eq!(header(&loader, "content-type").as_deref(), Some("text/javascript"));
    let loader = loader.text().await.unwrap();
    let requested: Vec<&str> = loader.split("new URL(\"./").skip(1).filter_map(|rest| rest.split('"').next()).collect();
    for area in ["admin_certificates_area_", "admin_catalogue_area_", "admin_organisations_area_", "portal_area_"] {
        let chunks = manifest.iter().find(|(key, _)| key.starts_with(area)).map(|(_, chunks)| chunks).unwrap_or_else(|| panic!("{area} missing: {manifest:?}"));
        assert!(chunks.iter().any(|chunk| chunk.starts_with(&format!("split_{area}"))), "{chunks:?}");
        for chunk in chunks {
            let name = requested.iter().find(|r| is_hashed(r, chunk, ".wasm")).unwrap_or_else(|| panic!("{chunk} is not requested by a hashed name: {requested:?}"));
            let r = c.get(server.url(&format!("/pkg/{name}"))).header("accept-encoding", "br").send().await.unwrap();
            assert_eq!(r.status(), 200, "{name}");
            assert_eq!(header(&r, "content-type").as_deref(), Some("application/wasm"), "{name}");
            assert_eq!(header(&r, "cache-control").as_deref(), Some(IMMUTABLE), "{name}");
            assert_eq!(header(&r, "content-encoding").as_deref(), Some("br"), "{name}");
        }
    }
}
