//! The run's counters: the one list `ordo run --json` prints and `ordo sweep` gives a
//! distribution of.
//!
//! [`of`] is the only definition. `ordo run --json` prints each counter of group
//! [`Group::Run`] at the top level and the others in the `workload` and `network` objects;
//! `ordo sweep` folds every counter of every seed into a distribution under the same name.
//! A counter added here appears in both without further edits; a field added to
//! [`ModelStats`] must be added here (or to [`DERIVED`]): a test compares the two lists.
//! Every value is an integer (times in ns), `None` when the run has no such value (the
//! latencies of a run that applied nothing).

use crate::model::ModelStats;
use crate::run::RunResult;

/// Where `ordo run --json` prints a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// At the top level of the object.
    Run,
    /// In `workload`: producers, brokers, consumers, strategies.
    Workload,
    /// In `network`: the engine's message counters.
    Network,
}

impl Group {
    /// The JSON object the group's counters go in (`None`: the top level).
    pub fn object(self) -> Option<&'static str> {
        match self {
            Group::Run => None,
            Group::Workload => Some("workload"),
            Group::Network => Some("network"),
        }
    }
}

/// One counter of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counter {
    pub group: Group,
    /// The JSON name (unit last when it has one: `_ns`, `_per_sec`).
    pub name: &'static str,
    /// `None`: the run has no such value (no apply, so no latency or throughput).
    pub value: Option<u64>,
}

/// [`ModelStats`] fields printed under another name: (field, JSON name).
pub const RENAMED: [(&str, &str); 3] = [
    ("lost_in_crash", "lost_in_producer_crash"),
    ("chains_cut", "chains_cut_by_crash"),
    ("refused_acks", "refused_queue_acks"),
];

/// [`ModelStats`] fields that are not counters themselves but make one: the latency sum
/// gives `latency_mean_ns`, the last apply's time gives `throughput_per_sec`.
pub const DERIVED: [&str; 2] = ["latency_sum_ns", "last_apply_ns"];

/// Every counter of a run, in the order `ordo run --json` prints them.
pub fn of(result: &RunResult) -> Vec<Counter> {
    let s: &ModelStats = &result.stats;
    let engine = &result.outcome.stats;
    let applied = s.applies > 0;
    let some = |group, name, value| Counter { group, name, value: Some(value) };
    let run = |name, value| some(Group::Run, name, value);
    let w = |name, value| some(Group::Workload, name, value);
    let if_applied = |name, value: u64| Counter { group: Group::Workload, name, value: applied.then_some(value) };
    let n = |name, value| some(Group::Network, name, value);
    vec![
        run("events", engine.events),
        run("sim_time_ns", result.outcome.end_ns),
        run("history_records", result.history.records),
        w("created", s.created),
        w("batches", s.batches),
        w("send_attempts", s.send_attempts),
        w("retries", s.retries),
        w("acked", s.acked),
        w("failed_batches", s.failed_batches),
        w("appended", s.appended),
        w("dedups", s.dedups),
        w("rejects", s.rejects),
        w("out_of_order_appends", s.out_of_order_appends),
        w("deliveries", s.deliveries),
        w("duplicate_deliveries", s.duplicate_deliveries),
        w("applies", s.applies),
        w("duplicate_applies", s.duplicate_applies),
        w("processing_failures", s.processing_failures),
        w("commits", s.commits),
        w("rejected_commits", s.rejected_commits),
        w("coordinator_elections", s.coordinator_elections),
        w("commits_not_coordinator", s.commits_not_coordinator),
        w("assignments", s.assignments),
        w("rebalance_pause_ns", s.rebalance_pause_ns),
        w("partition_pauses", s.partition_pauses),
        w("unmoved_pauses", s.unmoved_pauses),
        w("unfetched_moved_ns", s.unfetched_moved_ns),
        w("unfetched_unmoved_ns", s.unfetched_unmoved_ns),
        w("unfetched_gaps", s.unfetched_gaps),
        w("unfetched_max_ns", s.unfetched_max_ns),
        w("dropped_unprocessed", s.dropped_unprocessed),
        w("resent", s.resent),
        w("elections", s.elections),
        w("unclean_elections", s.unclean_elections),
        w("truncated_records", s.truncated_records),
        w("unflushed_lost", s.unflushed_lost),
        w("lost_in_producer_crash", s.lost_in_crash),
        w("chains_cut_by_crash", s.chains_cut),
        w("discarded", s.discarded),
        w("held_max", s.held_max),
        w("skipped_gaps", s.skipped_gaps),
        w("dead_lettered", s.dead_lettered),
        w("held_at_end", s.held_at_end),
        w("lane_commits", s.lane_commits),
        w("lane_commit_held_back", s.lane_commit_held_back),
        w("lane_commit_skipped", s.lane_commit_skipped),
        w("entities_behind", s.entities_behind),
        w("conflicts", s.conflicts),
        if_applied("latency_mean_ns", s.latency_sum_ns.checked_div(s.applies).unwrap_or(0)),
        if_applied("latency_p50_ns", s.latency_p50_ns),
        if_applied("latency_p99_ns", s.latency_p99_ns),
        if_applied("latency_max_ns", s.latency_max_ns),
        if_applied("throughput_per_sec", result.throughput_per_sec()),
        w("never_applied", s.never_applied),
        w("never_appended", s.never_appended),
        w("compensations", s.compensations),
        w("latency_p99_to_end_ns", s.latency_p99_to_end_ns),
        w("queue_acks", s.queue_acks),
        w("refused_queue_acks", s.refused_acks),
        w("redeliveries", s.redeliveries),
        w("visibility_expired", s.visibility_expired),
        w("nacks", s.nacks),
        w("failed_auto_acked", s.failed_auto_acked),
        w("queue_dead_lettered", s.queue_dead_lettered),
        n("messages", engine.messages_sent),
        n("lost", engine.dropped_loss),
        n("lost_on_broken_connections", engine.dropped_broken),
        n("cut", engine.dropped_cut),
        n("duplicated", engine.duplicated),
    ]
}

/// The field names of a `#[derive(Debug)]` struct's `{:?}` text (`Name { a: 1, b: [..] }`):
/// the top-level names, in order. For the tests that compare [`ModelStats`] with [`of`].
pub fn debug_field_names(debug: &str) -> Vec<String> {
    let Some(body) = debug.split_once('{').map(|(_, rest)| rest.trim_end().trim_end_matches('}')) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    let bytes = body.as_bytes();
    for (i, &byte) in bytes.iter().enumerate() {
        match byte {
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                names.extend(body[start..i].split_once(':').map(|(name, _)| name.trim().to_string()));
                start = i + 1;
            }
            _ => {}
        }
    }
    names.extend(body[start..].split_once(':').map(|(name, _)| name.trim().to_string()));
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_field_names_reads_top_level_names_only() {
        assert_eq!(debug_field_names("S { a: 1, b: [1, 2], c: T { d: 3 }, e: (4, 5) }"), ["a", "b", "c", "e"]);
        assert_eq!(debug_field_names("S"), Vec::<String>::new());
    }

    #[test]
    fn every_model_stats_field_is_a_counter_or_derives_one() {
        let names: Vec<&str> = {
            let scenario = crate::scenario::Scenario::parse("", "t.toml", "t").unwrap();
            let result = crate::run::run(crate::run::RunSpec {
                scenario,
                scenario_path: std::path::Path::new("t.toml"),
                strategy: crate::strategy::StrategySet::parse("key").unwrap(),
                seed: 1,
                history_mode: crate::history::HistoryMode::Off,
                history_file: None,
                keep_history: false,
            })
            .unwrap();
            of(&result).iter().map(|c| c.name).collect()
        };
        for field in debug_field_names(&format!("{:?}", ModelStats::default())) {
            let printed = RENAMED.iter().find(|(from, _)| *from == field).map_or(field.as_str(), |(_, to)| to);
            assert!(
                names.contains(&printed) || DERIVED.contains(&field.as_str()),
                "ModelStats::{field} is neither in counters::of (as {printed}) nor in counters::DERIVED"
            );
        }
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "counter names are unique");
    }
}
