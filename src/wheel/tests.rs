//! Tests of the wheel as a data structure: examples at level boundaries, and
//! a model test against a `BTreeMap` reference.

use super::level::{MAX_TICKS, level_range, slot_range};
use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const MS: u64 = 1_000_000;

fn poll(w: &mut Wheel<u32>, now: u64) -> Vec<u32> {
    let mut due = Vec::new();
    w.poll(now, &mut due);
    let mut v: Vec<u32> = due.iter().map(|k| *w.get(*k)).collect();
    v.sort_unstable();
    v
}

#[test]
fn fires_at_exact_deadline_not_before() {
    let mut w = Wheel::new(MS);
    let k = w.insert(7);
    w.arm(k, 5 * MS + 300);
    assert_eq!(w.next_deadline(), Some(5 * MS + 300));
    assert!(poll(&mut w, 5 * MS + 299).is_empty(), "early");
    assert!(w.is_armed(k));
    assert_eq!(poll(&mut w, 5 * MS + 300), vec![7]);
    assert!(!w.is_armed(k));
    assert_eq!(w.armed(), 0);
    assert_eq!(w.next_deadline(), None);
    // Fired entries stay in the arena until removed.
    assert_eq!(w.len(), 1);
    assert_eq!(w.remove(k), (7, false));
    assert_eq!(w.len(), 0);
}

#[test]
fn insert_armed_files_like_insert_then_arm() {
    // Mixed in one slot: FIFO order and the list links must be the same
    // whichever way an entry was armed; removing from the middle keeps the
    // rest in order.
    let mut w = Wheel::new(MS);
    let a = w.insert(1);
    w.arm(a, 7 * MS);
    let b = w.insert_armed(2, 7 * MS);
    let c = w.insert_armed(3, 7 * MS);
    let d = w.insert(4);
    w.arm(d, 7 * MS);
    let never = w.insert_armed(5, NEVER);
    assert_eq!(w.armed(), 5);
    assert!(w.is_armed(never));
    assert_eq!(w.remove(b), (2, true));
    assert_eq!(poll(&mut w, 7 * MS - 1), Vec::<u32>::new(), "early");
    let mut due = Vec::new();
    w.poll(7 * MS, &mut due);
    let order: Vec<u32> = due.iter().map(|k| *w.get(*k)).collect();
    assert_eq!(order, vec![1, 3, 4], "FIFO");
    for k in [a, c, d] {
        assert!(!w.remove(k).1, "fired entries are unarmed");
    }
    assert_eq!(w.remove(never), (5, true));
    assert_eq!((w.len(), w.armed(), w.next_deadline()), (0, 0, None));
}

#[test]
fn partial_current_tick() {
    let mut w = Wheel::new(MS);
    let a = w.insert(1);
    let b = w.insert(2);
    w.arm(a, 3 * MS + 100);
    w.arm(b, 3 * MS + 900);
    assert_eq!(poll(&mut w, 3 * MS + 500), vec![1]);
    // The rest of the tick's slot is reported with its exact deadline.
    assert_eq!(w.next_deadline(), Some(3 * MS + 900));
    assert_eq!(poll(&mut w, 3 * MS + 899), Vec::<u32>::new());
    assert_eq!(poll(&mut w, 4 * MS), vec![2]);
    assert_eq!((w.remove(a), w.remove(b)), ((1, false), (2, false)));
}

#[test]
fn past_deadline_is_due_at_once() {
    let mut w = Wheel::new(MS);
    assert!(poll(&mut w, 100 * MS).is_empty());
    let k = w.insert(1);
    w.arm(k, 3 * MS);
    assert_eq!(w.next_deadline(), Some(3 * MS));
    assert_eq!(poll(&mut w, 100 * MS), vec![1]);
}

// Review 4: `poll`'s doc said a `now` earlier than a previous call's is
// treated as that call's, which would fire entries armed since then that
// are due at the earlier call's `now` but not at this one's. It never did.
#[test]
fn a_now_earlier_than_the_last_fires_nothing_not_due_at_it() {
    let mut w = Wheel::new(MS);
    assert!(poll(&mut w, 10 * MS + 700).is_empty());
    w.insert_armed(1, 10 * MS + 500);
    assert!(
        poll(&mut w, 10 * MS + 200).is_empty(),
        "due at 10.7 ms only"
    );
    w.insert_armed(2, 9 * MS + 800);
    assert!(poll(&mut w, 9 * MS + 500).is_empty(), "due at 10.7 ms only");
    assert_eq!(poll(&mut w, 10 * MS + 500), vec![1, 2]);
    assert_eq!(w.elapsed, 10);
}

#[test]
fn never_is_armed_but_not_filed() {
    let mut w = Wheel::new(MS);
    let k = w.insert(1);
    w.arm(k, NEVER);
    assert!(w.is_armed(k));
    assert_eq!(w.armed(), 1);
    assert_eq!(w.next_deadline(), None);
    assert!(poll(&mut w, u64::MAX - 1).is_empty());
    assert!(w.disarm(k));
    assert!(!w.disarm(k));
    assert_eq!(w.armed(), 0);
}

#[test]
fn each_level_boundary_fires_on_time() {
    // A deadline exactly at, just before and just after the start of each
    // level, from a few starting points.
    for start_ms in [0u64, 1, 63, 64, 4095, 123_456] {
        for level in 0..NUM_LEVELS {
            for delta in [-1i64, 0, 1] {
                let ticks = level_range(level) as i64 + delta;
                if ticks <= 0 {
                    continue;
                }
                let mut w = Wheel::new(MS);
                assert!(poll(&mut w, start_ms * MS).is_empty());
                let deadline = (start_ms + ticks as u64) * MS + 1;
                let k = w.insert(9);
                w.arm(k, deadline);
                // Jump straight to just before, then to the deadline.
                assert!(
                    poll(&mut w, deadline - 1).is_empty(),
                    "early at level {level}"
                );
                assert_eq!(poll(&mut w, deadline), vec![9], "lost at level {level}");
                // The driver's view: each wake-up target is never past the
                // deadline and the wheel never needs more than a few.
                let mut w = Wheel::new(MS);
                w.poll(start_ms * MS, &mut Vec::new());
                let k = w.insert(9);
                w.arm(k, deadline);
                let mut wakes = 0;
                loop {
                    let t = w.next_deadline().expect("armed entry must be reported");
                    assert!(t <= deadline, "next_deadline {t} past deadline {deadline}");
                    wakes += 1;
                    let got = poll(&mut w, t);
                    if !got.is_empty() {
                        assert_eq!(t, deadline);
                        break;
                    }
                    assert!(wakes <= 2 * NUM_LEVELS, "too many wake-ups");
                }
            }
        }
    }
}

#[test]
fn sleeps_to_exact_deadline_of_far_timers() {
    // An hour away at 1 ms: the driver is told the exact deadline at once,
    // so it needs one wake-up, not one per cascade.
    let mut w = Wheel::new(MS);
    let k = w.insert(1);
    let hour = 3_600_000 * MS + 17;
    w.arm(k, hour);
    assert_eq!(w.next_deadline(), Some(hour));
    assert_eq!(poll(&mut w, hour), vec![1]);
}

#[test]
fn beyond_the_horizon_is_parked_and_never_early() {
    let mut w = Wheel::new(MS);
    let far = (3 * MAX_TICKS + 12_345) * MS;
    let k = w.insert(1);
    w.arm(k, far);
    let mut now = 0;
    let mut steps = 0;
    loop {
        let t = w.next_deadline().unwrap();
        assert!(t > now && t <= far);
        now = t;
        let got = poll(&mut w, now);
        steps += 1;
        if !got.is_empty() {
            assert_eq!(now, far);
            break;
        }
        assert!(steps < 100);
    }
}

#[test]
fn keys_where_names_live_entries_with_their_generation() {
    let mut w = Wheel::new(MS);
    let keys: Vec<_> = (0..10u32).map(|i| w.insert(i)).collect();
    // Free slot 4 and reuse it: the new entry gets a new generation.
    w.remove(keys[4]);
    let again = w.insert(40);
    let even = w.keys_where(|v| v % 2 == 0);
    let mut want = vec![keys[0], keys[2], keys[6], keys[8], again];
    want.sort_by_key(|k| *w.get(*k));
    let mut got = even.clone();
    got.sort_by_key(|k| *w.get(*k));
    assert_eq!(got, want);
    assert!(!even.contains(&keys[4]), "the freed key is not named");
    for k in even {
        w.remove(k);
    }
    assert_eq!(w.keys_where(|_| true).len(), 5);
}

#[test]
fn cancel_is_o1_and_updates_counts() {
    let mut w = Wheel::new(MS);
    let keys: Vec<_> = (0..1000u32)
        .map(|i| {
            let k = w.insert(i);
            w.arm(k, u64::from(i) * 7 * MS);
            k
        })
        .collect();
    assert_eq!(w.armed(), 1000);
    for k in keys.iter().step_by(2) {
        assert!(w.disarm(*k));
    }
    assert_eq!(w.armed(), 500);
    let fired = poll(&mut w, 10_000 * MS);
    assert_eq!(fired, (0..1000).filter(|i| i % 2 == 1).collect::<Vec<_>>());
}

#[test]
#[should_panic(expected = "stale wheel key")]
fn stale_key_panics() {
    let mut w = Wheel::new(MS);
    let k = w.insert(1);
    w.remove(k);
    let _k2 = w.insert(2); // reuses the index with a new generation
    w.arm(k, 5);
}

#[test]
fn equal_deadlines_fire_in_arming_order() {
    // Across a cascade from level 2 down to level 0, and within one tick.
    let mut w = Wheel::new(MS);
    let deadline = 5_000 * MS + 7;
    let keys: Vec<Key> = (0..10u32)
        .map(|i| {
            let k = w.insert(i);
            w.arm(k, deadline);
            k
        })
        .collect();
    // Disarm and re-arm one: it goes to the back.
    w.arm(keys[3], deadline);
    let mut due = Vec::new();
    let mut now = 0;
    while due.is_empty() {
        now = w.next_deadline().unwrap();
        w.poll(now, &mut due);
    }
    assert_eq!(now, deadline);
    let order: Vec<u32> = due.iter().map(|k| *w.get(*k)).collect();
    assert_eq!(order, vec![0, 1, 2, 4, 5, 6, 7, 8, 9, 3]);
}

#[test]
fn slot_range_sanity() {
    assert_eq!(slot_range(2), 4096);
}

/// One step of a random wheel workload.
#[derive(Clone, Debug)]
enum Op {
    /// Insert and arm at `now + delay`: in two steps (`insert`, `arm`) if
    /// the flag is set, else in one (`insert_armed`, the handles' path).
    Insert(u64, bool),
    /// Re-arm the n-th live entry at `now + delay` (reset).
    Rearm(usize, u64),
    /// Disarm the n-th live entry (stop).
    Disarm(usize),
    /// Remove the n-th live entry (drop).
    Remove(usize),
    /// Advance by this many nanoseconds and poll.
    Advance(u64),
    /// Advance to the wheel's own next deadline and poll (the driver).
    AdvanceToNext,
}

/// Delays that hit the interesting places: within a tick, level
/// boundaries, years, beyond the horizon, never.
fn delay() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..3 * MS,
        0..200 * MS,
        (0..NUM_LEVELS, -2i64..=2)
            .prop_map(|(l, d)| (level_range(l) as i64 * MS as i64 + d).max(0) as u64),
        0..(MAX_TICKS * MS * 3),
        Just(NEVER),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (delay(), any::<bool>()).prop_map(|(d, two)| Op::Insert(d, two)),
        2 => (any::<usize>(), delay()).prop_map(|(i, d)| Op::Rearm(i, d)),
        1 => any::<usize>().prop_map(Op::Disarm),
        1 => any::<usize>().prop_map(Op::Remove),
        3 => prop_oneof![0..2 * MS, 0..100 * MS, 0..(level_range(4) * MS), 0..(MAX_TICKS * MS * 2)]
            .prop_map(Op::Advance),
        2 => Just(Op::AdvanceToNext),
    ]
}

/// The wheel against a reference: a map from id to deadline of armed
/// entries. After every step: nothing fires early, nothing due is left
/// behind, nothing fires twice, cancel removes, and `next_deadline` is never
/// later than the earliest armed deadline.
/// The wheel has resolution `resolution` ns and first polls at `start`.
fn check(resolution: u64, start: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut w: Wheel<u32> = Wheel::new(resolution);
    let mut live: Vec<(u32, Key)> = Vec::new();
    let mut model: BTreeMap<u32, u64> = BTreeMap::new();
    let mut now = start.min(NEVER - 1);
    step(&mut w, &mut model, now)?;
    let mut next_id = 0u32;
    for op in ops {
        match op {
            Op::Insert(d, two_steps) => {
                let deadline = if d == NEVER {
                    NEVER
                } else {
                    now.saturating_add(d).min(NEVER - 1)
                };
                let k = if two_steps {
                    let k = w.insert(next_id);
                    w.arm(k, deadline);
                    k
                } else {
                    w.insert_armed(next_id, deadline)
                };
                model.insert(next_id, deadline);
                live.push((next_id, k));
                next_id += 1;
            }
            Op::Rearm(i, d) if !live.is_empty() => {
                let (id, k) = live[i % live.len()];
                let deadline = if d == NEVER {
                    NEVER
                } else {
                    now.saturating_add(d).min(NEVER - 1)
                };
                w.arm(k, deadline);
                model.insert(id, deadline);
            }
            Op::Disarm(i) if !live.is_empty() => {
                let (id, k) = live[i % live.len()];
                prop_assert_eq!(w.disarm(k), model.remove(&id).is_some());
            }
            Op::Remove(i) if !live.is_empty() => {
                let (id, k) = live.swap_remove(i % live.len());
                prop_assert_eq!(w.remove(k), (id, model.contains_key(&id)));
                model.remove(&id);
            }
            Op::Advance(d) => {
                // At most 256 turns of the top level at once: a poll re-files
                // a parked entry once per turn it jumps, which at 1 ns
                // resolution and a jump of centuries is 2^28 times.
                let d = d.min(resolution.saturating_mul(MAX_TICKS << 8));
                now = now.saturating_add(d).min(NEVER - 1);
                step(&mut w, &mut model, now)?;
            }
            Op::AdvanceToNext => {
                if let Some(t) = w.next_deadline() {
                    now = now.max(t);
                    step(&mut w, &mut model, now)?;
                }
            }
            _ => {}
        }
        prop_assert_eq!(w.armed(), model.len());
        prop_assert_eq!(w.len(), live.len());
        // The driver sleeps until next_deadline: it must not be past the
        // earliest armed finite deadline, and must exist if one does.
        let earliest = model.values().copied().filter(|&d| d != NEVER).min();
        match (earliest, w.next_deadline()) {
            (Some(e), Some(n)) => prop_assert!(n <= e.max(now), "next {} after earliest {}", n, e),
            (Some(e), None) => prop_assert!(false, "armed deadline {} not reported", e),
            (None, _) => {}
        }
    }
    Ok(())
}

fn step(w: &mut Wheel<u32>, model: &mut BTreeMap<u32, u64>, now: u64) -> Result<(), TestCaseError> {
    let mut due = Vec::new();
    w.poll(now, &mut due);
    let mut fired: Vec<u32> = due.iter().map(|k| *w.get(*k)).collect();
    fired.sort_unstable();
    let mut expected: Vec<u32> = model
        .iter()
        .filter(|(_, d)| **d <= now)
        .map(|(id, _)| *id)
        .collect();
    expected.sort_unstable();
    prop_assert_eq!(&fired, &expected, "at now = {}", now);
    for id in &expected {
        model.remove(id);
    }
    // Progress: after a poll, the wheel never asks to be looked at again at
    // or before the same instant (the driver would spin).
    if let Some(t) = w.next_deadline() {
        prop_assert!(t > now, "next_deadline {} not after now {}", t, now);
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn wheel_matches_reference_model(ops in proptest::collection::vec(op(), 1..100)) {
        check(MS, 0, ops)?;
    }

    #[test]
    fn wheel_matches_reference_model_at_any_resolution_and_start(
        resolution in extreme_resolution(),
        start in extreme_start(),
        ops in proptest::collection::vec(extreme_op(), 1..60),
    ) {
        check(resolution, start, ops)?;
    }
}

// Extreme values (after a review that found an overflow at 1 ns resolution
// near `u64::MAX` ticks): any resolution, a start anywhere up to the end of
// the nanosecond range, and delays of every magnitude.

fn extreme_resolution() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(1u64),
        Just(3),
        Just(1000),
        Just(MS),
        Just(MS + 1),
        Just(1_000_000_000),
        Just(u64::MAX / 2),
        Just(u64::MAX),
        1..u64::MAX,
    ]
}

fn extreme_start() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        any::<u64>(),
        (0..(1u64 << 40)).prop_map(|s| NEVER - 1 - s),
    ]
}

fn extreme_delay() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..200u64,
        0..3 * MS,
        0..(1u64 << 40),
        any::<u64>(),
        (0..64u32).prop_map(|b| 1u64 << b),
        Just(NEVER - 1),
        Just(NEVER),
    ]
}

fn extreme_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (extreme_delay(), any::<bool>()).prop_map(|(d, two)| Op::Insert(d, two)),
        2 => (any::<usize>(), extreme_delay()).prop_map(|(i, d)| Op::Rearm(i, d)),
        1 => any::<usize>().prop_map(Op::Disarm),
        1 => any::<usize>().prop_map(Op::Remove),
        3 => extreme_delay().prop_map(Op::Advance),
        3 => Just(Op::AdvanceToNext),
    ]
}
