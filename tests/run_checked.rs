//! `ordo run`'s path (`run::run_checked`, issue 21): the simulation records the compact
//! history, one thread formats it as JSONL for the fingerprint and the file while another
//! checks the records without parsing. Everything it gives must be what recording the JSONL
//! while simulating and checking its text gives: the SHA-256, the bytes of `--history`, the
//! record and byte counts, the in-memory copy, and the report.

use std::path::Path;

use ordo::history::HistoryMode;
use ordo::run::{run, run_checked, RunSpec};
use ordo::scenario::Scenario;
use ordo::strategy::StrategySet;

fn spec<'a>(path: &'a Path, seed: u64, history_file: Option<std::path::PathBuf>, keep: bool) -> RunSpec<'a> {
    let scenario = Scenario::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let strategy = StrategySet::parse(&scenario.strategy).expect("known strategy");
    RunSpec {
        scenario,
        scenario_path: path,
        strategy,
        seed,
        history_mode: HistoryMode::On,
        history_file,
        keep_history: keep,
    }
}

#[test]
fn run_checked_gives_the_fingerprint_file_and_report_of_the_jsonl_path() {
    let dir = std::env::temp_dir().join(format!("ordo-run-checked-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("scenarios/quickstart.toml", 3),
        ("scenarios/swarm.toml", 7),
        ("scenarios/queue-visibility-timeout.toml", 1),
        ("scenarios/cooperative-rebalance.toml", 2),
        ("scenarios/unclean-leader-election.toml", 1),
        ("benches/standard.toml", 1),
    ];
    let mut violated = 0;
    for (name, seed) in cases {
        let path = Path::new(name);
        let old_file = dir.join("old.jsonl");
        let new_file = dir.join("new.jsonl");
        let old = run(spec(path, seed, Some(old_file.clone()), true)).unwrap();
        let jsonl = old.history.jsonl.clone().expect("kept in memory");
        let old_report = ordo::checker::check_reader(jsonl.as_slice(), "history", None).unwrap();

        let (new, report) = run_checked(spec(path, seed, Some(new_file.clone()), true)).unwrap();
        let report = report.expect("a recorded history is checked").unwrap();
        assert_eq!(new.history.sha256, old.history.sha256, "{name}: fingerprint");
        assert!(new.history.sha256.as_deref().is_some_and(|s| s.len() == 64), "{name}");
        assert_eq!(new.history.records, old.history.records, "{name}: records");
        assert_eq!(new.history.bytes, old.history.bytes, "{name}: bytes");
        assert_eq!(new.history.bytes, jsonl.len() as u64, "{name}: bytes");
        assert!(new.history.jsonl.as_deref() == Some(jsonl.as_slice()), "{name}: in-memory copy");
        assert!(std::fs::read(&new_file).unwrap() == jsonl, "{name}: --history file");
        assert!(std::fs::read(&old_file).unwrap() == jsonl, "{name}: the old path's file");
        assert_eq!(report.to_json(), old_report.to_json(), "{name}: report");
        assert_eq!(report.exit_code(), old_report.exit_code(), "{name}");
        assert_eq!(new.outcome.stats.events, old.outcome.stats.events, "{name}");
        violated += usize::from(report.exit_code() != 0);

        // Without a file or a copy: the same fingerprint, no copy kept.
        let (bare, _) = run_checked(spec(path, seed, None, false)).unwrap();
        assert_eq!(bare.history.sha256, old.history.sha256, "{name}");
        assert!(bare.history.jsonl.is_none(), "{name}: nothing kept unless asked");
    }
    assert!(violated >= 2, "the cases include violated runs, so reports with witnesses are compared");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn run_checked_without_history_checks_nothing() {
    let path = Path::new("scenarios/quickstart.toml");
    let mut off = spec(path, 1, None, false);
    off.history_mode = HistoryMode::Off;
    let (result, report) = run_checked(off).unwrap();
    assert!(report.is_none());
    assert!(result.history.sha256.is_none());
}

#[test]
fn run_checked_refuses_an_unwritable_history_file_before_running() {
    let path = Path::new("scenarios/quickstart.toml");
    let bad = Path::new("/nonexistent-ordo-dir/x.jsonl").to_path_buf();
    let error = run_checked(spec(path, 1, Some(bad), false)).err().expect("the file cannot be created");
    assert!(error.to_string().contains("/nonexistent-ordo-dir/x.jsonl"), "{error}");
}
