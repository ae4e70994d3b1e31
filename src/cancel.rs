//! [`CancelToken`]: cancellation with deadlines for threads (Go's
//! `context.WithCancel` / `WithTimeout` / `WithDeadline`), leak-free by
//! `Drop`.
//!
//! # Structure
//!
//! A token is an `Arc` of a [`Node`]. A child holds an `Arc` of its parent
//! (plus its index in the parent's registry); a parent holds only `Weak`s of
//! its children, in a [`Slab`], so a child unregisters in O(1) when its last
//! clone goes away. A node with its own deadline owns the [`Callback`] that
//! cancels it, whose closure holds only a `Weak` of the node: dropping the
//! node drops the callback, which removes the wheel entry at once.
//!
//! # Locks
//!
//! - `T`: one mutex per tree (shared by a root and all its descendants),
//!   held for the whole of a propagation. So when `cancel()` returns, even
//!   if another thread's propagation through this node was in progress, the
//!   whole subtree is cancelled: invariant *cancelled ⇒ every descendant is
//!   cancelled* holds whenever `T` is free.
//! - `N`: each node's state mutex. Held only for O(1) work, plus collecting
//!   the children's `Weak`s during a propagation; never two at once.
//!
//! Both locks and the `reason` atomic come from `crate::sync`, so the loom
//! models in `src/loom_tests.rs` check this protocol.
//!
//! Order: `T` then `N`. Nothing else is taken under `N` (a dropped sender
//! only wakes receivers). Callbacks (which take the driver's `W` when
//! dropped) and node `Arc`s (whose drop takes the parent's `N`) collected by
//! a propagation are dropped after `T` is released. The deadline closure
//! runs on the callback thread, without `W`, and takes `T` then `N`.
//!
//! # Deep trees
//!
//! Cancellation walks the subtree with an explicit stack, and `Node::drop`
//! unlinks the ancestors it was the last owner of in a loop, so chains of
//! any depth are cancelled and dropped without recursion.

use crate::callback::Callback;
use crate::driver::Handle;
use crate::sync::{AtomicU8, Mutex};
use crate::ticker::Ticker;
use crossbeam_channel::{Receiver, Sender, bounded, select};
use slab::Slab;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Live token nodes in the process (for `Stats`). A plain `std` atomic even
/// under loom, not one from `crate::sync`: loom's atomics cannot be made in
/// a `static` (their `new` is not `const`), and this statistics counter is
/// no part of the cancellation protocol (nothing is ordered by it).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The number of live token nodes in the process: one per token created by
/// [`CancelToken::new`], a `with_*` constructor or a `child*` call, until its
/// last clone (and the last clone of each of its descendants) is dropped.
pub(crate) fn live_tokens() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// A registry above this many slots is freed when it becomes empty.
const KEEP_SLOTS: usize = 16;

/// Why a [`CancelToken`] was cancelled (Go's `context.Canceled` and
/// `context.DeadlineExceeded`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CancelReason {
    /// [`CancelToken::cancel`] was called on the token or an ancestor.
    Cancelled,
    /// The deadline of the token or of an ancestor passed.
    DeadlineExceeded,
}

impl fmt::Display for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CancelReason::Cancelled => "cancelled",
            CancelReason::DeadlineExceeded => "deadline exceeded",
        })
    }
}

impl std::error::Error for CancelReason {}

impl CancelReason {
    /// The encoding in [`Node::reason`] (0 is "not cancelled").
    fn code(self) -> u8 {
        match self {
            CancelReason::Cancelled => 1,
            CancelReason::DeadlineExceeded => 2,
        }
    }

    fn from_code(code: u8) -> Option<CancelReason> {
        match code {
            1 => Some(CancelReason::Cancelled),
            2 => Some(CancelReason::DeadlineExceeded),
            _ => None,
        }
    }
}

/// A cancellation signal for threads, with an optional deadline: Go's
/// `context.Context` without the values.
///
/// Hand a clone to each worker; workers poll
/// [`is_cancelled`](Self::is_cancelled), block in [`wait`](Self::wait), or
/// `select!` on [`done`](Self::done) next to their other channels.
///
/// ```
/// use crossbeam_channel::select;
/// use std::time::Duration;
/// use tickwheel::{CancelReason, CancelToken};
///
/// let token = CancelToken::with_timeout(Duration::from_millis(20));
/// let worker = {
///     let token = token.child();
///     std::thread::spawn(move || {
///         let ticker = tickwheel::tick(Duration::from_millis(1));
///         let mut ticks = 0u32;
///         loop {
///             select! {
///                 recv(ticker.receiver()) -> _ => ticks += 1,
///                 recv(token.done()) -> _ => return token.reason(),
///             }
///         }
///     })
/// };
/// assert_eq!(worker.join().unwrap(), Some(CancelReason::DeadlineExceeded));
/// ```
///
/// # Semantics
///
/// - [`cancel`](Self::cancel) is idempotent and the first reason wins (a
///   deadline that passes after `cancel()` does not change the reason, and
///   vice versa). When `cancel()` returns, the token and all its descendants
///   report cancelled, their `done()` receivers are disconnected, and threads
///   blocked in [`wait`](Self::wait) or on `done()` are woken. This holds
///   even when several threads cancel overlapping parts of a tree at once.
/// - A descendant cancelled through an ancestor gets the ancestor's reason
///   (as Go propagates the parent's `Err()`).
/// - Cancelling a token never touches its parent or siblings.
/// - A token made from an already-cancelled parent is born cancelled with
///   the parent's reason; a token whose deadline has already passed when it
///   is made is born cancelled with [`CancelReason::DeadlineExceeded`].
/// - Deadlines are driven by a tickwheel driver (never early). They follow
///   that driver's clock, so under a [`ManualClock`](crate::ManualClock)
///   they follow virtual time: the token is cancelled when `advance` reaches
///   the deadline, before `advance` returns. A deadline too far to represent
///   (`Duration::MAX`) means no deadline. A deadline on a driver that has
///   shut down never fires. The cancellation runs as a callback on that
///   driver's callback thread, so a slow [`after_func`](crate::after_func)
///   callback of the same driver delays it (never advances it); keep
///   callbacks short, or give tokens whose deadlines must be prompt a
///   driver of their own ([`Handle::cancel_token_with_timeout`]).
/// - A child's deadline is the earlier of its parent's and its own; a child
///   whose own deadline is not earlier than its parent's uses no timer of its
///   own (the parent's cancels it).
///
/// # No leaks
///
/// A child keeps its ancestors alive (as in Go, the child holds the parent);
/// a parent holds only weak references to its children. When the last clone
/// of a token goes away (and with it, the last clone of each of its
/// descendants), its wheel entry (if any) is removed at once and it
/// unregisters from its parent in O(1). Cancelling a token also removes its
/// wheel entry, and those of its descendants, before the `cancel()` that
/// cancelled them returns. (A `cancel()` that finds them already cancelled
/// by another thread's propagation returns without waiting for that thread
/// to remove their entries: `stats().pending` can lag it for a moment.)
/// Dropping a parent's last clone
/// does not cancel its children; its deadline still applies to them.
///
/// While some children live, a parent's registry keeps one 16-byte slot per
/// child it had at its peak; once none lives, a registry grown past 16 slots
/// is freed.
#[derive(Clone)]
pub struct CancelToken {
    /// The shared node.
    node: Arc<Node>,
}

/// What the clones of one token share.
struct Node {
    /// 0 while not cancelled, else a [`CancelReason::code`]. Written under
    /// `state` before the sender is dropped (so a thread woken by the
    /// disconnection finds it); read without the lock.
    reason: AtomicU8,
    /// `N`: see the module doc.
    state: Mutex<State>,
    /// Never yields a value; disconnected when the sender in `state` is
    /// dropped.
    done: Receiver<()>,
    /// The effective deadline: the earlier of the own and the parent's.
    deadline: Option<Instant>,
    /// The driver of the nearest ancestor-or-self made with a deadline or
    /// from a [`Handle`]: where a child's own deadline runs.
    handle: Option<Handle>,
    /// `T`: see the module doc.
    tree: Arc<Mutex<()>>,
    /// The parent and this node's key in its registry. Taken by `Drop`.
    parent: Option<Link>,
}

/// A child's link to its parent.
struct Link {
    /// The parent.
    node: Arc<Node>,
    /// This child's key in the parent's registry.
    key: usize,
}

/// What `N` protects.
struct State {
    /// Dropped on cancel, which disconnects `done`.
    tx: Option<Sender<()>>,
    /// Live children (and children whose drop is unregistering them).
    children: Slab<Weak<Node>>,
    /// The wheel entry that cancels this node at its own deadline.
    callback: Option<Callback>,
}

impl Node {
    /// The reason as stored; a canceller may still be disconnecting `done`.
    /// For use under `N`.
    fn raw_reason(&self) -> Option<CancelReason> {
        CancelReason::from_code(self.reason.load(Ordering::Acquire))
    }

    /// The reason, and once it is set, `done` is disconnected: the canceller
    /// stores the reason, then drops the sender, both under `N`, so a reader
    /// who sees a reason waits for `N` once. Not cancelled: lock-free.
    fn reason(&self) -> Option<CancelReason> {
        let reason = self.raw_reason();
        if reason.is_some() {
            drop(self.state.lock());
        }
        reason
    }

    /// Removes the child registered at `key`.
    fn unregister(&self, key: usize) {
        let mut st = self.state.lock();
        st.children.try_remove(key);
        if st.children.is_empty() && st.children.capacity() > KEEP_SLOTS {
            st.children = Slab::new();
        }
    }

    /// Cancels this node and its subtree with `reason`, unless it is already
    /// cancelled (then so is its subtree: see the invariant in the module
    /// doc).
    fn cancel(self: &Arc<Self>, reason: CancelReason) {
        let mut callbacks = Vec::new();
        let mut visited = Vec::new();
        let tree = self.tree.lock();
        let mut stack = vec![self.clone()];
        while let Some(node) = stack.pop() {
            let mut st = node.state.lock();
            if node.raw_reason().is_none() {
                // Reason first: a thread woken by the disconnection finds it.
                node.reason.store(reason.code(), Ordering::Release);
                drop(st.tx.take());
                callbacks.extend(st.callback.take());
                stack.extend(st.children.iter().filter_map(|(_, w)| w.upgrade()));
            }
            // One `N` at a time (see the module doc): released before the
            // next node's is taken.
            drop(st);
            visited.push(node);
        }
        drop(tree);
        // Outside every lock: a callback's drop takes its driver's `W`; a
        // node's drop takes its parent's `N`.
        drop(callbacks);
        drop(visited);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
        drop(self.state.get_mut().callback.take());
        // Unlink iteratively: each ancestor this node was the last owner of
        // is unlinked here instead of by its own `drop` (which then finds no
        // link), so a deep chain does not recurse.
        let mut link = self.parent.take();
        while let Some(Link { node, key }) = link {
            node.unregister(key);
            link = Arc::into_inner(node).and_then(|mut parent| parent.parent.take());
        }
    }
}

/// A requested own deadline: the driver and the instant.
type Own = Option<(Handle, Instant)>;

impl CancelToken {
    /// A token without a deadline, cancelled only by [`cancel`](Self::cancel)
    /// (Go's `context.WithCancel(context.Background())`). Like every
    /// constructor it is `#[track_caller]`, although a token without a
    /// deadline has no wheel entry and so no site in
    /// [`live_sites`](crate::live_sites).
    #[track_caller]
    pub fn new() -> CancelToken {
        make(None, None, None)
    }

    /// A token cancelled with [`CancelReason::DeadlineExceeded`] after `d`,
    /// on the global driver. `Duration::MAX` means no deadline.
    #[track_caller]
    pub fn with_timeout(d: Duration) -> CancelToken {
        crate::handle_ref().cancel_token_with_timeout(d)
    }

    /// A token cancelled with [`CancelReason::DeadlineExceeded`] at
    /// `deadline`, on the global driver. A deadline already passed gives a
    /// token born cancelled.
    #[track_caller]
    pub fn with_deadline(deadline: Instant) -> CancelToken {
        crate::handle_ref().cancel_token_with_deadline(deadline)
    }

    /// A child token: cancelled when this one is (with this one's reason),
    /// or by its own [`cancel`](Self::cancel). It has this token's deadline.
    #[track_caller]
    pub fn child(&self) -> CancelToken {
        make(Some(&self.node), None, None)
    }

    /// A child token whose deadline is the earlier of this token's and
    /// now + `d`. Its timer runs on the driver of the nearest ancestor made
    /// from a [`Handle`] or with a deadline (whose clock also defines "now"),
    /// else on the global driver. `Duration::MAX` adds no deadline of its
    /// own.
    #[track_caller]
    pub fn child_with_timeout(&self, d: Duration) -> CancelToken {
        let handle = self.children_driver();
        let own = handle.now().checked_add(d).map(|t| (handle, t));
        make(Some(&self.node), own, None)
    }

    /// A child token whose deadline is the earlier of this token's and
    /// `deadline` (Go's `context.WithDeadline(parent, d)`). Its timer runs
    /// where [`child_with_timeout`](Self::child_with_timeout)'s would. A
    /// deadline already passed gives a child born cancelled.
    #[track_caller]
    pub fn child_with_deadline(&self, deadline: Instant) -> CancelToken {
        make(
            Some(&self.node),
            Some((self.children_driver(), deadline)),
            None,
        )
    }

    /// Where a child's own deadline runs: this token's driver (see
    /// `Node::handle`), else the global one.
    fn children_driver(&self) -> Handle {
        match &self.node.handle {
            Some(h) => h.clone(),
            None => crate::handle_ref().clone(),
        }
    }

    /// Cancels this token and all its descendants with
    /// [`CancelReason::Cancelled`], unless it is already cancelled. See the
    /// type's documentation for what holds when it returns.
    pub fn cancel(&self) {
        self.node.cancel(CancelReason::Cancelled);
    }

    /// Whether the token is cancelled. Lock-free while it is not (cheap
    /// enough for a hot loop). Once true, [`done`](Self::done) is
    /// disconnected; conversely, a thread woken by `done()` finds it true.
    pub fn is_cancelled(&self) -> bool {
        self.node.reason().is_some()
    }

    /// Why the token was cancelled, or `None` if it is not (Go's `Err()`).
    pub fn reason(&self) -> Option<CancelReason> {
        self.node.reason()
    }

    /// The number of live direct children (for leak checks). Clones of one
    /// child count once.
    pub fn children(&self) -> usize {
        self.node.state.lock().children.len()
    }

    /// The deadline: the earliest of this token's and its ancestors', if any
    /// (Go's `Deadline()`).
    pub fn deadline(&self) -> Option<Instant> {
        self.node.deadline
    }

    /// A receiver that never yields a value and becomes disconnected when
    /// the token is cancelled (Go's `Done()`): use it in `select!`, where
    /// `recv(token.done()) -> _` fires on cancellation.
    ///
    /// A clone of this receiver does not keep the token alive: once the
    /// last clone of the token (and of each of its descendants) is dropped,
    /// the receiver clone is disconnected too, cancelled or not (its
    /// deadline went with the token). Give a worker a clone of the token,
    /// not of the receiver, and let it check [`reason`](Self::reason).
    pub fn done(&self) -> &Receiver<()> {
        &self.node.done
    }

    /// Blocks until the token is cancelled.
    pub fn wait(&self) {
        // Err(Disconnected) is the only way out: nothing is ever sent.
        let _ = self.node.done.recv();
    }

    /// Blocks until the token is cancelled or `timeout` has passed (real
    /// time); returns whether it is cancelled.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let _ = self.node.done.recv_timeout(timeout);
        self.is_cancelled()
    }
}

#[cfg(all(test, loom))]
impl CancelToken {
    /// A weak reference to the token's node, for the loom models: dead once
    /// the node is dropped (and with it its timer and its registration).
    pub(crate) fn node_weak(&self) -> Weak<impl Sized + use<>> {
        Arc::downgrade(&self.node)
    }
}

impl Default for CancelToken {
    #[track_caller]
    fn default() -> Self {
        CancelToken::new()
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("reason", &self.reason())
            .field("deadline", &self.deadline())
            .field("children", &self.children())
            .finish()
    }
}

/// Makes a node under `parent` (or a root) with an optional own deadline,
/// and arms its timer if it needs one. `driver` is the handle it was made
/// from, if any: with no deadline of its own or inherited, its children's
/// deadlines still run there (a test's manual clock, say), not on the
/// global driver.
#[track_caller]
fn make(parent: Option<&Arc<Node>>, own: Own, driver: Option<Handle>) -> CancelToken {
    let inherited = parent.and_then(|p| p.deadline.zip(p.handle.clone()));
    // The own deadline counts only if it is earlier than the inherited one;
    // otherwise the parent's timer cancels this node at the same moment.
    let (timer, deadline, handle) = match (own, inherited) {
        (Some((h, t)), Some((pt, _))) if t < pt => (Some((h.clone(), t)), Some(t), Some(h)),
        (Some((h, t)), None) => (Some((h.clone(), t)), Some(t), Some(h)),
        (_, inherited) => (
            None,
            inherited.as_ref().map(|x| x.0),
            inherited
                .map(|x| x.1)
                .or_else(|| parent.and_then(|p| p.handle.clone()))
                .or(driver),
        ),
    };
    let (tx, done) = bounded(0);
    let new_node = |reason: Option<CancelReason>, parent: Option<Link>, tree| {
        LIVE.fetch_add(1, Ordering::Relaxed);
        Arc::new(Node {
            reason: AtomicU8::new(reason.map_or(0, CancelReason::code)),
            state: Mutex::new(State {
                tx: reason.is_none().then(|| tx.clone()),
                children: Slab::new(),
                callback: None,
            }),
            done: done.clone(),
            deadline,
            handle: handle.clone(),
            tree,
            parent,
        })
    };
    // On the effective deadline, not only an own one: an inherited deadline
    // may have passed while its timer's callback has not run yet (it runs on
    // the callback thread, after the deadline, maybe behind a slow callback).
    let expired = deadline
        .zip(handle.as_ref())
        .is_some_and(|(t, h)| t <= h.now());
    let born = expired.then_some(CancelReason::DeadlineExceeded);
    let node = match parent {
        None => new_node(born, None, Arc::new(Mutex::new(()))),
        Some(p) => {
            // Registering under the parent's `N` and reading its reason there
            // means a concurrent propagation either sees this child or left
            // the parent cancelled before we looked.
            let mut st = p.state.lock();
            let reason = p.raw_reason().or(born);
            let key = st.children.vacant_key();
            let link = Link {
                node: p.clone(),
                key,
            };
            let node = new_node(reason, Some(link), p.tree.clone());
            st.children.insert(Arc::downgrade(&node));
            // The parent's `N` is released here, before the timer below is
            // made: that takes the driver's `W`, and nothing is taken under
            // `N` (module doc).
            node
        }
    };
    drop(tx);
    if let (Some((h, t)), None) = (timer, node.raw_reason()) {
        let weak = Arc::downgrade(&node);
        let callback = h.token_deadline(t, move || {
            if let Some(node) = weak.upgrade() {
                node.cancel(CancelReason::DeadlineExceeded);
            }
        });
        let mut st = node.state.lock();
        // Cancelled meanwhile (by an ancestor): the timer is not needed.
        let garbage = match node.raw_reason() {
            None => st.callback.replace(callback),
            Some(_) => Some(callback),
        };
        // Release `N` first: `garbage` is a callback, whose drop takes its
        // driver's `W`, and nothing is taken under `N` (module doc).
        drop(st);
        drop(garbage);
    }
    CancelToken { node }
}

impl Handle {
    /// A [`CancelToken`] cancelled with
    /// [`CancelReason::DeadlineExceeded`] after `d` on this driver's clock
    /// (virtual time for a manual clock). `Duration::MAX` means no deadline.
    #[track_caller]
    pub fn cancel_token_with_timeout(&self, d: Duration) -> CancelToken {
        let own = self.now().checked_add(d).map(|t| (self.clone(), t));
        make(None, own, Some(self.clone()))
    }

    /// A [`CancelToken`] cancelled with
    /// [`CancelReason::DeadlineExceeded`] at `deadline` on this driver's
    /// clock. A deadline already passed gives a token born cancelled.
    #[track_caller]
    pub fn cancel_token_with_deadline(&self, deadline: Instant) -> CancelToken {
        make(None, Some((self.clone(), deadline)), None)
    }
}

impl Ticker {
    /// Ticks until `token` is cancelled (or the driver shuts down). A
    /// cancellation is noticed before a waiting tick: once the token is
    /// cancelled, the next call to `next()` returns `None`, and so does
    /// every later one.
    ///
    /// ```
    /// use std::time::Duration;
    /// let ticker = tickwheel::tick(Duration::from_millis(1));
    /// let token = tickwheel::CancelToken::with_timeout(Duration::from_millis(10));
    /// for tick in ticker.iter_until(&token) {
    ///     println!("tick at {tick:?}");
    /// }
    /// assert!(token.is_cancelled());
    /// ```
    pub fn iter_until<'a>(&'a self, token: &'a CancelToken) -> impl Iterator<Item = Instant> + 'a {
        std::iter::from_fn(move || {
            if token.is_cancelled() {
                return None;
            }
            select! {
                recv(self.receiver()) -> tick => tick.ok().filter(|_| !token.is_cancelled()),
                recv(token.done()) -> _ => None,
            }
        })
        .fuse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The only unit test that makes tokens, so the process-wide count moves
    // only by what this test does.
    #[test]
    fn live_tokens_counts_nodes_until_the_last_clone_goes() {
        let before = live_tokens();
        let root = CancelToken::new();
        let mut leaf = root.clone();
        for _ in 0..100 {
            leaf = leaf.child();
        }
        let born = root.child();
        born.cancel();
        let _clone = leaf.clone();
        assert_eq!(live_tokens(), before + 102);
        drop((root, leaf, born, _clone));
        assert_eq!(live_tokens(), before);
    }
}
