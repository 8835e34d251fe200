//! What a destructive admin action stops, counted from the store's records before it is done:
//! the dry run a confirmation shows. Pure: the callers read the records, this only counts.

use crate::keys::KeyRecord;
use crate::products::ProductRecord;

/// What deleting an API would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiDeletion {
    /// Admin keys that grant this API and others: they keep the others.
    pub keys_losing_access: usize,
    /// Admin keys that grant only this API: they grant nothing afterwards.
    pub keys_stop_working: usize,
    /// Names of the products containing the API, sorted: the deletion is refused while any
    /// does (their portal credentials would otherwise lose it silently).
    pub products: Vec<String>,
    /// Entries of the API's own allow list (dropped with it; the certificates stay in the store).
    pub allow_list_entries: usize,
    /// Where the gateway serves the API: it answers 404 there afterwards.
    pub listen_path: String,
}

/// "1 admin key", "3 admin keys".
fn admin_keys(n: usize) -> String {
    if n == 1 {
        "1 admin key".into()
    } else {
        format!("{n} admin keys")
    }
}

/// "a", "a and b", "a, b and c".
pub fn listing(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

impl ApiDeletion {
    /// Why the deletion would be refused now, if it would.
    pub fn refusal(&self) -> Option<String> {
        match self.products.len() {
            0 => None,
            1 => Some(format!("The API is in product {}: take it out of the product first (its subscribers would lose the API).", self.products[0])),
            _ => Some(format!("The API is in products {}: take it out of them first (their subscribers would lose the API).", listing(&self.products))),
        }
    }

    /// What stops working, one sentence each.
    pub fn sentences(&self) -> Vec<String> {
        let mut out = vec![format!("Requests to {} get 404 from the next request.", self.listen_path)];
        if self.keys_stop_working > 0 {
            let n = self.keys_stop_working;
            out.push(format!("{} grant{} only this API: {} stop{} working.", admin_keys(n), if n == 1 { "s" } else { "" }, if n == 1 { "it" } else { "they" }, if n == 1 { "s" } else { "" }));
        }
        if self.keys_losing_access > 0 {
            let n = self.keys_losing_access;
            out.push(format!("{} lose{} access to this API (and keep{} {} other APIs).", admin_keys(n), if n == 1 { "s" } else { "" }, if n == 1 { "s" } else { "" }, if n == 1 { "its" } else { "their" }));
        }
        if self.keys_stop_working + self.keys_losing_access == 0 {
            out.push("No admin key grants this API.".into());
        }
        if self.allow_list_entries > 0 {
            let n = self.allow_list_entries;
            out.push(format!("Its allow list of {n} certificate{} goes with it (the certificates stay in the store).", if n == 1 { "" } else { "s" }));
        }
        out
    }
}

/// The admin keys that grant `api`, oldest first (as `keys` is ordered).
pub fn keys_of_api<'a>(api: &str, keys: &'a [KeyRecord]) -> Vec<&'a KeyRecord> {
    keys.iter().filter(|k| k.spec.apis.iter().any(|a| a == api)).collect()
}

/// Counts what deleting `api` stops, from every key and every product of the store.
pub fn api_deletion(api: &str, keys: &[KeyRecord], products: &[ProductRecord]) -> ApiDeletion {
    let granting = keys_of_api(api, keys);
    let keys_stop_working = granting.iter().filter(|k| k.spec.apis.iter().all(|a| a == api)).count();
    let mut names: Vec<String> = products.iter().filter(|p| p.spec.apis.iter().any(|a| a == api)).map(|p| p.spec.name.clone()).collect();
    names.sort_by_key(|n| n.to_lowercase());
    ApiDeletion { keys_losing_access: granting.len() - keys_stop_working, keys_stop_working, products: names, ..ApiDeletion::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use certgate_core::gateway::spec::KeySpec;

    fn key(id: &str, apis: &[&str]) -> KeyRecord {
        KeyRecord {
            id: id.into(),
            token_sha256: "0".repeat(64),
            spec: KeySpec { apis: apis.iter().map(|a| a.to_string()).collect(), bound_certificates: None, rate: None, quota: None, expires_at: None },
            created_at: 0,
        }
    }

    fn product(name: &str, apis: &[&str]) -> ProductRecord {
        // The record's spec is flattened into it, as stored.
        serde_json::from_value(serde_json::json!({"id": format!("prd_{name}"), "name": name, "apis": apis, "created_at": 0, "updated_at": 0})).unwrap()
    }

    #[test]
    fn a_key_granting_only_the_api_stops_working_and_one_granting_more_loses_it() {
        let keys = [key("key_only", &["api_a"]), key("key_both", &["api_a", "api_b"]), key("key_other", &["api_b"])];
        let said = api_deletion("api_a", &keys, &[]);
        assert_eq!(said, ApiDeletion { keys_losing_access: 1, keys_stop_working: 1, ..ApiDeletion::default() });
        let said = ApiDeletion { listen_path: "/orders".into(), allow_list_entries: 2, ..said };
        assert_eq!(
            said.sentences(),
            [
                "Requests to /orders get 404 from the next request.",
                "1 admin key grants only this API: it stops working.",
                "1 admin key loses access to this API (and keeps its other APIs).",
                "Its allow list of 2 certificates goes with it (the certificates stay in the store).",
            ]
        );
        assert_eq!(said.refusal(), None);
        assert_eq!(keys_of_api("api_a", &keys).iter().map(|k| k.id.as_str()).collect::<Vec<_>>(), ["key_only", "key_both"]);
    }

    #[test]
    fn another_apis_keys_and_products_are_not_counted() {
        let keys = [key("key_other", &["api_b"])];
        let products = [product("Zeta", &["api_a"]), product("alpha", &["api_a", "api_b"]), product("Other", &["api_b"])];
        let said = api_deletion("api_a", &keys, &products);
        assert_eq!((said.keys_losing_access, said.keys_stop_working), (0, 0));
        assert_eq!(said.products, ["alpha", "Zeta"]);
        assert!(said.refusal().unwrap().starts_with("The API is in products alpha and Zeta: take it out of them first"));
        assert!(said.sentences().contains(&"No admin key grants this API.".to_string()));
        let three = api_deletion("api_a", &[key("k1", &["api_a"]), key("k2", &["api_a"]), key("k3", &["api_a", "x"]), key("k4", &["api_a", "y"])], &[]);
        assert!(three.sentences().contains(&"2 admin keys grant only this API: they stop working.".to_string()), "{:?}", three.sentences());
        assert!(three.sentences().contains(&"2 admin keys lose access to this API (and keep their other APIs).".to_string()));
        // An id that is a prefix of another is not that other.
        assert_eq!(api_deletion("api_", &keys, &products), ApiDeletion::default());
        assert!(keys_of_api("api_b", &[]).is_empty());
    }
}

/// What revoking an admin key stops: its token, on the APIs it grants (names).
pub fn key_revocation(apis: &[String]) -> Vec<String> {
    let mut out = vec![match apis.len() {
        0 => "Its token grants no API any more; revoking it removes it for good.".to_string(),
        1 => format!("Its token is refused on API {} from the next request.", apis[0]),
        n => format!("Its token is refused on {n} APIs ({}) from the next request.", listing(apis)),
    }];
    out.push("Its request counts (rate and quota) are forgotten.".into());
    out
}

#[cfg(test)]
mod key_tests {
    #[test]
    fn a_revocation_names_every_api_the_token_loses() {
        let said = super::key_revocation(&["Orders".into(), "Billing".into()]);
        assert_eq!(said[0], "Its token is refused on 2 APIs (Orders and Billing) from the next request.");
        assert_eq!(super::key_revocation(&["Orders".into()])[0], "Its token is refused on API Orders from the next request.");
    }
}
