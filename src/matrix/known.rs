//! What the project documents as possible per scenario and strategy
//! (`docs/known-outcomes.toml`, the machine-readable half of docs/known-outcomes.md):
//! the matrix marks a cell *expected* or *surprise* by it and groups rows by its fault
//! families.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The letters of docs/known-outcomes.md: reorder, duplicate, loss, causality inversion,
/// visible skip, dropped (lost) update.
pub const LETTERS: [&str; 6] = ["R", "D", "L", "CI", "S", "U"];

/// The family of a scenario the file does not list.
pub const OTHER_FAMILY: &str = "other (not in docs/known-outcomes.toml)";

/// The file's text, embedded at build time.
pub const TEXT: &str = include_str!("../../docs/known-outcomes.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Known {
    /// Per checker kind, the letters that explain it.
    pub kinds: BTreeMap<String, Vec<String>>,
    pub scenario: Vec<ScenarioRow>,
    pub strategy: Vec<StrategyRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioRow {
    pub name: String,
    pub family: String,
    pub can: Vec<String>,
    pub never: Vec<String>,
    /// The strategies that give the protection the row demonstrates: in a column with
    /// none of them, `unprotected` can happen too.
    #[serde(default)]
    pub protected_by: Vec<String>,
    #[serde(default)]
    pub unprotected: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyRow {
    pub name: String,
    pub can: Vec<String>,
}

/// The parsed file (a unit test holds it well-formed).
pub fn known() -> &'static Known {
    static KNOWN: OnceLock<Known> = OnceLock::new();
    KNOWN.get_or_init(|| toml::from_str(TEXT).expect("docs/known-outcomes.toml parses (a unit test checks it)"))
}

impl Known {
    pub fn scenario(&self, name: &str) -> Option<&ScenarioRow> {
        self.scenario.iter().find(|s| s.name == name)
    }

    /// The scenario's fault family.
    pub fn family(&self, scenario: &str) -> &str {
        self.scenario(scenario).map_or(OTHER_FAMILY, |s| s.family.as_str())
    }

    /// The families in the file's order, then [`OTHER_FAMILY`].
    pub fn families(&self) -> Vec<&str> {
        let mut families: Vec<&str> = Vec::new();
        for row in &self.scenario {
            if !families.contains(&row.family.as_str()) {
                families.push(&row.family);
            }
        }
        families.push(OTHER_FAMILY);
        families
    }

    /// A scenario's place in the file (unlisted ones after every listed one).
    pub fn rank(&self, scenario: &str) -> usize {
        self.scenario.iter().position(|s| s.name == scenario).unwrap_or(usize::MAX)
    }

    /// The letters documented as possible in a cell: the scenario's row's, its
    /// `unprotected` ones when the strategy set (`a+b`) lacks its `protected_by`, and
    /// every member's of the strategy set.
    pub fn can(&self, scenario: &str, strategy: &str) -> Vec<&str> {
        let mut letters: Vec<&str> = Vec::new();
        if let Some(row) = self.scenario(scenario) {
            letters.extend(row.can.iter().map(String::as_str));
            if !row.protected_by.is_empty() && !strategy.split('+').any(|m| row.protected_by.iter().any(|by| by == m)) {
                letters.extend(row.unprotected.iter().map(String::as_str));
            }
        }
        for member in strategy.split('+') {
            if let Some(row) = self.strategy.iter().find(|s| s.name == member) {
                letters.extend(row.can.iter().map(String::as_str));
            }
        }
        letters.sort_unstable();
        letters.dedup();
        letters
    }

    /// The violated kinds of a cell that no documented letter explains (empty: expected).
    pub fn unexplained<'k>(&self, scenario: &str, strategy: &str, kinds: &[&'k str]) -> Vec<&'k str> {
        let can = self.can(scenario, strategy);
        kinds
            .iter()
            .copied()
            .filter(|kind| {
                let letters = self.kinds.get(*kind).map(Vec::as_slice).unwrap_or(&[]);
                !letters.iter().any(|letter| can.contains(&letter.as_str()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_parses_and_uses_only_known_letters_kinds_and_strategies() {
        let known = known();
        let letter_ok = |l: &String| LETTERS.contains(&l.as_str());
        for (kind, letters) in &known.kinds {
            assert!(crate::checker::Kind::ALL.iter().any(|k| k.name() == kind), "unknown kind {kind}");
            assert!(letters.iter().all(letter_ok), "{kind}: {letters:?}");
        }
        for row in &known.scenario {
            assert!(row.can.iter().chain(&row.never).chain(&row.unprotected).all(letter_ok), "{}", row.name);
            assert_eq!(row.protected_by.is_empty(), row.unprotected.is_empty(), "{}", row.name);
            assert!(row.protected_by.iter().all(|by| known.strategy.iter().any(|s| &s.name == by)), "{}", row.name);
            assert!(!row.can.iter().any(|l| row.never.contains(l)), "{}: a letter both can and never", row.name);
        }
        let mut names: Vec<&str> = known.strategy.iter().map(|s| s.name.as_str()).collect();
        let mut registered: Vec<&str> = crate::strategy::all().iter().map(|s| s.name()).collect();
        names.sort_unstable();
        registered.sort_unstable();
        assert_eq!(names, registered, "one entry per registered strategy");
        for row in &known.strategy {
            assert!(row.can.iter().all(letter_ok), "{}", row.name);
        }
    }

    #[test]
    fn a_cell_is_expected_when_a_letter_explains_every_kind() {
        let known = known();
        // quickstart can reorder and duplicate; nothing documents a causality inversion
        // for vector clocks.
        assert!(known.unexplained("quickstart", "key", &["per_key_reorder", "final_state"]).is_empty());
        assert_eq!(known.unexplained("quickstart", "vector-clock", &["causality_inversion"]), ["causality_inversion"]);
        // The strategy's letters count too: unkeyed brings reorders anywhere.
        assert!(known.unexplained("idempotent-producer", "unkeyed", &["per_key_reorder"]).is_empty());
        assert_eq!(known.unexplained("idempotent-producer", "key", &["per_key_reorder"]), ["per_key_reorder"]);
        // A checker bug kind is never explained.
        assert_eq!(known.unexplained("quickstart", "key", &["zombie_commit"]), ["zombie_commit"]);
        // Without the strategy a row demonstrates, what it protects against is documented.
        assert!(known.unexplained("lamport-late-producer", "key", &["causality_inversion"]).is_empty());
        // (vector clocks bring nothing of their own; lamport and hlc reorder across a
        // rebalance, so their R is explained anywhere.)
        assert_eq!(
            known.unexplained("lamport-late-producer", "vector-clock", &["per_key_reorder"]),
            ["per_key_reorder"]
        );
        assert_eq!(
            known.unexplained("lamport-late-producer", "hlc", &["causality_inversion"]),
            ["causality_inversion"]
        );
        assert_eq!(known.family("quickstart"), "producer retries and idempotence");
        assert_eq!(known.family("my-own"), OTHER_FAMILY);
    }
}
