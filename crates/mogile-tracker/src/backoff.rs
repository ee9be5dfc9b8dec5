//! The capped, jittered delay before trying trackers again when every one is inactive.

use std::time::Duration;

use rand::Rng;

/// The delay before retry round `round` (1 for the first repeat): an exponential step
/// `base * 2^(round - 1)`, capped at `cap`, of which the upper half is random ("equal jitter":
/// never zero, so clients that failed together do not hammer a recovering tracker together).
pub(crate) fn delay(base: Duration, cap: Duration, round: u32, rng: &mut impl Rng) -> Duration {
    let exponent = round.saturating_sub(1).min(31);
    let step = base
        .checked_mul(1u32 << exponent)
        .map_or(cap, |step| step.min(cap));
    let half = step / 2;
    let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(rng.random_range(0..=jitter_nanos))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn grows_then_stays_capped_with_jitter_in_the_upper_half() {
        let mut rng = StdRng::seed_from_u64(7);
        let base = Duration::from_millis(50);
        let cap = Duration::from_secs(1);
        for (round, step) in [(1, 50), (2, 100), (3, 200), (4, 400), (5, 800), (6, 1000)] {
            let step = Duration::from_millis(step);
            for _ in 0..50 {
                let d = delay(base, cap, round, &mut rng);
                assert!(d >= step / 2 && d <= step, "round {round}: {d:?}");
            }
        }
        assert!(delay(base, cap, u32::MAX, &mut rng) <= cap);
    }

    #[test]
    fn same_seed_same_delays() {
        let mut a = StdRng::seed_from_u64(1);
        let mut b = StdRng::seed_from_u64(1);
        let base = Duration::from_millis(10);
        let cap = Duration::from_secs(1);
        for round in 1..10 {
            assert_eq!(
                delay(base, cap, round, &mut a),
                delay(base, cap, round, &mut b)
            );
        }
    }
}
