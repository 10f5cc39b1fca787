//! The command line: raw flags → a validated run configuration → work → report.
//!
//! Exit codes: 0 success (for `check`: nothing the run expected is violated; for `sweep`:
//! the sweep ran, whatever it found), 1 a check found a violation (`sweep`: only with
//! `--fail-on-violation`), 2 bad input (a malformed scenario, an unknown strategy, an unreadable
//! or invalid history, bad flags). Every error names the file or flag and what was expected.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use serde_json::json;

use crate::history::HistoryMode;
use crate::run::{RunResult, RunSpec};
use crate::scenario::Scenario;
use crate::strategy::StrategySet;

#[derive(Parser)]
#[command(
    name = "ordo",
    version,
    about = "A deterministic simulator for event-stream ordering: in which order will your consumers see your events, and what breaks it?",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario with one strategy and seed, and report what happened.
    Run {
        /// A scenario file (TOML), or the name of a bundled one: `quickstart`,
        /// `scenarios/quickstart.toml` (`ordo list` names them).
        scenario: String,
        /// Seed of the run (default: the scenario's `seed`, else 1).
        #[arg(long)]
        seed: Option<u64>,
        /// Ordering strategy, several joined with `+` (default: the scenario's `strategy`, else `key`).
        #[arg(long)]
        strategy: Option<String>,
        /// Also write the history (JSONL) to this file.
        #[arg(long, conflicts_with = "no_history")]
        history: Option<PathBuf>,
        /// Record no history at all (fastest; no fingerprint, nothing to check).
        #[arg(long)]
        no_history: bool,
        /// Print one JSON object instead of the readable summary.
        #[arg(long)]
        json: bool,
        /// Write a scripted copy of the scenario that replays this seed's `[random_faults]`
        /// exactly: the section becomes `[[fault]]` entries, seed and strategy are pinned.
        #[arg(long, value_name = "FILE.toml")]
        save_scenario: Option<PathBuf>,
        /// Override a scenario setting, e.g. `--set consumer.clock_window_ms=50` or
        /// `--set producer.acks=1` (strategy parameters included); repeatable.
        #[arg(long = "set", value_name = "FIELD=VALUE")]
        set: Vec<String>,
        /// Also write a space-time diagram of the run: FILE.svg (static) or FILE.html
        /// (interactive, self-contained); see docs/diagrams.md.
        #[arg(long, value_name = "FILE", conflicts_with = "no_history")]
        diagram: Option<PathBuf>,
    },
    /// Check a history (JSONL) for ordering and causality violations. Exit 0: nothing the
    /// run expected is violated; 1: something is; 2: the history is bad input.
    Check {
        /// The history file (docs/history-format.md).
        history: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Guarantees to judge against, comma-separated (per_key_order, exactly_once,
        /// causal, no_loss); default: the header's `expect`, else all.
        #[arg(long)]
        expect: Option<String>,
        /// How many violations to show in full (the rest are counted).
        #[arg(long, default_value_t = 10)]
        show: usize,
        /// Under each violation shown, print why it happened: a sentence and the causal
        /// chain's records in short (`ordo trace --violation N` prints it in full).
        #[arg(long, conflicts_with = "json")]
        explain: bool,
        /// One line per anomaly kind, with its count and one short example (for a
        /// projector); the full witness list is the default.
        #[arg(long, conflicts_with_all = ["json", "explain"])]
        summary: bool,
    },
    /// Tell the story of part of a history, one line per record in words, with its line
    /// number; for a violation, its causal chain and a sentence saying what happened.
    /// Give exactly one selection.
    Trace {
        /// The history file (docs/history-format.md).
        history: PathBuf,
        #[command(flatten)]
        select: SelectFlags,
    },
    /// Draw a space-time diagram of a history: -o FILE.svg (static, for docs and slides)
    /// or -o FILE.html (interactive, self-contained). At most one selection (none: the
    /// whole history); see docs/diagrams.md.
    Diagram {
        /// The history file (docs/history-format.md).
        history: PathBuf,
        /// The output file: its extension (.svg or .html) chooses the format.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
        #[command(flatten)]
        select: SelectFlags,
    },
    /// Run one scenario over many seeds in parallel; summarise the checker's verdicts, with
    /// the command that reproduces every failing seed. Exit 0 when the sweep ran, whatever
    /// it found (1 with --fail-on-violation if a seed violates what the scenario expects).
    Sweep {
        /// A scenario file (TOML) or the name of a bundled one, e.g. quickstart. Its `seed`
        /// is not used.
        scenario: String,
        /// Ordering strategy, several joined with `+` (default: the scenario's `strategy`, else `key`).
        #[arg(long)]
        strategy: Option<String>,
        /// Seeds: a count N (seeds 1..N) or an inclusive range A..B [default: 100].
        #[arg(long)]
        seeds: Option<String>,
        /// Worker threads [default: all cores].
        #[arg(long)]
        threads: Option<usize>,
        /// Print one JSON object (every failing seed listed) instead of the readable summary.
        #[arg(long)]
        json: bool,
        /// How many failing seeds to list in the readable summary.
        #[arg(long, default_value_t = 20)]
        show_failing: usize,
        /// Exit 1 if any seed violates what the scenario expects (for CI).
        #[arg(long)]
        fail_on_violation: bool,
        /// Override a scenario setting, e.g. `--set consumer.clock_window_ms=50` or
        /// `--set producer.acks=1` (strategy parameters included); repeatable.
        #[arg(long = "set", value_name = "FIELD=VALUE")]
        set: Vec<String>,
        /// Shrink the first K failing seeds (`ordo shrink`, on each one's first violated
        /// kind) and list the minimal scenarios, written into --shrink-out.
        #[arg(long, value_name = "K")]
        shrink: Option<usize>,
        /// Where --shrink writes the minimal scenarios (created if needed).
        #[arg(long, value_name = "DIR", default_value = "shrunk", requires = "shrink")]
        shrink_out: PathBuf,
        /// Run only shard I of N (0-based) of the seeds and write a partial to --out;
        /// `ordo merge` joins the partials (docs/scale-out.md).
        #[arg(long, value_name = "I/N", requires = "out", conflicts_with_all = ["json", "shrink"])]
        shard: Option<String>,
        /// With --shard: the partial's file.
        #[arg(long, value_name = "FILE", requires = "shard")]
        out: Option<PathBuf>,
    },
    /// Run every scenario × every strategy over the same seeds and print the trade-off
    /// table (matrix.md) on stdout; with --out DIR, write matrix.md, matrix.json and three
    /// SVG charts there instead. Nothing is written without --out. The same inputs give the
    /// same bytes.
    Matrix {
        /// Seeds per cell: a count N (seeds 1..N) or an inclusive range A..B.
        #[arg(long, default_value = "50")]
        seeds: String,
        /// Write the report files into this directory (created if needed; files of the same
        /// names are replaced), e.g. --out reports/matrix to regenerate the committed one.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Print matrix.json on stdout instead of the table.
        #[arg(long)]
        json: bool,
        /// Also write one self-contained HTML report (sortable table with the costs, each
        /// cell's failing seeds with their reproduce and diagram commands) to this file.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// A folder of your own scenarios to use instead of the bundled ones [env: ORDO_SCENARIOS].
        #[arg(long, value_name = "DIR")]
        scenarios: Option<PathBuf>,
        /// Worker threads [default: all cores].
        #[arg(long)]
        threads: Option<usize>,
        /// Run only shard I of N (0-based) of every cell's seeds and write a partial to
        /// --out (a file, then); `ordo merge` joins the partials (docs/scale-out.md).
        #[arg(long, value_name = "I/N", requires = "out", conflicts_with = "json")]
        shard: Option<String>,
    },
    /// Merge the partials that `ordo sweep --shard` or `ordo matrix --shard` wrote into
    /// the output one machine would have printed (the same bytes, apart from timing).
    /// Exit 2 when they do not belong together or a shard is missing.
    Merge {
        /// The partial files, in any order (e.g. part-*.json).
        #[arg(required = true)]
        partials: Vec<PathBuf>,
        /// Print the JSON `ordo sweep --json` or `ordo matrix --json` would print.
        #[arg(long)]
        json: bool,
        /// Matrix partials: write the report files into this directory, as `ordo matrix --out`.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Sweep partials: how many failing seeds to list in the readable summary.
        #[arg(long, default_value_t = 20)]
        show_failing: usize,
        /// Sweep partials: exit 1 if any seed violates what the scenario expects.
        #[arg(long)]
        fail_on_violation: bool,
        /// Explore partials: write the trade-off chart (SVG) to this file, as `ordo explore --chart`.
        #[arg(long, value_name = "FILE")]
        chart: Option<PathBuf>,
    },
    /// Run a grid of settings (and strategies) over the same seeds and print, per point, the
    /// violation rate with a 95 % Wilson interval and the costs over seeds; --chart writes
    /// an SVG of two figures with the Pareto front marked. The same inputs give the same
    /// output at any thread count.
    Explore {
        /// A scenario file (TOML) or the name of a bundled one, e.g. quickstart.
        scenario: String,
        /// A field to vary and its values, e.g. --vary consumer.reorder_timeout_ms=50,100,200
        /// (any field --set accepts); repeatable: the grid is every combination.
        #[arg(long = "vary", value_name = "FIELD=V1,V2,…", required = true)]
        vary: Vec<String>,
        /// Strategies to compare, comma-separated, each possibly joined with `+`
        /// (default: the scenario's `strategy`, else `key`).
        #[arg(long, value_name = "S1,S2,…")]
        strategy: Option<String>,
        /// Seeds per point: a count N (seeds 1..N) or an inclusive range A..B.
        #[arg(long, default_value = "20")]
        seeds: String,
        /// Override a scenario setting at every point; repeatable.
        #[arg(long = "set", value_name = "FIELD=VALUE")]
        set: Vec<String>,
        /// The chart's x axis: violation_rate, or a run counter (`ordo run --json` names)
        /// with an optional :min/:p90/:p99/:max over seeds (default: the median).
        #[arg(long, default_value = crate::explore::DEFAULT_X)]
        x: String,
        /// The chart's y axis, as --x.
        #[arg(long, default_value = crate::explore::DEFAULT_Y)]
        y: String,
        /// Write the trade-off chart (SVG) to this file.
        #[arg(long, value_name = "FILE")]
        chart: Option<PathBuf>,
        /// Print one JSON object (every point, with its whole sweep) instead of the table.
        #[arg(long)]
        json: bool,
        /// Worker threads [default: all cores, or RAYON_NUM_THREADS].
        #[arg(long)]
        threads: Option<usize>,
        /// Run only shard I of N (0-based) of every point's seeds and write a partial to
        /// --out; `ordo merge` joins the partials (docs/scale-out.md).
        #[arg(long, value_name = "I/N", requires = "out", conflicts_with_all = ["json", "chart"])]
        shard: Option<String>,
        /// With --shard: the partial's file.
        #[arg(long, value_name = "FILE", requires = "shard")]
        out: Option<PathBuf>,
    },
    /// List the bundled scenarios and the strategies, with a one-line summary each.
    List {
        /// A folder of your own scenarios to list instead of the bundled ones [env: ORDO_SCENARIOS].
        #[arg(long, alias = "dir", value_name = "DIR")]
        scenarios: Option<PathBuf>,
        /// Print one JSON object (docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Print a scenario's lesson: the story, what to predict, what to look for. --quiz
    /// asks its question without the answer; --answer answers it and checks the answer
    /// against runs at the seeds it names (exit 1 if ordo shows otherwise).
    Explain {
        /// A scenario file, or the name of a bundled one (or of one in --scenarios DIR).
        scenario: String,
        /// A folder of your own scenarios to look the name up in first [env: ORDO_SCENARIOS].
        #[arg(long, value_name = "DIR")]
        scenarios: Option<PathBuf>,
        /// The story and the question (with its choices), not the prediction or the answer.
        #[arg(long)]
        quiz: bool,
        /// The whole lesson, the question, its answer and why, each claim of the answer
        /// checked now by running the seeds the quiz names.
        #[arg(long, conflicts_with = "quiz")]
        answer: bool,
    },
    /// Shrink a failing seed to the smallest scenario that still violates the same kind
    /// (delta debugging, judged by the checker alone; docs/shrinking.md). Exit 0: shrunk;
    /// 1: the run violates nothing (or not --kind): nothing to shrink; 2: bad input.
    Shrink {
        /// A scenario file (TOML) or the name of a bundled one, e.g. swarm.
        scenario: String,
        /// The failing seed (default: the scenario's `seed`, else 1).
        #[arg(long)]
        seed: Option<u64>,
        /// Ordering strategy, several joined with `+` (default: the scenario's `strategy`).
        #[arg(long)]
        strategy: Option<String>,
        /// Override a scenario setting before shrinking (folded into the result); repeatable.
        #[arg(long = "set", value_name = "FIELD=VALUE")]
        set: Vec<String>,
        /// The kind to keep (default: the first violated kind, most serious first).
        #[arg(long)]
        kind: Option<String>,
        /// Write the minimal scenario here (default: print it).
        #[arg(short = 'o', long = "out", value_name = "FILE.toml")]
        out: Option<PathBuf>,
        /// Stop after this much wall time with the best result so far, e.g. 60s, 5m, 500ms.
        #[arg(long, default_value = "60s")]
        budget: String,
        /// Stop after this many candidate runs with the best result so far (deterministic).
        #[arg(long, default_value_t = crate::shrink::DEFAULT_MAX_RUNS)]
        max_runs: u64,
        /// Seeds tried per candidate: its own and the next ones (the first that still fails
        /// is pinned in the result).
        #[arg(long, default_value_t = crate::shrink::DEFAULT_TRIES)]
        tries: u64,
        /// Print one JSON object (docs/json.md).
        #[arg(long)]
        json: bool,
    },
}

/// The selection flags of `trace` and `diagram`.
#[derive(clap::Args)]
struct SelectFlags {
    /// The N-th anomaly in `ordo check` order (1 = the first listed), with its causal chain.
    #[arg(long, value_name = "N")]
    violation: Option<usize>,
    /// Every record about one entity's events, e.g. order-3.
    #[arg(long, value_name = "KEY")]
    entity: Option<String>,
    /// Every record about one partition, e.g. orders/1.
    #[arg(long, value_name = "TOPIC/P")]
    partition: Option<String>,
    /// Every record one node wrote, e.g. p0, b1, c0.
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
    /// Records from this simulated time on (milliseconds; with --to).
    #[arg(long, value_name = "MS")]
    from: Option<String>,
    /// Records up to this simulated time (milliseconds; with --from).
    #[arg(long, value_name = "MS")]
    to: Option<String>,
}

impl SelectFlags {
    fn selection(self, required: bool) -> Result<crate::trace::Selection, InputError> {
        crate::trace::Selection::from_flags(
            self.violation,
            self.entity,
            self.partition,
            self.node,
            self.from,
            self.to,
            required,
        )
        .map_err(InputError)
    }
}

/// The end of `ordo --help`: how strategies compose, where scenarios come from, and how to
/// get the `ordo` command the printed commands use.
const AFTER_HELP: &str = "\
Strategies (--strategy a+b; `ordo list` shows each one's side and settings): each sets \
producer-side or consumer-side settings. Joined with +, they compose when no two set the \
same setting to different values (two caps keep the smaller; a value and a cap on one \
setting conflict); anything else is refused, so every strategy named takes effect in full.

Scenarios are bundled in the binary: `ordo run quickstart` and `ordo run \
scenarios/quickstart.toml` work from any directory. A path to a file runs that file; \
ORDO_SCENARIOS=DIR (or --scenarios DIR for list, explain and matrix) adds a folder of \
your own.

JSON: every --json output and matrix.json carry schema_version; docs/json.md lists the \
fields.

The commands ordo prints start with `ordo`: install it with `cargo install --path .` \
from the repository, or type `cargo run --release --` in its place.";

/// An error the user can fix; exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match cli.command {
        Command::Run { scenario, seed, strategy, history, no_history, json, save_scenario, set, diagram } => {
            let mode = if no_history { HistoryMode::Off } else { HistoryMode::On };
            match diagram.as_deref().map(crate::diagram::Format::of).transpose() {
                Err(error) => Err(InputError(format!("--diagram {error}")).into()),
                Ok(_) => {
                    DIAGRAM_OUT.with(|d| *d.borrow_mut() = diagram.clone());
                    command_run(&scenario, &set, seed, strategy, history, mode, json, save_scenario.as_deref())
                }
            }
        }
        Command::Check { history, json, expect, show, explain, summary } => {
            command_check(&history, json, expect.as_deref(), if summary { None } else { Some(show) }, explain)
        }
        Command::Trace { history, select } => command_trace(&history, select),
        Command::Diagram { history, output, select } => command_diagram(&history, &output, select),
        Command::Sweep {
            scenario,
            strategy,
            seeds,
            threads,
            json,
            show_failing,
            fail_on_violation,
            set,
            shrink,
            shrink_out,
            shard,
            out,
        } => match (shard, out) {
            (Some(shard), Some(out)) => command_sweep_shard(
                &scenario,
                &set,
                strategy,
                seeds.as_deref(),
                threads,
                (&shard, &out),
                fail_on_violation,
            ),
            _ => command_sweep(
                &scenario,
                &set,
                strategy,
                seeds.as_deref(),
                threads,
                json,
                show_failing,
                fail_on_violation,
                shrink.map(|k| (k, shrink_out)),
            ),
        },
        Command::Explore { scenario, vary, strategy, seeds, set, x, y, chart, json, threads, shard, out } => {
            let flags = ExploreFlags { vary, strategy, seeds, set, x, y, chart, json, threads, shard: shard.zip(out) };
            command_explore(&scenario, flags)
        }
        Command::Matrix { seeds, out, json, html, scenarios, threads, shard } => {
            let shard = shard.as_deref();
            command_matrix(&seeds, out.as_deref(), json, html.as_deref(), scenarios.as_deref(), threads, shard)
        }
        Command::Merge { partials, json, out, show_failing, fail_on_violation, chart } => {
            command_merge(&partials, json, (out.as_deref(), chart.as_deref()), show_failing, fail_on_violation)
        }
        Command::List { scenarios, json } => command_list(scenarios.as_deref(), json),
        Command::Explain { scenario, scenarios, quiz, answer } => {
            let mode = if quiz {
                ExplainMode::Quiz
            } else if answer {
                ExplainMode::Answer
            } else {
                ExplainMode::Lesson
            };
            command_explain(&scenario, scenarios.as_deref(), mode)
        }
        Command::Shrink { scenario, seed, strategy, set, kind, out, budget, max_runs, tries, json } => {
            command_shrink(&scenario, &set, seed, strategy, kind, out.as_deref(), &budget, (max_runs, tries), json)
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", cut_long_words(&format!("{error:#}")));
            if error.downcast_ref::<InputError>().is_some()
                || error.downcast_ref::<crate::scenario::ScenarioError>().is_some()
            {
                2
            } else {
                1
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn command_run(
    scenario: &str,
    overrides: &[String],
    seed: Option<u64>,
    strategy: Option<String>,
    history: Option<PathBuf>,
    history_mode: HistoryMode,
    json_output: bool,
    save_scenario: Option<&Path>,
) -> anyhow::Result<i32> {
    let source = crate::bundled::resolve(scenario, crate::bundled::user_folder(None).as_deref())?;
    let path = source.path.as_path();
    let scenario = source.load(overrides)?;
    let seed_source = if seed.is_some() {
        "--seed"
    } else if scenario.seed_in_file {
        "the scenario's seed"
    } else {
        "the default seed"
    };
    let seed = seed.unwrap_or(scenario.seed);
    let strategy = resolve_strategy(path, &scenario, strategy)?;
    let queue = scenario.queue.is_some();
    if !json_output {
        emit(&format!("seed {seed} ({seed_source})\n"));
    }
    random_faults_before_run(&source, &scenario, seed, &strategy.name(), json_output, save_scenario)?;
    let diagram = DIAGRAM_OUT.with(|d| d.borrow_mut().take());
    // The compact history is checked as it is; JSONL is only formatted for the fingerprint
    // and `--history`, beside the check, and kept in memory only for `--diagram`.
    let (result, report) = crate::run::run_checked(RunSpec {
        scenario,
        scenario_path: path,
        strategy,
        seed,
        history_mode,
        history_file: history.clone(),
        keep_history: diagram.is_some(),
    })
    .map_err(|error| InputError(error.to_string()))?;
    let report = report
        .transpose()
        .map_err(|error| anyhow::anyhow!("ordo wrote a history its checker rejects (a bug): {error}"))?;
    if let (Some(out), Some(jsonl)) = (diagram, &result.history.jsonl) {
        write_run_diagram(jsonl, &out)?;
    }
    if json_output {
        emit(&format!("{}\n", serde_json::to_string_pretty(&run_json(&result, report.as_ref()))?));
    } else {
        emit(&run_text(&result, queue, history.as_deref(), report.as_ref()));
        not_installed_note();
    }
    Ok(0)
}

/// Prints the schedule `[random_faults]` draws for this seed (text mode) and writes the
/// scripted copy `--save-scenario` asks for, both before the run, so that a run that goes
/// wrong can still be replayed.
fn random_faults_before_run(
    source: &crate::bundled::Source,
    scenario: &Scenario,
    seed: u64,
    strategy: &str,
    json_output: bool,
    save_scenario: Option<&Path>,
) -> anyhow::Result<()> {
    let path = source.path.as_path();
    let drawn = crate::scenario::random::draw(scenario, seed);
    if let (Some(drawn), false) = (&drawn, json_output) {
        emit(&drawn.render_text(100));
    }
    let Some(out) = save_scenario else { return Ok(()) };
    let Some(drawn) = drawn else {
        return Err(InputError(format!(
            "--save-scenario: {} has no [random_faults] section: it is already a scripted scenario",
            path.display()
        ))
        .into());
    };
    let text =
        crate::scenario::random::scripted_text(&source.text, &path.display().to_string(), scenario, strategy, &drawn)?;
    std::fs::write(out, text)
        .map_err(|error| InputError(format!("--save-scenario {}: cannot write: {error}", out.display())))?;
    if !json_output {
        emit(&format!(
            "saved the drawn schedule as a scripted scenario: ordo run {} replays this run\n",
            out.display()
        ));
    }
    Ok(())
}

thread_local! {
    /// `ordo run --diagram FILE`, handed to `command_run` without changing its signature.
    static DIAGRAM_OUT: std::cell::RefCell<Option<PathBuf>> = const { std::cell::RefCell::new(None) };
}

/// Writes the diagram of a run's history (`ordo run --diagram`).
fn write_run_diagram(jsonl: &[u8], out: &Path) -> anyhow::Result<()> {
    let format = crate::diagram::Format::of(out).map_err(|e| InputError(format!("--diagram {e}")))?;
    let loaded = crate::trace::load_bytes(jsonl, "history")
        .map_err(|error| anyhow::anyhow!("ordo wrote a history its diagram cannot read (a bug): {error}"))?;
    let layout = crate::diagram::layout(&loaded, &crate::trace::Selection::All).map_err(InputError)?;
    std::fs::write(out, crate::diagram::render(&layout, &loaded.history, format))
        .map_err(|error| InputError(format!("--diagram {}: cannot write: {error}", out.display())))?;
    Ok(())
}

fn command_trace(path: &Path, select: SelectFlags) -> anyhow::Result<i32> {
    let selection = select.selection(true)?;
    let loaded = crate::trace::load(path).map_err(InputError)?;
    let story = loaded.select(&selection).map_err(|e| InputError(format!("{}: {e}", path.display())))?;
    emit(&crate::trace::render(&loaded.history, &story));
    Ok(0)
}

fn command_diagram(path: &Path, output: &Path, select: SelectFlags) -> anyhow::Result<i32> {
    let format = crate::diagram::Format::of(output).map_err(|e| InputError(format!("-o {e}")))?;
    let selection = select.selection(false)?;
    let loaded = crate::trace::load(path).map_err(InputError)?;
    let layout =
        crate::diagram::layout(&loaded, &selection).map_err(|e| InputError(format!("{}: {e}", path.display())))?;
    std::fs::write(output, crate::diagram::render(&layout, &loaded.history, format))
        .map_err(|error| InputError(format!("-o {}: cannot write: {error}", output.display())))?;
    eprintln!(
        "wrote {} ({}: {} records, {} lanes)",
        output.display(),
        layout.title,
        layout.items.len(),
        layout.lanes.len()
    );
    Ok(0)
}

fn command_check(
    path: &Path,
    json_output: bool,
    expect: Option<&str>,
    show: Option<usize>,
    explain: bool,
) -> anyhow::Result<i32> {
    // `--summary` comes as no `show`: one line per kind instead of the witness list.
    let expect = match expect {
        Some(list) => Some(
            crate::checker::Guarantee::parse_list(list).map_err(|error| InputError(format!("--expect: {error}")))?,
        ),
        None => None,
    };
    let report = crate::checker::check_path(path, expect.as_deref()).map_err(|error| match error {
        // Line 0 is "the input as a whole" (it could not be opened): no line to name.
        crate::checker::CheckError::Io { source_name, line: 0, error } => {
            InputError(format!("{source_name}: cannot read: {error}"))
        }
        other => InputError(other.to_string()),
    })?;
    if json_output {
        emit(&format!("{}\n", serde_json::to_string_pretty(&check_json(&report))?));
    } else if explain {
        let file =
            std::fs::File::open(path).map_err(|e| InputError(format!("{}: cannot read: {e}", path.display())))?;
        let history =
            crate::trace::History::read(std::io::BufReader::with_capacity(1 << 20, file), &path.display().to_string())
                .map_err(InputError)?;
        emit(&report.render_text_with(show.unwrap_or(10), |i, v| crate::trace::explain_short(&history, v, i + 1, 8)));
    } else if let Some(show) = show {
        emit(&report.render_text(show));
    } else {
        emit(&report.render_summary());
    }
    Ok(report.exit_code())
}

fn command_matrix(
    seeds: &str,
    out: Option<&Path>,
    json_output: bool,
    html: Option<&Path>,
    scenarios: Option<&Path>,
    threads: Option<usize>,
    shard: Option<&str>,
) -> anyhow::Result<i32> {
    use crate::sweep::{SeedRange, MAX_THREADS};
    let seeds = SeedRange::parse(seeds).map_err(|error| InputError(format!("--seeds {seeds}: {error}")))?;
    let shard = shard.map(parse_shard).transpose()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = threads.unwrap_or(cores);
    if threads == 0 || threads > MAX_THREADS {
        return Err(InputError(format!("--threads {threads}: expected 1 to {MAX_THREADS}")).into());
    }
    let scenarios = crate::bundled::catalog(crate::bundled::user_folder(scenarios).as_deref())?;
    let spec = crate::matrix::MatrixSpec { scenarios, seeds, threads, progress: false };
    let matrix_error = |error| match error {
        crate::matrix::MatrixError::Sweep(error) => anyhow::anyhow!(error),
        other => InputError(other.to_string()).into(),
    };
    if let (Some(shard), Some(out)) = (shard, out) {
        let partial = crate::shard::matrix_shard(&spec, shard).map_err(matrix_error)?;
        return write_partial(&partial, out, "the matrix", false);
    }
    let matrix = crate::matrix::matrix(&spec).map_err(matrix_error)?;
    // After the report: `--html` may name a file in the `--out` folder it creates.
    let code = emit_matrix(&matrix, out, json_output)?;
    if let Some(html) = html {
        write_matrix_html(&matrix, html)?;
    }
    Ok(code)
}

/// Prints or writes a matrix, as `ordo matrix` does (and `ordo merge` of its partials).
fn emit_matrix(matrix: &crate::matrix::Matrix, out: Option<&Path>, json_output: bool) -> anyhow::Result<i32> {
    let seeds = matrix.seeds;
    if let Some(out) = out {
        matrix
            .write(out)
            .map_err(|error| InputError(format!("--out {}: cannot write the report: {error}", out.display())))?;
    }
    if json_output {
        emit(&format!("{}\n", serde_json::to_string_pretty(&matrix.to_json())?));
    } else if let Some(out) = out {
        emit(&format!(
            "wrote {} and {} and three SVG charts ({} scenarios × {} strategies × {} seeds)\n",
            out.join("matrix.md").display(),
            out.join("matrix.json").display(),
            matrix.scenarios.len(),
            matrix.strategies.len(),
            seeds.count()
        ));
    } else {
        emit(&matrix.to_markdown());
    }
    Ok(0)
}

/// `ordo explore`'s flags.
struct ExploreFlags {
    vary: Vec<String>,
    strategy: Option<String>,
    seeds: String,
    set: Vec<String>,
    x: String,
    y: String,
    chart: Option<PathBuf>,
    json: bool,
    threads: Option<usize>,
    /// `--shard I/N` with its `--out FILE`.
    shard: Option<(String, PathBuf)>,
}

fn command_explore(scenario: &str, flags: ExploreFlags) -> anyhow::Result<i32> {
    use crate::explore::{Axis, ExploreError, ExploreSpec, Vary};
    use crate::sweep::{SeedRange, MAX_THREADS};
    let seeds =
        SeedRange::parse(&flags.seeds).map_err(|error| InputError(format!("--seeds {}: {error}", flags.seeds)))?;
    let threads = flags.threads.unwrap_or_else(rayon::current_num_threads);
    if threads == 0 || threads > MAX_THREADS {
        return Err(InputError(format!("--threads {threads}: expected 1 to {MAX_THREADS}")).into());
    }
    let vary = flags
        .vary
        .iter()
        .map(|text| Vary::parse(text).map_err(|error| InputError(format!("--vary {text}: {error}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let x = Axis::parse(&flags.x).map_err(|error| InputError(format!("--x: {error}")))?;
    let y = Axis::parse(&flags.y).map_err(|error| InputError(format!("--y: {error}")))?;
    let source = crate::bundled::resolve(scenario, crate::bundled::user_folder(None).as_deref())?;
    let base = source.load(&flags.set)?;
    let strategies = match &flags.strategy {
        None => vec![resolve_strategy(&source.path, &base, None)?],
        Some(list) => list
            .split(',')
            .map(|name| {
                StrategySet::parse(name.trim())
                    .map_err(|error| InputError(format!("--strategy {}: {error}", name.trim())))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let spec =
        ExploreSpec { source: &source, overrides: flags.set, vary, strategies, seeds, threads, x, y, progress: true };
    let explore_error = |error| match error {
        ExploreError::Input(message) => anyhow::Error::from(InputError(message)),
        ExploreError::Sweep(error) => anyhow::anyhow!(error),
    };
    if let Some((shard, out)) = &flags.shard {
        let shard = parse_shard(shard)?;
        let partial = crate::shard::explore_shard(&spec, shard).map_err(explore_error)?;
        return write_partial(&partial, out, &format!("the {} grid", source.stem), false);
    }
    let explore = crate::explore::explore(&spec).map_err(explore_error)?;
    emit_explore(&explore, flags.chart.as_deref(), flags.json)
}

/// Prints an explore grid (and writes its chart), as `ordo explore` does (and `ordo merge`
/// of its partials).
fn emit_explore(explore: &crate::explore::Explore, chart: Option<&Path>, json_output: bool) -> anyhow::Result<i32> {
    if let Some(chart) = chart {
        let svg = explore.chart_svg().map_err(|error| anyhow::anyhow!("the chart: {error}"))?;
        std::fs::write(chart, svg)
            .map_err(|error| InputError(format!("--chart {}: cannot write it: {error}", chart.display())))?;
    }
    if json_output {
        emit(&format!("{}\n", serde_json::to_string_pretty(&explore.to_json())?));
    } else {
        emit(&explore.render_text());
    }
    Ok(0)
}

/// `ordo matrix --html FILE`: the self-contained report.
fn write_matrix_html(matrix: &crate::matrix::Matrix, path: &Path) -> anyhow::Result<()> {
    std::fs::write(path, matrix.to_html())
        .map_err(|error| InputError(format!("--html {}: cannot write the report: {error}", path.display())))?;
    Ok(())
}

fn parse_shard(text: &str) -> Result<crate::shard::Shard, InputError> {
    crate::shard::Shard::parse(text).map_err(|error| InputError(format!("--shard {text}: {error}")))
}

/// Writes a shard's partial and says what it holds.
fn write_partial(
    partial: &crate::shard::Partial,
    out: &Path,
    what: &str,
    fail_on_violation: bool,
) -> anyhow::Result<i32> {
    let bytes = partial
        .write(out)
        .map_err(|error| InputError(format!("--out {}: cannot write the partial: {error}", out.display())))?;
    let slice = partial.shard_seeds.map_or("no seeds (more shards than seeds)".to_string(), |s| {
        format!("seeds {}", crate::sweep::SeedRange::from(s))
    });
    emit(&format!(
        "wrote {}: shard {} of {what}, {slice}: {} run(s), {} failing, {bytes} bytes; merge all {} with `ordo merge`\n",
        out.display(),
        partial.shard,
        partial.runs(),
        partial.failing(),
        partial.shard.count
    ));
    Ok(i32::from(fail_on_violation && partial.failing() > 0))
}

/// `ordo sweep --shard I/N --out FILE`.
fn command_sweep_shard(
    scenario: &str,
    overrides: &[String],
    strategy: Option<String>,
    seeds: Option<&str>,
    threads: Option<usize>,
    (shard, out): (&str, &Path),
    fail_on_violation: bool,
) -> anyhow::Result<i32> {
    let shard = parse_shard(shard)?;
    let source = crate::bundled::resolve(scenario, crate::bundled::user_folder(None).as_deref())?;
    let spec = sweep_spec(&source, overrides, strategy, seeds, threads)?;
    let partial = crate::shard::sweep_shard(&spec, &source.text, shard)?;
    write_partial(&partial, out, &format!("{} with {}", spec.scenario.name, spec.strategy.name()), fail_on_violation)
}

/// `ordo merge`.
fn command_merge(
    partials: &[PathBuf],
    json_output: bool,
    (out, chart): (Option<&Path>, Option<&Path>),
    show_failing: usize,
    fail_on_violation: bool,
) -> anyhow::Result<i32> {
    use crate::shard::Merged;
    let merged = crate::shard::merge(partials).map_err(|error| InputError(error.0))?;
    let kind = match &merged {
        Merged::Sweep(_) => "a sweep's",
        Merged::Matrix(_) => "a matrix's",
        Merged::Explore(_) => "an explore grid's",
    };
    if out.is_some() && !matches!(merged, Merged::Matrix(_)) {
        return Err(InputError(format!("--out is for matrix partials; these are {kind}")).into());
    }
    if chart.is_some() && !matches!(merged, Merged::Explore(_)) {
        return Err(InputError(format!("--chart is for explore partials; these are {kind}")).into());
    }
    match merged {
        Merged::Sweep(sweep) => {
            emit_sweep(&sweep, json_output, show_failing, None)?;
            Ok(sweep.exit_code(fail_on_violation))
        }
        Merged::Matrix(matrix) => emit_matrix(&matrix, out, json_output),
        Merged::Explore(explore) => emit_explore(&explore, chart, json_output),
    }
}

/// The sweep's spec from the command line's flags.
fn sweep_spec<'a>(
    source: &'a crate::bundled::Source,
    overrides: &[String],
    strategy: Option<String>,
    seeds: Option<&str>,
    threads: Option<usize>,
) -> anyhow::Result<crate::sweep::SweepSpec<'a>> {
    use crate::sweep::{SeedRange, SweepSpec, DEFAULT_SEEDS, MAX_THREADS};
    let seeds = match seeds {
        Some(text) => SeedRange::parse(text).map_err(|error| InputError(format!("--seeds {text}: {error}")))?,
        None => DEFAULT_SEEDS,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = threads.unwrap_or(cores);
    if threads == 0 || threads > MAX_THREADS {
        return Err(InputError(format!(
            "--threads {threads}: expected a number of worker threads from 1 to {MAX_THREADS} (default: all {cores} cores)"
        ))
        .into());
    }
    let path = source.path.as_path();
    let scenario = source.load(overrides)?;
    let strategy = resolve_strategy(path, &scenario, strategy)?;
    Ok(SweepSpec { scenario, scenario_path: path, strategy, seeds, threads, progress: true })
}

/// Prints a sweep's summary, as `ordo sweep` does (and `ordo merge` of its partials).
fn emit_sweep(
    sweep: &crate::sweep::Sweep,
    json_output: bool,
    show_failing: usize,
    shrunk: Option<&[(crate::shrink::Shrunk, PathBuf)]>,
) -> anyhow::Result<()> {
    if json_output {
        let mut value = sweep.to_json();
        if let Some(object) = value.as_object_mut() {
            let list: Vec<_> = shrunk.iter().copied().flatten().map(|(s, p)| s.to_json(Some(p))).collect();
            object.insert("shrunk".into(), json!(list));
        }
        emit(&format!("{}\n", serde_json::to_string_pretty(&value)?));
    } else {
        emit(&sweep.render_text(show_failing));
        if let Some(shrunk) = shrunk {
            emit(&shrunk_listing(shrunk));
        }
        not_installed_note();
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn command_sweep(
    scenario: &str,
    overrides: &[String],
    strategy: Option<String>,
    seeds: Option<&str>,
    threads: Option<usize>,
    json_output: bool,
    show_failing: usize,
    fail_on_violation: bool,
    shrink: Option<(usize, PathBuf)>,
) -> anyhow::Result<i32> {
    let source = crate::bundled::resolve(scenario, crate::bundled::user_folder(None).as_deref())?;
    let spec = sweep_spec(&source, overrides, strategy, seeds, threads)?;
    let strategy_name = spec.strategy.name();
    let sweep = crate::sweep::sweep(&spec)?;
    let shrunk = match shrink {
        Some((k, dir)) => Some(shrink_failing(&source, overrides, &strategy_name, &sweep, k, &dir)?),
        None => None,
    };
    emit_sweep(&sweep, json_output, show_failing, shrunk.as_deref())?;
    Ok(sweep.exit_code(fail_on_violation))
}

/// `sweep --shrink K`: shrinks the first K failing seeds, each on its first violated kind,
/// and writes the minimal scenarios into `dir` as `NAME-seedN.toml`.
fn shrink_failing(
    source: &crate::bundled::Source,
    overrides: &[String],
    strategy: &str,
    sweep: &crate::sweep::Sweep,
    k: usize,
    dir: &Path,
) -> anyhow::Result<Vec<(crate::shrink::Shrunk, PathBuf)>> {
    let mut out = Vec::new();
    for failing in sweep.failing.iter().take(k) {
        let spec = crate::shrink::ShrinkSpec {
            source,
            overrides,
            strategy: Some(strategy.to_string()),
            seed: Some(failing.seed),
            kind: None,
            max_runs: crate::shrink::DEFAULT_MAX_RUNS,
            tries: crate::shrink::DEFAULT_TRIES,
            budget: Some(std::time::Duration::from_secs(crate::shrink::DEFAULT_BUDGET_SECS)),
            progress: true,
        };
        let shrunk = crate::shrink::shrink(&spec).map_err(|error| InputError(format!("--shrink: {error}")))?;
        std::fs::create_dir_all(dir)
            .map_err(|error| InputError(format!("--shrink-out {}: cannot create: {error}", dir.display())))?;
        let file = dir.join(format!("{}-seed{}.toml", sweep.scenario, failing.seed));
        std::fs::write(&file, &shrunk.text)
            .map_err(|error| InputError(format!("--shrink-out {}: cannot write: {error}", file.display())))?;
        out.push((shrunk, file));
    }
    Ok(out)
}

fn shrunk_listing(shrunk: &[(crate::shrink::Shrunk, PathBuf)]) -> String {
    let mut s = format!("\nshrunk {} failing seed(s):\n", shrunk.len());
    for (one, file) in shrunk {
        s.push_str(&format!(
            "  seed {} {}: {} ({} runs{})\n    ordo run {}\n",
            one.seed,
            one.kind.name(),
            one.summary_line(),
            one.runs,
            if one.cut_short.is_some() { ", cut short" } else { "" },
            file.display()
        ));
    }
    s
}

/// `--budget 60s`: a whole number with `ms`, `s` or `m`.
fn parse_budget(text: &str) -> Result<std::time::Duration, InputError> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().map_err(|_| {
        InputError(format!("--budget {text:?}: expected a whole number with ms, s or m, e.g. 60s or 5m"))
    })?;
    match unit {
        "ms" => Ok(std::time::Duration::from_millis(n)),
        "s" => Ok(std::time::Duration::from_secs(n)),
        "m" => Ok(std::time::Duration::from_secs(n.saturating_mul(60))),
        _ => Err(InputError(format!("--budget {text:?}: unit {unit:?} unknown; expected ms, s or m, e.g. 60s"))),
    }
}

#[allow(clippy::too_many_arguments)]
fn command_shrink(
    scenario: &str,
    overrides: &[String],
    seed: Option<u64>,
    strategy: Option<String>,
    kind: Option<String>,
    out: Option<&Path>,
    budget: &str,
    (max_runs, tries): (u64, u64),
    json_output: bool,
) -> anyhow::Result<i32> {
    let budget = parse_budget(budget)?;
    if max_runs == 0 {
        return Err(InputError("--max-runs 0: expected at least 1 candidate run".into()).into());
    }
    if !(1..=1000).contains(&tries) {
        return Err(InputError(format!("--tries {tries}: expected 1 to 1000 seeds per candidate")).into());
    }
    let source = crate::bundled::resolve(scenario, crate::bundled::user_folder(None).as_deref())?;
    let spec = crate::shrink::ShrinkSpec {
        source: &source,
        overrides,
        strategy,
        seed,
        kind,
        max_runs,
        tries,
        budget: Some(budget),
        progress: !json_output,
    };
    let shrunk = match crate::shrink::shrink(&spec) {
        Ok(shrunk) => shrunk,
        Err(crate::shrink::ShrinkError::NothingToShrink(message)) => {
            eprintln!("{message}");
            return Ok(1);
        }
        Err(crate::shrink::ShrinkError::Input(message)) => return Err(InputError(message).into()),
    };
    if let Some(path) = out {
        std::fs::write(path, &shrunk.text)
            .map_err(|error| InputError(format!("-o {}: cannot write: {error}", path.display())))?;
    }
    if json_output {
        emit(&format!("{}\n", serde_json::to_string_pretty(&shrunk.to_json(out))?));
    } else {
        emit(&shrunk.render_text(out));
        not_installed_note();
    }
    Ok(0)
}

fn command_list(folder: Option<&Path>, json_output: bool) -> anyhow::Result<i32> {
    let folder = crate::bundled::user_folder(folder);
    let sources = crate::bundled::catalog(folder.as_deref())?;
    let mut scenarios = Vec::new();
    for source in &sources {
        let scenario = source.load(&[])?;
        scenarios.push(json!({
            "name": scenario.name,
            "summary": scenario.summary,
            "path": source.path.display().to_string(),
            "bundled": source.bundled,
        }));
    }
    let strategies: Vec<_> = crate::strategy::all()
        .iter()
        .map(|s| {
            let settings: Vec<String> = s.settings().iter().map(ToString::to_string).collect();
            json!({"name": s.name(), "summary": s.summary(), "sides": crate::strategy::sides(*s), "settings": settings})
        })
        .collect();
    if json_output {
        let value = json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "scenarios": scenarios,
            "strategies": strategies,
            "composition": crate::strategy::COMPOSITION_RULE,
        });
        emit(&format!("{}\n", serde_json::to_string_pretty(&value)?));
        return Ok(0);
    }
    let origin = match &folder {
        Some(folder) => folder.display().to_string(),
        None => "bundled; run one by name, e.g. ordo run quickstart".to_string(),
    };
    let mut out = format!("scenarios ({origin}):\n");
    let width = scenarios.iter().map(|s| s["name"].as_str().unwrap_or("").len()).max().unwrap_or(0);
    for scenario in &scenarios {
        let (name, summary) = (scenario["name"].as_str().unwrap_or(""), scenario["summary"].as_str().unwrap_or(""));
        out.push_str(&format!("  {name:<width$}  {summary}\n"));
    }
    out.push_str("strategies (each with its side and settings; join them with +, they compose unless two set one setting to different values: see ordo --help):\n");
    let width = crate::strategy::all().iter().map(|s| s.name().len()).max().unwrap_or(0);
    for strategy in crate::strategy::all() {
        let settings: Vec<String> = strategy.settings().iter().map(ToString::to_string).collect();
        out.push_str(&format!("  {:<width$}  {}\n", strategy.name(), strategy.summary()));
        out.push_str(&format!("  {:<width$}    {}: {}\n", "", crate::strategy::sides(*strategy), settings.join(", ")));
    }
    emit(&out);
    Ok(0)
}

/// What `ordo explain` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExplainMode {
    /// The lesson (the scenario's leading comments).
    Lesson,
    /// The story and the question; nothing that gives the answer away.
    Quiz,
    /// The lesson, the question, the answer and its claims checked now.
    Answer,
}

/// A scenario's lesson: its leading comment block, `# ` taken off, split into paragraphs
/// at blank comment lines.
pub fn lesson_paragraphs(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text
        .lines()
        .take_while(|line| line.starts_with('#') || line.trim().is_empty())
        .map(|line| line.strip_prefix('#').map(|l| l.strip_prefix(' ').unwrap_or(l)).unwrap_or(""))
        .collect();
    lines
        .split(|line| line.trim().is_empty())
        .filter(|paragraph| !paragraph.is_empty())
        .map(|paragraph| paragraph.join("\n"))
        .collect()
}

/// The part of a lesson a quiz may show: from its `The story.` paragraph (the title before
/// it names the outcome) up to its `Predict.` or `Look for.` paragraph.
pub fn quiz_story(paragraphs: &[String]) -> Vec<String> {
    let start = paragraphs.iter().position(|p| p.starts_with("The story.")).unwrap_or(0);
    paragraphs[start..]
        .iter()
        .take_while(|p| !p.starts_with("Predict.") && !p.starts_with("Look for."))
        .cloned()
        .collect()
}

fn command_explain(name: &str, folder: Option<&Path>, mode: ExplainMode) -> anyhow::Result<i32> {
    let source = crate::bundled::resolve(name, crate::bundled::user_folder(folder).as_deref())?;
    let scenario = source.load(&[])?;
    let paragraphs = lesson_paragraphs(&source.text);
    let shown = source.path.display().to_string();
    let quiz = scenario.quiz.clone();
    if mode != ExplainMode::Lesson && quiz.is_none() {
        return Err(InputError(format!(
            "{shown}: has no [quiz] table, so there is nothing to ask (docs/scenario-format.md, `[quiz]`)"
        ))
        .into());
    }
    let mut out = String::new();
    let question = |out: &mut String, quiz: &crate::scenario::Quiz| {
        out.push_str(&format!("\n\nPredict: {}\n", quiz.question));
        for (i, choice) in quiz.choices.iter().enumerate() {
            out.push_str(&format!("  {}) {choice}\n", crate::scenario::quiz::letter(i)));
        }
    };
    let run_line = format!("ordo run {} (seed {}, strategy {})", shown, scenario.seed, scenario.strategy);
    match mode {
        ExplainMode::Lesson => {
            out.push_str(&format!("{} — {}\n\n", scenario.name, scenario.summary));
            out.push_str(paragraphs.join("\n\n").trim());
            out.push_str(&format!("\n\nRun it: {run_line}\n"));
            if quiz.is_some() {
                out.push_str(&format!(
                    "Quiz: ordo explain {name} --quiz (the question alone), --answer (the answer, checked)\n"
                ));
            }
            emit(&out);
            Ok(0)
        }
        ExplainMode::Quiz => {
            let quiz = quiz.expect("checked above");
            out.push_str(&format!("{}\n\n", scenario.name));
            out.push_str(quiz_story(&paragraphs).join("\n\n").trim());
            question(&mut out, &quiz);
            let seeds = quiz.seeds_text();
            out.push_str(&format!(
                "\nWrite your prediction down, then run it: {run_line}; the quiz's {}: {seeds}.\n\
The answer: ordo explain {name} --answer\n",
                if quiz.seeds.len() == 1 { "seed" } else { "seeds" }
            ));
            emit(&out);
            Ok(0)
        }
        ExplainMode::Answer => {
            let quiz = quiz.expect("checked above");
            let strategy = resolve_strategy(&source.path, &scenario, None)?;
            let checked = crate::quiz::check(&scenario, &source.path, &strategy, &quiz).map_err(|e| match e {
                crate::quiz::QuizError::Input(message) => anyhow::Error::new(InputError(message)),
                other => anyhow::Error::new(other),
            })?;
            out.push_str(&format!("{} — {}\n\n", scenario.name, scenario.summary));
            out.push_str(paragraphs.join("\n\n").trim());
            question(&mut out, &quiz);
            out.push_str(&format!("\nAnswer: {}\n", quiz.answer_text()));
            if !quiz.why.is_empty() {
                out.push_str(&format!("Why: {}\n", quiz.why));
            }
            out.push_str(&format!(
                "\nWhat ordo shows, checked now ({} {}, strategy {}):\n",
                if quiz.seeds.len() == 1 { "seed" } else { "seeds" },
                quiz.seeds_text(),
                strategy.name()
            ));
            let width = checked.iter().map(|c| c.claim.text.chars().count()).max().unwrap_or(0);
            for c in &checked {
                let mark = if c.holds { "holds" } else { "DOES NOT HOLD" };
                let pad = width.saturating_sub(c.claim.text.chars().count());
                out.push_str(&format!("  {mark}: {}{}  ({})\n", c.claim.text, " ".repeat(pad), c.seen));
            }
            let every = checked.iter().all(|c| c.holds);
            if !every {
                out.push_str("The answer does not match what ordo shows at these seeds: the lesson is wrong.\n");
            }
            out.push_str(&format!("\nRun it: {run_line}\n"));
            emit(&out);
            Ok(if every { 0 } else { 1 })
        }
    }
}

/// The `--strategy` flag, else the scenario's `strategy`; an unknown name is an input error
/// naming where it came from.
fn resolve_strategy(path: &Path, scenario: &Scenario, flag: Option<String>) -> Result<StrategySet, InputError> {
    let spec = flag.unwrap_or_else(|| scenario.strategy.clone());
    StrategySet::parse(&spec).map_err(|error| {
        let origin = if spec == scenario.strategy {
            format!("{}: field `strategy`", path.display())
        } else {
            "--strategy".to_string()
        };
        InputError(format!("{origin}: {error}"))
    })
}

/// An error message with every run of more than 120 non-blank characters cut to its first
/// 100 (a `--set` value or a scenario value can be megabytes long; the message names the
/// field, the start of the value is enough to recognise it).
pub fn cut_long_words(message: &str) -> String {
    const LONG: usize = 120;
    const KEEP: usize = 100;
    let mut out = String::with_capacity(message.len().min(4096));
    let mut rest = message;
    while !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, after) = rest.split_at(end);
        match word.char_indices().nth(LONG) {
            Some(_) => {
                let cut = word.char_indices().nth(KEEP).map_or(word.len(), |(i, _)| i);
                out.push_str(&format!("{}… ({} bytes in all)", &word[..cut], word.len()));
            }
            None => out.push_str(word),
        }
        let blank = after.find(|c: char| !c.is_whitespace()).unwrap_or(after.len());
        out.push_str(&after[..blank]);
        rest = &after[blank..];
    }
    out
}

/// Says once, on stderr, what `ordo` in the printed commands means when this binary runs
/// from a cargo target directory (not installed): `cargo run --release --` in its place.
fn not_installed_note() {
    let from_target = std::env::current_exe().ok().is_some_and(|exe| {
        exe.parent().and_then(|dir| dir.file_name()).is_some_and(|name| name == "debug" || name == "release")
    });
    if from_target {
        eprintln!(
            "note: `ordo` in the commands above is this program; install it with `cargo install --path .`, or type `cargo run --release --` in its place"
        );
    }
}

/// Writes to stdout and flushes; a reader that went away (`ordo … | head`) ends the
/// process quietly instead of panicking as `print!` would.
pub fn emit(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {error}");
        std::process::exit(2);
    }
}

/// The version of every `--json` object and of `matrix.json` (`schema_version`), documented
/// in docs/json.md. Raise it when a field is renamed, removed or changes type.
pub const JSON_SCHEMA_VERSION: u64 = 1;

/// The `--json` summary of a run (docs/json.md). Its counters are [`crate::counters::of`],
/// the list `ordo sweep` also reads.
pub fn run_json(result: &RunResult, report: Option<&crate::checker::Report>) -> serde_json::Value {
    use crate::counters::Group;
    let mut top = serde_json::Map::new();
    let mut workload = serde_json::Map::new();
    let mut network = serde_json::Map::new();
    let mut put = |group: Group, name: &str, value: serde_json::Value| {
        let object = match group {
            Group::Run => &mut top,
            Group::Workload => &mut workload,
            Group::Network => &mut network,
        };
        object.insert(name.to_string(), value);
    };
    put(Group::Run, "schema_version", json!(JSON_SCHEMA_VERSION));
    put(Group::Run, "scenario", json!(result.scenario));
    put(Group::Run, "strategy", json!(result.strategy));
    put(Group::Run, "seed", json!(result.seed));
    put(Group::Run, "stop_reason", json!(result.outcome.reason.as_str()));
    put(Group::Run, "livelock", json!(result.livelock));
    for counter in crate::counters::of(result) {
        put(counter.group, counter.name, json!(counter.value));
    }
    put(Group::Run, "sim_time_ms", json!(result.sim_time_ms()));
    put(Group::Run, "wall_ms", json!(result.wall_ns as f64 / 1e6));
    put(Group::Run, "events_per_sec", json!(result.events_per_sec()));
    put(Group::Run, "history_sha256", json!(result.history.sha256));
    top.insert("workload".into(), serde_json::Value::Object(workload));
    top.insert("network".into(), serde_json::Value::Object(network));
    top.insert("expect".into(), json!(result.expect));
    top.insert(
        "random_faults".into(),
        result.random_faults.as_ref().map(|drawn| drawn.to_json()).unwrap_or(json!(null)),
    );
    top.insert("violations".into(), report.map(|r| r.counts_json()).unwrap_or_else(|| json!({})));
    top.insert("allowed".into(), report.map(|r| r.to_json()["allowed"].clone()).unwrap_or_else(|| json!({})));
    top.insert(
        "verdict".into(),
        json!(report.map(|r| if r.exit_code() == 0 { "ok" } else { "violated" }).unwrap_or("not checked")),
    );
    top.insert("reproduce".into(), json!(result.reproduce));
    serde_json::Value::Object(top)
}

/// The `--json` report of `ordo check` (docs/json.md): the checker's report in the
/// vocabulary every command shares (`violations` and `allowed` are counts per kind, the
/// seed is a number, `verdict` is `ok` or `violated`; the anomalies with their witness
/// lines are `witnesses` and `allowed_witnesses`).
pub fn check_json(report: &crate::checker::Report) -> serde_json::Value {
    let mut raw = match report.to_json() {
        serde_json::Value::Object(map) => map,
        other => return other,
    };
    let mut take = |key: &str| raw.remove(key).unwrap_or(serde_json::Value::Null);
    let run = take("run");
    let header = |key: &str| run.get(key).cloned().unwrap_or(serde_json::Value::Null);
    let seed = match header("seed") {
        serde_json::Value::String(text) => text.parse::<u64>().map(|n| json!(n)).unwrap_or(json!(text)),
        other => other,
    };
    let mut out = serde_json::Map::new();
    out.insert("schema_version".into(), json!(JSON_SCHEMA_VERSION));
    out.insert("source".into(), take("source"));
    out.insert("lines".into(), take("lines"));
    out.insert("scenario".into(), header("scenario"));
    out.insert("strategy".into(), header("strategy"));
    out.insert("seed".into(), seed);
    out.insert("expect".into(), take("expected"));
    out.insert("expect_from".into(), take("expected_from"));
    out.insert("violations".into(), take("counts"));
    out.insert("allowed".into(), take("allowed"));
    out.insert("omitted".into(), take("omitted"));
    out.insert("verdict".into(), json!(if report.exit_code() == 0 { "ok" } else { "violated" }));
    out.insert("witnesses".into(), take("violations"));
    out.insert("allowed_witnesses".into(), take("allowed_violations"));
    out.insert("unknown".into(), take("unknown"));
    drop(take("violated"));
    // A key the checker adds later is kept (and the docs test then asks for its entry).
    out.extend(raw);
    serde_json::Value::Object(out)
}

/// The readable summary of a run (after the seed line); `queue`: the scenario is in queue mode.
pub fn run_text(
    result: &RunResult,
    queue: bool,
    history_file: Option<&Path>,
    report: Option<&crate::checker::Report>,
) -> String {
    let stats = &result.stats;
    let engine = &result.outcome.stats;
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!("ran scenario {} with strategy {}", result.scenario, result.strategy));
    line(format!(
        "  simulated {:.3} ms in {:.1} ms of wall time: {} engine events, {} events/s; stopped: {}",
        result.sim_time_ms(),
        result.wall_ns as f64 / 1e6,
        engine.events,
        result.events_per_sec(),
        stop_words(result, queue)
    ));
    line(format!(
        "  produced {} events in {} batches: {} send attempts ({} retries), {} events acknowledged, {} batches given up",
        stats.created, stats.batches, stats.send_attempts, stats.retries, stats.acked, stats.failed_batches
    ));
    line(format!(
        "  brokers appended {} records ({} retried batches deduplicated, {} rejected); {} of those appends landed after a later event of their entity in the log",
        stats.appended, stats.dedups, stats.rejects, stats.out_of_order_appends
    ));
    if stats.out_of_order_appends > 0 {
        line(
            "    (counted per append, retried copies included; the checker's per_key_reorder below counts each event a group applied after a later event of its entity, once)"
                .to_string(),
        );
    }
    line(format!(
        "  consumers got {} deliveries ({} duplicates) and applied {} ({} duplicates), {} events per simulated second",
        stats.deliveries,
        stats.duplicate_deliveries,
        stats.applies,
        stats.duplicate_applies,
        result.throughput_per_sec()
    ));
    line(format!(
        "  produce-to-apply latency: mean {:.2} ms, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        result.mean_latency_ms(),
        stats.latency_p50_ns as f64 / 1e6,
        stats.latency_p99_ns as f64 / 1e6,
        stats.latency_max_ns as f64 / 1e6
    ));
    if stats.queue_acks + stats.refused_acks + stats.redeliveries + stats.nacks + stats.failed_auto_acked > 0 {
        line(format!(
            "  queue: {} messages acknowledged ({} acks refused: stale receipt or gone), {} redeliveries ({} leases ran out, {} nacks), {} failed after auto-ack, {} dead-lettered",
            stats.queue_acks,
            stats.refused_acks,
            stats.redeliveries,
            stats.visibility_expired,
            stats.nacks,
            stats.failed_auto_acked,
            stats.queue_dead_lettered
        ));
    }
    if stats.partition_pauses + stats.rejected_commits > 0 {
        line(format!(
            "  group: {} assignments; partitions stood unowned {} times ({} of them only to return to the same member) for {:.1} ms in all; {} commits refused (stale generation or member)",
            stats.assignments,
            stats.partition_pauses,
            stats.unmoved_pauses,
            stats.rebalance_pause_ns as f64 / 1e6,
            stats.rejected_commits
        ));
    }
    if stats.discarded + stats.held_max + stats.skipped_gaps > 0 {
        line(format!(
            "  consumer strategy: {} events discarded ({} of them late or stale: dead-lettered, the rest duplicates), at most {} held at once, {} still held at the end, {} gaps skipped",
            stats.discarded, stats.dead_lettered, stats.held_max, stats.held_at_end, stats.skipped_gaps
        ));
    }
    if stats.elections + stats.truncated_records + stats.unflushed_lost > 0 {
        line(format!(
            "  replication: {} leader elections ({} unclean); followers truncated {} divergent records; crashes lost {} unflushed records",
            stats.elections, stats.unclean_elections, stats.truncated_records, stats.unflushed_lost
        ));
    }
    if stats.resent + stats.lost_in_crash + stats.chains_cut > 0 {
        line(format!(
            "  crashes and resends: {} events sent again by the application, {} lost with a crashed producer, {} entity chains cut short",
            stats.resent, stats.lost_in_crash, stats.chains_cut
        ));
    }
    line(format!(
        "  network: {} messages, {} lost (and {} more sent on the connections those losses broke), {} duplicated",
        engine.messages_sent, engine.dropped_loss, engine.dropped_broken, engine.duplicated
    ));
    if let Some(sha) = &result.history.sha256 {
        let place = history_file.map(|p| format!(", written to {}", p.display())).unwrap_or_default();
        line(format!("  history: {} records, fingerprint sha256 {sha}{place}", result.history.records));
    }
    match report {
        None => line("  not checked: no history was recorded (--no-history)".to_string()),
        Some(report) => {
            let counts = report.counts_json();
            let counts = counts.as_object().cloned().unwrap_or_default();
            let expected = result.expect.join(", ");
            if counts.is_empty() {
                line(format!("  checker: nothing the run expected ({expected}) is violated"));
            } else {
                let list: Vec<String> = counts.iter().map(|(kind, n)| format!("{kind} {n}")).collect();
                line(format!("  checker: VIOLATED ({expected}): {}", list.join(", ")));
                let hint = history_file
                    .map(|p| format!("ordo check {}", p.display()))
                    .unwrap_or_else(|| format!("{} --history run.jsonl, then ordo check run.jsonl", result.reproduce));
                line(format!("  witnesses: {hint}"));
            }
        }
    }
    line(format!("reproduce: {}", result.reproduce));
    out
}

fn stop_words(result: &crate::run::RunResult, queue: bool) -> String {
    let words = match result.outcome.reason {
        ordo_sim::StopReason::Stopped if queue => "every message was settled (acknowledged or dead-lettered)",
        ordo_sim::StopReason::Stopped => "everything produced was consumed and committed",
        ordo_sim::StopReason::Quiescent => "nothing left to do",
        ordo_sim::StopReason::TimeLimit => "time limit (run.max_time_ms) reached before the work was done",
        ordo_sim::StopReason::EventLimit => "event limit (run.max_events) reached before the work was done",
        ordo_sim::StopReason::Livelock => {
            let what = result.livelock.as_deref().unwrap_or("no progress");
            return format!("livelock before the work was done ({what}); this is a bug in ordo's model, please report it with the reproduce command");
        }
    };
    words.to_string()
}
