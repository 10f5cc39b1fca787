//! The boundary between the model and a strategy's mechanism: the hooks a strategy
//! implements ([`ConsumerHooks`], [`ProducerHooks`]) and what each hook is handed.
//!
//! A hook sees only what the component it runs in could see: the message it handles (a
//! [`Delivery`] and its [`Meta`], or the stamp a hand-off carries, [`Carried`]), its own
//! state (the hook object), the component's local clock and timers, its own random stream
//! (made by [`Setup::rng`]), the configuration, and the shared stores the model keeps
//! ([`Table`]), each read and written through the model. The handles' fields are private:
//! a hook cannot reach the simulator's [`World`] (another node's state, the true order of
//! events, who applied what), because the types give it no path there.
//!
//! # Shared stores and their consistency
//! A consumer-side strategy that needs state shared by the group (an entity's next
//! sequence number, its latest timestamp) opens a [`Table`] by name at setup; every member
//! opening the same name shares it. A table's [`Consistency`] says when a write lands:
//! - [`Consistency::AtomicWithApply`]: the model runs a hook's reads, its apply and its
//!   writes in one step of one node, which models a store updated in the same transaction
//!   as the projection (the application's database holds both). No latency and no failure
//!   separates them. The processed-id table ([`ConsumerCx::processed`]) is such a store
//!   too: the model marks an event processed in the same step as each apply.
//! - [`Consistency::Separate`]: a write to another system, after the apply (a dual write).
//!   It lands one store round trip later (drawn from the scenario's network latency, on the
//!   consumer's own `store/NODE` stream), and it is lost if the consumer crashes first:
//!   the apply happened, the store never hears of it. Until it lands every member,
//!   this one included, reads the old value.

use ordo_sim::rng::{stream, Rng};

use super::{tag, ModelCtx, World};
use crate::history::{Catalog, FailReason, Rec};
use crate::scenario::{ConsumerConfig, Scenario};

/// The timer kind of every strategy timer (the hook chooses the payload).
pub(crate) const STRATEGY_TIMER: u64 = 9;
/// The timer kind of a separate store write landing (the payload names it).
pub(crate) const STORE_WRITE: u64 = 10;

/// When a write to a shared [`Table`] takes effect (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// In the same transaction as the apply.
    AtomicWithApply,
    /// A separate write after the apply: one store round trip later, lost in a crash.
    Separate,
}

/// What the event's message carries, as producers stamp it: its entity (the key), its
/// sequence number in the entity (1, 2, …; 0 unless a strategy of the set declares
/// `Metadata::seq`), the creating producer's local clock (`ts`, the record's create time)
/// and index, and its logical clock stamp (`lamport`: the Lamport value or the HLC's
/// physical part, `logical`: the HLC's logical part; 0 when not stamped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    pub entity: u32,
    pub seq: u32,
    pub ts: i64,
    pub producer: u32,
    pub lamport: i64,
    pub logical: u32,
}

/// One record the consumer processed: where it was read and what it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub partition: u32,
    pub offset: u64,
    pub event: u32,
    pub meta: Meta,
}

/// How a failed batch is sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resend {
    /// The client's own rule: at the head of the partition's queue (Kafka's `reenqueue`),
    /// in sequence order when idempotent.
    Client,
    /// Behind the batches queued meanwhile (the application re-reads and appends again).
    Back,
}

/// A group-shared store the model keeps for consumer-side strategies (see the module
/// doc): one integer per key, keys dense from 0, an unset key reads as the table's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table(usize);

/// The group-shared stores of one run.
#[derive(Debug, Default)]
pub struct Stores {
    tables: Vec<(&'static str, i64, Consistency, Vec<i64>)>,
}

impl Stores {
    fn open(&mut self, name: &'static str, default: i64, consistency: Consistency) -> Table {
        if let Some(index) = self.tables.iter().position(|t| t.0 == name) {
            return Table(index);
        }
        self.tables.push((name, default, consistency, Vec::new()));
        Table(self.tables.len() - 1)
    }

    fn get(&self, table: Table, key: u32) -> i64 {
        let (_, default, _, values) = &self.tables[table.0];
        values.get(key as usize).copied().unwrap_or(*default)
    }

    pub(crate) fn set(&mut self, table: Table, key: u32, value: i64) {
        let (_, default, _, values) = &mut self.tables[table.0];
        let index = key as usize;
        if index >= values.len() {
            values.resize(index + 1, *default);
        }
        values[index] = value;
    }
}

/// What a strategy's hooks are built with, once per component incarnation: the
/// configuration, the component's index, its random stream and the shared stores.
pub struct Setup<'a> {
    scenario: &'a Scenario,
    stores: &'a mut Stores,
    seed: u64,
    node: &'a str,
    index: u32,
}

impl<'a> Setup<'a> {
    pub(crate) fn new(world: &'a mut World, node: &'a str, index: u32) -> Setup<'a> {
        Setup { scenario: &world.scenario, stores: &mut world.stores, seed: world.seed, node, index }
    }

    /// A setup outside a run (for tests of what a strategy builds).
    #[cfg(test)]
    pub(crate) fn detached(scenario: &'a Scenario, stores: &'a mut Stores) -> Setup<'a> {
        Setup { scenario, stores, seed: 1, node: "c0", index: 0 }
    }

    /// The consumer configuration (as the strategies set it).
    pub fn consumer(&self) -> &ConsumerConfig {
        &self.scenario.consumer
    }

    /// The producer configuration (as the strategies set it).
    pub fn producer(&self) -> &crate::scenario::ProducerConfig {
        &self.scenario.producer
    }

    /// The component's index (`c2` → 2, `p0` → 0).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// A random stream of this component's own for the strategy `name`, derived from the
    /// run seed (`strategy/NAME/NODE`): deterministic, and drawing from it changes no
    /// other stream.
    pub fn rng(&self, name: &str) -> Rng {
        stream(self.seed, &format!("strategy/{name}/{}", self.node))
    }

    /// Opens the group-shared table `name`, written atomically with the apply (created
    /// with `default` by the first to open it).
    pub fn table(&mut self, name: &'static str, default: i64) -> Table {
        self.stores.open(name, default, Consistency::AtomicWithApply)
    }

    /// Opens the group-shared table `name` with the given consistency (the first to open
    /// it decides).
    pub fn table_with(&mut self, name: &'static str, default: i64, consistency: Consistency) -> Table {
        self.stores.open(name, default, consistency)
    }
}

/// The consumer-side mechanism of a strategy: one object per consumer incarnation, built
/// by [`crate::strategy::Strategy::consumer_hooks`] when the consumer starts, dropped when
/// it crashes (it is the process's memory).
pub trait ConsumerHooks: Send {
    /// A record's processing is done: apply it, discard it (with a reason), or keep it
    /// to decide later (held: [`ConsumerHooks::for_each_held`] must then list it).
    fn on_record(&mut self, cx: &mut ConsumerCx<'_, '_>, record: Delivery);
    /// A timer the hook set ([`ConsumerCx::set_timer`]) fired with this payload.
    fn on_timer(&mut self, cx: &mut ConsumerCx<'_, '_>, payload: u64) {
        let _ = (cx, payload);
    }
    /// The consumer polls (in queue mode: after each message, after an empty receive and
    /// before each strategy timer): a chance to look at held records again against the
    /// shared stores, which other members may have moved.
    fn on_poll(&mut self, cx: &mut ConsumerCx<'_, '_>) {
        let _ = cx;
    }
    /// The member gave these partitions up (a rebalance, a lost session, a leave).
    fn on_revoke(&mut self, cx: &mut ConsumerCx<'_, '_>, partitions: &[u32]) {
        let _ = (cx, partitions);
    }
    /// Every record held (neither applied nor discarded yet). The consumer commits no
    /// offset past a held record, and in queue mode does not acknowledge its message.
    fn for_each_held(&self, each: &mut dyn FnMut(&Delivery)) {
        let _ = each;
    }
}

/// The producer-side mechanism of a strategy: one object per producer process, kept in the
/// application's durable state (it survives a crash of the process).
pub trait ProducerHooks: Send {
    /// The application creates an event: stamp it (at most one strategy of a set stamps:
    /// the one declaring `producer.clock`).
    fn stamp(&mut self, cx: &mut StampCx<'_>) {
        let _ = cx;
    }
    /// An application hand-off arrived, carrying its sender's stamp: merge it.
    fn merge(&mut self, carried: Carried<'_>) {
        let _ = carried;
    }
    /// The partition of an entity's next event (`None`: the configured partitioner).
    fn partition(&mut self, entity: u32, partitions: u32) -> Option<u32> {
        let _ = (entity, partitions);
        None
    }
    /// A batch failed with `reason` and will be retried: where it goes (`None`: no opinion).
    fn resend(&mut self, reason: FailReason) -> Option<Resend> {
        let _ = reason;
        None
    }
}

/// What a consumer hook may do and know (see the module doc).
pub struct ConsumerCx<'a, 'b> {
    ctx: &'a mut ModelCtx<'b>,
    node: u32,
    index: u32,
    writes: &'a mut Writes,
}

/// A consumer's separate store writes on their way (volatile: lost in a crash).
#[derive(Default)]
pub(crate) struct Writes {
    next: u64,
    pending: std::collections::BTreeMap<u64, (Table, u32, i64)>,
    rng: Option<Rng>,
}

impl Writes {
    /// The write `id` lands in the store (if this incarnation sent it).
    pub(crate) fn land(&mut self, stores: &mut Stores, id: u64) {
        if let Some((table, key, value)) = self.pending.remove(&id) {
            stores.set(table, key, value);
        }
    }
}

impl<'a, 'b> ConsumerCx<'a, 'b> {
    pub(crate) fn new(ctx: &'a mut ModelCtx<'b>, node: u32, index: u32, writes: &'a mut Writes) -> ConsumerCx<'a, 'b> {
        ConsumerCx { ctx, node, index, writes }
    }

    /// This consumer's index (`c2` → 2).
    pub fn me(&self) -> u32 {
        self.index
    }

    /// Time as this consumer's timers count it, for its own deadlines (never compared
    /// across nodes).
    pub fn now_ns(&self) -> u64 {
        self.ctx.now_ns()
    }

    /// The consumer's local wall clock (skewed and stepped as the scenario says).
    pub fn local_ns(&self) -> i64 {
        self.ctx.local_ns()
    }

    /// The consumer configuration.
    pub fn config(&self) -> &ConsumerConfig {
        &self.ctx.shared.scenario.consumer
    }

    /// How many producer processes there are (the width of a vector clock).
    pub fn producers(&self) -> u32 {
        self.ctx.shared.layout.producers
    }

    /// The scenario's network latency range (one way), in ns: what a round trip to a
    /// service of the strategy's own costs.
    pub fn network_latency_ns(&self) -> (u64, u64) {
        let network = &self.ctx.shared.scenario.network;
        (network.latency_min_us * 1_000, network.latency_max_us * 1_000)
    }

    /// The vector clock `record` carries (one entry per producer; empty when the producers
    /// stamp none).
    pub fn vector_clock(&self, record: &Delivery) -> &[u32] {
        let catalog = &self.ctx.shared.catalog;
        let width = catalog.vc_width as usize;
        let start = record.event as usize * width;
        catalog.vc.get(start..start + width).unwrap_or(&[])
    }

    /// Applies the record to the projection (and marks it in the processed-id table).
    pub fn apply(&mut self, record: Delivery) {
        apply(self.ctx, self.node, record.partition, record.offset, record.event);
    }

    /// Discards the record, with the reason the history gives (`duplicate`, or a
    /// dead-lettering one such as `late` or `stale`).
    pub fn discard(&mut self, record: Delivery, reason: &'static str) {
        let (t, clock) = (self.ctx.now_ns(), self.ctx.local_ns());
        let Delivery { partition, offset, event, .. } = record;
        let world = &mut *self.ctx.shared;
        world.record(Rec::Discard { t, node: self.node, clock, partition, offset, event, reason });
        world.stats.discarded += 1;
        if reason != "duplicate" {
            world.stats.dead_lettered += 1;
        }
    }

    /// Whether the processed-id table has `event` (written with each apply, atomically).
    pub fn processed(&self, event: u32) -> bool {
        self.ctx.shared.applied[event as usize] > 0
    }

    /// Reads a shared table (atomic with the apply: see the module doc).
    pub fn get(&self, table: Table, key: u32) -> i64 {
        self.ctx.shared.stores.get(table, key)
    }

    /// Writes a shared table: at once if it is atomic with the apply, else as a separate
    /// write that lands a store round trip later (see the module doc).
    pub fn set(&mut self, table: Table, key: u32, value: i64) {
        let world = &mut *self.ctx.shared;
        if world.stores.tables[table.0].2 == Consistency::AtomicWithApply {
            world.stores.set(table, key, value);
            return;
        }
        let (low, high) =
            (world.scenario.network.latency_min_us * 1_000, world.scenario.network.latency_max_us * 1_000);
        let (seed, node) = (world.seed, self.node);
        let name = &world.catalog.node_names[node as usize];
        let rng = self.writes.rng.get_or_insert_with(|| stream(seed, &format!("store/{name}")));
        let round_trip = rng.between(low, high).saturating_add(rng.between(low, high)).max(1);
        let id = self.writes.next;
        self.writes.next += 1;
        self.writes.pending.insert(id, (table, key, value));
        self.ctx.set_timer(round_trip, tag::make(STORE_WRITE, id));
    }

    /// Calls [`ConsumerHooks::on_timer`] with `payload` (below 2^56) after `delay_ns`.
    pub fn set_timer(&mut self, delay_ns: u64, payload: u64) {
        self.ctx.set_timer(delay_ns, tag::make(STRATEGY_TIMER, payload));
    }

    /// Reports how many records the hook holds now (the run's `held_max` counter).
    pub fn holding(&mut self, held: usize) {
        let stats = &mut self.ctx.shared.stats;
        stats.held_max = stats.held_max.max(held as u64);
    }

    /// Counts a gap given up on (the run's `skipped_gaps` counter).
    pub fn skipped_gap(&mut self) {
        self.ctx.shared.stats.skipped_gaps += 1;
    }
}

/// Applies an event to the group's projection: the history's `apply`, the counters, and the
/// processed-id table.
pub(crate) fn apply(ctx: &mut ModelCtx<'_>, node: u32, partition: u32, offset: u64, event: u32) {
    let (t, clock) = (ctx.now_ns(), ctx.local_ns());
    let world = &mut *ctx.shared;
    world.record(Rec::Apply { t, node, clock, partition, offset, event });
    world.stats.applies += 1;
    let applied = &mut world.applied[event as usize];
    if *applied > 0 {
        world.stats.duplicate_applies += 1;
    }
    *applied = applied.saturating_add(1);
    let info = world.catalog.events[event as usize];
    let entity = &mut world.entities[info.entity as usize];
    entity.status = info.kind;
    entity.last_applied = event;
    entity.applies = entity.applies.saturating_add(1);
    if world.catalog.operation == crate::scenario::Operation::Append {
        world.apply_order.push((info.entity, event));
    }
    let latency = t - world.created_ns[event as usize];
    world.latencies.push(latency);
    world.stats.last_apply_ns = t;
    world.stats.latency_sum_ns += latency;
    world.stats.latency_max_ns = world.stats.latency_max_ns.max(latency);
}

/// What an event's message carries, read when it is delivered.
pub(crate) fn delivery(world: &World, partition: u32, offset: u64, event: u32) -> Delivery {
    let e = event as usize;
    let catalog = &world.catalog;
    let info = catalog.events[e];
    let meta = Meta {
        entity: info.entity,
        // Only what the producers stamp: a sequence number if a strategy asked for it.
        seq: if catalog.meta_seq { info.step + 1 } else { 0 },
        ts: world.created_clock[e],
        producer: world.created_by[e],
        lamport: catalog.stamp_l.get(e).copied().unwrap_or(0),
        logical: catalog.stamp_c.get(e).copied().unwrap_or(0),
    };
    Delivery { partition, offset, event, meta }
}

/// What a producer's stamp hook may do: read its local clock and write the new event's
/// stamp, in the format the strategy set declares (`producer.clock`).
pub struct StampCx<'a> {
    catalog: &'a mut Catalog,
    me: u32,
    physical: i64,
}

impl<'a> StampCx<'a> {
    pub(crate) fn new(catalog: &'a mut Catalog, me: u32, physical: i64) -> StampCx<'a> {
        StampCx { catalog, me, physical }
    }
    /// This producer's index.
    pub fn me(&self) -> u32 {
        self.me
    }
    /// The producer's local wall clock.
    pub fn local_ns(&self) -> i64 {
        self.physical
    }
    /// How many producer processes there are (the width of a vector clock).
    pub fn producers(&self) -> u32 {
        self.catalog.vc_width
    }
    /// Stamps a Lamport value.
    pub fn lamport(&mut self, value: i64) {
        self.catalog.stamp_l.push(value);
    }
    /// Stamps a hybrid logical clock (physical part, logical part).
    pub fn hybrid(&mut self, l: i64, c: u32) {
        self.catalog.stamp_l.push(l);
        self.catalog.stamp_c.push(c);
    }
    /// Stamps a vector clock (one entry per producer).
    pub fn vector(&mut self, vc: &[u32]) {
        debug_assert_eq!(vc.len(), self.catalog.vc_width as usize);
        self.catalog.vc.extend_from_slice(vc);
    }
}

/// The stamp an application hand-off carries (its cause's).
pub struct Carried<'a> {
    catalog: &'a Catalog,
    event: usize,
}

impl<'a> Carried<'a> {
    pub(crate) fn new(catalog: &'a Catalog, event: u32) -> Carried<'a> {
        Carried { catalog, event: event as usize }
    }
    /// The Lamport value, or the HLC's physical part.
    pub fn lamport(&self) -> i64 {
        self.catalog.stamp_l.get(self.event).copied().unwrap_or(0)
    }
    /// The HLC's (physical, logical) parts.
    pub fn hybrid(&self) -> (i64, u32) {
        (self.lamport(), self.catalog.stamp_c.get(self.event).copied().unwrap_or(0))
    }
    /// The vector clock.
    pub fn vector(&self) -> &'a [u32] {
        let width = self.catalog.vc_width as usize;
        self.catalog.vc.get(self.event * width..(self.event + 1) * width).unwrap_or(&[])
    }
}
