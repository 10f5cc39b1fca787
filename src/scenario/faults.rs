//! Scripted faults: `[[fault]]` entries of a scenario.
//!
//! ```toml
//! [[fault]]
//! at_ms = 100
//! kind = "crash"        # crash, restart, pause, partition, heal, clock_step, link
//! node = "c0"
//! ```
//!
//! | kind | fields | effect |
//! |---|---|---|
//! | `crash` | `node` | the node stops; volatile state is lost, durable state kept |
//! | `restart` | `node` | a crashed node starts again (a producer gets a new producer id) |
//! | `join` | `node` | the node is not running from the start: it starts at `at_ms` (a consumer joins the group, a producer instance comes up) |
//! | `leave` | `node` | a consumer leaves the group gracefully (commits, sends LeaveGroup, stops consuming) |
//! | `pause` | `node`, `duration_ms` | a stop-the-world pause: nothing runs on the node, its clock goes on |
//! | `partition` | `from`, `to`, `both`, `heal_at_ms` | cut every link from → to (and back if `both`); optionally heal |
//! | `heal` | `from`, `to`, `both` | heal links cut by an earlier `partition` |
//! | `clock_step` | `node`, `delta_ms` | the node's clock jumps (negative: backwards) |
//! | `link` | `from`, `to`, `both`, network fields | from now on these links behave as given (a period of loss or latency; end it with another `link`) |
//!
//! `from` and `to` take a node name, a list of names, or `producers`, `brokers`,
//! `consumers`, `*`. Every field a kind does not use is an error, and so is a fault that
//! cannot happen as written: an unknown node, a restart of a running node, a heal before
//! its partition, overlapping pauses of one node.

use serde::Deserialize;

use super::{node_names, NetworkConfig, RawNetwork, ScenarioError, Topology, Validator};

#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub(super) enum RawNodes {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFault {
    at_ms: Option<u64>,
    kind: Option<String>,
    node: Option<String>,
    duration_ms: Option<u64>,
    from: Option<RawNodes>,
    to: Option<RawNodes>,
    both: Option<bool>,
    heal_at_ms: Option<u64>,
    delta_ms: Option<i64>,
    latency_min_us: Option<u64>,
    latency_max_us: Option<u64>,
    loss_ppm: Option<u32>,
    duplicate_ppm: Option<u32>,
    fifo: Option<bool>,
}

/// What a scripted fault does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    Crash {
        node: String,
    },
    Restart {
        node: String,
    },
    /// The node is down from the start and starts at this time.
    Join {
        node: String,
    },
    /// A consumer leaves its group gracefully.
    Leave {
        node: String,
    },
    Pause {
        node: String,
        duration_ms: u64,
    },
    /// Cut (`cut = true`) or heal each directed link (from, to).
    Links {
        pairs: Vec<(String, String)>,
        cut: bool,
    },
    ClockStep {
        node: String,
        delta_ms: i64,
    },
    /// Each directed link (from, to) behaves as `network` from now on.
    Network {
        pairs: Vec<(String, String)>,
        network: NetworkConfig,
    },
}

/// A fault at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledFault {
    pub at_ms: u64,
    pub kind: FaultKind,
}

const KINDS: &str = "crash, restart, join, leave, pause, partition, heal, clock_step, link";

impl Validator<'_> {
    pub(super) fn faults(
        &self,
        raw: Vec<RawFault>,
        topology: &Topology,
        network: &NetworkConfig,
    ) -> Result<Vec<ScheduledFault>, ScenarioError> {
        let names = node_names(topology);
        let mut faults = Vec::new();
        for (index, fault) in raw.into_iter().enumerate() {
            self.fault(&format!("fault[{index}]"), fault, &names, topology, network, &mut faults)?;
        }
        faults.sort_by_key(|f| f.at_ms); // stable: same-time faults keep file order
        self.check_sequence(&faults, &names)?;
        Ok(faults)
    }

    fn fault(
        &self,
        field: &str,
        raw: RawFault,
        names: &[String],
        topology: &Topology,
        network: &NetworkConfig,
        out: &mut Vec<ScheduledFault>,
    ) -> Result<(), ScenarioError> {
        let Some(at_ms) = raw.at_ms else {
            return Err(self.invalid(&format!("{field}.at_ms"), "expected the time of the fault in milliseconds"));
        };
        // Times are nanoseconds in the run: bounded like run.max_time_ms (24 h), so that
        // `at_ms × 10⁶` (and a pause's end) cannot wrap.
        let at_ms = self.range(&format!("{field}.at_ms"), at_ms, 0, super::MAX_TIME_MS)?;
        let Some(kind) = raw.kind.clone() else {
            return Err(self.invalid(&format!("{field}.kind"), format!("expected one of {KINDS}")));
        };
        let uses: &[&str] = match kind.as_str() {
            "crash" | "restart" | "join" | "leave" => &["node"],
            "pause" => &["node", "duration_ms"],
            "partition" => &["from", "to", "both", "heal_at_ms"],
            "heal" => &["from", "to", "both"],
            "clock_step" => &["node", "delta_ms"],
            "link" => &["from", "to", "both", "latency_min_us", "latency_max_us", "loss_ppm", "duplicate_ppm", "fifo"],
            other => {
                return Err(self.invalid(&format!("{field}.kind"), format!("expected one of {KINDS}, got {other:?}")))
            }
        };
        let present = [
            ("node", raw.node.is_some()),
            ("duration_ms", raw.duration_ms.is_some()),
            ("from", raw.from.is_some()),
            ("to", raw.to.is_some()),
            ("both", raw.both.is_some()),
            ("heal_at_ms", raw.heal_at_ms.is_some()),
            ("delta_ms", raw.delta_ms.is_some()),
            ("latency_min_us", raw.latency_min_us.is_some()),
            ("latency_max_us", raw.latency_max_us.is_some()),
            ("loss_ppm", raw.loss_ppm.is_some()),
            ("duplicate_ppm", raw.duplicate_ppm.is_some()),
            ("fifo", raw.fifo.is_some()),
        ];
        for (name, is_present) in present {
            if is_present && !uses.contains(&name) {
                return Err(self.invalid(
                    &format!("{field}.{name}"),
                    format!("a {kind} fault does not use `{name}`; it takes {}", uses.join(", ")),
                ));
            }
        }
        let node = |this: &Self| -> Result<String, ScenarioError> {
            match &raw.node {
                Some(node) if names.contains(node) => Ok(node.clone()),
                Some(node) => Err(this
                    .invalid(&format!("{field}.node"), format!("expected one of {}, got {node:?}", names.join(", ")))),
                None => {
                    Err(this.invalid(&format!("{field}.node"), format!("a {kind} fault needs the node it happens to")))
                }
            }
        };
        let nodes = |this: &Self, which: &str, value: &Option<RawNodes>| -> Result<Vec<String>, ScenarioError> {
            let list = match value {
                Some(RawNodes::One(one)) => vec![one.clone()],
                Some(RawNodes::Many(many)) if !many.is_empty() => many.clone(),
                _ => {
                    return Err(this.invalid(
                        &format!("{field}.{which}"),
                        "expected a node name, a list of them, or producers, brokers, consumers, *",
                    ))
                }
            };
            for name in &list {
                if !(matches!(name.as_str(), "producers" | "brokers" | "consumers" | "*") || names.contains(name)) {
                    return Err(this.invalid(
                        &format!("{field}.{which}"),
                        format!(
                            "expected nodes among {} (or producers, brokers, consumers, *), got {name:?}",
                            names.join(", ")
                        ),
                    ));
                }
            }
            Ok(expand(&list, topology))
        };
        let both = raw.both.unwrap_or(false);
        let links = |this: &Self| -> Result<Vec<(String, String)>, ScenarioError> {
            Ok(pairs(&nodes(this, "from", &raw.from)?, &nodes(this, "to", &raw.to)?, both))
        };
        let kind = match kind.as_str() {
            "crash" => FaultKind::Crash { node: node(self)? },
            "restart" => FaultKind::Restart { node: node(self)? },
            "join" => FaultKind::Join { node: node(self)? },
            "leave" => {
                let node = node(self)?;
                if !is_consumer(&node) {
                    return Err(self.invalid(
                        &format!("{field}.node"),
                        format!("only a consumer can leave its group, got {node:?}"),
                    ));
                }
                FaultKind::Leave { node }
            }
            "pause" => {
                let duration_ms = raw.duration_ms.ok_or_else(|| {
                    self.invalid(&format!("{field}.duration_ms"), "a pause needs its length in milliseconds")
                })?;
                FaultKind::Pause {
                    node: node(self)?,
                    duration_ms: self.range(&format!("{field}.duration_ms"), duration_ms, 1, 86_400_000)?,
                }
            }
            "clock_step" => {
                let delta_ms = raw.delta_ms.ok_or_else(|| {
                    self.invalid(
                        &format!("{field}.delta_ms"),
                        "a clock step needs its size in milliseconds (negative: backwards)",
                    )
                })?;
                FaultKind::ClockStep {
                    node: node(self)?,
                    delta_ms: self.range(&format!("{field}.delta_ms"), delta_ms, -86_400_000, 86_400_000)?,
                }
            }
            "partition" | "heal" => {
                let pairs = links(self)?;
                let cut = kind == "partition";
                if let Some(heal_at_ms) = raw.heal_at_ms {
                    self.range(&format!("{field}.heal_at_ms"), heal_at_ms, 0, super::MAX_TIME_MS)?;
                    if heal_at_ms <= at_ms {
                        return Err(self.invalid(
                            &format!("{field}.heal_at_ms"),
                            format!("expected a time after the partition (at_ms = {at_ms}), got {heal_at_ms}"),
                        ));
                    }
                    out.push(ScheduledFault {
                        at_ms: heal_at_ms,
                        kind: FaultKind::Links { pairs: pairs.clone(), cut: false },
                    });
                }
                FaultKind::Links { pairs, cut }
            }
            _ => {
                let pairs = links(self)?;
                let spec = RawNetwork {
                    latency_min_us: raw.latency_min_us,
                    latency_max_us: raw.latency_max_us,
                    loss_ppm: raw.loss_ppm,
                    duplicate_ppm: raw.duplicate_ppm,
                    fifo: raw.fifo,
                };
                let network = self.network(field, spec, network)?;
                FaultKind::Network { pairs, network }
            }
        };
        out.push(ScheduledFault { at_ms, kind });
        Ok(())
    }

    /// Faults that cannot happen as written: restarts of running nodes, crashes of crashed
    /// ones, heals of links never cut, overlapping pauses.
    pub(super) fn check_sequence(&self, faults: &[ScheduledFault], names: &[String]) -> Result<(), ScenarioError> {
        let mut down = vec![false; names.len()];
        // A node that joins later is down from the start, and joins once.
        let mut joins = std::collections::BTreeSet::new();
        for fault in faults {
            if let FaultKind::Join { node } = &fault.kind {
                if !joins.insert(node.clone()) {
                    return Err(self.sequence_error(fault, format!("{node} joins twice")));
                }
                down[index_of(names, node)] = true;
            }
        }
        let mut paused_until = vec![0u64; names.len()];
        let mut cut = std::collections::BTreeSet::new();
        let index = |name: &str| index_of(names, name);
        for fault in faults {
            let at = fault.at_ms;
            match &fault.kind {
                FaultKind::Crash { node } if down[index(node)] => {
                    return Err(self.sequence_error(fault, format!("{node} is already crashed at {at} ms")));
                }
                FaultKind::Crash { node } => down[index(node)] = true,
                FaultKind::Restart { node } if !down[index(node)] => {
                    return Err(self.sequence_error(
                        fault,
                        format!("{node} is running at {at} ms: restart needs an earlier crash"),
                    ));
                }
                FaultKind::Restart { node } | FaultKind::Join { node } => down[index(node)] = false,
                FaultKind::Leave { node } if down[index(node)] => {
                    return Err(
                        self.sequence_error(fault, format!("{node} is not running at {at} ms: it cannot leave"))
                    );
                }
                FaultKind::Leave { .. } => {}
                FaultKind::Pause { node, duration_ms } => {
                    let slot = index(node);
                    if paused_until[slot] > at {
                        return Err(self.sequence_error(
                            fault,
                            format!(
                                "{node} is still paused at {at} ms (until {} ms): pauses of one node must not overlap",
                                paused_until[slot]
                            ),
                        ));
                    }
                    paused_until[slot] = at + duration_ms;
                }
                FaultKind::Links { pairs, cut: true } => cut.extend(pairs.iter().cloned()),
                FaultKind::Links { pairs, cut: false } => {
                    if !pairs.iter().any(|link| cut.contains(link)) {
                        return Err(self.sequence_error(
                            fault,
                            format!("heal at {at} ms comes before any partition of those links"),
                        ));
                    }
                    for link in pairs {
                        cut.remove(link);
                    }
                }
                FaultKind::ClockStep { .. } | FaultKind::Network { .. } => {}
            }
        }
        Ok(())
    }

    fn sequence_error(&self, fault: &ScheduledFault, message: String) -> ScenarioError {
        self.invalid("fault", format!("{message} (fault of kind {} at {} ms)", fault.kind.name(), fault.at_ms))
    }
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Crash { .. } => "crash",
            FaultKind::Restart { .. } => "restart",
            FaultKind::Join { .. } => "join",
            FaultKind::Leave { .. } => "leave",
            FaultKind::Pause { .. } => "pause",
            FaultKind::Links { cut: true, .. } => "partition",
            FaultKind::Links { cut: false, .. } => "heal",
            FaultKind::ClockStep { .. } => "clock_step",
            FaultKind::Network { .. } => "link",
        }
    }
}

/// Consumers are `c0…`; the controller `ctl` also starts with a `c` but is none.
fn is_consumer(name: &str) -> bool {
    name.starts_with('c') && name != super::CONTROLLER
}

fn index_of(names: &[String], name: &str) -> usize {
    names.iter().position(|n| n == name).unwrap_or(0)
}

/// The directed links from every node of `from` to every other node of `to` (and back if
/// `both`), without repeats, in a fixed order.
pub(super) fn pairs(from: &[String], to: &[String], both: bool) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |a: &String, b: &String| {
        let pair = (a.clone(), b.clone());
        if a != b && !out.contains(&pair) {
            out.push(pair);
        }
    };
    for a in from {
        for b in to {
            add(a, b);
            if both {
                add(b, a);
            }
        }
    }
    out
}

/// Expands `producers`, `brokers`, `consumers`, `*` into node names, keeping order and
/// dropping repeats.
fn expand(list: &[String], topology: &Topology) -> Vec<String> {
    let names = node_names(topology);
    let mut out: Vec<String> = Vec::new();
    for item in list {
        let expanded: Vec<String> = match item.as_str() {
            "*" => names.clone(),
            "producers" => names.iter().filter(|n| n.starts_with('p')).cloned().collect(),
            "brokers" => names.iter().filter(|n| n.starts_with('b')).cloned().collect(),
            "consumers" => names.iter().filter(|n| is_consumer(n)).cloned().collect(),
            name => vec![name.to_string()],
        };
        for name in expanded {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}
