//! The trade-off matrix: every bundled scenario × every strategy, each cell a sweep over
//! the same seeds, judged by the checker.
//!
//! A cell runs the scenario's own configuration with the cell's strategy in place of the
//! scenario's `strategy` (so a producer-side strategy changes the producer and nothing
//! else, a consumer-side one the consumer). It reports the violation rate (seeds where
//! anything the scenario expects is violated), the kinds seen most, a mark (*expected*
//! when docs/known-outcomes.toml documents every violated kind as possible for the
//! scenario or the strategy, *surprise* otherwise), and its costs, each as p50, p90 and
//! max over the seeds ([`COSTS`]): latency (also counting events never applied, as
//! waiting until the end of the run), events never applied, dead letters, conflicts,
//! per-partition unavailability, and throughput, open loop and closed loop (the same
//! seeds again with `workload.mode = "closed"`: each producer keeps
//! [`crate::scenario::MAX_OUTSTANDING_DEFAULT`] events unacknowledged, so what limits
//! throughput is the configuration, not the arrival rate). Rows are grouped by fault
//! family, in the order of docs/known-outcomes.toml.
//!
//! The report (`matrix.md`, `matrix.json`, the SVG charts, `figures.md`) holds no
//! wall-clock figure, so the same ordo, scenarios and seeds regenerate it byte for byte,
//! whatever the thread count.

mod html;
pub mod known;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::strategy::{self, StrategySet};
use crate::sweep::{sweep, Distribution, SeedRange, Sweep, SweepSpec};

/// The costs every cell reports, as (counter of the run, what it is). Each is a
/// distribution over the cell's seeds (p50, p90, max; nearest rank).
pub const COSTS: [(&str, &str); 10] = [
    ("latency_p99_ns", "99th percentile produce-to-apply latency of the events applied"),
    (
        "latency_p99_to_end_ns",
        "99th percentile latency counting every event never applied as waiting until the run ended",
    ),
    ("never_applied", "events created and never applied (held by a strategy, stalled, lost)"),
    ("held_at_end", "events a consumer strategy still held when the run ended"),
    ("duplicate_applies", "events applied more than once"),
    ("dead_lettered", "events a consumer strategy dropped as late or stale"),
    ("conflicts", "expected-version appends refused"),
    (
        "unfetched_max_ns",
        "per-partition unavailability: the longest total time one partition had no consumer fetching it",
    ),
    ("rebalance_pause_ns", "time consumers spent paused in rebalances"),
    ("throughput_per_sec", "first-time applies per simulated second, with the scenario's own (open-loop) workload"),
];

/// The closed-loop throughput's name in the report.
pub const CLOSED_THROUGHPUT: &str = "closed_loop_throughput_per_sec";

/// The `--set` assignment of a cell's closed-loop pass.
pub const CLOSED_LOOP: &str = "workload.mode=closed";

/// A distribution over seeds, as the report shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spread {
    pub p50: u64,
    pub p90: u64,
    pub max: u64,
}

impl Spread {
    fn of(d: Option<&Distribution>) -> Spread {
        d.map(|d| Spread { p50: d.p50, p90: d.p90, max: d.max }).unwrap_or_default()
    }

    fn json(&self) -> serde_json::Value {
        json!({"p50": self.p50, "p90": self.p90, "max": self.max})
    }
}

/// One strategy's figures across the matrix (see [`Matrix::per_strategy`]).
struct StrategyStats {
    name: &'static str,
    /// Rows where no seed violated anything, of all rows.
    clean_rows: u64,
    rows: u64,
    latency_to_end: u64,
    closed_throughput: u64,
}

/// What to run.
pub struct MatrixSpec {
    /// The scenarios, in the order found; the matrix groups them by fault family.
    pub scenarios: Vec<crate::bundled::Source>,
    pub seeds: SeedRange,
    pub threads: usize,
    pub progress: bool,
}

/// Whether a cell's outcome is documented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Every violated kind is one docs/known-outcomes.toml says can happen here (or
    /// nothing is violated).
    Expected,
    /// Some violated kind is documented for neither the scenario nor the strategy.
    Surprise,
}

impl Mark {
    pub fn name(self) -> &'static str {
        match self {
            Mark::Expected => "expected",
            Mark::Surprise => "surprise",
        }
    }
}

/// One scenario × strategy cell.
#[derive(Clone, Debug)]
pub struct Cell {
    pub scenario: String,
    pub strategy: String,
    pub family: String,
    pub seeds: u64,
    pub failing: u64,
    /// Violated kinds: in how many seeds each appeared.
    pub violated: BTreeMap<&'static str, u64>,
    /// Violated kinds nothing documents for this cell (empty: [`Mark::Expected`]).
    pub unexplained: Vec<&'static str>,
    pub latency_mean_p50_ns: u64,
    pub latency_max_p50_ns: u64,
    /// Medians over seeds of each run's 99th-percentile latency, throughput (first-time
    /// applies per simulated second), dead letters, conflicts and events held at the end.
    pub latency_p99_p50_ns: u64,
    pub throughput_p50: u64,
    pub dead_lettered_p50: u64,
    pub conflicts_p50: u64,
    pub held_at_end_p50: u64,
    pub duplicate_applies_p50: u64,
    /// Per [`COSTS`] entry, in that order.
    pub costs: Vec<(&'static str, Spread)>,
    /// Throughput of the closed-loop pass.
    pub closed_throughput: Spread,
    /// Every failing seed, ascending, with its violated kinds.
    pub failing_seeds: Vec<(u64, Vec<&'static str>)>,
    /// Where the scenario came from and the strategy run (for reproduce commands).
    pub scenario_path: PathBuf,
}

impl Cell {
    /// The cell's figures, all read from its sweeps' summaries, open and closed loop (so
    /// merged sweeps give the same cell as ones that ran on one machine).
    pub fn of(sweep: &Sweep, closed: &Sweep) -> Cell {
        let metric = |name: &str| sweep.metric(name).map(|d| d.p50).unwrap_or(0);
        let violated: BTreeMap<&'static str, u64> =
            sweep.violated.iter().map(|(kind, tally)| (kind.name(), tally.seeds)).collect();
        let kinds: Vec<&'static str> = violated.keys().copied().collect();
        let known = known::known();
        Cell {
            scenario: sweep.scenario.clone(),
            strategy: sweep.strategy.clone(),
            family: known.family(&sweep.scenario).to_string(),
            seeds: sweep.seeds.count(),
            failing: sweep.failing.len() as u64,
            unexplained: known.unexplained(&sweep.scenario, &sweep.strategy, &kinds),
            violated,
            latency_mean_p50_ns: metric("latency_mean_ns"),
            latency_max_p50_ns: metric("latency_max_ns"),
            duplicate_applies_p50: metric("duplicate_applies"),
            latency_p99_p50_ns: metric("latency_p99_ns"),
            throughput_p50: metric("throughput_per_sec"),
            dead_lettered_p50: metric("dead_lettered"),
            conflicts_p50: metric("conflicts"),
            held_at_end_p50: metric("held_at_end"),
            costs: COSTS.iter().map(|&(name, _)| (name, Spread::of(sweep.metric(name)))).collect(),
            closed_throughput: Spread::of(closed.metric("throughput_per_sec")),
            failing_seeds: sweep.failing.iter().map(|f| (f.seed, f.kinds().map(|k| k.name()).collect())).collect(),
            scenario_path: sweep.scenario_path.clone(),
        }
    }

    /// Violation rate in per-mille (integer, so the report has no float formatting drift).
    pub fn rate_permille(&self) -> u64 {
        (self.failing * 1000).checked_div(self.seeds).unwrap_or(0)
    }

    pub fn mark(&self) -> Mark {
        if self.unexplained.is_empty() {
            Mark::Expected
        } else {
            Mark::Surprise
        }
    }

    /// One cost's spread over seeds (see [`COSTS`]; [`CLOSED_THROUGHPUT`] too).
    pub fn cost(&self, name: &str) -> Spread {
        if name == CLOSED_THROUGHPUT {
            return self.closed_throughput;
        }
        self.costs.iter().find(|(n, _)| *n == name).map(|(_, s)| *s).unwrap_or_default()
    }

    /// The command that reproduces one seed of this cell.
    pub fn reproduce(&self, seed: u64) -> String {
        crate::run::reproduce_command(&self.scenario_path, seed, &self.strategy, &[])
    }

    /// The violated kinds seen in the most seeds (ties by name), at most `n`.
    fn top_kinds(&self, n: usize) -> Vec<&'static str> {
        let mut kinds: Vec<(&'static str, u64)> = self.violated.iter().map(|(k, s)| (*k, *s)).collect();
        kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        kinds.into_iter().take(n).map(|(k, _)| k).collect()
    }
}

/// The whole matrix.
pub struct Matrix {
    pub seeds: SeedRange,
    /// (name, summary, family), grouped by family.
    pub scenarios: Vec<(String, String, String)>,
    pub strategies: Vec<(&'static str, &'static str)>,
    pub cells: Vec<Cell>,
}

#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    #[error(transparent)]
    Sweep(#[from] crate::sweep::SweepError),
}

/// Runs every scenario × strategy cell (and each cell's closed-loop pass).
pub fn matrix(spec: &MatrixSpec) -> Result<Matrix, MatrixError> {
    matrix_with(spec, &strategy::Registry::builtin())
}

/// Runs every scenario × strategy cell (and each cell's closed-loop pass), with every
/// strategy of `registry` (user strategies included) as a column.
pub fn matrix_with(spec: &MatrixSpec, registry: &strategy::Registry) -> Result<Matrix, MatrixError> {
    let mut cells = Vec::new();
    let rows = for_each_cell(spec, registry, |open, closed| {
        cells.push(Cell::of(&sweep(open)?, &sweep(closed)?));
        Ok(())
    })?;
    let scenarios = rows.into_iter().map(|(_, row)| row).collect();
    Ok(Matrix { seeds: spec.seeds, scenarios, strategies: strategy_list(registry), cells })
}

/// The matrix's columns: every strategy of `registry`, with its name and summary.
pub fn strategy_list(registry: &strategy::Registry) -> Vec<(&'static str, &'static str)> {
    registry.all().iter().map(|s| (s.name(), s.summary())).collect()
}

/// A matrix row: the scenario's name, summary and fault family.
pub type Row = (String, String, String);

/// Calls `cell` with the sweeps of every scenario × strategy cell, the scenario's own
/// (open-loop) workload and the closed-loop pass, in report order (rows grouped by
/// family, [`known::Known::families`]), and returns the rows: each scenario's source and
/// (name, summary, family). `ordo matrix` sweeps each cell; a shard (`crate::shard`) runs
/// its slice of each cell's seeds.
pub fn for_each_cell<'a>(
    spec: &'a MatrixSpec,
    registry: &strategy::Registry,
    mut cell: impl FnMut(&SweepSpec<'_>, &SweepSpec<'_>) -> Result<(), MatrixError>,
) -> Result<Vec<(&'a crate::bundled::Source, Row)>, MatrixError> {
    let known = known::known();
    let mut sources: Vec<(&crate::bundled::Source, crate::scenario::Scenario)> = Vec::new();
    for source in &spec.scenarios {
        sources.push((source, source.load(&[])?));
    }
    // Grouped by family: the families' order, then the file's order within one.
    let families = known.families();
    sources.sort_by_key(|(_, scenario)| {
        let family = known.family(&scenario.name);
        (families.iter().position(|f| *f == family), known.rank(&scenario.name), scenario.name.clone())
    });
    let mut rows = Vec::new();
    for (source, scenario) in &sources {
        let row = (scenario.name.clone(), scenario.summary.clone(), known.family(&scenario.name).to_string());
        rows.push((*source, row));
        let closed_scenario = source.load(&[CLOSED_LOOP.to_string()])?;
        for strategy in registry.all() {
            let set = registry.parse(strategy.name()).expect("registered names parse");
            let spec_of = |scenario: &crate::scenario::Scenario| SweepSpec {
                scenario: scenario.clone(),
                scenario_path: &source.path,
                strategy: StrategySet { members: set.members.clone() },
                seeds: spec.seeds,
                threads: spec.threads,
                progress: spec.progress,
            };
            cell(&spec_of(scenario), &spec_of(&closed_scenario))?;
        }
    }
    Ok(rows)
}

pub(crate) fn ms(ns: u64) -> String {
    format!("{}.{}", ns / 1_000_000, (ns % 1_000_000) / 100_000)
}

/// A cost's value as the report shows it: nanoseconds as milliseconds.
pub(crate) fn show(name: &str, value: u64) -> String {
    if name.ends_with("_ns") {
        ms(value)
    } else {
        value.to_string()
    }
}

/// A cost's column title (`_ns` shown as ms).
pub(crate) fn title(name: &str) -> String {
    match name.strip_suffix("_ns") {
        Some(stem) => format!("{stem}_ms"),
        None => name.to_string(),
    }
}

impl Matrix {
    pub fn cell(&self, scenario: &str, strategy: &str) -> Option<&Cell> {
        self.cells.iter().find(|c| c.scenario == scenario && c.strategy == strategy)
    }

    /// The families in row order, each with its scenarios.
    fn families(&self) -> Vec<(&str, Vec<&str>)> {
        let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
        for (name, _, family) in &self.scenarios {
            match out.last_mut() {
                Some((f, names)) if *f == family.as_str() => names.push(name),
                _ => out.push((family, vec![name])),
            }
        }
        out
    }

    /// `matrix.md`: a table a person reads.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# The trade-off matrix\n");
        let _ = writeln!(
            out,
            "Generated by `ordo matrix --seeds {}` (ordo {}). Every cell runs the scenario's own \
             configuration with that column's strategy, over seeds {}..{}, and judges each run's \
             history with the checker against the guarantees the scenario expects.\n",
            self.seeds.count(),
            env!("CARGO_PKG_VERSION"),
            self.seeds.first,
            self.seeds.last
        );
        let _ = writeln!(
            out,
            "Each cell: **violation rate** (seeds where something expected is violated) · the violated \
             kinds seen in most seeds · the p99 latency counting events never applied as waiting until \
             the end of the run (median over seeds, ms) · **mark**: ✓ *expected* (docs/known-outcomes.md \
             documents every violated kind as possible for the row's scenario or the column's strategy, \
             or nothing is violated) or ⚠ *surprise* (followed by the kinds nothing documents there). \
             Rows are grouped by fault family.\n"
        );
        let header: Vec<&str> = self.strategies.iter().map(|(name, _)| *name).collect();
        for (family, scenarios) in self.families() {
            let _ = writeln!(out, "### {family}\n");
            let _ = writeln!(out, "| scenario | {} |", header.join(" | "));
            let _ = writeln!(out, "|---|{}|", header.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
            for scenario in scenarios {
                let mut row = format!("| {scenario} |");
                for (strategy, _) in &self.strategies {
                    let text = match self.cell(scenario, strategy) {
                        Some(cell) => {
                            let kinds = cell.top_kinds(2);
                            let kinds = if kinds.is_empty() { String::from("—") } else { kinds.join(", ") };
                            let mark = match cell.mark() {
                                Mark::Expected => "✓".to_string(),
                                Mark::Surprise => format!("⚠ surprise: {}", cell.unexplained.join(", ")),
                            };
                            format!(
                                " {}% · {} · {} ms · {mark} |",
                                cell.rate_permille() / 10,
                                kinds,
                                ms(cell.cost("latency_p99_to_end_ns").p50)
                            )
                        }
                        None => " |".into(),
                    };
                    row.push_str(&text);
                }
                let _ = writeln!(out, "{row}");
            }
            let _ = writeln!(out);
        }
        let surprises = self.cells.iter().filter(|c| c.mark() == Mark::Surprise).count();
        let _ = writeln!(
            out,
            "{} of {} cells are marked *surprise*.\n\n![Violation rate per scenario and strategy](heatmap.svg)\n",
            surprises,
            self.cells.len()
        );
        let _ = writeln!(out, "\n## Per strategy\n");
        let _ = writeln!(
            out,
            "Clean rows: scenarios where no seed violated anything. The latency is the median over the \
             scenarios of each cell's median p99 latency to the end of the run (an event never applied \
             counts as waiting until the run ended, so holding events cannot look fast). Closed-loop \
             throughput: the same seeds again with `workload.mode = \"closed\"` (each producer keeps {} \
             events unacknowledged), median over the scenarios of each cell's median: what the \
             configuration can carry, where the open-loop throughput only follows the arrival rate.\n",
            crate::scenario::MAX_OUTSTANDING_DEFAULT
        );
        let _ = writeln!(
            out,
            "| strategy | what it does | clean rows | p99 latency to end (ms) | closed-loop throughput (/s) |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|");
        for stats in self.per_strategy() {
            let summary = self.strategies.iter().find(|(name, _)| *name == stats.name).map_or("", |(_, s)| *s);
            let _ = writeln!(
                out,
                "| {} | {summary} | {} of {} | {} | {} |",
                stats.name,
                stats.clean_rows,
                stats.rows,
                ms(stats.latency_to_end),
                stats.closed_throughput,
            );
        }
        let _ = writeln!(
            out,
            "\n![p99 latency to the end of the run against clean rows, per strategy](latency_vs_violations.svg)\n"
        );
        let _ = writeln!(out, "\n![Median closed-loop throughput per strategy](throughput.svg)\n");
        let _ = writeln!(out, "\n## Costs per cell\n");
        let _ = writeln!(
            out,
            "Each figure is `p50 / p90 / max` over the cell's {} seeds (nearest rank). Columns:\n",
            self.seeds.count()
        );
        for (name, what) in COSTS {
            let _ = writeln!(out, "- `{}`: {what}", title(name));
        }
        let _ = writeln!(
            out,
            "- `{CLOSED_THROUGHPUT}`: first-time applies per simulated second in the closed-loop pass \
             (`--set {CLOSED_LOOP}`)\n"
        );
        let mut columns: Vec<&str> = COSTS.iter().map(|(n, _)| *n).collect();
        columns.push(CLOSED_THROUGHPUT);
        for (family, scenarios) in self.families() {
            let _ = writeln!(out, "### {family}\n");
            let titles: Vec<String> = columns.iter().map(|c| title(c)).collect();
            let _ = writeln!(out, "| scenario | strategy | rate | mark | {} |", titles.join(" | "));
            let _ = writeln!(out, "|---|---|---|---|{}|", columns.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
            for scenario in scenarios {
                for (strategy, _) in &self.strategies {
                    let Some(cell) = self.cell(scenario, strategy) else { continue };
                    let figures: Vec<String> = columns
                        .iter()
                        .map(|c| {
                            let s = cell.cost(c);
                            format!("{} / {} / {}", show(c, s.p50), show(c, s.p90), show(c, s.max))
                        })
                        .collect();
                    let _ = writeln!(
                        out,
                        "| {scenario} | {strategy} | {}% | {} | {} |",
                        cell.rate_permille() / 10,
                        cell.mark().name(),
                        figures.join(" | ")
                    );
                }
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "\n## Scenarios\n");
        for (scenario, summary, _) in &self.scenarios {
            let _ = writeln!(out, "- **{scenario}**: {summary}");
        }
        out
    }

    /// `matrix.json`: everything, for tools.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "schema_version": crate::cli::JSON_SCHEMA_VERSION,
            "ordo": env!("CARGO_PKG_VERSION"),
            "seeds": {"first": self.seeds.first, "last": self.seeds.last, "count": self.seeds.count()},
            "families": self.families().iter().map(|(f, s)| json!({"name": f, "scenarios": s})).collect::<Vec<_>>(),
            "scenarios": self.scenarios.iter().map(|(name, summary, family)| json!({"name": name, "summary": summary, "family": family})).collect::<Vec<_>>(),
            "strategies": self.strategies.iter().map(|(name, summary)| json!({"name": name, "summary": summary})).collect::<Vec<_>>(),
            "cells": self.cells.iter().map(|c| {
                let mut costs = serde_json::Map::new();
                for (name, spread) in &c.costs {
                    costs.insert(name.to_string(), spread.json());
                }
                costs.insert(CLOSED_THROUGHPUT.to_string(), c.closed_throughput.json());
                json!({
                "scenario": c.scenario,
                "strategy": c.strategy,
                "family": c.family,
                "seeds": c.seeds,
                "failing_seeds": c.failing,
                "violation_rate_permille": c.rate_permille(),
                "violated_kinds_by_seeds": c.violated,
                "mark": c.mark().name(),
                "unexplained_kinds": c.unexplained,
                "latency_mean_p50_ns": c.latency_mean_p50_ns,
                "latency_max_p50_ns": c.latency_max_p50_ns,
                "duplicate_applies_p50": c.duplicate_applies_p50,
                "latency_p99_p50_ns": c.latency_p99_p50_ns,
                "throughput_per_sec_p50": c.throughput_p50,
                "dead_lettered_p50": c.dead_lettered_p50,
                "conflicts_p50": c.conflicts_p50,
                "held_at_end_p50": c.held_at_end_p50,
                "costs": costs,
                "failing_seed_list": c.failing_seeds.iter().map(|(seed, _)| *seed).collect::<Vec<_>>(),
            })}).collect::<Vec<_>>(),
        })
    }

    /// Writes `matrix.md`, `matrix.json` and the SVG charts into `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("matrix.md"), self.to_markdown())?;
        let mut json = serde_json::to_string_pretty(&self.to_json()).expect("JSON serializes");
        json.push('\n');
        std::fs::write(dir.join("matrix.json"), json)?;
        std::fs::write(dir.join("heatmap.svg"), self.heatmap_svg().map_err(std::io::Error::other)?)?;
        std::fs::write(dir.join("latency_vs_violations.svg"), self.scatter_svg().map_err(std::io::Error::other)?)?;
        std::fs::write(dir.join("throughput.svg"), self.throughput_svg().map_err(std::io::Error::other)?)?;
        Ok(())
    }

    /// The self-contained HTML report (`ordo matrix --html FILE`).
    pub fn to_html(&self) -> String {
        html::render(self)
    }

    /// Per strategy: its clean rows, and the median over its cells of each cell's median
    /// p99 latency to the end and closed-loop throughput.
    fn per_strategy(&self) -> Vec<StrategyStats> {
        self.strategies
            .iter()
            .map(|(strategy, _)| {
                let cells: Vec<&Cell> = self.cells.iter().filter(|c| c.strategy == *strategy).collect();
                let median = |figure: &dyn Fn(&Cell) -> u64| {
                    let mut values: Vec<u64> = cells.iter().map(|c| figure(c)).collect();
                    values.sort_unstable();
                    values.get(values.len().saturating_sub(1) / 2).copied().unwrap_or(0)
                };
                StrategyStats {
                    name: strategy,
                    clean_rows: cells.iter().filter(|c| c.failing == 0).count() as u64,
                    rows: cells.len() as u64,
                    latency_to_end: median(&|c| c.cost("latency_p99_to_end_ns").p50),
                    closed_throughput: median(&|c| c.closed_throughput.p50),
                }
            })
            .collect()
    }

    /// Each strategy's median closed-loop throughput, as bars.
    fn throughput_svg(&self) -> Result<String, String> {
        use plotters::prelude::*;
        let stats = self.per_strategy();
        let max = stats.iter().map(|s| s.closed_throughput).max().unwrap_or(1).max(1) as f64 * 1.15;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (720, 80 + 26 * stats.len() as u32)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    "Median closed-loop throughput per strategy (first-time applies per simulated second)",
                    ("sans-serif", 15),
                )
                .margin(15)
                .x_label_area_size(35)
                .y_label_area_size(170)
                .build_cartesian_2d(0f64..max, (0..stats.len()).into_segmented())
                .map_err(|e| e.to_string())?;
            let names: Vec<&str> = stats.iter().map(|s| s.name).collect();
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(stats.len())
                .y_label_formatter(&|segment| match segment {
                    SegmentValue::CenterOf(i) => names.get(*i).map_or(String::new(), |n| n.to_string()),
                    _ => String::new(),
                })
                .x_desc("applies per simulated second, each producer keeping 10 events outstanding")
                .draw()
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(stats.iter().enumerate().map(|(i, s)| {
                    Rectangle::new(
                        [(0.0, SegmentValue::Exact(i)), (s.closed_throughput as f64, SegmentValue::Exact(i + 1))],
                        RGBColor(70, 110, 170).filled(),
                    )
                }))
                .map_err(|e| e.to_string())?;
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(svg)
    }

    /// A heat map of violation rates: rows scenarios grouped by family, columns strategies;
    /// a surprise cell is framed and carries a "!".
    fn heatmap_svg(&self) -> Result<String, String> {
        use plotters::prelude::*;
        let (cell_w, cell_h, left, top) = (96i32, 22i32, 230i32, 160i32);
        let width = (left + cell_w * self.strategies.len() as i32 + 20) as u32;
        let families = self.families();
        let rows = self.scenarios.len() as i32 + families.len() as i32;
        let legend_top = top + cell_h * rows + 20;
        let height = (legend_top + 80) as u32;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let font = ("sans-serif", 13).into_font();
            let bold = ("sans-serif", 13).into_font().style(FontStyle::Bold);
            let title = format!("Violation rate per scenario and strategy ({} seeds per cell)", self.seeds.count());
            root.draw(&Text::new(title, (10, 10), ("sans-serif", 16).into_font())).map_err(|e| e.to_string())?;
            for (column, (strategy, _)) in self.strategies.iter().enumerate() {
                let x = left + cell_w * column as i32 + 4;
                let style = font.clone().transform(FontTransform::Rotate270);
                root.draw(&Text::new(strategy.to_string(), (x + 8, top - 6), style)).map_err(|e| e.to_string())?;
            }
            let mut row = 0i32;
            for (family, scenarios) in &families {
                let y = top + cell_h * row;
                root.draw(&Text::new(family.to_string(), (10, y + 5), bold.clone())).map_err(|e| e.to_string())?;
                row += 1;
                for scenario in scenarios {
                    let y = top + cell_h * row;
                    row += 1;
                    root.draw(&Text::new(scenario.to_string(), (22, y + 5), font.clone()))
                        .map_err(|e| e.to_string())?;
                    for (column, (strategy, _)) in self.strategies.iter().enumerate() {
                        let x = left + cell_w * column as i32;
                        let Some(cell) = self.cell(scenario, strategy) else { continue };
                        let rate = cell.rate_permille();
                        // White (0 %) to red (100 %).
                        let fade = (255 - rate * 200 / 1000) as u8;
                        let color = RGBColor(255, fade, fade);
                        root.draw(&Rectangle::new([(x, y), (x + cell_w - 2, y + cell_h - 2)], color.filled()))
                            .map_err(|e| e.to_string())?;
                        let mut label = format!("{}%", rate / 10);
                        if cell.mark() == Mark::Surprise {
                            root.draw(&Rectangle::new(
                                [(x + 1, y + 1), (x + cell_w - 3, y + cell_h - 3)],
                                BLACK.stroke_width(2),
                            ))
                            .map_err(|e| e.to_string())?;
                            label.push_str(" !");
                        }
                        root.draw(&Text::new(label, (x + 30, y + 5), font.clone())).map_err(|e| e.to_string())?;
                    }
                }
            }
            // The legend: the colour scale, what a cell's number is, and the mark.
            let legend = "cell: share of seeds that violate what the scenario expects";
            root.draw(&Text::new(legend, (10, legend_top + 6), font.clone())).map_err(|e| e.to_string())?;
            for (i, rate) in [0u64, 250, 500, 750, 1000].into_iter().enumerate() {
                let x = left + 160 + 110 * i as i32;
                let fade = (255 - rate * 200 / 1000) as u8;
                root.draw(&Rectangle::new(
                    [(x, legend_top), (x + 40, legend_top + 20)],
                    RGBColor(255, fade, fade).filled(),
                ))
                .map_err(|e| e.to_string())?;
                root.draw(&Rectangle::new([(x, legend_top), (x + 40, legend_top + 20)], BLACK.stroke_width(1)))
                    .map_err(|e| e.to_string())?;
                root.draw(&Text::new(format!("{} %", rate / 10), (x + 46, legend_top + 5), font.clone()))
                    .map_err(|e| e.to_string())?;
            }
            let (x, y) = (10, legend_top + 40);
            root.draw(&Rectangle::new([(x, y), (x + 40, y + 20)], BLACK.stroke_width(2))).map_err(|e| e.to_string())?;
            root.draw(&Text::new("!", (x + 16, y + 5), font.clone())).map_err(|e| e.to_string())?;
            let mark = "framed with \"!\": surprise, a violated kind docs/known-outcomes.md does not list for the row or the column";
            root.draw(&Text::new(mark, (x + 50, y + 5), font.clone())).map_err(|e| e.to_string())?;
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(svg)
    }

    /// Each strategy's median p99 latency to the end of the run against its clean rows.
    fn scatter_svg(&self) -> Result<String, String> {
        let stats = self.per_strategy();
        let points: Vec<ChartPoint> = stats
            .iter()
            .map(|p| ChartPoint {
                label: p.name.to_string(),
                x: p.latency_to_end as f64 / 1e6,
                y: 100.0 * p.clean_rows as f64 / p.rows.max(1) as f64,
                front: false,
            })
            .collect();
        scatter(
            "p99 latency to the end of the run against clean rows, per strategy",
            "median over scenarios of the p99 latency to the end of the run (ms)",
            "rows with no violation in any seed (%)",
            &points,
        )
    }
}

/// A labelled point of a scatter chart.
pub struct ChartPoint {
    pub label: String,
    pub x: f64,
    pub y: f64,
    /// On the Pareto front (drawn filled and joined by a line).
    pub front: bool,
}

/// A scatter chart with every point labelled (labels never overlap, see [`place_labels`])
/// and the Pareto front's points, if any, joined in x order.
pub fn scatter(caption: &str, x_desc: &str, y_desc: &str, points: &[ChartPoint]) -> Result<String, String> {
    use plotters::prelude::*;
    // Every figure the charts show is at least 0: the axes start there.
    let top = |values: &mut dyn Iterator<Item = f64>| values.fold(0.0f64, f64::max).max(1e-3) * 1.15;
    let (x0, x1) = (0.0, top(&mut points.iter().map(|p| p.x)));
    // Room below 0 for the labels of points on the x axis.
    let y1 = top(&mut points.iter().map(|p| p.y));
    let y0 = -0.12 * y1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 530)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 16))
            .margin(20)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1 * 1.25, y0..y1)
            .map_err(|e| e.to_string())?;
        chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw().map_err(|e| e.to_string())?;
        let mut front: Vec<(f64, f64)> = points.iter().filter(|p| p.front).map(|p| (p.x, p.y)).collect();
        front.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        if front.len() > 1 {
            chart
                .draw_series(std::iter::once(PathElement::new(front, RGBColor(40, 120, 60).stroke_width(2))))
                .map_err(|e| e.to_string())?;
        }
        chart
            .draw_series(points.iter().map(|p| {
                let color = if p.front { RGBColor(40, 120, 60) } else { RGBColor(200, 40, 40) };
                EmptyElement::at((p.x, p.y)) + Circle::new((0, 0), 5, color.filled())
            }))
            .map_err(|e| e.to_string())?;
        // Labels never overlap: placed top to bottom, left to right, each moved down
        // below any label already placed within its box (and joined to its dot by a line
        // when it moved).
        let mut order: Vec<(i32, i32, &str)> = points
            .iter()
            .map(|p| {
                let (x, y) = chart.backend_coord(&(p.x, p.y));
                (x, y, p.label.as_str())
            })
            .collect();
        order.sort_by_key(|&(x, y, name)| (y, x, name));
        for ((x, y, name), (lx, ly)) in order.iter().copied().zip(place_labels(&order)) {
            if ly != y - 12 {
                root.draw(&PathElement::new(vec![(x, y), (lx, ly + 6)], BLACK.mix(0.4))).map_err(|e| e.to_string())?;
            }
            root.draw(&Text::new(name.to_string(), (lx, ly), ("sans-serif", 13).into_font()))
                .map_err(|e| e.to_string())?;
        }
        if points.iter().any(|p| p.front) {
            let legend = "green, joined: the Pareto front (no other point is at least as good on both axes)";
            root.draw(&Text::new(legend, (80, 512), ("sans-serif", 12).into_font())).map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Label height and the width of one character, in pixels (13 px sans-serif).
const LABEL_H: i32 = 15;
const CHAR_W: i32 = 7;

/// Where each point's label goes (its top-left corner), for points `(x, y, name)` in
/// pixels, in the order given: right of and above its dot, moved down below every label
/// already placed that its box would overlap. No two labels' boxes overlap.
fn place_labels(points: &[(i32, i32, &str)]) -> Vec<(i32, i32)> {
    let mut placed: Vec<(i32, i32, i32)> = Vec::new(); // x, y, width
    for &(x, y, name) in points {
        let width = CHAR_W * name.len() as i32;
        let (lx, mut ly) = (x + 8, y - 12);
        while placed.iter().any(|&(px, py, pw)| lx < px + pw && px < lx + width && (ly - py).abs() < LABEL_H) {
            ly += LABEL_H;
        }
        placed.push((lx, ly, width));
    }
    placed.into_iter().map(|(x, y, _)| (x, y)).collect()
}

#[cfg(test)]
mod label_tests {
    use super::*;

    #[test]
    fn labels_of_nearby_points_never_overlap() {
        // hlc and lamport at the same spot, idempotent-consumer and idempotent side by side.
        let points =
            [(400, 200, "hlc"), (400, 200, "lamport"), (100, 230, "idempotent-consumer"), (150, 232, "idempotent")];
        let placed = place_labels(&points);
        for i in 0..points.len() {
            for j in 0..i {
                let (wi, wj) = (CHAR_W * points[i].2.len() as i32, CHAR_W * points[j].2.len() as i32);
                let ((xi, yi), (xj, yj)) = (placed[i], placed[j]);
                let overlap = xi < xj + wj && xj < xi + wi && (yi - yj).abs() < LABEL_H;
                assert!(!overlap, "{} and {} overlap: {placed:?}", points[i].2, points[j].2);
            }
        }
        // A label with room stays where it belongs: right of and above its dot.
        assert_eq!(placed[0], (408, 188));
        assert_eq!(placed[1], (408, 188 + LABEL_H));
    }
}
