//! Scenario files: TOML in, validated [`Scenario`] out.
//!
//! Every field has a default (documented in `docs/scenario-format.md` and below); unknown
//! fields and bad values are [`ScenarioError`]s that name the file, the field and what was
//! expected. Units are in the field names (`_ms`, `_us`, `_ppm`); probabilities are parts
//! per million, never floats.

use std::path::Path;

use serde::Deserialize;

mod faults;
pub mod quiz;
pub mod random;
pub use faults::{FaultKind, ScheduledFault};
pub use quiz::{Claim, Quiz};
pub use random::{Drawn, RandomFaults, RandomKind};

/// A user mistake in a scenario file. The CLI prints it and exits 2.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}: cannot read: {reason}")]
    Read { file: String, reason: std::io::Error },
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: field `{field}`: {message}")]
    Invalid { file: String, field: String, message: String },
}

/// `acks`: how many replicas must have a write before the leader answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    None,
    Leader,
    All,
}

impl Acks {
    pub fn as_json(self) -> i64 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

/// When a consumer commits offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitMode {
    /// Kafka's `enable.auto.commit`: at each poll, once `auto_commit_interval_ms` has
    /// passed, commit the position reached by the previous poll (whose records were
    /// processed, since processing is synchronous).
    Auto,
    /// Commit the new position as soon as a poll returns, before processing (at most once).
    Before,
    /// Commit after the whole polled batch is processed (at least once).
    After,
}

/// Which producer instance emits each step of an entity's chain.
/// How producers pace the workload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadMode {
    /// Open loop: each entity starts at its planned time, whatever the system does.
    #[default]
    Open,
    /// Closed loop: each producer keeps `outstanding` of its events unacknowledged,
    /// starting its next entity as soon as one resolves (planned times are ignored), so
    /// the run measures the most the configuration can carry.
    Closed,
}

/// What applying an event does to its entity's projection (`workload.operation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Sets the entity's `status` to the event's kind: applying it twice, or an older one
    /// again, can only leave an older status.
    #[default]
    Set,
    /// Also adds 1 to the entity's `count` (a counter, a balance): every duplicate apply
    /// is off by one more.
    Increment,
    /// Also appends the event's item to the entity's `items` list: a duplicate shows twice,
    /// a reorder shows out of order.
    Append,
}

impl Operation {
    /// The field the operation changes besides `status`, with the history's name of the
    /// operation (`None` for `set`).
    pub fn field(self) -> Option<(&'static str, &'static str)> {
        match self {
            Operation::Set => None,
            Operation::Increment => Some(("count", "increment")),
            Operation::Append => Some(("items", "append")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handoff {
    /// One producer emits all of an entity's events.
    Same,
    /// Step k goes to the next producer in turn: several producers emit for one entity.
    Rotate,
    /// Each step goes to a producer drawn at random.
    Random,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partitioner {
    /// `hash(key) mod partitions`.
    Key,
    /// No key: records spread round-robin over partitions.
    RoundRobin,
}

/// A validated scenario: what `ordo run` simulates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub name: String,
    pub summary: String,
    pub seed: u64,
    /// Whether the file names a seed (else `seed` is [`DEFAULT_SEED`]).
    pub seed_in_file: bool,
    pub strategy: String,
    /// The guarantees the run expects (the checker's verdict is "violated" only for these).
    pub expect: Vec<String>,
    pub topology: Topology,
    pub workload: Workload,
    pub producer: ProducerConfig,
    pub broker: BrokerConfig,
    pub consumer: ConsumerConfig,
    pub network: NetworkConfig,
    pub links: Vec<LinkOverride>,
    pub clocks: Vec<ClockConfig>,
    /// Scripted faults, in time order.
    pub faults: Vec<ScheduledFault>,
    /// `[random_faults]`: faults drawn from the run seed (see [`random`]); `run::build`
    /// merges them into `faults`.
    pub random_faults: Option<RandomFaults>,
    /// `[queue]`: the topic is one shared queue with competing consumers instead of a
    /// partitioned log (see [`QueueConfig`]); `None` for a log.
    pub queue: Option<QueueConfig>,
    pub run: RunLimits,
    /// `[quiz]`: the lesson's question and its checkable answer (`ordo explain --quiz`);
    /// it never changes a run.
    pub quiz: Option<Quiz>,
    /// `--set FIELD=VALUE` assignments applied on top of the file, in order (reproduce
    /// commands repeat them).
    pub overrides: Vec<String>,
    /// The strategies whose hooks the run's components call (set with the rest of the
    /// configuration by `StrategySet::configure`; empty before).
    pub plugins: crate::strategy::Plugins,
}

/// Queue mode (`[queue]`): one shared queue hosted on `b0`, competing consumers, per-message
/// acknowledgement, redelivery after a visibility timeout or a nack (the SQS / RabbitMQ
/// shape), instead of partitions owned by group members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// A received message stays invisible to other consumers this long; unacknowledged by
    /// then, it is visible again and goes to whoever receives next (SQS
    /// `VisibilityTimeout`, RabbitMQ's `consumer_timeout`).
    pub visibility_timeout_ms: u64,
    /// Most messages a consumer holds unacknowledged (RabbitMQ `basic.qos` prefetch count;
    /// SQS `MaxNumberOfMessages` bounds one receive). With `ack = "auto"` it bounds one
    /// receive.
    pub prefetch: u32,
    pub ack: QueueAckMode,
    /// Dead-letter a message returned (timeout, nack, host restart) after this many
    /// receives (SQS `maxReceiveCount`, RabbitMQ quorum-queue `delivery-limit`); 0: never.
    pub max_receives: u32,
}

/// When a queue message is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueAckMode {
    /// The consumer acknowledges each message after processing it (at least once).
    Manual,
    /// The host counts a message acknowledged as soon as it delivers it (RabbitMQ
    /// `autoAck`): at most once.
    Auto,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    pub brokers: u32,
    pub producers: u32,
    pub consumers: u32,
    pub partitions: u32,
    pub topic: String,
    pub group: String,
    /// Replicas per partition (on brokers `p mod brokers`, the next, …).
    pub replication_factor: u32,
}

/// Broker and replication settings (`[broker]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerConfig {
    pub min_insync_replicas: u32,
    pub unclean_leader_election: bool,
    pub replica_lag_time_max_ms: u64,
    /// How long a follower waits before fetching again after an empty fetch.
    pub replica_fetch_idle_ms: u64,
    /// The controller fences a broker whose heartbeats stop this long.
    pub session_timeout_ms: u64,
    pub heartbeat_interval_ms: u64,
    /// fsync: 0 = every append reaches disk before anything else happens; otherwise the
    /// log is flushed every this many ms, and a crash loses the unflushed tail.
    pub flush_interval_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    pub entities: u32,
    pub events_per_entity: u32,
    pub entity_prefix: String,
    pub start_window_ms: u64,
    pub think_min_us: u64,
    pub think_max_us: u64,
    pub handoff: Handoff,
    pub cross_entity_ppm: u32,
    /// The application sends the events of a batch the producer gave up again, as new records.
    pub resend_failed: bool,
    /// Events live in a durable source (a table, an outbox): after a producer crash, the
    /// restarted process sends again those it never saw acknowledged.
    pub durable_source: bool,
    /// With a durable source: 0, the relay marks each event done when it is acknowledged
    /// (a polling outbox relay); above 0, the relay tails the source's commit log and
    /// stores its restart position (the end of the acknowledged prefix) at the first
    /// acknowledgment at least this many ms after the last store, as Kafka Connect commits
    /// a source connector's offsets every `offset.flush.interval.ms`. A restarted relay
    /// publishes again everything after the stored position, acknowledged or not.
    pub relay_flush_ms: u64,
    pub kinds: Vec<String>,
    /// Saga compensations: `compensations[i]` undoes the step of kind `kinds[i]`. With
    /// `compensation_ppm` per million, a step after the first fails and its service emits
    /// instead the compensation of the step before it (the kind the entity is in), which
    /// ends the entity's saga.
    pub compensations: Vec<String>,
    pub compensation_ppm: u32,
    /// Open or closed loop (see [`WorkloadMode`]).
    pub mode: WorkloadMode,
    /// Closed loop: events each producer keeps unacknowledged (0 in open mode).
    pub outstanding: u32,
    /// What an apply does to the projection (see [`Operation`]).
    pub operation: Operation,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerConfig {
    pub acks: Acks,
    pub idempotence: bool,
    pub max_in_flight: u32,
    pub linger_ms: u64,
    pub batch_size: u32,
    pub retries: u32,
    pub retry_backoff_ms: u64,
    pub request_timeout_ms: u64,
    pub delivery_timeout_ms: u64,
    pub partitioner: Partitioner,
    /// The logical clock producers stamp on events (set by clock strategies).
    pub clock: ClockKind,
    /// Event-sourcing appends: each record carries its entity's expected stream version and
    /// the broker appends a batch only if every record's version is the stream's next one
    /// (set by the `expected-version` strategy).
    pub expected_version: bool,
}

/// A logical clock the producers keep and stamp on every event they create.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClockKind {
    #[default]
    None,
    /// Lamport 1978: a counter, incremented per event, merged (max) on receipt.
    Lamport,
    /// Kulkarni et al. 2014: (physical max, logical counter), physical part from the local
    /// (skewed) clock.
    Hybrid,
    /// Fidge/Mattern 1988: one counter per producer process, merged entry-wise.
    Vector,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerConfig {
    pub commit: CommitMode,
    pub auto_commit_interval_ms: u64,
    pub poll_idle_ms: u64,
    pub max_poll_records: u32,
    pub processing_min_us: u64,
    pub processing_max_us: u64,
    pub request_timeout_ms: u64,
    pub assignment: Assignment,
    pub session_timeout_ms: u64,
    pub heartbeat_interval_ms: u64,
    pub max_poll_interval_ms: u64,
    /// What the consumer does with each processed event before applying it (set by
    /// consumer-side strategies).
    pub policy: ConsumerPolicy,
    /// Reorder buffer: how long to wait for a missing sequence number before skipping it.
    pub reorder_timeout_ms: u64,
    /// Reorder buffer: events held at most (per consumer); when full the gap is skipped.
    pub reorder_capacity: u32,
    /// Clock-ordered consumers (`lamport`, `hlc`): how long an event is held so that
    /// events with smaller stamps can overtake it; one arriving below what was already
    /// released is late and dead-lettered.
    pub clock_window_ms: u64,
    /// Chance per processed record (ppm) that processing fails transiently (a timeout of
    /// a downstream call). A plain consumer retries the record after `processing_retry_ms`;
    /// the `batch` strategy retries the partition's whole batch.
    pub processing_failure_ppm: u32,
    pub processing_retry_ms: u64,
    /// Process each poll's records per partition, the partitions side by side (the
    /// `batch` strategy), instead of one after another.
    pub parallel_partitions: bool,
    /// On a processing failure, start the partition's batch over (the `batch` strategy)
    /// instead of retrying the one record.
    pub retry_whole_batch: bool,
    /// Key lanes: 0 = off; N ≥ 1 = each poll's records are processed in N worker lanes by
    /// a hash of their key (one key in one lane, in its order; keys side by side), and
    /// each lane commits when it has done its share of the poll (see [`LaneCommit`]).
    pub key_lanes: u32,
    /// What a lane's commit covers.
    pub lane_commit: LaneCommit,
}

/// What a key lane commits when it has done its share of a poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LaneCommit {
    /// Per partition, the contiguous processed prefix: the lowest offset any lane has
    /// still to process (Confluent's parallel consumer, Spring's `ackMode` ordering).
    Prefix,
    /// Per partition, the highest offset processed so far, + 1: past records other lanes
    /// have not processed yet (the naive version).
    Highest,
}

/// The consumer-side mechanism's name, set by the consumer-side strategy that provides it
/// (`plain` when none does): one per strategy set, so two strategies that would each
/// decide what a consumer does with a record cannot compose. The mechanism itself is the
/// strategy's consumer hooks (`crate::strategy::Strategy::consumer_hooks`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ConsumerPolicy(pub &'static str);

impl ConsumerPolicy {
    /// Apply everything as it comes.
    pub const PLAIN: ConsumerPolicy = ConsumerPolicy("plain");
}

impl std::fmt::Debug for ConsumerPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// How the group's partitions are assigned to its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// Partition `p` belongs to consumer `p mod consumers`, always; no coordinator protocol.
    Static,
    /// A group coordinator, generations, heartbeats; every rebalance revokes every partition
    /// from every member (stop the world). Kafka's default (Range first).
    Eager,
    /// As `eager`, but members keep their partitions; moved ones are revoked in a first
    /// round and assigned in a second (KIP-429, CooperativeSticky).
    Cooperative,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    pub latency_min_us: u64,
    pub latency_max_us: u64,
    pub loss_ppm: u32,
    pub duplicate_ppm: u32,
    pub fifo: bool,
}

/// Overrides the network between two named nodes (or node kinds: `producers`, `brokers`,
/// `consumers`, or `*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkOverride {
    pub from: String,
    pub to: String,
    pub network: NetworkConfig,
    /// Both directions.
    pub both: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClockConfig {
    pub node: String,
    pub offset_ms: i64,
    pub drift_ppm: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLimits {
    pub max_time_ms: u64,
    pub max_events: u64,
}

// ---- raw TOML shape: every field optional, unknown fields rejected ----

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<String>,
    summary: Option<String>,
    seed: Option<u64>,
    strategy: Option<String>,
    expect: Option<Vec<String>>,
    #[serde(default)]
    topology: RawTopology,
    #[serde(default)]
    workload: RawWorkload,
    #[serde(default)]
    producer: RawProducer,
    #[serde(default)]
    broker: RawBroker,
    #[serde(default)]
    consumer: RawConsumer,
    #[serde(default)]
    network: RawNetwork,
    #[serde(default)]
    link: Vec<RawLink>,
    #[serde(default)]
    clock: Vec<RawClock>,
    #[serde(default)]
    fault: Vec<faults::RawFault>,
    random_faults: Option<random::RawRandomFaults>,
    queue: Option<RawQueue>,
    #[serde(default)]
    run: RawRun,
    quiz: Option<quiz::RawQuiz>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTopology {
    brokers: Option<u32>,
    producers: Option<u32>,
    consumers: Option<u32>,
    partitions: Option<u32>,
    topic: Option<String>,
    group: Option<String>,
    replication_factor: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBroker {
    min_insync_replicas: Option<u32>,
    unclean_leader_election: Option<bool>,
    replica_lag_time_max_ms: Option<u64>,
    replica_fetch_idle_ms: Option<u64>,
    session_timeout_ms: Option<u64>,
    heartbeat_interval_ms: Option<u64>,
    flush_interval_ms: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWorkload {
    entities: Option<u32>,
    events_per_entity: Option<u32>,
    entity_prefix: Option<String>,
    start_window_ms: Option<u64>,
    think_min_us: Option<u64>,
    think_max_us: Option<u64>,
    handoff: Option<Handoff>,
    cross_entity_ppm: Option<u32>,
    resend_failed: Option<bool>,
    durable_source: Option<bool>,
    relay_flush_ms: Option<u64>,
    kinds: Option<Vec<String>>,
    compensations: Option<Vec<String>>,
    compensation_ppm: Option<u32>,
    mode: Option<WorkloadMode>,
    outstanding: Option<u32>,
    operation: Option<Operation>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawAcks {
    Number(i64),
    Text(String),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProducer {
    acks: Option<RawAcks>,
    idempotence: Option<bool>,
    max_in_flight: Option<u32>,
    linger_ms: Option<u64>,
    batch_size: Option<u32>,
    retries: Option<u32>,
    retry_backoff_ms: Option<u64>,
    request_timeout_ms: Option<u64>,
    delivery_timeout_ms: Option<u64>,
    partitioner: Option<Partitioner>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConsumer {
    commit: Option<CommitMode>,
    auto_commit_interval_ms: Option<u64>,
    poll_idle_ms: Option<u64>,
    max_poll_records: Option<u32>,
    processing_min_us: Option<u64>,
    processing_max_us: Option<u64>,
    request_timeout_ms: Option<u64>,
    assignment: Option<Assignment>,
    session_timeout_ms: Option<u64>,
    heartbeat_interval_ms: Option<u64>,
    max_poll_interval_ms: Option<u64>,
    reorder_timeout_ms: Option<u64>,
    reorder_capacity: Option<u32>,
    clock_window_ms: Option<u64>,
    processing_failure_ppm: Option<u32>,
    processing_retry_ms: Option<u64>,
    parallel_partitions: Option<bool>,
    retry_whole_batch: Option<bool>,
    key_lanes: Option<u32>,
    lane_commit: Option<LaneCommit>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    latency_min_us: Option<u64>,
    latency_max_us: Option<u64>,
    loss_ppm: Option<u32>,
    duplicate_ppm: Option<u32>,
    fifo: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLink {
    from: String,
    to: String,
    #[serde(default)]
    both: bool,
    latency_min_us: Option<u64>,
    latency_max_us: Option<u64>,
    loss_ppm: Option<u32>,
    duplicate_ppm: Option<u32>,
    fifo: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClock {
    node: String,
    #[serde(default)]
    offset_ms: i64,
    #[serde(default)]
    drift_ppm: i32,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    visibility_timeout_ms: Option<u64>,
    prefetch: Option<u32>,
    ack: Option<QueueAckMode>,
    max_receives: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRun {
    max_time_ms: Option<u64>,
    max_events: Option<u64>,
}

/// The guarantees a run can expect (see docs/checker.md).
pub const GUARANTEES: [&str; 4] = ["per_key_order", "exactly_once", "causal", "no_loss"];

/// The seed a scenario runs with when neither the file nor the command line names one.
pub const DEFAULT_SEED: u64 = 1;
/// The latest time any time field may name, and the longest run: 24 hours, in ms.
pub const MAX_TIME_MS: u64 = 86_400_000;
/// The most events a closed-loop producer keeps unacknowledged (`workload.outstanding`).
pub const MAX_OUTSTANDING: u32 = 100_000;

/// `workload.outstanding` when a closed-loop scenario does not say.
pub const MAX_OUTSTANDING_DEFAULT: u32 = 10;

/// The most events a run may plan (`workload.entities × workload.events_per_entity`):
/// event ids are `u32`, and every planned event costs memory (see docs/scenario-format.md).
pub const MAX_EVENTS: u64 = 1_000_000_000;
pub const DEFAULT_STRATEGY: &str = "key";

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        Scenario::load_with(path, &[])
    }

    /// Reads a scenario file and applies `--set FIELD=VALUE` overrides (e.g.
    /// `consumer.clock_window_ms=50`, `producer.acks="all"`) on top of it. The file is
    /// validated on its own first, so its errors keep their line numbers; an override that
    /// names an unknown field or a bad value is an error naming `--set` and the field.
    pub fn load_with(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|reason| ScenarioError::Read { file: file.clone(), reason })?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario");
        Scenario::parse_with(&text, &file, stem, overrides)
    }

    /// [`Scenario::parse`] with `--set FIELD=VALUE` overrides, as [`Scenario::load_with`]
    /// (for scenarios that are not files, such as the ones bundled in the binary).
    pub fn parse_with(
        text: &str,
        file: &str,
        default_name: &str,
        overrides: &[String],
    ) -> Result<Scenario, ScenarioError> {
        let scenario = Scenario::parse(text, file, default_name)?;
        if overrides.is_empty() {
            return Ok(scenario);
        }
        let table: toml::Table = toml::from_str(text)
            .map_err(|error| ScenarioError::Parse { file: file.to_string(), message: error.to_string() })?;
        let mut all = table.clone();
        for assignment in overrides {
            apply_override(&mut all, assignment)?;
        }
        let raw = match RawScenario::deserialize(toml::Value::Table(all)) {
            Ok(raw) => raw,
            // Serde's error has no path: find the override that fails on its own, and name
            // its field.
            Err(error) => return Err(override_error(&table, overrides, &error)),
        };
        let mut scenario = Validator { file: &format!("{file} with --set") }.scenario(raw, default_name)?;
        scenario.overrides = overrides.to_vec();
        Ok(scenario)
    }

    /// Parses scenario text; `file` names it in errors, `default_name` is used when the
    /// file sets no `name`.
    pub fn parse(text: &str, file: &str, default_name: &str) -> Result<Scenario, ScenarioError> {
        let raw: RawScenario = toml::from_str(text).map_err(|error| ScenarioError::Parse {
            file: file.to_string(),
            message: describe_toml_error(&error, text),
        })?;
        Validator { file }.scenario(raw, default_name)
    }
}

/// The error of the first override that the scenario's own table refuses on its own: it
/// names `--set`, the field, the value (cut when long) and what was expected, in words
/// rather than serde's type names.
fn override_error(table: &toml::Table, overrides: &[String], all_together: &toml::de::Error) -> ScenarioError {
    for assignment in overrides {
        let mut alone = table.clone();
        if apply_override(&mut alone, assignment).is_err() {
            continue;
        }
        if let Err(error) = RawScenario::deserialize(toml::Value::Table(alone)) {
            return ScenarioError::Parse {
                file: format!("--set {}", shorten(assignment.trim())),
                message: humanize_serde(error.message()),
            };
        }
    }
    let shown: Vec<String> = overrides.iter().map(|o| shorten(o.trim())).collect();
    ScenarioError::Parse {
        file: format!("--set {}", shown.join(" --set ")),
        message: humanize_serde(all_together.message()),
    }
}

/// A value or name cut to its first 60 characters when longer, saying how long it was.
fn shorten(text: &str) -> String {
    const KEEP: usize = 60;
    match text.char_indices().nth(KEEP) {
        None => text.to_string(),
        Some((end, _)) => format!("{}… ({} bytes in all)", &text[..end], text.len()),
    }
}

/// Serde's deserialization message in the words a scenario author uses: no Rust type names
/// (`u64`, `struct RawTopology`, `sequence`), no echo of the value (the caller shows it, cut).
fn humanize_serde(message: &str) -> String {
    fn expected(what: &str) -> String {
        let what = what.trim();
        match what {
            "u8" => "a whole number from 0 to 255".into(),
            "u16" => "a whole number from 0 to 65535".into(),
            "u32" => "a whole number from 0 to 4294967295".into(),
            "u64" => "a whole number from 0 to 18446744073709551615".into(),
            "i64" => "a whole number".into(),
            "a boolean" | "bool" => "true or false".into(),
            "a string" | "string" => "a quoted text value".into(),
            "a sequence" | "sequence" => "a list such as [1, 2]".into(),
            _ if what.starts_with("struct ") => "a table of settings (FIELD.SUBFIELD=VALUE)".into(),
            _ if what.starts_with("enum ") => "one of the documented names (docs/scenario-format.md)".into(),
            _ => shorten(what),
        }
    }
    fn got(what: &str) -> String {
        let what = what.trim();
        let kind = what.split_once(' ').map_or(what, |(kind, _)| kind);
        match kind {
            "string" => "a text value".into(),
            "integer" | "float" => format!("the number {}", shorten(what[kind.len()..].trim().trim_matches('`'))),
            "boolean" => format!("the boolean {}", what[kind.len()..].trim().trim_matches('`')),
            "sequence" => "a list".into(),
            "map" => "a table".into(),
            _ => shorten(what),
        }
    }
    let message = message.trim();
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some((found, wanted)) = message.strip_prefix(prefix).and_then(|rest| rest.rsplit_once(", expected ")) {
            return format!("got {}, expected {}", got(found), expected(wanted));
        }
    }
    // `unknown field`, `unknown variant`, `missing field`: already in the user's words, but
    // may quote a long name.
    let word = |word: &str| match word.strip_suffix(',') {
        Some(stem) if stem.len() > 60 => format!("{},", shorten(stem)),
        _ => shorten(word),
    };
    message.split(' ').map(word).collect::<Vec<_>>().join(" ")
}

/// Sets `a.b.c = value` in a scenario's TOML table. The value is read as TOML (`50`,
/// `true`, `"all"`, `[1, 2]`); a bare word that is not valid TOML is taken as a string.
/// List entries: `clock.p0.offset_ms=0` (the clock of node p0, added if missing),
/// `fault.0.at_ms=300`, `link.1.loss_ppm=0` (the N-th entry, from 0).
pub(crate) fn apply_override(table: &mut toml::Table, assignment: &str) -> Result<(), ScenarioError> {
    let shown = shorten(assignment.trim());
    let bad = |message: String| ScenarioError::Parse { file: format!("--set {shown}"), message };
    let Some((path, value)) = assignment.split_once('=') else {
        return Err(bad("expected FIELD=VALUE, e.g. consumer.clock_window_ms=50".to_string()));
    };
    let path: Vec<&str> = path.trim().split('.').map(str::trim).collect();
    if path.iter().any(|part| part.is_empty()) {
        return Err(bad(
            "the field name has an empty part; expected FIELD=VALUE, e.g. consumer.clock_window_ms=50".into()
        ));
    }
    let value = match toml::from_str::<toml::Table>(&format!("v = {}", value.trim())) {
        Ok(mut parsed) => parsed.remove("v").expect("parsed the key v"),
        Err(_) => toml::Value::String(value.trim().to_string()),
    };
    // `clock.NODE.field`: the `[[clock]]` entry of that node (added when it has none);
    // `fault.N.field` and `link.N.field`: the N-th (from 0) `[[fault]]` / `[[link]]` entry.
    if let [list @ ("clock" | "fault" | "link"), which, field] = path.as_slice() {
        let entries = match table.entry(list.to_string()).or_insert_with(|| toml::Value::Array(Vec::new())) {
            toml::Value::Array(entries) => entries,
            _ => return Err(bad(format!("`{list}` is not a list of [[{list}]] entries"))),
        };
        let entry = if *list == "clock" {
            let position = entries.iter().position(|e| e.get("node").and_then(toml::Value::as_str) == Some(which));
            match position {
                Some(i) => &mut entries[i],
                None => {
                    let mut clock = toml::Table::new();
                    clock.insert("node".into(), toml::Value::String(which.to_string()));
                    entries.push(toml::Value::Table(clock));
                    entries.last_mut().expect("just pushed")
                }
            }
        } else {
            let count = entries.len();
            let index: usize = which.parse().map_err(|_| {
                bad(format!("`{list}.{}`: expected the entry's number from 0, e.g. {list}.0.{field}", shorten(which)))
            })?;
            entries.get_mut(index).ok_or_else(|| {
                bad(format!("`{list}.{index}`: the scenario has {count} [[{list}]] entries (numbered from 0)"))
            })?
        };
        let entry = entry.as_table_mut().ok_or_else(|| bad(format!("[[{list}]] entries are tables")))?;
        entry.insert(field.to_string(), value);
        return Ok(());
    }
    let (last, parents) = path.split_last().expect("not empty");
    let mut current = table;
    for (depth, part) in parents.iter().enumerate() {
        let entry = current.entry(part.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| bad(format!("`{}` is not a table of settings", shorten(&path[..=depth].join(".")))))?;
    }
    current.insert(last.to_string(), value);
    Ok(())
}

fn describe_toml_error(error: &toml::de::Error, text: &str) -> String {
    let message = error.message().trim().to_string();
    match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            let snippet = text.lines().nth(line - 1).unwrap_or("").trim();
            format!("line {line}: {message} (at `{snippet}`)")
        }
        None => message,
    }
}

struct Validator<'a> {
    file: &'a str,
}

impl Validator<'_> {
    fn invalid(&self, field: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid { file: self.file.to_string(), field: field.to_string(), message: message.into() }
    }

    fn range<T: PartialOrd + std::fmt::Display + Copy>(
        &self,
        field: &str,
        value: T,
        low: T,
        high: T,
    ) -> Result<T, ScenarioError> {
        if value < low || value > high {
            return Err(self.invalid(field, format!("expected a value from {low} to {high}, got {value}")));
        }
        Ok(value)
    }

    fn name(&self, field: &str, value: String) -> Result<String, ScenarioError> {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if !ok {
            return Err(self.invalid(
                field,
                format!("expected 1 to 64 characters of letters, digits, `-`, `_` or `.`, got {value:?}"),
            ));
        }
        Ok(value)
    }

    fn ppm(&self, field: &str, value: u32) -> Result<u32, ScenarioError> {
        self.range(field, value, 0, 1_000_000)
    }

    fn scenario(&self, raw: RawScenario, default_name: &str) -> Result<Scenario, ScenarioError> {
        let name = self.name("name", raw.name.unwrap_or_else(|| default_name.to_string()))?;
        if raw.queue.is_some() {
            self.queue_topology(&raw.topology, &raw.consumer)?;
        }
        let queue = raw.queue.map(|q| self.queue(q, &raw.consumer)).transpose()?;
        let quiz = raw.quiz.map(|q| self.quiz(q)).transpose()?;
        let topology = self.topology(raw.topology, queue.is_some())?;
        let workload = self.workload(raw.workload)?;
        let producer = self.producer(raw.producer)?;
        let broker = self.broker(raw.broker, &topology)?;
        let consumer = self.consumer(raw.consumer)?;
        let network = self.network("network", raw.network, &default_network())?;
        let mut links = Vec::new();
        for (index, link) in raw.link.into_iter().enumerate() {
            let field = format!("link[{index}]");
            let nodes = node_names(&topology);
            for (which, value) in [("from", &link.from), ("to", &link.to)] {
                if !is_node_selector(value, &nodes) {
                    return Err(self.invalid(
                        &format!("{field}.{which}"),
                        format!(
                            "expected a node ({}) or one of `producers`, `brokers`, `consumers`, `*`; got {value:?}",
                            nodes.join(", ")
                        ),
                    ));
                }
            }
            let spec = RawNetwork {
                latency_min_us: link.latency_min_us,
                latency_max_us: link.latency_max_us,
                loss_ppm: link.loss_ppm,
                duplicate_ppm: link.duplicate_ppm,
                fifo: link.fifo,
            };
            links.push(LinkOverride {
                from: link.from,
                to: link.to,
                both: link.both,
                network: self.network(&field, spec, &network)?,
            });
        }
        let mut clocks = Vec::new();
        for (index, clock) in raw.clock.into_iter().enumerate() {
            let nodes = node_names(&topology);
            if !nodes.contains(&clock.node) {
                return Err(self.invalid(
                    &format!("clock[{index}].node"),
                    format!("expected one of {}, got {:?}", nodes.join(", "), clock.node),
                ));
            }
            self.range(&format!("clock[{index}].offset_ms"), clock.offset_ms, -86_400_000, 86_400_000)?;
            self.range(&format!("clock[{index}].drift_ppm"), clock.drift_ppm, -500_000, 500_000)?;
            clocks.push(ClockConfig { node: clock.node, offset_ms: clock.offset_ms, drift_ppm: clock.drift_ppm });
        }
        let faults = self.faults(raw.fault, &topology, &network)?;
        if consumer.assignment == Assignment::Static && queue.is_none() {
            if let Some(index) = faults.iter().position(|f| matches!(f.kind, FaultKind::Leave { .. })) {
                return Err(self.invalid(
                    &format!("fault[{index}]"),
                    "a consumer can leave only a group with a coordinator: set consumer.assignment = \"eager\" or \"cooperative\"",
                ));
            }
        }
        let run = RunLimits {
            max_time_ms: self.range("run.max_time_ms", raw.run.max_time_ms.unwrap_or(600_000), 1, 86_400_000)?,
            max_events: self.range("run.max_events", raw.run.max_events.unwrap_or(100_000_000), 1, u64::MAX / 2)?,
        };
        let random_faults = raw.random_faults.map(|r| self.random_faults(r, &topology, run.max_time_ms)).transpose()?;
        let expect = raw.expect.unwrap_or_else(|| GUARANTEES.iter().map(|g| g.to_string()).collect());
        if expect.is_empty() {
            return Err(self.invalid(
                "expect",
                format!(
                    "an empty list expects nothing, so no run could fail; expected one or more of {} (leave `expect` out to expect them all)",
                    GUARANTEES.join(", ")
                ),
            ));
        }
        for (index, guarantee) in expect.iter().enumerate() {
            if !GUARANTEES.contains(&guarantee.as_str()) {
                return Err(self.invalid(
                    &format!("expect[{index}]"),
                    format!("expected one of {}, got {guarantee:?}", GUARANTEES.join(", ")),
                ));
            }
        }
        Ok(Scenario {
            name,
            summary: raw.summary.unwrap_or_default(),
            expect,
            seed: raw.seed.unwrap_or(DEFAULT_SEED),
            seed_in_file: raw.seed.is_some(),
            overrides: Vec::new(),
            plugins: crate::strategy::Plugins::default(),
            strategy: raw.strategy.unwrap_or_else(|| DEFAULT_STRATEGY.to_string()),
            topology,
            workload,
            producer,
            broker,
            consumer,
            network,
            links,
            clocks,
            faults,
            random_faults,
            queue,
            run,
            quiz,
        })
    }

    /// `[queue]`: a queue is one shared queue on `b0`, with no partitions to own, no
    /// replicas and no group membership or offsets. Settings that only make sense for a log
    /// are errors rather than silently ignored.
    fn queue_topology(&self, topology: &RawTopology, consumer: &RawConsumer) -> Result<(), ScenarioError> {
        if let Some(partitions) = topology.partitions.filter(|&p| p != 1) {
            return Err(self.invalid(
                "topology.partitions",
                format!("a queue ([queue]) is one shared queue: expected 1 or unset, got {partitions}"),
            ));
        }
        if let Some(rf) = topology.replication_factor.filter(|&r| r != 1) {
            return Err(self.invalid(
                "topology.replication_factor",
                format!("a queue ([queue]) lives on b0 alone (queue replication is not modelled): expected 1 or unset, got {rf}"),
            ));
        }
        let log_only = [
            ("commit", consumer.commit.is_some(), "use queue.ack"),
            ("auto_commit_interval_ms", consumer.auto_commit_interval_ms.is_some(), "use queue.ack"),
            ("assignment", consumer.assignment.is_some(), "queue consumers compete for every message"),
            ("session_timeout_ms", consumer.session_timeout_ms.is_some(), "use queue.visibility_timeout_ms"),
            ("heartbeat_interval_ms", consumer.heartbeat_interval_ms.is_some(), "queue consumers do not heartbeat"),
            ("max_poll_interval_ms", consumer.max_poll_interval_ms.is_some(), "use queue.visibility_timeout_ms"),
            ("max_poll_records", consumer.max_poll_records.is_some(), "use queue.prefetch"),
            (
                "processing_retry_ms",
                consumer.processing_retry_ms.is_some(),
                "a failed message is nacked: it goes back to the queue",
            ),
            (
                "parallel_partitions",
                consumer.parallel_partitions.is_some(),
                "a queue has no partitions to process side by side",
            ),
            ("retry_whole_batch", consumer.retry_whole_batch.is_some(), "a failed message is nacked on its own"),
            ("key_lanes", consumer.key_lanes.is_some(), "queue consumers process and acknowledge messages one by one"),
            ("lane_commit", consumer.lane_commit.is_some(), "queue consumers acknowledge each message on its own"),
        ];
        if let Some((field, _, instead)) = log_only.into_iter().find(|(_, set, _)| *set) {
            return Err(self.invalid(
                &format!("consumer.{field}"),
                format!("has no effect on a queue ([queue]: no offsets, no group membership): remove it ({instead})"),
            ));
        }
        Ok(())
    }

    fn queue(&self, raw: RawQueue, consumer: &RawConsumer) -> Result<QueueConfig, ScenarioError> {
        let max_receives = self.range("queue.max_receives", raw.max_receives.unwrap_or(0), 0, 1_000)?;
        if consumer.processing_failure_ppm == Some(1_000_000) && max_receives == 0 {
            return Err(self.invalid(
                "consumer.processing_failure_ppm",
                "expected less than 1000000 on a queue without queue.max_receives: every message would fail and come back for ever",
            ));
        }
        Ok(QueueConfig {
            visibility_timeout_ms: self.range(
                "queue.visibility_timeout_ms",
                raw.visibility_timeout_ms.unwrap_or(30_000),
                1,
                43_200_000,
            )?,
            prefetch: self.range("queue.prefetch", raw.prefetch.unwrap_or(10), 1, 65_535)?,
            ack: raw.ack.unwrap_or(QueueAckMode::Manual),
            max_receives,
        })
    }

    fn topology(&self, raw: RawTopology, queue: bool) -> Result<Topology, ScenarioError> {
        let default_partitions = if queue { 1 } else { 3 };
        Ok(Topology {
            brokers: self.range("topology.brokers", raw.brokers.unwrap_or(1), 1, 64)?,
            producers: self.range("topology.producers", raw.producers.unwrap_or(1), 1, 256)?,
            consumers: self.range("topology.consumers", raw.consumers.unwrap_or(1), 1, 256)?,
            partitions: self.range("topology.partitions", raw.partitions.unwrap_or(default_partitions), 1, 4096)?,
            topic: self.name("topology.topic", raw.topic.unwrap_or_else(|| "orders".into()))?,
            group: self.name("topology.group", raw.group.unwrap_or_else(|| "g".into()))?,
            replication_factor: {
                let brokers = raw.brokers.unwrap_or(1).clamp(1, 64);
                self.range("topology.replication_factor", raw.replication_factor.unwrap_or(1), 1, brokers)?
            },
        })
    }

    fn broker(&self, raw: RawBroker, topology: &Topology) -> Result<BrokerConfig, ScenarioError> {
        let session_timeout_ms =
            self.range("broker.session_timeout_ms", raw.session_timeout_ms.unwrap_or(9_000), 1, 3_600_000)?;
        let heartbeat_interval_ms =
            self.range("broker.heartbeat_interval_ms", raw.heartbeat_interval_ms.unwrap_or(2_000), 1, 3_600_000)?;
        if heartbeat_interval_ms >= session_timeout_ms {
            return Err(self.invalid(
                "broker.heartbeat_interval_ms",
                format!(
                    "expected less than broker.session_timeout_ms ({session_timeout_ms}), got {heartbeat_interval_ms}"
                ),
            ));
        }
        Ok(BrokerConfig {
            min_insync_replicas: self.range(
                "broker.min_insync_replicas",
                raw.min_insync_replicas.unwrap_or(1),
                1,
                topology.replication_factor,
            )?,
            unclean_leader_election: raw.unclean_leader_election.unwrap_or(false),
            replica_lag_time_max_ms: self.range(
                "broker.replica_lag_time_max_ms",
                raw.replica_lag_time_max_ms.unwrap_or(30_000),
                1,
                3_600_000,
            )?,
            replica_fetch_idle_ms: self.range(
                "broker.replica_fetch_idle_ms",
                raw.replica_fetch_idle_ms.unwrap_or(5),
                1,
                60_000,
            )?,
            session_timeout_ms,
            heartbeat_interval_ms,
            flush_interval_ms: self.range(
                "broker.flush_interval_ms",
                raw.flush_interval_ms.unwrap_or(0),
                0,
                3_600_000,
            )?,
        })
    }

    fn workload(&self, raw: RawWorkload) -> Result<Workload, ScenarioError> {
        let think_min_us = raw.think_min_us.unwrap_or(1_000);
        let think_max_us = raw.think_max_us.unwrap_or(5_000);
        if think_max_us < think_min_us {
            return Err(self.invalid(
                "workload.think_max_us",
                format!("expected at least think_min_us ({think_min_us}), got {think_max_us}"),
            ));
        }
        let kinds = raw
            .kinds
            .unwrap_or_else(|| ["created", "paid", "packed", "shipped", "delivered"].map(String::from).to_vec());
        if kinds.is_empty() {
            return Err(self.invalid("workload.kinds", "expected at least one event kind"));
        }
        for (index, kind) in kinds.iter().enumerate() {
            self.name(&format!("workload.kinds[{index}]"), kind.clone())?;
        }
        let compensations = raw.compensations.unwrap_or_default();
        if compensations.len() > kinds.len() {
            return Err(self.invalid(
                "workload.compensations",
                format!("expected at most one compensation per kind ({}), got {}", kinds.len(), compensations.len()),
            ));
        }
        for (index, name) in compensations.iter().enumerate() {
            self.name(&format!("workload.compensations[{index}]"), name.clone())?;
            if kinds.contains(name) || compensations[..index].contains(name) {
                return Err(self.invalid(
                    &format!("workload.compensations[{index}]"),
                    format!("expected a name no kind or other compensation has, got {name:?}"),
                ));
            }
        }
        let compensation_ppm = self.ppm("workload.compensation_ppm", raw.compensation_ppm.unwrap_or(0))?;
        if compensation_ppm > 0 && compensations.is_empty() {
            return Err(self.invalid(
                "workload.compensation_ppm",
                "expected workload.compensations to name what undoes each kind (a step can only fail into one)",
            ));
        }
        let entities = self.range("workload.entities", raw.entities.unwrap_or(10), 1, 10_000_000)?;
        let events_per_entity =
            self.range("workload.events_per_entity", raw.events_per_entity.unwrap_or(4), 1, 1_000_000)?;
        // Each field alone may be in range while their product is not: event ids are u32
        // (and each event may add two causal links to the catalog's u32-indexed table).
        let planned = u64::from(entities) * u64::from(events_per_entity);
        if planned > MAX_EVENTS {
            return Err(self.invalid(
                "workload.entities × workload.events_per_entity",
                format!(
                    "expected at most {MAX_EVENTS} events in all, got {entities} × {events_per_entity} = {planned}: lower workload.entities or workload.events_per_entity"
                ),
            ));
        }
        let mode = raw.mode.unwrap_or_default();
        let outstanding = match (mode, raw.outstanding) {
            (WorkloadMode::Open, None) => 0,
            (WorkloadMode::Open, Some(n)) => {
                return Err(self.invalid(
                    "workload.outstanding",
                    format!(
                        "expected it only with mode = \"closed\" (got {n} with the open-loop mode): set workload.mode = \"closed\" or remove it"
                    ),
                ))
            }
            (WorkloadMode::Closed, n) => self.range("workload.outstanding", n.unwrap_or(MAX_OUTSTANDING_DEFAULT), 1, MAX_OUTSTANDING)?,
        };
        Ok(Workload {
            mode,
            outstanding,
            operation: raw.operation.unwrap_or_default(),
            entities,
            events_per_entity,
            entity_prefix: self.name("workload.entity_prefix", raw.entity_prefix.unwrap_or_else(|| "order".into()))?,
            start_window_ms: self.range(
                "workload.start_window_ms",
                raw.start_window_ms.unwrap_or(100),
                0,
                86_400_000,
            )?,
            think_min_us,
            think_max_us: self.range("workload.think_max_us", think_max_us, 0, 3_600_000_000)?,
            handoff: raw.handoff.unwrap_or(Handoff::Same),
            cross_entity_ppm: self.ppm("workload.cross_entity_ppm", raw.cross_entity_ppm.unwrap_or(0))?,
            resend_failed: raw.resend_failed.unwrap_or(false),
            durable_source: raw.durable_source.unwrap_or(false),
            relay_flush_ms: self.range("workload.relay_flush_ms", raw.relay_flush_ms.unwrap_or(0), 0, 86_400_000)?,
            kinds,
            compensations,
            compensation_ppm,
        })
    }

    fn producer(&self, raw: RawProducer) -> Result<ProducerConfig, ScenarioError> {
        let acks = match raw.acks {
            None => Acks::All,
            Some(RawAcks::Number(0)) => Acks::None,
            Some(RawAcks::Number(1)) => Acks::Leader,
            Some(RawAcks::Number(-1)) => Acks::All,
            Some(RawAcks::Text(text)) if text == "all" || text == "-1" => Acks::All,
            Some(RawAcks::Text(text)) if text == "1" => Acks::Leader,
            Some(RawAcks::Text(text)) if text == "0" => Acks::None,
            Some(RawAcks::Number(n)) => {
                return Err(self.invalid("producer.acks", format!("expected 0, 1, -1 or \"all\", got {n}")))
            }
            Some(RawAcks::Text(text)) => {
                return Err(self.invalid("producer.acks", format!("expected 0, 1, -1 or \"all\", got {text:?}")))
            }
        };
        let idempotence = raw.idempotence.unwrap_or(true);
        let max_in_flight = self.range("producer.max_in_flight", raw.max_in_flight.unwrap_or(5), 1, 100)?;
        if idempotence && max_in_flight > 5 {
            return Err(self.invalid("producer.max_in_flight", format!("the idempotent producer allows at most 5 requests in flight, got {max_in_flight} (set idempotence = false, or lower it)")));
        }
        if idempotence && acks != Acks::All {
            return Err(self.invalid(
                "producer.acks",
                "the idempotent producer needs acks = \"all\" (set idempotence = false to use 0 or 1)",
            ));
        }
        let request_timeout_ms =
            self.range("producer.request_timeout_ms", raw.request_timeout_ms.unwrap_or(30_000), 1, 3_600_000)?;
        let linger_ms = self.range("producer.linger_ms", raw.linger_ms.unwrap_or(5), 0, 60_000)?;
        let delivery_timeout_ms =
            self.range("producer.delivery_timeout_ms", raw.delivery_timeout_ms.unwrap_or(120_000), 1, 86_400_000)?;
        if delivery_timeout_ms < request_timeout_ms + linger_ms {
            return Err(self.invalid("producer.delivery_timeout_ms", format!("expected at least request_timeout_ms + linger_ms ({}), as Kafka requires, got {delivery_timeout_ms}", request_timeout_ms + linger_ms)));
        }
        Ok(ProducerConfig {
            acks,
            idempotence,
            max_in_flight,
            linger_ms,
            batch_size: self.range("producer.batch_size", raw.batch_size.unwrap_or(16), 1, 100_000)?,
            retries: raw.retries.unwrap_or(i32::MAX as u32),
            retry_backoff_ms: self.range(
                "producer.retry_backoff_ms",
                raw.retry_backoff_ms.unwrap_or(100),
                0,
                3_600_000,
            )?,
            request_timeout_ms,
            delivery_timeout_ms,
            partitioner: raw.partitioner.unwrap_or(Partitioner::Key),
            clock: ClockKind::None,
            expected_version: false,
        })
    }

    fn consumer(&self, raw: RawConsumer) -> Result<ConsumerConfig, ScenarioError> {
        let session_timeout_ms =
            self.range("consumer.session_timeout_ms", raw.session_timeout_ms.unwrap_or(45_000), 1, 3_600_000)?;
        let heartbeat_interval_ms =
            self.range("consumer.heartbeat_interval_ms", raw.heartbeat_interval_ms.unwrap_or(3_000), 1, 3_600_000)?;
        if heartbeat_interval_ms >= session_timeout_ms {
            return Err(self.invalid(
                "consumer.heartbeat_interval_ms",
                format!("expected less than session_timeout_ms ({session_timeout_ms}), got {heartbeat_interval_ms}"),
            ));
        }
        let processing_min_us = raw.processing_min_us.unwrap_or(100);
        let processing_max_us = raw.processing_max_us.unwrap_or(500);
        if processing_max_us < processing_min_us {
            return Err(self.invalid(
                "consumer.processing_max_us",
                format!("expected at least processing_min_us ({processing_min_us}), got {processing_max_us}"),
            ));
        }
        let key_lanes = self.range("consumer.key_lanes", raw.key_lanes.unwrap_or(0), 0, 64)?;
        if key_lanes > 0 && raw.parallel_partitions == Some(true) {
            return Err(self.invalid(
                "consumer.key_lanes",
                "expected key_lanes = 0 with parallel_partitions = true (records go to lanes by key or by partition, not both)",
            ));
        }
        if key_lanes > 0 && raw.commit.unwrap_or(CommitMode::Auto) != CommitMode::After {
            return Err(self.invalid(
                "consumer.key_lanes",
                format!("expected consumer.commit = \"after\" with key lanes (each lane commits when it has done its share of a poll), got key_lanes = {key_lanes}"),
            ));
        }
        if raw.lane_commit.is_some() && key_lanes == 0 {
            return Err(self.invalid(
                "consumer.lane_commit",
                "expected consumer.key_lanes ≥ 1 with it (lanes make the commits it describes)",
            ));
        }
        Ok(ConsumerConfig {
            commit: raw.commit.unwrap_or(CommitMode::Auto),
            auto_commit_interval_ms: self.range(
                "consumer.auto_commit_interval_ms",
                raw.auto_commit_interval_ms.unwrap_or(5_000),
                1,
                3_600_000,
            )?,
            poll_idle_ms: self.range("consumer.poll_idle_ms", raw.poll_idle_ms.unwrap_or(50), 1, 3_600_000)?,
            max_poll_records: self.range(
                "consumer.max_poll_records",
                raw.max_poll_records.unwrap_or(500),
                1,
                1_000_000,
            )?,
            processing_min_us,
            processing_max_us: self.range("consumer.processing_max_us", processing_max_us, 0, 3_600_000_000)?,
            request_timeout_ms: self.range(
                "consumer.request_timeout_ms",
                raw.request_timeout_ms.unwrap_or(30_000),
                1,
                3_600_000,
            )?,
            assignment: raw.assignment.unwrap_or(Assignment::Eager),
            session_timeout_ms,
            heartbeat_interval_ms,
            max_poll_interval_ms: self.range(
                "consumer.max_poll_interval_ms",
                raw.max_poll_interval_ms.unwrap_or(300_000),
                1,
                86_400_000,
            )?,
            policy: ConsumerPolicy::PLAIN,
            reorder_timeout_ms: self.range(
                "consumer.reorder_timeout_ms",
                raw.reorder_timeout_ms.unwrap_or(1_000),
                1,
                3_600_000,
            )?,
            reorder_capacity: self.range(
                "consumer.reorder_capacity",
                raw.reorder_capacity.unwrap_or(1_000),
                1,
                1_000_000,
            )?,
            clock_window_ms: self.range(
                "consumer.clock_window_ms",
                raw.clock_window_ms.unwrap_or(100),
                0,
                3_600_000,
            )?,
            processing_failure_ppm: self
                .ppm("consumer.processing_failure_ppm", raw.processing_failure_ppm.unwrap_or(0))?,
            processing_retry_ms: self.range(
                "consumer.processing_retry_ms",
                raw.processing_retry_ms.unwrap_or(10),
                0,
                3_600_000,
            )?,
            parallel_partitions: raw.parallel_partitions.unwrap_or(false),
            retry_whole_batch: raw.retry_whole_batch.unwrap_or(false),
            key_lanes,
            lane_commit: raw.lane_commit.unwrap_or(LaneCommit::Prefix),
        })
    }

    fn network(&self, field: &str, raw: RawNetwork, base: &NetworkConfig) -> Result<NetworkConfig, ScenarioError> {
        let latency_min_us = raw.latency_min_us.unwrap_or(base.latency_min_us);
        let latency_max_us = raw.latency_max_us.unwrap_or(base.latency_max_us.max(latency_min_us));
        if latency_max_us < latency_min_us {
            return Err(self.invalid(
                &format!("{field}.latency_max_us"),
                format!("expected at least latency_min_us ({latency_min_us}), got {latency_max_us}"),
            ));
        }
        Ok(NetworkConfig {
            latency_min_us: self.range(&format!("{field}.latency_min_us"), latency_min_us, 0, 3_600_000_000)?,
            latency_max_us: self.range(&format!("{field}.latency_max_us"), latency_max_us, 0, 3_600_000_000)?,
            loss_ppm: self.ppm(&format!("{field}.loss_ppm"), raw.loss_ppm.unwrap_or(base.loss_ppm))?,
            duplicate_ppm: self
                .ppm(&format!("{field}.duplicate_ppm"), raw.duplicate_ppm.unwrap_or(base.duplicate_ppm))?,
            fifo: raw.fifo.unwrap_or(base.fifo),
        })
    }
}

fn default_network() -> NetworkConfig {
    NetworkConfig { latency_min_us: 500, latency_max_us: 1_500, loss_ppm: 0, duplicate_ppm: 0, fifo: true }
}

/// Node names of a topology, in node-id order: producers `p0…`, brokers `b0…`, consumers `c0…`.
pub fn node_names(topology: &Topology) -> Vec<String> {
    let mut names = Vec::new();
    names.extend((0..topology.producers).map(|i| format!("p{i}")));
    names.extend((0..topology.brokers).map(|i| format!("b{i}")));
    names.extend((0..topology.consumers).map(|i| format!("c{i}")));
    names.push(CONTROLLER.to_string());
    names
}

/// The name of the controller node (leader elections, broker liveness, metadata).
pub const CONTROLLER: &str = "ctl";

fn is_node_selector(value: &str, nodes: &[String]) -> bool {
    matches!(value, "producers" | "brokers" | "consumers" | "*") || nodes.iter().any(|n| n == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(text, "test.toml", "test")
    }

    #[test]
    fn empty_file_gives_documented_defaults() {
        let scenario = parse("").unwrap();
        assert_eq!(scenario.name, "test");
        assert_eq!(scenario.seed, DEFAULT_SEED);
        assert_eq!(scenario.producer.acks, Acks::All);
        assert!(scenario.producer.idempotence);
        assert_eq!(scenario.producer.max_in_flight, 5);
        assert_eq!(scenario.consumer.commit, CommitMode::Auto);
        assert_eq!(scenario.topology.partitions, 3);
    }

    #[test]
    fn unknown_field_names_file_line_and_field() {
        let error = parse("[producer]\nacks = 1\nmax_inflight = 3\n").unwrap_err().to_string();
        assert!(error.starts_with("test.toml: line 3:"), "{error}");
        assert!(error.contains("max_inflight"), "{error}");
        assert!(error.contains("max_in_flight"), "the message lists the expected fields: {error}");
    }

    #[test]
    fn overrides_reach_clocks_by_node_and_faults_and_links_by_number() {
        let text = "[[clock]]\nnode = \"p0\"\noffset_ms = -50\n\n[[fault]]\nat_ms = 100\nkind = \"crash\"\nnode = \"c0\"\n\n[[fault]]\nat_ms = 200\nkind = \"restart\"\nnode = \"c0\"\n";
        let with = |sets: &[&str]| {
            let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            Scenario::parse_with(text, "test.toml", "test", &sets)
        };
        let s = with(&["clock.p0.offset_ms=0", "fault.1.at_ms=300"]).unwrap();
        assert_eq!(s.clocks[0].offset_ms, 0);
        assert_eq!(s.faults[1].at_ms, 300);
        // A node without a clock gets one; the first fault is number 0.
        let s = with(&["clock.b0.drift_ppm=20", "fault.0.at_ms=150"]).unwrap();
        assert_eq!((s.clocks[1].node.as_str(), s.clocks[1].drift_ppm), ("b0", 20));
        assert_eq!(s.faults[0].at_ms, 150);
        // Past the last entry, not a number, or an unknown field of the entry: errors.
        let e = with(&["fault.2.at_ms=1"]).unwrap_err().to_string();
        assert!(e.contains("`fault.2`: the scenario has 2 [[fault]] entries"), "{e}");
        let e = with(&["link.x.loss_ppm=1"]).unwrap_err().to_string();
        assert!(e.contains("expected the entry's number from 0"), "{e}");
        let e = with(&["clock.p0.skew_ms=1"]).unwrap_err().to_string();
        assert!(e.contains("skew_ms"), "{e}");
    }

    #[test]
    fn bad_values_name_the_field_and_expectation() {
        let cases = [
            ("[producer]\nidempotence = false\nmax_in_flight = 0\n", "producer.max_in_flight"),
            ("[producer]\nacks = 2\nidempotence = false\n", "producer.acks"),
            ("[producer]\nmax_in_flight = 6\n", "producer.max_in_flight"),
            ("[network]\nloss_ppm = 2000000\n", "network.loss_ppm"),
            ("[topology]\ntopic = \"has space\"\n", "topology.topic"),
            ("[[link]]\nfrom = \"p9\"\nto = \"b0\"\n", "link[0].from"),
            ("[[clock]]\nnode = \"b0\"\ndrift_ppm = 900000\n", "clock[0].drift_ppm"),
            ("[workload]\nthink_min_us = 5\nthink_max_us = 1\n", "workload.think_max_us"),
            ("[workload]\nmode = \"closed\"\noutstanding = 0\n", "workload.outstanding"),
            ("[workload]\nmode = \"closed\"\noutstanding = 100001\n", "workload.outstanding"),
            ("[workload]\noutstanding = 4\n", "workload.outstanding"),
            ("expect = []\n", "expect"),
        ];
        for (text, field) in cases {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(&format!("field `{field}`")), "{text:?} gave {error}");
            assert!(error.contains("expected") || error.contains("needs") || error.contains("allows"), "{error}");
        }
    }

    #[test]
    fn bad_faults_name_the_field_and_what_is_wrong() {
        let cases = [
            ("[[fault]]\nat_ms = 5\nkind = \"crash\"\nnode = \"b7\"\n", "fault[0].node", "expected one of"),
            ("[[fault]]\nat_ms = 5\nkind = \"explode\"\n", "fault[0].kind", "crash, restart"),
            ("[[fault]]\nkind = \"crash\"\nnode = \"c0\"\n", "fault[0].at_ms", "expected the time"),
            ("[[fault]]\nat_ms = 5\nkind = \"crash\"\nnode = \"c0\"\nduration_ms = 3\n", "fault[0].duration_ms", "does not use"),
            ("[[fault]]\nat_ms = 5\nkind = \"heal\"\nfrom = \"p0\"\nto = \"b0\"\n", "fault", "before any partition"),
            (
                "[[fault]]\nat_ms = 50\nkind = \"partition\"\nfrom = \"p0\"\nto = \"b0\"\nheal_at_ms = 20\n",
                "fault[0].heal_at_ms",
                "after the partition",
            ),
            (
                "[[fault]]\nat_ms = 5\nkind = \"pause\"\nnode = \"c0\"\nduration_ms = 100\n[[fault]]\nat_ms = 50\nkind = \"pause\"\nnode = \"c0\"\nduration_ms = 10\n",
                "fault",
                "must not overlap",
            ),
            ("[[fault]]\nat_ms = 5\nkind = \"restart\"\nnode = \"c0\"\n", "fault", "needs an earlier crash"),
            ("[[fault]]\nat_ms = 5\nkind = \"partition\"\nfrom = [\"p0\", \"x9\"]\nto = \"b0\"\n", "fault[0].from", "\"x9\""),
        ];
        for (text, field, needle) in cases {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(&format!("field `{field}`")), "{text:?} gave {error}");
            assert!(error.contains(needle), "{text:?} gave {error}");
        }
    }

    #[test]
    fn faults_expand_selectors_into_directed_links_and_sort_by_time() {
        let text = "[topology]\nproducers = 2\n[[fault]]\nat_ms = 30\nkind = \"crash\"\nnode = \"c0\"\n\
                    [[fault]]\nat_ms = 10\nkind = \"partition\"\nfrom = \"producers\"\nto = \"b0\"\nboth = true\nheal_at_ms = 40\n";
        let scenario = parse(text).unwrap();
        let times: Vec<u64> = scenario.faults.iter().map(|f| f.at_ms).collect();
        assert_eq!(times, [10, 30, 40]);
        let FaultKind::Links { pairs, cut: true } = &scenario.faults[0].kind else {
            panic!("{:?}", scenario.faults[0])
        };
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(pairs, [("p0", "b0"), ("b0", "p0"), ("p1", "b0"), ("b0", "p1")], "p0 and p1 stay connected");
        assert!(matches!(&scenario.faults[2].kind, FaultKind::Links { cut: false, .. }));
    }

    #[test]
    fn the_consumers_selector_and_leave_never_mean_the_controller() {
        let text = "[[fault]]\nat_ms = 5\nkind = \"partition\"\nfrom = \"p0\"\nto = \"consumers\"\n";
        let scenario = parse(text).unwrap();
        let FaultKind::Links { pairs, .. } = &scenario.faults[0].kind else { panic!("{:?}", scenario.faults) };
        assert_eq!(pairs, &[("p0".to_string(), "c0".to_string())]);
        let error = parse("[[fault]]\nat_ms = 5\nkind = \"leave\"\nnode = \"ctl\"\n").unwrap_err().to_string();
        assert!(error.contains("field `fault[0].node`") && error.contains("only a consumer"), "{error}");
    }

    #[test]
    fn a_queue_section_makes_one_shared_queue_with_documented_defaults() {
        let scenario = parse("[queue]\n").unwrap();
        let queue = scenario.queue.expect("queue mode");
        assert_eq!(queue.visibility_timeout_ms, 30_000);
        assert_eq!(queue.prefetch, 10);
        assert_eq!(queue.ack, QueueAckMode::Manual);
        assert_eq!(queue.max_receives, 0);
        assert_eq!(scenario.topology.partitions, 1, "a queue is one partition");
        assert!(parse("").unwrap().queue.is_none(), "no section: a log");
        let auto = parse("[queue]\nack = \"auto\"\nprefetch = 3\n").unwrap().queue.unwrap();
        assert_eq!((auto.ack, auto.prefetch), (QueueAckMode::Auto, 3));
    }

    #[test]
    fn bad_queue_settings_name_the_field() {
        let cases = [
            ("[queue]\nprefetch = 0\n", "queue.prefetch", "expected a value from 1"),
            ("[queue]\nvisibility_timeout_ms = 0\n", "queue.visibility_timeout_ms", "expected a value from 1"),
            ("[queue]\nmax_receives = 5000\n", "queue.max_receives", "to 1000"),
            ("[queue]\n[consumer]\nprocessing_failure_ppm = 1000000\n", "consumer.processing_failure_ppm", "for ever"),
            ("[queue]\n[consumer]\nprocessing_retry_ms = 5\n", "consumer.processing_retry_ms", "nacked"),
            ("[queue]\n[consumer]\nparallel_partitions = true\n", "consumer.parallel_partitions", "no partitions"),
            ("[queue]\n[topology]\npartitions = 3\n", "topology.partitions", "one shared queue"),
            ("[queue]\n[topology]\nbrokers = 3\nreplication_factor = 2\n", "topology.replication_factor", "b0 alone"),
            ("[queue]\n[consumer]\ncommit = \"after\"\n", "consumer.commit", "queue.ack"),
            ("[queue]\n[consumer]\nmax_poll_records = 5\n", "consumer.max_poll_records", "queue.prefetch"),
            ("[queue]\n[consumer]\nsession_timeout_ms = 500\n", "consumer.session_timeout_ms", "visibility"),
        ];
        for (text, field, needle) in cases {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(&format!("field `{field}`")), "{text:?} gave {error}");
            assert!(error.contains(needle), "{text:?} gave {error}");
        }
        // Types and names are checked by the parser, with the line.
        let error = parse("[queue]\nack = \"sometimes\"\n").unwrap_err().to_string();
        assert!(error.contains("line 2") && error.contains("manual") && error.contains("auto"), "{error}");
        let error = parse("[queue]\nvisibility_timeout = 5\n").unwrap_err().to_string();
        assert!(error.contains("line 2") && error.contains("visibility_timeout_ms"), "{error}");
        // With max_receives, every message failing is a valid (poison-message) scenario.
        assert!(parse("[queue]\nmax_receives = 2\n[consumer]\nprocessing_failure_ppm = 1000000\n").is_ok());
        let error = parse("[queue]\nprocessing_failure_ppm = 5\n").unwrap_err().to_string();
        assert!(error.contains("line 2") && error.contains("processing_failure_ppm"), "{error}");
        // A leave needs a group coordinator on a log, not on a queue.
        let leave = "[consumer]\nassignment = \"static\"\n[[fault]]\nat_ms = 5\nkind = \"leave\"\nnode = \"c0\"\n";
        assert!(parse(leave).is_err());
        assert!(parse("[queue]\n[[fault]]\nat_ms = 5\nkind = \"leave\"\nnode = \"c0\"\n").is_ok());
    }

    #[test]
    fn wrong_types_are_parse_errors_with_line() {
        let error = parse("seed = \"one\"\n").unwrap_err().to_string();
        assert!(error.contains("line 1"), "{error}");
        let error = parse("[consumer]\ncommit = \"sometimes\"\n").unwrap_err().to_string();
        assert!(error.contains("line 2") && error.contains("before"), "{error}");
    }
}
