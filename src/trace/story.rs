//! The closing sentence of a violation's trace: what happened, in words, from the
//! witness records and the records around them. Kinds with a known shape get a causal
//! explanation (why the cause landed or was applied late, why an event came back); every
//! other kind gets the checker's own sentence and the facts of the chain (retries,
//! leader changes, truncations, faults), so no kind is left without one.

use super::{History, Rec, Sym, Ty};
use crate::checker::{Kind, Violation};

/// The sentence for violation `v`.
pub fn sentence(h: &History, v: &Violation) -> String {
    let w: Vec<&Rec> = v.witness.iter().filter_map(|w| h.at_line(w.line)).map(|i| &h.recs[i]).collect();
    let of = |ty: Ty| -> Vec<&Rec> { w.iter().copied().filter(|r| r.ty == ty).collect() };
    let explained = match v.kind {
        Kind::PerKeyReorder | Kind::CausalityInversion => {
            // Witness: the creates, then the effect's apply, then the cause's (later) apply.
            let applies = of(Ty::Apply);
            match (applies.first(), applies.last()) {
                (Some(effect), Some(cause)) if applies.len() >= 2 => Some(format!(
                    "event {} was applied before {}, which happened before it, because {}",
                    id(h, effect),
                    id(h, cause),
                    why_after(h, cause, effect)
                )),
                _ => None,
            }
        }
        Kind::CausalDelivery => {
            let delivers = of(Ty::Deliver);
            match (delivers.first(), delivers.last()) {
                (Some(effect), Some(cause)) if delivers.len() >= 2 => Some(format!(
                    "event {} was received before its cause {} because {}",
                    id(h, effect),
                    id(h, cause),
                    why_after(h, cause, effect)
                )),
                _ => None,
            }
        }
        Kind::FinalState => final_state(h, &w),
        Kind::ReapplyReorder | Kind::DuplicateApply => {
            let applies = of(Ty::Apply);
            let again = applies.iter().rev().find(|a| applies.iter().any(|b| b.line < a.line && b.id == a.id));
            again.map(|again| {
                let first = applies.iter().find(|b| b.id == again.id).copied().unwrap_or(again);
                let what = if v.kind == Kind::ReapplyReorder {
                    let later: Vec<String> =
                        applies.iter().filter(|b| b.id != again.id).map(|b| id(h, b).to_string()).collect();
                    format!(
                        "event {} was applied again by {} after {} had been applied",
                        id(h, again),
                        node(h, again),
                        if later.is_empty() { "its successor".to_string() } else { later.join(", ") }
                    )
                } else {
                    format!("event {} was applied twice by {}", id(h, again), group(h, again))
                };
                format!("{what} because {}", why_again(h, first, again))
            })
        }
        Kind::DuplicateAppend => {
            let appends = of(Ty::Append);
            match (appends.first(), appends.last()) {
                (Some(a), Some(b)) if appends.len() >= 2 => Some(format!(
                    "event {} was appended twice ({}) because {}",
                    id(h, a),
                    offsets(h, a, b),
                    why_two_copies(h, a, b)
                )),
                _ => None,
            }
        }
        Kind::NonmonotonicSend => {
            let sends = of(Ty::Send);
            let appends = of(Ty::Append);
            match (sends.first(), sends.last()) {
                (Some(earlier), Some(later)) if sends.len() >= 2 => {
                    let landed = appends.iter().find(|a| a.batch == earlier.batch);
                    let attempts = landed.and_then(|a| a.attempt).unwrap_or(1);
                    let why = if attempts > 1 {
                        format!("its attempt {attempts} was a retry ({})", fail_reasons(h, earlier.batch, attempts))
                    } else {
                        "requests in flight on the connection were reordered".to_string()
                    };
                    Some(format!(
                        "batch {} was sent before batch {} but landed above it because {why}",
                        batch(h, earlier),
                        batch(h, later)
                    ))
                }
                _ => None,
            }
        }
        Kind::LostWrite | Kind::DivergentLog => lost_offset(h, &w),
        _ => None,
    };
    let facts = chain_facts(h, &w);
    match explained {
        Some(s) => format!("What happened: {s}{facts}."),
        None => format!("What happened: {}{facts}.", v.message.trim_end_matches('.')),
    }
}

fn id<'h>(h: &'h History, r: &Rec) -> &'h str {
    r.id.map_or("?", |x| h.s(x))
}
fn node<'h>(h: &'h History, r: &Rec) -> &'h str {
    r.node.map_or("?", |x| h.s(x))
}
fn group(h: &History, r: &Rec) -> String {
    r.group.map_or("the group".into(), |g| format!("group {}", h.s(g)))
}
fn batch<'h>(h: &'h History, r: &Rec) -> &'h str {
    r.batch.map_or("?", |x| h.s(x))
}

fn offsets(h: &History, a: &Rec, b: &Rec) -> String {
    let tp = h.tp(a).unwrap_or_default();
    format!("{tp} offsets {} and {}", a.offset.unwrap_or(0), b.offset.unwrap_or(0))
}

/// The append an apply or deliver read: same partition and offset and event, the last
/// such append before it; else the event's first append.
fn landing<'h>(h: &'h History, r: &Rec) -> Option<&'h Rec> {
    let appends: Vec<&Rec> = of_event(h, r.id).filter(|a| a.ty == Ty::Append).collect();
    let by_place = appends.iter().rev().find(|a| {
        a.line < r.line
            && a.topic == r.topic
            && a.partition == r.partition
            && (r.offset.is_none() || a.offset == r.offset)
    });
    by_place.or(appends.first()).copied()
}

/// The records about an event (its create, sends carrying it, appends, deliveries, …).
fn of_event(h: &History, id: Option<Sym>) -> impl Iterator<Item = &Rec> {
    id.and_then(|id| h.index.by_event.get(&id)).into_iter().flatten().map(|i| &h.recs[*i])
}

/// The records of a batch.
fn of_batch(h: &History, batch: Option<Sym>) -> impl Iterator<Item = &Rec> {
    batch.and_then(|b| h.index.by_batch.get(&b)).into_iter().flatten().map(|i| &h.recs[*i])
}

/// Reasons of the failed attempts of a batch below `attempt`, e.g. "attempt 1 failed: request timeout".
fn fail_reasons(h: &History, batch: Option<Sym>, attempt: u64) -> String {
    let fails: Vec<String> = of_batch(h, batch)
        .filter(|r| r.ty == Ty::Fail && r.attempt.unwrap_or(1) < attempt)
        .map(|r| {
            format!("attempt {} failed: {}", r.attempt.unwrap_or(1), r.reason.map_or("?", |x| h.s(x)).replace('_', " "))
        })
        .collect();
    if fails.is_empty() {
        "earlier attempts got no answer".into()
    } else {
        fails.join(", ")
    }
}

/// Why `cause` (an apply or deliver) came after `effect`, which it precedes.
fn why_after(h: &History, cause: &Rec, effect: &Rec) -> String {
    let (Some(ca), Some(ea)) = (landing(h, cause), landing(h, effect)) else {
        return format!(
            "{}'s record at line {} came after {}'s at line {}",
            id(h, cause),
            cause.line,
            id(h, effect),
            effect.line
        );
    };
    let same_tp = ca.topic == ea.topic && ca.partition == ea.partition;
    let (co, eo) = (ca.offset.unwrap_or(0), ea.offset.unwrap_or(0));
    if same_tp && co > eo {
        let attempt = ca.attempt.unwrap_or(1);
        if attempt > 1 {
            format!(
                "{}'s batch {} failed first ({}) and its retry, attempt {attempt}, landed at offset {co} of {}, after batch {} (event {}) at offset {eo}",
                id(h, cause),
                batch(h, ca),
                fail_reasons(h, ca.batch, attempt),
                h.tp(ca).unwrap_or_default(),
                batch(h, ea),
                id(h, effect)
            )
        } else {
            format!(
                "{} landed at offset {co} of {} (batch {}), after {} at offset {eo} (batch {})",
                id(h, cause),
                h.tp(ca).unwrap_or_default(),
                batch(h, ca),
                id(h, effect),
                batch(h, ea)
            )
        }
    } else if same_tp {
        let delivered: Vec<&Rec> =
            of_event(h, cause.id).filter(|r| r.ty == Ty::Deliver && r.line <= cause.line).collect();
        let again = if delivered.len() > 1 {
            format!(
                ": {} was delivered {} times, the last at line {}",
                id(h, cause),
                delivered.len(),
                delivered.last().map_or(0, |r| r.line)
            )
        } else {
            String::new()
        };
        format!(
            "the log had them in order ({} at offset {co}, {} at {eo} of {}) but {} read or applied {} later{again}",
            id(h, cause),
            id(h, effect),
            h.tp(ca).unwrap_or_default(),
            node(h, cause),
            id(h, cause)
        )
    } else {
        format!(
            "they went to different partitions ({} to {}, {} to {}), which are read independently, so nothing kept their order",
            id(h, cause),
            h.tp(ca).unwrap_or_default(),
            id(h, effect),
            h.tp(ea).unwrap_or_default()
        )
    }
}

/// Why an event applied at `first` was applied again at `again`.
fn why_again(h: &History, first: &Rec, again: &Rec) -> String {
    if first.offset.is_some() && (first.offset != again.offset || first.partition != again.partition) {
        if let (Some(a), Some(b)) = (landing(h, first), landing(h, again)) {
            return format!("it was in the log twice ({}): {}", offsets(h, a, b), why_two_copies(h, a, b));
        }
    }
    // The same offset, delivered again: a seek or a new owner.
    let lo = first.line;
    let hi = again.line;
    let tp_recs = again.topic.zip(again.partition).and_then(|tp| h.index.by_tp.get(&tp));
    let moved = tp_recs.into_iter().flatten().map(|i| &h.recs[*i]).find(|r| {
        r.line > lo
            && r.line < hi
            && matches!(r.ty, Ty::Seek | Ty::Assign)
            && r.node == again.node
            && r.topic == again.topic
            && (r.partition == again.partition || again.partition.is_some_and(|p| r.parts.contains(&p)))
    });
    let who = if first.node != again.node {
        format!("{} took over from {}", node(h, again), node(h, first))
    } else {
        format!("{} read it again", node(h, again))
    };
    match moved {
        Some(m) if m.ty == Ty::Seek => format!(
            "{who}: at line {} it went back to offset {} of {} ({}), below what had been processed",
            m.line,
            m.offset.unwrap_or(0),
            h.tp(m).unwrap_or_default(),
            m.reason.map_or("seek", |x| h.s(x))
        ),
        Some(m) => format!(
            "{who} after the assignment at line {} (generation {}), from the last committed offset",
            m.line,
            m.generation.unwrap_or(0)
        ),
        None => format!("{who}: it was delivered again at the same offset"),
    }
}

/// Why one event has two appends `a` (first) and `b`.
fn why_two_copies(h: &History, a: &Rec, b: &Rec) -> String {
    if a.batch.is_some() && a.batch == b.batch {
        let attempt = b.attempt.unwrap_or(1);
        format!(
            "batch {}'s attempt {} had landed but the producer did not learn it ({}) and its retry, attempt {attempt}, landed again",
            batch(h, a),
            a.attempt.unwrap_or(1),
            fail_reasons(h, a.batch, attempt)
        )
    } else {
        format!("it was sent in two batches ({} and {})", batch(h, a), batch(h, b))
    }
}

fn final_state(h: &History, w: &[&Rec]) -> Option<String> {
    let state = w.iter().find(|r| r.ty == Ty::State)?;
    let creates: Vec<&Rec> = w.iter().copied().filter(|r| r.ty == Ty::Create).collect();
    let latest = creates.first()?;
    let applies: Vec<&Rec> = w.iter().copied().filter(|r| r.ty == Ty::Apply).collect();
    let stale = applies.iter().rev().find(|a| a.id != latest.id)?;
    let latest_apply = applies.iter().find(|a| a.id == latest.id);
    let entity = state.entity.map_or("?", |e| h.s(e));
    let ended = state.text.as_deref().unwrap_or("");
    // The stale event's last apply in the group (it may come after the witness's).
    let stale_last = of_event(h, stale.id)
        .filter(|r| r.ty == Ty::Apply && r.group == stale.group && r.line <= state.line)
        .last()
        .unwrap_or(stale);
    if let Some(la) = latest_apply {
        if stale_last.line > la.line && stale_last.line != stale.line {
            let first = applies.iter().find(|a| a.id == stale.id).copied().unwrap_or(stale);
            return Some(format!(
                "{entity} ended as {ended} because event {}, which precedes {}, was applied again at line {} after {} (line {}): {}",
                id(h, stale),
                id(h, latest),
                stale_last.line,
                id(h, latest),
                la.line,
                why_again(h, first, stale_last)
            ));
        }
    }
    match latest_apply {
        Some(la) if la.line < stale.line => Some(format!(
            "{entity} ended as {ended} because event {}, which precedes {}, was applied after it: {}",
            id(h, stale),
            id(h, latest),
            why_after(h, stale, la)
        )),
        Some(la) => Some(format!(
            "{entity} ended as {ended}: the stale event {} (line {}) was applied before {} (line {}), so the projection did not keep the latest write",
            id(h, stale),
            stale.line,
            id(h, latest),
            la.line
        )),
        None => {
            let discarded = of_event(h, latest.id).find(|r| r.ty == Ty::Discard);
            Some(match discarded {
                Some(d) => format!(
                    "{entity} ended as {ended} because its latest event {} was discarded at line {} ({}) and {} was applied",
                    id(h, latest),
                    d.line,
                    d.reason.map_or("?", |x| h.s(x)),
                    id(h, stale)
                ),
                None => format!("{entity} ended as {ended}: the stale event {} was applied at line {}", id(h, stale), stale_last.line),
            })
        }
    }
}

/// Leader changes, truncations and faults between the first and last witness record,
/// as a clause ("; in that window: 1 leader change (line 40), 1 crash of b0 (line 38)").
fn chain_facts(h: &History, w: &[&Rec]) -> String {
    let (Some(lo), Some(hi)) = (w.iter().map(|r| r.t).min(), w.iter().map(|r| r.t).max()) else {
        return String::new();
    };
    let mut facts = Vec::new();
    for r in h.index.structural.iter().map(|i| &h.recs[*i]) {
        if r.t < lo.max(1) {
            continue;
        }
        if r.t > hi || facts.len() >= 4 {
            break;
        }
        let fact = match r.ty {
            Ty::Leader => format!("{} became leader of {} (line {})", node(h, r), h.tp(r).unwrap_or_default(), r.line),
            Ty::Truncate => format!("{} truncated {} (line {})", node(h, r), h.tp(r).unwrap_or_default(), r.line),
            Ty::Other => continue,
            t if t.is_fault() => format!("{} {} (line {})", h.s(r.ty_name).replace('_', " "), who(h, r), r.line),
            _ => continue,
        };
        facts.push(fact);
    }
    if facts.is_empty() {
        String::new()
    } else {
        format!("; meanwhile {}", facts.join(", "))
    }
}

fn who(h: &History, r: &Rec) -> String {
    if let Some(n) = r.node {
        return format!("of {}", h.s(n));
    }
    let list = |l: &[Sym]| l.iter().map(|n| h.s(*n)).collect::<Vec<_>>().join(",");
    format!("{} / {}", list(&r.list), list(&r.list2))
}

/// `lost_write` and `divergent_log`: an offset that held (or was acknowledged for) one
/// event and later held another: who appended the second, after which leader change.
fn lost_offset(h: &History, w: &[&Rec]) -> Option<String> {
    // The first thing the witness places at an offset: an ack (its offset is the batch's
    // base), an append or a delivery.
    let first = w.iter().find(|r| matches!(r.ty, Ty::Ack | Ty::Append | Ty::Deliver) && r.offset.is_some())?;
    let (topic, partition, offset) = (first.topic?, first.partition?, first.offset?);
    let event = match first.ty {
        Ty::Ack => of_batch(h, first.batch)
            .find(|r| r.ty == Ty::Append && r.attempt == first.attempt && r.offset == Some(offset))
            .and_then(|r| r.id),
        _ => first.id,
    };
    let list = h.index.by_tp.get(&(topic, partition))?;
    let other = list.iter().map(|i| &h.recs[*i]).find(|r| {
        r.ty == Ty::Append && r.line > first.line && r.offset == Some(offset) && event.is_some() && r.id != event
    })?;
    let leader = list
        .iter()
        .map(|i| &h.recs[*i])
        .filter(|r| matches!(r.ty, Ty::Leader | Ty::Truncate) && r.line > first.line && r.line < other.line)
        .map(|r| {
            if r.ty == Ty::Leader {
                format!("{} became leader (line {}, epoch {})", node(h, r), r.line, r.num.unwrap_or(0))
            } else {
                format!("{} truncated from offset {} (line {})", node(h, r), r.offset.unwrap_or(0), r.line)
            }
        })
        .collect::<Vec<_>>();
    let what = match first.ty {
        Ty::Ack => "was acknowledged at",
        Ty::Deliver => "was read at",
        _ => "was appended at",
    };
    let tp = h.tp(first).unwrap_or_default();
    let then = if leader.is_empty() { String::new() } else { format!(", then {}", leader.join(", ")) };
    let verdict = if leader.is_empty() {
        let first_append = list
            .iter()
            .map(|i| &h.recs[*i])
            .find(|r| r.ty == Ty::Append && r.offset == Some(offset) && r.id == event && r.line <= other.line);
        match (first_append.and_then(|r| r.num), other.num) {
            (Some(a), Some(b)) if a != b => {
                format!("two leaders (epochs {a} and {b}) appended at one offset: one of them had been replaced")
            }
            _ => "two appends claim one offset".to_string(),
        }
    } else {
        "the log lost the first and reused its place".to_string()
    };
    Some(format!(
        "event {} {what} {tp} offset {offset} (line {}){then}, and {} appended event {} at the same offset (line {}): {verdict}",
        event.map_or("?", |e| h.s(e)),
        first.line,
        node(h, other),
        id(h, other),
        other.line
    ))
}
