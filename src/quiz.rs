//! Checks a lesson's quiz: runs the scenario at the seeds its `[quiz]` names (as `ordo
//! sweep` runs a seed: compact history, judged by the checker) and tells, claim by claim,
//! whether what ordo shows is what the answer says. `ordo explain NAME --answer` prints
//! it; tests/quiz.rs holds every bundled scenario's answer to it.

use std::path::Path;

use crate::checker::Status;
use crate::scenario::quiz::{Claim, Quantifier};
use crate::scenario::{Quiz, Scenario};
use crate::strategy::StrategySet;
use crate::sweep::{nearest_rank, run_seed, SeedOutcome, SeedRange, SweepSpec};

/// One claim, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub claim: Claim,
    pub holds: bool,
    /// What was seen, in words (`in 18 of 20 seeds; max 12`, `min 3, max 20`).
    pub seen: String,
}

/// Why a quiz could not be checked (bad input: the CLI exits 2).
#[derive(Debug, thiserror::Error)]
pub enum QuizError {
    #[error("{0}")]
    Input(String),
    #[error("seed {seed}: {reason}")]
    Run { seed: u64, reason: String },
}

/// The value a claim's name has in one seed's outcome: an anomaly kind's count (violated
/// or allowed), `violations` (the count of anomalies that break what the scenario
/// expects), or a counter; `None` for a counter the run has no value of.
fn value_of(outcome: &SeedOutcome, name: &str) -> Result<Option<u64>, String> {
    if name == "violations" {
        return Ok(Some(outcome.anomalies.iter().filter(|a| a.1 == Status::Violated).map(|a| a.2).sum()));
    }
    if crate::checker::Kind::ALL.iter().any(|k| k.name() == name) {
        return Ok(Some(outcome.anomalies.iter().filter(|a| a.0.name() == name).map(|a| a.2).sum()));
    }
    match outcome.metrics.iter().find(|(n, _)| *n == name) {
        Some((_, value)) => Ok(*value),
        None => Err(format!(
            "`{name}` is neither an anomaly kind (docs/checker.md), `violations`, nor a counter of `ordo run --json` \
(docs/json.md)"
        )),
    }
}

fn show(claim: &Claim, value: u64) -> String {
    if claim.unit == "s" {
        format!("{:.3} s", value as f64 / 1e9)
    } else if claim.name.ends_with("_ns") {
        format!("{:.3} ms", value as f64 / 1e6)
    } else {
        value.to_string()
    }
}

/// Runs the scenario (with `strategy`) at every seed of the quiz and checks each claim.
pub fn check(scenario: &Scenario, path: &Path, strategy: &StrategySet, quiz: &Quiz) -> Result<Vec<Checked>, QuizError> {
    let mut outcomes = Vec::with_capacity(quiz.seeds.len());
    for &seed in &quiz.seeds {
        let spec = SweepSpec {
            scenario: scenario.clone(),
            scenario_path: path,
            strategy: StrategySet { members: strategy.members.clone() },
            seeds: SeedRange { first: seed, last: seed },
            threads: 1,
            progress: false,
        };
        outcomes.push(run_seed(&spec, seed).map_err(|e| QuizError::Run { seed, reason: e.to_string() })?);
    }
    let mut checked = Vec::with_capacity(quiz.claims.len());
    for (index, claim) in quiz.claims.iter().enumerate() {
        let field = format!("{}: field `quiz.claims[{index}]`", path.display());
        let mut values = Vec::with_capacity(outcomes.len());
        for outcome in &outcomes {
            match value_of(outcome, &claim.name).map_err(|e| QuizError::Input(format!("{field}: {e}")))? {
                Some(value) => values.push(value),
                None => {
                    return Err(QuizError::Input(format!(
                        "{field}: seed {} has no `{}` (a latency or throughput of a run that applied nothing)",
                        outcome.seed, claim.name
                    )))
                }
            }
        }
        let holding = values.iter().filter(|&&v| claim.op.holds(claim.round(v), claim.bound)).count();
        let (min, max) = (values.iter().copied().min().unwrap_or(0), values.iter().copied().max().unwrap_or(0));
        let n = values.len();
        let range = if n == 1 {
            format!("seed {}: {}", quiz.seeds[0], show(claim, min))
        } else {
            format!("min {}, max {}", show(claim, min), show(claim, max))
        };
        let (holds, seen) = match claim.quantifier {
            Quantifier::Every => {
                (holding == n, if n == 1 { range } else { format!("in {holding} of {n} seeds; {range}") })
            }
            Quantifier::Some => (holding > 0, format!("in {holding} of {n} seeds; {range}")),
            Quantifier::Percentile(p) => {
                let mut sorted = values.clone();
                sorted.sort_unstable();
                let stat = nearest_rank(&sorted, p);
                let label = match p {
                    0 => "min".to_string(),
                    100 => "max".to_string(),
                    p => format!("p{p}"),
                };
                (
                    claim.op.holds(claim.round(stat), claim.bound),
                    format!("{label} {} over {n} seeds", show(claim, stat)),
                )
            }
        };
        checked.push(Checked { claim: claim.clone(), holds, seen });
    }
    Ok(checked)
}
