//! The trade-off matrix: every bundled scenario × every strategy, each cell a sweep over
//! the same seeds, judged by the checker.
//!
//! A cell runs the scenario's own configuration with the cell's strategy in place of the
//! scenario's `strategy` (so a producer-side strategy changes the producer and nothing
//! else, a consumer-side one the consumer). It reports the violation rate (seeds where
//! anything the scenario expects is violated), the kinds seen most, and the produce-to-apply
//! latency (median over seeds of each run's mean, and of each run's max).
//!
//! The report (`matrix.md`, `matrix.json`) holds no wall-clock figure, so the same ordo,
//! scenarios and seeds regenerate it byte for byte, whatever the thread count.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use crate::strategy;
use crate::sweep::{sweep, SeedRange, Sweep, SweepSpec};

/// One strategy's figures across the matrix (see [`Matrix::per_strategy`]).
struct StrategyStats {
    name: &'static str,
    rate: u64,
    latency_mean: u64,
    latency_p99: u64,
    throughput: u64,
    dead_lettered: u64,
    conflicts: u64,
    held_at_end: u64,
}

/// What to run.
pub struct MatrixSpec {
    /// The scenarios, in row order (`crate::bundled::catalog`).
    pub scenarios: Vec<crate::bundled::Source>,
    pub seeds: SeedRange,
    pub threads: usize,
    pub progress: bool,
}

/// One scenario × strategy cell.
#[derive(Clone, Debug)]
pub struct Cell {
    pub scenario: String,
    pub strategy: String,
    pub seeds: u64,
    pub failing: u64,
    /// Violated kinds: in how many seeds each appeared.
    pub violated: BTreeMap<&'static str, u64>,
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
}

impl Cell {
    fn of(sweep: &Sweep) -> Cell {
        let metric = |name: &str| sweep.metric(name).map(|d| d.p50).unwrap_or(0);
        Cell {
            scenario: sweep.scenario.clone(),
            strategy: sweep.strategy.clone(),
            seeds: sweep.seeds.count(),
            failing: sweep.failing.len() as u64,
            violated: sweep.violated.iter().map(|(kind, tally)| (kind.name(), tally.seeds)).collect(),
            latency_mean_p50_ns: metric("latency_mean_ns"),
            latency_max_p50_ns: metric("latency_max_ns"),
            duplicate_applies_p50: metric("duplicate_applies"),
            latency_p99_p50_ns: metric("latency_p99_ns"),
            throughput_p50: metric("throughput_per_sec"),
            dead_lettered_p50: metric("dead_lettered"),
            conflicts_p50: metric("conflicts"),
            held_at_end_p50: metric("held_at_end"),
        }
    }

    /// Violation rate in per-mille (integer, so the report has no float formatting drift).
    pub fn rate_permille(&self) -> u64 {
        (self.failing * 1000).checked_div(self.seeds).unwrap_or(0)
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
    pub scenarios: Vec<(String, String)>,
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

/// Runs every scenario × strategy cell.
pub fn matrix(spec: &MatrixSpec) -> Result<Matrix, MatrixError> {
    matrix_with(spec, &strategy::Registry::builtin())
}

/// Runs every scenario × strategy cell, with every strategy of `registry` (user strategies
/// included) as a column.
pub fn matrix_with(spec: &MatrixSpec, registry: &strategy::Registry) -> Result<Matrix, MatrixError> {
    let strategies = registry.all();
    let mut scenarios = Vec::new();
    let mut cells = Vec::new();
    for source in &spec.scenarios {
        let scenario = source.load(&[])?;
        let path = &source.path;
        scenarios.push((scenario.name.clone(), scenario.summary.clone()));
        for strategy in strategies {
            let set = registry.parse(strategy.name()).expect("registered names parse");
            let sweep_spec = SweepSpec {
                scenario: scenario.clone(),
                scenario_path: path,
                strategy: set,
                seeds: spec.seeds,
                threads: spec.threads,
                progress: spec.progress,
            };
            cells.push(Cell::of(&sweep(&sweep_spec)?));
        }
    }
    Ok(Matrix {
        seeds: spec.seeds,
        scenarios,
        strategies: strategies.iter().map(|s| (s.name(), s.summary())).collect(),
        cells,
    })
}

fn ms(ns: u64) -> String {
    format!("{}.{}", ns / 1_000_000, (ns % 1_000_000) / 100_000)
}

impl Matrix {
    fn cell(&self, scenario: &str, strategy: &str) -> Option<&Cell> {
        self.cells.iter().find(|c| c.scenario == scenario && c.strategy == strategy)
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
             kinds seen in most seeds · median over seeds of the mean produce-to-apply latency, in ms.\n"
        );
        let header: Vec<&str> = self.strategies.iter().map(|(name, _)| *name).collect();
        let _ = writeln!(out, "| scenario | {} |", header.join(" | "));
        let _ = writeln!(out, "|---|{}|", header.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
        for (scenario, _) in &self.scenarios {
            let mut row = format!("| {scenario} |");
            for (strategy, _) in &self.strategies {
                let text = match self.cell(scenario, strategy) {
                    Some(cell) => {
                        let kinds = cell.top_kinds(2);
                        let kinds = if kinds.is_empty() { String::from("—") } else { kinds.join(", ") };
                        format!(" {}% · {} · {} ms |", cell.rate_permille() / 10, kinds, ms(cell.latency_mean_p50_ns))
                    }
                    None => " |".into(),
                };
                row.push_str(&text);
            }
            let _ = writeln!(out, "{row}");
        }
        let _ = writeln!(out, "\n![Violation rate per scenario and strategy](heatmap.svg)\n");
        let _ = writeln!(out, "\n## Per strategy\n");
        let _ = writeln!(
            out,
            "Medians over the scenarios of each cell's median over seeds. Latency is produce to apply; \
             throughput is first-time applies per simulated second (the workloads are open-loop, so it \
             falls mainly when events are held, retried or dropped); dead letters are events a consumer \
             strategy dropped as late or stale; conflicts are expected-version appends refused; held \
             at end are events a consumer strategy was still waiting to apply when the run ended.\n"
        );
        let _ = writeln!(
            out,
            "| strategy | what it does | mean violation rate | latency p50 of means (ms) | latency p99 (ms) | throughput (/s) | dead letters | conflicts | held at end |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
        for stats in self.per_strategy() {
            let summary = self.strategies.iter().find(|(name, _)| *name == stats.name).map_or("", |(_, s)| *s);
            let _ = writeln!(
                out,
                "| {} | {summary} | {}.{}% | {} | {} | {} | {} | {} | {} |",
                stats.name,
                stats.rate / 10,
                stats.rate % 10,
                ms(stats.latency_mean),
                ms(stats.latency_p99),
                stats.throughput,
                stats.dead_lettered,
                stats.conflicts,
                stats.held_at_end
            );
        }
        let _ = writeln!(out, "\n![Median latency against violation rate, per strategy](latency_vs_violations.svg)\n");
        let _ = writeln!(out, "\n![Median throughput per strategy](throughput.svg)\n");
        let _ = writeln!(out, "\n## Scenarios\n");
        for (scenario, summary) in &self.scenarios {
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
            "scenarios": self.scenarios.iter().map(|(name, summary)| json!({"name": name, "summary": summary})).collect::<Vec<_>>(),
            "strategies": self.strategies.iter().map(|(name, summary)| json!({"name": name, "summary": summary})).collect::<Vec<_>>(),
            "cells": self.cells.iter().map(|c| json!({
                "scenario": c.scenario,
                "strategy": c.strategy,
                "seeds": c.seeds,
                "failing_seeds": c.failing,
                "violation_rate_permille": c.rate_permille(),
                "violated_kinds_by_seeds": c.violated,
                "latency_mean_p50_ns": c.latency_mean_p50_ns,
                "latency_max_p50_ns": c.latency_max_p50_ns,
                "duplicate_applies_p50": c.duplicate_applies_p50,
                "latency_p99_p50_ns": c.latency_p99_p50_ns,
                "throughput_per_sec_p50": c.throughput_p50,
                "dead_lettered_p50": c.dead_lettered_p50,
                "conflicts_p50": c.conflicts_p50,
                "held_at_end_p50": c.held_at_end_p50,
            })).collect::<Vec<_>>(),
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

    /// Per strategy: the mean violation rate (per-mille) over its cells, and the median
    /// over its cells of each cell's median figures.
    fn per_strategy(&self) -> Vec<StrategyStats> {
        self.strategies
            .iter()
            .map(|(strategy, _)| {
                let cells: Vec<&Cell> = self.cells.iter().filter(|c| c.strategy == *strategy).collect();
                let rate = cells.iter().map(|c| c.rate_permille()).sum::<u64>() / (cells.len() as u64).max(1);
                let median = |figure: fn(&Cell) -> u64| {
                    let mut values: Vec<u64> = cells.iter().map(|c| figure(c)).collect();
                    values.sort_unstable();
                    values.get(values.len() / 2).copied().unwrap_or(0)
                };
                StrategyStats {
                    name: strategy,
                    rate,
                    latency_mean: median(|c| c.latency_mean_p50_ns),
                    latency_p99: median(|c| c.latency_p99_p50_ns),
                    throughput: median(|c| c.throughput_p50),
                    dead_lettered: median(|c| c.dead_lettered_p50),
                    conflicts: median(|c| c.conflicts_p50),
                    held_at_end: median(|c| c.held_at_end_p50),
                }
            })
            .collect()
    }

    /// Each strategy's median throughput, as bars.
    fn throughput_svg(&self) -> Result<String, String> {
        use plotters::prelude::*;
        let stats = self.per_strategy();
        let max = stats.iter().map(|s| s.throughput).max().unwrap_or(1).max(1) as f64 * 1.15;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (720, 80 + 26 * stats.len() as u32)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let mut chart = ChartBuilder::on(&root)
                .caption("Median throughput per strategy (first-time applies per simulated second)", ("sans-serif", 16))
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
                .x_desc("applies per simulated second")
                .draw()
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(stats.iter().enumerate().map(|(i, s)| {
                    Rectangle::new(
                        [(0.0, SegmentValue::Exact(i)), (s.throughput as f64, SegmentValue::Exact(i + 1))],
                        RGBColor(70, 110, 170).filled(),
                    )
                }))
                .map_err(|e| e.to_string())?;
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(svg)
    }

    /// A heat map of violation rates: rows scenarios, columns strategies.
    fn heatmap_svg(&self) -> Result<String, String> {
        use plotters::prelude::*;
        let (cell_w, cell_h, left, top) = (96i32, 22i32, 230i32, 160i32);
        let width = (left + cell_w * self.strategies.len() as i32 + 20) as u32;
        let legend_top = top + cell_h * self.scenarios.len() as i32 + 20;
        let height = (legend_top + 50) as u32;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let font = ("sans-serif", 13).into_font();
            let title = format!("Violation rate per scenario and strategy ({} seeds per cell)", self.seeds.count());
            root.draw(&Text::new(title, (10, 10), ("sans-serif", 16).into_font())).map_err(|e| e.to_string())?;
            for (column, (strategy, _)) in self.strategies.iter().enumerate() {
                let x = left + cell_w * column as i32 + 4;
                let style = font.clone().transform(FontTransform::Rotate270);
                root.draw(&Text::new(strategy.to_string(), (x + 8, top - 6), style)).map_err(|e| e.to_string())?;
            }
            for (row, (scenario, _)) in self.scenarios.iter().enumerate() {
                let y = top + cell_h * row as i32;
                root.draw(&Text::new(scenario.clone(), (10, y + 5), font.clone())).map_err(|e| e.to_string())?;
                for (column, (strategy, _)) in self.strategies.iter().enumerate() {
                    let x = left + cell_w * column as i32;
                    let rate = self.cell(scenario, strategy).map(|c| c.rate_permille()).unwrap_or(0);
                    // White (0 %) to red (100 %).
                    let fade = (255 - rate * 200 / 1000) as u8;
                    let color = RGBColor(255, fade, fade);
                    root.draw(&Rectangle::new([(x, y), (x + cell_w - 2, y + cell_h - 2)], color.filled()))
                        .map_err(|e| e.to_string())?;
                    let label = format!("{}%", rate / 10);
                    root.draw(&Text::new(label, (x + 30, y + 5), font.clone())).map_err(|e| e.to_string())?;
                }
            }
            // The legend: the colour scale, and what a cell's number is.
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
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(svg)
    }

    /// Each strategy's median latency against its mean violation rate.
    fn scatter_svg(&self) -> Result<String, String> {
        use plotters::prelude::*;
        let points = self.per_strategy();
        let max_latency_ms = points.iter().map(|p| p.latency_mean as f64 / 1e6).fold(1.0, f64::max) * 1.2;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (720, 480)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let mut chart = ChartBuilder::on(&root)
                .caption("Median latency against violation rate, per strategy", ("sans-serif", 18))
                .margin(20)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(0f64..max_latency_ms, 0f64..100f64)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc("median produce-to-apply latency (ms)")
                .y_desc("mean violation rate over scenarios (%)")
                .draw()
                .map_err(|e| e.to_string())?;
            let position = |p: &StrategyStats| (p.latency_mean as f64 / 1e6, p.rate as f64 / 10.0);
            chart
                .draw_series(
                    points.iter().map(|p| EmptyElement::at(position(p)) + Circle::new((0, 0), 5, RED.filled())),
                )
                .map_err(|e| e.to_string())?;
            // Labels never overlap: placed left to right, top to bottom, each moved down
            // below any label already placed within its box (and joined to its dot by a
            // line when it moved).
            let mut order: Vec<(i32, i32, &str)> = points
                .iter()
                .map(|p| {
                    let (x, y) = chart.backend_coord(&position(p));
                    (x, y, p.name)
                })
                .collect();
            order.sort_by_key(|&(x, y, name)| (y, x, name));
            for ((x, y, name), (lx, ly)) in order.iter().copied().zip(place_labels(&order)) {
                if ly != y - 12 {
                    root.draw(&PathElement::new(vec![(x, y), (lx, ly + 6)], BLACK.mix(0.4)))
                        .map_err(|e| e.to_string())?;
                }
                root.draw(&Text::new(name.to_string(), (lx, ly), ("sans-serif", 13).into_font()))
                    .map_err(|e| e.to_string())?;
            }
            root.present().map_err(|e| e.to_string())?;
        }
        Ok(svg)
    }
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
