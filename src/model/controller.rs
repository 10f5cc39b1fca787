//! The controller (node `ctl`, as a KRaft controller quorum that does not fail): broker
//! liveness, partition leadership, and metadata for clients.
//!
//! Brokers heartbeat every `broker.heartbeat_interval_ms`; one silent for
//! `broker.session_timeout_ms` is fenced, and every partition it led gets a new leader:
//! the first live member of the in-sync replica set (ISR), or, when none is left and
//! `unclean_leader_election` is on, the first live replica whatever its log (acknowledged
//! writes it lacks are lost, and the others truncate to it). Each election bumps the
//! partition's leader epoch. With no eligible replica the partition goes offline until one
//! returns. A broker that restarts re-registers (a new incarnation in its heartbeat): the
//! controller re-elects leaders of what it led and tells it the current state of all its
//! partitions. Leaders change the ISR only through the controller (`AlterPartition`,
//! KIP-497), so an election never picks a replica the leader had already dropped. Each
//! broker heartbeat carries a fingerprint of the partition state the broker applied; when
//! it differs from what the controller sent (a `LeaderAndIsr` lost with a broken
//! connection), the controller reconnects and sends that broker's partitions again, as a
//! KRaft broker catches up on the metadata log it reports its offset in.

use ordo_sim::NodeId;

use super::{ModelCtx, Msg};
use crate::history::Rec;

const TICK: u64 = 1;

#[derive(Clone, Debug)]
struct PartitionState {
    replicas: Vec<u32>,
    leader: Option<u32>,
    epoch: u32,
    isr: Vec<u32>,
}

#[derive(Clone, Copy, Debug)]
struct BrokerState {
    last_heartbeat_ns: u64,
    fenced: bool,
    incarnation: u32,
}

pub struct Controller {
    /// The topic's partitions, then (when the run has a consumer group) the group's
    /// `__consumer_offsets` partition, whose leader is the group coordinator.
    partitions: Vec<PartitionState>,
    /// How many of `partitions` are the topic's.
    topic_partitions: u32,
    brokers: Vec<BrokerState>,
}

impl Controller {
    pub fn new(layout: &super::Layout, offsets_partition: bool) -> Controller {
        let mut partitions: Vec<PartitionState> = (0..layout.partitions)
            .map(|p| {
                let replicas = layout.replicas(p);
                PartitionState { leader: Some(replicas[0]), epoch: 0, isr: replicas.clone(), replicas }
            })
            .collect();
        if offsets_partition {
            let replicas = layout.offsets_replicas();
            partitions.push(PartitionState { leader: Some(replicas[0]), epoch: 0, isr: replicas.clone(), replicas });
        }
        // Every broker registers with incarnation 1 at its first start.
        let brokers =
            vec![BrokerState { last_heartbeat_ns: 0, fenced: false, incarnation: 1 }; layout.brokers as usize];
        Controller { partitions, topic_partitions: layout.partitions, brokers }
    }

    pub fn on_start(&mut self, ctx: &mut ModelCtx<'_>) {
        self.arm(ctx);
    }

    fn arm(&mut self, ctx: &mut ModelCtx<'_>) {
        let every_ms = (ctx.shared.scenario.broker.heartbeat_interval_ms / 2).max(1);
        ctx.set_timer(every_ms * 1_000_000, TICK);
    }

    /// The broker index of each partition's leader (`u32::MAX`: offline).
    fn leaders(&self) -> Vec<u32> {
        let topic = &self.partitions[..self.topic_partitions as usize];
        topic.iter().map(|p| p.leader.unwrap_or(u32::MAX)).collect()
    }

    pub fn on_message(&mut self, ctx: &mut ModelCtx<'_>, from: NodeId, msg: Msg) {
        match msg {
            Msg::BrokerHeartbeat { broker, incarnation, state: applied } => {
                let now = ctx.now_ns();
                let state = &mut self.brokers[broker as usize];
                state.last_heartbeat_ns = now;
                let restarted = incarnation != state.incarnation;
                state.incarnation = incarnation;
                if state.fenced || restarted {
                    state.fenced = false;
                    self.registered(ctx, broker, restarted);
                } else if applied != self.expected_fingerprint(broker) {
                    // A LeaderAndIsr (or an AlterPartition answer) to this broker was lost,
                    // or is still on its way: send the current state again on a fresh
                    // connection (applying it twice changes nothing).
                    ctx.reconnect(from);
                    for partition in 0..self.partitions.len() as u32 {
                        if self.partitions[partition as usize].replicas.contains(&broker) {
                            self.tell(ctx, partition, broker);
                        }
                    }
                }
            }
            Msg::AlterPartition { partition, epoch, isr } => {
                let state = &mut self.partitions[partition as usize];
                let sender = from.0 - ctx.shared.layout.broker(0).0;
                let ok = state.epoch == epoch && state.leader == Some(sender);
                if ok {
                    state.isr = isr.clone();
                }
                ctx.send(from, Msg::AlterPartitionAnswer { partition, epoch, isr, ok });
            }
            Msg::MetadataRequest => {
                ctx.send(from, Msg::Metadata { leaders: self.leaders() });
            }
            Msg::FindCoordinator => {
                let offsets = self.partitions.get(self.topic_partitions as usize);
                let broker = offsets.and_then(|p| p.leader).unwrap_or(u32::MAX);
                ctx.send(from, Msg::FindCoordinatorOk { broker });
            }
            _ => {}
        }
    }

    pub fn on_timer(&mut self, ctx: &mut ModelCtx<'_>) {
        let now = ctx.now_ns();
        let session_ns = ctx.shared.scenario.broker.session_timeout_ms * 1_000_000;
        for broker in 0..self.brokers.len() as u32 {
            let state = &mut self.brokers[broker as usize];
            if !state.fenced && now.saturating_sub(state.last_heartbeat_ns) > session_ns {
                state.fenced = true;
                self.fenced(ctx, broker);
            }
        }
        self.arm(ctx);
    }

    /// The fingerprint `broker` should report if it applied everything sent to it.
    fn expected_fingerprint(&self, broker: u32) -> u64 {
        state_fingerprint(self.partitions.iter().enumerate().filter(|(_, s)| s.replicas.contains(&broker)).map(
            |(p, s)| {
                let leader = s.leader.unwrap_or(u32::MAX);
                (p as u32, s.epoch, leader, (leader == broker).then_some(s.isr.as_slice()))
            },
        ))
    }

    fn alive(&self, broker: u32) -> bool {
        !self.brokers[broker as usize].fenced
    }

    /// A fenced broker: its partitions need new leaders and it leaves their ISRs.
    fn fenced(&mut self, ctx: &mut ModelCtx<'_>, broker: u32) {
        for partition in 0..self.partitions.len() as u32 {
            let state = &self.partitions[partition as usize];
            if !state.replicas.contains(&broker) {
                continue;
            }
            if state.leader == Some(broker) {
                self.elect(ctx, partition, Some(broker));
            } else if state.isr.contains(&broker) && state.isr.len() > 1 {
                let state = &mut self.partitions[partition as usize];
                state.isr.retain(|&b| b != broker);
                self.announce(ctx, partition);
            }
        }
    }

    /// A broker (re)joined: restore leadership where it can help, and tell it the state of
    /// every partition it holds.
    fn registered(&mut self, ctx: &mut ModelCtx<'_>, broker: u32, restarted: bool) {
        for partition in 0..self.partitions.len() as u32 {
            let state = &self.partitions[partition as usize];
            if !state.replicas.contains(&broker) {
                continue;
            }
            if state.leader.is_none() || (restarted && state.leader == Some(broker)) {
                // Offline, or led by this broker before it restarted: elect again (a new epoch).
                self.elect(ctx, partition, None);
            } else {
                self.tell(ctx, partition, broker);
            }
        }
    }

    /// Elects a leader for `partition`, not `excluded`.
    fn elect(&mut self, ctx: &mut ModelCtx<'_>, partition: u32, excluded: Option<u32>) {
        let unclean_allowed = ctx.shared.scenario.broker.unclean_leader_election;
        let state = &self.partitions[partition as usize];
        let eligible = |b: &u32| Some(*b) != excluded && self.alive(*b);
        let clean = state.isr.iter().copied().find(eligible);
        let unclean = if unclean_allowed { state.replicas.iter().copied().find(eligible) } else { None };
        let state = &mut self.partitions[partition as usize];
        match (clean, unclean) {
            (Some(leader), _) => {
                state.leader = Some(leader);
                if let Some(gone) = excluded {
                    if state.isr.len() > 1 {
                        state.isr.retain(|&b| b != gone);
                    }
                }
            }
            (None, Some(leader)) => {
                // Unclean: a replica outside the ISR leads; its log becomes the truth.
                state.leader = Some(leader);
                state.isr = vec![leader];
                if partition < self.topic_partitions {
                    ctx.shared.stats.unclean_elections += 1;
                }
            }
            (None, None) => {
                state.leader = None; // offline until an ISR member (or, unclean, any replica) returns
            }
        }
        state.epoch += 1;
        if state.leader.is_some() {
            if partition < self.topic_partitions {
                ctx.shared.stats.elections += 1;
            } else {
                ctx.shared.stats.coordinator_elections += 1;
            }
        }
        self.announce(ctx, partition);
    }

    /// Sends the partition's state to all its live replicas.
    fn announce(&mut self, ctx: &mut ModelCtx<'_>, partition: u32) {
        let replicas = self.partitions[partition as usize].replicas.clone();
        for broker in replicas {
            if self.alive(broker) {
                self.tell(ctx, partition, broker);
            }
        }
    }

    fn tell(&mut self, ctx: &mut ModelCtx<'_>, partition: u32, broker: u32) {
        let state = &self.partitions[partition as usize];
        let to = ctx.shared.layout.broker(broker);
        let msg = Msg::LeaderAndIsr {
            partition,
            leader: state.leader.unwrap_or(u32::MAX),
            epoch: state.epoch,
            isr: state.isr.clone(),
        };
        ctx.send(to, msg);
    }
}

/// FNV-1a over (partition, leader epoch, leader, and — where the broker leads — the ISR) of
/// every partition a broker holds: what a broker reports in its heartbeat and what the
/// controller expects (a follower's copy of the ISR is not used, so it is left out).
pub fn state_fingerprint<'a>(partitions: impl Iterator<Item = (u32, u32, u32, Option<&'a [u32]>)>) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut mix = |value: u32| {
        for byte in value.to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for (partition, epoch, leader, isr) in partitions {
        mix(partition);
        mix(epoch);
        mix(leader);
        if let Some(isr) = isr {
            mix(isr.len() as u32);
            isr.iter().for_each(|&b| mix(b));
        }
    }
    hash
}

/// Records a leadership change as its new leader takes over (called by the broker).
pub fn record_leader(ctx: &mut ModelCtx<'_>, node: u32, partition: u32, epoch: u32) {
    let t = ctx.now_ns();
    ctx.shared.record(Rec::Leader { t, node, partition, epoch });
}
