//! Ids as the gateway's key map holds them. The map has an entry per credential (100,000 and
//! more), and an id as `String` costs 24 bytes plus a heap allocation of its 36 characters. Ids
//! that certgate makes (`<3-letter prefix>_<32 hex digits>`, `ids::new_id`) fit in 19 bytes
//! inline; any other id (imported, or written by a test) is kept as it is.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash)]
pub enum CompactId {
    /// `<prefix>_<digits as lowercase hex>`.
    Hex { prefix: [u8; 3], digits: [u8; 16] },
    Other(Box<str>),
}

impl CompactId {
    pub fn new(id: &str) -> CompactId {
        CompactId::parse_hex(id).unwrap_or_else(|| CompactId::Other(id.into()))
    }

    fn parse_hex(id: &str) -> Option<CompactId> {
        let bytes = id.as_bytes();
        if bytes.len() != 36 || bytes[3] != b'_' {
            return None;
        }
        let prefix: [u8; 3] = bytes[..3].try_into().ok()?;
        // Upper-case digits would not print back the same: only lowercase hex is compacted.
        let hex = &id[4..];
        if !prefix.iter().all(u8::is_ascii_alphanumeric) || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return None;
        }
        let mut digits = [0u8; 16];
        hex::decode_to_slice(hex, &mut digits).ok()?;
        Some(CompactId::Hex { prefix, digits })
    }

    /// Whether this is the id `id` (no allocation for a compact one).
    pub fn is(&self, id: &str) -> bool {
        match self {
            CompactId::Other(own) => own.as_ref() == id,
            hex => CompactId::parse_hex(id).as_ref() == Some(hex),
        }
    }
}

impl CompactId {
    /// The id as text (the gateway does this per request: one allocation, no formatter).
    pub fn as_string(&self) -> String {
        match self {
            CompactId::Hex { prefix, digits } => {
                let mut text = [0u8; 36];
                text[..3].copy_from_slice(prefix);
                text[3] = b'_';
                // 16 bytes always fit 32 hex digits.
                let _ = hex::encode_to_slice(digits, &mut text[4..]);
                String::from_utf8_lossy(&text).into_owned()
            }
            CompactId::Other(id) => id.to_string(),
        }
    }
}

impl fmt::Display for CompactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_string())
    }
}

impl fmt::Debug for CompactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl From<String> for CompactId {
    fn from(id: String) -> CompactId {
        CompactId::parse_hex(&id).unwrap_or_else(|| CompactId::Other(id.into_boxed_str()))
    }
}

impl From<&str> for CompactId {
    fn from(id: &str) -> CompactId {
        CompactId::new(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_ids_are_compact_and_print_back_the_same() {
        let id = "crd_0123456789abcdef0123456789abcdef";
        let compact = CompactId::new(id);
        assert!(matches!(compact, CompactId::Hex { .. }));
        assert_eq!(compact.to_string(), id);
        assert_eq!(compact.as_string(), id);
        assert!(compact.is(id));
        assert!(!compact.is("crd_0123456789abcdef0123456789abcdee"));
        assert!(!compact.is("sub_0123456789abcdef0123456789abcdef"));
    }

    #[test]
    fn other_ids_are_kept_as_they_are() {
        for id in ["key_1", "crd_0123456789ABCDEF0123456789abcdef", "cr/_0123456789abcdef0123456789abcdef", "", "abcd_0123456789abcdef0123456789abcde"] {
            let compact = CompactId::new(id);
            assert!(matches!(compact, CompactId::Other(_)), "{id}");
            assert_eq!(compact.to_string(), id);
            assert!(compact.is(id));
        }
        // A compact id and the same text kept whole are one id.
        assert!(CompactId::new("key_1").is("key_1"));
        assert!(!CompactId::new("key_1").is("key_2"));
    }

    #[test]
    fn it_is_smaller_than_a_string() {
        assert!(std::mem::size_of::<CompactId>() <= 24);
        assert_eq!(std::mem::size_of::<Option<CompactId>>(), std::mem::size_of::<CompactId>());
    }
}
