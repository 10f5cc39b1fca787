//! Guarantees, anomaly kinds, violations and the report with its renderings.
//!
//! Output order never depends on hashing: violations are sorted by (seriousness, line,
//! scope, message) and every map in the JSON output is a `BTreeMap`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Value};

/// A guarantee a run can expect (the header's `expect`, or `--expect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Guarantee {
    /// Every entity's events are applied in causal order.
    PerKeyOrder,
    /// No event is appended or applied twice.
    ExactlyOnce,
    /// Causes are applied before their effects across entities and partitions.
    Causal,
    /// No acknowledged event is lost or skipped.
    NoLoss,
}

impl Guarantee {
    /// All guarantees, in canonical order.
    pub const ALL: [Guarantee; 4] =
        [Guarantee::PerKeyOrder, Guarantee::ExactlyOnce, Guarantee::Causal, Guarantee::NoLoss];

    /// The name used in histories and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::PerKeyOrder => "per_key_order",
            Guarantee::ExactlyOnce => "exactly_once",
            Guarantee::Causal => "causal",
            Guarantee::NoLoss => "no_loss",
        }
    }

    /// Parses one name.
    pub fn parse(s: &str) -> Result<Guarantee, String> {
        Guarantee::ALL.into_iter().find(|g| g.name() == s).ok_or_else(|| {
            format!("unknown guarantee {s:?}; expected one of per_key_order, exactly_once, causal, no_loss")
        })
    }

    /// Parses a comma-separated list such as `"per_key_order,no_loss"`. Spaces around
    /// names are allowed; an empty list, an empty name or an unknown name is an error.
    /// Duplicates are removed; the result is in canonical order.
    pub fn parse_list(s: &str) -> Result<Vec<Guarantee>, String> {
        let mut out = Vec::new();
        for part in s.split(',') {
            let name = part.trim();
            if name.is_empty() {
                return Err(format!(
                    "empty guarantee name in {s:?}; expected a comma-separated list of per_key_order, exactly_once, causal, no_loss"
                ));
            }
            out.push(Guarantee::parse(name)?);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// How a kind is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Always a bug, whatever the run expected.
    Bug,
    /// A violation when the run expects this guarantee, otherwise allowed by its strategy.
    Breaks(Guarantee),
    /// A transport-level fact that a strategy promising this guarantee must compensate for
    /// (the guarantee itself is judged on applies); reported, never counted as violated.
    Observation(Guarantee),
}

macro_rules! kinds {
    ($( $variant:ident => $name:literal, $class:expr, $doc:literal; )*) => {
        /// Anomaly kinds, declared from most to least serious (the report's order).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind {
            $( #[doc = $doc] $variant, )*
        }
        impl Kind {
            /// Every kind, most serious first.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)*];
            /// The snake_case name used in reports and JSON.
            pub fn name(self) -> &'static str {
                match self { $(Kind::$variant => $name,)* }
            }
            /// Whether the kind is always a bug, breaks a guarantee, or is an observation.
            pub fn class(self) -> Class {
                match self { $(Kind::$variant => $class,)* }
            }
        }
    };
}

use Class::{Breaks, Bug, Observation};
use Guarantee::{Causal, ExactlyOnce, NoLoss, PerKeyOrder};

kinds! {
    ZombieCommit => "zombie_commit", Bug, "A commit accepted (`ok:true`) from a generation older than the group's current one.";
    ClockCondition => "clock_condition", Bug, "A Lamport clock or vector clock that does not grow along happens-before.";
    LostWrite => "lost_write", Breaks(NoLoss), "An acknowledged write missing below the highest offset anyone read of its partition.";
    DivergentLog => "divergent_log", Breaks(NoLoss), "One offset of a partition holding different events (reused offset, overwritten record).";
    FinalState => "final_state", Breaks(PerKeyOrder), "A final projection that no causal order of the entity's events produces (stale or lost update).";
    PerKeyReorder => "per_key_reorder", Breaks(PerKeyOrder), "An event applied before an event of the same entity that truly precedes it.";
    ReapplyReorder => "reapply_reorder", Breaks(ExactlyOnce), "An event applied again (a redelivery, a zombie) after an event of the same entity it precedes had been applied: the side effects see the old event after the newer one.";
    CausalityInversion => "causality_inversion", Breaks(Causal), "An effect applied before its cause of another entity, in one group.";
    ObservedCycle => "observed_cycle", Observation(Causal), "A cycle in happens-before plus the partition logs' order.";
    DuplicateApply => "duplicate_apply", Breaks(ExactlyOnce), "An event applied more than once by one group.";
    DuplicateAppend => "duplicate_append", Observation(ExactlyOnce), "One event appended at two offsets of one partition.";
    SequenceGap => "sequence_gap", Breaks(NoLoss), "An entity's applied `meta.seq` jumping over numbers.";
    PollSkip => "poll_skip", Breaks(NoLoss), "A consumer's deliveries of a partition skipping offsets with no seek or assignment explaining it.";
    RebalanceSkip => "rebalance_skip", Breaks(NoLoss), "A new owner of a partition starting above the group's committed offset.";
    CommitAhead => "commit_ahead", Breaks(NoLoss), "A commit beyond what the committing member was delivered or applied.";
    AckAhead => "ack_ahead", Breaks(NoLoss), "A queue message acknowledged (deleted from the queue) before the group applied or discarded it.";
    UnseenWrite => "unseen_write", Breaks(NoLoss), "An acknowledged write nobody ever read, in a complete quiescent history.";
    CommitRegression => "commit_regression", Observation(ExactlyOnce), "A group's committed offset of a partition going backwards.";
    RebalanceRewind => "rebalance_rewind", Observation(ExactlyOnce), "A new owner of a partition starting below the group's committed offset.";
    NonmonotonicPoll => "nonmonotonic_poll", Observation(ExactlyOnce), "A consumer's deliveries of a partition going backwards with no seek or assignment explaining it.";
    NonmonotonicSend => "nonmonotonic_send", Observation(PerKeyOrder), "A producer's later batch landing below an earlier batch in the same partition.";
    CausalDelivery => "causal_delivery", Observation(Causal), "A consumer polled a message before a message that causally precedes it.";
    TimestampInversion => "timestamp_inversion", Observation(Causal), "A cause stamped with a later timestamp than its effect (clock skew).";
}

/// One history line that proves a violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    /// 1-based line number in the history.
    pub line: u64,
    /// What that line shows, in the checker's words.
    pub what: String,
    /// The verbatim line, when the source could be read again (see [`Report::attach_records`]).
    pub record: Option<String>,
}

/// Whether a detected anomaly counts against the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Always a bug, or breaks a guarantee the run expected.
    Violated,
    /// Breaks a guarantee the run did not expect, or is an observation.
    Allowed,
}

/// One detected anomaly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What kind of anomaly.
    pub kind: Kind,
    /// What it concerns: a partition `topic/p`, `group g`, `group g, entity e`, …
    pub scope: String,
    /// One sentence.
    pub message: String,
    /// The few lines that prove it, in line order.
    pub witness: Vec<Witness>,
    /// Violated or allowed, given the expected guarantees.
    pub status: Status,
}

impl Violation {
    fn first_line(&self) -> u64 {
        self.witness.iter().map(|w| w.line).max().unwrap_or(0)
    }

    fn to_json(&self) -> Value {
        let witness: Vec<Value> = self
            .witness
            .iter()
            .map(|w| {
                let mut o = json!({"line": w.line, "what": w.what});
                if let Some(r) = &w.record {
                    o["record"] = Value::String(r.clone());
                }
                o
            })
            .collect();
        let guarantee = match self.kind.class() {
            Class::Bug => Value::Null,
            Class::Breaks(g) | Class::Observation(g) => Value::String(g.name().into()),
        };
        json!({
            "kind": self.kind.name(),
            "scope": self.scope,
            "message": self.message,
            "guarantee": guarantee,
            "always_a_bug": self.kind.class() == Class::Bug,
            "witness": witness,
        })
    }
}

/// A check the checker could not perform, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unknown {
    /// The kind that could not be judged.
    pub kind: Kind,
    /// Why (missing `end`, missing field, …).
    pub reason: String,
}

/// The verdict on one history.
#[derive(Debug, Clone)]
pub struct Report {
    /// The source name given by the caller.
    pub source: String,
    /// Number of lines read, header included.
    pub lines: u64,
    /// The guarantees the run was judged against.
    pub expected: Vec<Guarantee>,
    /// Where `expected` came from: `"argument"`, `"header"` or `"default (all)"`.
    pub expected_from: &'static str,
    /// Every anomaly found: violated ones first, each group most serious first.
    pub violations: Vec<Violation>,
    /// Checks that could not be judged.
    pub unknown: Vec<Unknown>,
    /// Header fields useful to reproduce the run (scenario, strategy, seed).
    pub run: BTreeMap<String, String>,
    /// Anomalies counted but not kept (beyond the first 1000 of a kind), per kind.
    pub omitted: BTreeMap<Kind, u64>,
}

/// Anomalies of one kind kept with witnesses (see `Report::omitted`).
const KEPT: u32 = super::ingest::KEPT_PER_KIND;

trait OptionStatus {
    fn is_none_or_eq(&self, s: Status) -> bool;
}

impl OptionStatus for Option<Status> {
    fn is_none_or_eq(&self, s: Status) -> bool {
        self.map_or(true, |x| x == s)
    }
}

impl Report {
    pub(crate) fn new(source: &str) -> Report {
        Report {
            source: source.to_string(),
            lines: 0,
            expected: Guarantee::ALL.to_vec(),
            expected_from: "default (all)",
            violations: Vec::new(),
            unknown: Vec::new(),
            run: BTreeMap::new(),
            omitted: BTreeMap::new(),
        }
    }

    /// Sets every violation's status from `expected` and sorts the list.
    pub(crate) fn finish(&mut self) {
        for v in &mut self.violations {
            v.witness.sort_by(|a, b| a.line.cmp(&b.line).then(a.what.cmp(&b.what)));
            v.witness.dedup_by(|a, b| a.line == b.line && a.what == b.what);
            v.status = status_of(&self.expected, v.kind);
        }
        self.violations.sort_by(|a, b| {
            (a.status, a.kind, a.first_line(), &a.scope, &a.message).cmp(&(
                b.status,
                b.kind,
                b.first_line(),
                &b.scope,
                &b.message,
            ))
        });
        self.unknown.sort();
        self.unknown.dedup();
    }

    /// The anomalies that count against the run.
    pub fn violated(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.status == Status::Violated)
    }

    /// The anomalies allowed by the run's strategy (or observations).
    pub fn allowed(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.status == Status::Allowed)
    }

    /// Violated or allowed, for a kind, given the expected guarantees.
    pub fn status_of(&self, kind: Kind) -> Status {
        status_of(&self.expected, kind)
    }

    /// Counts per kind name (kept and omitted anomalies), of one status or of all.
    fn count_map(&self, status: Option<Status>) -> BTreeMap<&'static str, u64> {
        let mut m = BTreeMap::new();
        for v in &self.violations {
            if status.is_none_or_eq(v.status) {
                *m.entry(v.kind.name()).or_insert(0) += 1;
            }
        }
        for (kind, n) in &self.omitted {
            if status.is_none_or_eq(self.status_of(*kind)) {
                *m.entry(kind.name()).or_insert(0) += n;
            }
        }
        m
    }

    /// Counts per kind of every detected anomaly (violated and allowed), by kind name.
    pub fn all_counts(&self) -> BTreeMap<&'static str, u64> {
        self.count_map(None)
    }

    /// `{kind_name: count}` of the violations the run expected, keys sorted.
    pub fn counts_json(&self) -> Value {
        json!(self.count_map(Some(Status::Violated)))
    }

    /// 0 when nothing the run expected is violated, 1 when something is.
    pub fn exit_code(&self) -> i32 {
        i32::from(!self.count_map(Some(Status::Violated)).is_empty())
    }

    /// The whole report as JSON (deterministic key order).
    pub fn to_json(&self) -> Value {
        let unknown: Vec<Value> =
            self.unknown.iter().map(|u| json!({"kind": u.kind.name(), "reason": u.reason})).collect();
        json!({
            "source": self.source,
            "lines": self.lines,
            "expected": self.expected.iter().map(|g| g.name()).collect::<Vec<_>>(),
            "expected_from": self.expected_from,
            "run": self.run,
            "counts": self.count_map(Some(Status::Violated)),
            "violated": self.exit_code() == 1,
            "violations": self.violated().map(Violation::to_json).collect::<Vec<_>>(),
            "allowed": self.count_map(Some(Status::Allowed)),
            "omitted": self.omitted.iter().map(|(k, n)| (k.name(), *n)).collect::<BTreeMap<_, _>>(),
            "allowed_violations": self.allowed().map(Violation::to_json).collect::<Vec<_>>(),
            "unknown": unknown,
        })
    }

    /// A readable report: a summary, counts per kind, then each anomaly with its witness,
    /// most serious first, at most `max_shown` in all, then "… and N more".
    pub fn render_text(&self, max_shown: usize) -> String {
        self.render_text_with(max_shown, |_, _| String::new())
    }

    /// [`Report::render_text`] with `extra(i, violation)` (0-based index) printed under
    /// each anomaly shown, after its witness (`ordo check --explain` puts the causal chain there).
    pub fn render_text_with(&self, max_shown: usize, mut extra: impl FnMut(usize, &Violation) -> String) -> String {
        let mut s = String::new();
        let names: Vec<&str> = self.expected.iter().map(|g| g.name()).collect();
        let _ = writeln!(
            s,
            "{}: {} lines; expected guarantees ({}): {}",
            self.source,
            self.lines,
            self.expected_from,
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        );
        let violated = self.count_map(Some(Status::Violated));
        let allowed = self.count_map(Some(Status::Allowed));
        let n_violated: u64 = violated.values().sum();
        let n_allowed: u64 = allowed.values().sum();
        if n_violated == 0 {
            let _ = writeln!(s, "OK: nothing the run expected is violated");
        } else {
            let what = if n_violated == 1 { "anomaly breaks" } else { "anomalies break" };
            let _ = writeln!(s, "VIOLATED: {n_violated} {what} what the run expected");
        }
        for (title, map) in [("violated", &violated), ("allowed by this strategy", &allowed)] {
            if map.is_empty() {
                continue;
            }
            let _ = writeln!(s, "{title}:");
            for kind in Kind::ALL {
                if let Some(n) = map.get(kind.name()) {
                    let _ = writeln!(s, "  {:<20} {:>6}  ({})", kind.name(), n, class_text(*kind));
                }
            }
        }
        if !self.unknown.is_empty() {
            let _ = writeln!(s, "unknown (not judged):");
            for u in &self.unknown {
                let _ = writeln!(s, "  {:<20} {}", u.kind.name(), u.reason);
            }
        }
        let total = self.violations.len() + self.omitted.values().sum::<u64>() as usize;
        for (i, v) in self.violations.iter().take(max_shown).enumerate() {
            let tag = match v.status {
                Status::Violated => "",
                Status::Allowed => " (allowed)",
            };
            let _ = writeln!(s, "\n{}. {}{} [{}]: {}", i + 1, v.kind.name(), tag, v.scope, v.message);
            for w in &v.witness {
                let _ = writeln!(s, "   line {:>6}  {}", w.line, w.what);
                if let Some(r) = &w.record {
                    let _ = writeln!(s, "                {r}");
                }
            }
            s.push_str(&extra(i, v));
        }
        if total > max_shown {
            let _ = writeln!(s, "\n… and {} more", total - max_shown);
            if !self.omitted.is_empty() {
                let _ = writeln!(s, "(witnesses are kept for the first {KEPT} anomalies of each kind)");
            }
        }
        if n_violated + n_allowed > 0 && !self.run.is_empty() {
            let args: Vec<String> = self.run.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(s, "\nrun: {}", args.join(" "));
        }
        s
    }

    /// One line per kind, for a projector: its count, its class, and one short example
    /// (the first anomaly of the kind: its number for `ordo trace --violation N`, scope,
    /// message cut to fit, witness lines). Violated kinds first, then allowed ones.
    pub fn render_summary(&self) -> String {
        let mut s = String::new();
        let violated = self.count_map(Some(Status::Violated));
        let allowed = self.count_map(Some(Status::Allowed));
        let n_violated: u64 = violated.values().sum();
        if n_violated == 0 {
            let _ = writeln!(s, "{}: OK, nothing the run expected is violated", self.source);
        } else {
            let _ = writeln!(s, "{}: VIOLATED, {n_violated} anomalies break what the run expected", self.source);
        }
        for (status, map) in [(Status::Violated, &violated), (Status::Allowed, &allowed)] {
            for kind in Kind::ALL {
                let Some(n) = map.get(kind.name()) else { continue };
                let first = self.violations.iter().enumerate().find(|(_, v)| v.kind == *kind && v.status == status);
                let example = match first {
                    Some((i, v)) => {
                        let lines: Vec<String> = v.witness.iter().map(|w| w.line.to_string()).collect();
                        let mut message: String = v.message.chars().take(90).collect();
                        if v.message.chars().count() > 90 {
                            message.push('…');
                        }
                        format!("e.g. #{} [{}] {} (lines {})", i + 1, v.scope, message, lines.join(", "))
                    }
                    None => "(no witness kept)".to_string(),
                };
                let tag = if status == Status::Violated { "" } else { " (allowed)" };
                let _ = writeln!(s, "  {:<20} {:>5}{tag}  {example}", kind.name(), n);
            }
        }
        for u in &self.unknown {
            let _ = writeln!(s, "  {:<20}     ?  not judged: {}", u.kind.name(), u.reason);
        }
        if !self.violations.is_empty() {
            let _ = writeln!(s, "the story of one: ordo trace HISTORY --violation N");
        }
        s
    }

    /// Fills each witness's verbatim `record` from a second reading of the same source.
    /// Lines that are not witnesses are skipped without being stored.
    pub fn attach_records<R: std::io::BufRead>(&mut self, mut input: R) -> std::io::Result<()> {
        let mut wanted: Vec<u64> = self.violations.iter().flat_map(|v| v.witness.iter().map(|w| w.line)).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut found: BTreeMap<u64, String> = BTreeMap::new();
        // Lines are counted in the reader's buffer; only wanted lines are copied.
        let mut carry: Vec<u8> = Vec::new();
        let mut line_no = 1u64;
        let mut next = 0usize;
        let mut keep = |line_no: u64, bytes: &[u8], next: &mut usize| {
            if wanted.get(*next) == Some(&line_no) {
                let text = String::from_utf8_lossy(bytes);
                found.insert(line_no, text.trim_end_matches(['\n', '\r']).to_string());
                *next += 1;
            }
        };
        while next < wanted.len() {
            let available = match input.fill_buf() {
                Ok(bytes) => bytes,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                if !carry.is_empty() {
                    keep(line_no, &carry, &mut next);
                }
                break;
            }
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', available) {
                if wanted.get(next) == Some(&line_no) {
                    carry.extend_from_slice(&available[start..end]);
                    keep(line_no, &carry, &mut next);
                }
                carry.clear();
                line_no += 1;
                start = end + 1;
                if next == wanted.len() {
                    break;
                }
            }
            if wanted.get(next) == Some(&line_no) {
                carry.extend_from_slice(&available[start..]);
            }
            let used = available.len();
            input.consume(used);
        }
        for v in &mut self.violations {
            for w in &mut v.witness {
                w.record = found.get(&w.line).cloned();
            }
        }
        Ok(())
    }
}

fn status_of(expected: &[Guarantee], kind: Kind) -> Status {
    match kind.class() {
        Class::Bug => Status::Violated,
        Class::Breaks(g) if expected.contains(&g) => Status::Violated,
        _ => Status::Allowed,
    }
}

fn class_text(kind: Kind) -> String {
    match kind.class() {
        Class::Bug => "always a bug".into(),
        Class::Breaks(g) => format!("breaks {}", g.name()),
        Class::Observation(g) => format!("observation; matters for {}", g.name()),
    }
}
