//! Every bundled scenario is a lesson with a quiz (`[quiz]`: a question, its choices, the
//! answer, and claims that make the answer checkable), and every answer is what ordo shows
//! at the seeds the quiz names: each claim is checked by running those seeds, judged by
//! the checker and the run's counters (as `ordo explain NAME --answer` does). And
//! `--quiz` asks without giving the answer away.

use std::path::{Path, PathBuf};
use std::process::Command;

use ordo::scenario::quiz::{parse_claim, Quantifier};
use ordo::strategy::StrategySet;

fn ordo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ordo")).args(args).output().expect("the ordo binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_bundled_scenario_has_a_quiz_whose_answer_ordo_shows() {
    let catalog = ordo::bundled::catalog(None).unwrap();
    assert!(catalog.len() >= 30, "{} bundled scenarios", catalog.len());
    let mut problems = Vec::new();
    for source in &catalog {
        let scenario = source.load(&[]).unwrap();
        let Some(quiz) = scenario.quiz.clone() else {
            problems.push(format!("{}: no [quiz]", source.stem));
            continue;
        };
        // Multiple choice for every bundled lesson, with the answer among the choices.
        if quiz.choices.len() < 2 || quiz.answer_choice.is_none() {
            problems.push(format!("{}: not a multiple-choice question", source.stem));
        }
        if quiz.why.is_empty() {
            problems.push(format!("{}: the answer says no why", source.stem));
        }
        let strategy = StrategySet::parse(&scenario.strategy).unwrap();
        let checked = ordo::quiz::check(&scenario, &source.path, &strategy, &quiz)
            .unwrap_or_else(|e| panic!("{}: {e}", source.stem));
        assert_eq!(checked.len(), quiz.claims.len());
        for c in checked.iter().filter(|c| !c.holds) {
            problems.push(format!(
                "{}: the answer claims `{}` at seeds {}, ordo shows {}",
                source.stem,
                c.claim.text,
                quiz.seeds_text(),
                c.seen
            ));
        }
    }
    assert!(problems.is_empty(), "lessons whose quiz is missing or wrong:\n{}", problems.join("\n"));
}

#[test]
fn every_lesson_points_to_the_known_outcomes_in_the_repository() {
    for source in ordo::bundled::catalog(None).unwrap() {
        let lesson = ordo::cli::lesson_paragraphs(&source.text).join("\n");
        let sources =
            &lesson[lesson.find("Source").unwrap_or_else(|| panic!("{}: no Source paragraph", source.stem))..];
        assert!(
            sources.contains("docs/known-outcomes.md"),
            "{}: its sources do not name docs/known-outcomes.md",
            source.stem
        );
    }
}

#[test]
fn a_claim_that_ordo_does_not_show_fails() {
    // The quickstart at seed 3 reorders and duplicates: each claim's opposite fails, so the
    // check above is not vacuous.
    let source = ordo::bundled::resolve("quickstart", None).unwrap();
    let scenario = source.load(&[]).unwrap();
    let mut quiz = scenario.quiz.clone().unwrap();
    let strategy = StrategySet::parse(&scenario.strategy).unwrap();
    quiz.claims =
        ["per_key_reorder = 0", "duplicate_apply = 0", "violations = 0", "applies < 60", "duplicate_apply > 0"]
            .iter()
            .map(|c| parse_claim(c).unwrap())
            .collect();
    let checked = ordo::quiz::check(&scenario, &source.path, &strategy, &quiz).unwrap();
    let holds: Vec<bool> = checked.iter().map(|c| c.holds).collect();
    assert_eq!(holds, [false, false, false, false, true], "{checked:#?}");
    // "in some seed" and statistics over seeds 1..20: the quickstart duplicates in 18 of
    // them, so "every" fails and "some" holds.
    quiz.seeds = (1..=20).collect();
    quiz.claims =
        ["duplicate_apply > 0", "duplicate_apply > 0 in some seed", "min duplicate_apply = 0", "max applies > 60"]
            .iter()
            .map(|c| parse_claim(c).unwrap())
            .collect();
    assert_eq!(quiz.claims[2].quantifier, Quantifier::Percentile(0));
    let checked = ordo::quiz::check(&scenario, &source.path, &strategy, &quiz).unwrap();
    let holds: Vec<bool> = checked.iter().map(|c| c.holds).collect();
    assert_eq!(holds, [false, true, true, true], "{checked:#?}");
    assert!(checked[0].seen.starts_with("in 18 of 20 seeds"), "{}", checked[0].seen);

    // Times compare at the precision written, and show in the unit written: the
    // commit-before-crash run lasts 48302.580 ms (the restarted member waits for the old
    // one's session to expire).
    let source = ordo::bundled::resolve("commit-before-crash", None).unwrap();
    let scenario = source.load(&[]).unwrap();
    let mut quiz = scenario.quiz.clone().unwrap();
    let strategy = StrategySet::parse(&scenario.strategy).unwrap();
    quiz.claims = ["sim_time_ns = 48.3 s", "sim_time_ns = 48.2 s", "sim_time_ns = 48302.6 ms", "sim_time_ns > 48 s"]
        .iter()
        .map(|c| parse_claim(c).unwrap())
        .collect();
    let checked = ordo::quiz::check(&scenario, &source.path, &strategy, &quiz).unwrap();
    let holds: Vec<bool> = checked.iter().map(|c| c.holds).collect();
    assert_eq!(holds, [true, false, true, true], "{checked:#?}");
    assert_eq!(checked[0].seen, "seed 1: 48.303 s");
    assert_eq!(checked[2].seen, "seed 1: 48302.580 ms");
}

#[test]
fn quiz_asks_without_the_answer_and_answer_checks_it() {
    for source in ordo::bundled::catalog(None).unwrap() {
        let name = source.stem.as_str();
        let scenario = source.load(&[]).unwrap();
        let quiz = scenario.quiz.clone().unwrap();
        let asked = ordo(&["explain", name, "--quiz"]);
        assert_eq!(asked.status.code(), Some(0), "{name}: {}", text(&asked.stderr));
        let asked = text(&asked.stdout);
        assert!(asked.contains(&quiz.question), "{name}: --quiz shows the question");
        assert!(asked.contains("The story."), "{name}: --quiz shows the story");
        for (i, choice) in quiz.choices.iter().enumerate() {
            assert!(asked.contains(&format!("{}) {choice}", (b'A' + i as u8) as char)), "{name}: choice {i}");
        }
        // Nothing that gives the answer away: the prediction, what to look for, the
        // summary line (it names the outcome), the answer's why, the title line.
        for secret in ["Predict.", "Look for.", "Answer:", &quiz.why, &scenario.summary] {
            assert!(!asked.contains(secret), "{name}: --quiz shows {secret:?}:\n{asked}");
        }
        let title = source.text.lines().next().unwrap().trim_start_matches("# ");
        assert!(!asked.contains(title), "{name}: --quiz shows the title {title:?}");
        assert!(asked.contains(&format!("ordo explain {name} --answer")), "{name}: --quiz says how to see the answer");
    }
    // --answer: the answer, its why, and every claim checked (exit 0).
    let answered = ordo(&["explain", "quickstart", "--answer"]);
    assert_eq!(answered.status.code(), Some(0), "{}", text(&answered.stderr));
    let answered = text(&answered.stdout);
    for wanted in [
        "Answer: D) both: events out of order and events applied twice",
        "Why: A lost request",
        "What ordo shows, checked now (seed 3, strategy key):",
        "  holds: per_key_reorder > 0",
        "(seed 3: 10)",
        "Predict. A lost request",
    ] {
        assert!(answered.contains(wanted), "--answer lacks {wanted:?}:\n{answered}");
    }
    assert!(!answered.contains("DOES NOT HOLD"));
    // The plain lesson points at the quiz.
    let lesson = text(&ordo(&["explain", "quickstart"]).stdout);
    assert!(lesson.contains("ordo explain quickstart --quiz"), "{lesson}");
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ordo-quiz-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn with_quiz(dir: &Path, quiz: &str) -> String {
    let path = dir.join("mine.toml");
    let base = ordo::bundled::resolve("quickstart", None).unwrap().text;
    let base = &base[..base.find("\n# The quiz").expect("quickstart has a quiz")];
    std::fs::write(&path, format!("{base}\n[quiz]\n{quiz}")).unwrap();
    path.display().to_string()
}

#[test]
fn a_wrong_answer_exits_1_and_a_bad_quiz_exits_2_naming_the_field() {
    let dir = scratch("cli");
    let wrong = with_quiz(
        &dir,
        "question = \"Q?\"\nchoices = [\"x\", \"y\"]\nanswer = \"A\"\nseeds = [3]\nclaims = [\"per_key_reorder = 0\"]\n",
    );
    let out = ordo(&["explain", &wrong, "--answer"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("DOES NOT HOLD: per_key_reorder = 0  (seed 3: 10)"), "{stdout}");
    assert!(stdout.contains("the lesson is wrong"), "{stdout}");

    let unknown = with_quiz(&dir, "question = \"Q?\"\nanswer = \"open\"\nseeds = [3]\nclaims = [\"reorders > 0\"]\n");
    let out = ordo(&["explain", &unknown, "--answer"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("field `quiz.claims[0]`") && stderr.contains("`reorders`"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let malformed =
        with_quiz(&dir, "question = \"Q?\"\nanswer = \"open\"\nseeds = \"20\"\nclaims = [\"applies > 0\"]\n");
    for args in [vec!["explain", malformed.as_str(), "--quiz"], vec!["run", malformed.as_str()]] {
        let out = ordo(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("mine.toml: field `quiz.seeds`: expected a range A..B"), "{stderr}");
    }

    // No [quiz]: --quiz and --answer are input errors; the lesson still prints.
    let bare = dir.join("bare.toml");
    std::fs::write(&bare, "# A lesson.\nname = \"bare\"\n").unwrap();
    let bare = bare.display().to_string();
    for flag in ["--quiz", "--answer"] {
        let out = ordo(&["explain", &bare, flag]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(text(&out.stderr).contains("has no [quiz] table"), "{}", text(&out.stderr));
    }
    assert_eq!(ordo(&["explain", &bare]).status.code(), Some(0));
    // --quiz and --answer together are refused by the parser.
    assert_eq!(ordo(&["explain", "quickstart", "--quiz", "--answer"]).status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_quiz_never_changes_a_run() {
    // The same scenario with and without its [quiz] gives the same history.
    let source = ordo::bundled::resolve("quickstart", None).unwrap();
    let without = &source.text[..source.text.find("\n# The quiz").unwrap()];
    let fingerprint = |text: &str| {
        let scenario = ordo::scenario::Scenario::parse(text, "q.toml", "quickstart").unwrap();
        let result = ordo::run::run(ordo::run::RunSpec {
            scenario,
            scenario_path: Path::new("q.toml"),
            strategy: StrategySet::parse("key").unwrap(),
            seed: 3,
            history_mode: ordo::history::HistoryMode::On,
            history_file: None,
            keep_history: false,
        })
        .unwrap();
        result.history.sha256.clone().expect("a fingerprint")
    };
    assert_eq!(fingerprint(&source.text), fingerprint(without));
}
