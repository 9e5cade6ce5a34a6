//! # How consistent is a scrape
//!
//! A scrape (a [`Renderer::render`] or a [`JobHandle::snapshot`]) may run while
//! other threads observe. It never blocks them, and what it reports for each
//! series is **self-consistent**:
//!
//! * the cumulative `_bucket` counts never decrease along the ladder, and the
//!   `+Inf` bucket always equals `_count`. Both hold by construction: a shard
//!   stores one *non-cumulative* counter per bucket, each read once, and the
//!   cumulative counts and `_count` are all derived from those reads;
//! * every observation whose duration is in `_sum` is also in the counts.
//!
//! ## How far `_sum` may lag
//!
//! An observation writes its bucket counter first, then the sum with Release
//! ordering (a store on an owned shard, a `fetch_add` on the shared one). A
//! scrape reads the sum first with Acquire, then the counters. So a scrape
//! sees, for each series, a set `C` of counted observations and a sum `S` with
//!
//! ```text
//! sum(d for o in C if o's sum write is visible)  ==  S  <=  sum(d for o in C)
//! ```
//!
//! That is, `_sum` never includes a duration the counts do not. And every
//! observation whose `observe` call returned before the scrape began is in
//! both. `_sum` lags the counts only by observations that *complete while the
//! scrape reads that shard* (between its sum load and its counter loads, a
//! window of a dozen loads) or are in flight then. That is not bounded by one
//! per thread: a thread can finish several observations inside the window,
//! so a scrape may count them all and sum none of them. The next scrape
//! includes them. The loom models `observers_and_a_snapshot` and
//! `sum_carry_*` assert exactly these two bounds in every execution.
//!
//! Different series, and different shards of one series, are read one
//! after another, not at one instant: a scrape is not a global atomic
//! snapshot, and need not be for Prometheus (each series is one sample).
//!
//! ## After observers stop
//!
//! Once every `observe` call has returned, a scrape counts every observation
//! exactly once and `_sum` is exact: it is kept in integer nanoseconds in a
//! 128-bit number per shard (see `shard.rs`), so it does not depend on the
//! order of observations and does not wrap. The only rounding is the final
//! conversion to seconds: the `f64` nearest the exact value for sums below
//! 2⁵³ ns (104 days), within one rounding above.
//!
//! [`Renderer::render`]: crate::Renderer::render
//! [`JobHandle::snapshot`]: crate::JobHandle::snapshot
