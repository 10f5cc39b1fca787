//! `ordo run` end to end: determinism, the summary's shape, and bad input (exit 2, an error
//! naming the file and field, never a panic).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

fn ordo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordo")).args(args).output().expect("the ordo binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json_run(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["run", "scenarios/quickstart.toml", "--json"];
    all.extend_from_slice(args);
    let output = ordo(&all);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON object")
}

/// A scratch file unique to this test process.
fn scratch(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ordo-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn same_seed_same_history_different_seed_different_history() {
    let first = json_run(&[]);
    let again = json_run(&[]);
    let other = json_run(&["--seed", "2"]);
    let hash = |v: &serde_json::Value| v["history_sha256"].as_str().unwrap().to_string();
    assert_eq!(hash(&first).len(), 64);
    assert_eq!(hash(&first), hash(&again));
    assert_ne!(hash(&first), hash(&other));
    for key in [
        "scenario",
        "strategy",
        "seed",
        "events",
        "sim_time_ms",
        "wall_ms",
        "events_per_sec",
        "history_sha256",
        "violations",
    ] {
        assert!(first.get(key).is_some(), "--json lacks {key}");
    }
    assert!(first["violations"].is_object());
    assert_eq!(first["seed"], 3, "the quickstart names its seed");
    assert_eq!(other["seed"], 2);
}

#[test]
fn the_fingerprint_is_the_sha256_of_the_history_file() {
    let path = scratch("quickstart.jsonl", "");
    let summary = json_run(&["--history", path.to_str().unwrap()]);
    let bytes = std::fs::read(&path).unwrap();
    let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(summary["history_sha256"], digest);
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(first_line).unwrap();
    assert_eq!(header["format"], "ordo-history");
    assert_eq!(header["version"], 2);
}

#[test]
fn histories_do_not_depend_on_threads() {
    // The same runs on four threads at once give the hashes they give alone.
    let alone: Vec<String> =
        (1..=4).map(|seed| json_run(&["--seed", &seed.to_string()])["history_sha256"].to_string()).collect();
    let threads: Vec<_> = (1..=4u64)
        .map(|seed| std::thread::spawn(move || json_run(&["--seed", &seed.to_string()])["history_sha256"].to_string()))
        .collect();
    let together: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(alone, together);
}

#[test]
fn the_quickstart_shows_a_retry_reorder_and_duplicates() {
    let summary = json_run(&[]);
    let workload = &summary["workload"];
    assert!(workload["out_of_order_appends"].as_u64().unwrap() > 0, "{summary}");
    assert!(workload["duplicate_deliveries"].as_u64().unwrap() > 0, "{summary}");
    // …and the fixes fix it.
    let single = json_run(&["--strategy", "key+single-inflight"]);
    assert_eq!(single["workload"]["out_of_order_appends"], 0);
    let idempotent = json_run(&["--strategy", "key+idempotent"]);
    assert_eq!(idempotent["workload"]["out_of_order_appends"], 0);
    assert_eq!(idempotent["workload"]["duplicate_deliveries"], 0);
}

#[test]
fn text_summary_starts_with_the_seed_and_ends_with_the_reproduce_line() {
    let output = ordo(&["run", "scenarios/quickstart.toml", "--seed", "7"]);
    assert!(output.status.success());
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "seed 7 (--seed)");
    assert_eq!(*lines.last().unwrap(), "reproduce: ordo run scenarios/quickstart.toml --seed 7 --strategy key");
    assert!(text.contains("fingerprint sha256 "));
    assert!(text.contains("events/s"));
}

fn assert_bad_input(args: &[&str], mentions: &[&str]) {
    let output = ordo(args);
    let error = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {error}");
    assert!(!error.contains("panicked"), "{error}");
    for needle in mentions {
        assert!(error.contains(needle), "{args:?}: {error:?} does not mention {needle:?}");
    }
}

#[test]
fn bad_scenarios_are_clear_errors_with_exit_code_2() {
    let malformed = scratch("malformed.toml", "[producer\nacks = 1\n");
    assert_bad_input(&["run", malformed.to_str().unwrap()], &["malformed.toml", "line 1"]);
    let unknown = scratch("unknown.toml", "[producer]\nmax_inflight = 2\n");
    assert_bad_input(&["run", unknown.to_str().unwrap()], &["unknown.toml", "line 2", "max_inflight", "max_in_flight"]);
    let bad_value = scratch("bad_value.toml", "[topology]\npartitions = 0\n");
    assert_bad_input(&["run", bad_value.to_str().unwrap()], &["bad_value.toml", "topology.partitions", "expected"]);
    let bad_strategy = scratch("bad_strategy.toml", "strategy = \"fifo-magic\"\n");
    assert_bad_input(
        &["run", bad_strategy.to_str().unwrap()],
        &["bad_strategy.toml", "`strategy`", "fifo-magic", "idempotent"],
    );
    let bad_queue = scratch("bad_queue.toml", "[queue]\nprefetch = 0\n");
    assert_bad_input(&["run", bad_queue.to_str().unwrap()], &["bad_queue.toml", "queue.prefetch", "expected"]);
    let log_setting = scratch("queue_commit.toml", "[queue]\n[consumer]\ncommit = \"after\"\n");
    assert_bad_input(&["run", log_setting.to_str().unwrap()], &["queue_commit.toml", "consumer.commit", "queue.ack"]);
    assert_bad_input(&["run", "scenarios/does-not-exist.toml"], &["does-not-exist.toml", "cannot read"]);
    assert_bad_input(&["run", "scenarios/quickstart.toml", "--strategy", "key+nope"], &["--strategy", "\"nope\""]);
    assert_bad_input(&["run", "scenarios/quickstart.toml", "--seed", "minus-one"], &["--seed"]);
    assert_bad_input(
        &["run", "scenarios/quickstart.toml", "--history", "/no/such/dir/h.jsonl"],
        &["/no/such/dir/h.jsonl"],
    );
}

#[test]
fn every_bundled_scenario_parses() {
    for entry in std::fs::read_dir(Path::new("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            ordo::scenario::Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

#[test]
fn run_fills_violations_from_the_checker() {
    let quickstart = json_run(&[]);
    let violations = quickstart["violations"].as_object().unwrap();
    assert!(violations.contains_key("per_key_reorder"), "{violations:?}");
    assert!(violations.contains_key("duplicate_apply"), "{violations:?}");
    assert_eq!(quickstart["verdict"], "violated");
    let idempotent = json_run(&["--strategy", "key+idempotent"]);
    assert_eq!(idempotent["violations"], serde_json::json!({}));
    assert_eq!(idempotent["verdict"], "ok");
    let text = stdout(&ordo(&["run", "scenarios/quickstart.toml"]));
    assert!(text.contains("checker: VIOLATED (per_key_order, exactly_once): "), "{text}");
}

#[test]
fn check_exits_0_1_2_and_names_the_line_of_bad_input() {
    let violating = scratch("violating.jsonl", "");
    assert!(ordo(&["run", "scenarios/quickstart.toml", "--history", violating.to_str().unwrap()]).status.success());
    let output = ordo(&["check", violating.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = stdout(&output);
    assert!(report.contains("VIOLATED") && report.contains("per_key_reorder"), "{report}");
    // Judged only against per-key order: still violated; against no-loss only: nothing was lost.
    assert_eq!(ordo(&["check", violating.to_str().unwrap(), "--expect", "per_key_order"]).status.code(), Some(1));
    assert_eq!(ordo(&["check", violating.to_str().unwrap(), "--expect", "no_loss"]).status.code(), Some(0));
    let json = ordo(&["check", violating.to_str().unwrap(), "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["verdict"], "violated");

    let clean = scratch("clean.jsonl", "");
    assert!(ordo(&["run", "scenarios/idempotent-producer.toml", "--history", clean.to_str().unwrap()])
        .status
        .success());
    assert_eq!(ordo(&["check", clean.to_str().unwrap()]).status.code(), Some(0));

    // A truncated last line, an unknown record type, a bad --expect: exit 2, line named.
    let text = std::fs::read_to_string(&clean).unwrap();
    let truncated = scratch("truncated.jsonl", &text[..text.len() - 20]);
    let lines = text.lines().count();
    assert_bad_input(&["check", truncated.to_str().unwrap()], &[&format!("truncated.jsonl:{lines}")]);
    let unknown = scratch("unknown.jsonl", &text.replacen("\"type\":\"send\"", "\"type\":\"sned\"", 1));
    assert_bad_input(&["check", unknown.to_str().unwrap()], &["unknown.jsonl:", "\"sned\""]);
    assert_bad_input(&["check", clean.to_str().unwrap(), "--expect", "total_order"], &["--expect", "total_order"]);
    assert_bad_input(&["check", "no/such/history.jsonl"], &["no/such/history.jsonl"]);
}

#[test]
fn set_overrides_scenario_fields_and_is_repeated_in_the_reproduce_line() {
    let base = json_run(&["--strategy", "key+lamport"]);
    let wide = json_run(&["--strategy", "key+lamport", "--set", "consumer.clock_window_ms=400"]);
    assert_ne!(base["history_sha256"], wide["history_sha256"], "the window changed the run");
    assert!(
        wide["reproduce"].as_str().unwrap().ends_with("--strategy key+lamport --set consumer.clock_window_ms=400"),
        "{}",
        wide["reproduce"]
    );
    // The same override in the file gives the same history.
    let text = std::fs::read_to_string("scenarios/quickstart.toml").unwrap();
    let in_file = scratch("window.toml", &format!("{text}\n[consumer]\nclock_window_ms = 400\n"));
    let output = ordo(&["run", in_file.to_str().unwrap(), "--json", "--strategy", "key+lamport"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let from_file: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(from_file["history_sha256"], wide["history_sha256"]);
    // A quoted string and a bare word both work for text values.
    let acks = json_run(&["--set", "producer.idempotence=false", "--set", "producer.acks=\"1\""]);
    assert!(acks["reproduce"]
        .as_str()
        .unwrap()
        .ends_with("--set producer.idempotence=false --set 'producer.acks=\"1\"'"));
    let bare = json_run(&["--set", "producer.idempotence=false", "--set", "producer.acks=1"]);
    assert_eq!(acks["history_sha256"], bare["history_sha256"], "acks = \"1\" and acks = 1 are the same setting");
}

#[test]
fn bad_overrides_are_clear_errors_with_exit_code_2() {
    let q = "scenarios/quickstart.toml";
    assert_bad_input(&["run", q, "--set", "consumer.no_such_field=1"], &["--set", "no_such_field"]);
    assert_bad_input(&["run", q, "--set", "consumer.clock_window_ms=-5"], &["--set"]);
    assert_bad_input(&["run", q, "--set", "topology.partitions=0"], &["--set", "topology.partitions", "expected"]);
    assert_bad_input(&["run", q, "--set", "no-equals-sign"], &["--set", "FIELD=VALUE"]);
    assert_bad_input(&["run", q, "--set", "seed.x=1"], &["--set", "`seed` is not a table"]);
    assert_bad_input(&["sweep", q, "--seeds", "2", "--set", "consumer.nope=1"], &["--set", "nope"]);
}

#[test]
fn set_type_errors_name_the_field_in_words_and_cut_long_values() {
    let q = "scenarios/quickstart.toml";
    let error = |args: &[&str]| {
        let output = ordo(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        stderr(&output)
    };
    let abc = error(&["run", q, "--set", "consumer.clock_window_ms=abc"]);
    assert!(abc.contains("--set consumer.clock_window_ms=abc") && abc.contains("a whole number"), "{abc}");
    assert!(!abc.contains("u64"), "no Rust type names: {abc}");
    let table = error(&["run", q, "--set", "topology=5"]);
    assert!(table.contains("--set topology=5") && table.contains("a table of settings"), "{table}");
    assert!(!table.contains("Raw") && !table.contains("struct"), "no serde internals: {table}");
    let huge = "x".repeat(100_000); // one argument holds at most 128 KiB on Linux
    for assignment in [format!("producer.acks={huge}"), format!("name={huge}"), format!("consumer.{huge}=1")] {
        let long = error(&["run", q, "--set", &assignment]);
        assert!(long.len() < 2000, "a 100 kB value is cut: {} bytes on stderr", long.len());
        assert!(long.contains("bytes in all"), "{long}");
    }
    let missing = error(&["check", "no/such/history.jsonl"]);
    assert!(missing.contains("no/such/history.jsonl: cannot read"), "{missing}");
    assert!(!missing.contains(":0:"), "no line 0 for a file that cannot be opened: {missing}");
}

#[test]
fn two_strategies_setting_one_thing_are_refused_and_list_says_the_rule() {
    for spec in ["lamport+vector-clock+reorder-buffer", "idempotent+expected-version", "key+unkeyed", "key+key"] {
        assert_bad_input(&["run", "scenarios/quickstart.toml", "--strategy", spec], &["--strategy", spec]);
    }
    assert_bad_input(
        &["run", "scenarios/quickstart.toml", "--strategy", "lamport+vector-clock"],
        &["producer.clock = lamport", "producer.clock = vector"],
    );
    // Sets whose members touch different settings, or cap the same number, run.
    let fine = json_run(&["--strategy", "unkeyed+single-inflight+idempotent+idempotent-consumer"]);
    assert_eq!(fine["strategy"], "unkeyed+single-inflight+idempotent+idempotent-consumer");
    let list = stdout(&ordo(&["list"]));
    assert!(
        list.contains("producer: producer.clock = lamport") || list.contains("consumer.policy = clock-ordered"),
        "{list}"
    );
    assert!(list.contains("compose unless two set one setting to different values"), "{list}");
    let help = stdout(&ordo(&["--help"]));
    assert!(help.contains("compose when no two set the") && help.contains("cargo install --path ."), "{help}");
}

#[test]
fn bundled_scenarios_run_from_any_directory_with_the_repository_history() {
    let elsewhere = std::env::temp_dir().join(format!("ordo-elsewhere-{}", std::process::id()));
    std::fs::create_dir_all(&elsewhere).unwrap();
    let in_dir = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_ordo"))
            .args(args)
            .current_dir(&elsewhere)
            .env_remove("ORDO_SCENARIOS")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        stdout(&output)
    };
    let here = json_run(&[])["history_sha256"].clone();
    for name in ["quickstart", "scenarios/quickstart.toml"] {
        let value: serde_json::Value = serde_json::from_str(&in_dir(&["run", name, "--json"])).unwrap();
        assert_eq!(value["history_sha256"], here, "{name} from {}", elsewhere.display());
        assert!(value["reproduce"].as_str().unwrap().starts_with("ordo run scenarios/quickstart.toml "));
    }
    let list = in_dir(&["list"]);
    let files = std::fs::read_dir("scenarios")
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "toml"))
        .count();
    let listed: serde_json::Value = serde_json::from_str(&in_dir(&["list", "--json"])).unwrap();
    assert_eq!(listed["scenarios"].as_array().unwrap().len(), files, "every scenarios/*.toml is bundled");
    assert!(list.contains("quickstart"));
    assert!(in_dir(&["explain", "commit-before-crash"]).contains("Run it: ordo run scenarios/commit-before-crash.toml"));
    assert!(in_dir(&["sweep", "quickstart", "--seeds", "2", "--json"]).contains("\"scenario\": \"quickstart\""));
    // A folder of one's own: --scenarios DIR or ORDO_SCENARIOS.
    let own = elsewhere.join("mine");
    std::fs::create_dir_all(&own).unwrap();
    std::fs::write(own.join("tiny.toml"), "name = \"tiny\"\nsummary = \"mine\"\n[workload]\nentities = 2\n").unwrap();
    assert!(in_dir(&["list", "--scenarios", own.to_str().unwrap()]).contains("tiny"));
    let output = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(["run", "tiny", "--json"])
        .current_dir(&elsewhere)
        .env("ORDO_SCENARIOS", &own)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_bad_input(&["run", "no-such-scenario"], &["no-such-scenario", "bundled"]);
}

#[test]
fn matrix_writes_nothing_without_out() {
    let dir = std::env::temp_dir().join(format!("ordo-matrix-default-{}", std::process::id()));
    let own = dir.join("scenarios");
    std::fs::create_dir_all(&own).unwrap();
    std::fs::copy("scenarios/quickstart.toml", own.join("quickstart.toml")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(["matrix", "--seeds", "1", "--threads", "1", "--scenarios", "scenarios"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("# The trade-off matrix"), "the table goes to stdout");
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries, vec![std::ffi::OsString::from("scenarios")], "nothing written without --out");
    assert!(!dir.join("reports").exists());
}

#[test]
fn run_summary_explains_its_counts() {
    let text = stdout(&ordo(&["run", "scenarios/quickstart.toml"]));
    assert!(text.contains("stopped: everything produced was consumed and committed\n"), "{text}");
    assert!(!text.contains("on a queue"), "{text}");
    assert!(text.contains("counted per append, retried copies included; the checker's per_key_reorder"), "{text}");
    let queue = stdout(&ordo(&["run", "scenarios/queue-single-consumer.toml"]));
    assert!(queue.contains("stopped: every message was settled"), "{queue}");
}

/// The documented fields of one section of docs/json.md: the first column of its table.
fn documented_fields(section: &str) -> Vec<String> {
    let docs = std::fs::read_to_string("docs/json.md").unwrap();
    let start =
        docs.find(&format!("## `{section}`")).unwrap_or_else(|| panic!("docs/json.md has no {section} section"));
    let body = &docs[start..];
    let body = &body[3..body[3..].find("\n## ").map_or(body.len(), |i| i + 3)];
    body.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|line| line.split_once('`').map(|(field, _)| field.to_string()))
        .collect()
}

/// The paths of `value` as docs/json.md writes them: descends into an object or a list only
/// where the docs list fields under it, and into a map's keys where they write `.UPPER`.
fn printed_fields(
    value: &serde_json::Value,
    prefix: &str,
    docs: &[String],
    out: &mut std::collections::BTreeSet<String>,
) {
    let under =
        |path: &str| docs.iter().any(|d| d.starts_with(&format!("{path}.")) || d.starts_with(&format!("{path}[].")));
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                let placeholder = docs.iter().find_map(|d| {
                    let rest = d.strip_prefix(prefix)?.split(['.', '[']).next()?;
                    (rest.chars().all(|c| c.is_ascii_uppercase()) && !rest.is_empty()).then(|| rest.to_string())
                });
                let path = format!("{prefix}{}", placeholder.unwrap_or_else(|| key.clone()));
                if under(&path) {
                    printed_fields(child, &format!("{path}."), docs, out);
                } else {
                    out.insert(path);
                }
            }
        }
        serde_json::Value::Array(items) => {
            let path = prefix.trim_end_matches('.');
            for item in items {
                printed_fields(item, &format!("{path}[]."), docs, out);
            }
        }
        _ => {
            out.insert(prefix.trim_end_matches('.').to_string());
        }
    }
}

fn assert_documented(section: &str, value: &serde_json::Value) {
    assert_eq!(value["schema_version"], 1, "{section}");
    let docs = documented_fields(section);
    let mut printed = std::collections::BTreeSet::new();
    printed_fields(value, "", &docs, &mut printed);
    let documented: std::collections::BTreeSet<String> = docs.iter().cloned().collect();
    let undocumented: Vec<&String> = printed.difference(&documented).collect();
    assert!(undocumented.is_empty(), "{section} prints fields docs/json.md does not list: {undocumented:?}");
    // Every documented field is printed, unless it lies under a map key (KIND…) or a list
    // that this output leaves empty, or under a null.
    for field in &docs {
        let mut node = Some(value);
        let mut reachable = true;
        for part in field.split('.') {
            let (name, list) = part.strip_suffix("[]").map_or((part, false), |name| (name, true));
            if name.chars().all(|c| c.is_ascii_uppercase()) {
                reachable = false;
                break;
            }
            node = node.and_then(|n| n.get(name));
            match node {
                Some(serde_json::Value::Null) if field.split('.').count() > 1 => reachable = false,
                Some(serde_json::Value::Array(items)) if list => match items.first() {
                    Some(first) => node = Some(first),
                    None => reachable = false,
                },
                _ => {}
            }
            if node.is_none() || !reachable {
                break;
            }
        }
        if reachable {
            assert!(node.is_some(), "{section}: docs/json.md lists {field}, which is not printed");
        }
    }
}

#[test]
fn json_fields_match_docs_json_md() {
    let run = json_run(&[]);
    assert_documented("ordo run --json", &run);
    assert_documented("ordo run --json", &json_run(&["--no-history"]));
    let swarm = ordo(&["run", "scenarios/swarm.toml", "--json"]);
    assert_documented("ordo run --json", &serde_json::from_slice(&swarm.stdout).unwrap());

    let history = scratch("documented.jsonl", "");
    assert!(ordo(&["run", "scenarios/quickstart.toml", "--history", history.to_str().unwrap()]).status.success());
    let check: serde_json::Value =
        serde_json::from_slice(&ordo(&["check", history.to_str().unwrap(), "--json"]).stdout).unwrap();
    assert_documented("ordo check --json", &check);
    // The vocabulary the commands share.
    assert_eq!(check["seed"], run["seed"], "the seed is a number in both");
    assert_eq!(check["violations"], run["violations"], "violations: the same counts map");
    assert_eq!(check["verdict"], run["verdict"]);
    assert_eq!(check["expect"], run["expect"]);

    let sweep: serde_json::Value = serde_json::from_slice(
        &ordo(&["sweep", "scenarios/quickstart.toml", "--seeds", "3", "--threads", "1", "--json"]).stdout,
    )
    .unwrap();
    assert_documented("ordo sweep --json", &sweep);
    let shrunk_dir = std::env::temp_dir().join(format!("ordo-json-shrunk-{}", std::process::id()));
    let sweep: serde_json::Value = serde_json::from_slice(
        &ordo(&[
            "sweep",
            "scenarios/quickstart.toml",
            "--seeds",
            "3",
            "--threads",
            "1",
            "--json",
            "--shrink",
            "1",
            "--shrink-out",
            shrunk_dir.to_str().unwrap(),
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(sweep["shrunk"].as_array().map(Vec::len), Some(1));
    assert_documented("ordo sweep --json", &sweep);
    assert_documented("ordo shrink --json", &sweep["shrunk"][0]);
    let _ = std::fs::remove_dir_all(&shrunk_dir);
    let shrink: serde_json::Value = serde_json::from_slice(
        &ordo(&["shrink", "scenarios/swarm.toml", "--seed", "28", "--strategy", "lww", "--json"]).stdout,
    )
    .unwrap();
    assert_documented("ordo shrink --json", &shrink);
    let list: serde_json::Value = serde_json::from_slice(&ordo(&["list", "--json"]).stdout).unwrap();
    assert_documented("ordo list --json", &list);

    let dir = std::env::temp_dir().join(format!("ordo-json-matrix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy("scenarios/quickstart.toml", dir.join("quickstart.toml")).unwrap();
    let out = dir.join("out");
    let output = ordo(&[
        "matrix",
        "--seeds",
        "1",
        "--threads",
        "1",
        "--scenarios",
        dir.to_str().unwrap(),
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_documented("ordo matrix --json", &printed);
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("matrix.json")).unwrap()).unwrap();
    assert_eq!(printed, file, "--json prints what matrix.json holds");
}

#[test]
fn check_summary_is_one_line_per_kind_with_an_example() {
    let history = scratch("summary.jsonl", "");
    assert!(ordo(&["run", "scenarios/quickstart.toml", "--seed", "1", "--history", history.to_str().unwrap()])
        .status
        .success());
    let full = ordo(&["check", history.to_str().unwrap(), "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&full.stdout).unwrap();
    let output = ordo(&["check", history.to_str().unwrap(), "--summary"]);
    assert_eq!(output.status.code(), Some(1), "a violated history still exits 1");
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("VIOLATED"), "{text}");
    // One line per kind the full report counts, violated and allowed, each with an example.
    let kinds: Vec<&String> =
        report["violations"].as_object().unwrap().keys().chain(report["allowed"].as_object().unwrap().keys()).collect();
    for kind in &kinds {
        let line = lines
            .iter()
            .find(|l| l.trim_start().starts_with(&format!("{kind} ")))
            .unwrap_or_else(|| panic!("{kind}: {text}"));
        assert!(line.contains("e.g. #") && line.contains("(lines "), "{line}");
    }
    assert_eq!(lines.len(), 1 + kinds.len() + 1, "{text}");
    // Not with --json or --explain.
    assert_eq!(ordo(&["check", history.to_str().unwrap(), "--summary", "--json"]).status.code(), Some(2));
}
