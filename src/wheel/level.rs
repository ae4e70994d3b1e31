//! The math of one wheel level: which level and slot a tick belongs to, and
//! where the next occupied slot of a level starts.
//!
//! A tick is one unit of the wheel's resolution (1 ms by default). Level `L`
//! has 64 slots of `64^L` ticks each, so it spans `64^(L+1)` ticks:
//!
//! | level | slot spans   | level spans   | at 1 ms       |
//! |-------|--------------|---------------|---------------|
//! | 0     | 1 tick       | 64 ticks      | 64 ms         |
//! | 1     | 64           | 4 096         | ~4 s          |
//! | 2     | 4 096        | 262 144       | ~4.4 min      |
//! | 3     | 262 144      | 16 777 216    | ~4.7 h        |
//! | 4     | 16 777 216   | 2^30          | ~12.4 days    |
//! | 5     | 2^30         | 2^36          | ~2.18 years   |
//!
//! An entry goes to the level of the highest 6-bit group in which its tick
//! differs from `elapsed` (the wheel's current tick). So every entry of level
//! 0 lies in the same 64-tick block as `elapsed`, every entry of level 1 lies
//! in a later 64-tick block of the same 4096-tick block, and so on: **the
//! lowest occupied level always holds the earliest entries**, and within a
//! level the first occupied slot at or after `elapsed` does.
//!
//! Ticks further than [`MAX_TICKS`] ahead (beyond the horizon) are clamped to
//! `elapsed + MAX_TICKS` for filing: they are parked in the top level and
//! re-filed whenever their slot is processed. Entries keep their exact
//! deadline, so parking can only make the wheel look at an entry too soon,
//! never fire it early.

/// Bits of the tick consumed by one level (64 slots).
pub(crate) const LEVEL_BITS: u32 = 6;

/// Slots per level.
pub(crate) const SLOTS: usize = 1 << LEVEL_BITS;

/// Number of levels.
pub(crate) const NUM_LEVELS: usize = 6;

/// The furthest ahead of `elapsed` that a tick is filed exactly; further
/// ticks are parked at `elapsed + MAX_TICKS` (see the module doc).
pub(crate) const MAX_TICKS: u64 = (1 << (LEVEL_BITS as usize * NUM_LEVELS)) - 1;

/// Ticks covered by one slot of `level`.
pub(crate) const fn slot_range(level: usize) -> u64 {
    1 << (LEVEL_BITS as usize * level)
}

/// Ticks covered by the whole of `level`.
pub(crate) const fn level_range(level: usize) -> u64 {
    1 << (LEVEL_BITS as usize * (level + 1))
}

/// The level that an entry due at tick `when` is filed in, with the wheel at
/// tick `elapsed`. `when` must be in `elapsed..=elapsed + MAX_TICKS`.
#[inline]
pub(crate) fn level_for(elapsed: u64, when: u64) -> usize {
    // Or-ing in the low 6 bits makes level 0 the answer when the two ticks
    // differ only there (or not at all).
    let masked = (elapsed ^ when) | (SLOTS as u64 - 1);
    let significant = 63 - masked.leading_zeros() as usize;
    // `elapsed + MAX_TICKS` can carry into bit 36: such a tick belongs in the
    // top level all the same.
    (significant / LEVEL_BITS as usize).min(NUM_LEVELS - 1)
}

/// The slot of `level` that tick `when` falls in.
#[inline]
pub(crate) fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (LEVEL_BITS as usize * level)) % SLOTS as u64) as usize
}

/// The first tick of the first occupied slot of `level` at or after
/// `elapsed`, given the level's `occupied` bitmap, as `(slot, start tick)`.
///
/// Level 0 may hold entries in the slot of `elapsed` itself (entries of the
/// current tick whose exact deadline has not been reached yet); higher levels
/// never do, except for top-level slots that wrapped around (parked entries),
/// which start one whole level range later.
pub(crate) fn next_occupied(occupied: u64, level: usize, elapsed: u64) -> Option<(usize, u64)> {
    if occupied == 0 {
        return None;
    }
    let now_slot = slot_for(elapsed, level);
    // Level 0 searches from the slot of `elapsed` itself; higher levels from
    // the slot after it, so that their own slot (only ever holding wrapped,
    // parked entries) comes last.
    let first = if level == 0 {
        now_slot
    } else {
        (now_slot + 1) % SLOTS
    };
    let zeros = occupied.rotate_right(first as u32).trailing_zeros() as usize;
    let slot = (first + zeros) % SLOTS;
    let level_start = elapsed & !(level_range(level) - 1);
    // Saturating, as every sum near `u64::MAX` ticks (1 ns resolution).
    let mut start = level_start.saturating_add(slot as u64 * slot_range(level));
    if start < elapsed || (level > 0 && slot == now_slot) {
        // The slot lies a whole rotation ahead: this only happens in the top
        // level, whose slots act as a ring for parked entries.
        debug_assert_eq!(level, NUM_LEVELS - 1, "wrapped slot below the top level");
        start = start.saturating_add(level_range(level));
    }
    Some((slot, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(slot_range(0), 1);
        assert_eq!(slot_range(1), 64);
        assert_eq!(level_range(0), 64);
        assert_eq!(level_range(5), 1 << 36);
        assert_eq!(MAX_TICKS, (1 << 36) - 1);
        // The horizon at the default 1 ms resolution is over two years.
        let two_years_ms = 2 * 365 * 24 * 3600 * 1000u64;
        assert!(MAX_TICKS > two_years_ms);
    }

    #[test]
    fn level_for_each_boundary() {
        for elapsed in [0u64, 1, 63, 64, 100, 4095, 4096, 1 << 30, (1 << 36) + 5] {
            // Same tick and same 64-block: level 0.
            assert_eq!(level_for(elapsed, elapsed), 0);
            let block_end = (elapsed | 63) + 1;
            assert_eq!(level_for(elapsed, block_end - 1), 0, "elapsed {elapsed}");
            for level in 1..NUM_LEVELS {
                // The first tick of the next block of `level - 1` granularity
                // that still lies in the same block of `level` granularity is
                // at `level` (or above, when `elapsed` sits at the block end).
                let lo = (elapsed | (slot_range(level) - 1)) + 1;
                let got = level_for(elapsed, lo);
                let differs = 63 - ((elapsed ^ lo) | 63).leading_zeros() as usize;
                assert_eq!(got, (differs / 6).min(5));
                assert!(
                    got >= level,
                    "elapsed {elapsed} lo {lo} level {level} got {got}"
                );
                // The last tick of the current `level` block is at most `level`.
                let hi = elapsed | (level_range(level) - 1);
                assert!(level_for(elapsed, hi) <= level);
            }
        }
    }

    #[test]
    fn level_for_clamps_beyond_the_horizon() {
        for elapsed in [0u64, 5 << 30, (5 << 30) + 7, u64::MAX >> 2] {
            assert_eq!(level_for(elapsed, elapsed + MAX_TICKS), NUM_LEVELS - 1);
        }
    }

    #[test]
    fn slot_for_each_level() {
        assert_eq!(slot_for(0, 0), 0);
        assert_eq!(slot_for(63, 0), 63);
        assert_eq!(slot_for(64, 0), 0);
        assert_eq!(slot_for(64, 1), 1);
        assert_eq!(slot_for(4095, 1), 63);
        assert_eq!(slot_for(4096, 1), 0);
        assert_eq!(slot_for(4096, 2), 1);
        assert_eq!(slot_for(1 << 30, 5), 1);
        assert_eq!(slot_for((1 << 36) - 1, 5), 63);
        assert_eq!(slot_for(1 << 36, 5), 0);
    }

    #[test]
    fn next_occupied_finds_first_at_or_after_elapsed() {
        // Level 0: the slot of `elapsed` itself counts.
        let elapsed = 70; // slot 6 of the block starting at 64
        assert_eq!(next_occupied(1 << 6, 0, elapsed), Some((6, 70)));
        assert_eq!(next_occupied(1 << 9, 0, elapsed), Some((9, 73)));
        assert_eq!(next_occupied(0, 0, elapsed), None);
        // Level 1: slots after the current one.
        assert_eq!(next_occupied(1 << 3, 1, elapsed), Some((3, 192)));
        // Several bits: the first in rotation order from elapsed wins.
        assert_eq!(
            next_occupied((1 << 2) | (1 << 9), 0, elapsed),
            Some((9, 73))
        );
    }

    #[test]
    fn next_occupied_top_level_wraps() {
        let elapsed = (5u64 << 30) + 7;
        // The slot of elapsed itself, in the top level: a rotation ahead.
        let parked = elapsed + MAX_TICKS;
        let slot = slot_for(parked, 5);
        assert_eq!(slot, 5);
        let (s, start) = next_occupied(1 << slot, 5, elapsed).unwrap();
        assert_eq!(s, 5);
        assert_eq!(start, 69 << 30);
        assert!(start <= parked);
        // A slot "before" elapsed's slot: also a rotation ahead.
        let (_, start) = next_occupied(1 << 2, 5, elapsed).unwrap();
        assert_eq!(start, 66 << 30);
        // Elapsed's own slot comes after every other occupied slot.
        let (s, start) = next_occupied((1 << 5) | (1 << 6), 5, elapsed).unwrap();
        assert_eq!((s, start), (6, 6 << 30));
    }
}
