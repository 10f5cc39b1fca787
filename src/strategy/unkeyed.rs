//! **unkeyed**: no key; records spread round-robin over partitions.
//!
//! Promises: nothing across partitions, so nothing per entity. Costs: none; it is the
//! baseline that shows why keys exist. Source: Kafka producer docs (partitioner);
//! docs/known-outcomes.md.

use super::Side::Producer;
use super::{Setting, Strategy};
use crate::scenario::{Partitioner, Scenario};

pub struct Unkeyed;

impl Strategy for Unkeyed {
    fn name(&self) -> &'static str {
        "unkeyed"
    }
    fn summary(&self) -> &'static str {
        "no key, round-robin over partitions: no order across partitions"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[Setting::set(Producer, "producer.partitioner", "round_robin")];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.producer.partitioner = Partitioner::RoundRobin;
    }
}
