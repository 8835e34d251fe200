//! RFC 9457 problem details: the one error body every certgate listener answers with.

use serde::{Deserialize, Serialize};

/// The media type of a problem body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem. `code` is certgate's stable, machine-readable extension member;
/// `title` is fixed per code and `detail` is the human message for this occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Problem {
    pub fn new(status: u16, code: &str, title: &str, detail: impl Into<Option<String>>) -> Self {
        Problem {
            type_uri: format!("urn:certgate:problem:{code}"),
            title: title.to_string(),
            status,
            code: code.to_string(),
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_uri_is_derived_from_the_code() {
        let p = Problem::new(404, "not_found", "Not found", None);
        assert_eq!(p.type_uri, "urn:certgate:problem:not_found");
        assert_eq!(p.status, 404);
        assert_eq!(p.detail, None);
    }
}
