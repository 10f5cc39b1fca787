//! A history loaded for reading by people: every record with its line number, the fields
//! the trace and the diagram use, interned. The checker has validated the file before
//! (`super::load`), so this parse only has to be total: it never panics, and a field it
//! does not know is kept in a generic text (new record types are shown, never dropped).

use std::collections::HashMap;
use std::io::BufRead;

use serde_json::Value;

/// An interned string.
pub type Sym = u32;

/// Interned strings: ids, nodes, topics, reasons…
#[derive(Default)]
pub struct Names {
    text: Vec<Box<str>>,
    index: HashMap<Box<str>, Sym>,
}

impl Names {
    /// The symbol of `s`, added if new.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.index.get(s) {
            return sym;
        }
        let sym = Sym::try_from(self.text.len()).unwrap_or(Sym::MAX);
        self.text.push(s.into());
        self.index.insert(s.into(), sym);
        sym
    }
    /// The symbol of `s`, if it was ever interned.
    pub fn find(&self, s: &str) -> Option<Sym> {
        self.index.get(s).copied()
    }
    /// The text of a symbol.
    pub fn get(&self, sym: Sym) -> &str {
        self.text.get(sym as usize).map_or("?", |s| s)
    }
}

/// The record types this module knows by name; anything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Create,
    ProducerInit,
    Send,
    Ack,
    Fail,
    Append,
    /// A follower copied records from its leader (format version 2).
    Replicate,
    Dedup,
    Reject,
    Leader,
    Truncate,
    Assign,
    Revoke,
    Seek,
    Deliver,
    Apply,
    Discard,
    Commit,
    QueueAck,
    Nack,
    State,
    Crash,
    Restart,
    Pause,
    Resume,
    NetPartition,
    NetHeal,
    /// A link's behaviour changes (format version 2).
    Link,
    /// A group coordinator starts or completes a rebalance (format version 2).
    RebalanceStart,
    Rebalance,
    ClockStep,
    End,
    /// A record type this version does not know: shown generically.
    Other,
}

impl Ty {
    fn parse(s: &str) -> Ty {
        match s {
            "create" => Ty::Create,
            "producer_init" => Ty::ProducerInit,
            "send" => Ty::Send,
            "ack" => Ty::Ack,
            "fail" => Ty::Fail,
            "append" => Ty::Append,
            "replicate" => Ty::Replicate,
            "dedup" => Ty::Dedup,
            "reject" => Ty::Reject,
            "leader" => Ty::Leader,
            "truncate" => Ty::Truncate,
            "assign" => Ty::Assign,
            "revoke" => Ty::Revoke,
            "seek" => Ty::Seek,
            "deliver" => Ty::Deliver,
            "apply" => Ty::Apply,
            "discard" => Ty::Discard,
            "commit" => Ty::Commit,
            "queue_ack" => Ty::QueueAck,
            "nack" => Ty::Nack,
            "state" => Ty::State,
            "crash" => Ty::Crash,
            "restart" => Ty::Restart,
            "pause" => Ty::Pause,
            "resume" => Ty::Resume,
            "net_partition" => Ty::NetPartition,
            "net_heal" => Ty::NetHeal,
            "link" => Ty::Link,
            "rebalance_start" => Ty::RebalanceStart,
            "rebalance" => Ty::Rebalance,
            "clock_step" => Ty::ClockStep,
            "end" => Ty::End,
            _ => Ty::Other,
        }
    }

    /// Records a consumer (group member) writes.
    pub fn is_consumer(self) -> bool {
        matches!(
            self,
            Ty::Assign
                | Ty::Revoke
                | Ty::Seek
                | Ty::Deliver
                | Ty::Apply
                | Ty::Discard
                | Ty::Commit
                | Ty::QueueAck
                | Ty::Nack
        )
    }

    /// Fault and lifecycle records.
    pub fn is_fault(self) -> bool {
        matches!(
            self,
            Ty::Crash
                | Ty::Restart
                | Ty::Pause
                | Ty::Resume
                | Ty::NetPartition
                | Ty::NetHeal
                | Ty::Link
                | Ty::ClockStep
        )
    }
}

/// One record.
#[derive(Debug, Clone)]
pub struct Rec {
    /// 1-based line number in the history (the header is line 1).
    pub line: u64,
    /// True time, ns.
    pub t: u64,
    pub ty: Ty,
    /// The `type` as written (for `Other`).
    pub ty_name: Sym,
    pub node: Option<Sym>,
    pub id: Option<Sym>,
    pub entity: Option<Sym>,
    pub batch: Option<Sym>,
    pub attempt: Option<u64>,
    pub topic: Option<Sym>,
    pub partition: Option<u64>,
    pub offset: Option<u64>,
    pub group: Option<Sym>,
    pub generation: Option<u64>,
    pub reason: Option<Sym>,
    /// `retry` (fail), `ok` (commit, queue_ack, nack), `both` (net_*).
    pub flag: Option<bool>,
    /// `leader_epoch`, `delta` (clock_step), `receive` (deliver), `epoch` (producer_init).
    pub num: Option<i64>,
    /// `events` (send), `deps` (create), `from` (net_*).
    pub list: Vec<Sym>,
    /// `to` (net_*).
    pub list2: Vec<Sym>,
    /// `partitions` (assign, revoke).
    pub parts: Vec<u64>,
    /// `count` (replicate).
    pub count: Option<u64>,
    /// `kind` (create).
    pub label: Option<Sym>,
    /// `writes` (create), `fields` (state), or every other field of an unknown record.
    pub text: Option<Box<str>>,
    /// Worked out while loading: for a `send`, the partition's leader at that moment.
    pub peer: Option<Sym>,
    /// For a `send` with attempt > 1: the reason the batch's last attempt failed.
    pub prev_fail: Option<Sym>,
}

/// A loaded history.
pub struct History {
    pub names: Names,
    pub recs: Vec<Rec>,
    /// The header's `scenario`, `strategy`, `seed` when present.
    pub header: Value,
    /// Where to find the records about a thing, so a violation's chain costs the records
    /// it touches, not the whole history.
    pub index: Index,
}

/// Record indices (into `History::recs`, ascending) by what they are about.
#[derive(Default)]
pub struct Index {
    /// Records whose `id` is the event, and sends that carry it.
    pub by_event: HashMap<Sym, Vec<usize>>,
    /// Records of a batch (send, ack, fail, append, dedup, reject).
    pub by_batch: HashMap<Sym, Vec<usize>>,
    /// Records naming a partition (assign and revoke: each partition they list).
    pub by_tp: HashMap<(Sym, u64), Vec<usize>>,
    /// Leader changes, truncations, faults, and records of unknown types.
    pub structural: Vec<usize>,
    /// The entity of each event that has one (from its create).
    pub entity_of: HashMap<Sym, Sym>,
}

impl Index {
    fn add(&mut self, i: usize, r: &Rec) {
        if let Some(id) = r.id {
            self.by_event.entry(id).or_default().push(i);
            if let (Ty::Create, Some(e)) = (r.ty, r.entity) {
                self.entity_of.insert(id, e);
            }
        }
        if r.ty == Ty::Send {
            for e in &r.list {
                let list = self.by_event.entry(*e).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        if let Some(b) = r.batch {
            self.by_batch.entry(b).or_default().push(i);
        }
        if let Some(topic) = r.topic {
            if let Some(p) = r.partition {
                self.by_tp.entry((topic, p)).or_default().push(i);
            }
            for p in &r.parts {
                let list = self.by_tp.entry((topic, *p)).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        if matches!(r.ty, Ty::Leader | Ty::Truncate | Ty::RebalanceStart | Ty::Rebalance | Ty::Other) || r.ty.is_fault()
        {
            self.structural.push(i);
        }
    }
}

impl History {
    /// The text of a symbol.
    pub fn s(&self, sym: Sym) -> &str {
        self.names.get(sym)
    }
    /// `topic/partition` of a record, if it names one.
    pub fn tp(&self, r: &Rec) -> Option<String> {
        Some(format!("{}/{}", self.s(r.topic?), r.partition?))
    }
    /// The index of the record at `line`.
    pub fn at_line(&self, line: u64) -> Option<usize> {
        self.recs.binary_search_by_key(&line, |r| r.line).ok()
    }

    /// Reads a history that the checker accepted. Errors (I/O, a line that is not JSON)
    /// name the line.
    pub fn read<R: BufRead>(mut input: R, source: &str) -> Result<History, String> {
        let mut names = Names::default();
        let mut recs = Vec::new();
        let mut header = Value::Null;
        let mut line_no = 0u64;
        let mut buf = Vec::new();
        let mut leaders: HashMap<(Sym, u64), Sym> = HashMap::new();
        let mut fails: HashMap<Sym, Sym> = HashMap::new();
        let mut index = Index::default();
        loop {
            buf.clear();
            let n = input.read_until(b'\n', &mut buf).map_err(|e| format!("{source}: cannot read: {e}"))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if line_no == 1 {
                header = serde_json::from_slice(text)
                    .map_err(|e| format!("{source}: line {line_no}: not a JSON object: {e}"))?;
                continue;
            }
            // The fast path reads the fields it knows into borrowed strings; creates,
            // states, unknown types and anything unexpected take the general one.
            let fast = match serde_json::from_slice::<Line<'_>>(text) {
                Ok(line)
                    if !matches!(
                        Ty::parse(&line.ty),
                        Ty::Create | Ty::State | Ty::Link | Ty::RebalanceStart | Ty::Rebalance | Ty::Other
                    ) =>
                {
                    Some(line.into_rec(&mut names, line_no))
                }
                _ => None,
            };
            let mut r = match fast {
                Some(r) => r,
                None => {
                    let value: Value = serde_json::from_slice(text)
                        .map_err(|e| format!("{source}: line {line_no}: not a JSON object: {e}"))?;
                    let Value::Object(map) = value else {
                        return Err(format!("{source}: line {line_no}: expected a JSON object"));
                    };
                    record(&mut names, &map, line_no)
                }
            };
            match r.ty {
                Ty::Leader => {
                    if let (Some(topic), Some(p), Some(node)) = (r.topic, r.partition, r.node) {
                        leaders.insert((topic, p), node);
                    }
                }
                Ty::Send => {
                    if let (Some(topic), Some(p)) = (r.topic, r.partition) {
                        r.peer = leaders.get(&(topic, p)).copied();
                    }
                    if r.attempt.unwrap_or(1) > 1 {
                        r.prev_fail = r.batch.and_then(|b| fails.get(&b).copied());
                    }
                }
                Ty::Fail => {
                    if let (Some(b), Some(reason)) = (r.batch, r.reason) {
                        fails.insert(b, reason);
                    }
                }
                _ => {}
            }
            index.add(recs.len(), &r);
            recs.push(r);
        }
        if line_no == 0 {
            return Err(format!("{source}: the history is empty"));
        }
        Ok(History { names, recs, header, index })
    }
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn record(names: &mut Names, map: &serde_json::Map<String, Value>, line: u64) -> Rec {
    let ty_text = map.get("type").and_then(Value::as_str).unwrap_or("?");
    let ty = Ty::parse(ty_text);
    let mut sym = |key: &str| map.get(key).and_then(id_text).map(|s| names.intern(&s));
    let ty_name = sym("type").unwrap_or(0);
    let node = sym("node");
    let id = sym("id");
    let entity = sym("entity");
    let batch = sym("batch");
    let topic = sym("topic");
    let group = sym("group");
    let reason = sym("reason");
    let label = if ty == Ty::Create { sym("kind") } else { None };
    let uint = |key: &str| map.get(key).and_then(Value::as_u64);
    let list_of = |names: &mut Names, key: &str| -> Vec<Sym> {
        match map.get(key) {
            Some(Value::Array(items)) => items.iter().filter_map(id_text).map(|s| names.intern(&s)).collect(),
            _ => Vec::new(),
        }
    };
    let (list, list2) = match ty {
        Ty::Send => (list_of(names, "events"), Vec::new()),
        Ty::Create => (list_of(names, "deps"), Vec::new()),
        Ty::NetPartition | Ty::NetHeal | Ty::Link => (list_of(names, "from"), list_of(names, "to")),
        Ty::RebalanceStart => (sym("member").into_iter().collect(), Vec::new()),
        Ty::Rebalance => {
            let members = map.get("members").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            (
                members.iter().filter_map(|m| m.get("node").and_then(id_text)).map(|n| names.intern(&n)).collect(),
                Vec::new(),
            )
        }
        _ => (Vec::new(), Vec::new()),
    };
    let parts = match map.get("partitions") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_u64).collect(),
        _ => Vec::new(),
    };
    let flag = ["retry", "ok", "both"].iter().find_map(|k| map.get(*k).and_then(Value::as_bool));
    let num = ["leader_epoch", "delta", "receive", "epoch"].iter().find_map(|k| map.get(*k).and_then(Value::as_i64));
    let pairs = |v: Option<&Value>| -> Option<Box<str>> {
        let Some(Value::Object(o)) = v else { return None };
        let parts: Vec<String> = o
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_string)))
            .collect();
        Some(parts.join(", ").into())
    };
    let text = match ty {
        Ty::Create => pairs(map.get("writes")),
        Ty::State => pairs(map.get("fields")),
        Ty::Rebalance => {
            let members = map.get("members").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            let each: Vec<String> = members
                .iter()
                .map(|m| {
                    let node = m.get("node").and_then(id_text).unwrap_or_else(|| "?".into());
                    let parts: Vec<String> = m
                        .get("partitions")
                        .and_then(Value::as_array)
                        .map(|l| l.iter().map(Value::to_string).collect())
                        .unwrap_or_default();
                    format!("{node} [{}]", parts.join(","))
                })
                .collect();
            Some(if each.is_empty() { "no members".into() } else { each.join(", ").into() })
        }
        Ty::Link => {
            let ms = |key: &str| uint(key).map_or_else(|| "?".to_string(), |ns| format!("{:.2}", ns as f64 / 1e6));
            let pct = |key: &str| uint(key).map_or_else(|| "?".to_string(), |ppm| format!("{}", ppm as f64 / 1e4));
            let fifo = if map.get("fifo").and_then(Value::as_bool) == Some(false) { ", not in order" } else { "" };
            Some(
                format!(
                    "latency {}-{} ms, loss {} %, duplicates {} %{fifo}",
                    ms("latency_min_ns"),
                    ms("latency_max_ns"),
                    pct("loss_ppm"),
                    pct("duplicate_ppm")
                )
                .into(),
            )
        }
        Ty::Other => {
            let parts: Vec<String> = map
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "type" | "t" | "node" | "clock"))
                .map(|(k, v)| format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                .collect();
            Some(parts.join(" ").into())
        }
        _ => None,
    };
    Rec {
        line,
        t: uint("t").unwrap_or(0),
        ty,
        ty_name,
        node,
        id,
        entity,
        batch,
        attempt: uint("attempt"),
        topic,
        partition: uint("partition"),
        offset: uint("offset"),
        group,
        generation: uint("generation"),
        reason,
        flag,
        num,
        list,
        list2,
        parts,
        count: uint("count"),
        label,
        text,
        peer: None,
        prev_fail: None,
    }
}

/// An event id, a batch id or a name: a string (borrowed when it can be) or an integer
/// (formatted when interned, without an allocation).
enum IdText<'a> {
    Str(std::borrow::Cow<'a, str>),
    Num(u64),
    Neg(i64),
}

impl IdText<'_> {
    fn intern(&self, names: &mut Names) -> Sym {
        match self {
            IdText::Str(s) => names.intern(s),
            IdText::Num(n) => names.intern(itoa::Buffer::new().format(*n)),
            IdText::Neg(n) => names.intern(itoa::Buffer::new().format(*n)),
        }
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for IdText<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = IdText<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(IdText::Str(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(IdText::Str(std::borrow::Cow::Owned(v.to_string())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(IdText::Num(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(IdText::Neg(v))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The fields of a record the fast path reads (unknown fields are skipped).
#[derive(serde::Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    ty: std::borrow::Cow<'a, str>,
    t: Option<u64>,
    #[serde(borrow)]
    node: Option<IdText<'a>>,
    #[serde(borrow)]
    id: Option<IdText<'a>>,
    #[serde(borrow)]
    entity: Option<IdText<'a>>,
    #[serde(borrow)]
    batch: Option<IdText<'a>>,
    attempt: Option<u64>,
    #[serde(borrow)]
    topic: Option<IdText<'a>>,
    partition: Option<u64>,
    offset: Option<u64>,
    #[serde(borrow)]
    group: Option<IdText<'a>>,
    generation: Option<u64>,
    #[serde(borrow)]
    reason: Option<IdText<'a>>,
    retry: Option<bool>,
    ok: Option<bool>,
    both: Option<bool>,
    leader_epoch: Option<i64>,
    delta: Option<i64>,
    receive: Option<i64>,
    epoch: Option<i64>,
    #[serde(borrow)]
    events: Option<Vec<IdText<'a>>>,
    #[serde(borrow)]
    from: Option<Vec<IdText<'a>>>,
    #[serde(borrow)]
    to: Option<Vec<IdText<'a>>>,
    partitions: Option<Vec<u64>>,
    count: Option<u64>,
}

impl Line<'_> {
    fn into_rec(self, names: &mut Names, line: u64) -> Rec {
        let ty = Ty::parse(&self.ty);
        let mut sym = |x: Option<IdText<'_>>| x.map(|x| x.intern(names));
        let ty_name = sym(Some(IdText::Str(self.ty)));
        let node = sym(self.node);
        let id = sym(self.id);
        let entity = sym(self.entity);
        let batch = sym(self.batch);
        let topic = sym(self.topic);
        let group = sym(self.group);
        let reason = sym(self.reason);
        let list_of = |names: &mut Names, l: Option<Vec<IdText<'_>>>| -> Vec<Sym> {
            l.unwrap_or_default().iter().map(|x| x.intern(names)).collect()
        };
        let (list, list2) = match ty {
            Ty::Send => (list_of(names, self.events), Vec::new()),
            Ty::NetPartition | Ty::NetHeal => (list_of(names, self.from), list_of(names, self.to)),
            _ => (Vec::new(), Vec::new()),
        };
        Rec {
            line,
            t: self.t.unwrap_or(0),
            ty,
            ty_name: ty_name.unwrap_or(0),
            node,
            id,
            entity,
            batch,
            attempt: self.attempt,
            topic,
            partition: self.partition,
            offset: self.offset,
            group,
            generation: self.generation,
            reason,
            flag: self.retry.or(self.ok).or(self.both),
            num: self.leader_epoch.or(self.delta).or(self.receive).or(self.epoch),
            list,
            list2,
            parts: self.partitions.unwrap_or_default(),
            count: self.count,
            label: None,
            text: None,
            peer: None,
            prev_fail: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path reads every record of the corpus and of a bundled run exactly as the
    /// general path does.
    #[test]
    fn the_fast_path_reads_records_as_the_general_path() {
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir("tests/histories")
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        files.sort();
        let mut compared = 0;
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let mut names = Names::default();
            for (i, line) in text.lines().enumerate().skip(1) {
                let (Ok(fast), Ok(Value::Object(map))) =
                    (serde_json::from_str::<Line<'_>>(line), serde_json::from_str::<Value>(line))
                else {
                    continue;
                };
                if matches!(
                    Ty::parse(&fast.ty),
                    Ty::Create | Ty::State | Ty::Link | Ty::RebalanceStart | Ty::Rebalance | Ty::Other
                ) {
                    continue;
                }
                let a = fast.into_rec(&mut names, i as u64 + 1);
                let b = record(&mut names, &map, i as u64 + 1);
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{}: line {}", path.display(), i + 1);
                compared += 1;
            }
        }
        assert!(compared > 300, "compared {compared} records");
    }
}
