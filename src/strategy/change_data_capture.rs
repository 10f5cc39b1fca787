//! **cdc**: change data capture. The service only commits to its database; a connector
//! tails the database's commit log and publishes each change in commit order (as Debezium
//! does, running in Kafka Connect), keyed by entity, one request in flight (Kafka Connect's
//! worker producer has long defaulted to `max.in.flight.requests.per.connection = 1`).
//! Its restart position (the log position of the last change it knows was published) is
//! stored periodically, not per row (Kafka Connect's `offset.flush.interval.ms`, 60 s by
//! default): a restarted connector publishes again everything after the stored position,
//! acknowledged or not.
//!
//! In ordo: events come from a durable source (`workload.durable_source`), the relay
//! stores its position at the first acknowledgment 20 ms after the last store
//! (`workload.relay_flush_ms = 20`, the scenarios' time scale), one request in flight, key
//! partitioning, no delivery timeout to speak of (Kafka Connect sets its producer's
//! `delivery.timeout.ms` to the maximum: `producer.delivery_timeout_ms` at its maximum).
//!
//! Promises: no event lost when the connector dies; per-entity order (commit order, one
//! request at a time). Costs: duplicates after a restart, up to everything published since
//! the last stored position (more than the outbox's, which marks each row). Sources:
//! Debezium documentation (connector restarts: at-least-once, events since the last
//! recorded offset are produced again); Kafka Connect worker configuration
//! `offset.flush.interval.ms`; docs/known-outcomes.md, row "CDC relay".

use super::Side::Producer;
use super::{Setting, Strategy};
use crate::scenario::{Partitioner, Scenario};

pub struct ChangeDataCapture;

impl Strategy for ChangeDataCapture {
    fn name(&self) -> &'static str {
        "cdc"
    }
    fn summary(&self) -> &'static str {
        "a connector tails the database's commit log: no loss, order per entity, duplicates since its stored position after a restart"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[
            Setting::set(Producer, "workload.durable_source", "true"),
            Setting::set(Producer, "workload.relay_flush_ms", "20"),
            Setting::at_most(Producer, "producer.max_in_flight", 1),
            Setting::set(Producer, "producer.partitioner", "key"),
            Setting::set(Producer, "producer.delivery_timeout_ms", "86400000"),
        ];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.workload.durable_source = true;
        scenario.workload.relay_flush_ms = 20;
        scenario.producer.max_in_flight = scenario.producer.max_in_flight.min(1);
        scenario.producer.partitioner = Partitioner::Key;
        // The relay never gives a row up: it keeps it until the broker takes it.
        scenario.producer.delivery_timeout_ms = 86_400_000;
    }
}
