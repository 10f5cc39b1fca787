//! Queue mode (`[queue]`): one shared queue with competing consumers, per-message
//! acknowledgement and redelivery, the SQS / RabbitMQ shape, beside the partitioned log.
//!
//! **Where it lives.** The queue is hosted on broker `b0`, and its messages are the records
//! of partition 0's log there (the queue's journal): producers send to it exactly as to a
//! log, with the same batching, retries, `acks` and idempotence, so retries and duplicates
//! come from the same mechanisms. A record becomes a message, at its offset, once the high
//! watermark covers it (with one replica: once it is appended).
//!
//! **Durability.** The journal's: with `broker.flush_interval_ms = 0` a message is on disk
//! before the producer hears of it; otherwise a crash of `b0` loses the messages appended
//! since the last flush (the log's `truncate` record), acknowledged to the producer or not.
//! What happened to a message (deleted, dead-lettered, how often received) is durable.
//! Leases are not: when the host restarts, every message that was leased is returned
//! (visible again, or dead-lettered).
//!
//! **Receiving.** A consumer asks for up to `n` messages (`QueueReceive`; a consumer asks
//! for what its prefetch leaves room for). The host hands out the visible messages with the
//! lowest offsets, so a message made visible again goes back to its place (FIFO by offset,
//! as RabbitMQ requeues), each with a new receipt, and hides them for
//! `visibility_timeout_ms` (a lease). With `ack = "auto"` it deletes them at once instead,
//! and records the acknowledgement: at most once. Whoever asks first gets the next message:
//! competing consumers, no ownership, no rebalances.
//!
//! **Settling.** A consumer answers with the receipt (`QueueSettle`): an ack deletes the
//! message, a nack (processing failed) makes it visible again at once. Only the message's
//! latest receipt counts, as in SQS: a receipt from before a redelivery is refused (the
//! `queue_ack` record says `ok: false`, `stale_receipt`), while the latest one still works
//! after its lease ran out if nobody received the message since. A lease that runs out makes
//! the message visible again: a paused, slow or crashed consumer's message goes to another
//! consumer, after later messages did (a reorder), and if the first consumer still processes
//! it, it is processed twice. A message returned (lease expired, nack, host restart) once it
//! has been received `max_receives` times is dead-lettered instead: the host records a
//! `discard` with reason `dead_letter` and the message leaves the queue.

use std::collections::{BTreeMap, BTreeSet};

use ordo_sim::NodeId;

use super::{fate, tag, ModelCtx, Msg, World};
use crate::history::Rec;
use crate::scenario::QueueAckMode;

/// The host's timer kind for a lease running out (in the broker's timer space).
pub const LEASE_TIMER: u64 = 16;

/// One message a receive hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    pub offset: u64,
    pub event: u32,
    /// Names this receive; settling the message needs it.
    pub receipt: u64,
    /// How many times the message has been received, this one included (1: first delivery).
    pub receives: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Visible,
    Leased,
    /// Deleted (acknowledged) or dead-lettered.
    Gone,
}

#[derive(Clone, Copy, Debug)]
struct Message {
    event: u32,
    receives: u32,
    /// The latest receipt (0: never received).
    receipt: u64,
    state: State,
}

/// What became of a settle request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    Accepted,
    /// The message was received again since this receipt.
    StaleReceipt,
    /// No such message in the queue (deleted, dead-lettered, or lost with the journal).
    NotFound,
}

impl Settled {
    pub fn reason(self) -> &'static str {
        match self {
            Settled::Accepted => "",
            Settled::StaleReceipt => "stale_receipt",
            Settled::NotFound => "not_found",
        }
    }
}

/// The queue, on its host broker.
pub struct QueueHost {
    /// The host's node id (for the records it writes in its own name).
    node: u32,
    /// Per journal offset.
    messages: Vec<Message>,
    /// Offsets of the visible messages: the next receive takes the lowest.
    visible: BTreeSet<u64>,
    /// Live leases: receipt → offset.
    leases: BTreeMap<u64, u64>,
    /// Receipts are `incarnation << 32 | counter`: unique across host restarts.
    incarnation: u64,
    next_receipt: u64,
}

impl QueueHost {
    pub fn new(node: u32) -> QueueHost {
        QueueHost {
            node,
            messages: Vec::new(),
            visible: BTreeSet::new(),
            leases: BTreeMap::new(),
            incarnation: 0,
            next_receipt: 0,
        }
    }

    /// Messages the queue has taken in (its journal prefix under the high watermark).
    pub fn len(&self) -> u64 {
        self.messages.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Per message (in offset order): its event, how often it was received, and whether it
    /// is still in the queue (neither deleted nor dead-lettered).
    pub fn messages(&self) -> Vec<(u32, u32, bool)> {
        self.messages.iter().map(|m| (m.event, m.receives, m.state != State::Gone)).collect()
    }

    /// The host process (re)started: the leases of the previous one are gone, so every
    /// message it had leased comes back.
    pub fn started(&mut self, ctx: &mut ModelCtx<'_>) {
        self.incarnation += 1;
        self.next_receipt = 0;
        self.leases.clear();
        let leased: Vec<u64> =
            (0..self.len()).filter(|&offset| self.messages[offset as usize].state == State::Leased).collect();
        for offset in leased {
            self.give_back(ctx, offset);
        }
    }

    /// The host crashed and its log kept only `kept` records (an unflushed tail is lost):
    /// the messages above are gone with it.
    pub fn crashed(&mut self, world: &mut World, kept: u64) {
        self.leases.clear();
        while self.len() > kept {
            let offset = self.len() - 1;
            if self.messages.pop().is_some_and(|m| m.state != State::Gone) {
                world.queue_open -= 1;
            }
            self.visible.remove(&offset);
        }
    }

    /// Records of the journal at offsets `self.len()..` (now under the high watermark)
    /// become visible messages.
    pub fn take_in(&mut self, world: &mut World, events: impl Iterator<Item = u32>) {
        for event in events {
            self.visible.insert(self.len());
            self.messages.push(Message { event, receives: 0, receipt: 0, state: State::Visible });
            world.queue_open += 1;
        }
    }

    fn new_receipt(&mut self) -> u64 {
        self.next_receipt += 1;
        (self.incarnation << 32) | (self.next_receipt & 0xffff_ffff)
    }

    /// A consumer asks for up to `max` messages; `serving` is false while the host does not
    /// lead the journal (then the answer is empty).
    pub fn receive(&mut self, ctx: &mut ModelCtx<'_>, from: NodeId, request: u64, max: u32, serving: bool) {
        let config = ctx.shared.scenario.queue.as_ref().expect("queue mode");
        let (visibility_ns, ack) = (config.visibility_timeout_ms * 1_000_000, config.ack);
        let mut out = Vec::new();
        while serving && out.len() < max as usize {
            let Some(offset) = self.visible.pop_first() else { break };
            let receipt = self.new_receipt();
            let message = &mut self.messages[offset as usize];
            message.receives += 1;
            message.receipt = receipt;
            let (event, receives) = (message.event, message.receives);
            let world = &mut *ctx.shared;
            if receives > 1 {
                world.stats.redeliveries += 1;
            }
            match ack {
                QueueAckMode::Auto => {
                    // Acknowledged on delivery: the queue forgets it now.
                    message.state = State::Gone;
                    world.queue_open -= 1;
                    world.stats.queue_acks += 1;
                    let t = ctx.now_ns();
                    ctx.shared.record(Rec::QueueSettle {
                        t,
                        node: from.0,
                        offset,
                        event,
                        ok: true,
                        reason: "",
                        nack: false,
                    });
                }
                QueueAckMode::Manual => {
                    message.state = State::Leased;
                    self.leases.insert(receipt, offset);
                    ctx.set_timer(visibility_ns, tag::make(LEASE_TIMER, receipt));
                }
            }
            out.push(Received { offset, event, receipt, receives });
        }
        let count = out.len() as u32;
        // A consumer that crashed after asking never gets the answer (messages to a crashed
        // node are dropped); one that restarted since ignores an answer to an old request.
        let up = ctx.is_up(from);
        let arrives = ctx.send_observed(from, Msg::QueueMessages { request, messages: out });
        if arrives && up && count > 0 {
            *ctx.shared.queue_transit.entry((from.0, request)).or_default() += count;
        }
        self.stop_if_finished(ctx);
    }

    /// A consumer acks (`nack: false`) or nacks the message at `offset` it received with
    /// `receipt`. Recorded here, when the host decides, in the consumer's name.
    pub fn settle(&mut self, ctx: &mut ModelCtx<'_>, from: NodeId, offset: u64, event: u32, receipt: u64, nack: bool) {
        let verdict = match self.messages.get(offset as usize) {
            Some(m) if m.event != event || m.state == State::Gone => Settled::NotFound,
            Some(m) if m.receipt != receipt => Settled::StaleReceipt,
            Some(_) => Settled::Accepted,
            None => Settled::NotFound,
        };
        let t = ctx.now_ns();
        let ok = verdict == Settled::Accepted;
        ctx.shared.record(Rec::QueueSettle { t, node: from.0, offset, event, ok, reason: verdict.reason(), nack });
        if !ok {
            ctx.shared.stats.refused_acks += 1;
            return;
        }
        self.leases.remove(&receipt);
        // The lease may have run out already (the message is visible, nobody took it since).
        self.visible.remove(&offset);
        if nack {
            ctx.shared.stats.nacks += 1;
            self.give_back(ctx, offset);
        } else {
            self.messages[offset as usize].state = State::Gone;
            let world = &mut *ctx.shared;
            world.queue_open -= 1;
            world.stats.queue_acks += 1;
        }
        self.stop_if_finished(ctx);
    }

    /// The lease `receipt` ran out (a timer): its message comes back, if still leased by it.
    pub fn lease_expired(&mut self, ctx: &mut ModelCtx<'_>, receipt: u64) {
        let Some(offset) = self.leases.remove(&receipt) else { return };
        ctx.shared.stats.visibility_expired += 1;
        self.give_back(ctx, offset);
        self.stop_if_finished(ctx);
    }

    /// A message comes back from a consumer: visible again (at its place in the queue), or
    /// dead-lettered once it has been received `max_receives` times.
    fn give_back(&mut self, ctx: &mut ModelCtx<'_>, offset: u64) {
        let max_receives = ctx.shared.scenario.queue.as_ref().map_or(0, |q| q.max_receives);
        let message = &mut self.messages[offset as usize];
        if max_receives > 0 && message.receives >= max_receives {
            message.state = State::Gone;
            let event = message.event;
            let (t, clock) = (ctx.now_ns(), ctx.local_ns());
            let world = &mut *ctx.shared;
            world.queue_open -= 1;
            world.stats.queue_dead_lettered += 1;
            world.fate[event as usize] |= fate::DEAD_LETTERED;
            world.record(Rec::Discard {
                t,
                node: self.node,
                clock,
                partition: 0,
                offset,
                event,
                reason: "dead_letter",
            });
        } else {
            message.state = State::Visible;
            self.visible.insert(offset);
        }
    }

    fn stop_if_finished(&self, ctx: &mut ModelCtx<'_>) {
        if ctx.shared.finished() {
            ctx.stop();
        }
    }
}
