//! Notices in a page's address after a form post, and why they can be trusted.
//!
//! Islands mode posts every form outside an island as plain HTML. Leptos answers such a post
//! with a 302 back to the page (the Referer), a refused one with the error in the address
//! (`__path`, `__err`); server functions send creations to `?created=` / `?added=` and
//! deletions to `?deleted=`. Here, on the way out:
//! - a post that worked and goes straight back to its page gets `__ok=<function path>`, so the
//!   page can say "Saved." (`app::components::succeeded`);
//! - a redirect back to the page drops the notices the page had (`created`, an old `__ok`…);
//! - every redirect that carries a notice is signed: `__mark=<expiry>.<tag>`, an HMAC over the
//!   signed-in user, the page's path, the notices and the expiry.
//!
//! A page requested with a notice whose mark is missing, wrong or expired is sent (303) to the
//! same address without its notices: a crafted link cannot make a page say "Your password was
//! changed" or show an error text of its choosing.

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use app::ssr::{NOTICES, NOTICE_MARK as MARK};
use aws_lc_rs::hmac;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

const OK: &str = "__ok";
/// How long a signed notice may be shown (a reload of the page within it shows it again).
const MARK_SECONDS: u64 = 600;

/// Per process: a restart only drops the notices of the pages open then.
static MARK_KEY: LazyLock<hmac::Key> = LazyLock::new(|| {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    hmac::Key::new(hmac::HMAC_SHA256, &secret)
});

/// A server function's answer on its way out: its redirect marked and signed (see above).
/// `user` is the signed-in user's id, `referer` the page the form was on.
pub fn mark_redirect(response: &mut Response, plain_form_post: bool, referer: Option<&str>, function_path: &str, user: &str) {
    let Some(location) = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()) else { return };
    let worked = response.status() == StatusCode::FOUND;
    let marked = next_location(location, referer, plain_form_post && worked, function_path, user, now());
    if let Some(value) = marked.and_then(|m| HeaderValue::from_str(&m).ok()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
}

/// For a page request: the same address without its notices when they are not signed for
/// `user` (None: the address may be shown as it is).
pub fn unsigned_notice_redirect(path: &str, query: Option<&str>, user: &str) -> Option<String> {
    let pairs = decoded_pairs(query.unwrap_or_default());
    if !pairs.iter().any(|(k, _)| is_notice(k)) {
        return None;
    }
    let mark = pairs.iter().find(|(k, _)| k == MARK).map(|(_, v)| v.as_str()).unwrap_or_default();
    if mark_is_valid(mark, user, path, &pairs, now()) {
        return None;
    }
    let kept: Vec<&str> = raw_pairs(query.unwrap_or_default()).into_iter().filter(|p| !is_notice(&decoded_key(p)) && decoded_key(p) != MARK).collect();
    // `//host/…` or `/\host/…` would leave the site: the same page, rooted once.
    Some(join(&format!("/{}", path.trim_start_matches(['/', '\\'])), &kept))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// The Location to send instead, or None to leave it.
fn next_location(location: &str, referer: Option<&str>, worked: bool, function_path: &str, user: &str, now: u64) -> Option<String> {
    let (origin, path, query) = split(location);
    let (referer_path, referer_query) = referer.map(split).map(|(_, p, q)| (p, q)).unwrap_or_default();
    let back_to_page = referer.is_some() && referer_path == path && without_notices(&decoded_pairs(referer_query)) == without_notices(&decoded_pairs(query));
    // Notices that came with the request are never signed: Leptos builds the address from the
    // Referer, which the client chose. Each of the Referer's notices goes once (an error
    // repeated word for word, appended after it, stays).
    let mut from_request: Vec<(String, String)> = decoded_pairs(referer_query).into_iter().filter(|(k, _)| is_notice(k)).collect();
    let mut kept: Vec<(&str, (String, String))> = raw_pairs(query)
        .into_iter()
        .map(|p| (p, decoded_pairs(p).into_iter().next().unwrap_or_default()))
        .filter(|(_, pair)| match from_request.iter().position(|o| o == pair) {
            Some(at) => {
                from_request.remove(at);
                false
            }
            None => pair.0 != MARK,
        })
        .collect();
    // Of the rest, only this function's own: its `__ok`, and its error as Leptos appends it
    // (the last `__path`, naming this function, and the last `__err`).
    let last = |key: &str| kept.iter().rposition(|(_, (k, _))| k == key);
    let own_error = match (last("__path"), last("__err")) {
        (Some(p), Some(e)) if kept.get(p).is_some_and(|(_, (_, v))| v == function_path) => Some((p, e)),
        _ => None,
    };
    let mut at = 0;
    kept.retain(|(_, (k, v))| {
        let here = at;
        at += 1;
        match k.as_str() {
            OK => v == function_path,
            "__path" => own_error.is_some_and(|(p, _)| p == here),
            "__err" => own_error.is_some_and(|(_, e)| e == here),
            _ => true,
        }
    });
    let mut kept: Vec<&str> = kept.into_iter().map(|(raw, _)| raw).collect();
    // Nothing new to say (no error, no notice of the function's own): say that it worked.
    let ok = format!("{OK}={}", function_path.replace('/', "%2F"));
    if back_to_page && worked && !kept.iter().any(|p| is_notice(&decoded_key(p))) {
        kept.push(&ok);
    }
    let next = sign(origin, path, &kept.join("&"), user, now).unwrap_or_else(|| format!("{origin}{}", join(path, &kept)));
    (next != location).then_some(next)
}

/// The address with its notices signed (`__mark` last); None when it has no notice.
fn sign(origin: &str, path: &str, query: &str, user: &str, now: u64) -> Option<String> {
    let pairs = decoded_pairs(query);
    if !pairs.iter().any(|(k, _)| is_notice(k)) {
        return None;
    }
    let mut kept: Vec<&str> = raw_pairs(query).into_iter().filter(|p| decoded_key(p) != MARK).collect();
    let expires = now + MARK_SECONDS;
    let mark = format!("{MARK}={expires}.{}", tag(user, path, &pairs, expires));
    kept.push(&mark);
    Some(format!("{origin}{}", join(path, &kept)))
}

fn mark_is_valid(mark: &str, user: &str, path: &str, pairs: &[(String, String)], now: u64) -> bool {
    let Some((expires, given)) = mark.split_once('.') else { return false };
    let (Ok(expires), Ok(given)) = (expires.parse::<u64>(), URL_SAFE_NO_PAD.decode(given)) else { return false };
    let fresh = expires >= now && expires <= now + MARK_SECONDS;
    fresh && aws_lc_rs::constant_time::verify_slices_are_equal(&truncated_tag(user, path, pairs, expires), &given).is_ok()
}

/// The HMAC's first 16 bytes (enough against forgery; a shorter address).
fn truncated_tag(user: &str, path: &str, pairs: &[(String, String)], expires: u64) -> Vec<u8> {
    let full = hmac::sign(&MARK_KEY, &signed_bytes(user, path, pairs, expires));
    full.as_ref().get(..16).map(<[u8]>::to_vec).unwrap_or_default()
}

fn tag(user: &str, path: &str, pairs: &[(String, String)], expires: u64) -> String {
    URL_SAFE_NO_PAD.encode(truncated_tag(user, path, pairs, expires))
}

/// What a mark covers: the user, the path, the notices (decoded, in their order: Leptos shows
/// the last error) and the expiry.
fn signed_bytes(user: &str, path: &str, pairs: &[(String, String)], expires: u64) -> Vec<u8> {
    let notices = pairs.iter().filter(|(k, _)| is_notice(k));
    let mut bytes = format!("certgate notice v1\n{user}\n{path}\n{expires}\n").into_bytes();
    for (k, v) in notices {
        bytes.extend_from_slice(format!("{}:{k}={}:{v}\n", k.len(), v.len()).as_bytes());
    }
    bytes
}

fn is_notice(key: &str) -> bool {
    NOTICES.contains(&key)
}

fn without_notices(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs.iter().filter(|(k, _)| !is_notice(k) && k != MARK).cloned().collect()
}

/// `http://h:1/p?q#f` → (`http://h:1`, `/p`, `q`); a relative `/p?q` has no origin.
fn split(url: &str) -> (&str, &str, &str) {
    let url = url.split('#').next().unwrap_or(url);
    let (origin, rest) = match url.find("://").and_then(|at| url[at + 3..].find('/').map(|slash| at + 3 + slash)) {
        Some(at) => url.split_at(at),
        None if url.contains("://") => (url, "/"),
        None => ("", url),
    };
    match rest.split_once('?') {
        Some((path, query)) => (origin, path, query),
        None => (origin, rest, ""),
    }
}

fn raw_pairs(query: &str) -> Vec<&str> {
    query.split('&').filter(|p| !p.is_empty()).collect()
}

fn decoded_key(pair: &str) -> String {
    decoded_pairs(pair).into_iter().next().map(|(k, _)| k).unwrap_or_default()
}

fn decoded_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
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
    use super::*;

    const PAGE: &str = "http://127.0.0.1:3000/admin/plans";
    const NOW: u64 = 1_800_000_000;

    fn next(location: &str, referer: Option<&str>, worked: bool) -> Option<String> {
        next_location(location, referer, worked, "/fn/save_plan", "usr_1", NOW)
    }

    /// The location's query without its mark, and whether the mark verifies for `user`.
    fn check(location: &str, user: &str) -> (String, bool) {
        let (_, path, query) = split(location);
        let pairs = decoded_pairs(query);
        let mark = pairs.iter().find(|(k, _)| k == MARK).map(|(_, v)| v.clone()).unwrap_or_default();
        let rest: Vec<&str> = raw_pairs(query).into_iter().filter(|p| decoded_key(p) != MARK).collect();
        (rest.join("&"), mark_is_valid(&mark, user, path, &pairs, NOW))
    }

    #[test]
    fn a_success_back_to_the_page_is_marked_and_signed() {
        let location = next(PAGE, Some(PAGE), true).unwrap();
        assert!(location.starts_with("http://127.0.0.1:3000/admin/plans?__ok=%2Ffn%2Fsave_plan&__mark="), "{location}");
        assert_eq!(check(&location, "usr_1"), ("__ok=%2Ffn%2Fsave_plan".to_string(), true));
        assert!(!check(&location, "usr_2").1, "another user's mark does not verify");
        let forged = location.replace("save_plan&", "change_password&");
        assert!(!check(&forged, "usr_1").1, "the mark covers the notice");
    }

    #[test]
    fn the_page_query_is_compared_decoded_and_old_notices_are_replaced() {
        let referer = "http://h/admin/apis/1?app=x%20y&traffic=month&%5F%5Fok=%2Ffn%2Fold&created=c&__path=x&__err=y";
        let location = next("http://h/admin/apis/1?app=x+y&traffic=month", Some(referer), true).unwrap();
        let (query, valid) = check(&location, "usr_1");
        assert_eq!(query, "app=x+y&traffic=month&__ok=%2Ffn%2Fsave_plan");
        assert!(valid);
    }

    #[test]
    fn an_error_keeps_its_notices_signed_and_loses_the_pages_old_ones() {
        let location = "http://h/admin/plans?created=pln_1&__ok=%2Ffn%2Fold&__path=%2Ffn%2Fsave_plan&__err=e30";
        let next = next(location, Some("http://h/admin/plans?created=pln_1&__ok=%2Ffn%2Fold"), false).unwrap();
        let (query, valid) = check(&next, "usr_1");
        assert_eq!(query, "__path=%2Ffn%2Fsave_plan&__err=e30");
        assert!(valid);
    }

    #[test]
    fn a_repeated_error_is_shown_again_and_a_functions_own_notice_is_kept() {
        // Leptos appends the new error to the Referer's old one: only the old one goes.
        let referer = "http://h/signin?__path=%2Ffn%2Fsign_in&__err=e30&__mark=1.x";
        let location = "http://h/signin?__path=%2Ffn%2Fsign_in&__err=e30&__mark=1.x&__path=%2Ffn%2Fsign_in&__err=e30";
        let (query, valid) = check(&next_location(location, Some(referer), false, "/fn/sign_in", "", NOW).unwrap(), "");
        assert_eq!(query, "__path=%2Ffn%2Fsign_in&__err=e30");
        assert!(valid);
        // A creation's own notice on the same page: kept, and no `__ok` beside it.
        let next = next("/admin/plans?created=pln_2", Some("http://h/admin/plans?created=pln_1"), true).unwrap();
        assert_eq!(check(&next, "usr_1"), ("created=pln_2".to_string(), true));
    }

    #[test]
    fn notices_that_came_with_the_request_are_never_signed() {
        // A forged error in the Referer (its path spelled differently), and the real one Leptos
        // appends: only the real one is signed.
        let referer = "http://h/x/../signin?__path=%2Ffn%2Fsign_in&__err=FORGED";
        let location = "http://h/signin?__path=%2Ffn%2Fsign_in&__err=FORGED&__path=%2Ffn%2Fsign_in&__err=REAL";
        let next = next_location(location, Some(referer), false, "/fn/sign_in", "", NOW).unwrap();
        assert_eq!(check(&next, ""), ("__path=%2Ffn%2Fsign_in&__err=REAL".to_string(), true));
        // Another function's notices are not this one's to sign.
        let next = next_location("/account?__ok=%2Ffn%2Fchange_password&__path=%2Ffn%2Fx&__err=e", Some("http://h/signin"), true, "/fn/sign_in", "", NOW);
        assert_eq!(next.as_deref(), Some("/account"));
    }

    #[test]
    fn the_address_without_notices_stays_on_the_site() {
        assert_eq!(unsigned_notice_redirect("//evil.example/x", Some("__ok=1"), "").as_deref(), Some("/evil.example/x"));
        assert_eq!(unsigned_notice_redirect("/\\evil.example", Some("created=1"), "").as_deref(), Some("/evil.example"));
    }

    #[test]
    fn a_redirect_elsewhere_is_only_signed() {
        let next = next("/admin/apis?deleted=Orders%20API", Some("http://h/admin/apis/1"), true).unwrap();
        assert_eq!(check(&next, "usr_1"), ("deleted=Orders%20API".to_string(), true));
        assert_eq!(next_location("/admin", Some("http://h/signin"), true, "/fn/sign_in", "", NOW), None);
        assert_eq!(next_location(PAGE, None, true, "/fn/save_plan", "usr_1", NOW), None, "no referer: nothing to say");
    }

    #[test]
    fn marks_expire_and_must_be_whole() {
        let location = next(PAGE, Some(PAGE), true).unwrap();
        let (_, path, query) = split(&location);
        let pairs = decoded_pairs(query);
        let mark = pairs.iter().find(|(k, _)| k == MARK).map(|(_, v)| v.clone()).unwrap();
        assert!(mark_is_valid(&mark, "usr_1", path, &pairs, NOW + MARK_SECONDS));
        assert!(!mark_is_valid(&mark, "usr_1", path, &pairs, NOW + MARK_SECONDS + 1), "expired");
        assert!(!mark_is_valid(&mark, "usr_1", "/admin/apis", &pairs, NOW), "another page");
        assert!(!mark_is_valid(&mark[..mark.len() - 2], "usr_1", path, &pairs, NOW));
        assert!(!mark_is_valid("", "usr_1", path, &pairs, NOW));
    }

    #[test]
    fn a_page_with_an_unsigned_notice_is_sent_to_its_address_without_it() {
        assert_eq!(
            unsigned_notice_redirect("/account", Some("__ok=%2Ffn%2Fchange_password&tab=x"), "usr_1").as_deref(),
            Some("/account?tab=x")
        );
        assert_eq!(unsigned_notice_redirect("/signin", Some("__path=%2Ffn%2Fsign_in&__err=eyJ9&__mark=1.x"), "").as_deref(), Some("/signin"));
        assert_eq!(unsigned_notice_redirect("/admin/apis", Some("find=x"), "usr_1"), None);
        assert_eq!(unsigned_notice_redirect("/admin/apis", None, "usr_1"), None);
    }
}
