//! reports/README.md cannot go stale: every figure in its prose sits behind a marker
//! `<!--m WHAT-->` naming what it is in reports/matrix/matrix.json, and this test checks
//! each against the JSON; a number without a marker (outside code and the "What changed"
//! sections, which record history) fails too. Sections are found by marker, not by title,
//! so prose sections can be added freely.
//!
//! After regenerating the matrix, `ORDO_UPDATE_FIGURES=1 cargo test --test matrix_report`
//! rewrites every marked figure from the new matrix.json (then reread the prose around
//! the figures that moved).
//!
//! Markers (SC a scenario, ST a strategy):
//! - `rate SC ST`: the cell's violation rate, whole per cent (rounded down);
//! - `kind SC ST KIND`: seeds of the cell where KIND was violated (0 when none);
//! - `cost SC ST NAME STAT`: a cost's p50, p90 or max over seeds (`_ns` costs in ms, one decimal);
//! - `clean ST`: rows where the strategy violated nothing in any seed;
//! - `seeds`, `rows`, `cells`, `surprises`: seeds per cell, scenarios, cells, cells marked surprise.

const README: &str = "reports/README.md";

fn matrix() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read("reports/matrix/matrix.json").unwrap()).unwrap()
}

fn ms(ns: u64) -> String {
    format!("{}.{}", ns / 1_000_000, (ns % 1_000_000) / 100_000)
}

/// The figure a marker names, or why it names none.
fn figure(matrix: &serde_json::Value, what: &str) -> Result<String, String> {
    let words: Vec<&str> = what.split_whitespace().collect();
    let cells = matrix["cells"].as_array().unwrap();
    let cell = |sc: &str, st: &str| {
        cells.iter().find(|c| c["scenario"] == sc && c["strategy"] == st).ok_or(format!("no cell {sc} × {st}"))
    };
    let number = |v: &serde_json::Value| v.as_u64().ok_or(format!("{what}: not a number"));
    Ok(match words.as_slice() {
        ["rate", sc, st] => (number(&cell(sc, st)?["violation_rate_permille"])? / 10).to_string(),
        ["kind", sc, st, kind] => cell(sc, st)?["violated_kinds_by_seeds"][kind].as_u64().unwrap_or(0).to_string(),
        ["cost", sc, st, name, stat] => {
            let value = number(&cell(sc, st)?["costs"][name][stat])?;
            if name.ends_with("_ns") {
                ms(value)
            } else {
                value.to_string()
            }
        }
        ["clean", st] => cells.iter().filter(|c| c["strategy"] == *st && c["failing_seeds"] == 0).count().to_string(),
        ["seeds"] => number(&matrix["seeds"]["count"])?.to_string(),
        ["rows"] => matrix["scenarios"].as_array().unwrap().len().to_string(),
        ["cells"] => cells.len().to_string(),
        ["surprises"] => cells.iter().filter(|c| c["mark"] == "surprise").count().to_string(),
        _ => return Err(format!("unknown marker {what:?}")),
    })
}

/// The length of the figure at the start of `text` (digits and dots, or a `?` placeholder).
fn figure_len(text: &str) -> usize {
    if text.starts_with('?') {
        return 1;
    }
    let len = text.char_indices().find(|(_, c)| !(c.is_ascii_digit() || *c == '.')).map_or(text.len(), |(i, _)| i);
    // A full stop after a figure ends the sentence, not the figure.
    text[..len].trim_end_matches('.').len()
}

/// Every marker: (byte offset of its figure, what it names, the figure's text).
fn markers(text: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = text[from..].find("<!--m ") {
        let start = from + start;
        let end = start + text[start..].find("-->").expect("a marker ends with -->");
        let what = text[start + 6..end].trim().to_string();
        let at = end + 3;
        let len = figure_len(&text[at..]);
        out.push((at, what, text[at..at + len].to_string()));
        from = at + len;
    }
    out
}

/// Numbers of the prose outside code, markers and "What changed" sections.
fn bare_numbers(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_fence = false;
    let mut history = false;
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if line.starts_with("## ") {
            history = line.starts_with("## What changed");
        }
        if in_fence || history || line.starts_with('#') {
            continue;
        }
        // Drop code spans and markers with their figures.
        let mut prose = String::new();
        let mut rest = line;
        loop {
            let code = rest.find('`');
            let marker = rest.find("<!--m ");
            match (code, marker) {
                (Some(c), m) if m.map_or(true, |m| c < m) => {
                    prose.push_str(&rest[..c]);
                    let after = &rest[c + 1..];
                    rest = after.find('`').map_or("", |e| &after[e + 1..]);
                }
                (_, Some(m)) => {
                    prose.push_str(&rest[..m]);
                    let after = &rest[m..];
                    let end = after.find("-->").map_or(after.len(), |e| e + 3);
                    rest = &after[end..];
                    rest = &rest[figure_len(rest)..];
                }
                _ => {
                    prose.push_str(rest);
                    break;
                }
            }
        }
        let chars: Vec<char> = prose.chars().collect();
        let word = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
        let mut i = 0;
        while i < chars.len() {
            if chars[i].is_ascii_digit() && (i == 0 || !(word(chars[i - 1]) || chars[i - 1] == '.')) {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == ',') {
                    i += 1;
                }
                let number: String = chars[start..i].iter().collect();
                let number = number.trim_end_matches(['.', ',']);
                if i >= chars.len() || !word(chars[i]) {
                    found.push(format!("line {}: {number} in {:?}", n + 1, line.trim()));
                }
            }
            i += 1;
        }
    }
    found
}

#[test]
fn every_figure_of_the_report_is_the_matrix_s() {
    let matrix = matrix();
    let mut text = std::fs::read_to_string(README).unwrap();
    let update = std::env::var("ORDO_UPDATE_FIGURES").is_ok_and(|v| v == "1");
    let found = markers(&text);
    assert!(found.len() >= 20, "only {} marked figures in {README}", found.len());
    let mut wrong = Vec::new();
    // Back to front, so updating one figure leaves the offsets of the earlier ones.
    for (at, what, shown) in found.iter().rev() {
        match figure(&matrix, what) {
            Ok(expected) if &expected == shown => {}
            Ok(expected) if update => text.replace_range(*at..*at + shown.len(), &expected),
            Ok(expected) => wrong.push(format!("<!--m {what}--> shows {shown}, matrix.json says {expected}")),
            Err(error) => wrong.push(error),
        }
    }
    if update {
        std::fs::write(README, &text).unwrap();
    }
    assert!(
        wrong.is_empty(),
        "{README} is stale (ORDO_UPDATE_FIGURES=1 cargo test --test matrix_report rewrites the figures):\n{}",
        wrong.join("\n")
    );
    let bare = bare_numbers(&text);
    assert!(
        bare.is_empty(),
        "{README}: numbers without a marker (mark them, or put settings in code spans):\n{}",
        bare.join("\n")
    );
}

#[test]
fn the_checks_catch_what_they_should() {
    assert_eq!(figure_len("92. Next"), 2);
    assert_eq!(figure_len("48.3 ms"), 4);
    let text = "a <!--m seeds-->50 b `acks = 1` c acks-all-min-insync-2 and p99\n## What changed on 2026-12-07\n62 %\n";
    assert_eq!(markers(text), [(16, "seeds".to_string(), "50".to_string())]);
    assert!(bare_numbers(text).is_empty(), "{:?}", bare_numbers(text));
    assert_eq!(bare_numbers("## Title\nit is 62 % here, and 3.5 ms.\n").len(), 2);
    let matrix = matrix();
    assert_eq!(figure(&matrix, "seeds").unwrap(), matrix["seeds"]["count"].to_string());
    assert!(figure(&matrix, "rate nowhere key").is_err());
}
