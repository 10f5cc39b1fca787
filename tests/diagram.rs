//! `ordo diagram` and `ordo run --diagram`: SVG and HTML for every bundled scenario and
//! every corpus history, one lane per node, witnesses highlighted; the HTML is
//! self-contained; and, in a real headless Chromium, the quickstart's page loads without
//! console errors, shows the history's nodes as lanes and highlights a clicked
//! violation's witness.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ordo::diagram::{self, Format};
use ordo::trace::{self, Selection};

fn ordo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordo")).args(args).output().expect("the ordo binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ordo-diagram-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn bundled_history(name: &str) -> Vec<u8> {
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
    result.history.jsonl.unwrap()
}

/// The nodes a history names (every `node`, and the lists of network faults).
fn nodes_of(jsonl: &[u8]) -> BTreeSet<String> {
    let mut nodes = BTreeSet::new();
    for line in text(jsonl).lines().skip(1) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(n) = v["node"].as_str() {
            nodes.insert(n.to_string());
        }
        for key in ["from", "to"] {
            for n in v[key].as_array().into_iter().flatten() {
                nodes.insert(n.as_str().unwrap().to_string());
            }
        }
    }
    nodes
}

/// Checks the SVG of a whole history and of each violation (the first 5 of each kind).
fn check_svgs(name: &str, loaded: &trace::Loaded, nodes: &BTreeSet<String>) {
    let layout = diagram::layout(loaded, &Selection::All).unwrap();
    let svg = diagram::render(&layout, &loaded.history, Format::Svg);
    assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"), "{name}");
    let lanes: BTreeSet<String> = svg
        .match_indices("class=\"lane\" data-node=\"")
        .map(|(i, m)| svg[i + m.len()..].split('"').next().unwrap().to_string())
        .collect();
    assert_eq!(&lanes, nodes, "{name}: one lane per node");
    assert_eq!(svg.matches("<g class=\"rec").count(), loaded.history.recs.len(), "{name}: every record drawn");
    assert_eq!(svg.matches("<g ").count(), svg.matches("</g>").count(), "{name}: balanced groups");
    let mut per_kind = std::collections::BTreeMap::new();
    for (i, v) in loaded.report.violations.iter().enumerate() {
        let seen = per_kind.entry(v.kind).or_insert(0);
        *seen += 1;
        if *seen > 5 {
            continue;
        }
        let layout = diagram::layout(loaded, &Selection::Violation(i + 1)).unwrap();
        let svg = diagram::render(&layout, &loaded.history, Format::Svg);
        for w in &v.witness {
            assert!(
                svg.contains(&format!("<g class=\"rec witness\" data-line=\"{}\">", w.line)),
                "{name}: violation {}: witness line {} highlighted",
                i + 1,
                w.line
            );
        }
        assert!(svg.contains("What happened: "), "{name}: the sentence is under the picture");
    }
}

#[test]
fn every_bundled_scenario_and_corpus_history_draws() {
    for source in ordo::bundled::catalog(None).unwrap() {
        let jsonl = bundled_history(&source.stem);
        let loaded = trace::load_bytes(&jsonl, &source.stem).unwrap();
        check_svgs(&source.stem, &loaded, &nodes_of(&jsonl));
        let layout = diagram::layout(&loaded, &Selection::All).unwrap();
        let html = diagram::render(&layout, &loaded.history, Format::Html);
        assert_self_contained(&source.stem, &html);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/histories")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "jsonl")
                && !p.file_name().unwrap().to_string_lossy().starts_with("error_")
        })
        .collect();
    files.sort();
    for path in files {
        let jsonl = std::fs::read(&path).unwrap();
        let loaded = trace::load(&path).unwrap();
        check_svgs(&path.display().to_string(), &loaded, &nodes_of(&jsonl));
    }
}

fn assert_self_contained(name: &str, html: &str) {
    let without_ns = html.replace("http://www.w3.org/2000/svg", "");
    assert!(!without_ns.contains("http://") && !without_ns.contains("https://"), "{name}: nothing fetched");
    assert!(!html.contains("<script src") && !html.contains("<link"), "{name}: script and style inline");
    assert_eq!(html.matches("</script>").count(), 2, "{name}: the data and the viewer, nothing else");
}

#[test]
fn records_of_unknown_types_are_drawn_not_dropped() {
    // A future record type (issue 13 §1 adds some) with a node: drawn on its lane, in words.
    let with = concat!(
        "{\"format\":\"ordo-history\",\"version\":1,\"expect\":[\"per_key_order\"]}\n",
        "{\"type\":\"create\",\"t\":1000,\"node\":\"p0\",\"id\":1,\"entity\":\"a\",\"deps\":[]}\n",
        "{\"type\":\"follower_fetch\",\"t\":1500,\"node\":\"b1\",\"topic\":\"t\",\"partition\":0,\"offset\":3}\n",
        "{\"type\":\"end\",\"t\":2000,\"reason\":\"quiescent\"}\n"
    );
    // Today's checker refuses the unknown type; judge the history without it (no anomaly
    // either way) and read it with it, as a later checker that accepts it would.
    let without: String = with.lines().filter(|l| !l.contains("follower_fetch")).map(|l| format!("{l}\n")).collect();
    let report = ordo::checker::check_reader(without.as_bytes(), "future", None).unwrap();
    assert!(report.violations.is_empty());
    let loaded = trace::Loaded { history: trace::History::read(with.as_bytes(), "future").unwrap(), report };
    let story = loaded.select(&Selection::Node("b1".into())).unwrap();
    let out = trace::render(&loaded.history, &story);
    assert!(out.contains("b1  follower_fetch") && out.contains("offset=3"), "{out}");
    let layout = diagram::layout(&loaded, &Selection::All).unwrap();
    let svg = diagram::render(&layout, &loaded.history, Format::Svg);
    assert!(svg.contains("data-node=\"b1\"") && svg.contains(">follower fetch</text>"), "{svg}");
}

#[test]
fn the_cli_writes_svg_and_html_and_refuses_bad_input() {
    let history = scratch("q.jsonl");
    let html = scratch("q.html");
    let run = ordo(&["run", "quickstart", "--history", history.to_str().unwrap(), "--diagram", html.to_str().unwrap()]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_self_contained("run --diagram", &page);
    // The same page from the history file.
    let html2 = scratch("q2.html");
    let out = ordo(&["diagram", history.to_str().unwrap(), "-o", html2.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&html2).unwrap(), page, "ordo run --diagram and ordo diagram agree");
    let svg = scratch("q.svg");
    let out = ordo(&["diagram", history.to_str().unwrap(), "--violation", "1", "-o", svg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("class=\"rec witness\""));
    let h = history.to_str().unwrap();
    for (args, mention) in [
        (vec!["diagram", h, "-o", "x.png"], "expected a file name ending in .svg or .html"),
        (vec!["diagram", h, "-o", svg.to_str().unwrap(), "--violation", "999999"], "out of range"),
        (
            vec!["diagram", h, "-o", svg.to_str().unwrap(), "--node", "c0", "--entity", "order-1"],
            "give one selection, not 2",
        ),
        (vec!["diagram", "README.md", "-o", svg.to_str().unwrap()], "README.md:1: "),
        (vec!["diagram", h, "-o", "/nonexistent/dir/x.svg"], "cannot write"),
        (vec!["run", "quickstart", "--diagram", "x.pdf"], "--diagram"),
    ] {
        let out = ordo(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(mention), "{args:?}: expected {mention:?} in {err}");
    }
}

/// The README's picture is what `ordo diagram` draws today.
#[test]
fn the_readme_svg_is_what_ordo_draws() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let command = readme
        .lines()
        .find(|l| l.starts_with("$ ordo diagram run.jsonl --violation "))
        .expect("the README shows the diagram command");
    let n: usize = command.split_whitespace().nth(5).unwrap().parse().unwrap();
    let loaded = trace::load_bytes(&bundled_history("quickstart"), "run.jsonl").unwrap();
    let layout = diagram::layout(&loaded, &Selection::Violation(n)).unwrap();
    let svg = diagram::render(&layout, &loaded.history, Format::Svg);
    let committed = std::fs::read_to_string("docs/quickstart-reorder.svg").unwrap();
    assert!(
        committed == svg,
        "docs/quickstart-reorder.svg is stale: regenerate it with `ordo run quickstart --history run.jsonl && ordo diagram run.jsonl --violation {n} -o docs/quickstart-reorder.svg`"
    );
}

/// The HTML in a real headless Chromium (Debian's package), driven over the DevTools
/// protocol by tests/browser/drive.js (node, no npm package). `.ci/run` installs both and
/// sets ORDO_BROWSER_TESTS=required, so CI fails rather than skips when they are missing.
#[test]
fn the_html_works_in_headless_chromium() {
    let required = std::env::var("ORDO_BROWSER_TESTS").is_ok_and(|v| v == "required");
    let chromium = std::env::var("ORDO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let node_ok = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !Path::new(&chromium).exists() || !node_ok {
        let why = format!("the browser test needs {chromium} and node (apt-get install chromium nodejs)");
        assert!(!required, "ORDO_BROWSER_TESTS=required but {why}");
        eprintln!("SKIPPED: {why}");
        return;
    }
    let jsonl = bundled_history("quickstart");
    let history = scratch("browser.jsonl");
    std::fs::write(&history, &jsonl).unwrap();
    let page = scratch("quickstart.html");
    let out = ordo(&["diagram", history.to_str().unwrap(), "-o", page.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let loaded = trace::load(&history).unwrap();
    // The first per_key_reorder, the quickstart's lesson.
    let n = loaded.report.violations.iter().position(|v| v.kind == ordo::Kind::PerKeyReorder).unwrap() + 1;
    let witness: BTreeSet<u64> = loaded.report.violations[n - 1].witness.iter().map(|w| w.line).collect();
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from("target"));
    std::fs::create_dir_all(&target).unwrap();
    let shot = target.join("browser-quickstart.png");
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/drive.js");
    let out = Command::new("node")
        .arg(&driver)
        .arg(&page)
        .arg(&shot)
        .arg(n.to_string())
        .arg(&chromium)
        .output()
        .expect("node runs");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "the driver failed: {stdout}\n{}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["errors"], serde_json::json!([]), "console errors: {stdout}");
    let lanes: BTreeSet<String> =
        result["lanes"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(lanes, nodes_of(&jsonl), "one lane per node of the history");
    assert_eq!(result["records"], serde_json::json!(loaded.history.recs.len()));
    assert_eq!(result["active"], serde_json::json!([n]), "the clicked violation is the active one");
    assert_eq!(result["focus"], serde_json::json!(true), "the rest is faded");
    let highlighted: BTreeSet<u64> =
        result["highlighted"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(highlighted, witness, "exactly the witness lines are highlighted");
    assert!(result["story"].as_str().unwrap().contains("What happened: "));
    // With the whole history shown again (faded), the witness is still what is highlighted.
    let in_whole: BTreeSet<u64> =
        result["highlighted_in_whole"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(in_whole, witness, "{stdout}");
    let all = loaded.history.recs.len();
    assert_eq!(result["whole_count"], serde_json::json!(format!("{all} of {all} records")), "{stdout}");
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a screenshot at {}", shot.display());
    eprintln!("browser: page ready in {} ms; screenshot {}", result["load_ms"], shot.display());
}
