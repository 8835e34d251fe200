//! Pages of lists: `limit` and an opaque cursor, answered as `{"items": [...], "next_cursor": ...}`.
//!
//! A cursor is `base64url(sort key) . base64url(HMAC-SHA256(list, caller, sort key))` under a
//! random key made when the process starts: a client cannot forge or edit one, and a cursor made
//! for one caller (or one list) is refused for another, so it can never reveal anything the
//! caller could not list. A restart invalidates cursors (400; the client starts again).

use std::sync::LazyLock;

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use certgate_services::ServiceError;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{AdminCaller, RestError};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

static CURSOR_KEY: LazyLock<hmac::Key> = LazyLock::new(|| {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    hmac::Key::new(hmac::HMAC_SHA256, &secret)
});

/// Makes the cursor key now, at start-up, rather than on the first list call.
pub fn init() {
    LazyLock::force(&CURSOR_KEY);
}

/// The paging parameters of a list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page: 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page, unchanged.
    pub cursor: Option<String>,
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass it as `cursor` for the next page; `null` on the last page.
    #[schema(required)]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

impl PageQuery {
    /// The page of `items` this query asks for, in the order of `key` (which must be unique per
    /// item). `list` names the list, so a cursor of one list is refused by another.
    ///
    /// Pages over the whole list loaded in memory: the stores are small today; paging in the
    /// store by index comes later and keeps this shape and these cursor rules.
    pub fn page<T, K>(self, items: Vec<T>, key: impl Fn(&T) -> K, list: &str, caller: &AdminCaller) -> Result<Page<T>, PageError>
    where
        K: Ord + Serialize + DeserializeOwned,
    {
        self.page_for(items, key, list, &caller.actor)
    }

    /// [`PageQuery::page`] for any caller, named by a string that tells callers apart
    /// (a consumer's cursors are bound to `consumer:<user id>`).
    pub fn page_for<T, K>(self, items: Vec<T>, key: impl Fn(&T) -> K, list: &str, caller: &str) -> Result<Page<T>, PageError>
    where
        K: Ord + Serialize + DeserializeOwned,
    {
        let (limit, after) = self.bounds::<K>(list, caller)?;
        let mut keyed: Vec<(K, T)> = items.into_iter().map(|item| (key(&item), item)).collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        let start = after.map_or(0, |after| keyed.partition_point(|(k, _)| *k <= after));
        let more = keyed.len() > start + limit;
        let mut items = Vec::with_capacity(limit.min(keyed.len()));
        let mut last = None;
        for (k, item) in keyed.into_iter().skip(start).take(limit) {
            items.push(item);
            last = Some(k);
        }
        let next_cursor = match (more, last) {
            (true, Some(last)) => Some(seal(&last, list, caller)?),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }

    /// For a list the store pages itself (reading only one page): the checked limit, and the
    /// sort key the page starts after, from a cursor [`PageQuery::cut`] made for this list
    /// and caller.
    pub fn bounds<K: DeserializeOwned>(&self, list: &str, caller: &str) -> Result<(usize, Option<K>), PageError> {
        let limit = match self.limit.unwrap_or(DEFAULT_LIMIT) {
            n @ 1..=MAX_LIMIT => n as usize,
            _ => return Err(PageError::Limit),
        };
        let after = self.cursor.as_deref().map(|c| open(c, list, caller)).transpose()?;
        Ok((limit, after))
    }

    /// The page the store cut after [`PageQuery::bounds`]: `more` says whether items follow
    /// the last one (whose key the next cursor carries).
    pub fn cut<T, K: Serialize>(items: Vec<T>, more: bool, key: impl Fn(&T) -> K, list: &str, caller: &str) -> Result<Page<T>, PageError> {
        let next_cursor = match (more, items.last()) {
            (true, Some(last)) => Some(seal(&key(last), list, caller)?),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }
}

/// Why a page cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageError {
    Limit,
    Cursor,
    Internal,
}

impl From<PageError> for RestError {
    fn from(e: PageError) -> Self {
        match e {
            PageError::Limit => RestError::bad_request(
                "invalid_limit",
                "Invalid limit",
                &format!("limit must be 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})."),
            ),
            PageError::Cursor => RestError::bad_request(
                "invalid_cursor",
                "Invalid cursor",
                "The cursor was not made for this list and caller, or was altered. Start again without a cursor.",
            ),
            PageError::Internal => RestError::Service(ServiceError::Internal("a list cursor could not be made".into())),
        }
    }
}

/// What the MAC covers: the list, the caller and the sort key, each length-prefixed so no two
/// different triples give the same bytes.
fn signed_bytes(list: &str, caller: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + list.len() + caller.len() + payload.len());
    out.extend_from_slice(b"certgate-cursor-v1");
    for part in [list.as_bytes(), caller.as_bytes(), payload] {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

fn seal<K: Serialize>(key: &K, list: &str, caller: &str) -> Result<String, PageError> {
    let payload = serde_json::to_vec(key).map_err(|e| {
        tracing::error!(error = %e, "a cursor could not be made");
        PageError::Internal
    })?;
    let tag = hmac::sign(&CURSOR_KEY, &signed_bytes(list, caller, &payload));
    Ok(format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(tag.as_ref())))
}

fn open<K: DeserializeOwned>(cursor: &str, list: &str, caller: &str) -> Result<K, PageError> {
    let invalid = || PageError::Cursor;
    let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    // Constant-time comparison of the tag.
    hmac::verify(&CURSOR_KEY, &signed_bytes(list, caller, &payload), &tag).map_err(|_| invalid())?;
    serde_json::from_slice(&payload).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(actor: &str) -> AdminCaller {
        AdminCaller { actor: actor.into() }
    }

    fn page(limit: u32, cursor: Option<String>, who: &str) -> Result<Page<u32>, PageError> {
        PageQuery { limit: Some(limit), cursor }.page((0..7).rev().collect(), |n| *n, "numbers", &caller(who))
    }

    /// The status and problem code of a refusal.
    async fn refusal<T>(result: Result<Page<T>, PageError>) -> (u16, String) {
        let Err(RestError::Refused(response)) = result.map_err(RestError::from) else { panic!("not refused") };
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        (status, body["code"].as_str().unwrap().to_string())
    }

    #[test]
    fn pages_cover_every_item_once_in_key_order() {
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let p = page(3, cursor, "admin-token").ok().unwrap();
            pages += 1;
            seen.extend(p.items);
            match p.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, (0..7).collect::<Vec<_>>());
        assert_eq!(pages, 3);
        // An exact fit has no next page.
        assert!(page(7, None, "a").ok().unwrap().next_cursor.is_none());
        let all = PageQuery::default().page((0..300).collect(), |n: &u32| *n, "n", &caller("a")).ok().unwrap();
        assert_eq!(all.items.len(), 50);
    }

    #[tokio::test]
    async fn cursors_are_bound_to_caller_and_list_and_cannot_be_edited() {
        let cursor = page(2, None, "admin-token").ok().unwrap().next_cursor.unwrap();
        assert_eq!(page(2, Some(cursor.clone()), "admin-token").ok().unwrap().items, vec![2, 3]);
        let invalid = (400, "invalid_cursor".to_string());
        assert_eq!(refusal(page(2, Some(cursor.clone()), "usr_someone")).await, invalid);
        let other_list = PageQuery { limit: Some(2), cursor: Some(cursor.clone()) }.page(vec![1u32], |n| *n, "letters", &caller("admin-token"));
        assert_eq!(refusal(other_list).await, invalid);
        let (payload, tag) = cursor.split_once('.').unwrap();
        // A later sort key under the old tag: refused (it would skip items, or show another's).
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(b"5"));
        for bad in [forged, "garbage".into(), format!("{payload}."), format!("{payload}.{payload}"), String::new()] {
            assert_eq!(refusal(page(2, Some(bad.clone()), "admin-token")).await, invalid, "{bad}");
        }
    }

    #[test]
    fn a_page_cut_by_the_store_carries_a_cursor_only_its_list_and_caller_open() {
        let page = PageQuery::cut(vec![9u64, 8, 7], true, |n| *n, "audit", "admin-token").ok().unwrap();
        let cursor = page.next_cursor.unwrap();
        let next = PageQuery { limit: Some(3), cursor: Some(cursor.clone()) };
        assert_eq!(next.bounds::<u64>("audit", "admin-token").ok(), Some((3, Some(7))));
        assert_eq!(next.bounds::<u64>("audit", "usr_1").err(), Some(PageError::Cursor));
        assert_eq!(next.bounds::<u64>("keys", "admin-token").err(), Some(PageError::Cursor));
        assert!(PageQuery::cut(vec![1u64], false, |n| *n, "audit", "a").ok().unwrap().next_cursor.is_none());
        assert_eq!(PageQuery { limit: Some(0), cursor: None }.bounds::<u64>("audit", "a").err(), Some(PageError::Limit));
    }

    #[tokio::test]
    async fn limits_outside_one_to_two_hundred_are_refused() {
        for limit in [0, 201, 1000] {
            assert_eq!(refusal(page(limit, None, "a")).await, (400, "invalid_limit".to_string()), "{limit}");
        }
        assert_eq!(page(200, None, "a").ok().unwrap().items.len(), 7);
    }
}
