//! Reading and writing the dates of polled records: Java patterns (via [`super::java_date`]),
//! `milliseconds`, and time zones given as `UTC`/`GMT`/`GMT+2`/`+02:00`.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

use super::java_date;

/// A fixed offset for a zone name; unknown names are UTC (validated at provisioning).
pub fn offset(tz: Option<&str>) -> FixedOffset {
    let utc = FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!("0 is a valid offset"));
    let Some(t) = tz.map(str::trim).filter(|t| !t.is_empty()) else {
        return utc;
    };
    let rest = t
        .strip_prefix("GMT")
        .or_else(|| t.strip_prefix("UTC"))
        .unwrap_or(t);
    let (sign, digits) = match rest.chars().next() {
        Some('+') => (1, &rest[1..]),
        Some('-') => (-1, &rest[1..]),
        _ => return utc,
    };
    let digits: String = digits.chars().filter(|c| c.is_ascii_digit()).collect();
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().unwrap_or(0), 0),
        3 | 4 => {
            let (h, m) = digits.split_at(digits.len() - 2);
            (h.parse::<i32>().unwrap_or(0), m.parse::<i32>().unwrap_or(0))
        }
        _ => (0, 0),
    };
    FixedOffset::east_opt(sign * (h * 3600 + m * 60)).unwrap_or(utc)
}

/// Formats epoch ms with a pattern (`milliseconds` = the number) in a zone.
pub fn format(ms: i64, pattern: &str, tz: Option<&str>) -> Result<String, String> {
    if pattern == "milliseconds" {
        return Ok(ms.to_string());
    }
    let zone = offset(tz);
    let fmt = if zone.local_minus_utc() == 0 {
        java_date::to_chrono_utc(pattern)?
    } else {
        java_date::to_chrono(pattern)?
    };
    let dt = zone
        .timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| format!("{ms} is out of range"))?;
    // A format chrono cannot render is an error here, never a panic.
    let mut out = String::new();
    std::fmt::Write::write_fmt(&mut out, format_args!("{}", dt.format(&fmt)))
        .map_err(|_| format!("date pattern {pattern:?} cannot be written"))?;
    Ok(out)
}

/// Reads a record's date value into epoch ms.
pub fn parse(value: &Value, pattern: Option<&str>, tz: Option<&str>) -> Option<i64> {
    if let Some(n) = value.as_i64() {
        return Some(n);
    }
    let raw = value.as_str()?.trim();
    // Java's ISO 8601 zone letters (`X…`) write a zero offset as `Z`; chrono reads offsets only.
    let zulu;
    let s = match (pattern, raw.strip_suffix('Z')) {
        (Some(p), Some(rest)) if p.contains('X') => {
            zulu = if p.contains("XXX") {
                format!("{rest}+00:00")
            } else {
                format!("{rest}+0000")
            };
            zulu.as_str()
        }
        _ => raw,
    };
    match pattern {
        Some("milliseconds") => s.parse().ok(),
        Some(p) => {
            let fmt = java_date::to_chrono(p).ok()?;
            // Java's `.SSS` accepts any number of fraction digits; chrono's `%.f` does.
            let fmt = fmt.replace(".%3f", "%.f");
            if let Ok(dt) = DateTime::parse_from_str(s, &fmt) {
                return Some(dt.timestamp_millis());
            }
            if let Ok(n) = NaiveDateTime::parse_from_str(s, &fmt) {
                return offset(tz)
                    .from_local_datetime(&n)
                    .single()
                    .map(|d| d.timestamp_millis());
            }
            NaiveDate::parse_from_str(s, &fmt)
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .and_then(|n| offset(tz).from_local_datetime(&n).single())
                .map(|d| d.timestamp_millis())
        }
        None => DateTime::parse_from_rfc3339(s)
            .map(|d| d.timestamp_millis())
            .ok()
            .or_else(|| {
                // Salesforce writes +0000 offsets.
                DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
                    .ok()
                    .map(|d| d.timestamp_millis())
            }),
    }
}

/// Epoch ms as RFC 3339 UTC.
pub fn iso(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_and_parses_in_zones() {
        let ms = 1_700_000_000_123;
        assert_eq!(
            format(ms, "yyyy-MM-dd'T'HH:mm:ss'Z'", Some("GMT")).as_deref(),
            Ok("2023-11-14T22:13:20Z")
        );
        assert_eq!(
            format(ms, "yyyy-MM-dd HH:mm", Some("GMT+2")).as_deref(),
            Ok("2023-11-15 00:13")
        );
        assert_eq!(
            format(ms, "milliseconds", None).as_deref(),
            Ok("1700000000123")
        );
        assert_eq!(
            parse(
                &json!("2023-11-14T22:13:20Z"),
                Some("yyyy-MM-dd'T'HH:mm:ss'Z'"),
                None
            ),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parse(
                &json!("2023-11-15 00:13:20"),
                Some("yyyy-MM-dd HH:mm:ss"),
                Some("+02:00")
            ),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parse(&json!("2015-10-13T03:26:48.000+0000"), None, None),
            Some(1_444_706_808_000)
        );
        assert_eq!(parse(&json!(1234), Some("milliseconds"), None), Some(1234));
        assert_eq!(
            parse(
                &json!("2023-11-14T22:13:20.5+01:00"),
                Some("yyyy-MM-dd'T'HH:mm:ss.SSSXXX"),
                None
            ),
            Some(1_699_996_400_500)
        );
    }

    #[test]
    fn iso_zone_letters_write_and_read_z_as_java_does() {
        let ms = 1_700_000_000_000;
        let p = "yyyy-MM-dd'T'HH:mm:ssXXX";
        assert_eq!(format(ms, p, None).as_deref(), Ok("2023-11-14T22:13:20Z"));
        assert_eq!(
            format(ms, p, Some("GMT+2")).as_deref(),
            Ok("2023-11-15T00:13:20+02:00")
        );
        assert_eq!(
            parse(&json!("2023-11-14T22:13:20Z"), Some(p), None),
            Some(ms)
        );
        assert_eq!(
            parse(
                &json!("2023-11-14T22:13:20Z"),
                Some("yyyy-MM-dd'T'HH:mm:ssX"),
                None
            ),
            Some(ms)
        );
        assert_eq!(
            parse(&json!("2023-11-15T00:13:20+02:00"), Some(p), None),
            Some(ms)
        );
    }
}
