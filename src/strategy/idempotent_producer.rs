//! **idempotent**: `enable.idempotence = true` (with `acks = all`, at most 5 in flight).
//!
//! Promises: within one producer session, no duplicate and no reorder per partition: the
//! broker deduplicates the last five batches per producer id and rejects sequence gaps.
//! Costs: at most 5 requests in flight; nothing across producer restarts or application
//! resends (new PID or new sequence numbers). Source: KIP-98; apache/kafka
//! `ProducerStateEntry.java`, `ProducerAppendInfo.java`; docs/known-outcomes.md.

use super::Side::Producer;
use super::{Setting, Strategy};
use crate::scenario::{Acks, Scenario};

pub struct IdempotentProducer;

impl Strategy for IdempotentProducer {
    fn name(&self) -> &'static str {
        "idempotent"
    }
    fn summary(&self) -> &'static str {
        "idempotent producer (PID + sequence numbers): no duplicates or reorders within a session"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[
            Setting::set(Producer, "producer.idempotence", "true"),
            Setting::set(Producer, "producer.acks", "all"),
            Setting::at_most(Producer, "producer.max_in_flight", 5),
        ];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.producer.idempotence = true;
        scenario.producer.acks = Acks::All;
        scenario.producer.max_in_flight = scenario.producer.max_in_flight.min(5);
    }
}
