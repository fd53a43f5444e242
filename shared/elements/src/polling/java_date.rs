//! Java `SimpleDateFormat` patterns (`yyyy-MM-dd'T'HH:mm:ssXXX`, …) as chrono format strings.
//! Unknown pattern letters are an error, so a bad pattern is refused at provisioning.

/// Translates a pattern; `milliseconds` (epoch ms) is handled by callers, not here.
pub fn to_chrono(pattern: &str) -> Result<String, String> {
    translate(pattern, false)
}

/// As [`to_chrono`], for writing a date whose offset is zero: Java's ISO 8601 zone letters
/// (`X`, `XX`, `XXX`) then write `Z`, as Java does.
pub fn to_chrono_utc(pattern: &str) -> Result<String, String> {
    translate(pattern, true)
}

fn translate(pattern: &str, zero_offset: bool) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal; '' is a single quote.
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                push_literal(&mut out, chars[i]);
                i += 1;
            }
            if i == chars.len() {
                return Err(format!("unterminated quote in date pattern {pattern:?}"));
            }
            i += 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        if c == 'X' && zero_offset {
            out.push('Z');
            i += n;
            continue;
        }
        let spec = match (c, n) {
            ('y', 2) | ('Y', 2) => "%y",
            ('y', _) | ('Y', _) => "%Y",
            ('M', 1) => "%-m",
            ('M', 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', 1) => "%-d",
            ('d', _) => "%d",
            ('H', 1) => "%-H",
            ('H', _) => "%H",
            ('h', 1) => "%-I",
            ('h', _) => "%I",
            ('m', 1) => "%-M",
            ('m', _) => "%M",
            ('s', 1) => "%-S",
            ('s', _) => "%S",
            ('S', _) => "%3f",
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('D', _) => "%j",
            // chrono's `%#z` only parses; `%z` formats and parses `+hhmm`.
            ('X', 1) | ('X', 2) => "%z",
            ('X', _) => "%:z",
            ('Z', _) => "%z",
            ('z', _) => "%Z",
            _ => {
                return Err(format!(
                    "unsupported letter {c:?} in date pattern {pattern:?}"
                ))
            }
        };
        out.push_str(spec);
        i += n;
    }
    if out.is_empty() {
        return Err("empty date pattern".into());
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_patterns_translate() {
        assert_eq!(
            to_chrono("yyyy-MM-dd'T'HH:mm:ssXXX").as_deref(),
            Ok("%Y-%m-%dT%H:%M:%S%:z")
        );
        assert_eq!(
            to_chrono("yyyy-MM-dd HH:mm:ss").as_deref(),
            Ok("%Y-%m-%d %H:%M:%S")
        );
        assert_eq!(
            to_chrono("yyyy-MM-dd'T'HH:mm:ss.SSSZ").as_deref(),
            Ok("%Y-%m-%dT%H:%M:%S.%3f%z")
        );
        assert!(to_chrono("yyyy-qq").is_err());
        assert!(to_chrono("'open").is_err());
    }
}
