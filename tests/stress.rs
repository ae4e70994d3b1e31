//! Stress tests: races between firing and `stop`/`reset`, many receivers on
//! one ticker, floods of zero-duration timers, random interleavings of
//! `reset` and `stop`, and delivery order. Modelled on Go's
//! `time/sleep_test.go` (each ported test names its Go original).
//!
//! Default sizes finish in a few seconds in a debug build. Bigger runs:
//! `TICKWHEEL_STRESS=full` runs the sizes of issue 7 (for example 1,000,000
//! zero-duration timers), `TICKWHEEL_STRESS_SCALE=n` multiplies whichever
//! sizes are chosen by `n`, and `TICKWHEEL_SEED=s` replays the random tests
//! with seed `s` (the seed is printed in every failure message). See
//! `docs/reliability.md`.

use crossbeam_channel::{RecvTimeoutError, TryRecvError, select};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use tickwheel::{Driver, Handle, ManualClock, Timer};

mod common;
use common::{HANG, SLOTS, real_driver, settled_stats};

/// The size of a test: `default` normally, `full` with
/// `TICKWHEEL_STRESS=full`, either multiplied by `TICKWHEEL_STRESS_SCALE`.
fn size(default: usize, full: usize) -> usize {
    let base = match std::env::var("TICKWHEEL_STRESS").as_deref() {
        Ok("full") => full,
        _ => default,
    };
    let scale = std::env::var("TICKWHEEL_STRESS_SCALE")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1);
    base * scale.max(1)
}

/// The seed of the random tests: `TICKWHEEL_SEED`, or the clock.
fn seed() -> u64 {
    std::env::var("TICKWHEEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// SplitMix64: a tiny, good-enough generator, so the tests need no `rand`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

/// Lets `d` pass without sleeping (a sleep's slack is tens of µs), yielding
/// so that on 2 cores the driver and receiver threads still get to run.
/// This picks a random point in a race; it synchronises nothing.
fn pause(d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        thread::yield_now();
    }
}

/// Prints a test's size and running time when it passes (shown with
/// `--nocapture`; docs/reliability.md quotes these lines).
struct Figure {
    test: &'static str,
    size: String,
    started: Instant,
}

impl Figure {
    fn new(test: &'static str, size: String) -> Figure {
        Figure {
            test,
            size,
            started: Instant::now(),
        }
    }
}

impl Drop for Figure {
    fn drop(&mut self) {
        if !thread::panicking() {
            eprintln!(
                "[figure] {}: {} in {:.2?}",
                self.test,
                self.size,
                self.started.elapsed()
            );
        }
    }
}

/// Whichever of two short timers fires first, `stop` (or `reset`) on the
/// other returns false only if a value really is receivable, and true only
/// if none will ever be. (With Go 1.23 semantics an unreceived value is
/// withdrawn, so here both usually return true; the test guards against a
/// hang or a stale value. `stop_races_a_blocked_receiver` covers the false
/// side.)
///
/// Ported from Go's time/sleep_test.go testStopResetResult (issue 69312).
///
/// `hedge` extra driver threads (`Builder::hedge_threads`): with them, two
/// threads may wake for the deadline the pair shares and both step.
fn stop_or_reset_races_fire(use_stop: bool, hedge: usize) {
    let driver = Driver::builder()
        .thread_name("stress-race")
        .hedge_threads(hedge)
        .build()
        .expect("start driver");
    let threads = size(8, 100);
    let rounds = size(100, 1000);
    let name = match (use_stop, hedge) {
        (true, 0) => "stop race",
        (false, 0) => "reset race",
        (true, _) => "stop race, hedged driver",
        (false, _) => "reset race, hedged driver",
    };
    let _fig = Figure::new(name, format!("{threads} threads x {rounds} rounds"));
    let start = Arc::new(Barrier::new(threads));
    let prevented = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let h = driver.handle();
            let (start, prevented, received) =
                (start.clone(), prevented.clone(), received.clone());
            thread::spawn(move || {
                start.wait();
                for j in 0..rounds {
                    // Even rounds: one shared deadline, so both are usually
                    // collected in the same driver step and the second one is
                    // mid-delivery or in its channel when stopped. Odd
                    // rounds: deadlines a few hundred ns apart.
                    let (a, b) = if j % 2 == 0 {
                        let at = h.now() + Duration::from_millis(1);
                        (h.timer_at(at), h.timer_at(at))
                    } else {
                        (
                            h.timer(Duration::from_millis(1)),
                            h.timer(Duration::from_millis(1)),
                        )
                    };
                    let other = select! {
                        recv(a.receiver()) -> v => { v.expect("a delivered"); &b }
                        recv(b.receiver()) -> v => { v.expect("b delivered"); &a }
                        default(HANG) => panic!("thread {t} round {j}: neither timer fired"),
                    };
                    let result = if use_stop {
                        other.stop()
                    } else {
                        other.reset(Duration::from_secs(3600))
                    };
                    if result {
                        // Prevented: nothing is receivable now, nor later.
                        assert_eq!(
                            other.try_recv(),
                            Err(TryRecvError::Empty),
                            "thread {t} round {j}: a value arrived after stop/reset returned true"
                        );
                        prevented.fetch_add(1, Relaxed);
                    } else {
                        // Not prevented: the value must be receivable; this
                        // is the receive that hangs in the bug Go fixed.
                        other.recv_timeout(HANG).unwrap_or_else(|e| {
                            panic!("thread {t} round {j}: stop/reset returned false but no value ({e:?})")
                        });
                        assert_eq!(other.try_recv(), Err(TryRecvError::Empty));
                        received.fetch_add(1, Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker panicked");
    }
    let (p, r) = (prevented.load(Relaxed), received.load(Relaxed));
    assert_eq!(p + r, (threads * rounds) as u64);
    let stats = driver.handle().stats();
    assert_eq!(stats.pending, 0, "{stats}");
    assert_eq!(stats.timers, 0, "{stats}");
    eprintln!("{name}: {threads} threads x {rounds} rounds: {p} prevented, {r} received");
}

#[test]
fn stop_result_matches_receivability() {
    stop_or_reset_races_fire(true, 0);
}

#[test]
fn reset_result_matches_receivability() {
    stop_or_reset_races_fire(false, 0);
}

#[test]
fn stop_result_matches_receivability_with_a_hedge_thread() {
    stop_or_reset_races_fire(true, 1);
}

#[test]
fn reset_result_matches_receivability_with_a_hedge_thread() {
    stop_or_reset_races_fire(false, 1);
}

/// One fast ticker shared by 8 receiver threads, each taking 100 ticks: no
/// deadlock, no tick delivered twice, every tick on the grid.
///
/// Ported from Go's time/sleep_test.go TestTickerConcurrentStress.
#[test]
fn ticker_shared_by_eight_receivers() {
    let driver = real_driver("stress-ticker");
    let period = Duration::from_micros(10);
    let ticker = driver.handle().ticker(period);
    let per_thread = size(100, 10_000);
    let _fig = Figure::new("ticker x8", format!("8 receivers x {per_thread} ticks"));
    let seen: Vec<Vec<Instant>> = thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|t| {
                let ticker = &ticker;
                s.spawn(move || {
                    (0..per_thread)
                        .map(|i| {
                            ticker.recv_timeout(HANG).unwrap_or_else(|e| {
                                panic!("receiver {t}: tick {i} never came ({e:?})")
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("receiver panicked"))
            .collect()
    });
    for (t, ticks) in seen.iter().enumerate() {
        assert!(
            ticks.windows(2).all(|w| w[0] < w[1]),
            "receiver {t} saw ticks out of order"
        );
    }
    let mut all: Vec<Instant> = seen.into_iter().flatten().collect();
    all.sort();
    let total = all.len();
    all.dedup();
    assert_eq!(all.len(), total, "a tick was delivered twice");
    assert_eq!(total, 8 * per_thread);
    let first = all[0];
    for &t in &all {
        assert_eq!(
            (t - first).as_nanos() % period.as_nanos(),
            0,
            "tick off the grid"
        );
    }
}

/// Several threads select on one 1 µs ticker or a fresh 1 ms timer, over and
/// over, while the driver is saturated by the ticker.
///
/// Ported from Go's time/sleep_test.go TestMultiWakeupTicker.
#[test]
fn many_threads_wake_on_one_ticker() {
    let driver = real_driver("stress-multi-ticker");
    let h = driver.handle();
    let ticker = h.ticker(Duration::from_micros(1));
    let iterations = size(1000, 100_000);
    let _fig = Figure::new("multi-wakeup ticker", format!("4 threads x {iterations}"));
    let ticks = AtomicU64::new(0);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..iterations {
                    let timeout = h.timer(Duration::from_millis(1));
                    select! {
                        recv(ticker.receiver()) -> v => { v.unwrap(); ticks.fetch_add(1, Relaxed); }
                        recv(timeout.receiver()) -> v => { v.unwrap(); }
                        default(HANG) => panic!("neither the ticker nor a 1 ms timer fired"),
                    }
                }
            });
        }
    });
    drop(ticker);
    let stats = h.stats();
    assert!(ticks.load(Relaxed) > 0, "no tick received: {stats}");
    assert_eq!((stats.pending, stats.timers, stats.tickers), (0, 0, 0));
}

/// Several threads reset one shared timer to 1 ns and poll it. This is where
/// an "armed timer's channel is never full" slip would show (the driver
/// debug-asserts it, and a dead driver fails the check at the end).
///
/// Ported from Go's time/sleep_test.go TestMultiWakeupTimer.
#[test]
fn many_threads_reset_one_timer() {
    let driver = real_driver("stress-multi-timer");
    let h = driver.handle();
    let timer = h.timer(Duration::from_nanos(1));
    let iterations = size(2000, 100_000);
    let _fig = Figure::new("multi-reset timer", format!("4 threads x {iterations}"));
    let got = AtomicU64::new(0);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..iterations {
                    if timer.try_recv().is_ok() {
                        got.fetch_add(1, Relaxed);
                    }
                    timer.reset(Duration::from_nanos(1));
                }
            });
        }
    });
    // The timer is armed (or fired) after the last reset: it must deliver.
    timer.recv_timeout(HANG).expect("last arming delivered");
    // And the driver is still alive.
    h.timer(Duration::from_millis(1))
        .recv_timeout(HANG)
        .expect("driver alive after the storm");
    eprintln!(
        "4 threads x {iterations} resets of one timer: {} values received",
        got.load(Relaxed)
    );
}

/// Zero-duration timers, one after another: each delivered promptly (Go's
/// bound: 2 s), none missed.
///
/// Ported from Go's time/sleep_test.go TestZeroTimer (issue 44868), all
/// three of its variants: new timers ("chan"), a callback sending on a
/// channel ("func") and one timer reset over and over ("cache").
#[test]
fn zero_duration_timers_are_never_missed() {
    let driver = real_driver("stress-zero");
    let h = driver.handle();
    let n = size(20_000, 1_000_000);
    let _fig = Figure::new(
        "zero timers",
        format!("{n} new + {n} reset + {} callbacks", n / 10),
    );
    let bound = Duration::from_secs(2);
    let started = Instant::now();
    let mut worst = Duration::ZERO;

    // impl=chan
    for i in 0..n {
        let s = Instant::now();
        let t = h.timer(Duration::ZERO);
        t.recv_timeout(HANG)
            .unwrap_or_else(|e| panic!("zero timer {i} missed ({e:?})"));
        worst = worst.max(s.elapsed());
    }
    // impl=cache: one timer, reset to zero each time. Its value was received,
    // so reset must report that it prevented nothing.
    let cached = h.timer(Duration::from_secs(3600));
    assert!(cached.stop());
    for i in 0..n {
        let s = Instant::now();
        assert!(!cached.reset(Duration::ZERO), "reset {i} returned true");
        cached
            .recv_timeout(HANG)
            .unwrap_or_else(|e| panic!("reset-to-zero {i} missed ({e:?})"));
        worst = worst.max(s.elapsed());
    }
    // impl=func: fewer, since each also runs a closure on the callback thread.
    let (tx, rx) = crossbeam_channel::bounded(1);
    for i in 0..n / 10 {
        let s = Instant::now();
        let tx = tx.clone();
        let cb = h.after_func(Duration::ZERO, move || tx.send(i).unwrap());
        assert_eq!(rx.recv_timeout(HANG), Ok(i), "zero callback {i} missed");
        drop(cb);
        worst = worst.max(s.elapsed());
    }
    // Counters are updated just after the values they count are sent, so
    // `fired` may trail the last receive by a moment.
    let stats = settled_stats(&h, |st| st.fired >= (2 * n + n / 10) as u64);
    assert_eq!(stats.fired, (2 * n + n / 10) as u64, "{stats}");
    assert!(
        worst <= bound,
        "a zero-duration timer took {worst:?} (bound {bound:?})"
    );
    eprintln!(
        "{n} zero timers + {n} zero resets + {} zero callbacks in {:?}, worst {worst:?}",
        n / 10,
        started.elapsed()
    );
}

/// Zero-duration timers while another thread keeps the wheel lock busy with
/// create/drop churn.
///
/// Ported from Go's time/sleep_test.go TestSleepZeroDeadlock, with the
/// garbage collector's churn replaced by churn on the wheel lock.
#[test]
fn zero_timers_under_wheel_lock_churn() {
    let driver = real_driver("stress-zero-churn");
    let h = driver.handle();
    let stop = AtomicBool::new(false);
    let n = size(2000, 100_000);
    let _fig = Figure::new("zero timers under churn", format!("{n} timers"));
    thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0u64;
            while !stop.load(Relaxed) {
                let far = h.timer(Duration::from_secs(3600 + i % 1000));
                let near = h.timer(Duration::from_micros(i % 50));
                drop((far, near));
                i += 1;
            }
        });
        for i in 0..n {
            let t = h.timer(Duration::ZERO);
            let got = t.recv_timeout(HANG);
            if got.is_err() {
                stop.store(true, Relaxed);
                panic!("zero timer {i} missed under churn");
            }
        }
        stop.store(true, Relaxed);
    });
    let stats = h.stats();
    assert_eq!((stats.pending, stats.timers), (0, 0), "{stats}");
}

/// Random interleavings of reset to long deadlines, stop and reset(0) on 100
/// timers, on the real clock: every return value is exactly what Go
/// specifies, and reset(0) after the long resets fires promptly.
///
/// Ported from Go's time/sleep_test.go TestAdjustTimers (issue 47762).
#[test]
fn random_long_and_short_resets_on_100_timers() {
    let seed = seed();
    let mut rng = Rng(seed);
    let driver = real_driver("stress-adjust");
    let h = driver.handle();
    let passes = size(5, 200);
    let _fig = Figure::new("adjust timers", format!("{passes} passes x 100 timers"));
    let prompt = Duration::from_secs(2);
    let mut worst = Duration::ZERO;
    for pass in 0..passes {
        let mut timers: Vec<Option<Timer>> = (0..100).map(|_| None).collect();
        let mut states = [0u32; 100];
        let mut live: Vec<usize> = (0..100).collect();
        rng.shuffle(&mut live);
        while !live.is_empty() {
            let ii = rng.below(live.len() as u64) as usize;
            let i = live[ii];
            let state = states[i];
            states[i] += 1;
            let ctx = || format!("seed {seed} pass {pass} timer {i} state {state}");
            match state {
                0 => timers[i] = Some(h.timer(Duration::ZERO)),
                1 => {
                    let t = timers[i].as_ref().unwrap();
                    t.recv_timeout(HANG)
                        .unwrap_or_else(|e| panic!("{}: zero timer missed ({e:?})", ctx()));
                }
                // Long resets of an idle (received or stopped) timer: nothing
                // to prevent.
                2 | 4 | 6 => {
                    let long = Duration::from_secs(60 * u64::from(1 + state % 3));
                    let t = timers[i].as_ref().unwrap();
                    assert!(!t.reset(long), "{}: reset of an idle timer", ctx());
                }
                // Stop of a long-armed timer: always prevents, and leaves
                // nothing to receive.
                3 | 5 | 7 => {
                    let t = timers[i].as_ref().unwrap();
                    assert!(t.stop(), "{}: stop of an armed timer", ctx());
                    assert_eq!(t.try_recv(), Err(TryRecvError::Empty), "{}", ctx());
                }
                8 => {
                    let t = timers[i].as_ref().unwrap();
                    assert!(!t.reset(Duration::ZERO), "{}: reset(0) after stop", ctx());
                }
                9 => {
                    let t = timers[i].as_ref().unwrap();
                    let s = Instant::now();
                    t.recv_timeout(HANG)
                        .unwrap_or_else(|e| panic!("{}: reset(0) never fired ({e:?})", ctx()));
                    worst = worst.max(s.elapsed());
                }
                _ => {
                    timers[i] = None;
                    live.swap_remove(ii);
                }
            }
        }
    }
    assert!(
        worst <= prompt,
        "seed {seed}: reset(0) took {worst:?} to fire (bound {prompt:?})"
    );
    let stats = h.stats();
    assert_eq!((stats.pending, stats.timers), (0, 0), "{stats}");
}

/// What a timer should hold, in the reference model.
#[derive(Clone, Copy, Debug, Default)]
struct Model {
    /// Armed at this deadline (ns of virtual time).
    armed: Option<u64>,
    /// Fired, value not yet received: the deadline it carries.
    pending: Option<u64>,
}

/// Random stop / reset (long, short, zero, past) / receive / advance on 100
/// timers of a manual clock, checked after every step against a reference
/// model: return values, received values and the pending count are exact.
#[test]
fn random_resets_and_stops_match_a_model() {
    let seed = seed();
    let mut rng = Rng(seed);
    let clock = ManualClock::new();
    let driver = Driver::builder().clock(clock.clone()).build().unwrap();
    let h = driver.handle();
    let base = clock.now();
    let ns = |i: Instant| (i - base).as_nanos() as u64;
    let timers: Vec<Timer> = (0..100).map(|_| h.timer(Duration::MAX)).collect();
    assert!(timers.iter().all(Timer::stop));
    let mut model = [Model::default(); 100];
    let steps = size(20_000, 2_000_000);
    let _fig = Figure::new("reset/stop model", format!("{steps} steps on 100 timers"));
    for step in 0..steps {
        let i = rng.below(100) as usize;
        let now = ns(clock.now());
        let before = model[i];
        let ctx = || format!("seed {seed} step {step} timer {i} model {before:?}");
        let would_prevent = model[i].armed.is_some() || model[i].pending.is_some();
        match rng.below(10) {
            0 => {
                assert_eq!(timers[i].stop(), would_prevent, "stop: {}", ctx());
                model[i] = Model::default();
            }
            op @ 1..=4 => {
                let d = match op {
                    1 => Duration::from_secs(60 + rng.below(3600)),
                    2 => Duration::from_micros(rng.below(2000)),
                    _ => Duration::ZERO,
                };
                assert_eq!(timers[i].reset(d), would_prevent, "reset({d:?}): {}", ctx());
                model[i] = Model {
                    armed: Some(now + d.as_nanos() as u64),
                    pending: None,
                };
            }
            5 => {
                // A deadline in the past (virtual time started at 0, so clamp).
                let back = Duration::from_nanos(rng.below(now + 1));
                let prevented = timers[i].reset_at(clock.now() - back);
                assert_eq!(prevented, would_prevent, "reset_at(past): {}", ctx());
                model[i] = Model {
                    armed: Some(now - back.as_nanos() as u64),
                    pending: None,
                };
            }
            6 | 7 => {
                let got = timers[i].try_recv().map(ns);
                let want = model[i].pending.take().ok_or(TryRecvError::Empty);
                assert_eq!(got, want, "try_recv: {}", ctx());
            }
            _ => {
                let d = Duration::from_micros(rng.below(1500));
                clock.advance(d);
                let now = ns(clock.now());
                for m in &mut model {
                    if let Some(at) = m.armed.filter(|&at| at <= now) {
                        m.armed = None;
                        m.pending = Some(at);
                    }
                }
                let armed = model.iter().filter(|m| m.armed.is_some()).count();
                assert_eq!(h.stats().pending, armed, "seed {seed} step {step}: pending");
            }
        }
    }
    // Drain: everything armed fires at its deadline, exactly once.
    clock.advance(Duration::from_secs(3600 * 24));
    for (i, t) in timers.iter().enumerate() {
        let want = model[i].pending.or(model[i].armed);
        assert_eq!(
            t.try_recv().ok().map(ns),
            want,
            "seed {seed}: drain timer {i}"
        );
        assert_eq!(t.try_recv(), Err(TryRecvError::Empty));
    }
    assert_eq!(h.stats().pending, 0);
}

/// A timer moved to a past deadline many times (stopping and draining in
/// between) still fires, promptly.
///
/// Ported from Go's time/sleep_test.go TestTimerModifiedEarlier (issue
/// 47329).
#[test]
fn timer_reset_many_times_to_the_past_still_fires() {
    let driver = real_driver("stress-earlier");
    let h = driver.handle();
    let count = size(1000, 100_000);
    let _fig = Figure::new("moved earlier", format!("{count} timers x 10 resets"));
    let now = h.now();
    // Before the driver started (clamped to its time zero) when the
    // platform's clock can represent it, and just before now.
    let long_ago = now.checked_sub(Duration::from_secs(3600)).unwrap_or(now);
    let just_now = now - Duration::from_nanos(1);
    let mut worst = Duration::ZERO;
    for i in 0..count {
        let timer = h.timer(Duration::from_secs(3600));
        for j in 0..10 {
            if !timer.stop() {
                timer
                    .recv_timeout(HANG)
                    .unwrap_or_else(|e| panic!("timer {i}/{j}: stop false, no value ({e:?})"));
            }
            timer.reset_at(if (i + j) % 2 == 0 { long_ago } else { just_now });
        }
        let s = Instant::now();
        timer
            .recv_timeout(HANG)
            .unwrap_or_else(|e| panic!("timer {i}: moved earlier and lost ({e:?})"));
        worst = worst.max(s.elapsed());
    }
    // Go's bound is 8 s; far below it here.
    assert!(worst <= Duration::from_secs(2), "slowest: {worst:?}");
}

/// `order` (indices into `slots`) is deadline order, equal deadlines in
/// the order they were armed (here: creation order).
fn assert_deadline_order(order: &[usize], slots: &[u32], ctx: &str) {
    let mut want: Vec<usize> = (0..slots.len()).collect();
    want.sort_by_key(|&i| slots[i]); // stable: ties keep creation order
    assert_eq!(order, want, "{ctx}: callbacks out of order");
}

/// 13 timers and 13 callbacks with shuffled deadlines deliver in deadline
/// order (ties in creation order), on a manual clock: first Go's slots,
/// then random ones.
///
/// Ported from Go's time/sleep_test.go TestAfterQueuing.
#[test]
fn thirteen_shuffled_deadlines_deliver_in_order() {
    let seed = seed();
    let mut rng = Rng(seed);
    let delta = Duration::from_millis(20);
    let rounds = size(50, 5000);
    let _fig = Figure::new("13 slots", format!("{rounds} rounds"));
    for round in 0..rounds {
        let mut slots = SLOTS;
        if round > 0 {
            for s in &mut slots {
                *s = rng.below(10) as u32;
            }
            rng.shuffle(&mut slots);
        }
        let ctx = format!("seed {seed} round {round} slots {slots:?}");
        let clock = ManualClock::new();
        let driver = Driver::builder().clock(clock.clone()).build().unwrap();
        let h = driver.handle();
        let t0 = clock.now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let timers: Vec<Timer> = slots.iter().map(|&s| h.timer(delta * s)).collect();
        let callbacks: Vec<_> = slots
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let order = order.clone();
                h.after_func(delta * s, move || order.lock().unwrap().push(i))
            })
            .collect();
        // Step one slot at a time: after step k exactly the slot-k timers
        // have a value, and it is their deadline.
        for k in 0..=9u32 {
            clock.advance(if k == 0 { Duration::ZERO } else { delta });
            for (i, t) in timers.iter().enumerate() {
                let got = t.try_recv();
                if slots[i] == k {
                    assert_eq!(got, Ok(t0 + delta * k), "{ctx}: timer {i} at step {k}");
                } else {
                    assert_eq!(got, Err(TryRecvError::Empty), "{ctx}: timer {i} at {k}");
                }
            }
        }
        assert_deadline_order(&order.lock().unwrap(), &slots, &ctx);
        drop(callbacks);
    }
}

/// Runs Go's 13 slots as callbacks `delta` apart; returns the order they ran
/// in, a receiver of one message per run, and the handles.
fn schedule_slots(
    h: &Handle,
    delta: Duration,
) -> (
    Arc<Mutex<Vec<usize>>>,
    crossbeam_channel::Receiver<()>,
    Vec<tickwheel::Callback>,
) {
    let order = Arc::new(Mutex::new(Vec::new()));
    let (done_tx, done_rx) = crossbeam_channel::bounded(SLOTS.len());
    let callbacks = SLOTS
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let (order, done_tx) = (order.clone(), done_tx.clone());
            h.after_func(delta * s, move || {
                order.lock().unwrap().push(i);
                done_tx.send(()).unwrap();
            })
        })
        .collect();
    (order, done_rx, callbacks)
}

/// The same order check with every deadline passed by one long `advance`
/// (the manual clock still steps to each deadline in turn; a late driver
/// step that collects several at once is `a_late_step_queues_callbacks_in_
/// deadline_order` in `src/driver/run.rs`), and on the real clock, where
/// callbacks (run one at a time on one thread) make the order observable.
#[test]
fn callbacks_run_in_deadline_order_over_one_long_advance_and_on_the_real_clock() {
    let clock = ManualClock::new();
    let driver = Driver::builder().clock(clock.clone()).build().unwrap();
    let (order, _done, callbacks) = schedule_slots(&driver.handle(), Duration::from_millis(20));
    clock.advance(Duration::from_secs(1));
    assert_deadline_order(&order.lock().unwrap(), &SLOTS, "manual clock, one advance");
    drop(callbacks);

    // Real clock: 10 ms apart, far more than the microseconds it takes to
    // create the 13 callbacks, so creation skew cannot reorder them.
    let driver = real_driver("stress-order");
    let (order, done_rx, callbacks) = schedule_slots(&driver.handle(), Duration::from_millis(10));
    for _ in 0..SLOTS.len() {
        done_rx.recv_timeout(HANG).expect("callback ran");
    }
    assert_deadline_order(&order.lock().unwrap(), &SLOTS, "real clock");
    drop(callbacks);
}

/// Entries with the same deadline fire in the order they were armed,
/// whichever wheel level they were filed at.
///
/// Regression test: before ac2937a level-0 slots were LIFO (equal
/// deadlines fired in reverse) while entries cascaded from a higher level
/// came out in order.
#[test]
fn equal_deadlines_fire_in_creation_order() {
    let clock = ManualClock::new();
    let driver = Driver::builder().clock(clock.clone()).build().unwrap();
    let h = driver.handle();
    let order = Arc::new(Mutex::new(Vec::new()));
    // 5 ms is level 0 at the default 1 ms resolution; 500 ms is level 1.
    let callbacks: Vec<_> = [5u64, 5, 5, 500, 500, 500]
        .into_iter()
        .enumerate()
        .map(|(i, ms)| {
            let order = order.clone();
            h.after_func(Duration::from_millis(ms), move || {
                order.lock().unwrap().push(i)
            })
        })
        .collect();
    clock.advance(Duration::from_secs(1));
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4, 5]);
    drop(callbacks);
}

/// `stop` (or `reset`) racing a second thread blocked in `recv` on the same
/// timer: stop returns false exactly when that thread got the value, and
/// true exactly when it got none (it then sees the timer's drop as
/// `Disconnected`). Go 1.23 semantics: an unreceived value is withdrawn, so
/// without a competing receiver stop/reset always return true.
fn stop_or_reset_races_a_receiver(use_stop: bool) {
    let seed = seed();
    let driver = real_driver("stress-recv-race");
    let pairs = 4;
    let rounds = size(300, 30_000);
    let name = if use_stop {
        "stop vs receiver"
    } else {
        "reset vs receiver"
    };
    let _fig = Figure::new(name, format!("{pairs} pairs x {rounds} rounds"));
    let wins = thread::scope(|s| {
        let workers: Vec<_> = (0..pairs)
            .map(|p| {
                let h = driver.handle();
                s.spawn(move || {
                    let mut rng = Rng(seed ^ (p as u64) << 32);
                    let (rx_tx, rx_rx) = crossbeam_channel::bounded(1);
                    let (got_tx, got_rx) = crossbeam_channel::bounded(1);
                    let receiver = thread::spawn(move || {
                        for rx in rx_rx {
                            let rx: crossbeam_channel::Receiver<Instant> = rx;
                            got_tx.send(rx.recv().is_ok()).unwrap();
                        }
                    });
                    let mut wins = [0u64; 2];
                    for j in 0..rounds {
                        let t = h.timer(Duration::from_micros(rng.below(200)));
                        rx_tx.send(t.receiver().clone()).unwrap();
                        pause(Duration::from_micros(rng.below(300)));
                        let prevented = if use_stop {
                            t.stop()
                        } else {
                            t.reset(Duration::from_secs(3600))
                        };
                        drop(t);
                        let received = got_rx
                            .recv_timeout(HANG)
                            .unwrap_or_else(|e| panic!("seed {seed} pair {p} round {j}: receiver hung ({e:?})"));
                        assert_ne!(
                            prevented, received,
                            "seed {seed} pair {p} round {j}: prevented={prevented} but receiver got a value={received}"
                        );
                        wins[usize::from(prevented)] += 1;
                    }
                    drop(rx_tx);
                    receiver.join().unwrap();
                    wins
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("pair panicked"))
            .fold([0, 0], |a, b| [a[0] + b[0], a[1] + b[1]])
    });
    assert_eq!(wins[0] + wins[1], (pairs * rounds) as u64);
    eprintln!(
        "{} vs receiver: {} received first, {} prevented",
        if use_stop { "stop" } else { "reset" },
        wins[0],
        wins[1]
    );
}

#[test]
fn stop_races_a_blocked_receiver() {
    stop_or_reset_races_a_receiver(true);
}

#[test]
fn reset_races_a_blocked_receiver() {
    stop_or_reset_races_a_receiver(false);
}

/// Callback stop racing its firing, on many threads: exactly one of "the
/// closure ran" and "stop returned true" holds, every time.
#[test]
fn callback_stop_races_fire_exactly_one_wins() {
    let seed = seed();
    let driver = real_driver("stress-cb-race");
    let threads = 4;
    let rounds = size(500, 50_000);
    let _fig = Figure::new(
        "callback race",
        format!("{threads} threads x {rounds} rounds"),
    );
    let ran: Arc<Vec<AtomicBool>> = Arc::new(
        (0..threads * rounds)
            .map(|_| AtomicBool::new(false))
            .collect(),
    );
    let stopped: Vec<Vec<bool>> = thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (h, ran) = (driver.handle(), ran.clone());
                s.spawn(move || {
                    let mut rng = Rng(seed ^ t as u64);
                    let mut stopped = Vec::with_capacity(rounds);
                    for j in 0..rounds {
                        let id = t * rounds + j;
                        let ran = ran.clone();
                        let d = Duration::from_micros(rng.below(200));
                        let cb = h.after_func(d, move || ran[id].store(true, Relaxed));
                        // Wait a random while, sometimes past the deadline.
                        pause(Duration::from_micros(rng.below(300)));
                        let first = cb.stop();
                        assert!(!cb.stop(), "seed {seed}: second stop returned true");
                        stopped.push(first);
                        if j % 2 == 0 {
                            cb.detach();
                        }
                    }
                    stopped
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    // Shutdown joins the callback thread: every closure has run or is gone.
    let h = driver.handle();
    driver.shutdown();
    let mut wins = [0u64; 2];
    for (t, stopped) in stopped.iter().enumerate() {
        for (j, &stop_won) in stopped.iter().enumerate() {
            let fired = ran[t * rounds + j].load(Relaxed);
            assert_ne!(
                fired, stop_won,
                "seed {seed}: thread {t} round {j}: ran={fired} stop={stop_won}"
            );
            wins[usize::from(stop_won)] += 1;
        }
    }
    assert_eq!(h.stats().callbacks, 0);
    eprintln!(
        "callback stop race: {} fired first, {} stopped first",
        wins[0], wins[1]
    );
}

/// `recv_timeout` on a timer that will never fire returns `Timeout`, not a
/// hang, even while thousands of other timers fire around it.
#[test]
fn unrelated_timers_do_not_wake_a_stopped_one() {
    let driver = real_driver("stress-quiet");
    let h = driver.handle();
    let quiet = h.timer(Duration::from_millis(1));
    assert!(quiet.stop());
    let n = size(2000, 200_000);
    let _fig = Figure::new("quiet timer", format!("{n} noisy timers"));
    let noisy: Vec<Timer> = (0..n)
        .map(|i| h.timer(Duration::from_micros((i % 500) as u64)))
        .collect();
    for t in &noisy {
        t.recv_timeout(HANG).expect("noisy timer fired");
    }
    assert_eq!(
        quiet.recv_timeout(Duration::from_millis(20)),
        Err(RecvTimeoutError::Timeout)
    );
}

/// Thousands of short timers to fill the wheel, then a long ping-pong with
/// a queue thread in which every `select!` also waits on a fresh 5 s timeout
/// (Go: `After(5*Second)`, dropped here unfired at the end of each select),
/// all under a 60 s deadline set by a callback (Go: `AfterFunc`). Every
/// select gets its work before its timeout, the deadline never fires, each
/// build-up timer fires, and the timeouts leave nothing in the wheel. Go's
/// bug (the runtime re-scanning stale timers on every adjustment) made the
/// loop take 77 s; here it takes well under a second by default.
///
/// Ported from Go's `TestLongAdjustTimers` in src/time/tick_test.go,
/// BSD-style license.
#[test]
fn go_long_adjust_timers() {
    const TRY: usize = 20;
    let driver = real_driver("stress-long-adjust");
    let h = driver.handle();
    let builds = size(1000, 5000);
    let rounds = size(500, 50_000);
    let _fig = Figure::new(
        "long adjust timers",
        format!("{builds} build-up timers, {rounds} rounds × {TRY}"),
    );

    // Build up the wheel: timers of 10 µs left to fire while 1 µs ones are
    // received one after another (Go: goroutines in `Sleep(10µs)` while the
    // test does `Sleep(1µs)` in a loop).
    let pending: Vec<Timer> = (0..builds)
        .map(|_| h.timer(Duration::from_micros(10)))
        .collect();
    for _ in 0..builds {
        h.timer(Duration::from_micros(1))
            .recv_timeout(HANG)
            .expect("a 1 µs timer fired");
    }
    for t in &pending {
        t.recv_timeout(HANG).expect("a build-up timer fired");
    }
    drop(pending);

    let (done_tx, done) = crossbeam_channel::bounded::<()>(0);
    let deadline = h.after_func(Duration::from_secs(60), move || drop(done_tx));
    let (in_tx, in_q) = crossbeam_channel::unbounded::<usize>();
    let (out_tx, out_q) = crossbeam_channel::bounded::<usize>(0);
    let queue = thread::spawn(move || {
        for job in in_q {
            if out_tx.send(job).is_err() {
                return;
            }
        }
    });
    for i in 0..rounds {
        for _ in 0..TRY {
            in_tx.send(i).unwrap();
        }
        for _ in 0..TRY {
            select! {
                recv(out_q) -> v => assert_eq!(v, Ok(i), "output channel closed"),
                recv(h.timer(Duration::from_secs(5)).receiver()) -> _ => {
                    panic!("failed to read work, iteration {i}")
                }
                recv(done) -> _ => panic!("the 60 s deadline expired at iteration {i}"),
            }
        }
    }
    drop(in_tx);
    queue.join().unwrap();
    assert!(deadline.stop(), "the deadline was still armed");
    let stats = h.stats();
    assert_eq!(
        (stats.pending, stats.timers, stats.callbacks),
        (0, 0, 1),
        "{stats}"
    );
}
