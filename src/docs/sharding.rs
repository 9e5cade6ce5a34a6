//! # Why sharded, and what a series costs
//!
//! A histogram observation increments a bucket counter and adds to a sum.
//! If every thread did that with `fetch_add` on the same two atomics, each
//! one would pull the cache line away from the core that wrote it last: on a
//! 2-core machine one shared prometheus histogram handle runs at about a
//! ninth of its single-thread throughput when two threads use it (see
//! `BENCHMARKS.md`). And even uncontended, every locked read-modify-write
//! instruction costs about as much as the whole rest of an observation.
//!
//! So each series holds several **shards**, each a full set of counters (ten
//! buckets, two words of sum) in its own [`CachePadded`] slot:
//!
//! * **owned shards**, one per *slot*. The process has
//!   `2 × available cores` slots, rounded up to a power of two, at most 64. A
//!   thread claims a free slot on its first observation (one
//!   compare-exchange per slot tried, once per thread lifetime) and releases
//!   it when it exits. While it holds slot `i` it is the only thread writing
//!   shard `i` of *any* histogram, so it updates that shard with plain atomic
//!   loads and stores, read exactly by a count check: no locked instruction, no
//!   contention, no retry;
//! * **one shared shard**, for threads that found every slot taken (and for
//!   an owner while a scrape is reading its shard). It is updated with
//!   `fetch_add`s into the hot one of two halves, exact for any number of
//!   writers, only slower when many of them contend.
//!
//! A scrape adds up all shards of a series, each read exactly (see
//! [`consistency`](super::consistency)): the price of sharding, paid once per
//! scrape rather than once per observation.
//!
//! Slot hand-over is ordered by the slot flag (the owner's Release store on
//! exit, the next owner's Acquire compare-exchange), so a new owner continues
//! from the previous owner's counts. The loom model `slot_hand_over` checks
//! this.
//!
//! ## Memory per series
//!
//! | part | bytes |
//! | --- | --- |
//! | one owned shard: observation count, reader hint, 10 bucket counters, 2 sum words = 112 bytes, padded to [`CachePadded`]'s 128 (x86_64, aarch64) | 128 × slots |
//! | the shared shard: two halves of 13 words, the start counter, the readers' lock and their last read = 352 bytes, padded to 384 | 384 |
//! | the series header in its `Arc` (counts, two boxed labels, two shard pointers) | 72 |
//! | the label bytes | `kind.len() + status.len()` |
//! | its entries in the label index (hash table slot + sorted list) | ≈ 17 |
//!
//! On a 2-core machine (4 slots) that is **≈ 990 bytes** per series plus its
//! label bytes; on 8 cores (16 slots) ≈ 2.5 KiB; at the 64-slot cap
//! ≈ 8.7 KiB. With the default limit of [`DEFAULT_MAX_SERIES`] series the
//! worst case on 8 cores is about 2.5 MiB. The
//! `memory_per_series_is_as_documented` test checks the shard and header
//! sizes. (Exact reads cost the shared shard's second half and the owned
//! shards' two extra words: 720 bytes per series on 2 cores before.)
//!
//! Each thread also keeps a cache of the label index of the registry it
//! observed into last ([`arc_swap::Cache`]); it holds that index (not the
//! registry) alive until the thread observes into another registry or exits,
//! and a memo of about 4 KiB in front of it (see [`lookup`](super::lookup)).
//!
//! [`CachePadded`]: crossbeam_utils::CachePadded
//! [`DEFAULT_MAX_SERIES`]: crate::DEFAULT_MAX_SERIES
