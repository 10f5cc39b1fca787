//! The docs against the repository and the code, so that they cannot drift unnoticed:
//! nothing points outside the repository, every relative markdown link resolves, every list
//! a doc keeps of something the code has (strategies, checker kinds, guarantees, scenario
//! fields, fault kinds, stop and end reasons) is compared with the list read from the code,
//! and every `ordo …` command in a shell block of a markdown file runs.
//! (docs/json.md's fields are held to the output by tests/cli.rs.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The repository's files (relative paths): `git ls-files` when git and the repository are
/// there, else every file under the root but `target` and hidden directories.
fn files() -> Vec<String> {
    if let Ok(out) = Command::new("git").arg("-C").arg(root()).args(["ls-files", "-z"]).output() {
        if out.status.success() && !out.stdout.is_empty() {
            return out
                .stdout
                .split(|b| *b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .filter(|p| root().join(p).is_file())
                .collect();
        }
    }
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                out.push(path.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(&root(), &root(), &mut out);
    out.sort();
    out
}

fn markdown_files() -> Vec<String> {
    files().into_iter().filter(|f| f.ends_with(".md")).collect()
}

/// References that only resolve on the machine ordo was written on: the session's shared
/// notes and its work directories. (Built at run time so this file does not match itself.)
fn outside_markers() -> Vec<String> {
    vec![["shared", "domain.md"].join("/"), ["..", "shared", ""].join("/"), ["", "work", ""].join("/")]
}

/// Files another engineer owns that still name the shared notes, with how many times; the
/// test fails when the count changes, so the entry is removed once they are fixed.
const NOT_YET_FIXED: &[(&str, usize)] = &[];

#[test]
fn nothing_references_a_path_outside_the_repository() {
    let markers = outside_markers();
    let mut found = Vec::new();
    let mut counts: Vec<(String, usize)> = Vec::new();
    for file in files() {
        let Ok(text) = std::fs::read_to_string(root().join(&file)) else { continue };
        let mut here = 0;
        for (n, line) in text.lines().enumerate() {
            if markers.iter().any(|m| line.contains(m.as_str())) {
                here += 1;
                if !NOT_YET_FIXED.iter().any(|(f, _)| *f == file) {
                    found.push(format!("{file}:{}: {}", n + 1, line.trim()));
                }
            }
        }
        counts.push((file, here));
    }
    assert!(found.is_empty(), "references outside the repository (use docs/known-outcomes.md):\n{}", found.join("\n"));
    for (file, expected) in NOT_YET_FIXED {
        let count = counts.iter().find(|(f, _)| f == file).map_or(0, |(_, c)| *c);
        assert_eq!(count, *expected, "{file}: update NOT_YET_FIXED (remove it once the file is fixed)");
    }
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, punctuation but `-` and `_`
/// dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut out = BTreeSet::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// The targets of the inline links `[text](target)` of a markdown text, outside code.
fn links(markdown: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_code = false;
    for (n, line) in markdown.lines().enumerate() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        // Drop inline code spans, whose brackets are not links.
        let text: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = text.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push((n + 1, after[..end].trim().to_string()));
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn every_relative_markdown_link_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let text = read(&file);
        let dir = Path::new(&file).parent().unwrap_or(Path::new("")).to_path_buf();
        for (line, target) in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, fragment) = target.split_once('#').map_or((target.as_str(), None), |(p, f)| (p, Some(f)));
            let resolved = if path.is_empty() { PathBuf::from(&file) } else { dir.join(path) };
            // Inside the repository: no `..` climbing above its root.
            let mut depth: i32 = 0;
            let mut escapes = false;
            for part in resolved.components() {
                match part {
                    std::path::Component::ParentDir => depth -= 1,
                    std::path::Component::Normal(_) => depth += 1,
                    _ => escapes = true,
                }
                escapes |= depth < 0;
            }
            if escapes || !root().join(&resolved).exists() {
                broken.push(format!("{file}:{line}: {target} (no such file in the repository)"));
                continue;
            }
            if let Some(fragment) = fragment {
                if resolved.extension().is_some_and(|e| e == "md") {
                    let target_text = std::fs::read_to_string(root().join(&resolved)).unwrap();
                    if !anchors(&target_text).contains(fragment) {
                        broken.push(format!("{file}:{line}: {target} (no such heading)"));
                    }
                }
            }
        }
    }
    assert!(checked > 10, "found only {checked} relative links: is the link scanner broken?");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// The lines of a doc from its heading `## {title}` (exact) to the next `## ` heading.
fn section<'a>(text: &'a str, title: &str) -> &'a str {
    let head = format!("## {title}\n");
    let start = text.find(&head).unwrap_or_else(|| panic!("no section {head:?}")) + head.len();
    let body = &text[start..];
    &body[..body.find("\n## ").map_or(body.len(), |i| i + 1)]
}

/// The names in backticks in the first column of a markdown table's rows.
fn first_column(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("|---"))
        .filter_map(|l| l.split('|').nth(1))
        .flat_map(|cell| cell.split('`').skip(1).step_by(2).map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// Every backticked word in a text.
fn backticked(text: &str) -> BTreeSet<String> {
    text.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

#[test]
fn the_readme_lists_every_strategy() {
    let readme = read("README.md");
    let table = section(&readme, "Strategies");
    let documented = first_column(table);
    let code: Vec<String> = ordo::strategy::all().iter().map(|s| s.name().to_string()).collect();
    assert_eq!(
        documented, code,
        "README.md's strategy table against ordo::strategy::all() (same order as `ordo list`)"
    );
    // Every strategy has a row in the known-outcomes doc's strategy table too? It names
    // them in words, so only its row count is held to the registry.
    let known = read("docs/known-outcomes.md");
    let rows = section(&known, "Strategies: what each promises and costs")
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| strategy"))
        .count();
    assert_eq!(rows, code.len(), "docs/known-outcomes.md: one row per strategy");
}

/// README.md names the strategies that set both sides (a producer clock and a consumer
/// policy); the list is the registry's, by the settings each declares.
#[test]
fn the_readme_names_the_strategies_that_set_both_sides() {
    let readme = read("README.md");
    let at = readme.find("set both sides").expect("README.md says which strategies set both sides");
    let before = &readme[..at];
    let said: BTreeSet<String> = backticked(&before[before.rfind('(').expect("a parenthesis")..]);
    let code: BTreeSet<String> = ordo::strategy::all()
        .iter()
        .filter(|s| ordo::strategy::sides(**s) == "producer+consumer")
        .map(|s| s.name().to_string())
        .collect();
    assert_eq!(said, code, "README.md's \"set both sides\" list against Strategy::settings");
    assert!(readme.contains("no two of them set the same setting to different values"), "README.md states the rule");
}

#[test]
fn the_checker_docs_list_every_kind_and_guarantee() {
    let code: BTreeSet<String> = ordo::Kind::ALL.iter().map(|k| k.name().to_string()).collect();
    let checker = read("docs/checker.md");
    let documented: BTreeSet<String> = first_column(section(&checker, "Kinds")).into_iter().collect();
    assert_eq!(documented, code, "docs/checker.md's Kinds table against Kind::ALL");
    // The README says how many kinds there are.
    let readme = read("README.md");
    let said = readme
        .split("It finds")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<usize>().ok())
        .expect("README.md: \"It finds N kinds of anomaly\"");
    assert_eq!(said, code.len(), "README.md's count of anomaly kinds");
    // Guarantees: the scenario format's `expect` row and the checker doc name every one,
    // and the `expect` row names nothing else.
    let guarantees: BTreeSet<String> = ordo::Guarantee::ALL.iter().map(|g| g.name().to_string()).collect();
    let format = read("docs/scenario-format.md");
    let expect_row = format.lines().find(|l| l.starts_with("| `expect` |")).expect("an expect row");
    let named: BTreeSet<String> = backticked(expect_row)
        .into_iter()
        .filter(|w| w != "expect" && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect();
    assert_eq!(named, guarantees, "docs/scenario-format.md's `expect` row against Guarantee::ALL");
    for g in &guarantees {
        assert!(checker.contains(&format!("`{g}`")), "docs/checker.md never names the guarantee {g}");
    }
}

/// The fields serde accepts in a scenario table, read from the error an unknown field gets.
fn accepted_fields(table: &str) -> BTreeSet<String> {
    let text = match table {
        "" => "zzz_unknown = 1\n".to_string(),
        "fault" => "[[fault]]\nat_ms = 1\nkind = \"crash\"\nnode = \"p0\"\nzzz_unknown = 1\n".to_string(),
        "link" | "clock" => format!("[[{table}]]\nzzz_unknown = 1\n"),
        _ => format!("[{table}]\nzzz_unknown = 1\n"),
    };
    let error =
        ordo::scenario::Scenario::parse(&text, "probe.toml", "probe").expect_err("an unknown field").to_string();
    let list = error.split("expected").nth(1).unwrap_or_else(|| panic!("{table}: {error}"));
    let list = list.split(" (at").next().unwrap();
    backticked(list)
}

#[test]
fn the_scenario_format_lists_every_field() {
    let format = read("docs/scenario-format.md");
    let mut problems = Vec::new();
    let sections: &[(&str, &str)] = &[
        ("", "Top level"),
        ("topology", "`[topology]`"),
        ("workload", "`[workload]`"),
        ("producer", "`[producer]`"),
        ("broker", "`[broker]`"),
        ("consumer", "`[consumer]`"),
        ("queue", "`[queue]`"),
        ("network", "`[network]` and `[[link]]`"),
        ("link", "`[network]` and `[[link]]`"),
        ("clock", "`[[clock]]`"),
        ("fault", "`[[fault]]`"),
        ("random_faults", "`[random_faults]`"),
        ("run", "`[run]`"),
        ("quiz", "`[quiz]`"),
    ];
    for (table, title) in sections {
        let code = accepted_fields(table);
        let text = section(&format, title);
        let mentioned = backticked(text);
        for field in &code {
            // The top level's tables are the sections themselves.
            let documented = mentioned.contains(field)
                || (table.is_empty() && format.contains(&format!("`[{field}]`")))
                || (table.is_empty() && format.contains(&format!("`[[{field}]]`")));
            if !documented {
                problems.push(format!("{title}: `{field}` is accepted but not documented"));
            }
        }
        // Every field a table documents is one the code accepts (a fault's table lists
        // kinds in its first column: checked below).
        if *table != "fault" && *table != "link" {
            // The fields table comes before any `###` subsection (whose tables, such as
            // "What each commit mode models", list values, not fields).
            let fields_table = &text[..text.find("\n### ").unwrap_or(text.len())];
            for field in first_column(fields_table) {
                if !code.contains(&field) {
                    problems.push(format!("{title}: `{field}` is documented but not accepted"));
                }
            }
        }
    }
    // Fault kinds: the `[[fault]]` table's first column against the kinds the code accepts.
    let error =
        ordo::scenario::Scenario::parse("[[fault]]\nat_ms = 1\nkind = \"zzz\"\nnode = \"p0\"\n", "probe.toml", "probe")
            .expect_err("an unknown kind")
            .to_string();
    let kinds: BTreeSet<String> = error
        .split("expected one of ")
        .nth(1)
        .and_then(|rest| rest.split(", got").next())
        .unwrap_or_else(|| panic!("{error}"))
        .split(", ")
        .map(str::to_string)
        .collect();
    let documented: BTreeSet<String> = first_column(section(&format, "`[[fault]]`")).into_iter().collect();
    assert_eq!(documented, kinds, "docs/scenario-format.md's fault kinds against the code's");
    assert!(problems.is_empty(), "docs/scenario-format.md:\n{}", problems.join("\n"));
}

#[test]
fn stop_and_end_reasons_are_documented() {
    // The run's stop reasons: `StopReason::as_str`'s strings, read from the engine's source.
    let sim = read("sim/src/lib.rs");
    let start = sim.find("pub fn as_str(self) -> &'static str").expect("StopReason::as_str");
    let body = &sim[start..start + sim[start..].find("\n    }\n").unwrap()];
    let stop: BTreeSet<String> = body
        .lines()
        .filter(|l| l.contains("StopReason::"))
        .filter_map(|l| l.split('"').nth(1))
        .map(str::to_string)
        .collect();
    assert!(stop.len() >= 3, "{body}");
    let json = read("docs/json.md");
    let row = json.lines().find(|l| l.starts_with("| `stop_reason` |")).expect("docs/json.md has stop_reason");
    let documented: BTreeSet<String> = backticked(row).into_iter().filter(|w| w != "stop_reason").collect();
    assert_eq!(documented, stop, "docs/json.md's stop reasons against StopReason::as_str");

    // The history's end reasons: what the checker accepts, read from its source.
    let ingest = read("src/checker/ingest.rs");
    let line = ingest.lines().find(|l| l.contains("const END_REASONS")).expect("END_REASONS");
    let accepted: BTreeSet<String> = line.split('"').skip(1).step_by(2).map(str::to_string).collect();
    let history = read("docs/history-format.md");
    let end = &history[history.find("`end`: the last line").expect("docs/history-format.md describes end")..];
    let end = &end[..end.find("Any other reason is an error").expect("the list of reasons ends")];
    let documented: BTreeSet<String> = end
        .lines()
        .filter(|l| l.starts_with("- "))
        .flat_map(|l| l.split(':').next().map(backticked).unwrap_or_default())
        .collect();
    assert_eq!(documented, accepted, "docs/history-format.md's end reasons against the checker's END_REASONS");
}

/// One `ordo …` command of a shell block: the arguments, with long sweeps cut down (to
/// `--seeds 2`), so the examples run in seconds. (The cut is the documented marker of
/// what is not run as written.)
fn runnable(line: &str) -> Option<Vec<String>> {
    let command = line.split(" #").next()?.trim();
    let args: Vec<&str> = command.strip_prefix("ordo ")?.split_whitespace().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--seeds" {
            i += 2;
            continue;
        }
        out.push(args[i].to_string());
        i += 1;
    }
    if matches!(out.first().map(String::as_str), Some("sweep" | "matrix" | "explore")) {
        out.extend(["--seeds".to_string(), "2".to_string()]);
    }
    Some(out)
}

#[test]
fn every_ordo_command_in_the_docs_runs() {
    // In a scratch directory, so files the examples write (run.jsonl) stay out of the
    // repository; scenario paths like scenarios/quickstart.toml resolve to the bundled ones.
    let dir = std::env::temp_dir().join(format!("ordo-docs-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut ran = 0;
    let mut failures = Vec::new();
    for file in markdown_files() {
        let mut in_shell = false;
        for (n, line) in read(&file).lines().enumerate() {
            if line.starts_with("```") {
                in_shell = !in_shell && (line == "```sh" || line == "```bash" || line == "```console");
                continue;
            }
            let Some(args) = in_shell.then(|| runnable(line)).flatten() else { continue };
            let output = Command::new(env!("CARGO_BIN_EXE_ordo"))
                .args(&args)
                .current_dir(&dir)
                .output()
                .expect("the ordo binary runs");
            ran += 1;
            // `check` exits 1 when it finds a violation (the documented answer); anything
            // else must succeed.
            let ok = match output.status.code() {
                Some(0) => true,
                Some(1) => args[0] == "check" || args.iter().any(|a| a == "--fail-on-violation"),
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{file}:{}: ordo {} exited {:?}: {}",
                    n + 1,
                    args.join(" "),
                    output.status.code(),
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(ran >= 10, "ran only {ran} documented commands: is the scanner broken?");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The pages whose quoted output is held to what ordo prints: the workshop and the cheat
/// sheet.
fn quoting_pages() -> Vec<String> {
    markdown_files().into_iter().filter(|f| f.starts_with("docs/workshop/") || f == "docs/cheatsheet.md").collect()
}

/// Collapses runs of blanks, so a quoted line is compared word for word (column padding
/// may change, the words and figures may not).
fn words(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// In the workshop and the cheat sheet, a ```console block holds commands (`$ ordo …`),
/// each followed by lines quoted from its output. Every command is run as written (no cut
/// of `--seeds`), in file order in one scratch directory per page (so `run --history
/// ex1.jsonl` comes before `check ex1.jsonl`), and every quoted line must be a line of its
/// standard output, in the order quoted (lines may be left out between them). So every
/// figure a page quotes is what ordo prints.
#[test]
fn workshop_quotes_are_what_ordo_prints() {
    let pages = quoting_pages();
    assert!(pages.iter().filter(|p| p.starts_with("docs/workshop/")).count() >= 8, "{pages:?}");
    let mut failures = Vec::new();
    let mut commands = 0;
    for page in &pages {
        let dir = std::env::temp_dir().join(format!("ordo-workshop-{}-{}", std::process::id(), page.replace('/', "_")));
        std::fs::create_dir_all(&dir).unwrap();
        let mut in_console = false;
        let mut current: Option<(usize, Vec<String>, Vec<String>)> = None;
        let mut blocks: Vec<(usize, Vec<String>, Vec<String>)> = Vec::new();
        for (n, line) in read(page).lines().enumerate() {
            if line.starts_with("```") {
                in_console = !in_console && line == "```console";
                blocks.extend(current.take());
                continue;
            }
            if !in_console {
                continue;
            }
            if let Some(command) = line.strip_prefix("$ ") {
                blocks.extend(current.take());
                let command = command.split(" #").next().unwrap().trim();
                let args: Vec<String> = command.split_whitespace().map(str::to_string).collect();
                assert_eq!(args.first().map(String::as_str), Some("ordo"), "{page}:{}: only ordo commands", n + 1);
                current = Some((n + 1, args[1..].to_vec(), Vec::new()));
            } else if !line.trim().is_empty() && line.trim() != "…" {
                let (_, _, quoted) =
                    current.as_mut().unwrap_or_else(|| panic!("{page}:{}: output before a command", n + 1));
                quoted.push(words(line));
            }
        }
        blocks.extend(current.take());
        for (line, args, quoted) in blocks {
            commands += 1;
            let output =
                Command::new(env!("CARGO_BIN_EXE_ordo")).args(&args).current_dir(&dir).output().expect("ordo runs");
            if !matches!(output.status.code(), Some(0 | 1)) {
                failures.push(format!(
                    "{page}:{line}: ordo {} exited {:?}: {}",
                    args.join(" "),
                    output.status.code(),
                    String::from_utf8_lossy(&output.stderr)
                ));
                continue;
            }
            let stdout = String::from_utf8_lossy(&output.stdout);
            let mut printed = stdout.lines().map(words);
            for quote in &quoted {
                if !printed.any(|l| &l == quote) {
                    failures.push(format!(
                        "{page}:{line}: ordo {} does not print (in this order) the quoted line\n    {quote}\n  it printed:\n{stdout}",
                        args.join(" ")
                    ));
                    break;
                }
            }
        }
        std::fs::remove_dir_all(&dir).ok();
    }
    assert!(commands >= 30, "ran only {commands} quoted commands: is the scanner broken?");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// docs/cheatsheet.md as it is, and as it should be: its strategy table made from the
/// registry (name, side and settings, promise in `ordo list`'s words) with the cost column
/// kept from the page; and the strategies that have no cost written yet.
fn cheat_sheet_pages() -> (String, String, Vec<&'static str>) {
    let page = read("docs/cheatsheet.md");
    let (begin, end) = ("<!-- strategies:begin -->\n", "<!-- strategies:end -->");
    let start = page.find(begin).expect("the strategies:begin marker") + begin.len();
    let stop = page.find(end).expect("the strategies:end marker");
    let costs: Vec<(String, String)> = page[start..stop]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            (
                cells[0].trim_start_matches("| ").trim_matches('`').to_string(),
                cells[3].trim_end_matches(" |").to_string(),
            )
        })
        .collect();
    let mut table = String::from("| strategy | side: settings | promise | cost |\n|---|---|---|---|\n");
    let mut missing = Vec::new();
    for strategy in ordo::strategy::all() {
        let settings: Vec<String> = strategy.settings().iter().map(ToString::to_string).collect();
        let cost = costs.iter().find(|(n, _)| n == strategy.name()).map(|(_, c)| c.clone()).unwrap_or_else(|| {
            missing.push(strategy.name());
            "(cost to be written)".to_string()
        });
        table.push_str(&format!(
            "| `{}` | {}: {} | {} | {} |\n",
            strategy.name(),
            ordo::strategy::sides(*strategy),
            settings.join(", "),
            strategy.summary(),
            cost
        ));
    }
    let expected = format!("{}{table}{}", &page[..start], &page[stop..]);
    (page, expected, missing)
}

/// docs/cheatsheet.md's strategy table is the registry's (see [`cheat_sheet_pages`]).
/// With `ORDO_BLESS=1` the test writes the table instead of comparing; a new strategy then
/// needs its cost written in.
#[test]
fn the_cheat_sheet_lists_every_strategy_as_the_registry_does() {
    let (page, expected, missing) = cheat_sheet_pages();
    if std::env::var_os("ORDO_BLESS").is_some() {
        if page != expected {
            std::fs::write(root().join("docs/cheatsheet.md"), &expected).unwrap();
        }
    } else {
        assert!(
            page == expected,
            "docs/cheatsheet.md's strategy table against the registry (ORDO_BLESS=1 rewrites it)"
        );
    }
    assert!(missing.is_empty(), "docs/cheatsheet.md: write the cost of {missing:?}");
}

/// Inline markdown of the cheat sheet as HTML: escapes, `code` and [text](target).
fn inline_html(text: &str) -> String {
    let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut out = String::new();
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("<code>{part}</code>"));
            continue;
        }
        let mut rest = part;
        while let Some(open) = rest.find('[') {
            let Some(mid) = rest[open..].find("](").map(|m| open + m) else { break };
            let Some(close) = rest[mid..].find(')').map(|c| mid + c) else { break };
            out.push_str(&rest[..open]);
            out.push_str(&format!("<a href=\"{}\">{}</a>", &rest[mid + 2..close], &rest[open + 1..mid]));
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
    }
    out
}

/// docs/cheatsheet.md as one print-friendly HTML page (A4 landscape): headings,
/// paragraphs, tables and code blocks, the only markdown the sheet uses.
fn cheat_sheet_html(markdown: &str) -> String {
    let mut body = String::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut table: Vec<&str> = Vec::new();
    let mut code: Option<Vec<&str>> = None;
    let flush = |body: &mut String, paragraph: &mut Vec<&str>, table: &mut Vec<&str>| {
        if !paragraph.is_empty() {
            body.push_str(&format!("<p>{}</p>\n", inline_html(&paragraph.join(" "))));
            paragraph.clear();
        }
        if !table.is_empty() {
            body.push_str("<table>\n");
            for (i, row) in table.iter().filter(|r| !r.starts_with("|---")).enumerate() {
                let cell = if i == 0 { "th" } else { "td" };
                let cells: Vec<String> = row
                    .trim()
                    .trim_matches('|')
                    .split(" | ")
                    .map(|c| format!("<{cell}>{}</{cell}>", inline_html(c.trim())))
                    .collect();
                body.push_str(&format!("<tr>{}</tr>\n", cells.concat()));
            }
            body.push_str("</table>\n");
            table.clear();
        }
    };
    for line in markdown.lines() {
        if let Some(lines) = code.as_mut() {
            if line.starts_with("```") {
                let text = lines.join("\n").replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
                body.push_str(&format!("<pre>{text}</pre>\n"));
                code = None;
            } else {
                lines.push(line);
            }
            continue;
        }
        if line.starts_with("```") {
            flush(&mut body, &mut paragraph, &mut table);
            code = Some(Vec::new());
        } else if line.starts_with("<!--") {
            continue;
        } else if line.starts_with('|') {
            if !paragraph.is_empty() {
                flush(&mut body, &mut paragraph, &mut Vec::new());
            }
            table.push(line);
        } else if line.trim().is_empty() {
            flush(&mut body, &mut paragraph, &mut table);
        } else if let Some(h) = line.strip_prefix("## ") {
            flush(&mut body, &mut paragraph, &mut table);
            body.push_str(&format!("<h2>{}</h2>\n", inline_html(h)));
        } else if let Some(h) = line.strip_prefix("# ") {
            flush(&mut body, &mut paragraph, &mut table);
            body.push_str(&format!("<h1>{}</h1>\n", inline_html(h)));
        } else {
            paragraph.push(line);
        }
    }
    flush(&mut body, &mut paragraph, &mut table);
    format!(
        "<!DOCTYPE html>\n<!-- Generated from docs/cheatsheet.md by tests/docs.rs (ORDO_BLESS=1 cargo test --test docs \
cheat_sheet); do not edit. -->\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>ordo cheat sheet</title>\n\
<style>\n@page {{ size: A4 landscape; margin: 8mm; }}\nbody {{ font: 7pt/1.15 sans-serif; margin: 0 auto; max-width: 281mm; }}\n\
h1 {{ font-size: 13pt; margin: 0 0 2pt; }}\nh2 {{ font-size: 9pt; margin: 4pt 0 1pt; }}\np {{ margin: 2pt 0; }}\n\
table {{ border-collapse: collapse; width: 100%; }}\nth, td {{ border: 0.5pt solid #999; padding: 1pt 3pt; vertical-align: top; text-align: left; }}\n\
th {{ background: #eee; }}\ncode, pre {{ font: 6.5pt monospace; }}\ntd:first-child code {{ white-space: nowrap; }}\npre {{ margin: 2pt 0; white-space: pre-wrap; columns: 2; }}\n\
a {{ color: inherit; }}\n</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )
}

/// docs/cheatsheet.html is docs/cheatsheet.md as a print-friendly page, generated; with
/// `ORDO_BLESS=1` the test writes it.
#[test]
fn the_printable_cheat_sheet_is_the_markdown_one() {
    // From the page as it should be (the same when the test above passes), so a blessing
    // run writes both in one go, whatever order the two tests run in.
    let html = cheat_sheet_html(&cheat_sheet_pages().1);
    let path = root().join("docs/cheatsheet.html");
    if std::env::var_os("ORDO_BLESS").is_some() && std::fs::read_to_string(&path).ok().as_deref() != Some(&html) {
        std::fs::write(&path, &html).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(on_disk == html, "docs/cheatsheet.html is not docs/cheatsheet.md's rendering (ORDO_BLESS=1 rewrites it)");
    for strategy in ordo::strategy::all() {
        assert!(html.contains(&format!("<td><code>{}</code></td>", strategy.name())), "{}", strategy.name());
    }
    assert_eq!(inline_html("a `b<c>` [d](e.md) & f"), "a <code>b&lt;c&gt;</code> <a href=\"e.md\">d</a> &amp; f");
}

/// A time with decimals that a workshop page states in its prose (`718.282 ms`, `48.3 s`)
/// is a figure (a word) of the lines its console blocks quote, which the test above holds to what
/// ordo prints: prose cannot keep a figure the output no longer has.
#[test]
fn workshop_prose_times_are_quoted_figures() {
    let pages: Vec<(String, String)> =
        quoting_pages().into_iter().filter(|p| p.starts_with("docs/workshop/")).map(|p| (read(&p), p)).collect();
    let mut quoted = String::new();
    let mut prose: Vec<(String, String)> = Vec::new();
    for (text, page) in &pages {
        let mut in_console = false;
        for line in text.lines() {
            if line.starts_with("```") {
                in_console = !in_console && line == "```console";
            } else if in_console {
                quoted.push_str(&words(line));
                quoted.push('\n');
            } else {
                prose.push((page.clone(), line.to_string()));
            }
        }
    }
    let mut checked = 0;
    let mut stale = Vec::new();
    for (page, line) in &prose {
        let tokens: Vec<&str> = line.split(|c: char| c.is_whitespace() || "(),;`*".contains(c)).collect();
        for pair in tokens.windows(2) {
            let (number, unit) = (pair[0], pair[1]);
            let decimal = number.split_once('.').is_some_and(|(a, b)| {
                !a.is_empty() && !b.is_empty() && a.chars().chain(b.chars()).all(|c| c.is_ascii_digit())
            });
            if decimal && matches!(unit, "ms" | "s") {
                checked += 1;
                // As a word of a quoted line (a sweep row names the unit in its counter).
                if !quoted.split(|c: char| c.is_whitespace() || "(),:;".contains(c)).any(|w| w == number) {
                    stale.push(format!("{page}: {number} {unit} (in: {})", line.trim()));
                }
            }
        }
    }
    assert!(checked >= 5, "found only {checked} times in the workshop's prose");
    assert!(stale.is_empty(), "times the workshop states but none of its quoted outputs shows:\n{}", stale.join("\n"));
}
