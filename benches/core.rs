//! The core issue's performance targets, as ratios within one run:
//!
//! - `Timer::new(1 s)` + drop vs the floor (a bare `bounded::<Instant>(1)`
//!   plus one `Instant::now()`): at most 1.3×.
//! - `after_func(1 s, || ())` + drop: under 80 ns.
//! - both again with 1,000,000 other timers pending: at most 1.2× the cost
//!   with none.
//!
//! `create_drop_interleaved` measures the floor and the timer once more, in
//! alternating batches, as context for the first ratio.
//!
//! Run: `cargo bench --bench core`.

use criterion::{Criterion, black_box, criterion_group};
use crossbeam_channel::Sender;
use std::time::{Duration, Instant};
use tickwheel::Driver;

fn create_drop(c: &mut Criterion) {
    // Start the global driver before the floor is measured, so that the
    // floor and the timers run in the same process state. While a process has
    // one thread, glibc's malloc skips its atomic operations; the driver
    // thread switches that off for good. Every program that holds a timer has
    // that thread, so a floor measured without it would be cheaper than any
    // real use of a bare channel (on this machine, 2026-11-29: about 135 ns
    // against 155-185 ns).
    let _ = tickwheel::handle();
    let mut g = c.benchmark_group("create_drop");
    g.bench_function("floor: bounded(1) + Instant::now", |b| {
        b.iter(|| {
            let now = Instant::now();
            let ch = crossbeam_channel::bounded::<Instant>(1);
            black_box((now, ch))
        })
    });

    // Not a target: what the floor costs plus the least that a design adds
    // that shares one mutex with its driver and, like tickwheel, removes the
    // entry before drop returns (lock, slab insert, unlock on create; lock,
    // slab remove, unlock on drop; the sender dropped after the unlock),
    // with no wheel at all and no check of the driver's next wake-up. The
    // distance from this row to the floor is the part of the 1.3x budget
    // such a design never gets back.
    let minimum = parking_lot::Mutex::new(slab::Slab::<(u64, Sender<Instant>)>::new());
    let base = Instant::now();
    g.bench_function(
        "reference: floor + one mutex-guarded slab insert and remove",
        |b| {
            b.iter(|| {
                let (tx, rx) = crossbeam_channel::bounded::<Instant>(1);
                let deadline = (Instant::now() - base + Duration::from_secs(1)).as_nanos() as u64;
                let key = minimum.lock().insert((deadline, tx));
                black_box((key, &rx));
                let entry = minimum.lock().remove(key);
                drop(entry);
                drop(rx);
            })
        },
    );

    g.bench_function("global Timer::new 1s", |b| {
        b.iter(|| black_box(tickwheel::Timer::new(Duration::from_secs(1))))
    });
    g.bench_function("global after_func 1s", |b| {
        b.iter(|| black_box(tickwheel::after_func(Duration::from_secs(1), || ())))
    });
    let idle = Driver::builder().thread_name("bench-idle").build().unwrap();
    let h = idle.handle();
    g.bench_function("Timer 1s, 0 pending", |b| {
        b.iter(|| black_box(h.timer(Duration::from_secs(1))))
    });
    g.bench_function("after_func 1s, 0 pending", |b| {
        b.iter(|| black_box(h.after_func(Duration::from_secs(1), || ())))
    });

    let busy = Driver::builder().thread_name("bench-busy").build().unwrap();
    let hb = busy.handle();
    // 1,000,000 timers spread over the second hour from now (none fires
    // during the run), kept alive for the run.
    let pending: Vec<_> = (0..1_000_000u64)
        .map(|i| hb.timer(Duration::from_secs(3_600) + Duration::from_micros(i * 3_600)))
        .collect();
    assert_eq!(hb.stats().pending, 1_000_000);
    g.bench_function("Timer 1s, 1M pending", |b| {
        b.iter(|| black_box(hb.timer(Duration::from_secs(1))))
    });
    g.bench_function("after_func 1s, 1M pending", |b| {
        b.iter(|| black_box(hb.after_func(Duration::from_secs(1), || ())))
    });
    g.finish();
    drop(pending);
}

/// Iterations per batch in `create_drop_interleaved`: two clock reads per
/// batch add under 0.1 ns per iteration to both rows.
const BATCH: u64 = 512;

/// Times `iters` runs of `timed`, in batches of [`BATCH`], each followed by
/// as many untimed runs of `other`.
fn alternate(iters: u64, mut timed: impl FnMut(), mut other: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(BATCH);
        let start = Instant::now();
        for _ in 0..n {
            timed();
        }
        total += start.elapsed();
        for _ in 0..n {
            other();
        }
        left -= n;
    }
    total
}

/// The floor and `Timer::new(1 s)` + drop again, in alternating batches
/// within every sample: both rows then run in the same heap state and at
/// the same machine speed, which `create_drop` (one function after the
/// other) cannot promise. Context for the 1.3x target, not its verdict.
fn create_drop_interleaved(c: &mut Criterion) {
    let _ = tickwheel::handle();
    let floor = || {
        drop(black_box((
            Instant::now(),
            crossbeam_channel::bounded::<Instant>(1),
        )));
    };
    let timer = || {
        drop(black_box(tickwheel::Timer::new(Duration::from_secs(1))));
    };
    let mut g = c.benchmark_group("create_drop_interleaved");
    g.bench_function("floor: bounded(1) + Instant::now", |b| {
        b.iter_custom(|iters| alternate(iters, floor, timer))
    });
    g.bench_function("global Timer::new 1s", |b| {
        b.iter_custom(|iters| alternate(iters, timer, floor))
    });
    g.finish();
}

criterion_group!(benches, create_drop, create_drop_interleaved);

#[path = "support/provenance.rs"]
mod provenance;

// `criterion_main!`, plus a record of which sources were measured (for the
// bench report's staleness check).
fn main() {
    provenance::record_if_measuring("core");
    benches();
    Criterion::default().configure_from_args().final_summary();
}
