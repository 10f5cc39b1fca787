//! **lamport**: every producer process keeps a Lamport clock (incremented for each event
//! it creates, merged with the clock an application message carries); each event is
//! stamped with it. Each consumer holds the events it gets for `consumer.clock_window_ms`
//! and releases them in (clock, producer) order; an event whose stamp is below one this
//! consumer already released arrives too late to be put in its place and is dead-lettered.
//! Each member keeps its own watermark (a row of the projection's store, written with the
//! apply): members do not coordinate, so their releases interleave in no particular order.
//!
//! Promises: what one consumer applies is a total order consistent with happens-before,
//! so it never applies a cause after its effect (no causality inversion within a member).
//! Across members nothing is promised: after a rebalance the new owner of a partition
//! applies again what the old one applied and had not committed, and competing consumers
//! apply one key's events side by side (`sequencer` keeps one order for the group, at the
//! price of a round trip). Costs: concurrent
//! events are ordered arbitrarily (by counter value, which says nothing about real time:
//! a busy producer's counter runs ahead of a quiet one's, and the quiet one's events then
//! look "old"); every event waits the window; a late event is dropped, which shows as a
//! lost update or a gap. Source: Lamport, "Time, Clocks, and the Ordering of Events in a
//! Distributed System" (CACM 1978); docs/known-outcomes.md ("Lamport order").

use std::collections::{BTreeMap, VecDeque};

use super::Side::{Consumer, Producer};
use super::{Carried, ConsumerCx, ConsumerHooks, Delivery, ProducerHooks, Setting, Setup, StampCx, Strategy, Table};
use crate::scenario::{ClockKind, ConsumerPolicy, Scenario};

pub struct LamportClock;

impl Strategy for LamportClock {
    fn name(&self) -> &'static str {
        "lamport"
    }
    fn summary(&self) -> &'static str {
        "Lamport clocks, consumer releases in clock order after a window: never inverts causality, drops late events"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[
            Setting::set(Producer, "producer.clock", "lamport"),
            Setting::set(Consumer, "consumer.policy", "clock-ordered"),
        ];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.producer.clock = ClockKind::Lamport;
        scenario.consumer.policy = ConsumerPolicy("clock-ordered");
    }
    fn producer_hooks(&self, _: &mut Setup<'_>) -> Option<Box<dyn ProducerHooks>> {
        Some(Box::new(Lamport { l: 0 }))
    }
    fn consumer_hooks(&self, setup: &mut Setup<'_>) -> Option<Box<dyn ConsumerHooks>> {
        Some(Box::new(ClockWindow::new(setup)))
    }
}

/// The producer side: a counter, incremented for each event the process creates, merged
/// (max) with the counter a hand-off carries (the receive rule without the tick: the tick
/// happens when the next event is created).
struct Lamport {
    l: i64,
}

impl ProducerHooks for Lamport {
    fn stamp(&mut self, cx: &mut StampCx<'_>) {
        self.l += 1;
        cx.lamport(self.l);
    }
    fn merge(&mut self, carried: Carried<'_>) {
        self.l = self.l.max(carried.lamport());
    }
}

/// A clock-ordered consumer's sort key: (Lamport value or HLC physical part, HLC logical
/// part, producer index, event id).
pub(super) type ClockKey = (i64, u32, u32, u32);

/// The consumer side (also `hlc`'s): each member holds the events it gets for the window
/// and releases, in stamp order, what is due; the highest stamp **this member** released is
/// its watermark (a row of its own in the projection's store, written with the apply, so
/// it survives the member's crash), and anything at or below it is late. Members know
/// nothing of each other's watermarks: two members order only their own events, and a
/// cause released by one may come after its effect released by another (a group-wide
/// order is the `sequencer` strategy's, which pays a round trip for it).
pub(super) struct ClockWindow {
    /// This member's row in the watermark tables.
    me: u32,
    /// The released watermark: its clock part (key: the member), and its logical part
    /// (key 2 × member) and producer (key 2 × member + 1).
    released_clock: Table,
    released_rest: Table,
    held: BTreeMap<ClockKey, Delivery>,
    /// Release deadlines in arrival order.
    deadlines: VecDeque<(u64, ClockKey)>,
    timer: bool,
}

impl ClockWindow {
    pub(super) fn new(setup: &mut Setup<'_>) -> ClockWindow {
        ClockWindow {
            me: setup.index(),
            released_clock: setup.table("clock-released", i64::MIN),
            released_rest: setup.table("clock-released-tiebreak", 0),
            held: BTreeMap::new(),
            deadlines: VecDeque::new(),
            timer: false,
        }
    }

    fn released(&self, cx: &ConsumerCx<'_, '_>) -> (i64, u32, u32) {
        let rest = |key| cx.get(self.released_rest, key) as u32;
        (cx.get(self.released_clock, self.me), rest(2 * self.me), rest(2 * self.me + 1))
    }

    fn set_released(&self, cx: &mut ConsumerCx<'_, '_>, (l, c, p): (i64, u32, u32)) {
        cx.set(self.released_clock, self.me, l);
        cx.set(self.released_rest, 2 * self.me, i64::from(c));
        cx.set(self.released_rest, 2 * self.me + 1, i64::from(p));
    }

    /// Releases, in stamp order, every held event up to the highest stamp whose window has
    /// passed (waiting longer for the smaller ones gains nothing: they must go first).
    fn release_due(&mut self, cx: &mut ConsumerCx<'_, '_>) {
        let now = cx.now_ns();
        if let Some(upto) = due_upto(&mut self.deadlines, &self.held, now) {
            while let Some((key, record)) = take_upto(&mut self.held, upto) {
                let stamp = (key.0, key.1, key.2);
                if stamp <= self.released(cx) {
                    // A copy of an event this member released already.
                    let reason = if cx.processed(record.event) { "duplicate" } else { "late" };
                    cx.discard(record, reason);
                } else {
                    self.set_released(cx, stamp);
                    cx.apply(record);
                }
            }
        }
        if let Some(&(deadline, _)) = self.deadlines.front() {
            if !self.timer {
                self.timer = true;
                cx.set_timer(deadline.saturating_sub(now).max(1), 0);
            }
        }
    }
}

/// Forgets the window deadlines that passed by `now` and returns the highest stamp among
/// them still held: every held event up to it is due (the smaller ones must go first).
pub(super) fn due_upto(
    deadlines: &mut VecDeque<(u64, ClockKey)>,
    held: &BTreeMap<ClockKey, Delivery>,
    now: u64,
) -> Option<ClockKey> {
    let mut upto = None;
    while let Some(&(deadline, key)) = deadlines.front() {
        if deadline > now {
            break;
        }
        deadlines.pop_front();
        if held.contains_key(&key) {
            upto = upto.max(Some(key));
        }
    }
    upto
}

/// Takes the lowest held event if its stamp is at most `upto`.
pub(super) fn take_upto(held: &mut BTreeMap<ClockKey, Delivery>, upto: ClockKey) -> Option<(ClockKey, Delivery)> {
    let entry = held.first_entry()?;
    (*entry.key() <= upto).then(|| entry.remove_entry())
}

impl ConsumerHooks for ClockWindow {
    /// Holds the event for the window, unless its stamp is already at or below the
    /// released watermark (late: dead-lettered) or it is held already.
    fn on_record(&mut self, cx: &mut ConsumerCx<'_, '_>, record: Delivery) {
        let meta = record.meta;
        let key = (meta.lamport, meta.logical, meta.producer, record.event);
        if (key.0, key.1, key.2) <= self.released(cx) {
            let reason = if cx.processed(record.event) { "duplicate" } else { "late" };
            return cx.discard(record, reason);
        }
        if self.held.insert(key, record).is_some() {
            return cx.discard(record, "duplicate");
        }
        cx.holding(self.held.len());
        let window_ns = cx.config().clock_window_ms * 1_000_000;
        self.deadlines.push_back((cx.now_ns() + window_ns, key));
        if window_ns == 0 {
            self.release_due(cx);
        } else if !self.timer {
            self.timer = true;
            cx.set_timer(window_ns, 0);
        }
    }

    fn on_timer(&mut self, cx: &mut ConsumerCx<'_, '_>, _: u64) {
        self.timer = false;
        self.release_due(cx);
    }

    fn for_each_held(&self, each: &mut dyn FnMut(&Delivery)) {
        self.held.values().for_each(each);
    }
}
