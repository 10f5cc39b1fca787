//! A consumer: a member of the group.
//!
//! The loop is the Java consumer's synchronous loop: fetch the committed offset of each
//! assigned partition (or start at 0: `auto.offset.reset = earliest`); then repeatedly
//! poll (one fetch per partition to its leader, returning when all have answered or the
//! request timeout passes), process the returned records one at a time (a processing time
//! each, then apply to the group's projection), and poll again, after `poll_idle_ms` if the
//! poll came back empty. Offsets are committed per [`CommitMode`]: at poll time every
//! `auto_commit_interval_ms` (auto), as soon as a poll returns (before: `commitSync()` then
//! process, so the records wait for the commit's answers and a refused commit drops them),
//! or once its records are processed (after). A committed offset is the next offset to
//! read. The coordinator is whichever broker leads the group's offsets partition: `b0` at
//! first, then what FindCoordinator (asked of the controller) answers after a
//! `not_coordinator` answer or a coordinator request that timed out.
//!
//! Membership ([`Assignment`]): with `static`, partition `p` belongs to consumer
//! `p mod consumers` for ever, in generation 1. Otherwise the consumer joins the group at
//! the coordinator ([`super::group`]) and heartbeats every `heartbeat_interval_ms`. A
//! rebalance is noticed on a heartbeat and handled at the next poll, as Kafka does inside
//! `poll()`: with `eager` the member commits (auto and after modes, as `onPartitionsRevoked`
//! would), revokes every partition and rejoins, and consumes nothing until the new
//! generation's assignment arrives (the stop-the-world pause); with `cooperative` it keeps
//! its partitions while rejoining, goes on fetching and processing them (KIP-429,
//! KAFKA-8421), and revokes only those the new assignment takes away. A
//! member that has not polled for `max_poll_interval_ms` leaves the group. A member the
//! coordinator dropped (its session expired: a long pause) finds out only at its next
//! heartbeat or commit: meanwhile it keeps processing what it had fetched, a **zombie**,
//! and its commits fail. It then rejoins under a new member id.
//!
//! In queue mode (`[queue]`) none of that applies: the consumer competes with the others for
//! the messages of one shared queue, receiving, processing and acknowledging them one by
//! one (see `queue_client.rs` and [`super::queue`]). Processing, the consumer policies
//! (`admit`) and the faults are the same.

use ordo_sim::NodeId;

mod queue_client;

use super::broker::FetchErrorKind;
use super::group::GroupError;
use super::hooks::{self, ConsumerCx, ConsumerHooks, Writes, STORE_WRITE, STRATEGY_TIMER};
use super::{tag, ModelCtx, Msg};
use crate::history::Rec;
use crate::scenario::{Assignment, CommitMode, LaneCommit};

const OFFSET_RETRY: u64 = 1;
const POLL: u64 = 2;
const FETCH_TIMEOUT: u64 = 3;
const PROCESS: u64 = 4;
const COMMIT_TIMEOUT: u64 = 5;
const HEARTBEAT: u64 = 6;
const JOIN_RETRY: u64 = 7;
const METADATA_RETRY: u64 = 8;
// 9 is the strategy hooks' timer (`hooks::STRATEGY_TIMER`), 10 a separate store write
// landing (`hooks::STORE_WRITE`).

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
    /// The group coordinator as this member knows it (a broker index): `b0` at first, then
    /// what FindCoordinator answered.
    coordinator: u32,
    finding_coordinator: bool,
    /// When the oldest unanswered heartbeat was sent.
    heartbeat_unanswered_since: Option<u64>,
    owned: Vec<Owned>,
    joining: bool,
    rejoin_needed: bool,
    poll: u32,
    polling: bool,
    last_poll_ns: u64,
    fetch_timer: Option<ordo_sim::TimerId>,
    commit_timer: Option<ordo_sim::TimerId>,
    /// The partitions whose fetch answer the current poll still waits for. An answer for
    /// a partition not in it (a duplicate the network made) is ignored, as a client ignores
    /// a response to a request it no longer has in flight.
    awaiting: Vec<u32>,
    /// A cooperative member's new assignment that arrived while it processed a batch (with
    /// the generation it leaves): it takes effect once the batch is done, as Kafka runs rebalance callbacks inside
    /// `poll()`, never in the middle of the application's processing.
    pending_assignment: Option<(u32, Vec<u32>)>,
    /// The current poll's records: (partition, offset, event).
    fetched: Vec<(u32, u64, u32)>,
    /// The poll's records in processing lanes: one lane for all of them, or with
    /// `consumer.parallel_partitions` one per partition, processed side by side.
    lanes: Vec<Lane>,
    lanes_busy: usize,
    processing: bool,
    /// `commit = "before"`: the poll's records wait for their commit's answers
    /// (`commitSync()` returns) before they are processed.
    committing: bool,
    last_auto_commit_ns: u64,
    /// Left the group for good (a scripted `leave`), or asked to at the next poll.
    left: bool,
    leave_requested: bool,
    /// Metadata: each partition's leader (broker index), `u32::MAX` when offline or unknown.
    leaders: Vec<u32>,
    metadata_pending: bool,
    metadata_timer: bool,
    /// The consumer-side strategy's hooks (this incarnation's: built at start, gone with a
    /// crash).
    policy: Option<Box<dyn ConsumerHooks>>,
    /// The strategy's separate store writes on their way.
    writes: Writes,
    /// Queue mode: the queue client (receiving, messages in hand); `None` for a log.
    queue: Option<Box<queue_client::QueueClient>>,
}

/// A run of `fetched` records processed one after another: `start..end`, `next` to go.
#[derive(Clone, Copy, Debug)]
struct Lane {
    start: usize,
    end: usize,
    next: usize,
}

impl Consumer {
    pub fn new(index: u32, node: NodeId) -> Consumer {
        Consumer {
            index,
            node: node.0,
            member: index << 16,
            incarnation: 0,
            generation: 0,
            coordinator: 0,
            finding_coordinator: false,
            heartbeat_unanswered_since: None,
            owned: Vec::new(),
            joining: false,
            rejoin_needed: false,
            poll: 0,
            polling: false,
            last_poll_ns: 0,
            fetch_timer: None,
            commit_timer: None,
            awaiting: Vec::new(),
            pending_assignment: None,
            fetched: Vec::new(),
            lanes: Vec::new(),
            lanes_busy: 0,
            processing: false,
            committing: false,
            last_auto_commit_ns: 0,
            left: false,
            leave_requested: false,
            leaders: Vec::new(),
            metadata_pending: false,
            metadata_timer: false,
            policy: None,
            writes: Writes::default(),
            queue: None,
        }
    }

    /// The process died: positions, fetched records, membership and commit bookkeeping are
    /// gone. It restarts from the group's committed offsets, so what it had processed but not
    /// committed is delivered again, and what it committed but had not processed is skipped.
    pub fn on_crash(&mut self, world: &mut super::World, now_ns: u64) {
        if let Some(queue) = &self.queue {
            queue.crashed(world, self.node);
        }
        world.in_hand -= self.in_hand();
        for owned in &self.owned {
            world.fetch_stopped(now_ns, owned.partition, self.node);
        }
        let incarnation = self.incarnation + 1;
        *self = Consumer::new(self.index, NodeId(self.node));
        self.incarnation = incarnation;
        self.member = (self.index << 16) | (incarnation & 0xffff);
    }

    /// Records fetched and not processed yet: a batch waiting for its commit, or what its
    /// lanes have still to process.
    fn in_hand(&self) -> u64 {
        if self.committing {
            self.fetched.len() as u64
        } else if self.processing {
            self.lanes.iter().map(|lane| (lane.end - lane.next) as u64).sum()
        } else {
            0
        }
    }

    /// FindCoordinator: asks who leads the group's offsets partition now (one question at a
    /// time; the answer sends again what waits for the coordinator).
    fn find_coordinator(&mut self, ctx: &mut ModelCtx<'_>) {
        if !std::mem::replace(&mut self.finding_coordinator, true) {
            let controller = ctx.shared.layout.controller();
            ctx.send(controller, Msg::FindCoordinator);
        }
    }

    /// A coordinator request went unanswered for the request timeout: the coordinator may
    /// have moved (its broker crashed or was fenced). With one replica of the offsets
    /// partition it cannot move, and the lookup is skipped.
    fn coordinator_timed_out(&mut self, ctx: &mut ModelCtx<'_>) {
        if ctx.shared.layout.offsets_replicas().len() > 1 {
            self.finding_coordinator = false;
            self.find_coordinator(ctx);
        }
    }

    /// The coordinator is (maybe newly) known: send again what waits for it.
    fn coordinator_found(&mut self, ctx: &mut ModelCtx<'_>, broker: u32) {
        self.finding_coordinator = false;
        if broker == u32::MAX || self.left {
            return; // offline: the request timeouts ask again
        }
        if broker == self.coordinator {
            return; // the requests' own timers retry them
        }
        ctx.reconnect(ctx.shared.layout.broker(self.coordinator));
        self.coordinator = broker;
        self.heartbeat_unanswered_since = None;
        // Sent again without new timers: the ones armed with the first sends still run.
        let coordinator = ctx.shared.layout.broker(broker);
        if self.joining {
            ctx.send(coordinator, Msg::JoinGroup { member: self.member });
        }
        self.resend_commits(ctx);
        for owned in self.owned.iter().filter(|o| !o.ready) {
            ctx.send(coordinator, Msg::OffsetFetch { partition: owned.partition });
        }
    }

    fn assignment(ctx: &ModelCtx<'_>) -> Assignment {
        ctx.shared.scenario.consumer.assignment
    }

    pub fn on_start(&mut self, ctx: &mut ModelCtx<'_>) {
        let world = &mut *ctx.shared;
        let (plugins, name) = (world.scenario.plugins.clone(), world.catalog.node_names[self.node as usize].clone());
        self.policy = Some(plugins.consumer_hooks(&mut hooks::Setup::new(world, &name, self.index)));
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
        let coordinator = ctx.shared.layout.broker(self.coordinator);
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
            ctx.shared.fetch_stopped(t, partition, self.node);
        }
        self.with_policy(ctx, |policy, cx| policy.on_revoke(cx, partitions));
        self.owned.retain(|o| !partitions.contains(&o.partition));
        if self.committing {
            // Records of these partitions whose commit is not confirmed: processing them
            // could apply what their next owner reads again (its start is the last
            // confirmed commit). Dropped: at most once.
            let before = self.fetched.len();
            self.fetched.retain(|r| !partitions.contains(&r.0));
            let dropped = (before - self.fetched.len()) as u64;
            ctx.shared.in_hand -= dropped;
            ctx.shared.stats.dropped_unprocessed += dropped;
            if self.fetched.is_empty() {
                self.committing = false;
            }
        }
    }

    /// Whether the loop keeps polling while its rejoin is outstanding: a cooperative member
    /// keeps fetching what it owns (KIP-429); an eager one gave everything up.
    fn polls_while_joining(ctx: &ModelCtx<'_>) -> bool {
        Self::assignment(ctx) == Assignment::Cooperative
    }

    /// Starts polling again if the loop is idle (not polling, not processing a batch, not
    /// waiting for a commit before processing).
    fn resume(&mut self, ctx: &mut ModelCtx<'_>) {
        if self.committing && self.owned.iter().all(|o| o.commit_sent == o.commit_acked) {
            // The commit's partitions that are still ours all answered (the others were
            // revoked, and their records dropped).
            self.committing = false;
            self.start_processing(ctx);
            return;
        }
        if !self.polling && !self.processing && !self.committing && (!self.joining || Self::polls_while_joining(ctx)) {
            self.start_poll(ctx);
        }
    }

    fn fetch_offsets(&mut self, ctx: &mut ModelCtx<'_>) {
        let coordinator = ctx.shared.layout.broker(self.coordinator);
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
        if let Msg::HeartbeatAnswer { .. } = msg {
            self.heartbeat_unanswered_since = None;
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
                ctx.shared.fetch_started(ctx.now_ns(), partition, node);
                if self.owned.iter().all(|o| o.ready) {
                    self.last_auto_commit_ns = ctx.now_ns();
                    self.resume(ctx);
                }
            }
            Msg::FetchOk { poll, partition, offset, events } => {
                if !self.polling || poll != self.poll {
                    return; // an answer to a poll that already returned
                }
                let Some(waiting) = self.awaiting.iter().position(|&p| p == partition) else {
                    return; // a second copy of an answer already taken
                };
                self.awaiting.swap_remove(waiting);
                let room = ctx.shared.scenario.consumer.max_poll_records as usize - self.fetched.len();
                if let Some(owned) = self.owned_mut(partition) {
                    if offset == owned.position {
                        for (index, &event) in events.iter().take(room).enumerate() {
                            self.fetched.push((partition, offset + index as u64, event));
                        }
                    }
                }
                if self.awaiting.is_empty() {
                    self.poll_returned(ctx);
                }
            }
            // The coordinator recorded the commit when it decided; here the member learns.
            Msg::OffsetCommitOk { error: Some(GroupError::NotCoordinator), .. } => {
                // Retriable (`commitSync()` retries it): the same offset goes again to the
                // new coordinator once it is found.
                self.find_coordinator(ctx);
            }
            Msg::OffsetCommitOk { partition, offset, generation, error } => {
                // (Not for `commit = "before"`'s gate: its refused poll is dropped and must
                // be fetched again, which the rejoin below does.)
                let stale = generation < self.generation && !self.committing;
                if let Some(owned) = self.owned_mut(partition) {
                    if error.is_some() && stale {
                        // Refused as from a generation the member has left: nothing of this
                        // partition is committed by it, so its next commit sends the
                        // position again, in the current generation.
                        owned.commit_sent = None;
                        owned.commit_acked = None;
                    } else {
                        owned.commit_acked = Some(offset);
                    }
                }
                let settled = self.owned.iter().all(|o| o.commit_sent == o.commit_acked);
                if settled {
                    if let Some(timer) = self.commit_timer.take() {
                        ctx.cancel_timer(timer);
                    }
                }
                if error.is_some() && self.committing {
                    // `commitSync()` threw CommitFailedException: the application does not
                    // process what this poll returned; the records are fetched again.
                    self.committing = false;
                    let dropped = self.fetched.len() as u64;
                    self.fetched.clear();
                    ctx.shared.in_hand -= dropped;
                    ctx.shared.stats.dropped_unprocessed += dropped;
                }
                // The refusal of a commit sent in a generation this member has already left
                // (the other partitions' answers to one commit of the last batch) says
                // nothing about its new generation: the first refusal already made it give
                // the partitions up. Fencing again would drop the new assignment and make
                // it rejoin as a new member, waiting out its old session.
                if matches!(error, Some(GroupError::UnknownMember | GroupError::IllegalGeneration)) && !stale {
                    self.fenced(ctx);
                } else if error.is_some() {
                    self.resume(ctx);
                } else if settled && self.committing {
                    // `commitSync()` returned: now the records are processed.
                    self.committing = false;
                    self.start_processing(ctx);
                }
            }
            Msg::FetchError { poll, partition, reason } => {
                if !self.polling || poll != self.poll {
                    return;
                }
                let Some(waiting) = self.awaiting.iter().position(|&p| p == partition) else {
                    return; // a second copy of an answer already taken
                };
                self.awaiting.swap_remove(waiting);
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
                if self.awaiting.is_empty() {
                    self.poll_returned(ctx);
                }
            }
            Msg::Metadata { leaders } => {
                self.metadata_pending = false;
                self.leaders = leaders;
            }
            Msg::JoinGroupOk { member, generation, partitions } if member == self.member && self.joining => {
                self.joining = false;
                if self.processing {
                    // The member is in the new generation now (its heartbeats and the
                    // batch's commit carry it); what it owns changes after the batch.
                    let old = std::mem::replace(&mut self.generation, generation);
                    self.pending_assignment = Some((old, partitions));
                    return;
                }
                self.take_assignment(ctx, generation, partitions);
            }
            Msg::FindCoordinatorOk { broker } => self.coordinator_found(ctx, broker),
            Msg::NotCoordinator => self.find_coordinator(ctx),
            Msg::HeartbeatAnswer { error: Some(GroupError::NotCoordinator), .. } => {
                self.heartbeat_unanswered_since = None;
                self.find_coordinator(ctx);
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
        if !self.polling && !self.processing && !self.committing {
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
        ctx.send(ctx.shared.layout.broker(self.coordinator), Msg::LeaveGroup { member: self.member });
        self.left = true;
        self.joining = false;
    }

    /// The coordinator no longer counts this member: its partitions are lost (no commit, as
    /// `onPartitionsLost`), and it rejoins as a new member at its next poll.
    fn fenced(&mut self, ctx: &mut ModelCtx<'_>) {
        if self.left {
            return;
        }
        self.pending_assignment = None; // that generation is gone too
        let lost: Vec<u32> = self.owned.iter().map(|o| o.partition).collect();
        self.revoke(ctx, &lost);
        if self.joining {
            // The join under way gets this member a new assignment; whatever it gets
            // starts from the committed offsets.
            return;
        }
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
                    ctx.reconnect(ctx.shared.layout.broker(self.coordinator));
                    self.coordinator_timed_out(ctx);
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
            PROCESS => self.process_next(ctx, tag::payload(timer_tag) as usize),
            COMMIT_TIMEOUT => {
                self.commit_timer = None;
                if self.owned.iter().any(|o| o.commit_sent != o.commit_acked) {
                    // An unanswered commit: reconnect to the coordinator and send the same
                    // offsets again (not the positions: records past the offset that was
                    // committed may not be processed yet).
                    ctx.reconnect(ctx.shared.layout.broker(self.coordinator));
                    self.coordinator_timed_out(ctx);
                    self.resend_commits(ctx);
                }
            }
            HEARTBEAT => self.heartbeat(ctx),
            STRATEGY_TIMER => {
                let payload = tag::payload(timer_tag);
                self.with_policy(ctx, |policy, cx| policy.on_timer(cx, payload));
            }
            STORE_WRITE => self.writes.land(&mut ctx.shared.stores, tag::payload(timer_tag)),
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
                    ctx.reconnect(ctx.shared.layout.broker(self.coordinator));
                    self.coordinator_timed_out(ctx);
                    self.join(ctx);
                }
            }
            _ => unreachable!("unknown consumer timer {timer_tag:#x}"),
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
        let coordinator = ctx.shared.layout.broker(self.coordinator);
        if !self.joining && !self.rejoin_needed && ctx.now_ns().saturating_sub(self.last_poll_ns) > max_poll_ns {
            ctx.send(coordinator, Msg::LeaveGroup { member: self.member });
            self.fenced(ctx);
        } else if !self.joining {
            let (now, timeout_ns) = (ctx.now_ns(), config.request_timeout_ms * 1_000_000);
            if self.heartbeat_unanswered_since.is_some_and(|since| now.saturating_sub(since) > timeout_ns) {
                // No heartbeat answered for the request timeout: look the coordinator up.
                self.heartbeat_unanswered_since = None;
                self.coordinator_timed_out(ctx);
            }
            self.heartbeat_unanswered_since.get_or_insert(now);
            let coordinator = ctx.shared.layout.broker(self.coordinator);
            ctx.send(coordinator, Msg::Heartbeat { member: self.member, generation: self.generation });
        }
        ctx.set_timer(every_ns, tag::make(HEARTBEAT, 0));
    }

    fn start_poll(&mut self, ctx: &mut ModelCtx<'_>) {
        if self.polling || self.processing || self.committing || self.left {
            return; // a stale idle-poll timer (the loop is already running), or gone
        }
        if self.leave_requested {
            self.leave_now(ctx);
            return;
        }
        self.last_poll_ns = ctx.now_ns();
        self.recheck_held(ctx);
        if ctx.shared.scenario.consumer.commit == CommitMode::After {
            // Held events that went since the last commit (applied, or dropped as copies
            // of applied ones) were holding it back: it can move on now. (Sends nothing
            // when no position moved.)
            self.commit_positions(ctx, None);
        }
        let cooperative = Self::polls_while_joining(ctx);
        if self.rejoin_needed {
            self.prepare_rejoin(ctx);
        }
        if self.joining && (!cooperative || self.owned.is_empty()) {
            return; // the join answer resumes the loop
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
        self.awaiting.clear();
        let mut offline = false;
        for owned in &self.owned {
            let broker = self.leaders.get(owned.partition as usize).copied().unwrap_or(u32::MAX);
            if broker == u32::MAX {
                offline = true; // nothing to fetch until metadata says otherwise
                continue;
            }
            let leader = ctx.shared.layout.broker(broker);
            ctx.send(leader, Msg::Fetch { poll: self.poll, partition: owned.partition, offset: owned.position, max });
            self.awaiting.push(owned.partition);
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
        ctx.shared.in_hand += self.fetched.len() as u64;
        if ctx.shared.scenario.consumer.commit == CommitMode::Before && !self.fetched.is_empty() {
            // `commitSync()`, then process: the records wait for the commit's answers.
            self.commit_positions(ctx, None);
            if self.owned.iter().any(|o| o.commit_sent != o.commit_acked) {
                self.committing = true;
                return;
            }
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
            self.start_processing(ctx);
        }
    }

    /// Processes the poll's records (in one lane, or per partition side by side).
    fn start_processing(&mut self, ctx: &mut ModelCtx<'_>) {
        if self.fetched.is_empty() {
            self.resume(ctx);
            return;
        }
        {
            self.lanes.clear();
            let key_lanes = ctx.shared.scenario.consumer.key_lanes;
            if key_lanes > 0 {
                // One lane per key hash: a key's records stay in their order in one lane
                // (a stable sort keeps each partition's offsets rising within a lane);
                // keys of different lanes go side by side.
                let world = &*ctx.shared;
                let lane_of = |event: u32| key_lane(world.catalog.events[event as usize].entity, key_lanes);
                self.fetched.sort_by_key(|&(_, _, event)| lane_of(event));
                let mut start = 0;
                while start < self.fetched.len() {
                    let lane = lane_of(self.fetched[start].2);
                    let end = start + self.fetched[start..].iter().take_while(|r| lane_of(r.2) == lane).count();
                    self.lanes.push(Lane { start, end, next: start });
                    start = end;
                }
            } else if ctx.shared.scenario.consumer.parallel_partitions {
                // Records of one partition stay in their order; partitions go side by side.
                self.fetched.sort_by_key(|&(partition, _, _)| partition);
                let mut start = 0;
                while start < self.fetched.len() {
                    let partition = self.fetched[start].0;
                    let end = start + self.fetched[start..].iter().take_while(|r| r.0 == partition).count();
                    self.lanes.push(Lane { start, end, next: start });
                    start = end;
                }
            } else {
                self.lanes.push(Lane { start: 0, end: self.fetched.len(), next: 0 });
            }
            self.processing = true;
            self.lanes_busy = self.lanes.len();
            for lane in 0..self.lanes.len() {
                self.schedule_processing(ctx, lane, 0);
            }
        }
    }

    fn schedule_processing(&mut self, ctx: &mut ModelCtx<'_>, lane: usize, extra_ns: u64) {
        let config = &ctx.shared.scenario.consumer;
        let (low, high) = (config.processing_min_us * 1_000, config.processing_max_us * 1_000);
        let processing_ns = ctx.rng().between(low, high);
        ctx.set_timer(extra_ns + processing_ns, tag::make(PROCESS, lane as u64));
    }

    /// The record's processing time is over: the consumer policy decides whether it is
    /// applied now, held, or discarded (whether or not this member still owns the partition:
    /// a zombie's side effects happen too).
    ///
    /// With `processing_failure_ppm`, processing can fail instead (a downstream call timed
    /// out): the record is processed again after `processing_retry_ms`, or, with
    /// `consumer.retry_whole_batch`, its lane starts over from its first record (those
    /// already applied are applied again).
    fn process_next(&mut self, ctx: &mut ModelCtx<'_>, lane: usize) {
        let failure_ppm = ctx.shared.scenario.consumer.processing_failure_ppm;
        if failure_ppm > 0 && ctx.rng().chance(ordo_sim::rng::Ratio { num: failure_ppm, den: 1_000_000 }) {
            let consumer = &ctx.shared.scenario.consumer;
            let retry_ns = consumer.processing_retry_ms * 1_000_000;
            if consumer.retry_whole_batch {
                let lane = &mut self.lanes[lane];
                ctx.shared.in_hand += (lane.next - lane.start) as u64;
                lane.next = lane.start;
            }
            ctx.shared.stats.processing_failures += 1;
            self.schedule_processing(ctx, lane, retry_ns);
            return;
        }
        let (partition, offset, event) = self.fetched[self.lanes[lane].next];
        self.lanes[lane].next += 1;
        ctx.shared.in_hand -= 1;
        self.admit(ctx, partition, offset, event);
        if ctx.shared.scenario.consumer.key_lanes == 0 {
            let processed = &mut ctx.shared.processed[partition as usize];
            *processed = (*processed).max(offset + 1);
        }
        if self.lanes[lane].next < self.lanes[lane].end {
            self.schedule_processing(ctx, lane, 0);
            return;
        }
        self.lanes_busy -= 1;
        if self.lanes_busy > 0 {
            if ctx.shared.scenario.consumer.key_lanes > 0 {
                // The lane has done its share of the poll: it commits while the others
                // are still at work.
                self.lane_commit(ctx);
            }
            return; // other lanes are still at work
        }
        self.processing = false;
        if ctx.shared.scenario.consumer.key_lanes > 0 {
            // Lanes finish out of offset order: only now is every record of the poll
            // processed (the end-of-work check reads `processed` as "all below done").
            for &(partition, offset, _) in &self.fetched {
                let processed = &mut ctx.shared.processed[partition as usize];
                *processed = (*processed).max(offset + 1);
            }
        }
        if let Some((old, partitions)) = self.pending_assignment.take() {
            // The rebalance answered during the batch: it takes effect now, between the
            // batch and the next poll (revoked partitions are committed where the batch
            // ended, by the new generation's member, as in take_assignment).
            let generation = std::mem::replace(&mut self.generation, old);
            self.take_assignment(ctx, generation, partitions);
        }
        if ctx.shared.scenario.consumer.commit == CommitMode::After {
            self.commit_positions(ctx, None);
        }
        if ctx.shared.finished() {
            ctx.stop();
            return;
        }
        self.start_poll(ctx);
    }

    /// The consumer-side strategy's decision for one processed record (its hooks apply,
    /// hold or discard it).
    fn admit(&mut self, ctx: &mut ModelCtx<'_>, partition: u32, offset: u64, event: u32) {
        let record = hooks::delivery(ctx.shared, partition, offset, event);
        self.with_policy(ctx, |policy, cx| policy.on_record(cx, record));
    }

    /// Runs a consumer hook with this member's handle.
    fn with_policy(&mut self, ctx: &mut ModelCtx<'_>, call: impl FnOnce(&mut dyn ConsumerHooks, &mut ConsumerCx)) {
        let Some(mut policy) = self.policy.take() else { return };
        call(&mut *policy, &mut ConsumerCx::new(ctx, self.node, self.index, &mut self.writes));
        self.policy = Some(policy);
    }

    /// Held records may have had their turn meanwhile (the shared stores moved): the
    /// strategy looks again, once per poll.
    fn recheck_held(&mut self, ctx: &mut ModelCtx<'_>) {
        self.with_policy(ctx, |policy, cx| policy.on_poll(cx));
    }

    /// The lowest offset of `partition` the strategy holds.
    fn lowest_held(policy: Option<&dyn ConsumerHooks>, partition: u32) -> Option<u64> {
        let mut lowest = None;
        if let Some(policy) = policy {
            policy.for_each_held(&mut |held| {
                if held.partition == partition {
                    lowest = Some(lowest.map_or(held.offset, |l: u64| l.min(held.offset)));
                }
            });
        }
        lowest
    }

    /// Whether the strategy holds the record at `offset` (`event`).
    fn holds(&self, offset: u64, event: u32) -> bool {
        let mut found = false;
        if let Some(policy) = &self.policy {
            policy.for_each_held(&mut |held| found |= held.offset == offset && held.event == event);
        }
        found
    }

    /// Events this member holds for a consumer-side strategy (the end-of-run summary
    /// counts those never applied).
    pub fn held_count(&self) -> usize {
        let mut count = 0;
        if let Some(policy) = &self.policy {
            policy.for_each_held(&mut |_| count += 1);
        }
        count
    }

    /// (Re)starts the wait for the answers to the commits just sent.
    fn arm_commit_timer(&mut self, ctx: &mut ModelCtx<'_>) {
        if let Some(timer) = self.commit_timer.take() {
            ctx.cancel_timer(timer);
        }
        let timeout_ns = ctx.shared.scenario.consumer.request_timeout_ms * 1_000_000;
        self.commit_timer = Some(ctx.set_timer(timeout_ns, tag::make(COMMIT_TIMEOUT, 0)));
    }

    /// Sends again every commit not answered yet, with the offset it had.
    fn resend_commits(&mut self, ctx: &mut ModelCtx<'_>) {
        let coordinator = ctx.shared.layout.broker(self.coordinator);
        let (generation, member) = (self.generation, self.member);
        let mut sent = false;
        for owned in &self.owned {
            if let Some(offset) = owned.commit_sent.filter(|_| owned.ready && owned.commit_sent != owned.commit_acked) {
                ctx.send(coordinator, Msg::OffsetCommit { partition: owned.partition, offset, generation, member });
                sent = true;
            }
        }
        if sent {
            self.arm_commit_timer(ctx);
        }
    }

    /// A key lane finished its share of the poll: commit, per owned partition, the
    /// contiguous processed prefix (`lane_commit = "prefix"`: the lowest offset a lane
    /// has still to process) or the highest offset processed + 1 (`"highest"`, the naive
    /// version: past records other lanes have not processed yet). Only forward.
    fn lane_commit(&mut self, ctx: &mut ModelCtx<'_>) {
        let mode = ctx.shared.scenario.consumer.lane_commit;
        let coordinator = ctx.shared.layout.broker(self.coordinator);
        let (generation, member) = (self.generation, self.member);
        let mut sent = false;
        for owned in &mut self.owned {
            let p = owned.partition;
            let mut lowest_unprocessed = None::<u64>;
            let mut highest_processed = None::<u64>;
            for lane in &self.lanes {
                for &(partition, offset, _) in &self.fetched[lane.start..lane.next] {
                    if partition == p {
                        highest_processed = Some(highest_processed.map_or(offset, |h| h.max(offset)));
                    }
                }
                for &(partition, offset, _) in &self.fetched[lane.next..lane.end] {
                    if partition == p {
                        lowest_unprocessed = Some(lowest_unprocessed.map_or(offset, |l| l.min(offset)));
                    }
                }
            }
            let Some(highest) = highest_processed else { continue };
            let highest = highest.saturating_add(1);
            // (`self.policy` holds nothing with a plain consumer; a buffering strategy's
            // held records keep the commit at the first of them, as in commit_positions.)
            let held = Self::lowest_held(self.policy.as_deref(), p);
            let offset = match mode {
                LaneCommit::Prefix => lowest_unprocessed.map_or(highest, |l| l.min(highest)),
                LaneCommit::Highest => highest,
            };
            let offset = held.map_or(offset, |h| h.min(offset));
            if !owned.ready || owned.commit_sent.is_some_and(|c| c >= offset) {
                continue;
            }
            // What this commit leaves to chance: processed records at or above it (a
            // crash now processes them again), or unprocessed ones below it (a crash now
            // skips them).
            let mut above = 0u64;
            let mut below = 0u64;
            for lane in &self.lanes {
                above +=
                    self.fetched[lane.start..lane.next].iter().filter(|r| r.0 == p && r.1 >= offset).count() as u64;
                below += self.fetched[lane.next..lane.end].iter().filter(|r| r.0 == p && r.1 < offset).count() as u64;
            }
            let stats = &mut ctx.shared.stats;
            stats.lane_commits += 1;
            stats.lane_commit_held_back = stats.lane_commit_held_back.saturating_add(above);
            stats.lane_commit_skipped = stats.lane_commit_skipped.saturating_add(below);
            owned.commit_sent = Some(offset);
            ctx.send(coordinator, Msg::OffsetCommit { partition: p, offset, generation, member });
            sent = true;
        }
        if sent {
            self.arm_commit_timer(ctx);
        }
    }

    /// Commits the position of every owned partition (or of `only` those) that moved since
    /// its last commit.
    fn commit_positions(&mut self, ctx: &mut ModelCtx<'_>, only: Option<&[u32]>) {
        let coordinator = ctx.shared.layout.broker(self.coordinator);
        let (generation, member) = (self.generation, self.member);
        let mut sent = false;
        for owned in &mut self.owned {
            if only.is_some_and(|only| !only.contains(&owned.partition)) {
                continue;
            }
            // A buffering strategy's held events are not applied yet: the commit stays at
            // the first of them, so a crash or a rebalance redelivers them (as duplicates
            // of what was applied meanwhile, which the strategies discard) instead of
            // losing them with the buffer.
            let held = Self::lowest_held(self.policy.as_deref(), owned.partition);
            let offset = held.map_or(owned.position, |held| held.min(owned.position));
            if owned.ready && owned.commit_sent != Some(offset) {
                owned.commit_sent = Some(offset);
                ctx.send(coordinator, Msg::OffsetCommit { partition: owned.partition, offset, generation, member });
                sent = true;
            }
        }
        if sent {
            self.arm_commit_timer(ctx);
        }
    }
}

/// The key lane of an entity among `lanes` (≥ 1): a multiplicative hash of its index, so
/// neighbouring entities spread over the lanes.
fn key_lane(entity: u32, lanes: u32) -> u32 {
    let mixed = u64::from(entity).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((mixed >> 32) % u64::from(lanes)) as u32
}
