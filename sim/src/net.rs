//! The network between nodes: per-link latency, loss, duplication, FIFO or jittered
//! delivery, and cuts (partitions, one-way too).
//!
//! A link is the ordered pair (from, to). Its [`LinkSpec`] comes from the default spec,
//! overridden per link.
//!
//! A FIFO link (the default) behaves like one direction of a TCP connection, which is what
//! Kafka clients and brokers speak: messages arrive in send order, and a loss *breaks* the
//! link, so everything sent on it afterwards is lost too, until either end reconnects
//! ([`Network::reconnect`], which a client does after a timeout). A later message can
//! therefore never arrive when an earlier one did not. A non-FIFO link is datagram-like:
//! each message is lost independently and latency jitter alone reorders. A cut link drops
//! everything sent while it is cut (and, being a loss, breaks a FIFO link).

use crate::rng::{Ratio, Rng};
use crate::NodeId;

/// How long a message takes on a link, in nanoseconds. Integer draws only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Latency {
    /// Always `ns`.
    Constant { ns: u64 },
    /// Uniform in `min_ns..=max_ns`.
    Uniform { min_ns: u64, max_ns: u64 },
    /// Uniform in `min_ns..=typical_ns`, except with probability `tail` uniform in
    /// `typical_ns..=max_ns`: a fast common case and a slow tail.
    Tail { min_ns: u64, typical_ns: u64, max_ns: u64, tail: Ratio },
}

impl Latency {
    #[inline]
    pub fn draw(&self, rng: &mut Rng) -> u64 {
        match *self {
            Latency::Constant { ns } => ns,
            Latency::Uniform { min_ns, max_ns } => rng.between(min_ns, max_ns),
            Latency::Tail { min_ns, typical_ns, max_ns, tail } => {
                if rng.chance(tail) {
                    rng.between(typical_ns, max_ns)
                } else {
                    rng.between(min_ns, typical_ns)
                }
            }
        }
    }

    /// The largest latency this distribution can draw.
    pub fn max_ns(&self) -> u64 {
        match *self {
            Latency::Constant { ns } => ns,
            Latency::Uniform { max_ns, .. } | Latency::Tail { max_ns, .. } => max_ns,
        }
    }
}

/// The behaviour of one directed link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkSpec {
    pub latency: Latency,
    /// Probability that a message is dropped.
    pub loss: Ratio,
    /// Probability that a delivered message is delivered a second time (independent latency).
    pub duplicate: Ratio,
    /// Deliver in send order on this link.
    pub fifo: bool,
}

impl Default for LinkSpec {
    fn default() -> Self {
        LinkSpec {
            latency: Latency::Uniform { min_ns: 500_000, max_ns: 1_500_000 },
            loss: Ratio::ZERO,
            duplicate: Ratio::ZERO,
            fifo: true,
        }
    }
}

/// What became of one send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Dropped(DropReason),
    /// Delivered after `delay_ns`, and a second copy after `duplicate_ns` if set.
    Delivered {
        delay_ns: u64,
        duplicate_ns: Option<u64>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    Loss,
    Cut,
    /// Sent on a FIFO link broken by an earlier loss and not yet reconnected.
    Broken,
}

/// The network's state: specs per link, cuts, and FIFO watermarks.
#[derive(Clone, Debug)]
pub struct Network {
    nodes: usize,
    specs: Vec<LinkSpec>,
    /// `links[from * nodes + to]` indexes `specs`.
    links: Vec<u16>,
    cut: Vec<bool>,
    broken: Vec<bool>,
    /// Time of the last delivery scheduled on each FIFO link.
    last_delivery: Vec<u64>,
}

impl Network {
    pub fn new(nodes: usize, default: LinkSpec) -> Network {
        Network {
            nodes,
            specs: vec![default],
            links: vec![0; nodes * nodes],
            cut: vec![false; nodes * nodes],
            broken: vec![false; nodes * nodes],
            last_delivery: vec![0; nodes * nodes],
        }
    }

    pub fn node_count(&self) -> usize {
        self.nodes
    }

    #[inline]
    fn slot(&self, from: NodeId, to: NodeId) -> usize {
        from.index() * self.nodes + to.index()
    }

    /// Overrides the spec of the link `from → to`.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, spec: LinkSpec) {
        let index = match self.specs.iter().position(|s| *s == spec) {
            Some(index) => index,
            None => {
                self.specs.push(spec);
                self.specs.len() - 1
            }
        };
        let slot = self.slot(from, to);
        self.links[slot] = u16::try_from(index).expect("fewer than 65536 distinct link specs");
    }

    pub fn link(&self, from: NodeId, to: NodeId) -> &LinkSpec {
        &self.specs[usize::from(self.links[self.slot(from, to)])]
    }

    /// Cuts (or heals) the link `from → to`.
    pub fn set_cut(&mut self, from: NodeId, to: NodeId, cut: bool) {
        let slot = self.slot(from, to);
        self.cut[slot] = cut;
    }

    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cut[self.slot(from, to)]
    }

    /// Opens a fresh connection between `a` and `b`: both directions stop being broken.
    pub fn reconnect(&mut self, a: NodeId, b: NodeId) {
        let (ab, ba) = (self.slot(a, b), self.slot(b, a));
        self.broken[ab] = false;
        self.broken[ba] = false;
    }

    pub fn is_broken(&self, from: NodeId, to: NodeId) -> bool {
        self.broken[self.slot(from, to)]
    }

    /// Decides the fate of a message sent now on `from → to`, drawing from the sender's stream.
    pub fn route(&mut self, now_ns: u64, from: NodeId, to: NodeId, rng: &mut Rng) -> Fate {
        let slot = self.slot(from, to);
        let spec = &self.specs[usize::from(self.links[slot])];
        if self.cut[slot] {
            // Like a loss, a cut breaks a FIFO link: nothing sent later may arrive.
            self.broken[slot] |= spec.fifo;
            return Fate::Dropped(DropReason::Cut);
        }
        if spec.fifo && self.broken[slot] {
            return Fate::Dropped(DropReason::Broken);
        }
        if rng.chance(spec.loss) {
            if spec.fifo {
                self.broken[slot] = true;
            }
            return Fate::Dropped(DropReason::Loss);
        }
        let mut delay_ns = spec.latency.draw(rng);
        if spec.fifo {
            let earliest = self.last_delivery[slot].saturating_sub(now_ns);
            delay_ns = delay_ns.max(earliest);
            self.last_delivery[slot] = now_ns + delay_ns;
        }
        let duplicate_ns = if rng.chance(spec.duplicate) {
            let extra = spec.latency.draw(rng);
            let duplicate = delay_ns + extra;
            if spec.fifo {
                self.last_delivery[slot] = now_ns + duplicate;
            }
            Some(duplicate)
        } else {
            None
        };
        Fate::Delivered { delay_ns, duplicate_ns }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn node(i: u32) -> NodeId {
        NodeId(i)
    }

    #[test]
    fn fifo_link_never_delivers_out_of_send_order() {
        let mut net = Network::new(2, LinkSpec::default());
        let mut rng = stream(1, "net");
        let mut last_arrival = 0;
        for step in 0..1000u64 {
            let now = step * 10_000; // sends 10 µs apart, latency up to 1.5 ms
            if let Fate::Delivered { delay_ns, .. } = net.route(now, node(0), node(1), &mut rng) {
                assert!(now + delay_ns >= last_arrival);
                last_arrival = now + delay_ns;
            }
        }
    }

    #[test]
    fn jittered_link_reorders_sometimes() {
        let spec = LinkSpec { fifo: false, ..LinkSpec::default() };
        let mut net = Network::new(2, spec);
        let mut rng = stream(1, "net");
        let mut arrivals = Vec::new();
        for step in 0..1000u64 {
            let now = step * 10_000;
            if let Fate::Delivered { delay_ns, .. } = net.route(now, node(0), node(1), &mut rng) {
                arrivals.push(now + delay_ns);
            }
        }
        assert!(arrivals.windows(2).any(|w| w[1] < w[0]));
    }

    #[test]
    fn cut_and_loss_drop() {
        let spec = LinkSpec { loss: Ratio::new(1, 2).unwrap(), fifo: false, ..LinkSpec::default() };
        let mut net = Network::new(2, spec);
        let mut rng = stream(1, "net");
        let lost =
            (0..1000).filter(|_| net.route(0, node(0), node(1), &mut rng) == Fate::Dropped(DropReason::Loss)).count();
        assert!((400..600).contains(&lost), "lost = {lost}");
        net.set_cut(node(0), node(1), true);
        assert_eq!(net.route(0, node(0), node(1), &mut rng), Fate::Dropped(DropReason::Cut));
        assert!(matches!(
            net.route(0, node(1), node(0), &mut rng),
            Fate::Delivered { .. } | Fate::Dropped(DropReason::Loss)
        ));
        net.set_cut(node(0), node(1), false);
        assert!(!net.is_cut(node(0), node(1)));
    }

    #[test]
    fn a_loss_breaks_a_fifo_link_until_reconnect() {
        let spec = LinkSpec { loss: Ratio::new(1, 10).unwrap(), ..LinkSpec::default() };
        let mut net = Network::new(2, spec);
        let mut rng = stream(1, "net");
        let fates: Vec<Fate> = (0..200).map(|i| net.route(i * 1000, node(0), node(1), &mut rng)).collect();
        let first_loss =
            fates.iter().position(|f| *f == Fate::Dropped(DropReason::Loss)).expect("some loss in 200 sends");
        assert!(fates[first_loss + 1..].iter().all(|f| *f == Fate::Dropped(DropReason::Broken)));
        assert!(net.is_broken(node(0), node(1)));
        net.reconnect(node(1), node(0));
        assert!(!net.is_broken(node(0), node(1)));
        assert_ne!(net.route(0, node(0), node(1), &mut rng), Fate::Dropped(DropReason::Broken));
    }

    #[test]
    fn per_link_override() {
        let mut net = Network::new(3, LinkSpec::default());
        let slow = LinkSpec { latency: Latency::Constant { ns: 9 }, ..LinkSpec::default() };
        net.set_link(node(0), node(2), slow);
        assert_eq!(net.link(node(0), node(2)).latency, Latency::Constant { ns: 9 });
        assert_eq!(*net.link(node(0), node(1)), LinkSpec::default());
        let mut rng = stream(1, "net");
        assert_eq!(net.route(0, node(0), node(2), &mut rng), Fate::Delivered { delay_ns: 9, duplicate_ns: None });
    }
}
