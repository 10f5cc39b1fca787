//! Unit tests: error wording and line numbers, id canonicalisation, verdict rules, report
//! rendering, extreme values and long chains. Histories per kind are in
//! `tests/histories/`; property tests in `tests/checker_props.rs`.

use super::*;

const HEADER: &str = r#"{"format":"ordo-history","version":1}"#;

fn history(lines: &[&str]) -> String {
    let mut s = String::from(HEADER);
    s.push('\n');
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

fn run(text: &str) -> Result<Report, CheckError> {
    check_reader(text.as_bytes(), "history.jsonl", None)
}

fn error(text: &str) -> String {
    match run(text) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn kinds(r: &Report) -> Vec<&'static str> {
    r.violations.iter().map(|v| v.kind.name()).collect()
}

const REORDER: &[&str] = &[
    r#"{"type":"create","t":1,"node":"p0","id":1,"entity":"a","deps":[]}"#,
    r#"{"type":"create","t":2,"node":"p0","id":2,"entity":"a","deps":[1]}"#,
    r#"{"type":"apply","t":3,"node":"c0","group":"g","id":2}"#,
    r#"{"type":"apply","t":4,"node":"c0","group":"g","id":1}"#,
    r#"{"type":"end","t":5,"reason":"quiescent"}"#,
];

#[test]
fn guarantee_lists_parse_strictly() {
    assert_eq!(
        Guarantee::parse_list("no_loss, per_key_order,no_loss"),
        Ok(vec![Guarantee::PerKeyOrder, Guarantee::NoLoss])
    );
    assert!(Guarantee::parse_list("per_key_order,,causal").is_err());
    let e = Guarantee::parse_list("total_order").unwrap_err();
    assert!(e.contains("\"total_order\"") && e.contains("exactly_once"), "{e}");
    assert!(Guarantee::parse_list("").is_err());
}

#[test]
fn errors_name_the_line_and_what_was_expected() {
    let e = error(&history(&[r#"{"type":"create","t":1,"node":"p0","id":1,"deps":[]}"#, r#"{"type":"delivr","t":2}"#]));
    assert!(
        e.starts_with(
            "history.jsonl:3: record type \"delivr\" is unknown; expected one of create, producer_init, send,"
        ),
        "{e}"
    );

    let e = error(&history(&[r#"{"type":"create","t":1,"node":"p0","id":1,"deps":["#]));
    assert!(e.starts_with("history.jsonl:2: truncated or invalid JSON: EOF while parsing a list at column"), "{e}");

    let e = error(&history(&[
        r#"{"type":"create","t":1,"node":"p0","id":1,"deps":[]}"#,
        r#"{"type":"deliver","t":2,"node":"c0","group":"g","topic":"t","partition":0,"offset":0,"id":99}"#,
        r#"{"type":"end","t":3,"reason":"quiescent"}"#,
    ]));
    assert_eq!(e, "history.jsonl:3: deliver references event 99 which has no create record");

    let e = error(&history(&[
        r#"{"type":"create","t":200,"node":"p0","id":1,"deps":[]}"#,
        r#"{"type":"create","t":100,"node":"p0","id":2,"deps":[]}"#,
    ]));
    assert_eq!(e, "history.jsonl:3: t=100 is below the previous record's t=200 (records must be in time order)");

    let e = error(&history(&[r#"{"type":"create","t":1,"node":"p0","id":1}"#]));
    assert_eq!(e, "history.jsonl:2: create record lacks required field \"deps\"");

    let e = error(&history(&[r#"{"type":"ack","t":1,"node":"p0","batch":7,"attempt":1,"topic":"t","partition":0}"#]));
    assert_eq!(e, "history.jsonl:2: ack references batch 7 which has no send record");

    let e = error(&history(&[r#"{"type":"create","t":"1","node":"p0","id":1,"deps":[]}"#]));
    assert!(e.starts_with("history.jsonl:2: invalid record: invalid type: string \"1\""), "{e}");

    let e = error(&history(&[r#"{"type":"end","t":1,"reason":"quiescent"}"#, r#"{"type":"crash","t":2,"node":"b0"}"#]));
    assert!(e.starts_with("history.jsonl:3: crash record after the end record at line 2"), "{e}");

    assert!(error(&history(&[""])).starts_with("history.jsonl:2: empty line"));
    assert!(error("").starts_with("history.jsonl:1: the history is empty"));
    assert!(error("{\"format\":\"x\",\"version\":1}\n").starts_with("history.jsonl:1: header format is \"x\""));
    assert!(error("{\"type\":\"create\"}\n").starts_with("history.jsonl:1: first line is not a header"));
}

#[test]
fn a_forward_reference_is_allowed_only_at_the_same_t() {
    let ok = history(&[
        r#"{"type":"deliver","t":5,"node":"c0","group":"g","topic":"t","partition":0,"offset":0,"id":1}"#,
        r#"{"type":"create","t":5,"node":"p0","id":1,"deps":[]}"#,
    ]);
    assert!(run(&ok).is_ok());
    let bad = history(&[
        r#"{"type":"deliver","t":5,"node":"c0","group":"g","topic":"t","partition":0,"offset":0,"id":1}"#,
        r#"{"type":"create","t":6,"node":"p0","id":1,"deps":[]}"#,
    ]);
    assert_eq!(error(&bad), "history.jsonl:2: deliver references event 1 which has no create record");
}

#[test]
fn integer_and_string_ids_are_the_same_id() {
    let text = history(&[
        r#"{"type":"create","t":1,"node":"p0","id":17,"entity":"a","deps":[]}"#,
        r#"{"type":"create","t":2,"node":"p0","id":"18","entity":"a","deps":["17"]}"#,
        r#"{"type":"apply","t":3,"node":"c0","group":"g","id":18}"#,
        r#"{"type":"apply","t":4,"node":"c0","group":"g","id":"17"}"#,
    ]);
    assert_eq!(kinds(&run(&text).unwrap()), ["per_key_reorder"]);
    // "017" is a different (string) id.
    let text = history(&[
        r#"{"type":"create","t":1,"node":"p0","id":17,"deps":[]}"#,
        r#"{"type":"create","t":2,"node":"p0","id":"017","deps":[]}"#,
    ]);
    assert!(run(&text).is_ok());
}

#[test]
fn expectations_decide_violated_versus_allowed() {
    let text = history(REORDER);
    let all = run(&text).unwrap();
    assert_eq!(all.expected_from, "default (all)");
    assert_eq!(all.exit_code(), 1);
    assert_eq!(all.counts_json(), serde_json::json!({"per_key_reorder": 1}));

    let only_loss = check_reader(text.as_bytes(), "h", Some(&[Guarantee::NoLoss])).unwrap();
    assert_eq!(only_loss.exit_code(), 0);
    assert_eq!(only_loss.counts_json(), serde_json::json!({}));
    assert_eq!(only_loss.to_json()["allowed"], serde_json::json!({"per_key_reorder": 1}));
    assert_eq!(only_loss.to_json()["violated"], serde_json::json!(false));

    let header = text.replacen(HEADER, r#"{"format":"ordo-history","version":1,"expect":["causal"]}"#, 1);
    let r = run(&header).unwrap();
    assert_eq!((r.expected_from, r.exit_code()), ("header", 0));
    // The argument wins over the header.
    let r = check_reader(header.as_bytes(), "h", Some(&[Guarantee::PerKeyOrder])).unwrap();
    assert_eq!((r.expected_from, r.exit_code()), ("argument", 1));
    assert!(error(&text.replacen(HEADER, r#"{"format":"ordo-history","version":1,"expect":["fast"]}"#, 1))
        .starts_with("history.jsonl:1: header expect: unknown guarantee \"fast\""));
}

#[test]
fn always_a_bug_ignores_expectations() {
    let text = history(&[
        r#"{"type":"create","t":1,"node":"p0","id":1,"deps":[],"meta":{"lamport":5}}"#,
        r#"{"type":"create","t":2,"node":"p0","id":2,"deps":[1],"meta":{"lamport":5}}"#,
    ]);
    let r = check_reader(text.as_bytes(), "h", Some(&[])).unwrap();
    assert_eq!(kinds(&r), ["clock_condition"]);
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn missing_end_makes_whole_history_checks_unknown() {
    let text = history(&REORDER[..4]);
    let r = run(&text).unwrap();
    let unknown: Vec<&str> = r.unknown.iter().map(|u| u.kind.name()).collect();
    assert_eq!(unknown, ["final_state", "unseen_write"]);
    assert!(r.render_text(10).contains("unknown (not judged):"));
}

#[test]
fn text_report_is_capped_and_deterministic() {
    let mut lines = vec![r#"{"type":"create","t":1,"node":"p0","id":0,"entity":"a","deps":[]}"#.to_string()];
    for i in 1..=5 {
        lines.push(format!(r#"{{"type":"create","t":1,"node":"p0","id":{i},"entity":"a","deps":[]}}"#));
    }
    for t in [2, 3] {
        for i in 0..=5 {
            lines.push(format!(r#"{{"type":"apply","t":{t},"node":"c0","group":"g","id":{i}}}"#));
        }
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let text = history(&refs);
    let r = run(&text).unwrap();
    assert_eq!(r.violations.len(), 6);
    let shown = r.render_text(2);
    assert!(shown.contains("\n… and 4 more\n"), "{shown}");
    assert!(shown.contains("duplicate_apply"));
    assert_eq!(shown, run(&text).unwrap().render_text(2));
    assert_eq!(r.to_json(), run(&text).unwrap().to_json());
}

#[test]
fn crlf_line_ends_are_accepted() {
    let text = history(REORDER).replace('\n', "\r\n");
    assert_eq!(kinds(&run(&text).unwrap()), ["per_key_reorder"]);
}

#[test]
fn extreme_values_do_not_panic() {
    let max = u64::MAX;
    let lines = [
        format!(r#"{{"type":"create","t":0,"node":"p0","id":{max},"entity":"a","deps":[],"meta":{{"seq":9223372036854775807,"lamport":-9223372036854775808,"ts":9223372036854775807}}}}"#),
        r#"{"type":"create","t":0,"node":"p0","id":-5,"entity":"a","deps":[],"meta":{"seq":-9223372036854775808,"lamport":9223372036854775807,"ts":-9223372036854775808,"vc":{"p0":-1}}}"#.into(),
        format!(r#"{{"type":"create","t":0,"node":"p0","id":"x","entity":"a","deps":[{max},-5],"meta":{{"seq":0,"vc":{{"p0":9223372036854775807}}}}}}"#),
        format!(r#"{{"type":"send","t":1,"node":"p0","batch":1,"attempt":1,"topic":"t","partition":4294967295,"events":[{max},-5,"x"]}}"#),
        format!(r#"{{"type":"append","t":2,"node":"b0","topic":"t","partition":4294967295,"offset":{max},"id":{max},"batch":1}}"#),
        format!(r#"{{"type":"ack","t":3,"node":"p0","batch":1,"attempt":1,"topic":"t","partition":4294967295,"offset":{max}}}"#),
        format!(r#"{{"type":"deliver","t":4,"node":"c0","group":"g","topic":"t","partition":4294967295,"offset":{max},"id":{max}}}"#),
        format!(r#"{{"type":"deliver","t":4,"node":"c0","group":"g","topic":"t","partition":4294967295,"offset":{max},"id":"x"}}"#),
        r#"{"type":"deliver","t":4,"node":"c0","group":"g","topic":"t","partition":4294967295,"offset":0,"id":-5,"meta":{"lamport":-9223372036854775808,"vc":{"q":1}}}"#.into(),
        format!(r#"{{"type":"apply","t":5,"node":"c0","group":"g","id":"x","topic":"t","partition":4294967295,"offset":{max}}}"#),
        r#"{"type":"apply","t":5,"node":"c0","group":"g","id":-5}"#.into(),
        format!(r#"{{"type":"apply","t":5,"node":"c0","group":"g","id":{max}}}"#),
        format!(r#"{{"type":"commit","t":6,"node":"c0","group":"g","generation":{max},"topic":"t","partition":4294967295,"offset":{max},"ok":true}}"#),
        r#"{"type":"commit","t":6,"node":"c0","group":"g","generation":0,"topic":"t","partition":4294967295,"offset":0,"ok":true}"#.into(),
        r#"{"type":"seek","t":7,"node":"c0","group":"g","topic":"t","partition":4294967295,"offset":0}"#.into(),
        r#"{"type":"truncate","t":8,"node":"b0","topic":"t","partition":4294967295,"offset":0}"#.into(),
        format!(r#"{{"type":"state","t":{max},"group":"g","entity":"a","fields":{{}}}}"#),
        format!(r#"{{"type":"end","t":{max},"reason":"quiescent"}}"#),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let r = run(&history(&refs)).expect("valid history");
    assert!(!r.violations.is_empty());
    let _ = r.render_text(100);
}

#[test]
fn a_long_chain_cycle_does_not_overflow_the_stack() {
    // 100 000 events of one chain, appended in reverse to one partition: one big cycle.
    let n = 100_000u64;
    let mut text = String::from(HEADER);
    text.push('\n');
    for i in 0..n {
        let deps = if i == 0 { String::new() } else { (i - 1).to_string() };
        text.push_str(&format!(r#"{{"type":"create","t":1,"node":"p0","id":{i},"deps":[{deps}]}}"#));
        text.push('\n');
    }
    for i in 0..n {
        let id = n - 1 - i;
        text.push_str(&format!(
            r#"{{"type":"append","t":2,"node":"b0","topic":"t","partition":0,"offset":{i},"id":{id}}}"#
        ));
        text.push('\n');
    }
    let r = run(&text).unwrap();
    assert_eq!(kinds(&r), ["observed_cycle"]);
    assert!(r.violations[0].witness.len() <= 12);
}

#[test]
fn only_the_first_anomalies_of_a_kind_keep_witnesses() {
    let mut text = String::from(HEADER);
    text.push('\n');
    for i in 0..1500 {
        text.push_str(&format!(r#"{{"type":"create","t":1,"node":"p0","id":{i},"deps":[]}}"#));
        text.push('\n');
    }
    for t in [2, 3] {
        for i in 0..1500 {
            text.push_str(&format!(r#"{{"type":"apply","t":{t},"node":"c0","group":"g","id":{i}}}"#));
            text.push('\n');
        }
    }
    let r = run(&text).unwrap();
    assert_eq!(r.violations.len(), 1000);
    assert_eq!(r.omitted.get(&Kind::DuplicateApply), Some(&500));
    assert_eq!(r.counts_json(), serde_json::json!({"duplicate_apply": 1500}));
    assert_eq!(r.exit_code(), 1);
    let text = r.render_text(3);
    assert!(text.contains("… and 1497 more"), "{text}");
    assert_eq!(r.to_json()["omitted"], serde_json::json!({"duplicate_apply": 500}));
}

#[test]
fn unknown_reasons_are_listed_once() {
    let text = history(&[
        r#"{"type":"commit","t":1,"node":"c0","group":"g","topic":"t","partition":0,"offset":1,"ok":true}"#,
        r#"{"type":"commit","t":2,"node":"c0","group":"g","topic":"t","partition":0,"offset":2,"ok":true}"#,
        r#"{"type":"end","t":3,"reason":"quiescent"}"#,
    ]);
    let r = run(&text).unwrap();
    assert_eq!(r.unknown.len(), 1, "{:?}", r.unknown);
    assert!(r.unknown[0].reason.contains("line 2"));
}

#[test]
fn bad_input_is_named_with_its_line() {
    let send = |t: u64, attempt: u64| {
        format!(
            r#"{{"type":"send","t":{t},"node":"p0","batch":"b","attempt":{attempt},"topic":"t","partition":0,"events":[1]}}"#
        )
    };
    let create = r#"{"type":"create","t":1,"node":"p0","id":1,"deps":[]}"#;
    // Attempts of one batch must grow: the same one again, or a lower one, is an error.
    let e = error(&history(&[create, &send(2, 2), &send(3, 2)]));
    assert!(
        e.starts_with(
            "history.jsonl:4: send of batch \"b\" attempt 2, but line 3 already sent it with the same attempt (2)"
        ),
        "{e}"
    );
    let e = error(&history(&[create, &send(2, 2), &send(3, 1)]));
    assert!(
        e.starts_with(
            "history.jsonl:4: send of batch \"b\" attempt 1, but line 3 already sent it with a higher attempt (2)"
        ),
        "{e}"
    );
    assert!(run(&history(&[create, &send(2, 1), &send(3, 2), &send(4, 3)])).is_ok());
    // Ids beyond u64, or with a fraction, are named as such (not "floating point").
    for id in ["18446744073709551616", "1.5", "1e3"] {
        let e = error(&history(&[&format!(r#"{{"type":"create","t":1,"node":"p0","id":{id},"deps":[]}}"#)]));
        assert!(e.contains("a number id must be an integer from 0 to 18446744073709551615"), "{e}");
        assert!(!e.contains("floating point"), "{e}");
    }
    // A byte order mark, on the header or on a record line.
    let e = error(&format!("\u{feff}{}", history(&[create])));
    assert!(e.starts_with("history.jsonl:1: the line starts with a UTF-8 byte order mark"), "{e}");
    let e = error(&history(&[&format!("\u{feff}{create}")]));
    assert!(e.starts_with("history.jsonl:2: the line starts with a UTF-8 byte order mark"), "{e}");
    // A topic declared twice; an end reason the format does not have.
    let e = error(
        r#"{"format":"ordo-history","version":1,"topics":[{"name":"t","partitions":1},{"name":"t","partitions":1,"kind":"queue"}]}"#,
    );
    assert!(e.starts_with("history.jsonl:1: header topics list \"t\" twice"), "{e}");
    for reason in ["done", "finished", ""] {
        let e = error(&history(&[create, &format!(r#"{{"type":"end","t":2,"reason":"{reason}"}}"#)]));
        assert!(e.starts_with(&format!("history.jsonl:3: end reason {reason:?} is unknown")), "{e}");
    }
    for reason in ["quiescent", "time_limit", "event_limit", "livelock"] {
        assert!(run(&history(&[create, &format!(r#"{{"type":"end","t":2,"reason":"{reason}"}}"#)])).is_ok());
    }
    // An empty expect list expects nothing, so no history could be judged violated: refused.
    let text = history(REORDER).replacen(HEADER, r#"{"format":"ordo-history","version":1,"expect":[]}"#, 1);
    let e = error(&text);
    assert!(e.starts_with("history.jsonl:1: header expect is []"), "{e}");
    assert!(e.contains("per_key_order"), "{e}");
}

#[test]
fn a_first_position_skip_counts_records_of_the_final_log_only() {
    // Group h read offsets 0 and 1 from the old leader; the new leader's log ends at 1
    // (its truncation removed B). Group g starts at 1 with no commit: it skipped A at 0,
    // but B was lost with the truncation, not skipped.
    let text = history(&[
        r#"{"type":"create","t":1,"node":"p0","id":"A","deps":[]}"#,
        r#"{"type":"create","t":1,"node":"p0","id":"B","deps":[]}"#,
        r#"{"type":"leader","t":1,"node":"b0","topic":"t","partition":0,"leader_epoch":1}"#,
        r#"{"type":"append","t":2,"node":"b0","topic":"t","partition":0,"offset":0,"id":"A","leader_epoch":1}"#,
        r#"{"type":"append","t":2,"node":"b0","topic":"t","partition":0,"offset":1,"id":"B","leader_epoch":1}"#,
        r#"{"type":"deliver","t":3,"node":"c9","group":"h","topic":"t","partition":0,"offset":0,"id":"A"}"#,
        r#"{"type":"deliver","t":3,"node":"c9","group":"h","topic":"t","partition":0,"offset":1,"id":"B"}"#,
        r#"{"type":"leader","t":4,"node":"b1","topic":"t","partition":0,"leader_epoch":2}"#,
        r#"{"type":"truncate","t":4,"node":"b1","topic":"t","partition":0,"offset":1}"#,
        r#"{"type":"assign","t":5,"node":"c0","group":"g","generation":1,"topic":"t","partitions":[0]}"#,
        r#"{"type":"seek","t":5,"node":"c0","group":"g","topic":"t","partition":0,"offset":1,"reason":"reset"}"#,
        r#"{"type":"end","t":6,"reason":"time_limit"}"#,
    ]);
    let r = run(&text).unwrap();
    assert_eq!(kinds(&r), ["rebalance_skip"], "{}", r.render_text(5));
    let v = &r.violations[0];
    assert!(v.message.ends_with("offset 0 is never processed by the group"), "{}", v.message);
    assert!(v.witness.iter().any(|w| w.line == 5 && w.what.contains("t/0@0")), "{:?}", v.witness);
}
