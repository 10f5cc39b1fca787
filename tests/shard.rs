//! `--shard I/N` and `ordo merge` end to end: shards run as separate processes merge into
//! exactly what one machine prints (sweep and matrix), partials stay small, and partials
//! that do not belong together exit 2 naming the file.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn ordo(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordo")).args(args).current_dir(dir).output().expect("the ordo binary runs")
}

fn spawn(dir: &Path, args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ordo binary starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ordo-shard-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the shards 0..n of `command` (without --shard/--out) at once, as separate
/// processes, and returns the partials' file names.
fn run_shards(dir: &Path, command: &[&str], n: u64, prefix: &str) -> Vec<String> {
    let children: Vec<(String, Child)> = (0..n)
        .map(|i| {
            let file = format!("{prefix}-{i}.json");
            let mut args: Vec<String> = command.iter().map(|s| s.to_string()).collect();
            args.extend([
                "--shard".into(),
                format!("{i}/{n}"),
                "--out".into(),
                file.clone(),
                "--threads".into(),
                "1".into(),
            ]);
            (file, spawn(dir, &args))
        })
        .collect();
    children
        .into_iter()
        .map(|(file, child)| {
            let output = child.wait_with_output().unwrap();
            assert_eq!(output.status.code(), Some(0), "{file}: {}", text(&output.stderr));
            assert!(text(&output.stdout).starts_with(&format!("wrote {file}: shard ")), "{}", text(&output.stdout));
            file
        })
        .collect()
}

/// The JSON without its `timing` object (the one part that differs between machines).
fn without_timing(json: &str) -> String {
    let mut value: serde_json::Value = serde_json::from_str(json).expect("JSON");
    value.as_object_mut().unwrap().remove("timing").expect("a timing object");
    serde_json::to_string_pretty(&value).unwrap()
}

/// The readable summary without its last line (`timing: …`).
fn without_timing_line(summary: &str) -> String {
    let lines: Vec<&str> = summary.lines().collect();
    assert!(lines.last().unwrap().starts_with("timing: "), "{summary}");
    lines[..lines.len() - 1].join("\n")
}

#[test]
fn four_sweep_shards_merge_into_what_one_sweep_prints() {
    let dir = scratch("sweep");
    // Failing seeds, several stop reasons and --set: everything the summary holds.
    let command = ["sweep", "quickstart", "--seeds", "3..61", "--strategy", "key", "--set", "network.loss_ppm=20000"];
    let files = run_shards(&dir, &command, 4, "part");
    let mut one = command.to_vec();
    one.push("--json");
    let single = ordo(&dir, &one);
    assert_eq!(single.status.code(), Some(0));
    // Any order of the files gives the same merge.
    let mut args = vec!["merge", "--json"];
    args.extend(files.iter().rev().map(String::as_str));
    let merged = ordo(&dir, &args);
    assert_eq!(merged.status.code(), Some(0), "{}", text(&merged.stderr));
    let (merged_json, single_json) = (text(&merged.stdout), text(&single.stdout));
    assert!(
        single_json.contains("\"failing_seeds\": ") && !single_json.contains("\"failing_seeds\": 0,"),
        "the sweep must fail somewhere to test failing seeds"
    );
    assert_eq!(without_timing(&merged_json), without_timing(&single_json));
    let timing: serde_json::Value = serde_json::from_str(&merged_json).unwrap();
    assert_eq!(timing["timing"]["threads"], 4, "a merge adds up the shards' threads");
    // The readable summary too, with the same --show-failing.
    let mut args = vec!["merge", "--show-failing", "5"];
    args.extend(files.iter().map(String::as_str));
    let merged = ordo(&dir, &args);
    let mut one = command.to_vec();
    one.extend(["--show-failing", "5"]);
    let single = ordo(&dir, &one);
    assert_eq!(without_timing_line(&text(&merged.stdout)), without_timing_line(&text(&single.stdout)));
    // --fail-on-violation means the same after a merge.
    let mut args = vec!["merge", "--fail-on-violation"];
    args.extend(files.iter().map(String::as_str));
    assert_eq!(ordo(&dir, &args).status.code(), Some(1));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn more_shards_than_seeds_still_merge() {
    let dir = scratch("empty");
    let command = ["sweep", "retries-zero", "--seeds", "5..7"];
    let files = run_shards(&dir, &command, 5, "p");
    let mut args = vec!["merge", "--json"];
    args.extend(files.iter().map(String::as_str));
    let merged = ordo(&dir, &args);
    let mut one = command.to_vec();
    one.push("--json");
    assert_eq!(without_timing(&text(&merged.stdout)), without_timing(&text(&ordo(&dir, &one).stdout)));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn matrix_shards_merge_into_the_same_report_files() {
    let dir = scratch("matrix");
    let scenarios = dir.join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["quickstart", "zombie-consumer"] {
        std::fs::copy(root.join(format!("scenarios/{name}.toml")), scenarios.join(format!("{name}.toml"))).unwrap();
    }
    let command = ["matrix", "--scenarios", "scenarios", "--seeds", "1..5"];
    let files = run_shards(&dir, &command, 4, "m");
    let mut args = vec!["merge", "--out", "merged", "--html", "merged/matrix.html"];
    args.extend(files.iter().map(String::as_str));
    let merged = ordo(&dir, &args);
    assert_eq!(merged.status.code(), Some(0), "{}", text(&merged.stderr));
    let mut one = command.to_vec();
    one.extend(["--out", "single", "--html", "single/matrix.html"]);
    assert_eq!(ordo(&dir, &one).status.code(), Some(0));
    let mut names: Vec<String> = std::fs::read_dir(dir.join("single"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 6 && names.contains(&"matrix.html".to_string()), "{names:?}");
    for name in &names {
        let (a, b) = (std::fs::read(dir.join("merged").join(name)), std::fs::read(dir.join("single").join(name)));
        assert!(a.unwrap() == b.unwrap(), "{name} differs between the merge and one matrix");
    }
    // The table on stdout and --json as well (the matrix has no timing).
    let mut args = vec!["merge"];
    args.extend(files.iter().map(String::as_str));
    assert_eq!(text(&ordo(&dir, &args).stdout), text(&ordo(&dir, &command).stdout));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn explore_shards_merge_into_the_same_table_json_and_chart() {
    let dir = scratch("explore");
    let command = [
        "explore",
        "quickstart",
        "--vary",
        "producer.max_in_flight=1,5",
        "--strategy",
        "key,idempotent",
        "--seeds",
        "1..7",
    ];
    let files = run_shards(&dir, &command, 3, "e");
    let merge = |extra: &[&str]| {
        let mut args = vec!["merge"];
        args.extend(files.iter().map(String::as_str));
        args.extend_from_slice(extra);
        let output = ordo(&dir, &args);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let single = |extra: &[&str]| {
        let mut args = command.to_vec();
        args.extend_from_slice(extra);
        text(&ordo(&dir, &args).stdout)
    };
    // The grid's outputs hold no timing: the same bytes.
    assert_eq!(merge(&["--json"]), single(&["--json"]));
    assert_eq!(merge(&[]), single(&[]));
    merge(&["--chart", "merged.svg"]);
    single(&["--chart", "single.svg"]);
    assert!(std::fs::read(dir.join("merged.svg")).unwrap() == std::fs::read(dir.join("single.svg")).unwrap());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn partials_are_a_summary_not_histories() {
    let dir = scratch("size");
    let files = run_shards(&dir, &["sweep", "swarm", "--seeds", "1..400"], 2, "s");
    let bytes: u64 = files.iter().map(|f| std::fs::metadata(dir.join(f)).unwrap().len()).sum();
    // docs/scale-out.md gives the measured size; a history of one swarm run alone is
    // hundreds of kilobytes.
    assert!(bytes < 400 * 1024, "400 seeds took {bytes} bytes of partials");
    std::fs::remove_dir_all(&dir).ok();
}

/// Rewrites a partial's JSON with `change` and saves it as `name`.
fn tampered(dir: &Path, from: &str, name: &str, change: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut value: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join(from)).unwrap()).unwrap();
    change(&mut value);
    std::fs::write(dir.join(name), serde_json::to_string(&value).unwrap()).unwrap();
    name.to_string()
}

#[test]
fn partials_that_do_not_belong_together_exit_2_naming_the_file() {
    let dir = scratch("bad");
    let parts = run_shards(&dir, &["sweep", "quickstart", "--seeds", "1..9"], 3, "q");
    let other =
        run_shards(&dir, &["sweep", "quickstart", "--seeds", "1..9", "--set", "network.loss_ppm=100000"], 3, "o");
    let another = run_shards(&dir, &["sweep", "retries-zero", "--seeds", "1..9"], 3, "r");
    let scenarios = dir.join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("scenarios/retries-zero.toml"), scenarios.join("retries-zero.toml")).unwrap();
    let matrix = run_shards(&dir, &["matrix", "--scenarios", "scenarios", "--seeds", "1..9"], 3, "m");
    std::fs::write(dir.join("garbage.json"), "not json at all").unwrap();
    std::fs::write(dir.join("empty.json"), "").unwrap();
    let full = std::fs::read_to_string(dir.join(&parts[2])).unwrap();
    std::fs::write(dir.join("truncated.json"), &full[..full.len() / 2]).unwrap();
    let version = tampered(&dir, &parts[2], "version.json", |v| v["ordo_version"] = "0.0.1".into());
    let format = tampered(&dir, &parts[2], "format.json", |v| v["ordo_partial"] = 99.into());
    let runs =
        tampered(&dir, &parts[2], "runs.json", |v| v["work"]["sweep"]["counts"]["stop_reasons"]["done"] = 1000.into());
    let kind = tampered(&dir, &parts[2], "kind.json", |v| {
        let violated = v["work"]["sweep"]["counts"]["violated"].as_object_mut().unwrap();
        let tally = violated.values().next().cloned().expect("quickstart violates something");
        violated.insert("no_such_kind".into(), tally);
    });
    let shard_count = tampered(&dir, &parts[2], "count.json", |v| v["shard"]["count"] = 4.into());
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec![&parts[0], &parts[1]], "missing shard 2/3", ""),
        (vec![&parts[0], &parts[1], &parts[1], &parts[2]], "both shard 1/3", &parts[1]),
        (vec![&parts[0], &parts[1], &other[2]], "part of another sweep", &other[2]),
        (vec![&parts[0], &parts[1], &another[2]], "part of another sweep", &another[2]),
        (vec![&parts[0], &parts[1], &matrix[2]], "is a matrix's partial but", &matrix[2]),
        (vec![&parts[0], &parts[1], "garbage.json"], "not an ordo partial", "garbage.json"),
        (vec![&parts[0], &parts[1], "empty.json"], "not an ordo partial", "empty.json"),
        (vec![&parts[0], &parts[1], "truncated.json"], "not an ordo partial", "truncated.json"),
        (vec![&parts[0], &parts[1], "missing.json"], "cannot read it", "missing.json"),
        (vec![&parts[0], &parts[1], &version], "written by ordo 0.0.1", &version),
        (vec![&parts[0], &parts[1], &format], "partial format 99", &format),
        (vec![&parts[0], &parts[1], &runs], "its stop reasons count", &runs),
        (vec![&parts[0], &parts[1], &kind], "unknown anomaly kind \"no_such_kind\"", &kind),
        (vec![&parts[0], &parts[1], &shard_count], "same N", &shard_count),
    ];
    for (files, expected, file) in cases {
        let mut args = vec!["merge"];
        args.extend(files.iter().copied());
        let output = ordo(&dir, &args);
        let error = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{files:?}: {error}");
        assert!(error.contains(expected) && error.contains(file), "{files:?}: {error}");
        assert!(!error.contains("panicked"), "{error}");
    }
    // Bad --shard values and flags that make no sense with it.
    for (args, expected) in [
        (vec!["sweep", "quickstart", "--shard", "3/3", "--out", "x.json"], "does not exist"),
        (vec!["sweep", "quickstart", "--shard", "a/3", "--out", "x.json"], "not a whole number"),
        (vec!["sweep", "quickstart", "--shard", "0/0", "--out", "x.json"], "0 shards"),
        (vec!["sweep", "quickstart", "--shard", "0/2"], "--out"),
        (vec!["sweep", "quickstart", "--shard", "0/2", "--out", "x.json", "--json"], "cannot be used"),
        (vec!["matrix", "--shard", "0/2"], "--out"),
        (vec!["merge"], "PARTIALS"),
        (vec!["merge", &parts[0], &parts[1], &parts[2], "--out", "dir"], "--out is for matrix partials"),
        (vec!["merge", &parts[0], &parts[1], &parts[2], "--chart", "c.svg"], "--chart is for explore partials"),
        (vec!["merge", &parts[0], &parts[1], &parts[2], "--html", "m.html"], "--html is for matrix partials"),
        (vec!["explore", "quickstart", "--vary", "producer.max_in_flight=1,2", "--shard", "0/2"], "--out"),
    ] {
        let output = ordo(&dir, &args);
        let error = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {error}");
        assert!(error.contains(expected), "{args:?}: {error}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
