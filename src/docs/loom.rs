//! # What the loom models prove
//!
//! `loom-tests/` runs the crate's own histogram and label-index code, built
//! with `--cfg loom`, under [loom](https://docs.rs/loom), which explores every
//! interleaving (up to a preemption bound) of a small program under the
//! C11 memory model. Every sync type comes from one shim module (`sync.rs`),
//! so the code checked is the code shipped.
//!
//! The models, each named after the property it proves:
//!
//! 1. `observers_and_a_snapshot`: two threads observe into one series while a
//!    third snapshots; every snapshot is self-consistent (monotone cumulative
//!    buckets, `+Inf == _count`), `_sum` equals exactly the durations of the
//!    observations whose sum-add it saw and never more than the counted ones
//!    ([`consistency`](super::consistency)), and the final snapshot counts
//!    each observation once.
//! 2. `concurrent_inserts_of_one_pair`: two threads add the same new pair;
//!    exactly one series exists and holds both observations.
//! 3. `insert_observe_and_render`: one thread adds a pair while another
//!    observes an existing pair and a third renders: nothing lost, the index
//!    is never seen half-built.
//! 4. `overflow_under_concurrent_inserts`: at the series limit, concurrent
//!    new pairs all land in the one overflow series.
//!
//! ## What they assume
//!
//! arc-swap is not instrumented for loom. Under `cfg(loom)` the index pointer
//! is a loom `RwLock<Arc<_>>` with the same load / store contract, so the
//! models prove our protocol *given* that arc-swap's `load` and `store` are
//! linearizable (which arc-swap documents and tests). The per-thread shard
//! choice is modelled with loom's thread-locals. Loom also does not model
//! `SeqCst` fences exhaustively; this crate uses none.
