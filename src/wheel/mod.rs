//! The hierarchical hashed timing wheel: a pure data structure.
//!
//! No threads and no clock reads: time enters as nanoseconds since the
//! driver's start (`now`), and the wheel files entries by tick
//! (`deadline / resolution`). This is Varghese & Lauck's scheme 7, with the
//! level math of tokio's time driver (see [`level`]):
//!
//! - Six levels of 64 slots; an `occupied: u64` bitmap per level finds the
//!   next non-empty slot with bit operations, so empty time is never walked.
//! - Entries live in an arena ([`slab`]) and are linked into their slot by
//!   intrusive doubly-linked lists (`prev`/`next` indices), so arming and
//!   disarming are O(1) whatever the number of pending entries.
//! - Each entry keeps its **exact** deadline in nanoseconds. An entry fires
//!   only once `now >= deadline` ("never early"); the tick decides only where
//!   it is filed. [`Wheel::next_deadline`] reports the earliest exact deadline
//!   of the next slot, so the driver can sleep precisely to it.
//!
//! # Ownership of entries
//!
//! An entry is created by [`Wheel::insert`] (unarmed) or
//! [`Wheel::insert_armed`] and lives until [`Wheel::remove`]: firing only
//! *unlinks* it. The handle that inserted it is the only owner of its
//! [`Key`], so a key never dangles while its handle lives; the generation
//! inside the key is a cheap check of that rule.
//!
//! # Slot minimum
//!
//! Each slot keeps `min`, a lower bound of the deadlines linked into it: it
//! is lowered on every link and reset when the slot empties, but not raised
//! when an entry is unlinked (that would need a scan). A stale `min` costs at
//! most one early look at the slot, never a late one.

pub(crate) mod level;

use level::{MAX_TICKS, NUM_LEVELS, SLOTS, level_for, next_occupied, slot_for};
use slab::Slab;

/// A deadline that is never reached: the entry is armed but not filed.
pub(crate) const NEVER: u64 = u64::MAX;

/// "No entry" in the intrusive lists.
const NIL: u32 = u32::MAX;

/// "Not linked into any slot" in [`Node::level`].
const UNLINKED: u8 = u8::MAX;

/// "Armed, but with a deadline that is never reached" in [`Node::level`].
const ARMED_NEVER: u8 = u8::MAX - 1;

/// The name of one entry: its arena index plus the generation it was born
/// with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    /// Index into the arena.
    index: u32,
    /// Generation stamped at insertion; checked on every access.
    generation: u32,
}

/// One arena entry.
#[derive(Debug)]
struct Node<T> {
    /// Exact deadline in nanoseconds since the driver's start ([`NEVER`] for
    /// none). Meaningful only while armed.
    deadline: u64,
    /// Previous entry of the same slot list, or [`NIL`].
    prev: u32,
    /// Next entry of the same slot list, or [`NIL`].
    next: u32,
    /// Level of the slot this entry is linked into, [`UNLINKED`] or
    /// [`ARMED_NEVER`].
    level: u8,
    /// Slot (within `level`) this entry is linked into.
    slot: u8,
    /// Generation this entry was born with.
    generation: u32,
    /// The caller's payload.
    value: T,
}

/// One slot: an intrusive FIFO list plus a lower bound of its deadlines.
/// FIFO, so entries with equal deadlines within the horizon fire in the
/// order they were armed (processing a slot walks it from the head and
/// re-links at the tails of finer slots, which keeps that order). Beyond the
/// horizon it is not kept: an entry parked early is re-filed when its top
/// slot comes round, behind an equal one armed later and filed directly.
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// First (oldest) entry, or [`NIL`].
    head: u32,
    /// Last (newest) entry, or [`NIL`].
    tail: u32,
    /// Lower bound of the deadlines linked here ([`NEVER`] when empty).
    min: u64,
}

const EMPTY_SLOT: Slot = Slot {
    head: NIL,
    tail: NIL,
    min: NEVER,
};

/// One level: its slots and the bitmap of the non-empty ones.
#[derive(Debug)]
struct Level {
    /// Bit `i` is set iff `slots[i]` is non-empty.
    occupied: u64,
    /// The slots.
    slots: [Slot; SLOTS],
}

/// The timing wheel: an arena of entries carrying a `T` each, filed by
/// deadline.
#[derive(Debug)]
pub(crate) struct Wheel<T> {
    /// The levels, finest first.
    levels: Box<[Level; NUM_LEVELS]>,
    /// All entries, armed or not.
    entries: Slab<Node<T>>,
    /// The current tick: every tick before it has been processed.
    elapsed: u64,
    /// Nanoseconds per tick.
    resolution: u64,
    /// Number of armed entries (linked, or armed with [`NEVER`]).
    armed: usize,
    /// Generation for the next insertion.
    next_generation: u32,
}

impl<T> Wheel<T> {
    /// An empty wheel with ticks of `resolution_ns` nanoseconds (at least 1).
    pub(crate) fn new(resolution_ns: u64) -> Self {
        assert!(resolution_ns > 0, "wheel resolution must be at least 1 ns");
        Wheel {
            levels: Box::new(std::array::from_fn(|_| Level {
                occupied: 0,
                slots: [EMPTY_SLOT; SLOTS],
            })),
            entries: Slab::new(),
            elapsed: 0,
            resolution: resolution_ns,
            armed: 0,
            next_generation: 0,
        }
    }

    /// Number of armed entries.
    pub(crate) fn armed(&self) -> usize {
        self.armed
    }

    /// Number of entries, armed or not.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds an unarmed entry.
    pub(crate) fn insert(&mut self, value: T) -> Key {
        let generation = self.next_generation;
        self.next_generation = generation.wrapping_add(1);
        let index = Self::index_of(self.entries.insert(Node {
            deadline: NEVER,
            prev: NIL,
            next: NIL,
            level: UNLINKED,
            slot: 0,
            generation,
            value,
        }));
        Key { index, generation }
    }

    /// An arena index as a key index.
    fn index_of(index: usize) -> u32 {
        match u32::try_from(index) {
            Ok(i) if i != NIL => i,
            _ => panic!("tickwheel: more than 4 billion live entries"),
        }
    }

    /// Removes an entry, disarming it first, and returns its payload and
    /// whether it was armed.
    #[track_caller]
    pub(crate) fn remove(&mut self, key: Key) -> (T, bool) {
        // Check the generation, then take the node out and unlink it from
        // its neighbours (its own links leave with it).
        self.node(key);
        let node = self.entries.remove(key.index as usize);
        let was_armed = match node.level {
            UNLINKED => false,
            ARMED_NEVER => true,
            level => {
                self.unlink_parts(node.prev, node.next, level as usize, node.slot as usize);
                true
            }
        };
        self.armed -= usize::from(was_armed);
        (node.value, was_armed)
    }

    /// Adds an entry armed at `deadline`: [`insert`](Self::insert) then
    /// [`arm`](Self::arm) in one step, with one arena write (the path of
    /// every timer creation).
    #[inline]
    pub(crate) fn insert_armed(&mut self, value: T, deadline: u64) -> Key {
        if deadline == NEVER {
            let key = self.insert(value);
            self.arm(key, deadline);
            return key;
        }
        let generation = self.next_generation;
        self.next_generation = generation.wrapping_add(1);
        // File the entry under the index the arena will give it, then write
        // the node there: `Slab::insert` uses exactly `vacant_key()`, and
        // nothing else touches the arena in between (`file` only rewrites the
        // old tail's `next`, an occupied entry).
        let index = Self::index_of(self.entries.vacant_key());
        let (prev, level, slot) = self.file(index, deadline);
        let at = self.entries.insert(Node {
            deadline,
            prev,
            next: NIL,
            level,
            slot,
            generation,
            value,
        });
        debug_assert_eq!(at, index as usize, "slab did not use its vacant key");
        self.armed += 1;
        Key { index, generation }
    }

    /// The payload of an entry.
    #[track_caller]
    pub(crate) fn get(&self, key: Key) -> &T {
        &self.node(key).value
    }

    /// The payload of an entry, mutably.
    #[track_caller]
    pub(crate) fn get_mut(&mut self, key: Key) -> &mut T {
        &mut self.node_mut(key).value
    }

    /// Iterates over all payloads.
    pub(crate) fn values(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|(_, n)| &n.value)
    }

    /// Iterates over all payloads, mutably.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.entries.iter_mut().map(|(_, n)| &mut n.value)
    }

    /// The keys of the entries whose payload satisfies `pred` (a full scan,
    /// for driver shutdown).
    pub(crate) fn keys_where(&self, mut pred: impl FnMut(&T) -> bool) -> Vec<Key> {
        self.entries
            .iter()
            .filter(|(_, n)| pred(&n.value))
            .map(|(i, n)| Key {
                index: Self::index_of(i),
                generation: n.generation,
            })
            .collect()
    }

    /// Disarms every entry at once (driver shutdown).
    pub(crate) fn disarm_all(&mut self) {
        for lvl in self.levels.iter_mut() {
            lvl.occupied = 0;
            lvl.slots = [EMPTY_SLOT; SLOTS];
        }
        for (_, n) in self.entries.iter_mut() {
            n.level = UNLINKED;
            n.prev = NIL;
            n.next = NIL;
        }
        self.armed = 0;
    }

    /// Whether the entry is armed.
    #[cfg(test)]
    #[track_caller]
    pub(crate) fn is_armed(&self, key: Key) -> bool {
        self.node(key).level != UNLINKED
    }

    /// The exact deadline of an armed entry (meaningless when unarmed).
    #[track_caller]
    pub(crate) fn deadline(&self, key: Key) -> u64 {
        self.node(key).deadline
    }

    /// Arms an entry at `deadline` (re-arming it if it was armed). A deadline
    /// at or before the current tick is filed in the current slot and is due
    /// at the next [`poll`](Self::poll).
    #[track_caller]
    pub(crate) fn arm(&mut self, key: Key, deadline: u64) {
        self.disarm(key);
        self.node_mut(key).deadline = deadline;
        self.armed += 1;
        if deadline == NEVER {
            self.node_mut(key).level = ARMED_NEVER;
        } else {
            self.link(key.index, deadline);
        }
    }

    /// Disarms an entry; returns whether it was armed.
    #[track_caller]
    pub(crate) fn disarm(&mut self, key: Key) -> bool {
        let node = self.node(key);
        match node.level {
            UNLINKED => false,
            ARMED_NEVER => {
                self.node_mut(key).level = UNLINKED;
                self.armed -= 1;
                true
            }
            _ => {
                self.unlink(key.index);
                self.armed -= 1;
                true
            }
        }
    }

    /// The exact deadline (nanoseconds) that the wheel next needs looking
    /// at, or `None` when nothing armed can ever fire.
    ///
    /// For a level-0 slot this is the earliest deadline in it (a lower bound,
    /// see the module doc). For a higher slot it is also its earliest
    /// deadline, unless that lies past the end of the slot (parked entries
    /// only): then it is the slot's start, where the entries are re-filed.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        for (level, lvl) in self.levels.iter().enumerate() {
            if let Some((slot, start)) = next_occupied(lvl.occupied, level, self.elapsed) {
                let min = lvl.slots[slot].min;
                if level == 0 {
                    return Some(min);
                }
                let end = (start.saturating_add(level::slot_range(level)))
                    .saturating_mul(self.resolution);
                return Some(if min < end {
                    min
                } else {
                    start.saturating_mul(self.resolution)
                });
            }
        }
        None
    }

    /// Advances the wheel to `now` (nanoseconds), unlinking every entry whose
    /// deadline is at or before `now` and pushing its key to `due`. Due
    /// entries stay in the arena, unarmed; the caller decides what they
    /// become (re-armed, or left until their handle removes them).
    ///
    /// Time never goes back: `now` earlier than a previous call's moves
    /// nothing back and fires nothing that is not due at `now` (it may fire
    /// less: a `now` before the tick last polled fires nothing). The drivers'
    /// clocks never go back, so they never pass one.
    pub(crate) fn poll(&mut self, now: u64, due: &mut Vec<Key>) {
        let now_tick = now / self.resolution;
        let now = now.max(self.elapsed.saturating_mul(self.resolution));
        while let Some((level, slot, start)) = self.next_expiration() {
            if start > now_tick {
                break;
            }
            if level == 0 && start == now_tick {
                // The current tick: only part of it may be due.
                self.elapsed = now_tick;
                self.poll_current_slot(slot, now, due);
                break;
            }
            // Process the whole slot as of its start: fire what is due,
            // re-file the rest finer (it will be met again in this loop if it
            // is due before `now_tick`).
            self.elapsed = start;
            let lvl = &mut self.levels[level];
            let mut cur = lvl.slots[slot].head;
            lvl.slots[slot] = EMPTY_SLOT;
            lvl.occupied &= !(1u64 << slot);
            while cur != NIL {
                let node = &mut self.entries[cur as usize];
                let next = node.next;
                let deadline = node.deadline;
                if deadline <= now {
                    node.level = UNLINKED;
                    self.armed -= 1;
                    due.push(Key {
                        index: cur,
                        generation: node.generation,
                    });
                } else {
                    self.link(cur, deadline);
                }
                cur = next;
            }
        }
        self.elapsed = self.elapsed.max(now_tick);
    }

    /// Fires the due entries of the level-0 slot of the current tick and
    /// recomputes its exact minimum.
    fn poll_current_slot(&mut self, slot: usize, now: u64, due: &mut Vec<Key>) {
        let mut cur = self.levels[0].slots[slot].head;
        let mut min = NEVER;
        while cur != NIL {
            let node = &self.entries[cur as usize];
            let next = node.next;
            if node.deadline <= now {
                due.push(Key {
                    index: cur,
                    generation: node.generation,
                });
                self.unlink(cur);
                self.armed -= 1;
            } else {
                min = min.min(node.deadline);
            }
            cur = next;
        }
        if self.levels[0].slots[slot].head != NIL {
            self.levels[0].slots[slot].min = min;
        }
    }

    /// The earliest occupied slot as `(level, slot, start tick)`: the first
    /// occupied slot of the lowest occupied level (see [`level`]).
    fn next_expiration(&self) -> Option<(usize, usize, u64)> {
        self.levels.iter().enumerate().find_map(|(level, lvl)| {
            next_occupied(lvl.occupied, level, self.elapsed)
                .map(|(slot, start)| (level, slot, start))
        })
    }

    /// Links entry `index` into the slot for `deadline`.
    fn link(&mut self, index: u32, deadline: u64) {
        let (prev, level, slot) = self.file(index, deadline);
        let node = &mut self.entries[index as usize];
        node.prev = prev;
        node.next = NIL;
        node.level = level;
        node.slot = slot;
    }

    /// Appends `index` to the slot for `deadline` (the slot's list and
    /// bitmap, and the old tail's `next`) and returns what the entry itself
    /// must record: `(prev, level, slot)`. The entry need not be in the arena
    /// yet ([`insert_armed`](Self::insert_armed) writes it afterwards).
    #[inline]
    fn file(&mut self, index: u32, deadline: u64) -> (u32, u8, u8) {
        // Saturating: at 1 ns resolution `elapsed` can come within
        // `MAX_TICKS` of `u64::MAX` (after 584 years of virtual time).
        let horizon = self.elapsed.saturating_add(MAX_TICKS);
        let tick = (deadline / self.resolution).clamp(self.elapsed, horizon);
        let level = level_for(self.elapsed, tick);
        let slot = slot_for(tick, level);
        let lvl = &mut self.levels[level];
        let s = &mut lvl.slots[slot];
        let old_tail = s.tail;
        s.tail = index;
        s.min = s.min.min(deadline);
        lvl.occupied |= 1u64 << slot;
        if old_tail == NIL {
            s.head = index;
        } else {
            self.entries[old_tail as usize].next = index;
        }
        // Level < NUM_LEVELS and slot < SLOTS: both fit a u8.
        (old_tail, level as u8, slot as u8)
    }

    /// Unlinks entry `index` from its slot list (it must be linked) and marks
    /// it [`UNLINKED`].
    fn unlink(&mut self, index: u32) {
        let node = &self.entries[index as usize];
        let (prev, next, level, slot) = (
            node.prev,
            node.next,
            node.level as usize,
            node.slot as usize,
        );
        self.unlink_parts(prev, next, level, slot);
        let node = &mut self.entries[index as usize];
        node.level = UNLINKED;
        node.prev = NIL;
        node.next = NIL;
    }

    /// Unlinks the entry between `prev` and `next` of `slot` at `level`
    /// from the list; leaves the entry itself as it was.
    #[inline]
    fn unlink_parts(&mut self, prev: u32, next: u32, level: usize, slot: usize) {
        let lvl = &mut self.levels[level];
        if prev == NIL && next == NIL {
            lvl.slots[slot] = EMPTY_SLOT;
            lvl.occupied &= !(1u64 << slot);
        } else {
            if prev == NIL {
                lvl.slots[slot].head = next;
            } else {
                self.entries[prev as usize].next = next;
            }
            if next == NIL {
                self.levels[level].slots[slot].tail = prev;
            } else {
                self.entries[next as usize].prev = prev;
            }
        }
    }

    #[track_caller]
    fn node(&self, key: Key) -> &Node<T> {
        match self.entries.get(key.index as usize) {
            Some(n) if n.generation == key.generation => n,
            _ => panic!("tickwheel internal error: stale wheel key {key:?}"),
        }
    }

    #[track_caller]
    fn node_mut(&mut self, key: Key) -> &mut Node<T> {
        match self.entries.get_mut(key.index as usize) {
            Some(n) if n.generation == key.generation => n,
            _ => panic!("tickwheel internal error: stale wheel key {key:?}"),
        }
    }
}

#[cfg(test)]
mod tests;
