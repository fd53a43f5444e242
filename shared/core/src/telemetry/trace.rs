//! One trace per provider delivery, across processes: ingest's request span starts it, the
//! `traceparent` NATS header carries it to the normalizer, the event record to delivery, and
//! every callback attempt sends it to the receiver (retries send the same one).
//!
//! When traces are exported, the spans are real OpenTelemetry spans parented through these
//! values. When they are not, the same `traceparent` values still travel (a fresh one where a
//! trace starts), so a receiver can always correlate — at the cost of a random number, not of
//! span bookkeeping on the hot path.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

static EXPORTED: AtomicBool = AtomicBool::new(false);

/// `tracing::info_span!(…)` when traces are exported, else `Span::none()`: spans nobody exports
/// cost the hot path nothing (the arguments are not even evaluated).
#[macro_export]
macro_rules! exported_span {
    ($($span:tt)*) => {
        if $crate::telemetry::trace::exported() {
            ::tracing::info_span!($($span)*)
        } else {
            ::tracing::Span::none()
        }
    };
}

pub(super) fn set_exported() {
    EXPORTED.store(true, Ordering::Relaxed);
}

/// True when spans are exported: only then are spans worth creating on the hot path.
pub fn exported() -> bool {
    EXPORTED.load(Ordering::Relaxed)
}

/// A W3C trace context (`00-<trace id>-<parent id>-<flags>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub flags: u8,
}

impl TraceParent {
    /// A new trace (sampled).
    pub fn fresh() -> Self {
        let mut b = [0u8; 24];
        crate::crypto::fill_random(&mut b);
        let mut trace_id = [0u8; 16];
        let mut span_id = [0u8; 8];
        trace_id.copy_from_slice(&b[..16]);
        span_id.copy_from_slice(&b[16..]);
        // All-zero ids are invalid; 2^-64 odds, but cheap to rule out.
        trace_id[0] |= 1;
        span_id[0] |= 1;
        Self {
            trace_id,
            span_id,
            flags: 1,
        }
    }

    /// A trace named by `seed` (the same seed, the same trace): for records written before
    /// they carried one, so their retries still share a trace.
    pub fn derived(seed: &str) -> Self {
        use sha2::Digest;
        let h = sha2::Sha256::digest(seed.as_bytes());
        let mut out = Self {
            trace_id: [0; 16],
            span_id: [0; 8],
            flags: 1,
        };
        out.trace_id.copy_from_slice(&h[..16]);
        out.span_id.copy_from_slice(&h[16..24]);
        out.trace_id[0] |= 1;
        out.span_id[0] |= 1;
        out
    }

    /// Reads a `traceparent` value; `None` unless it is a valid version-00 one.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.trim().split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != "00" || parts.next().is_some() || trace.len() != 32 || span.len() != 16 {
            return None;
        }
        let lower = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !lower(trace) || !lower(span) || flags.len() != 2 {
            return None;
        }
        let mut out = Self {
            trace_id: [0; 16],
            span_id: [0; 8],
            flags: u8::from_str_radix(flags, 16).ok()?,
        };
        hex::decode_to_slice(trace, &mut out.trace_id).ok()?;
        hex::decode_to_slice(span, &mut out.span_id).ok()?;
        let valid = out.trace_id != [0; 16] && out.span_id != [0; 8];
        valid.then_some(out)
    }

    fn of_span(span: &Span) -> Option<Self> {
        let cx = span.context();
        let sc = cx.span().span_context().clone();
        sc.is_valid().then(|| Self {
            trace_id: sc.trace_id().to_bytes(),
            span_id: sc.span_id().to_bytes(),
            flags: sc.trace_flags().to_u8(),
        })
    }

    fn remote(self) -> SpanContext {
        SpanContext::new(
            TraceId::from_bytes(self.trace_id),
            SpanId::from_bytes(self.span_id),
            TraceFlags::new(self.flags),
            true,
            TraceState::default(),
        )
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            hex::encode(self.trace_id),
            hex::encode(self.span_id),
            self.flags
        )
    }
}

/// Makes `span` a child of `incoming` (a `traceparent` value), if traces are exported and it
/// is valid.
pub fn set_parent(span: &Span, incoming: Option<&str>) {
    if !exported() {
        return;
    }
    if let Some(tp) = incoming.and_then(TraceParent::parse) {
        let cx = opentelemetry::Context::new().with_remote_span_context(tp.remote());
        let _ = span.set_parent(cx);
    }
}

/// Names an exported span once more is known than at its start (the matched route).
pub fn rename(span: &Span, name: String) {
    span.context().span().update_name(name);
}

/// The `traceparent` for what `span` hands on, where a trace starts (a provider request, a
/// poll): the span's own context when exported, else a fresh trace.
pub fn start(span: &Span) -> String {
    exported()
        .then(|| TraceParent::of_span(span))
        .flatten()
        .unwrap_or_else(TraceParent::fresh)
        .to_string()
}

/// The `traceparent` for what `span` hands on, continuing `incoming`: `span` becomes its child
/// (exported) or `incoming` travels on as it is (not exported); a fresh trace if there is none.
pub fn continue_from(span: &Span, incoming: Option<&str>) -> String {
    set_parent(span, incoming);
    if exported() {
        if let Some(tp) = TraceParent::of_span(span) {
            return tp.to_string();
        }
    }
    incoming
        .and_then(TraceParent::parse)
        .unwrap_or_else(TraceParent::fresh)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_refuses_malformed_values() {
        let raw = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let tp = TraceParent::parse(raw).expect("valid");
        assert_eq!(tp.to_string(), raw);
        assert_eq!(tp.flags, 1);
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn without_export_a_trace_is_continued_as_is_or_started_fresh() {
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let span = Span::none();
        assert_eq!(continue_from(&span, Some(incoming)), incoming);
        let a = TraceParent::parse(&continue_from(&span, Some("garbage"))).expect("fresh");
        let b = TraceParent::parse(&start(&span)).expect("fresh");
        assert_ne!(a.trace_id, b.trace_id);
        assert_eq!(a.flags, 1);
    }
}
