//! **idempotent-consumer**: the consumer remembers the ids of the events it applied (a
//! processed-id table beside the projection) and discards any event it sees again.
//!
//! Promises: duplicates, from producer retries, resends or consumer redeliveries, become
//! harmless: every event is applied at most once. Costs: an id store that grows with the
//! stream (here unbounded); it does nothing for order. Source: docs/known-outcomes.md
//! ("idempotent consumer"); microservices.io, "Idempotent consumer".

use super::Side::Consumer;
use super::{ConsumerCx, ConsumerHooks, Delivery, Setting, Setup, Strategy};
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
        scenario.consumer.policy = ConsumerPolicy("idempotent-consumer");
    }
    fn consumer_hooks(&self, _: &mut Setup<'_>) -> Option<Box<dyn ConsumerHooks>> {
        Some(Box::new(Dedup))
    }
}

/// The consumer side: the processed-id table is written with each apply, in the same
/// transaction ([`ConsumerCx::processed`]).
struct Dedup;

impl ConsumerHooks for Dedup {
    fn on_record(&mut self, cx: &mut ConsumerCx<'_, '_>, record: Delivery) {
        if cx.processed(record.event) {
            cx.discard(record, "duplicate");
        } else {
            cx.apply(record);
        }
    }
}
