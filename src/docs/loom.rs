//! # What the loom models prove
//!
//! `loom-tests/` runs the crate's own histogram and label-index code, built
//! with `--cfg loom`, under [loom](https://docs.rs/loom), which explores every
//! interleaving (up to a preemption bound) of a small program under the
//! C11 memory model. Every sync type comes from one shim module (`sync.rs`),
//! so the code checked is the code shipped.
//!
//! Under loom the process has one shard slot, so every model sees both write
//! paths: a thread that owns the slot (plain stores) and threads that share
//! the extra shard (`fetch_add`). The models, each named after the property it
//! proves, with the preemption bound each runs at:
//!
//! 1. `observers_and_a_snapshot` (bound 6): two threads observe into one
//!    series while a third snapshots; every snapshot is self-consistent
//!    (monotone cumulative buckets, `+Inf == _count`), `_sum` equals exactly the
//!    durations of a *subset of the counted* observations, never an uncounted
//!    one, every observation that returned before the snapshot began is in it
//!    ([`consistency`](super::consistency)), and the final snapshot counts
//!    each observation once.
//! 2. `slot_hand_over` (bound 6): a slot owner observes and exits; a later
//!    thread takes the slot over and observes while a snapshot runs; the new
//!    owner continues from the old owner's counts.
//! 3. `sum_carry_owned_with_a_concurrent_reader` (bound 6) and
//!    `sum_carry_shared_with_a_concurrent_reader` (bound 5): observations of
//!    2⁶³−1 ns flip the top bit of a shard's low sum word, on each write path,
//!    while a snapshot reads it; the reader's carry fix-up gives an exact sum,
//!    between the observations that had returned and those counted.
//! 4. `concurrent_inserts_of_one_pair` (bound 3): two threads add the same new
//!    pair; exactly one series exists and holds both observations.
//! 5. `insert_observe_and_render` (bound 3): one thread adds a pair while
//!    another observes an existing pair and a third renders: nothing lost, the
//!    index is never seen half-built.
//! 6. `overflow_under_concurrent_inserts` (bound 3): at the series limit,
//!    concurrent new pairs all land in the one overflow series.
//!
//! Each model was checked to fail when its invariant is broken on purpose
//! (a Relaxed sum write on either path, no carry fix-up, no re-check under the
//! writers' lock).
//!
//! Every model that snapshots while others write yields first
//! (`loom::thread::yield_now`). Without it, loom never preempted the
//! snapshotting thread's loads to run the owner's later plain stores: the
//! owner-path models only ever saw the initial state, and a planted Relaxed
//! store on that path went unnoticed. With the yield they explore the
//! interleavings, and they caught an earlier, wrong claim of these docs (that
//! `_sum` lags by at most one observation per thread).
//!
//! ## What they assume
//!
//! arc-swap is not instrumented for loom. Under `cfg(loom)` the index pointer
//! is a loom `RwLock<Arc<_>>` with the same load / store contract, so the
//! models prove our protocol *given* that arc-swap's `load` and `store` are
//! linearizable (which arc-swap documents and tests); the per-thread
//! `arc_swap::Cache` in front of it is modelled as a plain load. Slots and
//! their release on thread exit are modelled with loom's thread-locals.
//!
//! The per-thread memo in front of the index ([`lookup`](super::lookup)) is
//! kept empty under loom, so every modelled observation takes the index path.
//! The memo is private to its thread and holds `Arc`s of series it found
//! through an Acquire load of the published index, so it adds no
//! cross-thread ordering for loom to check. Its correctness (always the
//! series of the *value*) is tested by `tests/memo.rs`, its unit tests and
//! the `ops_vs_model` fuzz target. Loom could not run it anyway: with memo
//! entries dropped in a spawned thread's thread-local destructor, loom 0.7.3's
//! scheduler spins forever, even at preemption bound 1 (the same limit as
//! below; loom's handling of thread-local destructors is a known open issue,
//! tokio-rs/loom#297).
//!
//! One limit found: with a spawned thread that owns the slot exiting while
//! the other thread is inside an index insert, loom 0.7.3's scheduler spins
//! without finishing even at preemption bound 2, so model 4 lets the main
//! thread hold the slot (both inserters share) and hand-over is proven on its
//! own in model 2. Loom does not model `SeqCst` fences exhaustively; this
//! crate uses none.
