//! `ordo shrink`: a failing seed of every bundled scenario that has one shrinks, for each
//! of its violated kinds, to a scenario that still violates that kind, is no larger in any
//! dimension, replays byte for byte, and (when the search ran to its end) shrinks to itself.

use std::process::Command;

use ordo::bundled::{catalog, Source};
use ordo::history::HistoryMode;
use ordo::run::{run, RunSpec};
use ordo::scenario::Scenario;
use ordo::shrink::{shrink, ShrinkSpec, Shrunk, Sizes};
use ordo::strategy::StrategySet;
use ordo::sweep::{sweep, SeedRange, SweepSpec};
use rayon::prelude::*;

/// Seeds searched for a failing one, and the candidate-run cap of each shrink: enough to
/// find and shrink a failure of every failing scenario, small enough for CI.
const SEARCH_SEEDS: u64 = 3;
const MAX_RUNS: u64 = 400;

fn spec<'a>(source: &'a Source, seed: u64, kind: Option<&str>, max_runs: u64) -> ShrinkSpec<'a> {
    ShrinkSpec {
        source,
        overrides: &[],
        strategy: None,
        seed: Some(seed),
        kind: kind.map(str::to_string),
        max_runs,
        tries: 4,
        budget: None,
        progress: false,
    }
}

fn text_source(text: &str, stem: &str) -> Source {
    Source { path: format!("{stem}.toml").into(), stem: stem.to_string(), text: text.to_string(), bundled: false }
}

/// The history fingerprint and violated kinds of one run of a scenario text.
fn replay(text: &str) -> (String, Vec<String>) {
    let scenario = Scenario::parse(text, "minimal.toml", "minimal").expect("the minimal scenario is valid");
    let strategy = StrategySet::parse(&scenario.strategy).expect("a known strategy");
    let seed = scenario.seed;
    let result = run(RunSpec {
        scenario,
        scenario_path: std::path::Path::new("minimal.toml"),
        strategy,
        seed,
        history_mode: HistoryMode::On,
        history_file: None,
        keep_history: true,
    })
    .expect("runs");
    let jsonl = result.history.jsonl.expect("kept");
    let report = ordo::checker::check_reader(jsonl.as_slice(), "h", None).expect("ordo's history checks");
    let violated = report
        .all_counts()
        .into_iter()
        .filter(|&(name, n)| {
            n > 0
                && ordo::Kind::ALL
                    .iter()
                    .any(|&kind| kind.name() == name && report.status_of(kind) == ordo::checker::Status::Violated)
        })
        .map(|(name, _)| name.to_string())
        .collect();
    (result.history.sha256.expect("fingerprint"), violated)
}

fn body(text: &str) -> String {
    text.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n")
}

fn assert_good(shrunk: &Shrunk, what: &str) {
    assert!(
        shrunk.minimal.within(&shrunk.original),
        "{what}: {:?} is larger than {:?}",
        shrunk.minimal,
        shrunk.original
    );
    assert!(
        !shrunk.text.lines().any(|l| l.trim() == "[quiz]"),
        "{what}: a lesson's quiz does not hold for the shrunk copy, which must not carry it"
    );
    let (sha, violated) = replay(&shrunk.text);
    assert!(violated.iter().any(|k| k == shrunk.kind.name()), "{what}: the minimal scenario shows {violated:?}");
    let (again, _) = replay(&shrunk.text);
    assert_eq!(sha, again, "{what}: the minimal scenario replays byte for byte");
}

#[test]
fn every_failing_bundled_scenario_shrinks_for_each_violated_kind() {
    let sources = catalog(None).expect("bundled");
    let finished = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<(String, usize)> = sources
        .par_iter()
        .map(|source| {
            let scenario = source.load(&[]).expect("bundled scenarios load");
            let strategy = StrategySet::parse(&scenario.strategy).expect("its strategy");
            let swept = sweep(&SweepSpec {
                scenario,
                scenario_path: &source.path,
                strategy,
                seeds: SeedRange { first: 1, last: SEARCH_SEEDS },
                threads: 1,
                progress: false,
            })
            .expect("sweeps");
            let Some(failing) = swept.failing.first() else { return (source.stem.clone(), 0) };
            let kinds: Vec<_> = failing.kinds().collect();
            for kind in &kinds {
                let what = format!("{} seed {} {}", source.stem, failing.seed, kind.name());
                let mut s = spec(source, failing.seed, Some(kind.name()), MAX_RUNS);
                s.tries = 2;
                let shrunk = shrink(&s).expect(&what);
                assert_eq!(shrunk.kind, *kind);
                assert_good(&shrunk, &what);
                if shrunk.cut_short.is_none() {
                    // The search ran to its end: the result shrinks to itself.
                    let minimal = text_source(&shrunk.text, "minimal");
                    let mut again = spec(&minimal, shrunk.minimal_seed, Some(kind.name()), MAX_RUNS);
                    again.seed = None;
                    again.tries = 2;
                    let second = shrink(&again).expect(&what);
                    assert_eq!(body(&second.text), body(&shrunk.text), "{what}: shrinking again changed it");
                    assert!(second.steps.is_empty(), "{what}: {:?}", second.steps);
                    finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            (source.stem.clone(), kinds.len())
        })
        .collect();
    let shrunk: Vec<&(String, usize)> = results.iter().filter(|(_, n)| *n > 0).collect();
    // Most bundled lessons show a failure in their first seeds; if none did, the test
    // would pass on nothing.
    assert!(shrunk.len() >= 12, "only {} scenarios had a failing seed: {results:?}", shrunk.len());
    // Most searches end within the cap, and those were checked to be fixpoints.
    let finished = finished.into_inner();
    let kinds: usize = results.iter().map(|(_, n)| n).sum();
    assert!(finished * 2 >= kinds, "only {finished} of {kinds} searches ran to their end");
}

#[test]
fn the_swarm_failure_shrinks_to_one_fault_and_to_itself() {
    let source = ordo::bundled::resolve("swarm", None).expect("bundled");
    let mut s = spec(&source, 28, None, 2000);
    s.strategy = Some("lww".into());
    let first = shrink(&s).expect("seed 28 with lww fails");
    assert_eq!(first.kind.name(), "final_state");
    assert_eq!(first.cut_short, None, "the search ran to its end");
    assert_eq!(first.original.faults, 9);
    assert!(first.minimal.faults <= 2, "{}", first.summary_line());
    assert!(first.minimal.events < first.original.events, "{}", first.summary_line());
    assert_good(&first, "swarm 28");
    assert!(first.trace.contains("final_state"), "{}", first.trace);
    // The same input gives the same output.
    let same = shrink(&s).expect("again");
    assert_eq!(same.text, first.text);
    assert_eq!(same.runs, first.runs);
    // A minimal scenario shrinks to itself.
    let minimal = text_source(&first.text, "minimal");
    let mut again = spec(&minimal, first.minimal_seed, None, 2000);
    again.seed = None; // the minimal scenario pins its seed
    let second = shrink(&again).expect("still fails");
    assert_eq!(second.minimal, first.minimal);
    assert_eq!(body(&second.text), body(&first.text));
    assert!(second.steps.is_empty(), "{:?}", second.steps);
    assert_eq!(second.summary_line(), "already minimal: no smaller scenario still shows it");
}

#[test]
fn the_max_runs_cap_keeps_the_best_so_far() {
    let source = ordo::bundled::resolve("swarm", None).expect("bundled");
    let mut s = spec(&source, 28, None, 5);
    s.strategy = Some("lww".into());
    let cut = shrink(&s).expect("fails");
    assert_eq!(cut.cut_short, Some("--max-runs"));
    assert!(cut.runs <= 5);
    assert!(cut.text.contains("stopped by --max-runs"));
    assert_good(&cut, "capped");
    let sizes: Sizes = cut.minimal;
    assert!(sizes.within(&cut.original));
}

fn ordo(args: &[&str], dir: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ordo")).args(args).current_dir(dir).output().expect("runs ordo");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_shrink_writes_a_replayable_file_and_refuses_bad_input() {
    let dir = std::env::temp_dir().join(format!("ordo-shrink-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (code, out, err) =
        ordo(&["shrink", "swarm", "--seed", "28", "--strategy", "lww", "-o", "min.toml", "--budget", "5m"], &dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("shrunk a final_state violation (seed 28, strategy lww)"), "{out}");
    assert!(out.contains("9 faults → "), "{out}");
    assert!(out.contains("reproduce: ordo run min.toml"), "{out}");
    assert!(out.contains("the violation in the minimal run (ordo trace):"), "{out}");
    assert!(out.contains("What happened:"), "{out}");
    let (code, out, _) = ordo(&["run", "min.toml"], &dir);
    assert_eq!(code, 0);
    assert!(out.contains("final_state"), "{out}");

    let (code, out, _) = ordo(&["shrink", "swarm", "--seed", "28", "--strategy", "lww", "--json"], &dir);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["command"], "shrink");
    assert_eq!(v["kind"], "final_state");
    assert_eq!(v["original"]["faults"], 9);
    assert!(v["minimal"]["faults"].as_u64().unwrap() <= 2);
    assert!(v["scenario_toml"].as_str().unwrap().contains("strategy = \"lww\""));

    // Nothing to shrink: exit 1, and says why.
    let (code, _, err) =
        ordo(&["shrink", "swarm", "--seed", "28", "--strategy", "lww", "--kind", "duplicate_append"], &dir);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("does not violate duplicate_append"), "{err}");
    // Bad input: exit 2, naming the flag.
    for (args, needle) in [
        (vec!["shrink", "swarm", "--kind", "reorder"], "--kind \"reorder\": not a checker kind"),
        (vec!["shrink", "swarm", "--budget", "ten"], "--budget"),
        (vec!["shrink", "swarm", "--tries", "0"], "--tries 0"),
        (vec!["shrink", "swarm", "--strategy", "nope"], "--strategy"),
        (vec!["shrink", "no-such-scenario"], "no-such-scenario"),
    ] {
        let (code, _, err) = ordo(&args, &dir);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }

    // sweep --shrink K lists K minimal scenarios and writes them.
    let (code, out, err) =
        ordo(&["sweep", "quickstart", "--seeds", "3", "--threads", "1", "--shrink", "1", "--shrink-out", "mins"], &dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("shrunk 1 failing seed(s):"), "{out}");
    let written: Vec<_> = std::fs::read_dir(dir.join("mins")).unwrap().collect();
    assert_eq!(written.len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
