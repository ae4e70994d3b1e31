//! The driver's work: collect what is due under `W`, deliver it without `W`.
//!
//! [`run`] is the driver thread. It sleeps on a condvar until `next_wake`
//! (no periodic wake-ups: with nothing armed it waits without a timeout),
//! and is woken early only when an inserter lowers `next_wake`.
//! [`step`] is one collect-and-deliver pass at a given time; a manual clock
//! calls it from the advancing thread instead.

use crate::driver::callbacks::Job;
use crate::driver::handle::{Inner, State};
use crate::entry::{CallbackState, Delivery, EntryKind};
use crate::stats::LATENESS_WINDOW;
use crate::sync::MutexGuard;
use crate::wheel::{Key, NEVER};
use crossbeam_channel::TrySendError;
use std::sync::atomic::Ordering::Relaxed;

/// Reusable buffers of one driver loop.
#[derive(Default)]
pub(crate) struct Buffers {
    /// Keys the wheel reported due.
    due: Vec<Key>,
    /// What to hand over once `W` is released.
    batch: Vec<Delivery>,
}

/// The body of a driver thread: the driver thread itself, or one of its
/// hedge threads (see [`Builder::hedge_threads`](crate::Builder::hedge_threads)),
/// which all run this same loop on the same state. `cpu` is the CPU to pin
/// this thread to (Linux, hedged drivers only).
///
/// Several threads in this loop need nothing more than one: whoever holds
/// `W` and finds `next_wake` reached steps, and the step moves `next_wake`
/// past what it collected before it releases `W`, so a thread that wakes
/// for the same deadline a moment later finds nothing due and sleeps again
/// (to the new `next_wake`). Deliveries stay one at a time under `D`, in
/// the order of the steps. Every thread waits on the same condvar, and
/// [`Inner::wake_driver`] wakes them all, so each sleeps to the current
/// `next_wake`.
pub(crate) fn run(inner: &Inner, cpu: Option<usize>) {
    set_timer_slack();
    pin_to(cpu);
    let mut buf = Buffers::default();
    let mut st = inner.state.lock();
    loop {
        if st.shutdown {
            break;
        }
        // Read with W held: with hedge threads, steps then see times that
        // never decrease in the order they run, so the wheel's time never
        // goes back whichever thread steps.
        let (_, now) = inner.clock.now();
        if now >= st.next_wake {
            st = step(inner, st, now, &mut buf);
            continue;
        }
        if st.next_wake == NEVER {
            inner.wake.wait(&mut st);
        } else {
            let until = inner.clock.instant_of(st.next_wake);
            inner.wake.wait_until(&mut st, until);
        }
        inner.counters.wakeups.fetch_add(1, Relaxed);
    }
}

/// Collects everything due at `now`, plans the next wake-up, and delivers.
/// Takes `W` and gives it back (it is released during delivery).
pub(crate) fn step<'a>(
    inner: &'a Inner,
    mut st: MutexGuard<'a, State>,
    now: u64,
    buf: &mut Buffers,
) -> MutexGuard<'a, State> {
    collect(inner, &mut st, now, buf);
    st.next_wake = st.wheel.next_deadline().unwrap_or(NEVER);
    if buf.batch.is_empty() {
        return st;
    }
    // Take D before releasing W (ground rule 2): a stop() that finds an entry
    // collected here then waits on D until its value is in the channel.
    let d = inner.deliver.lock();
    // Release W: sends wake receivers and user threads must be able to
    // create and stop timers meanwhile.
    drop(st);
    // One clock read per batch: every value is handed over at or after this
    // instant, so lateness is measured from here.
    let (_, handed_at) = inner.clock.now();
    #[cfg(feature = "metrics")]
    let lateness: Vec<u64> = buf
        .batch
        .iter()
        .map(|d| handed_at.saturating_sub(d.deadline()))
        .collect();
    deliver(inner, &mut buf.batch, handed_at);
    drop(d);
    // Publishing reads the stats, which takes W: only with no lock held
    // (under D it would invert the W-then-D order and deadlock against a
    // reset waiting on D under W).
    //
    // The recorder is user code, run here on the driver thread (or the
    // advancing one): a panic in it is caught and counted, as a callback's
    // is, so that it cannot kill the driver thread and every timer with it.
    #[cfg(feature = "metrics")]
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::metrics::publish(inner, Some(&mut lateness.into_iter()));
    })) {
        inner.caught_panic(payload);
    }
    inner.state.lock()
}

/// Moves everything due at `now` out of the wheel into `buf.batch`, in
/// deadline order, re-arming tickers on their grid.
fn collect(inner: &Inner, st: &mut State, now: u64, buf: &mut Buffers) {
    buf.due.clear();
    st.wheel.poll(now, &mut buf.due);
    for &key in &buf.due {
        let deadline = st.wheel.deadline(key);
        let at = || inner.clock.instant_of(deadline);
        let mut rearm = None;
        match &mut st.wheel.get_mut(key).kind {
            EntryKind::Timer { tx } => {
                if let Some(tx) = tx {
                    buf.batch.push(Delivery::Send {
                        deadline,
                        tx: tx.clone(),
                        at: at(),
                        ticker: None,
                    });
                }
            }
            EntryKind::Ticker { tx, shared } => {
                let period = shared.period.load(Relaxed);
                // Phase lock: the next tick is the first grid point after
                // `now`; grid points skipped because the driver woke late
                // are counted as dropped, not replayed.
                let missed = now.saturating_sub(deadline) / period;
                if missed > 0 {
                    shared.dropped.fetch_add(missed, Relaxed);
                    inner.counters.dropped_ticks.fetch_add(missed, Relaxed);
                    inner.counters.skipped_ticks.fetch_add(missed, Relaxed);
                }
                rearm = Some(
                    missed
                        .checked_add(1)
                        .and_then(|k| k.checked_mul(period))
                        .and_then(|k| k.checked_add(deadline))
                        .unwrap_or(NEVER),
                );
                if let Some(tx) = tx {
                    buf.batch.push(Delivery::Send {
                        deadline,
                        tx: tx.clone(),
                        at: at(),
                        ticker: Some(shared.clone()),
                    });
                }
            }
            EntryKind::Callback { f, state, .. } => {
                debug_assert_eq!(*state, CallbackState::Armed);
                let f = f.take().expect("armed callback has its closure");
                *state = CallbackState::Queued;
                buf.batch.push(Delivery::Run { deadline, key, f });
            }
        }
        if let Some(next) = rearm {
            st.wheel.arm(key, next);
        }
    }
    // The wheel yields slot by slot; within a slot (or when the driver woke
    // late across several) order by deadline. Stable: equal deadlines keep
    // their order.
    if !buf.batch.is_sorted_by_key(Delivery::deadline) {
        buf.batch.sort_by_key(Delivery::deadline);
    }
}

/// Hands over a batch: channel sends and callback jobs, recording their
/// lateness as of `handed_at`. Runs with `D` held and `W` released. Never
/// blocks, and takes no lock but the lateness window's and the job queue's
/// (never `W`: the driver holds `D`).
fn deliver(inner: &Inner, batch: &mut Vec<Delivery>, handed_at: u64) {
    let from = batch.len().saturating_sub(LATENESS_WINDOW);
    let late = |d: &Delivery| handed_at.saturating_sub(d.deadline());
    inner
        .counters
        .lateness
        .record(batch[from..].iter().map(late));
    let mut fired = 0;
    let mut jobs = Vec::new();
    for d in batch.drain(..) {
        match d {
            Delivery::Send { tx, at, ticker, .. } => {
                inner.chan_point();
                match tx.try_send(at) {
                    Ok(()) => fired += 1,
                    Err(TrySendError::Full(_)) => {
                        // Only a ticker's channel can be full: an armed
                        // timer's channel is empty (ground rule 3).
                        debug_assert!(ticker.is_some(), "a timer's channel was full");
                        if let Some(t) = ticker {
                            t.dropped.fetch_add(1, Relaxed);
                            inner.counters.dropped_ticks.fetch_add(1, Relaxed);
                        }
                    }
                    // Not expected: a timer or ticker whose drop had begun
                    // keeps its receiver until this send is over (the drop
                    // waits on D, then withdraws the value). Ignored rather
                    // than asserted: the driver thread must not panic.
                    Err(TrySendError::Disconnected(_)) => {}
                }
            }
            Delivery::Run { key, f, .. } => {
                fired += 1;
                jobs.push(Job::Run { key, f });
            }
        }
    }
    if !jobs.is_empty() {
        inner.chan_point();
        inner.jobs.push(jobs.into_iter());
    }
    inner.counters.fired.fetch_add(fired, Relaxed);
}

/// Asks Linux for 1 ns of timer slack on this thread, so the driver wakes
/// close to its deadline instead of up to 50 µs (the default slack) later.
///
/// Done through procfs rather than `prctl(PR_SET_TIMERSLACK)`, so that no
/// unsafe FFI is needed: `/proc/<tid>/timerslack_ns` of the calling thread
/// itself is writable without privileges (the tid is read from the
/// `/proc/thread-self` link).
///
/// Slack is the only scheduling attribute the driver thread changes (but
/// for the CPU pinning of a driver with hedge threads, see [`pin_to`]). It
/// does not ask for a real-time policy or for a shorter EEVDF slice, though
/// both were tried (2026-11-29, 2 vCPUs, Linux 6.18, kernel code not
/// preempted by default). There a 1 ms ticker lost a tick whenever a kernel thread
/// (`kdamond`, `kcompactd`) or another process kept the driver's CPU for
/// over a period (in two such cases `perf sched` showed the driver runnable
/// and waiting for 1.0 and 3.8 ms). Ticks lost per 2 s window: a mean of 4.0
/// over 34 windows as the driver is; 1.5 over 22 with a 100 µs slice
/// (`sched_setattr`, no privileges needed); 3 to 20 in 6 windows with
/// `SCHED_FIFO`, which cannot preempt kernel code either and needs
/// privileges. The slice helps, but setting it is an `unsafe` FFI call,
/// which this crate does not make. A second driver thread on another CPU
/// ([`Builder::hedge_threads`](crate::Builder::hedge_threads)) needs no
/// privileges and no unsafe code of ours, and helped more (see there).
fn set_timer_slack() {
    #[cfg(target_os = "linux")]
    if let Err(e) = write_timer_slack() {
        // Not fatal: the driver keeps the default slack and is only less
        // precise. Said once, on stderr, so it is not silently lost.
        eprintln!(
            "tickwheel: could not lower the driver thread's timer slack ({e}); timers may fire up to 50 µs late"
        );
    }
}

/// The CPU each of a driver's `threads` threads pins itself to: `None` for
/// all (no pinning) when there is one thread, or off Linux, or when the CPUs
/// this process may run on cannot be read; else CPUs spread over that set
/// (threads share CPUs only when there are more threads than CPUs).
pub(crate) fn spread_cpus(threads: usize) -> Vec<Option<usize>> {
    #[cfg(target_os = "linux")]
    if threads > 1 {
        match rustix::thread::sched_getaffinity(None) {
            Ok(set) => {
                let cpus: Vec<usize> = (0..rustix::thread::CpuSet::MAX_CPU)
                    .filter(|&c| set.is_set(c))
                    .collect();
                let n = cpus.len();
                if n > 0 {
                    return (0..threads)
                        .map(|k| {
                            Some(if threads <= n {
                                cpus[k * n / threads]
                            } else {
                                cpus[k % n]
                            })
                        })
                        .collect();
                }
            }
            Err(e) => eprintln!(
                "tickwheel: could not read the CPUs this process may run on ({e}); the driver's hedge threads run unpinned"
            ),
        }
    }
    vec![None; threads]
}

/// Pins the calling thread to `cpu`, if given. Failing is not fatal (the
/// thread runs unpinned, which makes a hedge thread much less useful), and
/// is said once per thread on stderr.
fn pin_to(cpu: Option<usize>) {
    #[cfg(target_os = "linux")]
    if let Some(cpu) = cpu {
        let mut set = rustix::thread::CpuSet::new();
        set.set(cpu);
        if let Err(e) = rustix::thread::sched_setaffinity(None, &set) {
            eprintln!(
                "tickwheel: could not pin a driver thread to CPU {cpu} ({e}); it runs unpinned"
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpu;
}

#[cfg(target_os = "linux")]
fn write_timer_slack() -> std::io::Result<()> {
    let link = std::fs::read_link("/proc/thread-self")?;
    let tid = link
        .file_name()
        .and_then(|s| s.to_str())
        .ok_or_else(|| std::io::Error::other("unexpected /proc/thread-self link"))?;
    std::fs::write(format!("/proc/{tid}/timerslack_ns"), "1")
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::driver::Handle;
    use std::time::{Duration, Instant};

    const MS: u64 = 1_000_000;

    // Issue 2, semantics 3: the driver itself wakes several periods late.
    //
    //   period 10 ms, created at ~0:
    //   time:   0    10   20   30   40   50 55
    //   grid:        .    .    .    .    .        driver asleep until 55
    //   wake:                                |    delivers 10 (earliest missed),
    //                                             drops 20, 30, 40, 50
    //   next:                                  60 (same grid)
    #[test]
    fn late_driver_delivers_the_earliest_missed_tick_and_drops_the_rest() {
        let (h, _jobs) = Handle::without_threads();
        let ticker = h.ticker(Duration::from_millis(10));
        let created = ticker_deadline(&h) - 10 * MS;
        h.step_at(created + 55 * MS);
        let got = ticker.try_recv().unwrap();
        assert_eq!(got, h.inner.clock.instant_of(created + 10 * MS));
        assert_eq!(ticker.dropped(), 4);
        assert_eq!(ticker_deadline(&h), created + 60 * MS);
        // The next wake-up, on time, delivers the next grid point.
        h.step_at(created + 60 * MS);
        assert_eq!(
            ticker.try_recv().unwrap(),
            h.inner.clock.instant_of(created + 60 * MS)
        );
        assert_eq!(ticker.dropped(), 4);
        // All four were skipped by the late driver, none dropped on a full
        // channel. Now the reader is late instead: 70 waits in the channel,
        // 80 is offered to it and dropped, on time.
        let s = h.stats();
        assert_eq!((s.dropped_ticks, s.skipped_ticks), (4, 4));
        h.step_at(created + 70 * MS);
        h.step_at(created + 80 * MS);
        let s = h.stats();
        assert_eq!((s.dropped_ticks, s.skipped_ticks), (5, 4));
        assert_eq!(ticker.dropped(), 5);
    }

    // Issue 2, semantics 9 (added by test review): a driver that wakes late
    // collects several callbacks in one step; the wheel yields a slot in
    // arming order, so the step itself must hand them to the callback thread
    // in deadline order (equal deadlines in arming order). Decided without
    // real time: the test plays the driver and reads the job queue.
    #[test]
    fn a_late_step_queues_callbacks_in_deadline_order() {
        use crate::driver::callbacks::Job;
        use std::sync::{Arc, Mutex};
        let (h, jobs) = Handle::without_threads();
        let log = Arc::new(Mutex::new(Vec::new()));
        // Offsets in µs from a common base, armed in a scrambled order: the
        // first five share one 1 ms slot, the rest are slots (and a level)
        // apart; 1500 appears twice (ids 5 and 8).
        let offsets = [700u64, 300, 900, 300, 100, 1500, 64_000, 2, 1500];
        let base = Instant::now() + Duration::from_millis(3);
        let handles: Vec<_> = offsets
            .iter()
            .enumerate()
            .map(|(id, &us)| {
                let log = log.clone();
                h.after_func_at(base + Duration::from_micros(us), move || {
                    log.lock().unwrap().push(id)
                })
            })
            .collect();
        h.step_at(h.inner.clock.ns_of(base) + 100 * MS);
        for job in jobs.try_iter() {
            let Job::Run { f, .. } = job else {
                panic!("only callbacks were queued")
            };
            f();
        }
        let mut want: Vec<usize> = (0..offsets.len()).collect();
        want.sort_by_key(|&id| offsets[id]); // stable: ties in arming order
        assert_eq!(*log.lock().unwrap(), want);
        drop(handles);
    }

    /// The one armed entry's deadline.
    fn ticker_deadline(h: &Handle) -> u64 {
        h.inner.state.lock().wheel.next_deadline().unwrap()
    }
}
