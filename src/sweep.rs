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
//! The distributions cover every counter `ordo run --json` prints ([`crate::counters::of`],
//! the one list both use). Each is a histogram (value → runs), exact, in memory
//! proportional to its distinct values: counters that take a handful of values across
//! seeds cost a few entries; latencies and times can take one value per seed (about 40
//! bytes each in the map). Per failing seed, the summary keeps its seed and a bit set of
//! its violated kinds (16 bytes). Per-kind counts are running sums. A chunk's full outcomes
//! are held only until they are folded in.

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

/// Whether a counter's value is nanoseconds (shown as milliseconds in text).
fn is_ns(name: &str) -> bool {
    name.ends_with("_ns")
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
    /// Every counter of the run ([`crate::counters::of`]), in that order (`None`: the run
    /// has no such value).
    pub metrics: Vec<(&'static str, Option<u64>)>,
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
    /// How many of them had a value other than zero.
    pub nonzero: u64,
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl Distribution {
    /// The distribution of `values`; all zeros when there are none.
    pub fn of(values: Vec<u64>) -> Distribution {
        let mut histogram = Histogram::default();
        for value in values {
            histogram.add(value);
        }
        histogram.distribution()
    }
}

/// How many runs had each value: exact nearest-rank percentiles in memory proportional to
/// the number of distinct values (most counters take a handful across seeds).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Histogram {
    counts: BTreeMap<u64, u64>,
    runs: u64,
}

impl Histogram {
    pub fn add(&mut self, value: u64) {
        self.add_runs(value, 1);
    }

    /// Counts `runs` more runs with `value` (saturating: a count never wraps).
    pub fn add_runs(&mut self, value: u64, runs: u64) {
        let count = self.counts.entry(value).or_insert(0);
        *count = count.saturating_add(runs);
        self.runs = self.runs.saturating_add(runs);
    }

    /// Every value with its number of runs, ascending.
    pub fn entries(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.counts.iter().map(|(&value, &runs)| (value, runs))
    }

    /// Adds another histogram's runs (merging shards: the result is the histogram of all
    /// their runs, whatever the order).
    pub fn merge(&mut self, other: &Histogram) {
        for (value, runs) in other.entries() {
            self.add_runs(value, runs);
        }
    }

    /// The value at 1-based `rank` in ascending order (`1 ≤ rank ≤ runs`).
    fn at_rank(&self, rank: u64) -> u64 {
        let mut seen = 0u64;
        for (&value, &count) in &self.counts {
            seen += count;
            if seen >= rank {
                return value;
            }
        }
        unreachable!("rank {rank} beyond {} runs", self.runs)
    }

    /// Nearest rank, as [`nearest_rank`].
    fn percentile(&self, percent: u64) -> u64 {
        self.at_rank((percent * self.runs).div_ceil(100).max(1))
    }

    pub fn distribution(&self) -> Distribution {
        let (Some((&min, _)), Some((&max, _))) = (self.counts.first_key_value(), self.counts.last_key_value()) else {
            return Distribution::default();
        };
        Distribution {
            runs: self.runs,
            nonzero: self.runs - self.counts.get(&0).copied().unwrap_or(0),
            min,
            p50: self.percentile(50),
            p90: self.percentile(90),
            p99: self.percentile(99),
            max,
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
    /// Per counter of the run ([`crate::counters::of`], in that order), across runs.
    pub metrics: Vec<(String, Distribution)>,
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
    let outcome = SeedOutcome {
        seed,
        events: result.outcome.stats.events,
        stop_reason: result.outcome.reason.as_str(),
        anomalies,
        metrics: crate::counters::of(&result).into_iter().map(|c| (c.name, c.value)).collect(),
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
/// It is all a sweep keeps of its runs, so it is also what a shard writes
/// ([`crate::shard`]): merging the shards' accumulators in seed order gives the one a
/// single sweep over all their seeds would have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accumulator {
    pub events: u64,
    pub stop_reasons: BTreeMap<&'static str, u64>,
    pub violated: BTreeMap<Kind, Tally>,
    pub allowed: BTreeMap<Kind, Tally>,
    /// Per counter, in [`crate::counters::of`] order: its name and values.
    pub values: Vec<(String, Histogram)>,
    pub failing: Vec<FailingSeed>,
}

impl Default for Accumulator {
    fn default() -> Accumulator {
        Accumulator::new()
    }
}

impl Accumulator {
    pub fn new() -> Accumulator {
        Accumulator {
            events: 0,
            stop_reasons: BTreeMap::new(),
            violated: BTreeMap::new(),
            allowed: BTreeMap::new(),
            values: Vec::new(),
            failing: Vec::new(),
        }
    }

    pub fn add(&mut self, outcome: &SeedOutcome) {
        self.events = self.events.saturating_add(outcome.events);
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
        if self.values.is_empty() {
            self.values = outcome.metrics.iter().map(|&(name, _)| (name.to_string(), Histogram::default())).collect();
        }
        assert_eq!(self.values.len(), outcome.metrics.len(), "every run has the same counters");
        for ((name, values), &(same, value)) in self.values.iter_mut().zip(&outcome.metrics) {
            debug_assert_eq!(name, same);
            if let Some(value) = value {
                values.add(value);
            }
        }
    }
}

impl Accumulator {
    /// Appends `later`, the accumulator of seeds that all come after this one's. The
    /// result is what one accumulator fed both seed ranges in order would hold, field by
    /// field (a shard merge relies on it; `tests/shard.rs` compares the bytes).
    pub fn append(&mut self, later: Accumulator) -> Result<(), String> {
        let Accumulator { events, stop_reasons, violated, allowed, values, failing } = later;
        self.events = self.events.saturating_add(events);
        for (reason, runs) in stop_reasons {
            let total = self.stop_reasons.entry(reason).or_insert(0);
            *total = total.saturating_add(runs);
        }
        for (mine, theirs) in [(&mut self.violated, violated), (&mut self.allowed, allowed)] {
            for (kind, tally) in theirs {
                let total = mine.entry(kind).or_default();
                total.seeds = total.seeds.saturating_add(tally.seeds);
                total.count = total.count.saturating_add(tally.count);
            }
        }
        if self.values.is_empty() {
            self.values = values;
        } else if !values.is_empty() {
            let names = |v: &[(String, Histogram)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
            if names(&self.values) != names(&values) {
                return Err("the runs have different counters".into());
            }
            for ((_, mine), (_, theirs)) in self.values.iter_mut().zip(&values) {
                mine.merge(theirs);
            }
        }
        if let (Some(last), Some(first)) = (self.failing.last(), failing.first()) {
            if first.seed <= last.seed {
                return Err(format!("failing seed {} comes after seed {}", first.seed, last.seed));
            }
        }
        self.failing.extend(failing);
        Ok(())
    }
}

/// Runs every seed of `spec.seeds` on `spec.threads` threads and summarises the verdicts.
pub fn sweep(spec: &SweepSpec<'_>) -> Result<Sweep, SweepError> {
    // Wall time measures the sweep for its Timing; it never enters a simulated run.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let accumulator = accumulate(spec, spec.seeds)?;
    let wall_ns = started.elapsed().as_nanos() as u64;
    Ok(summarise(spec, accumulator, Timing { threads: spec.threads, wall_ns }))
}

/// Runs the seeds `seeds` (all of `spec.seeds`, or one shard's slice of them) on
/// `spec.threads` threads, folding their outcomes in seed order.
pub fn accumulate(spec: &SweepSpec<'_>, seeds: SeedRange) -> Result<Accumulator, SweepError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(spec.threads)
        .thread_name(|index| format!("ordo-sweep-{index}"))
        .build()
        .map_err(|error| SweepError::Pool { threads: spec.threads, reason: error.to_string() })?;
    let bar = progress_bar(spec, seeds);
    let mut accumulator = Accumulator::new();
    let mut first = seeds.first;
    loop {
        let last = seeds.last.min(first.saturating_add(CHUNK_SEEDS - 1));
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
        if last == seeds.last {
            break;
        }
        first = last + 1;
    }
    bar.finish_and_clear();
    Ok(accumulator)
}

/// What names a sweep: everything in its summary that is not a count of its runs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    /// The scenario's name (after the strategy configured it).
    pub scenario: String,
    pub scenario_path: PathBuf,
    pub strategy: String,
    pub overrides: Vec<String>,
    pub expect: Vec<String>,
}

impl Identity {
    pub fn of(spec: &SweepSpec<'_>) -> Identity {
        let mut configured = spec.scenario.clone();
        spec.strategy.configure(&mut configured);
        Identity {
            scenario: configured.name,
            scenario_path: spec.scenario_path.to_path_buf(),
            strategy: spec.strategy.name(),
            overrides: spec.scenario.overrides.clone(),
            expect: configured.expect,
        }
    }
}

fn summarise(spec: &SweepSpec<'_>, accumulator: Accumulator, timing: Timing) -> Sweep {
    Sweep::of(Identity::of(spec), spec.seeds, accumulator, timing)
}

impl Sweep {
    /// The summary of the runs of `seeds`, folded into `accumulator` in seed order.
    pub fn of(identity: Identity, seeds: SeedRange, accumulator: Accumulator, timing: Timing) -> Sweep {
        let Identity { scenario, scenario_path, strategy, overrides, expect } = identity;
        let Accumulator { events, stop_reasons, violated, allowed, values, failing } = accumulator;
        let metrics = values
            .into_iter()
            .map(|(name, histogram)| {
                let d = histogram.distribution();
                (name, d)
            })
            .collect();
        Sweep {
            scenario,
            scenario_path,
            strategy,
            overrides,
            expect,
            seeds,
            events,
            stop_reasons,
            violated,
            allowed,
            metrics,
            failing,
            timing,
        }
    }
}

fn progress_bar(spec: &SweepSpec<'_>, seeds: SeedRange) -> indicatif::ProgressBar {
    if !spec.progress {
        return indicatif::ProgressBar::hidden();
    }
    // `new` draws on stderr, and not at all when stderr is not a terminal (CI, pipes).
    let bar = indicatif::ProgressBar::new(seeds.count());
    let template = "sweeping {msg} {wide_bar} {pos}/{len} seeds, {elapsed} elapsed, eta {eta}";
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_message(format!("{} with {}", spec.scenario.name, spec.strategy.name()));
    bar
}

impl Sweep {
    /// The distribution of the counter `name` (as `ordo run --json` names it).
    pub fn metric(&self, name: &str) -> Option<&Distribution> {
        self.metrics.iter().find(|(m, _)| m == name).map(|(_, d)| d)
    }

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
            .map(|(name, d)| {
                let value = json!({
                    "runs": d.runs,
                    "nonzero": d.nonzero,
                    "min": d.min,
                    "p50": d.p50,
                    "p90": d.p90,
                    "p99": d.p99,
                    "max": d.max,
                });
                (name.to_string(), value)
            })
            .collect();
        let failing: Vec<Value> = self
            .failing
            .iter()
            .map(|f| {
                let kinds: Vec<&str> = f.kinds().map(Kind::name).collect();
                json!({"seed": f.seed, "violated_kinds": kinds, "reproduce": self.reproduce(f.seed)})
            })
            .collect();
        json!({
            "schema_version": crate::cli::JSON_SCHEMA_VERSION,
            "scenario": self.scenario,
            "scenario_path": self.scenario_path.display().to_string(),
            "strategy": self.strategy,
            "expect": self.expect,
            "seeds": {"first": self.seeds.first, "last": self.seeds.last, "count": self.runs()},
            "events": self.events,
            "stop_reasons": self.stop_reasons,
            "failing_seeds": self.failing.len(),
            "violation_rate": self.violation_rate(),
            "violations": tallies(&self.violated),
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
            "per run (nearest rank)       {:>6} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "runs", "nonzero", "min", "p50", "p90", "p99", "max"
        );
        let mut zero = Vec::new();
        for (metric, d) in &self.metrics {
            let (metric, d) = (metric.as_str(), *d);
            if d.runs > 0 && d.max == 0 {
                zero.push(metric);
                continue;
            }
            let name = metric.strip_suffix("_ns").map(|n| format!("{n}_ms")).unwrap_or(metric.into());
            let cell = |value: u64| {
                if is_ns(metric) {
                    format!("{:.3}", value as f64 / 1e6)
                } else {
                    value.to_string()
                }
            };
            let _ = writeln!(
                s,
                "  {name:<26} {:>6} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10}",
                d.runs,
                d.nonzero,
                cell(d.min),
                cell(d.p50),
                cell(d.p90),
                cell(d.p99),
                cell(d.max)
            );
        }
        if !zero.is_empty() {
            let _ = writeln!(s, "  zero in every run: {}", zero.join(", "));
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
        assert_eq!((d.runs, d.nonzero, d.min, d.p50, d.p90, d.p99, d.max), (4, 4, 10, 20, 40, 40, 40));
        // The histogram gives what sorting every value gives, repeated values included.
        let values: Vec<u64> = (0..1000u64).map(|i| (i * 7919) % 37 / 5).collect();
        let mut sorted = values.clone();
        sorted.sort_unstable();
        let d = Distribution::of(values);
        let expected = [0, 50, 90, 99, 100].map(|p| nearest_rank(&sorted, p));
        assert_eq!([d.min, d.p50, d.p90, d.p99, d.max], expected);
        assert_eq!(d.nonzero, sorted.iter().filter(|&&v| v != 0).count() as u64);
        assert_eq!(Distribution::of(Vec::new()), Distribution::default());
    }

    #[test]
    fn failing_kinds_round_trip_through_the_bit_set() {
        let failing = FailingSeed { seed: 3, kinds: 1 | 1 << (Kind::ALL.len() - 1) };
        let kinds: Vec<Kind> = failing.kinds().collect();
        assert_eq!(kinds, vec![Kind::ALL[0], Kind::ALL[Kind::ALL.len() - 1]]);
    }
}
