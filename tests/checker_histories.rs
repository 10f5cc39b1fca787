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

/// Bad input is named: each error history's message says what is wrong (not a generic
/// JSON error), with the file and line.
#[test]
fn bad_input_messages_name_the_problem() {
    let cases = [
        ("error_send_same_attempt.jsonl", 4, "already sent it with the same attempt"),
        ("error_duplicate_topic.jsonl", 1, "header topics list \"t\" twice"),
        ("error_id_too_large.jsonl", 3, "a number id must be an integer from 0 to 18446744073709551615"),
        ("error_bom.jsonl", 1, "byte order mark"),
        ("error_end_reason.jsonl", 3, "end reason \"done\" is unknown"),
        ("error_version.jsonl", 1, "version 99 is not supported; expected 1 or 2"),
    ];
    for (file, line, text) in cases {
        let path = Path::new("tests/histories").join(file);
        let err = check_path(&path, None).expect_err(file);
        let message = err.to_string();
        assert_eq!(err.line(), line, "{message}");
        assert!(message.starts_with(&format!("{}:{line}: ", path.display())), "{message}");
        assert!(message.contains(text), "{file}: {message:?} should contain {text:?}");
        assert!(!message.contains("floating point") && !message.contains("expected value"), "{message}");
    }
}

/// A witness that names an offset (`… at topic/p@o`) quotes a record at that offset: the
/// append there (or, without append records, the ack of the batch that starts there or
/// before), never a record at another offset, such as an append later truncated away.
#[test]
fn offset_witnesses_quote_the_record_at_that_offset() {
    let mut checked = 0;
    for (file, expected) in table() {
        if !matches!(expected, Expected::Kinds(_)) {
            continue;
        }
        let report = check_path(&Path::new("tests/histories").join(&file), None).expect(&file);
        for v in report.violations.iter().filter(|v| v.kind.name() == "nonmonotonic_send") {
            for w in v.witness.iter().filter(|w| w.what.contains(" batch at ")) {
                let offset: u64 = w.what.rsplit('@').next().and_then(|o| o.parse().ok()).expect(&w.what);
                let record: serde_json::Value = serde_json::from_str(w.record.as_deref().expect("record")).unwrap();
                let at = record["offset"].as_u64().expect("offset");
                match record["type"].as_str() {
                    Some("append") => assert_eq!(at, offset, "{file}: {} quotes {record}", w.what),
                    Some("ack") => assert!(at <= offset, "{file}: {} quotes {record}", w.what),
                    other => panic!("{file}: {} quotes a {other:?} record", w.what),
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 4, "only {checked} offset witnesses checked");
}

/// docs/checker.md's table of kinds lists every kind of the code, in the code's order,
/// with its class (always a bug, breaks a guarantee, observation of one), so the two
/// cannot drift apart.
#[test]
fn the_documented_kinds_are_the_code_kinds() {
    use ordo::checker::{Class, Kind};
    let doc = std::fs::read_to_string("docs/checker.md").expect("docs/checker.md");
    let start = doc.find("| kind | class |").expect("the kinds table");
    let rows: Vec<(String, String)> = doc[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].to_string())
        })
        .collect();
    let code: Vec<(String, String)> = Kind::ALL
        .iter()
        .map(|k| {
            let class = match k.class() {
                Class::Bug => "always a bug".to_string(),
                Class::Breaks(g) => g.name().to_string(),
                Class::Observation(g) => format!("observation ({})", g.name()),
            };
            (k.name().to_string(), class)
        })
        .collect();
    assert_eq!(rows, code, "docs/checker.md's kinds table differs from Kind::ALL");
    // The README's count of kinds, too.
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    assert!(
        readme.contains(&format!("It finds {}\nkinds of anomaly", Kind::ALL.len()))
            || readme.contains(&format!("It finds {} kinds of anomaly", Kind::ALL.len())),
        "README.md's checker paragraph does not say {} kinds",
        Kind::ALL.len()
    );
}
