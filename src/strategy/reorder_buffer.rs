//! **reorder-buffer**: each event carries its entity's sequence number (1, 2, …); the
//! consumer applies them in order, holds early ones in a buffer, discards late ones (a
//! sequence already passed: dead-lettered), and after `consumer.reorder_timeout_ms`
//! without the missing one (or when `consumer.reorder_capacity` events are held) skips the
//! gap.
//!
//! Promises: per-entity order of what is applied, or a visible gap. Costs: latency up to
//! the timeout, buffer memory; a lost event is skipped after the timeout, and one that
//! arrives later than that is dropped. Buffered events die with the consumer. Source:
//! Camel Resequencer EIP (timeout, late arrivals); docs/known-outcomes.md.

use std::collections::{BTreeMap, BTreeSet};

use super::Side::Consumer;
use super::{ConsumerCx, ConsumerHooks, Delivery, Metadata, Setting, Setup, Strategy, Table};
use crate::scenario::{ConsumerPolicy, Scenario};

pub struct ReorderBuffer;

impl Strategy for ReorderBuffer {
    fn name(&self) -> &'static str {
        "reorder-buffer"
    }
    fn summary(&self) -> &'static str {
        "sequence numbers + consumer reorder buffer: in order or a visible gap after a timeout"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[Setting::set(Consumer, "consumer.policy", "reorder-buffer")];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.consumer.policy = ConsumerPolicy("reorder-buffer");
    }
    fn metadata(&self) -> Metadata {
        Metadata { seq: true, ts: false }
    }
    fn consumer_hooks(&self, setup: &mut Setup<'_>) -> Option<Box<dyn ConsumerHooks>> {
        Some(Box::new(InSequence::new(setup, true)))
    }
}

/// The consumer side (also the `versioned` consumer's, which never skips): the group's
/// store keeps each entity's next sequence number (updated with the apply, atomically);
/// this member holds the early events it got, by (entity, sequence number).
pub(super) struct InSequence {
    /// Skip a gap after the timeout or when the buffer is full (reorder buffer), or wait
    /// for ever (versioned).
    skip: bool,
    next: Table,
    held: BTreeMap<(u32, u32), Delivery>,
    /// Entities with a gap timer pending.
    gap_timers: BTreeSet<u32>,
}

impl InSequence {
    pub(super) fn new(setup: &mut Setup<'_>, skip: bool) -> InSequence {
        InSequence { skip, next: setup.table("next-seq", 1), held: BTreeMap::new(), gap_timers: BTreeSet::new() }
    }

    fn next(&self, cx: &ConsumerCx<'_, '_>, entity: u32) -> u32 {
        cx.get(self.next, entity) as u32
    }

    /// Applies the held events of `entity` that are next in sequence.
    fn drain(&mut self, cx: &mut ConsumerCx<'_, '_>, entity: u32) {
        loop {
            let next = self.next(cx, entity);
            let Some(record) = self.held.remove(&(entity, next)) else { break };
            cx.apply(record);
            cx.set(self.next, entity, i64::from(next) + 1);
        }
    }

    /// Gives up waiting for `entity`'s missing sequence number: continue from the lowest
    /// held one (the missing events are skipped: a visible gap).
    fn skip_gap(&mut self, cx: &mut ConsumerCx<'_, '_>, entity: u32) {
        let lowest = self.held.range((entity, 0)..=(entity, u32::MAX)).next().map(|(&(_, seq), _)| seq);
        if let Some(seq) = lowest {
            cx.set(self.next, entity, i64::from(seq));
            cx.skipped_gap();
            self.drain(cx, entity);
        }
    }

    fn arm_gap_timer(&mut self, cx: &mut ConsumerCx<'_, '_>, entity: u32) {
        if self.gap_timers.insert(entity) {
            let timeout_ns = cx.config().reorder_timeout_ms * 1_000_000;
            cx.set_timer(timeout_ns, u64::from(entity));
        }
    }
}

impl ConsumerHooks for InSequence {
    fn on_record(&mut self, cx: &mut ConsumerCx<'_, '_>, record: Delivery) {
        let (entity, seq) = (record.meta.entity, record.meta.seq);
        let next = self.next(cx, entity);
        if seq < next {
            let reason = if cx.processed(record.event) { "duplicate" } else { "late" };
            cx.discard(record, reason);
        } else if seq == next {
            cx.apply(record);
            cx.set(self.next, entity, i64::from(next) + 1);
            self.drain(cx, entity);
        } else {
            self.held.insert((entity, seq), record);
            cx.holding(self.held.len());
            if self.skip {
                if self.held.len() as u64 > u64::from(cx.config().reorder_capacity) {
                    self.skip_gap(cx, entity);
                } else {
                    self.arm_gap_timer(cx, entity);
                }
            }
        }
    }

    /// The reorder buffer waited `reorder_timeout_ms` for the entity's missing number.
    fn on_timer(&mut self, cx: &mut ConsumerCx<'_, '_>, payload: u64) {
        let entity = payload as u32;
        self.gap_timers.remove(&entity);
        self.skip_gap(cx, entity);
        if self.held.range((entity, 0)..=(entity, u32::MAX)).next().is_some() {
            self.arm_gap_timer(cx, entity);
        }
    }

    /// Another member's applies may have made held events next in line (an entity's
    /// events spread over partitions): looked at once per poll, re-reading the store.
    fn on_poll(&mut self, cx: &mut ConsumerCx<'_, '_>) {
        // Each entity with held events, in order (a cursor, not a list: no allocation per
        // poll).
        let mut from = 0u32;
        while let Some((&(entity, _), _)) = self.held.range((from, 0)..).next() {
            let next = self.next(cx, entity);
            // Held copies of sequence numbers the group passed meanwhile: a copy of an
            // event the group applied is a duplicate, else it came too late.
            while let Some((&key, _)) = self.held.range((entity, 0)..(entity, next)).next() {
                let record = self.held.remove(&key).expect("present");
                let reason = if cx.processed(record.event) { "duplicate" } else { "late" };
                cx.discard(record, reason);
            }
            self.drain(cx, entity);
            match entity.checked_add(1) {
                Some(after) => from = after,
                None => break,
            }
        }
    }

    fn for_each_held(&self, each: &mut dyn FnMut(&Delivery)) {
        self.held.values().for_each(each);
    }
}
