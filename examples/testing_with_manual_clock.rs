//! Testing your own timer-based code with a `ManualClock`: a retry with
//! exponential backoff and a heartbeat monitor, checked over minutes of
//! virtual time in microseconds of real time.
//!
//! The trick is ordinary dependency injection: the code under test takes a
//! `tickwheel::Handle` instead of calling the global functions. Production
//! passes `tickwheel::handle()`; tests pass a handle of a driver built on a
//! `ManualClock`.
//!
//! Run: `cargo run --example testing_with_manual_clock`

use crossbeam_channel::{Receiver, select, unbounded};
use std::thread;
use std::time::{Duration, Instant};
use tickwheel::{Driver, Handle, ManualClock};

/// Code under test #1: call `op` until it succeeds, waiting 100 ms, 200 ms,
/// 400 ms, … (capped at 5 s) between attempts. Returns the attempt count.
fn retry_with_backoff(timers: &Handle, mut op: impl FnMut() -> bool) -> u32 {
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    while !op() {
        timers.timer(delay).recv().expect("driver alive");
        delay = (delay * 2).min(Duration::from_secs(5));
        attempt += 1;
    }
    attempt
}

/// Code under test #2: report a peer dead when no heartbeat arrived for
/// three periods. Returns when the peer is declared dead.
fn monitor(timers: &Handle, heartbeats: Receiver<()>, period: Duration) -> Instant {
    let mut deadline = timers.timer(period * 3);
    loop {
        select! {
            recv(heartbeats) -> _ => deadline = timers.timer(period * 3),
            recv(deadline.receiver()) -> at => return at.expect("driver alive"),
        }
    }
}

/// Spins (yielding) until `ready` holds: the code under test runs on its own
/// thread, and the test must not move time before that thread has armed
/// its next timer. (Only tests do this; the library never busy-waits.)
fn wait_for(ready: impl Fn() -> bool) {
    while !ready() {
        thread::yield_now();
    }
}

fn main() -> std::io::Result<()> {
    let real_start = Instant::now();
    let clock = ManualClock::new();
    let driver = Driver::builder().clock(clock.clone()).build()?;
    let stats = || driver.handle().stats();

    // --- Backoff: the op fails 6 times. The test thread plays "time".
    let h = driver.handle();
    let worker = thread::spawn(move || {
        let mut calls = 0;
        retry_with_backoff(&h, || {
            calls += 1;
            calls > 6
        })
    });
    // Whenever the worker waits on a timer, move time by 100 ms. `advance`
    // returns only after the due timer delivered, so pending is 0 again
    // until the worker armed its next one.
    while !worker.is_finished() {
        if stats().pending == 1 {
            clock.advance(Duration::from_millis(100));
        } else {
            thread::yield_now();
        }
    }
    let attempts = worker.join().unwrap();
    assert_eq!(attempts, 7);
    // 100+200+400+800+1600+3200 ms of backoff, exactly, in virtual time.
    assert_eq!(clock.elapsed(), Duration::from_millis(6300));
    println!(
        "backoff: {attempts} attempts over {:?} of virtual time",
        clock.elapsed()
    );

    // --- Heartbeat: five beats 10 s apart, then silence.
    let h = driver.handle();
    let (beat, beats) = unbounded();
    let start = clock.now();
    let monitor_thread = thread::spawn(move || monitor(&h, beats, Duration::from_secs(10)));
    // The monitor has (re-)armed its deadline when its timer's age, in
    // virtual time, is zero: live sites report ages on the driver's clock.
    let armed_now = || {
        let sites = driver.handle().live_sites();
        sites.len() == 1 && sites[0].oldest.is_zero()
    };
    for _ in 0..5 {
        wait_for(armed_now);
        clock.advance(Duration::from_secs(10));
        beat.send(()).unwrap();
    }
    wait_for(armed_now);
    // Silence: the peer is declared dead 30 s after the last beat, not before.
    clock.advance(Duration::from_secs(29));
    assert!(!monitor_thread.is_finished());
    clock.advance(Duration::from_secs(1));
    let dead_at = monitor_thread.join().unwrap();
    println!(
        "heartbeat: peer declared dead at +{:?} of virtual time",
        dead_at - start
    );
    assert_eq!(dead_at - start, Duration::from_secs(80));

    println!("all of that took {:?} of real time", real_start.elapsed());
    Ok(())
}
