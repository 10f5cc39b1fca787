//! The workload: entities (orders, say), each a causal chain of events
//! (created → paid → packed → …), emitted by one or several producer processes.
//!
//! Each entity starts at a time drawn uniformly in the start window, at a producer given by
//! the handoff rule. After a think time the next step follows, at the same producer or at
//! another one reached through an application message ([`super::Msg::Handoff`]): that
//! message is the causal link, so the next event's true predecessor is the previous step.
//! With `cross_entity_ppm`, an event also depends on the last event its producer created
//! for another entity (a true cross-entity cause: same process, earlier in time).

use ordo_sim::rng::{self, Rng};

use crate::scenario::{Handoff, Scenario, Workload, WorkloadMode};

/// Each producer's entity starts, latest first (so the next one pops off the end).
pub fn plan_starts(scenario: &Scenario, seed: u64) -> Vec<Vec<(u64, u32)>> {
    let mut rng = rng::stream(seed, "workload");
    let producers = scenario.topology.producers;
    let window_ns = scenario.workload.start_window_ms * 1_000_000;
    let mut starts = vec![Vec::new(); producers as usize];
    for entity in 0..scenario.workload.entities {
        let at_ns = rng.between(0, window_ns);
        let producer = match scenario.workload.handoff {
            Handoff::Same | Handoff::Rotate => entity % producers,
            Handoff::Random => rng.below(u64::from(producers)) as u32,
        };
        starts[producer as usize].push((at_ns, entity));
    }
    for list in &mut starts {
        list.sort_unstable_by(|a, b| b.cmp(a));
    }
    starts
}

/// Closed loop: how many more entities a producer may start now, with `unresolved` of its
/// events not yet acknowledged or given up (0 in open mode, where starts follow the plan).
pub fn closed_room(workload: &Workload, unresolved: u64) -> u64 {
    match workload.mode {
        WorkloadMode::Open => 0,
        WorkloadMode::Closed => u64::from(workload.outstanding).saturating_sub(unresolved),
    }
}

/// Which producer emits `step` of `entity`, after `current` emitted the step before.
pub fn next_producer(handoff: Handoff, producers: u32, entity: u32, step: u32, current: u32, rng: &mut Rng) -> u32 {
    match handoff {
        Handoff::Same => current,
        Handoff::Rotate => (entity + step) % producers,
        Handoff::Random => rng.below(u64::from(producers)) as u32,
    }
}

/// The partition of an entity's key: FNV-1a of the key text `prefix-entity`, mod partitions.
/// (Kafka uses murmur2; any fixed hash shows the same behaviour.)
pub fn key_partition(prefix: &str, entity: u32, partitions: u32) -> u32 {
    let mut hash = rng::stream_id(prefix);
    for byte in b"-".iter().chain(itoa::Buffer::new().format(entity).as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(partitions)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_partition_is_the_hash_of_the_whole_key() {
        let expected = (rng::stream_id("order-17") % 7) as u32;
        assert_eq!(key_partition("order", 17, 7), expected);
        let spread: std::collections::BTreeSet<u32> = (0..100).map(|e| key_partition("order", e, 4)).collect();
        assert_eq!(spread.len(), 4, "keys spread over every partition");
    }

    #[test]
    fn starts_are_deterministic_and_cover_every_entity() {
        let mut scenario = Scenario::parse("", "t.toml", "t").unwrap();
        scenario.topology.producers = 3;
        scenario.workload.entities = 50;
        let starts = plan_starts(&scenario, 9);
        assert_eq!(starts, plan_starts(&scenario, 9));
        assert_ne!(starts, plan_starts(&scenario, 10));
        let mut entities: Vec<u32> = starts.iter().flatten().map(|(_, e)| *e).collect();
        entities.sort_unstable();
        assert_eq!(entities, (0..50).collect::<Vec<_>>());
        for list in &starts {
            assert!(list.windows(2).all(|w| w[0] >= w[1]), "latest first");
        }
    }
}
