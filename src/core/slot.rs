//! Shard slots: which shard of every histogram a thread writes, and whether
//! it is the only writer there.
//!
//! The process has [`slot_count`] slots. On its first observation a thread
//! tries to claim a free one (one compare-exchange per slot, at most
//! [`MAX_SLOTS`], once per thread lifetime: not a retry loop). While it holds
//! slot `i` it is the **only** thread writing shard `i` of any histogram, so
//! it updates that shard with plain atomic loads and stores, no locked
//! read-modify-write instruction. When the thread exits, a thread-local
//! destructor releases the slot for the next thread.
//!
//! A thread that finds every slot taken uses the *shared* shard (index
//! [`slot_count`]), which is updated with `fetch_add`, correct for any number
//! of writers. Nothing is ever lost either way; the shared shard is only
//! slower under contention.
//!
//! Hand-over is ordered: the exiting owner's release (Release store) pairs
//! with the next owner's claim (Acquire compare-exchange), so the next owner's
//! first load of every counter sees the previous owner's last store.

use std::cell::Cell;

use crate::core::sync::{slot_flags, thread_local, Ordering, SlotFlags};

/// Most slots a process ever has.
pub(crate) const MAX_SLOTS: usize = 64;

const UNCLAIMED: usize = usize::MAX;

/// Owned slots: four per core, rounded up to a power of two, at most
/// [`MAX_SLOTS`]: headroom for services with more observing threads than
/// cores (why four, and what it costs: `docs::sharding`). Under loom, one:
/// the models then see an owner and a sharer.
pub(crate) fn slot_count() -> usize {
    per_core(4)
}

/// The slots whose owners keep a word of their own in every counter: two
/// per core, rounded up to a power of two, at most [`MAX_SLOTS`] (half of
/// [`slot_count`] below the cap, all of it at the cap). A counter holds a
/// word for each of them in every block of its family's counters (see
/// `columns.rs`), so this sets a counter's size; owners of the other
/// slots add to its shared word, one `fetch_add`, where a histogram's
/// shared shard takes three or more. Under loom, as [`slot_count`].
pub(crate) fn counter_slots() -> usize {
    per_core(2)
}

/// `per` slots a core this process may run on, rounded up to a power of
/// two, at most [`MAX_SLOTS`]; one under loom.
fn per_core(per: usize) -> usize {
    #[cfg(loom)]
    {
        let _ = per;
        1
    }
    #[cfg(not(loom))]
    {
        // Asked once per process: `available_parallelism` reads cgroup files.
        static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        let cores =
            *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from));
        (per * cores).next_power_of_two().min(MAX_SLOTS)
    }
}

thread_local! {
    /// This thread's shard: a claimed slot, `slot_count()` for the shared
    /// shard, or `UNCLAIMED` before the first observation.
    static SLOT: Cell<usize> = Cell::new(UNCLAIMED);
}

thread_local! {
    /// Releases this thread's slot when the thread exits.
    static GUARD: SlotGuard = SlotGuard(Cell::new(None));
}

/// The slot this thread owns, with the flags to release it by.
struct SlotGuard(Cell<Option<(usize, SlotFlags)>>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let Some((slot, flags)) = self.0.take() else {
            return;
        };
        // Later observations of this exiting thread (from other thread-local
        // destructors) go to the shared shard from now on.
        let _ = SLOT.try_with(|s| s.set(slot_count()));
        // Release: pairs with the Acquire claim in `claim`; the next owner
        // sees every store this thread made to shard `slot`.
        flags[slot].store(false, Ordering::Release);
    }
}

/// The shard this thread writes: `< slot_count()` if it owns it (the only
/// writer), `== slot_count()` for the shared shard.
#[inline]
pub(crate) fn current() -> usize {
    let slot = SLOT.try_with(Cell::get).unwrap_or_else(|_| slot_count());
    if slot != UNCLAIMED {
        slot
    } else {
        claim()
    }
}

#[cold]
fn claim() -> usize {
    let n = slot_count();
    let flags = slot_flags();
    let mut mine = n;
    for (i, flag) in flags[..n].iter().enumerate() {
        // Acquire: pairs with the Release in `SlotGuard::drop` of the
        // previous owner. Relaxed on failure: a taken slot tells us nothing.
        if flag
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            // Without a guard to release it (thread-locals being torn down),
            // do not keep it.
            if GUARD
                .try_with(|g| g.0.set(Some((i, SlotFlags::clone(&flags)))))
                .is_ok()
            {
                mine = i;
            } else {
                // Release: as in `SlotGuard::drop` (nothing was written).
                flag.store(false, Ordering::Release);
            }
            break;
        }
    }
    let _ = SLOT.try_with(|s| s.set(mine));
    mine
}
