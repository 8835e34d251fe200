//! Every redb table of certgate, in one place. Keys are strings; values are versioned records
//! (see `codec`). Secondary indexes map a lookup key to a primary id.

use redb::TableDefinition;

/// Store metadata: `schema_version` -> u32 as decimal text.
pub const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

/// user id -> `UserRecord`.
pub const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
/// lowercased email -> user id.
pub const USERS_BY_EMAIL: TableDefinition<&str, &str> = TableDefinition::new("users_by_email");

/// SHA-256 hex of the session id -> `SessionRecord`. The id itself is never stored.
pub const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");

/// organisation id -> `OrganisationRecord`.
pub const ORGANISATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("organisations");
/// lowercased organisation name -> organisation id (names are unique, case-insensitively).
pub const ORGANISATIONS_BY_NAME: TableDefinition<&str, &str> =
    TableDefinition::new("organisations_by_name");

/// certificate id (SHA-256 hex of the DER) -> `CertificateRecord`: the provider's store.
pub const CERTIFICATES: TableDefinition<&str, &[u8]> = TableDefinition::new("certificates");
/// certificate id -> `CertificatePortalMeta`: the portal's display name and organisation links,
/// kept apart from the provider's record ("not transferred to the Provider").
pub const CERTIFICATE_PORTAL: TableDefinition<&str, &[u8]> = TableDefinition::new("certificate_portal");

/// sequence number -> `AuditEntry`: who changed what, in commit order.
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");

/// api id -> `ApiRecord`: the provider's API definitions.
pub const APIS: TableDefinition<&str, &[u8]> = TableDefinition::new("apis");
/// listen path (normalised) -> api id (listen paths are unique).
pub const APIS_BY_PATH: TableDefinition<&str, &str> = TableDefinition::new("apis_by_path");

/// key id -> `KeyRecord`: credentials (Auth Tokens). Only the token's SHA-256 is stored.
pub const KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("keys");
/// key id -> `QuotaUsageRecord`: the quota counter of a key, saved in batches.
pub const QUOTA_USAGE: TableDefinition<&str, &[u8]> = TableDefinition::new("quota_usage");
/// `<api id>/<hours since the epoch, 10 digits>` -> `ApiHourRecord`: one hour of an API's traffic
/// series with its minutes, saved in batches (traffic.rs).
pub const TRAFFIC_API_HOURS: TableDefinition<&str, &[u8]> = TableDefinition::new("traffic_api_hours");
/// `<app id>/<hours since the epoch, 10 digits>` -> `AppHourRecord`: one hour of an app's series.
pub const TRAFFIC_APP_HOURS: TableDefinition<&str, &[u8]> = TableDefinition::new("traffic_app_hours");
/// `<certificate id>/<api id>` -> `LastSeenRecord`: when the certificate last authenticated there.
pub const CERTIFICATE_LAST_SEEN: TableDefinition<&str, &[u8]> = TableDefinition::new("certificate_last_seen");

/// admin token id -> `AdminTokenRecord`: REST bearer tokens made with `certgate admin
/// create-token`. Only the token's SHA-256 is stored.
pub const ADMIN_TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("admin_tokens");
/// SHA-256 hex of an admin token -> admin token id (a presented token is found by its hash).
pub const ADMIN_TOKENS_BY_HASH: TableDefinition<&str, &str> = TableDefinition::new("admin_tokens_by_hash");

/// plan id -> `PlanRecord`: the limits and approval rule of a subscription.
pub const PLANS: TableDefinition<&str, &[u8]> = TableDefinition::new("plans");
/// product id -> `ProductRecord`: APIs bundled for consumers, with plans and certificate mode.
pub const PRODUCTS: TableDefinition<&str, &[u8]> = TableDefinition::new("products");
/// `<api id>/<product id>` -> empty: the products containing an API (a prefix scan).
pub const PRODUCTS_BY_API: TableDefinition<&str, &[u8]> = TableDefinition::new("products_by_api");
/// `<plan id>/<product id>` -> empty: the products offering a plan (a prefix scan).
pub const PRODUCTS_BY_PLAN: TableDefinition<&str, &[u8]> = TableDefinition::new("products_by_plan");
/// `<certificate id>/api:<api id>` or `<certificate id>/key:<key id>` -> empty: what uses a
/// certificate (allow lists, upstream trust, bindings), so "used by" is a prefix scan.
pub const CERTIFICATE_USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("certificate_users");

/// app id -> `AppRecord`: a consumer application of one organisation.
pub const APPS: TableDefinition<&str, &[u8]> = TableDefinition::new("apps");
/// `<organisation id>/<app id>` -> empty: the apps of an organisation (a prefix scan).
pub const APPS_BY_ORGANISATION: TableDefinition<&str, &[u8]> = TableDefinition::new("apps_by_organisation");
/// request id -> `AccessRequestRecord`: what a consumer asked for, and its state.
pub const ACCESS_REQUESTS: TableDefinition<&str, &[u8]> = TableDefinition::new("access_requests");
/// subscription id -> `SubscriptionRecord`: app x product, with the plan as a field.
pub const SUBSCRIPTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("subscriptions");
/// `<app id>/<product id>` -> empty, while the app has a pending request or a live subscription
/// for the product (one at a time: a second request is 409 `already_subscribed`); also
/// `<app id>/change-plan:<subscription id>` and `<app id>/renewal:<subscription id>` while a plan
/// change or a renewal of the app's subscription is pending (one of each at a time).
pub const APP_PRODUCT_CLAIMS: TableDefinition<&str, &[u8]> = TableDefinition::new("app_product_claims");
/// `<retire_by, 20 zero-padded digits>/<subscription id>/<certificate id>` -> empty: when a
/// replaced Self-Serve certificate leaves its subscription, in time order (portal::retirement).
pub const RETIREMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("retirements");
/// credential id -> `CredentialRecord`: a subscription's token digests and state.
pub const CREDENTIALS: TableDefinition<&str, &[u8]> = TableDefinition::new("credentials");
/// SHA-256 hex of an invite or password-reset token -> `LinkRecord`. The token itself is
/// never stored: it is shown once, in the link.
pub const ACCOUNT_LINKS: TableDefinition<&str, &[u8]> = TableDefinition::new("account_links");
/// `<user id>/<invite|reset>` -> token hash: the one live link of each kind per user.
pub const ACCOUNT_LINKS_BY_USER: TableDefinition<&str, &str> = TableDefinition::new("account_links_by_user");
/// `<org|product|plan|app>:<id>/<subscription id>` -> empty: the subscriptions of an
/// organisation, a product, a plan or an app (a prefix scan; kept by `portal::records`).
pub const SUBSCRIPTIONS_BY: TableDefinition<&str, &[u8]> = TableDefinition::new("subscriptions_by");
/// `<organisation id>/<certificate id>` -> empty: the certificates linked to an organisation
/// (kept with `CERTIFICATE_PORTAL`), so a Managed credential's set is a prefix scan.
pub const ORGANISATION_CERTIFICATES: TableDefinition<&str, &[u8]> = TableDefinition::new("organisation_certificates");
/// `all/<key>`, `state:<state>/<key>`, `org:<organisation id>/<key>`, `app:<app id>/<key>` ->
/// empty, where `<key>` is `<u64::MAX - created_at, 20 digits>:<request id>`: access requests
/// newest first, paged in the store (kept by `portal::records::put_request`).
pub const ACCESS_REQUESTS_BY: TableDefinition<&str, &[u8]> = TableDefinition::new("access_requests_by");
/// `<not_after, order-preserving 20 digits>:<certificate id>` -> empty: certificates soonest
/// expiry first, paged in the store (kept by `certificates::put_record`).
pub const CERTIFICATES_BY_EXPIRY: TableDefinition<&str, &[u8]> = TableDefinition::new("certificates_by_expiry");

/// webhook endpoint id (`whk_…`) -> `EndpointRecord`: a registered URL, its event filter and
/// its signing secret (never shown after creation).
pub const WEBHOOK_ENDPOINTS: TableDefinition<&str, &[u8]> = TableDefinition::new("webhook_endpoints");
/// delivery sequence number -> `DeliveryRecord`: one event for one endpoint, with its attempts.
/// Sequence numbers grow, so the table is in enqueue order.
pub const WEBHOOK_DELIVERIES: TableDefinition<u64, &[u8]> = TableDefinition::new("webhook_deliveries");
/// `<next attempt, unix ms, 20 digits>/<sequence, 20 digits>` -> the endpoint's id (empty when
/// queued by an older build): the outbox of pending deliveries, soonest first. A delivery in flight stays here until its outcome is recorded, so
/// one interrupted by a crash is sent again at the next start (at least once).
pub const WEBHOOK_QUEUE: TableDefinition<&str, &[u8]> = TableDefinition::new("webhook_queue");
/// `<endpoint id>/<sequence, 20 digits>` -> empty: the deliveries of an endpoint (its log).
pub const WEBHOOK_DELIVERIES_BY_ENDPOINT: TableDefinition<&str, &[u8]> = TableDefinition::new("webhook_deliveries_by_endpoint");
/// `<certificate id>/<days>` -> empty: `certificate.expiring` was emitted for this certificate at
/// this threshold (30 or 7 days), so each is sent once.
pub const WEBHOOK_EXPIRY_NOTICES: TableDefinition<&str, &[u8]> = TableDefinition::new("webhook_expiry_notices");
/// `<endpoint id>/open` (pending or paused deliveries) and `<endpoint id>/finished` (delivered or
/// failed) -> how many: the cap on the backlog and the log's pruning cost nothing to check.
pub const WEBHOOK_COUNTS: TableDefinition<&str, u64> = TableDefinition::new("webhook_counts");
/// `<endpoint id>/<sequence, 20 digits>` -> empty: an endpoint's finished deliveries, so the
/// oldest are found without reading the pending ones.
pub const WEBHOOK_FINISHED_BY_ENDPOINT: TableDefinition<&str, &[u8]> = TableDefinition::new("webhook_finished_by_endpoint");
