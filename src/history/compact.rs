//! The compact in-memory history ([`HistoryMode::Compact`](super::HistoryMode::Compact)).
//!
//! Each [`Rec`] is stored as one tag byte and its fields as LEB128 varints, with the time
//! as the difference from the previous record's and a local clock as its offset from true
//! time, so most fields take one or two bytes: the standard scenario's records take about
//! 11 bytes each, 22 bytes per engine event with the catalog (the JSONL takes about 170). Together with the run's [`Catalog`]
//! (event contents, batches, names) it is the whole history: [`CompactHistory::write_jsonl`]
//! writes exactly the bytes the JSONL recorder writes, and [`CompactHistory::check`] hands
//! the records to the checker already split into fields, without the text in between.
//!
//! Encoding runs on the simulation thread over each full buffer of records; it is a few
//! instructions a byte. The bytes are only ever made and read by this module (never read
//! from a file), so decoding trusts them.

use sha2::{Digest, Sha256};

use super::{format_record, Catalog, FailReason, Finished, Rec};
use crate::checker::{CheckError, Guarantee, Report};

/// Where [`CompactHistory::fingerprint`] sends the JSONL bytes, in chunks of about 64 KB.
struct Sinks {
    hasher: Sha256,
    file: Option<Box<dyn std::io::Write + Send>>,
    memory: Option<Vec<u8>>,
    bytes: u64,
}

impl std::io::Write for Sinks {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hasher.update(bytes);
        self.bytes = self.bytes.saturating_add(bytes.len() as u64);
        if let Some(memory) = &mut self.memory {
            memory.extend_from_slice(bytes);
        }
        match &mut self.file {
            Some(file) => file.write_all(bytes),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A run's history as compact records, with everything they refer to.
#[derive(Debug, Default)]
pub struct CompactHistory {
    /// The JSON header line, with its `\n`.
    pub header_line: Vec<u8>,
    bytes: Vec<u8>,
    records: u64,
    /// The reason strings the records name, by index.
    strings: Vec<&'static str>,
    /// The run's catalog (moved in by `Recorder::finish`).
    pub catalog: Catalog,
}

/// Builds a [`CompactHistory`] record by record.
#[derive(Debug, Default)]
pub(super) struct Encoder {
    history: CompactHistory,
    prev_t: u64,
}

// ---- varints: unsigned fields are stored plus one, so the `NONE` sentinels (u32::MAX,
// u64::MAX) take one byte; signed ones zigzag-encoded ----

/// One record's bytes, assembled on the stack and appended to the history at once (a
/// `Vec::push` per byte costs a capacity check each). The largest record, `send`, is a tag
/// and nine fields of at most 10 bytes.
struct Out {
    bytes: [u8; 128],
    len: usize,
}

impl Out {
    #[inline]
    fn push(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }
}

#[inline]
fn put(out: &mut Out, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[inline]
fn put_u(out: &mut Out, value: u64) {
    put(out, value.wrapping_add(1));
}

#[inline]
fn put_i(out: &mut Out, value: i64) {
    put(out, ((value << 1) ^ (value >> 63)) as u64);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    #[inline]
    fn get(&mut self) -> u64 {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let byte = self.bytes[self.at];
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return value;
            }
            shift += 7;
        }
    }

    #[inline]
    fn u64(&mut self) -> u64 {
        self.get().wrapping_sub(1)
    }

    #[inline]
    fn u32(&mut self) -> u32 {
        self.u64() as u32
    }

    #[inline]
    fn u16(&mut self) -> u16 {
        self.u64() as u16
    }

    #[inline]
    fn bool(&mut self) -> bool {
        self.u64() != 0
    }

    #[inline]
    fn i64(&mut self) -> i64 {
        let raw = self.get();
        ((raw >> 1) as i64) ^ -((raw & 1) as i64)
    }
}

fn fail_code(reason: FailReason) -> u64 {
    FailReason::ALL.iter().position(|&r| r == reason).expect("ALL lists every reason") as u64
}

impl Encoder {
    fn string(&mut self, text: &'static str) -> u64 {
        let strings = &mut self.history.strings;
        match strings.iter().position(|&s| s == text) {
            Some(index) => index as u64,
            None => {
                strings.push(text);
                (strings.len() - 1) as u64
            }
        }
    }

    pub(super) fn set_header(&mut self, line: Vec<u8>) {
        self.history.header_line = line;
    }

    /// Appends `records`, in order.
    pub(super) fn encode(&mut self, records: &[Rec]) {
        self.history.bytes.reserve(records.len() * 16);
        for rec in records {
            self.one(rec);
        }
        self.history.records += records.len() as u64;
    }

    fn one(&mut self, rec: &Rec) {
        let (tag, t) = head(rec);
        let dt = t.wrapping_sub(self.prev_t) as i64;
        self.prev_t = t;
        let clock_off = |clock: i64| clock.wrapping_sub(t as i64);
        // Strings first (they borrow self mutably), then the bytes.
        let string = match *rec {
            Rec::QueueSettle { reason, .. } | Rec::Discard { reason, .. } | Rec::Commit { reason, .. } => {
                self.string(reason)
            }
            Rec::End { reason, .. } | Rec::RebalanceStart { reason, .. } => self.string(reason),
            _ => 0,
        };
        let mut record = Out { bytes: [0; 128], len: 0 };
        let out = &mut record;
        out.push(tag);
        put_i(out, dt);
        let u = |out: &mut Out, v: u64| put_u(out, v);
        match *rec {
            Rec::ProducerInit { node, pid, epoch, .. } => {
                u(out, node.into());
                u(out, pid);
                u(out, epoch.into());
            }
            Rec::Create { node, clock, event, .. } => {
                u(out, node.into());
                put_i(out, clock_off(clock));
                u(out, event.into());
            }
            Rec::Send { node, clock, batch, attempt, acks, pid, epoch, seq, .. } => {
                u(out, node.into());
                put_i(out, clock_off(clock));
                u(out, batch.into());
                u(out, attempt.into());
                put_i(out, acks.into());
                u(out, pid);
                u(out, epoch.into());
                u(out, seq.into());
            }
            Rec::Ack { node, clock, batch, attempt, offset, .. } => {
                u(out, node.into());
                put_i(out, clock_off(clock));
                u(out, batch.into());
                u(out, attempt.into());
                u(out, offset);
            }
            Rec::Fail { node, batch, attempt, reason, retry, .. } => {
                u(out, node.into());
                u(out, batch.into());
                u(out, attempt.into());
                u(out, fail_code(reason));
                u(out, retry.into());
            }
            Rec::Append { node, partition, offset, event, batch, attempt, seq, epoch, .. } => {
                u(out, node.into());
                u(out, partition.into());
                u(out, offset);
                u(out, event.into());
                u(out, batch.into());
                u(out, attempt.into());
                u(out, seq.into());
                u(out, epoch.into());
            }
            Rec::Dedup { node, batch, attempt, offset, .. } => {
                u(out, node.into());
                u(out, batch.into());
                u(out, attempt.into());
                u(out, offset);
            }
            Rec::Reject { node, batch, attempt, reason, .. } => {
                u(out, node.into());
                u(out, batch.into());
                u(out, attempt.into());
                u(out, fail_code(reason));
            }
            Rec::Assign { node, generation, partition, .. } | Rec::Revoke { node, generation, partition, .. } => {
                u(out, node.into());
                u(out, generation.into());
                u(out, partition.into());
            }
            Rec::Seek { node, partition, offset, committed, .. } => {
                u(out, node.into());
                u(out, partition.into());
                u(out, offset);
                u(out, committed.into());
            }
            Rec::Deliver { node, clock, generation, partition, offset, event, .. } => {
                u(out, node.into());
                put_i(out, clock_off(clock));
                u(out, generation.into());
                u(out, partition.into());
                u(out, offset);
                u(out, event.into());
            }
            Rec::Apply { node, clock, partition, offset, event, .. } => {
                u(out, node.into());
                put_i(out, clock_off(clock));
                u(out, partition.into());
                u(out, offset);
                u(out, event.into());
            }
            Rec::QueueDeliver { node, clock, offset, event, receive, .. } => {
                u(out, node.into());
                put_i(out, clock_off(clock));
                u(out, offset);
                u(out, event.into());
                u(out, receive.into());
            }
            Rec::QueueSettle { node, offset, event, ok, nack, .. } => {
                u(out, node.into());
                u(out, offset);
                u(out, event.into());
                u(out, ok.into());
                u(out, string);
                u(out, nack.into());
            }
            Rec::Discard { node, clock, partition, offset, event, .. } => {
                u(out, node.into());
                put_i(out, clock_off(clock));
                u(out, partition.into());
                u(out, offset);
                u(out, event.into());
                u(out, string);
            }
            Rec::Commit { node, generation, partition, offset, ok, .. } => {
                u(out, node.into());
                u(out, generation.into());
                u(out, partition.into());
                u(out, offset);
                u(out, ok.into());
                u(out, string);
            }
            Rec::State { entity, kind, count, items, .. } => {
                u(out, entity.into());
                u(out, kind.into());
                u(out, count);
                u(out, items.into());
            }
            Rec::Crash { node, .. } | Rec::Restart { node, .. } | Rec::Pause { node, .. } => {
                u(out, node.into());
            }
            Rec::ClockStep { node, delta_ns, .. } => {
                u(out, node.into());
                put_i(out, delta_ns);
            }
            Rec::Resume { node, .. } => u(out, node.into()),
            Rec::RebalanceStart { node, generation, member, .. } => {
                u(out, node.into());
                u(out, generation.into());
                u(out, string);
                u(out, member.into());
            }
            Rec::Rebalance { node, generation, start, len, .. } => {
                u(out, node.into());
                u(out, generation.into());
                u(out, start.into());
                u(out, len.into());
            }
            Rec::Link { from, to, min_ns, max_ns, loss_ppm, duplicate_ppm, fifo, .. } => {
                u(out, from.into());
                u(out, to.into());
                u(out, min_ns);
                u(out, max_ns);
                u(out, loss_ppm.into());
                u(out, duplicate_ppm.into());
                u(out, fifo.into());
            }
            Rec::Replicate { node, partition, offset, count, epoch, .. } => {
                u(out, node.into());
                u(out, partition.into());
                u(out, offset);
                u(out, count.into());
                u(out, epoch.into());
            }
            Rec::Leader { node, partition, epoch, .. } => {
                u(out, node.into());
                u(out, partition.into());
                u(out, epoch.into());
            }
            Rec::Truncate { node, partition, offset, .. } => {
                u(out, node.into());
                u(out, partition.into());
                u(out, offset);
            }
            Rec::NetLinks { from, to, cut, .. } => {
                u(out, from.into());
                u(out, to.into());
                u(out, cut.into());
            }
            Rec::End { events, .. } => {
                u(out, string);
                u(out, events);
            }
        }
        self.history.bytes.extend_from_slice(&record.bytes[..record.len]);
    }

    pub(super) fn finish(self) -> CompactHistory {
        self.history
    }
}

/// A record's tag (its variant, as `Records::next` reads it back) and true time.
fn head(rec: &Rec) -> (u8, u64) {
    match *rec {
        Rec::ProducerInit { t, .. } => (0, t),
        Rec::Create { t, .. } => (1, t),
        Rec::Send { t, .. } => (2, t),
        Rec::Ack { t, .. } => (3, t),
        Rec::Fail { t, .. } => (4, t),
        Rec::Append { t, .. } => (5, t),
        Rec::Dedup { t, .. } => (6, t),
        Rec::Reject { t, .. } => (7, t),
        Rec::Assign { t, .. } => (8, t),
        Rec::Revoke { t, .. } => (9, t),
        Rec::Seek { t, .. } => (10, t),
        Rec::Deliver { t, .. } => (11, t),
        Rec::Apply { t, .. } => (12, t),
        Rec::QueueDeliver { t, .. } => (13, t),
        Rec::QueueSettle { t, .. } => (14, t),
        Rec::Discard { t, .. } => (15, t),
        Rec::Commit { t, .. } => (16, t),
        Rec::State { t, .. } => (17, t),
        Rec::Crash { t, .. } => (18, t),
        Rec::Restart { t, .. } => (19, t),
        Rec::Pause { t, .. } => (20, t),
        Rec::ClockStep { t, .. } => (21, t),
        Rec::Leader { t, .. } => (22, t),
        Rec::Truncate { t, .. } => (23, t),
        Rec::NetLinks { t, .. } => (24, t),
        Rec::End { t, .. } => (25, t),
        Rec::Resume { t, .. } => (26, t),
        Rec::Link { t, .. } => (27, t),
        Rec::RebalanceStart { t, .. } => (28, t),
        Rec::Rebalance { t, .. } => (29, t),
        Rec::Replicate { t, .. } => (30, t),
    }
}

/// Reads the records back, in order.
pub struct Records<'a> {
    history: &'a CompactHistory,
    reader: Reader<'a>,
    prev_t: u64,
    left: u64,
}

impl Iterator for Records<'_> {
    type Item = Rec;

    fn next(&mut self) -> Option<Rec> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let r = &mut self.reader;
        let tag = r.bytes[r.at];
        r.at += 1;
        let t = self.prev_t.wrapping_add(r.i64() as u64);
        self.prev_t = t;
        let clock = |r: &mut Reader<'_>| (t as i64).wrapping_add(r.i64());
        let strings = &self.history.strings;
        let rec = match tag {
            0 => Rec::ProducerInit { t, node: r.u32(), pid: r.u64(), epoch: r.u16() },
            1 => Rec::Create { t, node: r.u32(), clock: clock(r), event: r.u32() },
            2 => Rec::Send {
                t,
                node: r.u32(),
                clock: clock(r),
                batch: r.u32(),
                attempt: r.u16(),
                acks: r.i64() as i8,
                pid: r.u64(),
                epoch: r.u16(),
                seq: r.u32(),
            },
            3 => Rec::Ack { t, node: r.u32(), clock: clock(r), batch: r.u32(), attempt: r.u16(), offset: r.u64() },
            4 => Rec::Fail {
                t,
                node: r.u32(),
                batch: r.u32(),
                attempt: r.u16(),
                reason: FailReason::ALL[r.u64() as usize],
                retry: r.bool(),
            },
            5 => Rec::Append {
                t,
                node: r.u32(),
                partition: r.u32(),
                offset: r.u64(),
                event: r.u32(),
                batch: r.u32(),
                attempt: r.u16(),
                seq: r.u32(),
                epoch: r.u32(),
            },
            6 => Rec::Dedup { t, node: r.u32(), batch: r.u32(), attempt: r.u16(), offset: r.u64() },
            7 => Rec::Reject {
                t,
                node: r.u32(),
                batch: r.u32(),
                attempt: r.u16(),
                reason: FailReason::ALL[r.u64() as usize],
            },
            8 => Rec::Assign { t, node: r.u32(), generation: r.u32(), partition: r.u32() },
            9 => Rec::Revoke { t, node: r.u32(), generation: r.u32(), partition: r.u32() },
            10 => Rec::Seek { t, node: r.u32(), partition: r.u32(), offset: r.u64(), committed: r.bool() },
            11 => Rec::Deliver {
                t,
                node: r.u32(),
                clock: clock(r),
                generation: r.u32(),
                partition: r.u32(),
                offset: r.u64(),
                event: r.u32(),
            },
            12 => Rec::Apply { t, node: r.u32(), clock: clock(r), partition: r.u32(), offset: r.u64(), event: r.u32() },
            13 => Rec::QueueDeliver {
                t,
                node: r.u32(),
                clock: clock(r),
                offset: r.u64(),
                event: r.u32(),
                receive: r.u32(),
            },
            14 => Rec::QueueSettle {
                t,
                node: r.u32(),
                offset: r.u64(),
                event: r.u32(),
                ok: r.bool(),
                reason: strings[r.u64() as usize],
                nack: r.bool(),
            },
            15 => Rec::Discard {
                t,
                node: r.u32(),
                clock: clock(r),
                partition: r.u32(),
                offset: r.u64(),
                event: r.u32(),
                reason: strings[r.u64() as usize],
            },
            16 => Rec::Commit {
                t,
                node: r.u32(),
                generation: r.u32(),
                partition: r.u32(),
                offset: r.u64(),
                ok: r.bool(),
                reason: strings[r.u64() as usize],
            },
            17 => Rec::State { t, entity: r.u32(), kind: r.u16(), count: r.u64(), items: r.u32() },
            18 => Rec::Crash { t, node: r.u32() },
            19 => Rec::Restart { t, node: r.u32() },
            20 => Rec::Pause { t, node: r.u32() },
            21 => Rec::ClockStep { t, node: r.u32(), delta_ns: r.i64() },
            22 => Rec::Leader { t, node: r.u32(), partition: r.u32(), epoch: r.u32() },
            23 => Rec::Truncate { t, node: r.u32(), partition: r.u32(), offset: r.u64() },
            24 => Rec::NetLinks { t, from: r.u32(), to: r.u32(), cut: r.bool() },
            25 => Rec::End { t, reason: strings[r.u64() as usize], events: r.u64() },
            26 => Rec::Resume { t, node: r.u32() },
            27 => Rec::Link {
                t,
                from: r.u32(),
                to: r.u32(),
                min_ns: r.u64(),
                max_ns: r.u64(),
                loss_ppm: r.u32(),
                duplicate_ppm: r.u32(),
                fifo: r.bool(),
            },
            28 => Rec::RebalanceStart {
                t,
                node: r.u32(),
                generation: r.u32(),
                reason: strings[r.u64() as usize],
                member: r.u32(),
            },
            29 => Rec::Rebalance { t, node: r.u32(), generation: r.u32(), start: r.u32(), len: r.u32() },
            30 => {
                Rec::Replicate { t, node: r.u32(), partition: r.u32(), offset: r.u64(), count: r.u32(), epoch: r.u32() }
            }
            other => unreachable!("compact history tag {other}: only this module writes these bytes"),
        };
        Some(rec)
    }
}

impl CompactHistory {
    /// The records, in order.
    pub fn records(&self) -> Records<'_> {
        Records { history: self, reader: Reader { bytes: &self.bytes, at: 0 }, prev_t: 0, left: self.records }
    }

    pub fn record_count(&self) -> u64 {
        self.records
    }

    /// Bytes held for the records (the catalog not included).
    pub fn record_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The SHA-256 of the compact record bytes (the catalog not included): what a
    /// fingerprint of the compact form would cost at least; benches compare it with
    /// [`CompactHistory::fingerprint`] (docs/benchmarks.md). Not a fingerprint ordo prints.
    pub fn compact_sha256(&self) -> String {
        super::hex(&Sha256::digest(&self.bytes))
    }

    /// Bytes held in all: the records and the catalog's tables.
    pub fn memory_bytes(&self) -> usize {
        let c = &self.catalog;
        self.bytes.len()
            + self.header_line.len()
            + c.events.len() * std::mem::size_of::<super::EventInfo>()
            + c.deps.len() * 4
            + c.batches.len() * std::mem::size_of::<super::BatchInfo>()
            + c.batch_events.len() * 4
            + c.stamp_l.len() * 8
            + c.stamp_c.len() * 4
            + c.vc.len() * 4
            + c.group_members.len() * 4
            + c.items.len() * 4
    }

    /// Writes the history as JSONL: the same bytes as recording it with
    /// [`HistoryMode::On`](super::HistoryMode::On).
    pub fn write_jsonl(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let mut buffer = Vec::with_capacity(1 << 16);
        buffer.extend_from_slice(&self.header_line);
        self.format_lines(|_, line| {
            buffer.extend_from_slice(line);
            if buffer.len() >= 1 << 16 {
                out.write_all(&buffer)?;
                buffer.clear();
            }
            Ok::<(), std::io::Error>(())
        })?;
        out.write_all(&buffer)
    }

    /// Writes the history as JSONL to the sinks a recording with
    /// [`HistoryMode::On`](super::HistoryMode::On) feeds: the SHA-256 fingerprint of the
    /// bytes, `file` if given, and an in-memory copy if `keep`. The same fingerprint, file
    /// and copy as recording the JSONL while simulating. `ordo run` calls it on a second
    /// thread while the first checks the records ([`CompactHistory::check`]).
    pub fn fingerprint(&self, file: Option<Box<dyn std::io::Write + Send>>, keep: bool) -> std::io::Result<Finished> {
        let mut sinks = Sinks { hasher: Sha256::new(), file, memory: keep.then(Vec::new), bytes: 0 };
        self.write_jsonl(&mut sinks)?;
        if let Some(file) = &mut sinks.file {
            file.flush()?;
        }
        Ok(Finished {
            sha256: Some(super::hex(&sinks.hasher.finalize())),
            records: self.records,
            bytes: sinks.bytes,
            jsonl: sinks.memory,
            compact: None,
        })
    }

    /// Formats every record as its JSONL line and hands it to `each` with its line number
    /// (the header is line 1).
    fn format_lines<E>(&self, mut each: impl FnMut(u64, &[u8]) -> Result<(), E>) -> Result<(), E> {
        // The batch identities as the JSONL writer's catalog copy has them at each record:
        // every `send` record sets them (see `BatchInfo`).
        let mut catalog = super::catalog_names(&self.catalog);
        catalog.events.clone_from(&self.catalog.events);
        catalog.deps.clone_from(&self.catalog.deps);
        catalog.batches.clone_from(&self.catalog.batches);
        catalog.batch_events.clone_from(&self.catalog.batch_events);
        catalog.stamp_l.clone_from(&self.catalog.stamp_l);
        catalog.stamp_c.clone_from(&self.catalog.stamp_c);
        catalog.vc.clone_from(&self.catalog.vc);
        catalog.group_members.clone_from(&self.catalog.group_members);
        catalog.items.clone_from(&self.catalog.items);
        let mut line = Vec::with_capacity(512);
        for (index, rec) in self.records().enumerate() {
            if let Rec::Send { batch, pid, epoch, seq, .. } = rec {
                let info = &mut catalog.batches[batch as usize];
                (info.pid, info.epoch, info.seq) = (pid, epoch, seq);
            }
            line.clear();
            format_record(&mut line, &rec, &catalog);
            each(index as u64 + 2, &line)?;
        }
        Ok(())
    }

    /// The JSONL lines with these numbers (the header is line 1), without `\n`.
    pub fn lines(&self, wanted: &[u64]) -> std::collections::BTreeMap<u64, String> {
        let mut wanted = wanted.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let mut found = std::collections::BTreeMap::new();
        let mut next = 0;
        if wanted.first() == Some(&1) {
            found.insert(1, String::from_utf8_lossy(self.header_line.trim_ascii_end()).into_owned());
            next = 1;
        }
        let _ = self.format_lines(|line_no, line| {
            if next == wanted.len() {
                return Err(());
            }
            if wanted[next] == line_no {
                found.insert(line_no, String::from_utf8_lossy(line.trim_ascii_end()).into_owned());
                next += 1;
            }
            Ok(())
        });
        found
    }

    /// Checks the history: the same report as checking its JSONL with
    /// [`check_reader`](crate::checker::check_reader), without writing and parsing the
    /// text. Witness lines are not attached (see [`CompactHistory::lines`]).
    pub fn check(&self, source_name: &str, expect: Option<&[Guarantee]>) -> Result<Report, CheckError> {
        super::fields::check(self, source_name, expect)
    }

    /// [`CompactHistory::check`], dropping this reference to the history after its last
    /// record is read and before the whole-history checks, which need none of it: when no
    /// other reference is left (`ordo run`'s fingerprint thread is done), the records and
    /// the catalog are freed before the checker's peak of memory. The same report.
    pub fn check_and_release(
        history: std::sync::Arc<CompactHistory>,
        source_name: &str,
        expect: Option<&[Guarantee]>,
    ) -> Result<Report, CheckError> {
        super::fields::check_and_release(history, source_name, expect)
    }
}
