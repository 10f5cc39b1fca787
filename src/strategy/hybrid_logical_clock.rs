//! **hlc**: hybrid logical clocks: each producer process stamps events with (l, c), where
//! `l` is the largest physical time it has seen (its own local clock, or one carried by
//! a message) and `c` counts events within one `l`. The consumer orders by (l, c,
//! producer) exactly as the `lamport` strategy does: each member holds for
//! `consumer.clock_window_ms`, releases in stamp order, and dead-letters what arrives below
//! the stamp it released.
//!
//! Promises: as Lamport, per member a total order consistent with happens-before (never a
//! causality inversion within a member; nothing across members), and stamps stay within the clock skew of physical time, so concurrent
//! events from producers with unequal rates are ordered roughly by when they happened,
//! and far fewer arrive "late" than with a plain counter. Costs: the window; skew larger
//! than the window still makes a fast clock's events hold back a slow one's. Source:
//! Kulkarni, Demirbas et al., "Logical Physical Clocks" (OPODIS 2014); docs/known-outcomes.md.

use super::Side::{Consumer, Producer};
use super::{Carried, ConsumerHooks, ProducerHooks, Setting, Setup, StampCx, Strategy};
use crate::scenario::{ClockKind, ConsumerPolicy, Scenario};

pub struct HybridLogicalClock;

impl Strategy for HybridLogicalClock {
    fn name(&self) -> &'static str {
        "hlc"
    }
    fn summary(&self) -> &'static str {
        "hybrid logical clocks, released in stamp order after a window: causal, close to physical time"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[
            Setting::set(Producer, "producer.clock", "hybrid"),
            Setting::set(Consumer, "consumer.policy", "clock-ordered"),
        ];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.producer.clock = ClockKind::Hybrid;
        scenario.consumer.policy = ConsumerPolicy("clock-ordered");
    }
    fn producer_hooks(&self, _: &mut Setup<'_>) -> Option<Box<dyn ProducerHooks>> {
        Some(Box::new(Hlc { l: 0, c: 0 }))
    }
    /// Lamport's clock-ordered window, on the HLC stamps.
    fn consumer_hooks(&self, setup: &mut Setup<'_>) -> Option<Box<dyn ConsumerHooks>> {
        Some(Box::new(super::lamport_clock::ClockWindow::new(setup)))
    }
}

/// The producer side: `l` is the largest physical time seen, `c` counts events within one
/// `l` (Kulkarni et al. 2014, send/local event: l' = max(l, pt)); a hand-off's stamp is
/// merged without a tick (the tick happens when the next event is created).
struct Hlc {
    l: i64,
    c: u32,
}

impl ProducerHooks for Hlc {
    fn stamp(&mut self, cx: &mut StampCx<'_>) {
        let physical = cx.local_ns();
        if physical > self.l {
            (self.l, self.c) = (physical, 0);
        } else {
            self.c += 1;
        }
        cx.hybrid(self.l, self.c);
    }
    fn merge(&mut self, carried: Carried<'_>) {
        let (l, c) = carried.hybrid();
        if l > self.l {
            (self.l, self.c) = (l, c);
        } else if l == self.l {
            self.c = self.c.max(c);
        }
    }
}
