//! [`Driver`]: one thread that advances the wheel (plus any hedge threads
//! running the same loop), and one that runs callbacks; and [`Builder`] to
//! configure it.

pub(crate) mod callbacks;
pub(crate) mod handle;
pub(crate) mod run;

use crate::clock::Clock;
use crate::manual_clock::ManualClock;
use crate::sites::{Site, SiteFn, SiteTracker};
pub use handle::Handle;
use handle::{Inner, InnerRef};
use std::fmt;
use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A timer driver: a wheel advanced by one thread (or, with
/// [`Builder::hedge_threads`], by whichever of several gets a CPU first),
/// with another thread for callbacks.
///
/// Most programs use the global driver through [`after`](crate::after),
/// [`tick`](crate::tick) and friends. A `Driver` of your own gives an
/// isolated wheel (its own stats, its own thread) and can be shut down:
///
/// ```
/// use std::time::Duration;
/// let driver = tickwheel::Driver::builder().thread_name("my-timers").build()?;
/// let timer = driver.handle().timer(Duration::from_millis(1));
/// timer.recv().unwrap();
/// driver.shutdown(); // also done by Drop
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Many threads making timers at once
///
/// Every create and every drop of a handle takes its driver's one wheel
/// lock for a few dozen nanoseconds. Threads that do it at a high rate at
/// the same moment queue on that lock: on the 2-core machine of
/// `docs/benchmarks.md`, two threads creating and dropping `Callback`s on
/// the global driver get less done together than one thread alone (the
/// `threads` table there). If that matters, give each group of such
/// threads a `Driver` of its own: drivers share no lock (each has its own
/// wheel and two threads of its own, which sleep while nothing is due).
/// A handle of one driver works from any thread, so the split is only
/// about contention, never about correctness.
pub struct Driver {
    /// Handle to the shared state.
    handle: Handle,
    /// The driver thread, then its hedge threads (none on a manual clock:
    /// `advance` drives it).
    threads: Vec<JoinHandle<()>>,
    /// The callback thread.
    callbacks: Option<JoinHandle<()>>,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("handle", &self.handle)
            .finish()
    }
}

/// Configures a [`Driver`].
#[derive(Clone)]
pub struct Builder {
    /// Wheel tick length.
    resolution: Duration,
    /// Name of the driver thread.
    thread_name: String,
    /// A manual clock, or `None` for the real one.
    clock: Option<ManualClock>,
    /// Live-handle threshold per creation site, and what to call.
    site_threshold: Option<(usize, SiteFn)>,
    /// Extra threads running the driver loop beside the driver thread.
    hedge_threads: usize,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("resolution", &self.resolution)
            .field("thread_name", &self.thread_name)
            .field("clock", &self.clock)
            .field(
                "site_threshold",
                &self.site_threshold.as_ref().map(|(n, _)| n),
            )
            .field("hedge_threads", &self.hedge_threads)
            .finish()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            resolution: Duration::from_millis(1),
            thread_name: "tickwheel".into(),
            clock: None,
            site_threshold: None,
            hedge_threads: 0,
        }
    }
}

impl Builder {
    /// The length of one wheel tick (default 1 ms).
    ///
    /// Timers fire at their exact deadline whatever the resolution: it only
    /// decides how entries are filed. The horizon (beyond which entries are
    /// parked and re-filed, still exact) is 2^36 ticks: 2.18 years at 1 ms.
    ///
    /// # Panics
    ///
    /// If `resolution` is under one nanosecond.
    #[track_caller]
    pub fn resolution(mut self, resolution: Duration) -> Self {
        assert!(
            resolution >= Duration::from_nanos(1),
            "tickwheel: driver resolution must be at least 1 ns, got {resolution:?}"
        );
        self.resolution = resolution;
        self
    }

    /// The driver thread's name (default `tickwheel`); the callback thread
    /// is named after it with `-callbacks` appended.
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// Runs the driver on a [`ManualClock`]: it then never reads the real
    /// clock and never fires on its own; time moves only by
    /// [`ManualClock::advance`].
    pub fn clock(mut self, clock: ManualClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Calls `f` when one creation site (source line and handle kind) holds
    /// more than `n` live handles: once per crossing (again only after the
    /// count fell back to `n` or below and rises past it anew). `f` runs on
    /// the driver's callback thread, never on the thread creating the handle
    /// nor on the driver thread; a panic in it is caught and counted in
    /// [`Stats::callback_panics`](crate::Stats).
    ///
    /// Keeping per-site counts costs a hash-map update per handle created and
    /// dropped on this driver; drivers without a threshold pay nothing.
    pub fn on_site_threshold(
        mut self,
        n: usize,
        f: impl Fn(&Site) + Send + Sync + 'static,
    ) -> Self {
        self.site_threshold = Some((n, Arc::new(f)));
        self
    }

    /// Runs the driver loop on `n` more threads (default 0), each pinned to a
    /// CPU of its own on Linux: they all sleep to the same next deadline, and
    /// whichever gets a CPU first delivers; the others find nothing due and
    /// sleep again. For short periods on machines where a CPU can be held for
    /// milliseconds by something the driver thread cannot preempt.
    ///
    /// A woken thread waits for the CPU it was woken on. On a virtual machine,
    /// or on a kernel that does not preempt kernel code, that CPU may be held
    /// for a few milliseconds (a kernel thread, the host) while another CPU
    /// idles, and a 1 ms ticker then loses ticks whatever its timer slack.
    /// Threads on different CPUs are held up together only when all those
    /// CPUs are. Measured on the 2-vCPU VM of `docs/benchmarks.md` (Linux
    /// 6.18, no kernel preemption; 2026-11-29), a 1 ms ticker read in 45
    /// windows of 2 s for each setting, in alternating runs: without hedge
    /// threads it received 2000 ± 2 ticks in 17 windows (a mean of 3.5 lost
    /// per window, 143 of them skipped by a driver thread that woke late);
    /// with one hedge thread, in 44 (a mean of 0.3 lost, 1 skipped: the
    /// rest were offered to a full channel because the consumer thread had
    /// been held up the same way;
    /// [`Stats::skipped_ticks`](crate::Stats::skipped_ticks) tells the two
    /// apart). The bench report measures both in every run.
    ///
    /// The cost: every driver thread wakes at every deadline, so the driver's
    /// CPU time and [`Stats::wakeups`](crate::Stats::wakeups) grow `n + 1`
    /// times (with nothing due, none of them wakes); a new earliest deadline
    /// wakes them all. So it suits a few short periods, not a churn of short
    /// timers: the cycles of `tests/soak.rs` (zero-duration and short timers,
    /// tickers and callbacks made and dropped one after another, each one a
    /// new earliest deadline) took 77 µs each with one hedge thread against
    /// 9 µs without (one run each, same machine).
    ///
    /// Threads are pinned to CPUs spread over those the process may run on
    /// (the driver thread to the first), and share CPUs only when there are
    /// more threads than CPUs. Unpinned (off Linux, or if
    /// pinning fails, which is said on stderr), they may not help at all: on
    /// the same VM, with the threads' pinning undone by hand, the late-driver
    /// skips went away but the consumer lost more ticks on a full channel
    /// than before (15 windows: 2 within ± 2, against 9 with no hedge thread
    /// and 15 pinned, in runs right after). Their names are the driver
    /// thread's with `-hedge<k>` appended. Ignored on a manual clock, which
    /// has no driver thread.
    pub fn hedge_threads(mut self, n: usize) -> Self {
        self.hedge_threads = n;
        self
    }

    /// Starts the driver's threads.
    ///
    /// # Errors
    ///
    /// If a thread cannot be spawned, or (`InvalidInput`) if the thread name
    /// contains a NUL byte, which `std::thread::Builder::spawn` would panic on.
    pub fn build(self) -> io::Result<Driver> {
        if self.thread_name.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "tickwheel: driver thread name contains a NUL byte",
            ));
        }
        let clock = match &self.clock {
            Some(m) => Clock::Manual(m.clone()),
            None => Clock::Real {
                base: Clock::real_base(Instant::now()),
            },
        };
        let resolution_ns = u64::try_from(self.resolution.as_nanos()).unwrap_or(u64::MAX);
        let (jobs, job_rx) = callbacks::Jobs::new();
        let sites = self.site_threshold.map(|(n, f)| SiteTracker::new(n, f));
        let name = self.thread_name.clone();
        let driver_threads = match self.clock {
            Some(_) => 1,
            None => self.hedge_threads.saturating_add(1),
        };
        let inner = Arc::new(Inner::new(
            clock,
            resolution_ns,
            name,
            jobs,
            sites,
            driver_threads,
        ));

        let cb_inner = inner.clone();
        let callbacks = std::thread::Builder::new()
            .name(format!("{}-callbacks", self.thread_name))
            .spawn(move || callbacks::run(&cb_inner, job_rx))?;
        let mut driver = Driver {
            handle: Handle {
                inner: InnerRef::Shared(inner.clone()),
            },
            threads: Vec::new(),
            callbacks: Some(callbacks),
        };
        match &self.clock {
            Some(m) => m.register(&inner),
            None => {
                for (k, cpu) in run::spread_cpus(driver_threads).into_iter().enumerate() {
                    let name = match k {
                        0 => self.thread_name.clone(),
                        k => format!("{}-hedge{k}", self.thread_name),
                    };
                    let th_inner = inner.clone();
                    // On error `driver` is dropped, which stops the threads
                    // started so far again.
                    driver.threads.push(
                        std::thread::Builder::new()
                            .name(name)
                            .spawn(move || run::run(&th_inner, cpu))?,
                    );
                }
            }
        }
        Ok(driver)
    }
}

impl Driver {
    /// A builder with the defaults: 1 ms resolution, thread `tickwheel`,
    /// real clock, no hedge threads.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A handle for creating timers on this driver.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// A handle that borrows this driver's state for `'static` (for the
    /// global driver, which lives in a static).
    pub(crate) fn static_handle(&'static self) -> Handle {
        Handle {
            inner: InnerRef::Static(&self.handle.inner),
        }
    }

    /// Stops the driver (also done by `Drop`).
    ///
    /// When it returns: every timer and ticker receiver of this driver
    /// reports `Disconnected` once it has taken any value delivered before
    /// the shutdown (blocked `recv`s return `Err`); the callback
    /// that was running (if any) has finished; callbacks not yet started are
    /// dropped without running; later timers made from a [`Handle`] are born
    /// disconnected and later callbacks never run. Called from a callback of
    /// this driver, it cannot wait for that callback: it returns without
    /// waiting for the callback thread, which exits once the callback
    /// returns (queued callbacks are still dropped unrun).
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let inner = &self.handle.inner;
        if !inner.shut_down() {
            return;
        }
        // A driver thread only exits after delivering what it had collected,
        // so no sender clone survives these joins.
        for t in self.threads.drain(..) {
            join(t);
        }
        // In-flight senders of a manual-clock step are dropped when D is.
        inner.wait_for_delivery();
        inner.jobs.stop();
        if let Some(t) = self.callbacks.take() {
            if t.thread().id() == std::thread::current().id() {
                // Shut down from inside a callback: the thread exits after
                // this callback returns; joining itself would deadlock.
                return;
            }
            join(t);
        }
    }
}

/// Joins one of the driver's threads. They catch user panics, so a panic
/// here is a tickwheel bug: it is passed on, unless this thread is already
/// unwinding.
fn join(t: JoinHandle<()>) {
    if let Err(panic) = t.join() {
        if !std::thread::panicking() {
            std::panic::resume_unwind(panic);
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
    }
}
