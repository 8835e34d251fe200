//! What a write does to live credentials and allow lists (the store's change set), in the
//! answer of the writes that change them, and alone with `?dry_run=true`.

use certgate_services::store::ChangePreview;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DryRunQuery {
    /// `true`: nothing is changed; the answer says what the change would do.
    #[serde(default)]
    pub dry_run: bool,
}

/// A credential's grant before and after (absent: it grants nothing).
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantSummary {
    pub apis: Vec<String>,
    /// The certificates it works with (allow-list contributions, and its binding if bound).
    pub certificates: Vec<String>,
    pub bound: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialChange {
    pub credential: String,
    pub subscription: String,
    pub app: String,
    pub organisation: String,
    pub product: String,
    pub before: Option<GrantSummary>,
    pub after: Option<GrantSummary>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AllowListChange {
    pub api: String,
    /// Certificate ids joining the API's effective allow list.
    pub joining: Vec<String>,
    /// Certificate ids leaving it (no admin entry or other live credential keeps them).
    pub leaving: Vec<String>,
}

/// What the write does (or, in a dry run, would do) to live credentials and allow lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewChange {
    pub credentials: Vec<CredentialChange>,
    pub allow_lists: Vec<AllowListChange>,
    /// Live credentials that stop working: they grant nothing any more, or lose their last
    /// certificate.
    pub credentials_stop_working: usize,
    /// Plain-language warnings, e.g. "2 credentials stop working…".
    pub warnings: Vec<String>,
}

fn grant(g: certgate_services::store::changes::GrantSummary) -> GrantSummary {
    GrantSummary { apis: g.apis, certificates: g.certificates, bound: g.bound }
}

impl From<ChangePreview> for ViewChange {
    fn from(p: ChangePreview) -> Self {
        let mut warnings = Vec::new();
        if p.credentials_stop_working > 0 {
            let n = p.credentials_stop_working;
            warnings.push(format!(
                "{n} live credential{} stop{} working: {} no certificate (or no access) left.",
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" },
                if n == 1 { "it has" } else { "they have" }
            ));
        }
        ViewChange {
            credentials: p
                .credentials
                .into_iter()
                .map(|c| CredentialChange {
                    credential: c.credential,
                    subscription: c.subscription,
                    app: c.app,
                    organisation: c.organisation,
                    product: c.product,
                    before: c.before.map(grant),
                    after: c.after.map(grant),
                })
                .collect(),
            allow_lists: p.allow_lists.into_iter().map(|a| AllowListChange { api: a.api, joining: a.joining, leaving: a.leaving }).collect(),
            credentials_stop_working: p.credentials_stop_working,
            warnings,
        }
    }
}
