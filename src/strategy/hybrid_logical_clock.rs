//! **hlc**: hybrid logical clocks: each producer process stamps events with (l, c), where
//! `l` is the largest physical time it has seen (its own local clock, or one carried by
//! a message) and `c` counts events within one `l`. The consumer orders by (l, c,
//! producer) exactly as the `lamport` strategy does: hold for `consumer.clock_window_ms`,
//! release in stamp order, dead-letter what arrives below the released stamp.
//!
//! Promises: as Lamport, a total order consistent with happens-before (never a causality
//! inversion), and stamps stay within the clock skew of physical time, so concurrent
//! events from producers with unequal rates are ordered roughly by when they happened,
//! and far fewer arrive "late" than with a plain counter. Costs: the window; skew larger
//! than the window still makes a fast clock's events hold back a slow one's. Source:
//! Kulkarni, Demirbas et al., "Logical Physical Clocks" (OPODIS 2014); docs/known-outcomes.md.

use super::Side::{Consumer, Producer};
use super::{Setting, Strategy};
use crate::scenario::{ClockKind, ConsumerPolicy, Scenario};

pub struct HybridLogicalClock;

impl Strategy for HybridLogicalClock {
    fn name(&self) -> &'static str {
        "hlc"
    }
    fn summary(&self) -> &'static str {
        "hybrid logical clocks, released in stamp order after a window: causal, close to physical time"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[
            Setting::set(Producer, "producer.clock", "hybrid"),
            Setting::set(Consumer, "consumer.policy", "clock-ordered"),
        ];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.producer.clock = ClockKind::Hybrid;
        scenario.consumer.policy = ConsumerPolicy::ClockOrdered;
    }
}
