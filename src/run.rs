//! One run: scenario + strategy + seed → simulation → history → summary.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ordo_sim::clock::Clock;
use ordo_sim::net::{Latency, LinkSpec};
use ordo_sim::rng::Ratio;
use ordo_sim::{Fault, Limits, NodeId, Outcome, Sim};

use crate::checker::{CheckError, Report};
use crate::history::{Catalog, CompactHistory, Finished, Header, HistoryMode, Rec, Recorder, NONE_U32};
use crate::model::{workload, Actor, Broker, Consumer, EntityState, Layout, ModelStats, Producer, World};
use crate::scenario::{node_names, FaultKind, NetworkConfig, Scenario};
use crate::strategy::StrategySet;

/// What to run.
pub struct RunSpec<'a> {
    pub scenario: Scenario,
    /// Where the scenario came from, for the reproduce command.
    pub scenario_path: &'a Path,
    pub strategy: StrategySet,
    pub seed: u64,
    pub history_mode: HistoryMode,
    pub history_file: Option<PathBuf>,
    /// Keep the JSONL in memory (the checker reads it after the run).
    pub keep_history: bool,
}

/// What a run did.
pub struct RunResult {
    pub scenario: String,
    pub strategy: String,
    pub seed: u64,
    pub outcome: Outcome,
    pub stats: ModelStats,
    pub wall_ns: u64,
    pub history: Finished,
    pub reproduce: String,
    pub expect: Vec<String>,
    /// The faults `[random_faults]` drew for this seed (already part of the run).
    pub random_faults: Option<crate::scenario::Drawn>,
    /// When the first event was created (the start of the throughput span).
    pub first_create_ns: u64,
    /// When the run stopped as a livelock: which node spun on what, in words.
    pub livelock: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot write the history to {path}: {reason}")]
    History { path: String, reason: std::io::Error },
}

fn link_spec(config: &NetworkConfig) -> LinkSpec {
    LinkSpec {
        latency: Latency::Uniform { min_ns: config.latency_min_us * 1_000, max_ns: config.latency_max_us * 1_000 },
        loss: Ratio::per_million(config.loss_ppm).expect("validated ppm"),
        duplicate: Ratio::per_million(config.duplicate_ppm).expect("validated ppm"),
        fifo: config.fifo,
    }
}

/// The node ids a link selector (`p0`, `producers`, `*`, …) names.
fn select(selector: &str, names: &[String], layout: &Layout) -> Vec<NodeId> {
    let range = |start: u32, count: u32| (start..start + count).map(NodeId).collect();
    match selector {
        "*" => range(0, layout.nodes()),
        "producers" => range(0, layout.producers),
        "brokers" => range(layout.broker(0).0, layout.brokers),
        "consumers" => range(layout.consumer(0).0, layout.consumers),
        name => names.iter().position(|n| n == name).map(|i| NodeId(i as u32)).into_iter().collect(),
    }
}

/// Builds the simulation for a scenario (already configured by its strategy). Faults drawn
/// by its `[random_faults]` are merged into the scripted ones first (a no-op when [`run`]
/// already did).
pub fn build(mut scenario: Scenario, seed: u64, recorder: Recorder) -> Sim<Actor> {
    crate::scenario::random::resolve(&mut scenario, seed);
    let topology = &scenario.topology;
    let layout = Layout {
        producers: topology.producers,
        brokers: topology.brokers,
        consumers: topology.consumers,
        partitions: topology.partitions,
        replication_factor: topology.replication_factor,
    };
    let names = node_names(topology);
    let starts = workload::plan_starts(&scenario, seed);
    let mut holders = vec![0u32; scenario.workload.entities as usize];
    for (producer, list) in starts.iter().enumerate() {
        for &(_, entity) in list {
            holders[entity as usize] = producer as u32;
        }
    }
    let mut nodes: Vec<(String, Actor)> = Vec::with_capacity(names.len());
    for (index, starts) in starts.into_iter().enumerate() {
        let producer = Producer::new(index as u32, starts, layout.partitions, layout.brokers);
        nodes.push((names[index].clone(), Actor::Producer(Box::new(producer))));
    }
    for index in 0..layout.brokers {
        let node = layout.broker(index);
        let broker = Broker::new(index, node, &layout);
        nodes.push((names[node.index()].clone(), Actor::Broker(Box::new(broker))));
    }
    for index in 0..layout.consumers {
        let node = layout.consumer(index);
        nodes.push((names[node.index()].clone(), Actor::Consumer(Box::new(Consumer::new(index, node)))));
    }
    let controller = crate::model::controller::Controller::new(&layout, scenario.queue.is_none());
    nodes.push((names[layout.controller().index()].clone(), Actor::Controller(Box::new(controller))));

    let partitions = layout.partitions as usize;
    let total_events = u64::from(scenario.workload.entities) * u64::from(scenario.workload.events_per_entity);
    // Per-event tables grow with the events the run creates (which `run.max_events` bounds),
    // never reserved for all the scenario could create: a large planned workload cut short
    // by a limit costs only what it did.
    let reserve = total_events.min(1 << 16) as usize;
    let catalog = Catalog {
        node_names: names.clone(),
        topic: topology.topic.clone(),
        group: topology.group.clone(),
        entity_prefix: scenario.workload.entity_prefix.clone(),
        kinds: scenario.workload.kinds.iter().chain(&scenario.workload.compensations).cloned().collect(),
        meta_seq: scenario.plugins.metadata().seq,
        meta_ts: scenario.plugins.metadata().ts,
        clock: scenario.producer.clock,
        vc_width: layout.producers,
        operation: scenario.workload.operation,
        ..Catalog::default()
    };
    let default_link = link_spec(&scenario.network);
    let links = scenario.links.clone();
    let clocks = scenario.clocks.clone();
    let faults = scenario.faults.clone();
    let world = World {
        layout,
        catalog,
        recorder,
        stats: ModelStats::default(),
        entities: holders
            .into_iter()
            .map(|holder| EntityState {
                last_event: NONE_U32,
                max_step_appended: NONE_U32,
                status: u16::MAX,
                last_applied: NONE_U32,
                applies: 0,
                holder,
            })
            .collect(),
        created_ns: Vec::with_capacity(reserve),
        delivered: Vec::with_capacity(reserve),
        applied: Vec::with_capacity(reserve),
        apply_order: Vec::new(),
        appended: Vec::with_capacity(reserve),
        fate: Vec::with_capacity(reserve),
        log_end: vec![0; partitions],
        committed: vec![0; partitions],
        processed: vec![0; partitions],
        fetcher: vec![u32::MAX; partitions],
        unfetched_since: vec![u64::MAX; partitions],
        last_fetcher: vec![u32::MAX; partitions],
        unfetched_total: vec![0; partitions],
        in_hand: 0,
        revoked_at: vec![u64::MAX; partitions],
        revoked_by: vec![u32::MAX; partitions],
        created_clock: Vec::with_capacity(reserve),
        created_by: Vec::with_capacity(reserve),
        latencies: Vec::with_capacity(reserve),
        stores: crate::model::hooks::Stores::default(),
        seed,
        unresolved: total_events,
        queue_open: 0,
        queue_in_hand: 0,
        queue_transit: std::collections::BTreeMap::new(),
        resumes: Vec::new(),
        scenario,
    };
    let mut sim = Sim::new(seed, world, nodes, default_link);
    // The application's own handoff messages between producer processes are reliable
    // (an RPC with retries); only Kafka traffic sees the scenario's faults.
    let reliable = LinkSpec { loss: Ratio::ZERO, duplicate: Ratio::ZERO, fifo: true, ..default_link };
    for from in 0..layout.producers {
        for to in 0..layout.producers {
            sim.network_mut().set_link(NodeId(from), NodeId(to), reliable);
        }
    }
    // Links between two producers stay reliable whatever `[[link]]` and `[[fault]]` select
    // (`*` included): a lost handoff would end a chain silently, a duplicated one would
    // create a step twice.
    let application = |from: NodeId, to: NodeId| from.0 < layout.producers && to.0 < layout.producers;
    for link in &links {
        let spec = link_spec(&link.network);
        for from in select(&link.from, &names, &layout) {
            for to in select(&link.to, &names, &layout) {
                if application(from, to) {
                    continue;
                }
                sim.network_mut().set_link(from, to, spec);
                if link.both {
                    sim.network_mut().set_link(to, from, spec);
                }
            }
        }
    }
    for clock in &clocks {
        if let Some(index) = names.iter().position(|n| *n == clock.node) {
            let model = Clock { offset_ns: clock.offset_ms * 1_000_000, drift_ppm: clock.drift_ppm };
            sim.set_clock(NodeId(index as u32), model);
        }
    }
    let id = |name: &str| NodeId(names.iter().position(|n| n == name).expect("validated node name") as u32);
    for fault in faults {
        let at_ns = fault.at_ms * 1_000_000;
        match fault.kind {
            FaultKind::Crash { node } => sim.schedule_fault(at_ns, Fault::Crash(id(&node))),
            FaultKind::Restart { node } => sim.schedule_fault(at_ns, Fault::Restart(id(&node))),
            FaultKind::Join { node } => {
                sim.start_later(id(&node));
                sim.schedule_fault(at_ns, Fault::Restart(id(&node)));
            }
            FaultKind::Leave { node } => {
                sim.schedule_fault(at_ns, Fault::Control { node: id(&node), tag: crate::model::control::LEAVE })
            }
            FaultKind::Pause { node, duration_ms } => {
                sim.schedule_fault(at_ns, Fault::Pause { node: id(&node), duration_ns: duration_ms * 1_000_000 })
            }
            FaultKind::ClockStep { node, delta_ms } => {
                sim.schedule_fault(at_ns, Fault::ClockStep { node: id(&node), delta_ns: delta_ms * 1_000_000 })
            }
            FaultKind::Links { pairs, cut } => {
                for (from, to) in pairs {
                    let (from, to) = (id(&from), id(&to));
                    if !application(from, to) {
                        sim.schedule_fault(at_ns, if cut { Fault::Cut { from, to } } else { Fault::Heal { from, to } });
                    }
                }
            }
            FaultKind::Network { pairs, network } => {
                for (from, to) in pairs {
                    let (from, to) = (id(&from), id(&to));
                    if !application(from, to) {
                        sim.schedule_fault(at_ns, Fault::SetLink { from, to, spec: link_spec(&network) });
                    }
                }
            }
        }
    }
    sim
}

/// The command that reproduces a run exactly.
pub fn reproduce_command(path: &Path, seed: u64, strategy: &str, overrides: &[String]) -> String {
    let mut command = format!("ordo run {} --seed {seed} --strategy {strategy}", path.display());
    for assignment in overrides {
        command.push_str(" --set ");
        // Quoted for a POSIX shell when it holds anything beyond plain word characters.
        if assignment.chars().all(|c| c.is_ascii_alphanumeric() || "._=-+,:/".contains(c)) {
            command.push_str(assignment);
        } else {
            command.push('\'');
            command.push_str(&assignment.replace('\'', "'\\''"));
            command.push('\'');
        }
    }
    command
}

/// Runs one scenario with one strategy and seed.
pub fn run(spec: RunSpec<'_>) -> Result<RunResult, RunError> {
    // Wall time measures the run for the summary; it never enters the simulated world.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let mut scenario = spec.scenario;
    let overrides = std::mem::take(&mut scenario.overrides);
    spec.strategy.configure(&mut scenario);
    let random_faults = crate::scenario::random::resolve(&mut scenario, spec.seed);
    let strategy = spec.strategy.name();
    let mut recorder = Recorder::new(spec.history_mode);
    if let Some(path) = &spec.history_file {
        let file = std::fs::File::create(path)
            .map_err(|reason| RunError::History { path: path.display().to_string(), reason })?;
        recorder.to_file(Box::new(file)); // chunks are ~1 MB: no BufWriter needed
    }
    if spec.keep_history {
        recorder.keep_in_memory();
    }
    let expect = scenario.expect.clone();
    let header = Header {
        scenario: scenario.name.clone(),
        strategy: strategy.clone(),
        seed: spec.seed,
        expect: crate::scenario::GUARANTEES.iter().copied().filter(|g| expect.iter().any(|e| e == g)).collect(),
        partitions: scenario.topology.partitions,
        queue: scenario.queue.is_some(),
    };
    let limits = Limits { max_time_ns: scenario.run.max_time_ms * 1_000_000, max_events: scenario.run.max_events };
    let scenario_name = scenario.name.clone();
    let mut sim = build(scenario, spec.seed, recorder);
    {
        let world = &mut sim.shared;
        world.recorder.write_header(&header, &world.catalog);
    }
    let outcome = sim.run(limits);
    let held_at_end: usize = sim
        .nodes()
        .iter()
        .map(|node| match node {
            crate::model::Actor::Consumer(consumer) => consumer.held_count(),
            _ => 0,
        })
        .sum();
    let world = &mut sim.shared;
    world.stats.held_at_end = held_at_end as u64;
    world.stats.entities_behind =
        world.entities.iter().filter(|e| e.last_event != NONE_U32 && e.last_applied != e.last_event).count() as u64;
    let (p50, p99) = percentiles(&mut world.latencies);
    (world.stats.latency_p50_ns, world.stats.latency_p99_ns) = (p50, p99);
    let t = outcome.end_ns;
    // An event never applied waits until the run ends: counted so, holding cannot look fast.
    let before = world.latencies.len();
    for (event, &applied) in world.applied.iter().enumerate() {
        if applied == 0 {
            world.latencies.push(t.saturating_sub(world.created_ns[event]));
        }
    }
    world.stats.never_applied = (world.latencies.len() - before) as u64;
    world.stats.never_appended = world.appended.iter().filter(|&&appended| appended == 0).count() as u64;
    world.stats.latency_p99_to_end_ns = percentiles(&mut world.latencies).1;
    // The lists of `operation = append`: each entity's applies, in order, in the catalog.
    let mut starts = vec![0u32; world.entities.len()];
    if !world.apply_order.is_empty() {
        world.apply_order.sort_by_key(|&(entity, _)| entity);
        let mut previous = u32::MAX;
        for &(entity, event) in &world.apply_order {
            if entity != previous {
                starts[entity as usize] = world.catalog.items.len() as u32;
                previous = entity;
            }
            world.catalog.items.push(event);
        }
    }
    for (entity, &items) in starts.iter().enumerate() {
        let (kind, count) = (world.entities[entity].status, world.entities[entity].applies);
        world.record(Rec::State { t, entity: entity as u32, kind, count, items });
    }
    // In the history, a run that finished its work is `quiescent`: nothing it produced is
    // still unacknowledged or unconsumed (consumers idling on empty polls do not count).
    // A livelock, like a limit, cuts the run short: work may still be in flight.
    let end_reason = match outcome.reason {
        ordo_sim::StopReason::Stopped | ordo_sim::StopReason::Quiescent => "quiescent",
        other => other.as_str(),
    };
    let livelock = outcome.livelock.map(|l| describe_livelock(&l, &world.catalog.node_names));
    world.record(Rec::End { t, reason: end_reason, events: outcome.stats.events });
    let history = world.recorder.finish(&mut world.catalog).map_err(|reason| RunError::History {
        path: spec.history_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        reason,
    })?;
    Ok(RunResult {
        scenario: scenario_name,
        reproduce: reproduce_command(spec.scenario_path, spec.seed, &strategy, &overrides),
        strategy,
        seed: spec.seed,
        outcome,
        stats: world.stats,
        wall_ns: started.elapsed().as_nanos() as u64,
        history,
        expect,
        random_faults,
        first_create_ns: world.created_ns.first().copied().unwrap_or(0),
        livelock,
    })
}

/// A run as `ordo run` makes it: the run, its history's fingerprint and the checker's
/// report. With [`HistoryMode::On`] the simulation records the compact history (no writer
/// thread, no text); then one thread formats it as JSONL for the SHA-256 fingerprint (and
/// `history_file`, and the in-memory copy if `keep_history`) while this one checks the
/// records through the checker's field view, without formatting or parsing. Fingerprint,
/// file, copy and report are those of [`run`] with [`HistoryMode::On`] and
/// [`check_reader`](crate::checker::check_reader) on its JSONL (tests/run_checked.rs); the
/// compact history itself is not kept (`history.compact` is `None`): it is freed as soon as
/// both are done with it. Other modes run as [`run`] does, unchecked.
pub fn run_checked(mut spec: RunSpec<'_>) -> Result<(RunResult, Option<Result<Report, CheckError>>), RunError> {
    if spec.history_mode != HistoryMode::On {
        return Ok((run(spec)?, None));
    }
    let history_path = spec.history_file.take();
    // The file is created before the run, so a bad path fails at once.
    let file: Option<Box<dyn std::io::Write + Send>> = match &history_path {
        Some(path) => Some(Box::new(
            std::fs::File::create(path)
                .map_err(|reason| RunError::History { path: path.display().to_string(), reason })?,
        )),
        None => None,
    };
    let keep = spec.keep_history;
    spec.history_mode = HistoryMode::Compact;
    spec.keep_history = false;
    let mut result = run(spec)?;
    let compact = std::sync::Arc::new(result.history.compact.take().expect("compact mode keeps its history"));
    let writer = {
        let compact = std::sync::Arc::clone(&compact);
        std::thread::spawn(move || compact.fingerprint(file, keep))
    };
    // Whichever of the two finishes with the history last frees it (before the checker's
    // whole-history pass when the fingerprint is done first, as it usually is).
    let report = CompactHistory::check_and_release(compact, "history", None);
    let history_error = |reason| RunError::History {
        path: history_path.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        reason,
    };
    let written = writer
        .join()
        .map_err(|_| history_error(std::io::Error::other("the history writer thread panicked")))?
        .map_err(history_error)?;
    result.history = written;
    Ok((result, Some(report)))
}

/// A livelock in words: "p0's start timer fired again and again: 1004096 events without
/// progress from 6.395 ms on".
pub fn describe_livelock(livelock: &ordo_sim::Livelock, names: &[String]) -> String {
    let name = |node: NodeId| names.get(node.index()).map_or("?", String::as_str);
    let what = match livelock.spin {
        ordo_sim::Spin::Timer(kind) => format!("{}'s {kind} timer fired again and again", name(livelock.node)),
        ordo_sim::Spin::Message(kind, from) => {
            format!("{} got {kind} messages from {} again and again", name(livelock.node), name(from))
        }
    };
    format!("{what}: {} events without progress from {:.3} ms on", livelock.events, livelock.since_ns as f64 / 1e6)
}

/// Nearest-rank 50th and 99th percentiles (0 for no values); reorders `values`. Two
/// linear-time selections rather than a sort (the sort of the run's 20,000 latencies was
/// 2 % of the standard scenario's instructions).
fn percentiles(values: &mut [u64]) -> (u64, u64) {
    if values.is_empty() {
        return (0, 0);
    }
    let index = |percent: u64| ((percent * values.len() as u64).div_ceil(100).max(1) - 1) as usize;
    let (i50, i99) = (index(50), index(99));
    let p99 = *values.select_nth_unstable(i99).1;
    // Everything before i99 is now at most p99, so the median is the i50-th of those.
    let p50 = *values[..=i99].select_nth_unstable(i50).1;
    (p50, p99)
}

impl RunResult {
    /// First-time applies per simulated second, from the first create to the last apply.
    pub fn throughput_per_sec(&self) -> u64 {
        let first_time = self.stats.applies - self.stats.duplicate_applies;
        let span = self.stats.last_apply_ns.saturating_sub(self.first_create_ns);
        if span == 0 {
            return 0;
        }
        (u128::from(first_time) * 1_000_000_000 / u128::from(span)) as u64
    }

    pub fn sim_time_ms(&self) -> f64 {
        self.outcome.end_ns as f64 / 1e6
    }

    pub fn events_per_sec(&self) -> u64 {
        if self.wall_ns == 0 {
            return 0;
        }
        (u128::from(self.outcome.stats.events) * 1_000_000_000 / u128::from(self.wall_ns)) as u64
    }

    pub fn mean_latency_ms(&self) -> f64 {
        if self.stats.applies == 0 {
            return 0.0;
        }
        self.stats.latency_sum_ns as f64 / self.stats.applies as f64 / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::percentiles;
    use crate::sweep::nearest_rank;

    /// The backquoted words of the first line of `doc` that contains `marker`.
    fn listed(doc: &str, marker: &str) -> Vec<String> {
        let path = format!("{}/docs/{doc}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let line = text.lines().find(|l| l.contains(marker)).unwrap_or_else(|| panic!("{doc}: no {marker:?}"));
        line.split('`').skip(1).step_by(2).map(str::to_string).collect()
    }

    #[test]
    fn stop_and_end_reasons_match_their_docs() {
        let mut stop: Vec<&str> = ordo_sim::StopReason::ALL.iter().map(|r| r.as_str()).collect();
        let mut json = listed("json.md", "| `stop_reason` |");
        json.retain(|word| word != "stop_reason" && !word.starts_with('['));
        json.sort();
        stop.sort();
        assert_eq!(json, stop, "docs/json.md's stop_reason row");
        // The history's end reasons: the checker's list, in docs/checker.md and as the
        // bullets of docs/history-format.md.
        let ends = crate::checker::END_REASONS;
        let mut checker = listed("checker.md", "reasons are `quiescent`");
        checker.retain(|word| word != "end");
        assert_eq!(checker, ends, "docs/checker.md");
        let path = format!("{}/docs/history-format.md", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        let mut bullets: Vec<String> = text
            .lines()
            .skip_while(|l| !l.starts_with("`end`:"))
            .take_while(|l| !l.starts_with("Any other reason"))
            .filter(|l| l.starts_with("- `"))
            .flat_map(|l| {
                l.split(':').next().unwrap().split('`').skip(1).step_by(2).map(str::to_string).collect::<Vec<_>>()
            })
            .collect();
        bullets.sort();
        let mut sorted: Vec<String> = ends.iter().map(|e| e.to_string()).collect();
        sorted.sort();
        assert_eq!(bullets, sorted, "docs/history-format.md's end bullets");
        // Every stop reason maps to an end reason the checker accepts.
        for reason in ordo_sim::StopReason::ALL {
            let end = match reason {
                ordo_sim::StopReason::Stopped | ordo_sim::StopReason::Quiescent => "quiescent",
                other => other.as_str(),
            };
            assert!(ends.contains(&end), "{end}");
        }
    }

    #[test]
    fn percentiles_select_what_a_sort_would() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for len in [1usize, 2, 3, 7, 99, 100, 101, 1000, 4099] {
            let values: Vec<u64> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state % 50 // many ties
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let mut scratch = values.clone();
            assert_eq!(percentiles(&mut scratch), (nearest_rank(&sorted, 50), nearest_rank(&sorted, 99)), "{len}");
        }
        assert_eq!(percentiles(&mut []), (0, 0));
    }
}
