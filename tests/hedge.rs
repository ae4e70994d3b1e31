//! `Builder::hedge_threads`: the driver loop on more than one thread, each
//! pinned to a CPU of its own. The guarantees of a single driver thread
//! must hold unchanged (every value once, never early, a ticker on its grid,
//! shutdown joins every thread), the hedge threads must really run the loop,
//! and on Linux they must be pinned apart. Real time, generous bounds; the
//! race with stop/reset is in `tests/stress.rs`, the interleavings of two
//! stepping threads in the loom models (`src/loom_tests.rs`).

use crossbeam_channel::TryRecvError;
use std::thread;
use std::time::{Duration, Instant};
use tickwheel::{Driver, ManualClock};

mod common;
use common::{HANG, XorShift, ms, settled_stats, us};

fn hedged(name: &str, n: usize) -> Driver {
    Driver::builder()
        .thread_name(name)
        .hedge_threads(n)
        .build()
        .expect("start a hedged driver")
}

#[test]
fn every_timer_fires_once_and_never_early_with_hedge_threads() {
    let driver = hedged("hedge-once", 2);
    let h = driver.handle();
    let mut rng = XorShift(0x5eed_4ed9e);
    let start = Instant::now();
    // Deadlines spread over 5 ms, several sharing one instant, so that the
    // threads often wake for the same deadline.
    let deadlines: Vec<Instant> = (0..300).map(|_| start + us(rng.below(50) * 100)).collect();
    let timers: Vec<_> = deadlines.iter().map(|&at| h.timer_at(at)).collect();
    for (i, (t, &at)) in timers.iter().zip(&deadlines).enumerate() {
        let v = t.recv_timeout(HANG).expect("every timer fires");
        assert_eq!(v, at, "timer {i} delivered another instant");
        assert!(Instant::now() >= at, "timer {i} fired early");
    }
    // Long after the last deadline: nothing more arrives (a second thread
    // stepping for the same deadline found nothing due).
    thread::sleep(ms(20));
    for (i, t) in timers.iter().enumerate() {
        assert_eq!(
            t.try_recv(),
            Err(TryRecvError::Empty),
            "timer {i} fired twice"
        );
    }
    let s = h.stats();
    assert_eq!(s.fired, 300, "{s}");
    assert_eq!(s.pending, 0, "{s}");
}

#[test]
fn a_ticker_stays_on_its_grid_and_no_tick_comes_twice_with_hedge_threads() {
    let driver = hedged("hedge-tick", 1);
    let period = ms(1);
    let ticker = driver.handle().ticker(period);
    let mut last: Option<Instant> = None;
    let first = ticker.recv_timeout(HANG).expect("first tick");
    for _ in 0..50 {
        let v = ticker.recv_timeout(HANG).expect("a tick");
        if let Some(l) = last {
            assert!(v > l, "tick {v:?} not after the previous one {l:?}");
        }
        let since = v - first;
        assert_eq!(
            since.as_nanos() % period.as_nanos(),
            0,
            "tick {since:?} after the first is off the grid"
        );
        assert!(Instant::now() >= v, "a tick arrived early");
        last = Some(v);
    }
    // Every grid point up to the last tick was received or counted dropped,
    // none twice.
    let periods = (last.unwrap() - first).as_nanos() / period.as_nanos();
    assert_eq!(50 + ticker.dropped(), periods as u64);
}

#[test]
fn every_hedge_thread_runs_the_driver_loop() {
    let driver = hedged("hedge-wake", 1);
    let h = driver.handle();
    // Idle: with nothing armed no driver thread wakes.
    thread::sleep(ms(20));
    assert_eq!(
        h.stats().wakeups,
        0,
        "a driver thread woke with nothing due"
    );
    let timer = h.timer(ms(5));
    timer.recv_timeout(HANG).expect("fired");
    // One thread alone wakes twice for this timer: when its creation lowers
    // the next wake-up, then at the deadline. Two threads are both woken by
    // the creation, and at least one of them wakes again at the deadline.
    let s = settled_stats(&h, |s| s.wakeups >= 3);
    assert!(s.wakeups >= 3, "only one driver thread ran the loop: {s}");
}

#[test]
fn shutdown_joins_every_driver_thread() {
    let driver = hedged("hedge-down", 2);
    let h = driver.handle();
    let timer = h.timer(Duration::from_secs(3600));
    let ticker = h.ticker(ms(1));
    ticker.recv_timeout(HANG).expect("a tick");
    driver.shutdown();
    assert_eq!(
        timer.recv_timeout(HANG),
        Err(crossbeam_channel::RecvTimeoutError::Disconnected)
    );
    while ticker.try_recv().is_ok() {}
    assert_eq!(ticker.try_recv(), Err(TryRecvError::Disconnected));
    #[cfg(target_os = "linux")]
    assert!(
        linux::tids_named("hedge-down").is_empty(),
        "a driver thread outlived shutdown"
    );
}

#[test]
fn a_manual_clock_ignores_hedge_threads() {
    let clock = ManualClock::new();
    let driver = Driver::builder()
        .clock(clock.clone())
        .hedge_threads(3)
        .build()
        .expect("a manual-clock driver");
    let timer = driver.handle().timer(ms(5));
    clock.advance(ms(5));
    assert_eq!(timer.try_recv(), Ok(clock.now()));
    assert_eq!(driver.handle().stats().wakeups, 0);
}

#[cfg(target_os = "linux")]
mod linux {
    use super::*;

    /// This process's threads whose name starts with `prefix`: (id, name).
    fn threads_named(prefix: &str) -> Vec<(String, String)> {
        std::fs::read_dir("/proc/self/task")
            .expect("read /proc/self/task")
            .flatten()
            .filter_map(|e| {
                let name = std::fs::read_to_string(e.path().join("comm")).ok()?;
                let name = name.trim_end();
                name.starts_with(prefix).then(|| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        name.to_string(),
                    )
                })
            })
            .collect()
    }

    /// The ids of this process's threads whose name starts with `prefix`.
    pub(super) fn tids_named(prefix: &str) -> Vec<String> {
        threads_named(prefix)
            .into_iter()
            .map(|(tid, _)| tid)
            .collect()
    }

    /// A thread's `Cpus_allowed_list` line from `/proc`.
    fn allowed(tid: &str) -> String {
        let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status"))
            .expect("read a thread's status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .expect("Cpus_allowed_list in status")
            .trim()
            .to_string()
    }

    #[test]
    fn driver_threads_are_named_and_pinned_apart() {
        let driver = hedged("hedge-pin", 1);
        // Threads pin themselves as they start: wait until both have.
        let give_up = Instant::now() + HANG;
        let pins = loop {
            let pins: Vec<String> = threads_named("hedge-pin")
                .iter()
                .filter(|(_, name)| !name.contains("callb"))
                .map(|(tid, _)| allowed(tid))
                .collect();
            let pinned = pins.iter().filter(|p| p.parse::<usize>().is_ok()).count();
            if pinned == 2 || Instant::now() > give_up {
                break pins;
            }
            thread::yield_now();
        };
        assert_eq!(
            pins.len(),
            2,
            "expected the driver thread and one hedge thread"
        );
        for p in &pins {
            assert!(
                p.parse::<usize>().is_ok(),
                "a driver thread is not pinned to one CPU: {p}"
            );
        }
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        if cpus >= 2 {
            assert_ne!(pins[0], pins[1], "both driver threads pinned to one CPU");
        }
        // Named: the driver thread keeps its name, the hedge thread has one
        // of its own.
        let names: Vec<String> = threads_named("hedge-pin")
            .into_iter()
            .map(|(_, name)| name)
            .collect();
        assert!(names.iter().any(|n| n == "hedge-pin"), "{names:?}");
        assert!(names.iter().any(|n| n == "hedge-pin-hedge"), "{names:?}");
        drop(driver);
    }
}
