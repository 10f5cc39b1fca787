//! Sweeps and matrices split across machines: `--shard I/N` runs one deterministic slice
//! of the seed range and writes a **partial**; `ordo merge` joins the partials into the
//! output one machine would have printed.
//!
//! # Slices
//! Shard `I` of `N` (0-based, as Kubernetes' `JOB_COMPLETION_INDEX`) runs the contiguous
//! seeds `first + ⌊c·I/N⌋ … first + ⌊c·(I+1)/N⌋ − 1` of a range of `c` seeds: the slices
//! cover the range once, in order, differ in size by at most one seed, and need no
//! communication. A matrix shard runs that slice of every cell.
//!
//! # Why the merge is exact
//! A sweep keeps nothing of a run but what it folds into its [`Accumulator`] (sums, exact
//! histograms of every counter, the failing seeds), and it folds seeds in seed order. A
//! partial holds its slice's accumulator; [`Accumulator::append`] joins the slices in
//! shard order, which is seed order, so the merged accumulator is field for field the one
//! a single sweep builds, and the summary printed from it is byte for byte the same. Only
//! the timing differs: a merge reports the shards' threads added up and the longest
//! shard's wall time (as if they ran side by side).
//!
//! # What a partial holds, and what it refuses
//! A summary, never a history: the identity of the work (ordo's version, the kind, the
//! scenario's name, path and the SHA-256 of its text, the strategy, the `--set`
//! overrides, the seed range, the shard) and the accumulator. `ordo merge` refuses, with
//! exit 2 and the file's name, partials of another version or format, of other work, of
//! another shard count, two files for one shard, a missing shard, and counts that do not
//! add up to the shard's seeds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::checker::Kind;
use crate::matrix::{Cell, Matrix, MatrixError, MatrixSpec};
use crate::sweep::{
    accumulate, Accumulator, FailingSeed, Histogram, Identity, SeedRange, Sweep, SweepError, SweepSpec, Tally, Timing,
};

/// The partial format's version; a merge refuses any other.
pub const FORMAT: u32 = 1;

/// The most shards a range is cut into.
pub const MAX_SHARDS: u64 = 1_000_000;

/// One shard: the `index`-th (0-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parses `I/N`: 0 ≤ I < N ≤ [`MAX_SHARDS`]. The error says what was expected.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let expected = format!(
            "expected I/N with 0 ≤ I < N ≤ {MAX_SHARDS}: shard I (0-based, as JOB_COMPLETION_INDEX) of N, e.g. 0/4 … 3/4"
        );
        let (index, count) = text.trim().split_once('/').ok_or_else(|| format!("{text:?} has no `/`; {expected}"))?;
        let number =
            |part: &str| part.trim().parse::<u64>().map_err(|_| format!("{part:?} is not a whole number; {expected}"));
        let shard = Shard { index: number(index)?, count: number(count)? };
        if shard.count == 0 || shard.count > MAX_SHARDS {
            return Err(format!("{} shards; {expected}", shard.count));
        }
        if shard.index >= shard.count {
            return Err(format!(
                "shard {} of {} does not exist (the first is 0, the last {}); {expected}",
                shard.index,
                shard.count,
                shard.count - 1
            ));
        }
        Ok(shard)
    }

    /// This shard's contiguous slice of `seeds`; `None` when it is empty (more shards
    /// than seeds).
    pub fn slice(&self, seeds: SeedRange) -> Option<SeedRange> {
        let count = u128::from(seeds.count());
        let at = |i: u64| (count * u128::from(i) / u128::from(self.count)) as u64;
        let (start, end) = (at(self.index), at(self.index + 1));
        (start < end).then(|| SeedRange { first: seeds.first + start, last: seeds.first + (end - 1) })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The SHA-256 of a scenario's text, in hex: two shards agree on the scenario when this
/// agrees.
pub fn scenario_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// One shard's output file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partial {
    /// [`FORMAT`].
    pub ordo_partial: u32,
    pub ordo_version: String,
    pub shard: Shard,
    /// The whole seed range the shards split.
    pub seeds: Seeds,
    /// This shard's slice (`None`: empty).
    pub shard_seeds: Option<Seeds>,
    pub threads: usize,
    pub wall_ns: u64,
    pub work: Work,
}

/// A seed range as a partial spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seeds {
    pub first: u64,
    pub last: u64,
}

impl From<SeedRange> for Seeds {
    fn from(range: SeedRange) -> Seeds {
        Seeds { first: range.first, last: range.last }
    }
}

impl From<Seeds> for SeedRange {
    fn from(seeds: Seeds) -> SeedRange {
        SeedRange { first: seeds.first, last: seeds.last }
    }
}

/// What a partial is part of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Work {
    Sweep { identity: Identity, scenario_sha256: String, counts: Counts },
    Matrix { scenarios: Vec<Row>, strategies: Vec<(String, String)>, cells: Vec<CellPart> },
    Explore(ExplorePart),
}

impl Work {
    fn kind(&self) -> &'static str {
        match self {
            Work::Sweep { .. } => "sweep",
            Work::Matrix { .. } => "matrix",
            Work::Explore(_) => "explore",
        }
    }
}

/// An `ordo explore` grid's slice: what names the grid, and every point's counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplorePart {
    pub scenario_sha256: String,
    pub scenario: String,
    pub scenario_path: String,
    pub overrides: Vec<String>,
    /// Each `--vary` field with its values.
    pub vary: Vec<(String, Vec<String>)>,
    pub strategies: usize,
    /// The chart's axes, as `--x` and `--y` name them.
    pub x: String,
    pub y: String,
    pub points: Vec<PointPart>,
}

impl ExplorePart {
    /// Equal apart from the points' counts.
    fn same_grid(&self, other: &ExplorePart) -> bool {
        let names = |e: &ExplorePart| -> Vec<(String, Vec<String>, Identity)> {
            e.points.iter().map(|p| (p.strategy.clone(), p.values.clone(), p.identity.clone())).collect()
        };
        (&self.scenario_sha256, &self.scenario, &self.scenario_path, &self.overrides, &self.vary)
            == (&other.scenario_sha256, &other.scenario, &other.scenario_path, &other.overrides, &other.vary)
            && (self.strategies, &self.x, &self.y) == (other.strategies, &other.x, &other.y)
            && names(self) == names(other)
    }
}

/// One grid point's slice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointPart {
    pub strategy: String,
    pub values: Vec<String>,
    pub identity: Identity,
    pub counts: Counts,
}

/// A matrix row: a scenario's name, summary and fault family, and the SHA-256 of its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub name: String,
    pub summary: String,
    pub family: String,
    pub sha256: String,
}

/// One matrix cell's slice: its sweep with the scenario's own workload, and its
/// closed-loop pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellPart {
    pub identity: Identity,
    pub counts: Counts,
    pub closed_identity: Identity,
    pub closed_counts: Counts,
}

/// An [`Accumulator`] as a file spells it (names instead of types).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub events: u64,
    pub stop_reasons: BTreeMap<String, u64>,
    /// Per kind: `[seeds, count]`.
    pub violated: BTreeMap<String, [u64; 2]>,
    pub allowed: BTreeMap<String, [u64; 2]>,
    /// Per counter, in run order: its histogram as `[value, runs]` pairs, ascending.
    pub metrics: Vec<(String, Vec<[u64; 2]>)>,
    /// Every failing seed, ascending, with its violated kinds.
    pub failing: Vec<(u64, Vec<String>)>,
}

impl Counts {
    pub fn of(accumulator: &Accumulator) -> Counts {
        let tallies = |table: &BTreeMap<Kind, Tally>| {
            table.iter().map(|(kind, tally)| (kind.name().to_string(), [tally.seeds, tally.count])).collect()
        };
        Counts {
            events: accumulator.events,
            stop_reasons: accumulator.stop_reasons.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
            violated: tallies(&accumulator.violated),
            allowed: tallies(&accumulator.allowed),
            metrics: accumulator
                .values
                .iter()
                .map(|(name, histogram)| (name.clone(), histogram.entries().map(|(v, n)| [v, n]).collect()))
                .collect(),
            failing: accumulator
                .failing
                .iter()
                .map(|f| (f.seed, f.kinds().map(|k| k.name().to_string()).collect()))
                .collect(),
        }
    }

    /// Back to an accumulator, checking every name and that the counts fit `seeds`.
    fn accumulator(&self, seeds: Option<SeedRange>) -> Result<Accumulator, String> {
        let runs = seeds.map_or(0, |s| s.count());
        let kind = |name: &str| {
            Kind::ALL.iter().copied().find(|k| k.name() == name).ok_or_else(|| format!("unknown anomaly kind {name:?}"))
        };
        let mut stop_reasons = BTreeMap::new();
        for (reason, &n) in &self.stop_reasons {
            let known = ordo_sim::StopReason::ALL
                .iter()
                .map(|r| r.as_str())
                .find(|r| r == reason)
                .ok_or_else(|| format!("unknown stop reason {reason:?}"))?;
            stop_reasons.insert(known, n);
        }
        let total = stop_reasons.values().try_fold(0u64, |sum, &n| sum.checked_add(n));
        if total != Some(runs) {
            return Err(format!(
                "its stop reasons count {} runs, but its slice has {runs} seeds",
                total.map_or("too many".into(), |t| t.to_string())
            ));
        }
        let tallies = |table: &BTreeMap<String, [u64; 2]>| -> Result<BTreeMap<Kind, Tally>, String> {
            table
                .iter()
                .map(|(name, &[seeds, count])| {
                    if seeds > runs {
                        return Err(format!("{name} in {seeds} seeds of {runs}"));
                    }
                    Ok((kind(name)?, Tally { seeds, count }))
                })
                .collect()
        };
        let mut values = Vec::with_capacity(self.metrics.len());
        for (name, entries) in &self.metrics {
            let mut histogram = Histogram::default();
            let mut previous = None;
            for &[value, n] in entries {
                if previous.is_some_and(|p| p >= value) || n == 0 {
                    return Err(format!("counter {name}: values must ascend, each with at least one run"));
                }
                previous = Some(value);
                histogram.add_runs(value, n);
            }
            if histogram.distribution().runs > runs {
                return Err(format!("counter {name} has more values than the slice has seeds"));
            }
            values.push((name.clone(), histogram));
        }
        let mut failing: Vec<FailingSeed> = Vec::with_capacity(self.failing.len());
        for (seed, kinds) in &self.failing {
            if !seeds.is_some_and(|s| (s.first..=s.last).contains(seed)) {
                return Err(format!("failing seed {seed} is not in its slice"));
            }
            if failing.last().is_some_and(|f| f.seed >= *seed) {
                return Err(format!("failing seed {seed} is out of order"));
            }
            let mut bits = 0u64;
            for name in kinds {
                let kind = kind(name)?;
                bits |= 1 << Kind::ALL.iter().position(|&k| k == kind).expect("kind is in Kind::ALL");
            }
            if bits == 0 {
                return Err(format!("failing seed {seed} has no violated kind"));
            }
            failing.push(FailingSeed { seed: *seed, kinds: bits });
        }
        Ok(Accumulator {
            events: self.events,
            stop_reasons,
            violated: tallies(&self.violated)?,
            allowed: tallies(&self.allowed)?,
            values,
            failing,
        })
    }
}

fn partial(shard: Shard, seeds: SeedRange, threads: usize, wall_ns: u64, work: Work) -> Partial {
    Partial {
        ordo_partial: FORMAT,
        ordo_version: env!("CARGO_PKG_VERSION").to_string(),
        shard,
        seeds: seeds.into(),
        shard_seeds: shard.slice(seeds).map(Seeds::from),
        threads,
        wall_ns,
        work,
    }
}

/// Wall time, for the partial's timing only (never inside a simulated run).
fn clock() -> std::time::Instant {
    #[allow(clippy::disallowed_methods)]
    std::time::Instant::now()
}

/// Runs shard `shard` of a sweep. `scenario_text` is the scenario file's text.
pub fn sweep_shard(spec: &SweepSpec<'_>, scenario_text: &str, shard: Shard) -> Result<Partial, SweepError> {
    let started = clock();
    let accumulator = match shard.slice(spec.seeds) {
        Some(slice) => accumulate(spec, slice)?,
        None => Accumulator::new(),
    };
    let work = Work::Sweep {
        identity: Identity::of(spec),
        scenario_sha256: scenario_sha256(scenario_text),
        counts: Counts::of(&accumulator),
    };
    Ok(partial(shard, spec.seeds, spec.threads, started.elapsed().as_nanos() as u64, work))
}

/// Runs shard `shard` of the matrix: its slice of every cell's seeds.
pub fn matrix_shard(spec: &MatrixSpec, shard: Shard) -> Result<Partial, MatrixError> {
    let started = clock();
    let mut cells = Vec::new();
    let slice = |sweep_spec: &SweepSpec<'_>| match shard.slice(spec.seeds) {
        Some(slice) => accumulate(sweep_spec, slice),
        None => Ok(Accumulator::new()),
    };
    let registry = crate::strategy::Registry::builtin();
    let rows = crate::matrix::for_each_cell(spec, &registry, |open, closed| {
        cells.push(CellPart {
            identity: Identity::of(open),
            counts: Counts::of(&slice(open)?),
            closed_identity: Identity::of(closed),
            closed_counts: Counts::of(&slice(closed)?),
        });
        Ok(())
    })?;
    let scenarios = rows
        .into_iter()
        .map(|(source, (name, summary, family))| Row { name, summary, family, sha256: scenario_sha256(&source.text) })
        .collect();
    let strategies =
        crate::matrix::strategy_list(&registry).into_iter().map(|(n, s)| (n.to_string(), s.to_string())).collect();
    let work = Work::Matrix { scenarios, strategies, cells };
    Ok(partial(shard, spec.seeds, spec.threads, started.elapsed().as_nanos() as u64, work))
}

/// Runs shard `shard` of an `ordo explore` grid: its slice of every point's seeds.
pub fn explore_shard(
    spec: &crate::explore::ExploreSpec<'_>,
    shard: Shard,
) -> Result<Partial, crate::explore::ExploreError> {
    let started = clock();
    let mut points = Vec::new();
    let mut name = String::new();
    crate::explore::for_each_point(spec, |strategy, values, sweep_spec| {
        let accumulator = match shard.slice(spec.seeds) {
            Some(slice) => accumulate(sweep_spec, slice)?,
            None => Accumulator::new(),
        };
        let identity = Identity::of(sweep_spec);
        name.clone_from(&identity.scenario);
        points.push(PointPart { strategy, values, identity, counts: Counts::of(&accumulator) });
        Ok(())
    })?;
    let work = Work::Explore(ExplorePart {
        scenario_sha256: scenario_sha256(&spec.source.text),
        scenario: name,
        scenario_path: spec.source.path.display().to_string(),
        overrides: spec.overrides.clone(),
        vary: spec.vary.iter().map(|v| (v.field.clone(), v.values.clone())).collect(),
        strategies: spec.strategies.len(),
        x: spec.x.name(),
        y: spec.y.name(),
        points,
    });
    Ok(partial(shard, spec.seeds, spec.threads, started.elapsed().as_nanos() as u64, work))
}

impl Partial {
    /// Writes the partial as one line of JSON.
    pub fn write(&self, path: &Path) -> std::io::Result<u64> {
        let mut text = serde_json::to_string(self).map_err(std::io::Error::other)?;
        text.push('\n');
        std::fs::write(path, &text)?;
        Ok(text.len() as u64)
    }

    /// Seeds in this shard's slice.
    pub fn seeds_run(&self) -> u64 {
        self.shard_seeds.map_or(0, |s| SeedRange::from(s).count())
    }

    /// Runs this shard made: its slice's seeds, in every cell for a matrix.
    pub fn runs(&self) -> u64 {
        match &self.work {
            Work::Sweep { .. } => self.seeds_run(),
            Work::Matrix { cells, .. } => self.seeds_run().saturating_mul(2 * cells.len() as u64),
            Work::Explore(grid) => self.seeds_run().saturating_mul(grid.points.len() as u64),
        }
    }

    /// Failing seeds this shard found (in all cells, for a matrix).
    pub fn failing(&self) -> u64 {
        match &self.work {
            Work::Sweep { counts, .. } => counts.failing.len() as u64,
            Work::Matrix { cells, .. } => cells.iter().map(|c| c.counts.failing.len() as u64).sum(),
            Work::Explore(grid) => grid.points.iter().map(|p| p.counts.failing.len() as u64).sum(),
        }
    }
}

/// A partial that cannot be merged: the message names the file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MergeError(pub String);

/// What a merge gives: the output of one `ordo sweep` or one `ordo matrix`.
pub enum Merged {
    Sweep(Sweep),
    Matrix(Matrix),
    Explore(crate::explore::Explore),
}

/// Reads one partial file.
pub fn read(path: &Path) -> Result<Partial, MergeError> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| MergeError(format!("{name}: cannot read it: {e}")))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        MergeError(format!("{name}: not an ordo partial (expected the JSON that `ordo sweep|matrix --shard I/N --out FILE` writes): {e}"))
    })?;
    match value.get("ordo_partial").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(FORMAT) => {}
        Some(v) => return Err(MergeError(format!("{name}: partial format {v}; this ordo reads format {FORMAT}"))),
        None => {
            return Err(MergeError(format!(
                "{name}: not an ordo partial (no `ordo_partial` field; expected the JSON that `ordo sweep|matrix --shard I/N --out FILE` writes)"
            )))
        }
    }
    let version = value.get("ordo_version").and_then(serde_json::Value::as_str).unwrap_or("?");
    if version != env!("CARGO_PKG_VERSION") {
        return Err(MergeError(format!(
            "{name}: written by ordo {version}, but this is ordo {}; merge with the ordo that ran the shards (runs of other versions may differ)",
            env!("CARGO_PKG_VERSION")
        )));
    }
    serde_json::from_value(value).map_err(|e| MergeError(format!("{name}: a malformed ordo partial: {e}")))
}

/// Merges partials (any order) into what one machine would have printed.
pub fn merge(paths: &[PathBuf]) -> Result<Merged, MergeError> {
    if paths.is_empty() {
        return Err(MergeError("no partials given; expected the files `--shard I/N --out FILE` wrote".into()));
    }
    let parts: Vec<(PathBuf, Partial)> =
        paths.iter().map(|p| read(p).map(|part| (p.clone(), part))).collect::<Result<_, _>>()?;
    let (first_path, first) = &parts[0];
    let count = first.shard.count;
    let mut by_index: BTreeMap<u64, (&PathBuf, &Partial)> = BTreeMap::new();
    for (path, part) in &parts {
        let name = path.display();
        let same_work = match (&part.work, &first.work) {
            (
                Work::Sweep { identity: a, scenario_sha256: x, .. },
                Work::Sweep { identity: b, scenario_sha256: y, .. },
            ) => a == b && x == y,
            (
                Work::Matrix { scenarios: a, strategies: x, cells: c },
                Work::Matrix { scenarios: b, strategies: y, cells: d },
            ) => {
                a == b
                    && x == y
                    && c.len() == d.len()
                    && c.iter().zip(d).all(|(c, d)| c.identity == d.identity && c.closed_identity == d.closed_identity)
            }
            (Work::Explore(a), Work::Explore(b)) => a.same_grid(b),
            _ => false,
        };
        if part.work.kind() != first.work.kind() {
            return Err(MergeError(format!(
                "{name} is a {}'s partial but {} is a {}'s: merge the partials of one run",
                part.work.kind(),
                first_path.display(),
                first.work.kind()
            )));
        }
        if !same_work || part.seeds != first.seeds {
            return Err(MergeError(format!(
                "{name} is part of another {} than {} (another scenario, scenario text, strategy, --set, or seed range): merge only the shards of one run",
                part.work.kind(),
                first_path.display()
            )));
        }
        if part.shard.count != count {
            return Err(MergeError(format!(
                "{name} is shard {} but {} is shard {}: every partial must come from the same N",
                part.shard,
                first_path.display(),
                first.shard
            )));
        }
        if part.shard.index >= count {
            return Err(MergeError(format!("{name}: shard {} does not exist", part.shard)));
        }
        if part.shard_seeds != part.shard.slice(part.seeds.into()).map(Seeds::from) {
            return Err(MergeError(format!("{name}: its seeds are not shard {}'s slice of the range", part.shard)));
        }
        if let Some((other, _)) = by_index.insert(part.shard.index, (path, part)) {
            return Err(MergeError(format!(
                "{} and {name} are both shard {}: give each shard once",
                other.display(),
                part.shard
            )));
        }
    }
    let missing: Vec<String> =
        (0..count).filter(|i| !by_index.contains_key(i)).map(|i| format!("{i}/{count}")).take(10).collect();
    if !missing.is_empty() {
        let have = count - missing.len() as u64;
        return Err(MergeError(format!(
            "missing shard{} {} (have {have} of {count}): a merge needs every shard",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        )));
    }
    let timing = Timing {
        threads: by_index.values().map(|(_, p)| p.threads).fold(0usize, usize::saturating_add),
        wall_ns: by_index.values().map(|(_, p)| p.wall_ns).max().unwrap_or(0),
    };
    let seeds: SeedRange = first.seeds.into();
    let accumulate = |counts: &dyn Fn(&Partial) -> &Counts| -> Result<Accumulator, MergeError> {
        let mut total = Accumulator::new();
        for (path, part) in by_index.values() {
            let accumulator = counts(part)
                .accumulator(part.shard_seeds.map(SeedRange::from))
                .map_err(|e| MergeError(format!("{}: {e}", path.display())))?;
            total.append(accumulator).map_err(|e| MergeError(format!("{}: {e}", path.display())))?;
        }
        Ok(total)
    };
    match &first.work {
        Work::Sweep { identity, .. } => {
            let total = accumulate(&|part| match &part.work {
                Work::Sweep { counts, .. } => counts,
                _ => unreachable!("checked above: every partial is a sweep's"),
            })?;
            Ok(Merged::Sweep(Sweep::of(identity.clone(), seeds, total, timing)))
        }
        Work::Matrix { scenarios, strategies, cells } => {
            let strategies = strategies
                .iter()
                .map(|(name, _)| {
                    crate::matrix::strategy_list(&crate::strategy::Registry::builtin())
                        .into_iter()
                        .find(|(n, _)| n == name)
                        .ok_or_else(|| {
                            MergeError(format!(
                                "{}: strategy {name:?} is not one this ordo knows",
                                first_path.display()
                            ))
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut merged = Vec::with_capacity(cells.len());
            for (i, cell) in cells.iter().enumerate() {
                let open = accumulate(&|part| match &part.work {
                    Work::Matrix { cells, .. } => &cells[i].counts,
                    _ => unreachable!("checked above: every partial is a matrix's"),
                })?;
                let closed = accumulate(&|part| match &part.work {
                    Work::Matrix { cells, .. } => &cells[i].closed_counts,
                    _ => unreachable!("checked above: every partial is a matrix's"),
                })?;
                merged.push(Cell::of(
                    &Sweep::of(cell.identity.clone(), seeds, open, timing),
                    &Sweep::of(cell.closed_identity.clone(), seeds, closed, timing),
                ));
            }
            let scenarios =
                scenarios.iter().map(|row| (row.name.clone(), row.summary.clone(), row.family.clone())).collect();
            Ok(Merged::Matrix(Matrix { seeds, scenarios, strategies, cells: merged }))
        }
        Work::Explore(grid) => {
            use crate::explore::{Axis, Explore, Point, Vary};
            let axis = |text: &str| {
                Axis::parse(text).map_err(|e| MergeError(format!("{}: axis {text:?}: {e}", first_path.display())))
            };
            let mut points = Vec::with_capacity(grid.points.len());
            for (i, point) in grid.points.iter().enumerate() {
                let total = accumulate(&|part| match &part.work {
                    Work::Explore(grid) => &grid.points[i].counts,
                    _ => unreachable!("checked above: every partial is an explore grid's"),
                })?;
                let sweep = Sweep::of(point.identity.clone(), seeds, total, timing);
                points.push(Point {
                    strategy: point.strategy.clone(),
                    values: point.values.clone(),
                    sweep,
                    front: false,
                });
            }
            let mut explore = Explore {
                scenario: grid.scenario.clone(),
                scenario_path: grid.scenario_path.clone(),
                overrides: grid.overrides.clone(),
                vary: grid
                    .vary
                    .iter()
                    .map(|(field, values)| Vary { field: field.clone(), values: values.clone() })
                    .collect(),
                seeds,
                x: axis(&grid.x)?,
                y: axis(&grid.y)?,
                strategies: grid.strategies,
                points,
            };
            explore.mark_front();
            Ok(Merged::Explore(explore))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_refuse_what_does_not_exist() {
        assert_eq!(Shard::parse("0/4"), Ok(Shard { index: 0, count: 4 }));
        assert_eq!(Shard::parse(" 3 / 4 "), Ok(Shard { index: 3, count: 4 }));
        for bad in ["4/4", "1/0", "a/2", "1", "-1/3", "0/1000001", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Shard::parse("4/4").unwrap_err().contains("the last 3"));
    }

    #[test]
    fn slices_cover_the_range_once_in_order() {
        for (first, count) in [(1u64, 1u64), (1, 7), (0, 100), (5, 3), (u64::MAX - 9, 10)] {
            let range = SeedRange { first, last: first + (count - 1) };
            for n in 1..=12u64 {
                let mut next = range.first;
                let mut sizes = Vec::new();
                for i in 0..n {
                    if let Some(slice) = (Shard { index: i, count: n }).slice(range) {
                        assert_eq!(slice.first, next, "{range} {i}/{n}");
                        next = slice.last.wrapping_add(1);
                        sizes.push(slice.count());
                    } else {
                        sizes.push(0);
                    }
                }
                assert_eq!(sizes.iter().sum::<u64>(), count, "{range} /{n}");
                let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(max - min <= 1, "{range} /{n}: {sizes:?}");
            }
        }
    }
}
