//! Ordering strategies: named, composable units chosen on the command line
//! (`--strategy key+idempotent`) or in a scenario (`strategy = "..."`).
//!
//! A strategy adjusts the run's configuration on the producer, broker and consumer side.
//! Each lives in its own file whose doc comment states what it promises, what it costs,
//! and its source. Producer-side ones set producer options; consumer-side ones choose the
//! consumer's policy (`ConsumerPolicy`), which decides for each processed event whether it
//! is applied now, held for later, or discarded (and records which). Strategies on the
//! same side replace each other (the later one wins); one producer-side and one
//! consumer-side strategy compose.

mod expected_version;
mod hybrid_logical_clock;
mod idempotent_consumer;
mod idempotent_producer;
mod key_partitioning;
mod lamport_clock;
mod partition_batch;
mod reorder_buffer;
mod single_in_flight;
mod timestamp_lww;
mod transactional_outbox;
mod unkeyed;
mod vector_clock;
mod versioned_consumer;

use crate::scenario::Scenario;

/// One ordering strategy.
pub trait Strategy: Sync {
    /// The name used on the command line.
    fn name(&self) -> &'static str;
    /// One line: what it does and what it promises.
    fn summary(&self) -> &'static str;
    /// Applies the strategy to a scenario's configuration.
    fn configure(&self, scenario: &mut Scenario);
}

/// Every strategy ordo knows, in the order `ordo list` shows them.
pub fn all() -> &'static [&'static dyn Strategy] {
    &[
        &key_partitioning::KeyPartitioning,
        &unkeyed::Unkeyed,
        &single_in_flight::SingleInFlight,
        &idempotent_producer::IdempotentProducer,
        &transactional_outbox::TransactionalOutbox,
        &idempotent_consumer::IdempotentConsumer,
        &reorder_buffer::ReorderBuffer,
        &versioned_consumer::VersionedConsumer,
        &timestamp_lww::TimestampLww,
        &lamport_clock::LamportClock,
        &hybrid_logical_clock::HybridLogicalClock,
        &vector_clock::VectorClock,
        &expected_version::ExpectedVersion,
        &partition_batch::PartitionBatch,
    ]
}

/// A strategy name that is not in the registry.
#[derive(Debug, thiserror::Error)]
#[error("unknown strategy {name:?} in {spec:?}; expected one or more of {known} joined with `+`")]
pub struct UnknownStrategy {
    pub name: String,
    pub spec: String,
    pub known: String,
}

/// A resolved combination, e.g. `key+idempotent`.
pub struct StrategySet {
    pub members: Vec<&'static dyn Strategy>,
}

impl std::fmt::Debug for StrategySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StrategySet({})", self.name())
    }
}

impl StrategySet {
    /// Parses `a+b+c`. Order matters only where two strategies set the same option: the
    /// later one wins.
    pub fn parse(spec: &str) -> Result<StrategySet, UnknownStrategy> {
        let mut members = Vec::new();
        for name in spec.split('+').map(str::trim) {
            match all().iter().find(|s| s.name() == name) {
                Some(strategy) => members.push(*strategy),
                None => {
                    return Err(UnknownStrategy {
                        name: name.to_string(),
                        spec: spec.to_string(),
                        known: all().iter().map(|s| s.name()).collect::<Vec<_>>().join(", "),
                    })
                }
            }
        }
        Ok(StrategySet { members })
    }

    pub fn name(&self) -> String {
        self.members.iter().map(|s| s.name()).collect::<Vec<_>>().join("+")
    }

    pub fn configure(&self, scenario: &mut Scenario) {
        for strategy in &self.members {
            strategy.configure(scenario);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        let names: Vec<&str> = all().iter().map(|s| s.name()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        for name in names {
            assert_eq!(StrategySet::parse(name).unwrap().name(), name);
        }
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let error = StrategySet::parse("key+lamport-ish").unwrap_err().to_string();
        assert!(error.contains("\"lamport-ish\"") && error.contains("idempotent"), "{error}");
    }

    #[test]
    fn composition_applies_in_order() {
        let mut scenario = Scenario::parse("[producer]\nidempotence = false\nacks = 1\n", "t.toml", "t").unwrap();
        StrategySet::parse("unkeyed+idempotent").unwrap().configure(&mut scenario);
        assert!(scenario.producer.idempotence);
        assert_eq!(scenario.producer.acks, crate::scenario::Acks::All);
        assert_eq!(scenario.producer.partitioner, crate::scenario::Partitioner::RoundRobin);
    }
}
