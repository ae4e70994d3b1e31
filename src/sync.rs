//! The sync seam: the driver's and the cancel tree's locks and atomics come
//! from here, so that the production build uses `parking_lot` and `std`
//! while `--cfg loom` swaps in loom's model-checked versions (see
//! `src/loom_tests.rs`).
//!
//! The loom side wraps loom's types in `parking_lot`'s shape (`lock()`
//! returns the guard; `Condvar::wait` takes `&mut guard`), so the production
//! code has one spelling.

#[cfg(not(loom))]
pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU8, AtomicU64};

#[cfg(loom)]
pub(crate) use self::model::{AtomicU8, AtomicU64, Condvar, Mutex, MutexGuard};

#[cfg(loom)]
mod model {
    use std::ops::{Deref, DerefMut};
    use std::time::Instant;

    pub(crate) use loom::sync::atomic::{AtomicU8, AtomicU64};

    /// `parking_lot::Mutex` in loom.
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(
        /// The loom mutex.
        loom::sync::Mutex<T>,
    );

    /// `parking_lot::MutexGuard` in loom (an `Option` so that a condvar
    /// wait can move the inner guard out and back).
    #[derive(Debug)]
    pub(crate) struct MutexGuard<'a, T>(
        /// The loom guard; `None` only while a condvar wait holds it.
        Option<loom::sync::MutexGuard<'a, T>>,
    );

    impl<T> Mutex<T> {
        pub(crate) fn new(t: T) -> Self {
            Mutex(loom::sync::Mutex::new(t))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(self.0.lock().expect("poisoned")))
        }

        pub(crate) fn get_mut(&mut self) -> &mut T {
            self.0.get_mut().expect("poisoned")
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.0.as_ref().expect("guard present")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0.as_mut().expect("guard present")
        }
    }

    /// `parking_lot::Condvar` in loom.
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(
        /// The loom condvar.
        loom::sync::Condvar,
    );

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        pub(crate) fn wait<T>(&self, g: &mut MutexGuard<'_, T>) {
            let inner = g.0.take().expect("guard present");
            g.0 = Some(self.0.wait(inner).expect("poisoned"));
        }

        pub(crate) fn wait_until<T>(&self, _g: &mut MutexGuard<'_, T>, _t: Instant) {
            unreachable!("no timed waits in loom models: the driver thread is not modelled")
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}
