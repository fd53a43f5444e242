//! Request bodies as the original platform's documentation writes them.
//!
//! The seed documents' own JSON has two slips that clients copy verbatim: a missing comma
//! between two members on separate lines (Box), and a `}` that closes the body early, followed
//! by the remaining members (the events guide). A strict parse comes first; only when it fails
//! are these two repairs tried, and anything else is a 400 with the parser's message.

use serde_json::{Map, Value};

/// Parses a JSON object body, tolerating the two documented slips.
pub fn parse_object(raw: &[u8]) -> Result<Map<String, Value>, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "body is not UTF-8".to_string())?;
    match parse_repairing(text, 20) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("body must be a JSON object".into()),
        Err(e) => Err(e),
    }
}

fn parse_repairing(text: &str, budget: usize) -> Result<Value, String> {
    let err = match serde_json::from_str::<Value>(text) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    if budget == 0 {
        return Err(format!("malformed JSON: {err}"));
    }
    let msg = err.to_string();
    if msg.starts_with("expected `,` or `}`") || msg.starts_with("expected `,` or `]`") {
        if let Some(at) = offset_of(text, err.line(), err.column()) {
            let before = text[..at].trim_end();
            let next = text[at..].trim_start();
            let prev_ends_value =
                before.ends_with(['"', '}', ']']) || before.ends_with(char::is_alphanumeric);
            if text[before.len()..at].contains('\n') && prev_ends_value && next.starts_with('"') {
                let repaired = format!("{},{}", &text[..before.len()], &text[before.len()..]);
                return parse_repairing(&repaired, budget - 1);
            }
        }
    }
    if msg.starts_with("trailing characters") {
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        if let Some(Ok(Value::Object(mut first))) = stream.next() {
            let rest = text[stream.byte_offset()..].trim_start();
            if let Some(members) = rest.strip_prefix(',') {
                if let Value::Object(more) = parse_repairing(&format!("{{{members}"), budget - 1)? {
                    first.extend(more);
                    return Ok(Value::Object(first));
                }
            }
        }
    }
    Err(format!("malformed JSON: {err}"))
}

/// Byte offset of serde_json's 1-based line and column (column points at the bad character).
fn offset_of(text: &str, line: usize, column: usize) -> Option<usize> {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return Some(offset + column.saturating_sub(1).min(l.len()));
        }
        offset += l.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_json_passes_through() {
        let m = parse_object(br#"{"a": 1}"#).expect("valid");
        assert_eq!(m["a"], 1);
    }

    #[test]
    fn missing_comma_between_lines_is_repaired() {
        let body =
            "{\n\"configuration\": {\n\"a\": \"x\"\n\"b\": true,\n\"c\": 1\n},\n\"name\": \"n\"\n}";
        let m = parse_object(body.as_bytes()).expect("repaired");
        assert_eq!(m["configuration"]["b"], true);
        assert_eq!(m["name"], "n");
    }

    #[test]
    fn early_closing_brace_is_repaired() {
        let body = "{\n \"element\": {\"key\": \"dropbox\"},\n \"oauth.api.key\": \"k\",\n \"document.tagging\": false\n },\n \"tags\": [\"t\"],\n \"name\": \"n\"\n}";
        let m = parse_object(body.as_bytes()).expect("repaired");
        assert_eq!(m["oauth.api.key"], "k");
        assert_eq!(m["name"], "n");
        assert_eq!(m["tags"][0], "t");
    }

    #[test]
    fn garbage_is_still_an_error() {
        assert!(parse_object(b"{\"a\": }").is_err());
        assert!(parse_object(b"[1]").is_err());
        assert!(
            parse_object(b"{\"a\": 1 \"b\": 2}").is_err(),
            "same line is not repaired"
        );
    }
}
