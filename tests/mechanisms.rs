//! The producer/broker mechanisms on small hand-built cases, checked against the broker's
//! actual log (docs/known-outcomes.md, the first rows of the table).
//!
//! Every case: one producer `p0` (node 0), one broker `b0` (node 1), one consumer `c0`
//! (node 2), one partition; one entity whose three events are created at t = 0, 0.1 and
//! 0.2 ms, each in its own batch (linger 0); every message takes exactly 1 ms; requests
//! time out after 10 ms and are retried 1 ms later. A scripted cut loses what we want lost.

use ordo::history::{HistoryMode, Recorder};
use ordo::model::{Actor, ModelStats};
use ordo::run::build;
use ordo::scenario::Scenario;
use ordo_sim::{Fault, Limits, NodeId};

const P0: NodeId = NodeId(0);
const B0: NodeId = NodeId(1);
const MS: u64 = 1_000_000;

fn scenario(max_in_flight: u32, idempotence: bool) -> Scenario {
    let acks = if idempotence { "\"all\"" } else { "1" };
    let text = format!(
        r#"
        [topology]
        partitions = 1
        [workload]
        entities = 1
        events_per_entity = 3
        start_window_ms = 0
        think_min_us = 100
        think_max_us = 100
        [producer]
        acks = {acks}
        idempotence = {idempotence}
        max_in_flight = {max_in_flight}
        linger_ms = 0
        batch_size = 1
        request_timeout_ms = 10
        retry_backoff_ms = 1
        [consumer]
        commit = "after"
        [network]
        latency_min_us = 1000
        latency_max_us = 1000
        "#
    );
    Scenario::parse(&text, "mechanisms", "mechanisms").expect("valid test scenario")
}

/// Runs with `cut` (from, to, start, end) and returns the partition log (event ids in
/// offset order) and the counters.
fn run(scenario: Scenario, cut: (NodeId, NodeId, u64, u64)) -> (Vec<u32>, ModelStats) {
    let mut sim = build(scenario, 1, Recorder::new(HistoryMode::Off));
    let (from, to, start, end) = cut;
    sim.schedule_fault(start, Fault::Cut { from, to });
    sim.schedule_fault(end, Fault::Heal { from, to });
    sim.run(Limits { max_time_ns: 60_000 * MS, max_events: 1_000_000 });
    let Actor::Broker(broker) = sim.node(B0) else { panic!("node 1 is the broker") };
    (broker.log(0), sim.shared.stats)
}

/// Index in the log of each event's first append.
fn appended_after_successor(log: &[u32]) -> bool {
    let mut highest = None;
    for &event in log {
        match highest {
            Some(h) if event < h => return true,
            _ => highest = Some(event.max(highest.unwrap_or(0))),
        }
    }
    false
}

#[test]
fn lost_requests_with_five_in_flight_and_no_idempotence_reorder() {
    // All three requests are lost (the first to the cut, the rest to the broken connection).
    // The first one's timeout drops the connection, failing all three; each goes back to
    // the head of the queue, oldest first, so they are resent newest first.
    let (log, stats) = run(scenario(5, false), (P0, B0, 0, MS / 20));
    assert_eq!(log, [2, 1, 0], "the retries land in reverse order");
    assert!(appended_after_successor(&log));
    assert_eq!(stats.retries, 3);
}

#[test]
fn lost_requests_with_one_in_flight_keep_order() {
    let (log, stats) = run(scenario(1, false), (P0, B0, 0, MS / 20));
    assert_eq!(log, [0, 1, 2]);
    assert_eq!(stats.retries, 1, "only the lost batch was ever in flight");
}

#[test]
fn lost_acks_without_idempotence_append_twice() {
    // The broker appends all three; their answers are lost; the retries append them again.
    let (log, stats) = run(scenario(5, false), (B0, P0, MS * 9 / 10, MS * 3 / 2));
    assert_eq!(log, [0, 1, 2, 2, 1, 0]);
    assert_eq!(stats.appended, 6);
    assert_eq!(stats.acked, 3);
}

#[test]
fn lost_ack_with_one_in_flight_duplicates_but_never_reorders() {
    let (log, _) = run(scenario(1, false), (B0, P0, MS * 9 / 10, MS * 3 / 2));
    assert_eq!(log, [0, 0, 1, 2]);
    assert!(!appended_after_successor(&log));
}

#[test]
fn idempotent_producer_deduplicates_lost_acks() {
    // The producer id arrives at 2 ms; the three batches reach the broker at 3 ms, are
    // appended, and their answers are lost. The retries repeat the same sequence numbers
    // and the broker answers them from its last-five-batches cache.
    let (log, stats) = run(scenario(5, true), (B0, P0, MS * 5 / 2, MS * 7 / 2));
    assert_eq!(log, [0, 1, 2]);
    assert_eq!(stats.dedups, 3);
    assert_eq!(stats.acked, 3);
}

#[test]
fn idempotent_producer_keeps_order_when_requests_are_lost() {
    let (log, stats) = run(scenario(5, true), (P0, B0, MS * 19 / 10, MS * 21 / 10));
    assert_eq!(log, [0, 1, 2]);
    assert_eq!(stats.retries, 3);
    assert_eq!(stats.rejects, 0);
}

/// Over many seeds of the quickstart (5 % loss both ways), the idempotent producer never
/// appends out of order or twice, while the non-idempotent one does both somewhere.
#[test]
fn across_seeds_idempotence_never_reorders_or_duplicates() {
    let base = Scenario::load(std::path::Path::new("scenarios/quickstart.toml")).unwrap();
    let mut reordered = 0;
    let mut duplicated = 0;
    for seed in 1..=40 {
        let mut idempotent = base.clone();
        ordo::strategy::StrategySet::parse("key+idempotent").unwrap().configure(&mut idempotent);
        let mut sim = build(idempotent, seed, Recorder::new(HistoryMode::Off));
        sim.run(Limits { max_time_ns: 600_000 * MS, max_events: 10_000_000 });
        let stats = sim.shared.stats;
        assert_eq!(stats.out_of_order_appends, 0, "seed {seed}");
        assert_eq!(stats.appended, stats.created, "seed {seed}: every event exactly once");

        let mut sim = build(base.clone(), seed, Recorder::new(HistoryMode::Off));
        sim.run(Limits { max_time_ns: 600_000 * MS, max_events: 10_000_000 });
        let stats = sim.shared.stats;
        reordered += u32::from(stats.out_of_order_appends > 0);
        duplicated += u32::from(stats.appended > stats.created);
    }
    assert!(reordered > 0 && duplicated > 0, "reordered in {reordered} seeds, duplicated in {duplicated}");
}

/// KIP-360: after an idempotent batch expires, the producer bumps its epoch (same PID) and
/// restarts sequences at 0; the broker accepts the new epoch, so later batches and the
/// application's resends flow again instead of failing with OutOfOrderSequence for ever.
#[test]
fn an_expired_idempotent_batch_bumps_the_epoch_and_sequences_restart() {
    let path = "scenarios/idempotent-resend-after-expiry.toml";
    let scenario = ordo::scenario::Scenario::load(std::path::Path::new(path)).unwrap();
    let result = ordo::run::run(ordo::run::RunSpec {
        scenario,
        scenario_path: std::path::Path::new(path),
        strategy: ordo::strategy::StrategySet::parse("key+idempotent").unwrap(),
        seed: 1,
        history_mode: ordo::history::HistoryMode::On,
        history_file: None,
        keep_history: true,
    })
    .unwrap();
    let text = String::from_utf8(result.history.jsonl.unwrap()).unwrap();
    let records: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let inits: Vec<&serde_json::Value> = records.iter().filter(|r| r["type"] == "producer_init").collect();
    assert!(inits.len() >= 2, "an epoch bump is recorded");
    assert_eq!(inits[0]["pid"], inits[1]["pid"], "same producer id");
    assert_eq!(inits[1]["epoch"].as_u64().unwrap(), inits[0]["epoch"].as_u64().unwrap() + 1);
    let bump_t = inits[1]["t"].as_u64().unwrap();
    // Sends after the bump carry the new epoch, and the first of each partition starts at 0.
    let mut first_seq = std::collections::BTreeMap::new();
    for send in records.iter().filter(|r| r["type"] == "send" && r["t"].as_u64().unwrap() >= bump_t) {
        assert_eq!(send["epoch"], inits[1]["epoch"]);
        first_seq.entry(send["partition"].as_u64().unwrap()).or_insert(send["seq"].as_u64().unwrap());
    }
    assert!(!first_seq.is_empty());
    assert!(first_seq.values().all(|&seq| seq == 0), "{first_seq:?}");
    // Everything the application resent was acknowledged in the end.
    assert!(result.stats.resent > 0);
    assert_eq!(result.stats.acked, result.stats.created);
}

/// The controller re-sends partition state a broker missed: a broker's heartbeat reports a
/// fingerprint of what it applied, and a stale one gets the current state again on a fresh
/// connection. With 30 % of controller messages lost around two broker restarts, every
/// run still gets its leaders back and finishes its work (before this, most hit the time
/// limit with a partition whose restarted leader never heard it leads).
#[test]
fn lost_leader_and_isr_messages_are_sent_again() {
    let text = r#"
        [topology]
        brokers = 3
        partitions = 3
        replication_factor = 3
        [workload]
        entities = 30
        events_per_entity = 4
        start_window_ms = 400
        [broker]
        min_insync_replicas = 2
        [[link]]
        from = "ctl"
        to = "brokers"
        loss_ppm = 300000
        [[fault]]
        at_ms = 50
        kind = "crash"
        node = "b0"
        [[fault]]
        at_ms = 150
        kind = "restart"
        node = "b0"
        [[fault]]
        at_ms = 300
        kind = "crash"
        node = "b1"
        [[fault]]
        at_ms = 400
        kind = "restart"
        node = "b1"
    "#;
    let scenario = Scenario::parse(text, "ctl-loss.toml", "ctl-loss").unwrap();
    for seed in 1..=20 {
        let mut sim = build(scenario.clone(), seed, Recorder::new(HistoryMode::Off));
        let outcome = sim.run(Limits { max_time_ns: 600_000 * MS, max_events: 20_000_000 });
        assert_eq!(outcome.reason, ordo_sim::StopReason::Stopped, "seed {seed}: {outcome:?}");
        assert_eq!(sim.shared.stats.acked, sim.shared.stats.created, "seed {seed}");
    }
}
