//! **dual-write**: the naive service. It commits its state change to its own database, then
//! publishes the event with the Kafka producer, keyed by entity, as two separate writes. A
//! crash between the commit and the broker's acknowledgment loses the event for good (the
//! database has the change, no copy of the event survives in the process); a publish that
//! fails after the delivery timeout is published again by the application as a new record,
//! behind the entity's newer events, which reorders them.
//!
//! In ordo: events live only in the process (`workload.durable_source = false`), the
//! application sends a given-up batch again (`workload.resend_failed = true`), key
//! partitioning. The events lost in a crash are counted (`lost_in_producer_crash`,
//! `never_appended`): the checker judges the log and the consumers, and from there a lost
//! event is invisible, which is the point of the lesson.
//!
//! Promises: nothing beyond key partitioning. Costs: loss on a crash between the two
//! writes; reorders after a timed-out publish is sent again. Sources: Richardson,
//! microservices.io, "Transactional outbox" (the problem it solves: a service cannot update
//! its database and send a message atomically without 2PC); Kleppmann, *Designing
//! Data-Intensive Applications*, ch. 11 ("Keeping Systems in Sync": dual writes);
//! docs/known-outcomes.md, row "dual write".

use super::Side::Producer;
use super::{Setting, Strategy};
use crate::scenario::{Partitioner, Scenario};

pub struct DualWrite;

impl Strategy for DualWrite {
    fn name(&self) -> &'static str {
        "dual-write"
    }
    fn summary(&self) -> &'static str {
        "commit to the database, then publish: a crash in between loses the event, a resend after a timeout reorders"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[
            Setting::set(Producer, "workload.durable_source", "false"),
            Setting::set(Producer, "workload.resend_failed", "true"),
            Setting::set(Producer, "producer.partitioner", "key"),
        ];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.workload.durable_source = false;
        scenario.workload.resend_failed = true;
        scenario.producer.partitioner = Partitioner::Key;
    }
}
