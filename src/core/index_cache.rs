//! Each thread's copies of the index (see `index.rs`: the main table and
//! the recent cells) of the families it looked up last, so that a lookup
//! the memo misses reads it without a locked instruction.
//!
//! `SwapCell::load` (arc-swap's `load`) takes a debt in a per-thread list
//! and pays it back when the guard drops: two locked read-modify-writes per
//! lookup. Each is a full barrier on x86, so a lookup that misses the cache
//! on the table, the series and its labels also waits for the previous
//! lookup's misses instead of overlapping them. A [`Cached`] copy instead
//! compares the family's current pointer with its own (a plain load) and
//! reloads only after a merge or a clear replaced the index (an add fills
//! a cell of the current one in place).
//!
//! Freshness: a removal marks its series removed and publishes its tables
//! before it bumps the family's generation (Release), and a lookup loads
//! the generation (Acquire) before it compares the pointer, so a lookup
//! that saw the bump sees the mark (a marked series is passed over in any
//! table that still holds it) and reads that table or a later one, as
//! through `SwapCell::load`. A merge bumps nothing: a lookup that still
//! reads the previous index (whose cells no add fills any more) does
//! not find the series and goes on to the add path, which looks again in
//! both tables under the writers' lock.
//!
//! [`WAYS`] copies a thread and kind, one place per family id modulo
//! [`WAYS`]; a family evicts the one in its place. A copy keeps the table
//! it holds alive (and with it the table's series) until its thread looks
//! that family up again, another family takes its place, or the thread
//! exits: at most [`WAYS`] tables a thread and kind. Letting go of a
//! replaced table is then one decrement: the family's writers hold it
//! too, and drop it themselves (see `core/retired.rs`).

use crate::core::index::Index;
use crate::core::sync::{Cached, SwapCell};

/// Copies a thread keeps per metric kind.
const WAYS: usize = 8;

/// One thread's copies of the main tables of one kind's families.
pub(crate) struct IndexCache<M> {
    ways: [Option<(u64, Cached<Index<M>>)>; WAYS],
}

impl<M> IndexCache<M> {
    pub(crate) const fn new() -> Self {
        IndexCache {
            ways: [const { None }; WAYS],
        }
    }

    /// The current main table of `family` (its cell's id), from this thread's
    /// copy if it has one.
    #[inline]
    pub(crate) fn load(&mut self, family: u64, cell: &SwapCell<Index<M>>) -> &Index<M> {
        let way = &mut self.ways[(family % WAYS as u64) as usize];
        if way.as_ref().is_some_and(|(f, _)| *f != family) {
            *way = None;
        }
        let (_, copy) = way.get_or_insert_with(|| (family, cell.cache()));
        copy.load()
    }

    /// Drops every copy.
    #[cfg(loom)]
    pub(crate) fn clear(&mut self) {
        self.ways = [const { None }; WAYS];
    }
}
