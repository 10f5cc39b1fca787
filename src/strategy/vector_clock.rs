//! **vector-clock**: each producer process keeps a vector clock (one counter per
//! producer, its own incremented per event, merged entry-wise with the clock an
//! application message carries) and stamps every event with it. The consumer group
//! delivers causally: an event of producer `p` stamped `v` is applied once the group has
//! applied `v[p] - 1` events of `p` and `v[q]` of every other producer `q`; until then it
//! is held (a member re-checks its held events at every poll, since another member's
//! applies can unblock them). Copies of events already delivered are discarded.
//!
//! Promises: exact causality: no event is ever applied before anything that happened
//! before it (and duplicates are harmless). Costs: O(producers) metadata per event;
//! buffering; and no timeout: an event that never arrives (lost in a producer crash,
//! given up after retries) blocks every later event of its producer for ever, which
//! shows as events still held at the end. Source: Fidge 1988, Mattern 1988; Birman,
//! Schiper, Stephenson, "Lightweight causal and atomic group multicast" (TOCS 1991);
//! docs/known-outcomes.md.

use std::collections::BTreeMap;

use super::Side::{Consumer, Producer};
use super::{Carried, ConsumerCx, ConsumerHooks, Delivery, ProducerHooks, Setting, Setup, StampCx, Strategy, Table};
use crate::scenario::{ClockKind, ConsumerPolicy, Scenario};

pub struct VectorClock;

impl Strategy for VectorClock {
    fn name(&self) -> &'static str {
        "vector-clock"
    }
    fn summary(&self) -> &'static str {
        "vector clocks with causal delivery: never inverts causality; a lost event stalls its producer's successors"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[
            Setting::set(Producer, "producer.clock", "vector"),
            Setting::set(Consumer, "consumer.policy", "causal-delivery"),
        ];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.producer.clock = ClockKind::Vector;
        scenario.consumer.policy = ConsumerPolicy("causal-delivery");
    }
    fn producer_hooks(&self, _: &mut Setup<'_>) -> Option<Box<dyn ProducerHooks>> {
        Some(Box::new(Vector { vc: Vec::new() }))
    }
    fn consumer_hooks(&self, setup: &mut Setup<'_>) -> Option<Box<dyn ConsumerHooks>> {
        Some(Box::new(Causal { delivered: setup.table("causal-delivered", 0), held: BTreeMap::new() }))
    }
}

/// The producer side: one counter per producer process; the own entry ticks for each event
/// created, a hand-off's clock is merged entry-wise (max).
struct Vector {
    vc: Vec<u32>,
}

impl ProducerHooks for Vector {
    fn stamp(&mut self, cx: &mut StampCx<'_>) {
        self.vc.resize(cx.producers() as usize, 0);
        self.vc[cx.me() as usize] += 1;
        cx.vector(&self.vc);
    }
    fn merge(&mut self, carried: Carried<'_>) {
        let theirs = carried.vector();
        self.vc.resize(theirs.len(), 0);
        for (mine, &theirs) in self.vc.iter_mut().zip(theirs) {
            *mine = (*mine).max(theirs);
        }
    }
}

/// The consumer side: causal delivery (Birman–Schiper–Stephenson) over the group's store,
/// which keeps per producer how many of its events the group applied in causal order
/// (updated with the apply, atomically). An event of producer `p` with vector clock `v` is
/// applied once the store has `v[p] - 1` for `p` and at least `v[q]` for every other
/// producer; until then this member holds it, by (producer, its own entry).
struct Causal {
    delivered: Table,
    held: BTreeMap<(u32, u32), Delivery>,
}

impl Causal {
    fn done(&self, cx: &ConsumerCx<'_, '_>, producer: u32) -> u32 {
        cx.get(self.delivered, producer) as u32
    }

    /// Whether every causal predecessor of `record` has been applied (and it has not).
    fn deliverable(&self, cx: &ConsumerCx<'_, '_>, record: &Delivery) -> bool {
        let producer = record.meta.producer as usize;
        cx.vector_clock(record).iter().enumerate().all(|(q, &mine)| {
            let done = self.done(cx, q as u32);
            if q == producer {
                mine == done + 1
            } else {
                mine <= done
            }
        })
    }

    /// Applies held events that became deliverable, until none does.
    fn drain(&mut self, cx: &mut ConsumerCx<'_, '_>) {
        loop {
            let mut progress = false;
            for producer in 0..cx.producers() {
                let done = self.done(cx, producer);
                // Held copies of events the group applied meanwhile are duplicates.
                while let Some(entry) = self.held.range((producer, 0)..=(producer, done)).next() {
                    let key = *entry.0;
                    let record = self.held.remove(&key).expect("present");
                    cx.discard(record, "duplicate");
                }
                let Some(&record) = self.held.get(&(producer, done + 1)) else { continue };
                if self.deliverable(cx, &record) {
                    self.held.remove(&(producer, done + 1));
                    cx.set(self.delivered, producer, i64::from(done) + 1);
                    cx.apply(record);
                    progress = true;
                }
            }
            if !progress {
                break;
            }
        }
    }
}

impl ConsumerHooks for Causal {
    fn on_record(&mut self, cx: &mut ConsumerCx<'_, '_>, record: Delivery) {
        let producer = record.meta.producer;
        let own = cx.vector_clock(&record)[producer as usize];
        if own <= self.done(cx, producer) {
            return cx.discard(record, "duplicate");
        }
        if self.deliverable(cx, &record) {
            cx.set(self.delivered, producer, i64::from(own));
            cx.apply(record);
            self.drain(cx);
        } else if self.held.insert((producer, own), record).is_some() {
            cx.discard(record, "duplicate");
        } else {
            cx.holding(self.held.len());
        }
    }

    /// Another member's applies may have unblocked what this one holds.
    fn on_poll(&mut self, cx: &mut ConsumerCx<'_, '_>) {
        if !self.held.is_empty() {
            self.drain(cx);
        }
    }

    fn for_each_held(&self, each: &mut dyn FnMut(&Delivery)) {
        self.held.values().for_each(each);
    }
}
