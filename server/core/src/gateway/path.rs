//! Strict request paths (Envoy's `normalize_path` + `merge_slashes` refused instead of merged +
//! `path_with_escaped_slashes_action: REJECT_REQUEST`).
//!
//! The gateway routes on one string and forwards that same string, so the upstream can never
//! resolve a path into another API's prefix: percent-encoded unreserved characters are decoded,
//! the remaining escapes are uppercased, and anything an upstream might interpret differently
//! (dot-segments, empty segments, encoded slashes or backslashes, control bytes) is refused
//! rather than rewritten. Rewriting would break signed requests and still differ from what one
//! upstream or another does.

/// Why a request path is refused. Each is answered with 400 `invalid_path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// Not an absolute path (`*`, empty, or no leading `/`).
    NotAbsolute,
    /// A `.` or `..` segment, also encoded or followed by `;params`.
    DotSegment,
    /// `//`: an empty segment, which some upstreams merge.
    EmptySegment,
    /// `%2F`: a slash that some upstreams decode into a separator.
    EncodedSlash,
    /// `\` or `%5C`: a separator on some platforms.
    Backslash,
    /// `%` not followed by two hex digits.
    MalformedEscape,
    /// A control byte (or DEL), raw or encoded, or a raw byte outside ASCII.
    ControlByte,
}

impl PathError {
    /// A sentence for the problem's detail.
    pub fn reason(self) -> &'static str {
        match self {
            PathError::NotAbsolute => "The request path must start with '/'.",
            PathError::DotSegment => "The request path must not have '.' or '..' segments (also not percent-encoded).",
            PathError::EmptySegment => "The request path must not have empty segments ('//').",
            PathError::EncodedSlash => "The request path must not have an encoded slash (%2F).",
            PathError::Backslash => "The request path must not have a backslash, raw or encoded (%5C).",
            PathError::MalformedEscape => "The request path has a '%' that is not followed by two hex digits.",
            PathError::ControlByte => "The request path must not have control characters, raw or encoded.",
        }
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The canonical form of a request path (no query), or why it is refused.
pub fn normalise_request_path(raw: &str) -> Result<String, PathError> {
    let bytes = raw.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(PathError::NotAbsolute);
    }
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'%' => {
                let (Some(hi), Some(lo)) =
                    (bytes.get(i + 1).copied().and_then(hex_value), bytes.get(i + 2).copied().and_then(hex_value))
                else {
                    return Err(PathError::MalformedEscape);
                };
                let value = hi * 16 + lo;
                match value {
                    b'/' => return Err(PathError::EncodedSlash),
                    b'\\' => return Err(PathError::Backslash),
                    v if is_control(v) => return Err(PathError::ControlByte),
                    v if is_unreserved(v) => out.push(char::from(v)),
                    v => {
                        out.push('%');
                        out.push(char::from(b"0123456789ABCDEF"[usize::from(v >> 4)]));
                        out.push(char::from(b"0123456789ABCDEF"[usize::from(v & 0x0f)]));
                    }
                }
                i += 3;
            }
            b'\\' => return Err(PathError::Backslash),
            b if is_control(b) || !b.is_ascii() => return Err(PathError::ControlByte),
            b => {
                out.push(char::from(b));
                i += 1;
            }
        }
    }
    // Segments are checked on the decoded form, so `%2e%2e` is caught like `..`. The first
    // segment is before the leading '/', always empty; a trailing '/' gives a last empty
    // segment, which is an ordinary path.
    let segments: Vec<&str> = out.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    for (index, segment) in segments.iter().enumerate() {
        if segment.is_empty() && index != last {
            return Err(PathError::EmptySegment);
        }
        // `..;jsessionid=x` is `..` to servlet containers.
        let name = segment.split(';').next().unwrap_or(segment);
        if name == "." || name == ".." {
            return Err(PathError::DotSegment);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_of_tricky_paths() {
        let ok = |raw: &str, want: &str| assert_eq!(normalise_request_path(raw).as_deref(), Ok(want), "{raw}");
        let refused = |raw: &str, why: PathError| assert_eq!(normalise_request_path(raw), Err(why), "{raw}");

        ok("/", "/");
        ok("/open/x", "/open/x");
        ok("/open/x/", "/open/x/");
        ok("/open/%7Euser", "/open/~user");
        ok("/open/%41%62c", "/open/Abc");
        ok("/open/a%2db", "/open/a-b");
        ok("/open/a%20b", "/open/a%20b");
        ok("/open/a%3fb", "/open/a%3Fb");
        ok("/open/%e2%82%ac", "/open/%E2%82%AC");
        ok("/open/..x/x..", "/open/..x/x..");
        ok("/open/.well-known", "/open/.well-known");
        ok("/open/a;b=c", "/open/a;b=c");
        ok("/open/%25", "/open/%25");

        refused("", PathError::NotAbsolute);
        refused("*", PathError::NotAbsolute);
        refused("open/x", PathError::NotAbsolute);
        refused("/open/../private/x", PathError::DotSegment);
        refused("/open/./x", PathError::DotSegment);
        refused("/open/..", PathError::DotSegment);
        refused("/open/.", PathError::DotSegment);
        refused("/..", PathError::DotSegment);
        refused("/open/%2e%2e/private", PathError::DotSegment);
        refused("/open/%2E%2E/private", PathError::DotSegment);
        refused("/open/.%2E/private", PathError::DotSegment);
        refused("/open/%2e./private", PathError::DotSegment);
        refused("/open/%2e/private", PathError::DotSegment);
        refused("/open/..;/private", PathError::DotSegment);
        refused("/open/..;x=1/private", PathError::DotSegment);
        refused("/open/.;/private", PathError::DotSegment);
        refused("/open/..%2fprivate", PathError::EncodedSlash);
        refused("/open/..%2Fprivate", PathError::EncodedSlash);
        refused("/open%2f..%2fprivate", PathError::EncodedSlash);
        refused("//private", PathError::EmptySegment);
        refused("/open//x", PathError::EmptySegment);
        refused("/open///", PathError::EmptySegment);
        refused("/open/..\\private", PathError::Backslash);
        refused("/open\\x", PathError::Backslash);
        refused("/open/%5c..%5cprivate", PathError::Backslash);
        refused("/open/%5C", PathError::Backslash);
        refused("/open/%", PathError::MalformedEscape);
        refused("/open/%2", PathError::MalformedEscape);
        refused("/open/%zz", PathError::MalformedEscape);
        refused("/open/%%32%65", PathError::MalformedEscape);
        refused("/open/%00", PathError::ControlByte);
        refused("/open/%0a", PathError::ControlByte);
        refused("/open/%0D%0Aset-cookie:x", PathError::ControlByte);
        refused("/open/%7f", PathError::ControlByte);
        refused("/open/a\tb", PathError::ControlByte);
        refused("/open/\u{e9}", PathError::ControlByte);
    }

    #[test]
    fn the_canonical_form_is_a_fixed_point() {
        for raw in ["/a/%7e/%41", "/a/%3f%3F", "/x/%e2%82%ac/"] {
            let once = normalise_request_path(raw).unwrap();
            assert_eq!(normalise_request_path(&once).as_deref(), Ok(once.as_str()));
        }
    }
}
