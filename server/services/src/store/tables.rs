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
