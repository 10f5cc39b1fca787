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
use super::{Setting, Strategy};
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
        scenario.consumer.policy = ConsumerPolicy::LastWriteWins;
    }
}
