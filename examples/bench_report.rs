//! The benchmark report (issue 6): measures what criterion's per-iteration
//! model does not fit and writes `docs/benchmarks.md` with PNG plots in
//! `docs/img/`.
//!
//! - Create + cancel cost of tickwheel and the alternatives, and its
//!   flatness with 0 / 10,000 / 1,000,000 timers pending (batches measured
//!   round-robin, median of the batches).
//! - Lateness (receive time − deadline) of one-shot waits of 100 µs, 1 ms
//!   and 10 ms: tickwheel, `std::thread::sleep`, a thread per timer,
//!   `crossbeam_channel::after`, `tokio::time::sleep`, the `timer` crate.
//! - Periodic accuracy of a 1 ms ticker read for 2 s: tickwheel `Ticker`, a
//!   `sleep(1 ms)` loop, `crossbeam_channel::tick`, `tokio::time::interval`.
//! - Idle cost: 100,000 timers due in an hour, 5 s of wall time: the global
//!   driver thread's wake-ups and CPU time.
//! - Memory per pending timer, with a counting global allocator.
//! - The performance targets of the core issue and of issue 6, each as a
//!   PASS / MISS line with the measured figure.
//! - If `cargo bench` left criterion results in the target directory, their
//!   medians too.
//!
//! Run: `cargo run --release --example bench_report` (about two minutes),
//! or `-- --quick` for a smoke run of a few seconds that writes to a
//! temporary directory instead of `docs/`.

use cap::Cap;
use crossbeam_channel::bounded;
use plotters::prelude::*;
use std::alloc::System;
use std::error::Error;
use std::fmt::Write as _;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::{Pin, pin};
use std::task::{Context, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tickwheel::{Driver, Handle, Timer};

#[path = "../benches/support/provenance.rs"]
mod provenance;

/// Counts live heap bytes (one atomic add per allocation and free).
#[global_allocator]
static ALLOC: Cap<System> = Cap::new(System, usize::MAX);

type Res<T> = Result<T, Box<dyn Error>>;

/// How much to measure.
#[derive(Clone, Copy, Debug)]
struct Config {
    quick: bool,
    /// Operations per create+cancel batch.
    batch_ops: u64,
    /// Round-robin rounds of batches (the median is kept).
    rounds: usize,
    /// The largest pending set for the flatness measurement.
    big_pending: usize,
    /// One-shot waits per duration and library.
    lateness_runs: usize,
    /// How long each ticker is read.
    ticker_window: Duration,
    /// Windows of tickwheel's ticker: the first is judged, the others are
    /// context (how often the machine's hiccups hit which thread).
    ticker_windows: usize,
    /// Timers pending during the idle measurement, and its wall time.
    idle_timers: usize,
    idle_window: Duration,
    /// Items per memory measurement.
    memory_items: usize,
}

impl Config {
    fn full() -> Self {
        Config {
            quick: false,
            batch_ops: 40_000,
            rounds: 25,
            big_pending: 1_000_000,
            lateness_runs: 500,
            ticker_window: Duration::from_secs(2),
            ticker_windows: 3,
            idle_timers: 100_000,
            idle_window: Duration::from_secs(5),
            memory_items: 100_000,
        }
    }

    fn quick() -> Self {
        Config {
            quick: true,
            batch_ops: 5_000,
            rounds: 5,
            big_pending: 100_000,
            lateness_runs: 20,
            ticker_window: Duration::from_millis(250),
            ticker_windows: 1,
            idle_timers: 10_000,
            idle_window: Duration::from_millis(500),
            memory_items: 10_000,
        }
    }
}

/// The cancelled timers' delay: they never fire during a measurement.
const LONG: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_millis(1);
const WAITS: [Duration; 3] = [
    Duration::from_micros(100),
    Duration::from_millis(1),
    Duration::from_millis(10),
];

fn main() -> Res<()> {
    let quick = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--quick") => true,
        Some(other) => {
            eprintln!("usage: bench_report [--quick]   (unknown argument {other:?})");
            std::process::exit(2);
        }
    };
    let cfg = if quick {
        Config::quick()
    } else {
        Config::full()
    };
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = if quick {
        std::env::temp_dir().join("tickwheel-bench-report")
    } else {
        manifest.join("docs")
    };
    std::fs::create_dir_all(out.join("img"))?;
    let started = Instant::now();
    let load_before = loadavg();
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for meaningful figures");
    }

    let criterion = read_criterion(&provenance::target_dir(&manifest), &manifest);
    let from_criterion = !cfg.quick
        && criterion
            .as_ref()
            .is_some_and(|c| c.has_group("create_cancel") && c.has_group("pending"));
    let (create, flat, micro) = if from_criterion {
        eprintln!("[1-2/6] create + cancel and flatness: from criterion's results");
        let c = criterion.as_ref().expect("checked");
        (c.create_cancel(), c.flatness(), Micro::Criterion)
    } else {
        eprintln!("[1/6] create + cancel (not judged: no criterion results of these sources) ...");
        let create = measure_create_cancel(&cfg);
        eprintln!("[2/6] flatness with pending timers ...");
        (create, measure_flatness(&cfg), Micro::Own)
    };
    eprintln!("[3/6] one-shot lateness ...");
    let lateness = measure_lateness(&cfg)?;
    eprintln!("[4/6] ticker accuracy ...");
    let tickers = measure_tickers(&cfg)?;
    eprintln!("[5/6] idle cost ...");
    let idle = measure_idle(&cfg)?;
    eprintln!("[6/6] memory per pending timer ...");
    let memory = measure_memory(&cfg)?;

    let plots_drawn = match load_font() {
        Some(font) => {
            plot_lateness(&out.join("img/lateness.png"), &lateness)?;
            plot_tickers(&out.join("img/ticker.png"), &tickers)?;
            eprintln!("plots drawn with the font {}", font.display());
            true
        }
        None => {
            eprintln!("no font found (set TICKWHEEL_FONT to a .ttf file): plots not drawn");
            false
        }
    };
    let report = Report {
        cfg,
        create,
        flat,
        micro,
        lateness,
        tickers,
        idle,
        memory,
        criterion,
        plots_drawn,
        load: (load_before, loadavg()),
        took: started.elapsed(),
    };
    let md = report.markdown();
    let md_path = out.join("benchmarks.md");
    std::fs::write(&md_path, &md)?;
    println!("{}", report.targets_text());
    println!(
        "wrote {} (and plots in {})",
        md_path.display(),
        out.join("img").display()
    );
    println!("took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

// ---------------------------------------------------------------------------
// Create + cancel

/// One contender of a round-robin micro-benchmark: `work(n)` performs `n`
/// operations.
struct Contender<'a> {
    name: String,
    work: Box<dyn FnMut(u64) + 'a>,
}

impl<'a> Contender<'a> {
    fn new(name: impl Into<String>, work: impl FnMut(u64) + 'a) -> Self {
        Contender {
            name: name.into(),
            work: Box::new(work),
        }
    }
}

/// Runs a warm-up round, then `cfg.rounds` rounds of one batch per
/// contender, in turn (so a change in machine load hits all alike), and
/// returns each contender's median ns per operation.
fn round_robin(cfg: &Config, contenders: &mut [Contender<'_>]) -> Vec<(String, f64)> {
    let mut samples = vec![Vec::with_capacity(cfg.rounds); contenders.len()];
    for round in 0..=cfg.rounds {
        for (c, s) in contenders.iter_mut().zip(&mut samples) {
            let start = Instant::now();
            (c.work)(cfg.batch_ops);
            let ns = start.elapsed().as_nanos() as f64 / cfg.batch_ops as f64;
            if round > 0 {
                s.push(ns);
            }
        }
    }
    contenders
        .iter()
        .zip(samples)
        .map(|(c, s)| (c.name.clone(), median(s)))
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime")
}

/// A tokio sleep created, polled once (registered with the runtime's timer
/// wheel) and dropped. Runs inside the runtime's context.
fn tokio_sleep_register_drop(cx: &mut Context<'_>) {
    let mut sleep = pin!(tokio::time::sleep(LONG));
    assert!(sleep.as_mut().poll(cx).is_pending());
}

fn tokio_work(rt: &tokio::runtime::Runtime) -> impl FnMut(u64) + '_ {
    move |n| {
        let _ctx = rt.enter();
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..n {
            tokio_sleep_register_drop(&mut cx);
        }
    }
}

/// Names used in the tables and to find figures again.
const FLOOR: &str = "floor: Instant::now + bounded(1)";
const FLOOR_SEND: &str = "floor + try_send";
const TW_TIMER: &str = "tickwheel Timer";
const TW_TICKER: &str = "tickwheel Ticker";
const TW_CALLBACK: &str = "tickwheel Callback";
const CB_AFTER: &str = "crossbeam_channel::after";
const CB_TICK: &str = "crossbeam_channel::tick";
const TOKIO_SLEEP: &str = "tokio sleep + first poll";
const TIMER_CRATE: &str = "timer crate schedule_with_delay";

fn measure_create_cancel(cfg: &Config) -> Vec<(String, f64)> {
    let rt = tokio_runtime();
    let mut contenders = vec![
        Contender::new(FLOOR, |n| {
            for _ in 0..n {
                std::hint::black_box((Instant::now(), bounded::<Instant>(1)));
            }
        }),
        Contender::new(FLOOR_SEND, |n| {
            for _ in 0..n {
                let now = Instant::now();
                let (tx, rx) = bounded::<Instant>(1);
                std::hint::black_box((tx.try_send(now).is_ok(), rx));
            }
        }),
        Contender::new(TW_TIMER, |n| {
            for _ in 0..n {
                drop(std::hint::black_box(Timer::new(LONG)));
            }
        }),
        Contender::new(TW_TICKER, |n| {
            for _ in 0..n {
                drop(std::hint::black_box(tickwheel::tick(LONG)));
            }
        }),
        Contender::new(TW_CALLBACK, |n| {
            for _ in 0..n {
                drop(std::hint::black_box(tickwheel::after_func(LONG, || ())));
            }
        }),
        Contender::new(CB_AFTER, |n| {
            for _ in 0..n {
                std::hint::black_box(crossbeam_channel::after(LONG));
            }
        }),
        Contender::new(CB_TICK, |n| {
            for _ in 0..n {
                std::hint::black_box(crossbeam_channel::tick(LONG));
            }
        }),
        Contender::new(TOKIO_SLEEP, tokio_work(&rt)),
    ];
    let mut results = round_robin(cfg, &mut contenders);
    drop(contenders);

    // Alone and last: the timer crate cancels lazily (a dropped guard only
    // sets a flag; the entry leaves its heap when due), so its scheduler
    // thread keeps working for a second after this and would disturb the
    // others. Dropping the timer stops its threads.
    let timer = timer::Timer::new();
    let delay = chrono::Duration::from_std(LONG).expect("1 s fits");
    let mut alone = [Contender::new(TIMER_CRATE, |n| {
        for _ in 0..n {
            std::hint::black_box(timer.schedule_with_delay(delay, || ()));
        }
    })];
    results.extend(round_robin(cfg, &mut alone));
    drop(alone);
    drop(timer);
    results
}

/// ns/op by contender name and pending count.
struct Flatness {
    counts: Vec<usize>,
    /// (name, ns/op for each count)
    rows: Vec<(String, Vec<f64>)>,
}

/// `n` timers spread over the second hour from now (none fires during a run).
fn hold_timers(h: &Handle, n: usize) -> Vec<Timer> {
    let step = Duration::from_secs(3_600).as_nanos() as u64 / n.max(1) as u64;
    (0..n as u64)
        .map(|i| h.timer(Duration::from_secs(3_600) + Duration::from_nanos(i * step)))
        .collect()
}

/// `n` registered tokio sleeps, spread like [`hold_timers`].
fn hold_sleeps(rt: &tokio::runtime::Runtime, n: usize) -> Vec<Pin<Box<tokio::time::Sleep>>> {
    let _ctx = rt.enter();
    let mut cx = Context::from_waker(Waker::noop());
    let step = Duration::from_secs(3_600).as_nanos() as u64 / n.max(1) as u64;
    (0..n as u64)
        .map(|i| {
            let d = Duration::from_secs(3_600) + Duration::from_nanos(i * step);
            let mut s = Box::pin(tokio::time::sleep(d));
            assert!(s.as_mut().poll(&mut cx).is_pending());
            s
        })
        .collect()
}

fn measure_flatness(cfg: &Config) -> Flatness {
    let counts = vec![0, 10_000, cfg.big_pending];
    let drivers: Vec<Driver> = counts
        .iter()
        .map(|n| {
            Driver::builder()
                .thread_name(format!("report-pending-{n}"))
                .build()
                .expect("driver")
        })
        .collect();
    let handles: Vec<Handle> = drivers.iter().map(Driver::handle).collect();
    let held: Vec<Vec<Timer>> = handles
        .iter()
        .zip(&counts)
        .map(|(h, &n)| hold_timers(h, n))
        .collect();
    let runtimes: Vec<_> = counts.iter().map(|_| tokio_runtime()).collect();
    let held_sleeps: Vec<_> = runtimes
        .iter()
        .zip(&counts)
        .map(|(rt, &n)| hold_sleeps(rt, n))
        .collect();
    for (h, &n) in handles.iter().zip(&counts) {
        assert_eq!(h.stats().pending, n);
    }

    let mut contenders = Vec::new();
    for (i, &n) in counts.iter().enumerate() {
        let h = &handles[i];
        contenders.push(Contender::new(format!("{TW_TIMER}@{n}"), move |k| {
            for _ in 0..k {
                drop(std::hint::black_box(h.timer(LONG)));
            }
        }));
        contenders.push(Contender::new(format!("{TW_TICKER}@{n}"), move |k| {
            for _ in 0..k {
                drop(std::hint::black_box(h.ticker(LONG)));
            }
        }));
        contenders.push(Contender::new(format!("{TW_CALLBACK}@{n}"), move |k| {
            for _ in 0..k {
                drop(std::hint::black_box(h.after_func(LONG, || ())));
            }
        }));
        contenders.push(Contender::new(
            format!("{TOKIO_SLEEP}@{n}"),
            tokio_work(&runtimes[i]),
        ));
    }
    let results = round_robin(cfg, &mut contenders);
    drop(contenders);
    for (h, &n) in handles.iter().zip(&counts) {
        assert_eq!(
            h.stats().pending,
            n,
            "a cancelled timer stayed in the wheel"
        );
    }
    drop(held);
    drop(held_sleeps);
    for d in drivers {
        d.shutdown();
    }

    let mut rows: Vec<(String, Vec<f64>)> = Vec::new();
    for (key, ns) in results {
        let (name, _) = key.split_once('@').expect("name@count");
        match rows.iter_mut().find(|r| r.0 == name) {
            Some(r) => r.1.push(ns),
            None => rows.push((name.to_string(), vec![ns])),
        }
    }
    Flatness { counts, rows }
}

// ---------------------------------------------------------------------------
// Lateness

const L_TICKWHEEL: &str = "tickwheel::after";
const L_SLEEP: &str = "std::thread::sleep";
const L_SLEEP_SLACK: &str = "std::thread::sleep, 1 ns timer slack";
const L_THREAD: &str = "thread per timer (spawn + sleep + send)";
const L_CB: &str = "crossbeam_channel::after";
const L_TOKIO: &str = "tokio::time::sleep";
const L_TIMER: &str = "timer crate";

/// Lateness samples in ns (negative would be early), by wait and library.
struct Lateness {
    runs: usize,
    /// The timer slack of the thread that ran the `std::thread::sleep` rows
    /// (and spawned the thread-per-timer ones), ns, if readable.
    own_slack_ns: Option<u64>,
    /// For each of [`WAITS`]: (library, samples).
    by_wait: Vec<Vec<(&'static str, Vec<i64>)>>,
}

fn signed_ns(later: Instant, earlier: Instant) -> i64 {
    if later >= earlier {
        (later - earlier).as_nanos() as i64
    } else {
        -((earlier - later).as_nanos() as i64)
    }
}

fn measure_lateness(cfg: &Config) -> Res<Lateness> {
    let rt = tokio_runtime();
    let timer = timer::Timer::new();
    // Start the global driver before the first measurement.
    tickwheel::after(Duration::ZERO).recv()?;
    // This thread's slack (inherited, usually Linux's default of 50 µs):
    // read, not assumed, for the text of section 3.
    let own_slack_ns = timer_slack_path()
        .and_then(std::fs::read_to_string)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let names = [
        L_TICKWHEEL,
        L_SLEEP,
        L_SLEEP_SLACK,
        L_THREAD,
        L_CB,
        L_TOKIO,
        L_TIMER,
    ];
    // tickwheel's driver thread runs with 1 ns of timer slack; a thread
    // that sleeps by itself has the default 50 µs. This sleeper shows what
    // the slack alone is worth: it sleeps on request and reports lateness.
    let (ask, asked) = bounded::<Duration>(0);
    let (tell, told) = bounded::<i64>(0);
    let slacker = std::thread::spawn(move || -> std::io::Result<()> {
        set_timer_slack_1ns()?;
        for d in asked {
            let start = Instant::now();
            std::thread::sleep(d);
            if tell.send(signed_ns(Instant::now(), start + d)).is_err() {
                break;
            }
        }
        Ok(())
    });
    let mut by_wait = Vec::new();
    for d in WAITS {
        let mut samples: Vec<Vec<i64>> = vec![Vec::with_capacity(cfg.lateness_runs); names.len()];
        // Libraries in turn within each run, so load changes hit all alike.
        for _ in 0..cfg.lateness_runs {
            // tickwheel: the deadline is taken before the timer is made, as
            // for every library; the delivered value (the exact deadline)
            // checks "never early".
            let start = Instant::now();
            let t = tickwheel::after(d);
            let value = t.recv()?;
            let got = Instant::now();
            assert!(
                value >= start + d && got >= value,
                "tickwheel delivered early: value {:?} after start, wait {d:?}",
                value - start
            );
            samples[0].push(signed_ns(got, start + d));

            let start = Instant::now();
            std::thread::sleep(d);
            samples[1].push(signed_ns(Instant::now(), start + d));

            // Err here means the sleeper stopped: its error is below.
            if ask.send(d).is_ok() {
                samples[2].extend(told.recv().ok());
            }

            let start = Instant::now();
            let (tx, rx) = bounded(1);
            let th = std::thread::spawn(move || {
                std::thread::sleep(d);
                let _ = tx.send(());
            });
            rx.recv()?;
            samples[3].push(signed_ns(Instant::now(), start + d));
            th.join().map_err(|_| "sleeper thread panicked")?;

            let start = Instant::now();
            crossbeam_channel::after(d).recv()?;
            samples[4].push(signed_ns(Instant::now(), start + d));

            let late = rt.block_on(async {
                let start = Instant::now();
                tokio::time::sleep(d).await;
                signed_ns(Instant::now(), start + d)
            });
            samples[5].push(late);

            let (tx, rx) = bounded(1);
            let start = Instant::now();
            let guard = timer.schedule_with_delay(chrono::Duration::from_std(d)?, move || {
                let _ = tx.try_send(());
            });
            rx.recv()?;
            samples[6].push(signed_ns(Instant::now(), start + d));
            drop(guard);
        }
        by_wait.push(names.iter().copied().zip(samples).collect());
    }
    drop(ask);
    slacker
        .join()
        .map_err(|_| "slack sleeper thread panicked")?
        .map_err(|e| format!("cannot set a thread's timer slack to 1 ns: {e}"))?;
    Ok(Lateness {
        runs: cfg.lateness_runs,
        own_slack_ns,
        by_wait,
    })
}

/// Nearest-rank percentile of sorted samples.
fn pct(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn sorted(v: &[i64]) -> Vec<i64> {
    let mut s = v.to_vec();
    s.sort_unstable();
    s
}

// ---------------------------------------------------------------------------
// Tickers

const T_TICKWHEEL: &str = "tickwheel::Ticker";
const T_SLEEP: &str = "sleep(1 ms) loop";
const T_CB: &str = "crossbeam_channel::tick";
const T_TOKIO: &str = "tokio::time::interval";
const T_GRID: &str =
    "reference: a thread sleeping to each grid point, 1 ns slack, beside tickwheel::Ticker";

/// Sets the calling thread's timer slack to 1 ns, as tickwheel's driver
/// thread does (Linux: `/proc/<tid>/timerslack_ns`).
fn set_timer_slack_1ns() -> std::io::Result<()> {
    std::fs::write(timer_slack_path()?, "1")
}

/// The calling thread's `/proc/<tid>/timerslack_ns` (Linux; the file is not
/// under `/proc/thread-self/`).
fn timer_slack_path() -> std::io::Result<String> {
    Ok(format!("/proc/{}/timerslack_ns", current_tid()?))
}

/// The calling thread's tid, from the `/proc/thread-self` link (Linux).
fn current_tid() -> std::io::Result<String> {
    let link = std::fs::read_link("/proc/thread-self")?;
    link.file_name()
        .and_then(|s| s.to_str())
        .map(str::to_string)
        .ok_or_else(|| std::io::Error::other("unexpected /proc/thread-self link"))
}

/// One ticker read for a window.
struct TickRun {
    name: &'static str,
    start: Instant,
    /// Receive times, in order.
    got: Vec<Instant>,
    /// Ticks the library reports dropped (tickwheel only).
    dropped: Option<u64>,
    /// Of those, the ticks its driver skipped because it woke a period or
    /// more late (`Stats::skipped_ticks` of the ticker's own driver), as
    /// opposed to ticks offered to a full channel (tickwheel only).
    skipped: Option<u64>,
    /// The latest the driver delivered a tick, after it was due (tickwheel
    /// only): how late the driver thread itself woke.
    driver_late: Option<Duration>,
    /// Who had the CPUs during the window (tickwheel only; Linux, if
    /// `/proc` schedstat is readable).
    sched: Option<SchedWindow>,
}

impl TickRun {
    /// "N" ticks reported dropped, with how many of them the driver skipped
    /// by waking late; "–" for a library that reports none.
    fn dropped_text(&self) -> String {
        match (self.dropped, self.skipped) {
            (Some(d), Some(k)) => format!("{d} ({k} skipped by the late driver)"),
            (Some(d), None) => d.to_string(),
            _ => "–".to_string(),
        }
    }
}

/// Scheduling context of one ticker window, from `/proc/<pid>/task/<tid>/schedstat`
/// (field 1: time on a CPU, field 2: time runnable but waiting for one).
struct SchedWindow {
    /// Time the driver thread spent runnable but not running.
    driver_wait: Duration,
    /// Times the driver thread was put on a CPU.
    driver_runs: u64,
    /// Time the consumer thread spent runnable but not running.
    consumer_wait: Duration,
    /// The threads of other processes (kernel threads included) that ran
    /// longest during the window, with their CPU time: at most three, each
    /// over 0.5 ms.
    others: Vec<(String, Duration)>,
}

impl SchedWindow {
    fn describe(&self) -> String {
        let others = if self.others.is_empty() {
            "none over 0.5 ms".to_string()
        } else {
            self.others
                .iter()
                .map(|(n, d)| format!("{n} {:.1} ms", d.as_secs_f64() * 1e3))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "the driver thread, put on a CPU {} times, waited {:.2} ms in all for one while runnable, the consumer {:.2} ms; other processes' busiest threads in the window: {others}",
            self.driver_runs,
            self.driver_wait.as_secs_f64() * 1e3,
            self.consumer_wait.as_secs_f64() * 1e3,
        )
    }
}

/// (time on a CPU, time runnable but waiting, times put on a CPU) of a
/// thread, times in ns.
fn schedstat(pid: &str, tid: &str) -> Option<(u64, u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat")).ok()?;
    let mut f = s.split_whitespace().map(|x| x.parse::<u64>().ok());
    Some((f.next()??, f.next()??, f.next()??))
}

/// CPU time (ns) of every thread of every other process, keyed by
/// (pid, tid), with its name.
fn others_cpu() -> std::collections::HashMap<(String, String), (String, u64)> {
    let me = std::process::id().to_string();
    let mut out = std::collections::HashMap::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for p in procs.flatten() {
        let pid = p.file_name().to_string_lossy().into_owned();
        if pid == me || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(tasks) = std::fs::read_dir(p.path().join("task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let tid = t.file_name().to_string_lossy().into_owned();
            let (Some((cpu, _, _)), Ok(comm)) = (
                schedstat(&pid, &tid),
                std::fs::read_to_string(t.path().join("comm")),
            ) else {
                continue;
            };
            out.insert((pid.clone(), tid), (comm.trim_end().to_string(), cpu));
        }
    }
    out
}

/// Snapshot at the start of a window, for [`SchedWindow`].
struct SchedStart {
    driver_tid: String,
    consumer_tid: String,
    driver: (u64, u64, u64),
    consumer: (u64, u64, u64),
    others: std::collections::HashMap<(String, String), (String, u64)>,
}

impl SchedStart {
    /// Reads the counters now; `None` off Linux or without schedstat.
    fn take(driver_thread: &str) -> Option<SchedStart> {
        // A new thread names itself once it runs, which may be after `build`
        // returns: look for up to a second.
        let driver_tid = (0..1000).find_map(|_| {
            find_thread(driver_thread)
                .inspect_err(|_| std::thread::sleep(Duration::from_millis(1)))
                .ok()
        })?;
        let consumer_tid = current_tid().ok()?;
        Some(SchedStart {
            driver: schedstat("self", &driver_tid)?,
            consumer: schedstat("self", &consumer_tid)?,
            driver_tid,
            consumer_tid,
            others: others_cpu(),
        })
    }

    fn finish(self) -> Option<SchedWindow> {
        let driver = schedstat("self", &self.driver_tid)?;
        let consumer = schedstat("self", &self.consumer_tid)?;
        let mut others: Vec<(String, Duration)> = others_cpu()
            .into_iter()
            .filter_map(|(k, (name, cpu))| {
                let before = self.others.get(&k).map_or(0, |b| b.1);
                let ran = Duration::from_nanos(cpu.saturating_sub(before));
                (ran > Duration::from_micros(500)).then_some((name, ran))
            })
            .collect();
        others.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        others.truncate(3);
        Some(SchedWindow {
            driver_wait: Duration::from_nanos(driver.1.saturating_sub(self.driver.1)),
            driver_runs: driver.2.saturating_sub(self.driver.2),
            consumer_wait: Duration::from_nanos(consumer.1.saturating_sub(self.consumer.1)),
            others,
        })
    }
}

struct Tickers {
    window: Duration,
    runs: Vec<TickRun>,
    /// Further windows of tickwheel's ticker, each with the thread beside
    /// it: (tickwheel, reference).
    more: Vec<(TickRun, TickRun)>,
    /// Windows of tickwheel's ticker on a driver with one hedge thread
    /// (`Builder::hedge_threads(1)`), each with the thread beside it.
    hedged: Vec<(TickRun, TickRun)>,
}

/// The name of the report's ticker driver thread: a name the kernel keeps
/// whole (15 bytes at most) and that its callback thread's name
/// ("<name>-callbacks", cut to 15 bytes) and its hedge threads' names
/// ("<name>-hedge<k>", cut likewise) do not equal.
fn ticker_driver_name(hedge: usize) -> &'static str {
    if hedge == 0 { "tw-ticker" } else { "tw-hedged" }
}

/// Reads `next()` until a receive lands after the window (plus half a
/// period, so the last tick of the window counts even if slightly late);
/// returns the receive times inside it.
fn read_ticks(start: Instant, window: Duration, mut next: impl FnMut()) -> Vec<Instant> {
    let end = start + window + TICK / 2;
    let mut got = Vec::with_capacity((window.as_nanos() / TICK.as_nanos()) as usize + 16);
    loop {
        next();
        let now = Instant::now();
        if now > end {
            return got;
        }
        got.push(now);
    }
}

/// A thread, with the driver's timer slack, that sleeps to each point of
/// the grid `start + k·TICK` (k = 1, 2, …) for `window`; it returns `start`
/// and its wake-up times.
fn grid_sleeper(
    window: Duration,
    start: Instant,
) -> std::thread::JoinHandle<std::io::Result<(Instant, Vec<Instant>)>> {
    std::thread::spawn(move || {
        set_timer_slack_1ns()?;
        let mut k = 0;
        let got = read_ticks(start, window, || {
            k += 1;
            let due = start + TICK * k;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        });
        Ok((start, got))
    })
}

/// One window of tickwheel's ticker, with a bare thread beside it sleeping
/// to a grid half a period off (the machine's own hiccups in the same
/// window; the offset keeps their wake-ups from landing on the same
/// moment).
/// `hedge` is the driver's number of hedge threads (0: the default
/// driver).
fn tickwheel_window(w: Duration, hedge: usize) -> Res<(TickRun, TickRun)> {
    // A driver of its own (the global driver's code, on a thread of its
    // own), so that its lateness figures are this ticker's deliveries only.
    let name = ticker_driver_name(hedge);
    let driver = Driver::builder()
        .thread_name(name)
        .hedge_threads(hedge)
        .build()?;
    let h = driver.handle();
    let sched = SchedStart::take(name);
    let start = Instant::now();
    // Both grids count from `start`: the ticker's (made just below) within
    // microseconds of it, the sleeper's half a period later.
    let sleeper = grid_sleeper(w, start + TICK / 2);
    let ticker = h.ticker(TICK);
    let mut n = 0;
    let mut driver_late = Duration::ZERO;
    let got = read_ticks(start, w, || {
        // Often enough that the lateness window (the last
        // LATENESS_WINDOW deliveries) sees every delivery; read before
        // waiting for the next tick, so that no receive time includes it.
        if n > 0 && n % (tickwheel::LATENESS_WINDOW / 2) == 0 {
            driver_late = driver_late.max(h.stats().lateness.max);
        }
        ticker.recv().expect("driver alive");
        n += 1;
    });
    driver_late = driver_late.max(h.stats().lateness.max);
    let sched = sched.and_then(SchedStart::finish);
    let (grid_start, grid_got) = sleeper.join().map_err(|_| "grid sleeper panicked")??;
    let tw = TickRun {
        name: T_TICKWHEEL,
        start,
        got,
        dropped: Some(ticker.dropped()),
        skipped: Some(h.stats().skipped_ticks),
        driver_late: Some(driver_late),
        sched,
    };
    let grid = TickRun {
        name: T_GRID,
        start: grid_start,
        got: grid_got,
        dropped: None,
        skipped: None,
        driver_late: None,
        sched: None,
    };
    Ok((tw, grid))
}

fn measure_tickers(cfg: &Config) -> Res<Tickers> {
    let w = cfg.ticker_window;
    let mut runs = Vec::new();

    // tickwheel's ticker, and the machine's own hiccups beside it.
    let (tw, grid) = tickwheel_window(w, 0)?;
    runs.push(tw);

    let start = Instant::now();
    let got = read_ticks(start, w, || std::thread::sleep(TICK));
    runs.push(TickRun {
        name: T_SLEEP,
        start,
        got,
        dropped: None,
        skipped: None,
        driver_late: None,
        sched: None,
    });

    let start = Instant::now();
    let rx = crossbeam_channel::tick(TICK);
    let got = read_ticks(start, w, || {
        rx.recv().expect("tick channel never closes");
    });
    runs.push(TickRun {
        name: T_CB,
        start,
        got,
        dropped: None,
        skipped: None,
        driver_late: None,
        sched: None,
    });

    let rt = tokio_runtime();
    let (start, got) = rt.block_on(async {
        let start = Instant::now();
        // interval_at so that the first tick is one period in, as for the
        // others (tokio's `interval` completes its first tick at once).
        let mut iv = tokio::time::interval_at(tokio::time::Instant::from_std(start + TICK), TICK);
        let end = start + w + TICK / 2;
        let mut got = Vec::new();
        loop {
            iv.tick().await;
            let now = Instant::now();
            if now > end {
                break;
            }
            got.push(now);
        }
        (start, got)
    });
    runs.push(TickRun {
        name: T_TOKIO,
        start,
        got,
        dropped: None,
        skipped: None,
        driver_late: None,
        sched: None,
    });

    runs.push(grid);
    let more = (1..cfg.ticker_windows)
        .map(|_| tickwheel_window(w, 0))
        .collect::<Res<Vec<_>>>()?;
    let hedged = (0..cfg.ticker_windows)
        .map(|_| tickwheel_window(w, 1))
        .collect::<Res<Vec<_>>>()?;
    Ok(Tickers {
        window: w,
        runs,
        more,
        hedged,
    })
}

/// Figures of one ticker run.
struct TickStats {
    ticks: usize,
    ideal: usize,
    /// Mean of (interval − period), µs.
    mean_err_us: f64,
    /// p99 of |interval − period|, µs.
    p99_jitter_us: f64,
    /// Last receive minus its place on the ideal grid, ms.
    final_lag_ms: f64,
    /// Intervals longer than 1.5 periods (a tick late by more than half a
    /// period, or missing).
    gaps: usize,
}

impl TickRun {
    fn errors_ns(&self) -> Vec<i64> {
        self.got
            .windows(2)
            .map(|w| signed_ns(w[1], w[0]) - TICK.as_nanos() as i64)
            .collect()
    }

    /// The largest lag of any receive (for the reference thread: its
    /// latest wake-up, since it sleeps to the grid itself).
    fn max_lag_ms(&self) -> f64 {
        (0..self.got.len())
            .map(|k| self.lag_ms(k))
            .fold(0.0, f64::max)
    }

    fn lag_ms(&self, k: usize) -> f64 {
        let ideal = self.start + TICK * (k as u32 + 1);
        signed_ns(self.got[k], ideal) as f64 / 1e6
    }

    fn stats(&self, window: Duration) -> TickStats {
        let errs = self.errors_ns();
        let mean = if errs.is_empty() {
            0.0
        } else {
            errs.iter().sum::<i64>() as f64 / errs.len() as f64
        };
        let abs: Vec<i64> = sorted(&errs.iter().map(|e| e.abs()).collect::<Vec<_>>());
        TickStats {
            ticks: self.got.len(),
            ideal: (window.as_nanos() / TICK.as_nanos()) as usize,
            mean_err_us: mean / 1e3,
            p99_jitter_us: pct(&abs, 0.99) as f64 / 1e3,
            gaps: errs
                .iter()
                .filter(|&&e| e > TICK.as_nanos() as i64 / 2)
                .count(),
            final_lag_ms: if self.got.is_empty() {
                0.0
            } else {
                self.lag_ms(self.got.len() - 1)
            },
        }
    }
}

// ---------------------------------------------------------------------------
// Idle cost

struct Idle {
    timers: usize,
    window: Duration,
    wakeups: u64,
    /// From /proc/self/task/<tid>/schedstat (ns on CPU), if readable.
    cpu_ns: Option<u64>,
    /// utime + stime from /proc/self/task/<tid>/stat, in clock ticks.
    cpu_ticks: u64,
}

/// The tid of this process's thread named `name`.
fn find_thread(name: &str) -> Res<String> {
    for entry in std::fs::read_dir("/proc/self/task")? {
        let entry = entry?;
        let comm = std::fs::read_to_string(entry.path().join("comm"))?;
        if comm.trim_end() == name {
            return Ok(entry.file_name().to_string_lossy().into_owned());
        }
    }
    Err(format!("no thread named {name:?}").into())
}

/// (utime + stime in clock ticks, ns on CPU from schedstat if available).
fn thread_cpu(tid: &str) -> Res<(u64, Option<u64>)> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line, so the 12th and 13th after it.
    let rest = stat.rsplit_once(')').ok_or("malformed stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok((ticks, schedstat("self", tid).map(|(on_cpu, _, _)| on_cpu)))
}

fn measure_idle(cfg: &Config) -> Res<Idle> {
    let h = tickwheel::handle();
    let tid = find_thread("tickwheel")?;
    let held: Vec<Timer> = (0..cfg.idle_timers)
        .map(|i| h.timer(Duration::from_secs(3_600) + Duration::from_micros(i as u64)))
        .collect();
    // Let the wake-up caused by the new earliest deadline happen first.
    std::thread::sleep(Duration::from_millis(20));
    let before = (tickwheel::stats().wakeups, thread_cpu(&tid)?);
    std::thread::sleep(cfg.idle_window);
    let after = (tickwheel::stats().wakeups, thread_cpu(&tid)?);
    drop(held);
    Ok(Idle {
        timers: cfg.idle_timers,
        window: cfg.idle_window,
        wakeups: after.0 - before.0,
        cpu_ns: match (before.1.1, after.1.1) {
            (Some(b), Some(a)) => Some(a - b),
            _ => None,
        },
        cpu_ticks: after.1.0 - before.1.0,
    })
}

// ---------------------------------------------------------------------------
// Memory

/// (name, heap bytes per item, bytes of the handle itself)
struct Memory {
    items: usize,
    rows: Vec<(&'static str, f64, usize)>,
}

/// Heap bytes per item while `n` items made by `make` are alive (the vector
/// holding them is allocated before the baseline).
fn heap_per_item<T>(n: usize, mut make: impl FnMut(usize) -> T) -> f64 {
    let mut held: Vec<T> = Vec::with_capacity(n);
    let before = ALLOC.allocated();
    for i in 0..n {
        held.push(make(i));
    }
    let after = ALLOC.allocated();
    drop(held);
    (after as f64 - before as f64) / n as f64
}

fn measure_memory(cfg: &Config) -> Res<Memory> {
    let n = cfg.memory_items;
    let hour = Duration::from_secs(3_600);
    // A fresh driver for each kind, so each pays for its own arena.
    let on_fresh_driver = |what: &dyn Fn(&Handle) -> f64| -> Res<f64> {
        let driver = Driver::builder().thread_name("report-memory").build()?;
        let bytes = what(&driver.handle());
        driver.shutdown();
        Ok(bytes)
    };
    let timer = on_fresh_driver(&|h| heap_per_item(n, |_| h.timer(hour)))?;
    let ticker = on_fresh_driver(&|h| heap_per_item(n, |_| h.ticker(hour)))?;
    let callback = on_fresh_driver(&|h| heap_per_item(n, |_| h.after_func(hour, || ())))?;
    let channel = heap_per_item(n, |_| bounded::<Instant>(1));
    let rt = tokio_runtime();
    let sleep = {
        let _ctx = rt.enter();
        let mut cx = Context::from_waker(Waker::noop());
        heap_per_item(n, |_| {
            let mut s = Box::pin(tokio::time::sleep(hour));
            assert!(s.as_mut().poll(&mut cx).is_pending());
            s
        })
    };
    let after = heap_per_item(n, |_| crossbeam_channel::after(hour));
    Ok(Memory {
        items: n,
        rows: vec![
            (
                "floor: a bounded(1) channel (both ends)",
                channel,
                size_of::<(
                    crossbeam_channel::Sender<Instant>,
                    crossbeam_channel::Receiver<Instant>,
                )>(),
            ),
            (TW_TIMER, timer, size_of::<Timer>()),
            (TW_TICKER, ticker, size_of::<tickwheel::Ticker>()),
            (TW_CALLBACK, callback, size_of::<tickwheel::Callback>()),
            (
                "tokio Sleep (Box::pin, registered)",
                sleep,
                size_of::<Pin<Box<tokio::time::Sleep>>>(),
            ),
            (
                CB_AFTER,
                after,
                size_of::<crossbeam_channel::Receiver<Instant>>(),
            ),
        ],
    })
}

// ---------------------------------------------------------------------------
// Criterion results left by `cargo bench`

struct CriterionRow {
    group: String,
    function: String,
    value: Option<String>,
    median_ns: f64,
    /// The 95 % confidence interval of the median.
    ci: (f64, f64),
}

/// The criterion results this report may judge from: only those measured
/// on the current sources (see `benches/support/provenance.rs`).
struct CriterionData {
    dir: PathBuf,
    /// When the oldest and newest of `rows` were written.
    oldest: Option<SystemTime>,
    newest: Option<SystemTime>,
    /// Results found but left out: written before the last measuring run of
    /// their bench, or by a run on other sources.
    ignored: usize,
    /// When the earliest measuring run on the current sources started.
    started: Option<SystemTime>,
    /// Benches whose results were all left out because the directory's file
    /// times are not the ones the bench left (see [`times_kept`]).
    times_lost: Vec<&'static str>,
    rows: Vec<CriterionRow>,
}

/// How far a provenance record's file time may lie from the start it
/// records. The bench writes the record right after taking that start
/// (before it measures anything), so the two agree to within moments
/// (the file time may even be a few ms earlier: it comes from the kernel's
/// coarse clock).
const RECORD_SLACK: Duration = Duration::from_secs(10);

/// Whether the file times under the target directory are still the ones
/// the bench left: the freshness test compares a result's file time with
/// its bench's recorded start, which means nothing after a copy that did
/// not keep file times (`cp -r`) or a `touch`: every result, stale ones
/// included, would then look written after the start.
fn times_kept(record_written: SystemTime, started: SystemTime) -> bool {
    match record_written.duration_since(started) {
        Ok(after) => after <= RECORD_SLACK,
        Err(before) => before.duration() <= RECORD_SLACK,
    }
}

/// Which bench binary writes each criterion group (for the staleness check;
/// a group missing here is never taken as fresh).
const GROUP_BENCH: [(&str, &str); 6] = [
    ("create_drop", "core"),
    ("create_drop_interleaved", "core"),
    ("create_cancel", "alternatives"),
    ("pending", "alternatives"),
    ("threads", "alternatives"),
    ("burst_100k", "alternatives"),
];

fn read_criterion(target: &Path, manifest: &Path) -> Option<CriterionData> {
    let dir = target.join("criterion");
    let current = provenance::fingerprint(manifest);
    // When each bench's last measuring run on the current sources started.
    let mut started: Vec<(&str, SystemTime)> = Vec::new();
    let mut times_lost = Vec::new();
    for b in ["core", "alternatives"] {
        let Some(r) = provenance::read(target, b).filter(|r| r.fingerprint == current) else {
            continue;
        };
        let record_written = std::fs::metadata(dir.join("tickwheel-provenance").join(b))
            .and_then(|m| m.modified())
            .ok();
        if record_written.is_some_and(|w| times_kept(w, r.started)) {
            started.push((b, r.started));
        } else {
            eprintln!(
                "warning: the file times under {} are not the ones `cargo bench --bench {b}` left (copied or touched?): its results cannot be dated and are left out",
                dir.display()
            );
            times_lost.push(b);
        }
    }
    let fresh = |row: &CriterionRow, written: Option<SystemTime>| {
        let bench = GROUP_BENCH.iter().find(|(g, _)| *g == row.group)?.1;
        let since = started.iter().find(|(b, _)| *b == bench)?.1;
        Some(written? >= since)
    };
    let mut ignored = 0;
    let mut rows = Vec::new();
    let mut newest = None;
    let mut oldest: Option<SystemTime> = None;
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "new") {
                    if let Some(row) = read_criterion_bench(&p) {
                        let modified = std::fs::metadata(p.join("estimates.json"))
                            .and_then(|m| m.modified())
                            .ok();
                        if fresh(&row, modified) != Some(true) {
                            ignored += 1;
                            continue;
                        }
                        newest = newest.max(modified);
                        oldest = match (oldest, modified) {
                            (Some(o), Some(m)) => Some(o.min(m)),
                            (o, m) => o.or(m),
                        };
                        rows.push(row);
                    }
                } else if p.file_name().is_some_and(|n| n != "report" && n != "base") {
                    stack.push(p);
                }
            }
        }
    }
    if rows.is_empty() && ignored == 0 {
        return None;
    }
    rows.sort_by(|a, b| (&a.group, &a.value, &a.function).cmp(&(&b.group, &b.value, &b.function)));
    Some(CriterionData {
        dir,
        oldest,
        newest,
        ignored,
        started: started.iter().map(|(_, t)| *t).min(),
        times_lost,
        rows,
    })
}

fn read_criterion_bench(new: &Path) -> Option<CriterionRow> {
    let bench: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(new.join("benchmark.json")).ok()?).ok()?;
    let est: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(new.join("estimates.json")).ok()?).ok()?;
    Some(CriterionRow {
        group: bench["group_id"].as_str()?.to_string(),
        function: bench["function_id"].as_str()?.to_string(),
        value: bench["value_str"].as_str().map(str::to_string),
        median_ns: est["median"]["point_estimate"].as_f64()?,
        ci: (
            est["median"]["confidence_interval"]["lower_bound"].as_f64()?,
            est["median"]["confidence_interval"]["upper_bound"].as_f64()?,
        ),
    })
}

impl CriterionData {
    fn has_group(&self, group: &str) -> bool {
        self.rows.iter().any(|r| r.group == group)
    }

    /// The `create_cancel` group, in the report's order.
    fn create_cancel(&self) -> Vec<(String, f64)> {
        let order = [
            FLOOR,
            FLOOR_SEND,
            TW_TIMER,
            TW_TICKER,
            TW_CALLBACK,
            CB_AFTER,
            CB_TICK,
            TOKIO_SLEEP,
            TIMER_CRATE,
        ];
        let mut rows: Vec<(String, f64)> = self
            .rows
            .iter()
            .filter(|r| r.group == "create_cancel" && r.value.is_none())
            .map(|r| (r.function.clone(), r.median_ns))
            .collect();
        rows.sort_by_key(|(n, _)| order.iter().position(|o| o == n).unwrap_or(order.len()));
        rows
    }

    /// The `pending` group as a flatness table.
    fn flatness(&self) -> Flatness {
        let mut counts: Vec<usize> = self
            .rows
            .iter()
            .filter(|r| r.group == "pending")
            .filter_map(|r| r.value.as_deref()?.parse().ok())
            .collect();
        counts.sort_unstable();
        counts.dedup();
        let rows = [TW_TIMER, TW_TICKER, TW_CALLBACK, TOKIO_SLEEP]
            .iter()
            .map(|name| {
                let v = counts
                    .iter()
                    .map(|n| {
                        self.get("pending", name, Some(&n.to_string()))
                            .unwrap_or(f64::NAN)
                    })
                    .collect();
                (name.to_string(), v)
            })
            .collect();
        Flatness { counts, rows }
    }

    fn get(&self, group: &str, function: &str, value: Option<&str>) -> Option<f64> {
        self.est(group, function, value).map(|e| e.mid)
    }

    /// A median with its confidence interval.
    fn est(&self, group: &str, function: &str, value: Option<&str>) -> Option<Est> {
        self.rows
            .iter()
            .find(|r| r.group == group && r.function == function && r.value.as_deref() == value)
            .map(|r| Est {
                lo: r.ci.0,
                mid: r.median_ns,
                hi: r.ci.1,
            })
    }
}

/// A figure and its uncertainty: criterion's median with the 95 %
/// confidence interval of it, or a figure of this report's (`lo == mid ==
/// hi`).
#[derive(Clone, Copy, Debug)]
struct Est {
    lo: f64,
    mid: f64,
    hi: f64,
}

impl Est {
    fn exact(x: f64) -> Est {
        Est {
            lo: x,
            mid: x,
            hi: x,
        }
    }

    fn measured(&self) -> bool {
        measured(self.mid) && measured(self.lo) && measured(self.hi)
    }
}

impl std::fmt::Display for Est {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.lo == self.hi {
            write!(f, "{:.1} ns", self.mid)
        } else {
            write!(
                f,
                "{:.1} ns (95 % CI {:.1}–{:.1})",
                self.mid, self.lo, self.hi
            )
        }
    }
}

/// `x ≤ k·y`, decided only where the intervals agree.
fn judge_le(x: Est, k: f64, y: Est) -> Verdict {
    if x.hi <= k * y.lo {
        Verdict::Pass
    } else if x.lo > k * y.hi {
        Verdict::Miss
    } else {
        Verdict::TooClose
    }
}

/// The target "`x` ≤ `k`·`y`", both figures in its line.
fn ratio_target(what: &str, x: Option<Est>, k: f64, y: Option<Est>, src: &str) -> Target {
    match (x.filter(Est::measured), y.filter(Est::measured)) {
        (Some(x), Some(y)) => Target::judged(
            judge_le(x, k, y),
            format!("{what}: {x} vs {y} = {:.2}× ({src})", x.mid / y.mid),
        ),
        _ => Target::not_measured(format!("{what} ({src})")),
    }
}

/// The target "`x` < `limit` ns".
fn below_target(what: &str, x: Option<Est>, limit: f64, src: &str) -> Target {
    match x.filter(Est::measured) {
        Some(x) => Target::judged(judge_lt(x, limit), format!("{what}: {x} ({src})")),
        None => Target::not_measured(format!("{what} ({src})")),
    }
}

/// `x < c`, decided only where the interval is clear of `c`.
fn judge_lt(x: Est, c: f64) -> Verdict {
    if x.hi < c {
        Verdict::Pass
    } else if x.lo >= c {
        Verdict::Miss
    } else {
        Verdict::TooClose
    }
}

// ---------------------------------------------------------------------------
// Plots

/// Registers a TrueType font for plotters' text, from `TICKWHEEL_FONT` or a
/// usual system location. No font, no plots (the figures are in the text).
fn load_font() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("TICKWHEEL_FONT") {
        candidates.push(p.into());
    }
    for p in [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/System/Library/Fonts/Supplemental/Arial.ttf",
    ] {
        candidates.push(p.into());
    }
    for p in candidates {
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
            return Some(p);
        }
    }
    None
}

/// Colours by library, tickwheel first and in red.
fn colour(i: usize) -> RGBColor {
    const C: [RGBColor; 6] = [
        RGBColor(220, 30, 30),
        RGBColor(30, 90, 220),
        RGBColor(120, 120, 120),
        RGBColor(20, 150, 60),
        RGBColor(150, 60, 200),
        RGBColor(230, 140, 0),
    ];
    C[i % C.len()]
}

/// At most `max` points of the empirical CDF of `sorted` (values in µs,
/// floored at `lo` for a log axis).
fn cdf_points(sorted: &[f64], lo: f64, max: usize) -> Vec<(f64, f64)> {
    let n = sorted.len();
    let step = n.div_ceil(max).max(1);
    let mut pts: Vec<(f64, f64)> = (0..n)
        .step_by(step)
        .map(|i| (sorted[i].max(lo), (i + 1) as f64 / n as f64))
        .collect();
    if let Some(&last) = sorted.last() {
        pts.push((last.max(lo), 1.0));
    }
    pts
}

/// The drawing area of a figure: white, a title strip, a legend strip shared
/// by all panels, and the body below them.
type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn figure<'a>(
    path: &'a Path,
    size: (u32, u32),
    title: &str,
    legend: &[(&str, RGBColor)],
) -> Res<(Area<'a>, Area<'a>)> {
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(70);
    let (title_area, legend_area) = top.split_vertically(38);
    title_area.titled(title, ("sans-serif", 22))?;
    // One row of legend entries, left to right; widths estimated from the
    // text length (no text measuring API needed).
    let style = ("sans-serif", 15).into_font().color(&BLACK);
    let total: i32 = legend
        .iter()
        .map(|(name, _)| 34 + name.chars().count() as i32 * 8)
        .sum();
    let mut x = ((size.0 as i32 - total) / 2).max(10);
    for (name, c) in legend {
        legend_area.draw(&PathElement::new(
            vec![(x, 14), (x + 22, 14)],
            c.stroke_width(4),
        ))?;
        legend_area.draw(&Text::new(name.to_string(), (x + 28, 5), style.clone()))?;
        x += 34 + name.chars().count() as i32 * 8;
    }
    Ok((root, body))
}

fn plot_lateness(path: &Path, lat: &Lateness) -> Res<()> {
    let legend: Vec<(&str, RGBColor)> = lat.by_wait[0]
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (*name, colour(i)))
        .collect();
    let (root, body) = figure(
        path,
        (1500, 540),
        &format!(
            "Lateness of one-shot waits (receive time − deadline): CDF of {} waits each",
            lat.runs
        ),
        &legend,
    )?;
    let panels = body.split_evenly((1, WAITS.len()));
    for ((panel, d), libs) in panels.iter().zip(WAITS).zip(&lat.by_wait) {
        let lo = 1.0;
        let hi = libs
            .iter()
            .flat_map(|(_, s)| s.iter())
            .map(|&v| v as f64 / 1e3)
            .fold(lo * 10.0, f64::max)
            * 1.2;
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("wait of {d:?}"), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d((lo..hi).log_scale(), 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc("lateness (µs, log scale)")
            .y_desc("fraction of waits")
            .x_label_formatter(&|v| format!("{v}"))
            .draw()?;
        // tickwheel last, so it is drawn on top.
        for (i, (_, samples)) in libs.iter().enumerate().rev() {
            let mut us: Vec<f64> = samples.iter().map(|&v| v as f64 / 1e3).collect();
            us.sort_by(f64::total_cmp);
            let width = if i == 0 { 3 } else { 2 };
            chart.draw_series(LineSeries::new(
                cdf_points(&us, lo, 400),
                colour(i).stroke_width(width),
            ))?;
        }
    }
    root.present()?;
    Ok(())
}

fn plot_tickers(path: &Path, t: &Tickers) -> Res<()> {
    let legend: Vec<(&str, RGBColor)> = t
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name, colour(i)))
        .collect();
    let (root, body) = figure(
        path,
        (1300, 540),
        &format!("A 1 ms ticker read for {:?}", t.window),
        &legend,
    )?;
    let (left, right) = body.split_horizontally(650);

    // Left: CDF of |period error|.
    let lo = 0.1;
    let hi = t
        .runs
        .iter()
        .flat_map(|r| r.errors_ns())
        .map(|e| e.unsigned_abs() as f64 / 1e3)
        .fold(10.0, f64::max)
        * 1.2;
    let mut chart = ChartBuilder::on(&left)
        .caption("period error |interval − 1 ms|, CDF", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("period error (µs, log scale)")
        .y_desc("fraction of intervals")
        .x_label_formatter(&|v| format!("{v}"))
        .draw()?;
    for (i, r) in t.runs.iter().enumerate().rev() {
        let mut us: Vec<f64> = r
            .errors_ns()
            .iter()
            .map(|e| e.unsigned_abs() as f64 / 1e3)
            .collect();
        us.sort_by(f64::total_cmp);
        chart.draw_series(LineSeries::new(
            cdf_points(&us, lo, 400),
            colour(i).stroke_width(2),
        ))?;
    }

    // Right: how far the k-th tick received is behind the k-th tick of the
    // ideal grid (log scale: the sleep loop's drift is orders of magnitude
    // above the tickers' lateness).
    let secs = t.window.as_secs_f64() * 1.02;
    let floor_ms = 0.005;
    let max_lag = t
        .runs
        .iter()
        .flat_map(|r| (0..r.got.len()).map(|k| r.lag_ms(k)))
        .fold(1.0, f64::max)
        * 1.5;
    let mut chart = ChartBuilder::on(&right)
        .caption(
            "lag of the k-th tick behind start + k·1 ms",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..secs, (floor_ms..max_lag).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("time since start (s)")
        .y_desc("lag (ms, log scale)")
        .y_label_formatter(&|v| format!("{v}"))
        .draw()?;
    for (i, r) in t.runs.iter().enumerate().rev() {
        let step = r.got.len().div_ceil(800).max(1);
        let pts: Vec<(f64, f64)> = (0..r.got.len())
            .step_by(step)
            .map(|k| {
                (
                    (r.got[k] - r.start).as_secs_f64(),
                    r.lag_ms(k).max(floor_ms),
                )
            })
            .collect();
        chart.draw_series(LineSeries::new(pts, colour(i).stroke_width(2)))?;
    }
    root.present()?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The report

/// Where the create + cancel and flatness figures come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Micro {
    /// `cargo bench --bench alternatives` (no counting allocator).
    Criterion,
    /// This process: its counting allocator adds a few ns to every
    /// allocation, which pulls ratios towards 1, so verdicts are indicative.
    Own,
}

struct Report {
    cfg: Config,
    create: Vec<(String, f64)>,
    flat: Flatness,
    micro: Micro,
    lateness: Lateness,
    tickers: Tickers,
    idle: Idle,
    memory: Memory,
    criterion: Option<CriterionData>,
    plots_drawn: bool,
    /// The 1-minute load average before and after the run.
    load: (String, String),
    took: Duration,
}

/// One performance target with its verdict.
struct Target {
    verdict: Verdict,
    text: String,
}

/// What a target's line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Pass,
    Miss,
    /// Measured, but on figures too biased to judge from (see
    /// [`Micro::Own`]).
    NotJudged,
    /// A figure it needs is missing: never counted as a pass.
    NotMeasured,
    /// The threshold lies within the figures' confidence intervals.
    TooClose,
}

impl Target {
    fn new(pass: bool, text: String) -> Self {
        Target {
            verdict: if pass { Verdict::Pass } else { Verdict::Miss },
            text,
        }
    }

    fn judged(verdict: Verdict, text: String) -> Self {
        Target { verdict, text }
    }

    fn not_measured(text: String) -> Self {
        Target {
            verdict: Verdict::NotMeasured,
            text,
        }
    }

    fn verdict(&self) -> &'static str {
        match self.verdict {
            Verdict::Pass => "PASS",
            Verdict::Miss => "MISS",
            Verdict::NotJudged => "NOT JUDGED",
            Verdict::NotMeasured => "NOT MEASURED",
            Verdict::TooClose => "TOO CLOSE TO CALL",
        }
    }
}

/// A figure that was really measured (not a missing one's NaN or zero).
fn measured(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// Rows that are alternatives to tickwheel (not tickwheel, not a floor).
fn is_alternative(name: &str) -> bool {
    [
        "crossbeam",
        "tokio",
        "timer crate",
        "std::",
        "thread per timer",
        "sleep(",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

/// A duration in ns, in a readable unit.
fn fmt_ns(ns: f64) -> String {
    let a = ns.abs();
    if a < 10_000.0 {
        format!("{ns:.1} ns")
    } else if a < 10_000_000.0 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

fn fmt_us(ns: i64) -> String {
    format!("{:.1}", ns as f64 / 1e3)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn core_count() -> usize {
    std::thread::available_parallelism().map_or(0, usize::from)
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// The 1-minute load average, from /proc/loadavg.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

fn rustc_version() -> String {
    std::process::Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown rustc".into())
}

/// "YYYY-MM-DD HH:MM UTC" of a system time (civil-from-days, proleptic
/// Gregorian).
fn utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3_600,
        rem % 3_600 / 60
    )
}

impl Report {
    fn create_ns(&self, name: &str) -> f64 {
        self.create
            .iter()
            .find(|(n, _)| n == name)
            .map_or(f64::NAN, |(_, v)| *v)
    }

    /// A create + cancel figure, with criterion's interval when it is
    /// criterion's.
    fn create_est(&self, name: &str) -> Est {
        let from_criterion = self
            .criterion
            .as_ref()
            .filter(|_| self.micro == Micro::Criterion)
            .and_then(|c| c.est("create_cancel", name, None));
        from_criterion.unwrap_or_else(|| Est::exact(self.create_ns(name)))
    }

    /// A flatness figure at `count` pending (NaN if not measured).
    fn flat_est(&self, name: &str, count: usize) -> Est {
        let from_criterion = self
            .criterion
            .as_ref()
            .filter(|_| self.micro == Micro::Criterion)
            .and_then(|c| c.est("pending", name, Some(&count.to_string())));
        from_criterion.unwrap_or_else(|| {
            let at = self.flat.counts.iter().position(|&n| n == count);
            let v = at
                .and_then(|i| Some(self.flat_row(name)?[i]))
                .unwrap_or(f64::NAN);
            Est::exact(v)
        })
    }

    fn flat_row(&self, name: &str) -> Option<&Vec<f64>> {
        self.flat
            .rows
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    fn lateness_p50(&self, wait: usize, lib: &str) -> Option<i64> {
        self.lateness.by_wait[wait]
            .iter()
            .find(|(n, _)| *n == lib)
            .filter(|(_, s)| !s.is_empty())
            .map(|(_, s)| pct(&sorted(s), 0.5))
    }

    fn ticker(&self, name: &str) -> Option<TickStats> {
        self.tickers
            .runs
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.stats(self.tickers.window))
    }

    fn targets(&self) -> Vec<Target> {
        let mut t = Vec::new();
        let src = match self.micro {
            Micro::Criterion => "criterion `alternatives`",
            Micro::Own => "this process, counting allocator",
        };
        let floor = self.create_est(FLOOR);
        let timer = self.create_est(TW_TIMER);
        let cb = self.create_est(TW_CALLBACK);
        let mut micro = vec![
            ratio_target(
                "core: Timer::new(1 s) + drop ≤ 1.3× the floor (Instant::now + bounded(1))",
                Some(timer),
                1.3,
                Some(floor),
                src,
            ),
            below_target(
                "core: after_func(1 s, || ()) + drop < 80 ns",
                Some(cb),
                80.0,
                src,
            ),
        ];
        // Judged only on exactly the pending counts it names.
        let big = match self.micro {
            Micro::Criterion => 1_000_000,
            Micro::Own => self.cfg.big_pending,
        };
        let counts_ok =
            self.flat.counts.first() == Some(&0) && self.flat.counts.last() == Some(&big);
        for name in [TW_TIMER, TW_CALLBACK] {
            micro.push(ratio_target(
                &format!("core: {name} create + drop flat at {big} pending (≤ 1.2× at 0)"),
                Some(self.flat_est(name, big)).filter(|_| counts_ok),
                1.2,
                Some(self.flat_est(name, 0)),
                src,
            ));
        }
        micro.push(ratio_target(
            "issue 6: Callback create + drop no slower than tokio sleep create + first poll + drop",
            Some(cb),
            1.0,
            Some(self.create_est(TOKIO_SLEEP)),
            src,
        ));
        if self.micro == Micro::Own {
            for m in &mut micro {
                if m.verdict != Verdict::NotMeasured {
                    m.verdict = Verdict::NotJudged;
                }
            }
        }
        t.extend(micro);
        // The same targets by the core bench, when it has run on these
        // sources.
        let core = |f: &str| {
            self.criterion
                .as_ref()
                .and_then(|c| c.est("create_drop", f, None))
        };
        let src = "criterion `core`";
        t.push(ratio_target(
            "core: Timer::new(1 s) + drop ≤ 1.3× the floor",
            core("global Timer::new 1s"),
            1.3,
            core("floor: bounded(1) + Instant::now"),
            src,
        ));
        // Context, not the verdict: the same two, in alternating batches.
        let inter = |f: &str| {
            self.criterion
                .as_ref()
                .and_then(|c| c.est("create_drop_interleaved", f, None))
        };
        if let (Some(x), Some(y), Some(last)) = (
            inter("global Timer::new 1s"),
            inter("floor: bounded(1) + Instant::now"),
            t.last_mut(),
        ) {
            let _ = write!(
                last.text,
                "; the same two measured in alternating batches (`create_drop_interleaved`, context only): {x} vs {y} = {:.2}×",
                x.mid / y.mid
            );
        }
        t.push(below_target(
            "core: after_func(1 s) + drop < 80 ns",
            core("global after_func 1s"),
            80.0,
            src,
        ));
        for (busy, idle) in [
            ("Timer 1s, 1M pending", "Timer 1s, 0 pending"),
            ("after_func 1s, 1M pending", "after_func 1s, 0 pending"),
        ] {
            t.push(ratio_target(
                &format!("core: {busy} ≤ 1.2× {idle}"),
                core(busy),
                1.2,
                core(idle),
                src,
            ));
        }
        // WAITS[1] is 1 ms.
        let tw = self.lateness_p50(1, L_TICKWHEEL);
        let what = format!(
            "core: lateness p50 of after(1 ms).recv() over {} runs ≤ 1.0× std::thread::sleep(1 ms)",
            self.lateness.runs
        );
        t.push(match (tw, self.lateness_p50(1, L_SLEEP)) {
            (Some(tw), Some(sl)) => Target::new(
                tw <= sl,
                format!(
                    "{what}: {} µs vs {} µs = {:.2}×",
                    fmt_us(tw),
                    fmt_us(sl),
                    tw as f64 / sl as f64
                ),
            ),
            _ => Target::not_measured(what),
        });
        for other in [L_TOKIO, L_TIMER] {
            let what = format!("issue 6: lateness p50 at 1 ms better than {other}");
            t.push(match (tw, self.lateness_p50(1, other)) {
                (Some(tw), Some(o)) => Target::new(
                    tw < o,
                    format!(
                        "{what}: {} µs vs {} µs = {:.2}×",
                        fmt_us(tw),
                        fmt_us(o),
                        tw as f64 / o as f64
                    ),
                ),
                _ => Target::not_measured(what),
            });
        }
        let what = format!(
            "core: a 1 ms Ticker read {:?}: the ideal ± 2 ticks",
            self.tickers.window
        );
        let what6 = "issue 6: ticks received within ±1 of the ideal";
        match self.ticker(T_TICKWHEEL) {
            Some(s) => {
                let off = s.ticks.abs_diff(s.ideal);
                let sleep = self
                    .ticker(T_SLEEP)
                    .map_or("not measured".to_string(), |s| s.ticks.to_string());
                let machine = self
                    .tickers
                    .runs
                    .iter()
                    .find(|r| r.name == T_GRID)
                    .map_or("not measured".to_string(), |g| {
                        format!(
                            "{} intervals over 1.5 periods, latest wake-up {:.2} ms after its grid point",
                            g.stats(self.tickers.window).gaps,
                            g.max_lag_ms()
                        )
                    });
                let driver = self
                    .tickers
                    .runs
                    .iter()
                    .find(|r| r.name == T_TICKWHEEL)
                    .and_then(|r| r.driver_late)
                    .map_or("not measured".to_string(), |d| {
                        format!("{:.2} ms", d.as_secs_f64() * 1e3)
                    });
                let sched = self
                    .tickers
                    .runs
                    .iter()
                    .find(|r| r.name == T_TICKWHEEL)
                    .and_then(|r| r.sched.as_ref())
                    .map_or("not readable".to_string(), SchedWindow::describe);
                let dropped = self
                    .tickers
                    .runs
                    .iter()
                    .find(|r| r.name == T_TICKWHEEL)
                    .map_or("not measured".to_string(), TickRun::dropped_text);
                t.push(Target::new(
                    off <= 2,
                    format!(
                        "{what}: {} received of {} (reported dropped: {dropped}; its driver's latest delivery: {driver} after the tick was due; a sleep loop, run after it: {sleep}; a bare thread sleeping to a grid beside it, in the same window: {machine}; scheduling in the window: {sched})",
                        s.ticks, s.ideal
                    ),
                ));
                t.push(Target::new(
                    off <= 1,
                    format!("{what6} {}: {} (off by {off})", s.ideal, s.ticks),
                ));
            }
            None => {
                t.push(Target::not_measured(what));
                t.push(Target::not_measured(what6.to_string()));
            }
        }
        // The same target once more, on a driver with an option that is off
        // by default: reported beside the default driver's verdict above,
        // never instead of it.
        let what_h = format!(
            "core, measured on a driver with `Builder::hedge_threads(1)` (an option, not the default driver): a 1 ms Ticker read {:?}: the ideal ± 2 ticks",
            self.tickers.window
        );
        match self.tickers.hedged.first() {
            Some((tw, grid)) => {
                let s = tw.stats(self.tickers.window);
                let g = grid.stats(self.tickers.window);
                t.push(Target::new(
                    s.ticks.abs_diff(s.ideal) <= 2,
                    format!(
                        "{what_h}: {} received of {} in its first window (reported dropped: {}; its driver's latest delivery: {:.2} ms after the tick was due; a bare thread sleeping to a grid beside it: {} intervals over 1.5 periods, latest wake-up {:.2} ms after its grid point)",
                        s.ticks,
                        s.ideal,
                        tw.dropped_text(),
                        tw.driver_late.unwrap_or_default().as_secs_f64() * 1e3,
                        g.gaps,
                        grid.max_lag_ms()
                    ),
                ));
            }
            None => t.push(Target::not_measured(what_h)),
        }
        t.push(Target::new(
            self.idle.wakeups == 0,
            format!(
                "issue 6: idle, zero driver wake-ups while nothing is due ({} timers due in an hour, {:?}): {} wake-ups",
                self.idle.timers, self.idle.window, self.idle.wakeups
            ),
        ));
        t
    }

    fn targets_text(&self) -> String {
        let mut s = String::from("Targets:\n");
        for t in self.targets() {
            let _ = writeln!(s, "  {}  {}", t.verdict(), t.text);
        }
        s
    }

    /// Comparisons where tickwheel is not the best, with the figures.
    fn losses(&self) -> Vec<String> {
        let mut out = Vec::new();
        let best_alt = self
            .create
            .iter()
            .filter(|(n, _)| is_alternative(n))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((alt, alt_ns)) = best_alt {
            for name in [TW_TIMER, TW_TICKER, TW_CALLBACK] {
                let v = self.create_ns(name);
                if v > *alt_ns {
                    out.push(format!(
                        "create + cancel of a {} costs {v:.0} ns against {alt_ns:.0} ns for {alt} ({:.1}×)",
                        name.trim_start_matches("tickwheel "),
                        v / alt_ns
                    ));
                }
            }
        }
        for (w, libs) in WAITS.iter().zip(&self.lateness.by_wait) {
            let p50 = |s: &Vec<i64>| pct(&sorted(s), 0.5);
            let tw = p50(&libs[0].1);
            if let Some((name, s)) = libs[1..].iter().min_by_key(|(_, s)| p50(s)) {
                let o = p50(s);
                if o < tw {
                    out.push(format!(
                        "lateness p50 of a {w:?} wait is {} µs against {} µs for {name}",
                        fmt_us(tw),
                        fmt_us(o)
                    ));
                }
            }
        }
        if let Some(tw) = self.ticker(T_TICKWHEEL) {
            let best = self
                .tickers
                .runs
                .iter()
                .filter(|r| r.name != T_TICKWHEEL && r.name != T_GRID)
                .map(|r| (r.name, r.got.len()))
                .max_by_key(|r| r.1);
            // Not a let chain: those need Rust 1.88; the crate declares 1.85.
            if let Some((name, n)) = best.filter(|&(_, n)| n > tw.ticks) {
                out.push(format!(
                    "its 1 ms Ticker delivered {} of {} ticks against {n} for {name}",
                    tw.ticks, tw.ideal
                ));
            }
        }
        if let Some(c) = &self.criterion {
            for name in [TW_TIMER, TW_CALLBACK] {
                let one = c.get("threads", name, Some("1 thread(s)"));
                let two = c.get("threads", name, Some("2 thread(s)"));
                let floor1 = c.get("threads", FLOOR, Some("1 thread(s)"));
                let floor2 = c.get("threads", FLOOR, Some("2 thread(s)"));
                if let (Some(one), Some(two), Some(f1), Some(f2)) = (one, two, floor1, floor2) {
                    // A loss when a second thread lowers the total throughput.
                    if two > one {
                        // The same two threads, each on a driver of its own.
                        let own = format!("{name}, a driver per thread");
                        let own_two = c
                            .get("threads", &own, Some("2 thread(s)"))
                            .map(|t| format!("; with a driver per thread, {t:.0} ns"))
                            .unwrap_or_default();
                        out.push(format!(
                            "two threads creating and dropping {}s at once on the global driver take {:.0} ns per operation in aggregate, slower than one thread alone ({one:.0} ns), where the floor goes from {f1:.0} to {f2:.0} ns{own_two} (criterion `threads`)",
                            name.trim_start_matches("tickwheel "),
                            two
                        ));
                    }
                }
            }
        }
        let mem_best = self
            .memory
            .rows
            .iter()
            .filter(|r| is_alternative(r.0))
            .map(|r| (r.0, r.1 + r.2 as f64))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((alt, alt_b)) = mem_best {
            for (name, heap, handle) in &self.memory.rows {
                let total = heap + *handle as f64;
                if name.starts_with("tickwheel") && total > alt_b {
                    out.push(format!(
                        "a pending {} takes {total:.0} bytes against {alt_b:.0} for a {alt}",
                        name.trim_start_matches("tickwheel ")
                    ));
                }
            }
        }
        out
    }

    fn markdown(&self) -> String {
        let mut m = String::new();
        let now = utc(SystemTime::now());
        let _ = writeln!(m, "# Benchmarks\n");
        let _ = writeln!(
            m,
            "Generated by `cargo run --release --example bench_report{}` on {now}, in {:.0} s. \
             Do not edit by hand: run it again to refresh the figures and plots.{}\n",
            if self.cfg.quick { " -- --quick" } else { "" },
            self.took.as_secs_f64(),
            if self.cfg.quick {
                " **A quick smoke run: few samples, not for quoting.**"
            } else {
                ""
            }
        );
        let _ = writeln!(m, "## Machine\n");
        let _ = writeln!(m, "- CPU: {} ({} logical cores)", cpu_model(), core_count());
        let _ = writeln!(m, "- Kernel: Linux {}", kernel());
        let _ = writeln!(m, "- Compiler: {}", rustc_version());
        let _ = writeln!(
            m,
            "- Load average (1 min): {} at the start of this report, {} at its end. A shared machine: read the figures as ratios within one run. {}\n",
            self.load.0,
            self.load.1,
            match self.micro {
                Micro::Criterion =>
                    "Sections 1, 2 and 7 come from criterion, which ran each benchmark after the other in an earlier process (see section 7); sections 3 to 6 ran in this report, the lateness waits interleaved, the tickers one after another.",
                Micro::Own =>
                    "Sections 1 and 2 ran in this report, contenders in turn (round-robin); then sections 3 to 6, the lateness waits interleaved, the tickers one after another.",
            }
        );
        let _ = writeln!(m, "## Reproduce\n");
        let _ = writeln!(m, "```sh");
        let _ = writeln!(
            m,
            "cargo bench --bench core --bench alternatives && cargo run --release --example bench_report"
        );
        let _ = writeln!(m, "```\n");
        let benches_took = self.criterion.as_ref().and_then(|c| {
            let took = c.newest?.duration_since(c.started?).ok()?;
            Some(format!(
                "criterion's benches took {:.0} s",
                took.as_secs_f64()
            ))
        });
        let _ = writeln!(
            m,
            "Criterion's benches (sections 1, 2 and 7), then the report (everything else, this file and `docs/img/*.png`); here {}, and the report {:.0} s. \
             The report uses criterion's results only if they were measured on the same sources (see section 7); without them it measures sections 1 and 2 itself but does not judge their targets (see Method). \
             `-- --quick` is a smoke run of a few seconds that writes to the temporary directory instead of `docs/`.\n",
            benches_took
                .as_deref()
                .unwrap_or("no criterion results of these sources were used"),
            self.took.as_secs_f64()
        );

        let _ = writeln!(m, "## Targets\n");
        let _ = writeln!(
            m,
            "The performance goals of the core issue and of the benchmark issue, from this report's measurements and the criterion results of section 7 (they are reported, not asserted). Criterion's figures are medians with their 95 % confidence intervals: PASS needs the whole interval on the right side of the threshold, MISS the whole interval on the wrong side; otherwise the line says TOO CLOSE TO CALL. NOT MEASURED: a figure the target needs is missing; NOT JUDGED: measured, but by this report's own create + drop loops, whose counting allocator biases ratios towards 1.\n"
        );
        for t in self.targets() {
            let _ = writeln!(m, "- **{}** {}", t.verdict(), t.text);
        }
        let _ = writeln!(m);

        let _ = writeln!(m, "## Where tickwheel loses\n");
        let losses = self.losses();
        if losses.is_empty() {
            let _ = writeln!(
                m,
                "In this run tickwheel was best or tied on every comparison below; the targets above that say MISS are where it falls short of its own goals.\n"
            );
        } else {
            let mut why = Vec::new();
            if losses.iter().any(|l| l.contains("crossbeam")) {
                why.push(
                    "`crossbeam_channel::after` and `tick` register nothing anywhere (the deadline lives in the receiver and the receiving thread sleeps until it), so they cannot be stopped or reset, and every pending wait needs a thread blocked on it",
                );
            }
            if losses.iter().any(|l| l.contains("lateness")) {
                why.push(
                    "a thread that sleeps by itself is woken directly by the kernel, while a tickwheel value is handed over by its driver thread",
                );
            }
            if losses.iter().any(|l| l.contains("Ticker delivered")) {
                why.push(
                    "a tickwheel Ticker's channel holds one tick, so when the driver (or the consumer) loses the CPU for more than a period the next tick is dropped and counted, as in Go, where `crossbeam_channel::tick` and tokio's `interval` deliver the missed tick late instead",
                );
            }
            if losses.iter().any(|l| l.contains("threads")) {
                why.push(
                    "every create and drop takes the driver's one wheel lock, so threads that do it at once queue on that lock instead of running in parallel (threads on drivers of their own share no lock)",
                );
            }
            if losses.iter().any(|l| l.contains("bytes")) {
                why.push(
                    "most of a Timer's bytes are its `bounded(1)` channel, whose cache-padded ends cost what the floor row of section 6 shows",
                );
            }
            let _ = writeln!(
                m,
                "tickwheel loses here: {}. Why: {}.\n",
                losses.join("; "),
                why.join("; ")
            );
        }

        self.md_create(&mut m);
        self.md_flat(&mut m);
        self.md_lateness(&mut m);
        self.md_tickers(&mut m);
        self.md_idle(&mut m);
        self.md_memory(&mut m);
        self.md_criterion(&mut m);
        self.md_method(&mut m);
        m
    }

    fn micro_source(&self) -> String {
        match self.micro {
            Micro::Criterion => {
                "criterion medians from `cargo bench --bench alternatives` (see section 7)".into()
            }
            Micro::Own => format!(
                "measured by this report: median of {} batches of {}, contenders in turn. \
                 **Not judged**: this process counts allocations for section 6, which adds the same few ns to every allocation and so pulls every ratio towards 1; \
                 run `cargo bench --bench core --bench alternatives` before the report for the figures the targets are judged on",
                self.cfg.rounds, self.cfg.batch_ops
            ),
        }
    }

    fn md_create(&self, m: &mut String) {
        let floor = self.create_ns(FLOOR);
        let best = self
            .create
            .iter()
            .filter(|(n, _)| is_alternative(n))
            .map(|(_, v)| *v)
            .fold(f64::INFINITY, f64::min);
        let _ = writeln!(m, "## 1. Create + cancel before firing\n");
        let _ = writeln!(
            m,
            "A 1 s timer created and dropped before it fires, on the calling thread; {}. \
             \"× best alternative\" divides by the fastest non-tickwheel, non-floor row.\n",
            self.micro_source()
        );
        let _ = writeln!(
            m,
            "| what | ns/op | × floor | ns over the floor | × best alternative |"
        );
        let _ = writeln!(m, "|---|---:|---:|---:|---:|");
        for (name, v) in &self.create {
            let _ = writeln!(
                m,
                "| {name} | {v:.1} | {:.2}× | {:+.1} | {:.2}× |",
                v / floor,
                v - floor,
                v / best
            );
        }
        let _ = writeln!(
            m,
            "\nThe floor is what tickwheel cannot avoid: one clock read and one `bounded(1)` channel (the `try_send` variant adds the send a delivery costs). \
             It is measured once the global driver's thread exists, as every timer is: glibc's malloc skips its atomic operations only while a process has a single thread, so a floor measured first would be cheaper than any real use of a channel (see the comment in `benches/core.rs`). \
             The floor's own cost depends on the heap's state (the channel's cache-padded block comes from `posix_memalign`), which differs between processes and between benches run one after another: read the \"ns over the floor\" column beside the ratio. \
             tokio's sleep is created, polled once with a no-op waker (which registers it in the runtime's timer wheel) and dropped, on a current-thread runtime. \
             The `timer` crate's figure is the caller's side only: a dropped guard only sets a flag, and the entry stays in the scheduler thread's heap until its deadline.\n"
        );
    }

    fn md_flat(&self, m: &mut String) {
        let _ = writeln!(m, "## 2. Flat with pending timers\n");
        let _ = writeln!(
            m,
            "The same create + drop on a dedicated driver (or tokio runtime) already holding N pending timers spread over an hour, ns/op; {}.\n",
            self.micro_source()
        );
        let mut head = String::from("| what |");
        let mut rule = String::from("|---|");
        for n in &self.flat.counts {
            let _ = write!(head, " {n} pending |");
            rule.push_str("---:|");
        }
        let big = self.flat.counts.last().copied().unwrap_or(0);
        let _ = writeln!(m, "{head} {big} / 0 |");
        let _ = writeln!(m, "{rule}---:|");
        for (name, v) in &self.flat.rows {
            let mut line = format!("| {name} |");
            for x in v {
                let _ = write!(line, " {x:.1} |");
            }
            let _ = writeln!(m, "{line} {:.2}× |", v[v.len() - 1] / v[0]);
        }
        let _ = writeln!(m);
    }

    fn md_lateness(&self, m: &mut String) {
        let _ = writeln!(m, "## 3. Lateness of one-shot waits\n");
        let _ = writeln!(
            m,
            "Receive time − deadline, where the deadline is `Instant::now()` taken just before the wait is set up, plus the wait; {} waits per library and duration, the libraries in turn within each run. µs. \
             \"× best\" divides the p50 by the lowest p50 of that duration. \
             tickwheel's driver thread sets its timer slack to 1 ns; a thread that sleeps by itself keeps the slack it inherits ({} in this run). \
             The \"1 ns timer slack\" row is `std::thread::sleep` on a thread with the same slack as the driver's: what the slack alone is worth. \
             What tickwheel adds to it is the hand-over from the driver thread to the receiving one.\n",
            self.lateness.runs,
            self.lateness
                .own_slack_ns
                .map_or("not read".to_string(), |ns| fmt_ns(ns as f64))
        );
        for (w, libs) in WAITS.iter().zip(&self.lateness.by_wait) {
            let stats: Vec<(&str, i64, i64, i64)> = libs
                .iter()
                .map(|(n, s)| {
                    let s = sorted(s);
                    (*n, pct(&s, 0.5), pct(&s, 0.99), *s.last().unwrap_or(&0))
                })
                .collect();
            let best = stats.iter().map(|s| s.1).min().unwrap_or(1).max(1);
            let _ = writeln!(m, "**{w:?}**\n");
            let _ = writeln!(m, "| library | p50 | p99 | max | p50 × best |");
            let _ = writeln!(m, "|---|---:|---:|---:|---:|");
            for (n, p50, p99, max) in stats {
                let _ = writeln!(
                    m,
                    "| {n} | {} | {} | {} | {:.2}× |",
                    fmt_us(p50),
                    fmt_us(p99),
                    fmt_us(max),
                    p50 as f64 / best as f64
                );
            }
            let _ = writeln!(m);
        }
        if self.plots_drawn {
            let _ = writeln!(m, "![Lateness CDFs](img/lateness.png)\n");
        }
    }

    fn md_tickers(&self, m: &mut String) {
        let _ = writeln!(m, "## 4. Periodic accuracy\n");
        let _ = writeln!(
            m,
            "A 1 ms ticker read for {:?} by a consumer that keeps up; ticks counted until {:?} + half a period after the start. \
             Period error = interval between successive receives − 1 ms. Lag = the k-th receive − the k-th tick of the ideal grid start + k·1 ms (so each missing tick adds 1 ms). \
             \"Intervals > 1.5 ms\" counts the hiccups of the run (a tick late by over half a period, or missing); \"reported dropped\" is tickwheel's own count of ticks it dropped because the channel was still full or it woke a period late, and how many of them it skipped because its driver thread woke a period or more late (`Stats::skipped_ticks` of the ticker's driver; the rest were offered to a channel the consumer had not emptied yet); \"driver's latest delivery\" is the most any tick was handed to the channel after it was due (`Stats::lateness`, read often enough to see every delivery): over a period means the driver thread itself woke that late. tickwheel's ticker runs on a driver of its own, so that those figures are its deliveries only. \
             tokio's interval starts one period in (`interval_at`), like the others. \
             The reference row is no ticker: a bare thread with the driver's 1 ns timer slack sleeping to each point of a 1 ms grid, run at the same time as tickwheel's ticker, its grid half a period off the ticker's (so that their wake-ups do not land on the same moment). Its intervals > 1.5 ms are wake-ups this machine delayed by over half a period during tickwheel's window; a delay of over a whole period, on the driver's thread or the consumer's, costs a 1 ms ticker with a one-tick channel a tick (a shorter one only makes that tick late). \
             For each of tickwheel's windows the report also reads `/proc/<pid>/task/<tid>/schedstat` before and after: how long the driver thread and the consumer waited, in all, for a CPU while runnable, and which threads of other processes (kernel threads included) ran longest in the window. A thread woken on a CPU that another thread keeps (on a kernel that does not preempt kernel code, a kernel thread keeps it until it yields) waits there, whatever its timer slack.\n",
            self.tickers.window, self.tickers.window
        );
        let stats: Vec<(&str, TickStats, String, Option<Duration>)> = self
            .tickers
            .runs
            .iter()
            .map(|r| {
                (
                    r.name,
                    r.stats(self.tickers.window),
                    r.dropped_text(),
                    r.driver_late,
                )
            })
            .collect();
        let best_jit = stats
            .iter()
            .filter(|s| s.0 != T_GRID) // a reference, not a contender
            .map(|s| s.1.p99_jitter_us)
            .fold(f64::INFINITY, f64::min)
            .max(0.001);
        let _ = writeln!(
            m,
            "| ticker | ticks (ideal {}) | mean period error µs | p99 jitter µs | p99 jitter × best | intervals > 1.5 ms | final lag ms | reported dropped | driver's latest delivery ms |",
            stats.first().map_or(0, |s| s.1.ideal)
        );
        let _ = writeln!(m, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (n, s, dropped, late) in &stats {
            let _ = writeln!(
                m,
                "| {n} | {} | {:+.2} | {:.1} | {:.2}× | {} | {:.3} | {} | {} |",
                s.ticks,
                s.mean_err_us,
                s.p99_jitter_us,
                s.p99_jitter_us / best_jit,
                s.gaps,
                s.final_lag_ms,
                dropped,
                late.map_or("–".to_string(), |d| format!(
                    "{:.3}",
                    d.as_secs_f64() * 1e3
                ))
            );
        }
        let _ = writeln!(m);
        self.md_windows(
            m,
            &format!(
                "tickwheel's ticker again, each time with the reference thread beside it, in {} more windows right after the table's (context: the targets judge the first window only):",
                self.tickers.more.len()
            ),
            &self.tickers.more,
            2,
        );
        self.md_windows(
            m,
            &format!(
                "tickwheel's ticker on a driver built with `Builder::hedge_threads(1)` (not the default: the driver loop also runs on a second thread, each pinned to a CPU of its own, and whichever gets its CPU first delivers), with the reference thread beside it, in {} windows after those. Its \"driver thread\" figures are those of the first of its two threads:",
                self.tickers.hedged.len()
            ),
            &self.tickers.hedged,
            1,
        );
        if self.plots_drawn {
            let _ = writeln!(m, "![Ticker period error and lag](img/ticker.png)\n");
        }
    }

    /// A list of extra ticker windows under `intro`, numbered from
    /// `first`; nothing if there are none.
    fn md_windows(&self, m: &mut String, intro: &str, runs: &[(TickRun, TickRun)], first: usize) {
        if runs.is_empty() {
            return;
        }
        let _ = writeln!(m, "{intro}\n");
        for (i, (tw, grid)) in runs.iter().enumerate() {
            let _ = writeln!(m, "{}", self.window_line(first + i, tw, grid));
        }
        let _ = writeln!(m);
    }

    /// One line of the extra ticker windows: tickwheel's ticks and drops,
    /// its driver's latest delivery, and the reference thread beside it.
    fn window_line(&self, n: usize, tw: &TickRun, grid: &TickRun) -> String {
        let s = tw.stats(self.tickers.window);
        let g = grid.stats(self.tickers.window);
        format!(
            "- window {n}: {} ticks, reported dropped: {}; the driver's latest delivery {:.3} ms after its tick; the thread beside it: {} intervals > 1.5 ms, latest wake-up {:.3} ms after its grid point; {}",
            s.ticks,
            tw.dropped_text(),
            tw.driver_late.unwrap_or_default().as_secs_f64() * 1e3,
            g.gaps,
            grid.max_lag_ms(),
            tw.sched
                .as_ref()
                .map_or("scheduling not readable".to_string(), SchedWindow::describe)
        )
    }

    fn md_idle(&self, m: &mut String) {
        let i = &self.idle;
        let _ = writeln!(m, "## 5. Idle cost\n");
        let _ = writeln!(
            m,
            "{} timers due in an hour on the global driver, then {:?} of wall time with nothing due. Read from `tickwheel::stats().wakeups` and `/proc/self/task/<tid>/{{stat,schedstat}}` of the thread named `tickwheel`.\n",
            i.timers, i.window
        );
        let _ = writeln!(m, "| figure | value |");
        let _ = writeln!(m, "|---|---:|");
        let _ = writeln!(m, "| driver wake-ups | {} |", i.wakeups);
        let _ = writeln!(
            m,
            "| driver CPU time (schedstat) | {} |",
            i.cpu_ns
                .map_or("not available".into(), |ns| fmt_ns(ns as f64))
        );
        let _ = writeln!(
            m,
            "| driver utime + stime (clock ticks) | {} |\n",
            i.cpu_ticks
        );
    }

    fn md_memory(&self, m: &mut String) {
        let mem = &self.memory;
        let _ = writeln!(m, "## 6. Memory per pending timer\n");
        let _ = writeln!(
            m,
            "Live heap bytes (a counting global allocator) while {} of each are pending, divided by the count, plus the size of the handle itself. \
             The tickwheel figures include its share of the wheel's arena (which grows by doubling, so part of it is spare capacity).\n",
            mem.items
        );
        let best = mem
            .rows
            .iter()
            .filter(|r| is_alternative(r.0))
            .map(|r| r.1 + r.2 as f64)
            .fold(f64::INFINITY, f64::min);
        let _ = writeln!(
            m,
            "| what | heap bytes | handle bytes | total | × best alternative |"
        );
        let _ = writeln!(m, "|---|---:|---:|---:|---:|");
        for (n, heap, handle) in &mem.rows {
            let total = heap + *handle as f64;
            let _ = writeln!(
                m,
                "| {n} | {heap:.0} | {handle} | {total:.0} | {:.2}× |",
                total / best
            );
        }
        let _ = writeln!(m);
    }

    fn md_criterion(&self, m: &mut String) {
        let _ = writeln!(m, "## 7. Criterion figures\n");
        let Some(c) = &self.criterion else {
            let _ = writeln!(
                m,
                "No criterion results were found in the target directory; run `cargo bench --bench core --bench alternatives` first to fold them in here.\n"
            );
            return;
        };
        let lost = if c.times_lost.is_empty() {
            String::new()
        } else {
            format!(
                " The results of `{}` were left out whatever their age: the file times in the target directory are not the ones the bench left (a copy that did not keep them, or a `touch`), so they cannot be told from older results.",
                c.times_lost.join("`, `")
            )
        };
        if c.rows.is_empty() {
            let _ = writeln!(
                m,
                "None of the {} criterion results in the target directory was measured on these sources (or they predate their bench's last run); run `cargo bench --bench core --bench alternatives` first to fold them in here.{lost}\n",
                c.ignored
            );
            return;
        }
        let _ = writeln!(
            m,
            "Medians left by `cargo bench --bench core --bench alternatives` in `{}`, written between {} and {}, by runs on the sources of this report (checked by fingerprint){}. \
             `create_drop_interleaved` times the floor and the global Timer again in alternating batches of 512 within every sample (each row times only its own batches), so that both see the same heap state and machine speed; \
             `threads` rows are aggregate time per operation (wall time / all operations of all threads, 1 or 2 threads creating and dropping at once); \
             `burst_100k` rows are per burst of 100,000 timers due at one instant (manual clock: the `advance` call that puts every value in its channel; real driver: from the deadline until the last value is received; floor: a `try_send` into each of 100,000 channels).{lost}\n",
            c.dir.strip_prefix(env!("CARGO_MANIFEST_DIR")).map_or_else(
                |_| "$CARGO_TARGET_DIR/criterion".to_string(),
                |p| p.display().to_string()
            ),
            c.oldest.map_or("an unknown time".into(), utc),
            c.newest.map_or("an unknown time".into(), utc),
            if c.ignored > 0 {
                format!(
                    "; {} other results were left out: older than their bench's last run, or measured on other sources",
                    c.ignored
                )
            } else {
                String::new()
            }
        );
        let mut group = "";
        let mut floor = None;
        for r in &c.rows {
            if r.group != group {
                group = &r.group;
                let _ = writeln!(m, "\n**{group}**\n");
                let _ = writeln!(m, "| benchmark | median | × floor | × best alternative |");
                let _ = writeln!(m, "|---|---:|---:|---:|");
                floor = c
                    .rows
                    .iter()
                    .filter(|x| x.group == r.group && x.function.starts_with("floor"))
                    .map(|x| x.median_ns)
                    .reduce(f64::min);
            }
            // Floors and alternatives of the same parameter, if any.
            let same = |x: &&CriterionRow| x.group == r.group && x.value == r.value;
            let floor_here = c
                .rows
                .iter()
                .filter(same)
                .filter(|x| x.function.starts_with("floor"))
                .map(|x| x.median_ns)
                .reduce(f64::min)
                .or(floor);
            let alt = c
                .rows
                .iter()
                .filter(same)
                .filter(|x| is_alternative(&x.function) && !x.function.contains("pending"))
                .map(|x| x.median_ns)
                .reduce(f64::min);
            let id = match &r.value {
                Some(v) => format!("{} / {v}", r.function),
                None => r.function.clone(),
            };
            let ratio =
                |d: Option<f64>| d.map_or("–".into(), |d| format!("{:.2}×", r.median_ns / d));
            let _ = writeln!(
                m,
                "| {id} | {} | {} | {} |",
                fmt_ns(r.median_ns),
                ratio(floor_here),
                ratio(alt)
            );
        }
        let _ = writeln!(m);
    }

    fn md_method(&self, m: &mut String) {
        let _ = writeln!(m, "## Method\n");
        let _ = writeln!(
            m,
            "- Every allocation of the report's process goes through a counting allocator (one atomic add per allocation and free), for section 6. That is why sections 1–2 come from criterion's benches when they have run: measured in this process, the same few ns land on every row, tickwheel and floor alike, and pull the ratios towards 1.\n\
             - tickwheel runs on its global driver (thread `tickwheel`) unless a section says otherwise; its thread sets a 1 ns timer slack on Linux.\n\
             - tokio runs a current-thread runtime (`rt`, `time`); its timer has a 1 ms resolution, which shows in its lateness.\n\
             - The `timer` crate (0.2) schedules closures on its own thread from a binary heap; its lateness is measured to the moment the waiting thread receives the closure's message.\n\
             - Benchmarks, dependencies and plots live in `benches/alternatives.rs` and `examples/bench_report.rs`; none of the compared crates is a dependency of the library."
        );
    }
}
