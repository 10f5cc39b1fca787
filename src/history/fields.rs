//! Checking a [`CompactHistory`] without text: each record is handed to the checker as the
//! field-level view ([`Raw`]) that parsing its JSONL line would give, field for field.
//! The checker then runs exactly as it does on a file (same validation, same checks, same
//! report); only the formatting and the parse are skipped. `every_record_gives_the_fields_
//! its_line_parses_to` (tests below) holds this module to the parser on every scenario.

use std::borrow::Cow;

use super::compact::CompactHistory;
use super::{Catalog, Rec, NONE_U64};
use crate::checker::fields::{CowStr, FieldCheck, GroupMember, IdRef, Meta, Pairs, Raw};
use crate::checker::{CheckError, Guarantee, Report};
use crate::scenario::{ClockKind, Operation};

/// Names of entities (`order-17`) that created events, made once per check. (A run cut
/// short by a limit also writes `state` records of entities that never started: `fill`
/// names those on the spot.)
pub(super) fn entity_names(catalog: &Catalog) -> Vec<String> {
    let count = catalog.events.iter().map(|e| e.entity as usize + 1).max().unwrap_or(0);
    (0..count).map(|n| format!("{}-{n}", catalog.entity_prefix)).collect()
}

fn entity_name<'c>(catalog: &Catalog, entities: &'c [String], entity: u32) -> Cow<'c, str> {
    match entities.get(entity as usize) {
        Some(name) => Cow::Borrowed(name.as_str()),
        None => Cow::Owned(format!("{}-{entity}", catalog.entity_prefix)),
    }
}

/// Fills `raw` (a `Raw::default()`) with the fields of `rec`'s JSONL line. `batches` holds
/// each batch's identity (pid, seq) as of this record: callers apply every `send` first.
pub(super) fn fill<'c>(
    raw: &mut Raw<'c>,
    rec: &Rec,
    catalog: &'c Catalog,
    entities: &'c [String],
    batches: &[(u64, u32)],
) {
    let s = |text: &'c str| Some(CowStr(Cow::Borrowed(text)));
    let id = |n: u32| Some(IdRef::Int(u64::from(n)));
    let node = |n: u32| s(catalog.node_names[n as usize].as_str());
    let int = |n: u32| Some(i64::from(n));
    let topic = s(catalog.topic.as_str());
    let group = s(catalog.group.as_str());
    let identity = |raw: &mut Raw<'c>, batch: u32| {
        let (pid, seq) = batches[batch as usize];
        if pid != NONE_U64 {
            raw.pid = Some(pid as i64);
            raw.seq = int(seq);
        }
    };
    match *rec {
        Rec::ProducerInit { t, node: n, pid, .. } => {
            (raw.ty, raw.t, raw.node) = (s("producer_init"), Some(t), node(n));
            if pid != NONE_U64 {
                raw.pid = Some(pid as i64);
            }
        }
        Rec::Create { t, node: n, clock, event } => {
            let info = catalog.events[event as usize];
            (raw.ty, raw.t, raw.node, raw.clock, raw.id) = (s("create"), Some(t), node(n), Some(clock), id(event));
            let entity = entity_name(catalog, entities, info.entity);
            raw.key = info.keyed.then(|| IdRef::Str(entity.clone()));
            raw.entity = Some(CowStr(entity));
            raw.deps = Some(catalog.deps(event).iter().map(|&d| IdRef::Int(u64::from(d))).collect());
            let kind = catalog.kinds[usize::from(info.kind)].as_str();
            let mut writes = vec![(Cow::Borrowed("status"), CowStr(Cow::Borrowed(kind)))];
            match catalog.operation {
                Operation::Set => {}
                Operation::Increment => writes.push((Cow::Borrowed("count"), CowStr(Cow::Borrowed("1")))),
                Operation::Append => writes.push((Cow::Borrowed("items"), CowStr(Cow::Borrowed(kind)))),
            }
            raw.writes = Some(Pairs(writes));
            if catalog.meta_seq || catalog.meta_ts || catalog.clock != ClockKind::None {
                let mut meta = Meta::default();
                if catalog.meta_seq {
                    let seq = i64::from(info.step) + 1;
                    meta.seq = Some(seq);
                }
                if catalog.meta_ts {
                    meta.ts = Some(clock);
                }
                let e = event as usize;
                match catalog.clock {
                    ClockKind::None => {}
                    ClockKind::Lamport => meta.lamport = Some(catalog.stamp_l[e]),
                    ClockKind::Hybrid => meta.hlc = Some((catalog.stamp_l[e], i64::from(catalog.stamp_c[e]))),
                    ClockKind::Vector => {
                        let width = catalog.vc_width as usize;
                        let entries = catalog.vc[e * width..(e + 1) * width]
                            .iter()
                            .enumerate()
                            .filter(|(_, &count)| count > 0)
                            .map(|(producer, &count)| {
                                (Cow::Borrowed(catalog.node_names[producer].as_str()), i64::from(count))
                            })
                            .collect();
                        meta.vc = Some(Pairs(entries));
                    }
                }
                raw.meta = Some(meta);
            }
        }
        Rec::Send { t, node: n, clock, batch, attempt, pid, seq, .. } => {
            let info = catalog.batches[batch as usize];
            (raw.ty, raw.t, raw.node, raw.clock) = (s("send"), Some(t), node(n), Some(clock));
            (raw.batch, raw.attempt, raw.topic, raw.partition) =
                (id(batch), Some(attempt.into()), topic, Some(info.partition));
            raw.events = Some(catalog.batch_events(batch).iter().map(|&e| IdRef::Int(u64::from(e))).collect());
            if pid != NONE_U64 {
                (raw.pid, raw.seq) = (Some(pid as i64), int(seq));
            }
        }
        Rec::Ack { t, node: n, clock, batch, attempt, offset } => {
            let info = catalog.batches[batch as usize];
            (raw.ty, raw.t, raw.node, raw.clock) = (s("ack"), Some(t), node(n), Some(clock));
            (raw.batch, raw.attempt, raw.topic, raw.partition) =
                (id(batch), Some(attempt.into()), topic, Some(info.partition));
            raw.offset = (offset != NONE_U64).then_some(offset);
        }
        Rec::Fail { t, node: n, batch, attempt, reason, retry } => {
            (raw.ty, raw.t, raw.node, raw.batch, raw.attempt) =
                (s("fail"), Some(t), node(n), id(batch), Some(attempt.into()));
            (raw.reason, raw.retry) = (s(reason.as_str()), Some(retry));
        }
        Rec::Append { t, node: n, partition, offset, event, batch, attempt, seq, epoch } => {
            (raw.ty, raw.t, raw.node, raw.topic, raw.partition) =
                (s("append"), Some(t), node(n), topic, Some(partition));
            (raw.offset, raw.id, raw.batch, raw.attempt) = (Some(offset), id(event), id(batch), Some(attempt.into()));
            if batches[batch as usize].0 != NONE_U64 {
                (raw.pid, raw.seq) = (Some(batches[batch as usize].0 as i64), int(seq));
            }
            raw.leader_epoch = int(epoch);
        }
        Rec::Replicate { t, node: n, partition, offset, count, epoch } => {
            (raw.ty, raw.t, raw.node, raw.topic, raw.partition) =
                (s("replicate"), Some(t), node(n), topic, Some(partition));
            (raw.offset, raw.count, raw.leader_epoch) = (Some(offset), Some(count.into()), int(epoch));
        }
        Rec::Leader { t, node: n, partition, epoch } => {
            (raw.ty, raw.t, raw.node, raw.topic, raw.partition) =
                (s("leader"), Some(t), node(n), topic, Some(partition));
            raw.leader_epoch = int(epoch);
        }
        Rec::Truncate { t, node: n, partition, offset } => {
            (raw.ty, raw.t, raw.node, raw.topic, raw.partition) =
                (s("truncate"), Some(t), node(n), topic, Some(partition));
            raw.offset = Some(offset);
        }
        Rec::Dedup { t, node: n, batch, attempt, offset } => {
            let info = catalog.batches[batch as usize];
            (raw.ty, raw.t, raw.node, raw.topic, raw.partition) =
                (s("dedup"), Some(t), node(n), topic, Some(info.partition));
            (raw.batch, raw.attempt, raw.offset) = (id(batch), Some(attempt.into()), Some(offset));
            identity(raw, batch);
        }
        Rec::Reject { t, node: n, batch, attempt, reason } => {
            let info = catalog.batches[batch as usize];
            (raw.ty, raw.t, raw.node, raw.topic, raw.partition) =
                (s("reject"), Some(t), node(n), topic, Some(info.partition));
            (raw.batch, raw.attempt, raw.reason) = (id(batch), Some(attempt.into()), s(reason.as_str()));
            identity(raw, batch);
        }
        Rec::Assign { t, node: n, generation, partition } | Rec::Revoke { t, node: n, generation, partition } => {
            let ty = if matches!(rec, Rec::Assign { .. }) { "assign" } else { "revoke" };
            (raw.ty, raw.t, raw.node, raw.group, raw.generation) =
                (s(ty), Some(t), node(n), group, Some(generation.into()));
            (raw.topic, raw.partitions) = (topic, Some(vec![partition]));
        }
        Rec::Seek { t, node: n, partition, offset, committed } => {
            (raw.ty, raw.t, raw.node, raw.group, raw.topic) = (s("seek"), Some(t), node(n), group, topic);
            (raw.partition, raw.offset) = (Some(partition), Some(offset));
            raw.reason = s(if committed { "committed" } else { "reset" });
        }
        Rec::Deliver { t, node: n, clock, generation, partition, offset, event } => {
            (raw.ty, raw.t, raw.node, raw.clock, raw.group) = (s("deliver"), Some(t), node(n), Some(clock), group);
            (raw.generation, raw.topic, raw.partition) = (Some(generation.into()), topic, Some(partition));
            (raw.offset, raw.id) = (Some(offset), id(event));
        }
        Rec::QueueDeliver { t, node: n, clock, offset, event, .. } => {
            (raw.ty, raw.t, raw.node, raw.clock, raw.group) = (s("deliver"), Some(t), node(n), Some(clock), group);
            (raw.topic, raw.partition, raw.offset, raw.id) = (topic, Some(0), Some(offset), id(event));
        }
        Rec::QueueSettle { t, node: n, offset, event, ok, reason, nack } => {
            let ty = if nack { "nack" } else { "queue_ack" };
            (raw.ty, raw.t, raw.node, raw.group, raw.topic) = (s(ty), Some(t), node(n), group, topic);
            (raw.partition, raw.offset, raw.id, raw.ok) = (Some(0), Some(offset), id(event), Some(ok));
            if !ok {
                raw.reason = s(reason);
            }
        }
        Rec::Apply { t, node: n, clock, partition, offset, event }
        | Rec::Discard { t, node: n, clock, partition, offset, event, .. } => {
            let ty = if let Rec::Discard { reason, .. } = *rec {
                raw.reason = s(reason);
                "discard"
            } else {
                "apply"
            };
            (raw.ty, raw.t, raw.node, raw.clock, raw.group) = (s(ty), Some(t), node(n), Some(clock), group);
            (raw.id, raw.topic, raw.partition, raw.offset) = (id(event), topic, Some(partition), Some(offset));
        }
        Rec::Commit { t, node: n, generation, partition, offset, ok, reason } => {
            (raw.ty, raw.t, raw.node, raw.group, raw.generation) =
                (s("commit"), Some(t), node(n), group, Some(generation.into()));
            (raw.topic, raw.partition, raw.offset, raw.ok) = (topic, Some(partition), Some(offset), Some(ok));
            if !ok {
                raw.reason = s(reason);
            }
        }
        Rec::State { t, entity, kind, count, items } => {
            (raw.ty, raw.t, raw.group, raw.entity) =
                (s("state"), Some(t), group, Some(CowStr(entity_name(catalog, entities, entity))));
            let mut fields = Vec::new();
            if kind != u16::MAX {
                fields
                    .push((Cow::Borrowed("status"), CowStr(Cow::Borrowed(catalog.kinds[usize::from(kind)].as_str()))));
            }
            match catalog.operation {
                Operation::Set => {}
                Operation::Increment => fields.push((Cow::Borrowed("count"), CowStr(Cow::Owned(count.to_string())))),
                Operation::Append => {
                    fields.push((Cow::Borrowed("items"), CowStr(Cow::Owned(super::state_items(catalog, items, count)))))
                }
            }
            raw.fields = Some(Pairs(fields));
        }
        Rec::Crash { t, node: n } => (raw.ty, raw.t, raw.node) = (s("crash"), Some(t), node(n)),
        Rec::Restart { t, node: n } => (raw.ty, raw.t, raw.node) = (s("restart"), Some(t), node(n)),
        Rec::Pause { t, node: n } => (raw.ty, raw.t, raw.node) = (s("pause"), Some(t), node(n)),
        Rec::ClockStep { t, node: n, delta_ns } => {
            (raw.ty, raw.t, raw.node, raw.delta) = (s("clock_step"), Some(t), node(n), Some(delta_ns));
        }
        Rec::NetLinks { t, from, to, cut } => {
            (raw.ty, raw.t) = (s(if cut { "net_partition" } else { "net_heal" }), Some(t));
            (raw.from, raw.to) = (Some(vec![node(from).expect("named")]), Some(vec![node(to).expect("named")]));
        }
        Rec::RebalanceStart { t, node: n, generation, reason, member } => {
            (raw.ty, raw.t, raw.node, raw.group) = (s("rebalance_start"), Some(t), node(n), group);
            (raw.generation, raw.reason) = (Some(generation.into()), s(reason));
            if member != super::NONE_U32 {
                raw.member = node(member);
            }
        }
        Rec::Rebalance { t, node: n, generation, start, len } => {
            (raw.ty, raw.t, raw.node, raw.group) = (s("rebalance"), Some(t), node(n), group);
            (raw.generation, raw.topic) = (Some(generation.into()), topic);
            raw.members = Some(
                super::group_members(catalog, start, len)
                    .map(|(m, partitions)| GroupMember { node: node(m), partitions: Some(partitions.to_vec()) })
                    .collect(),
            );
        }
        Rec::Resume { t, node: n } => (raw.ty, raw.t, raw.node) = (s("resume"), Some(t), node(n)),
        Rec::Link { t, from, to, min_ns, max_ns, loss_ppm, duplicate_ppm, fifo } => {
            (raw.ty, raw.t) = (s("link"), Some(t));
            (raw.from, raw.to) = (Some(vec![node(from).expect("named")]), Some(vec![node(to).expect("named")]));
            (raw.latency_min_ns, raw.latency_max_ns) = (Some(min_ns), Some(max_ns));
            (raw.loss_ppm, raw.duplicate_ppm) = (Some(loss_ppm.into()), Some(duplicate_ppm.into()));
            raw.fifo = Some(fifo);
        }
        Rec::End { t, reason, .. } => (raw.ty, raw.t, raw.reason) = (s("end"), Some(t), s(reason)),
    }
}

/// See [`CompactHistory::check`].
pub(super) fn check(
    history: &CompactHistory,
    source_name: &str,
    expect: Option<&[Guarantee]>,
) -> Result<Report, CheckError> {
    let catalog = &history.catalog;
    let entities = entity_names(catalog);
    let mut batches: Vec<(u64, u32)> = catalog.batches.iter().map(|b| (b.pid, b.seq)).collect();
    let mut records = history.records();
    let header = history.header_line.trim_ascii_end();
    crate::checker::check_fields(header, source_name, expect, |raw| {
        let Some(rec) = records.next() else { return false };
        if let Rec::Send { batch, pid, seq, .. } = rec {
            batches[batch as usize] = (pid, seq);
        }
        fill(raw, &rec, catalog, &entities, &batches);
        true
    })
}

/// See [`CompactHistory::check_and_release`].
pub(super) fn check_and_release(
    history: std::sync::Arc<CompactHistory>,
    source_name: &str,
    expect: Option<&[Guarantee]>,
) -> Result<Report, CheckError> {
    let check = {
        let catalog = &history.catalog;
        let entities = entity_names(catalog);
        let mut batches: Vec<(u64, u32)> = catalog.batches.iter().map(|b| (b.pid, b.seq)).collect();
        let mut check = FieldCheck::new(history.header_line.trim_ascii_end(), source_name, expect)?;
        for rec in history.records() {
            if let Rec::Send { batch, pid, seq, .. } = rec {
                batches[batch as usize] = (pid, seq);
            }
            let mut raw = Raw::default();
            fill(&mut raw, &rec, catalog, &entities, &batches);
            check.record(&raw)?;
        }
        check
    };
    // The whole-history checks need none of the records: the history goes now (if the
    // fingerprint's thread is done with it too), before the checker's peak of memory.
    drop(history);
    check.finish()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::history::{Finished, HistoryMode};
    use crate::run::{run, RunSpec};
    use crate::scenario::Scenario;
    use crate::strategy::StrategySet;

    fn record(path: &str, strategy: Option<&str>, seed: u64, mode: HistoryMode) -> Finished {
        record_with(path, strategy, seed, mode, &[])
    }

    fn record_with(path: &str, strategy: Option<&str>, seed: u64, mode: HistoryMode, set: &[String]) -> Finished {
        let path = Path::new(path);
        let scenario = Scenario::load_with(path, set).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let strategy = StrategySet::parse(strategy.unwrap_or(&scenario.strategy)).expect("known strategy");
        let spec = RunSpec {
            scenario,
            scenario_path: path,
            strategy,
            seed,
            history_mode: mode,
            history_file: None,
            keep_history: mode == HistoryMode::On,
        };
        run(spec).expect("the run finishes").history
    }

    /// Every bundled scenario with its own strategy, and the strategies that write
    /// metadata (clocks, sequence numbers, timestamps) on a few of them.
    fn cases() -> Vec<(String, Option<&'static str>, Vec<String>)> {
        let mut paths: Vec<String> = std::fs::read_dir("scenarios")
            .expect("scenarios/ exists")
            .map(|entry| entry.expect("readable").path().display().to_string())
            .filter(|p| p.ends_with(".toml"))
            .collect();
        paths.sort();
        // Each scenario as it is, and cut short by an event limit (a run that stops early
        // still writes a state record for every planned entity, started or not).
        let mut cases: Vec<(String, Option<&'static str>, Vec<String>)> = Vec::new();
        for path in paths {
            cases.push((path.clone(), None, vec![]));
            cases.push((path, None, vec!["run.max_events=300".to_string()]));
        }
        for strategy in ["key+lamport", "key+hlc", "key+vector-clock", "key+versioned", "key+lww", "key+reorder-buffer"]
        {
            for path in ["scenarios/quickstart.toml", "scenarios/lww-clock-skew.toml", "scenarios/swarm.toml"] {
                cases.push((path.into(), Some(strategy), vec![]));
            }
        }
        cases
    }

    /// The compact history is the JSONL history: the same bytes when written out, the same
    /// fields record by record as the parser reads from each line, and the same report.
    #[test]
    fn every_record_gives_the_fields_its_line_parses_to() {
        for (path, strategy, set) in cases() {
            let what = format!("{path} {strategy:?} {set:?}");
            let jsonl = record_with(&path, strategy, 1, HistoryMode::On, &set).jsonl.expect("kept in memory");
            let finished = record_with(&path, strategy, 1, HistoryMode::Compact, &set);
            let compact = finished.compact.expect("compact mode keeps it");
            assert_eq!(finished.records, compact.record_count());
            let mut written = Vec::new();
            compact.write_jsonl(&mut written).unwrap();
            assert!(written == jsonl, "{what}: write_jsonl differs from the recorded JSONL");

            let catalog = &compact.catalog;
            let entities = entity_names(catalog);
            let mut batches: Vec<(u64, u32)> = catalog.batches.iter().map(|b| (b.pid, b.seq)).collect();
            let lines: Vec<&[u8]> = jsonl.split(|&b| b == b'\n').skip(1).filter(|l| !l.is_empty()).collect();
            assert_eq!(lines.len() as u64, compact.record_count(), "{what}");
            for (rec, line) in compact.records().zip(&lines) {
                if let Rec::Send { batch, pid, seq, .. } = rec {
                    batches[batch as usize] = (pid, seq);
                }
                let mut direct = Raw::default();
                fill(&mut direct, &rec, catalog, &entities, &batches);
                let mut parsed = Raw::default();
                parsed.parse_into(line).expect("ordo's lines parse");
                assert_eq!(
                    format!("{direct:?}"),
                    format!("{parsed:?}"),
                    "{what}: {rec:?} against {}",
                    String::from_utf8_lossy(line)
                );
            }

            let from_text = crate::checker::check_reader(jsonl.as_slice(), "history", None).unwrap();
            let from_fields = compact.check("history", None).unwrap();
            assert_eq!(from_text.to_json(), from_fields.to_json(), "{what}");
        }
    }

    #[test]
    fn witness_lines_are_the_jsonl_lines() {
        let jsonl = record("scenarios/quickstart.toml", None, 3, HistoryMode::On).jsonl.unwrap();
        let compact = record("scenarios/quickstart.toml", None, 3, HistoryMode::Compact).compact.unwrap();
        let text = String::from_utf8(jsonl).unwrap();
        let all: Vec<&str> = text.lines().collect();
        let wanted = [1, 2, 17, all.len() as u64];
        let found = compact.lines(&wanted);
        assert_eq!(found.len(), wanted.len());
        for n in wanted {
            assert_eq!(found[&n], all[n as usize - 1], "line {n}");
        }
    }

    /// The goal of issue 6: at most 32 bytes a engine event for the whole history in
    /// memory (records and catalog), on the standard benchmark scenario.
    #[test]
    fn the_standard_history_takes_under_32_bytes_an_event() {
        let path = Path::new("benches/standard.toml");
        let scenario = Scenario::load(path).unwrap();
        let strategy = StrategySet::parse(&scenario.strategy).unwrap();
        let spec = RunSpec {
            seed: scenario.seed,
            scenario,
            scenario_path: path,
            strategy,
            history_mode: HistoryMode::Compact,
            history_file: None,
            keep_history: false,
        };
        let result = run(spec).unwrap();
        let compact = result.history.compact.as_ref().unwrap();
        let per_event = compact.memory_bytes() as f64 / result.outcome.stats.events as f64;
        assert!(per_event <= 32.0, "{per_event:.1} bytes per event");
        assert!(compact.record_count() > result.outcome.stats.events / 2, "the history is all there");
    }
}
