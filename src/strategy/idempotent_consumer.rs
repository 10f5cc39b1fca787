//! **idempotent-consumer**: the consumer remembers the ids of the events it applied (a
//! processed-id table beside the projection) and discards any event it sees again.
//!
//! Promises: duplicates, from producer retries, resends or consumer redeliveries, become
//! harmless: every event is applied at most once. Costs: an id store that grows with the
//! stream (here unbounded); it does nothing for order. Source: docs/known-outcomes.md
//! ("idempotent consumer"); microservices.io, "Idempotent consumer".

use super::Side::Consumer;
use super::{Setting, Strategy};
use crate::scenario::{ConsumerPolicy, Scenario};

pub struct IdempotentConsumer;

impl Strategy for IdempotentConsumer {
    fn name(&self) -> &'static str {
        "idempotent-consumer"
    }
    fn summary(&self) -> &'static str {
        "consumer keeps a processed-id store: duplicates are discarded, order is not fixed"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[Setting::set(Consumer, "consumer.policy", "idempotent-consumer")];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.consumer.policy = ConsumerPolicy::IdempotentConsumer;
    }
}
