//! Recording a run's history (format: `docs/history-format.md`).
//!
//! On the hot path the model pushes compact [`Rec`]s (integers only, no strings) into a
//! buffer. Every [`FLUSH_RECORDS`] records, and at the end, the buffer goes to a writer
//! thread together with the [`Catalog`] entries appended since the previous buffer (the
//! catalog is append-only: what a record refers to never changes after it is recorded).
//! The writer keeps its own copy of the catalog, formats the records as JSONL with names
//! and event contents looked up in it, and streams the bytes to the sinks: the SHA-256
//! fingerprint, an optional file, and an optional in-memory copy. So formatting, hashing
//! and I/O all run beside the simulation, not on its thread. With [`HistoryMode::Off`]
//! nothing is recorded or formatted at all.

use std::io::Write;

mod compact;
mod fields;

pub use compact::{CompactHistory, Records};

use sha2::{Digest, Sha256};

use crate::scenario::{ClockKind, Operation};

/// Records buffered before they are formatted and streamed.
pub const FLUSH_RECORDS: usize = 8192;

/// Sentinel for "no value" in compact integer fields.
pub const NONE_U32: u32 = u32::MAX;
pub const NONE_U64: u64 = u64::MAX;

/// One event of the workload, as the catalog keeps it.
#[derive(Clone, Copy, Debug)]
pub struct EventInfo {
    pub entity: u32,
    pub step: u32,
    pub kind: u16,
    /// Index of the first dependency in `Catalog::deps`, and how many.
    pub deps_start: u32,
    pub deps_len: u16,
    /// Whether the event was sent with its entity as key.
    pub keyed: bool,
}

/// One produce batch: its immutable content and identity. `pid`, `epoch` and `seq` are
/// the one exception to "append-only": they are set when the batch is first sent, so the
/// `send` record carries them to the writer (its copy of the catalog takes them from
/// there, before any broker record about the batch).
#[derive(Clone, Copy, Debug)]
pub struct BatchInfo {
    pub producer: u32,
    pub partition: u32,
    pub events_start: u32,
    pub events_len: u32,
    /// Idempotent producer id, or [`NONE_U64`].
    pub pid: u64,
    pub epoch: u16,
    /// Sequence number of the first record, or [`NONE_U32`] (assigned at first send).
    pub seq: u32,
}

/// Everything records point into. Append-only during a run.
#[derive(Debug, Default)]
pub struct Catalog {
    pub node_names: Vec<String>,
    pub topic: String,
    pub group: String,
    pub entity_prefix: String,
    pub kinds: Vec<String>,
    pub events: Vec<EventInfo>,
    pub deps: Vec<u32>,
    pub batches: Vec<BatchInfo>,
    pub batch_events: Vec<u32>,
    /// Strategy metadata written on `create`: per-entity sequence numbers (`seq`, also the
    /// version), the producer's timestamp (`ts`).
    pub meta_seq: bool,
    pub meta_ts: bool,
    /// The logical clock stamped on each event (`lamport`, `hlc` or `vc` in `meta`): per
    /// event, the Lamport value or the HLC's physical part (`stamp_l`) and HLC's logical
    /// part (`stamp_c`); for vector clocks, `vc_width` entries per event in `vc` (one per
    /// producer, nodes 0..vc_width).
    pub clock: ClockKind,
    pub stamp_l: Vec<i64>,
    pub stamp_c: Vec<u32>,
    pub vc: Vec<u32>,
    pub vc_width: u32,
    /// The members of each completed rebalance (`rebalance` records point into it): per
    /// member its node, its partition count, then its partitions.
    pub group_members: Vec<u32>,
    /// What an apply does to the projection (`workload.operation`): the field it changes
    /// besides `status` is in `create.writes`, the header's `operations` and `state`.
    pub operation: crate::scenario::Operation,
    /// With `operation = append`: the events each entity's projection applied, in apply
    /// order (`state` records point into it), written at the end of the run.
    pub items: Vec<u32>,
    /// Made on first use, from the names above (which must not change after).
    pub fragments: std::sync::OnceLock<Fragments>,
}

impl Catalog {
    /// The constant line pieces for this catalog's names.
    fn fragments(&self) -> &Fragments {
        self.fragments.get_or_init(|| Fragments {
            node_fields: self.node_names.iter().map(|name| format!(",\"node\":\"{name}\"")).collect(),
            entity_open: format!("\"{}-", self.entity_prefix),
            topic_partition: format!(",\"topic\":\"{}\",\"partition\":", self.topic),
            group_field: format!(",\"group\":\"{}\"", self.group),
        })
    }

    pub fn batch_events(&self, batch: u32) -> &[u32] {
        let info = &self.batches[batch as usize];
        &self.batch_events[info.events_start as usize..(info.events_start + info.events_len) as usize]
    }

    pub fn deps(&self, event: u32) -> &[u32] {
        let info = &self.events[event as usize];
        &self.deps[info.deps_start as usize..info.deps_start as usize + info.deps_len as usize]
    }
}

/// Why a produce attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailReason {
    RequestTimeout,
    DeliveryTimeout,
    OutOfOrderSequence,
    NotLeader,
    NotEnoughReplicas,
    /// The connection broke (another request on it timed out) while this one was in flight.
    Disconnected,
    /// An expected-version append found its entity's stream elsewhere (a conflict).
    WrongExpectedVersion,
    /// The batch's producer epoch is below one the broker has seen for its PID (fenced).
    InvalidProducerEpoch,
}

impl FailReason {
    pub const ALL: [FailReason; 8] = [
        FailReason::RequestTimeout,
        FailReason::DeliveryTimeout,
        FailReason::OutOfOrderSequence,
        FailReason::NotLeader,
        FailReason::NotEnoughReplicas,
        FailReason::Disconnected,
        FailReason::WrongExpectedVersion,
        FailReason::InvalidProducerEpoch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::RequestTimeout => "request_timeout",
            FailReason::DeliveryTimeout => "delivery_timeout",
            FailReason::OutOfOrderSequence => "out_of_order_sequence",
            FailReason::NotLeader => "not_leader",
            FailReason::NotEnoughReplicas => "not_enough_replicas",
            FailReason::Disconnected => "disconnected",
            FailReason::WrongExpectedVersion => "wrong_expected_version",
            FailReason::InvalidProducerEpoch => "invalid_producer_epoch",
        }
    }
}

/// A compact history record. `t` is true time (ns), `node` a node index, `clock` the
/// node's local clock reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rec {
    ProducerInit {
        t: u64,
        node: u32,
        pid: u64,
        epoch: u16,
    },
    Create {
        t: u64,
        node: u32,
        clock: i64,
        event: u32,
    },
    Send {
        t: u64,
        node: u32,
        clock: i64,
        batch: u32,
        attempt: u16,
        acks: i8,
        /// The batch's identity at this send (see [`BatchInfo`]).
        pid: u64,
        epoch: u16,
        seq: u32,
    },
    Ack {
        t: u64,
        node: u32,
        clock: i64,
        batch: u32,
        attempt: u16,
        offset: u64,
    },
    Fail {
        t: u64,
        node: u32,
        batch: u32,
        attempt: u16,
        reason: FailReason,
        retry: bool,
    },
    Append {
        t: u64,
        node: u32,
        partition: u32,
        offset: u64,
        event: u32,
        batch: u32,
        attempt: u16,
        seq: u32,
        epoch: u32,
    },
    Dedup {
        t: u64,
        node: u32,
        batch: u32,
        attempt: u16,
        offset: u64,
    },
    Reject {
        t: u64,
        node: u32,
        batch: u32,
        attempt: u16,
        reason: FailReason,
    },
    Assign {
        t: u64,
        node: u32,
        generation: u32,
        partition: u32,
    },
    Revoke {
        t: u64,
        node: u32,
        generation: u32,
        partition: u32,
    },
    Seek {
        t: u64,
        node: u32,
        partition: u32,
        offset: u64,
        committed: bool,
    },
    Deliver {
        t: u64,
        node: u32,
        clock: i64,
        generation: u32,
        partition: u32,
        offset: u64,
        event: u32,
    },
    Apply {
        t: u64,
        node: u32,
        clock: i64,
        partition: u32,
        offset: u64,
        event: u32,
    },
    /// Queue mode: `node` received the message at `offset` of the queue (its `receive`-th
    /// receive). Written as a `deliver` without a generation.
    QueueDeliver {
        t: u64,
        node: u32,
        clock: i64,
        offset: u64,
        event: u32,
        receive: u32,
    },
    /// Queue mode: the host accepted (`ok`) or refused consumer `node`'s acknowledgement
    /// (`queue_ack`) or negative acknowledgement (`nack`) of the message at `offset`.
    QueueSettle {
        t: u64,
        node: u32,
        offset: u64,
        event: u32,
        ok: bool,
        /// Empty when `ok`.
        reason: &'static str,
        nack: bool,
    },
    /// A consumer strategy decided never to apply `event`.
    Discard {
        t: u64,
        node: u32,
        clock: i64,
        partition: u32,
        offset: u64,
        event: u32,
        reason: &'static str,
    },
    Commit {
        t: u64,
        node: u32,
        generation: u32,
        partition: u32,
        offset: u64,
        ok: bool,
        /// Empty when `ok`.
        reason: &'static str,
    },
    State {
        t: u64,
        entity: u32,
        kind: u16,
        /// How many times the group applied the entity's events (duplicates included): the
        /// `count` of `operation = increment`, the length of `items` for `append`.
        count: u64,
        /// `operation = append`: where the entity's applied events start in `Catalog::items`.
        items: u32,
    },
    Crash {
        t: u64,
        node: u32,
    },
    Restart {
        t: u64,
        node: u32,
    },
    Pause {
        t: u64,
        node: u32,
    },
    /// `node` runs again after a pause (written at the end of the pause).
    Resume {
        t: u64,
        node: u32,
    },
    ClockStep {
        t: u64,
        node: u32,
        delta_ns: i64,
    },
    /// The link from → to behaves like this from now on (a `link` fault, or a drawn period
    /// of loss and latency starting or ending). Latency is uniform in `min_ns..=max_ns`.
    Link {
        t: u64,
        from: u32,
        to: u32,
        min_ns: u64,
        max_ns: u64,
        loss_ppm: u32,
        duplicate_ppm: u32,
        fifo: bool,
    },
    /// Coordinator `node` started a rebalance of the group, which was in `generation`:
    /// `reason` (`join`, `leave`, `expiry`, `second_round`), started by `member`'s node
    /// ([`NONE_U32`] for none).
    RebalanceStart {
        t: u64,
        node: u32,
        generation: u32,
        reason: &'static str,
        member: u32,
    },
    /// Coordinator `node` completed a rebalance: `generation` is the new one, its members
    /// are `Catalog::group_members[start..start + len]`.
    Rebalance {
        t: u64,
        node: u32,
        generation: u32,
        start: u32,
        len: u32,
    },
    /// Follower `node` appended `count` records it fetched from its leader to `partition`,
    /// at offsets `offset..offset + count`, following leader epoch `epoch`.
    Replicate {
        t: u64,
        node: u32,
        partition: u32,
        offset: u64,
        count: u32,
        epoch: u32,
    },
    /// `node` leads `partition` from leader epoch `epoch` on.
    Leader {
        t: u64,
        node: u32,
        partition: u32,
        epoch: u32,
    },
    /// Replica `node` removed its records at offsets ≥ `offset` (a divergent suffix).
    Truncate {
        t: u64,
        node: u32,
        partition: u32,
        offset: u64,
    },
    /// The link from → to was cut (`cut`) or healed.
    NetLinks {
        t: u64,
        from: u32,
        to: u32,
        cut: bool,
    },
    End {
        t: u64,
        reason: &'static str,
        events: u64,
    },
}

/// The members of a `rebalance` record: (node, partitions) each.
pub fn group_members(catalog: &Catalog, start: u32, len: u32) -> impl Iterator<Item = (u32, &[u32])> {
    let mut rest = &catalog.group_members[start as usize..start as usize + len as usize];
    std::iter::from_fn(move || {
        let (&node, after) = rest.split_first()?;
        let (&count, after) = after.split_first()?;
        let (partitions, after) = after.split_at(count as usize);
        rest = after;
        Some((node, partitions))
    })
}

impl Rec {
    /// The record's true time.
    pub fn t(&self) -> u64 {
        match *self {
            Rec::ProducerInit { t, .. }
            | Rec::Create { t, .. }
            | Rec::Send { t, .. }
            | Rec::Ack { t, .. }
            | Rec::Fail { t, .. }
            | Rec::Append { t, .. }
            | Rec::Dedup { t, .. }
            | Rec::Reject { t, .. }
            | Rec::Assign { t, .. }
            | Rec::Revoke { t, .. }
            | Rec::Seek { t, .. }
            | Rec::Deliver { t, .. }
            | Rec::Apply { t, .. }
            | Rec::QueueDeliver { t, .. }
            | Rec::QueueSettle { t, .. }
            | Rec::Discard { t, .. }
            | Rec::Commit { t, .. }
            | Rec::State { t, .. }
            | Rec::Crash { t, .. }
            | Rec::Restart { t, .. }
            | Rec::Pause { t, .. }
            | Rec::Resume { t, .. }
            | Rec::ClockStep { t, .. }
            | Rec::Link { t, .. }
            | Rec::RebalanceStart { t, .. }
            | Rec::Rebalance { t, .. }
            | Rec::Replicate { t, .. }
            | Rec::Leader { t, .. }
            | Rec::Truncate { t, .. }
            | Rec::NetLinks { t, .. }
            | Rec::End { t, .. } => t,
        }
    }
}

// A record is copied into the buffer on the hot path: keep it at seven words (the
// largest variant, `discard`, sets the size; `send` with the batch identity fits in it).
const _: () = assert!(std::mem::size_of::<Rec>() <= 56);

/// What a run does with its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryMode {
    /// Record nothing: fastest, no fingerprint, no checking.
    Off,
    /// Record, fingerprint, and stream to the configured sinks.
    On,
    /// Record into memory only, as a [`CompactHistory`] (about 11 bytes a record): no
    /// JSONL, no fingerprint, no writer thread. Sweeps check these directly.
    Compact,
}

/// The header line's fields.
#[derive(Debug, Clone)]
pub struct Header {
    pub scenario: String,
    pub strategy: String,
    pub seed: u64,
    pub expect: Vec<&'static str>,
    pub partitions: u32,
    /// The topic is a queue (`[queue]`): the header's topics entry says `"kind":"queue"`.
    pub queue: bool,
}

/// Buffers compact records and streams them as JSONL.
///
/// Every full buffer goes to a writer thread with the catalog entries appended since the
/// previous one; the writer formats, hashes, writes the file and keeps the in-memory copy,
/// so all of that overlaps with the simulation. The byte stream is the same as a single
/// thread would make: shipments go through one channel, in order, and each is formatted
/// against the catalog as it stood when it was sent, which is all its records refer to.
pub struct Recorder {
    mode: HistoryMode,
    records: Vec<Rec>,
    file: Option<Box<dyn Write + Send>>,
    memory: bool,
    writer: Option<Writer>,
    written: u64,
    /// How much of each append-only catalog table the writer has.
    shipped: Shipped,
    /// [`HistoryMode::Compact`]: the records so far.
    compact: Option<compact::Encoder>,
}

/// Lengths of the catalog's append-only tables already shipped to the writer.
#[derive(Default, Clone, Copy)]
struct Shipped {
    events: usize,
    deps: usize,
    batches: usize,
    batch_events: usize,
    stamp_l: usize,
    stamp_c: usize,
    vc: usize,
    group_members: usize,
    items: usize,
}

/// What the simulation hands the writer: raw bytes (the header), or records with the
/// catalog entries appended since the previous shipment.
// One message per 8192 records: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
enum Message {
    Bytes(Vec<u8>),
    Records(Shipment),
}

#[derive(Default)]
struct Shipment {
    records: Vec<Rec>,
    events: Vec<EventInfo>,
    deps: Vec<u32>,
    batches: Vec<BatchInfo>,
    batch_events: Vec<u32>,
    stamp_l: Vec<i64>,
    stamp_c: Vec<u32>,
    vc: Vec<u32>,
    group_members: Vec<u32>,
    items: Vec<u32>,
}

impl Shipment {
    fn clear(&mut self) {
        self.records.clear();
        self.events.clear();
        self.deps.clear();
        self.batches.clear();
        self.batch_events.clear();
        self.stamp_l.clear();
        self.stamp_c.clear();
        self.vc.clear();
        self.group_members.clear();
        self.items.clear();
    }
}

struct Writer {
    messages: std::sync::mpsc::SyncSender<Message>,
    spare: std::sync::mpsc::Receiver<Shipment>,
    thread: std::thread::JoinHandle<std::io::Result<Finished>>,
}

/// Shipments in flight between the simulation and the writer thread.
const CHUNKS_IN_FLIGHT: usize = 4;

/// The `items` of an `operation = append` projection: the kinds of its applied events, in
/// apply order, joined by commas.
pub fn state_items(catalog: &Catalog, start: u32, count: u64) -> String {
    let start = start as usize;
    let end = start.saturating_add(usize::try_from(count).unwrap_or(usize::MAX)).min(catalog.items.len());
    let kinds = catalog.items.get(start..end).unwrap_or(&[]).iter().map(|&e| {
        let kind = catalog.events[e as usize].kind;
        catalog.kinds[usize::from(kind)].as_str()
    });
    kinds.collect::<Vec<_>>().join(",")
}

/// The writer's copy of a catalog: the names, which are fixed before the run starts (the
/// tables start empty and grow by shipments).
fn catalog_names(catalog: &Catalog) -> Catalog {
    // Every field is named: a new one must be sorted into fixed names or shipped tables.
    let Catalog {
        node_names,
        topic,
        group,
        entity_prefix,
        kinds,
        events: _,
        deps: _,
        batches: _,
        batch_events: _,
        meta_seq,
        meta_ts,
        clock,
        stamp_l: _,
        stamp_c: _,
        vc: _,
        vc_width,
        group_members: _,
        operation,
        items: _,
        fragments: _,
    } = catalog;
    Catalog {
        node_names: node_names.clone(),
        topic: topic.clone(),
        group: group.clone(),
        entity_prefix: entity_prefix.clone(),
        kinds: kinds.clone(),
        meta_seq: *meta_seq,
        meta_ts: *meta_ts,
        clock: *clock,
        vc_width: *vc_width,
        operation: *operation,
        ..Catalog::default()
    }
}

impl Writer {
    fn start(mut file: Option<Box<dyn Write + Send>>, keep_in_memory: bool, mut catalog: Catalog) -> Writer {
        let (messages, inbox) = std::sync::mpsc::sync_channel::<Message>(CHUNKS_IN_FLIGHT);
        let (give_back, spare) = std::sync::mpsc::sync_channel::<Shipment>(CHUNKS_IN_FLIGHT + 2);
        let thread = std::thread::spawn(move || {
            let mut hasher = Sha256::new();
            let mut memory = keep_in_memory.then(Vec::new);
            let mut bytes = 0u64;
            let mut failure = None;
            let mut chunk: Vec<u8> = Vec::new();
            for message in inbox {
                // With an in-memory copy, lines are formatted straight into it (no copy);
                // else into a chunk reused for every message.
                chunk.clear();
                let out = memory.as_mut().unwrap_or(&mut chunk);
                let start = out.len();
                match message {
                    Message::Bytes(raw) => out.extend_from_slice(&raw),
                    Message::Records(mut shipment) => {
                        catalog.events.extend_from_slice(&shipment.events);
                        catalog.deps.extend_from_slice(&shipment.deps);
                        catalog.batches.extend_from_slice(&shipment.batches);
                        catalog.batch_events.extend_from_slice(&shipment.batch_events);
                        catalog.stamp_l.extend_from_slice(&shipment.stamp_l);
                        catalog.stamp_c.extend_from_slice(&shipment.stamp_c);
                        catalog.vc.extend_from_slice(&shipment.vc);
                        catalog.group_members.extend_from_slice(&shipment.group_members);
                        catalog.items.extend_from_slice(&shipment.items);
                        out.reserve(shipment.records.len() * 160);
                        for rec in &shipment.records {
                            if let Rec::Send { batch, pid, epoch, seq, .. } = *rec {
                                let info = &mut catalog.batches[batch as usize];
                                (info.pid, info.epoch, info.seq) = (pid, epoch, seq);
                            }
                            format_record(out, rec, &catalog);
                        }
                        shipment.clear();
                        let _ = give_back.try_send(shipment);
                    }
                }
                let fresh = &out[start..];
                hasher.update(fresh);
                bytes += fresh.len() as u64;
                if let (Some(file), None) = (&mut file, &failure) {
                    if let Err(error) = file.write_all(fresh) {
                        failure = Some(error);
                    }
                }
            }
            if let (Some(file), None) = (&mut file, &failure) {
                if let Err(error) = file.flush() {
                    failure = Some(error);
                }
            }
            match failure {
                Some(error) => Err(error),
                None => Ok(Finished {
                    sha256: Some(hex(&hasher.finalize())),
                    records: 0,
                    bytes,
                    jsonl: memory,
                    compact: None,
                }),
            }
        });
        Writer { messages, spare, thread }
    }
}

impl Recorder {
    pub fn new(mode: HistoryMode) -> Recorder {
        Recorder {
            mode,
            records: Vec::with_capacity(if mode == HistoryMode::Off { 0 } else { FLUSH_RECORDS }),
            file: None,
            memory: false,
            writer: None,
            written: 0,
            shipped: Shipped::default(),
            compact: (mode == HistoryMode::Compact).then(compact::Encoder::default),
        }
    }

    /// Also stream the JSONL to `file`. Call before anything is recorded.
    pub fn to_file(&mut self, file: Box<dyn Write + Send>) {
        self.file = Some(file);
    }

    /// Also keep the JSONL bytes in memory (for the checker). Call before anything is recorded.
    pub fn keep_in_memory(&mut self) {
        self.memory = true;
    }

    /// Records `rec` (cheap: a copy into a buffer). Call [`Recorder::is_full`] and
    /// [`Recorder::flush`] after.
    #[inline]
    pub fn push(&mut self, rec: Rec) {
        if self.mode != HistoryMode::Off {
            self.records.push(rec);
        }
    }

    #[inline]
    pub fn is_full(&self) -> bool {
        self.records.len() >= FLUSH_RECORDS
    }

    /// Starts the writer (with the catalog's names) if it is not running yet.
    fn writer(&mut self, catalog: &Catalog) -> &Writer {
        if self.writer.is_none() {
            self.writer = Some(Writer::start(self.file.take(), self.memory, catalog_names(catalog)));
        }
        self.writer.as_ref().expect("started above")
    }

    fn send(&mut self, catalog: &Catalog, message: Message) {
        // A send fails only if the writer thread is gone; finish() reports why.
        let _ = self.writer(catalog).messages.send(message);
    }

    pub fn write_header(&mut self, header: &Header, catalog: &Catalog) {
        if self.mode == HistoryMode::Off {
            return;
        }
        let value = serde_json::json!({
            "format": "ordo-history",
            "version": 2,
            "source": concat!("ordo ", env!("CARGO_PKG_VERSION")),
            "scenario": header.scenario,
            "strategy": header.strategy,
            "seed": header.seed,
            "expect": header.expect,
            "topics": [if header.queue {
                serde_json::json!({"name": catalog.topic, "partitions": header.partitions, "kind": "queue"})
            } else {
                serde_json::json!({"name": catalog.topic, "partitions": header.partitions})
            }],
        });
        let mut value = value;
        if let Some((field, operation)) = catalog.operation.field() {
            value["operations"] = serde_json::json!({ field: operation });
        }
        let mut line = serde_json::to_vec(&value).expect("a JSON value serializes");
        line.push(b'\n');
        match &mut self.compact {
            Some(encoder) => encoder.set_header(line),
            None => self.send(catalog, Message::Bytes(line)),
        }
    }

    /// Hands every buffered record, with the catalog entries they may refer to that the
    /// writer does not have yet, to the writer thread.
    pub fn flush(&mut self, catalog: &Catalog) {
        if self.records.is_empty() {
            return;
        }
        if let Some(encoder) = &mut self.compact {
            encoder.encode(&self.records);
            self.written += self.records.len() as u64;
            self.records.clear();
            return;
        }
        let recycled = self.writer(catalog).spare.try_recv().ok();
        let mut shipment = recycled.unwrap_or_default();
        let capacity = self.records.capacity();
        std::mem::swap(&mut shipment.records, &mut self.records);
        self.records.reserve(capacity);
        let from = self.shipped;
        shipment.events.extend_from_slice(&catalog.events[from.events..]);
        shipment.deps.extend_from_slice(&catalog.deps[from.deps..]);
        shipment.batches.extend_from_slice(&catalog.batches[from.batches..]);
        shipment.batch_events.extend_from_slice(&catalog.batch_events[from.batch_events..]);
        shipment.stamp_l.extend_from_slice(&catalog.stamp_l[from.stamp_l..]);
        shipment.stamp_c.extend_from_slice(&catalog.stamp_c[from.stamp_c..]);
        shipment.vc.extend_from_slice(&catalog.vc[from.vc..]);
        shipment.group_members.extend_from_slice(&catalog.group_members[from.group_members..]);
        shipment.items.extend_from_slice(&catalog.items[from.items..]);
        self.shipped = Shipped {
            events: catalog.events.len(),
            deps: catalog.deps.len(),
            batches: catalog.batches.len(),
            batch_events: catalog.batch_events.len(),
            stamp_l: catalog.stamp_l.len(),
            stamp_c: catalog.stamp_c.len(),
            vc: catalog.vc.len(),
            group_members: catalog.group_members.len(),
            items: catalog.items.len(),
        };
        self.written += shipment.records.len() as u64;
        self.send(catalog, Message::Records(shipment));
    }

    /// Flushes everything and waits for the writer; returns the fingerprint and the
    /// in-memory copy if kept. With [`HistoryMode::Compact`] the history takes the catalog
    /// (leaving an empty one): it is part of the history.
    pub fn finish(&mut self, catalog: &mut Catalog) -> std::io::Result<Finished> {
        if self.mode == HistoryMode::Off {
            return Ok(Finished { sha256: None, records: 0, bytes: 0, jsonl: None, compact: None });
        }
        self.flush(catalog);
        if let Some(encoder) = self.compact.take() {
            let mut history = encoder.finish();
            history.catalog = std::mem::take(catalog);
            let bytes = history.record_bytes() as u64;
            return Ok(Finished { sha256: None, records: self.written, bytes, jsonl: None, compact: Some(history) });
        }
        self.writer(catalog);
        let Writer { messages, spare, thread } = self.writer.take().expect("started above");
        drop(messages);
        drop(spare);
        let mut finished = thread.join().map_err(|_| std::io::Error::other("the history writer thread panicked"))??;
        finished.records = self.written;
        Ok(finished)
    }
}

/// The end of a recording.
#[derive(Debug)]
pub struct Finished {
    pub sha256: Option<String>,
    pub records: u64,
    pub bytes: u64,
    pub jsonl: Option<Vec<u8>>,
    /// [`HistoryMode::Compact`]: the history, with the catalog `finish` moved into it.
    pub compact: Option<CompactHistory>,
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 15)] as char);
    }
    text
}

// ---- the JSONL writer: hand-written so a record costs a few hundred nanoseconds ----

struct Line<'a> {
    out: &'a mut Vec<u8>,
}

impl Line<'_> {
    fn raw(&mut self, bytes: &str) -> &mut Self {
        self.out.extend_from_slice(bytes.as_bytes());
        self
    }

    fn uint(&mut self, value: u64) -> &mut Self {
        let mut buffer = itoa::Buffer::new();
        self.out.extend_from_slice(buffer.format(value).as_bytes());
        self
    }

    fn int(&mut self, value: i64) -> &mut Self {
        let mut buffer = itoa::Buffer::new();
        self.out.extend_from_slice(buffer.format(value).as_bytes());
        self
    }

    fn string(&mut self, value: &str) -> &mut Self {
        self.out.push(b'"');
        self.raw(value);
        self.out.push(b'"');
        self
    }

    /// A JSON array of event ids.
    fn ids(&mut self, ids: &[u32]) -> &mut Self {
        self.out.push(b'[');
        for (index, id) in ids.iter().enumerate() {
            if index > 0 {
                self.out.push(b',');
            }
            self.uint(u64::from(*id));
        }
        self.out.push(b']');
        self
    }

    fn start(&mut self, kind: &str, t: u64) -> &mut Self {
        self.raw("{\"type\":\"").raw(kind).raw("\",\"t\":").uint(t)
    }

    fn node(&mut self, catalog: &Catalog, node: u32) -> &mut Self {
        self.raw(&catalog.fragments().node_fields[node as usize])
    }

    fn entity(&mut self, catalog: &Catalog, entity: u32) -> &mut Self {
        self.raw(&catalog.fragments().entity_open).uint(u64::from(entity)).raw("\"")
    }

    fn topic_partition(&mut self, catalog: &Catalog, partition: u32) -> &mut Self {
        self.raw(&catalog.fragments().topic_partition).uint(u64::from(partition))
    }

    fn group(&mut self, catalog: &Catalog) -> &mut Self {
        self.raw(&catalog.fragments().group_field)
    }

    fn end(&mut self) {
        self.out.extend_from_slice(b"}\n");
    }
}

/// Constant pieces of lines, made once per catalog.
#[derive(Debug, Default)]
pub struct Fragments {
    /// `,"node":"p0"` per node.
    node_fields: Vec<String>,
    /// `"order-`
    entity_open: String,
    /// `,"topic":"orders","partition":`
    topic_partition: String,
    /// `,"group":"g"`
    group_field: String,
}

fn format_record(out: &mut Vec<u8>, rec: &Rec, catalog: &Catalog) {
    out.reserve(320);
    let mut line = Line { out };
    match *rec {
        Rec::ProducerInit { t, node, pid, epoch } => {
            line.start("producer_init", t).node(catalog, node);
            if pid != NONE_U64 {
                line.raw(",\"pid\":").uint(pid).raw(",\"epoch\":").uint(u64::from(epoch));
            }
        }
        Rec::Create { t, node, clock, event } => {
            let info = catalog.events[event as usize];
            line.start("create", t).node(catalog, node).raw(",\"clock\":").int(clock);
            line.raw(",\"id\":").uint(u64::from(event));
            line.raw(",\"entity\":").entity(catalog, info.entity);
            line.raw(",\"key\":");
            if info.keyed {
                line.entity(catalog, info.entity);
            } else {
                line.raw("null");
            }
            line.raw(",\"deps\":").ids(catalog.deps(event));
            let kind = &catalog.kinds[usize::from(info.kind)];
            line.raw(",\"writes\":").raw("{\"status\":").string(kind);
            match catalog.operation {
                Operation::Set => {}
                Operation::Increment => {
                    line.raw(",\"count\":\"1\"");
                }
                Operation::Append => {
                    line.raw(",\"items\":").string(kind);
                }
            }
            line.raw("}");
            line.raw(",\"kind\":").string(kind);
            if catalog.meta_seq || catalog.meta_ts || catalog.clock != ClockKind::None {
                line.raw(",\"meta\":{");
                let mut sep = "";
                if catalog.meta_seq {
                    let seq = u64::from(info.step) + 1;
                    line.raw("\"seq\":").uint(seq).raw(",\"version\":").uint(seq);
                    sep = ",";
                }
                if catalog.meta_ts {
                    line.raw(sep).raw("\"ts\":").int(clock);
                    sep = ",";
                }
                let e = event as usize;
                match catalog.clock {
                    ClockKind::None => {}
                    ClockKind::Lamport => {
                        line.raw(sep).raw("\"lamport\":").int(catalog.stamp_l[e]);
                    }
                    ClockKind::Hybrid => {
                        line.raw(sep).raw("\"hlc\":[").int(catalog.stamp_l[e]);
                        line.raw(",").uint(u64::from(catalog.stamp_c[e])).raw("]");
                    }
                    ClockKind::Vector => {
                        line.raw(sep).raw("\"vc\":{");
                        let width = catalog.vc_width as usize;
                        let mut first = true;
                        for (producer, &count) in catalog.vc[e * width..(e + 1) * width].iter().enumerate() {
                            if count > 0 {
                                line.raw(if first { "\"" } else { ",\"" });
                                line.raw(&catalog.node_names[producer]).raw("\":").uint(u64::from(count));
                                first = false;
                            }
                        }
                        line.raw("}");
                    }
                }
                line.raw("}");
            }
        }
        Rec::Send { t, node, clock, batch, attempt, acks, pid, epoch, seq } => {
            let info = catalog.batches[batch as usize];
            line.start("send", t).node(catalog, node).raw(",\"clock\":").int(clock);
            line.raw(",\"batch\":").uint(u64::from(batch)).raw(",\"attempt\":").uint(u64::from(attempt));
            line.topic_partition(catalog, info.partition);
            line.raw(",\"events\":").ids(catalog.batch_events(batch));
            if pid != NONE_U64 {
                line.raw(",\"pid\":").uint(pid).raw(",\"epoch\":").uint(u64::from(epoch));
                line.raw(",\"seq\":").uint(u64::from(seq));
            }
            line.raw(",\"acks\":").int(i64::from(acks));
        }
        Rec::Ack { t, node, clock, batch, attempt, offset } => {
            let info = catalog.batches[batch as usize];
            line.start("ack", t).node(catalog, node).raw(",\"clock\":").int(clock);
            line.raw(",\"batch\":").uint(u64::from(batch)).raw(",\"attempt\":").uint(u64::from(attempt));
            line.topic_partition(catalog, info.partition);
            if offset != NONE_U64 {
                line.raw(",\"offset\":").uint(offset);
            }
        }
        Rec::Fail { t, node, batch, attempt, reason, retry } => {
            line.start("fail", t).node(catalog, node);
            line.raw(",\"batch\":").uint(u64::from(batch)).raw(",\"attempt\":").uint(u64::from(attempt));
            line.raw(",\"reason\":").string(reason.as_str());
            line.raw(",\"retry\":").raw(if retry { "true" } else { "false" });
        }
        Rec::Append { t, node, partition, offset, event, batch, attempt, seq, epoch } => {
            line.start("append", t).node(catalog, node).topic_partition(catalog, partition);
            line.raw(",\"offset\":").uint(offset).raw(",\"id\":").uint(u64::from(event));
            line.raw(",\"batch\":").uint(u64::from(batch)).raw(",\"attempt\":").uint(u64::from(attempt));
            let info = catalog.batches[batch as usize];
            if info.pid != NONE_U64 {
                line.raw(",\"pid\":").uint(info.pid).raw(",\"seq\":").uint(u64::from(seq));
            }
            line.raw(",\"leader_epoch\":").uint(u64::from(epoch));
        }
        Rec::Replicate { t, node, partition, offset, count, epoch } => {
            line.start("replicate", t).node(catalog, node).topic_partition(catalog, partition);
            line.raw(",\"offset\":").uint(offset).raw(",\"count\":").uint(u64::from(count));
            line.raw(",\"leader_epoch\":").uint(u64::from(epoch));
        }
        Rec::Leader { t, node, partition, epoch } => {
            line.start("leader", t).node(catalog, node).topic_partition(catalog, partition);
            line.raw(",\"leader_epoch\":").uint(u64::from(epoch));
        }
        Rec::Truncate { t, node, partition, offset } => {
            line.start("truncate", t).node(catalog, node).topic_partition(catalog, partition);
            line.raw(",\"offset\":").uint(offset);
        }
        Rec::Dedup { t, node, batch, attempt, offset } => {
            let info = catalog.batches[batch as usize];
            line.start("dedup", t).node(catalog, node).topic_partition(catalog, info.partition);
            line.raw(",\"batch\":").uint(u64::from(batch)).raw(",\"attempt\":").uint(u64::from(attempt));
            if info.pid != NONE_U64 {
                // (An expected-version repeat has no producer id: the event ids matched.)
                line.raw(",\"pid\":").uint(info.pid).raw(",\"seq\":").uint(u64::from(info.seq));
            }
            line.raw(",\"offset\":").uint(offset);
        }
        Rec::Reject { t, node, batch, attempt, reason } => {
            let info = catalog.batches[batch as usize];
            line.start("reject", t).node(catalog, node).topic_partition(catalog, info.partition);
            line.raw(",\"batch\":").uint(u64::from(batch)).raw(",\"attempt\":").uint(u64::from(attempt));
            if info.pid != NONE_U64 {
                line.raw(",\"pid\":").uint(info.pid).raw(",\"seq\":").uint(u64::from(info.seq));
            }
            line.raw(",\"reason\":").string(reason.as_str());
        }
        Rec::Assign { t, node, generation, partition } => {
            line.start("assign", t).node(catalog, node).group(catalog);
            line.raw(",\"generation\":").uint(u64::from(generation)).raw(",\"topic\":").string(&catalog.topic);
            line.raw(",\"partitions\":").raw("[").uint(u64::from(partition)).raw("]");
        }
        Rec::Revoke { t, node, generation, partition } => {
            line.start("revoke", t).node(catalog, node).group(catalog);
            line.raw(",\"generation\":").uint(u64::from(generation)).raw(",\"topic\":").string(&catalog.topic);
            line.raw(",\"partitions\":").raw("[").uint(u64::from(partition)).raw("]");
        }
        Rec::Seek { t, node, partition, offset, committed } => {
            line.start("seek", t).node(catalog, node).group(catalog);
            line.topic_partition(catalog, partition).raw(",\"offset\":").uint(offset);
            line.raw(",\"reason\":").string(if committed { "committed" } else { "reset" });
        }
        Rec::Deliver { t, node, clock, generation, partition, offset, event } => {
            line.start("deliver", t).node(catalog, node).raw(",\"clock\":").int(clock);
            line.group(catalog).raw(",\"generation\":").uint(u64::from(generation));
            line.topic_partition(catalog, partition).raw(",\"offset\":").uint(offset);
            line.raw(",\"id\":").uint(u64::from(event));
        }
        Rec::QueueDeliver { t, node, clock, offset, event, receive } => {
            line.start("deliver", t).node(catalog, node).raw(",\"clock\":").int(clock);
            line.group(catalog).topic_partition(catalog, 0).raw(",\"offset\":").uint(offset);
            line.raw(",\"id\":").uint(u64::from(event)).raw(",\"receive\":").uint(u64::from(receive));
        }
        Rec::QueueSettle { t, node, offset, event, ok, reason, nack } => {
            line.start(if nack { "nack" } else { "queue_ack" }, t).node(catalog, node).group(catalog);
            line.topic_partition(catalog, 0).raw(",\"offset\":").uint(offset);
            line.raw(",\"id\":").uint(u64::from(event));
            line.raw(",\"ok\":").raw(if ok { "true" } else { "false" });
            if !ok {
                line.raw(",\"reason\":").string(reason);
            }
        }
        Rec::Apply { t, node, clock, partition, offset, event } => {
            line.start("apply", t).node(catalog, node).raw(",\"clock\":").int(clock);
            line.group(catalog).raw(",\"id\":").uint(u64::from(event));
            line.topic_partition(catalog, partition).raw(",\"offset\":").uint(offset);
        }
        Rec::Discard { t, node, clock, partition, offset, event, reason } => {
            line.start("discard", t).node(catalog, node).raw(",\"clock\":").int(clock);
            line.group(catalog).raw(",\"id\":").uint(u64::from(event));
            line.topic_partition(catalog, partition).raw(",\"offset\":").uint(offset);
            line.raw(",\"reason\":").string(reason);
        }
        Rec::Commit { t, node, generation, partition, offset, ok, reason } => {
            line.start("commit", t).node(catalog, node).group(catalog);
            line.raw(",\"generation\":").uint(u64::from(generation));
            line.topic_partition(catalog, partition).raw(",\"offset\":").uint(offset);
            line.raw(",\"ok\":").raw(if ok { "true" } else { "false" });
            if !ok {
                line.raw(",\"reason\":").string(reason);
            }
        }
        Rec::State { t, entity, kind, count, items } => {
            line.start("state", t).group(catalog);
            line.raw(",\"entity\":").entity(catalog, entity).raw(",\"fields\":").raw("{");
            let mut sep = "";
            if kind != u16::MAX {
                line.raw("\"status\":").string(&catalog.kinds[usize::from(kind)]);
                sep = ",";
            }
            match catalog.operation {
                Operation::Set => {}
                Operation::Increment => {
                    line.raw(sep).raw("\"count\":\"").uint(count).raw("\"");
                }
                Operation::Append => {
                    line.raw(sep).raw("\"items\":").string(&state_items(catalog, items, count));
                }
            }
            line.raw("}");
        }
        Rec::Crash { t, node } => {
            line.start("crash", t).node(catalog, node);
        }
        Rec::Restart { t, node } => {
            line.start("restart", t).node(catalog, node);
        }
        Rec::Pause { t, node } => {
            line.start("pause", t).node(catalog, node);
        }
        Rec::Resume { t, node } => {
            line.start("resume", t).node(catalog, node);
        }
        Rec::RebalanceStart { t, node, generation, reason, member } => {
            line.start("rebalance_start", t).node(catalog, node).group(catalog);
            line.raw(",\"generation\":").uint(u64::from(generation)).raw(",\"reason\":").string(reason);
            if member != NONE_U32 {
                line.raw(",\"member\":").string(&catalog.node_names[member as usize]);
            }
        }
        Rec::Rebalance { t, node, generation, start, len } => {
            line.start("rebalance", t).node(catalog, node).group(catalog);
            line.raw(",\"generation\":").uint(u64::from(generation)).raw(",\"topic\":").string(&catalog.topic);
            line.raw(",\"members\":[");
            for (k, (member, partitions)) in group_members(catalog, start, len).enumerate() {
                line.raw(if k == 0 { "{\"node\":" } else { ",{\"node\":" });
                line.string(&catalog.node_names[member as usize]).raw(",\"partitions\":[");
                for (j, &p) in partitions.iter().enumerate() {
                    if j > 0 {
                        line.raw(",");
                    }
                    line.uint(u64::from(p));
                }
                line.raw("]}");
            }
            line.raw("]");
        }
        Rec::Link { t, from, to, min_ns, max_ns, loss_ppm, duplicate_ppm, fifo } => {
            let names = &catalog.node_names;
            line.start("link", t);
            line.raw(",\"from\":[").string(&names[from as usize]).raw("],\"to\":[").string(&names[to as usize]);
            line.raw("],\"latency_min_ns\":").uint(min_ns).raw(",\"latency_max_ns\":").uint(max_ns);
            line.raw(",\"loss_ppm\":").uint(u64::from(loss_ppm));
            line.raw(",\"duplicate_ppm\":").uint(u64::from(duplicate_ppm));
            line.raw(",\"fifo\":").raw(if fifo { "true" } else { "false" });
        }
        Rec::ClockStep { t, node, delta_ns } => {
            line.start("clock_step", t).node(catalog, node).raw(",\"delta\":").int(delta_ns);
        }
        Rec::NetLinks { t, from, to, cut } => {
            let names = &catalog.node_names;
            line.start(if cut { "net_partition" } else { "net_heal" }, t);
            line.raw(",\"from\":[")
                .string(&names[from as usize])
                .raw("],\"to\":[")
                .string(&names[to as usize])
                .raw("]");
        }
        Rec::End { t, reason, events } => {
            line.start("end", t).raw(",\"reason\":").string(reason).raw(",\"engine_events\":").uint(events);
        }
    }
    line.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog {
            node_names: vec!["p0".into(), "b0".into(), "c0".into()],
            topic: "orders".into(),
            group: "g".into(),
            entity_prefix: "order".into(),
            kinds: vec!["created".into(), "paid".into()],
            events: vec![
                EventInfo { entity: 3, step: 0, kind: 0, deps_start: 0, deps_len: 0, keyed: true },
                EventInfo { entity: 3, step: 1, kind: 1, deps_start: 0, deps_len: 1, keyed: true },
            ],
            deps: vec![0],
            batches: vec![BatchInfo {
                producer: 0,
                partition: 2,
                events_start: 0,
                events_len: 2,
                pid: 7,
                epoch: 0,
                seq: 0,
            }],
            batch_events: vec![0, 1],
            ..Catalog::default()
        }
    }

    #[test]
    fn every_record_is_one_valid_json_line() {
        let catalog = catalog();
        let records = [
            Rec::ProducerInit { t: 1, node: 0, pid: 7, epoch: 0 },
            Rec::Create { t: 2, node: 0, clock: -5, event: 1 },
            Rec::Send { t: 3, node: 0, clock: 3, batch: 0, attempt: 1, acks: -1, pid: 7, epoch: 0, seq: 0 },
            Rec::Ack { t: 4, node: 0, clock: 4, batch: 0, attempt: 1, offset: 10 },
            Rec::Fail { t: 4, node: 0, batch: 0, attempt: 1, reason: FailReason::RequestTimeout, retry: true },
            Rec::Append { t: 5, node: 1, partition: 2, offset: 10, event: 0, batch: 0, attempt: 1, seq: 0, epoch: 2 },
            Rec::Leader { t: 5, node: 1, partition: 2, epoch: 2 },
            Rec::Replicate { t: 5, node: 1, partition: 2, offset: 10, count: 3, epoch: 2 },
            Rec::Truncate { t: 5, node: 1, partition: 2, offset: 7 },
            Rec::Dedup { t: 5, node: 1, batch: 0, attempt: 2, offset: 10 },
            Rec::Reject { t: 5, node: 1, batch: 0, attempt: 2, reason: FailReason::OutOfOrderSequence },
            Rec::Assign { t: 6, node: 2, generation: 1, partition: 2 },
            Rec::Seek { t: 6, node: 2, partition: 2, offset: 0, committed: false },
            Rec::Deliver { t: 7, node: 2, clock: 7, generation: 1, partition: 2, offset: 10, event: 0 },
            Rec::Apply { t: 8, node: 2, clock: 8, partition: 2, offset: 10, event: 0 },
            Rec::Commit { t: 9, node: 2, generation: 1, partition: 2, offset: 11, ok: true, reason: "" },
            Rec::QueueDeliver { t: 9, node: 2, clock: 9, offset: 3, event: 1, receive: 2 },
            Rec::QueueSettle { t: 9, node: 2, offset: 3, event: 1, ok: true, reason: "", nack: false },
            Rec::QueueSettle { t: 9, node: 2, offset: 3, event: 1, ok: false, reason: "stale_receipt", nack: true },
            Rec::Commit {
                t: 9,
                node: 2,
                generation: 1,
                partition: 2,
                offset: 11,
                ok: false,
                reason: "stale_generation",
            },
            Rec::Revoke { t: 9, node: 2, generation: 1, partition: 2 },
            Rec::State { t: 10, entity: 3, kind: 1, count: 0, items: 0 },
            Rec::Crash { t: 11, node: 1 },
            Rec::Restart { t: 12, node: 1 },
            Rec::Pause { t: 12, node: 2 },
            Rec::Resume { t: 12, node: 2 },
            Rec::Link {
                t: 12,
                from: 1,
                to: 2,
                min_ns: 500,
                max_ns: 1500,
                loss_ppm: 20_000,
                duplicate_ppm: 0,
                fifo: true,
            },
            Rec::ClockStep { t: 13, node: 2, delta_ns: -100 },
            Rec::NetLinks { t: 13, from: 0, to: 1, cut: true },
            Rec::End { t: 14, reason: "quiescent", events: 99 },
        ];
        for rec in &records {
            let mut out = Vec::new();
            format_record(&mut out, rec, &catalog);
            assert_eq!(out.last(), Some(&b'\n'));
            assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
            let value: serde_json::Value = serde_json::from_slice(&out)
                .unwrap_or_else(|e| panic!("{rec:?}: {e}: {}", String::from_utf8_lossy(&out)));
            assert!(value["type"].is_string() && value["t"].is_u64(), "{value}");
        }
        let mut out = Vec::new();
        format_record(&mut out, &records[1], &catalog);
        let create: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(create["entity"], "order-3");
        assert_eq!(create["deps"], serde_json::json!([0]));
        assert_eq!(create["writes"]["status"], "paid");
        assert_eq!(create["clock"], -5);
    }

    #[test]
    fn fingerprint_is_sha256_of_the_bytes() {
        let mut catalog = catalog();
        let mut recorder = Recorder::new(HistoryMode::On);
        recorder.keep_in_memory();
        recorder.push(Rec::Create { t: 2, node: 0, clock: 2, event: 0 });
        recorder.push(Rec::End { t: 3, reason: "quiescent", events: 1 });
        let finished = recorder.finish(&mut catalog).unwrap();
        let bytes = finished.jsonl.unwrap();
        assert_eq!(finished.sha256.unwrap(), hex(&Sha256::digest(&bytes)));
        assert_eq!(finished.records, 2);
    }

    #[test]
    fn off_records_nothing() {
        let mut recorder = Recorder::new(HistoryMode::Off);
        recorder.push(Rec::End { t: 3, reason: "quiescent", events: 1 });
        let finished = recorder.finish(&mut catalog()).unwrap();
        assert_eq!(finished.records, 0);
        assert!(finished.sha256.is_none());
    }
}
