//! **sequencer**: Lamport clocks at the producers (as `lamport`), and a group-wide release
//! order kept by one shared sequencer in front of the projection. Each member holds the
//! events it gets for `consumer.clock_window_ms`; when some are due it sends them, in stamp
//! order, in one request to the sequencer and waits for the answer before asking again.
//! The sequencer keeps the highest stamp it granted: it applies each event whose stamp is
//! above it (and moves it up), in one step, and refuses the others, which came too late
//! for the group's order (dead-lettered, or discarded as duplicates: copies of applied
//! events). Granting and applying are one step because a grant applied later by the member
//! would not keep the order: another member's answer can overtake it.
//!
//! Promises: what the group applies is one total order consistent with happens-before,
//! across members too (no causality inversion, even when a cause and its effect are
//! processed by different members, after a rebalance or by competing consumers). Costs:
//! the window, plus a round trip to the sequencer for every release (each member has one
//! request out at a time, so a member's releases queue behind it, and it commits past them
//! only once the answer is back); late events are dropped as with `lamport`.
//!
//! What it models: the round trip (each way drawn from the scenario's network latency, on
//! the member's own `strategy/sequencer/NODE` stream) and the sequencer's single order
//! (decided when a request arrives, as one process serving one request at a time would).
//! What it does not: the sequencer's own failures or a lossy link to it (it never goes
//! down and its answers always arrive), and its throughput limit. Source: Défago, Schiper,
//! Urbán, "Total order broadcast and multicast algorithms: taxonomy and survey" (ACM
//! Computing Surveys 2004), fixed-sequencer algorithms; docs/known-outcomes.md
//! ("Lamport order").

use std::collections::{BTreeMap, VecDeque};

use ordo_sim::rng::Rng;

use super::Side::{Consumer, Producer};
use super::{ConsumerCx, ConsumerHooks, Delivery, ProducerHooks, Setting, Setup, Strategy, Table};
use crate::scenario::{ClockKind, ConsumerPolicy, Scenario};

pub struct Sequencer;

impl Strategy for Sequencer {
    fn name(&self) -> &'static str {
        "sequencer"
    }
    fn summary(&self) -> &'static str {
        "Lamport clocks, one shared sequencer orders the group's releases: never inverts causality, costs a round trip"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[
            Setting::set(Producer, "producer.clock", "lamport"),
            Setting::set(Consumer, "consumer.policy", "sequencer"),
        ];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.producer.clock = ClockKind::Lamport;
        scenario.consumer.policy = ConsumerPolicy("sequencer");
    }
    fn producer_hooks(&self, setup: &mut Setup<'_>) -> Option<Box<dyn ProducerHooks>> {
        super::lamport_clock::LamportClock.producer_hooks(setup)
    }
    fn consumer_hooks(&self, setup: &mut Setup<'_>) -> Option<Box<dyn ConsumerHooks>> {
        Some(Box::new(Sequenced {
            granted: setup.table("sequencer-granted", i64::MIN),
            granted_rest: setup.table("sequencer-granted-tiebreak", 0),
            rng: setup.rng("sequencer"),
            held: BTreeMap::new(),
            deadlines: VecDeque::new(),
            window_timer: false,
            asking: Vec::new(),
            answer_pending: false,
        }))
    }
}

/// (Lamport value, 0, producer, event): the clock-ordered key.
use super::lamport_clock::{due_upto, take_upto, ClockKey as Key};

/// Timer payloads.
const WINDOW: u64 = 0;
const ARRIVES: u64 = 1;
const ANSWER: u64 = 2;

struct Sequenced {
    /// The sequencer's state: the highest stamp granted (clock part; logical part and
    /// producer in the tiebreak table, keys 0 and 1). Only the sequencer's step (a request
    /// arriving) reads or writes it.
    granted: Table,
    granted_rest: Table,
    rng: Rng,
    held: BTreeMap<Key, Delivery>,
    deadlines: VecDeque<(u64, Key)>,
    window_timer: bool,
    /// The request out (held until its answer arrives): its events in stamp order, and
    /// (once the sequencer decided) whether each was applied.
    asking: Vec<(Key, Delivery, Option<bool>)>,
    answer_pending: bool,
}

impl Sequenced {
    /// One way to or from the sequencer.
    fn one_way(&mut self, cx: &ConsumerCx<'_, '_>) -> u64 {
        let (low, high) = cx.network_latency_ns();
        self.rng.between(low, high).max(1)
    }

    /// Sends every held event whose window passed (and those below it), in stamp order,
    /// unless a request is out already (its answer looks again).
    fn ask_due(&mut self, cx: &mut ConsumerCx<'_, '_>) {
        if self.answer_pending {
            return;
        }
        let now = cx.now_ns();
        if let Some(upto) = due_upto(&mut self.deadlines, &self.held, now) {
            while let Some((key, record)) = take_upto(&mut self.held, upto) {
                self.asking.push((key, record, None));
            }
            self.answer_pending = true;
            let delay = self.one_way(cx);
            cx.set_timer(delay, ARRIVES);
            return;
        }
        if let Some(&(deadline, _)) = self.deadlines.front() {
            if !self.window_timer {
                self.window_timer = true;
                cx.set_timer(deadline.saturating_sub(now).max(1), WINDOW);
            }
        }
    }
}

impl ConsumerHooks for Sequenced {
    fn on_record(&mut self, cx: &mut ConsumerCx<'_, '_>, record: Delivery) {
        let meta = record.meta;
        let key = (meta.lamport, meta.logical, meta.producer, record.event);
        if self.asking.iter().any(|a| a.0 == key) || self.held.insert(key, record).is_some() {
            return cx.discard(record, "duplicate");
        }
        cx.holding(self.held.len() + self.asking.len());
        let window_ns = cx.config().clock_window_ms * 1_000_000;
        self.deadlines.push_back((cx.now_ns() + window_ns, key));
        if window_ns == 0 {
            self.ask_due(cx);
        } else if !self.window_timer {
            self.window_timer = true;
            cx.set_timer(window_ns, WINDOW);
        }
    }

    fn on_timer(&mut self, cx: &mut ConsumerCx<'_, '_>, payload: u64) {
        match payload {
            WINDOW => {
                self.window_timer = false;
                self.ask_due(cx);
            }
            ARRIVES => {
                // The sequencer serves the request: applies, in order, each event whose
                // stamp is above the highest it granted, and refuses the others.
                for (key, record, grant) in &mut self.asking {
                    let top = (
                        cx.get(self.granted, 0),
                        cx.get(self.granted_rest, 0) as u32,
                        cx.get(self.granted_rest, 1) as u32,
                    );
                    let stamp = (key.0, key.1, key.2);
                    let ok = stamp > top;
                    if ok {
                        cx.set(self.granted, 0, stamp.0);
                        cx.set(self.granted_rest, 0, i64::from(stamp.1));
                        cx.set(self.granted_rest, 1, i64::from(stamp.2));
                    }
                    if ok {
                        cx.apply(*record);
                    } else {
                        let reason = if cx.processed(record.event) { "duplicate" } else { "late" };
                        cx.discard(*record, reason);
                    }
                    *grant = Some(ok);
                }
                let delay = self.one_way(cx);
                cx.set_timer(delay, ANSWER);
            }
            _ => {
                // The answer: the member lets the events go (its commits may pass them).
                self.asking.clear();
                self.answer_pending = false;
                self.ask_due(cx);
            }
        }
    }

    fn for_each_held(&self, each: &mut dyn FnMut(&Delivery)) {
        self.held.values().chain(self.asking.iter().map(|a| &a.1)).for_each(each);
    }
}
