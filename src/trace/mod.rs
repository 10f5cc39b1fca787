//! `ordo trace`: the story of a selection of a history, one line per record, in words; for
//! a violation, the causal chain that led to it and a sentence saying what happened.
//! `ordo check --explain` prints the chain's short form, and `ordo diagram` draws the same
//! selections (src/diagram/).
//!
//! The history is read twice: once by the checker (which validates it, with errors that
//! name the line, and finds the violations), once here into [`History`]. Every record
//! type is shown: the ones this module does not know by name are printed generically.

// Records are interned in hash maps, only looked up, never iterated for output (the
// simulated world's ban on HashMap in clippy.toml is about determinism of runs).
#![allow(clippy::disallowed_types)]

mod history;
mod story;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::path::Path;

pub use history::{History, Index, Names, Rec, Sym, Ty};
pub use story::sentence;

use crate::checker::{Report, Violation};

/// What to show of a history.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// The N-th anomaly (1-based) in `ordo check` order, with its causal chain.
    Violation(usize),
    /// Every record about an entity's events.
    Entity(String),
    /// Every record about one partition (`topic/p`).
    Partition(String, u64),
    /// Every record a node wrote (and network faults naming it).
    Node(String),
    /// Every record with `from <= t <= to` (ns).
    Window(u64, u64),
    /// Everything.
    All,
}

impl Selection {
    /// Builds the selection from the command line's flags; `required`: exactly one must
    /// be given (trace), else at most one (diagram: none means the whole history).
    pub fn from_flags(
        violation: Option<usize>,
        entity: Option<String>,
        partition: Option<String>,
        node: Option<String>,
        from: Option<String>,
        to: Option<String>,
        required: bool,
    ) -> Result<Selection, String> {
        let given = [
            violation.is_some(),
            entity.is_some(),
            partition.is_some(),
            node.is_some(),
            from.is_some() || to.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        const FLAGS: &str = "--violation N, --entity KEY, --partition TOPIC/P, --node NAME, or --from MS --to MS";
        if given > 1 {
            return Err(format!("give one selection, not {given}: {FLAGS}"));
        }
        if given == 0 {
            return if required { Err(format!("give one selection: {FLAGS}")) } else { Ok(Selection::All) };
        }
        if let Some(n) = violation {
            if n == 0 {
                return Err("--violation 0: violations are numbered from 1, as `ordo check` lists them".into());
            }
            return Ok(Selection::Violation(n));
        }
        if let Some(e) = entity {
            return Ok(Selection::Entity(e));
        }
        if let Some(p) = partition {
            let bad = || {
                format!(
                    "--partition {p:?}: expected TOPIC/P, a topic name, a slash and a partition number, e.g. orders/1"
                )
            };
            let (topic, index) = p.rsplit_once('/').ok_or_else(bad)?;
            let index: u64 = index.parse().map_err(|_| bad())?;
            if topic.is_empty() {
                return Err(bad());
            }
            return Ok(Selection::Partition(topic.to_string(), index));
        }
        if let Some(n) = node {
            return Ok(Selection::Node(n));
        }
        let (Some(from), Some(to)) = (from, to) else {
            return Err("--from and --to go together: give both, in milliseconds of simulated time".into());
        };
        let from_ns = ms_to_ns("--from", &from)?;
        let to_ns = ms_to_ns("--to", &to)?;
        if from_ns > to_ns {
            return Err(format!("--from {from} is after --to {to}: expected from <= to"));
        }
        Ok(Selection::Window(from_ns, to_ns))
    }
}

/// Milliseconds (a decimal number, at most 6 decimals) to nanoseconds, without floats.
fn ms_to_ns(flag: &str, text: &str) -> Result<u64, String> {
    let bad = || format!("{flag} {text:?}: expected milliseconds, a number >= 0 such as 12 or 12.5");
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
    let frac_ns: u64 = if frac.is_empty() { 0 } else { format!("{frac:0<6}").parse().map_err(|_| bad())? };
    whole
        .checked_mul(1_000_000)
        .and_then(|ns| ns.checked_add(frac_ns))
        .ok_or_else(|| format!("{flag} {text}: too large (at most {} ms)", u64::MAX / 1_000_000))
}

/// A history with its checker report.
pub struct Loaded {
    pub history: History,
    pub report: Report,
}

/// Checks the history at `path` (bad input is an error naming the line), then reads it.
pub fn load(path: &Path) -> Result<Loaded, String> {
    let report = crate::checker::check_path(path, None).map_err(|error| match error {
        crate::checker::CheckError::Io { source_name, line: 0, error } => {
            format!("{source_name}: cannot read: {error}")
        }
        other => other.to_string(),
    })?;
    let file = std::fs::File::open(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let history = History::read(std::io::BufReader::with_capacity(1 << 20, file), &path.display().to_string())?;
    Ok(Loaded { history, report })
}

/// Loads a history already in memory (ordo run --diagram).
pub fn load_bytes(bytes: &[u8], name: &str) -> Result<Loaded, String> {
    let report = crate::checker::check_reader(bytes, name, None).map_err(|e| e.to_string())?;
    let history = History::read(bytes, name)?;
    Ok(Loaded { history, report })
}

/// The records a selection shows (indices into `history.recs`, in order), with the
/// witness lines marked and, for a violation, the closing sentence.
pub struct Story {
    pub title: String,
    pub recs: Vec<usize>,
    pub witness: BTreeSet<u64>,
    /// Records of the window left out as noise (e.g. other entities' appends), by kind.
    pub omitted: BTreeMap<String, u64>,
    pub sentence: Option<String>,
}

impl Loaded {
    /// The records of a selection. A selection that matches nothing the history names
    /// (an unknown node, a violation number out of range) is an error for the user.
    pub fn select(&self, selection: &Selection) -> Result<Story, String> {
        let h = &self.history;
        let keep = |f: &dyn Fn(&Rec) -> bool| -> Vec<usize> {
            h.recs.iter().enumerate().filter(|(_, r)| f(r)).map(|(i, _)| i).collect()
        };
        let story = |title: String, recs: Vec<usize>| Story {
            title,
            recs,
            witness: BTreeSet::new(),
            omitted: BTreeMap::new(),
            sentence: None,
        };
        match selection {
            Selection::All => Ok(story("the whole history".into(), (0..h.recs.len()).collect())),
            Selection::Violation(n) => {
                let total = self.report.violations.len();
                let v = self.report.violations.get(n - 1).ok_or_else(|| {
                    if total == 0 {
                        format!("--violation {n}: the checker found no anomaly in this history")
                    } else {
                        format!("--violation {n}: out of range: the checker found {total} anomalies (1 to {total}; `ordo check --show {total}` lists them)")
                    }
                })?;
                Ok(chain(h, v, *n))
            }
            Selection::Entity(key) => {
                let Some(sym) = h.names.find(key) else {
                    return Err(format!("--entity {key}: no record of this history names that entity"));
                };
                let mut events = HashSet::new();
                for r in &h.recs {
                    if r.ty == Ty::Create && r.entity == Some(sym) {
                        events.extend(r.id);
                    }
                }
                if events.is_empty() && !h.recs.iter().any(|r| r.entity == Some(sym)) {
                    return Err(format!("--entity {key}: no record of this history names that entity"));
                }
                let batches: HashSet<Sym> = h
                    .recs
                    .iter()
                    .filter(|r| r.ty == Ty::Send && r.list.iter().any(|e| events.contains(e)))
                    .filter_map(|r| r.batch)
                    .collect();
                let recs = keep(&|r| {
                    r.entity == Some(sym)
                        || r.id.is_some_and(|id| events.contains(&id))
                        || (matches!(r.ty, Ty::Send | Ty::Ack | Ty::Fail | Ty::Dedup | Ty::Reject)
                            && r.batch.is_some_and(|b| batches.contains(&b)))
                });
                Ok(story(format!("entity {key}"), recs))
            }
            Selection::Partition(topic, p) => {
                let Some(topic_sym) = h
                    .names
                    .find(topic)
                    .filter(|t| h.recs.iter().any(|r| r.topic == Some(*t) && r.partition == Some(*p)))
                else {
                    return Err(format!("--partition {topic}/{p}: no record of this history names that partition"));
                };
                let batches: HashSet<Sym> = h
                    .recs
                    .iter()
                    .filter(|r| r.ty == Ty::Send && r.topic == Some(topic_sym) && r.partition == Some(*p))
                    .filter_map(|r| r.batch)
                    .collect();
                let recs = keep(&|r| {
                    (r.topic == Some(topic_sym) && (r.partition == Some(*p) || r.parts.contains(p)))
                        || (r.ty == Ty::Fail && r.batch.is_some_and(|b| batches.contains(&b)))
                });
                Ok(story(format!("partition {topic}/{p}"), recs))
            }
            Selection::Node(name) => {
                let Some(sym) = h.names.find(name).filter(|s| h.recs.iter().any(|r| r.node == Some(*s))) else {
                    return Err(format!("--node {name}: no record of this history was written by that node"));
                };
                let recs = keep(&|r| {
                    r.node == Some(sym) || r.list2.contains(&sym) || (r.ty.is_fault() && r.list.contains(&sym))
                });
                Ok(story(format!("node {name}"), recs))
            }
            Selection::Window(from, to) => {
                let recs = keep(&|r| r.t >= *from && r.t <= *to);
                Ok(story(format!("{} ms to {} ms", ms(*from), ms(*to)), recs))
            }
        }
    }
}

/// `12.410` (ms, three decimals) from ns.
pub fn ms(t: u64) -> String {
    format!("{}.{:03}", t / 1_000_000, (t % 1_000_000) / 1_000)
}

/// The causal chain of violation number `n`: the witness records and what led to them.
/// Candidates come from the history's index (the records of the events, batches and
/// partitions involved, and the structural records), so the cost is the records touched.
fn chain(h: &History, v: &Violation, n: usize) -> Story {
    let ix = &h.index;
    let witness: BTreeSet<u64> = v.witness.iter().map(|w| w.line).collect();
    let w_idx: Vec<usize> = witness.iter().filter_map(|l| h.at_line(*l)).collect();
    let w_recs: Vec<&Rec> = w_idx.iter().map(|i| &h.recs[*i]).collect();
    // Events, batches, partitions, consumers and entities the witness names.
    let mut events: BTreeSet<Sym> = BTreeSet::new();
    let mut batches: BTreeSet<Sym> = BTreeSet::new();
    let mut tps: HashSet<(Sym, u64)> = HashSet::new();
    let mut consumers: HashSet<Sym> = HashSet::new();
    let mut entities: HashSet<Sym> = HashSet::new();
    for r in &w_recs {
        events.extend(r.id);
        if r.ty == Ty::Send {
            events.extend(r.list.iter().copied());
        }
        batches.extend(r.batch);
        if let (Some(t), Some(p)) = (r.topic, r.partition) {
            tps.insert((t, p));
        }
        if r.ty.is_consumer() {
            consumers.extend(r.node);
        }
        entities.extend(r.entity);
    }
    let mut t_lo = w_recs.iter().map(|r| r.t).min().unwrap_or(0);
    let t_hi = w_recs.iter().map(|r| r.t).max().unwrap_or(u64::MAX);
    let empty: Vec<usize> = Vec::new();
    let of_event = |e: &Sym| ix.by_event.get(e).unwrap_or(&empty);
    let of_batch = |b: &Sym| ix.by_batch.get(b).unwrap_or(&empty);
    let mut nodes: HashSet<Sym> = consumers.clone();
    for e in &events {
        entities.extend(ix.entity_of.get(e));
        for &i in of_event(e) {
            let r = &h.recs[i];
            if r.ty == Ty::Create {
                t_lo = t_lo.min(r.t);
                nodes.extend(r.node);
            }
            if r.ty == Ty::Send {
                batches.extend(r.batch);
            }
        }
    }
    for b in &batches {
        for &i in of_batch(b) {
            let r = &h.recs[i];
            if r.ty == Ty::Send {
                if let (Some(t), Some(p)) = (r.topic, r.partition) {
                    tps.insert((t, p));
                }
                nodes.extend(r.node);
                nodes.extend(r.peer);
            }
        }
    }
    let mut tp_list: Vec<(Sym, u64)> = tps.iter().copied().collect();
    tp_list.sort_unstable();
    // The partitions' records in the window [t_lo, t_hi].
    let window = |list: &'_ [usize]| -> std::ops::Range<usize> {
        let a = list.partition_point(|i| h.recs[*i].t < t_lo);
        let b = list.partition_point(|i| h.recs[*i].t <= t_hi);
        a..b.max(a)
    };
    for tp in &tp_list {
        let list = ix.by_tp.get(tp).unwrap_or(&empty);
        for &i in &list[window(list)] {
            let r = &h.recs[i];
            if matches!(r.ty, Ty::Append | Ty::Leader | Ty::Truncate) {
                nodes.extend(r.node);
            }
        }
    }
    // Candidates: witness, the events' and batches' records, the partitions' records in
    // the window, the structural records (faults, leader changes, unknown types).
    let mut candidates: Vec<usize> = w_idx.clone();
    for e in &events {
        candidates.extend(of_event(e));
    }
    for b in &batches {
        candidates.extend(of_batch(b));
    }
    for tp in &tp_list {
        let list = ix.by_tp.get(tp).unwrap_or(&empty);
        candidates.extend(&list[window(list)]);
    }
    // Faults open at t_lo (a crash not yet restarted) are part of the story.
    let mut open: Vec<(Sym, usize)> = Vec::new();
    for &i in &ix.structural {
        let r = &h.recs[i];
        if r.t >= t_lo {
            if r.t <= t_hi {
                candidates.push(i);
            }
            continue;
        }
        if let Some(node) = r.node {
            match r.ty {
                Ty::Crash | Ty::Pause => open.push((node, i)),
                Ty::Restart | Ty::Resume => open.retain(|(n, _)| *n != node),
                _ => {}
            }
        }
    }
    candidates.sort_unstable();
    candidates.dedup();
    let mut recs: Vec<usize> = open.iter().filter(|(n, _)| nodes.contains(n)).map(|(_, i)| *i).collect();
    let mut omitted: BTreeMap<String, u64> = BTreeMap::new();
    let in_window = |r: &Rec| r.t >= t_lo && r.t <= t_hi;
    for i in candidates {
        let r = &h.recs[i];
        if r.t > t_hi && !witness.contains(&r.line) {
            continue;
        }
        let about_event = r.id.is_some_and(|id| events.contains(&id));
        let about_batch = r.batch.is_some_and(|b| batches.contains(&b));
        let node_in = r.node.is_some_and(|n| nodes.contains(&n));
        let take = witness.contains(&r.line)
            || match r.ty {
                Ty::Create => about_event,
                Ty::Send | Ty::Ack | Ty::Fail | Ty::Dedup | Ty::Reject => about_batch,
                Ty::Append => {
                    if about_event || about_batch {
                        true
                    } else if in_window(r) && tp_in(r, &tps) {
                        if r.id.and_then(|id| ix.entity_of.get(&id)).is_some_and(|e| entities.contains(e)) {
                            true
                        } else {
                            *omitted.entry(format!("other appends to {}", h.tp(r).unwrap_or_default())).or_insert(0) +=
                                1;
                            false
                        }
                    } else {
                        false
                    }
                }
                Ty::Deliver | Ty::Apply | Ty::Discard | Ty::QueueAck | Ty::Nack => about_event,
                Ty::Leader | Ty::Truncate | Ty::Replicate => in_window(r) && tp_in(r, &tps),
                Ty::Assign | Ty::Revoke => {
                    in_window(r)
                        && r.node.is_some_and(|n| consumers.contains(&n))
                        && r.topic.is_some_and(|t| r.parts.iter().any(|p| tps.contains(&(t, *p))))
                }
                Ty::Seek | Ty::Commit => {
                    in_window(r) && r.node.is_some_and(|n| consumers.contains(&n)) && tp_in(r, &tps)
                }
                Ty::Crash | Ty::Restart | Ty::Pause | Ty::Resume | Ty::ClockStep => in_window(r) && node_in,
                Ty::RebalanceStart | Ty::Rebalance => in_window(r) && r.list.iter().any(|n| consumers.contains(n)),
                Ty::NetPartition | Ty::NetHeal | Ty::Link => {
                    in_window(r) && r.list.iter().chain(&r.list2).any(|n| nodes.contains(n))
                }
                Ty::Other => in_window(r) && (node_in || about_event || about_batch),
                Ty::State | Ty::ProducerInit | Ty::End => false,
            };
        if take {
            recs.push(i);
        }
    }
    recs.sort_unstable();
    recs.dedup();
    let title = format!("violation {n}: {} [{}]: {}", v.kind.name(), v.scope, v.message);
    Story { title, recs, witness, omitted, sentence: Some(sentence(h, v)) }
}

fn tp_in(r: &Rec, tps: &HashSet<(Sym, u64)>) -> bool {
    matches!((r.topic, r.partition), (Some(t), Some(p)) if tps.contains(&(t, p)))
}

/// One record in words (no time, no node).
pub fn words(h: &History, r: &Rec) -> String {
    let s = |x: Option<Sym>| x.map_or("?", |x| h.s(x));
    let tp = h.tp(r).unwrap_or_else(|| "?".into());
    let events = |list: &[Sym]| -> String {
        let shown: Vec<&str> = list.iter().take(6).map(|e| h.s(*e)).collect();
        let more = if list.len() > 6 { format!(", … {} in all", list.len()) } else { String::new() };
        let noun = if list.len() == 1 { "event" } else { "events" };
        format!("{noun} {}{more}", shown.join(", "))
    };
    let ok = |flag: Option<bool>| if flag == Some(false) { "refused" } else { "accepted" };
    let why = |r: &Rec| r.reason.map(|x| format!(" ({})", h.s(x))).unwrap_or_default();
    match r.ty {
        Ty::Create => {
            let mut out = format!("creates event {}", s(r.id));
            if let Some(e) = r.entity {
                let _ = write!(out, " of {}", h.s(e));
            }
            if let Some(k) = r.label {
                let _ = write!(out, " ({})", h.s(k));
            }
            if !r.list.is_empty() {
                let deps: Vec<&str> = r.list.iter().map(|d| h.s(*d)).collect();
                let _ = write!(out, ", after {}", deps.join(", "));
            }
            out
        }
        Ty::ProducerInit => match r.num {
            Some(epoch) => format!("starts a producer session (epoch {epoch})"),
            None => "starts a producer session".into(),
        },
        Ty::Send => {
            let to = r.peer.map(|b| format!(" to {} ({tp})", h.s(b))).unwrap_or_else(|| format!(" to {tp}"));
            let attempt = r.attempt.unwrap_or(1);
            let retry = match (attempt > 1, r.prev_fail) {
                (true, Some(reason)) => format!(" (retry after {})", h.s(reason).replace('_', " ")),
                (true, None) => " (retry)".into(),
                _ => String::new(),
            };
            format!("sends batch {} ({}){to}, attempt {attempt}{retry}", s(r.batch), events(&r.list))
        }
        Ty::Ack => match r.offset {
            Some(o) => {
                format!("gets the ack of batch {} attempt {}: {tp} offset {o}", s(r.batch), r.attempt.unwrap_or(1))
            }
            None => format!("gets the ack of batch {} attempt {} (no offset)", s(r.batch), r.attempt.unwrap_or(1)),
        },
        Ty::Fail => format!(
            "attempt {} of batch {} failed: {}; {}",
            r.attempt.unwrap_or(1),
            s(r.batch),
            s(r.reason).replace('_', " "),
            if r.flag == Some(true) { "will retry" } else { "gives up" }
        ),
        Ty::Append => {
            let epoch = r.num.map(|e| format!(", leader epoch {e}")).unwrap_or_default();
            let batch = r
                .batch
                .map(|b| format!(" (batch {} attempt {}{epoch})", h.s(b), r.attempt.unwrap_or(1)))
                .unwrap_or_default();
            format!(
                "appends event {} at {tp} offset {}{batch}",
                s(r.id),
                r.offset.map_or("?".into(), |o| o.to_string())
            )
        }
        Ty::Dedup => format!(
            "recognises batch {} attempt {} as a duplicate{}: not appended again",
            s(r.batch),
            r.attempt.unwrap_or(1),
            r.offset.map(|o| format!(" (already at {tp} offset {o})")).unwrap_or_default()
        ),
        Ty::Reject => format!("rejects batch {} attempt {} for {tp}{}", s(r.batch), r.attempt.unwrap_or(1), why(r)),
        Ty::Leader => format!("becomes leader of {tp} (epoch {})", r.num.unwrap_or(0)),
        Ty::Truncate => format!("truncates {tp} from offset {}", r.offset.map_or("?".into(), |o| o.to_string())),
        Ty::Assign | Ty::Revoke => {
            let parts: Vec<String> = r.parts.iter().map(|p| format!("{}/{p}", s(r.topic))).collect();
            let verb = if r.ty == Ty::Assign { "is assigned" } else { "gives up" };
            format!("{verb} {} in {} generation {}", parts.join(", "), s(r.group), r.generation.unwrap_or(0))
        }
        Ty::Seek => format!("will read {tp} from offset {}{}", r.offset.unwrap_or(0), why(r)),
        Ty::Deliver => {
            let again = match r.num {
                Some(n) if n > 1 => format!(", received for the {} time", ordinal(n)),
                _ => String::new(),
            };
            format!(
                "receives event {} from {tp} offset {}{again}",
                s(r.id),
                r.offset.map_or("?".into(), |o| o.to_string())
            )
        }
        Ty::Apply => match r.offset {
            Some(o) => format!("applies event {} ({tp} offset {o})", s(r.id)),
            None => format!("applies event {}", s(r.id)),
        },
        Ty::Discard => format!("discards event {}: {}", s(r.id), s(r.reason).replace('_', " ")),
        Ty::Commit => format!(
            "commits {tp} offset {} in {} generation {}: {}{}",
            r.offset.unwrap_or(0),
            s(r.group),
            r.generation.map_or("?".into(), |g| g.to_string()),
            ok(r.flag),
            why(r)
        ),
        Ty::QueueAck => {
            format!("acknowledges event {} ({tp} offset {}): {}{}", s(r.id), r.offset.unwrap_or(0), ok(r.flag), why(r))
        }
        Ty::Nack => format!("gives event {} back to {tp}: {}{}", s(r.id), ok(r.flag), why(r)),
        Ty::State => format!("final state of {} in {}: {}", s(r.entity), s(r.group), r.text.as_deref().unwrap_or("")),
        Ty::Crash => "crashes".into(),
        Ty::Restart => "restarts".into(),
        Ty::Pause => "pauses".into(),
        Ty::Resume => "resumes".into(),
        Ty::ClockStep => format!("clock steps by {} ms", signed_ms(r.num.unwrap_or(0))),
        Ty::NetPartition | Ty::NetHeal => {
            let list = |l: &[Sym]| l.iter().map(|n| h.s(*n)).collect::<Vec<_>>().join(",");
            let arrow = if r.flag == Some(true) { "↔" } else { "→" };
            let verb = if r.ty == Ty::NetPartition { "network cut" } else { "network heals" };
            format!("{verb} {} {arrow} {}", list(&r.list), list(&r.list2))
        }
        Ty::Replicate => {
            let (first, count) = (r.offset.unwrap_or(0), r.count.unwrap_or(0));
            let offsets = if count == 1 {
                format!("offset {first}")
            } else {
                format!("offsets {first}-{}", first.saturating_add(count.saturating_sub(1)))
            };
            format!("copies {offsets} of {tp} from its leader (leader epoch {})", r.num.unwrap_or(0))
        }
        Ty::RebalanceStart => {
            let by = r.list.first().map(|m| format!(" of {}", h.s(*m))).unwrap_or_default();
            format!(
                "starts a rebalance of {} (generation {}): {}{by}",
                s(r.group),
                r.generation.unwrap_or(0),
                r.reason.map_or("?", |x| h.s(x))
            )
        }
        Ty::Rebalance => format!(
            "completes a rebalance of {}: generation {}, {}",
            s(r.group),
            r.generation.unwrap_or(0),
            r.text.as_deref().unwrap_or("")
        ),
        Ty::Link => {
            let list = |l: &[Sym]| l.iter().map(|n| h.s(*n)).collect::<Vec<_>>().join(",");
            format!("link {} → {} now: {}", list(&r.list), list(&r.list2), r.text.as_deref().unwrap_or(""))
        }
        Ty::End => format!("history ends: {}", s(r.reason)),
        Ty::Other => format!("{} {}", h.s(r.ty_name), r.text.as_deref().unwrap_or("")),
    }
}

fn ordinal(n: i64) -> String {
    match n {
        2 => "second".into(),
        3 => "third".into(),
        _ => format!("{n}th"),
    }
}

fn signed_ms(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "+" };
    format!("{sign}{}", ms(ns.unsigned_abs()))
}

/// The node column of a record: its node, `net` for network faults, `-` for none.
pub fn who(h: &History, r: &Rec) -> String {
    match r.node {
        Some(n) => h.s(n).to_string(),
        None if matches!(r.ty, Ty::NetPartition | Ty::NetHeal | Ty::Link) => "net".into(),
        None => r.group.map_or("-".into(), |g| h.s(g).to_string()),
    }
}

/// The story as text: a title, one line per record, the omitted counts, the sentence.
pub fn render(h: &History, story: &Story) -> String {
    let mut out = format!("{}\n", story.title);
    let width = story.recs.iter().map(|i| who(h, &h.recs[*i]).chars().count()).max().unwrap_or(2).max(2);
    let line_width = story.recs.last().map_or(1, |i| h.recs[*i].line.to_string().len());
    for i in &story.recs {
        let r = &h.recs[*i];
        let mark = if story.witness.contains(&r.line) { '*' } else { ' ' };
        let _ = writeln!(
            out,
            "{mark} line {:>line_width$}  {:>11} ms  {:<width$}  {}",
            r.line,
            ms(r.t),
            who(h, r),
            words(h, r)
        );
    }
    if story.recs.is_empty() {
        out.push_str("  (no record)\n");
    }
    for (what, n) in &story.omitted {
        let _ = writeln!(out, "  ({n} {what} in this window not shown)");
    }
    if !story.witness.is_empty() {
        out.push_str("  * = witness line (ordo check)\n");
    }
    if let Some(s) = &story.sentence {
        let _ = writeln!(out, "{s}");
    }
    out
}

/// `ordo check --explain`'s short form of violation `n`'s chain: the sentence and the
/// lines of the chain that are not witnesses, at most `max` of them.
pub fn explain_short(h: &History, v: &Violation, n: usize, max: usize) -> String {
    let story = chain(h, v, n);
    let mut out = String::new();
    if let Some(s) = &story.sentence {
        let _ = writeln!(out, "   why: {}", s.trim_start_matches("What happened: "));
    }
    let rest: Vec<usize> = story.recs.iter().copied().filter(|i| !story.witness.contains(&h.recs[*i].line)).collect();
    for i in rest.iter().take(max) {
        let r = &h.recs[*i];
        let _ = writeln!(out, "   chain {:>6}  {:>11} ms  {}  {}", r.line, ms(r.t), who(h, r), words(h, r));
    }
    if rest.len() > max {
        let _ = writeln!(out, "   … {} more in `ordo trace --violation {n}`", rest.len() - max);
    }
    out
}
