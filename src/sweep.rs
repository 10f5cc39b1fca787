//! `ordo sweep`: one scenario and strategy over a range of seeds, run in parallel; the
//! checker judges every run and the sweep summarises its verdicts.
//!
//! Each worker runs one seed with the history kept in memory as a compact history
//! ([`crate::history::CompactHistory`], about 11 bytes a record), hands it to the
//! checker, and keeps only a [`SeedOutcome`] (counts and a few integers); the history is
//! dropped before the next seed starts. The seed range is cut into chunks of
//! [`CHUNK_SEEDS`]; a chunk runs on the rayon pool and its outcomes come back in seed
//! order (an indexed `collect`), then are folded into the summary in seed order.
//!
//! # Determinism
//! Everything in a [`Sweep`] except its [`Timing`] (threads, wall time, throughput) is a
//! function of the scenario, the strategy and the seed range only: the same for any number
//! of threads, byte for byte in both renderings. The outcome of a seed never depends on
//! which thread ran it or when; aggregation follows seed order, never completion order.
//!
//! # Percentiles
//! Nearest rank: over the `n` values sorted ascending, `p`-th percentile = the value at
//! 1-based rank `ceil(p × n / 100)` (rank 1 when that is 0). So p0 is the minimum, p100 the
//! maximum, and every reported percentile is a value some run actually had.
//!
//! # Memory
//! Per seed, the summary keeps the five metric values (40 bytes) for the distributions;
//! per failing seed, its seed and a bit set of its violated kinds (16 bytes). Per-kind
//! counts are running sums. At the limit of [`MAX_SEEDS`] seeds that is at most ~560 MB;
//! a chunk's full outcomes are held only until they are folded in.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde_json::{json, Value};

use crate::checker::{Kind, Status};
use crate::history::HistoryMode;
use crate::run::{reproduce_command, run, RunSpec};
use crate::scenario::Scenario;
use crate::strategy::StrategySet;

/// The most seeds one sweep runs.
pub const MAX_SEEDS: u64 = 10_000_000;

/// The seeds swept when `--seeds` is not given.
pub const DEFAULT_SEEDS: SeedRange = SeedRange { first: 1, last: 100 };

/// The most worker threads a sweep starts.
pub const MAX_THREADS: usize = 1024;

/// Seeds run between two folds into the summary (bounds the memory of full outcomes).
pub const CHUNK_SEEDS: u64 = 4096;

// A failing seed's violated kinds are a bit set over `Kind::ALL`.
const _: () = assert!(Kind::ALL.len() <= 64, "FailingSeed::kinds is a u64 bit set over Kind::ALL");

/// An inclusive range of seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    pub first: u64,
    pub last: u64,
}

impl SeedRange {
    /// Parses `--seeds`: a count `N` (seeds `1..=N`) or an inclusive range `A..B` (also
    /// written `A..=B`). At least one and at most [`MAX_SEEDS`] seeds. The error says what
    /// was expected, without the flag's name (the caller adds it).
    pub fn parse(text: &str) -> Result<SeedRange, String> {
        let text = text.trim();
        let expected = "expected a count N (seeds 1..N) such as 200, or an inclusive range A..B such as 1..1000";
        let number = |part: &str| {
            part.trim().parse::<u64>().map_err(|_| format!("{part:?} is not a seed (a whole number ≥ 0); {expected}"))
        };
        let range = match text.split_once("..") {
            None => {
                let count = number(text)?;
                if count == 0 {
                    return Err(format!("0 seeds; {expected}"));
                }
                SeedRange { first: 1, last: count }
            }
            Some((first, last)) => {
                let last = last.strip_prefix('=').unwrap_or(last);
                let range = SeedRange { first: number(first)?, last: number(last)? };
                if range.first > range.last {
                    return Err(format!(
                        "the range {text} is empty (it starts after it ends); expected A..B with A ≤ B, both inclusive"
                    ));
                }
                range
            }
        };
        if range.count() > MAX_SEEDS {
            return Err(format!("{text} is {} seeds; a sweep runs at most {MAX_SEEDS}", range.count()));
        }
        Ok(range)
    }

    /// How many seeds the range holds (saturates at `u64::MAX` for `0..u64::MAX`).
    pub fn count(&self) -> u64 {
        (self.last - self.first).saturating_add(1)
    }
}

impl std::fmt::Display for SeedRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.first, self.last)
    }
}

/// What to sweep.
pub struct SweepSpec<'a> {
    pub scenario: Scenario,
    /// Where the scenario came from, for the reproduce commands.
    pub scenario_path: &'a Path,
    pub strategy: StrategySet,
    pub seeds: SeedRange,
    /// Worker threads (a local rayon pool of this size).
    pub threads: usize,
    /// Draw a progress bar on stderr (indicatif hides it anyway when stderr is not a terminal).
    pub progress: bool,
}

/// A per-run figure whose distribution across seeds the sweep reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    /// Mean produce-to-apply latency of the run (integer ns; runs with no apply have none).
    LatencyMean,
    /// The run's median and 99th-percentile produce-to-apply latency (over its applies).
    LatencyP50,
    LatencyP99,
    /// Largest produce-to-apply latency of the run (runs with no apply have none).
    LatencyMax,
    /// First-time applies per simulated second, first create to last apply.
    Throughput,
    /// Producer retries (send attempts beyond the first of a batch).
    Retries,
    /// Expected-version appends refused because the stream had moved on.
    Conflicts,
    /// Events applied more than once by the group.
    DuplicateApplies,
    /// Events a consumer strategy dropped as late or stale (dead-lettered).
    DeadLettered,
    /// Gaps a reorder buffer gave up waiting for (skipped).
    SkippedGaps,
    /// Most events one consumer held at once, and events still held at the end.
    HeldMax,
    HeldAtEnd,
    /// Time partitions stood unowned during rebalances, summed over partitions.
    RebalancePause,
    /// Simulated time at which the run ended.
    SimTime,
}

impl Metric {
    pub const ALL: [Metric; 14] = [
        Metric::LatencyMean,
        Metric::LatencyP50,
        Metric::LatencyP99,
        Metric::LatencyMax,
        Metric::Throughput,
        Metric::Retries,
        Metric::Conflicts,
        Metric::DuplicateApplies,
        Metric::DeadLettered,
        Metric::SkippedGaps,
        Metric::HeldMax,
        Metric::HeldAtEnd,
        Metric::RebalancePause,
        Metric::SimTime,
    ];

    /// The JSON name (unit last).
    pub fn name(self) -> &'static str {
        match self {
            Metric::LatencyMean => "latency_mean_ns",
            Metric::LatencyP50 => "latency_p50_ns",
            Metric::LatencyP99 => "latency_p99_ns",
            Metric::LatencyMax => "latency_max_ns",
            Metric::Throughput => "throughput_per_sec",
            Metric::Retries => "retries",
            Metric::Conflicts => "conflicts",
            Metric::DuplicateApplies => "duplicate_applies",
            Metric::DeadLettered => "dead_lettered",
            Metric::SkippedGaps => "skipped_gaps",
            Metric::HeldMax => "held_max",
            Metric::HeldAtEnd => "held_at_end",
            Metric::RebalancePause => "rebalance_pause_ns",
            Metric::SimTime => "sim_time_ns",
        }
    }

    /// Whether the value is nanoseconds (shown as milliseconds in text).
    fn is_ns(self) -> bool {
        matches!(
            self,
            Metric::LatencyMean
                | Metric::LatencyP50
                | Metric::LatencyP99
                | Metric::LatencyMax
                | Metric::RebalancePause
                | Metric::SimTime
        )
    }
}

/// Everything the sweep keeps of one seed's run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedOutcome {
    pub seed: u64,
    /// Engine events handled.
    pub events: u64,
    /// Why the run stopped (`ordo_sim::StopReason::as_str`).
    pub stop_reason: &'static str,
    /// Every anomaly kind the checker found, with its status and count, in `Kind` order.
    pub anomalies: Vec<(Kind, Status, u64)>,
    /// The values of [`Metric::ALL`], in that order (`None`: the run has no such value).
    pub metrics: [Option<u64>; Metric::ALL.len()],
}

impl SeedOutcome {
    /// Whether something the scenario expects is violated.
    pub fn is_failing(&self) -> bool {
        self.anomalies.iter().any(|&(_, status, _)| status == Status::Violated)
    }
}

/// A seed with at least one violation of what the scenario expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailingSeed {
    pub seed: u64,
    /// Bit `i` set: `Kind::ALL[i]` is violated in this run.
    pub kinds: u64,
}

impl FailingSeed {
    /// The violated kinds, most serious first.
    pub fn kinds(&self) -> impl Iterator<Item = Kind> + '_ {
        Kind::ALL.iter().enumerate().filter(|(i, _)| self.kinds & (1 << i) != 0).map(|(_, kind)| *kind)
    }
}

/// In how many seeds a kind appeared, and how often in all, for one status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub seeds: u64,
    pub count: u64,
}

/// A distribution across runs (nearest-rank percentiles; see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Distribution {
    /// How many runs had a value.
    pub runs: u64,
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl Distribution {
    /// The distribution of `values` (sorted here); all zeros when there are none.
    pub fn of(mut values: Vec<u64>) -> Distribution {
        if values.is_empty() {
            return Distribution::default();
        }
        values.sort_unstable();
        Distribution {
            runs: values.len() as u64,
            min: values[0],
            p50: nearest_rank(&values, 50),
            p90: nearest_rank(&values, 90),
            p99: nearest_rank(&values, 99),
            max: values[values.len() - 1],
        }
    }
}

/// The nearest-rank `percent`-th percentile of ascending `sorted` (not empty).
pub fn nearest_rank(sorted: &[u64], percent: u64) -> u64 {
    assert!(!sorted.is_empty() && percent <= 100);
    let rank = (percent * sorted.len() as u64).div_ceil(100).max(1);
    sorted[(rank - 1) as usize]
}

/// How the sweep ran: the only part of a [`Sweep`] that varies between identical sweeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    pub threads: usize,
    pub wall_ns: u64,
}

/// The summary of a sweep.
#[derive(Clone, Debug)]
pub struct Sweep {
    pub scenario: String,
    pub scenario_path: PathBuf,
    pub strategy: String,
    /// The `--set` overrides every run used.
    pub overrides: Vec<String>,
    /// The guarantees the scenario expects (after the strategy configured it).
    pub expect: Vec<String>,
    pub seeds: SeedRange,
    /// Engine events handled, all runs together.
    pub events: u64,
    /// Runs per stop reason.
    pub stop_reasons: BTreeMap<&'static str, u64>,
    /// Per kind (most serious first), violated and allowed.
    pub violated: BTreeMap<Kind, Tally>,
    pub allowed: BTreeMap<Kind, Tally>,
    /// Per metric, across runs.
    pub metrics: BTreeMap<Metric, Distribution>,
    /// Every failing seed, ascending.
    pub failing: Vec<FailingSeed>,
    pub timing: Timing,
}

/// Something that is not the user's fault went wrong (a bug, or the OS refused threads).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("cannot start {threads} worker threads: {reason}")]
    Pool { threads: usize, reason: String },
    #[error("seed {seed}: {reason}")]
    Run { seed: u64, reason: String },
    #[error("seed {seed}: ordo wrote a history its checker rejects (a bug): {reason}")]
    Check { seed: u64, reason: String },
}

/// Runs one seed, checks its history, keeps the summary and drops the history.
pub fn run_seed(spec: &SweepSpec<'_>, seed: u64) -> Result<SeedOutcome, SweepError> {
    let result = run(RunSpec {
        scenario: spec.scenario.clone(),
        scenario_path: spec.scenario_path,
        strategy: StrategySet { members: spec.strategy.members.clone() },
        seed,
        history_mode: HistoryMode::Compact,
        history_file: None,
        keep_history: false,
    })
    .map_err(|error| SweepError::Run { seed, reason: error.to_string() })?;
    // The compact history goes to the checker field by field: the report is the one its
    // JSONL would give (`history::fields`), without formatting and parsing the text.
    let history = result.history.compact.as_ref().expect("compact mode keeps the history");
    let report =
        history.check("history", None).map_err(|error| SweepError::Check { seed, reason: error.to_string() })?;
    let counts = report.all_counts();
    let anomalies: Vec<(Kind, Status, u64)> = Kind::ALL
        .iter()
        .filter_map(|&kind| counts.get(kind.name()).map(|&n| (kind, report.status_of(kind), n)))
        .filter(|&(_, _, n)| n > 0)
        .collect();
    let stats = &result.stats;
    let applied = stats.applies > 0;
    let outcome = SeedOutcome {
        seed,
        events: result.outcome.stats.events,
        stop_reason: result.outcome.reason.as_str(),
        anomalies,
        metrics: [
            applied.then(|| stats.latency_sum_ns / stats.applies),
            applied.then_some(stats.latency_p50_ns),
            applied.then_some(stats.latency_p99_ns),
            applied.then_some(stats.latency_max_ns),
            applied.then(|| result.throughput_per_sec()),
            Some(stats.retries),
            Some(stats.conflicts),
            Some(stats.duplicate_applies),
            Some(stats.dead_lettered),
            Some(stats.skipped_gaps),
            Some(stats.held_max),
            Some(stats.held_at_end),
            Some(stats.rebalance_pause_ns),
            Some(result.outcome.end_ns),
        ],
    };
    debug_assert_eq!(outcome.is_failing(), report.exit_code() == 1, "seed {seed}");
    // The summary rebuilds each failing seed's command instead of keeping the string.
    debug_assert_eq!(
        result.reproduce,
        reproduce_command(spec.scenario_path, seed, &spec.strategy.name(), &spec.scenario.overrides)
    );
    Ok(outcome)
}

/// Folds seed outcomes, in seed order, into the summary's running sums and value lists.
struct Accumulator {
    events: u64,
    stop_reasons: BTreeMap<&'static str, u64>,
    violated: BTreeMap<Kind, Tally>,
    allowed: BTreeMap<Kind, Tally>,
    values: [Vec<u64>; Metric::ALL.len()],
    failing: Vec<FailingSeed>,
}

impl Accumulator {
    fn new(seeds: u64) -> Accumulator {
        let capacity = seeds.min(CHUNK_SEEDS * 16) as usize;
        Accumulator {
            events: 0,
            stop_reasons: BTreeMap::new(),
            violated: BTreeMap::new(),
            allowed: BTreeMap::new(),
            values: std::array::from_fn(|_| Vec::with_capacity(capacity)),
            failing: Vec::new(),
        }
    }

    fn add(&mut self, outcome: &SeedOutcome) {
        self.events += outcome.events;
        *self.stop_reasons.entry(outcome.stop_reason).or_insert(0) += 1;
        let mut failing_kinds = 0u64;
        for &(kind, status, count) in &outcome.anomalies {
            let table = match status {
                Status::Violated => &mut self.violated,
                Status::Allowed => &mut self.allowed,
            };
            let tally = table.entry(kind).or_default();
            tally.seeds += 1;
            tally.count += count;
            if status == Status::Violated {
                let index = Kind::ALL.iter().position(|&k| k == kind).expect("every kind is in Kind::ALL");
                failing_kinds |= 1 << index;
            }
        }
        if failing_kinds != 0 {
            self.failing.push(FailingSeed { seed: outcome.seed, kinds: failing_kinds });
        }
        for (values, value) in self.values.iter_mut().zip(outcome.metrics) {
            values.extend(value);
        }
    }
}

/// Runs every seed of `spec.seeds` on `spec.threads` threads and summarises the verdicts.
pub fn sweep(spec: &SweepSpec<'_>) -> Result<Sweep, SweepError> {
    // Wall time measures the sweep for its Timing; it never enters a simulated run.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(spec.threads)
        .thread_name(|index| format!("ordo-sweep-{index}"))
        .build()
        .map_err(|error| SweepError::Pool { threads: spec.threads, reason: error.to_string() })?;
    let bar = progress_bar(spec);
    let mut accumulator = Accumulator::new(spec.seeds.count());
    let mut first = spec.seeds.first;
    loop {
        let last = spec.seeds.last.min(first.saturating_add(CHUNK_SEEDS - 1));
        let length = (last - first + 1) as usize;
        // An indexed parallel iterator: `collect` puts outcome i at index i, whichever
        // thread finished it and whenever.
        let outcomes: Vec<Result<SeedOutcome, SweepError>> = pool.install(|| {
            (0..length)
                .into_par_iter()
                .map(|offset| {
                    let outcome = run_seed(spec, first + offset as u64);
                    bar.inc(1);
                    outcome
                })
                .collect()
        });
        for outcome in outcomes {
            accumulator.add(&outcome?);
        }
        if last == spec.seeds.last {
            break;
        }
        first = last + 1;
    }
    bar.finish_and_clear();
    let wall_ns = started.elapsed().as_nanos() as u64;
    Ok(summarise(spec, accumulator, Timing { threads: spec.threads, wall_ns }))
}

fn summarise(spec: &SweepSpec<'_>, accumulator: Accumulator, timing: Timing) -> Sweep {
    let mut configured = spec.scenario.clone();
    spec.strategy.configure(&mut configured);
    let Accumulator { events, stop_reasons, violated, allowed, values, failing } = accumulator;
    let metrics = Metric::ALL.into_iter().zip(values).map(|(m, v)| (m, Distribution::of(v))).collect();
    Sweep {
        scenario: configured.name,
        scenario_path: spec.scenario_path.to_path_buf(),
        strategy: spec.strategy.name(),
        overrides: spec.scenario.overrides.clone(),
        expect: configured.expect,
        seeds: spec.seeds,
        events,
        stop_reasons,
        violated,
        allowed,
        metrics,
        failing,
        timing,
    }
}

fn progress_bar(spec: &SweepSpec<'_>) -> indicatif::ProgressBar {
    if !spec.progress {
        return indicatif::ProgressBar::hidden();
    }
    // `new` draws on stderr, and not at all when stderr is not a terminal (CI, pipes).
    let bar = indicatif::ProgressBar::new(spec.seeds.count());
    let template = "sweeping {msg} {wide_bar} {pos}/{len} seeds, {elapsed} elapsed, eta {eta}";
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_message(format!("{} with {}", spec.scenario.name, spec.strategy.name()));
    bar
}

impl Sweep {
    /// Seeds run.
    pub fn runs(&self) -> u64 {
        self.seeds.count()
    }

    /// Failing seeds / seeds run.
    pub fn violation_rate(&self) -> f64 {
        self.failing.len() as f64 / self.runs() as f64
    }

    /// The command that reproduces one seed's run (the same as that run's `reproduce`).
    pub fn reproduce(&self, seed: u64) -> String {
        reproduce_command(&self.scenario_path, seed, &self.strategy, &self.overrides)
    }

    /// 0 unless `fail_on_violation` and some seed violates what the scenario expects.
    pub fn exit_code(&self, fail_on_violation: bool) -> i32 {
        i32::from(fail_on_violation && !self.failing.is_empty())
    }

    fn timing_json(&self) -> Value {
        let seconds = self.timing.wall_ns.max(1) as f64 / 1e9;
        json!({
            "threads": self.timing.threads,
            "wall_ms": self.timing.wall_ns as f64 / 1e6,
            "runs_per_sec": (self.runs() as f64 / seconds).round() as u64,
            "events_per_sec": (self.events as f64 / seconds).round() as u64,
        })
    }

    /// One JSON object; every key but `timing` is the same for any number of threads.
    /// Every failing seed is listed.
    pub fn to_json(&self) -> Value {
        let tallies = |table: &BTreeMap<Kind, Tally>| -> serde_json::Map<String, Value> {
            table.iter().map(|(k, t)| (k.name().to_string(), json!({"seeds": t.seeds, "count": t.count}))).collect()
        };
        let metrics: serde_json::Map<String, Value> = self
            .metrics
            .iter()
            .map(|(m, d)| {
                let value =
                    json!({"runs": d.runs, "min": d.min, "p50": d.p50, "p90": d.p90, "p99": d.p99, "max": d.max});
                (m.name().to_string(), value)
            })
            .collect();
        let failing: Vec<Value> = self
            .failing
            .iter()
            .map(|f| {
                let kinds: Vec<&str> = f.kinds().map(Kind::name).collect();
                json!({"seed": f.seed, "violated": kinds, "reproduce": self.reproduce(f.seed)})
            })
            .collect();
        json!({
            "scenario": self.scenario,
            "scenario_path": self.scenario_path.display().to_string(),
            "strategy": self.strategy,
            "expect": self.expect,
            "seeds": {"first": self.seeds.first, "last": self.seeds.last, "count": self.runs()},
            "events": self.events,
            "stop_reasons": self.stop_reasons,
            "failing_seeds": self.failing.len(),
            "violation_rate": self.violation_rate(),
            "violated": tallies(&self.violated),
            "allowed": tallies(&self.allowed),
            "metrics": metrics,
            "failing": failing,
            "timing": self.timing_json(),
        })
    }

    /// The readable summary: everything but the last line (`timing: …`) is the same for
    /// any number of threads. Shows at most `show_failing` failing seeds.
    pub fn render_text(&self, show_failing: usize) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "swept {} ({}) with strategy {} over seeds {} ({} runs)",
            self.scenario,
            self.scenario_path.display(),
            self.strategy,
            self.seeds,
            self.runs()
        );
        let expect = if self.expect.is_empty() { "nothing".to_string() } else { self.expect.join(", ") };
        let failing = self.failing.len();
        let _ = writeln!(
            s,
            "violation rate: {failing}/{} seeds ({:.2} %) violate what the scenario expects ({expect})",
            self.runs(),
            100.0 * self.violation_rate()
        );
        let reasons: Vec<String> = self.stop_reasons.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let _ = writeln!(s, "engine events: {} in all; runs stopped: {}", self.events, reasons.join(", "));
        self.render_kinds(&mut s);
        self.render_metrics(&mut s);
        self.render_failing(&mut s, show_failing);
        let timing = self.timing_json();
        let _ = writeln!(
            s,
            "timing: {} thread{}, {:.3} s wall, {} runs/s, {} engine events/s",
            self.timing.threads,
            if self.timing.threads == 1 { "" } else { "s" },
            self.timing.wall_ns as f64 / 1e9,
            timing["runs_per_sec"],
            timing["events_per_sec"]
        );
        s
    }

    fn render_kinds(&self, s: &mut String) {
        if self.violated.is_empty() && self.allowed.is_empty() {
            let _ = writeln!(s, "anomalies: none in any seed");
            return;
        }
        let _ = writeln!(s, "{:<24}{:>8} {:>10}", "anomalies", "seeds", "count");
        for (title, table) in [("violated", &self.violated), ("allowed", &self.allowed)] {
            if table.is_empty() {
                continue;
            }
            let _ = writeln!(s, "  {title}:");
            for (kind, tally) in table {
                let _ = writeln!(s, "    {:<20}{:>8} {:>10}", kind.name(), tally.seeds, tally.count);
            }
        }
    }

    fn render_metrics(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "per run (nearest rank) {:>6} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "runs", "min", "p50", "p90", "p99", "max"
        );
        for (metric, d) in &self.metrics {
            let name = metric.name().strip_suffix("_ns").map(|n| format!("{n}_ms")).unwrap_or(metric.name().into());
            let cell = |value: u64| {
                if metric.is_ns() {
                    format!("{:.3}", value as f64 / 1e6)
                } else {
                    value.to_string()
                }
            };
            let _ = writeln!(
                s,
                "  {name:<20} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10}",
                d.runs,
                cell(d.min),
                cell(d.p50),
                cell(d.p90),
                cell(d.p99),
                cell(d.max)
            );
        }
    }

    fn render_failing(&self, s: &mut String, show_failing: usize) {
        if self.failing.is_empty() {
            return;
        }
        let shown = self.failing.len().min(show_failing);
        let _ = writeln!(s, "failing seeds ({}, showing {shown}), each reproduced by:", self.failing.len());
        for failing in &self.failing[..shown] {
            let kinds: Vec<&str> = failing.kinds().map(Kind::name).collect();
            let _ = writeln!(s, "  {}  # {}", self.reproduce(failing.seed), kinds.join(", "));
        }
        if self.failing.len() > shown {
            let _ = writeln!(
                s,
                "  … and {} more (--show-failing N shows more; --json lists all)",
                self.failing.len() - shown
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_as_a_count_or_an_inclusive_range() {
        assert_eq!(SeedRange::parse("200"), Ok(SeedRange { first: 1, last: 200 }));
        assert_eq!(SeedRange::parse("1..1000"), Ok(SeedRange { first: 1, last: 1000 }));
        assert_eq!(SeedRange::parse("7..=7"), Ok(SeedRange { first: 7, last: 7 }));
        assert_eq!(SeedRange::parse("0..9").map(|r| r.count()), Ok(10));
        assert_eq!(SeedRange::parse("1..10000000").map(|r| r.count()), Ok(MAX_SEEDS));
        for bad in ["5..2", "abc", "0", "", "1..", "..5", "-1..3", "1..10000001", "0..18446744073709551615"] {
            assert!(SeedRange::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(SeedRange::parse("5..2").unwrap_err().contains("A ≤ B"));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u64> = (1..=10).collect();
        assert_eq!(nearest_rank(&values, 0), 1);
        assert_eq!(nearest_rank(&values, 50), 5);
        assert_eq!(nearest_rank(&values, 90), 9);
        assert_eq!(nearest_rank(&values, 99), 10);
        assert_eq!(nearest_rank(&values, 100), 10);
        assert_eq!(nearest_rank(&[42], 50), 42);
        let d = Distribution::of(vec![30, 10, 20, 40]);
        assert_eq!((d.runs, d.min, d.p50, d.p90, d.p99, d.max), (4, 10, 20, 40, 40, 40));
        assert_eq!(Distribution::of(Vec::new()), Distribution::default());
    }

    #[test]
    fn failing_kinds_round_trip_through_the_bit_set() {
        let failing = FailingSeed { seed: 3, kinds: 1 | 1 << (Kind::ALL.len() - 1) };
        let kinds: Vec<Kind> = failing.kinds().collect();
        assert_eq!(kinds, vec![Kind::ALL[0], Kind::ALL[Kind::ALL.len() - 1]]);
    }
}
