//! The raw ceiling for ordo's event queue: a bare `std::collections::BinaryHeap` of the
//! engine's 24-byte entry shape, at a steady depth, with nothing else (no slab, no
//! dispatch, no handlers, no network). Shared by `benches/heap_ceiling.rs` (criterion) and
//! `examples/heap_ceiling.rs` (prints pops/s as JSON for `benches/compare.sh`).
//!
//! Each step pops the earliest entry and pushes one new entry at the popped time plus a
//! delay from a xorshift64 generator, uniform in `[1, DELAY_SPAN_NS]` (≈ 0–2 ms, the
//! latency scale of the standard scenario), so the depth stays constant.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// The delay range of a pushed entry, in nanoseconds (a power of two: masked, not divided).
pub const DELAY_SPAN_NS: u64 = 1 << 21;

/// The engine's queue entry (`ordo_sim::Entry` is private; same fields, same order).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub time: u64,
    pub seq: u64,
    pub slot: u32,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed, as in the engine: BinaryHeap is a max-heap and we want the earliest first.
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A queue held at a steady depth.
pub struct SteadyHeap {
    heap: BinaryHeap<Entry>,
    seq: u64,
    state: u64,
}

impl SteadyHeap {
    /// `depth` pending entries at random times in the first delay span.
    pub fn new(depth: usize, seed: u64) -> SteadyHeap {
        let mut queue = SteadyHeap { heap: BinaryHeap::with_capacity(depth + 1), seq: 0, state: seed | 1 };
        for slot in 0..depth {
            let time = queue.delay();
            queue.seq += 1;
            queue.heap.push(Entry { time, seq: queue.seq, slot: slot as u32 });
        }
        queue
    }

    pub fn depth(&self) -> usize {
        self.heap.len()
    }

    /// xorshift64 (Marsaglia): a delay in `[1, DELAY_SPAN_NS]`.
    #[inline(always)]
    fn delay(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        (x & (DELAY_SPAN_NS - 1)) + 1
    }

    /// `steps` times: pop the earliest entry, push one later. Returns the last popped time
    /// (so the work cannot be optimised away).
    #[inline(never)]
    pub fn run(&mut self, steps: u64) -> u64 {
        let mut now = 0;
        for _ in 0..steps {
            let entry = self.heap.pop().expect("the depth is steady and positive");
            debug_assert!(entry.time >= now, "pops come in time order");
            now = entry.time;
            let time = now + self.delay();
            self.seq += 1;
            self.heap.push(Entry { time, seq: self.seq, slot: entry.slot });
        }
        now
    }
}
