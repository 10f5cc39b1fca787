//! `ordo-sim`: the deterministic discrete-event engine under ordo.
//!
//! It knows nothing of brokers or Kafka. It offers:
//! - virtual time in integer nanoseconds, and one event queue ordered by
//!   (time, insertion sequence), so ties break the same way on every machine;
//! - nodes (actors, the [`Node`] trait) that react to messages, timers and scripted
//!   controls through a [`Ctx`] that lets them send, set and cancel timers, read their
//!   local clock and draw random numbers;
//! - a [`net::Network`] with per-link latency, loss, duplication, FIFO or jittered delivery,
//!   and cuts;
//! - per-node [`clock::Clock`]s (offset, drift, steps) distinct from true time;
//! - [`Fault`]s applied at scripted times: crash, restart, pause, cut, heal, clock step;
//! - seeded randomness ([`rng`]): one ChaCha stream per component, named, so that adding a
//!   component never changes another one's draws.
//!
//! # Determinism rules
//! Same seed, same nodes, same scripted faults ⇒ the same sequence of handler calls with the
//! same arguments. The engine reads no wall clock, no OS randomness, and iterates only
//! vectors. Handlers must do the same: every draw from `ctx.rng()`, every collection that
//! decides behaviour ordered (`Vec`, `BTreeMap`), never `HashMap` iteration.
//!
//! # Example
//! ```
//! use ordo_sim::{Ctx, Limits, Node, NodeId, Sim, StopReason, TimerId, net::LinkSpec};
//!
//! struct Pinger { peer: NodeId, pongs: u32 }
//! impl Node for Pinger {
//!     type Msg = &'static str;
//!     type Shared = ();
//!     fn on_start(&mut self, ctx: &mut Ctx<'_, Self::Msg, ()>) {
//!         if ctx.me() == NodeId(0) { ctx.send(self.peer, "ping"); }
//!     }
//!     fn on_message(&mut self, ctx: &mut Ctx<'_, Self::Msg, ()>, from: NodeId, msg: Self::Msg) {
//!         match msg {
//!             "ping" => ctx.send(from, "pong"),
//!             _ => self.pongs += 1,
//!         }
//!     }
//!     fn on_timer(&mut self, _: &mut Ctx<'_, Self::Msg, ()>, _: TimerId, _: u64) {}
//! }
//!
//! let nodes = vec![
//!     ("a".to_string(), Pinger { peer: NodeId(1), pongs: 0 }),
//!     ("b".to_string(), Pinger { peer: NodeId(0), pongs: 0 }),
//! ];
//! let mut sim = Sim::new(42, (), nodes, LinkSpec::default());
//! let outcome = sim.run(Limits::default());
//! assert_eq!(outcome.reason, StopReason::Quiescent);
//! assert_eq!(sim.node(NodeId(0)).pongs, 1);
//! ```

pub mod clock;
pub mod net;
mod queue;
pub mod rng;

use clock::Clock;
use net::{DropReason, Fate, LinkSpec, Network};
use queue::{Entry, Queue};
use rng::Rng;

/// A node's index in the simulation (the order nodes were given to [`Sim::new`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NodeId(pub u32);

impl NodeId {
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A handle to a pending timer; cancel it with [`Ctx::cancel_timer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerId {
    slot: u32,
    generation: u32,
}

/// A scripted change to the world, applied at a given true time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The node stops: it loses pending timers and undelivered messages, and
    /// [`Node::on_crash`] drops its volatile state.
    Crash(NodeId),
    /// A crashed (or never started) node starts again: [`Node::on_restart`].
    Restart(NodeId),
    /// The node stops running for `duration_ns` (a GC pause). Messages and timers that fall
    /// due meanwhile are handled, in their order, when it resumes. Its clock keeps running.
    Pause {
        node: NodeId,
        duration_ns: u64,
    },
    /// The link `from → to` drops everything until healed.
    Cut {
        from: NodeId,
        to: NodeId,
    },
    Heal {
        from: NodeId,
        to: NodeId,
    },
    /// Replaces the spec of the link `from → to` (a period of loss or latency).
    SetLink {
        from: NodeId,
        to: NodeId,
        spec: LinkSpec,
    },
    /// The node's local clock jumps by `delta_ns` (negative: backwards).
    ClockStep {
        node: NodeId,
        delta_ns: i64,
    },
    /// A model-defined control delivered to [`Node::on_control`] (a producer joining, …).
    Control {
        node: NodeId,
        tag: u64,
    },
}

/// A simulated process. Handlers get a [`Ctx`] for everything that touches the world.
pub trait Node {
    /// The message type nodes exchange.
    type Msg: Clone;
    /// World-level state every handler may use (the model's history recorder, …).
    type Shared;

    /// Called once for every started node at time 0, in node order.
    fn on_start(&mut self, _ctx: &mut Ctx<'_, Self::Msg, Self::Shared>) {}
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Shared>, from: NodeId, msg: Self::Msg);
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Shared>, timer: TimerId, tag: u64);
    /// The node crashed: drop volatile state, keep what is durable.
    fn on_crash(&mut self, _shared: &mut Self::Shared, _now_ns: u64) {}
    /// The node restarts after a crash (or starts late): re-arm timers, rejoin.
    fn on_restart(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Shared>) {
        self.on_start(ctx);
    }
    fn on_control(&mut self, _ctx: &mut Ctx<'_, Self::Msg, Self::Shared>, _tag: u64) {}
    /// Sees every fault as it is applied (to record it), before the node hooks run.
    fn observe_fault(_shared: &mut Self::Shared, _now_ns: u64, _fault: &Fault) {}
    /// A measure of the model's progress (work done: events created, appended, applied…)
    /// that grows whenever the model gets anywhere. The livelock guard (see [`Guard`])
    /// reads it; the default never grows, so any dense burst of events counts as a stall.
    fn progress(_shared: &Self::Shared) -> u64 {
        0
    }
    /// A name for a timer's kind (from its tag), to name a livelock's culprit.
    fn timer_kind(&self, _tag: u64) -> &'static str {
        "timer"
    }
    /// A name for a message's kind, to name a livelock's culprit.
    fn message_kind(_msg: &Self::Msg) -> &'static str {
        "message"
    }
}

/// When a run stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Stop before handling any event later than this true time.
    pub max_time_ns: u64,
    /// Stop after this many handled events.
    pub max_events: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_time_ns: u64::MAX, max_events: u64::MAX }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Nothing left to do.
    Quiescent,
    /// A handler called [`Ctx::stop`].
    Stopped,
    TimeLimit,
    EventLimit,
    /// The run made no progress while handling events densely in time (see [`Guard`]);
    /// [`Outcome::livelock`] names the culprit.
    Livelock,
}

impl StopReason {
    /// Every stop reason, in declaration order.
    pub const ALL: [StopReason; 5] = [
        StopReason::Quiescent,
        StopReason::Stopped,
        StopReason::TimeLimit,
        StopReason::EventLimit,
        StopReason::Livelock,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Quiescent => "quiescent",
            StopReason::Stopped => "done",
            StopReason::TimeLimit => "time_limit",
            StopReason::EventLimit => "event_limit",
            StopReason::Livelock => "livelock",
        }
    }
}

/// What a run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub reason: StopReason,
    pub end_ns: u64,
    pub stats: Stats,
    /// Set when `reason` is [`StopReason::Livelock`].
    pub livelock: Option<Livelock>,
}

/// The livelock guard: a run that handles `stall_events` events in a row without any
/// [`Node::progress`] within less than `stall_span_ns` of true time (that is, more than
/// `stall_events / stall_span_ns` events per nanosecond of simulated time, every one of
/// them in vain) is spinning: it stops with [`StopReason::Livelock`] rather than burning
/// its event budget. Many events at one instant are the extreme case (a span of 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guard {
    pub stall_events: u64,
    pub stall_span_ns: u64,
}

impl Default for Guard {
    /// 1,000,000 events without progress within 10 ms of simulated time (100 events per
    /// simulated microsecond, all in vain): far beyond any real system's background work.
    fn default() -> Self {
        Guard { stall_events: 1_000_000, stall_span_ns: 10_000_000 }
    }
}

/// What kind of event a livelock spun on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spin {
    /// A timer ([`Node::timer_kind`] names it).
    Timer(&'static str),
    /// A message ([`Node::message_kind`] names it), from this node.
    Message(&'static str, NodeId),
}

/// The culprit of a livelock: the node and event kind handled most often in the
/// [`DIAGNOSIS_EVENTS`] events after the stall was detected (ties: the first seen).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Livelock {
    pub node: NodeId,
    pub spin: Spin,
    /// When the stalled stretch began, and how many events it had when the guard stopped it.
    pub since_ns: u64,
    pub events: u64,
}

/// How many events the guard watches, after it detects a stall, to name the culprit.
pub const DIAGNOSIS_EVENTS: u64 = 4_096;

/// The guard's bookkeeping.
#[derive(Clone, Default)]
struct Watch {
    /// Where the current stretch started: events handled, true time, progress.
    events: u64,
    since_ns: u64,
    progress: u64,
    /// During a diagnosis: (node, spin, count) of the events handled since it began, which
    /// began at `diagnosed_from` events.
    diagnosis: Option<Vec<(NodeId, Spin, u64)>>,
    diagnosed_from: u64,
    /// The event count at which the stretch is checked.
    next_check: u64,
}

/// Engine counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Handled events: delivered messages, fired timers, applied faults.
    pub events: u64,
    pub messages_sent: u64,
    pub messages_delivered: u64,
    pub dropped_loss: u64,
    pub dropped_cut: u64,
    /// Messages sent on a FIFO link broken by an earlier loss.
    pub dropped_broken: u64,
    /// Messages that arrived at a crashed node or at a later incarnation of it.
    pub dropped_dead: u64,
    pub duplicated: u64,
    pub timers_fired: u64,
    pub timers_cancelled: u64,
    pub queue_depth_max: u64,
}

/// A message on its way.
struct Delivery<M> {
    from: NodeId,
    to: NodeId,
    incarnation: u32,
    msg: M,
}

/// A timer's slot. It keeps its generation when freed, so a stale [`TimerId`] is told apart.
#[derive(Clone, Copy)]
struct TimerSlot {
    node: NodeId,
    incarnation: u32,
    tag: u64,
    generation: u32,
    state: TimerState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TimerState {
    Free,
    Armed,
    /// Cancelled, its queue entry not yet taken out (a tombstone).
    Cancelled,
}

/// Slots for pending payloads, reused through a free list.
struct Slots<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Slots<T> {
    fn with_capacity(capacity: usize) -> Slots<T> {
        Slots { slots: Vec::with_capacity(capacity), free: Vec::new() }
    }

    #[inline]
    fn insert(&mut self, value: T) -> u32 {
        match self.free.pop() {
            Some(index) => {
                self.slots[index as usize] = Some(value);
                index
            }
            None => {
                self.slots.push(Some(value));
                slot_index(self.slots.len() - 1)
            }
        }
    }

    #[inline]
    fn get(&self, index: u32) -> &T {
        self.slots[index as usize].as_ref().expect("queued slots hold work")
    }

    #[inline]
    fn take(&mut self, index: u32) -> T {
        self.free.push(index);
        self.slots[index as usize].take().expect("queued slots hold work")
    }
}

/// A queue entry's `slot` says which kind of payload it refers to in its top two bits, and
/// where it is in that kind's slots in the others: timers (most entries) and messages
/// each in their own slots, so neither pays for the other's size (nor for a fault's).
const KIND_SHIFT: u32 = 30;
const INDEX_MASK: u32 = (1 << KIND_SHIFT) - 1;
const MESSAGE: u32 = 0;
const TIMER: u32 = 1;
const FAULT: u32 = 2;

fn slot_index(index: usize) -> u32 {
    u32::try_from(index).ok().filter(|&i| i <= INDEX_MASK).expect("fewer than 2^30 pending events of a kind")
}

/// The node and event kind a diagnosis counted most often (ties: the first seen).
fn culprit(tally: &[(NodeId, Spin, u64)]) -> (NodeId, Spin) {
    tally
        .iter()
        .enumerate()
        .max_by_key(|&(index, &(_, _, count))| (count, std::cmp::Reverse(index)))
        .map_or((NodeId(0), Spin::Timer("nothing")), |(_, &(node, spin, _))| (node, spin))
}

struct NodeState {
    up: bool,
    incarnation: u32,
    paused_until_ns: u64,
    clock: Clock,
    rng: Rng,
}

/// Compact the queue once this many cancelled timers sit in it and they are half of it.
const TOMBSTONES_BEFORE_COMPACTION: usize = 64;

/// Everything but the nodes and the shared state: what a [`Ctx`] lets a handler touch.
pub struct Core<M> {
    now_ns: u64,
    heap: Queue,
    messages: Slots<Delivery<M>>,
    timers: Vec<TimerSlot>,
    free_timers: Vec<u32>,
    faults: Slots<Fault>,
    /// Cancelled timers whose queue entries are still queued.
    tombstones: usize,
    states: Vec<NodeState>,
    network: Network,
    stop_requested: bool,
    seed: u64,
    /// Node names, for naming the per-link random streams.
    names: Vec<String>,
    /// One random stream per directed link (`net/FROM->TO`), made on first use, so that
    /// traffic on one link never shifts the draws of another.
    link_rngs: Vec<Option<Box<Rng>>>,
    stats: Stats,
}

impl<M: Clone> Core<M> {
    fn push_message(&mut self, time: u64, delivery: Delivery<M>) {
        let index = self.messages.insert(delivery);
        self.push_slot(time, MESSAGE << KIND_SHIFT | index);
    }

    fn push_fault(&mut self, time: u64, fault: Fault) {
        let index = self.faults.insert(fault);
        self.push_slot(time, FAULT << KIND_SHIFT | index);
    }

    /// Frees a timer's slot (fired, or its tombstone taken out of the queue).
    #[inline]
    fn release_timer(&mut self, index: u32) {
        let slot = &mut self.timers[index as usize];
        slot.state = TimerState::Free;
        slot.generation = slot.generation.wrapping_add(1);
        self.free_timers.push(index);
    }

    #[inline]
    fn push_slot(&mut self, time: u64, slot: u32) {
        self.heap.push(Entry { time, slot });
        let depth = self.heap.len() as u64;
        if depth > self.stats.queue_depth_max {
            self.stats.queue_depth_max = depth;
        }
    }

    /// Routes `msg`; true when the network delivers it (once or more), false when it drops it.
    fn send(&mut self, from: NodeId, to: NodeId, msg: M) -> bool {
        self.stats.messages_sent += 1;
        let now = self.now_ns;
        let slot = from.index() * self.states.len() + to.index();
        let (seed, names) = (self.seed, &self.names);
        let rng = self.link_rngs[slot].get_or_insert_with(|| {
            Box::new(rng::stream(seed, &format!("net/{}->{}", names[from.index()], names[to.index()])))
        });
        let fate = self.network.route(now, from, to, rng);
        match fate {
            Fate::Dropped(reason) => {
                match reason {
                    DropReason::Loss => self.stats.dropped_loss += 1,
                    DropReason::Cut => self.stats.dropped_cut += 1,
                    DropReason::Broken => self.stats.dropped_broken += 1,
                }
                false
            }
            Fate::Delivered { delay_ns, duplicate_ns } => {
                let incarnation = self.states[to.index()].incarnation;
                if let Some(duplicate_ns) = duplicate_ns {
                    self.stats.duplicated += 1;
                    let copy = msg.clone();
                    self.push_message(now + delay_ns, Delivery { from, to, incarnation, msg });
                    self.push_message(now + duplicate_ns, Delivery { from, to, incarnation, msg: copy });
                } else {
                    self.push_message(now + delay_ns, Delivery { from, to, incarnation, msg });
                }
                true
            }
        }
    }

    fn set_timer(&mut self, node: NodeId, local_delay_ns: u64, tag: u64) -> TimerId {
        let state = &self.states[node.index()];
        let delay = state.clock.true_duration(local_delay_ns);
        let incarnation = state.incarnation;
        let time = self.now_ns.saturating_add(delay);
        let armed = |generation| TimerSlot { node, incarnation, tag, generation, state: TimerState::Armed };
        let index = match self.free_timers.pop() {
            Some(index) => {
                let slot = &mut self.timers[index as usize];
                *slot = armed(slot.generation);
                index
            }
            None => {
                self.timers.push(armed(0));
                slot_index(self.timers.len() - 1)
            }
        };
        self.push_slot(time, TIMER << KIND_SHIFT | index);
        TimerId { slot: index, generation: self.timers[index as usize].generation }
    }

    fn cancel_timer(&mut self, timer: TimerId) {
        let Some(slot) = self.timers.get_mut(timer.slot as usize) else { return };
        if slot.generation != timer.generation {
            return; // already fired or cancelled, and the slot reused
        }
        if slot.state == TimerState::Armed {
            slot.state = TimerState::Cancelled;
            self.tombstones += 1;
            self.stats.timers_cancelled += 1;
            if self.tombstones >= TOMBSTONES_BEFORE_COMPACTION && self.tombstones * 2 >= self.heap.len() {
                self.compact();
            }
        }
    }

    /// Removes cancelled timers from the queue, so they never pile up.
    fn compact(&mut self) {
        let mut freed = Vec::with_capacity(self.tombstones);
        let timers = &self.timers;
        self.heap.retain(|entry| {
            let index = entry.slot & INDEX_MASK;
            let cancelled = entry.slot >> KIND_SHIFT == TIMER && timers[index as usize].state == TimerState::Cancelled;
            if cancelled {
                freed.push(index);
            }
            !cancelled
        });
        for index in freed {
            self.release_timer(index);
        }
        self.tombstones = 0;
    }
}

/// What a handler may touch: time, clocks, the network, timers, its random stream.
pub struct Ctx<'a, M, S> {
    core: &'a mut Core<M>,
    /// The world-level state shared by all nodes.
    pub shared: &'a mut S,
    me: NodeId,
}

impl<M: Clone, S> Ctx<'_, M, S> {
    #[inline]
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// True simulated time. Use it to *record* what happened; base decisions on
    /// [`Ctx::local_ns`] or timers, as a real process would.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        self.core.now_ns
    }

    /// This node's local (wall) clock reading.
    #[inline]
    pub fn local_ns(&self) -> i64 {
        self.core.states[self.me.index()].clock.read(self.core.now_ns)
    }

    /// Sends `msg` to `to` through the network.
    #[inline]
    pub fn send(&mut self, to: NodeId, msg: M) {
        self.core.send(self.me, to, msg);
    }

    /// Sends `msg` like [`Ctx::send`] and tells whether the network will deliver it (at least
    /// once; a receiver that crashes before it arrives still loses it). The node itself
    /// cannot know this: it is for the observer's bookkeeping (a model's shared state
    /// counting what is in flight), never for a node's decisions.
    #[inline]
    pub fn send_observed(&mut self, to: NodeId, msg: M) -> bool {
        self.core.send(self.me, to, msg)
    }

    /// Fires [`Node::on_timer`] with `tag` after `delay_ns` of this node's monotonic time.
    #[inline]
    pub fn set_timer(&mut self, delay_ns: u64, tag: u64) -> TimerId {
        self.core.set_timer(self.me, delay_ns, tag)
    }

    /// Cancels a pending timer; a timer that already fired is ignored.
    #[inline]
    pub fn cancel_timer(&mut self, timer: TimerId) {
        self.core.cancel_timer(timer);
    }

    /// This node's random stream.
    #[inline]
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.core.states[self.me.index()].rng
    }

    /// Ends the run after this handler returns.
    pub fn stop(&mut self) {
        self.core.stop_requested = true;
    }

    /// Opens a fresh connection to `peer` (see [`net`]): a client does this after a timeout.
    pub fn reconnect(&mut self, peer: NodeId) {
        self.core.network.reconnect(self.me, peer);
    }

    /// Whether `node` is running (not crashed).
    pub fn is_up(&self, node: NodeId) -> bool {
        self.core.states[node.index()].up
    }
}

/// A simulation: nodes, shared state, and the engine core.
pub struct Sim<N: Node> {
    nodes: Vec<N>,
    names: Vec<String>,
    core: Core<N::Msg>,
    pub shared: N::Shared,
    started: bool,
    guard: Guard,
    watch: Watch,
}

impl<N: Node> Sim<N> {
    /// Builds a simulation; node *i* of `nodes` gets `NodeId(i)`. Random streams are named
    /// after nodes (`node/NAME` for a node's own draws, `net/FROM->TO` for each link), so
    /// renumbering nodes, or new traffic on other links, does not change anyone's draws.
    pub fn new(seed: u64, shared: N::Shared, nodes: Vec<(String, N)>, default_link: LinkSpec) -> Sim<N> {
        let count = nodes.len();
        let mut names = Vec::with_capacity(count);
        let mut actors = Vec::with_capacity(count);
        let mut states = Vec::with_capacity(count);
        for (name, node) in nodes {
            states.push(NodeState {
                up: true,
                incarnation: 0,
                paused_until_ns: 0,
                clock: Clock::default(),
                rng: rng::stream(seed, &format!("node/{name}")),
            });
            names.push(name);
            actors.push(node);
        }
        Sim {
            nodes: actors,
            names: names.clone(),
            core: Core {
                now_ns: 0,
                heap: Queue::with_capacity(1024),
                messages: Slots::with_capacity(1024),
                timers: Vec::with_capacity(1024),
                free_timers: Vec::new(),
                faults: Slots::with_capacity(0),
                tombstones: 0,
                states,
                network: Network::new(count, default_link),
                stop_requested: false,
                seed,
                names: names.clone(),
                link_rngs: (0..count * count).map(|_| None).collect(),
                stats: Stats::default(),
            },
            shared,
            started: false,
            guard: Guard::default(),
            watch: Watch { next_check: Guard::default().stall_events, ..Watch::default() },
        }
    }

    pub fn node(&self, id: NodeId) -> &N {
        &self.nodes[id.index()]
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut N {
        &mut self.nodes[id.index()]
    }

    pub fn nodes(&self) -> &[N] {
        &self.nodes
    }

    pub fn name(&self, id: NodeId) -> &str {
        &self.names[id.index()]
    }

    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.core.network
    }

    pub fn set_clock(&mut self, node: NodeId, clock: Clock) {
        self.core.states[node.index()].clock = clock;
    }

    /// Replaces the livelock guard's thresholds (see [`Guard`]).
    pub fn set_guard(&mut self, guard: Guard) {
        self.guard = guard;
        self.watch.next_check = self.watch.events.saturating_add(guard.stall_events);
    }

    /// Marks a node as not started: it starts when a [`Fault::Restart`] for it is applied.
    pub fn start_later(&mut self, node: NodeId) {
        self.core.states[node.index()].up = false;
    }

    pub fn now_ns(&self) -> u64 {
        self.core.now_ns
    }

    pub fn stats(&self) -> Stats {
        self.core.stats
    }

    /// Pending queue entries (including cancelled timers not yet compacted away).
    pub fn queue_depth(&self) -> usize {
        self.core.heap.len()
    }

    /// Applies `fault` at true time `at_ns`.
    pub fn schedule_fault(&mut self, at_ns: u64, fault: Fault) {
        self.core.push_fault(at_ns, fault);
    }

    /// Runs until quiescence, a [`Ctx::stop`], or a limit. Can be called again to go on.
    pub fn run(&mut self, limits: Limits) -> Outcome {
        if !self.started {
            self.started = true;
            for index in 0..self.nodes.len() {
                if self.core.states[index].up {
                    self.with_ctx(index, |node, ctx| node.on_start(ctx));
                }
            }
        }
        let mut livelock = None;
        let reason = loop {
            if self.core.stop_requested {
                break StopReason::Stopped;
            }
            if self.core.stats.events >= limits.max_events {
                break StopReason::EventLimit;
            }
            let Some(next) = self.core.heap.peek() else {
                break StopReason::Quiescent;
            };
            if next.time > limits.max_time_ns {
                self.core.now_ns = limits.max_time_ns;
                break StopReason::TimeLimit;
            }
            self.core.heap.advance();
            self.core.now_ns = next.time;
            self.dispatch(next);
            if self.core.stats.events >= self.watch.next_check {
                if let Some(found) = self.check_stall() {
                    livelock = Some(found);
                    break StopReason::Livelock;
                }
            }
        };
        Outcome { reason, end_ns: self.core.now_ns, stats: self.core.stats, livelock }
    }

    /// Called when a stretch reaches `stall_events` events, and after every event of a
    /// diagnosis. A stretch with progress, or spread over enough time, starts a new one. A
    /// stalled dense one is diagnosed: the next [`DIAGNOSIS_EVENTS`] events are counted by
    /// node and kind (each as it comes up next in the queue); progress among them ends the
    /// diagnosis (no livelock), else the most frequent is the culprit.
    #[cold]
    #[inline(never)]
    fn check_stall(&mut self) -> Option<Livelock> {
        let progress = N::progress(&self.shared);
        let events = self.core.stats.events;
        let stalled = progress == self.watch.progress;
        if self.watch.diagnosis.is_some() {
            if !stalled {
                self.new_stretch();
                return None;
            }
            if events - self.watch.diagnosed_from >= DIAGNOSIS_EVENTS {
                let tally = self.watch.diagnosis.take().unwrap_or_default();
                let (node, spin) = culprit(&tally);
                let events = events - self.watch.events;
                return Some(Livelock { node, spin, since_ns: self.watch.since_ns, events });
            }
        } else if stalled && self.core.now_ns - self.watch.since_ns < self.guard.stall_span_ns {
            self.watch.diagnosis = Some(Vec::new());
            self.watch.diagnosed_from = events;
        } else {
            self.new_stretch();
            return None;
        }
        if let Some(next) = self.core.heap.peek() {
            self.tally(next);
        }
        self.watch.next_check = events + 1;
        None
    }

    /// Starts a stretch of events at the current event, time and progress.
    fn new_stretch(&mut self) {
        let events = self.core.stats.events;
        self.watch = Watch {
            events,
            since_ns: self.core.now_ns,
            progress: N::progress(&self.shared),
            diagnosis: None,
            diagnosed_from: 0,
            next_check: events.saturating_add(self.guard.stall_events),
        };
    }

    /// Counts the event about to be handled for the diagnosis (its node and kind).
    fn tally(&mut self, entry: Entry) {
        let index = entry.slot & INDEX_MASK;
        let (node, spin) = match entry.slot >> KIND_SHIFT {
            MESSAGE => {
                let delivery = self.core.messages.get(index);
                (delivery.to, Spin::Message(N::message_kind(&delivery.msg), delivery.from))
            }
            TIMER => {
                let slot = &self.core.timers[index as usize];
                if slot.state != TimerState::Armed {
                    return;
                }
                (slot.node, Spin::Timer(self.nodes[slot.node.index()].timer_kind(slot.tag)))
            }
            _ => return,
        };
        let Some(tally) = self.watch.diagnosis.as_mut() else { return };
        match tally.iter_mut().find(|(n, s, _)| *n == node && *s == spin) {
            Some(entry) => entry.2 += 1,
            None => tally.push((node, spin, 1)),
        }
    }

    fn with_ctx<R>(&mut self, index: usize, f: impl FnOnce(&mut N, &mut Ctx<'_, N::Msg, N::Shared>) -> R) -> R {
        let mut ctx = Ctx { core: &mut self.core, shared: &mut self.shared, me: NodeId(index as u32) };
        f(&mut self.nodes[index], &mut ctx)
    }

    /// Defers an entry for a paused node to the end of its pause. Returns whether it did.
    fn deferred(&mut self, node: NodeId, entry: Entry) -> bool {
        let until = self.core.states[node.index()].paused_until_ns;
        if until > entry.time {
            self.core.push_slot(until, entry.slot);
            return true;
        }
        false
    }

    fn dispatch(&mut self, entry: Entry) {
        let index = entry.slot & INDEX_MASK;
        match entry.slot >> KIND_SHIFT {
            MESSAGE => {
                if self.deferred(self.core.messages.get(index).to, entry) {
                    return;
                }
                let Delivery { from, to, incarnation, msg } = self.core.messages.take(index);
                let state = &self.core.states[to.index()];
                if !state.up || state.incarnation != incarnation {
                    self.core.stats.dropped_dead += 1;
                    return;
                }
                self.core.stats.events += 1;
                self.core.stats.messages_delivered += 1;
                self.with_ctx(to.index(), |node, ctx| node.on_message(ctx, from, msg));
            }
            TIMER => {
                let TimerSlot { node, incarnation, tag, generation, state } = self.core.timers[index as usize];
                if state == TimerState::Cancelled {
                    self.core.tombstones -= 1;
                    self.core.release_timer(index);
                    return;
                }
                if self.deferred(node, entry) {
                    return;
                }
                self.core.release_timer(index);
                let state = &self.core.states[node.index()];
                if !state.up || state.incarnation != incarnation {
                    return;
                }
                self.core.stats.events += 1;
                self.core.stats.timers_fired += 1;
                let timer = TimerId { slot: index, generation };
                self.with_ctx(node.index(), |actor, ctx| actor.on_timer(ctx, timer, tag));
            }
            _ => {
                let fault = self.core.faults.take(index);
                self.core.stats.events += 1;
                self.apply_fault(fault);
            }
        }
    }

    fn apply_fault(&mut self, fault: Fault) {
        N::observe_fault(&mut self.shared, self.core.now_ns, &fault);
        match fault {
            Fault::Crash(node) => {
                let state = &mut self.core.states[node.index()];
                if state.up {
                    state.up = false;
                    state.incarnation += 1;
                    state.paused_until_ns = 0;
                    self.nodes[node.index()].on_crash(&mut self.shared, self.core.now_ns);
                }
            }
            Fault::Restart(node) => {
                let state = &mut self.core.states[node.index()];
                if !state.up {
                    state.up = true;
                    state.incarnation += 1;
                    self.with_ctx(node.index(), |actor, ctx| actor.on_restart(ctx));
                }
            }
            Fault::Pause { node, duration_ns } => {
                let state = &mut self.core.states[node.index()];
                state.paused_until_ns = state.paused_until_ns.max(self.core.now_ns + duration_ns);
            }
            Fault::Cut { from, to } => self.core.network.set_cut(from, to, true),
            Fault::Heal { from, to } => self.core.network.set_cut(from, to, false),
            Fault::SetLink { from, to, spec } => self.core.network.set_link(from, to, spec),
            Fault::ClockStep { node, delta_ns } => self.core.states[node.index()].clock.step(delta_ns),
            Fault::Control { node, tag } => {
                if self.core.states[node.index()].up {
                    self.with_ctx(node.index(), |actor, ctx| actor.on_control(ctx, tag));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
