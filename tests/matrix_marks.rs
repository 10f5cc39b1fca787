//! The matrix's marks come from docs/known-outcomes.toml; docs/known-outcomes.md says the
//! same in words and tables. This test holds the two equal, so the doc a reader checks and
//! the marks the matrix prints cannot drift apart.

use std::collections::BTreeMap;

use ordo::matrix::known::{known, LETTERS};

fn doc() -> String {
    std::fs::read_to_string("docs/known-outcomes.md").unwrap()
}

/// The text of the section `## title` (to the next `## `).
fn section<'a>(doc: &'a str, title: &str) -> &'a str {
    let start = doc.find(&format!("## {title}\n")).unwrap_or_else(|| panic!("no section {title}"));
    let rest = &doc[start + 3..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

/// A table's body rows, split into trimmed cells.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("|---"))
        .skip(1)
        .map(|l| l.trim().trim_matches('|').split('|').map(|c| c.trim().to_string()).collect())
        .collect()
}

/// The letters a cell's words name (R, D, L, CI, S, U as whole words), sorted.
fn letters(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| LETTERS.contains(w))
        .map(String::from)
        .collect();
    found.sort();
    found.dedup();
    found
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`').skip(1).step_by(2).map(String::from).collect()
}

#[test]
fn the_table_rows_say_what_the_toml_says() {
    let doc = doc();
    let known = known();
    let mut seen = Vec::new();
    for row in rows(section(&doc, "The table")) {
        let (can, never) = (letters(&row[2]), letters(&row[3]));
        for scenario in backticked(&row[4]) {
            let entry = known.scenario(&scenario).unwrap_or_else(|| panic!("{scenario} is not in known-outcomes.toml"));
            assert_eq!(sorted(&entry.can), can, "{scenario}: `can` of the doc's row ({:?})", row[2]);
            assert_eq!(sorted(&entry.never), never, "{scenario}: `never` of the doc's row ({:?})", row[3]);
            seen.push(scenario);
        }
    }
    // Every bundled scenario has one entry (swarm's is not a row of the table).
    let mut files: Vec<String> = std::fs::read_dir("scenarios")
        .unwrap()
        .filter_map(|e| e.ok()?.path().file_stem()?.to_str().map(String::from))
        .collect();
    files.sort();
    let mut entries: Vec<String> = known.scenario.iter().map(|s| s.name.clone()).collect();
    entries.sort();
    assert_eq!(entries, files, "known-outcomes.toml has one entry per bundled scenario");
    seen.push("swarm".into());
    seen.sort();
    assert_eq!(seen, files);
}

#[test]
fn the_marking_section_lists_the_toml() {
    let doc = doc();
    let known = known();
    let text = section(&doc, "How the matrix marks its cells");
    let mut tables = text.split("\n\n").filter(|block| block.trim_start().starts_with("| "));
    let kinds: BTreeMap<String, Vec<String>> =
        rows(tables.next().unwrap()).iter().map(|r| (backticked(&r[0])[0].clone(), letters(&r[1]))).collect();
    let expected: BTreeMap<String, Vec<String>> = known.kinds.iter().map(|(k, l)| (k.clone(), sorted(l))).collect();
    assert_eq!(kinds, expected, "the kinds table");
    let strategies: Vec<(String, Vec<String>)> =
        rows(tables.next().unwrap()).iter().map(|r| (backticked(&r[0])[0].clone(), letters(&r[1]))).collect();
    let expected: Vec<(String, Vec<String>)> =
        known.strategy.iter().map(|s| (s.name.clone(), sorted(&s.can))).collect();
    assert_eq!(strategies, expected, "the strategies table");
    let protected: Vec<(String, Vec<String>, Vec<String>)> = rows(tables.next().unwrap())
        .iter()
        .map(|r| (backticked(&r[0])[0].clone(), backticked(&r[1]), letters(&r[2])))
        .collect();
    let expected: Vec<(String, Vec<String>, Vec<String>)> = known
        .scenario
        .iter()
        .filter(|s| !s.protected_by.is_empty())
        .map(|s| (s.name.clone(), s.protected_by.clone(), sorted(&s.unprotected)))
        .collect();
    assert_eq!(protected, expected, "the protections table");
    // The families, in order, each with its scenarios.
    let families: Vec<(String, Vec<String>)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("- **"))
        .map(|l| {
            let (family, names) = l.split_once("**: ").unwrap();
            (family.to_string(), backticked(names))
        })
        .collect();
    let mut expected: Vec<(String, Vec<String>)> = Vec::new();
    for s in &known.scenario {
        match expected.iter_mut().find(|(f, _)| *f == s.family) {
            Some((_, names)) => names.push(s.name.clone()),
            None => expected.push((s.family.clone(), vec![s.name.clone()])),
        }
    }
    assert_eq!(families, expected, "the families list");
}

#[test]
fn letters_are_read_as_whole_words() {
    assert_eq!(letters("D, two members processing one partition at once, R of side effects"), ["D", "R"]);
    assert_eq!(letters("`NOT_COORDINATOR` or a timeout"), Vec::<String>::new());
    assert_eq!(letters("lost updates (U), CI"), ["CI", "U"]);
}
