//! Versioned values: one version byte, then the record as JSON.
//!
//! A record whose version byte is unknown, or whose body does not decode, is reported as
//! corrupt with its table and key: never a panic, never a silent default.

use serde::{de::DeserializeOwned, Serialize};

use super::StoreError;

pub trait Versioned: Serialize + DeserializeOwned {
    /// The version written by this build. Bump it and add a migration when the shape changes.
    const VERSION: u8;
}

pub fn encode<T: Versioned>(value: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = vec![T::VERSION];
    serde_json::to_writer(&mut out, value).map_err(|e| StoreError::Encode(e.to_string()))?;
    Ok(out)
}

pub fn decode<T: Versioned>(table: &'static str, key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt { table, key: key.to_string(), why };
    match bytes.split_first() {
        Some((&version, body)) if version == T::VERSION => {
            serde_json::from_slice(body).map_err(|e| corrupt(e.to_string()))
        }
        Some((&version, _)) => Err(corrupt(format!(
            "value version {version} is not known to this build (expected {})",
            T::VERSION
        ))),
        None => Err(corrupt("empty value".to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Thing {
        n: u32,
    }
    impl Versioned for Thing {
        const VERSION: u8 = 3;
    }

    #[test]
    fn round_trip() {
        let bytes = encode(&Thing { n: 7 }).unwrap();
        assert_eq!(bytes[0], 3);
        assert_eq!(decode::<Thing>("t", "k", &bytes).unwrap(), Thing { n: 7 });
    }

    #[test]
    fn unknown_version_empty_and_garbage_are_corrupt_not_panics() {
        for bad in [&b"\x04{\"n\":1}"[..], &b""[..], &b"\x03not json"[..]] {
            match decode::<Thing>("t", "k", bad) {
                Err(StoreError::Corrupt { table: "t", key, .. }) => assert_eq!(key, "k"),
                other => panic!("expected corrupt, got {other:?}"),
            }
        }
    }
}
