//! **key**: send every event with its entity as key, so `hash(key) mod partitions` puts all
//! of an entity's events in one partition.
//!
//! Promises: per-key order in the log *if* one producer session writes the key and retries
//! cannot reorder (see `single-inflight`, `idempotent`). Costs: hot keys make hot
//! partitions. Source: Kafka producer docs (partitioner); docs/known-outcomes.md.

use super::Side::Producer;
use super::{Setting, Strategy};
use crate::scenario::{Partitioner, Scenario};

pub struct KeyPartitioning;

impl Strategy for KeyPartitioning {
    fn name(&self) -> &'static str {
        "key"
    }
    fn summary(&self) -> &'static str {
        "key = entity: per-key order in one partition, unless retries or several producers reorder"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[Setting::set(Producer, "producer.partitioner", "key")];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.producer.partitioner = Partitioner::Key;
    }
}
