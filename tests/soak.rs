//! Soak: create/drop cycles of every handle kind (timers, tickers,
//! callbacks; stopped, reset, dropped armed, and fired) on one driver, with
//! the process's live heap measured by a counting global allocator: after
//! the run it is back to where it was before, so nothing leaks per cycle.
//!
//! Default: a count that runs in a few seconds in a debug build.
//! `TICKWHEEL_SOAK=full` runs 10,000,000 cycles (use `--release`);
//! `TICKWHEEL_SOAK=<n>` runs `n`. See `docs/reliability.md`.
//!
//! This file holds a single test on purpose: the allocator counts the whole
//! process, so a second test running in parallel would disturb the figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};
use tickwheel::{Driver, Handle, Stats};

mod common;
use common::HANG;

/// Bytes currently allocated (allocated minus freed) by the whole process.
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// `System`, counting live bytes in [`LIVE`].
struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged (so `System`'s guarantees carry over) and only adds a relaxed
// atomic update of a counter, which neither allocates nor panics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc_zeroed`'s contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from this allocator, i.e. from
        // `System`, with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The live-heap difference allowed between the baseline and a checkpoint.
/// Nothing a cycle creates may survive it; what can differ is state that the
/// warm-up brings to a steady size but not to one exact byte count:
/// - the callback queue is a crossbeam list channel that allocates blocks of
///   31 jobs as it goes and frees them behind the reader, so a block more or
///   less (under 2 KiB) can be live at either measurement;
/// - the lazily created per-thread wait contexts of crossbeam-channel and
///   std (a few hundred bytes each) for a thread that first blocks after the
///   baseline (the test harness's main thread, for one).
///
/// Pools that keep capacity for reuse (the wheel's arena, the driver's
/// batch buffers) are taken far above what the cycles need by the warm-up's
/// bursts, so they cannot grow here. 8 KiB is several times the rest, and
/// less than one leaked byte per 16 cycles shows over the default run.
const SLACK: isize = 8 * 1024;

/// Cycles to run: `TICKWHEEL_SOAK=full` (10,000,000) or `=<n>`, else a
/// count that takes a few seconds in a debug build.
fn cycles() -> u64 {
    match std::env::var("TICKWHEEL_SOAK").as_deref() {
        Ok("full") => 10_000_000,
        Ok(n) => n.parse().expect("TICKWHEEL_SOAK: `full` or a number"),
        Err(_) => 200_000,
    }
}

/// One create/drop cycle; `i` picks the kind. 4 of every 16 cycles fire.
fn cycle(h: &Handle, i: u64) {
    let hour = Duration::from_secs(3600);
    match i % 16 {
        // Armed, dropped unfired.
        0 | 1 => drop(h.timer(hour + Duration::from_nanos(i))),
        2 => drop(h.ticker(hour)),
        3 => {
            // A closure that owns heap data.
            let data = vec![i; 4];
            drop(h.after_func(hour, move || drop(data)));
        }
        // Stopped, reset, stopped again.
        4 => {
            let t = h.timer(hour);
            assert!(t.stop());
            assert!(!t.reset(hour * 2));
            assert!(t.stop());
        }
        5 => {
            let t = h.ticker(hour);
            t.stop();
            t.reset(hour * 2);
        }
        6 => {
            let data = Arc::new(i);
            let cb = h.after_func(hour, move || drop(data));
            assert!(cb.stop());
        }
        // A receiver clone outliving its timer.
        7 => {
            let t = h.timer(hour);
            let rx = t.receiver().clone();
            drop(t);
            assert!(rx.try_recv().is_err());
        }
        // Far, near and never deadlines.
        8 => drop(h.timer(Duration::MAX)),
        9 => drop(h.timer(Duration::from_secs(3 * 365 * 24 * 3600))),
        10 => drop(h.timer_at(h.now() + Duration::from_micros(i % 1000 + 500))),
        11 => drop(h.live_sites()),
        // Fired: a timer received, a reset-to-zero received, a detached
        // callback run, a ticker tick received.
        12 => {
            h.timer(Duration::ZERO)
                .recv_timeout(HANG)
                .expect("zero timer fired");
        }
        13 => {
            let t = h.timer(hour);
            assert!(t.reset(Duration::ZERO));
            t.recv_timeout(HANG).expect("reset-to-zero fired");
        }
        14 => {
            // Waited for here, so that detached callbacks never pile up:
            // the measured phase stays below the warm-up's high-water marks.
            let (tx, rx) = crossbeam_channel::bounded(1);
            h.after_func(Duration::ZERO, move || tx.send(i).unwrap())
                .detach();
            assert_eq!(rx.recv_timeout(HANG), Ok(i), "detached callback ran");
        }
        _ => {
            let t = h.ticker(Duration::from_micros(10));
            t.recv_timeout(HANG).expect("tick");
        }
    }
}

/// Waits until every handle is gone and every detached callback has been
/// cleaned up (the callback thread does that just after the closure
/// returns).
fn settle(h: &Handle) -> Stats {
    let give_up = Instant::now() + HANG;
    loop {
        let s = h.stats();
        if (s.pending, s.timers, s.tickers, s.callbacks) == (0, 0, 0, 0) {
            return s;
        }
        assert!(Instant::now() < give_up, "driver never settled: {s}");
        thread::yield_now();
    }
}

/// Bursts of many handles alive and due at once: they take the wheel's
/// arena, the driver's batch buffers and the callback queue to far above
/// anything the one-at-a-time cycles need, so the measured phase cannot
/// raise those high-water marks (which are capacity kept for reuse, not
/// leaks) however the threads are scheduled.
fn burst(h: &Handle) {
    const N: u64 = 4096;
    let timers: Vec<_> = (0..N).map(|_| h.timer(Duration::ZERO)).collect();
    for t in &timers {
        t.recv_timeout(HANG).expect("burst timer fired");
    }
    drop(timers);
    let (tx, rx) = crossbeam_channel::unbounded();
    for i in 0..N {
        let tx = tx.clone();
        h.after_func(Duration::ZERO, move || tx.send(i).unwrap())
            .detach();
    }
    for _ in 0..N {
        rx.recv_timeout(HANG).expect("burst callback ran");
    }
}

#[test]
fn create_drop_cycles_leave_the_heap_where_it_was() {
    let driver = Driver::builder()
        .thread_name("soak")
        .build()
        .expect("start driver");
    let h = driver.handle();

    // The instrument works: a 4 KiB buffer shows up, and goes away.
    let before = LIVE.load(Relaxed);
    let probe = vec![0u8; 4096];
    assert!(
        LIVE.load(Relaxed) - before >= 4096,
        "allocator not counting"
    );
    drop(probe);

    // Warm-up: high-water marks (see `burst`), then every kind of cycle
    // (the lateness ring fills to its 1,024 samples; the channels' per-thread
    // state is created).
    burst(&h);
    for i in 0..16_384 {
        cycle(&h, i);
    }
    settle(&h);
    let baseline = LIVE.load(Relaxed);

    let n = cycles();
    let started = Instant::now();
    let mut worst_midway: isize = 0;
    let checkpoints = 10;
    let mut i = 16_384;
    for c in 1..=checkpoints {
        let end = 16_384 + n * c / checkpoints;
        while i < end {
            cycle(&h, i);
            i += 1;
        }
        settle(&h);
        let growth = LIVE.load(Relaxed) - baseline;
        worst_midway = worst_midway.max(growth.abs());
    }
    let elapsed = started.elapsed();
    let end_stats = settle(&h);
    let drift = LIVE.load(Relaxed) - baseline;

    assert!(
        drift.abs() <= SLACK,
        "live heap moved by {drift} bytes over {n} cycles (slack {SLACK}); {end_stats}"
    );
    assert!(
        worst_midway <= SLACK,
        "live heap moved by {worst_midway} bytes at a checkpoint (slack {SLACK})"
    );
    eprintln!(
        "soak: {n} cycles in {elapsed:.2?} ({:.0} ns/cycle); baseline {baseline} B live; \
         drift {drift} B at the end, largest {worst_midway} B at {checkpoints} checkpoints; \
         {end_stats}",
        elapsed.as_nanos() as f64 / n as f64
    );
}
