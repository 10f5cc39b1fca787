//! Queue mode end to end (issue 4: a queue beside the log). Each mechanism is checked on
//! the history the run writes, record by record, not through the checker: competing
//! consumers, prefetch, leases and the visibility timeout, acks and stale receipts, nacks,
//! dead letters, auto-ack, crashes and pauses of consumers and of the host, `leave`; then
//! the consumer strategies on a queue (judged by the checker), and determinism.

use std::collections::BTreeMap;
use std::path::Path;

use ordo::history::HistoryMode;
use ordo::run::{run, RunResult, RunSpec};
use ordo::scenario::Scenario;
use ordo::strategy::StrategySet;
use ordo_sim::StopReason;
use serde_json::Value;

const MS: u64 = 1_000_000;

fn run_scenario(scenario: Scenario, strategy: &str, seed: u64) -> (RunResult, Vec<Value>) {
    let result = run(RunSpec {
        scenario,
        scenario_path: Path::new("queue-test.toml"),
        strategy: StrategySet::parse(strategy).unwrap(),
        seed,
        history_mode: HistoryMode::On,
        history_file: None,
        keep_history: true,
    })
    .unwrap();
    let jsonl = result.history.jsonl.clone().expect("kept in memory");
    let records = jsonl.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap());
    (result, records.collect())
}

fn run_text(text: &str, strategy: &str, seed: u64) -> (RunResult, Vec<Value>) {
    run_scenario(Scenario::parse(text, "queue-test.toml", "queue-test").unwrap(), strategy, seed)
}

fn run_file(name: &str, strategy: &str, seed: u64) -> (RunResult, Vec<Value>) {
    let scenario = Scenario::load(Path::new(&format!("scenarios/{name}.toml"))).unwrap();
    run_scenario(scenario, strategy, seed)
}

fn of_type<'a>(records: &'a [Value], ty: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    records.iter().filter(move |r| r["type"] == ty)
}

fn t(record: &Value) -> u64 {
    record["t"].as_u64().unwrap()
}

fn id(record: &Value) -> u64 {
    record["id"].as_u64().unwrap()
}

/// How many times each event was applied.
fn applies(records: &[Value]) -> BTreeMap<u64, u32> {
    let mut counts = BTreeMap::new();
    for apply in of_type(records, "apply") {
        *counts.entry(id(apply)).or_default() += 1;
    }
    counts
}

fn created(records: &[Value]) -> Vec<u64> {
    of_type(records, "create").map(id).collect()
}

/// Per entity, the steps in the order the group applied them (step = place in the chain).
fn applied_steps(records: &[Value]) -> BTreeMap<String, Vec<usize>> {
    let mut step_of: BTreeMap<u64, (String, usize)> = BTreeMap::new();
    let mut chain_len: BTreeMap<String, usize> = BTreeMap::new();
    for create in of_type(records, "create") {
        let entity = create["entity"].as_str().unwrap().to_string();
        let step = chain_len.entry(entity.clone()).or_default();
        step_of.insert(id(create), (entity, *step));
        *step += 1;
    }
    let mut steps: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for apply in of_type(records, "apply") {
        let (entity, step) = step_of[&id(apply)].clone();
        steps.entry(entity).or_default().push(step);
    }
    steps
}

fn in_order(steps: &BTreeMap<String, Vec<usize>>) -> bool {
    steps.values().all(|s| s.windows(2).all(|w| w[0] < w[1]))
}

/// A queue scenario: `consumers` consumers, small timeouts, the `[queue]` lines, and `extra`
/// appended.
fn scenario(consumers: u32, queue: &str, extra: &str) -> String {
    scenario_with(consumers, queue, "", "", extra)
}

/// The same with lines added to `[consumer]` and `[broker]`.
fn scenario_with(consumers: u32, queue: &str, consumer: &str, broker: &str, extra: &str) -> String {
    format!(
        "[topology]\nconsumers = {consumers}\n[workload]\nentities = 20\nevents_per_entity = 4\nstart_window_ms = 50\n\
         [producer]\nrequest_timeout_ms = 50\nretry_backoff_ms = 10\ndelivery_timeout_ms = 60000\n\
         [consumer]\nprocessing_min_us = 1000\nprocessing_max_us = 6000\nrequest_timeout_ms = 50\n{consumer}\n\
         [broker]\nsession_timeout_ms = 200\nheartbeat_interval_ms = 50\n{broker}\n\
         [queue]\n{queue}\n{extra}"
    )
}

#[test]
fn one_consumer_with_prefetch_one_applies_every_key_in_order_and_competing_ones_do_not() {
    let single = scenario(1, "prefetch = 1", "");
    let competing = scenario(3, "prefetch = 1", "");
    let mut reordered = 0;
    for seed in 1..=10 {
        let (result, records) = run_text(&single, "key+idempotent", seed);
        assert_eq!(result.outcome.reason, StopReason::Stopped, "seed {seed}");
        let counts = applies(&records);
        assert!(created(&records).iter().all(|e| counts.get(e) == Some(&1)), "seed {seed}: each applied once");
        assert!(in_order(&applied_steps(&records)), "seed {seed}: one consumer, prefetch 1 keeps per-key order");
        // The queue hands out messages in offset order, each once.
        let offsets: Vec<u64> = of_type(&records, "deliver").map(|d| d["offset"].as_u64().unwrap()).collect();
        assert!(offsets.windows(2).all(|w| w[0] < w[1]), "seed {seed}: {offsets:?}");
        assert!(of_type(&records, "deliver").all(|d| d["receive"] == 1));

        let (result, records) = run_text(&competing, "key+idempotent", seed);
        assert_eq!(result.outcome.reason, StopReason::Stopped);
        let counts = applies(&records);
        assert!(created(&records).iter().all(|e| counts.get(e) == Some(&1)), "seed {seed}: no redelivery, no dup");
        let consumers: std::collections::BTreeSet<&str> =
            of_type(&records, "deliver").map(|d| d["node"].as_str().unwrap()).collect();
        assert_eq!(consumers.len(), 3, "seed {seed}: every consumer competes for messages");
        reordered += u32::from(!in_order(&applied_steps(&records)));
    }
    assert!(reordered > 0, "competing consumers reorder some key within 10 seeds");
}

#[test]
fn a_pause_past_the_visibility_timeout_redelivers_to_another_consumer() {
    for seed in 1..=5 {
        let (result, records) = run_file("queue-visibility-timeout", "key+idempotent", seed);
        assert_eq!(result.outcome.reason, StopReason::Stopped);
        assert!(result.stats.visibility_expired > 0 && result.stats.redeliveries > 0, "{:?}", result.stats);
        // First delivery of each offset, to whom and when (a message leased just before the
        // pause reaches c0 only when it wakes up, so its first delivery may be recorded after
        // the redelivery).
        let first: BTreeMap<u64, (String, u64)> = of_type(&records, "deliver")
            .filter(|d| d["receive"] == 1)
            .map(|d| (d["offset"].as_u64().unwrap(), (d["node"].as_str().unwrap().to_string(), t(d))))
            .collect();
        let mut redelivered = 0;
        for deliver in of_type(&records, "deliver").filter(|d| d["receive"] != 1) {
            let offset = deliver["offset"].as_u64().unwrap();
            // A redelivery goes to the other consumer, only after the first lease (300 ms)
            // ran out: a lease starts at most one network trip (1.5 ms) before its delivery,
            // and before the pause (100 ms) for one delivered after it.
            let (first_node, first_t) = &first[&offset];
            assert_eq!((first_node.as_str(), deliver["node"].as_str().unwrap()), ("c0", "c1"), "seed {seed}");
            let leased_by = if *first_t < t(deliver) { first_t - 1_500_000 } else { 0 };
            assert!(t(deliver) >= leased_by + 300 * MS, "seed {seed}: redelivered before the lease ran out");
            redelivered += 1;
            // c0 wakes up and processes it too; its ack is refused.
            let event = id(deliver);
            assert!(of_type(&records, "apply").any(|a| a["node"] == "c0" && id(a) == event && t(a) >= 1100 * MS));
            assert!(!of_type(&records, "queue_ack").any(|a| a["node"] == "c0" && id(a) == event && a["ok"] == true));
        }
        assert!(redelivered > 0, "seed {seed}");
        assert!(result.stats.duplicate_applies > 0, "seed {seed}");
        assert!(of_type(&records, "queue_ack").any(|a| a["node"] == "c0" && a["ok"] == false));
    }
}

#[test]
fn auto_ack_deletes_on_delivery_and_a_crash_loses_what_was_in_hand() {
    let mut lost = 0;
    for seed in 1..=5 {
        let (result, records) = run_file("queue-auto-ack-crash", "key+idempotent", seed);
        assert_eq!(result.outcome.reason, StopReason::Stopped, "seed {seed}");
        assert_eq!(result.stats.redeliveries, 0, "auto-ack never redelivers");
        assert!(of_type(&records, "deliver").all(|d| d["receive"] == 1));
        // Each message is acknowledged (by the host, in the consumer's name) before its
        // delivery is recorded at the consumer.
        for deliver in of_type(&records, "deliver") {
            let ack = of_type(&records, "queue_ack").find(|a| a["offset"] == deliver["offset"]).expect("acked");
            assert!(t(ack) < t(deliver) && ack["ok"] == true && ack["node"] == deliver["node"]);
        }
        let counts = applies(&records);
        assert!(counts.values().all(|&n| n == 1), "seed {seed}: never applied twice");
        lost += created(&records).iter().filter(|e| !counts.contains_key(e)).count();
    }
    assert!(lost > 0, "the crash loses the messages c0 held");
}

#[test]
fn nacked_messages_come_back_and_every_event_is_applied_once() {
    let text = scenario_with(2, "prefetch = 1", "processing_failure_ppm = 500000", "", "");
    for seed in 1..=5 {
        let (result, records) = run_text(&text, "key+idempotent", seed);
        assert_eq!(result.outcome.reason, StopReason::Stopped);
        assert!(result.stats.nacks > 0);
        assert_eq!(result.stats.visibility_expired, 0, "settled long before 30 s");
        assert_eq!(result.stats.redeliveries, result.stats.nacks, "each nack gives the message back once");
        let counts = applies(&records);
        assert!(created(&records).iter().all(|e| counts.get(e) == Some(&1)), "seed {seed}");
        for nack in of_type(&records, "nack") {
            assert_eq!(nack["ok"], true);
            let later = of_type(&records, "deliver").any(|d| d["offset"] == nack["offset"] && t(d) > t(nack));
            assert!(later, "a nacked message is received again");
            assert!(
                !of_type(&records, "apply").any(|a| id(a) == id(nack) && a["node"] == nack["node"] && t(a) < t(nack))
            );
        }
    }
}

#[test]
fn poison_messages_are_dead_lettered_after_max_receives() {
    let text = scenario_with(2, "prefetch = 2\nmax_receives = 3", "processing_failure_ppm = 1000000", "", "");
    let (result, records) = run_text(&text, "key+idempotent", 7);
    assert_eq!(result.outcome.reason, StopReason::Stopped, "dead letters end the run");
    assert_eq!(result.stats.applies, 0);
    assert_eq!(result.stats.queue_dead_lettered, result.stats.appended);
    let mut receives: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for deliver in of_type(&records, "deliver") {
        receives.entry(deliver["offset"].as_u64().unwrap()).or_default().push(deliver["receive"].as_u64().unwrap());
    }
    assert_eq!(receives.len() as u64, result.stats.appended);
    assert!(receives.values().all(|r| r == &[1, 2, 3]), "{receives:?}");
    let dead: Vec<&Value> = of_type(&records, "discard").filter(|d| d["reason"] == "dead_letter").collect();
    assert_eq!(dead.len() as u64, result.stats.appended);
    assert!(dead.iter().all(|d| d["node"] == "b0" && d["group"] == "g"));
}

#[test]
fn a_consumer_crash_with_manual_acks_loses_nothing() {
    let faults = "[[fault]]\nat_ms = 100\nkind = \"crash\"\nnode = \"c0\"\n[[fault]]\nat_ms = 600\nkind = \"restart\"\nnode = \"c0\"\n";
    let text = scenario(2, "prefetch = 4\nvisibility_timeout_ms = 200", faults);
    for seed in 1..=5 {
        let (result, records) = run_text(&text, "key+idempotent", seed);
        assert_eq!(result.outcome.reason, StopReason::Stopped);
        let counts = applies(&records);
        assert!(created(&records).iter().all(|e| counts.contains_key(e)), "seed {seed}: every event applied");
        assert!(result.stats.visibility_expired > 0, "seed {seed}: c0's leases ran out");
        let report = ordo::checker::check_reader(result.history.jsonl.as_deref().unwrap(), "h", None).unwrap();
        let all = report.all_counts();
        for kind in ["ack_ahead", "lost_write", "unseen_write", "poll_skip", "nonmonotonic_poll"] {
            assert!(!all.contains_key(kind), "seed {seed}: {kind} in {all:?}");
        }
    }
}

#[test]
fn a_host_restart_gives_leased_messages_back_and_an_unflushed_tail_is_lost() {
    let faults = "[[fault]]\nat_ms = 60\nkind = \"crash\"\nnode = \"b0\"\n[[fault]]\nat_ms = 300\nkind = \"restart\"\nnode = \"b0\"\n";
    for seed in 1..=4 {
        // fsync on every append: nothing acknowledged is lost; leases die with the host.
        let text = scenario(2, "prefetch = 4", faults);
        let (result, records) = run_text(&text, "key+idempotent", seed);
        assert_eq!(result.outcome.reason, StopReason::Stopped, "seed {seed}");
        let counts = applies(&records);
        let acked: Vec<u64> = of_type(&records, "append").map(id).collect();
        assert!(acked.iter().all(|e| counts.contains_key(e)), "seed {seed}: every queued message processed");
        // What was leased at the crash (the acks for it were lost with the host) comes back
        // once the host is up again, and nothing else does (no lease runs out in 30 s).
        assert!(result.stats.redeliveries > 0 && result.stats.visibility_expired == 0, "seed {seed}");
        for deliver in of_type(&records, "deliver").filter(|d| d["receive"] != 1) {
            assert!(t(deliver) >= 300 * MS && deliver["receive"] == 2, "seed {seed}: {deliver}");
        }
    }
    let mut unflushed = 0;
    for seed in 1..=4 {
        // Flushed every 50 ms: the crash loses the tail, with a truncate record.
        let text = scenario_with(2, "prefetch = 4", "", "flush_interval_ms = 50", faults);
        let (result, records) = run_text(&text, "key+idempotent", seed);
        assert_eq!(result.outcome.reason, StopReason::Stopped, "seed {seed}");
        unflushed += result.stats.unflushed_lost;
        if result.stats.unflushed_lost > 0 {
            assert!(of_type(&records, "truncate").any(|r| r["node"] == "b0"));
        }
    }
    assert!(unflushed > 0, "some seed loses an unflushed tail");
}

#[test]
fn a_leaving_consumer_settles_what_it_holds_and_takes_no_more() {
    let leave = "[[fault]]\nat_ms = 60\nkind = \"leave\"\nnode = \"c0\"\n";
    let text = scenario(2, "prefetch = 3", leave);
    for seed in 1..=5 {
        let (result, records) = run_text(&text, "key+idempotent", seed);
        assert_eq!(result.outcome.reason, StopReason::Stopped);
        let counts = applies(&records);
        assert!(created(&records).iter().all(|e| counts.get(e) == Some(&1)), "seed {seed}");
        // A receive in flight when it left may still be answered (≤ two network trips).
        assert!(!of_type(&records, "deliver").any(|d| d["node"] == "c0" && t(d) > 60 * MS + 4 * MS), "seed {seed}");
        // Whatever c0 received it acknowledged.
        for deliver in of_type(&records, "deliver").filter(|d| d["node"] == "c0") {
            assert!(of_type(&records, "queue_ack").any(|a| a["node"] == "c0" && a["offset"] == deliver["offset"]));
        }
    }
}

/// Every anomaly kind the checker finds in one run (violated or allowed), summed over seeds.
fn kinds(name: &str, strategy: &str, seeds: u64) -> BTreeMap<&'static str, u64> {
    let mut all = BTreeMap::new();
    for seed in 1..=seeds {
        let (result, _) = run_file(name, strategy, seed);
        let jsonl = result.history.jsonl.unwrap();
        for (kind, n) in ordo::checker::check_reader(jsonl.as_slice(), name, None).unwrap().all_counts() {
            *all.entry(kind).or_default() += n;
        }
    }
    all
}

#[test]
fn consumer_strategies_work_on_a_queue() {
    // Duplicates from redelivery: the idempotent consumer discards them.
    let plain = kinds("queue-visibility-timeout", "key+idempotent", 8);
    let dedup = kinds("queue-visibility-timeout", "key+idempotent+idempotent-consumer", 8);
    assert!(plain.contains_key("duplicate_apply") && !dedup.contains_key("duplicate_apply"), "{plain:?} {dedup:?}");
    // Reorders from competing consumers: the versioned consumer holds early versions until
    // their turn, even when the one they wait for went to another consumer.
    let plain = kinds("queue-competing-consumers", "key+idempotent", 8);
    let versioned = kinds("queue-competing-consumers", "key+idempotent+versioned", 8);
    assert!(plain.contains_key("per_key_reorder"), "{plain:?}");
    // A buffered message is acknowledged only once its event leaves the buffer: never ahead.
    for kind in ["per_key_reorder", "final_state", "duplicate_apply", "ack_ahead"] {
        assert!(!versioned.contains_key(kind), "{kind}: {versioned:?}");
    }
    let buffered = kinds("queue-competing-consumers", "key+idempotent+reorder-buffer", 8);
    assert!(buffered.is_empty(), "{buffered:?}");
}

#[test]
fn a_buffered_message_stays_leased_until_its_event_leaves_the_buffer() {
    for seed in 1..=4 {
        let (result, records) = run_file("queue-competing-consumers", "key+idempotent+versioned", seed);
        assert_eq!(result.outcome.reason, StopReason::Stopped);
        assert!(result.stats.held_max > 0, "seed {seed}: some version arrived early");
        for ack in of_type(&records, "queue_ack") {
            // Acknowledged after the consumer applied (or dropped) it, never before.
            let done = of_type(&records, "apply")
                .chain(of_type(&records, "discard"))
                .any(|a| id(a) == id(ack) && t(a) <= t(ack));
            assert!(done, "seed {seed}: {ack}");
        }
    }
}

#[test]
fn same_seed_same_queue_history_other_seed_another() {
    let hash = |seed| run_file("queue-visibility-timeout", "key+idempotent", seed).0.history.sha256.unwrap();
    assert_eq!(hash(3), hash(3));
    assert_ne!(hash(3), hash(4));
    let faulty = scenario_with(
        3,
        "prefetch = 2\nvisibility_timeout_ms = 100\nmax_receives = 4",
        "processing_failure_ppm = 200000",
        "",
        "[network]\nloss_ppm = 20000\nduplicate_ppm = 20000\n[[fault]]\nat_ms = 30\nkind = \"crash\"\nnode = \"c1\"\n[[fault]]\nat_ms = 200\nkind = \"restart\"\nnode = \"c1\"\n[[fault]]\nat_ms = 40\nkind = \"pause\"\nnode = \"c2\"\nduration_ms = 300\n",
    );
    let run = |seed| run_text(&faulty, "key", seed).0.history.sha256.unwrap();
    assert_eq!(run(11), run(11));
    assert_ne!(run(11), run(12));
}
