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
//! So each series holds several **shards**, each a full set of counters
//! (its buckets, two words of sum) on [`CachePadded`] lines of its own:
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
//! A scrape adds up the shards of a series, each read exactly (see
//! [`consistency`](super::consistency)): the price of sharding, paid once per
//! scrape rather than once per observation. It reads only the owned shards
//! some owner ever recorded into (a mask in the series, whose bit an owner
//! sets on its first record there), and the shared shard: a series
//! that one thread observes costs a scrape two shards, not one per slot of
//! the process. (With 64 slots, an encode of 4,000 histogram series each
//! written by one thread took 5.1 to 5.6 ms when it read every slot's
//! shard, 1.3 to 2.1 ms reading the written ones; with 4 slots, 1.12 to
//! 1.15 ms before, 1.02 to 1.03 ms after.)
//!
//! Slot hand-over is ordered by the slot flag (the owner's Release store on
//! exit, the next owner's Acquire compare-exchange), so a new owner continues
//! from the previous owner's counts. The loom model `slot_hand_over` checks
//! this.
//!
//! ## Memory per series
//!
//! A job series is a series of a [`DurationHistogram`](crate::DurationHistogram)
//! family (see [`families`](super::families) for every kind). On the job
//! ladder (9 bounds):
//!
//! | part | bytes |
//! | --- | --- |
//! | one owned shard: observation count, reader hint, 2 sum words, 10 bucket counters = 112 bytes, in one [`CachePadded`] line of 128 (x86_64, aarch64) | 128 × slots |
//! | the shared shard: two halves of 13 words (one line each), its header (start counter, the readers' lock) and the last read | 256 + 96 + 80 |
//! | the series header in its `Arc` (shard pointers, the mask of written slots, the bounds' pointer and length, hash, the label values: inline up to 52 bytes); the bounds in nanoseconds are the family's, shared by its series | 264 |
//! | its entries in the family's index (hash table slot + its place in the scrape's order) | ≈ 17 |
//!
//! On a 2-core machine (4 slots) that is **≈ 1,230 bytes** per series,
//! its label values included; on 8 cores (16 slots) ≈ 2.8 kB; at the 64-slot cap
//! ≈ 8.9 kB. With the default limit of [`DEFAULT_MAX_SERIES`] series the
//! worst case on 8 cores is about 2.8 MB (1,024 × 2,761 bytes). The
//! `family_memory_is_as_documented` test checks the struct sizes.
//!
//! Each thread also keeps a memo of 40 KiB per metric kind it observes
//! through labels, holding `Arc`s of up to 512 series, and copies of the
//! current index of up to 8 families per kind, which keep those indexes
//! (and their series) alive until the thread looks that family up again,
//! another family takes the copy's place, or the thread exits (see
//! [`families`](super::families)).
//!
//! [`CachePadded`]: crossbeam_utils::CachePadded
//! [`DEFAULT_MAX_SERIES`]: crate::DEFAULT_MAX_SERIES
