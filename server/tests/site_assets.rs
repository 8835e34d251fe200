//! The embedded site: hashed addresses served as immutable, compressed copies chosen by
//! Accept-Encoding, ETags and 304s, and the island loader's hashed wasm and JS glue
//! (server/src/assets.rs, app/src/lib.rs `IslandScripts`, scripts/compress-site.mjs). Needs the front end built (`scripts/build.sh`), as `make test` does.
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

    // The JS glue under its plain name (nothing names it so, but an old page might): revalidated,
    // 304 when unchanged.
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

/// Islands mode: one wasm file for every page, loaded by the page's own module script
/// (`IslandScripts`) from hashed addresses, for the glue as for the wasm: both immutable.
#[tokio::test]
async fn the_island_loader_loads_the_hashed_glue_and_wasm() {
    let server = Server::start();
    let c = client();
    let html = c.get(server.url("/signin")).send().await.unwrap().text().await.unwrap();
    let script_at = html.find("<script type=\"module\"").expect("no module script");
    let script = &html[script_at..script_at + html[script_at..].find("</script>").unwrap()];
    assert!(script.contains(" nonce=\""), "the CSP admits the loader by its nonce: {script}");
    let quoted: Vec<&str> = script.split('"').filter(|part| part.starts_with("/pkg/")).collect();
    let glue = quoted.iter().find(|p| is_hashed(p, "/pkg/certgate", ".js")).unwrap_or_else(|| panic!("no hashed glue: {script}"));
    let wasm = quoted.iter().find(|p| is_hashed(p, "/pkg/certgate", ".wasm")).unwrap_or_else(|| panic!("no hashed wasm: {script}"));
    let (preloaded, _) = assets_named_by(&html);
    assert_eq!(preloaded, vec![wasm.to_string()], "the preload names the wasm the loader loads");
    for (path, kind) in [(*glue, "text/javascript"), (*wasm, "application/wasm")] {
        let r = c.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, "content-type").as_deref(), Some(kind), "{path}");
        assert_eq!(header(&r, "cache-control").as_deref(), Some(IMMUTABLE), "{path}");
    }
    // No split build: there is no chunk loader.
    assert_eq!(c.get(server.url("/pkg/__wasm_split_manifest.json")).send().await.unwrap().status(), 404);
}
