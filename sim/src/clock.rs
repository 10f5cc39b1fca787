//! Local clocks: what a node believes the time is, as opposed to true simulated time.
//!
//! `local = true + true × drift_ppm / 10⁶ + offset`, where a step (an NTP jump, forwards
//! or backwards) changes `offset`. Local clocks are wall clocks: they can jump backwards.
//! Timers are not set on them: a timer of `d` nanoseconds fires after `d` nanoseconds of
//! the node's *monotonic* time, which runs at the drifted rate but never steps (as Java's
//! `nanoTime` or Linux's `CLOCK_MONOTONIC` do).

/// One node's clock model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    /// Added to true time, nanoseconds (may be negative).
    pub offset_ns: i64,
    /// Rate error in parts per million: +100 runs 100 µs per second fast.
    pub drift_ppm: i32,
}

impl Clock {
    /// The local reading at true time `true_ns`.
    #[inline]
    pub fn read(&self, true_ns: u64) -> i64 {
        if self.drift_ppm == 0 {
            return (true_ns as i64).saturating_add(self.offset_ns);
        }
        let drift = (i128::from(true_ns) * i128::from(self.drift_ppm)) / 1_000_000;
        (i128::from(true_ns) + drift + i128::from(self.offset_ns)) as i64
    }

    /// How much true time a local duration of `local_ns` takes on this clock.
    #[inline]
    pub fn true_duration(&self, local_ns: u64) -> u64 {
        if self.drift_ppm == 0 {
            return local_ns;
        }
        let rate = 1_000_000 + i128::from(self.drift_ppm);
        let scaled = (i128::from(local_ns) * 1_000_000) / rate.max(1);
        scaled.max(0) as u64
    }

    /// Steps the clock by `delta_ns` (an NTP correction; negative jumps backwards).
    pub fn step(&mut self, delta_ns: i64) {
        self.offset_ns = self.offset_ns.saturating_add(delta_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_clock_reads_true_time() {
        assert_eq!(Clock::default().read(12_345), 12_345);
        assert_eq!(Clock::default().true_duration(10), 10);
    }

    #[test]
    fn offset_drift_and_steps() {
        let mut clock = Clock { offset_ns: -5_000, drift_ppm: 100 };
        // After one true second the clock has gained 100 µs on top of its offset.
        assert_eq!(clock.read(1_000_000_000), 1_000_000_000 + 100_000 - 5_000);
        clock.step(-2_000_000_000);
        assert!(clock.read(1_000_000_000) < 0, "a backwards step can go below zero");
        // A fast clock's 1 ms timer fires a little earlier in true time.
        assert!(clock.true_duration(1_000_000) < 1_000_000);
    }
}
