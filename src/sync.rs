//! The one place this crate takes its synchronization types from.
//!
//! Normally these are `std`'s atomics, `Arc`, `Mutex`, thread-locals and
//! [`arc_swap::ArcSwap`]. Built with `RUSTFLAGS="--cfg loom"` they are loom's,
//! so the *same* histogram and label-index code runs under the model checker
//! (see `loom-tests/`). No other module names `std::sync` or `loom` directly.
//!
//! # What the loom build does not see
//!
//! arc-swap's internals (its debt lists and hazard-pointer-like slots) are not
//! written against loom, so under `cfg(loom)` [`SwapCell`] is a loom
//! `RwLock<Arc<T>>` with the same contract: `load` returns a snapshot of the
//! current value that stays valid while held, `store` replaces it atomically.
//! The models therefore prove *our* protocol (publish a fully built index,
//! serialize writers, observers never lose a count) on the assumption that
//! arc-swap's `load`/`store` are linearizable, which is what arc-swap documents
//! and tests itself. They prove nothing about arc-swap's own code.

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    pub(crate) use std::sync::{Arc, Mutex};

    /// The value a [`SwapCell::load`] hands out: arc-swap's cheap guard.
    pub(crate) type Loaded<T> = arc_swap::Guard<Arc<T>>;

    /// An atomically replaceable `Arc<T>`: [`arc_swap::ArcSwap`].
    pub(crate) struct SwapCell<T>(arc_swap::ArcSwap<T>);

    impl<T> SwapCell<T> {
        pub(crate) fn new(value: T) -> Self {
            SwapCell(arc_swap::ArcSwap::from_pointee(value))
        }

        /// Lock-free (wait-free on the fast path) snapshot of the current value.
        #[inline]
        pub(crate) fn load(&self) -> Loaded<T> {
            self.0.load()
        }

        pub(crate) fn store(&self, value: Arc<T>) {
            self.0.store(value)
        }
    }

    std::thread_local! {
        static SHARD_HINT: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
    }
    static NEXT_HINT: AtomicUsize = AtomicUsize::new(0);

    /// A per-thread number used to pick a shard: threads are numbered
    /// round-robin on first use, so up to `shards` threads never share one.
    #[inline]
    pub(crate) fn shard_hint() -> usize {
        SHARD_HINT.with(|hint| {
            let h = hint.get();
            if h != usize::MAX {
                return h;
            }
            // Relaxed: only uniqueness of the ticket matters, it orders nothing.
            let h = NEXT_HINT.fetch_add(1, Ordering::Relaxed) & (usize::MAX >> 1);
            hint.set(h);
            h
        })
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    pub(crate) use loom::sync::{Arc, Mutex};

    /// Under loom a load is a clone of the `Arc` taken under a read lock.
    pub(crate) type Loaded<T> = Arc<T>;

    /// Loom-visible stand-in for `ArcSwap<T>` (see the module docs).
    pub(crate) struct SwapCell<T>(loom::sync::RwLock<Arc<T>>);

    impl<T> SwapCell<T> {
        pub(crate) fn new(value: T) -> Self {
            SwapCell(loom::sync::RwLock::new(Arc::new(value)))
        }

        pub(crate) fn load(&self) -> Loaded<T> {
            Arc::clone(&self.0.read().unwrap())
        }

        pub(crate) fn store(&self, value: Arc<T>) {
            *self.0.write().unwrap() = value;
        }
    }

    loom::thread_local! {
        static SHARD_HINT: std::cell::Cell<usize> = std::cell::Cell::new(usize::MAX);
    }
    loom::lazy_static! {
        static ref NEXT_HINT: AtomicUsize = AtomicUsize::new(0);
    }

    pub(crate) fn shard_hint() -> usize {
        SHARD_HINT.with(|hint| {
            let h = hint.get();
            if h != usize::MAX {
                return h;
            }
            // Relaxed: only uniqueness of the ticket matters, it orders nothing.
            let h = NEXT_HINT.fetch_add(1, Ordering::Relaxed) & (usize::MAX >> 1);
            hint.set(h);
            h
        })
    }
}

pub(crate) use imp::*;
