//! Property tests of the model over random valid scenarios: no panic, every event accounted
//! for, the idempotent producer's promise kept, and the same seed giving the same history.
//! About a third of the scenarios are queues (`[queue]`) instead of partitioned logs.
//!
//! Each case draws a strategy set (up to three of every registered strategy, `+`-joined
//! when they compose, so consumer policies, producer clocks, batch lanes and expected
//! versions are all under these invariants), a consumer assignment (static, eager,
//! cooperative), and a fault set: a scripted crash and restart, a consumer joining late,
//! another leaving, and `[random_faults]` rates for every drawn kind (crash, pause,
//! partition, clock step, lossy link), several at once. The invariants hold for every
//! strategy:
//! - conservation: every created event is, once the run is done, applied by the group,
//!   discarded with a reason, given up (the producer told the application), lost with its
//!   producer's crash, or gone from the logs with a fault that can lose it;
//! - no apply without a delivery of that event to the applying consumer before it;
//! - a member's delivered offsets grow within each generation (a log; until a seek, a
//!   crash or a restart of that member);
//! - kinds that are always a bug never appear (`zombie_commit`, `clock_condition`);
//! - determinism: the same seed gives the same history, compact or JSONL.

use std::collections::{BTreeMap, BTreeSet};

use ordo::history::{Header, HistoryMode, Recorder};
use ordo::model::fate;
use ordo::run::build;
use ordo::scenario::Scenario;
use ordo_sim::{Limits, StopReason};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Params {
    producers: u32,
    brokers: u32,
    consumers: u32,
    partitions: u32,
    entities: u32,
    events_per_entity: u32,
    handoff: &'static str,
    cross_ppm: u32,
    acks: &'static str,
    idempotence: bool,
    max_in_flight: u32,
    linger_ms: u64,
    batch_size: u32,
    retries: u32,
    commit: &'static str,
    loss_ppm: u32,
    duplicate_ppm: u32,
    fifo: bool,
    seed: u64,
    /// (kind 0 none / 1 producer / 2 broker / 3 consumer, crash at ms, down for ms)
    crash: (u8, u64, u64),
    resend_failed: bool,
    durable_source: bool,
    replication_factor: u32,
    /// Queue mode: (visibility timeout ms, prefetch, auto-ack, processing failure ppm,
    /// max receives); `None` for a log.
    queue: Option<(u64, u32, bool, u32, u32)>,
    /// Indices into `ordo::strategy::all()`, kept in order while they compose.
    strategies: Vec<usize>,
    assignment: &'static str,
    /// Per simulated minute: crash, pause, partition, clock step, lossy link.
    rates: [u32; 5],
    /// The last consumer joins late (with at least two); c1 leaves (with at least three).
    join: bool,
    leave: bool,
}

/// The strategy set drawn: every index in turn, kept when the set still composes.
fn strategy_set(indices: &[usize]) -> ordo::strategy::StrategySet {
    let all = ordo::strategy::all();
    let mut names: Vec<&str> = Vec::new();
    for i in indices {
        let name = all[i % all.len()].name();
        let mut with = names.clone();
        with.push(name);
        if !names.contains(&name) && ordo::strategy::StrategySet::parse(&with.join("+")).is_ok() {
            names = with;
        }
    }
    if names.is_empty() {
        names.push("key");
    }
    ordo::strategy::StrategySet::parse(&names.join("+")).expect("composes by construction")
}

fn params() -> impl Strategy<Value = Params> {
    let topology = (1..=3u32, 1..=3u32, 1..=4u32, 1..=6u32);
    let workload = (
        1..=12u32,
        1..=6u32,
        prop::sample::select(vec!["same", "rotate", "random"]),
        prop::sample::select(vec![0u32, 300_000]),
    );
    let producer = (
        any::<bool>(),
        prop::sample::select(vec!["0", "1", "\"all\""]),
        1..=5u32,
        0..=3u64,
        1..=6u32,
        prop::sample::select(vec![0u32, 3, 1000]),
    );
    let rest = (
        prop::sample::select(vec!["auto", "before", "after"]),
        0..=150_000u32,
        prop::sample::select(vec![0u32, 20_000]),
        any::<bool>(),
        any::<u64>(),
    );
    let faults = ((0..=3u8, 1..=60u64, 1..=200u64), any::<bool>(), any::<bool>(), 1..=3u32);
    let queue = prop::option::weighted(
        0.35,
        (
            prop::sample::select(vec![5u64, 50, 30_000]),
            1..=4u32,
            any::<bool>(),
            prop::sample::select(vec![0u32, 200_000, 1_000_000]),
            prop::sample::select(vec![0u32, 1, 3]),
        ),
    )
    .prop_map(|q| q.map(|(v, p, auto, fail, max)| (v, p, auto, if max == 0 { fail.min(200_000) } else { fail }, max)));
    let strategy = (
        prop::collection::vec(0..64usize, 0..=3),
        prop::sample::select(vec!["static", "eager", "cooperative"]),
        prop::array::uniform5(prop::sample::select(vec![0u32, 0, 60, 600])),
        any::<bool>(),
        any::<bool>(),
    );
    (topology, workload, producer, rest, (faults, queue, strategy)).prop_map(|(t, w, p, r, (f, queue, s))| {
        let (idempotence, acks, max_in_flight, linger_ms, batch_size, retries) = p;
        Params {
            producers: t.0,
            brokers: t.1,
            consumers: t.2,
            entities: w.0,
            events_per_entity: w.1,
            handoff: w.2,
            cross_ppm: w.3,
            acks: if idempotence { "\"all\"" } else { acks },
            idempotence,
            max_in_flight,
            linger_ms,
            batch_size,
            retries,
            commit: r.0,
            loss_ppm: r.1,
            duplicate_ppm: r.2,
            fifo: r.3,
            seed: r.4,
            crash: f.0,
            // With idempotence, resends need the KIP-360 epoch bump after an expiry.
            resend_failed: f.1,
            durable_source: f.2,
            replication_factor: if queue.is_some() { 1 } else { f.3.min(t.1) },
            partitions: if queue.is_some() { 1 } else { t.3 },
            queue,
            strategies: s.0,
            assignment: s.1,
            rates: s.2,
            join: s.3 && t.2 >= 2,
            // A graceful leave needs a group coordinator (eager or cooperative).
            leave: s.4 && t.2 >= 3 && (queue.is_some() || s.1 != "static"),
        }
    })
}

fn scenario(p: &Params) -> Scenario {
    let (kind, at_ms, down_ms) = p.crash;
    let mut faults = match kind {
        0 => String::new(),
        _ => {
            let node = ["", "p0", "b0", "c0"][kind as usize];
            format!(
                "[[fault]]\nat_ms = {at_ms}\nkind = \"crash\"\nnode = \"{node}\"\n[[fault]]\nat_ms = {}\nkind = \"restart\"\nnode = \"{node}\"\n",
                at_ms + down_ms
            )
        }
    };
    if p.join {
        faults += &format!("[[fault]]\nat_ms = 150\nkind = \"join\"\nnode = \"c{}\"\n", p.consumers - 1);
    }
    if p.leave {
        faults += "[[fault]]\nat_ms = 250\nkind = \"leave\"\nnode = \"c1\"\n";
    }
    let [crash, pause, partition, clock_step, link] = p.rates;
    let random = format!(
        "[random_faults]\nend_ms = 400\ncrash_per_min = {crash}\ndown_min_ms = 10\ndown_max_ms = 200\n\
         pause_per_min = {pause}\npause_min_ms = 5\npause_max_ms = 150\npartition_per_min = {partition}\n\
         partition_min_ms = 10\npartition_max_ms = 200\nclock_step_per_min = {clock_step}\n\
         link_per_min = {link}\nlink_min_ms = 10\nlink_max_ms = 200\n"
    );
    // A queue has no partitions to set, no offsets to commit: those lines are a log's.
    let (log_topology, commit, queue) = match p.queue {
        None => (
            format!("partitions = {}\nreplication_factor = {}", p.partitions, p.replication_factor),
            format!(
                "commit = \"{}\"\nauto_commit_interval_ms = 100\nassignment = \"{}\"\nsession_timeout_ms = 300\nheartbeat_interval_ms = 50",
                p.commit, p.assignment
            ),
            String::new(),
        ),
        Some((visibility_ms, prefetch, auto, failure_ppm, max_receives)) => (
            String::new(),
            format!("processing_failure_ppm = {failure_ppm}"),
            format!(
                "[queue]\nvisibility_timeout_ms = {visibility_ms}\nprefetch = {prefetch}\nack = \"{}\"\nmax_receives = {max_receives}",
                if auto { "auto" } else { "manual" }
            ),
        ),
    };
    let text = format!(
        r#"
        [topology]
        producers = {}
        brokers = {}
        consumers = {}
        {log_topology}
        [broker]
        session_timeout_ms = 100
        heartbeat_interval_ms = 20
        [workload]
        entities = {}
        events_per_entity = {}
        handoff = "{}"
        cross_entity_ppm = {}
        start_window_ms = 20
        resend_failed = {}
        durable_source = {}
        [producer]
        acks = {}
        idempotence = {}
        max_in_flight = {}
        linger_ms = {}
        batch_size = {}
        retries = {}
        request_timeout_ms = 30
        retry_backoff_ms = 5
        delivery_timeout_ms = 2000
        [consumer]
        {commit}
        request_timeout_ms = 30
        [network]
        loss_ppm = {}
        duplicate_ppm = {}
        fifo = {}
        [run]
        max_time_ms = {LIMIT_MS}
        {queue}
        {random}
        {faults}
        "#,
        p.producers,
        p.brokers,
        p.consumers,
        p.entities,
        p.events_per_entity,
        p.handoff,
        p.cross_ppm,
        p.resend_failed,
        p.durable_source,
        p.acks,
        p.idempotence,
        p.max_in_flight,
        p.linger_ms,
        p.batch_size,
        p.retries,
        p.loss_ppm,
        p.duplicate_ppm,
        p.fifo,
    );
    let mut scenario = Scenario::parse(&text, "generated.toml", "generated").expect("generated scenarios are valid");
    // As `ordo run` does: the strategies rewrite the configuration, then the random faults
    // are drawn from the seed and merged with the scripted ones.
    let set = strategy_set(&p.strategies);
    set.configure(&mut scenario);
    scenario.strategy = set.name();
    ordo::scenario::random::resolve(&mut scenario, p.seed);
    scenario
}

/// What the history says happened, for the invariants.
#[derive(Default)]
struct Seen {
    applied: BTreeSet<u64>,
    discarded: BTreeSet<u64>,
    given_up: BTreeSet<u64>,
    /// Nodes with a `crash` record, and whether any `pause`, `net_partition` or link
    /// change happened.
    crashed: BTreeSet<String>,
    disruptions: bool,
    /// Broken invariants, with the line that breaks them.
    broken: Vec<String>,
    /// Deliveries at or below the member's last offset in the same generation.
    offsets_back: Vec<String>,
}

fn read_history(jsonl: &[u8]) -> Seen {
    let mut seen = Seen::default();
    let mut batches: BTreeMap<(String, u64), Vec<u64>> = BTreeMap::new();
    // (node, id) delivered; (node, topic, partition, generation) → last offset delivered.
    let mut delivered: BTreeSet<(String, u64)> = BTreeSet::new();
    let mut position: BTreeMap<(String, String, u64, u64), u64> = BTreeMap::new();
    for (n, line) in jsonl.split(|b| *b == b'\n').filter(|l| !l.is_empty()).enumerate() {
        let r: serde_json::Value = serde_json::from_slice(line).expect("ordo writes JSON lines");
        let node = r["node"].as_str().unwrap_or_default().to_string();
        let id = r["id"].as_u64();
        match r["type"].as_str().unwrap_or_default() {
            "deliver" => {
                delivered.insert((node.clone(), id.expect("deliver has an id")));
                if r.get("receive").is_none() {
                    let key = (
                        node,
                        r["topic"].as_str().unwrap_or_default().to_string(),
                        r["partition"].as_u64().unwrap_or(0),
                        r["generation"].as_u64().unwrap_or(0),
                    );
                    let offset = r["offset"].as_u64().expect("a log delivery has an offset");
                    if let Some(last) = position.insert(key, offset) {
                        if offset <= last {
                            seen.offsets_back.push(format!("line {}: offset {offset} delivered after {last}", n + 1));
                        }
                    }
                }
            }
            "apply" => {
                let id = id.expect("apply has an id");
                if !delivered.contains(&(node.clone(), id)) {
                    seen.broken.push(format!("line {}: {node} applied {id} never delivered to it", n + 1));
                }
                seen.applied.insert(id);
            }
            "discard" => {
                seen.discarded.insert(id.expect("discard has an id"));
                if !r["reason"].as_str().is_some_and(|reason| !reason.is_empty()) {
                    seen.broken.push(format!("line {}: a discard without a reason", n + 1));
                }
            }
            "send" => {
                let events = r["events"].as_array().expect("send lists its events");
                batches
                    .entry((node, r["batch"].as_u64().expect("send has a batch")))
                    .or_insert_with(|| events.iter().filter_map(|e| e.as_u64()).collect());
            }
            "fail" if r["retry"] == false => {
                if let Some(events) = batches.get(&(node, r["batch"].as_u64().expect("fail has a batch"))) {
                    seen.given_up.extend(events.iter().copied());
                }
            }
            kind @ ("crash" | "restart" | "seek") => {
                if kind == "crash" {
                    seen.crashed.insert(node.clone());
                }
                // The member's position starts over.
                position.retain(|(member, ..), _| *member != node);
            }
            "pause" | "net_partition" | "link" | "clock_step" => seen.disruptions = true,
            _ => {}
        }
    }
    seen
}

/// The simulated time a case may run (the scenario's `run.max_time_ms`). Runs that finish
/// do so within seconds; a run a strategy stalls (a vector clock waiting for a lost event)
/// goes on to the limit, and some stalls cost more per event the longer they last (a
/// vector-clock consumer on a queue whose leases keep running out), so the limit is kept
/// short for the file to run in well under a minute.
const LIMIT_MS: u64 = 20_000;

fn header(scenario: &Scenario) -> Header {
    Header {
        scenario: scenario.name.clone(),
        strategy: scenario.strategy.clone(),
        seed: 0,
        expect: ordo::scenario::GUARANTEES.to_vec(),
        partitions: scenario.topology.partitions,
        queue: scenario.queue.is_some(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_scenarios_account_for_every_event(p in params()) {
        let scenario = scenario(&p);
        // What the strategies made of the drawn configuration.
        let idempotence = scenario.producer.idempotence;
        let acks_zero = matches!(scenario.producer.acks, ordo::scenario::Acks::None);
        let durable_source = scenario.workload.durable_source;
        let resend_failed = scenario.workload.resend_failed;
        let commit_before = matches!(scenario.consumer.commit, ordo::scenario::CommitMode::Before);
        let faulty = !scenario.faults.is_empty();
        let total = u64::from(p.entities) * u64::from(p.events_per_entity);
        let mut recorder = Recorder::new(HistoryMode::On);
        recorder.keep_in_memory();
        let mut sim = build(scenario.clone(), p.seed, recorder);
        let world = &mut sim.shared;
        world.recorder.write_header(&header(&scenario), &world.catalog);
        let outcome = sim.run(Limits { max_time_ns: LIMIT_MS * 1_000_000, max_events: 1_000_000 });
        let world = &mut sim.shared;
        let history = world.recorder.finish(&mut world.catalog).expect("in-memory history");
        prop_assert!(history.records > 0);
        // Small scenarios never need millions of events: hitting the limit is a livelock.
        prop_assert_ne!(outcome.reason, StopReason::EventLimit);
        let jsonl = history.jsonl.as_ref().expect("kept in memory");
        let seen = read_history(jsonl);
        prop_assert!(seen.broken.is_empty(), "{} ({})", seen.broken.join("; "), scenario.strategy);
        // A member's offsets grow within a generation, also when the network duplicates
        // messages (a second copy of a fetch answer is ignored, as a client ignores a
        // response it has no request in flight for).
        prop_assert!(seen.offsets_back.is_empty(), "{} ({})", seen.offsets_back.join("; "), scenario.strategy);
        let producer_crashed = seen.crashed.iter().any(|n| n.starts_with('p'));
        let consumer_crashed = seen.crashed.iter().any(|n| n.starts_with('c'));
        let broker_crashed = seen.crashed.iter().any(|n| n.starts_with('b'));

        // Every event the workload planned was created (handoffs are reliable), unless a
        // producer crash cut its entity's chain short…
        if producer_crashed {
            prop_assert!(world.stats.created <= total);
        } else {
            prop_assert_eq!(world.stats.created, total);
            prop_assert_eq!(world.stats.chains_cut, 0);
        }
        let finished = outcome.reason == StopReason::Stopped;
        // For each event, the most copies any one replica's log holds; and the events in
        // the logs of the current leaders (what consumers can read).
        let mut copies_in_logs: BTreeMap<u32, u32> = BTreeMap::new();
        let mut in_leader_logs: BTreeSet<u32> = BTreeSet::new();
        for node in sim.nodes() {
            if let ordo::model::Actor::Broker(broker) = node {
                for partition in 0..p.partitions {
                    if broker.leads(partition) {
                        in_leader_logs.extend(broker.log(partition));
                    }
                    let mut here: BTreeMap<u32, u32> = BTreeMap::new();
                    for event in broker.log(partition) {
                        *here.entry(event).or_default() += 1;
                    }
                    for (event, count) in here {
                        let most = copies_in_logs.entry(event).or_default();
                        *most = (*most).max(count);
                    }
                }
            }
        }
        let world = &sim.shared;
        // A group may legitimately never process a record in the log: commit before
        // processing with a consumer gone or moved; on a queue, dead-lettering, or auto-ack
        // with a consumer failing, dying or cut off.
        let group_may_skip = match p.queue {
            None => commit_before && (consumer_crashed || faulty),
            Some((_, _, auto, failure_ppm, _)) => auto && (consumer_crashed || failure_ppm > 0 || p.loss_ppm > 0 || faulty),
        };
        for event in 0..world.stats.created as usize {
            let (appended, fate_bits) = (world.appended[event], world.fate[event]);
            let id = event as u64;
            // …and each one is resolved: acknowledged, given up, or lost with its producer
            // (the history's crash record says so); exactly one of them.
            // (A queue may also have dead-lettered a copy of it.)
            let dead_lettered = fate_bits & fate::DEAD_LETTERED != 0;
            prop_assert!(!dead_lettered || p.queue.is_some_and(|q| q.4 > 0));
            let fate_bits = fate_bits & !fate::DEAD_LETTERED;
            let resolved = [fate::ACKED, fate::GIVEN_UP, fate::LOST_IN_CRASH].contains(&fate_bits);
            prop_assert!(resolved || !finished, "event {} fate {}", event, fate_bits);
            if fate_bits == fate::LOST_IN_CRASH {
                prop_assert!(producer_crashed && !durable_source);
            }
            // The history agrees with the model's fate: a given-up event's batch has a
            // `fail` with `retry:false`.
            if fate_bits == fate::GIVEN_UP {
                prop_assert!(seen.given_up.contains(&id), "event {} given up without a fail record", event);
            }
            // An acknowledged event was appended, unless acks = 0 (fire and forget).
            if fate_bits == fate::ACKED && !acks_zero {
                prop_assert!(appended > 0, "acknowledged event {} was never appended", event);
            }
            // The idempotent producer never leaves a record twice in a log within a session,
            // even when datagram links duplicate or reorder its requests, or the leader fails
            // over (a copy appended by a leader that died unreplicated is truncated away, so
            // the final logs are what counts). Application resends and restarts start new
            // records or new sessions: duplicates are allowed there.
            if idempotence && !resend_failed && !(producer_crashed && durable_source) {
                let copies = copies_in_logs.get(&(event as u32)).copied().unwrap_or(0);
                prop_assert!(copies <= 1, "event {} is {} times in one log ({})", event, copies, scenario.strategy);
            }
            // Conservation: once the run is done, every event in the current leaders' logs
            // was applied by the group or discarded with a reason, unless the group may
            // skip records (above). (An append that died with an unreplicated leader, or
            // that a follower truncated, is not in them: with acks 0 or 1 that is a loss
            // the checker reports.)
            let processed = seen.applied.contains(&id) || seen.discarded.contains(&id);
            prop_assert_eq!(processed, world.applied[event] > 0 || seen.discarded.contains(&id));
            if finished && in_leader_logs.contains(&(event as u32)) && !group_may_skip && !dead_lettered {
                prop_assert!(processed, "appended event {} neither applied nor discarded ({})", event, scenario.strategy);
            }
            // And every event is accounted for: processed, given up, lost with its producer,
            // or gone from the logs with a fault or setting that can lose it.
            let may_vanish = producer_crashed || broker_crashed || acks_zero || group_may_skip || faulty;
            if finished && !may_vanish {
                prop_assert!(
                    processed || seen.given_up.contains(&id) || dead_lettered,
                    "event {} vanished ({})", event, scenario.strategy
                );
            }
        }
        // A finished run holds nothing back in a strategy's buffer.
        if finished {
            prop_assert_eq!(world.stats.held_at_end, 0, "{}", scenario.strategy);
        }
        // A finished queue run settled every message (acknowledged or dead-lettered), and none
        // was received more often than `max_receives` allows.
        if let Some((_, _, _, _, max_receives)) = p.queue {
            let Some(ordo::model::Actor::Broker(host)) = sim.nodes().iter().find(|n| matches!(n, ordo::model::Actor::Broker(_))) else {
                unreachable!("b0 exists")
            };
            let messages = host.queue_messages().expect("b0 hosts the queue");
            prop_assert_eq!(messages.len() as u64, host.log(0).len() as u64);
            for (event, receives, in_queue) in messages {
                prop_assert!(!(finished && in_queue), "event {} still queued in a finished run", event);
                prop_assert!(max_receives == 0 || receives <= max_receives, "event {} received {} times", event, receives);
            }
        }
        // One producer session per entity and the idempotent producer: log order is creation order.
        if idempotence && p.handoff == "same" && p.fifo && !resend_failed && !producer_crashed && !durable_source
            && scenario.faults.is_empty()
        {
            prop_assert_eq!(world.stats.out_of_order_appends, 0);
        }

        // The same seed gives the same history; recorded compactly, it is the same
        // history (the same JSONL written out) and the checker finds the same in it.
        let mut sim = build(scenario.clone(), p.seed, Recorder::new(HistoryMode::Compact));
        let world = &mut sim.shared;
        world.recorder.write_header(&header(&scenario), &world.catalog);
        sim.run(Limits { max_time_ns: LIMIT_MS * 1_000_000, max_events: 1_000_000 });
        let world = &mut sim.shared;
        let second = world.recorder.finish(&mut world.catalog).expect("in-memory history");
        let compact = second.compact.expect("compact mode keeps the history");
        let mut written = Vec::new();
        compact.write_jsonl(&mut written).expect("written to memory");
        prop_assert!(&written == jsonl, "the compact history writes other bytes");
        let from_text = ordo::checker::check_reader(jsonl.as_slice(), "h", None).expect("ordo's history checks");
        let from_fields = compact.check("h", None).expect("ordo's history checks");
        prop_assert_eq!(from_text.to_json(), from_fields.to_json());
        // Kinds that are always a bug never show up, whatever the strategy and faults.
        let found = from_text.all_counts();
        for kind in ["zombie_commit", "clock_condition"] {
            prop_assert!(!found.contains_key(kind), "{} in a model run ({})", kind, scenario.strategy);
        }
    }
}
