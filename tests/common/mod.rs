//! Helpers shared by the integration tests: a manual-clock driver, a named
//! real driver, short duration constructors, the hang guard, a settle-wait
//! on a driver's stats, a small deterministic generator, and Go's thirteen
//! timer slots. Each test file pulls in what it needs with `mod common;` and
//! `use common::{...}`; helpers used by a single file stay in that file.

// Every test file is its own crate and uses a different subset of these
// helpers, so whatever one crate leaves unused would warn there.
#![allow(dead_code)]

use std::thread;
use std::time::{Duration, Instant};
use tickwheel::{Driver, Handle, ManualClock, Stats};

/// How long a wait may take before the test calls it a hang: never reached
/// when things work, and far beyond any plausible scheduling delay on a
/// loaded 2-core machine.
pub const HANG: Duration = Duration::from_secs(10);

/// One nanosecond, the finest step a deadline can be off by.
pub const NS: Duration = Duration::from_nanos(1);

/// Go's thirteen slots (time/sleep_test.go TestAfterQueuing): note the
/// duplicates (6, 6, 6 and 1, 1) and the 0.
pub const SLOTS: [u32; 13] = [5, 3, 6, 6, 6, 1, 1, 2, 7, 9, 4, 8, 0];

/// A driver on a fresh `ManualClock`, and the clock that drives it.
pub fn manual() -> (ManualClock, Driver) {
    let clock = ManualClock::new();
    let driver = Driver::builder()
        .clock(clock.clone())
        .build()
        .expect("a manual-clock driver");
    (clock, driver)
}

/// A driver on the real clock whose wheel thread is called `name`.
pub fn real_driver(name: &str) -> Driver {
    Driver::builder()
        .thread_name(name)
        .build()
        .expect("start driver")
}

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` microseconds.
pub fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// The driver's stats once `settled` holds for them, or after [`HANG`]
/// (then the caller's assertion on the returned stats reports the failure).
/// For counts that trail a signal: the driver updates its counters just
/// after sending the values they count, and the callback thread finishes
/// its bookkeeping (and drops the closure's captures) just after the
/// closure returns.
pub fn settled_stats(h: &Handle, settled: impl Fn(&Stats) -> bool) -> Stats {
    let give_up = Instant::now() + HANG;
    loop {
        let stats = h.stats();
        if settled(&stats) || Instant::now() > give_up {
            return stats;
        }
        thread::yield_now();
    }
}

/// A small deterministic generator (xorshift64*), so that "random" tests
/// replay the same way every run.
pub struct XorShift(pub u64);

impl XorShift {
    /// Uniform enough in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % n
    }

    /// An index in `0..len` (len > 0): [`below`](Self::below) for slices.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }
}

/// Panics in its `Drop` (unless the thread is already unwinding): captured
/// by a closure, it makes dropping that closure panic.
pub struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !thread::panicking() {
            panic!("PanicOnDrop dropped (on purpose)");
        }
    }
}

/// A callback that, once started, holds its driver's callback thread until
/// `release` is dropped: callbacks due with it (equal deadlines are FIFO)
/// wait in the queue behind it.
pub struct Blocker {
    /// The blocking callback's handle.
    pub callback: tickwheel::Callback,
    /// Receives once the callback has started.
    pub started: crossbeam_channel::Receiver<()>,
    /// Dropping it lets the callback return.
    pub release: crossbeam_channel::Sender<()>,
}

/// A [`Blocker`] due after `d` on `h`.
pub fn blocker(h: &Handle, d: Duration) -> Blocker {
    let (started_tx, started) = crossbeam_channel::bounded(1);
    let (release, gate) = crossbeam_channel::bounded::<()>(0);
    let callback = h.after_func(d, move || {
        started_tx.send(()).unwrap();
        let _ = gate.recv();
    });
    Blocker {
        callback,
        started,
        release,
    }
}

/// Runs `clock.advance(d)` on another thread; the receiver gets a value once
/// it has returned (for an `advance` that waits for a callback the test
/// holds).
pub fn advance_in_background(clock: &ManualClock, d: Duration) -> crossbeam_channel::Receiver<()> {
    let (done_tx, done) = crossbeam_channel::bounded(1);
    let clock = clock.clone();
    thread::spawn(move || {
        clock.advance(d);
        done_tx.send(()).unwrap();
    });
    done
}
