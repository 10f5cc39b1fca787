//! Randomized faults: a `[random_faults]` section draws a fault schedule from the run seed,
//! and swarm mode lets the seed also choose which fault kinds are on.
//!
//! ```toml
//! [random_faults]
//! start_ms = 1000            # faults start in [start_ms, end_ms)
//! end_ms = 20000
//! swarm = true               # each seed turns each kind on with probability 1/2
//! crash_per_min = 6          # expected crashes per simulated minute (0: off)
//! crash_targets = ["brokers", "consumers"]
//! down_min_ms = 500          # a crashed node restarts after a downtime in this range
//! down_max_ms = 8000
//! ```
//!
//! # Why swarm mode
//! A run with every fault kind on at once explores less than one would think: a crash of
//! the leader is hidden by the partition that already cut it off, a pause never matters
//! because clocks were stepped first. Swarm testing (Groce et al., "Swarm Testing", ISSTA
//! 2012; TigerBeetle's VOPR) gives each seed its own *mix* of kinds, so a sweep over seeds
//! also sweeps over mixes, and some seeds run with the few kinds that expose a bug together.
//!
//! # How a schedule is drawn
//! Every draw comes from the run seed through named streams: `swarm` for the five on/off
//! coins, `faults/crash`, `faults/pause`, `faults/partition`, `faults/clock_step`,
//! `faults/link` for each kind's schedule. One stream per kind (rather than one `faults`
//! stream) keeps a kind's draws the same whichever other kinds the swarm turned off, so two
//! seeds' mixes differ only in the kinds toggled. A kind's events are candidates at times
//! `start_ms + g1`, `+ g2`, … while before `end_ms`, each gap uniform in
//! `1 ..= 2 × mean - 1` ms with `mean = 60000 / per_min` (integers only: the expected rate is
//! `per_min`; no float or `ln` decides anything). Each candidate makes a fixed number of
//! draws, so whether it is kept never shifts later draws.
//!
//! A candidate is dropped, never moved, when it would make a sequence that cannot happen
//! (the rules the `[[fault]]` validator enforces) or step on a scripted fault:
//! - a crash, whose restart is drawn with it, only on a node that is up and unpaused for the
//!   whole downtime; a pause only on a node up for its whole length, not paused already;
//!   nodes a scripted fault crashes, restarts, joins or makes leave keep their script for
//!   those spans (drawn crashes and pauses stay outside them);
//! - one drawn partition at a time (its heal comes before the next cut), never on a link a
//!   scripted partition or heal names;
//! - one drawn loss or latency period per link at a time, never on a link a scripted `link`
//!   fault names; it ends by restoring the link to what `[network]` and `[[link]]` give it.
//!
//! The controller `ctl` is never a target, and the links between two producers (the
//! application's own handoffs, reliable by design) are never cut or degraded: a random
//! split keeps every producer on one side.

use serde::Deserialize;
use serde_json::{json, Value};

use ordo_sim::rng::{stream, Ratio, Rng};

use super::{node_names, FaultKind, NetworkConfig, Scenario, ScenarioError, ScheduledFault, Topology, Validator};

/// At most this many faults of one kind are drawn for one run (validation also bounds the
/// expected count by it).
pub const MAX_DRAWN_PER_KIND: u64 = 10_000;

/// The most rate one kind may have: one candidate per millisecond on average.
pub const MAX_PER_MIN: u32 = 60_000;

const HALF: Ratio = Ratio { num: 1, den: 2 };

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRandomFaults {
    start_ms: Option<u64>,
    end_ms: Option<u64>,
    swarm: Option<bool>,
    crash_per_min: Option<u32>,
    crash_targets: Option<Vec<String>>,
    down_min_ms: Option<u64>,
    down_max_ms: Option<u64>,
    pause_per_min: Option<u32>,
    pause_targets: Option<Vec<String>>,
    pause_min_ms: Option<u64>,
    pause_max_ms: Option<u64>,
    partition_per_min: Option<u32>,
    partition_targets: Option<Vec<String>>,
    partition_min_ms: Option<u64>,
    partition_max_ms: Option<u64>,
    clock_step_per_min: Option<u32>,
    clock_step_targets: Option<Vec<String>>,
    clock_step_min_ms: Option<u64>,
    clock_step_max_ms: Option<u64>,
    link_per_min: Option<u32>,
    link_targets: Option<Vec<String>>,
    link_min_ms: Option<u64>,
    link_max_ms: Option<u64>,
    link_loss_min_ppm: Option<u32>,
    link_loss_max_ppm: Option<u32>,
    link_delay_min_us: Option<u64>,
    link_delay_max_us: Option<u64>,
}

/// A kind of randomized fault (a crash comes with its restart, a partition with its heal, a
/// link period with its restore).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RandomKind {
    Crash,
    Pause,
    Partition,
    ClockStep,
    Link,
}

impl RandomKind {
    /// In the order the swarm draws its coins.
    pub const ALL: [RandomKind; 5] =
        [RandomKind::Crash, RandomKind::Pause, RandomKind::Partition, RandomKind::ClockStep, RandomKind::Link];

    pub fn name(self) -> &'static str {
        match self {
            RandomKind::Crash => "crash",
            RandomKind::Pause => "pause",
            RandomKind::Partition => "partition",
            RandomKind::ClockStep => "clock_step",
            RandomKind::Link => "link",
        }
    }

    /// The scripted fault kinds a drawn fault of this kind produces.
    pub fn fault_names(self) -> &'static [&'static str] {
        match self {
            RandomKind::Crash => &["crash", "restart"],
            RandomKind::Pause => &["pause"],
            RandomKind::Partition => &["partition", "heal"],
            RandomKind::ClockStep => &["clock_step"],
            RandomKind::Link => &["link"],
        }
    }
}

/// One kind's rate, targets and length (downtime, pause, partition or period length; for a
/// clock step, the size of the step).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindConfig {
    /// Expected events per simulated minute; 0: off.
    pub per_min: u32,
    /// Target node names, in node-id order (never `ctl`).
    pub targets: Vec<String>,
    pub min_ms: u64,
    pub max_ms: u64,
}

/// A validated `[random_faults]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RandomFaults {
    pub start_ms: u64,
    pub end_ms: u64,
    pub swarm: bool,
    /// Indexed like [`RandomKind::ALL`].
    pub kinds: [KindConfig; 5],
    pub link_loss_min_ppm: u32,
    pub link_loss_max_ppm: u32,
    pub link_delay_min_us: u64,
    pub link_delay_max_us: u64,
}

/// A drawn schedule: which kinds were on, and the faults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drawn {
    pub seed: u64,
    pub swarm: bool,
    /// Kinds with a rate above 0 that are on for this seed (all of them without swarm).
    pub enabled: Vec<RandomKind>,
    /// Kinds with a rate above 0 the swarm turned off for this seed.
    pub disabled: Vec<RandomKind>,
    /// Sorted by time (stably).
    pub faults: Vec<ScheduledFault>,
}

const TARGET_KINDS: [&str; 3] = ["producers", "brokers", "consumers"];

impl Validator<'_> {
    pub(super) fn random_faults(
        &self,
        raw: RawRandomFaults,
        topology: &Topology,
        max_time_ms: u64,
    ) -> Result<RandomFaults, ScenarioError> {
        let field = |name: &str| format!("random_faults.{name}");
        let start_ms = self.range(&field("start_ms"), raw.start_ms.unwrap_or(0), 0, 86_400_000)?;
        let end_ms = self.range(&field("end_ms"), raw.end_ms.unwrap_or(max_time_ms), 1, 86_400_000)?;
        if end_ms <= start_ms {
            return Err(
                self.invalid(&field("end_ms"), format!("expected more than start_ms ({start_ms}), got {end_ms}"))
            );
        }
        let window_ms = end_ms - start_ms;
        let kind = |name: &str,
                    per_min: Option<u32>,
                    targets: Option<Vec<String>>,
                    (min_name, min, max_name, max): (&str, Option<u64>, &str, Option<u64>),
                    (min_default, max_default, high): (u64, u64, u64)|
         -> Result<KindConfig, ScenarioError> {
            let per_min = self.range(&field(&format!("{name}_per_min")), per_min.unwrap_or(0), 0, MAX_PER_MIN)?;
            if u64::from(per_min) * window_ms / 60_000 > MAX_DRAWN_PER_KIND {
                return Err(self.invalid(
                    &field(&format!("{name}_per_min")),
                    format!("expected at most {MAX_DRAWN_PER_KIND} {name} faults in the window of {window_ms} ms (start_ms..end_ms), got a rate of {per_min} per minute"),
                ));
            }
            let targets = self.targets(&field(&format!("{name}_targets")), targets, topology)?;
            let min_ms = self.range(&field(min_name), min.unwrap_or(min_default), 1, high)?;
            let max_ms = self.range(&field(max_name), max.unwrap_or(max_default.max(min_ms)), 1, high)?;
            if max_ms < min_ms {
                return Err(
                    self.invalid(&field(max_name), format!("expected at least {min_name} ({min_ms}), got {max_ms}"))
                );
            }
            Ok(KindConfig { per_min, targets, min_ms, max_ms })
        };
        const DAY_MS: u64 = 86_400_000;
        let crash = kind(
            "crash",
            raw.crash_per_min,
            raw.crash_targets,
            ("down_min_ms", raw.down_min_ms, "down_max_ms", raw.down_max_ms),
            (100, 10_000, DAY_MS),
        )?;
        let pause = kind(
            "pause",
            raw.pause_per_min,
            raw.pause_targets,
            ("pause_min_ms", raw.pause_min_ms, "pause_max_ms", raw.pause_max_ms),
            (10, 2_000, DAY_MS),
        )?;
        let partition = kind(
            "partition",
            raw.partition_per_min,
            raw.partition_targets,
            ("partition_min_ms", raw.partition_min_ms, "partition_max_ms", raw.partition_max_ms),
            (100, 10_000, DAY_MS),
        )?;
        let clock_step = kind(
            "clock_step",
            raw.clock_step_per_min,
            raw.clock_step_targets,
            ("clock_step_min_ms", raw.clock_step_min_ms, "clock_step_max_ms", raw.clock_step_max_ms),
            (1, 1_000, DAY_MS),
        )?;
        let link = kind(
            "link",
            raw.link_per_min,
            raw.link_targets,
            ("link_min_ms", raw.link_min_ms, "link_max_ms", raw.link_max_ms),
            (100, 10_000, DAY_MS),
        )?;
        if partition.per_min > 0 && units(&partition.targets).len() < 2 {
            return Err(self.invalid(
                &field("partition_targets"),
                format!(
                    "expected nodes that can be split in two sides (all producers count as one), got {}",
                    partition.targets.join(", ")
                ),
            ));
        }
        if link.per_min > 0 && links_between(&link.targets).is_empty() {
            return Err(self.invalid(
                &field("link_targets"),
                format!("expected nodes with a link between them other than producer to producer (the application's own), got {}", link.targets.join(", ")),
            ));
        }
        let link_loss_min_ppm = self.ppm(&field("link_loss_min_ppm"), raw.link_loss_min_ppm.unwrap_or(10_000))?;
        let link_loss_max_ppm =
            self.ppm(&field("link_loss_max_ppm"), raw.link_loss_max_ppm.unwrap_or(200_000.max(link_loss_min_ppm)))?;
        if link_loss_max_ppm < link_loss_min_ppm {
            return Err(self.invalid(
                &field("link_loss_max_ppm"),
                format!("expected at least link_loss_min_ppm ({link_loss_min_ppm}), got {link_loss_max_ppm}"),
            ));
        }
        let link_delay_min_us =
            self.range(&field("link_delay_min_us"), raw.link_delay_min_us.unwrap_or(0), 0, 60_000_000)?;
        let link_delay_max_us = self.range(
            &field("link_delay_max_us"),
            raw.link_delay_max_us.unwrap_or(5_000.max(link_delay_min_us)),
            0,
            60_000_000,
        )?;
        if link_delay_max_us < link_delay_min_us {
            return Err(self.invalid(
                &field("link_delay_max_us"),
                format!("expected at least link_delay_min_us ({link_delay_min_us}), got {link_delay_max_us}"),
            ));
        }
        Ok(RandomFaults {
            start_ms,
            end_ms,
            swarm: raw.swarm.unwrap_or(false),
            kinds: [crash, pause, partition, clock_step, link],
            link_loss_min_ppm,
            link_loss_max_ppm,
            link_delay_min_us,
            link_delay_max_us,
        })
    }

    /// A target list: node kinds among producers, brokers, consumers → node names.
    fn targets(
        &self,
        field: &str,
        raw: Option<Vec<String>>,
        topology: &Topology,
    ) -> Result<Vec<String>, ScenarioError> {
        let kinds = raw.unwrap_or_else(|| TARGET_KINDS.map(String::from).to_vec());
        if kinds.is_empty() {
            return Err(self.invalid(field, "expected at least one node kind: producers, brokers, consumers"));
        }
        for kind in &kinds {
            if !TARGET_KINDS.contains(&kind.as_str()) {
                return Err(self.invalid(
                    field,
                    format!("expected node kinds among producers, brokers, consumers (the controller is never a target), got {kind:?}"),
                ));
            }
        }
        let names = node_names(topology);
        let prefix = |name: &str| match name.as_bytes().first() {
            Some(b'p') => "producers",
            Some(b'b') => "brokers",
            _ => "consumers",
        };
        Ok(names
            .into_iter()
            .filter(|name| name != super::CONTROLLER && kinds.iter().any(|kind| kind == prefix(name)))
            .collect())
    }
}

fn is_producer(name: &str) -> bool {
    name.starts_with('p')
}

/// The sides a random split assigns: all producers as one unit (their links to each other
/// are the application's), every other node on its own.
fn units(targets: &[String]) -> Vec<Vec<String>> {
    let producers: Vec<String> = targets.iter().filter(|n| is_producer(n)).cloned().collect();
    let mut out = Vec::new();
    if !producers.is_empty() {
        out.push(producers);
    }
    out.extend(targets.iter().filter(|n| !is_producer(n)).map(|n| vec![n.clone()]));
    out
}

/// Unordered pairs of targets a fault may put between, in a fixed order (never two producers).
fn links_between(targets: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (index, a) in targets.iter().enumerate() {
        for b in &targets[index + 1..] {
            if !(is_producer(a) && is_producer(b)) {
                out.push((a.clone(), b.clone()));
            }
        }
    }
    out
}

/// Two distinct indices in `0..n` (n ≥ 2), two draws.
fn two_distinct(rng: &mut Rng, n: usize) -> (usize, usize) {
    let first = rng.index(n);
    let mut second = rng.index(n.saturating_sub(1));
    if second >= first {
        second += 1;
    }
    (first, second)
}

/// Candidate times of one kind in the window: gaps uniform in `1..=2·mean-1` ms.
struct Times {
    next_ms: u64,
    end_ms: u64,
    mean_ms: u64,
    count: u64,
}

impl Times {
    fn new(config: &RandomFaults, per_min: u32) -> Times {
        Times {
            next_ms: config.start_ms,
            end_ms: config.end_ms,
            mean_ms: (60_000 / u64::from(per_min.max(1))).max(1),
            count: 0,
        }
    }

    fn next(&mut self, rng: &mut Rng) -> Option<u64> {
        // Bounded: at most twice the validated expected count of candidates.
        if self.count >= 2 * MAX_DRAWN_PER_KIND {
            return None;
        }
        self.count += 1;
        self.next_ms += rng.between(1, 2 * self.mean_ms - 1);
        (self.next_ms < self.end_ms).then_some(self.next_ms)
    }
}

/// Spans during which a node must not get a drawn crash or pause, per node name.
struct Busy {
    spans: Vec<(String, u64, u64)>,
}

impl Busy {
    /// The spans scripted faults keep: down (crash → restart, start → join, leave → end)
    /// and paused.
    fn scripted(faults: &[ScheduledFault]) -> Busy {
        let mut spans = Vec::new();
        let mut down_since: Vec<(String, u64)> = Vec::new();
        for fault in faults {
            let at = fault.at_ms;
            match &fault.kind {
                FaultKind::Crash { node } => down_since.push((node.clone(), at)),
                FaultKind::Restart { node } => {
                    if let Some(index) = down_since.iter().position(|(n, _)| n == node) {
                        let (_, since) = down_since.remove(index);
                        spans.push((node.clone(), since, at + 1));
                    }
                }
                FaultKind::Join { node } => spans.push((node.clone(), 0, at + 1)),
                FaultKind::Leave { node } => spans.push((node.clone(), at, u64::MAX)),
                FaultKind::Pause { node, duration_ms } => spans.push((node.clone(), at, at + duration_ms)),
                _ => {}
            }
        }
        spans.extend(down_since.into_iter().map(|(node, since)| (node, since, u64::MAX)));
        Busy { spans }
    }

    /// Whether `node` is free during `[from, to)`.
    fn free(&self, node: &str, from: u64, to: u64) -> bool {
        !self.spans.iter().any(|(n, a, b)| n == node && from < *b && *a < to)
    }

    fn take(&mut self, node: &str, from: u64, to: u64) {
        self.spans.push((node.to_string(), from, to));
    }
}

/// Draws the schedule a scenario's `[random_faults]` asks for with this seed; `None` when
/// the scenario has no such section. A pure function of (scenario, seed).
pub fn draw(scenario: &Scenario, seed: u64) -> Option<Drawn> {
    let config = scenario.random_faults.as_ref()?;
    let mut swarm = stream(seed, "swarm");
    let mut enabled = Vec::new();
    let mut disabled = Vec::new();
    for (index, kind) in RandomKind::ALL.into_iter().enumerate() {
        // Always draw the coin, so one kind's rate never changes another's coin.
        let on = swarm.chance(HALF) || !config.swarm;
        if config.kinds[index].per_min == 0 {
            continue;
        }
        if on {
            enabled.push(kind);
        } else {
            disabled.push(kind);
        }
    }
    let scripted = &scenario.faults;
    let mut busy = Busy::scripted(scripted);
    let mut faults = Vec::new();
    for &kind in &enabled {
        let rng = &mut stream(seed, &format!("faults/{}", kind.name()));
        let out = &mut faults;
        match kind {
            RandomKind::Crash => draw_crashes(rng, config, &mut busy, out),
            RandomKind::Pause => draw_pauses(rng, config, &mut busy, out),
            RandomKind::Partition => draw_partitions(rng, config, scripted, out),
            RandomKind::ClockStep => draw_clock_steps(rng, config, out),
            RandomKind::Link => draw_links(rng, config, scenario, out),
        }
    }
    faults.sort_by_key(|f| f.at_ms); // stable: a crash before its restart at the same time
    Some(Drawn { seed, swarm: config.swarm, enabled, disabled, faults })
}

fn draw_crashes(rng: &mut Rng, config: &RandomFaults, busy: &mut Busy, out: &mut Vec<ScheduledFault>) {
    let kind = &config.kinds[0];
    let mut times = Times::new(config, kind.per_min);
    while let Some(at_ms) = times.next(rng) {
        let node = &kind.targets[rng.index(kind.targets.len())];
        let down_ms = rng.between(kind.min_ms, kind.max_ms);
        // The span includes the restart's millisecond: no crash at the time of a restart.
        if busy.free(node, at_ms, at_ms + down_ms + 1) {
            busy.take(node, at_ms, at_ms + down_ms + 1);
            out.push(ScheduledFault { at_ms, kind: FaultKind::Crash { node: node.clone() } });
            out.push(ScheduledFault { at_ms: at_ms + down_ms, kind: FaultKind::Restart { node: node.clone() } });
        }
    }
}

fn draw_pauses(rng: &mut Rng, config: &RandomFaults, busy: &mut Busy, out: &mut Vec<ScheduledFault>) {
    let kind = &config.kinds[1];
    let mut times = Times::new(config, kind.per_min);
    while let Some(at_ms) = times.next(rng) {
        let node = &kind.targets[rng.index(kind.targets.len())];
        let duration_ms = rng.between(kind.min_ms, kind.max_ms);
        if busy.free(node, at_ms, at_ms + duration_ms) {
            busy.take(node, at_ms, at_ms + duration_ms);
            out.push(ScheduledFault { at_ms, kind: FaultKind::Pause { node: node.clone(), duration_ms } });
        }
    }
}

fn draw_partitions(rng: &mut Rng, config: &RandomFaults, scripted: &[ScheduledFault], out: &mut Vec<ScheduledFault>) {
    let kind = &config.kinds[2];
    let units = units(&kind.targets);
    let links = links_between(&kind.targets);
    let scripted_pairs: Vec<&(String, String)> = scripted
        .iter()
        .filter_map(|f| match &f.kind {
            FaultKind::Links { pairs, .. } => Some(pairs),
            _ => None,
        })
        .flatten()
        .collect();
    let mut healed_at_ms = 0;
    let mut times = Times::new(config, kind.per_min);
    while let Some(at_ms) = times.next(rng) {
        // A fixed number of draws per candidate: mode, two forced sides, a coin per unit,
        // a one-way link and its direction, the length.
        let split = rng.chance(HALF);
        let (first, second) = two_distinct(rng, units.len());
        let mut sides: Vec<bool> = units.iter().map(|_| rng.chance(HALF)).collect();
        let (a, b) = &links[rng.index(links.len())];
        let reverse = rng.chance(HALF);
        let duration_ms = rng.between(kind.min_ms, kind.max_ms);
        let pairs = if split {
            sides[first] = true;
            sides[second] = false;
            let side = |want: bool| -> Vec<String> {
                units.iter().zip(&sides).filter(|(_, &s)| s == want).flat_map(|(u, _)| u.iter().cloned()).collect()
            };
            super::faults::pairs(&side(true), &side(false), true)
        } else if reverse {
            vec![(b.clone(), a.clone())]
        } else {
            vec![(a.clone(), b.clone())]
        };
        if at_ms <= healed_at_ms || pairs.iter().any(|pair| scripted_pairs.contains(&pair)) {
            continue;
        }
        healed_at_ms = at_ms + duration_ms;
        out.push(ScheduledFault { at_ms, kind: FaultKind::Links { pairs: pairs.clone(), cut: true } });
        out.push(ScheduledFault { at_ms: healed_at_ms, kind: FaultKind::Links { pairs, cut: false } });
    }
}

fn draw_clock_steps(rng: &mut Rng, config: &RandomFaults, out: &mut Vec<ScheduledFault>) {
    let kind = &config.kinds[3];
    let mut times = Times::new(config, kind.per_min);
    while let Some(at_ms) = times.next(rng) {
        let node = &kind.targets[rng.index(kind.targets.len())];
        let size_ms = rng.between(kind.min_ms, kind.max_ms) as i64;
        let delta_ms = if rng.chance(HALF) { -size_ms } else { size_ms };
        out.push(ScheduledFault { at_ms, kind: FaultKind::ClockStep { node: node.clone(), delta_ms } });
    }
}

fn draw_links(rng: &mut Rng, config: &RandomFaults, scenario: &Scenario, out: &mut Vec<ScheduledFault>) {
    let kind = &config.kinds[4];
    let links = links_between(&kind.targets);
    let scripted_pairs: Vec<&(String, String)> = scenario
        .faults
        .iter()
        .filter_map(|f| match &f.kind {
            FaultKind::Network { pairs, .. } => Some(pairs),
            _ => None,
        })
        .flatten()
        .collect();
    let mut restored_at_ms = vec![0u64; links.len()];
    let mut times = Times::new(config, kind.per_min);
    while let Some(at_ms) = times.next(rng) {
        let index = rng.index(links.len());
        let loss_ppm = rng.between(u64::from(config.link_loss_min_ppm), u64::from(config.link_loss_max_ppm)) as u32;
        let delay_us = rng.between(config.link_delay_min_us, config.link_delay_max_us);
        let duration_ms = rng.between(kind.min_ms, kind.max_ms);
        let (a, b) = &links[index];
        let forth = (a.clone(), b.clone());
        let back = (b.clone(), a.clone());
        if at_ms <= restored_at_ms[index] || scripted_pairs.contains(&&forth) || scripted_pairs.contains(&&back) {
            continue;
        }
        restored_at_ms[index] = at_ms + duration_ms;
        let base = base_link(scenario, a, b);
        const MAX_US: u64 = 3_600_000_000;
        let degraded = NetworkConfig {
            latency_min_us: (base.latency_min_us + delay_us).min(MAX_US),
            latency_max_us: (base.latency_max_us + delay_us).min(MAX_US),
            loss_ppm,
            ..base.clone()
        };
        out.push(ScheduledFault {
            at_ms,
            kind: FaultKind::Network { pairs: vec![forth.clone(), back.clone()], network: degraded },
        });
        let base_back = base_link(scenario, b, a);
        let restore_at = restored_at_ms[index];
        if base == base_back {
            out.push(ScheduledFault {
                at_ms: restore_at,
                kind: FaultKind::Network { pairs: vec![forth, back], network: base },
            });
        } else {
            out.push(ScheduledFault {
                at_ms: restore_at,
                kind: FaultKind::Network { pairs: vec![forth], network: base },
            });
            out.push(ScheduledFault {
                at_ms: restore_at,
                kind: FaultKind::Network { pairs: vec![back], network: base_back },
            });
        }
    }
}

/// What `[network]` and `[[link]]` make of the link from → to (as `run::build` applies
/// them: later `[[link]]` entries win).
fn base_link(scenario: &Scenario, from: &str, to: &str) -> NetworkConfig {
    let selects = |selector: &str, node: &str| match selector {
        "*" => true,
        "producers" => is_producer(node),
        "brokers" => node.starts_with('b'),
        "consumers" => node.starts_with('c') && node != super::CONTROLLER,
        name => name == node,
    };
    let mut spec = scenario.network.clone();
    for link in &scenario.links {
        let forth = selects(&link.from, from) && selects(&link.to, to);
        let back = link.both && selects(&link.from, to) && selects(&link.to, from);
        if forth || back {
            spec = link.network.clone();
        }
    }
    spec
}

/// Draws the scenario's random faults with this seed and merges them into its scripted
/// faults (stably by time: scripted ones first at equal times, as they come first in a
/// saved scenario), leaving no `[random_faults]` behind. Does nothing (returns `None`) when
/// there is no such section, so it is safe to call twice.
pub fn resolve(scenario: &mut Scenario, seed: u64) -> Option<Drawn> {
    let drawn = draw(scenario, seed)?;
    scenario.random_faults = None;
    scenario.faults = merge(&scenario.faults, &drawn.faults);
    if let Err(error) = check_fault_sequence(&scenario.faults, &scenario.topology) {
        panic!("a drawn fault schedule breaks the [[fault]] sequence rules (an ordo bug), seed {seed}: {error}");
    }
    Some(drawn)
}

/// Scripted then drawn faults, sorted stably by time.
pub fn merge(scripted: &[ScheduledFault], drawn: &[ScheduledFault]) -> Vec<ScheduledFault> {
    let mut all: Vec<ScheduledFault> = scripted.iter().chain(drawn).cloned().collect();
    all.sort_by_key(|f| f.at_ms);
    all
}

/// The `[[fault]]` validator's sequence rules (no restart of a running node, no crash of a
/// crashed one, no heal before its partition, no overlapping pauses of one node).
pub fn check_fault_sequence(faults: &[ScheduledFault], topology: &Topology) -> Result<(), ScenarioError> {
    Validator { file: "fault schedule" }.check_sequence(faults, &node_names(topology))
}

/// `from`, `to`, `both` that expand into exactly these directed links, if there are any.
fn link_groups(pairs: &[(String, String)]) -> Option<(Vec<String>, Vec<String>, bool)> {
    let unique = |items: &mut dyn Iterator<Item = &String>| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for item in items {
            if !out.contains(item) {
                out.push(item.clone());
            }
        }
        out
    };
    for both in [true, false] {
        let step = if both { 2 } else { 1 };
        let from = unique(&mut pairs.iter().step_by(step).map(|(a, _)| a));
        let to = unique(&mut pairs.iter().step_by(step).map(|(_, b)| b));
        if super::faults::pairs(&from, &to, both) == pairs {
            return Some((from, to, both));
        }
    }
    None
}

fn quoted_list(names: &[String]) -> String {
    let items: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    format!("[{}]", items.join(", "))
}

/// `[[fault]]` entries that parse back into exactly this fault (several when its links
/// cannot be written as one from/to/both).
pub fn fault_toml(fault: &ScheduledFault) -> String {
    let head = |kind: &str| format!("[[fault]]\nat_ms = {}\nkind = \"{kind}\"\n", fault.at_ms);
    let links = |kind: &str, pairs: &[(String, String)], extra: &str| -> String {
        match link_groups(pairs) {
            Some((from, to, both)) => format!(
                "{}from = {}\nto = {}\nboth = {both}\n{extra}",
                head(kind),
                quoted_list(&from),
                quoted_list(&to)
            ),
            None => pairs
                .iter()
                .map(|(a, b)| format!("{}from = {a:?}\nto = {b:?}\nboth = false\n{extra}", head(kind)))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    };
    match &fault.kind {
        FaultKind::Crash { node }
        | FaultKind::Restart { node }
        | FaultKind::Join { node }
        | FaultKind::Leave { node } => format!("{}node = {node:?}\n", head(fault.kind.name())),
        FaultKind::Pause { node, duration_ms } => {
            format!("{}node = {node:?}\nduration_ms = {duration_ms}\n", head("pause"))
        }
        FaultKind::ClockStep { node, delta_ms } => {
            format!("{}node = {node:?}\ndelta_ms = {delta_ms}\n", head("clock_step"))
        }
        FaultKind::Links { pairs, .. } => links(fault.kind.name(), pairs, ""),
        FaultKind::Network { pairs, network } => {
            let extra = format!(
                "latency_min_us = {}\nlatency_max_us = {}\nloss_ppm = {}\nduplicate_ppm = {}\nfifo = {}\n",
                network.latency_min_us, network.latency_max_us, network.loss_ppm, network.duplicate_ppm, network.fifo
            );
            links("link", pairs, &extra)
        }
    }
}

/// One line: what a fault does to which nodes.
pub fn describe(kind: &FaultKind) -> String {
    let links = |pairs: &[(String, String)]| match link_groups(pairs) {
        Some((from, to, both)) => format!("{} {} {}", from.join(","), if both { "<->" } else { "->" }, to.join(",")),
        None => pairs.iter().map(|(a, b)| format!("{a}->{b}")).collect::<Vec<_>>().join(" "),
    };
    match kind {
        FaultKind::Crash { node }
        | FaultKind::Restart { node }
        | FaultKind::Join { node }
        | FaultKind::Leave { node } => node.clone(),
        FaultKind::Pause { node, duration_ms } => format!("{node} for {duration_ms} ms"),
        FaultKind::ClockStep { node, delta_ms } => format!("{node} by {delta_ms:+} ms"),
        FaultKind::Links { pairs, .. } => links(pairs),
        FaultKind::Network { pairs, network } => format!(
            "{}: loss {} ppm, latency {}..{} us",
            links(pairs),
            network.loss_ppm,
            network.latency_min_us,
            network.latency_max_us
        ),
    }
}

/// A fault as JSON: time, kind, and what it names.
pub fn fault_json(fault: &ScheduledFault) -> Value {
    let mut value = json!({"at_ms": fault.at_ms, "kind": fault.kind.name()});
    let links = |pairs: &[(String, String)]| -> Value { pairs.iter().map(|(a, b)| json!([a, b])).collect() };
    let extra = match &fault.kind {
        FaultKind::Crash { node }
        | FaultKind::Restart { node }
        | FaultKind::Join { node }
        | FaultKind::Leave { node } => {
            json!({"node": node})
        }
        FaultKind::Pause { node, duration_ms } => json!({"node": node, "duration_ms": duration_ms}),
        FaultKind::ClockStep { node, delta_ms } => json!({"node": node, "delta_ms": delta_ms}),
        FaultKind::Links { pairs, .. } => json!({"links": links(pairs)}),
        FaultKind::Network { pairs, network } => json!({
            "links": links(pairs),
            "latency_min_us": network.latency_min_us,
            "latency_max_us": network.latency_max_us,
            "loss_ppm": network.loss_ppm,
            "duplicate_ppm": network.duplicate_ppm,
            "fifo": network.fifo,
        }),
    };
    if let (Some(target), Some(fields)) = (value.as_object_mut(), extra.as_object()) {
        target.extend(fields.clone());
    }
    value
}

fn kind_names(kinds: &[RandomKind]) -> String {
    if kinds.is_empty() {
        return "none".to_string();
    }
    kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
}

impl Drawn {
    pub fn to_json(&self) -> Value {
        json!({
            "swarm": self.swarm,
            "enabled": self.enabled.iter().map(|k| k.name()).collect::<Vec<_>>(),
            "disabled": self.disabled.iter().map(|k| k.name()).collect::<Vec<_>>(),
            "faults": self.faults.iter().map(fault_json).collect::<Vec<_>>(),
        })
    }

    /// The schedule for people: the kinds that are on, then one line per fault (at most
    /// `max_lines`; the rest are counted).
    pub fn render_text(&self, max_lines: usize) -> String {
        let mut out = if self.swarm {
            format!(
                "random faults (swarm): on {}; off {}; {} drawn\n",
                kind_names(&self.enabled),
                kind_names(&self.disabled),
                self.faults.len()
            )
        } else {
            format!("random faults: {}; {} drawn\n", kind_names(&self.enabled), self.faults.len())
        };
        for fault in self.faults.iter().take(max_lines) {
            out.push_str(&format!("  {:>9} ms  {:<10}  {}\n", fault.at_ms, fault.kind.name(), describe(&fault.kind)));
        }
        if self.faults.len() > max_lines {
            out.push_str(&format!(
                "  … {} more (--json lists them all, --save-scenario writes them all)\n",
                self.faults.len() - max_lines
            ));
        }
        out
    }
}

/// The text of a scripted scenario that replays `drawn` exactly: the original file with its
/// `[random_faults]` table taken out, `name`, `seed` and `strategy` pinned at the top level,
/// and every drawn fault appended as `[[fault]]` entries (after the scripted ones, which
/// stay where they were). The result is parsed back and must give the same validated
/// scenario with the merged faults; if it does not (say the section was written as an
/// inline table), this is an error rather than a wrong file.
pub fn scripted_text(
    original: &str,
    file: &str,
    scenario: &Scenario,
    strategy: &str,
    drawn: &Drawn,
) -> Result<String, ScenarioError> {
    let fail = |why: &str| Validator { file }.invalid("random_faults", format!("cannot write a scripted copy: {why}"));
    let mut lines: Vec<String> = original.lines().map(String::from).collect();
    let is_header = |line: &str| line.trim_start().starts_with('[');
    let start = lines
        .iter()
        .position(|l| {
            let l = l.trim();
            l == "[random_faults]"
                || l.starts_with("[random_faults]") && l["[random_faults]".len()..].trim_start().starts_with('#')
        })
        .ok_or_else(|| fail("expected a `[random_faults]` table header on a line of its own"))?;
    let mut end = lines[start + 1..].iter().position(|l| is_header(l)).map_or(lines.len(), |i| start + 1 + i);
    // Comments just above the next table belong to it.
    while end > start + 1 && {
        let l = lines[end - 1].trim();
        l.is_empty() || l.starts_with('#')
    } {
        end -= 1;
    }
    let note = format!(
        "# [random_faults] was here: its faults, drawn with seed {}, are the [[fault]] entries at the end.",
        drawn.seed
    );
    lines.splice(start..end, [note]);
    // A lesson's quiz holds for the lesson's seeds, not for this copy: leave it out.
    if let Some(quiz) = lines.iter().position(|l| l.trim() == "[quiz]" || l.trim().starts_with("[quiz] ")) {
        let end = lines[quiz + 1..].iter().position(|l| is_header(l)).map_or(lines.len(), |i| quiz + 1 + i);
        lines.splice(
            quiz..end,
            ["# [quiz] was here: its answers hold for the lesson's seeds, not for this copy.".into()],
        );
    }
    let mut text = lines.join("\n");
    text.push('\n');
    for (key, value) in [
        ("name", format!("{:?}", scenario.name)),
        ("seed", drawn.seed.to_string()),
        ("strategy", format!("{strategy:?}")),
    ] {
        text = set_top_level(&text, key, &value);
    }
    text.push_str(&format!(
        "\n# Faults drawn by [random_faults] with seed {} (kinds on: {}).\n",
        drawn.seed,
        kind_names(&drawn.enabled)
    ));
    for fault in &drawn.faults {
        text.push('\n');
        text.push_str(&fault_toml(fault));
    }
    // `--set` overrides are folded in through the TOML table, which drops the comments
    // (apart from the lesson at the top, kept as it was): say so in the file. Overrides of
    // `random_faults` are already in the drawn faults, and `name`, `seed` and `strategy`
    // are pinned above to what the run used: those are not folded in again.
    let folded: Vec<&String> = scenario
        .overrides
        .iter()
        .filter(|assignment| {
            let field = assignment.split(['=', '.']).next().unwrap_or("").trim();
            !["random_faults", "name", "seed", "strategy"].contains(&field)
        })
        .collect();
    if !folded.is_empty() {
        let mut table: toml::Table =
            toml::from_str(&text).map_err(|error| fail(&format!("the copy does not parse ({error})")))?;
        for assignment in &folded {
            crate::scenario::apply_override(&mut table, assignment)?;
        }
        let lesson: String = original
            .lines()
            .take_while(|l| l.trim_start().starts_with('#') || l.trim().is_empty())
            .map(|l| format!("{l}\n"))
            .collect();
        let body = toml::to_string(&table).map_err(|error| fail(&format!("cannot write TOML ({error})")))?;
        text = format!(
            "{lesson}# Saved by --save-scenario with --set {}: the overrides are folded in and the\n\
             # file was written anew from its settings, so its other comments are gone.\n\n{body}",
            folded.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(" --set ")
        );
    }
    let mut expected = scenario.clone();
    expected.overrides = Vec::new();
    expected.random_faults = None;
    expected.quiz = None;
    expected.faults = merge(&scenario.faults, &drawn.faults);
    expected.seed = drawn.seed;
    expected.seed_in_file = true;
    expected.strategy = strategy.to_string();
    match Scenario::parse(&text, file, &scenario.name) {
        Ok(parsed) if parsed == expected => Ok(text),
        Ok(_) => Err(fail("the copy does not parse back into the same scenario (write [random_faults] as a table of its own, one key per line)")),
        Err(error) => Err(fail(&format!("the copy does not parse ({error})"))),
    }
}

/// Sets a top-level `key = value` (a one-line value): replaces the line that sets it before
/// the first table header, or adds one after the leading comments (which `ordo explain`
/// prints).
fn set_top_level(text: &str, key: &str, value: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let first_table = lines.iter().position(|l| l.trim_start().starts_with('[')).unwrap_or(lines.len());
    let sets = |line: &str| line.trim_start().strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('='));
    let line = format!("{key} = {value}");
    if let Some(index) = lines[..first_table].iter().position(|l| sets(l)) {
        lines[index] = line;
    } else {
        let after_comments = lines
            .iter()
            .position(|l| {
                let l = l.trim();
                !(l.is_empty() || l.starts_with('#'))
            })
            .unwrap_or(lines.len());
        lines.insert(after_comments, line);
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}
