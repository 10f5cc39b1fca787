//! The consumer in queue mode: one of several competing consumers of the shared queue on
//! `b0` (see [`crate::model::queue`]).
//!
//! The loop: ask the host for as many messages as `queue.prefetch` leaves room for (the
//! messages received and not yet settled count against it), record each delivery, and
//! process the messages one at a time in the order received (the same processing time and
//! the same consumer policy, `admit`, as on a log). Processing either succeeds (the policy
//! applies, holds or discards the event, and the consumer acks the message) or, with
//! `consumer.processing_failure_ppm`, fails: where a log's consumer retries the record in
//! place, a queue's consumer with manual acks nacks it (it goes back to the queue at once,
//! for whoever receives next), and with auto acks the message is simply gone (the host
//! deleted it when it delivered it). Each settled message frees room, and the consumer asks for
//! more. An empty answer makes it wait `consumer.poll_idle_ms` before asking again; an
//! unanswered request is given up after `consumer.request_timeout_ms` (reconnect, ask again).
//!
//! A crash loses the messages in hand (with manual acks their leases run out and other
//! consumers get them; with auto acks they are lost); a restarted consumer starts receiving
//! again. A pause stops the loop with its messages in hand: their leases may run out and
//! the messages go to other consumers, and when the pause ends the consumer still processes
//! them (a duplicate) and acks them with a stale receipt, which the host refuses. A scripted
//! `leave` stops receiving; the messages in hand are processed and settled first.
//!
//! Consumer policies that hold events (reorder buffer, versioned consumer, clock orders,
//! causal delivery) keep them in this consumer's memory, while the events they wait for may
//! reach another consumer: so the held events are looked at again against the group's store
//! (`recheck_held`) after every message and every empty receive. A message whose event is
//! held is not acknowledged until the buffer lets it go (applied, or dropped as late or a
//! duplicate): it stays leased, so a crash of the consumer, or a lease running out, gives
//! it back to the queue instead of losing it with the buffer (the queue's counterpart of a
//! log consumer committing only below its first held event). Such buffered messages do not
//! count against the prefetch (they are the strategy's, not the receive window's).

use std::collections::VecDeque;

use ordo_sim::rng::Ratio;
use ordo_sim::TimerId;

use super::{tag, Consumer, ModelCtx, Msg, FETCH_TIMEOUT, POLL, PROCESS, STORE_WRITE, STRATEGY_TIMER};
use crate::history::Rec;
use crate::model::queue::Received;
use crate::model::World;
use crate::scenario::QueueAckMode;

/// The queue client's state (volatile: lost in a crash).
#[derive(Default)]
pub(super) struct QueueClient {
    /// The latest receive request (this incarnation's number in the high half, so an answer
    /// to a request of an earlier incarnation is never taken for a current one), and whether
    /// it is unanswered.
    request: u64,
    receiving: bool,
    receive_timer: Option<TimerId>,
    /// Received and not processed yet, in the order received.
    in_hand: VecDeque<Received>,
    /// Being processed.
    current: Option<Received>,
    /// Processed, but their events are in a strategy's buffer: acknowledged when they leave it.
    buffered: Vec<Received>,
}

impl QueueClient {
    /// Messages received and not settled: what counts against the prefetch.
    fn held(&self) -> u32 {
        self.in_hand.len() as u32 + u32::from(self.current.is_some())
    }

    /// The consumer `node` crashed with this state: what it held is gone, and so is what
    /// was on its way to it (the engine drops messages sent to an earlier incarnation).
    pub(super) fn crashed(&self, world: &mut World, node: u32) {
        world.queue_in_hand -= u64::from(self.held());
        world.queue_transit.retain(|&(to, _), _| to != node);
    }
}

impl Consumer {
    pub(super) fn queue_start(&mut self, ctx: &mut ModelCtx<'_>) {
        let request = u64::from(self.incarnation) << 32;
        self.queue = Some(Box::new(QueueClient { request, ..QueueClient::default() }));
        self.queue_receive(ctx);
    }

    fn queue_client(&mut self) -> &mut QueueClient {
        self.queue.as_mut().expect("queue mode")
    }

    /// Asks the host for as many messages as the prefetch leaves room for (unless a request
    /// is out already, or there is no room).
    fn queue_receive(&mut self, ctx: &mut ModelCtx<'_>) {
        if self.left {
            return;
        }
        let config = ctx.shared.scenario.queue.as_ref().expect("queue mode");
        let (prefetch, timeout_ns) = (config.prefetch, ctx.shared.scenario.consumer.request_timeout_ms * 1_000_000);
        let (receiving, held) = {
            let client = self.queue_client();
            (client.receiving, client.held())
        };
        if receiving {
            return;
        }
        if self.leave_requested {
            self.left = held == 0;
            return;
        }
        let room = prefetch.saturating_sub(held);
        if room == 0 {
            return;
        }
        let client = self.queue_client();
        client.request += 1;
        client.receiving = true;
        let request = client.request;
        let host = ctx.shared.layout.broker(0);
        ctx.send(host, Msg::QueueReceive { request, max: room });
        let timer = ctx.set_timer(timeout_ns, tag::make(FETCH_TIMEOUT, request & 0xffff_ffff));
        self.queue_client().receive_timer = Some(timer);
    }

    pub(super) fn queue_message(&mut self, ctx: &mut ModelCtx<'_>, msg: Msg) {
        if let Msg::QueueMessages { request, messages } = msg {
            self.queue_received(ctx, request, messages);
        }
    }

    fn queue_received(&mut self, ctx: &mut ModelCtx<'_>, request: u64, messages: Vec<Received>) {
        // The observer's bookkeeping: this answer is no longer on its way.
        ctx.shared.queue_transit.remove(&(self.node, request));
        let client = self.queue_client();
        if !client.receiving || request != client.request {
            // A late or repeated answer: the consumer dropped that request. Leased messages
            // come back when their leases run out; auto-acknowledged ones are lost.
            return;
        }
        client.receiving = false;
        if let Some(timer) = client.receive_timer.take() {
            ctx.cancel_timer(timer);
        }
        let (t, clock) = (ctx.now_ns(), ctx.local_ns());
        let world = &mut *ctx.shared;
        for m in &messages {
            world.stats.deliveries += 1;
            let delivered = &mut world.delivered[m.event as usize];
            if *delivered > 0 {
                world.stats.duplicate_deliveries += 1;
            }
            *delivered = delivered.saturating_add(1);
            let (offset, event, receive) = (m.offset, m.event, m.receives);
            world.record(Rec::QueueDeliver { t, node: self.node, clock, offset, event, receive });
        }
        world.queue_in_hand += messages.len() as u64;
        let got = !messages.is_empty();
        let client = self.queue_client();
        client.in_hand.extend(messages);
        if got {
            self.queue_next(ctx);
            return;
        }
        // Nothing to receive: events held for their turn may have had it at another consumer.
        self.recheck_held(ctx);
        self.queue_ack_released(ctx);
        if ctx.shared.finished() {
            ctx.stop();
            return;
        }
        if self.queue_client().held() == 0 {
            let idle_ns = ctx.shared.scenario.consumer.poll_idle_ms * 1_000_000;
            ctx.set_timer(idle_ns, tag::make(POLL, 0));
        }
    }

    /// Starts processing the next message in hand, if idle.
    fn queue_next(&mut self, ctx: &mut ModelCtx<'_>) {
        let client = self.queue_client();
        if client.current.is_some() {
            return;
        }
        let Some(next) = client.in_hand.pop_front() else { return };
        client.current = Some(next);
        self.schedule_processing(ctx, 0, 0);
    }

    /// The current message's processing time is over: it failed (nack, or gone with auto
    /// acks) or the policy admits it and the consumer acks it.
    fn queue_processed(&mut self, ctx: &mut ModelCtx<'_>) {
        let Some(message) = self.queue_client().current.take() else { return };
        ctx.shared.queue_in_hand -= 1;
        let ack = ctx.shared.scenario.queue.as_ref().expect("queue mode").ack;
        let failure_ppm = ctx.shared.scenario.consumer.processing_failure_ppm;
        let failed = failure_ppm > 0 && ctx.rng().chance(Ratio { num: failure_ppm, den: 1_000_000 });
        if failed {
            ctx.shared.stats.processing_failures += 1;
        }
        let host = ctx.shared.layout.broker(0);
        let Received { offset, event, receipt, .. } = message;
        match (failed, ack) {
            (true, QueueAckMode::Manual) => {
                ctx.send(host, Msg::QueueSettle { offset, event, receipt, nack: true });
            }
            (true, QueueAckMode::Auto) => {
                // Acknowledged when delivered: nothing to give back, the message is gone.
                ctx.shared.stats.failed_auto_acked += 1;
                let (t, clock) = (ctx.now_ns(), ctx.local_ns());
                let reason = "processing_failed";
                ctx.shared.record(Rec::Discard { t, node: self.node, clock, partition: 0, offset, event, reason });
            }
            (false, _) => {
                self.admit(ctx, 0, offset, event);
                self.recheck_held(ctx);
                if ack == QueueAckMode::Manual {
                    self.queue_client().buffered.push(message);
                    self.queue_ack_released(ctx);
                }
            }
        }
        if ctx.shared.finished() {
            ctx.stop();
            return;
        }
        self.queue_receive(ctx);
        self.queue_next(ctx);
    }

    /// Acknowledges the processed messages whose events no strategy buffer holds (any more).
    fn queue_ack_released(&mut self, ctx: &mut ModelCtx<'_>) {
        let buffered = std::mem::take(&mut self.queue_client().buffered);
        let (gone, kept): (Vec<Received>, Vec<Received>) =
            buffered.into_iter().partition(|m| !self.holds(m.offset, m.event));
        self.queue_client().buffered = kept;
        let host = ctx.shared.layout.broker(0);
        for Received { offset, event, receipt, .. } in gone {
            ctx.send(host, Msg::QueueSettle { offset, event, receipt, nack: false });
        }
    }

    pub(super) fn queue_timer(&mut self, ctx: &mut ModelCtx<'_>, timer_tag: u64) {
        match tag::kind(timer_tag) {
            POLL => self.queue_receive(ctx),
            PROCESS => self.queue_processed(ctx),
            FETCH_TIMEOUT => {
                let client = self.queue_client();
                if client.receiving && tag::payload(timer_tag) == client.request & 0xffff_ffff {
                    // Unanswered: the connection is broken or the host is down. Ask again.
                    client.receiving = false;
                    client.receive_timer = None;
                    ctx.reconnect(ctx.shared.layout.broker(0));
                    self.queue_receive(ctx);
                }
            }
            STRATEGY_TIMER => {
                // Look again first (so skipping a gap never moves a store's number backwards).
                self.recheck_held(ctx);
                let payload = tag::payload(timer_tag);
                self.with_policy(ctx, |policy, cx| policy.on_timer(cx, payload));
                self.queue_ack_released(ctx);
            }
            STORE_WRITE => self.writes.land(&mut ctx.shared.stores, tag::payload(timer_tag)),
            _ => unreachable!("unknown queue consumer timer {timer_tag:#x}"),
        }
    }

    /// A scripted `leave`: stop receiving; what is in hand is still processed and settled.
    pub(super) fn queue_leave(&mut self) {
        self.leave_requested = true;
        let client = self.queue_client();
        let idle = !client.receiving && client.held() == 0;
        self.left = idle;
    }
}
