//! Plans: rate limit, quota, approval rule and token lifetime of subscriptions (admin).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A plan as the admin screens show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanView {
    pub id: String,
    pub name: String,
    /// `Some((requests, per_seconds))`: the rate limit.
    pub rate: Option<(u32, u32)>,
    /// `Some((max, "day" | "month"))`: the quota.
    pub quota: Option<(u64, String)>,
    pub auto_approve: bool,
    pub token_lifetime_seconds: Option<u64>,
}

/// The plan form as it is sent: every number as text, so an empty field means "none" and a
/// wrong one is refused with a message about that field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanForm {
    pub name: String,
    pub rate_requests: Option<String>,
    pub rate_per_seconds: Option<String>,
    pub quota_max: Option<String>,
    pub quota_period: Option<String>,
    pub auto_approve: Option<String>,
    pub token_lifetime: Option<String>,
    /// `minutes`, `hours` or `days`.
    pub token_lifetime_unit: Option<String>,
}

/// The seconds in a token-lifetime unit of the form.
pub fn lifetime_unit_seconds(unit: &str) -> Option<u64> {
    match unit {
        "minutes" => Some(60),
        "hours" => Some(3_600),
        "days" => Some(86_400),
        _ => None,
    }
}

/// A lifetime in the largest unit that divides it: `(amount, unit)`.
pub fn lifetime_in_units(seconds: u64) -> (u64, &'static str) {
    for (unit, size) in [("days", 86_400), ("hours", 3_600)] {
        if seconds.is_multiple_of(size) {
            return (seconds / size, unit);
        }
    }
    (seconds.div_ceil(60), "minutes")
}

/// A lifetime in words: "30 days", "1 hour".
pub fn lifetime_text(seconds: u64) -> String {
    let (n, unit) = lifetime_in_units(seconds);
    let unit = if n == 1 { unit.trim_end_matches('s') } else { unit };
    format!("{n} {unit}")
}

/// A rate limit in words.
pub fn rate_text(rate: Option<(u32, u32)>) -> String {
    match rate {
        None => "No rate limit".into(),
        Some((requests, 1)) => format!("{requests} per second"),
        Some((requests, 60)) => format!("{requests} per minute"),
        Some((requests, 3_600)) => format!("{requests} per hour"),
        Some((requests, seconds)) => format!("{requests} per {seconds} seconds"),
    }
}

/// A quota in words.
pub fn quota_text(quota: &Option<(u64, String)>) -> String {
    match quota {
        None => "No quota".into(),
        Some((max, period)) => format!("{max} per {period}"),
    }
}

#[server(prefix = "/fn", endpoint = "list_plans")]
pub async fn list_plans() -> Result<Vec<PlanView>, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    let plans = ssr::services()?.plans.list().await.map_err(ssr::service_error)?;
    Ok(plans.iter().map(crate::ssr_portal::plan_view).collect())
}

#[server(prefix = "/fn", endpoint = "get_plan")]
pub async fn get_plan(id: String) -> Result<PlanView, AppError> {
    use crate::ssr;
    ssr::require_admin(&ssr::request_auth())?;
    let plan = ssr::services()?.plans.get(&id).await.map_err(ssr::service_error)?;
    Ok(crate::ssr_portal::plan_view(&plan))
}

/// Creates a plan (`id` empty) or replaces one.
#[server(prefix = "/fn", endpoint = "save_plan")]
pub async fn save_plan(id: Option<String>, form: PlanForm) -> Result<PlanView, AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    let spec = crate::ssr_portal::plan_spec(form)?;
    let plans = ssr::services()?.plans;
    let existing = id.as_deref().map(str::trim).filter(|i| !i.is_empty());
    let record = match existing {
        Some(id) => plans.update(id, spec, &admin.user.id).await,
        None => plans.create(spec, &admin.user.id).await,
    }
    .map_err(ssr::service_error)?;
    tracing::info!(admin = %admin.user.id, plan = %record.id, "plan saved");
    if existing.is_none() {
        ssr::go_after_form_post(&format!("/admin/plans?created={}", ssr::query_value(&record.id)));
    }
    Ok(crate::ssr_portal::plan_view(&record))
}

/// Deletes a plan; the form's confirmation box must be ticked.
#[server(prefix = "/fn", endpoint = "delete_plan")]
pub async fn delete_plan(id: String, confirm: Option<String>) -> Result<(), AppError> {
    use crate::ssr;
    let admin = ssr::require_admin(&ssr::request_auth())?;
    crate::ssr_portal::require_confirmation(confirm.as_deref())?;
    let services = ssr::services()?;
    if let Err(e) = services.plans.delete(&id, &admin.user.id).await {
        return Err(crate::ssr_portal::in_use_error(&services, &admin, e).await);
    }
    leptos_axum::redirect("/admin/plans");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_in_the_largest_whole_unit() {
        assert_eq!(lifetime_in_units(30 * 86_400), (30, "days"));
        assert_eq!(lifetime_in_units(7_200), (2, "hours"));
        assert_eq!(lifetime_in_units(90), (2, "minutes"));
        assert_eq!(lifetime_text(86_400), "1 day");
        assert_eq!(lifetime_text(120), "2 minutes");
        assert_eq!(rate_text(Some((100, 60))), "100 per minute");
        assert_eq!(quota_text(&Some((10_000, "month".into()))), "10000 per month");
    }
}
