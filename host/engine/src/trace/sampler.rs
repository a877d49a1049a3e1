//! Which traces are recorded: OpenTelemetry's samplers (`always_on`, `always_off`,
//! `traceidratio`, each on its own or parent-based). A trace sampled out costs nothing: no
//! span is made, and nothing of it is written into history.

use super::context::{SpanContext, TraceId};

/// A sampler: a ratio of trace ids, deferring to the parent's decision when parent-based.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampler {
    /// The share of new traces recorded, 0 to 1.
    pub ratio: f64,
    /// Follow the caller's `sampled` flag when there is a caller.
    pub parent_based: bool,
}

impl Default for Sampler {
    /// `parentbased_always_on`, OpenTelemetry's default.
    fn default() -> Self {
        Self {
            ratio: 1.0,
            parent_based: true,
        }
    }
}

impl Sampler {
    /// Whether a span of trace `trace_id` under `parent` (none for a new trace) is recorded.
    pub fn samples(&self, trace_id: TraceId, parent: Option<&SpanContext>) -> bool {
        match parent {
            Some(p) if self.parent_based => p.sampled,
            _ => self.ratio_samples(trace_id),
        }
    }

    /// The trace id ratio decision: the id's rightmost 7 bytes (the random part W3C trace
    /// context level 2 promises, and all random in ids made from a v4 UUID, whose 9th byte
    /// holds the variant) below `ratio` of their range.
    fn ratio_samples(&self, trace_id: TraceId) -> bool {
        if self.ratio >= 1.0 {
            return true;
        }
        if self.ratio <= 0.0 || self.ratio.is_nan() {
            return false;
        }
        let mut low = [0u8; 8];
        low[1..].copy_from_slice(&trace_id.0[9..]);
        // 2^56 as f64; the product is below it.
        let bound = (self.ratio * 72_057_594_037_927_936.0) as u64;
        u64::from_be_bytes(low) < bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::span::{span_id_from, trace_id_from};

    #[test]
    fn parents_decide_unless_not_parent_based() {
        let id = trace_id_from(7);
        let parent = |sampled| SpanContext {
            sampled,
            ..SpanContext::new(id, span_id_from(1))
        };
        let default = Sampler::default();
        assert!(default.samples(id, None));
        assert!(!default.samples(id, Some(&parent(false))));
        let never = Sampler {
            ratio: 0.0,
            parent_based: true,
        };
        assert!(never.samples(id, Some(&parent(true))), "parent-based");
        assert!(!never.samples(id, None));
        let own = Sampler {
            ratio: 0.0,
            parent_based: false,
        };
        assert!(!own.samples(id, Some(&parent(true))));
    }

    #[test]
    fn a_ratio_samples_about_that_share() {
        let tenth = Sampler {
            ratio: 0.1,
            parent_based: true,
        };
        let sampled = (0..10_000u64)
            .filter(|i| {
                // spread ids over the range, as random ones are, with a v4 UUID's fixed bits
                let random = u128::from(i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let id = random | (random << 64) | (0b10 << 62) | (4 << 76);
                tenth.samples(trace_id_from(id), None)
            })
            .count();
        assert!((900..1100).contains(&sampled), "{sampled}");
    }
}
