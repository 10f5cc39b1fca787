//! The Kafka-like streaming model on top of `ordo-sim`.
//!
//! Nodes are [`Actor`]s: producers (`p0…`, which also run the application that creates
//! events), brokers (`b0…`, partition leaders; `b0` hands out producer ids, and the leader
//! of the group's offsets partition, `b0` at first, is the group coordinator) and consumers (`c0…`, one consumer group). They talk only through
//! [`Msg`]s on the simulated network. World-level state that is not a node's (the catalog
//! of events and batches, the history recorder, the group's projection, counters) lives in
//! [`World`], the engine's shared state.
//!
//! Node ids: producers first, then brokers, then consumers (see [`Layout`]).

pub mod broker;
pub mod consumer;
pub mod controller;
pub mod group;
pub mod hooks;
pub mod producer;
pub mod queue;
pub mod workload;

use ordo_sim::{Ctx, Fault, Node, NodeId, TimerId};

use crate::history::{Catalog, FailReason, Rec, Recorder};
use crate::scenario::Scenario;

pub use broker::Broker;
pub use consumer::Consumer;
pub use producer::Producer;

/// Messages between nodes. Batch contents are not copied: a batch id refers to the
/// immutable [`Catalog`] entry, exactly as a retried request carries the same bytes.
#[derive(Clone, Debug)]
pub enum Msg {
    /// Producer → coordinator: give me a producer id (idempotent producer).
    InitProducerId,
    InitProducerIdOk {
        pid: u64,
        epoch: u16,
    },
    /// Producer → partition leader: append this batch (attempt number `attempt`).
    Produce {
        batch: u32,
        attempt: u16,
    },
    ProduceOk {
        batch: u32,
        attempt: u16,
        base_offset: u64,
    },
    ProduceError {
        batch: u32,
        attempt: u16,
        reason: FailReason,
    },
    /// Consumer → leader: records of `partition` from `offset`, at most `max`.
    Fetch {
        poll: u32,
        partition: u32,
        offset: u64,
        max: u32,
    },
    FetchOk {
        poll: u32,
        partition: u32,
        offset: u64,
        events: Vec<u32>,
    },
    /// Consumer → coordinator: where should I start `partition`?
    OffsetFetch {
        partition: u32,
    },
    OffsetFetchOk {
        partition: u32,
        offset: Option<u64>,
    },
    OffsetCommit {
        partition: u32,
        offset: u64,
        generation: u32,
        member: u32,
    },
    OffsetCommitOk {
        partition: u32,
        offset: u64,
        generation: u32,
        error: Option<group::GroupError>,
    },
    /// Consumer → coordinator: membership (see [`group`]).
    JoinGroup {
        member: u32,
    },
    JoinGroupOk {
        member: u32,
        generation: u32,
        partitions: Vec<u32>,
    },
    Heartbeat {
        member: u32,
        generation: u32,
    },
    HeartbeatAnswer {
        member: u32,
        error: Option<group::GroupError>,
    },
    LeaveGroup {
        member: u32,
    },
    /// Consumer → controller: who coordinates the group (leads its `__consumer_offsets`
    /// partition)? The answer names a broker index, `u32::MAX` while none does.
    FindCoordinator,
    FindCoordinatorOk {
        broker: u32,
    },
    /// Broker → consumer: a group request (join, leave, offset fetch) reached a broker
    /// that does not coordinate the group.
    NotCoordinator,
    /// Offsets leader → the other replicas of `__consumer_offsets`: the group's state
    /// (committed offsets, group metadata) as of update `seq` under leader epoch `epoch`;
    /// they store it and answer. The state is small (one offset per partition), so each
    /// update carries all of it: a replica that missed some catches up with the next.
    OffsetsReplicate {
        epoch: u32,
        seq: u64,
        state: Box<broker::OffsetsState>,
    },
    OffsetsReplicateOk {
        epoch: u32,
        seq: u64,
        broker: u32,
    },
    /// A consumer fetch the broker could not serve.
    FetchError {
        poll: u32,
        partition: u32,
        reason: broker::FetchErrorKind,
    },
    /// Follower → leader: records of `partition` from `offset`; `last_epoch` is the epoch
    /// of the follower's last record, `epoch` the leader epoch it knows.
    ReplicaFetch {
        partition: u32,
        broker: u32,
        offset: u64,
        last_epoch: u32,
        epoch: u32,
        seq: u32,
    },
    ReplicaFetchOk {
        partition: u32,
        seq: u32,
        offset: u64,
        hw: u64,
        records: Vec<broker::LogRecord>,
    },
    /// Leader → follower: your log diverged from mine after your last epoch; truncate.
    ReplicaFetchDiverging {
        partition: u32,
        seq: u32,
        truncate_to: u64,
    },
    ReplicaFetchError {
        partition: u32,
        seq: u32,
    },
    /// Broker → controller: alive (a new `incarnation` after a restart).
    BrokerHeartbeat {
        broker: u32,
        incarnation: u32,
        /// A fingerprint of the partition state the broker applied
        /// ([`controller::state_fingerprint`]): the controller re-sends what it finds stale.
        state: u64,
    },
    /// Controller → replica brokers: who leads `partition` in `epoch`, and its ISR.
    LeaderAndIsr {
        partition: u32,
        leader: u32,
        epoch: u32,
        isr: Vec<u32>,
    },
    /// Leader → controller: change the ISR (KIP-497); the answer says whether it took.
    AlterPartition {
        partition: u32,
        epoch: u32,
        isr: Vec<u32>,
    },
    AlterPartitionAnswer {
        partition: u32,
        epoch: u32,
        isr: Vec<u32>,
        ok: bool,
    },
    /// Client → controller: who leads what? (`u32::MAX`: offline.)
    MetadataRequest,
    Metadata {
        leaders: Vec<u32>,
    },
    /// Application handoff between producer processes: "entity's step `step` happened as
    /// `event`; emit the next one" (the causal link the history records as a dep).
    Handoff {
        entity: u32,
        /// The event the sender just created: its clock stamp is what the message carries.
        cause: u32,
    },
    /// Queue mode (see [`queue`]): consumer → host: give me up to `max` visible messages.
    QueueReceive {
        request: u64,
        max: u32,
    },
    /// Host → consumer: the messages it now leases to this consumer (maybe none).
    QueueMessages {
        request: u64,
        messages: Vec<queue::Received>,
    },
    /// Consumer → host: done with this message (`nack: false`: delete it; `true`: processing
    /// failed, make it visible again). `receipt` names the receive it answers.
    QueueSettle {
        offset: u64,
        event: u32,
        receipt: u64,
        nack: bool,
    },
}

impl Msg {
    /// The message's kind, in snake case (for diagnostics such as a livelock's culprit).
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::InitProducerId => "init_producer_id",
            Msg::InitProducerIdOk { .. } => "init_producer_id_ok",
            Msg::Produce { .. } => "produce",
            Msg::ProduceOk { .. } => "produce_ok",
            Msg::ProduceError { .. } => "produce_error",
            Msg::Fetch { .. } => "fetch",
            Msg::FetchOk { .. } => "fetch_ok",
            Msg::OffsetFetch { .. } => "offset_fetch",
            Msg::OffsetFetchOk { .. } => "offset_fetch_ok",
            Msg::OffsetCommit { .. } => "offset_commit",
            Msg::OffsetCommitOk { .. } => "offset_commit_ok",
            Msg::JoinGroup { .. } => "join_group",
            Msg::JoinGroupOk { .. } => "join_group_ok",
            Msg::Heartbeat { .. } => "heartbeat",
            Msg::HeartbeatAnswer { .. } => "heartbeat_answer",
            Msg::LeaveGroup { .. } => "leave_group",
            Msg::FindCoordinator => "find_coordinator",
            Msg::FindCoordinatorOk { .. } => "find_coordinator_ok",
            Msg::NotCoordinator => "not_coordinator",
            Msg::OffsetsReplicate { .. } => "offsets_replicate",
            Msg::OffsetsReplicateOk { .. } => "offsets_replicate_ok",
            Msg::FetchError { .. } => "fetch_error",
            Msg::ReplicaFetch { .. } => "replica_fetch",
            Msg::ReplicaFetchOk { .. } => "replica_fetch_ok",
            Msg::ReplicaFetchDiverging { .. } => "replica_fetch_diverging",
            Msg::ReplicaFetchError { .. } => "replica_fetch_error",
            Msg::BrokerHeartbeat { .. } => "broker_heartbeat",
            Msg::LeaderAndIsr { .. } => "leader_and_isr",
            Msg::AlterPartition { .. } => "alter_partition",
            Msg::AlterPartitionAnswer { .. } => "alter_partition_answer",
            Msg::MetadataRequest => "metadata_request",
            Msg::Metadata { .. } => "metadata",
            Msg::Handoff { .. } => "handoff",
            Msg::QueueReceive { .. } => "queue_receive",
            Msg::QueueMessages { .. } => "queue_messages",
            Msg::QueueSettle { .. } => "queue_settle",
        }
    }
}

/// Where each kind of node sits in the id space.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub producers: u32,
    pub brokers: u32,
    pub consumers: u32,
    pub partitions: u32,
    pub replication_factor: u32,
}

impl Layout {
    pub fn producer(&self, index: u32) -> NodeId {
        NodeId(index)
    }
    pub fn broker(&self, index: u32) -> NodeId {
        NodeId(self.producers + index)
    }
    pub fn consumer(&self, index: u32) -> NodeId {
        NodeId(self.producers + self.brokers + index)
    }
    /// The initial leader of a partition (its first replica).
    pub fn leader(&self, partition: u32) -> NodeId {
        self.broker(partition % self.brokers)
    }
    /// The brokers (indices) holding `partition`: `p mod brokers` and the next ones.
    pub fn replicas(&self, partition: u32) -> Vec<u32> {
        (0..self.replication_factor).map(|i| (partition + i) % self.brokers).collect()
    }
    pub fn controller(&self) -> NodeId {
        NodeId(self.producers + self.brokers + self.consumers)
    }
    /// The broker that hands out producer ids (`b0`).
    pub fn coordinator(&self) -> NodeId {
        self.broker(0)
    }
    /// The group's `__consumer_offsets` partition, numbered after the topic's partitions
    /// (the controller elects its leader like theirs; that leader is the group coordinator).
    pub fn offsets_partition(&self) -> u32 {
        self.partitions
    }
    /// Its replicas: the brokers holding partition 0's replicas (`b0` first, so `b0` is the
    /// first coordinator), as many as the topic's replication factor.
    pub fn offsets_replicas(&self) -> Vec<u32> {
        self.replicas(0)
    }
    /// The consumer a partition is statically assigned to.
    pub fn owner(&self, partition: u32) -> u32 {
        partition % self.consumers
    }
    pub fn nodes(&self) -> u32 {
        self.producers + self.brokers + self.consumers + 1
    }
}

/// Counters the run summary reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelStats {
    pub created: u64,
    pub batches: u64,
    pub send_attempts: u64,
    pub retries: u64,
    pub acked: u64,
    pub failed_batches: u64,
    pub appended: u64,
    pub dedups: u64,
    pub rejects: u64,
    pub deliveries: u64,
    /// Deliveries of an event the group had already been delivered.
    pub duplicate_deliveries: u64,
    pub applies: u64,
    pub duplicate_applies: u64,
    /// Appends of an event whose entity already had a later step appended to the same
    /// partition (the log order contradicts the creation order).
    pub out_of_order_appends: u64,
    pub commits: u64,
    /// Leader elections (clean and unclean) and unclean ones among them.
    pub elections: u64,
    pub unclean_elections: u64,
    /// Records followers dropped when their log diverged from a new leader's.
    pub truncated_records: u64,
    /// Records a crashed broker lost because they were not flushed to disk yet.
    pub unflushed_lost: u64,
    /// Commits the coordinator refused (stale generation, unknown member).
    pub rejected_commits: u64,
    /// Group coordinator failover: elections of the `__consumer_offsets` partition's leader,
    /// and commits answered `not_coordinator` because their coordinator lost the partition
    /// before the commit was replicated (the member sends them again to the new one).
    pub coordinator_elections: u64,
    pub commits_not_coordinator: u64,
    /// Assignments members received (one per member per rebalance).
    pub assignments: u64,
    /// Time partitions spent owned by nobody between a revocation and the next
    /// assignment (summed over partitions), and how many such pauses there were.
    pub rebalance_pause_ns: u64,
    pub partition_pauses: u64,
    /// Pauses of partitions that went back to the member that gave them up: avoidable
    /// stops (eager rebalancing makes them; cooperative must not).
    pub unmoved_pauses: u64,
    /// Availability: time partitions had no member fetching them (from the moment their
    /// fetcher revoked or lost them, or crashed, until a member had a starting offset for
    /// them), summed over partitions whose next fetcher was another member (moved) or the
    /// same one (unmoved); such gaps; and the largest total of one partition.
    pub unfetched_moved_ns: u64,
    pub unfetched_unmoved_ns: u64,
    pub unfetched_gaps: u64,
    pub unfetched_max_ns: u64,
    /// Fetched records a consumer dropped unprocessed: its commit before processing was
    /// refused (they are fetched again), or its partitions were lost while that commit was
    /// outstanding.
    pub dropped_unprocessed: u64,
    /// Entity chains cut short by a producer crash.
    pub chains_cut: u64,
    /// Events lost because their producer crashed before they were acknowledged.
    pub lost_in_crash: u64,
    /// Events the application sent again (after a failure, or from its durable source).
    pub resent: u64,
    /// Consumer strategies: events discarded (duplicate, stale, late), most events held
    /// at once by one consumer, gaps given up on.
    pub discarded: u64,
    pub held_max: u64,
    pub skipped_gaps: u64,
    /// Of `discarded`, those dropped as late or stale (dead-lettered), not as duplicates.
    pub dead_lettered: u64,
    /// Events still held by consumer strategies when the run ended (never applied).
    pub held_at_end: u64,
    /// Key lanes (`consumer.key_lanes`): commits a lane sent when it had done its share
    /// of a poll, and summed over them the processed records at or above the committed
    /// offset (a crash then would process them again) and the unprocessed records below
    /// it (a crash then would skip them: only `lane_commit = "highest"` makes these).
    pub lane_commits: u64,
    pub lane_commit_held_back: u64,
    pub lane_commit_skipped: u64,
    /// Entities whose projection did not end at their latest event (stalled behind a lost
    /// version, a reordered older event applied last, the latest event lost), set at the end.
    pub entities_behind: u64,
    pub latency_sum_ns: u64,
    pub latency_max_ns: u64,
    /// Produce-to-apply latency percentiles over every apply (nearest rank), set at the end.
    pub latency_p50_ns: u64,
    pub latency_p99_ns: u64,
    /// Events created and never applied by the end of the run (held, stalled, lost or
    /// still in flight), set at the end.
    pub never_applied: u64,
    /// Events created and never appended to any partition by the end of the run: with a
    /// dual write, rows the database committed whose event the log never got. Set at the end.
    pub never_appended: u64,
    /// Saga steps that failed into a compensation (`workload.compensation_ppm`).
    pub compensations: u64,
    /// The 99th percentile (nearest rank) over every apply's latency and, for each event
    /// never applied, the time from its creation to the end of the run: a latency that
    /// holding or losing events cannot lower. Set at the end.
    pub latency_p99_to_end_ns: u64,
    /// Time of the last apply: throughput is first-time applies over (last apply − first
    /// create).
    pub last_apply_ns: u64,
    /// Expected-version appends rejected (the stream had moved on), and retried.
    pub conflicts: u64,
    /// Consumer processing attempts that failed (`processing_failure_ppm`) and were retried.
    pub processing_failures: u64,
    /// Queue mode: deliveries of a message received before (after a visibility timeout, a
    /// nack or a host restart), messages made visible again because their visibility
    /// timeout ran out, acknowledgements the host accepted and refused (a stale receipt:
    /// the message was received again since, or is gone), nacks after a processing
    /// failure, failures in auto-ack mode (the message is gone), and dead-lettered messages.
    pub redeliveries: u64,
    pub visibility_expired: u64,
    pub queue_acks: u64,
    pub refused_acks: u64,
    pub nacks: u64,
    pub failed_auto_acked: u64,
    pub queue_dead_lettered: u64,
}

/// Per-entity ground truth and projection.
#[derive(Clone, Copy, Debug)]
pub struct EntityState {
    /// The entity's latest created event (the chain is sequential, so this is the one the
    /// next step depends on), or `u32::MAX`.
    pub last_event: u32,
    /// Highest step appended so far, for `out_of_order_appends`.
    pub max_step_appended: u32,
    /// The projection: kind of the last applied event, `u16::MAX` if none.
    pub status: u16,
    /// The event applied last (the one the projection shows), or `u32::MAX`.
    pub last_applied: u32,
    /// How many applies the projection saw (duplicates included): `operation = increment`'s
    /// counter.
    pub applies: u64,
    /// The producer responsible for the entity's next step (`u32::MAX` once the chain is
    /// complete or cut short).
    pub holder: u32,
}

/// World-level state shared by every node.
pub struct World {
    pub scenario: Scenario,
    pub layout: Layout,
    pub catalog: Catalog,
    pub recorder: Recorder,
    pub stats: ModelStats,
    pub entities: Vec<EntityState>,
    /// Per event: creation time, and how often the group got it delivered and applied.
    pub created_ns: Vec<u64>,
    pub delivered: Vec<u8>,
    pub applied: Vec<u8>,
    /// With `workload.operation = append`: every apply as (entity, event), in order (the
    /// projections' lists); empty otherwise.
    pub apply_order: Vec<(u32, u32)>,
    /// Per event: how often it was appended (saturating), and [`fate`] bits.
    pub appended: Vec<u8>,
    pub fate: Vec<u8>,
    /// Per partition: the log end offset at the current leader.
    pub log_end: Vec<u64>,
    /// Per partition: the group's committed offset at the coordinator.
    pub committed: Vec<u64>,
    /// Per partition: offset after the last record the owner applied.
    pub processed: Vec<u64>,
    /// Per partition: when it was revoked and not yet assigned again (`u64::MAX`: owned).
    pub revoked_at: Vec<u64>,
    /// Per partition: the consumer node that revoked it last.
    pub revoked_by: Vec<u32>,
    /// Per partition: the consumer node fetching it (`u32::MAX`: nobody), since when nobody
    /// has fetched it (`u64::MAX`: somebody does, or nobody ever did), the node that fetched
    /// it last, and its summed time unfetched (see [`World::fetch_started`]).
    pub fetcher: Vec<u32>,
    pub unfetched_since: Vec<u64>,
    pub last_fetcher: Vec<u32>,
    pub unfetched_total: Vec<u64>,
    /// Records consumers hold, fetched and not processed yet (a batch waiting for its
    /// commit, or in processing): the run is not over while one may still be applied.
    pub in_hand: u64,
    /// Per event: the creating producer's local clock (a timestamp strategy's `ts`).
    pub created_clock: Vec<i64>,
    /// Per event: the producer (index) that created it.
    pub created_by: Vec<u32>,
    /// Every apply's produce-to-apply latency, in apply order (percentiles at the end).
    pub latencies: Vec<u64>,
    /// The group-shared stores consumer-side strategies opened (see [`hooks`]): read and
    /// written only through the hooks' handles.
    pub stores: hooks::Stores,
    /// The run seed (strategies' own random streams derive from it).
    pub seed: u64,
    /// Events the workload has still to create, plus created events whose batch is
    /// neither acknowledged nor given up.
    pub unresolved: u64,
    /// Queue mode: messages in the queue neither acknowledged nor dead-lettered (the host's
    /// count), and messages delivered to consumers and not processed yet (their count).
    pub queue_open: u64,
    pub queue_in_hand: u64,
    /// Queue mode: receive answers on their way to a consumer, (consumer, request) →
    /// messages (the observer's bookkeeping, so a run does not stop with messages in flight).
    pub queue_transit: std::collections::BTreeMap<(u32, u64), u32>,
    /// Paused nodes and when each resumes (the engine's own pause end), in node order: the
    /// `resume` record is written before the first record at or after that time.
    pub resumes: Vec<(u32, u64)>,
}

impl World {
    /// Records `rec`, streaming the buffer when it is full.
    #[inline]
    pub fn record(&mut self, rec: Rec) {
        if !self.resumes.is_empty() {
            self.record_resumes(rec.t());
        }
        self.recorder.push(rec);
        if self.recorder.is_full() {
            self.recorder.flush(&self.catalog);
        }
    }

    /// Writes the `resume` of every pause that ended at or before `t`, in time order (then
    /// node order).
    #[cold]
    fn record_resumes(&mut self, t: u64) {
        while let Some(index) =
            (0..self.resumes.len()).filter(|&i| self.resumes[i].1 <= t).min_by_key(|&i| (self.resumes[i].1, i))
        {
            let (node, until) = self.resumes.remove(index);
            self.recorder.push(Rec::Resume { t: until, node });
            if self.recorder.is_full() {
                self.recorder.flush(&self.catalog);
            }
        }
    }

    /// True when the workload is finished and the group has applied and committed
    /// everything in every partition: nothing more can happen.
    /// Ends `entity`'s chain early (its producer crashed, or the one to hand it to is
    /// down): the steps it will never create no longer count as outstanding.
    pub fn cut_chain(&mut self, entity: u32) {
        let state = &mut self.entities[entity as usize];
        if state.holder == u32::MAX {
            return;
        }
        state.holder = u32::MAX;
        let created = match state.last_event {
            u32::MAX => 0,
            last => self.catalog.events[last as usize].step + 1,
        };
        self.unresolved -= u64::from(self.scenario.workload.events_per_entity - created);
        self.stats.chains_cut += 1;
    }

    pub fn finished(&self) -> bool {
        if self.scenario.queue.is_some() {
            // Nothing left in the queue, and nothing a consumer received is unprocessed (a
            // paused consumer may still apply a message another consumer already acked).
            return self.unresolved == 0
                && self.queue_open == 0
                && self.queue_in_hand == 0
                && self.queue_transit.is_empty();
        }
        self.unresolved == 0
            && self
                .log_end
                .iter()
                .zip(self.committed.iter().zip(&self.processed))
                .all(|(end, (committed, processed))| committed >= end && (processed >= end || self.in_hand == 0))
    }

    /// `node` starts fetching `partition` (it owns it and knows where to start): a pause
    /// since its previous fetcher stopped ends, counted as moved or unmoved.
    pub fn fetch_started(&mut self, now_ns: u64, partition: u32, node: u32) {
        let p = partition as usize;
        self.fetcher[p] = node;
        let since = std::mem::replace(&mut self.unfetched_since[p], u64::MAX);
        if since != u64::MAX {
            let gap = now_ns.saturating_sub(since);
            let stats = &mut self.stats;
            if self.last_fetcher[p] == node {
                stats.unfetched_unmoved_ns = stats.unfetched_unmoved_ns.saturating_add(gap);
            } else {
                stats.unfetched_moved_ns = stats.unfetched_moved_ns.saturating_add(gap);
            }
            stats.unfetched_gaps = stats.unfetched_gaps.saturating_add(1);
            let total = &mut self.unfetched_total[p];
            *total = total.saturating_add(gap);
            stats.unfetched_max_ns = stats.unfetched_max_ns.max(*total);
        }
        self.last_fetcher[p] = node;
    }

    /// `node` stops fetching `partition` (revoked, lost, or its process crashed); nothing
    /// changes if another member fetches it already.
    pub fn fetch_stopped(&mut self, now_ns: u64, partition: u32, node: u32) {
        let p = partition as usize;
        if self.fetcher[p] == node {
            self.fetcher[p] = u32::MAX;
            self.unfetched_since[p] = now_ns;
        }
    }
}

/// Per-event fate bits (`World::fate`).
pub mod fate {
    /// Its batch was acknowledged (with `acks = 0`: sent).
    pub const ACKED: u8 = 1;
    /// Its batch was given up: the application was told the send failed.
    pub const GIVEN_UP: u8 = 2;
    /// Its producer crashed before the batch was acknowledged (the history's `crash` says so).
    pub const LOST_IN_CRASH: u8 = 4;
    /// Queue mode: a copy of it was dead-lettered (the history's `discard` with reason
    /// `dead_letter` says so).
    pub const DEAD_LETTERED: u8 = 8;
}

/// A node of the streaming model.
pub enum Actor {
    Producer(Box<Producer>),
    Broker(Box<Broker>),
    Consumer(Box<Consumer>),
    Controller(Box<controller::Controller>),
}

pub type ModelCtx<'a> = Ctx<'a, Msg, World>;

impl Node for Actor {
    type Msg = Msg;
    type Shared = World;

    fn on_start(&mut self, ctx: &mut ModelCtx<'_>) {
        match self {
            Actor::Producer(producer) => producer.on_start(ctx),
            Actor::Broker(broker) => broker.on_start(ctx),
            Actor::Consumer(consumer) => consumer.on_start(ctx),
            Actor::Controller(controller) => controller.on_start(ctx),
        }
    }

    fn on_message(&mut self, ctx: &mut ModelCtx<'_>, from: NodeId, msg: Msg) {
        match self {
            Actor::Producer(producer) => producer.on_message(ctx, msg),
            Actor::Broker(broker) => broker.on_message(ctx, from, msg),
            Actor::Consumer(consumer) => consumer.on_message(ctx, msg),
            Actor::Controller(controller) => controller.on_message(ctx, from, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut ModelCtx<'_>, _timer: TimerId, tag: u64) {
        match self {
            Actor::Producer(producer) => producer.on_timer(ctx, tag),
            Actor::Broker(broker) => broker.on_timer(ctx, tag),
            Actor::Consumer(consumer) => consumer.on_timer(ctx, tag),
            Actor::Controller(controller) => controller.on_timer(ctx),
        }
    }

    fn on_crash(&mut self, world: &mut World, now_ns: u64) {
        match self {
            Actor::Producer(producer) => producer.on_crash(world),
            Actor::Broker(broker) => broker.on_crash(world, now_ns),
            Actor::Consumer(consumer) => consumer.on_crash(world, now_ns),
            Actor::Controller(_) => {}
        }
    }

    fn on_control(&mut self, ctx: &mut ModelCtx<'_>, tag: u64) {
        if let (Actor::Consumer(consumer), control::LEAVE) = (self, tag) {
            consumer.leave(ctx);
        }
    }

    /// Work done: events created, appended, acknowledged or given up, applied, committed,
    /// discarded, settled or cut short. Polls, heartbeats, retries and timeouts are not
    /// progress (a stuck loop of them is what the engine's livelock guard catches).
    fn progress(world: &World) -> u64 {
        let s = &world.stats;
        [
            s.created,
            s.appended,
            s.acked,
            s.failed_batches,
            s.applies,
            s.commits,
            s.discarded,
            s.dead_lettered,
            s.queue_acks,
            s.queue_dead_lettered,
            s.chains_cut,
            s.lost_in_crash,
        ]
        .iter()
        .fold(0u64, |sum, &n| sum.saturating_add(n))
    }

    fn timer_kind(&self, tag: u64) -> &'static str {
        let kind = tag::kind(tag);
        // The kinds are each role's timer constants (`producer.rs`, `broker.rs`,
        // `consumer.rs`, `queue.rs`); an unknown one is just a "timer".
        let names: &[&str] = match self {
            Actor::Producer(_) => {
                &["", "start", "step", "linger", "request_timeout", "backoff", "init_retry", "metadata_retry"]
            }
            Actor::Broker(_) if kind == queue::LEASE_TIMER => return "lease",
            Actor::Broker(_) => {
                &["", "group_tick", "heartbeat", "isr_check", "replica_fetch", "replica_fetch_timeout", "flush"]
            }
            Actor::Consumer(_) => &[
                "",
                "offset_retry",
                "poll",
                "fetch_timeout",
                "process",
                "commit_timeout",
                "heartbeat",
                "join_retry",
                "metadata_retry",
                "strategy",
                "store_write",
            ],
            Actor::Controller(_) => &["", "tick"],
        };
        names.get(kind as usize).copied().filter(|name| !name.is_empty()).unwrap_or("timer")
    }

    fn message_kind(msg: &Msg) -> &'static str {
        msg.kind()
    }

    fn observe_fault(world: &mut World, now_ns: u64, fault: &Fault) {
        let rec = match *fault {
            Fault::Crash(node) => {
                // A crash ends a pause (the engine forgets it): the `restart` follows instead.
                world.resumes.retain(|&(n, _)| n != node.0);
                Rec::Crash { t: now_ns, node: node.0 }
            }
            Fault::Restart(node) => Rec::Restart { t: now_ns, node: node.0 },
            Fault::Pause { node, duration_ns } => {
                // As the engine does: an overlapping pause extends the one under way.
                let until = now_ns.saturating_add(duration_ns);
                match world.resumes.iter_mut().find(|(n, _)| *n == node.0) {
                    Some(entry) => entry.1 = entry.1.max(until),
                    None => {
                        let at = world.resumes.partition_point(|&(n, _)| n < node.0);
                        world.resumes.insert(at, (node.0, until));
                    }
                }
                Rec::Pause { t: now_ns, node: node.0 }
            }
            Fault::SetLink { from, to, ref spec } => {
                let (min_ns, max_ns) = match spec.latency {
                    ordo_sim::net::Latency::Constant { ns } => (ns, ns),
                    ordo_sim::net::Latency::Uniform { min_ns, max_ns }
                    | ordo_sim::net::Latency::Tail { min_ns, max_ns, .. } => (min_ns, max_ns),
                };
                let ppm = |r: ordo_sim::rng::Ratio| {
                    (u64::from(r.num) * 1_000_000 / u64::from(r.den.max(1))).min(1_000_000) as u32
                };
                Rec::Link {
                    t: now_ns,
                    from: from.0,
                    to: to.0,
                    min_ns,
                    max_ns,
                    loss_ppm: ppm(spec.loss),
                    duplicate_ppm: ppm(spec.duplicate),
                    fifo: spec.fifo,
                }
            }
            Fault::ClockStep { node, delta_ns } => Rec::ClockStep { t: now_ns, node: node.0, delta_ns },
            Fault::Cut { from, to } => Rec::NetLinks { t: now_ns, from: from.0, to: to.0, cut: true },
            Fault::Heal { from, to } => Rec::NetLinks { t: now_ns, from: from.0, to: to.0, cut: false },
            _ => return,
        };
        world.record(rec);
    }
}

/// Scripted controls (`Fault::Control` tags).
pub mod control {
    /// A consumer leaves its group gracefully.
    pub const LEAVE: u64 = 1;
}

/// Timer tags: the kind in the top byte, a payload below.
pub mod tag {
    pub const KIND_SHIFT: u32 = 56;
    pub const PAYLOAD: u64 = (1 << KIND_SHIFT) - 1;

    pub fn make(kind: u64, payload: u64) -> u64 {
        (kind << KIND_SHIFT) | (payload & PAYLOAD)
    }
    pub fn kind(tag: u64) -> u64 {
        tag >> KIND_SHIFT
    }
    pub fn payload(tag: u64) -> u64 {
        tag & PAYLOAD
    }
}
