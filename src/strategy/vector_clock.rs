//! **vector-clock**: each producer process keeps a vector clock (one counter per
//! producer, its own incremented per event, merged entry-wise with the clock an
//! application message carries) and stamps every event with it. The consumer group
//! delivers causally: an event of producer `p` stamped `v` is applied once the group has
//! applied `v[p] - 1` events of `p` and `v[q]` of every other producer `q`; until then it
//! is held (a member re-checks its held events at every poll, since another member's
//! applies can unblock them). Copies of events already delivered are discarded.
//!
//! Promises: exact causality: no event is ever applied before anything that happened
//! before it (and duplicates are harmless). Costs: O(producers) metadata per event;
//! buffering; and no timeout: an event that never arrives (lost in a producer crash,
//! given up after retries) blocks every later event of its producer for ever, which
//! shows as events still held at the end. Source: Fidge 1988, Mattern 1988; Birman,
//! Schiper, Stephenson, "Lightweight causal and atomic group multicast" (TOCS 1991);
//! docs/known-outcomes.md.

use super::Side::{Consumer, Producer};
use super::{Setting, Strategy};
use crate::scenario::{ClockKind, ConsumerPolicy, Scenario};

pub struct VectorClock;

impl Strategy for VectorClock {
    fn name(&self) -> &'static str {
        "vector-clock"
    }
    fn summary(&self) -> &'static str {
        "vector clocks with causal delivery: never inverts causality; a lost event stalls its producer's successors"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[
            Setting::set(Producer, "producer.clock", "vector"),
            Setting::set(Consumer, "consumer.policy", "causal-delivery"),
        ];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.producer.clock = ClockKind::Vector;
        scenario.consumer.policy = ConsumerPolicy::CausalDelivery;
    }
}
