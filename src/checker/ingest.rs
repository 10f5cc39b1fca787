//! One pass over the records: validation (typed errors with line numbers), the compact
//! tables the end-of-history analysis needs, and the checks that can be decided while
//! streaming (log divergence, duplicate appends, consumer positions, commits, clocks).
//!
//! Same-`t` rule: two records with equal `t` on different nodes are unordered. Streaming
//! checks that compare a record with earlier ones therefore compare with what happened at
//! an earlier `t`, or earlier on the same node (see [`Bucketed`]).

use std::collections::BTreeMap;

use super::error::CheckError;
use super::record::{describe_json_error, Header, IdRef, Meta, Raw, RECORD_TYPES, VERSION_2_TYPES};
use super::report::{Guarantee, Kind, Report, Unknown, Violation, Witness};
use super::tables::{Col, FxHashMap, Ids, Names, OffsetMap, NONE};

/// Anomalies of one kind kept with their witnesses; the rest are counted only, so memory
/// stays bounded when a strategy violates something on every record.
pub(crate) const KEPT_PER_KIND: u32 = 1000;

/// The `end` reasons of format v1.
pub(crate) const END_REASONS: &[&str] = &["quiescent", "time_limit", "event_limit", "livelock"];

/// Lines are stored as `u32`; longer histories are rejected with an error.
pub(crate) type Line = u32;

/// An apply (or discard) by a group, in file order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ApplyRec {
    pub t: u64,
    pub group: u32,
    pub node: u32,
    pub event: u32,
    pub line: Line,
    pub discard: bool,
}

/// An accepted `queue_ack` (the message left the queue), in file order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueueAckRec {
    pub t: u64,
    pub group: u32,
    pub node: u32,
    pub event: u32,
    pub part: u32,
    pub line: Line,
}

/// A delivery to one consumer (interned `(group, node)`), in file order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeliverRec {
    pub t: u64,
    pub consumer: u32,
    pub node: u32,
    pub event: u32,
    pub line: Line,
}

/// A `state` record.
#[derive(Debug)]
pub(crate) struct StateRec {
    pub group: u32,
    pub entity: u32,
    pub line: Line,
    pub fields: Vec<(u32, Box<str>)>,
}

/// A produce batch, from its sends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batch {
    pub node: u32,
    pub part: u32,
    pub send_line: Line,
    pub events: (u32, u32),
    pub ack: Option<(Line, Option<u64>)>,
    /// The highest attempt sent so far, and the line of that send.
    pub attempt: (u64, Line),
}

/// A new owner starting above the committed offset (or, when the group has no commit for
/// the partition, above its first record), judged at the end of the history.
#[derive(Debug)]
pub(crate) struct SkipCandidate {
    pub group: u32,
    pub part: u32,
    /// The committed offset; `None`: no commit, so from the partition's first record.
    pub from: Option<u64>,
    pub to: u64,
    pub message: String,
    pub witness: Vec<Witness>,
}

/// A second append of an event in one partition, judged at the end of the history.
#[derive(Debug)]
pub(crate) struct DupAppend {
    pub event: u32,
    pub part: u32,
    pub first: (u64, Line),
    pub second: (u64, Line),
    pub cause: String,
}

/// One appended record in a partition log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogEntry {
    pub event: u32,
    pub line: Line,
    pub batch: u32,
    pub attempt: u64,
    pub pid: Option<i64>,
    pub seq: Option<i64>,
    /// Leader changes and truncations of the partition before this append.
    pub era: u32,
}

/// The first delivery observed at an offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeenEntry {
    pub event: u32,
    pub line: Line,
}

/// Per partition state.
#[derive(Debug, Default)]
pub(crate) struct PartLog {
    pub name: std::rc::Rc<str>,
    /// A queue's journal (the header says `"kind":"queue"`): deliveries follow no position.
    pub queue: bool,
    pub log: OffsetMap<LogEntry>,
    pub seen: OffsetMap<SeenEntry>,
    pub era: u32,
    pub has_appends: bool,
    /// The current leader: from `leader` records, else the node of the last append.
    pub leader: Option<u32>,
    pub leader_recorded: bool,
    /// The highest leader epoch announced by a `leader` record.
    pub leader_epoch: Option<i64>,
    /// Appends by a deposed leader (an epoch below `leader_epoch`), which are not part of
    /// the partition's log: they matter only if someone reads them (judged on deliveries).
    pub stale_appends: u64,
    pub max_delivered: Option<(u64, Line)>,
    /// The lowest offset appended (by a current leader) or delivered.
    pub min_offset: Option<u64>,
    pub divergent_reported: std::collections::BTreeSet<u64>,
}

/// A consumer's position in one partition.
#[derive(Debug, Default, Clone, Copy)]
struct Position {
    owned: bool,
    expected: Option<(u64, Line)>,
    start_pending: Option<Line>,
    /// Highest position reached (seek offset or delivery + 1) and the line reaching it.
    max_pos: Option<(u64, Line)>,
    /// Everything below this is processed (applied or discarded) or was below the start.
    ok_upto: Option<(u64, Line)>,
}

/// Consumer positions by (group, node, partition): a dense table with a hash index (looked
/// up only; walked in insertion order).
#[derive(Debug, Default)]
struct Positions {
    index: FxHashMap<(u32, u32, u32), u32>,
    keys: Vec<(u32, u32, u32)>,
    values: Vec<Position>,
    /// Per position: the offsets delivered since its start and not yet applied or
    /// discarded, with their delivery lines (a commit past the lowest skips it, however
    /// far the member processed beyond it: key-lane processing commits out of order).
    unprocessed: Vec<BTreeMap<u64, (Line, u32)>>,
    /// (group, event) pairs the group applied or discarded (from any offset: a copy of an
    /// event at another offset settles it too).
    settled: FxHashMap<(u32, u32), ()>,
}

impl Positions {
    fn entry(&mut self, key: (u32, u32, u32)) -> &mut Position {
        let next = self.values.len() as u32;
        let i = *self.index.entry(key).or_insert(next);
        if i == next {
            self.keys.push(key);
            self.values.push(Position::default());
            self.unprocessed.push(BTreeMap::new());
        }
        &mut self.values[i as usize]
    }
    fn unprocessed_mut(&mut self, key: (u32, u32, u32)) -> &mut BTreeMap<u64, (Line, u32)> {
        self.entry(key);
        let i = self.index[&key];
        &mut self.unprocessed[i as usize]
    }
    /// The lowest offset delivered at this position whose event the group has not applied
    /// or discarded yet (from any copy), with its delivery line.
    fn lowest_unprocessed(&mut self, key: &(u32, u32, u32)) -> Option<(u64, Line)> {
        let &i = self.index.get(key)?;
        let pending = &mut self.unprocessed[i as usize];
        while let Some((&o, &(l, e))) = pending.first_key_value() {
            if !self.settled.contains_key(&(key.0, e)) {
                return Some((o, l));
            }
            pending.remove(&o);
        }
        None
    }
    fn get(&self, key: &(u32, u32, u32)) -> Option<&Position> {
        self.index.get(key).map(|&i| &self.values[i as usize])
    }
    fn get_mut(&mut self, key: &(u32, u32, u32)) -> Option<&mut Position> {
        self.index.get(key).map(|&i| &mut self.values[i as usize])
    }
    fn iter_mut(&mut self) -> impl Iterator<Item = (&(u32, u32, u32), &mut Position)> {
        self.keys.iter().zip(self.values.iter_mut())
    }
}

/// A maximum over records at earlier `t`, plus the current `t`'s records per node: the
/// value a record can be compared with without ordering different nodes at equal `t`.
#[derive(Debug, Default, Clone)]
struct Bucketed {
    before: Option<(u64, Line)>,
    bucket_t: u64,
    bucket: Vec<(u32, u64, Line)>,
}

impl Bucketed {
    fn roll(&mut self, t: u64) {
        if t > self.bucket_t {
            for (_, v, l) in self.bucket.drain(..) {
                if self.before.map_or(true, |(b, _)| v > b) {
                    self.before = Some((v, l));
                }
            }
            self.bucket_t = t;
        }
    }
    /// The largest value before this record (earlier `t`, or same `t` and node).
    fn max_before(&mut self, t: u64, node: u32) -> Option<(u64, Line)> {
        self.roll(t);
        let mut best = self.before;
        for &(n, v, l) in &self.bucket {
            if n == node && best.map_or(true, |(b, _)| v > b) {
                best = Some((v, l));
            }
        }
        best
    }
    fn push(&mut self, t: u64, node: u32, v: u64, line: Line) {
        self.roll(t);
        self.bucket.push((node, v, line));
    }
}

#[derive(Debug, Default)]
struct CommitState {
    history: Bucketed,
    /// The latest accepted commit, its (t, node), and the latest one at an earlier t.
    last: Option<(u64, Line)>,
    last_at: (u64, u32),
    before_last_t: Option<(u64, Line)>,
}

impl CommitState {
    /// The committed offset as seen by a record of `node` at `t`: a commit at the same
    /// `t` by another node is unordered with it and not counted.
    fn committed(&self, t: u64, node: u32) -> Option<(u64, Line)> {
        if self.last_at.0 < t || self.last_at.1 == node {
            self.last
        } else {
            self.before_last_t
        }
    }
}

#[derive(Debug, Default)]
struct GroupState {
    generations: Bucketed,
    applies_seen: bool,
    applies_unresolved: Option<Line>,
}

/// Everything known about events, as columns indexed by the dense event index.
#[derive(Debug, Default)]
pub(crate) struct Events {
    pub ids: Ids,
    pub create_line: Vec<Line>,
    pub creator: Vec<u32>,
    pub entity: Vec<u32>,
    pub deps: Vec<(u32, u32)>,
    pub dep_arena: Vec<u32>,
    pub writes: Vec<(u32, u32)>,
    pub write_arena: Vec<(u32, u32, u32)>,
    pub write_bytes: Vec<u8>,
    pub seq: Col,
    pub lamport: Col,
    /// A hybrid logical clock's two parts (`meta.hlc`).
    pub hlc_l: Col,
    pub hlc_c: Col,
    pub ts: Col,
    pub clock: Col,
    pub vc: FxHashMap<u32, Box<[(u32, i64)]>>,
    /// First append: (partition, offset, line).
    pub first_append: Vec<(u32, u64, Line)>,
    /// First delivery: (partition, offset, line).
    pub first_deliver: Vec<(u32, u64, Line)>,
    pub acked: Vec<bool>,
    /// Event indices in create order (a topological order of `deps`).
    pub create_order: Vec<u32>,
}

impl Events {
    fn intern(&mut self, id: &IdRef<'_>) -> u32 {
        let (i, new) = self.ids.intern(id);
        if new {
            self.create_line.push(0);
            self.creator.push(NONE);
            self.entity.push(NONE);
            self.deps.push((0, 0));
            self.writes.push((0, 0));
            self.first_append.push((NONE, 0, 0));
            self.first_deliver.push((NONE, 0, 0));
            self.acked.push(false);
        }
        i
    }
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn deps_of(&self, e: u32) -> &[u32] {
        let (s, n) = self.deps[e as usize];
        &self.dep_arena[s as usize..(s + n) as usize]
    }
    pub fn writes_of(&self, e: u32) -> &[(u32, u32, u32)] {
        let (s, n) = self.writes[e as usize];
        &self.write_arena[s as usize..(s + n) as usize]
    }
    pub fn value(&self, w: (u32, u32, u32)) -> &str {
        let bytes = &self.write_bytes[w.1 as usize..(w.1 + w.2) as usize];
        std::str::from_utf8(bytes).unwrap_or("?")
    }
    pub fn name(&self, e: u32) -> String {
        self.ids.name(e)
    }
    pub fn created(&self, e: u32) -> bool {
        self.create_line[e as usize] != 0
    }
}

/// How applies combine a field's writes (the header's `operations`; `set` otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldOp {
    /// Each write is an integer added to the field (a counter, a balance).
    Increment,
    /// Each write is an item appended to the field's list (written comma-separated).
    Append,
}

/// The whole ingestion state.
pub(crate) struct Ingest<'s> {
    pub source: &'s str,
    pub report: Report,
    pub line: u64,
    last_t: Option<u64>,
    topics: Option<BTreeMap<String, u32>>,
    /// Topics the header declares as queues.
    queue_topics: std::collections::BTreeSet<String>,
    /// The header's format version (1 or 2).
    version: u64,
    pub nodes: Names,
    pub groups: Names,
    pub entities: Names,
    pub fields: Names,
    /// Fields the header declares as combined by something other than `set`, by field id.
    pub field_ops: BTreeMap<u32, FieldOp>,
    part_ids: FxHashMap<Box<str>, FxHashMap<u32, u32>>,
    /// The first topic looked up and its partitions' ids by number (NONE: not seen yet), so
    /// that the usual one-topic history finds a partition without hashing. Only the first:
    /// switching it to the latest topic would cost a rebuild per record on a history whose
    /// records alternate topics.
    part_cache: (Box<str>, Vec<u32>),
    pub parts: Vec<PartLog>,
    consumer_ids: FxHashMap<(u32, u32), u32>,
    pub consumer_of: Vec<(u32, u32)>,
    pub ev: Events,
    batch_ids: Ids,
    pub batches: Vec<Batch>,
    pub batch_events: Vec<u32>,
    positions: Positions,
    commits: BTreeMap<(u32, u32), CommitState>,
    group_state: Vec<GroupState>,
    pub applies: Vec<ApplyRec>,
    pub queue_acks: Vec<QueueAckRec>,
    pub delivers: Vec<DeliverRec>,
    pub states: Vec<StateRec>,
    pub dup_appends: Vec<DupAppend>,
    pub rebalance_skips: Vec<SkipCandidate>,
    pub end: Option<(Line, String)>,
    pending: Vec<(u32, Line, &'static str)>,
    pending_t: u64,
    kept: [u32; 32],
}

fn w(line: Line, what: String) -> Witness {
    Witness { line: u64::from(line), what, record: None }
}

/// A required field, or an error naming it.
macro_rules! req {
    ($self:ident, $raw:ident, $ty:expr, $field:ident) => {
        match $raw.$field.as_ref() {
            Some(v) => v,
            None => return Err($self.err(format!("{} record lacks required field \"{}\"", $ty, stringify!($field)))),
        }
    };
}

impl<'s> Ingest<'s> {
    pub fn new(source: &'s str) -> Ingest<'s> {
        Ingest {
            source,
            report: Report::new(source),
            line: 0,
            last_t: None,
            topics: None,
            queue_topics: std::collections::BTreeSet::new(),
            version: 2,
            nodes: Names::default(),
            groups: Names::default(),
            entities: Names::default(),
            fields: Names::default(),
            field_ops: BTreeMap::new(),
            part_ids: FxHashMap::default(),
            part_cache: (Box::from(""), Vec::new()),
            parts: Vec::new(),
            consumer_ids: FxHashMap::default(),
            consumer_of: Vec::new(),
            ev: Events::default(),
            batch_ids: Ids::default(),
            batches: Vec::new(),
            batch_events: Vec::new(),
            positions: Positions::default(),
            commits: BTreeMap::new(),
            group_state: Vec::new(),
            applies: Vec::new(),
            queue_acks: Vec::new(),
            delivers: Vec::new(),
            states: Vec::new(),
            dup_appends: Vec::new(),
            rebalance_skips: Vec::new(),
            end: None,
            pending: Vec::new(),
            pending_t: 0,
            kept: [0; 32],
        }
    }

    pub fn err(&self, message: String) -> CheckError {
        CheckError::Invalid { source_name: self.source.to_string(), line: self.line, message }
    }

    /// A UTF-8 byte order mark is not JSON; say so rather than "expected value".
    fn no_bom(&self, bytes: &[u8]) -> Result<(), CheckError> {
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            return Err(self.err(
                "the line starts with a UTF-8 byte order mark (bytes EF BB BF); expected plain UTF-8 JSON without a BOM (save the file as UTF-8 without BOM)".into(),
            ));
        }
        Ok(())
    }

    fn err_at(&self, line: Line, message: String) -> CheckError {
        CheckError::Invalid { source_name: self.source.to_string(), line: u64::from(line), message }
    }

    fn cur(&self) -> Line {
        self.line as Line
    }

    /// Whether a new anomaly of `kind` will be kept with its witness (the first
    /// [`KEPT_PER_KIND`] of each kind are; later ones are only counted).
    pub fn keeps(&self, kind: Kind) -> bool {
        self.kept[kind as usize] < KEPT_PER_KIND
    }

    /// Counts an anomaly whose details are not kept.
    pub fn omit(&mut self, kind: Kind) {
        *self.report.omitted.entry(kind).or_insert(0) += 1;
    }

    /// Records an anomaly; returns its index when its details are kept.
    pub fn violate(&mut self, kind: Kind, scope: String, message: String, witness: Vec<Witness>) -> Option<usize> {
        if !self.keeps(kind) {
            self.omit(kind);
            return None;
        }
        self.kept[kind as usize] += 1;
        self.report.violations.push(Violation {
            kind,
            scope,
            message,
            witness,
            status: super::report::Status::Violated,
        });
        Some(self.report.violations.len() - 1)
    }

    pub fn unknown(&mut self, kind: Kind, reason: String) {
        let u = Unknown { kind, reason };
        if !self.report.unknown.contains(&u) {
            self.report.unknown.push(u);
        }
    }

    /// Line 1.
    pub fn header(&mut self, bytes: &[u8], expect: Option<&[Guarantee]>) -> Result<(), CheckError> {
        self.no_bom(bytes)?;
        let h: Header<'_> = serde_json::from_slice(bytes).map_err(|e| {
            self.err(format!(
                "{}; expected the header {{\"format\":\"ordo-history\",\"version\":1,…}}",
                describe_json_error(&e)
            ))
        })?;
        match h.format.as_ref().map(|f| f.0.as_ref()) {
            Some("ordo-history") => {}
            Some(other) => return Err(self.err(format!("header format is {other:?}; expected \"ordo-history\""))),
            None => return Err(self.err("first line is not a header: it lacks \"format\":\"ordo-history\"".into())),
        }
        match h.version {
            Some(v @ (1 | 2)) => self.version = v,
            Some(v) => {
                return Err(self.err(format!(
                    "history format version {v} is not supported; expected 1 or 2 (docs/history-format.md)"
                )))
            }
            None => return Err(self.err("header lacks required field \"version\"".into())),
        }
        if let Some(expect) = expect {
            let mut e = expect.to_vec();
            e.sort();
            e.dedup();
            self.report.expected = e;
            self.report.expected_from = "argument";
        } else if let Some(list) = &h.expect {
            if list.is_empty() {
                return Err(self.err(format!(
                    "header expect is []: a history that expects nothing can never be judged violated; expected one or more of {} (leave `expect` out to expect them all, or pass --expect)",
                    Guarantee::ALL.iter().map(|g| g.name()).collect::<Vec<_>>().join(", ")
                )));
            }
            let mut e = Vec::new();
            for name in list {
                e.push(Guarantee::parse(&name.0).map_err(|m| self.err(format!("header expect: {m}")))?);
            }
            e.sort();
            e.dedup();
            self.report.expected = e;
            self.report.expected_from = "header";
        }
        if let Some(topics) = &h.topics {
            let mut m = BTreeMap::new();
            for t in topics {
                if m.insert(t.name.0.to_string(), t.partitions).is_some() {
                    return Err(self.err(format!(
                        "header topics list {:?} twice; expected each topic once, with its partitions and kind",
                        t.name.0
                    )));
                }
                match t.kind.as_ref().map(|k| k.0.as_ref()) {
                    None | Some("log") => {}
                    Some("queue") => {
                        self.queue_topics.insert(t.name.0.to_string());
                    }
                    Some(other) => {
                        return Err(
                            self.err(format!("topic {:?} has kind {other:?}; expected \"log\" or \"queue\"", t.name.0))
                        )
                    }
                }
            }
            self.topics = Some(m);
        }
        if let Some(ops) = &h.operations {
            for (field, op) in &ops.0 {
                let op = match op.0.as_ref() {
                    "set" => continue,
                    "increment" => FieldOp::Increment,
                    "append" => FieldOp::Append,
                    other => {
                        return Err(self.err(format!(
                            "header operations: field {field:?} has operation {other:?}; expected \"set\", \"increment\" or \"append\""
                        )))
                    }
                };
                let f = self.fields.intern(field);
                if self.field_ops.insert(f, op).is_some() {
                    return Err(self.err(format!("header operations list field {field:?} twice; expected each once")));
                }
            }
        }
        if let Some(s) = &h.scenario {
            self.report.run.insert("scenario".into(), s.0.to_string());
        }
        if let Some(s) = &h.strategy {
            self.report.run.insert("strategy".into(), s.0.to_string());
        }
        if let Some(s) = &h.seed {
            let text = match s {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            self.report.run.insert("seed".into(), text);
        }
        Ok(())
    }

    /// Every line after the header.
    pub fn record(&mut self, bytes: &[u8]) -> Result<(), CheckError> {
        if self.line > u64::from(u32::MAX - 1) {
            return Err(self.err("history too long: more than 4294967294 lines".into()));
        }
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(self.err("empty line; expected one JSON object per line".into()));
        }
        self.no_bom(bytes)?;
        let mut raw = Raw::default();
        raw.parse_into(bytes).map_err(|e| self.err(describe_json_error(&e)))?;
        self.fields(&raw)
    }

    /// One record after the header, already split into fields (by the parse, or by
    /// ordo's compact history).
    pub fn fields(&mut self, raw: &Raw<'_>) -> Result<(), CheckError> {
        if self.line > u64::from(u32::MAX - 1) {
            return Err(self.err("history too long: more than 4294967294 lines".into()));
        }
        let ty = match &raw.ty {
            Some(t) => t.0.as_ref(),
            None => return Err(self.err("record lacks required field \"type\"".into())),
        };
        let Some(ty) = RECORD_TYPES.iter().copied().find(|k| *k == ty) else {
            return Err(self.err(format!("record type {ty:?} is unknown; expected one of {}", RECORD_TYPES.join(", "))));
        };
        if self.version < 2 && VERSION_2_TYPES.contains(&ty) {
            return Err(self.err(format!(
                "record type {ty:?} is new in format version 2; the header says version {}",
                self.version
            )));
        }
        let Some(t) = raw.t else {
            return Err(self.err(format!("{ty} record lacks required field \"t\"")));
        };
        if let Some((end_line, _)) = &self.end {
            return Err(
                self.err(format!("{ty} record after the end record at line {end_line}; end must be the last line"))
            );
        }
        if let Some(prev) = self.last_t {
            if t < prev {
                return Err(
                    self.err(format!("t={t} is below the previous record's t={prev} (records must be in time order)"))
                );
            }
        }
        if t > self.pending_t {
            self.flush_pending()?;
            self.pending_t = t;
        }
        self.last_t = Some(t);
        match ty {
            "create" => self.create(raw),
            "send" => self.send(raw),
            "ack" => self.ack(raw),
            "fail" => {
                req!(self, raw, ty, node);
                req!(self, raw, ty, attempt);
                req!(self, raw, ty, reason);
                req!(self, raw, ty, retry);
                self.batch_ref(raw, ty).map(|_| ())
            }
            "append" => self.append(raw, t),
            "dedup" | "reject" => {
                req!(self, raw, ty, node);
                req!(self, raw, ty, batch);
                if ty == "reject" {
                    req!(self, raw, ty, reason);
                }
                self.part(raw, ty).map(|_| ())
            }
            "producer_init" | "crash" | "restart" | "pause" | "resume" => {
                let node = req!(self, raw, ty, node).0.clone();
                let n = self.nodes.intern(&node);
                if ty == "crash" || ty == "restart" {
                    self.reset_node_positions(n);
                }
                Ok(())
            }
            "leader" | "truncate" => self.leader_or_truncate(raw, ty),
            "assign" | "revoke" => self.assign(raw, ty, t),
            "seek" => self.seek(raw, t),
            "deliver" => self.deliver(raw, t),
            "apply" | "discard" => self.apply(raw, ty, t),
            "commit" => self.commit(raw, t),
            "queue_ack" | "nack" => self.queue_settle(raw, ty, t),
            "state" => self.state(raw),
            "net_partition" | "net_heal" => Ok(()),
            "link" => self.link(raw),
            "replicate" => {
                // A follower's copy: validated, and never taken for a leader's append.
                req!(self, raw, ty, node);
                req!(self, raw, ty, offset);
                if *req!(self, raw, ty, count) == 0 {
                    return Err(self.err(
                        "replicate record's count is 0; expected the number of records copied, 1 or more".into(),
                    ));
                }
                self.part(raw, ty).map(|_| ())
            }
            "rebalance_start" | "rebalance" => self.rebalance(raw, ty),
            "clock_step" => {
                req!(self, raw, ty, node);
                req!(self, raw, ty, delta);
                Ok(())
            }
            "end" => {
                let reason = req!(self, raw, ty, reason).0.to_string();
                // The reason decides whether unread writes are judged (`quiescent` only), so
                // a reason the checker does not know would silently turn those checks off.
                if !END_REASONS.contains(&reason.as_str()) {
                    return Err(self.err(format!(
                        "end reason {reason:?} is unknown; expected one of {} (quiescent: everything produced was acknowledged or given up and consumed as far as it will be; the others: the run was cut short)",
                        END_REASONS.join(", ")
                    )));
                }
                self.end = Some((self.cur(), reason));
                Ok(())
            }
            _ => unreachable!("record type list and dispatch agree"),
        }
    }

    /// A `link` record: the fields must describe a link (the checker does not use them).
    fn link(&mut self, raw: &Raw<'_>) -> Result<(), CheckError> {
        let ty = "link";
        for (name, list) in [("from", req!(self, raw, ty, from)), ("to", req!(self, raw, ty, to))] {
            if list.is_empty() || list.iter().any(|n| n.0.is_empty()) {
                return Err(self.err(format!("link record's \"{name}\" is empty; expected a list of node names")));
            }
        }
        let (min, max) = (*req!(self, raw, ty, latency_min_ns), *req!(self, raw, ty, latency_max_ns));
        if min > max {
            return Err(self.err(format!(
                "link record's latency_min_ns {min} is above latency_max_ns {max}; expected min <= max"
            )));
        }
        for (name, ppm) in
            [("loss_ppm", req!(self, raw, ty, loss_ppm)), ("duplicate_ppm", req!(self, raw, ty, duplicate_ppm))]
        {
            if *ppm > 1_000_000 {
                return Err(
                    self.err(format!("link record's {name} is {ppm}; expected parts per million, 0 to 1000000"))
                );
            }
        }
        req!(self, raw, ty, fifo);
        Ok(())
    }

    /// A `rebalance_start` or `rebalance` record: the fields must describe one (the
    /// checker judges groups by `assign`, `revoke` and `commit`, not by these).
    fn rebalance(&mut self, raw: &Raw<'_>, ty: &'static str) -> Result<(), CheckError> {
        req!(self, raw, ty, node);
        req!(self, raw, ty, group);
        req!(self, raw, ty, generation);
        if ty == "rebalance_start" {
            req!(self, raw, ty, reason);
            return Ok(());
        }
        let topic = req!(self, raw, ty, topic).0.to_string();
        let partitions = self.topics.as_ref().and_then(|m| m.get(&topic).copied());
        if let (Some(m), None) = (&self.topics, partitions) {
            let known: Vec<&str> = m.keys().map(String::as_str).collect();
            return Err(self.err(format!(
                "rebalance record names topic {topic:?}, which the header does not declare; expected one of {}",
                known.join(", ")
            )));
        }
        let mut owned = std::collections::BTreeSet::new();
        for (k, member) in req!(self, raw, ty, members).iter().enumerate() {
            if member.node.as_ref().map_or(true, |n| n.0.is_empty()) {
                return Err(self.err(format!("rebalance record's member {k} lacks \"node\"; expected a node name")));
            }
            let Some(list) = &member.partitions else {
                return Err(self.err(format!(
                    "rebalance record's member {k} lacks \"partitions\"; expected a list of partitions"
                )));
            };
            for &p in list {
                if partitions.is_some_and(|n| p >= n) {
                    return Err(self.err(format!(
                        "rebalance record gives partition {p} of {topic}, which has {} partitions",
                        partitions.unwrap_or(0)
                    )));
                }
                if !owned.insert(p) {
                    return Err(self.err(format!(
                        "rebalance record gives partition {p} of {topic} to two members; expected one owner each"
                    )));
                }
            }
        }
        Ok(())
    }

    /// At end of input: references to events that were never created are errors.
    pub fn finish_input(&mut self) -> Result<(), CheckError> {
        self.flush_pending()
    }

    fn flush_pending(&mut self) -> Result<(), CheckError> {
        for &(e, line, what) in &self.pending {
            if !self.ev.created(e) {
                return Err(self
                    .err_at(line, format!("{what} references event {} which has no create record", self.ev.name(e))));
            }
        }
        self.pending.clear();
        Ok(())
    }

    /// A reference to an event from a non-create record. The create may come later only
    /// at the same `t` (lines of different nodes at one instant may come in any order).
    fn event_ref(&mut self, id: &IdRef<'_>, what: &'static str) -> u32 {
        let e = self.ev.intern(id);
        if !self.ev.created(e) {
            self.pending.push((e, self.cur(), what));
        }
        e
    }

    fn part(&mut self, raw: &Raw<'_>, ty: &str) -> Result<u32, CheckError> {
        let topic = req!(self, raw, ty, topic).0.clone();
        let partition = *req!(self, raw, ty, partition);
        self.part_of(&topic, partition)
    }

    fn part_of(&mut self, topic: &str, partition: u32) -> Result<u32, CheckError> {
        // A partition seen before was checked against the header then.
        if &*self.part_cache.0 == topic {
            if let Some(&p) = self.part_cache.1.get(partition as usize) {
                if p != NONE {
                    return Ok(p);
                }
            }
        }
        if let Some(&p) = self.part_ids.get(topic).and_then(|m| m.get(&partition)) {
            self.cache_part(topic, partition, p);
            return Ok(p);
        }
        if let Some(topics) = &self.topics {
            match topics.get(topic) {
                None => {
                    let known: Vec<&str> = topics.keys().map(|s| s.as_str()).collect();
                    return Err(self.err(format!(
                        "topic {topic:?} is not declared in the header; expected one of {}",
                        known.join(", ")
                    )));
                }
                Some(&n) if partition >= n => {
                    return Err(self.err(format!(
                        "partition {partition} of topic {topic:?} is out of range; the header declares {n} partitions"
                    )))
                }
                _ => {}
            }
        }
        let p = self.parts.len() as u32;
        let queue = self.queue_topics.contains(topic);
        self.parts.push(PartLog { name: format!("{topic}/{partition}").into(), queue, ..PartLog::default() });
        self.part_ids.entry(topic.into()).or_default().insert(partition, p);
        self.cache_part(topic, partition, p);
        Ok(p)
    }

    fn cache_part(&mut self, topic: &str, partition: u32, p: u32) {
        // Partition numbers are the input's: only small ones are cached (bounded memory).
        if partition >= 1 << 16 {
            return;
        }
        if self.part_cache.0.is_empty() && self.part_cache.1.is_empty() {
            self.part_cache.0 = Box::from(topic);
        }
        if &*self.part_cache.0 != topic {
            return;
        }
        let ids = &mut self.part_cache.1;
        if ids.len() <= partition as usize {
            ids.resize(partition as usize + 1, NONE);
        }
        ids[partition as usize] = p;
    }

    fn group(&mut self, name: &str) -> u32 {
        let g = self.groups.intern(name);
        if g as usize == self.group_state.len() {
            self.group_state.push(GroupState::default());
        }
        g
    }

    fn consumer(&mut self, group: u32, node: u32) -> u32 {
        let next = self.consumer_of.len() as u32;
        let c = *self.consumer_ids.entry((group, node)).or_insert(next);
        if c == next {
            self.consumer_of.push((group, node));
        }
        c
    }

    fn create(&mut self, raw: &Raw<'_>) -> Result<(), CheckError> {
        let ty = "create";
        let node = req!(self, raw, ty, node).0.clone();
        let id = req!(self, raw, ty, id).clone();
        let deps = req!(self, raw, ty, deps);
        let e = self.ev.intern(&id);
        if self.ev.created(e) {
            return Err(self.err(format!(
                "event {id} is created twice (first create at line {})",
                self.ev.create_line[e as usize]
            )));
        }
        let start = self.ev.dep_arena.len();
        for d in deps {
            let di = self.ev.ids.lookup(d).filter(|&di| self.ev.created(di));
            match di {
                Some(di) => self.ev.dep_arena.push(di),
                None if self.ev.ids.lookup(d) == Some(e) => {
                    return Err(self.err(format!("create of event {id} lists itself in deps")))
                }
                None => {
                    return Err(
                        self.err(format!("create of event {id} lists dep {d} which has no earlier create record"))
                    )
                }
            }
        }
        let n_deps = self.ev.dep_arena.len() - start;
        let start = u32::try_from(start).map_err(|_| self.err("too many deps in history".into()))?;
        self.ev.deps[e as usize] = (start, n_deps as u32);
        self.ev.create_line[e as usize] = self.cur();
        self.ev.creator[e as usize] = self.nodes.intern(&node);
        let entity = match (&raw.entity, &raw.key) {
            (Some(en), _) => Some(self.entities.intern(&en.0)),
            (None, Some(IdRef::Int(n))) => Some(self.entities.intern(&n.to_string())),
            (None, Some(IdRef::Str(s))) => Some(self.entities.intern(s)),
            _ => None,
        };
        if let Some(en) = entity {
            self.ev.entity[e as usize] = en;
        }
        if let Some(writes) = &raw.writes {
            let ws = self.ev.write_arena.len() as u32;
            for (f, v) in &writes.0 {
                let fi = self.fields.intern(f);
                match self.field_ops.get(&fi) {
                    Some(FieldOp::Increment) if v.0.parse::<i64>().is_err() => {
                        return Err(self.err(format!(
                            "create writes {f}={:?}, but the header declares {f} an increment; expected an integer (the amount added)",
                            v.0
                        )))
                    }
                    Some(FieldOp::Append) if v.0.contains(',') => {
                        return Err(self.err(format!(
                            "create writes {f}={:?}, but the header declares {f} an append; expected one item without a comma (the state lists items comma-separated)",
                            v.0
                        )))
                    }
                    _ => {}
                }
                let vs = self.ev.write_bytes.len();
                self.ev.write_bytes.extend_from_slice(v.0.as_bytes());
                let vs = u32::try_from(vs).map_err(|_| self.err("history writes exceed 4 GiB".into()))?;
                self.ev.write_arena.push((fi, vs, v.0.len() as u32));
            }
            self.ev.writes[e as usize] = (ws, self.ev.write_arena.len() as u32 - ws);
        }
        self.ev.clock.set(e, raw.clock);
        if let Some(m) = &raw.meta {
            self.ev.seq.set(e, m.seq);
            self.ev.lamport.set(e, m.lamport);
            if let Some((l, c)) = m.hlc {
                self.ev.hlc_l.set(e, Some(l));
                self.ev.hlc_c.set(e, Some(c));
            }
            self.ev.ts.set(e, m.ts);
            if let Some(vc) = self.vc_of(m) {
                self.ev.vc.insert(e, vc);
            }
        }
        self.ev.create_order.push(e);
        self.check_dep_clocks(e);
        Ok(())
    }

    fn vc_of(&mut self, m: &Meta<'_>) -> Option<Box<[(u32, i64)]>> {
        let vc = m.vc.as_ref()?;
        let mut v: Vec<(u32, i64)> = vc.0.iter().map(|(k, x)| (self.nodes.intern(k), *x)).collect();
        v.sort_unstable();
        Some(v.into_boxed_slice())
    }

    /// Clock condition and timestamp order along each direct dep of `e`.
    fn check_dep_clocks(&mut self, e: u32) {
        let line = self.cur();
        let (start, count) = self.ev.deps[e as usize];
        for k in start..start + count {
            let d = self.ev.dep_arena[k as usize];
            let dl = self.ev.create_line[d as usize];
            // Names are built only for a violation (no allocation per dep otherwise).
            let names = |ev: &Events| (ev.name(d), ev.name(e));
            if let (Some(a), Some(b)) = (self.ev.lamport.get(d), self.ev.lamport.get(e)) {
                if a >= b {
                    let (dn, en) = names(&self.ev);
                    self.violate(
                        Kind::ClockCondition,
                        format!("event {en}"),
                        format!("event {dn} happened before {en} but its Lamport clock {a} is not below {b}"),
                        vec![
                            w(dl, format!("create {dn} with lamport {a}")),
                            w(line, format!("create {en} (deps include {dn}) with lamport {b}")),
                        ],
                    );
                }
            }
            let hlc = |ev: &Events, x: u32| Some((ev.hlc_l.get(x)?, ev.hlc_c.get(x)?));
            if let (Some(a), Some(b)) = (hlc(&self.ev, d), hlc(&self.ev, e)) {
                if a >= b {
                    let (dn, en) = names(&self.ev);
                    self.violate(
                        Kind::ClockCondition,
                        format!("event {en}"),
                        format!(
                            "event {dn} happened before {en} but its hybrid logical clock [{}, {}] is not below [{}, {}]",
                            a.0, a.1, b.0, b.1
                        ),
                        vec![
                            w(dl, format!("create {dn} with hlc [{}, {}]", a.0, a.1)),
                            w(line, format!("create {en} (deps include {dn}) with hlc [{}, {}]", b.0, b.1)),
                        ],
                    );
                }
            }
            if let (Some(a), Some(b)) = (self.ev.vc.get(&d), self.ev.vc.get(&e)) {
                if !vc_less(a, b) {
                    let (dn, en) = names(&self.ev);
                    self.violate(
                        Kind::ClockCondition,
                        format!("event {en}"),
                        format!(
                            "event {dn} happened before {en} but its vector clock {} is not below {}",
                            self.vc_text(a),
                            self.vc_text(b)
                        ),
                        vec![w(dl, format!("create {dn}")), w(line, format!("create {en} (deps include {dn})"))],
                    );
                }
            }
            let stamps = match (self.ev.ts.get(d), self.ev.ts.get(e)) {
                (Some(a), Some(b)) => Some(("meta.ts", a, b)),
                _ => match (self.ev.clock.get(d), self.ev.clock.get(e)) {
                    (Some(a), Some(b)) => Some(("clock", a, b)),
                    _ => None,
                },
            };
            if let Some((what, a, b)) = stamps {
                if a > b {
                    let (dn, en) = names(&self.ev);
                    self.violate(
                        Kind::TimestampInversion,
                        format!("event {en}"),
                        format!("cause {dn} has {what} {a}, later than its effect {en}'s {b} (clock skew)"),
                        vec![
                            w(dl, format!("create {dn} with {what} {a}")),
                            w(line, format!("create {en} (deps include {dn}) with {what} {b}")),
                        ],
                    );
                }
            }
        }
    }

    fn vc_text(&self, v: &[(u32, i64)]) -> String {
        let parts: Vec<String> = v.iter().map(|(n, x)| format!("{}:{x}", self.nodes.name(*n))).collect();
        format!("{{{}}}", parts.join(","))
    }

    /// Clock condition between an event's create and a receive (deliver/apply) of it.
    fn check_receive_clock(&mut self, e: u32, meta: Option<&Meta<'_>>, what: &str) {
        let Some(m) = meta else { return };
        if !self.ev.created(e) {
            return;
        }
        let (line, cl) = (self.cur(), self.ev.create_line[e as usize]);
        if let (Some(a), Some(b)) = (self.ev.lamport.get(e), m.lamport) {
            if a >= b {
                let en = self.ev.name(e);
                self.violate(
                    Kind::ClockCondition,
                    format!("event {en}"),
                    format!("{what} of {en} has Lamport clock {b}, not above the {a} stamped at create"),
                    vec![
                        w(cl, format!("create {en} with lamport {a}")),
                        w(line, format!("{what} {en} with lamport {b}")),
                    ],
                );
            }
        }
        if let Some(recv) = self.vc_of(m) {
            if let Some(sent) = self.ev.vc.get(&e) {
                if !vc_leq(sent, &recv) {
                    let (s, r) = (self.vc_text(sent), self.vc_text(&recv));
                    let en = self.ev.name(e);
                    self.violate(
                        Kind::ClockCondition,
                        format!("event {en}"),
                        format!("{what} of {en} has vector clock {r}, not ≥ the {s} stamped at create"),
                        vec![w(cl, format!("create {en} with vc {s}")), w(line, format!("{what} {en} with vc {r}"))],
                    );
                }
            }
        }
    }

    fn batch_ref(&mut self, raw: &Raw<'_>, ty: &str) -> Result<u32, CheckError> {
        let batch = req!(self, raw, ty, batch);
        match self.batch_ids.lookup(batch) {
            Some(b) => Ok(b),
            None => Err(self.err(format!("{ty} references batch {batch} which has no send record"))),
        }
    }

    fn send(&mut self, raw: &Raw<'_>) -> Result<(), CheckError> {
        let ty = "send";
        let node = req!(self, raw, ty, node).0.clone();
        let batch = req!(self, raw, ty, batch).clone();
        let attempt = *req!(self, raw, ty, attempt);
        let events = req!(self, raw, ty, events);
        let part = self.part(raw, ty)?;
        if let Some(b) = self.batch_ids.lookup(&batch) {
            let (prev, prev_line) = self.batches[b as usize].attempt;
            if attempt <= prev {
                let what = if attempt == prev { "the same attempt" } else { "a higher attempt" };
                return Err(self.err(format!(
                    "send of batch {batch} attempt {attempt}, but line {prev_line} already sent it with {what} ({prev}); a retry of a batch must have a higher attempt"
                )));
            }
        }
        let start = self.batch_events.len() as u32;
        for id in events {
            let e = self.event_ref(id, "send");
            self.batch_events.push(e);
        }
        let range = (start, self.batch_events.len() as u32 - start);
        let node = self.nodes.intern(&node);
        let (b, new) = self.batch_ids.intern(&batch);
        if new {
            let line = self.cur();
            self.batches.push(Batch {
                node,
                part,
                send_line: line,
                events: range,
                ack: None,
                attempt: (attempt, line),
            });
        } else {
            let line = self.cur();
            let bt = &mut self.batches[b as usize];
            bt.events = range;
            bt.part = part;
            bt.attempt = (attempt, line);
        }
        Ok(())
    }

    fn ack(&mut self, raw: &Raw<'_>) -> Result<(), CheckError> {
        let ty = "ack";
        req!(self, raw, ty, node);
        req!(self, raw, ty, attempt);
        let part = self.part(raw, ty)?;
        let b = self.batch_ref(raw, ty)?;
        let line = self.cur();
        let bt = &mut self.batches[b as usize];
        if bt.ack.is_none() {
            bt.ack = Some((line, raw.offset));
            bt.part = part;
            let (s, n) = bt.events;
            for &e in &self.batch_events[s as usize..(s + n) as usize] {
                self.ev.acked[e as usize] = true;
            }
        }
        Ok(())
    }

    /// The checker keeps one log per partition: the leader's, which consumers read. A
    /// truncation changes it only when done by the current leader (a follower's
    /// truncation of its divergent suffix does not touch what consumers read).
    fn leader_or_truncate(&mut self, raw: &Raw<'_>, ty: &str) -> Result<(), CheckError> {
        let node = req!(self, raw, ty, node).0.clone();
        let n = self.nodes.intern(&node);
        let p = self.part(raw, ty)?;
        let pl = &mut self.parts[p as usize];
        if ty == "leader" {
            let epoch = *req!(self, raw, ty, leader_epoch);
            pl.leader = Some(n);
            pl.leader_recorded = true;
            pl.leader_epoch = Some(pl.leader_epoch.map_or(epoch, |e| e.max(epoch)));
        } else {
            let offset = *req!(self, raw, ty, offset);
            if pl.leader.map_or(true, |l| l == n) {
                pl.log.truncate_from(offset);
            }
        }
        self.parts[p as usize].era += 1;
        Ok(())
    }

    fn append(&mut self, raw: &Raw<'_>, _t: u64) -> Result<(), CheckError> {
        let ty = "append";
        let leader_node = req!(self, raw, ty, node).0.clone();
        let leader_node = self.nodes.intern(&leader_node);
        let offset = *req!(self, raw, ty, offset);
        let id = req!(self, raw, ty, id).clone();
        let p = self.part(raw, ty)?;
        let e = self.event_ref(&id, "append");
        let line = self.cur();
        if let (Some(epoch), Some(current)) = (raw.leader_epoch, self.parts[p as usize].leader_epoch) {
            if epoch < current {
                // A deposed leader that has not heard of the new epoch yet: its append is
                // not in the partition's log (the new leader's is, and the deposed one will
                // truncate it). Readers who saw it are judged on their deliveries.
                self.parts[p as usize].stale_appends += 1;
                return Ok(());
            }
        }
        let batch = raw.batch.as_ref().and_then(|b| self.batch_ids.lookup(b)).unwrap_or(NONE);
        let entry = LogEntry {
            event: e,
            line,
            batch,
            attempt: raw.attempt.unwrap_or(0),
            pid: raw.pid,
            seq: raw.seq,
            era: self.parts[p as usize].era,
        };
        let pname = self.parts[p as usize].name.clone();
        // Divergence: overwriting a record without a leader change or truncation, or
        // appending over an offset a consumer already read with another event.
        let old = self.parts[p as usize].log.get(offset);
        if let Some(old) = old.filter(|o| o.event != e && o.era == entry.era) {
            let on = self.ev.name(old.event);
            self.divergent(
                p,
                offset,
                format!("offset {offset} of {pname} was appended with {on} and then with {en}, with no leader change or truncation between", en = self.ev.name(e)),
                vec![w(old.line, format!("append {on} at {pname}@{offset}")), w(line, format!("append {en} at {pname}@{offset}", en = self.ev.name(e)))],
            );
        } else if let Some(seen) = self.parts[p as usize].seen.get(offset).filter(|s| s.event != e) {
            let sn = self.ev.name(seen.event);
            self.divergent(
                p,
                offset,
                format!(
                    "offset {offset} of {pname} was read as {sn} and later appended with {en} (offset reused)",
                    en = self.ev.name(e)
                ),
                vec![
                    w(seen.line, format!("deliver {sn} from {pname}@{offset}")),
                    w(line, format!("append {en} at {pname}@{offset}", en = self.ev.name(e))),
                ],
            );
        }
        // Duplicate append of one event in one partition.
        let (fp, fo, fl) = self.ev.first_append[e as usize];
        let first = self.parts[p as usize].log.get(fo).filter(|x| x.event == e);
        if fp == p && fo != offset && first.is_some() {
            // Judged at the end: both copies must still be in the log or have been read.
            let cause = duplicate_cause(first.as_ref(), &entry);
            self.dup_appends.push(DupAppend { event: e, part: p, first: (fo, fl), second: (offset, line), cause });
        } else if fp == NONE || (fp == p && first.is_none()) {
            // First append, or a re-append after the first was truncated away.
            self.ev.first_append[e as usize] = (p, offset, line);
        }
        let pl = &mut self.parts[p as usize];
        pl.min_offset = Some(pl.min_offset.map_or(offset, |m| m.min(offset)));
        pl.has_appends = true;
        if !pl.leader_recorded {
            pl.leader = Some(leader_node);
        }
        pl.log.insert(offset, entry);
        Ok(())
    }

    fn divergent(&mut self, p: u32, offset: u64, message: String, witness: Vec<Witness>) {
        let pl = &mut self.parts[p as usize];
        if !pl.divergent_reported.insert(offset) {
            return;
        }
        let scope = pl.name.clone();
        self.violate(Kind::DivergentLog, scope.to_string(), message, witness);
    }

    fn reset_node_positions(&mut self, node: u32) {
        for ((_, n, _), pos) in self.positions.iter_mut() {
            if *n == node {
                pos.expected = None;
                pos.owned = false;
            }
        }
        for (key, unprocessed) in self.positions.keys.iter().zip(self.positions.unprocessed.iter_mut()) {
            if key.1 == node {
                unprocessed.clear();
            }
        }
    }

    fn assign(&mut self, raw: &Raw<'_>, ty: &str, t: u64) -> Result<(), CheckError> {
        let node = req!(self, raw, ty, node).0.clone();
        let group = req!(self, raw, ty, group).0.clone();
        let topic = req!(self, raw, ty, topic).0.clone();
        let partitions = req!(self, raw, ty, partitions).clone();
        let generation = *req!(self, raw, ty, generation);
        let (n, g) = (self.nodes.intern(&node), self.group(&group));
        let line = self.cur();
        if ty == "assign" {
            self.group_state[g as usize].generations.push(t, n, generation, line);
        }
        for partition in partitions {
            let p = self.part_of(&topic, partition)?;
            self.log_only(p, ty)?;
            let pos = self.positions.entry((g, n, p));
            if ty == "assign" {
                // Still owned (no revoke, crash or restart since the last assign): the
                // member keeps the partition and its position (cooperative rebalance).
                if !pos.owned {
                    pos.expected = None;
                    pos.start_pending = Some(line);
                    pos.max_pos = None;
                    pos.ok_upto = None;
                    self.positions.unprocessed_mut((g, n, p)).clear();
                }
                let pos = self.positions.entry((g, n, p));
                pos.owned = true;
            } else {
                self.positions.unprocessed_mut((g, n, p)).clear();
                let pos = self.positions.entry((g, n, p));
                pos.expected = None;
                pos.start_pending = None;
                pos.owned = false;
            }
        }
        Ok(())
    }

    /// A new owner's first position (seek or delivery) compared with the committed offset;
    /// with no commit, any start may skip records from the partition's first one (the
    /// `auto.offset.reset = latest` loss), judged at the end.
    fn classify_start(&mut self, (g, n, p): (u32, u32, u32), t: u64, start: u64, what: &str) {
        let Some(assign_line) = self.positions.get_mut(&(g, n, p)).and_then(|pos| pos.start_pending.take()) else {
            return;
        };
        let (gn, nn, pn) =
            (self.groups.name(g).to_string(), self.nodes.name(n).to_string(), self.parts[p as usize].name.clone());
        let Some((committed, commit_line)) = self.commits.get(&(g, p)).and_then(|c| c.committed(t, n)) else {
            if start > 0 {
                self.rebalance_skips.push(SkipCandidate {
                    group: g,
                    part: p,
                    from: None,
                    to: start,
                    message: format!("{nn} starts {pn} at {start} and group {gn} has no commit for it"),
                    witness: vec![
                        w(assign_line, format!("assign {pn} to {nn}")),
                        w(self.cur(), format!("{what} at {start}, with no commit by group {gn}")),
                    ],
                });
            }
            return;
        };
        if start == committed {
            return;
        }
        let witness = vec![
            w(commit_line, format!("commit {committed} for {pn} in {gn}")),
            w(assign_line, format!("assign {pn} to {nn}")),
            w(self.cur(), format!("{what} at {start}")),
        ];
        if start > committed {
            // Judged at the end: only offsets the group never processed are a skip.
            self.rebalance_skips.push(SkipCandidate {
                group: g,
                part: p,
                from: Some(committed),
                to: start,
                message: format!("new owner {nn} starts {pn} at {start} but group {gn} had committed {committed}"),
                witness,
            });
            return;
        }
        self.violate(
            Kind::RebalanceRewind,
            format!("group {gn}, {pn}"),
            format!(
                "new owner {nn} starts {pn} at {start} but group {gn} had committed {committed}: offsets {start}..{} are redelivered",
                committed - 1
            ),
            witness,
        );
    }

    fn seek(&mut self, raw: &Raw<'_>, t: u64) -> Result<(), CheckError> {
        let ty = "seek";
        let node = req!(self, raw, ty, node).0.clone();
        let group = req!(self, raw, ty, group).0.clone();
        let offset = *req!(self, raw, ty, offset);
        let p = self.part(raw, ty)?;
        self.log_only(p, ty)?;
        let (n, g) = (self.nodes.intern(&node), self.group(&group));
        self.classify_start((g, n, p), t, offset, "seek");
        let line = self.cur();
        let pos = self.positions.entry((g, n, p));
        pos.expected = Some((offset, line));
        raise(&mut pos.max_pos, offset, line);
        raise(&mut pos.ok_upto, offset, line);
        self.positions.unprocessed_mut((g, n, p)).clear();
        Ok(())
    }

    fn deliver(&mut self, raw: &Raw<'_>, t: u64) -> Result<(), CheckError> {
        let ty = "deliver";
        let node = req!(self, raw, ty, node).0.clone();
        let group = req!(self, raw, ty, group).0.clone();
        let offset = *req!(self, raw, ty, offset);
        let id = req!(self, raw, ty, id).clone();
        let p = self.part(raw, ty)?;
        let (n, g) = (self.nodes.intern(&node), self.group(&group));
        let e = self.event_ref(&id, "deliver");
        let line = self.cur();
        let c = self.consumer(g, n);
        self.delivers.push(DeliverRec { t, consumer: c, node: n, event: e, line });
        self.check_receive_clock(e, raw.meta.as_ref(), "deliver");
        let queue = self.parts[p as usize].queue;
        if !queue {
            self.classify_start((g, n, p), t, offset, "first delivery");
        }
        let pname = self.parts[p as usize].name.clone();
        // Divergence against earlier deliveries and the current log.
        let seen = self.parts[p as usize].seen.get(offset);
        match seen {
            Some(s) if s.event != e => {
                let sn = self.ev.name(s.event);
                self.divergent(
                    p,
                    offset,
                    format!("offset {offset} of {pname} was delivered as {sn} and as {en}", en = self.ev.name(e)),
                    vec![
                        w(s.line, format!("deliver {sn} from {pname}@{offset}")),
                        w(line, format!("deliver {en} from {pname}@{offset}", en = self.ev.name(e))),
                    ],
                );
            }
            Some(_) => {}
            None => {
                self.parts[p as usize].seen.insert(offset, SeenEntry { event: e, line });
                if let Some(l) = self.parts[p as usize].log.get(offset).filter(|l| l.event != e) {
                    let ln = self.ev.name(l.event);
                    self.divergent(
                        p,
                        offset,
                        format!(
                            "offset {offset} of {pname} holds {ln} in the log but was delivered as {en}",
                            en = self.ev.name(e)
                        ),
                        vec![
                            w(l.line, format!("append {ln} at {pname}@{offset}")),
                            w(line, format!("deliver {en} from {pname}@{offset}", en = self.ev.name(e))),
                        ],
                    );
                }
            }
        }
        let pl = &mut self.parts[p as usize];
        pl.min_offset = Some(pl.min_offset.map_or(offset, |m| m.min(offset)));
        if pl.max_delivered.map_or(true, |(m, _)| offset > m) {
            pl.max_delivered = Some((offset, line));
        }
        if self.ev.first_deliver[e as usize].0 == NONE {
            self.ev.first_deliver[e as usize] = (p, offset, line);
        }
        if queue {
            // Competing consumers take whichever message is visible, and a message comes
            // back after a timeout or a nack: a queue's deliveries follow no position.
            return Ok(());
        }
        self.positions.unprocessed_mut((g, n, p)).insert(offset, (line, e));
        // Position: continue from the last seek or delivery + 1.
        let pos = self.positions.entry((g, n, p));
        let expected = pos.expected;
        if expected.is_none() {
            raise(&mut pos.ok_upto, offset, line);
        }
        let next = offset.saturating_add(1);
        pos.expected = Some((next, line));
        raise(&mut pos.max_pos, next, line);
        if let Some((x, basis)) = expected {
            let scope = || format!("group {group}, {pname}");
            if offset > x {
                let holes = {
                    let pl = &self.parts[p as usize];
                    !pl.has_appends || pl.log.any_in(x, offset, 1 << 20)
                };
                if holes {
                    self.violate(
                        Kind::PollSkip,
                        scope(),
                        format!(
                            "{node} read {pname} at {offset} after position {x}: offsets {x}..{} skipped",
                            offset - 1
                        ),
                        vec![
                            w(basis, format!("position {x} of {node} in {pname}")),
                            w(line, format!("deliver {en} from {pname}@{offset}", en = self.ev.name(e))),
                        ],
                    );
                }
            } else if offset < x {
                self.violate(
                    Kind::NonmonotonicPoll,
                    scope(),
                    format!("{node} read {pname} at {offset} after position {x}: went back with no seek or assignment"),
                    vec![
                        w(basis, format!("position {x} of {node} in {pname}")),
                        w(line, format!("deliver {en} from {pname}@{offset}", en = self.ev.name(e))),
                    ],
                );
            }
        }
        Ok(())
    }

    fn apply(&mut self, raw: &Raw<'_>, ty: &'static str, t: u64) -> Result<(), CheckError> {
        let node = req!(self, raw, ty, node).0.clone();
        let group = req!(self, raw, ty, group).0.clone();
        let id = req!(self, raw, ty, id).clone();
        if ty == "discard" {
            req!(self, raw, ty, reason);
        }
        let (n, g) = (self.nodes.intern(&node), self.group(&group));
        let e = self.event_ref(&id, ty);
        let line = self.cur();
        self.applies.push(ApplyRec { t, group: g, node: n, event: e, line, discard: ty == "discard" });
        if ty == "apply" {
            self.check_receive_clock(e, raw.meta.as_ref(), "apply");
        }
        // Where the event came from, for commit-ahead-of-applied.
        let from = match (&raw.topic, raw.partition, raw.offset) {
            (Some(topic), Some(partition), Some(offset)) => Some((self.part_of(&topic.0, partition)?, offset)),
            _ => {
                let (fp, fo, _) = self.ev.first_append[e as usize];
                let (dp, dof, _) = self.ev.first_deliver[e as usize];
                if fp != NONE {
                    Some((fp, fo))
                } else if dp != NONE {
                    Some((dp, dof))
                } else {
                    None
                }
            }
        };
        let gs = &mut self.group_state[g as usize];
        gs.applies_seen = true;
        match from {
            // From a queue: no position to judge commits against.
            Some((p, _)) if self.parts[p as usize].queue => {}
            Some((p, o)) => {
                self.positions.unprocessed_mut((g, n, p)).remove(&o);
                self.positions.settled.insert((g, e), ());
                let pos = self.positions.entry((g, n, p));
                raise(&mut pos.ok_upto, o.saturating_add(1), line);
            }
            None => {
                if gs.applies_unresolved.is_none() {
                    gs.applies_unresolved = Some(line);
                }
            }
        }
        Ok(())
    }

    fn commit(&mut self, raw: &Raw<'_>, t: u64) -> Result<(), CheckError> {
        let ty = "commit";
        let node = req!(self, raw, ty, node).0.clone();
        let group = req!(self, raw, ty, group).0.clone();
        let offset = *req!(self, raw, ty, offset);
        let ok = *req!(self, raw, ty, ok);
        let p = self.part(raw, ty)?;
        self.log_only(p, ty)?;
        let (n, g) = (self.nodes.intern(&node), self.group(&group));
        if !ok {
            return Ok(());
        }
        let line = self.cur();
        let pname = self.parts[p as usize].name.clone();
        let scope = || format!("group {group}, {pname}");
        // Zombie: accepted from an old generation.
        match raw.generation {
            Some(gen) => {
                if let Some((cur, gl)) = self.group_state[g as usize].generations.max_before(t, n) {
                    if cur > gen {
                        self.violate(
                            Kind::ZombieCommit,
                            scope(),
                            format!("{node} committed {offset} for {pname} with generation {gen} and it was accepted, but group {group} was already in generation {cur}"),
                            vec![w(gl, format!("assign in generation {cur}")), w(line, format!("commit ok generation {gen} by {node}"))],
                        );
                    }
                }
            }
            None => {
                if !self.report.unknown.iter().any(|u| u.kind == Kind::ZombieCommit) {
                    self.unknown(
                        Kind::ZombieCommit,
                        format!("commits without a generation (first at line {line}) cannot be judged"),
                    );
                }
            }
        }
        // Regression of the group's committed offset.
        let cs = self.commits.entry((g, p)).or_default();
        if let Some((prev, pl)) = cs.history.max_before(t, n) {
            if offset < prev {
                self.violate(
                    Kind::CommitRegression,
                    scope(),
                    format!("group {group}'s committed offset of {pname} went back from {prev} to {offset}"),
                    vec![w(pl, format!("commit {prev}")), w(line, format!("commit {offset} by {node}"))],
                );
            }
        }
        let cs = self.commits.entry((g, p)).or_default();
        cs.history.push(t, n, offset, line);
        if t > cs.last_at.0 {
            cs.before_last_t = cs.last;
        }
        cs.last = Some((offset, line));
        cs.last_at = (t, n);
        // Ahead of what this member was delivered or applied.
        let lowest_unprocessed = self.positions.lowest_unprocessed(&(g, n, p));
        if let Some(pos) = self.positions.get(&(g, n, p)).copied() {
            let gs = &self.group_state[g as usize];
            if let Some((m, ml)) = pos.max_pos.filter(|&(m, _)| offset > m) {
                self.violate(
                    Kind::CommitAhead,
                    scope(),
                    format!("{node} committed {offset} for {pname} but its position was only {m}"),
                    vec![
                        w(ml, format!("position {m} of {node} in {pname}")),
                        w(line, format!("commit {offset} by {node}")),
                    ],
                );
            } else if let Some((m, ml)) =
                pos.ok_upto.filter(|&(m, _)| gs.applies_seen && gs.applies_unresolved.is_none() && offset > m)
            {
                let mut witness = vec![
                    w(ml, format!("{node} has processed {pname} below {m}")),
                    w(line, format!("commit {offset} by {node}")),
                ];
                if let Some((p_, pl)) = pos.max_pos {
                    witness.push(w(pl, format!("{node} was delivered {pname} below {p_}")));
                }
                self.violate(
                    Kind::CommitAhead,
                    scope(),
                    format!("{node} committed {offset} for {pname} but had applied or discarded only below {m}"),
                    witness,
                );
            } else if let Some((u, ul)) =
                lowest_unprocessed.filter(|&(u, _)| gs.applies_seen && gs.applies_unresolved.is_none() && offset > u)
            {
                // Processed beyond it, but not it: a commit past a hole (key lanes
                // committing their highest offset).
                self.violate(
                    Kind::CommitAhead,
                    scope(),
                    format!(
                        "{node} committed {offset} for {pname} but had not applied or discarded offset {u} below it"
                    ),
                    vec![
                        w(ul, format!("deliver {pname}@{u} to {node}, not applied or discarded before the commit")),
                        w(line, format!("commit {offset} by {node}")),
                    ],
                );
            }
        }
        Ok(())
    }

    /// Seeks, commits, assignments and revocations are about positions in a log and who
    /// owns a partition; a queue has neither.
    fn log_only(&self, p: u32, ty: &str) -> Result<(), CheckError> {
        let pl = &self.parts[p as usize];
        if pl.queue {
            return Err(self.err(format!(
                "{ty} names {}, which the header declares a queue (\"kind\":\"queue\"): a queue has no offsets to seek or commit and no partitions to own; record queue_ack instead",
                pl.name
            )));
        }
        Ok(())
    }

    /// `queue_ack` / `nack`: the queue's host accepted (`ok`) or refused a consumer's
    /// acknowledgement of one message. Accepted acks are judged at the end (acknowledged
    /// before the group processed the message: `ack_ahead`).
    fn queue_settle(&mut self, raw: &Raw<'_>, ty: &'static str, t: u64) -> Result<(), CheckError> {
        let node = req!(self, raw, ty, node).0.clone();
        let group = req!(self, raw, ty, group).0.clone();
        req!(self, raw, ty, offset);
        let id = req!(self, raw, ty, id).clone();
        let ok = *req!(self, raw, ty, ok);
        let p = self.part(raw, ty)?;
        if !self.parts[p as usize].queue {
            return Err(self.err(format!(
                "{ty} names {}, which the header does not declare a queue; its topics entry needs \"kind\":\"queue\"",
                self.parts[p as usize].name
            )));
        }
        let (n, g) = (self.nodes.intern(&node), self.group(&group));
        let e = self.event_ref(&id, ty);
        if ok && ty == "queue_ack" {
            self.queue_acks.push(QueueAckRec { t, group: g, node: n, event: e, part: p, line: self.cur() });
        }
        Ok(())
    }

    fn state(&mut self, raw: &Raw<'_>) -> Result<(), CheckError> {
        let ty = "state";
        let group = req!(self, raw, ty, group).0.clone();
        let entity = req!(self, raw, ty, entity).0.clone();
        let fields = req!(self, raw, ty, fields);
        let mut fs: Vec<(u32, Box<str>)> = Vec::new();
        for (f, v) in &fields.0 {
            fs.push((self.fields.intern(f), v.0.as_ref().into()));
        }
        let g = self.group(&group);
        let entity = self.entities.intern(&entity);
        self.states.push(StateRec { group: g, entity, line: self.cur(), fields: fs });
        Ok(())
    }
}

fn duplicate_cause(first: Option<&LogEntry>, second: &LogEntry) -> String {
    let Some(first) = first else {
        return "appended twice (the first append is no longer in the log)".into();
    };
    match (first.pid, first.seq, second.pid, second.seq) {
        (Some(p1), Some(s1), Some(p2), Some(s2))
            if p1 == p2 && s1 == s2 && (first.batch == second.batch || first.batch == NONE || second.batch == NONE) =>
        {
            format!(
                "the same idempotent record (pid {p1}, seq {s1}) appended twice: a retry the broker did not deduplicate"
            )
        }
        _ if first.batch != NONE && first.batch == second.batch && first.attempt != second.attempt => format!(
            "attempts {} and {} of one batch both appended: a retry without idempotence",
            first.attempt, second.attempt
        ),
        _ if first.batch != second.batch && first.batch != NONE && second.batch != NONE => {
            "sent again in a new batch (an application resend or a producer restart)".into()
        }
        _ => "appended twice".into(),
    }
}

/// Raises `slot` to `v` (remembering the line) if `v` is higher.
fn raise(slot: &mut Option<(u64, Line)>, v: u64, line: Line) {
    if slot.map_or(true, |(m, _)| v > m) {
        *slot = Some((v, line));
    }
}

/// `a ≤ b` pointwise (missing entries are 0).
pub(crate) fn vc_leq(a: &[(u32, i64)], b: &[(u32, i64)]) -> bool {
    a.iter().all(|(n, x)| {
        let y = b.iter().find(|(m, _)| m == n).map_or(0, |(_, y)| *y);
        *x <= y
    })
}

/// `a < b`: `a ≤ b` and not equal.
fn vc_less(a: &[(u32, i64)], b: &[(u32, i64)]) -> bool {
    vc_leq(a, b) && !vc_leq(b, a)
}
