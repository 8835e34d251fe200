//! Schema migrations: `migrate` creates every table at open, records the schema version, and
//! brings a store written by an older build up to it, one step per version.

use redb::Database;

use super::{codec, tables, StoreError, SCHEMA_VERSION};

/// 1 -> 2: certificate facts gained keyUsage, the signature algorithm and the TLS library's
/// verdict (the one usability policy reads them): parse every stored certificate again.
fn refresh_certificate_facts(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    use redb::ReadableTable;
    use crate::certificates::CertificateRecord;
    let mut table = txn.open_table(tables::CERTIFICATES)?;
    let mut refreshed = Vec::new();
    for item in table.iter()? {
        let (key, value) = item?;
        let mut record: CertificateRecord = codec::decode("certificates", key.value(), value.value())?;
        if let Ok(facts) = certgate_core::pki::parse_der(&record.der) {
            record.facts = facts;
            refreshed.push(record);
        }
    }
    for record in refreshed {
        table.insert(record.facts.id.as_str(), codec::encode(&record)?.as_slice())?;
    }
    Ok(())
}

/// 2 -> 3: the "used by" index of certificates, built from every API and key.
fn index_certificate_users(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    let to_store = |e: crate::ServiceError| match e {
        crate::ServiceError::Store(e) => e,
        other => StoreError::Io(other.to_string()),
    };
    let apis = crate::apis::all(&txn.open_table(tables::APIS)?).map_err(to_store)?;
    for api in apis {
        let ids: Vec<String> = api.spec.certificate_ids().cloned().collect();
        crate::references::add(txn, tables::CERTIFICATE_USERS, &ids, &format!("api:{}", api.id)).map_err(to_store)?;
    }
    let keys = crate::keys::all(&txn.open_table(tables::KEYS)?).map_err(to_store)?;
    for key in keys {
        let ids = key.spec.bound_certificates.clone().unwrap_or_default();
        crate::references::add(txn, tables::CERTIFICATE_USERS, &ids, &format!("key:{}", key.id)).map_err(to_store)?;
    }
    Ok(())
}

/// 3 -> 4: the subscription and organisation-certificate indexes the gateway view's change
/// sets are found by.
fn index_portal(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    let to_store = |e: crate::ServiceError| match e {
        crate::ServiceError::Store(e) => e,
        other => StoreError::Io(other.to_string()),
    };
    crate::portal::records::index_subscriptions(txn).map_err(to_store)?;
    crate::portal::records::index_requests(txn).map_err(to_store)?;
    crate::certificates::index_expiry(txn).map_err(to_store)?;
    crate::certificates::index_organisation_certificates(txn).map_err(to_store)
}

/// Creates every table, records the schema version, and runs migrations from older versions.
pub(super) fn migrate(db: &Database) -> Result<(), StoreError> {
    use redb::ReadableTable;
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(tables::META)?;
        let found: Option<u32> = match meta.get("schema_version")? {
            Some(v) => Some(v.value().parse().map_err(|_| StoreError::Corrupt {
                table: "meta",
                key: "schema_version".into(),
                why: format!("not a number: {:?}", v.value()),
            })?),
            None => None,
        };
        match found {
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::SchemaTooNew { found: v, known: SCHEMA_VERSION })
            }
            // Migrations from older schema versions go here, one step per version.
            Some(v) => {
                if v < 2 {
                    refresh_certificate_facts(&txn)?;
                }
                if v < 3 {
                    index_certificate_users(&txn)?;
                }
                if v < 4 {
                    index_portal(&txn)?;
                }
            }
            None => {}
        }
        meta.insert("schema_version", SCHEMA_VERSION.to_string().as_str())?;
    }
    txn.open_table(tables::USERS)?;
    txn.open_table(tables::USERS_BY_EMAIL)?;
    txn.open_table(tables::SESSIONS)?;
    txn.open_table(tables::ORGANISATIONS)?;
    txn.open_table(tables::ORGANISATIONS_BY_NAME)?;
    txn.open_table(tables::CERTIFICATES)?;
    txn.open_table(tables::CERTIFICATE_PORTAL)?;
    txn.open_table(tables::AUDIT)?;
    txn.open_table(tables::APIS)?;
    txn.open_table(tables::APIS_BY_PATH)?;
    txn.open_table(tables::KEYS)?;
    txn.open_table(tables::QUOTA_USAGE)?;
    // Traffic series (new tables, created empty: no schema step needed).
    txn.open_table(tables::TRAFFIC_API_HOURS)?;
    txn.open_table(tables::TRAFFIC_APP_HOURS)?;
    txn.open_table(tables::CERTIFICATE_LAST_SEEN)?;
    txn.open_table(tables::ADMIN_TOKENS)?;
    txn.open_table(tables::ADMIN_TOKENS_BY_HASH)?;
    txn.open_table(tables::PLANS)?;
    txn.open_table(tables::PRODUCTS)?;
    txn.open_table(tables::PRODUCTS_BY_API)?;
    txn.open_table(tables::PRODUCTS_BY_PLAN)?;
    txn.open_table(tables::CERTIFICATE_USERS)?;
    txn.open_table(tables::APPS)?;
    txn.open_table(tables::APPS_BY_ORGANISATION)?;
    txn.open_table(tables::ACCESS_REQUESTS)?;
    txn.open_table(tables::SUBSCRIPTIONS)?;
    txn.open_table(tables::APP_PRODUCT_CLAIMS)?;
    txn.open_table(tables::CREDENTIALS)?;
    txn.open_table(tables::RETIREMENTS)?;
    txn.open_table(tables::ACCOUNT_LINKS)?;
    txn.open_table(tables::ACCOUNT_LINKS_BY_USER)?;
    txn.open_table(tables::SUBSCRIPTIONS_BY)?;
    txn.open_table(tables::ORGANISATION_CERTIFICATES)?;
    txn.open_table(tables::ACCESS_REQUESTS_BY)?;
    txn.open_table(tables::CERTIFICATES_BY_EXPIRY)?;
    // Webhooks (new tables, created empty: no schema step needed).
    txn.open_table(tables::WEBHOOK_ENDPOINTS)?;
    txn.open_table(tables::WEBHOOK_DELIVERIES)?;
    txn.open_table(tables::WEBHOOK_QUEUE)?;
    txn.open_table(tables::WEBHOOK_DELIVERIES_BY_ENDPOINT)?;
    txn.open_table(tables::WEBHOOK_EXPIRY_NOTICES)?;
    // Counts and the finished index, for a store whose deliveries were queued without them (no
    // schema step: the tables are new, and filled once from the deliveries).
    crate::webhooks::outbox::fill_counts(&txn).map_err(|e| match e {
        crate::ServiceError::Store(e) => e,
        other => StoreError::Io(other.to_string()),
    })?;
    // The certificate list's entries, for a store whose expiry order holds none yet (no schema
    // step: an empty value is still read correctly, from the record, only slower).
    crate::certificates::fill_listed(&txn).map_err(|e| match e {
        crate::ServiceError::Store(e) => e,
        other => StoreError::Io(other.to_string()),
    })?;
    txn.commit()?;
    Ok(())
}
