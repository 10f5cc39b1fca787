//! Property tests of the model over random valid scenarios: no panic, every event accounted
//! for, the idempotent producer's promise kept, and the same seed giving the same history.

use ordo::history::{HistoryMode, Recorder};
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
    (topology, workload, producer, rest).prop_map(|(t, w, p, r)| {
        let (idempotence, acks, max_in_flight, linger_ms, batch_size, retries) = p;
        Params {
            producers: t.0,
            brokers: t.1,
            consumers: t.2,
            partitions: t.3,
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
        }
    })
}

fn scenario(p: &Params) -> Scenario {
    let text = format!(
        r#"
        [topology]
        producers = {}
        brokers = {}
        consumers = {}
        partitions = {}
        [workload]
        entities = {}
        events_per_entity = {}
        handoff = "{}"
        cross_entity_ppm = {}
        start_window_ms = 20
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
        commit = "{}"
        auto_commit_interval_ms = 100
        request_timeout_ms = 30
        [network]
        loss_ppm = {}
        duplicate_ppm = {}
        fifo = {}
        [run]
        max_time_ms = 120000
        "#,
        p.producers,
        p.brokers,
        p.consumers,
        p.partitions,
        p.entities,
        p.events_per_entity,
        p.handoff,
        p.cross_ppm,
        p.acks,
        p.idempotence,
        p.max_in_flight,
        p.linger_ms,
        p.batch_size,
        p.retries,
        p.commit,
        p.loss_ppm,
        p.duplicate_ppm,
        p.fifo
    );
    Scenario::parse(&text, "generated.toml", "generated").expect("generated scenarios are valid")
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
        let outcome = sim.run(Limits { max_time_ns: 120_000 * 1_000_000, max_events: 5_000_000 });
        let world = &mut sim.shared;
        let history = world.recorder.finish(&world.catalog).expect("in-memory history");
        prop_assert!(history.records > 0);

        // Every event the workload planned was created (handoffs are reliable)…
        prop_assert_eq!(world.stats.created, total);
        for event in 0..total as usize {
            let (appended, fate_bits) = (world.appended[event], world.fate[event]);
            // …and each one is resolved: acknowledged or given up, never both, never neither.
            prop_assert!(fate_bits == fate::ACKED || fate_bits == fate::GIVEN_UP, "event {} fate {}", event, fate_bits);
            // An acknowledged event was appended, unless acks = 0 (fire and forget).
            if fate_bits == fate::ACKED && p.acks != "0" {
                prop_assert!(appended > 0, "acknowledged event {} was never appended", event);
            }
            // The idempotent producer never appends a record twice within a session, even
            // when datagram links duplicate or reorder its requests.
            if p.idempotence {
                prop_assert!(appended <= 1, "event {} appended {} times", event, appended);
            }
            // Once the run finished, the group applied every appended event.
            if outcome.reason == StopReason::Stopped && appended > 0 {
                prop_assert!(world.applied[event] > 0, "appended event {} never applied", event);
            }
        }
        // One producer session per entity and the idempotent producer: log order is creation order.
        if p.idempotence && p.handoff == "same" && p.fifo {
            prop_assert_eq!(world.stats.out_of_order_appends, 0);
        }

        // The same seed gives the same history.
        let mut again = Recorder::new(HistoryMode::On);
        again.keep_in_memory();
        let mut sim = build(scenario, p.seed, again);
        sim.run(Limits { max_time_ns: 120_000 * 1_000_000, max_events: 5_000_000 });
        let world = &mut sim.shared;
        let second = world.recorder.finish(&world.catalog).expect("in-memory history");
        prop_assert_eq!(history.sha256, second.sha256);
    }
}
