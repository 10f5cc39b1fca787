//! `ordo explore`: a grid over scenario fields (and strategies), each point a sweep over
//! the same seeds, to read a trade-off as a curve: per point the violation rate with a
//! 95 % Wilson interval and the costs as distributions over seeds, a table, a JSON object
//! and an SVG chart of two chosen figures with the Pareto front marked.
//!
//! A point is the scenario with the `--set` overrides, then one value of every `--vary`
//! field (so any field `--set` accepts can be varied, strategy parameters included), run
//! with one strategy of `--strategy`. Points are in grid order: strategies outermost, then
//! the `--vary` fields in the order given, the last one fastest. Each point is a
//! [`crate::sweep`] on the rayon pool, so everything but the progress bar is the same at
//! any thread count.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use crate::bundled::Source;
use crate::matrix::{scatter, ChartPoint};
use crate::strategy::StrategySet;
use crate::sweep::{sweep, SeedRange, Sweep, SweepSpec};

/// The most points one grid may have.
pub const MAX_POINTS: usize = 10_000;

/// The columns the table always shows (run counters, as p50 / p90 / max over seeds).
pub const TABLE_COSTS: [&str; 7] = [
    "latency_p99_to_end_ns",
    "never_applied",
    "duplicate_applies",
    "dead_lettered",
    "skipped_gaps",
    "out_of_order_appends",
    "throughput_per_sec",
];

/// The default chart axes: p99 latency to the end of the run (x) and violation rate (y).
pub const DEFAULT_X: &str = "latency_p99_to_end_ns";
pub const DEFAULT_Y: &str = "violation_rate";

/// One `--vary FIELD=V1,V2,…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vary {
    pub field: String,
    pub values: Vec<String>,
}

impl Vary {
    /// Parses `FIELD=V1,V2,…`; the error says what was expected (the caller names the flag).
    pub fn parse(text: &str) -> Result<Vary, String> {
        let expected = "expected FIELD=V1,V2,… such as consumer.reorder_timeout_ms=50,100,200";
        let Some((field, values)) = text.split_once('=') else {
            return Err(format!("no `=`; {expected}"));
        };
        let field = field.trim();
        if field.is_empty() || field.contains(char::is_whitespace) {
            return Err(format!("{field:?} is not a field name; {expected}"));
        }
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        if let Some(empty) = values.iter().position(String::is_empty) {
            return Err(format!("field {field}: value {} is empty; {expected}", empty + 1));
        }
        Ok(Vary { field: field.to_string(), values })
    }
}

/// A figure of a point: `violation_rate` (per cent), or a run counter's percentile over
/// seeds, `NAME` (the median) or `NAME:p90` / `NAME:p99` / `NAME:max` / `NAME:min`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axis {
    pub counter: String,
    pub stat: &'static str,
}

impl Axis {
    pub fn parse(text: &str) -> Result<Axis, String> {
        let (counter, stat) = text.split_once(':').unwrap_or((text, "p50"));
        if counter == DEFAULT_Y {
            return if stat == "p50" {
                Ok(Axis { counter: counter.into(), stat: "" })
            } else {
                Err(format!("{text:?}: violation_rate has no percentile"))
            };
        }
        let names: Vec<&str> = counter_names();
        if !names.contains(&counter) {
            return Err(format!(
                "unknown figure {counter:?}; expected violation_rate or a run counter: {}",
                names.join(", ")
            ));
        }
        let stat = ["min", "p50", "p90", "p99", "max"]
            .into_iter()
            .find(|s| *s == stat)
            .ok_or_else(|| format!("{text:?}: unknown statistic {stat:?}; expected min, p50, p90, p99 or max"))?;
        Ok(Axis { counter: counter.into(), stat })
    }

    /// Whether more is better (throughputs); the Pareto front minimises everything else.
    pub fn higher_is_better(&self) -> bool {
        self.counter.contains("throughput")
    }

    /// Its name as given (`NAME:stat`, the median without `:p50`).
    pub fn name(&self) -> String {
        match self.stat {
            "" | "p50" => self.counter.clone(),
            stat => format!("{}:{stat}", self.counter),
        }
    }

    /// Its value at a point, in the unit shown (ms for `_ns` counters, % for the rate).
    pub fn value(&self, point: &Point) -> f64 {
        if self.counter == DEFAULT_Y {
            return 100.0 * point.sweep.violation_rate();
        }
        let d = point.sweep.metric(&self.counter).copied().unwrap_or_default();
        let v = match self.stat {
            "min" => d.min,
            "p90" => d.p90,
            "p99" => d.p99,
            "max" => d.max,
            _ => d.p50,
        };
        if self.counter.ends_with("_ns") {
            v as f64 / 1e6
        } else {
            v as f64
        }
    }

    /// The axis title.
    pub fn title(&self) -> String {
        if self.counter == DEFAULT_Y {
            return "violation rate (% of seeds)".into();
        }
        let stat = if self.stat == "p50" { "median" } else { self.stat };
        match self.counter.strip_suffix("_ns") {
            Some(stem) => format!("{stem} (ms, {stat} over seeds)"),
            None => format!("{} ({stat} over seeds)", self.counter),
        }
    }
}

/// Every run counter's name ([`crate::counters::of`], the list `ordo run --json` prints).
pub fn counter_names() -> Vec<&'static str> {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| {
            let scenario =
                crate::scenario::Scenario::parse("[workload]\nentities = 1\nevents_per_entity = 1\n", "t.toml", "t")
                    .expect("a minimal scenario parses");
            let result = crate::run::run(crate::run::RunSpec {
                scenario,
                scenario_path: Path::new("t.toml"),
                strategy: StrategySet::parse("key").expect("key parses"),
                seed: 1,
                history_mode: crate::history::HistoryMode::Off,
                history_file: None,
                keep_history: false,
            })
            .expect("a minimal run runs");
            crate::counters::of(&result).into_iter().map(|c| c.name).collect()
        })
        .clone()
}

/// What to explore.
pub struct ExploreSpec<'a> {
    pub source: &'a Source,
    /// `--set` assignments every point starts from.
    pub overrides: Vec<String>,
    pub vary: Vec<Vary>,
    pub strategies: Vec<StrategySet>,
    pub seeds: SeedRange,
    pub threads: usize,
    pub x: Axis,
    pub y: Axis,
    pub progress: bool,
}

/// One grid point's sweep.
pub struct Point {
    pub strategy: String,
    /// One `FIELD=VALUE` per `--vary`, in order.
    pub values: Vec<String>,
    pub sweep: Sweep,
    pub front: bool,
}

impl Point {
    /// A short label: the varied values, and the strategy when there are several.
    pub fn label(&self, strategies: usize) -> String {
        let values: Vec<&str> = self.values.iter().map(|a| a.split_once('=').map_or(a.as_str(), |(_, v)| v)).collect();
        let mut label = values.join(" · ");
        if strategies > 1 || label.is_empty() {
            label = if label.is_empty() { self.strategy.clone() } else { format!("{} · {label}", self.strategy) };
        }
        label
    }

    /// The Wilson score interval of the violation rate at 95 %, in per cent.
    pub fn wilson(&self) -> (f64, f64) {
        wilson(self.sweep.failing.len() as u64, self.sweep.runs())
    }
}

/// The 95 % Wilson score interval (z = 1.96) of `k` successes in `n` trials, in per cent.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 100.0);
    }
    let (k, n, z) = (k as f64, n as f64, 1.959_963_984_540_054f64);
    let p = k / n;
    let denominator = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denominator;
    // The bounds are exact at the ends (no rounding residue around 0 or 1).
    let low = if k == 0.0 { 0.0 } else { (centre - half).max(0.0) };
    let high = if k == n { 1.0 } else { (centre + half).min(1.0) };
    (100.0 * low, 100.0 * high)
}

/// The grid's result.
pub struct Explore {
    pub scenario: String,
    pub scenario_path: String,
    pub overrides: Vec<String>,
    pub vary: Vec<Vary>,
    pub seeds: SeedRange,
    pub x: Axis,
    pub y: Axis,
    pub strategies: usize,
    pub points: Vec<Point>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    /// A point's scenario is invalid: names `--vary` (or `--set`) and the field.
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Sweep(#[from] crate::sweep::SweepError),
}

/// The grid's points as override lists, in grid order (the last `--vary` fastest).
pub fn grid(vary: &[Vary]) -> Vec<Vec<String>> {
    let mut points: Vec<Vec<String>> = vec![Vec::new()];
    for v in vary {
        points = points
            .into_iter()
            .flat_map(|p| {
                v.values.iter().map(move |value| {
                    let mut p = p.clone();
                    p.push(format!("{}={value}", v.field));
                    p
                })
            })
            .collect();
    }
    points
}

/// Validates every point's scenario before running any.
pub fn check(spec: &ExploreSpec<'_>) -> Result<(), ExploreError> {
    let mut fields: Vec<&str> = Vec::new();
    for v in &spec.vary {
        if fields.contains(&v.field.as_str()) {
            return Err(ExploreError::Input(format!(
                "--vary {}: the field is varied twice; give its values once",
                v.field
            )));
        }
        fields.push(&v.field);
    }
    let points = spec
        .vary
        .iter()
        .try_fold(1usize, |n, v| n.checked_mul(v.values.len()))
        .unwrap_or(usize::MAX)
        .saturating_mul(spec.strategies.len());
    if points > MAX_POINTS {
        return Err(ExploreError::Input(format!(
            "--vary: {points} points; a grid has at most {MAX_POINTS} (fewer values, or fewer strategies)"
        )));
    }
    // Each value alone first, so the error names the value that is wrong.
    for v in &spec.vary {
        for value in &v.values {
            let mut overrides = spec.overrides.clone();
            overrides.push(format!("{}={value}", v.field));
            if let Err(error) = spec.source.load(&overrides) {
                return Err(ExploreError::Input(format!("--vary {}={value}: {error}", v.field)));
            }
        }
    }
    for point in grid(&spec.vary) {
        let mut overrides = spec.overrides.clone();
        overrides.extend(point.iter().cloned());
        if let Err(error) = spec.source.load(&overrides) {
            return Err(ExploreError::Input(format!("--vary {}: {error}", point.join(" "))));
        }
    }
    Ok(())
}

/// Runs the grid.
pub fn explore(spec: &ExploreSpec<'_>) -> Result<Explore, ExploreError> {
    let mut points = Vec::new();
    for_each_point(spec, |strategy, values, sweep_spec| {
        points.push(Point { strategy, values, sweep: sweep(sweep_spec)?, front: false });
        Ok(())
    })?;
    Ok(Explore::of(spec, points))
}

/// Checks the grid, then calls `point` with every point's strategy, `--vary` values and
/// sweep, in grid order. `ordo explore` sweeps each; a shard (`crate::shard`) runs its
/// slice of each point's seeds.
pub fn for_each_point(
    spec: &ExploreSpec<'_>,
    mut point: impl FnMut(String, Vec<String>, &SweepSpec<'_>) -> Result<(), ExploreError>,
) -> Result<(), ExploreError> {
    check(spec)?;
    let grid = grid(&spec.vary);
    let bar = if spec.progress {
        // Draws on stderr, and not at all when stderr is not a terminal.
        let bar = indicatif::ProgressBar::new((grid.len() * spec.strategies.len()) as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("exploring {wide_bar} {pos}/{len} points, eta {eta} {msg}")
        {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    for strategy in &spec.strategies {
        for values in &grid {
            let mut overrides = spec.overrides.clone();
            overrides.extend(values.iter().cloned());
            let scenario = spec.source.load(&overrides).map_err(|e| ExploreError::Input(e.to_string()))?;
            bar.set_message(format!("{} {}", strategy.name(), values.join(" ")));
            let sweep_spec = SweepSpec {
                scenario,
                scenario_path: &spec.source.path,
                strategy: StrategySet { members: strategy.members.clone() },
                seeds: spec.seeds,
                threads: spec.threads,
                progress: false,
            };
            point(strategy.name(), values.clone(), &sweep_spec)?;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(())
}

impl Explore {
    /// The grid's result from its points' sweeps, in grid order, the front marked.
    pub fn of(spec: &ExploreSpec<'_>, points: Vec<Point>) -> Explore {
        let name = points.last().map(|p| p.sweep.scenario.clone()).unwrap_or_default();
        let mut explore = Explore {
            scenario: name,
            scenario_path: spec.source.path.display().to_string(),
            overrides: spec.overrides.clone(),
            vary: spec.vary.clone(),
            seeds: spec.seeds,
            x: spec.x.clone(),
            y: spec.y.clone(),
            strategies: spec.strategies.len(),
            points,
        };
        explore.mark_front();
        explore
    }
}

impl Explore {
    /// Marks the Pareto front: points no other point beats on one axis while at least
    /// matching it on the other (lower is better, higher for throughputs).
    pub fn mark_front(&mut self) {
        let (x, y) = (self.x.clone(), self.y.clone());
        let key = |axis: &Axis, p: &Point| if axis.higher_is_better() { -axis.value(p) } else { axis.value(p) };
        let values: Vec<(f64, f64)> = self.points.iter().map(|p| (key(&x, p), key(&y, p))).collect();
        for (i, point) in self.points.iter_mut().enumerate() {
            let (a, b) = values[i];
            point.front = !values.iter().any(|&(c, d)| c <= a && d <= b && (c < a || d < b));
        }
    }

    /// The readable table.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let fields: Vec<&str> = self.vary.iter().map(|v| v.field.as_str()).collect();
        let _ = writeln!(
            s,
            "explored {} ({}) over {} points × seeds {} ({} runs each){}",
            self.scenario,
            self.scenario_path,
            self.points.len(),
            self.seeds,
            self.seeds.count(),
            if self.overrides.is_empty() {
                String::new()
            } else {
                format!(", with --set {}", self.overrides.join(" --set "))
            }
        );
        let _ = writeln!(
            s,
            "violation rate with its 95 % Wilson interval; costs as p50 / p90 / max over seeds (ms for times); \
             * = on the Pareto front of {} against {}",
            self.y.name(),
            self.x.name()
        );
        let mut columns: Vec<String> = Vec::new();
        for axis in [&self.x, &self.y] {
            if axis.counter != DEFAULT_Y && !TABLE_COSTS.contains(&axis.counter.as_str()) {
                columns.push(axis.counter.clone());
            }
        }
        columns.extend(TABLE_COSTS.iter().map(|c| c.to_string()));
        let mut header = vec!["".to_string(), "strategy".to_string()];
        header.extend(fields.iter().map(|f| f.to_string()));
        header.push("violation rate [95 % CI]".into());
        header.extend(columns.iter().map(|c| c.strip_suffix("_ns").map_or(c.clone(), |stem| format!("{stem}_ms"))));
        let mut rows = vec![header];
        for point in &self.points {
            let mut row = vec![if point.front { "*".into() } else { String::new() }, point.strategy.clone()];
            row.extend(point.values.iter().map(|a| a.split_once('=').map_or(a.clone(), |(_, v)| v.to_string())));
            let (low, high) = point.wilson();
            row.push(format!("{:.1} % [{low:.1}, {high:.1}]", 100.0 * point.sweep.violation_rate()));
            for column in &columns {
                let d = point.sweep.metric(column).copied().unwrap_or_default();
                let show =
                    |v: u64| if column.ends_with("_ns") { format!("{:.1}", v as f64 / 1e6) } else { v.to_string() };
                row.push(format!("{} / {} / {}", show(d.p50), show(d.p90), show(d.max)));
            }
            rows.push(row);
        }
        let widths: Vec<usize> =
            (0..rows[0].len()).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
        for row in &rows {
            let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            let _ = writeln!(s, "{}", cells.join("  ").trim_end());
        }
        s
    }

    /// Everything, for tools (the same bytes at any thread count).
    pub fn to_json(&self) -> Value {
        let points: Vec<Value> = self
            .points
            .iter()
            .map(|p| {
                let mut sweep = p.sweep.to_json();
                if let Some(object) = sweep.as_object_mut() {
                    object.remove("timing");
                }
                let (low, high) = p.wilson();
                json!({
                    "strategy": p.strategy,
                    "values": self.vary.iter().zip(&p.values).map(|(v, a)| (v.field.clone(), json!(a.split_once('=').map_or(a.as_str(), |(_, value)| value)))).collect::<serde_json::Map<String, Value>>(),
                    "overrides": p.values,
                    "label": p.label(self.strategies),
                    "violation_rate": p.sweep.violation_rate(),
                    "violation_rate_ci95": {"low": low / 100.0, "high": high / 100.0},
                    "x": self.x.value(p),
                    "y": self.y.value(p),
                    "pareto_front": p.front,
                    "sweep": sweep,
                })
            })
            .collect();
        json!({
            "schema_version": crate::cli::JSON_SCHEMA_VERSION,
            "scenario": self.scenario,
            "scenario_path": self.scenario_path,
            "overrides": self.overrides,
            "vary": self.vary.iter().map(|v| json!({"field": v.field, "values": v.values})).collect::<Vec<_>>(),
            "seeds": {"first": self.seeds.first, "last": self.seeds.last, "count": self.seeds.count()},
            "x": {"figure": self.x.name(), "title": self.x.title(), "higher_is_better": self.x.higher_is_better()},
            "y": {"figure": self.y.name(), "title": self.y.title(), "higher_is_better": self.y.higher_is_better()},
            "points": points,
        })
    }

    /// The trade-off chart: every point labelled, the Pareto front joined.
    pub fn chart_svg(&self) -> Result<String, String> {
        let points: Vec<ChartPoint> = self
            .points
            .iter()
            .map(|p| ChartPoint {
                label: p.label(self.strategies),
                x: self.x.value(p),
                y: self.y.value(p),
                front: p.front,
            })
            .collect();
        let fields: Vec<&str> = self.vary.iter().map(|v| v.field.as_str()).collect();
        let caption = format!("{}: {} ({} seeds a point)", self.scenario, fields.join(" × "), self.seeds.count());
        scatter(&caption, &self.x.title(), &self.y.title(), &points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vary_parses_and_refuses_what_is_not_a_list() {
        assert_eq!(
            Vary::parse("consumer.reorder_timeout_ms=50, 100,200"),
            Ok(Vary {
                field: "consumer.reorder_timeout_ms".into(),
                values: vec!["50".into(), "100".into(), "200".into()]
            })
        );
        for bad in ["consumer.reorder_timeout_ms", "=1,2", "a=1,,2", "a b=1"] {
            assert!(Vary::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_grid_is_the_product_with_the_last_field_fastest() {
        let vary = [Vary::parse("a=1,2").unwrap(), Vary::parse("b=x,y,z").unwrap()];
        let grid = grid(&vary);
        assert_eq!(grid.len(), 6);
        assert_eq!(grid[0], ["a=1", "b=x"]);
        assert_eq!(grid[1], ["a=1", "b=y"]);
        assert_eq!(grid[5], ["a=2", "b=z"]);
        assert_eq!(super::grid(&[]), vec![Vec::<String>::new()]);
    }

    #[test]
    fn wilson_intervals_match_the_formula() {
        let (low, high) = wilson(0, 10);
        assert!(low == 0.0 && (high - 27.75).abs() < 0.01, "{high}");
        let (low, high) = wilson(5, 10);
        assert!((low - 23.66).abs() < 0.01 && (high - 76.34).abs() < 0.01, "{low} {high}");
        let (low, high) = wilson(10, 10);
        assert!((low - 72.25).abs() < 0.01 && high == 100.0, "{low}");
    }

    #[test]
    fn axes_are_a_rate_or_a_counter_percentile() {
        assert_eq!(Axis::parse("violation_rate").unwrap().name(), "violation_rate");
        assert_eq!(Axis::parse("latency_p99_ns:max").unwrap().stat, "max");
        assert!(Axis::parse("throughput_per_sec").unwrap().higher_is_better());
        assert!(Axis::parse("nonsense").unwrap_err().contains("expected violation_rate or a run counter"));
        assert!(Axis::parse("dead_lettered:p42").is_err());
    }
}
