//! **versioned**: each event carries its entity's version; the consumer applies only
//! version = current + 1, holds later versions until the gap fills, and discards older
//! ones. It never skips.
//!
//! Promises: no out-of-order or repeated partial update, ever. Costs: an entity stalls for
//! good on a lost version (its later events wait for ever), and held events use memory.
//! Its events are deltas (partial updates); `full-state` is the variant whose events carry
//! the whole state and may skip ahead. Source: docs/known-outcomes.md ("versioned
//! consumer").

use super::Side::Consumer;
use super::{ConsumerHooks, Metadata, Setting, Setup, Strategy};
use crate::scenario::{ConsumerPolicy, Scenario};

pub struct VersionedConsumer;

impl Strategy for VersionedConsumer {
    fn name(&self) -> &'static str {
        "versioned"
    }
    fn summary(&self) -> &'static str {
        "apply only version = current + 1, hold later ones: never out of order, stalls on a loss"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[Setting::set(Consumer, "consumer.policy", "versioned")];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.consumer.policy = ConsumerPolicy("versioned");
    }
    fn metadata(&self) -> Metadata {
        Metadata { seq: true, ts: false }
    }
    /// The reorder buffer's mechanism, never skipping a gap.
    fn consumer_hooks(&self, setup: &mut Setup<'_>) -> Option<Box<dyn ConsumerHooks>> {
        Some(Box::new(super::reorder_buffer::InSequence::new(setup, false)))
    }
}
