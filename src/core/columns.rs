//! Counter words packed sixteen to a line.
//!
//! A counter has one word for each of the first `slots` shard slots
//! (`slot::counter_slots`: the first half of the histograms' slots),
//! which only that slot's owner writes (a plain load and store, see
//! `core::slot`), and one shared word (`fetch_add`) for threads without a
//! slot and for the owners of the later slots. Giving each word a padded
//! line of its own costs `(slots + 1) × 128` bytes a counter, and at
//! thousands of counters most increments then miss the cache on a line
//! that holds one word.
//!
//! Instead a *block* of `slots + 1` [`Line`]s holds the words of sixteen
//! counters: line `i` holds every one of them's word for slot `i`, and each
//! counter owns one [`Column`] of the block. Only slot `i`'s owner writes
//! line `i`, so two threads with slots still never write one line, however
//! their counters share blocks; a thread that increments many counters of
//! a family touches one line per sixteen of them. The other threads share
//! the last line, as they shared each counter's last word before.
//!
//! A family hands its counters columns in turn from the block it is
//! filling ([`Columns::take`]) and starts a new block when that one is
//! full. A column is never handed out twice: a removed counter's column
//! stays unused in its block, which is freed with its last counter, so no
//! increment through a removed counter's handle can reach another counter.

use crate::core::lines::{self, Line, WORDS};
use crate::core::slot;
use crate::core::sync::{shared_slice, Arc, Mutex, Ordering};

/// One counter's words: column `at` of every line of a block.
pub(crate) struct Column {
    lines: Arc<[Line]>,
    at: usize,
}

impl Column {
    /// Adds `n`: into this thread's own word, or the shared one (no slot,
    /// or one past the block's words).
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        let slot = slot::current();
        let shared = self.lines.len() - 1;
        // `at < WORDS` always; the mask only spares a bounds check.
        let at = self.at % WORDS;
        if slot < shared {
            let w = &self.lines[slot][at];
            // Relaxed load and store: this thread is the word's only writer
            // (a slot hand-over is ordered by the claim's Acquire); a reader
            // needs no other write ordered with it.
            w.store(w.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
        } else {
            // Relaxed: a lone count, nothing is published with it.
            self.lines[shared][at].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The sum of the words: every addition that returned before this call
    /// is in it, and a later call never returns less (short of wrapping).
    pub(crate) fn get(&self) -> u64 {
        let at = self.at % WORDS;
        self.lines
            .iter()
            // Relaxed: each word only grows; the sum of values each at least
            // as new as in the last read is at least the last read.
            .map(|line| line[at].load(Ordering::Relaxed))
            .fold(0u64, u64::wrapping_add)
    }
}

/// The block a family is filling, and its next free column.
struct Filling {
    lines: Option<Arc<[Line]>>,
    next: usize,
}

/// Where a family's counters get their columns.
pub(crate) struct Columns(Mutex<Filling>);

impl Columns {
    /// No block yet: the first [`take`](Self::take) makes one.
    pub(crate) fn new() -> Self {
        Columns(Mutex::new(Filling {
            lines: None,
            next: 0,
        }))
    }

    /// A column no counter had, its words zero.
    pub(crate) fn take(&self) -> Column {
        // The state is two fields set together below; a panic cannot leave
        // it half-written, so poisoning is moot.
        let mut filling = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let lines = match &filling.lines {
            Some(lines) if filling.next < WORDS => Arc::clone(lines),
            _ => {
                let lines = shared_slice(lines::zeroed(slot::counter_slots() + 1, 1).into_vec());
                filling.lines = Some(Arc::clone(&lines));
                filling.next = 0;
                lines
            }
        };
        let at = filling.next;
        filling.next += 1;
        Column { lines, at }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn sixteen_counters_share_a_block_and_count_apart() {
        let columns = Columns::new();
        let taken: Vec<Column> = (0..40).map(|_| columns.take()).collect();
        for (i, c) in taken.iter().enumerate() {
            c.add(i as u64 + 1);
        }
        // From a thread of its own (another slot, or the shared line).
        std::thread::scope(|s| {
            s.spawn(|| taken.iter().for_each(|c| c.add(1000)));
        });
        for (i, c) in taken.iter().enumerate() {
            assert_eq!(c.get(), i as u64 + 1001, "column {i}");
        }
        // Three blocks: 16 + 16 + 8.
        assert!(Arc::ptr_eq(&taken[0].lines, &taken[15].lines));
        assert!(!Arc::ptr_eq(&taken[15].lines, &taken[16].lines));
        assert_eq!(taken[39].at, 7);
    }
}
