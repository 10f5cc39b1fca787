//! Engine tests on tiny actors: ordering of ties, timers, cancellation, crashes, pauses,
//! limits, determinism.

use super::*;
use crate::net::Latency;
use crate::rng::Ratio;

/// Records what happened to it, so tests can assert on the exact sequence.
#[derive(Default)]
struct Probe {
    log: Vec<(u64, String)>,
    timers: Vec<TimerId>,
}

#[derive(Clone, Debug)]
enum Msg {
    Hello(u32),
}

type World = Vec<String>;

impl Node for Probe {
    type Msg = Msg;
    type Shared = World;

    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg, World>, from: NodeId, msg: Msg) {
        let Msg::Hello(n) = msg;
        self.log.push((ctx.now_ns(), format!("msg {n} from {}", from.0)));
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg, World>, _timer: TimerId, tag: u64) {
        self.log.push((ctx.now_ns(), format!("timer {tag}")));
        if tag >= 1000 {
            // A periodic timer that sends a random hello to node 0.
            let n = ctx.rng().below(1_000_000) as u32;
            ctx.send(NodeId(0), Msg::Hello(n));
            if tag < 1010 {
                ctx.set_timer(1_000, tag + 1);
            }
        }
    }

    fn on_crash(&mut self, shared: &mut World, now_ns: u64) {
        shared.push(format!("crash at {now_ns}"));
        self.timers.clear();
    }

    fn on_control(&mut self, ctx: &mut Ctx<'_, Msg, World>, tag: u64) {
        self.log.push((ctx.now_ns(), format!("control {tag}")));
    }

    fn observe_fault(shared: &mut World, now_ns: u64, fault: &Fault) {
        shared.push(format!("{now_ns}: {fault:?}"));
    }
}

fn constant_link(ns: u64) -> LinkSpec {
    LinkSpec { latency: Latency::Constant { ns }, ..LinkSpec::default() }
}

fn sim_of(count: usize, link: LinkSpec, seed: u64) -> Sim<Probe> {
    let nodes = (0..count).map(|i| (format!("n{i}"), Probe::default())).collect();
    Sim::new(seed, Vec::new(), nodes, link)
}

#[test]
fn ties_break_by_insertion_order() {
    let mut sim = sim_of(2, constant_link(100), 1);
    for tag in [5, 3, 9] {
        sim.schedule_fault(50, Fault::Control { node: NodeId(1), tag });
    }
    sim.run(Limits::default());
    let log: Vec<&str> = sim.node(NodeId(1)).log.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(log, ["control 5", "control 3", "control 9"]);
}

#[test]
fn periodic_timers_and_messages_run_to_quiescence() {
    let mut sim = sim_of(2, constant_link(100), 1);
    sim.with_ctx(1, |_, ctx| {
        ctx.set_timer(1_000, 1000);
    });
    let outcome = sim.run(Limits::default());
    assert_eq!(outcome.reason, StopReason::Quiescent);
    // 11 timer firings on node 1, each sending one hello that arrives 100 ns later.
    assert_eq!(sim.node(NodeId(1)).log.len(), 11);
    let hellos = &sim.node(NodeId(0)).log;
    assert_eq!(hellos.len(), 11);
    assert_eq!(hellos[0].0, 1_100);
    assert_eq!(outcome.stats.events, 22);
}

#[test]
fn same_seed_same_run_different_seed_different_draws() {
    let run = |seed| {
        let mut sim = sim_of(2, LinkSpec::default(), seed);
        sim.with_ctx(1, |_, ctx| {
            ctx.set_timer(1_000, 1000);
        });
        sim.run(Limits::default());
        sim.node(NodeId(0)).log.clone()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn cancelled_timers_never_fire_and_do_not_pile_up() {
    let mut sim = sim_of(1, constant_link(1), 1);
    sim.with_ctx(0, |node, ctx| {
        for i in 0..10_000 {
            let timer = ctx.set_timer(1_000_000 + i, i % 500);
            node.timers.push(timer);
        }
        let keep = node.timers[9_999];
        for timer in node.timers.drain(..9_999) {
            ctx.cancel_timer(timer);
        }
        node.timers.push(keep);
    });
    assert!(sim.queue_depth() < 200, "queue holds {} entries", sim.queue_depth());
    sim.run(Limits::default());
    let log: Vec<&str> = sim.node(NodeId(0)).log.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(log, ["timer 499"]);
    // Cancelling a timer that already fired does nothing, even once its slot is reused.
    let fired = sim.node(NodeId(0)).timers[0];
    sim.with_ctx(0, |_, ctx| {
        ctx.set_timer(5, 77);
        ctx.cancel_timer(fired);
    });
    sim.run(Limits::default());
    assert_eq!(sim.node(NodeId(0)).log.last().unwrap().1, "timer 77");
}

#[test]
fn crash_drops_timers_and_inbound_messages_until_restart() {
    let mut sim = sim_of(2, constant_link(100), 1);
    sim.with_ctx(1, |_, ctx| {
        ctx.set_timer(1_000, 1000); // node 1 sends to node 0 every µs from t = 1 µs
    });
    sim.with_ctx(0, |_, ctx| {
        ctx.set_timer(5_000, 1); // would fire during the crash
    });
    sim.schedule_fault(2_500, Fault::Crash(NodeId(0)));
    sim.schedule_fault(6_050, Fault::Restart(NodeId(0)));
    sim.run(Limits::default());
    let times: Vec<u64> = sim.node(NodeId(0)).log.iter().map(|(t, _)| *t).collect();
    // Hellos arrive at 1.1, 2.1, (3.1 4.1 5.1 6.1 dropped: 6.1 was sent to the dead incarnation) 7.1 …
    assert_eq!(&times[..3], &[1_100, 2_100, 7_100]);
    assert!(sim.node(NodeId(0)).log.iter().all(|(_, s)| s != "timer 1"));
    assert!(sim.shared.iter().any(|s| s == "crash at 2500"));
    assert_eq!(sim.stats().dropped_dead, 4);
}

#[test]
fn pause_defers_work_in_order() {
    let mut sim = sim_of(2, constant_link(100), 1);
    sim.with_ctx(1, |_, ctx| {
        ctx.set_timer(1_000, 1000);
    });
    sim.schedule_fault(1_500, Fault::Pause { node: NodeId(0), duration_ns: 3_000 });
    sim.run(Limits::default());
    let log = &sim.node(NodeId(0)).log;
    let times: Vec<u64> = log.iter().map(|(t, _)| *t).collect();
    assert_eq!(&times[..5], &[1_100, 4_500, 4_500, 4_500, 5_100]);
    // Deferred messages keep their arrival order.
    let sent: Vec<&str> = sim.node(NodeId(1)).log.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(sent.len(), 11);
}

#[test]
fn cut_links_drop_and_heal_restores() {
    let datagram = LinkSpec { fifo: false, ..constant_link(100) };
    let mut sim = sim_of(2, datagram, 1);
    sim.with_ctx(1, |_, ctx| {
        ctx.set_timer(1_000, 1000);
    });
    sim.schedule_fault(1_500, Fault::Cut { from: NodeId(1), to: NodeId(0) });
    sim.schedule_fault(4_500, Fault::Heal { from: NodeId(1), to: NodeId(0) });
    sim.run(Limits::default());
    assert_eq!(sim.stats().dropped_cut, 3);
    assert_eq!(sim.node(NodeId(0)).log.len(), 8);
}

#[test]
fn limits_stop_the_run() {
    let mut sim = sim_of(2, constant_link(100), 1);
    sim.with_ctx(1, |_, ctx| {
        ctx.set_timer(1_000, 1000);
    });
    let outcome = sim.run(Limits { max_time_ns: 3_000, max_events: u64::MAX });
    assert_eq!(outcome.reason, StopReason::TimeLimit);
    assert_eq!(outcome.end_ns, 3_000);
    let outcome = sim.run(Limits { max_time_ns: u64::MAX, max_events: 7 });
    assert_eq!(outcome.reason, StopReason::EventLimit);
    assert_eq!(outcome.stats.events, 7);
}

#[test]
fn local_clock_and_drifted_timers() {
    let mut sim = sim_of(1, constant_link(1), 1);
    sim.set_clock(NodeId(0), clock::Clock { offset_ns: 500, drift_ppm: 100_000 });
    sim.schedule_fault(1_000, Fault::ClockStep { node: NodeId(0), delta_ns: -10_000 });
    sim.with_ctx(0, |_, ctx| {
        assert_eq!(ctx.local_ns(), 500);
        ctx.set_timer(11_000, 1); // 11 µs local at +10 % rate is 10 µs true
    });
    sim.run(Limits::default());
    assert_eq!(sim.node(NodeId(0)).log[0].0, 10_000);
    sim.with_ctx(0, |_, ctx| {
        assert_eq!(ctx.local_ns(), 10_000 + 1_000 + 500 - 10_000);
    });
}

#[test]
fn send_observed_tells_whether_the_network_delivers() {
    let mut sim = sim_of(3, constant_link(100), 1);
    sim.network_mut().set_cut(NodeId(1), NodeId(2), true);
    let lossy = LinkSpec { loss: Ratio::new(1, 2).unwrap(), fifo: false, ..constant_link(100) };
    sim.network_mut().set_link(NodeId(1), NodeId(0), lossy);
    let (mut delivered, mut dropped) = (0, 0);
    sim.with_ctx(1, |_, ctx| {
        assert!(!ctx.send_observed(NodeId(2), Msg::Hello(0)), "a cut link drops");
        for n in 0..40 {
            if ctx.send_observed(NodeId(0), Msg::Hello(n)) {
                delivered += 1;
            } else {
                dropped += 1;
            }
        }
    });
    assert!(delivered > 0 && dropped > 0, "{delivered} {dropped}");
    sim.run(Limits::default());
    // Exactly the sends it reported delivered arrive; the stats count the others as lost.
    assert_eq!(sim.node(NodeId(0)).log.len(), delivered);
    assert_eq!(sim.stats().dropped_loss, dropped as u64);
    assert!(sim.node(NodeId(2)).log.is_empty());
}

/// Waits for a deadline in true time by re-arming a timer for the time left (as a model
/// that compares the true time with a plan does), or spins on purpose.
struct Waiter {
    deadline_ns: u64,
    /// Re-arm with this fixed local delay forever (0: at the same instant).
    spin_ns: Option<u64>,
    /// Ping-pong a message with this peer forever (zero-latency link).
    ping: Option<NodeId>,
    progress_every: u64,
    fired: u64,
}

impl Node for Waiter {
    type Msg = u8;
    type Shared = u64; // progress

    fn on_start(&mut self, ctx: &mut Ctx<'_, u8, u64>) {
        if let Some(peer) = self.ping {
            ctx.send(peer, 1);
        } else {
            ctx.set_timer(self.deadline_ns, 7);
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, u8, u64>, from: NodeId, msg: u8) {
        ctx.send(from, msg);
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, u8, u64>, _: TimerId, tag: u64) {
        self.fired += 1;
        if self.progress_every > 0 && self.fired.is_multiple_of(self.progress_every) {
            *ctx.shared += 1;
        }
        if let Some(spin) = self.spin_ns {
            ctx.set_timer(spin, tag);
        } else if ctx.now_ns() < self.deadline_ns {
            ctx.set_timer(self.deadline_ns - ctx.now_ns(), tag);
        }
    }
    fn progress(shared: &u64) -> u64 {
        *shared
    }
    fn timer_kind(&self, tag: u64) -> &'static str {
        if tag == 7 {
            "wait"
        } else {
            "other"
        }
    }
    fn message_kind(_: &u8) -> &'static str {
        "ping"
    }
}

fn waiter(deadline_ns: u64, spin_ns: Option<u64>, progress_every: u64) -> Waiter {
    Waiter { deadline_ns, spin_ns, ping: None, progress_every, fired: 0 }
}

#[test]
fn a_fast_clock_reaches_a_true_deadline() {
    // The timer for the time left fires a little early on a fast clock; the next one is
    // for the few nanoseconds left, and one for 1 ns must still move time forward (it used
    // to round to 0 ns and fire again at the same instant, forever).
    for drift_ppm in [1, 20, 1_000, 500_000, -20, -500_000] {
        let nodes = vec![("w".to_string(), waiter(1_000_000_007, None, 0))];
        let mut sim = Sim::new(1, 0u64, nodes, LinkSpec::default());
        sim.set_clock(NodeId(0), clock::Clock { offset_ns: 0, drift_ppm });
        let outcome = sim.run(Limits { max_time_ns: u64::MAX, max_events: 10_000 });
        assert_eq!(outcome.reason, StopReason::Quiescent, "{drift_ppm} ppm: {outcome:?}");
        assert!(outcome.end_ns >= 1_000_000_007 && outcome.stats.timers_fired < 64, "{drift_ppm}: {outcome:?}");
    }
}

#[test]
fn a_spin_at_one_instant_is_a_livelock_naming_its_node_and_timer() {
    let nodes = vec![("a".to_string(), waiter(5, None, 0)), ("spinner".to_string(), waiter(5, Some(0), 0))];
    let mut sim = Sim::new(1, 0u64, nodes, LinkSpec::default());
    let outcome = sim.run(Limits { max_time_ns: u64::MAX, max_events: 100_000_000 });
    assert_eq!(outcome.reason, StopReason::Livelock, "{outcome:?}");
    assert_eq!(outcome.reason.as_str(), "livelock");
    let livelock = outcome.livelock.expect("named");
    assert_eq!((livelock.node, livelock.spin), (NodeId(1), Spin::Timer("wait")));
    assert_eq!(livelock.since_ns, 0, "the stalled stretch is the run's first");
    assert_eq!(outcome.end_ns, 5);
    let guard = Guard::default();
    assert_eq!(livelock.events, guard.stall_events + DIAGNOSIS_EVENTS);
    assert!(outcome.stats.events < 2 * guard.stall_events, "it stops soon after the stall: {outcome:?}");
}

#[test]
fn a_dense_spin_in_time_and_a_message_ping_pong_are_livelocks() {
    // 1 ns steps: time moves, nothing else does.
    let nodes = vec![("w".to_string(), waiter(0, Some(1), 0))];
    let mut sim = Sim::new(1, 0u64, nodes, LinkSpec::default());
    let outcome = sim.run(Limits::default());
    assert_eq!(outcome.reason, StopReason::Livelock);
    assert_eq!(outcome.livelock.unwrap().spin, Spin::Timer("wait"));

    let ping = |peer| Waiter { ping: Some(NodeId(peer)), ..waiter(0, None, 0) };
    let nodes = vec![("x".to_string(), ping(1)), ("y".to_string(), ping(0))];
    let mut sim = Sim::new(1, 0u64, nodes, constant_link(0));
    let outcome = sim.run(Limits::default());
    assert_eq!(outcome.reason, StopReason::Livelock);
    let spin = outcome.livelock.unwrap().spin;
    assert!(matches!(spin, Spin::Message("ping", _)), "{spin:?}");
}

#[test]
fn dense_events_with_progress_or_spread_in_time_are_not_livelocks() {
    // The same spin, but every 1,000th event makes progress: it runs into the event limit.
    let nodes = vec![("w".to_string(), waiter(0, Some(0), 1_000))];
    let mut sim = Sim::new(1, 0u64, nodes, LinkSpec::default());
    let outcome = sim.run(Limits { max_time_ns: u64::MAX, max_events: 3_000_000 });
    assert_eq!(outcome.reason, StopReason::EventLimit, "{outcome:?}");
    // No progress at all, but one event every 100 ns (10 ms per 100,000 events): not dense
    // for a guard of 100,000 events in 9 ms.
    let nodes = vec![("w".to_string(), waiter(0, Some(100), 0))];
    let mut sim = Sim::new(1, 0u64, nodes, LinkSpec::default());
    sim.set_guard(Guard { stall_events: 100_000, stall_span_ns: 9_000_000 });
    let outcome = sim.run(Limits { max_time_ns: u64::MAX, max_events: 3_000_000 });
    assert_eq!(outcome.reason, StopReason::EventLimit, "{outcome:?}");
    // The same with a tighter guard is one.
    let nodes = vec![("w".to_string(), waiter(0, Some(100), 0))];
    let mut sim = Sim::new(1, 0u64, nodes, LinkSpec::default());
    sim.set_guard(Guard { stall_events: 100_000, stall_span_ns: 11_000_000 });
    let outcome = sim.run(Limits { max_time_ns: u64::MAX, max_events: 3_000_000 });
    assert_eq!(outcome.reason, StopReason::Livelock, "{outcome:?}");
}
