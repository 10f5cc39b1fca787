//! Issue 13 §1: what happened is in the history. Each record type that format version 2
//! added appears when its cause happens, with the right fields; the checker accepts it,
//! refuses it in a version-1 history, and refuses bad fields naming the line.

use std::path::Path;

use ordo::history::HistoryMode;
use ordo::run::{run, RunSpec};
use ordo::scenario::Scenario;
use ordo::strategy::StrategySet;
use serde_json::Value;

const MS: u64 = 1_000_000;

fn records(scenario: Scenario, seed: u64) -> Vec<Value> {
    let strategy = StrategySet::parse(&scenario.strategy).expect("known strategy");
    let spec = RunSpec {
        scenario,
        scenario_path: Path::new("test.toml"),
        strategy,
        seed,
        history_mode: HistoryMode::On,
        history_file: None,
        keep_history: true,
    };
    let jsonl = run(spec).expect("the run finishes").history.jsonl.expect("kept");
    let report = ordo::checker::check_reader(jsonl.as_slice(), "history", None);
    assert!(report.is_ok(), "the checker accepts ordo's own history: {:?}", report.err());
    jsonl.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect()
}

fn of_type<'a>(recs: &'a [Value], ty: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["type"] == ty).collect()
}

#[test]
fn the_header_says_version_2() {
    let recs = records(Scenario::load(Path::new("scenarios/quickstart.toml")).unwrap(), 1);
    assert_eq!(recs[0]["version"], 2);
}

#[test]
fn a_link_fault_is_recorded_when_it_takes_effect_and_when_it_ends() {
    let text = r#"
        [topology]
        partitions = 1
        [workload]
        entities = 2
        events_per_entity = 3
        [network]
        latency_min_us = 500
        latency_max_us = 1500
        [[fault]]
        at_ms = 5
        kind = "link"
        from = "p0"
        to = "b0"
        latency_min_us = 2000
        latency_max_us = 3000
        loss_ppm = 50000
        duplicate_ppm = 1000
        [[fault]]
        at_ms = 40
        kind = "link"
        from = "p0"
        to = "b0"
    "#;
    let recs = records(Scenario::parse(text, "link", "link").unwrap(), 1);
    let links = of_type(&recs, "link");
    assert_eq!(links.len(), 2, "{links:?}");
    let (start, end) = (links[0], links[1]);
    assert_eq!(start["t"], 5 * MS);
    assert_eq!(start["from"], serde_json::json!(["p0"]));
    assert_eq!(start["to"], serde_json::json!(["b0"]));
    assert_eq!(start["latency_min_ns"], 2_000_000);
    assert_eq!(start["latency_max_ns"], 3_000_000);
    assert_eq!(start["loss_ppm"], 50_000);
    assert_eq!(start["duplicate_ppm"], 1_000);
    assert_eq!(start["fifo"], true);
    // The end of the period restores `[network]`.
    assert_eq!(end["t"], 40 * MS);
    assert_eq!((end["latency_min_ns"].as_u64(), end["latency_max_ns"].as_u64()), (Some(500_000), Some(1_500_000)));
    assert_eq!((end["loss_ppm"].as_u64(), end["duplicate_ppm"].as_u64()), (Some(0), Some(0)));
}

#[test]
fn a_pause_is_followed_by_its_resume_at_the_end_of_the_pause() {
    // zombie-consumer.toml pauses c0 at 300 ms for 2500 ms.
    let recs = records(Scenario::load(Path::new("scenarios/zombie-consumer.toml")).unwrap(), 1);
    let pauses = of_type(&recs, "pause");
    let resumes = of_type(&recs, "resume");
    assert_eq!(pauses.len(), 1);
    assert_eq!(resumes.len(), 1);
    assert_eq!(pauses[0]["node"], "c0");
    assert_eq!(resumes[0]["node"], "c0");
    assert_eq!(pauses[0]["t"], 300 * MS);
    assert_eq!(resumes[0]["t"], 2_800 * MS);
    let times: Vec<u64> = recs[1..].iter().map(|r| r["t"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "records stay in time order");
}

#[test]
fn a_crash_during_a_pause_has_no_resume() {
    let text = r#"
        [topology]
        partitions = 1
        [workload]
        entities = 2
        events_per_entity = 3
        [[fault]]
        at_ms = 2
        kind = "pause"
        node = "c0"
        duration_ms = 50
        [[fault]]
        at_ms = 10
        kind = "crash"
        node = "c0"
        [[fault]]
        at_ms = 20
        kind = "restart"
        node = "c0"
    "#;
    let recs = records(Scenario::parse(text, "pause", "pause").unwrap(), 1);
    assert_eq!(of_type(&recs, "pause").len(), 1);
    assert!(of_type(&recs, "resume").is_empty());
    assert_eq!(of_type(&recs, "restart").len(), 1);
}

const V2: &str = r#"{"format":"ordo-history","version":2}"#;
const LINK: &str = r#"{"type":"link","t":1,"from":["p0"],"to":["b0"],"latency_min_ns":1,"latency_max_ns":2,"loss_ppm":0,"duplicate_ppm":0,"fifo":true}"#;

fn check(lines: &[&str]) -> Result<ordo::checker::Report, String> {
    let text = lines.join("\n") + "\n";
    ordo::checker::check_reader(text.as_bytes(), "h.jsonl", None).map_err(|e| e.to_string())
}

#[test]
fn the_checker_accepts_link_records_in_version_2_only_and_names_bad_fields() {
    let end = r#"{"type":"end","t":3,"reason":"quiescent"}"#;
    assert!(check(&[V2, LINK, end]).is_ok());
    let v1 = check(&[r#"{"format":"ordo-history","version":1}"#, LINK, end]).unwrap_err();
    assert!(v1.contains("h.jsonl:2:") && v1.contains("version 2"), "{v1}");
    let v3 = check(&[r#"{"format":"ordo-history","version":3}"#, end]).unwrap_err();
    assert!(v3.contains("version 3 is not supported"), "{v3}");
    let backwards = LINK.replace("\"latency_min_ns\":1", "\"latency_min_ns\":5");
    let e = check(&[V2, &backwards, end]).unwrap_err();
    assert!(e.contains("h.jsonl:2:") && e.contains("latency_min_ns"), "{e}");
    let lossy = LINK.replace("\"loss_ppm\":0", "\"loss_ppm\":1000001");
    let e = check(&[V2, &lossy, end]).unwrap_err();
    assert!(e.contains("loss_ppm"), "{e}");
    let missing = LINK.replace(",\"fifo\":true", "");
    let e = check(&[V2, &missing, end]).unwrap_err();
    assert!(e.contains("fifo"), "{e}");
}

#[test]
fn rebalances_are_recorded_as_the_coordinator_saw_them() {
    // zombie-consumer.toml: c0 pauses past its session, is expired, and rejoins.
    let recs = records(Scenario::load(Path::new("scenarios/zombie-consumer.toml")).unwrap(), 1);
    let starts = of_type(&recs, "rebalance_start");
    let done = of_type(&recs, "rebalance");
    assert!(!starts.is_empty() && !done.is_empty());
    assert_eq!(starts[0]["reason"], "join");
    assert!(starts.iter().any(|r| r["reason"] == "expiry" && r["member"] == "c0"), "{starts:?}");
    let partitions = recs[0]["topics"][0]["partitions"].as_u64().unwrap();
    for r in &done {
        assert!(r["node"].as_str().unwrap().starts_with('b'), "the coordinator is a broker: {r}");
        assert_eq!(r["group"], recs[1..].iter().find(|r| r["type"] == "deliver").unwrap()["group"]);
        // Every assign of this generation agrees with the members the coordinator recorded.
        let generation = r["generation"].as_u64().unwrap();
        for member in r["members"].as_array().unwrap() {
            for p in member["partitions"].as_array().unwrap() {
                assert!(p.as_u64().unwrap() < partitions);
                let assigned = recs.iter().any(|a| {
                    a["type"] == "assign"
                        && a["generation"] == generation
                        && a["node"] == member["node"]
                        && a["partitions"][0] == *p
                });
                let later = recs.iter().any(|a| a["type"] == "rebalance" && a["generation"] == generation + 1);
                assert!(assigned || later, "generation {generation}: {member} has no assign of {p}");
            }
        }
    }
    // Generations complete in order, one record each.
    let generations: Vec<u64> = done.iter().map(|r| r["generation"].as_u64().unwrap()).collect();
    assert!(generations.windows(2).all(|w| w[0] < w[1]), "{generations:?}");
}

#[test]
fn the_checker_validates_rebalance_records() {
    let header = r#"{"format":"ordo-history","version":2,"topics":[{"name":"t","partitions":2}]}"#;
    let start =
        r#"{"type":"rebalance_start","t":1,"node":"b0","group":"g","generation":0,"reason":"join","member":"c0"}"#;
    let done = r#"{"type":"rebalance","t":2,"node":"b0","group":"g","generation":1,"topic":"t","members":[{"node":"c0","partitions":[0]},{"node":"c1","partitions":[1]}]}"#;
    let end = r#"{"type":"end","t":3,"reason":"quiescent"}"#;
    assert!(check(&[header, start, done, end]).is_ok());
    let twice = done.replace("\"partitions\":[1]", "\"partitions\":[0]");
    let e = check(&[header, start, &twice, end]).unwrap_err();
    assert!(e.contains("h.jsonl:3:") && e.contains("two members"), "{e}");
    let beyond = done.replace("\"partitions\":[1]", "\"partitions\":[2]");
    let e = check(&[header, start, &beyond, end]).unwrap_err();
    assert!(e.contains("partition 2"), "{e}");
    let no_reason = start.replace(",\"reason\":\"join\"", "");
    let e = check(&[header, &no_reason, end]).unwrap_err();
    assert!(e.contains("h.jsonl:2:") && e.contains("reason"), "{e}");
}

/// Follows the log of every replica of every partition through `append` (leaders),
/// `replicate` (followers) and `truncate` records: each follower's copy continues its log
/// end exactly, and copies only offsets the leader appended.
#[test]
fn followers_appends_continue_their_logs_and_copy_what_the_leader_appended() {
    for name in ["acks-all-min-insync-2", "acks-one-leader-crash", "unclean-leader-election", "coordinator-failover"] {
        let scenario = Scenario::load(Path::new(&format!("scenarios/{name}.toml"))).unwrap();
        for seed in 1..=3 {
            let recs = records(scenario.clone(), seed);
            let mut log_end: std::collections::BTreeMap<(String, u64), u64> = Default::default();
            let mut appended: std::collections::BTreeSet<(u64, u64)> = Default::default();
            let mut leader: std::collections::BTreeMap<u64, String> = Default::default();
            let mut copies = 0;
            for r in &recs[1..] {
                let (node, p) = (r["node"].as_str().unwrap_or("").to_string(), r["partition"].as_u64().unwrap_or(0));
                match r["type"].as_str().unwrap() {
                    "leader" => {
                        leader.insert(p, node);
                    }
                    "append" => {
                        let offset = r["offset"].as_u64().unwrap();
                        appended.insert((p, offset));
                        log_end.insert((node, p), offset + 1);
                    }
                    "truncate" => {
                        log_end.insert((node, p), r["offset"].as_u64().unwrap());
                    }
                    "replicate" => {
                        copies += 1;
                        let (offset, count) = (r["offset"].as_u64().unwrap(), r["count"].as_u64().unwrap());
                        assert!(count >= 1, "{name} seed {seed}: no empty fetches: {r}");
                        assert_ne!(leader.get(&p), Some(&node), "{name} seed {seed}: a follower's copy: {r}");
                        let end = log_end.get(&(node.clone(), p)).copied().unwrap_or(0);
                        assert_eq!(offset, end, "{name} seed {seed}: the copy continues {node}'s log: {r}");
                        for o in offset..offset + count {
                            assert!(appended.contains(&(p, o)), "{name} seed {seed}: offset {o} was appended: {r}");
                        }
                        log_end.insert((node, p), offset + count);
                    }
                    _ => {}
                }
            }
            assert!(copies > 0, "{name} seed {seed}: replication is recorded");
        }
    }
}

/// The checker judges leader appends only: removing every `replicate` line from a history
/// leaves the same anomalies (by kind and count).
#[test]
fn replicate_records_do_not_change_the_verdict() {
    for name in ["acks-one-leader-crash", "unclean-leader-election", "isr-shrinks-leader-dies"] {
        let scenario = Scenario::load(Path::new(&format!("scenarios/{name}.toml"))).unwrap();
        let recs = records(scenario, 1);
        let text = |keep: &dyn Fn(&Value) -> bool| -> String {
            recs.iter().filter(|r| keep(r)).map(|r| r.to_string() + "\n").collect()
        };
        let with = text(&|_| true);
        let without = text(&|r| r["type"] != "replicate");
        assert!(with.len() > without.len(), "{name} has follower copies");
        let verdict = |history: &str| {
            let report = ordo::checker::check_reader(history.as_bytes(), "h", None).unwrap();
            let json = report.to_json();
            let kinds =
                |key: &str| -> Vec<Value> { json[key].as_array().unwrap().iter().map(|v| v["kind"].clone()).collect() };
            let fields = ["counts", "allowed", "omitted", "unknown", "violated"].map(|k| json[k].clone());
            (fields, kinds("violations"), kinds("allowed_violations"))
        };
        let (a, b) = (verdict(&with), verdict(&without));
        assert_eq!(a, b, "{name}");
        assert!(a.1.len() + a.2.len() > 0, "{name}: something to judge");
    }
}

#[test]
fn the_checker_validates_replicate_records() {
    let header = r#"{"format":"ordo-history","version":2,"topics":[{"name":"t","partitions":1}]}"#;
    let copy =
        r#"{"type":"replicate","t":1,"node":"b1","topic":"t","partition":0,"offset":0,"count":2,"leader_epoch":0}"#;
    let end = r#"{"type":"end","t":3,"reason":"quiescent"}"#;
    assert!(check(&[header, copy, end]).is_ok());
    let e = check(&[header, &copy.replace("\"count\":2", "\"count\":0"), end]).unwrap_err();
    assert!(e.contains("h.jsonl:2:") && e.contains("count"), "{e}");
    let e = check(&[header, &copy.replace("\"partition\":0", "\"partition\":1"), end]).unwrap_err();
    assert!(e.contains("h.jsonl:2:") && e.contains("out of range"), "{e}");
    let e = check(&[header, &copy.replace(",\"count\":2", ""), end]).unwrap_err();
    assert!(e.contains("count"), "{e}");
    let v1 = header.replace("\"version\":2", "\"version\":1");
    assert!(check(&[&v1, copy, end]).unwrap_err().contains("new in format version 2"));
}

/// `ordo trace` tells the new records in words and `ordo diagram` marks them.
#[test]
fn trace_and_diagram_show_the_new_records() {
    use ordo::diagram::{self, Format};
    use ordo::trace::{self, Selection};
    let scenario = Scenario::load(Path::new("scenarios/swarm.toml")).unwrap();
    let recs = records(scenario, 1);
    let jsonl: String = recs.iter().map(|r| r.to_string() + "\n").collect();
    for ty in ["link", "replicate", "rebalance_start", "rebalance", "resume"] {
        assert!(!of_type(&recs, ty).is_empty(), "swarm seed 1 has {ty} records");
    }
    let loaded = trace::load_bytes(jsonl.as_bytes(), "swarm").unwrap();
    let h = &loaded.history;
    let words = |ty: &str| -> Vec<String> {
        h.recs.iter().filter(|r| h.s(r.ty_name) == ty).map(|r| trace::words(h, r)).collect()
    };
    assert!(words("link").iter().all(|w| w.starts_with("link ") && w.contains("ms, loss ")), "{:?}", words("link"));
    assert!(words("replicate").iter().all(|w| w.starts_with("copies offset")), "{:?}", &words("replicate")[..3]);
    assert!(words("rebalance_start").iter().all(|w| w.starts_with("starts a rebalance of ")));
    assert!(words("rebalance").iter().all(|w| w.starts_with("completes a rebalance of ") && w.contains("generation")));
    assert_eq!(words("resume"), ["resumes", "resumes"]);
    let layout = diagram::layout(&loaded, &Selection::All).unwrap();
    let svg = diagram::render(&layout, h, Format::Svg);
    for mark in ["link ", "copy ", "rebalance starts g", "rebalance → g", "resume"] {
        assert!(svg.contains(mark), "the diagram marks {mark:?}");
    }
}
