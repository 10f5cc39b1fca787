//! A consumer: a member of the group, with a static assignment (partition `p` goes to
//! consumer `p mod consumers`) until rebalancing lands with the faults work.
//!
//! The loop is the Java consumer's synchronous loop: fetch the committed offset of each
//! assigned partition (or start at 0: `auto.offset.reset = earliest`); then repeatedly
//! poll (one fetch per partition to its leader, returning when all have answered or the
//! request timeout passes), process the returned records one at a time (a processing time
//! each, then apply to the group's projection), and poll again, after `poll_idle_ms` if the
//! poll came back empty. Offsets are committed per [`CommitMode`]: at poll time every
//! `auto_commit_interval_ms` (auto), as soon as a poll returns (before), or once its records
//! are processed (after). A committed offset is the next offset to read.

use ordo_sim::NodeId;

use super::{tag, ModelCtx, Msg};
use crate::history::Rec;
use crate::scenario::CommitMode;

const OFFSET_RETRY: u64 = 1;
const POLL: u64 = 2;
const FETCH_TIMEOUT: u64 = 3;
const PROCESS: u64 = 4;
const COMMIT_TIMEOUT: u64 = 5;

/// The group generation (static membership: always the first).
const GENERATION: u32 = 1;

pub struct Consumer {
    index: u32,
    node: u32,
    partitions: Vec<u32>,
    /// Per assigned partition (same order as `partitions`).
    position: Vec<u64>,
    ready: Vec<bool>,
    commit_sent: Vec<Option<u64>>,
    commit_acked: Vec<Option<u64>>,
    poll: u32,
    polling: bool,
    fetch_timer: Option<ordo_sim::TimerId>,
    commit_timer: Option<ordo_sim::TimerId>,
    outstanding: u32,
    /// The current poll's records: (slot in `partitions`, offset, event).
    fetched: Vec<(u32, u64, u32)>,
    next_to_process: usize,
    last_auto_commit_ns: u64,
}

impl Consumer {
    pub fn new(index: u32, node: NodeId, partitions: Vec<u32>) -> Consumer {
        let count = partitions.len();
        Consumer {
            index,
            node: node.0,
            partitions,
            position: vec![0; count],
            ready: vec![false; count],
            commit_sent: vec![None; count],
            commit_acked: vec![None; count],
            poll: 0,
            polling: false,
            fetch_timer: None,
            commit_timer: None,
            outstanding: 0,
            fetched: Vec::new(),
            next_to_process: 0,
            last_auto_commit_ns: 0,
        }
    }

    pub fn index(&self) -> u32 {
        self.index
    }

    /// The process died: positions, fetched records and commit bookkeeping are gone. It
    /// restarts from the group's committed offsets, so what it had processed but not
    /// committed is delivered again, and what it committed but had not processed is skipped.
    pub fn on_crash(&mut self) {
        let partitions = std::mem::take(&mut self.partitions);
        *self = Consumer::new(self.index, ordo_sim::NodeId(self.node), partitions);
    }

    pub fn on_start(&mut self, ctx: &mut ModelCtx<'_>) {
        let t = ctx.now_ns();
        for &partition in &self.partitions {
            ctx.shared.record(Rec::Assign { t, node: self.node, generation: GENERATION, partition });
        }
        self.fetch_offsets(ctx);
    }

    fn fetch_offsets(&mut self, ctx: &mut ModelCtx<'_>) {
        let coordinator = ctx.shared.layout.coordinator();
        let mut asked = false;
        for (slot, &partition) in self.partitions.iter().enumerate() {
            if !self.ready[slot] {
                ctx.send(coordinator, Msg::OffsetFetch { partition });
                asked = true;
            }
        }
        if asked {
            ctx.reconnect(coordinator);
            let timeout_ns = ctx.shared.scenario.consumer.request_timeout_ms * 1_000_000;
            ctx.set_timer(timeout_ns, tag::make(OFFSET_RETRY, 0));
        }
    }

    fn slot(&self, partition: u32) -> Option<usize> {
        self.partitions.iter().position(|&p| p == partition)
    }

    pub fn on_message(&mut self, ctx: &mut ModelCtx<'_>, msg: Msg) {
        match msg {
            Msg::OffsetFetchOk { partition, offset } => {
                let Some(slot) = self.slot(partition) else {
                    return;
                };
                if self.ready[slot] {
                    return;
                }
                self.ready[slot] = true;
                self.position[slot] = offset.unwrap_or(0);
                self.commit_sent[slot] = offset;
                self.commit_acked[slot] = offset;
                let t = ctx.now_ns();
                let rec = Rec::Seek {
                    t,
                    node: self.node,
                    partition,
                    offset: self.position[slot],
                    committed: offset.is_some(),
                };
                ctx.shared.record(rec);
                if self.ready.iter().all(|&r| r) {
                    self.last_auto_commit_ns = ctx.now_ns();
                    self.start_poll(ctx);
                }
            }
            Msg::FetchOk { poll, partition, offset, events } => {
                if !self.polling || poll != self.poll {
                    return; // an answer to a poll that already returned
                }
                let Some(slot) = self.slot(partition) else {
                    return;
                };
                if offset == self.position[slot] {
                    let room = ctx.shared.scenario.consumer.max_poll_records as usize - self.fetched.len();
                    for (index, &event) in events.iter().take(room).enumerate() {
                        self.fetched.push((slot as u32, offset + index as u64, event));
                    }
                }
                self.outstanding -= 1;
                if self.outstanding == 0 {
                    self.poll_returned(ctx);
                }
            }
            Msg::OffsetCommitOk { partition, offset, generation, ok } => {
                if let Some(slot) = self.slot(partition) {
                    self.commit_acked[slot] = Some(offset);
                }
                if self.commit_sent == self.commit_acked {
                    if let Some(timer) = self.commit_timer.take() {
                        ctx.cancel_timer(timer);
                    }
                }
                let t = ctx.now_ns();
                ctx.shared.record(Rec::Commit { t, node: self.node, generation, partition, offset, ok });
            }
            _ => {}
        }
    }

    pub fn on_timer(&mut self, ctx: &mut ModelCtx<'_>, timer_tag: u64) {
        match tag::kind(timer_tag) {
            OFFSET_RETRY => self.fetch_offsets(ctx),
            POLL => self.start_poll(ctx),
            FETCH_TIMEOUT => {
                self.fetch_timer = None;
                if self.polling && tag::payload(timer_tag) == u64::from(self.poll) {
                    // Some fetch went unanswered: its connection is broken. Reconnect.
                    for &partition in &self.partitions {
                        let leader = ctx.shared.layout.leader(partition);
                        ctx.reconnect(leader);
                    }
                    self.poll_returned(ctx);
                }
            }
            PROCESS => self.process_next(ctx),
            COMMIT_TIMEOUT => {
                self.commit_timer = None;
                if self.commit_sent != self.commit_acked {
                    // An unanswered commit: reconnect to the coordinator and commit again.
                    ctx.reconnect(ctx.shared.layout.coordinator());
                    self.commit_sent.clone_from(&self.commit_acked);
                    self.commit_positions(ctx);
                }
            }
            _ => unreachable!("unknown consumer timer {timer_tag:#x}"),
        }
    }

    fn start_poll(&mut self, ctx: &mut ModelCtx<'_>) {
        let config = &ctx.shared.scenario.consumer;
        let (mode, interval_ns, max, timeout_ns) = (
            config.commit,
            config.auto_commit_interval_ms * 1_000_000,
            config.max_poll_records,
            config.request_timeout_ms * 1_000_000,
        );
        if mode == CommitMode::Auto && ctx.now_ns() - self.last_auto_commit_ns >= interval_ns {
            self.last_auto_commit_ns = ctx.now_ns();
            self.commit_positions(ctx);
        }
        self.poll += 1;
        self.polling = true;
        self.fetched.clear();
        self.outstanding = self.partitions.len() as u32;
        for slot in 0..self.partitions.len() {
            let partition = self.partitions[slot];
            let leader = ctx.shared.layout.leader(partition);
            ctx.send(leader, Msg::Fetch { poll: self.poll, partition, offset: self.position[slot], max });
        }
        self.fetch_timer = Some(ctx.set_timer(timeout_ns, tag::make(FETCH_TIMEOUT, u64::from(self.poll))));
    }

    fn poll_returned(&mut self, ctx: &mut ModelCtx<'_>) {
        self.polling = false;
        if let Some(timer) = self.fetch_timer.take() {
            ctx.cancel_timer(timer);
        }
        let (t, clock) = (ctx.now_ns(), ctx.local_ns());
        for &(slot, offset, event) in &self.fetched {
            let partition = self.partitions[slot as usize];
            self.position[slot as usize] = offset + 1;
            let world = &mut *ctx.shared;
            world.stats.deliveries += 1;
            let delivered = &mut world.delivered[event as usize];
            if *delivered > 0 {
                world.stats.duplicate_deliveries += 1;
            }
            *delivered = delivered.saturating_add(1);
            world.record(Rec::Deliver { t, node: self.node, clock, generation: GENERATION, partition, offset, event });
        }
        if ctx.shared.scenario.consumer.commit == CommitMode::Before {
            self.commit_positions(ctx);
        }
        if self.fetched.is_empty() {
            let idle_ns = ctx.shared.scenario.consumer.poll_idle_ms * 1_000_000;
            ctx.set_timer(idle_ns, tag::make(POLL, 0));
        } else {
            self.next_to_process = 0;
            self.schedule_processing(ctx);
        }
    }

    fn schedule_processing(&mut self, ctx: &mut ModelCtx<'_>) {
        let config = &ctx.shared.scenario.consumer;
        let (low, high) = (config.processing_min_us * 1_000, config.processing_max_us * 1_000);
        let processing_ns = ctx.rng().between(low, high);
        ctx.set_timer(processing_ns, tag::make(PROCESS, 0));
    }

    /// The record's processing time is over: apply it to the group's projection.
    fn process_next(&mut self, ctx: &mut ModelCtx<'_>) {
        let (slot, offset, event) = self.fetched[self.next_to_process];
        self.next_to_process += 1;
        let partition = self.partitions[slot as usize];
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
        let processed = &mut world.processed[partition as usize];
        *processed = (*processed).max(offset + 1);
        if self.next_to_process < self.fetched.len() {
            self.schedule_processing(ctx);
            return;
        }
        if ctx.shared.scenario.consumer.commit == CommitMode::After {
            self.commit_positions(ctx);
        }
        if ctx.shared.finished() {
            ctx.stop();
            return;
        }
        self.start_poll(ctx);
    }

    fn commit_positions(&mut self, ctx: &mut ModelCtx<'_>) {
        let coordinator = ctx.shared.layout.coordinator();
        let mut sent = false;
        for slot in 0..self.partitions.len() {
            let offset = self.position[slot];
            if self.ready[slot] && self.commit_sent[slot] != Some(offset) {
                self.commit_sent[slot] = Some(offset);
                let partition = self.partitions[slot];
                ctx.send(coordinator, Msg::OffsetCommit { partition, offset, generation: GENERATION });
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
