//! **outbox**: the transactional outbox with a single relay. The service writes each
//! event into an outbox table in the same transaction as its state change; one relay
//! reads the table in commit order and publishes one row at a time, marking rows done when
//! the broker acknowledges them. After a relay crash, the restarted relay publishes again
//! every row it had not seen acknowledged.
//!
//! In ordo: events come from a durable source (`workload.durable_source`) whose rows are
//! marked one by one (`workload.relay_flush_ms = 0`), the relay is the producer with one
//! request in flight, key partitioning, and no delivery timeout to speak of (a relay keeps
//! a row until the broker takes it: `producer.delivery_timeout_ms` at its maximum).
//!
//! Promises: per-aggregate order (rows go out in commit order, one at a time), no event
//! lost when the relay dies. Costs: relay latency (one request at a time); duplicates
//! after a relay restart (rows published but not yet marked); order only within one
//! service's outbox. Source: microservices.io, "Transactional outbox"; docs/known-outcomes.md
//! §3–4 ("outbox + single relay, key = aggregate").

use super::Side::Producer;
use super::{Setting, Strategy};
use crate::scenario::{Partitioner, Scenario};

pub struct TransactionalOutbox;

impl Strategy for TransactionalOutbox {
    fn name(&self) -> &'static str {
        "outbox"
    }
    fn summary(&self) -> &'static str {
        "transactional outbox, single relay publishing in commit order: order per aggregate, duplicates on relay restart"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[
            Setting::set(Producer, "workload.durable_source", "true"),
            Setting::set(Producer, "workload.relay_flush_ms", "0"),
            Setting::at_most(Producer, "producer.max_in_flight", 1),
            Setting::set(Producer, "producer.partitioner", "key"),
            Setting::set(Producer, "producer.delivery_timeout_ms", "86400000"),
        ];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.workload.durable_source = true;
        scenario.workload.relay_flush_ms = 0;
        scenario.producer.max_in_flight = 1;
        scenario.producer.partitioner = Partitioner::Key;
        // The relay never gives a row up: it keeps it until the broker takes it.
        scenario.producer.delivery_timeout_ms = 86_400_000;
    }
}
