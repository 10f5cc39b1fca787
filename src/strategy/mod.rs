//! Ordering strategies: named, composable units chosen on the command line
//! (`--strategy key+idempotent`) or in a scenario (`strategy = "..."`).
//!
//! A strategy is its configuration and its mechanism, in one file whose doc comment states
//! what it promises, what it costs, and its source. The configuration is the settings it
//! changes ([`Strategy::settings`], [`Strategy::configure`]); the mechanism is the hooks
//! the model calls ([`Strategy::producer_hooks`]: stamp an event, merge a hand-off's
//! stamp, choose a partition, decide a re-send; [`Strategy::consumer_hooks`]: apply, hold
//! or discard each processed record, timers, polls, revocations). The model has no branch
//! on a strategy's identity: it calls the hooks of the strategies in the set. A hook sees
//! only its own component (see `crate::model::hooks`): the message, its state, its clock,
//! its own random stream, and the shared stores the model keeps, each with a stated
//! consistency. A [`Registry`] holds the built-ins and any strategy a user registers
//! (docs/strategies.md; examples/custom_strategy.rs).
//!
//! # Composition
//! Each strategy declares the settings it changes ([`Strategy::settings`]), each on the
//! producer or the consumer side, either setting a value or capping a number. Joined with
//! `+`, strategies compose when no two of them set the same setting to different values;
//! two caps on one setting keep the smaller, and a set and a cap on one setting conflict.
//! So a set either applies every member in full, whatever their order, or is refused
//! ([`StrategySet::parse`]): `lamport+vector-clock` would have the later clock overwrite
//! the earlier one's, and is an error. A name given twice is an error too. The hooks
//! follow the same rule: a strategy with consumer hooks declares `consumer.policy` and one
//! whose producer hooks stamp a clock declares `producer.clock` (a unit test holds every
//! built-in to it), so a set has at most one consumer mechanism and one clock; other
//! producer hooks (a re-send rule) all run, in name order, the first with an opinion
//! deciding.

mod change_data_capture;
mod dual_write;
mod expected_version;
mod full_state;
mod hybrid_logical_clock;
mod idempotent_consumer;
mod idempotent_producer;
mod key_partitioning;
mod lamport_clock;
mod partition_batch;
mod reorder_buffer;
mod sequencer;
mod single_in_flight;
mod timestamp_lww;
mod transactional_outbox;
mod unkeyed;
mod vector_clock;
mod versioned_consumer;

use crate::scenario::Scenario;

pub use crate::model::hooks::{
    Carried, Consistency, ConsumerCx, ConsumerHooks, Delivery, Meta, ProducerHooks, Resend, Setup, StampCx, Table,
};

/// Metadata the producers write on each event's record besides a clock stamp (the
/// history's `meta`): the entity's sequence number (`seq`), the producer's timestamp (`ts`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    pub seq: bool,
    pub ts: bool,
}

/// One ordering strategy: its configuration ([`Strategy::settings`], [`Strategy::configure`])
/// and its mechanism, the hooks the model calls on each side.
pub trait Strategy: Sync {
    /// The name used on the command line.
    fn name(&self) -> &'static str;
    /// One line: what it does and what it promises.
    fn summary(&self) -> &'static str;
    /// Every setting [`Strategy::configure`] changes, and how (a test holds the two equal).
    fn settings(&self) -> &'static [Setting];
    /// Applies the strategy to a scenario's configuration.
    fn configure(&self, scenario: &mut Scenario);
    /// The metadata its producers put on each event (a clock stamp is `producer.clock`'s).
    fn metadata(&self) -> Metadata {
        Metadata::default()
    }
    /// The producer-side mechanism, one per producer process (kept across its crashes).
    fn producer_hooks(&self, setup: &mut Setup<'_>) -> Option<Box<dyn ProducerHooks>> {
        let _ = setup;
        None
    }
    /// The consumer-side mechanism, one per consumer incarnation. At most one member of a
    /// set has one: it declares `consumer.policy`.
    fn consumer_hooks(&self, setup: &mut Setup<'_>) -> Option<Box<dyn ConsumerHooks>> {
        let _ = setup;
        None
    }
}

/// The strategies whose hooks a run's components call, by name (a set's order changes
/// nothing: of two producer hooks with an opinion on a re-send, the first by name decides).
#[derive(Clone, Default)]
pub struct Plugins(pub Vec<&'static dyn Strategy>);

impl PartialEq for Plugins {
    fn eq(&self, other: &Plugins) -> bool {
        self.0.len() == other.0.len() && self.0.iter().zip(&other.0).all(|(a, b)| a.name() == b.name())
    }
}

impl Eq for Plugins {}

impl std::fmt::Debug for Plugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|s| s.name())).finish()
    }
}

impl Plugins {
    /// The metadata every member asks for.
    pub fn metadata(&self) -> Metadata {
        self.0.iter().fold(Metadata::default(), |all, s| {
            let m = s.metadata();
            Metadata { seq: all.seq || m.seq, ts: all.ts || m.ts }
        })
    }

    /// The producer hooks of every member that has some, in set order.
    pub(crate) fn producer_hooks(&self, setup: &mut Setup<'_>) -> Vec<Box<dyn ProducerHooks>> {
        self.0.iter().filter_map(|s| s.producer_hooks(setup)).collect()
    }

    /// The consumer hooks of the member that has some (a plain consumer's otherwise).
    pub(crate) fn consumer_hooks(&self, setup: &mut Setup<'_>) -> Box<dyn ConsumerHooks> {
        self.0.iter().find_map(|s| s.consumer_hooks(setup)).unwrap_or_else(|| Box::new(Plain))
    }
}

/// No consumer-side strategy: every record is applied as it comes.
pub struct Plain;

impl ConsumerHooks for Plain {
    fn on_record(&mut self, cx: &mut ConsumerCx<'_, '_>, record: Delivery) {
        cx.apply(record);
    }
}

/// Which side of the stream a setting is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The producer (and the application feeding it).
    Producer,
    /// The consumer group.
    Consumer,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Producer => "producer",
            Side::Consumer => "consumer",
        }
    }
}

/// What a strategy does to a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Sets it to this value (in the scenario file's spelling).
    Set(&'static str),
    /// Lowers it to at most this number (leaves a smaller value alone).
    AtMost(u32),
}

/// One setting a strategy changes. `field` is the scenario field (`producer.acks`), or for
/// the two settings only strategies choose, `producer.clock` and `consumer.policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting {
    pub side: Side,
    pub field: &'static str,
    pub effect: Effect,
}

impl Setting {
    pub const fn set(side: Side, field: &'static str, value: &'static str) -> Setting {
        Setting { side, field, effect: Effect::Set(value) }
    }
    pub const fn at_most(side: Side, field: &'static str, limit: u32) -> Setting {
        Setting { side, field, effect: Effect::AtMost(limit) }
    }
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.effect {
            Effect::Set(value) => write!(f, "{} = {value}", self.field),
            Effect::AtMost(limit) => write!(f, "{} ≤ {limit}", self.field),
        }
    }
}

/// The sides a strategy's settings are on, as `ordo list` shows them: `producer`,
/// `consumer` or `producer+consumer`.
pub fn sides(strategy: &dyn Strategy) -> String {
    let on = |side| strategy.settings().iter().any(|s| s.side == side);
    match (on(Side::Producer), on(Side::Consumer)) {
        (true, true) => "producer+consumer".into(),
        (false, true) => "consumer".into(),
        _ => "producer".into(),
    }
}

/// The composition rule in one sentence, for `ordo --help`, `ordo list` and errors.
pub const COMPOSITION_RULE: &str = "strategies joined with + compose when no two set the same setting to different \
values (two caps keep the smaller; a value and a cap on one setting conflict); anything else is refused, so every \
strategy named takes effect in full, in any order";

/// Every strategy ordo knows, in the order `ordo list` shows them.
pub fn all() -> &'static [&'static dyn Strategy] {
    &[
        &key_partitioning::KeyPartitioning,
        &unkeyed::Unkeyed,
        &single_in_flight::SingleInFlight,
        &idempotent_producer::IdempotentProducer,
        &dual_write::DualWrite,
        &transactional_outbox::TransactionalOutbox,
        &change_data_capture::ChangeDataCapture,
        &idempotent_consumer::IdempotentConsumer,
        &reorder_buffer::ReorderBuffer,
        &versioned_consumer::VersionedConsumer,
        &full_state::FullState,
        &timestamp_lww::TimestampLww,
        &lamport_clock::LamportClock,
        &hybrid_logical_clock::HybridLogicalClock,
        &sequencer::Sequencer,
        &vector_clock::VectorClock,
        &expected_version::ExpectedVersion,
        &partition_batch::PartitionBatch,
    ]
}

/// The strategies a run may name: the built-ins ([`all`]) and any a user registers.
#[derive(Clone)]
pub struct Registry {
    strategies: Vec<&'static dyn Strategy>,
}

impl Registry {
    /// ordo's own strategies.
    pub fn builtin() -> Registry {
        Registry { strategies: all().to_vec() }
    }

    /// Adds a strategy (after the others); a name already taken is refused.
    pub fn register(&mut self, strategy: &'static dyn Strategy) -> Result<(), UnknownStrategy> {
        let name = strategy.name();
        if name.is_empty() || name.contains('+') || self.strategies.iter().any(|s| s.name() == name) {
            return Err(UnknownStrategy::Taken { name: name.to_string() });
        }
        self.strategies.push(strategy);
        Ok(())
    }

    /// Every registered strategy, built-ins first.
    pub fn all(&self) -> &[&'static dyn Strategy] {
        &self.strategies
    }

    /// Parses `a+b+c` against this registry ([`StrategySet::parse`]'s rules).
    pub fn parse(&self, spec: &str) -> Result<StrategySet, UnknownStrategy> {
        StrategySet::parse_in(&self.strategies, spec)
    }
}

/// A strategy name that is not in the registry, or strategies that cannot compose.
#[derive(Debug, thiserror::Error)]
pub enum UnknownStrategy {
    #[error("a strategy named {name:?} cannot be registered: the name is empty, holds `+`, or is taken")]
    Taken { name: String },
    #[error("unknown strategy {name:?} in {spec:?}; expected one or more of {known} joined with `+`")]
    Unknown { name: String, spec: String, known: String },
    #[error("{spec:?} names {name:?} twice; name each strategy once")]
    Twice { name: String, spec: String },
    #[error("{spec:?} cannot compose: {conflicts}; only one of each pair could take effect, so drop one (the rule: {COMPOSITION_RULE})")]
    Conflict { spec: String, conflicts: String },
}

/// A resolved combination, e.g. `key+idempotent`.
pub struct StrategySet {
    pub members: Vec<&'static dyn Strategy>,
}

impl std::fmt::Debug for StrategySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StrategySet({})", self.name())
    }
}

impl StrategySet {
    /// Parses `a+b+c` and enforces the composition rule (see the module doc): a set is
    /// refused when two members set one setting to different values, or one sets it and
    /// another caps it, so that every member applies in full, in any order.
    pub fn parse(spec: &str) -> Result<StrategySet, UnknownStrategy> {
        Self::parse_in(all(), spec)
    }

    fn parse_in(known: &[&'static dyn Strategy], spec: &str) -> Result<StrategySet, UnknownStrategy> {
        let mut members: Vec<&'static dyn Strategy> = Vec::new();
        for name in spec.split('+').map(str::trim) {
            if members.iter().any(|m| m.name() == name) {
                return Err(UnknownStrategy::Twice { name: name.to_string(), spec: spec.to_string() });
            }
            match known.iter().find(|s| s.name() == name) {
                Some(strategy) => members.push(*strategy),
                None => {
                    return Err(UnknownStrategy::Unknown {
                        name: name.to_string(),
                        spec: spec.to_string(),
                        known: known.iter().map(|s| s.name()).collect::<Vec<_>>().join(", "),
                    })
                }
            }
        }
        let mut conflicts = Vec::new();
        for (i, a) in members.iter().enumerate() {
            for b in &members[i + 1..] {
                for x in a.settings() {
                    for y in b.settings().iter().filter(|y| y.field == x.field) {
                        let clash = match (x.effect, y.effect) {
                            (Effect::Set(p), Effect::Set(q)) => p != q,
                            (Effect::AtMost(_), Effect::AtMost(_)) => false,
                            _ => true,
                        };
                        if clash {
                            conflicts.push(format!("`{}` sets {x} but `{}` sets {y}", a.name(), b.name()));
                        }
                    }
                }
            }
        }
        if !conflicts.is_empty() {
            return Err(UnknownStrategy::Conflict { spec: spec.to_string(), conflicts: conflicts.join("; ") });
        }
        Ok(StrategySet { members })
    }

    pub fn name(&self) -> String {
        self.members.iter().map(|s| s.name()).collect::<Vec<_>>().join("+")
    }

    /// Applies every member's configuration, and installs their hooks.
    pub fn configure(&self, scenario: &mut Scenario) {
        for strategy in &self.members {
            strategy.configure(scenario);
        }
        // By name, so the order a set is written in changes nothing.
        let mut members = self.members.clone();
        members.sort_by_key(|s| s.name());
        scenario.plugins = Plugins(members);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        let names: Vec<&str> = all().iter().map(|s| s.name()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        for name in names {
            assert_eq!(StrategySet::parse(name).unwrap().name(), name);
        }
    }

    /// The value of a setting a strategy may change, and a way to put it back.
    fn probe(scenario: &Scenario, field: &str) -> String {
        let (p, c) = (&scenario.producer, &scenario.consumer);
        match field {
            "producer.partitioner" => format!("{:?}", p.partitioner),
            "producer.max_in_flight" => p.max_in_flight.to_string(),
            "producer.idempotence" => p.idempotence.to_string(),
            "producer.acks" => format!("{:?}", p.acks),
            "producer.expected_version" => p.expected_version.to_string(),
            "producer.batch_size" => p.batch_size.to_string(),
            "producer.delivery_timeout_ms" => p.delivery_timeout_ms.to_string(),
            "producer.clock" => format!("{:?}", p.clock),
            "workload.durable_source" => scenario.workload.durable_source.to_string(),
            "workload.resend_failed" => scenario.workload.resend_failed.to_string(),
            "workload.relay_flush_ms" => scenario.workload.relay_flush_ms.to_string(),
            "consumer.policy" => format!("{:?}", c.policy),
            "consumer.parallel_partitions" => c.parallel_partitions.to_string(),
            "consumer.retry_whole_batch" => c.retry_whole_batch.to_string(),
            "consumer.commit" => format!("{:?}", c.commit),
            other => panic!("no probe for {other}: add one"),
        }
    }

    fn restore(scenario: &mut Scenario, from: &Scenario, field: &str) {
        let (p, c) = (&mut scenario.producer, &mut scenario.consumer);
        match field {
            "producer.partitioner" => p.partitioner = from.producer.partitioner,
            "producer.max_in_flight" => p.max_in_flight = from.producer.max_in_flight,
            "producer.idempotence" => p.idempotence = from.producer.idempotence,
            "producer.acks" => p.acks = from.producer.acks,
            "producer.expected_version" => p.expected_version = from.producer.expected_version,
            "producer.batch_size" => p.batch_size = from.producer.batch_size,
            "producer.delivery_timeout_ms" => p.delivery_timeout_ms = from.producer.delivery_timeout_ms,
            "producer.clock" => p.clock = from.producer.clock,
            "workload.durable_source" => scenario.workload.durable_source = from.workload.durable_source,
            "workload.resend_failed" => scenario.workload.resend_failed = from.workload.resend_failed,
            "workload.relay_flush_ms" => scenario.workload.relay_flush_ms = from.workload.relay_flush_ms,
            "consumer.policy" => c.policy = from.consumer.policy,
            "consumer.parallel_partitions" => c.parallel_partitions = from.consumer.parallel_partitions,
            "consumer.retry_whole_batch" => c.retry_whole_batch = from.consumer.retry_whole_batch,
            "consumer.commit" => c.commit = from.consumer.commit,
            other => panic!("no probe for {other}: add one"),
        }
    }

    fn normal(text: &str) -> String {
        text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
    }

    fn bases() -> Vec<Scenario> {
        let texts = [
            "",
            "[producer]\nidempotence = false\nacks = 1\nmax_in_flight = 3\nbatch_size = 8\npartitioner = \"round_robin\"\n[consumer]\ncommit = \"before\"\n",
            "[producer]\nidempotence = false\nmax_in_flight = 20\n",
        ];
        texts.iter().map(|text| Scenario::parse(text, "t.toml", "t").unwrap()).collect()
    }

    #[test]
    fn every_strategy_changes_exactly_the_settings_it_declares() {
        for strategy in all() {
            for base in bases() {
                let mut after = base.clone();
                strategy.configure(&mut after);
                for setting in strategy.settings() {
                    let value = probe(&after, setting.field);
                    match setting.effect {
                        Effect::Set(want) => assert_eq!(normal(&value), normal(want), "{}: {setting}", strategy.name()),
                        Effect::AtMost(limit) => {
                            let before: u32 = probe(&base, setting.field).parse().unwrap();
                            assert_eq!(value, before.min(limit).to_string(), "{}: {setting}", strategy.name());
                        }
                    }
                    assert_eq!(
                        setting.side.name(),
                        if setting.field.starts_with("consumer.") { "consumer" } else { "producer" },
                        "{}: {setting} is on the side its field says",
                        strategy.name()
                    );
                    restore(&mut after, &base, setting.field);
                }
                assert_eq!(after, base, "{} changes a setting it does not declare", strategy.name());
            }
        }
    }

    #[test]
    fn accepted_sets_apply_in_full_in_any_order_and_the_rest_are_refused() {
        let mut accepted = 0;
        for a in all() {
            for b in all().iter().filter(|b| b.name() != a.name()) {
                let spec = format!("{}+{}", a.name(), b.name());
                let Ok(set) = StrategySet::parse(&spec) else {
                    // Refused: some setting would depend on the order.
                    let clash = a.settings().iter().any(|x| {
                        b.settings().iter().any(|y| {
                            x.field == y.field
                                && !matches!((x.effect, y.effect), (Effect::AtMost(_), Effect::AtMost(_)))
                                && x.effect != y.effect
                        })
                    });
                    assert!(clash, "{spec} was refused without a clash");
                    continue;
                };
                accepted += 1;
                let reverse = StrategySet::parse(&format!("{}+{}", b.name(), a.name())).unwrap();
                for base in bases() {
                    let (mut one, mut two) = (base.clone(), base.clone());
                    set.configure(&mut one);
                    reverse.configure(&mut two);
                    assert_eq!(one, two, "{spec}: the order matters");
                    // Each member's settings all hold in the result.
                    for member in &set.members {
                        let mut alone = base.clone();
                        member.configure(&mut alone);
                        for setting in member.settings() {
                            if let Effect::Set(_) = setting.effect {
                                assert_eq!(
                                    probe(&one, setting.field),
                                    probe(&alone, setting.field),
                                    "{spec}: {setting}"
                                );
                            }
                        }
                    }
                }
            }
        }
        assert!(accepted > 50, "most pairs compose ({accepted})");
    }

    #[test]
    fn conflicting_and_repeated_strategies_are_refused() {
        let error = StrategySet::parse("lamport+vector-clock+reorder-buffer").unwrap_err().to_string();
        assert!(
            error.contains("`lamport` sets producer.clock = lamport but `vector-clock` sets producer.clock = vector"),
            "{error}"
        );
        assert!(error.contains("consumer.policy"), "{error}");
        assert!(StrategySet::parse("idempotent+expected-version")
            .unwrap_err()
            .to_string()
            .contains("producer.idempotence"));
        assert!(StrategySet::parse("key+unkeyed").is_err());
        assert!(StrategySet::parse("key+key").unwrap_err().to_string().contains("twice"));
        // Caps compose, and so do equal values.
        for ok in ["single-inflight+idempotent", "outbox+single-inflight", "key+expected-version", "key+outbox"] {
            assert!(StrategySet::parse(ok).is_ok(), "{ok}");
        }
    }

    /// A strategy has consumer hooks exactly when it declares `consumer.policy` (so two
    /// consumer mechanisms never compose), and producer hooks that stamp exactly when it
    /// declares `producer.clock`.
    #[test]
    fn hooks_are_declared_by_the_settings_that_keep_them_apart() {
        let scenario = Scenario::parse("", "t.toml", "t").unwrap();
        for strategy in all() {
            let declares = |field: &str| strategy.settings().iter().any(|s| s.field == field);
            let mut stores = crate::model::hooks::Stores::default();
            let mut setup = Setup::detached(&scenario, &mut stores);
            assert_eq!(
                strategy.consumer_hooks(&mut setup).is_some(),
                declares("consumer.policy"),
                "{}: consumer hooks and consumer.policy",
                strategy.name()
            );
            let stamps = strategy.producer_hooks(&mut setup).is_some() && declares("producer.clock");
            assert_eq!(stamps, declares("producer.clock"), "{}: a clock has producer hooks", strategy.name());
        }
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let error = StrategySet::parse("key+lamport-ish").unwrap_err().to_string();
        assert!(error.contains("\"lamport-ish\"") && error.contains("idempotent"), "{error}");
    }

    #[test]
    fn composition_applies_in_order() {
        let mut scenario = Scenario::parse("[producer]\nidempotence = false\nacks = 1\n", "t.toml", "t").unwrap();
        StrategySet::parse("unkeyed+idempotent").unwrap().configure(&mut scenario);
        assert!(scenario.producer.idempotence);
        assert_eq!(scenario.producer.acks, crate::scenario::Acks::All);
        assert_eq!(scenario.producer.partitioner, crate::scenario::Partitioner::RoundRobin);
    }
}
