//! Logs: one JSON object per line on stdout with `timestamp`, `level`, `service`, `target`,
//! `message` and the event's fields. `RUST_LOG` filters (default `info`).
//!
//! Secrets never reach a log line because no code passes them to a log macro: secret values are
//! `secrecy` types or sealed strings, and request logging records method, route and status only.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Stdout that never fails: a process whose log reader went away (a closed pipe) must keep
/// working and still shut down cleanly, so write errors are dropped here rather than reported
/// (the subscriber would report them on stderr, which is usually the same closed pipe, and
/// panic).
pub(super) struct StdoutIgnoringErrors;

impl std::io::Write for StdoutIgnoringErrors {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stdout().write_all(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stdout().flush();
        Ok(())
    }
}

pub(super) struct JsonLine {
    pub service: &'static str,
}

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut map = Map::new();
        map.insert(
            "timestamp".into(),
            Value::String(crate::time::now_rfc3339()),
        );
        map.insert("level".into(), Value::String(meta.level().to_string()));
        map.insert("service".into(), Value::String(self.service.to_string()));
        map.insert("target".into(), Value::String(meta.target().to_string()));
        event.record(&mut FieldsToJson(&mut map));
        writeln!(writer, "{}", Value::Object(map))
    }
}

struct FieldsToJson<'a>(&'a mut Map<String, Value>);

impl Visit for FieldsToJson<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(
            field.name().to_string(),
            Value::String(format!("{value:?}")),
        );
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_string(), Value::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), Value::Bool(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().to_string(), Value::String(value.to_string()));
    }
}
