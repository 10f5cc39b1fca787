//! A broker: replicas of partitions (append-only logs with offsets and leader epochs),
//! producer ids (on `b0`), and, on the leader of the group's `__consumer_offsets`
//! partition, the group coordinator.
//!
//! **The offsets partition** (`Layout::offsets_partition`, replicas those of partition 0)
//! holds the group's committed offsets and metadata ([`OffsetsState`]). Its leader, elected
//! by the controller like any partition's, coordinates the group: it accepts or refuses
//! commits, sends its whole state to the other replicas after each change, and answers a
//! commit once every in-sync replica stored it (acks = all). A follower that stays behind
//! for `replica_lag_time_max_ms` leaves that ISR, and returns once it stores the latest
//! state. A new leader loads the group from its copy; a deposed one answers what it had
//! not replicated with `not_coordinator`, and every broker answers group requests with
//! `not_coordinator` when it does not lead the partition.
//!
//! **Leaders** append produced batches, serve consumers below the high watermark (HW: the
//! offset every in-sync replica has), and answer `acks = all` once the HW covers the
//! batch; with fewer in-sync replicas (ISR) than `min_insync_replicas` they refuse
//! `acks = all` batches (NotEnoughReplicas). A follower that has not caught up for
//! `replica_lag_time_max_ms` is dropped from the ISR, and one that catches up is added
//! back, in both cases through the controller (KIP-497). **Followers** fetch from the
//! leader; each fetch carries the epoch of their last record, and a leader whose epoch
//! history says the follower's log diverged after that epoch answers with the offset to
//! truncate to (KIP-101/KIP-320): the follower drops its divergent suffix and fetches
//! again. Who leads is the controller's decision (see [`super::controller`]).
//!
//! Idempotence, as Kafka's `ProducerStateEntry`/`ProducerAppendInfo` do it: per partition
//! and producer id the leader keeps the last sequence it appended and the last five
//! batches (first sequence, count, base offset). A batch that exactly repeats one of those
//! five is answered with its original offsets and not appended again; a batch whose first
//! sequence is the last + 1 (or 0 for a new producer) is appended; anything else is
//! rejected with `OutOfOrderSequence`. Producers without a PID are appended blindly.
//! Followers rebuild the same state from what they replicate, so it survives failover.
//!
//! Durable across a crash: logs, epoch histories, producer states, the copy of the offsets
//! partition. Volatile: leadership (relearned from the controller), pending
//! acknowledgements, follower progress, group membership since the last completed
//! rebalance.
//!
//! In queue mode `b0` also hosts the queue ([`super::queue`]), whose journal is its log of
//! partition 0; there is no group coordinator then.

use std::collections::{BTreeMap, VecDeque};

use ordo_sim::NodeId;

use super::group::{Coordinator, GroupError, Reply, Snapshot};
use super::queue::{QueueHost, LEASE_TIMER};
use super::{tag, ModelCtx, Msg};
use crate::history::{FailReason, Rec, NONE_U32, NONE_U64};
use crate::scenario::{Acks, Assignment};

const GROUP_TICK: u64 = 1;
const HEARTBEAT: u64 = 2;
const ISR_CHECK: u64 = 3;
const REPLICA_FETCH: u64 = 4;
const REPLICA_FETCH_TIMEOUT: u64 = 5;
const FLUSH: u64 = 6;

/// How many recent batches per producer the leader remembers for deduplication.
pub const DEDUP_WINDOW: usize = 5;

/// Records per replica fetch answer.
const REPLICA_FETCH_MAX: u64 = 500;

/// One record of a partition log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogRecord {
    pub event: u32,
    pub batch: u32,
    /// Leader epoch of the leader that appended it.
    pub epoch: u32,
    /// Producer sequence number, or `NONE_U32`.
    pub seq: u32,
}

#[derive(Default)]
struct ProducerEntry {
    /// The producer epoch these sequences belong to (KIP-360 bumps it, restarting at 0).
    epoch: u16,
    last_seq: Option<u32>,
    /// (first sequence, record count, base offset), oldest first.
    recent: VecDeque<(u32, u32, u64)>,
}

impl ProducerEntry {
    fn appended(&mut self, first_seq: u32, count: u32, base_offset: u64) {
        self.last_seq = Some(first_seq + count - 1);
        self.recent.push_back((first_seq, count, base_offset));
        if self.recent.len() > DEDUP_WINDOW {
            self.recent.pop_front();
        }
    }
}

/// A follower's progress, as its leader sees it.
#[derive(Clone, Copy, Debug)]
struct Follower {
    broker: u32,
    log_end: u64,
    caught_up_ns: u64,
}

/// An `acks = all` answer waiting for the high watermark.
#[derive(Clone, Copy, Debug)]
struct Waiting {
    to: NodeId,
    batch: u32,
    attempt: u16,
    base_offset: u64,
    end_offset: u64,
}

/// This broker's replica of one partition.
struct Replica {
    records: Vec<LogRecord>,
    producers: BTreeMap<u64, ProducerEntry>,
    /// Leader epoch history: (epoch, first offset), ascending.
    epochs: Vec<(u32, u64)>,
    /// The latest leader epoch this replica knows.
    epoch: u32,
    /// The leader's broker index (`NONE_U32`: unknown or offline).
    leader: u32,
    hw: u64,
    isr: Vec<u32>,
    pending_isr: Option<Vec<u32>>,
    followers: Vec<Follower>,
    waiting: Vec<Waiting>,
    /// The follower's fetch in flight (answers to older ones are ignored).
    fetch_seq: u32,
    /// Records below this offset are on disk (with `flush_interval_ms = 0`, all of them).
    flushed: u64,
    /// Expected-version appends: each entity's stream in this log, as (event, offset) in
    /// stream order; rebuilt from the log when stale (new leadership, truncation).
    streams: BTreeMap<u32, Vec<(u32, u64)>>,
    streams_stale: bool,
}

impl Replica {
    fn new(leader: u32, isr: Vec<u32>) -> Replica {
        Replica {
            records: Vec::new(),
            producers: BTreeMap::new(),
            epochs: vec![(0, 0)],
            epoch: 0,
            leader,
            hw: 0,
            isr,
            pending_isr: None,
            followers: Vec::new(),
            waiting: Vec::new(),
            fetch_seq: 0,
            flushed: 0,
            streams: BTreeMap::new(),
            streams_stale: true,
        }
    }

    fn log_end(&self) -> u64 {
        self.records.len() as u64
    }

    fn last_epoch(&self) -> u32 {
        self.records.last().map(|r| r.epoch).unwrap_or(0)
    }

    /// The end offset of `epoch` in this (leader's) history: where the next epoch starts.
    fn end_offset_for(&self, epoch: u32) -> u64 {
        self.epochs.iter().find(|(e, _)| *e > epoch).map(|(_, start)| *start).unwrap_or(self.log_end())
    }

    fn note_epoch(&mut self, epoch: u32, offset: u64) {
        if self.epochs.last().map_or(true, |(e, _)| *e < epoch) {
            self.epochs.push((epoch, offset));
        }
    }

    /// Rebuilds the producer states from the log (after a truncation).
    fn rebuild_producers(&mut self, catalog: &crate::history::Catalog) {
        self.streams_stale = true;
        self.producers.clear();
        for (offset, record) in self.records.iter().enumerate() {
            let info = catalog.batches[record.batch as usize];
            if info.pid != NONE_U64 && record.seq == info.seq + info.events_len - 1 {
                let base = offset as u64 + 1 - u64::from(info.events_len);
                let entry = self.producers.entry(info.pid).or_default();
                if info.epoch > entry.epoch {
                    *entry = ProducerEntry { epoch: info.epoch, ..ProducerEntry::default() };
                }
                if info.epoch == entry.epoch {
                    entry.appended(info.seq, info.events_len, base);
                }
            }
        }
    }

    /// The expected-version check (EventStoreDB's append with `expectedRevision`): every
    /// record of the batch must be its entity stream's next event, counting the batch's
    /// earlier records. A batch whose every record is already in its stream at its version
    /// is a repeat (the event-id idempotence check) and is answered with its offset;
    /// anything else is a conflict.
    fn check_versions(&mut self, catalog: &crate::history::Catalog, batch: u32) -> Verdict {
        if self.streams_stale {
            self.streams.clear();
            for (offset, record) in self.records.iter().enumerate() {
                let entity = catalog.events[record.event as usize].entity;
                self.streams.entry(entity).or_default().push((record.event, offset as u64));
            }
            self.streams_stale = false;
        }
        let (mut fits, mut repeats, mut first_offset) = (0, 0, None);
        let mut in_batch: Vec<(u32, u32)> = Vec::new();
        let events = catalog.batch_events(batch);
        for &event in events {
            let info = catalog.events[event as usize];
            let stream = self.streams.get(&info.entity).map_or(&[][..], Vec::as_slice);
            let earlier = in_batch.iter().filter(|(entity, _)| *entity == info.entity).count() as u32;
            let version = stream.len() as u32 + earlier;
            if info.step == version {
                fits += 1;
                in_batch.push((info.entity, event));
            } else if let Some(&(_, offset)) = stream.get(info.step as usize).filter(|(held, _)| *held == event) {
                repeats += 1;
                first_offset = first_offset.or(Some(offset));
            }
        }
        match first_offset {
            _ if fits == events.len() => Verdict::Append,
            Some(offset) if repeats == events.len() => Verdict::Duplicate(offset),
            _ => Verdict::Conflict,
        }
    }
}

enum Verdict {
    Append,
    Duplicate(u64),
    OutOfOrder,
    /// Expected-version mismatch: the stream is not where the batch expects it.
    Conflict,
    /// An older producer epoch than the broker has seen for this PID.
    Fenced,
}

pub struct Broker {
    index: u32,
    node: u32,
    /// Indexed by partition; `None` where this broker holds no replica.
    replicas: Vec<Option<Replica>>,
    /// This broker's copy of the group's `__consumer_offsets` partition (durable): committed
    /// offsets and group metadata, and the (epoch, update) it is as of.
    offsets: OffsetsState,
    offsets_stored: (u32, u64),
    /// Its role for that partition (replicas of it only; none in queue mode).
    offsets_role: Option<OffsetsRole>,
    next_pid: u64,
    /// The group coordinator: on the offsets partition's leader, when the group is not
    /// statically assigned (a static group still commits to the leader).
    group: Option<Coordinator>,
    group_tick_armed: bool,
    /// Bumped at every start: the controller sees a restart as a new registration.
    incarnation: u32,
    /// Queue mode, on `b0`: the queue (its message states are durable, its leases not).
    queue: Option<QueueHost>,
}

impl Broker {
    pub fn new(index: u32, node: NodeId, layout: &super::Layout) -> Broker {
        let replicas = (0..layout.partitions)
            .map(|p| {
                let replicas = layout.replicas(p);
                replicas.contains(&index).then(|| Replica::new(replicas[0], replicas.clone()))
            })
            .collect();
        Broker {
            index,
            node: node.0,
            replicas,
            offsets: OffsetsState { committed: vec![None; layout.partitions as usize], group: Snapshot::default() },
            offsets_stored: (0, 0),
            offsets_role: None,
            next_pid: 1000,
            group: None,
            group_tick_armed: false,
            incarnation: 0,
            queue: None,
        }
    }

    /// Queue mode, on the host: per message in offset order, its event, how often it was
    /// received, and whether it is still in the queue.
    pub fn queue_messages(&self) -> Option<Vec<(u32, u32, bool)>> {
        self.queue.as_ref().map(QueueHost::messages)
    }

    /// Events in this broker's replica of `partition`, in offset order (empty if none).
    pub fn log(&self, partition: u32) -> Vec<u32> {
        self.replicas[partition as usize]
            .as_ref()
            .map(|replica| replica.records.iter().map(|r| r.event).collect())
            .unwrap_or_default()
    }

    /// Whether this broker currently leads `partition` (as far as it knows).
    pub fn leads(&self, partition: u32) -> bool {
        self.replicas[partition as usize].as_ref().is_some_and(|r| r.leader == self.index)
    }

    /// The process died: leadership, pending answers and follower progress are gone, and
    /// with a flush interval, so is every record appended since the last flush.
    pub fn on_crash(&mut self, world: &mut super::World, now_ns: u64) {
        let flushing = world.scenario.broker.flush_interval_ms > 0;
        for (partition, replica) in self.replicas.iter_mut().enumerate() {
            let Some(replica) = replica else { continue };
            if flushing && replica.flushed < replica.log_end() {
                let lost = replica.log_end() - replica.flushed;
                replica.records.truncate(replica.flushed as usize);
                let flushed = replica.flushed;
                replica.epochs.retain(|&(_, start)| start <= flushed);
                replica.hw = replica.hw.min(flushed);
                replica.rebuild_producers(&world.catalog);
                world.stats.unflushed_lost += lost;
                world.record(Rec::Truncate {
                    t: now_ns,
                    node: self.node,
                    partition: partition as u32,
                    offset: flushed,
                });
            }
        }
        if let (Some(queue), Some(journal)) = (self.queue.as_mut(), self.replicas[0].as_ref()) {
            queue.crashed(world, journal.log_end());
        }
        for replica in self.replicas.iter_mut().flatten() {
            replica.leader = NONE_U32;
            replica.waiting.clear();
            replica.followers.clear();
            replica.pending_isr = None;
            replica.fetch_seq += 1;
        }
        // Membership since the last completed rebalance is lost with the process; what the
        // coordinator wrote to the offsets partition is not.
        self.group = None;
        self.group_tick_armed = false;
        if let Some(role) = self.offsets_role.as_mut() {
            role.leader = NONE_U32;
            role.pending.clear();
            role.acked.clear();
            role.pending_isr = false;
        }
    }

    pub fn on_start(&mut self, ctx: &mut ModelCtx<'_>) {
        self.incarnation += 1;
        if self.index == 0 && ctx.shared.scenario.queue.is_some() {
            let mut queue = self.queue.take().unwrap_or_else(|| QueueHost::new(self.node));
            queue.started(ctx);
            self.queue = Some(queue);
        }
        let layout = ctx.shared.layout;
        let offsets_replicas = layout.offsets_replicas();
        if self.incarnation == 1 && ctx.shared.scenario.queue.is_none() && offsets_replicas.contains(&self.index) {
            self.offsets_role = Some(OffsetsRole::new(offsets_replicas[0], offsets_replicas));
            if self.coordinates() {
                // The first coordinator, as known to all from the start. After a restart the
                // controller's election decides again.
                self.become_coordinator(ctx);
            }
        }
        self.heartbeat(ctx);
        let flush_ms = ctx.shared.scenario.broker.flush_interval_ms;
        if flush_ms > 0 {
            ctx.set_timer(flush_ms * 1_000_000, tag::make(FLUSH, 0));
        }
        let lag_ms = ctx.shared.scenario.broker.replica_lag_time_max_ms;
        ctx.set_timer((lag_ms / 2).max(1) * 1_000_000, tag::make(ISR_CHECK, 0));
        if self.incarnation == 1 {
            // First start: the initial assignment is known to all (as if from metadata).
            for partition in 0..self.replicas.len() as u32 {
                let Some(replica) = &self.replicas[partition as usize] else { continue };
                if replica.leader == self.index {
                    self.become_leader(ctx, partition, 0);
                } else {
                    self.fetch_from_leader(ctx, partition);
                }
            }
        }
    }

    fn arm_group_tick(&mut self, ctx: &mut ModelCtx<'_>) {
        if std::mem::replace(&mut self.group_tick_armed, true) {
            return;
        }
        let config = &ctx.shared.scenario.consumer;
        let every_ms = config.heartbeat_interval_ms.min(config.session_timeout_ms / 3).max(1);
        ctx.set_timer(every_ms * 1_000_000, tag::make(GROUP_TICK, 0));
    }

    fn heartbeat(&mut self, ctx: &mut ModelCtx<'_>) {
        let controller = ctx.shared.layout.controller();
        ctx.reconnect(controller);
        let offsets_partition = ctx.shared.layout.offsets_partition();
        let offsets = self
            .offsets_role
            .as_ref()
            .map(|r| (offsets_partition, r.epoch, r.leader, (r.leader == self.index).then_some(r.isr.as_slice())));
        let state = super::controller::state_fingerprint(
            self.replicas
                .iter()
                .enumerate()
                .filter_map(|(p, r)| {
                    r.as_ref()
                        .map(|r| (p as u32, r.epoch, r.leader, (r.leader == self.index).then_some(r.isr.as_slice())))
                })
                .chain(offsets),
        );
        ctx.send(controller, Msg::BrokerHeartbeat { broker: self.index, incarnation: self.incarnation, state });
        let every_ms = ctx.shared.scenario.broker.heartbeat_interval_ms;
        ctx.set_timer(every_ms * 1_000_000, tag::make(HEARTBEAT, 0));
    }

    pub fn on_timer(&mut self, ctx: &mut ModelCtx<'_>, timer_tag: u64) {
        let payload = tag::payload(timer_tag);
        match tag::kind(timer_tag) {
            GROUP_TICK => {
                self.group_tick_armed = false;
                let mut replies = Vec::new();
                let Some(group) = &mut self.group else { return };
                let generation = group.generation();
                group.tick(ctx.now_ns(), &mut replies);
                self.send_replies(ctx, replies);
                self.group_changed(ctx, generation);
                self.arm_group_tick(ctx);
            }
            HEARTBEAT => self.heartbeat(ctx),
            FLUSH => {
                for replica in self.replicas.iter_mut().flatten() {
                    replica.flushed = replica.log_end();
                }
                let flush_ms = ctx.shared.scenario.broker.flush_interval_ms;
                ctx.set_timer(flush_ms * 1_000_000, tag::make(FLUSH, 0));
            }
            ISR_CHECK => {
                self.check_isr(ctx);
                let lag_ms = ctx.shared.scenario.broker.replica_lag_time_max_ms;
                ctx.set_timer((lag_ms / 2).max(1) * 1_000_000, tag::make(ISR_CHECK, 0));
            }
            REPLICA_FETCH => {
                let (partition, seq) = ((payload >> 24) as u32, (payload & 0xff_ffff) as u32);
                let current =
                    self.replicas[partition as usize].as_ref().is_some_and(|r| r.fetch_seq & 0xff_ffff == seq);
                if current {
                    self.fetch_from_leader(ctx, partition);
                }
            }
            REPLICA_FETCH_TIMEOUT => {
                let (partition, seq) = ((payload >> 24) as u32, (payload & 0xff_ffff) as u32);
                let leader = self.replicas[partition as usize]
                    .as_ref()
                    .filter(|r| r.fetch_seq & 0xff_ffff == seq && r.leader != NONE_U32)
                    .map(|r| r.leader);
                if let Some(leader) = leader {
                    // Unanswered: the connection is broken. Reconnect and fetch again.
                    ctx.reconnect(ctx.shared.layout.broker(leader));
                    self.fetch_from_leader(ctx, partition);
                }
            }
            LEASE_TIMER => {
                if let Some(queue) = self.queue.as_mut() {
                    queue.lease_expired(ctx, payload);
                }
            }
            _ => unreachable!("unknown broker timer {timer_tag:#x}"),
        }
    }

    fn send_replies(&mut self, ctx: &mut ModelCtx<'_>, replies: Vec<Reply>) {
        let t = ctx.now_ns();
        let node = self.node;
        for reply in replies {
            match reply {
                Reply::Assignment { to, member, generation, partitions } => {
                    ctx.send(to, Msg::JoinGroupOk { member, generation, partitions });
                }
                Reply::Started { reason, node: member, generation } => {
                    let member = member.map_or(NONE_U32, |m| m.0);
                    ctx.shared.record(Rec::RebalanceStart { t, node, generation, reason, member });
                }
                Reply::Completed { generation, members } => {
                    let world = &mut *ctx.shared;
                    let start = world.catalog.group_members.len();
                    for (member, partitions) in members {
                        world.catalog.group_members.push(member.0);
                        world.catalog.group_members.push(partitions.len() as u32);
                        world.catalog.group_members.extend_from_slice(&partitions);
                    }
                    let len = world.catalog.group_members.len() - start;
                    // The table is indexed in 32 bits, like every catalog table.
                    let (start, len) = (u32::try_from(start), u32::try_from(len));
                    if let (Ok(start), Ok(len)) = (start, len) {
                        world.record(Rec::Rebalance { t, node, generation, start, len });
                    }
                }
            }
        }
    }

    // ---- leadership ----

    fn become_leader(&mut self, ctx: &mut ModelCtx<'_>, partition: u32, epoch: u32) {
        let now = ctx.now_ns();
        let index = self.index;
        let layout = ctx.shared.layout;
        let Some(replica) = self.replicas[partition as usize].as_mut() else { return };
        replica.leader = index;
        replica.epoch = epoch;
        replica.streams_stale = true;
        let end = replica.log_end();
        replica.note_epoch(epoch, end);
        replica.pending_isr = None;
        replica.fetch_seq += 1; // stop fetching as a follower
        replica.followers = layout
            .replicas(partition)
            .into_iter()
            .filter(|&b| b != index)
            .map(|broker| Follower { broker, log_end: 0, caught_up_ns: now })
            .collect();
        super::controller::record_leader(ctx, self.node, partition, epoch);
        self.update_hw(ctx, partition);
    }

    fn become_follower(&mut self, ctx: &mut ModelCtx<'_>, partition: u32, leader: u32, epoch: u32) {
        let Some(replica) = self.replicas[partition as usize].as_mut() else { return };
        let waiting = std::mem::take(&mut replica.waiting);
        replica.leader = leader;
        replica.epoch = epoch;
        replica.followers.clear();
        replica.pending_isr = None;
        for wait in waiting {
            let reason = FailReason::NotLeader;
            ctx.send(wait.to, Msg::ProduceError { batch: wait.batch, attempt: wait.attempt, reason });
        }
        if leader != NONE_U32 {
            self.fetch_from_leader(ctx, partition);
        }
    }

    /// The leader's high watermark: the log end every in-sync replica has reached.
    fn update_hw(&mut self, ctx: &mut ModelCtx<'_>, partition: u32) {
        let index = self.index;
        let Some(replica) = self.replicas[partition as usize].as_mut() else { return };
        if replica.leader != index {
            return;
        }
        let mut hw = replica.log_end();
        for follower in &replica.followers {
            if replica.isr.contains(&follower.broker) {
                hw = hw.min(follower.log_end);
            }
        }
        replica.hw = replica.hw.max(hw);
        let hw = replica.hw;
        if let Some(queue) = self.queue.as_mut().filter(|q| partition == 0 && q.len() < hw) {
            // Queue mode: what the high watermark now covers becomes visible messages.
            let from = queue.len() as usize;
            queue.take_in(ctx.shared, replica.records[from..hw as usize].iter().map(|r| r.event));
        }
        // The run is done only once consumers have everything the leader holds: records
        // above the HW still wait for followers (or for the ISR to shrink).
        ctx.shared.log_end[partition as usize] = replica.log_end();
        // Answer, in arrival order, every acks = all batch the HW now covers (no allocation:
        // this runs on every produce and every follower fetch).
        replica.waiting.retain(|wait| {
            if wait.end_offset > hw {
                return true;
            }
            ctx.send(
                wait.to,
                Msg::ProduceOk { batch: wait.batch, attempt: wait.attempt, base_offset: wait.base_offset },
            );
            false
        });
    }

    /// Drops followers that have lagged for `replica_lag_time_max_ms` from the ISR.
    fn check_isr(&mut self, ctx: &mut ModelCtx<'_>) {
        let now = ctx.now_ns();
        let lag_ns = ctx.shared.scenario.broker.replica_lag_time_max_ms * 1_000_000;
        let controller = ctx.shared.layout.controller();
        let index = self.index;
        if let Some(role) = self.offsets_role.as_mut().filter(|r| r.leader == index && !r.pending_isr) {
            // Offsets followers that have not stored the latest update for the lag time
            // leave the ISR, as data followers do: commits then wait for the others only.
            let lagging = |b: &u32| {
                *b != index
                    && role.acked.get(b).map_or(true, |&(seq, at)| seq < role.seq && now.saturating_sub(at) > lag_ns)
            };
            if role.isr.iter().any(lagging) {
                let isr: Vec<u32> = role.isr.iter().copied().filter(|b| !lagging(b)).collect();
                role.pending_isr = true;
                let partition = ctx.shared.layout.offsets_partition();
                ctx.send(controller, Msg::AlterPartition { partition, epoch: role.epoch, isr });
            }
        }
        for partition in 0..self.replicas.len() as u32 {
            let index = self.index;
            let Some(replica) = self.replicas[partition as usize].as_mut() else { continue };
            if replica.leader != index || replica.pending_isr.is_some() {
                continue;
            }
            let lagging: Vec<u32> = replica
                .followers
                .iter()
                .filter(|f| replica.isr.contains(&f.broker) && now.saturating_sub(f.caught_up_ns) > lag_ns)
                .map(|f| f.broker)
                .collect();
            if !lagging.is_empty() {
                let isr: Vec<u32> = replica.isr.iter().copied().filter(|b| !lagging.contains(b)).collect();
                replica.pending_isr = Some(isr.clone());
                ctx.send(controller, Msg::AlterPartition { partition, epoch: replica.epoch, isr });
            }
        }
    }

    // ---- following ----

    fn fetch_from_leader(&mut self, ctx: &mut ModelCtx<'_>, partition: u32) {
        let Some(replica) = self.replicas[partition as usize].as_mut() else { return };
        if replica.leader == NONE_U32 || replica.leader == self.index {
            return;
        }
        replica.fetch_seq += 1;
        let seq = replica.fetch_seq & 0xff_ffff;
        let leader = ctx.shared.layout.broker(replica.leader);
        let msg = Msg::ReplicaFetch {
            partition,
            broker: self.index,
            offset: replica.log_end(),
            last_epoch: replica.last_epoch(),
            epoch: replica.epoch,
            seq,
        };
        ctx.send(leader, msg);
        let timeout_ms = (ctx.shared.scenario.broker.session_timeout_ms / 3).max(1);
        let payload = (u64::from(partition) << 24) | u64::from(seq);
        ctx.set_timer(timeout_ms * 1_000_000, tag::make(REPLICA_FETCH_TIMEOUT, payload));
    }

    /// The leader answers a follower's fetch: records, the order to truncate, or an error.
    fn serve_replica_fetch(&mut self, ctx: &mut ModelCtx<'_>, from: NodeId, request: FollowerFetch) {
        let FollowerFetch { partition, follower, offset, last_epoch, epoch, seq } = request;
        let now = ctx.now_ns();
        let index = self.index;
        let controller = ctx.shared.layout.controller();
        let Some(replica) = self.replicas[partition as usize].as_mut() else { return };
        if replica.leader != index || epoch != replica.epoch {
            ctx.send(from, Msg::ReplicaFetchError { partition, seq });
            return;
        }
        if last_epoch < replica.epoch {
            let end = replica.end_offset_for(last_epoch);
            if offset > end {
                ctx.send(from, Msg::ReplicaFetchDiverging { partition, seq, truncate_to: end });
                return;
            }
        }
        let log_end = replica.log_end();
        if let Some(state) = replica.followers.iter_mut().find(|f| f.broker == follower) {
            state.log_end = offset.min(log_end);
            if offset >= log_end {
                state.caught_up_ns = now;
            }
        }
        // A follower outside the ISR that has caught up with the HW is added back.
        if !replica.isr.contains(&follower) && offset >= replica.hw && replica.pending_isr.is_none() {
            let mut isr = replica.isr.clone();
            isr.push(follower);
            isr.sort_unstable();
            replica.pending_isr = Some(isr.clone());
            ctx.send(controller, Msg::AlterPartition { partition, epoch: replica.epoch, isr });
        }
        let stop = log_end.min(offset.min(log_end) + REPLICA_FETCH_MAX);
        let records = replica.records[offset.min(log_end) as usize..stop as usize].to_vec();
        self.update_hw(ctx, partition);
        let hw = self.replicas[partition as usize].as_ref().map(|r| r.hw).unwrap_or(0);
        ctx.send(from, Msg::ReplicaFetchOk { partition, seq, offset, hw, records });
    }

    fn replicate(
        &mut self,
        ctx: &mut ModelCtx<'_>,
        partition: u32,
        seq: u32,
        offset: u64,
        hw: u64,
        records: Vec<LogRecord>,
    ) {
        let idle_ms = ctx.shared.scenario.broker.replica_fetch_idle_ms;
        let Some(replica) = self.replicas[partition as usize].as_mut() else { return };
        if replica.fetch_seq & 0xff_ffff != seq || replica.leader == self.index {
            return;
        }
        let got = !records.is_empty();
        if offset == replica.log_end() {
            if let (true, Ok(count)) = (got, u32::try_from(records.len())) {
                let t = ctx.now_ns();
                let (node, epoch) = (self.node, replica.epoch);
                ctx.shared.record(Rec::Replicate { t, node, partition, offset, count, epoch });
            }
            for record in records {
                let at = replica.log_end();
                replica.note_epoch(record.epoch, at);
                replica.records.push(record);
                let info = ctx.shared.catalog.batches[record.batch as usize];
                if info.pid != NONE_U64 && record.seq == info.seq + info.events_len - 1 {
                    let base = at + 1 - u64::from(info.events_len);
                    replica.producers.entry(info.pid).or_default().appended(info.seq, info.events_len, base);
                }
            }
        }
        replica.hw = hw.min(replica.log_end()).max(replica.hw.min(replica.log_end()));
        if got {
            self.fetch_from_leader(ctx, partition);
        } else {
            replica.fetch_seq += 1;
            let payload = (u64::from(partition) << 24) | u64::from(replica.fetch_seq & 0xff_ffff);
            ctx.set_timer(idle_ms * 1_000_000, tag::make(REPLICA_FETCH, payload));
        }
    }

    fn truncate(&mut self, ctx: &mut ModelCtx<'_>, partition: u32, seq: u32, offset: u64) {
        let t = ctx.now_ns();
        let Some(replica) = self.replicas[partition as usize].as_mut() else { return };
        if replica.fetch_seq & 0xff_ffff != seq {
            return;
        }
        let removed = replica.log_end().saturating_sub(offset);
        if removed > 0 {
            replica.records.truncate(offset as usize);
            replica.epochs.retain(|&(_, start)| start < offset || start == 0);
            replica.hw = replica.hw.min(offset);
            replica.rebuild_producers(&ctx.shared.catalog);
            ctx.shared.stats.truncated_records += removed;
            ctx.shared.record(Rec::Truncate { t, node: self.node, partition, offset });
        }
        self.fetch_from_leader(ctx, partition);
    }

    pub fn on_message(&mut self, ctx: &mut ModelCtx<'_>, from: NodeId, msg: Msg) {
        match msg {
            Msg::InitProducerId => {
                let pid = self.next_pid;
                self.next_pid += 1;
                ctx.send(from, Msg::InitProducerIdOk { pid, epoch: 0 });
            }
            Msg::Produce { batch, attempt } => self.produce(ctx, from, batch, attempt),
            Msg::Fetch { poll, partition, offset, max } => {
                let Some(replica) = self.replicas[partition as usize].as_ref().filter(|r| r.leader == self.index)
                else {
                    ctx.send(from, Msg::FetchError { poll, partition, reason: FetchErrorKind::NotLeader });
                    return;
                };
                if offset > replica.hw {
                    // Past what this leader has committed: the log was truncated under it.
                    let reason = FetchErrorKind::OutOfRange { high_watermark: replica.hw };
                    ctx.send(from, Msg::FetchError { poll, partition, reason });
                    return;
                }
                let stop = replica.hw.min(offset + u64::from(max));
                let events = replica.records[offset as usize..stop as usize].iter().map(|r| r.event).collect();
                ctx.send(from, Msg::FetchOk { poll, partition, offset, events });
            }
            Msg::ReplicaFetch { partition, broker, offset, last_epoch, epoch, seq } => {
                let request = FollowerFetch { partition, follower: broker, offset, last_epoch, epoch, seq };
                self.serve_replica_fetch(ctx, from, request);
            }
            Msg::ReplicaFetchOk { partition, seq, offset, hw, records } => {
                self.replicate(ctx, partition, seq, offset, hw, records);
            }
            Msg::ReplicaFetchDiverging { partition, seq, truncate_to } => {
                self.truncate(ctx, partition, seq, truncate_to)
            }
            Msg::ReplicaFetchError { partition, seq } => {
                // The leader moved or this replica is behind on epochs: wait for the controller.
                let idle_ms = ctx.shared.scenario.broker.replica_fetch_idle_ms * 20;
                if let Some(replica) = self.replicas[partition as usize].as_mut() {
                    if replica.fetch_seq & 0xff_ffff == seq {
                        replica.fetch_seq += 1;
                        let payload = (u64::from(partition) << 24) | u64::from(replica.fetch_seq & 0xff_ffff);
                        ctx.set_timer(idle_ms * 1_000_000, tag::make(REPLICA_FETCH, payload));
                    }
                }
            }
            Msg::LeaderAndIsr { partition, leader, epoch, isr }
                if partition == ctx.shared.layout.offsets_partition() =>
            {
                self.offsets_leader_and_isr(ctx, leader, epoch, isr);
            }
            Msg::AlterPartitionAnswer { partition, epoch, isr, ok }
                if partition == ctx.shared.layout.offsets_partition() =>
            {
                let index = self.index;
                if let Some(role) = self.offsets_role.as_mut().filter(|r| r.leader == index && r.epoch == epoch) {
                    role.pending_isr = false;
                    if ok {
                        role.isr = isr;
                    }
                }
                self.complete_commits(ctx);
            }
            Msg::OffsetsReplicate { epoch, seq, state } => {
                let index = self.index;
                let Some(role) = self.offsets_role.as_ref() else { return };
                if epoch < role.epoch || role.leader == index || (epoch, seq) <= self.offsets_stored {
                    return; // from a deposed leader, or older than what this copy has
                }
                self.offsets = *state;
                self.offsets_stored = (epoch, seq);
                ctx.send(from, Msg::OffsetsReplicateOk { epoch, seq, broker: index });
            }
            Msg::OffsetsReplicateOk { epoch, seq, broker } => {
                let (index, now) = (self.index, ctx.now_ns());
                let Some(role) = self.offsets_role.as_mut().filter(|r| r.leader == index && r.epoch == epoch) else {
                    return;
                };
                let entry = role.acked.entry(broker).or_insert((0, now));
                if seq > entry.0 {
                    entry.0 = seq;
                }
                if entry.0 == role.seq {
                    entry.1 = now;
                    if !role.isr.contains(&broker) && !role.pending_isr {
                        // Caught up: back into the ISR, through the controller.
                        let mut isr = role.isr.clone();
                        isr.push(broker);
                        isr.sort_unstable();
                        role.pending_isr = true;
                        let partition = ctx.shared.layout.offsets_partition();
                        ctx.send(ctx.shared.layout.controller(), Msg::AlterPartition { partition, epoch, isr });
                    }
                }
                self.complete_commits(ctx);
            }
            Msg::LeaderAndIsr { partition, leader, epoch, isr } => {
                let Some(replica) = self.replicas[partition as usize].as_mut() else { return };
                if epoch < replica.epoch || (epoch == replica.epoch && replica.leader == leader && leader != self.index)
                {
                    return; // stale, or nothing new for a follower
                }
                replica.isr = isr;
                if leader == self.index {
                    if replica.leader == self.index && replica.epoch == epoch {
                        self.update_hw(ctx, partition); // an ISR change only
                    } else {
                        self.become_leader(ctx, partition, epoch);
                    }
                } else {
                    self.become_follower(ctx, partition, leader, epoch);
                }
            }
            Msg::AlterPartitionAnswer { partition, epoch, isr, ok } => {
                let index = self.index;
                if let Some(replica) = self.replicas[partition as usize].as_mut() {
                    if replica.leader == index && replica.epoch == epoch {
                        replica.pending_isr = None;
                        if ok {
                            replica.isr = isr;
                        }
                    }
                }
                self.update_hw(ctx, partition);
            }
            Msg::OffsetFetch { partition } => {
                if !self.coordinates() {
                    ctx.send(from, Msg::NotCoordinator);
                    return;
                }
                let offset = self.offsets.committed[partition as usize];
                ctx.send(from, Msg::OffsetFetchOk { partition, offset });
            }
            Msg::OffsetCommit { partition, offset, generation, member } => {
                if !self.coordinates() {
                    let error = Some(GroupError::NotCoordinator);
                    ctx.send(from, Msg::OffsetCommitOk { partition, offset, generation, error });
                    return;
                }
                let now = ctx.now_ns();
                let verdict = match &mut self.group {
                    Some(group) => group.may_commit(now, member, generation),
                    None => Ok(()),
                };
                // The commit is recorded here, when the coordinator decides, in the member's
                // name (docs/history-format.md: "Commit time versus callback time").
                let (t, node) = (now, from.0);
                if let Err(error) = verdict {
                    ctx.shared.stats.rejected_commits += 1;
                    let reason = error.as_str();
                    ctx.shared.record(Rec::Commit { t, node, generation, partition, offset, ok: false, reason });
                    ctx.send(from, Msg::OffsetCommitOk { partition, offset, generation, error: Some(error) });
                    return;
                }
                ctx.shared.record(Rec::Commit { t, node, generation, partition, offset, ok: true, reason: "" });
                // Kafka accepts any offset from the current generation, lower ones too. The
                // commit is a record of the offsets partition: written with acks = all, it
                // is answered once every in-sync replica of that partition has it.
                self.offsets.committed[partition as usize] = Some(offset);
                let seq = self.replicate_offsets(ctx);
                if let Some(role) = self.offsets_role.as_mut() {
                    role.pending.push(PendingCommit { seq, to: from, partition, offset, generation });
                }
                self.complete_commits(ctx);
            }
            Msg::JoinGroup { member } => {
                let mut replies = Vec::new();
                let Some(group) = &mut self.group else {
                    ctx.send(from, Msg::NotCoordinator);
                    return;
                };
                let generation = group.generation();
                group.join(ctx.now_ns(), member, from, &mut replies);
                self.send_replies(ctx, replies);
                self.group_changed(ctx, generation);
            }
            Msg::Heartbeat { member, generation } => {
                let error = match &mut self.group {
                    Some(group) => group.heartbeat(ctx.now_ns(), member, generation).err(),
                    None => Some(GroupError::NotCoordinator),
                };
                ctx.send(from, Msg::HeartbeatAnswer { member, error });
            }
            Msg::QueueReceive { request, max } => {
                let serving = self.leads(0);
                if let Some(queue) = self.queue.as_mut() {
                    queue.receive(ctx, from, request, max, serving);
                }
            }
            Msg::QueueSettle { offset, event, receipt, nack } => {
                if let Some(queue) = self.queue.as_mut() {
                    queue.settle(ctx, from, offset, event, receipt, nack);
                }
            }
            Msg::LeaveGroup { member } => {
                let mut replies = Vec::new();
                let Some(group) = &mut self.group else {
                    ctx.send(from, Msg::NotCoordinator);
                    return;
                };
                let generation = group.generation();
                group.leave(ctx.now_ns(), member, &mut replies);
                self.send_replies(ctx, replies);
                self.group_changed(ctx, generation);
            }
            _ => {}
        }
    }

    fn produce(&mut self, ctx: &mut ModelCtx<'_>, from: NodeId, batch: u32, attempt: u16) {
        let t = ctx.now_ns();
        let index = self.index;
        let world = &mut *ctx.shared;
        let info = world.catalog.batches[batch as usize];
        let partition = info.partition;
        let acks = world.scenario.producer.acks;
        let min_insync = world.scenario.broker.min_insync_replicas as usize;
        let Some(replica) = self.replicas[partition as usize].as_mut().filter(|r| r.leader == index) else {
            world.record(Rec::Reject { t, node: self.node, batch, attempt, reason: FailReason::NotLeader });
            if acks != Acks::None {
                ctx.send(from, Msg::ProduceError { batch, attempt, reason: FailReason::NotLeader });
            }
            return;
        };
        if acks == Acks::All && replica.isr.len() < min_insync {
            world.stats.rejects += 1;
            let reason = FailReason::NotEnoughReplicas;
            world.record(Rec::Reject { t, node: self.node, batch, attempt, reason });
            ctx.send(from, Msg::ProduceError { batch, attempt, reason });
            return;
        }
        let verdict = if world.scenario.producer.expected_version {
            replica.check_versions(&world.catalog, batch)
        } else if info.pid == NONE_U64 {
            Verdict::Append
        } else {
            let entry = replica.producers.entry(info.pid).or_default();
            if info.epoch > entry.epoch && info.seq == 0 {
                // A bumped epoch (KIP-360) starts its sequences again at 0.
                *entry = ProducerEntry { epoch: info.epoch, ..ProducerEntry::default() };
            }
            let duplicate =
                entry.recent.iter().find(|(first, count, _)| *first == info.seq && *count == info.events_len);
            match (duplicate, entry.last_seq) {
                _ if info.epoch < entry.epoch => Verdict::Fenced,
                _ if info.epoch > entry.epoch => Verdict::OutOfOrder,
                (Some(&(_, _, base)), _) => Verdict::Duplicate(base),
                (None, None) if info.seq == 0 => Verdict::Append,
                (None, Some(last)) if info.seq == last.wrapping_add(1) => Verdict::Append,
                _ => Verdict::OutOfOrder,
            }
        };
        let reply = match verdict {
            Verdict::Duplicate(base_offset) => {
                world.stats.dedups += 1;
                world.record(Rec::Dedup { t, node: self.node, batch, attempt, offset: base_offset });
                let end_offset = base_offset + u64::from(info.events_len);
                if acks == Acks::All && end_offset > replica.hw {
                    // The original append is not committed yet: the repeat's answer waits for
                    // the high watermark too (a deposed leader that does not know it yet can
                    // never give it).
                    replica.waiting.push(Waiting { to: from, batch, attempt, base_offset, end_offset });
                    None
                } else {
                    Some(Msg::ProduceOk { batch, attempt, base_offset })
                }
            }
            Verdict::OutOfOrder => {
                world.stats.rejects += 1;
                let reason = FailReason::OutOfOrderSequence;
                world.record(Rec::Reject { t, node: self.node, batch, attempt, reason });
                Some(Msg::ProduceError { batch, attempt, reason })
            }
            Verdict::Fenced => {
                world.stats.rejects += 1;
                let reason = FailReason::InvalidProducerEpoch;
                world.record(Rec::Reject { t, node: self.node, batch, attempt, reason });
                Some(Msg::ProduceError { batch, attempt, reason })
            }
            Verdict::Conflict => {
                world.stats.rejects += 1;
                world.stats.conflicts += 1;
                let reason = FailReason::WrongExpectedVersion;
                world.record(Rec::Reject { t, node: self.node, batch, attempt, reason });
                Some(Msg::ProduceError { batch, attempt, reason })
            }
            Verdict::Append => {
                let base_offset = replica.log_end();
                let epoch = replica.epoch;
                for index in 0..info.events_len {
                    let event = world.catalog.batch_events[(info.events_start + index) as usize];
                    let offset = base_offset + u64::from(index);
                    let seq = if info.pid == NONE_U64 { NONE_U32 } else { info.seq + index };
                    replica.records.push(LogRecord { event, batch, epoch, seq });
                    if !replica.streams_stale {
                        let entity = world.catalog.events[event as usize].entity;
                        replica.streams.entry(entity).or_default().push((event, offset));
                    }
                    let appended = &mut world.appended[event as usize];
                    *appended = appended.saturating_add(1);
                    let rec = Rec::Append { t, node: self.node, partition, offset, event, batch, attempt, seq, epoch };
                    world.record(rec);
                    let step = world.catalog.events[event as usize].step;
                    let entity = &mut world.entities[world.catalog.events[event as usize].entity as usize];
                    if entity.max_step_appended != NONE_U32 && step < entity.max_step_appended {
                        world.stats.out_of_order_appends += 1;
                    } else {
                        entity.max_step_appended = step;
                    }
                }
                world.stats.appended += u64::from(info.events_len);
                if info.pid != NONE_U64 {
                    replica.producers.entry(info.pid).or_default().appended(info.seq, info.events_len, base_offset);
                }
                if acks == Acks::All {
                    let end_offset = replica.log_end();
                    replica.waiting.push(Waiting { to: from, batch, attempt, base_offset, end_offset });
                    None
                } else {
                    Some(Msg::ProduceOk { batch, attempt, base_offset })
                }
            }
        };
        if let (Some(reply), true) = (reply, acks != Acks::None) {
            ctx.send(from, reply);
        }
        self.update_hw(ctx, partition);
    }
}

/// A follower's fetch, as the leader reads it.
struct FollowerFetch {
    partition: u32,
    follower: u32,
    offset: u64,
    last_epoch: u32,
    epoch: u32,
    seq: u32,
}

/// Why a consumer fetch failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchErrorKind {
    /// This broker does not lead the partition (any more): refresh metadata.
    NotLeader,
    /// The position is past the leader's high watermark (its log was truncated).
    OutOfRange { high_watermark: u64 },
}

/// The group's durable state in its `__consumer_offsets` partition: the committed offset of
/// each partition of the topic, and the group's metadata (see [`Snapshot`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffsetsState {
    pub committed: Vec<Option<u64>>,
    pub group: Snapshot,
}

/// A commit the offsets leader accepted and has not answered yet: it waits for update
/// `seq` to reach every in-sync replica.
#[derive(Clone, Copy, Debug)]
struct PendingCommit {
    seq: u64,
    to: NodeId,
    partition: u32,
    offset: u64,
    generation: u32,
}

/// A replica's view of the offsets partition: who leads it (the coordinator), in which
/// epoch, its ISR; and, on the leader, the updates sent, what each follower stored (and
/// since when it has everything), and the commits waiting for replication.
struct OffsetsRole {
    leader: u32,
    epoch: u32,
    isr: Vec<u32>,
    replicas: Vec<u32>,
    seq: u64,
    acked: BTreeMap<u32, (u64, u64)>,
    pending: Vec<PendingCommit>,
    pending_isr: bool,
}

impl OffsetsRole {
    fn new(leader: u32, replicas: Vec<u32>) -> OffsetsRole {
        OffsetsRole {
            leader,
            epoch: 0,
            isr: replicas.clone(),
            replicas,
            seq: 0,
            acked: BTreeMap::new(),
            pending: Vec::new(),
            pending_isr: false,
        }
    }
}

impl Broker {
    /// Whether this broker leads the group's offsets partition: it is the group coordinator.
    fn coordinates(&self) -> bool {
        self.offsets_role.as_ref().is_some_and(|r| r.leader == self.index)
    }

    /// The offsets partition's leadership came here: load the group from this broker's copy
    /// (committed offsets, generation, members) and coordinate.
    fn become_coordinator(&mut self, ctx: &mut ModelCtx<'_>) {
        let now = ctx.now_ns();
        let config = &ctx.shared.scenario.consumer;
        if config.assignment != Assignment::Static {
            let mut group = Coordinator::new(
                config.assignment,
                ctx.shared.layout.partitions,
                config.session_timeout_ms * 1_000_000,
                config.max_poll_interval_ms * 1_000_000,
            );
            group.restore(now, &self.offsets.group);
            self.group = Some(group);
            self.arm_group_tick(ctx);
        }
        let world = &mut *ctx.shared;
        for (committed, mine) in world.committed.iter_mut().zip(&self.offsets.committed) {
            *committed = mine.unwrap_or(0);
        }
        if let Some(role) = self.offsets_role.as_mut() {
            role.acked = role.replicas.iter().filter(|&&b| b != self.index).map(|&b| (b, (0, now))).collect();
            role.seq = 0;
            role.pending.clear();
            role.pending_isr = false;
        }
        self.offsets_stored = (self.offsets_role.as_ref().map_or(0, |r| r.epoch), 0);
    }

    /// The offsets partition's leadership went elsewhere: stop coordinating. Commits not
    /// replicated yet are answered `not_coordinator` (their members send them again to the
    /// new coordinator, which may or may not have them: the history's `commit` record says
    /// what this coordinator decided, and the new one's `seek`s show what survived).
    fn resign_coordinator(&mut self, ctx: &mut ModelCtx<'_>) {
        self.group = None;
        let Some(role) = self.offsets_role.as_mut() else { return };
        for PendingCommit { to, partition, offset, generation, .. } in std::mem::take(&mut role.pending) {
            ctx.shared.stats.commits_not_coordinator += 1;
            let error = Some(GroupError::NotCoordinator);
            ctx.send(to, Msg::OffsetCommitOk { partition, offset, generation, error });
        }
    }

    fn offsets_leader_and_isr(&mut self, ctx: &mut ModelCtx<'_>, leader: u32, epoch: u32, isr: Vec<u32>) {
        let index = self.index;
        let Some(role) = self.offsets_role.as_mut() else { return };
        if epoch < role.epoch || (epoch == role.epoch && role.leader == leader && leader != index) {
            return; // stale, or nothing new for a follower
        }
        let was_leader = role.leader == index;
        let same_term = was_leader && leader == index && role.epoch == epoch;
        role.isr = isr;
        role.epoch = epoch;
        role.leader = leader;
        if same_term {
            role.pending_isr = false;
            self.complete_commits(ctx); // an ISR change only
        } else if leader == index {
            self.become_coordinator(ctx);
        } else if was_leader {
            self.resign_coordinator(ctx);
        }
    }

    /// Persists the group's metadata when a rebalance completed (a new generation).
    fn group_changed(&mut self, ctx: &mut ModelCtx<'_>, generation_before: u32) {
        let Some(group) = &self.group else { return };
        if group.generation() != generation_before {
            self.offsets.group = group.snapshot();
            self.replicate_offsets(ctx);
        }
    }

    /// Sends the offsets state to the partition's other replicas as a new update; returns its
    /// number.
    fn replicate_offsets(&mut self, ctx: &mut ModelCtx<'_>) -> u64 {
        let index = self.index;
        let Some(role) = self.offsets_role.as_mut() else { return 0 };
        role.seq += 1;
        let (epoch, seq) = (role.epoch, role.seq);
        for &broker in role.replicas.iter().filter(|&&b| b != index) {
            let state = Box::new(self.offsets.clone());
            ctx.send(ctx.shared.layout.broker(broker), Msg::OffsetsReplicate { epoch, seq, state });
        }
        seq
    }

    /// Answers, in order, the commits every in-sync replica has stored.
    fn complete_commits(&mut self, ctx: &mut ModelCtx<'_>) {
        let index = self.index;
        let Some(role) = self.offsets_role.as_mut().filter(|r| r.leader == index) else { return };
        let replicated = role
            .isr
            .iter()
            .filter(|&&b| b != index)
            .map(|b| role.acked.get(b).map_or(0, |&(seq, _)| seq))
            .min()
            .unwrap_or(u64::MAX);
        let done = role.pending.iter().take_while(|c| c.seq <= replicated).count();
        if done == 0 {
            return;
        }
        for PendingCommit { to, partition, offset, generation, .. } in role.pending.drain(..done) {
            let world = &mut *ctx.shared;
            world.committed[partition as usize] = offset;
            world.stats.commits += 1;
            ctx.send(to, Msg::OffsetCommitOk { partition, offset, generation, error: None });
        }
        if ctx.shared.finished() {
            ctx.stop();
        }
    }
}
