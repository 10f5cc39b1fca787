//! `ordo diagram`: a space-time diagram of a history (or of a selection of it, as
//! `ordo trace` selects): one lane per node, time running down, arrows for
//! send → append → deliver → apply and for commits, retries dashed, faults as shaded
//! spans. `svg.rs` writes a static picture; `html.rs` one self-contained page (inline
//! script and style, nothing fetched) that draws only the rows on screen, so a 10^5-record
//! history opens at once. Both draw the same [`Layout`].
//!
//! Rows: one per record shown, in history order, so records at the same instant stay
//! apart; the time in ms is written beside the rows (vertical distance is order, not
//! duration). Records of types this version does not know are drawn as plain marks with
//! their words, never dropped.

#![allow(clippy::disallowed_types)]

mod html;
mod svg;

use std::collections::{BTreeSet, HashMap};

use crate::trace::{History, Loaded, Rec, Selection, Story, Sym, Ty};

pub use html::html;
pub use svg::svg;

/// The lane of a record that has no node (drawn in the margin).
pub const NO_LANE: usize = usize::MAX;

/// A lane: one node.
pub struct Lane {
    pub name: String,
    /// `producer`, `broker`, `consumer`, `controller` or `other`.
    pub role: &'static str,
}

/// How an arrow is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Send,
    Retry,
    Ack,
    Deliver,
    Apply,
    Commit,
}

impl LinkKind {
    pub fn name(self) -> &'static str {
        match self {
            LinkKind::Send => "send",
            LinkKind::Retry => "retry",
            LinkKind::Ack => "ack",
            LinkKind::Deliver => "deliver",
            LinkKind::Apply => "apply",
            LinkKind::Commit => "commit",
        }
    }
}

/// One drawn record.
pub struct Item {
    pub rec: usize,
    pub lane: usize,
    /// Short label drawn beside the mark.
    pub label: String,
    /// The record in words (hover, tooltips).
    pub words: String,
    /// Entities the record is about (indices into `Layout::entities`).
    pub entities: Vec<u32>,
    /// Partition index into `Layout::partitions`, if any.
    pub partition: Option<u32>,
    pub witness: bool,
}

/// A fault span on a lane, rows `from..=to`.
pub struct Span {
    pub lane: usize,
    pub from: usize,
    pub to: usize,
    pub what: String,
}

/// One anomaly for the HTML's side list.
pub struct ViolationInfo {
    pub number: usize,
    pub title: String,
    pub sentence: String,
    pub witness: Vec<u64>,
    pub chain: Vec<u64>,
}

/// Everything a renderer needs.
pub struct Layout {
    pub title: String,
    pub lanes: Vec<Lane>,
    pub items: Vec<Item>,
    /// (from item, to item, kind)
    pub links: Vec<(usize, usize, LinkKind)>,
    pub spans: Vec<Span>,
    pub entities: Vec<String>,
    pub partitions: Vec<String>,
    pub violations: Vec<ViolationInfo>,
    pub violations_total: usize,
    pub sentence: Option<String>,
    /// Whether a selection's witness is highlighted (the rest faded).
    pub focused: bool,
}

/// Anomalies whose chains the HTML lists (the rest are counted; `ordo trace` shows any).
pub const HTML_VIOLATIONS: usize = 200;

fn role(h: &History, node: Sym, roles: &HashMap<Sym, u8>) -> (&'static str, u8) {
    let name = h.s(node);
    if name == "ctl" {
        return ("controller", 3);
    }
    match roles.get(&node) {
        Some(0) => ("producer", 0),
        Some(1) => ("broker", 1),
        Some(2) => ("consumer", 2),
        _ => ("other", 4),
    }
}

/// Splits `p12` into ("p", 12) for a natural order of node names.
fn natural(name: &str) -> (String, u64, String) {
    let digits = name.trim_start_matches(|c: char| !c.is_ascii_digit());
    let prefix = &name[..name.len() - digits.len()];
    let number: String = digits.chars().take_while(char::is_ascii_digit).collect();
    (prefix.to_string(), number.parse().unwrap_or(0), name.to_string())
}

/// Every node of the history, as lanes, producers first, then brokers, consumers, the
/// controller, and any other.
pub fn lanes(h: &History) -> (Vec<Lane>, HashMap<Sym, usize>) {
    let mut roles: HashMap<Sym, u8> = HashMap::new();
    let mut nodes: BTreeSet<Sym> = BTreeSet::new();
    for r in &h.recs {
        let mine = match r.ty {
            Ty::Create | Ty::ProducerInit | Ty::Send | Ty::Ack | Ty::Fail => Some(0),
            Ty::Append | Ty::Replicate | Ty::Dedup | Ty::Reject | Ty::Leader | Ty::Truncate => Some(1),
            t if t.is_consumer() => Some(2),
            _ => None,
        };
        if let Some(n) = r.node {
            nodes.insert(n);
            if let Some(role) = mine {
                roles.entry(n).or_insert(role);
            }
        }
        if matches!(r.ty, Ty::NetPartition | Ty::NetHeal | Ty::Link) {
            nodes.extend(r.list.iter().chain(&r.list2));
        }
    }
    let mut sorted: Vec<(u8, (String, u64, String), Sym)> =
        nodes.into_iter().map(|n| (role(h, n, &roles).1, natural(h.s(n)), n)).collect();
    sorted.sort();
    let mut index = HashMap::new();
    let lanes = sorted
        .iter()
        .enumerate()
        .map(|(i, (_, _, n))| {
            index.insert(*n, i);
            Lane { name: h.s(*n).to_string(), role: role(h, *n, &roles).0 }
        })
        .collect();
    (lanes, index)
}

/// A short label for a record's mark.
pub fn label(h: &History, r: &Rec) -> String {
    let s = |x: Option<Sym>| x.map_or("?", |x| h.s(x));
    let tp = || match (r.partition, r.offset) {
        (Some(p), Some(o)) => format!("{p}@{o}"),
        (Some(p), None) => format!("{p}"),
        _ => String::new(),
    };
    match r.ty {
        Ty::Create => format!("create {}", s(r.id)),
        Ty::Send => {
            let ev: Vec<&str> = r.list.iter().take(3).map(|e| h.s(*e)).collect();
            let more = if r.list.len() > 3 { ",…" } else { "" };
            format!("send b{} #{} [{}{more}]", s(r.batch), r.attempt.unwrap_or(1), ev.join(","))
        }
        Ty::Ack => format!("ack b{} {}", s(r.batch), tp()),
        Ty::Fail => format!("fail b{} #{}: {}", s(r.batch), r.attempt.unwrap_or(1), s(r.reason)),
        Ty::Append => format!("append {} {}", s(r.id), tp()),
        Ty::Dedup => format!("dedup b{}", s(r.batch)),
        Ty::Reject => format!("reject b{}: {}", s(r.batch), s(r.reason)),
        Ty::Leader => format!("leader {} e{}", tp(), r.num.unwrap_or(0)),
        Ty::Truncate => format!("truncate {}", tp()),
        Ty::Replicate => {
            let n = r.count.unwrap_or(0);
            format!("copy {}+{n} e{}", tp(), r.num.unwrap_or(0))
        }
        Ty::RebalanceStart => format!("rebalance starts g{}: {}", r.generation.unwrap_or(0), s(r.reason)),
        Ty::Rebalance => format!("rebalance → g{}", r.generation.unwrap_or(0)),
        Ty::Link => {
            let names = |l: &[Sym]| l.iter().map(|n| h.s(*n)).collect::<Vec<_>>().join(",");
            format!("link {}→{}", names(&r.list), names(&r.list2))
        }
        Ty::Assign | Ty::Revoke => {
            let parts: Vec<String> = r.parts.iter().map(u64::to_string).collect();
            format!("{} {} g{}", h.s(r.ty_name), parts.join(","), r.generation.unwrap_or(0))
        }
        Ty::Seek => format!("seek {}", tp()),
        Ty::Deliver => format!("recv {} {}", s(r.id), tp()),
        Ty::Apply => format!("apply {}", s(r.id)),
        Ty::Discard => format!("discard {}: {}", s(r.id), s(r.reason)),
        Ty::Commit => format!("commit {}{}", tp(), if r.flag == Some(false) { " refused" } else { "" }),
        Ty::QueueAck => format!("ack {} {}", s(r.id), tp()),
        Ty::Nack => format!("nack {} {}", s(r.id), tp()),
        Ty::State => format!("state {}", s(r.entity)),
        Ty::End => format!("end: {}", s(r.reason)),
        _ => h.s(r.ty_name).replace('_', " "),
    }
}

/// The lane a record is drawn on: its node, else (state, end, network faults) none.
fn lane_of(r: &Rec, index: &HashMap<Sym, usize>) -> Option<usize> {
    r.node.and_then(|n| index.get(&n).copied())
}

/// Builds the layout of a selection. `focus`: a violation's story (witness highlighted).
pub fn layout(loaded: &Loaded, selection: &Selection) -> Result<Layout, String> {
    let h = &loaded.history;
    let story: Story = loaded.select(selection)?;
    let focused = matches!(selection, Selection::Violation(_));
    let (lanes, index) = lanes(h);
    let mut entity_of: HashMap<Sym, Sym> = HashMap::new();
    for r in &h.recs {
        if let (Ty::Create, Some(id), Some(e)) = (r.ty, r.id, r.entity) {
            entity_of.insert(id, e);
        }
    }
    let mut entities: Vec<String> = Vec::new();
    let mut entity_index: HashMap<Sym, u32> = HashMap::new();
    let mut partitions: Vec<String> = Vec::new();
    let mut partition_index: HashMap<(Sym, u64), u32> = HashMap::new();
    let mut items: Vec<Item> = Vec::new();
    let mut item_of: HashMap<usize, usize> = HashMap::new();
    for &i in &story.recs {
        let r = &h.recs[i];
        // Records with no node of their own (state, end, network faults) are drawn in
        // the left margin (`NO_LANE`), not dropped.
        let lane = lane_of(r, &index).unwrap_or(NO_LANE);
        let mut ents: Vec<u32> = Vec::new();
        let mut add = |e: Sym, ents: &mut Vec<u32>| {
            let next = u32::try_from(entities.len()).unwrap_or(u32::MAX);
            let k = *entity_index.entry(e).or_insert_with(|| {
                entities.push(h.s(e).to_string());
                next
            });
            if !ents.contains(&k) {
                ents.push(k);
            }
        };
        if let Some(e) = r.entity {
            add(e, &mut ents);
        }
        for id in r.id.iter().chain(if r.ty == Ty::Send { r.list.iter() } else { [].iter() }) {
            if let Some(e) = entity_of.get(id) {
                add(*e, &mut ents);
            }
        }
        let partition = match (r.topic, r.partition) {
            (Some(t), Some(p)) => {
                let next = u32::try_from(partitions.len()).unwrap_or(u32::MAX);
                Some(*partition_index.entry((t, p)).or_insert_with(|| {
                    partitions.push(format!("{}/{p}", h.s(t)));
                    next
                }))
            }
            _ => None,
        };
        item_of.insert(i, items.len());
        items.push(Item {
            rec: i,
            lane,
            label: label(h, r),
            words: crate::trace::words(h, r),
            entities: ents,
            partition,
            witness: story.witness.contains(&r.line),
        });
    }
    let links = links(h, &items, &item_of);
    let spans = spans(h, &items, &index);
    let mut violations = Vec::new();
    if let Selection::Violation(n) = selection {
        violations.push(ViolationInfo {
            number: *n,
            title: story.title.clone(),
            sentence: story.sentence.clone().unwrap_or_default(),
            witness: story.witness.iter().copied().collect(),
            chain: story.recs.iter().map(|i| h.recs[*i].line).collect(),
        });
    } else {
        for (k, v) in loaded.report.violations.iter().take(HTML_VIOLATIONS).enumerate() {
            let story = loaded.select(&Selection::Violation(k + 1))?;
            violations.push(ViolationInfo {
                number: k + 1,
                title: format!(
                    "{}{} [{}]",
                    v.kind.name(),
                    if v.status == crate::checker::Status::Allowed { " (allowed)" } else { "" },
                    v.scope
                ),
                sentence: story.sentence.unwrap_or_default(),
                witness: v.witness.iter().map(|w| w.line).collect(),
                chain: story.recs.iter().map(|i| h.recs[*i].line).collect(),
            });
        }
    }
    Ok(Layout {
        title: story.title,
        lanes,
        items,
        links,
        spans,
        entities,
        partitions,
        violations,
        violations_total: loaded.report.violations.len(),
        sentence: story.sentence,
        focused,
    })
}

/// Arrows between drawn items: send → append (retry dashed), send → dedup/reject,
/// append → ack, append → deliver, deliver → apply, apply → commit.
fn links(h: &History, items: &[Item], item_of: &HashMap<usize, usize>) -> Vec<(usize, usize, LinkKind)> {
    let mut out = Vec::new();
    let mut sends: HashMap<(Sym, u64), usize> = HashMap::new();
    let mut first_append: HashMap<(Sym, u64), usize> = HashMap::new();
    let mut appends: HashMap<(Sym, u64, u64), usize> = HashMap::new();
    let mut delivers: HashMap<(Sym, Sym), usize> = HashMap::new();
    let mut applies: HashMap<(Sym, Sym, u64, u64), usize> = HashMap::new();
    for (k, item) in items.iter().enumerate() {
        let r = &h.recs[item.rec];
        let attempt = r.attempt.unwrap_or(1);
        match r.ty {
            Ty::Send => {
                if let Some(b) = r.batch {
                    sends.insert((b, attempt), k);
                }
            }
            Ty::Append | Ty::Dedup | Ty::Reject => {
                if let Some(&s) = r.batch.and_then(|b| sends.get(&(b, attempt))) {
                    out.push((s, k, if attempt > 1 { LinkKind::Retry } else { LinkKind::Send }));
                }
                if let Some(b) = r.batch {
                    first_append.entry((b, attempt)).or_insert(k);
                }
                if let (Ty::Append, Some(t), Some(p), Some(o)) = (r.ty, r.topic, r.partition, r.offset) {
                    appends.insert((t, p, o), k);
                }
            }
            Ty::Ack => {
                if let Some(&a) = r.batch.and_then(|b| first_append.get(&(b, attempt))) {
                    out.push((a, k, LinkKind::Ack));
                }
            }
            Ty::Deliver => {
                if let (Some(t), Some(p), Some(o)) = (r.topic, r.partition, r.offset) {
                    if let Some(&a) = appends.get(&(t, p, o)) {
                        out.push((a, k, LinkKind::Deliver));
                    }
                }
                if let (Some(n), Some(id)) = (r.node, r.id) {
                    delivers.insert((n, id), k);
                }
            }
            Ty::Apply => {
                if let Some(&d) = r.node.zip(r.id).and_then(|key| delivers.get(&key)) {
                    out.push((d, k, LinkKind::Apply));
                }
                if let (Some(n), Some(t), Some(p), Some(o)) = (r.node, r.topic, r.partition, r.offset) {
                    applies.insert((n, t, p, o), k);
                }
            }
            Ty::Commit => {
                if let (Some(n), Some(t), Some(p), Some(o)) = (r.node, r.topic, r.partition, r.offset) {
                    if let Some(&a) = o.checked_sub(1).and_then(|o| applies.get(&(n, t, p, o))) {
                        out.push((a, k, LinkKind::Commit));
                    }
                }
            }
            _ => {}
        }
    }
    let _ = item_of;
    out
}

/// Fault spans: crash → restart and pause → resume on the node's lane, a network cut →
/// its heal on the lanes it names; a span not closed runs to the last row.
fn spans(h: &History, items: &[Item], index: &HashMap<Sym, usize>) -> Vec<Span> {
    let last = items.len().saturating_sub(1);
    let mut open: Vec<(usize, usize, &'static str, Ty)> = Vec::new(); // (lane, from row, what, closing type)
    let mut out = Vec::new();
    for (k, item) in items.iter().enumerate() {
        let r = &h.recs[item.rec];
        let lanes_of = |list: &[Sym]| list.iter().filter_map(|n| index.get(n).copied()).collect::<Vec<_>>();
        match r.ty {
            Ty::Crash | Ty::Pause => {
                let (what, close) = if r.ty == Ty::Crash { ("crashed", Ty::Restart) } else { ("paused", Ty::Resume) };
                if let Some(n) = r.node.and_then(|n| index.get(&n)) {
                    open.push((*n, k, what, close));
                }
            }
            Ty::Restart | Ty::Resume => {
                if let Some(&n) = r.node.and_then(|n| index.get(&n)) {
                    if let Some(pos) = open.iter().position(|o| o.0 == n && o.3 == r.ty) {
                        let (lane, from, what, _) = open.remove(pos);
                        out.push(Span { lane, from, to: k, what: what.into() });
                    }
                }
            }
            Ty::NetPartition => {
                for n in lanes_of(&r.list).into_iter().chain(lanes_of(&r.list2)) {
                    open.push((n, k, "cut off", Ty::NetHeal));
                }
            }
            Ty::NetHeal => {
                for n in lanes_of(&r.list).into_iter().chain(lanes_of(&r.list2)) {
                    if let Some(pos) = open.iter().position(|o| o.0 == n && o.3 == Ty::NetHeal) {
                        let (lane, from, what, _) = open.remove(pos);
                        out.push(Span { lane, from, to: k, what: what.into() });
                    }
                }
            }
            _ => {}
        }
    }
    for (lane, from, what, _) in open {
        out.push(Span { lane, from, to: last, what: format!("{what} (to the end)") });
    }
    out.sort_by_key(|s| (s.from, s.lane));
    out
}

/// Escapes text for XML and HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Which format to write, from the output file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Html,
}

impl Format {
    /// `.svg` or `.html`/`.htm`; anything else is an error naming the path.
    pub fn of(path: &std::path::Path) -> Result<Format, String> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("svg") => Ok(Format::Svg),
            Some("html" | "htm") => Ok(Format::Html),
            _ => Err(format!("{}: expected a file name ending in .svg or .html", path.display())),
        }
    }
}

/// Renders a layout in a format.
pub fn render(layout: &Layout, h: &History, format: Format) -> String {
    match format {
        Format::Svg => svg(layout, h),
        Format::Html => html(layout, h),
    }
}
