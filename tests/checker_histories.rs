//! Runs every hand-written history under `tests/histories/` and compares the kinds found
//! with the expectations table in `tests/histories/README.md` (one row per file: file,
//! expected kinds with counts, story). The table is the documentation; this test keeps it
//! honest.

use std::collections::BTreeMap;
use std::path::Path;

use ordo::checker::{check_path, check_reader, CheckError};

/// Expected outcome of one file.
#[derive(Debug, PartialEq)]
enum Expected {
    /// Counts per kind over every detected anomaly (violated and allowed).
    Kinds(BTreeMap<String, u64>),
    /// An error at this line.
    Error(u64),
}

fn parse_expected(cell: &str) -> Expected {
    let cell = cell.trim().trim_matches('`');
    if let Some(line) = cell.strip_prefix("error at line ") {
        return Expected::Error(line.trim().parse().expect("error line number"));
    }
    let mut kinds = BTreeMap::new();
    if cell == "none" {
        return Expected::Kinds(kinds);
    }
    for part in cell.split(',') {
        let part = part.trim().trim_matches('`');
        let (name, n) = match part.split_once(" x") {
            Some((name, n)) => (name.trim_matches('`'), n.parse().expect("count")),
            None => (part, 1),
        };
        kinds.insert(name.to_string(), n);
    }
    Expected::Kinds(kinds)
}

fn table() -> Vec<(String, Expected)> {
    let readme = std::fs::read_to_string("tests/histories/README.md").expect("README.md");
    readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), parse_expected(cells[2]))
        })
        .collect()
}

fn run(file: &str) -> Result<BTreeMap<String, u64>, CheckError> {
    let path = Path::new("tests/histories").join(file);
    let report = check_path(&path, None)?;
    // Same bytes through the reader API: same verdict and text except verbatim records.
    let bytes = std::fs::read(&path).expect("read");
    let again = check_reader(bytes.as_slice(), &path.display().to_string(), None).expect("reader");
    assert_eq!(report.counts_json(), again.counts_json(), "{file}");
    let counts = report.all_counts().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    Ok(counts)
}

#[test]
fn every_history_file_is_in_the_table() {
    let listed: Vec<String> = table().into_iter().map(|(f, _)| f).collect();
    let mut files: Vec<String> = std::fs::read_dir("tests/histories")
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".jsonl"))
        .collect();
    files.sort();
    for f in &files {
        assert!(listed.contains(f), "{f} has no row in tests/histories/README.md");
    }
    for f in &listed {
        assert!(files.contains(f), "README.md lists {f} but the file is missing");
    }
}

#[test]
fn histories_give_the_expected_kinds() {
    let mut failures = Vec::new();
    for (file, expected) in table() {
        let got = match run(&file) {
            Ok(kinds) => Expected::Kinds(kinds),
            Err(e) => Expected::Error(e.line()),
        };
        if got != expected {
            let detail = match check_path(&Path::new("tests/histories").join(&file), None) {
                Ok(r) => r.render_text(20),
                Err(e) => e.to_string(),
            };
            failures.push(format!("{file}: expected {expected:?}, got {got:?}\n{detail}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_kind_has_a_history() {
    let mut covered = std::collections::BTreeSet::new();
    for (_, expected) in table() {
        if let Expected::Kinds(k) = expected {
            covered.extend(k.into_keys());
        }
    }
    for kind in ordo::checker::Kind::ALL {
        assert!(covered.contains(kind.name()), "no history shows {}", kind.name());
    }
}

/// Debug helper: `ORDO_SHOW=file.jsonl cargo test --test checker_histories show -- --nocapture`
/// prints the text report of one history (does nothing without the variable).
#[test]
fn show() {
    if let Ok(file) = std::env::var("ORDO_SHOW") {
        match check_path(&Path::new("tests/histories").join(&file), None) {
            Ok(r) => println!("{}\n{}", r.render_text(50), serde_json::to_string_pretty(&r.to_json()).unwrap()),
            Err(e) => println!("error: {e}"),
        }
    }
}

/// Scale helper: `ORDO_CHECK_PATH=/abs/file.jsonl cargo test --release --test
/// checker_histories check_path_from_env -- --nocapture` checks any history file and prints
/// the counts (does nothing without the variable; used to measure large histories with
/// /usr/bin/time, never timed inside the test).
#[test]
fn check_path_from_env() {
    if let Ok(path) = std::env::var("ORDO_CHECK_PATH") {
        match ordo::checker::check_path(Path::new(&path), None) {
            Ok(r) => println!(
                "{} violations, counts {}",
                r.violations.len(),
                serde_json::to_string(&r.to_json()["counts"]).unwrap()
            ),
            Err(e) => println!("error: {e}"),
        }
    }
}
