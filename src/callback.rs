//! [`Callback`]: run a closure later (Go's `time.AfterFunc`).

use crate::clock::add_ns;
use crate::driver::Handle;
use crate::entry::{CallbackState, EntryKind, Func, Kind};
use crate::wheel::Key;
use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

/// A closure scheduled to run once, later, on the driver's callback thread.
///
/// - `f` runs at most once, never on the driver thread (a slow callback
///   never delays channel deliveries), and never before its deadline.
///   Callbacks due at different deadlines start in deadline order; they run
///   one at a time. (Order is decided when callbacks fall due: one made
///   with a deadline already past falls due when it is made, so it starts
///   after the callbacks that fell due before it, whatever their deadlines.)
/// - [`stop`](Self::stop) returns true if and only if it prevented `f` from
///   running. Dropping the handle stops the callback; use
///   [`detach`](Self::detach) to let it run without the handle.
/// - A panic in `f` is caught (the panic message goes to the panic hook, as
///   usual), counted in [`Stats::callback_panics`](crate::Stats), and later
///   callbacks still run. So is a panic in the `Drop` of what `f` captured
///   when the driver drops `f` unrun (stopped after it was due, at
///   shutdown, or made after shutdown: then `f` is dropped, caught, before
///   `after_func` returns). Where your own thread drops `f` (`stop`, or
///   dropping the handle, before it was due), such a panic reaches you, as
///   any drop's would.
/// - `f` may create, stop and reset timers, including of the same driver.
///
/// ```
/// use std::time::{Duration, Instant};
/// let (tx, rx) = crossbeam_channel::bounded(1);
/// tickwheel::after_func(Duration::from_millis(1), move || tx.send("ran").unwrap()).detach();
/// assert_eq!(rx.recv().unwrap(), "ran");
/// ```
#[must_use = "dropping a Callback cancels it; call .detach() to let it run"]
pub struct Callback {
    /// The driver it lives on.
    handle: Handle,
    /// Its wheel entry.
    key: Key,
    /// Set by `detach`, read by `Drop`.
    detach: bool,
    /// The live count it is in: `Callback`, or `Token` for a token's
    /// deadline.
    counted_as: Kind,
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// Runs `f` on this driver's callback thread after `d`.
    #[track_caller]
    pub fn after_func(&self, d: Duration, f: impl FnOnce() + Send + 'static) -> Callback {
        let (_, now) = self.inner.clock.now();
        self.new_callback(now, add_ns(now, d), Location::caller(), Box::new(f), false)
    }

    /// Runs `f` on this driver's callback thread at `deadline`.
    #[track_caller]
    pub fn after_func_at(&self, deadline: Instant, f: impl FnOnce() + Send + 'static) -> Callback {
        let (_, now) = self.inner.clock.now();
        let at = self.inner.clock.ns_of(deadline);
        self.new_callback(now, at, Location::caller(), Box::new(f), false)
    }

    /// A [`CancelToken`](crate::CancelToken)'s deadline: a callback at
    /// `deadline`, counted and reported as [`Kind::Token`], at the line that
    /// made the token.
    #[track_caller]
    pub(crate) fn token_deadline(
        &self,
        deadline: Instant,
        f: impl FnOnce() + Send + 'static,
    ) -> Callback {
        let (_, now) = self.inner.clock.now();
        let at = self.inner.clock.ns_of(deadline);
        self.new_callback(now, at, Location::caller(), Box::new(f), true)
    }

    #[inline]
    fn new_callback(
        &self,
        now: u64,
        deadline: u64,
        site: &'static Location<'static>,
        f: Func,
        token: bool,
    ) -> Callback {
        let kind = EntryKind::Callback {
            f: Some(f),
            state: CallbackState::Armed,
            detached: false,
            token,
        };
        // If the driver has shut down, the entry is not armed: `f` is dropped
        // with the handle and never runs.
        let key = self.inner.insert(kind, site, now, deadline);
        Callback {
            handle: self.clone(),
            key,
            detach: false,
            counted_as: if token { Kind::Token } else { Kind::Callback },
        }
    }
}

impl Callback {
    /// Stops the callback. Returns true if and only if this call prevented
    /// `f` from running (it was scheduled, or due but not yet started).
    pub fn stop(&self) -> bool {
        let inner = &self.handle.inner;
        let mut st = inner.state.lock();
        let key = self.key;
        let EntryKind::Callback { state, .. } = &st.wheel.get(key).kind else {
            unreachable!("callback key names a non-callback entry")
        };
        let (prevented, closure) = match *state {
            CallbackState::Armed => {
                st.wheel.disarm(key);
                let EntryKind::Callback { f, state, .. } = &mut st.wheel.get_mut(key).kind else {
                    unreachable!()
                };
                *state = CallbackState::Done;
                (true, f.take())
            }
            // After shutdown the callback thread drops a queued closure
            // unrun anyway: nothing left to prevent.
            CallbackState::Queued if st.shutdown => (false, None),
            CallbackState::Queued => {
                if let EntryKind::Callback { state, .. } = &mut st.wheel.get_mut(key).kind {
                    *state = CallbackState::Cancelled;
                }
                (true, None)
            }
            CallbackState::Cancelled | CallbackState::Running | CallbackState::Done => {
                (false, None)
            }
        };
        // Release W before dropping the closure (ground rule 4).
        drop(st);
        drop(closure);
        prevented
    }

    /// Lets the callback run without this handle: it is no longer stopped
    /// when the handle goes away.
    pub fn detach(mut self) {
        self.detach = true;
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        // One W hold for the common case (stop before firing): see the state
        // table in `entry`.
        let inner = &self.handle.inner;
        let mut st = inner.state.lock();
        let EntryKind::Callback {
            state, detached, ..
        } = &mut st.wheel.get_mut(self.key).kind
        else {
            unreachable!("callback key names a non-callback entry")
        };
        let remove_now = match (*state, self.detach) {
            // Not started and not detached: stopped by the drop, and nobody
            // else looks at the entry. Done: nobody else will either.
            (CallbackState::Armed, false) | (CallbackState::Done, _) => true,
            (CallbackState::Queued, false) => {
                *state = CallbackState::Cancelled;
                *detached = true;
                false
            }
            // The driver or the callback thread still holds the entry's key;
            // the callback thread removes the entry once it is done.
            _ => {
                *detached = true;
                false
            }
        };
        st.live[self.counted_as as usize] -= 1;
        let garbage = remove_now.then(|| inner.remove(&mut st, self.key).0);
        // Release W before dropping the entry and its closure (ground rule 4).
        drop(st);
        drop(garbage);
    }
}
