//! `ordo trace` and `ordo check --explain`: every bundled scenario's history and every
//! history of the corpus (tests/histories/) can be traced, for every violation the
//! checker reports, with the witness lines marked and a closing sentence; the
//! selections keep what they say; bad input exits 2 with a message.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ordo::trace::{self, Selection};

fn ordo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordo")).args(args).output().expect("the ordo binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ordo-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The history of a bundled scenario at its own seed and strategy.
pub fn bundled_history(name: &str) -> Vec<u8> {
    let source = ordo::bundled::resolve(name, None).unwrap();
    let scenario = source.load(&[]).unwrap();
    let strategy = ordo::strategy::StrategySet::parse(&scenario.strategy).unwrap();
    let seed = scenario.seed;
    let result = ordo::run::run(ordo::run::RunSpec {
        scenario,
        scenario_path: &source.path,
        strategy,
        seed,
        history_mode: ordo::history::HistoryMode::On,
        history_file: None,
        keep_history: true,
    })
    .unwrap();
    result.history.jsonl.expect("the history is kept")
}

/// Traces every anomaly of a loaded history and checks the story: the witness lines are
/// all there, marked, in line order, and a sentence ends it. Returns the kinds seen.
fn trace_every_violation(name: &str, loaded: &trace::Loaded) -> BTreeSet<&'static str> {
    let mut kinds = BTreeSet::new();
    for (i, v) in loaded.report.violations.iter().enumerate() {
        kinds.insert(v.kind.name());
        let story = loaded.select(&Selection::Violation(i + 1)).unwrap();
        let out = trace::render(&loaded.history, &story);
        for w in &v.witness {
            let marked = out
                .lines()
                .any(|l| l.starts_with("* line") && l.split_whitespace().nth(2) == Some(&w.line.to_string()));
            assert!(
                marked,
                "{name}: violation {} ({}): witness line {} not marked in\n{out}",
                i + 1,
                v.kind.name(),
                w.line
            );
        }
        let lines: Vec<u64> = story.recs.iter().map(|r| loaded.history.recs[*r].line).collect();
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "{name}: the story is in history order");
        let sentence = out.lines().last().unwrap();
        assert!(
            sentence.starts_with("What happened: ") && sentence.ends_with('.') && sentence.len() > 30,
            "{name}: violation {} ends with a sentence: {sentence}",
            i + 1
        );
        assert!(!sentence.contains("?"), "{name}: violation {} sentence names every thing: {sentence}", i + 1);
    }
    kinds
}

#[test]
fn every_bundled_scenario_traces_every_violation_and_every_selection() {
    let mut kinds = BTreeSet::new();
    for source in ordo::bundled::catalog(None).unwrap() {
        let jsonl = bundled_history(&source.stem);
        let loaded = trace::load_bytes(&jsonl, &source.stem).unwrap();
        kinds.extend(trace_every_violation(&source.stem, &loaded));
        let h = &loaded.history;
        // Each node's story has only that node's records (and network faults naming it).
        let nodes: BTreeSet<&str> = h.recs.iter().filter_map(|r| r.node).map(|n| h.s(n)).collect();
        for node in &nodes {
            let story = loaded.select(&Selection::Node(node.to_string())).unwrap();
            assert!(!story.recs.is_empty());
            for i in &story.recs {
                let r = &h.recs[*i];
                assert!(r.node.map(|n| h.s(n)) == Some(*node) || r.ty.is_fault(), "{}: --node {node}", source.stem);
            }
        }
        // A partition's story: only its records and the failures of batches sent to it.
        let first_append = h.recs.iter().find(|r| r.ty == trace::Ty::Append).expect("something was appended");
        let (topic, p) = (h.s(first_append.topic.unwrap()).to_string(), first_append.partition.unwrap());
        let story = loaded.select(&Selection::Partition(topic.clone(), p)).unwrap();
        for i in &story.recs {
            let r = &h.recs[*i];
            assert!(
                r.ty == trace::Ty::Fail
                    || (r.topic.map(|t| h.s(t)) == Some(topic.as_str())
                        && (r.partition == Some(p) || r.parts.contains(&p))),
                "{}: --partition {topic}/{p} kept line {}",
                source.stem,
                r.line
            );
        }
        // An entity's story: its creates are all there.
        let create = h.recs.iter().find(|r| r.ty == trace::Ty::Create && r.entity.is_some()).unwrap();
        let entity = h.s(create.entity.unwrap()).to_string();
        let story = loaded.select(&Selection::Entity(entity.clone())).unwrap();
        let creates = h.recs.iter().filter(|r| r.ty == trace::Ty::Create && r.entity == create.entity).count();
        assert_eq!(story.recs.iter().filter(|i| h.recs[**i].ty == trace::Ty::Create).count(), creates, "{entity}");
        // A time window keeps exactly the records inside it.
        let (lo, hi) = (h.recs[h.recs.len() / 4].t, h.recs[h.recs.len() / 2].t);
        let story = loaded.select(&Selection::Window(lo, hi)).unwrap();
        assert_eq!(story.recs.len(), h.recs.iter().filter(|r| r.t >= lo && r.t <= hi).count());
    }
    // The bundled scenarios show these kinds at their own seeds; each was traced above.
    for kind in [
        "per_key_reorder",
        "duplicate_apply",
        "final_state",
        "reapply_reorder",
        "duplicate_append",
        "nonmonotonic_send",
    ] {
        assert!(kinds.contains(kind), "no bundled scenario shows {kind}: {kinds:?}");
    }
    eprintln!("kinds traced from the bundled scenarios: {kinds:?}");
}

#[test]
fn every_corpus_history_traces_and_bad_ones_exit_2() {
    let mut kinds = BTreeSet::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/histories")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("error_") {
            let out = ordo(&["trace", path.to_str().unwrap(), "--violation", "1"]);
            assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out.stderr));
            let err = text(&out.stderr);
            let after = err.split(&format!("{name}:")).nth(1).unwrap_or("");
            assert!(
                after.starts_with(|c: char| c.is_ascii_digit()),
                "{name}: the error names the file and line: {err}"
            );
            continue;
        }
        let loaded = trace::load(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        kinds.extend(trace_every_violation(&name, &loaded));
    }
    // Every kind of the checker appears in the corpus, so every kind was traced.
    let all: BTreeSet<&str> = ordo::Kind::ALL.iter().map(|k| k.name()).collect();
    let missing: Vec<&&str> = all.difference(&kinds).collect();
    assert!(missing.is_empty(), "kinds never traced: {missing:?}");
}

#[test]
fn the_quickstart_reorder_is_explained_by_its_retry() {
    let jsonl = bundled_history("quickstart");
    let loaded = trace::load_bytes(&jsonl, "quickstart").unwrap();
    let n = loaded.report.violations.iter().position(|v| v.kind == ordo::Kind::PerKeyReorder).unwrap() + 1;
    let story = loaded.select(&Selection::Violation(n)).unwrap();
    let out = trace::render(&loaded.history, &story);
    let sentence = story.sentence.unwrap();
    // The cause's batch failed, was retried, and its retry landed after the effect's batch.
    assert!(
        sentence.contains("failed first") && sentence.contains("its retry, attempt 2, landed at offset"),
        "{sentence}"
    );
    assert!(out.contains("(retry after "), "the retry's send says why:\n{out}");
    assert!(
        out.contains("failed: disconnected; will retry") || out.contains("failed: request timeout; will retry"),
        "{out}"
    );
}

#[test]
fn check_explain_prints_the_chain_under_each_violation() {
    let path = scratch("explain.jsonl");
    std::fs::write(&path, bundled_history("quickstart")).unwrap();
    let out = ordo(&["check", path.to_str().unwrap(), "--explain", "--show", "3"]);
    assert_eq!(out.status.code(), Some(1));
    let s = text(&out.stdout);
    assert_eq!(s.matches("   why: ").count(), 3, "{s}");
    assert!(s.contains("   chain "), "{s}");
    let plain = text(&ordo(&["check", path.to_str().unwrap(), "--show", "3"]).stdout);
    assert!(!plain.contains("   why: "));
    // --explain adds lines, it removes none.
    for line in plain.lines() {
        assert!(s.contains(line), "--explain lost {line:?}");
    }
}

#[test]
fn the_trace_cli_prints_line_numbers_and_marks() {
    let path = scratch("cli.jsonl");
    std::fs::write(&path, bundled_history("quickstart")).unwrap();
    let p = path.to_str().unwrap();
    let out = ordo(&["trace", p, "--violation", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.starts_with("violation 1: "));
    assert!(s.lines().any(|l| l.starts_with("* line ")));
    let out = ordo(&["trace", p, "--node", "c0"]);
    let s = text(&out.stdout);
    assert!(s.lines().skip(1).all(|l| l.split_whitespace().nth(4) == Some("c0")), "{s}");
    let out = ordo(&["trace", p, "--from", "10", "--to", "12.5"]);
    let s = text(&out.stdout);
    for l in s.lines().skip(1) {
        let ms: f64 = l.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!((10.0..=12.5).contains(&ms), "{l}");
    }
    assert!(ordo(&["trace", p, "--partition", "orders/1"]).status.success());
    assert!(ordo(&["trace", p, "--entity", "order-1"]).status.success());
}

fn assert_exit_2(args: &[&str], mention: &str) {
    let out = ordo(args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(mention), "{args:?}: expected {mention:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let path = scratch("bad.jsonl");
    std::fs::write(&path, bundled_history("quickstart")).unwrap();
    let p = path.to_str().unwrap();
    let not_history = scratch("not-a-history.jsonl");
    std::fs::write(&not_history, "[run]\nseed = 3\n").unwrap();
    assert_exit_2(&["trace", not_history.to_str().unwrap(), "--violation", "1"], "not-a-history.jsonl:1: ");
    assert_exit_2(&["trace", p, "--violation", "100000"], "out of range: the checker found");
    assert_exit_2(&["trace", p, "--violation", "0"], "numbered from 1");
    assert_exit_2(&["trace", p, "--violation", "1", "--node", "c0"], "give one selection, not 2");
    assert_exit_2(&["trace", p], "give one selection");
    assert_exit_2(&["trace", p, "--partition", "orders"], "expected TOPIC/P");
    assert_exit_2(&["trace", p, "--partition", "orders/9"], "no record of this history names that partition");
    assert_exit_2(&["trace", p, "--node", "zz9"], "--node zz9");
    assert_exit_2(&["trace", p, "--entity", "order-999999"], "--entity order-999999");
    assert_exit_2(&["trace", p, "--from", "10"], "--from and --to go together");
    assert_exit_2(&["trace", p, "--from", "12", "--to", "10"], "expected from <= to");
    assert_exit_2(&["trace", p, "--from", "abc", "--to", "10"], "expected milliseconds");
    assert_exit_2(&["trace", p, "--from", "1", "--to", "99999999999999999999"], "--to");
    assert_exit_2(&["trace", "/nonexistent/h.jsonl", "--violation", "1"], "cannot read");
    // A clean history has no violation to trace.
    assert_exit_2(&["trace", "tests/histories/ok_doc_example.jsonl", "--violation", "1"], "found no anomaly");
}

/// The README shows `ordo trace` output for the quickstart's reorder: it must be what
/// ordo prints today (regenerate it with the command in the README block).
#[test]
fn the_readme_trace_is_what_ordo_prints() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let start = readme.find("<!-- trace-example:begin -->").expect("README has the trace example block");
    let end = readme.find("<!-- trace-example:end -->").unwrap();
    let block = &readme[start..end];
    let command = block.lines().find(|l| l.starts_with("$ ordo trace ")).expect("the block shows its command");
    let n: usize = command.split("--violation ").nth(1).unwrap().trim().parse().unwrap();
    let printed: String = {
        let body = block.split("```text\n").nth(1).unwrap();
        let body = body.split("```").next().unwrap();
        body.lines().filter(|l| !l.starts_with("$ ")).map(|l| format!("{l}\n")).collect()
    };
    let path = scratch("readme.jsonl");
    std::fs::write(&path, bundled_history("quickstart")).unwrap();
    let out = ordo(&["trace", path.to_str().unwrap(), "--violation", &n.to_string()]);
    assert_eq!(
        text(&out.stdout),
        printed,
        "README.md's trace example is stale: regenerate it with `ordo run quickstart --history run.jsonl && ordo trace run.jsonl --violation {n}` (and docs/quickstart-reorder.svg with `ordo diagram run.jsonl --violation {n} -o docs/quickstart-reorder.svg`)"
    );
    let _ = Path::new("docs/quickstart-reorder.svg");
}

#[test]
fn a_lost_write_names_the_leader_change_and_the_reused_offset() {
    let loaded = trace::load(Path::new("tests/histories/lost_write.jsonl")).unwrap();
    let sentence = loaded.select(&Selection::Violation(1)).unwrap().sentence.unwrap();
    assert!(
        sentence.contains("event 1 was acknowledged at t/0 offset 0 (line 5), then b1 became leader (line 7, epoch 2), and b1 appended event 2 at the same offset (line 10)"),
        "{sentence}"
    );
    assert!(sentence.contains("crash of b0 (line 6)"), "the fault is named: {sentence}");
    let loaded = trace::load(Path::new("tests/histories/stale_leader_read.jsonl")).unwrap();
    let sentence = loaded.select(&Selection::Violation(1)).unwrap().sentence.unwrap();
    assert!(sentence.contains("two leaders (epochs 2 and 1) appended at one offset"), "{sentence}");
}
