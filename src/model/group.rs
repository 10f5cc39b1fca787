//! The consumer-group coordinator (hosted by the leader of the group's `__consumer_offsets`
//! partition, see `broker.rs`), Kafka's classic protocol in one round trip per member. Its
//! generation, members and assignment are written to that partition when a rebalance
//! completes ([`Snapshot`]) and loaded by the next coordinator.
//!
//! Members join with a member id (a consumer restarted after a crash joins with a new one,
//! as dynamic membership does). A join from an unknown member, a leave, or a member whose
//! heartbeats stop for `session_timeout_ms` starts a rebalance: the coordinator waits until
//! every known member has joined again (they learn of the rebalance from their next
//! heartbeat and rejoin at their next poll) or until the rebalance timeout
//! (`max_poll_interval_ms`) passes, drops the members that did not make it, bumps the
//! generation and answers every join with the member's partitions. (Kafka's leader member
//! computes the assignment and a SyncGroup round carries it; here the coordinator computes
//! it and the join answer carries it: the same generations and the same waits.)
//!
//! Offset commits are accepted only from a current member in the current generation
//! (CommitFailedException otherwise): a zombie's commits fail.
//!
//! Assignors: `eager` gives member *i* of *n* (by member id) the *i*-th contiguous range of
//! partitions (Range). `cooperative` keeps every partition with its current owner up to a
//! balanced quota; a partition that must move is withheld in the first generation (its old
//! owner revokes it) and assigned in a second rebalance that follows at once (KIP-429).

use std::collections::BTreeMap;

use ordo_sim::NodeId;

use crate::scenario::Assignment;

/// Why the coordinator refused a heartbeat or a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupError {
    /// The member is not (or no longer) in the group: it must rejoin.
    UnknownMember,
    /// The member's generation is not the current one.
    IllegalGeneration,
    /// A rebalance is in progress: rejoin at the next poll.
    RebalanceInProgress,
    /// This broker is not (or no longer) the group's coordinator: find the new one
    /// (FindCoordinator) and send again. Retriable: `commitSync()` retries it.
    NotCoordinator,
}

impl GroupError {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupError::UnknownMember => "unknown_member",
            GroupError::IllegalGeneration => "stale_generation",
            GroupError::RebalanceInProgress => "rebalance_in_progress",
            GroupError::NotCoordinator => "not_coordinator",
        }
    }
}

struct Member {
    node: NodeId,
    last_seen_ns: u64,
    /// Joined in the rebalance under way.
    joined: bool,
}

/// The group's metadata as the coordinator writes it to `__consumer_offsets` when a
/// rebalance completes: generation, members and their partitions. A coordinator that takes
/// over (the partition's new leader, or a restarted one) loads it, so the members keep
/// their generation and sessions (restarted from the load) and need not rejoin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub generation: u32,
    pub members: Vec<(u32, NodeId)>,
    pub owners: Vec<Option<u32>>,
}

/// What the coordinator wants sent (or recorded) after handling a request or a tick.
pub enum Reply {
    /// A join answer: the member's generation and partitions.
    Assignment { to: NodeId, member: u32, generation: u32, partitions: Vec<u32> },
    /// A rebalance started (history only): why, and the member whose join, leave or
    /// expiry started it (none for a cooperative second round).
    Started { reason: &'static str, node: Option<NodeId>, generation: u32 },
    /// A rebalance completed (history only): the new generation, and every member's node
    /// and partitions, by member id.
    Completed { generation: u32, members: Vec<(NodeId, Vec<u32>)> },
}

pub struct Coordinator {
    assignor: Assignment,
    partitions: u32,
    session_timeout_ns: u64,
    rebalance_timeout_ns: u64,
    generation: u32,
    members: BTreeMap<u32, Member>,
    /// Deadline of the rebalance under way, if one is.
    rebalance_deadline_ns: Option<u64>,
    /// Per partition: the member it is assigned to in the current generation.
    owners: Vec<Option<u32>>,
    /// The last generation withheld partitions that move (cooperative): a second round follows.
    second_round: bool,
}

impl Coordinator {
    pub fn new(
        assignor: Assignment,
        partitions: u32,
        session_timeout_ns: u64,
        rebalance_timeout_ns: u64,
    ) -> Coordinator {
        Coordinator {
            assignor,
            partitions,
            session_timeout_ns,
            rebalance_timeout_ns,
            generation: 0,
            members: BTreeMap::new(),
            rebalance_deadline_ns: None,
            owners: vec![None; partitions as usize],
            second_round: false,
        }
    }

    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// The group's metadata as of its last completed rebalance.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            generation: self.generation,
            members: self.members.iter().map(|(&id, m)| (id, m.node)).collect(),
            owners: self.owners.clone(),
        }
    }

    /// A coordinator taking over loads the group from `__consumer_offsets`: generation,
    /// members (their sessions start now) and assignment.
    pub fn restore(&mut self, now_ns: u64, snapshot: &Snapshot) {
        self.generation = snapshot.generation;
        self.members = snapshot
            .members
            .iter()
            .map(|&(id, node)| (id, Member { node, last_seen_ns: now_ns, joined: false }))
            .collect();
        if snapshot.owners.len() == self.owners.len() {
            self.owners.clone_from(&snapshot.owners);
        }
    }

    fn start_rebalance(&mut self, now_ns: u64, reason: &'static str, node: Option<NodeId>, out: &mut Vec<Reply>) {
        if self.rebalance_deadline_ns.is_none() {
            out.push(Reply::Started { reason, node, generation: self.generation });
            self.rebalance_deadline_ns = Some(now_ns + self.rebalance_timeout_ns);
            for member in self.members.values_mut() {
                member.joined = false;
            }
        }
    }

    /// A member asks to join (or rejoin).
    pub fn join(&mut self, now_ns: u64, member: u32, node: NodeId, out: &mut Vec<Reply>) {
        let known = self.members.contains_key(&member);
        let entry = self.members.entry(member).or_insert(Member { node, last_seen_ns: now_ns, joined: false });
        entry.last_seen_ns = now_ns;
        if known && self.rebalance_deadline_ns.is_none() {
            // A known member rejoining a stable group gets its current assignment back.
            let partitions = self.partitions_of(member);
            out.push(Reply::Assignment { to: node, member, generation: self.generation, partitions });
            return;
        }
        self.start_rebalance(now_ns, "join", Some(node), out);
        if let Some(entry) = self.members.get_mut(&member) {
            entry.joined = true;
        }
        if self.members.values().all(|m| m.joined) {
            self.complete(now_ns, out);
        }
    }

    pub fn leave(&mut self, now_ns: u64, member: u32, out: &mut Vec<Reply>) {
        if let Some(gone) = self.members.remove(&member) {
            self.release(member);
            self.start_rebalance(now_ns, "leave", Some(gone.node), out);
            self.maybe_complete(now_ns, out);
        }
    }

    pub fn heartbeat(&mut self, now_ns: u64, member: u32, generation: u32) -> Result<(), GroupError> {
        let Some(entry) = self.members.get_mut(&member) else {
            return Err(GroupError::UnknownMember);
        };
        entry.last_seen_ns = now_ns;
        if self.rebalance_deadline_ns.is_some() {
            return Err(GroupError::RebalanceInProgress);
        }
        if generation != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        Ok(())
    }

    /// Whether an offset commit from `member` in `generation` is accepted.
    pub fn may_commit(&mut self, now_ns: u64, member: u32, generation: u32) -> Result<(), GroupError> {
        let Some(entry) = self.members.get_mut(&member) else {
            return Err(GroupError::UnknownMember);
        };
        entry.last_seen_ns = now_ns;
        if generation != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        Ok(())
    }

    /// Expires silent members and ends overdue rebalances. Returns the removed members.
    pub fn tick(&mut self, now_ns: u64, out: &mut Vec<Reply>) -> Vec<u32> {
        // A member whose join is parked here, waiting for the rebalance to end, sends no
        // heartbeats and is not expired (its session is held by the pending request).
        let rebalancing = self.rebalance_deadline_ns.is_some();
        let expired: Vec<u32> = self
            .members
            .iter()
            .filter(|(_, m)| !(rebalancing && m.joined))
            .filter(|(_, m)| now_ns.saturating_sub(m.last_seen_ns) > self.session_timeout_ns)
            .map(|(&id, _)| id)
            .collect();
        let mut first_expired = None;
        for &member in &expired {
            if let Some(gone) = self.members.remove(&member) {
                first_expired = first_expired.or(Some(gone.node));
            }
            self.release(member);
        }
        if !expired.is_empty() {
            self.start_rebalance(now_ns, "expiry", first_expired, out);
        }
        if let Some(deadline) = self.rebalance_deadline_ns {
            if now_ns >= deadline {
                // Members that did not rejoin in time are out.
                let late: Vec<u32> = self.members.iter().filter(|(_, m)| !m.joined).map(|(&id, _)| id).collect();
                for member in late {
                    self.members.remove(&member);
                    self.release(member);
                }
            }
        }
        self.maybe_complete(now_ns, out);
        expired
    }

    fn maybe_complete(&mut self, now_ns: u64, out: &mut Vec<Reply>) {
        if self.rebalance_deadline_ns.is_some() && self.members.values().all(|m| m.joined) {
            self.complete(now_ns, out);
        }
    }

    fn release(&mut self, member: u32) {
        for owner in &mut self.owners {
            if *owner == Some(member) {
                *owner = None;
            }
        }
    }

    fn partitions_of(&self, member: u32) -> Vec<u32> {
        (0..self.partitions).filter(|&p| self.owners[p as usize] == Some(member)).collect()
    }

    /// Ends the rebalance: new generation, new assignment, one answer per member.
    fn complete(&mut self, now_ns: u64, out: &mut Vec<Reply>) {
        self.rebalance_deadline_ns = None;
        self.generation += 1;
        let members: Vec<u32> = self.members.keys().copied().collect();
        self.second_round = false;
        if members.is_empty() {
            self.owners.iter_mut().for_each(|o| *o = None);
            out.push(Reply::Completed { generation: self.generation, members: Vec::new() });
            return;
        }
        match self.assignor {
            Assignment::Eager | Assignment::Static => self.assign_ranges(&members),
            Assignment::Cooperative => self.assign_sticky(&members),
        }
        let completed = members.iter().map(|&m| (self.members[&m].node, self.partitions_of(m))).collect();
        out.push(Reply::Completed { generation: self.generation, members: completed });
        for &member in &members {
            let node = self.members[&member].node;
            out.push(Reply::Assignment {
                to: node,
                member,
                generation: self.generation,
                partitions: self.partitions_of(member),
            });
        }
        if self.second_round {
            // KIP-429: the partitions withheld from their old owners go to their new owners
            // in a rebalance that starts right away.
            self.start_rebalance(now_ns, "second_round", None, out);
        }
    }

    fn assign_ranges(&mut self, members: &[u32]) {
        let (n, p) = (members.len() as u64, u64::from(self.partitions));
        for partition in 0..p {
            let index = (partition * n / p.max(1)) as usize;
            self.owners[partition as usize] = Some(members[index.min(members.len() - 1)]);
        }
    }

    fn assign_sticky(&mut self, members: &[u32]) {
        let n = members.len() as u32;
        let (base, extra) = (self.partitions / n, self.partitions % n);
        // Quota: the first `extra` members (by id) may hold one more.
        let quota = |rank: usize| base + u32::from((rank as u32) < extra);
        let mut held: BTreeMap<u32, u32> = members.iter().map(|&m| (m, 0)).collect();
        let rank_of = |member: u32| members.iter().position(|&m| m == member).unwrap_or(0);
        let mut target: Vec<Option<u32>> = vec![None; self.partitions as usize];
        for (slot, owner) in target.iter_mut().zip(&self.owners) {
            if let Some(owner) = *owner {
                if let Some(count) = held.get_mut(&owner) {
                    if *count < quota(rank_of(owner)) {
                        *count += 1;
                        *slot = Some(owner);
                    }
                }
            }
        }
        for slot in target.iter_mut().filter(|slot| slot.is_none()) {
            let taker = members.iter().copied().find(|&m| held[&m] < quota(rank_of(m)));
            if let Some(member) = taker {
                *held.get_mut(&member).expect("a member") += 1;
                *slot = Some(member);
            }
        }
        // A partition whose old owner is still a member but loses it is withheld this round.
        for (owner, target) in self.owners.iter_mut().zip(target) {
            let moving = matches!(*owner, Some(o) if self.members.contains_key(&o) && Some(o) != target);
            *owner = if moving { None } else { target };
            self.second_round |= moving;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(out: &[Reply]) -> Vec<(u32, u32, Vec<u32>)> {
        out.iter()
            .filter_map(|reply| match reply {
                Reply::Assignment { member, generation, partitions, .. } => {
                    Some((*member, *generation, partitions.clone()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn eager_join_leave_and_expiry() {
        let mut c = Coordinator::new(Assignment::Eager, 4, 100, 1000);
        let mut out = Vec::new();
        c.join(0, 1, NodeId(5), &mut out);
        assert_eq!(answers(&out), [(1, 1, vec![0, 1, 2, 3])]);
        out.clear();
        // A second member: a rebalance that waits for member 1 to rejoin.
        c.join(10, 2, NodeId(6), &mut out);
        assert!(answers(&out).is_empty());
        // The history hears why it started, and from whom.
        assert!(matches!(out[..], [Reply::Started { reason: "join", node: Some(NodeId(6)), generation: 1 }]));
        assert_eq!(c.heartbeat(20, 1, 1), Err(GroupError::RebalanceInProgress));
        c.join(30, 1, NodeId(5), &mut out);
        assert_eq!(answers(&out), [(1, 2, vec![0, 1]), (2, 2, vec![2, 3])]);
        let completed = out.iter().find_map(|r| match r {
            Reply::Completed { generation, members } => Some((*generation, members.clone())),
            _ => None,
        });
        assert_eq!(completed, Some((2, vec![(NodeId(5), vec![0, 1]), (NodeId(6), vec![2, 3])])));
        // Commits from the old generation fail; from the current one succeed.
        assert_eq!(c.may_commit(31, 1, 1), Err(GroupError::IllegalGeneration));
        assert_eq!(c.may_commit(31, 1, 2), Ok(()));
        // Member 2 goes silent: expired after the session timeout; member 1 must rejoin.
        out.clear();
        assert_eq!(c.heartbeat(100, 1, 2), Ok(()));
        assert_eq!(c.tick(140, &mut out), vec![2]);
        assert_eq!(c.may_commit(141, 2, 2), Err(GroupError::UnknownMember));
        c.join(150, 1, NodeId(5), &mut out);
        assert_eq!(answers(&out), [(1, 3, vec![0, 1, 2, 3])]);
    }

    #[test]
    fn a_member_waiting_in_a_join_is_not_expired() {
        let mut c = Coordinator::new(Assignment::Eager, 2, 100, 10_000);
        let mut out = Vec::new();
        c.join(0, 1, NodeId(5), &mut out); // generation 1
        out.clear();
        c.join(10, 2, NodeId(6), &mut out); // member 1 is dead: it never rejoins
        assert!(c.tick(90, &mut out).is_empty());
        // Member 1 expires; member 2, parked in its join since t = 10, does not.
        assert_eq!(c.tick(150, &mut out), vec![1]);
        assert_eq!(answers(&out), [(2, 2, vec![0, 1])]);
    }

    #[test]
    fn a_member_that_does_not_rejoin_in_time_is_dropped() {
        let mut c = Coordinator::new(Assignment::Eager, 2, 10_000, 50);
        let mut out = Vec::new();
        c.join(0, 1, NodeId(5), &mut out);
        c.join(1, 2, NodeId(6), &mut out);
        c.join(2, 1, NodeId(5), &mut out);
        out.clear();
        c.join(10, 3, NodeId(7), &mut out); // 1 and 2 must rejoin within 50 ns
        c.join(20, 1, NodeId(5), &mut out);
        c.tick(70, &mut out);
        assert_eq!(answers(&out), [(1, 3, vec![0]), (3, 3, vec![1])]);
    }

    #[test]
    fn cooperative_keeps_owners_and_moves_in_two_rounds() {
        let mut c = Coordinator::new(Assignment::Cooperative, 4, 1000, 1000);
        let mut out = Vec::new();
        c.join(0, 1, NodeId(5), &mut out);
        assert_eq!(answers(&out), [(1, 1, vec![0, 1, 2, 3])]);
        out.clear();
        c.join(10, 2, NodeId(6), &mut out);
        c.join(20, 1, NodeId(5), &mut out);
        // Round one: member 1 keeps two partitions, the two that move are withheld.
        assert_eq!(answers(&out), [(1, 2, vec![0, 1]), (2, 2, vec![])]);
        out.clear();
        // Round two follows at once: both rejoin, and member 2 gets the moved partitions.
        assert_eq!(c.heartbeat(21, 1, 2), Err(GroupError::RebalanceInProgress));
        c.join(22, 1, NodeId(5), &mut out);
        c.join(23, 2, NodeId(6), &mut out);
        assert_eq!(answers(&out), [(1, 3, vec![0, 1]), (2, 3, vec![2, 3])]);
    }
}
