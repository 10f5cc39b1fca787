//! **lww**: last write wins by timestamp: each event carries the producer's local clock at
//! creation; the consumer applies an event only if its timestamp is newer than the
//! entity's latest, and discards it as stale otherwise.
//!
//! Promises: with synchronised clocks, the projection converges to the latest write
//! whatever the delivery order. Costs: nothing to buffer, but a producer whose clock runs
//! behind writes "old" timestamps: its genuinely later updates are discarded (lost
//! updates), and the applied order can invert causality. Source: docs/known-outcomes.md
//! ("timestamp / last-write-wins"); Kleppmann, DDIA ch. 8 (unreliable clocks).

use super::Side::Consumer;
use super::{ConsumerCx, ConsumerHooks, Delivery, Metadata, Setting, Setup, Strategy, Table};
use crate::scenario::{ConsumerPolicy, Scenario};

pub struct TimestampLww;

impl Strategy for TimestampLww {
    fn name(&self) -> &'static str {
        "lww"
    }
    fn summary(&self) -> &'static str {
        "last write wins by producer timestamp: fine with synced clocks, skew loses updates"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[Setting::set(Consumer, "consumer.policy", "last-write-wins")];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.consumer.policy = ConsumerPolicy("last-write-wins");
    }
    fn metadata(&self) -> Metadata {
        Metadata { seq: false, ts: true }
    }
    fn consumer_hooks(&self, setup: &mut Setup<'_>) -> Option<Box<dyn ConsumerHooks>> {
        Some(Box::new(Lww { last: setup.table("lww-last-ts", i64::MIN) }))
    }
}

/// The consumer side: the group's store keeps each entity's latest applied timestamp
/// (updated with the apply, atomically).
struct Lww {
    last: Table,
}

impl ConsumerHooks for Lww {
    fn on_record(&mut self, cx: &mut ConsumerCx<'_, '_>, record: Delivery) {
        let (entity, ts) = (record.meta.entity, record.meta.ts);
        if ts > cx.get(self.last, entity) {
            cx.set(self.last, entity, ts);
            cx.apply(record);
        } else {
            cx.discard(record, "stale");
        }
    }
}
