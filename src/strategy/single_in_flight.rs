//! **single-inflight**: `max.in.flight.requests.per.connection = 1`.
//!
//! Promises: a retry can never overtake a later batch, so retries do not reorder. Costs:
//! throughput (one request per broker connection at a time); duplicates remain possible
//! when an ack is lost and idempotence is off. Source: Kafka producer config docs
//! (`max.in.flight.requests.per.connection`); docs/known-outcomes.md.

use super::Side::Producer;
use super::{Setting, Strategy};
use crate::scenario::Scenario;

pub struct SingleInFlight;

impl Strategy for SingleInFlight {
    fn name(&self) -> &'static str {
        "single-inflight"
    }
    fn summary(&self) -> &'static str {
        "max.in.flight = 1: retries cannot reorder; duplicates still can happen"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[Setting::at_most(Producer, "producer.max_in_flight", 1)];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.producer.max_in_flight = 1;
    }
}
