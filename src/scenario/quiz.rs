//! `[quiz]`: a lesson's question, its answer, and the claims that make the answer
//! checkable against what ordo shows at the seeds it names (`ordo explain NAME --quiz`
//! asks, `--answer` answers and checks the claims; `crate::quiz` runs them).

use serde::Deserialize;

use super::{ScenarioError, Validator};

/// The most seeds a quiz may name (each is one run when the answer is checked).
pub const MAX_QUIZ_SEEDS: u64 = 200;
/// The most choices a multiple-choice question may have (letters A to H).
pub const MAX_CHOICES: usize = 8;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQuiz {
    question: Option<String>,
    choices: Option<Vec<String>>,
    answer: Option<String>,
    why: Option<String>,
    seeds: Option<RawSeeds>,
    claims: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSeeds {
    List(Vec<u64>),
    Range(String),
}

/// A validated `[quiz]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quiz {
    pub question: String,
    /// Multiple choice: the choices, shown as A), B), …; empty for an open question.
    pub choices: Vec<String>,
    /// For multiple choice, the index of the right choice; else `None`.
    pub answer_choice: Option<usize>,
    /// The answer as written (a letter for multiple choice).
    pub answer: String,
    /// Why: the explanation shown with the answer (may be empty).
    pub why: String,
    /// The seeds the claims are checked at, ascending, no repeats.
    pub seeds: Vec<u64>,
    /// What ordo must show at those seeds for the answer to be right.
    pub claims: Vec<Claim>,
}

impl Quiz {
    /// The seeds as a reader types them: `3`, `1..20`, or `1, 5, 9`.
    pub fn seeds_text(&self) -> String {
        match self.seeds.as_slice() {
            [one] => one.to_string(),
            [first, .., last] if last - first + 1 == self.seeds.len() as u64 => format!("{first}..{last}"),
            seeds => seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
        }
    }

    /// The right answer in words: `B) the text of B` or the open answer.
    pub fn answer_text(&self) -> String {
        match self.answer_choice {
            Some(i) => format!("{}) {}", letter(i), self.choices[i]),
            None => self.answer.clone(),
        }
    }
}

/// The letter of choice `index` (A for 0).
pub fn letter(index: usize) -> char {
    char::from(b'A' + u8::try_from(index).unwrap_or(0))
}

/// Which statistic of the values at the quiz's seeds a claim is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    /// The claim holds at every seed (the default).
    Every,
    /// At one seed at least (`… in some seed`).
    Some,
    /// A nearest-rank percentile of the values (`min`, `p50`, `p90`, `p99`, `max` first),
    /// as `ordo sweep` prints it; `0` is the minimum, `100` the maximum.
    Percentile(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    pub fn holds(self, value: u64, bound: u64) -> bool {
        match self {
            Op::Eq => value == bound,
            Op::Ne => value != bound,
            Op::Lt => value < bound,
            Op::Le => value <= bound,
            Op::Gt => value > bound,
            Op::Ge => value >= bound,
        }
    }
}

/// One machine-checkable statement: `[min|p50|p90|p99|max] NAME OP NUMBER [ms|s] [in some
/// seed]`. NAME is an anomaly kind (its count, violated or allowed), `violations` (the
/// count of anomalies that break what the scenario expects) or a counter of `ordo run
/// --json`; a time (`_ns`) may be given in `ms` or `s`, and is then compared at the
/// precision written (`p50 unfetched_moved_ns = 718.3 ms` holds for 718.25 to 718.35 ms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// As written in the file.
    pub text: String,
    pub quantifier: Quantifier,
    pub name: String,
    pub op: Op,
    /// The bound in the name's unit (ns for a time given in ms or s), rounded.
    pub bound: u64,
    /// For a time given in `ms` or `s` with `=` or `!=`: the value is first rounded to the
    /// precision written, in ns (e.g. 100_000 for one decimal of ms); else 1.
    pub precision: u64,
    /// The unit the number was written in: `ms`, `s`, or `""` (none).
    pub unit: &'static str,
}

impl Claim {
    /// Rounds a value to the claim's precision, half up (saturating).
    pub fn round(&self, value: u64) -> u64 {
        if self.precision <= 1 {
            return value;
        }
        (value.saturating_add(self.precision / 2) / self.precision).saturating_mul(self.precision)
    }
}

/// Parses one claim; the error says what was expected.
pub fn parse_claim(text: &str) -> Result<Claim, String> {
    let expected = "expected `[min|p50|p90|p99|max] NAME OP NUMBER [ms|s] [in some seed]` with OP one of =, !=, <, \
<=, >, >= (e.g. `duplicate_apply > 0`, `per_key_reorder = 0`, `p50 unfetched_moved_ns = 718.3 ms`)";
    let bad = |why: &str| Err(format!("{why}: {expected}; got {:?}", super::shorten(text)));
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let mut quantifier = Quantifier::Every;
    if words.len() > 3 && words[words.len() - 3..] == ["in", "some", "seed"] {
        quantifier = Quantifier::Some;
        words.truncate(words.len() - 3);
    }
    if let Some(&first) = words.first() {
        let percentile = match first {
            "min" => Some(0),
            "p50" => Some(50),
            "p90" => Some(90),
            "p99" => Some(99),
            "max" => Some(100),
            _ => None,
        };
        if let Some(p) = percentile {
            if quantifier == Quantifier::Some {
                return bad("a statistic and `in some seed` do not go together");
            }
            quantifier = Quantifier::Percentile(p);
            words.remove(0);
        }
    }
    let (name, op, number, unit) = match words.as_slice() {
        [name, op, number] => (*name, *op, *number, None),
        [name, op, number, unit] => (*name, *op, *number, Some(*unit)),
        _ => return bad("not a claim"),
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return bad("the name is not a checker kind or counter name");
    }
    let op = match op {
        "=" | "==" => Op::Eq,
        "!=" => Op::Ne,
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        _ => return bad("unknown comparison"),
    };
    let scale: u64 = match unit {
        None => 1,
        Some("ms") => 1_000_000,
        Some("s") => 1_000_000_000,
        Some(_) => return bad("unknown unit"),
    };
    if unit.is_some() && !name.ends_with("_ns") {
        return bad("a unit goes only with a time counter (a name ending in `_ns`)");
    }
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits_ok(whole) || !digits_ok(fraction) || (number.contains('.') && fraction.is_empty()) {
        return bad("not a number");
    }
    if !fraction.is_empty() && unit.is_none() {
        return bad("a fraction needs a unit (ms or s)");
    }
    let decimals = u32::try_from(fraction.len()).unwrap_or(u32::MAX);
    let Some(denominator) = 10u64.checked_pow(decimals).filter(|d| *d <= scale) else {
        return bad("more decimals than nanoseconds");
    };
    let unit_step = scale / denominator;
    let bound = whole
        .parse::<u64>()
        .ok()
        .and_then(|w| w.checked_mul(scale))
        .and_then(|w| w.checked_add(fraction.parse::<u64>().unwrap_or(0).checked_mul(unit_step)?));
    let Some(bound) = bound else { return bad("the number is too large") };
    let precision = if unit.is_some() && matches!(op, Op::Eq | Op::Ne) { unit_step } else { 1 };
    let unit = match unit {
        Some("s") => "s",
        Some(_) => "ms",
        None => "",
    };
    Ok(Claim { text: text.trim().to_string(), quantifier, name: name.to_string(), op, bound, precision, unit })
}

impl Validator<'_> {
    pub(super) fn quiz(&self, raw: RawQuiz) -> Result<Quiz, ScenarioError> {
        let text = |field: &str, value: Option<String>| -> Result<String, ScenarioError> {
            match value.map(|v| v.trim().to_string()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(self.invalid(field, "expected a text (the lesson's quiz needs it)")),
            }
        };
        let question = text("quiz.question", raw.question)?;
        let answer = text("quiz.answer", raw.answer)?;
        let choices = raw.choices.unwrap_or_default();
        if choices.len() == 1 || choices.len() > MAX_CHOICES {
            return Err(self.invalid(
                "quiz.choices",
                format!("expected 2 to {MAX_CHOICES} choices (or none, for an open question), got {}", choices.len()),
            ));
        }
        for (i, choice) in choices.iter().enumerate() {
            if choice.trim().is_empty() {
                return Err(self.invalid(&format!("quiz.choices[{i}]"), "expected a text, got an empty one"));
            }
        }
        let answer_choice = if choices.is_empty() {
            None
        } else {
            let letters: Vec<char> = (0..choices.len()).map(letter).collect();
            let found = letters.iter().position(|l| answer.len() == 1 && answer.starts_with(*l));
            Some(found.ok_or_else(|| {
                self.invalid(
                    "quiz.answer",
                    format!(
                        "with choices, expected the letter of the right one ({}), got {:?}",
                        letters.iter().map(char::to_string).collect::<Vec<_>>().join(", "),
                        super::shorten(&answer)
                    ),
                )
            })?)
        };
        let seeds = match raw.seeds {
            None => return Err(self.invalid("quiz.seeds", "expected the seeds the answer holds at: [3] or \"1..20\"")),
            Some(RawSeeds::List(list)) => {
                let mut seeds = list;
                seeds.sort_unstable();
                seeds.dedup();
                seeds
            }
            Some(RawSeeds::Range(text)) => {
                if !text.contains("..") {
                    return Err(self.invalid(
                        "quiz.seeds",
                        format!(
                            "expected a range A..B such as \"1..20\", or a list such as [3]; got {:?}",
                            super::shorten(&text)
                        ),
                    ));
                }
                let range = crate::sweep::SeedRange::parse(&text).map_err(|e| self.invalid("quiz.seeds", e))?;
                if range.count() > MAX_QUIZ_SEEDS {
                    return Err(self.invalid(
                        "quiz.seeds",
                        format!("expected at most {MAX_QUIZ_SEEDS} seeds, got {} ({range})", range.count()),
                    ));
                }
                (range.first..=range.last).collect()
            }
        };
        if seeds.is_empty() || seeds.len() as u64 > MAX_QUIZ_SEEDS {
            return Err(self.invalid(
                "quiz.seeds",
                format!("expected 1 to {MAX_QUIZ_SEEDS} seeds (each is a run when the answer is checked)"),
            ));
        }
        let claims = raw.claims.unwrap_or_default();
        if claims.is_empty() {
            return Err(self.invalid(
                "quiz.claims",
                "expected at least one claim that checks the answer, e.g. [\"duplicate_apply > 0\"]",
            ));
        }
        let claims = claims
            .iter()
            .enumerate()
            .map(|(i, c)| parse_claim(c).map_err(|e| self.invalid(&format!("quiz.claims[{i}]"), e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Quiz {
            question,
            choices: choices.into_iter().map(|c| c.trim().to_string()).collect(),
            answer_choice,
            answer,
            why: raw.why.map(|w| w.trim().to_string()).unwrap_or_default(),
            seeds,
            claims,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_parse_with_quantifiers_units_and_precision() {
        let c = parse_claim("duplicate_apply > 0").unwrap();
        assert_eq!((c.quantifier, c.op, c.bound, c.precision), (Quantifier::Every, Op::Gt, 0, 1));
        let c = parse_claim("per_key_reorder >= 2 in some seed").unwrap();
        assert_eq!((c.quantifier, c.op, c.bound), (Quantifier::Some, Op::Ge, 2));
        let c = parse_claim("p50 unfetched_moved_ns = 718.3 ms").unwrap();
        assert_eq!((c.quantifier, c.bound, c.precision), (Quantifier::Percentile(50), 718_300_000, 100_000));
        assert_eq!(c.round(718_282_439), 718_300_000);
        assert_eq!(c.round(718_249_999), 718_200_000);
        let c = parse_claim("max sim_time_ns < 49 s").unwrap();
        assert_eq!(
            (c.quantifier, c.op, c.bound, c.precision),
            (Quantifier::Percentile(100), Op::Lt, 49_000_000_000, 1)
        );
        for bad in [
            "",
            "duplicate_apply",
            "duplicate_apply ~ 1",
            "Dup > 1",
            "applies > 1.5",
            "applies > 1 ms",
            "x_ns > 1.0000000001 s",
            "x_ns > 1. ms",
            "p50 applies > 1 in some seed",
            "applies > 99999999999999999999",
            "x_ns > 99999999999999 s",
        ] {
            assert!(parse_claim(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn a_quiz_names_its_bad_field() {
        let parse = |quiz: &str| crate::scenario::Scenario::parse(&format!("[quiz]\n{quiz}"), "q.toml", "q");
        let ok = "question = \"Q?\"\nchoices = [\"a\", \"b\"]\nanswer = \"B\"\nseeds = \"1..3\"\nclaims = [\"applies > 0\"]\n";
        let quiz = parse(ok).unwrap().quiz.unwrap();
        assert_eq!(
            (quiz.answer_choice, quiz.seeds.clone(), quiz.answer_text()),
            (Some(1), vec![1, 2, 3], "B) b".into())
        );
        assert_eq!(quiz.seeds_text(), "1..3");
        for (text, field) in [
            (ok.replace("answer = \"B\"", "answer = \"C\""), "quiz.answer"),
            (ok.replace("question = \"Q?\"", "question = \" \""), "quiz.question"),
            (ok.replace("[\"a\", \"b\"]", "[\"a\"]"), "quiz.choices"),
            (ok.replace("\"1..3\"", "\"1..999\""), "quiz.seeds"),
            (ok.replace("\"1..3\"", "[]"), "quiz.seeds"),
            (ok.replace("\"1..3\"", "\"x\""), "quiz.seeds"),
            (ok.replace("[\"applies > 0\"]", "[]"), "quiz.claims"),
            (ok.replace("applies > 0", "applies >"), "quiz.claims[0]"),
        ] {
            let error = parse(&text).expect_err(&text).to_string();
            assert!(error.contains(&format!("field `{field}`")), "{text}\n→ {error}");
        }
        assert!(parse("bogus = 1\n").unwrap_err().to_string().contains("bogus"));
    }
}
