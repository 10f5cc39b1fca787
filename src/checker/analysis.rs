//! Checks that need the whole history: lost and unseen writes, producer order, and the
//! happens-before passes (per group over applies, per consumer over deliveries), final
//! state and cycles.
//!
//! # The happens-before pass
//!
//! Events are visited in create order, which is a topological order of `deps` (a dep must
//! be created earlier). For one group, `at[e]` is the position (1-based) of `e`'s first
//! apply in the group's apply sequence, and
//!
//! `late[e] = max over deps d of max(at[d], late[d])`
//!
//! is the position of the latest-applied strict ancestor of `e`. `e` was applied before a
//! cause iff `late[e] > at[e]` and that apply is strictly later (a later `t`, or the same
//! node). A second array does the same over same-entity deps only, for per-key reorders.
//! Each pass is O(events + deps); the checker runs one per group and one per consumer, so
//! the total is O((groups + consumers) × (events + deps) + records).

use std::collections::BTreeMap;

use super::ingest::{ApplyRec, FieldOp, Ingest, Line};
use super::report::{Kind, Witness};
use super::tables::NONE;

fn w(line: Line, what: String) -> Witness {
    Witness { line: u64::from(line), what, record: None }
}

/// Longest dep chain walked for a witness (keeps reporting linear in violations).
const CHAIN_MAX: usize = 64;

/// One received copy of an event, for the happens-before pass.
#[derive(Clone, Copy)]
struct Recv {
    t: u64,
    node: u32,
    line: Line,
    event: u32,
}

impl Ingest<'_> {
    /// Runs every end-of-history check.
    pub fn analyze(&mut self) {
        self.end_unknowns();
        self.lost_and_unseen();
        self.duplicate_appends();
        self.producer_order();
        self.group_passes();
        self.queue_acks_ahead();
        self.consumer_passes();
        self.cycles();
    }

    fn end_unknowns(&mut self) {
        match &self.end {
            None => {
                self.unknown(Kind::UnseenWrite, "the history has no end record (it may have been cut short)".into());
                self.unknown(Kind::FinalState, "the history has no end record (it may have been cut short)".into());
            }
            Some((_, reason)) if reason != "quiescent" => {
                let r = format!("the run ended by {reason}, not quiescent: unread writes may still be in flight");
                self.unknown(Kind::UnseenWrite, r);
            }
            _ => {}
        }
    }

    fn lost_and_unseen(&mut self) {
        let mut judged = vec![false; self.ev.len()];
        let mut no_offset = 0u64;
        let mut unconfirmed = 0u64;
        for b in 0..self.batches.len() {
            let bt = self.batches[b];
            let Some((ack_line, ack_offset)) = bt.ack else {
                continue;
            };
            let (s, n) = bt.events;
            for i in 0..n {
                let e = self.batch_events[(s + i) as usize];
                if judged[e as usize] || self.ev.first_deliver[e as usize].0 != NONE {
                    continue;
                }
                judged[e as usize] = true;
                let p = bt.part as usize;
                let en = self.ev.name(e);
                let pname = self.parts[p].name.clone();
                let max_read = self.parts[p].max_delivered;
                if let Some(o) = ack_offset.map(|o| o.saturating_add(u64::from(i))) {
                    let pl = &self.parts[p];
                    let in_log = pl.has_appends && pl.log.get(o).is_some_and(|x| x.event == e);
                    // Read past it, or its offset was read holding another event.
                    let reused = pl.seen.get(o).is_some_and(|x| x.event != e);
                    let candidate = max_read.filter(|&(h, _)| (h > o || reused) && !in_log);
                    // Evidence that it is gone: the leader's log or a read shows another
                    // record (or nothing) at its offset. Without that (no append records),
                    // "never read" needs the whole history.
                    // In a queue, reading later messages says nothing about this one (competing
                    // consumers, redeliveries): only the journal or a reused offset does.
                    let evidence = pl.has_appends || reused || (self.end.is_some() && !pl.queue);
                    if candidate.is_some() && !evidence {
                        if pl.queue {
                            self.unseen(e, ack_line, p);
                        } else {
                            unconfirmed += 1;
                        }
                        continue;
                    }
                    if let Some((h, hl)) = candidate {
                        let mut wit = vec![
                            w(ack_line, format!("ack of {en} at {pname}@{o}")),
                            w(hl, format!("someone read {pname}@{h}")),
                        ];
                        if let Some(x) = pl.log.get(o) {
                            wit.push(w(x.line, format!("append of {} at {pname}@{o}", self.ev.name(x.event))));
                        } else if let Some(x) = pl.seen.get(o) {
                            wit.push(w(x.line, format!("deliver of {} from {pname}@{o}", self.ev.name(x.event))));
                        }
                        self.violate(
                            Kind::LostWrite,
                            pname.to_string(),
                            format!("acknowledged event {en} at offset {o} was never read, though {pname} was read up to {h}"),
                            wit,
                        );
                        continue;
                    }
                } else {
                    no_offset += 1;
                }
                self.unseen(e, ack_line, p);
            }
        }
        if unconfirmed > 0 {
            self.unknown(
                Kind::LostWrite,
                format!("{unconfirmed} acknowledged events were not read though later offsets were; without append records or an end record, loss cannot be confirmed"),
            );
        }
        if no_offset > 0 {
            self.unknown(
                Kind::LostWrite,
                format!("{no_offset} acknowledged events have no ack offset (acks=0?); only judged as unseen"),
            );
        }
    }

    fn unseen(&mut self, e: u32, ack_line: Line, p: usize) {
        let Some((end_line, reason)) = self.end.clone() else {
            return;
        };
        if reason != "quiescent" {
            return;
        }
        let pname = self.parts[p].name.clone();
        if self.parts[p].max_delivered.is_none() {
            self.unknown(Kind::UnseenWrite, format!("nobody read {pname}; its acknowledged writes are not judged"));
            return;
        }
        let en = self.ev.name(e);
        self.violate(
            Kind::UnseenWrite,
            pname.to_string(),
            format!("acknowledged event {en} in {pname} was never read by anyone"),
            vec![w(ack_line, format!("ack of {en}")), w(end_line, "end of a quiescent run".into())],
        );
    }

    /// A second append of an event is a duplicate when both copies are still in the log
    /// at the end, or were read (a copy truncated away before anyone read it is not).
    fn duplicate_appends(&mut self) {
        let dups = std::mem::take(&mut self.dup_appends);
        for d in &dups {
            let pl = &self.parts[d.part as usize];
            let present = |o: u64| {
                pl.log.get(o).is_some_and(|x| x.event == d.event) || pl.seen.get(o).is_some_and(|x| x.event == d.event)
            };
            if !(present(d.first.0) && present(d.second.0)) {
                continue;
            }
            let (en, pname) = (self.ev.name(d.event), pl.name.to_string());
            self.violate(
                Kind::DuplicateAppend,
                pname.clone(),
                format!("event {en} appended at offsets {} and {} of {pname}: {}", d.first.0, d.second.0, d.cause),
                vec![
                    w(d.first.1, format!("append {en} at {pname}@{}", d.first.0)),
                    w(d.second.1, format!("append {en} at {pname}@{}", d.second.0)),
                ],
            );
        }
        self.dup_appends = dups;
    }

    /// A producer's batches to one partition must land in the order it first sent them.
    /// Where a batch landed is read from the log as it ended (an append later truncated
    /// away is not a landing); without append records, from its ack offset.
    fn producer_order(&mut self) {
        // (node, partition) → the highest landing so far: (offset, line, send line, batch).
        let mut running: BTreeMap<(u32, u32), (u64, Line, Line, u32)> = BTreeMap::new();
        for b in 0..self.batches.len() {
            let bt = self.batches[b];
            let Some(((lo, lo_line), (hi, hi_line))) = self.landing(b as u32) else {
                continue;
            };
            let key = (bt.node, bt.part);
            if let Some(&(max, max_line, max_send, _)) = running.get(&key) {
                if lo < max {
                    let pname = self.parts[bt.part as usize].name.clone();
                    let node = self.nodes.name(bt.node).to_string();
                    self.violate(
                        Kind::NonmonotonicSend,
                        format!("{node} → {pname}"),
                        format!("{node} sent a batch after one that landed at offset {max}, but it landed at {lo}, below it"),
                        vec![
                            w(max_send, "earlier send".into()),
                            w(max_line, format!("earlier batch at {pname}@{max}")),
                            w(bt.send_line, "later send".into()),
                            w(lo_line, format!("later batch at {pname}@{lo}")),
                        ],
                    );
                }
            }
            let entry = running.entry(key).or_insert((hi, hi_line, bt.send_line, b as u32));
            if hi > entry.0 {
                *entry = (hi, hi_line, bt.send_line, b as u32);
            }
        }
    }

    /// Where a batch's records are in the log as it ended: the lowest and highest offset,
    /// each with the line of the record there (the append, or the ack when the partition
    /// has no append records and the ack names a base offset). `None` when no record of
    /// the batch is in the final log.
    fn landing(&self, b: u32) -> Option<((u64, Line), (u64, Line))> {
        let bt = &self.batches[b as usize];
        let pl = &self.parts[bt.part as usize];
        let (s, n) = bt.events;
        let ack_offset = bt.ack.and_then(|(line, o)| Some((line, o?)));
        if !pl.has_appends {
            let (ack_line, o) = ack_offset?;
            return Some(((o, ack_line), (o.saturating_add(u64::from(n.saturating_sub(1))), ack_line)));
        }
        let mut out: Option<((u64, Line), (u64, Line))> = None;
        for (i, &e) in self.batch_events[s as usize..(s + n) as usize].iter().enumerate() {
            // The event's first append, if this batch (or no named batch) put it there;
            // else (an application resend, whose events an earlier batch appended first)
            // where its ack says, if the log holds it there.
            let (p, o, _) = self.ev.first_append[e as usize];
            let first = (p == bt.part)
                .then(|| {
                    pl.log.get(o).filter(|x| x.event == e && (x.batch == b || x.batch == NONE)).map(|x| (o, x.line))
                })
                .flatten();
            let acked = || {
                let o = ack_offset?.1.checked_add(i as u64)?;
                pl.log.get(o).filter(|x| x.event == e).map(|x| (o, x.line))
            };
            let Some((o, line)) = first.or_else(acked) else {
                continue;
            };
            out = Some(match out {
                None => ((o, line), (o, line)),
                Some((lo, hi)) => (if o < lo.0 { (o, line) } else { lo }, if o > hi.0 { (o, line) } else { hi }),
            });
        }
        out
    }

    /// Per group: duplicate applies, reorders and inversions, sequence gaps, final state.
    fn group_passes(&mut self) {
        let n = self.ev.len();
        let mut by_group: Vec<Vec<ApplyRec>> = (0..self.groups.len()).map(|_| Vec::new()).collect();
        for a in &self.applies {
            by_group[a.group as usize].push(*a);
        }
        let mut at = vec![0u32; n];
        let mut late = vec![0u32; n];
        let mut late_ent = vec![0u32; n];
        let mut handled = vec![false; n];
        // (entity, seq, event) of every event with a meta.seq, sorted.
        let mut seq_index: Vec<(u32, i64, u32)> = (0..n as u32)
            .filter_map(|e| {
                let ent = self.ev.entity[e as usize];
                (ent != NONE).then_some(())?;
                Some((ent, self.ev.seq.get(e)?, e))
            })
            .collect();
        seq_index.sort_unstable();
        for (g, recs) in by_group.iter().enumerate() {
            at.iter_mut().for_each(|x| *x = 0);
            handled.iter_mut().for_each(|x| *x = false);
            let gname = self.groups.name(g as u32).to_string();
            let mut applied: Vec<Recv> = Vec::new();
            let mut reapplies: Vec<Recv> = Vec::new();
            for a in recs {
                if a.discard {
                    handled[a.event as usize] = true;
                    continue;
                }
                let e = a.event as usize;
                handled[e] = true;
                if at[e] == 0 {
                    applied.push(Recv { t: a.t, node: a.node, line: a.line, event: a.event });
                    at[e] = applied.len() as u32;
                } else {
                    reapplies.push(Recv { t: a.t, node: a.node, line: a.line, event: a.event });
                    let first = applied[at[e] as usize - 1];
                    let en = self.ev.name(a.event);
                    self.violate(
                        Kind::DuplicateApply,
                        format!("group {gname}"),
                        format!("event {en} applied again by group {gname}"),
                        vec![
                            w(first.line, format!("apply {en} by {}", self.nodes.name(first.node))),
                            w(a.line, format!("apply {en} again by {}", self.nodes.name(a.node))),
                        ],
                    );
                }
            }
            self.rebalance_skips(g as u32, &handled, !recs.is_empty());
            self.hb_pass(&applied, &at, &mut late, &mut late_ent, &format!("group {gname}"), true);
            self.reapply_reorders(&applied, &at, &reapplies, &gname);
            self.sequence_gaps(&applied, &gname, &seq_index);
            self.final_state(g as u32, &at, &handled, &applied, &reapplies);
        }
    }

    /// Side effects see every apply, not only the first: a re-apply of `x` (a redelivery, a
    /// zombie finishing its batch) after the group applied a same-entity successor `y` of
    /// `x` shows the old event after the newer one. Reported once per re-applied event, on
    /// its first such re-apply, unless `y` was applied before `x`'s first apply already
    /// (that is a `per_key_reorder`). `y` is the successor applied first (a reverse pass
    /// over create order keeps, per event, the earliest first-apply position among its
    /// same-entity descendants); when that one is at the re-apply's `t` on another node
    /// (unordered), a later successor applied strictly before could be missed (never
    /// invented).
    fn reapply_reorders(&mut self, applied: &[Recv], at: &[u32], reapplies: &[Recv], gname: &str) {
        if reapplies.is_empty() {
            return;
        }
        let before = |a: &Recv, b: &Recv| a.line < b.line && (a.t < b.t || a.node == b.node);
        // earliest[e]: the earliest first-apply position among e's strict same-entity
        // descendants (0: none applied).
        let mut earliest = vec![u32::MAX; self.ev.len()];
        for &e in self.ev.create_order.iter().rev() {
            let ent = self.ev.entity[e as usize];
            if ent == NONE {
                continue;
            }
            let own = if at[e as usize] > 0 { at[e as usize] } else { u32::MAX };
            let v = own.min(earliest[e as usize]);
            if v == u32::MAX {
                continue;
            }
            for &d in self.ev.deps_of(e) {
                if self.ev.entity[d as usize] == ent && v < earliest[d as usize] {
                    earliest[d as usize] = v;
                }
            }
        }
        let mut reported = std::collections::BTreeSet::new();
        for r in reapplies {
            let x = r.event;
            let pos = earliest[x as usize];
            if pos == u32::MAX || reported.contains(&x) {
                continue;
            }
            let (first, newer) = (applied[at[x as usize] as usize - 1], applied[pos as usize - 1]);
            if before(&newer, &first) || !before(&newer, r) {
                continue;
            }
            reported.insert(x);
            let (xn, yn) = (self.ev.name(x), self.ev.name(newer.event));
            let ent = self.entities.name(self.ev.entity[x as usize]).to_string();
            let deps: Vec<String> = self.ev.deps_of(newer.event).iter().map(|&d| self.ev.name(d)).collect();
            self.violate(
                Kind::ReapplyReorder,
                format!("group {gname}, entity {ent}"),
                format!(
                    "event {xn} of {ent} applied again by {} after group {gname} had applied {yn}, which it precedes: the side effects see {xn} after {yn}",
                    self.nodes.name(r.node)
                ),
                vec![
                    w(first.line, format!("first apply of {xn} by {}", self.nodes.name(first.node))),
                    w(newer.line, format!("apply of {yn} by {}", self.nodes.name(newer.node))),
                    w(r.line, format!("{xn} applied again by {}", self.nodes.name(r.node))),
                    w(
                        self.ev.create_line[newer.event as usize],
                        format!("create {yn} deps [{}] (a same-entity successor of {xn})", deps.join(", ")),
                    ),
                ],
            );
        }
    }

    /// Queues: an accepted `queue_ack` deletes the message, so if the group had not applied
    /// or discarded it by then, only the acknowledging consumer's memory holds it (a crash
    /// there loses it): `ack_ahead`, the queue's commit before processing (auto-ack, or a
    /// strategy that acks what it only buffered). An apply at the same `t` on another node is unordered
    /// with the ack and counts as possibly before it.
    fn queue_acks_ahead(&mut self) {
        if self.queue_acks.is_empty() {
            return;
        }
        let acks = std::mem::take(&mut self.queue_acks);
        let wanted: std::collections::BTreeSet<(u32, u32)> = acks.iter().map(|a| (a.group, a.event)).collect();
        // (group, event) → (t, node, line) of each of its applies and discards.
        let mut handled: BTreeMap<(u32, u32), Vec<Recv>> = BTreeMap::new();
        let mut records_applies = vec![false; self.groups.len()];
        for a in &self.applies {
            records_applies[a.group as usize] = true;
            if wanted.contains(&(a.group, a.event)) {
                handled.entry((a.group, a.event)).or_default().push(Recv {
                    t: a.t,
                    node: a.node,
                    line: a.line,
                    event: a.event,
                });
            }
        }
        let mut unjudged: Option<Line> = None;
        for a in &acks {
            if !records_applies[a.group as usize] {
                unjudged.get_or_insert(a.line);
                continue;
            }
            let processed = handled.get(&(a.group, a.event)).map(Vec::as_slice).unwrap_or(&[]);
            let before = processed.iter().any(|r| r.t < a.t || (r.t == a.t && (r.node != a.node || r.line < a.line)));
            if before {
                continue;
            }
            let (en, node, gname) =
                (self.ev.name(a.event), self.nodes.name(a.node).to_string(), self.groups.name(a.group).to_string());
            let pname = self.parts[a.part as usize].name.clone();
            let mut witness = vec![w(a.line, format!("queue_ack of {en} by {node} accepted"))];
            let (dp, _, dl) = self.ev.first_deliver[a.event as usize];
            if dp != NONE {
                witness.push(w(dl, format!("first delivery of {en}")));
            }
            let after = match processed.first() {
                Some(r) => {
                    witness.push(w(r.line, format!("{en} processed by {} only later", self.nodes.name(r.node))));
                    "only later"
                }
                None => "never",
            };
            self.violate(
                Kind::AckAhead,
                format!("group {gname}, {pname}"),
                format!(
                    "{node} acknowledged {en} from queue {pname} before group {gname} applied or discarded it ({after}): acknowledged before processing, so a crash of {node} would lose it"
                ),
                witness,
            );
        }
        if let Some(line) = unjudged {
            self.unknown(
                Kind::AckAhead,
                format!(
                    "queue acknowledgements (first at line {line}) of a group that records no applies cannot be judged"
                ),
            );
        }
        self.queue_acks = acks;
    }

    /// A new owner that started above the committed offset skipped the offsets between,
    /// unless the group processed their records anyway (the old owner applied them without
    /// committing). Processed = applied or discarded when the group records applies, else
    /// delivered to any member. Offsets whose record is unknown are not counted.
    fn rebalance_skips(&mut self, g: u32, handled: &[bool], records_applies: bool) {
        let candidates: Vec<usize> =
            (0..self.rebalance_skips.len()).filter(|&i| self.rebalance_skips[i].group == g).collect();
        if candidates.is_empty() {
            return;
        }
        if self.end.is_none() {
            self.unknown(
                Kind::RebalanceSkip,
                "the history has no end record: whether the skipped records were processed later is unknown".into(),
            );
            return;
        }
        let mut delivered = vec![false; self.ev.len()];
        if !records_applies {
            for d in &self.delivers {
                if self.consumer_of[d.consumer as usize].0 == g {
                    delivered[d.event as usize] = true;
                }
            }
        }
        let processed = if records_applies { handled } else { &delivered[..] };
        for i in candidates {
            let c = &self.rebalance_skips[i];
            let pl = &self.parts[c.part as usize];
            let Some(from) = c.from.or(pl.min_offset) else {
                continue;
            };
            let to = c.to.min(from.saturating_add(1 << 20));
            // Each skipped offset with the line that shows its record: the log as it ended
            // (a record truncated away was lost, not skipped) or, without append records,
            // what was delivered there.
            let missed: Vec<(u64, Line, u32)> = (from..to)
                .filter_map(|o| {
                    let (event, line) = if pl.has_appends {
                        pl.log.get(o).map(|x| (x.event, x.line))?
                    } else {
                        pl.seen.get(o).map(|x| (x.event, x.line))?
                    };
                    (!processed[event as usize]).then_some((o, line, event))
                })
                .collect();
            if missed.is_empty() {
                continue;
            }
            let shown: Vec<String> = missed.iter().take(5).map(|m| m.0.to_string()).collect();
            let more = if missed.len() > 5 { format!(" and {} more", missed.len() - 5) } else { String::new() };
            let mut witness = c.witness.clone();
            for &(o, line, event) in missed.iter().take(3) {
                witness
                    .push(w(line, format!("{} at {}@{o}, never processed by the group", self.ev.name(event), pl.name)));
            }
            let (scope, message) = (
                format!("group {}, {}", self.groups.name(g), pl.name),
                format!(
                    "{}: {} {}{more} {} never processed by the group",
                    c.message,
                    if missed.len() == 1 { "offset" } else { "offsets" },
                    shown.join(", "),
                    if missed.len() == 1 { "is" } else { "are" }
                ),
            );
            self.violate(Kind::RebalanceSkip, scope, message, witness);
        }
    }

    /// Causal delivery, per consumer (group, node) over its deliveries.
    fn consumer_passes(&mut self) {
        let n = self.ev.len();
        let mut by_consumer: Vec<Vec<Recv>> = (0..self.consumer_of.len()).map(|_| Vec::new()).collect();
        for d in &self.delivers {
            by_consumer[d.consumer as usize].push(Recv { t: d.t, node: d.node, line: d.line, event: d.event });
        }
        let mut at = vec![0u32; n];
        let mut late = vec![0u32; n];
        let mut late_ent = vec![0u32; n];
        for (c, recs) in by_consumer.iter().enumerate() {
            at.iter_mut().for_each(|x| *x = 0);
            let mut first: Vec<Recv> = Vec::new();
            for r in recs {
                if at[r.event as usize] == 0 {
                    first.push(*r);
                    at[r.event as usize] = first.len() as u32;
                }
            }
            let (g, node) = self.consumer_of[c];
            let scope = format!("group {}, consumer {}", self.groups.name(g), self.nodes.name(node));
            self.hb_pass(&first, &at, &mut late, &mut late_ent, &scope, false);
        }
    }

    /// The happens-before pass described in the module doc.
    fn hb_pass(
        &mut self,
        recv: &[Recv],
        at: &[u32],
        late: &mut [u32],
        late_ent: &mut [u32],
        scope: &str,
        applies: bool,
    ) {
        if recv.is_empty() {
            return;
        }
        let mut reported: BTreeMap<(u32, Kind), (usize, u64)> = BTreeMap::new();
        for i in 0..self.ev.create_order.len() {
            let e = self.ev.create_order[i];
            let ent = self.ev.entity[e as usize];
            let (mut f, mut fe) = (0u32, 0u32);
            for &d in self.ev.deps_of(e) {
                let v = at[d as usize].max(late[d as usize]);
                f = f.max(v);
                if ent != NONE && self.ev.entity[d as usize] == ent {
                    fe = fe.max(at[d as usize].max(late_ent[d as usize]));
                }
            }
            late[e as usize] = f;
            late_ent[e as usize] = fe;
            let mine = at[e as usize];
            if mine == 0 {
                continue;
            }
            let strictly_after = |x: u32| {
                if x <= mine {
                    return false;
                }
                let (a, b) = (recv[x as usize - 1], recv[mine as usize - 1]);
                a.t > b.t || a.node == b.node
            };
            let (kind, target, same) = if strictly_after(fe) {
                (if applies { Kind::PerKeyReorder } else { Kind::CausalDelivery }, fe, true)
            } else if strictly_after(f) {
                let cause = recv[f as usize - 1].event;
                let kind = if !applies {
                    Kind::CausalDelivery
                } else if ent != NONE && self.ev.entity[cause as usize] == ent {
                    Kind::PerKeyReorder
                } else {
                    Kind::CausalityInversion
                };
                (kind, f, false)
            } else {
                continue;
            };
            let cause = recv[target as usize - 1].event;
            if let Some(r) = reported.get_mut(&(cause, kind)) {
                r.1 += 1;
                continue;
            }
            if !self.keeps(kind) {
                self.omit(kind);
                reported.insert((cause, kind), (usize::MAX, 0));
                continue;
            }
            let chain = self.chain(e, target, at, if same { &*late_ent } else { &*late }, same);
            let (mine_r, cause_r) = (recv[mine as usize - 1], recv[target as usize - 1]);
            let verb = if applies { "applied" } else { "received" };
            let (en, cn) = (self.ev.name(e), self.ev.name(cause));
            let mut wit = vec![
                w(mine_r.line, format!("{verb} {en} by {}", self.nodes.name(mine_r.node))),
                w(cause_r.line, format!("{verb} its cause {cn} by {}", self.nodes.name(cause_r.node))),
            ];
            let shown: Vec<u32> = if chain.len() > 6 {
                chain[..3].iter().chain(&chain[chain.len() - 3..]).copied().collect()
            } else {
                chain.clone()
            };
            for &x in &shown {
                let deps: Vec<String> = self.ev.deps_of(x).iter().map(|&d| self.ev.name(d)).collect();
                wit.push(w(
                    self.ev.create_line[x as usize],
                    format!("create {} deps [{}]", self.ev.name(x), deps.join(", ")),
                ));
            }
            let entity_text = match ent {
                NONE => String::new(),
                x => format!(" of {}", self.entities.name(x)),
            };
            let msg = format!(
                "{en}{entity_text} {verb} before {cn}{}, which happened before it (dep chain of {}{} creates)",
                match self.ev.entity[cause as usize] {
                    NONE => String::new(),
                    x => format!(" of {}", self.entities.name(x)),
                },
                if chain.first() == Some(&cause) { "" } else { "more than " },
                chain.len()
            );
            let idx = self.violate(kind, scope.to_string(), msg, wit);
            reported.insert((cause, kind), (idx.unwrap_or(usize::MAX), 0));
        }
        for ((_, _), (idx, extra)) in reported {
            if extra > 0 && idx != usize::MAX {
                let v = &mut self.report.violations[idx];
                v.message.push_str(&format!("; {extra} more of its effects came before it too"));
            }
        }
    }

    /// The dep chain from the event received at position `target` to `e`, in create order;
    /// at most `CHAIN_MAX + 1` events (then it does not start at that event).
    fn chain(&self, e: u32, target: u32, at: &[u32], late: &[u32], same: bool) -> Vec<u32> {
        let ent = self.ev.entity[e as usize];
        let ok = |d: u32| !same || self.ev.entity[d as usize] == ent;
        let mut path = vec![e];
        let mut cur = e;
        for _ in 0..CHAIN_MAX {
            let deps = self.ev.deps_of(cur);
            if let Some(&d) = deps.iter().find(|&&d| ok(d) && at[d as usize] == target) {
                path.push(d);
                break;
            }
            match deps.iter().find(|&&d| ok(d) && late[d as usize] == target) {
                Some(&d) => {
                    path.push(d);
                    cur = d;
                }
                None => break,
            }
        }
        path.reverse();
        path
    }

    /// Per entity, the applied `meta.seq` values must have no holes. A leading gap (below
    /// the first applied number) counts only if a missing event was delivered: a consumer
    /// that starts late never receives the earlier events, one that skipped them did.
    fn sequence_gaps(&mut self, applied: &[Recv], gname: &str, seq_index: &[(u32, i64, u32)]) {
        let mut seqs: Vec<(u32, i64, Line)> = applied
            .iter()
            .filter_map(|r| {
                let ent = self.ev.entity[r.event as usize];
                let s = self.ev.seq.get(r.event)?;
                (ent != NONE).then_some((ent, s, r.line))
            })
            .collect();
        seqs.sort_unstable();
        if self.end.is_none() && !seqs.is_empty() {
            self.unknown(
                Kind::SequenceGap,
                "the history has no end record: a missing number may still be applied".into(),
            );
            return;
        }
        for (index, &(entity, first, line)) in seqs.iter().enumerate() {
            if index > 0 && seqs[index - 1].0 == entity {
                continue; // not the entity's first applied number
            }
            let start = seq_index.partition_point(|&(en, _, _)| en < entity);
            let skipped = seq_index[start..]
                .iter()
                .take_while(|&&(en, sq, _)| en == entity && sq < first)
                .find(|&&(_, _, ev)| self.ev.first_deliver[ev as usize].0 != NONE)
                .copied();
            if let Some((_, missing, ev)) = skipped {
                let ent = self.entities.name(entity).to_string();
                let delivered = self.ev.first_deliver[ev as usize].2;
                self.violate(
                    Kind::SequenceGap,
                    format!("group {gname}, entity {ent}"),
                    format!(
                        "group {gname} applied {ent} from seq {first} on, but never seq {missing}, which was delivered"
                    ),
                    vec![w(delivered, format!("delivery of seq {missing}")), w(line, format!("apply of seq {first}"))],
                );
            }
        }
        for pair in seqs.windows(2) {
            let ((e1, s1, l1), (e2, s2, l2)) = (pair[0], pair[1]);
            // A hole counts only if a missing number belongs to an event the system
            // accepted (acknowledged or delivered to someone): a send the producer gave up
            // on was reported to the application, and is not the consumer's gap.
            let accepted = |&&(en, sq, ev): &&(u32, i64, u32)| {
                en == e1
                    && sq > s1
                    && sq < s2
                    && (self.ev.acked[ev as usize] || self.ev.first_deliver[ev as usize].0 != NONE)
            };
            let from = seq_index.partition_point(|&(en, sq, _)| (en, sq) <= (e1, s1));
            let missing_accepted =
                seq_index[from..].iter().take_while(|&&(en, sq, _)| en == e1 && sq < s2).any(|x| accepted(&x));
            if e1 == e2 && i128::from(s2) > i128::from(s1) + 1 && missing_accepted {
                let ent = self.entities.name(e1).to_string();
                self.violate(
                    Kind::SequenceGap,
                    format!("group {gname}, entity {ent}"),
                    format!(
                        "group {gname} applied seq {s1} and {s2} of {ent} but never {}..{}",
                        i128::from(s1) + 1,
                        i128::from(s2) - 1
                    ),
                    vec![w(l1, format!("apply of seq {s1}")), w(l2, format!("apply of seq {s2}"))],
                );
            }
        }
    }

    /// Final projection vs the causally maximal writers among the events the group applied
    /// or discarded. Same-entity deps decide "maximal"; a writer ordered only through other
    /// entities counts as concurrent, which can only accept more values (sound).
    ///
    /// A field the header declares an `increment` is judged against the sum of the amounts
    /// of the entity's events the group applied, each counted once (a duplicate apply, or
    /// an apply the projection lost, puts it off); an `append` field against the items of
    /// the applied events, each once, with every item after the items of its applied
    /// same-entity causes.
    fn final_state(&mut self, g: u32, at: &[u32], handled: &[bool], applied: &[Recv], reapplies: &[Recv]) {
        if self.end.is_none() {
            return;
        }
        let states: Vec<usize> = (0..self.states.len()).filter(|&i| self.states[i].group == g).collect();
        if states.is_empty() {
            return;
        }
        // The events of each entity that matters here, in create order (entities are dense).
        let mut by_entity: Vec<Option<Vec<u32>>> = vec![None; self.entities.len()];
        for &e in &self.ev.create_order {
            let ent = self.ev.entity[e as usize];
            if ent != NONE && handled[e as usize] {
                by_entity[ent as usize].get_or_insert_with(Vec::new);
            }
        }
        for &si in &states {
            by_entity[self.states[si].entity as usize].get_or_insert_with(Vec::new);
        }
        for &e in &self.ev.create_order {
            let ent = self.ev.entity[e as usize];
            if let Some(Some(v)) = by_entity.get_mut(ent as usize) {
                v.push(e);
            }
        }
        // `local[e]`: e's index among its entity's events, for the entity being judged
        // (NONE for every other event; reset after each).
        let mut local = vec![NONE; self.ev.len()];
        let no_events = Vec::new();
        for si in states {
            let (ent, line) = (self.states[si].entity, self.states[si].line);
            let events = by_entity[ent as usize].as_ref().unwrap_or(&no_events);
            for (i, &e) in events.iter().enumerate() {
                local[e as usize] = i as u32;
            }
            let mut field_ids: Vec<u32> = self.states[si].fields.iter().map(|(f, _)| *f).collect();
            for &e in events {
                if handled[e as usize] {
                    field_ids.extend(self.ev.writes_of(e).iter().map(|w| w.0));
                }
            }
            field_ids.sort_unstable();
            field_ids.dedup();
            // Fields no event of the entity writes are the consumer's own: not judged.
            field_ids.retain(|&f| events.iter().any(|&e| self.ev.writes_of(e).iter().any(|x| x.0 == f)));
            let mut bad: Vec<String> = Vec::new();
            let mut wit: Vec<Witness> = vec![w(line, "final state".into())];
            for f in field_ids {
                let actual = self.states[si].fields.iter().rev().find(|(x, _)| *x == f).map(|(_, v)| v.to_string());
                if let Some(&op) = self.field_ops.get(&f) {
                    let fname = self.fields.name(f).to_string();
                    let wrong = match op {
                        FieldOp::Increment => self.counter_wrong(events, at, f, actual.as_deref()),
                        FieldOp::Append => self.list_wrong(events, &local, at, f, actual.as_deref()),
                    };
                    if let Some(why) = wrong {
                        bad.push(format!("{fname} is {} but {why}", actual.as_deref().unwrap_or("unset")));
                        // The witnesses: the entity's re-applies (a duplicate's effect), else
                        // its applies.
                        let again = reapplies.iter().filter(|r| self.ev.entity[r.event as usize] == ent);
                        let mut added = 0;
                        for r in again.take(3) {
                            wit.push(w(r.line, format!("apply {} again ({fname})", self.ev.name(r.event))));
                            added += 1;
                        }
                        if added == 0 {
                            for &e in events.iter().filter(|&&e| at[e as usize] > 0).take(3) {
                                let r = applied[at[e as usize] as usize - 1];
                                wit.push(w(r.line, format!("apply of {} ({fname})", self.ev.name(e))));
                            }
                        }
                    }
                    continue;
                }
                let maximal = self.maximal_writers(events, &local, handled, f);
                let values: Vec<String> = maximal.iter().map(|(_, v)| v.clone()).collect();
                let fname = self.fields.name(f).to_string();
                let fine = match &actual {
                    Some(a) => values.iter().any(|v| v == a),
                    None => values.is_empty(),
                };
                if fine {
                    continue;
                }
                let expected = if values.is_empty() { "unset".to_string() } else { values.join(" or ") };
                bad.push(format!(
                    "{fname} is {} but should be {expected}",
                    actual.clone().unwrap_or_else(|| "unset".into())
                ));
                if wit.len() < 6 {
                    for &(m, ref v) in maximal.iter().take(2) {
                        let how = if at[m as usize] > 0 {
                            let r = applied[at[m as usize] as usize - 1];
                            wit.push(w(r.line, format!("apply of {} ({fname}={v})", self.ev.name(m))));
                            "applied"
                        } else {
                            "discarded"
                        };
                        wit.push(w(
                            self.ev.create_line[m as usize],
                            format!("create {} writes {fname}={v}, latest writer ({how})", self.ev.name(m)),
                        ));
                    }
                    if let Some(a) = &actual {
                        if let Some(&src) = events.iter().rev().find(|&&e| {
                            at[e as usize] > 0
                                && self.ev.writes_of(e).iter().any(|x| x.0 == f && self.ev.value(*x) == a)
                        }) {
                            let r = applied[at[src as usize] as usize - 1];
                            wit.push(w(r.line, format!("apply of {} wrote the stale {fname}={a}", self.ev.name(src))));
                        }
                    }
                }
            }
            for &e in events {
                local[e as usize] = NONE;
            }
            if !bad.is_empty() {
                let gname = self.groups.name(g).to_string();
                let ename = self.entities.name(ent).to_string();
                self.violate(
                    Kind::FinalState,
                    format!("group {gname}, entity {ename}"),
                    format!("final state of {ename} in {gname}: {}", bad.join("; ")),
                    wit,
                );
            }
        }
    }

    /// An `increment` field's final value against the sum of the amounts of the applied
    /// events (each once): `None` when equal, else what it should be and why.
    fn counter_wrong(&self, events: &[u32], at: &[u32], f: u32, actual: Option<&str>) -> Option<String> {
        let mut sum: i128 = 0;
        let mut applied = 0u64;
        for &e in events.iter().filter(|&&e| at[e as usize] > 0) {
            for &x in self.ev.writes_of(e).iter().filter(|x| x.0 == f) {
                // Ingestion holds every amount of an increment field to an integer.
                sum += i128::from(self.ev.value(x).parse::<i64>().unwrap_or(0));
                applied += 1;
            }
        }
        let have = match actual {
            None if applied == 0 => return None,
            None => None,
            Some(v) => v.trim().parse::<i128>().ok(),
        };
        if have == Some(sum) {
            return None;
        }
        let off = match have {
            Some(h) if h > sum => {
                format!(": {} more than its {applied} applied events add, each counted once", h - sum)
            }
            Some(h) => format!(": {} less than its {applied} applied events add", sum - h),
            None => String::from(": not an integer"),
        };
        Some(format!("should be {sum}{off}"))
    }

    /// An `append` field's final list (comma-separated) against the items of the applied
    /// events: each once, and (when the items tell the events apart) every item after the
    /// items of its applied same-entity causes. `None` when it holds.
    fn list_wrong(&self, events: &[u32], local: &[u32], at: &[u32], f: u32, actual: Option<&str>) -> Option<String> {
        let item = |e: u32| self.ev.writes_of(e).iter().rev().find(|x| x.0 == f).map(|&x| self.ev.value(x));
        let mut expected: Vec<&str> = events.iter().filter(|&&e| at[e as usize] > 0).filter_map(|&e| item(e)).collect();
        let list: Vec<&str> = match actual {
            None | Some("") => Vec::new(),
            Some(v) => v.split(',').collect(),
        };
        let mut have = list.clone();
        expected.sort_unstable();
        have.sort_unstable();
        if expected != have {
            let mut extra = Vec::new();
            let (mut i, mut j) = (0, 0);
            while i < have.len() {
                if j < expected.len() && expected[j] == have[i] {
                    (i, j) = (i + 1, j + 1);
                } else if j < expected.len() && expected[j] < have[i] {
                    j += 1;
                } else {
                    extra.push(have[i]);
                    i += 1;
                }
            }
            let extra = if extra.is_empty() {
                String::new()
            } else {
                format!(" ({} extra: a duplicate apply)", extra.join(","))
            };
            return Some(format!("should hold each of the {} applied events' items once{extra}", expected.len()));
        }
        // Order: only when each item names one event.
        if expected.windows(2).any(|w| w[0] == w[1]) {
            return None;
        }
        let position = |s: &str| list.iter().position(|x| *x == s);
        // Per event in create order (deps first): the latest list position among its applied
        // same-entity causes, transitively.
        let mut latest: Vec<Option<(usize, u32)>> = vec![None; events.len()];
        for (i, &e) in events.iter().enumerate() {
            let mut before: Option<(usize, u32)> = None;
            for &d in self.ev.deps_of(e) {
                let j = local[d as usize];
                if j == NONE {
                    continue;
                }
                let mut candidates = [latest[j as usize], None];
                if at[d as usize] > 0 {
                    candidates[1] = item(d).and_then(position).map(|p| (p, d));
                }
                for c in candidates.into_iter().flatten() {
                    if !matches!(before, Some(b) if b.0 >= c.0) {
                        before = Some(c);
                    }
                }
            }
            latest[i] = before;
            if at[e as usize] > 0 {
                if let (Some(p), Some((q, cause))) = (item(e).and_then(position), before) {
                    if q > p {
                        return Some(format!(
                            "lists {} before {}, which happened before it",
                            list[p],
                            item(cause).unwrap_or("?")
                        ));
                    }
                }
            }
        }
        None
    }

    /// Writers of field `f` among handled events with no handled same-entity descendant
    /// writing `f`. Returns (event, value) in create order.
    fn maximal_writers(&self, events: &[u32], local: &[u32], handled: &[bool], f: u32) -> Vec<(u32, String)> {
        let mut mark = vec![false; events.len()];
        let mut out = Vec::new();
        for (i, &e) in events.iter().enumerate().rev() {
            let write =
                if handled[e as usize] { self.ev.writes_of(e).iter().rev().find(|x| x.0 == f).copied() } else { None };
            if let Some(x) = write {
                if !mark[i] {
                    out.push((e, self.ev.value(x).to_string()));
                }
            }
            if write.is_some() || mark[i] {
                for &d in self.ev.deps_of(e) {
                    let j = local[d as usize];
                    if j != NONE {
                        mark[j as usize] = true;
                    }
                }
            }
        }
        out.reverse();
        out
    }

    /// Cycles in happens-before (deps) plus each partition's log order.
    fn cycles(&mut self) {
        let n = self.ev.len();
        if n == 0 {
            return;
        }
        let mut rank = vec![u32::MAX; n];
        for (i, &e) in self.ev.create_order.iter().enumerate() {
            rank[e as usize] = i as u32;
        }
        // Each event's home position: first append, else first delivery.
        let mut placed: Vec<(u32, u64, u32, Line)> = Vec::new();
        for e in 0..n as u32 {
            let (p, o, l) = self.ev.first_append[e as usize];
            let (p, o, l) = if p != NONE { (p, o, l) } else { self.ev.first_deliver[e as usize] };
            if p != NONE {
                placed.push((p, o, e, l));
            }
        }
        placed.sort_unstable();
        let mut log_edges: Vec<(u32, u32)> = Vec::new();
        let mut backward = false;
        for pair in placed.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if a.0 == b.0 && a.2 != b.2 {
                log_edges.push((a.2, b.2));
                backward |= rank[b.2 as usize] < rank[a.2 as usize];
            }
        }
        if !backward {
            return;
        }
        // CSR adjacency: dep edges d → e, then log edges.
        let mut degree = vec![0u32; n + 1];
        for e in 0..n as u32 {
            for &d in self.ev.deps_of(e) {
                degree[d as usize] += 1;
            }
        }
        for &(a, _) in &log_edges {
            degree[a as usize] += 1;
        }
        let mut start = vec![0u32; n + 1];
        for i in 0..n {
            start[i + 1] = start[i] + degree[i];
        }
        let mut fill = start.clone();
        let mut adj = vec![0u32; start[n] as usize];
        for e in 0..n as u32 {
            for &d in self.ev.deps_of(e) {
                adj[fill[d as usize] as usize] = e;
                fill[d as usize] += 1;
            }
        }
        for &(a, b) in &log_edges {
            adj[fill[a as usize] as usize] = b;
            fill[a as usize] += 1;
        }
        let home: BTreeMap<u32, (u32, u64, Line)> = placed.iter().map(|&(p, o, e, l)| (e, (p, o, l))).collect();
        for comp in strongly_connected(n, &start, &adj) {
            let cycle = shortest_cycle(&comp, &start, &adj, &rank);
            let mut wit = Vec::new();
            let mut names = Vec::new();
            for pair in cycle.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                names.push(self.ev.name(a));
                if self.ev.deps_of(b).contains(&a) {
                    wit.push(w(
                        self.ev.create_line[b as usize],
                        format!("create {} deps include {}", self.ev.name(b), self.ev.name(a)),
                    ));
                } else if let (Some(ha), Some(hb)) = (home.get(&a), home.get(&b)) {
                    let pname = &self.parts[ha.0 as usize].name;
                    wit.push(w(ha.2, format!("{} at {pname}@{}", self.ev.name(a), ha.1)));
                    wit.push(w(hb.2, format!("{} at {pname}@{}, after it", self.ev.name(b), hb.1)));
                }
                if wit.len() >= 12 {
                    break;
                }
            }
            names.push(self.ev.name(cycle[0]));
            self.violate(
                Kind::ObservedCycle,
                format!("{} events", comp.len()),
                format!("the logs order events against happens-before: {}", names.join(" → ")),
                wit,
            );
        }
    }
}

/// The strongly connected components with more than one node, each sorted, of the graph
/// of happens-before and log-order edges, built as a petgraph graph. Kosaraju's algorithm
/// in petgraph runs on its iterative `Dfs`/`DfsPostOrder`, so long causal chains cannot
/// overflow the stack (its `tarjan_scc` recurses).
fn strongly_connected(n: usize, start: &[u32], adj: &[u32]) -> Vec<Vec<u32>> {
    let mut graph: petgraph::graph::DiGraph<(), (), u32> = petgraph::graph::DiGraph::with_capacity(n, adj.len());
    for _ in 0..n {
        graph.add_node(());
    }
    for v in 0..n {
        for &x in &adj[start[v] as usize..start[v + 1] as usize] {
            graph.add_edge(petgraph::graph::NodeIndex::new(v), petgraph::graph::NodeIndex::new(x as usize), ());
        }
    }
    let mut out: Vec<Vec<u32>> = petgraph::algo::kosaraju_scc(&graph)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| {
            let mut nodes: Vec<u32> = component.into_iter().map(|node| node.index() as u32).collect();
            nodes.sort_unstable();
            nodes
        })
        .collect();
    out.sort();
    out
}

/// A shortest cycle through the component's earliest-created event, as a closed walk
/// `[u, …, u]`, found by BFS inside the component.
fn shortest_cycle(comp: &[u32], start: &[u32], adj: &[u32], rank: &[u32]) -> Vec<u32> {
    let inside: BTreeMap<u32, ()> = comp.iter().map(|&x| (x, ())).collect();
    let u = *comp.iter().min_by_key(|&&x| (rank[x as usize], x)).unwrap_or(&comp[0]);
    let mut parent: BTreeMap<u32, u32> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([u]);
    while let Some(v) = queue.pop_front() {
        for &x in &adj[start[v as usize] as usize..start[v as usize + 1] as usize] {
            if !inside.contains_key(&x) {
                continue;
            }
            if x == u {
                let mut path = vec![u, v];
                let mut cur = v;
                while cur != u {
                    match parent.get(&cur) {
                        Some(&p) => cur = p,
                        None => break,
                    }
                    path.push(cur);
                }
                path.reverse();
                return path;
            }
            if let std::collections::btree_map::Entry::Vacant(slot) = parent.entry(x) {
                slot.insert(v);
                queue.push_back(x);
            }
        }
    }
    vec![u, u]
}
