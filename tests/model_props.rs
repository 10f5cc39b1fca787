//! Property tests of the model over random valid scenarios: no panic, every event accounted
//! for, the idempotent producer's promise kept, and the same seed giving the same history.
//! About a third of the scenarios are queues (`[queue]`) instead of partitioned logs.

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
    (topology, workload, producer, rest, (faults, queue)).prop_map(|(t, w, p, r, (f, queue))| {
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
        }
    })
}

fn scenario(p: &Params) -> Scenario {
    let (kind, at_ms, down_ms) = p.crash;
    let faults = match kind {
        0 => String::new(),
        _ => {
            let node = ["", "p0", "b0", "c0"][kind as usize];
            format!(
                "[[fault]]\nat_ms = {at_ms}\nkind = \"crash\"\nnode = \"{node}\"\n[[fault]]\nat_ms = {}\nkind = \"restart\"\nnode = \"{node}\"\n",
                at_ms + down_ms
            )
        }
    };
    // A queue has no partitions to set, no offsets to commit: those lines are a log's.
    let (log_topology, commit, queue) = match p.queue {
        None => (
            format!("partitions = {}\nreplication_factor = {}", p.partitions, p.replication_factor),
            format!("commit = \"{}\"\nauto_commit_interval_ms = 100", p.commit),
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
        max_time_ms = 120000
        {queue}
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
    Scenario::parse(&text, "generated.toml", "generated").expect("generated scenarios are valid")
}

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
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_scenarios_account_for_every_event(p in params()) {
        let scenario = scenario(&p);
        let total = u64::from(p.entities) * u64::from(p.events_per_entity);
        let mut recorder = Recorder::new(HistoryMode::On);
        recorder.keep_in_memory();
        let mut sim = build(scenario.clone(), p.seed, recorder);
        let world = &mut sim.shared;
        world.recorder.write_header(&header(&scenario), &world.catalog);
        let outcome = sim.run(Limits { max_time_ns: 120_000 * 1_000_000, max_events: 5_000_000 });
        let world = &mut sim.shared;
        let history = world.recorder.finish(&mut world.catalog).expect("in-memory history");
        prop_assert!(history.records > 0);
        // Small scenarios never need millions of events: hitting the limit is a livelock.
        prop_assert_ne!(outcome.reason, StopReason::EventLimit);

        // Every event the workload planned was created (handoffs are reliable), unless a
        // producer crash cut its entity's chain short…
        let producer_crashed = p.crash.0 == 1;
        if producer_crashed {
            prop_assert!(world.stats.created <= total);
        } else {
            prop_assert_eq!(world.stats.created, total);
            prop_assert_eq!(world.stats.chains_cut, 0);
        }
        let finished = outcome.reason == StopReason::Stopped;
        // For each event, the most copies any one replica's log holds; and the events in
        // the logs of the current leaders (what consumers can read).
        let mut copies_in_logs: std::collections::BTreeMap<u32, u32> = std::collections::BTreeMap::new();
        let mut in_leader_logs: std::collections::BTreeSet<u32> = std::collections::BTreeSet::new();
        for node in sim.nodes() {
            if let ordo::model::Actor::Broker(broker) = node {
                for partition in 0..p.partitions {
                    if broker.leads(partition) {
                        in_leader_logs.extend(broker.log(partition));
                    }
                    let mut here: std::collections::BTreeMap<u32, u32> = std::collections::BTreeMap::new();
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
        for event in 0..world.stats.created as usize {
            let (appended, fate_bits) = (world.appended[event], world.fate[event]);
            // …and each one is resolved: acknowledged, given up, or lost with its producer
            // (the history's crash record says so); exactly one of them.
            // (A queue may also have dead-lettered a copy of it.)
            let dead_lettered = fate_bits & fate::DEAD_LETTERED != 0;
            prop_assert!(!dead_lettered || p.queue.is_some_and(|q| q.4 > 0));
            let fate_bits = fate_bits & !fate::DEAD_LETTERED;
            let resolved = [fate::ACKED, fate::GIVEN_UP, fate::LOST_IN_CRASH].contains(&fate_bits);
            prop_assert!(resolved || !finished, "event {} fate {}", event, fate_bits);
            if fate_bits == fate::LOST_IN_CRASH {
                prop_assert!(producer_crashed && !p.durable_source);
            }
            // An acknowledged event was appended, unless acks = 0 (fire and forget).
            if fate_bits == fate::ACKED && p.acks != "0" {
                prop_assert!(appended > 0, "acknowledged event {} was never appended", event);
            }
            // The idempotent producer never leaves a record twice in a log within a session,
            // even when datagram links duplicate or reorder its requests, or the leader fails
            // over (a copy appended by a leader that died unreplicated is truncated away, so
            // the final logs are what counts). Application resends and restarts start new
            // records or new sessions: duplicates are allowed there.
            if p.idempotence && !p.resend_failed && !(producer_crashed && p.durable_source) {
                let copies = copies_in_logs.get(&(event as u32)).copied().unwrap_or(0);
                prop_assert!(copies <= 1, "event {} is {} times in one log", event, copies);
            }
            // Once the run finished, the group applied every event in the current leaders'
            // logs, unless a consumer crash with commit-before-processing skipped it. (An
            // append that died with an unreplicated leader, or that a follower truncated,
            // is not in them: with acks 0 or 1 that is a loss the checker reports.)
            let may_skip = match p.queue {
                None => p.crash.0 == 3 && p.commit == "before",
                // A queue drops a message only by dead-lettering it (the history's discard
                // says so) or, with auto-ack, when the consumer holding it fails or dies or
                // the delivery is lost on the way.
                Some((_, _, auto, failure_ppm, _)) => {
                    dead_lettered || (auto && (p.crash.0 == 3 || failure_ppm > 0 || p.loss_ppm > 0))
                }
            };
            if finished && in_leader_logs.contains(&(event as u32)) && !may_skip {
                prop_assert!(world.applied[event] > 0, "appended event {} never applied", event);
            }
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
        if p.idempotence && p.handoff == "same" && p.fifo && !p.resend_failed && p.crash.0 != 1 {
            prop_assert_eq!(world.stats.out_of_order_appends, 0);
        }

        // The same seed gives the same history; recorded compactly, it is the same
        // history (the same JSONL written out) and the checker finds the same in it.
        let mut sim = build(scenario.clone(), p.seed, Recorder::new(HistoryMode::Compact));
        let world = &mut sim.shared;
        world.recorder.write_header(&header(&scenario), &world.catalog);
        sim.run(Limits { max_time_ns: 120_000 * 1_000_000, max_events: 5_000_000 });
        let world = &mut sim.shared;
        let second = world.recorder.finish(&mut world.catalog).expect("in-memory history");
        let compact = second.compact.expect("compact mode keeps the history");
        let mut written = Vec::new();
        compact.write_jsonl(&mut written).expect("written to memory");
        let jsonl = history.jsonl.expect("kept in memory");
        prop_assert!(written == jsonl, "the compact history writes other bytes");
        let from_text = ordo::checker::check_reader(jsonl.as_slice(), "h", None).expect("ordo's history checks");
        let from_fields = compact.check("h", None).expect("ordo's history checks");
        prop_assert_eq!(from_text.to_json(), from_fields.to_json());
    }
}
