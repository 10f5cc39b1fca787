//! A consumer: a member of the group.
//!
//! The loop is the Java consumer's synchronous loop: fetch the committed offset of each
//! assigned partition (or start at 0: `auto.offset.reset = earliest`); then repeatedly
//! poll (one fetch per partition to its leader, returning when all have answered or the
//! request timeout passes), process the returned records one at a time (a processing time
//! each, then apply to the group's projection), and poll again, after `poll_idle_ms` if the
//! poll came back empty. Offsets are committed per [`CommitMode`]: at poll time every
//! `auto_commit_interval_ms` (auto), as soon as a poll returns (before), or once its records
//! are processed (after). A committed offset is the next offset to read.
//!
//! Membership ([`Assignment`]): with `static`, partition `p` belongs to consumer
//! `p mod consumers` for ever, in generation 1. Otherwise the consumer joins the group at
//! the coordinator ([`super::group`]) and heartbeats every `heartbeat_interval_ms`. A
//! rebalance is noticed on a heartbeat and handled at the next poll, as Kafka does inside
//! `poll()`: with `eager` the member commits (auto and after modes, as `onPartitionsRevoked`
//! would), revokes every partition and rejoins, and consumes nothing until the new
//! generation's assignment arrives (the stop-the-world pause); with `cooperative` it keeps
//! its partitions while rejoining and revokes only those the new assignment takes away. A
//! member that has not polled for `max_poll_interval_ms` leaves the group. A member the
//! coordinator dropped (its session expired: a long pause) finds out only at its next
//! heartbeat or commit: meanwhile it keeps processing what it had fetched, a **zombie**,
//! and its commits fail. It then rejoins under a new member id.
//!
//! In queue mode (`[queue]`) none of that applies: the consumer competes with the others for
//! the messages of one shared queue, receiving, processing and acknowledging them one by
//! one (see `queue_client.rs` and [`super::queue`]). Processing, the consumer policies
//! (`admit`) and the faults are the same.

use std::collections::{BTreeMap, BTreeSet};

use ordo_sim::NodeId;

mod queue_client;

use super::broker::FetchErrorKind;
use super::group::GroupError;
use super::{tag, ModelCtx, Msg};
use crate::history::Rec;
use crate::scenario::{Assignment, CommitMode, ConsumerPolicy};

const OFFSET_RETRY: u64 = 1;
const POLL: u64 = 2;
const FETCH_TIMEOUT: u64 = 3;
const PROCESS: u64 = 4;
const COMMIT_TIMEOUT: u64 = 5;
const HEARTBEAT: u64 = 6;
const JOIN_RETRY: u64 = 7;
const METADATA_RETRY: u64 = 8;
const REORDER_TIMEOUT: u64 = 9;

/// The generation of a static assignment.
const STATIC_GENERATION: u32 = 1;

/// One partition this member owns.
#[derive(Clone, Copy, Debug)]
struct Owned {
    partition: u32,
    /// Next offset to fetch.
    position: u64,
    /// Whether the starting position is known (the committed offset arrived).
    ready: bool,
    commit_sent: Option<u64>,
    commit_acked: Option<u64>,
}

impl Owned {
    fn new(partition: u32) -> Owned {
        Owned { partition, position: 0, ready: false, commit_sent: None, commit_acked: None }
    }
}

pub struct Consumer {
    index: u32,
    node: u32,
    /// Member id: consumer index and incarnation (a restarted or fenced member rejoins as a
    /// new member, as dynamic membership does).
    member: u32,
    incarnation: u32,
    generation: u32,
    owned: Vec<Owned>,
    joining: bool,
    rejoin_needed: bool,
    poll: u32,
    polling: bool,
    last_poll_ns: u64,
    fetch_timer: Option<ordo_sim::TimerId>,
    commit_timer: Option<ordo_sim::TimerId>,
    outstanding: u32,
    /// The current poll's records: (partition, offset, event).
    fetched: Vec<(u32, u64, u32)>,
    next_to_process: usize,
    processing: bool,
    last_auto_commit_ns: u64,
    /// Left the group for good (a scripted `leave`), or asked to at the next poll.
    left: bool,
    leave_requested: bool,
    /// Metadata: each partition's leader (broker index), `u32::MAX` when offline or unknown.
    leaders: Vec<u32>,
    metadata_pending: bool,
    metadata_timer: bool,
    /// Reorder buffer / versioned consumer: events held until their turn, by (entity, seq).
    held: BTreeMap<(u32, u32), (u32, u64, u32)>,
    /// Entities with a gap timer pending.
    gap_timers: BTreeSet<u32>,
    /// Queue mode: the queue client (receiving, messages in hand); `None` for a log.
    queue: Option<Box<queue_client::QueueClient>>,
}

impl Consumer {
    pub fn new(index: u32, node: NodeId) -> Consumer {
        Consumer {
            index,
            node: node.0,
            member: index << 16,
            incarnation: 0,
            generation: 0,
            owned: Vec::new(),
            joining: false,
            rejoin_needed: false,
            poll: 0,
            polling: false,
            last_poll_ns: 0,
            fetch_timer: None,
            commit_timer: None,
            outstanding: 0,
            fetched: Vec::new(),
            next_to_process: 0,
            processing: false,
            last_auto_commit_ns: 0,
            left: false,
            leave_requested: false,
            leaders: Vec::new(),
            metadata_pending: false,
            metadata_timer: false,
            held: BTreeMap::new(),
            gap_timers: BTreeSet::new(),
            queue: None,
        }
    }

    /// The process died: positions, fetched records, membership and commit bookkeeping are
    /// gone. It restarts from the group's committed offsets, so what it had processed but not
    /// committed is delivered again, and what it committed but had not processed is skipped.
    pub fn on_crash(&mut self, world: &mut super::World) {
        if let Some(queue) = &self.queue {
            queue.crashed(world, self.node);
        }
        let incarnation = self.incarnation + 1;
        *self = Consumer::new(self.index, NodeId(self.node));
        self.incarnation = incarnation;
        self.member = (self.index << 16) | (incarnation & 0xffff);
    }

    fn assignment(ctx: &ModelCtx<'_>) -> Assignment {
        ctx.shared.scenario.consumer.assignment
    }

    pub fn on_start(&mut self, ctx: &mut ModelCtx<'_>) {
        if ctx.shared.scenario.queue.is_some() {
            self.queue_start(ctx);
            return;
        }
        self.last_poll_ns = ctx.now_ns();
        let layout = ctx.shared.layout;
        self.leaders = (0..layout.partitions).map(|p| p % layout.brokers).collect();
        if Self::assignment(ctx) == Assignment::Static {
            let layout = ctx.shared.layout;
            let partitions: Vec<u32> = (0..layout.partitions).filter(|&p| layout.owner(p) == self.index).collect();
            self.take_assignment(ctx, STATIC_GENERATION, partitions);
            return;
        }
        self.join(ctx);
        let every_ns = ctx.shared.scenario.consumer.heartbeat_interval_ms * 1_000_000;
        ctx.set_timer(every_ns, tag::make(HEARTBEAT, 0));
    }

    fn join(&mut self, ctx: &mut ModelCtx<'_>) {
        self.joining = true;
        self.rejoin_needed = false;
        let coordinator = ctx.shared.layout.coordinator();
        ctx.send(coordinator, Msg::JoinGroup { member: self.member });
        // A join may wait at the coordinator for the whole rebalance; asking again every
        // request timeout is harmless (a parked member stays parked) and recovers a join
        // lost with a crashed coordinator, as a client does when its connection drops.
        let wait_ns = ctx.shared.scenario.consumer.request_timeout_ms * 1_000_000;
        ctx.set_timer(wait_ns, tag::make(JOIN_RETRY, u64::from(self.member)));
    }

    /// A new generation's partitions: revoke what is gone, record the assignment, and find
    /// the starting offsets of what is new.
    fn take_assignment(&mut self, ctx: &mut ModelCtx<'_>, generation: u32, partitions: Vec<u32>) {
        let t = ctx.now_ns();
        let gone: Vec<u32> = self.owned.iter().map(|o| o.partition).filter(|p| !partitions.contains(p)).collect();
        // Cooperative members give up partitions after the sync, as members of the new
        // generation: their last commits for them carry it.
        let previous = std::mem::replace(&mut self.generation, generation);
        if !gone.is_empty() {
            let mode = ctx.shared.scenario.consumer.commit;
            if mode != CommitMode::Before {
                self.commit_positions(ctx, Some(&gone));
            }
            let current = std::mem::replace(&mut self.generation, previous);
            self.revoke(ctx, &gone); // the revoke record names the generation that owned them
            self.generation = current;
        }
        ctx.shared.stats.assignments += 1;
        for &partition in &partitions {
            ctx.shared.record(Rec::Assign { t, node: self.node, generation, partition });
            let world = &mut *ctx.shared;
            let revoked_at = std::mem::replace(&mut world.revoked_at[partition as usize], u64::MAX);
            if revoked_at != u64::MAX {
                world.stats.rebalance_pause_ns += t - revoked_at;
                world.stats.partition_pauses += 1;
                if world.revoked_by[partition as usize] == self.node {
                    world.stats.unmoved_pauses += 1;
                }
            }
            if !self.owned.iter().any(|o| o.partition == partition) {
                self.owned.push(Owned::new(partition));
            }
        }
        self.owned.sort_by_key(|o| o.partition);
        if self.owned.iter().all(|o| o.ready) {
            self.resume(ctx);
        } else {
            self.fetch_offsets(ctx);
        }
    }

    fn revoke(&mut self, ctx: &mut ModelCtx<'_>, partitions: &[u32]) {
        let t = ctx.now_ns();
        for &partition in partitions {
            ctx.shared.record(Rec::Revoke { t, node: self.node, generation: self.generation, partition });
            let revoked_at = &mut ctx.shared.revoked_at[partition as usize];
            *revoked_at = (*revoked_at).min(t);
            ctx.shared.revoked_by[partition as usize] = self.node;
        }
        self.owned.retain(|o| !partitions.contains(&o.partition));
    }

    /// Starts polling again if the loop is idle (not polling, not processing a batch).
    fn resume(&mut self, ctx: &mut ModelCtx<'_>) {
        if !self.polling && !self.processing && !self.joining {
            self.start_poll(ctx);
        }
    }

    fn fetch_offsets(&mut self, ctx: &mut ModelCtx<'_>) {
        let coordinator = ctx.shared.layout.coordinator();
        let missing: Vec<u32> = self.owned.iter().filter(|o| !o.ready).map(|o| o.partition).collect();
        if missing.is_empty() {
            return;
        }
        for partition in missing {
            ctx.send(coordinator, Msg::OffsetFetch { partition });
        }
        let timeout_ns = ctx.shared.scenario.consumer.request_timeout_ms * 1_000_000;
        ctx.set_timer(timeout_ns, tag::make(OFFSET_RETRY, 0));
    }

    fn owned_mut(&mut self, partition: u32) -> Option<&mut Owned> {
        self.owned.iter_mut().find(|o| o.partition == partition)
    }

    pub fn on_message(&mut self, ctx: &mut ModelCtx<'_>, msg: Msg) {
        if self.queue.is_some() {
            self.queue_message(ctx, msg);
            return;
        }
        match msg {
            Msg::OffsetFetchOk { partition, offset } => {
                let node = self.node;
                let Some(owned) = self.owned_mut(partition) else { return };
                if owned.ready {
                    return;
                }
                owned.ready = true;
                owned.position = offset.unwrap_or(0);
                owned.commit_sent = offset;
                owned.commit_acked = offset;
                let rec =
                    Rec::Seek { t: ctx.now_ns(), node, partition, offset: owned.position, committed: offset.is_some() };
                ctx.shared.record(rec);
                if self.owned.iter().all(|o| o.ready) {
                    self.last_auto_commit_ns = ctx.now_ns();
                    self.resume(ctx);
                }
            }
            Msg::FetchOk { poll, partition, offset, events } => {
                if !self.polling || poll != self.poll {
                    return; // an answer to a poll that already returned
                }
                let room = ctx.shared.scenario.consumer.max_poll_records as usize - self.fetched.len();
                if let Some(owned) = self.owned_mut(partition) {
                    if offset == owned.position {
                        for (index, &event) in events.iter().take(room).enumerate() {
                            self.fetched.push((partition, offset + index as u64, event));
                        }
                    }
                }
                self.outstanding -= 1;
                if self.outstanding == 0 {
                    self.poll_returned(ctx);
                }
            }
            // The coordinator recorded the commit when it decided; here the member learns.
            Msg::OffsetCommitOk { partition, offset, generation: _, error } => {
                if let Some(owned) = self.owned_mut(partition) {
                    owned.commit_acked = Some(offset);
                }
                if self.owned.iter().all(|o| o.commit_sent == o.commit_acked) {
                    if let Some(timer) = self.commit_timer.take() {
                        ctx.cancel_timer(timer);
                    }
                }
                if matches!(error, Some(GroupError::UnknownMember | GroupError::IllegalGeneration)) {
                    self.fenced(ctx);
                }
            }
            Msg::FetchError { poll, partition, reason } => {
                if !self.polling || poll != self.poll {
                    return;
                }
                match reason {
                    FetchErrorKind::NotLeader => self.refresh_metadata(ctx),
                    FetchErrorKind::OutOfRange { high_watermark } => {
                        // The log was truncated below our position (an unclean election):
                        // reset to the leader's end (`auto.offset.reset` for out-of-range).
                        let node = self.node;
                        if let Some(owned) = self.owned_mut(partition) {
                            owned.position = high_watermark;
                            let rec = Rec::Seek {
                                t: ctx.now_ns(),
                                node,
                                partition,
                                offset: high_watermark,
                                committed: false,
                            };
                            ctx.shared.record(rec);
                        }
                    }
                }
                self.outstanding -= 1;
                if self.outstanding == 0 {
                    self.poll_returned(ctx);
                }
            }
            Msg::Metadata { leaders } => {
                self.metadata_pending = false;
                self.leaders = leaders;
            }
            Msg::JoinGroupOk { member, generation, partitions } if member == self.member && self.joining => {
                self.joining = false;
                self.take_assignment(ctx, generation, partitions);
            }
            Msg::HeartbeatAnswer { member, error } if member == self.member => match error {
                Some(GroupError::RebalanceInProgress) if !self.joining => {
                    self.rejoin_needed = true;
                    self.resume(ctx);
                }
                Some(GroupError::UnknownMember | GroupError::IllegalGeneration) => self.fenced(ctx),
                _ => {}
            },
            _ => {}
        }
    }

    /// Asks the controller who leads what: one request and one retry timer at a time.
    fn refresh_metadata(&mut self, ctx: &mut ModelCtx<'_>) {
        if self.metadata_pending {
            return;
        }
        self.metadata_pending = true;
        ctx.send(ctx.shared.layout.controller(), Msg::MetadataRequest);
        if !self.metadata_timer {
            self.metadata_timer = true;
            let timeout_ns = ctx.shared.scenario.consumer.request_timeout_ms * 1_000_000;
            ctx.set_timer(timeout_ns, tag::make(METADATA_RETRY, 0));
        }
    }

    /// A graceful exit from the group (a scripted `leave`), as an application does it: the
    /// loop stops at its next poll (the batch in hand is finished first), then commits what
    /// was processed, gives up every partition, tells the coordinator, and consumes no more.
    pub fn leave(&mut self, ctx: &mut ModelCtx<'_>) {
        if self.queue.is_some() {
            self.queue_leave();
            return;
        }
        self.leave_requested = true;
        if !self.polling && !self.processing {
            self.leave_now(ctx);
        }
    }

    fn leave_now(&mut self, ctx: &mut ModelCtx<'_>) {
        if self.left {
            return;
        }
        if ctx.shared.scenario.consumer.commit != CommitMode::Before {
            self.commit_positions(ctx, None);
        }
        let all: Vec<u32> = self.owned.iter().map(|o| o.partition).collect();
        self.revoke(ctx, &all);
        ctx.send(ctx.shared.layout.coordinator(), Msg::LeaveGroup { member: self.member });
        self.left = true;
        self.joining = false;
    }

    /// The coordinator no longer counts this member: its partitions are lost (no commit, as
    /// `onPartitionsLost`), and it rejoins as a new member at its next poll.
    fn fenced(&mut self, ctx: &mut ModelCtx<'_>) {
        if self.joining || self.left {
            return;
        }
        let lost: Vec<u32> = self.owned.iter().map(|o| o.partition).collect();
        self.revoke(ctx, &lost);
        self.incarnation += 1;
        self.member = (self.index << 16) | (self.incarnation & 0xffff);
        self.rejoin_needed = true;
        self.resume(ctx);
    }

    pub fn on_timer(&mut self, ctx: &mut ModelCtx<'_>, timer_tag: u64) {
        if self.queue.is_some() {
            self.queue_timer(ctx, timer_tag);
            return;
        }
        match tag::kind(timer_tag) {
            OFFSET_RETRY => {
                if self.owned.iter().any(|o| !o.ready) {
                    ctx.reconnect(ctx.shared.layout.coordinator());
                    self.fetch_offsets(ctx);
                }
            }
            POLL => self.start_poll(ctx),
            FETCH_TIMEOUT => {
                self.fetch_timer = None;
                if self.polling && tag::payload(timer_tag) == u64::from(self.poll) {
                    // Some fetch went unanswered: its connection is broken, or its broker is
                    // gone. Reconnect, and ask who leads now.
                    for owned in &self.owned {
                        if let Some(&broker) = self.leaders.get(owned.partition as usize).filter(|&&b| b != u32::MAX) {
                            ctx.reconnect(ctx.shared.layout.broker(broker));
                        }
                    }
                    self.refresh_metadata(ctx);
                    self.poll_returned(ctx);
                }
            }
            PROCESS => self.process_next(ctx),
            COMMIT_TIMEOUT => {
                self.commit_timer = None;
                if self.owned.iter().any(|o| o.commit_sent != o.commit_acked) {
                    // An unanswered commit: reconnect to the coordinator and commit again.
                    ctx.reconnect(ctx.shared.layout.coordinator());
                    for owned in &mut self.owned {
                        owned.commit_sent = owned.commit_acked;
                    }
                    self.commit_positions(ctx, None);
                }
            }
            HEARTBEAT => self.heartbeat(ctx),
            REORDER_TIMEOUT => self.reorder_timeout(ctx, tag::payload(timer_tag) as u32),
            METADATA_RETRY => {
                self.metadata_timer = false;
                if self.metadata_pending {
                    self.metadata_pending = false;
                    ctx.reconnect(ctx.shared.layout.controller());
                    self.refresh_metadata(ctx);
                }
            }
            JOIN_RETRY => {
                if self.joining && tag::payload(timer_tag) == u64::from(self.member) {
                    ctx.reconnect(ctx.shared.layout.coordinator());
                    self.join(ctx);
                }
            }
            _ => unreachable!("unknown consumer timer {timer_tag:#x}"),
        }
    }

    /// The reorder buffer waited `reorder_timeout_ms` for `entity`'s missing number: skip it.
    fn reorder_timeout(&mut self, ctx: &mut ModelCtx<'_>, entity: u32) {
        self.gap_timers.remove(&entity);
        self.skip_gap(ctx, entity);
        if self.held.range((entity, 0)..=(entity, u32::MAX)).next().is_some() && self.gap_timers.insert(entity) {
            let timeout_ns = ctx.shared.scenario.consumer.reorder_timeout_ms * 1_000_000;
            ctx.set_timer(timeout_ns, tag::make(REORDER_TIMEOUT, u64::from(entity)));
        }
    }

    /// The heartbeat thread: heartbeats, and leaves the group when the application has not
    /// polled within `max_poll_interval_ms`.
    fn heartbeat(&mut self, ctx: &mut ModelCtx<'_>) {
        if self.left {
            return;
        }
        let config = &ctx.shared.scenario.consumer;
        let (every_ns, max_poll_ns) =
            (config.heartbeat_interval_ms * 1_000_000, config.max_poll_interval_ms * 1_000_000);
        let coordinator = ctx.shared.layout.coordinator();
        if !self.joining && !self.rejoin_needed && ctx.now_ns().saturating_sub(self.last_poll_ns) > max_poll_ns {
            ctx.send(coordinator, Msg::LeaveGroup { member: self.member });
            self.fenced(ctx);
        } else if !self.joining {
            ctx.send(coordinator, Msg::Heartbeat { member: self.member, generation: self.generation });
        }
        ctx.set_timer(every_ns, tag::make(HEARTBEAT, 0));
    }

    fn start_poll(&mut self, ctx: &mut ModelCtx<'_>) {
        if self.polling || self.processing || self.left {
            return; // a stale idle-poll timer (the loop is already running), or gone
        }
        if self.leave_requested {
            self.leave_now(ctx);
            return;
        }
        self.last_poll_ns = ctx.now_ns();
        if self.joining {
            return; // the join answer resumes the loop
        }
        if self.rejoin_needed {
            self.prepare_rejoin(ctx);
            return;
        }
        if self.owned.iter().any(|o| !o.ready) {
            return; // an offset answer resumes the loop
        }
        if self.owned.is_empty() {
            // Nothing assigned: the loop keeps calling poll(), which returns nothing (and
            // notices a rebalance through the heartbeat).
            let idle_ns = ctx.shared.scenario.consumer.poll_idle_ms * 1_000_000;
            ctx.set_timer(idle_ns, tag::make(POLL, 0));
            return;
        }
        let config = &ctx.shared.scenario.consumer;
        let (mode, interval_ns, max, timeout_ns) = (
            config.commit,
            config.auto_commit_interval_ms * 1_000_000,
            config.max_poll_records,
            config.request_timeout_ms * 1_000_000,
        );
        if mode == CommitMode::Auto && ctx.now_ns() - self.last_auto_commit_ns >= interval_ns {
            self.last_auto_commit_ns = ctx.now_ns();
            self.commit_positions(ctx, None);
        }
        self.poll += 1;
        self.polling = true;
        self.fetched.clear();
        self.outstanding = 0;
        let mut offline = false;
        for owned in &self.owned {
            let broker = self.leaders.get(owned.partition as usize).copied().unwrap_or(u32::MAX);
            if broker == u32::MAX {
                offline = true; // nothing to fetch until metadata says otherwise
                continue;
            }
            let leader = ctx.shared.layout.broker(broker);
            ctx.send(leader, Msg::Fetch { poll: self.poll, partition: owned.partition, offset: owned.position, max });
            self.outstanding += 1;
        }
        if offline {
            self.refresh_metadata(ctx); // look again: a leader may be back
        }
        self.fetch_timer = Some(ctx.set_timer(timeout_ns, tag::make(FETCH_TIMEOUT, u64::from(self.poll))));
    }

    /// Inside `poll()`, before rejoining: eager members commit and give up everything.
    fn prepare_rejoin(&mut self, ctx: &mut ModelCtx<'_>) {
        if Self::assignment(ctx) == Assignment::Eager {
            if ctx.shared.scenario.consumer.commit != CommitMode::Before {
                self.commit_positions(ctx, None);
            }
            let all: Vec<u32> = self.owned.iter().map(|o| o.partition).collect();
            self.revoke(ctx, &all);
        }
        self.join(ctx);
    }

    fn poll_returned(&mut self, ctx: &mut ModelCtx<'_>) {
        self.polling = false;
        if let Some(timer) = self.fetch_timer.take() {
            ctx.cancel_timer(timer);
        }
        let (t, clock) = (ctx.now_ns(), ctx.local_ns());
        for index in 0..self.fetched.len() {
            let (partition, offset, event) = self.fetched[index];
            if let Some(owned) = self.owned_mut(partition) {
                owned.position = offset + 1;
            }
            let world = &mut *ctx.shared;
            world.stats.deliveries += 1;
            let delivered = &mut world.delivered[event as usize];
            if *delivered > 0 {
                world.stats.duplicate_deliveries += 1;
            }
            *delivered = delivered.saturating_add(1);
            let generation = self.generation;
            world.record(Rec::Deliver { t, node: self.node, clock, generation, partition, offset, event });
        }
        if ctx.shared.scenario.consumer.commit == CommitMode::Before {
            self.commit_positions(ctx, None);
        }
        if self.fetched.is_empty() {
            // Nothing new: the work may be over (the last outstanding event can be settled
            // anywhere, a producer crash included); an idle poll is where that is noticed.
            if ctx.shared.finished() {
                ctx.stop();
                return;
            }
            let idle_ns = ctx.shared.scenario.consumer.poll_idle_ms * 1_000_000;
            ctx.set_timer(idle_ns, tag::make(POLL, 0));
        } else {
            self.next_to_process = 0;
            self.processing = true;
            self.schedule_processing(ctx);
        }
    }

    fn schedule_processing(&mut self, ctx: &mut ModelCtx<'_>) {
        let config = &ctx.shared.scenario.consumer;
        let (low, high) = (config.processing_min_us * 1_000, config.processing_max_us * 1_000);
        let processing_ns = ctx.rng().between(low, high);
        ctx.set_timer(processing_ns, tag::make(PROCESS, 0));
    }

    /// The record's processing time is over: the consumer policy decides whether it is
    /// applied now, held, or discarded (whether or not this member still owns the partition:
    /// a zombie's side effects happen too).
    fn process_next(&mut self, ctx: &mut ModelCtx<'_>) {
        let (partition, offset, event) = self.fetched[self.next_to_process];
        self.next_to_process += 1;
        self.admit(ctx, partition, offset, event);
        let processed = &mut ctx.shared.processed[partition as usize];
        *processed = (*processed).max(offset + 1);
        if self.next_to_process < self.fetched.len() {
            self.schedule_processing(ctx);
            return;
        }
        self.processing = false;
        if ctx.shared.scenario.consumer.commit == CommitMode::After {
            self.commit_positions(ctx, None);
        }
        if ctx.shared.finished() {
            ctx.stop();
            return;
        }
        self.start_poll(ctx);
    }

    /// The consumer-side strategy's decision for one processed event.
    fn admit(&mut self, ctx: &mut ModelCtx<'_>, partition: u32, offset: u64, event: u32) {
        let world = &mut *ctx.shared;
        let policy = world.scenario.consumer.policy;
        let entity = world.catalog.events[event as usize].entity;
        match policy {
            ConsumerPolicy::Plain => self.apply(ctx, partition, offset, event),
            ConsumerPolicy::IdempotentConsumer => {
                if world.applied[event as usize] > 0 {
                    self.discard(ctx, partition, offset, event, "duplicate");
                } else {
                    self.apply(ctx, partition, offset, event);
                }
            }
            ConsumerPolicy::LastWriteWins => {
                let ts = world.created_clock[event as usize];
                let last = &mut world.last_ts[entity as usize];
                if ts > *last {
                    *last = ts;
                    self.apply(ctx, partition, offset, event);
                } else {
                    self.discard(ctx, partition, offset, event, "stale");
                }
            }
            ConsumerPolicy::ReorderBuffer | ConsumerPolicy::Versioned => {
                let seq = world.catalog.events[event as usize].step + 1;
                let next = world.next_seq[entity as usize];
                if seq < next {
                    self.discard(ctx, partition, offset, event, "late");
                } else if seq == next {
                    self.apply(ctx, partition, offset, event);
                    ctx.shared.next_seq[entity as usize] = next + 1;
                    self.drain(ctx, entity);
                } else {
                    self.held.insert((entity, seq), (partition, offset, event));
                    let held = self.held.len() as u64;
                    let stats = &mut ctx.shared.stats;
                    stats.held_max = stats.held_max.max(held);
                    if policy == ConsumerPolicy::ReorderBuffer {
                        let capacity = u64::from(ctx.shared.scenario.consumer.reorder_capacity);
                        if held > capacity {
                            self.skip_gap(ctx, entity);
                        } else if self.gap_timers.insert(entity) {
                            let timeout_ns = ctx.shared.scenario.consumer.reorder_timeout_ms * 1_000_000;
                            ctx.set_timer(timeout_ns, tag::make(REORDER_TIMEOUT, u64::from(entity)));
                        }
                    }
                }
            }
        }
    }

    /// Applies the held events of `entity` that are next in sequence.
    fn drain(&mut self, ctx: &mut ModelCtx<'_>, entity: u32) {
        loop {
            let next = ctx.shared.next_seq[entity as usize];
            let Some((partition, offset, event)) = self.held.remove(&(entity, next)) else { break };
            self.apply(ctx, partition, offset, event);
            ctx.shared.next_seq[entity as usize] = next + 1;
        }
    }

    /// Gives up waiting for `entity`'s missing sequence number: continue from the lowest
    /// held one (the missing events are skipped: a visible gap).
    fn skip_gap(&mut self, ctx: &mut ModelCtx<'_>, entity: u32) {
        let lowest = self.held.range((entity, 0)..=(entity, u32::MAX)).next().map(|(&(_, seq), _)| seq);
        if let Some(seq) = lowest {
            ctx.shared.next_seq[entity as usize] = seq;
            ctx.shared.stats.skipped_gaps += 1;
            self.drain(ctx, entity);
        }
    }

    fn apply(&mut self, ctx: &mut ModelCtx<'_>, partition: u32, offset: u64, event: u32) {
        let (t, clock) = (ctx.now_ns(), ctx.local_ns());
        let world = &mut *ctx.shared;
        world.record(Rec::Apply { t, node: self.node, clock, partition, offset, event });
        world.stats.applies += 1;
        let applied = &mut world.applied[event as usize];
        if *applied > 0 {
            world.stats.duplicate_applies += 1;
        }
        *applied = applied.saturating_add(1);
        let info = world.catalog.events[event as usize];
        world.entities[info.entity as usize].status = info.kind;
        let latency = t - world.created_ns[event as usize];
        world.stats.latency_sum_ns += latency;
        world.stats.latency_max_ns = world.stats.latency_max_ns.max(latency);
    }

    fn discard(&mut self, ctx: &mut ModelCtx<'_>, partition: u32, offset: u64, event: u32, reason: &'static str) {
        let (t, clock) = (ctx.now_ns(), ctx.local_ns());
        ctx.shared.record(Rec::Discard { t, node: self.node, clock, partition, offset, event, reason });
        ctx.shared.stats.discarded += 1;
    }

    /// Commits the position of every owned partition (or of `only` those) that moved since
    /// its last commit.
    fn commit_positions(&mut self, ctx: &mut ModelCtx<'_>, only: Option<&[u32]>) {
        let coordinator = ctx.shared.layout.coordinator();
        let (generation, member) = (self.generation, self.member);
        let mut sent = false;
        for owned in &mut self.owned {
            if only.is_some_and(|only| !only.contains(&owned.partition)) {
                continue;
            }
            let offset = owned.position;
            if owned.ready && owned.commit_sent != Some(offset) {
                owned.commit_sent = Some(offset);
                ctx.send(coordinator, Msg::OffsetCommit { partition: owned.partition, offset, generation, member });
                sent = true;
            }
        }
        if sent {
            if let Some(timer) = self.commit_timer.take() {
                ctx.cancel_timer(timer);
            }
            let timeout_ns = ctx.shared.scenario.consumer.request_timeout_ms * 1_000_000;
            self.commit_timer = Some(ctx.set_timer(timeout_ns, tag::make(COMMIT_TIMEOUT, 0)));
        }
    }
}
