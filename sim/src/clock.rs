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

    /// How much true time a local duration of `local_ns` takes on this clock: at least
    /// 1 ns for any positive duration (a timer always lies in the future, so a re-armed
    /// timer cannot fire again at the same instant), rounded down on a fast clock (its
    /// timers fire early, never late) and up on a slow one (late, never early), and
    /// saturating at `u64::MAX` on a very slow clock.
    #[inline]
    pub fn true_duration(&self, local_ns: u64) -> u64 {
        if self.drift_ppm == 0 || local_ns == 0 {
            return local_ns;
        }
        let rate = (1_000_000 + i128::from(self.drift_ppm)).max(1);
        let scaled = i128::from(local_ns) * 1_000_000;
        let true_ns = if self.drift_ppm > 0 { scaled / rate } else { (scaled + rate - 1) / rate };
        u64::try_from(true_ns).unwrap_or(u64::MAX).max(1)
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

    #[test]
    fn positive_delays_take_true_time_and_round_the_right_way() {
        for drift_ppm in [-500_000, -1_000, -20, -1, 1, 20, 1_000, 500_000] {
            let clock = Clock { offset_ns: 0, drift_ppm };
            for local in [1u64, 2, 3, 999, 1_000_000, 123_456_789, u64::MAX / 4] {
                let true_ns = clock.true_duration(local);
                assert!(true_ns >= 1, "{drift_ppm} ppm: {local} local ns took no true time");
                // The exact true duration is local × 10⁶ / (10⁶ + drift).
                let exact_num = u128::from(local) * 1_000_000;
                let rate = (1_000_000 + i64::from(drift_ppm)) as u128;
                if drift_ppm > 0 {
                    // Fast: never later than exact (unless it had to be 1 ns).
                    assert!(true_ns == 1 || u128::from(true_ns) * rate <= exact_num, "{drift_ppm} {local}");
                    assert!(true_ns <= local);
                } else {
                    // Slow: never earlier than exact.
                    assert!(u128::from(true_ns) * rate >= exact_num, "{drift_ppm} {local}");
                    assert!(true_ns >= local);
                }
            }
        }
        assert_eq!(Clock { offset_ns: 0, drift_ppm: 20 }.true_duration(0), 0);
        assert_eq!(Clock { offset_ns: 0, drift_ppm: -500_000 }.true_duration(u64::MAX), u64::MAX);
    }
}
