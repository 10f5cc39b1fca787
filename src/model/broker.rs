//! A broker: leader of some partitions (append-only logs with offsets), and for `b0` the
//! group coordinator (committed offsets, producer ids).
//!
//! Idempotence, as Kafka's `ProducerStateEntry`/`ProducerAppendInfo` do it: per partition
//! and producer id the leader keeps the last sequence it appended and the last five
//! batches (first sequence, count, base offset). A batch that exactly repeats one of those
//! five is answered with its original offsets and not appended again; a batch whose first
//! sequence is the last + 1 (or 0 for a new producer) is appended; anything else is
//! rejected with `OutOfOrderSequence`. Producers without a PID are appended blindly.
//!
//! Replication (followers, ISR, high watermark) comes with the faults work: for now each
//! partition has one replica and the high watermark is the log end.

use std::collections::{BTreeMap, VecDeque};

use ordo_sim::NodeId;

use super::group::{Coordinator, Reply};
use super::{ModelCtx, Msg};
use crate::history::{FailReason, Rec, NONE_U32, NONE_U64};
use crate::scenario::{Acks, Assignment};

/// The coordinator's periodic check (session expiry, overdue rebalances).
const GROUP_TICK: u64 = 1;

/// How many recent batches per producer the leader remembers for deduplication.
pub const DEDUP_WINDOW: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LogRecord {
    event: u32,
    batch: u32,
}

#[derive(Default)]
struct ProducerEntry {
    last_seq: Option<u32>,
    /// (first sequence, record count, base offset), oldest first.
    recent: VecDeque<(u32, u32, u64)>,
}

#[derive(Default)]
struct PartitionLog {
    records: Vec<LogRecord>,
    producers: BTreeMap<u64, ProducerEntry>,
}

enum Verdict {
    Append,
    Duplicate(u64),
    OutOfOrder,
}

pub struct Broker {
    index: u32,
    node: u32,
    /// Indexed by partition; `None` where this broker is not the leader.
    logs: Vec<Option<PartitionLog>>,
    /// Coordinator state (only `b0` uses it): the group's committed offset per partition.
    committed: Vec<Option<u64>>,
    next_pid: u64,
    /// The group coordinator, on `b0` when the group is not statically assigned.
    group: Option<Coordinator>,
}

impl Broker {
    pub fn new(index: u32, node: NodeId, partitions: u32, brokers: u32) -> Broker {
        Broker {
            index,
            node: node.0,
            logs: (0..partitions).map(|p| (p % brokers == index).then(PartitionLog::default)).collect(),
            committed: vec![None; partitions as usize],
            next_pid: 1000,
            group: None,
        }
    }

    /// `b0` hosts the group coordinator unless the assignment is static.
    pub fn on_start(&mut self, ctx: &mut ModelCtx<'_>) {
        let config = &ctx.shared.scenario.consumer;
        if self.index == 0 && config.assignment != Assignment::Static {
            // Membership is rebuilt after a coordinator restart (committed offsets are durable).
            self.group = Some(Coordinator::new(
                config.assignment,
                ctx.shared.layout.partitions,
                config.session_timeout_ms * 1_000_000,
                config.max_poll_interval_ms * 1_000_000,
            ));
            self.arm_tick(ctx);
        }
    }

    fn arm_tick(&mut self, ctx: &mut ModelCtx<'_>) {
        let config = &ctx.shared.scenario.consumer;
        let every_ms = config.heartbeat_interval_ms.min(config.session_timeout_ms / 3).max(1);
        ctx.set_timer(every_ms * 1_000_000, GROUP_TICK);
    }

    pub fn on_timer(&mut self, ctx: &mut ModelCtx<'_>, _tag: u64) {
        let mut replies = Vec::new();
        if let Some(group) = &mut self.group {
            group.tick(ctx.now_ns(), &mut replies);
        }
        self.send_replies(ctx, replies);
        self.arm_tick(ctx);
    }

    fn send_replies(&mut self, ctx: &mut ModelCtx<'_>, replies: Vec<Reply>) {
        for Reply::Assignment { to, member, generation, partitions } in replies {
            ctx.send(to, Msg::JoinGroupOk { member, generation, partitions });
        }
    }

    /// Events in the log of `partition`, in offset order (empty if not the leader).
    pub fn log(&self, partition: u32) -> Vec<u32> {
        self.logs[partition as usize]
            .as_ref()
            .map(|log| log.records.iter().map(|r| r.event).collect())
            .unwrap_or_default()
    }

    pub fn index(&self) -> u32 {
        self.index
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
                let Some(log) = &self.logs[partition as usize] else {
                    return;
                };
                let end = log.records.len() as u64;
                let start = offset.min(end);
                let stop = end.min(start + u64::from(max));
                let events = log.records[start as usize..stop as usize].iter().map(|r| r.event).collect();
                ctx.send(from, Msg::FetchOk { poll, partition, offset: start, events });
            }
            Msg::OffsetFetch { partition } => {
                let offset = self.committed[partition as usize];
                ctx.send(from, Msg::OffsetFetchOk { partition, offset });
            }
            Msg::OffsetCommit { partition, offset, generation, member } => {
                let now = ctx.now_ns();
                let verdict = match &mut self.group {
                    Some(group) => group.may_commit(now, member, generation),
                    None => Ok(()),
                };
                // The commit is recorded here, when the coordinator decides, in the member's name.
                let (t, node) = (now, from.0);
                if let Err(error) = verdict {
                    ctx.shared.stats.rejected_commits += 1;
                    let reason = error.as_str();
                    ctx.shared.record(Rec::Commit { t, node, generation, partition, offset, ok: false, reason });
                    ctx.send(from, Msg::OffsetCommitOk { partition, offset, generation, error: Some(error) });
                    return;
                }
                ctx.shared.record(Rec::Commit { t, node, generation, partition, offset, ok: true, reason: "" });
                // Kafka accepts any offset from the current generation, lower ones too.
                self.committed[partition as usize] = Some(offset);
                let world = &mut *ctx.shared;
                world.committed[partition as usize] = offset;
                world.stats.commits += 1;
                ctx.send(from, Msg::OffsetCommitOk { partition, offset, generation, error: None });
                if ctx.shared.finished() {
                    ctx.stop();
                }
            }
            Msg::JoinGroup { member } => {
                let mut replies = Vec::new();
                if let Some(group) = &mut self.group {
                    group.join(ctx.now_ns(), member, from, &mut replies);
                }
                self.send_replies(ctx, replies);
            }
            Msg::Heartbeat { member, generation } => {
                if let Some(group) = &mut self.group {
                    let error = group.heartbeat(ctx.now_ns(), member, generation).err();
                    ctx.send(from, Msg::HeartbeatAnswer { member, error });
                }
            }
            Msg::LeaveGroup { member } => {
                let mut replies = Vec::new();
                if let Some(group) = &mut self.group {
                    group.leave(ctx.now_ns(), member, &mut replies);
                }
                self.send_replies(ctx, replies);
            }
            _ => {}
        }
    }

    fn produce(&mut self, ctx: &mut ModelCtx<'_>, from: NodeId, batch: u32, attempt: u16) {
        let t = ctx.now_ns();
        let world = &mut *ctx.shared;
        let info = world.catalog.batches[batch as usize];
        let partition = info.partition;
        let Some(log) = self.logs[partition as usize].as_mut() else {
            world.record(Rec::Reject { t, node: self.node, batch, attempt, reason: FailReason::NotLeader });
            ctx.send(from, Msg::ProduceError { batch, attempt, reason: FailReason::NotLeader });
            return;
        };
        let verdict = if info.pid == NONE_U64 {
            Verdict::Append
        } else {
            let entry = log.producers.entry(info.pid).or_default();
            let duplicate =
                entry.recent.iter().find(|(first, count, _)| *first == info.seq && *count == info.events_len);
            match (duplicate, entry.last_seq) {
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
                Msg::ProduceOk { batch, attempt, base_offset }
            }
            Verdict::OutOfOrder => {
                world.stats.rejects += 1;
                let reason = FailReason::OutOfOrderSequence;
                world.record(Rec::Reject { t, node: self.node, batch, attempt, reason });
                Msg::ProduceError { batch, attempt, reason }
            }
            Verdict::Append => {
                let base_offset = log.records.len() as u64;
                for index in 0..info.events_len {
                    let event = world.catalog.batch_events[(info.events_start + index) as usize];
                    let offset = base_offset + u64::from(index);
                    log.records.push(LogRecord { event, batch });
                    let appended = &mut world.appended[event as usize];
                    *appended = appended.saturating_add(1);
                    let seq = if info.pid == NONE_U64 { NONE_U32 } else { info.seq + index };
                    world.record(Rec::Append { t, node: self.node, partition, offset, event, batch, attempt, seq });
                    let step = world.catalog.events[event as usize].step;
                    let entity = &mut world.entities[world.catalog.events[event as usize].entity as usize];
                    if entity.max_step_appended != NONE_U32 && step < entity.max_step_appended {
                        world.stats.out_of_order_appends += 1;
                    } else {
                        entity.max_step_appended = step;
                    }
                }
                world.stats.appended += u64::from(info.events_len);
                world.log_end[partition as usize] = log.records.len() as u64;
                if info.pid != NONE_U64 {
                    let entry = log.producers.entry(info.pid).or_default();
                    entry.last_seq = Some(info.seq + info.events_len - 1);
                    entry.recent.push_back((info.seq, info.events_len, base_offset));
                    if entry.recent.len() > DEDUP_WINDOW {
                        entry.recent.pop_front();
                    }
                }
                Msg::ProduceOk { batch, attempt, base_offset }
            }
        };
        if world.scenario.producer.acks != Acks::None {
            ctx.send(from, reply);
        }
    }
}
