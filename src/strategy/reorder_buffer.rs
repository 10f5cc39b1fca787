//! **reorder-buffer**: each event carries its entity's sequence number (1, 2, …); the
//! consumer applies them in order, holds early ones in a buffer, discards late ones (a
//! sequence already passed: dead-lettered), and after `consumer.reorder_timeout_ms`
//! without the missing one (or when `consumer.reorder_capacity` events are held) skips the
//! gap.
//!
//! Promises: per-entity order of what is applied, or a visible gap. Costs: latency up to
//! the timeout, buffer memory; a lost event is skipped after the timeout, and one that
//! arrives later than that is dropped. Buffered events die with the consumer. Source:
//! Camel Resequencer EIP (timeout, late arrivals); docs/known-outcomes.md.

use super::Side::Consumer;
use super::{Setting, Strategy};
use crate::scenario::{ConsumerPolicy, Scenario};

pub struct ReorderBuffer;

impl Strategy for ReorderBuffer {
    fn name(&self) -> &'static str {
        "reorder-buffer"
    }
    fn summary(&self) -> &'static str {
        "sequence numbers + consumer reorder buffer: in order or a visible gap after a timeout"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[Setting::set(Consumer, "consumer.policy", "reorder-buffer")];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.consumer.policy = ConsumerPolicy::ReorderBuffer;
    }
}
