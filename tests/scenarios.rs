//! The scenario library against docs/known-outcomes.md: for each bundled scenario, every
//! "can" outcome shows up within a few seeds, and no "never" outcome shows up across many.
//! The judge is the checker, reading the history the run wrote (nothing else), and for
//! outcomes that are not anomalies (a producer told of a failure, a partition standing
//! still, conflicts) the run's counters (`ordo::counters`, the list `ordo run --json`
//! prints) and the history's own records.
//!
//! A run that did nothing shows no anomaly, so every row also checks that each run did its
//! work: it ended `done` (the model's own stop: everything produced was applied and
//! committed, or settled on a queue), it created and applied events, and every event it
//! created is accounted for in the history: applied, discarded with a reason, given up
//! (its batch failed with `retry:false`), lost with its producer's crash, or, when none of
//! those, reported by the checker as a loss.

use std::collections::BTreeMap;
use std::path::Path;

use ordo::history::HistoryMode;
use ordo::run::{run, RunSpec};
use ordo::scenario::Scenario;
use ordo::strategy::StrategySet;

/// Seeds searched for each "can" outcome, and seeds over which "never" must hold.
const CAN_SEEDS: u64 = 20;
const NEVER_SEEDS: u64 = 40;

struct Row {
    scenario: &'static str,
    /// What must appear in at least one of `CAN_SEEDS` seeds: a checker kind
    /// (`per_key_reorder`), a run counter that must not be zero (`counter.retries`), or a
    /// fact read from the history with its least value (`append_stall_ms>=800`: the
    /// longest time between two appends to a partition).
    can: &'static [&'static str],
    /// Kinds that must appear in none of `NEVER_SEEDS` seeds.
    never: &'static [&'static str],
}

const ROWS: &[Row] = &[
    // retries, in-flight > 1, idempotence off: R, D.
    Row { scenario: "quickstart", can: &["per_key_reorder", "duplicate_append", "duplicate_apply"], never: &[] },
    // retries, in-flight = 1, idempotence off: D, never R.
    Row {
        scenario: "retry-single-inflight",
        can: &["duplicate_append"],
        never: &["per_key_reorder", "nonmonotonic_send"],
    },
    // retries = 0: L (a gap the producer reports), never D.
    // The gap: batches given up (the producer is told), so the group never applies some
    // step of an entity (`unapplied_steps`).
    Row {
        scenario: "retries-zero",
        can: &["counter.failed_batches", "unapplied_steps"],
        never: &["duplicate_append", "duplicate_apply"],
    },
    // idempotent, acks=all, in-flight <= 5: never D or R within a session.
    Row {
        scenario: "idempotent-producer",
        // The losses do cause retries, and the broker answers repeats from its cache.
        can: &["counter.retries", "counter.dedups"],
        never: &["duplicate_append", "duplicate_apply", "per_key_reorder", "nonmonotonic_send", "lost_write"],
    },
    // idempotent, producer restart with resend from a durable source: D.
    Row { scenario: "idempotent-producer-restart", can: &["duplicate_append", "duplicate_apply"], never: &[] },
    // idempotent, application resends after expiry (KIP-360 epoch bump first): D, R.
    Row {
        scenario: "idempotent-resend-after-expiry",
        can: &["duplicate_append", "duplicate_apply", "per_key_reorder"],
        never: &[],
    },
    // acks = 0, broker crash: L, silently.
    Row { scenario: "acks-zero-broker-crash", can: &["unseen_write"], never: &["duplicate_append"] },
    // commit before processing, consumer crash: L, never D.
    Row { scenario: "commit-before-crash", can: &["commit_ahead"], never: &["duplicate_apply"] },
    // commit after processing, crash: D, never L.
    Row {
        scenario: "commit-after-crash",
        can: &["duplicate_apply"],
        never: &["commit_ahead", "lost_write", "poll_skip", "unseen_write"],
    },
    // commit after processing, crash, each event increments a counter: the duplicates put
    // the counter off (final_state), never L.
    Row {
        scenario: "counter-duplicates",
        can: &["duplicate_apply", "final_state"],
        never: &["commit_ahead", "lost_write", "poll_skip", "unseen_write"],
    },
    // auto-commit with synchronous processing, crash: D, never L.
    Row {
        scenario: "commit-auto-crash",
        can: &["duplicate_apply"],
        never: &["commit_ahead", "lost_write", "poll_skip", "unseen_write"],
    },
    // eager rebalance (commit after processing, committed on revocation): whole-group
    // pauses (see below), never a loss.
    Row {
        scenario: "eager-rebalance",
        can: &["counter.partition_pauses", "counter.unmoved_pauses"],
        never: &["lost_write", "poll_skip", "unseen_write", "zombie_commit"],
    },
    // cooperative-sticky rebalance: pauses of moved partitions only (see below), never a loss.
    Row {
        scenario: "cooperative-rebalance",
        // The moved partitions pause (whatever the protocol's rounds look like).
        can: &["counter.partition_pauses"],
        never: &["lost_write", "poll_skip", "unseen_write", "zombie_commit"],
    },
    // zombie consumer (pause > session timeout): D, concurrent processing; its commits are
    // refused, so never a zombie commit accepted.
    Row { scenario: "zombie-consumer", can: &["duplicate_apply"], never: &["zombie_commit"] },
    // acks = 1, leader crashes before followers fetch: L of acknowledged writes.
    Row { scenario: "acks-one-leader-crash", can: &["lost_write"], never: &[] },
    // acks = all, min.insync = 2, RF 3, unclean off, single broker crash: D without
    // idempotence, never L of acknowledged writes.
    Row {
        scenario: "acks-all-min-insync-2",
        can: &["duplicate_append"],
        never: &["lost_write", "unseen_write", "divergent_log"],
    },
    // acks=all, min.insync=1: the ISR shrinks to the leader, then it dies; unclean off:
    // unavailability, never L of acknowledged writes.
    // The partition has no leader from b0's crash (650 ms) until it returns (1.5 s): no
    // append for most of that time, and the producers retry.
    Row {
        scenario: "isr-shrinks-leader-dies",
        can: &["append_stall_ms>=700", "counter.retries"],
        never: &["lost_write", "unseen_write", "divergent_log"],
    },
    // fsync off (flush interval), single replica, broker crash: the unflushed tail is lost.
    Row { scenario: "fsync-off-broker-crash", can: &["unseen_write"], never: &[] },
    // unclean election: L of acknowledged writes, divergent logs, reused offsets.
    Row { scenario: "unclean-leader-election", can: &["divergent_log", "unseen_write"], never: &[] },
    // LWW / ordering by wall-clock timestamp, clock skew: lost updates, CI (the skew signature).
    Row { scenario: "lww-clock-skew", can: &["final_state", "timestamp_inversion"], never: &[] },
    // reorder buffer with timeout, event lost: a visible skip after the timeout; in order.
    Row {
        scenario: "reorder-buffer-lost-event",
        can: &["sequence_gap"],
        never: &["per_key_reorder", "duplicate_apply", "final_state"],
    },
    // full-state events (apply any version > current), a version lost or reordered: the
    // lost version is skipped (a visible gap), an older one arriving late is discarded;
    // never applied out of order, never a stale final state.
    Row {
        scenario: "full-state-vs-delta",
        can: &["sequence_gap", "counter.skipped_gaps", "counter.discarded"],
        never: &["per_key_reorder", "duplicate_apply", "final_state"],
    },
    // reorder buffer with timeout, event delayed beyond the timeout: the late event is
    // dropped (a gap); the applied order stays correct.
    Row {
        scenario: "reorder-buffer-late-event",
        can: &["sequence_gap"],
        never: &["per_key_reorder", "duplicate_apply"],
    },
    // outbox + single relay, key = aggregate, relay crash: D, never R per aggregate.
    Row {
        scenario: "outbox-relay-crash",
        can: &["duplicate_apply"],
        never: &["per_key_reorder", "lost_write", "unseen_write"],
    },
    // dual write (commit, then publish): L of committed changes (a counter: the checker
    // judges the log, where a lost event is invisible), R after a resend.
    Row {
        scenario: "dual-write-crash",
        can: &["counter.never_appended", "counter.lost_in_producer_crash", "per_key_reorder", "final_state"],
        never: &[],
    },
    // saga with compensations, each step from its own service: R of a compensation
    // before the step it undoes, and the stale final state it leaves.
    Row {
        scenario: "saga-compensation",
        can: &["counter.compensations", "per_key_reorder", "final_state"],
        never: &["duplicate_apply"],
    },
    // several producers write one key: R relative to causality.
    Row { scenario: "several-producers-one-key", can: &["per_key_reorder"], never: &["duplicate_append"] },
    // Lamport order, any skew or delay: concurrent events in arbitrary order (a late
    // producer's small clocks make its events look old: dead-lettered, which
    // tests/strategies.rs asserts from the run's counts), never CI.
    Row {
        scenario: "lamport-late-producer",
        can: &["counter.dead_lettered"],
        never: &["causality_inversion", "per_key_reorder", "clock_condition"],
    },
    // Vector clocks, causal delivery, any fault: never CI (the transport's disorder stays
    // an observation).
    Row {
        scenario: "vector-clock-causal-delivery",
        can: &["causal_delivery", "observed_cycle"],
        never: &["causality_inversion", "per_key_reorder", "final_state", "duplicate_apply", "clock_condition"],
    },
    // Expected-version appends, concurrent writers: conflicts and retries (asserted in
    // tests/strategies.rs), never a lost update or an out-of-order append at the source.
    Row {
        scenario: "expected-version-writers",
        can: &["counter.conflicts"],
        never: &["per_key_reorder", "final_state", "duplicate_append", "duplicate_apply", "causality_inversion"],
    },
    // Partition-aware batch, commit after, batch retried on failure: order per key under
    // retries; duplicates.
    Row {
        scenario: "batch-processing-retry",
        can: &["duplicate_apply"],
        never: &["per_key_reorder", "final_state", "commit_ahead", "unseen_write"],
    },
    // Key lanes committing the contiguous processed prefix, consumer crash: a replay of
    // what the fast lanes had processed above it (D), never a commit past an unprocessed
    // record, never an event lost.
    Row {
        scenario: "key-lanes-prefix-commit",
        can: &["duplicate_apply", "counter.lane_commit_held_back"],
        never: &["commit_ahead", "per_key_reorder", "unseen_write", "lost_write"],
    },
    // Key lanes committing the highest processed offset: a commit past records other lanes
    // had not processed (L, and lost for good when the crash falls in that window).
    Row {
        scenario: "key-lanes-naive-commit",
        can: &["commit_ahead", "counter.never_applied", "counter.lane_commit_skipped"],
        never: &["per_key_reorder", "lost_write"],
    },
    // swarm mode over RF 3 and a group: each seed its own mix of fault kinds. Commits come
    // after processing, so never one ahead of what was applied and never a rebalance skip;
    // acks = all with min.insync = 2 and clean elections lose nothing acknowledged; the
    // coordinator refuses zombies' commits. (Swarm runs found three model bugs here, now
    // fixed: a duplicate batch acknowledged before replication, a coordinator forgetting
    // its generation, and a consumer never refreshing stale metadata.) Duplicate applies
    // are rare since the coordinator fails over with its offsets partition and keeps the
    // group's members (2 of 200 seeds, none in the first 20): no longer a "can" here.
    Row {
        scenario: "swarm",
        can: &[],
        never: &["commit_ahead", "rebalance_skip", "zombie_commit", "lost_write", "unseen_write", "divergent_log"],
    },
    // Queue mode (issue 4: a queue beside the log). Competing consumers on one queue, no
    // fault: R and a stale final state; nothing is redelivered, so never D, and a queue's
    // deliveries follow no position: never a poll skip.
    Row {
        scenario: "queue-competing-consumers",
        can: &["per_key_reorder", "final_state"],
        never: &["duplicate_apply", "ack_ahead", "poll_skip", "nonmonotonic_poll", "lost_write", "unseen_write"],
    },
    // A pause past the visibility timeout: the message goes to another consumer after later
    // ones (R) and the paused one processes it too (D); acks follow applies.
    Row {
        scenario: "queue-visibility-timeout",
        can: &["duplicate_apply", "per_key_reorder", "final_state"],
        never: &["ack_ahead", "poll_skip", "nonmonotonic_poll", "lost_write", "unseen_write"],
    },
    // One consumer, prefetch 1, no redelivery: per-key order holds. What the lesson shows
    // can happen is the plain path: every message acknowledged once processed.
    Row {
        scenario: "queue-single-consumer",
        can: &["counter.queue_acks"],
        never: &["per_key_reorder", "final_state", "duplicate_apply", "ack_ahead", "lost_write", "unseen_write"],
    },
    // Auto-ack and a consumer crash: acknowledged before processing, L; never D.
    Row { scenario: "queue-auto-ack-crash", can: &["ack_ahead", "unseen_write"], never: &["duplicate_apply"] },
    // Processing failures: nacks redeliver out of order (R), dead-lettering leaves stale
    // projections; a nacked message was not applied, so never D.
    Row {
        scenario: "queue-dead-letter",
        can: &["per_key_reorder", "final_state"],
        never: &["duplicate_apply", "ack_ahead", "poll_skip", "lost_write", "unseen_write"],
    },
    // The coordinator's broker crashes: the offsets partition fails over with the group's
    // offsets and members; commits resume at the new coordinator, nothing is read again.
    Row {
        scenario: "coordinator-failover",
        can: &[],
        never: &[
            "duplicate_apply",
            "commit_ahead",
            "rebalance_skip",
            "rebalance_rewind",
            "zombie_commit",
            "commit_regression",
            "lost_write",
            "unseen_write",
        ],
    },
];

/// Runs a bundled scenario with its own strategy.
fn run_scenario(name: &str, seed: u64) -> ordo::run::RunResult {
    let path = format!("scenarios/{name}.toml");
    let scenario = Scenario::load(Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
    let strategy = StrategySet::parse(&scenario.strategy).unwrap();
    run(RunSpec {
        scenario,
        scenario_path: Path::new(&path),
        strategy,
        seed,
        history_mode: HistoryMode::On,
        history_file: None,
        keep_history: true,
    })
    .unwrap()
}

/// Kinds that say an event was lost (so an event nobody applied is accounted for).
const LOSS_KINDS: &[&str] =
    &["lost_write", "unseen_write", "commit_ahead", "ack_ahead", "poll_skip", "rebalance_skip", "sequence_gap"];

/// What one run showed: every anomaly kind the checker found (violated or allowed), every
/// counter as `counter.NAME`, and facts read from the history; and the reasons the run
/// did not do its work, if any.
struct Seen {
    found: BTreeMap<String, u64>,
    not_done: Vec<String>,
}

fn observe(name: &str, seed: u64) -> Seen {
    observe_result(name, run_scenario(name, seed))
}

fn observe_result(name: &str, result: ordo::run::RunResult) -> Seen {
    let path = format!("scenarios/{name}.toml");
    let mut found: BTreeMap<String, u64> = BTreeMap::new();
    for counter in ordo::counters::of(&result) {
        if let Some(value) = counter.value.filter(|v| *v > 0) {
            found.insert(format!("counter.{}", counter.name), value);
        }
    }
    let stop = result.outcome.reason.as_str();
    let jsonl = result.history.jsonl.as_ref().expect("kept in memory");
    let report = ordo::checker::check_reader(jsonl.as_slice(), &path, None).unwrap_or_else(|e| panic!("{e}"));
    for (kind, count) in report.all_counts() {
        found.insert(kind.to_string(), count);
    }
    let history = History::read(jsonl);
    found.insert("append_stall_ms".into(), history.longest_append_gap_ns / 1_000_000);
    found.insert("unapplied_steps".into(), history.unapplied);

    let mut not_done = Vec::new();
    if stop != "done" {
        not_done.push(format!("stopped {stop}, not done"));
    }
    if result.stats.created == 0 || result.stats.applies == 0 {
        not_done.push(format!("created {} and applied {}", result.stats.created, result.stats.applies));
    }
    let reported_loss = LOSS_KINDS.iter().any(|kind| found.contains_key(*kind));
    if history.unaccounted > 0 && !reported_loss {
        not_done.push(format!(
            "{} created events neither applied, discarded, given up nor lost in a crash, and no loss reported",
            history.unaccounted
        ));
    }
    Seen { found, not_done }
}

/// Facts read from a history's records.
struct History {
    /// Created events the group never applied (discarded, given up, lost).
    unapplied: u64,
    /// Created events with no explanation: not applied, not discarded, not in a batch the
    /// producer gave up, not created by a producer that later crashed.
    unaccounted: u64,
    /// The longest time between two consecutive appends to one partition.
    longest_append_gap_ns: u64,
}

impl History {
    fn read(jsonl: &[u8]) -> History {
        use std::collections::BTreeSet;
        let mut created: BTreeMap<u64, String> = BTreeMap::new();
        let (mut applied, mut discarded, mut given_up) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        let mut batches: BTreeMap<(String, u64), Vec<u64>> = BTreeMap::new();
        let mut crashed: BTreeSet<String> = BTreeSet::new();
        let mut last_append: BTreeMap<(String, u64), u64> = BTreeMap::new();
        let mut longest_append_gap_ns = 0;
        for line in jsonl.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let r: serde_json::Value = serde_json::from_slice(line).expect("ordo writes JSON lines");
            let node = r["node"].as_str().unwrap_or_default().to_string();
            let id = r["id"].as_u64();
            match r["type"].as_str().unwrap_or_default() {
                "create" => {
                    created.insert(id.expect("create has an id"), node);
                }
                "apply" => {
                    applied.insert(id.expect("apply has an id"));
                }
                "discard" => {
                    discarded.insert(id.expect("discard has an id"));
                }
                "send" => {
                    let events = r["events"].as_array().expect("send lists its events");
                    batches
                        .entry((node, r["batch"].as_u64().expect("send has a batch")))
                        .or_insert_with(|| events.iter().filter_map(|e| e.as_u64()).collect());
                }
                "fail" if r["retry"] == false => {
                    if let Some(events) = batches.get(&(node, r["batch"].as_u64().expect("fail has a batch"))) {
                        given_up.extend(events.iter().copied());
                    }
                }
                "crash" => {
                    crashed.insert(node);
                }
                "append" => {
                    let t = r["t"].as_u64().expect("a record has a time");
                    let partition =
                        (r["topic"].as_str().unwrap_or_default().to_string(), r["partition"].as_u64().unwrap_or(0));
                    if let Some(before) = last_append.insert(partition, t) {
                        longest_append_gap_ns = longest_append_gap_ns.max(t.saturating_sub(before));
                    }
                }
                _ => {}
            }
        }
        let unapplied = created.keys().filter(|id| !applied.contains(*id)).count() as u64;
        let unaccounted = created
            .iter()
            .filter(|(id, producer)| {
                !applied.contains(*id)
                    && !discarded.contains(*id)
                    && !given_up.contains(*id)
                    && !crashed.contains(*producer)
            })
            .count() as u64;
        History { unapplied, unaccounted, longest_append_gap_ns }
    }
}

/// Whether a `can` entry shows up in what a run found.
fn shows(entry: &str, found: &BTreeMap<String, u64>) -> bool {
    match entry.split_once(">=") {
        Some((name, least)) => found.get(name).is_some_and(|v| *v >= least.parse::<u64>().expect("a number")),
        None => found.get(entry).is_some_and(|v| *v > 0),
    }
}

#[test]
fn every_row_shows_what_it_can_and_never_what_it_must_not() {
    let mut failures = Vec::new();
    for row in ROWS {
        let mut missing: Vec<&str> = row.can.to_vec();
        for seed in 1..=NEVER_SEEDS.max(CAN_SEEDS) {
            let Seen { found, not_done } = observe(row.scenario, seed);
            for reason in not_done {
                failures.push(format!(
                    "{}: seed {seed} did not do its work ({reason}): ordo run scenarios/{}.toml --seed {seed}",
                    row.scenario, row.scenario
                ));
            }
            if seed <= CAN_SEEDS {
                missing.retain(|entry| !shows(entry, &found));
            }
            for kind in row.never {
                if let Some(count) = found.get(*kind) {
                    failures.push(format!(
                        "{}: {kind} ×{count} with seed {seed} (never allowed): ordo run scenarios/{}.toml --seed {seed}",
                        row.scenario, row.scenario
                    ));
                }
            }
        }
        for kind in missing {
            failures.push(format!("{}: {kind} never showed up in seeds 1..={CAN_SEEDS}", row.scenario));
        }
        assert!(!row.can.is_empty() || !row.never.is_empty(), "{}: a row asserts something", row.scenario);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_bundled_scenario_has_a_row() {
    let mut names: Vec<String> = std::fs::read_dir("scenarios")
        .unwrap()
        .filter_map(|e| e.ok()?.path().file_stem()?.to_str().map(String::from))
        .collect();
    names.sort();
    let mut rows: Vec<String> = ROWS.iter().map(|r| r.scenario.to_string()).collect();
    rows.sort();
    assert_eq!(names, rows, "add a row (can / never outcomes) for every scenario");
}

/// Eager rebalancing stops partitions that end up where they were; cooperative-sticky never
/// does (docs/known-outcomes.md: "pause of unmoved partitions" is a "never" for it).
#[test]
fn cooperative_never_pauses_unmoved_partitions_and_eager_does() {
    let mut eager_unmoved = 0;
    for seed in 1..=NEVER_SEEDS {
        let cooperative = run_scenario("cooperative-rebalance", seed).stats;
        assert_eq!(cooperative.unmoved_pauses, 0, "seed {seed}: {cooperative:?}");
        assert!(cooperative.partition_pauses > 0, "seed {seed}: the moved partitions pause");
        if seed <= CAN_SEEDS {
            eager_unmoved += run_scenario("eager-rebalance", seed).stats.unmoved_pauses;
        }
    }
    assert!(eager_unmoved > 0);
}

/// Runs on four threads of one process at once give the bytes they give one at a time
/// (nothing in a run depends on another run, a global, or the thread it runs on).
#[test]
fn histories_do_not_depend_on_threads_in_one_process() {
    let history = |seed: u64| run_scenario("swarm", seed).history.jsonl.expect("kept in memory");
    let alone: Vec<Vec<u8>> = (1..=4).map(history).collect();
    let together: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..=4).map(|seed| scope.spawn(move || history(seed))).collect();
        handles.into_iter().map(|h| h.join().expect("a run never panics")).collect()
    });
    assert!(alone.iter().all(|h| !h.is_empty()));
    assert_ne!(alone[0], alone[1], "different seeds, different histories");
    assert!(alone == together, "a history changed when runs shared the process");
}

/// The rows' work check catches a run that did not do its work: the quickstart stopped at
/// 30 ms (before most events exist) and one whose workload never reaches the consumers.
#[test]
fn a_run_that_did_not_do_its_work_is_caught() {
    let path = "scenarios/quickstart.toml";
    let with = |change: &dyn Fn(&mut Scenario)| {
        let mut scenario = Scenario::load(Path::new(path)).unwrap();
        change(&mut scenario);
        let strategy = StrategySet::parse(&scenario.strategy).unwrap();
        let result = run(RunSpec {
            scenario,
            scenario_path: Path::new(path),
            strategy,
            seed: 1,
            history_mode: HistoryMode::On,
            history_file: None,
            keep_history: true,
        })
        .unwrap();
        observe_result("quickstart", result).not_done
    };
    assert!(with(&|_| {}).is_empty(), "the quickstart does its work");
    let cut_short = with(&|s| s.run.max_time_ms = 30);
    assert!(cut_short.iter().any(|r| r.contains("not done")), "{cut_short:?}");
}

/// The known-outcomes doc names a scenario for each row; every one exists, and every
/// bundled scenario is in the table (or, for `swarm`, in the note below it).
#[test]
fn the_known_outcomes_table_names_every_scenario() {
    let doc = std::fs::read_to_string("docs/known-outcomes.md").unwrap();
    let table = &doc[doc.find("## The table").unwrap()..];
    let table = &table[..table[3..].find("\n## ").unwrap()];
    let mut named = std::collections::BTreeSet::new();
    for line in table.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| config")) {
        let last = line.trim_end_matches('|').rsplit('|').next().unwrap();
        named.extend(last.split('`').skip(1).step_by(2).map(String::from));
    }
    if table.contains("`swarm` is not a row") {
        named.insert("swarm".to_string());
    }
    let files: std::collections::BTreeSet<String> = std::fs::read_dir("scenarios")
        .unwrap()
        .filter_map(|e| e.ok()?.path().file_stem()?.to_str().map(String::from))
        .collect();
    assert_eq!(named, files, "docs/known-outcomes.md's scenario column against scenarios/");
}
