//! A model-based property test of the public handle API on a `ManualClock`:
//! random sequences of operations on a small pool of `Timer`s, `Ticker`s and
//! `Callback`s, interleaved with `advance`s, checked after every operation
//! against a reference model of Go 1.23's `time` semantics (issue 2,
//! semantics 1–11; issue 3 for the manual clock).
//!
//! What the model predicts, and the test checks after each operation:
//! - every value received is the exact scheduled instant (a timer's
//!   deadline, a tick of `start + k·period`), and it is in the channel from
//!   the `advance` that reached it on, never before (checked through
//!   `receiver().len()` of the handle and of a receiver clone);
//! - one value per arming; `Timer::stop`/`reset` return true exactly when
//!   they prevented a delivery (armed, or delivered and not yet received,
//!   that value being withdrawn) and nothing from before them is received;
//! - a ticker's `dropped()` (each tick that found the channel full), its
//!   `period()`, and its grid restarted at now + period by `reset`;
//! - each callback's run: at most once, in deadline order (ties in creation
//!   order), at the virtual time `max(deadline, time the advance started)`
//!   (the deadline itself unless it was already past); never after a `stop`
//!   that returned true or a drop, always when detached;
//! - `Stats`: `pending` (armed entries, `Duration::MAX` ones included), the
//!   live handle counts, `fired` and `dropped_ticks`;
//! - receiver clones of dropped timers and tickers report `Disconnected`;
//! - at the end, after `Driver::shutdown`, every receiver yields what was
//!   waiting in it and then reports `Disconnected`, nothing is pending, no
//!   callback runs and `Callback::stop` prevents nothing.
//!
//! Each case runs one driver, or two on the same clock (slot `i` of each
//! pool on driver `i % 2`), each with a resolution of its own: the default
//! (1 ms), 1 ns, an odd 7.777 µs, or the coarse 50 ms and 1 s. Durations
//! are drawn in units of the coarsest of them: aligned, or off by 1 ns, by
//! one unit less 1 ns or by a fraction of a unit; a few raw nanoseconds;
//! zero; up to 70 units (wheel levels 0 and 1) and now and then about 4,100
//! (level 2, and beyond the 68-second horizon of a 1 ns driver next to a
//! 1 s one); deadlines in the past (before the clock's time zero too); and
//! `Duration::MAX` (or an instant too far to represent).
//!
//! Case count: 5,000 by default (a few seconds), `PROPTEST_CASES=n` sets
//! it, `TICKWHEEL_STRESS=full` runs 100,000 (see `docs/reliability.md`).

use crossbeam_channel::{Receiver, TryRecvError};
use parking_lot::Mutex;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tickwheel::{Callback, Driver, Handle, ManualClock, Ticker, Timer};

/// Pool sizes: timers, tickers, callbacks.
const TIMERS: usize = 4;
const TICKERS: usize = 2;
const CALLBACKS: usize = 3;
/// Drivers on the one clock, at most; slot `i` of each pool is on driver
/// `i % drivers`.
const DRIVERS: usize = 2;

/// `Builder::resolution`'s documented default.
const DEFAULT_RESOLUTION: u64 = 1_000_000;

/// The driver's "never" (`u64::MAX` ns, 584 years): what `Duration::MAX`
/// and unrepresentable deadlines become.
const NEVER: u64 = u64::MAX;

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

/// A duration, in units of the coarsest driver's resolution (known only
/// once the case's drivers are chosen).
#[derive(Clone, Copy, Debug)]
enum Span {
    Zero,
    Max,
    /// `k` units plus an offset.
    Units(u64, Off),
    /// A few nanoseconds, whatever the unit.
    Ns(u64),
}

/// An offset from a multiple of the unit.
#[derive(Clone, Copy, Debug)]
enum Off {
    Aligned,
    OneNs,
    /// One unit less 1 ns.
    AlmostOne,
    /// `unit · f / 2^16`.
    Frac(u16),
}

impl Span {
    fn nanos(self, unit: u64) -> u64 {
        match self {
            Span::Zero => 0,
            Span::Max => NEVER,
            Span::Units(k, off) => {
                let off = match off {
                    Off::Aligned => 0,
                    Off::OneNs => 1,
                    Off::AlmostOne => unit - 1,
                    Off::Frac(f) => ((u128::from(unit) * u128::from(f)) >> 16) as u64,
                };
                k * unit + off
            }
            Span::Ns(n) => n,
        }
    }

    fn duration(self, unit: u64) -> Duration {
        match self {
            Span::Max => Duration::MAX,
            _ => Duration::from_nanos(self.nanos(unit)),
        }
    }

    /// As a ticker period: `Duration::MAX`, or at least a quarter of the
    /// unit (shorter than a driver's resolution is allowed, but a 1 ns
    /// period advanced in 1 s units would make every advance a billion
    /// steps).
    fn period(self, unit: u64) -> Duration {
        match self {
            Span::Max => Duration::MAX,
            _ => Duration::from_nanos(self.nanos(unit).max((unit / 4).max(1))),
        }
    }
}

/// An instant relative to the virtual now.
#[derive(Clone, Copy, Debug)]
enum When {
    /// `now - span` (clamped to the clock's time zero by the driver).
    Ago(Span),
    /// `now + span`; `Duration::MAX` is an instant 2^36 s (2,177 years)
    /// ahead, beyond the driver's 584-year range.
    In(Span),
    /// Before the clock's time zero: due at once, delivered as time zero.
    BeforeTimeZero,
}

/// One operation. The first field names a slot of the pool: making a
/// handle into an occupied slot drops the one there first; any other
/// operation on an empty slot does nothing.
#[derive(Clone, Debug)]
enum Op {
    Timer(usize, Span),
    TimerAt(usize, When),
    TimerStop(usize),
    TimerReset(usize, Span),
    TimerResetAt(usize, When),
    /// Take a value with `try_recv`, from the handle or from the receiver
    /// clone (a value received by anyone is no longer withdrawable).
    TimerRecv(usize, bool),
    TimerDrop(usize),
    Ticker(usize, Span),
    TickerStop(usize),
    TickerReset(usize, Span),
    TickerRecv(usize),
    TickerDrop(usize),
    AfterFunc(usize, Span),
    AfterFuncAt(usize, When),
    CallbackStop(usize),
    CallbackDrop(usize),
    CallbackDetach(usize),
    Advance(Span),
    AdvanceTo(When),
}

fn off() -> impl Strategy<Value = Off> {
    prop_oneof![
        3 => Just(Off::Aligned),
        1 => Just(Off::OneNs),
        1 => Just(Off::AlmostOne),
        2 => any::<u16>().prop_map(Off::Frac),
    ]
}

/// Short spans: level 0 and 1 of the wheel (64 slots a level), raw
/// nanoseconds, zero.
fn short() -> impl Strategy<Value = Span> {
    prop_oneof![
        2 => Just(Span::Zero),
        8 => (0u64..4, off()).prop_map(|(k, o)| Span::Units(k, o)),
        3 => (4u64..70, off()).prop_map(|(k, o)| Span::Units(k, o)),
        2 => (0u64..1000).prop_map(Span::Ns),
    ]
}

/// A timer's or callback's delay: short ones, level 2 (4096 units and up)
/// now and then, `Duration::MAX` now and then.
fn delay() -> impl Strategy<Value = Span> {
    prop_oneof![
        15 => short(),
        1 => (4090u64..4200, off()).prop_map(|(k, o)| Span::Units(k, o)),
        1 => Just(Span::Max),
    ]
}

/// An advance: short ones, and now and then far enough for level 2.
fn advance() -> impl Strategy<Value = Span> {
    prop_oneof![
        30 => short(),
        1 => (4090u64..4200, off()).prop_map(|(k, o)| Span::Units(k, o)),
    ]
}

/// A ticker's period (raised to a quarter unit at least).
fn period() -> impl Strategy<Value = Span> {
    prop_oneof![
        6 => (1u64..20, off()).prop_map(|(k, o)| Span::Units(k, o)),
        2 => any::<u16>().prop_map(|f| Span::Units(0, Off::Frac(f))),
        1 => Just(Span::Max),
    ]
}

fn when<S: Strategy<Value = Span>>(span: fn() -> S) -> impl Strategy<Value = When> {
    prop_oneof![
        3 => span().prop_map(When::Ago),
        3 => span().prop_map(When::In),
        1 => Just(When::BeforeTimeZero),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let t = 0..TIMERS;
    let k = 0..TICKERS;
    let c = 0..CALLBACKS;
    prop_oneof![
        4 => (t.clone(), delay()).prop_map(|(i, d)| Op::Timer(i, d)),
        1 => (t.clone(), when(delay)).prop_map(|(i, w)| Op::TimerAt(i, w)),
        3 => t.clone().prop_map(Op::TimerStop),
        3 => (t.clone(), delay()).prop_map(|(i, d)| Op::TimerReset(i, d)),
        1 => (t.clone(), when(delay)).prop_map(|(i, w)| Op::TimerResetAt(i, w)),
        4 => (t.clone(), any::<bool>()).prop_map(|(i, clone)| Op::TimerRecv(i, clone)),
        1 => t.prop_map(Op::TimerDrop),
        2 => (k.clone(), period()).prop_map(|(i, p)| Op::Ticker(i, p)),
        1 => k.clone().prop_map(Op::TickerStop),
        1 => (k.clone(), period()).prop_map(|(i, p)| Op::TickerReset(i, p)),
        3 => k.clone().prop_map(Op::TickerRecv),
        1 => k.prop_map(Op::TickerDrop),
        3 => (c.clone(), delay()).prop_map(|(i, d)| Op::AfterFunc(i, d)),
        1 => (c.clone(), when(delay)).prop_map(|(i, w)| Op::AfterFuncAt(i, w)),
        2 => c.clone().prop_map(Op::CallbackStop),
        1 => c.clone().prop_map(Op::CallbackDrop),
        1 => c.prop_map(Op::CallbackDetach),
        10 => advance().prop_map(Op::Advance),
        1 => when(advance).prop_map(Op::AdvanceTo),
    ]
}

/// A driver's resolution: `None` for the default (1 ms), else set.
fn resolution() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(1)),
        1 => Just(Some(7_777)),
        1 => Just(Some(50_000_000)),
        1 => Just(Some(1_000_000_000)),
    ]
}

// ---------------------------------------------------------------------------
// The reference model (virtual nanoseconds since the clock's time zero)
// ---------------------------------------------------------------------------

#[derive(Debug, Default)]
struct TimerModel {
    /// Its driver.
    drv: usize,
    /// The deadline while armed ([`NEVER`] for one that never fires).
    armed: Option<u64>,
    /// The value waiting in the channel.
    waiting: Option<u64>,
}

impl TimerModel {
    /// What Go 1.23's `Stop` returns, and its effect.
    fn stop(&mut self) -> bool {
        let prevented = self.armed.is_some() || self.waiting.is_some();
        self.armed = None;
        self.waiting = None;
        prevented
    }
}

#[derive(Debug)]
struct TickerModel {
    drv: usize,
    /// The next tick while running.
    next: Option<u64>,
    period: u64,
    waiting: Option<u64>,
    dropped: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallbackState {
    Armed,
    Ran,
    Stopped,
}

#[derive(Debug)]
struct CallbackModel {
    drv: usize,
    deadline: u64,
    state: CallbackState,
}

/// Callback runs: `(id, virtual ns)`.
type Runs = Vec<(usize, u64)>;

#[derive(Debug, Default)]
struct Model {
    now: u64,
    timers: [Option<TimerModel>; TIMERS],
    tickers: [Option<TickerModel>; TICKERS],
    /// Which callback (an index into `callbacks`) each slot holds.
    slots: [Option<usize>; CALLBACKS],
    /// Every callback ever made, by id (creation order).
    callbacks: Vec<CallbackModel>,
    /// Each run, in run order (of each driver).
    runs: Runs,
    /// `Stats::fired` and `Stats::dropped_ticks` of each driver.
    fired: [u64; DRIVERS],
    dropped_ticks: [u64; DRIVERS],
}

impl Model {
    /// `Stats::pending` of driver `drv`: its armed entries.
    fn pending(&self, drv: usize) -> usize {
        let timers = self.timers.iter().flatten().filter(|t| t.drv == drv);
        let tickers = self.tickers.iter().flatten().filter(|t| t.drv == drv);
        timers.filter(|t| t.armed.is_some()).count()
            + tickers.filter(|t| t.next.is_some()).count()
            + (self.callbacks.iter())
                .filter(|c| c.drv == drv && c.state == CallbackState::Armed)
                .count()
    }

    /// `Stats::timers`, `tickers`, `callbacks` of driver `drv`: live handles.
    fn live(&self, drv: usize) -> (usize, usize, usize) {
        let timers = self.timers.iter().flatten().filter(|t| t.drv == drv);
        let tickers = self.tickers.iter().flatten().filter(|t| t.drv == drv);
        let callbacks = (self.slots.iter().flatten()).filter(|&&id| self.callbacks[id].drv == drv);
        (timers.count(), tickers.count(), callbacks.count())
    }

    /// Time moves to `goal`. The clock steps through every deadline on the
    /// way, so each tick is handled on its own (delivered, or dropped if the
    /// channel is full), and a callback runs at its deadline, or at `start`
    /// if that had passed already (the first step is to now). A goal before
    /// now (`advance_to` a past instant) leaves time where it is but still
    /// handles what is due now, as `advance(Duration::ZERO)` does.
    fn advance_to(&mut self, goal: u64) -> Result<(), TestCaseError> {
        let start = self.now;
        let goal = goal.max(start);
        for t in self.timers.iter_mut().flatten() {
            if let Some(at) = t.armed.filter(|&at| at <= goal) {
                prop_assert!(t.waiting.is_none(), "model: armed with a value waiting");
                t.armed = None;
                t.waiting = Some(at);
                self.fired[t.drv] += 1;
            }
        }
        for t in self.tickers.iter_mut().flatten() {
            while let Some(at) = t.next.filter(|&at| at <= goal) {
                if t.waiting.is_none() {
                    t.waiting = Some(at);
                    self.fired[t.drv] += 1;
                } else {
                    t.dropped += 1;
                    self.dropped_ticks[t.drv] += 1;
                }
                t.next = Some(at.checked_add(t.period).unwrap_or(NEVER));
            }
        }
        let mut due: Vec<usize> = (0..self.callbacks.len())
            .filter(|&id| {
                let c = &self.callbacks[id];
                c.state == CallbackState::Armed && c.deadline <= goal
            })
            .collect();
        // Deadline order; ties in creation order (the sort is stable).
        due.sort_by_key(|&id| self.callbacks[id].deadline);
        for id in due {
            let c = &mut self.callbacks[id];
            c.state = CallbackState::Ran;
            self.runs.push((id, c.deadline.max(start)));
            self.fired[c.drv] += 1;
        }
        self.now = goal;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The system under test, driven in step with the model
// ---------------------------------------------------------------------------

struct Harness {
    /// The unit of every span: the coarsest driver's resolution.
    unit: u64,
    clock: ManualClock,
    base: Instant,
    drivers: Vec<Driver>,
    handles: Vec<Handle>,
    /// Each timer and ticker with a clone of its receiver.
    timers: [Option<(Timer, Receiver<Instant>)>; TIMERS],
    tickers: [Option<(Ticker, Receiver<Instant>)>; TICKERS],
    callbacks: [Option<Callback>; CALLBACKS],
    /// Receiver clones of dropped timers and tickers.
    orphans: Vec<Receiver<Instant>>,
    /// What the callbacks recorded: `(id, clock.now())` when they ran.
    runs: Arc<Mutex<Vec<(usize, Instant)>>>,
    model: Model,
}

/// `d` in driver nanoseconds, saturating to [`NEVER`].
fn to_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(NEVER)
}

impl Harness {
    fn new(resolutions: &[Option<u64>]) -> Harness {
        assert!((1..=DRIVERS).contains(&resolutions.len()));
        let clock = ManualClock::new();
        let drivers: Vec<Driver> = (resolutions.iter())
            .map(|r| {
                let mut builder = Driver::builder().clock(clock.clone());
                if let Some(r) = r {
                    builder = builder.resolution(Duration::from_nanos(*r));
                }
                builder.build().expect("a manual-clock driver")
            })
            .collect();
        Harness {
            unit: (resolutions.iter())
                .map(|r| r.unwrap_or(DEFAULT_RESOLUTION))
                .max()
                .expect("a driver"),
            base: clock.now(),
            handles: drivers.iter().map(Driver::handle).collect(),
            drivers,
            clock,
            timers: Default::default(),
            tickers: Default::default(),
            callbacks: Default::default(),
            orphans: Vec::new(),
            runs: Arc::default(),
            model: Model::default(),
        }
    }

    /// The driver of pool slot `i`.
    fn drv(&self, i: usize) -> usize {
        i % self.handles.len()
    }

    fn ns(&self, at: Instant) -> u64 {
        to_ns(at.saturating_duration_since(self.base))
    }

    fn at(&self, ns: u64) -> Instant {
        self.base + Duration::from_nanos(ns)
    }

    /// The instant `w` names, and its driver nanosecond (what the driver
    /// makes of it: time zero at the earliest, [`NEVER`] at the latest).
    fn instant(&self, w: When) -> (Instant, u64) {
        let now = self.clock.now();
        let at = match w {
            When::Ago(s) => now.checked_sub(s.duration(self.unit)).unwrap_or(self.base),
            When::In(s) => now.checked_add(s.duration(self.unit)).unwrap_or_else(|| {
                now.checked_add(Duration::from_secs(1 << 36))
                    .expect("an instant 2,177 years ahead")
            }),
            When::BeforeTimeZero => {
                (self.base.checked_sub(Duration::from_secs(1))).unwrap_or(self.base)
            }
        };
        (at, self.ns(at))
    }

    /// `now + d` in driver nanoseconds, saturating.
    fn after(&self, d: Duration) -> u64 {
        self.model.now.saturating_add(to_ns(d))
    }

    fn drop_timer(&mut self, i: usize) {
        if let Some((timer, clone)) = self.timers[i].take() {
            drop(timer);
            self.orphans.push(clone);
            self.model.timers[i] = None;
        }
    }

    fn drop_ticker(&mut self, i: usize) {
        if let Some((ticker, clone)) = self.tickers[i].take() {
            drop(ticker);
            self.orphans.push(clone);
            self.model.tickers[i] = None;
        }
    }

    fn drop_callback(&mut self, i: usize) {
        if let Some(cb) = self.callbacks[i].take() {
            drop(cb);
            let id = self.model.slots[i].take().expect("model slot");
            let c = &mut self.model.callbacks[id];
            if c.state == CallbackState::Armed {
                c.state = CallbackState::Stopped;
            }
        }
    }

    fn new_timer(&mut self, i: usize, make: impl FnOnce(&Handle) -> Timer, deadline: u64) {
        self.drop_timer(i);
        let drv = self.drv(i);
        let timer = make(&self.handles[drv]);
        let clone = timer.receiver().clone();
        self.timers[i] = Some((timer, clone));
        self.model.timers[i] = Some(TimerModel {
            drv,
            armed: Some(deadline),
            waiting: None,
        });
    }

    fn new_callback(
        &mut self,
        i: usize,
        make: impl FnOnce(&Handle, Box<dyn FnOnce() + Send>) -> Callback,
        deadline: u64,
    ) {
        self.drop_callback(i);
        let drv = self.drv(i);
        let id = self.model.callbacks.len();
        let (runs, clock) = (self.runs.clone(), self.clock.clone());
        let f = Box::new(move || runs.lock().push((id, clock.now())));
        self.callbacks[i] = Some(make(&self.handles[drv], f));
        self.model.slots[i] = Some(id);
        self.model.callbacks.push(CallbackModel {
            drv,
            deadline,
            state: CallbackState::Armed,
        });
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let unit = self.unit;
        match *op {
            Op::Timer(i, s) => {
                let d = s.duration(unit);
                self.new_timer(i, |h| h.timer(d), self.after(d));
            }
            Op::TimerAt(i, w) => {
                let (at, deadline) = self.instant(w);
                self.new_timer(i, |h| h.timer_at(at), deadline);
            }
            Op::TimerStop(i) => {
                if let Some((timer, _)) = &self.timers[i] {
                    let m = self.model.timers[i].as_mut().expect("model timer");
                    prop_assert_eq!(timer.stop(), m.stop(), "Timer::stop");
                }
            }
            Op::TimerReset(i, s) => {
                let d = s.duration(unit);
                let deadline = self.after(d);
                if let Some((timer, _)) = &self.timers[i] {
                    let m = self.model.timers[i].as_mut().expect("model timer");
                    prop_assert_eq!(timer.reset(d), m.stop(), "Timer::reset");
                    m.armed = Some(deadline);
                }
            }
            Op::TimerResetAt(i, w) => {
                let (at, deadline) = self.instant(w);
                if let Some((timer, _)) = &self.timers[i] {
                    let m = self.model.timers[i].as_mut().expect("model timer");
                    prop_assert_eq!(timer.reset_at(at), m.stop(), "Timer::reset_at");
                    m.armed = Some(deadline);
                }
            }
            Op::TimerRecv(i, via_clone) => {
                if let Some((timer, clone)) = &self.timers[i] {
                    let got = if via_clone {
                        clone.try_recv()
                    } else {
                        timer.try_recv()
                    };
                    let m = self.model.timers[i].as_mut().expect("model timer");
                    let want = m
                        .waiting
                        .take()
                        .map(|ns| self.base + Duration::from_nanos(ns));
                    prop_assert_eq!(got, want.ok_or(TryRecvError::Empty), "Timer::try_recv");
                }
            }
            Op::TimerDrop(i) => self.drop_timer(i),
            Op::Ticker(i, p) => {
                self.drop_ticker(i);
                let drv = self.drv(i);
                let period = p.period(unit);
                let next = self.after(period);
                let ticker = self.handles[drv].ticker(period);
                let clone = ticker.receiver().clone();
                self.tickers[i] = Some((ticker, clone));
                self.model.tickers[i] = Some(TickerModel {
                    drv,
                    next: Some(next),
                    period: to_ns(period),
                    waiting: None,
                    dropped: 0,
                });
            }
            Op::TickerStop(i) => {
                if let Some((ticker, _)) = &self.tickers[i] {
                    ticker.stop();
                    let m = self.model.tickers[i].as_mut().expect("model ticker");
                    m.next = None;
                    m.waiting = None;
                }
            }
            Op::TickerReset(i, p) => {
                let period = p.period(unit);
                let next = self.after(period);
                if let Some((ticker, _)) = &self.tickers[i] {
                    ticker.reset(period);
                    let m = self.model.tickers[i].as_mut().expect("model ticker");
                    m.next = Some(next);
                    m.period = to_ns(period);
                    m.waiting = None;
                }
            }
            Op::TickerRecv(i) => {
                if let Some((ticker, _)) = &self.tickers[i] {
                    let got = ticker.try_recv();
                    let m = self.model.tickers[i].as_mut().expect("model ticker");
                    let want = m
                        .waiting
                        .take()
                        .map(|ns| self.base + Duration::from_nanos(ns));
                    prop_assert_eq!(got, want.ok_or(TryRecvError::Empty), "Ticker::try_recv");
                }
            }
            Op::TickerDrop(i) => self.drop_ticker(i),
            Op::AfterFunc(i, s) => {
                let d = s.duration(unit);
                self.new_callback(i, |h, f| h.after_func(d, f), self.after(d));
            }
            Op::AfterFuncAt(i, w) => {
                let (at, deadline) = self.instant(w);
                self.new_callback(i, |h, f| h.after_func_at(at, f), deadline);
            }
            Op::CallbackStop(i) => {
                if let Some(cb) = &self.callbacks[i] {
                    let id = self.model.slots[i].expect("model slot");
                    let c = &mut self.model.callbacks[id];
                    let armed = c.state == CallbackState::Armed;
                    prop_assert_eq!(cb.stop(), armed, "Callback::stop");
                    if armed {
                        c.state = CallbackState::Stopped;
                    }
                }
            }
            Op::CallbackDrop(i) => self.drop_callback(i),
            Op::CallbackDetach(i) => {
                if let Some(cb) = self.callbacks[i].take() {
                    cb.detach();
                    // Still armed if it was: it runs without its handle.
                    self.model.slots[i] = None;
                }
            }
            Op::Advance(s) => {
                let d = s.duration(unit);
                // `advance` adds up its goals, saturating one short of NEVER.
                let goal = self.after(d).min(NEVER - 1);
                self.clock.advance(d);
                self.model.advance_to(goal)?;
            }
            Op::AdvanceTo(w) => {
                let (at, ns) = self.instant(w);
                self.clock.advance_to(at);
                self.model.advance_to(ns.min(NEVER - 1))?;
            }
        }
        Ok(())
    }

    /// The callbacks' runs of driver `drv`, in the order they ran: as
    /// recorded, and as the model predicts.
    fn runs(&self, drv: usize) -> (Runs, Runs) {
        let of = |&(id, _): &(usize, u64)| self.model.callbacks[id].drv == drv;
        let real = (self.runs.lock().iter())
            .map(|&(id, at)| (id, self.ns(at)))
            .filter(of)
            .collect();
        let want = self.model.runs.iter().copied().filter(of).collect();
        (real, want)
    }

    /// Each driver ran its callbacks in deadline order (ties in creation
    /// order), each at its predicted virtual time. Across drivers only the
    /// times are promised: in one step, a driver's past-due callbacks may
    /// run before another driver's earlier past-due ones.
    fn check_runs(&self) -> Result<(), TestCaseError> {
        for drv in 0..self.handles.len() {
            let (real, want) = self.runs(drv);
            prop_assert_eq!(real, want, "driver {} callback runs (id, virtual ns)", drv);
        }
        Ok(())
    }

    /// Everything observable without consuming a value agrees with the
    /// model.
    fn check(&self) -> Result<(), TestCaseError> {
        let m = &self.model;
        prop_assert_eq!(
            self.clock.elapsed(),
            Duration::from_nanos(m.now),
            "virtual now"
        );
        for (i, (real, model)) in self.timers.iter().zip(&m.timers).enumerate() {
            let (Some((timer, clone)), Some(model)) = (real, model) else {
                continue;
            };
            let want = usize::from(model.waiting.is_some());
            prop_assert_eq!(
                timer.receiver().len(),
                want,
                "timer {} channel: {:?}",
                i,
                model
            );
            prop_assert_eq!(clone.len(), want, "timer {} clone", i);
        }
        for (i, (real, model)) in self.tickers.iter().zip(&m.tickers).enumerate() {
            let (Some((ticker, clone)), Some(model)) = (real, model) else {
                continue;
            };
            let want = usize::from(model.waiting.is_some());
            prop_assert_eq!(
                ticker.receiver().len(),
                want,
                "ticker {} channel: {:?}",
                i,
                model
            );
            prop_assert_eq!(clone.len(), want, "ticker {} clone", i);
            prop_assert_eq!(
                ticker.dropped(),
                model.dropped,
                "ticker {} dropped(): {:?}",
                i,
                model
            );
            prop_assert_eq!(
                ticker.period(),
                Duration::from_nanos(model.period),
                "ticker {} period()",
                i
            );
        }
        self.check_runs()?;
        for (drv, h) in self.handles.iter().enumerate() {
            let stats = h.stats();
            let (timers, tickers, callbacks) = m.live(drv);
            prop_assert_eq!(
                stats.pending,
                m.pending(drv),
                "driver {} Stats::pending",
                drv
            );
            prop_assert_eq!(stats.timers, timers, "driver {} Stats::timers", drv);
            prop_assert_eq!(stats.tickers, tickers, "driver {} Stats::tickers", drv);
            prop_assert_eq!(
                stats.callbacks,
                callbacks,
                "driver {} Stats::callbacks",
                drv
            );
            prop_assert_eq!(stats.fired, m.fired[drv], "driver {} Stats::fired", drv);
            prop_assert_eq!(
                stats.dropped_ticks,
                m.dropped_ticks[drv],
                "driver {} Stats::dropped_ticks",
                drv
            );
            // A manual clock steps its drivers at every deadline, so no
            // driver is ever late: ticks are lost only on a full channel.
            prop_assert_eq!(
                stats.skipped_ticks,
                0,
                "driver {} Stats::skipped_ticks",
                drv
            );
        }
        for (n, rx) in self.orphans.iter().enumerate() {
            prop_assert_eq!(
                rx.try_recv(),
                Err(TryRecvError::Disconnected),
                "receiver clone of dropped handle #{}",
                n
            );
        }
        Ok(())
    }

    /// After shutdown: `rx` yields the value the model says was waiting (if
    /// any), then it and its clone report `Disconnected`.
    fn drained_then_disconnected(
        &self,
        rx: &Receiver<Instant>,
        clone: &Receiver<Instant>,
        waiting: Option<u64>,
        what: &str,
        i: usize,
    ) -> Result<(), TestCaseError> {
        if let Some(ns) = waiting {
            prop_assert_eq!(rx.try_recv(), Ok(self.at(ns)), "{} {}: drain", what, i);
        }
        prop_assert_eq!(
            rx.try_recv(),
            Err(TryRecvError::Disconnected),
            "{} {}",
            what,
            i
        );
        prop_assert_eq!(
            clone.try_recv(),
            Err(TryRecvError::Disconnected),
            "{} {} clone",
            what,
            i
        );
        Ok(())
    }

    /// Shuts the drivers down: every receiver yields what was waiting, then
    /// reports `Disconnected`; nothing is pending or runs any more.
    fn finish(mut self) -> Result<(), TestCaseError> {
        for driver in self.drivers.drain(..) {
            driver.shutdown();
        }
        for (drv, h) in self.handles.iter().enumerate() {
            prop_assert_eq!(
                h.stats().pending,
                0,
                "driver {}: pending after shutdown",
                drv
            );
        }
        for (i, slot) in self.timers.iter().enumerate() {
            let Some((timer, clone)) = slot else { continue };
            let model = self.model.timers[i].as_ref().expect("model timer");
            self.drained_then_disconnected(timer.receiver(), clone, model.waiting, "timer", i)?;
            prop_assert!(!timer.stop(), "timer {}: stop after shutdown and drain", i);
        }
        for (i, slot) in self.tickers.iter().enumerate() {
            let Some((ticker, clone)) = slot else {
                continue;
            };
            let model = self.model.tickers[i].as_ref().expect("model ticker");
            self.drained_then_disconnected(ticker.receiver(), clone, model.waiting, "ticker", i)?;
        }
        for (i, cb) in self.callbacks.iter().enumerate() {
            if let Some(cb) = cb {
                prop_assert!(!cb.stop(), "callback slot {}: stop after shutdown", i);
            }
        }
        // Time moving on after shutdown runs nothing.
        self.clock.advance(Duration::from_nanos(self.unit * 100));
        self.check_runs()?;
        for (n, rx) in self.orphans.iter().enumerate() {
            prop_assert_eq!(
                rx.try_recv(),
                Err(TryRecvError::Disconnected),
                "orphan #{}",
                n
            );
        }
        Ok(())
    }
}

fn run(resolutions: &[Option<u64>], ops: &[Op]) -> Result<(), TestCaseError> {
    let mut h = Harness::new(resolutions);
    h.check()?;
    for (n, op) in ops.iter().enumerate() {
        let fail = |e: TestCaseError| TestCaseError::fail(format!("after op #{n} {op:?}: {e}"));
        h.apply(op).map_err(fail)?;
        h.check().map_err(fail)?;
    }
    h.finish()
}

/// `PROPTEST_CASES`, else 100,000 with `TICKWHEEL_STRESS=full`, else 5,000.
fn cases() -> u32 {
    if let Some(n) = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return n;
    }
    match std::env::var("TICKWHEEL_STRESS").as_deref() {
        Ok("full") => 100_000,
        _ => 5_000,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// One driver, or two on the same clock (each of its own resolution).
    #[test]
    fn handles_match_a_go_model(
        resolutions in proptest::collection::vec(resolution(), 1..=DRIVERS),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        run(&resolutions, &ops)?;
    }
}
