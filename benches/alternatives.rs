//! tickwheel against what users would pick instead (issue 6), as criterion
//! benches:
//!
//! 1. `create_cancel`: create a timer and cancel it (drop) before it fires,
//!    ns/op: `Timer`, `Ticker`, `Callback`; `crossbeam_channel::after` /
//!    `tick`; `tokio::time::sleep` created, polled once (registered) and
//!    dropped on a current-thread runtime with a no-op waker; the `timer`
//!    crate's `schedule_with_delay` + guard drop (run last: see
//!    [`timer_crate`]); and the floor (the parts
//!    tickwheel cannot avoid: `Instant::now()`, a `bounded(1)` channel, and
//!    with or without a `try_send`).
//! 2. `pending/*`: the same with 0, 10,000 and 1,000,000 timers already
//!    pending on a dedicated driver (tickwheel must stay flat), and tokio
//!    with as many sleeps registered.
//! 3. `threads`: aggregate time per create+cancel with one thread and with
//!    two threads working at once: on the global driver (one wheel lock
//!    for both threads) and on a driver per thread (a lock each).
//! 4. `burst_100k`: 100,000 timers due at one instant: from the deadline
//!    until every value is in its channel (manual clock: the `advance`
//!    call; real driver: until every value has been received), against the
//!    floor (a `try_send` into each of 100,000 `bounded(1)` channels).
//!
//! Run: `cargo bench --bench alternatives` (about two minutes). The
//! report example (`cargo run --release --example bench_report`) measures
//! lateness, ticker accuracy, idle cost and memory, which do not fit
//! criterion's per-iteration model.

use criterion::{BenchmarkId, Criterion, SamplingMode, black_box, criterion_group};
use crossbeam_channel::{Receiver, Sender, bounded};
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Barrier;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};
use tickwheel::{Driver, Handle, ManualClock, Timer};

/// The delay of every timer that is cancelled before it fires.
const LONG: Duration = Duration::from_secs(1);

/// Timers in the expiry burst.
const BURST: usize = 100_000;

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime")
}

/// Creates a tokio sleep, polls it once (which registers it with the
/// runtime's timer wheel) and drops it. Must run inside the runtime's
/// context.
fn tokio_sleep_register_drop(cx: &mut Context<'_>) {
    let mut sleep = pin!(tokio::time::sleep(LONG));
    let polled = sleep.as_mut().poll(cx);
    assert!(polled.is_pending(), "a 1 s tokio sleep completed at once");
}

/// `n` tickwheel timers on `h`, spread evenly over the second hour from
/// now, so none fires during the benches (a whole run takes minutes).
fn pending_timers(h: &Handle, n: usize) -> Vec<Timer> {
    let step = Duration::from_secs(3_600) / u32::try_from(n.max(1)).expect("n fits u32");
    (0..n)
        .map(|i| h.timer(Duration::from_secs(3_600) + step * u32::try_from(i).expect("i fits u32")))
        .collect()
}

/// `n` tokio sleeps, each polled once (registered), spread like
/// [`pending_timers`]. Must run inside the runtime's context.
fn pending_sleeps(n: usize) -> Vec<Pin<Box<tokio::time::Sleep>>> {
    let mut cx = Context::from_waker(Waker::noop());
    let step = Duration::from_secs(3_600) / u32::try_from(n.max(1)).expect("n fits u32");
    (0..n)
        .map(|i| {
            let d = Duration::from_secs(3_600) + step * u32::try_from(i).expect("i fits u32");
            let mut s = Box::pin(tokio::time::sleep(d));
            assert!(s.as_mut().poll(&mut cx).is_pending());
            s
        })
        .collect()
}

fn create_cancel(c: &mut Criterion) {
    // Start the global driver before the floor is measured, so that the
    // floor and the timers run in the same process state. While a process has
    // one thread, glibc's malloc skips its atomic operations; the driver
    // thread switches that off for good. Every program that holds a timer has
    // that thread, so a floor measured without it would be cheaper than any
    // real use of a bare channel (on this machine, 2026-11-29: about 135 ns
    // against 155-185 ns).
    let _ = tickwheel::handle();
    let mut g = c.benchmark_group("create_cancel");
    g.bench_function("floor: Instant::now + bounded(1)", |b| {
        b.iter(|| {
            let now = Instant::now();
            let ch = bounded::<Instant>(1);
            black_box((now, ch))
        })
    });
    g.bench_function("floor + try_send", |b| {
        b.iter(|| {
            let now = Instant::now();
            let (tx, rx) = bounded::<Instant>(1);
            let sent = tx.try_send(now);
            black_box((sent, rx))
        })
    });
    g.bench_function("tickwheel Timer", |b| {
        b.iter(|| black_box(Timer::new(LONG)))
    });
    g.bench_function("tickwheel Ticker", |b| {
        b.iter(|| black_box(tickwheel::Ticker::new(LONG)))
    });
    g.bench_function("tickwheel Callback", |b| {
        b.iter(|| black_box(tickwheel::after_func(LONG, || ())))
    });
    g.bench_function("crossbeam_channel::after", |b| {
        b.iter(|| black_box(crossbeam_channel::after(LONG)))
    });
    g.bench_function("crossbeam_channel::tick", |b| {
        b.iter(|| black_box(crossbeam_channel::tick(LONG)))
    });
    {
        let rt = tokio_runtime();
        let _ctx = rt.enter();
        let mut cx = Context::from_waker(Waker::noop());
        g.bench_function("tokio sleep + first poll", |b| {
            b.iter(|| tokio_sleep_register_drop(&mut cx))
        });
    }
    g.finish();
}

fn pending(c: &mut Criterion) {
    let mut g = c.benchmark_group("pending");
    for n in [0usize, 10_000, 1_000_000] {
        let driver = Driver::builder()
            .thread_name(format!("bench-pending-{n}"))
            .build()
            .expect("driver");
        let h = driver.handle();
        let held = pending_timers(&h, n);
        assert_eq!(h.stats().pending, n);
        g.bench_with_input(BenchmarkId::new("tickwheel Timer", n), &n, |b, _| {
            b.iter(|| black_box(h.timer(LONG)))
        });
        g.bench_with_input(BenchmarkId::new("tickwheel Ticker", n), &n, |b, _| {
            b.iter(|| black_box(h.ticker(LONG)))
        });
        g.bench_with_input(BenchmarkId::new("tickwheel Callback", n), &n, |b, _| {
            b.iter(|| black_box(h.after_func(LONG, || ())))
        });
        assert_eq!(
            h.stats().pending,
            n,
            "a cancelled timer stayed in the wheel"
        );
        drop(held);
        driver.shutdown();

        let rt = tokio_runtime();
        let _ctx = rt.enter();
        let held = pending_sleeps(n);
        let mut cx = Context::from_waker(Waker::noop());
        g.bench_with_input(
            BenchmarkId::new("tokio sleep + first poll", n),
            &n,
            |b, _| b.iter(|| tokio_sleep_register_drop(&mut cx)),
        );
        drop(held);
    }
    g.finish();
}

/// Runs `work(thread index, share)` on `threads` threads at once, `iters`
/// operations in all, and returns the wall time from the first start to the
/// last finish, scaled to exactly `iters` operations.
fn on_threads(threads: usize, iters: u64, work: &(dyn Fn(usize, u64) + Sync)) -> Duration {
    let per = iters.div_ceil(threads as u64).max(1);
    let barrier = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|i| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    work(i, per);
                    (start, Instant::now())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("bench thread panicked"))
            .collect()
    });
    let first = spans.iter().map(|s| s.0).min().expect("one thread");
    let last = spans.iter().map(|s| s.1).max().expect("one thread");
    (last - first).mul_f64(iters as f64 / (per * threads as u64) as f64)
}

fn threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("threads");
    let rt = tokio_runtime();
    let tokio_handle = rt.handle().clone();
    // A driver for each worker thread, so that the two threads share no
    // wheel lock (the remedy `Driver`'s docs give for many threads making
    // timers at once).
    let own_drivers: Vec<Driver> = (0..2)
        .map(|i| {
            Driver::builder()
                .thread_name(format!("bench-own-{i}"))
                .build()
                .expect("driver")
        })
        .collect();
    let own: Vec<Handle> = own_drivers.iter().map(Driver::handle).collect();
    let own = &own;
    type Work<'a> = Box<dyn Fn(usize, u64) + Sync + 'a>;
    let cases: Vec<(&str, Work)> = vec![
        (
            "floor: Instant::now + bounded(1)",
            Box::new(|_, n| {
                for _ in 0..n {
                    black_box((Instant::now(), bounded::<Instant>(1)));
                }
            }),
        ),
        (
            "tickwheel Timer",
            Box::new(|_, n| {
                for _ in 0..n {
                    drop(black_box(Timer::new(LONG)));
                }
            }),
        ),
        (
            "tickwheel Callback",
            Box::new(|_, n| {
                for _ in 0..n {
                    drop(black_box(tickwheel::after_func(LONG, || ())));
                }
            }),
        ),
        (
            "tickwheel Timer, a driver per thread",
            Box::new(move |i, n| {
                for _ in 0..n {
                    drop(black_box(own[i].timer(LONG)));
                }
            }),
        ),
        (
            "tickwheel Callback, a driver per thread",
            Box::new(move |i, n| {
                for _ in 0..n {
                    drop(black_box(own[i].after_func(LONG, || ())));
                }
            }),
        ),
        (
            "tokio sleep + first poll",
            Box::new(move |_, n| {
                let _ctx = tokio_handle.enter();
                let mut cx = Context::from_waker(Waker::noop());
                for _ in 0..n {
                    tokio_sleep_register_drop(&mut cx);
                }
            }),
        ),
    ];
    for (name, work) in &cases {
        for t in [1usize, 2] {
            g.bench_with_input(
                BenchmarkId::new(*name, format!("{t} thread(s)")),
                &t,
                |b, &t| b.iter_custom(|iters| on_threads(t, iters, work.as_ref())),
            );
        }
    }
    g.finish();
}

/// Empties every receiver, checking that each held exactly one value.
fn drain_all(rxs: impl Iterator<Item = Result<Instant, crossbeam_channel::TryRecvError>>) {
    let got = rxs.filter(Result::is_ok).count();
    assert_eq!(got, BURST, "not every timer delivered");
}

fn burst(c: &mut Criterion) {
    let mut g = c.benchmark_group("burst_100k");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    // Each iteration also re-arms and drains 100,000 timers untimed, so the
    // wall time is several times the measured time: keep these short.
    g.warm_up_time(Duration::from_millis(200));
    g.measurement_time(Duration::from_secs(1));

    // The floor: one try_send into each of 100,000 bounded(1) channels.
    let chans: Vec<(Sender<Instant>, Receiver<Instant>)> = (0..BURST).map(|_| bounded(1)).collect();
    g.bench_function("floor: try_send into each channel", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let now = Instant::now();
                for (tx, _) in &chans {
                    let _ = tx.try_send(now);
                }
                total += start.elapsed();
                drain_all(chans.iter().map(|(_, rx)| rx.try_recv()));
            }
            total
        })
    });
    drop(chans);

    // Manual clock: `advance` returns once every value is in its channel.
    {
        let clock = ManualClock::new();
        let driver = Driver::builder()
            .clock(clock.clone())
            .thread_name("bench-burst-manual")
            .build()
            .expect("driver");
        let h = driver.handle();
        let timers: Vec<Timer> = (0..BURST).map(|_| h.timer(Duration::MAX)).collect();
        g.bench_function("tickwheel ManualClock advance", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let at = clock.now() + LONG;
                    for t in &timers {
                        t.reset_at(at);
                    }
                    let start = Instant::now();
                    clock.advance(LONG);
                    total += start.elapsed();
                    drain_all(timers.iter().map(Timer::try_recv));
                }
                total
            })
        });
        drop(timers);
        driver.shutdown();
    }

    // Real driver: from the deadline until the last value is received (an
    // upper bound on "every value is in its channel": it adds the
    // receiving). Each iteration also waits ~80 ms for the deadline.
    g.measurement_time(Duration::from_millis(300));
    {
        let driver = Driver::builder()
            .thread_name("bench-burst-real")
            .build()
            .expect("driver");
        let h = driver.handle();
        let timers: Vec<Timer> = (0..BURST).map(|_| h.timer(Duration::MAX)).collect();
        g.bench_function("tickwheel real driver: deadline to all received", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // Re-arming 100,000 timers takes a few ms; leave room.
                    let deadline = Instant::now() + Duration::from_millis(80);
                    for t in &timers {
                        t.reset_at(deadline);
                    }
                    let now = Instant::now();
                    assert!(now < deadline, "re-arming took longer than the margin");
                    std::thread::sleep(deadline - now);
                    for t in &timers {
                        t.recv().expect("driver alive");
                    }
                    total += Instant::now() - deadline;
                }
                total
            })
        });
        drop(timers);
        driver.shutdown();
    }
    g.finish();
}

/// The `timer` crate, in the `create_cancel` group but run after every other
/// bench: it cancels lazily (a dropped guard only sets a flag, and the entry
/// leaves its heap when due), so its scheduler thread keeps working, and
/// freeing, for a while after the bench and would disturb whatever ran next.
fn timer_crate(c: &mut Criterion) {
    let mut g = c.benchmark_group("create_cancel");
    let timer = timer::Timer::new();
    let delay = chrono::Duration::seconds(1);
    g.bench_function("timer crate schedule_with_delay", |b| {
        b.iter(|| black_box(timer.schedule_with_delay(delay, || ())))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = create_cancel, pending, threads, burst, timer_crate
}

#[path = "support/provenance.rs"]
mod provenance;

// `criterion_main!`, plus a record of which sources were measured (for the
// bench report's staleness check).
fn main() {
    provenance::record_if_measuring("alternatives");
    benches();
    Criterion::default().configure_from_args().final_summary();
}
