//! **full-state**: each event carries its entity's whole state and its version (the
//! entity's sequence number: 1, 2, …); the consumer applies any version above the one it
//! applied last (`version > current`) and discards older ones. It never waits.
//!
//! This is the full-state ("event-carried state transfer") side of the comparison with
//! `versioned`, whose events are deltas: a delta needs every version before it, so it
//! applies only `version = current + 1` and waits for a missing one. A full-state event
//! makes the versions it skips over unnecessary: it replaces the whole state.
//!
//! Promises: no entity goes back to an older state, and no entity waits for a lost
//! version (nothing is held). Costs: the skipped versions are never applied (a visible
//! skip, `skipped_gaps`; a consumer that needs every change, an audit, a counter, cannot
//! use it), an older version that arrives after a newer one is discarded (`stale`), and
//! every event is as large as the entity's state. Source: docs/known-outcomes.md
//! ("full-state events"); M. Fowler, "What do you mean by Event-Driven?" (2017, event-carried
//! state transfer).

use super::Side::Consumer;
use super::{ConsumerCx, ConsumerHooks, Delivery, Metadata, Setting, Setup, Strategy, Table};
use crate::scenario::{ConsumerPolicy, Scenario};

pub struct FullState;

impl Strategy for FullState {
    fn name(&self) -> &'static str {
        "full-state"
    }
    fn summary(&self) -> &'static str {
        "events carry the whole state + version: apply any version > current, never wait; skipped versions are gone"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[Setting::set(Consumer, "consumer.policy", "full-state")];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.consumer.policy = ConsumerPolicy("full-state");
    }
    fn metadata(&self) -> Metadata {
        Metadata { seq: true, ts: false }
    }
    fn consumer_hooks(&self, setup: &mut Setup<'_>) -> Option<Box<dyn ConsumerHooks>> {
        Some(Box::new(Snapshots { current: setup.table("full-state-version", 0) }))
    }
}

/// The consumer side: the group's store keeps each entity's applied version, written with
/// the apply (the projection's own row: atomic).
struct Snapshots {
    current: Table,
}

impl ConsumerHooks for Snapshots {
    fn on_record(&mut self, cx: &mut ConsumerCx<'_, '_>, record: Delivery) {
        let (entity, version) = (record.meta.entity, i64::from(record.meta.seq));
        let current = cx.get(self.current, entity);
        if version > current {
            if version > current.saturating_add(1) {
                // The versions in between are never applied: their changes are inside this
                // state, but a reader of changes never sees them.
                cx.skipped_gap();
            }
            cx.apply(record);
            cx.set(self.current, entity, version);
        } else {
            let reason = if cx.processed(record.event) { "duplicate" } else { "stale" };
            cx.discard(record, reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::hooks::Stores;

    #[test]
    fn declares_what_it_configures() {
        let mut scenario = Scenario::parse("", "t.toml", "t").unwrap();
        FullState.configure(&mut scenario);
        assert_eq!(scenario.consumer.policy, ConsumerPolicy("full-state"));
        let mut stores = Stores::default();
        let mut setup = Setup::detached(&scenario, &mut stores);
        assert!(FullState.consumer_hooks(&mut setup).is_some());
        assert!(FullState.metadata().seq, "the version travels as the sequence number");
    }
}
