//! Plans: the limits and approval rule a subscription gets.

use serde::{Deserialize, Serialize};

use crate::gateway::spec::{Quota, Rate, SpecError};

const MAX_NAME_CHARS: usize = 100;
/// Shortest and longest token lifetime a plan may set.
pub const MIN_TOKEN_LIFETIME_SECONDS: u64 = 60;
pub const MAX_TOKEN_LIFETIME_SECONDS: u64 = 366 * 86_400;

/// A plan as the admin writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlanSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    /// Access requests for this plan are approved at once.
    #[serde(default)]
    pub auto_approve: bool,
    /// Tokens minted under this plan stop working this long after they are minted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime_seconds: Option<u64>,
}

impl PlanSpec {
    pub fn normalise(mut self) -> Result<PlanSpec, SpecError> {
        self.name = checked_name(&self.name)?;
        if let Some(rate) = self.rate {
            if rate.requests == 0 || rate.per_seconds == 0 || rate.per_seconds > 86_400 {
                return Err(SpecError::new("invalid_rate", "rate needs requests >= 1 and per_seconds 1 to 86400."));
            }
        }
        if self.quota.is_some_and(|q| q.max == 0) {
            return Err(SpecError::new("invalid_quota", "quota.max must be at least 1."));
        }
        if let Some(lifetime) = self.token_lifetime_seconds {
            if !(MIN_TOKEN_LIFETIME_SECONDS..=MAX_TOKEN_LIFETIME_SECONDS).contains(&lifetime) {
                return Err(SpecError::new(
                    "invalid_token_lifetime",
                    format!("token_lifetime_seconds must be {MIN_TOKEN_LIFETIME_SECONDS} to {MAX_TOKEN_LIFETIME_SECONDS} (366 days)."),
                ));
            }
        }
        Ok(self)
    }
}

/// A display name: trimmed, 1 to 100 characters, no control characters.
pub(crate) fn checked_name(name: &str) -> Result<String, SpecError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(SpecError::new(
            "invalid_name",
            format!("The name must have 1 to {MAX_NAME_CHARS} characters and no control characters."),
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::spec::QuotaPeriod;

    fn plan() -> PlanSpec {
        PlanSpec {
            name: " Gold ".into(),
            rate: Some(Rate { requests: 100, per_seconds: 60 }),
            quota: Some(Quota { max: 10_000, period: QuotaPeriod::Month }),
            auto_approve: false,
            token_lifetime_seconds: Some(30 * 86_400),
        }
    }

    #[test]
    fn plans_are_checked() {
        assert_eq!(plan().normalise().unwrap().name, "Gold");
        let code = |p: PlanSpec| p.normalise().unwrap_err().code;
        assert_eq!(code(PlanSpec { name: "  ".into(), ..plan() }), "invalid_name");
        assert_eq!(code(PlanSpec { rate: Some(Rate { requests: 0, per_seconds: 1 }), ..plan() }), "invalid_rate");
        assert_eq!(code(PlanSpec { quota: Some(Quota { max: 0, period: QuotaPeriod::Day }), ..plan() }), "invalid_quota");
        assert_eq!(code(PlanSpec { token_lifetime_seconds: Some(59), ..plan() }), "invalid_token_lifetime");
        assert_eq!(code(PlanSpec { token_lifetime_seconds: Some(MAX_TOKEN_LIFETIME_SECONDS + 1), ..plan() }), "invalid_token_lifetime");
        let minimal: PlanSpec = serde_json::from_value(serde_json::json!({"name": "Free"})).unwrap();
        assert_eq!((minimal.rate, minimal.quota, minimal.auto_approve), (None, None, false));
        assert!(serde_json::from_value::<PlanSpec>(serde_json::json!({"name": "x", "unknown": 1})).is_err());
    }
}
