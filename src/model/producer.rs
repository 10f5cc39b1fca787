//! A producer process: the application that creates events, and its Kafka producer client.
//!
//! The client follows the Java producer: records accumulate per partition into batches
//! (sealed when `batch_size` records are in, or `linger_ms` after the first one); sealed
//! batches wait in a per-partition queue and are sent, one request per batch, while the
//! leader's connection has fewer than `max_in_flight` unanswered requests. A request that
//! gets no answer within `request_timeout_ms` makes the client drop the connection (as
//! Kafka's `NetworkClient` does), which fails *every* request in flight on it; it then
//! reconnects. A failed batch goes straight back to the head of its partition's queue
//! (Kafka's `reenqueue`) and waits `retry_backoff_ms` there, blocking the batches behind
//! it, until `retries` or `delivery_timeout_ms` runs out; then it is given up.
//!
//! That is the whole reordering mechanism: with idempotence off and `max_in_flight > 1`,
//! the failed in-flight batches N, N+1, … are re-enqueued one by one at the head, oldest
//! first, so they go out again newest first, and a batch failing with an error answer
//! while its successor succeeds is retried after it. A lost answer to an appended batch
//! makes its retry append it twice. With `max_in_flight = 1` nothing is behind a failed
//! batch on the wire, and its backoff at the head of the queue holds the rest back.
//!
//! The idempotent producer (docs/known-outcomes.md) first gets a producer id (PID) and epoch
//! from the coordinator; each batch gets the partition's next sequence numbers when it is
//! first sent and keeps them on every retry. Retries are queued in sequence order, and a
//! partition whose next batch is a retry sends nothing else until its in-flight requests
//! are answered, so the broker's sequence check sees batches in order. An
//! `OutOfOrderSequence` answer is retried while an earlier batch of the partition is still
//! unresolved (it explains the gap), and is fatal for the batch otherwise.

use std::collections::VecDeque;

use ordo_sim::TimerId;

use super::hooks::{Carried, ProducerHooks, Resend, Setup, StampCx};
use super::workload::{self, key_partition, next_producer};
use super::{tag, ModelCtx, Msg};
use crate::history::{BatchInfo, EventInfo, FailReason, Rec, NONE_U32, NONE_U64};
use crate::scenario::{Acks, Partitioner, WorkloadMode};

const START: u64 = 1;
const STEP: u64 = 2;
const LINGER: u64 = 3;
const REQUEST_TIMEOUT: u64 = 4;
const BACKOFF: u64 = 5;
const INIT_RETRY: u64 = 6;
const METADATA_RETRY: u64 = 7;

#[derive(Default)]
struct OpenBatch {
    events: Vec<u32>,
    first_ns: u64,
    linger: Option<TimerId>,
}

/// A sealed batch the producer has not resolved yet (acknowledged or given up).
struct PendingBatch {
    partition: u32,
    attempt: u16,
    created_ns: u64,
    in_flight: bool,
    timer: Option<TimerId>,
    /// Not to be sent again before this time (retry backoff).
    retry_at_ns: u64,
    /// The broker (index) the attempt in flight went to.
    broker: u32,
}

pub struct Producer {
    index: u32,
    /// Events to send again once this (restarted) session is ready: the durable source's
    /// unacknowledged events.
    resend: Vec<u32>,
    /// Entity starts, latest first.
    starts: Vec<(u64, u32)>,
    pid: u64,
    epoch: u16,
    ready: bool,
    last_created: u32,
    round_robin: u32,
    /// Per entity, the partition of its key once computed (`NONE_U32` before): hashing the
    /// key text for every event costs more than the rest of choosing where it goes.
    key_partitions: Vec<u32>,
    next_seq: Vec<u32>,
    open: Vec<OpenBatch>,
    queues: Queues,
    pending: PendingSet,
    /// Per broker connection: batches in flight, in send order.
    in_flight: Vec<VecDeque<u32>>,
    in_flight_in_partition: Vec<u32>,
    /// Metadata: the leader (broker index) of each partition, `u32::MAX` when offline.
    leaders: Vec<u32>,
    metadata_pending: bool,
    metadata_timer: bool,
    /// KIP-360: a batch was given up under this epoch; once no batch of the epoch is
    /// unresolved, bump the epoch and restart every partition's sequence at 0.
    bump_epoch: bool,
    /// The strategies' producer-side hooks (a logical clock, a re-send rule; see
    /// `crate::strategy`), built at the first start and kept in the application's durable
    /// state: they survive a crash, so stamps never go back.
    hooks: Option<Vec<Box<dyn ProducerHooks>>>,
    /// A log-tailing relay's durable state (`workload.relay_flush_ms` > 0): kept across
    /// crashes, as the source's log and the stored restart position are.
    source: SourceLog,
}

/// A change-data-capture relay over the source's commit log: the events from the stored
/// restart position on, in commit (creation) order, and when the position was last stored.
#[derive(Default)]
struct SourceLog {
    after_position: VecDeque<u32>,
    stored_ns: u64,
}

/// The unresolved batches, indexed by batch id from the oldest one: a window over the ids
/// (a producer's unresolved batches are close together: ids are handed out in sealing
/// order, and batches resolve roughly in that order), so a lookup is an index, not a
/// search. The window has holes (other producers' batches, batches resolved out of order);
/// it starts at the oldest unresolved batch.
#[derive(Default)]
struct PendingSet {
    /// The batch id of `slots[0]`.
    base: u32,
    slots: VecDeque<Option<PendingBatch>>,
}

impl PendingSet {
    #[inline]
    fn get(&self, batch: &u32) -> Option<&PendingBatch> {
        let offset = batch.checked_sub(self.base)?;
        self.slots.get(offset as usize)?.as_ref()
    }

    #[inline]
    fn get_mut(&mut self, batch: &u32) -> Option<&mut PendingBatch> {
        let offset = batch.checked_sub(self.base)?;
        self.slots.get_mut(offset as usize)?.as_mut()
    }

    fn insert(&mut self, batch: u32, pending: PendingBatch) {
        if self.slots.is_empty() {
            self.base = batch;
        }
        while batch < self.base {
            self.slots.push_front(None);
            self.base -= 1;
        }
        let offset = (batch - self.base) as usize;
        if offset >= self.slots.len() {
            self.slots.resize_with(offset + 1, || None);
        }
        self.slots[offset] = Some(pending);
    }

    fn remove(&mut self, batch: &u32) {
        if let Some(slot) = batch.checked_sub(self.base).and_then(|offset| self.slots.get_mut(offset as usize)) {
            *slot = None;
        }
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.base += 1;
        }
    }

    /// Batch ids in increasing order.
    fn keys(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots.iter().enumerate().filter(|(_, slot)| slot.is_some()).map(|(offset, _)| self.base + offset as u32)
    }
}

impl std::ops::Index<&u32> for PendingSet {
    type Output = PendingBatch;
    fn index(&self, batch: &u32) -> &PendingBatch {
        self.get(batch).expect("the batch is pending")
    }
}

/// The per-partition queues of sealed batches, with a bitset of the non-empty ones (bit `p`
/// set iff queue `p` holds a batch) so that `try_send` visits only those, in partition
/// order. Every change goes through the methods below, which keep the bits exact.
struct Queues {
    queues: Vec<VecDeque<u32>>,
    queued: Vec<u64>,
}

impl Queues {
    fn new(partitions: usize) -> Queues {
        Queues { queues: vec![VecDeque::new(); partitions], queued: vec![0; partitions.div_ceil(64)] }
    }

    fn note(&mut self, partition: usize) {
        let bit = 1u64 << (partition % 64);
        if self.queues[partition].is_empty() {
            self.queued[partition / 64] &= !bit;
        } else {
            self.queued[partition / 64] |= bit;
        }
    }

    fn front(&self, partition: usize) -> Option<u32> {
        self.queues[partition].front().copied()
    }

    fn push_back(&mut self, partition: usize, batch: u32) {
        self.queues[partition].push_back(batch);
        self.note(partition);
    }

    fn push_front(&mut self, partition: usize, batch: u32) {
        self.queues[partition].push_front(batch);
        self.note(partition);
    }

    /// Inserts `batch` before the first queued batch `after` accepts (else at the back).
    fn insert_by(&mut self, partition: usize, batch: u32, after: impl Fn(u32) -> bool) {
        let queue = &mut self.queues[partition];
        let position = queue.iter().position(|&other| after(other)).unwrap_or(queue.len());
        queue.insert(position, batch);
        self.note(partition);
    }

    fn pop_front(&mut self, partition: usize) -> Option<u32> {
        let batch = self.queues[partition].pop_front();
        self.note(partition);
        batch
    }

    /// The first partition at or after `from` with a queued batch.
    fn next_queued(&self, from: usize) -> Option<usize> {
        let mut word = from / 64;
        let mut bits = *self.queued.get(word)? & (u64::MAX << (from % 64));
        loop {
            if bits != 0 {
                return Some(word * 64 + bits.trailing_zeros() as usize);
            }
            word += 1;
            bits = *self.queued.get(word)?;
        }
    }
}

impl Producer {
    fn hooks_mut(&mut self) -> &mut [Box<dyn ProducerHooks>] {
        self.hooks.as_deref_mut().unwrap_or_default()
    }

    pub fn new(index: u32, starts: Vec<(u64, u32)>, partitions: u32, brokers: u32) -> Producer {
        Producer {
            index,
            resend: Vec::new(),
            starts,
            pid: NONE_U64,
            epoch: 0,
            ready: false,
            last_created: NONE_U32,
            round_robin: index,
            key_partitions: Vec::new(),
            next_seq: vec![0; partitions as usize],
            open: (0..partitions).map(|_| OpenBatch::default()).collect(),
            queues: Queues::new(partitions as usize),
            pending: PendingSet::default(),
            in_flight: vec![VecDeque::new(); brokers as usize],
            in_flight_in_partition: vec![0; partitions as usize],
            leaders: (0..partitions).map(|p| p % brokers).collect(),
            metadata_pending: false,
            metadata_timer: false,
            hooks: None,
            bump_epoch: false,
            source: SourceLog::default(),
        }
    }

    pub fn on_start(&mut self, ctx: &mut ModelCtx<'_>) {
        if self.hooks.is_none() {
            let world = &mut *ctx.shared;
            let (plugins, name) =
                (world.scenario.plugins.clone(), world.catalog.node_names[self.index as usize].clone());
            self.hooks = Some(plugins.producer_hooks(&mut Setup::new(world, &name, self.index)));
        }
        if ctx.shared.scenario.producer.idempotence {
            self.request_producer_id(ctx);
        } else {
            self.ready = true;
            let t = ctx.now_ns();
            ctx.shared.record(Rec::ProducerInit { t, node: self.index, pid: NONE_U64, epoch: 0 });
            self.send_again(ctx);
        }
        self.arm_next_start(ctx);
    }

    /// Sends the events waiting in `resend` again, as new records.
    fn send_again(&mut self, ctx: &mut ModelCtx<'_>) {
        for event in std::mem::take(&mut self.resend) {
            let entity = ctx.shared.catalog.events[event as usize].entity;
            let partition = self.partition_for(ctx, entity);
            self.add_to_batch(ctx, partition, event);
        }
    }

    fn partition_for(&mut self, ctx: &mut ModelCtx<'_>, entity: u32) -> u32 {
        let world = &*ctx.shared;
        let partitions = world.layout.partitions;
        if let Some(partition) = self.hooks_mut().iter_mut().find_map(|h| h.partition(entity, partitions)) {
            return partition % partitions;
        }
        if world.scenario.producer.partitioner == Partitioner::Key {
            let index = entity as usize;
            if index >= self.key_partitions.len() {
                self.key_partitions.resize(index + 1, NONE_U32);
            }
            if self.key_partitions[index] == NONE_U32 {
                self.key_partitions[index] = key_partition(&world.catalog.entity_prefix, entity, partitions);
            }
            self.key_partitions[index]
        } else {
            self.round_robin = (self.round_robin + 1) % partitions;
            self.round_robin
        }
    }

    fn request_producer_id(&mut self, ctx: &mut ModelCtx<'_>) {
        let coordinator = ctx.shared.layout.coordinator();
        ctx.reconnect(coordinator);
        ctx.send(coordinator, Msg::InitProducerId);
        let timeout_ns = ctx.shared.scenario.producer.request_timeout_ms * 1_000_000;
        ctx.set_timer(timeout_ns, tag::make(INIT_RETRY, 0));
    }

    fn arm_next_start(&mut self, ctx: &mut ModelCtx<'_>) {
        if let Some(&(at_ns, _)) = self.starts.last() {
            // A closed loop starts at once what its room allows (`workload::closed_room`).
            let delay = if ctx.shared.scenario.workload.mode == WorkloadMode::Closed {
                0
            } else {
                at_ns.saturating_sub(ctx.now_ns())
            };
            ctx.set_timer(delay, tag::make(START, 0));
        }
    }

    /// Events this producer created (or must resend) that are not acknowledged or given
    /// up yet: in open batches, in sealed ones, and waiting to be sent again.
    fn unresolved_events(&self, ctx: &ModelCtx<'_>) -> u64 {
        let batches = &ctx.shared.catalog.batches;
        let open: usize = self.open.iter().map(|o| o.events.len()).sum();
        let sealed: u64 = self.pending.keys().map(|b| u64::from(batches[b as usize].events_len)).sum();
        (open as u64).saturating_add(sealed).saturating_add(self.resend.len() as u64)
    }

    pub fn on_message(&mut self, ctx: &mut ModelCtx<'_>, msg: Msg) {
        match msg {
            Msg::InitProducerIdOk { pid, epoch } if !self.ready => {
                self.pid = pid;
                self.epoch = epoch;
                self.ready = true;
                let t = ctx.now_ns();
                ctx.shared.record(Rec::ProducerInit { t, node: self.index, pid, epoch });
                self.send_again(ctx);
                self.try_send(ctx);
            }
            Msg::ProduceOk { batch, attempt, base_offset } if self.end_attempt(ctx, batch, attempt) => {
                let (t, clock) = (ctx.now_ns(), ctx.local_ns());
                ctx.shared.record(Rec::Ack { t, node: self.index, clock, batch, attempt, offset: base_offset });
                self.resolve(ctx, batch, true);
                self.try_send(ctx);
            }
            Msg::ProduceError { batch, attempt, reason } if self.end_attempt(ctx, batch, attempt) => {
                self.failed(ctx, batch, attempt, reason);
                if reason == FailReason::NotLeader {
                    self.refresh_metadata(ctx);
                }
                self.try_send(ctx);
            }
            Msg::Metadata { leaders } => {
                self.metadata_pending = false;
                self.leaders = leaders;
                // Offline partitions are looked up again when the retry timer fires.
                self.try_send(ctx);
            }
            Msg::Handoff { entity, cause } => {
                let catalog = &ctx.shared.catalog;
                for hook in self.hooks.iter_mut().flatten() {
                    hook.merge(Carried::new(catalog, cause));
                }
                self.schedule_step(ctx, entity);
            }
            // Stale answers (to attempts that already failed) and messages for other roles.
            _ => {}
        }
    }

    pub fn on_timer(&mut self, ctx: &mut ModelCtx<'_>, timer_tag: u64) {
        let payload = tag::payload(timer_tag);
        match tag::kind(timer_tag) {
            START if ctx.shared.scenario.workload.mode == WorkloadMode::Closed => {
                let mut room = workload::closed_room(&ctx.shared.scenario.workload, self.unresolved_events(ctx));
                while room > 0 {
                    let Some((_, entity)) = self.starts.pop() else { break };
                    self.create_event(ctx, entity);
                    room -= 1;
                }
            }
            START => {
                while let Some(&(at_ns, entity)) = self.starts.last() {
                    if at_ns > ctx.now_ns() {
                        break;
                    }
                    self.starts.pop();
                    self.create_event(ctx, entity);
                }
                self.arm_next_start(ctx);
            }
            STEP => self.create_event(ctx, payload as u32),
            LINGER => {
                let partition = payload as u32;
                self.open[partition as usize].linger = None;
                self.seal(ctx, partition);
            }
            REQUEST_TIMEOUT => {
                let (batch, attempt) = ((payload >> 16) as u32, (payload & 0xffff) as u16);
                if let Some(pending) = self.pending.get_mut(&batch) {
                    if pending.in_flight && pending.attempt == attempt {
                        pending.timer = None;
                        let broker = pending.broker;
                        self.disconnect(ctx, broker, batch);
                        self.try_send(ctx);
                    }
                }
            }
            BACKOFF => {
                self.try_send(ctx);
                // The backoff is due at a true time; a fast clock's timer fires a little
                // before it. Wait for the rest (at least 1 ns: the engine guarantees it).
                let batch = payload as u32;
                if let Some(pending) = self.pending.get(&batch) {
                    let now = ctx.now_ns();
                    if !pending.in_flight && pending.retry_at_ns > now {
                        ctx.set_timer(pending.retry_at_ns - now, timer_tag);
                    }
                }
            }
            METADATA_RETRY => {
                self.metadata_timer = false;
                if self.metadata_pending {
                    // Unanswered: ask again on a fresh connection.
                    self.metadata_pending = false;
                    ctx.reconnect(ctx.shared.layout.controller());
                    self.refresh_metadata(ctx);
                } else if self.leaders.contains(&u32::MAX) {
                    self.refresh_metadata(ctx); // something was offline: look again
                }
            }
            INIT_RETRY => {
                if !self.ready {
                    self.request_producer_id(ctx);
                }
            }
            _ => unreachable!("unknown producer timer {timer_tag:#x}"),
        }
    }

    fn schedule_step(&mut self, ctx: &mut ModelCtx<'_>, entity: u32) {
        let workload = &ctx.shared.scenario.workload;
        let (low, high) = (workload.think_min_us * 1_000, workload.think_max_us * 1_000);
        let think_ns = ctx.rng().between(low, high);
        ctx.set_timer(think_ns, tag::make(STEP, u64::from(entity)));
        ctx.shared.entities[entity as usize].holder = self.index;
    }

    /// The process died: everything not durable is gone. Batches not yet acknowledged are
    /// lost (the application never learns their fate), and so are the entity chains whose
    /// next step this process was to emit. The workload plan (entities yet to start) is
    /// outside the process and survives.
    pub fn on_crash(&mut self, world: &mut super::World) {
        let mut unacknowledged: Vec<u32> = std::mem::take(&mut self.resend);
        for batch in self.pending.keys() {
            unacknowledged.extend_from_slice(world.catalog.batch_events(batch));
        }
        for open in &self.open {
            unacknowledged.extend_from_slice(&open.events);
        }
        unacknowledged.sort_unstable(); // creation order
        let durable = world.scenario.workload.durable_source;
        if !durable {
            for &event in &unacknowledged {
                world.fate[event as usize] |= super::fate::LOST_IN_CRASH;
            }
            world.unresolved -= unacknowledged.len() as u64;
            world.stats.lost_in_crash += unacknowledged.len() as u64;
            unacknowledged.clear();
        }
        world.stats.resent += unacknowledged.len() as u64;
        for entity in 0..world.entities.len() as u32 {
            let state = world.entities[entity as usize];
            if state.holder == self.index && state.last_event != NONE_U32 {
                world.cut_chain(entity);
            }
        }
        let partitions = self.open.len() as u32;
        let brokers = self.in_flight.len() as u32;
        let starts = std::mem::take(&mut self.starts);
        let hooks = self.hooks.take();
        let source = std::mem::take(&mut self.source);
        if durable && world.scenario.workload.relay_flush_ms > 0 {
            // A log-tailing relay restarts from its stored position: everything after it
            // goes out again, the acknowledged events too (they were resolved: unresolved
            // again until acknowledged anew).
            let resolved = super::fate::ACKED | super::fate::GIVEN_UP;
            for &event in &source.after_position {
                if world.fate[event as usize] & resolved != 0 {
                    world.fate[event as usize] = 0;
                    world.unresolved += 1;
                    world.stats.resent += 1;
                }
            }
            unacknowledged = source.after_position.iter().copied().collect();
        }
        *self = Producer::new(self.index, starts, partitions, brokers);
        self.resend = unacknowledged;
        self.hooks = hooks;
        self.source = source;
    }

    /// The application creates the next event of `entity` and hands it to the client.
    fn create_event(&mut self, ctx: &mut ModelCtx<'_>, entity: u32) {
        let cross_ppm = ctx.shared.scenario.workload.cross_entity_ppm;
        let cross = cross_ppm > 0 && ctx.rng().chance(ordo_sim::rng::Ratio { num: cross_ppm, den: 1_000_000 });
        let previous = ctx.shared.entities[entity as usize].last_event;
        // A saga step may fail: its service emits the compensation of the step before it
        // (the kind the entity is in) instead, and the saga ends (`workload.compensations`).
        let compensate = {
            let workload = &ctx.shared.scenario.workload;
            let (ppm, undoable) = (workload.compensation_ppm, workload.compensations.len());
            let before = (previous != NONE_U32).then(|| ctx.shared.catalog.events[previous as usize].step);
            let undo = before.map(|step| (step as usize) % workload.kinds.len()).filter(|&kind| kind < undoable);
            match undo {
                Some(kind) if ppm > 0 && ctx.rng().chance(ordo_sim::rng::Ratio { num: ppm, den: 1_000_000 }) => {
                    Some(kind)
                }
                _ => None,
            }
        };
        let (t, clock) = (ctx.now_ns(), ctx.local_ns());
        let world = &mut *ctx.shared;
        let step = if previous == NONE_U32 { 0 } else { world.catalog.events[previous as usize].step + 1 };
        let event = world.catalog.events.len() as u32;
        let deps_start = world.catalog.deps.len() as u32;
        if previous != NONE_U32 {
            world.catalog.deps.push(previous);
        }
        if cross && self.last_created != NONE_U32 && world.catalog.events[self.last_created as usize].entity != entity {
            world.catalog.deps.push(self.last_created);
        }
        let keyed = world.scenario.producer.partitioner == Partitioner::Key;
        let kinds = world.scenario.workload.kinds.len() as u32;
        let kind = match compensate {
            Some(undone) => (kinds as usize + undone) as u16,
            None => (step % kinds) as u16,
        };
        let mut stamp = StampCx::new(&mut world.catalog, self.index, clock);
        for hook in self.hooks.iter_mut().flatten() {
            hook.stamp(&mut stamp);
        }
        world.catalog.events.push(EventInfo {
            entity,
            step,
            kind,
            deps_start,
            deps_len: (world.catalog.deps.len() as u32 - deps_start) as u16,
            keyed,
        });
        world.entities[entity as usize].last_event = event;
        world.created_ns.push(t);
        world.created_clock.push(clock);
        world.created_by.push(self.index);
        world.delivered.push(0);
        world.applied.push(0);
        world.appended.push(0);
        world.fate.push(0);
        world.stats.created += 1;
        world.record(Rec::Create { t, node: self.index, clock, event });
        self.last_created = event;
        if world.scenario.workload.durable_source && world.scenario.workload.relay_flush_ms > 0 {
            self.source.after_position.push_back(event);
        }

        let partition = self.partition_for(ctx, entity);
        self.add_to_batch(ctx, partition, event);

        let workload = &ctx.shared.scenario.workload;
        if compensate.is_some() {
            // The compensation ends the saga: the steps it will never take are not outstanding.
            let world = &mut *ctx.shared;
            world.stats.compensations += 1;
            world.unresolved -= u64::from(world.scenario.workload.events_per_entity - (step + 1));
            world.entities[entity as usize].holder = NONE_U32;
        } else if step + 1 < workload.events_per_entity {
            let (handoff, producers) = (workload.handoff, ctx.shared.layout.producers);
            let next = next_producer(handoff, producers, entity, step + 1, self.index, ctx.rng());
            let to = ctx.shared.layout.producer(next);
            if next == self.index {
                self.schedule_step(ctx, entity);
            } else if ctx.is_up(to) {
                ctx.shared.entities[entity as usize].holder = next;
                ctx.send(to, Msg::Handoff { entity, cause: event });
            } else {
                // The application's call to the next service fails at once: the chain ends.
                ctx.shared.cut_chain(entity);
            }
        } else {
            ctx.shared.entities[entity as usize].holder = NONE_U32;
        }
    }

    fn add_to_batch(&mut self, ctx: &mut ModelCtx<'_>, partition: u32, event: u32) {
        let config = &ctx.shared.scenario.producer;
        let (batch_size, linger_ns) = (config.batch_size as usize, config.linger_ms * 1_000_000);
        let open = &mut self.open[partition as usize];
        if open.events.is_empty() {
            open.first_ns = ctx.now_ns();
            if linger_ns > 0 {
                open.linger = Some(ctx.set_timer(linger_ns, tag::make(LINGER, u64::from(partition))));
            }
        }
        open.events.push(event);
        if linger_ns == 0 || open.events.len() >= batch_size {
            self.seal(ctx, partition);
        }
    }

    fn seal(&mut self, ctx: &mut ModelCtx<'_>, partition: u32) {
        let open = &mut self.open[partition as usize];
        if open.events.is_empty() {
            return;
        }
        if let Some(timer) = open.linger.take() {
            ctx.cancel_timer(timer);
        }
        let world = &mut *ctx.shared;
        let batch = world.catalog.batches.len() as u32;
        world.catalog.batches.push(BatchInfo {
            producer: self.index,
            partition,
            events_start: world.catalog.batch_events.len() as u32,
            events_len: open.events.len() as u32,
            pid: NONE_U64,
            epoch: 0,
            seq: NONE_U32,
        });
        world.catalog.batch_events.extend_from_slice(&open.events);
        world.stats.batches += 1;
        open.events.clear();
        self.pending.insert(
            batch,
            PendingBatch {
                partition,
                attempt: 0,
                created_ns: open.first_ns,
                in_flight: false,
                timer: None,
                retry_at_ns: 0,
                broker: 0,
            },
        );
        self.queues.push_back(partition as usize, batch);
        self.try_send(ctx);
    }

    /// Sends queued batches while the connections allow.
    fn try_send(&mut self, ctx: &mut ModelCtx<'_>) {
        if !self.ready {
            return;
        }
        if self.bump_epoch {
            self.maybe_bump_epoch(ctx);
        }
        let config = &ctx.shared.scenario.producer;
        let (max_in_flight, idempotent) = (config.max_in_flight, config.idempotence);
        let now = ctx.now_ns();
        // In partition order, as a scan of every partition would, skipping empty queues.
        let mut from = 0;
        while let Some(partition) = self.queues.next_queued(from) {
            from = partition + 1;
            let broker = self.leaders[partition] as usize;
            if broker >= self.in_flight.len() {
                // Offline: wait for a new leader, asking again every retry_backoff_ms (the
                // retry timer does), not on every answer that still says offline.
                if !self.metadata_timer {
                    self.refresh_metadata(ctx);
                }
                continue;
            }
            while let Some(batch) = self.queues.front(partition) {
                if self.in_flight[broker].len() as u32 >= max_in_flight {
                    break;
                }
                let head = &self.pending[&batch];
                if head.retry_at_ns > now {
                    break; // backing off at the head of the queue holds the partition back
                }
                if idempotent && head.attempt > 0 && self.in_flight_in_partition[partition] > 0 {
                    break; // a retry goes alone, so the broker sees sequences in order
                }
                if self.bump_epoch && ctx.shared.catalog.batches[batch as usize].seq == NONE_U32 {
                    break; // new batches wait for the new epoch
                }
                self.queues.pop_front(partition);
                self.send_attempt(ctx, batch);
            }
        }
    }

    /// KIP-360 (Kafka ≥ 2.5): after an idempotent batch expired, its sequence numbers leave
    /// a gap the broker would refuse for ever. The client waits until every batch that
    /// already has sequence numbers under the current epoch is resolved (retries of later
    /// batches run into the gap and fail: OutOfOrderSequence with nothing earlier pending),
    /// then bumps the epoch itself (same PID) and restarts each partition's sequence at 0;
    /// the broker accepts a higher epoch starting at sequence 0.
    fn maybe_bump_epoch(&mut self, ctx: &mut ModelCtx<'_>) {
        let batches = &ctx.shared.catalog.batches;
        if self.pending.keys().any(|b| batches[b as usize].seq != NONE_U32) {
            return;
        }
        self.bump_epoch = false;
        self.epoch += 1;
        self.next_seq.iter_mut().for_each(|seq| *seq = 0);
        let (t, pid, epoch) = (ctx.now_ns(), self.pid, self.epoch);
        ctx.shared.record(Rec::ProducerInit { t, node: self.index, pid, epoch });
    }

    fn send_attempt(&mut self, ctx: &mut ModelCtx<'_>, batch: u32) {
        let (t, clock) = (ctx.now_ns(), ctx.local_ns());
        let acks = ctx.shared.scenario.producer.acks;
        let request_timeout_ns = ctx.shared.scenario.producer.request_timeout_ms * 1_000_000;
        let pending = self.pending.get_mut(&batch).expect("queued batches are pending");
        pending.attempt += 1;
        let (attempt, partition) = (pending.attempt, pending.partition);
        let world = &mut *ctx.shared;
        let info = &mut world.catalog.batches[batch as usize];
        if self.pid != NONE_U64 && info.seq == NONE_U32 {
            // First send: the batch takes the session's PID and the partition's next sequences.
            info.pid = self.pid;
            info.epoch = self.epoch;
            info.seq = self.next_seq[partition as usize];
            self.next_seq[partition as usize] += info.events_len;
        }
        world.stats.send_attempts += 1;
        if attempt > 1 {
            world.stats.retries += 1;
        }
        let (pid, epoch, seq) = (info.pid, info.epoch, info.seq);
        world.record(Rec::Send {
            t,
            node: self.index,
            clock,
            batch,
            attempt,
            acks: acks.as_json() as i8,
            pid,
            epoch,
            seq,
        });
        let broker_index = self.leaders[partition as usize];
        let leader = world.layout.broker(broker_index);
        ctx.send(leader, Msg::Produce { batch, attempt });
        if acks == Acks::None {
            // Fire and forget: the client reports success at once, with no offset.
            ctx.shared.record(Rec::Ack { t, node: self.index, clock, batch, attempt, offset: NONE_U64 });
            self.resolve(ctx, batch, true);
            return;
        }
        self.in_flight[broker_index as usize].push_back(batch);
        self.in_flight_in_partition[partition as usize] += 1;
        let timer = ctx
            .set_timer(request_timeout_ns, tag::make(REQUEST_TIMEOUT, (u64::from(batch) << 16) | u64::from(attempt)));
        let pending = self.pending.get_mut(&batch).expect("just sent");
        pending.in_flight = true;
        pending.timer = Some(timer);
        pending.broker = broker_index;
    }

    /// Ends the in-flight attempt `attempt` of `batch`; false for a stale or unknown answer
    /// (an answer to an attempt that already timed out: its connection is gone).
    fn end_attempt(&mut self, ctx: &mut ModelCtx<'_>, batch: u32, attempt: u16) -> bool {
        let Some(pending) = self.pending.get_mut(&batch) else {
            return false;
        };
        if !pending.in_flight || pending.attempt != attempt {
            return false;
        }
        pending.in_flight = false;
        if let Some(timer) = pending.timer.take() {
            ctx.cancel_timer(timer);
        }
        let (partition, broker) = (pending.partition, pending.broker as usize);
        if let Some(position) = self.in_flight[broker].iter().position(|&b| b == batch) {
            self.in_flight[broker].remove(position);
        }
        self.in_flight_in_partition[partition as usize] -= 1;
        true
    }

    /// A request to `broker` timed out: drop the connection, failing every request in
    /// flight on it (oldest first), reconnect, and refresh metadata (the leader may have moved).
    fn disconnect(&mut self, ctx: &mut ModelCtx<'_>, broker: u32, timed_out: u32) {
        let leader = ctx.shared.layout.broker(broker);
        let failed: Vec<u32> = self.in_flight[broker as usize].iter().copied().collect();
        for batch in failed {
            let attempt = self.pending[&batch].attempt;
            self.end_attempt(ctx, batch, attempt);
            let reason = if batch == timed_out { FailReason::RequestTimeout } else { FailReason::Disconnected };
            self.failed(ctx, batch, attempt, reason);
        }
        ctx.reconnect(leader);
        self.refresh_metadata(ctx);
    }

    /// Asks the controller who leads what: one request and one retry timer at a time.
    fn refresh_metadata(&mut self, ctx: &mut ModelCtx<'_>) {
        if self.metadata_pending {
            return;
        }
        self.metadata_pending = true;
        let controller = ctx.shared.layout.controller();
        ctx.send(controller, Msg::MetadataRequest);
        if !self.metadata_timer {
            self.metadata_timer = true;
            let backoff_ms = ctx.shared.scenario.producer.retry_backoff_ms.max(1);
            ctx.set_timer(backoff_ms * 1_000_000, tag::make(METADATA_RETRY, 0));
        }
    }

    fn failed(&mut self, ctx: &mut ModelCtx<'_>, batch: u32, attempt: u16, reason: FailReason) {
        let config = &ctx.shared.scenario.producer;
        let (retries, backoff_ns, delivery_timeout_ns) =
            (config.retries, config.retry_backoff_ms * 1_000_000, config.delivery_timeout_ms * 1_000_000);
        let pending = &self.pending[&batch];
        let retriable = match reason {
            FailReason::OutOfOrderSequence => self.earlier_unresolved(ctx, batch),
            FailReason::InvalidProducerEpoch => false,
            _ => true,
        };
        let t = ctx.now_ns();
        let expired = t + backoff_ns >= pending.created_ns + delivery_timeout_ns;
        // Attempts are numbered in 16 bits (as the history's `attempt`): the 65,535th
        // failure gives the batch up, whatever `retries` allows.
        let retry = retriable && u32::from(attempt) <= retries && attempt < u16::MAX && !expired;
        let reason = if retriable && !retry && expired { FailReason::DeliveryTimeout } else { reason };
        ctx.shared.record(Rec::Fail { t, node: self.index, batch, attempt, reason, retry });
        if retry {
            self.requeue(ctx, batch, t + backoff_ns, reason);
            ctx.set_timer(backoff_ns, tag::make(BACKOFF, u64::from(batch)));
        } else {
            self.resolve(ctx, batch, false);
        }
    }

    /// Whether a batch of the same partition with a lower sequence is still unresolved.
    fn earlier_unresolved(&self, ctx: &ModelCtx<'_>, batch: u32) -> bool {
        let batches = &ctx.shared.catalog.batches;
        let info = batches[batch as usize];
        self.pending.keys().any(|other| {
            other != batch
                && batches[other as usize].partition == info.partition
                && batches[other as usize].seq < info.seq
        })
    }

    /// Puts a failed batch back in its queue, not to be sent before `retry_at_ns`: at the
    /// front (Kafka's `reenqueue`), when idempotent in sequence order, and at the back when
    /// a strategy's hook says so ([`ProducerHooks::resend`]).
    fn requeue(&mut self, ctx: &mut ModelCtx<'_>, batch: u32, retry_at_ns: u64, reason: FailReason) {
        let Some(pending) = self.pending.get_mut(&batch) else {
            return;
        };
        pending.retry_at_ns = retry_at_ns;
        let partition = pending.partition as usize;
        let batches = &ctx.shared.catalog.batches;
        let resend = self.hooks.iter_mut().flatten().find_map(|hook| hook.resend(reason));
        if resend == Some(Resend::Back) {
            // A strategy's rule (an expected-version conflict: the application re-reads
            // the stream and appends again later, behind the batches queued meanwhile).
            self.queues.push_back(partition, batch);
        } else if ctx.shared.scenario.producer.idempotence {
            let seq = batches[batch as usize].seq;
            self.queues.insert_by(partition, batch, |other| batches[other as usize].seq > seq);
        } else {
            self.queues.push_front(partition, batch);
        }
    }

    fn resolve(&mut self, ctx: &mut ModelCtx<'_>, batch: u32, acked: bool) {
        self.pending.remove(&batch);
        let t = ctx.now_ns();
        let world = &mut *ctx.shared;
        let events = u64::from(world.catalog.batches[batch as usize].events_len);
        let bit = if acked { super::fate::ACKED } else { super::fate::GIVEN_UP };
        for index in 0..events as usize {
            let event = world.catalog.batch_events(batch)[index];
            world.fate[event as usize] |= bit;
        }
        world.unresolved -= events;
        let flush_ns = world.scenario.workload.relay_flush_ms.saturating_mul(1_000_000);
        if acked && flush_ns > 0 && world.scenario.workload.durable_source {
            // The relay stores its restart position: the end of the acknowledged prefix.
            if t >= self.source.stored_ns.saturating_add(flush_ns) {
                while let Some(&event) = self.source.after_position.front() {
                    if world.fate[event as usize] & super::fate::ACKED == 0 {
                        break;
                    }
                    self.source.after_position.pop_front();
                }
                self.source.stored_ns = t;
            }
        }
        if acked {
            world.stats.acked += events;
        } else {
            world.stats.failed_batches += 1;
            if self.pid != NONE_U64 && world.catalog.batches[batch as usize].seq != NONE_U32 {
                self.bump_epoch = true;
            }
            if world.scenario.workload.resend_failed {
                // The application got the failure and sends the same events again, as new
                // records (new sequence numbers: idempotence cannot see they are repeats).
                let events: Vec<u32> = world.catalog.batch_events(batch).to_vec();
                world.unresolved += events.len() as u64;
                world.stats.resent += events.len() as u64;
                for &event in &events {
                    world.fate[event as usize] = 0;
                }
                self.resend.extend(events);
                self.send_again(ctx);
            }
        }
        if ctx.shared.scenario.workload.mode == WorkloadMode::Closed && !self.starts.is_empty() {
            // Room for the next entity: started from a timer, not inside this call chain.
            ctx.set_timer(0, tag::make(START, 0));
        }
        if ctx.shared.finished() {
            ctx.stop();
        }
    }
}
