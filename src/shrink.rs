//! `ordo shrink`: from a failing seed to the smallest scenario that still fails.
//!
//! The method is delta debugging (Zeller's ddmin) on the scenario, with the checker as the
//! only judge: a candidate is kept when its run still shows a *violation* of the same kind.
//!
//! 1. The scenario is turned into one TOML table: `--set` overrides are folded in, the
//!    faults `[random_faults]` draws for the seed become scripted `[[fault]]` entries, and
//!    `seed`, `strategy` and `name` are pinned, so the table alone replays the run.
//!    `run.max_events` is capped at ten times the original run's events, so that no
//!    candidate runs much longer than the original.
//! 2. Passes run in a fixed order until a whole round changes nothing:
//!    - faults: ddmin over the `[[fault]]` list (a crash goes with its restart, a partition
//!      with its heal, when both would have to go);
//!    - fault sizes: shorter pauses, earlier restarts and heals, smaller clock steps, milder
//!      link periods;
//!    - `[[link]]` and `[[clock]]` entries: removed, else made milder;
//!    - rates: loss, duplication, jitter, processing failures towards 0;
//!    - sizes: entities, events per entity, producers, consumers, partitions, brokers (the
//!      faults, links and clocks of a node that no longer exists go with it);
//!    - the run: `run.max_time_ms`.
//!
//!    Each knob tries its floor first, then the midpoint between floor and value; a kept
//!    candidate is never larger than the current one in any dimension, and every kept step
//!    lowers some value, so the search ends.
//! 3. A candidate runs at its pinned seed, then at the next ones up to `--tries` in all;
//!    the first seed that still shows the kind is pinned in it (a smaller workload draws
//!    other random numbers, so the same seed rarely keeps the same failure). The search is a
//!    pure function of its input (scenario text, overrides, strategy, seed, kind, `--tries`,
//!    `--max-runs`), and a minimal scenario shrinks to itself. Only the wall-clock `--budget` can cut a search short at a
//!    point that depends on the machine; the output then says so.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};
use toml::{Table, Value};

use crate::bundled::Source;
use crate::checker::{Kind, Status};
use crate::scenario::{random, Scenario};
use crate::strategy::StrategySet;
use crate::sweep::{run_seed, SeedOutcome, SeedRange, SweepSpec};

/// A candidate run handles at most this many times the original run's engine events (and
/// at least [`EVENTS_CAP_FLOOR`]): `run.max_events` of the minimal scenario.
pub const EVENTS_CAP_FACTOR: u64 = 10;
pub const EVENTS_CAP_FLOOR: u64 = 100_000;

/// The command line's defaults, also used by `ordo sweep --shrink`: most candidate runs,
/// seeds tried per candidate, and the wall-clock budget in seconds.
pub const DEFAULT_MAX_RUNS: u64 = 2000;
pub const DEFAULT_TRIES: u64 = 4;
pub const DEFAULT_BUDGET_SECS: u64 = 60;

/// What to shrink.
pub struct ShrinkSpec<'a> {
    pub source: &'a Source,
    /// `--set` assignments, folded into the result.
    pub overrides: &'a [String],
    /// `--strategy` (default: the scenario's).
    pub strategy: Option<String>,
    /// `--seed` (default: the scenario's).
    pub seed: Option<u64>,
    /// `--kind` (default: the first violated kind, most serious first).
    pub kind: Option<String>,
    /// Most candidate runs (deterministic cap).
    pub max_runs: u64,
    /// Seeds tried per candidate: its pinned seed and the next `tries - 1`; the first that
    /// shows the kind is pinned in it.
    pub tries: u64,
    /// Wall-clock budget: stop with the best result so far.
    pub budget: Option<Duration>,
    /// Draw a progress bar on stderr (hidden when stderr is not a terminal).
    pub progress: bool,
}

/// Why there is nothing to shrink.
#[derive(Debug, thiserror::Error)]
pub enum ShrinkError {
    /// Bad input (exit 2): an unknown kind or strategy, a scenario that does not load.
    #[error("{0}")]
    Input(String),
    /// The run does not violate the kind (exit 1): nothing to shrink.
    #[error("{0}")]
    NothingToShrink(String),
}

/// A scenario's size in every dimension the shrinker lowers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    pub faults: u64,
    /// Events the workload creates (entities × events per entity).
    pub events: u64,
    pub entities: u64,
    pub producers: u64,
    pub consumers: u64,
    pub partitions: u64,
    pub brokers: u64,
    pub links: u64,
    pub clocks: u64,
    pub max_time_ms: u64,
}

impl Sizes {
    pub fn of(scenario: &Scenario) -> Sizes {
        let w = &scenario.workload;
        let t = &scenario.topology;
        Sizes {
            faults: scenario.faults.len() as u64,
            events: u64::from(w.entities) * u64::from(w.events_per_entity),
            entities: u64::from(w.entities),
            producers: u64::from(t.producers),
            consumers: u64::from(t.consumers),
            partitions: u64::from(t.partitions),
            brokers: u64::from(t.brokers),
            links: scenario.links.len() as u64,
            clocks: scenario.clocks.len() as u64,
            max_time_ms: scenario.run.max_time_ms,
        }
    }

    /// `(name, value)` in a fixed order.
    pub fn fields(&self) -> [(&'static str, u64); 10] {
        [
            ("faults", self.faults),
            ("events", self.events),
            ("entities", self.entities),
            ("producers", self.producers),
            ("consumers", self.consumers),
            ("partitions", self.partitions),
            ("brokers", self.brokers),
            ("links", self.links),
            ("clocks", self.clocks),
            ("max_time_ms", self.max_time_ms),
        ]
    }

    /// No dimension is larger than `other`'s.
    pub fn within(&self, other: &Sizes) -> bool {
        self.fields().iter().zip(other.fields()).all(|(a, b)| a.1 <= b.1)
    }

    fn to_json(self) -> Json {
        Json::Object(self.fields().iter().map(|&(k, v)| (k.to_string(), json!(v))).collect())
    }
}

/// What `ordo shrink` found.
pub struct Shrunk {
    pub kind: Kind,
    /// The failing seed shrunk.
    pub seed: u64,
    /// The seed pinned in the minimal scenario (another one when a smaller scenario showed
    /// the kind only at a later seed).
    pub minimal_seed: u64,
    pub strategy: String,
    /// The kinds the original run violates, most serious first.
    pub violated: Vec<Kind>,
    pub original: Sizes,
    pub minimal: Sizes,
    /// The minimal scenario, as a TOML file that replays the violation (`ordo run FILE`).
    pub text: String,
    /// The kept steps, in order, in words.
    pub steps: Vec<String>,
    /// Candidates run (the original run included).
    pub runs: u64,
    /// `None`: the search ended (a round changed nothing); else what stopped it.
    pub cut_short: Option<&'static str>,
    /// `ordo shrink …` as given.
    pub command: String,
    /// `ordo trace --violation N` of the minimal run's first anomaly of the kind: the
    /// story of the violation, in words (empty if the trace could not be drawn).
    pub trace: String,
}

impl Shrunk {
    /// `9 faults → 2, 2,000 events → 14, …`: the dimensions that changed.
    pub fn summary_line(&self) -> String {
        let changed: Vec<String> = self
            .original
            .fields()
            .iter()
            .zip(self.minimal.fields())
            .filter(|(a, b)| a.1 != b.1)
            .map(|(a, b)| format!("{} {} → {}", group(a.1), a.0.replace('_', " "), group(b.1)))
            .collect();
        if changed.is_empty() {
            "already minimal: no smaller scenario still shows it".to_string()
        } else {
            changed.join(", ")
        }
    }

    pub fn render_text(&self, out: Option<&Path>) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "shrunk a {} violation (seed {}, strategy {}) in {} runs{}\n",
            self.kind.name(),
            self.seed,
            self.strategy,
            self.runs,
            match self.cut_short {
                Some(why) => format!(" (stopped by {why}: the best result so far)"),
                None => String::new(),
            }
        ));
        s.push_str(&format!("  {}\n", self.summary_line()));
        if !self.steps.is_empty() {
            s.push_str("steps kept:\n");
            for step in &self.steps {
                s.push_str(&format!("  - {step}\n"));
            }
        }
        if !self.trace.is_empty() {
            s.push_str("\nthe violation in the minimal run (ordo trace):\n");
            s.push_str(&self.trace);
            if !self.trace.ends_with('\n') {
                s.push('\n');
            }
            s.push('\n');
        }
        match out {
            Some(path) => s.push_str(&format!("wrote {}\nreproduce: ordo run {}\n", path.display(), path.display())),
            None => {
                s.push_str("minimal scenario (write it to a file with -o FILE.toml, then `ordo run FILE.toml`):\n\n");
                s.push_str(&self.text);
            }
        }
        s
    }

    pub fn to_json(&self, out: Option<&Path>) -> Json {
        json!({
            "schema_version": 1,
            "command": "shrink",
            "kind": self.kind.name(),
            "seed": self.seed,
            "minimal_seed": self.minimal_seed,
            "strategy": self.strategy,
            "violated": self.violated.iter().map(|k| k.name()).collect::<Vec<_>>(),
            "original": self.original.to_json(),
            "minimal": self.minimal.to_json(),
            "summary": self.summary_line(),
            "steps": self.steps,
            "runs": self.runs,
            "cut_short": self.cut_short,
            "output": out.map(|p| p.display().to_string()),
            "reproduce": out.map(|p| format!("ordo run {}", p.display())),
            "scenario_toml": self.text,
            "trace": self.trace,
        })
    }
}

/// 20000 → "20,000".
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Judges candidates: parses, runs at the pinned seed, checks for the kind.
struct Judge<'a> {
    kind: Kind,
    path: &'a Path,
    runs: u64,
    max_runs: u64,
    tries: u64,
    deadline: Option<Instant>,
    cut_short: Option<&'static str>,
    bar: indicatif::ProgressBar,
}

impl Judge<'_> {
    fn exhausted(&mut self) -> bool {
        if self.cut_short.is_some() {
            return true;
        }
        if self.runs >= self.max_runs {
            self.cut_short = Some("--max-runs");
        } else if let Some(deadline) = self.deadline {
            // Wall time only decides when to stop looking, never what a run does.
            #[allow(clippy::disallowed_methods)]
            let now = Instant::now();
            if now >= deadline {
                self.cut_short = Some("--budget");
            }
        }
        self.cut_short.is_some()
    }

    /// The table (with the seed that showed it pinned) and its scenario, if the table is
    /// valid and a run still violates the kind at its seed or one of the `tries - 1` next.
    fn still_fails(&mut self, table: &Table) -> Option<(Table, Scenario)> {
        let first = table.get("seed").and_then(Value::as_integer).unwrap_or(0);
        for t in 0..self.tries {
            if self.exhausted() {
                return None;
            }
            let mut table = table.clone();
            let seed = first.saturating_add(t as i64);
            table.insert("seed".into(), Value::Integer(seed));
            let scenario = parse_table(&table, self.path).ok()?;
            let outcome = run_once(&scenario, self.path).ok()?;
            self.runs += 1;
            self.bar.set_position(self.runs);
            if violated(&outcome).contains(&self.kind) {
                return Some((table, scenario));
            }
        }
        None
    }
}

fn parse_table(table: &Table, path: &Path) -> Result<Scenario, String> {
    let text = toml::to_string(table).map_err(|e| e.to_string())?;
    Scenario::parse(&text, &path.display().to_string(), "shrunk").map_err(|e| e.to_string())
}

fn run_once(scenario: &Scenario, path: &Path) -> Result<SeedOutcome, String> {
    let strategy = StrategySet::parse(&scenario.strategy).map_err(|e| e.to_string())?;
    let spec = SweepSpec {
        scenario: scenario.clone(),
        scenario_path: path,
        strategy,
        seeds: SeedRange { first: scenario.seed, last: scenario.seed },
        threads: 1,
        progress: false,
    };
    run_seed(&spec, scenario.seed).map_err(|e| e.to_string())
}

/// The kinds a run violates (what it expects and does not get), most serious first.
fn violated(outcome: &SeedOutcome) -> Vec<Kind> {
    outcome.anomalies.iter().filter(|(_, status, _)| *status == Status::Violated).map(|(kind, _, _)| *kind).collect()
}

/// Shrinks a failing seed. Deterministic apart from `--budget`.
pub fn shrink(spec: &ShrinkSpec<'_>) -> Result<Shrunk, ShrinkError> {
    let source = spec.source;
    let path = source.path.as_path();
    let input = |e: String| ShrinkError::Input(e);
    let scenario = source.load(spec.overrides).map_err(|e| input(e.to_string()))?;
    let seed = spec.seed.unwrap_or(scenario.seed);
    let strategy_name = spec.strategy.clone().unwrap_or_else(|| scenario.strategy.clone());
    let strategy = StrategySet::parse(&strategy_name).map_err(|e| input(format!("--strategy: {e}")))?;
    let wanted = match &spec.kind {
        Some(name) => Some(Kind::ALL.iter().copied().find(|k| k.name() == name).ok_or_else(|| {
            input(format!(
                "--kind {name:?}: not a checker kind; expected one of {}",
                Kind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
            ))
        })?),
        None => None,
    };

    // The original run, as the user would see it.
    let mut original_scenario = scenario.clone();
    original_scenario.strategy = strategy.name();
    original_scenario.seed = seed;
    let drawn = random::draw(&original_scenario, seed);
    let original_outcome = run_once(&original_scenario, path).map_err(input)?;
    let violated_kinds = violated(&original_outcome);
    let command = shrink_command(path, seed, &strategy.name(), spec.overrides, spec.kind.as_deref());
    let kind = match wanted {
        Some(kind) if violated_kinds.contains(&kind) => kind,
        Some(kind) => {
            return Err(ShrinkError::NothingToShrink(format!(
                "nothing to shrink: seed {seed} with strategy {} does not violate {}{}",
                strategy.name(),
                kind.name(),
                if violated_kinds.is_empty() {
                    " (it violates nothing the scenario expects)".to_string()
                } else {
                    format!(" (it violates {})", violated_kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(", "))
                }
            )))
        }
        None => *violated_kinds.first().ok_or_else(|| {
            ShrinkError::NothingToShrink(format!(
                "nothing to shrink: seed {seed} with strategy {} violates nothing the scenario expects ({})",
                strategy.name(),
                scenario.expect.join(", ")
            ))
        })?,
    };

    // One table that replays the run on its own.
    let mut table: Table = toml::from_str(&source.text).map_err(|e| input(format!("{}: {e}", path.display())))?;
    for assignment in spec.overrides {
        crate::scenario::apply_override(&mut table, assignment).map_err(|e| input(e.to_string()))?;
    }
    table.remove("random_faults");
    // A lesson's quiz holds for the lesson's seeds, not for the shrunk copy.
    table.remove("quiz");
    if let Some(drawn) = &drawn {
        let faults = fault_list(&mut table);
        for fault in &drawn.faults {
            let parsed: Table = toml::from_str(&random::fault_toml(fault)).expect("ordo writes valid [[fault]] TOML");
            if let Some(Value::Array(entries)) = parsed.get("fault") {
                faults.extend(entries.iter().cloned());
            }
        }
    }
    let name =
        if scenario.name.ends_with("-shrunk") { scenario.name.clone() } else { format!("{}-shrunk", scenario.name) };
    table.insert("name".into(), Value::String(name));
    table.insert("seed".into(), Value::Integer(seed as i64));
    table.insert("strategy".into(), Value::String(strategy.name()));
    // A candidate can run far longer than the original (a broker that never comes back
    // keeps every client retrying until the time limit): its events are capped at a
    // multiple of the original run's, which the minimal file keeps, so it replays the same.
    let cap = original_outcome.events.saturating_mul(EVENTS_CAP_FACTOR).max(EVENTS_CAP_FLOOR);
    if cap < original_scenario.run.max_events {
        crate::scenario::apply_override(&mut table, &format!("run.max_events={cap}"))
            .map_err(|e| input(e.to_string()))?;
    }
    let start = parse_table(&table, path)
        .map_err(|e| input(format!("cannot write this scenario as one scripted file (an ordo bug): {e}")))?;
    let original = Sizes::of(&start);

    let bar = if spec.progress {
        let bar = indicatif::ProgressBar::new(spec.max_runs);
        bar.set_style(
            indicatif::ProgressStyle::with_template("shrinking {pos} runs [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    #[allow(clippy::disallowed_methods)]
    let deadline = spec.budget.map(|b| Instant::now() + b);
    let mut judge = Judge {
        kind,
        path,
        runs: 1,
        max_runs: spec.max_runs.max(1),
        tries: spec.tries.max(1),
        deadline,
        cut_short: None,
        bar,
    };
    // The scripted table must replay the violation at the same seed (it is the same run).
    match judge.still_fails(&table) {
        Some((_, replay)) if replay.seed == seed => {}
        _ if judge.cut_short.is_some() => {}
        _ => return Err(input("the scripted copy of this run does not replay it (an ordo bug)".into())),
    }
    let mut state = State { table, scenario: start, steps: Vec::new() };
    loop {
        let before = state.steps.len();
        shrink_faults(&mut state, &mut judge);
        shrink_knobs(&mut state, &mut judge, &SIZE_KNOBS);
        shrink_fault_sizes(&mut state, &mut judge);
        shrink_entries(&mut state, &mut judge, "link");
        shrink_entries(&mut state, &mut judge, "clock");
        shrink_knobs(&mut state, &mut judge, &RATE_KNOBS);
        judge.bar.set_message(format!("{} steps kept", state.steps.len()));
        if state.steps.len() == before || judge.cut_short.is_some() {
            break;
        }
    }
    judge.bar.finish_and_clear();
    let minimal = Sizes::of(&state.scenario);
    debug_assert!(minimal.within(&original));
    let body = toml::to_string(&state.table).expect("the table was written before");
    let text = header(&command, &scenario.name, kind, &original, &minimal, &state.steps, judge.cut_short) + &body;
    Ok(Shrunk {
        kind,
        seed,
        minimal_seed: state.scenario.seed,
        strategy: strategy.name(),
        violated: violated_kinds,
        original,
        minimal,
        text,
        steps: state.steps,
        runs: judge.runs,
        cut_short: judge.cut_short,
        command,
        trace: trace_of(&state.scenario, path, kind),
    })
}

/// The minimal run's story: its history, checked, and the first anomaly of the kind traced.
fn trace_of(scenario: &Scenario, path: &Path, kind: Kind) -> String {
    let Ok(strategy) = StrategySet::parse(&scenario.strategy) else { return String::new() };
    let run = crate::run::run(crate::run::RunSpec {
        scenario: scenario.clone(),
        scenario_path: path,
        strategy,
        seed: scenario.seed,
        history_mode: crate::history::HistoryMode::On,
        history_file: None,
        keep_history: true,
    });
    let Some(jsonl) = run.ok().and_then(|r| r.history.jsonl) else { return String::new() };
    let Ok(loaded) = crate::trace::load_bytes(&jsonl, "history") else { return String::new() };
    let Some(n) = loaded.report.violations.iter().position(|v| v.kind == kind && v.status == Status::Violated) else {
        return String::new();
    };
    match loaded.select(&crate::trace::Selection::Violation(n + 1)) {
        Ok(story) => crate::trace::render(&loaded.history, &story),
        Err(_) => String::new(),
    }
}

fn shrink_command(path: &Path, seed: u64, strategy: &str, overrides: &[String], kind: Option<&str>) -> String {
    let mut c = format!("ordo shrink {} --seed {seed} --strategy {strategy}", path.display());
    for o in overrides {
        c.push_str(&format!(" --set {o}"));
    }
    if let Some(kind) = kind {
        c.push_str(&format!(" --kind {kind}"));
    }
    c
}

fn header(
    command: &str,
    name: &str,
    kind: Kind,
    original: &Sizes,
    minimal: &Sizes,
    steps: &[String],
    cut_short: Option<&str>,
) -> String {
    let mut h = String::new();
    h.push_str(&format!("# A minimal `{name}` that still shows `{}`, found by:\n#   {command}\n", kind.name()));
    h.push_str("# `ordo run` on this file replays the violation exactly (seed and strategy are pinned;\n");
    h.push_str("# faults that [random_faults] drew are written out as [[fault]] entries).\n");
    if let Some(why) = cut_short {
        h.push_str(&format!("# The search was stopped by {why}: a smaller scenario may exist.\n"));
    }
    h.push_str("# Sizes before → after:\n");
    for ((field, a), (_, b)) in original.fields().iter().zip(minimal.fields()) {
        h.push_str(&format!("#   {field}: {a} → {b}\n"));
    }
    if !steps.is_empty() {
        h.push_str("# Steps kept (each still showed the violation):\n");
        for step in steps {
            h.push_str(&format!("#   - {step}\n"));
        }
    }
    h.push('\n');
    h
}

/// The search state: the current table and its scenario, and the steps kept so far.
struct State {
    table: Table,
    scenario: Scenario,
    steps: Vec<String>,
}

impl State {
    /// Keeps `candidate` if it is no larger and still fails.
    fn try_keep(&mut self, judge: &mut Judge<'_>, candidate: Table, step: impl FnOnce() -> String) -> bool {
        if candidate == self.table {
            return false;
        }
        match judge.still_fails(&candidate) {
            Some((table, scenario)) if Sizes::of(&scenario).within(&Sizes::of(&self.scenario)) => {
                let mut step = step();
                if scenario.seed != self.scenario.seed {
                    step.push_str(&format!(" (at seed {})", scenario.seed));
                }
                self.table = table;
                self.scenario = scenario;
                self.push_step(step);
                true
            }
            _ => false,
        }
    }

    /// Keeps a step; `X: a → b` right after `X: c → a` becomes `X: c → b`.
    fn push_step(&mut self, step: String) {
        if let (Some(last), Some((key, rest))) = (self.steps.last_mut(), step.split_once(": ")) {
            if let (Some((last_key, last_rest)), Some((from, to))) = (last.split_once(": "), rest.split_once(" → ")) {
                if last_key == key && !last_rest.contains("(at seed") && last_rest.ends_with(&format!(" → {from}")) {
                    let (first, _) = last_rest.split_once(" → ").expect("ends with one");
                    *last = format!("{key}: {first} → {to}");
                    return;
                }
            }
        }
        self.steps.push(step);
    }
}

fn fault_list(table: &mut Table) -> &mut Vec<Value> {
    let entry = table.entry("fault").or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        *entry = Value::Array(Vec::new());
    }
    entry.as_array_mut().expect("just made an array")
}

fn entries(table: &Table, key: &str) -> Vec<Table> {
    match table.get(key) {
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_table().cloned()).collect(),
        _ => Vec::new(),
    }
}

fn with_entries(table: &Table, key: &str, items: Vec<Table>) -> Table {
    let mut t = table.clone();
    if items.is_empty() {
        t.remove(key);
    } else {
        t.insert(key.into(), Value::Array(items.into_iter().map(Value::Table).collect()));
    }
    t
}

fn str_of<'t>(t: &'t Table, key: &str) -> &'t str {
    t.get(key).and_then(Value::as_str).unwrap_or("")
}

fn int_of(t: &Table, key: &str) -> Option<i64> {
    t.get(key).and_then(Value::as_integer)
}

/// A fault in words, for the steps list.
fn describe(f: &Table) -> String {
    let kind = str_of(f, "kind");
    let at = int_of(f, "at_ms").unwrap_or(0);
    let whom = if f.contains_key("node") {
        str_of(f, "node").to_string()
    } else {
        let side = |k: &str| f.get(k).map(|v| v.to_string().replace('"', "")).unwrap_or_default();
        format!("{} → {}", side("from"), side("to"))
    };
    format!("{kind} {whom} at {at} ms")
}

/// The fault that has to go when fault `i` goes: a crash's restart, a partition's heal.
fn partner(faults: &[Table], i: usize) -> Option<usize> {
    let f = &faults[i];
    let at = int_of(f, "at_ms")?;
    let (want, same): (&str, &[&str]) = match str_of(f, "kind") {
        "crash" => ("restart", &["node"]),
        "partition" => ("heal", &["from", "to", "both"]),
        _ => return None,
    };
    faults
        .iter()
        .enumerate()
        .filter(|(j, g)| {
            *j != i
                && str_of(g, "kind") == want
                && int_of(g, "at_ms").is_some_and(|t| t >= at)
                && same.iter().all(|k| g.get(*k) == f.get(*k))
        })
        .min_by_key(|(j, g)| (int_of(g, "at_ms"), *j))
        .map(|(j, _)| j)
}

/// ddmin over the fault list: remove chunks (with their partners) while the run still fails.
fn shrink_faults(state: &mut State, judge: &mut Judge<'_>) {
    let mut n = 2usize;
    loop {
        let faults = entries(&state.table, "fault");
        let len = faults.len();
        if len == 0 || judge.exhausted() {
            return;
        }
        let n_now = n.min(len);
        let chunk = len.div_ceil(n_now);
        let mut kept = false;
        for start in (0..len).step_by(chunk) {
            let mut gone: Vec<usize> = (start..(start + chunk).min(len)).collect();
            let partners: Vec<usize> = gone.iter().filter_map(|&i| partner(&faults, i)).collect();
            gone.extend(partners);
            gone.sort_unstable();
            gone.dedup();
            let rest: Vec<Table> =
                faults.iter().enumerate().filter(|(i, _)| !gone.contains(i)).map(|(_, f)| f.clone()).collect();
            let what: Vec<String> = gone.iter().map(|&i| describe(&faults[i])).collect();
            let candidate = with_entries(&state.table, "fault", rest);
            if state.try_keep(judge, candidate, || format!("removed fault(s): {}", what.join("; "))) {
                kept = true;
                n = n_now.saturating_sub(1).max(2);
                break;
            }
        }
        if !kept {
            if n_now >= len {
                return;
            }
            n = (n_now * 2).min(len);
        }
    }
}

/// Smaller values to try for a knob, floor first, then the midpoint.
fn smaller(value: i64, floor: i64) -> Vec<i64> {
    let mut out = Vec::new();
    if value > floor {
        out.push(floor);
        let mid = floor + (value - floor) / 2;
        if mid > floor && mid < value {
            out.push(mid);
        }
    }
    out
}

/// Tries each value on one integer field of one entry of a list; keeps the first that fails.
/// A negative value (a backward clock step, a negative offset or drift) moves towards 0
/// from below: `floor` bounds its magnitude, and its sign is kept.
fn shrink_entry_field(state: &mut State, judge: &mut Judge<'_>, key: &str, index: usize, field: &str, floor: i64) {
    loop {
        let items = entries(&state.table, key);
        let Some(value) = items.get(index).and_then(|t| int_of(t, field)) else { return };
        let sign = if value < 0 { -1 } else { 1 };
        let mut kept = false;
        for v in smaller(value.abs(), floor).into_iter().map(|magnitude| sign * magnitude) {
            let mut changed = items.clone();
            changed[index].insert(field.into(), Value::Integer(v));
            let what = format!("{key}[{index}].{field}: {value} → {v}");
            if state.try_keep(judge, with_entries(&state.table, key, changed), || what) {
                kept = true;
                break;
            }
        }
        if !kept {
            return;
        }
    }
}

/// Shorter pauses and partitions, earlier restarts and heals, smaller clock steps, milder
/// link periods.
fn shrink_fault_sizes(state: &mut State, judge: &mut Judge<'_>) {
    let count = entries(&state.table, "fault").len();
    for i in 0..count {
        let faults = entries(&state.table, "fault");
        let Some(f) = faults.get(i) else { return };
        let at = int_of(f, "at_ms").unwrap_or(0);
        match str_of(f, "kind") {
            "pause" => shrink_entry_field(state, judge, "fault", i, "duration_ms", 1),
            "partition" if f.contains_key("heal_at_ms") => {
                shrink_entry_field(state, judge, "fault", i, "heal_at_ms", at.saturating_add(1))
            }
            "clock_step" => shrink_entry_field(state, judge, "fault", i, "delta_ms", 1),
            "link" => {
                for field in ["loss_ppm", "duplicate_ppm"] {
                    shrink_entry_field(state, judge, "fault", i, field, 0);
                }
            }
            _ => {}
        }
        // A crash's restart and a partition's heal come earlier (not before their start).
        let faults = entries(&state.table, "fault");
        if let Some(j) = partner(&faults, i) {
            shrink_entry_field(state, judge, "fault", j, "at_ms", at);
        }
    }
}

/// `[[link]]` / `[[clock]]`: remove each entry, else make it milder.
fn shrink_entries(state: &mut State, judge: &mut Judge<'_>, key: &str) {
    let mut i = 0;
    while i < entries(&state.table, key).len() {
        let mut items = entries(&state.table, key);
        let removed = items.remove(i);
        let what = format!("removed [[{key}]] {}", describe_entry(&removed));
        if state.try_keep(judge, with_entries(&state.table, key, items), || what) {
            continue;
        }
        let fields: &[(&str, i64)] = if key == "link" {
            &[("loss_ppm", 0), ("duplicate_ppm", 0)]
        } else {
            &[("offset_ms", 0), ("drift_ppm", 0)]
        };
        for &(field, floor) in fields {
            shrink_entry_field(state, judge, key, i, field, floor);
        }
        i += 1;
    }
}

fn describe_entry(t: &Table) -> String {
    let mut parts: Vec<String> = t.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    parts.sort();
    parts.join(", ")
}

/// The node names a topology size removes when it goes from `from` to `to`.
fn removed_names(prefix: char, from: u64, to: u64) -> Vec<String> {
    (to..from).map(|i| format!("{prefix}{i}")).collect()
}

/// Whether a TOML value names one of these nodes.
fn mentions(value: &Value, names: &[String]) -> bool {
    match value {
        Value::String(s) => names.iter().any(|n| n == s),
        Value::Array(items) => items.iter().any(|v| mentions(v, names)),
        Value::Table(t) => t.values().any(|v| mentions(v, names)),
        _ => false,
    }
}

/// Drops the faults, links and clocks that name nodes that no longer exist.
fn without_nodes(table: &Table, names: &[String]) -> Table {
    let mut t = table.clone();
    for key in ["fault", "link", "clock"] {
        let kept: Vec<Table> =
            entries(&t, key).into_iter().filter(|e| !mentions(&Value::Table(e.clone()), names)).collect();
        t = with_entries(&t, key, kept);
    }
    t
}

fn set(table: &Table, path: &str, value: i64) -> Table {
    let mut t = table.clone();
    crate::scenario::apply_override(&mut t, &format!("{path}={value}")).expect("a dotted path and a number");
    t
}

type Get = fn(&Scenario) -> i64;

/// Sizes, biggest effect first: they go before rates, which would otherwise make the
/// failure so rare that no smaller workload shows it.
const SIZE_KNOBS: [(&str, Get, i64); 7] = [
    ("workload.entities", |s| i64::from(s.workload.entities), 1),
    ("workload.events_per_entity", |s| i64::from(s.workload.events_per_entity), 1),
    ("topology.producers", |s| i64::from(s.topology.producers), 1),
    ("topology.consumers", |s| i64::from(s.topology.consumers), 1),
    ("topology.partitions", |s| i64::from(s.topology.partitions), 1),
    ("topology.brokers", |s| i64::from(s.topology.brokers), 1),
    ("workload.cross_entity_ppm", |s| i64::from(s.workload.cross_entity_ppm), 0),
];

/// Rates and the run's length, last.
const RATE_KNOBS: [(&str, Get, i64); 6] = [
    ("network.loss_ppm", |s| i64::from(s.network.loss_ppm), 0),
    ("network.duplicate_ppm", |s| i64::from(s.network.duplicate_ppm), 0),
    ("network.latency_max_us", |s| s.network.latency_max_us as i64, 0),
    ("consumer.processing_failure_ppm", |s| i64::from(s.consumer.processing_failure_ppm), 0),
    ("workload.start_window_ms", |s| s.workload.start_window_ms as i64, 0),
    ("run.max_time_ms", |s| s.run.max_time_ms as i64, 1),
];

/// Lowers each knob in turn as far as the violation stays.
fn shrink_knobs(state: &mut State, judge: &mut Judge<'_>, knobs: &[(&str, Get, i64)]) {
    for &(path, get, floor) in knobs {
        loop {
            let value = get(&state.scenario);
            // Latency never goes below its minimum (the validator would refuse it).
            let floor =
                if path == "network.latency_max_us" { state.scenario.network.latency_min_us as i64 } else { floor };
            let mut kept = false;
            for v in smaller(value, floor) {
                let mut candidate = set(&state.table, path, v);
                let prefix = match path {
                    "topology.producers" => Some('p'),
                    "topology.consumers" => Some('c'),
                    "topology.brokers" => Some('b'),
                    _ => None,
                };
                if let Some(prefix) = prefix {
                    candidate = without_nodes(&candidate, &removed_names(prefix, value as u64, v as u64));
                }
                if path == "topology.brokers" {
                    let rf = i64::from(state.scenario.topology.replication_factor).min(v);
                    candidate = set(&candidate, "topology.replication_factor", rf);
                    let isr = i64::from(state.scenario.broker.min_insync_replicas).min(rf);
                    candidate = set(&candidate, "broker.min_insync_replicas", isr);
                }
                let what = format!("{path}: {value} → {v}");
                if state.try_keep(judge, candidate, || what) {
                    kept = true;
                    break;
                }
            }
            if !kept {
                break;
            }
        }
    }
}
