//! Plain HTML form posts to server functions (islands mode: forms outside islands post without
//! wasm). Leptos answers them with a 302 back to the page (the Referer), an error in the
//! address as `__err`. It says nothing when the post worked, so the page could not say
//! "Saved.": here a 302 straight back to the page gets `__ok=<function path>`, which
//! `app::components::succeeded` reads. Redirects elsewhere (sign-in, deletes) are left alone.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

const OK_KEY: &str = "__ok";

/// Whether the request is a form post made by the browser itself (not the wasm client).
pub fn is_plain_form_post(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
}

/// Marks a successful post's redirect back to `referer` with `__ok=<function_path>`.
pub fn mark_success(response: &mut Response, referer: Option<&str>, function_path: &str) {
    if response.status() != StatusCode::FOUND {
        return;
    }
    let Some(location) = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()) else { return };
    if let Some(marked) = marked_location(location, referer, function_path) {
        if let Ok(value) = HeaderValue::from_str(&marked) {
            response.headers_mut().insert(header::LOCATION, value);
        }
    }
}

/// The new Location, or None to leave it: an error's (`__err`) loses a stale `__ok`; a success
/// straight back to the referring page gets this function's `__ok`.
fn marked_location(location: &str, referer: Option<&str>, function_path: &str) -> Option<String> {
    let (path, pairs) = split(location);
    let without_ok: Vec<&str> = pairs.iter().copied().filter(|p| key(p) != OK_KEY).collect();
    if pairs.iter().any(|p| key(p) == "__err") {
        return (without_ok.len() != pairs.len()).then(|| join(path, &without_ok));
    }
    let (referer_path, referer_pairs) = split(referer?);
    let back: Vec<&str> = referer_pairs.into_iter().filter(|p| !matches!(key(p), OK_KEY | "__err" | "__path")).collect();
    if referer_path != path || back != without_ok {
        return None;
    }
    let mut marked = without_ok;
    let ok = format!("{OK_KEY}={}", function_path.replace('/', "%2F"));
    marked.push(&ok);
    Some(join(path, &marked))
}

fn split(url: &str) -> (&str, Vec<&str>) {
    let url = url.split('#').next().unwrap_or(url);
    match url.split_once('?') {
        Some((path, query)) => (path, query.split('&').filter(|p| !p.is_empty()).collect()),
        None => (url, Vec::new()),
    }
}

fn key(pair: &str) -> &str {
    pair.split('=').next().unwrap_or(pair)
}

fn join(path: &str, pairs: &[&str]) -> String {
    if pairs.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", pairs.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::marked_location;

    const PAGE: &str = "http://127.0.0.1:3000/admin/plans";

    #[test]
    fn a_success_back_to_the_page_is_marked() {
        assert_eq!(marked_location(PAGE, Some(PAGE), "/fn/save_plan").as_deref(), Some("http://127.0.0.1:3000/admin/plans?__ok=%2Ffn%2Fsave_plan"));
    }

    #[test]
    fn the_page_query_is_kept_and_a_previous_mark_or_error_replaced() {
        let referer = "http://h/admin/apis/1?traffic=month&__ok=%2Ffn%2Fold&__path=x&__err=y";
        assert_eq!(
            marked_location("http://h/admin/apis/1?traffic=month", Some(referer), "/fn/update_api").as_deref(),
            Some("http://h/admin/apis/1?traffic=month&__ok=%2Ffn%2Fupdate_api")
        );
    }

    #[test]
    fn an_error_loses_a_stale_mark_and_gets_none() {
        let location = "http://h/admin/plans?__ok=%2Ffn%2Fsave_plan&__path=%2Ffn%2Fsave_plan&__err=e30";
        assert_eq!(marked_location(location, Some(PAGE), "/fn/save_plan").as_deref(), Some("http://h/admin/plans?__path=%2Ffn%2Fsave_plan&__err=e30"));
        assert_eq!(marked_location("http://h/admin/plans?__path=a&__err=e30", Some(PAGE), "/fn/save_plan"), None);
    }

    #[test]
    fn a_redirect_elsewhere_is_left_alone() {
        assert_eq!(marked_location("/admin/apis?deleted=x", Some("http://h/admin/apis/1"), "/fn/delete_api"), None);
        assert_eq!(marked_location("/admin", Some("http://h/signin"), "/fn/sign_in"), None);
        assert_eq!(marked_location(PAGE, None, "/fn/save_plan"), None);
    }
}
