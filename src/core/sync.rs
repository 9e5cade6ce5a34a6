//! The one place this crate takes its synchronization types from.
//!
//! Normally these are `std`'s atomics, `Arc`, `Mutex`, thread-locals and
//! [`arc_swap::ArcSwap`]. Built with
//! `RUSTFLAGS="--cfg loom"` they are loom's, so the *same* histogram, slot and
//! label-index code runs under the model checker (see `loom-tests/`). No other
//! module names `std::sync`, `std::thread_local`, `arc_swap` or `loom`.
//!
//! # What the loom build does not see
//!
//! arc-swap's internals (its debt lists) are not written against loom, so
//! under `cfg(loom)` [`SwapCell`] is a loom `RwLock<Arc<T>>` with the same
//! contract: `load` returns a snapshot of the current value that stays valid
//! while held, `store` replaces it atomically. The models therefore prove *our* protocol (publish a fully built index,
//! serialize writers, hand shards over between threads, never lose a count)
//! on the assumption that arc-swap's `load`/`store` are linearizable, which
//! arc-swap documents and tests itself. They prove nothing about arc-swap's
//! own code. Likewise [`SetOnce`] is `std`'s `OnceLock`, and under loom a
//! `OnceLock` whose value a loom flag publishes (Release, read with
//! Acquire): the models assume `OnceLock::set` and `get` are that, and
//! that `get_or_init` makes the value once, a second caller waiting for
//! the first. (A cell is either `set` under a lock, as the index's recent
//! cells are, or made by `get_or_init`, as the histogram shards are; the
//! loom stand-in does not order the two against each other.)

/// `thread_local!` with a `const` initializer on std (no lazy-init check on
/// access) and loom's `thread_local!` under loom.
#[cfg(not(loom))]
macro_rules! thread_local_const {
    ($(#[$attr:meta])* static $name:ident: $t:ty = $init:expr;) => {
        std::thread_local! { $(#[$attr])* static $name: $t = const { $init }; }
    };
}
#[cfg(loom)]
macro_rules! thread_local_const {
    ($(#[$attr:meta])* static $name:ident: $t:ty = $init:expr;) => {
        loom::thread_local! { $(#[$attr])* static $name: $t = $init; }
    };
}
pub(crate) use thread_local_const as thread_local;

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
    pub(crate) use std::sync::{Arc, Mutex, MutexGuard};
    pub(crate) use std::thread::LocalKey;

    /// Spin-then-yield waiting for a reader whose writer is mid-update.
    pub(crate) use crossbeam_utils::Backoff;

    /// One step of a reader's retry loop.
    pub(crate) fn spin_once() {
        std::hint::spin_loop();
    }

    /// The value a [`SwapCell::load`] hands out: arc-swap's cheap guard.
    pub(crate) type Loaded<T> = arc_swap::Guard<Arc<T>>;

    /// An atomically replaceable `Arc<T>`: [`arc_swap::ArcSwap`], with an id
    /// that thread-local caches use to tell cells apart.
    pub(crate) struct SwapCell<T> {
        id: u64,
        inner: Arc<arc_swap::ArcSwap<T>>,
    }

    impl<T> SwapCell<T> {
        pub(crate) fn new(value: T) -> Self {
            static NEXT_ID: AtomicU64 = AtomicU64::new(0);
            SwapCell {
                // Relaxed: only uniqueness of the id matters, it orders nothing.
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                inner: Arc::new(arc_swap::ArcSwap::from_pointee(value)),
            }
        }

        pub(crate) fn id(&self) -> u64 {
            self.id
        }

        /// Lock-free snapshot of the current value.
        #[inline]
        pub(crate) fn load(&self) -> Loaded<T> {
            self.inner.load()
        }

        /// The current value as an `Arc` of its own.
        pub(crate) fn load_full(&self) -> Arc<T> {
            self.inner.load_full()
        }

        pub(crate) fn store(&self, value: Arc<T>) {
            self.inner.store(value)
        }

        /// Stores `value`; returns the value it replaced.
        pub(crate) fn swap(&self, value: Arc<T>) -> Arc<T> {
            self.inner.swap(value)
        }

        /// A cache of this cell's value for one thread: see [`Cached`].
        pub(crate) fn cache(&self) -> Cached<T> {
            arc_swap::Cache::new(Arc::clone(&self.inner))
        }
    }

    /// One thread's copy of a [`SwapCell`]'s value: [`arc_swap::Cache`].
    /// Its `load` compares the cell's pointer with the copy's (a plain
    /// load) and reloads only when they differ, so a current copy costs no
    /// locked instruction, where `SwapCell::load` costs two (arc-swap's debt
    /// is taken and paid back). It keeps the value it holds alive until it
    /// next loads or is dropped.
    pub(crate) type Cached<T> = arc_swap::Cache<Arc<arc_swap::ArcSwap<T>>, Arc<T>>;

    /// A handle on the claim flags of the shard slots; see `slot.rs`.
    pub(crate) type SlotFlags = &'static [AtomicBool];

    pub(crate) fn slot_flags() -> SlotFlags {
        static FLAGS: [AtomicBool; crate::core::slot::MAX_SLOTS] =
            [const { AtomicBool::new(false) }; crate::core::slot::MAX_SLOTS];
        &FLAGS
    }

    /// A value set at most once and read lock-free: `std`'s `OnceLock`.
    /// `set` publishes the value (Release) to the `get` (Acquire) that
    /// returns it.
    pub(crate) struct SetOnce<T>(std::sync::OnceLock<T>);

    impl<T> SetOnce<T> {
        pub(crate) fn new() -> Self {
            SetOnce(std::sync::OnceLock::new())
        }

        #[inline]
        pub(crate) fn get(&self) -> Option<&T> {
            self.0.get()
        }

        /// Sets the value; `false` (and `value` dropped) if it was set.
        pub(crate) fn set(&self, value: T) -> bool {
            self.0.set(value).is_ok()
        }

        /// The value, made by `make` and set first if there is none.
        #[inline]
        pub(crate) fn get_or_init(&self, make: impl FnOnce() -> T) -> &T {
            self.0.get_or_init(make)
        }
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
    pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};
    pub(crate) use loom::thread::LocalKey;

    /// Under loom every wait yields, so the model checker runs the thread
    /// being waited for (a spinning loop without a yield never ends there).
    pub(crate) struct Backoff;

    impl Backoff {
        pub(crate) fn new() -> Self {
            Backoff
        }

        pub(crate) fn snooze(&self) {
            loom::thread::yield_now();
        }
    }

    /// Under loom a retry yields, so the model runs the writer.
    pub(crate) fn spin_once() {
        loom::thread::yield_now();
    }

    /// Under loom a load is a clone of the `Arc` taken under a read lock.
    pub(crate) type Loaded<T> = Arc<T>;

    /// Loom-visible stand-in for `ArcSwap<T>` (see the module docs).
    pub(crate) struct SwapCell<T> {
        id: u64,
        inner: Arc<loom::sync::RwLock<Arc<T>>>,
    }

    loom::lazy_static! {
        static ref NEXT_ID: AtomicU64 = AtomicU64::new(0);
        static ref FLAGS: Arc<Vec<AtomicBool>> =
            Arc::new((0..crate::core::slot::MAX_SLOTS).map(|_| AtomicBool::new(false)).collect());
    }

    impl<T> SwapCell<T> {
        pub(crate) fn new(value: T) -> Self {
            SwapCell {
                // Relaxed: only uniqueness of the id matters, it orders nothing.
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                inner: Arc::new(loom::sync::RwLock::new(Arc::new(value))),
            }
        }

        pub(crate) fn id(&self) -> u64 {
            self.id
        }

        pub(crate) fn load(&self) -> Loaded<T> {
            Arc::clone(&self.inner.read().unwrap())
        }

        pub(crate) fn load_full(&self) -> Arc<T> {
            self.load()
        }

        pub(crate) fn store(&self, value: Arc<T>) {
            *self.inner.write().unwrap() = value;
        }

        pub(crate) fn swap(&self, value: Arc<T>) -> Arc<T> {
            std::mem::replace(&mut *self.inner.write().unwrap(), value)
        }

        pub(crate) fn cache(&self) -> Cached<T> {
            Cached {
                cell: Arc::clone(&self.inner),
                copy: None,
            }
        }
    }

    /// Under loom a cache reloads on every `load`: the models see each
    /// lookup read the cell, as `SwapCell::load` does (see the module docs
    /// on what they assume of arc-swap).
    pub(crate) struct Cached<T> {
        cell: Arc<loom::sync::RwLock<Arc<T>>>,
        copy: Option<Arc<T>>,
    }

    impl<T> Cached<T> {
        pub(crate) fn load(&mut self) -> &Arc<T> {
            self.copy.insert(Arc::clone(&self.cell.read().unwrap()))
        }
    }

    /// An owning handle: loom drops its lazy statics before the main
    /// thread's thread-locals, whose slot guard still needs the flags.
    pub(crate) type SlotFlags = Arc<Vec<AtomicBool>>;

    pub(crate) fn slot_flags() -> SlotFlags {
        Arc::clone(&FLAGS)
    }

    /// Under loom a `OnceLock` behind a loom flag: the value is stored
    /// first, then the flag (Release), and `get` returns it only once it
    /// loads the flag set (Acquire). That is the contract of `std`'s
    /// `OnceLock` (see the module docs), and the flag is what the models
    /// see: a reader may find the cell still empty after it was set, never
    /// set before it. `get_or_init` claims the making with a loom flag, and
    /// a thread that finds it claimed waits (yielding) for the value, as
    /// `std`'s blocks.
    pub(crate) struct SetOnce<T> {
        set: AtomicBool,
        making: AtomicBool,
        value: std::sync::OnceLock<T>,
    }

    impl<T> SetOnce<T> {
        pub(crate) fn new() -> Self {
            SetOnce {
                set: AtomicBool::new(false),
                making: AtomicBool::new(false),
                value: std::sync::OnceLock::new(),
            }
        }

        pub(crate) fn get(&self) -> Option<&T> {
            // Acquire: pairs with the Release stores in `set` and
            // `get_or_init`.
            if self.set.load(Ordering::Acquire) {
                self.value.get()
            } else {
                None
            }
        }

        pub(crate) fn set(&self, value: T) -> bool {
            if self.value.set(value).is_err() {
                return false;
            }
            // Release: publishes the value to the Acquire load in `get`.
            self.set.store(true, Ordering::Release);
            true
        }

        pub(crate) fn get_or_init(&self, make: impl FnOnce() -> T) -> &T {
            loop {
                if let Some(value) = self.get() {
                    return value;
                }
                // Relaxed: the claim publishes nothing; the value is
                // published by the flag, which the loser waits for.
                let claimed =
                    self.making
                        .compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed);
                if claimed.is_ok() {
                    // Made before `std`'s one-time install, which then runs
                    // no loom operation.
                    let made = make();
                    let value = self.value.get_or_init(|| made);
                    // Release: publishes the value to the Acquire load in
                    // `get`.
                    self.set.store(true, Ordering::Release);
                    return value;
                }
                loom::thread::yield_now();
            }
        }
    }
}

pub(crate) use imp::*;

/// `v` as a shared slice: `Arc<[T]>` of this build's [`Arc`].
pub(crate) fn shared_slice<T>(v: Vec<T>) -> Arc<[T]> {
    #[cfg(not(loom))]
    {
        Arc::from(v)
    }
    #[cfg(loom)]
    {
        Arc::from_std(std::sync::Arc::from(v))
    }
}

/// Shared ownership of immutable values no protocol of ours synchronizes
/// through (a family's description, a registry's list of families): `std`'s
/// `Arc` in every build, since loom's cannot hold a trait object. What the
/// models must see, the series and indexes, use [`Arc`].
pub(crate) use std::sync::Arc as StdArc;

/// A value made once, on first need, for a cold path no model exercises
/// (`Fixed`'s fallback series, the process' slot counts): `std`'s in every
/// build.
pub(crate) use std::sync::OnceLock;
