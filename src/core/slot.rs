//! Shard slots: which shard of every histogram a thread writes, and whether
//! it is the only writer there.
//!
//! The process has [`slot_count`] slots (four a core, or as many as
//! [`set_shard_slots`] set before first use). On its first observation a thread
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

use crate::core::sync::{slot_flags, thread_local, OnceLock, Ordering, SlotFlags};

/// Most slots a process ever has.
pub(crate) const MAX_SLOTS: usize = 64;

const UNCLAIMED: usize = usize::MAX;

/// Owned slots: four per core, rounded up to a power of two, at most
/// [`MAX_SLOTS`] (headroom for services with more observing threads than
/// cores; why four, and what it costs: `docs::sharding`), unless
/// [`set_shard_slots`] fixed another count first. Under loom, one: the
/// models then see an owner and a sharer.
pub(crate) fn slot_count() -> usize {
    *SLOTS.get_or_init(default_slots)
}

/// The slots whose owners keep a word of their own in every counter: the
/// first half of [`slot_count`], rounded up. A counter holds a word for
/// each of them in every block of its family's counters (see
/// `columns.rs`), so this sets a counter's size; owners of the other
/// slots add to its shared word, one `fetch_add`, where a histogram's
/// shared shard takes three or more. Under loom, as [`slot_count`].
pub(crate) fn counter_slots() -> usize {
    slot_count().div_ceil(2)
}

/// The slot count: [`set_shard_slots`]'s, or on first use the machine's
/// rule. (`std`'s `OnceLock` under loom too: a process-wide setting, fixed
/// before any model runs, not something the models interleave.)
static SLOTS: OnceLock<usize> = OnceLock::new();

/// Four slots a core this process may run on, rounded up to a power of
/// two, at most [`MAX_SLOTS`]; one under loom.
fn default_slots() -> usize {
    #[cfg(loom)]
    {
        1
    }
    #[cfg(not(loom))]
    {
        // Asked once per process (through `SLOTS`): `available_parallelism`
        // reads cgroup files.
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        (4 * cores).next_power_of_two().min(MAX_SLOTS)
    }
}

/// The number of shard slots of this process: how many threads at once can
/// own a shard of every histogram (written with plain loads and stores, no
/// locked instruction); further threads share one shard per series. A
/// counter keeps a word of its own for the first half of them, rounded up.
///
/// Four a core by default, rounded up to a power of two, at most 64 (see
/// [`docs::sharding`](crate::docs::sharding)); [`set_shard_slots`] sets
/// another count. Asking fixes the count, as making the first counter or
/// histogram series does.
///
/// ```
/// let slots = rm_metrics::shard_slots();
/// assert!((1..=64).contains(&slots));
/// ```
pub fn shard_slots() -> usize {
    slot_count()
}

/// Sets the number of shard slots ([`shard_slots`]), 1 to 64, before the
/// count is fixed: call it first thing in `main`, before any counter or
/// histogram series is made. More slots than the default give more
/// threads a shard of their own (a service with many more observing
/// threads than four a core); fewer make series smaller (a counter takes
/// 8 bytes for each slot of the first half, and a histogram that several
/// threads write 24 bytes for each slot; see
/// [`docs::families`](crate::docs::families)).
///
/// Setting the count it already has is not an error. Counts are exact
/// with any number of slots: a thread without one only writes slower when
/// others write the same series.
///
/// ```
/// use rm_metrics::{set_shard_slots, shard_slots, SlotsError};
///
/// assert_eq!(set_shard_slots(0), Err(SlotsError::OutOfRange(0)));
/// set_shard_slots(16)?; // first thing: nothing fixed the count yet
/// assert_eq!(shard_slots(), 16);
/// assert_eq!(set_shard_slots(32), Err(SlotsError::AlreadyFixed(16)));
/// # Ok::<(), SlotsError>(())
/// ```
pub fn set_shard_slots(slots: usize) -> Result<(), SlotsError> {
    if !(1..=MAX_SLOTS).contains(&slots) {
        return Err(SlotsError::OutOfRange(slots));
    }
    let fixed = *SLOTS.get_or_init(|| slots);
    if fixed == slots {
        Ok(())
    } else {
        Err(SlotsError::AlreadyFixed(fixed))
    }
}

/// Why [`set_shard_slots`] did not set the count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlotsError {
    /// The count asked for is not 1 to 64.
    OutOfRange(usize),
    /// The count was fixed already, at this other number (a counter or
    /// histogram series was made, [`shard_slots`] was asked, or another
    /// count was set).
    AlreadyFixed(usize),
}

impl std::fmt::Display for SlotsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlotsError::OutOfRange(n) => {
                write!(f, "shard slots must be 1 to {MAX_SLOTS}, not {n}")
            }
            SlotsError::AlreadyFixed(n) => write!(
                f,
                "shard slots already fixed at {n}: set them before the first counter or histogram series"
            ),
        }
    }
}

impl std::error::Error for SlotsError {}

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
