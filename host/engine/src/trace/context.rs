//! W3C trace context: the ids of a span and their `traceparent` / `tracestate` text.

use std::fmt;

use crate::history::{ExecutionStarted, TraceContext};

/// A 16-byte trace id, written as 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id, written as 16 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId(pub [u8; 8]);

impl TraceId {
    /// From 32 hex digits; `None` if malformed or all zero (invalid in W3C).
    pub fn parse(hex: &str) -> Option<Self> {
        let mut id = [0u8; 16];
        decode_hex(hex, &mut id)?;
        (id != [0; 16]).then_some(Self(id))
    }
}

impl SpanId {
    /// From 16 hex digits; `None` if malformed or all zero (invalid in W3C).
    pub fn parse(hex: &str) -> Option<Self> {
        let mut id = [0u8; 8];
        decode_hex(hex, &mut id)?;
        (id != [0; 8]).then_some(Self(id))
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(hex(&self.0, &mut [0; 32]))
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(hex(&self.0, &mut [0; 16]))
    }
}

/// `bytes` as lowercase hex, written into `out` (twice as long).
fn hex<'a>(bytes: &[u8], out: &'a mut [u8]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
    std::str::from_utf8(out).unwrap_or_default()
}

/// Appends `bytes` (at most 16) as lowercase hex.
fn push_hex(out: &mut String, bytes: &[u8]) {
    out.push_str(hex(bytes, &mut [0; 32][..bytes.len() * 2]));
}

/// The longest `tracestate` kept; a longer one is dropped, as Durable Functions does.
pub const MAX_TRACE_STATE_LEN: usize = 513;

/// Where a span sits in its trace: what a `traceparent` header carries, and the vendor
/// `tracestate` that travels with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanContext {
    /// The trace.
    pub trace_id: TraceId,
    /// This span.
    pub span_id: SpanId,
    /// The `sampled` flag: unsampled spans propagate their context but are not exported.
    pub sampled: bool,
    /// The `tracestate` header value, if any.
    pub trace_state: Option<String>,
}

impl SpanContext {
    /// A sampled context without trace state.
    pub fn new(trace_id: TraceId, span_id: SpanId) -> Self {
        Self {
            trace_id,
            span_id,
            sampled: true,
            trace_state: None,
        }
    }

    /// Parses a `traceparent` header (`00-{trace id}-{span id}-{flags}`) and its `tracestate`.
    /// Later versions are read by their first four fields, as W3C asks; version `ff`, bad hex
    /// and all-zero ids give `None`.
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<Self> {
        let value = traceparent.trim();
        let mut parts = value.split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let mut v = [0u8; 1];
        decode_hex(version, &mut v)?;
        if v[0] == 0xff || (v[0] == 0 && parts.next().is_some()) {
            return None;
        }
        let mut f = [0u8; 1];
        decode_hex(flags, &mut f)?;
        let trace_state = tracestate
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= MAX_TRACE_STATE_LEN)
            .map(str::to_owned);
        Some(Self {
            trace_id: TraceId::parse(trace)?,
            span_id: SpanId::parse(span)?,
            sampled: f[0] & 1 == 1,
            trace_state,
        })
    }

    /// The `traceparent` header value of this span.
    pub fn traceparent(&self) -> String {
        let mut s = String::with_capacity(55);
        s.push_str("00-");
        push_hex(&mut s, &self.trace_id.0);
        s.push('-');
        push_hex(&mut s, &self.span_id.0);
        s.push_str(if self.sampled { "-01" } else { "-00" });
        s
    }

    /// A span of the same trace (same flags and state) with id `span_id`.
    pub fn child(&self, span_id: SpanId) -> Self {
        Self {
            span_id,
            ..self.clone()
        }
    }

    /// The trace context a history event carries to make this span the parent of what the
    /// event starts (`TraceParent`, `TraceState`).
    pub fn to_history(&self) -> TraceContext {
        TraceContext {
            trace_parent: Some(self.traceparent()),
            trace_state: self.trace_state.clone(),
            ..TraceContext::default()
        }
    }

    /// The span of an execution, as its `ExecutionStarted` records it (its trace context's
    /// `Id`); `None` for an execution that is not traced.
    pub fn of_execution(started: &ExecutionStarted) -> Option<Self> {
        let c = started.parent_trace_context.as_ref()?;
        Self::parse(c.id.as_deref()?, c.trace_state.as_deref())
    }

    /// The parent a history event's trace context names (its `TraceParent`).
    pub fn from_history(context: Option<&TraceContext>) -> Option<Self> {
        let c = context?;
        Self::parse(c.trace_parent.as_deref()?, c.trace_state.as_deref())
    }
}

fn decode_hex(hex: &str, out: &mut [u8]) -> Option<()> {
    let bytes = hex.as_bytes();
    if bytes.len() != out.len() * 2 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None, // W3C allows lowercase only
    };
    for (i, o) in out.iter_mut().enumerate() {
        *o = digit(bytes[2 * i])? << 4 | digit(bytes[2 * i + 1])?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn traceparent_round_trips() {
        let c = SpanContext::parse(PARENT, Some("congo=t61rcWkgMzE")).unwrap();
        assert_eq!(c.trace_id.to_string(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(c.span_id.to_string(), "b7ad6b7169203331");
        assert!(c.sampled);
        assert_eq!(c.trace_state.as_deref(), Some("congo=t61rcWkgMzE"));
        assert_eq!(c.traceparent(), PARENT);
        let h = c.to_history();
        assert_eq!(SpanContext::from_history(Some(&h)), Some(c));
    }

    #[test]
    fn malformed_traceparents_are_refused() {
        for bad in [
            "",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01",
        ] {
            assert_eq!(SpanContext::parse(bad, None), None, "{bad:?}");
        }
        // a later version may add fields
        assert!(SpanContext::parse(&format!("01{}-more", &PARENT[2..]), None).is_some());
    }

    #[test]
    fn unsampled_and_oversized_state() {
        let unsampled = PARENT.replace("-01", "-00");
        let c = SpanContext::parse(&unsampled, Some(&"a".repeat(600))).unwrap();
        assert!(!c.sampled);
        assert_eq!(c.trace_state, None);
        assert_eq!(c.traceparent(), unsampled);
    }
}
