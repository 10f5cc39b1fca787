//! **lamport**: every producer process keeps a Lamport clock (incremented for each event
//! it creates, merged with the clock an application message carries); each event is
//! stamped with it. The consumer holds each event for `consumer.clock_window_ms` and
//! releases events in (clock, producer) order; an event whose stamp is below one the
//! group already released arrives too late to be put in its place and is dead-lettered.
//!
//! Promises: the applied order is a total order consistent with happens-before, so a
//! cause is never applied after its effect (no causality inversion). Costs: concurrent
//! events are ordered arbitrarily (by counter value, which says nothing about real time:
//! a busy producer's counter runs ahead of a quiet one's, and the quiet one's events then
//! look "old"); every event waits the window; a late event is dropped, which shows as a
//! lost update or a gap. Source: Lamport, "Time, Clocks, and the Ordering of Events in a
//! Distributed System" (CACM 1978); docs/known-outcomes.md ("Lamport order").

use super::Side::{Consumer, Producer};
use super::{Setting, Strategy};
use crate::scenario::{ClockKind, ConsumerPolicy, Scenario};

pub struct LamportClock;

impl Strategy for LamportClock {
    fn name(&self) -> &'static str {
        "lamport"
    }
    fn summary(&self) -> &'static str {
        "Lamport clocks, consumer releases in clock order after a window: never inverts causality, drops late events"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[
            Setting::set(Producer, "producer.clock", "lamport"),
            Setting::set(Consumer, "consumer.policy", "clock-ordered"),
        ];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.producer.clock = ClockKind::Lamport;
        scenario.consumer.policy = ConsumerPolicy::ClockOrdered;
    }
}
