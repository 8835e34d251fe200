//! An access-log record as one line: the text or JSON layout of the binary's other log lines
//! (tracing-subscriber's `fmt` and `json`), so that one pipeline reads both. Pure.
//!
//! Every value from the request (the path, names) is quoted and escaped when it is not plain:
//! a request cannot start a line of its own or forge a field.

use std::fmt::Write;
use std::time::{Duration, SystemTime};

use super::AccessRecord;

/// The target the lines carry (as a tracing event's target would).
pub const TARGET: &str = "certgate::access";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The fields of a record in order; absent ones are left out.
enum Value<'a> {
    Text(&'a str),
    /// Made in the writer thread (a compact id as text).
    Owned(String),
    Number(u64),
    Millis(Duration),
}

fn fields(record: &AccessRecord) -> impl Iterator<Item = (&'static str, Value<'_>)> {
    let api = record.api.as_deref();
    let owner = record.owner.as_deref();
    [
        ("api", api.map(|a| Value::Text(&a.id))),
        ("api_name", api.map(|a| Value::Text(&a.name))),
        ("method", Some(Value::Text(record.method.as_str()))),
        ("path", Some(Value::Text(&record.path))),
        ("status", Some(Value::Number(u64::from(record.status)))),
        ("code", record.denial.map(Value::Text)),
        ("certificate", record.certificate.as_ref().map(|c| Value::Text(c.as_str()))),
        ("credential", record.credential.as_ref().map(|c| Value::Text(c.as_str()))),
        ("app", owner.map(|o| Value::Owned(o.app.as_string()))),
        ("organisation", owner.map(|o| Value::Owned(o.organisation.as_string()))),
        ("upstream_ms", record.upstream.map(Value::Millis)),
        ("duration_ms", Some(Value::Millis(record.duration))),
        ("bytes", Some(Value::Number(record.bytes))),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| (name, v)))
}

/// Appends the record's line (with its newline) to `out`.
pub fn format_line(out: &mut String, record: &AccessRecord, format: LogFormat) {
    match format {
        LogFormat::Text => text_line(out, record),
        LogFormat::Json => json_line(out, record),
    }
}

fn text_line(out: &mut String, record: &AccessRecord) {
    push_timestamp(out, record.at);
    let _ = write!(out, "  INFO {TARGET}: request");
    for (name, value) in fields(record) {
        out.push(' ');
        out.push_str(name);
        out.push('=');
        match value {
            Value::Text(text) => push_text_value(out, text),
            Value::Owned(text) => push_text_value(out, &text),
            Value::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Millis(d) => push_millis(out, d),
        }
    }
    out.push('\n');
}

fn json_line(out: &mut String, record: &AccessRecord) {
    out.push_str("{\"timestamp\":\"");
    push_timestamp(out, record.at);
    out.push_str("\",\"level\":\"INFO\",\"fields\":{\"message\":\"request\"");
    for (name, value) in fields(record) {
        let _ = write!(out, ",\"{name}\":");
        match value {
            Value::Text(text) => push_json_string(out, text),
            Value::Owned(text) => push_json_string(out, &text),
            Value::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Millis(d) => push_millis(out, d),
        }
    }
    let _ = writeln!(out, "}},\"target\":\"{TARGET}\"}}");
}

/// RFC 3339 in UTC with microseconds, as tracing-subscriber writes it.
fn push_timestamp(out: &mut String, at: SystemTime) {
    let t = time::OffsetDateTime::from(at);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    );
}

/// Milliseconds with three decimals (microsecond precision).
fn push_millis(out: &mut String, d: Duration) {
    let micros = d.as_micros();
    let _ = write!(out, "{}.{:03}", micros / 1000, micros % 1000);
}

/// Plain values (ids, codes, most paths) as they are; anything else quoted and escaped.
fn push_text_value(out: &mut String, text: &str) {
    let plain = !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~/:%@+,".contains(&b));
    if plain {
        out.push_str(text);
    } else {
        push_json_string(out, text);
    }
}

/// A JSON string: quotes, backslashes and every control character escaped (so no value can
/// end the line), and the Unicode line separators too.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use certgate_core::gateway::view::KeyOwner;

    use super::super::tests::record;
    use super::super::ShortId;
    use super::*;

    fn line(record: &AccessRecord, format: LogFormat) -> String {
        let mut out = String::new();
        format_line(&mut out, record, format);
        out
    }

    fn granted() -> AccessRecord {
        let mut r = record();
        r.status = 200;
        r.denial = None;
        r.certificate = Some(ShortId::certificate(&"0a".repeat(32)));
        r.credential = Some(ShortId::credential("crd_0123456789abcdef0123456789abcdef"));
        r.owner = Some(Arc::new(KeyOwner {
            app: "app_00000000000000000000000000000001".into(),
            organisation: "org_00000000000000000000000000000002".into(),
        }));
        r.upstream = Some(Duration::from_micros(1234));
        r
    }

    #[test]
    fn a_text_line_has_the_fields_in_order() {
        assert_eq!(
            line(&granted(), LogFormat::Text),
            "2026-11-24T14:36:47.250000Z  INFO certgate::access: request method=GET path=/orders/1 status=200 \
             certificate=0a0a0a0a0a0a0a0a credential=crd_01234567 app=app_00000000000000000000000000000001 \
             organisation=org_00000000000000000000000000000002 upstream_ms=1.234 duration_ms=1.500 bytes=120\n"
        );
    }

    #[test]
    fn a_denial_names_its_code() {
        let text = line(&record(), LogFormat::Text);
        assert!(text.contains(" status=404 code=api_not_found "), "{text}");
        assert!(!text.contains("credential="), "absent fields are left out: {text}");
    }

    #[test]
    fn a_json_line_is_one_object_in_tracings_layout() {
        let text = line(&granted(), LogFormat::Json);
        assert!(text.ends_with('\n') && text.lines().count() == 1);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["timestamp"], "2026-11-24T14:36:47.250000Z");
        assert_eq!(value["level"], "INFO");
        assert_eq!(value["target"], TARGET);
        let fields = &value["fields"];
        assert_eq!(fields["message"], "request");
        assert_eq!(fields["path"], "/orders/1");
        assert_eq!(fields["status"], 200);
        assert_eq!(fields["credential"], "crd_01234567");
        assert_eq!(fields["organisation"], "org_00000000000000000000000000000002");
        assert_eq!(fields["upstream_ms"], 1.234);
        assert_eq!(fields["bytes"], 120);
        assert!(fields.get("code").is_none());
    }

    #[test]
    fn a_path_cannot_forge_a_line_or_a_field() {
        let mut r = record();
        r.path = "/a b\n2026-01-01T00:00:00Z  INFO forged status=200 \"x\\".into();
        let text = line(&r, LogFormat::Text);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains(r#"path="/a b\n2026-01-01T00:00:00Z  INFO forged status=200 \"x\\" status=404"#), "{text}");
        let json = line(&r, LogFormat::Json);
        assert_eq!(json.lines().count(), 1);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["fields"]["path"], r.path.as_str());
        assert_eq!(value["fields"]["status"], 404);
    }

    #[test]
    fn control_characters_and_line_separators_are_escaped() {
        let mut out = String::new();
        push_json_string(&mut out, "a\u{1b}[31mb\u{2028}c\u{7f}");
        assert_eq!(out, r#""a\u001b[31mb\u2028c\u007f""#);
    }
}
